"""An update tells the owner every file it removed and every decision it changed because
it knows which answers feed each part of the model: includes/data/model-inputs.json
declares them, and includes/lifecycle.jinja computes a part again for the previous answers
when one of them changed. A part that reads an answer the declaration forgets would make
that report silently incomplete, so: change one answer at a time, and every part whose
output changed must declare it; the previous model an update computes is the model a copy
with those answers computes; and real updates between answer sets drawn at random say they
removed exactly the files that disappeared.

The one-answer-at-a-time comparisons compute the model as a copy does (support.model,
milliseconds per answer set); test_the_model_is_computed_as_copier_computes_it holds that
to real Copier."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from functools import cache
from pathlib import Path

import copier
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from support import model
from support.project import ROOT
from support.questions import QUESTIONNAIRE, QUESTIONS, choice_answers, choices, in_order, is_multiselect
from support.template_versions import TemplateRepo
from support.updates import generate, status, update_and_read_message

DECLARED = json.loads((ROOT / "includes/data/model-inputs.json").read_text(encoding="utf-8"))
PARTS = [part for part in DECLARED if part != "about"]
MODEL_PARTS = list(model.PARTS)
KINDS = choices("service_kind")


@cache
def reads(part: str) -> frozenset[str]:
    """The answers a part reads, through the parts it reads too."""
    inputs = DECLARED[part]
    return frozenset(inputs["answers"]).union(*(reads(other) for other in inputs["parts"]))


@cache
def baseline(kind: str) -> dict:
    """A service of this kind whose every answer reaches the model: two datastores (so the
    store of record is asked), a message system, a dependency, a regime, a multi-region
    topology and a repository on a host of its own (so its links follow the CI answer).
    Returned as Copier stores it: every answer asked, nothing left to a default."""
    answers = {
        "service_kind": kind, "project_slug": "ledger", "tier": 2, "slo_window_days": 28,
        "datastores": choices("datastores")[:2], "primary_datastore": choices("datastores")[1],
        "messaging": choices("messaging")[:1], "dependencies": "fraud-scoring: scores payments\n",
        "compliance": choices("compliance")[:1], "data_classification": "confidential",
        "topology": choices("topology")[1], "repo_url": "https://git.example.com/acme/ledger",
    }
    return model.stored(model.context(answers))


def one_answer_changed(kind: str):
    """(answer, new value, the answers with it) for every answer of the baseline and every
    other value it can take."""
    base = baseline(kind)
    values = model.context(base)
    for answer in base:
        for value in model.variants(answer, values):
            yield answer, value, {**base, answer: value}


def outputs(values: dict) -> dict:
    return {**model.model(values), "files": model.file_names(values)}


# --- The declaration ---------------------------------------------------------------------------

def test_the_declaration_names_the_parts_and_answers_that_exist():
    assert set(PARTS) == {"slos", "components", "decisions", "files"}
    for index, part in enumerate(PARTS):
        for other in DECLARED[part]["parts"]:
            assert other in PARTS[:index], f"{part} reads {other}, which is not declared above it"
        for answer in DECLARED[part]["answers"]:
            assert answer in QUESTIONS and QUESTIONS[answer].get("when") is not False, f"{part}: {answer} is no answer"


def test_a_part_whose_output_follows_an_answer_declares_it_and_declares_no_other():
    """For a service of each kind, change one answer at a time: a part whose output changed
    reads that answer, and each answer a part declares changes it for some kind."""
    undeclared, observed = [], {part: set() for part in PARTS}
    for kind in KINDS:
        before = outputs(model.context(baseline(kind)))
        for answer, value, answers in one_answer_changed(kind):
            after = outputs(model.context(answers))
            for part in PARTS:
                if after[part] != before[part]:
                    observed[part].add(answer)
                    if answer not in reads(part):
                        undeclared.append(f"{part} changed when {answer} went from {baseline(kind)[answer]!r} to "
                                          f"{value!r} ({kind}), but includes/data/model-inputs.json does not list "
                                          f"{answer} for {part}")
    assert not undeclared, "\n".join(undeclared)
    for part in PARTS:
        unused = set(DECLARED[part]["answers"]) - observed[part]
        assert not unused, f"{part} declares {sorted(unused)}, but changing them never changed it"


# --- What an update computes --------------------------------------------------------------------

UPDATE = ('{% from "includes/lifecycle.jinja" import model_answers, model_of, update_report with context %}'
          '{"model": {{ model_of(model_answers(previous, current) | from_json, parts) }},'
          ' "report": {{ update_report(previous, current) }}}')


def update(now: dict, previous: dict) -> dict:
    """What an update to the answers of `now` (support.model.context) computes for the
    answers the repository had: the previous model (of its slos, components and
    decisions) and the report."""
    return json.loads(model.render(UPDATE, {**now, "previous": previous, "current": model.stored(now),
                                            "parts": MODEL_PARTS}))


@pytest.mark.parametrize("kind", KINDS)
def test_an_update_computes_the_previous_model_a_copy_of_those_answers_computes(kind):
    """From each answer set one change away to the baseline: the previous model the update
    computes is the model of a copy with those answers, the files it says are removed are
    those the previous answers generated and the new ones do not, and the decisions it
    names are those whose chosen options differ."""
    now = model.context(baseline(kind))
    for answer, value, answers in one_answer_changed(kind):
        previous = model.context(answers)
        change = f"{answer} was {value!r}, is {now[answer]!r}"
        computed = update(now, model.stored(previous))
        differing = [part for part in MODEL_PARTS if computed["model"][part] != previous[part]]
        assert not differing, (f"{change}: the update computes other previous {differing} than a copy does "
                               f"(does model_of in includes/lifecycle.jinja set {answer}?)")
        told = computed["report"]
        assert set(told["removed"]) == model.file_names(previous) - model.file_names(now), change
        changed_records = {"docs/adr/" + new["file"] for old, new in zip(previous["decisions"], now["decisions"], strict=True)
                           if old["chosen"] != new["chosen"]}
        assert {record["file"] for record in told["decisions"]} == changed_records, change


def test_an_update_with_no_changed_answer_reports_nothing():
    now = model.context(baseline("api"))
    assert update(now, model.stored(now))["report"] == {"from": "an earlier version", "removed": [], "decisions": [], "stale": []}


@pytest.mark.parametrize("answer", [answer for answer in choice_answers() if answer in set().union(*map(reads, PARTS))])
def test_a_previous_option_the_template_no_longer_offers_changes_nothing(answer):
    """A release may retire an option; the report of an update from a repository that chose
    it must still render, and read the retired option as no change. (The store of record's
    options are the datastores chosen: a retired datastore is the datastores' case.)"""
    now = model.context(baseline("api"))
    retired = [*now[answer], "retired-option"] if is_multiselect(answer) else (
        99 if isinstance(now[answer], int) else "retired-option")
    told = update(now, {**model.stored(now), answer: retired})["report"]
    assert (told["removed"], told["decisions"]) == ([], []), told


# --- The model support.model computes is Copier's -----------------------------------------------

@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> Path:
    """The template with a single file that writes the model and the answers as JSON, so
    real Copier computes them without rendering the rest."""
    root = tmp_path_factory.mktemp("probe")
    shutil.copytree(ROOT / "includes", root / "includes")
    questionnaire = {**QUESTIONNAIRE, "_subdirectory": "probe"}
    (root / "copier.yml").write_text(yaml.safe_dump(questionnaire, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (root / "probe").mkdir()
    (root / "probe/model.json.jinja").write_text(
        '{{ {"slos": slos, "components": components, "decisions": decisions, "answers": _copier_answers} | tojson }}',
        encoding="utf-8")
    return root


@pytest.mark.parametrize("kind", KINDS)
def test_the_model_is_computed_as_copier_computes_it(probe, tmp_path, kind):
    answers = baseline(kind)
    copier.run_copy(str(probe), str(tmp_path / "out"), data=answers, defaults=True, quiet=True)
    computed = json.loads((tmp_path / "out/model.json").read_text(encoding="utf-8"))
    values = model.context(answers)
    assert computed.pop("answers") == {**model.stored(values), "_src_path": str(probe)}
    assert computed == model.model(values)


def test_the_files_are_named_as_copier_names_them(defaults_project, payments):
    for project, answers in ((defaults_project, {}), (payments, payments.answers)):
        written = {path.relative_to(project.root).as_posix() for path in project.files()}
        given = {key: value for key, value in answers.items() if not key.startswith("_")}
        assert model.file_names(model.context(given)) == written


# --- Real updates ---------------------------------------------------------------------------------

@st.composite
def answer_sets(draw) -> dict:
    """Answers that decide which files exist and what the decision records choose."""
    kind = draw(st.sampled_from(KINDS))
    stores = in_order("datastores", draw(st.lists(st.sampled_from(choices("datastores")), max_size=3, unique=True)))
    dependencies = draw(st.lists(st.sampled_from(["ledger: books payments", "fraud-scoring: scores them",
                                                   "tax-service: computes VAT"]), unique=True))
    answers = {
        "service_kind": kind,
        "project_slug": draw(st.sampled_from(["ledger", "ledger-core"])),
        "datastores": stores,
        "messaging": in_order("messaging", draw(st.lists(st.sampled_from(choices("messaging")), max_size=2, unique=True))),
        "dependencies": "".join(f"{line}\n" for line in dependencies),
        "deployment": draw(st.sampled_from(choices("deployment"))),
        "topology": draw(st.sampled_from(choices("topology"))),
        "ci": draw(st.sampled_from(choices("ci"))),
        "backstage": draw(st.booleans()),
    }
    if len(stores) > 1:
        answers["primary_datastore"] = draw(st.sampled_from(stores))
    if "api_styles" in model.stored(model.context({"service_kind": kind})):
        answers["api_styles"] = in_order("api_styles", draw(st.lists(st.sampled_from(choices("api_styles")),
                                                                     min_size=1, max_size=2, unique=True)))
    return answers


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> TemplateRepo:
    return TemplateRepo.build(tmp_path_factory.mktemp("template"))


def restore_commands(message: str) -> set[str]:
    return set(re.findall(r"^\s*git checkout HEAD -- (\S+)$", message, flags=re.M))


def records_named(message: str) -> set[str]:
    return set(re.findall(r"^\s*(docs/adr/\d{4}-\S+\.md)$", message, flags=re.M))


def records_the_design_contradicts(root: Path) -> set[str]:
    """The records whose title is not the decision the design document now lists for them."""
    design = (root / "docs/design.md").read_text(encoding="utf-8")
    contradicted = set()
    for record, decision in re.findall(r"^- \[ADR \d{4}\]\(adr/(\S+?\.md)\): (.+)\.$", design, flags=re.M):
        title = re.search(r"^# (.+)$", (root / "docs/adr" / record).read_text(encoding="utf-8"), flags=re.M).group(1)
        if title != decision:
            contradicted.add(f"docs/adr/{record}")
    return contradicted


# A real update takes seconds: two draws here, every single change in the tests above.
@settings(max_examples=2, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(previous=answer_sets(), new=answer_sets())
def test_an_update_names_exactly_the_files_it_removed_and_the_records_it_contradicts(template, previous, new):
    assume(new != previous)
    with tempfile.TemporaryDirectory() as work:
        root = generate(template, Path(work) / "service", template.current, previous).root

        message = update_and_read_message(root, template.current, data=new)

        deleted = {path for path, code in status(root).items() if code == " D"}
        assert restore_commands(message) == deleted, message
        assert records_named(message) == records_the_design_contradicts(root), message
