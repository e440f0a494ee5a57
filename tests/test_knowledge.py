"""Knowledge a design reviewer trusts.

Every knowledge module keeps the contract of its category (includes/knowledge/contract.json):
it defines each name, non-empty and in the promised form, and a service that chooses the
option finds each of them where the contract says. Then a security, compliance and SRE
reviewer reads the generated documents of a service that chose every option: the
obligations and failure modes they ask about are there, the wrong claims are gone, and a
service that did not choose an option reads nothing about it."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from support.markdown import section, tables
from support.model import context as model_of_answers
from support.model import environment as knowledge_environment
from support.project import ROOT, example_answers
from support.questions import choices
from support.tools import require

KNOWLEDGE = ROOT / "includes" / "knowledge"
CONTRACT = json.loads((KNOWLEDGE / "contract.json").read_text(encoding="utf-8"))
LABELS = json.loads((ROOT / "includes" / "data" / "labels.json").read_text(encoding="utf-8"))


# Four answer sets between them choose every option of every category at least once.
EVERY_OPTION = {
    "datastores": choices("datastores"),
    "messaging": choices("messaging"),
    "api_styles": choices("api_styles"),
    "compliance": choices("compliance"),
    "data_classification": "restricted",
    "deployment": "kubernetes",
    "topology": "single-region",
}
# Knowledge printed only when the service runs in several regions.
MESSAGING_ACROSS_REGIONS = {"messaging": choices("messaging"), "topology": "multi-region-active-passive",
                            "service_kind": "worker"}
RENDERS = {
    "knowledge-every-option": EVERY_OPTION,
    "knowledge-active-passive": {"topology": "multi-region-active-passive", "deployment": "serverless",
                                 "data_classification": "confidential"},
    "knowledge-active-active": {"topology": "multi-region-active-active", "deployment": "vm",
                                "data_classification": "public"},
    "knowledge-messaging-across-regions": MESSAGING_ACROSS_REGIONS,
    "defaults": {},
}


# --- The contract -------------------------------------------------------------------------

def form_problem(form: str, text: str) -> str | None:
    """What is wrong with `text` as a value of `form` (contract.json's "forms"), or None."""
    if not text.strip():
        return "is empty"
    lines = text.strip("\n").splitlines()
    if form == "phrase":
        if len(lines) > 1:
            return "is a phrase on more than one line"
        if text.rstrip().endswith("."):
            return "is a phrase ending with a full stop (templates add it)"
        if "|" in text:
            return "is a phrase with a pipe, which would split a table cell"
    elif form == "sentences":
        if len(lines) > 1 or not text.rstrip().endswith("."):
            return "is not one line of sentences ending with a full stop"
    elif form == "paragraph":
        if not text.rstrip().endswith("."):
            return "is a paragraph not ending with a full stop"
    elif form == "list":
        if not all(line.startswith(("- ", "  ")) for line in lines) or not lines[0].startswith("- "):
            return "is not a Markdown bullet list"
    elif form == "steps":
        if not all(re.match(r"\d+\. ", line) for line in lines):
            return "is not a numbered list"
    elif form != "block":
        return f"has a form the contract does not define: {form}"
    return None


def test_the_form_check_rejects_what_a_template_would_print_badly():
    assert form_problem("phrase", "eviction under memory pressure") is None
    assert form_problem("phrase", "eviction under memory pressure.") is not None
    assert form_problem("phrase", "a | b") is not None
    assert form_problem("sentences", "Retention is 7 days") is not None
    assert form_problem("list", "- one\n  - nested\n- two") is None
    assert form_problem("list", "- one\ntwo") is not None
    assert form_problem("steps", "1. Declare.\n2. Fail over.") is None
    assert form_problem("steps", "- Declare.") is not None
    assert form_problem("block", "   ") == "is empty"
    assert set(CONTRACT["forms"]) == {"phrase", "sentences", "paragraph", "list", "steps", "block"}


def kinds_with_slo() -> dict[str, list[str]]:
    """Each SLO slug the model builds, with the service kinds whose SLOs include it."""
    kinds: dict[str, list[str]] = {}
    for kind in choices("service_kind"):
        for slo in model_of_answers({"service_kind": kind})["slos"]:
            kinds.setdefault(slo["slug"], []).append(kind)
    return kinds


KINDS_WITH_SLO = kinds_with_slo()


def contract_cases() -> list[tuple[str, str, str]]:
    """(category, module path under includes/knowledge, the choice or SLO it serves or "")."""
    cases = []
    for category, terms in CONTRACT["categories"].items():
        if "one_module_per_choice_of" in terms:
            cases += [(category, f"{terms['modules']}{choice}.jinja", choice)
                      for choice in choices(terms["one_module_per_choice_of"])]
        elif "one_module_per_slo" in terms:
            cases += [(category, f"{terms['modules']}{slug}.jinja", slug) for slug in KINDS_WITH_SLO]
        else:
            cases.append((category, terms["modules"], ""))
    return cases


def test_every_piece_of_knowledge_is_under_contract():
    """Every module belongs to a category of the contract and serves one of its choices,
    and every choice of those answers has its module."""
    on_disk = {str(path.relative_to(KNOWLEDGE)) for path in KNOWLEDGE.rglob("*.jinja")}
    promised = {module for _, module, _ in contract_cases()}
    missing, stray = sorted(promised - on_disk), sorted(on_disk - promised)
    assert not missing, f"no module under includes/knowledge/ for {missing}: an option of copier.yml or an SLO without its knowledge"
    assert not stray, f"includes/knowledge/ modules {stray} serve no option of copier.yml and no SLO"


@pytest.mark.parametrize(("category", "module", "choice"), contract_cases(),
                         ids=[module.removesuffix(".jinja") for _, module, _ in contract_cases()])
def test_a_module_defines_every_name_of_its_category(category, module, choice):
    defined = knowledge_environment().get_template(f"includes/knowledge/{module}").module
    for name, terms in CONTRACT["categories"][category]["names"].items():
        assert hasattr(defined, name), f"{module} does not define {name}"
        value = getattr(defined, name)
        if "one_entry_per_choice_of" in terms:
            assert set(value) == set(choices(terms["one_entry_per_choice_of"])), f"{module}: {name}"
            entries = value.items()
        elif terms.get("one_entry_per_kind_with_the_slo"):
            assert isinstance(value, dict) and set(value) == set(KINDS_WITH_SLO[choice]), \
                f"{module}: {name} has no entry for each kind with the SLO, {KINDS_WITH_SLO[choice]}"
            entries = value.items()
        else:
            entries = [(name, value)]
        for key, text in entries:
            problem = form_problem(terms["form"], str(text))
            assert problem is None, f"{module}: {key} {problem}: {text!r}"


# --- The contract kept in generated repositories --------------------------------------------

def printed_in(project, place: str, kind: str, choice: str) -> str:
    if place == "slo runbook":
        return project.text(f"docs/runbooks/slo-{choice}.md")
    if place == "runbook":
        return project.text(f"docs/runbooks/{kind}-{choice}.md")
    if place == "disaster recovery":
        return project.text("docs/runbooks/disaster-recovery.md")
    if place.startswith("readme: "):
        return section(project.text("README.md"), place.removeprefix("readme: "))
    heading = place.removeprefix("design: ")
    return section(project.design, f"{LABELS[choice]} ({kind})" if heading == "component" else heading)


def chosen(project, answer: str) -> list[str]:
    value = project.answers.get(answer, [])
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(("category", "module", "choice"), contract_cases(),
                         ids=[module.removesuffix(".jinja") for _, module, _ in contract_cases()])
def test_a_service_that_chooses_an_option_reads_everything_its_module_knows(render, category, module, choice):
    defined = knowledge_environment().get_template(f"includes/knowledge/{module}").module
    if "one_module_per_slo" in CONTRACT["categories"][category]:
        for kind in KINDS_WITH_SLO[choice]:
            project = render(f"knowledge-{kind}", {"service_kind": kind})
            for name, terms in CONTRACT["categories"][category]["names"].items():
                value = getattr(defined, name)
                text = str(value[kind] if terms.get("one_entry_per_kind_with_the_slo") else value)
                for place in terms["shown_in"]:
                    assert text in printed_in(project, place, category, choice), f"{module}: {name} not in {place} ({kind})"
        return
    for name, terms in CONTRACT["categories"][category]["names"].items():
        answer = terms.get("one_entry_per_choice_of") or CONTRACT["categories"][category]["one_module_per_choice_of"]
        wanted = [choice] if choice else choices(answer)
        for option in wanted:
            if terms.get("only_for") == "store of record":
                key, answers = f"store-of-record-{option}", {"datastores": [option], "primary_datastore": option}
            elif terms.get("only_for") == "multi-region topology":
                key, answers = "knowledge-messaging-across-regions", MESSAGING_ACROSS_REGIONS
            else:
                key, answers = next((key, answers) for key, answers in RENDERS.items()
                                    if option in chosen(render(key, answers), answer))
            project = render(key, answers)
            text = str(getattr(defined, name)[option] if choice == "" else getattr(defined, name))
            for place in terms["shown_in"]:
                assert text in printed_in(project, place, category, option), f"{module}: {name} not in {place} ({key})"


@pytest.mark.parametrize("key", [key for key in RENDERS if key != "defaults"])
def test_documents_of_every_option_pass_markdownlint(render, key):
    project = render(key, RENDERS[key])
    result = subprocess.run([require("markdownlint-cli2"), "**/*.md"], cwd=project.root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- What reviewers check ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def every_option(render):
    return render("knowledge-every-option", EVERY_OPTION)


def regime(design: str, title: str) -> str:
    """One regime's obligations from section 2: its bullet and the lines nested under it."""
    governance = section(design, "Compliance and governance")
    match = re.search(rf"^- \*\*{re.escape(title)}\*\*.*?(?=^- |\Z)", governance, flags=re.S | re.M)
    assert match, f"no obligations of {title}"
    return match.group(0)


def test_a_privacy_reviewer_finds_gdpr_obligations_under_the_right_articles(every_option):
    gdpr = regime(every_option.design, "GDPR")
    assert "lawful basis and purpose (Art. 30)" not in gdpr
    assert "lawful basis of each purpose (Art. 6)" in gdpr
    for article in ("Art. 25", "Art. 32", "Art. 33(2)", "Art. 34", "Art. 35"):
        assert article in gdpr, article
    assert re.search(r"[Ee]rasure reaches backups", gdpr)


def test_a_hipaa_reviewer_finds_addressable_encryption_and_every_breach_notice(every_option):
    hipaa = regime(every_option.design, "HIPAA")
    assert "addressable" in hipaa and "§164.306(d)(3)" in hipaa
    assert "minimum necessary standard to every use" not in hipaa
    assert "§164.502(b)" in hipaa and "treatment" in hipaa
    assert "§164.308(a)(7)" in hipaa
    for notice in ("§164.404", "§164.406", "§164.408", "§164.410"):
        assert notice in hipaa, notice
    assert "500 or more" in hipaa and "more than 500 residents of a state" in hipaa


def test_a_card_data_assessor_finds_pci_dss_4_0_1_requirements(every_option):
    pci = regime(every_option.design, "PCI DSS")
    assert "v4.0.1" in pci
    assert "review logs daily" not in pci
    assert "automated mechanisms" in pci and "10.4.1.1" in pci
    assert "11.4.5" in pci, "segmentation testing"
    assert "6.4.3" in pci and "11.6.1" in pci, "payment page scripts"


def test_a_soc2_auditor_reads_the_review_frequency_as_the_organisations_control(every_option):
    soc2 = regime(every_option.design, "SOC 2")
    assert "reviewed every quarter" not in soc2
    assert "the criteria name no frequency" in soc2


def test_an_iso27001_auditor_finds_continuity_backup_change_and_cryptography_controls(every_option):
    iso = regime(every_option.design, "ISO/IEC 27001")
    for control in ("8.13", "8.14", "5.29", "5.30", "8.32", "8.24"):
        assert re.search(rf"\b{re.escape(control)}\b", iso), control


def test_obligations_appear_only_for_the_regimes_chosen(defaults_project, payments):
    assert sorted(payments.answers["compliance"]) == ["gdpr", "pci-dss", "soc2"], "the example this test reads"
    governance = section(payments.design, "Compliance and governance")
    assert "**PCI DSS**" in governance and "**GDPR**" in governance and "**SOC 2**" in governance
    assert "**HIPAA**" not in governance and "§164" not in payments.design
    assert "**ISO/IEC 27001**" not in governance
    assert "No compliance regime applies." in section(defaults_project.design, "Compliance and governance")
    assert "Art. 33" not in defaults_project.design


def retries_by_component(design: str) -> dict[str, str]:
    """Section 9's retries, a row per kind of call: each message system has a row of its own."""
    table = tables(section(design, "Circuit breakers, timeouts, retries, DLQs"))[0]
    assert table[0] == ["Calls to", "Retries"]
    return {row[0]: row[1] for row in table[1:]}


def test_only_kafka_retries_are_idempotent_and_each_queue_says_how_it_deduplicates(every_option):
    retries = retries_by_component(every_option.design)
    assert "idempotent producer" in retries["Kafka"]
    for name, cell in retries.items():
        if name != "Kafka":
            assert "idempoten" not in cell, name
    assert "standard queue" in retries["Amazon SQS"] and "`MessageDeduplicationId`" in retries["Amazon SQS"]
    assert "5 minutes" in retries["Amazon SQS"]
    assert "at least once" in retries["Google Cloud Pub/Sub"]
    assert "`Nats-Msg-Id`" in retries["NATS"]
    assert "publisher confirm" in retries["RabbitMQ"]


def test_an_sre_finds_kafka_durability_and_sqs_timing_where_the_components_are_described(every_option):
    kafka = section(every_option.design, "Kafka (messaging)")
    assert "replication factor 3" in kafka and "`min.insync.replicas=2`" in kafka and "`acks=all`" in kafka
    assert "7 days" in kafka
    sqs = section(every_option.design, "Amazon SQS (messaging)")
    assert "4 days by default and 14 days at most" in sqs
    assert "original enqueue time" in sqs and "DLQ's retention" in sqs
    assert "at least six times the function timeout" in sqs
    assert "`ReportBatchItemFailures`" in sqs


def test_pubsub_dead_letters_are_replayed_by_republishing(every_option):
    mitigation = section(every_option.text("docs/runbooks/messaging-pubsub.md"), "Mitigation")
    assert "(seek or republish)" not in mitigation
    assert "republish the dead-letter topic's messages" in mitigation


def test_the_events_contract_keeps_every_consumer_reading(every_option):
    versioning = section(every_option.design, "Versioning and backward compatibility")
    assert "BACKWARD (or FULL)" not in versioning
    assert "FULL_TRANSITIVE" in versioning


def test_tracing_says_which_sampling_keeps_error_traces(every_option):
    tracing = next(line for line in every_option.design.splitlines() if line.startswith("- **Tracing:**"))
    assert "tail sampling" in tracing and "Head sampling" in tracing
    assert "sampling keeps all error traces" not in every_option.design


def test_postgresql_runbook_covers_replication_slots_and_wraparound(every_option):
    runbook = every_option.text("docs/runbooks/datastore-postgresql.md")
    assert "`max_slot_wal_keep_size`" in runbook and "`pg_replication_slots`" in runbook
    assert "wraparound" in runbook and "`autovacuum_freeze_max_age`" in runbook
    component = section(every_option.design, "PostgreSQL (datastore)")
    assert "replication slot" in component and "wraparound" in component


def test_redis_hot_keys_are_diagnosed_with_commands_that_work(every_option):
    diagnosis = section(every_option.text("docs/runbooks/datastore-redis.md"), "Diagnosis")
    assert "`redis-cli --bigkeys`" in diagnosis and "`MEMORY USAGE <key>`" in diagnosis
    hotkeys = next(line for line in diagnosis.splitlines() if "--hotkeys" in line)
    assert "LFU" in hotkeys


def test_redis_licence_and_valkey_are_on_the_table(every_option, render):
    component = section(every_option.design, "Redis (datastore)")
    for term in ("RSALv2", "SSPLv1", "AGPLv3", "Valkey"):
        assert term in component, term
    redis = render("store-of-record-redis", {"datastores": ["redis"], "primary_datastore": "redis"})
    record = redis.text("docs/adr/0003-store-of-record.md")
    assert "Valkey" in section(record, "Redis")


def test_cassandra_is_repaired_routinely_not_only_after_recovery(every_option):
    runbook = every_option.text("docs/runbooks/datastore-cassandra.md")
    assert "run repairs after recovery" not in runbook
    assert "`gc_grace_seconds`" in section(runbook, "Mitigation")
    assert "`gc_grace_seconds`" in section(every_option.design, "Cassandra (datastore)")


def test_dynamodb_partition_limits_and_index_throttling_are_failure_modes(every_option):
    component = section(every_option.design, "DynamoDB (datastore)")
    assert "1,000 write units per second" in component
    assert "global secondary index" in component
    assert "global secondary index" in section(every_option.text("docs/runbooks/datastore-dynamodb.md"), "Diagnosis")


def test_mysql_schema_changes_run_online_before_reaching_for_tools(every_option):
    indexing = section(every_option.design, "Indexing and partitioning strategy")
    assert "`ALGORITHM=INSTANT`" in indexing and "gh-ost" in indexing
    mysql = section(every_option.text("docs/adr/0003-store-of-record.md"), "MySQL")
    assert "need extra tooling" not in mysql
    assert "Neutral, because many schema changes run online" in mysql


def test_a_single_region_recovery_restores_from_copies_outside_the_region(every_option):
    recovery = every_option.text("docs/runbooks/disaster-recovery.md")
    assert "Restore data from the latest backups (below) into the recovery region." not in recovery
    assert "outside the failed region" in section(recovery, "Mitigation")
    for store in choices("datastores"):
        restoring = section(recovery, f"Restore {LABELS[store]}")
        backups = next(line for line in restoring.splitlines() if line.startswith("Backups: "))
        assert "another region" in backups, store
        assert "another region" in restoring.split(backups, 1)[1], f"{store}: its steps say where the copies are"


def test_a_service_reads_nothing_about_stores_and_queues_it_did_not_choose(defaults_project):
    assert defaults_project.answers["datastores"] == ["postgresql"]
    design = defaults_project.design
    for foreign in ("gc_grace_seconds", "Valkey", "3,000 read", "MessageDeduplicationId", "min.insync.replicas",
                    "FULL_TRANSITIVE"):
        assert foreign not in design, foreign


# --- Claims a reviewer would have caught -------------------------------------------------------

def test_a_team_paging_through_opsgenie_reads_when_its_support_ends(render, payments):
    pipeline = render("clickstream-pipeline", example_answers("clickstream-pipeline"))
    assert pipeline.answers["oncall"] == "opsgenie", "the example this story reads"
    requirements = section(pipeline.design, "Non-functional requirements")
    tool = next(line for line in requirements.splitlines() if line.startswith("- **Paging tool:**"))
    assert "ended the sale of Opsgenie on 4 June 2025" in tool and "ends its support on 5 April 2027" in tool
    assert "Jira Service Management" in tool
    routes = pipeline.text("monitoring/alertmanager/routes.yaml")
    above_receiver = routes.split("opsgenie_configs:", 1)[0].rsplit("- name:", 1)[1]
    comment = " ".join(line.strip().removeprefix("# ") for line in above_receiver.splitlines() if line.strip().startswith("#"))
    assert "ends its support on 5 April 2027" in comment
    assert payments.answers["oncall"] == "pagerduty"
    assert "**Paging tool:**" not in payments.design
    assert "ends its support" not in payments.text("monitoring/alertmanager/routes.yaml")


def test_kafka_producers_set_acks_and_idempotence_whatever_their_client(every_option):
    kafka = section(every_option.design, "Kafka (messaging)")
    assert "(the default since Kafka 3.0)" not in kafka
    assert "`acks=all` and `enable.idempotence=true`" in kafka and "Set all four explicitly" in kafka
    assert "Java client" in kafka and "librdkafka-based clients" in kafka
    retries = retries_by_component(every_option.design)
    assert "on by default since Kafka 3.0" not in retries["Kafka"]
    assert "set explicitly as section 4 says" in retries["Kafka"], "the settings are said once, in section 4"


def test_gdpr_transfers_tell_an_adequacy_decision_from_a_safeguard(every_option):
    transfers = next(line for line in regime(every_option.design, "GDPR").splitlines() if "outside the EEA" in line)
    assert "safeguard (adequacy decision" not in transfers
    assert "adequacy decision (Art. 45; for the US, the EU-US Data Privacy Framework" in transfers
    assert "standard contractual clauses (Art. 46)" in transfers and "binding corporate rules (Art. 47)" in transfers


def test_sqs_is_not_described_with_partitions(render):
    worker = render("notification-worker", example_answers("notification-worker"))
    assert worker.answers["messaging"] == ["sqs"], "the example this story reads"
    assert "partition" not in section(worker.design, "Amazon SQS (messaging)")
    for runbook in ("slo-processing.md", "slo-message-age.md", "messaging-sqs.md"):
        assert "partition" not in worker.text(f"docs/runbooks/{runbook}"), runbook


def test_a_worker_makes_calls_to_providers_idempotent_without_a_transaction(render):
    worker = render("notification-worker", example_answers("notification-worker"))
    flow = section(worker.design, "Typical request flow")
    own = next(line for line in flow.splitlines() if "records the message id in the same transaction" in line)
    assert own.startswith("3. It writes its own results to DynamoDB"), "only its own writes share the transaction"
    calls = next(line for line in flow.splitlines() if "email-provider and push-gateway" in line)
    assert "outside that transaction" in calls and "idempotency key" in calls and "outbox" in calls
    idempotency = section(worker.design, "Idempotency strategy")
    assert "No transaction reaches another system" in idempotency and "idempotency key" in idempotency


@pytest.mark.parametrize("example, invariant, rejected", [
    ("payments-api", "a payment is captured at most once", "logged with the request id"),
    ("notification-worker", "each message changes the system once", "logged with the message id"),
    ("clickstream-pipeline", "every input record is counted in exactly one output partition", "logged with the run id"),
])
def test_each_kind_of_service_reads_examples_of_its_own(render, example, invariant, rejected):
    design = render(example, example_answers(example)).design
    prompt = next(line for line in section(design, "Functional requirements").splitlines() if "(invariants)" in line)
    assert invariant in prompt
    assert rejected in section(design, "Error paths and retries")
    if example != "payments-api":
        assert "payment" not in prompt and "request id" not in section(design, "Error paths and retries")
        assert "Audit log with the authenticated identity and request id" not in design
