"""InteractiveSessionStore: the reference's file format byte for byte (SPEC §2.1) and its API."""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path
from uuid import UUID

import pytest

from ta_session import (
    InteractiveSession,
    InteractiveSessionState,
    InteractiveSessionStore,
    SessionChannelError,
)
from ta_session.model import SessionMessage, Timestamp
from ta_session.store import AmbiguousIdError, CorruptRecordError, NotFoundError

ACTIVE = InteractiveSessionState.ACTIVE
PAUSED = InteractiveSessionState.PAUSED
COMPLETED = InteractiveSessionState.COMPLETED
ABORTED = InteractiveSessionState.ABORTED

REFERENCE_DIR = Path(__file__).resolve().parent / "fixtures" / "reference-sessions"
FIXTURES = sorted(REFERENCE_DIR.glob("*.json"))
GOAL = UUID("845a79f8-2bb8-4c0f-90bb-2c0a42bba110")


def sessions_dir(project: Path) -> Path:
    return project / ".ta" / "interactive_sessions"


def store_for(project: Path) -> InteractiveSessionStore:
    return InteractiveSessionStore(sessions_dir(project))


def make_session(
    *,
    session_id: UUID | None = None,
    goal_id: UUID = GOAL,
    state: InteractiveSessionState = ACTIVE,
    updated: str = "2026-03-02T14:05:11Z",
    messages: int = 0,
) -> InteractiveSession:
    session = InteractiveSession.new(goal_id, "cli:48213", "claude-code")
    if session_id is not None:
        session.session_id = session_id
    session.state = state
    session.created_at = Timestamp.parse("2026-03-02T14:00:00Z")
    for i in range(messages):
        session.messages.append(
            SessionMessage("agent", f"m{i}", Timestamp.parse("2026-03-02T14:01:00Z"))
        )
    session.updated_at = Timestamp.parse(updated)
    return session


def ordered_keys(text: str) -> list[list[str]]:
    """The key order of every JSON object in ``text``: the outermost, then the others in order."""
    seen: list[list[str]] = []
    json.loads(text, object_pairs_hook=lambda pairs: seen.append([k for k, _ in pairs]) or {})
    return [seen[-1], *seen[:-1]]  # an object is complete only after everything inside it


@pytest.fixture
def store(project: Path) -> InteractiveSessionStore:
    return store_for(project)


# -- the reference's files ------------------------------------------------------------------


def test_there_are_reference_fixtures() -> None:
    assert len(FIXTURES) >= 5


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name[:8])
def test_reference_file_loads(reference_project: Path, fixture: Path) -> None:
    store = store_for(reference_project)
    session = store.load(fixture.stem)
    assert str(session.session_id) == fixture.stem
    raw = json.loads(fixture.read_text(encoding="utf-8"))
    assert session.state.value == raw["state"]
    assert len(session.messages) == len(raw.get("messages", []))
    assert [str(d) for d in session.draft_ids] == raw.get("draft_ids", [])
    assert session.updated_at.isoformat() == raw["updated_at"]


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name[:8])
def test_reference_file_resaved_unchanged_is_byte_identical(
    reference_project: Path, fixture: Path, tmp_path: Path
) -> None:
    original = fixture.read_bytes()
    session = store_for(reference_project).load(fixture.stem)

    # Into a fresh project ...
    other = tmp_path / "other" / ".ta" / "interactive_sessions"
    InteractiveSessionStore(other).save(session)
    assert (other / fixture.name).read_bytes() == original

    # ... and over the copy it came from.
    in_place = store_for(reference_project)
    in_place.save(in_place.load(fixture.stem))
    assert (sessions_dir(reference_project) / fixture.name).read_bytes() == original


def test_all_reference_files_list_without_bad_files(reference_project: Path) -> None:
    store = store_for(reference_project)
    sessions = store.list()
    assert {str(s.session_id) for s in sessions} == {f.stem for f in FIXTURES}
    assert store.bad_files == []


def test_reference_nanoseconds_survive_a_round_trip(reference_project: Path) -> None:
    store = store_for(reference_project)
    session = store.load("537208b1-a2e0-430c-a67f-d75693886394")
    assert session.created_at.isoformat() == "2026-03-02T14:05:11.482915337Z"
    assert session.created_at.ns % 1000 == 337


