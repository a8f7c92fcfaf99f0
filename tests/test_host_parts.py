"""The session host's parts on their own, without processes: the hub's frame queues and
resynchronisation, the line assembler, the activity monitor, the wire's text checks, the
recording's torn-line handling and the one-host lock (SPEC §4.1, §4.4, §4.5, §11)."""

from __future__ import annotations

import json
import re
import selectors
import socket
from pathlib import Path
from uuid import uuid4

import pytest

from ta_session.host.activity import ActivityMonitor
from ta_session.host.frames import FrameQueue
from ta_session.host.hub import Client, Hub, OutputMode
from ta_session.host.lines import MAX_LINE, LineAssembler, LineQueue
from ta_session.host.recording import CastWriter, cut_torn_tail
from ta_session.host.runfiles import HostLock, HostRunning, host_is_running
from ta_session.host.wire import (
    Frame,
    FrameKind,
    FrameReader,
    ProtocolError,
    control_frame,
    encode,
    encode_json,
    encode_output,
    encode_resize,
    invalid_text,
    valid_size,
)
from ta_session.model.host import ClientRole, HostActivity
from ta_session.store import Project


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the frame queue ---------------------------------------------------------------------------


def out(n: int, fill: bytes = b"o") -> bytes:
    return encode_output(fill * n)


def test_queue_sends_whole_frames_in_order_across_partial_sends() -> None:
    queue = FrameQueue()
    frames = [out(10), encode_json({"type": "reply", "ok": True}), out(7, b"x")]
    for i, frame in enumerate(frames):
        queue.push(frame, droppable=i != 1)
    sent = bytearray()
    while queue:
        chunk = b"".join(bytes(b) for b in queue.buffers())[:4]  # a socket taking 4 bytes a time
        queue.consume(len(chunk))
        sent += chunk
    assert bytes(sent) == b"".join(frames)
    assert queue.size == 0 and len(queue) == 0


def test_resync_keeps_the_partly_sent_frame_and_every_control_frame() -> None:
    queue = FrameQueue()
    head, reply, bye = out(100, b"h"), encode_json({"type": "reply"}), encode_json({"type": "bye"})
    queue.push(head, droppable=True)
    queue.push(out(50), droppable=True)
    queue.push(reply)
    queue.push(out(60), droppable=True)
    queue.push(bye)
    queue.consume(30)  # the client has read part of the head frame

    dropped = queue.drop_output()

    assert dropped == len(out(50)) + len(out(60))
    rest = b"".join(bytes(b) for b in queue.buffers())
    assert rest == head[30:] + reply + bye
    # What the client reads in all is a valid stream: the head completes, nothing is torn.
    frames = FrameReader().feed(head[:30] + rest)
    assert [f.kind for f in frames] == [FrameKind.OUTPUT, FrameKind.CONTROL, FrameKind.CONTROL]
    assert frames[0].payload == b"h" * 100


def test_resync_drops_an_unsent_head_frame_too() -> None:
    queue = FrameQueue()
    queue.push(out(10), droppable=True)
    queue.push(encode_json({"type": "bye"}))
    queue.drop_output()
    assert b"".join(bytes(b) for b in queue.buffers()) == encode_json({"type": "bye"})


class Recorder:
    """A hub handler that records what the hub asks of it."""

    def __init__(self, notice: bytes = b"") -> None:
        self.ready: list[Client] = []
        self.frames: list[Frame] = []
        self.gone: list[Client] = []
        self.notes: list[str] = []
        self.notice = notice

    def client_ready(self, client: Client, size: tuple[int, int] | None) -> None:
        self.ready.append(client)

    def client_frame(self, client: Client, frame: Frame) -> None:
        self.frames.append(frame)

    def client_gone(self, client: Client) -> None:
        self.gone.append(client)

    def resync_frames(self, client: Client) -> list[bytes]:
        return [encode_output(self.notice)] if self.notice else []

    def note(self, text: str) -> None:
        self.notes.append(text)


