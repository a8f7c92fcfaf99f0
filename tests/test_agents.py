"""Agent configurations (SPEC §6): YAML files, search order, launch commands, the CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ta_session.model.agent import BUILTIN_SOURCE, AgentConfig, AgentConfigError
from ta_session.model.builtin_agents import (
    BUILTIN_AGENTS,
    builtin_agent,
    builtin_agents,
    generic_agent,
)
from ta_session.model.errors import RecordFormatError
from ta_session.model.goal import goal_prompt
from ta_session.store.agents import (
    AgentCatalog,
    AgentFileError,
    command_available,
    find_executable,
    missing_command_message,
)
from ta_session.store.errors import CorruptRecordError, NotFoundError

BUILTIN_NAMES = ["aider", "claude-code", "codex", "gemini", "generic", "shell"]

# Prompts that a shell or a naive split would mangle.
AWKWARD_PROMPTS = [
    "Fix the login bug",
    "Say \"hello\" and 'bye'",
    "Line one\n\nObjective: line three",
    "$(rm -rf /) `id` ; && | > out.txt",
    "  leading and trailing spaces  ",
    "literal {session_id} and {prompt} inside",
    "",
    "ünïcödé ✓ 日本語",
]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home folder of our own, so the developer's ~/.config/ta never leaks into tests."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def write_agent(folder: Path, name: str, text: str, ext: str = ".yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{ext}"
    path.write_text(text, encoding="utf-8")
    return path


def project_agents(project: Path) -> Path:
    return project / ".ta" / "agents"


def user_agents(home: Path) -> Path:
    return home / ".config" / "ta" / "agents"


def cli_env(home: Path, path: str | None = None) -> dict[str, str]:
    env = {"HOME": str(home)}
    if path is not None:
        env["PATH"] = path
    return env


def make_executable(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / name
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


# ------------------------------------------------------------------------ search order


def test_project_file_overrides_user_file_overrides_builtin(project: Path, home: Path) -> None:
    catalog = AgentCatalog(project, home=home)
    assert catalog.get("codex").source == BUILTIN_SOURCE
    assert catalog.get("codex").command == "codex"

    user_file = write_agent(user_agents(home), "codex", "command: user-codex\n")
    assert catalog.get("codex").command == "user-codex"
    assert catalog.get("codex").source == str(user_file)

    project_file = write_agent(project_agents(project), "codex", "command: project-codex\n")
    config = catalog.get("codex")
    assert config.command == "project-codex"
    assert config.source == str(project_file)
    assert config.name == "codex"


def test_yml_extension_and_yaml_preferred(project: Path, home: Path) -> None:
    folder = project_agents(project)
    write_agent(folder, "mine", "command: from-yml\n", ext=".yml")
    catalog = AgentCatalog(project, home=home)
    assert catalog.get("mine").command == "from-yml"
    write_agent(folder, "mine", "command: from-yaml\n")
    assert catalog.get("mine").command == "from-yaml"


def test_user_dir_comes_from_home_env_by_default(
    project: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(home))
    write_agent(user_agents(home), "helper", "command: helper-bin\n")
    assert AgentCatalog(project).get("helper").command == "helper-bin"


def test_list_merges_all_places_first_match_wins(project: Path, home: Path) -> None:
    write_agent(user_agents(home), "codex", "command: user-codex\n")
    write_agent(user_agents(home), "only-user", "command: u\n")
    write_agent(project_agents(project), "codex", "command: project-codex\n")
    write_agent(project_agents(project), "only-project", "command: p\n")
    catalog = AgentCatalog(project, home=home)
    agents = {a.name: a for a in catalog.list()}
    assert sorted(agents) == sorted([*BUILTIN_NAMES, "only-user", "only-project"])
    assert agents["codex"].command == "project-codex"
    assert agents["only-user"].source == str(user_agents(home) / "only-user.yaml")
    assert agents["claude-code"].source == BUILTIN_SOURCE
    assert catalog.errors == []


def test_file_name_is_the_agent_name(project: Path, home: Path) -> None:
    # The reference writes `name:` but treats it as informational; lookups go by file name.
    write_agent(project_agents(project), "my-claude", "name: claude-code\ncommand: claude\n")
    config = AgentCatalog(project, home=home).get("my-claude")
    assert config.name == "my-claude"


def test_unknown_agent_lists_available_names(project: Path, home: Path) -> None:
    write_agent(project_agents(project), "custom", "command: c\n")
    with pytest.raises(NotFoundError) as err:
        AgentCatalog(project, home=home).get("nope")
    message = str(err.value)
    assert "'nope'" in message
    for name in [*BUILTIN_NAMES, "custom"]:
        assert name in message


@pytest.mark.parametrize("name", ["../secret", "a/b", ".hidden", ""])
def test_names_cannot_leave_the_agents_folder(project: Path, home: Path, name: str) -> None:
    (project / ".ta" / "secret.yaml").write_text("command: evil\n")
    with pytest.raises(NotFoundError):
        AgentCatalog(project, home=home).get(name)


# ------------------------------------------------------------------------ launch commands


@pytest.mark.parametrize("prompt", AWKWARD_PROMPTS)
def test_prompt_is_one_argv_element(prompt: str) -> None:
    config = AgentConfig.from_dict(
        {"command": "tool", "args_template": ["--flag", "{prompt}", "--task={prompt}!", "x"]},
        "test",
        name="tool",
    )
    assert config.argv(prompt) == ["tool", "--flag", prompt, f"--task={prompt}!", "x"]


def test_goal_prompt_reaches_a_real_process_intact(tmp_path: Path) -> None:
    title = 'Fix "auth" bug; rm -rf $HOME'
    prompt = goal_prompt(title, "Don't break\nthe 'login' page")
    config = AgentConfig.from_dict(
        {
            "command": sys.executable,
            "args_template": [
                "-c",
                "import sys, json; print(json.dumps(sys.argv[1:]))",
                "{prompt}",
            ],
        },
        "test",
        name="echo",
    )
    out = subprocess.run(config.argv(prompt), capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [prompt]


def test_builtin_launch_commands() -> None:
    prompt = "Implement: it"
    env = {"SHELL": "/bin/zsh"}
    agents = builtin_agents()
    assert sorted(agents) == BUILTIN_NAMES
    assert agents["claude-code"].argv(prompt, env, session_id="S") == [
        "claude", "--session-id", "S", prompt,
    ]  # fmt: skip
    assert agents["codex"].argv(prompt, env) == ["codex", prompt]
    assert agents["aider"].argv(prompt, env) == ["aider", "--message", prompt]
    assert agents["gemini"].argv(prompt, env) == ["gemini", "-i", prompt]
    assert agents["shell"].argv(prompt, env) == ["/bin/zsh"]
    for config in agents.values():
        assert config.source == BUILTIN_SOURCE
        assert config.description
        assert config.interactive.enabled is True
        assert config.interactive.output_capture == "pty"


def test_claude_code_needs_the_session_id_to_launch() -> None:
    config = builtin_agent("claude-code")
    assert config is not None
    with pytest.raises(ValueError, match="session id"):
        config.argv("p")


def test_shell_falls_back_to_bin_sh() -> None:
    shell = builtin_agent("shell")
    assert shell is not None
    assert shell.argv("p") == ["/bin/sh"]
    assert shell.argv("p", {"SHELL": ""}) == ["/bin/sh"]
    assert shell.argv("p", {"SHELL": "/usr/bin/fish"}) == ["/usr/bin/fish"]
    braced = AgentConfig.from_dict({"command": "${SHELL}"}, "test", name="b")
    assert braced.argv("p", {"SHELL": "/bin/dash"}) == ["/bin/dash"]


@pytest.mark.parametrize("prompt", AWKWARD_PROMPTS)
def test_resume_cmd_is_split_with_shell_rules_then_substituted(prompt: str) -> None:
    config = AgentConfig.from_dict(
        {
            "command": "tool",
            "interactive": {
                "resume_cmd": "tool --resume {session_id} --note '{prompt}' \"two words\" x\\ y"
            },
        },
        "test",
        name="tool",
    )
    assert config.resume_argv(prompt, "1234") == [
        "tool", "--resume", "1234", "--note", prompt, "two words", "x y",
    ]  # fmt: skip


def test_builtin_resume_commands() -> None:
    claude = builtin_agent("claude-code")
    codex = builtin_agent("codex")
    assert claude is not None and codex is not None
    assert claude.resume_argv("p", "abc") == ["claude", "--resume", "abc"]
    assert codex.resume_argv("p", "abc") is None


def test_generic_agent_runs_the_given_command() -> None:
    config = generic_agent(["python3", "-m", "tool", "--task={prompt}"])
    assert config.name == "generic"
    assert config.interactive.output_capture == "pty"
    assert config.argv("a b") == ["python3", "-m", "tool", "--task=a b"]
    with pytest.raises(ValueError):
        generic_agent([])
    template = builtin_agent("generic")
    assert template is not None
    with pytest.raises(ValueError, match="after '--'"):
        template.argv("p")


def test_generic_agent_takes_settings_from_a_generic_yaml(project: Path, home: Path) -> None:
    # A generic.yaml needs no command: `ta run … -- COMMAND` supplies it.
    write_agent(
        project_agents(project),
        "generic",
        "env: {FOO: bar}\nidle_after: 5\ninteractive: {enabled: true, output_capture: pipe}\n",
    )
    base = AgentCatalog(project, home=home).get("generic")
    config = generic_agent(["mytool"], base)
    assert config.argv("p") == ["mytool"]
    assert config.env == {"FOO": "bar"}
    assert config.idle_after == 5.0
    assert config.interactive.output_capture == "pipe"
    config.env["X"] = "y"
    assert base.env == {"FOO": "bar"}  # not shared


# ------------------------------------------------------------------------ fields and defaults


def test_interactive_defaults_without_interactive_section(project: Path, home: Path) -> None:
    write_agent(project_agents(project), "plain", "command: plain\nargs_template: ['{prompt}']\n")
    config = AgentCatalog(project, home=home).get("plain")
    assert config.interactive.enabled is False
    assert config.interactive.output_capture == "pipe"
    assert config.interactive.allow_human_input is True
    assert config.interactive.auto_exit_on is None
    assert config.interactive.resume_cmd is None
    assert config.submit_key == "\r"
    assert config.idle_after == 2.0
    assert config.detach_key is None
    assert config.detach_sequence() == b"\x1c"
    assert config.prompt_patterns == []
    assert config.env == {}
    assert config.pre_launch is None
    assert config.resume_argv("p", "s") is None


def test_reference_style_file_with_all_fields(project: Path, home: Path) -> None:
    text = """\
