"""``ta mcp serve``: the MCP server for the agent inside a session (``ta_session.mcp``).

The SDK is imported here only, so other commands start as fast as before.
"""

from __future__ import annotations

import argparse

from ta_session.cli.output import CommandError


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from ta_session.mcp.server import serve
    except ImportError as exc:  # the optional extra "mcp"
        raise CommandError(
            f"ta mcp serve needs the mcp extra ({exc.name} is missing): "
            "pip install 'ta-session[mcp]'"
        ) from None
    return serve()
