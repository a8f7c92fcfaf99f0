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
from typing import Any

from ta_session.cli.output import CommandError, UsageError, error_line
from ta_session.model.errors import TaError
from ta_session.service.errors import InvalidRequest

# command path → "module:function" in ta_session.cli
_HANDLERS = {
    ("session", "list"): "session_cmds:cmd_list",
    ("session", "show"): "session_cmds:cmd_show",
    ("session", "close"): "session_cmds:cmd_close",
    ("session", "abort"): "session_cmds:cmd_abort",
    ("session", "attach"): "session_cmds:cmd_attach",
    ("session", "send"): "session_cmds:cmd_send",
    ("session", "answer"): "session_cmds:cmd_answer",
    ("session", "pause"): "session_cmds:cmd_pause",
    ("session", "resume"): "session_cmds:cmd_resume",
    ("session", "status"): "session_cmds:cmd_status",
    ("session", "logs"): "session_cmds:cmd_logs",
    ("session", "replay"): "session_cmds:cmd_replay",
    ("run", None): "run_cmd:cmd_run",
    ("demo", None): "demo_cmd:cmd_demo",
    ("doctor", None): "doctor_cmd:cmd_doctor",
    ("draft", "build"): "draft_cmds:cmd_build",
    ("draft", "list"): "draft_cmds:cmd_list",
    ("draft", "view"): "draft_cmds:cmd_view",
    ("draft", "approve"): "draft_cmds:cmd_approve",
    ("draft", "reject"): "draft_cmds:cmd_reject",
    ("draft", "discuss"): "draft_cmds:cmd_discuss",
    ("draft", "apply"): "draft_cmds:cmd_apply",
    ("session", "complete"): "session_cmds:cmd_complete",
    ("session", "approve"): "session_cmds:cmd_approve",
    ("session", "reject"): "session_cmds:cmd_reject",
    ("goal", "list"): "goal_cmds:cmd_list",
    ("goal", "show"): "goal_cmds:cmd_show",
    ("audit", "log"): "audit_cmds:cmd_log",
    ("audit", "verify"): "audit_cmds:cmd_verify",
    ("agents", "list"): "agents_cmds:cmd_list",
    ("agents", "show"): "agents_cmds:cmd_show",
    ("serve", None): "serve_cmd:cmd_serve",
    ("mcp", "serve"): "mcp_cmd:cmd_serve",
}


_REPLAY_KEYS = """\
Play a session's recording in this terminal. Keys while it plays:
  space    pause / play (paused: a status line shows time, speed and the last marker)
  .        while paused: the next output event
  + / -    twice / half as fast (1/16x to 64x)
  n / p    next / previous marker (a human input, question, draft, decision or state
           change): everything up to it is shown at once, then it plays on or stays paused
  q        quit (Ctrl-C too); the terminal is restored
Terminal queries in the recording are never answered into your shell. Piped or without a
terminal, the output is written with its timing and no keys are read."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _subcommands(groups: Any, name: str, *, help: str, common: argparse.ArgumentParser) -> Any:
    """A command group (``ta NAME``) whose subcommand is required."""
    group = groups.add_parser(name, help=help, parents=[common])
    commands = group.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
    commands.required = True
    return commands


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

    s = _subcommands(groups, "session", help="interactive sessions", common=common)
    p = s.add_parser("list", help="list sessions (alive ones unless --all)", parents=[common])
    p.add_argument("--all", action="store_true", help="include completed and aborted sessions")
    p.add_argument(
        "--full",
        action="store_true",
        help="whole ids and titles (default: 8-character ids, titles cut to fit)",
    )
    p.add_argument("--json", action="store_true", help="print JSON (always whole ids)")
    p = s.add_parser("show", help="show one session and its message log", parents=[common])
    p.add_argument("session", metavar="ID", help="session id or unique prefix")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = s.add_parser("close", help="end a session as completed", parents=[common])
    p.add_argument("session", metavar="ID", help="session id or unique prefix")
    p.add_argument("--no-draft", action="store_true", help="do not build a draft")
    p = s.add_parser("abort", help="end a session as aborted", parents=[common])
    p.add_argument("session", metavar="ID", help="session id or unique prefix")
    p.add_argument("--reason", metavar="R", default=None, help="why (logged)")
    p = s.add_parser("attach", help="attach this terminal to a live session", parents=[common])
    p.add_argument("session", metavar="ID", nargs="?",
                   help="session id or prefix (default: the only live one)")  # fmt: skip
    p.add_argument("--detach-key", metavar="KEY", help="detach key (default ctrl-\\)")
    p = s.add_parser("send", help="send guidance to the agent", parents=[common])
    p.add_argument("session", metavar="ID", help="session id or unique prefix")
    p.add_argument("text", metavar="TEXT", help="the guidance")
    p = s.add_parser("answer", help="answer the question the agent is waiting on",
                     parents=[common])  # fmt: skip
    p.add_argument("session", metavar="ID", help="session id or unique prefix")
    p.add_argument("text", metavar="TEXT", help="the answer")
    p.add_argument("--question", metavar="QID", default=None,
                   help="which question (when the agent asked several)")  # fmt: skip
    for name, text in (("pause", "stop the agent (SIGSTOP)"),
                       ("resume", "continue a paused agent, or relaunch a lost host"),
                       ("status", "live status of a session")):  # fmt: skip
        p = s.add_parser(name, help=text, parents=[common])
        p.add_argument("session", metavar="ID", help="session id or unique prefix")
        if name == "status":
            p.add_argument("--json", action="store_true", help="print JSON")
    for name, text in (("approve", "approve a draft's artifacts through the live session"),
                       ("reject", "reject a draft's artifacts (live session)")):  # fmt: skip
        p = s.add_parser(name, help=text, parents=[common])
        p.add_argument("session", metavar="ID", help="session id or unique prefix")
        p.add_argument("--draft", metavar="D", help="draft id or prefix (default: the newest)")
        p.add_argument("--artifact", action="append", metavar="URI", help="repeatable")
        if name == "reject":
            p.add_argument("--reason", metavar="R", required=True, help="why")
    p = s.add_parser("complete", help="report the goal complete (for agents)", parents=[common])
    p.add_argument("session", nargs="?", metavar="ID", help="default: $TA_SESSION_ID")
    p = s.add_parser("logs", help="print the agent's output as text", parents=[common])
    p.add_argument("session", metavar="ID", help="session id or unique prefix")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new output")
    p.add_argument("--raw", action="store_true", help="keep terminal escape sequences")
    p = s.add_parser("replay", help="play the recording back", parents=[common],
                     description=_REPLAY_KEYS,
                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("session", metavar="ID", help="session id or unique prefix")
    p.add_argument("--speed", type=float, default=1.0, help="playback speed (default 1)")
    p.add_argument("--idle-limit", type=float, default=2.0, metavar="S",
                   help="cap pauses at S seconds (default 2; 0: no cap)")  # fmt: skip

    run = groups.add_parser("run", help="start an agent on a goal in a new session",
                            parents=[common])  # fmt: skip
    run.add_argument("title", metavar="TITLE", help="what the agent should do")
    run.add_argument("command", nargs="*", metavar="-- COMMAND", help="an ad-hoc agent command")
    run.add_argument("--objective", metavar="TEXT", help="more detail for the agent")
    run.add_argument("--agent", metavar="NAME", help="agent config (default claude-code)")
    run.add_argument("--detach", action="store_true", help="do not attach; print the session id")
    run.add_argument("--json", action="store_true", help="with --detach: print JSON")
    run.add_argument("--no-staging", action="store_true", help="work in place (git only)")
    run.add_argument("--sandbox", action=argparse.BooleanOptionalAction, default=None,
                     help="confine the agent (default: the agent config's, on)")  # fmt: skip
    run.add_argument("--detach-key", metavar="KEY", help="detach key (default ctrl-\\)")
    run.add_argument("--size", choices=["smallest", "latest"], default=None,
                     help="the agent's window with terminals of different sizes attached: "
                          "the smallest one's (default: the agent config's, smallest) or the "
                          "latest one's")  # fmt: skip

    demo = groups.add_parser("demo", help="run the whole flow with a demonstration agent",
                             parents=[common])  # fmt: skip
    demo.add_argument("--non-interactive", action="store_true",
                      help="answer for you and print a summary (scripts, tests)")  # fmt: skip
    demo.add_argument("--dir", metavar="DIR", help="where to create the demo project")

    doctor = groups.add_parser("doctor", help="what this machine supports (sandbox, agents)",
                               parents=[common])  # fmt: skip
    doctor.add_argument("--json", action="store_true", help="print JSON")

    serve = groups.add_parser("serve", help="serve the web page and its API", parents=[common])
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    serve.add_argument("--port", type=int, default=8765, help="port (0: any free one)")
    serve.add_argument("--open", action="store_true", help="open the page in a browser")
    serve.add_argument("--token-file", metavar="FILE",
                       help="where the token is kept (default .ta/web-token; a new file, or"
                            " --rotate-token, makes a new token)")  # fmt: skip
    serve.add_argument("--rotate-token", action="store_true", help="make and store a new token")
    serve.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate")
    serve.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    serve.add_argument("--i-know-this-is-exposed", action="store_true",
                       help="allow a non-loopback --host without TLS")  # fmt: skip

    d = _subcommands(groups, "draft", help="review and apply the agent's changes", common=common)
    p = d.add_parser("build", help="build a draft of a goal's changes now", parents=[common])
    p.add_argument("goal", nargs="?", metavar="GOAL", help="goal id or prefix (default: newest)")
    p = d.add_parser("list", help="list drafts", parents=[common])
    p.add_argument("--goal", metavar="GOAL", help="only this goal's drafts")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = d.add_parser("view", help="show a draft with per-file diffs", parents=[common])
    p.add_argument("draft", metavar="DRAFT", help="draft id or unique prefix")
    p.add_argument("--json", action="store_true", help="print JSON")
    for name, text in (("approve", "approve artifacts (all unless --artifact)"),
                       ("reject", "reject artifacts (all unless --artifact)"),
                       ("discuss", "mark artifacts for discussion, with a comment")):  # fmt: skip
        p = d.add_parser(name, help=text, parents=[common])
        p.add_argument("draft", metavar="DRAFT", help="draft id or unique prefix")
        p.add_argument("--artifact", action="append", metavar="URI",
                       help="fs://workspace/<path> or the path (repeatable)")  # fmt: skip
        if name == "reject":
            p.add_argument("--reason", metavar="R", help="why (sent to a running agent)")
        if name == "discuss":
            p.add_argument("--comment", metavar="C", help="the comment (sent to a running agent)")
    p = d.add_parser("apply", help="write approved artifacts into the project", parents=[common])
    p.add_argument("draft", metavar="DRAFT", help="draft id or unique prefix")
    p.add_argument("--force", action="store_true", help="overwrite source changes (conflicts)")
    p.add_argument("--allow-setuid", action="store_true",
                   help="keep setuid/setgid bits the draft adds (dropped otherwise)")  # fmt: skip

    g = _subcommands(groups, "goal", help="goals", common=common)
    p = g.add_parser("list", help="list goals", parents=[common])
    p.add_argument("--json", action="store_true", help="print JSON")
    p = g.add_parser("show", help="show one goal", parents=[common])
    p.add_argument("goal", metavar="ID", help="goal id or unique prefix")
    p.add_argument("--json", action="store_true", help="print JSON")

    a = _subcommands(groups, "audit", help="the audit log", common=common)
    p = a.add_parser("log", help="show audit events", parents=[common])
    p.add_argument("--session", metavar="ID", help="only events of this session")
    p.add_argument("--limit", type=int, metavar="N", help="only the last N events")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    a.add_parser("verify", help="check the hash chain", parents=[common])

    ag = _subcommands(groups, "agents", help="agent configurations", common=common)
    p = ag.add_parser("list", help="list available agents", parents=[common])
    p.add_argument("--json", action="store_true", help="print JSON")
    p = ag.add_parser("show", help="show one agent's configuration", parents=[common])
    p.add_argument("name", metavar="NAME", help="agent name")
    p.add_argument("--json", action="store_true", help="print JSON")

    m = _subcommands(groups, "mcp", help="the MCP server for agents", common=common)
    m.add_parser("serve", help="serve MCP over stdio for the agent of the session in "
                 "TA_SESSION_ID (started by the agent)", parents=[common])  # fmt: skip
    return parser


def _parse(parser: argparse.ArgumentParser, args_list: list[str]) -> argparse.Namespace:
    """Parse; for ``ta run``, everything after ``--`` is the agent command, taken verbatim."""
    if "--" in args_list:
        cut = args_list.index("--")
        head, agent_command = args_list[:cut], args_list[cut + 1 :]
        if "run" in head:
            args = parser.parse_args(head)
            if args.group == "run":
                if args.command:
                    raise UsageError("put the agent command after '--' only")
                if not agent_command:
                    raise UsageError("nothing after '--': give the agent command to run")
                args.command = agent_command
                return args
    return parser.parse_args(args_list)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        args = _parse(build_parser(), args_list)
        single = args.group in ("run", "demo", "doctor", "serve")  # no subcommands
        command = None if single else getattr(args, "command", None)
        module_name, func_name = _HANDLERS[(args.group, command)].split(":")
        module = importlib.import_module(f"ta_session.cli.{module_name}")
        return int(getattr(module, func_name)(args) or 0)
    except UsageError as exc:
        error_line(str(exc))
        return 2
    except CommandError as exc:
        error_line(str(exc))
        return exc.code
    except TaError as exc:  # an expected failure from a lower layer: its message is a sentence
        error_line(str(exc))
        return 2 if isinstance(exc, InvalidRequest) else 1
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
