"""monitoring/alertmanager/routes.yaml: amtool accepts it, and every alert the rules fire
reaches whom the tier's paging policy names: tier 1 and 2 page alerts page the on-call
engineer, everything else (a tier 3 service's page alerts included) goes to the team's queue.
No receiver is left that nothing routes to, and a page silences the ticket of the same SLO
in a real Alertmanager, so one burn is heard once. amtool and Alertmanager of the oldest and of the newest
line say so alike."""

from __future__ import annotations

import shutil
import time

import pytest

from support.alertmanager import RunningAlertmanager, runnable_alertmanager, short_directory
from support.layout import ROUTES, RULE_TESTS
from support.paging import TIERS, TIERS_THAT_PAGE
from support.tools import require, run_tool


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


def receivers_routed_to(route: dict) -> set[str]:
    return {route["receiver"], *(name for child in route.get("routes", []) for name in receivers_routed_to(child))}


@pytest.mark.parametrize("tier", TIERS)
def test_the_page_receiver_uses_the_chosen_on_call_tool(render, tier, prometheus_line):
    project = render(f"routing-tier-{tier}-opsgenie", {"tier": tier, "oncall": "opsgenie", "owner": "team-edge"})
    config = project.yaml(ROUTES)
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    pages = tier in TIERS_THAT_PAGE
    assert set(receivers) == ({"team-edge-page", "team-edge-queue"} if pages else {"team-edge-queue"})
    assert set(receivers) == receivers_routed_to(config["route"]), "a receiver no route uses"
    if pages:
        assert "opsgenie_configs" in receivers["team-edge-page"]
    page = {"alertname": "AnyBudgetBurnFast", "service": project.answers["project_slug"], "severity": "page", "tier": str(tier)}
    assert routes_to(project, page, prometheus_line) == ("team-edge-page" if pages else "team-edge-queue")


@pytest.fixture
def alertmanager_binary(tmp_path, prometheus_line):
    templates = short_directory()
    try:
        yield runnable_alertmanager(require("alertmanager", line=prometheus_line), tmp_path, templates)
    finally:
        shutil.rmtree(templates, ignore_errors=True)


@pytest.mark.parametrize("tier", (1, 3))
def test_a_page_silences_the_ticket_of_the_same_slo_and_no_other(render, tmp_path, alertmanager_binary, tier):
    """The generated routes.yaml, as it is, in a real Alertmanager: a fast burn fires the
    page and the ticket of one SLO; only the page is heard, while another SLO's ticket
    still reaches the queue."""
    project = render(f"routing-inhibition-tier-{tier}", {"tier": tier, "owner": "team-edge"})
    slug = project.answers["project_slug"]
    availability, latency = (f"{slug}-availability", f"{slug}-latency")

    def alert(name: str, severity: str, slo: str) -> dict:
        return {"alertname": name, "severity": severity, "slo": slo, "service": slug, "tier": str(tier)}

    page, ticket = alert("BurnFast", "page", availability), alert("BurnSlow", "ticket", availability)
    other_ticket = alert("BurnSlow", "ticket", latency)
    with RunningAlertmanager(alertmanager_binary, project.root / ROUTES, tmp_path) as manager:
        manager.post_alerts([page, ticket, other_ticket])
        deadline = time.monotonic() + 20
        while True:
            states = {(a["labels"]["alertname"], a["labels"]["slo"]): a["status"] for a in manager.alerts()}
            settled = len(states) == 3 and states[("BurnSlow", availability)]["state"] == "suppressed"
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert states[("BurnFast", availability)]["state"] == "active", states
    assert states[("BurnSlow", availability)]["state"] == "suppressed", states
    assert states[("BurnSlow", availability)]["inhibitedBy"], states
    assert states[("BurnSlow", latency)]["state"] == "active", states


def test_another_services_page_alert_does_not_page_this_team(payments, prometheus_line):
    stranger = {"alertname": "OtherBudgetBurnFast", "service": "someone-else", "severity": "page", "tier": "1"}
    assert routes_to(payments, stranger, prometheus_line) != f"{payments.answers['owner']}-page"
