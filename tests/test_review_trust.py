"""Review you can trust (SPEC §7): nothing reaches the project except an applied draft, even
from an agent that misbehaves, and what the reviewer sees is what will be applied.

Everything runs for real: ``ta run`` with real hosts and agents, ``ta draft …`` in
subprocesses, real files (a 20 GiB sparse one among them), real concurrent processes. The
project is compared before and after with ``snapshot`` so "nothing was written" is checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from draft_helpers import (
    URI,
    artifacts_by_path,
    audit_actions,
    draft,
    editor,
    finish,
    only_draft_of,
    run_goal,
    session_record,
    sha,
    snapshot,
    staging_of,
    tree_files,
    write,
)
from live_helpers import (
    PYTHON,
    Live,
    live_fixture,  # noqa: F401  (the `live` fixture)
)
from ta_session.model.draft import Draft, decode_path
from ta_session.store import Project
from ta_session.workspace.staging import create_staging

ESC = "\x1b"
SGR = re.compile(r"\x1b\[[0-9;]*m")  # our own colours


def _error(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed command."""
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ta: error: "), result.stderr
    return lines[0]


def _script(live: Live, *args: str) -> str:
    """``ta`` under ``script``: stdout is a real pseudo-terminal, so colours are on."""
    env = {k: v for k, v in live.env.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    command = " ".join([live.ta_command(), *args])
    result = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        cwd=live.root, env=env, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result
    return result.stdout.replace("\r\n", "\n")  # the terminal's own line endings


def _with_peak_rss(live: Live, *args: str, timeout: float = 900) -> tuple[int, int, str]:
    """Run ``ta ARGS`` in a fresh process; (exit code, its peak RSS in KiB, stderr)."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[1:]).returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [PYTHON, "-c", wrapper, PYTHON, "-m", "ta_session", *args],
        cwd=live.root, env=live.env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return result.returncode, int(result.stdout.strip().splitlines()[-1]), result.stderr


def _outside_ta(live: Live) -> set[str]:
    """Everything in the folder around the project, the project included, except its .ta/."""
    ta = os.path.relpath(live.ta_dir, live.root.parent)
    return {p for p in tree_files(live.root.parent) if not p.startswith(ta + "/")}


def _bytes_names(folder: Path) -> set[bytes]:
    return set(os.listdir(os.fsencode(folder)))


# ----------------------------------------------------------------- names that are not UTF-8

# Each name as the bytes the file system holds.
ODD_NAMES = {
    "latin1": b"caf\xe9.txt",  # not UTF-8
    "backslash": b"back\\slash.txt",
    "newline": b"new\nline.txt",
    "escape": b"esc\x1b[1Aname.txt",
    "binary": b"\xff\xfe-raw.bin",
    "percent": b"pct%41.txt",  # a literal %41, not an "A"
    "bidi": "rlo\u202etxt.exe".encode(),  # would read backwards in a terminal
}
SHOWN = {
    "latin1": "caf\\xe9.txt",
    "backslash": "back\\\\slash.txt",
    "newline": "new\\nline.txt",
    "escape": "esc\\x1b[1Aname.txt",
    "binary": "\\xff\\xfe-raw.bin",
    "percent": "pct%41.txt",
    "bidi": "rlo\\u202etxt.exe",
}


def test_names_that_are_not_utf8_round_trip_byte_for_byte(live: Live) -> None:
    modified = ("latin1", "backslash", "newline")
    for key in modified:
        with open(os.path.join(os.fsencode(live.root), ODD_NAMES[key]), "wb") as handle:
            handle.write(b"before\n")
    names = {k: os.fsdecode(v) for k, v in ODD_NAMES.items()}  # surrogate escapes for JSON
    ops: list[Any] = [("append", names[k], "agent\n") for k in modified]
    ops += [("write", names[k], f"new {k}\n") for k in ("escape", "percent", "bidi")]
    ops.append(("bytes", names["binary"], "00ff10"))
    sid = live.start(*editor(ops))
    finish(live, sid)  # the host built the draft as the agent ended (it used to crash here)
    record = only_draft_of(live, sid)
    draft_id = record["draft_id"]

    # In the draft's JSON every name is a URI: UTF-8 text, odd bytes and controls as %XX.
    raw = (live.ta_dir / "drafts" / f"{draft_id}.json").read_bytes()
    raw.decode("utf-8")
    uris = {a["resource_uri"] for a in record["artifacts"]}
    assert URI + "caf%E9.txt" in uris and URI + "new%0Aline.txt" in uris
    assert URI + "pct%2541.txt" in uris and URI + "%FF%FE-raw.bin" in uris
    assert {os.fsencode(decode_path(u.removeprefix(URI))) for u in uris} == set(ODD_NAMES.values())

    # Shown escaped: not one control character or raw byte reaches the terminal.
    view = live.ta_bytes("draft", "view", draft_id)
    assert view.returncode == 0, view.stderr
    text = view.stdout.decode("utf-8")  # valid UTF-8 throughout
    assert ESC not in text and "\u202e" not in text and "\r" not in text
    for key, shown in SHOWN.items():
        assert shown in text, key
    assert "modified caf\\xe9.txt" in text
    assert "--- a/back\\\\slash.txt" in text  # in the diff headers too
    built = live.ok("draft", "list")
    assert ESC not in built

    # Approved by the name as shown, by the name as typed (bytes on the command line), and
    # by URI; then applied: the same bytes under the same names.
    live.ok("draft", "approve", draft_id, "--artifact", SHOWN["latin1"])
    live.ok("draft", "approve", draft_id, "--artifact", names["newline"])
    live.ok("draft", "approve", draft_id, "--artifact", URI + "%FF%FE-raw.bin")
    assert {
        a["resource_uri"] for a in draft(live, draft_id)["artifacts"]
        if a["disposition"] == "approved"
    } == {URI + "caf%E9.txt", URI + "new%0Aline.txt", URI + "%FF%FE-raw.bin"}  # fmt: skip
    live.ok("draft", "approve", draft_id)
    applied = live.ta_bytes("draft", "apply", draft_id)
    assert applied.returncode == 0, applied.stderr
    assert b"\x1b" not in applied.stdout and b"7 file(s) written" in applied.stdout
    staging = os.fsencode(staging_of(live, sid))
    assert set(ODD_NAMES.values()) <= _bytes_names(live.root)
    for name in ODD_NAMES.values():
        applied_file = os.path.join(os.fsencode(live.root), name)
        with open(applied_file, "rb") as a, open(os.path.join(staging, name), "rb") as b:
            assert a.read() == b.read(), name
    (event,) = audit_actions(live, sid, "draft_applied")
    assert "caf%E9.txt" in event["details"]["paths"]


# --------------------------------------------------------------------- a 20 GiB sparse file

GIB = 1 << 30
MARK_AT = 10 * GIB


def test_a_20_gib_sparse_file_is_reviewed_as_binary_in_bounded_memory_and_stays_sparse(
    live: Live,
) -> None:
    write(live.root, {"small.txt": "small\n"})
    agent = (
        "import sys\n"
        "with open('big.img', 'wb') as f:\n"
        f"    f.truncate({20 * GIB})\n"
        f"    f.seek({MARK_AT})\n"
        "    f.write(b'middle')\n"
        "print('EDITS DONE', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    sid = live.start(PYTHON, "-c", agent)
    live.wait_output(sid, "EDITS DONE")
    live.ok("session", "abort", sid)  # no draft on abort: the measured build below is the one
    live.wait_host_gone(sid)

    code, rss_kib, err = _with_peak_rss(live, "draft", "build")
    assert code == 0, err
    assert rss_kib < 100 * 1024, f"draft build peaked at {rss_kib} KiB"
    (draft_id,) = session_record(live, sid)["draft_ids"]
    (big,) = draft(live, draft_id)["artifacts"]
    assert big["resource_uri"] == URI + "big.img" and big["change_type"] == "add"
    assert big["binary"] is True and big["diff"] is None
    assert big["new_size"] == 20 * GIB and big["new_hash"].startswith("sha256:")
    view = live.ok("draft", "view", draft_id)
    assert f"binary file: 0 → {20 * GIB} bytes" in view

    live.ok("draft", "approve", draft_id)
    code, rss_kib, err = _with_peak_rss(live, "draft", "apply", draft_id)
    assert code == 0, err
    assert rss_kib < 100 * 1024, f"apply peaked at {rss_kib} KiB"
    st = os.stat(live.root / "big.img")
    assert st.st_size == 20 * GIB
    assert st.st_blocks * 512 < 1 << 20, f"{st.st_blocks} blocks: the holes were filled"
    with open(live.root / "big.img", "rb") as handle:
        handle.seek(MARK_AT - 2)
        assert handle.read(10) == b"\0\0middle\0\0"


def test_staging_keeps_a_sparse_file_sparse(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    size, mark = 256 << 20, 100 << 20
    with open(source / "sparse.img", "wb") as handle:
        handle.truncate(size)
        handle.seek(mark)
        handle.write(b"data")
    manifest = create_staging(source, tmp_path / "staging")
    st = os.stat(tmp_path / "staging" / "sparse.img")
    assert st.st_size == size and st.st_blocks * 512 < 1 << 20
    # The digest is of the content, the holes read as zeros.
    hasher = hashlib.sha256(bytes(mark))
    hasher.update(b"data" + bytes(size - mark - 4))
    assert manifest["sparse.img"].digest == "sha256:" + hasher.hexdigest()
    with open(tmp_path / "staging" / "sparse.img", "rb") as handle:
        handle.seek(mark)
        assert handle.read(4) == b"data"


# ---------------------------------------------------------------- ignore rules are fixed


def test_an_agent_editing_gitignore_makes_no_phantom_deletions(live: Live) -> None:
    write(live.root, {
        ".gitignore": "*.log\n", "a.txt": "a\n", "notes.md": "notes\n", "sub/b.txt": "b\n",
        "old.log": "ignored at the start\n",
    })  # fmt: skip
    ops = [
        ("append", ".gitignore", "*.txt\n*.md\nsub/\n"),  # everything the user has
        ("write", "new.txt", "new\n"),
        ("write", "debug.log", "ignored by the rules staging was made with\n"),
        ("write", "hidden/.gitignore", "*\n"),  # a new ignore file cannot hide a file
        ("write", "hidden/payload.sh", "echo hi\n"),
    ]
    sid = run_goal(live, ops)
    record = only_draft_of(live, sid)
    by_path = artifacts_by_path(record)
    assert sorted(by_path) == [".gitignore", "hidden/.gitignore", "hidden/payload.sh", "new.txt"]
    assert all(a["change_type"] != "delete" for a in by_path.values())

    live.ok("draft", "approve", record["draft_id"])
    live.ok("draft", "apply", record["draft_id"])
    for rel, content in (("a.txt", "a\n"), ("notes.md", "notes\n"), ("sub/b.txt", "b\n")):
        assert (live.root / rel).read_text() == content, rel
    assert (live.root / "hidden" / "payload.sh").exists()
    assert not (live.root / "debug.log").exists()


# ------------------------------------------------------------- what is shown is safe to show

EVIL = "evil \x1b[1A\x1b[2K hidden"


def test_escape_sequences_in_a_diff_are_shown_escaped_and_coloured_around(live: Live) -> None:
    write(live.root, {"a.txt": "one\ntwo\n"})
    sid = run_goal(live, [("write", "a.txt", f"one\n{EVIL}\nsafe\rEVIL\ntwo\n")])
    record = only_draft_of(live, sid)
    draft_id = record["draft_id"]
    # The stored diff is the true content, one diff line per file line (the \r is no break).
    assert f"+{EVIL}\n+safe\rEVIL\n" in record["artifacts"][0]["diff"]

    plain = live.ok("draft", "view", draft_id)
    assert ESC not in plain and "\r" not in plain
    assert "+evil \\x1b[1A\\x1b[2K hidden\n" in plain
    assert "+safe\\rEVIL\n" in plain

    coloured = _script(live, "draft", "view", draft_id)
    assert "\x1b[32m+evil \\x1b[1A\\x1b[2K hidden\x1b[0m" in coloured
    assert "\x1b[32m+safe\\rEVIL\x1b[0m" in coloured
    assert ESC not in SGR.sub("", coloured)  # every escape is one of our colours

    # A reason is shown in the session's log: escaped there too.
    live.ok("draft", "reject", draft_id, "--reason", "no \x1b]0;pwned\x07 thanks")
    shown = live.ok("session", "show", sid)
    assert "no \\x1b]0;pwned\\x07 thanks" in shown
    assert ESC not in shown and "\x07" not in shown


class _Skip:
    """A reviewer who skips every file."""

    single_key = False

    def choose(self, prompt: str, *, fresh: bool = False) -> str | None:
        return "s"

    def line(self, prompt: str) -> str | None:
        return ""


def test_the_inline_review_shows_names_diffs_and_warnings_escaped(live: Live) -> None:
    from ta_session.channels.review import review_inline
    from ta_session.cli.draft_cmds import render_artifact

    write(live.root, {"a.txt": "one\n"})
    sid = run_goal(live, [("append", "a.txt", EVIL + "\n"), ("write", "x\x1b[2Jy.txt", "z\n")])
    stored = Draft.from_dict(only_draft_of(live, sid))
    said: list[str] = []
    for colour in (False, True):

        def render(artifact: Any, colour: bool = colour) -> str:
            return render_artifact(artifact, colour)

        review_inline(stored, prompter=_Skip(), say=said.append, render=render,
                      decide=lambda *_: None, apply=lambda: [])  # fmt: skip
    out = "\n".join(said)
    assert "x\\x1b[2Jy.txt" in out and "+evil \\x1b[1A\\x1b[2K hidden" in out
    assert ESC not in SGR.sub("", out)


# ------------------------------------------------------------------- concurrent applies


def test_two_concurrent_applies_never_both_apply(live: Live) -> None:
    write(live.root, {"a.txt": "a\n"})
    sid = run_goal(live, [("append", "a.txt", "agent\n")])
    # A large (sparse) file makes each apply take a while, so the two overlap for sure.
    with open(staging_of(live, sid) / "big.img", "wb") as handle:
        handle.truncate(3 * GIB)
        handle.write(b"head")
    live.ok("draft", "build")
    draft_id = session_record(live, sid)["draft_ids"][-1]
    live.ok("draft", "approve", draft_id)

    command = [PYTHON, "-m", "ta_session", "draft", "apply", draft_id]
    procs = [
        subprocess.Popen(command, cwd=live.root, env=live.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        for _ in range(2)
    ]  # fmt: skip
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    (loser,) = [err for code, _, err in results if code == 1]
    assert "already applied" in loser
    assert len(audit_actions(live, sid, "draft_applied")) == 1
    assert (live.root / "a.txt").read_text() == "a\nagent\n"


# ------------------------------------------------------------- links and writing outside


def test_a_draft_cannot_write_through_a_link_it_or_the_project_has(live: Live) -> None:
    outside = live.root.parent / "outside"
    outside.mkdir()
    write(live.root, {"keep.txt": "keep\n"})
    os.symlink("../outside", live.root / "sub")  # a folder link leading out of the project
    # The agent turns the link into a real folder with a file in it, and adds a link too.
    ops = [("delete", "sub"), ("write", "sub/x", "inside\n"),
           ("symlink", "sub2", "../outside"), ("write", "sub2x", "x\n")]  # fmt: skip
    sid = run_goal(live, ops)
    record = only_draft_of(live, sid)
    draft_id = record["draft_id"]
    assert sorted(artifacts_by_path(record)) == ["sub", "sub/x", "sub2", "sub2x"]
    around = _outside_ta(live)
    before = snapshot(live.root)

    # 1. Only the file approved: the project's `sub` is still the link, and is not followed.
    live.ok("draft", "approve", draft_id, "--artifact", "sub/x")
    line = _error(live.ta("draft", "apply", draft_id))
    assert "refusing path 'sub/x': sub is a symlink" in line
    assert _outside_ta(live) == around and not any(outside.iterdir())
    assert snapshot(live.root) == before

    # 2. A draft that adds a link and a file beneath it (hand-made, and sealed as ta would:
    #    as if whoever edited it could also write the seal): refused before anything is written.
    project = Project(live.root)
    crafted = project.drafts.load(draft_id)
    for artifact in crafted.artifacts:
        if artifact.resource_uri == URI + "sub2x":
            artifact.resource_uri = URI + "sub2/x"
    project.drafts.save(crafted)
    live.ok("draft", "approve", draft_id, "--artifact", "sub2")
    live.ok("draft", "approve", draft_id, "--artifact", "sub2/x")
    live.ok("draft", "reject", draft_id, "--artifact", "sub/x")
    line = _error(live.ta("draft", "apply", draft_id, "--force"))
    assert "refusing path 'sub2/x': this draft also makes sub2 a symlink" in line
    assert _outside_ta(live) == around and not any(outside.iterdir())
    assert snapshot(live.root) == before

    # 3. Deleting the link and writing the folder, both approved: the folder is real.
    live.ok("draft", "reject", draft_id, "--artifact", "sub2")
    live.ok("draft", "reject", draft_id, "--artifact", "sub2/x")
    live.ok("draft", "approve", draft_id, "--artifact", "sub")
    live.ok("draft", "approve", draft_id, "--artifact", "sub/x")
    live.ok("draft", "apply", draft_id)
    assert not (live.root / "sub").is_symlink()
    assert (live.root / "sub" / "x").read_text() == "inside\n"
    assert not any(outside.iterdir())


def test_staging_repoints_inside_links_and_reports_writes_through_outside_ones(
    live: Live,
) -> None:
    outside = live.root.parent / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("the user's file\n")
    (outside / "victim2.txt").write_text("another\n")
    write(live.root, {"data.txt": "data\n"})
    os.symlink(outside / "victim.txt", live.root / "link_out")  # absolute, outside
    os.symlink("../outside/victim2.txt", live.root / "rel_out")  # relative, climbs out
    os.symlink(live.root / "data.txt", live.root / "inside_abs")  # absolute, inside
    # The agent writes through all three links (no sandbox here).
    sid = run_goal(live, [("append", "inside_abs", "via link\n"),
                          ("append", "link_out", "agent was here\n")])  # fmt: skip

    # The inside link led into staging: the project's own file was not touched.
    assert (live.root / "data.txt").read_text() == "data\n"
    staging = staging_of(live, sid)
    assert os.readlink(staging / "inside_abs") == str(staging / "data.txt")
    assert os.readlink(staging / "rel_out") == str(outside / "victim2.txt")
    manifest = json.loads((live.ta_dir / "baselines" / f"{_goal(live, sid)}.json").read_text())
    assert sorted(manifest["outside"]) == ["link_out", "rel_out"]

    # The outside write cannot be prevented without a sandbox, but it is in the draft.
    assert (outside / "victim.txt").read_text() == "the user's file\nagent was here\n"
    record = only_draft_of(live, sid)
    assert sorted(artifacts_by_path(record)) == ["data.txt"]  # links unchanged: no artifacts
    (warning,) = record["warnings"]
    assert warning["kind"] == "outside_write" and warning["path"] == "link_out"
    assert warning["target"] == str(outside / "victim.txt")
    assert "WARNING" in record["summary"]
    view = live.ok("draft", "view", record["draft_id"])
    assert f"WARNING: agent may have written through link link_out → {outside}/victim.txt" in view
    (built,) = audit_actions(live, sid, "draft_built")
    assert "link_out" in built["details"]["warnings"][0]

    live.ok("draft", "approve", record["draft_id"])
    live.ok("draft", "apply", record["draft_id"])
    assert (live.root / "data.txt").read_text() == "data\nvia link\n"
    assert os.readlink(live.root / "inside_abs") == str(live.root / "data.txt")
    assert (outside / "victim.txt").read_text() == "the user's file\nagent was here\n"


def test_a_write_through_an_outside_link_alone_still_makes_a_draft(live: Live) -> None:
    outside = live.root.parent / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("v\n")
    os.symlink(outside / "victim.txt", live.root / "link_out")
    sid = run_goal(live, [("append", "link_out", "sneaky\n")])
    record = only_draft_of(live, sid)  # no change in the workspace, yet a draft
    assert record["artifacts"] == [] and len(record["warnings"]) == 1


def test_create_staging_returns_the_links_that_lead_outside(tmp_path: Path) -> None:
    source, outside = tmp_path / "src", tmp_path / "elsewhere"
    source.mkdir()
    outside.mkdir()
    (source / "f.txt").write_text("f\n")
    os.symlink(outside, source / "out_dir")
    os.symlink("f.txt", source / "rel_in")
    manifest = create_staging(source, tmp_path / "staging")
    assert [(o.path, o.target, o.resolved) for o in manifest.outside_links] == [
        ("out_dir", str(outside), str(outside))
    ]
    assert os.readlink(tmp_path / "staging" / "rel_in") == "f.txt"


def _goal(live: Live, sid: str) -> str:
    return str(session_record(live, sid)["goal_id"])


# ------------------------------------------------------------- an edited draft is refused


@pytest.mark.parametrize("edit", ["content", "disposition"])
def test_a_draft_edited_after_approval_is_refused(live: Live, edit: str) -> None:
    write(live.root, {"a.txt": "a\n", "b.txt": "b\n"})
    sid = run_goal(live, [("append", "a.txt", "reviewed\n"), ("append", "b.txt", "no\n")])
    draft_id = only_draft_of(live, sid)["draft_id"]
    live.ok("draft", "approve", draft_id, "--artifact", "a.txt")
    live.ok("draft", "reject", draft_id, "--artifact", "b.txt", "--reason", "no")

    path = live.ta_dir / "drafts" / f"{draft_id}.json"
    data = json.loads(path.read_text())
    by_path = artifacts_by_path(data)
    if edit == "content":
        # Other content than was reviewed, made consistent everywhere but in the seal.
        evil = "a\nsomething else entirely\n"
        (staging_of(live, sid) / "a.txt").write_text(evil)
        by_path["a.txt"]["new_hash"] = sha(evil)
        by_path["a.txt"]["new_size"] = len(evil)
    else:
        by_path["b.txt"]["disposition"] = "approved"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))

    before = snapshot(live.root)
    line = _error(live.ta("draft", "apply", draft_id))
    assert "was changed outside ta after it was last written" in line, line
    assert snapshot(live.root) == before
    assert audit_actions(live, sid, "draft_applied") == []


def test_a_draft_without_its_seal_is_refused(live: Live) -> None:
    write(live.root, {"a.txt": "a\n"})
    sid = run_goal(live, [("append", "a.txt", "x\n")])
    draft_id = only_draft_of(live, sid)["draft_id"]
    live.ok("draft", "approve", draft_id)
    (live.ta_dir / "state" / "seals" / f"{draft_id}.sha256").unlink()
    assert "has no seal" in _error(live.ta("draft", "apply", draft_id))
    assert (live.root / "a.txt").read_text() == "a\n"


# --------------------------------------------------------------------------- setuid bits


def test_setuid_is_shown_and_dropped_on_apply_unless_allowed(live: Live) -> None:
    sid = run_goal(live, [("write", "tool", "#!/bin/sh\n"), ("chmod", "tool", "4755"),
                          ("write", "grp", "#!/bin/sh\n"), ("chmod", "grp", "2750")])  # fmt: skip
    record = only_draft_of(live, sid)
    draft_id = record["draft_id"]
    assert artifacts_by_path(record)["tool"]["new_mode"] == "4755"
    view = live.ok("draft", "view", draft_id)
    assert "added    tool  (mode 4755; SETUID/SETGID: dropped on apply" in view
    live.ok("draft", "approve", draft_id)
    live.ok("draft", "apply", draft_id)
    assert stat.S_IMODE(os.stat(live.root / "tool").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(live.root / "grp").st_mode) == 0o750
    (event,) = audit_actions(live, sid, "draft_applied")
    assert event["details"]["setid_dropped"] == ["grp", "tool"]

    # Allowed explicitly: ``ta draft apply --allow-setuid``.
    (staging_of(live, sid) / "tool").write_text("#!/bin/sh\necho 2\n")
    live.ok("draft", "build")
    second = session_record(live, sid)["draft_ids"][-1]
    live.ok("draft", "approve", second)
    live.ok("draft", "apply", second, "--force", "--allow-setuid")
    assert stat.S_IMODE(os.stat(live.root / "tool").st_mode) == 0o4755


# ------------------------------------------------------------------------- private .ta/



def test_everything_under_ta_is_private(live: Live) -> None:
    os.chmod(live.ta_dir, 0o755)  # as an older version (or mkdir) left it
    write(live.root, {"a.txt": "a\n", "run.sh": "#!/bin/sh\n"})
    os.chmod(live.root / "run.sh", 0o755)
    sid = run_goal(live, [("append", "a.txt", "more\n")])
    draft_id = only_draft_of(live, sid)["draft_id"]
    live.ok("session", "list")
    live.ok("draft", "approve", draft_id)
    live.ok("draft", "apply", draft_id)
    live.ok("audit", "verify")

    staging = staging_of(live, sid)
    seen = {"dirs": 0, "files": 0}
    wrong = []
    for folder, dirs, files in os.walk(live.ta_dir):
        if Path(folder) == staging:
            dirs[:], files = [], []  # the agent's copy of the project keeps the project's modes
        rel_folder = os.path.relpath(folder, live.ta_dir)
        mode = stat.S_IMODE(os.lstat(folder).st_mode)
        seen["dirs"] += 1
        if mode != 0o700:
            wrong.append(f"{rel_folder}/ {mode:o}")
        for name in files:
            rel = os.path.normpath(os.path.join(rel_folder, name))
            mode = stat.S_IMODE(os.lstat(os.path.join(folder, name)).st_mode)
            seen["files"] += 1
            if mode != 0o600:
                wrong.append(f"{rel} {mode:o}")
    assert wrong == []
    assert seen["files"] > 10  # sessions, goals, drafts, seals, baselines, audit, index, …
    for sub in ("interactive_sessions", "goals", "drafts", "baselines", "state/seals"):
        assert any((live.ta_dir / sub).iterdir()), sub
    # Staged files keep the project's modes; the copy's own folder is private.
    assert stat.S_IMODE(os.stat(staging / "run.sh").st_mode) == 0o755


# ----------------------------------------------------------------------------- the audit log


def _audit_project(tmp_path: Path, events: int) -> Project:
    project = Project(tmp_path / "proj")
    for i in range(events):
        project.audit.append("message", details={"content": f"event {i}"})
    return project


def test_a_truncated_audit_log_is_caught_even_without_its_head_file(tmp_path: Path) -> None:
    project = _audit_project(tmp_path, 6)
    log = project.layout.audit_log
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:3]))
    (project.layout.state_dir / "audit.head").unlink()
    result = project.audit.verify()
    assert not result.ok and "last written with 6 lines" in (result.problem or "")

    (project.layout.ta_dir / "audit.head").unlink()  # both copies gone
    result = project.audit.verify()
    assert not result.ok and "head records" in (result.problem or "")


def test_ta_audit_verify_names_the_edited_line(live: Live) -> None:
    write(live.root, {"a.txt": "a\n"})
    run_goal(live, [("append", "a.txt", "x\n")])
    log = live.ta_dir / "audit.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    assert len(lines) > 4
    data = json.loads(lines[2])
    data["actor"] = "somebody else"
    lines[2] = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    log.write_bytes(b"".join(lines))
    result = live.ta("audit", "verify")
    assert result.returncode == 1
    assert "Audit log broken at line 3: line 3 was edited" in result.stderr
