"""An engineer copies the template: with no flags at all, from an example answer file,
or accepting every default. Each must give a complete repository."""

from __future__ import annotations

import copier
import pytest

from support.project import EXAMPLE_NAMES, EXAMPLES, ROOT, Project, copier_cli, example_answers

CORE_FILES = ["README.md", "docs/design.md", ".copier-answers.yml"]


def test_defaults_give_a_complete_repository(defaults_project):
    for relative in CORE_FILES:
        assert (defaults_project.root / relative).is_file(), relative
    answers = defaults_project.answers
    assert answers["project_slug"] == "new-service"
    assert answers["_commit"], "copier update needs the template commit"
    assert answers["_src_path"], "copier update needs the template source"


def test_copy_needs_no_trust_from_the_command_line(tmp_path):
    """`copier copy <template> <dest>` with nothing else but --defaults (no prompt in a test)."""
    result = copier_cli("copy", "--defaults", "--vcs-ref", "HEAD", str(ROOT), str(tmp_path / "svc"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "svc" / "docs" / "design.md").is_file()


def test_copy_needs_no_trust_through_the_api(tmp_path):
    copier.run_copy(
        str(ROOT), str(tmp_path / "svc"), defaults=True, unsafe=False, vcs_ref="HEAD", quiet=True
    )
    assert (tmp_path / "svc" / "docs" / "design.md").is_file()


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_renders_from_its_answer_file(tmp_path, name):
    destination = tmp_path / name
    result = copier_cli(
        "copy", "--defaults", "--vcs-ref", "HEAD",
        "--data-file", str(EXAMPLES / f"{name}.yml"), str(ROOT), str(destination),
    )
    assert result.returncode == 0, result.stderr
    stored = Project(destination).answers
    for key, value in example_answers(name).items():
        if isinstance(value, list):  # copier keeps a multiselect in the order of its choices
            assert sorted(stored[key]) == sorted(value), key
        else:
            assert stored[key] == value, key


def test_no_answer_is_secret_and_every_stored_answer_is_a_question(defaults_project):
    """The answers file holds answers to questions, nothing else (no secrets, no derived values)."""
    questions = {key for key in yaml_load(ROOT / "copier.yml") if not key.startswith("_")}
    stored = {key for key in defaults_project.answers if not key.startswith("_")}
    assert stored <= questions
    assert "slos" not in stored and "components" not in stored


def yaml_load(path):
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))
