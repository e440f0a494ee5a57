"""docs/runbooks: one per SLO, one per datastore, message system and dependency, and
disaster recovery; each with the same sections; the index maps every alert; no link in
the generated documents is broken."""

from __future__ import annotations

import re

from support.layout import RUNBOOK_INDEX, RUNBOOKS
from support.links import broken_links
from support.markdown import headings, tables
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
