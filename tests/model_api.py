"""A scripted stand-in for the Anthropic Messages API on loopback, for driving the real Claude
Code CLI in tests (``ANTHROPIC_BASE_URL=http://127.0.0.1:<port>``).

The script, decided from the conversation Claude Code sends:

1. no tool result yet, and the ``ta`` MCP tool ``mcp__ta__ask_human`` offered: call it;
2. the last message holds its result (the human's answer): call ``Write`` to put the answer
   into ``answer.txt`` in the working folder (named in the system prompt);
3. the last message holds the ``Write`` result: say "DONE: <answer>" and end the turn.

Any other request (titles, summaries, …) gets a short text. Streaming requests get the API's
server-sent events; others a JSON message. Every request is kept in ``requests``.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import uuid
from typing import Any

ASK = "mcp__ta__ask_human"


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_text_of(c.get("content", c.get("text", ""))) for c in content
                       if isinstance(c, dict))  # fmt: skip
    return ""


class ModelAPI:
    def __init__(self, question: str = "Which word should I write?") -> None:
        self.question = question
        self.requests: list[dict[str, Any]] = []
        self.answers: list[str] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._json(200, {})

            def do_HEAD(self) -> None:
                self._json(200, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                api.requests.append({"path": self.path, "body": body})
                if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
                    self._json(200, {"input_tokens": 10} if "count_tokens" in self.path else {})
                    return
                blocks = api.reply(body)
                message = {
                    "id": "msg_" + uuid.uuid4().hex[:20], "type": "message", "role": "assistant",
                    "model": body.get("model", "claude"), "content": blocks,
                    "stop_reason": "tool_use" if blocks[-1]["type"] == "tool_use" else "end_turn",
                    "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 10},
                }  # fmt: skip
                if body.get("stream"):
                    self._stream(message)
                else:
                    self._json(200, message)

            def _json(self, status: int, data: Any) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, message: dict[str, Any]) -> None:
                events: list[tuple[str, dict[str, Any]]] = []
                start = {**message, "content": [], "stop_reason": None}
                events.append(("message_start", {"type": "message_start", "message": start}))
                for i, block in enumerate(message["content"]):
                    if block["type"] == "text":
                        first = {"type": "text", "text": ""}
                        delta = {"type": "text_delta", "text": block["text"]}
                    else:
                        first = {**block, "input": {}}
                        delta = {"type": "input_json_delta",
                                 "partial_json": json.dumps(block["input"])}  # fmt: skip
                    events += [
                        ("content_block_start",
                         {"type": "content_block_start", "index": i, "content_block": first}),
                        ("content_block_delta",
                         {"type": "content_block_delta", "index": i, "delta": delta}),
                        ("content_block_stop", {"type": "content_block_stop", "index": i}),
                    ]  # fmt: skip
                events.append(("message_delta", {
                    "type": "message_delta",
                    "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                    "usage": {"output_tokens": 10}}))  # fmt: skip
                events.append(("message_stop", {"type": "message_stop"}))
                payload = b"".join(
                    f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ModelAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the script -----------------------------------------------------------------------------

    def reply(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        tools = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        results = [
            c for c in (last.get("content") if isinstance(last.get("content"), list) else [])
            if isinstance(c, dict) and c.get("type") == "tool_result"
        ]  # fmt: skip
        asked = self._tool_uses(messages, ASK)
        wrote = self._tool_uses(messages, "Write")
        if results and wrote and results[-1].get("tool_use_id") == wrote[-1]["id"]:
            answer = self.answers[-1] if self.answers else "?"
            return [{"type": "text", "text": f"DONE: {answer}"}]
        if results and asked and results[-1].get("tool_use_id") == asked[-1]["id"]:
            answer = _text_of(results[-1].get("content")).strip()
            self.answers.append(answer)
            folder = self._cwd(body)
            return [
                {"type": "text", "text": "Writing the answer down."},
                {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:20], "name": "Write",
                 "input": {"file_path": f"{folder}/answer.txt", "content": answer + "\n"}},
            ]  # fmt: skip
        if ASK in tools and not asked:
            return [
                {"type": "text", "text": "I need to ask the human."},
                {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:20], "name": ASK,
                 "input": {"question": self.question, "response_hint": "freeform",
                           "timeout_secs": 120}},
            ]  # fmt: skip
        return [{"type": "text", "text": "ok"}]

    @staticmethod
    def _tool_uses(messages: list[Any], name: str) -> list[dict[str, Any]]:
        return [
            c for m in messages if isinstance(m, dict) and isinstance(m.get("content"), list)
            for c in m["content"]
            if isinstance(c, dict) and c.get("type") == "tool_use" and c.get("name") == name
        ]  # fmt: skip

    @staticmethod
    def _cwd(body: dict[str, Any]) -> str:
        """The working folder Claude Code states in its system prompt or context."""
        found = re.search(r"working directory: ([^\s\\\"]+)", json.dumps(body), re.I)
        return found.group(1) if found else "."
