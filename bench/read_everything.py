"""Baseline for ``ta session list --all``: the reference's read-everything algorithm in Python.

Reads and parses every ``*.json`` in the sessions folder, sorts the sessions newest
``updated_at`` first and prints one line per session, as the reference's ``list`` does. It is a
*light* version of that algorithm: it does not validate fields or parse timestamps (string order
is time order here), so it is faster than a faithful port would be.

    .venv/bin/python bench/read_everything.py PROJECT/.ta/interactive_sessions > /dev/null
"""

import json
import os
import sys


def main() -> int:
    folder = sys.argv[1]
    sessions = []
    for name in os.listdir(folder):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(folder, name), "rb") as handle:
            sessions.append(json.loads(handle.read()))
    sessions.sort(key=lambda s: s["updated_at"], reverse=True)
    out = sys.stdout
    for s in sessions:
        out.write(
            f"{s['session_id']}  {s['goal_id'][:8]}  {s['agent_id']}  {s['state']}"
            f"  {len(s.get('messages', []))}\n"
        )
    out.write(f"{len(sessions)} session(s).\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
