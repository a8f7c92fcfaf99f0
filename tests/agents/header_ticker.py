"""Test agent: draws ``HEADER`` on the first row once, then overwrites row 5 with ``tick N``
every 5 ms (nothing scrolls). A line on its input asks for more:

- ``spread``: 100 kB of ticks in 8 kB bursts, each followed by a pause (the host's screen model
  catches up when the agent is quiet), then ``SPREAD DONE``;
- ``flood``: 40 MB of ticks as fast as it can, then ``FLOOD DONE``.
"""

import select
import sys
import time

out = sys.stdout
out.write("\x1b[H\x1b[2JHEADER of the screen\r\n")
out.flush()
n = 0


def burst(size: int) -> None:
    global n
    written = 0
    while written < size:
        chunk = "".join(f"\x1b[5;1Htick {n + i}" for i in range(100))
        n += 100
        out.write(chunk)
        written += len(chunk)
    out.flush()


while True:
    if select.select([sys.stdin], [], [], 0.005)[0]:
        ask = sys.stdin.readline().strip()
        if ask == "spread":
            for _ in range(13):
                burst(8_000)
                time.sleep(0.3)
            out.write("\x1b[7;1HSPREAD DONE")
        elif ask == "flood":
            burst(40_000_000)
            out.write("\x1b[7;1HFLOOD DONE")
    out.write(f"\x1b[5;1Htick {n}")
    out.flush()
    n += 1
