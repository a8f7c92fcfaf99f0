"""The session model and the channel protocol (SPEC §0, §2.1, §2.2): the reference's behaviours."""

from __future__ import annotations

import dataclasses
import json
import uuid
from uuid import UUID

import pytest

import ta_session
from ta_session import (
    HumanInput,
    InteractiveConfig,
    InteractiveSession,
    InteractiveSessionState,
    OutputStream,
    SessionChannel,
    SessionChannelError,
    SessionEvent,
    SessionMessage,
)
from ta_session.model import (
    Abort,
    AgentOutput,
    Answer,
    Approve,
    Close,
    Discuss,
    DraftReady,
    GoalComplete,
    Message,
    Pause,
    RecordFormatError,
    Reject,
    Resume,
    StateChanged,
    StatusUpdate,
    Timestamp,
    WaitingForInput,
    format_elapsed,
    parse_uuid,
)

ACTIVE = InteractiveSessionState.ACTIVE
PAUSED = InteractiveSessionState.PAUSED
COMPLETED = InteractiveSessionState.COMPLETED
ABORTED = InteractiveSessionState.ABORTED
ALL_STATES = [ACTIVE, PAUSED, COMPLETED, ABORTED]
VALID = {
    (ACTIVE, PAUSED), (ACTIVE, COMPLETED), (ACTIVE, ABORTED), (PAUSED, ACTIVE), (PAUSED, ABORTED),
}  # fmt: skip
INVALID = [(a, b) for a in ALL_STATES for b in ALL_STATES if (a, b) not in VALID]

GOAL = UUID("845a79f8-2bb8-4c0f-90bb-2c0a42bba110")
DRAFT = UUID("2ca6e4c2-efc6-424b-89b0-4cd47084b492")
OLD = Timestamp.parse("2020-01-01T00:00:00Z")


def new_session() -> InteractiveSession:
    return InteractiveSession.new(GOAL, "cli:4242", "claude-code")


def in_state(state: InteractiveSessionState) -> InteractiveSession:
    session = new_session()
    session.state = state
    session.updated_at = OLD
    return session


# -- the public API -------------------------------------------------------------------------


SPEC_PUBLIC_NAMES = [
    "InteractiveSession",
    "InteractiveSessionState",
    "SessionMessage",
    "SessionEvent",
    "HumanInput",
    "OutputStream",
    "InteractiveConfig",
    "SessionChannel",
    "SessionChannelError",
    "InteractiveSessionStore",
]


@pytest.mark.parametrize("name", SPEC_PUBLIC_NAMES)
def test_public_name_is_importable_from_the_package(name: str) -> None:
    assert getattr(ta_session, name) is not None
    assert name in ta_session.__all__


def test_store_methods_named_in_the_spec_exist() -> None:
    store = ta_session.InteractiveSessionStore
    for method in (
        "save", "load", "list", "list_alive", "find_active_for_goal", "delete", "exists",
        "append_message", "update",
    ):  # fmt: skip
        assert callable(getattr(store, method)), method


def test_enum_members_are_upper_case_with_wire_values() -> None:
    assert InteractiveSessionState.ACTIVE == "active"
    assert InteractiveSessionState.PAUSED == "paused"
    assert InteractiveSessionState.COMPLETED == "completed"
    assert InteractiveSessionState.ABORTED == "aborted"
    values = [s.value for s in InteractiveSessionState]
    assert values == ["active", "paused", "completed", "aborted"]
    assert OutputStream.STD_OUT == "std_out"
    assert OutputStream.STD_ERR == "std_err"
    assert str(InteractiveSessionState.PAUSED) == "paused"
    assert InteractiveSessionState("completed") is COMPLETED


def test_session_channel_error_is_an_exception() -> None:
    assert issubclass(SessionChannelError, Exception)


def test_session_channel_is_a_checkable_protocol() -> None:
    class Terminal:
        channel_id = "cli:1"

        def __init__(self) -> None:
            self.seen: list[SessionEvent] = []

        def emit(self, event: SessionEvent) -> None:
            self.seen.append(event)

        def receive(self, timeout: float) -> HumanInput | None:
            return None

    class NotAChannel:
        channel_id = "cli:2"

    assert isinstance(Terminal(), SessionChannel)
    assert not isinstance(NotAChannel(), SessionChannel)