# -- SPEC §2.1, rule by rule, on files the store writes --------------------------------------


def saved_text(store: InteractiveSessionStore, session: InteractiveSession) -> str:
    store.save(session)
    return store.path_for(session.session_id).read_bytes().decode("utf-8")


def test_rule_one_file_per_session_named_by_id(store: InteractiveSessionStore, project: Path):
    a, b = make_session(), make_session()
    store.save(a)
    store.save(b)
    names = sorted(p.name for p in sessions_dir(project).iterdir())
    assert names == sorted([f"{a.session_id}.json", f"{b.session_id}.json"])


def test_rule_key_order(store: InteractiveSessionStore) -> None:
    session = make_session(messages=2)
    session.add_draft(uuid.uuid4())
    keys = ordered_keys(saved_text(store, session))
    assert keys[0] == [
        "session_id", "goal_id", "channel_id", "agent_id", "state", "created_at", "updated_at",
        "messages", "draft_ids",
    ]  # fmt: skip
    assert keys[1:] == [["sender", "content", "timestamp"]] * 2


def test_rule_empty_lists_are_omitted(store: InteractiveSessionStore) -> None:
    text = saved_text(store, make_session())
    assert '"messages"' not in text
    assert '"draft_ids"' not in text
    assert list(json.loads(text))[-1] == "updated_at"


def test_rule_only_the_empty_list_is_omitted(store: InteractiveSessionStore) -> None:
    with_messages = make_session(messages=1)
    data = json.loads(saved_text(store, with_messages))
    assert "messages" in data
    assert "draft_ids" not in data
    with_drafts = make_session()
    with_drafts.add_draft(uuid.uuid4())
    data = json.loads(saved_text(store, with_drafts))
    assert "messages" not in data
    assert "draft_ids" in data


def test_rule_missing_lists_default_to_empty(store: InteractiveSessionStore) -> None:
    session = make_session()
    path = store.path_for(session.session_id)
    path.parent.mkdir(parents=True)
    data = json.loads(session.to_json())
    path.write_text(json.dumps(data, indent=2))
    loaded = store.load(session.session_id)
    assert loaded.messages == []
    assert loaded.draft_ids == []


def test_rule_explicit_empty_or_null_lists_load_as_empty(store: InteractiveSessionStore) -> None:
    session = make_session()
    path = store.path_for(session.session_id)
    path.parent.mkdir(parents=True)
    for value in ([], None):
        data = {**json.loads(session.to_json()), "messages": value, "draft_ids": value}
        path.write_text(json.dumps(data, indent=2))
        loaded = store.load(session.session_id)
        assert loaded.messages == []
        assert loaded.draft_ids == []


def test_rule_timestamps_have_0_3_6_or_9_fraction_digits(store: InteractiveSessionStore) -> None:
    session = make_session()
    session.created_at = Timestamp.parse("2026-03-02T14:05:11.000Z")
    session.updated_at = Timestamp.parse("2026-03-02T14:05:11.5Z")
    for fraction in ("482915", "4829153", "482915337"):
        session.messages.append(
            SessionMessage("agent", "x", Timestamp.parse(f"2026-03-02T14:05:11.{fraction}Z"))
        )
    data = json.loads(saved_text(store, session))
    assert data["created_at"] == "2026-03-02T14:05:11Z"
    assert data["updated_at"] == "2026-03-02T14:05:11.500Z"
    assert [m["timestamp"] for m in data["messages"]] == [
        "2026-03-02T14:05:11.482915Z",
        "2026-03-02T14:05:11.482915300Z",
        "2026-03-02T14:05:11.482915337Z",
    ]


def test_rule_timestamps_are_utc_with_z(store: InteractiveSessionStore) -> None:
    session = make_session()
    data = json.loads(session.to_json())
    data["created_at"] = "2026-03-02T16:05:11.25+02:00"
    data["updated_at"] = "2026-03-02t08:35:11-05:30"
    data["messages"] = [{"sender": "human", "content": "hi", "timestamp": "2026-03-02T14:05:11z"}]
    text = saved_text(store, InteractiveSession.from_dict(data))
    stamps = re.findall(r'"(\d{4}-[^"]*)"', text)
    assert stamps == ["2026-03-02T14:05:11.250Z", "2026-03-02T14:05:11Z", "2026-03-02T14:05:11Z"]


