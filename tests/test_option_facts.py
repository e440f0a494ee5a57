"""Every place that names an option agrees with the questionnaire.

An option of a multiple-choice answer is offered in copier.yml, and its facts live in the
tables that speak of it: its display name (includes/data/labels.json), its decision record
(includes/data/decisions.json), what a kind, a tier, a topology, a platform or a paging
tool decides (the other tables of includes/data/), the files an answer generates
(includes/data/answer-files.json), what the design document says of a kind of service
(includes/design/) and what is known about it (includes/knowledge/, held to its contract by
tests/test_knowledge.py). These tests read the options from copier.yml and name the place
a maintainer forgot, and any place that still names an option copier.yml no longer offers."""

from __future__ import annotations

import json
from itertools import product

import pytest
from jinja2 import meta

from support import model
from support.project import ROOT
from support.questions import QUESTIONS, choice_answers, choices, is_multiselect

DATA = ROOT / "includes" / "data"
# The option that means there is none (no paging tool, no CI): nothing to name or route.
NOTHING = "none"
# The answers a decision record's `when` reads, by the names decisions.json gives them.
WHEN_READS = {"tier": "tier", "topology": "topology", "kind": "service_kind", "deployment": "deployment",
              "store": "datastores", "classification": "data_classification", "compliance": "compliance",
              "messaging": "messaging", "styles": "api_styles"}


def table(name: str) -> dict:
    """A table of includes/data/, without its `about`."""
    loaded = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return {key: value for key, value in loaded.items() if key != "about"}


def text(option) -> str:
    """An option as a table keys it: numbers as text, true and false in lower case."""
    return str(option).lower() if isinstance(option, bool) else str(option)


def keyed_by_options(found, answer: str, where: str) -> None:
    """`found` (keys) holds exactly the options of `answer`."""
    offered = [text(option) for option in choices(answer)]
    missing = [option for option in offered if option not in found]
    stale = [key for key in found if key not in offered]
    assert not missing, f"{where} has nothing for the {answer} option(s) {missing} of copier.yml"
    assert not stale, f"{where} names {stale}, which copier.yml does not offer for {answer}"


# --- Display names ------------------------------------------------------------------------------

TOPICS = table("decisions")["topics"]


def recorded_when_left_empty(answer: str) -> list[str]:
    """The options a decision record on `answer` weighs beyond its choices: what it records
    when the answer is left empty (no datastore, no request API)."""
    return [option for topic in TOPICS if topic["answer"] == answer
            for option in topic["pros_cons"] if option not in choices(answer)]


def test_every_option_the_documents_name_has_a_display_name_and_no_name_is_stale():
    """An answer whose options the documents name by display name names all of them (but
    the one that means none), and every display name belongs to an option."""
    labels = table("labels")
    named = {option for answer in choice_answers() for option in recorded_when_left_empty(answer)}
    for answer in choice_answers():
        options = [option for option in choices(answer) if option != NOTHING]
        if any(text(option) in labels for option in options):
            missing = [option for option in options if text(option) not in labels]
            assert not missing, f"includes/data/labels.json has no display name for the {answer} option(s) {missing}"
            named |= {text(option) for option in options}
    stale = sorted(set(labels) - named)
    assert not stale, f"includes/data/labels.json names {stale}, which no answer of copier.yml offers"


# --- Decision records ---------------------------------------------------------------------------

@pytest.fixture(params=TOPICS, ids=[topic["topic"] for topic in TOPICS])
def topic(request) -> dict:
    return request.param


def options_of(topic: dict) -> list[str]:
    """What a record can weigh: every option copier.yml offers for its answer, and the one
    it records when the answer is left empty."""
    return choices(topic["answer"]) + recorded_when_left_empty(topic["answer"])


def test_a_decision_records_an_answer_of_the_questionnaire(topic):
    assert topic["answer"] in choice_answers(), f"decisions.json: {topic['topic']} records {topic['answer']}, no choice of copier.yml"


def test_a_record_weighs_every_option_of_its_answer_and_one_more_at_most_for_none(topic):
    options = list(topic["pros_cons"])
    where = f"includes/data/decisions.json, {topic['topic']}"
    missing = [option for option in choices(topic["answer"]) if option not in options]
    assert not missing, f"{where}: no pros and cons for the {topic['answer']} option(s) {missing}"
    extra = [option for option in options if option not in choices(topic["answer"])]
    assert len(extra) <= (1 if is_multiselect(topic["answer"]) else 0), (
        f"{where}: pros and cons of {extra}, which copier.yml does not offer for {topic['answer']} "
        "(beyond the one option recorded when the answer is left empty)")


