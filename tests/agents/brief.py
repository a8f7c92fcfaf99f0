"""Test agent: prints ``BRIEF working``, waits DELAY seconds (argv[1], default 0.3), prints
``BRIEF done`` and exits with code 0 without reading any input."""

import sys
import time

print("BRIEF working", flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0.3)
print("BRIEF done", flush=True)
