"""User text is data: quotes, colons, template syntax, pipes, hashes, newlines and
non-ASCII arrive verbatim, are never rendered as templates, and break no file."""

from __future__ import annotations

import pytest
import yaml

from support.markdown import as_read, split_row, tables

HOSTILE = {
    "project_name": 'Pay "quoted" & it\'s {{ 7 * 7 }} | #1: Zürich 🚀',
    "project_description": "Moves money: {% if true %}never{% endif %} | safely # really, déjà vu",
    "problem_statement": "Line one: {{ secret }}\n\n# Not a heading\n| not | a | table |\n- not a list",
    "goals": "{{ goal_one }} | fast\n- already a bullet: kept once\n# hash first\n\"quoted\" 'single'",
    "non_goals": "{% raw %}nothing{% endraw %}\n1. numbered",
    "dependencies": "Weird | Dep: calls {{ jinja }} # here: twice\nΣ-service: Ünïcödé purpose",
}


@pytest.fixture(scope="module")
def hostile(render):
    return render("hostile-text", HOSTILE)


def test_text_answers_round_trip_exactly_through_the_answers_file(hostile):
    stored = hostile.answers
    for key, value in HOSTILE.items():
        assert stored[key] == value, key


def test_separators_yaml_reads_as_line_breaks_round_trip_through_the_answers_file(render):
    """Text pasted from a word processor can hold U+2028 (line separator), U+2029
    (paragraph separator) or U+0085 (next line), which YAML reads as line breaks when they
    stand unescaped in a quoted string: the answers file must keep them as they were typed,
    or the next `copier update` reads other answers than the owner gave."""
    answers = {"project_description": "\x85Zürich[a](b)", "problem_statement": "one\u2028two\u2029three: 'x'\nfour",
               "goals": "\u2028", "non_goals": "\x81 beyond the basic plane: 𤘢\x85 and a control: \x9f"}
    project = render("line-separators", answers)
    for key, value in answers.items():
        assert project.answers[key] == value, key


def test_template_syntax_in_answers_is_never_rendered(hostile):
    design = as_read(hostile.design)
    assert "{{ 7 * 7 }}" in design and "49" not in design.split("\n", 1)[0]
    assert "{% if true %}never{% endif %}" in design
    assert "{{ secret }}" in design
    assert "{% raw %}nothing{% endraw %}" in design
    assert "{{ jinja }}" in design


def test_answers_arrive_verbatim_where_they_are_prose(hostile):
    design = hostile.design
    assert as_read(design).startswith(f"# {HOSTILE['project_name']}: system design\n")
    assert "Zürich 🚀" in design and "Ünïcödé purpose" in design
    assert "\\# Not a heading" in design, "a leading # in prose must not become a heading"
    assert "- \\# hash first" in design
    assert "- already a bullet: kept once" in design


def test_every_markdown_table_keeps_its_column_count(hostile):
    for relative in ("docs/design.md", "README.md"):
        for table in tables(hostile.text(relative)):
            widths = {len(row) for row in table}
            assert len(widths) == 1, f"{relative}: ragged table starting {table[0]}"


def test_pipes_in_table_cells_are_escaped_not_split(hostile):
    rows = [row for table in tables(hostile.design) for row in table]
    weird = [row for row in rows if row and "Weird" in row[0]]
    assert weird, "the dependency appears in tables"
    assert all(row[0].startswith("Weird &#124; Dep") for row in weird)
    assert "Weird &#124; Dep and Σ-service" in [row[0] for row in weird], "a row that holds for both names both"
    assert split_row("| a &#124; b | c |") == ["a &#124; b", "c"]


def test_every_yaml_file_still_parses(hostile):
    """Every document of every YAML file, the OpenSLO file's many kinds included."""
    documents = {
        path.relative_to(hostile.root).as_posix(): list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        for path in hostile.files() if path.suffix in {".yml", ".yaml"}
    }
    assert len(documents["slo/openslo.yaml"]) > 1, "a multi-document file is read to its end"
    for name, parsed in documents.items():
        assert parsed and all(document is not None for document in parsed), f"{name} has an empty document"
    service = next(d for d in documents["slo/openslo.yaml"] if d["kind"] == "Service")
    assert service["spec"]["description"] == HOSTILE["project_description"]
