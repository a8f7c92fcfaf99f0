"""Wiring ``ta mcp serve`` into an agent that reads MCP configuration (SPEC §8).

An agent config's ``mcp_args`` are put right after its command, with placeholders filled in:

* ``{mcp_config}``: Claude Code's ``--mcp-config`` JSON (``{"mcpServers": {"ta": …}}``),
  passed inline as a string, so no file is written anywhere the agent or the draft could see;
* ``{mcp_command}``, ``{mcp_args}``, ``{mcp_env}``: TOML values for Codex's
  ``-c mcp_servers.ta.<key>=<value>`` overrides.

The server is this Python running ``-m ta_session mcp serve``, with the session id and the
agent socket's path (as the agent sees it: inside a sandbox, where it is bound in) in its
environment: an agent that passes MCP servers only the variables it was configured with still
gives ours what they need. A project's own ``.mcp.json`` is never read or written here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

# Where a sandboxed agent finds its session's agent socket: in its private /tmp (``.ta/`` of
# the project, where the socket lives, is hidden from it).
SANDBOX_AGENT_SOCKET = "/tmp/.ta-agent/agent.sock"
SERVER_NAME = "ta"


def server_command() -> list[str]:
    return [sys.executable, "-m", "ta_session", "mcp", "serve"]


def _toml(value: object) -> str:
    """A TOML value: JSON strings and arrays of strings are valid TOML; tables are not."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def wired_args(mcp_args: Sequence[str], env: dict[str, str]) -> list[str]:
    """``mcp_args`` with the placeholders filled in for a server with ``env``."""
    command, *args = server_command()
    config = {"mcpServers": {SERVER_NAME: {"type": "stdio", "command": command, "args": args,
                                           "env": env}}}  # fmt: skip
    values = {
        "{mcp_config}": json.dumps(config, separators=(",", ":")),
        "{mcp_command}": _toml(command),
        "{mcp_args}": _toml(args),
        "{mcp_env}": _toml(env),
    }
    out = []
    for arg in mcp_args:
        for key, value in values.items():
            arg = arg.replace(key, value)
        out.append(arg)
    return out
