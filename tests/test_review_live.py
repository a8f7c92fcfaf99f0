"""Reviewing drafts with live sessions (SPEC §4.1, §5, §7): the inline review in a real attached
terminal, rejection reasons and comments reaching a running agent, and decisions sent through a
live host (``HumanInput`` approve/reject).
"""

from __future__ import annotations

import getpass
import shlex
from pathlib import Path

import pytest

from draft_helpers import (
    URI,
    Op,
    artifacts_by_path,
    audit_actions,
    draft,
    editor,
    finish,
    session_record,
    wait_draft,
    write,
)
from live_helpers import (
    Live,
    live_fixture,  # noqa: F401  (the `live` fixture)
    ns,
    wait_for,
)
from ta_session.model import Timestamp

PROMPT = "[a]pprove [r]eject [d]iscuss [s]kip [q]uit? "


def _human_messages(live: Live, sid: str) -> list[str]:
    return [m["content"] for m in live.messages(sid) if m["sender"] == "human"]


@pytest.mark.parametrize("timing", ["agent-exits-at-once", "agent-exits-while-attached"])
def test_inline_review_in_an_attached_terminal_applies_only_what_was_approved(
    live: Live, timing: str
) -> None:
    write(live.root, {"a.txt": "a\n", "b.txt": "b\n"})
    term = live.tmux()
    channel = "cli:" + term.pane_tty().removeprefix("/dev/")
    started = Timestamp.now().ns
    ops: list[Op] = [("append", "a.txt", "agent a\n"), ("append", "b.txt", "agent b\n")]
    if timing == "agent-exits-while-attached":
        ops.insert(0, ("sleep", "-", "1.5"))
    # (The quotes keep the exit marker out of the echoed command line.)
    term.run(shlex.join(["ta", "run", "t", "--", *editor(ops)]) + '; echo "TA"-EXIT=$?')

    # The agent exits; the terminal shows its output, then the draft file by file.
    screen = term.wait_text(PROMPT)
    assert "EDITS DONE" in screen and "completed (agent exited with code 0)" in screen
    assert "[1/2] modified a.txt" in screen and "+agent a" in screen
    assert "artifact(s) to review" in screen
    assert "Keys: a approve · r reject" in screen and "One key, no Enter." in screen
    term.type("a", enter=False)  # one key decides: no Enter
    screen = term.wait_text("[2/2] modified b.txt")
    assert "+agent b" in screen and f"{PROMPT}a\n" in screen  # the key stays shown
    wait_for(lambda: term.screen().count(PROMPT) == 2, what="the prompt for the second file")
    term.type("r", enter=False)
    term.wait_text("  reason: ")
    term.type("too risky")  # a reason is a line, typed with echo and ended by Enter
    term.wait_text("Apply the 1 approved change(s) to the project now? [y/n] ")
    term.type("y", enter=False)
    screen = term.wait_text("TA-EXIT=")
    assert "TA-EXIT=0" in screen
    assert f"Applied 1 file(s) to {live.root}: a.txt" in screen
    finished = Timestamp.now().ns

    # Only the approved file reached the project.
    assert (live.root / "a.txt").read_text() == "a\nagent a\n"
    assert (live.root / "b.txt").read_text() == "b\n"

    (sid,) = live.session_ids()
    draft_id = wait_draft(live, sid)
    record = draft(live, draft_id)
    assert record["status"] == "applied"
    arts = artifacts_by_path(record)
    assert (arts["a.txt"]["disposition"], arts["a.txt"]["reason"]) == ("approved", None)
    assert (arts["b.txt"]["disposition"], arts["b.txt"]["reason"]) == ("rejected", "too risky")
    for artifact in arts.values():
        assert artifact["decided_by"] == getpass.getuser()
        assert artifact["decided_channel"] == channel
        assert started <= ns(artifact["decided_at"]) <= finished
    assert ns(arts["a.txt"]["decided_at"]) < ns(arts["b.txt"]["decided_at"])

    short = draft_id[:8]
    humans = _human_messages(live, sid)
    assert f"Approved {URI}a.txt in draft {short}" in humans
    assert f"Rejected {URI}b.txt in draft {short}: too risky" in humans
    decisions = audit_actions(live, sid, "artifact_decision")
    assert [(e["details"]["artifact_uri"], e["details"]["disposition"], e["details"]["reason"])
            for e in decisions] == [(URI + "a.txt", "approved", None),
                                    (URI + "b.txt", "rejected", "too risky")]  # fmt: skip
    assert {(e["channel_id"], e["actor"]) for e in decisions} == {(channel, getpass.getuser())}
    (applied,) = audit_actions(live, sid, "draft_applied")
    assert applied["details"]["paths"] == ["a.txt"] and applied["channel_id"] == channel
    assert session_record(live, sid)["state"] == "completed"