# -- a new session --------------------------------------------------------------------------


def test_new_session_is_active_and_alive_with_empty_lists() -> None:
    session = new_session()
    assert isinstance(session.session_id, UUID)
    assert session.goal_id == GOAL
    assert session.channel_id == "cli:4242"
    assert session.agent_id == "claude-code"
    assert session.state is ACTIVE
    assert session.is_alive()
    assert session.messages == []
    assert session.draft_ids == []
    assert session.created_at == session.updated_at


def test_new_session_gets_a_fresh_id_and_the_current_time() -> None:
    before = Timestamp.now()
    a, b = new_session(), new_session()
    after = Timestamp.now()
    assert a.session_id != b.session_id
    assert a.session_id.version == 4
    assert before <= a.created_at <= after


def test_new_session_accepts_a_goal_id_string_in_any_form() -> None:
    for form in (str(GOAL).upper(), GOAL.hex, f"urn:uuid:{GOAL}", f"{{{GOAL}}}"):
        session = InteractiveSession.new(form, "cli:1", "codex")
        assert session.goal_id == GOAL
        assert json.loads(session.to_json())["goal_id"] == str(GOAL)


# -- messages and drafts --------------------------------------------------------------------


def test_log_message_appends_in_order_and_bumps_updated_at() -> None:
    session = new_session()
    session.updated_at = OLD
    first = session.log_message("human", "Focus on auth")
    assert session.updated_at > OLD
    assert session.updated_at == first.timestamp
    second = session.log_message("agent", "On it")
    third = session.log_message("ta-system", "Session paused")
    assert [(m.sender, m.content) for m in session.messages] == [
        ("human", "Focus on auth"),
        ("agent", "On it"),
        ("ta-system", "Session paused"),
    ]
    assert session.messages == [first, second, third]
    assert first.timestamp <= second.timestamp <= third.timestamp
    assert session.updated_at == third.timestamp
    assert session.created_at < session.updated_at or session.created_at == first.timestamp
    assert isinstance(first, SessionMessage)


def test_add_draft_appends_without_duplicates_and_bumps_updated_at() -> None:
    session = new_session()
    other = uuid.uuid4()
    session.updated_at = OLD
    session.add_draft(DRAFT)
    assert session.draft_ids == [DRAFT]
    assert session.updated_at > OLD
    session.add_draft(other)
    session.add_draft(DRAFT)
    session.add_draft(str(DRAFT).upper())  # the same id in another form is still a duplicate
    session.add_draft(DRAFT.hex)
    assert session.draft_ids == [DRAFT, other]
    assert all(isinstance(d, UUID) for d in session.draft_ids)


def test_add_draft_of_a_known_draft_still_bumps_updated_at() -> None:
    session = new_session()
    session.add_draft(DRAFT)
    session.updated_at = OLD
    session.add_draft(DRAFT)
    assert session.draft_ids == [DRAFT]
    assert session.updated_at > OLD


# -- transitions ----------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), sorted(VALID))
def test_valid_transition_changes_state_and_bumps_updated_at(
    start: InteractiveSessionState, end: InteractiveSessionState
) -> None:
    session = in_state(start)
    session.transition(end)
    assert session.state is end
    assert session.updated_at > OLD


@pytest.mark.parametrize(("start", "end"), sorted(VALID))
def test_valid_transition_accepts_the_state_name(
    start: InteractiveSessionState, end: InteractiveSessionState
) -> None:
    session = in_state(start)
    session.transition(end.value)
    assert session.state is end


@pytest.mark.parametrize(("start", "end"), INVALID)
def test_invalid_transition_raises_and_changes_nothing(
    start: InteractiveSessionState, end: InteractiveSessionState
) -> None:
    session = in_state(start)
    session.log_message("human", "hi")
    session.updated_at = OLD
    before = session.to_json()
    with pytest.raises(SessionChannelError) as info:
        session.transition(end)
    assert str(info.value) == f"invalid session transition from {start.value} to {end.value}"
    assert session.state is start
    assert session.updated_at == OLD
    assert session.to_json() == before


