"""A generated repository, as the tests read it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from support.layout import RULES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EXAMPLE_NAMES = sorted(path.stem for path in EXAMPLES.glob("*.yml"))


def example_answers(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / f"{name}.yml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Project:
    root: Path

    def text(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def yaml(self, relative: str):
        return yaml.safe_load(self.text(relative))

    def yaml_documents(self, relative: str) -> list:
        return list(yaml.safe_load_all(self.text(relative)))

    @property
    def answers(self) -> dict:
        return self.yaml(".copier-answers.yml")

    @property
    def design(self) -> str:
        return self.text("docs/design.md")

    @property
    def alerts(self) -> list[dict]:
        """The alerting rules of the Prometheus rule file, every group's."""
        return [rule for group in self.yaml(RULES)["groups"] for rule in group["rules"] if "alert" in rule]

    def files(self, pattern: str = "**/*") -> list[Path]:
        return sorted(
            path for path in self.root.glob(pattern) if path.is_file() and ".git" not in path.parts
        )


def copier_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real copier command line, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "copier", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
