"""The session service: what a session can do, once, for every channel.

Channels (the ``ta`` command, the web page, the agent's MCP server) call this package and the
host protocol, never each other. It sits above ``store/``, ``workspace/`` and ``host/``.
"""
