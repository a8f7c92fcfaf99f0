"""Session host benchmarks against the SPEC §13 targets, each compared side by side in one run.

1. Output relay: an agent prints 200 MB (64 KiB blocks of 64-byte text lines) through the host
   to one attached client, next to the same command under ``script`` (a bare pseudo-terminal),
   interleaved. Both start timing when the agent is told "go" on its input (so its start-up is
   not counted) and stop at the last byte: the last OUTPUT byte the client receives, or
   ``script`` exiting. The host's CPU time per run is reported too: unlike throughput, it hardly
   depends on what else the machine is doing.
2. Host memory: VmRSS of the host process sampled every 50 ms during every relay, and after the
   relay in a run where the agent lingers before it exits (with a stalled client attached).
3. A stalled client (attached, never reads) next to the reading client: throughput compared
   with run 1. And the screen model's worst case: a control client asking for the screen
   (``{"type": "screen"}``) every 0.25 s during the relay, so that the host emulates up to its
   64 KiB backlog each time (the screen model is always on; unasked, it costs only a copy).
4. Keystroke round trip: an attached client sends one byte at a time to a raw-mode echo agent
   and waits for the echo in OUTPUT frames, interleaved with the same round trip on a bare
   ``pty.openpty()`` running the same agent; then a few keystrokes after a pause long enough
   for the session to go idle.
5. ``ta run --detach -- <agent>`` (the real CLI as a subprocess) to the agent's first output,
   next to the same agent started directly, and with Python's bytecode cache on.
6. A reader that stalls and reads again: during each relay, a second attached client (its own
   process) is stopped with SIGSTOP for 2 s and then continued; it must always decode a valid
   stream and get its ``bye`` (SPEC §13: 0 corrupt in 20 tries). Throughput of the reading client
   next to it is reported too.

    .venv/bin/python bench/bench_host.py            # full run (about two minutes)
    .venv/bin/python bench/bench_host.py --quick    # smaller sizes, for a smoke test
    .venv/bin/python bench/bench_host.py --only keys --keys 5000
    .venv/bin/python bench/bench_host.py --only resync      # 20 relays with a stalling reader
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pty
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
from common import Check, log, median, percentile
from ta_session.channels.client import HostClient, HostUnavailable
from ta_session.host.launch import start_host
from ta_session.host.wire import FrameKind
from ta_session.service.starting import start_session
from ta_session.store import Project
from ta_session.store.hosts import process_start_time

TARGET_RELAY_RATIO = 0.50  # host throughput / bare pty throughput, at least
TARGET_RSS_BYTES = 60_000_000  # host VmRSS, below
TARGET_STALLED_RATIO = 0.90  # with a stalled client / without, at least (cost under 10 %)
TARGET_KEY_P99_NS = 10_000_000  # keystroke round trip p99 through the host, below
PAUSE = 2.0  # seconds a stalling reader stays stopped

MB = 1_000_000
LINE = b"The quick brown fox jumps over the lazy dog; 0123456789 ABCDEFG.\n"  # 64 bytes
SETTLE = 0.5  # seconds between starting an agent and telling it "go" (its start-up is done)
RSS_INTERVAL = 0.05
SCREEN_POLL = 0.25  # seconds between screen requests in the host+screen relay
LINGER = 1.5  # seconds the agent of the memory run waits after its output, for "after" samples
TYPING_GAP = 0.05  # seconds between keystrokes typed "at a human pace"
IDLE_PAUSE = 2.4  # seconds: longer than the default idle_after (2 s), so the session goes idle

# The relay agent: waits for a line on stdin, prints TOTAL bytes of text, waits LINGER s, exits.
RELAY_AGENT = f"""
import os, sys, time
total, linger = int(sys.argv[1]), float(sys.argv[2])
sys.stdin.readline()
block = memoryview({LINE!r} * 1024)
left = total
while left > 0:
    chunk = block[: min(left, len(block))]
    left -= len(chunk)
    while chunk:
        chunk = chunk[os.write(1, chunk):]
time.sleep(linger)
"""

# The keystroke agent: raw mode, echoes whatever it reads; Ctrl-D ends it.
ECHO_AGENT = """
import os, tty
tty.setraw(0)
while True:
    data = os.read(0, 1024)
    if not data or b"\\x04" in data:
        break
    os.write(1, data)
