#!/usr/bin/env python3
"""Readiness check of this design repository: the brief's acceptance criteria as a program.

It finds two kinds of trouble.

A contradiction fails the check at every status, Draft included: a file still holding an
update's conflict markers (or a rejected hunk, *.rej); the design document's SLO table
against slo/openslo.yaml (objective, error budget, window), and the Prometheus rules
against slo/openslo.yaml (objective, error budget, period, burn-rate thresholds); an SLO
without page and ticket burn-rate alerts; an alert without a runbook that exists; the ADR
log against the records; a decision the design names against its record; the docs site's
navigation against its pages.

An open item (a `TODO:` prompt of the design document) or a gap (a section, sub-heading or
component aspect of the brief the document lacks) is reported while the status is Draft
(or Superseded) and fails the check from "In review" on: a draft is expected to be
unfinished, not to contradict itself.

Exit 0: nothing fails at this status; 1: something does; 2: it cannot run (unknown status,
no design document, PyYAML not installed).

The documents live in the docs site's docs_dir (mkdocs.yml), or docs/ without one: the
design document is <docs>/design.md, or the page README.md or mkdocs.yml calls "System
design" when it has moved, or the file given with --design; records are in <docs>/adr,
runbooks in <docs>/runbooks.

Usage: python tools/check_design.py [--root PATH] [--design PATH]   (Python 3.9+, PyYAML)
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import unquote, urlsplit

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    print("check_design: PyYAML is required: python -m pip install pyyaml", file=sys.stderr)
    sys.exit(2)

# The brief's sections, in order, with the sub-headings each must hold.
BRIEF = [
    ("1) Problem & Goals", ["Problem statement", "Primary goals", "Non-goals"]),
    ("2) Requirements", ["Functional requirements", "Non-functional requirements", "Compliance and governance"]),
    ("3) High-level Architecture", ["Diagram (ASCII)"]),
    ("4) Core Components", []),
    ("5) Data Model", ["Key entities and relationships", "Example schemas", "Indexing and partitioning strategy"]),
    ("6) API/Interfaces", ["External API endpoints", "Internal interfaces and contracts", "Versioning and backward compatibility"]),
    ("7) Workflows & Sequences", ["Typical request flow", "Error paths and retries", "Idempotency strategy"]),
    ("8) Scaling & Performance", ["Horizontal vs vertical scaling", "Caching layers and invalidation", "Backpressure and rate limiting"]),
    ("9) Reliability, Safety, and Observability", [
        "Failure domains and redundancy", "Circuit breakers, timeouts, retries, DLQs",
        "Tracing, metrics, logs, audits", "Guardrails and policy enforcement",
    ]),
    ("10) Security", ["AuthN/AuthZ, least privilege, key management", "Data encryption", "Threat model and mitigations"]),
    ("11) Trade-offs & Alternatives", ["Key choices with pros/cons", "Considered alternatives and why rejected"]),
    ("12) Deployment & Operations", ["Environments and rollouts", "Migrations", "Disaster recovery and RTO/RPO"]),
    ("13) Open Questions & Next Steps", ["Known unknowns", "Iteration plan"]),
]
COMPONENT_ASPECTS = ["Responsibilities:", "Inputs/outputs:", "Scaling:", "Failure modes:"]
REPORTING_STATUSES = {"draft", "superseded"}
BLOCKING_STATUSES = {"in review", "approved"}
MARKER = "TODO:"
DESIGN_TITLE = "System design"
OPENSLO = Path("slo/openslo.yaml")
RULES_DIR = Path("monitoring/prometheus")
SLO_RULES = RULES_DIR / "slo-rules.yaml"
# The lines git and Copier write around a conflict (`=======` alone is also Markdown).
CONFLICT_MARKER = re.compile(r"^(<{7}|>{7})(?: |$)")
NOT_SCANNED = {".git", "node_modules", "site", ".venv", "venv"}
# Records that still decide something; a superseded or rejected one may disagree.
STANDING_DECISIONS = {"accepted", "proposed"}
# Two numbers that differ by less than this are the same number written twice.
SAME = Decimal("1e-9")
MINUTES_PER = {"s": Decimal(1) / 60, "min": Decimal(1), "h": Decimal(60), "d": Decimal(1440)}
EVERY_STATUS = "they fail the check at every status"
FROM_REVIEW = "they fail the check from 'In review' on"


@dataclass
class Report:
    status: str = "unknown"
    conflicts: list[str] = field(default_factory=list)  # left by an update: fail at every status
    contradictions: list[str] = field(default_factory=list)  # fail at every status
    open_items: dict[str, list[str]] = field(default_factory=dict)  # section -> "line N: text"
    gaps: list[str] = field(default_factory=list)  # what the brief asks for and is missing
    also_open: dict[str, int] = field(default_factory=dict)  # area -> TODO count (not blocking)
    notes: list[str] = field(default_factory=list)  # not blocking

    @property
    def open_count(self) -> int:
        return sum(len(items) for items in self.open_items.values())

    @property
    def failing_now(self) -> bool:
        return bool(self.conflicts or self.contradictions)

    @property
    def failing_from_review(self) -> bool:
        return bool(self.open_count or self.gaps)

    def fails(self, blocking: bool) -> bool:
        return self.failing_now or (blocking and self.failing_from_review)


@dataclass(frozen=True)
class Layout:
    """Where the documents are: the docs site's docs_dir, or docs/ without a docs site."""

    docs_dir: Path
    mkdocs: dict  # mkdocs.yml as read; {} without one

    @property
    def adr_dir(self) -> Path:
        return self.docs_dir / "adr"

    @property
    def runbooks_dir(self) -> Path:
        return self.docs_dir / "runbooks"

    @property
    def design(self) -> Path:
        return self.docs_dir / "design.md"


