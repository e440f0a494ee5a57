"""docs/runbooks: one per SLO, one per datastore, message system and dependency, and
disaster recovery; each with the same sections; the index maps every alert; no link in
the generated documents is broken."""

from __future__ import annotations

import re

import yaml

from support.layout import RUNBOOK_INDEX, RUNBOOKS
from support.links import broken_links
from support.markdown import fenced_blocks, headings, section, tables
from support.project import example_answers

SECTIONS = ["Meaning", "Impact", "Diagnosis", "Mitigation", "Escalation", "Related"]


def runbooks(project):
    return {p.name: p.read_text(encoding="utf-8") for p in (project.root / RUNBOOKS).glob("*.md") if p.name != "README.md"}


def test_the_expected_runbooks_exist(payments):
    names = set(runbooks(payments))
    assert names == {
        "slo-availability.md", "slo-latency.md", "sli-data-missing.md",
        "datastore-postgresql.md", "datastore-redis.md", "messaging-kafka.md",
        "dependency-card-processor.md", "dependency-ledger-service.md",
        "dependency-fraud-scoring.md", "dependency-customer-profile.md",
        "disaster-recovery.md",
    }


def test_every_runbook_has_the_standard_sections_in_order(any_project):
    for name, text in runbooks(any_project).items():
        level_two = [h.title for h in headings(text) if h.level == 2]
        assert level_two == SECTIONS, name


def test_the_index_maps_every_alert_to_its_runbook(any_project):
    index = any_project.text(RUNBOOK_INDEX)
    rows = tables(index)[0][1:]
    mapped = {row[0].strip("`"): re.search(r"\(([^)]+)\)", row[3]).group(1) for row in rows}
    for rule in any_project.alerts:
        assert mapped[rule["alert"]] == rule["annotations"]["runbook_url"].rsplit("/", 1)[-1]


def test_disaster_recovery_states_the_objectives(payments):
    answers = example_answers("payments-api")
    text = runbooks(payments)["disaster-recovery.md"]
    assert (answers["rto_minutes"], answers["rpo_minutes"]) == (30, 1), "the example these lines read"
    assert "| Recovery time (RTO) | 30 minutes |" in text
    assert "| Recovery point (RPO) | 1 minute |" in text
    assert "Promote the passive region" in text


def test_dependency_runbooks_carry_the_owners_escalation(payments):
    text = runbooks(payments)["dependency-card-processor.md"]
    assert "authorizes, captures and refunds card payments" in text
    assert "team-payments" in text and "pagerduty" in text


def test_no_link_in_the_generated_documents_is_broken(any_project):
    assert broken_links(any_project.root) == []


def test_an_on_call_engineer_paged_for_a_stalled_worker_finds_the_signal_and_how_to_export_it(render):
    """The notification worker consumes from SQS: the Stalled alert reads the age of the
    oldest waiting message, its runbook says what fired and where to look, the README
    gives the recording rule that names the broker's metric, and the SQS runbook the query
    of the exporter that reads it."""
    project = render("notification-worker", example_answers("notification-worker"))
    slug = project.answers["project_slug"]
    stalled = next(rule for rule in project.alerts if rule["alert"].endswith("Stalled"))
    signal = f'messaging_oldest_message_age_seconds{{job="{slug}"}}'
    assert signal in stalled["expr"]
    runbook = runbooks(project)["slo-message-age.md"]
    assert f"`{stalled['alert']}`" in runbook and "poison message" in runbook
    rule = yaml.safe_load(fenced_blocks(section(project.text("README.md"), "Metric convention"), "yaml")[0])[0]
    assert rule["record"] == "messaging_oldest_message_age_seconds" and rule["labels"] == {"job": slug}
    assert "[Amazon SQS](docs/runbooks/messaging-sqs.md)" in project.text("README.md")
    queries = fenced_blocks(runbooks(project)["messaging-sqs.md"], "promql")
    assert any("approximate_age_of_oldest_message" in query for query in queries)


def test_a_pipeline_stalls_on_its_last_success_and_its_design_says_where_freshness_is_measured(render):
    project = render("clickstream-pipeline", example_answers("clickstream-pipeline"))
    stalled = next(rule for rule in project.alerts if rule["alert"].endswith("Stalled"))
    assert stalled["expr"].startswith("time() - max(pipeline_last_success_timestamp_seconds{")
    flow = section(project.design, "Typical request flow")
    assert "last-success timestamp" in flow and "runs apart from it" in flow
    assert "pipeline_last_success_timestamp_seconds" in section(project.text("README.md"), "Metric convention")


def test_missing_data_is_told_apart_from_a_broken_scrape_where_prometheus_scrapes(payments, render):
    text = runbooks(payments)["sli-data-missing.md"]
    severities = {row[0].strip("`"): row[1] for row in tables(text)[0][1:]}
    assert severities == {"PaymentsApiTargetDown": "page", "PaymentsApiAvailabilityDataMissing": "ticket",
                          "PaymentsApiLatencyDataMissing": "ticket"}
    assert "global ruler" in text, "a multi-region service says where the rules run"
    pushed = render("notification-worker", example_answers("notification-worker"))
    pushed_text = runbooks(pushed)["sli-data-missing.md"]
    assert {row[1] for row in tables(pushed_text)[0][1:]} == {"ticket"}, "serverless: nothing to scrape"
    assert "OTLP" in pushed_text
