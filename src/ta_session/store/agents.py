"""Finding agent configurations (SPEC §6).

Search order for an agent ``NAME``, first match wins:

1. ``<project>/.ta/agents/NAME.yaml`` (then ``NAME.yml``),
2. ``~/.config/ta/agents/NAME.yaml`` (then ``NAME.yml``),
3. the built-ins of ``ta_session.model.agent``.

Unlike the reference, a file that cannot be parsed or validated is never skipped in favour of
the next place: the user wrote it to be used, so ``get`` raises an error naming the file and the
problem, and ``list`` reports it in ``errors``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ta_session.model.agent import BUILTIN_SOURCE, GENERIC_AGENT, AgentConfig, AgentConfigError
from ta_session.model.builtin_agents import BUILTIN_AGENTS, builtin_agent
from ta_session.store.errors import CorruptRecordError, NotFoundError
from ta_session.store.layout import TA_DIR
from ta_session.store.reading import read_regular_file

_EXTENSIONS = (".yaml", ".yml")
# Agent files are a few hundred bytes; a huge one is a mistake (or not a config at all).
_MAX_FILE_BYTES = 1 << 20
# Values a config may hold once YAML aliases are expanded. A real config has a few dozen; an
# "alias bomb" of a few hundred bytes expands to billions, which PyYAML shares in memory but
# anything walking the result (validation, printing, --json) would expand in full.
MAX_YAML_VALUES = 100_000


class AgentFileError(CorruptRecordError):
    """An agent YAML file that cannot be used. ``str()`` is ``"<path>: <problem>"``."""

    path: Path

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path}: {problem}", path=path, problem=problem)


class AgentCatalog:
    def __init__(self, project_root: Path, home: Path | None = None):
        self.project_dir = Path(project_root) / TA_DIR / "agents"
        home = Path(home) if home is not None else Path.home()
        self.user_dir = home / ".config" / "ta" / "agents"
        # Broken files met by the last list(): (path, problem). The CLI prints them as warnings.
        self.errors: list[tuple[Path, str]] = []

    @property
    def search_dirs(self) -> tuple[Path, Path]:
        return (self.project_dir, self.user_dir)

    def path_for(self, name: str) -> Path | None:
        """The file that defines ``name``, or None when it is a built-in or unknown."""
        if not _is_valid_name(name):
            return None
        for folder in self.search_dirs:
            for ext in _EXTENSIONS:
                path = folder / f"{name}{ext}"
                # Anything there but a folder is the user's definition, even a FIFO or a link
                # to a device: loading it reports why it cannot be used, rather than falling
                # back to a built-in of the same name without a word.
                if os.path.lexists(path) and not path.is_dir():
                    return path
        return None

    def get(self, name: str) -> AgentConfig:
        """The config for ``name``. Raises ``AgentFileError`` (a ``CorruptRecordError``) for a
        broken file, ``NotFoundError`` (listing the available names) for an unknown name."""
        path = self.path_for(name)
        if path is not None:
            return load_agent_file(path, name)
        config = builtin_agent(name) if _is_valid_name(name) else None
        if config is not None:
            return config
        available = ", ".join(self.names()) or "none"
        raise NotFoundError(
            f"unknown agent {name!r}; available: {available} "
            f"(define it in {self.project_dir / (name + '.yaml')})"
            if _is_valid_name(name)
            else f"invalid agent name {name!r}; available: {available}"
        )

    def names(self) -> list[str]:
        """Every agent name defined anywhere, sorted (files are not parsed)."""
        found = set(BUILTIN_AGENTS)
        for folder in self.search_dirs:
            found.update(_names_in(folder))
        return sorted(found)

    def list(self) -> list[AgentConfig]:
        """Every usable agent, first match winning, sorted by name.

        A broken file is left out and recorded in ``errors``; it does not fall back to the
        user-level or built-in config of the same name, which would hide the mistake.
        """
        self.errors = []
        configs = []
        for name in self.names():
            try:
                configs.append(self.get(name))
            except AgentFileError as exc:
                self.errors.append((exc.path, exc.problem))
        return configs


def load_agent_file(path: Path, name: str | None = None) -> AgentConfig:
    """Parse and validate one agent YAML file; its name is the file name without extension."""
    name = name if name is not None else path.stem
    try:
        raw = read_regular_file(path, _MAX_FILE_BYTES, "an agent config")
    except FileNotFoundError:
        raise AgentFileError(path, _missing(path)) from None
    except CorruptRecordError as exc:
        raise AgentFileError(path, exc.problem) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AgentFileError(path, f"not UTF-8 text (byte {exc.start})") from None
    data = _parse_yaml(path, text)
    try:
        return AgentConfig.from_dict(data, str(path), name=name)
    except AgentConfigError as exc:
        raise AgentFileError(path, exc.problem) from None


def find_executable(command: str, env_path: str | None = None) -> str | None:
    """Where ``command`` would be found (``shutil.which`` over ``env_path``, default $PATH)."""
    if not command:
        return None
    return shutil.which(command, path=env_path)


def command_available(config: AgentConfig, environ: Mapping[str, str] | None = None) -> bool | None:
    """Whether the agent's command is on PATH; None for ``generic`` (no command of its own)."""
    if not config.command:
        return None
    # The agent runs with its config's env on top of ours, so PATH may come from either.
    merged = {**(os.environ if environ is None else environ), **config.env}
    command = config.resolved_command(merged)
    return find_executable(command, merged.get("PATH", os.defpath)) is not None


