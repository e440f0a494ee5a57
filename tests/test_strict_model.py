"""The model fails loudly: a name a template reads but nobody defined breaks the render
instead of printing an empty string into a generated document."""

from __future__ import annotations

import shutil

import copier
import pytest
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
