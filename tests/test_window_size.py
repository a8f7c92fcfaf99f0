"""Terminals of different sizes, without processes: the host's window policy
(``host/window.py``) and where the policy is chosen (the agent config, ``ta run --size``, the
goal record)."""

from __future__ import annotations

import json

import pytest

from ta_session.cli.main import build_parser
from ta_session.host.window import Window
from ta_session.host.wire import ProtocolError
from ta_session.model import Goal, RecordFormatError
from ta_session.model.agent import AgentConfig, builtin_agent
from ta_session.model.host import WindowSize

SMALLEST, LATEST = WindowSize.SMALLEST, WindowSize.LATEST


# -- the policy --------------------------------------------------------------------------------


def test_smallest_takes_the_smallest_width_and_height_of_every_terminal() -> None:
    window = Window(SMALLEST, 80, 24)
    assert window.report("a", 100, 30) and window.size == (100, 30)
    assert window.report("b", 70, 40) and window.size == (70, 30)  # each direction on its own
    assert window.report("c", 90, 20) and window.size == (70, 20)
    assert not window.report("d", 120, 50)  # a larger one changes nothing
    assert window.describe() == {"cols": 70, "rows": 20, "policy": "smallest", "terminals": 4}
    assert window.message() == {"type": "window", **window.describe()}


def test_the_window_grows_back_when_the_small_terminal_leaves() -> None:
    window = Window(SMALLEST, 80, 24)
    window.report("big", 100, 30)
    window.report("small", 70, 20)
    assert window.size == (70, 20)
    assert window.leave("small") and window.size == (100, 30)
    assert not window.leave("small")  # gone already
    assert not window.leave("never-reported")


def test_a_terminal_that_resizes_counts_with_its_new_size() -> None:
    window = Window(SMALLEST, 80, 24)
    window.report("a", 100, 30)
    window.report("b", 70, 20)
    assert window.report("b", 120, 40) and window.size == (100, 30)
    assert window.report("a", 60, 50) and window.size == (60, 40)


def test_ties_change_nothing_until_the_last_of_them_leaves() -> None:
    window = Window(SMALLEST, 80, 24)
    window.report("a", 70, 20)
    assert not window.report("b", 70, 20)
    window.report("c", 100, 30)
    assert not window.leave("a") and window.size == (70, 20)
    assert window.leave("b") and window.size == (100, 30)


def test_latest_follows_the_terminal_that_reported_last() -> None:
    window = Window(LATEST, 80, 24)
    assert window.report("a", 100, 30) and window.size == (100, 30)
    assert window.report("b", 70, 20) and window.size == (70, 20)
    assert window.report("a", 120, 40) and window.size == (120, 40)  # a resize makes it latest
    assert not window.leave("b")  # not the latest: nothing changes
    window.report("b", 90, 25)
    assert window.leave("b") and window.size == (120, 40)  # back to the one before it
    assert not window.report("a", 120, 40)  # the same size again


def test_without_terminals_the_window_keeps_its_size() -> None:
    for policy in WindowSize:
        window = Window(policy, 80, 24)
        assert window.size == (80, 24) and window.terminals == 0
        window.report("only", 100, 30)
        assert not window.leave("only")
        assert window.size == (100, 30) and window.terminals == 0


def test_connections_that_report_no_size_do_not_count() -> None:
    # Only terminals that give a size (hello.size or RESIZE) count: a script, or the web
    # server's shared output connection (web:viewers), says hello without one.
    window = Window(SMALLEST, 80, 24)
    assert not window.attached("web:viewers", None)
    assert window.attached("terminal", (100, 30))
    assert not window.leave("web:viewers")
    assert window.size == (100, 30) and window.terminals == 1


def test_a_size_out_of_range_is_refused_and_changes_nothing() -> None:
    window = Window(SMALLEST, 80, 24)
    window.report("a", 100, 30)
    for cols, rows in [(0, 24), (80, 0), (10000, 24)]:
        with pytest.raises(ProtocolError, match="out of range"):
            window.report("b", cols, rows)
    assert window.size == (100, 30) and window.terminals == 1


# -- where the policy is chosen ----------------------------------------------------------------


def test_the_agent_config_chooses_the_policy() -> None:
    config = AgentConfig.from_dict({"command": "x", "window_size": "latest"}, "a.yaml", name="a")
    assert config.window_size is LATEST
    assert config.to_dict()["window_size"] == "latest"
    assert AgentConfig.from_dict(config.to_dict(), "copy") == config
    default = builtin_agent("claude-code")
    assert default is not None and default.window_size is SMALLEST
    with pytest.raises(RecordFormatError, match="'window_size' must be 'smallest' or 'latest'"):
        AgentConfig.from_dict({"command": "x", "window_size": "largest"}, "b.yaml", name="b")


def test_ta_run_size_is_kept_in_the_goal_and_session_files_do_not_change() -> None:
    goal = Goal.new("t")
    assert "window_size" not in goal.to_dict()  # absent unless chosen
    goal.window_size = LATEST
    again = Goal.from_json(goal.to_json())
    assert again.window_size is LATEST and json.loads(goal.to_json())["window_size"] == "latest"
    with pytest.raises(RecordFormatError):
        Goal.from_dict({**goal.to_dict(), "window_size": "huge"})
    assert build_parser().parse_args(["run", "t", "--size", "latest"]).size == "latest"
    for size in WindowSize:  # the command line offers every policy
        assert build_parser().parse_args(["run", "t", "--size", size.value]).size == size.value