def test_rule_uuids_are_lowercase_hyphenated(store: InteractiveSessionStore) -> None:
    draft = uuid.uuid4()
    session = make_session()
    data = json.loads(session.to_json())
    data["session_id"] = str(session.session_id).upper()
    data["goal_id"] = "urn:uuid:" + str(GOAL).upper()
    data["draft_ids"] = [draft.hex.upper()]
    text = saved_text(store, InteractiveSession.from_dict(data))
    ids = re.findall(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}", text)
    assert ids == [str(session.session_id), str(GOAL), str(draft)]
    assert "urn" not in text
    assert store.path_for(str(session.session_id).upper()).name == f"{session.session_id}.json"


CONTENT = 'esc\u001b[1m nul\u0000 us\u001f tab\t nl\n cr\r bs\\ q" del\u007f ü ✓ 🎉 \u2028'


def test_rule_control_characters_escaped_lowercase_and_non_ascii_raw(
    store: InteractiveSessionStore,
) -> None:
    session = make_session()
    session.log_message("agent", CONTENT)
    text = saved_text(store, session)
    line = next(line for line in text.split("\n") if '"content"' in line)
    assert line == (
        '      "content": "esc\\u001b[1m nul\\u0000 us\\u001f tab\\t nl\\n cr\\r bs\\\\ q\\"'
        ' del\u007f ü ✓ 🎉 \u2028",'
    )
    assert "\\u001B" not in text
    raw_bytes = store.path_for(session.session_id).read_bytes()
    assert "ü ✓ 🎉".encode() in raw_bytes  # raw UTF-8, not \u escapes
    assert store.load(session.session_id).messages[0].content == CONTENT


def test_rule_two_space_indent_and_colon_space(store: InteractiveSessionStore) -> None:
    session = make_session(messages=1)
    session.add_draft(uuid.UUID("2ca6e4c2-efc6-424b-89b0-4cd47084b492"))
    lines = saved_text(store, session).split("\n")
    assert lines[0] == "{"
    assert lines[1] == f'  "session_id": "{session.session_id}",'
    assert lines[8:13] == [
        '  "messages": [',
        "    {",
        '      "sender": "agent",',
        '      "content": "m0",',
        '      "timestamp": "2026-03-02T14:01:00Z"',
    ]
    assert lines[13:] == [
        "    }",
        "  ],",
        '  "draft_ids": [',
        '    "2ca6e4c2-efc6-424b-89b0-4cd47084b492"',
        "  ]",
        "}",
    ]
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0
        assert not line.endswith(" ")
        assert "\t" not in line[:indent]


def test_rule_no_trailing_newline(store: InteractiveSessionStore) -> None:
    store.save(make_session(messages=1))
    for path in sessions_dir(store.sessions_dir.parent.parent).glob("*.json"):
        data = path.read_bytes()
        assert data.endswith(b"}")
        assert not data.endswith(b"\n")


def test_rule_written_exactly_as_json_dumps_indent_2(store: InteractiveSessionStore) -> None:
    session = make_session(messages=3)
    session.log_message("human", CONTENT)
    text = saved_text(store, session)
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False)


def test_rule_no_temporary_files_are_left_behind(store: InteractiveSessionStore, project: Path):
    session = make_session()
    for i in range(5):
        session.log_message("agent", str(i))
        store.save(session)
    assert [p.name for p in sessions_dir(project).iterdir()] == [f"{session.session_id}.json"]


# -- unknown keys are kept in place ---------------------------------------------------------

