"""Test agent: waits for a line ``ask``, then prints a question ``Proceed? [y/n]`` and waits
for the answer."""

import sys

print("PROMPTER working", flush=True)
for line in sys.stdin:
    if line.strip() == "ask":
        break
sys.stdout.write("Proceed? [y/n] ")
sys.stdout.flush()
answer = sys.stdin.readline().strip()
print(f"answer: {answer}", flush=True)
