"""Test agent for terminal behaviour: prints its window size (``SIZE <cols>x<rows>``) at start
and whenever it changes (SIGWINCH), then reads single bytes in cbreak mode and prints each as
``KEY <hex>``; ``q`` ends it. Ctrl-C (SIGINT) prints ``caught SIGINT`` and exits with code 3."""

import os
import signal
import termios
import tty


def show_size(*_: object) -> None:
    size = os.get_terminal_size(0)
    os.write(1, f"SIZE {size.columns}x{size.lines}\r\n".encode())


def on_sigint(*_: object) -> None:
    termios.tcsetattr(0, termios.TCSANOW, saved)
    os.write(1, b"caught SIGINT\r\n")
    os._exit(3)


saved = termios.tcgetattr(0)
signal.signal(signal.SIGWINCH, show_size)
signal.signal(signal.SIGINT, on_sigint)
tty.setcbreak(0)
show_size()
os.write(1, b"TTYPROBE ready\r\n")
while True:
    try:
        key = os.read(0, 1)
    except InterruptedError:
        continue
    if not key:
        break
    os.write(1, f"KEY {key.hex()}\r\n".encode())
    if key == b"q":
        break
termios.tcsetattr(0, termios.TCSANOW, saved)
