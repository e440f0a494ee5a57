#!/usr/bin/env python3
"""Measure Groundwork's render and update time against a one-file template, side by side.

Run by hand (it is not a test): python bench/run.py [--repeat N] [--template PATH] [--json]

Three comparisons, each the median wall time of the real `copier` command line over N
repetitions, interleaved A/B after a warm-up so that machine noise hits both alike:

1. `copier copy --defaults`: Groundwork vs. a one-file template (the floor);
2. `copier update --defaults` between two tagged versions of each;
3. Groundwork with 50 dependencies and every option on vs. Groundwork's defaults.

With --hollow, copy and update also run a hollow Groundwork: the same questionnaire, derived
values and generated file tree, but every file under template/ (the answers file aside)
reduced to one literal line. Its ratio is what Copier charges for the questions and files
Groundwork asks and writes, before any of the content: a lower bound for Groundwork's own ratio.

With --peer DIR, copy and update also run another Copier template (a clone of the one a
team would pick instead, e.g. pawamoy/copier-uv), interleaved with the others: its answers
without a default come from --peer-data KEY=VALUE, and --peer-trust passes --trust to its
commands alone (a template with Jinja extensions or tasks needs it; Groundwork never does).
Its update changes the README of its subdirectory, as Groundwork's changes its README.

Both templates are committed in fresh git repositories, tagged and packed, so Copier clones
each the same way. Groundwork is a snapshot of the working tree (uncommitted changes included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

# Content cost: Groundwork over the hollow Groundwork (--hollow); a large service over the
# defaults; Groundwork no slower than the peer a team would pick instead (--peer). Copy and
# update over the one-file floor are reported as measured: what Copier charges per question
# and per file sets them (see bench/README.md).
BUDGETS = {"content_copy": 1.2, "content_update": 1.2, "large": 1.5, "peer_copy": 1.0, "peer_update": 1.0}
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@groundwork.invalid",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@groundwork.invalid",
}
LARGE_SERVICE = {
    "project_name": "Big Service", "tier": 1, "service_kind": "api",
    "datastores": ["postgresql", "mysql", "redis", "dynamodb", "cassandra", "object-storage", "opensearch"],
    "primary_datastore": "postgresql",
    "messaging": ["kafka", "rabbitmq", "sqs", "pubsub", "nats"],
    "api_styles": ["rest", "grpc", "graphql", "events"],
    "compliance": ["gdpr", "hipaa", "pci-dss", "soc2", "iso27001"],
    "data_classification": "restricted", "backstage": True, "backstage_system": "platform",
    "ci": "github", "topology": "multi-region-active-active",
    "repo_url": "https://github.com/acme/big-service",
    "dependencies": "".join(f"service-{n:02d}: what dependency {n} provides\n" for n in range(1, 51)),
}


def run(*command: str, cwd: Path | None = None) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_IDENTITY})


def commit_and_tag(repo: Path, tag: str) -> None:
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-q", "--allow-empty", "-m", tag, cwd=repo)
    run("git", "tag", tag, cwd=repo)


def release(template: Path, tag: str) -> None:
    """Commit and tag a template version, its objects packed as in any clone of a published one.

    A repository built by `git add` holds one loose object per file, and Copier's local
    clone links them one by one; a template fetched from a remote or cloned from one
    arrives as a pack. Both templates are packed alike.
    """
    commit_and_tag(template, tag)
    run("git", "gc", "-q", "--prune=now", cwd=template)


def one_file_template(where: Path) -> Path:
    template = where / "one-file"
    template.mkdir()
    (template / "copier.yml").write_text("name:\n  type: str\n  default: world\n")
    (template / "README.md.jinja").write_text("Hello {{ name }}\n")
    (template / "{{_copier_conf.answers_file}}.jinja").write_text("{{ _copier_answers | to_nice_yaml }}")
    run("git", "init", "-q", cwd=template)
    release(template, "v1.0.0")
    return template


def snapshot(source: Path, where: Path, name: str = "groundwork") -> Path:
    """The working tree of `source` as a fresh, tagged repository."""
    template = where / name
    listing = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=source,
                             check=True, capture_output=True, text=True).stdout
    for name in filter(None, listing.split("\0")):
        if (source / name).is_file():
            (template / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, template / name)
    run("git", "init", "-q", cwd=template)
    release(template, "v1.0.0")
    return template


def hollow(template: Path, where: Path) -> Path:
    """A copy of `template` asking the same questions and writing the same files, all of them one line.

    The answers file's template keeps its content: Copier records the answers through it,
    and an update reads them back.
    """
    shell = where / "hollow"
    shutil.copytree(template, shell, ignore=shutil.ignore_patterns(".git"))
    for path in (shell / "template").rglob("*"):
        if path.is_file() and "_copier_conf.answers_file" not in path.name:
            path.write_text("Generated by a hollow Groundwork.\n", encoding="utf-8")
    run("git", "init", "-q", cwd=shell)
    release(shell, "v1.0.0")
    return shell


def add_version(template: Path, readme: str) -> None:
    with (template / readme).open("a", encoding="utf-8") as file:
        file.write("\nOne more line from the template.\n")
    release(template, "v2.0.0")


def copier(*args: str, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    run(sys.executable, "-m", "copier", *args, cwd=cwd)
    return time.perf_counter() - start


def timed_copy(template: Path, destination: Path, data_file: Path | None = None, extra: tuple[str, ...] = ()) -> float:
    shutil.rmtree(destination, ignore_errors=True)
    data = ["--data-file", str(data_file)] if data_file else []
    return copier("copy", "--defaults", "--quiet", "--vcs-ref", "v1.0.0", *data, *extra, str(template), str(destination))


def prepared_project(template: Path, destination: Path, extra: tuple[str, ...] = ()) -> Path:
    timed_copy(template, destination, extra=extra)
    run("git", "init", "-q", cwd=destination)
    commit_and_tag(destination, "generated")
    return destination


def timed_update(project: Path, extra: tuple[str, ...] = ()) -> float:
    run("git", "reset", "-q", "--hard", "generated", cwd=project)
    run("git", "clean", "-qfdx", cwd=project)
    return copier("update", "--defaults", "--quiet", "--vcs-ref", "v2.0.0", *extra, cwd=project)


def peer_readme(template: Path) -> str:
    """The file a new version of the peer changes: the README of its subdirectory."""
    import yaml  # the peer's copier.yml; Copier itself depends on PyYAML

    config = yaml.safe_load((template / "copier.yml").read_text(encoding="utf-8")) or {}
    subdirectory = template / str(config.get("_subdirectory", ""))
    found = sorted(subdirectory.glob("README*"))
    if not found:
        raise SystemExit(f"bench: the peer template has no README in {subdirectory} to change between versions")
    return str(found[0].relative_to(template))


def interleaved(repeat: int, **candidates) -> dict[str, float]:
    """Median seconds of each zero-argument callable, run A, B, A, B, ... after a warm-up."""
    for measure in candidates.values():
        measure()
    samples = {name: [] for name in candidates}
    for _ in range(repeat):
        for name, measure in candidates.items():
            samples[name].append(measure())
    return {name: statistics.median(values) for name, values in samples.items()}


def load_average() -> float | None:
    """The machine's load over the last minute: the figures mean little on a busy machine."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def environment(load_at_start: float | None = None) -> dict:
    from importlib.metadata import version

    return {
        "copier": f"copier {version('copier')}", "python": platform.python_version(), "cpus": os.cpu_count(),
        "load_average_at_start": load_at_start, "load_average": load_average(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--template", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--hollow", action="store_true",
                        help="also measure a hollow Groundwork (same questions and files, no content): a lower bound")
    parser.add_argument("--peer", type=Path, metavar="DIR",
                        help="also measure another Copier template, e.g. a clone of pawamoy/copier-uv")
    parser.add_argument("--peer-data", action="append", default=[], metavar="KEY=VALUE",
                        help="an answer the peer has no default for (repeatable)")
    parser.add_argument("--peer-trust", action="store_true",
                        help="pass --trust to the peer's commands (Jinja extensions, tasks)")
    options = parser.parse_args()
    peer_options = tuple(f"--data={pair}" for pair in options.peer_data) + (("--trust",) if options.peer_trust else ())
    load_at_start = load_average()

    with tempfile.TemporaryDirectory(prefix="groundwork-bench-") as work:
        work = Path(work)
        floor, groundwork = one_file_template(work), snapshot(options.template, work)
        large_answers = work / "large.yml"
        large_answers.write_text(json.dumps(LARGE_SERVICE))
        # What copy and update measure side by side, each with the file its next version changes.
        measured = {"floor": (floor, "README.md.jinja"), "groundwork": (groundwork, "template/README.md.jinja")}
        if options.hollow:
            measured["hollow"] = (hollow(groundwork, work), "template/README.md.jinja")
        extras = {name: () for name in measured}
        if options.peer:
            peer = snapshot(options.peer.resolve(), work, "peer")
            measured["peer"], extras["peer"] = (peer, peer_readme(peer)), peer_options

        copy = interleaved(
            options.repeat,
            **{name: partial(timed_copy, template, work / f"{name}-copy", extra=extras[name])
               for name, (template, _) in measured.items()},
        )
        large = interleaved(
            options.repeat,
            defaults=lambda: timed_copy(groundwork, work / "groundwork-defaults"),
            large=lambda: timed_copy(groundwork, work / "groundwork-large", large_answers),
        )
        projects = {name: prepared_project(template, work / f"{name}-project", extras[name])
                    for name, (template, _) in measured.items()}
        for template, changed_file in measured.values():
            add_version(template, changed_file)
        update = interleaved(
            options.repeat, **{name: partial(timed_update, project, extras[name]) for name, project in projects.items()},
        )

    results = {
        "environment": environment(load_at_start),
        "repeat": options.repeat,
        "seconds": {"copy": copy, "update": update, "large": large},
        "ratios": {
            "copy": copy["groundwork"] / copy["floor"],
            "update": update["groundwork"] / update["floor"],
            "large": large["large"] / large["defaults"],
            **({"hollow_copy": copy["hollow"] / copy["floor"], "hollow_update": update["hollow"] / update["floor"],
                "content_copy": copy["groundwork"] / copy["hollow"],
                "content_update": update["groundwork"] / update["hollow"]}
               if options.hollow else {}),
            **({"peer_copy": copy["groundwork"] / copy["peer"], "peer_update": update["groundwork"] / update["peer"]}
               if options.peer else {}),
        },
        "budgets": BUDGETS,
    }
    if options.json:
        print(json.dumps(results, indent=2))
        return 0
    env = results["environment"]
    print(f"{env['copier']}, Python {env['python']}, {env['cpus']} CPUs, "
          f"load {env['load_average_at_start']:.2f} at start, {env['load_average']:.2f} at end; "
          f"median of {options.repeat}")
    rows = [  # measure, baseline, its time, candidate, its time, ratio, budget
        ("copy --defaults", "one-file template", copy["floor"], "Groundwork", copy["groundwork"], "copy", None),
        ("update --defaults", "one-file template", update["floor"], "Groundwork", update["groundwork"], "update", None),
        ("copy, 50 deps + all options", "Groundwork defaults", large["defaults"], "Groundwork large", large["large"],
         "large", "large"),
    ]
    if options.hollow:
        rows += [
            ("copy, hollow (lower bound)", "one-file template", copy["floor"], "hollow", copy["hollow"],
             "hollow_copy", None),
            ("update, hollow (lower bound)", "one-file template", update["floor"], "hollow", update["hollow"],
             "hollow_update", None),
            ("copy, content cost", "hollow", copy["hollow"], "Groundwork", copy["groundwork"],
             "content_copy", "content_copy"),
            ("update, content cost", "hollow", update["hollow"], "Groundwork", update["groundwork"],
             "content_update", "content_update"),
        ]
    if options.peer:
        rows += [
            ("copy, against the peer", "peer", copy["peer"], "Groundwork", copy["groundwork"], "peer_copy", "peer_copy"),
            ("update, against the peer", "peer", update["peer"], "Groundwork", update["groundwork"],
             "peer_update", "peer_update"),
        ]
    print(f"{'measure':30} {'baseline':>24} {'candidate':>24} {'ratio':>6} {'budget':>7}")
    for measure, base_name, base, name, value, ratio_key, budget_key in rows:
        ratio, budget = results["ratios"][ratio_key], BUDGETS.get(budget_key)
        verdict = "" if budget is None else "ok" if ratio <= budget else "OVER"
        limit = "" if budget is None else "<= " + str(budget)
        print(f"{measure:30} {base_name + f' {base:.2f} s':>24} {name + f' {value:.2f} s':>24} "
              f"{ratio:6.2f} {limit:>7} {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
