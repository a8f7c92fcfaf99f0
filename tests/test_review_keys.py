"""The inline review's answers (``channels/keys.py``): one key without Enter in a terminal, where
arrow keys, Enter and a terminal's replies decide nothing and every way out restores the
terminal; one answer per line when stdin is a pipe.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from pathlib import Path

import pytest

from draft_helpers import (
    artifacts_by_path,
    draft,
    editor,
    only_draft_of,
    run_goal,
    wait_draft,
    write,
)
from live_helpers import (
    PYTHON,
    Live,
    Tmux,
    children,
    live_fixture,  # noqa: F401  (the `live` fixture)
    wait_for,
)
from ta_session.channels.keys import CTRL_C, ENTER, KeyDecoder

PROMPT = "[a]pprove [r]eject [d]iscuss [s]kip [q]uit? "
HINT = "  please answer a, r, d, s or q"

# -- the decoder (pure) ---------------------------------------------------------------------


def keys(*chunks: bytes) -> list[str]:
    decoder = KeyDecoder()
    out: list[str] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out


def test_printable_keys_enter_and_control_keys() -> None:
    assert keys(b"aR") == ["a", "R"]
    assert keys(b"\r", b"\r") == keys(b"\n\n") == [ENTER, ENTER]
    assert keys(b"\r\n") == keys(b"\r", b"\n") == [ENTER]  # one Enter, as CR LF
    assert keys(b"\x03\x04\x7f\t") == [CTRL_C, "\x04", "\x7f", "\t"]
    assert keys("ä".encode()[:1], "ä".encode()[1:]) == ["ä"]  # a character split over reads


@pytest.mark.parametrize(
    "sequence",
    [
        b"\x1b[A", b"\x1b[B", b"\x1bOC", b"\x1b[1;5D",  # arrows, plain, SS3 and with Ctrl
        b"\x1b[15~", b"\x1bOP",  # F5, F1
        b"\x1b[?64;1;2c", b"\x1b[24;80R",  # replies: device attributes, cursor position
        b"\x1b]11;rgb:0000/0000/0000\x07",  # a colour reply ended by BEL (letters r, g, b)
        b"\x1b]10;rgb:ffff/ffff/ffff\x1b\\",  # … and by ST
        b"\x1bP>|tmux 3.3a\x1b\\",  # a DCS reply (XTVERSION), with 'a' in it
        b"\x1b_Ga=q\x1b\\",  # an APC (kitty graphics reply)
        b"\x1ba",  # Alt-a
        b"\x1b\x1b[A",  # Esc, then an arrow at once
        "\x9bA".encode(),  # a one-character CSI
    ],
)  # fmt: skip
def test_escape_sequences_are_no_keys_whole_or_in_pieces(sequence: bytes) -> None:
    assert keys(sequence + b"s") == ["s"]
    assert keys(*(sequence[i : i + 1] for i in range(len(sequence))), b"s") == ["s"]


def test_a_lone_escape_is_ended_by_flush() -> None:
    decoder = KeyDecoder()
    assert decoder.feed(b"\x1b") == [] and decoder.pending
    decoder.flush()  # nothing followed within the escape time: the Esc key alone
    assert not decoder.pending and decoder.feed(b"a") == ["a"]


def test_ctrl_c_is_a_key_even_inside_a_sequence() -> None:
    """A reply cut short (or a key pressed in the middle of one) never swallows Ctrl-C, and
    CAN/SUB end a sequence as a terminal's parser does."""
    assert keys(b"\x1b[12;", b"\x03") == [CTRL_C]
    assert keys(b"\x1b]11;rgb:0\x03a") == [CTRL_C, "a"]
    assert keys(b"\x1b[1\x18a", b"\x1bP\x1ab") == ["a", "b"]


# -- in a terminal (tmux) -------------------------------------------------------------------


def _start_review(live: Live) -> tuple[Tmux, Path, Path]:
    write(live.root, {"a.txt": "a\n", "b.txt": "b\n"})
    ops = [("append", "a.txt", "agent a\n"), ("append", "b.txt", "agent b\n")]
    before, after = live.workdir / "stty-before", live.workdir / "stty-after"
    term = live.tmux()
    term.run(
        f"stty -a > {before}; " + shlex.join(["ta", "run", "t", "--", *editor(ops)])
        + f"; echo RC=$? > {live.workdir / 'rc'}; stty -a > {after}; echo DONE-$((40+2))"
    )  # fmt: skip
    term.wait_text(PROMPT)
    return term, before, after


