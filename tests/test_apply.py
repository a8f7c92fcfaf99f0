"""Applying drafts (SPEC §7): conflicts with the source, all-or-nothing writes, and paths
confined to the project.

The source tree is compared before and after with ``snapshot`` (every path outside ``.ta/``:
kind, mode, bytes, link target, mtime), so "nothing was written" is checked, not assumed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from draft_helpers import (
    URI,
    artifacts_by_path,
    audit_actions,
    draft,
    only_draft_of,
    run_goal,
    snapshot,
    staging_of,
    tree_files,
    write,
)
from live_helpers import (
    Live,
    live_fixture,  # noqa: F401  (the `live` fixture)
)

OLD_NS = 1_500_000_000_123_456_789


def _error(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed command."""
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ta: error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


def test_a_conflicting_source_change_blocks_apply_until_forced(live: Live) -> None:
    write(live.root, {"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"})
    ops = [("append", "a.txt", "agent\n"), ("append", "b.txt", "agent\n"),
           ("append", "c.txt", "agent\n"), ("write", "new.txt", "agent\n")]  # fmt: skip
    sid = run_goal(live, ops)
    draft_id = only_draft_of(live, sid)["draft_id"]
    live.ok("draft", "approve", draft_id)
    live.ok("draft", "reject", draft_id, "--artifact", "c.txt", "--reason", "not this one")

    # The user works on the project while the goal runs: the same file, and a new file at a
    # path the agent also added.
    (live.root / "a.txt").write_text("a\nuser\n")
    (live.root / "new.txt").write_text("user\n")
    before = snapshot(live.root)

    line = _error(live.ta("draft", "apply", draft_id))
    assert "a.txt" in line and "new.txt" in line and "b.txt" not in line
    assert "--force" in line
    assert snapshot(live.root) == before  # not even the non-conflicting b.txt
    assert draft(live, draft_id)["status"] == "approved"
    assert audit_actions(live, sid, "draft_applied") == []

    out = live.ok("draft", "apply", draft_id, "--force")
    assert "3 file(s) written" in out
    staging = staging_of(live, sid)
    for rel in ("a.txt", "b.txt", "new.txt"):
        assert (live.root / rel).read_bytes() == (staging / rel).read_bytes(), rel
    assert (live.root / "c.txt").read_text() == "c\n"  # rejected: never written
    record = draft(live, draft_id)
    assert record["status"] == "applied" and record["applied_at"]
    (applied,) = audit_actions(live, sid, "draft_applied")
    assert applied["details"] == {"draft_id": draft_id, "paths": ["a.txt", "b.txt", "new.txt"],
                                  "forced": True}  # fmt: skip

    assert "already applied" in _error(live.ta("draft", "apply", draft_id, "--force"))


def test_apply_refuses_staged_content_that_changed_after_review(live: Live) -> None:
    write(live.root, {"a.txt": "a\n"})
    sid = run_goal(live, [("append", "a.txt", "reviewed\n")])
    draft_id = only_draft_of(live, sid)["draft_id"]
    live.ok("draft", "approve", draft_id)
    (staging_of(live, sid) / "a.txt").write_text("a\nnot what was reviewed\n")
    before = snapshot(live.root)
    assert "rebuild the draft" in _error(live.ta("draft", "apply", draft_id))
    assert snapshot(live.root) == before


# ---------------------------------------------------------------------- all or nothing


def _can_make_immutable(folder: Path) -> bool:
    probe = folder / f".chattr-probe-{secrets.token_hex(4)}"
    probe.write_text("probe")
    try:
        made = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, timeout=10)
        if made.returncode != 0:
            return False
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True, timeout=10, check=True)
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


@contextlib.contextmanager
def _immutable(path: Path) -> Iterator[None]:
    subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True, timeout=10)
    try:
        yield
    finally:  # always: an immutable file would outlive the test's folder
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, timeout=10)