@dataclass(frozen=True)
class SloRow:
    """One row of the design document's SLO table, as written."""

    title: str
    objective: str  # "99.95 %"
    budget: str  # "21.6 min"; "" without that column


@dataclass(frozen=True)
class SloTable:
    rows: dict[str, SloRow]  # by title
    window_days: int | None  # from the budget column's heading, "Error budget per 30 days"


@dataclass(frozen=True)
class SloDefinition:
    """One SLO of slo/openslo.yaml."""

    name: str
    title: str  # its SLI's displayName, which names its row of the design's SLO table
    target: Decimal | None
    window_days: int | None


@dataclass(frozen=True)
class Rule:
    """One recording or alerting rule, with the file it is in."""

    file: str
    body: dict

    @property
    def is_alert(self) -> bool:
        return "alert" in self.body

    @property
    def record(self) -> str:
        return str(self.body.get("record") or "")

    @property
    def name(self) -> str:
        return str(self.body.get("alert") or self.record)

    @property
    def expr(self) -> str:
        return str(self.body.get("expr", ""))

    @property
    def labels(self) -> dict:
        labels = self.body.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def slo(self) -> str:
        return str(self.labels.get("slo", ""))

    @property
    def annotations(self) -> dict:
        annotations = self.body.get("annotations")
        return annotations if isinstance(annotations, dict) else {}


# --- reading Markdown -----------------------------------------------------------------

def without_code_spans(line: str) -> str:
    return re.sub(r"`[^`]*`", "", line)


def headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, title) of every heading outside fenced code."""
    found, in_fence = [], False
    for index, line in enumerate(lines):
        if line.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and (match := re.match(r"^(#{1,6}) (.+?)\s*$", line)):
            found.append((index, len(match.group(1)), match.group(2)))
    return found


def stem(title: str) -> str:
    """'Non-functional requirements (SLOs, ...)' -> 'non-functional requirements'."""
    return re.split(r" \(|:", title, maxsplit=1)[0].strip().lower()


def todo_lines(lines: list[str], start: int, end: int) -> list[str]:
    items = []
    for index in range(start, end):
        if MARKER in without_code_spans(lines[index]):
            text = lines[index].strip()
            items.append(f"line {index + 1}: {text[:100]}{'...' if len(text) > 100 else ''}")
    return items


def tables(lines: list[str]) -> list[list[list[str]]]:
    """Every Markdown table: its rows of cells, the heading row first, the rule row left out."""
    found, current = [], None
    for line in lines + [""]:
        if line.lstrip().startswith("|"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            if current is None:
                current = [cells]
            elif not all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells):
                current.append(cells)
        elif current is not None:
            found.append(current)
            current = None
    return found


def header_value(lines: list[str], name: str) -> str:
    for line in lines:
        if match := re.match(rf"^\|\s*{name}\s*\|\s*([^|]+?)\s*\|", line):
            return match.group(1)
    return ""


def front_matter(text: str) -> dict:
    match = re.match(r"^---\n(.*?)\n---\s*\n", text, flags=re.S)
    try:
        data = yaml.safe_load(match.group(1)) if match else None
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


# --- reading numbers ----------------------------------------------------------------------

def decimal_or_none(text) -> Decimal | None:
    try:
        number = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def percent_as_ratio(text: str) -> Decimal | None:
    """'99.95 %' -> 0.9995."""
    number = decimal_or_none(text.strip().rstrip("%").strip())
    return None if number is None else number / 100


def duration_minutes(text: str) -> tuple[Decimal, Decimal] | None:
    """'21.6 min' -> (21.6, 0.05): the minutes a budget cell says, and how far its rounding
    may be from the exact value (half its last digit)."""
    match = re.fullmatch(r"(\d+(?:\.(\d+))?)\s*(s|min|h|d)", text.strip())
    if not match:
        return None
    number, decimals, unit = Decimal(match.group(1)), len(match.group(2) or ""), match.group(3)
    return number * MINUTES_PER[unit], Decimal(5) / 10 ** (decimals + 1) * MINUTES_PER[unit]


def human_minutes(minutes: Decimal) -> str:
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 120:
        return f"{minutes:.1f} min"
    if minutes < 2880:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def window_days(duration: str) -> int | None:
    """An OpenSLO duration, '30d' or '4w', in days."""
    match = re.fullmatch(r"(\d+)([dw])", str(duration).strip())
    if not match:
        return None
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)


def same(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) < SAME


def plain(number: Decimal) -> str:
    """0.99950 -> '0.9995', 30.0 -> '30'."""
    return format(number.normalize(), "f")


# --- reading the repository ---------------------------------------------------------------

class _AnyTagLoader(yaml.SafeLoader):
    """Reads mkdocs.yml, whose `!!python/name:` and `!ENV` tags only MkDocs resolves."""


_AnyTagLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def load_mkdocs(path: Path) -> dict:
    try:
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=_AnyTagLoader)
    except yaml.YAMLError:
        return {}
    return config if isinstance(config, dict) else {}


def read_layout(root: Path) -> Layout:
    mkdocs = root / "mkdocs.yml"
    config = load_mkdocs(mkdocs) if mkdocs.is_file() else {}
    return Layout(docs_dir=Path(str(config.get("docs_dir") or "docs")), mkdocs=config)


def nav_pages(nav) -> list[tuple[str, str]]:
    """(title, page) of every page in an MkDocs nav; the title is "" where MkDocs takes it from the page."""
    found = []
    for entry in nav if isinstance(nav, list) else []:
        if isinstance(entry, str):
            found.append(("", entry))
        elif isinstance(entry, dict):
            for title, value in entry.items():
                if isinstance(value, str):
                    found.append((str(title), value))
                else:
                    found.extend(nav_pages(value))
    return found


def find_design(root: Path, layout: Layout) -> Path | None:
    """<docs>/design.md, or the page README.md or mkdocs.yml calls "System design"."""
    candidates = [layout.design]
    readme = root / "README.md"
    if readme.is_file():
        links = re.findall(rf"\[{DESIGN_TITLE}\]\(([^)#\s]+)", readme.read_text(encoding="utf-8"))
        candidates += [Path(link) for link in links]
    candidates += [layout.docs_dir / page for title, page in nav_pages(layout.mkdocs.get("nav"))
                   if title == DESIGN_TITLE]
    return next((candidate for candidate in candidates if (root / candidate).is_file()), None)


def repository_files(root: Path) -> list[Path]:
    """The files git tracks (and new ones it does not ignore); every file without git."""
    try:
        listing = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, check=True, timeout=60,
        ).stdout.decode("utf-8", "surrogateescape")
    except (OSError, subprocess.SubprocessError):
        return sorted(
            path for path in root.rglob("*")
            if path.is_file() and not NOT_SCANNED & set(path.relative_to(root).parts)
        )
    return [root / name for name in sorted(set(listing.split("\0"))) if name and (root / name).is_file()]


def git_output(root: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def load_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(doc, dict)]


def first_line(error: yaml.YAMLError) -> str:
    return str(error).splitlines()[0]


def read_openslo(documents: list[dict]) -> list[SloDefinition]:
    """The SLOs of OpenSLO documents, each titled by its SLI's displayName."""

    def metadata(document: dict) -> dict:
        value = document.get("metadata")
        return value if isinstance(value, dict) else {}

    def spec(document: dict) -> dict:
        value = document.get("spec")
        return value if isinstance(value, dict) else {}

    def first(value) -> dict:
        return value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else {}

    slis = {metadata(d).get("name"): d for d in documents if d.get("kind") == "SLI"}
    slos = []
    for document in (d for d in documents if d.get("kind") == "SLO"):
        name = str(metadata(document).get("name", "?"))
        indicator = slis.get(spec(document).get("indicatorRef"), {})
        slos.append(SloDefinition(
            name=name,
            title=str(metadata(indicator).get("displayName", name)),
            target=decimal_or_none(first(spec(document).get("objectives")).get("target")),
            window_days=window_days(first(spec(document).get("timeWindow")).get("duration", "")),
        ))
    return slos


