"""A generated docs site as a reader sees it: built with mkdocs, served on 127.0.0.1 and
opened in Debian's Chromium, headless, with no network. The one script the site fetches
from a CDN, Mermaid, is answered from the npm package installed under .tools/."""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, Route, sync_playwright

from support.tools import require

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
# The theme's diagram loader: https://unpkg.com/mermaid@<major>/dist/mermaid.min.js
MERMAID_URL = re.compile(r"^https://[^/]+/mermaid@[^/]+/dist/mermaid\.min\.js$")
# The theme draws each diagram into a closed shadow root, which no test can look into;
# this opens them, changing nothing else.
OPEN_SHADOW_ROOTS = """
const attachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (options) {
  return attachShadow.call(this, {...options, mode: "open"});
};
"""
TIMEOUT_MS = 20_000


def build_site(project_root: Path, site_dir: Path) -> Path:
    """The TechDocs site of a generated repository, built as Backstage's builder does."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=project_root, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return site_dir


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextmanager
def served(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 (a free port) while the block runs; yields its URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Reader:
    """One browser tab on the served site. It records every dialog a page opens (a script
    that ran) and every request that left the site (answered from .tools/ or refused)."""

    def __init__(self, page: Page, site_url: str, mermaid_js: str):
        self.page = page
        self.site_url = site_url
        self.dialogs: list[str] = []
        self.offsite: list[str] = []
        self._mermaid_js = mermaid_js
        page.set_default_timeout(TIMEOUT_MS)
        page.add_init_script(OPEN_SHADOW_ROOTS)
        page.on("dialog", self._dismiss)
        page.route("**/*", self._route)

    def _dismiss(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(self.site_url):
            route.continue_()
        elif MERMAID_URL.match(url):
            self.offsite.append(url)
            route.fulfill(path=self._mermaid_js, content_type="text/javascript")
        else:
            self.offsite.append(url)
            route.abort()

    def open(self, path: str) -> Page:
        self.page.goto(self.site_url + path, wait_until="load")
        return self.page


@contextmanager
def reading(site_dir: Path) -> Iterator[Reader]:
    """Serve a built site and open it in headless Chromium; both stop when the block ends."""
    chromium = require("chromium")
    mermaid_js = require("mermaid")
    with served(site_dir) as site_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield Reader(browser.new_page(), site_url, mermaid_js)
        finally:
            browser.close()
