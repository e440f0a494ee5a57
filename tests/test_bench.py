"""bench/run.py and bench/profile.py: the benchmark still runs against the template as it is, and its hollow
Groundwork, the lower bound bench/README.md quotes, really asks the same questions and
writes the same files as Groundwork, with nothing in them. Timings are not checked: they
belong to a machine.

The end-to-end run is not part of a test run (marker `bench`, deselected by default): it
times a dozen renders and updates, about 25 s of one worker, to check a tool maintainers
run by hand, and the profile, which counts what each render compiles. Run them when changing
bench/: `.venv/bin/python -m pytest -m bench`.
The hollow template's check stays in the suite: it takes a second and fails as soon as the
hollow copy stops writing the files and recording the answers Groundwork does."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import copier
import pytest
import yaml

from support.project import ROOT

BENCH = ROOT / "bench" / "run.py"
PROFILE = ROOT / "bench" / "profile.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("groundwork_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def files_of(root) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*")) if path.is_file()
    }


def test_the_hollow_groundwork_writes_the_same_files_with_nothing_in_them(bench, tmp_path):
    groundwork = bench.snapshot(ROOT, tmp_path)
    shell = bench.hollow(groundwork, tmp_path)
    full = files_of(copier.run_copy(str(groundwork), tmp_path / "full", defaults=True, quiet=True).dst_path)
    empty = files_of(copier.run_copy(str(shell), tmp_path / "empty", defaults=True, quiet=True).dst_path)

    assert sorted(empty) == sorted(full)
    assert len(full) > 20, "the default render writes the whole tree"
    answers = ".copier-answers.yml"
    for name, text in empty.items():
        if name != answers:
            assert len(text.splitlines()) == 1 and text != full[name], name
    recorded = [
        {key: value for key, value in yaml.safe_load(files[answers]).items() if key not in {"_src_path", "_commit"}}
        for files in (empty, full)
    ]
    assert recorded[0] == recorded[1], "same questions, same answers"


def a_peer_template(where) -> str:
    """A small Copier template standing in for the peer a team would pick instead: one
    question without a default, answered with --peer-data, and a README in its subdirectory."""
    peer = where / "peer"
    (peer / "project").mkdir(parents=True)
    (peer / "copier.yml").write_text("_subdirectory: project\nname:\n  type: str\n", encoding="utf-8")
    (peer / "project" / "README.md.jinja").write_text("# {{ name }}\n", encoding="utf-8")
    (peer / "project" / "{{_copier_conf.answers_file}}.jinja").write_text(
        "{{ _copier_answers | to_nice_yaml }}", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=peer, check=True)  # a clone, as --peer expects
    return str(peer)


@pytest.mark.bench
def test_the_benchmark_runs_end_to_end_and_reports_every_ratio_against_its_budget(tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCH), "--repeat", "1", "--hollow", "--json",
         "--peer", a_peer_template(tmp_path), "--peer-data", "name=Peer"],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["budgets"] == {
        "content_copy": 1.2, "content_update": 1.2, "large": 1.5, "peer_copy": 1.0, "peer_update": 1.0,
    }, "the budgets bench/README.md states"
    assert set(report["ratios"]) == {
        "copy", "update", "large", "hollow_copy", "hollow_update", "content_copy", "content_update",
        "peer_copy", "peer_update",
    }
    assert set(report["seconds"]["copy"]) == {"floor", "groundwork", "hollow", "peer"}
    assert all(ratio > 0 for ratio in report["ratios"].values())
    for measure, seconds in report["seconds"].items():
        assert all(value > 0 for value in seconds.values()), measure


@pytest.mark.bench
def test_the_profile_counts_the_compiles_of_every_render():
    result = subprocess.run(
        [sys.executable, str(PROFILE), "--repeat", "1", "--top", "3"],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0] + " " + line.split()[1]: line for line in result.stdout.splitlines()
            if line.split()[:1] in (["floor"], ["hollow"], ["groundwork"])}
    assert set(rows) == {f"{name} {operation}" for name in ("floor", "hollow", "groundwork")
                         for operation in ("copy", "update")}
    assert "'includes/model.jinja'" in result.stdout, "the derived model is compiled by name"
    assert "'string: .copier-answers.yml'" in result.stdout, "Copier renders the answers file's path as a string"
