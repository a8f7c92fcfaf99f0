"""Helpers and fixtures for the live-session tests (``tests/test_live_*.py``).

Everything here drives real parts: the real ``ta`` command in subprocesses, real session hosts
with their pseudo-terminals and Unix sockets, and real terminals (each test gets its own tmux
server, ``tmux -L <unique name>``, with a fixed window size).

Nothing sleeps blindly: ``wait_for`` polls a condition until a deadline. Every fixture cleans
up after itself: tmux servers are killed, live sessions are aborted, and any process that still
belongs to the test's project afterwards is killed and reported as a leak.

Test modules import the fixture (``from live_helpers import live_fixture``); tests then
ask for it as ``live``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ta_session.channels.client import HostClient
from ta_session.host.wire import Frame, FrameKind
from ta_session.model import Timestamp

TESTS = Path(__file__).resolve().parent
AGENTS = TESTS / "agents"
PYTHON = sys.executable
VENV_BIN = Path(sys.executable).parent
# Everything is polled, so generous deadlines cost nothing when things work; they only keep a
# loaded 2-core machine from failing a test that is merely slow. TA_TEST_TIMEOUT_SCALE stretches
# them further.
SCALE = float(os.environ.get("TA_TEST_TIMEOUT_SCALE", "1"))
TIMEOUT = 15.0
WIDTH, HEIGHT = 100, 30  # every tmux window starts at this size

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T],
    timeout: float = TIMEOUT,
    interval: float = 0.05,
    what: str | Callable[[], str] = "",
) -> T:
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout * SCALE
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = what() if callable(what) else what
            raise AssertionError(
                f"timed out after {timeout * SCALE:g}s waiting for {text or predicate}"
            )
        time.sleep(interval)


def _containing(haystack: str, needle: str) -> str | None:
    return haystack if needle in haystack else None


def agent(name: str, *args: str) -> list[str]:
    """The command line of a test agent in ``tests/agents``."""
    return [PYTHON, str(AGENTS / name), *args]


def ns(timestamp: str) -> int:
    """An RFC 3339 timestamp as nanoseconds since the epoch."""
    return Timestamp.parse(timestamp).ns


# -------------------------------------------------------------------------------- processes


def proc_state(pid: int) -> str | None:
    """The process state letter (R, S, T, Z, …), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2 :].split()[0].decode()


def is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    return proc_state(pid) not in (None, "Z", "X")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] not in (b"Z", b"X"):
            found.append(int(entry.name))
    return found


def _belongs_to(pid: int, root: str, session_ids: set[str]) -> bool:
    """A process of a test project: its cwd is inside the project, it names the project on its
    command line (session hosts), or it carries one of the project's session ids."""
    proc = Path(f"/proc/{pid}")
    with contextlib.suppress(OSError):
        cwd = os.readlink(proc / "cwd")
        if cwd == root or cwd.startswith(root + "/"):
            return True
    with contextlib.suppress(OSError):
        if root.encode() in (proc / "cmdline").read_bytes():
            return True
    with contextlib.suppress(OSError):
        environ = (proc / "environ").read_bytes().split(b"\0")
        for item in environ:
            if item.startswith(b"TA_SESSION_ID=") and item[14:].decode() in session_ids:
                return True
    return False


def project_processes(root: Path, session_ids: set[str]) -> list[int]:
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        if is_running(pid) and _belongs_to(pid, str(root), session_ids):
            found.append(pid)
    return found


def describe(pid: int) -> str:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        cmdline = "?"
    return f"{pid} [{proc_state(pid)}] {cmdline.strip()}"


# -------------------------------------------------------------------------------- tmux


