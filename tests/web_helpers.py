"""Helpers for the web tests: a real ``ta serve`` process on 127.0.0.1 (a random port) in a
``live`` project, an HTTP client that carries its token, and a real headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``scripts/test.sh``), driven by
Playwright with ``executable_path``; Playwright never downloads a browser here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from live_helpers import PYTHON, SCALE, Live, live_fixture, wait_for

__all__ = ["Web", "browser_fixture", "live_fixture", "page_fixture", "web_fixture"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


class Web:
    """A running ``ta serve`` for one project."""

    def __init__(self, live: Live):
        self.live = live
        self.process = subprocess.Popen(
            [PYTHON, "-m", "ta_session", "serve", "--port", "0"],
            cwd=live.root, env=live.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.match(r"ta serve: (http://127\.0\.0\.1:(\d+)/)\?token=(\S+)", line)
        if match is None:
            self.process.kill()
            stderr = self.process.stderr.read() if self.process.stderr else ""
            raise AssertionError(f"unexpected first line from ta serve: {line!r}; {stderr}")
        self.base, self.port, self.token = match.group(1), int(match.group(2)), match.group(3)
        self.url = f"{self.base}?token={self.token}"
        self.http = httpx.Client(base_url=self.base, timeout=60 * SCALE,
                                 headers={"authorization": f"Bearer {self.token}",
                                          "x-ta-client": "tests"})  # fmt: skip
        wait_for(self._up, what="ta serve to answer")

    def _up(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return self.http.get("/api/agents").status_code == 200
        return False

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None and "content" not in kwargs:
            kwargs["json"] = body
        return self.http.post(path, **kwargs)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code < 300, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json()

    def start(self, *command: str, title: str = "t") -> str:
        return self.ok("POST", "/api/sessions", {"title": title, "command": list(command)})[
            "session_id"
        ]

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(name="web")
def web_fixture(live: Live) -> Iterator[Web]:
    server = Web(live)
    try:
        yield server
    finally:
        server.stop()


def chromium_path() -> str:
    path = shutil.which("chromium") or CHROMIUM
    if not os.path.exists(path):
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it as root)")
    return path


@pytest.fixture(name="browser", scope="session")
def browser_fixture() -> Iterator[Any]:
    """A Playwright driver and Debian's Chromium; each test gets a fresh profile (context)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        yield playwright, executable


@pytest.fixture(name="page")
def page_fixture(browser: Any, web: Web) -> Iterator[Any]:
    """A page of a fresh Chromium profile, opened at the URL ``ta serve`` printed."""
    playwright, executable = browser
    profile = tempfile.mkdtemp(prefix="ta-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
        viewport={"width": 1200, "height": 900},
    )  # fmt: skip
    errors: list[str] = []
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_default_timeout(20_000 * SCALE)
        page.goto(web.url)
        page.wait_for_selector("[data-testid=connection]:has-text('live')")
        page.errors = errors
        yield page
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)
    assert not errors, f"errors in the page: {errors}"


def terminal_text(page: Any) -> str:
    """What the page's terminal shows (xterm.js's buffer, the visible rows and scroll-back)."""
    return page.evaluate(
        """() => { const b = window.ta.term.buffer.active; const out = [];
        for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
        return out.join('\\n'); }"""
    )


def wait_terminal(page: Any, text: str, timeout: float = 15.0) -> str:
    return wait_for(
        lambda: text in (t := terminal_text(page)) and t,
        timeout,
        what=lambda: f"{text!r} in the page's terminal; it shows:\n{terminal_text(page)[-800:]}",
    )