def missing_command_message(config: AgentConfig, environ: Mapping[str, str] | None = None) -> str:
    """One line for the human when the agent's command cannot be started."""
    merged = {**(os.environ if environ is None else environ), **config.env}
    command = config.resolved_command(merged) or config.command
    where = (
        "which does not exist or is not executable"
        if "/" in command
        else "which was not found on PATH"
    )
    if config.name == GENERIC_AGENT:
        fix = "check the command given after '--'"
    else:
        target = (
            config.source
            if config.source != BUILTIN_SOURCE
            else f"{TA_DIR}/agents/{config.name}.yaml"
        )
        fix = f"configure another command in {target}"
    hint = (
        f"{config.install_hint.rstrip('.')}, or {fix}" if config.install_hint else fix.capitalize()
    )
    return f"agent {config.name!r} needs the command {command!r}, {where}. {hint}."


# ---------------------------------------------------------------------------------- internals


def _is_valid_name(name: str) -> bool:
    # Names become file names: refuse anything that could leave the agents folder.
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")


def _names_in(folder: Path) -> set[str]:
    try:
        entries = list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return set()
    except OSError:
        return set()  # unreadable folder: get() on a name will report the file itself
    return {
        entry.stem
        for entry in entries
        if entry.suffix in _EXTENSIONS and not entry.name.startswith(".") and not entry.is_dir()
    }


def _missing(path: Path) -> str:
    try:
        return f"a symbolic link to {os.readlink(path)}, which does not exist"
    except OSError:
        return "no longer exists"


def _parse_yaml(path: Path, text: str) -> Any:
    import yaml  # imported here: only commands that read agent configs pay for it

    loader = _strict_loader()(text)  # a SafeLoader subclass: no arbitrary objects
    try:
        # yaml.load in two steps, so that the size of the document once its aliases are
        # expanded is known before anything is built from it.
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(path, node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise AgentFileError(path, f"invalid YAML: {_yaml_problem(exc)}") from None
    except yaml.YAMLError as exc:
        raise AgentFileError(path, f"invalid YAML: {exc}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise AgentFileError(path, "invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def _check_expansion(path: Path, root: Any) -> None:
    """Refuse a document holding more than ``MAX_YAML_VALUES`` values with aliases expanded,
    or an alias inside the collection it names (a value that contains itself).

    Counted on the composed node graph, where an alias is a second reference to the same node:
    each node's expanded size is computed once, so a bomb is measured without expanding it.
    """
    import yaml

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # on the path from the root to the current node
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            size = 1 + sum(sizes[id(child)] for child in _yaml_children(node))
            if size > MAX_YAML_VALUES:
                raise AgentFileError(
                    path,
                    f"its YAML aliases expand to more than {MAX_YAML_VALUES:,} values "
                    "(an alias bomb?); not an agent config",
                )
            sizes[key] = size
        elif key in open_nodes:
            mark = node.start_mark
            raise yaml.composer.ComposerError(
                None, None, "found an alias inside the value it names", mark
            )
        elif key not in sizes:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _yaml_children(node))


def _yaml_children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


_LOADER: Any = None


def _strict_loader() -> Any:
    """A SafeLoader that refuses duplicate keys: PyYAML silently keeps the last one, and a
    config whose first ``command:`` is ignored without a word is exactly the silent failure
    SPEC §12 rules out."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # unhashable key: construct_mapping below reports it
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return loader.construct_mapping(node, deep=True)

    StrictLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
        construct_mapping,
    )
    _LOADER = StrictLoader
    return _LOADER


def _yaml_problem(exc: Any) -> str:
    """``"<problem> at line L, column C"``, with PyYAML's context when it helps."""
    problem = exc.problem or "syntax error"
    if exc.context:
        problem = f"{problem} ({exc.context})"
    mark = exc.problem_mark or exc.context_mark
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return problem
