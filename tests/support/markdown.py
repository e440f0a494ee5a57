"""Just enough Markdown structure to check generated documents: headings, sections,
tables and fenced blocks, all outside code fences."""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^(```|~~~)")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def as_read(text: str) -> str:
    """Markdown text as a reader sees it: backslash escapes and the character references
    the templates write (&lt; &amp; &#124; &#58;) become the characters they stand for."""
    text = _ESCAPED.sub(r"\1", text)
    for reference, character in (("&lt;", "<"), ("&#124;", "|"), ("&#58;", ":"), ("&amp;", "&")):
        text = text.replace(reference, character)
    return text


def _outside_fences(text: str):
    """Yield (line_number, line, in_fence) for every line."""
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
            yield number, line, True
            continue
        yield number, line, in_fence


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    line: int


def headings(text: str) -> list[Heading]:
    found = []
    for number, line, in_fence in _outside_fences(text):
        match = re.match(r"^(#{1,6}) (.*?)\s*#*\s*$", line)
        if match and not in_fence:
            found.append(Heading(len(match.group(1)), match.group(2), number))
    return found


def section(text: str, title_start: str) -> str:
    """The body of the first heading whose title starts with `title_start`, up to the next
    heading of the same or a higher level."""
    lines = text.splitlines()
    all_headings = headings(text)
    for index, heading in enumerate(all_headings):
        if heading.title.startswith(title_start):
            end = len(lines)
            for later in all_headings[index + 1 :]:
                if later.level <= heading.level:
                    end = later.line - 1
                    break
            return "\n".join(lines[heading.line : end])
    raise AssertionError(f"no heading starting with {title_start!r}")


def split_row(line: str) -> list[str]:
    """Cells of a GFM table row: split on pipes that are not backslash-escaped."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", body)]


def tables(text: str) -> list[list[list[str]]]:
    """Every table as a list of rows (header first, delimiter row dropped)."""
    found: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for _, line, in_fence in _outside_fences(text):
        if not in_fence and line.lstrip().startswith("|"):
            row = split_row(line)
            if current is None:
                current = [row]
            elif all(re.fullmatch(r":?-{3,}:?", cell) for cell in row):
                continue
            else:
                current.append(row)
        elif current is not None:
            found.append(current)
            current = None
    if current is not None:
        found.append(current)
    return found


def fenced_blocks(text: str, language: str) -> list[str]:
    """The code of every fenced block in `language`, a block nested in a list item included
    (its indentation removed, as Markdown reads it)."""
    blocks = []
    for match in re.finditer(rf"^( *)```{re.escape(language)}\n(.*?)^\1```$", text, flags=re.S | re.M):
        indent = match.group(1)
        blocks.append("".join(line.removeprefix(indent) for line in match.group(2).splitlines(keepends=True)))
    return blocks
