"""Terminal text helpers: stripping escape sequences, the last lines of output."""

from __future__ import annotations

import re

# CSI (ESC [ … final), OSC (ESC ] … BEL or ST), other two-byte escapes, and stray controls
# other than newline and tab.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[()*+][0-9A-Za-z]"
    r"|\x1b[@-Z\\-_78=>]"
    r"|[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]"
)


def strip_ansi(text: str) -> str:
    """Plain text: escape sequences removed, CRLF and lone CR turned into line breaks sensibly."""
    text = _ANSI.sub("", text.replace("\r\n", "\n"))
    # A bare CR returns to the line start (progress bars): keep what was written last.
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def last_lines(text: str, count: int) -> list[str]:
    lines = [line.rstrip() for line in strip_ansi(text).split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines[-count:]
