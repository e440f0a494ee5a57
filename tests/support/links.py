"""Links in generated Markdown: every relative link must land on a generated file."""

from __future__ import annotations

import re
from pathlib import Path

_LINK = re.compile(r"(?<!\!)\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)\)")


def relative_links(markdown_file: Path) -> list[str]:
    text = markdown_file.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```$", "", text, flags=re.S | re.M)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [
        target
        for target in _LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")
    ]


def broken_links(root: Path) -> list[str]:
    broken = []
    for markdown_file in sorted(root.rglob("*.md")):
        if ".git" in markdown_file.parts:
            continue
        for target in relative_links(markdown_file):
            path = target.split("#", 1)[0]
            if not (markdown_file.parent / path).resolve().is_file():
                broken.append(f"{markdown_file.relative_to(root)} -> {target}")
    return broken
