"""Versioned copies of the template, for update stories.

A throw-away git repository holds:
- every release listed in CHANGELOG.md, tagged at its release commit (the commit that
  added the version's heading to CHANGELOG.md, found as .ci/release_tags.py finds it, so
  this works in clones without tags);
- the working tree (HEAD plus uncommitted changes) as the version under test, tagged one
  minor above the newest release as a development release (e.g. v0.3.0.dev0);
- optionally a later, synthetic version derived from it by a test (`add_version`).

Copier reads template versions from these PEP 440 tags; tests always pass an explicit
`vcs_ref`, so development tags are used like any other.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

import release_tags
from support.project import ROOT


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
        env={"GIT_AUTHOR_NAME": "Groundwork tests", "GIT_AUTHOR_EMAIL": "tests@groundwork.invalid",
             "GIT_COMMITTER_NAME": "Groundwork tests", "GIT_COMMITTER_EMAIL": "tests@groundwork.invalid",
             "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(cwd)},
    ).stdout.strip()


def released_versions() -> dict[str, str]:
    """{"v0.1.0": commit, ...}, oldest first, from CHANGELOG.md and its history."""
    return release_tags.released_versions(ROOT)


def _working_tree_files() -> list[str]:
    listing = git("ls-files", "-co", "--exclude-standard", "-z", cwd=ROOT)
    return [name for name in listing.split("\0") if name and (ROOT / name).is_file()]


@dataclass
class TemplateRepo:
    path: Path
    releases: dict[str, str]
    current: str = ""
    versions: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, where: Path) -> TemplateRepo:
        path = where / "groundwork"
        git("clone", "--quiet", "--no-local", str(ROOT), str(path), cwd=where)
        for tag in git("tag", cwd=path).split():
            git("tag", "-d", tag, cwd=path)
        repo = cls(path=path, releases=released_versions())
        for version, commit in repo.releases.items():
            git("tag", version, commit, cwd=path)
        newest = Version(list(repo.releases)[-1][1:])
        repo.current = f"v{newest.major}.{newest.minor + 1}.0.dev0"
        repo._commit_snapshot(repo.current)
        repo.versions = [*repo.releases, repo.current]
        return repo

    def _commit_snapshot(self, tag: str) -> None:
        git("rm", "-rq", "--ignore-unmatch", ".", cwd=self.path)
        for name in _working_tree_files():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
        git("add", "-A", cwd=self.path)
        git("commit", "-q", "--allow-empty", "-m", f"working tree as {tag}", cwd=self.path)
        git("tag", tag, cwd=self.path)

    def add_version(self, tag: str, edits: dict[str, callable]) -> str:
        """Commit `edits` ({relative path: str -> str}) on top of the newest version."""
        git("checkout", "-q", self.versions[-1], cwd=self.path)
        for relative, edit in edits.items():
            file = self.path / relative
            before = file.read_text(encoding="utf-8") if file.exists() else ""
            after = edit(before)
            assert after != before, f"the edit of {relative} changes nothing"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(after, encoding="utf-8")
        git("add", "-A", cwd=self.path)
        git("commit", "-q", "-m", f"template change for {tag}", cwd=self.path)
        git("tag", tag, cwd=self.path)
        self.versions.append(tag)
        return tag