def read_rules(text: str, file: str) -> list[Rule] | None:
    """The rules of a Prometheus rule file; None when the YAML is no rule file (a promtool test)."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        return None
    return [Rule(file, rule) for group in data["groups"] if isinstance(group, dict)
            for rule in group.get("rules") or [] if isinstance(rule, dict)]


def runbook_path(root: Path, url: str) -> Path | None:
    """The file of this repository a runbook_url leads to: a link into its web view
    (/blob/<ref>/, GitLab's /-/blob/<ref>/, Bitbucket's /src/<ref>/) or a path from the
    repository root. None for a link elsewhere."""
    parts = urlsplit(url.strip())
    if parts.scheme in {"http", "https"}:
        match = re.search(r"/(?:-/)?(?:blob|src)/[^/]+/(.+)$", parts.path)
        if not match:
            return None
        relative = match.group(1)
    elif parts.scheme or parts.netloc:
        return None
    else:
        relative = parts.path.lstrip("/")
    path = (root / unquote(relative)).resolve()
    return path if path.is_relative_to(root.resolve()) else None


# --- comparing numbers ---------------------------------------------------------------------

def read_slo_table(lines: list[str], inner: list[tuple[int, str]], end: int) -> SloTable | None:
    """The first table under "Non-functional requirements": a row per SLO, named in the
    first column, with an Objective and an "Error budget per N days" column."""
    starts = [index for index, heading in inner if stem(heading) == "non-functional requirements"]
    if not starts:
        return None
    following = [index for index, _ in inner if index > starts[0]] + [end]
    section_tables = tables(lines[starts[0]:following[0]])
    if not section_tables:
        return None
    heading, *rows = section_tables[0]
    columns = [cell.lower() for cell in heading]
    objective = next((i for i, cell in enumerate(columns) if cell.startswith("objective")), 2)
    budget = next((i for i, cell in enumerate(columns) if cell.startswith("error budget")), None)
    days = re.search(r"per (\d+) days?\b", columns[budget]) if budget is not None else None

    def cell(row: list[str], index: int | None) -> str:
        return row[index] if index is not None and index < len(row) else ""

    return SloTable(
        rows={row[0]: SloRow(row[0], cell(row, objective), cell(row, budget))
              for row in rows if len(row) > objective},
        window_days=int(days.group(1)) if days else None,
    )


def design_against_openslo(table: SloTable, slos: list[SloDefinition]) -> list[str]:
    """Where the design document's SLO table says otherwise than slo/openslo.yaml."""
    found = []
    for slo in slos:
        row = table.rows.get(slo.title)
        if row is None:
            found.append(f"SLO {slo.name} ({slo.title}) of {OPENSLO.as_posix()} is not in the design "
                         "document's SLO table")
            continue
        if slo.window_days is not None and table.window_days is not None and slo.window_days != table.window_days:
            found.append(f"SLO {slo.name}: the design document's SLO table counts the error budget per "
                         f"{table.window_days} days, {OPENSLO.as_posix()} measures over {slo.window_days} days")
        objective = percent_as_ratio(row.objective)
        if objective is None:
            found.append(f"SLO {slo.name}: the design document's objective {row.objective!r} is not a percentage")
        elif slo.target is not None and not same(objective, slo.target):
            found.append(f"SLO {slo.name}: the design document says {row.objective}, "
                         f"{OPENSLO.as_posix()} says {plain(slo.target)}")
        elif slo.target is not None:
            found += budget_against_target(slo, row, slo.window_days or table.window_days)
    titles = {slo.title for slo in slos}
    for title in table.rows:
        if title not in titles:
            found.append(f"the design document's SLO table has a row '{title}', which is no SLO of "
                         f"{OPENSLO.as_posix()}")
    return found


def budget_against_target(slo: SloDefinition, row: SloRow, days: int | None) -> list[str]:
    said = duration_minutes(row.budget)
    if said is None or days is None or slo.target is None:
        return []
    minutes, rounding = said
    exact = (1 - slo.target) * days * 1440
    if abs(minutes - exact) <= rounding + SAME:
        return []
    return [f"SLO {slo.name}: the design document gives an error budget of {row.budget} per {days} days, "
            f"but a target of {plain(slo.target)} ({OPENSLO.as_posix()}) over {days} days leaves "
            f"{human_minutes(exact)}"]


def vector_value(expr: str) -> Decimal | None:
    """The number of a constant recording rule, `vector(0.9995)`."""
    match = re.fullmatch(r"\s*vector\(\s*([^()\s]+)\s*\)\s*", expr)
    return decimal_or_none(match.group(1)) if match else None


