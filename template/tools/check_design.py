#!/usr/bin/env python3
"""Readiness check of this design repository: the brief's acceptance criteria as a program.

It checks that the design document covers every section of the system design brief and
what is still a `TODO:` prompt in each, that every SLO in slo/openslo.yaml has page and
ticket alerts, that every alert's runbook_url leads to a runbook that exists, that the ADR
log lists every decision record, that the design agrees with its decision records and its
SLO table with the SLO definitions, and that the docs site's navigation lists every record
and runbook.

While the design document's status is Draft (or Superseded) it reports and exits 0. From
"In review" on, any open item fails it (exit 1). Whatever the status, a file still holding
an update's conflict markers (or a rejected hunk, *.rej) fails it. Exit 2: it cannot run
(unknown status, no design document, PyYAML not installed).

The design document is docs/design.md, or the page README.md or mkdocs.yml calls "System
design" when it has moved, or the file given with --design.

Usage: python tools/check_design.py [--root PATH] [--design PATH]   (Python 3.9+, PyYAML)
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from datetime import date
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

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
DESIGN = Path("docs/design.md")
DESIGN_TITLE = "System design"
# The lines git and Copier write around a conflict (`=======` alone is also Markdown).
CONFLICT_MARKER = re.compile(r"^(<{7}|>{7})(?: |$)")
NOT_SCANNED = {".git", "node_modules", "site", ".venv", "venv"}
# Records that still decide something; a superseded or rejected one may disagree.
STANDING_DECISIONS = {"accepted", "proposed"}


@dataclass
class Report:
    status: str = "unknown"
    open_items: dict[str, list[str]] = field(default_factory=dict)  # section -> "line N: text"
    problems: list[str] = field(default_factory=list)
    also_open: dict[str, int] = field(default_factory=dict)  # area -> TODO count (not blocking)
    conflicts: list[str] = field(default_factory=list)  # blocking whatever the status
    notes: list[str] = field(default_factory=list)  # not blocking

    @property
    def open_count(self) -> int:
        return sum(len(items) for items in self.open_items.values())


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



class _AnyTagLoader(yaml.SafeLoader):
    """Reads mkdocs.yml, whose `!!python/name:` and `!ENV` tags only MkDocs resolves."""


_AnyTagLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def load_mkdocs(path: Path) -> dict:
    try:
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=_AnyTagLoader)
    except yaml.YAMLError:
        return {}
    return config if isinstance(config, dict) else {}


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


def find_design(root: Path) -> Path | None:
    """docs/design.md, or the page README.md or mkdocs.yml calls "System design"."""
    candidates = [DESIGN]
    readme = root / "README.md"
    if readme.is_file():
        links = re.findall(rf"\[{DESIGN_TITLE}\]\(([^)#\s]+)", readme.read_text(encoding="utf-8"))
        candidates += [Path(link) for link in links]
    mkdocs = root / "mkdocs.yml"
    if mkdocs.is_file():
        config = load_mkdocs(mkdocs)
        docs_dir = Path(str(config.get("docs_dir", "docs")))
        candidates += [docs_dir / page for title, page in nav_pages(config.get("nav")) if title == DESIGN_TITLE]
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


def front_matter(text: str) -> dict:
    match = re.match(r"^---\n(.*?)\n---\s*\n", text, flags=re.S)
    try:
        data = yaml.safe_load(match.group(1)) if match else None
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


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


def check_design_document(lines: list[str], report: Report) -> dict[str, str]:
    """Sections, sub-headings and open prompts; returns the SLO table {title: objective}."""
    all_headings = headings(lines)
    level_two = [(index, title) for index, level, title in all_headings if level == 2]
    first_section = level_two[0][0] if level_two else len(lines)
    header_todos = todo_lines(lines, 0, first_section)
    if header_todos:
        report.open_items["Header"] = header_todos

    slo_table: dict[str, str] = {}
    previous_position = -1
    for title, sub_headings in BRIEF:
        matches = [i for i, (_, heading) in enumerate(level_two) if heading == title]
        if not matches:
            report.problems.append(f"the design document has no section '## {title}'")
            continue
        position = matches[0]
        if position < previous_position:
            report.problems.append(f"section '{title}' is out of the brief's order")
        previous_position = position
        start = level_two[position][0]
        end = level_two[position + 1][0] if position + 1 < len(level_two) else len(lines)
        inner = [(index, heading) for index, level, heading in all_headings if level == 3 and start < index < end]
        inner_stems = [stem(heading) for _, heading in inner]
        for wanted in sub_headings:
            if stem(wanted) not in inner_stems:
                report.problems.append(f"section '{title}' lacks the sub-heading '{wanted}'")
        if title.startswith("4)"):
            check_components(lines, inner, end, report)
        if title.startswith("2)"):
            slo_table = read_slo_table(lines, inner, end)
        todos = todo_lines(lines, start, end)
        if todos:
            report.open_items[title] = todos
    return slo_table


def header_value(lines: list[str], name: str) -> str:
    for line in lines:
        if match := re.match(rf"^\|\s*{name}\s*\|\s*([^|]+?)\s*\|", line):
            return match.group(1)
    return ""


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
            report.problems.append(f"{design.as_posix()} line {number}: ADR {adr} links {link}, which does not exist")
            continue
        text = record.read_text(encoding="utf-8")
        status = str(front_matter(text).get("status", "")).strip().lower()
        title = next((row[2:].strip() for row in text.splitlines() if row.startswith("# ")), "")
        if status in STANDING_DECISIONS and title and title.rstrip(".") != said:
            advice = ("record the new decision in a new ADR that supersedes it, and link that one here"
                      if status == "accepted" else "edit the proposal or the design so they agree")
            report.problems.append(
                f"{design.as_posix()} line {number} says ADR {adr} decided \"{said}\", but "
                f"{record.relative_to(root).as_posix()} ({status}) decided \"{title}\": {advice}"
            )


def check_site_navigation(root: Path, report: Report) -> None:
    """With a docs site whose navigation is listed, every decision record and runbook is in it."""
    mkdocs = root / "mkdocs.yml"
    if not mkdocs.is_file():
        return
    config = load_mkdocs(mkdocs)
    if not config.get("nav"):
        return  # without a nav, MkDocs lists every page itself
    docs_dir = Path(str(config.get("docs_dir", "docs")))
    listed = {page for _, page in nav_pages(config["nav"])}
    for section, pattern in (("Decisions", "adr/[0-9][0-9][0-9][0-9]-*.md"), ("Runbooks", "runbooks/*.md")):
        for path in sorted((root / docs_dir).glob(pattern)):
            page = path.relative_to(root / docs_dir).as_posix()
            if page not in listed:
                report.problems.append(f"{(docs_dir / page).as_posix()} is not in the nav of mkdocs.yml, so the "
                                       f"docs site does not list it: add it under {section}")


def check_components(lines: list[str], inner: list[tuple[int, str]], end: int, report: Report) -> None:
    if not inner:
        report.problems.append("section '4) Core Components' describes no component")
    bounds = [index for index, _ in inner] + [end]
    for (index, heading), stop in zip(inner, bounds[1:]):
        body = "\n".join(lines[index:stop])
        missing = [aspect for aspect in COMPONENT_ASPECTS if f"**{aspect}**" not in body]
        if missing:
            report.problems.append(f"component '{heading}' lacks {', '.join(missing)}")


def read_slo_table(lines: list[str], inner: list[tuple[int, str]], end: int) -> dict[str, str]:
    starts = [index for index, heading in inner if stem(heading) == "non-functional requirements"]
    if not starts:
        return {}
    following = [index for index, _ in inner if index > starts[0]] + [end]
    section_tables = tables(lines[starts[0]:following[0]])
    if not section_tables:
        return {}
    return {row[0]: row[2] for row in section_tables[0][1:] if len(row) >= 3}


def load_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(doc, dict)]


def check_slos_against_table(root: Path, slo_table: dict[str, str], report: Report) -> list[str]:
    """SLO targets agree with the design document; returns the SLO names."""
    path = root / "slo/openslo.yaml"
    if not path.is_file():
        report.problems.append("slo/openslo.yaml is missing")
        return []
    try:
        documents = load_documents(path)
    except yaml.YAMLError as error:
        report.problems.append(f"slo/openslo.yaml is not valid YAML: {str(error).splitlines()[0]}")
        return []
    slis = {d["metadata"]["name"]: d for d in documents if d.get("kind") == "SLI"}
    names = []
    for slo in (d for d in documents if d.get("kind") == "SLO"):
        name = slo["metadata"]["name"]
        names.append(name)
        indicator = slis.get(slo["spec"].get("indicatorRef", ""), {})
        title = indicator.get("metadata", {}).get("displayName", name)
        if title not in slo_table:
            report.problems.append(f"SLO {name} ({title}) is not in the design document's SLO table")
            continue
        try:
            in_document = Decimal(slo_table[title].rstrip(" %")) / 100
            target = Decimal(str(slo["spec"]["objectives"][0]["target"]))
        except (InvalidOperation, KeyError, IndexError):
            report.problems.append(f"SLO {name}: objective not readable ({slo_table[title]!r})")
            continue
        if in_document != target:
            report.problems.append(f"SLO {name}: the design document says {slo_table[title]}, slo/openslo.yaml says {target}")
    return names


def runbook_path(root: Path, url: str) -> Path:
    if re.match(r"^https?://", url):
        match = re.search(r"/(?:-/)?(?:blob|src)/[^/]+/(.+)$", url)
        return root / (match.group(1) if match else "<not a link into this repository>")
    return root / url


def check_alerts(root: Path, slo_names: list[str], report: Report) -> None:
    path = root / "monitoring/prometheus/slo-rules.yaml"
    if not path.is_file():
        report.problems.append("monitoring/prometheus/slo-rules.yaml is missing")
        return
    try:
        rules = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        report.problems.append(f"monitoring/prometheus/slo-rules.yaml is not valid YAML: {str(error).splitlines()[0]}")
        return
    alerts = [rule for group in rules.get("groups", []) for rule in group.get("rules", []) if "alert" in rule]
    for name in slo_names:
        severities = {a.get("labels", {}).get("severity") for a in alerts if f'slo="{name}"' in a.get("expr", "")}
        for severity in ("page", "ticket"):
            if severity not in severities:
                report.problems.append(f"SLO {name} has no {severity} alert")
    for alert in alerts:
        url = alert.get("annotations", {}).get("runbook_url")
        if not url:
            report.problems.append(f"alert {alert['alert']} has no runbook_url")
        elif not runbook_path(root, url).is_file():
            report.problems.append(f"alert {alert['alert']}: its runbook {url} does not exist")


def check_decision_log(root: Path, report: Report) -> None:
    adr_dir = root / "docs/adr"
    records = sorted(path.name for path in adr_dir.glob("[0-9][0-9][0-9][0-9]-*.md"))
    numbers = [int(name[:4]) for name in records]
    if numbers != list(range(1, len(numbers) + 1)):
        report.problems.append(f"decision records are not numbered 0001 to {len(numbers):04d} without gaps")
    index = adr_dir / "README.md"
    listed = set(re.findall(r"\]\((\d{4}-[^)]+\.md)\)", index.read_text(encoding="utf-8"))) if index.is_file() else set()
    for name in records:
        if name not in listed:
            report.problems.append(f"docs/adr/{name} is missing from the ADR log (docs/adr/README.md)")
    for name in sorted(listed - set(records)):
        report.problems.append(f"the ADR log lists {name}, which does not exist")


def count_also_open(root: Path, report: Report) -> None:
    areas = (("runbooks", "docs/runbooks/*.md"), ("decision records", "docs/adr/[0-9]*.md"),
             ("alert routing", "monitoring/alertmanager/*.yaml"))
    for area, pattern in areas:
        count = sum(
            without_code_spans(line).count(MARKER)
            for path in root.glob(pattern)
            for line in path.read_text(encoding="utf-8").splitlines()
        )
        if count:
            report.also_open[area] = count


# --- output -----------------------------------------------------------------------------

def print_report(report: Report, blocking: bool, design: Path) -> None:
    if report.conflicts:
        verdict = "NOT READY: unresolved conflicts"
    elif not (report.open_count or report.problems):
        verdict = "ready"
    else:
        verdict = "NOT READY" if blocking else "open items reported (not blocking while Draft)"
    print(f"Design readiness: status {report.status}: {verdict}")
    if report.conflicts:
        print("\nUnresolved conflicts (they fail the check whatever the status):")
        for conflict in report.conflicts:
            print(f"  - {conflict}")
    if report.open_items:
        print(f"\nOpen in {design.as_posix()}:")
        for section, items in report.open_items.items():
            print(f"  {section}: {len(items)} open")
            for item in items:
                print(f"    {item}")
    if report.problems:
        print("\nProblems:")
        for problem in report.problems:
            print(f"  - {problem}")
    if report.also_open:
        areas = ", ".join(f"{count} in {area}" for area, count in report.also_open.items())
        print(f"\nAlso open, not blocking: {MARKER} prompts {areas}.")
    for note in report.notes:
        print(f"\nNote, not blocking: {note}.")
    print(f"\nSummary: {len(report.conflicts)} conflicts, {report.open_count} open items, "
          f"{len(report.problems)} problems; status {report.status}"
          + (" (open items fail from 'In review' on)." if not blocking else "."))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    parser.add_argument("--design", type=Path, help="the design document, relative to the root "
                        f"(default: {DESIGN.as_posix()}, or the page README.md or mkdocs.yml calls '{DESIGN_TITLE}')")
    arguments = parser.parse_args(argv)
    root = arguments.root
    design = arguments.design or find_design(root)
    if design is None or not (root / design).is_file():
        looked = (f"{(root / design).as_posix()} does not exist" if design is not None else
                  f"{(root / DESIGN).as_posix()} does not exist, and neither README.md nor mkdocs.yml "
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
    slo_names = check_slos_against_table(root, slo_table, report)
    check_alerts(root, slo_names, report)
    check_decision_log(root, report)
    check_site_navigation(root, report)
    count_also_open(root, report)

    blocking = status in BLOCKING_STATUSES
    print_report(report, blocking, design)
    if report.conflicts:
        return 1
    return 1 if blocking and (report.open_count or report.problems) else 0


if __name__ == "__main__":
    sys.exit(main())
