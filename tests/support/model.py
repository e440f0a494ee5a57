"""What a copy computes before it writes a file: every answer and computed value of
copier.yml (the derived model of includes/model.jinja among them), and the names of the
files it would write. Rendered with Jinja configured as copier.yml configures Copier, in
milliseconds, so a test can compare the model of hundreds of answer sets;
tests/test_model_inputs.py holds it to what real Copier computes."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatch
from functools import cache
from pathlib import PurePosixPath
from typing import Any

import yaml
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from support.project import ROOT
from support.questions import QUESTIONNAIRE, QUESTIONS, in_order

TEMPLATE = ROOT / QUESTIONNAIRE["_subdirectory"]
SUFFIX = QUESTIONNAIRE["_templates_suffix"]
PARTS = ("slos", "components", "decisions")
YIELD = re.compile(r"^\{% yield (\w+) from (\w+) %\}(.*)\{% endyield %\}(.*)$")
FALSE = {"", "false", "no", "off", "0", "n", "none", "null"}


@cache
def environment() -> SandboxedEnvironment:
    """Jinja as Copier sets it up for this template: copier.yml's _envops, undefined names
    failing, the filters Copier adds."""
    envops = {key: value for key, value in QUESTIONNAIRE["_envops"].items() if key != "undefined"}
    return SandboxedEnvironment(loader=FileSystemLoader(str(ROOT)), undefined=StrictUndefined,
                                extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"], **envops)


@cache
def _compiled(source: str):
    return environment().from_string(source)


def render(source: str, context: dict) -> str:
    return _compiled(source).render(context)


def _is_asked(spec: dict, context: dict) -> bool:
    when = spec.get("when", True)
    if isinstance(when, str):
        return render(when, context).strip().lower() not in FALSE
    return bool(when)


def _cast(name: str, value: Any) -> Any:
    spec = QUESTIONS[name]
    kind = spec.get("type", "yaml")
    if spec.get("multiselect"):
        items = yaml.safe_load(value) if isinstance(value, str) else value
        return in_order(name, items)
    if not isinstance(value, str):
        return value
    if kind == "json":
        return json.loads(value)
    if kind == "bool":
        return value.strip().lower() not in FALSE
    return {"int": int, "float": float, "str": str}.get(kind, yaml.safe_load)(value)


def context(given: dict) -> dict:
    """What templates see after `copier copy --defaults` with `given` as --data: each
    question in copier.yml's order takes its given answer, or its default; a question not
    asked for these answers (its `when` false) takes its default, as it would for a person
    who could not answer it."""
    values: dict[str, Any] = {
        "_copier_conf": {"defaults": True, "data": given, "user_defaults": {}, "answers_file": ".copier-answers.yml"},
        "_copier_answers": {}, "_external_data": {},
    }
    for name, spec in QUESTIONS.items():
        if _is_asked(spec, values) and name in given and _offers(name, given[name], values):
            values[name] = given[name]
        elif "default" in spec:
            default = spec["default"]
            values[name] = _cast(name, render(default, values) if isinstance(default, str) else default)
    return values


def _offers(name: str, value: Any, values: dict) -> bool:
    """Whether `value` is one of the options the question offers with these answers (as
    an update takes a stored answer only while it is; otherwise the default)."""
    offered = QUESTIONS[name].get("choices")
    if offered is None:
        return True
    if isinstance(offered, str):
        offered = yaml.safe_load(render(offered, values)) or {}
    options = list(offered.values())
    return all(item in options for item in value) if QUESTIONS[name].get("multiselect") else value in options


def stored(values: dict) -> dict:
    """The answers .copier-answers.yml keeps: those asked for these answers (no computed
    value, no secret)."""
    return {name: values[name] for name, spec in QUESTIONS.items()
            if spec.get("when") is not False and not spec.get("secret") and _is_asked(spec, values)}


def model(values: dict) -> dict:
    """The parts of the derived model: slos, components, decisions."""
    return {part: values[part] for part in PARTS}


def variants(answer: str, values: dict) -> list:
    """Other values a person could give `answer` instead of the one in `values`: every
    other option, a few other selections, another number or text."""
    spec, value = QUESTIONS[answer], values[answer]
    offered = spec.get("choices")
    if isinstance(offered, str):
        offered = yaml.safe_load(render(offered, values)) or {}
    if isinstance(offered, dict):
        options = list(offered.values())
        if spec.get("multiselect"):
            selections = ([], options[:1], options[-2:], options)
            return [selection for index, selection in enumerate(selections)
                    if selection != value and selection not in selections[:index]]
        return [option for option in options if option != value]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1]
    if isinstance(value, float):
        return [round(value - 0.4, 3)]
    return [value + "-other" if value else "other"]


def file_names(values: dict) -> set[str]:
    """The files a copy writes with these values: every path under template/ rendered as
    Copier renders it (a part that renders empty drops its file or folder; a `yield` name
    gives one file per item of the model list it iterates; the templates' suffix dropped)."""
    excluded = [pattern for pattern in QUESTIONNAIRE["_exclude"] if "{" not in pattern]
    files = set()
    for path in TEMPLATE.rglob("*"):
        parts = PurePosixPath(path.relative_to(TEMPLATE).as_posix()).parts
        if path.is_file() and not any(fnmatch(part, pattern) for part in parts for pattern in excluded):
            files |= _names(parts, values)
    return files


def _names(parts: tuple[str, ...], values: dict) -> set[str]:
    names = {""}
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        found = YIELD.match(part)
        if found:
            item, iterable, inner, rest = found.groups()
            rendered = [render(inner, {**values, item: entry}) + rest for entry in values[iterable]]
        else:
            rendered = [render(part, values)]
        rendered = [name for name in (name.removesuffix(SUFFIX) if last else name for name in rendered) if name]
        names = {f"{prefix}/{name}".lstrip("/") for prefix in names for name in rendered}
    return names
