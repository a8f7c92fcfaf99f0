"""Test agent for ``output_capture: pipe``: writes ``out N`` to stdout and ``err N`` to stderr
every 0.1 s, for at most 60 s."""

import sys
import time

for n in range(600):
    sys.stdout.write(f"out {n}\n")
    sys.stdout.flush()
    sys.stderr.write(f"err {n}\n")
    sys.stderr.flush()
    time.sleep(0.1)
