"""monitoring/alertmanager/routes.yaml: amtool accepts it, and every alert the rules fire
reaches whom the tier's paging policy names: tier 1 and 2 page alerts page the on-call
engineer, everything else (a tier 3 service's page alerts included) goes to the team's queue.
amtool of the oldest and of the newest Alertmanager line says so alike."""

from __future__ import annotations

import pytest

from support.layout import ROUTES, RULE_TESTS
from support.paging import TIERS, TIERS_THAT_PAGE
from support.tools import run_tool


def routes_to(project, labels: dict[str, str], line: str) -> str:
    """The receiver `line`'s Alertmanager picks for an alert with these labels."""
    result = run_tool("amtool", "config", "routes", "test", f"--config.file={project.root / ROUTES}",
                      *(f"{name}={value}" for name, value in sorted(labels.items())), line=line)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def fired_alerts(project) -> list[dict[str, str]]:
    """Label sets of every alert the promtool tests prove the rules fire with."""
    return [
        {"alertname": check["alertname"], **expected["exp_labels"]}
        for case in project.yaml(RULE_TESTS)["tests"]
        for check in case["alert_rule_test"]
        for expected in check["exp_alerts"]
    ]


def test_amtool_accepts_the_routing(any_project, prometheus_line):
    result = run_tool("amtool", "check-config", str(any_project.root / ROUTES), line=prometheus_line)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_fired_alert_reaches_whom_the_tier_pages(any_project, prometheus_line):
    owner, tier = any_project.answers["owner"], any_project.answers["tier"]
    labels = fired_alerts(any_project)
    assert {alert["severity"] for alert in labels} == {"page", "ticket"}
    for alert in labels:
        pages = alert["severity"] == "page" and tier in TIERS_THAT_PAGE
        assert routes_to(any_project, alert, prometheus_line) == f"{owner}-{'page' if pages else 'queue'}", alert


@pytest.mark.parametrize("tier", TIERS)
def test_the_page_receiver_uses_the_chosen_on_call_tool(render, tier, prometheus_line):
    project = render(f"routing-tier-{tier}-opsgenie", {"tier": tier, "oncall": "opsgenie", "owner": "team-edge"})
    config = project.yaml(ROUTES)
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    assert set(receivers) == {"team-edge-page", "team-edge-queue"}
    assert "opsgenie_configs" in receivers["team-edge-page"]
    page = {"alertname": "AnyBudgetBurnFast", "service": project.answers["project_slug"], "severity": "page", "tier": str(tier)}
    assert routes_to(project, page, prometheus_line) == ("team-edge-page" if tier in TIERS_THAT_PAGE else "team-edge-queue")


def test_another_services_page_alert_does_not_page_this_team(payments, prometheus_line):
    stranger = {"alertname": "OtherBudgetBurnFast", "service": "someone-else", "severity": "page", "tier": "1"}
    assert routes_to(payments, stranger, prometheus_line) != f"{payments.answers['owner']}-page"
