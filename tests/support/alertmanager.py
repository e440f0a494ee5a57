"""Debian's alertmanager, runnable from the checkout without installing anything.

Debian's build reads Alertmanager's default notification templates (default.tmpl,
email.tmpl) from /usr/share/prometheus/alertmanager/, a path compiled into the binary: the
package dropped the --template.default flag that moved it (0.24.0-5, NEWS.Debian), a
configuration's `templates:` only adds files after the defaults, and the path is absolute,
so no working directory helps. `.ci/install_tools.py` extracts the package into
.tools/root without installing it; there the binary stops at start with "failed to parse
templates: open /usr/share/prometheus/alertmanager/default.tmpl".

`runnable_alertmanager()` returns the binary itself when it needs nothing (a release
binary embeds its templates; an installed package has the directory), and otherwise a
copy of it in which that compiled-in directory names a short directory holding the
extracted package's templates: the same number of bytes, padded with slashes, which
paths read as one."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

DEBIAN_TEMPLATES = b"/usr/share/prometheus/alertmanager"
TEMPLATES = ("default.tmpl", "email.tmpl")


def short_directory(prefix: str = "gw-am-") -> Path:
    """A new directory whose path fits where the binary names its templates directory:
    under the system's temporary directory when that is short enough, else under /tmp."""
    room = len(DEBIAN_TEMPLATES) - len(prefix) - len("/") - 8  # mkdtemp adds 8 characters
    base = tempfile.gettempdir() if len(tempfile.gettempdir()) <= room else "/tmp"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def runnable_alertmanager(binary: str, workdir: Path, templates_dir: Path) -> str:
    """`binary`, or a copy of it in `workdir` reading its templates from `templates_dir`."""
    if Path(DEBIAN_TEMPLATES.decode(), TEMPLATES[0]).is_file():
        return binary
    real = Path(os.path.realpath(binary))
    content = real.read_bytes()
    # The directory alone, not the ".../ui/" and ".../no-ui" paths that start with it.
    places = [i for i in _find_all(content, DEBIAN_TEMPLATES) if content[i + len(DEBIAN_TEMPLATES)] != ord("/")]
    if not places:
        return binary  # not Debian's build: its templates are embedded
    assert len(places) == 1, f"{real}: the templates directory appears {len(places)} times"
    packaged = real.parents[1] / "share" / "prometheus" / "alertmanager"
    missing = [name for name in TEMPLATES if not (packaged / name).is_file()]
    if missing:
        pytest.fail(f"{real} is Debian's alertmanager, but {packaged} lacks {', '.join(missing)}")
    replacement = str(templates_dir).encode()
    if len(replacement) > len(DEBIAN_TEMPLATES):
        pytest.fail(f"{templates_dir} is longer than {DEBIAN_TEMPLATES.decode()}: choose a shorter directory")
    for name in TEMPLATES:
        shutil.copyfile(packaged / name, templates_dir / name)
    start = places[0]
    padded = replacement + b"/" * (len(DEBIAN_TEMPLATES) - len(replacement))
    copy = workdir / "alertmanager"
    copy.write_bytes(content[:start] + padded + content[start + len(DEBIAN_TEMPLATES):])
    copy.chmod(0o755)
    return str(copy)


def _find_all(content: bytes, needle: bytes):
    index = content.find(needle)
    while index >= 0:
        yield index
        index = content.find(needle, index + 1)


class RunningAlertmanager:
    """An alertmanager process on a free loopback port, with a given configuration file;
    a context manager that always stops it."""

    def __init__(self, binary: str, config: Path, workdir: Path, timeout: float = 30):
        self.binary, self.config, self.workdir, self.timeout = binary, config, workdir, timeout
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> RunningAlertmanager:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = (self.workdir / "alertmanager.log").open("wb")
        self.process = subprocess.Popen(
            [self.binary, f"--config.file={self.config}", f"--storage.path={self.workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{self.url}/-/ready", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        log = (self.workdir / "alertmanager.log").read_text(encoding="utf-8", errors="replace")
        pytest.fail(f"alertmanager did not start on {self.url}:\n{log[-2000:]}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()

    def post_alerts(self, alerts: list[dict]) -> None:
        body = json.dumps([{"labels": labels} for labels in alerts]).encode()
        request = urllib.request.Request(f"{self.url}/api/v2/alerts", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=5).close()

    def alerts(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as response:
            return json.loads(response.read())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