WITH_UNKNOWN_KEYS = """{
  "schema": 2,
  "session_id": "537208b1-a2e0-430c-a67f-d75693886394",
  "goal_id": "12299883-c123-4779-aab8-7a7a5f00ea6f",
  "channel_id": "cli:48213",
  "agent_id": "claude-code",
  "agent_version": "1.2.3",
  "state": "active",
  "created_at": "2026-03-02T14:05:11.482915337Z",
  "updated_at": "2026-03-02T14:05:11.482915337Z",
  "labels": {
    "team": "auth",
    "tags": [
      "a",
      "b"
    ]
  },
  "messages": [
    {
      "sender": "human",
      "tokens": 17,
      "content": "hello",
      "timestamp": "2026-03-02T14:05:12Z",
      "meta": null
    }
  ],
  "draft_ids": [
    "2ca6e4c2-efc6-424b-89b0-4cd47084b492"
  ],
  "tail": [],
  "empty": {}
}"""
SID = "537208b1-a2e0-430c-a67f-d75693886394"
TOP_KEYS = [
    "schema", "session_id", "goal_id", "channel_id", "agent_id", "agent_version", "state",
    "created_at", "updated_at", "labels", "messages", "draft_ids", "tail", "empty",
]  # fmt: skip


@pytest.fixture
def unknown_keys_store(project: Path) -> InteractiveSessionStore:
    folder = sessions_dir(project)
    folder.mkdir()
    (folder / f"{SID}.json").write_bytes(WITH_UNKNOWN_KEYS.encode())
    return store_for(project)


def test_unknown_keys_survive_load_save_byte_for_byte(unknown_keys_store) -> None:
    store = unknown_keys_store
    store.save(store.load(SID))
    assert store.path_for(SID).read_text() == WITH_UNKNOWN_KEYS


def test_unknown_keys_stay_in_place_after_changes(unknown_keys_store) -> None:
    store = unknown_keys_store
    session = store.load(SID)
    session.log_message("agent", "more")
    session.transition(PAUSED)
    store.save(session)
    keys = ordered_keys(store.path_for(SID).read_text())
    assert keys[0] == TOP_KEYS
    message_keys = [k for k in keys if "sender" in k]
    assert message_keys == [
        ["sender", "tokens", "content", "timestamp", "meta"],
        ["sender", "content", "timestamp"],
    ]
    data = json.loads(store.path_for(SID).read_text())
    assert data["labels"] == {"team": "auth", "tags": ["a", "b"]}
    assert data["messages"][0]["tokens"] == 17
    assert data["state"] == "paused"


def test_unknown_keys_survive_update_and_append(unknown_keys_store) -> None:
    store = unknown_keys_store
    store.update(SID, lambda s: s.transition(PAUSED))
    store.append_message(SID, "human", "via append")
    store.flush()
    keys = ordered_keys(store.path_for(SID).read_text())
    assert keys[0] == TOP_KEYS
    assert json.loads(store.path_for(SID).read_text())["messages"][0]["tokens"] == 17


def test_unknown_keys_when_lists_are_emptied(unknown_keys_store) -> None:
    """An unknown key that followed an omitted list keeps its place among the others."""
    store = unknown_keys_store

    def clear(session: InteractiveSession) -> None:
        session.messages.clear()
        session.draft_ids.clear()

    store.update(SID, clear)
    assert ordered_keys(store.path_for(SID).read_text())[0] == [
        k for k in TOP_KEYS if k not in ("messages", "draft_ids")
    ]


# -- the reference's API --------------------------------------------------------------------


def test_save_then_load_gives_the_same_session(store: InteractiveSessionStore) -> None:
    session = make_session(messages=3)
    session.add_draft(uuid.uuid4())
    store.save(session)
    assert store.load(session.session_id) == session
    assert store.load(str(session.session_id).upper()) == session


def test_save_overwrites(store: InteractiveSessionStore) -> None:
    session = make_session()
    store.save(session)
    session.transition(COMPLETED)
    store.save(session)
    assert store.load(session.session_id).state is COMPLETED


def test_load_missing_raises_not_found(store: InteractiveSessionStore) -> None:
    with pytest.raises(NotFoundError):
        store.load(uuid.uuid4())


