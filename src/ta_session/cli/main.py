"""The ``ta`` command: parse arguments, call the layers, print.

Start-up time matters (``ta session list`` must answer in well under 150 ms), so each command's
module is imported only when that command runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ta_session.cli.output import CommandError, UsageError, error_line

# command path → "module:function" in ta_session.cli
_HANDLERS = {
    ("session", "list"): "session_cmds:cmd_list",
    ("session", "show"): "session_cmds:cmd_show",
    ("session", "close"): "session_cmds:cmd_close",
    ("session", "abort"): "session_cmds:cmd_abort",
    ("goal", "list"): "goal_cmds:cmd_list",
    ("goal", "show"): "goal_cmds:cmd_show",
    ("audit", "log"): "audit_cmds:cmd_log",
    ("audit", "verify"): "audit_cmds:cmd_verify",
    ("agents", "list"): "agents_cmds:cmd_list",
    ("agents", "show"): "agents_cmds:cmd_show",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    # SUPPRESS: a subcommand's parser must not reset a value given before the subcommand.
    common.add_argument(
        "--project", metavar="DIR", default=argparse.SUPPRESS,
        help="project root (default: nearest folder with .ta/, or $TA_PROJECT_ROOT)",
    )  # fmt: skip
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )

    parser = _Parser(prog="ta", description="Supervise AI coding agents.", parents=[common])
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", parser_class=_Parser)
    groups.required = True

    session = groups.add_parser("session", help="interactive sessions", parents=[common])
    s = session.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
    s.required = True
    p = s.add_parser("list", help="list sessions (alive ones unless --all)", parents=[common])
    p.add_argument("--all", action="store_true", help="include completed and aborted sessions")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = s.add_parser("show", help="show one session and its message log", parents=[common])
    p.add_argument("session", metavar="ID", help="session id or unique prefix")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = s.add_parser("close", help="end a session as completed", parents=[common])
    p.add_argument("session", metavar="ID", help="session id or unique prefix")
    p.add_argument("--no-draft", action="store_true", help="do not build a draft")
    p = s.add_parser("abort", help="end a session as aborted", parents=[common])
    p.add_argument("session", metavar="ID", help="session id or unique prefix")
    p.add_argument("--reason", metavar="R", default=None, help="why (logged)")

    goal = groups.add_parser("goal", help="goals", parents=[common])
    g = goal.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
    g.required = True
    p = g.add_parser("list", help="list goals", parents=[common])
    p.add_argument("--json", action="store_true", help="print JSON")
    p = g.add_parser("show", help="show one goal", parents=[common])
    p.add_argument("goal", metavar="ID", help="goal id or unique prefix")
    p.add_argument("--json", action="store_true", help="print JSON")

    audit = groups.add_parser("audit", help="the audit log", parents=[common])
    a = audit.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
    a.required = True
    p = a.add_parser("log", help="show audit events", parents=[common])
    p.add_argument("--session", metavar="ID", help="only events of this session")
    p.add_argument("--limit", type=int, metavar="N", help="only the last N events")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    a.add_parser("verify", help="check the hash chain", parents=[common])

    agents = groups.add_parser("agents", help="agent configurations", parents=[common])
    ag = agents.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
    ag.required = True
    p = ag.add_parser("list", help="list available agents", parents=[common])
    p.add_argument("--json", action="store_true", help="print JSON")
    p = ag.add_parser("show", help="show one agent's configuration", parents=[common])
    p.add_argument("name", metavar="NAME", help="agent name")
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        args = build_parser().parse_args(args_list)
        module_name, func_name = _HANDLERS[(args.group, args.command)].split(":")
        module = importlib.import_module(f"ta_session.cli.{module_name}")
        return int(getattr(module, func_name)(args) or 0)
    except UsageError as exc:
        error_line(str(exc))
        return 2
    except CommandError as exc:
        error_line(str(exc))
        return exc.code
    except KeyboardInterrupt:
        error_line("interrupted")
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head` that stopped reading: not an error for the user.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if debug:
            raise
        from ta_session.cli.output import describe_exception

        error_line(describe_exception(exc))
        return 1
