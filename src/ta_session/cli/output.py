"""Printing for the CLI: one-line errors, aligned tables, JSON, optional colour."""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

from ta_session.model.errors import TaError


class CommandError(TaError):
    """An error for the user: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class UsageError(CommandError):
    def __init__(self, message: str):
        super().__init__(message, code=2)


def error_line(message: str) -> None:
    text = " ".join(message.split("\n")).strip()
    sys.stderr.write(f"ta: error: {text}\n")
    sys.stderr.flush()


def warn(message: str) -> None:
    sys.stderr.write(f"ta: warning: {message}\n")


def describe_exception(exc: BaseException) -> str:
    """One line for an exception that reached the top: ours are already sentences."""
    if isinstance(exc, TaError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def use_colour(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def style(text: str, code: str, enabled: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if enabled else text


def display_width(text: str) -> int:
    if text.isascii():  # the common case, and 10,000-row listings depend on it being cheap
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def one_line(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` columns with an ellipsis."""
    return cut(" ".join(text.split()), limit)


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` columns, its last one an ellipsis when anything was left out."""
    if display_width(text) <= limit:
        return text
    if text.isascii():
        return text[: limit - 1] + "…"
    out, width = [], 0
    for ch in text:
        w = display_width(ch)
        if width + w > limit - 1:
            break
        out.append(ch)
        width += w
    return "".join(out) + "…"


def output_width(stream: Any = None) -> int | None:
    """The columns output to ``stream`` should fit: ``COLUMNS`` when set, else the terminal's
    width; None (no limit) when neither says, as for output to a pipe or a file."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    stream = stream or sys.stdout
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, OSError, ValueError):
        pass
    return None


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    fit: int | None = None,
    min_last: int = 12,
) -> str:
    """Columns padded to line up (by display width, so wide characters do not shift them).

    With ``fit``, cells of the last column are cut (``…``) so that lines stay within ``fit``
    columns, though the last column keeps at least ``min_last`` (the others are never cut).
    """
    all_rows: list[Sequence[str]] = [headers, *rows]
    # The last column is never padded (lines are right-stripped), so its cells are measured
    # only when they might not fit: no cell is wider than twice its length.
    cell_widths = [[display_width(cell) for cell in row[:-1]] for row in all_rows]
    widths = [max(column) for column in zip(*cell_widths, strict=True)]
    if fit is not None:
        room = max(min_last, fit - sum(widths) - 2 * len(widths))
        for i, row in enumerate(all_rows):
            if 2 * len(row[-1]) > room and display_width(row[-1]) > room:
                all_rows[i] = [*row[:-1], cut(row[-1], room)]
    lines = []
    for row, row_widths in zip(all_rows, cell_widths, strict=True):
        cells = [
            cell + " " * (width - w)
            for cell, w, width in zip(row[:-1], row_widths, widths, strict=True)
        ]
        cells.append(row[-1])
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def print_json_rows(rows: Sequence[str]) -> None:
    """A JSON array with one element per line, from elements already encoded: as easy to read
    and to ``grep`` as a table, and cheap (``indent`` would select the pure-Python encoder,
    several times slower on a 10,000-session listing)."""
    if not rows:
        sys.stdout.write("[]\n")
        return
    sys.stdout.write("[\n  " + ",\n  ".join(rows) + "\n]\n")
