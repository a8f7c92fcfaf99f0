"""Test agent for replays: prints lines and terminal queries (cursor position, device
attributes) as TUIs do, one of them split between two writes, waits for one input line,
answers it and exits."""

import os
import sys
import time

print("REPLAY-ONE", flush=True)
os.write(1, b"\x1b[6n\x1b[c")
print("REPLAY-TWO", flush=True)
line = sys.stdin.readline().strip()
os.write(1, b"\x1b[6")  # a cursor position query cut in two: two events in the recording
time.sleep(0.3)
os.write(1, b"n")
print(f"REPLAY-THREE got: {line}", flush=True)
