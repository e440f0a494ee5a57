"""Copier's real prompt in a pseudo-terminal, as a person answers it. `Terminal` also reads
it back as the person sees it: every byte copier writes goes through a terminal emulator
(pyte), so a test can look at the screen, row by row, the way the terminal draws it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pyte

from support.project import ROOT

QUESTION_MARK = "\U0001f3a4"  # the microphone copier prints before each question
ENTER, ERASE_LINE, ESCAPE, SPACE, DOWN = "\r", "\x15", "\x1b", " ", "\x1b[B"
# prompt_toolkit turns line wrapping back on when it has drawn the prompt.
DRAWN = "\x1b[?7h"


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


class _Screen:
    """pexpect's log of what it reads, fed to the emulator."""

    def __init__(self, columns: int, rows: int):
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.Stream(self.screen)

    def write(self, text: str) -> None:
        self._stream.feed(text)

    def flush(self) -> None:
        pass


class Terminal:
    """`copier copy --vcs-ref HEAD <template> <destination>` in a terminal of the given size."""

    def __init__(self, destination: Path, columns: int, *options: str, rows: int = 400):
        # Tall enough that the whole questionnaire stays on screen: nothing scrolls away.
        self.columns = columns
        self._asked_at = -1
        self._log = _Screen(columns, rows)
        self.child = pexpect.spawn(
            sys.executable, ["-m", "copier", "copy", "--vcs-ref", "HEAD", *options, str(ROOT), str(destination)],
            dimensions=(rows, columns), encoding="utf-8", timeout=30,
            env={**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
        )
        self.child.logfile_read = self._log

    @property
    def rows(self) -> list[str]:
        return list(self._log.screen.display)

    def question(self) -> str | None:
        """Wait for the next question to be drawn; its help text as shown, or None at the end.
        (A question drawn again, after a keystroke or a refusal, is not a next question.)"""
        while True:
            row = self._question_row()
            if row > self._asked_at:
                self._asked_at = row
                return self.current_help()
            if self.child.expect_exact([DRAWN, pexpect.EOF]) == 1:
                return None

    def _question_row(self) -> int:
        return max((i for i, row in enumerate(self.rows) if QUESTION_MARK in row), default=-1)

    def current_help(self) -> str:
        """The help of the question on screen: from the last microphone to the answer line,
        where the cursor waits, without the instructions a multi-line answer shows above it."""
        rows = self.rows[self._question_row():self._log.screen.cursor.y]
        while rows and rows[-1].startswith(" "):
            rows.pop()
        return "\n".join(row.rstrip() for row in rows).replace(QUESTION_MARK, "", 1).strip()

    def send(self, keys: str) -> None:
        """Type `keys` and wait until the prompt has drawn its answer to them."""
        self.child.send(keys)
        self.child.expect_exact(DRAWN)
        self.child.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=0.15)  # any redraw that follows

    def error_line(self) -> str:
        """The validation bar under the answer: the row after the cursor's."""
        return self.rows[self._log.screen.cursor.y + 1].rstrip()

    def rows_reaching_the_edge(self) -> list[str]:
        """Rows of the question on screen (help, choices, answer, error bar) with a character
        in the last column: text the prompt cut at the terminal's edge."""
        screen = self._log.screen
        last = self.columns - 1
        return [
            screen.display[y] for y in range(self._question_row(), screen.lines)
            if screen.buffer[y][last].data not in (" ", "")
        ]

    def finish(self) -> int:
        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus
