"""A dead webhook must not slow a session (SPEC §8: notifications never block).

Side by side, alternating: a session whose agent prints TOTAL bytes as fast as it can while
reporting its status through the agent socket every MiB (each report is a ``status_update``,
sent to the webhook, which takes every event: ``events = ["*"]``), with

* ``none``: no webhook configured;
* ``dead``: a webhook whose server accepts connections and never answers (the worst kind: every
  delivery waits its whole timeout, and is retried).

The agent measures its own output time. Target: throughput with the dead webhook >= 95 % of
without (medians). Usage: .venv/bin/python bench/bench_webhook.py [--total-mb 64] [--trials 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AGENT = r"""
import os, sys, time
from ta_session.channels.client import HostClient
total = int(sys.argv[1])
line = b"x" * 63 + b"\n"
chunk = line * (65536 // 64)
start = time.perf_counter()
written = reports = 0
while written < total:
    view = memoryview(chunk)
    while view:
        view = view[os.write(1, view):]
    written += len(chunk)
    if written % (1 << 20) == 0:
        with HostClient.connect(os.environ["TA_AGENT_SOCKET"], channel_id="bench",
                                role="agent") as client:
            client.request({"type": "report_status", "message": f"{written >> 20} MiB"})
        reports += 1
elapsed = time.perf_counter() - start
print(f"\nBENCH-ELAPSED {elapsed:.6f} REPORTS {reports}", flush=True)
"""


def blackhole() -> tuple[socket.socket, str]:
    """A server that accepts and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(512)
    return server, f"http://127.0.0.1:{server.getsockname()[1]}/hook"


def run(root: Path, total: int, env: dict[str, str]) -> float:
    ta = [sys.executable, "-m", "ta_session"]
    sid = subprocess.run(
        [*ta, "run", "bench", "--detach", "--", sys.executable, "-c", AGENT, str(total)],
        cwd=root, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        state = json.loads((root / ".ta" / "interactive_sessions" / f"{sid}.json").read_text())
        if state["state"] != "active":
            break
        time.sleep(0.2)
    logs = subprocess.run([*ta, "session", "logs", sid], cwd=root, env=env,
                          capture_output=True, text=True).stdout  # fmt: skip
    found = re.search(r"BENCH-ELAPSED ([\d.]+) REPORTS (\d+)", logs)
    if not found:
        raise SystemExit(f"no result from the agent: {logs[-300:]!r}")
    return total / float(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total-mb", type=int, default=64)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    total = args.total_mb << 20
    hole, url = blackhole()
    rates: dict[str, list[float]] = {"none": [], "dead": []}
    with tempfile.TemporaryDirectory(prefix="ta-bench-hook-") as tmp:
        env = {**os.environ, "TA_SANDBOX": "off", "NO_COLOR": "1"}
        roots = {}
        for variant in rates:
            roots[variant] = Path(tmp) / variant
            (roots[variant] / ".ta").mkdir(parents=True)
        (roots["dead"] / ".ta" / "config.toml").write_text(
            f'[[webhooks]]\nurl = "{url}"\nevents = ["*"]\ntimeout = 5\nretries = 3\n'
        )
        for _ in range(args.trials):
            for variant in rates:  # alternating: load on the machine hits both alike
                rates[variant].append(run(roots[variant], total, env))
    hole.close()
    none, dead = (statistics.median(rates[v]) for v in ("none", "dead"))
    ratio = dead / none
    for variant, values in rates.items():
        shown = ", ".join(f"{v / 2**20:.0f}" for v in values)
        print(f"{variant:5s} median {statistics.median(values) / 2**20:7.1f} MiB/s  [{shown}]")
    verdict = "PASS" if ratio >= 0.95 else "FAIL"
    print(f"dead webhook / none: {ratio:.3f} (target >= 0.95) {verdict}")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "webhook.json").write_text(json.dumps({"rates": rates, "ratio": ratio}, indent=2))
    return 0 if ratio >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