def test_a_rejection_reason_and_a_comment_reach_the_running_agent(
    live: Live, tmp_path: Path
) -> None:
    write(live.root, {"a.txt": "indented\n"})
    heard = tmp_path / "heard.log"
    sid = live.start(*editor([("write", "a.txt", "    indented\n")], listen=heard))
    live.wait_output(sid, "EDITS DONE")

    out = live.ok("draft", "build")  # through the live host
    draft_id = wait_draft(live, sid)
    assert f"Draft {draft_id} built: 1 modified." in out

    def heard_lines() -> list[str]:
        return heard.read_text().splitlines() if heard.exists() else []

    live.ok("draft", "reject", draft_id, "--artifact", "a.txt", "--reason", "use tabs")
    rejected = f"Reviewer rejected {URI}a.txt: use tabs"
    wait_for(lambda: rejected in heard_lines(), what=f"{rejected!r} in what the agent read")
    live.wait_output(sid, f"heard: {rejected}")

    live.ok("draft", "discuss", draft_id, "--artifact", f"{URI}a.txt", "--comment", "why spaces?")
    comment = f"Reviewer comment on {URI}a.txt: why spaces?"
    wait_for(lambda: comment in heard_lines(), what=f"{comment!r} in what the agent read")
    assert heard_lines() == [rejected, comment]  # each exactly once, in order
    logs = live.ok("session", "logs", sid)
    assert f"heard: {rejected}" in logs and f"heard: {comment}" in logs

    (artifact,) = draft(live, draft_id)["artifacts"]
    assert (artifact["disposition"], artifact["comment"], artifact["reason"]) == (
        "discuss",
        "why spaces?",
        None,
    )
    injected = [e["details"]["text"] for e in audit_actions(live, sid, "input_injected")]
    assert injected == [rejected, comment]
    humans = _human_messages(live, sid)
    assert f"Rejected {URI}a.txt in draft {draft_id[:8]}: use tabs" in humans
    assert f"Discussion on {URI}a.txt in draft {draft_id[:8]}: why spaces?" in humans

    live.ok("session", "send", sid, "quit")
    finish(live, sid)


def test_session_approve_and_reject_go_through_the_live_host(live: Live, tmp_path: Path) -> None:
    write(live.root, {"a.txt": "a\n", "b.txt": "b\n"})
    heard = tmp_path / "heard.log"
    ops = [("append", "a.txt", "agent\n"), ("append", "b.txt", "agent\n")]
    sid = live.start(*editor(ops, listen=heard))
    live.wait_output(sid, "EDITS DONE")

    result = live.ta("session", "approve", sid)
    assert result.returncode == 1 and "has no drafts yet" in result.stderr

    live.ok("draft", "build")
    draft_id = wait_draft(live, sid)
    short = draft_id[:8]
    out = live.ok("session", "approve", sid[:8], "--artifact", f"{URI}a.txt")
    assert f"Approved: {URI}a.txt in draft {short} (draft is pending_review)." in out
    out = live.ok("session", "reject", sid, "--artifact", "b.txt", "--reason", "R")
    assert f"in draft {short} (draft is approved)." in out

    record = draft(live, draft_id)
    arts = artifacts_by_path(record)
    assert (arts["a.txt"]["disposition"], arts["b.txt"]["disposition"]) == ("approved", "rejected")
    assert arts["b.txt"]["reason"] == "R"
    for artifact in arts.values():
        assert artifact["decided_by"] == getpass.getuser()
        assert artifact["decided_channel"].startswith("cli:")
        assert artifact["decided_at"]

    # The host carried them out: its recording marks each decision, and the agent was told.
    def markers() -> list[str]:
        return [e[2] for e in live.cast(sid)[1] if e[1] == "m"]

    wait_for(lambda: f"decision: rejected {URI}b.txt" in markers(), what="the decision markers")
    assert f"decision: approved {URI}a.txt" in markers()
    rejected = f"Reviewer rejected {URI}b.txt: R"
    wait_for(lambda: heard.exists() and rejected in heard.read_text(), what="the agent to hear R")
    humans = _human_messages(live, sid)
    assert f"Approved {URI}a.txt in draft {short}" in humans
    assert f"Rejected {URI}b.txt in draft {short}: R" in humans
    decisions = audit_actions(live, sid, "artifact_decision")
    assert [e["details"]["disposition"] for e in decisions] == ["approved", "rejected"]

    # A mistyped artifact changes nothing; a rejection without --artifact covers the draft.
    result = live.ta("session", "reject", sid, "--artifact", "nope.txt", "--reason", "x")
    assert result.returncode == 1 and "no artifact 'nope.txt'" in result.stderr
    assert draft(live, draft_id) == record
    live.ok("session", "reject", sid, "--reason", "start over")
    record = draft(live, draft_id)
    assert record["status"] == "denied"
    assert {a["reason"] for a in record["artifacts"]} == {"start over"}
    everything = "Reviewer rejected your changes: start over"
    wait_for(lambda: everything in heard.read_text(), what="the agent to hear the rejection")

    live.ok("session", "send", sid, "quit")
    finish(live, sid)
