"""The README's test command starts with .ci/install_tools.py: after it, every tool the
suite drives runs from the checkout (the servers too, not only their command-line tools),
at the pinned versions, Prometheus and Alertmanager in both lines, each line at the
versions includes/data/tool-versions.json says the rules are proven on; and on a machine
where a tool cannot be had, the command stops with what to run instead of letting the
suite skip."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import install_tools
from support.alertmanager import runnable_alertmanager, short_directory
from support.project import ROOT
from support.tools import LINE_TOOLS, LINES, require, tool_version

TOOL_VERSIONS = ROOT / "includes" / "data" / "tool-versions.json"
# Which server each command-line tool ships with: the two report the same release.
SERVER_OF = {"promtool": "prometheus", "amtool": "alertmanager"}
SERVER_START_SECONDS = 30

# What each tool prints first for --version, whatever its release.
VERSION_LINE = {
    "promtool": "promtool, version",
    "prometheus": "prometheus, version",
    "amtool": "amtool, version",
    "alertmanager": "alertmanager, version",
    "chromium": "Chromium",
}


def tool_versions() -> dict:
    return json.loads(TOOL_VERSIONS.read_text(encoding="utf-8"))


@pytest.mark.parametrize("tool,line", [(tool, line) for tool in VERSION_LINE for line in LINES if tool in LINE_TOOLS or line == "oldest"])
def test_each_tool_runs_from_where_the_installer_put_it(tool, line):
    path = require(tool, line) if tool in LINE_TOOLS else require(tool)
    result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).strip().startswith(VERSION_LINE[tool])


@pytest.mark.parametrize("line", LINES)
def test_the_extracted_servers_have_their_data_beside_them(line):
    """Debian's alertmanager reads its templates, and prometheus its web assets, from
    /usr/share/prometheus; the extracted copies are beside the binaries (.tools/root,
    .tools/newest/root) for whoever starts them."""
    alertmanager = Path(require("alertmanager", line)).resolve()
    require("prometheus", line)
    share = alertmanager.parents[1] / "share" / "prometheus"
    assert (share / "alertmanager").is_dir() and any((share / "alertmanager").iterdir())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ready(url: str, server: subprocess.Popen) -> bool:
    """Whether the server answers `url` within SERVER_START_SECONDS (False once it exits)."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.status == 200
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    return False


