"""The page of ``ta serve`` in a real headless Chromium (Debian's, driven by Playwright), with a
real server, real session hosts and real agent programs (including vim, full screen)."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from draft_helpers import editor
from live_helpers import PYTHON, Live, agent, wait_for
from test_live_protocol import agent_yaml
from web_helpers import (
    Web,
    browser_fixture,
    live_fixture,
    page_fixture,
    terminal_text,
    wait_terminal,
    web_fixture,
)

__all__ = ["browser_fixture", "live_fixture", "page_fixture", "web_fixture"]


def row(page: Any, sid: str) -> Any:
    return page.locator(f"#sessions tr[data-session-id='{sid}']")


def open_session(page: Any, sid: str) -> None:
    page.goto(f"{page.url.split('#')[0]}#/session/{sid}")
    page.wait_for_selector(f"[data-testid=s-meta]:has-text('{sid[:8]}')")


def state_is(page: Any, state: str) -> None:
    page.wait_for_selector(f"[data-testid=s-state]:text-is('{state}')")


def test_the_list_follows_sessions_starting_and_ending(page: Any, live: Live) -> None:
    assert page.locator("#sessions tbody tr").count() == 0
    sid = live.start(*agent("echo.py"), title="Watch <i>me</i>")
    page.wait_for_selector(f"#sessions tr[data-session-id='{sid}'] >> text=live")
    cells = row(page, sid).locator("td").all_inner_texts()
    assert cells[1] == "Watch <i>me</i>" and cells[3] == "active"  # escaped: shown as text
    assert row(page, sid).locator("i").count() == 0
    live.ok("session", "abort", sid)
    row(page, sid).wait_for(state="detached")
    page.check("[data-testid=show-all]")
    page.wait_for_selector(f"#sessions tr[data-session-id='{sid}'][data-state='aborted']")


def test_output_keys_and_resizes_reach_a_full_screen_agent(page: Any, live: Live,
                                                         web: Web) -> None:  # fmt: skip
    vim = shutil.which("vim") or shutil.which("vi") or shutil.which("vim.tiny")
    if vim is None:
        pytest.skip("no vim here (scripts/test.sh installs vim-tiny)")
    (live.root / "notes.txt").write_text("hello from a file\n")
    sid = live.start(vim, "-u", "NONE", "-N", "-n", "notes.txt")
    open_session(page, sid)
    wait_terminal(page, "hello from a file")
    assert page.evaluate("window.ta.term.buffer.active.type") == "alternate"
    assert "~" in terminal_text(page)  # vim's empty-line markers: a full-screen program
    page.click("[data-testid=terminal]")
    page.keyboard.type("Otyped in the page")
    page.keyboard.press("Escape")
    wait_terminal(page, "typed in the page")
    page.keyboard.type(":echo 'cols=' . &columns\n")
    cols = page.evaluate("window.ta.term.cols")
    wait_terminal(page, f"cols={cols}")
    page.set_viewport_size({"width": 800, "height": 700})
    wait_for(lambda: page.evaluate("window.ta.term.cols") < cols, what="the terminal to shrink")
    narrower = page.evaluate("window.ta.term.cols")
    page.keyboard.type(":echo 'cols=' . &columns\n")
    wait_terminal(page, f"cols={narrower}")  # the agent's window followed the page
    page.keyboard.type(":wq\n")
    live.wait_state(sid, "completed")
    assert (
        "typed in the page"
        in (live.ta_dir / "staging")
        .joinpath(
            json.loads((live.ta_dir / "interactive_sessions" / f"{sid}.json").read_text())[
                "goal_id"
            ],
            "notes.txt",
        )
        .read_text()
    )
    page.wait_for_selector("[data-testid=term-status]:has-text('ended')")


def test_colours_and_long_output(page: Any, live: Live) -> None:
    sid = live.start(*agent("counter.py", "0.001"))
    open_session(page, sid)
    wait_terminal(page, "tick 3000", timeout=30)
    script = "import time; print('\\x1b[31mRED-TEXT\\x1b[0m plain', flush=True); time.sleep(60)"
    colours = live.start(PYTHON, "-c", script)
    open_session(page, colours)
    wait_terminal(page, "RED-TEXT plain")
    # The red text's first cell carries a foreground colour (xterm.js's palette index 1).
    colour = page.evaluate(
        """() => { const b = window.ta.term.buffer.active;
        for (let i = 0; i < b.length; i++) { const line = b.getLine(i);
          if (line.translateToString(true).startsWith('RED-TEXT'))
            return [line.getCell(0).getFgColor(), line.getCell(9).getFgColor()]; }
        return null; }"""
    )
    assert colour == [1, -1]  # red, then the default colour


def test_guidance_from_the_page_reaches_the_agent_and_the_log(page: Any, live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    open_session(page, sid)
    wait_terminal(page, "ECHO-AGENT")
    page.fill("[data-testid=guidance]", "use <b>tabs</b> please")
    page.click("[data-testid=guidance-send]")
    wait_terminal(page, "got: use <b>tabs</b> please")
    entry = page.locator("[data-testid=log] li[data-sender=human]").last
    entry.wait_for()
    assert "use <b>tabs</b> please" in entry.inner_text()
    assert page.locator("[data-testid=log] b").count() == 0
    injected = [e for e in live.audit(sid) if e["action"] == "input_injected"]
    assert injected[-1]["channel_id"].startswith("web:")
    assert injected[-1]["details"]["text"] == "use <b>tabs</b> please"
    assert injected[-1]["channel_id"] != "web:api"  # the browser's own client id


def test_keys_typed_in_the_page_reach_the_agent(page: Any, live: Live) -> None:
    sid = live.start(*agent("ttyprobe.py"))
    open_session(page, sid)
    wait_terminal(page, "TTYPROBE ready")
    page.click("[data-testid=terminal]")
    page.keyboard.type("xy")
    wait_terminal(page, "KEY 79")
    assert "KEY 78" in terminal_text(page)


def test_the_page_shows_the_agents_window_when_a_smaller_terminal_is_attached(
    page: Any, live: Live
) -> None:
    sid = live.start(*agent("ttyprobe.py"))
    open_session(page, sid)
    wait_terminal(page, "TTYPROBE ready")
    room = page.evaluate("window.ta.term.cols")
    assert room > 60
    small = live.connect(sid, role="attach", channel_id="test:small", size=(60, 15))
    wait_for(lambda: page.evaluate("[window.ta.term.cols, window.ta.term.rows]") == [60, 15],
             what="the page's terminal at the agent's window")  # fmt: skip
    page.wait_for_selector("[data-testid=term-window]:has-text('agent window 60×15 "
                           "(the smallest terminal attached)')")  # fmt: skip
    wait_terminal(page, "SIZE 60x15")
    small.close()
    wait_for(lambda: page.evaluate("window.ta.term.cols") == room,
             what="the page's terminal back at its own size")  # fmt: skip
    page.wait_for_selector("[data-testid=term-window]:text-is('')", state="attached")


def test_a_question_is_answered_from_the_page(page: Any, live: Live) -> None:
    live.write_agent(
        "asker", agent_yaml("asker", "prompter.py", idle_after=0.3, prompt_patterns=[r"\[y/n\]"])
    )
    sid = live.start(agent="asker")
    open_session(page, sid)
    wait_terminal(page, "PROMPTER working")
    live.ok("session", "send", sid, "ask")
    question = page.locator("[data-testid=question]")
    question.wait_for()
    assert "Proceed? [y/n]" in question.inner_text()
    page.fill("[data-testid=answer-text]", "yes")
    page.click("[data-testid=answer-send]")
    # The agent prints the answer and exits at once; the page then shows the ended session
    # without its terminal, so the answer is checked in the recording.
    live.wait_output(sid, "answer: yes")
    answered = [e for e in live.audit(sid) if e["action"] == "question_answered"]
    assert answered[-1]["channel_id"].startswith("web:")


def test_pause_resume_and_abort_from_the_page(page: Any, live: Live) -> None:
    sid = live.start(*agent("counter.py", "0.2"))
    open_session(page, sid)
    wait_terminal(page, "tick 1")
    page.click("[data-testid=a-pause]")
    state_is(page, "paused")
    assert live.state(sid) == "paused"
    page.click("[data-testid=a-resume]")
    state_is(page, "active")
    page.fill("[data-testid=a-reason]", "seen enough")
    page.click("[data-testid=a-abort]")
    state_is(page, "aborted")
    live.wait_state(sid, "aborted")
    contents = [m["content"] for m in live.messages(sid)]
    assert any(c.endswith(": seen enough") and "web:" in c for c in contents), contents


def test_a_session_is_started_from_the_page(page: Any, live: Live) -> None:
    page.click("[data-testid=new-session-link]")
    page.fill("[data-testid=new-title]", "Started in the browser")
    page.fill("[data-testid=new-command]", " ".join(agent("echo.py", "from-page")))
    page.click("[data-testid=new-start]")
    page.wait_for_selector("[data-testid=s-title]:text-is('Started in the browser')")
    wait_terminal(page, "args=['from-page']")
    sid = live.only_session()
    assert json.loads((live.ta_dir / "interactive_sessions" / f"{sid}.json").read_text())[
        "channel_id"
    ].startswith("web:")
    page.click("[data-testid=new-session-link]")
    page.fill("[data-testid=new-title]", "no such agent")
    page.select_option("[data-testid=new-agent]", "claude-code")
    page.evaluate(
        "document.querySelector('[data-testid=new-agent]').add(new Option('nope', 'nope'))"
    )
    page.select_option("[data-testid=new-agent]", "nope")
    page.click("[data-testid=new-start]")
    page.wait_for_selector("[data-testid=new-error]:has-text('nope')")
    assert live.session_ids() == {sid}


def test_a_draft_is_reviewed_file_by_file_and_applied(page: Any, live: Live) -> None:
    (live.root / "keep.txt").write_text("old\n")
    (live.root / "drop.txt").write_text("old\n")
    odd = "<img src=x onerror=alert(1)>.txt"
    ops = [("write", "keep.txt", "new <script>alert(1)</script>\n"),
           ("write", "drop.txt", "bad\n"), ("write", odd, "odd\n")]  # fmt: skip
    sid = live.start(*editor(ops))
    live.wait_state(sid, "completed")
    open_session(page, sid)
    draft = page.locator("[data-testid=draft]")
    draft.wait_for()
    assert draft.locator("[data-testid=artifact]").count() == 3
    assert draft.locator("img").count() == 0 and draft.locator("script").count() == 0
    keep = draft.locator("[data-testid=artifact][data-path='keep.txt']")
    assert "+new <script>alert(1)</script>" in keep.locator("[data-testid=diff]").inner_text()
    keep.locator("[data-testid=approve]").click()
    keep.locator("[data-testid=artifact-disposition]:text-is('approved')").wait_for()
    drop = draft.locator("[data-testid=artifact][data-path='drop.txt']")
    drop.locator("[data-testid=artifact-text]").fill("not this one")
    drop.locator("[data-testid=reject]").click()
    drop.locator("[data-testid=artifact-disposition]:has-text('not this one')").wait_for()
    strange = draft.locator("[data-testid=artifact]").filter(has_text="onerror")
    strange.locator("[data-testid=artifact-text]").fill("why this name?")
    strange.locator("[data-testid=discuss]").click()
    strange.locator("[data-testid=artifact-disposition]:has-text('discuss')").wait_for()
    strange.locator("[data-testid=reject]").click()
    page.wait_for_selector("[data-testid=draft][data-status=approved]")
    page.click("[data-testid=apply]")
    page.wait_for_selector("[data-testid=draft][data-status=applied]")
    assert (live.root / "keep.txt").read_text() == "new <script>alert(1)</script>\n"
    assert (live.root / "drop.txt").read_text() == "old\n"
    assert not (live.root / odd).exists()
    decided = [e for e in live.audit(sid) if e["action"] in ("artifact_decided", "draft_applied")]
    assert decided and all(e["channel_id"].startswith("web:") for e in decided)


def test_no_token_gets_401_and_a_cross_origin_websocket_is_refused(
    page: Any, web: Web, live: Live
) -> None:
    sid = live.start(*agent("echo.py"))
    # The record stops changing on its own once the host has logged the launch.
    wait_for(lambda: any(m["content"].startswith("Agent launched") for m in live.messages(sid)))
    before = (live.ta_dir / "interactive_sessions" / f"{sid}.json").read_text()
    request = page.context.request
    # The page's own context holds the cookie; a request without it is refused.
    bare = page.evaluate(
        """async (url) => { const r = await fetch(url, {method: 'POST', credentials: 'omit',
             headers: {'content-type': 'application/json'}, body: '{"reason": "x"}'});
             return [r.status, await r.text()]; }""",
        f"{web.base}api/sessions/{sid}/abort",
    )
    assert bare[0] == 401 and "token" in bare[1]
    assert request.get(f"{web.base}api/sessions").status == 200  # with the cookie: fine
    assert (live.ta_dir / "interactive_sessions" / f"{sid}.json").read_text() == before

    page.route("http://evil.test/", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<html><body>evil</body></html>"))  # fmt: skip
    page.goto("http://evil.test/")
    script = """(url) => new Promise((resolve) => { const ws = new WebSocket(url);
        ws.onopen = () => resolve('open'); ws.onerror = () => resolve('refused');
        setTimeout(() => resolve('timeout'), 10000); })"""
    ws_base = f"ws://127.0.0.1:{web.port}"
    # Even with the token in the URL, another site's page may not open the socket.
    assert page.evaluate(script, f"{ws_base}/api/events?token={web.token}") == "refused"
    assert page.evaluate(script, f"{ws_base}/api/sessions/{sid}/terminal?token={web.token}") == (
        "refused"
    )
    page.goto(web.base)
    page.wait_for_selector("[data-testid=connection]:has-text('live')")
    assert page.evaluate(script, f"{ws_base}/api/events") == "open"  # the page's own origin


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")
def test_an_mcp_question_is_answered_from_the_page(page: Any, live: Live) -> None:
    """The agent asks through ``ta mcp serve`` (the MCP SDK's stdio client, sandboxed); the
    page lists the question and its answer reaches the agent's tool call."""
    live.env["TA_SANDBOX"] = "on"
    steps = [
        {
            "tool": "ask_human",
            "args": {"question": "Deploy to staging?", "response_hint": "yes_no"},
        },
        {"hold": True},
    ]
    sid = live.start(*agent("mcp_agent.py", json.dumps(steps)), title="mcp")
    open_session(page, sid)
    question = page.locator("[data-testid=question]")
    question.wait_for()
    assert "Deploy to staging? [yes/no]" in question.inner_text()
    page.fill("[data-testid=answer-text]", "y")
    # The page refreshes whenever the session's activity changes: what is being typed stays.
    page.evaluate("refreshSession()")
    assert page.input_value("[data-testid=answer-text]") == "y"
    page.click("[data-testid=answer-send]")
    live.wait_output(sid, 'RESULT 0 {"text": "yes"')
    answered = [e for e in live.audit(sid) if e["action"] == "question_answered"]
    assert answered[-1]["channel_id"].startswith("web:")


LATE_QUERIER = """
import os, sys, termios, tty
sys.stdin.readline()  # wait for "go": the queries come while a viewer watches
tty.setraw(0)
os.write(1, b"\\x1b[6n\\x1b[cASKED\\r\\n")
while True:
    data = os.read(0, 1024)
    if not data:
        break
    with open(sys.argv[1], "ab") as handle:
        handle.write(data)
"""


def test_a_late_viewer_never_answers_old_terminal_queries_into_the_agent(
    page: Any, live: Live, tmp_path: Any
) -> None:
    """Terminal queries (cursor position, DA) are answered by the viewer watching when they are
    asked, as a terminal would; a viewer joining later is drawn without them, so its emulator
    does not answer them again into the agent."""
    received = tmp_path / "received"
    sid = live.start(PYTHON, "-c", LATE_QUERIER, str(received))
    open_session(page, sid)
    live.ok("session", "send", sid, "go")
    wait_terminal(page, "ASKED")
    first = wait_for(lambda: received.exists() and b"R" in received.read_bytes()
                     and received.read_bytes(), what="the watching viewer's answers")  # fmt: skip
    late = page.context.new_page()
    late.goto(page.url)
    late.wait_for_selector(f"[data-testid=s-meta]:has-text('{sid[:8]}')")
    wait_terminal(late, "ASKED")
    late.wait_for_timeout(1500)  # time for an emulator's answers to travel, were there any
    assert received.read_bytes() == first
    late.close()
