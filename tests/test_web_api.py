"""The HTTP and WebSocket API of ``ta serve``, against a real server process, real session
hosts and real agents: every endpoint, malformed bodies, unknown ids, wrong states, the token,
Host and Origin checks, and the OpenAPI document."""

from __future__ import annotations

import itertools
import json
import re
import stat
import subprocess
import sys
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from draft_helpers import editor
from live_helpers import PYTHON, Live, agent, wait_for
from test_live_protocol import agent_yaml
from web_helpers import Web, live_fixture, web_fixture

__all__ = ["live_fixture", "web_fixture"]

UNKNOWN = "0badc0de-0000-4000-8000-000000000000"


def ws_url(web: Web, path: str) -> str:
    return f"ws://127.0.0.1:{web.port}{path}"


def terminal(web: Web, sid: str, origin: str | None = None, **headers: str) -> Any:
    hdrs = {"Authorization": f"Bearer {web.token}", "X-TA-Client": "tests", **headers}
    if origin:
        hdrs["Origin"] = origin
    return ws_connect(ws_url(web, f"/api/sessions/{sid}/terminal?cols=100&rows=30"),
                      additional_headers=hdrs, open_timeout=20)  # fmt: skip


def read_until(ws: Any, text: bytes, limit: float = 15.0) -> tuple[bytes, list[dict[str, Any]]]:
    """Binary output until it contains ``text``; the JSON messages seen on the way."""
    out, controls = b"", []
    import time

    deadline = time.monotonic() + limit
    while text not in out:
        message = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(message, bytes):
            out += message
        else:
            controls.append(json.loads(message))
    return out, controls


def launched(live: Live, sid: str) -> None:
    """Wait until the host has logged the launch: the record stops changing on its own."""
    wait_for(lambda: any(m["content"].startswith("Agent launched") for m in live.messages(sid)),
             what="the host to log the agent's launch")  # fmt: skip


def session_json(live: Live, sid: str) -> dict[str, Any]:
    return json.loads((live.ta_dir / "interactive_sessions" / f"{sid}.json").read_text())


# -------------------------------------------------------------------------------- the document


def test_openapi_document_validates_and_lists_every_route(web: Web) -> None:
    from openapi_spec_validator import validate

    from ta_session.web.app import Web as App

    document = web.ok("GET", "/openapi.json")
    validate(document)
    documented = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    app = App(web.live.root, "test")
    served = set()
    for route in app.routes():
        path = getattr(route, "path", "")
        if not path.startswith("/api/"):
            continue
        for method in getattr(route, "methods", None) or {"GET"}:  # WebSockets: a GET upgrade
            if method != "HEAD":
                served.add((method, path))
    assert served == documented
    docs = web.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


# -------------------------------------------------------------------------------- security


def test_requests_without_the_token_get_401_and_change_nothing(web: Web, live: Live) -> None:
    sid = web.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT")
    launched(live, sid)
    before = session_json(live, sid)
    anonymous = httpx.Client(base_url=web.base, timeout=30)
    wrong = httpx.Client(base_url=web.base, timeout=30, headers={"authorization": "Bearer nope"})
    for client in (anonymous, wrong):
        for method, path, body in [
            ("GET", "/", None), ("GET", "/api/sessions", None), ("GET", "/openapi.json", None),
            ("GET", "/static/app.js", None), ("GET", f"/api/sessions/{sid}", None),
            ("POST", "/api/sessions", {"title": "x", "command": ["true"]}),
            ("POST", f"/api/sessions/{sid}/send", {"text": "hello"}),
            ("POST", f"/api/sessions/{sid}/abort", {}),
        ]:  # fmt: skip
            response = client.request(method, path, json=body)
            assert response.status_code == 401, (method, path, response.text)
            assert "token" in response.json()["error"]
    assert session_json(live, sid) == before
    assert len(live.session_ids()) == 1
    with pytest.raises(InvalidStatus):
        ws_connect(ws_url(web, f"/api/sessions/{sid}/terminal"), open_timeout=20)
    with pytest.raises(InvalidStatus):
        ws_connect(ws_url(web, "/api/events"), open_timeout=20)


