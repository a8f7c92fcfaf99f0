"""The session host's socket and the agent settings that shape a live session (SPEC §2.2, §4.1,
§4.4, §5, §11; docs/protocol.md)."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import struct
import time
import uuid
from pathlib import Path

import pytest

from live_helpers import (
    AGENTS,
    PYTHON,
    TIMEOUT,
    Live,
    agent,
    controls,
    live_fixture,  # noqa: F401  (the `live` fixture)
    output_bytes,
    read_until,
    wait_for,
)
from ta_session.host.wire import FrameKind, FrameReader, encode, encode_json

HELLO = encode_json({"type": "hello", "protocol": 1, "role": "control", "channel_id": "test:bad"})
BAD_CONNECTIONS = {
    "garbage": b"this is not a frame at all",
    "oversized": struct.pack(">BI", FrameKind.CONTROL, (1 << 20) + 1),
    "input-before-hello": encode(FrameKind.INPUT, b"rm -rf /\r"),
    "request-before-hello": encode_json({"type": "status"}),
    "not-json-after-hello": HELLO + encode(FrameKind.CONTROL, b"{not json"),
}


def bad_exchange(path: str, data: bytes) -> tuple[list[dict[str, object]], bool]:
    """Send ``data`` on a fresh connection; the control messages received and whether the host
    closed the connection."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    sock.connect(path)
    reader, messages, closed = FrameReader(), [], False
    try:
        sock.sendall(data)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            messages += [f.json() for f in reader.feed(chunk) if f.kind is FrameKind.CONTROL]
    except TimeoutError:
        pass
    finally:
        sock.close()
    return messages, closed


def agent_yaml(name: str, script: str, **interactive: object) -> str:
    """A project agent running ``tests/agents/<script>``; extra keys go under ``interactive``
    (or at the top level for ``prompt_patterns`` and ``idle_after``)."""
    top = {k: interactive.pop(k) for k in ("prompt_patterns", "idle_after") if k in interactive}
    settings = {"enabled": True, "output_capture": "pty", **interactive}
    return json.dumps(  # JSON is YAML
        {
            "name": name,
            "command": PYTHON,
            "args_template": [str(AGENTS / script)],
            "interactive": settings,
            **top,
        }
    )