@pytest.mark.parametrize("failure", ["directory-in-the-way", "immutable-target"])
def test_a_failure_in_the_middle_of_apply_restores_the_source_exactly(
    live: Live, failure: str
) -> None:
    if failure == "immutable-target" and not _can_make_immutable(live.root.parent):
        pytest.skip("chattr +i is not supported here")
    write(live.root, {"a.txt": "a\n", "b.sh": "#!/bin/sh\n", "d.txt": "delete me\n",
                      "z.txt": "z\n", "keep/x.txt": "x\n"})  # fmt: skip
    os.chmod(live.root / "a.txt", 0o600)
    os.chmod(live.root / "b.sh", 0o644)
    os.symlink("a.txt", live.root / "e_link")
    for rel in ("a.txt", "b.sh", "d.txt", "z.txt", "keep/x.txt"):
        os.utime(live.root / rel, ns=(OLD_NS, OLD_NS))
    ops = [
        ("append", "a.txt", "agent\n"),  # written before the failure
        ("write", "b.sh", "#!/bin/sh\necho agent\n"),
        ("chmod", "b.sh", "755"),
        ("write", "c_new/deep/file.txt", "new folders too\n"),
        ("delete", "d.txt"),
        ("symlink", "e_link", "b.sh"),
        ("write", "m.txt", "agent\n"),  # the failure, in the first variant
        ("append", "z.txt", "agent\n"),  # the failure in the second; else never reached
    ]
    sid = run_goal(live, ops)
    record = only_draft_of(live, sid)
    assert list(artifacts_by_path(record)) == [
        "a.txt",
        "b.sh",
        "c_new/deep/file.txt",
        "d.txt",
        "e_link",
        "m.txt",
        "z.txt",
    ]
    live.ok("draft", "approve", record["draft_id"])

    with contextlib.ExitStack() as stack:
        if failure == "directory-in-the-way":
            # The user made m.txt a folder: replacing it cannot work.
            write(live.root, {"m.txt/inside.txt": "user's\n"})
        else:
            stack.enter_context(_immutable(live.root / "z.txt"))
        before = snapshot(live.root)
        line = _error(live.ta("draft", "apply", record["draft_id"], "--force"))
        after = snapshot(live.root)

    # Paths are written in order, so everything before the failing one had been written.
    failing = "m.txt" if failure == "directory-in-the-way" else "z.txt"
    assert f"apply failed writing {failing} (" in line, line
    assert "the source was restored" in line, line
    assert "except" not in line, line  # every file was restored
    assert after == before  # bytes, modes, link targets and mtimes; no new folders
    assert not (live.root / "c_new").exists()
    assert draft(live, record["draft_id"])["status"] == "approved"
    assert audit_actions(live, sid, "draft_applied") == []
    apply_dir = live.ta_dir / "state" / "apply"
    assert not apply_dir.exists() or not any(apply_dir.iterdir())  # no backups left behind


# ---------------------------------------------------------------------- confinement


def _outside_ta(live: Live) -> set[str]:
    """Everything in the folder around the project, the project included, except its .ta/."""
    ta = os.path.relpath(live.ta_dir, live.root.parent)
    return {p for p in tree_files(live.root.parent) if not p.startswith(ta + "/")}


REFUSALS = {
    "dotdot": "leads outside the project",
    "dotdot-inside": "leads outside the project",
    "absolute": "leads outside the project",
    "symlinked-folder": "is a symlink",
    "ta-folder": ".ta/ is not project content",
}


@pytest.mark.parametrize("variant", list(REFUSALS))
def test_a_hand_edited_draft_cannot_write_outside_the_project(live: Live, variant: str) -> None:
    expected = REFUSALS[variant]
    outside = live.root.parent / "outside"
    outside.mkdir()
    absolute = Path("/etc") / f"ta-test-{secrets.token_hex(6)}"
    write(live.root, {"a.txt": "a\n"})
    os.symlink(outside, live.root / "linkdir")  # a folder link in the source, leading out
    sid = run_goal(live, [("append", "a.txt", "agent\n"), ("write", "evil.txt", "evil\n")])
    record = only_draft_of(live, sid)
    draft_id = record["draft_id"]
    live.ok("draft", "approve", draft_id)
    staging = staging_of(live, sid)

    uri = {
        "dotdot": URI + "../outside.txt",
        "dotdot-inside": URI + "sub/../../outside.txt",
        "absolute": URI + str(absolute),  # fs://workspace//etc/…
        "symlinked-folder": URI + "linkdir/evil.txt",
        "ta-folder": URI + ".ta/audit.jsonl",
    }[variant]
    # Where the staged content of that path would be, so that only the confinement check
    # stands between the draft and a write.
    if variant in ("dotdot", "dotdot-inside"):
        (staging.parent / "outside.txt").write_text("evil\n")
    path = live.ta_dir / "drafts" / f"{draft_id}.json"
    data = json.loads(path.read_text())
    for artifact in data["artifacts"]:
        if artifact["resource_uri"] == URI + "evil.txt":
            artifact["resource_uri"] = uri
    path.write_text(json.dumps(data, indent=2))

    before = snapshot(live.root)
    around = _outside_ta(live)
    audit_before = (live.ta_dir / "audit.jsonl").read_bytes()
    line = _error(live.ta("draft", "apply", draft_id, "--force"))
    assert expected in line, line
    assert repr(uri.removeprefix(URI)) in line or variant == "symlinked-folder", line

    assert snapshot(live.root) == before  # a.txt (approved, harmless) was not written either
    assert _outside_ta(live) == around
    assert not any(outside.iterdir())
    assert not absolute.exists()
    assert (live.ta_dir / "audit.jsonl").read_bytes() == audit_before
    assert json.loads(path.read_text())["status"] == "approved"
