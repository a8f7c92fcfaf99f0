"""What the agent sandbox adds to an agent's launch (SPEC §13 style; issue target < 50 ms).

Side by side in one run, interleaved so that machine noise hits both alike: a program started
directly, and the same program started inside the bubblewrap sandbox exactly as the session host
wraps an agent (``workspace.sandbox.wrap`` with a project, its hidden ``.ta/`` and a staging
workspace). Two programs: ``true`` (the sandbox's own cost) and ``python3 -c pass`` (an
interpreter starting under the read-only view).

    .venv/bin/python bench/bench_sandbox.py [--runs 40] [--strict]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import common
from common import Check, fmt_ns, log, median
from ta_session.workspace.sandbox import SandboxPolicy, probe, wrap

TARGET_ADDED_NS = 50_000_000  # what the sandbox may add to a launch


def spawn_ns(argv: list[str]) -> int:
    start = time.perf_counter_ns()
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.perf_counter_ns() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="launches per variant (40)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args(argv)
    support = probe()
    if not support.available or support.tool is None:
        raise SystemExit(f"no sandbox here: {support.detail}")
    workdir = common.make_workdir("ta-bench-sandbox-", None)
    project = workdir / "proj"
    workspace = project / ".ta" / "staging" / "goal"
    workspace.mkdir(parents=True)
    policy = SandboxPolicy(workspace, project, hidden=(project / ".ta",))
    results = common.run_header(args)
    started = time.monotonic()
    checks = []
    for name, program in (("true", ["true"]), ("python3 -c pass", [sys.executable, "-c", "pass"])):
        direct: list[int] = []
        confined: list[int] = []
        log(f"  {name}: {args.runs} launches each way, interleaved")
        wrapped = wrap(program, policy, support.tool)
        for _ in range(args.runs):
            direct.append(spawn_ns(program))
            confined.append(spawn_ns(wrapped))
        added = median(confined) - median(direct)
        results[name] = {"direct_ns": direct, "sandboxed_ns": confined, "added_ns": added}
        checks += [
            Check("sandbox", f"{name}: direct (median of {args.runs})", fmt_ns(median(direct))),
            Check("sandbox", f"{name}: in the sandbox", fmt_ns(median(confined))),
            Check("sandbox", f"{name}: added by the sandbox", fmt_ns(added),
                  f"< {fmt_ns(TARGET_ADDED_NS)}", added < TARGET_ADDED_NS),
        ]  # fmt: skip
    results["duration_s"] = round(time.monotonic() - started, 1)
    return common.report("sandbox", results, checks, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
