"""Recordings of live sessions (SPEC §4.5, §11, §12): asciicast v2 on disk, UTF-8 handled
byte-exactly, replay and logs."""

from __future__ import annotations

import json
import time

from live_helpers import (
    Live,
    agent,
    controls,
    live_fixture,  # noqa: F401  (the `live` fixture)
    output_bytes,
    read_until,
)

TEXT = "é✓🎉"


def test_split_utf8_is_recorded_intact_and_raw_bytes_reach_attached_clients(live: Live) -> None:
    sid = live.start(*agent("utf8_bytes.py"))
    live.wait_output(sid, "UTF8-AGENT ready")
    client = live.connect(sid, role="attach", channel_id="test:raw", size=(80, 24))
    client.send_input(b"go\r")
    frames = read_until(client, lambda fr: b"END" in output_bytes(fr))
    data = output_bytes(frames)
    # The attached terminal gets exactly the bytes the agent wrote, invalid ones included.
    assert f"<{TEXT}>".encode() in data
    assert b"[\xff\xfe]" in data

    live.wait_state(sid, "completed")
    live.wait_host_gone(sid)
    text = live.output(sid)
    assert f"<{TEXT}>" in text  # held until complete, never split into replacement characters
    assert "[\ufffd\ufffd]" in text  # not UTF-8: recorded as U+FFFD, never dropped
    assert text.count("\ufffd") == 2
    logs = live.ta_bytes("session", "logs", sid, "--raw").stdout
    assert f"<{TEXT}>".encode() in logs
    assert "[\ufffd\ufffd]".encode() in logs


def test_split_utf8_reaches_event_clients_intact(live: Live) -> None:
    sid = live.start(*agent("utf8_bytes.py"))
    live.wait_output(sid, "UTF8-AGENT ready")
    client = live.connect(sid, channel_id="test:events", output="events")
    live.ok("session", "send", sid, "go")

    def content(frames: list) -> str:
        return "".join(
            m["content"] for m in controls(frames) if m.get("event_type") == "agent_output"
        )

    frames = read_until(client, lambda fr: "END" in content(fr))
    assert f"<{TEXT}>" in content(frames)
    assert "[\ufffd\ufffd]" in content(frames)


def test_recording_is_asciicast_v2_and_replay_reproduces_the_output(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT pid=")
    client = live.connect(sid, role="attach", channel_id="test:sized", size=(90, 25))
    live.ok("session", "send", sid, "hello recording")
    live.wait_output(sid, "got: hello recording")
    client.close()
    live.ok("session", "send", sid, "quit")
    live.wait_state(sid, "completed")
    live.wait_host_gone(sid)

    lines = live.cast_path(sid).read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2
    assert (header["width"], header["height"]) == (80, 24)  # `ta run --detach`: no terminal
    assert isinstance(header["timestamp"], int)
    assert isinstance(header["env"], dict) and {"TERM", "SHELL"} <= set(header["env"])
    events = [json.loads(line) for line in lines[1:]]
    previous = 0.0
    for event in events:
        assert isinstance(event, list) and len(event) == 3, event
        assert isinstance(event[0], float), event
        assert event[1] in ("o", "m", "r"), event
        assert isinstance(event[2], str), event
        assert event[0] >= previous, f"time goes backwards at {event}"
        previous = event[0]
    codes = {e[1] for e in events}
    assert codes == {"o", "m", "r"}
    assert ["r", "90x25"] in [e[1:] for e in events]

    output = "".join(e[2] for e in events if e[1] == "o")
    replay = live.ta_bytes("session", "replay", sid, "--speed", "100")
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.decode("utf-8") == output
    assert "got: hello recording" in output


def test_logs_strip_ansi_and_raw_keeps_escapes(live: Live) -> None:
    sid = live.start(*agent("colors.py"))
    live.wait_state(sid, "completed")
    live.wait_host_gone(sid)
    plain = live.ok("session", "logs", sid)
    assert "RED-TEXT plain-text" in plain
    assert "GREEN-BOLD done" in plain
    assert "\x1b" not in plain
    raw = live.ok("session", "logs", sid, "--raw")
    assert "\x1b[31mRED-TEXT\x1b[0m plain-text" in raw
    assert "\x1b[1;32mGREEN-BOLD\x1b[0m" in raw


def test_session_events_are_written_to_the_audit_log_and_the_recording(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT pid=")
    live.ok("session", "send", sid, "note this")
    live.wait_output(sid, "got: note this")
    live.ok("session", "pause", sid)
    live.ok("session", "resume", sid)
    live.ok("session", "close", sid)
    live.wait_host_gone(sid)

    audit = live.audit(sid)
    actions = [e["action"] for e in audit]
    for action in ("session_started", "agent_launched", "message", "agent_exited"):
        assert action in actions, action
    assert [
        (e["details"]["from"], e["details"]["to"]) for e in audit if e["action"] == "state_changed"
    ] == [("active", "paused"), ("paused", "active"), ("active", "completed")]
    assert live.ok("audit", "verify").startswith("Audit log intact")

    _, events = live.cast(sid)
    markers = [e[2] for e in events if e[1] == "m"]
    assert "input: note this" in markers
    for marker in ("state: active -> paused", "state: paused -> active",
                   "state: active -> completed"):  # fmt: skip
        assert marker in markers, markers


def test_replay_caps_long_pauses_by_default(live: Live) -> None:
    """A recording with a minute of silence replays in a few seconds (``--idle-limit`` 2 s
    unless told otherwise); a negative limit is a usage error."""
    sid = live.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT pid=")
    live.ok("session", "send", sid, "quit")
    live.wait_state(sid, "completed")
    live.wait_host_gone(sid)
    cast = live.cast_path(sid)
    lines = cast.read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])[0]
    lines.append(json.dumps([last + 60.0, "o", "after a minute\r\n"]))
    cast.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    replay = live.ta_bytes("session", "replay", sid)
    took = time.monotonic() - started
    assert replay.returncode == 0 and b"after a minute" in replay.stdout
    assert took < 30, took  # 60 s of silence, capped at 2 s (the margin is for slow machines)
    bad = live.ta("session", "replay", sid, "--idle-limit", "-1")
    assert bad.returncode == 2 and "--idle-limit" in bad.stderr
