"""A generated repository, as the tests read it."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from support.layout import OPENSLO, RULES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EXAMPLE_NAMES = sorted(path.stem for path in EXAMPLES.glob("*.yml"))


def example_answers(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / f"{name}.yml").read_text(encoding="utf-8"))


def alert_thresholds(expr: str) -> list[float]:
    """The error ratios an alert's conditions fire above, as its expression states them:
    `> 0.5` or `> (14.4 * 0.001)`."""
    return [float(a) * (float(b) if b else 1) for a, b in re.findall(r"> \(?([\d.]+)(?: \* ([\d.]+))?\)?", expr)]


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
    def slo_names(self) -> list[str]:
        """The SLOs of the OpenSLO file, by name; never empty in a generated repository."""
        names = [doc["metadata"]["name"] for doc in self.yaml_documents(OPENSLO) if doc["kind"] == "SLO"]
        assert names, f"{OPENSLO} defines no SLO"
        return names

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
