"""Test agent: prints one line, then stays silent, waiting on stdin (each line is echoed)."""

import sys

print("QUIET started", flush=True)
for line in sys.stdin:
    print(f"got: {line.strip()}", flush=True)