# Agent Configuration: claude-flow
name: claude-flow
description: Claude Flow multi-agent orchestration
command: npx
args_template:
  - claude-flow@alpha
  - hive-mind
  - spawn
  - "{prompt}"
  - --claude
injects_context_file: true
injects_settings: true
pre_launch:
  command: npx
  args: [claude-flow@alpha, hive-mind, init]
env:
  FLOW_MODE: fast
  RETRIES: 3
alignment:
  security_level: checkpoint
interactive:
  enabled: true
  output_capture: pty
  allow_human_input: false
  auto_exit_on: "idle_timeout: 300s"
  resume_cmd: "npx claude-flow@alpha resume {session_id}"
submit_key: "\\n"
prompt_patterns:
  - '^\\? .+'
  - "Continue\\\\?"
idle_after: 0.5
detach_key: ctrl-]
"""
    write_agent(project_agents(project), "claude-flow", text)
    config = AgentCatalog(project, home=home).get("claude-flow")
    assert config.args_template[3] == "{prompt}"
    assert config.pre_launch == {
        "command": "npx",
        "args": ["claude-flow@alpha", "hive-mind", "init"],
    }
    assert config.env == {"FLOW_MODE": "fast", "RETRIES": "3"}
    assert config.interactive.allow_human_input is False
    assert config.interactive.idle_timeout_seconds() == 300.0
    assert config.submit_key == "\n"
    assert config.idle_after == 0.5
    assert config.detach_sequence() == b"\x1d"
    assert config.extra == {
        "injects_context_file": True,
        "injects_settings": True,
        "alignment": {"security_level": "checkpoint"},
    }
    regexes = config.prompt_regexes()
    assert regexes[0].search("working…\n? Pick one") is not None  # MULTILINE: ^ per line
    assert regexes[1].search("Continue?") is not None
    # to_dict writes everything back, unknown keys included, and reads back the same.
    data = config.to_dict()
    assert data["injects_context_file"] is True
    assert AgentConfig.from_dict(data, "again", name="claude-flow") == config


@pytest.mark.parametrize("name", sorted(BUILTIN_AGENTS))
def test_builtins_round_trip_through_to_dict(name: str) -> None:
    config = builtin_agent(name)
    assert config is not None
    assert AgentConfig.from_dict(config.to_dict(), "copy") == config
    assert config.prompt_regexes() is not None


def test_claude_code_prompt_patterns_match_its_prompts() -> None:
    config = builtin_agent("claude-code")
    assert config is not None

    def waiting(screen: str) -> bool:
        return any(r.search(screen) for r in config.prompt_regexes())

    assert waiting("│ Do you want to make this edit to auth.py?\n│ ❯ 1. Yes\n│   2. No")
    assert waiting('╭────╮\n│ > Try "fix lint errors"      │\n╰────╯')
    assert waiting("────────\n> \n────────")
    assert not waiting("✻ Thinking… (esc to interrupt)")


@pytest.mark.parametrize(
    ("key", "expected"),
    [("ctrl-]", b"\x1d"), ("C-a", b"\x01"), ("^\\", b"\x1c"), ("^?", b"\x7f"), ("\x1d", b"\x1d")],
)
def test_detach_key_notations(key: str, expected: bytes) -> None:
    config = AgentConfig.from_dict({"command": "x", "detach_key": key}, "test", name="x")
    assert config.detach_sequence() == expected


def test_from_dict_without_name_uses_the_name_field() -> None:
    assert AgentConfig.from_dict({"name": "x", "command": "y"}, "test").name == "x"
    with pytest.raises(AgentConfigError, match="'name'"):
        AgentConfig.from_dict({"command": "y"}, "test")


# ------------------------------------------------------------------------ broken files

BROKEN = {
    "syntax-error": ("command: [claude\n", "invalid YAML", "line 2"),
    "bad-indent": ("command: x\n  args_template: y\n", "invalid YAML", "line 2, column"),
    "duplicate-key": ("command: a\ncommand: b\n", "duplicate key 'command'", "line 2"),
    "empty": ("", "empty", "command"),
    "not-a-mapping": ("- claude\n- codex\n", "mapping", "list"),
    "missing-command": ("description: no command\n", "missing required field 'command'", ""),
    "command-number": ("command: 42\n", "'command'", "number"),
    "args-not-list": ("command: x\nargs_template: '{prompt}'\n", "'args_template'", "list"),
    "args-item-number": ("command: x\nargs_template: [1]\n", "'args_template' item 1", "quote"),
    "bad-regex": ("command: x\nprompt_patterns: ['(unclosed']\n", "'(unclosed'", "regex"),
    "bad-capture": (
        "command: x\ninteractive:\n  output_capture: tty\n",
        "'output_capture' is 'tty'",
        "pipe, pty, log",
    ),
    "enabled-string": ("command: x\ninteractive: {enabled: sure}\n", "'enabled'", "true or false"),
    "interactive-list": ("command: x\ninteractive: [a]\n", "'interactive'", "mapping"),
    "bad-auto-exit": ("command: x\ninteractive: {auto_exit_on: soon}\n", "'auto_exit_on'", "soon"),
    "bad-resume-quotes": (
        'command: x\ninteractive: {resume_cmd: "x --resume \'{session_id}"}\n',
        "'resume_cmd'",
        "quotation",
    ),
    "env-bool": ("command: x\nenv: {DEBUG: yes}\n", "'env.DEBUG'", "quote"),
    "env-list": ("command: x\nenv: [A]\n", "'env'", "mapping"),
    "idle-zero": ("command: x\nidle_after: 0\n", "'idle_after'", "more than 0"),
    "idle-string": ("command: x\nidle_after: soon\n", "'idle_after'", "number"),
    "submit-empty": ("command: x\nsubmit_key: ''\n", "'submit_key'", "non-empty"),
    "pre-launch-string": ("command: x\npre_launch: npx init\n", "'pre_launch'", "mapping"),
    "detach-impossible": ("command: x\ndetach_key: ctrl-1\n", "'detach_key'", "Ctrl-1"),
    "python-tag": ("command: !!python/object:os.system x\n", "invalid YAML", "line 1"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_is_an_error_naming_file_and_problem(
    project: Path, home: Path, case: str
) -> None:
    text, *fragments = BROKEN[case]
    path = write_agent(project_agents(project), "broken", text)
    with pytest.raises(AgentFileError) as err:
        AgentCatalog(project, home=home).get("broken")
    assert isinstance(err.value, CorruptRecordError)
    assert err.value.path == path
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message


def test_broken_project_file_does_not_fall_back_to_builtin(project: Path, home: Path) -> None:
    path = write_agent(project_agents(project), "claude-code", "command: [\n")
    catalog = AgentCatalog(project, home=home)
    with pytest.raises(CorruptRecordError):
        catalog.get("claude-code")
    names = [a.name for a in catalog.list()]
    assert "claude-code" not in names
    assert "codex" in names
    assert len(catalog.errors) == 1
    assert catalog.errors[0][0] == path
    assert "invalid YAML" in catalog.errors[0][1]


def test_non_utf8_and_unreadable_files(project: Path, home: Path) -> None:
    folder = project_agents(project)
    folder.mkdir(parents=True)
    (folder / "latin.yaml").write_bytes(b"command: caf\xe9\n")
    with pytest.raises(AgentFileError, match="not UTF-8"):
        AgentCatalog(project, home=home).get("latin")
    if os.geteuid() != 0:  # root reads anything
        locked = write_agent(folder, "locked", "command: x\n")
        locked.chmod(0)
        with pytest.raises(AgentFileError, match="cannot read"):
            AgentCatalog(project, home=home).get("locked")


def test_model_errors_name_the_source() -> None:
    with pytest.raises(RecordFormatError) as err:
        AgentConfig.from_dict({"command": "x", "prompt_patterns": ["[a"]}, "somewhere.yaml")
    assert str(err.value).startswith("somewhere.yaml: ")


# ------------------------------------------------------------------------ PATH checks


def test_find_executable_and_missing_command_message(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    exe = make_executable(bin_dir, "claude")
    assert find_executable("claude", str(bin_dir)) == str(exe)
    assert find_executable("claude", str(tmp_path / "empty")) is None

    claude = builtin_agent("claude-code")
    assert claude is not None
    assert command_available(claude, {"PATH": str(bin_dir)}) is True
    assert command_available(claude, {"PATH": ""}) is False
    message = missing_command_message(claude, {"PATH": ""})
    assert message == (
        "agent 'claude-code' needs the command 'claude', which was not found on PATH. "
        "Install Claude Code: npm install -g @anthropic-ai/claude-code, "
        "or configure another command in .ta/agents/claude-code.yaml."
    )
    generic = generic_agent(["no-such-tool"])
    assert command_available(builtin_agent("generic"), {"PATH": ""}) is None  # type: ignore[arg-type]
    assert "'no-such-tool'" in missing_command_message(generic, {"PATH": ""})
    assert "after '--'" in missing_command_message(generic, {"PATH": ""})


def test_agent_env_path_counts_for_availability(tmp_path: Path) -> None:
    bin_dir = tmp_path / "tools"
    make_executable(bin_dir, "special")
    config = AgentConfig.from_dict(
        {"command": "special", "env": {"PATH": str(bin_dir)}}, "test", name="special"
    )
    assert command_available(config, {"PATH": ""}) is True


def test_missing_command_message_points_at_the_users_file(project: Path, home: Path) -> None:
    path = write_agent(project_agents(project), "mine", "command: nothere-xyz\n")
    config = AgentCatalog(project, home=home).get("mine")
    message = missing_command_message(config, {"PATH": ""})
    assert "'nothere-xyz'" in message
    assert str(path) in message


# ------------------------------------------------------------------------ CLI


def test_cli_list_shows_all_builtins(ta, home: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    make_executable(bin_dir, "claude")
    result = ta("agents", "list", env=cli_env(home, str(bin_dir)))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "COMMAND", "ON", "PATH", "CAPTURE", "SOURCE", "DESCRIPTION"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert sorted(rows) == BUILTIN_NAMES
    assert rows["claude-code"].split()[1:3] == ["claude", "yes"]
    assert rows["codex"].split()[1:3] == ["codex", "no"]
    assert "built-in" in rows["aider"]
    assert lines[-1] == "6 agent(s)."


def test_cli_list_json(ta, project: Path, home: Path) -> None:
    write_agent(project_agents(project), "codex", "command: my-codex\n")
    result = ta("agents", "list", "--json", env=cli_env(home))
    assert result.returncode == 0, result.stderr
    agents = {a["name"]: a for a in json.loads(result.stdout)}
    assert sorted(agents) == BUILTIN_NAMES
    assert agents["codex"]["command"] == "my-codex"
    assert agents["codex"]["source"] == str(project_agents(project) / "codex.yaml")
    assert agents["claude-code"]["source"] == "built-in"
    assert agents["claude-code"]["interactive"]["resume_cmd"] == "claude --resume {session_id}"
    assert agents["generic"]["available"] is None
    assert isinstance(agents["codex"]["available"], bool)


def test_cli_list_warns_about_a_broken_file(ta, project: Path, home: Path) -> None:
    path = write_agent(project_agents(project), "codex", "command: [\n")
    result = ta("agents", "list", env=cli_env(home))
    assert result.returncode == 0
    assert result.stderr.startswith(f"ta: warning: {path}: invalid YAML")
    assert len(result.stderr.splitlines()) == 1
    assert "claude-code" in result.stdout
    assert "\ncodex " not in result.stdout


def test_cli_user_file_via_home(ta, home: Path) -> None:
    path = write_agent(user_agents(home), "helper", "command: helper-bin\ndescription: Mine\n")
    result = ta("agents", "show", "helper", "--json", env=cli_env(home))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["command"] == "helper-bin"
    assert data["source"] == str(path)
    assert data["available"] is False


def test_cli_show_text(ta, project: Path, home: Path) -> None:
    write_agent(
        project_agents(project),
        "mine",
        "command: mytool\nargs_template: ['--task', '{prompt}']\nenv: {A: b}\n"
        "prompt_patterns: ['\\?$']\ninjects_context_file: true\n",
    )
    result = ta("agents", "show", "mine", env=cli_env(home))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Agent:            mine" in out
    assert "Source:           .ta/agents/mine.yaml" in out
    assert "Launches as:      mytool --task '<prompt>'" in out
    assert "  A=b" in out
    assert "  Output capture: pipe" in out
    assert "Ignored keys:     injects_context_file" in out
    assert "needs the command 'mytool'" in out


def test_cli_show_builtin_json(ta, home: Path) -> None:
    result = ta("agents", "show", "claude-code", "--json", env=cli_env(home))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["command"] == "claude"
    assert data["interactive"]["output_capture"] == "pty"
    assert data["install_hint"].startswith("Install Claude Code")


@pytest.mark.parametrize(
    "case", ["syntax-error", "duplicate-key", "command-number", "bad-regex", "bad-capture"]
)
def test_cli_show_broken_file_is_one_error_line(ta, project: Path, home: Path, case: str) -> None:
    text, *fragments = BROKEN[case]
    path = write_agent(project_agents(project), "claude-code", text)
    result = ta("agents", "show", "claude-code", env=cli_env(home))
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"ta: error: {path}: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def test_cli_show_unknown_agent(ta, home: Path) -> None:
    result = ta("agents", "show", "nope", env=cli_env(home))
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("ta: error: unknown agent 'nope'; available: aider, ")