def selects_slo(expr: str, metric: str, slo_name: str) -> bool:
    return bool(re.search(rf'{metric}\{{[^}}]*\bslo\s*=\s*"{re.escape(slo_name)}"', expr))


def is_burn_rate_alert(rule: Rule, slo_name: str) -> bool:
    """An alert on the SLO's error ratio (slo:sli_error:ratio_rate<window>): not the alerts
    on missing data, stalls or scrapes, whatever their labels."""
    return rule.is_alert and selects_slo(rule.expr, r"slo:sli_error:ratio_rate\w+", slo_name)


@dataclass(frozen=True)
class Statement:
    """A number of the rules that states an SLO's target, as the target it implies."""

    file: str
    target: Decimal
    where: str  # the record or label; the alert's name for a threshold
    threshold: bool = False


def targets_the_rules_state(slo_name: str, rules: list[Rule]) -> list[Statement]:
    """The SLO's objective and error budget records, sloth's objective label, and the error
    budget its burn-rate alerts multiply (`> (14.4 * 0.0005)`; a capped `> 0.5` states none)."""
    found = []
    for rule in rules:
        value = vector_value(rule.expr)
        if rule.slo == slo_name and value is not None and rule.record == "slo:objective:ratio":
            found.append(Statement(rule.file, value, rule.record))
        if rule.slo == slo_name and value is not None and rule.record == "slo:error_budget:ratio":
            found.append(Statement(rule.file, 1 - value, f"{rule.record} {plain(value)}"))
        sloth_objective = str(rule.labels.get("sloth_objective", ""))
        if rule.slo == slo_name and (objective := percent_as_ratio(sloth_objective)) is not None:
            found.append(Statement(rule.file, objective, f'sloth_objective "{sloth_objective}"'))
        if is_burn_rate_alert(rule, slo_name):
            multiplied = re.findall(r">\s*\(\s*[\d.]+\s*\*\s*([\d.]+)\s*\)", rule.expr)
            budgets = {budget for budget in map(decimal_or_none, multiplied) if budget is not None}
            found += [Statement(rule.file, 1 - budget, rule.name, threshold=True) for budget in budgets]
    return found


def prose_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def rules_against_openslo(slos: list[SloDefinition], rules: list[Rule]) -> list[str]:
    """Where the Prometheus rules state another target or period than slo/openslo.yaml."""
    found = []
    for slo in slos:
        if slo.target is not None:
            found += target_statements_against(slo, slo.target, targets_the_rules_state(slo.name, rules))
        for rule in rules:
            days = vector_value(rule.expr)
            if (rule.record == "slo:time_period:days" and rule.slo == slo.name and days is not None
                    and slo.window_days is not None and days != slo.window_days):
                found.append(f"SLO {slo.name}: {OPENSLO.as_posix()} measures over {slo.window_days} days, "
                             f"{rule.file} says {plain(days)} ({rule.record})")
    return found


def target_statements_against(slo: SloDefinition, target: Decimal, statements: list[Statement]) -> list[str]:
    """One line per file and other target the rules state, naming where they state it."""
    disagreeing: dict[tuple[str, Decimal], list[Statement]] = {}
    for statement in statements:
        if not same(statement.target, target):
            disagreeing.setdefault((statement.file, statement.target.normalize()), []).append(statement)
    found = []
    for (file, other), group in disagreeing.items():
        wheres = [statement.where for statement in group if not statement.threshold]
        alerts = [statement.where for statement in group if statement.threshold]
        if alerts:
            wheres.append(f"the thresholds of {prose_list(alerts)}")
        found.append(f"SLO {slo.name}: {OPENSLO.as_posix()} says {plain(target)}, {file} says {plain(other)} "
                     f"({', '.join(wheres)})")
    return found


def missing_burn_rate_alerts(slos: list[SloDefinition], rules: list[Rule]) -> list[str]:
    found = []
    for slo in slos:
        severities = {str(rule.labels.get("severity")) for rule in rules
                      if is_burn_rate_alert(rule, slo.name)}
        for severity in ("page", "ticket"):
            if severity not in severities:
                found.append(f"SLO {slo.name} has no {severity} burn-rate alert")
    return found


def alerts_without_runbooks(root: Path, rules: list[Rule]) -> list[str]:
    """Every alert, whatever its labels, links a runbook that exists in this repository."""
    found = []
    for rule in (rule for rule in rules if rule.is_alert):
        url = str(rule.annotations.get("runbook_url") or "")
        path = runbook_path(root, url) if url else None
        if not url:
            found.append(f"alert {rule.name} ({rule.file}) has no runbook_url")
        elif path is None:
            found.append(f"alert {rule.name}: its runbook {url} is no file of this repository (a link into its "
                         "web view, or a path from its root), so the check cannot tell that it exists")
        elif not path.is_file():
            found.append(f"alert {rule.name}: its runbook {url} does not exist")
    return found


