"""Test agent: prints a banner, waits for a line on stdin, then prints TOTAL bytes as numbered
64-byte lines (``L000000042 xxx…``) as fast as it can, then exits at the next line on stdin
(so that a test decides when the session ends).

The numbers let a reader check that what it received is in order, without duplicates, and
complete up to the end. Usage: flood.py TOTAL_BYTES
"""

import os
import sys

total = int(sys.argv[1])
print("FLOOD ready", flush=True)
sys.stdin.readline()
count = total // 64
pad = "x" * 53
BLOCK = 1024
for start in range(0, count, BLOCK):
    block = "".join(f"L{i:09d} {pad}\n" for i in range(start, min(start + BLOCK, count)))
    data = memoryview(block.encode())
    while data:
        data = data[os.write(1, data) :]
sys.stdin.readline()
