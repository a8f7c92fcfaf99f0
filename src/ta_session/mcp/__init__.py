"""The agent's side of a session: ``ta mcp serve``, an MCP server over stdio (SPEC §8).

``link`` talks to the session host's agent socket (no MCP SDK needed); ``server`` is the MCP
server built on the official ``mcp`` SDK, imported only by ``ta mcp serve``.
"""
