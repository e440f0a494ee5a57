"""Migration for v0.2.0: a pipeline's freshness target gets its own answer.

Up to v0.1.0 a pipeline's one SLO, freshness, took its target from `availability_slo`.
From v0.2.0 that target is `freshness_slo` (and `availability_slo` is not asked of
pipelines). Copier runs this script in the project being updated, before the update,
when the update crosses v0.2.0: it moves the answer so the target an owner chose is kept.

Usage (copier passes the answers file): migrate_0_2_0_freshness_slo.py [.copier-answers.yml]
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml  # Copier depends on PyYAML, so the interpreter running copier has it.


def migrate(answers: dict) -> bool:
    """Move the answer in place; True when something changed."""
    if answers.get("service_kind") != "pipeline" or "availability_slo" not in answers:
        return False
    target = answers.pop("availability_slo")
    answers.setdefault("freshness_slo", target)
    return True


def main(answers_file: Path) -> int:
    if not answers_file.is_file():
        print(f"{answers_file}: not found; nothing to migrate", file=sys.stderr)
        return 0
    text = answers_file.read_text(encoding="utf-8")
    answers = yaml.safe_load(text) or {}
    if not migrate(answers):
        return 0
    comments = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    answers_file.write_text(
        comments + yaml.safe_dump(answers, sort_keys=True, allow_unicode=True, indent=2),
        encoding="utf-8",
    )
    print(f"{answers_file}: availability_slo is now freshness_slo ({answers['freshness_slo']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".copier-answers.yml")))
