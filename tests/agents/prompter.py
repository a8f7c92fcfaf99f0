"""Test agent: prints some lines, then a question ``Proceed? [y/n]`` and waits for input."""

import sys

print("PROMPTER working", flush=True)
sys.stdout.write("Proceed? [y/n] ")
sys.stdout.flush()
answer = sys.stdin.readline().strip()
print(f"answer: {answer}", flush=True)
