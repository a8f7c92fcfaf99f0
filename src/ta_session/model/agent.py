"""Agent configurations (SPEC §6): how to launch an agent and how to talk to it.

Pure data: nothing here reads files, the environment or PATH. ``ta_session.store.agents`` finds
and parses the YAML files; the session host turns a config into a process.

YAML fields are the reference's (``name``, ``description``, ``command``, ``args_template``,
``env``, ``pre_launch``, ``interactive``) plus ours (``submit_key``, ``prompt_patterns``,
``idle_after``, ``detach_key``, ``install_hint``, ``sandbox``, ``mcp_args``, ``window_size``).
Keys we do not know (the reference's ``injects_context_file``, ``injects_settings``,
``alignment``, …) are kept in ``extra`` so that ``to_dict`` writes them back, and are otherwise
ignored.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ta_session.model.config import InteractiveConfig
from ta_session.model.errors import RecordFormatError
from ta_session.model.host import WindowSize
from ta_session.model.sandbox import SandboxSettings

BUILTIN_SOURCE = "built-in"
GENERIC_AGENT = "generic"
DEFAULT_SUBMIT_KEY = "\r"
DEFAULT_IDLE_AFTER = 2.0
DEFAULT_DETACH_SEQUENCE = b"\x1c"  # Ctrl-\ (SPEC §4.2)

# Agent names become file names (.ta/agents/<name>.yaml): no separators, no leading dot.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
# One pass over both placeholders, so a prompt that itself contains "{session_id}" is not
# substituted a second time.
_PLACEHOLDER = re.compile(r"\{(prompt|session_id)\}")
# A command that is exactly one variable reference ("$SHELL", "${SHELL}") is looked up in the
# environment at launch: the config stays portable between machines and users.
_VAR_COMMAND = re.compile(r"\$(?:\{(\w+)\}|(\w+))\Z")
_COMMAND_FALLBACKS = {"SHELL": "/bin/sh"}
# "ctrl-]", "C-]", "^]": the notations people know from tmux, screen and stty.
_CTRL_KEY = re.compile(r"(?:ctrl-|c-|\^)(.)\Z", re.IGNORECASE)

_FIELDS = (
    "name",
    "description",
    "command",
    "args_template",
    "env",
    "pre_launch",
    "interactive",
    "submit_key",
    "prompt_patterns",
    "idle_after",
    "detach_key",
    "install_hint",
    "sandbox",
    "mcp_args",
    "window_size",
)


class AgentConfigError(RecordFormatError):
    """An agent config that cannot be used; ``source`` names where it came from."""

    def __init__(self, source: str, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


@dataclass(slots=True)
class AgentConfig:
    name: str
    command: str
    description: str = ""
    args_template: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # Kept as given (the reference's {command, args}); the host runs it before the agent.
    pre_launch: dict[str, Any] | None = None
    interactive: InteractiveConfig = field(default_factory=InteractiveConfig)
    submit_key: str = DEFAULT_SUBMIT_KEY
    prompt_patterns: list[str] = field(default_factory=list)
    idle_after: float = DEFAULT_IDLE_AFTER
    detach_key: str | None = None  # None: Ctrl-\
    install_hint: str | None = None
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    # Arguments that wire `ta mcp serve` into an agent that reads MCP configuration, put right
    # after its command; {mcp_config}, {mcp_command}, {mcp_args}, {mcp_env} are filled in at
    # launch (host/mcp_wiring.py). Empty: the agent is not wired.
    mcp_args: list[str] = field(default_factory=list)
    # The agent's window with terminals of different sizes attached; `ta run --size` wins.
    window_size: WindowSize = WindowSize.SMALLEST
    # Where the config came from: a file path, or "built-in". Not part of the YAML.
    source: str = field(default=BUILTIN_SOURCE, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _compiled: tuple[re.Pattern[str], ...] = field(
        default=(), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Compiled once here so that a bad pattern fails at load time, not in the host later.
        self._compiled = _compile_patterns(self.prompt_patterns)

    # ----------------------------------------------------------------------------- loading

    @classmethod
    def from_dict(cls, data: Any, source: str, *, name: str | None = None) -> AgentConfig:
        """Build and validate a config from parsed YAML.

        ``name`` is the name the config was looked up by (its file name); it wins over a
        ``name:`` field, which the reference treats as informational only.
        Raises ``AgentConfigError`` (a ``RecordFormatError``) naming ``source`` and the problem.
        """
        try:
            return cls._from_dict(data, source, name)
        except AgentConfigError:
            raise
        except RecordFormatError as exc:
            raise AgentConfigError(source, str(exc)) from None

    @classmethod
    def _from_dict(cls, data: Any, source: str, name: str | None) -> AgentConfig:
        if data is None:
            raise RecordFormatError("the file is empty; expected a mapping with 'command'")
        if not isinstance(data, dict):
            raise RecordFormatError(f"expected a mapping of agent settings, got {_type_name(data)}")
        for key in data:
            if not isinstance(key, str):
                raise RecordFormatError(f"setting names must be strings, got {key!r}")
        if name is None:
            name = _optional_str(data, "name")
            if name is None:
                raise RecordFormatError("missing required field 'name'")
        if not _NAME.match(name):
            raise RecordFormatError(
                f"agent name {name!r} must be letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )

        command = data.get("command")
        if command is None and name != GENERIC_AGENT:
            # 'generic' gets its command from `ta run … -- COMMAND`; its YAML only tunes the rest.
            raise RecordFormatError("missing required field 'command'")
        if command is not None and (not isinstance(command, str) or not command.strip()):
            raise RecordFormatError(
                f"'command' must be a non-empty string, got {_type_name(command)}"
            )

        try:
            interactive = InteractiveConfig.from_dict(data.get("interactive"))
        except RecordFormatError as exc:
            raise RecordFormatError(f"interactive: {exc}") from None

        config = cls(
            name=name,
            command=command or "",
            description=_optional_str(data, "description") or "",
            args_template=_str_list(data, "args_template"),
            env=_env(data.get("env")),
            pre_launch=_pre_launch(data.get("pre_launch")),
            interactive=interactive,
            submit_key=_submit_key(data.get("submit_key")),
            prompt_patterns=_str_list(data, "prompt_patterns"),
            idle_after=_idle_after(data.get("idle_after")),
            detach_key=_optional_str(data, "detach_key"),
            install_hint=_optional_str(data, "install_hint"),
            sandbox=_sandbox(data.get("sandbox")),
            mcp_args=_str_list(data, "mcp_args"),
            window_size=_window_size(data.get("window_size")),
            source=source,
            extra={k: v for k, v in data.items() if k not in _FIELDS},
        )
        config.detach_sequence()  # raises on an empty detach key
        if interactive.resume_cmd is not None:
            try:
                shlex.split(interactive.resume_cmd)
            except ValueError as exc:
                raise RecordFormatError(f"interactive: 'resume_cmd': {exc}") from None
        return config

    def to_dict(self) -> dict[str, Any]:
        """The YAML fields, in the documented order, then unknown keys as they were read."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "command": self.command or None,  # None only for 'generic'
            "args_template": list(self.args_template),
            "env": dict(self.env),
            "pre_launch": self.pre_launch,
            "interactive": self.interactive.to_dict(),
            "submit_key": self.submit_key,
            "prompt_patterns": list(self.prompt_patterns),
            "idle_after": self.idle_after,
            "detach_key": self.detach_key,
            "install_hint": self.install_hint,
            "sandbox": self.sandbox.to_value(),
            "mcp_args": list(self.mcp_args),
            "window_size": self.window_size.value,
        }
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    # ----------------------------------------------------------------------------- launching

    def resolved_command(self, environ: Mapping[str, str] | None = None) -> str:
        """The executable to run: ``$VAR`` / ``${VAR}`` looked up in ``environ``."""
        return _resolve_command(self.command, environ)

    def argv(
        self,
        prompt: str,
        environ: Mapping[str, str] | None = None,
        *,
        session_id: str | None = None,
    ) -> list[str]:
        """``[command, *args_template]`` with ``{prompt}`` (and ``{session_id}``) substituted.

        Each template element stays one argument whatever the prompt holds (spaces, quotes,
        newlines): nothing is ever re-split or passed through a shell.
        Raises ``ValueError`` when the config cannot be launched as it stands (no command, or
        ``{session_id}`` in the template and no ``session_id`` given).
        """
        if not self.command:
            raise ValueError(
                f"agent {self.name!r} has no command; give one after '--': "
                "ta run TITLE -- COMMAND ARGS…"
            )
        values = {"prompt": prompt, "session_id": session_id}
        args = [_substitute(arg, values, self.name) for arg in self.args_template]
        return [self.resolved_command(environ), *args]

    def resume_argv(
        self,
        prompt: str,
        session_id: str,
        environ: Mapping[str, str] | None = None,
    ) -> list[str] | None:
        """The relaunch command from ``interactive.resume_cmd``, or None when there is none.

        The command is split with shell quoting rules first and the placeholders substituted
        afterwards, so a prompt with spaces or quotes stays one argument and cannot inject
        options or commands.
        """
        template = self.interactive.resume_cmd
        if template is None or not template.strip():
            return None
        words = shlex.split(template)
        values = {"prompt": prompt, "session_id": session_id}
        argv = [_substitute(word, values, self.name) for word in words]
        # The first word gets the same $SHELL-style lookup as `command`.
        return [_resolve_command(argv[0], environ), *argv[1:]]

    def prompt_regexes(self) -> tuple[re.Pattern[str], ...]:
        """``prompt_patterns`` compiled with ``re.MULTILINE`` (``^``/``$`` match per line)."""
        return self._compiled

    def detach_sequence(self) -> bytes:
        """The bytes that detach an attached terminal.

        ``detach_key`` is either a literal string (``"\\x1d"`` in double-quoted YAML) or
        ``ctrl-X`` / ``C-X`` / ``^X``; None means Ctrl-\\.
        """
        return key_sequence(self.detach_key)


