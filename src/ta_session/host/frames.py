"""The frames waiting for one client of the hub, always whole.

The first frame may be partly sent already; ``drop_output`` never touches it, so a client that
fell behind still receives a stream of whole frames. Pure: no sockets, no clock.
"""

from __future__ import annotations

from collections import deque

SEND_BUFFERS = 64  # frames handed to one sendmsg


class FrameQueue:
    """Whole frames waiting for one client; the first may be partly sent already."""

    def __init__(self) -> None:
        self._frames: deque[tuple[bytes, bool]] = deque()  # (frame, droppable output?)
        self._head_sent = 0  # bytes of the first frame already sent
        self.size = 0  # bytes not yet sent
        self.dropped = 0  # bytes of output dropped by resynchronisations so far

    def __bool__(self) -> bool:
        return self.size > 0

    def __len__(self) -> int:
        return len(self._frames)

    def push(self, frame: bytes, *, droppable: bool = False) -> None:
        if frame:
            self._frames.append((frame, droppable))
            self.size += len(frame)

    def buffers(self, limit: int = SEND_BUFFERS) -> list[bytes | memoryview]:
        """The unsent bytes, oldest first, as up to ``limit`` buffers for ``sendmsg``."""
        out: list[bytes | memoryview] = []
        for frame, _ in self._frames:
            out.append(
                memoryview(frame)[self._head_sent :] if not out and self._head_sent else frame
            )
            if len(out) >= limit:
                break
        return out

    def consume(self, sent: int) -> None:
        """``sent`` bytes left for the client."""
        self.size -= sent
        while sent:
            frame, _ = self._frames[0]
            left = len(frame) - self._head_sent
            if sent < left:
                self._head_sent += sent
                return
            sent -= left
            self._frames.popleft()
            self._head_sent = 0

    def drop_output(self) -> int:
        """Drop every whole unsent output frame, keep the rest in order; the bytes dropped."""
        kept: deque[tuple[bytes, bool]] = deque()
        dropped = 0
        for i, (frame, droppable) in enumerate(self._frames):
            if droppable and not (i == 0 and self._head_sent):
                dropped += len(frame)
            else:
                kept.append((frame, droppable))
        self._frames = kept
        self.size -= dropped
        self.dropped += dropped
        return dropped