def test_the_invalid_transitions_include_the_ones_the_spec_names() -> None:
    for pair in [(COMPLETED, ACTIVE), (PAUSED, COMPLETED), (ACTIVE, ACTIVE), (ABORTED, PAUSED)]:
        assert pair in INVALID
    assert len(INVALID) == 16 - 5


def test_transition_to_an_unknown_state_raises_session_channel_error() -> None:
    session = in_state(ACTIVE)
    with pytest.raises(SessionChannelError):
        session.transition("sleeping")
    assert session.state is ACTIVE
    assert session.updated_at == OLD


@pytest.mark.parametrize("start", [ACTIVE, PAUSED])
def test_abort_from_active_or_paused_ends_the_session(start: InteractiveSessionState) -> None:
    session = in_state(start)
    assert session.is_alive()
    session.transition(ABORTED)
    assert session.state is ABORTED
    assert not session.is_alive()


def test_is_alive_by_state() -> None:
    assert in_state(ACTIVE).is_alive()
    assert in_state(PAUSED).is_alive()
    assert not in_state(COMPLETED).is_alive()
    assert not in_state(ABORTED).is_alive()


def test_pause_resume_complete_cycle() -> None:
    session = new_session()
    session.transition(PAUSED)
    session.transition(ACTIVE)
    session.transition(PAUSED)
    session.transition(ACTIVE)
    session.transition(COMPLETED)
    assert session.state is COMPLETED
    assert not session.is_alive()


# -- elapsed time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (1, "1s"),
        (59, "59s"),
        (60, "1m 0s"),
        (61, "1m 1s"),
        (3599, "59m 59s"),
        (3600, "1h 0m"),
        (3659, "1h 0m"),
        (3660, "1h 1m"),
        (2 * 3600 + 5 * 60, "2h 5m"),
        (2 * 3600 + 5 * 60 + 59, "2h 5m"),
        (100 * 3600, "100h 0m"),
    ],
)
def test_elapsed_display(seconds: int, shown: str) -> None:
    session = new_session()
    session.created_at = Timestamp.parse("2026-03-02T14:05:11.482915337Z")
    now = Timestamp(session.created_at.ns + seconds * 1_000_000_000)
    assert session.elapsed_display(now=now) == shown
    assert format_elapsed(seconds) == shown


def test_elapsed_display_counts_whole_seconds_only() -> None:
    session = new_session()
    start = session.created_at
    assert session.elapsed_display(now=Timestamp(start.ns + 59_999_999_999)) == "59s"
    assert session.elapsed_display(now=Timestamp(start.ns + 60_000_000_000)) == "1m 0s"


def test_elapsed_display_never_negative() -> None:
    session = new_session()
    assert session.elapsed_display(now=Timestamp(session.created_at.ns - 10**9)) == "0s"


def test_elapsed_display_without_now_uses_the_clock() -> None:
    session = new_session()
    session.created_at = Timestamp(Timestamp.now().ns - 125 * 1_000_000_000)
    assert session.elapsed_display() in ("2m 5s", "2m 6s")


# -- session JSON ---------------------------------------------------------------------------


def sample_session() -> InteractiveSession:
    return InteractiveSession(
        session_id=UUID("537208b1-a2e0-430c-a67f-d75693886394"),
        goal_id=GOAL,
        channel_id="cli:48213",
        agent_id="claude-code",
        state=PAUSED,
        created_at=Timestamp.parse("2026-03-02T14:05:11.482915337Z"),
        updated_at=Timestamp.parse("2026-03-02T14:06:00.5Z"),
        messages=[
            SessionMessage("human", 'ünï "q"\n\u001b[1m', Timestamp.parse("2026-03-02T14:05:12Z")),
        ],
        draft_ids=[DRAFT],
    )