def key_sequence(key: str | None) -> bytes:
    """The bytes of a key given as ``ctrl-X`` / ``C-X`` / ``^X`` or a literal; None: Ctrl-\\."""
    if key is None:
        return DEFAULT_DETACH_SEQUENCE
    if not key:
        raise RecordFormatError("'detach_key' must not be empty")
    match = _CTRL_KEY.match(key)
    if match is not None:
        char = match[1]
        if char == "?":
            return b"\x7f"
        code = ord(char.upper())
        if 0x40 <= code <= 0x5F:  # @, A–Z, [, \, ], ^, _
            return bytes([code & 0x1F])
        raise RecordFormatError(f"'detach_key' {key!r}: there is no Ctrl-{char} key")
    return key.encode("utf-8")


# --------------------------------------------------------------------------------- validation


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string" if value.strip() else "an empty string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _sandbox(value: Any) -> SandboxSettings:
    try:
        return SandboxSettings.from_value(value)
    except RecordFormatError:
        raise
    except (TypeError, ValueError) as exc:
        raise RecordFormatError(f"'sandbox': {exc}") from None


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordFormatError(f"'{key}' must be a string, got {_type_name(value)}")
    return value


def _str_list(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordFormatError(f"'{key}' must be a list of strings, got {_type_name(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            # A YAML number or boolean would be passed as its Python spelling ("True"):
            # better to ask for quotes than to guess.
            raise RecordFormatError(
                f"'{key}' item {i + 1} must be a string, got {_type_name(item)} "
                f"({item!r}); quote it"
            )
    return list(value)


def _env(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordFormatError(f"'env' must be a mapping of NAME: value, got {_type_name(value)}")
    env: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise RecordFormatError(f"'env' has an invalid variable name {key!r}")
        # Integers are unambiguous; booleans and floats are not (YAML reads `yes` as true and
        # `1.10` as 1.1), so those must be quoted.
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str):
            raise RecordFormatError(
                f"'env.{key}' must be a string, got {_type_name(item)} ({item!r}); quote it"
            )
        if "\0" in item:
            raise RecordFormatError(f"'env.{key}' must not contain a NUL character")
        env[key] = item
    return env


def _pre_launch(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordFormatError(
            f"'pre_launch' must be a mapping with 'command' and 'args', got {_type_name(value)}"
        )
    command = value.get("command")
    if not isinstance(command, str) or not command.strip():
        raise RecordFormatError("'pre_launch.command' must be a non-empty string")
    args = value.get("args")
    if args is not None and (
        not isinstance(args, list) or not all(isinstance(a, str) for a in args)
    ):
        raise RecordFormatError("'pre_launch.args' must be a list of strings")
    return dict(value)


def _submit_key(value: Any) -> str:
    if value is None:
        return DEFAULT_SUBMIT_KEY
    if not isinstance(value, str) or not value:
        raise RecordFormatError(
            f"'submit_key' must be a non-empty string such as \"\\r\", got {value!r}"
        )
    return value


def _idle_after(value: Any) -> float:
    if value is None:
        return DEFAULT_IDLE_AFTER
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordFormatError(
            f"'idle_after' must be a number of seconds, got {_type_name(value)}"
        )
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise RecordFormatError(f"'idle_after' must be more than 0 seconds, got {value!r}")
    return seconds


def _window_size(value: Any) -> WindowSize:
    if value is None:
        return WindowSize.SMALLEST
    try:
        return WindowSize(value)
    except ValueError:
        choices = " or ".join(repr(size.value) for size in WindowSize)
        raise RecordFormatError(f"'window_size' must be {choices}, got {value!r}") from None


def _compile_patterns(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.MULTILINE))
        except re.error as exc:
            raise RecordFormatError(f"'prompt_patterns': bad regex {pattern!r}: {exc}") from None
    return tuple(compiled)


def _resolve_command(command: str, environ: Mapping[str, str] | None) -> str:
    match = _VAR_COMMAND.match(command)
    if match is None:
        return command
    variable = match[1] or match[2]
    value = (environ or {}).get(variable, "")
    if value:
        return value
    return _COMMAND_FALLBACKS.get(variable, command)


def _substitute(template: str, values: Mapping[str, str | None], agent: str) -> str:
    def replace(match: re.Match[str]) -> str:
        value = values[match[1]]
        if value is None:
            raise ValueError(f"agent {agent!r} needs a session id to launch ({match[0]})")
        return value

    return _PLACEHOLDER.sub(replace, template)
