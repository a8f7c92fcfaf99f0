"""``ta session replay`` without a terminal (SPEC §4.5): terminal queries left out (also split
between events), keys read apart from terminal replies, speed bounds, the idle cap, markers and
going to them, and bad arguments. The player in a real terminal: tests/test_live_replay.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Runner
from ta_session.channels.playback import (
    DEFAULT_IDLE_LIMIT,
    MAX_SPEED,
    MIN_SPEED,
    ItemKind,
    Key,
    KeyReader,
    Timeline,
    faster,
    slower,
)
from ta_session.channels.player import play_plain
from ta_session.cli.main import build_parser
from ta_session.host.queries import QueryFilter, without_queries
from ta_session.model import SessionMessage, Timestamp

# -- terminal queries ------------------------------------------------------------------------

QUERIES = [
    b"\x1b[c",  # DA1
    b"\x1b[0c",
    b"\x1b[>c",  # DA2
    b"\x1b[>0c",
    b"\x1b[=c",  # DA3
    b"\x1b[5n",  # DSR
    b"\x1b[6n",  # CPR
    b"\x1b[?6n",
    b"\x1b[?996n",  # colour scheme
    b"\x1b[>0q",  # XTVERSION
    b"\x1b[>q",
    b"\x1b[?2004$p",  # DECRQM
    b"\x1b[4$p",
    b"\x1bP$qm\x1b\\",  # DECRQSS
    b"\x1bP$q r\x07",
    b"\x1bP+q544e\x1b\\",  # XTGETTCAP
    b"\x1b[14t",  # window reports
    b"\x1b[18t",
    b"\x1b[11t",
    b"\x1b[13t",
    b"\x1b[8;50;100t",  # ... and a resize: neither belongs in a replay
    b"\x1b]10;?\x1b\\",  # colours
    b"\x1b]11;?\x07",
    b"\x1b]4;1;?\x1b\\",
    b"\x1b]52;c;?\x07",  # the clipboard
    b"\x1b[?u",  # kitty keyboard flags
    b"\x1b[?4m",  # XTQMODKEYS
    b"\x1bZ",  # DECID
    b"\x05",  # ENQ
]
KEPT = [
    b"\x1b[31mred\x1b[0m",
    b"\x1b[2J\x1b[H",
    b"\x1b[10;20H",
    b"\x1b[?1049h\x1b[?25l\x1b[?2004h",
    b"\x1b]0;a title\x07",
    b"\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\",
    b"\x1b[2 q",  # cursor shape (DECSCUSR), not XTVERSION
    b"\x1b[1;24r",
    "é✓🎉 plain text\r\n".encode(),
]


@pytest.mark.parametrize("query", QUERIES)
def test_every_kind_of_terminal_query_is_left_out(query: bytes) -> None:
    assert without_queries(b"before" + query + b"after") == b"beforeafter"


@pytest.mark.parametrize("text", KEPT)
def test_output_that_asks_nothing_is_kept_as_it_is(text: bytes) -> None:
    assert without_queries(text) == text


STREAM = (
    b"".join(part for pair in zip(KEPT, QUERIES[: len(KEPT)], strict=True) for part in pair)
    + b"".join(QUERIES[len(KEPT) :])
    + b"the end\r\n"
)


def _filtered(pieces: list[bytes]) -> bytes:
    queries = QueryFilter()
    return b"".join(queries.feed(piece) for piece in pieces)


def test_a_query_split_between_two_events_is_still_left_out() -> None:
    expected = without_queries(STREAM)
    for query in QUERIES:
        assert query not in expected or query == b"\x05"
    for cut in range(len(STREAM) + 1):
        assert _filtered([STREAM[:cut], STREAM[cut:]]) == expected, cut


def test_a_query_cut_into_many_pieces_is_left_out() -> None:
    pieces = [bytes([b]) for b in b"a\x1b]11;?\x1b\\b\x1b[?2004$pc\x1bP$qm\x1b\\d\x1b[6ne"]
    assert _filtered(pieces) == b"abcde"


def test_what_only_looked_like_the_start_of_a_query_comes_out_with_the_next_piece() -> None:
    queries = QueryFilter()
    assert queries.feed(b"red: \x1b[31") == b"red: "  # could still become CSI 31 n
    assert queries.feed(b"mRED") == b"\x1b[31mRED"
    assert queries.feed(b"x" * 10 + b"\x1bP$q" + b"y" * 300) == b"x" * 10 + b"\x1bP$q" + b"y" * 300


# -- keys ---------------------------------------------------------------------------------------

REPLIES = [
    b"\x1b[12;1R",  # cursor position: digits, ';' and 'R'
    b"\x1b[?1;2c",  # DA1
    b"\x1b[>0;276;0c",  # DA2
    b"\x1b[?2004;1$y",  # DECRQM
    b"\x1bP>|tmux 3.3a q.n+p-\x1b\\",  # XTVERSION, with key-like bytes inside
    b"\x1bP1$r0;1 q\x1b\\",  # DECRQSS
    b"\x1b]11;rgb:0000/0000/0000\x1b\\",  # a colour
    b"\x1b]10;rgb:ffff/ffff/ffff\x07",
    b"\x1b[8;24;80t",  # a window size
    b"\x1b[I",  # focus in
    b"\x1b[<0;10;5M",  # an SGR mouse report
    b"\x1b[A",  # the arrow keys are not ours either
    b"\x1bOA",
]


def test_keys_map_to_what_they_do() -> None:
    keys = KeyReader().feed(b" .+-np][q\x03xyz\r")
    assert keys == [Key.PAUSE, Key.STEP, Key.FASTER, Key.SLOWER, Key.NEXT, Key.PREVIOUS,
                    Key.NEXT, Key.PREVIOUS, Key.QUIT, Key.QUIT]  # fmt: skip


@pytest.mark.parametrize("reply", REPLIES)
def test_a_terminal_reply_is_never_taken_for_keys(reply: bytes) -> None:
    data = b" " + reply + b"." + reply + reply + b"q"
    assert KeyReader().feed(data) == [Key.PAUSE, Key.STEP, Key.QUIT]
    for cut in range(len(data) + 1):  # split between two reads anywhere
        reader = KeyReader()
        assert reader.feed(data[:cut]) + reader.feed(data[cut:]) == [
            Key.PAUSE,
            Key.STEP,
            Key.QUIT,
        ], cut


def test_ctrl_c_quits_even_in_the_middle_of_a_sequence() -> None:
    reader = KeyReader()
    assert reader.feed(b"\x1b[12;") == []
    assert reader.feed(b"\x03") == [Key.QUIT]
    assert KeyReader().feed(b"\x1b]11;rgb:0\x03") == [Key.QUIT]


# -- speed and the idle cap ----------------------------------------------------------------------


def test_speed_doubles_and_halves_within_bounds() -> None:
    assert faster(1.0) == 2.0 and slower(1.0) == 0.5
    speed = 1.0
    for _ in range(20):
        speed = faster(speed)
    assert speed == MAX_SPEED == 64
    for _ in range(40):
        speed = slower(speed)
    assert speed == MIN_SPEED == 1 / 16
    # A --speed beyond the bounds is kept as given, and the keys only bring it back.
    assert faster(100.0) == 100.0 and slower(100.0) == 50.0
    assert slower(0.01) == 0.01 and faster(0.01) == 0.02


def test_pauses_are_capped_at_two_seconds_by_default() -> None:
    assert DEFAULT_IDLE_LIMIT == 2.0
    replay = build_parser().parse_args(["session", "replay", "abc"])
    assert replay.idle_limit == DEFAULT_IDLE_LIMIT and replay.speed == 1.0


def write_cast(path: Path, events: list[list[object]], start: int = 1_700_000_000) -> Path:
    header = {"version": 2, "width": 80, "height": 24, "timestamp": start, "env": {}}
    lines = [json.dumps(header)] + [json.dumps(e) for e in events]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


EVENTS: list[list[object]] = [
    [0.5, "o", "one\r\n"],
    [1.0, "m", "input: first"],
    [61.0, "o", "two\r\n"],  # a minute of silence
    [61.5, "r", "100x30"],
    [62.0, "m", "state: active -> paused"],
    [62.0, "m", "state: paused -> active"],
    [62.5, "o", "three \x1b[6n\r\n"],
    [63.0, "o", "four\r\n"],
]


def test_the_timeline_caps_pauses_and_keeps_markers_in_place(tmp_path: Path) -> None:
    path = write_cast(tmp_path / "r.cast", EVENTS)
    with Timeline.load(path) as timeline:
        kinds = [(item.kind, item.label) for item in timeline.items]
        assert kinds == [
            (ItemKind.OUTPUT, ""),
            (ItemKind.MARKER, "input: first"),
            (ItemKind.OUTPUT, ""),
            (ItemKind.MARKER, "state: active -> paused"),
            (ItemKind.MARKER, "state: paused -> active"),
            (ItemKind.OUTPUT, ""),
            (ItemKind.OUTPUT, ""),
        ]
        assert [item.at for item in timeline.items] == [0.5, 1.0, 3.0, 4.0, 4.0, 4.5, 5.0]
        assert timeline.duration == 5.0
        assert timeline.output(0) == b"one\r\n" and timeline.output(5) == b"three \x1b[6n\r\n"
        assert timeline.output(1) == b""  # a marker
    with Timeline.load(path, idle_limit=0) as whole:
        assert [item.at for item in whole.items] == [0.5, 1.0, 61.0, 62.0, 62.0, 62.5, 63.0]


def test_a_torn_or_foreign_line_is_skipped(tmp_path: Path) -> None:
    path = write_cast(tmp_path / "r.cast", EVENTS[:1])
    with path.open("a", encoding="utf-8") as handle:
        handle.write('"not an event"\n[2.0,"o","spelled differently"]\n[3.0, "o", "torn')
    with Timeline.load(path) as timeline:
        assert [timeline.output(i) for i in range(len(timeline.items))] == [
            b"one\r\n",
            b"spelled differently",
        ]


def test_markers_go_forward_and_back(tmp_path: Path) -> None:
    path = write_cast(tmp_path / "r.cast", EVENTS)
    with Timeline.load(path) as timeline:
        assert timeline.markers == [1, 3, 4]
        assert timeline.next_marker(0) == 1  # nothing played yet
        assert timeline.next_marker(2) == 3  # after the first marker
        assert timeline.next_marker(4) == 4  # the second of two markers at the same moment
        assert timeline.next_marker(5) is None
        # Back: to the last marker played; right at a marker, to the one before it.
        assert timeline.previous_marker(7) == 4
        assert timeline.previous_marker(5) == 3  # just played marker 4
        assert timeline.previous_marker(4) == 1  # just played marker 3
        assert timeline.previous_marker(3) == 1  # "two" played after marker 1
        assert timeline.previous_marker(2) is None  # right at the first marker: the start
        assert timeline.previous_marker(0) is None
        last = timeline.last_marker(7)
        assert last is not None and last.label == "state: paused -> active"
        assert timeline.last_marker(1) is None


def message(sender: str, content: str, seconds: float) -> SessionMessage:
    return SessionMessage(
        sender, content, Timestamp.from_split(int(seconds), int(seconds % 1 * 1e9))
    )


def test_a_recording_without_markers_gets_them_from_the_session_log(tmp_path: Path) -> None:
    start = 1_700_000_000
    path = write_cast(tmp_path / "r.cast", [e for e in EVENTS if e[1] != "m"], start)
    log = [
        message("ta-system", "Agent launched: x", start + 0.1),
        message("agent", "not a marker", start + 0.7),
        message("human", "fix\nthe bug", start + 61.2),
    ]
    with Timeline.load(path, messages=log) as timeline:
        markers = [(item.at, item.label) for item in timeline.items if item.kind is ItemKind.MARKER]
        assert markers == [(pytest.approx(0.1), "Agent launched: x"),
                           (pytest.approx(2.7), "input: fix the bug")]  # fmt: skip
    # A recording with markers of its own keeps them, and only them.
    with_markers = write_cast(tmp_path / "m.cast", EVENTS, start)
    with Timeline.load(with_markers, messages=log) as timeline:
        labels = [item.label for item in timeline.items if item.kind is ItemKind.MARKER]
        assert labels == ["input: first", "state: active -> paused", "state: paused -> active"]


def test_played_without_a_terminal_the_output_is_timed_and_asks_nothing(tmp_path: Path) -> None:
    events: list[list[object]] = [[0.5, "o", "a\x1b[6"], [1.0, "m", "x"], [1.5, "o", "nb\x1b]11"],
                                  [9.5, "o", ";?\x07c"]]  # fmt: skip
    path = write_cast(tmp_path / "r.cast", events)
    out_path = tmp_path / "out"
    now, slept = [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with Timeline.load(path) as timeline, out_path.open("wb") as out:
        play_plain(timeline, speed=2.0, out_fd=out.fileno(), sleep=sleep, clock=lambda: now[0])
    assert out_path.read_bytes() == b"abc"
    assert slept == [0.25, 0.5, 1.0]  # at 0.5, 1.5 and 3.5 s (8 s of silence capped at 2), ×2


# -- the command ---------------------------------------------------------------------------------


def _session_with_recording(project: Path, reference_dir: Path) -> str:
    source = sorted(reference_dir.iterdir())[0]
    sessions = project / ".ta" / "interactive_sessions"
    sessions.mkdir(exist_ok=True)
    (sessions / source.name).write_bytes(source.read_bytes())
    recordings = project / ".ta" / "recordings"
    recordings.mkdir()
    write_cast(recordings / f"{source.stem}.cast", EVENTS)
    return source.stem


def test_replay_without_a_terminal_prints_the_output_without_queries(
    ta: Runner, project: Path, reference_dir: Path
) -> None:
    sid = _session_with_recording(project, reference_dir)
    result = ta("session", "replay", sid[:8], "--speed", "64")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "one\ntwo\nthree \nfour\n"  # (text mode: CRLF read as LF)


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["--speed", "0"], "--speed"),
        (["--speed", "-1"], "--speed"),
        (["--speed", "nan"], "--speed"),
        (["--speed", "fast"], "--speed"),
        (["--speed", "inf"], "--speed"),
        (["--idle-limit", "-1"], "--idle-limit"),
        (["--idle-limit", "nan"], "--idle-limit"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    ta: Runner, project: Path, reference_dir: Path, args: list[str], word: str
) -> None:
    sid = _session_with_recording(project, reference_dir)
    result = ta("session", "replay", sid, *args)
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1 and word in result.stderr and not result.stdout


def test_an_unknown_session_or_a_missing_recording_is_one_line_and_exit_1(
    ta: Runner, project: Path, reference_dir: Path
) -> None:
    sid = _session_with_recording(project, reference_dir)
    unknown = ta("session", "replay", "ffffffff")
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1, unknown
    (project / ".ta" / "recordings" / f"{sid}.cast").unlink()
    missing = ta("session", "replay", sid)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1, missing
    assert "no recording" in missing.stderr
