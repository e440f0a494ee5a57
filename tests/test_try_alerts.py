"""tools/try_alerts.py as Python, apart from the live runs of tests/test_live_alerting.py.

The script is a plain file of the template, copied as it is into every repository; here
it is imported from the template and its parts are tried on what they read: a generated
repository's metric convention file and rules, the exposition its fake exporter serves in
each scenario (which must agree with the input series of the generated promtool tests),
and the notifications real Alertmanagers sent (0.25, Debian stable's, and 0.33, recorded
into tests/fixtures/alertmanager/ by tests/record_alertmanager_payloads.py; and the one
the tests install, live). Whatever a summary or a description holds, it reaches PagerDuty
and Opsgenie as text, and the report names every alert of every notification. A service
on native histograms is served in Prometheus's protobuf format: what the script encodes
is read back here by a reader of the format written for the tests, and by a real
Prometheus 3."""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import re
import shutil
import struct
import subprocess
import time
import urllib.parse

import pytest
import yaml

from record_alertmanager_payloads import DEFAULT_DETAILS, page_integrations, record
from support.alertmanager import runnable_alertmanager, short_directory
from support.layout import RULE_TESTS
from support.project import ROOT, example_answers
from support.tools import LINES, require, run_tool

SCRIPT = ROOT / "template" / "tools" / "try_alerts.py"
RECORDINGS = sorted((ROOT / "tests" / "fixtures" / "alertmanager").glob("*.json"))
RECORDED_VERSIONS = ["0.25.0", "0.33.1"]  # Debian stable's and the development suite's, when recorded


