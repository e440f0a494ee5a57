"""The generated repository checks itself: a CI workflow for the chosen CI runs the
readiness check, promtool, amtool and markdownlint, the tools from release container images
of a supported Prometheus 3 and Alertmanager 0.28 or later, named where Renovate updates
them, and the GitHub workflow passes zizmor's audit; the README names those images and the
releases Groundwork proves the rules on. Backstage gets a valid catalog entry and a TechDocs
site that builds with --strict; every Markdown file passes markdownlint with the
configuration the repository ships."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator

from support.project import ROOT, example_answers
from support.tools import require
from support.workflows import actions_used, check_jsonschema, images_used, step_commands, unpinned_actions, zizmor

GITHUB = ".github/workflows/design-checks.yml"
GITLAB = ".gitlab-ci.yml"
# What the generated CI must run, whichever CI was chosen.
EVERY_CHECK = ("tools/check_design.py", "promtool check rules", "promtool test rules", "slo-budget.test.yaml",
               "amtool check-config", "markdownlint-cli2")
COMPONENT_SCHEMA = json.loads((ROOT / "tests/schemas/backstage-component.schema.json").read_text(encoding="utf-8"))
# The image each tool runs from, and the oldest release owners are to run: Prometheus 3.13
# is the long-term support line (until July 2027); Alertmanager before 0.28 is unsupported.
IMAGES = {"promtool": "prom/prometheus", "amtool": "prom/alertmanager", "markdownlint-cli2": "davidanson/markdownlint-cli2"}
OLDEST_SUPPORTED = {"prom/prometheus": (3, 13), "prom/alertmanager": (0, 28)}
TOOL_VERSIONS = json.loads((ROOT / "includes/data/tool-versions.json").read_text(encoding="utf-8"))


def release(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.removeprefix("v").split("."))


def gitlab_images(pipeline: dict) -> dict[str, str]:
    """image -> tag of every job, whether `image:` is a string or has a `name:`."""
    images = {}
    for job in pipeline.values():
        if isinstance(job, dict) and "image" in job:
            reference = job["image"]["name"] if isinstance(job["image"], dict) else job["image"]
            image, tag = reference.rsplit(":", 1)
            images[image] = tag
    return images


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
    steps = " ".join(step_commands(project.yaml(GITHUB)))
    for command in EVERY_CHECK:
        assert command in steps, command


def test_the_github_workflow_pins_every_action_to_a_commit_and_every_image_to_a_release(render):
    """A tag can be moved to other code; a commit cannot. The comment names the release.
    Container images run at one release (`docker://image:vX.Y.Z`), the form Renovate updates."""
    workflow = render("ci-github", {"ci": "github"}).text(GITHUB)
    assert len(actions_used(workflow)) >= 4
    assert unpinned_actions(workflow) == []
    assert unpinned_actions("      - uses: docker://prom/prometheus:latest\n") == ["uses: docker://prom/prometheus:latest"]


def test_zizmor_finds_nothing_in_the_github_workflow(render):
    project = render("ci-github", {"ci": "github"})
    result = zizmor(project.root / GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_every_ci_runs_each_tool_from_the_same_supported_release(render):
    """promtool, amtool and markdownlint-cli2 run from their release's container image,
    the same release in the GitHub workflow and the GitLab pipeline: Prometheus on a
    supported 3.x line, Alertmanager 0.28 or later."""
    github = render("ci-github", {"ci": "github"})
    gitlab = render("ci-gitlab", {"ci": "gitlab"})
    in_github = images_used(github.text(GITHUB))
    in_gitlab = gitlab_images(gitlab.yaml(GITLAB))
    for image in IMAGES.values():
        assert in_github[image] == in_gitlab[image], image
        assert re.fullmatch(r"v\d+\.\d+\.\d+", in_gitlab[image]), f"{image}: a release, not a moving tag"
    for image, oldest in OLDEST_SUPPORTED.items():
        version = release(in_github[image])
        assert version >= oldest, f"{image}:{in_github[image]} is older than {'.'.join(map(str, oldest))}"
    assert release(in_github["prom/prometheus"])[0] == 3, "the rules are written for Prometheus 3"
    for tool, image in IMAGES.items():
        job = next(job for job in gitlab.yaml(GITLAB).values() if isinstance(job, dict) and image in str(job.get("image")))
        assert any(command.startswith(f"{tool} ") for command in job["script"]), f"{tool} runs in {image}"
    for step in (step for job in github.yaml(GITHUB)["jobs"].values() for step in job["steps"]):
        if step.get("uses", "").startswith("docker://"):
            image = step["uses"].removeprefix("docker://").rsplit(":", 1)[0]
            assert step["with"]["entrypoint"] == next(tool for tool, its in IMAGES.items() if its == image)


@pytest.mark.parametrize("ci,ci_file", [("github", GITHUB), ("gitlab", GITLAB), ("none", None)])
def test_the_readme_names_the_images_the_ci_runs_and_the_releases_the_rules_are_proven_on(render, ci, ci_file):
    if ci == "none":
        project = render("notification-worker", example_answers("notification-worker"))
        assert project.answers["ci"] == "none"
    else:
        project = render(f"ci-{ci}", {"ci": ci})
    readme = " ".join(project.text("README.md").split())
    proven = TOOL_VERSIONS["rules_proven_on"]
    assert (f"Groundwork's own tests prove the rules, their unit tests and the routing on Prometheus "
            f"{proven['oldest']['prometheus']} and {proven['newest']['prometheus']} and Alertmanager "
            f"{proven['oldest']['alertmanager']} and {proven['newest']['alertmanager']}.") in readme
    if ci_file is None:
        assert "The CI (" not in readme
        assert not any(f"`{image}:" in readme for image in IMAGES.values())
        return
    images = images_used(project.text(GITHUB)) if ci == "github" else gitlab_images(project.yaml(GITLAB))
    assert f"The CI (`{ci_file}`)" in readme
    for image in IMAGES.values():
        assert f"`{image}:{images[image]}`" in readme, image


def test_the_gitlab_pipeline_is_valid_and_runs_every_check(render):
    project = render("ci-gitlab", {"ci": "gitlab"})
    result = check_jsonschema("vendor.gitlab-ci", project.root / GITLAB)
    assert result.returncode == 0, result.stdout + result.stderr
    pipeline = project.yaml(GITLAB)
    scripts = " ".join(" ".join(job["script"]) for job in pipeline.values() if isinstance(job, dict) and "script" in job)
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
