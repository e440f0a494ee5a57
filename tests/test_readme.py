"""The README is the interface people read first: it must document every question and
give the two set-up commands CI runs."""

from __future__ import annotations

import re

from support.project import ROOT
from support.questions import QUESTIONS

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_question_is_in_the_reference_table():
    documented = set(re.findall(r"^\| (?:`[a-z_]+`(?:, )?)+", README, flags=re.M))
    keys = {key for row in documented for key in re.findall(r"`([a-z_]+)`", row)}
    asked = {key for key, spec in QUESTIONS.items() if spec.get("when") is not False}
    assert asked - keys == set(), "questions missing from README"
    assert keys - asked == set(), "README documents questions that do not exist"


def test_the_readme_gives_exactly_one_render_and_one_test_command():
    for marker in ("render-command", "test-command"):
        blocks = re.findall(rf"<!-- {marker} -->\n```sh\n(.+?)\n```\n<!-- /{marker} -->", README, flags=re.S)
        assert len(blocks) == 1, marker
        assert "\n" not in blocks[0].strip(), f"{marker} is one command line"
    assert "--data-file examples/" in README
