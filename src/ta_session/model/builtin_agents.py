"""The agents ta knows out of the box (SPEC §6): Claude Code, Codex, aider, Gemini CLI, the
demo agent and ``generic`` (any command after ``--``), as configs a project can override in
``.ta/agents/<name>.yaml``. Pure data, like ``agent``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ta_session.model.agent import BUILTIN_SOURCE, GENERIC_AGENT, AgentConfig

# Regexes over the last screen lines after `idle_after` seconds of silence (SPEC §4.4), tried in
# order (the first that matches names the prompt). They see the screen model's rendered lines,
# as a person does: tests/test_screen.py holds a corpus of each agent's screens. Best effort:
# agents change their TUIs; a project can override them in .ta/agents/<name>.yaml.
_CLAUDE_PROMPTS = [
    r"Do you want to .+\?",  # permission questions ("Do you want to make this edit …?")
    r"❯\s*\d+\.\s",  # a numbered choice menu with the cursor on it
    # The empty input box (`>` in older versions, `❯` now), with or without a placeholder.
    r'^[\s│]*[>❯]\s*(?:Try ".*")?[\s│]*$',
]
_QUESTION_PROMPTS = [r"\((?:y/n|Y/n|y/N)\)|\[(?:y/n|Y/n|y/N)\]", r"Would you like to .+\?"]

BUILTIN_AGENTS: dict[str, dict[str, Any]] = {
    "claude-code": {
        "description": "Anthropic's Claude Code CLI",
        "command": "claude",
        # --session-id pins Claude Code's conversation id to the TA session id, so that
        # `claude --resume {session_id}` can find the conversation again after a lost host.
        "args_template": ["--session-id", "{session_id}", "{prompt}"],
        "interactive": {
            "enabled": True,
            "output_capture": "pty",
            "resume_cmd": "claude --resume {session_id}",
        },
        "prompt_patterns": _CLAUDE_PROMPTS,
        "install_hint": "Install Claude Code: npm install -g @anthropic-ai/claude-code",
        # Claude Code keeps its login, settings and conversations here.
        "sandbox": {"mode": "on", "writable": ["~/.claude", "~/.claude.json"]},
        # `ta mcp serve` through an inline --mcp-config (a JSON string: nothing is written to
        # the project, the workspace or the draft; a project's own .mcp.json still applies).
        "mcp_args": ["--mcp-config", "{mcp_config}"],
    },
    "codex": {
        "description": "OpenAI's Codex CLI",
        "command": "codex",
        "args_template": ["{prompt}"],
        "interactive": {"enabled": True, "output_capture": "pty"},
        "prompt_patterns": [*_QUESTION_PROMPTS, r"Allow .+\?"],
        "install_hint": "Install the Codex CLI: npm install -g @openai/codex",
        "sandbox": {"mode": "on", "writable": ["~/.codex"]},
        # Config overrides on the command line (-c key=TOML value): ~/.codex stays untouched.
        "mcp_args": [
            "-c",
            "mcp_servers.ta.command={mcp_command}",
            "-c",
            "mcp_servers.ta.args={mcp_args}",
            "-c",
            "mcp_servers.ta.env={mcp_env}",
        ],
    },
    "aider": {
        # aider's positional arguments are files to edit, so the prompt goes through
        # --message, which makes aider answer it and exit (one-shot, not a chat).
        "description": "aider, one-shot: answers the goal prompt with --message, then exits",
        "command": "aider",
        "args_template": ["--message", "{prompt}"],
        "interactive": {"enabled": True, "output_capture": "pty"},
        # aider asks everything as "…? (Y)es/(N)o [Yes]:" (prompt_toolkit).
        "prompt_patterns": [r"\(Y\)es/\(N\)o", r"Would you like to .+\?"],
        "install_hint": "Install aider: python -m pip install aider-install && aider-install",
        "sandbox": {"mode": "on", "writable": ["~/.aider"]},
    },
    "gemini": {
        "description": "Google's Gemini CLI (-i: run the prompt, then stay interactive)",
        "command": "gemini",
        "args_template": ["-i", "{prompt}"],
        "interactive": {"enabled": True, "output_capture": "pty"},
        "prompt_patterns": [r"Allow execution", r"Apply this change\?", r"●\s*1\.\s*Yes"],
        "install_hint": "Install the Gemini CLI: npm install -g @google/gemini-cli",
        "sandbox": {"mode": "on", "writable": ["~/.gemini"]},
    },
    "shell": {
        # A person does the work in the staging workspace and still gets a reviewed draft.
        # No {prompt}: a shell would run it as a script.
        "description": "Your $SHELL in the staging workspace: you do the work, TA drafts it",
        "command": "$SHELL",
        "args_template": [],
        "interactive": {"enabled": True, "output_capture": "pty"},
        "install_hint": "Set $SHELL to your shell (falls back to /bin/sh)",
    },
    GENERIC_AGENT: {
        "description": "Any command: ta run TITLE -- COMMAND ARGS…",
        "args_template": [],
        "interactive": {"enabled": True, "output_capture": "pty"},
    },
}


def builtin_agent(name: str) -> AgentConfig | None:
    """A fresh copy of the built-in config ``name``, or None."""
    data = BUILTIN_AGENTS.get(name)
    if data is None:
        return None
    return AgentConfig.from_dict(copy.deepcopy(data), BUILTIN_SOURCE, name=name)


def builtin_agents() -> dict[str, AgentConfig]:
    """Fresh copies of every built-in config, by name (callers may modify them)."""
    return {name: config for name in BUILTIN_AGENTS if (config := builtin_agent(name))}


def generic_agent(argv: Sequence[str], base: AgentConfig | None = None) -> AgentConfig:
    """The agent for ``ta run … -- COMMAND ARGS…``.

    ``base`` (the catalog's ``generic`` config, possibly overridden in YAML) supplies everything
    except the command and its arguments. ``{prompt}`` in the arguments is substituted like in
    any template, so ``-- mytool --task={prompt}`` works.
    """
    if not argv or not argv[0].strip():
        raise ValueError("no command given after '--'")
    template = base or builtin_agent(GENERIC_AGENT)
    assert template is not None  # GENERIC_AGENT is in BUILTIN_AGENTS
    config = copy.deepcopy(template)  # never share mutable parts with the caller's base
    config.command = argv[0]
    config.args_template = list(argv[1:])
    return config
