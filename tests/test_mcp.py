"""``ta mcp serve`` inside live, sandboxed sessions, driven by a real MCP client.

The agent (tests/agents/mcp_agent.py) is the MCP SDK's own stdio client: it starts
``ta mcp serve`` from inside the bubblewrap sandbox, as Claude Code would, and calls its tools.
The human side is the real ``ta`` command, the host's socket protocol and a tmux terminal.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from typing import Any

import pytest

from live_helpers import Live, agent, live_fixture, wait_for
from ta_session.channels.client import HostRequestError
from ta_session.host.wire import encode_json
from ta_session.model import Answer

live = live_fixture

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")


def start(live: Live, steps: list[dict[str, Any]]) -> str:
    live.env["TA_SANDBOX"] = "on"
    return live.start(*agent("mcp_agent.py", json.dumps(steps)), title="mcp")


def result(live: Live, sid: str, step: int | str) -> dict[str, Any]:
    """The agent's printed result of one tool call (waiting for it)."""
    text = live.wait_output(sid, f"RESULT {step} ", timeout=30)
    line = re.search(rf"^RESULT {re.escape(str(step))} (.*)$", text, re.M)
    assert line, text
    return dict(json.loads(line.group(1)))


def socket_reply(live: Live, sid: str, step: int) -> dict[str, Any]:
    text = live.wait_output(sid, f"SOCKET {step} ", timeout=30)
    line = re.search(rf"^SOCKET {step} (.*)$", text, re.M)
    assert line, text
    return dict(json.loads(line.group(1)))


def pending(live: Live, sid: str, count: int = 1) -> list[dict[str, Any]]:
    """The session's pending questions as ``ta session show --json`` lists them."""
    return wait_for(
        lambda: (qs := live.show(sid)["questions"]) and len(qs) == count and qs,
        what=f"{count} pending question(s) in session {sid}",
    )


def test_ask_human_answers_status_checkpoint_and_refusals(live: Live) -> None:
    """One sandboxed session: questions answered from ``ta session answer`` (an invalid yes/no
    refused first) and from the socket protocol; a status report on an attached terminal; a
    checkpoint draft in ``ta draft list`` and its decisions through ``draft_status``; the agent
    socket refusing what only people may do, and the main socket out of the agent's sight."""
    (live.root / "notes.txt").write_text("v1\n")
    main_socket = str(live.ta_dir / "run" / "SID.sock")
    steps: list[dict[str, Any]] = [
        {"tool": "ask_human", "args": {"question": "Ready to start?"}},
        {"tool": "ask_human", "args": {"question": "Overwrite notes.txt?",
                                       "response_hint": "yes_no", "context": "it has v1"}},
        {"tool": "ask_human", "args": {"question": "Which colour?", "response_hint": "choice",
                                       "choices": ["red", "green"]}},
        {"write": "notes.txt", "text": "v2\n"},
        {"tool": "request_checkpoint", "args": {"summary": "notes to v2"}},
        {"socket": {"input_type": "approve", "draft_id": "DRAFT", "artifact_uri": None}},
        {"socket": {"input_type": "pause"}},
        {"socket": {"type": "apply", "draft_id": "DRAFT"}},
        {"socket": {"type": "status"}},
        {"main_socket": main_socket},
        {"tool": "ask_human", "args": {"question": "Reviewed?"}},
        {"tool": "draft_status", "args": {"draft_id": "DRAFT"}},
        {"tool": "goal_complete", "args": {"summary": "notes updated"}},
        {"tool": "report_status", "args": {"message": "editing notes.txt now"}, "quiet": True},
        {"hold": True, "quiet": True},
    ]  # fmt: skip
    sid = start(live, steps)
    # The first question waits: it is listed, and the session is waiting.
    (question,) = pending(live, sid)
    assert question["prompt"] == "Ready to start?" and question["response_hint"] == "freeform"
    assert live.show(sid)["activity"] == "waiting"
    status = live.json("session", "status", sid, "--json")
    assert [q["question_id"] for q in status["questions"]] == [question["question_id"]]
    shown = live.ok("session", "show", sid)
    assert question["question_id"] in shown and "Ready to start?" in shown
    # A terminal attaches (it will see the status report on its bottom line).
    term = live.tmux(f"{live.ta_command()} session attach {sid}")
    term.wait_raw()
    # Everything drawn in the terminal, kept: a notice on the bottom line lasts only until the
    # next one, and a loaded machine may look after that.
    drawn = live.workdir / "terminal.out"
    term._tmux("pipe-pane", "-t", "main", f"cat >> {drawn}")
    live.ok("session", "answer", sid, "--question", question["question_id"], "go ahead")
    assert result(live, sid, 0) == {"text": "go ahead", "error": False}
    # A yes/no question: an invalid answer is refused with a message to the human.
    (yes_no,) = pending(live, sid)
    assert yes_no["prompt"] == "Overwrite notes.txt? [yes/no]"
    refused = live.ta("session", "answer", sid, "maybe")
    assert refused.returncode == 1 and "takes yes or no" in refused.stderr, refused.stderr
    live.ok("session", "answer", sid, "Y")
    assert result(live, sid, 1) == {"text": "yes", "error": False}
    # A choice, answered over the socket protocol (a HumanInput ``answer``) by its number.
    (choice,) = pending(live, sid)
    with live.connect(sid, channel_id="test:socket") as client:
        reply = client.request(Answer(choice["question_id"], "2"))
    assert reply["detail"] == "answered"
    assert result(live, sid, 2) == {"text": "green", "error": False}
    # The checkpoint is a draft in `ta draft list`, with the agent's summary.
    text = result(live, sid, 4)["text"]
    draft_id = re.search(r"Draft ([0-9a-f-]{36}) is ready", text)
    assert draft_id, text
    listing = live.ok("draft", "list")
    assert draft_id.group(1) in listing and "notes to v2" in listing
    # Only agent requests on the agent socket.
    assert "is for people" in socket_reply(live, sid, 5)["error"]
    assert "is for people" in socket_reply(live, sid, 6)["error"]
    assert "does not take 'apply'" in socket_reply(live, sid, 7)["error"]
    assert "does not take 'status'" in socket_reply(live, sid, 8)["error"]
    assert re.search(r"^MAIN 9 refused", live.output(sid), re.M), live.output(sid)
    assert live.state(sid) == "active"  # the refused pause did nothing
    # A human rejects the draft; the agent reads the decision.
    live.ok("draft", "reject", draft_id.group(1), "--reason", "keep v1")
    (reviewed,) = pending(live, sid)
    live.ok("session", "answer", sid, "--question", reviewed["question_id"], "done")
    result(live, sid, 10)
    status = json.loads(result(live, sid, 11)["text"])
    assert status["draft_id"] == draft_id.group(1)
    (artifact,) = status["artifacts"]
    assert (artifact["disposition"], artifact["reason"]) == ("rejected", "keep v1"), status
    assert "complete" in result(live, sid, 12)["text"]
    wait_for(lambda: drawn.exists() and b"Status: editing notes.txt now" in drawn.read_bytes(),
             what="the status notice drawn in the attached terminal")  # fmt: skip
    # The goal is marked done at once, while the session (and its agent) goes on.
    goal = live.json("goal", "show", live.show(sid)["goal_id"], "--json")
    assert goal["state"] == "completed" and live.state(sid) == "active"
    # Everything is in the log and the audit, with who answered from where.
    audit = live.audit(sid)
    answered = [e for e in audit if e["action"] == "question_answered"]
    assert [(e["details"]["answer"], e["channel_id"].split(":")[0]) for e in answered] == [
        ("go ahead", "cli"), ("yes", "cli"), ("green", "test"), ("done", "cli")]  # fmt: skip
    assert any(e["action"] == "answer_refused" for e in audit)
    assert any(e["action"] == "status_reported" for e in audit)
    assert any(e["action"] == "goal_complete_reported" for e in audit)


