"""A recording as the text that appeared on screen (``ta session logs``, SPEC §4.5).

Stripping escape sequences from the raw output is not enough: TUIs end lines with ``\\r\\r\\n``,
move the cursor over the gaps between words, erase and redraw whole frames, and a sequence may
be split across two reads. So the recording is played through the screen model, and a line is
printed when it leaves the screen: when it scrolls off the top, when the screen is cleared, or
at the end (the final screen). Following a live session, the rows above the cursor are also
printed once the output pauses (they are settled: a program writing lines has moved past
them); a row redrawn after that is not printed again. What a full-screen program shows on the
alternate screen (vim, less) is not a log line, as it is not in a terminal's scrollback either.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ta_session.host.recording import parse_event
from ta_session.host.screen import ScreenModel

POLL = 0.1  # seconds between looks at a growing recording


class ScreenText:
    """Output in, the lines a person saw out."""

    def __init__(self, cols: int = 80, rows: int = 24):
        self._out: list[str] = []
        self._printed = 0  # rows at the top of the main screen already printed (``settle``)
        # Every byte is emulated (no backlog cut): a log leaves nothing out. LF is a newline
        # too: recordings of pipes have bare LFs, and for a pty CRLF means the same.
        self.model = ScreenModel(cols, rows, newline=True, backlog_limit=1 << 62, history=0,
                                 on_scroll=self._scrolled)  # fmt: skip
        self.model.screen.on_erase = self._erasing

    def _scrolled(self, line: str) -> None:
        if self._printed:
            self._printed -= 1  # printed already, when it settled
        else:
            self._out.append(line)

    def _erasing(self) -> None:
        """The whole main screen is about to be erased: what was on it leaves now."""
        self._out += self._rows(self._printed, self._last_row() + 1)
        self._printed = 0

    def _rows(self, start: int, end: int) -> list[str]:
        return [self.model.line_at(y) for y in range(start, end)]

    def _last_row(self) -> int:
        lines = self.model.lines()
        return max((y for y, line in enumerate(lines) if line), default=-1)

    def _take(self) -> list[str]:
        out, self._out = self._out, []
        return out

    def feed(self, text: str) -> list[str]:
        """Output; the lines that left the screen with it."""
        self.model.feed(text.encode("utf-8", "surrogateescape"))
        self.model.sync()
        return self._take()

    def resize(self, cols: int, rows: int) -> None:
        self.model.resize(cols, rows)
        self._printed = min(self._printed, rows)

    def settle(self) -> list[str]:
        """The output paused: the rows above the cursor not printed yet."""
        if self.model.alternate:
            return []
        _, y = self.model.cursor()
        if y > self._printed:
            self._out += self._rows(self._printed, y)
            self._printed = y
        return self._take()

    def finish(self) -> list[str]:
        """The end: what is left on the final screen, up to its last non-blank row."""
        start = 0 if self.model.alternate else self._printed
        self._out += self._rows(start, self._last_row() + 1)
        self._printed = 0
        return self._take()


def _size(header: bytes) -> tuple[int, int]:
    try:
        value: Any = json.loads(header)
        return int(value.get("width") or 80), int(value.get("height") or 24)
    except (ValueError, AttributeError, TypeError):
        return 80, 24


def recording_text(
    path: Path,
    *,
    raw: bool = False,
    live: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """The text of the recording at ``path``, in pieces to write as they come: lines as seen on
    screen (``raw``: the output as recorded). With ``live`` (following), the file is read as it
    grows while ``live()`` is true; an empty piece means "waiting now: flush"."""
    with path.open("rb") as handle:
        text = ScreenText(*_size(handle.readline()))
        quiet = False
        while True:
            line = handle.readline()
            if line.endswith(b"\n"):
                quiet = False
                event = parse_event(line)
                if event is None:
                    continue
                if event.code == "o":
                    yield event.data if raw else "".join(f"{s}\n" for s in text.feed(event.data))
                elif event.code == "r" and not raw:
                    cols, _, rows = event.data.partition("x")
                    if cols.isdigit() and rows.isdigit():
                        text.resize(int(cols), int(rows))
                continue
            handle.seek(-len(line), 1)  # a half-written last line: read it again when whole
            if live is None or not live():
                break
            if not quiet and not raw:  # the output paused: the lines above the cursor settled
                yield "".join(f"{s}\n" for s in text.settle())
            quiet = True
            yield ""
            sleep(POLL)
        if not raw:
            yield "".join(f"{s}\n" for s in text.finish())


def how_it_ended(state: str, exit_code: int | None) -> str:
    """The last line of ``logs --follow``: the session's end state and the agent's exit code."""
    ending = f" (agent exited with code {exit_code})" if exit_code is not None else ""
    return f"[ta: session {state}{ending}]"