# --- checks -----------------------------------------------------------------------------

def check_conflicts(root: Path, report: Report) -> None:
    """Conflict markers an update (or a merge) left in any text file, and rejected hunks."""
    for path in repository_files(root):
        relative = path.relative_to(root).as_posix()
        if relative.endswith(".rej"):
            report.conflicts.append(f"{relative}: what an update could not apply to {relative[:-4]} "
                                    "(--conflict rej); merge it into that file, then delete it")
            continue
        try:
            if path.stat().st_size > 5_000_000:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            if CONFLICT_MARKER.match(line):
                report.conflicts.append(f"{relative} line {number}: {line.strip()[:60]}")


def check_design_document(lines: list[str], report: Report) -> SloTable | None:
    """Sections, sub-headings and open prompts; returns the SLO table."""
    all_headings = headings(lines)
    level_two = [(index, title) for index, level, title in all_headings if level == 2]
    first_section = level_two[0][0] if level_two else len(lines)
    header_todos = todo_lines(lines, 0, first_section)
    if header_todos:
        report.open_items["Header"] = header_todos

    slo_table = None
    previous_position = -1
    for title, sub_headings in BRIEF:
        matches = [i for i, (_, heading) in enumerate(level_two) if heading == title]
        if not matches:
            report.gaps.append(f"the design document has no section '## {title}'")
            continue
        position = matches[0]
        if position < previous_position:
            report.gaps.append(f"section '{title}' is out of the brief's order")
        previous_position = position
        start = level_two[position][0]
        end = level_two[position + 1][0] if position + 1 < len(level_two) else len(lines)
        inner = [(index, heading) for index, level, heading in all_headings if level == 3 and start < index < end]
        inner_stems = [stem(heading) for _, heading in inner]
        for wanted in sub_headings:
            if stem(wanted) not in inner_stems:
                report.gaps.append(f"section '{title}' lacks the sub-heading '{wanted}'")
        if title.startswith("4)"):
            check_components(lines, inner, end, report)
        if title.startswith("2)"):
            slo_table = read_slo_table(lines, inner, end)
        todos = todo_lines(lines, start, end)
        if todos:
            report.open_items[title] = todos
    return slo_table


def check_components(lines: list[str], inner: list[tuple[int, str]], end: int, report: Report) -> None:
    if not inner:
        report.gaps.append("section '4) Core Components' describes no component")
    bounds = [index for index, _ in inner] + [end]
    for (index, heading), stop in zip(inner, bounds[1:]):
        body = "\n".join(lines[index:stop])
        missing = [aspect for aspect in COMPONENT_ASPECTS if f"**{aspect}**" not in body]
        if missing:
            report.gaps.append(f"component '{heading}' lacks {', '.join(missing)}")


def check_updated_date(root: Path, design: Path, lines: list[str], report: Report) -> None:
    """The header's Updated date against git's last change to the document, when git has
    the whole history (a shallow CI clone does not)."""
    try:
        updated = date.fromisoformat(header_value(lines, "Updated"))
    except ValueError:
        return
    if git_output(root, "rev-parse", "--is-shallow-repository") != "false":
        return
    last = git_output(root, "log", "-1", "--format=%cs", "--", design.as_posix())
    if last and date.fromisoformat(last) > updated:
        report.notes.append(f"{design.as_posix()} changed on {last} (git log), after the Updated date of its "
                            f"header ({updated.isoformat()}): set the date of the last change there")


def check_decisions_in_design(root: Path, design: Path, lines: list[str], report: Report) -> None:
    """Each decision the design names ("- [ADR 0003](adr/0003-....md): Title.") is the one
    its record took, while that record is accepted or proposed."""
    for number, line in enumerate(lines, start=1):
        match = re.match(r"^- \[ADR (\d{4})\]\(([^)\s]+)\): (.+?)\.?\s*$", line)
        if not match:
            continue
        adr, link, said = match.groups()
        record = root / design.parent / link
        if not record.is_file():
            report.contradictions.append(f"{design.as_posix()} line {number}: ADR {adr} links {link}, "
                                         "which does not exist")
            continue
        text = record.read_text(encoding="utf-8")
        status = str(front_matter(text).get("status", "")).strip().lower()
        title = next((row[2:].strip() for row in text.splitlines() if row.startswith("# ")), "")
        if status in STANDING_DECISIONS and title and title.rstrip(".") != said:
            advice = ("record the new decision in a new ADR that supersedes it, and link that one here"
                      if status == "accepted" else "edit the proposal or the design so they agree")
            report.contradictions.append(
                f"{design.as_posix()} line {number} says ADR {adr} decided \"{said}\", but "
                f"{record.relative_to(root).as_posix()} ({status}) decided \"{title}\": {advice}"
            )


def check_slos(root: Path, slo_table: SloTable | None, report: Report) -> None:
    """The design's SLO table and the Prometheus rules against slo/openslo.yaml; the alerts
    every SLO needs; a runbook for every alert."""
    slos = read_slo_file(root, report)
    rules = read_rule_files(root, report)
    if slo_table is None:
        if slos:
            report.gaps.append(f"the design document has no SLO table under 'Non-functional requirements' "
                               f"for the {len(slos)} SLOs of {OPENSLO.as_posix()}")
    else:
        report.contradictions.extend(design_against_openslo(slo_table, slos))
    report.contradictions.extend(rules_against_openslo(slos, rules))
    report.contradictions.extend(missing_burn_rate_alerts(slos, rules))
    report.contradictions.extend(alerts_without_runbooks(root, rules))


def read_slo_file(root: Path, report: Report) -> list[SloDefinition]:
    path = root / OPENSLO
    if not path.is_file():
        report.contradictions.append(f"{OPENSLO.as_posix()} is missing")
        return []
    try:
        return read_openslo(load_documents(path))
    except yaml.YAMLError as error:
        report.contradictions.append(f"{OPENSLO.as_posix()} is not valid YAML: {first_line(error)}")
        return []


def read_rule_files(root: Path, report: Report) -> list[Rule]:
    """The rules of every rule file in monitoring/prometheus/ (promtool's tests are not rule files)."""
    if not (root / SLO_RULES).is_file():
        report.contradictions.append(f"{SLO_RULES.as_posix()} is missing")
    rules: list[Rule] = []
    for path in sorted([*(root / RULES_DIR).glob("*.yaml"), *(root / RULES_DIR).glob("*.yml")]):
        relative = path.relative_to(root).as_posix()
        try:
            found = read_rules(path.read_text(encoding="utf-8"), relative)
        except yaml.YAMLError as error:
            report.contradictions.append(f"{relative} is not valid YAML: {first_line(error)}")
            continue
        rules.extend(found or [])
    return rules


def check_decision_log(root: Path, layout: Layout, report: Report) -> None:
    adr_dir = root / layout.adr_dir
    shown = layout.adr_dir.as_posix()
    records = sorted(path.name for path in adr_dir.glob("[0-9][0-9][0-9][0-9]-*.md"))
    numbers = [int(name[:4]) for name in records]
    if numbers != list(range(1, len(numbers) + 1)):
        missing = sorted(set(range(1, max(numbers, default=0) + 1)) - set(numbers))
        report.contradictions.append(
            f"decision records are not numbered 0001 to {len(numbers):04d} in sequence"
            + (f" ({', '.join(f'{n:04d}' for n in missing)} missing): a record is marked rejected or superseded, "
               "not deleted" if missing else " (a number is used twice)"))
    index = adr_dir / "README.md"
    listed = set(re.findall(r"\]\((\d{4}-[^)]+\.md)\)", index.read_text(encoding="utf-8"))) if index.is_file() else set()
    for name in records:
        if name not in listed:
            report.contradictions.append(f"{shown}/{name} is missing from the ADR log ({shown}/README.md)")
    for name in sorted(listed - set(records)):
        report.contradictions.append(f"the ADR log lists {name}, which does not exist in {shown}/")


def check_site_navigation(root: Path, layout: Layout, report: Report) -> None:
    """With a docs site whose navigation is listed, every page it lists exists, and every
    decision record and runbook is listed."""
    nav = layout.mkdocs.get("nav")
    if not nav:
        return  # without a nav, MkDocs lists every page itself
    docs = layout.docs_dir.as_posix()
    listed = {page for _, page in nav_pages(nav)}
    for page in sorted(listed):
        if "://" not in page and not (root / layout.docs_dir / page.split("#")[0]).is_file():
            report.contradictions.append(f"the nav of mkdocs.yml lists {page}, which does not exist in {docs}/: "
                                         "remove it from the nav, or bring the page back")
    for section, directory in (("Decisions", layout.adr_dir), ("Runbooks", layout.runbooks_dir)):
        pattern = "[0-9][0-9][0-9][0-9]-*.md" if section == "Decisions" else "*.md"
        for path in sorted((root / directory).glob(pattern)):
            page = path.relative_to(root / layout.docs_dir).as_posix()
            if page not in listed:
                report.contradictions.append(f"{docs}/{page} is not in the nav of mkdocs.yml, so the docs site "
                                             f"does not list it: add it under {section}")


