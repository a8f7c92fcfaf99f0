"""A session host no client can break (SPEC §4.1, §11, §13), with real hosts, agents and sockets.

Each test is a defect seen in testing: a client that stalls and reads again must get a valid
stream; text that is not valid Unicode, a silent connection, too many connections, running out
of descriptors, an agent that does not read its input, a bad window size, two hosts racing for
one session and a full disk must each be refused or survived, while the agent keeps running and
the other clients keep working; and however a session ends, its goal follows and its run files
go.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from live_helpers import (
    PYTHON,
    SCALE,
    TESTS,
    TIMEOUT,
    Live,
    agent,
    controls,
    is_running,
    live_fixture,  # noqa: F401  (the `live` fixture)
    output_bytes,
    read_until,
    wait_for,
)
from ta_session.channels.client import HostClient, HostRequestError
from ta_session.host.launch import HostStartError, start_host
from ta_session.host.wire import FrameKind, FrameReader, encode, encode_json
from ta_session.model import Close, Message
from ta_session.service.starting import start_session
from ta_session.store import Project

READER = TESTS / "tools" / "stream_reader.py"
MB = 1_000_000
SLEEPER = "import time, tty; tty.setraw(0); print('SLEEPER', flush=True); time.sleep(600)"


def hosted(project: Project, argv: list[str], title: str = "t") -> str:
    """A session running ``argv`` under a host (what ``ta run --detach`` does, in-process)."""
    session = start_session(project, title=title, objective="",
                            command=argv, channel_id="test")  # fmt: skip
    start_host(project, str(session.session_id))
    return str(session.session_id)


def raw_connection(path: Path, *frames: bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT * SCALE)
    sock.connect(str(path))
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused at once: read why
        for frame in frames:
            sock.sendall(frame)
    return sock


def answers(sock: socket.socket, until_closed: bool = True) -> tuple[list[dict[str, Any]], bool]:
    """The control messages received, and whether the host closed the connection."""
    reader, messages = FrameReader(), []
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return messages, True
            messages += [f.json() for f in reader.feed(chunk) if f.kind is FrameKind.CONTROL]
            if not until_closed and any(m.get("type") == "reply" for m in messages):
                return messages, False
    except ConnectionResetError:  # closed while what we sent was unread: closed all the same
        return messages, True
    except TimeoutError:
        return messages, False


def hello(role: str = "control", **extra: Any) -> bytes:
    return encode_json({"type": "hello", "protocol": 1, "role": role, "channel_id": "test:raw",
                        **extra})  # fmt: skip


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def cpu_seconds_over(pid: int, seconds: float) -> float:
    """CPU time ``pid`` used during the next ``seconds`` (a busy loop would use all of it)."""
    before = cpu_ticks(pid)
    time.sleep(seconds)
    return (cpu_ticks(pid) - before) / os.sysconf("SC_CLK_TCK")


def run_files(root: Path, sid: str) -> list[str]:
    """The host's record, socket and lock (its log stays: it tells what happened)."""
    run = root / ".ta" / "run"
    names = sorted(p.name for p in run.iterdir() if p.name.startswith(sid)) if run.is_dir() else []
    return [name for name in names if not name.endswith(".log")]


def goal_state(root: Path, sid: str) -> str:
    session = json.loads((root / ".ta" / "interactive_sessions" / f"{sid}.json").read_text())
    return json.loads((root / ".ta" / "goals" / f"{session['goal_id']}.json").read_text())["state"]


# -- a client that stalls and reads again ----------------------------------------------------


class Reader:
    """``tests/tools/stream_reader.py`` in its own process (so that it can be stopped)."""

    def __init__(self, live: Live, sid: str, output: str = "raw"):
        self.proc = subprocess.Popen(
            [PYTHON, str(READER), str(live.socket_path(sid)), output],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=live.env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT * SCALE)
        assert ready and self.proc.stdout.readline().strip() == "connected", self.proc.stderr

    def report(self) -> dict[str, Any]:
        out, err = self.proc.communicate(timeout=120 * SCALE)
        assert self.proc.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])


