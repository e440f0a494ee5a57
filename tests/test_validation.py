"""Bad answers, given the way users give them (--data on the command line, data= through
the API), are rejected with a message that names the answer and what it accepts, and
leave nothing behind."""

from __future__ import annotations

import copier
import pytest

from support.project import ROOT, copier_cli
from support.updates import check_design

# (answers, words the message must contain)
BAD_ANSWERS = [
    ({"project_name": "   "}, "project_name': empty: give the system a name"),
    ({"project_name": "Payments\nAPI"}, "project_name': must fit on one line"),
    ({"project_name": "P" * 81}, "project_name': longer than 80 characters"),
    ({"project_slug": "payments api"}, "project_slug': only a-z, 0-9 and hyphens"),
    ({"project_slug": "../payments"}, "project_slug': only a-z, 0-9 and hyphens"),
    ({"project_slug": "payments.."}, "project_slug': only a-z, 0-9 and hyphens"),
    ({"project_slug": "-payments"}, "project_slug': starts or ends with a hyphen"),
    ({"project_slug": "p" * 64}, "project_slug': longer than 63 characters"),
    ({"project_slug": "Payments"}, "project_slug': only a-z, 0-9 and hyphens"),
    ({"owner": "Team Payments"}, "owner': only a-z, 0-9 and hyphens"),
    ({"owner": ""}, "owner': empty; type e.g. team-payments"),
    ({"project_slug": ""}, "project_slug': empty; type e.g. payments-api"),
    ({"backstage_system": "payments-"}, "backstage_system': starts or ends with a hyphen"),
    ({"project_description": "x" * 301}, "project_description': longer than 300 characters"),
    ({"project_description": "line one\nline two"}, "project_description': must fit on one line"),
    ({"availability_slo": 100}, "availability_slo': must be from 90 to below 100"),
    ({"availability_slo": 100.5}, "availability_slo': must be from 90 to below 100"),
    ({"availability_slo": 89.99}, "availability_slo': must be from 90 to below 100"),
    ({"latency_slo": 100}, "latency_slo': must be from 90 to below 100"),
    ({"latency_threshold_ms": 0}, "latency_threshold_ms': must be 1 to 600000 ms"),
    ({"latency_threshold_ms": -20}, "latency_threshold_ms': must be 1 to 600000 ms"),
    ({"service_kind": "worker", "age_slo": 100}, "age_slo': must be from 90 to below 100"),
    ({"service_kind": "worker", "age_threshold_seconds": 0}, "age_threshold_seconds': must be 1 to 604800 s"),
    ({"service_kind": "pipeline", "freshness_minutes": 0}, "freshness_minutes': must be 1 to 10080 minutes"),
    ({"service_kind": "pipeline", "freshness_minutes": -60}, "freshness_minutes': must be 1 to 10080 minutes"),
    ({"peak_rps": 0}, "peak_rps': must be at least 1"),
    ({"rto_minutes": -5}, "rto_minutes': must be 0 or more minutes"),
    ({"rpo_minutes": -1}, "rpo_minutes': must be 0 or more minutes"),
    ({"repo_url": "ftp://example.com/repo"}, "repo_url': not a plain http(s) address"),
    ({"repo_url": "https://github.com/acme/payments/"}, "repo_url': not a plain http(s) address"),
    ({"repo_url": "https://github.com/acme/pay ments"}, "repo_url': not a plain http(s) address"),
    ({"dependencies": "ledger\nLedger"}, "dependencies': a dependency is listed twice"),
    ({"dependencies": "ledger\n!!!: nothing"}, "dependencies': a name has no a-z or 0-9"),
    ({"created_on": "last tuesday"}, "created_on': not a date like 2026-01-31"),
    ({"tier": 4}, "Invalid choice for 'tier'"),
    ({"service_kind": "daemon"}, "Invalid choice for 'service_kind'"),
    ({"datastores": ["postgresql", "oracle"]}, "Invalid choice for 'datastores'"),
    ({"slo_window_days": 7}, "Invalid choice for 'slo_window_days'"),
]


def _id(case):
    answers, _ = case
    return ",".join(f"{key}={value!r}"[:40] for key, value in answers.items())


@pytest.mark.parametrize("answers,message", BAD_ANSWERS, ids=[_id(c) for c in BAD_ANSWERS])
def test_the_api_rejects_a_bad_answer_and_leaves_nothing(tmp_path, answers, message):
    destination = tmp_path / "svc"
    with pytest.raises(Exception) as raised:
        copier.run_copy(
            str(ROOT), str(destination), data=answers, defaults=True, vcs_ref="HEAD", quiet=True
        )
    assert message in str(raised.value)
    first_line = str(raised.value).splitlines()[0]
    if first_line.startswith("Validation error"):  # a validator's; a choice is picked, never typed
        assert len(first_line) < 80, f"the prompt shows only this line, in one row of 80 columns: {first_line}"
    assert not destination.exists()


CLI_CASES = [
    ("project_slug=Payments API", "project_slug': only a-z, 0-9 and hyphens"),
    ("availability_slo=100", "availability_slo': must be from 90 to below 100"),
    ("latency_threshold_ms=0", "latency_threshold_ms': must be 1 to 600000 ms"),
    ("rto_minutes=-5", "rto_minutes': must be 0 or more minutes"),
    ("tier=9", "Invalid choice for 'tier'"),
]


@pytest.mark.parametrize("data,message", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_the_command_line_rejects_a_bad_answer_and_leaves_nothing(tmp_path, data, message):
    destination = tmp_path / "svc"
    result = copier_cli("copy", "--defaults", "--vcs-ref", "HEAD", "--data", data, str(ROOT), str(destination))
    assert result.returncode != 0
    assert message in result.stderr
    assert not destination.exists()


def test_defaults_without_an_owner_write_the_placeholder_and_say_so(tmp_path):
    """--defaults must give a complete repository, so it writes the placeholder owner that the
    prompt refuses; the design document marks it unfinished and the message says how to fix it."""
    destination = tmp_path / "svc"
    result = copier_cli("copy", "--defaults", "--vcs-ref", "HEAD", str(ROOT), str(destination))
    assert result.returncode == 0, result.stderr
    assert '"owning-team" is a placeholder' in result.stderr
    assert "copier update --defaults --data owner=<team-slug>" in result.stderr
    design = (destination / "docs" / "design.md").read_text(encoding="utf-8")
    assert "| Owner | owning-team (TODO: the owning team; this is a placeholder) |" in design
    check = check_design(destination)
    assert "placeholder" in check.stdout, "the readiness check lists it with the header's open items"
