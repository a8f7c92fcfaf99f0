"""Which files a staging copy leaves out: ``.ta/``, ``.git/``, and what ``.gitignore`` and
``.taignore`` files exclude — with git's own semantics (via ``pathspec``), nested files included.

Git's rules that matter here: a pattern in a ``.gitignore`` is relative to that file's folder;
a deeper file's patterns win over a shallower one's; within a file the last matching pattern
wins (so ``!keep.log`` can re-include); and nothing inside an excluded folder can be re-included,
which is why excluded folders are pruned from the walk.

The rules are fixed when staging is made: ``walk`` can record the ignore files' lines it read
(``record``), the baseline manifest keeps them, and a draft build walks the staging workspace
with those same rules (``rules``), never with the ignore files the agent may have edited. An
agent that adds ``*.txt`` to ``.gitignore`` therefore does not make the project's text files
look deleted (approving that would delete them from the project), and one that adds a new
``.gitignore`` cannot hide the files it writes from the review.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ALWAYS_EXCLUDED = frozenset({".ta", ".git"})
IGNORE_FILES = (".gitignore", ".taignore")


@dataclass(frozen=True, slots=True)
class _Rules:
    base: str  # folder of the ignore file, relative to the root ("" for the root)
    spec: Any  # pathspec.GitIgnoreSpec


IgnoreRules = dict[str, list[str]]  # folder (relative, "" for the root) → its ignore lines


def _read_lines(folder: Path) -> list[str]:
    lines: list[str] = []
    for name in IGNORE_FILES:
        try:
            lines += (folder / name).read_text(encoding="utf-8", errors="replace").splitlines()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
    return lines


class _RuleSource:
    """Where a walk gets each folder's rules: the ignore files on disk (recording what it
    reads when asked), or rules recorded earlier."""

    def __init__(self, fixed: IgnoreRules | None, record: IgnoreRules | None):
        self.fixed = fixed
        self.record = record

    def load(self, folder: Path, rel: str) -> _Rules | None:
        if self.fixed is not None:
            lines = self.fixed.get(rel, [])
        else:
            lines = _read_lines(folder)
            if lines and self.record is not None:
                self.record[rel] = lines
        if not lines:
            return None
        import pathspec

        return _Rules(rel, pathspec.GitIgnoreSpec.from_lines(lines))


def _ignored(stack: list[_Rules], rel_path: str, is_dir: bool) -> bool:
    for rules in reversed(stack):  # the deepest ignore file decides first
        local = rel_path[len(rules.base) + 1 :] if rules.base else rel_path
        result = rules.spec.check_file(local + "/" if is_dir else local)
        if result.include is not None:
            return bool(result.include)
    return False


def walk(
    root: Path, *, rules: IgnoreRules | None = None, record: IgnoreRules | None = None
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry to stage, as (path relative to ``root`` with ``/``, its ``DirEntry``).

    Folders are yielded before their contents; symlinks are yielded and never followed.
    ``rules``: use these recorded rules instead of the ignore files under ``root``.
    ``record``: fill this with the rules read from the ignore files.
    """
    source = _RuleSource(rules, record)
    root_rules = source.load(root, "")
    yield from _walk(root, "", [root_rules] if root_rules else [], source)


def _walk(
    folder: Path, rel: str, stack: list[_Rules], source: _RuleSource
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.name in ALWAYS_EXCLUDED:
            continue
        rel_path = f"{rel}/{entry.name}" if rel else entry.name
        is_dir = entry.is_dir(follow_symlinks=False)
        if _ignored(stack, rel_path, is_dir):
            continue
        yield rel_path, entry
        if is_dir:
            rules = source.load(Path(entry.path), rel_path)
            yield from _walk(
                Path(entry.path), rel_path, [*stack, rules] if rules else stack, source
            )
