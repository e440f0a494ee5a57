"""A maintainer learns the template from the repository itself: the README, CONTRIBUTING.md,
the benchmark's README and the template's own decision records link only to what exists,
pass the Markdown lint the generated repositories use, and refer to no document the
repository does not contain. The decision records are MADR 4.0 records with an index."""

from __future__ import annotations

import re
import subprocess

import yaml

from support.links import relative_links
from support.markdown import headings, section
from support.project import ROOT
from support.template_versions import git
from support.tools import require

DECISIONS = ROOT / "docs" / "decisions"
MAINTAINER_DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", ROOT / "bench" / "README.md",
                   *sorted(DECISIONS.glob("*.md"))]


def records() -> list:
    return sorted(DECISIONS.glob("[0-9][0-9][0-9][0-9]-*.md"))


def test_every_relative_link_lands_on_something_that_exists():
    broken = [
        f"{doc.relative_to(ROOT)} -> {target}"
        for doc in MAINTAINER_DOCS for target in relative_links(doc)
        if not (doc.parent / target.split("#", 1)[0]).resolve().exists()
    ]
    assert broken == []
    assert "CONTRIBUTING.md" in relative_links(ROOT / "README.md"), "users find the maintainer's guide"


def test_the_docs_pass_markdownlint_with_the_generated_repositories_rules():
    result = subprocess.run(
        [require("markdownlint-cli2"), "--config", str(ROOT / "template" / ".markdownlint-cli2.yaml"),
         *(str(doc.relative_to(ROOT)) for doc in MAINTAINER_DOCS)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_file_refers_to_a_document_the_repository_does_not_contain():
    tracked = git("ls-files", "-co", "--exclude-standard", cwd=ROOT).splitlines()
    offenders = [
        name for name in tracked
        if (ROOT / name).is_file() and name != "tests/test_maintainer_docs.py"
        and re.search(r"SPEC §|\.\./shared", (ROOT / name).read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []


def test_each_decision_record_is_madr():
    assert len(records()) >= 6
    for number, record in enumerate(records(), start=1):
        assert record.name.startswith(f"{number:04d}-"), f"{record.name}: records are numbered without gaps"
        text = record.read_text(encoding="utf-8")
        front_matter = yaml.safe_load(text.split("---\n")[1])
        assert front_matter["status"] in {"proposed", "rejected", "accepted", "deprecated"} or \
            front_matter["status"].startswith("superseded by"), record.name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(front_matter["date"])), record.name
        assert front_matter["decision-makers"], record.name
        level_two = [h.title for h in headings(text) if h.level == 2]
        assert level_two[0] == "Context and Problem Statement", record.name
        assert level_two.index("Considered Options") < level_two.index("Decision Outcome"), record.name
        options = re.findall(r"^- (.+)$", section(text, "Considered Options"), flags=re.M)
        chosen = re.search(r'Chosen option: "(.+?)", because', section(text, "Decision Outcome"), flags=re.S)
        assert chosen, f"{record.name}: the outcome names its option and why"
        assert " ".join(chosen.group(1).split()) in [" ".join(o.split()) for o in options], record.name
        assert "Consequences" in [h.title for h in headings(section(text, "Decision Outcome")) if h.level == 3]


def test_the_decision_index_lists_every_record():
    index = (DECISIONS / "README.md").read_text(encoding="utf-8")
    assert sorted(target for target in relative_links(DECISIONS / "README.md")) == [record.name for record in records()]
    for record in records():
        title = next(h.title for h in headings(record.read_text(encoding="utf-8")) if h.level == 1)
        assert title in index, record.name
