"""Copier's real prompt in a pseudo-terminal, as a person answers it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect


def spawn_copier(*args: str, cwd: Path | None = None) -> pexpect.spawn:
    """`copier <args>` in a terminal wide enough that no help text wraps."""
    return pexpect.spawn(
        sys.executable, ["-m", "copier", *args], cwd=str(cwd) if cwd else None,
        dimensions=(50, 200), encoding="utf-8", timeout=30,
        env={**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
    )


def next_question(child: pexpect.spawn, previous: str | None) -> str | None:
    """The help text of the next question on screen, or None when copier has finished."""
    while True:
        if child.expect(["\U0001f3a4(?:\x1b\\[[0-9;]*m)* ([^\r\n\x1b]+)", pexpect.EOF]) == 1:
            return None
        help_text = child.match.group(1).strip()
        if help_text != previous:  # the prompt being redrawn is not a new question
            return help_text
