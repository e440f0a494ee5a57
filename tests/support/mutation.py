"""Rules broken on purpose: a test proves the generated promtool tests have teeth by
running them against a copy of the rules with one change and seeing them fail."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from support.layout import PROMETHEUS
from support.tools import run_tool


def mutated(project, tmp_path: Path, change: Callable[[str], str]) -> Path:
    """A copy of the project's monitoring/prometheus with `change` applied to the rules."""
    copy = tmp_path / "prometheus"
    shutil.copytree(project.root / PROMETHEUS, copy)
    rules = copy / "slo-rules.yaml"
    before = rules.read_text(encoding="utf-8")
    after = change(before)
    assert after != before, "the mutation changes the rules"
    rules.write_text(after, encoding="utf-8")
    return copy


def failures_with(project, tmp_path: Path, change: Callable[[str], str], tests: str, line: str) -> str:
    """What the generated promtool tests in `tests` (a file next to the rules) print when run
    by `line`'s promtool against the rules with `change` applied: they must fail."""
    result = run_tool("promtool", "test", "rules", tests, cwd=mutated(project, tmp_path, change), line=line)
    assert result.returncode != 0, f"{tests} still pass with the rules broken"
    return result.stdout + result.stderr