@pytest.mark.parametrize("line", LINES)
def test_each_lines_servers_start_from_the_checkout(line, tmp_path):
    """Prometheus and Alertmanager of both lines start as the tests start them, on
    127.0.0.1: Debian's alertmanager through the copy that reads the extracted templates."""
    (tmp_path / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\n", encoding="utf-8")
    (tmp_path / "alertmanager.yml").write_text("route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n", encoding="utf-8")
    templates = short_directory()
    try:
        alertmanager = runnable_alertmanager(require("alertmanager", line), tmp_path, templates)
        servers = {
            "prometheus": lambda port: [require("prometheus", line), f"--config.file={tmp_path / 'prometheus.yml'}",
                                        f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
            "alertmanager": lambda port: [alertmanager, f"--config.file={tmp_path / 'alertmanager.yml'}",
                                          f"--storage.path={tmp_path / 'am'}", f"--web.listen-address=127.0.0.1:{port}",
                                          "--cluster.listen-address="],
        }
        for name, command in servers.items():
            port = free_port()
            with subprocess.Popen(command(port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as server:
                try:
                    started = ready(f"http://127.0.0.1:{port}/-/ready", server)
                finally:
                    server.terminate()
                    output = server.communicate(timeout=30)[0]
            assert started, f"{line} line's {name} did not start:\n{output[-2000:]}"
    finally:
        shutil.rmtree(templates, ignore_errors=True)


@pytest.mark.parametrize("line", LINES)
def test_each_line_is_the_release_the_rules_are_said_to_be_proven_on(line):
    """The README, the generated README and the CHANGELOG say which Prometheus and
    Alertmanager the rules are proven on, from includes/data/tool-versions.json: the
    lines the suite runs must be those releases."""
    claimed = tool_versions()["rules_proven_on"][line]
    for tool, server in SERVER_OF.items():
        for program in (tool, server):
            require(program, line)
            version = tool_version(program, line)
            assert version, f"`{program} --version` of the {line} line names no version"
            running = ".".join(version.split(".")[:2])
            assert running == claimed[server], (
                f"the {line} line's {program} is {version}, and includes/data/tool-versions.json says the rules "
                f"are proven on {server} {claimed[server]}: update includes/data/tool-versions.json and the CHANGELOG "
                f"(or install the line it names)"
            )


def test_the_npm_tools_are_at_the_versions_of_the_table():
    """markdownlint-cli2 at the release of the container image the generated CI runs,
    mermaid as the table pins it."""
    require("markdownlint-cli2")
    table = tool_versions()
    expected = {
        "markdownlint-cli2": table["generated_ci"]["markdownlint-cli2"]["version"].removeprefix("v"),
        "mermaid": table["test_tools"]["mermaid"]["version"],
    }
    for package, version in expected.items():
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


# --- Where the newest line comes from: Debian's mirror of this machine's apt sources ------------

DEBIAN_12_SOURCES = """\
Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
# a comment inside the paragraph
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def apt_dir(tmp_path: Path, sources_list: str = "", parts: dict[str, str] | None = None) -> Path:
    etc = tmp_path / "etc-apt"
    (etc / "sources.list.d").mkdir(parents=True)
    if sources_list:
        (etc / "sources.list").write_text(sources_list, encoding="utf-8")
    for name, text in (parts or {}).items():
        (etc / "sources.list.d" / name).write_text(text, encoding="utf-8")
    return etc


def mirror_of(etc: Path, codename: str = "bookworm", distribution: str = "debian") -> str | None:
    os_release = etc.parent / "os-release"
    os_release.write_text(f"ID={distribution}\nVERSION_CODENAME={codename}\n", encoding="utf-8")
    names = install_tools.debian_release_names(os_release, etc.parent / "no-distro-info.csv")
    return install_tools.debian_mirror(install_tools.machine_apt_sources(etc), names)


def test_the_mirror_is_the_main_archive_of_a_deb822_source_not_its_security_archive(tmp_path):
    assert mirror_of(apt_dir(tmp_path, parts={"debian.sources": DEBIAN_12_SOURCES})) == "http://mirror.example/debian"


def test_the_mirror_is_read_from_one_line_sources_with_their_options(tmp_path):
    sources_list = (
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://security.example/debian-security bookworm-security main\n"
        "deb-src http://source.example/debian bookworm main\n"
        "deb [arch=amd64] http://mirror.example/debian/ bookworm main non-free-firmware\n"
    )
    assert mirror_of(apt_dir(tmp_path, sources_list)) == "http://mirror.example/debian/"


def test_other_vendors_and_disabled_sources_are_not_taken_for_debians_archive(tmp_path):
    parts = {
        "nodesource.sources": "Types: deb\nURIs: https://vendor.example/node\nSuites: nodistro\nComponents: main\n",
        "cloud.list": "deb https://vendor.example/apt cloud-sdk-bookworm main\n",
        "off.sources": "Types: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n",
        "debian.sources.disabled": DEBIAN_12_SOURCES,
    }
    assert mirror_of(apt_dir(tmp_path, parts=parts)) is None


def test_another_distributions_archive_is_not_taken_for_debians(tmp_path):
    etc = apt_dir(tmp_path, "deb http://archive.example/ubuntu noble main universe\n")
    assert mirror_of(etc, codename="noble", distribution="ubuntu") is None


def test_without_a_debian_mirror_the_command_says_which_variable_names_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(install_tools, "NEWEST", tmp_path / "newest")
    monkeypatch.setattr(install_tools, "APT_SOURCES", apt_dir(tmp_path, "deb http://archive.example/ubuntu noble main\n"))
    monkeypatch.setattr(install_tools, "OS_RELEASE", tmp_path / "os-release")
    (tmp_path / "os-release").write_text("ID=ubuntu\nVERSION_CODENAME=noble\n", encoding="utf-8")
    monkeypatch.setattr(install_tools, "DEBIAN_CODENAMES", tmp_path / "none.csv")
    monkeypatch.delenv(install_tools.MIRROR_VARIABLE, raising=False)
    monkeypatch.setattr(install_tools, "STEPS", {"newest": install_tools.newest_debian_tools})
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb") and install_tools.DEBIAN_KEYRING.is_file()):
        pytest.skip("this machine has no apt-get, dpkg-deb or Debian's archive keyring: the command stops earlier")

    assert install_tools.main() == 1

    message = capsys.readouterr().err
    assert "name no Debian archive" in message
    assert f"set {install_tools.MIRROR_VARIABLE} to a Debian mirror's URI" in message


def test_the_private_apt_configuration_reads_and_writes_only_its_own_directory(tmp_path, monkeypatch):
    apt = tmp_path / "apt"
    config = install_tools.private_apt_config(apt, "http://mirror.example/debian")

    assert (apt / "etc" / "sources.list").read_text(encoding="utf-8") == (
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example/debian sid main\n"
    )
    settings = dict(line.rstrip(";").split(" ", 1) for line in config.read_text(encoding="utf-8").splitlines()
                    if not line.startswith("#"))
    assert set(settings) == {"Dir::Etc::SourceList", "Dir::Etc::SourceParts", "Dir::Etc::Preferences",
                             "Dir::Etc::PreferencesParts", "Dir::State", "Dir::State::Lists", "Dir::State::status", "Dir::Cache"}
    for name, value in settings.items():
        assert Path(value.strip('"')).is_relative_to(apt), name
    monkeypatch.setattr(install_tools, "is_root", lambda: False)
    assert "Debug::NoLocking=1" in install_tools.private_apt_get(config), "some apt releases refuse a user their locks"