def test_list_is_newest_updated_at_first(store: InteractiveSessionStore) -> None:
    stamps = [
        "2026-03-02T14:05:11.000000002Z",
        "2026-01-01T00:00:00Z",
        "2026-03-02T14:05:11.000000001Z",
        "2027-01-01T00:00:00Z",
        "2025-06-01T00:00:00.5Z",
    ]
    sessions = [make_session(updated=s) for s in stamps]
    for s in sessions:
        store.save(s)
    listed = store.list()
    assert [s.updated_at.isoformat() for s in listed] == sorted(
        (Timestamp.parse(s).isoformat() for s in stamps), reverse=True
    )
    assert [s.session_id for s in listed] == [
        s.session_id for s in sorted(sessions, key=lambda s: s.updated_at, reverse=True)
    ]


def test_list_of_reference_files_is_newest_first(reference_project: Path) -> None:
    listed = store_for(reference_project).list()
    stamps = [s.updated_at for s in listed]
    assert stamps == sorted(stamps, reverse=True)
    assert str(listed[0].session_id) == "6a28633f-f3cc-4959-9721-97084ff1db6b"


def test_list_follows_later_changes(store: InteractiveSessionStore) -> None:
    old = make_session(updated="2026-01-01T00:00:00Z")
    new = make_session(updated="2026-02-01T00:00:00Z")
    store.save(old)
    store.save(new)
    assert [s.session_id for s in store.list()] == [new.session_id, old.session_id]
    old.log_message("human", "I am newer now")
    store.save(old)
    assert [s.session_id for s in store.list()] == [old.session_id, new.session_id]


def test_list_of_an_empty_or_missing_folder(store: InteractiveSessionStore) -> None:
    assert store.list() == []
    assert store.list_alive() == []
    assert store.bad_files == []


def test_list_alive(store: InteractiveSessionStore) -> None:
    by_state = {state: make_session(state=state) for state in InteractiveSessionState}
    for s in by_state.values():
        store.save(s)
    alive = {s.session_id for s in store.list_alive()}
    assert alive == {by_state[ACTIVE].session_id, by_state[PAUSED].session_id}


def test_list_alive_of_reference_files(reference_project: Path) -> None:
    alive = store_for(reference_project).list_alive()
    assert {s.session_id.hex[:8] for s in alive} == {
        "16666ca3",
        "428b6fbd",
        "51975d1c",
        "537208b1",
        "86a345f1",
    }
    assert all(s.state in (ACTIVE, PAUSED) for s in alive)


def test_find_active_for_goal(store: InteractiveSessionStore) -> None:
    goal, other_goal = uuid.uuid4(), uuid.uuid4()
    done = make_session(goal_id=goal, state=COMPLETED, updated="2027-01-01T00:00:00Z")
    live = make_session(goal_id=goal, state=PAUSED)
    other = make_session(goal_id=other_goal)
    for s in (done, live, other):
        store.save(s)
    found = store.find_active_for_goal(goal)
    assert found is not None
    assert found.session_id == live.session_id
    assert store.find_active_for_goal(str(goal).upper()).session_id == live.session_id
    assert store.find_active_for_goal(uuid.uuid4()) is None
    live.transition(ABORTED)
    store.save(live)
    assert store.find_active_for_goal(goal) is None


def test_find_active_for_goal_in_reference_files(reference_project: Path) -> None:
    store = store_for(reference_project)
    found = store.find_active_for_goal("845a79f8-2bb8-4c0f-90bb-2c0a42bba110")
    assert found is not None and str(found.session_id).startswith("16666ca3")
    assert store.find_active_for_goal("6dd2325e-4739-46d0-adf8-86b3d5c652d4") is None  # completed


def test_exists_and_delete(store: InteractiveSessionStore) -> None:
    session = make_session()
    assert not store.exists(session.session_id)
    store.save(session)
    assert store.exists(session.session_id)
    assert store.exists(str(session.session_id).upper())
    assert store.delete(session.session_id) is True
    assert not store.exists(session.session_id)
    assert not store.path_for(session.session_id).exists()
    assert store.delete(session.session_id) is False
    assert store.list() == []
    with pytest.raises(NotFoundError):
        store.load(session.session_id)


