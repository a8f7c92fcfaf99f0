"""``ta mcp serve``: the MCP server an agent runs to reach the human through its session.

Built on the official ``mcp`` SDK (``MCPServer``, stdio transport). Bound to the session in
``TA_SESSION_ID``, it talks to the session host over the agent socket (``TA_AGENT_SOCKET``),
which takes agent requests only: an agent can ask, report and checkpoint through these tools,
never decide, approve, apply or pause.

The tools block on the host (``AgentLink`` is plain sockets), so each runs in a worker thread:
the server keeps answering the client (pings, other calls) while a question waits.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from ta_session.host.questions import Outcome
from ta_session.mcp.link import AgentLink, AgentLinkError, Verdict

T = TypeVar("T")

INSTRUCTIONS = (
    "You are working inside a supervised ta session. Use ask_human when you need a decision "
    "or information only the human has; report_status to say what you are doing; "
    "request_checkpoint to have your work so far reviewed as a draft; goal_complete when done."
)


def no_answer_text(timeout: float) -> str:
    return (
        f"No answer came from the human within {timeout:g} seconds. "
        "Proceed on your own best judgement."
    )


def verdict_text(verdict: Verdict, timeout: float) -> str:
    if verdict.outcome is Outcome.ANSWERED:
        return verdict.answer or ""
    if verdict.outcome is Outcome.TIMED_OUT:
        return no_answer_text(timeout)
    return "The question was withdrawn (the session is ending); no answer came."


async def _off_thread(fn: Callable[[], T]) -> T:
    try:
        return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)
    except AgentLinkError as exc:
        raise ToolError(str(exc)) from None


def build_server(link: AgentLink) -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("ta", instructions=INSTRUCTIONS)

    @server.tool(structured_output=False)  # plain text: what the agent reads
    async def ask_human(
        question: str,
        context: str | None = None,
        response_hint: Literal["freeform", "yes_no", "choice"] = "freeform",
        choices: list[str] | None = None,
        timeout_secs: float = 600,
    ) -> str:
        """Ask the human supervising this session a question and wait for the answer.

        response_hint: "freeform" (any text), "yes_no" (the answer is "yes" or "no") or
        "choice" (the answer is one of `choices`). If no answer comes within timeout_secs,
        you are told so and should proceed on your own judgement.
        """
        arguments: dict[str, Any] = {
            "question": question,
            "context": context,
            "response_hint": response_hint,
            "choices": choices or [],
            "timeout_secs": timeout_secs,
        }
        verdict = await _off_thread(lambda: link.ask(arguments))
        return verdict_text(verdict, timeout_secs)

    @server.tool(structured_output=False)  # plain text: what the agent reads
    async def report_status(message: str) -> str:
        """Tell the human what you are doing (shown on every channel of the session, logged)."""
        await _off_thread(lambda: link.request({"type": "report_status", "message": message}))
        return "Status reported."

    @server.tool(structured_output=False)  # plain text: what the agent reads
    async def request_checkpoint(summary: str) -> str:
        """Have your work so far built into a draft for the human to review now. Returns the
        draft id (use draft_status to see the decisions made on it)."""
        reply = await _off_thread(
            lambda: link.request({"type": "request_checkpoint", "summary": summary})
        )
        draft_id = reply.get("draft_id")
        if not draft_id:
            return "No changes in the workspace yet: no draft was built."
        return f"Draft {draft_id} is ready for review."

    @server.tool(structured_output=False)  # plain text: what the agent reads
    async def draft_status(draft_id: str) -> str:
        """The decisions made so far on one of this session's drafts (JSON): its status and,
        per file, approved / rejected (with the reason) / discuss (with a comment) / pending."""
        reply = await _off_thread(
            lambda: link.request({"type": "draft_status", "draft_id": draft_id})
        )
        keys = ("draft_id", "status", "summary", "artifacts")
        return json.dumps({k: reply.get(k) for k in keys}, indent=2)

    @server.tool(structured_output=False)  # plain text: what the agent reads
    async def goal_complete(summary: str) -> str:
        """Report that the goal is done, with a summary of what you did."""
        reply = await _off_thread(
            lambda: link.request({"type": "goal_complete", "summary": summary})
        )
        if reply.get("detail") == "closing":
            return "Goal marked complete. The session closes once you exit (or shortly)."
        return "Goal marked complete."

    return server


def serve() -> int:
    """Run over stdio until the client goes away."""
    try:
        link = AgentLink.from_environment()
        link.check()  # fail at start, with a clear line, rather than at the first tool call
    except AgentLinkError as exc:
        print(f"ta mcp serve: {exc}", file=sys.stderr)
        return 1
    build_server(link).run("stdio")
    return 0