"""

# The start-up agent: writes the time it started running to a file, then prints.
STAMP_AGENT = """
import os, sys, time
now = time.time()
with open(sys.argv[1] + ".tmp", "w") as handle:
    handle.write(repr(now))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
print("started", flush=True)
"""


# The stalling reader: attaches, prints "connected", then decodes every frame strictly until
# "bye" and prints one JSON line: bytes of output, resync notices, bye, and any error.
PAUSING_READER = """
import json, socket, sys
from ta_session.host.wire import FrameKind, FrameReader, ProtocolError, encode_json
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
sock.sendall(encode_json({"type": "hello", "protocol": 1, "role": "attach",
                          "channel_id": "bench:stalling", "size": [80, 24]}))
reader, report = FrameReader(), {"bytes": 0, "notices": 0, "bye": None, "error": None}
try:
    while report["bye"] is None:
        data = sock.recv(1 << 16)
        if not data:
            report["error"] = "closed before bye"
            break
        for frame in reader.feed(data):
            if frame.kind is FrameKind.OUTPUT:
                report["bytes"] += len(frame.payload)
                report["notices"] += frame.payload.count(b"[ta: output skipped")
                continue
            message = frame.json()
            if message.get("type") == "welcome":
                print("connected", flush=True)
            elif message.get("type") == "bye":
                report["bye"] = message
except ProtocolError as exc:
    report["error"] = f"ProtocolError: {exc}"
