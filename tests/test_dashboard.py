"""monitoring/grafana/<slug>-slos.json: a team imports the dashboard as it is and sees its
SLOs, error budgets and burn rates. It is a dashboard of the shape Grafana imports, its
data source is a variable, every query is PromQL that Prometheus accepts, every series it
reads is recorded by the generated rules, and for a known month of traffic its panels
read the right numbers, on the oldest and the newest Prometheus line. The documents link
to it."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml
from jsonschema import Draft202012Validator

from support.layout import BUDGET_TESTS, PROMETHEUS, RULES, RUNBOOKS, dashboard_file
from support.project import ROOT, alert_thresholds
from support.tools import run_tool

SCHEMA = Draft202012Validator(json.loads((ROOT / "tests/schemas/grafana-dashboard.schema.json").read_text(encoding="utf-8")))
# What Grafana puts in place of its variables before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "5m"}
DATA_SOURCE = {"type": "prometheus", "uid": "${datasource}"}
# The last schema version of Grafana's classic dashboard model (Grafana 12).
CURRENT_SCHEMA_VERSION = 42
SLO_SERIES = re.compile(r'\b(slo:[a-z_]+:[a-z0-9_]+)\{slo="([^"]+)"\}')


def dashboard(project) -> dict:
    return json.loads(project.text(dashboard_file(project.answers["project_slug"])))


def panels(board: dict) -> list[dict]:
    return [panel for top in board["panels"] for panel in [top, *top.get("panels", [])]]


def queries(board: dict) -> list[str]:
    exprs = [target["expr"] for panel in panels(board) for target in panel.get("targets", [])]
    return exprs + [annotation["expr"] for annotation in board["annotations"]["list"] if "expr" in annotation]


def as_prometheus_gets_it(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def slo_rows(board: dict) -> dict[str, list[dict]]:
    """The panels under each SLO's row, by the row's title."""
    rows, current = {}, None
    for panel in board["panels"]:
        if panel["type"] == "row":
            current = rows.setdefault(panel["title"], []) if panel["title"] != "Service" else None
        elif current is not None:
            current.append(panel)
    return rows


def data_sources(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield value
            else:
                yield from data_sources(value)
    elif isinstance(node, list):
        for item in node:
            yield from data_sources(item)


def test_the_dashboard_is_one_grafana_imports_as_it_is(any_project):
    board = dashboard(any_project)
    errors = sorted(SCHEMA.iter_errors(board), key=lambda error: error.json_path)
    assert not errors, f"{errors[0].json_path}: {errors[0].message}"
    assert board["schemaVersion"] == CURRENT_SCHEMA_VERSION
    variables = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert [(v["name"], v["query"]) for v in variables] == [("datasource", "prometheus")]
    used = list(data_sources(board))
    assert used and all(source == DATA_SOURCE for source in used), "every query reads the chosen Prometheus"
    assert "${DS_" not in json.dumps(board), "no import-time placeholder a plain import would leave unresolved"
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in panels(board):
        refs = [target["refId"] for target in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]


def test_no_two_panels_overlap_on_the_grid(any_project):
    cells = {}
    for panel in panels(dashboard(any_project)):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} covers {cells.get((x, y))}"
                cells[(x, y)] = panel["title"]


def test_the_uid_is_stable_fits_grafana_and_tells_services_apart(render, defaults_project):
    other_answers = render("ci-github", {"ci": "github"})
    assert dashboard(defaults_project)["uid"] == dashboard(other_answers)["uid"] == "new-service-slos", \
        "the same service keeps its dashboard's address whatever else changes"
    longest = ["a" * 31 + "-" + letter * 31 for letter in "bc"]
    uids = [dashboard(render(f"slug-{slug[-1]}", {"project_name": "Long", "project_slug": slug}))["uid"] for slug in longest]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid) for uid in uids), uids
    assert uids[0] != uids[1], "63-character slugs that share a start still get their own dashboard"


def promtool_checks_the_queries(project, tmp_path, line: str):
    rules = {"groups": [{"name": "dashboard-queries", "rules": [
        {"record": f"dashboard:query_{number}:value", "expr": as_prometheus_gets_it(expr)}
        for number, expr in enumerate(queries(dashboard(project)))
    ]}]}
    (tmp_path / "queries.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    return run_tool("promtool", "check", "rules", "queries.yaml", cwd=tmp_path, line=line)


def test_every_panel_query_is_valid_promql(any_project, tmp_path, prometheus_line):
    result = promtool_checks_the_queries(any_project, tmp_path, prometheus_line)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_series_a_panel_reads_is_recorded_by_the_rules(any_project):
    groups = any_project.yaml(RULES)["groups"]
    recorded = {(rule["record"], rule["labels"]["slo"]) for group in groups for rule in group["rules"] if "record" in rule}
    alerts = {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}
    read = set()
    for expr in queries(dashboard(any_project)):
        read |= set(SLO_SERIES.findall(expr))
        assert "slo:" not in SLO_SERIES.sub("", expr), f"a series read without its SLO: {expr}"
        assert set(re.findall(r'ALERTS\{alertname="(\w+)"', expr)) <= alerts, expr
    assert read, "the dashboard reads the recorded series"
    assert read <= recorded, sorted(read - recorded)
    assert {slo for _, slo in read} == {slo for _, slo in recorded}, "every SLO is on the dashboard"


def _alert_thresholds(project, severity: str) -> dict[str, set[float]]:
    """Per SLO, the burn rates an alert of `severity` fires above: the error ratio of its
    conditions over the SLO's error budget, as slo-rules.yaml states both."""
    thresholds = {}
    for group in project.yaml(RULES)["groups"]:
        if group["name"] not in project.slo_names:
            continue  # the service's own alerts, about no SLO
        budget = next(float(re.search(r"vector\(([\d.]+)\)", rule["expr"]).group(1))
                      for rule in group["rules"] if rule.get("record") == "slo:error_budget:ratio")
        for rule in group["rules"]:
            if rule.get("labels", {}).get("severity") == severity and "ratio_rate" in rule["expr"]:
                thresholds[group["name"]] = {ratio / budget for ratio in alert_thresholds(rule["expr"])}
    assert thresholds, f"no {severity} burn alert states its thresholds"
    return thresholds