def test_session_json_has_the_reference_shape() -> None:
    expected = (
        "{\n"
        '  "session_id": "537208b1-a2e0-430c-a67f-d75693886394",\n'
        '  "goal_id": "845a79f8-2bb8-4c0f-90bb-2c0a42bba110",\n'
        '  "channel_id": "cli:48213",\n'
        '  "agent_id": "claude-code",\n'
        '  "state": "paused",\n'
        '  "created_at": "2026-03-02T14:05:11.482915337Z",\n'
        '  "updated_at": "2026-03-02T14:06:00.500Z",\n'
        '  "messages": [\n'
        "    {\n"
        '      "sender": "human",\n'
        '      "content": "ünï \\"q\\"\\n\\u001b[1m",\n'
        '      "timestamp": "2026-03-02T14:05:12Z"\n'
        "    }\n"
        "  ],\n"
        '  "draft_ids": [\n'
        '    "2ca6e4c2-efc6-424b-89b0-4cd47084b492"\n'
        "  ]\n"
        "}"
    )
    assert sample_session().to_json() == expected


def test_session_json_round_trip() -> None:
    session = sample_session()
    text = session.to_json()
    again = InteractiveSession.from_json(text)
    assert again == session
    assert again.to_json() == text
    assert InteractiveSession.from_json(text.encode("utf-8")) == session


def test_new_session_json_round_trip_omits_empty_lists() -> None:
    session = new_session()
    data = json.loads(session.to_json())
    assert list(data) == [
        "session_id", "goal_id", "channel_id", "agent_id", "state", "created_at", "updated_at",
    ]  # fmt: skip
    assert InteractiveSession.from_json(session.to_json()) == session


def test_session_json_accepts_any_uuid_form_and_writes_lowercase() -> None:
    data = json.loads(sample_session().to_json())
    data["session_id"] = "537208B1-A2E0-430C-A67F-D75693886394"
    data["goal_id"] = GOAL.hex.upper()
    data["draft_ids"] = [f"urn:uuid:{DRAFT}", f"{{{str(DRAFT).upper()}}}"]
    session = InteractiveSession.from_dict(data)
    assert session.session_id == UUID("537208b1-a2e0-430c-a67f-d75693886394")
    assert session.goal_id == GOAL
    assert session.draft_ids == [DRAFT, DRAFT]
    out = json.loads(session.to_json())
    assert out["session_id"] == "537208b1-a2e0-430c-a67f-d75693886394"
    assert out["goal_id"] == str(GOAL)
    assert out["draft_ids"] == [str(DRAFT), str(DRAFT)]


@pytest.mark.parametrize(
    "form",
    [
        "2CA6E4C2-EFC6-424B-89B0-4CD47084B492",
        "2ca6e4c2efc6424b89b04cd47084b492",
        "2CA6E4C2EFC6424B89B04CD47084B492",
        "urn:uuid:2ca6e4c2-efc6-424b-89b0-4cd47084b492",
        "URN:UUID:2CA6E4C2-EFC6-424B-89B0-4CD47084B492",
        "{2ca6e4c2-efc6-424b-89b0-4cd47084b492}",
        "{2CA6E4C2-EFC6-424B-89B0-4CD47084B492}",
        " 2ca6e4c2-efc6-424b-89b0-4cd47084b492 ",
    ],
)
def test_parse_uuid_accepts_user_forms(form: str) -> None:
    assert parse_uuid(form) == DRAFT
    assert str(parse_uuid(form)) == "2ca6e4c2-efc6-424b-89b0-4cd47084b492"


@pytest.mark.parametrize("bad", ["", "2ca6e4c2", "2ca6e4c2-efc6-424b-89b0-4cd47084b49z", None, 42])
def test_parse_uuid_rejects_garbage(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_uuid(bad)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d.pop("session_id"), "session_id"),
        (lambda d: d.pop("state"), "state"),
        (lambda d: d.pop("updated_at"), "updated_at"),
        (lambda d: d.update(state="sleeping"), "sleeping"),
        (lambda d: d.update(goal_id="not-a-uuid"), "not-a-uuid"),
        (lambda d: d.update(created_at="yesterday"), "yesterday"),
        (lambda d: d.update(channel_id=7), "channel_id"),
        (lambda d: d.update(messages="nope"), "messages"),
        (lambda d: d["messages"][0].pop("timestamp"), "timestamp"),
        (lambda d: d["messages"][0].update(sender=None), "sender"),
        (lambda d: d.update(draft_ids=["zz"]), "zz"),
    ],
)
def test_bad_session_documents_raise_record_format_error(change, needle: str) -> None:
    data = json.loads(sample_session().to_json())
    change(data)
    with pytest.raises(RecordFormatError) as info:
        InteractiveSession.from_dict(data)
    assert needle in str(info.value)


