"""Web benchmarks (SPEC §13, "Web"), against a real ``ta serve`` process, real session hosts and
real WebSocket viewers, each comparison side by side in one run.

1. Output latency: an agent prints a line stamped with ``time.monotonic_ns()`` (one clock for
   every process of the machine) every millisecond; 20 viewers attached through
   ``/api/sessions/{id}/terminal`` note when each stamp arrives. Latency is arrival minus stamp:
   agent write → host → web server → WebSocket → viewer. p50 and p99 over every stamp every
   viewer received.
2. Agent throughput: an agent writes ``--mb`` MB as fast as its terminal takes it, timed by the
   agent itself (from "go" to its last write); without viewers and with 20 reading viewers,
   interleaved. The ratio is what the viewers cost the agent.
3. Memory: VmRSS of the ``ta serve`` process, sampled every 50 ms while the 20 viewers watch.
4. List latency: ``GET /api/sessions?all=true`` over 1,000 sessions (written as the reference
   writes them), timed by the client over a kept-alive connection.

    .venv/bin/python bench/bench_web.py            # full run (about a minute)
    .venv/bin/python bench/bench_web.py --quick    # smaller sizes, for a smoke test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

import common
from common import Check, log, median, percentile
from gen_sessions import generate

TARGET_LATENCY_P99_NS = 100_000_000  # output latency p99 with 20 viewers, below
TARGET_THROUGHPUT_RATIO = 0.80  # agent throughput with 20 viewers / without, at least
TARGET_LIST_NS = 100_000_000  # list API over 1,000 sessions, below
MB = 1_000_000

TICKER = r"""
import os, sys, time
rate, seconds = float(sys.argv[1]), float(sys.argv[2])
sys.stdin.readline()  # "go"
pad = "." * 80
end = time.monotonic() + seconds
n = 0
start = time.monotonic()
while time.monotonic() < end:
    os.write(1, f"@{time.monotonic_ns()}@ {n} {pad}\r\n".encode())
    n += 1
    delay = start + n / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
os.write(1, b"TICKER DONE\r\n")
time.sleep(3600)
"""

BURST = r"""
import os, sys, time
total, result = int(sys.argv[1]), sys.argv[2]
line = b"The quick brown fox jumps over the lazy dog; 0123456789 ABCDEFG.\r\n"
block = line * (65536 // len(line))
sys.stdin.readline()  # "go"
start = time.perf_counter_ns()
written = 0
while written < total:
    written += os.write(1, block)
elapsed = time.perf_counter_ns() - start
with open(result + ".tmp", "w") as handle:
    handle.write(str(elapsed))
os.rename(result + ".tmp", result)
time.sleep(3600)
"""

STAMP = re.compile(rb"@(\d{6,})@")


class Server:
    """A ``ta serve`` process for one project."""

    def __init__(self, root: Path, src: Path | None = None):
        self.root = root
        env = {**os.environ, "NO_COLOR": "1"}
        if src is not None:  # another version's source (a side-by-side comparison)
            env["PYTHONPATH"] = str(src)
        env.pop("TA_PROJECT_ROOT", None)
        # The agents here are scripts in the bench's work folder, which the sandbox's private
        # /tmp would hide; the sandbox has its own benchmark (bench_sandbox.py).
        env["TA_SANDBOX"] = "off"
        self.env = env
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ta_session", "serve", "--port", "0"], cwd=root, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert self.process.stdout is not None
        match = re.match(r"ta serve: (http://127\.0\.0\.1:(\d+)/)\?token=(\S+)",
                         self.process.stdout.readline())  # fmt: skip
        assert match, "ta serve did not print its URL"
        self.base, self.port, self.token = match.group(1), int(match.group(2)), match.group(3)
        self.headers = {"authorization": f"Bearer {self.token}", "x-ta-client": "bench"}
        self.http = httpx.Client(base_url=self.base, headers=self.headers, timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get("/api/agents").status_code == 200:
                    break
            time.sleep(0.05)

    def rss(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def start(self, *command: str) -> str:
        response = self.http.post(
            "/api/sessions", json={"title": "bench", "command": list(command)}
        )
        response.raise_for_status()
        return str(response.json()["session_id"])

    def send(self, sid: str, text: str) -> None:
        self.http.post(f"/api/sessions/{sid}/send", json={"text": text}).raise_for_status()

    def abort(self, sid: str) -> None:
        with contextlib.suppress(httpx.HTTPError):
            self.http.post(f"/api/sessions/{sid}/abort", json={})

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()


class Viewers:
    """``count`` WebSocket viewers of one session in a thread of their own (one event loop),
    reading everything; they note each stamp's latency, or only count bytes."""

    def __init__(self, server: Server, sid: str, count: int, *, stamps: bool):
        self.url = f"ws://127.0.0.1:{server.port}/api/sessions/{sid}/terminal"
        self.headers = server.headers
        self.count = count
        self.stamps = stamps
        self.latencies: list[int] = []
        self.received = [0] * count
        self.resyncs = 0
        self.connected = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> Viewers:
        self.thread.start()
        if not self.connected.wait(60):
            raise RuntimeError("the viewers did not connect")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)

    async def _main(self) -> None:
        sockets = [await connect(self.url, additional_headers=self.headers, max_size=None)
                   for _ in range(self.count)]  # fmt: skip
        for ws in sockets:
            await ws.recv()  # welcome
        self.connected.set()
        await asyncio.gather(*(self._read(i, ws) for i, ws in enumerate(sockets)))
        for ws in sockets:
            await ws.close()

    async def _read(self, index: int, ws: Any) -> None:
        tail = b""
        while not self.stop.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), 0.2)
            except TimeoutError:
                continue
            except Exception:
                return
            now = time.monotonic_ns()
            if isinstance(message, str):
                if '"resync"' in message:
                    self.resyncs += 1
                continue
            self.received[index] += len(message)
            if self.stamps:
                data = tail + message
                self.latencies += [now - int(m.group(1)) for m in STAMP.finditer(data)]
                cut = data.rfind(b"@", max(0, len(data) - 40))
                tail = data[cut:] if cut >= 0 and not STAMP.search(data[cut:]) else b""


