"""Helpers shared by the benchmarks: timing, statistics, subprocess wall time, tables, results.

All timing uses ``time.perf_counter_ns``. Statistics are medians (these machines are noisy) and
nearest-rank percentiles. Results go to ``bench/results/<name>.json`` (gitignored).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"


# -- timing ----------------------------------------------------------------------------------


@dataclass
class Check:
    """One line of the summary table."""

    bench: str
    measurement: str
    value: str
    target: str = ""
    passed: bool | None = None  # None: information only

    @property
    def result(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "FAIL")

    def to_dict(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "measurement": self.measurement,
            "value": self.value,
            "target": self.target or None,
            "result": self.result or None,
        }


def make_workdir(prefix: str, parent: Path | None) -> Path:
    """A fresh temporary folder for one run (inside ``parent`` when given)."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    import tempfile

    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def run_header(args: Any) -> dict[str, Any]:
    """What every results file starts with: machine, source, command and configuration."""
    return {
        "machine": machine_info(),
        "source": source_info(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }


def report(
    name: str,
    results: dict[str, Any],
    checks: Sequence[Check],
    *,
    strict: bool,
    value_header: str = "MEDIAN",
) -> int:
    """Print the summary table, write the JSON results, and return the exit code."""
    print_table(
        ["BENCH", "MEASUREMENT", value_header, "TARGET", "RESULT"],
        [[c.bench, c.measurement, c.value, c.target, c.result] for c in checks],
    )
    path = write_results(name, results)
    failed = [c for c in checks if c.passed is False]
    print(f"\n{len(failed)} target(s) missed; took {results['duration_s']} s; results in {path}")
    return 1 if failed and strict else 0


def now_ns() -> int:
    return time.perf_counter_ns()


def time_call(fn: Callable[[], object]) -> int:
    """Nanoseconds taken by one call of ``fn``."""
    start = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - start


def run_wall_ns(cmd: Sequence[str], *, env: dict[str, str] | None = None) -> int:
    """Wall time of a whole process (start-up included), stdout to /dev/null.

    stderr is captured so that a failing command stops the benchmark with its message instead
    of producing a meaningless number.
    """
    start = time.perf_counter_ns()
    proc = subprocess.run(
        list(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=env, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter_ns() - start
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err}")
    return elapsed


def bytecode_env(cache_dir: Path) -> dict[str, str]:
    """The environment with Python's bytecode cache on, kept in ``cache_dir``.

    An installed ``ta`` has its ``.pyc`` files; a sandbox that sets ``PYTHONDONTWRITEBYTECODE``
    would make every run recompile our modules from source. ``PYTHONPYCACHEPREFIX`` keeps the
    cache out of the source tree.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache_dir)
    return env


def bytecode_disabled() -> bool:
    """Whether this environment stops Python from writing ``.pyc`` files."""
    return bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))


# -- statistics ------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def p99(values: Sequence[float]) -> float:
    return percentile(values, 99)


def summarize_ns(values: Sequence[int]) -> dict[str, float]:
    """Median, p99, min, max and count of nanosecond samples (values stay in ns)."""
    return {
        "median_ns": median(values),
        "p99_ns": p99(values),
        "min_ns": float(min(values)),
        "max_ns": float(max(values)),
        "n": len(values),
    }


# -- formatting ------------------------------------------------------------------------------


def fmt_ns(ns: float) -> str:
    """A duration with a readable unit: ``812 µs``, ``41.3 ms``, ``1.27 s``."""
    if ns < 1_000_000:
        return f"{ns / 1_000:.0f} µs" if ns >= 100_000 else f"{ns / 1_000:.1f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f} ms"
    return f"{ns / 1_000_000_000:.2f} s"


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.1f}×"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, with a rule under the header."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    print(format_table(headers, rows), flush=True)


def log(message: str) -> None:
    """Progress on stderr, so the table on stdout stays clean."""
    print(message, file=sys.stderr, flush=True)


# -- results ---------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def source_info() -> dict[str, Any]:
    """The commit measured, and whether ``src/`` had uncommitted changes."""

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(
                ["git", *args], cwd=BENCH_DIR.parent, capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return None
        return proc.stdout.rstrip("\n")  # not strip(): porcelain lines start with a space

    changed = git("status", "--porcelain", "--", "src")
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "src_changed": None if changed is None else [line[3:] for line in changed.splitlines()],
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