def test_non_json_and_non_object_raise_record_format_error() -> None:
    with pytest.raises(RecordFormatError, match="JSON"):
        InteractiveSession.from_json("{not json")
    with pytest.raises(RecordFormatError):
        InteractiveSession.from_json("[1, 2]")
    with pytest.raises(RecordFormatError):
        InteractiveSession.from_json(b"\xff\xfe")
    assert issubclass(RecordFormatError, ValueError)


# -- protocol types: exact JSON shapes and display strings ----------------------------------

EVENTS: list[tuple[SessionEvent, str, str]] = [
    (
        AgentOutput(OutputStream.STD_OUT, "Hello"),
        '{"event_type":"agent_output","stream":"std_out","content":"Hello"}',
        "[stdout] Hello",
    ),
    (
        AgentOutput(OutputStream.STD_ERR, "oops ✗"),
        '{"event_type":"agent_output","stream":"std_err","content":"oops ✗"}',
        "[stderr] oops ✗",
    ),
    (
        DraftReady(DRAFT, "Add login form", 3),
        '{"event_type":"draft_ready","draft_id":"2ca6e4c2-efc6-424b-89b0-4cd47084b492",'
        '"summary":"Add login form","artifact_count":3}',
        "Draft ready: 2ca6e4c2-efc6-424b-89b0-4cd47084b492 (3 artifacts) — Add login form",
    ),
    (
        GoalComplete(GOAL),
        '{"event_type":"goal_complete","goal_id":"845a79f8-2bb8-4c0f-90bb-2c0a42bba110"}',
        "Goal complete: 845a79f8-2bb8-4c0f-90bb-2c0a42bba110",
    ),
    (
        WaitingForInput("What next?"),
        '{"event_type":"waiting_for_input","prompt":"What next?"}',
        "Waiting for input: What next?",
    ),
    (
        StatusUpdate("Running tests"),
        '{"event_type":"status_update","message":"Running tests"}',
        "Status: Running tests",
    ),
]

INPUTS: list[tuple[HumanInput, str, str]] = [
    (
        Message("Focus on auth"),
        '{"input_type":"message","text":"Focus on auth"}',
        "Message: Focus on auth",
    ),
    (
        Approve(DRAFT, "fs://workspace/src/auth.rs"),
        '{"input_type":"approve","draft_id":"2ca6e4c2-efc6-424b-89b0-4cd47084b492",'
        '"artifact_uri":"fs://workspace/src/auth.rs"}',
        "Approve fs://workspace/src/auth.rs in draft 2ca6e4c2-efc6-424b-89b0-4cd47084b492",
    ),
    (
        Approve(DRAFT, None),
        '{"input_type":"approve","draft_id":"2ca6e4c2-efc6-424b-89b0-4cd47084b492",'
        '"artifact_uri":null}',
        None,
    ),
    (
        Reject(DRAFT, None, "Needs tests"),
        '{"input_type":"reject","draft_id":"2ca6e4c2-efc6-424b-89b0-4cd47084b492",'
        '"artifact_uri":null,"reason":"Needs tests"}',
        "Reject draft 2ca6e4c2-efc6-424b-89b0-4cd47084b492: Needs tests",
    ),
    (
        Reject(DRAFT, "fs://workspace/a.txt", "no"),
        '{"input_type":"reject","draft_id":"2ca6e4c2-efc6-424b-89b0-4cd47084b492",'
        '"artifact_uri":"fs://workspace/a.txt","reason":"no"}',
        None,
    ),
    (Abort(), '{"input_type":"abort"}', "Abort session"),
]


