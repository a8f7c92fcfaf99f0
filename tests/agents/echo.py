"""Test agent: prints a banner, then echoes every input line as ``got: <line>``.

``quit`` ends it (exit code 0). The banner shows the arguments and the working folder, so a
test can tell a relaunched agent from the first one and see where it runs.
"""

import os
import sys

args = sys.argv[1:]
print(f"ECHO-AGENT pid={os.getpid()} args={args!r} cwd={os.getcwd()}", flush=True)
for line in sys.stdin:
    text = line.strip()
    print(f"got: {text}", flush=True)
    if text == "quit":
        break
print("ECHO-AGENT bye", flush=True)
