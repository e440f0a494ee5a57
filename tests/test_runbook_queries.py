"""The runbooks hand over the query: every SLO runbook's diagnosis and mitigation, and every
dependency's runbook, hold PromQL in fenced `promql` blocks that Prometheus accepts as they
are, on each line that reads the histogram type, and that read only series the generated
rules record or the metric convention names. An on-call engineer pastes them: the burn over
every alert window, the bad events by each label of the convention, for a threshold SLI the
slowest and the share above the threshold, for a dependency the error ratio and latency of
the calls to it; and run on known series, they read the right numbers."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from support.layout import PROMETHEUS, RULES, RUNBOOKS
from support.markdown import fenced_blocks, section
from support.project import EXAMPLE_NAMES, example_answers
from support.tools import LINES_READING, run_tool

CONVENTION = f"{PROMETHEUS}/metric-convention.json"
# A service that chose gRPC: its dependencies' runbooks query gRPC calls too.
WITH_GRPC = {**example_answers("payments-api"), "api_styles": ["rest", "grpc"]}
RENDERS = {
    **{name: (example_answers(name), "classic") for name in EXAMPLE_NAMES},
    **{f"{name}-native": ({**example_answers(name), "histogram_type": "native"}, "native") for name in EXAMPLE_NAMES},
    "payments-api-grpc": (WITH_GRPC, "classic"),
    "payments-api-grpc-native": ({**WITH_GRPC, "histogram_type": "native"}, "native"),
}
CHECKS = [(key, line) for key, (_, histogram_type) in RENDERS.items() for line in LINES_READING[histogram_type]]
# Words of PromQL that are neither a series nor a function.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "Inf", "NaN", "inf", "nan"}


def project_of(render, key: str):
    answers, _ = RENDERS[key]
    return render(key, answers)


def runbook_texts(project) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in (project.root / RUNBOOKS).glob("*.md")}


def queries(project, prefixes: tuple[str, ...] = ("",)) -> dict[str, list[str]]:
    """Every promql block of the runbooks whose names start with one of `prefixes`."""
    return {name: fenced_blocks(text, "promql") for name, text in runbook_texts(project).items()
            if name.startswith(prefixes)}


def series_read(query: str) -> set[str]:
    """The metric names a query reads. Fails on a series read without a selector, which
    this reading could not tell from a label or a keyword."""
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)
    names = set(re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{", without_strings))
    rest = re.sub(r"[A-Za-z_:][A-Za-z0-9_:]*\s*\{[^}]*\}", " ", without_strings)
    rest = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", rest)
    rest = re.sub(r"\[[^\]]*\]", " ", rest)
    rest = re.sub(r"\b[A-Za-z_][A-Za-z0-9_]*\s*\(", "(", rest)
    bare = [word for word in re.findall(r"\b[A-Za-z_:][A-Za-z0-9_:]*\b", rest) if word not in KEYWORDS]
    assert not bare, f"series read without a selector {bare} in:\n{query}"
    return names


def named_by_the_convention(project) -> set[str]:
    """The series the metric convention names, as the histogram type exposes them."""
    convention = json.loads(project.text(CONVENTION))
    histograms = {slo["histogram"] for slo in convention["slos"]}
    histograms |= {call["histogram"] for dependency in convention["dependencies"] for call in dependency["calls"]}
    if project.answers.get("histogram_type", "classic") == "classic":
        series = {histogram + suffix for histogram in histograms for suffix in ("_bucket", "_count", "_sum")}
    else:
        series = histograms
    stalls = {slo["stall"]["selector"].split("{", 1)[0] for slo in convention["slos"] if slo["stall"]}
    return series | stalls


def recorded(project) -> set[str]:
    return {rule["record"] for group in project.yaml(RULES)["groups"] for rule in group["rules"] if "record" in rule}


# --- Every block is PromQL Prometheus accepts, reading what exists -------------------------

@pytest.mark.parametrize(("key", "line"), CHECKS, ids=[f"{key}-{line}" for key, line in CHECKS])
def test_every_query_of_every_runbook_is_promql_prometheus_accepts(render, tmp_path, key, line):
    project = project_of(render, key)
    blocks = [(name, query) for name, found in queries(project).items() for query in found]
    assert any(name.startswith("slo-") for name, _ in blocks) and any(name.startswith("dependency-") for name, _ in blocks)
    rules = {"groups": [{"name": "runbook-queries", "rules": [
        {"record": f"runbook:query_{number}:value", "expr": query} for number, (_, query) in enumerate(blocks)]}]}
    (tmp_path / "queries.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = run_tool("promtool", "check", "rules", "queries.yaml", cwd=tmp_path, line=line)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("key", list(RENDERS))
def test_slo_and_dependency_runbooks_read_only_series_the_rules_record_or_the_convention_names(render, key):
    project = project_of(render, key)
    known = recorded(project) | named_by_the_convention(project)
    for name, found in queries(project, ("slo-", "dependency-")).items():
        assert found, f"{name} hands over no query"
        for query in found:
            unknown = series_read(query) - known
            assert not unknown, f"{name} reads {sorted(unknown)}, which neither the rules nor the convention name:\n{query}"


def test_the_series_check_catches_a_series_read_without_its_selector():
    assert series_read('sum(rate(http_server_request_duration_seconds_count{job="x"}[5m]))') == {
        "http_server_request_duration_seconds_count"}
    assert series_read('sum by (le) (rate(a_bucket{le=~"0\\\\.4"}[5m])) / on (slo) b{slo="x"}') == {"a_bucket", "b"}
    with pytest.raises(AssertionError, match="without a selector"):
        series_read("sum(rate(http_requests_total[5m]))")


# --- What an on-call engineer pastes ------------------------------------------------------

def slo_runbook(project, slug: str) -> str:
    return project.text(f"{RUNBOOKS}/slo-{slug}.md")


@pytest.mark.parametrize("key", EXAMPLE_NAMES)
def test_each_slo_runbook_reads_the_burn_over_every_window_its_alerts_read(render, key):
    project = project_of(render, key)
    for slo in project.slo_names:
        slug = slo.removeprefix(project.answers["project_slug"] + "-")
        diagnosis = fenced_blocks(section(slo_runbook(project, slug), "Diagnosis"), "promql")
        burn = diagnosis[0]
        for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
            assert f'slo:sli_error:ratio_rate{window}{{slo="{slo}"}}, "window", "{window}"' in burn, (slo, window)
        mitigation = fenced_blocks(section(slo_runbook(project, slug), "Mitigation"), "promql")
        assert mitigation and mitigation[0].startswith(f'slo:sli_error:ratio_rate5m{{slo="{slo}"}} / ')


@pytest.mark.parametrize("key", list(RENDERS))
def test_each_slo_runbook_breaks_the_bad_events_down_by_every_label_of_the_convention(render, key):
    project = project_of(render, key)
    convention = json.loads(project.text(CONVENTION))
    for slo in convention["slos"]:
        slug = slo["name"].removeprefix(convention["service"] + "-")
        blocks = fenced_blocks(section(slo_runbook(project, slug), "Diagnosis"), "promql")
        assert slo["labels"], slo["name"]
        for label in slo["labels"]:
            assert any(f"sum by ({label}) (" in block for block in blocks), f"{slo['name']}: no breakdown by {label}"


def test_the_payments_latency_runbook_hands_over_the_slowest_routes_and_the_share_above_400_ms(payments, render):
    blocks = fenced_blocks(section(slo_runbook(payments, "latency"), "Diagnosis"), "promql")
    assert ('topk(10, histogram_quantile(0.99, sum by (http_route, le) '
            '(rate(http_server_request_duration_seconds_bucket{job="payments-api"}[5m]))))\n') in blocks
    share = next(block for block in blocks if "/\n" in block and "sum by (http_route)" in block)
    assert 'http_server_request_duration_seconds_bucket{job="payments-api",le=~"0\\\\.4"}' in share
    native = project_of(render, "payments-api-native")
    native_blocks = fenced_blocks(section(slo_runbook(native, "latency"), "Diagnosis"), "promql")
    assert ('topk(10, histogram_quantile(0.99, sum by (http_route) '
            '(rate(http_server_request_duration_seconds{job="payments-api"}[5m]))))\n') in native_blocks
    native_share = next(block for block in native_blocks if "/\n" in block and "sum by (http_route)" in block)
    assert "histogram_fraction(0.4, +Inf, rate(http_server_request_duration_seconds{" in native_share
    assert not re.search(r"_seconds_(bucket|count|sum)\b", "".join(native_blocks)), "native reads no classic series"


def test_the_latency_runbook_says_what_latency_does_to_the_kind_of_service(payments, render):
    latency, availability = slo_runbook(payments, "latency"), slo_runbook(payments, "availability")
    assert "abandon" not in section(latency, "Impact"), "an API's callers are programs"
    assert "callers wait, their own timeouts fire" in section(latency, "Impact")
    frontend = render("knowledge-frontend", {"service_kind": "frontend"})
    assert "users wait, reload and abandon slow pages" in section(slo_runbook(frontend, "latency"), "Impact")
    next_steps = [section(text, "Diagnosis").split("What to look at next:", 1)[1] for text in (latency, availability)]
    assert next_steps[0] != next_steps[1], "the latency runbook does not repeat the availability diagnosis"
    assert "Saturation" in next_steps[0] and "status codes" in next_steps[1]


def test_a_dependency_runbook_queries_its_own_calls_and_asks_for_its_fallback(payments, render):
    text = payments.text(f"{RUNBOOKS}/dependency-card-processor.md")
    blocks = fenced_blocks(section(text, "Diagnosis"), "promql")
    calls = 'http_client_request_duration_seconds_count{job="payments-api",server_address="card-processor"'
    assert blocks[0] == (f'sum(rate({calls},error_type!=""}}[5m]))\n/\nsum(rate({calls}}}[5m]))\n')
    assert ('topk(10, histogram_quantile(0.99, sum by (instance, le) (rate(http_client_request_duration_seconds_bucket'
            '{job="payments-api",server_address="card-processor"}[5m]))))\n') in blocks
    assert "rpc_client_call_duration_seconds" not in text, "no gRPC calls where gRPC was not chosen"
    assert "ledger-service" not in "".join(blocks), "each runbook queries its own dependency"
    assert "serve the fallback" not in text
    mitigation = section(text, "Mitigation")
    assert "\n\nTODO: the fallback payments-api serves while card-processor is down" in mitigation
    address = next(line for line in section(text, "Diagnosis").splitlines() if line.startswith("TODO: the host"))
    assert "`card-processor`" in address
    grpc = project_of(render, "payments-api-grpc").text(f"{RUNBOOKS}/dependency-card-processor.md")
    assert ('rpc_client_call_duration_seconds_count{job="payments-api",server_address="card-processor",'
            'rpc_response_status_code!="OK"}') in grpc


def test_the_readme_names_the_client_side_of_calls_to_dependencies(payments, render):
    convention = section(payments.text("README.md"), "Metric convention")
    assert "`http_client_request_duration_seconds`" in convention and "`http.client.request.duration`" in convention
    assert "`server_address`" in convention and "rpc_client_call_duration_seconds" not in convention
    grpc = section(project_of(render, "payments-api-grpc").text("README.md"), "Metric convention")
    assert "`rpc_client_call_duration_seconds`" in grpc and "`rpc.client.call.duration`" in grpc
    written = json.loads(payments.text(CONVENTION))["dependencies"]
    assert [dependency["name"] for dependency in written] == [
        "card-processor", "ledger-service", "fraud-scoring", "customer-profile"]
    assert written[0]["calls"] == [{
        "protocol": "http", "histogram": "http_client_request_duration_seconds",
        "selector": {"server_address": "card-processor"}, "failed": 'error_type!=""',
        "labels": ["server_address", "http_response_status_code", "error_type", "http_request_method", "instance"]}]


# --- Run on known series, the queries read the right numbers --------------------------------

def evaluate(project, tmp_path, series: list[dict], checks: list[tuple[str, list[dict]]], line: str):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "slo-rules.yaml").write_text(project.text(RULES), encoding="utf-8")
    suite = {"rule_files": ["slo-rules.yaml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series,
        "promql_expr_test": [{"expr": f"round({expr}, 0.0001)", "eval_time": "10m", "exp_samples": samples}
                             for expr, samples in checks],
    }]}
    (folder / "queries.test.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return run_tool("promtool", "test", "rules", "queries.test.yaml", cwd=folder, line=line)


def test_on_known_traffic_the_latency_share_by_route_and_the_card_processor_error_ratio_read_right(
        payments, tmp_path, prometheus_line):
    """Over ten minutes, /payments answers 100 requests a minute, 10 of them slower than
    400 ms, and /refunds 60, none slow; card-processor answers 95 calls a minute and fails 5
    (503), while ledger-service times out 50 a minute, which is not card-processor's."""
    latency = fenced_blocks(section(slo_runbook(payments, "latency"), "Diagnosis"), "promql")
    share = next(block for block in latency if "/\n" in block and "sum by (http_route)" in block)
    card = fenced_blocks(section(payments.text(f"{RUNBOOKS}/dependency-card-processor.md"), "Diagnosis"), "promql")[0]
    server = "http_server_request_duration_seconds"
    client = 'http_client_request_duration_seconds_count{job="payments-api",server_address="%s",%s}'
    series = [
        {"series": f'{server}_count{{job="payments-api",http_route="/payments"}}', "values": "0+100x10"},
        {"series": f'{server}_bucket{{job="payments-api",http_route="/payments",le="0.4"}}', "values": "0+90x10"},
        {"series": f'{server}_count{{job="payments-api",http_route="/refunds"}}', "values": "0+60x10"},
        {"series": f'{server}_bucket{{job="payments-api",http_route="/refunds",le="0.4"}}', "values": "0+60x10"},
        {"series": client % ("card-processor", 'http_response_status_code="200"'), "values": "0+95x10"},
        {"series": client % ("card-processor", 'http_response_status_code="503",error_type="503"'), "values": "0+5x10"},
        {"series": client % ("ledger-service", 'error_type="timeout"'), "values": "0+50x10"},
    ]
    checks = [
        (share, [{"labels": '{http_route="/payments"}', "value": 0.1}, {"labels": '{http_route="/refunds"}', "value": 0}]),
        (card, [{"labels": "{}", "value": 0.05}]),
    ]
    result = evaluate(payments, tmp_path, series, checks, prometheus_line)
    assert result.returncode == 0, result.stdout + result.stderr
