"""The model fails loudly: a name a template reads but nobody defined breaks the render
instead of printing an empty string into a generated document."""

from __future__ import annotations

import json
import shutil

import copier
import pytest
from copier.errors import UserMessageError
from jinja2.exceptions import UndefinedError

from support.project import ROOT
from support.template_versions import git


def template_copy(where) -> str:
    """The working tree as a throw-away git repository, to break on purpose."""
    listing = git("ls-files", "-co", "--exclude-standard", "-z", cwd=ROOT)
    for name in filter(None, listing.split("\0")):
        if (ROOT / name).is_file():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, where / name)
    git("init", "-q", cwd=where)
    git("add", "-A", cwd=where)
    git("commit", "-q", "-m", "template", cwd=where)
    return str(where)


def test_a_knowledge_module_missing_a_name_breaks_the_render(tmp_path):
    template = tmp_path / "template"
    template.mkdir()
    source = template_copy(template)
    mysql = template / "includes/knowledge/datastore/mysql.jinja"
    lines = mysql.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("{% set backup = ")]
    assert len(kept) == len(lines) - 1, "mysql.jinja defines backup on one line"
    mysql.write_text("".join(kept), encoding="utf-8")
    git("commit", "-qam", "forget how MySQL is backed up", cwd=template)

    with pytest.raises(UndefinedError, match="backup"):
        copier.run_copy(source, str(tmp_path / "svc"), data={"datastores": ["mysql"]},
                        defaults=True, quiet=True, vcs_ref="HEAD")
    assert not (tmp_path / "svc").exists()


def edit_json(path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def test_an_slo_whose_question_does_not_exist_breaks_the_render(tmp_path):
    """An SLO added to the catalog for a kind, before its target question exists."""
    template = tmp_path / "template"
    template.mkdir()
    source = template_copy(template)
    edit_json(template / "includes/data/slis.json", lambda catalog: catalog["slis"].update(
        throughput=dict(catalog["slis"]["availability"], title="Throughput", target="throughput_slo")))
    git("commit", "-qam", "offer a throughput SLO without asking for its target", cwd=template)

    # A computed value's undefined name reaches the user as Copier's message, naming it.
    with pytest.raises(UserMessageError, match="has no attribute 'throughput_slo'"):
        copier.run_copy(source, str(tmp_path / "svc"), defaults=True, quiet=True, vcs_ref="HEAD")
    assert not (tmp_path / "svc").exists()


def test_a_decision_topic_the_template_cannot_word_breaks_the_render(tmp_path):
    """A topic added to the decisions table, before anything says what it decides."""
    template = tmp_path / "template"
    template.mkdir()
    source = template_copy(template)
    edit_json(template / "includes/data/decisions.json", lambda table: table["topics"].append(
        dict(table["topics"][-1], topic="caching", number="0006", slug="caching")))
    git("commit", "-qam", "add a caching decision without its wording", cwd=template)

    with pytest.raises(UserMessageError, match="has no attribute 'caching'"):
        copier.run_copy(source, str(tmp_path / "svc"), defaults=True, quiet=True, vcs_ref="HEAD")
    assert not (tmp_path / "svc").exists()
