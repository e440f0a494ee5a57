"""The generated repository checks itself: a CI workflow for the chosen CI runs the
readiness check, promtool, amtool and markdownlint; Backstage gets a valid catalog entry and a
TechDocs site that builds with --strict; every Markdown file passes markdownlint with the
configuration the repository ships."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator

from support.project import ROOT, example_answers
from support.tools import require
from support.workflows import actions_used, check_jsonschema, unpinned_actions

GITHUB = ".github/workflows/design-checks.yml"
GITLAB = ".gitlab-ci.yml"
# What the generated CI must run, whichever CI was chosen.
EVERY_CHECK = ("tools/check_design.py", "promtool check rules", "promtool test rules", "slo-budget.test.yaml", "amtool check-config", "markdownlint-cli2")
COMPONENT_SCHEMA = json.loads((ROOT / "tests/schemas/backstage-component.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "ci,present,absent",
    [("github", GITHUB, GITLAB), ("gitlab", GITLAB, GITHUB)],
)
def test_the_workflow_follows_the_chosen_ci(render, ci, present, absent):
    project = render(f"ci-{ci}", {"ci": ci})
    assert (project.root / present).is_file()
    assert not (project.root / absent).exists()


def test_no_ci_means_no_workflow(render):
    project = render("notification-worker", example_answers("notification-worker"))
    assert not (project.root / ".github").exists()
    assert not (project.root / GITLAB).exists()


def test_the_github_workflow_is_a_valid_workflow_running_every_check(render):
    project = render("ci-github", {"ci": "github"})
    result = check_jsonschema("vendor.github-workflows", project.root / GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr
    workflow = project.yaml(GITHUB)
    steps = " ".join(
        step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]
    )
    for command in EVERY_CHECK:
        assert command in steps, command


def test_the_github_workflow_pins_every_action_to_a_commit(render):
    """A tag can be moved to other code; a commit cannot. The comment names the release."""
    workflow = render("ci-github", {"ci": "github"}).text(GITHUB)
    assert len(actions_used(workflow)) >= 4
    assert unpinned_actions(workflow) == []


def test_the_gitlab_pipeline_is_valid_and_runs_every_check(render):
    project = render("ci-gitlab", {"ci": "gitlab"})
    result = check_jsonschema("vendor.gitlab-ci", project.root / GITLAB)
    assert result.returncode == 0, result.stdout + result.stderr
    pipeline = project.yaml(GITLAB)
    scripts = " ".join(" ".join(job["script"]) for name, job in pipeline.items() if isinstance(job, dict) and "script" in job)
    for command in EVERY_CHECK:
        assert command in scripts, command


def test_the_catalog_entry_is_a_backstage_component_with_techdocs(payments):
    answers = example_answers("payments-api")
    entity = payments.yaml("catalog-info.yaml")
    errors = list(Draft202012Validator(COMPONENT_SCHEMA).iter_errors(entity))
    assert not errors, errors[0].message
    assert entity["metadata"]["name"] == answers["project_slug"]
    assert entity["metadata"]["title"] == answers["project_name"]
    assert entity["metadata"]["annotations"]["backstage.io/techdocs-ref"] == "dir:."
    assert entity["spec"]["owner"] == answers["owner"]
    assert entity["spec"]["system"] == answers["backstage_system"]
    assert entity["spec"]["lifecycle"] and entity["spec"]["type"] == "service"


def test_without_backstage_there_is_no_catalog_or_site(render):
    project = render("notification-worker", example_answers("notification-worker"))
    for relative in ("catalog-info.yaml", "mkdocs.yml", "docs/index.md"):
        assert not (project.root / relative).exists(), relative


def test_the_techdocs_site_builds_strictly(payments, tmp_path):
    config = payments.yaml("mkdocs.yml")
    assert "techdocs-core" in config["plugins"]
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=payments.root, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "design" / "index.html").is_file()
    for relative in ("runbooks/slo-availability", "adr/0002-deployment-platform"):
        assert (tmp_path / "site" / relative / "index.html").is_file(), relative


def test_the_site_navigation_lists_every_decision_and_runbook(payments):
    nav = json.dumps(payments.yaml("mkdocs.yml")["nav"])
    docs = payments.root / "docs"
    for path in sorted(docs.glob("adr/0*.md")) + sorted(docs.glob("runbooks/*.md")):
        assert str(path.relative_to(docs)) in nav, path.name


def test_every_markdown_file_passes_markdownlint(any_project):
    markdownlint = require("markdownlint-cli2")
    result = subprocess.run(
        [markdownlint, "**/*.md"], cwd=any_project.root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
