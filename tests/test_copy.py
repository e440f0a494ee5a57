"""An engineer copies the template: with no flags at all, from an example answer file,
or accepting every default. Each must give a complete repository."""

from __future__ import annotations

import re

import copier
import pytest

from support.layout import ROUTES
from support.project import EXAMPLE_NAMES, EXAMPLES, ROOT, Project, copier_cli, example_answers
from support.questions import QUESTIONS

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


# What a credential looks like when it is written down. Generated files may name where a
# secret lives (a file path, a secret manager's name); they never hold one.
CREDENTIAL_SHAPES = {
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "AWS access key": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "GitHub token": r"\bgh[pousr]_[A-Za-z0-9]{36,}",
    "Slack token": r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    "password in a URL": r"://[^/\s:@]+:[^/\s@]+@",
    "secret value": (r"(?i)\b(?:password|passwd|secret|token|api_key|routing_key|service_key|credentials)\b"
                     r"['\"]?\s*[:=]\s*['\"]?[A-Za-z0-9+/_.-]{12,}"),
}
# Alertmanager receiver fields that hold a secret, each of which has a `_file` twin that
# reads it from a mounted file instead.
ALERTMANAGER_SECRET_FIELDS = {"routing_key", "service_key", "api_key", "api_url", "password", "bearer_token", "credentials"}


def credentials_in(text: str) -> list[str]:
    return [shape for shape, pattern in CREDENTIAL_SHAPES.items() if re.search(pattern, text)]


def test_the_credential_detector_recognises_what_it_looks_for():
    """Guards the scan below: each shape is found in a made-up example, and a path is not."""
    examples = {
        "private key": "-----BEGIN RSA " + "PRIVATE KEY-----",
        "AWS access key": "aws_access_key_id = " + "AKIA" + "Q" * 16,
        "GitHub token": "ghp_" + "a1" * 18,
        "Slack token": "xoxb-" + "1234567890-abc",
        "password in a URL": "https://deploy:" + "hunter2hunter2" + "@git.example.com/x.git",
        "secret value": "routing_key: " + "0f" * 16,
    }
    for shape, text in examples.items():
        assert shape in credentials_in(text), shape
    assert credentials_in("routing_key_file: /etc/alertmanager/secrets/team-pagerduty-routing-key") == []


def test_no_question_asks_for_a_secret():
    """Copier keeps `secret: true` answers out of the answers file, and the template uses
    that only for a yes or no not worth recording (write the repository now?): it asks for
    no credential, which belongs in a secret store, not in a design repository."""
    for key, spec in QUESTIONS.items():
        assert not spec.get("secret") or spec["type"] == "bool", key
        assert not re.search(r"password|token|secret|credential|api_key|private_key", key), key


def test_no_secret_is_written_to_the_answers_file_or_any_generated_file(any_project):
    stored = {key: value for key, value in any_project.answers.items() if not key.startswith("_")}
    assert set(stored) <= set(QUESTIONS), "the answers file holds answers to questions only"
    assert "slos" not in stored and "components" not in stored, "no derived values"
    for path in any_project.files():
        text = path.read_text(encoding="utf-8")
        assert credentials_in(text) == [], f"{path.relative_to(any_project.root)} holds a credential"


def test_paging_credentials_are_read_from_files_never_written_in_the_route(any_project):
    """The Alertmanager route needs the paging tool's key: it names a file to read it from."""
    for receiver in any_project.yaml(ROUTES)["receivers"]:
        for integration, configs in receiver.items():
            if not integration.endswith("_configs"):
                continue
            for config in configs:
                assert ALERTMANAGER_SECRET_FIELDS.isdisjoint(config), f"{receiver['name']}: inline secret"
                for field in ALERTMANAGER_SECRET_FIELDS & {key.removesuffix("_file") for key in config}:
                    assert config[f"{field}_file"].startswith("/"), f"{receiver['name']}: {field}_file is a path"
