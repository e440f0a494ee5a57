"""GitHub Actions workflows, as the tests check them: against the workflow schema, for
actions not pinned to a commit and images not pinned to a release, with zizmor's audit, and
for the commands their steps run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

# `uses: owner/repo@<40-hex commit> # vX.Y.Z`: the commit runs, the comment tells people
# (and Renovate or Dependabot) which release it is.
PINNED = re.compile(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(?:\.\d+){0,2}$")
# `uses: docker://owner/image:vX.Y.Z`: a container image at one release, as Renovate's
# github-actions manager reads and updates it.
IMAGE_AT_A_RELEASE = re.compile(r"uses: docker://(?P<image>[\w./-]+):(?P<tag>v\d+\.\d+\.\d+)$")
ZIZMOR = Path(sys.executable).with_name("zizmor")


def check_jsonschema(builtin: str, path: Path) -> subprocess.CompletedProcess:
    """Validate a file against one of check-jsonschema's builtin schemas."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", builtin, str(path)],
        capture_output=True, text=True, timeout=120,
    )


def actions_used(workflow: str) -> list[str]:
    """Every `uses:` line of a workflow, stripped."""
    return [line.strip().removeprefix("- ") for line in workflow.splitlines() if re.match(r"\s*(- )?uses:", line)]


def unpinned_actions(workflow: str) -> list[str]:
    """Actions not pinned to a commit, and container images not pinned to a release."""
    return [line for line in actions_used(workflow) if not (PINNED.fullmatch(line) or IMAGE_AT_A_RELEASE.fullmatch(line))]


def images_used(workflow: str) -> dict[str, str]:
    """image -> release tag of every `uses: docker://image:tag` step."""
    return {found["image"]: found["tag"] for line in actions_used(workflow) if (found := IMAGE_AT_A_RELEASE.fullmatch(line))}


def step_commands(workflow: dict) -> list[str]:
    """What every step runs: a `run` script, or a container step's entrypoint and arguments."""
    commands = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                commands.append(step["run"])
            elif step.get("uses", "").startswith("docker://"):
                arguments = step.get("with", {})
                commands.append(f"{arguments.get('entrypoint', '')} {arguments.get('args', '')}".strip())
    return commands


def zizmor(path: Path) -> subprocess.CompletedProcess:
    """zizmor's audit of a workflow, offline (its online audits ask GitHub's API)."""
    if not ZIZMOR.is_file():
        pytest.fail(f"zizmor is not installed next to {sys.executable}: run python3 .ci/install_tools.py "
                    "(dependency group `test` of pyproject.toml)")
    return subprocess.run([str(ZIZMOR), "--offline", "--no-config", "--no-progress", str(path)], capture_output=True, text=True, timeout=120)
