"""docs/protocol.md is true: its tables list exactly the tags of the model, the requests the host
carries out and the messages it sends; and a real host answers every documented request."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from live_helpers import Live, agent, live_fixture  # noqa: F401  (the `live` fixture)
from ta_session.host import agent_channel, controller, hub, server, window
from ta_session.host.controller import REQUEST_TYPES, accepted_inputs
from ta_session.host.wire import encode_json
from ta_session.model import HumanInput, SessionEvent

DOC = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"
CLIENT = Path(__file__).resolve().parents[1] / "src" / "ta_session" / "channels" / "client.py"


def table_tags(heading: str) -> set[str]:
    """The first cell (a `code` span) of every row of the table under ``heading``."""
    lines = DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#") and heading in line)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            rows.append(line)
    assert len(rows) > 2, f"no table under {heading!r}"
    tags = set()
    for row in rows[2:]:  # after the header and the |---| line
        match = re.match(r"\|\s*`([a-z_]+)`\s*\|", row)
        assert match, f"a row under {heading!r} does not start with a `tag`: {row}"
        tags.add(match.group(1))
    return tags


def test_every_human_input_is_documented_and_carried_out() -> None:
    documented = table_tags("HumanInput requests")
    assert documented == set(HumanInput._variants)
    assert accepted_inputs() == set(HumanInput._variants)


def test_the_hosts_own_requests_are_documented() -> None:
    assert table_tags("Other requests") == set(REQUEST_TYPES)


def test_the_agent_sockets_requests_are_documented() -> None:
    assert table_tags("Agent requests") == set(agent_channel.AGENT_REQUESTS)


def test_every_session_event_is_documented() -> None:
    assert table_tags("SessionEvent (`event_type`)") == set(SessionEvent._variants)


def test_every_protocol_message_sent_is_documented() -> None:
    sent = set()
    for module in (server, hub, controller, agent_channel, window):
        sent |= set(re.findall(r'"type": "(\w+)"', Path(module.__file__ or "").read_text()))
    sent |= set(re.findall(r'"type": "(\w+)"', CLIENT.read_text()))
    assert table_tags("Protocol messages") == sent


EXAMPLES: dict[str, dict[str, Any]] = {
    "message": {"input_type": "message", "text": "hello"},
    "answer": {"input_type": "answer", "question_id": "q1", "text": "yes"},
    "build_draft": {"input_type": "build_draft"},
    "approve": {"input_type": "approve", "draft_id": str(uuid.uuid4()), "artifact_uri": None},
    "reject": {
        "input_type": "reject",
        "draft_id": str(uuid.uuid4()),
        "artifact_uri": None,
        "reason": "no",
    },
    "discuss": {
        "input_type": "discuss",
        "draft_id": str(uuid.uuid4()),
        "artifact_uri": None,
        "comment": "why?",
    },
    "status": {"type": "status"},
    "screen": {"type": "screen"},
    "goal_complete": {"type": "goal_complete"},
    "pause": {"input_type": "pause"},
    "resume": {"input_type": "resume"},
    "abort": {"input_type": "abort", "reason": "done testing"},
    "close": {"input_type": "close", "build_draft": False},  # after abort: refused, but known
}


def test_a_host_answers_every_documented_request(live: Live) -> None:
    documented = table_tags("HumanInput requests") | table_tags("Other requests")
    assert set(EXAMPLES) == documented
    sid = live.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT pid=")
    client = live.connect(sid)
    # The last two (abort, then close) go out together: once the agent is killed the host ends,
    # and a request sent after that would find no host to answer it.
    tags = list(EXAMPLES)
    batches = [[tag] for tag in tags[:-2]] + [tags[-2:]]
    for batch in batches:
        client.send_raw(b"".join(encode_json(EXAMPLES[tag]) for tag in batch))
        for tag in batch:
            reply = client.next_control(10)
            while reply.get("type") != "reply":
                reply = client.next_control(10)
            if not reply["ok"]:
                error = str(reply["error"])
                assert not re.search(r"unknown|not supported|lacks the field", error), (tag, error)
                # answer: q1 is no question the agent asked (refused, never typed into it)
                assert tag in ("approve", "reject", "discuss", "close", "answer"), (tag, reply)
    live.wait_state(sid, "aborted")