@pytest.mark.parametrize("key,answers", [
    ("defaults", {}),
    # 93.05 %: the fast page window is capped at half of all events failing, the slow one is not.
    ("target-93.05", {"availability_slo": 93.05, "latency_slo": 93.05, "slo_window_days": 28}),
], ids=["workbook-factors", "capped-factors"])
def test_the_burn_rate_panels_draw_the_lines_the_alerts_fire_at(render, key, answers):
    project = render(key, answers)
    rows = slo_rows(dashboard(project))
    for severity, title in (("page", "Burn rate, page windows"), ("ticket", "Burn rate, ticket windows")):
        for slo, fires_above in _alert_thresholds(project, severity).items():
            row = next(row for name, row in rows.items() for panel in row
                       if panel["title"] == title and f'slo="{slo}"' in panel["targets"][0]["expr"])
            panel = next(panel for panel in row if panel["title"] == title)
            lines = [step["value"] for step in panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]
            assert sorted(lines) == pytest.approx(sorted(fires_above)), f"{slo} {severity}"
            windows = {re.search(r"ratio_rate(\w+)\{", t["expr"]).group(1) for t in panel["targets"]}
            alert = next(rule for group in project.yaml(RULES)["groups"] if group["name"] == slo
                         for rule in group["rules"] if rule.get("labels", {}).get("severity") == severity and "ratio_rate" in rule["expr"])
            assert windows == set(re.findall(r"ratio_rate(\w+)\{", alert["expr"])), "every window the alert reads is drawn"


