#!/usr/bin/env python3
"""Tag Groundwork's releases from CHANGELOG.md.

A release is a heading `## vX.Y.Z (date)` in CHANGELOG.md, made by the commit that added
that heading. Copier and Renovate read releases from git tags, so every release needs its
tag `vX.Y.Z` on that commit. This script finds each release's commit in the history and
creates the tags that are missing, annotated with the release's notes. It never moves or
deletes a tag: one that exists on another commit is reported and kept.

    python3 .ci/release_tags.py             # create the missing tags in this clone
    python3 .ci/release_tags.py --dry-run   # only say what it would tag
    python3 .ci/release_tags.py --push      # and push every release tag origin lacks

CI runs it with --push on every push to main, after the tests pass; a maintainer can run it
in any full clone. The test suite reads the same releases (tests/support/template_versions.py)
to build versioned copies of the template in clones that have no tags.

Standard library only.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

HEADING = re.compile(r"^## (v\d+\.\d+\.\d+) \(.*$", re.M)


class ReleaseError(Exception):
    pass


def git(*args: str, repo: Path) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version[1:].split("."))


def release_notes(changelog: str) -> dict[str, str]:
    """{"v0.1.0": "## v0.1.0 (date)\\n...the section...", ...}, oldest first."""
    headings = list(HEADING.finditer(changelog))
    notes = {}
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        end = following.start() if following else len(changelog)
        notes[heading.group(1)] = changelog[heading.start():end].strip()
    return dict(sorted(notes.items(), key=lambda item: _version_key(item[0])))


def released_versions(repo: Path) -> dict[str, str]:
    """{"v0.1.0": commit, ...}, oldest first: the commit that added each release's heading
    to CHANGELOG.md (the oldest commit that changed how often the heading occurs)."""
    if git("rev-parse", "--is-shallow-repository", repo=repo) == "true":
        # The oldest commit of a shallow clone seems to add every heading at once.
        raise ReleaseError("this is a shallow clone: fetch the whole history first (git fetch --unshallow)")
    changelog = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = {}
    for version in release_notes(changelog):
        commits = git("log", "--format=%H", "-S", f"## {version} (", "--", "CHANGELOG.md", repo=repo).splitlines()
        if not commits:
            raise ReleaseError(f"no commit adds the heading of {version} to CHANGELOG.md: commit it first")
        releases[version] = commits[-1]
    return releases


def existing_tags(repo: Path) -> dict[str, str]:
    """{"v0.1.0": the commit it points at, ...}"""
    listing = git("for-each-ref", "--format=%(refname:short) %(objectname) %(*objectname)", "refs/tags", repo=repo)
    tags = {}
    for line in listing.splitlines():
        name, target, *peeled = line.split()
        tags[name] = peeled[0] if peeled else target
    return tags


def tag_missing(repo: Path, dry_run: bool = False) -> list[str]:
    """Create the tag of every release that has none; the names of those created."""
    notes = release_notes((repo / "CHANGELOG.md").read_text(encoding="utf-8"))
    tags = existing_tags(repo)
    created = []
    for version, commit in released_versions(repo).items():
        if version in tags:
            if tags[version] != commit:
                print(f"kept {version}: it points at {tags[version][:12]}, but CHANGELOG.md's heading "
                      f"was added by {commit[:12]}", file=sys.stderr)
            continue
        if not dry_run:
            git("tag", "-a", version, commit, "-m", f"Groundwork {notes[version][3:]}", repo=repo)
        print(f"{'would tag' if dry_run else 'tagged'} {version} at {commit[:12]}")
        created.append(version)
    if not created:
        print("every release in CHANGELOG.md has its tag")
    return created


def push_missing(repo: Path, remote: str = "origin") -> list[str]:
    """Push every release tag the remote lacks; the names of those pushed."""
    releases = released_versions(repo)
    remote_tags = {
        line.split("\t")[1].removeprefix("refs/tags/").removesuffix("^{}")
        for line in git("ls-remote", "--tags", remote, repo=repo).splitlines()
    }
    missing = [version for version in releases if version in existing_tags(repo) and version not in remote_tags]
    if missing:
        git("push", remote, *(f"refs/tags/{version}" for version in missing), repo=repo)
        print(f"pushed {', '.join(missing)} to {remote}")
    else:
        print(f"{remote} has every release tag")
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tag each release heading of CHANGELOG.md that has no tag yet.")
    parser.add_argument("--dry-run", action="store_true", help="say what would be tagged; change nothing")
    parser.add_argument("--push", action="store_true", help="then push every release tag origin lacks")
    args = parser.parse_args(argv)
    try:
        repo = Path(git("rev-parse", "--show-toplevel", repo=Path.cwd()))
        tag_missing(repo, dry_run=args.dry_run)
        if args.push and not args.dry_run:
            push_missing(repo)
    except ReleaseError as error:
        print(f"release_tags: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