def test_two_channels_answering_at_once_one_wins(live: Live) -> None:
    sid = start(live, [{"tool": "ask_human", "args": {"question": "Pick a name"}}, {"hold": True}])
    (question,) = pending(live, sid)
    a = live.connect(sid, channel_id="test:alice")
    b = live.connect(sid, channel_id="test:bob")
    qid = question["question_id"]
    frames = {a: encode_json(Answer(qid, "alice's").to_dict()),
              b: encode_json(Answer(qid, "bob's").to_dict())}  # fmt: skip
    go = threading.Barrier(2)
    replies: dict[str, Any] = {}

    def answer(client: Any, name: str) -> None:
        go.wait()
        client.send_raw(frames[client])
        reply = client.next_control(15)
        while reply.get("type") != "reply":
            reply = client.next_control(15)
        replies[name] = reply

    threads = [threading.Thread(target=answer, args=(c, n)) for c, n in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    oks = [r for r in replies.values() if r["ok"]]
    refused = [r for r in replies.values() if not r["ok"]]
    assert len(oks) == 1 and len(refused) == 1, replies
    assert "already answered by test:" in refused[0]["error"], refused
    got = result(live, sid, 0)["text"]
    winner = "test:alice" if got == "alice's" else "test:bob"
    assert got in ("alice's", "bob's") and winner in refused[0]["error"]
    # A late answer from the CLI (no question id) is refused too, not typed into the agent.
    late = live.ta("session", "answer", sid, "me too")
    assert late.returncode == 1 and "already answered" in late.stderr
    answered = [e for e in live.audit(sid) if e["action"] == "question_answered"]
    assert len(answered) == 1


def test_a_question_times_out_with_a_plain_text(live: Live) -> None:
    sid = start(live, [{"tool": "ask_human", "args": {"question": "Anyone?", "timeout_secs": 1}},
                       {"hold": True}])  # fmt: skip
    got = result(live, sid, 0)
    assert not got["error"]
    assert got["text"].startswith("No answer came from the human within 1 seconds")
    assert "own best judgement" in got["text"]
    assert live.show(sid)["questions"] == []
    actions = [e["action"] for e in live.audit(sid)]
    assert "question_asked" in actions and "question_timed_out" in actions


def test_the_agent_socket_takes_agents_only(live: Live) -> None:
    """From outside the sandbox: a person's client cannot say hello on the agent socket, and
    an agent cannot say hello on the main socket."""
    from ta_session.channels.client import HostClient, HostUnavailable

    sid = start(live, [{"hold": True}])
    live.wait_output(sid, "HOLDING", timeout=30)
    agent_socket = live.ta_dir / "run" / f"{sid}.agent.sock"
    assert agent_socket.stat().st_mode & 0o777 == 0o600
    with pytest.raises(HostUnavailable, match="role must be 'agent'"):
        HostClient.connect(agent_socket, channel_id="x", role="control", timeout=10)
    with pytest.raises(HostUnavailable, match="agents use TA_AGENT_SOCKET"):
        HostClient.connect(live.socket_path(sid), channel_id="x", role="agent", timeout=10)
    with HostClient.connect(agent_socket, channel_id="me", role="agent", timeout=10) as client:
        for request in ({"input_type": "abort"}, {"input_type": "message", "text": "hi"},
                        {"type": "goal_complete_now"}):  # fmt: skip
            with pytest.raises(HostRequestError):
                client.request(request)
    assert live.state(sid) == "active"
