"""The real Claude Code CLI in a live, sandboxed session calls ``ask_human`` through its own
MCP client; the answer given with ``ta session answer`` comes back into its conversation, and
its edit ends up in a draft.

Claude Code comes from npm (``scripts/claude_code.sh``, run by the test command, installs it
into tests/.claude-code/); the model is a scripted stand-in for the Messages API on loopback
(tests/model_api.py), reached through ``ANTHROPIC_BASE_URL`` with a dummy key.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from draft_helpers import URI, draft, finish, session_record
from live_helpers import Live, live_fixture, wait_for
from model_api import ModelAPI

live = live_fixture

CLAUDE = Path(__file__).resolve().parent / ".claude-code" / "node_modules" / ".bin" / "claude"

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed"),
    pytest.mark.skipif(
        not CLAUDE.exists(),
        reason="Claude Code is not installed: npm could not be reached by scripts/claude_code.sh",
    ),
]


def test_claude_code_asks_the_human_through_mcp(live: Live, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (live.root / "README").write_text("a project\n")
    # A project's own MCP config: ta must leave it as it is.
    own_mcp = '{"mcpServers": {}}\n'
    (live.root / ".mcp.json").write_text(own_mcp)
    # The built-in claude-code wiring (--mcp-config {mcp_config}), in print mode so that no
    # first-run dialog waits for a person.
    live.write_agent(
        "cc",
        f"""
command: {CLAUDE}
args_template: ["-p", "{{prompt}}", "--allowedTools", "mcp__ta__ask_human,Write",
                "--permission-mode", "acceptEdits"]
mcp_args: ["--mcp-config", "{{mcp_config}}"]
interactive: {{enabled: true, output_capture: pty}}
sandbox: {{mode: "on", writable: ["{home}"]}}
""",
    )
    with ModelAPI(question="Which fruit should I write down?") as api:
        live.env.update({
            "HOME": str(home), "TA_SANDBOX": "on",
            "ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": "sk-ant-test-dummy",
            "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            # Connect MCP servers before the first request, and offer their tools directly
            # (not behind tool search), so the scripted model sees ask_human at once.
            "MCP_CONNECTION_NONBLOCKING": "false", "ENABLE_TOOL_SEARCH": "false",
        })  # fmt: skip
        sid = live.start(title="pick a fruit", agent="cc")
        questions = wait_for(
            lambda: live.show(sid)["questions"], timeout=90,
            what=lambda: f"Claude Code's question; output: {live.output(sid)[-800:]!r}",
        )  # fmt: skip
        assert questions[0]["prompt"] == "Which fruit should I write down?"
        live.ok("session", "answer", sid, "banana")
        finish(live, sid)
    # The answer came back into Claude Code's conversation as the tool's result...
    results = [
        c for r in api.requests for m in r["body"].get("messages") or []
        if isinstance(m.get("content"), list) for c in m["content"]
        if isinstance(c, dict) and c.get("type") == "tool_result"
    ]  # fmt: skip
    assert any("banana" in json.dumps(c.get("content")) for c in results), results
    assert api.answers and api.answers[0] == "banana"
    assert "DONE: banana" in live.output(sid)
    # ... and its edit is in the draft, not in the project.
    (draft_id,) = session_record(live, sid)["draft_ids"]
    built = draft(live, draft_id)
    assert [a["resource_uri"] for a in built["artifacts"]] == [f"{URI}answer.txt"]
    assert draft_id in live.ok("draft", "list")
    assert not (live.root / "answer.txt").exists()
    assert (live.root / ".mcp.json").read_text() == own_mcp
    answered = [e for e in live.audit(sid) if e["action"] == "question_answered"]
    assert [e["details"]["answer"] for e in answered] == ["banana"]
