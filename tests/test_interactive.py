"""An engineer answers the real prompt in an 80-column terminal, read back through a
terminal emulator as they see it: no line of any question (help, choices, answer, error
bar) is cut at the edge, each refusal's first line says what is wrong, the groups say which
section of the design document they fill, the last question shows what is about to be
written, and the repository appears only when the engineer says so."""

from __future__ import annotations

import re

import yaml

from support.project import EXAMPLES, example_answers
from support.terminal import DOWN, ENTER, ERASE_LINE, ESCAPE, SPACE, Terminal

COLUMNS = 80
# The help that opens each kind of answer, as the prompt words it.
MULTILINE = ("Section 1 of 13", "Primary goals", "What is intentionally out of scope", "Other services")
CHECKBOX = "<space> to select"
# Copier shows only the first line of a refusal, after these words, in one row: the whole
# first line must be there (the row is cut at a word, not at the edge, when it is longer).
REFUSED = "Validation error for question '%s': "


def test_an_engineer_finishes_the_questionnaire_at_80_columns_without_losing_a_word(tmp_path):
    destination = tmp_path / "service"
    terminal = Terminal(destination, COLUMNS)
    helps: list[str] = []
    refusals: list[str] = []
    cut: list[str] = []

    def answer(keys: str) -> None:
        terminal.send(keys)
        cut.extend(terminal.rows_reaching_the_edge())

    def refused(keys: str) -> str:
        answer(keys)
        line = terminal.error_line()
        refusals.append(line)
        return line

    while (help_text := terminal.question()) is not None:
        helps.append(help_text)
        cut.extend(terminal.rows_reaching_the_edge())
        screen = "\n".join(terminal.rows)
        if help_text.startswith("About the system"):
            answer(ERASE_LINE + "Zahlungsdienst für Händler" + ENTER)
        elif help_text.startswith("Machine name"):
            assert "zahlungsdienst-fur-handler" in screen, "the suggested slug spells the name in ASCII"
            assert refused(ERASE_LINE + "Bad Slug" + ENTER) == f"{REFUSED % 'project_slug'}only a-z, 0-9 and hyphens"
            answer(ERASE_LINE + "payments-api" + ENTER)
        elif help_text.startswith("Owning team"):
            assert refused(ENTER) == f"{REFUSED % 'owner'}empty; type e.g. team-payments", "no placeholder is offered"
            assert refused("owning-team" + ENTER) == f"{REFUSED % 'owner'}\"owning-team\" is a placeholder"
            answer(ERASE_LINE + "team-payments" + ENTER)
        elif "Availability SLO" in help_text:
            assert "no % sign" in help_text
            assert refused(ERASE_LINE + "99.9%" + ENTER) == "Invalid input", "Copier's own words for a non-number"
            answer(ERASE_LINE + "99.9" + ENTER)
        elif "Datastores the system owns" in help_text:
            answer(DOWN + DOWN + SPACE)  # PostgreSQL is marked already; Redis too
            answer(ENTER)
        elif help_text.startswith("Other services"):
            answer("Zahlungsprüfung: checks payments" + ESCAPE + ENTER)
        elif help_text.startswith(MULTILINE):
            answer(ESCAPE + ENTER)
        elif help_text.startswith("Ready to write"):
            summary = help_text
            answer(ENTER)
        else:
            answer(ENTER)
        if CHECKBOX in screen.rsplit(help_text.splitlines()[-1], 1)[-1]:
            assert "Enter confirms" in help_text.replace("\n", " "), f"a multiselect says how to confirm: {help_text}"
        if help_text.startswith("Where alerts page people"):
            assert "Opsgenie: Atlassian ended its sale on 4 June 2025 and ends its support on 5 April 2027." \
                in help_text.replace("\n", " "), "the help says when a tool on offer ends"
        if "store of record, the system's source of truth" in help_text:
            assert "PostgreSQL" in screen and "Redis" in screen, "the choices show the names the documents use"
    status = terminal.finish()

    assert status == 0, "the repository was written"
    assert cut == [], "lines cut at the terminal's edge:\n" + "\n".join(cut)
    assert len(helps) >= 28, f"only {len(helps)} questions were asked"
    assert len(refusals) == 4
    assert helps[-1] is summary, "the last question shows what is about to be written"
    for shown in ("payments-api", "Zahlungsdienst für Händler", "team-payments",
                  "PostgreSQL (store of record), Redis, Zahlungsprüfung"):
        assert shown in summary, f"{shown} is missing from the summary:\n{summary}"
    assert helps.index(next(h for h in helps if "store of record" in h and h.startswith("Which"))) == \
        helps.index(next(h for h in helps if "Datastores the system owns" in h)) + 1, "asked next, as promised"

    histograms = next(i for i, help_text in enumerate(helps) if help_text.startswith("How the service's exporter shapes"))
    assert helps[histograms - 1].startswith("Latency SLO") and "peak load" in helps[histograms + 1], \
        "asked after the thresholds and their targets, before the load"
    flat = helps[histograms].replace("\n", " ")
    assert "classic:" in flat and "native:" in flat and "protobuf" in flat and "scrape configuration" in flat
    threshold = next(h for h in helps if h.startswith("Latency threshold")).replace("\n", " ")
    assert "bucket bound" in threshold and "native histograms (a later question), which take any value" in threshold
    assert yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))["histogram_type"] == "classic"

    sections = [int(number) for help_text in helps for number in re.findall(r"^Section (\d+) of 13", help_text, re.M)]
    assert sections == sorted(sections) and {1, 2, 3, 6, 12} <= set(sections), sections
    for help_text in helps:
        flat = help_text.replace("\n", " ")
        if "in percent" in flat:
            assert "a number like" in flat and "no % sign" in flat, help_text
        if re.search(r"\bin (milliseconds|seconds|minutes)\b|per second", flat):
            assert "a whole number like" in flat, help_text
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", flat), f"a help names a key the prompt never shows: {help_text}"

    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["project_name"] == "Zahlungsdienst für Händler"
    assert answers["project_slug"] == "payments-api"
    assert answers["owner"] == "team-payments"
    assert answers["datastores"] == ["postgresql", "redis"] and answers["primary_datastore"] == "postgresql"
    design = (destination / "docs" / "design.md").read_text(encoding="utf-8")
    assert (destination / "docs" / "runbooks" / "dependency-zahlungsprufung.md").is_file()
    unit = re.search(r"peak of \d+ (\w+)/s", design).group(1)
    assert f"in {unit} per second" in next(h for h in helps if "peak load" in h), "the prompt counts load as the documents do"


