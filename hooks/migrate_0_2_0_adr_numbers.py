"""Migration for v0.2.0: an owner's own decision records keep numbers of their own.

v0.2.0 started `docs/adr/` with the template's records 0001 to 0005. A repository from
v0.1.0 whose team had already written records there (`0001-use-postgres.md`, ...) would
have two records numbered 0001. Copier runs this script in the project after an update
that crosses v0.2.0: each of the owner's records whose number one of the template's
records took moves to the next free number, and every Markdown link to it (and an
adr-tools title such as "# 1. Use Postgres") follows. It prints what it moved.

Usage (copier passes the template's decision topics):
    migrate_0_2_0_adr_numbers.py <template>/includes/data/decisions.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ADR_DIR = Path("docs/adr")
FIRST_RECORD = "0001-record-architecture-decisions.md"
RECORD = re.compile(r"^(\d{4})-.+\.md$")
SKIPPED_DIRECTORIES = {".git", "node_modules", "site"}


def template_records(decisions_file: Path) -> set[str]:
    topics = json.loads(decisions_file.read_text(encoding="utf-8"))["topics"]
    return {FIRST_RECORD} | {f"{topic['number']}-{topic['slug']}.md" for topic in topics}


def moves(records: list[str], generated: set[str]) -> dict[str, str]:
    """{old name: new name} for the owner's records whose number a generated record has."""
    taken = {name[:4] for name in records if name in generated}
    colliding = [name for name in records if name not in generated and name[:4] in taken]
    next_number = max(int(name[:4]) for name in records) + 1
    renamed = {}
    for name in colliding:
        renamed[name] = f"{next_number:04d}{name[4:]}"
        next_number += 1
    return renamed


def markdown_files(root: Path) -> list[Path]:
    return [
        path for path in root.rglob("*.md")
        if path.is_file() and not SKIPPED_DIRECTORIES & set(path.relative_to(root).parts)
    ]


def follow(text: str, renamed: dict[str, str]) -> str:
    for old, new in renamed.items():
        text = re.sub(rf"(?<![\w-]){re.escape(old)}", new, text)
    return text


def add_to_index(index: Path, renamed: dict[str, str]) -> None:
    """Rows for the moved records in the ADR log, when it does not list them yet."""
    if not index.is_file():
        return
    lines = index.read_text(encoding="utf-8").splitlines()
    rows = [i for i, line in enumerate(lines) if line.startswith("| [")]
    missing = [new for new in renamed.values() if f"]({new})" not in "\n".join(lines)]
    if not rows or not missing:
        return
    new_rows = [f"| [{new[:4]}]({new}) | {title_of(ADR_DIR / new)} |" for new in missing]
    lines[rows[-1] + 1:rows[-1] + 1] = new_rows
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")


def title_of(record: Path) -> str:
    for line in record.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return re.sub(r"^\d+\.\s+", "", line[2:].strip()).replace("|", "&#124;")
    return record.stem[5:].replace("-", " ")


def main(decisions_file: Path) -> int:
    if not ADR_DIR.is_dir():
        return 0
    records = sorted(path.name for path in ADR_DIR.iterdir() if path.is_file() and RECORD.match(path.name))
    generated = template_records(decisions_file)
    renamed = moves(records, generated) if records else {}
    if not renamed:
        return 0
    last_generated = max(name[:4] for name in records if name in generated)
    for old, new in renamed.items():
        record = ADR_DIR / old
        text = record.read_text(encoding="utf-8")
        text = re.sub(rf"^# {int(old[:4])}\. ", f"# {int(new[:4])}. ", text, count=1, flags=re.M)
        (ADR_DIR / new).write_text(text, encoding="utf-8")
        record.unlink()
        print(f"{ADR_DIR / old} is now {ADR_DIR / new}: numbers 0001 to {last_generated} are the template's records")
    for path in markdown_files(Path(".")):
        text = path.read_text(encoding="utf-8")
        followed = follow(text, renamed)
        if followed != text:
            path.write_text(followed, encoding="utf-8")
            print(f"{path}: links follow the new record numbers")
    add_to_index(ADR_DIR / "README.md", renamed)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
