"""The demonstration agent: a short script that behaves like a coding agent.

It is clearly labelled as a demonstration (it is not an AI): it prints progress, asks the human
a question and waits for the answer, edits files in its workspace, and exits.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

QUESTION = "? Should I also add a test for add()? [y/n] "
FIXED_CALC = '''"""A tiny calculator."""


def add(a: int, b: int) -> int:
    return a + b


def sub(a: int, b: int) -> int:
    return a - b
'''
TEST = """from calc import add


def test_add() -> None:
    assert add(2, 3) == 5
"""


def say(text: str, pause: float) -> None:
    print(text, flush=True)
    time.sleep(pause)


def main() -> int:
    pause = float(sys.argv[1]) if len(sys.argv) > 1 else 0.4
    say("\x1b[1;35m[demo agent]\x1b[0m scripted demonstration — not an AI", pause)
    say("Reading the project…", pause)
    calc = Path("calc.py")
    if not calc.exists():
        say("calc.py not found: nothing to do.", 0)
        return 1
    say("Found a bug: add() subtracts instead of adding.", pause)
    sys.stdout.write(QUESTION)
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    say(f"Answer received: {answer or '(none)'}", pause)
    calc.write_text(FIXED_CALC)
    say("Fixed add() in calc.py.", pause)
    if answer.startswith("y"):
        Path("test_calc.py").write_text(TEST)
        say("Added test_calc.py.", pause)
    Path("NOTES.md").write_text("# Demo notes\n\nThe demo agent fixed add().\n")
    say("Wrote NOTES.md. Done — exiting.", 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