def test_a_record_has_the_consequences_and_confirmation_of_every_option(topic):
    options = options_of(topic)
    problems = []
    for field in ("consequences", "confirmation"):
        keyed = list(topic[field])
        missing = [option for option in options if option not in keyed]
        stale = [option for option in keyed if option not in options]
        problems += [f"no {field} for {missing}"] if missing else []
        problems += [f"{field} for {stale}, no option of it"] if stale else []
    assert not problems, f"includes/data/decisions.json, {topic['topic']}: " + "; ".join(problems)


def test_a_record_is_titled_for_every_option_or_for_none_but_the_empty_answer(topic):
    """A record chooses one option and is titled after it (the store of record, the
    platform), or offers several at once and is titled by listing them (interfaces); the
    option recorded for an empty answer always has a title of its own."""
    where = f"includes/data/decisions.json, {topic['topic']}"
    options, titles = options_of(topic), topic["titles"]
    assert set(titles) <= set(options), f"{where}: titles for {sorted(set(titles) - set(options))}, no option of it"
    offered = choices(topic["answer"])
    titled = [option for option in offered if option in titles]
    assert titled in ([], offered), f"{where}: no title for {[o for o in offered if o not in titles]}"
    missing = [option for option in options if option not in offered and option not in titles]
    assert not missing, f"{where}: no title for {missing}"


def test_a_record_offers_alternatives_that_exist(topic):
    where = f"includes/data/decisions.json, {topic['topic']}"
    options = options_of(topic)
    groups = topic["alternatives"]
    missing = [option for option in options if option not in groups["any"]]
    assert not missing, f"{where}: no alternatives for {missing}"
    for group, alternatives in groups.items():
        assert group == "any" or group in choices("service_kind"), f"{where}: alternatives for {group}, no kind of service"
        for chosen, others in alternatives.items():
            assert chosen in options, f"{where}: alternatives ({group}) to {chosen}, no option of it"
            unknown = [other for other in others if other not in options or other == chosen]
            assert not unknown, f"{where}: alternatives ({group}) to {chosen} name {unknown}"


def test_a_record_applies_its_texts_to_options_that_exist(topic):
    where = f"includes/data/decisions.json, {topic['topic']}"
    entries = topic["drivers"] + [entry for texts in topic["consequences"].values() for entry in texts]
    for entry in entries:
        for name, allowed in entry.get("when", {}).items():
            assert name in WHEN_READS, f"{where}: `when` reads {name}, which the model does not give it"
            answer = WHEN_READS[name]
            options = [text(option) for option in choices(answer)] + recorded_when_left_empty(answer)
            unknown = [value for value in allowed if text(value) not in options]
            assert not unknown, f"{where}: `when` {name} names {unknown}, no option of {answer}: {entry['text'][:60]}"


# --- Tables keyed by option ---------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "answer"), [("kinds", "service_kind"), ("tiers", "tier"), ("topologies", "topology"),
                                              ("platforms", "deployment")])
def test_what_an_option_decides_is_said_for_every_option(name, answer):
    keyed_by_options(table(name), answer, f"includes/data/{name}.json")


@pytest.mark.parametrize("name", ["kinds", "tiers", "topologies"])
def test_the_defaults_an_option_sets_are_answers_it_can_take(name):
    for option, decides in table(name).items():
        for answer, default in decides.get("defaults", {}).items():
            where = f"includes/data/{name}.json, {option}: the default of {answer}"
            assert answer in QUESTIONS, f"{where}, no question of copier.yml"
            if answer in choice_answers():
                values = default if is_multiselect(answer) else [default]
                unknown = [value for value in values if value not in choices(answer)]
                assert not unknown, f"{where} names {unknown}, which copier.yml does not offer"


def test_the_paging_tools_whose_support_ends_are_options_of_oncall():
    tools = [option for option in choices("oncall") if option != NOTHING]
    stale = [tool for tool in table("paging-tools") if tool not in tools]
    assert not stale, f"includes/data/paging-tools.json names {stale}, which copier.yml does not offer for oncall"


def test_links_take_a_form_for_every_ci():
    keyed_by_options(table("repository-hosts")["by_ci"], "ci", "includes/data/repository-hosts.json's by_ci")


def test_the_paging_policy_words_every_tier():
    words = model.environment().get_template("includes/paging.jinja").module.by_tier
    keyed_by_options([text(tier) for tier in words], "tier", "includes/paging.jinja's by_tier")


def test_the_design_document_has_a_chapter_for_every_kind_of_service():
    chapters = [path.stem for path in (ROOT / "includes/design").glob("*.jinja")]
    keyed_by_options(chapters, "service_kind", "includes/design/")


