"""Notifications when a session starts waiting or a draft is ready (SPEC §8).

* attached terminals get a bell and a title (``ta: waiting — <goal>``), as OUTPUT bytes that
  are not recorded and never reach the agent;
* a desktop notification where ``notify-send`` exists;
* webhooks from ``.ta/config.toml``::

      [[webhooks]]
      url = "https://example.org/hook"
      events = ["waiting_for_input", "draft_ready"]   # the default
      secret = "…"                                    # optional: HMAC-SHA256 signature
      timeout = 5                                     # seconds per attempt (default 5)
      retries = 3                                     # attempts after the first (default 3)

  Each is POSTed a JSON body ``{"event", "session_id", "goal_id", "title", "timestamp",
  "data"}`` (``data``: the event as on the wire). With a secret, the header
  ``X-TA-Signature: sha256=<hex HMAC-SHA256 of the body>`` signs it. Failed attempts are
  retried with a growing pause.

Nothing here may slow the session: the host only puts the notification in a bounded queue
(``put_nowait``; when full, it is dropped and counted), and each webhook has its own worker
thread, so a dead URL delays nothing but its own deliveries.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import queue
import shutil
import subprocess
import threading
import time
import tomllib
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ta_session.host.hub import OutputMode
from ta_session.host.wire import encode_output

if TYPE_CHECKING:
    from ta_session.host.server import SessionHost

DEFAULT_EVENTS = ("waiting_for_input", "draft_ready")
QUEUE_LIMIT = 256  # notifications waiting per webhook; more are dropped, never waited for
SIGNATURE_HEADER = "X-TA-Signature"


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    events: tuple[str, ...] = DEFAULT_EVENTS
    secret: str | None = None
    timeout: float = 5.0
    retries: int = 3


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def load_webhooks(config_path: Path, report: Callable[[str], None]) -> list[Webhook]:
    """The webhooks of ``.ta/config.toml``; a bad file or entry is reported and skipped."""
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        report(f"{config_path}: {exc}; no webhooks")
        return []
    hooks = []
    for i, entry in enumerate(data.get("webhooks") or []):
        try:
            url = entry["url"]
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ValueError("'url' must be an http:// or https:// URL")
            events = tuple(str(e) for e in entry.get("events") or DEFAULT_EVENTS)
            secret = entry.get("secret")
            hooks.append(Webhook(url, events, str(secret) if secret else None,
                                 float(entry.get("timeout", 5.0)),
                                 int(entry.get("retries", 3))))  # fmt: skip
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            report(f"{config_path}: webhooks[{i}]: {exc}; skipped")
    return hooks


@dataclass
class _Sender:
    """One webhook's queue and worker thread."""

    hook: Webhook
    note: Callable[[str], None]
    queue: queue.Queue[bytes | None] = field(default_factory=lambda: queue.Queue(QUEUE_LIMIT))
    dropped: int = 0
    delivered: int = 0
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="ta-webhook", daemon=True)
        self.thread.start()

    def put(self, body: bytes) -> None:
        try:
            self.queue.put_nowait(body)
        except queue.Full:
            self.dropped += 1  # the host never waits for a webhook

    def _run(self) -> None:
        while (body := self.queue.get()) is not None:
            self._deliver(body)

    def _deliver(self, body: bytes) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "ta-session"}
        if self.hook.secret:
            headers[SIGNATURE_HEADER] = signature(self.hook.secret, body)
        pause = 0.5
        for attempt in range(self.hook.retries + 1):
            request = urllib.request.Request(self.hook.url, body, headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.hook.timeout) as response:
                    if 200 <= response.status < 300:
                        self.delivered += 1
                        return
            except Exception as exc:  # any failure is one failed attempt
                error = str(exc)
            else:
                error = f"HTTP {response.status}"
            if attempt < self.hook.retries:
                time.sleep(pause)
                pause *= 2
        self.note(f"webhook {self.hook.url}: not delivered after {self.hook.retries + 1} "
                  f"attempts ({error})")  # fmt: skip

    def stop(self, deadline: float) -> None:
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(None)
        if self.thread is not None:
            self.thread.join(max(0.0, deadline - time.monotonic()))


class Notifier:
    def __init__(
        self,
        *,
        session_id: str,
        goal_id: str,
        title: str | None,
        config_path: Path,
        note: Callable[[str], None],
        terminal: Callable[[bytes], None],
    ):
        self.base = {"session_id": session_id, "goal_id": goal_id, "title": title or ""}
        self.title = title or session_id[:8]
        self.note = note
        self.terminal = terminal
        self.senders = [_Sender(h, note) for h in load_webhooks(config_path, note)]
        for sender in self.senders:
            sender.start()
        self.desktop = shutil.which("notify-send")

    @classmethod
    def for_host(cls, host: SessionHost) -> Notifier:
        return cls(
            session_id=str(host.session_id),
            goal_id=str(host.controller.goal_id),
            title=host.title,
            config_path=host.project.layout.ta_dir / "config.toml",
            note=host.log.write,
            terminal=lambda data: host.hub.broadcast(encode_output(data), output=OutputMode.RAW),
        )

    def event(self, event: dict[str, Any]) -> dict[str, Any]:
        """A session event on its way to the channels: notify if it is one that calls for it."""
        kind = event.get("event_type")
        if kind in DEFAULT_EVENTS:
            what = "waiting for you" if kind == "waiting_for_input" else "draft ready"
            text = f"ta: {what} — {self.title}"
            # Bell, then the window title (OSC 2): the terminal's, not the agent's screen.
            self.terminal(b"\a\x1b]2;" + _title_safe(text).encode("utf-8") + b"\x07")
            self._desktop(text, str(event.get("prompt") or event.get("summary") or ""))
        wanted = [s for s in self.senders if kind in s.hook.events or "*" in s.hook.events]
        if not wanted or not isinstance(kind, str):
            return event
        body = json.dumps({"event": kind, **self.base, "timestamp": time.time(), "data": event},
                          ensure_ascii=False).encode("utf-8")  # fmt: skip
        for sender in wanted:
            sender.put(body)
        return event

    def _desktop(self, summary: str, body: str) -> None:
        if self.desktop is None:
            return
        try:  # never waited for: a thread reaps it, so no zombie is left behind
            proc = subprocess.Popen([self.desktop, "-a", "ta", summary, body[:200]],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        except OSError:
            return
        threading.Thread(target=proc.wait, daemon=True).start()

    def close(self, grace: float = 1.0) -> None:
        deadline = time.monotonic() + grace
        for sender in self.senders:
            sender.stop(deadline)
            if sender.dropped:
                self.note(f"webhook {sender.hook.url}: {sender.dropped} notifications dropped")


def _title_safe(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)[:120]
