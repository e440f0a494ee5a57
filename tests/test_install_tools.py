"""The README's test command starts with .ci/install_tools.py: after it, every tool the
suite drives runs from the checkout (the servers too, not only their command-line tools),
at the pinned versions; and on a machine where a tool cannot be had, the command stops
with what to run instead of letting the suite skip."""

from __future__ import annotations

import json
import subprocess

import install_tools
import pytest

from support.project import ROOT
from support.tools import require

# What each tool prints first for --version, whatever its release.
VERSION_LINE = {
    "promtool": "promtool, version",
    "prometheus": "prometheus, version",
    "amtool": "amtool, version",
    "alertmanager": "alertmanager, version",
    "chromium": "Chromium",
}


@pytest.mark.parametrize("tool", VERSION_LINE)
def test_each_tool_runs_from_where_the_installer_put_it(tool):
    path = require(tool)
    result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).strip().startswith(VERSION_LINE[tool])


def test_the_extracted_servers_have_their_data_beside_them():
    """Debian's alertmanager reads its templates, and prometheus its web assets, from
    /usr/share/prometheus; the extracted copies are under .tools/root for whoever starts them."""
    require("prometheus")
    require("alertmanager")
    share = ROOT / ".tools" / "root" / "usr" / "share" / "prometheus"
    assert (share / "alertmanager").is_dir() and any((share / "alertmanager").iterdir())


def test_the_npm_tools_are_at_their_pinned_versions():
    require("markdownlint-cli2")
    for package, version in install_tools.NPM_PACKAGES.items():
        manifest = ROOT / ".tools" / "node_modules" / package / "package.json"
        assert json.loads(manifest.read_text(encoding="utf-8"))["version"] == version, package
    assert (ROOT / ".tools" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js").is_file()


def test_without_root_a_missing_chromium_stops_the_command_and_says_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(install_tools, "CHROMIUM", tmp_path / "chromium")
    monkeypatch.setattr(install_tools, "is_root", lambda: False)
    monkeypatch.setattr(install_tools, "STEPS", {"chromium": install_tools.chromium})

    assert install_tools.main() == 1

    message = capsys.readouterr().err
    assert "sudo apt-get install chromium" in message
    assert "then run this command again" in message
