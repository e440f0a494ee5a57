"""External tools the tests drive (promtool, amtool, markdownlint-cli2, chromium, ...).

`.ci/install_tools.py` installs them into the checkout (`.tools/`), and the README's test
command runs it first, then pytest with GROUNDWORK_REQUIRE_TOOLS=1: there a missing tool
fails the tests that need it, so the suite never passes by skipping. A bare `pytest`
without that variable (a developer running one module) skips them instead, naming the
command that installs the tool.

Prometheus and Alertmanager come in two lines, and the tests that run them on generated
files run both (the `prometheus_line` fixture): "oldest", Debian stable's packages in
.tools/bin, and "newest", those of Debian's development suite in .tools/newest/bin. The
newest line is only ever taken from there, so a missing one fails (or skips) rather than
quietly running the oldest twice."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_LOCAL_BIN = [ROOT / ".tools" / "node_modules" / ".bin", ROOT / ".tools" / "bin"]
LINES = ("oldest", "newest")
# The lines whose promtool runs the rule tests of each histogram type: native histograms
# need Prometheus 3, which only the newest line is.
LINES_READING = {"classic": LINES, "native": ("newest",)}
# The programs that come in lines, and where the newest line is.
LINE_TOOLS = ("promtool", "prometheus", "amtool", "alertmanager")
_NEWEST_BIN = ROOT / ".tools" / "newest" / "bin"
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
HOW_TO_INSTALL_NEWEST = (
    f"run {INSTALLER} (the newest line: Debian's development suite (sid) packages, "
    "extracted into .tools/newest/)"
)


def put_checkout_tools_first_on_path() -> None:
    """Tools installed into the checkout win over the machine's, for the tests and for the
    programs they start (markdownlint-cli2 finds a node installed there)."""
    os.environ["PATH"] = os.pathsep.join([*(str(p) for p in _LOCAL_BIN), os.environ.get("PATH", "")])


def tools_required() -> bool:
    return os.environ.get("GROUNDWORK_REQUIRE_TOOLS") == "1"


def _check_line(tool: str, line: str) -> None:
    if line not in LINES:
        raise ValueError(f"no line {line!r}: the lines are {', '.join(LINES)}")
    if line != "oldest" and tool not in LINE_TOOLS:
        raise ValueError(f"{tool} comes in one version; only {', '.join(LINE_TOOLS)} come in lines")


def tool_path(tool: str, line: str = "oldest") -> str | None:
    """Absolute path of `tool` (of `line`) in the checkout's .tools or on PATH, or None."""
    _check_line(tool, line)
    if line == "newest":
        path = _NEWEST_BIN / tool
        return str(path) if os.access(path, os.X_OK) else None
    if tool in _LOCAL_FILES:
        return str(_LOCAL_FILES[tool]) if _LOCAL_FILES[tool].is_file() else None
    search = os.pathsep.join([*(str(p) for p in _LOCAL_BIN), os.environ.get("PATH", "")])
    return shutil.which(tool, path=search)


def require(tool: str, line: str = "oldest") -> str:
    """Absolute path of `tool` (of `line`), or skip (locally) / fail (CI) the calling test."""
    path = tool_path(tool, line)
    if path:
        return path
    if line == "newest":
        message = f"{tool} of the newest line is not installed: {HOW_TO_INSTALL_NEWEST}"
    else:
        message = f"{tool} is not installed: {HOW_TO_INSTALL.get(tool, 'install it')}"
    if tools_required():
        pytest.fail(message)
    pytest.skip(message)


def run_tool(tool: str, *args: str, cwd: Path | None = None, line: str = "oldest") -> subprocess.CompletedProcess:
    """Run `tool` (of `line`, found as require() finds it) with its output captured as text."""
    return subprocess.run([require(tool, line), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@functools.cache
def tool_version(tool: str, line: str) -> str | None:
    """The version `tool --version` of `line` prints (e.g. "3.5.3+ds1"), or None when that
    line's tool is not installed."""
    path = tool_path(tool, line)
    if not path:
        return None
    result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    found = re.search(r"\bversion (\S+)", result.stdout + result.stderr)
    return found.group(1) if found else None
