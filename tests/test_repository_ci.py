"""Groundwork's own CI (.github/workflows/ci.yml): a valid GitHub workflow that runs the
README's test command through .ci/run on every push and pull request, and on main, only
after the suite passed, tags the releases CHANGELOG.md gained; every action pinned to a
commit, zizmor's audit finds nothing, and only the tagging job keeps the token checkout
leaves in the clone, which it needs to push."""

from __future__ import annotations

import json
import re

import yaml

from support.project import ROOT
from support.workflows import actions_used, check_jsonschema, unpinned_actions, zizmor

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
RENOVATE = ROOT / ".github" / "renovate.json"
TOOL_VERSIONS = "includes/data/tool-versions.json"


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def runs(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def checkouts(job: dict) -> list[dict]:
    return [step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@")]


def test_the_workflow_is_valid():
    result = check_jsonschema("vendor.github-workflows", WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_push_and_pull_request_runs_the_whole_suite_with_full_history():
    flow = workflow()
    triggers = flow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"push", "pull_request"}
    assert triggers["push"]["branches"] == ["**"]
    test = flow["jobs"]["test"]
    assert runs(test)[-1] == "bash .ci/run", "the suite runs as .ci/run, nothing else after it"
    assert [step["with"]["fetch-depth"] for step in checkouts(test)] == [0], "the update tests read every release"


def test_releases_are_tagged_on_main_after_the_suite_passed():
    job = workflow()["jobs"]["release-tags"]
    assert job["needs"] == "test"
    assert job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert job["permissions"] == {"contents": "write"}, "only this job may push tags"
    assert workflow()["permissions"] == {"contents": "read"}
    assert runs(job) == ["python3 .ci/release_tags.py --push"]
    assert [step["with"]["fetch-depth"] for step in checkouts(job)] == [0]


def test_every_action_is_pinned_to_a_commit():
    assert unpinned_actions("      - uses: actions/checkout@v4\n") == ["uses: actions/checkout@v4"], "a tag is not a pin"
    text = WORKFLOW.read_text(encoding="utf-8")
    assert len(actions_used(text)) >= 2
    assert unpinned_actions(text) == []


def test_zizmor_finds_nothing():
    result = zizmor(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_only_the_job_that_pushes_tags_keeps_the_token_in_its_clone():
    kept = {name: [step["with"].get("persist-credentials", True) for step in checkouts(job)]
            for name, job in workflow()["jobs"].items()}
    assert kept == {"test": [False], "release-tags": [True]}


def javascript_regex(pattern: str) -> re.Pattern:
    """A regular expression as Renovate writes it (`(?<name>...)`), for Python's re."""
    return re.compile(pattern.replace("(?<", "(?P<"))


def test_renovate_updates_every_entry_of_the_tool_versions_table():
    """The table is the one place the external tools' versions are written; Renovate's
    custom manager must find every entry in it, as datasource, package and version."""
    config = json.loads(RENOVATE.read_text(encoding="utf-8"))
    managers = [manager for manager in config["customManagers"]
                if any(javascript_regex(pattern.strip("/")).search(TOOL_VERSIONS) for pattern in manager["managerFilePatterns"])]
    assert len(managers) == 1, f"one custom manager reads {TOOL_VERSIONS}"
    text = (ROOT / TOOL_VERSIONS).read_text(encoding="utf-8")
    found = {(match["datasource"], match["depName"], match["currentValue"])
             for pattern in managers[0]["matchStrings"] for match in javascript_regex(pattern).finditer(text)}
    table = json.loads(text)
    entries = {(entry["datasource"], entry["package"], entry["version"])
               for group in ("generated_ci", "test_tools") for entry in table[group].values()}
    assert {package for _, package, _ in entries} >= {"prom/prometheus", "prom/alertmanager", "davidanson/markdownlint-cli2", "mermaid"}
    assert found == entries
    assert {datasource for datasource, _, _ in found} <= {"docker", "npm", "pypi"}, "datasources Renovate has"
