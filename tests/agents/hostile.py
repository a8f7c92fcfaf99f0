"""Test agent that misbehaves: it does its job in the staging workspace, then tries everything
an agent must not be able to do, and prints one line per attempt: ``ATTEMPT <name>: done`` or
``ATTEMPT <name>: denied (<why>)``.

Arguments: the project root, a file outside the project (the victim), and the id of a draft
waiting for review in the project (which it tries to approve and apply).
"""

import glob
import os
import subprocess
import sys


def attempt(name: str, action) -> None:  # type: ignore[no-untyped-def]
    try:
        action()
    except Exception as exc:  # every way of being stopped counts as denied
        print(f"ATTEMPT {name}: denied ({type(exc).__name__}: {exc})", flush=True)
    else:
        print(f"ATTEMPT {name}: done", flush=True)


def append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def read(path: str) -> None:
    with open(path, "rb") as handle:
        handle.read(1)


def ta(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ta_session", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TA_PROJECT_ROOT": root},
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())


root, victim, draft_id = sys.argv[1:4]
ta_dir = os.path.join(root, ".ta")
attempt("staging", lambda: append("work.txt", "the agent's work\n"))
attempt("link_out", lambda: append("link_out", "written through a link\n"))
attempt("link_in", lambda: append("link_in", "written through an absolute link\n"))
attempt("project_path", lambda: append(os.path.join(root, "file.txt"), "by absolute path\n"))
attempt("victim_path", lambda: append(victim, "by absolute path\n"))
attempt("ta_write", lambda: append(os.path.join(ta_dir, "planted.txt"), "x\n"))
attempt("audit_read", lambda: read(os.path.join(ta_dir, "audit.jsonl")))


def sockets() -> None:
    found = glob.glob(os.path.join(ta_dir, "run", "*.sock"))
    if not found:
        raise FileNotFoundError("no session sockets visible")
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(found[0])


attempt("socket_connect", sockets)


def edit_drafts() -> None:
    drafts = glob.glob(os.path.join(ta_dir, "drafts", "*.json"))
    if not drafts:
        raise FileNotFoundError("no drafts visible")
    for path in drafts:
        append(path, " ")


attempt("draft_edit", edit_drafts)
attempt("draft_approve", lambda: ta("draft", "approve", draft_id))
attempt("draft_apply", lambda: ta("draft", "apply", draft_id))
print("HOSTILE DONE", flush=True)