@pytest.mark.parametrize(("event", "wire", "shown"), EVENTS, ids=lambda x: None)
def test_session_event_json_and_display(event: SessionEvent, wire: str, shown: str) -> None:
    assert isinstance(event, SessionEvent)
    assert event.to_json() == wire
    assert next(iter(json.loads(wire))) == "event_type"  # the tag comes first
    assert SessionEvent.from_json(wire) == event
    assert SessionEvent.from_dict(json.loads(wire)) == event
    assert SessionEvent.from_json(event.to_json()) == event
    assert str(event) == shown


@pytest.mark.parametrize(("value", "wire", "shown"), INPUTS, ids=lambda x: None)
def test_human_input_json_and_display(value: HumanInput, wire: str, shown: str | None) -> None:
    assert isinstance(value, HumanInput)
    assert value.to_json() == wire
    assert next(iter(json.loads(wire))) == "input_type"
    assert HumanInput.from_json(wire) == value
    assert HumanInput.from_json(value.to_json()) == value
    if shown is not None:
        assert str(value) == shown


def test_protocol_decoding_accepts_any_uuid_form_and_writes_lowercase() -> None:
    upper = str(DRAFT).upper()
    value = HumanInput.from_json(
        json.dumps({"input_type": "reject", "draft_id": upper, "artifact_uri": None, "reason": "x"})
    )
    assert value == Reject(DRAFT, None, "x")
    assert str(DRAFT) in value.to_json()
    for form in (DRAFT.hex, f"urn:uuid:{DRAFT}", f"{{{upper}}}"):
        event = SessionEvent.from_dict(
            {"event_type": "draft_ready", "draft_id": form, "summary": "s", "artifact_count": 1}
        )
        assert event == DraftReady(DRAFT, "s", 1)
        assert json.loads(event.to_json())["draft_id"] == str(DRAFT)


def test_protocol_types_built_from_id_strings_write_lowercase_uuids() -> None:
    """A caller may hand in the id as the user typed it; the wire form is still canonical."""
    upper = str(DRAFT).upper()
    assert Approve(upper, None) == Approve(DRAFT, None)  # type: ignore[arg-type]
    assert json.loads(Approve(upper, None).to_json())["draft_id"] == str(DRAFT)  # type: ignore[arg-type]
    assert json.loads(DraftReady(DRAFT.hex, "s", 1).to_json())["draft_id"] == str(DRAFT)  # type: ignore[arg-type]
    assert str(GoalComplete(f"urn:uuid:{GOAL}")) == f"Goal complete: {GOAL}"  # type: ignore[arg-type]
    assert str(AgentOutput("std_out", "Hi")) == "[stdout] Hi"  # type: ignore[arg-type]


def test_a_missing_artifact_uri_reads_as_null() -> None:
    value = HumanInput.from_json(f'{{"input_type":"approve","draft_id":"{DRAFT}"}}')
    assert value == Approve(DRAFT, None)
    assert '"artifact_uri":null' in value.to_json()
    value = HumanInput.from_json(f'{{"input_type":"reject","draft_id":"{DRAFT}","reason":"r"}}')
    assert value == Reject(DRAFT, None, "r")


def test_non_ascii_and_control_characters_survive_the_wire() -> None:
    event = AgentOutput(OutputStream.STD_OUT, "\u001b[31mrot\u001b[0m ✓ 🎉\n")
    wire = event.to_json()
    assert "\\u001b[31m" in wire
    assert "✓ 🎉" in wire
    assert SessionEvent.from_json(wire) == event


@pytest.mark.parametrize(
    ("wire", "needle"),
    [
        ('{"event_type":"nope"}', "nope"),
        ('{"content":"x"}', "event_type"),
        ("[1]", "object"),
        ('{"event_type":"agent_output","stream":"std_in","content":"x"}', "std_in"),
        ('{"event_type":"agent_output","stream":"std_out"}', "content"),
        ('{"event_type":"draft_ready","draft_id":"x","summary":"s","artifact_count":1}', "x"),
        (
            f'{{"event_type":"draft_ready","draft_id":"{DRAFT}","summary":"s",'
            '"artifact_count":"3"}',
            "artifact_count",
        ),
        ('{"event_type":"status_update","message":5}', "message"),
        ("not json", "JSON"),
    ],
)
def test_bad_session_events_raise_record_format_error(wire: str, needle: str) -> None:
    with pytest.raises(RecordFormatError) as info:
        SessionEvent.from_json(wire)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("wire", "needle"),
    [
        ('{"input_type":"shout","text":"x"}', "shout"),
        ('{"input_type":"message"}', "text"),
        ('{"input_type":"approve","draft_id":"nope"}', "nope"),
        (f'{{"input_type":"reject","draft_id":"{DRAFT}","artifact_uri":null}}', "reason"),
        ('{"event_type":"abort"}', "input_type"),
    ],
)
def test_bad_human_inputs_raise_record_format_error(wire: str, needle: str) -> None:
    with pytest.raises(RecordFormatError) as info:
        HumanInput.from_json(wire)
    assert needle in str(info.value)


