"""Test agent: starts two children and writes ``<agent pid> <child pid> <stubborn pid>`` to
the file named by argv[1]. The stubborn child ignores SIGHUP and SIGTERM, so only SIGKILL ends
it. Then it waits (reading stdin) until killed."""

import os
import signal
import subprocess
import sys


def ignore_polite_signals() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


child = subprocess.Popen(["sleep", "300"])
stubborn = subprocess.Popen(["sleep", "301"], preexec_fn=ignore_polite_signals)
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    f.write(f"{os.getpid()} {child.pid} {stubborn.pid}\n")
os.replace(tmp, sys.argv[1])
print("SPAWNED", flush=True)
for _line in sys.stdin:
    pass
signal.pause()