def test_a_name_without_latin_letters_gets_no_slug_suggestion_and_a_clear_refusal(tmp_path):
    terminal = Terminal(tmp_path / "service", COLUMNS)
    assert terminal.question().startswith("About the system")
    terminal.send(ERASE_LINE + "支付服务" + ENTER)
    assert terminal.question().startswith("Machine name")
    terminal.send(ENTER)
    error = terminal.error_line()
    assert error == "Validation error for question 'project_slug': needed: the name has no a-z"
    assert terminal.rows_reaching_the_edge() == []
    terminal.child.sendcontrol("c")
    terminal.finish()
    assert not (tmp_path / "service").exists(), "stopping writes nothing"


def test_an_engineer_reads_the_summary_says_no_and_nothing_is_written(tmp_path):
    example = EXAMPLES / "payments-api.yml"
    answers = example_answers("payments-api")
    # Long enough to wrap; its braces and markup are shown as typed, never rendered.
    long_name = "Payments API {{ 7*7 }} for <b>checkout</b>, subscription and marketplace teams"
    destination = tmp_path / "service"
    terminal = Terminal(destination, COLUMNS, "--data-file", str(example), "--data", f"project_name={long_name}")
    while not (help_text := terminal.question()).startswith("Ready to write"):
        terminal.send(ENTER)  # the few questions the example leaves open, at their defaults

    assert terminal.rows_reaching_the_edge() == [], "the summary is wrapped, not cut"
    flat = " ".join(line.strip() for line in help_text.splitlines())
    assert long_name in flat
    for shown in (answers["project_slug"], answers["owner"], f"{answers['availability_slo']} %",
                  f"{answers['latency_threshold_ms']} ms", f"over {answers['slo_window_days']} days",
                  *(line.split(":")[0] for line in answers["dependencies"].splitlines())):
        assert shown in flat, f"{shown} is missing from the summary:\n{help_text}"
    terminal.send("n" + ENTER)
    assert terminal.finish() == 0
    assert "Nothing was written" in "\n".join(terminal.rows)
    assert not destination.exists(), "no says no: not a file, not a directory"