def load_script():
    spec = importlib.util.spec_from_file_location("try_alerts", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


try_alerts = load_script()


@pytest.fixture(scope="module")
def clickstream(render):
    return render("clickstream-pipeline", example_answers("clickstream-pipeline"))


@pytest.fixture(scope="module")
def worker(render):
    return render("notification-worker", example_answers("notification-worker"))


def test_every_repository_gets_the_script_as_the_template_has_it(payments, worker):
    for project in (payments, worker):
        assert (project.root / "tools" / "try_alerts.py").read_bytes() == SCRIPT.read_bytes()


# --- The metric convention file and the rules ----------------------------------------


def test_the_metric_convention_file_tells_the_script_what_each_sli_counts(payments):
    service = try_alerts.load_service(payments.root)
    assert (service["service"], service["tier"], service["job"]) == ("payments-api", 1, "payments-api")
    availability, latency = service["slos"]
    assert availability["name"] == "payments-api-availability" and availability["indicator"] == "errors"
    assert availability["histogram"] == "http_server_request_duration_seconds"
    assert [(s["selector"], s["counts"], s["lazy"]) for s in availability["series"]] == [
        ('http_server_request_duration_seconds_count{job="payments-api",http_response_status_code="200"}', "good", True),
        ('http_server_request_duration_seconds_count{job="payments-api",http_response_status_code="500"}', "bad", True),
    ]
    assert availability["bucket"] == [] and availability["threshold_seconds"] is None
    # 99.95 %: a budget of 0.05 %, paged at 14.4x and 6x, ticketed at 3x and 1x.
    assert availability["alert_error_ratios"] == {"page": [0.0072, 0.003], "ticket": [0.0015, 0.0005]}
    assert latency["name"] == "payments-api-latency" and latency["indicator"] == "threshold"
    assert latency["threshold_seconds"] == 0.4
    assert [(b["le"], b["selector"]) for b in latency["bucket"]] == [
        ("0.4", 'http_server_request_duration_seconds_bucket{job="payments-api",le="0.4"}')]
    assert latency["alert_error_ratios"] == {"page": [0.144, 0.06], "ticket": [0.03, 0.01]}
    assert availability["stall"] is None and latency["stall"] is None
    assert latency["title"] == "Latency"


def test_a_whole_second_threshold_is_served_as_prometheus_3_spells_it(worker, clickstream):
    age = try_alerts.load_service(worker.root)["slos"][1]
    assert (age["name"], age["threshold_seconds"]) == ("notification-worker-message-age", 300)
    assert [b["le"] for b in age["bucket"]] == ["300.0", "300"]
    freshness = try_alerts.load_service(clickstream.root)["slos"][0]
    assert freshness["threshold_seconds"] == 5400  # 90 minutes
    # 28 days at 99 %: the factors are scaled to the smaller budget (13.44, 5.6, 2.8, 0.9333).
    assert freshness["alert_error_ratios"]["page"] == pytest.approx([0.1344, 0.056])
    assert freshness["alert_error_ratios"]["ticket"] == pytest.approx([0.028, 0.009333], abs=1e-6)


def test_a_repository_without_the_file_cannot_join_a_run(tmp_path):
    with pytest.raises(try_alerts.CannotRun, match="metric-convention.json"):
        try_alerts.load_service(tmp_path)


def test_the_rules_run_with_every_wait_shortened_to_seconds(payments, tmp_path):
    service = try_alerts.load_service(payments.root)
    copy, waits, groups = try_alerts.rules_copy(service, tmp_path)
    assert waits == {"PaymentsApiAvailabilityDataMissing": "60m", "PaymentsApiLatencyDataMissing": "60m",
                     "PaymentsApiTargetDown": "5m"}
    assert groups == 3
    rules = [rule for group in yaml.safe_load(copy.read_text(encoding="utf-8"))["groups"] for rule in group["rules"]]
    assert {rule["for"] for rule in rules if "for" in rule} == {"5s"}
    assert run_tool("promtool", "check", "rules", str(copy)).returncode == 0


# --- What the fake exporter serves ---------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')


def samples(text: str) -> dict[tuple, float]:
    """The samples of an exposition: (name, frozenset of labels) -> value."""
    found = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        name, labels, value = SAMPLE.match(line).groups()
        found[(name, frozenset(re.findall(r'([a-zA-Z_]+)="([^"]*)"', labels or "")))] = float(value)
    return found


def value(exposition: dict, name: str, **labels) -> float | None:
    return exposition.get((name, frozenset(labels.items())))


def expositions(service: dict, scenario: str, count: int, switch_after: int | None = None, clock=lambda: 1_000_000.0):
    """`count` scrapes of one service's fake exporter, each its body and content type
    (None for a broken one), the run moving on to the scenario's next phase after
    `switch_after` of them."""
    traffic = try_alerts.Traffic([service], scenario, clock)
    served = []
    for number in range(count):
        if number == switch_after:
            traffic.next_phase()
        served.append(traffic.scrape(service["service"]))
    return served


def scrapes(service: dict, scenario: str, count: int, switch_after: int | None = None, clock=lambda: 1_000_000.0):
    """The text a classic service's fake exporter serves at each scrape (None for a broken one)."""
    served = []
    for exposition in expositions(service, scenario, count, switch_after, clock):
        if exposition is not None:
            body, content_type = exposition
            assert content_type.startswith("text/plain; version=0.0.4"), content_type
        served.append(None if exposition is None else exposition[0].decode("utf-8"))
    return served


def error_ratio(exposition: dict, slo: str) -> float:
    """The share of bad events an SLO of payments-api reads from one exposition."""
    name = "http_server_request_duration_seconds"
    if slo == "availability":
        bad = value(exposition, f"{name}_count", http_response_status_code="500") or 0.0
        return bad / (bad + (value(exposition, f"{name}_count", http_response_status_code="200") or 0.0))
    good = sum(v for (n, labels), v in exposition.items() if n == f"{name}_bucket" and ("le", "0.4") in labels)
    total = sum(v for (n, labels), v in exposition.items() if n == f"{name}_bucket" and ("le", "+Inf") in labels)
    return 1 - good / total


@pytest.mark.parametrize("scenario", ["fast-burn", "slow-burn", "outage", "vanish", "idle", "stall", "healthy"])
def test_every_scenario_serves_an_exposition_prometheus_reads(payments, worker, scenario):
    for project in (payments, worker):
        service = try_alerts.load_service(project.root)
        for text in scrapes(service, scenario, 3, switch_after=2):
            if text is not None:
                check = subprocess.run([require("promtool"), "check", "metrics"], input=text, capture_output=True,
                                       text=True, timeout=60)
                assert check.returncode == 0, f"{scenario}: {check.stdout}{check.stderr}\n{text}"


def test_a_fast_burn_fails_more_events_than_any_page_allows(payments):
    last = samples(scrapes(try_alerts.load_service(payments.root), "fast-burn", 4)[-1])
    assert error_ratio(last, "availability") > 0.0072  # the highest page threshold
    assert error_ratio(last, "latency") > 0.144


def test_a_slow_burn_fails_more_than_a_ticket_and_less_than_a_page_allows(payments):
    last = samples(scrapes(try_alerts.load_service(payments.root), "slow-burn", 4)[-1])
    assert 0.0005 < error_ratio(last, "availability") < 0.003
    assert 0.01 < error_ratio(last, "latency") < 0.06


def test_an_outage_has_only_failure_series(payments):
    served = [samples(text) for text in scrapes(try_alerts.load_service(payments.root), "outage", 4)]
    count = "http_server_request_duration_seconds_count"
    assert value(served[-1], count, http_response_status_code="200") is None
    assert value(served[-1], count, http_response_status_code="500") == 3000.0
    assert value(served[-1], "http_server_request_duration_seconds_bucket", http_response_status_code="500", le="0.4") == 0.0


def test_a_healthy_service_has_no_failure_series(payments):
    last = samples(scrapes(try_alerts.load_service(payments.root), "healthy", 4)[-1])
    assert value(last, "http_server_request_duration_seconds_count", http_response_status_code="500") is None
    assert error_ratio(last, "availability") == 0 and error_ratio(last, "latency") == 0


def test_vanished_metrics_are_two_healthy_scrapes_then_broken_ones(payments):
    served = scrapes(try_alerts.load_service(payments.root), "vanish", 4, switch_after=2)
    assert [text is not None for text in served] == [True, True, False, False]
    assert error_ratio(samples(served[1]), "availability") == 0


def test_an_idle_exporter_answers_with_no_sli_series(payments, worker):
    served = scrapes(try_alerts.load_service(payments.root), "idle", 3)
    assert served == ["", "", ""], "an answer (the target is up) without a series"
    waiting = [samples(text) for text in scrapes(try_alerts.load_service(worker.root), "idle", 3)]
    assert waiting == [{("messaging_oldest_message_age_seconds", frozenset()): 0.0}] * 3, "nothing waits in the queue"


def with_stall(service: dict, slo_name: str, stall: dict) -> dict:
    """The service as it reads once its model gives an SLO a stall signal."""
    return dict(service, slos=[dict(slo, stall=stall) if slo["name"] == slo_name else slo for slo in service["slos"]])


def test_a_stalled_worker_stops_its_histogram_while_the_oldest_message_ages(worker):
    age = 'messaging_oldest_message_age_seconds{job="notification-worker"}'
    service = with_stall(try_alerts.load_service(worker.root), "notification-worker-message-age",
                         {"selector": age, "signal": "age", "above_seconds": 300})
    now = iter(range(1_000_000, 1_000_010))
    served = [samples(text) for text in scrapes(service, "stall", 5, switch_after=2, clock=lambda: float(next(now)))]
    gauge = "messaging_oldest_message_age_seconds"
    assert [value(s, gauge) for s in served[:2]] == [0.0, 0.0], "nothing waits while work completes"
    waited = [value(s, gauge) for s in served[2:]]
    assert waited[0] > 300 and waited[0] < waited[1] < waited[2], f"the age grows past the threshold: {waited}"
    message_age = [value(s, "messaging_message_age_seconds_count") for s in served]
    assert message_age[2:] == [2000.0, 2000.0, 2000.0], "nothing completes: the histogram stops"
    processed = [value(s, "messaging_process_duration_seconds_count") for s in served]
    assert processed[2] < processed[3] < processed[4], "an SLO without a stall signal plays healthy"


def test_a_stalled_pipeline_keeps_the_time_of_its_last_success(clickstream):
    last_success = 'pipeline_last_success_timestamp_seconds{job="clickstream-pipeline"}'
    service = with_stall(try_alerts.load_service(clickstream.root), "clickstream-pipeline-freshness",
                         {"selector": last_success, "signal": "timestamp", "above_seconds": 5400})
    now = iter([1_000_000.0, 1_000_001.0, 1_000_002.0, 1_000_003.0, 1_000_004.0])
    served = [samples(text) for text in scrapes(service, "stall", 5, switch_after=2, clock=lambda: next(now))]
    gauge = "pipeline_last_success_timestamp_seconds"
    assert [value(s, gauge) for s in served[:2]] == [1_000_000.0, 1_000_001.0], "work completes: it follows the clock"
    stalled = [value(s, gauge) for s in served[2:]]
    assert len(set(stalled)) == 1 and 1_000_002.0 - stalled[0] > 5400, f"stale past the threshold: {stalled}"


def test_a_service_without_stall_signals_plays_healthy_in_the_stall_scenario(payments):
    service = try_alerts.load_service(payments.root)
    assert scrapes(service, "stall", 4, switch_after=2) == scrapes(service, "healthy", 4, switch_after=2)


# --- One simulator: the exporter plays what the promtool tests feed -----------------

# The phases of the generated promtool tests of payments-api, as includes/ruletests.jinja
# reads them, stated here for the scenarios both kinds of SLI share. Its budgets: 0.05 %
# (availability) and 1 % (latency); a total outage pages after 5 and 12 minutes.
PROMTOOL_PHASES = {
    "a fast burn pages and opens a ticket": {"availability": [{"minutes": 11, "bad": 0.01}],
                                             "latency": [{"minutes": 11, "bad": 0.2}]},
    "a slow burn opens a ticket and does not page": {"availability": [{"minutes": 11, "bad": 0.001}],
                                                     "latency": [{"minutes": 11, "bad": 0.02}]},
    "an idle service, with no traffic, alerts nobody": {
        slo: [{"minutes": 2, "bad": 0}, {"minutes": 19, "bad": 0, "traffic": False}] for slo in ("availability", "latency")},
    "a total outage of a fresh process pages within 5 minutes": {
        slo: [{"minutes": 6, "bad": 1}] for slo in ("availability", "latency")},
    "a restart in the middle of a total outage keeps paging": {
        slo: [{"minutes": 10, "bad": 0}, {"minutes": after, "bad": 1}, {"minutes": 31, "bad": 1, "restart": True}]
        for slo, after in (("availability", 5), ("latency", 12))},
    "metrics that vanish, every scrape failing, page after {wait} minutes, and open no ticket": {
        slo: [{"minutes": 10, "bad": budget / 2}, {"minutes": 62, "bad": budget / 2, "scrape": "failing"}]
        for slo, budget in (("availability", 0.0005), ("latency", 0.01))},
    "an exporter that is up with no SLI series yet pages nobody, and opens a ticket after {wait} minutes": {
        slo: [{"minutes": 63, "bad": 0, "traffic": False, "exported": False}] for slo in ("availability", "latency")},
}


def expand(values: str) -> list[float | None]:
    """promtool's series notation, one value per sample (None: no sample, or stale)."""
    out: list[float | None] = []
    for token in values.split():
        if token == "stale" or token == "_":
            out.append(None)
        elif match := re.fullmatch(r"_x(\d+)", token):
            out += [None] * int(match[1])
        elif match := re.fullmatch(r"(-?[\d.]+)([+-][\d.]+)?x(\d+)", token):
            start, step, times = float(match[1]), float(match[2] or 0), int(match[3])
            out += [start + step * i for i in range(times + 1)]
        else:
            out.append(float(token))
    return out


def promtool_case(project, title: str) -> dict:
    cases = [case for case in project.yaml(RULE_TESTS)["tests"]
             if re.fullmatch(re.escape(title).replace(r"\{wait\}", r"\d+"), case["name"].split(": ", 1)[1])
             and case["name"].startswith(project.answers["project_slug"] + "-")]
    return {case["name"].split(": ", 1)[0].split("-")[-1]: case for case in cases}


@pytest.mark.parametrize("title", sorted(PROMTOOL_PHASES))
def test_the_exporter_plays_the_series_the_promtool_tests_feed(payments, title):
    service = try_alerts.load_service(payments.root)
    cases = promtool_case(payments, title)
    assert sorted(cases) == ["availability", "latency"], "an errors SLI and a threshold SLI"
    for slo in service["slos"]:
        kind = slo["name"].split("-")[-1]
        alone = dict(service, slos=[slo])  # one SLO, as each promtool test feeds one
        traffic = try_alerts.ServiceTraffic(alone, {slo["name"]: PROMTOOL_PHASES[title][kind]})
        fed = {series["series"]: expand(series["values"]) for series in cases[kind]["input_series"]}
        length = {len(values) for values in fed.values()}.pop()
        texts = [traffic.scrape() for _ in range(length)]
        played = [samples(try_alerts.text_exposition(text)) if text is not None else {} for text in texts]
        for selector, expected in fed.items():
            name, labels = try_alerts.parse_selector(selector)
            if name == "up":  # Prometheus's own: 1 when the exporter answered the scrape, 0 when it failed
                got = [0.0 if text is None else 1.0 for text in texts]
            else:
                got = [value(exposition, name, **labels) for exposition in played]
            assert [g is None for g in got] == [e is None for e in expected], f"{kind} {selector}: {got} != {expected}"
            assert all(g is None or math.isclose(g, e, abs_tol=1e-6) for g, e in zip(got, expected, strict=True)), \
                f"{kind} {selector}: {got} != {expected}"


# --- Native histograms, in the protobuf format ---------------------------------------
#
# A reader of the protobuf wire format, apart from the script's writer: varints, zigzag
# integers, 64-bit doubles and length-delimited fields, as the protocol buffers encoding
# documents them, and the field numbers of Prometheus's io.prometheus.client messages.


def read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position, shift = position + 1, shift + 7
        if not byte & 0x80:
            return value, position


def read_fields(data: bytes) -> dict[int, list]:
    """Field number -> values, in order: an int (varint), 8 bytes (fixed64) or bytes."""
    fields: dict[int, list] = {}
    position = 0
    while position < len(data):
        key, position = read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = read_varint(data, position)
        elif wire_type == 1:
            value, position = data[position:position + 8], position + 8
        elif wire_type == 2:
            length, position = read_varint(data, position)
            value, position = data[position:position + length], position + length
        else:
            raise AssertionError(f"wire type {wire_type} of field {number}")
        fields.setdefault(number, []).append(value)
    return fields


def signed(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def double(value: bytes) -> float:
    return struct.unpack("<d", value)[0]


def read_histogram(data: bytes) -> dict:
    fields = read_fields(data)
    spans = [read_fields(span) for span in fields.get(12, [])]
    if 4 in fields:  # a float histogram: absolute counts
        counts, count = [double(c) for c in fields.get(14, [])], double(fields[4][0])
    else:  # an integer histogram: each bucket as the difference from the one before
        counts, running = [], 0
        for delta in fields.get(13, []):
            running += signed(delta)
            counts.append(float(running))
        count = float(fields.get(1, [0])[0])
    return {"count": count, "sum": double(fields[2][0]), "schema": signed(fields[5][0]),
            "spans": [(signed(span.get(1, [0])[0]), span.get(2, [0])[0]) for span in spans], "buckets": counts,
            "zero_count": double(fields[8][0]) if 8 in fields else float(fields.get(7, [0])[0])}


def read_families(body: bytes) -> dict[str, dict]:
    """name -> {"type", "help", "metrics": {labels: histogram or gauge value}} of a
    delimited stream of MetricFamily messages."""
    families, position = {}, 0
    while position < len(body):
        length, position = read_varint(body, position)
        fields = read_fields(body[position:position + length])
        position += length
        metrics = {}
        for metric in (read_fields(m) for m in fields.get(4, [])):
            labels = frozenset((read_fields(pair)[1][0].decode(), read_fields(pair)[2][0].decode()) for pair in metric.get(1, []))
            metrics[labels] = read_histogram(metric[7][0]) if 7 in metric else double(read_fields(metric[2][0])[1][0])
        families[fields[1][0].decode()] = {"type": fields[3][0], "help": fields[2][0].decode(), "metrics": metrics}
    return families


@pytest.fixture(scope="module")
def worker_native(render):
    return render("notification-worker-native", {**example_answers("notification-worker"), "histogram_type": "native"})


def test_varints_and_zigzag_integers_are_the_protocol_buffers_encoding():
    assert [try_alerts.varint(n) for n in (0, 1, 127, 128, 300, 2**63)] == [
        b"\x00", b"\x01", b"\x7f", b"\x80\x01", b"\xac\x02", b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"]
    assert [try_alerts.zigzag(n) for n in (0, -1, 1, -2, 2147483647, -2147483648)] == [0, 1, 2, 3, 4294967294, 4294967295]
    assert all(signed(try_alerts.zigzag(n)) == n for n in range(-300, 300))


def test_a_native_histogram_is_written_as_integer_or_float_buckets_of_one_span():
    whole = try_alerts.NativeHistogram(schema=0, offset=-2, buckets=[3.0, 0.0, 1.0], sum=1.75)
    assert read_histogram(try_alerts.native_histogram_message(whole)) == {
        "count": 4.0, "sum": 1.75, "schema": 0, "spans": [(-2, 3)], "buckets": [3.0, 0.0, 1.0], "zero_count": 0.0}
    fractional = try_alerts.NativeHistogram(schema=0, offset=8, buckets=[999.5, 0.0, 0.5], sum=256 * 999.5 + 1024 * 0.5)
    read = read_histogram(try_alerts.native_histogram_message(fractional))
    assert read == {"count": 1000.0, "sum": 256 * 999.5 + 1024 * 0.5, "schema": 0, "spans": [(8, 3)],
                    "buckets": [999.5, 0.0, 0.5], "zero_count": 0.0}
    empty = read_histogram(try_alerts.native_histogram_message(try_alerts.NativeHistogram(0, -1, [0.0, 0.0, 0.0], 0.0)))
    assert empty["spans"] == [(-1, 3)] and empty["count"] == 0, "a span marks it native before its first event"


def test_a_native_service_is_served_in_the_protobuf_format(payments_native):
    """payments-api on native histograms, a fast burn: one family, a native histogram per
    status code, good requests at 0.25 s and slow ones at 1 s, either side of the 400 ms
    threshold's bucket (0.25 s, 0.5 s], which stays empty."""
    service = try_alerts.load_service(payments_native.root)
    served = expositions(service, "fast-burn", 3)
    assert {content_type for _, content_type in served} == {try_alerts.PROTOBUF}
    families = read_families(served[-1][0])
    [name] = families
    assert name == "http_server_request_duration_seconds" and families[name]["type"] == 4  # HISTOGRAM
    by_code = {dict(labels)["http_response_status_code"]: h for labels, h in families[name]["metrics"].items()}
    assert sorted(by_code) == ["200", "500"]
    slow_share = math.sqrt(0.144)  # the fast burn of the latency SLO, halfway to 100 % from its highest page threshold
    failed_share = math.sqrt(0.0072)  # and of availability
    for histogram in by_code.values():
        assert histogram["schema"] == 0 and histogram["spans"] == [(-2, 3)]
        below, inside, above = histogram["buckets"]
        assert inside == 0 and histogram["count"] == pytest.approx(below + above)
        assert above / histogram["count"] == pytest.approx(slow_share)
        assert histogram["sum"] == pytest.approx(below * 0.25 + above * 1)
    total = sum(h["count"] for h in by_code.values())
    assert total == pytest.approx(2000) and by_code["500"]["count"] / total == pytest.approx(failed_share)


@pytest.mark.parametrize("scenario", ["fast-burn", "slow-burn", "outage", "vanish", "idle", "stall", "healthy"])
def test_every_scenario_of_a_native_service_serves_what_the_format_reads(worker_native, scenario):
    service = try_alerts.load_service(worker_native.root)
    for exposition in expositions(service, scenario, 3, switch_after=2):
        if exposition is None:
            continue
        body, content_type = exposition
        assert content_type == try_alerts.PROTOBUF
        families = read_families(body)
        assert families["messaging_oldest_message_age_seconds"]["type"] == 1  # GAUGE, the stall signal
        for name, family in families.items():
            for value in family["metrics"].values():
                if isinstance(value, dict):
                    assert name.endswith("_seconds") and family["type"] == 4
                    assert value["count"] == pytest.approx(sum(value["buckets"]))


def native_values(values: str) -> list[dict | None]:
    """promtool's series notation of native histograms, one per sample (None: no sample, or
    stale): {{schema:0 sum:S count:C buckets:[...] offset:O}}, alone, repeated (`x N`) or
    expanding (`+{{...}}xN`)."""
    def histogram(text: str) -> dict:
        fields = dict(re.findall(r"(\w+):(\[[^\]]*\]|\S+)", text))
        return {"schema": int(fields["schema"]), "offset": int(fields["offset"]), "count": float(fields["count"]),
                "sum": float(fields["sum"]), "buckets": [float(b) for b in fields["buckets"].strip("[]").split()]}

    out: list[dict | None] = []
    for token in re.findall(r"\{\{.*?\}\}(?:\+\{\{.*?\}\})?(?:x\d+)?|\S+", values):
        if token == "stale":
            out.append(None)
        elif match := re.fullmatch(r"_x(\d+)", token):
            out += [None] * int(match[1])
        else:
            parts = re.fullmatch(r"\{\{(.*?)\}\}(?:\+\{\{(.*?)\}\})?(?:x(\d+))?", token)
            start = histogram(parts[1])
            step = histogram(parts[2]) if parts[2] else dict(start, count=0, sum=0, buckets=[0.0] * len(start["buckets"]))
            for i in range(int(parts[3] or 0) + 1):
                out.append(dict(start, count=start["count"] + i * step["count"], sum=start["sum"] + i * step["sum"],
                                buckets=[b + i * d for b, d in zip(start["buckets"], step["buckets"], strict=True)]))
    return out


@pytest.mark.parametrize("title", sorted(PROMTOOL_PHASES))
def test_the_exporter_plays_the_native_series_the_promtool_tests_feed(payments_native, title):
    service = try_alerts.load_service(payments_native.root)
    cases = promtool_case(payments_native, title)
    assert sorted(cases) == ["availability", "latency"]
    for slo in service["slos"]:
        kind = slo["name"].split("-")[-1]
        traffic = try_alerts.ServiceTraffic(dict(service, slos=[slo]), {slo["name"]: PROMTOOL_PHASES[title][kind]})
        fed = {series["series"]: series["values"] for series in cases[kind]["input_series"]}
        length = max(len(native_values(values)) if "{{" in values else len(expand(values)) for values in fed.values())
        played = [traffic.scrape() for _ in range(length)]
        for selector, values in fed.items():
            name, labels = try_alerts.parse_selector(selector)
            if name == "up":
                assert [0.0 if p is None else 1.0 for p in played] == expand(values), f"{kind} up"
                continue
            expected = native_values(values)
            key = tuple(sorted(labels.items()))
            got = [None if families is None else next(
                (value for family in families if family.name == name for labels_, value in family.metrics if labels_ == key), None)
                for families in played]
            assert [g is None for g in got] == [e is None for e in expected], f"{kind} {selector}"
            for g, e in zip(got, expected, strict=True):
                if e is not None:
                    assert (g.schema, g.offset) == (e["schema"], e["offset"]), f"{kind} {selector}"
                    assert g.count == pytest.approx(e["count"], abs=1e-6) and g.sum == pytest.approx(e["sum"], abs=1e-6)
                    assert g.buckets == pytest.approx(e["buckets"], abs=1e-6), f"{kind} {selector}"


@pytest.mark.parametrize("version,flags,scrape", [
    ((3, 0), ["--enable-feature=native-histograms"], {}),
    ((3, 7), ["--enable-feature=native-histograms"], {}),
    ((3, 8), [], {"scrape_native_histograms": True}),
    ((3, 13), [], {"scrape_native_histograms": True}),
])
def test_native_histograms_are_turned_on_as_each_prometheus_3_takes_it(version, flags, scrape):
    got_flags, got_scrape = try_alerts.native_histogram_settings(version)
    assert got_flags == flags
    assert got_scrape == {"scrape_protocols": ["PrometheusProto", "OpenMetricsText1.0.0", "OpenMetricsText0.0.1",
                                               "PrometheusText0.0.4"], **scrape}


def test_prometheus_2_cannot_run_a_native_service():
    with pytest.raises(try_alerts.CannotRun, match="native histograms need Prometheus 3; this one is 2.42"):
        try_alerts.native_histogram_settings((2, 42))


@pytest.mark.parametrize("line", LINES)
def test_the_version_is_read_from_prometheus_itself(line):
    major, minor = try_alerts.prometheus_version(require("prometheus", line))
    assert f"{major}.{minor}" == {"oldest": "2.42", "newest": "3.5"}[line]


def test_prometheus_3_stores_the_native_histograms_the_exporter_serves(payments_native, tmp_path):
    """The newest line's Prometheus scrapes the fake exporter of payments-api on native
    histograms with the settings the script gives it, and its API returns, for each
    status code, the histogram the exporter served: its count, its sum and its buckets."""
    prometheus = require("prometheus", "newest")
    service = dict(try_alerts.load_service(payments_native.root))
    flags, scrape = try_alerts.native_histogram_settings(try_alerts.prometheus_version(prometheus))
    traffic = try_alerts.Traffic([service], "slow-burn")
    exporter = try_alerts.exporter(traffic)
    server = None
    try:
        config = tmp_path / "prometheus.yml"
        try_alerts.write_yaml(config, try_alerts.prometheus_config([service], exporter.server_address[1], 9, [], scrape))
        server = try_alerts.Server("prometheus", prometheus, lambda port: [
            f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", *flags], tmp_path)
        server.start(time.monotonic() + 30)
        query = "/api/v1/query?query=" + urllib.parse.quote('http_server_request_duration_seconds{job="payments-api"}')

        def stored():
            result = server.get(query)["data"]["result"]
            return result if len(result) == 2 and all(float(r["histogram"][1]["count"]) > 0 for r in result) else None

        result = try_alerts.poll(stored, time.monotonic() + 30, [server])
        assert result, f"no native histograms stored; Prometheus's log:\n{server.log.read_text()}"
        for series in result:
            histogram = series["histogram"][1]
            count, total = float(histogram["count"]), float(histogram["sum"])
            buckets = {(float(lower), float(upper)): float(n) for _, lower, upper, n in histogram["buckets"]}
            assert set(buckets) <= {(0.125, 0.25), (0.25, 0.5), (0.5, 1.0)}, buckets
            assert buckets.get((0.25, 0.5), 0) == 0, "the threshold's own bucket stays empty"
            assert sum(buckets.values()) == pytest.approx(count)
            assert total == pytest.approx(buckets.get((0.125, 0.25), 0) * 0.25 + buckets.get((0.5, 1.0), 0) * 1)
            slow = math.sqrt(0.01 * 0.06)  # the slow burn of the latency SLO, between its ticket and page thresholds
            assert buckets[(0.5, 1.0)] / count == pytest.approx(slow, rel=1e-6)
        classic = server.get("/api/v1/query?query=" + urllib.parse.quote('{__name__=~".+_(bucket|count|sum)", job="payments-api"}'))
        assert classic["data"]["result"] == [], "no classic series"
    finally:
        if server:
            server.stop()
        exporter.shutdown()
        exporter.server_close()


# --- Notifications, as real Alertmanagers send them ----------------------------------


def recording(version: str) -> dict:
    return json.loads((ROOT / "tests" / "fixtures" / "alertmanager" / f"{version}.json").read_text(encoding="utf-8"))


def test_payloads_are_recorded_from_the_oldest_and_newest_alertmanager():
    assert [path.stem for path in RECORDINGS] == RECORDED_VERSIONS
    assert [recording(version)["alertmanager"] for version in RECORDED_VERSIONS] == RECORDED_VERSIONS


def test_the_recordings_went_through_the_paging_integrations_routes_yaml_has(payments, clickstream):
    for version in RECORDED_VERSIONS:
        recorded = recording(version)["page_integrations"]
        assert recorded == {"payments-api": page_integrations(payments.root),
                            "clickstream-pipeline": page_integrations(clickstream.root)}, (
            f"routes.yaml's pagerduty_configs or opsgenie_configs changed since {version} was recorded: "
            "run tests/record_alertmanager_payloads.py with that Alertmanager")


@pytest.fixture(scope="module")
def live_recording(payments, clickstream, tmp_path_factory):
    """The same recording, made now with the alertmanager of each release line the tests
    install, once per line."""
    made: dict[str, dict] = {}

    def of_line(line: str) -> dict:
        if line not in made:
            templates = short_directory()
            try:
                work = tmp_path_factory.mktemp("recording")
                binary = runnable_alertmanager(require("alertmanager", line), work, templates)
                made[line] = record(binary, [payments.root, clickstream.root], work)
            finally:
                shutil.rmtree(templates, ignore_errors=True)
        return made[line]

    return of_line


@pytest.fixture(params=[*RECORDED_VERSIONS, *(f"installed-{line}" for line in LINES)])
def notifications(request):
    """A recording, with what try_alerts reads in each notification."""
    if request.param.startswith("installed-"):
        data = request.getfixturevalue("live_recording")(request.param.removeprefix("installed-"))
    else:
        data = recording(request.param)
    for note in data["notifications"]:
        note["alerts"] = try_alerts.alerts_in(note["integration"], note["payload"])
    return data


def posted(data: dict, alertname: str) -> dict:
    [alert] = [alert for alert in data["posted"] if alert["labels"]["alertname"] == alertname]
    return alert


def test_every_notification_names_its_alerts_with_their_labels_and_annotations(notifications):
    heard = []
    for note in notifications["notifications"]:
        assert note["alerts"], f"{note['receiver']} ({note['integration']}): no alert read in {note['payload']}"
        for alert in note["alerts"]:
            sent = posted(notifications, alert["labels"]["alertname"])
            heard.append(alert["labels"]["alertname"])
            assert alert["status"] == "firing"
            assert {k: alert["labels"].get(k) for k in ("severity", "tier", "slo", "service")} == \
                {k: sent["labels"].get(k) for k in ("severity", "tier", "slo", "service")}
            if note["stands_in_for"] != DEFAULT_DETAILS:  # the integrations routes.yaml writes
                assert alert["labels"] == sent["labels"]
                assert alert["annotations"] == sent["annotations"], "text stays text"
    assert sorted(set(heard)) == sorted({
        "PaymentsApiAvailabilityBudgetBurnFast", "PaymentsApiTargetDown",
        "PaymentsApiLatencyBudgetBurnSlow",
        "ClickstreamPipelineFreshnessBudgetBurnFast", "ClickstreamPipelineTargetDown"})


def test_summaries_and_descriptions_reach_pagerduty_and_opsgenie_as_text(notifications):
    awkward = [alert for alert in notifications["posted"] if alert["labels"]["alertname"].endswith("TargetDown")]
    assert all(": " in a["annotations"]["summary"] and "\n" in a["annotations"]["description"] for a in awkward)
    checked = set()
    for note in notifications["notifications"]:
        payload = note["payload"]
        if note["integration"] == "pagerduty" and note["stands_in_for"] != DEFAULT_DETAILS:
            text = payload["payload"]["custom_details"]["firing"]
        elif note["integration"] == "opsgenie":
            text = payload["description"]
        else:
            continue
        assert isinstance(text, str), f"{note['receiver']}: the alerts arrive as {type(text).__name__}: {text}"
        for alert in awkward:
            if alert["labels"]["alertname"] in text:
                for name in ("summary", "description", "runbook_url"):
                    assert f" - {name} = {alert['annotations'][name]}\n" in text, f"{name} as written:\n{text}"
                checked.add((note["integration"], alert["labels"]["alertname"]))
    assert checked == {("pagerduty", "PaymentsApiTargetDown"),
                       ("opsgenie", "ClickstreamPipelineTargetDown")}


def test_alertmanagers_default_pagerduty_details_are_read_too(notifications):
    """A PagerDuty integration written without routes.yaml's details (an older release, or
    an owner's own): text up to 0.29, data from 0.30 on, whose values Alertmanager 0.30 to
    0.33 read as YAML again."""
    defaults = [note for note in notifications["notifications"] if note["stands_in_for"] == DEFAULT_DETAILS]
    assert len(defaults) == 2
    as_data = isinstance(defaults[0]["payload"]["payload"]["custom_details"]["firing"], list)
    assert as_data == (notifications["alertmanager"] != "0.25.0")
    [burn] = [a for note in defaults for a in note["alerts"] if a["labels"]["alertname"].endswith("BudgetBurnFast")]
    assert burn["labels"]["tier"] == "1"
    # Both hold one ": " (the summary after the SLO's name, the description before "act
    # now"): a mapping of one entry, written back as it was.
    assert burn["annotations"] == posted(notifications, "PaymentsApiAvailabilityBudgetBurnFast")["annotations"]
    assert burn.get("restored", []) == (["description", "summary"] if as_data else [])


def test_alerts_an_inhibit_rule_holds_back_are_settled_and_reported(notifications):
    managed = notifications["alerts"]
    held = try_alerts.suppressed(managed)
    assert [(h["labels"]["alertname"], h["silenced"]) for h in held] == [
        ("ClickstreamPipelineFreshnessBudgetBurnSlow", False), ("PaymentsApiAvailabilityBudgetBurnSlow", False)]
    for alert in held:
        pages_of_its_slo = {a["labels"]["alertname"] for a in notifications["posted"]
                            if a["labels"].get("slo") == alert["labels"]["slo"] and a["labels"]["severity"] == "page"}
        assert alert["inhibited_by"] and set(alert["inhibited_by"]) <= pages_of_its_slo
    firing = [{"labels": alert["labels"]} for alert in notifications["posted"]]
    assert try_alerts.undelivered(firing, managed, notifications["notifications"]) == []
    assert try_alerts.undelivered(firing, managed, []) != [], "undelivered while nobody heard the rest"


def test_the_report_names_each_alert_with_severity_tier_summary_and_runbook(notifications):
    result = {"scenario": "fast-burn", "settled": True, "services": [], "waits": {}, "for_seconds": 5,
              "notifications": notifications["notifications"], "undelivered": [],
              "suppressed": try_alerts.suppressed(notifications["alerts"])}
    text = try_alerts.report(result)
    assert "not listed in this payload" not in text and "=?" not in text, text
    for alert in notifications["posted"]:
        labels, annotations = alert["labels"], alert["annotations"]
        line = f"    FIRING {labels['alertname']} severity={labels['severity']} tier={labels['tier']}"
        if any(held["labels"] == labels for held in result["suppressed"]):
            assert f"\n  {labels['alertname']} severity=ticket tier={labels['tier']}: inhibited by " in text
            assert line not in text
            continue
        summary = "      " + annotations["summary"].replace("\n", "\n      ")
        assert f"{line}\n{summary}\n      runbook: {annotations['runbook_url']}\n" in text + "\n", text


# --- Servers that stop ---------------------------------------------------------------


def test_a_prometheus_that_stops_mid_run_ends_it_with_what_it_said(tmp_path):
    config = tmp_path / "prometheus.yml"
    config.write_text("global: {scrape_interval: 1s}\n", encoding="utf-8")
    server = try_alerts.Server("prometheus", require("prometheus"), lambda port: [
        f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        tmp_path)
    try:
        server.start(time.monotonic() + 30)
        server.process.kill()
        with pytest.raises(try_alerts.CannotRun, match="prometheus stopped during the run"):
            try_alerts.wait_until(lambda: server.evaluated_groups() > 0, time.monotonic() + 10, "the rules", [server])
    finally:
        server.stop()


def test_a_server_that_cannot_start_says_why(tmp_path):
    server = try_alerts.Server("prometheus", require("prometheus"), lambda port: [
        f"--config.file={tmp_path / 'missing.yml'}", f"--web.listen-address=127.0.0.1:{port}"], tmp_path)
    with pytest.raises(try_alerts.CannotRun, match=r"prometheus \(.*\) did not start:\n.*missing\.yml"):
        server.start(time.monotonic() + 30)
    assert server.process.poll() is not None


def test_the_script_is_written_in_the_python_it_asks_for():
    """Python 3.9 and later, as its docstring says."""
    assert "Needs Python 3.9+" in try_alerts.__doc__
    ast.parse(SCRIPT.read_text(encoding="utf-8"), feature_version=(3, 9))
