"""``ta serve``: the web page and its API (``ta_session.web``), for this project."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ta_session.cli.context import open_project
from ta_session.cli.output import CommandError


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from ta_session.web.server import ServeOptions, serve
    except ImportError as exc:  # starlette/uvicorn are the optional extra "web"
        raise CommandError(
            f"ta serve needs the web extra ({exc.name} is missing): pip install 'ta-session[web]'"
        ) from None
    project = open_project(args)
    project.layout.ta_dir.mkdir(exist_ok=True)
    options = ServeOptions(
        host=args.host,
        port=args.port,
        token_file=Path(args.token_file) if args.token_file else None,
        rotate_token=args.rotate_token,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        exposed=args.i_know_this_is_exposed,
        open_browser=args.open,
    )

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        serve(project.root, options, say)
    except KeyboardInterrupt:
        print("", file=sys.stderr)
    return 0
