"""slo/openslo.yaml: valid OpenSLO v1 (against the project's own schema, written from the
specification), every reference resolves, and the SLI menu follows the service kind. With
native histograms, the SLIs count events with histogram_count() and those above a threshold
with histogram_fraction(), in queries Prometheus accepts."""

from __future__ import annotations

import json

import pytest
import yaml
from jsonschema import Draft202012Validator

from support.layout import OPENSLO
from support.project import ROOT, example_answers
from support.tools import run_tool

SCHEMA = json.loads((ROOT / "tests" / "schemas" / "openslo-v1.schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA)


def documents(project):
    return project.yaml_documents(OPENSLO)


def by_kind(project, kind):
    return {doc["metadata"]["name"]: doc for doc in documents(project) if doc["kind"] == kind}


def test_the_project_schema_is_a_valid_schema():
    Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_rejects_what_the_specification_forbids():
    """The schema has teeth: a target of 1, a plain-name duration, a missing service."""
    slo = {
        "apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "x"},
        "spec": {"service": "s", "indicatorRef": "i", "budgetingMethod": "Occurrences",
                 "timeWindow": [{"duration": "30d", "isRolling": True}],
                 "objectives": [{"target": 0.999}]},
    }
    assert VALIDATOR.is_valid(slo)
    for broken in (
        {"objectives": [{"target": 1}]},
        {"timeWindow": [{"duration": "30 days", "isRolling": True}]},
        {"service": None},
        {"alertPolicies": ["plain-name"]},
        {"budgetingMethod": "Sometimes"},
    ):
        spec = {**slo["spec"], **broken}
        spec = {k: v for k, v in spec.items() if v is not None}
        assert not VALIDATOR.is_valid({**slo, "spec": spec}), broken


def test_every_document_is_valid_openslo_v1(any_project):
    docs = documents(any_project)
    assert {doc["kind"] for doc in docs} >= {
        "Service", "SLI", "SLO", "AlertPolicy", "AlertCondition", "AlertNotificationTarget"
    }
    for doc in docs:
        errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, f"{doc['kind']} {doc['metadata']['name']}: {errors[0].message}"


def test_every_reference_resolves(any_project):
    services = by_kind(any_project, "Service")
    slis = by_kind(any_project, "SLI")
    policies = by_kind(any_project, "AlertPolicy")
    conditions = by_kind(any_project, "AlertCondition")
    targets = by_kind(any_project, "AlertNotificationTarget")
    for slo in by_kind(any_project, "SLO").values():
        assert slo["spec"]["service"] in services
        assert slo["spec"]["indicatorRef"] in slis
        for policy in slo["spec"]["alertPolicies"]:
            assert policy["alertPolicyRef"] in policies
    for policy in policies.values():
        for condition in policy["spec"]["conditions"]:
            assert condition["conditionRef"] in conditions
        for target in policy["spec"]["notificationTargets"]:
            assert target["targetRef"] in targets


@pytest.mark.parametrize(
    "name,expected",
    [
        ("payments-api", {"payments-api-availability": 0.9995, "payments-api-latency": 0.99}),
        ("notification-worker", {"notification-worker-processing": 0.995, "notification-worker-message-age": 0.95}),
        ("clickstream-pipeline", {"clickstream-pipeline-freshness": 0.99}),
    ],
)
def test_objectives_are_the_answers_as_ratios_over_the_rolling_window(render, name, expected):
    answers = example_answers(name)
    project = render(name, answers)
    slos = by_kind(project, "SLO")
    assert {key: slo["spec"]["objectives"][0]["target"] for key, slo in slos.items()} == expected
    for slo in slos.values():
        assert slo["spec"]["timeWindow"] == [{"duration": f"{answers.get('slo_window_days', 30)}d", "isRolling": True}]
        assert slo["spec"]["budgetingMethod"] == "Occurrences"


def test_slis_are_prometheus_ratios_of_counters_of_this_service(any_project):
    job = f'job="{any_project.answers["project_slug"]}"'
    for sli in by_kind(any_project, "SLI").values():
        ratio = sli["spec"]["ratioMetric"]
        assert ratio["counter"] is True
        counted = [side for side in ("good", "bad") if side in ratio]
        assert len(counted) == 1, "good or bad events, and the total"
        for side in (*counted, "total"):
            source = ratio[side]["metricSource"]
            assert source["type"] == "Prometheus"
            assert job in source["spec"]["query"]
        assert ratio[counted[0]]["metricSource"]["spec"]["query"] != ratio["total"]["metricSource"]["spec"]["query"]


def test_failed_requests_are_counted_as_bad_events_so_an_outage_reads_as_errors(payments):
    """Only failure series exist in a total outage: the SLI counts them, not the successes."""
    availability = by_kind(payments, "SLI")["payments-api-availability"]["spec"]["ratioMetric"]
    assert 'http_response_status_code=~"5.."' in availability["bad"]["metricSource"]["spec"]["query"]


def test_latency_threshold_is_the_histogram_bucket_bound(payments):
    latency = by_kind(payments, "SLI")["payments-api-latency"]
    assert 'le=~"0\\\\.4"' in latency["spec"]["ratioMetric"]["good"]["metricSource"]["spec"]["query"]


def test_native_slis_count_events_with_histogram_count_and_histogram_fraction(payments_native, tmp_path, prometheus_line):
    """payments-api on native histograms: the latency SLI counts the requests above 400 ms
    as bad events, whatever the buckets; no query reads a classic `_bucket` or `_count`."""
    for doc in documents(payments_native):
        errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, f"{doc['kind']} {doc['metadata']['name']}: {errors[0].message}"
    slis = {name: sli["spec"]["ratioMetric"] for name, sli in by_kind(payments_native, "SLI").items()}
    series = 'http_server_request_duration_seconds{job="payments-api"}'
    queries = {name: {side: ratio[side]["metricSource"]["spec"]["query"] for side in ("good", "bad", "total") if side in ratio}
               for name, ratio in slis.items()}
    assert queries == {
        "payments-api-availability": {
            "bad": 'sum(histogram_count(http_server_request_duration_seconds{job="payments-api",http_response_status_code=~"5.."}))',
            "total": f"sum(histogram_count({series}))"},
        "payments-api-latency": {
            "bad": f"sum(histogram_count({series}) * histogram_fraction(0.4, +Inf, {series}))",
            "total": f"sum(histogram_count({series}))"},
    }
    rules = {"groups": [{"name": "openslo", "rules": [
        {"record": f"openslo:query_{number}:value", "expr": query}
        for number, query in enumerate(q for sides in queries.values() for q in sides.values())]}]}
    (tmp_path / "openslo.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = run_tool("promtool", "check", "rules", "openslo.yaml", cwd=tmp_path, line=prometheus_line)
    assert result.returncode == 0, result.stdout + result.stderr


def conditions_of(project, slo: str) -> list[tuple]:
    return sorted(
        (c["spec"]["severity"], c["spec"]["condition"]["threshold"], c["spec"]["condition"]["lookbackWindow"], c["spec"]["condition"]["alertAfter"])
        for c in by_kind(project, "AlertCondition").values() if c["metadata"]["name"].startswith(f"{slo}-")
    )


def test_burn_rate_conditions_follow_the_workbook(render):
    """The workbook's windows for every period; its factors scaled to the period's budget.
    A condition alerts after the shortest delay OpenSLO v1 allows (`alertAfter` 1m): the
    Prometheus rules have none."""
    payments = render("payments-api", example_answers("payments-api"))
    for slo in ("payments-api-availability", "payments-api-latency"):
        assert conditions_of(payments, slo) == sorted([("page", 14.4, "1h", "1m"), ("page", 6, "6h", "1m"),
                                                       ("ticket", 3, "1d", "1m"), ("ticket", 1, "3d", "1m")])
    pipeline = render("clickstream-pipeline", example_answers("clickstream-pipeline"))
    assert conditions_of(pipeline, "clickstream-pipeline-freshness") == sorted(
        [("page", 13.44, "1h", "1m"), ("page", 5.6, "6h", "1m"), ("ticket", 2.8, "1d", "1m"), ("ticket", 0.9333, "3d", "1m")]
    )


def test_the_short_window_is_no_delay_a_converter_would_add(payments):
    """OpenSLO reads `alertAfter` as how long a condition must hold before it alerts: the
    short window that confirms each burn is not that, so it is stated in the description
    and the file says why."""
    rules = {rule["alert"]: rule for rule in payments.alerts}
    assert "for" not in rules["PaymentsApiAvailabilityBudgetBurnFast"], "the rules fire without delay"
    fast = by_kind(payments, "AlertCondition")["payments-api-availability-burn-rate-1h"]["spec"]
    assert fast["condition"]["alertAfter"] == "1m", "not the 5m short window, which would wait 5 minutes more"
    assert "confirmed over the last 5m" in fast["description"]
    header = payments.text("slo/openslo.yaml").split("apiVersion:", 1)[0]
    assert "has no field in OpenSLO v1" in header and "it is 1m, the shortest" in header


def test_a_low_target_alerts_at_half_of_all_events_failing(render):
    """At 90 %, 14.4x and 6x would need 144 % and 60 % of events to fail: the page
    conditions cap at 50 % (5x of a 10 % budget)."""
    project = render("target-90", {"availability_slo": 90, "latency_slo": 90, "slo_window_days": 28})
    assert [c[:2] for c in conditions_of(project, "new-service-availability")] == [("page", 5), ("page", 5), ("ticket", 0.9333), ("ticket", 2.8)]


def test_page_alerts_reach_the_chosen_on_call_tool(render):
    payments = by_kind(render("payments-api", example_answers("payments-api")), "AlertNotificationTarget")
    assert payments["payments-api-page"]["spec"]["target"] == "pagerduty"
    assert payments["payments-api-page"]["spec"]["description"].endswith("through PagerDuty.")
    pipeline = by_kind(render("clickstream-pipeline", example_answers("clickstream-pipeline")), "AlertNotificationTarget")
    assert pipeline["clickstream-pipeline-page"]["spec"]["target"] == "opsgenie"
    assert pipeline["clickstream-pipeline-page"]["spec"]["description"].endswith("through Opsgenie.")


def test_a_tier_3_service_pages_nobody(render):
    worker = render("notification-worker", example_answers("notification-worker"))
    assert worker.answers["tier"] == 3
    assert by_kind(worker, "AlertNotificationTarget")["notification-worker-page"]["spec"]["target"] == "ticket-queue"
    for policy in by_kind(worker, "AlertPolicy").values():
        assert not policy["spec"]["description"].startswith("Page"), policy["metadata"]["name"]


@pytest.mark.parametrize("deployment,page_hears_no_data", [("kubernetes", True), ("serverless", False)])
def test_the_alert_policies_say_who_hears_missing_data(render, deployment, page_hears_no_data):
    """A ticket for series missing everywhere; a page only where a target can fail its scrape."""
    project = render(f"no-data-policies-{deployment}", {"deployment": deployment})
    policies = [doc for doc in project.yaml_documents(OPENSLO) if doc["kind"] == "AlertPolicy"]
    assert policies
    for policy in policies:
        severity = policy["metadata"]["name"].split("-")[-2]
        assert policy["spec"]["alertWhenNoData"] is (severity == "ticket" or page_hears_no_data), policy["metadata"]["name"]
