"""Terminals of different sizes attached to one session (SPEC §4.2), in real tmux terminals:
the agent's window is the smallest terminal's by default, a larger terminal shows it framed and
says why, the window grows back when the small terminal leaves, and ``ta run --size latest``
follows the terminal that reported last. The frame is the terminal's own: it never reaches the
agent's output, the recording or the logs."""

from __future__ import annotations

import re

from live_helpers import (
    HEIGHT,
    WIDTH,
    Live,
    Tmux,
    agent,
    live_fixture,  # noqa: F401  (the `live` fixture)
    wait_for,
)

SMALL = (70, 20)
LABEL = "agent window 70×20 (the smallest terminal attached)"


def last_size(live: Live, sid: str) -> str | None:
    """The size the agent printed last (``ttyprobe.py`` prints it at start and on SIGWINCH)."""
    sizes = re.findall(r"SIZE (\d+x\d+)", live.output(sid))
    return sizes[-1] if sizes else None


def wait_size(live: Live, sid: str, size: str) -> None:
    wait_for(lambda: last_size(live, sid) == size,
             what=lambda: f"the agent to see {size}; it saw {last_size(live, sid)}")  # fmt: skip


def rows(term: Tmux) -> list[str]:
    """The rows on screen now (trailing blanks removed)."""
    return term.visible().split("\n")


def framed(term: Tmux, cols: int, height: int) -> bool:
    """A border in column cols+1 of the first ``height`` rows and the label under them."""
    screen = rows(term)
    border = all(len(line) > cols and line[cols] == "│" for line in screen[:height])
    return border and screen[height].startswith("── agent window")


def unframed(term: Tmux) -> bool:
    return not any("│" in line or "agent window" in line for line in rows(term))


def attach(live: Live, term: Tmux, sid: str) -> None:
    term.run(f"ta session attach {sid}")
    term.wait_raw()
    wait_for(lambda: any(c["channel_id"] == f"cli:{term.pane_tty().removeprefix('/dev/')}"
                         for c in live.json("session", "status", sid, "--json")["channels"]),
             what="the terminal among the session's channels")  # fmt: skip


def test_the_smallest_terminal_sets_the_window_and_a_larger_one_shows_it_framed(
    live: Live,
) -> None:
    sid = live.start(*agent("ttyprobe.py"))
    live.wait_output(sid, "TTYPROBE ready")
    big, small = live.tmux(), live.tmux()
    small.resize(*SMALL)
    attach(live, big, sid)
    wait_size(live, sid, f"{WIDTH}x{HEIGHT}")
    assert unframed(big)  # the only terminal: the window is its size

    attach(live, small, sid)
    wait_size(live, sid, "70x20")
    wait_for(lambda: framed(big, *SMALL), what=lambda: "the frame:\n" + big.visible())
    bottom = rows(big)[20]
    assert LABEL in bottom and "ta run --size latest to change" in bottom
    big.wait_text("the agent's window is 70×20 (the smallest terminal attached), framed here")
    assert unframed(small)  # the window is its size: nothing to frame
    status = live.json("session", "status", sid, "--json")
    assert status["window"] == {"cols": 70, "rows": 20, "policy": "smallest", "terminals": 2}

    # Typing in the larger terminal works as ever; the frame comes back after the output.
    big.type("k", enter=False)
    big.wait_text("KEY 6b")
    wait_for(lambda: framed(big, *SMALL), what="the frame after the agent's output")

    small.detach_key()
    small.wait_text("[detached from session")
    wait_size(live, sid, f"{WIDTH}x{HEIGHT}")  # the window grows back
    wait_for(lambda: unframed(big), what=lambda: "no frame:\n" + big.visible())

    resizes = [e[2] for e in live.cast(sid)[1] if e[1] == "r"]
    assert resizes[-2:] == ["70x20", f"{WIDTH}x{HEIGHT}"]
    big.type("q", enter=False)
    live.wait_state(sid, "completed")
    # The frame was this terminal's own: never in the agent's output, the recording or logs.
    recording, logs = live.cast_path(sid).read_text(), live.ok("session", "logs", sid)
    for text in (live.output(sid), recording, logs):
        assert "agent window" not in text and "│" not in text and "\\u2502" not in text


def test_size_latest_follows_the_terminal_that_reported_last(live: Live) -> None:
    out = live.ok("run", "latest", "--detach", "--size", "latest", "--", *agent("ttyprobe.py"))
    sid = out.strip()
    live.wait_output(sid, "TTYPROBE ready")
    big, small = live.tmux(), live.tmux()
    small.resize(*SMALL)
    attach(live, big, sid)
    wait_size(live, sid, f"{WIDTH}x{HEIGHT}")
    attach(live, small, sid)
    wait_size(live, sid, "70x20")  # the latest to attach
    wait_for(lambda: framed(big, *SMALL), what=lambda: "the frame:\n" + big.visible())
    assert "agent window 70×20 (the latest terminal size)" in rows(big)[20]

    big.resize(110, 32)
    wait_size(live, sid, "110x32")  # the latest to resize
    wait_for(lambda: unframed(big), what=lambda: "no frame:\n" + big.visible())
    small.wait_text("this terminal is smaller than the agent's window")  # it sees a part

    small.detach_key()
    small.wait_text("[detached from session")
    wait_for(lambda: live.json("session", "status", sid, "--json")["window"]["terminals"] == 1,
             what="the small terminal to be gone")  # fmt: skip
    assert last_size(live, sid) == "110x32"  # the one left was the latest already
    big.type("q", enter=False)
    live.wait_state(sid, "completed")


def test_the_agent_config_can_choose_latest(live: Live) -> None:
    python, script = agent("ttyprobe.py")
    config = f"command: {python}\nargs_template: [{script!r}]\nwindow_size: latest\n"
    live.write_agent("probe", config + "interactive: {output_capture: pty}\n")
    sid = live.start(agent="probe")
    live.wait_output(sid, "TTYPROBE ready")
    big, small = live.tmux(), live.tmux()
    small.resize(*SMALL)
    attach(live, small, sid)
    attach(live, big, sid)
    wait_size(live, sid, f"{WIDTH}x{HEIGHT}")  # latest: the big one, though the small is there
    window = live.json("session", "status", sid, "--json")["window"]
    assert window["policy"] == "latest" and window["terminals"] == 2
