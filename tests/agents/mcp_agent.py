"""A test agent that is a real MCP client: it starts ``ta mcp serve`` with the MCP SDK's stdio
client (as Claude Code would) and calls its tools, following a script.

argv[1]: a JSON list of steps, each one of
  {"tool": NAME, "args": {...}}           call a tool; prints "RESULT <i> <json>" with the
                                          result's text and whether it was an error
  {"tools": [[NAME, ARGS], ...]}          call several tools at once (concurrently)
  {"write": PATH, "text": TEXT}           write a file in the workspace
  {"socket": {...}}                       send one raw request on the agent socket itself
                                          (role "agent"); prints "SOCKET <i> <reply json>"
  {"main_socket": PATH}                   try to connect to a path (the project's main socket)
  {"hold": true}                          stay alive until stdin closes (for a live session)
"quiet": true in a tool or hold step: print nothing for it.
Prints "MCP AGENT DONE" at the end.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
from typing import Any

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


def say(line: str) -> None:
    print(line, flush=True)


def result_json(result: Any) -> str:
    text = "".join(getattr(c, "text", "") for c in getattr(result, "content", []) or [])
    return json.dumps({"text": text, "error": bool(getattr(result, "is_error", False))})


def raw_socket(request: dict[str, Any]) -> dict[str, Any]:
    from ta_session.channels.client import HostClient, HostRequestError

    path = os.environ["TA_AGENT_SOCKET"]
    with HostClient.connect(path, channel_id="raw", role="agent") as client:
        try:
            return client.request(request)
        except HostRequestError as exc:
            return {"ok": False, "error": str(exc)}


def fill(value: Any, names: dict[str, str]) -> Any:
    """``DRAFT`` (the last checkpoint's draft id) and ``SID`` (this session) filled in."""
    if isinstance(value, str):
        for key, text in names.items():
            value = value.replace(key, text)
        return value
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    return value


async def main(steps: list[dict[str, Any]]) -> None:
    names = {"SID": os.environ.get("TA_SESSION_ID", "")}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "ta_session", "mcp", "serve"], env=dict(os.environ)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        say("TOOLS " + " ".join(sorted(t.name for t in tools.tools)))
        for i, step in enumerate(steps):
            step = fill(step, names)
            if "tool" in step:
                quiet = step.get("quiet")  # prints nothing (a terminal's notice stays in sight)
                if not quiet:
                    say(f"CALL {i} {step['tool']}")
                result = await session.call_tool(step["tool"], step.get("args") or {})
                if not quiet:
                    say(f"RESULT {i} {result_json(result)}")
                found = re.search(r"Draft ([0-9a-f-]{36}) is ready", result_json(result))
                if found:
                    names["DRAFT"] = found.group(1)
            elif "tools" in step:
                results: dict[int, str] = {}

                async def call(
                    j: int, name: str, args: dict[str, Any], into: dict[int, str]
                ) -> None:
                    into[j] = result_json(await session.call_tool(name, args))

                async with anyio.create_task_group() as group:
                    for j, (name, args) in enumerate(step["tools"]):
                        group.start_soon(call, j, name, args, results)
                for j in sorted(results):
                    say(f"RESULT {i}.{j} {results[j]}")
            elif "write" in step:
                with open(step["write"], "w") as f:
                    f.write(step["text"])
                say(f"WROTE {i} {step['write']}")
            elif "socket" in step:
                reply = await anyio.to_thread.run_sync(raw_socket, step["socket"])
                say(f"SOCKET {i} {json.dumps(reply)}")
            elif "main_socket" in step:
                sock = socket.socket(socket.AF_UNIX)
                try:
                    sock.connect(step["main_socket"])
                    say(f"MAIN {i} connected")
                except OSError as exc:
                    say(f"MAIN {i} refused {type(exc).__name__}")
                finally:
                    sock.close()
            elif step.get("hold"):
                if not step.get("quiet"):
                    say("HOLDING")
                await anyio.to_thread.run_sync(sys.stdin.read)
    say("MCP AGENT DONE")


if __name__ == "__main__":
    anyio.run(main, json.loads(sys.argv[1]))
