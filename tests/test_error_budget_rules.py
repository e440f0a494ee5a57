"""The error budget series of monitoring/prometheus/slo-rules.yaml, which the dashboard and
sloth's community dashboards read: recorded for every SLO with sloth's names and labels
next to the alerts' own, and proven by the generated slo-budget.test.yaml over whole SLO
periods: half the budget's error rate for a month leaves half the budget and burns at 0.5;
every event counts once, however busy or idle its day; a bad day older than the period no
longer counts. Those tests have teeth: a period SLI that averages 5-minute ratios, as
sloth's does, or a window longer than the period fails them. On the oldest and the newest Prometheus line alike;
with native histograms on the newest, where an idle day must count no bad events rather than
an unknown share of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.layout import BUDGET_TESTS, PROMETHEUS, RULES
from support.mutation import failures_with
from support.tools import run_tool

BUDGET_SERIES = ("slo:objective:ratio", "slo:error_budget:ratio", "slo:time_period:days", "slo:current_burn_rate:ratio",
                 "slo:period_burn_rate:ratio", "slo:period_error_budget_remaining:ratio", "sloth_slo_info")


def budget_tests(prometheus: Path, line: str):
    return run_tool("promtool", "test", "rules", "slo-budget.test.yaml", cwd=prometheus, line=line)


def test_the_budget_tests_pass(any_project, prometheus_line):
    result = budget_tests(any_project.root / PROMETHEUS, prometheus_line)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("target", [90, 99.999])
def test_the_budget_tests_pass_at_the_extreme_targets_of_a_28_day_window(render, target, prometheus_line):
    """At 90 % a day at ten times the budget's rate fails every event; at 99.999 % half the
    budget's rate fails one event in 200,000."""
    project = render(f"target-{target}", {"availability_slo": target, "latency_slo": target, "slo_window_days": 28})
    result = budget_tests(project.root / PROMETHEUS, prometheus_line)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_slo_has_its_month_its_weighting_and_its_window_proven(any_project):
    days = any_project.answers["slo_window_days"]
    names = [case["name"] for case in any_project.yaml(BUDGET_TESTS)["tests"]]
    for slo in any_project.slo_names:
        proven = [name.split(": ", 1)[1] for name in names if name.startswith(f"{slo}: ")]
        for story in (f"{days} days of steady traffic at half the budget's error rate leave half the budget",
                      "every event counts once", f"the bad days have left the {days}-day window"):
            assert any(story in name for name in proven), f"{slo}: no test that {story}"


def test_every_slo_records_sloths_series_with_sloths_labels(any_project):
    days = any_project.answers["slo_window_days"]
    service = any_project.answers["project_slug"]
    groups = {group["name"]: group for group in any_project.yaml(RULES)["groups"]}
    for slo in any_project.slo_names:
        group = groups[slo]
        records = {rule["record"]: rule for rule in group["rules"] if "record" in rule}
        assert set(BUDGET_SERIES) | {f"slo:sli_error:ratio_rate{days}d"} <= set(records), slo
        for rule in records.values():
            labels = rule["labels"]
            assert (labels["slo"], labels["service"]) == (slo, service), "alerts, routes and tests read these"
            assert (labels["sloth_id"], labels["sloth_service"]) == (slo, service)
            assert slo == f"{service}-{labels['sloth_slo']}"
        objective = float(records["slo:objective:ratio"]["expr"].removeprefix("vector(").removesuffix(")"))
        assert float(records["sloth_slo_info"]["labels"]["sloth_objective"]) == pytest.approx(objective * 100), "a percent"


def test_burn_alerts_carry_sloths_severity_and_identity(any_project):
    burns = [alert for alert in any_project.alerts if "ratio_rate" in alert["expr"]]
    assert burns
    for alert in burns:
        assert alert["labels"]["sloth_severity"] == alert["labels"]["severity"]


def test_a_period_sli_averaging_5_minute_ratios_fails_the_budget_tests(payments, tmp_path, prometheus_line):
    """Sloth's period SLI: the mean of the 5-minute ratios. An idle hour makes it NaN, and a
    quiet day weighs as much as a busy one."""

    def averaged(rules: str) -> str:
        return re.sub(
            r"sum_over_time\(slo:sli_error_events:rate5m(\{[^}]*\})\[30d\]\)\n(\s*)/\n\s*sum_over_time\(slo:sli_events:rate5m\{[^}]*\}\[30d\]\)",
            r"sum_over_time(slo:sli_error:ratio_rate5m\1[30d])\n\2/\n\2count_over_time(slo:sli_error:ratio_rate5m\1[30d])",
            rules,
        )

    assert "NaN" in failures_with(payments, tmp_path, averaged, "slo-budget.test.yaml", prometheus_line)


def test_a_period_window_longer_than_the_slos_fails_the_budget_tests(payments, tmp_path, prometheus_line):
    """The bad days' last evaluation lies half a day inside a window one day too long, so
    it is caught whether the range takes its first instant in (Prometheus 2) or not (3)."""
    output = failures_with(payments, tmp_path, lambda rules: rules.replace("[30d])", "[31d])"), "slo-budget.test.yaml", prometheus_line)
    assert re.search(r"time: (32d|4w4d),", output), "the story where a bad day has left the window"


def test_the_native_budget_tests_pass_on_prometheus_3(native_project):
    result = budget_tests(native_project.root / PROMETHEUS, "newest")
    assert result.returncode == 0, result.stdout + result.stderr


def test_native_bad_events_without_the_idle_guard_fail_the_budget_tests(payments_native, tmp_path):
    """An idle native histogram has no share above the threshold (0/0, NaN): counted as it
    is, one idle evaluation makes the SLI over the whole period NaN."""

    def unguarded(rules: str) -> str:
        return rules.replace(" >= 0) or vector(0)", ")")

    assert "NaN" in failures_with(payments_native, tmp_path, unguarded, "slo-budget.test.yaml", "newest")
