"""monitoring/prometheus: promtool accepts the rules, and the unit tests generated with
them prove every alert on the days it exists for: a total outage pages (in a fresh
process, after healthy traffic, across a restart), metrics that vanish and a threshold
that is no histogram bucket are heard, a healthy or idle service alerts nobody. Those
tests have teeth: rules that regress on any of these days fail them. All of it holds on
the oldest and the newest Prometheus line (support.tools.LINES); with native histograms
(histogram_type: native) on the newest, Prometheus 3, where every SLI reads the native
series and a threshold inside one of their buckets counts the events on either side of it
exactly. Every alert leads to a runbook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.catalog import is_threshold
from support.layout import PROMETHEUS, RULE_TESTS, RULES, RUNBOOKS
from support.mutation import failures_with
from support.paging import TIERS, TIERS_THAT_PAGE
from support.project import alert_thresholds, example_answers
from support.questions import choices
from support.tools import LINES_READING, run_tool
from support.worst_days import unproven

KINDS = choices("service_kind")
PLATFORMS = choices("deployment")
HISTOGRAM_TYPES = choices("histogram_type")


def worst_days_grid():
    """Every kind with each window, tier and platform drawn across the grid, and each
    histogram type in one of a kind's windows: on every line for classic histograms, on
    the newest for native ones."""
    for kind in KINDS:
        for days in (28, 30):
            histogram_type = HISTOGRAM_TYPES[(KINDS.index(kind) + days // 2) % len(HISTOGRAM_TYPES)]
            for line in LINES_READING[histogram_type]:
                yield pytest.param(kind, days, histogram_type, line, id=f"{kind}-{days}-{histogram_type}-{line}")


def rule_tests(project_dir: Path, line: str):
    return run_tool("promtool", "test", "rules", "slo-rules.test.yaml", cwd=project_dir, line=line)


def failed_cases(result) -> str:
    return result.stdout + result.stderr


def failures_with_rules(project, tmp_path, change, line) -> str:
    return failures_with(project, tmp_path, change, "slo-rules.test.yaml", line)


def test_promtool_accepts_the_rules(any_project, prometheus_line):
    result = run_tool("promtool", "check", "rules", "slo-rules.yaml", cwd=any_project.root / PROMETHEUS, line=prometheus_line)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_unit_tests_pass(any_project, prometheus_line):
    result = rule_tests(any_project.root / PROMETHEUS, prometheus_line)
    assert result.returncode == 0, failed_cases(result)


@pytest.mark.parametrize("kind,days,histogram_type,line", list(worst_days_grid()))
def test_every_kind_and_window_proves_its_worst_days(render, kind, days, histogram_type, line):
    tier = TIERS[(KINDS.index(kind) + days) % len(TIERS)]  # every tier across the grid
    platform = PLATFORMS[(KINDS.index(kind) + days) % len(PLATFORMS)]  # every platform too
    project = render(f"worst-days-{kind}-{days}-tier-{tier}-{platform}-{histogram_type}",
                     {"service_kind": kind, "slo_window_days": days, "tier": tier, "deployment": platform,
                      "histogram_type": histogram_type})
    result = rule_tests(project.root / PROMETHEUS, line)
    assert result.returncode == 0, failed_cases(result)
    names = [case["name"] for case in project.yaml(RULE_TESTS)["tests"]]
    for slo in project.slo_names:
        slo_slug = slo.removeprefix(project.answers["project_slug"] + "-")
        assert unproven(names, slo, slo_slug, platform, histogram_type) == [], f"{slo}: days without a test"


# --- Native histograms -----------------------------------------------------------------


def test_promtool_accepts_the_native_rules(native_project, prometheus_line):
    result = run_tool("promtool", "check", "rules", "slo-rules.yaml", cwd=native_project.root / PROMETHEUS, line=prometheus_line)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_sli_of_a_native_service_reads_the_native_histograms(native_project):
    """No `_bucket` or `_count` series anywhere: events are counted with histogram_count()
    and the events above a threshold with histogram_fraction(); the series DataMissing
    requires are the native histograms themselves."""
    slug = native_project.answers["project_slug"]
    rules = [rule for group in native_project.yaml(RULES)["groups"] for rule in group["rules"]]
    sli = [rule["expr"] for rule in rules if rule.get("record", "").startswith(("slo:sli_error:ratio_rate", "slo:sli_events", "slo:sli_error_events"))
           and "sum_over_time" not in rule["expr"]]
    assert sli and all("histogram_count(rate(" in expr for expr in sli)
    assert not [rule for rule in rules if re.search(r"_(bucket|count|sum)\{", rule["expr"])], "no classic series"
    for slo in native_project.slo_names:
        threshold = is_threshold(slo.removeprefix(f"{slug}-"))
        ratio = next(rule["expr"] for rule in rules if rule.get("record") == "slo:sli_error:ratio_rate5m"
                     and rule["labels"]["slo"] == slo)
        assert ("histogram_fraction(" in ratio) is threshold, ratio
        [missing] = [rule for rule in rules if rule.get("alert", "").endswith("DataMissing") and rule["labels"]["slo"] == slo]
        required = re.findall(r"absent\((\w+)\{job=", missing["expr"])
        assert required and all(name.endswith("_seconds") for name in required), missing["expr"]


def test_the_native_rule_unit_tests_pass_on_prometheus_3_and_prove_every_day(native_project):
    result = rule_tests(native_project.root / PROMETHEUS, "newest")
    assert result.returncode == 0, failed_cases(result)
    names = [case["name"] for case in native_project.yaml(RULE_TESTS)["tests"]]
    assert not [name for name in names if "no bucket of the histogram" in name], "any threshold works"
    for slo in native_project.slo_names:
        slo_slug = slo.removeprefix(native_project.answers["project_slug"] + "-")
        assert unproven(names, slo, slo_slug, native_project.answers["deployment"], "native") == [], slo


@pytest.mark.parametrize("target", [90, 99.999])
def test_a_native_total_outage_pages_at_the_extreme_targets(render, target):
    project = render(f"target-{target}-native", {"availability_slo": target, "latency_slo": target, "slo_window_days": 28,
                                                 "latency_threshold_ms": 333, "histogram_type": "native"})
    result = rule_tests(project.root / PROMETHEUS, "newest")
    assert result.returncode == 0, failed_cases(result)


def built_on_the_success_series(rules: str, series: str, counted: str = "") -> str:
    """payments-api's rules with its error ratio written the old way, 1 - good/valid: the
    failed requests of `series` (each rate wrapped in `counted`, e.g. histogram_count, if
    given) replaced by the requests that did not fail."""
    opened, closed = (f"{counted}(", ")") if counted else ("", "")
    failed = (rf"\(sum\({re.escape(opened)}rate\(({series})"
              rf'\{{job="payments-api",http_response_status_code=~"5.."\}}\[(\w+)\]\){re.escape(closed)}\) or vector\(0\)\)')
    succeeded = rf'1 - sum({opened}rate(\1{{job="payments-api",http_response_status_code!~"5.."}}[\2]){closed}) / 1'
    rewritten = re.sub(failed, succeeded, rules)
    assert rewritten != rules, "the rules count failed requests as this test expects"
    return rewritten


def test_native_rules_built_on_the_success_series_fail_the_outage_tests(payments_native, tmp_path):
    """1 - good/valid over native histograms reads "no data" when only failure series exist."""

    def good_over_valid(rules: str) -> str:
        return built_on_the_success_series(rules, "http_server_request_duration_seconds", counted="histogram_count")

    output = failures_with_rules(payments_native, tmp_path, good_over_valid, "newest")
    assert "a total outage of a fresh process pages" in output
    assert "a restart in the middle of a total outage keeps paging" in output


def test_a_native_threshold_read_at_another_bound_fails_the_inside_a_bucket_test(payments_native, tmp_path):
    """0.4 s lies in the bucket (0.25 s, 0.5 s], whose neighbours hold the good and the bad
    events; read at 1 s, the upper bound of the bucket above, every event looks good."""
    output = failures_with_rules(payments_native, tmp_path,
                                 lambda rules: rules.replace("histogram_fraction(0.4, +Inf", "histogram_fraction(1, +Inf"), "newest")
    assert "a threshold inside a histogram bucket counts the events on either side of it exactly" in output


@pytest.mark.parametrize("target", [90, 95, 99.999])
def test_a_total_outage_pages_at_every_accepted_target(render, target, prometheus_line):
    """Below about 93 % a 14.4x burn would need more than 100 % of events to fail: the
    generated rules cap the threshold so the page still fires, and the tests prove it."""
    project = render(f"target-{target}", {"availability_slo": target, "latency_slo": target, "slo_window_days": 28})
    result = rule_tests(project.root / PROMETHEUS, prometheus_line)
    assert result.returncode == 0, failed_cases(result)
    burns = [alert for alert in project.alerts if alert_thresholds(alert["expr"])]
    assert burns, "the burn alerts state their thresholds"
    for alert in burns:
        for ratio in alert_thresholds(alert["expr"]):
            assert ratio <= 0.5, f"{alert['alert']} waits for {ratio:.0%} of events to fail"


def test_rules_built_on_the_success_series_fail_the_outage_tests(payments, tmp_path, prometheus_line):
    """The old shape, 1 - good/valid, reads "no data" when only failure series exist."""

    def good_over_valid(rules: str) -> str:
        return built_on_the_success_series(rules, "http_server_request_duration_seconds_count")

    output = failures_with_rules(payments, tmp_path, good_over_valid, prometheus_line)
    assert "a total outage of a fresh process pages" in output
    assert "a restart in the middle of a total outage keeps paging" in output


def without_alert(name_pattern: str):
    """A change to the rules that deletes every alert whose name matches."""
    def change(rules: str) -> str:
        return re.sub(rf"      - alert: {name_pattern}\n(?:        .*\n|          .*\n)+", "", rules)
    return change


def test_rules_without_the_target_alert_fail_the_broken_scrape_tests(payments, tmp_path, prometheus_line):
    output = failures_with_rules(payments, tmp_path, without_alert(r"\w+TargetDown"), prometheus_line)
    assert "metrics that vanish, every scrape failing, page" in output
    assert "a target gone from service discovery pages" in output


def test_rules_without_the_no_data_alert_fail_the_missing_series_tests(payments, tmp_path, prometheus_line):
    output = failures_with_rules(payments, tmp_path, without_alert(r"\w+DataMissing"), prometheus_line)
    assert "an exporter that is up with no SLI series yet pages nobody, and opens a ticket" in output
    assert "no bucket of the histogram opens a ticket" in output


def test_a_blind_slo_that_pages_within_minutes_fails_the_idle_exporter_test(payments, tmp_path, prometheus_line):
    """The earlier shape: missing series paged after minutes, so a target that answered
    with no traffic yet (a quiet restart, a passive region) woke someone up."""
    def paging_no_data(rules: str) -> str:
        return rules.replace("for: 60m\n        labels:\n          severity: ticket", "for: 5m\n        labels:\n          severity: page")

    output = failures_with_rules(payments, tmp_path, paging_no_data, prometheus_line)
    assert "an exporter that is up with no SLI series yet pages nobody" in output


def test_missing_series_that_ignore_the_scrape_fail_the_broken_scrape_test(payments, tmp_path, prometheus_line):
    """Without `up` in its condition the ticket would follow every page of a broken scrape."""
    def without_up(rules: str) -> str:
        return re.sub(r"\n *and on \(\)\n *max\(up\{[^}]*\}\) > 0", "", rules)

    assert "metrics that vanish, every scrape failing, page" in failures_with_rules(payments, tmp_path, without_up, prometheus_line)


@pytest.mark.parametrize("example,stall", [("notification-worker", "a consumer that stalls"),
                                           ("clickstream-pipeline", "a pipeline that stops")])
def test_rules_without_the_stall_alert_fail_the_stall_test(render, tmp_path, example, stall, prometheus_line):
    """A stalled consumer or a stopped pipeline completes nothing: no burn alert can hear it."""
    project = render(example, example_answers(example))
    assert stall in failures_with_rules(project, tmp_path, without_alert(r"\w+Stalled"), prometheus_line)


def test_a_bound_matched_in_one_spelling_only_fails_the_exporter_spelling_test(render, tmp_path, prometheus_line):
    """A worker's 300 s threshold: Prometheus 3 stores le="300.0", Prometheus 2 keeps a Go
    exporter's le="300". The rules match both; matching one fails the generated test."""
    project = render("worker-default", {"service_kind": "worker"})
    assert 'le=~"300\\\\.0|300"' in project.text(RULES)

    def prometheus_3_only(rules: str) -> str:
        return rules.replace('le=~"300\\\\.0|300"', 'le="300.0"')

    assert 'the exporter writes the bound as le="300"' in failures_with_rules(project, tmp_path, prometheus_3_only, prometheus_line)