# -- InteractiveConfig ----------------------------------------------------------------------


def test_interactive_config_defaults() -> None:
    config = InteractiveConfig()
    assert config.enabled is False
    assert config.output_capture == "pipe"
    assert config.allow_human_input is True
    assert config.auto_exit_on is None
    assert config.resume_cmd is None
    assert InteractiveConfig.from_yaml("") == config
    assert InteractiveConfig.from_yaml("{}") == config
    assert InteractiveConfig.from_dict(None) == config


BARE = """\
enabled: true
output_capture: pty
allow_human_input: false
auto_exit_on: "idle_timeout: 300s"
resume_cmd: "claude --resume {session_id}"
"""

AGENT_FILE = """\
name: claude-code
command: claude
args: ["--print"]
interactive:
  enabled: true
  output_capture: log
  auto_exit_on: goal_complete
"""


def test_interactive_config_from_a_bare_mapping() -> None:
    config = InteractiveConfig.from_yaml(BARE)
    assert config.enabled is True
    assert config.output_capture == "pty"
    assert config.allow_human_input is False
    assert config.auto_exit_on == "idle_timeout: 300s"
    assert config.idle_timeout_seconds() == 300.0
    assert config.resume_cmd == "claude --resume {session_id}"


def test_interactive_config_from_an_agent_file() -> None:
    config = InteractiveConfig.from_yaml(AGENT_FILE)
    assert config.enabled is True
    assert config.output_capture == "log"
    assert config.allow_human_input is True  # not given: the default
    assert config.auto_exit_on == "goal_complete"
    assert config.exits_on_goal_complete
    assert config.idle_timeout_seconds() is None
    assert config.resume_cmd is None


def test_interactive_config_partial_mapping_keeps_other_defaults() -> None:
    config = InteractiveConfig.from_yaml("interactive:\n  enabled: true\n")
    assert config == InteractiveConfig(enabled=True)


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("output_capture: tty\n", ["output_capture", "tty", "pipe", "pty", "log"]),
        ("interactive:\n  output_capture: screen\n", ["output_capture", "screen"]),
        ("enabled: maybe\n", ["enabled"]),
        ("allow_human_input: 3\n", ["allow_human_input"]),
        ("auto_exit_on: sometimes\n", ["auto_exit_on", "sometimes"]),
        ("resume_cmd: [a, b]\n", ["resume_cmd"]),
        ("interactive: [1, 2]\n", ["mapping"]),
        ("- just\n- a list\n", ["mapping"]),
    ],
)
def test_interactive_config_bad_values_raise_a_clear_error(text: str, needles: list[str]) -> None:
    with pytest.raises(RecordFormatError) as info:
        InteractiveConfig.from_yaml(text)
    for needle in needles:
        assert needle in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "interactive:\n  enabled: [true\n",
        "enabled: true\n  output_capture: pty\n bad: indent\n",
        "a: b: c\n",
        '"unterminated\n',
    ],
)
def test_interactive_config_malformed_yaml_raises_record_format_error(text: str) -> None:
    with pytest.raises(RecordFormatError) as info:
        InteractiveConfig.from_yaml(text)
    message = str(info.value)
    assert message.startswith("invalid YAML")
    assert "line" in message