def test_delete_leaves_other_sessions(reference_project: Path) -> None:
    store = store_for(reference_project)
    assert store.delete("6a28633f-f3cc-4959-9721-97084ff1db6b")
    assert len(store.list()) == len(FIXTURES) - 1
    assert not store.exists("6a28633f-f3cc-4959-9721-97084ff1db6b")


def test_delete_of_a_session_with_pending_messages(store: InteractiveSessionStore) -> None:
    session = make_session()
    store.save(session)
    store.append_message(session.session_id, "agent", "one")
    store.append_message(session.session_id, "agent", "two")
    assert store.delete(session.session_id)
    store.flush()
    assert not store.exists(session.session_id)
    assert store.list() == []


# -- resolve --------------------------------------------------------------------------------


def test_resolve_full_id_in_any_form(reference_project: Path) -> None:
    store = store_for(reference_project)
    sid = UUID("16666ca3-ea6b-4175-8fd9-86479ec1972b")
    for form in (str(sid), str(sid).upper(), sid.hex, f"urn:uuid:{sid}", f"{{{sid}}}", f" {sid} "):
        assert store.resolve(form) == sid


def test_resolve_unique_prefix(reference_project: Path) -> None:
    store = store_for(reference_project)
    sid = UUID("16666ca3-ea6b-4175-8fd9-86479ec1972b")
    for prefix in ("1", "16666", "16666ca3", "16666CA3", "16666ca3-ea6b"):
        assert store.resolve(prefix) == sid


def test_resolve_ambiguous_prefix_names_the_candidates(reference_project: Path) -> None:
    store = store_for(reference_project)
    with pytest.raises(AmbiguousIdError) as info:
        store.resolve("8")
    message = str(info.value)
    for candidate in ("8383b240", "86a345f1", "897c2f74"):
        assert candidate in message
    assert "6a28633f" not in message


def test_resolve_ambiguous_candidates_sharing_a_long_prefix_are_told_apart(
    store: InteractiveSessionStore,
) -> None:
    a = UUID("abcdef12-3456-4000-8000-000000000001")
    b = UUID("abcdef12-3456-4000-8000-000000000002")
    for sid in (a, b):
        store.save(make_session(session_id=sid))
    with pytest.raises(AmbiguousIdError) as info:
        store.resolve("abcdef12-34")
    message = str(info.value)
    shown = re.findall(r"[0-9a-f][0-9a-f-]{7,}", message)
    for mine, theirs in ((a, b), (b, a)):
        assert any(str(mine).startswith(s) and not str(theirs).startswith(s) for s in shown), (
            f"{mine} is not told apart from {theirs} in {message!r}"
        )


def test_resolve_unknown(reference_project: Path) -> None:
    store = store_for(reference_project)
    for unknown in ("ffff", "00000000-0000-4000-8000-000000000000", "xyz", "", "16666ca3-zz"):
        with pytest.raises(NotFoundError):
            store.resolve(unknown)


def test_resolve_in_an_empty_store(store: InteractiveSessionStore) -> None:
    with pytest.raises(NotFoundError):
        store.resolve("abc")


# -- corrupt files --------------------------------------------------------------------------

BROKEN = {
    "11111111-1111-4111-8111-111111111111.json": (b'{"session_id": "1111', "JSON"),
    "22222222-2222-4222-8222-222222222222.json": (
        json.dumps(
            {
                "session_id": "22222222-2222-4222-8222-222222222222",
                "goal_id": str(GOAL),
                "channel_id": "cli:1",
                "agent_id": "codex",
                "created_at": "2026-03-02T14:05:11Z",
                "updated_at": "2026-03-02T14:05:11Z",
            }
        ).encode(),
        "state",
    ),
    "33333333-3333-4333-8333-333333333333.json": (b"", "JSON"),
    "44444444-4444-4444-8444-444444444444.json": (b"\xff\xfe\x00garbage", "JSON"),
    "55555555-5555-4555-8555-555555555555.json": (b"[1, 2, 3]", "object"),
}


@pytest.fixture
def corrupt_project(reference_project: Path) -> Path:
    folder = sessions_dir(reference_project)
    for name, (data, _) in BROKEN.items():
        (folder / name).write_bytes(data)
    return reference_project


