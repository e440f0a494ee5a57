"""tools/check_design.py as Python: the readiness check a generated repository runs is a
plain file, copied as it is, so its parts are imported here and fed small inputs written
out in full: Markdown tables, headings and front matter, runbook links, OpenSLO documents
and Prometheus rules. The stories in test_readiness.py run it whole in rendered
repositories."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from support.project import ROOT

CHECK_DESIGN = ROOT / "template" / "tools" / "check_design.py"


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("check_design", CHECK_DESIGN)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def lines(text: str) -> list[str]:
    return textwrap.dedent(text).strip("\n").splitlines()


OPENSLO = """
apiVersion: openslo/v1
kind: SLI
metadata: {name: shop-availability, displayName: Availability}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: shop-availability}
spec:
  indicatorRef: shop-availability
  timeWindow: [{duration: 30d, isRolling: true}]
  objectives: [{displayName: Availability, target: 0.9995}]
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: shop-latency, displayName: Latency}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: shop-latency}
spec:
  indicatorRef: shop-latency
  timeWindow: [{duration: 4w, isRolling: true}]
  objectives: [{displayName: Latency, target: 0.99}]
"""

SLO_SECTION = """
## 2) Requirements

### Non-functional requirements (SLOs, latency)

| SLO | SLI: good events / valid events | Objective | Error budget per 30 days |
| --- | --- | --- | --- |
| Availability | Requests without a 5xx \\| 4xx aside. | 99.95 % | 21.6 min |
| Latency | Requests in 400 ms or less. | 99 % | 7.2 h |

- **Throughput:** peak of 800 requests/s.
"""

RULES = """
groups:
  - name: shop-availability
    rules:
      - record: slo:objective:ratio
        expr: vector(0.9995)
        labels: {slo: shop-availability}
      - record: slo:error_budget:ratio
        expr: vector(0.0005)
        labels: {slo: shop-availability}
      - record: slo:time_period:days
        expr: vector(30)
        labels: {slo: shop-availability}
      - record: sloth_slo_info
        expr: vector(1)
        labels: {slo: shop-availability, sloth_objective: "99.95"}
      - alert: ShopAvailabilityBudgetBurnFast
        expr: |-
          slo:sli_error:ratio_rate1h{slo="shop-availability"} > (14.4 * 0.0005)
          and
          slo:sli_error:ratio_rate5m{slo="shop-availability"} > (14.4 * 0.0005)
        labels: {severity: page}
        annotations: {runbook_url: "https://github.com/acme/shop/blob/HEAD/docs/runbooks/slo-availability.md"}
      - alert: ShopAvailabilityBudgetBurnSlow
        expr: |-
          slo:sli_error:ratio_rate1d{slo="shop-availability"} > 0.5
          or
          slo:sli_error:ratio_rate3d{slo="shop-availability"} > (1 * 0.0005)
        labels: {severity: ticket}
        annotations: {runbook_url: "docs/runbooks/slo-availability.md"}
      - alert: ShopAvailabilityDataMissing
        expr: absent(http_server_request_duration_seconds_count{job="shop"})
        labels: {severity: ticket, slo: shop-availability}
        annotations: {runbook_url: "docs/runbooks/sli-data-missing.md"}
