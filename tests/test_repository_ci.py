"""Groundwork's own CI (.github/workflows/ci.yml): a valid GitHub workflow that runs the
README's test command through .ci/run on every push and pull request, and on main, only
after the suite passed, tags the releases CHANGELOG.md gained; every action pinned to a
commit."""

from __future__ import annotations

import yaml

from support.project import ROOT
from support.workflows import actions_used, check_jsonschema, unpinned_actions

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


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
