"""Text made safe to show to a reviewer (SPEC §7): file names, diff lines, summaries and
session messages come from the agent, and a reviewer's terminal must never *interpret* any of
it. ``\\e[1A\\e[2K`` inside an added line would otherwise move the cursor up and erase the line
above, so the reviewer would approve a change they never saw.

``visible`` is the one function that does this, used by every place that prints such text (the
draft views, the inline review, ``ta session show``). Our own colours are added around its
result, never inside the agent's text.

What is made visible, and how:

* C0 controls and DEL: ``\\x1b``, ``\\x7f``; tab, newline and carriage return as ``\\t``,
  ``\\n`` and ``\\r``;
* C1 controls (U+0080–U+009F; U+009B is a one-character CSI for many terminals), bidirectional
  overrides and isolates (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C: "Trojan Source"
  text reads differently from what it is), line and paragraph separators, and lone surrogates:
  ``\\u009b``;
* bytes that are not UTF-8 (they reach us as ``surrogateescape`` characters U+DC80–U+DCFF,
  the way Python decodes file names): ``\\xff``, the byte itself. A raw byte is always
  ``\\x80``–``\\xff`` and a control character always below ``\\x80`` or written ``\\u…``, so the
  two cannot be confused.

For content (diff lines, messages) tab and newline are kept: they are layout, not commands. For
names (``name=True``) they are escaped too, and so is the backslash (``\\\\``), so a shown name
stands for exactly one name: ``a\\x1bb`` is the name with an ESC in it, ``a\\\\x1bb`` the one with
a backslash. Backslashes in content are left alone: code is full of them, and a reviewer must
be able to read it.
"""

from __future__ import annotations

import re

# Everything that is escaped in content; names also escape tab, newline and backslash.
_CONTENT_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAME_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\\\\\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def visible(text: str, *, name: bool = False) -> str:
    """``text`` with everything a terminal could act on replaced by a visible escape.

    ``name=True`` for file names and link targets: tab, newline and backslash are escaped too,
    so the result is one line that names exactly one path.
    """
    # The common case, nothing to do, cheaply: everything escaped is unprintable to Python
    # (categories Cc, Cf, Cs, Zl, Zp), but for a name's backslash.
    if text.isprintable() and not (name and "\\" in text):
        return text
    pattern = _NAME_UNSAFE if name else _CONTENT_UNSAFE
    if pattern.search(text) is None:  # tab and newline in content
        return text
    return pattern.sub(_escape, text)
