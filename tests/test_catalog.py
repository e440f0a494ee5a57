"""catalog-info.yaml lights up Backstage's community plugins for what Groundwork generates:
the ADR plugin finds every decision record, the Grafana plugin finds the SLO dashboard
and the alerts, and the on-call plugin of the chosen tool finds the service once its
owner has named what only the owner knows. Every variant stays a valid entity of
Backstage's catalog model."""

from __future__ import annotations

import json
import re

import yaml
from jsonschema import Draft202012Validator

from support.layout import ROUTES, RULE_TESTS, dashboard_file
from support.project import ROOT, example_answers

COMPONENT = Draft202012Validator(json.loads((ROOT / "tests/schemas/backstage-component.schema.json").read_text(encoding="utf-8")))
CATALOG = "catalog-info.yaml"
# The ADR plugin's default filter of the files under backstage.io/adr-location.
MADR_FILE = re.compile(r"\d{4}-.+\.md")


def valid_entity(text: str) -> dict:
    entity = yaml.safe_load(text)
    errors = list(COMPONENT.iter_errors(entity))
    assert not errors, errors[0].message
    return entity


def annotations(project) -> dict:
    return valid_entity(project.text(CATALOG))["metadata"]["annotations"]


def labels_of_firing_alerts(project) -> list[dict]:
    """The labels every alert carries when it fires, as the generated promtool tests prove."""
    return [alert["exp_labels"] for case in project.yaml(RULE_TESTS)["tests"]
            for check in case["alert_rule_test"] for alert in check["exp_alerts"]]


def test_the_adr_plugin_finds_every_decision_record(payments):
    location = payments.root / annotations(payments)["backstage.io/adr-location"]
    found = sorted(path.name for path in location.iterdir() if MADR_FILE.fullmatch(path.name))
    assert found == sorted(path.name for path in location.glob("*.md") if path.name not in {"README.md", "template.md"})
    assert len(found) == 5
    for name in found:
        front_matter, body = (location / name).read_text(encoding="utf-8").split("---\n", 2)[1:]
        assert {"status", "date"} <= set(yaml.safe_load(front_matter)), name
        assert body.lstrip().startswith("# "), f"{name}: the plugin titles a record by its first heading"


def test_the_grafana_plugin_finds_the_slo_dashboard_and_the_alerts(payments):
    selector = annotations(payments)["grafana/dashboard-selector"]
    assert re.fullmatch(r"[\w-]+", selector), "one word: the plugin searches dashboards by that tag"
    board = json.loads(payments.text(dashboard_file("payments-api")))
    assert selector in board["tags"]
    label, value = annotations(payments)["grafana/alert-label-selector"].split("=")
    fired = labels_of_firing_alerts(payments)
    assert fired and all(labels[label] == value for labels in fired)


def test_pagerduty_waits_for_the_owner_to_name_the_service(payments):
    text = payments.text(CATALOG)
    assert not [key for key in annotations(payments) if key.startswith("pagerduty.com/")], "no made-up id to query"
    assert "# TODO: the id of the PagerDuty service that pages for payments-api" in text
    filled = valid_entity(text.replace("    # pagerduty.com/service-id: PXXXXXX", "    pagerduty.com/service-id: PABC123"))
    assert filled["metadata"]["annotations"]["pagerduty.com/service-id"] == "PABC123"


def test_opsgenie_lists_the_alerts_alertmanager_sent_for_the_service(render):
    project = render("clickstream-pipeline", example_answers("clickstream-pipeline"))
    assert project.answers["oncall"] == "opsgenie", "the example this story reads"
    given = annotations(project)
    assert given["opsgenie.com/component-selector"] == "detailsPair(service:clickstream-pipeline)"
    # Alertmanager gives Opsgenie every label common to an alert group as a detail: the
    # route takes only this service's alerts, and each carries service="clickstream-pipeline".
    route = next(r for r in project.yaml(ROUTES)["route"]["routes"] if 'service="clickstream-pipeline"' in r["matchers"])
    assert route["receiver"]
    fired = labels_of_firing_alerts(project)
    assert fired and all(labels["service"] == "clickstream-pipeline" for labels in fired)
    text = project.text(CATALOG)
    assert "opsgenie.com/team" not in given and "# TODO: the name of the Opsgenie team" in text
    filled = valid_entity(text.replace("    # opsgenie.com/team: Team name", "    opsgenie.com/team: Payments On Call"))
    assert filled["metadata"]["annotations"]["opsgenie.com/team"] == "Payments On Call"


def test_without_a_paging_tool_no_on_call_annotation_is_offered(render):
    project = render("oncall-none", {"oncall": "none"})
    assert not [key for key in annotations(project) if key.split("/")[0] in {"pagerduty.com", "opsgenie.com"}]
    assert "pagerduty" not in project.text(CATALOG) and "opsgenie" not in project.text(CATALOG)
