"""docs/adr: MADR 4.0 records, numbered without gaps, all in the index, and one proposed
record per major choice whose considered options are the choices not taken."""

from __future__ import annotations

import re

import pytest
import yaml

from support.markdown import headings, section, tables
from support.project import example_answers
from support.questions import choices

MADR_SECTIONS = ["Context and Problem Statement", "Considered Options", "Decision Outcome"]
ALL_CHOICES = {
    "0002-deployment-platform.md": {"Kubernetes", "Serverless functions or containers", "Virtual machines"},
    "0005-regional-topology.md": {
        "A single region across several availability zones", "Two regions, active-passive", "Several regions, active-active",
    },
}


def records(project) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted((project.root / "docs/adr").glob("[0-9][0-9][0-9][0-9]-*.md"))}


def front_matter(text: str) -> dict:
    match = re.match(r"^---\n(.*?)\n---\n", text, flags=re.S)
    assert match, "MADR front matter"
    return yaml.safe_load(match.group(1))


def test_records_are_numbered_without_gaps(any_project):
    numbers = [int(name[:4]) for name in records(any_project)]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) == 5


def test_every_record_is_madr_4(any_project):
    for name, text in records(any_project).items():
        meta = front_matter(text)
        assert meta["status"] in {"proposed", "accepted"}, name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(meta["date"])), name
        assert meta["decision-makers"], name
        level_one = [h for h in headings(text) if h.level == 1]
        assert len(level_one) == 1, name
        level_two = [h.title for h in headings(text) if h.level == 2]
        assert [title for title in level_two if title in MADR_SECTIONS] == MADR_SECTIONS, name
        assert "Consequences" in [h.title for h in headings(text) if h.level == 3], name


def test_the_index_lists_every_record(any_project):
    index = any_project.text("docs/adr/README.md")
    linked = {re.search(r"\]\(([^)]+)\)", row[0]).group(1) for row in tables(index)[0][1:]}
    assert linked == set(records(any_project))


def test_the_proposals_record_the_answers_and_the_options_not_taken(payments):
    texts = records(payments)
    assert front_matter(texts["0001-record-architecture-decisions.md"])["status"] == "accepted"
    for name in ("0002-deployment-platform.md", "0003-store-of-record.md", "0004-interfaces.md", "0005-regional-topology.md"):
        assert front_matter(texts[name])["status"] == "proposed"
    deployment = texts["0002-deployment-platform.md"]
    assert headings(deployment)[0].title == "Deploy on Kubernetes"
    options = {line[2:] for line in section(deployment, "Considered Options").strip().splitlines()}
    assert options == ALL_CHOICES["0002-deployment-platform.md"]
    assert 'Chosen option: "Kubernetes"' in deployment
    topology = texts["0005-regional-topology.md"]
    assert 'Chosen option: "Two regions, active-passive"' in topology
    assert {line[2:] for line in section(topology, "Considered Options").strip().splitlines()} == ALL_CHOICES["0005-regional-topology.md"]
    store = texts["0003-store-of-record.md"]
    assert 'Chosen option: "PostgreSQL"' in store
    assert "### DynamoDB" in section(store, "Pros and Cons of the Options")


@pytest.mark.parametrize("name,title", [("clickstream-pipeline", "Publish output datasets, with no request API"),
                                        ("notification-worker", "Offer published events")])
def test_the_interface_record_follows_the_kind(render, name, title):
    text = records(render(name, example_answers(name)))["0004-interfaces.md"]
    assert headings(text)[0].title == title


def test_the_adr_tools_directory_is_declared(any_project):
    assert any_project.text(".adr-dir").strip() == "docs/adr"
    assert (any_project.root / "docs/adr/template.md").is_file()


@pytest.mark.parametrize("example, peak_load", [
    ("payments-api", "800 requests/s"),
    ("notification-worker", "200 messages/s"),
    ("clickstream-pipeline", "20000 records/s"),
])
def test_decision_drivers_state_the_peak_load_in_what_the_service_counts(render, example, peak_load):
    project = render(example, example_answers(example))
    drivers = section(records(project)["0002-deployment-platform.md"], "Decision Drivers")
    assert f"- Peak load of {peak_load};" in drivers
    assert f"peak of {peak_load};" in project.design


# --- Records a reviewer reads ------------------------------------------------------------------

PROPOSALS = ["0002-deployment-platform.md", "0003-store-of-record.md", "0004-interfaces.md", "0005-regional-topology.md"]
PREFIXES = re.compile(r"^(Good|Bad|Neutral), because ")
CONFIRMED_BY = re.compile(r"\b(drill|load test|contract test|test in CI|check in CI|alert(ed|s)? on|dashboard)\b")
STORES = choices("datastores")


def considered(record: str) -> list[str]:
    return [line[2:] for line in section(record, "Considered Options").strip().splitlines()]


def items(text: str) -> list[str]:
    """The generated list items of a section, owners' prompts left out."""
    return [line[2:] for line in text.splitlines() if line.startswith("- ") and not line.startswith("- TODO:")]


