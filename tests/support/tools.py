"""External tools the tests drive (promtool, amtool, markdownlint-cli2, chromium, ...).

`.ci/install_tools.py` installs them into the checkout (`.tools/`), and the README's test
command runs it first, then pytest with GROUNDWORK_REQUIRE_TOOLS=1: there a missing tool
fails the tests that need it, so the suite never passes by skipping. A bare `pytest`
without that variable (a developer running one module) skips them instead, naming the
command that installs the tool."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_LOCAL_BIN = [ROOT / ".tools" / "node_modules" / ".bin", ROOT / ".tools" / "bin"]
# Tools that are a file rather than a command: where the install puts them.
_LOCAL_FILES = {
    "mermaid": ROOT / ".tools" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js",
}

INSTALLER = "python3 .ci/install_tools.py"
HOW_TO_INSTALL = {
    "promtool": f"run {INSTALLER} (Debian's prometheus package, extracted into .tools/)",
    "prometheus": f"run {INSTALLER} (Debian's prometheus package, extracted into .tools/)",
    "amtool": f"run {INSTALLER} (Debian's prometheus-alertmanager package, extracted into .tools/)",
    "alertmanager": f"run {INSTALLER} (Debian's prometheus-alertmanager package, extracted into .tools/)",
    "markdownlint-cli2": f"run {INSTALLER} (npm, into .tools/node_modules)",
    "chromium": f"apt-get install chromium (as root, {INSTALLER} does it)",
    "mermaid": f"run {INSTALLER} (npm, into .tools/node_modules; the major version the docs theme loads)",
    "git": "install git",
}


def put_checkout_tools_first_on_path() -> None:
    """Tools installed into the checkout win over the machine's, for the tests and for the
    programs they start (markdownlint-cli2 finds a node installed there)."""
    os.environ["PATH"] = os.pathsep.join([*(str(p) for p in _LOCAL_BIN), os.environ.get("PATH", "")])


def tools_required() -> bool:
    return os.environ.get("GROUNDWORK_REQUIRE_TOOLS") == "1"


def tool_path(tool: str) -> str | None:
    """Absolute path of `tool` in the checkout's .tools or on PATH, or None."""
    if tool in _LOCAL_FILES:
        return str(_LOCAL_FILES[tool]) if _LOCAL_FILES[tool].is_file() else None
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