def sample_rss(server: Server, stop: threading.Event, into: list[int]) -> None:
    while not stop.is_set():
        with contextlib.suppress(OSError):
            into.append(server.rss())
        time.sleep(0.05)


def wait_output(root: Path, sid: str, text: str, timeout: float = 30) -> None:
    cast = root / ".ta" / "recordings" / f"{sid}.cast"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if text in cast.read_text(errors="replace"):
                return
        time.sleep(0.05)
    raise RuntimeError(f"{text!r} did not appear in session {sid}")


def latency_run(server: Server, work: Path, viewers: int, rate: float, seconds: float,
                rss: list[int]) -> dict[str, Any]:  # fmt: skip
    script = work / "ticker.py"
    script.write_text(TICKER)
    sid = server.start(sys.executable, str(script), str(rate), str(seconds))
    try:
        with Viewers(server, sid, viewers, stamps=True) as watching:
            stop = threading.Event()
            sampler = threading.Thread(target=sample_rss, args=(server, stop, rss))
            sampler.start()
            time.sleep(0.3)
            server.send(sid, "go")
            wait_output(server.root, sid, "TICKER DONE", timeout=seconds + 60)
            time.sleep(0.5)  # the last stamps reach the viewers
            stop.set()
            sampler.join()
        samples = watching.latencies
        expected = int(rate * seconds) * viewers
        return {"viewers": viewers, "rate": rate, "seconds": seconds, "stamps": len(samples),
                "expected_about": expected, "resyncs": watching.resyncs,
                "p50_ns": percentile(samples, 50), "p99_ns": percentile(samples, 99),
                "max_ns": max(samples)}  # fmt: skip
    finally:
        server.abort(sid)


def burst_run(server: Server, work: Path, viewers: int, total: int, trial: int) -> dict[str, Any]:
    script = work / "burst.py"
    script.write_text(BURST)
    result = work / f"burst-{viewers}-{trial}.ns"
    sid = server.start(sys.executable, str(script), str(total), str(result))
    try:
        watching = Viewers(server, sid, viewers, stamps=False) if viewers else None
        with watching or contextlib.nullcontext():
            time.sleep(0.3)
            server.send(sid, "go")
            deadline = time.monotonic() + 300
            while not result.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.3)
        elapsed = int(result.read_text())
        received = watching.received if watching else []
        return {"viewers": viewers, "bytes": total, "elapsed_ns": elapsed,
                "mb_per_s": total / MB / (elapsed / 1e9),
                "viewer_bytes_median": median(received) if received else None,
                "resyncs": watching.resyncs if watching else 0}  # fmt: skip
    finally:
        server.abort(sid)


