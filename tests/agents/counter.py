"""Test agent: prints ``tick N`` every INTERVAL seconds (default 0.05) until killed."""

import sys
import time

interval = float(sys.argv[1]) if len(sys.argv) > 1 else 0.05
n = 0
while True:
    print(f"tick {n}", flush=True)
    n += 1
    time.sleep(interval)
