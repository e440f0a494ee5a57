"""Releases people can update to: a maintainer (or CI, on main) runs .ci/release_tags.py,
and every version heading of CHANGELOG.md becomes an annotated tag vX.Y.Z on the commit
that added the heading, without touching a tag that exists; Copier then finds the newest
release as it does for any published template. Each story runs in a throw-away clone."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from support.project import ROOT, Project, copier_cli
from support.template_versions import git

SCRIPT = ROOT / ".ci" / "release_tags.py"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Release test", "GIT_AUTHOR_EMAIL": "release@groundwork.invalid",
    "GIT_COMMITTER_NAME": "Release test", "GIT_COMMITTER_EMAIL": "release@groundwork.invalid",
}


def release_tags(clone: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=clone, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(clone), **IDENTITY},
    )


def changelog_versions(clone: Path) -> list[str]:
    return re.findall(r"^## (v\d+\.\d+\.\d+) \(", (clone / "CHANGELOG.md").read_text(encoding="utf-8"), flags=re.M)


def tags(repo: Path) -> dict[str, str]:
    """{tag: the commit it points at}"""
    listing = git("for-each-ref", "--format=%(refname:short) %(*objectname) %(objectname)", "refs/tags", cwd=repo)
    return {line.split()[0]: line.split()[1] for line in listing.splitlines()}


@pytest.fixture
def origin(tmp_path) -> Path:
    """A bare copy of this repository with no tags, standing in for the published one."""
    bare = tmp_path / "origin.git"
    git("clone", "--quiet", "--bare", "--no-local", str(ROOT), str(bare), cwd=tmp_path)
    for tag in git("tag", cwd=bare).split():
        git("tag", "-d", tag, cwd=bare)
    return bare


@pytest.fixture
def clone(origin, tmp_path) -> Path:
    path = tmp_path / "groundwork"
    git("clone", "--quiet", str(origin), str(path), cwd=tmp_path)
    return path


def test_every_release_heading_becomes_a_tag_on_the_commit_that_added_it(clone):
    result = release_tags(clone)
    assert result.returncode == 0, result.stderr

    versions = changelog_versions(clone)
    assert len(versions) >= 5 and sorted(tags(clone)) == sorted(versions)
    for version in versions:
        assert git("cat-file", "-t", version, cwd=clone) == "tag", f"{version} is an annotated tag"
        added = git("show", "--format=", f"{version}^{{commit}}", "--", "CHANGELOG.md", cwd=clone)
        assert re.search(rf"^\+## {re.escape(version)} \(", added, flags=re.M), f"{version}'s commit adds its heading"
        before = subprocess.run(["git", "show", f"{version}^{{commit}}^:CHANGELOG.md"], cwd=clone, capture_output=True, text=True)
        assert before.returncode == 0 or "not in" in before.stderr, before.stderr
        assert f"## {version} (" not in before.stdout, f"{version}'s heading was not there before"
        assert git("tag", "-l", "--format=%(contents:subject)", version, cwd=clone).startswith(f"Groundwork {version} (")
    assert f"tagged {versions[-1]}" in result.stdout


def test_running_it_again_changes_nothing(clone):
    assert release_tags(clone).returncode == 0
    before = git("for-each-ref", "refs/tags", cwd=clone)

    again = release_tags(clone)

    assert again.returncode == 0, again.stderr
    assert git("for-each-ref", "refs/tags", cwd=clone) == before
    assert "every release in CHANGELOG.md has its tag" in again.stdout


def test_a_new_release_is_tagged_at_its_heading_not_at_the_newest_commit(clone):
    release_tags(clone)
    changelog = clone / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    changelog.write_text(text.replace("## Unreleased\n", "## Unreleased\n\n## v9.9.9 (2027-01-04)\n\nA release.\n", 1), encoding="utf-8")
    git("commit", "-qam", "Release v9.9.9", cwd=clone)
    release_commit = git("rev-parse", "HEAD", cwd=clone)
    (clone / "README.md").write_text("# Groundwork\n\nLater work.\n", encoding="utf-8")
    git("commit", "-qam", "Later work", cwd=clone)

    dry_run = release_tags(clone, "--dry-run")
    assert dry_run.stdout.splitlines() == [f"would tag v9.9.9 at {release_commit[:12]}"]
    assert "v9.9.9" not in tags(clone)
    result = release_tags(clone)

    assert result.stdout.splitlines() == [f"tagged v9.9.9 at {release_commit[:12]}"]
    assert tags(clone)["v9.9.9"] == release_commit


def test_push_publishes_the_tags_the_remote_lacks(clone, origin):
    result = release_tags(clone, "--push")
    assert result.returncode == 0, result.stderr
    assert tags(origin) == tags(clone)

    again = release_tags(clone, "--push")
    assert "origin has every release tag" in again.stdout


def test_a_tag_that_already_exists_elsewhere_is_kept_and_reported(clone):
    head = git("rev-parse", "HEAD", cwd=clone)
    git("tag", "v0.1.0", head, cwd=clone)

    result = release_tags(clone)

    assert result.returncode == 0, result.stderr
    assert tags(clone)["v0.1.0"] == head, "never moved"
    assert "kept v0.1.0" in result.stderr
    assert "tagged v0.2.0" in result.stdout


def test_a_shallow_clone_is_refused_with_what_to_do(origin, tmp_path):
    shallow = tmp_path / "shallow"
    git("clone", "--quiet", "--depth", "1", f"file://{origin}", str(shallow), cwd=tmp_path)
    result = release_tags(shallow)
    assert result.returncode == 1
    assert "git fetch --unshallow" in result.stderr
    assert tags(shallow) == {}


def test_copier_copies_the_newest_release_once_it_is_tagged(clone, tmp_path):
    release_tags(clone)
    newest = max(changelog_versions(clone), key=Version)

    result = copier_cli("copy", "--defaults", str(clone), str(tmp_path / "service"))

    assert result.returncode == 0, result.stderr
    assert Project(tmp_path / "service").answers["_commit"] == newest
