"""Staging workspaces (SPEC §7): what ``ta run`` copies, and ``--no-staging`` (in place, git only).

Every test starts real sessions with the real ``ta`` and then looks at the staged tree on disk.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from draft_helpers import (
    URI,
    artifacts_by_path,
    editor,
    finish,
    goal_record,
    only_draft_of,
    run_goal,
    sha,
    staging_of,
    tree_files,
    write,
)
from live_helpers import (
    Live,
    live_fixture,  # noqa: F401  (the `live` fixture)
)

# A tree that exercises git's ignore rules: nested files, negation, folder-only patterns,
# anchored patterns, .taignore at two levels, and the folders that are never staged.
SOURCE: dict[str, str | bytes] = {
    ".gitignore": "*.log\n!keep.log\nbuild/\n/secret.txt\n",
    ".taignore": "*.tmp\nscratch/\n!.git/\n!.ta/\n",  # .git/ and .ta/ stay out regardless
    ".hidden": "dotfile\n",
    "keep.log": "re-included by !keep.log\n",
    "debug.log": "ignored by *.log\n",
    "secret.txt": "ignored: anchored /secret.txt\n",
    "sub/secret.txt": "kept: the anchored pattern is for the root only\n",
    "build/out.o": "ignored: build/ folder\n",
    "build/keep.log": "ignored: nothing in an excluded folder comes back\n",
    "tools/build": "kept: build/ matches folders only, this is a file\n",
    "notes.tmp": "ignored by the root .taignore\n",
    "scratch/a.txt": "ignored: scratch/ in the root .taignore\n",
    "src/main.py": "print('kept')\n",
    "src/.gitignore": "generated/\n!important.log\n",
    "src/important.log": "kept: the deeper .gitignore re-includes it\n",
    "src/other.log": "ignored by the root *.log\n",
    "src/generated/gen.py": "ignored by src/.gitignore\n",
    "src/lib/util.py": "kept\n",
    "src/lib/build/x.o": "ignored: build/ matches at any depth\n",
    "docs/.taignore": "draft-*.md\n",
    "docs/draft-1.md": "ignored by docs/.taignore\n",
    "docs/final.md": "kept\n",
    "draft-2.md": "kept: docs/.taignore does not apply at the root\n",
    ".git/HEAD": "ref: refs/heads/main\n",
    ".git/config": "[core]\n",
    "vendor/.git": "gitdir: ../.git/modules/vendor\n",
    "vendor/README": "kept\n",
}

STAGED = {
    ".gitignore", ".taignore", ".hidden", "keep.log",
    "sub/", "sub/secret.txt",
    "tools/", "tools/build",
    "src/", "src/main.py", "src/.gitignore", "src/important.log",
    "src/lib/", "src/lib/util.py",
    "docs/", "docs/.taignore", "docs/final.md",
    "draft-2.md",
    "vendor/", "vendor/README",
}  # fmt: skip


def test_staging_leaves_out_ignored_files_nested_rules_git_and_ta(live: Live) -> None:
    write(live.root, SOURCE)
    (live.ta_dir / "notes.txt").write_text("project bookkeeping: never staged\n")
    sid = run_goal(live)

    staging = staging_of(live, sid)
    assert goal_record(live, sid)["workspace_path"] == str(staging)
    assert tree_files(staging) == STAGED
    for rel in STAGED:
        if not rel.endswith("/"):
            assert (staging / rel).read_bytes() == (live.root / rel).read_bytes(), rel

    # The baseline manifest records exactly what was staged, with each file's hash.
    goal_id = goal_record(live, sid)["goal_id"]
    manifest = json.loads((live.ta_dir / "baselines" / f"{goal_id}.json").read_text())
    entries = manifest["entries"]
    assert set(entries) == {p.rstrip("/") for p in STAGED}
    for rel in STAGED:
        kind, size, _mtime, _mode, digest = entries[rel.rstrip("/")]
        if rel.endswith("/"):
            assert (kind, digest) == ("dir", None)
        else:
            content = (live.root / rel).read_bytes()
            assert (kind, size, digest) == ("file", len(content), sha(content)), rel


def test_staging_keeps_modes_mtimes_and_symlinks(live: Live) -> None:
    write(live.root, {"run.sh": "#!/bin/sh\necho hi\n", "data/ro.txt": "read only\n",
                      "data/plain.txt": "plain\n"})  # fmt: skip
    os.chmod(live.root / "run.sh", 0o755)
    os.chmod(live.root / "data" / "ro.txt", 0o444)
    os.utime(live.root / "data" / "plain.txt", ns=(1_600_000_000_123_456_789,) * 2)
    os.symlink("data/plain.txt", live.root / "link")
    os.symlink("does/not/exist", live.root / "dangling")
    os.symlink("/etc", live.root / "abs-link")  # copied as a link, never followed
    os.mkfifo(live.root / "fifo")  # not project content: not staged
    sid = run_goal(live)

    staging = staging_of(live, sid)
    assert tree_files(staging) == {
        "run.sh", "data/", "data/ro.txt", "data/plain.txt", "link", "dangling", "abs-link",
    }  # fmt: skip
    for rel in ("run.sh", "data/ro.txt", "data/plain.txt"):
        src, dst = os.stat(live.root / rel), os.stat(staging / rel)
        assert stat.S_IMODE(dst.st_mode) == stat.S_IMODE(src.st_mode), rel
        assert dst.st_mtime_ns == src.st_mtime_ns, rel
    assert os.stat(staging / "data/plain.txt").st_mtime_ns == 1_600_000_000_123_456_789
    for rel, target in (("link", "data/plain.txt"), ("dangling", "does/not/exist"),
                        ("abs-link", "/etc")):  # fmt: skip
        assert (staging / rel).is_symlink() and os.readlink(staging / rel) == target


# ---------------------------------------------------------------------------- --no-staging


def _ta_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TA_PROJECT_ROOT"}
    return subprocess.run(
        [sys.executable, "-m", "ta_session", *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_no_staging_outside_a_git_tree_is_refused_and_creates_nothing(
    live: Live, tmp_path: Path
) -> None:
    # A folder that is not a project yet: not even a .ta/ may appear.
    fresh = tmp_path / "plain"
    write(fresh, {"a.txt": "a\n"})
    before = tree_files(fresh)
    result = _ta_in(fresh, "run", "t", "--no-staging", "--detach", "--", *editor())
    assert result.returncode == 1, result
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "git work tree" in lines[0] and "--no-staging" in lines[0], lines
    assert tree_files(fresh) == before

    # An existing project: nothing in .ta/ changes (no goal, session, baseline, audit event).
    write(live.root, {"a.txt": "a\n"})
    ta_before = tree_files(live.ta_dir)
    result = live.ta(
        "run", "t", "--no-staging", "--detach", "--", *editor([("write", "a.txt", "x")])
    )
    assert result.returncode == 1 and "git work tree" in result.stderr
    assert tree_files(live.ta_dir) == ta_before
    assert (live.root / "a.txt").read_text() == "a\n"


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root, check=True, capture_output=True, timeout=30,
    )  # fmt: skip


def test_no_staging_in_a_git_tree_works_in_place_and_drafts_the_current_tree(live: Live) -> None:
    write(live.root, {"a.txt": "one\n", "gone.txt": "bye\n", ".gitignore": ".ta/\n"})
    _git(live.root, "init", "-q")
    _git(live.root, "add", "-A")
    _git(live.root, "commit", "-q", "-m", "start")
    # Uncommitted work is part of the current tree: the baseline is the tree, not HEAD.
    (live.root / "wip.txt").write_text("uncommitted\n")

    ops = [("append", "a.txt", "two\n"), ("write", "new.txt", "new\n"), ("delete", "gone.txt")]
    result = live.ta("run", "t", "--no-staging", "--detach", "--", *editor(ops))
    assert result.returncode == 0, result.stderr
    sid = result.stdout.strip()
    finish(live, sid)

    # The agent worked in the project itself; no staging copy was made.
    goal = goal_record(live, sid)
    assert goal["workspace_path"] == str(live.root)
    assert not (live.ta_dir / "staging").exists() or not any((live.ta_dir / "staging").iterdir())
    assert (live.root / "a.txt").read_text() == "one\ntwo\n"
    assert (live.root / "new.txt").read_text() == "new\n"
    assert not (live.root / "gone.txt").exists()

    record = only_draft_of(live, sid)
    arts = artifacts_by_path(record)
    assert set(arts) == {"a.txt", "new.txt", "gone.txt"}  # not wip.txt, not .ta/
    assert (
        arts["a.txt"]["change_type"],
        arts["a.txt"]["base_hash"],
        arts["a.txt"]["new_hash"],
    ) == ("modify", sha("one\n"), sha("one\ntwo\n"))
    assert arts["new.txt"]["change_type"] == "add"
    assert arts["new.txt"]["diff"] == "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+new\n"
    assert (arts["gone.txt"]["change_type"], arts["gone.txt"]["base_hash"]) == (
        "delete",
        sha("bye\n"),
    )
    assert record["artifacts"][0]["resource_uri"].startswith(URI)

    # Applying an in-place draft only records it: the changes are already there.
    live.ok("draft", "approve", record["draft_id"])
    out = live.ok("draft", "apply", record["draft_id"])
    assert "Applied" in out
    assert (live.root / "a.txt").read_text() == "one\ntwo\n"