def list_run(work: Path, sessions: int, trials: int) -> dict[str, Any]:
    root = work / "listing"
    (root / ".ta").mkdir(parents=True)
    generate(root, sessions, 20)
    server = Server(root)
    try:
        assert len(server.http.get("/api/sessions?all=true").json()) == sessions  # warm index
        times = []
        for _ in range(trials):
            start = time.perf_counter_ns()
            response = server.http.get("/api/sessions?all=true")
            times.append(time.perf_counter_ns() - start)
            assert response.status_code == 200
        return {"sessions": sessions, "median_ns": median(times), "p99_ns": percentile(times, 99),
                "bytes": len(response.content), "samples_ns": times}  # fmt: skip
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=1000.0, help="stamped lines per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency run length")
    parser.add_argument("--mb", type=int, default=100, help="MB per throughput run")
    parser.add_argument("--trials", type=int, default=3, help="throughput runs of each kind")
    parser.add_argument("--sessions", type=int, default=1000, help="sessions for the list API")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--name", default="web")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.mb, args.trials = 3.0, 20, 1
    work = common.make_workdir("ta-bench-web-", args.workdir)
    root = work / "project"
    (root / ".ta").mkdir(parents=True)
    results: dict[str, Any] = common.run_header(args)
    began = time.monotonic()
    checks: list[Check] = []
    server = Server(root)
    rss: list[int] = []
    try:
        log(f"latency: 1 viewer, {args.rate:g} lines/s for {args.seconds:g}s")
        one = latency_run(server, work, 1, args.rate, args.seconds, [])
        log(f"latency: {args.viewers} viewers")
        many = latency_run(server, work, args.viewers, args.rate, args.seconds, rss)
        results["latency"] = [one, many]
        throughput: list[dict[str, Any]] = []
        for trial in range(args.trials):
            for viewers in (0, args.viewers):
                log(f"throughput: {args.mb} MB, {viewers} viewers (trial {trial + 1})")
                throughput.append(burst_run(server, work, viewers, args.mb * MB, trial))
        results["throughput"] = throughput
        results["serve_rss_bytes"] = {"max": max(rss) if rss else None,
                                      "median": median(rss) if rss else None}  # fmt: skip
    finally:
        server.stop()
    log(f"list: {args.sessions} sessions")
    listing = list_run(work, args.sessions, 30 if not args.quick else 10)
    results["list"] = listing

    bare = median([r["mb_per_s"] for r in throughput if r["viewers"] == 0])
    watched = median([r["mb_per_s"] for r in throughput if r["viewers"] == args.viewers])
    checks += [
        Check("web", "output latency p50, 1 viewer", common.fmt_ns(one["p50_ns"])),
        Check("web", "output latency p99, 1 viewer", common.fmt_ns(one["p99_ns"])),
        Check("web", f"output latency p50, {args.viewers} viewers", common.fmt_ns(many["p50_ns"])),
        Check("web", f"output latency p99, {args.viewers} viewers", common.fmt_ns(many["p99_ns"]),
              "< 100 ms", many["p99_ns"] < TARGET_LATENCY_P99_NS),
        Check("web", "agent throughput, no viewers", f"{bare:.1f} MB/s"),
        Check("web", f"agent throughput, {args.viewers} viewers", f"{watched:.1f} MB/s"),
        Check("web", "throughput with viewers / without", common.fmt_ratio(watched / bare),
              ">= 0.80", watched / bare >= TARGET_THROUGHPUT_RATIO),
        Check("web", f"ta serve RSS, {args.viewers} viewers (max)",
              f"{(max(rss) if rss else 0) / MB:.1f} MB"),
        Check("web", f"list API, {args.sessions} sessions", common.fmt_ns(listing["median_ns"]),
              "< 100 ms", listing["median_ns"] < TARGET_LIST_NS),
        Check("web", f"list API p99, {args.sessions} sessions", common.fmt_ns(listing["p99_ns"])),
    ]  # fmt: skip
    results["duration_s"] = round(time.monotonic() - began, 1)
    code = common.report(args.name, results, checks, strict=args.strict)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