def test_each_slo_row_shows_objective_sli_budget_left_burn_rates_and_alert_state(payments):
    rows = slo_rows(dashboard(payments))
    assert list(rows) == ["Availability: 99.95 % over 30 days", "Latency: 99 % over 30 days"]
    for row in rows.values():
        titles = [panel["title"] for panel in row]
        assert titles == ["Objective", "SLI, last 30 days", "Error budget left", "Error budget left, time", "Alerts",
                          "SLI", "Error budget left over time", "Burn rate, page windows", "Burn rate, ticket windows"]
        alerts = next(panel for panel in row if panel["title"] == "Alerts")
        assert len(alerts["targets"]) == 3, "the page, ticket and DataMissing alerts"
        assert alerts["links"][0]["url"].startswith("https://github.com/acme/payments-api/blob/HEAD/docs/runbooks/slo-")


def test_for_a_known_month_the_panels_read_the_right_numbers(payments, tmp_path, prometheus_line):
    """30 days of steady traffic, 1000 requests a minute with 0.025 % failing: half of the
    availability budget (99.95 %, 21.6 minutes of errors per 30 days) is spent. Every panel
    of the availability row, and the service's traffic, evaluated by promtool on the input
    of the generated budget test for that month."""
    board = dashboard(payments)
    availability = next(row for title, row in slo_rows(board).items() if title.startswith("Availability"))
    expected = {
        "Objective": [0.9995],
        "SLI, last 30 days": [0.99975],
        "Error budget left": [0.5],
        "Error budget left, time": [648],  # half of 21.6 minutes, in seconds
        "Alerts": [0, 0, 0],
        "SLI": [0.99975, 0.99975, 0.99975],
        "Error budget left over time": [0.5],
        "Burn rate, page windows": [0.5] * 4,
        "Burn rate, ticket windows": [0.5] * 4,
    }
    checks = row_and_traffic_checks(board, availability, "payments-api", "availability", expected)
    month = next(case for case in payments.yaml(BUDGET_TESTS)["tests"]
                 if case["name"].startswith("payments-api-availability: 30 days of steady traffic"))
    assert month["input_series"][1]["values"] == "0+0.5x21599", "0.5 of 2000 requests every 2 minutes fail"
    result = evaluate_on_the_30th_day(payments, month, checks, tmp_path, prometheus_line)
    assert result.returncode == 0, result.stdout + result.stderr


def row_and_traffic_checks(board: dict, row: list[dict], service: str, slo: str,
                           expected: dict[str, list[float]]) -> list[tuple[str, str, float]]:
    """(query, labels, value) for every target of an SLO's row, in the order `expected`
    gives each panel's values, and the service's traffic at 1000 requests a minute. A
    query aggregated with max() has no labels; the others carry the SLO's."""
    labels = "{" + ",".join(f'{k}="{v}"' for k, v in {
        "service": service, "slo": f"{service}-{slo}", "sloth_id": f"{service}-{slo}",
        "sloth_service": service, "sloth_slo": slo}.items()) + "}"
    checks = []
    for panel in row:
        assert len(panel["targets"]) == len(expected[panel["title"]]), panel["title"]
        for target, value in zip(panel["targets"], expected[panel["title"]], strict=True):
            checks.append((target["expr"], "{}" if target["expr"].startswith("max(") else labels, value))
    traffic = next(panel for panel in board["panels"] if panel["title"] == "Traffic")
    return checks + [(traffic["targets"][0]["expr"], "{}", 16.666667)]  # 1000 a minute