print(json.dumps(report), flush=True)
"""

# -- helpers ---------------------------------------------------------------------------------


def python_agent(source: str, *args: str) -> list[str]:
    return [sys.executable, "-c", source, *args]


def rss_bytes(pid: int) -> int | None:
    """VmRSS of a process, or None once it is gone (a zombie has none)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used so far (from the scheduler, in ns), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as handle:
            return int(handle.read().split()[0]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def load_average() -> float:
    with open("/proc/loadavg") as handle:
        return float(handle.read().split()[0])


def fmt_mb(n: float) -> str:
    return f"{n / MB:.1f} MB"


def fmt_rate(bytes_per_s: float) -> str:
    return f"{bytes_per_s / MB:.0f} MB/s"


def fmt_ms(ns: float) -> str:
    return f"{ns / 1e6:.2f} ms"


class HostedAgent:
    """A session in its own temporary project, its agent running under a real session host."""

    def __init__(self, root: Path, argv: list[str], title: str):
        root.mkdir(parents=True)
        (root / ".ta").mkdir()
        self.root = root
        project = Project(root)
        session = start_session(
            project, title=title, objective="", command=argv, channel_id="bench",
        )  # fmt: skip
        self.session_id = session.session_id
        self.pid = start_host(project, str(session.session_id))
        self.socket = project.hosts.socket_path(session.session_id)

    def connect(self, channel_id: str) -> HostClient:
        return HostClient.connect(self.socket, channel_id=channel_id, role="attach", size=(80, 24))

    def alive(self) -> bool:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(self.pid, os.WNOHANG)[0] == self.pid:
                return False  # reaped just now (the host is our child)
        return process_start_time(self.pid) is not None

    def wait_exit(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"session host {self.pid} did not exit within {timeout} s")
            time.sleep(0.02)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class ReadStats:
    bytes: int = 0
    last_ns: int = 0
    bye: dict[str, Any] | None = None
    error: str | None = None


def read_until_bye(client: HostClient, stats: ReadStats, timeout: float) -> None:
    """Read OUTPUT frames as fast as they come, counting bytes, until the host says bye."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            frames = client.read_frames(1.0)
            now = time.perf_counter_ns()
            for frame in frames:
                if frame.kind is FrameKind.OUTPUT:
                    stats.bytes += len(frame.payload)
                    stats.last_ns = now
                elif frame.kind is FrameKind.CONTROL and frame.json().get("type") == "bye":
                    stats.bye = frame.json()
                    return
        stats.error = "timed out"
    except HostUnavailable as exc:
        stats.error = str(exc)


# -- 1-3: output relay, memory, stalled client ----------------------------------------------


@dataclass
class RelayRun:
    variant: str  # script | host | host+stalled | memory
    seconds: float
    payload: int
    received: int | None = None
    rss_max: int | None = None
    rss_after: list[int] = field(default_factory=list)
    host_cpu: float | None = None  # seconds of CPU the host used from "go" to its last sample

    @property
    def rate(self) -> float:
        return self.payload / self.seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "seconds": round(self.seconds, 4),
            "payload_bytes": self.payload,
            "received_bytes": self.received,
            "mb_per_s": round(self.rate / MB, 1),
            "rss_max_bytes": self.rss_max,
            "rss_after_bytes": self.rss_after or None,
            "host_cpu_s": self.host_cpu,
        }


def relay_script(total: int) -> RelayRun:
    """The bare pseudo-terminal: ``script -qfc "<agent>" /dev/null > /dev/null``."""
    command = shlex.join(python_agent(RELAY_AGENT, str(total), "0"))
    proc = subprocess.Popen(
        ["script", "-qfc", command, "/dev/null"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stderr is not None
    time.sleep(SETTLE)
    start = time.perf_counter_ns()
    proc.stdin.write(b"go\n")
    proc.stdin.flush()
    code = proc.wait()
    elapsed = time.perf_counter_ns() - start
    proc.stdin.close()
    err = proc.stderr.read().decode("utf-8", "replace").strip()
    proc.stderr.close()
    if code != 0:
        raise RuntimeError(f"script exited {code}: {err}")
    return RelayRun("script", elapsed / 1e9, total)


def poll_screen(agent: HostedAgent, running: threading.Thread, counts: list[int]) -> None:
    """A watcher (the web page) asking for the screen every SCREEN_POLL seconds: each request
    makes the host emulate the output not emulated yet (at most its 64 KiB backlog)."""
    client = HostClient.connect(agent.socket, channel_id="bench:screen", role="control")
    try:
        while running.is_alive():
            reply = client.request({"type": "screen"}, timeout=60)
            if reply.get("ok"):
                counts.append(len(reply["lines"]))
            time.sleep(SCREEN_POLL)
    except (HostUnavailable, OSError):
        pass  # the session ended
    finally:
        client.close()


def relay_host(
    workdir: Path, total: int, *, stalled: bool, linger: float = 0.0, screen: bool = False
) -> RelayRun:
    """The agent under a session host, one reading client (and perhaps a stalled one, or a
    control client polling the screen model)."""
    variant = "memory" if linger else ("host+stalled" if stalled else "host")
    variant = "host+screen" if screen else variant
    argv = python_agent(RELAY_AGENT, str(total), str(linger))
    agent = HostedAgent(Path(tempfile.mkdtemp(dir=workdir)) / "project", argv, f"relay {variant}")
    idle: HostClient | None = None
    reader: HostClient | None = None
    try:
        idle = agent.connect("bench:stalled") if stalled else None  # connects, never reads
        reader = agent.connect("bench:reader")
        samples: list[tuple[int, int]] = []  # (perf_counter_ns, rss)
        stats = ReadStats()
        thread = threading.Thread(target=read_until_bye, args=(reader, stats, 600.0), daemon=True)
        thread.start()
        screens: list[int] = []
        if screen:
            poller = threading.Thread(target=poll_screen, args=(agent, thread, screens))
            poller.start()
        time.sleep(SETTLE)
        cpu_start = cpu_last = cpu_seconds(agent.pid)
        start = time.perf_counter_ns()
        reader.send_input(b"go\r")
        while thread.is_alive():
            rss, cpu = rss_bytes(agent.pid), cpu_seconds(agent.pid)
            if rss is not None:
                samples.append((time.perf_counter_ns(), rss))
            if rss is not None and cpu is not None:
                cpu_last = cpu
            thread.join(RSS_INTERVAL)
        if stats.error or stats.bye is None:
            raise RuntimeError(f"relay through the host failed: {stats.error}")
        if screen:
            poller.join(60)
            if not screens:
                raise RuntimeError("no screen request was answered during the relay")
        expected = total + total // len(LINE)  # the pty turns every \n into \r\n
        if stats.bytes < expected:
            raise RuntimeError(f"the client got {stats.bytes} bytes, expected {expected}+")
    except BaseException:
        agent.stop()  # the agent may still be waiting for "go": end the session
        raise
    finally:
        for client in (idle, reader):
            if client is not None:
                client.close()
    agent.wait_exit()
    agent.remove()
    run = RelayRun(variant, (stats.last_ns - start) / 1e9, total, received=stats.bytes)
    run.rss_max = max((rss for _, rss in samples), default=None)
    # "After": while the agent lingers, once the last byte is 0.2 s old.
    run.rss_after = [rss for t, rss in samples if t > stats.last_ns + 200_000_000]
    if cpu_start is not None and cpu_last is not None:
        run.host_cpu = round(cpu_last - cpu_start, 3)
    return run


def bench_relay(workdir: Path, args: argparse.Namespace) -> tuple[dict[str, Any], list[Check]]:
    total = args.mb * MB
    runs: list[RelayRun] = []
    for i in range(args.runs):
        for variant in ("script", "host", "host+stalled", "host+screen"):
            if variant == "script":
                run = relay_script(total)
            else:
                run = relay_host(workdir, total, stalled=variant == "host+stalled",
                                 screen=variant == "host+screen")  # fmt: skip
            runs.append(run)
            log(f"  relay round {i + 1}/{args.runs} {variant:13} {fmt_rate(run.rate):>10}"
                + (f"  host RSS max {fmt_mb(run.rss_max)}" if run.rss_max else ""))  # fmt: skip
    memory = relay_host(workdir, total, stalled=True, linger=LINGER)
    log(
        f"  memory run (stalled + reader, agent lingers {LINGER} s): RSS max "
        f"{fmt_mb(memory.rss_max or 0)}, after {fmt_mb(max(memory.rss_after, default=0))}"
    )

    def rates(variant: str) -> list[float]:
        return [r.rate for r in runs if r.variant == variant]

    def host_cpu(variant: str) -> float:
        return median([r.host_cpu for r in runs if r.variant == variant and r.host_cpu is not None])

    bare, host = median(rates("script")), median(rates("host"))
    stalled = median(rates("host+stalled"))
    screen = median(rates("host+screen"))
    screen_ratio = screen / bare
    cpu, cpu_stalled = host_cpu("host"), host_cpu("host+stalled")
    rss_max = max(r.rss_max or 0 for r in [*runs, memory])
    rss_after = max(memory.rss_after, default=0)
    relay_ratio, stalled_ratio = host / bare, stalled / host
    result = {
        "payload_bytes": total,
        "runs": [r.to_dict() for r in runs],
        "memory_run": memory.to_dict(),
        "median_mb_per_s": {
            "script": bare / MB,
            "host": host / MB,
            "host+stalled": stalled / MB,
            "host+screen": screen / MB,
        },
        "ratio_host_vs_script": relay_ratio,
        "ratio_host_screen_polled_vs_script": screen_ratio,
        "ratio_stalled_vs_host": stalled_ratio,
        "median_host_cpu_s": {"host": cpu, "host+stalled": cpu_stalled},
        "rss_max_bytes": rss_max,
        "rss_after_bytes": rss_after,
    }
    size = f"{args.mb} MB"
    checks = [
        Check("relay", f"{size}, bare pty (script), median", fmt_rate(bare)),
        Check("relay", f"{size}, host → 1 client, median", fmt_rate(host)),
        Check("relay", "host / bare pty", f"{relay_ratio:.2f}", "≥ 0.50",
              relay_ratio >= TARGET_RELAY_RATIO),
        Check("relay", f"{size}, host → 1 client + screen polled every {SCREEN_POLL} s, median",
              fmt_rate(screen)),
        Check("relay", "host with screen polled / bare pty", f"{screen_ratio:.2f}", "≥ 0.50",
              screen_ratio >= TARGET_RELAY_RATIO),
        Check("memory", "host RSS, max during all relays", fmt_mb(rss_max), "< 60 MB",
              rss_max < TARGET_RSS_BYTES),
        Check("memory", "host RSS after the relay (stalled client kept)", fmt_mb(rss_after),
              "< 60 MB", 0 < rss_after < TARGET_RSS_BYTES),
        Check("stalled", f"{size}, host → 1 client + 1 stalled, median", fmt_rate(stalled)),
        Check("stalled", "with stalled / without", f"{stalled_ratio:.2f}", "≥ 0.90",
              stalled_ratio >= TARGET_STALLED_RATIO),
        Check("cpu", f"host CPU time per {size}: 1 client / + 1 stalled, median",
              f"{cpu:.2f} s / {cpu_stalled:.2f} s"),
    ]  # fmt: skip
    return result, checks


# -- 4: keystroke round trip -----------------------------------------------------------------


class BarePty:
    """The echo agent on a bare pseudo-terminal: write to the master, read the echo back."""

    def __init__(self, argv: list[str]):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
        )
        os.close(slave)

    def round_trip(self, byte: bytes, timeout: float = 5.0) -> int:
        start = time.perf_counter_ns()
        os.write(self.master, byte)
        got = b""
        while byte not in got:
            ready, _, _ = select.select([self.master], [], [], timeout)
            if not ready:
                raise RuntimeError("no echo from the agent on the bare pty")
            got += os.read(self.master, 1024)
        return time.perf_counter_ns() - start

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, b"\x04")
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def host_round_trip(client: HostClient, byte: bytes, timeout: float = 5.0) -> int:
    start = time.perf_counter_ns()
    client.send_input(byte)
    deadline = time.monotonic() + timeout
    while True:
        for frame in client.read_frames(max(0.0, deadline - time.monotonic())):
            if frame.kind is FrameKind.OUTPUT and byte in frame.payload:
                return time.perf_counter_ns() - start
        if time.monotonic() > deadline:
            raise RuntimeError("no echo from the agent through the host")


def bench_keys(workdir: Path, args: argparse.Namespace) -> tuple[dict[str, Any], list[Check]]:
    argv = python_agent(ECHO_AGENT)
    agent = HostedAgent(Path(tempfile.mkdtemp(dir=workdir)) / "project", argv, "keystrokes")
    client = agent.connect("bench:keys")
    bare = BarePty(argv)
    host_ns: list[int] = []
    bare_ns: list[int] = []
    idle_host_ns: list[int] = []
    idle_bare_ns: list[int] = []
    enter_host_ns: list[int] = []
    enter_bare_ns: list[int] = []

    def pair(i: int, host: list[int], base: list[int]) -> None:
        byte = bytes([0x61 + i % 26])  # a..z, one at a time
        # Alternate which goes first, so neither always follows the other's wake-up.
        if i % 2:
            host.append(host_round_trip(client, byte))
            base.append(bare.round_trip(byte))
        else:
            base.append(bare.round_trip(byte))
            host.append(host_round_trip(client, byte))

    try:
        time.sleep(SETTLE)
        for i in range(20):  # warm-up, not kept
            pair(i, [], [])
        for i in range(args.keys):
            pair(i, host_ns, bare_ns)
            time.sleep(args.key_gap)
        # A keystroke after a pause: the host has marked the session idle and turns it back
        # to running (a host record write) when the echo arrives.
        for i in range(args.idle_keys):
            time.sleep(IDLE_PAUSE)
            pair(i, idle_host_ns, idle_bare_ns)
        # Lines typed at a human pace: the host logs each line submitted with Enter as a
        # message (an fsynced append) when it sees the Enter, before it relays the echo.
        for i in range(args.lines):
            for byte in b"hello":
                host_round_trip(client, bytes([byte]))
                bare.round_trip(bytes([byte]))
                time.sleep(TYPING_GAP)
            if i % 2:
                enter_host_ns.append(host_round_trip(client, b"\r"))
                enter_bare_ns.append(bare.round_trip(b"\r"))
            else:
                enter_bare_ns.append(bare.round_trip(b"\r"))
                enter_host_ns.append(host_round_trip(client, b"\r"))
            time.sleep(TYPING_GAP)
        client.send_input(b"\x04")
    except BaseException:
        agent.stop()
        raise
    finally:
        client.close()
        bare.close()
    agent.wait_exit()
    agent.remove()

    def stats(values: list[int]) -> dict[str, float]:
        return {
            "p50_ns": percentile(values, 50),
            "p90_ns": percentile(values, 90),
            "p99_ns": percentile(values, 99),
            "max_ns": float(max(values)),
            "n": len(values),
        }

    host, base = stats(host_ns), stats(bare_ns)
    log(f"  keystrokes: host p50 {fmt_ms(host['p50_ns'])} p99 {fmt_ms(host['p99_ns'])}; "
        f"bare pty p50 {fmt_ms(base['p50_ns'])} p99 {fmt_ms(base['p99_ns'])}")  # fmt: skip
    result = {"host": host, "bare_pty": base, "gap_s": args.key_gap,
              "host_samples_ns": host_ns, "bare_samples_ns": bare_ns,
              "after_idle": {"pause_s": IDLE_PAUSE, "host_samples_ns": idle_host_ns,
                             "bare_samples_ns": idle_bare_ns},
              "enter": {"typing_gap_s": TYPING_GAP, "host_samples_ns": enter_host_ns,
                        "bare_samples_ns": enter_bare_ns}}  # fmt: skip
    n = len(host_ns)
    checks = [
        Check("keys", f"bare pty round trip p50 / p99 (n={n})",
              f"{fmt_ms(base['p50_ns'])} / {fmt_ms(base['p99_ns'])}"),
        Check("keys", f"host round trip p50 / p99 (n={n})",
              f"{fmt_ms(host['p50_ns'])} / {fmt_ms(host['p99_ns'])}", "p99 < 10 ms",
              host["p99_ns"] < TARGET_KEY_P99_NS),
    ]  # fmt: skip
    if idle_host_ns:
        checks.append(Check(
            "keys", f"after a {IDLE_PAUSE:g} s pause: host median / max (n={len(idle_host_ns)})",
            f"{fmt_ms(median(idle_host_ns))} / {fmt_ms(max(idle_host_ns))}",
        ))  # fmt: skip
    if enter_host_ns:
        checks.append(Check(
            "keys", f"Enter ending a typed line: host median / max (n={len(enter_host_ns)})",
            f"{fmt_ms(median(enter_host_ns))} / {fmt_ms(max(enter_host_ns))}",
        ))  # fmt: skip
    return result, checks


# -- 5: ta run to the agent's first output ---------------------------------------------------


def wait_for_file(path: Path, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the agent did not write {path}")
        time.sleep(0.002)
    return float(path.read_text())


def bench_start(
    workdir: Path, args: argparse.Namespace, ta: str
) -> tuple[dict[str, Any], list[Check]]:
    root = Path(tempfile.mkdtemp(dir=workdir))
    project = root / "project"
    (project / ".ta").mkdir(parents=True)
    stamps = root / "stamps"  # outside the project, so staging copies stay empty
    stamps.mkdir()
    # The same, with Python's bytecode cache on (in a private folder), in case this environment
    # turns it off (PYTHONDONTWRITEBYTECODE): then every start compiles every module it imports.
    cached_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached_env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")

    def ta_run(name: str, env: dict[str, str] | None) -> tuple[float, float]:
        """(seconds to the agent's first output, seconds until the CLI exits)."""
        stamp = stamps / name
        cmd = [ta, "--project", str(project), "run", "--detach", name, "--",
               *python_agent(STAMP_AGENT, str(stamp))]  # fmt: skip
        start = time.time()
        proc = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env, check=False
        )
        wall = time.time() - start
        if proc.returncode != 0:
            raise RuntimeError(f"ta run failed: {proc.stderr.decode('utf-8', 'replace')}")
        first = wait_for_file(stamp) - start
        record = project / ".ta" / "run" / f"{proc.stdout.decode().strip()}.json"
        deadline = time.monotonic() + 30
        while record.exists() and time.monotonic() < deadline:  # the host has finished
            time.sleep(0.01)
        return first, wall

    first_output: list[float] = []
    cli_wall: list[float] = []
    cached_first: list[float] = []
    direct: list[float] = []
    ta_run("warm-up", cached_env)  # fills the bytecode cache
    for i in range(args.starts):
        stamp = stamps / f"direct-{i}"
        start = time.time()
        subprocess.run(python_agent(STAMP_AGENT, str(stamp)), stdout=subprocess.DEVNULL,
                       check=True)  # fmt: skip
        direct.append(wait_for_file(stamp) - start)
        first, wall = ta_run(f"run-{i}", None)
        first_output.append(first)
        cli_wall.append(wall)
        cached_first.append(ta_run(f"cached-{i}", cached_env)[0])
    result = {
        "ta_run_to_first_output_s": first_output,
        "ta_run_cli_wall_s": cli_wall,
        "ta_run_bytecode_cache_to_first_output_s": cached_first,
        "agent_direct_s": direct,
        "median_ta_run_to_first_output_s": median(first_output),
        "median_ta_run_cli_wall_s": median(cli_wall),
        "median_ta_run_bytecode_cache_to_first_output_s": median(cached_first),
        "median_agent_direct_s": median(direct),
        "environment_PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE"),
    }
    log(f"  ta run → first output {median(first_output) * 1e3:.0f} ms "
        f"(agent alone {median(direct) * 1e3:.0f} ms)")  # fmt: skip
    n = len(first_output)
    checks = [
        Check("start", f"ta run --detach → agent's first output, median of {n}",
              f"{median(first_output) * 1e3:.0f} ms"),
        Check("start", "ta run --detach, CLI wall time", f"{median(cli_wall) * 1e3:.0f} ms"),
        Check("start", "ta run --detach → first output, with a bytecode cache",
              f"{median(cached_first) * 1e3:.0f} ms"),
        Check("start", "same agent started directly → first output",
              f"{median(direct) * 1e3:.0f} ms"),
    ]  # fmt: skip
    return result, checks


