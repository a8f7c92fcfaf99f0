"""``ta agents list|show``: which agents exist, where each is defined, and whether it can run."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from ta_session.cli.output import CommandError, one_line, print_json, table, warn
from ta_session.model.agent import BUILTIN_SOURCE, AgentConfig
from ta_session.store.agents import (
    AgentCatalog,
    command_available,
    find_executable,
    missing_command_message,
)
from ta_session.store.errors import CorruptRecordError, NotFoundError
from ta_session.store.layout import find_project_root

_EXAMPLE_PROMPT = "<prompt>"
_EXAMPLE_SESSION = "<session-id>"


def cmd_list(args: argparse.Namespace) -> int:
    root = _project_root(args)
    catalog = AgentCatalog(root)
    agents = catalog.list()
    # A broken file is never skipped silently (SPEC §12): one warning line per file.
    for path, problem in catalog.errors:
        warn(f"{path}: {problem}")
    if args.json:
        print_json([_json(config) for config in agents])
        return 0
    rows = [
        [
            config.name,
            config.command or "(after --)",
            _available_text(command_available(config)),
            config.interactive.output_capture,
            _source_text(config.source, root),
            one_line(config.description, 60),
        ]
        for config in agents
    ]
    print(table(["NAME", "COMMAND", "ON PATH", "CAPTURE", "SOURCE", "DESCRIPTION"], rows))
    print(f"{len(agents)} agent(s).")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    root = _project_root(args)
    config = _get(AgentCatalog(root), args.name)
    if args.json:
        print_json(_json(config))
        return 0
    interactive = config.interactive
    available = command_available(config)
    if available is None:
        command_line = "(the command given after --: ta run TITLE -- COMMAND ARGS…)"
    elif available:
        resolved = config.resolved_command(os.environ)
        command_line = f"{config.command} ({find_executable(resolved)})"
    else:
        command_line = f"{config.command} (not found)"
    lines = [
        f"Agent:            {config.name}",
        f"Description:      {config.description or '-'}",
        f"Source:           {_source_text(config.source, root)}",
        f"Command:          {command_line}",
        f"Arguments:        {_quoted(config.args_template) or '-'}",
    ]
    if config.command:
        lines.append(f"Launches as:      {_quoted(_example_argv(config))}")
    lines.append(f"Environment:      {'-' if not config.env else ''}".rstrip())
    lines += [f"  {key}={value}" for key, value in config.env.items()]
    lines += [
        f"Pre-launch:       {_pre_launch_text(config.pre_launch)}",
        "Interactive:",
        f"  Enabled:        {_yes_no(interactive.enabled)}",
        f"  Output capture: {interactive.output_capture}",
        f"  Human input:    {'allowed' if interactive.allow_human_input else 'not allowed'}",
        f"  Auto exit on:   {interactive.auto_exit_on or '-'}",
        f"  Resume command: {interactive.resume_cmd or '- (relaunch the original command)'}",
        f"Submit key:       {_key_text(config.submit_key)}",
        f"Detach key:       {_detach_text(config.detach_key)}",
        f"Idle after:       {config.idle_after:g}s",
        f"Window size:      {config.window_size} (with terminals of different sizes attached)",
        f"Prompt patterns:  {'-' if not config.prompt_patterns else ''}".rstrip(),
        *(f"  {pattern}" for pattern in config.prompt_patterns),
        f"MCP:              {_mcp_text(config)}",
    ]
    if available is False:
        lines.append(f"Not runnable:     {missing_command_message(config)}")
    elif config.install_hint:
        lines.append(f"Install:          {config.install_hint}")
    if config.extra:
        lines.append(f"Ignored keys:     {', '.join(sorted(config.extra))}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


# ---------------------------------------------------------------------------------- helpers


def _project_root(args: argparse.Namespace) -> Path:
    root = find_project_root(override=getattr(args, "project", None))
    if not root.is_dir():
        raise CommandError(
            f"project folder {root} does not exist (check --project / TA_PROJECT_ROOT)"
        )
    return root


def _get(catalog: AgentCatalog, name: str) -> AgentConfig:
    try:
        return catalog.get(name)
    except (CorruptRecordError, NotFoundError) as exc:
        raise CommandError(str(exc)) from None


def _json(config: AgentConfig) -> dict[str, Any]:
    out = config.to_dict()
    out["source"] = config.source
    out["available"] = command_available(config)
    out["mcp_wired"] = bool(config.mcp_args)
    return out


def _mcp_text(config: AgentConfig) -> str:
    """Whether the session's ``ta`` MCP server is wired into the agent, and how."""
    if not config.mcp_args:
        return "not wired (an agent that reads MCP config can opt in with mcp_args: docs/mcp.md)"
    return f"wired: ta mcp serve, through {_quoted(config.mcp_args)}"


def _example_argv(config: AgentConfig) -> list[str]:
    try:
        return config.argv(_EXAMPLE_PROMPT, os.environ, session_id=_EXAMPLE_SESSION)
    except ValueError:
        return [config.command, *config.args_template]


def _source_text(source: str, root: Path) -> str:
    """Paths shortened to what a person would type: relative to the project, or ``~/…``."""
    if source == BUILTIN_SOURCE:
        return source
    path = Path(source)
    for base, prefix in ((root, ""), (Path.home(), "~/")):
        try:
            return prefix + str(path.relative_to(base))
        except ValueError:
            continue
    return source


def _available_text(available: bool | None) -> str:
    return "-" if available is None else _yes_no(available)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _quoted(argv: list[str]) -> str:
    return shlex.join(argv)


def _key_text(key: str) -> str:
    names = {"\r": "Enter (\\r)", "\n": "newline (\\n)", "\r\n": "\\r\\n"}
    return names.get(key, repr(key))


def _detach_text(key: str | None) -> str:
    return "Ctrl-\\ (default)" if key is None else _key_text(key)


def _pre_launch_text(pre_launch: dict[str, Any] | None) -> str:
    if not pre_launch:
        return "-"
    command = str(pre_launch.get("command", ""))
    args = pre_launch.get("args") or []
    return shlex.join([command, *(str(a) for a in args)])