def evaluate_on_the_30th_day(project, month: dict, checks: list[tuple[str, str, float]], tmp_path, line: str):
    """promtool's verdict on each (query, labels, value) of `checks`, rounded to 6 decimals,
    on the 30th day of the budget test `month`."""
    suite = {
        "rule_files": ["slo-rules.yaml"],
        "evaluation_interval": project.yaml(BUDGET_TESTS)["evaluation_interval"],
        "tests": [{
            "name": "the dashboard on the 30th day", "interval": month["interval"], "input_series": month["input_series"],
            "promql_expr_test": [
                {"expr": f"round({as_prometheus_gets_it(expr)}, 0.000001)", "eval_time": "30d",
                 "exp_samples": [{"labels": labels_, "value": value}]}
                for expr, labels_, value in checks
            ],
        }],
    }
    folder = tmp_path / "prometheus"
    shutil.copytree(project.root / PROMETHEUS, folder)
    (folder / "dashboard.test.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return run_tool("promtool", "test", "rules", "dashboard.test.yaml", cwd=folder, line=line)


def test_the_queries_of_a_native_service_are_valid_promql(payments_native, tmp_path, prometheus_line):
    result = promtool_checks_the_queries(payments_native, tmp_path, prometheus_line)
    assert result.returncode == 0, result.stdout + result.stderr


def test_for_a_known_month_the_panels_of_a_native_service_read_the_right_numbers(payments_native, tmp_path):
    """The latency row of payments-api read from native histograms, on Prometheus 3: 30
    days at half the budget's error rate, 0.5 % of requests slower than 400 ms (99 %, 432
    minutes of budget per 30 days, half of it spent); the traffic and the error rate
    panels read the native histograms themselves."""
    board = dashboard(payments_native)
    latency = next(row for title, row in slo_rows(board).items() if title.startswith("Latency"))
    expected = {
        "Objective": [0.99],
        "SLI, last 30 days": [0.995],
        "Error budget left": [0.5],
        "Error budget left, time": [12960],  # half of 432 minutes, in seconds
        "Alerts": [0, 0, 0],
        "SLI": [0.995, 0.995, 0.995],
        "Error budget left over time": [0.5],
        "Burn rate, page windows": [0.5] * 4,
        "Burn rate, ticket windows": [0.5] * 4,
    }
    checks = row_and_traffic_checks(board, latency, "payments-api", "latency", expected)
    errors = next(panel for panel in board["panels"] if panel["title"] == "Error rate")
    latency_errors = next(target["expr"] for target in errors["targets"] if target["legendFormat"] == "Latency")
    assert "histogram_fraction(0.4, +Inf" in latency_errors
    checks.append((latency_errors, "{}", 0.005))
    month = next(case for case in payments_native.yaml(BUDGET_TESTS)["tests"]
                 if case["name"].startswith("payments-api-latency: 30 days of steady traffic"))
    assert [series["series"] for series in month["input_series"]] == [
        'http_server_request_duration_seconds{job="payments-api"}'], "one native histogram, no classic series"
    result = evaluate_on_the_30th_day(payments_native, month, checks, tmp_path, "newest")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_documents_link_to_the_dashboard(payments, defaults_project):
    blob = "https://github.com/acme/payments-api/blob/HEAD/"
    link = f"[`monitoring/grafana/payments-api-slos.json`]({blob}monitoring/grafana/payments-api-slos.json)"
    header = next(line for line in payments.design.splitlines() if line.startswith("| Links |"))
    assert "TODO" not in header and link in header
    assert any(line.startswith("- **Dashboards:** " + link) for line in payments.design.splitlines())
    for runbook in (payments.root / RUNBOOKS).glob("*.md"):
        if runbook.name != "README.md":
            assert link in runbook.read_text(encoding="utf-8"), runbook.name
    diagnosis = payments.text(f"{RUNBOOKS}/slo-latency.md").split("## Diagnosis", 1)[1].split("##", 1)[0]
    assert link in diagnosis and 'the "Latency" row' in diagnosis
    readme = defaults_project.text("README.md")
    assert "[`monitoring/grafana/new-service-slos.json`](monitoring/grafana/new-service-slos.json)" in readme
    for community in ("https://grafana.com/grafana/dashboards/14348", "https://grafana.com/grafana/dashboards/14643"):
        assert community in readme, "the README says which community dashboards read these series"
    without_address = next(line for line in defaults_project.design.splitlines() if line.startswith("| Links |"))
    assert "Dashboards: `monitoring/grafana/new-service-slos.json`" in without_address, "a path, where no address is known"
