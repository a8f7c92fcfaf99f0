"""Store benchmarks against the SPEC §13 targets, each compared side by side in one run.

1. Message append at 10 and at 10,000 existing messages through
   ``InteractiveSessionStore.append_message``, next to the reference's method (load the JSON,
   append, rewrite the whole pretty-printed file) at both sizes.
2. ``ta session list --all`` over 10,000 sessions × 20 messages (reference-format files): one
   cold run (empty index), then warm runs, next to a read-everything baseline script.
3. ``ta session list`` with 100 sessions, process start included, next to ``python -c pass``.

    .venv/bin/python bench/bench_store.py            # full run (about two minutes)
    .venv/bin/python bench/bench_store.py --quick    # smaller sizes, for a smoke test

``--before TA`` times another ``ta`` executable (an older build) in the listings too, run by run
between ours, each on its own copy of the generated project (an index belongs to one build).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
import gen_sessions as gen
from common import Check, fmt_ns, fmt_ratio, log, median, now_ns, run_wall_ns

APPEND_SIZES = (10, 10_000)
TARGET_APPEND_GROWTH = 2.0  # ours@10k / ours@10 must be at most this
TARGET_APPEND_VS_REFERENCE = 20.0  # reference@10k / ours@10k must be at least this
TARGET_LIST_ALL_NS = 500_000_000  # warm `ta session list --all`, 10,000 sessions
TARGET_LIST_SMALL_NS = 150_000_000  # `ta session list`, 100 sessions, process start included


# -- helpers ---------------------------------------------------------------------------------


def check_reference_format(paths: list[Path]) -> None:
    """Generated files must load in our model and re-save byte for byte (SPEC §2.1)."""
    from ta_session.model import InteractiveSession

    for path in paths:
        data = path.read_bytes()
        if InteractiveSession.from_json(data).to_json().encode("utf-8") != data:
            raise SystemExit(f"generated file {path} is not in the exact reference format")


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("inf")


# -- 1. message append -----------------------------------------------------------------------


def _reset(path: Path, blob: bytes, pending: Path) -> None:
    """Put the session back to exactly its generated content (as a reference writer would)."""
    pending.unlink(missing_ok=True)
    path.write_bytes(blob)


def _trial_ours(
    sessions_dir: Path, path: Path, blob: bytes, sid: str, appends: int, contents: list[str],
    singles: list[int], flushes: list[int],
) -> float:  # fmt: skip
    """Per-append ns of one continuous burst of ``appends`` appends plus the final flush.

    The session is reset to its generated size and opened (parsed into the store's cache) by an
    untimed warm-up append, so the burst measures appends, not the one-off load. The timed span
    covers every snapshot rewrite the store does during the burst *and* the final ``flush()``
    that writes the snapshot the burst still owes: at least one full rewrite per burst.
    """
    from ta_session.store.sessions import InteractiveSessionStore

    _reset(path, blob, sessions_dir.parent / "state" / "pending" / sid)
    store = InteractiveSessionStore(sessions_dir)
    store.append_message(sid, "human", "warm-up: opens the session")
    store.flush()
    gc.collect()
    senders = gen.SENDERS
    start = now_ns()
    for i in range(appends):
        t0 = now_ns()
        store.append_message(sid, senders[i % 3], contents[i % len(contents)])
        singles.append(now_ns() - t0)
    flush_start = now_ns()
    store.flush()
    end = now_ns()
    flushes.append(end - flush_start)
    store.index.close()
    return (end - start) / appends


Codec = tuple[Callable[[bytes], Any], Callable[[Any], bytes]]


def _json_codec() -> Codec:
    return json.loads, lambda doc: json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")


def _orjson_codec() -> Codec | None:
    """orjson (Rust, serde-like speed) if installed: a closer stand-in for the Rust reference."""
    try:
        import orjson  # type: ignore[import-not-found]
    except ImportError:
        return None
    return orjson.loads, lambda doc: orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def _trial_reference(
    path: Path, blob: bytes, appends: int, contents: list[str], codec: Codec
) -> float:
    """Per-append ns of the reference's method: load, append one message, rewrite everything.

    A plain write, as the reference does (no temporary file, no fsync).
    """
    loads, dumps = codec
    path.write_bytes(blob)
    gc.collect()
    senders = gen.SENDERS
    start = now_ns()
    for i in range(appends):
        doc = loads(path.read_bytes())
        stamp = gen.format_timestamp(time.time_ns())
        doc.setdefault("messages", []).append(
            {"sender": senders[i % 3], "content": contents[i % len(contents)], "timestamp": stamp}
        )
        doc["updated_at"] = stamp
        path.write_bytes(dumps(doc))
    return (now_ns() - start) / appends


def _trial_io_floor(path: Path, blob: bytes, appends: int) -> float:
    """Per-append ns of only the I/O of the reference's method (read the file, write it back).

    What any implementation of rewrite-per-message pays even with a zero-cost JSON codec (the
    reference is Rust; Python's ``json.dumps(indent=2)`` is much slower than serde).
    """
    path.write_bytes(blob)
    start = now_ns()
    for _ in range(appends):
        data = path.read_bytes()
        path.write_bytes(data)
    return (now_ns() - start) / appends


def bench_append(workdir: Path, args: argparse.Namespace) -> tuple[dict[str, Any], list[Check]]:
    sessions_dir = workdir / "append" / gen.SESSIONS_SUBDIR
    sessions_dir.mkdir(parents=True)
    rng = random.Random(1)
    setups = {}
    for i, size in enumerate(APPEND_SIZES):
        doc = gen.make_session(rng, i, size, state="active")
        blob = gen.session_bytes(doc)
        path = gen.write_session(sessions_dir, doc)
        setups[size] = (doc["session_id"], path, blob)
    check_reference_format([path for _, path, _ in setups.values()])
    contents = [gen.message_content(rng, 100_000 + i) for i in range(64)]
    codecs = {"reference": _json_codec()}
    fast = _orjson_codec()
    if fast is not None:
        codecs["reference_orjson"] = fast

    ours: dict[int, list[float]] = {s: [] for s in APPEND_SIZES}
    singles: dict[int, list[int]] = {s: [] for s in APPEND_SIZES}
    flushes: dict[int, list[int]] = {s: [] for s in APPEND_SIZES}
    rewrites = {name: {s: [] for s in APPEND_SIZES} for name in (*codecs, "io_floor")}
    for trial in range(args.trials):
        log(f"  append: trial {trial + 1}/{args.trials}")
        order = APPEND_SIZES if trial % 2 == 0 else APPEND_SIZES[::-1]
        for size in order:  # side by side: every trial measures every variant
            sid, path, blob = setups[size]
            ours[size].append(
                _trial_ours(sessions_dir, path, blob, sid, args.appends, contents,
                            singles[size], flushes[size])
            )  # fmt: skip
            for name, codec in codecs.items():
                rewrites[name][size].append(
                    _trial_reference(path, blob, args.ref_appends, contents, codec)
                )
            rewrites["io_floor"][size].append(_trial_io_floor(path, blob, args.ref_appends))

    per_trial = {"ours": ours, **rewrites}
    med = {name: {s: median(v[s]) for s in APPEND_SIZES} for name, v in per_trial.items()}
    small, big = APPEND_SIZES
    growth = ratio(med["ours"][big], med["ours"][small])
    speedup = ratio(med["reference"][big], med["ours"][big])
    single = {s: common.summarize_ns(singles[s]) for s in APPEND_SIZES}
    single_growth = ratio(single[big]["median_ns"], single[small]["median_ns"])
    results = {
        "sizes": list(APPEND_SIZES),
        "file_bytes": {s: len(setups[s][2]) for s in APPEND_SIZES},
        "trials": args.trials,
        "appends_per_trial": args.appends,
        "reference_appends_per_trial": args.ref_appends,
        "per_append_ns_per_trial": per_trial,
        "median_per_append_ns": med,
        "single_append_ns": single,
        "final_flush_ns": {s: common.summarize_ns(flushes[s]) for s in APPEND_SIZES},
        "ratio_ours_big_over_small": growth,
        "ratio_single_append_p50_big_over_small": single_growth,
        "ratio_reference_over_ours_at_big": speedup,
        "ratio_over_ours_at_big": {name: ratio(med[name][big], med["ours"][big]) for name in med},
    }
    b = "1 append"
    each = "per append (burst + snapshot)"
    flush = results["final_flush_ns"]
    checks = [
        Check(b, f"ours @{small:,} msgs, {each}", fmt_ns(med["ours"][small])),
        Check(b, f"ours @{big:,} msgs, {each}", fmt_ns(med["ours"][big])),
        Check(b, f"  single append p50 @{small:,} / @{big:,}",
              f"{fmt_ns(single[small]['median_ns'])} / {fmt_ns(single[big]['median_ns'])}"),
        Check(b, f"  single append p99 @{small:,} / @{big:,}",
              f"{fmt_ns(single[small]['p99_ns'])} / {fmt_ns(single[big]['p99_ns'])}"),
        Check(b, f"  snapshot rewrite (final flush) @{small:,} / @{big:,}",
              f"{fmt_ns(flush[small]['median_ns'])} / {fmt_ns(flush[big]['median_ns'])}"),
        Check(b, f"reference method (Python json) @{small:,} msgs, per append",
              fmt_ns(med["reference"][small])),
        Check(b, f"reference method (Python json) @{big:,} msgs, per append",
              fmt_ns(med["reference"][big])),
        Check(b, f"ours @{big:,} / ours @{small:,}", fmt_ratio(growth),
              f"≤ {TARGET_APPEND_GROWTH:g}×", growth <= TARGET_APPEND_GROWTH),
        Check(b, f"  single append p50 @{big:,} / @{small:,}", fmt_ratio(single_growth)),
        Check(b, f"reference (Python json) @{big:,} / ours @{big:,}", fmt_ratio(speedup),
              f"≥ {TARGET_APPEND_VS_REFERENCE:g}×", speedup >= TARGET_APPEND_VS_REFERENCE),
    ]  # fmt: skip
    extra = [("reference_orjson", "reference method, orjson codec"),
             ("io_floor", "reference method, I/O only (floor)")]  # fmt: skip
    for name, label in extra:
        if name in med:
            times = ratio(med[name][big], med["ours"][big])
            value = f"{fmt_ns(med[name][big])} → {fmt_ratio(times)}"
            checks.append(Check(b, f"  {label} @{big:,}: per append, / ours", value))
    return results, checks


# -- 2. ta session list --all at scale -------------------------------------------------------


def _list_output_tail(cmd: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, check=True, text=True, env=env)
    lines = proc.stdout.rstrip("\n").split("\n")
    return lines[-1] if lines else ""


def bench_list_all(
    workdir: Path, args: argparse.Namespace, ta: str, env: dict[str, str]
) -> tuple[dict[str, Any], list[Check]]:
    project = workdir / "list-all"
    log(f"  list --all: generating {args.sessions:,} sessions × {args.messages} messages")
    start = now_ns()
    paths = gen.generate(project, args.sessions, args.messages, seed=2)
    generated_ns = now_ns() - start
    check_reference_format(paths[:: max(1, len(paths) // 50)])
    index = project / ".ta" / "state" / "index.sqlite3"
    if index.exists():
        raise SystemExit(f"{index} exists before the cold run")

    cmd = [ta, "session", "list", "--all", "--project", str(project)]
    baseline = [sys.executable, str(common.BENCH_DIR / "read_everything.py"),
                str(project / gen.SESSIONS_SUBDIR)]  # fmt: skip
    old = _before_commands(workdir / "list-all-before", project, cmd, args.before)
    log("  list --all: cold run (builds the index)")
    cold = run_wall_ns(cmd, env=env)
    old_cold = run_wall_ns(old[0], env=env) if old else None
    warm: list[int] = []
    base: list[int] = []
    old_warm: list[int] = []
    for run in range(args.warm_runs):
        log(f"  list --all: warm run {run + 1}/{args.warm_runs} (+ read-everything baseline)")
        warm.append(run_wall_ns(cmd, env=env))
        base.append(run_wall_ns(baseline, env=env))
        if old:
            old_warm.append(run_wall_ns(old[0], env=env))
    json_cmd = [*cmd, "--json"]
    warm_json: list[int] = []
    old_json: list[int] = []
    for run in range(args.warm_runs):
        log(f"  list --all --json: warm run {run + 1}/{args.warm_runs}")
        warm_json.append(run_wall_ns(json_cmd, env=env))
        if old:
            old_json.append(run_wall_ns([*old[0], "--json"], env=env))
    listed = json.loads(subprocess.run(json_cmd, capture_output=True, check=True, env=env).stdout)
    if len(listed) != args.sessions:  # untimed: the JSON really holds every session
        raise SystemExit(f"ta session list --all --json gave {len(listed)} sessions")
    tail = _list_output_tail(cmd, env)  # untimed: the listing really shows every session
    if tail != f"{args.sessions} session(s).":
        raise SystemExit(f"ta session list --all ended with {tail!r}, not {args.sessions} sessions")

    warm_med, base_med, json_med = median(warm), median(base), median(warm_json)
    results = {
        "sessions": args.sessions,
        "messages_per_session": args.messages,
        "folder_bytes": sum(p.stat().st_size for p in paths),
        "generate_ns": generated_ns,
        "command": cmd,
        "baseline_command": baseline,
        "cold_ns": cold,
        "warm_ns": warm,
        "warm": common.summarize_ns(warm),
        "read_everything_ns": base,
        "read_everything": common.summarize_ns(base),
        "ratio_read_everything_over_warm": ratio(base_med, warm_med),
        "json_command": json_cmd,
        "warm_json_ns": warm_json,
        "warm_json": common.summarize_ns(warm_json),
    }
    b = "2 list --all"
    n = f"{args.sessions:,}×{args.messages}"
    checks = [
        Check(b, f"ta session list --all, {n}, cold (builds index)", fmt_ns(cold)),
        Check(b, f"ta session list --all, {n}, warm (median of {len(warm)})", fmt_ns(warm_med),
              f"< {fmt_ns(TARGET_LIST_ALL_NS)}", warm_med < TARGET_LIST_ALL_NS),
        Check(b, f"ta session list --all --json, {n}, warm (median of {len(warm_json)})",
              fmt_ns(json_med), f"< {fmt_ns(TARGET_LIST_ALL_NS)}", json_med < TARGET_LIST_ALL_NS),
        Check(b, f"read-everything baseline (Python), {n}", fmt_ns(base_med)),
        Check(b, "  read-everything / ta warm", fmt_ratio(ratio(base_med, warm_med))),
    ]  # fmt: skip
    if old and old_cold is not None:
        results["before"] = {"command": old[0], "cold_ns": old_cold, "warm_ns": old_warm,
                             "warm_json_ns": old_json}  # fmt: skip
        checks += _before_checks(b, "list --all, cold", [cold], [old_cold])
        checks += _before_checks(b, "list --all, warm", warm, old_warm)
        checks += _before_checks(b, "list --all --json, warm", warm_json, old_json)
    return results, checks


def _before_commands(
    copy: Path, project: Path, cmd: list[str], before: str | None
) -> list[list[str]]:
    """``cmd`` for the ``--before`` build, on its own copy of ``project``; [] without one."""
    if before is None:
        return []
    shutil.copytree(project, copy, symlinks=True)
    return [[before, *cmd[1:-1], str(copy)]]


def _before_checks(b: str, what: str, ours: list[int], old: list[int]) -> list[Check]:
    return [
        Check(b, f"  {what}: --before build (median of {len(old)})", fmt_ns(median(old))),
        Check(b, f"  {what}: ours / --before", fmt_ratio(ratio(median(ours), median(old)))),
    ]


# -- 3. ta session list, 100 sessions --------------------------------------------------------


def bench_list_small(
    workdir: Path, args: argparse.Namespace, ta: str, env: dict[str, str]
) -> tuple[dict[str, Any], list[Check]]:
    project = workdir / "list-small"
    paths = gen.generate(project, args.small_sessions, args.messages, seed=3)
    check_reference_format(paths[:10])
    cmd = [ta, "session", "list", "--project", str(project)]
    floor_cmd = [sys.executable, "-c", "pass"]
    old = _before_commands(workdir / "list-small-before", project, cmd, args.before)
    log("  list: first run (builds the index)")
    first = run_wall_ns(cmd, env=env)
    if old:
        run_wall_ns(old[0], env=env)
    as_is = common.bytecode_disabled()  # also measure the environment's own setting
    times: list[int] = []
    no_pyc: list[int] = []
    floor: list[int] = []
    old_times: list[int] = []
    for _ in range(args.small_runs):
        times.append(run_wall_ns(cmd, env=env))
        if as_is:
            no_pyc.append(run_wall_ns(cmd))
        floor.append(run_wall_ns(floor_cmd, env=env))
        if old:
            old_times.append(run_wall_ns(old[0], env=env))
    med, floor_med = median(times), median(floor)
    results = {
        "sessions": args.small_sessions,
        "command": cmd,
        "first_ns": first,
        "runs_ns": times,
        "runs": common.summarize_ns(times),
        "no_bytecode_cache_ns": no_pyc or None,
        "no_bytecode_cache": common.summarize_ns(no_pyc) if no_pyc else None,
        "python_pass_ns": floor,
        "python_pass": common.summarize_ns(floor),
        "over_floor_ns": med - floor_med,
    }
    b = "3 list"
    checks = [
        Check(b, f"ta session list, {args.small_sessions} sessions, first run (builds index)",
              fmt_ns(first)),
        Check(b, f"ta session list, {args.small_sessions} sessions (median of {len(times)})",
              fmt_ns(med), f"< {fmt_ns(TARGET_LIST_SMALL_NS)}", med < TARGET_LIST_SMALL_NS),
        Check(b, "python -c pass (same venv)", fmt_ns(floor_med)),
        Check(b, "  ta above the interpreter floor", fmt_ns(med - floor_med)),
    ]  # fmt: skip
    if no_pyc:
        label = "  same, PYTHONDONTWRITEBYTECODE=1 as set here (recompiles each run)"
        checks.append(Check(b, label, fmt_ns(median(no_pyc))))
    if old:
        results["before"] = {"command": old[0], "runs_ns": old_times}
        checks += _before_checks(b, f"list, {args.small_sessions} sessions", times, old_times)
    return results, checks


# -- main ------------------------------------------------------------------------------------

BENCHES = ("append", "list-all", "list-small")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Store benchmarks (SPEC §13): message append and session listing."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller run for a smoke test (targets are then only indicative)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=BENCHES,
        default=list(BENCHES),
        help="run only these benchmarks",
    )
    parser.add_argument("--trials", type=int, help="append trials per variant (7; quick 3)")
    parser.add_argument("--appends", type=int, help="appends per trial, ours (300; quick 100)")
    parser.add_argument(
        "--ref-appends", type=int, help="appends per trial, reference method (20; quick 5)"
    )
    parser.add_argument("--sessions", type=int, help="sessions for list --all (10000; quick 1000)")
    parser.add_argument("--messages", type=int, default=20, help="messages per session (20)")
    parser.add_argument("--warm-runs", type=int, help="warm list --all runs (7; quick 3)")
    parser.add_argument(
        "--small-sessions", type=int, default=100, help="sessions for the small list (100)"
    )
    parser.add_argument("--small-runs", type=int, help="small list runs (15; quick 5)")
    parser.add_argument("--ta", help="the ta executable (default: beside this Python)")
    parser.add_argument(
        "--before",
        metavar="TA",
        help="also time this ta executable (another build) in the listings, run by run",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where to create the test projects (default: a temporary folder)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the test projects")
    parser.add_argument("--name", default="store", help="results file: bench/results/NAME.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any target fails")
    args = parser.parse_args(argv)
    defaults = {  # full, quick
        "trials": (7, 3), "appends": (300, 100), "ref_appends": (20, 5),
        "sessions": (10_000, 1_000), "warm_runs": (7, 3), "small_runs": (15, 5),
    }  # fmt: skip
    for key, (full, quick) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ta = args.ta or str(Path(sys.executable).parent / "ta")
    needs_ta = {"list-all", "list-small"} & set(args.only)
    if needs_ta and not Path(ta).exists() and shutil.which(ta) is None:
        raise SystemExit(f"cannot find the ta executable {ta!r} (use --ta)")
    workdir = common.make_workdir("ta-bench-", args.workdir)
    log(f"bench_store: working in {workdir}" + (" (quick)" if args.quick else ""))

    started = time.monotonic()
    results: dict[str, Any] = common.run_header(args)
    checks: list[Check] = []
    env = common.bytecode_env(workdir / "pycache")
    results["bytecode_cache"] = "on (PYTHONPYCACHEPREFIX in the work folder)"
    try:
        if {"list-all", "list-small"} & set(args.only):  # compile ta's modules once, untimed
            (workdir / "empty").mkdir()
            for executable in (ta, args.before) if args.before else (ta,):
                subprocess.run([executable, "session", "list", "--project", str(workdir / "empty")],
                               env=env, stdout=subprocess.DEVNULL, check=True)  # fmt: skip
        if "append" in args.only:
            results["append"], found = bench_append(workdir, args)
            checks += found
        if "list-all" in args.only:
            results["list_all"], found = bench_list_all(workdir, args, ta, env)
            checks += found
        if "list-small" in args.only:
            results["list_small"], found = bench_list_small(workdir, args, ta, env)
            checks += found
    finally:
        if args.keep:
            log(f"test projects kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["duration_s"] = round(time.monotonic() - started, 1)
    results["checks"] = [c.to_dict() for c in checks]

    m = results["machine"]
    src = results["source"]
    dirty = " + uncommitted src changes" if src["src_changed"] else ""
    print(f"\nStore benchmarks — {m['date']}, nproc {m['nproc']}, Python {m['python']}, "
          f"commit {src['commit']}{dirty}"
          + (" (quick run: sizes reduced)" if args.quick else ""))  # fmt: skip
    print("Medians; ratios are of medians taken side by side in this run.\n")
    return common.report(args.name, results, checks, strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
