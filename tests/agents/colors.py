"""Test agent: prints coloured and plain text, then exits."""

import time

print("\x1b[31mRED-TEXT\x1b[0m plain-text", flush=True)
time.sleep(0.05)
print("\x1b[1;32mGREEN-BOLD\x1b[0m done", flush=True)