def paused_relay(live: Live, total: int, output: str = "raw", *, others: int = 0
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:  # fmt: skip
    """An agent prints ``total`` bytes; one reader is stopped (SIGSTOP) for at least 2 s while
    it does, until the host must have dropped output for it, then resumed (SIGCONT). The
    reports of that reader and of ``others`` readers that never stop."""
    project = Project(live.root)
    sid = hosted(project, agent("flood.py", str(total)), title="flood")
    live.wait_output(sid, "FLOOD ready")
    paused = Reader(live, sid, output)
    steady = [Reader(live, sid, output) for _ in range(others)]
    control = live.connect(sid, channel_id="test:control")
    control.request(Message("go"))
    os.kill(paused.proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        cast = live.cast_path(sid)
        # Until the agent has printed far more than the host queues for one client (8 MiB),
        # or all it had to print: then the stopped reader's output has been dropped.
        wait_for(lambda: cast.stat().st_size > min(12 * MB, total), timeout=60,
                 what="the agent's output")  # fmt: skip
        time.sleep(max(0.0, 2.0 - (time.monotonic() - started)))
    finally:
        os.kill(paused.proc.pid, signal.SIGCONT)
    control.request(Message("end"))
    return paused.report(), [r.report() for r in steady]


def check_stream(report: dict[str, Any], total: int) -> None:
    assert report["error"] is None, report
    assert report["bye"] is not None and report["bye"]["state"] == "completed", report
    assert report["increasing"], f"lines repeated or out of order: {report}"
    assert report["last"] == total // 64 - 1, f"the end of the output is missing: {report}"


def test_a_stalled_client_that_reads_again_gets_a_valid_stream_20_times(live: Live) -> None:
    total = 20 * MB  # more than twice what the host queues for one client

    def one(_: int) -> dict[str, Any]:
        return paused_relay(live, total)[0]

    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(one, range(20)))
    for report in reports:
        check_stream(report, total)
        assert report["notices"] >= 1, f"the host never resynchronised the reader: {report}"
        assert report["output_frames"] > 0 and report["events"] == 0


def test_a_stalled_client_during_200_mb_and_a_reading_one_both_get_valid_streams(
    live: Live,
) -> None:
    total = 200 * MB
    paused, (steady,) = paused_relay(live, total, others=1)
    check_stream(paused, total)
    assert paused["notices"] >= 1
    check_stream(steady, total)
    assert steady["numbers"] > paused["numbers"]


def test_a_stalled_events_client_gets_events_and_never_raw_bytes(live: Live) -> None:
    total = 20 * MB
    report, _ = paused_relay(live, total, output="events")
    check_stream(report, total)
    assert report["output_frames"] == 0, f"raw bytes sent to an events client: {report}"
    assert report["events"] > 0 and report["notices"] >= 1


# -- text that is not valid Unicode ----------------------------------------------------------


def test_text_that_is_not_valid_unicode_is_refused_and_the_host_carries_on(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT pid=")
    watcher = live.connect(sid, role="attach", channel_id="test:watcher")
    path = live.socket_path(sid)

    # JSON that decodes to lone surrogates: refused with a reply; the connection stays.
    bad_requests = [
        b'{"input_type":"message","text":"hi \\ud800"}',
        b'{"input_type":"abort","reason":"\\udcff"}',
        b'{"input_type":"answer","question_id":"q","text":"\\udfff"}',
    ]
    sock = raw_connection(path, hello())
    for payload in bad_requests:
        sock.sendall(encode(FrameKind.CONTROL, payload))
        messages, closed = answers(sock, until_closed=False)
        (reply,) = [m for m in messages if m.get("type") == "reply"]
        assert reply["ok"] is False and "not valid Unicode" in reply["error"], reply
        assert not closed
    sock.close()

    # Not UTF-8 at all, or a hello naming itself with a lone surrogate: a protocol error.
    for frames in [
        (hello(), encode(FrameKind.CONTROL, b'{"input_type":"message","text":"\xff"}')),
        (encode(FrameKind.CONTROL,
                b'{"type":"hello","protocol":1,"role":"control","channel_id":"\\ud800"}'),),
    ]:  # fmt: skip
        messages, closed = answers(raw_connection(path, *frames))
        assert closed and [m["type"] for m in messages][-1] == "error", messages

    # The client library refuses to send such text, with a clear error, and stays usable.
    client = live.connect(sid, channel_id="test:client")
    with pytest.raises(HostRequestError, match=r"'text' .*not valid text"):
        client.request(Message("from argv \udcff"))
    assert client.request({"type": "status"})["ok"]

    # The host, the agent and the other client carry on; nothing was recorded or aborted.
    live.ok("session", "send", sid, "still fine")
    frames = read_until(watcher, lambda fr: b"got: still fine" in output_bytes(fr))
    assert b"got: still fine" in output_bytes(frames)
    assert live.state(sid) == "active" and live.host_live(sid)
    (live.ta_dir / "audit.jsonl").read_bytes().decode("utf-8")  # still valid UTF-8
    assert all("\ufffd" not in m["content"] for m in live.messages(sid))


def test_send_with_bytes_that_are_not_utf8_is_one_clear_line(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT pid=")
    result = subprocess.run(
        [PYTHON, "-m", "ta_session", "session", "send", sid, b"caf\xe9"],
        cwd=live.root, env=live.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "not valid UTF-8 text" in lines[0] and "Traceback" not in result.stderr
    assert live.state(sid) == "active" and live.host_live(sid)


# -- limits ----------------------------------------------------------------------------------


def test_a_connection_that_never_says_hello_is_dropped(live: Live) -> None:
    sid = live.start(*agent("quiet.py"))
    started = time.monotonic()
    messages, closed = answers(raw_connection(live.socket_path(sid)))
    assert closed and "no hello within" in messages[-1]["message"], messages
    assert time.monotonic() - started < TIMEOUT * SCALE
    assert live.host_live(sid)


def test_connections_past_the_cap_get_an_error_and_the_others_keep_working(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    watcher = live.connect(sid, role="attach", channel_id="test:watcher")
    clients = [live.connect(sid, channel_id=f"test:{i}") for i in range(63)]  # 64 with watcher
    messages, closed = answers(raw_connection(live.socket_path(sid), hello()))
    assert closed and "too many clients" in messages[-1]["message"], messages

    clients.pop().close()  # room for one again
    wait_for(lambda: len(clients[0].request({"type": "status"})["clients"]) == 63)
    newcomer = live.connect(sid, channel_id="test:newcomer")
    assert newcomer.request({"type": "status"})["ok"]
    clients[5].request(Message("all good"))
    frames = read_until(watcher, lambda fr: b"got: all good" in output_bytes(fr))
    assert b"got: all good" in output_bytes(frames)


def test_running_out_of_descriptors_pauses_accepting_without_spinning(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT pid=")
    watcher = live.connect(sid, role="attach", channel_id="test:watcher")
    control = live.connect(sid, channel_id="test:control")
    host = live.host_pid(sid)
    soft, hard = resource.prlimit(host, resource.RLIMIT_NOFILE)
    in_use = len(os.listdir(f"/proc/{host}/fd"))
    extra: list[socket.socket] = []
    try:
        resource.prlimit(host, resource.RLIMIT_NOFILE, (in_use + 2, hard))
        extra = [raw_connection(live.socket_path(sid), hello()) for _ in range(8)]
        log = live.ta_dir / "run" / f"{sid}.log"
        wait_for(lambda: "cannot accept connections" in log.read_text(),
                 what="the host to run out of descriptors")  # fmt: skip
        assert cpu_seconds_over(host, 2.0) < 1.0, "the host spins while it cannot accept"
        # The connected clients keep working; the agent too.
        assert control.request(Message("no fds"))["ok"]
        frames = read_until(watcher, lambda fr: b"got: no fds" in output_bytes(fr))
        assert b"got: no fds" in output_bytes(frames)
    finally:
        resource.prlimit(host, resource.RLIMIT_NOFILE, (soft, hard))
        for sock in extra:
            sock.close()
    newcomer = live.connect(sid, channel_id="test:after")  # accepting again
    assert newcomer.request({"type": "status"})["ok"]
    assert live.state(sid) == "active"


def test_an_agent_that_does_not_read_its_input_does_not_pin_the_host(live: Live) -> None:
    sid = live.start(PYTHON, "-c", SLEEPER)
    live.wait_output(sid, "SLEEPER")
    host = live.host_pid(sid)
    typist = live.connect(sid, role="attach", channel_id="test:typist")

    def refusals(frames: list[Any]) -> list[dict[str, Any]]:
        return [m for m in controls(frames) if "Input not sent" in str(m.get("message"))]

    frames: list[Any] = []
    for _ in range(64):  # 4 MiB of keystrokes
        typist.send_input(b"a" * (64 << 10))
        frames += typist.read_frames(0.01)
    if not refusals(frames):
        frames += read_until(typist, lambda fr: bool(refusals(fr)))
    refused = refusals(frames)
    assert refused and "not reading its input" in refused[0]["message"]

    control = live.connect(sid, channel_id="test:control")
    with pytest.raises(HostRequestError, match="not reading its input"):
        control.request(Message("more " * 40_000))  # 200 kB: more than the queue has room for
    assert cpu_seconds_over(host, 2.0) < 1.0, "the host spins on the agent's full input"
    rss = int(Path(f"/proc/{host}/status").read_text().split("VmRSS:")[1].split()[0]) * 1024
    assert rss < 100 * MB
    assert control.request({"type": "status"})["ok"] and live.state(sid) == "active"


def test_a_bad_window_size_is_refused_and_the_agent_keeps_its_size(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    path = live.socket_path(sid)
    for frames in [
        (hello("attach", size=[0, 24]),),
        (hello("attach", size=[80, "24"]),),
        (hello("attach", size=[120]),),
        (hello("attach"), encode(FrameKind.RESIZE, b"\x00\x00\x00\x18")),
        (hello("attach"), encode(FrameKind.RESIZE, b"\x27\x10\x00\x18")),  # 10000 columns
    ]:
        messages, closed = answers(raw_connection(path, *frames))
        errors = [m for m in messages if m.get("type") == "error"]
        assert closed and len(errors) == 1 and "size" in errors[0]["message"], messages
    live.ok("session", "send", sid, "size ok")
    live.wait_output(sid, "got: size ok")
    assert live.host_live(sid)


# -- one host per session --------------------------------------------------------------------


def test_two_hosts_racing_for_one_session_start_exactly_one_agent(live: Live) -> None:
    project = Project(live.root)
    session = start_session(project, title="race", objective="",
                            command=agent("echo.py", "race"), channel_id="test")  # fmt: skip
    sid = str(session.session_id)
    barrier = threading.Barrier(4)
    results: list[int | str] = []

    def start() -> None:
        barrier.wait()
        try:
            results.append(start_host(project, sid, resume=True))
        except HostStartError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pids = [r for r in results if isinstance(r, int)]
    refusals = [r for r in results if isinstance(r, str)]
    assert len(pids) == 1, results
    assert len(refusals) == 3 and all(f"session {sid} already has a running host" in r
                                      for r in refusals), refusals  # fmt: skip
    assert live.host_pid(sid) == pids[0]
    live.wait_output(sid, "ECHO-AGENT pid=")
    time.sleep(0.5)  # a second agent, if any, would have printed its banner by now
    assert live.output(sid).count("ECHO-AGENT pid=") == 1
    assert live.state(sid) == "active"
    assert (live.ta_dir / "run" / f"{sid}.lock").exists()


# -- however a session ends ------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["close", "abort", "agent exit", "launch failure"])
def test_the_goal_follows_the_session_and_run_files_are_removed(live: Live, ending: str) -> None:
    if ending == "launch failure":
        broken = live.workdir / "broken-agent"  # it exists, but its interpreter does not
        broken.write_text("#!/nonexistent/interpreter\n")
        broken.chmod(0o755)
        result = live.ta("run", "t", "--detach", "--", str(broken))
        assert result.returncode != 0
        sid = live.only_session()
    else:
        sid = live.start(*agent("echo.py"))
        live.wait_output(sid, "ECHO-AGENT pid=")
        exts = ("agent.sock", "json", "lock", "sock")  # agent.sock: the agent socket (MCP)
        assert run_files(live.root, sid) == [f"{sid}.{ext}" for ext in exts]
        if ending == "agent exit":
            live.ok("session", "send", sid, "quit")
        elif ending == "close":
            live.ok("session", "close", sid)
        else:
            live.ok("session", "abort", sid)
    expected = "completed" if ending in ("close", "agent exit") else "aborted"
    live.wait_state(sid, expected)
    wait_for(lambda: run_files(live.root, sid) == [], what=lambda: str(run_files(live.root, sid)))
    assert goal_state(live.root, sid) == expected


# -- a full disk -----------------------------------------------------------------------------


@pytest.fixture
def small_disk(live: Live) -> Iterator[Path]:
    """A 3 MB tmpfs to put a project on (needs root; skipped where mounting is not allowed)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount_point = Path(tempfile.mkdtemp(prefix="ta-full-", dir="/tmp"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        live.cleanup()  # end what runs on it before it goes
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        with contextlib.suppress(OSError):
            mount_point.rmdir()


def fill(path: Path) -> None:
    """Write ``path`` until the disk is full."""
    with path.open("wb", buffering=0) as handle:
        for size in (1 << 16, 1 << 10, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc


def statuses(client: HostClient, want: str, also: bytes = b"") -> list[str]:
    """Read ``status_update`` messages until one contains ``want`` (and, in agent_output
    events, ``also`` has appeared)."""

    def done(frames: list[Any]) -> bool:
        messages = controls(frames)
        texts = "".join(str(m.get("content", "")) for m in messages).encode()
        return any(want in str(m.get("message")) for m in messages) and also in texts

    return [str(m.get("message")) for m in controls(read_until(client, done))]


def check_whole_lines(path: Path) -> None:
    data = path.read_bytes()
    assert data.endswith(b"\n"), data[-200:]
    for line in data.split(b"\n")[:-1]:
        json.loads(line)  # every line whole


def test_a_full_disk_is_reported_and_survived_and_nothing_is_torn(
    live: Live, small_disk: Path
) -> None:
    root = live.add_project(small_disk / "proj")
    project = Project(root)
    sid = hosted(project, agent("echo.py"))
    sock = project.hosts.socket_path(UUID(sid))
    events = HostClient.connect(sock, channel_id="test:events", output="events")
    live.clients.append(events)
    cast = root / ".ta" / "recordings" / f"{sid}.cast"
    wait_for(lambda: b"ECHO-AGENT" in cast.read_bytes())

    filler = root / ".ta" / "filler"
    fill(filler)
    long_line = "while full " + "y" * 6000  # an event larger than what is left of a page
    assert events.request(Message(long_line))["ok"]  # the agent got it
    seen = statuses(events, "cannot write", also=b"got: while full")
    assert any("cannot write" in s for s in seen), seen
    assert is_running(project.hosts.read(UUID(sid))["agent_pid"])
    check_whole_lines(cast)
    check_whole_lines(root / ".ta" / "audit.jsonl")

    filler.unlink()

    def recovered() -> bool:
        events.request(Message("after"))  # output again, and again, until it is recorded
        return b"got: after" in cast.read_bytes()

    wait_for(recovered, what="the recording to work again", interval=0.6)
    check_whole_lines(cast)
    check_whole_lines(root / ".ta" / "audit.jsonl")
    log = (root / ".ta" / "run" / f"{sid}.log").read_text()
    assert "cannot write" in log and "No space left on device" in log
    assert "recording again" in log and "records are written again" in log
    contents = [m["content"] for m in project.sessions.load(sid).to_dict()["messages"]]
    assert "after" in contents

    # A host killed in the middle of writing the recording: a resume cuts the torn line.
    host = json.loads((root / ".ta" / "run" / f"{sid}.json").read_text())["pid"]
    os.kill(host, signal.SIGKILL)
    wait_for(lambda: not is_running(host))
    with cast.open("ab") as handle:
        handle.write(b'[12.5, "o", "torn')
    start_host(project, sid, resume=True)
    wait_for(lambda: cast.read_bytes().count(b"ECHO-AGENT pid=") == 2)
    check_whole_lines(cast)

    again = HostClient.connect(sock, channel_id="test:close")
    live.clients.append(again)
    again.request(Close())
    wait_for(lambda: run_files(root, sid) == [], what="the host to end")
    assert project.sessions.load(sid).state.value == "completed"
    assert goal_state(root, sid) == "completed"
