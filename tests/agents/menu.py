"""Test agent drawing a permission menu as Ink apps do: lines ended with ``\r\r\n``, words
placed with cursor moves (no spaces written), a redraw over an erased frame. Then it waits."""

import os
import sys

ESC = "\x1b"
words = ["Do", "you", "want", "to", "proceed?"]
frame = "Do" + "".join(f"{ESC}[1C{w}" for w in words[1:])
out = "Working…\r\r\n" + f"{ESC}[2K{ESC}[1A{ESC}[2K{ESC}[G"  # erase that frame
out += f"{ESC}[38;5;244m│{ESC}[39m {frame}\r\r\n"
out += f"{ESC}[38;5;244m│{ESC}[39m {ESC}[33m❯{ESC}[39m 1.{ESC}[1CYes\r\r\n"
out += f"{ESC}[38;5;244m│{ESC}[39m{ESC}[3C2.{ESC}[1CNo\r\r\n"
os.write(1, out.encode())
sys.stdin.read()
