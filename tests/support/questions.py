"""The questionnaire, copier.yml, as the tests read it: the one place that says which
answers exist and which options each offers. Tests draw and enumerate options from here,
so an option added to copier.yml reaches every test that walks the options."""

from __future__ import annotations

from typing import Any

# Copier's own reading of copier.yml: its documents merged in order, each `!include`
# resolved in place, so the tests see the questions in the order Copier asks them.
from copier._template import load_template_config

from support.project import ROOT

QUESTIONNAIRE: dict[str, Any] = load_template_config(ROOT / "copier.yml")
QUESTIONS: dict[str, dict] = {name: spec for name, spec in QUESTIONNAIRE.items() if not name.startswith("_")}


def choices(answer: str) -> list:
    """The values `answer` offers, in the questionnaire's order."""
    offered = QUESTIONS[answer].get("choices")
    assert isinstance(offered, dict), f"{answer} has no fixed choices in copier.yml"
    return list(offered.values())


def choice_answers() -> list[str]:
    """Every answer with a fixed list of options, in the questionnaire's order (the store of
    record's options are the datastores chosen, so it is not one of them)."""
    return [name for name, spec in QUESTIONS.items() if isinstance(spec.get("choices"), dict)]


def is_multiselect(answer: str) -> bool:
    return bool(QUESTIONS[answer].get("multiselect"))


def is_computed(name: str) -> bool:
    """A value copier.yml computes and never asks (`when: false`)."""
    return QUESTIONS[name].get("when") is False


def asked() -> list[str]:
    """The answers a person can give, in the questionnaire's order."""
    return [name for name, spec in QUESTIONS.items() if not is_computed(name) and not spec.get("secret")]


def in_order(answer: str, values: list) -> list:
    """A multiselect answer as Copier records it: the chosen options in the order offered."""
    return [value for value in choices(answer) if value in values]
