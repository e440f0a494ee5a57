"""External tools the tests drive (promtool, amtool, markdownlint-cli2, ...).

On a developer's machine a missing tool skips the tests that need it, with the command
that installs it. In CI (GROUNDWORK_REQUIRE_TOOLS=1, set by .ci/run) a missing tool fails
those tests: CI must never pass by skipping."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_LOCAL_BIN = [ROOT / ".tools" / "node_modules" / ".bin", ROOT / ".tools" / "bin"]

HOW_TO_INSTALL = {
    "promtool": "apt-get install prometheus (or run .ci/run, which does it)",
    "amtool": "apt-get install prometheus-alertmanager (or run .ci/run, which does it)",
    "markdownlint-cli2": "npm install --prefix .tools markdownlint-cli2 (or run .ci/run)",
    "git": "install git",
}


def tools_required() -> bool:
    return os.environ.get("GROUNDWORK_REQUIRE_TOOLS") == "1"


def tool_path(tool: str) -> str | None:
    """Absolute path of `tool` in the checkout's .tools or on PATH, or None."""
    search = os.pathsep.join([*(str(p) for p in _LOCAL_BIN), os.environ.get("PATH", "")])
    return shutil.which(tool, path=search)


def require(tool: str) -> str:
    """Absolute path of `tool`, or skip (locally) / fail (CI) the calling test."""
    path = tool_path(tool)
    if path:
        return path
    message = f"{tool} is not installed: {HOW_TO_INSTALL.get(tool, 'install it')}"
    if tools_required():
        pytest.fail(message)
    pytest.skip(message)


def run_tool(tool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `tool` (found as require() finds it) with its output captured as text."""
    return subprocess.run([require(tool), *args], cwd=cwd, capture_output=True, text=True, timeout=120)