def hub_client(hub: Hub, output: OutputMode = OutputMode.RAW) -> tuple[Client, socket.socket]:
    """A client of ``hub`` that said hello, and the other end of its connection."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    client = Client(ours, ours.fileno(), hub.clock(), "test", ClientRole.ATTACH, output)
    hub.clients[client.fd] = client
    hub.sel.register(ours, selectors.EVENT_READ, hub._on_client)
    return client, theirs


def read_all(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    data = bytearray()
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk


def test_a_stalled_client_is_resynchronised_and_then_reads_a_valid_stream() -> None:
    handler = Recorder(notice=b"[fell behind]")
    hub = Hub(selectors.DefaultSelector(), handler, buffer_limit=256 << 10)
    slow, slow_end = hub_client(hub)
    fast, fast_end = hub_client(hub)
    fast_seen = bytearray()
    for i in range(200):  # 200 × 16 KiB: far more than the socket and the queue hold
        hub.broadcast(out(16 << 10, b"%c" % (65 + i % 26)), droppable=True)
        if i == 100:
            hub.broadcast(encode_json({"type": "activity", "activity": "idle"}))
        fast_seen += read_all(fast_end)
        hub.send(fast)
    hub.broadcast(encode_json({"type": "bye"}))
    fast_seen += read_all(fast_end)

    assert slow.resyncs > 0 and slow.queue.dropped > 0
    assert slow.queue.size <= 256 << 10 + (16 << 10)  # memory stays bounded
    slow_data = bytearray()
    while slow.queue:  # the stalled client reads again
        slow_data += read_all(slow_end)
        hub.send(slow)
    slow_data += read_all(slow_end)
    got = FrameReader().feed(bytes(slow_data))  # raises ProtocolError on a torn frame
    controls = [f.json() for f in got if f.kind is FrameKind.CONTROL]
    assert {"type": "activity", "activity": "idle"} in controls  # control frames are kept
    assert controls[-1] == {"type": "bye"}
    assert any(f.payload == b"[fell behind]" for f in got if f.kind is FrameKind.OUTPUT)
    # The client that kept reading lost nothing.
    fast_frames = FrameReader().feed(bytes(fast_seen))
    assert sum(len(f.payload) for f in fast_frames if f.kind is FrameKind.OUTPUT) == 200 * 16 << 10
    assert fast.resyncs == 0


def test_a_client_that_reads_nothing_and_only_gets_control_frames_is_dropped() -> None:
    handler = Recorder()
    hub = Hub(selectors.DefaultSelector(), handler, buffer_limit=64 << 10)
    client, _end = hub_client(hub, OutputMode.NONE)
    for _ in range(2000):
        hub.queue(client, encode_json({"type": "reply", "ok": True, "detail": "x" * 400}))
    assert client.fd not in hub.clients
    assert handler.gone == [client]
    assert any("reads none of its replies" in n for n in handler.notes)


def test_hub_hello_rules() -> None:
    clock = Clock()
    handler = Recorder()
    sel = selectors.DefaultSelector()
    hub = Hub(sel, handler, hello_timeout=5.0, clock=clock)

    def hello_reply(message: dict[str, object] | bytes) -> list[dict[str, object]]:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        client = Client(ours, ours.fileno(), clock())
        hub.clients[client.fd] = client
        sel.register(ours, selectors.EVENT_READ, hub._on_client)
        data = message if isinstance(message, bytes) else encode_json(message)
        theirs.sendall(data)
        key = sel.get_key(ours)
        hub._on_client(key, selectors.EVENT_READ)
        return [f.json() for f in FrameReader().feed(read_all(theirs))]

    base = {"type": "hello", "protocol": 1, "role": "control", "channel_id": "t"}
    assert hello_reply(base) == [] and len(handler.ready) == 1
    for bad, why in [
        ({**base, "role": "boss"}, "role"),
        ({**base, "size": [0, 24]}, "size"),
        ({**base, "size": [80, "24"]}, "size"),
        ({**base, "size": [80, 10000]}, "size"),
        ({**base, "output": "fax"}, "output"),
        ({**base, "channel_id": 7}, "channel_id"),
        (
            encode(FrameKind.CONTROL, b'{"type":"hello","role":"control","channel_id":"\\ud800"}'),
            "Unicode",
        ),
        (encode(FrameKind.CONTROL, b'{"type":"hello","channel_id":"\xff"}'), "JSON"),
    ]:
        replies = hello_reply(bad)
        assert len(replies) == 1 and replies[0]["type"] == "error", (bad, replies)
        assert why in str(replies[0]["message"]), (why, replies)

    # A connection that never says hello is dropped after the deadline, with a reason.
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    silent = Client(ours, ours.fileno(), clock())
    hub.clients[silent.fd] = silent
    sel.register(ours, selectors.EVENT_READ, hub._on_client)
    clock.now += 4.9
    hub.tick()
    assert silent.fd in hub.clients
    clock.now += 0.2
    hub.tick()
    assert silent.fd not in hub.clients
    (message,) = [f.json() for f in FrameReader().feed(read_all(theirs))]
    assert "no hello within 5 s" in str(message["message"])


# -- the line assembler ------------------------------------------------------------------------


def test_line_assembler_applies_editing_and_skips_escapes() -> None:
    lines = LineAssembler()
    assert lines.feed(b"helo\x7flo wor") == []
    assert lines.feed(b"ld\r") == ["hello world"]
    assert lines.feed(b"\x1b[A\x1b[1;5Dup\x1bOPx\r") == ["upx"]  # arrows, F1 left out
    assert lines.feed("caf\u00e9\x7fe\r".encode()) == ["cafe"]  # Backspace takes all of é
    assert lines.feed(b"junk\x15kept\n\r\r") == ["kept"]  # Ctrl-U; empty lines are not lines
    assert lines.feed(b"\xff\xfebad\r") == ["\ufffd\ufffdbad"]  # not UTF-8: replaced, kept
    assert lines.feed(b"a\tb") == [] and lines.partial == b"a\tb"


def test_line_assembler_keeps_a_bounded_line() -> None:
    lines = LineAssembler()
    for _ in range(100):
        lines.feed(b"x" * 4096)
    assert len(lines.partial) == MAX_LINE
    assert lines.feed(b"\r") == ["x" * MAX_LINE]


def test_line_queue_holds_lines_for_their_delay() -> None:
    clock = Clock()
    queue = LineQueue(delay=0.02, clock=clock)
    queue.add("a", "one")
    clock.now += 0.01
    queue.add("b", "two")
    assert queue.take() == [] and queue.wait(1.0) == pytest.approx(0.01)
    clock.now += 0.015
    assert [line.text for line in queue.take()] == ["one"]
    assert [line.text for line in queue.take(due_only=False)] == ["two"]
    assert queue.wait(0.25) == 0.25


# -- the activity monitor ----------------------------------------------------------------------


def test_activity_goes_idle_after_silence_and_running_on_output() -> None:
    clock = Clock()
    monitor = ActivityMonitor(idle_after=2.0, clock=clock)
    assert monitor.activity is HostActivity.RUNNING
    clock.now += 1.9
    assert monitor.check() is None
    clock.now += 0.2
    change = monitor.check()
    assert change is not None and change.activity is HostActivity.IDLE and change.prompt is None
    assert monitor.check() is None  # said once
    change = monitor.output(b"more")
    assert change is not None and change.activity is HostActivity.RUNNING
    assert monitor.output(b"and more") is None


def test_activity_waiting_when_a_prompt_pattern_matches_the_last_lines() -> None:
    clock = Clock()
    patterns = [re.compile(r"\[y/n\]")]
    monitor = ActivityMonitor(idle_after=1.0, prompt_patterns=patterns, clock=clock)
    monitor.output(b"working...\r\n\x1b[1mProceed? [y/n]\x1b[0m ")
    clock.now += 1.5
    change = monitor.check()
    assert change is not None
    assert change.activity is HostActivity.WAITING and change.prompt == "Proceed? [y/n]"
    monitor.output(b"y\r\ndone\r\n" + b"line\r\n" * 10)  # the question scrolled away
    clock.now += 1.5
    change = monitor.check()
    assert change is not None and change.activity is HostActivity.IDLE


def test_idle_timeout_and_restart_after_a_pause() -> None:
    clock = Clock()
    monitor = ActivityMonitor(idle_after=2.0, idle_timeout=300.0, clock=clock)
    clock.now += 299.0
    assert not monitor.timed_out()
    monitor.restart()  # e.g. the agent was paused: it could not print
    clock.now += 299.0
    assert not monitor.timed_out()
    clock.now += 1.0
    assert monitor.timed_out()
    assert not ActivityMonitor(idle_after=2.0, clock=clock).timed_out()


# -- the wire ----------------------------------------------------------------------------------


def test_text_that_is_not_valid_unicode_is_named_and_cannot_be_sent() -> None:
    assert invalid_text({"input_type": "message", "text": "fine é ☃"}) is None
    assert invalid_text({"text": "ok\ud800"}) == "'text' (U+D800 at position 2)"
    assert invalid_text({"a": [1, {"reason": "\udcff"}]}) == "'reason' (U+DCFF at position 0)"
    with pytest.raises(ProtocolError, match=r"'text' .*not valid text"):
        encode_json({"input_type": "message", "text": "\udcff"})  # from argv bytes b"\xff"
    # The host's own encoder never fails: it escapes, and the result is valid UTF-8 JSON.
    frame = FrameReader().feed(control_frame({"message": "x\ud800"}))[0]
    assert frame.payload.decode("utf-8") and frame.json() == {"message": "x\ud800"}


def test_window_sizes() -> None:
    assert valid_size(80, 24) and valid_size(1, 1) and valid_size(9999, 9999)
    for cols, rows in [(0, 24), (80, 0), (10000, 24), (-1, 5), (True, 5), (80.0, 24), ("8", 2)]:
        assert not valid_size(cols, rows)
    frame = FrameReader().feed(encode_resize(70000, 0))[0]
    assert frame.size() == (9999, 1)  # a client clamps what it sends into the valid range


# -- the recording -----------------------------------------------------------------------------


def test_a_recording_reopened_loses_its_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "s.cast"
    writer = CastWriter(path, width=80, height=24)
    writer.output(b"hello\r\n")
    writer.close()
    with path.open("ab") as handle:
        handle.write(b'[1.5, "o", "half a li')  # a crash in the middle of a write
    writer = CastWriter(path, width=80, height=24)
    writer.output(b"after\r\n")
    writer.close()
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    events = [json.loads(line) for line in lines[1:-1]]  # every line is whole JSON
    assert [e[2] for e in events] == ["hello\r\n", "after\r\n"]
    assert json.loads(lines[0])["version"] == 2


def test_a_recording_with_a_torn_header_starts_again(tmp_path: Path) -> None:
    path = tmp_path / "s.cast"
    path.write_bytes(b'{"version": 2, "wid')
    CastWriter(path, width=80, height=24).close()
    header = json.loads(path.read_bytes().split(b"\n")[0])
    assert header["width"] == 80


def test_cut_torn_tail_over_long_lines(tmp_path: Path) -> None:
    import os

    path = tmp_path / "f"
    path.write_bytes(b"a\n" + b"x" * 200_000)
    fd = os.open(path, os.O_RDWR)
    try:
        assert cut_torn_tail(fd) == 2
    finally:
        os.close(fd)
    assert path.read_bytes() == b"a\n"


# -- one host per session ----------------------------------------------------------------------


def test_the_host_lock_is_exclusive_and_its_file_goes_with_it(tmp_path: Path) -> None:
    (tmp_path / ".ta").mkdir()
    project = Project(tmp_path)
    sid = uuid4()
    assert not host_is_running(project, sid)
    lock = HostLock.acquire(project, sid)
    assert host_is_running(project, sid)
    with pytest.raises(HostRunning, match=f"session {sid} already has a running host"):
        HostLock.acquire(project, sid)
    assert lock.path.exists()
    lock.release()
    assert not lock.path.exists() and not host_is_running(project, sid)
    HostLock.acquire(project, sid).release()  # free again


# -- the shape of the host package -------------------------------------------------------------

HOST_DIR = Path(__file__).resolve().parents[1] / "src" / "ta_session" / "host"


def test_the_server_is_a_small_loop_and_every_part_stays_small() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in HOST_DIR.glob("*.py")}
    assert sizes["server.py"] < 350, sizes
    assert all(n <= 410 for n in sizes.values()), sizes


def test_the_host_imports_neither_the_cli_nor_channels() -> None:
    for path in HOST_DIR.glob("*.py"):
        imports = re.findall(r"^\s*(?:from|import) (ta_session\.\w+)", path.read_text(), re.M)
        assert not {"ta_session.cli", "ta_session.channels"} & set(imports), (path.name, imports)


def test_clients_load_the_plan_and_the_wire_without_the_server() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ta_session.host.launch import HostStartError, LaunchPlan, build_plan, start_host\n"
        "from ta_session.host.wire import PROTOCOL_VERSION, REPLAY_BYTES\n"
        "import ta_session.channels.terminal\n"
        "loaded = [m for m in sys.modules if m.startswith('ta_session.host.')]\n"
        "assert 'ta_session.host.server' not in loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
