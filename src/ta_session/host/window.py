"""The agent's window when several terminals of different sizes are attached (SPEC §4.2).

Pure: it knows the size each attached terminal reported and the session's policy, and answers
which size the agent's window is. The session host reports a terminal's size when it attaches
(``hello.size``) and when it resizes (RESIZE frames), and its departure; each call says
whether the window changed. Connections that never report a size (scripts, the web server's
shared output connection) do not count.

* ``WindowSize.SMALLEST`` (the default, as tmux's ``window-size smallest``): the smallest width
  and the smallest height among the terminals, so that every one of them shows all of it;
* ``WindowSize.LATEST``: the size of the terminal that reported most recently; when it leaves,
  the one that reported before it.

With no terminal left the window keeps its size: nobody looks, and a resize would only make a
full-screen agent repaint for no one.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from ta_session.host.wire import ProtocolError, valid_size
from ta_session.model.host import WindowSize

__all__ = ["Window", "WindowSize"]


class Window:
    def __init__(self, policy: WindowSize, cols: int, rows: int) -> None:
        self.policy = WindowSize(policy)
        self.cols, self.rows = cols, rows
        # Each terminal's size, in the order of their latest reports (the last is the latest).
        self._sizes: dict[Hashable, tuple[int, int]] = {}

    @property
    def size(self) -> tuple[int, int]:
        return self.cols, self.rows

    @property
    def terminals(self) -> int:
        """How many terminals have reported a size."""
        return len(self._sizes)

    def attached(self, terminal: Hashable, size: tuple[int, int] | None) -> bool:
        """A client said hello: ``size`` is its window if it is a terminal that gave one
        (None: it does not count); True if the window changed."""
        return False if size is None else self.report(terminal, *size)

    def report(self, terminal: Hashable, cols: int, rows: int) -> bool:
        """``terminal`` is ``cols`` × ``rows`` now (it attached or resized); True if the
        window changed. A size out of range is a ``ProtocolError`` (nothing changes)."""
        if not valid_size(cols, rows):
            raise ProtocolError(f"window size {cols}x{rows} is out of range (1..9999)")
        self._sizes.pop(terminal, None)  # to the end: the latest report
        self._sizes[terminal] = (cols, rows)
        return self._update()

    def leave(self, terminal: Hashable) -> bool:
        """``terminal`` is gone; True if the window changed."""
        if self._sizes.pop(terminal, None) is None:
            return False
        return self._update()

    def _update(self) -> bool:
        if not self._sizes:
            return False
        if self.policy is WindowSize.LATEST:
            size = next(reversed(self._sizes.values()))
        else:
            size = (
                min(cols for cols, _ in self._sizes.values()),
                min(rows for _, rows in self._sizes.values()),
            )
        changed = size != self.size
        self.cols, self.rows = size
        return changed

    def describe(self) -> dict[str, Any]:
        """The window as the ``welcome`` and ``status`` reply carry it."""
        return {
            "cols": self.cols,
            "rows": self.rows,
            "policy": self.policy.value,
            "terminals": len(self._sizes),
        }

    def message(self) -> dict[str, Any]:
        """What every client is told when the window changes."""
        return {"type": "window", **self.describe()}
