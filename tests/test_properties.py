"""No answer a person can type breaks a generated file (hypothesis over the answer space).

For every draw, rendering succeeds or a validator refuses the answer with a message that
names it, and nothing is left behind. When it succeeds: every YAML and JSON file parses,
free text round-trips exactly through .copier-answers.yml (and the name into the
dashboard's title), every Markdown table keeps its column count, the OpenSLO file is valid;
and, where promtool and amtool are installed (CI requires them, see
test_the_property_tools_are_installed), promtool accepts the rules and amtool the alert
routing, of the oldest and of the newest line. For answers within the validators, the
promtool tests generated with them pass too, on the oldest line and, for the draws that
say so, on the newest (running them is most of a draw's time; test_alert_rules.py runs
them on both lines for every kind, window, tier and extreme target); for native histograms,
which need Prometheus 3, on the newest line alone: every SLO pages on a
total outage, in a fresh process and across a restart, hears a broken scrape and stalled
work, opens a ticket for missing series, and stays silent when healthy or idle, whatever
the kind, tier, platform, window and target drawn (every day of support/worst_days.py).

The search is derandomized (a fixed sequence of examples, no example database) so CI and
every developer run the same cases; the hostile fragments below make sure the classic
breakers are drawn every time rather than left to chance.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import copier
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from support import layout
from support.catalog import SLIS, slos_of_kind
from support.markdown import tables
from support.project import ROOT
from support.questions import choices as offered
from support.tools import LINES, LINES_READING, require, run_tool, tool_path
from support.worst_days import unproven

OPENSLO = Draft202012Validator(json.loads((ROOT / "tests/schemas/openslo-v1.schema.json").read_text(encoding="utf-8")))
HOSTILE = [
    '"', "'", ": ", "{{ x }}", "{% if %}", "{#", "|", "#", "- ", "> ", "* ", "`", "```", "\\", "\n", "\r\n",
    "\t", "  ", "🚀", "Zürich", "日本語", "\u2028", "\x85", "%", "&", "<b>", "[a](b)", "---", "null", "yes",
]
text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=12)), max_size=10).map("".join)
long_text = st.text(min_size=300, max_size=1500)
free_text = st.one_of(text, text, long_text)

FREE_TEXT_KEYS = ["project_name", "project_description", "problem_statement", "goals", "non_goals", "dependencies"]
one_line = text.map(lambda value: " ".join(value.splitlines()))


@st.composite
def acceptable_text(draw) -> dict:
    """Hostile free text within what the validators accept: a one-line name that still
    gives a slug, a one-line description, dependency lines that each name a service."""
    lines = draw(st.lists(text, max_size=6))
    return {
        "project_name": ("Svc " + draw(one_line))[:80],
        "project_description": draw(one_line)[:300],
        "problem_statement": draw(free_text),
        "goals": draw(free_text),
        "non_goals": draw(free_text),
        "dependencies": "\n".join(f"dep{index} {' '.join(line.splitlines())}" for index, line in enumerate(lines)),
    }


KINDS = offered("service_kind")
# The thresholds drawn, in each unit of the SLI catalog: up to about an hour, or 5 s of latency.
THRESHOLDS_UP_TO = {"ms": 5000, "s": 3600, "minute": 2000}


@st.composite
def choices(draw, valid_numbers: bool, kind: str) -> dict:
    given = dict(
        service_kind=kind,
        tier=draw(st.sampled_from(offered("tier"))),
        slo_window_days=draw(st.sampled_from(offered("slo_window_days"))),
        data_classification=draw(st.sampled_from(offered("data_classification"))),
        compliance=draw(st.lists(st.sampled_from(offered("compliance")), unique=True)),
        datastores=draw(st.lists(st.sampled_from(offered("datastores")), unique=True)),
        messaging=draw(st.lists(st.sampled_from(offered("messaging")), unique=True)),
        deployment=draw(st.sampled_from(offered("deployment"))),
        topology=draw(st.sampled_from(offered("topology"))),
        oncall=draw(st.sampled_from(offered("oncall"))),
        ci=draw(st.sampled_from(offered("ci"))),
        backstage=draw(st.booleans()),
        repo_url=draw(st.sampled_from(["", "https://github.com/acme/svc", "https://gitlab.com/acme/data/svc"])),
        rto_minutes=draw(st.integers(0 if valid_numbers else -5, 600)),
        rpo_minutes=draw(st.integers(0 if valid_numbers else -5, 600)),
        peak_rps=draw(st.integers(1 if valid_numbers else 0, 100000)),
        histogram_type=draw(st.sampled_from(["classic", "native"])),
    )
    slo = st.floats(90, 99.999) if valid_numbers else st.floats(88, 100.5)
    slo = slo.map(lambda x: round(x, 3))
    for sli in map(SLIS.get, slos_of_kind(kind)):
        given[sli["target"]] = draw(slo)
        if sli["threshold"]:
            given[sli["threshold"]] = draw(st.integers(int(valid_numbers), THRESHOLDS_UP_TO[sli["unit"]]))
    if len(given["datastores"]) > 1:
        given["primary_datastore"] = draw(st.sampled_from(given["datastores"]))
    return given


def check_refusal(error: Exception, given: dict, destination: Path) -> None:
    message = str(error)
    named = re.search(r"(?:Validation error for question|Invalid choice for) '(\w+)'", message)
    assert named, f"a refusal must name the answer: {message}"
    event(f"refused: {named.group(1)}")
    assert named.group(1) in given or named.group(1) == "project_slug", message
    assert not destination.exists(), "a refused answer leaves nothing behind"


def check_generated(root: Path, given: dict, worst_days_on: tuple[str, ...] = ()) -> None:
    """Every generated file reads as what it is; promtool and amtool of both lines accept
    the rules and the routing; the generated promtool tests pass on the lines `worst_days_on`."""
    stored = yaml.safe_load((root / ".copier-answers.yml").read_text(encoding="utf-8"))
    for key in FREE_TEXT_KEYS:
        assert stored[key] == given[key], f"{key} did not round-trip"
    for path in root.rglob("*"):
        if path.suffix in {".yml", ".yaml"}:
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".md":
            for table in tables(path.read_text(encoding="utf-8")):
                widths = {len(row) for row in table}
                assert len(widths) == 1, f"{path.relative_to(root)}: ragged table {table[0]}"
    board = json.loads((root / layout.dashboard_file(stored["project_slug"])).read_text(encoding="utf-8"))
    assert board["title"] == given["project_name"] + ": SLOs", "the dashboard's title round-trips"
    for doc in yaml.safe_load_all((root / layout.OPENSLO).read_text(encoding="utf-8")):
        errors = list(OPENSLO.iter_errors(doc))
        assert not errors, errors[0].message
    for line in LINES:
        check_with_the_tools(root, line, worst_days=line in worst_days_on)
    if worst_days_on:
        names = [case["name"] for case in yaml.safe_load((root / layout.RULE_TESTS).read_text(encoding="utf-8"))["tests"]]
        for slo in slos_of(root):
            slo_slug = slo.removeprefix(stored["project_slug"] + "-")
            assert unproven(names, slo, slo_slug, given["deployment"], given["histogram_type"]) == [], \
                f"{slo}: days without a test"


def check_with_the_tools(root: Path, line: str, worst_days: bool) -> None:
    if tool_path("promtool", line):
        rules = run_tool("promtool", "check", "rules", "slo-rules.yaml", cwd=root / layout.PROMETHEUS, line=line)
        assert rules.returncode == 0, f"{line} line: {rules.stdout + rules.stderr}"
        if worst_days:
            proven = run_tool("promtool", "test", "rules", "slo-rules.test.yaml", cwd=root / layout.PROMETHEUS, line=line)
            assert proven.returncode == 0, f"{line} line: {proven.stdout + proven.stderr}"
    if tool_path("amtool", line):
        routing = run_tool("amtool", "check-config", str(root / layout.ROUTES), line=line)
        assert routing.returncode == 0, f"{line} line: {routing.stdout + routing.stderr}"


@pytest.mark.parametrize("line", LINES)
def test_the_property_tools_are_installed(line):
    """The draws below run promtool and amtool of each line when they are installed; CI must have them."""
    require("promtool", line)
    require("amtool", line)


def slos_of(root: Path) -> list[str]:
    documents = yaml.safe_load_all((root / layout.OPENSLO).read_text(encoding="utf-8"))
    return [doc["metadata"]["name"] for doc in documents if doc["kind"] == "SLO"]


SETTINGS = settings(deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# Per kind of service, so the draws spread over the test workers: 20 and 16 in all.
SEARCH = {"accepted": settings(SETTINGS, max_examples=5), "anything": settings(SETTINGS, max_examples=4)}


def render(given: dict, destination: Path) -> None:
    copier.run_copy(str(ROOT), str(destination), data=given, defaults=True, vcs_ref="HEAD", quiet=True)


@pytest.mark.parametrize("kind", KINDS)
@SEARCH["accepted"]
@given(text_answers=acceptable_text(), choice_answers=st.data(), on_the_newest_line_too=st.booleans())
def test_hostile_text_never_breaks_a_generated_file(kind, text_answers, choice_answers, on_the_newest_line_too):
    choice_answers = choice_answers.draw(choices(valid_numbers=True, kind=kind))
    given = {**text_answers, **choice_answers}
    lines = LINES if on_the_newest_line_too else ("oldest",)
    if choice_answers["histogram_type"] == "native":
        lines = LINES_READING["native"]
    event(f"{choice_answers['histogram_type']} histograms, worst days proven on {' and '.join(lines)}")
    with tempfile.TemporaryDirectory() as work:
        destination = Path(work) / "service"
        render(given, destination)
        check_generated(destination, given, worst_days_on=lines)


@pytest.mark.parametrize("kind", KINDS)
@SEARCH["anything"]
@given(text_answers=st.one_of(acceptable_text(), st.fixed_dictionaries({key: free_text for key in FREE_TEXT_KEYS})),
       choice_answers=st.data())
def test_any_answers_render_or_are_refused_by_name(kind, text_answers, choice_answers):
    choice_answers = choice_answers.draw(choices(valid_numbers=False, kind=kind))
    given = {**text_answers, **choice_answers}
    with tempfile.TemporaryDirectory() as work:
        destination = Path(work) / "service"
        try:
            render(given, destination)
        except ValueError as error:
            check_refusal(error, given, destination)
            return
        event("rendered")
        check_generated(destination, given)