def sentences(lines: list[str]) -> set[str]:
    found = set()
    for line in lines:
        for sentence in re.split(r"(?<=[.;:])\s+", PREFIXES.sub("", line)):
            if sentence.strip():
                found.add(sentence.strip().rstrip(".;:"))
    return found


@pytest.fixture(scope="module", params=["payments-api", "clickstream-pipeline"])
def proposals(request, render) -> tuple[str, dict[str, str]]:
    project = render(request.param, example_answers(request.param))
    return request.param, {name: text for name, text in records(project).items() if name in PROPOSALS}


def test_a_record_weighs_at_most_four_options_the_chosen_one_first(proposals):
    _, texts = proposals
    for name, text in texts.items():
        options = considered(text)
        assert 2 <= len(options) <= 4, f"{name}: {options}"
        chosen = re.search(r'Chosen option: "([^"]+)"', text).group(1)
        assert ", ".join(options).startswith(chosen), f"{name}: the chosen options come first"
        pros_and_cons = [h.title for h in headings(section(text, "Pros and Cons of the Options")) if h.level == 3]
        assert pros_and_cons == options, name


def test_a_payments_api_weighs_stores_and_interfaces_a_reviewer_would_raise(payments):
    texts = records(payments)
    assert considered(texts["0003-store-of-record.md"]) == ["PostgreSQL", "MySQL", "DynamoDB", "Cassandra"]
    assert considered(texts["0004-interfaces.md"]) == ["REST over HTTP", "published events", "gRPC", "GraphQL"]
    for absurd in ("No datastore of its own (stateless)", "Object storage", "OpenSearch", "Redis",
                   "output datasets only, no request API"):
        assert absurd not in considered(texts["0003-store-of-record.md"]) + considered(texts["0004-interfaces.md"])
    assert "MySQL" not in section(payments.design, "11) Trade-offs"), "the design points to the record's options"


def test_a_pipeline_weighs_stores_for_datasets_and_no_request_api_it_would_not_offer(render):
    texts = records(render("clickstream-pipeline", example_answers("clickstream-pipeline")))
    assert considered(texts["0003-store-of-record.md"]) == ["Object storage", "PostgreSQL", "Cassandra", "OpenSearch"]
    assert considered(texts["0004-interfaces.md"]) == ["output datasets only, no request API", "published events", "REST over HTTP"]


def test_consequences_follow_from_this_system_not_from_the_options_pros_and_cons(proposals):
    example, texts = proposals
    for name, text in texts.items():
        consequences = items(section(text, "Consequences"))
        assert consequences, f"{example} {name}: no consequence of its own"
        listed = items(section(text, "Pros and Cons of the Options"))
        shared = sentences(consequences) & sentences(listed)
        assert not shared, f"{example} {name} repeats its pros and cons: {shared}"
        assert all(PREFIXES.match(line) for line in consequences), name


def test_the_store_of_record_consequences_name_this_services_numbers(payments):
    consequences = section(records(payments)["0003-store-of-record.md"], "Consequences")
    assert "the peak of 800 requests/s must fit one instance" in consequences
    assert "alerted on well below the RPO of 1 minute" in consequences, "active-passive: the replica's lag"
    assert "clients of a tier 1 service retry them with idempotency keys" in consequences
    assert "logical replication" not in consequences, "active-active only"


def test_every_record_has_drivers_of_its_own(proposals):
    example, texts = proposals
    drivers = {name: items(section(text, "Decision Drivers")) for name, text in texts.items()}
    for name, lines in drivers.items():
        assert len(lines) >= 2, f"{example} {name}"
        for other, other_lines in drivers.items():
            if other != name:
                assert not set(lines) & set(other_lines), f"{example}: {name} and {other} share drivers"
    assert any("RPO of" in line for line in drivers["0003-store-of-record.md"])
    assert any(line.startswith("Peak load of") for line in drivers["0002-deployment-platform.md"])


def test_confirmation_names_what_in_the_running_system_confirms_the_decision(proposals):
    example, texts = proposals
    for name, text in texts.items():
        confirmation = section(text, "Confirmation")
        assert "keeps this\nrecord listed" not in confirmation and "readiness check" not in confirmation, name
        assert CONFIRMED_BY.search(confirmation), f"{example} {name}: {confirmation}"
    if example == "payments-api":
        assert "A restore drill every quarter" in section(texts["0003-store-of-record.md"], "Confirmation")


@pytest.mark.parametrize("store", STORES)
def test_every_store_of_record_is_weighed_against_its_rivals_with_consequences_and_a_confirmation(render, store):
    project = render(f"store-of-record-{store}", {"datastores": [store], "primary_datastore": store})
    record = records(project)["0003-store-of-record.md"]
    options = considered(record)
    assert 2 <= len(options) <= 4 and "No datastore of its own (stateless)" not in options, options
    assert items(section(record, "Consequences")), store
    assert CONFIRMED_BY.search(section(record, "Confirmation")), store


def test_a_record_that_chose_every_interface_has_no_alternatives_to_list(render):
    project = render("every-interface", {"api_styles": ["rest", "grpc", "graphql", "events"]})
    assert considered(records(project)["0004-interfaces.md"]) == ["REST over HTTP", "gRPC", "GraphQL", "published events"]