"""


def slos(check, text: str = OPENSLO):
    return check.read_openslo([doc for doc in yaml.safe_load_all(text) if doc])


def rules(check, text: str = RULES, file: str = "monitoring/prometheus/slo-rules.yaml"):
    return check.read_rules(text, file)


def slo_table(check, text: str = SLO_SECTION):
    document = lines(text)
    inner = [(index, title) for index, level, title in check.headings(document) if level == 3]
    return check.read_slo_table(document, inner, len(document))


# --- Markdown ---------------------------------------------------------------------------

def test_a_table_is_its_rows_of_cells_without_the_rule_row_and_an_escaped_pipe_stays_in_its_cell(check):
    found = check.tables(lines("""
        Text before.

        | A | B |
        | :--- | ---: |
        | 1 | x \\| y |

        | C |
        | --- |
        | 2 |
    """))
    assert found == [[["A", "B"], ["1", "x \\| y"]], [["C"], ["2"]]]


def test_headings_inside_fenced_code_are_not_headings(check):
    found = check.headings(lines("""
        # Title
        ```markdown
        ## Not a section
        ```
        ## 1) Problem & Goals
        ### Problem statement
    """))
    assert found == [(0, 1, "Title"), (4, 2, "1) Problem & Goals"), (5, 3, "Problem statement")]


def test_a_sub_heading_is_known_by_the_words_before_its_parenthesis_or_colon(check):
    assert check.stem("Non-functional requirements (SLOs, latency, throughput)") == "non-functional requirements"
    assert check.stem("Diagram (ASCII)") == "diagram"
    assert check.stem("Migrations: schema and data") == "migrations"


def test_a_todo_in_a_code_span_is_an_example_not_a_prompt(check):
    document = lines("""
        Mark open points with `TODO:` so the check finds them.
        - TODO: the use cases.
    """)
    assert check.todo_lines(document, 0, len(document)) == ["line 2: - TODO: the use cases."]


def test_the_header_table_gives_the_status(check):
    header = lines("""
        | Field | Value |
        | --- | --- |
        | Status | In review |
        | Owner | team-shop |
    """)
    assert check.header_value(header, "Status") == "In review"
    assert check.header_value(header, "Reviewers") == ""


@pytest.mark.parametrize(("text", "expected"), [
    ("---\nstatus: accepted\ndate: 2025-01-02\n---\n\n# Use PostgreSQL\n", {"status": "accepted", "date": "2025-01-02"}),
    ("# Use PostgreSQL\n\nstatus: accepted\n", {}),
    ("---\nstatus: [accepted\n---\n\n# Broken\n", {}),
])
def test_a_records_front_matter_is_read_and_a_broken_one_is_none(check, text, expected):
    found = check.front_matter(text)
    assert {key: str(value) for key, value in found.items()} == expected


def test_the_nav_of_a_docs_site_lists_pages_with_their_titles_at_any_depth(check):
    nav = yaml.safe_load("""
        - Overview: index.md
        - Decisions:
            - adr/README.md
            - adr/0001-record-architecture-decisions.md
        - Runbooks:
            - "Runbook: card-processor unavailable or slow": runbooks/dependency-card-processor.md
    """)
    assert check.nav_pages(nav) == [
        ("Overview", "index.md"), ("", "adr/README.md"), ("", "adr/0001-record-architecture-decisions.md"),
        ("Runbook: card-processor unavailable or slow", "runbooks/dependency-card-processor.md"),
    ]


# --- where the documents are ----------------------------------------------------------------

def test_records_runbooks_and_the_design_are_read_from_the_docs_sites_docs_dir(check, tmp_path):
    (tmp_path / "mkdocs.yml").write_text("site_name: Shop\ndocs_dir: handbook\nnav:\n  - Design: design.md\n", encoding="utf-8")
    layout = check.read_layout(tmp_path)
    assert (layout.design, layout.adr_dir, layout.runbooks_dir) == (
        Path("handbook/design.md"), Path("handbook/adr"), Path("handbook/runbooks"))


def test_without_a_docs_site_the_documents_are_in_docs(check, tmp_path):
    layout = check.read_layout(tmp_path)
    assert (layout.design, layout.adr_dir, layout.runbooks_dir) == (
        Path("docs/design.md"), Path("docs/adr"), Path("docs/runbooks"))


def test_the_decision_log_is_checked_where_the_docs_site_keeps_its_pages(check, tmp_path):
    adr = tmp_path / "handbook/adr"
    adr.mkdir(parents=True)
    (tmp_path / "mkdocs.yml").write_text("docs_dir: handbook\n", encoding="utf-8")
    (adr / "0001-record-architecture-decisions.md").write_text("# Record\n", encoding="utf-8")
    (adr / "0003-use-kafka.md").write_text("# Use Kafka\n", encoding="utf-8")
    (adr / "README.md").write_text("- [0001](0001-record-architecture-decisions.md)\n- [0002](0002-use-postgresql.md)\n",
                                   encoding="utf-8")
    report = check.Report()
    check.check_decision_log(tmp_path, check.read_layout(tmp_path), report)
    assert report.contradictions == [
        "decision records are not numbered 0001 to 0002 in sequence (0002 missing): a record is marked rejected "
        "or superseded, not deleted",
        "handbook/adr/0003-use-kafka.md is missing from the ADR log (handbook/adr/README.md)",
        "the ADR log lists 0002-use-postgresql.md, which does not exist in handbook/adr/",
    ]


def test_the_docs_sites_nav_names_pages_that_are_gone_and_misses_pages_that_are_there(check, tmp_path):
    runbooks = tmp_path / "docs/runbooks"
    runbooks.mkdir(parents=True)
    (runbooks / "slo-availability.md").write_text("# Availability\n", encoding="utf-8")
    (runbooks / "card-network-outage.md").write_text("# Card network outage\n", encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(
        "nav:\n  - Runbooks:\n      - runbooks/slo-availability.md\n      - runbooks/slo-latency.md\n"
        "  - Status: https://status.example.com/\n", encoding="utf-8")
    report = check.Report()
    check.check_site_navigation(tmp_path, check.read_layout(tmp_path), report)
    assert report.contradictions == [
        "the nav of mkdocs.yml lists runbooks/slo-latency.md, which does not exist in docs/: remove it from the nav, "
        "or bring the page back",
        "docs/runbooks/card-network-outage.md is not in the nav of mkdocs.yml, so the docs site does not list it: "
        "add it under Runbooks",
    ]


# --- runbook links ------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "relative"), [
    ("https://github.com/acme/shop/blob/HEAD/docs/runbooks/slo-availability.md", "docs/runbooks/slo-availability.md"),
    ("https://gitlab.com/acme/team/shop/-/blob/main/docs/runbooks/slo-latency.md", "docs/runbooks/slo-latency.md"),
    ("https://bitbucket.org/acme/shop/src/HEAD/docs/runbooks/slo-age.md", "docs/runbooks/slo-age.md"),
    ("https://github.com/acme/shop/blob/HEAD/docs/runbooks/slo-availability.md#mitigation", "docs/runbooks/slo-availability.md"),
    ("docs/runbooks/sli-data-missing.md", "docs/runbooks/sli-data-missing.md"),
    ("./docs/runbooks/disaster%20recovery.md", "docs/runbooks/disaster recovery.md"),
    ("/docs/runbooks/scrape-failing.md", "docs/runbooks/scrape-failing.md"),
])
def test_a_runbook_link_leads_to_a_file_of_the_repository(check, tmp_path, url, relative):
    assert check.runbook_path(tmp_path, url) == (tmp_path / relative).resolve()


@pytest.mark.parametrize("url", [
    "https://wiki.example.com/display/SHOP/Availability",
    "mailto:oncall@example.com",
    "../other-repository/docs/runbooks/slo-availability.md",
])
def test_a_runbook_link_out_of_the_repository_leads_nowhere_the_check_can_see(check, tmp_path, url):
    assert check.runbook_path(tmp_path, url) is None


def test_every_alert_needs_a_runbook_that_exists_whatever_its_labels(check, tmp_path):
    (tmp_path / "docs/runbooks").mkdir(parents=True)
    (tmp_path / "docs/runbooks/slo-availability.md").write_text("# Availability\n", encoding="utf-8")
    scrape = rules(check, """
        groups:
          - name: shop-scrape
            rules:
              - alert: ShopScrapeFailing
                expr: up{job="shop"} == 0
                labels: {severity: page}
                annotations: {runbook_url: "docs/runbooks/scrape-failing.md"}
              - alert: ShopStalled
                expr: queue_depth{job="shop"} > 0
                labels: {severity: ticket, service: shop}
    """, "monitoring/prometheus/service-rules.yaml")
    assert check.alerts_without_runbooks(tmp_path, rules(check) + scrape) == [
        "alert ShopAvailabilityDataMissing: its runbook docs/runbooks/sli-data-missing.md does not exist",
        "alert ShopScrapeFailing: its runbook docs/runbooks/scrape-failing.md does not exist",
        "alert ShopStalled (monitoring/prometheus/service-rules.yaml) has no runbook_url",
    ]


# --- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "minutes", "rounding"), [
    ("21.6 min", "21.6", "0.05"), ("7.2 h", "432", "3"), ("2.8 d", "4032", "72"), ("26 s", "0.4333", "0.0083"),
    ("18 h", "1080", "30"),
])
def test_an_error_budget_cell_is_minutes_give_or_take_its_rounding(check, cell, minutes, rounding):
    said, give_or_take = check.duration_minutes(cell)
    assert round(said, 4) == Decimal(minutes) and round(give_or_take, 4) == Decimal(rounding)


def test_objectives_read_as_ratios_and_windows_as_days(check):
    assert check.percent_as_ratio("99.95 %") == Decimal("0.9995")
    assert check.percent_as_ratio("99.9%") == Decimal("0.999")
    assert check.percent_as_ratio("TODO: agree on a target") is None
    assert (check.window_days("30d"), check.window_days("4w"), check.window_days("1M")) == (30, 28, None)


def test_openslo_gives_each_slo_its_slis_title_target_and_window(check):
    assert slos(check) == [
        check.SloDefinition("shop-availability", "Availability", Decimal("0.9995"), 30),
        check.SloDefinition("shop-latency", "Latency", Decimal("0.99"), 28),
    ]


def test_the_design_documents_slo_table_gives_each_rows_objective_budget_and_the_window(check):
    table = slo_table(check)
    assert table.window_days == 30
    assert table.rows == {
        "Availability": check.SloRow("Availability", "99.95 %", "21.6 min"),
        "Latency": check.SloRow("Latency", "99 %", "7.2 h"),
    }


def test_a_design_table_that_agrees_with_openslo_contradicts_nothing(check):
    table = slo_table(check)
    agreeing = slos(check, OPENSLO.replace("duration: 4w", "duration: 30d"))
    assert check.design_against_openslo(table, agreeing) == []


def test_the_design_tables_objective_budget_window_and_rows_against_openslo(check):
    table = slo_table(check, SLO_SECTION.replace("| 99.95 % |", "| 99.9 % |")
                         .replace("| 7.2 h |", "| 3.6 h |\n| Freshness | Probes that find fresh output. | 99 % | 7.2 h |"))
    assert check.design_against_openslo(table, slos(check)) == [
        "SLO shop-availability: the design document says 99.9 %, slo/openslo.yaml says 0.9995",
        "SLO shop-latency: the design document's SLO table counts the error budget per 30 days, "
        "slo/openslo.yaml measures over 28 days",
        "SLO shop-latency: the design document gives an error budget of 3.6 h per 28 days, but a target of 0.99 "
        "(slo/openslo.yaml) over 28 days leaves 6.7 h",
        "the design document's SLO table has a row 'Freshness', which is no SLO of slo/openslo.yaml",
    ]


def test_an_slo_the_design_table_lacks_and_an_objective_that_is_no_number_are_contradictions(check):
    table = slo_table(check, SLO_SECTION.replace("| 99 % |", "| TODO: agree |")
                         .replace("| Availability | Requests without a 5xx \\| 4xx aside. | 99.95 % | 21.6 min |\n", ""))
    found = check.design_against_openslo(table, slos(check))
    assert found == [
        "SLO shop-availability (Availability) of slo/openslo.yaml is not in the design document's SLO table",
        "SLO shop-latency: the design document's SLO table counts the error budget per 30 days, "
        "slo/openslo.yaml measures over 28 days",
        "SLO shop-latency: the design document's objective 'TODO: agree' is not a percentage",
    ]


def test_rules_that_agree_with_openslo_contradict_nothing(check):
    assert check.rules_against_openslo(slos(check)[:1], rules(check)) == []


def test_each_number_of_the_rules_that_states_the_target_is_held_to_openslo(check):
    tighter = slos(check, OPENSLO.replace("target: 0.9995", "target: 0.9999"))[:1]
    assert check.rules_against_openslo(tighter, rules(check)) == [
        "SLO shop-availability: slo/openslo.yaml says 0.9999, monitoring/prometheus/slo-rules.yaml says 0.9995 "
        '(slo:objective:ratio, slo:error_budget:ratio 0.0005, sloth_objective "99.95", the thresholds of '
        "ShopAvailabilityBudgetBurnFast and ShopAvailabilityBudgetBurnSlow)",
    ]


def test_a_rule_edited_by_hand_is_named_with_the_target_it_states(check):
    edited = rules(check, RULES.replace("vector(0.0005)", "vector(0.001)").replace("> (14.4 * 0.0005)", "> (14.4 * 0.001)")
                   .replace("vector(30)", "vector(28)"))
    assert check.rules_against_openslo(slos(check)[:1], edited) == [
        "SLO shop-availability: slo/openslo.yaml says 0.9995, monitoring/prometheus/slo-rules.yaml says 0.999 "
        "(slo:error_budget:ratio 0.001, the thresholds of ShopAvailabilityBudgetBurnFast)",
        "SLO shop-availability: slo/openslo.yaml measures over 30 days, monitoring/prometheus/slo-rules.yaml "
        "says 28 (slo:time_period:days)",
    ]


def test_page_and_ticket_mean_burn_rate_alerts_not_a_data_missing_alert_of_the_same_slo(check):
    without_slow_burn = rules(check, RULES.replace("alert: ShopAvailabilityBudgetBurnSlow", "record: shop:retired"))
    assert check.missing_burn_rate_alerts(slos(check)[:1], rules(check)) == []
    assert check.missing_burn_rate_alerts(slos(check)[:1], without_slow_burn) == [
        "SLO shop-availability has no ticket burn-rate alert",
    ]
    assert check.missing_burn_rate_alerts(slos(check)[1:], rules(check)) == [
        "SLO shop-latency has no page burn-rate alert", "SLO shop-latency has no ticket burn-rate alert",
    ]


def test_a_promtool_test_file_is_no_rule_file(check):
    assert check.read_rules("rule_files: [slo-rules.yaml]\ntests: []\n", "monitoring/prometheus/slo-rules.test.yaml") is None


# --- the report ---------------------------------------------------------------------------------

def report_of(check, **findings):
    report = check.Report(status=findings.pop("status", "Draft"))
    for name, value in findings.items():
        setattr(report, name, value)
    return report


def test_a_draft_with_only_open_prompts_and_gaps_passes_and_says_when_they_will_fail(check, capsys):
    report = report_of(check, open_items={"Header": ["line 9: | Authors | TODO: names |"]},
                       gaps=["the design document has no section '## 8) Scaling & Performance'"])
    assert not report.fails(blocking=False)
    check.print_report(report, False, Path("docs/design.md"))
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Design readiness: status Draft: 1 open item, 1 gap reported (not blocking while Draft)"
    assert "Open in docs/design.md (they fail the check from 'In review' on):\n  Header: 1 open\n" in out
    assert "Gaps in the brief's coverage (they fail the check from 'In review' on):\n" in out
    assert out.splitlines()[-1] == ("Summary: 0 conflicts, 0 contradictions (failing at every status); "
                                    "1 open item, 1 gap (failing from 'In review' on); status Draft: passes.")


def test_a_draft_with_a_contradiction_fails_and_says_it_fails_at_every_status(check, capsys):
    report = report_of(check, contradictions=["SLO shop-availability: the design document says 99.9 %, "
                                              "slo/openslo.yaml says 0.9995"],
                       open_items={"2) Requirements": ["line 40: - TODO: the use cases."]})
    assert report.fails(blocking=False)
    check.print_report(report, False, Path("docs/design.md"))
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ("Design readiness: status Draft: NOT READY: 1 contradiction "
                                   "(they fail the check at every status)")
    assert ("Contradictions (they fail the check at every status):\n  - SLO shop-availability: the design "
            "document says 99.9 %, slo/openslo.yaml says 0.9995\n") in out
    assert out.splitlines()[-1] == ("Summary: 0 conflicts, 1 contradiction (failing at every status); "
                                    "1 open item, 0 gaps (failing from 'In review' on); status Draft: fails.")


def test_in_review_an_open_prompt_or_a_gap_fails(check):
    assert report_of(check, status="In review", gaps=["component 'Redis' lacks Scaling:"]).fails(blocking=True)
    assert report_of(check, status="In review", open_items={"Header": ["line 9"]}).fails(blocking=True)
    assert not report_of(check, status="Approved").fails(blocking=True)
    assert report_of(check, status="Superseded", conflicts=["docs/design.md.rej"]).fails(blocking=False)
