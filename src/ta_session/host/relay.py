"""The output relay: each chunk of the agent's output to the recording and to every client in
the form it asked for (OUTPUT frames, or ``agent_output`` events). A terminal that attaches or
falls behind is redrawn from the screen model (``screen``), never by replaying raw output: old
output holds the agent's terminal queries (``ESC[6n``, ``ESC[>c``), which the terminal would
answer again, into the agent, as if typed. Clients taking events get the recent output as text.

Output frames are queued as *droppable*: the hub may drop them, whole, for a client that falls
too far behind, which then gets ``resync_frames`` when it reads again: a notice and the screen
redrawn (a terminal), or the recent output as one ``agent_output`` event (a client taking events,
which never gets raw bytes).
"""

from __future__ import annotations

import codecs

from ta_session.host.hub import Client, Hub, OutputMode
from ta_session.host.recording import CastWriter
from ta_session.host.screen import ScreenModel
from ta_session.host.wire import REPLAY_BYTES, control_frame, encode_json, encode_output
from ta_session.model import AgentOutput, OutputStream, StatusUpdate

FELL_BEHIND = b"\r\n[ta: output skipped, this terminal fell behind]\r\n"
SKIPPED = "output skipped: this client fell behind"
_CONTINUATION = bytes(range(0x80, 0xC0))  # UTF-8 continuation bytes: the middle of a character


class OutputRelay:
    def __init__(self, hub: Hub, recorder: CastWriter, screen: ScreenModel, *, live: bool = True):
        self.hub = hub
        self.recorder = recorder
        self.screen = screen
        self.live = live  # False: output only goes to the recording (``output_capture: log``)
        self.recent = bytearray()
        self.complete = True  # ``recent`` holds all the output since the agent started
        # Incremental UTF-8 decoders (one per stream) for the clients that take events.
        self._decoders: dict[OutputStream, codecs.IncrementalDecoder] = {}

    def relay(self, data: bytes, stream: OutputStream | None) -> None:
        self.recorder.output(data)
        self.screen.feed(data)  # cheap: emulated later, when a screen is needed
        if not self.live:
            return
        self.recent += data
        if len(self.recent) > 2 * REPLAY_BYTES:
            del self.recent[:-REPLAY_BYTES]
            self.complete = False
        if not self.hub.clients:
            return
        self.hub.broadcast(encode_output(data), output=OutputMode.RAW, droppable=True)
        if self.hub.takes(OutputMode.EVENTS):
            event = self._event_frame(stream or OutputStream.STD_OUT, data)
            self.hub.broadcast(event, output=OutputMode.EVENTS, droppable=True)
        else:
            self._decoders.clear()  # nobody takes events now: forget any half character

    def _event_frame(self, stream: OutputStream, data: bytes) -> bytes:
        """An ``agent_output`` event, or b"" while a character is incomplete: a multi-byte
        UTF-8 character split across reads is held until it is whole, as in the recording
        (one decoder per stream, so stdout and stderr do not mix)."""
        decoder = self._decoders.get(stream)
        if decoder is None:
            decoder = self._decoders[stream] = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(data)
        return encode_json(AgentOutput(stream, text).to_dict()) if text else b""

    def redraw(self, client: Client) -> None:
        """A terminal that just attached: the agent's screen as it is now. The terminal the
        session was started for (``ta run``) gets the output since the start instead, if it is
        all still here: it continues below what that terminal showed (``ta demo``'s
        introduction), as if attached all along; nobody has answered its queries yet."""
        if client.output is not OutputMode.RAW:
            return
        if client.from_start and self.complete:
            if self.recent:
                self.hub.queue(client, encode_output(bytes(self.recent)), droppable=True)
        else:
            self.hub.queue(client, encode_output(self.screen.render()), droppable=True)

    def resync_frames(self, client: Client) -> list[bytes]:
        """What a client gets after the hub dropped output it had not read."""
        if client.output is OutputMode.RAW:
            # No scrollback: the terminal has the lines before the gap; repeating them would
            # put old output after the notice.
            return [encode_output(FELL_BEHIND + self.screen.render(history=False))]
        if client.output is OutputMode.EVENTS:
            frames = [control_frame(StatusUpdate(SKIPPED).to_dict())]
            recent = bytes(self.recent[-REPLAY_BYTES:]).lstrip(_CONTINUATION)  # whole characters
            # Incomplete at the end: held back (as the live decoders hold it), never mangled.
            text = codecs.getincrementaldecoder("utf-8")("replace").decode(recent)
            if text:  # the recent output of every stream, as one std_out event
                frames.append(encode_json(AgentOutput(OutputStream.STD_OUT, text).to_dict()))
            return frames
        return []
