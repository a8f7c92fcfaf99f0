"""Generate session files exactly as the reference implementation writes them (SPEC §2.1).

The files are written directly, as a reference writer would, without going through our store:
fields in the reference's order, ``json.dumps(indent=2, ensure_ascii=False)``, raw UTF-8, no
trailing newline, empty lists omitted, timestamps in UTC with ``Z`` and nine fraction digits
(the reference's clock has nanosecond resolution; every generated instant has a non-zero last
digit, so nine digits is also the fewest exact form). Output is deterministic for a given seed.

    .venv/bin/python bench/gen_sessions.py /tmp/proj --sessions 10000 --messages 20

Each session also gets its goal file (`.ta/goals/<goal_id>.json`, our format, with a title)
unless `--no-goals`.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SESSIONS_SUBDIR = Path(".ta") / "interactive_sessions"
GOALS_SUBDIR = Path(".ta") / "goals"

# 2026-02-24T00:00:00Z: a fixed start, so runs are reproducible.
BASE_NS = int(datetime(2026, 2, 24, tzinfo=UTC).timestamp()) * 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SENDERS = ("human", "agent", "ta-system")
AGENTS = ("claude-code", "codex", "aider")
# State mix: most stored sessions are finished; a few are alive.
STATES = ("completed",) * 14 + ("aborted",) * 3 + ("active",) * 2 + ("paused",)

_SNIPPETS = (
    "Focus on the auth module first.",
    "Running the test suite — 42 passed, 1 failed: test_refresh_token.",
    "Ich habe die Datei geändert: src/über/straße.py ✓",
    'Edited config.yaml: set "retries": 3 and "timeout": "30s".',
    "Waiting for input: should I also update the migration?\n(yes/no)",
    "diff --git a/app.py b/app.py\n@@ -1,3 +1,4 @@\n+import logging",
    "日本語のコメントを追加しました。",
    "Session paused by human.",
)


def format_timestamp(ns: int) -> str:
    """RFC 3339 in UTC with ``Z`` and the fewest of 0, 3, 6 or 9 fraction digits that is exact."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    base = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos == 0:
        return f"{base}Z"
    if nanos % 1_000_000 == 0:
        return f"{base}.{nanos // 1_000_000:03d}Z"
    if nanos % 1_000 == 0:
        return f"{base}.{nanos // 1_000:06d}Z"
    return f"{base}.{nanos:09d}Z"


def _instant(rng: random.Random, ns: int) -> int:
    """``ns`` nudged so its last digit is non-zero (a nanosecond clock's nine digits)."""
    return ns - ns % 10 + rng.randint(1, 9)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def message_content(rng: random.Random, number: int) -> str:
    parts = [f"message {number}:", *rng.sample(_SNIPPETS, rng.randint(1, 3))]
    return " ".join(parts)


def make_message(rng: random.Random, number: int, ns: int) -> dict[str, Any]:
    return {
        "sender": SENDERS[number % 3],
        "content": message_content(rng, number),
        "timestamp": format_timestamp(_instant(rng, ns)),
    }


def make_session(
    rng: random.Random, index: int, n_messages: int, *, state: str | None = None
) -> dict[str, Any]:
    """One session document, keys in the reference's field order."""
    created = _instant(rng, BASE_NS + index * 61_000_000_000 + rng.randrange(1_000_000_000))
    at = created
    messages = []
    for number in range(n_messages):
        at += rng.randrange(200_000_000, 5_000_000_000)
        messages.append(make_message(rng, number, at))
    updated = _instant(rng, at + rng.randrange(1_000_000, 900_000_000))
    state = state or rng.choice(STATES)
    doc: dict[str, Any] = {
        "session_id": _uuid(rng),
        "goal_id": _uuid(rng),
        "channel_id": f"cli:{40000 + index % 1000}",
        "agent_id": rng.choice(AGENTS),
        "state": state,
        "created_at": format_timestamp(created),
        "updated_at": format_timestamp(updated),
    }
    if messages:  # the reference omits empty lists
        doc["messages"] = messages
    if state == "completed" or rng.random() < 0.2:
        doc["draft_ids"] = [_uuid(rng) for _ in range(rng.randint(1, 2))]
    return doc


_TITLES = (
    "Fix the flaky login test",
    "Refactor the payment module into smaller services and add the missing integration tests",
    "Übersetze die Fehlermeldungen ins Deutsche",
    "ログイン画面のバグを直す",
    "Tidy up",
)


def make_goal(rng: random.Random, session: dict[str, Any]) -> dict[str, Any]:
    """The goal record ``ta run`` writes before its session (our format, docs/formats.md)."""
    goal_id = session["goal_id"]
    return {
        "goal_id": goal_id,
        "title": f"{rng.choice(_TITLES)} #{rng.randrange(1000)}",
        "objective": "",
        "agent_id": session["agent_id"],
        "state": "running" if session["state"] in ("active", "paused") else session["state"],
        "source_dir": "/home/me/project",
        "workspace_path": f"/home/me/project/.ta/staging/{goal_id}",
        "created_at": session["created_at"],
        "updated_at": session["created_at"],
        "agent_command": [],
        "baseline": {"manifest": f".ta/baselines/{goal_id}.json", "entries": 120},
    }


def session_bytes(doc: dict[str, Any]) -> bytes:
    """The reference's exact bytes: pretty JSON, raw UTF-8, no trailing newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")


def write_session(sessions_dir: Path, doc: dict[str, Any]) -> Path:
    """A plain write of the whole file, as the reference does (no temp file, no fsync)."""
    path = sessions_dir / f"{doc['session_id']}.json"
    path.write_bytes(session_bytes(doc))
    return path


def generate(
    project: Path, n_sessions: int, n_messages: int, *, seed: int = 0, goals: bool = True
) -> list[Path]:
    """Write ``n_sessions`` sessions of ``n_messages`` each into ``project/.ta/...``, and with
    ``goals`` each session's goal file (its title is a listing column); the session files'
    paths."""
    sessions_dir = Path(project) / SESSIONS_SUBDIR
    sessions_dir.mkdir(parents=True, exist_ok=True)
    goals_dir = Path(project) / GOALS_SUBDIR
    if goals:
        goals_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for i in range(n_sessions):
        doc = make_session(rng, i, n_messages)
        if goals:  # a generator of its own: the sessions are the same with or without goals
            goal = make_goal(random.Random(doc["goal_id"]), doc)
            text = json.dumps(goal, indent=2, ensure_ascii=False)
            (goals_dir / f"{doc['goal_id']}.json").write_text(text, encoding="utf-8")
        paths.append(write_session(sessions_dir, doc))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path, help="project folder (.ta/ is created inside)")
    parser.add_argument("--sessions", type=int, default=100, help="number of sessions (100)")
    parser.add_argument("--messages", type=int, default=20, help="messages per session (20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--no-goals", action="store_true", help="no goal files")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    paths = generate(
        args.project, args.sessions, args.messages, seed=args.seed, goals=not args.no_goals
    )
    took = time.perf_counter() - start
    print(f"wrote {len(paths)} sessions × {args.messages} messages to "
          f"{args.project / SESSIONS_SUBDIR} in {took:.2f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