def test_foreign_origins_and_hosts_are_refused(web: Web, live: Live) -> None:
    sid = web.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT")
    launched(live, sid)
    before = session_json(live, sid)
    response = web.post(f"/api/sessions/{sid}/abort", {}, headers={"origin": "http://evil.test"})
    assert response.status_code == 403 and "evil.test" in response.json()["error"]
    # A page on another port of this machine is another origin too.
    response = web.post(f"/api/sessions/{sid}/pause", {},
                        headers={"origin": f"http://127.0.0.1:{web.port + 1}"})  # fmt: skip
    assert response.status_code == 403
    # DNS rebinding: a foreign name that resolves here is not a name this server answers to.
    response = web.get("/api/sessions", headers={"host": f"evil.test:{web.port}"})
    assert response.status_code == 403
    assert session_json(live, sid) == before
    with pytest.raises(InvalidStatus):
        terminal(web, sid, origin="http://evil.test")
    with terminal(web, sid, origin=f"http://127.0.0.1:{web.port}") as ws:  # the page's own
        assert json.loads(ws.recv(timeout=20))["type"] == "welcome"


def test_the_first_visit_keeps_the_token_in_a_cookie(web: Web, live: Live) -> None:
    browser = httpx.Client(base_url=web.base, timeout=30)
    first = browser.get(f"/?token={web.token}", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"
    cookies = first.headers.get_list("set-cookie")
    token_cookie = next(c for c in cookies if c.startswith("ta_token="))
    assert "HttpOnly" in token_cookie and "SameSite=Strict" in token_cookie
    assert browser.get("/").status_code == 200
    assert "Content-Security-Policy" in browser.get("/").headers or browser.get("/").headers.get(
        "content-security-policy"
    )
    assert browser.get("/api/sessions").json() == []
    # A state-changing request with the cookie but no Origin is not the page: refused.
    body = {"title": "x", "command": agent("echo.py")}
    assert browser.post("/api/sessions", json=body).status_code == 403
    assert live.session_ids() == set()
    origin = {"origin": f"http://127.0.0.1:{web.port}"}
    created = browser.post("/api/sessions", json=body, headers=origin)
    assert created.status_code == 201, created.text
    sid = created.json()["session_id"]
    client = next(c for c in cookies if c.startswith("ta_client=")).split(";")[0].split("=")[1]
    assert session_json(live, sid)["channel_id"] == f"web:{client}"


def test_the_token_file_is_private_reused_and_rotated(live: Live) -> None:
    first = Web(live)
    first.stop()
    path = live.ta_dir / "web-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first.token
    again = Web(live)
    again.stop()
    assert again.token == first.token
    rotated = subprocess.Popen(
        [PYTHON, "-m", "ta_session", "serve", "--port", "0", "--rotate-token"], cwd=live.root,
        env=live.env, stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert rotated.stdout is not None
    line = rotated.stdout.readline()
    rotated.terminate()
    rotated.wait(10)
    rotated.stdout.close()
    assert first.token not in line and path.read_text().strip() in line
    path.chmod(0o644)
    result = live.ta("serve", "--port", "0")
    assert result.returncode == 1 and "can be read by others" in result.stderr
    own = live.root / "my-token"
    result = live.ta("serve", "--port", "0", "--token-file", str(own), "--host", "10.1.2.3")
    assert result.returncode == 1
    assert "refusing to serve on 10.1.2.3" in result.stderr and "--i-know-this-is-exposed" in (
        result.stderr
    )
    assert not own.exists()  # refused before anything was written


def test_ta_session_list_does_not_load_the_web_stack(live: Live) -> None:
    code = ("import sys, ta_session.cli.main as m; m.main(['session', 'list']);"
            "print(sorted(n for n in sys.modules if n.split('.')[0] in "
            "('starlette', 'uvicorn', 'websockets', 'ta_session')"
            " and (n.startswith('ta_session.web') or not n.startswith('ta_'))))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=live.root, env=live.env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# -------------------------------------------------------------------------------- sessions


def test_sessions_list_show_guidance_pause_resume_abort(web: Web, live: Live) -> None:
    sid = web.start(*agent("echo.py"), title="Echo <b>things</b>")
    live.wait_output(sid, "ECHO-AGENT")
    launched(live, sid)
    (row,) = web.ok("GET", "/api/sessions")
    assert row["session_id"] == sid and row["title"] == "Echo <b>things</b>"
    assert row["host"]["status"] == "live" and row["state"] == "active"
    assert web.ok("GET", f"/api/sessions/{sid[:8]}")["session_id"] == sid  # a prefix works
    status = web.ok("GET", f"/api/sessions/{sid}/status")
    assert status["state"] == "active" and status["host"]["status"] == "live"

    result = web.ok("POST", f"/api/sessions/{sid}/send", {"text": "hello from the web"})
    assert result["summary"] == f"Sent to session {sid[:8]}."
    live.wait_output(sid, "got: hello from the web")
    shown = web.ok("GET", f"/api/sessions/{sid}")
    assert {"sender": "human", "content": "hello from the web"}.items() <= shown["messages"][
        -1
    ].items()
    audit = [
        e for e in web.ok("GET", f"/api/audit?session={sid}") if e["action"] == "input_injected"
    ]
    assert audit[-1]["channel_id"] == "web:tests"
    assert web.ok("GET", "/api/audit/verify")["ok"] is True

    assert web.ok("POST", f"/api/sessions/{sid}/pause")["session"]["state"] == "paused"
    for path, body in [("send", {"text": "x"}), ("pause", {}), ("answer", {"text": "y"})]:
        response = web.post(f"/api/sessions/{sid}/{path}", body)
        assert response.status_code == 409, (path, response.text)
        assert "paused" in response.json()["error"]
    assert web.ok("POST", f"/api/sessions/{sid}/resume")["session"]["state"] == "active"
    aborted = web.ok("POST", f"/api/sessions/{sid}/abort", {"reason": "enough"})
    assert aborted["session"]["state"] == "aborted"
    contents = [m["content"] for m in session_json(live, sid)["messages"]]
    assert "Session aborted by web:tests: enough" in contents
    before = session_json(live, sid)
    for path in ("pause", "resume", "abort"):
        response = web.post(f"/api/sessions/{sid}/{path}", {})
        assert response.status_code == 409, (path, response.text)
        assert "aborted" in response.json()["error"]
    closed = web.ok("POST", f"/api/sessions/{sid}/close", {})
    assert "nothing to close" in closed["summary"]
    assert session_json(live, sid) == before
    assert web.ok("GET", "/api/sessions") == []
    assert [s["session_id"] for s in web.ok("GET", "/api/sessions?all=true")] == [sid]


def test_malformed_bodies_and_unknown_ids_change_nothing(web: Web, live: Live) -> None:
    sid = web.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT")
    launched(live, sid)
    before = session_json(live, sid)
    send = f"/api/sessions/{sid}/send"
    cases: list[tuple[str, dict[str, Any], str]] = [
        (send, {"content": b"{not json"}, "not valid JSON"),
        (send, {"content": b"[1, 2]"}, "must be a JSON object"),
        (send, {"content": b'"text"'}, "must be a JSON object"),
        (send, {"json": {}}, "'text' is required"),
        (send, {"json": {"text": 5}}, "'text' must be a string"),
        (send, {"json": {"text": "x", "extra": 1}}, "unknown field(s): extra"),
        (send, {"json": {"text": "   "}}, "nothing to send"),
        (send, {"content": b"\xff\xfe"}, "not valid JSON"),
        (f"/api/sessions/{sid}/answer", {"json": {"text": ""}}, "nothing to answer"),
        (f"/api/sessions/{sid}/abort", {"json": {"reason": ["a"]}}, "must be a string"),
        (f"/api/sessions/{sid}/close", {"json": {"build_draft": "no"}}, "must be a boolean"),
        ("/api/sessions", {"json": {"title": ""}}, "title is required"),
        ("/api/sessions", {"json": {"command": ["x"]}}, "'title' is required"),
        ("/api/sessions", {"json": {"title": "t", "command": []}}, "command is empty"),
        ("/api/sessions", {"json": {"title": "t", "command": [1]}}, "list of strings"),
        ("/api/sessions", {"json": {"title": "t", "agent": "generic", "command": ["x"]}},
         "not both"),
        ("/api/sessions", {"json": {"title": "t", "cols": 0, "command": ["x"]}},
         "between 1 and 1000"),
        ("/api/sessions", {"json": {"title": "t", "cols": True, "command": ["x"]}},
         "must be a integer"),
    ]  # fmt: skip
    for path, kwargs, expected in cases:
        response = web.post(path, **kwargs)
        assert response.status_code == 400, (path, kwargs, response.text)
        assert expected in response.json()["error"], (path, kwargs, response.text)
    assert web.get("/api/sessions?all=maybe").status_code == 400
    assert web.get("/api/audit?limit=x").status_code == 400
    too_big = web.post(send, content=b'{"text": "' + b"x" * (1 << 20) + b'"}')
    assert too_big.status_code == 400
    unknown = web.post("/api/sessions", {"title": "t", "agent": "no-such-agent"})
    assert unknown.status_code == 409 and "no-such-agent" in unknown.json()["error"]

    for method, path in [
        ("GET", f"/api/sessions/{UNKNOWN}"), ("GET", f"/api/sessions/{UNKNOWN}/status"),
        ("POST", f"/api/sessions/{UNKNOWN}/pause"), ("POST", f"/api/sessions/{UNKNOWN}/abort"),
        ("GET", f"/api/drafts/{UNKNOWN}"), ("POST", f"/api/drafts/{UNKNOWN}/apply"),
        ("GET", f"/api/drafts?session={UNKNOWN}"), ("GET", "/api/sessions/zzz"),
    ]:  # fmt: skip
        response = web.http.request(method, path, json={} if method == "POST" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]
    decide = web.post(f"/api/drafts/{UNKNOWN}/decide", {"disposition": "approved"})
    assert decide.status_code == 404
    assert session_json(live, sid) == before
    assert live.session_ids() == {sid}


def test_a_question_is_answered_through_the_api(web: Web, live: Live) -> None:
    live.write_agent(
        "asker", agent_yaml("asker", "prompter.py", idle_after=0.3, prompt_patterns=[r"\[y/n\]"])
    )
    sid = web.ok("POST", "/api/sessions", {"title": "ask", "agent": "asker"})["session_id"]
    live.wait_output(sid, "PROMPTER working")
    assert web.ok("GET", f"/api/sessions/{sid}")["questions"] == []
    web.ok("POST", f"/api/sessions/{sid}/send", {"text": "ask"})
    shown = wait_for(lambda: (s := web.ok("GET", f"/api/sessions/{sid}"))["questions"] and s,
                     what="the question in the session's detail")  # fmt: skip
    assert shown["activity"] == "waiting"
    assert shown["questions"] == [{"question_id": None, "prompt": "Proceed? [y/n]"}]
    web.ok("POST", f"/api/sessions/{sid}/answer", {"text": "yes"})
    live.wait_output(sid, "answer: yes")
    wait_for(lambda: web.ok("GET", f"/api/sessions/{sid}")["questions"] == [],
             what="the question to be gone")  # fmt: skip


def test_drafts_are_reviewed_file_by_file_and_applied(web: Web, live: Live) -> None:
    (live.root / "keep.txt").write_text("old\n")
    (live.root / "drop.txt").write_text("old\n")
    ops = [("write", "keep.txt", "new <script>alert(1)</script>\n"),
           ("write", "drop.txt", "bad\n"), ("write", "added.txt", "added\n")]  # fmt: skip
    sid = web.start(*editor(ops))
    live.wait_state(sid, "completed")
    (brief,) = web.ok("GET", f"/api/drafts?session={sid}")
    assert "diff" not in brief["artifacts"][0]
    did = brief["draft_id"]
    draft = web.ok("GET", f"/api/drafts/{did[:8]}")
    paths = {a["path"]: a for a in draft["artifacts"]}
    assert set(paths) == {"keep.txt", "drop.txt", "added.txt"}
    assert "+new <script>alert(1)</script>" in paths["keep.txt"]["diff"]
    assert web.ok("GET", "/api/drafts")[0]["draft_id"] == did

    bad = web.post(f"/api/drafts/{did}/decide", {"disposition": "maybe"})
    assert bad.status_code == 400 and "must be one of" in bad.json()["error"]
    missing = web.post(f"/api/drafts/{did}/decide",
                       {"disposition": "approved", "artifacts": ["nope.txt"]})  # fmt: skip
    assert missing.status_code == 409 and "no artifact 'nope.txt'" in missing.json()["error"]
    talk = web.post(f"/api/drafts/{did}/decide", {"disposition": "discuss", "artifacts": ["x"]})
    assert talk.status_code == 400 and "needs a comment" in talk.json()["error"]
    assert all(
        a["disposition"] == "pending" for a in web.ok("GET", f"/api/drafts/{did}")["artifacts"]
    )
    early = web.post(f"/api/drafts/{did}/apply", {})
    assert early.status_code == 409, early.text

    web.ok(
        "POST",
        f"/api/drafts/{did}/decide",
        {"disposition": "approved", "artifacts": ["fs://workspace/keep.txt", "added.txt"]},
    )
    decided = web.ok(
        "POST",
        f"/api/drafts/{did}/decide",
        {"disposition": "rejected", "artifacts": ["drop.txt"], "text": "no thanks"},
    )
    rejected = next(a for a in decided["draft"]["artifacts"] if a["path"] == "drop.txt")
    assert rejected["reason"] == "no thanks" and rejected["decided_channel"] == "web:tests"
    assert decided["draft"]["status"] == "approved"
    applied = web.ok("POST", f"/api/drafts/{did}/apply", {})
    assert sorted(applied["paths"]) == ["added.txt", "keep.txt"]
    assert (live.root / "keep.txt").read_text() == "new <script>alert(1)</script>\n"
    assert (live.root / "drop.txt").read_text() == "old\n"
    again = web.post(f"/api/drafts/{did}/apply", {})
    assert again.status_code == 409 and "applied" in again.json()["error"]
    built = web.ok("POST", "/api/drafts", {})
    assert built["summary"].startswith(("No changes", "Draft"))
    agents = web.ok("GET", "/api/agents")
    assert "generic" in {a["name"] for a in agents}


# -------------------------------------------------------------------------------- WebSockets


def test_terminal_websocket_relays_output_keys_and_refuses_bad_messages(
    web: Web, live: Live
) -> None:
    sid = web.start(*agent("ttyprobe.py"))
    live.wait_output(sid, "TTYPROBE ready")
    with terminal(web, sid) as first, terminal(web, sid) as second:
        welcome = json.loads(first.recv(timeout=20))
        assert welcome["type"] == "welcome" and welcome["allow_human_input"] is True
        read_until(first, b"TTYPROBE ready")  # the host's redraw of the screen
        first.send(b"a")
        read_until(first, b"KEY 61")
        read_until(second, b"KEY 61")
        first.send(json.dumps({"type": "input", "data": "b"}))
        read_until(first, b"KEY 62")
        first.send(json.dumps({"type": "resize", "cols": 91, "rows": 27}))
        read_until(first, b"SIZE 91x27")
        first.send("this is not json")
        _, controls = read_until_closed(first)
        assert any(c.get("type") == "error" and "JSON object" in c["message"] for c in controls)
        second.send(b"c")  # the other viewer carries on
        read_until(second, b"KEY 63")
    attached = [e for e in web.ok("GET", f"/api/audit?session={sid}")
                if e["action"] == "channel_attached"]  # fmt: skip
    assert attached and attached[-1]["channel_id"] == "web:tests"
    with terminal(web, UNKNOWN) as ws:
        message = json.loads(ws.recv(timeout=20))
        assert message["type"] == "error" and "no session" in message["message"].lower()


def test_viewers_count_like_terminals_for_the_agents_window(web: Web, live: Live) -> None:
    """A page's size counts as an attached terminal's does (the smallest wins by default); the
    shared output connection (web:viewers) gives no size and does not count."""
    import re

    def last_size() -> str:
        sizes = re.findall(r"SIZE (\d+x\d+)", live.output(sid))
        return sizes[-1] if sizes else ""

    sid = web.start(*agent("ttyprobe.py"))
    live.wait_output(sid, "TTYPROBE ready")
    live.connect(sid, role="attach", channel_id="test:term", size=(90, 25))
    wait_for(lambda: last_size() == "90x25", what="the agent at 90x25")
    with terminal(web, sid) as viewer:  # 100x30: larger, the window stays
        welcome = json.loads(viewer.recv(timeout=20))
        assert welcome["window"] == {"cols": 90, "rows": 25, "policy": "smallest",
                                     "terminals": 2}  # fmt: skip
        viewer.send(json.dumps({"type": "resize", "cols": 70, "rows": 20}))
        _, controls = read_until(viewer, b"SIZE 70x20")
        assert {"type": "window", "cols": 70, "rows": 20, "policy": "smallest",
                "terminals": 2} in controls  # fmt: skip
    wait_for(lambda: last_size() == "90x25", what="the window back at the terminal's size")


def test_viewers_share_one_host_connection_and_a_late_viewer_sees_the_screen(
    web: Web, live: Live
) -> None:
    sid = web.start(*agent("ttyprobe.py"))
    live.wait_output(sid, "TTYPROBE ready")
    with terminal(web, sid) as first, terminal(web, sid, **{"X-TA-Client": "other"}) as second:
        read_until(first, b"TTYPROBE ready")
        first.send(b"a")
        read_until(first, b"KEY 61")
        read_until(second, b"KEY 61")
        channels = web.ok("GET", f"/api/sessions/{sid}/status")["channels"]
        names = sorted(c["channel_id"] for c in channels)
        # One output connection for both viewers, and one of its own per viewer (typing).
        assert names.count("web:viewers") == 1, names
        assert "web:tests" in names and "web:other" in names, names
        with terminal(web, sid) as late:  # joins the running feed: its recent output first
            welcome = json.loads(late.recv(timeout=20))
            assert welcome["type"] == "welcome"
            read_until(late, b"KEY 61")
        second.send(b"b")  # typed by the second viewer: every viewer sees the echo
        read_until(first, b"KEY 62")
        read_until(second, b"KEY 62")
    typed = [e for e in web.ok("GET", f"/api/audit?session={sid}")
             if e["action"] == "channel_attached"]  # fmt: skip
    assert {e["channel_id"] for e in typed} >= {"web:tests", "web:other", "web:viewers"}


def read_until_closed(ws: Any) -> tuple[bytes, list[dict[str, Any]]]:
    from websockets.exceptions import ConnectionClosed

    out, controls = b"", []
    try:
        while True:
            message = ws.recv(timeout=20)
            if isinstance(message, bytes):
                out += message
            else:
                controls.append(json.loads(message))
    except ConnectionClosed:
        return out, controls


def test_events_websocket_pushes_the_list_when_it_changes(web: Web, live: Live) -> None:
    headers = {"Authorization": f"Bearer {web.token}"}
    with ws_connect(ws_url(web, "/api/events"), additional_headers=headers,
                    open_timeout=20) as ws:  # fmt: skip
        assert json.loads(ws.recv(timeout=20)) == {"type": "sessions", "sessions": []}
        sid = web.start(*agent("echo.py"))

        def next_list() -> list[dict[str, Any]]:
            return json.loads(ws.recv(timeout=20))["sessions"]

        sessions = next_list()
        while not sessions or sessions[0]["host"]["status"] != "live":
            sessions = next_list()
        assert sessions[0]["session_id"] == sid
        web.ok("POST", f"/api/sessions/{sid}/abort", {})
        while sessions[0]["state"] != "aborted":
            sessions = next_list()


def ticks_after(data: bytes, start: int = 0) -> list[int]:
    return [int(n) for n in re.findall(rb"tick (\d+)", data[start:])]


def test_a_joining_or_lagging_viewer_is_drawn_by_the_host_with_nothing_missing_or_twice(
    web: Web, live: Live
) -> None:
    """A viewer's first screen, and a lagging viewer's redraw, come from the host's screen
    model: a joining viewer sees what was drawn long ago (the header, 100 kB of output back),
    and the output continues right after the drawing (tick N, then N+1: no gap, nothing twice).
    """
    sid = web.start(*agent("header_ticker.py"))
    with terminal(web, sid) as first:
        read_until(first, b"tick 100")
        live.ok("session", "send", sid, "spread")
        live.wait_output(sid, "SPREAD DONE", timeout=60)
        with terminal(web, sid, **{"X-TA-Client": "late"}) as late:
            assert json.loads(late.recv(timeout=20))["type"] == "welcome"
            seen = receive(late, lambda out: len(ticks_after(out)) >= 50)
        assert seen.startswith(b"\x1bc")  # the drawing, after a terminal reset
        assert b"HEADER of the screen" in seen and b"SPREAD DONE" in seen
        assert_continues(seen)

        # The first viewer has read nothing since: a flood puts it far behind.
        live.ok("session", "send", sid, "flood")
        live.wait_output(sid, "FLOOD DONE", timeout=120)
        resynced: list[dict[str, Any]] = []
        after = b""
        while b"\x1bc" not in after or len(ticks_after(after, after.rindex(b"\x1bc"))) < 50:
            message = first.recv(timeout=20)
            if isinstance(message, str):
                resynced.append(json.loads(message))
            elif any(m.get("type") == "resync" for m in resynced):
                after += message
    assert any(m["dropped_bytes"] > 0 for m in resynced if m.get("type") == "resync")
    # From each drawing on (the viewer may lag again in the flood; this server may fall behind
    # the host, which then draws the screen afresh too), the output continues without a gap.
    drawings = re.split(rb"\x1bc|\x1b\[0m\x1b\[\?1049[hl]", after[after.index(b"\x1bc") :])
    for drawn in drawings[1:]:
        assert_continues(drawn)


def assert_continues(drawn: bytes) -> None:
    """The drawing shows tick N (it may catch the agent mid-write: "tick 29" over "tick 290254",
    completed by the next output), then the agent's writes follow, N+1, N+2, … (the last one
    maybe cut short)."""
    shown = ticks_after(drawn)
    written = [int(n) for n in re.findall(rb"\x1b\[5;1Htick (\d+)", drawn)][:-1]
    if not shown or not written:
        return
    assert shown[0] <= written[0] <= shown[0] + 2, (shown[0], written[:3])
    gaps = [(a, b) for a, b in itertools.pairwise(written) if b != a + 1]
    assert not gaps, gaps


def receive(ws: Any, done: Any, limit: float = 15.0) -> bytes:
    """Binary output until ``done(output so far)``."""
    import time

    out = b""
    deadline = time.monotonic() + limit
    while not done(out):
        message = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(message, bytes):
            out += message
    return out