def test_malformed_frames_close_only_their_connection(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT pid=")
    watcher = live.connect(sid, role="attach", channel_id="test:watcher")
    path = str(live.socket_path(sid))

    for name, data in BAD_CONNECTIONS.items():
        messages, closed = bad_exchange(path, data)
        errors = [m for m in messages if m.get("type") == "error"]
        assert closed, f"{name}: the host kept the connection open"
        assert len(errors) == 1, f"{name}: {messages}"
        assert "protocol error" in str(errors[0]["message"]), errors

        # The host and the other client carry on.
        live.ok("session", "send", sid, f"after-{name}")
        answer = f"got: after-{name}".encode()
        frames = read_until(watcher, lambda fr, answer=answer: answer in output_bytes(fr))
        assert answer in output_bytes(frames)
        assert live.host_live(sid)
    assert live.state(sid) == "active"


def test_socket_is_private_mode_0600(live: Live) -> None:
    sid = live.start(*agent("quiet.py"))
    info = os.stat(live.socket_path(sid))
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert live.show(sid)["host"]["socket"] == str(live.socket_path(sid))


def test_session_works_in_a_deep_project_folder(live: Live, tmp_path: Path) -> None:
    # A Unix socket address holds at most 107 bytes; the project's path must not matter.
    root = str(live.add_project(tmp_path / ("a-rather-long-folder-name" * 4) / "proj"))
    sid = live.ok("--project", root, "run", "t", "--detach", "--", *agent("echo.py")).strip()
    socket_path = os.path.join(root, ".ta", "run", f"{sid}.sock")
    assert len(socket_path.encode()) > 107
    live.ok("--project", root, "session", "send", sid, "deep hello")
    status = json.loads(live.ok("--project", root, "session", "status", sid, "--json"))
    assert status["host"]["status"] == "live"
    wait_for(
        lambda: "got: deep hello" in live.ok("--project", root, "session", "logs", sid),
        what="the agent's answer",
    )


def test_run_detach_json_prints_session_and_goal_ids(live: Live) -> None:
    result = live.ta("run", "t", "--detach", "--json", "--", *agent("quiet.py"))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert set(printed) == {"session_id", "goal_id"}
    for value in printed.values():
        uuid.UUID(value)
    shown = live.show(printed["session_id"])
    assert shown["goal_id"] == printed["goal_id"]
    assert shown["host"]["status"] == "live"


def test_list_and_show_report_host_status_and_activity(live: Live) -> None:
    live.write_agent("idler", agent_yaml("idler", "quiet.py", idle_after=0.5))
    live.write_agent(
        "asker", agent_yaml("asker", "prompter.py", idle_after=0.3, prompt_patterns=[r"\[y/n\]"])
    )
    running = live.start(*agent("counter.py", "0.05"))
    idle = live.start(agent="idler")
    asking = live.start(agent="asker")
    events = live.connect(asking, channel_id="test:events", output="events")
    live.ok("session", "send", asking, "ask")  # now the agent asks its question

    def activity(sid: str) -> str | None:
        return (live.host_record(sid) or {}).get("activity")  # cheap to poll

    def questions(frames: list) -> list[dict[str, object]]:
        return [m for m in controls(frames) if m.get("event_type") == "waiting_for_input"]

    wait_for(lambda: activity(idle) == "idle", what="the silent session to be idle")
    wait_for(lambda: activity(asking) == "waiting", what="the asking session to be waiting")
    (question,) = questions(read_until(events, lambda fr: bool(questions(fr))))
    assert question["prompt"] == "Proceed? [y/n]"
    listed = {s["session_id"]: s for s in live.listing(all_sessions=False)}
    assert [listed[sid]["activity"] for sid in (running, idle, asking)] == [
        "running",
        "idle",
        "waiting",
    ]

    for sid in (running, idle, asking):
        shown = live.show(sid)
        assert shown["host"]["status"] == "live"
        assert shown["host"]["pid"] == live.host_pid(sid)
        assert shown["host"]["socket"] == str(live.socket_path(sid))
    assert live.show(idle)["activity"] == "idle"
    assert live.show(asking)["activity"] == "waiting"

    live.ok("session", "close", running)
    entry = live.listed(running)
    assert entry["state"] == "completed"
    assert entry["host"] == {"status": "none", "pid": None, "socket": None}
    assert entry["activity"] is None
    assert "messages" not in entry and "messages" in live.show(running)
    # `lost` is covered by test_killed_host_shows_lost_and_resume_relaunches_with_resume_cmd.


def test_auto_exit_on_idle_timeout_closes_a_silent_session(live: Live) -> None:
    live.write_agent("sleepy", agent_yaml("sleepy", "quiet.py", auto_exit_on="idle_timeout: 1s"))
    started = time.monotonic()
    sid = live.start(agent="sleepy")
    live.wait_state(sid, "completed")
    assert time.monotonic() - started >= 1.0
    live.wait_host_gone(sid)
    contents = [m["content"] for m in live.messages(sid)]
    assert "No output for 1s: closing" in contents
    _, events = live.cast(sid)
    last_output = max(e[0] for e in events if e[1] == "o" and "QUIET started" in e[2])
    (closed_at,) = [e[0] for e in events if e[1] == "m" and e[2] == "state: active -> completed"]
    assert closed_at - last_output >= 0.95  # it waited for a second of silence


def test_allow_human_input_false_refuses_guidance(live: Live) -> None:
    live.write_agent("mute", agent_yaml("mute", "quiet.py", allow_human_input=False))
    sid = live.start(agent="mute")
    live.wait_output(sid, "QUIET started")
    result = live.ta("session", "send", sid, "please listen")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not accept human input" in lines[0], result.stderr

    # Keystrokes from an attached terminal are not passed on either.
    client = live.connect(sid, role="attach", channel_id="test:keys")
    client.send_input(b"typed anyway\r")
    client.request({"type": "status"})  # answered after the keystrokes were handled
    assert not [m for m in live.messages(sid) if m["sender"] == "human"]
    assert "typed anyway" not in live.output(sid)
    assert live.state(sid) == "active"


def test_pipe_capture_keeps_stdout_and_stderr_apart(live: Live) -> None:
    live.write_agent("piped", agent_yaml("piped", "pipes.py", output_capture="pipe"))
    sid = live.start(agent="piped")
    client = live.connect(sid, channel_id="test:events", output="events")

    def streams(frames: list) -> dict[str, str]:
        found = {"std_out": "", "std_err": ""}
        for m in controls(frames):
            if m.get("event_type") == "agent_output":
                found[str(m["stream"])] += str(m["content"])
        return found

    frames = read_until(
        client, lambda fr: all(text.count("\n") >= 3 for text in streams(fr).values())
    )
    found = streams(frames)
    assert re.fullmatch(r"(out \d+\n)+", found["std_out"]), found
    assert re.fullmatch(r"(err \d+\n)+", found["std_err"]), found


@pytest.mark.parametrize("capture", ["pipe", "pty"])
def test_send_reaches_a_line_reading_agent(live: Live, capture: str) -> None:
    live.write_agent("liner", agent_yaml("liner", "echo.py", output_capture=capture))
    sid = live.start(agent="liner")
    live.wait_output(sid, "ECHO-AGENT pid=")
    live.ok("session", "send", sid, "one line")
    live.wait_output(sid, "got: one line")
