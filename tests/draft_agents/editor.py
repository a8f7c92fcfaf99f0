"""Test agent for the draft tests: makes the edits it is given in its working folder (the
staging workspace), prints ``EDITS DONE``, and then either exits or, with ``--listen LOG``, reads
its input line by line: each line is appended to LOG (outside the project, so it is not part of
the draft) and printed as ``heard: <line>``; ``quit`` ends it.

The edits are one JSON list (first argument) of ``[op, path, value]``:
``write`` (text), ``bytes`` (hex), ``append`` (text), ``delete``, ``chmod`` (octal string),
``symlink`` (link target; replaces an existing link), ``mkdir``, ``touch`` (mtime only),
``sleep`` (seconds; the path is ignored).
"""

import json
import os
import sys
import time


def edit(op: str, path: str, value: str | None) -> None:
    folder = os.path.dirname(path)
    if folder and op not in ("delete", "chmod", "touch", "sleep"):
        os.makedirs(folder, exist_ok=True)
    if op == "write":
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(value or "")
    elif op == "bytes":
        with open(path, "wb") as handle:
            handle.write(bytes.fromhex(value or ""))
    elif op == "append":
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(value or "")
    elif op == "delete":
        os.unlink(path)
    elif op == "chmod":
        os.chmod(path, int(value or "644", 8))
    elif op == "symlink":
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(value or "", path)
    elif op == "sleep":
        time.sleep(float(value or "0"))
    elif op == "touch":
        os.utime(path)
    elif op == "mkdir":
        os.makedirs(path, exist_ok=True)
    else:
        raise SystemExit(f"unknown op {op!r}")


def main() -> int:
    args = sys.argv[1:]
    listen = None
    if "--listen" in args:
        i = args.index("--listen")
        listen = args[i + 1]
        del args[i : i + 2]
    for op, path, *rest in json.loads(args[0]) if args else []:
        edit(op, path, rest[0] if rest else None)
    print("EDITS DONE", flush=True)
    if listen is None:
        return 0
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        with open(listen, "a", encoding="utf-8") as log:
            log.write(text + "\n")
        print(f"heard: {text}", flush=True)
        if text == "quit":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
