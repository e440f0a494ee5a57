"""docs/adr: MADR 4.0 records, numbered without gaps, all in the index, and one proposed
record per major choice whose considered options are the choices not taken."""

from __future__ import annotations

import re

import pytest
import yaml

from support.markdown import headings, section, tables
from support.project import example_answers

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


@pytest.mark.parametrize("name,title", [("clickstream-pipeline", "Publish output datasets, with no request API"), ("notification-worker", "Offer published events")])
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