# --- The SLI catalog -----------------------------------------------------------------------------------

CATALOG = table("slis")


def test_every_kind_of_service_has_an_slo_and_the_catalog_names_no_other_kind():
    kinds_of_slos = {kind for sli in CATALOG["slis"].values() for kind in sli["kinds"]}
    keyed_by_options(sorted(kinds_of_slos), "service_kind", "includes/data/slis.json's kinds")


@pytest.mark.parametrize("slug", list(CATALOG["slis"]))
def test_an_slo_of_the_catalog_reads_questions_and_tables_that_exist(slug):
    sli, where = CATALOG["slis"][slug], f"includes/data/slis.json, {slug}"
    for key in ("target", "threshold"):
        question = sli[key]
        assert question is None and key == "threshold" or question in QUESTIONS, f"{where}: {key} {question} is no question"
        assert question is None or QUESTIONS[question].get("type") == ("float" if key == "target" else "int"), where
    assert (sli["unit"] in CATALOG["units"]) if sli["threshold"] else sli["unit"] is None, f"{where}: unit {sli['unit']}"
    assert sli["indicator"] == ("threshold" if sli["threshold"] else "errors"), f"{where}: indicator {sli['indicator']}"
    assert sli["histogram"] in table("histograms"), f"{where}: no histogram {sli['histogram']} in histograms.json"
    assert sli["stall"] is None or sli["stall"] in table("stall-signals"), f"{where}: no stall signal {sli['stall']}"


def test_a_question_of_the_catalog_is_asked_exactly_for_the_kinds_with_its_slo():
    """Which kinds a target or threshold question is asked for follows from the catalog:
    a worker is asked for the message age threshold, never for the latency one."""
    for question in {sli[key] for sli in CATALOG["slis"].values() for key in ("target", "threshold")} - {None}:
        having = {kind for sli in CATALOG["slis"].values() if question in (sli["target"], sli["threshold"])
                  for kind in sli["kinds"]}
        asked = {kind for kind in choices("service_kind")
                 if question in model.stored(model.context({"service_kind": kind}))}
        assert asked == having, f"{question} is asked for {sorted(asked)}, the catalog has its SLO for {sorted(having)}"


# --- Files that depend on an answer -------------------------------------------------------------------

FILES_BY_ANSWER = table("answer-files")


def values_of(answer: str) -> list:
    return choices(answer) if answer in choice_answers() else [True, False]


def test_the_table_of_files_by_answer_has_a_row_for_every_value():
    for answer, files in FILES_BY_ANSWER.items():
        assert answer in QUESTIONS, f"includes/data/answer-files.json: {answer} is no question of copier.yml"
        expected = [text(value) for value in values_of(answer)]
        assert sorted(files) == sorted(expected), f"includes/data/answer-files.json, {answer}: rows {sorted(files)}"


def test_the_files_an_answer_generates_are_those_the_template_names_for_it():
    """Render every file name under template/ for every combination of the answers of
    answer-files.json: the files that depend on them are exactly those the table lists."""
    answers = list(FILES_BY_ANSWER)
    written = {}
    for combination in product(*(values_of(answer) for answer in answers)):
        given = dict(zip(answers, combination, strict=True))
        written[combination] = model.file_names(model.context(given))
    always = set.intersection(*written.values())
    for combination, files in written.items():
        listed = {path for answer, value in zip(answers, combination, strict=True) for path in FILES_BY_ANSWER[answer][text(value)]}
        assert files - always == listed, (f"with {dict(zip(answers, combination, strict=True))} the template writes "
                                          f"{sorted(files - always)}; includes/data/answer-files.json lists {sorted(listed)}")


def test_every_answer_a_file_name_reads_is_in_the_table_or_named_by_the_model():
    """A file whose name reads an answer is listed by answer-files.json, or named by the
    model: the SLOs' and components' runbooks (a `yield` over the model), the dashboard
    (after project_slug, includes/model.jinja's dashboard_file)."""
    read = set()
    for path in model.TEMPLATE.rglob("*"):
        for part in path.relative_to(model.TEMPLATE).parts:
            if "{" in part and not model.YIELD.match(part):
                read |= meta.find_undeclared_variables(model.environment().parse(part))
    answers = {name for name in read if not name.startswith("_")}
    assert answers == set(FILES_BY_ANSWER) | {"project_slug"}, sorted(answers)
    declared = json.loads((DATA / "model-inputs.json").read_text(encoding="utf-8"))["files"]["answers"]
    assert set(declared) == answers, "includes/data/model-inputs.json: the answers the files part reads"