def test_corrupt_files_are_reported_and_skipped(corrupt_project: Path) -> None:
    store = store_for(corrupt_project)
    summaries = store.summaries()
    assert len(summaries) == len(FIXTURES)
    reported = {bad.path.name: bad.reason for bad in store.bad_files}
    assert set(reported) == set(BROKEN)
    for name, (_, needle) in BROKEN.items():
        assert needle in reported[name], reported[name]
        assert store.bad_files[0].path.parent == sessions_dir(corrupt_project)

    listed = store.list()
    assert {str(s.session_id) for s in listed} == {f.stem for f in FIXTURES}
    assert {bad.path.name for bad in store.bad_files} == set(BROKEN)
    assert len(store.list_alive()) == 5


def test_the_missing_field_is_named(corrupt_project: Path) -> None:
    store = store_for(corrupt_project)
    store.summaries()
    reason = next(b.reason for b in store.bad_files if b.path.name.startswith("2222"))
    assert "missing required field 'state'" in reason


def test_loading_a_corrupt_file_raises_a_clear_error(corrupt_project: Path) -> None:
    store = store_for(corrupt_project)
    with pytest.raises(CorruptRecordError) as info:
        store.load("11111111-1111-4111-8111-111111111111")
    assert "11111111-1111-4111-8111-111111111111.json" in str(info.value)


def test_a_folder_named_like_a_session_is_a_bad_file(reference_project: Path) -> None:
    (sessions_dir(reference_project) / "66666666-6666-4666-8666-666666666666.json").mkdir()
    store = store_for(reference_project)
    assert len(store.list()) == len(FIXTURES)
    assert [b.path.name[:8] for b in store.bad_files] == ["66666666"]


def test_a_file_whose_name_is_not_its_session_id_is_reported(reference_project: Path) -> None:
    """Such a file cannot be opened by its id, so it must not vanish from listings silently."""
    folder = sessions_dir(reference_project)
    source = folder / "16666ca3-ea6b-4175-8fd9-86479ec1972b.json"
    shutil.copyfile(source, folder / "77777777-7777-4777-8777-777777777777.json")
    shutil.copyfile(source, folder / "backup.json")
    store = store_for(reference_project)
    listed = store.list()
    assert len(listed) == len(FIXTURES)
    assert sorted(b.path.name for b in store.bad_files) == [
        "77777777-7777-4777-8777-777777777777.json",
        "backup.json",
    ]
    assert all("16666ca3-ea6b-4175-8fd9-86479ec1972b" in b.reason for b in store.bad_files)


def test_other_files_in_the_folder_are_ignored(reference_project: Path) -> None:
    folder = sessions_dir(reference_project)
    (folder / "README.txt").write_text("notes")
    (folder / ".16666ca3-ea6b-4175-8fd9-86479ec1972b.json.123.abcd.tmp").write_text("{")
    (folder / ".hidden.json").write_text("{")
    store = store_for(reference_project)
    assert len(store.list()) == len(FIXTURES)
    assert store.bad_files == []


def test_a_corrupt_file_that_is_repaired_is_listed_again(corrupt_project: Path) -> None:
    store = store_for(corrupt_project)
    store.list()
    name = "11111111-1111-4111-8111-111111111111.json"
    repaired = make_session(session_id=UUID(name[:-5]))
    (sessions_dir(corrupt_project) / name).write_text(repaired.to_json())
    assert repaired.session_id in {s.session_id for s in store.list()}
    assert name not in {b.path.name for b in store.bad_files}


# -- update ---------------------------------------------------------------------------------


def test_update_is_a_read_modify_write(store: InteractiveSessionStore) -> None:
    session = make_session(messages=1)
    store.save(session)
    draft = uuid.uuid4()

    def change(s: InteractiveSession) -> None:
        s.add_draft(draft)
        s.transition(PAUSED)

    result = store.update(session.session_id, change)
    assert result.state is PAUSED
    assert result.draft_ids == [draft]
    loaded = store.load(session.session_id)
    assert loaded == result
    assert len(loaded.messages) == 1