@pytest.mark.parametrize(
    ("condition", "seconds"),
    [
        ("idle_timeout: 300s", 300.0),
        ("idle_timeout: 300", 300.0),
        ("idle_timeout:5m", 300.0),
        ("idle_timeout: 2h", 7200.0),
        ("idle_timeout: 1500ms", 1.5),
    ],
)
def test_idle_timeout_conditions(condition: str, seconds: float) -> None:
    assert InteractiveConfig(auto_exit_on=condition).idle_timeout_seconds() == seconds


# Our extensions (new tags, SPEC §2.2): the same rules, and no reference tag is changed.
EXTENSIONS: list[tuple[SessionEvent | HumanInput, str]] = [
    (StateChanged("active", "paused"),
     '{"event_type":"state_changed","from_state":"active","to_state":"paused"}'),
    (Discuss(DRAFT, "fs://workspace/a.txt", "why?"),
     '{"input_type":"discuss","draft_id":"2ca6e4c2-efc6-424b-89b0-4cd47084b492",'
     '"artifact_uri":"fs://workspace/a.txt","comment":"why?"}'),
    (Answer("q-1", "yes"), '{"input_type":"answer","question_id":"q-1","text":"yes"}'),
    (Pause(), '{"input_type":"pause"}'),
    (Resume(), '{"input_type":"resume"}'),
    (Close(), '{"input_type":"close","build_draft":true}'),
    (Close(build_draft=False), '{"input_type":"close","build_draft":false}'),
]  # fmt: skip


@pytest.mark.parametrize(("value", "wire"), EXTENSIONS, ids=lambda x: None)
def test_extension_variants_round_trip(value: SessionEvent | HumanInput, wire: str) -> None:
    assert value.to_json() == wire
    kind = SessionEvent if isinstance(value, SessionEvent) else HumanInput
    assert kind.from_json(wire) == value
    assert str(value)  # every variant has a display string


def _sample(variant: type) -> SessionEvent | HumanInput:
    """An instance of any variant, its fields filled by type."""
    samples = {"str": "text ✓", "str | None": None, "int": 2, "bool": False, "UUID": DRAFT,
               "UUID | None": DRAFT, "OutputStream": OutputStream.STD_ERR}  # fmt: skip
    kwargs = {}
    for f in dataclasses.fields(variant):
        if f.type in samples:
            kwargs[f.name] = samples[f.type]
        elif f.default is dataclasses.MISSING:
            pytest.fail(f"add a sample value of type {f.type} for {variant.__name__}.{f.name}")
    return variant(**kwargs)


VARIANTS = sorted(
    [*SessionEvent._variants.values(), *HumanInput._variants.values()], key=lambda v: v.__name__
)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.__name__)
def test_every_variant_round_trips_with_its_tag_first(variant: type) -> None:
    value = _sample(variant)
    kind = SessionEvent if isinstance(value, SessionEvent) else HumanInput
    data = json.loads(value.to_json())
    assert list(data)[:1] == [kind.TAG_KEY]
    assert data[kind.TAG_KEY] == variant.tag
    assert kind.from_json(value.to_json()) == value
    assert str(value)


def test_the_reference_variants_are_all_there() -> None:
    reference_events = {"agent_output", "draft_ready", "goal_complete", "waiting_for_input",
                        "status_update"}  # fmt: skip
    reference_inputs = {"message", "approve", "reject", "abort"}
    assert reference_events <= set(SessionEvent._variants)
    assert reference_inputs <= set(HumanInput._variants)


def test_visible_escapes_nothing_printable_but_a_names_backslash() -> None:
    """``visible`` returns printable text at once (``str.isprintable``): that is only right if
    every character it escapes is unprintable, which holds for every code point."""
    from ta_session.model.display import _CONTENT_UNSAFE, _NAME_UNSAFE, visible

    for code in range(0x110000):
        char = chr(code)
        if char.isprintable():
            assert not _CONTENT_UNSAFE.match(char), hex(code)
            assert not _NAME_UNSAFE.match(char) or char == "\\", hex(code)
    assert visible("a\\b", name=True) == "a\\\\b" and visible("a\\b") == "a\\b"
    assert visible("x\u202ey") == "x\\u202ey" and visible("ok ✓ 日本") == "ok ✓ 日本"