def test_uncapped_factors_at_a_low_target_fail_the_outage_tests(render, tmp_path, prometheus_line):
    project = render("target-90", {"availability_slo": 90, "latency_slo": 90, "slo_window_days": 28})

    def workbook_factors(rules: str) -> str:
        return rules.replace("> 0.5\n", "> (13.44 * 0.1)\n")

    assert "a total outage after an hour of healthy traffic pages" in failures_with_rules(project, tmp_path, workbook_factors, prometheus_line)


def test_the_rule_unit_tests_fail_when_a_page_threshold_is_broken(payments, tmp_path, prometheus_line):
    """If a page alert could never fire, the fast-burn test must catch it."""
    def never_fires(rules: str) -> str:
        return rules.replace("(14.4 *", "(1440 *").replace("(6 *", "(600 *")

    assert "BudgetBurnFast" in failures_with_rules(payments, tmp_path, never_fires, prometheus_line)


def test_the_rule_unit_tests_fail_when_a_page_is_too_eager(payments, tmp_path, prometheus_line):
    """If a slow burn paged, the slow-burn test must catch it."""
    failures_with_rules(payments, tmp_path, lambda rules: rules.replace("(6 *", "(0.6 *"), prometheus_line)


# The SLOs whose events are observed only when work completes, and the signal of their stall.
STALL_SIGNALS = {"message-age": "messaging_oldest_message_age_seconds",
                 "freshness": "pipeline_last_success_timestamp_seconds"}


