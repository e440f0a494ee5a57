"""An engineer answers the real prompt in a terminal: Enter accepts each default, a bad
slug is refused with the validator's message and asked again, and the repository appears."""

from __future__ import annotations

import re

import yaml

from support.project import ROOT
from support.terminal import next_question, spawn_copier

# Questions whose input is multiline: Enter adds a line, Esc then Enter submits.
MULTILINE_HELP = ("The specific pain", "Primary goals, one per line", "What is intentionally out of scope", "Other services and external APIs")
SLUG_HELP = "Machine name:"
ERASE_LINE = "\x15"  # Ctrl-U


def test_the_interactive_prompt_refuses_a_bad_answer_and_finishes(tmp_path):
    destination = tmp_path / "service"
    child = spawn_copier("copy", "--vcs-ref", "HEAD", str(ROOT), str(destination))
    asked, refused = [], False
    question = next_question(child, None)
    while question is not None:
        asked.append(question)
        if question.startswith(SLUG_HELP):
            child.send(ERASE_LINE + "Bad Slug\r")
            child.expect("only a-z, 0-9 and hyphens")
            refused = True
            child.send(ERASE_LINE + "good-slug\r")
        elif question.startswith(MULTILINE_HELP):
            child.send("\x1b\r")
        else:
            child.send("\r")
        question = next_question(child, question)
    child.close()

    assert refused, "the slug question was asked and its validator refused the bad answer"
    assert child.exitstatus == 0, child.before
    assert len(asked) >= 25, f"only {len(asked)} questions were asked"
    assert asked.count(next(q for q in asked if q.startswith(SLUG_HELP))) == 1, "asked again in place, not twice"
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["project_slug"] == "good-slug"
    assert answers["project_name"] == "New Service"
    assert (destination / "tools" / "check_design.py").is_file()
    design = (destination / "docs" / "design.md").read_text(encoding="utf-8")
    unit = re.search(r"peak of \d+ (\w+)/s", design).group(1)
    assert f"{unit} per second" in next(q for q in asked if "peak load" in q), "the prompt counts load as the documents do"
