"""GitHub Actions workflows, as the tests check them: against the workflow schema, and for
actions that are not pinned to a commit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# `uses: owner/repo@<40-hex commit> # vX.Y.Z`: the commit runs, the comment tells people
# (and Renovate or Dependabot) which release it is.
PINNED = re.compile(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(?:\.\d+){0,2}$")


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
    return [line for line in actions_used(workflow) if not PINNED.fullmatch(line)]
