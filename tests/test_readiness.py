"""tools/check_design.py in the generated repository: a new service's CI stays green while
the design is a Draft with holes, goes red when it is marked for review with holes in it,
and green again when they are filled."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest


def check(project_root) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "tools/check_design.py"], cwd=project_root, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def repo(payments, tmp_path):
    """A copy of the payments service the story can change."""
    return shutil.copytree(payments.root, tmp_path / "payments-api")


def set_status(root, status: str) -> None:
    design = root / "docs/design.md"
    design.write_text(design.read_text(encoding="utf-8").replace("| Status | Draft |", f"| Status | {status} |"), encoding="utf-8")


def fill_every_prompt(root) -> None:
    """The owner answers every prompt of the design document."""
    design = root / "docs/design.md"
    text = design.read_text(encoding="utf-8")
    filled = re.sub(r"(?<!`)TODO: ", "Answered: ", text)
    design.write_text(filled, encoding="utf-8")


def test_every_generated_draft_passes_and_reports_no_problem(any_project):
    result = check(any_project.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "status Draft" in result.stdout
    assert "0 problems" in result.stdout


def test_a_fresh_draft_reports_what_is_open_by_section(repo):
    result = check(repo)
    assert result.returncode == 0
    assert re.search(r"^  2\) Requirements: \d+ open$", result.stdout, flags=re.M)
    assert "TODO: the use cases" in result.stdout
    assert "not blocking while Draft" in result.stdout


def test_in_review_with_prompts_left_fails(repo):
    set_status(repo, "In review")
    result = check(repo)
    assert result.returncode == 1
    assert "NOT READY" in result.stdout


def test_in_review_with_every_prompt_filled_passes_and_reports_what_operations_still_owe(repo):
    fill_every_prompt(repo)
    set_status(repo, "In review")
    result = check(repo)
    assert result.returncode == 0, result.stdout
    assert "0 open items, 0 problems" in result.stdout
    also_open = re.search(r"^.*Also open, not blocking: .*$", result.stdout, flags=re.M)
    assert also_open, "runbook prompts and alert receivers are reported, not blocking"
    assert re.search(r"\bin runbooks\b", also_open.group()), also_open.group()
    assert re.search(r"\b1 in alert routing\b", also_open.group()), also_open.group()


def test_an_alert_whose_runbook_was_deleted_is_named(repo):
    (repo / "docs/runbooks/slo-latency.md").unlink()
    draft = check(repo)
    assert draft.returncode == 0
    assert "PaymentsApiLatencyBudgetBurnFast: its runbook" in draft.stdout
    fill_every_prompt(repo)
    set_status(repo, "Approved")
    assert check(repo).returncode == 1


def test_a_decision_record_missing_from_the_log_is_reported(repo):
    (repo / "docs/adr/0006-use-idempotency-keys.md").write_text("# Use idempotency keys\n", encoding="utf-8")
    result = check(repo)
    assert "docs/adr/0006-use-idempotency-keys.md is missing from the ADR log" in result.stdout


def test_an_slo_target_that_disagrees_with_the_document_is_reported(repo):
    openslo = repo / "slo/openslo.yaml"
    openslo.write_text(openslo.read_text(encoding="utf-8").replace("target: 0.9995", "target: 0.999"), encoding="utf-8")
    result = check(repo)
    assert "SLO payments-api-availability: the design document says 99.95 %, slo/openslo.yaml says 0.999" in result.stdout


def test_a_missing_section_is_a_problem(repo):
    design = repo / "docs/design.md"
    design.write_text(design.read_text(encoding="utf-8").replace("## 8) Scaling & Performance", "## Scaling"), encoding="utf-8")
    assert "has no section '## 8) Scaling & Performance'" in check(repo).stdout


def test_an_unknown_status_is_refused(repo):
    set_status(repo, "Almost done")
    result = check(repo)
    assert result.returncode == 2
    assert "unknown status 'Almost done'" in result.stderr