def count_also_open(root: Path, layout: Layout, report: Report) -> None:
    areas = (("runbooks", layout.runbooks_dir, "*.md"), ("decision records", layout.adr_dir, "[0-9]*.md"),
             ("alert routing", Path("monitoring/alertmanager"), "*.yaml"))
    for area, directory, pattern in areas:
        count = sum(
            without_code_spans(line).count(MARKER)
            for path in (root / directory).glob(pattern)
            for line in path.read_text(encoding="utf-8").splitlines()
        )
        if count:
            report.also_open[area] = count


# --- output -----------------------------------------------------------------------------

def counted(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


def verdict(report: Report, blocking: bool) -> str:
    now = ", ".join(part for part in (
        counted(len(report.conflicts), "unresolved conflict") if report.conflicts else "",
        counted(len(report.contradictions), "contradiction") if report.contradictions else "") if part)
    later = f"{counted(report.open_count, 'open item')}, {counted(len(report.gaps), 'gap')}"
    if now:
        return f"NOT READY: {now} ({EVERY_STATUS})"
    if report.failing_from_review:
        return f"NOT READY: {later}" if blocking else f"{later} reported (not blocking while {report.status})"
    return "ready"


def print_report(report: Report, blocking: bool, design: Path) -> None:
    print(f"Design readiness: status {report.status}: {verdict(report, blocking)}")
    for title, items in ((f"Unresolved conflicts ({EVERY_STATUS})", report.conflicts),
                         (f"Contradictions ({EVERY_STATUS})", report.contradictions)):
        if items:
            print(f"\n{title}:")
            for item in items:
                print(f"  - {item}")
    if report.open_items:
        print(f"\nOpen in {design.as_posix()} ({FROM_REVIEW}):")
        for section, items in report.open_items.items():
            print(f"  {section}: {len(items)} open")
            for item in items:
                print(f"    {item}")
    if report.gaps:
        print(f"\nGaps in the brief's coverage ({FROM_REVIEW}):")
        for gap in report.gaps:
            print(f"  - {gap}")
    if report.also_open:
        areas = ", ".join(f"{count} in {area}" for area, count in report.also_open.items())
        print(f"\nAlso open, not blocking: {MARKER} prompts {areas}.")
    for note in report.notes:
        print(f"\nNote, not blocking: {note}.")
    print(f"\nSummary: {counted(len(report.conflicts), 'conflict')}, "
          f"{counted(len(report.contradictions), 'contradiction')} (failing at every status); "
          f"{counted(report.open_count, 'open item')}, {counted(len(report.gaps), 'gap')} "
          f"(failing from 'In review' on); status {report.status}: "
          f"{'fails' if report.fails(blocking) else 'passes'}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    parser.add_argument("--design", type=Path, help="the design document, relative to the root "
                        f"(default: docs/design.md, or the page README.md or mkdocs.yml calls '{DESIGN_TITLE}')")
    arguments = parser.parse_args(argv)
    root = arguments.root
    layout = read_layout(root)
    design = arguments.design or find_design(root, layout)
    if design is None or not (root / design).is_file():
        looked = (f"{(root / design).as_posix()} does not exist" if design is not None else
                  f"{(root / layout.design).as_posix()} does not exist, and neither README.md nor mkdocs.yml "
                  f"links a '{DESIGN_TITLE}' page that does")
        print(f"check_design: no design document: {looked}. Run it from the repository root (or pass "
              "--root), and pass --design PATH if the document has moved.", file=sys.stderr)
        return 2
    lines = (root / design).read_text(encoding="utf-8").splitlines()
    report = Report(status=header_value(lines, "Status") or "unknown")
    status = report.status.lower()
    if status not in REPORTING_STATUSES | BLOCKING_STATUSES:
        print(f"check_design: unknown status {report.status!r} in {design.as_posix()}; use Draft, In review, "
              "Approved or Superseded", file=sys.stderr)
        return 2

    check_conflicts(root, report)
    slo_table = check_design_document(lines, report)
    check_decisions_in_design(root, design, lines, report)
    check_updated_date(root, design, lines, report)
    check_slos(root, slo_table, report)
    check_decision_log(root, layout, report)
    check_site_navigation(root, layout, report)
    count_also_open(root, layout, report)

    blocking = status in BLOCKING_STATUSES
    print_report(report, blocking, design)
    return 1 if report.fails(blocking) else 0


if __name__ == "__main__":
    sys.exit(main())
