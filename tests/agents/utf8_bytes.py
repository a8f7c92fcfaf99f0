"""Test agent: waits for a line ``go``, then writes the bytes of "é✓🎉" one byte at a time
(flushing, with small sleeps, so they arrive in separate reads), then the non-UTF-8 bytes
FF FE, then ``END`` and exits."""

import os
import sys
import time

print("UTF8-AGENT ready", flush=True)
for line in sys.stdin:
    if line.strip() == "go":
        break
out = sys.stdout.buffer
out.write(b"<")
out.flush()
for byte in "é✓🎉".encode():
    out.write(bytes([byte]))
    out.flush()
    time.sleep(0.03)
out.write(b">[")
out.flush()
time.sleep(0.03)
os.write(1, b"\xff")
time.sleep(0.03)
os.write(1, b"\xfe")
time.sleep(0.03)
out.write(b"]\nEND\n")
out.flush()
