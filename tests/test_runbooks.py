"""docs/runbooks: one per SLO, one per datastore, message system and dependency, and
disaster recovery; each with the same sections; the index maps every alert; no link in
the generated documents is broken."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from support.layout import RUNBOOK_INDEX, RUNBOOKS
from support.links import broken_links
from support.markdown import fenced_blocks, headings, section, tables
from support.project import example_answers
from support.tools import require

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


# --- Disaster recovery an on-call engineer can follow -----------------------------------------

STORES = {"postgresql": "PostgreSQL", "mysql": "MySQL", "redis": "Redis", "dynamodb": "DynamoDB",
          "cassandra": "Cassandra", "object-storage": "Object storage", "opensearch": "OpenSearch"}
MESSAGING = {"kafka": "Kafka", "rabbitmq": "RabbitMQ", "sqs": "Amazon SQS", "pubsub": "Google Cloud Pub/Sub",
             "nats": "NATS"}
# A service in several regions with every store and every message system.
EVERY_STORE_ACROSS_REGIONS = {"datastores": list(STORES), "messaging": list(MESSAGING),
                              "topology": "multi-region-active-active", "service_kind": "worker"}


def numbered_steps(text: str) -> list[str]:
    """The items of the first numbered list in `text`, in order, checked to count from 1."""
    steps = re.findall(r"^(\d+)\. (.+)$", text, flags=re.M)
    first_list = []
    for number, step in steps:
        if int(number) != len(first_list) + 1:
            break
        first_list.append(step)
    return first_list


def disaster_recovery(project) -> str:
    return runbooks(project)["disaster-recovery.md"]


def test_an_on_call_engineer_restores_each_store_of_the_payments_api_in_numbered_steps(payments):
    assert payments.answers["datastores"] == ["postgresql", "redis"], "the example this story reads"
    mitigation = section(disaster_recovery(payments), "Mitigation")
    postgresql = numbered_steps(section(mitigation, "Restore PostgreSQL"))
    assert len(postgresql) >= 5
    restore = next(step for step in postgresql if step.startswith("Restore into a new instance"))
    assert "`recovery_target_time`" in restore and "WAL archive" in restore, "point in time from base backup and WAL"
    assert any(step.startswith("Verify before any traffic") for step in postgresql)
    assert any(step.startswith("Cut over") for step in postgresql)
    assert any(step.startswith("Tell the incident channel") for step in postgresql)
    redis = numbered_steps(section(mitigation, "Restore Redis"))
    assert "derived from the store of record" in redis[0] and "RDB" in " ".join(redis)
    assert "Restoring data:" not in mitigation, "the old one-line strategies"


def test_corrupted_data_is_restored_to_a_point_before_it_never_failed_over(payments):
    corruption = section(disaster_recovery(payments), "Data is corrupted or deleted")
    assert corruption.strip().startswith("Do not fail over: replication has already copied the bad writes")
    assert "in the other region too" in corruption
    steps = numbered_steps(corruption)
    assert steps[0].startswith("Stop the damage first")
    assert any("into a new instance, table or index" in step for step in steps)
    failover = section(disaster_recovery(payments), "A region is lost: fail over")
    assert "Promote the passive region's replicas" in failover


def test_kafka_across_regions_says_how_it_replicates_and_where_consumers_resume(payments):
    assert (payments.answers["messaging"], payments.answers["topology"]) == (["kafka"], "multi-region-active-passive")
    kafka = section(disaster_recovery(payments), "Kafka across regions")
    assert "MirrorMaker 2" in kafka and "cluster linking" in kafka
    assert "`sync.group.offsets.enabled`" in kafka and "translated offsets" in kafka
    assert "`auto.offset.reset`" in kafka
    assert "well below the RPO" in kafka


def test_a_single_region_service_reads_nothing_about_replicating_its_messages(render):
    project = render("notification-worker", example_answers("notification-worker"))
    assert project.answers["topology"] == "single-region" and project.answers["messaging"] == ["sqs"]
    text = disaster_recovery(project)
    assert "across regions" not in text
    assert "A region is lost: rebuild in another region" in text


def test_the_disaster_recovery_runbook_does_not_link_to_itself(any_project):
    related = section(disaster_recovery(any_project), "Related")
    assert "(disaster-recovery.md)" not in related
    assert "[Runbook index](README.md)" in related
    assert "(disaster-recovery.md)" in section(runbooks(any_project)["sli-data-missing.md"], "Related")


@pytest.fixture(scope="module")
def every_store_across_regions(render):
    return render("dr-every-store-across-regions", EVERY_STORE_ACROSS_REGIONS)


@pytest.mark.parametrize("store", list(STORES))
def test_every_datastore_has_restore_steps_into_a_new_copy(every_store_across_regions, store):
    steps = numbered_steps(section(disaster_recovery(every_store_across_regions), f"Restore {STORES[store]}"))
    assert len(steps) >= 5, store
    assert any(step.startswith("Verify before") for step in steps), store
    assert any(step.startswith("Tell the incident channel") for step in steps), store
    assert any("another region" in step for step in steps), f"{store}: where the copies are when a region is lost"


def test_each_store_restores_the_way_it_keeps_its_history(every_store_across_regions):
    text = disaster_recovery(every_store_across_regions)
    assert "`mysqlbinlog --start-position=" in section(text, "Restore MySQL")
    dynamodb = section(text, "Restore DynamoDB")
    assert "`aws dynamodb restore-table-to-point-in-time" in dynamodb and "a restore never overwrites one" in dynamodb
    assert "TTL settings" in dynamodb, "what a restored table lacks"
    cassandra = section(text, "Restore Cassandra")
    assert "`sstableloader`" in cassandra and "`restore_point_in_time`" in cassandra and "brings deleted data back" in cassandra
    assert "`appendonly no`" in section(text, "Restore Redis")
    objects = section(text, "Restore Object storage")
    assert "delete marker" in objects and "list-object-versions" in objects
    opensearch = section(text, "Restore OpenSearch")
    assert "`rename_pattern`" in opensearch and "`POST _aliases`" in opensearch


@pytest.mark.parametrize("system", list(MESSAGING))
def test_every_message_system_says_what_crosses_regions_and_what_happens_to_offsets(every_store_across_regions, system):
    text = section(disaster_recovery(every_store_across_regions), f"{MESSAGING[system]} across regions")
    assert len([line for line in text.splitlines() if line.startswith("- ")]) >= 2, system
    assert re.search(r"offset|acknowledg", text), f"{system}: where consumers resume"
    assert "deduplicate" in text, system


def test_the_longest_disaster_recovery_runbook_passes_markdownlint(every_store_across_regions):
    result = subprocess.run([require("markdownlint-cli2"), "docs/runbooks/disaster-recovery.md"],
                            cwd=every_store_across_regions.root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sqs_pubsub_and_rabbitmq_are_not_given_offsets_they_do_not_have(every_store_across_regions):
    text = disaster_recovery(every_store_across_regions)
    assert "SQS does not replicate it" in section(text, "Amazon SQS across regions")
    assert "There are no offsets" in section(text, "Amazon SQS across regions")
    assert "no offsets to translate" in section(text, "Google Cloud Pub/Sub across regions")
    assert "Queues have no offsets to carry over" in section(text, "RabbitMQ across regions")
    assert "mirror" in section(text, "NATS across regions")


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
@pytest.mark.parametrize("example, window, ticket", [
    ("payments-api", 30, "10 d (1d window) or 30 d (3d window), against the 30-day window"),
    ("clickstream-pipeline", 28, "10 d (1d window) or 30 d (3d window), against the 28-day window"),
])
def test_an_slo_runbook_says_how_fast_each_alert_spends_the_budget(render, example, window, ticket):
    """On a 28-day window the slowest ticket burns at 0.93x: the budget outlasts the window,
    so the runbook must not say it will be gone before the window ends."""
    project = render(example, example_answers(example))
    assert project.answers["slo_window_days"] == window
    slo_runbook = next(name for name in runbooks(project) if name.startswith("slo-"))
    meaning = " ".join(section(runbooks(project)[slo_runbook], "Meaning").split())
    assert "gone before the window ends" not in meaning
    assert "would spend the whole budget in 2.1 d (1h window) or 5 d (6h window)" in meaning
    assert f"would spend it in {ticket}" in meaning


def test_a_native_service_is_told_where_classic_series_stand_in_for_native_ones(native_project):
    """With native histograms no bucket can be missing: the DataMissing runbook names the
    native series each SLO needs, and diagnoses classic series (a text-format scrape, or an
    SDK that aggregates with explicit buckets) where the native ones belong."""
    text = runbooks(native_project)["sli-data-missing.md"]
    slug = native_project.answers["project_slug"]
    fires = [row[2] for row in tables(text)[0][1:] if row[0].endswith("DataMissing`")]
    assert fires and not [cell for cell in fires if "bucket" in cell], fires
    diagnosis, mitigation = section(text, "Diagnosis"), section(text, "Mitigation")
    for histogram in {slo_histogram for slo_histogram in re.findall(r"`(\w+_seconds)\{job=", diagnosis)}:
        assert f'`{histogram}{{job="{slug}"}}' in diagnosis
    assert "count by (le)" not in diagnosis and "A missing bucket" not in mitigation
    assert "Classic series where native histograms belong" in diagnosis
    assert "_bucket|_count|_sum" in diagnosis and "exponential aggregation" in mitigation
    result = subprocess.run([require("markdownlint-cli2"), "**/*.md"], cwd=native_project.root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
