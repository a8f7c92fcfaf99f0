"""Test agent that queries its terminal as TUIs do at start (cursor position, DA2, XTVERSION),
then reads its input raw and appends every byte it receives to the file named by argv[1]
(the replies of the terminal that was attached when it asked, and later keys)."""

import os
import sys
import tty

log = sys.argv[1]
tty.setraw(0)
os.write(1, b"\x1b[6n\x1b[>c\x1b[>0qQUERIER ready\r\n")
while True:
    data = os.read(0, 1024)
    if not data:
        break
    with open(log, "ab") as handle:
        handle.write(data)
    if b"q" in data:
        break
