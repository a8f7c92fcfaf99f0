"""Terminal queries in recorded output, and leaving them out of output shown again.

A program asks its terminal things by writing escape sequences, and the terminal answers on the
program's input as if the answer were typed. Output shown a second time must not carry these
questions: ``ta session replay`` would have the user's own terminal answer into the player and,
once it ends, into the user's shell (``channels/player.py``). (Live terminals and web viewers
that join late are drawn by the screen model, which asks nothing: ``host/screen.py``.)

Left out (``QUERIES``): device attributes (``CSI c``, ``CSI > c``, ``CSI = c``), status and
cursor position reports (``CSI 5n``, ``CSI 6n``, ``CSI ? 6n``), XTVERSION (``CSI > 0 q``), mode
requests (DECRQM, ``CSI ? Pn $ p``), setting and capability requests (DECRQSS ``DCS $ q … ST``,
XTGETTCAP ``DCS + q … ST``), window operations and reports (every ``CSI … t``: output shown again
must neither make the window report nor move or resize it), the kitty keyboard and XTQMODKEYS
queries (``CSI ? u``, ``CSI ? Pp m``), colour and clipboard queries (``OSC 10;? ST``,
``OSC 4;n;? ST``, ``OSC 52;c;? ST``), DECID (``ESC Z``) and ENQ (answerback).

A query may be cut in two by the reads that recorded it. ``QueryFilter`` works on a stream of
pieces: the end of a piece that could be the start of a query is held back (at most
``MAX_HELD`` bytes) until the next piece says what it is; one still unfinished when the output
ends is left out.
"""

from __future__ import annotations

import re

QUERIES = re.compile(
    rb"\x1b\[[?>=]?[0-9;]*[cn]"
    rb"|\x1b\[>[0-9;]*q"
    rb"|\x1b\[\??[0-9;]*\$p"
    rb"|\x1b\[[0-9;]*t"
    rb"|\x1b\[\?u|\x1b\[\?[0-9;]*m"
    rb"|\x1bP[$+]q[^\x1b\x07]*(?:\x1b\\|\x07)"
    rb"|\x1b\][0-9]+(?:;[0-9A-Za-z]*)*;\?(?:\x1b\\|\x07)"
    rb"|\x1bZ|\x05"
)
# The start of a query that is not finished yet, at the very end of the data: a lone ESC, a CSI
# with parameters but no final byte, an OSC or DCS still open.
_UNFINISHED = re.compile(
    rb"\x1b(?:\[[?>=]?[0-9;]*\$?|\][0-9A-Za-z;]*\??\x1b?|P(?:[$+](?:q[^\x1b\x07]*\x1b?)?)?)?\Z"
)
MAX_HELD = 256  # a would-be query longer than this is not one: it is let through


def without_queries(output: bytes) -> bytes:
    """``output`` with the terminal queries left out (see ``QUERIES``)."""
    return QUERIES.sub(b"", output)


class QueryFilter:
    """``without_queries`` over output that arrives in pieces (events of a recording)."""

    def __init__(self) -> None:
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        """What of ``data`` (after what was held) can be shown now, queries left out."""
        data = QUERIES.sub(b"", self._held + data) if self._held else QUERIES.sub(b"", data)
        unfinished = _UNFINISHED.search(data, max(0, len(data) - MAX_HELD))
        if unfinished is None:
            self._held = b""
            return data
        self._held = data[unfinished.start() :]
        return data[: unfinished.start()]

    def reset(self) -> None:
        self._held = b""