def test_every_slo_has_page_ticket_and_no_data_alerts_with_annotations(any_project):
    found = any_project.alerts
    slug = any_project.answers["project_slug"]
    for slo in any_project.slo_names:
        burns = sorted(a["labels"]["severity"] for a in found if f'slo="{slo}"' in a["expr"])
        assert burns == ["page", "ticket"], slo
        blind = [a for a in found if a["labels"].get("slo") == slo and "absent(" in a["expr"]]
        assert len(blind) == 1 and blind[0]["labels"]["severity"] == "ticket", slo
        assert blind[0]["for"] == "60m", "a blind SLO is a ticket after an hour"
        stalled = [a for a in found if a["labels"].get("slo") == slo and a["alert"].endswith("Stalled")]
        signal = STALL_SIGNALS.get(slo.removeprefix(f"{slug}-"))
        assert [signal in a["expr"] for a in stalled] == ([True] if signal else []), slo
        assert all(a["labels"]["severity"] == "page" and re.fullmatch(r"\d+m", a["for"]) for a in stalled)
    scraped = any_project.answers["deployment"] != "serverless"
    down = [a for a in found if "slo" not in a["labels"] and 'slo="' not in a["expr"]]  # about no one SLO
    assert [a["labels"]["severity"] for a in down] == (["page"] if scraped else [])
    assert all(f'up{{job="{slug}"}}' in a["expr"] for a in down)
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


@pytest.mark.parametrize("name,factors", [
    ("payments-api", ["14.4", "14.4", "6", "6"]),  # 30 days
    ("clickstream-pipeline", ["13.44", "13.44", "5.6", "5.6"]),  # 28 days: the same share of a smaller budget
])
def test_page_windows_are_the_workbooks_and_factors_follow_the_slo_window(render, name, factors):
    project = render(name, example_answers(name))
    page = next(a for a in project.alerts if a["labels"]["severity"] == "page" and "ratio_rate" in a["expr"])
    assert re.findall(r"ratio_rate(\w+)\{", page["expr"]) == ["1h", "5m", "6h", "30m"]
    assert re.findall(r"> \(([\d.]+) \*", page["expr"]) == factors
