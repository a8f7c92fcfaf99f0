"""The agent's descriptors in the host's ``selectors`` loop: output read as it comes, input
written as the agent takes it.

Output is read whenever it is there and handed to ``on_output``. Input the agent has not taken
yet waits in the agent's bounded queue, and the input descriptor is watched for writability only
while something waits: an agent that does not read its input must not keep the loop awake.
Under a pty, input and output are the same descriptor, registered once for both.
"""

from __future__ import annotations

import contextlib
import select
import selectors
import signal
import time
from collections.abc import Callable

from ta_session.host.agent_process import AgentProcess
from ta_session.model import OutputStream

DRAIN_SECONDS = 0.5  # after the agent exits, how long what is left in its pipes/pty is read
GRACE_SECONDS = 3.0  # between SIGTERM and SIGKILL when stopping the agent


class AgentIO:
    def __init__(
        self,
        sel: selectors.BaseSelector,
        agent: AgentProcess,
        on_output: Callable[[bytes, OutputStream | None], None],
    ):
        self.sel = sel
        self.agent = agent
        self.on_output = on_output
        self._watched: int | None = None  # the input descriptor watched for writability
        self.kill_at: float | None = None  # when the agent's group gets SIGKILL
        for fd in agent.outputs:
            sel.register(fd, selectors.EVENT_READ, self._on_event)

    def _on_event(self, key: selectors.SelectorKey, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self.agent.flush_input()
            self._watch()
        if mask & selectors.EVENT_READ:
            self.read(key.fd)

    def read(self, fd: int) -> int:
        """Relay what is waiting on ``fd``; the number of bytes (0: nothing, or its end)."""
        data = self.agent.read(fd)
        if data is None:
            return 0
        if not data:  # this output has ended
            if fd == self._watched:
                self._watched = None
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(fd)
            self.agent.outputs.pop(fd, None)
            return 0
        self.on_output(data, self.agent.outputs.get(fd))
        return len(data)

    def send(self, data: bytes) -> None:
        """Input for the agent; raises ``InputFull`` when it does not read and the queue is full."""
        self.agent.send(data)
        self._watch()

    def _watch(self) -> None:
        fd = self.agent.input_fd if self.agent.pending else None
        if fd == self._watched:
            return
        if self._watched is not None:  # stop watching the old one
            old, self._watched = self._watched, None
            with contextlib.suppress(KeyError, ValueError):
                if old in self.agent.outputs:
                    self.sel.modify(old, selectors.EVENT_READ, self._on_event)
                else:
                    self.sel.unregister(old)
        if fd is not None:
            if fd in self.agent.outputs:
                self.sel.modify(fd, selectors.EVENT_READ | selectors.EVENT_WRITE, self._on_event)
            else:
                self.sel.register(fd, selectors.EVENT_WRITE, self._on_event)
            self._watched = fd

    def await_output(self, longest: float, quiet: float = 0.01) -> float:
        """Relay the agent's output for up to ``longest`` seconds, until it has been quiet for
        ``quiet`` once something came (an echo); the seconds spent."""
        began = time.monotonic()
        wait = longest
        while wait > 0 and self.agent.outputs:
            ready, _, _ = select.select(list(self.agent.outputs), [], [], wait)
            if not ready:
                break
            for fd in ready:
                self.read(fd)
            wait = min(quiet, longest - (time.monotonic() - began))
        return time.monotonic() - began

    def resize(self, cols: int, rows: int, *, nudge: bool = False) -> None:
        """A new window size; with ``nudge``, a brief change even if the size is the same, so
        that full-screen programs repaint for a terminal that just attached."""
        if nudge and cols > 1:
            self.agent.resize(cols - 1, rows)
        self.agent.resize(cols, rows)

    def stop(self) -> None:
        """Ask the agent's group to end: SIGHUP, SIGTERM, and SIGKILL after a grace period."""
        for sig in (signal.SIGCONT, signal.SIGHUP, signal.SIGTERM):  # stopped: cannot act on TERM
            self.agent.signal_group(sig)
        self.kill_at = time.monotonic() + GRACE_SECONDS

    def tick(self) -> None:
        if self.kill_at is not None and time.monotonic() >= self.kill_at:
            self.agent.signal_group(signal.SIGKILL)
            self.kill_at = None

    def exit_code(self) -> int | None:
        """None while the agent runs; once it has exited, its code, after relaying the output
        still waiting in its pipes or pty."""
        code = self.agent.poll()
        if code is None:
            return None
        deadline = time.monotonic() + DRAIN_SECONDS
        while self.agent.outputs and time.monotonic() < deadline:
            if not sum(self.read(fd) for fd in list(self.agent.outputs)):
                time.sleep(0.01)  # one more look: the last bytes may still be on their way
                if not sum(self.read(fd) for fd in list(self.agent.outputs)):
                    break
        return code
