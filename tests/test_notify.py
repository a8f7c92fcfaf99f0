"""Notifications: a webhook server on loopback receives a session's waiting_for_input and
draft_ready with a valid HMAC signature, while a dead webhook next to it changes nothing; an
attached terminal gets a bell and a title.

Real parts: the real ``ta``, a real host, the MCP test agent (tests/agents/mcp_agent.py) asking
a question and requesting a checkpoint, a tmux terminal, an HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import socket
import threading
from typing import Any

from live_helpers import Live, agent, live_fixture, wait_for

live = live_fixture

SECRET = "s3cret-for-tests"


class Hooks:
    """A webhook receiver: keeps every POST's headers and body."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        hooks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                hooks.received.append((headers, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


def dead_url() -> str:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/nobody"


def test_webhooks_signed_and_a_dead_one_harmless(live: Live) -> None:
    hooks = Hooks()
    try:
        (live.ta_dir / "config.toml").write_text(
            f'[[webhooks]]\nurl = "{dead_url()}"\nretries = 5\n\n'
            f'[[webhooks]]\nurl = "{hooks.url}"\nsecret = "{SECRET}"\n'
            'events = ["waiting_for_input", "draft_ready"]\n'
        )
        steps = [
            {"tool": "ask_human", "args": {"question": "Go on?"}},
            {"write": "new.txt", "text": "x\n"},
            {"tool": "request_checkpoint", "args": {"summary": "first step"}},
            {"hold": True},
        ]
        sid = live.start(*agent("mcp_agent.py", json.dumps(steps)), title="hooked")
        term = live.tmux(f"{live.ta_command()} session attach {sid}")
        term.wait_raw()
        question = wait_for(lambda: live.show(sid)["questions"], what="the question")[0]
        # The attached terminal: a title saying the session waits (tmux keeps the title the
        # OSC 2 sequence set; the bell is the byte before it).
        wait_for(lambda: "waiting for you" in term.pane("pane_title"),
                 what=lambda: f"the title; it is {term.pane('pane_title')!r}")  # fmt: skip
        assert term.pane("pane_title") == "ta: waiting for you — hooked"
        live.ok("session", "answer", sid, "--question", question["question_id"], "yes")
        live.wait_output(sid, "HOLDING", timeout=30)
        got = wait_for(lambda: len(hooks.received) >= 2 and hooks.events(),
                       what="two webhook deliveries")  # fmt: skip
        assert [e["event"] for e in got] == ["waiting_for_input", "draft_ready"]
        for headers, body in hooks.received:
            want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["x-ta-signature"] == want
            assert headers["content-type"] == "application/json"
        waiting, ready = got
        assert waiting["session_id"] == sid and waiting["title"] == "hooked"
        assert "Go on?" in waiting["data"]["prompt"]
        assert ready["data"]["event_type"] == "draft_ready"
        assert ready["data"]["summary"].startswith("first step")
        # The dead webhook slowed nothing: the session answered and built its draft at once,
        # and the host says in its log what it could not deliver (once it gave up).
        assert live.state(sid) == "active"
    finally:
        hooks.server.shutdown()