class Tmux:
    """One private tmux server with one window of a fixed size, running ``command``."""

    def __init__(self, workdir: Path, cwd: Path, env: dict[str, str]):
        self.name = f"ta-test-{uuid.uuid4().hex[:12]}"
        self.cwd = cwd
        self.env = env
        self.config = workdir / f"{self.name}.conf"
        # Options are set after the server starts: tmux 3.3 exits at once when a config file
        # sets "status" or "window-size" before the first session exists.
        self.config.write_text("set -g remain-on-exit on\nset -g history-limit 5000\n")
        self.started = False
        self.socket = ""

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.name, "-f", str(self.config), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=check,
        )

    def start(self, command: str | None = None) -> Tmux:
        """Start the server with a shell (``$ `` prompt) or with ``command`` in its window."""
        shell = command or "PS1='$ ' exec bash --norc --noprofile -i"
        self._tmux(
            "new-session", "-d", "-s", "main", "-x", str(WIDTH), "-y", str(HEIGHT),
            "-c", str(self.cwd), shell,
            ";", "set", "-g", "status", "off",
            ";", "set", "-g", "window-size", "manual",
            ";", "set", "-g", "escape-time", "0",
        )  # fmt: skip
        self.started = True
        self.socket = self._tmux("display-message", "-p", "#{socket_path}").stdout.strip()
        if command is None:
            wait_for(lambda: "$" in self.screen(), what="the shell prompt in tmux")
        return self

    def send(self, *keys: str) -> None:
        """tmux key names (``Enter``, ``C-c``) or words."""
        self._tmux("send-keys", "-t", "main", *keys)

    def type(self, text: str, enter: bool = True) -> None:
        """Type ``text`` literally, then Enter."""
        self._tmux("send-keys", "-t", "main", "-l", text)
        if enter:
            self.send("Enter")

    def send_hex(self, *codes: str) -> None:
        self._tmux("send-keys", "-t", "main", "-H", *codes)

    def detach_key(self) -> None:
        self.send_hex("1c")  # Ctrl-\

    def run(self, command: str) -> None:
        """Type a command line into the shell."""
        self.type(command)

    def screen(self) -> str:
        """The visible screen plus scroll-back, wrapped lines joined."""
        result = self._tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "main", check=False)
        return result.stdout

    def visible(self) -> str:
        """The visible screen only (no scroll-back)."""
        return self._tmux("capture-pane", "-p", "-t", "main", check=False).stdout

    def wait_text(self, text: str, timeout: float = TIMEOUT) -> str:
        return wait_for(
            lambda: _containing(self.screen(), text),
            timeout,
            what=lambda: f"{text!r} in tmux {self.name}; screen:\n{self.screen()}",
        )

    def wait_regex(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """Wait until the screen matches ``pattern`` (use it for text that also appears in the
        command line typed into the shell, e.g. ``RUN-RC=\\d+``)."""
        return wait_for(
            lambda: re.search(pattern, self.screen()),
            timeout,
            what=lambda: f"/{pattern}/ in tmux {self.name}; screen:\n{self.screen()}",
        )

    def clear(self) -> None:
        self._tmux("clear-history", "-t", "main", check=False)

    def pane(self, field: str) -> str:
        return self._tmux("display-message", "-p", "-t", "main", f"#{{{field}}}").stdout.strip()

    def pane_tty(self) -> str:
        return self.pane("pane_tty")

    def modes(self) -> set[str]:
        """The pane terminal's current modes, as ``stty -a`` words (``-icanon``, ``isig``…)."""
        result = subprocess.run(
            ["stty", "-a", "-F", self.pane_tty()], capture_output=True, text=True, timeout=30
        )
        return set(result.stdout.replace(";", " ").split())

    def wait_raw(self) -> None:
        """Wait until the terminal is in raw mode (an attach loop is running in it)."""
        wait_for(
            lambda: {"-icanon", "-isig", "-echo"} <= self.modes(),
            what=lambda: f"raw mode in tmux {self.name}: {sorted(self.modes())}",
        )

    def pane_pid(self) -> int:
        return int(self.pane("pane_pid"))

    def resize(self, cols: int, rows: int) -> None:
        self._tmux("resize-window", "-t", "main", "-x", str(cols), "-y", str(rows))

    def kill(self) -> None:
        if self.started:
            self._tmux("kill-server", check=False)
            self.started = False
            if self.socket:  # tmux 3.3 leaves its socket file behind
                Path(self.socket).unlink(missing_ok=True)


# -------------------------------------------------------------------------------- projects


class Live:
    """A test project with helpers to start sessions and look at them from outside."""

    def __init__(self, root: Path, workdir: Path):
        self.root = root
        self.workdir = workdir
        self.ta_dir = root / ".ta"
        env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
        for name in ("TA_PROJECT_ROOT", "TA_DETACH_KEY", "TMUX", "TMUX_PANE", "PYTHONPATH"):
            env.pop(name, None)
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        env["PS1"] = "$ "
        # These tests watch files outside the workspace (agents' logs in the test's folder);
        # the sandbox has tests of its own (tests/test_sandbox.py).
        env["TA_SANDBOX"] = "off"
        self.env = env
        self.tmuxes: list[Tmux] = []
        self.clients: list[HostClient] = []
        self.other_roots: list[Path] = []  # more projects whose sessions cleanup() must end

    # -- the CLI ----------------------------------------------------------------------------

    def ta(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "-m", "ta_session", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def ok(self, *args: str) -> str:
        result = self.ta(*args)
        assert result.returncode == 0, f"ta {shlex.join(args)} failed: {result.stderr}"
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args))

    def ta_bytes(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[bytes]:
        """Like ``ta`` but the output is kept as bytes (no newline translation)."""
        return subprocess.run(
            [PYTHON, "-m", "ta_session", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def ta_command(self) -> str:
        """How to run ``ta`` from a shell in a tmux pane."""
        return f"{shlex.quote(PYTHON)} -m ta_session"

    # -- sessions ---------------------------------------------------------------------------

    def start(self, *command: str, title: str = "t", agent: str | None = None) -> str:
        """``ta run TITLE --detach`` with ``-- COMMAND`` or ``--agent NAME``; the session id."""
        args = ["run", title, "--detach"]
        args += ["--agent", agent] if agent else ["--", *command]
        sid = self.ok(*args).strip()
        uuid.UUID(sid)
        return sid

    def only_session(self) -> str:
        """The id of the one session of the project (waiting until there is one)."""
        ids = wait_for(self.session_ids, what="a session to be created")
        assert len(ids) == 1, ids
        return next(iter(ids))

    def write_agent(self, name: str, yaml_text: str) -> Path:
        path = self.ta_dir / "agents" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml_text)
        return path

    def show(self, sid: str) -> dict[str, Any]:
        return self.json("session", "show", sid, "--json")

    def listing(self, all_sessions: bool = True) -> list[dict[str, Any]]:
        return self.json("session", "list", "--json", *(["--all"] if all_sessions else []))

    def listed(self, sid: str) -> dict[str, Any]:
        (entry,) = [s for s in self.listing() if s["session_id"] == sid]
        return entry

    def state(self, sid: str) -> str:
        """The state in the session file (read directly: cheap enough to poll)."""
        path = self.ta_dir / "interactive_sessions" / f"{sid}.json"
        return json.loads(path.read_text())["state"]

    def wait_state(self, sid: str, state: str, timeout: float = TIMEOUT) -> None:
        wait_for(lambda: self.state(sid) == state, timeout, what=f"session {sid} to be {state}")

    def messages(self, sid: str) -> list[dict[str, Any]]:
        return self.show(sid)["messages"]

    def audit(self, sid: str) -> list[dict[str, Any]]:
        out = self.ok("audit", "log", "--json", "--session", sid)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def host_record(self, sid: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.ta_dir / "run" / f"{sid}.json").read_text())
        except (OSError, ValueError):
            return None

    def host_pid(self, sid: str) -> int:
        record = self.host_record(sid)
        assert record is not None, f"session {sid} has no host record"
        return int(record["pid"])

    def host_live(self, sid: str) -> bool:
        record = self.host_record(sid)
        return record is not None and is_running(int(record["pid"]))

    def wait_host_gone(self, sid: str, timeout: float = TIMEOUT) -> None:
        wait_for(lambda: not self.host_live(sid), timeout, what=f"the host of {sid} to end")

    def socket_path(self, sid: str) -> Path:
        return self.ta_dir / "run" / f"{sid}.sock"

    def connect(self, sid: str, role: str = "control", channel_id: str = "test:client",
                **kwargs: Any) -> HostClient:  # fmt: skip
        client = HostClient.connect(self.socket_path(sid), channel_id=channel_id, role=role,
                                    timeout=TIMEOUT * SCALE, **kwargs)  # fmt: skip
        self.clients.append(client)
        return client

    def agent_pid(self, sid: str) -> int:
        with self.connect(sid) as client:
            return int(client.welcome["agent_pid"])

    # -- the recording ----------------------------------------------------------------------

    def cast_path(self, sid: str) -> Path:
        return self.ta_dir / "recordings" / f"{sid}.cast"

    def cast(self, sid: str) -> tuple[dict[str, Any], list[list[Any]]]:
        """Header and events; a torn last line (still being written) is left out."""
        lines = self.cast_path(sid).read_bytes().split(b"\n")
        header = json.loads(lines[0])
        events = []
        for line in lines[1:]:
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
        return header, events

    def output(self, sid: str) -> str:
        """Everything the agent printed, as recorded so far."""
        try:
            _, events = self.cast(sid)
        except (OSError, ValueError, IndexError):
            return ""
        return "".join(e[2] for e in events if e[1] == "o")

    def wait_output(self, sid: str, text: str, timeout: float = TIMEOUT) -> str:
        return wait_for(
            lambda: _containing(self.output(sid), text),
            timeout,
            what=lambda: f"{text!r} in the output of {sid}; so far: {self.output(sid)[-500:]!r}",
        )

    # -- terminals --------------------------------------------------------------------------

    def tmux(self, command: str | None = None) -> Tmux:
        """A new private tmux server in the project folder (a shell unless ``command``)."""
        terminal = Tmux(self.workdir, self.root, self.env)
        self.tmuxes.append(terminal)
        return terminal.start(command)

    # -- cleanup ----------------------------------------------------------------------------

    def add_project(self, root: Path) -> Path:
        """Another project folder whose sessions this test starts (cleaned up like the first)."""
        (root / ".ta").mkdir(parents=True)
        self.other_roots.append(root)
        return root

    def session_ids(self, root: Path | None = None) -> set[str]:
        folder = (root or self.root) / ".ta" / "interactive_sessions"
        return {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()

    def cleanup(self) -> list[str]:
        """Kill terminals, abort live sessions, kill what is left; return leaked processes."""
        for client in self.clients:
            with contextlib.suppress(OSError):
                client.close()
        for terminal in self.tmuxes:
            terminal.kill()
        roots = [self.root, *self.other_roots]
        for root in roots:
            for sid in self.session_ids(root):
                record = root / ".ta" / "run" / f"{sid}.json"
                with contextlib.suppress(OSError, ValueError, KeyError):
                    if not is_running(int(json.loads(record.read_text())["pid"])):
                        continue
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.ta("--project", str(root), "session", "abort", sid,
                                "--reason", "test teardown", timeout=30)  # fmt: skip

        def remaining() -> list[int]:
            return sorted({
                pid for root in roots for pid in project_processes(root, self.session_ids(root))
            })  # fmt: skip

        deadline = time.monotonic() + 10 * SCALE
        left = remaining()
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = remaining()
        leaked = [describe(pid) for pid in left]
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return leaked


@pytest.fixture(name="live")
def live_fixture(tmp_path: Path) -> Iterator[Live]:
    """A project for live sessions; at teardown every session it started is ended and no
    process of it may be left running.

    The project lives in a short folder under /tmp rather than in ``tmp_path``: a Unix socket
    path holds at most 107 bytes, and one test (``test_session_works_in_a_deep_project_folder``)
    checks long paths on purpose; the others should not all depend on that.
    """
    root = Path(tempfile.mkdtemp(prefix="ta-live-", dir="/tmp")) / "proj"
    (root / ".ta").mkdir(parents=True)
    env = Live(root, tmp_path)
    try:
        yield env
    finally:
        leaked = env.cleanup()
        shutil.rmtree(root.parent, ignore_errors=True)
    assert not leaked, "processes left running after the test:\n" + "\n".join(leaked)


def read_until(client: HostClient, done: Callable[[list[Frame]], bool],
               timeout: float = TIMEOUT) -> list[Frame]:  # fmt: skip
    """Frames from ``client`` until ``done(frames)`` holds (or the host closes)."""
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout * SCALE
    while not done(frames):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out reading frames; got {frames[-5:]!r}")
        try:
            frames += client.read_frames(min(remaining, 0.5))
        except Exception:  # the host closed the connection
            break
    return frames


def output_bytes(frames: list[Frame]) -> bytes:
    return b"".join(f.payload for f in frames if f.kind is FrameKind.OUTPUT)


def controls(frames: list[Frame]) -> list[dict[str, Any]]:
    return [f.json() for f in frames if f.kind is FrameKind.CONTROL]