def test_update_sees_changes_made_by_another_store(project: Path) -> None:
    first, second = store_for(project), store_for(project)
    session = make_session()
    first.save(session)
    first.load(session.session_id)
    second.update(session.session_id, lambda s: s.log_message("human", "from second"))
    result = first.update(session.session_id, lambda s: s.log_message("human", "from first"))
    assert [m.content for m in result.messages] == ["from second", "from first"]


def test_update_whose_fn_raises_changes_nothing(store: InteractiveSessionStore) -> None:
    session = make_session(messages=2)
    store.save(session)
    path = store.path_for(session.session_id)
    before = path.read_bytes()
    stat_before = os.stat(path)

    def half_done(s: InteractiveSession) -> None:
        s.log_message("agent", "half")
        s.transition(COMPLETED)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.update(session.session_id, half_done)
    assert path.read_bytes() == before
    assert os.stat(path).st_ino == stat_before.st_ino
    assert store.load(session.session_id) == session

    # The invalid transition is refused the same way, and the next update works.
    with pytest.raises(SessionChannelError, match="transition from active to active"):
        store.update(session.session_id, lambda s: s.transition(ACTIVE))
    assert path.read_bytes() == before
    store.update(session.session_id, lambda s: s.transition(PAUSED))
    assert store.load(session.session_id).state is PAUSED


def test_update_of_a_missing_session_raises_not_found(store: InteractiveSessionStore) -> None:
    with pytest.raises(NotFoundError):
        store.update(uuid.uuid4(), lambda s: None)
    assert not store.sessions_dir.exists() or list(store.sessions_dir.glob("*.json")) == []


def test_append_message_then_load(store: InteractiveSessionStore) -> None:
    session = make_session()
    store.save(session)
    for i in range(5):
        message = store.append_message(session.session_id, "agent", f"line {i}")
        assert message.content == f"line {i}"
    loaded = store.load(session.session_id)
    assert [m.content for m in loaded.messages] == [f"line {i}" for i in range(5)]
    assert loaded.updated_at == loaded.messages[-1].timestamp
    # And after a flush, the file itself has them.
    store.flush()
    data = json.loads(store.path_for(session.session_id).read_text())
    assert [m["content"] for m in data["messages"]] == [f"line {i}" for i in range(5)]


def test_append_message_is_seen_by_another_store_before_any_flush(project: Path) -> None:
    writer, reader = store_for(project), store_for(project)
    session = make_session()
    writer.save(session)
    for i in range(3):
        writer.append_message(session.session_id, "agent", f"m{i}")
    assert [m.content for m in reader.load(session.session_id).messages] == ["m0", "m1", "m2"]
    writer.append_message(session.session_id, "agent", "m3")
    assert len(reader.load(session.session_id).messages) == 4


def test_unsaved_changes_to_a_saved_object_never_reach_the_file(project: Path) -> None:
    store = store_for(project)
    session = make_session()
    store.save(session)
    session.log_message("human", "not saved")  # the caller's object, changed after save
    session.transition(ABORTED)
    store.append_message(session.session_id, "agent", "appended")
    store.flush()
    loaded = store_for(project).load(session.session_id)
    assert contents_of(loaded) == ["appended"]
    assert loaded.state is ACTIVE


def test_the_session_update_returns_is_the_callers_own(project: Path) -> None:
    store = store_for(project)
    session = make_session()
    store.save(session)
    result = store.update(session.session_id, lambda s: s.transition(PAUSED))
    result.transition(ABORTED)  # not saved
    result.log_message("human", "not saved")
    store.append_message(session.session_id, "agent", "appended")
    store.flush()
    loaded = store_for(project).load(session.session_id)
    assert loaded.state is PAUSED
    assert contents_of(loaded) == ["appended"]


def test_the_session_load_returns_is_the_callers_own(project: Path) -> None:
    store = store_for(project)
    session = make_session()
    store.save(session)
    store.append_message(session.session_id, "agent", "pending")
    loaded = store.load(session.session_id)
    loaded.log_message("human", "not saved")
    store.append_message(session.session_id, "agent", "second")
    store.flush()
    assert contents_of(store_for(project).load(session.session_id)) == ["pending", "second"]


def contents_of(session: InteractiveSession) -> list[str]:
    return [m.content for m in session.messages]
