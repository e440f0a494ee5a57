"""monitoring/prometheus: the rules pass promtool, their generated unit tests pass, and
those tests have teeth: break a threshold and they fail. Every alert leads to a runbook."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from support.layout import OPENSLO, PROMETHEUS, RULE_TESTS, RUNBOOKS
from support.paging import TIERS, TIERS_THAT_PAGE
from support.project import example_answers
from support.tools import run_tool


def test_promtool_accepts_the_rules(any_project):
    result = run_tool("promtool", "check", "rules", "slo-rules.yaml", cwd=any_project.root / PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_unit_tests_pass(any_project):
    result = run_tool("promtool", "test", "rules", "slo-rules.test.yaml", cwd=any_project.root / PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_unit_tests_fail_when_a_page_threshold_is_broken(payments, tmp_path):
    """If a page alert could never fire, the fast-burn test must catch it."""
    copy = tmp_path / "prometheus"
    shutil.copytree(payments.root / PROMETHEUS, copy)
    rules = copy / "slo-rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("(14.4 *", "(1440 *").replace("(6 *", "(600 *"), encoding="utf-8")
    result = run_tool("promtool", "test", "rules", "slo-rules.test.yaml", cwd=copy)
    assert result.returncode != 0
    assert "BudgetBurnFast" in result.stdout + result.stderr


def test_the_rule_unit_tests_fail_when_a_page_is_too_eager(payments, tmp_path):
    """If a slow burn paged, the slow-burn test must catch it."""
    copy = tmp_path / "prometheus"
    shutil.copytree(payments.root / PROMETHEUS, copy)
    rules = copy / "slo-rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("(6 *", "(0.6 *"), encoding="utf-8")
    assert run_tool("promtool", "test", "rules", "slo-rules.test.yaml", cwd=copy).returncode != 0


def test_every_slo_has_a_page_and_a_ticket_alert_with_annotations(any_project):
    found = any_project.alerts
    slos = [doc["metadata"]["name"] for doc in any_project.yaml_documents(OPENSLO) if doc["kind"] == "SLO"]
    assert len(found) == 2 * len(slos)
    for slo in slos:
        severities = sorted(a["labels"]["severity"] for a in found if f'slo="{slo}"' in a["expr"])
        assert severities == ["page", "ticket"], slo
    for alert in found:
        assert set(alert["annotations"]) >= {"summary", "description", "runbook_url"}


def test_every_alert_carries_the_tier_so_the_router_can_decide_who_is_woken(any_project):
    tier = any_project.answers["tier"]
    assert {alert["labels"]["tier"] for alert in any_project.alerts} == {str(tier)}


@pytest.mark.parametrize("tier", TIERS)
def test_the_design_doc_says_what_a_fast_burn_does_at_each_tier(render, tier):
    project = render(f"tier-{tier}", {"tier": tier})
    availability = next(line for line in project.design.splitlines() if line.startswith("- **Availability:**"))
    assert f"Tier {tier}" in availability
    wakes_someone = tier in TIERS_THAT_PAGE
    assert ("pages the on-call engineer" in availability) is wakes_someone
    assert ("waits for working hours" in availability) is not wakes_someone


def test_every_alert_is_unit_tested_firing_and_silent(any_project):
    cases = any_project.yaml(RULE_TESTS)["tests"]
    fired, silent = set(), set()
    for case in cases:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else silent).add(check["alertname"])
    names = {alert["alert"] for alert in any_project.alerts}
    assert fired == names
    assert silent == names


def _runbook_file(project, url: str) -> Path:
    repo_url = project.answers.get("repo_url") or ""
    if repo_url:
        match = re.fullmatch(re.escape(repo_url) + r"(?:/-)?/blob/HEAD/(.+)", url)
        assert match, f"{url} is not a link into {repo_url}"
        url = match.group(1)
    return project.root / url


def test_every_runbook_url_resolves_to_a_generated_runbook(any_project):
    for alert in any_project.alerts:
        path = _runbook_file(any_project, alert["annotations"]["runbook_url"])
        assert path.is_file(), alert["annotations"]["runbook_url"]
        assert path.parent == any_project.root / RUNBOOKS
        assert f"`{alert['alert']}`" in path.read_text(encoding="utf-8"), "the runbook names its alert"


def test_runbook_urls_are_relative_without_a_repository_address(defaults_project):
    for alert in defaults_project.alerts:
        assert alert["annotations"]["runbook_url"].startswith(f"{RUNBOOKS}/")


@pytest.mark.parametrize("name,days,fast", [("payments-api", 30, ["1h", "5m", "6h", "30m"]), ("clickstream-pipeline", 28, ["56m", "5m", "5h36m", "28m"])])
def test_page_windows_follow_the_slo_window(render, name, days, fast):
    project = render(name, example_answers(name))
    page = next(a for a in project.alerts if a["labels"]["severity"] == "page")
    windows = re.findall(r"ratio_rate(\w+)\{", page["expr"])
    assert windows == fast
    factors = re.findall(r"> \(([\d.]+) \*", page["expr"])
    assert factors == ["14.4", "14.4", "6", "6"]
