#!/usr/bin/env python3
"""Where a render's time goes: Jinja compiles counted by template, in one process.

Run by hand (it is not a test): python bench/profile.py [--repeat N] [--peer DIR ...] [--top N]

Copies and updates each template with Copier's API in this process (no interpreter start,
no import), CPU time of this process only (git's subprocesses are not counted), median of N
after a warm-up. Every Jinja compile is counted and timed: by file for the templates and
macro libraries a render loads, and as "strings" for the sources Copier compiles from
strings (every question's type, default, `when`, validator, help and choices, each part of
every generated path, the answers file's path). The same templates as bench/run.py: the
one-file floor, the hollow Groundwork, Groundwork itself, and with --peer another template.
With --cache, a source already compiled in the same copy or update is not compiled again.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import copier
import jinja2
import run as bench  # bench/run.py: the same templates, built the same way


class CompileLedger:
    """Counts and CPU seconds of every Jinja compile, keyed by template name or source string.

    With `cache`, a source compiled once is not compiled again within the same copy or update,
    whichever environment asks: what a Copier that kept what it compiles, across the
    renders of one command, would spend.
    """

    def __init__(self, cache: bool = False) -> None:
        self.count: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.cache: dict[tuple, object] | None = {} if cache else None
        self._compile = jinja2.Environment.compile

    def install(self) -> None:
        ledger, compile_ = self, self._compile

        def counted(env, source, name=None, filename=None, raw=False, defer_init=False):  # type: ignore[no-untyped-def]
            cache_key = (settings(env), source, name, raw, defer_init) if isinstance(source, str) else None
            if ledger.cache is not None and cache_key in ledger.cache:
                # Extensions reset their state as a source is read (Copier's yield tag does).
                env.preprocess(source, name, filename)
                return ledger.cache[cache_key]
            start = time.process_time()
            try:
                code = compile_(env, source, name, filename, raw, defer_init)
            finally:
                key = name if name else "string: " + (source if isinstance(source, str) else "<ast>")
                ledger.count[key] += 1
                ledger.seconds[key] += time.process_time() - start
            if ledger.cache is not None and cache_key is not None:
                ledger.cache[cache_key] = code
            return code

        jinja2.Environment.compile = counted  # type: ignore[method-assign]

    def clear(self) -> None:
        self.count.clear()
        self.seconds.clear()
        if self.cache is not None:
            self.cache.clear()

    def totals(self, strings: bool) -> tuple[int, float]:
        keys = [key for key in self.count if key.startswith("string: ") == strings]
        return sum(self.count[key] for key in keys), sum(self.seconds[key] for key in keys)


def settings(env: jinja2.Environment) -> tuple:
    """What makes two environments compile the same source differently."""
    return (type(env), env.optimized, env.trim_blocks, env.lstrip_blocks, env.keep_trailing_newline,
            env.block_start_string, env.variable_start_string, env.comment_start_string,
            tuple(sorted(env.extensions)), env.undefined)


def measured(action: Callable[[], None], repeat: int, ledger: CompileLedger) -> dict[str, float]:
    """Median CPU seconds of `action` after a warm-up, and its compiles per run."""
    action()
    ledger.clear()
    cpu = []
    for _ in range(repeat):
        if ledger.cache is not None:
            ledger.cache.clear()
        start = time.process_time()
        action()
        cpu.append(time.process_time() - start)
    files, files_seconds = ledger.totals(strings=False)
    strings, strings_seconds = ledger.totals(strings=True)
    return {
        "cpu": statistics.median(cpu),
        "file_compiles": files / repeat, "file_compile_cpu": files_seconds / repeat,
        "string_compiles": strings / repeat, "string_compile_cpu": strings_seconds / repeat,
        "distinct_strings": sum(1 for key in ledger.count if key.startswith("string: ")),
    }


def top(ledger: CompileLedger, repeat: int, limit: int) -> list[str]:
    rows = sorted(ledger.seconds.items(), key=lambda item: -item[1])[:limit]
    return [f"  {seconds / repeat * 1000:7.1f} ms {ledger.count[key] / repeat:5.0f} x  {key[:90]!r}"
            for key, seconds in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--template", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--peer", type=Path, metavar="DIR", help="also profile another Copier template")
    parser.add_argument("--peer-data", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--peer-trust", action="store_true", help="render the peer with unsafe features allowed")
    parser.add_argument("--top", type=int, default=0, help="list the N costliest compiles of each render")
    parser.add_argument("--cache", action="store_true",
                        help="compile each source once per copy or update: what a Copier that caches would spend")
    options = parser.parse_args()

    ledger = CompileLedger(cache=options.cache)
    ledger.install()
    with tempfile.TemporaryDirectory(prefix="groundwork-profile-") as work:
        work = Path(work)
        groundwork = bench.snapshot(options.template, work)
        # Each: the template, the file its next version changes, its API options and CLI options.
        templates = {"floor": (bench.one_file_template(work), "README.md.jinja", {}, ()),
                     "hollow": (bench.hollow(groundwork, work), "template/README.md.jinja", {}, ()),
                     "groundwork": (groundwork, "template/README.md.jinja", {}, ())}
        if options.peer:
            peer = bench.snapshot(options.peer.resolve(), work, "peer")
            data = dict(pair.split("=", 1) for pair in options.peer_data)
            cli = tuple(f"--data={pair}" for pair in options.peer_data) + (("--trust",) if options.peer_trust else ())
            templates["peer"] = (peer, bench.peer_readme(peer), {"data": data, "unsafe": options.peer_trust}, cli)

        print(f"{bench.environment()['copier']}, Python {sys.version.split()[0]}, load {bench.load_average():.2f}; "
              f"CPU seconds of this process, median of {options.repeat}"
              + ("; each source compiled once per command" if options.cache else ""))
        print(f"{'render':18} {'cpu':>7} {'file compiles':>20} {'string compiles':>24}")
        for name, (template, changed_file, extra, cli) in templates.items():
            def copy(template: Path = template, extra: dict = extra, name: str = name) -> None:
                destination = work / f"{name}-copy"  # a new repository each time, as bench/run.py's
                shutil.rmtree(destination, ignore_errors=True)
                copier.run_copy(str(template), str(destination), defaults=True, quiet=True, vcs_ref="v1.0.0", **extra)

            copied = measured(copy, options.repeat, ledger)
            report(f"{name} copy", copied)
            if options.top:
                print("\n".join(top(ledger, options.repeat, options.top)))
            project = bench.prepared_project(template, work / f"{name}-project", cli)
            bench.add_version(template, changed_file)

            def update(project: Path = project, extra: dict = extra) -> None:
                bench.run("git", "reset", "-q", "--hard", "generated", cwd=project)
                bench.run("git", "clean", "-qfdx", cwd=project)
                copier.run_update(str(project), defaults=True, quiet=True, overwrite=True, vcs_ref="v2.0.0",
                                  **{key: value for key, value in extra.items() if key == "unsafe"})

            report(f"{name} update", measured(update, options.repeat, ledger))
            if options.top:
                print("\n".join(top(ledger, options.repeat, options.top)))
    return 0


def report(label: str, figures: dict[str, float]) -> None:
    print(f"{label:18} {figures['cpu']:6.2f}s "
          f"{figures['file_compiles']:5.0f} in {figures['file_compile_cpu']:5.2f} s     "
          f"{figures['string_compiles']:5.0f} in {figures['string_compile_cpu']:5.2f} s "
          f"({figures['distinct_strings']} distinct)")


if __name__ == "__main__":
    sys.exit(main())