# -- 6: a reader that stalls and reads again -------------------------------------------------


def relay_with_pause(workdir: Path, total: int) -> tuple[RelayRun, dict[str, Any]]:
    """One relay to a reading client, while another attached client (its own process) is
    stopped for ``PAUSE`` seconds and continued; the agent lingers until that one is back."""
    argv = python_agent(RELAY_AGENT, str(total), str(PAUSE + 1.0))
    agent = HostedAgent(Path(tempfile.mkdtemp(dir=workdir)) / "project", argv, "relay pause")
    stalling: subprocess.Popen[str] | None = None
    reader: HostClient | None = None
    try:
        stalling = subprocess.Popen(
            [sys.executable, "-c", PAUSING_READER, str(agent.socket)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert stalling.stdout is not None
        if stalling.stdout.readline().strip() != "connected":
            raise RuntimeError(f"the stalling reader did not connect: {stalling.stderr}")
        reader = agent.connect("bench:reader")
        stats = ReadStats()
        thread = threading.Thread(target=read_until_bye, args=(reader, stats, 600.0), daemon=True)
        thread.start()
        time.sleep(SETTLE)
        start = time.perf_counter_ns()
        reader.send_input(b"go\r")
        time.sleep(0.1)  # the relay is under way
        os.kill(stalling.pid, signal.SIGSTOP)
        time.sleep(PAUSE)
        os.kill(stalling.pid, signal.SIGCONT)
        thread.join()
        out, err = stalling.communicate(timeout=120)
        report = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": err}
        if stats.error or stats.bye is None:
            raise RuntimeError(f"relay through the host failed: {stats.error}")
    except BaseException:
        agent.stop()
        if stalling is not None and stalling.poll() is None:
            os.kill(stalling.pid, signal.SIGCONT)
            stalling.kill()
        raise
    finally:
        if reader is not None:
            reader.close()
    agent.wait_exit()
    agent.remove()
    run = RelayRun("host+pause", (stats.last_ns - start) / 1e9, total, received=stats.bytes)
    return run, report


def bench_resync(workdir: Path, args: argparse.Namespace) -> tuple[dict[str, Any], list[Check]]:
    total = args.mb * MB
    runs: list[RelayRun] = []
    reports: list[dict[str, Any]] = []
    for i in range(args.pause_runs):
        run, report = relay_with_pause(workdir, total)
        runs.append(run)
        reports.append(report)
        ok = "ok" if report.get("error") is None and report.get("bye") else "CORRUPT"
        log(f"  pause round {i + 1}/{args.pause_runs}: reader {fmt_rate(run.rate):>10}, "
            f"stalled reader {ok}, {report.get('notices', 0)} resync(s), "
            f"{fmt_mb(report.get('bytes', 0))} received")  # fmt: skip
    corrupt = [r for r in reports if r.get("error") is not None or not r.get("bye")]
    rate = median([r.rate for r in runs])
    resyncs = median([float(r.get("notices", 0)) for r in reports])
    result = {
        "payload_bytes": total,
        "pause_s": PAUSE,
        "runs": [r.to_dict() for r in runs],
        "stalling_reader_reports": reports,
        "corrupt_streams": len(corrupt),
        "median_reader_mb_per_s": rate / MB,
        "median_resyncs": resyncs,
    }
    n = len(runs)
    checks = [
        Check("resync", f"{args.mb} MB, reader stopped {PAUSE:g} s then continued: corrupt streams",
              f"{len(corrupt)} of {n}", "0", not corrupt),
        Check("resync", "the other reader's throughput meanwhile, median", fmt_rate(rate)),
        Check("resync", "resynchronisations of the stalled reader per relay, median",
              f"{resyncs:g}"),
    ]  # fmt: skip
    return result, checks


# -- main ------------------------------------------------------------------------------------

BENCHES = ("relay", "keys", "start", "resync")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Session host benchmarks (SPEC §13): output relay, memory, stalled client, "
        "keystroke round trip, start-up."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller run for a smoke test (targets are then only indicative)",
    )
    parser.add_argument(
        "--only", nargs="+", choices=BENCHES, default=list(BENCHES), help="run only these"
    )
    parser.add_argument("--mb", type=int, help="MB (10^6 bytes) the relay agent prints (200; 20)")
    parser.add_argument("--runs", type=int, help="relay runs per variant, interleaved (5; 3)")
    parser.add_argument("--keys", type=int, help="keystroke samples per side (1000; 200)")
    parser.add_argument(
        "--key-gap", type=float, default=0.002, help="seconds between keystrokes (0.002)"
    )
    parser.add_argument(
        "--idle-keys", type=int, help=f"keystrokes after a {IDLE_PAUSE} s pause (5; 2)"
    )
    parser.add_argument("--lines", type=int, help="typed lines ending in Enter (20; 5)")
    parser.add_argument("--starts", type=int, help="ta run samples (7; 3)")
    parser.add_argument(
        "--pause-runs", type=int, help="relays with a reader stopped and continued (20; 5)"
    )
    parser.add_argument("--ta", help="the ta executable (default: beside this Python)")
    parser.add_argument(
        "--workdir", type=Path, help="where to create the test projects (default: a temp folder)"
    )
    parser.add_argument("--name", default="host", help="results file: bench/results/NAME.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any target fails")
    args = parser.parse_args(argv)
    defaults = {
        "mb": (200, 20), "runs": (5, 3), "keys": (1000, 200), "idle_keys": (5, 2), "lines": (20, 5),
        "starts": (7, 3), "pause_runs": (20, 5),
    }  # fmt: skip
    for key, (full, quick) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ta = args.ta or str(Path(sys.executable).parent / "ta")
    if "start" in args.only and not Path(ta).exists() and shutil.which(ta) is None:
        raise SystemExit(f"cannot find the ta executable {ta!r} (use --ta)")
    if "relay" in args.only and shutil.which("script") is None:
        raise SystemExit("the relay baseline needs `script` (util-linux)")
    workdir = common.make_workdir("ta-bench-host-", args.workdir)
    log(f"bench_host: working in {workdir}" + (" (quick)" if args.quick else ""))

    started = time.monotonic()
    results: dict[str, Any] = common.run_header(args)
    checks: list[Check] = []
    load_before = load_average()
    try:
        if "relay" in args.only:
            results["relay"], found = bench_relay(workdir, args)
            checks += found
        if "keys" in args.only:
            results["keys"], found = bench_keys(workdir, args)
            checks += found
        if "start" in args.only:
            results["start"], found = bench_start(workdir, args, ta)
            checks += found
        if "resync" in args.only:
            results["resync"], found = bench_resync(workdir, args)
            checks += found
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["duration_s"] = round(time.monotonic() - started, 1)
    results["load_average"] = {"before": load_before, "after": load_average()}
    results["checks"] = [c.to_dict() for c in checks]

    m = results["machine"]
    src = results["source"]
    dirty = " + uncommitted src changes" if src["src_changed"] else ""
    print(f"\nSession host benchmarks — {m['date']}, nproc {m['nproc']}, Python {m['python']}, "
          f"commit {src['commit']}{dirty}"
          + (" (quick run: sizes reduced)" if args.quick else ""))  # fmt: skip
    print("Medians; ratios are of medians taken side by side in this run.")
    load = results["load_average"]
    print(f"1-minute load average {load['before']:.2f} before, {load['after']:.2f} after"
          " (the benchmark itself keeps 2-3 processes busy)")  # fmt: skip
    if load["before"] > 0.5 * (m["nproc"] or 1):
        print("WARNING: the machine was busy before the run; throughput figures may be noisy.")
    print()
    return common.report(args.name, results, checks, strict=args.strict, value_header="VALUE")


if __name__ == "__main__":
    raise SystemExit(main())
