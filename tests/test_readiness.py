"""tools/check_design.py in the generated repository: a new service's CI stays green while
the design is a Draft with prompts to fill, goes red as soon as its files contradict each
other (whatever the status), goes red when it is marked for review with holes in it, and
green again when they are filled."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import yaml

from support.layout import OPENSLO, RULES


def check(project_root) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "tools/check_design.py"], cwd=project_root, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def repo(payments, tmp_path):
    """A copy of the payments service the story can change."""
    return shutil.copytree(payments.root, tmp_path / "payments-api")


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def set_status(root, status: str) -> None:
    edit(root / "docs/design.md", "| Status | Draft |", f"| Status | {status} |")


def fill_every_prompt(root) -> None:
    """The owner answers every prompt of the design document."""
    design = root / "docs/design.md"
    text = design.read_text(encoding="utf-8")
    filled = re.sub(r"(?<!`)TODO: ", "Answered: ", text)
    design.write_text(filled, encoding="utf-8")


def summary(result: subprocess.CompletedProcess) -> str:
    return result.stdout.strip().splitlines()[-1]


def section(result: subprocess.CompletedProcess, title: str) -> str:
    """The lines of the report under a title, up to the next blank line."""
    match = re.search(rf"^{re.escape(title)}.*\n((?:.+\n)*)", result.stdout, flags=re.M)
    return match.group(1) if match else ""


def test_every_generated_draft_passes_and_reports_no_contradiction(any_project):
    result = check(any_project.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "status Draft" in result.stdout
    assert "0 conflicts, 0 contradictions" in summary(result)
    assert "0 gaps" in summary(result)


def test_a_draft_with_only_todos_open_passes_and_lists_them(repo):
    result = check(repo)
    assert result.returncode == 0, result.stdout
    assert "not blocking while Draft" in result.stdout.splitlines()[0]
    assert "Open in docs/design.md (they fail the check from 'In review' on):" in result.stdout
    assert re.search(r"^  2\) Requirements: \d+ open$", result.stdout, flags=re.M)
    assert re.search(r"^    line \d+: - TODO: the use cases", result.stdout, flags=re.M)
    assert "Contradictions" not in result.stdout
    assert re.fullmatch(r"Summary: 0 conflicts, 0 contradictions \(failing at every status\); \d+ open items, 0 gaps "
                        r"\(failing from 'In review' on\); status Draft: passes\.", summary(result)), summary(result)


def test_in_review_with_prompts_left_fails(repo):
    set_status(repo, "In review")
    result = check(repo)
    assert result.returncode == 1
    assert "NOT READY" in result.stdout
    assert summary(result).endswith("status In review: fails.")


def test_in_review_with_every_prompt_filled_passes_and_reports_what_operations_still_owe(repo):
    fill_every_prompt(repo)
    set_status(repo, "In review")
    result = check(repo)
    assert result.returncode == 0, result.stdout
    assert "0 contradictions" in summary(result) and "0 open items, 0 gaps" in summary(result)
    also_open = re.search(r"^.*Also open, not blocking: .*$", result.stdout, flags=re.M)
    assert also_open, "runbook prompts and alert receivers are reported, not blocking"
    assert re.search(r"\bin runbooks\b", also_open.group()), also_open.group()
    assert re.search(r"\b1 in alert routing\b", also_open.group()), also_open.group()


def test_an_owner_edits_the_slo_table_of_a_draft_to_disagree_with_openslo_and_the_check_fails(repo):
    edit(repo / "docs/design.md", "| 99.95 % | 21.6 min |", "| 99.9 % | 21.6 min |")
    result = check(repo)
    assert result.returncode == 1, result.stdout
    assert "NOT READY: 1 contradiction (they fail the check at every status)" in result.stdout.splitlines()[0]
    contradictions = section(result, "Contradictions")
    assert contradictions == ("  - SLO payments-api-availability: the design document says 99.9 %, "
                              "slo/openslo.yaml says 0.9995\n")
    assert summary(result).endswith("status Draft: fails.")


def test_a_target_changed_in_openslo_only_is_named_against_the_design_and_the_rules(repo):
    edit(repo / OPENSLO, "target: 0.9995", "target: 0.999")
    result = check(repo)
    assert result.returncode == 1
    assert "SLO payments-api-availability: the design document says 99.95 %, slo/openslo.yaml says 0.999" in result.stdout
    assert ("SLO payments-api-availability: slo/openslo.yaml says 0.999, monitoring/prometheus/slo-rules.yaml "
            "says 0.9995 (slo:objective:ratio, slo:error_budget:ratio 0.0005") in result.stdout


def test_a_rule_whose_objective_was_edited_by_hand_fails_the_draft(repo):
    edit(repo / RULES, "vector(0.9995)", "vector(0.999)")
    result = check(repo)
    assert result.returncode == 1
    assert ("SLO payments-api-availability: slo/openslo.yaml says 0.9995, monitoring/prometheus/slo-rules.yaml "
            "says 0.999 (slo:objective:ratio)") in section(result, "Contradictions")


def test_a_runbook_an_alert_links_is_deleted_in_a_draft_and_the_check_fails(repo):
    (repo / "docs/runbooks/slo-latency.md").unlink()
    result = check(repo)
    assert result.returncode == 1, result.stdout
    contradictions = section(result, "Contradictions")
    for alert in ("PaymentsApiLatencyBudgetBurnFast", "PaymentsApiLatencyBudgetBurnSlow"):
        assert (f"alert {alert}: its runbook https://github.com/acme/payments-api/blob/HEAD/docs/runbooks/"
                "slo-latency.md does not exist") in contradictions
    assert "the nav of mkdocs.yml lists runbooks/slo-latency.md, which does not exist in docs/" in contradictions


def test_an_alert_of_the_owners_own_needs_a_runbook_whatever_its_labels(repo):
    """An alert with no `slo` label (a scrape failing) in a rule file of its own."""
    (repo / "monitoring/prometheus/service-rules.yaml").write_text(
        "groups:\n  - name: payments-api-scrape\n    rules:\n      - alert: PaymentsApiScrapeFailing\n"
        "        expr: up{job=\"payments-api\"} == 0\n        labels: {severity: page, service: payments-api}\n"
        "        annotations: {runbook_url: docs/runbooks/scrape-failing.md}\n", encoding="utf-8")
    result = check(repo)
    assert result.returncode == 1
    assert "alert PaymentsApiScrapeFailing: its runbook docs/runbooks/scrape-failing.md does not exist" in result.stdout

    (repo / "docs/runbooks/scrape-failing.md").write_text("# Scrape failing\n", encoding="utf-8")
    edit(repo / "mkdocs.yml", "      - runbooks/disaster-recovery.md", "      - runbooks/disaster-recovery.md\n"
         "      - runbooks/scrape-failing.md")
    assert check(repo).returncode == 0, check(repo).stdout


def test_an_slo_whose_ticket_burn_alert_is_gone_fails_though_another_alert_of_it_is_a_ticket(repo):
    rules = yaml.safe_load((repo / RULES).read_text(encoding="utf-8"))
    for group in rules["groups"]:
        group["rules"] = [rule for rule in group["rules"] if rule.get("alert") != "PaymentsApiLatencyBudgetBurnSlow"]
        for rule in group["rules"]:
            if rule.get("alert") == "PaymentsApiLatencyDataMissing":
                rule["labels"]["severity"] = "ticket"
    (repo / RULES).write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    result = check(repo)
    assert result.returncode == 1
    assert section(result, "Contradictions") == "  - SLO payments-api-latency has no ticket burn-rate alert\n"


def test_a_decision_record_missing_from_the_log_fails_the_draft(repo):
    (repo / "docs/adr/0006-use-idempotency-keys.md").write_text("# Use idempotency keys\n", encoding="utf-8")
    result = check(repo)
    assert result.returncode == 1
    assert "docs/adr/0006-use-idempotency-keys.md is missing from the ADR log" in section(result, "Contradictions")


def test_documents_under_the_docs_sites_own_directory_are_checked_there(repo):
    """The owner keeps the docs site's pages in handbook/ (docs_dir of mkdocs.yml)."""
    (repo / "docs").rename(repo / "handbook")
    edit(repo / "mkdocs.yml", "docs_dir: docs", "docs_dir: handbook")
    rules = repo / RULES
    rules.write_text(rules.read_text(encoding="utf-8").replace("/docs/runbooks/", "/handbook/runbooks/"), encoding="utf-8")
    result = check(repo)
    assert result.returncode == 0, result.stdout
    assert "Open in handbook/design.md" in result.stdout

    (repo / "handbook/adr/0005-regional-topology.md").unlink()
    result = check(repo)
    assert result.returncode == 1
    assert "the ADR log lists 0005-regional-topology.md, which does not exist in handbook/adr/" in result.stdout


def test_a_missing_section_is_a_gap_reported_in_a_draft_that_fails_in_review(repo):
    edit(repo / "docs/design.md", "## 8) Scaling & Performance", "## Scaling")
    draft = check(repo)
    assert draft.returncode == 0, draft.stdout
    assert "  - the design document has no section '## 8) Scaling & Performance'" in section(draft, "Gaps in the brief")
    fill_every_prompt(repo)
    set_status(repo, "In review")
    in_review = check(repo)
    assert in_review.returncode == 1
    assert "0 open items, 1 gap" in summary(in_review)


def test_an_unknown_status_is_refused(repo):
    set_status(repo, "Almost done")
    result = check(repo)
    assert result.returncode == 2
    assert "unknown status 'Almost done'" in result.stderr