def _pending(live: Live) -> dict[str, str]:
    (sid,) = live.session_ids()
    record = draft(live, wait_draft(live, sid))
    return {path: a["disposition"] for path, a in artifacts_by_path(record).items()}


def test_keys_that_are_no_choice_decide_nothing(live: Live) -> None:
    term, before, after = _start_review(live)
    assert {"-icanon", "-echo", "-isig"} <= term.modes()  # waiting for one key
    term.send("Up", "Down", "Left", "Right", "F5", "Enter", "Space", "Escape")
    term.send_hex(*b"\x1b]11;rgb:0000/0000/0000\x07\x1b[?64;1c".hex(" ").split())
    term.type("x", enter=False)  # not a choice: said so, after all the keys before it
    screen = term.wait_text(HINT)
    assert f"{PROMPT}x\n{HINT}\n{PROMPT}" in screen
    assert screen.count(PROMPT) == 2 and "[2/2]" not in screen
    assert _pending(live) == {"a.txt": "pending", "b.txt": "pending"}

    term.type("D", enter=False)  # upper case works too; a discussion asks for a comment
    term.wait_text("  comment: ")
    assert "icanon" in term.modes() and "echo" in term.modes()  # a line, with echo
    term.type("why?")
    term.wait_text("[2/2] modified b.txt")
    term.type("s", enter=False)
    term.wait_text("Nothing approved: nothing to apply.")
    term.wait_text("DONE-42")
    assert after.read_text() == before.read_text()
    assert _pending(live) == {"a.txt": "discuss", "b.txt": "pending"}


@pytest.mark.parametrize("way_out", ["ctrl-c", "sigterm", "quit"])
def test_the_terminal_is_restored_on_every_way_out(live: Live, way_out: str) -> None:
    term, before, after = _start_review(live)
    term.type("a", enter=False)
    term.wait_text("[2/2] modified b.txt")
    wait_for(lambda: {"-icanon", "-echo"} <= term.modes(), what="key mode at the second file")
    if way_out == "ctrl-c":
        term.send("C-c")
        term.wait_text("Review interrupted. Continue with 'ta draft view")
    elif way_out == "sigterm":
        (review_pid,) = children(term.pane_pid())  # `ta run`, reviewing
        os.kill(review_pid, signal.SIGTERM)
    else:
        term.type("q", enter=False)
    term.wait_text("DONE-42")
    assert before.read_text()  # stty worked
    assert after.read_text() == before.read_text()
    rc = (live.workdir / "rc").read_text().strip()
    assert rc == ("RC=143" if way_out == "sigterm" else "RC=0")
    assert _pending(live) == {"a.txt": "approved", "b.txt": "pending"}
    assert (live.root / "a.txt").read_text() == "a\n"  # nothing applied


# -- from a pipe ----------------------------------------------------------------------------


def test_piped_answers_are_read_line_by_line(live: Live) -> None:
    write(live.root, {"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"})
    ops = [("append", name, "agent\n") for name in ("a.txt", "b.txt", "c.txt")]
    sid = run_goal(live, ops)
    draft_id = only_draft_of(live, sid)["draft_id"]
    code = (
        "import sys; from pathlib import Path; from uuid import UUID;"
        "from ta_session.store import Project; from ta_session.service.drafts import DraftService;"
        "from ta_session.cli.draft_cmds import inline_review;"
        "inline_review(DraftService(Project(Path(sys.argv[1])), 'cli:script'), UUID(sys.argv[2]))"
    )
    answers = "approve\n\nx\nr\ntoo risky\nd\nsee chat\nyes\n"
    result = subprocess.run(
        [PYTHON, "-c", code, str(live.root), draft_id],
        input=answers, capture_output=True, text=True, env=live.env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "One key, no Enter" not in out  # lines, not keys
    assert out.count(HINT) == 2  # the empty line and the x
    assert "Applied 1 file(s)" in out
    arts = artifacts_by_path(draft(live, draft_id))
    assert {p: (a["disposition"], a["reason"], a["comment"]) for p, a in arts.items()} == {
        "a.txt": ("approved", None, None),
        "b.txt": ("rejected", "too risky", None),
        "c.txt": ("discuss", None, "see chat"),
    }
    assert (live.root / "a.txt").read_text() == "a\nagent\n"
    assert (live.root / "b.txt").read_text() == "b\n"
