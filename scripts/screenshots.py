"""Make the README's screenshots of ``ta serve`` from a real run: a throwaway project, real
sessions (vim full screen, a ticking agent, an editing agent with a draft), the real server, and
Debian's Chromium driven by Playwright.

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/*.png
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]  # fmt: skip
EDITS = [
    ["write", "src/greet.py", 'def greet(name):\n    return f"Hello, {name}!"\n'],
    ["write", "README.md", "# Demo project\n\nGreets people, politely.\n"],
    ["write", "notes.txt", "scratch notes the agent left behind\n"],
]


def ta(root: Path, *args: str) -> str:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("TA_PROJECT_ROOT", None)
    return subprocess.run([sys.executable, "-m", "ta_session", *args], cwd=root, env=env,
                          check=True, capture_output=True, text=True).stdout  # fmt: skip


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="ta-shots-"))
    root = work / "demo"
    (root / ".ta").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "greet.py").write_text('def greet(name):\n    return "hi " + name\n')
    (root / "README.md").write_text("# Demo project\n")
    server = subprocess.Popen([sys.executable, "-m", "ta_session", "serve", "--port", "0"],
                              cwd=root, stdout=subprocess.PIPE, text=True)  # fmt: skip
    sids: list[str] = []
    try:
        assert server.stdout is not None
        url = re.search(r"(http://\S+)", server.stdout.readline()).group(1)  # type: ignore[union-attr]
        editor = REPO / "tests" / "draft_agents" / "editor.py"
        drafted = ta(root, "run", "Greet people by name", "--detach", "--", sys.executable,
                     str(editor), json.dumps(EDITS)).strip()  # fmt: skip
        sids.append(drafted)
        counter = REPO / "tests" / "agents" / "counter.py"
        sids.append(ta(root, "run", "Count to a million", "--detach", "--", sys.executable,
                       str(counter), "0.5").strip())  # fmt: skip
        (root / "todo.txt").write_text("1. review the draft\n2. apply it\n3. ship\n")
        vim = shutil.which("vim") or shutil.which("vi") or "vi"
        full = ta(root, "run", "Edit the to-do list in vim", "--detach", "--", vim, "-u",
                  "NONE", "-N", "-n", "+set number", "+syntax on", "todo.txt").strip()  # fmt: skip
        sids.append(full)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            profile = tempfile.mkdtemp(prefix="ta-chromium-")
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path="/usr/bin/chromium", headless=True, args=FLAGS,
                viewport={"width": 1280, "height": 860},
            )  # fmt: skip
            page = context.new_page()
            page.goto(url)
            page.check("[data-testid=show-all]")
            page.wait_for_selector(f"#sessions tr[data-session-id='{full}'] >> text=live")
            time.sleep(1.0)
            page.screenshot(path=str(OUT / "session-list.png"))
            page.goto(f"{url.split('?')[0]}#/session/{full}")
            page.wait_for_selector("[data-testid=s-meta]")
            for _ in range(200):  # the page's CSP forbids wait_for_function's eval: poll
                if page.evaluate("() => window.ta.term.buffer.active.type") == "alternate":
                    break
                time.sleep(0.05)
            page.click("[data-testid=terminal]")
            page.keyboard.type("Go4. celebrate")
            page.keyboard.press("Escape")
            page.fill("[data-testid=guidance]", "keep the list short")
            time.sleep(1.0)
            page.screenshot(path=str(OUT / "session-view.png"))
            page.goto(f"{url.split('?')[0]}#/session/{drafted}")
            page.wait_for_selector("[data-testid=artifact]")
            for path in ("src/greet.py", "README.md"):
                item = page.locator(f"[data-testid=artifact][data-path='{path}']")
                item.locator("[data-testid=approve]").click()
                item.locator("[data-testid=artifact-disposition]:text-is('approved')").wait_for()
            last = page.locator("[data-testid=artifact][data-path='notes.txt']")
            last.locator("[data-testid=artifact-text]").fill("scratch file, not part of the change")
            last.locator("[data-testid=reject]").click()
            last.locator("[data-testid=artifact-disposition]:has-text('scratch')").wait_for()
            page.wait_for_selector("[data-testid=draft][data-status=approved]")
            page.locator("[data-testid=drafts]").scroll_into_view_if_needed()
            time.sleep(0.5)
            page.locator("[data-testid=drafts]").screenshot(path=str(OUT / "draft-review.png"))
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
    finally:
        for sid in sids:
            subprocess.run([sys.executable, "-m", "ta_session", "session", "abort", sid],
                           cwd=root, capture_output=True)  # fmt: skip
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"screenshots written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
