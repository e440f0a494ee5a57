"""An owner's repository across updates: generate it from a version of the template,
commit, edit, run `copier update` and read what it printed and left behind."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import copier

from support.project import Project
from support.template_versions import TemplateRepo, git


def generate(template: TemplateRepo, destination: Path, version: str, answers: dict) -> Project:
    copier.run_copy(str(template.path), str(destination), data=answers, defaults=True,
                    vcs_ref=version, quiet=True, unsafe=True)
    git("init", "-q", cwd=destination)
    commit(destination, f"Generate from Groundwork {version}")
    return Project(destination)


def commit(root: Path, message: str) -> None:
    git("add", "-A", cwd=root)
    git("commit", "-q", "--allow-empty", "-m", message, cwd=root)


def update(root: Path, version: str, **options) -> None:
    options = {"defaults": True, "overwrite": True, "quiet": True, "unsafe": True, **options}
    copier.run_update(str(root), vcs_ref=version, **options)


def update_and_read_message(root: Path, version: str, **options) -> str:
    """Run the update as a person does (not quiet, no --trust) and return what Copier
    printed to stderr, the message after the update included."""
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        update(root, version, quiet=False, **{"unsafe": False, **options})
    return printed.getvalue()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def conflicted_or_rejected(root: Path) -> list[str]:
    found = [str(p.relative_to(root)) for p in root.rglob("*.rej")]
    for path in root.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            if re.search(r"^<<<<<<< ", path.read_text(encoding="utf-8", errors="replace"), flags=re.M):
                found.append(str(path.relative_to(root)))
    return sorted(found)


def status(root: Path) -> dict[str, str]:
    """{path: two-letter git status} of everything the update changed."""
    lines = git("status", "--porcelain", "--untracked-files=all", cwd=root).splitlines()
    return {line[3:]: line[:2] for line in lines}


def check_design(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "tools/check_design.py", *args], cwd=root,
                          capture_output=True, text=True, timeout=60)
