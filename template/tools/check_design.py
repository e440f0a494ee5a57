#!/usr/bin/env python3
"""Readiness check of this design repository: the brief's acceptance criteria as a program.

It checks that docs/design.md covers every section of the system design brief and what is
still a `TODO:` prompt in each, that every SLO in slo/openslo.yaml has page and ticket
alerts, that every alert's runbook_url leads to a runbook that exists, that the ADR log
lists every decision record, and that the design document's SLO table agrees with the
SLO definitions.

While the design document's status is Draft (or Superseded) it reports and exits 0. From
"In review" on, any open item fails it (exit 1). Exit 2: it cannot run (unknown status,
missing files, PyYAML not installed).

Usage: python tools/check_design.py [--root PATH]      (needs Python 3.9+ and PyYAML)
"""

from __future__ import annotations

import argparse
import re
import sys
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


@dataclass
class Report:
    status: str = "unknown"
    open_items: dict[str, list[str]] = field(default_factory=dict)  # section -> "line N: text"
    problems: list[str] = field(default_factory=list)
    also_open: dict[str, int] = field(default_factory=dict)  # area -> TODO count (not blocking)

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


def status_of(lines: list[str]) -> str:
    for line in lines:
        if match := re.match(r"^\|\s*Status\s*\|\s*([^|]+?)\s*\|", line):
            return match.group(1)
    return "unknown"


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


# --- checks -----------------------------------------------------------------------------

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
            report.problems.append(f"docs/design.md has no section '## {title}'")
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
    documents = load_documents(path)
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
        match = re.search(r"/(?:-/)?blob/[^/]+/(.+)$", url)
        return root / (match.group(1) if match else "<not a link into this repository>")
    return root / url


def check_alerts(root: Path, slo_names: list[str], report: Report) -> None:
    path = root / "monitoring/prometheus/slo-rules.yaml"
    if not path.is_file():
        report.problems.append("monitoring/prometheus/slo-rules.yaml is missing")
        return
    rules = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
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

def print_report(report: Report, blocking: bool) -> None:
    verdict = "ready" if not (report.open_count or report.problems) else (
        "NOT READY" if blocking else "open items reported (not blocking while Draft)"
    )
    print(f"Design readiness: status {report.status}: {verdict}")
    if report.open_items:
        print("\nOpen in docs/design.md:")
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
    print(f"\nSummary: {report.open_count} open items, {len(report.problems)} problems; status {report.status}"
          + (" (open items fail from 'In review' on)." if not blocking else "."))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    root = parser.parse_args(argv).root
    design = root / DESIGN
    if not design.is_file():
        print(f"check_design: {design} not found; run from the repository root or pass --root", file=sys.stderr)
        return 2
    lines = design.read_text(encoding="utf-8").splitlines()
    report = Report(status=status_of(lines))
    status = report.status.lower()
    if status not in REPORTING_STATUSES | BLOCKING_STATUSES:
        print(f"check_design: unknown status {report.status!r} in docs/design.md; use Draft, In review, "
              "Approved or Superseded", file=sys.stderr)
        return 2

    slo_table = check_design_document(lines, report)
    slo_names = check_slos_against_table(root, slo_table, report)
    check_alerts(root, slo_names, report)
    check_decision_log(root, report)
    count_also_open(root, report)

    blocking = status in BLOCKING_STATUSES
    print_report(report, blocking)
    return 1 if blocking and (report.open_count or report.problems) else 0


if __name__ == "__main__":
    sys.exit(main())
