"""Launching the agent: under a pseudo-terminal (``pty``), with pipes (``pipe``), or with output
going only to the recording (``log``). The agent always gets its own process group, so pause,
resume and abort reach every process it started.

Input for the agent waits in a bounded queue (``MAX_PENDING_INPUT``) while the agent does not
read it: more is refused with ``InputFull`` rather than held without limit.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ta_session.model import OutputStream
from ta_session.model.config import CaptureMode
from ta_session.model.errors import TaError

_PR_SET_PDEATHSIG = 1
READ_CHUNK = 1 << 16
MAX_PENDING_INPUT = 1 << 20  # bytes of input waiting for an agent that does not read it


class LaunchError(TaError):
    """The agent could not be started; the message is for the human."""


class InputFull(TaError):
    """The agent is not reading its input and the queue for it is full; nothing was queued."""


# Signals the host (or Python itself) ignores. An ignored signal stays ignored across exec, so
# without a reset the agent and everything it starts would ignore Ctrl-C (SIGINT), the SIGHUP
# that ends it when the host dies, and SIGPIPE.
_RESET_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ)


def _die_with_host() -> None:
    """In the child: default signal dispositions, and if the host dies (even by SIGKILL), the
    agent gets SIGHUP, not orphaned."""
    for sig in _RESET_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGHUP)


@dataclass
class AgentProcess:
    pid: int
    mode: CaptureMode
    input_fd: int | None
    outputs: dict[int, OutputStream] = field(default_factory=dict)
    _pty: object | None = None
    _popen: subprocess.Popen[bytes] | None = None
    exit_code: int | None = None
    pending: bytearray = field(default_factory=bytearray)  # input the agent has not taken yet

    @classmethod
    def launch(
        cls,
        argv: Sequence[str],
        *,
        mode: CaptureMode,
        cwd: str,
        env: Mapping[str, str],
        cols: int,
        rows: int,
    ) -> AgentProcess:
        if not argv:
            raise LaunchError("no agent command to run")
        if not os.path.isdir(cwd):
            raise LaunchError(f"the staging workspace {cwd} does not exist")
        if mode is CaptureMode.PTY:
            return cls._launch_pty(argv, cwd, env, cols, rows)
        return cls._launch_pipes(argv, mode, cwd, env)

    @classmethod
    def _launch_pty(
        cls, argv: Sequence[str], cwd: str, env: Mapping[str, str], cols: int, rows: int
    ) -> AgentProcess:
        from ptyprocess import PtyProcess

        try:
            proc = PtyProcess.spawn(
                list(argv),
                cwd=cwd,
                env=dict(env),
                dimensions=(rows, cols),
                preexec_fn=_die_with_host,
            )
        except FileNotFoundError:
            raise LaunchError(f"command not found: {argv[0]}") from None
        except OSError as exc:
            raise LaunchError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
        os.set_blocking(proc.fd, False)
        return cls(proc.pid, CaptureMode.PTY, proc.fd, {proc.fd: OutputStream.STD_OUT}, _pty=proc)

    @classmethod
    def _launch_pipes(
        cls, argv: Sequence[str], mode: CaptureMode, cwd: str, env: Mapping[str, str]
    ) -> AgentProcess:
        try:
            popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_die_with_host,
            )
        except FileNotFoundError:
            raise LaunchError(f"command not found: {argv[0]}") from None
        except OSError as exc:
            raise LaunchError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
        assert popen.stdin and popen.stdout and popen.stderr
        outputs = {
            popen.stdout.fileno(): OutputStream.STD_OUT,
            popen.stderr.fileno(): OutputStream.STD_ERR,
        }
        for fd in (*outputs, popen.stdin.fileno()):
            os.set_blocking(fd, False)
        return cls(popen.pid, mode, popen.stdin.fileno(), outputs, _popen=popen)

    def write(self, data: bytes) -> int:
        """Write what the agent's input takes now; return how many bytes (0 if it is full)."""
        if self.input_fd is None:
            return 0
        try:
            return os.write(self.input_fd, data)
        except BlockingIOError:
            return 0
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EPIPE, errno.EBADF):
                self.input_fd = None  # the agent closed its input; drop what is typed
                self.pending.clear()
                return len(data)
            raise

    def send(self, data: bytes) -> None:
        """Write ``data`` now as far as the agent takes it, queue the rest, in order.

        Raises ``InputFull`` (and queues nothing) when the queue would pass
        ``MAX_PENDING_INPUT``: an agent that does not read must not make the host hold input
        without limit.
        """
        if self.input_fd is None:
            return  # the agent closed its input (or has none): what is typed goes nowhere
        if self.pending:
            if len(self.pending) + len(data) > MAX_PENDING_INPUT:
                raise InputFull(
                    f"the agent is not reading its input ({len(self.pending)} bytes are "
                    "waiting); nothing more is accepted until it does"
                )
            self.pending += data
            return
        written = self.write(data)
        if written < len(data):
            if len(data) - written > MAX_PENDING_INPUT:
                raise InputFull(
                    f"too much input at once ({len(data)} bytes; the agent took {written})"
                )
            self.pending += data[written:]

    def flush_input(self) -> None:
        """Write what is queued as far as the agent takes it (call when its input is writable)."""
        if self.pending:
            written = self.write(bytes(self.pending[:READ_CHUNK]))
            del self.pending[:written]

    def read(self, fd: int) -> bytes | None:
        """Output waiting on ``fd``: None if there is none now, b"" at its end.

        A pty hands over at most 4 KiB per read (its line discipline's buffer), so a busy agent
        would otherwise cost one recording event, one frame and one send per client for every
        4 KiB. Taking what is already there relays it in one batch (bench/bench_host.py: 1.5
        to 1.8 times the throughput). It never waits: the first read that finds nothing, the
        end of the output or an error ends the batch, and the next call sees that end or error.
        """
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return None
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: the pty's other side is closed
                raise
            return b""
        if not data or len(data) >= READ_CHUNK:
            return data
        parts, size = [data], len(data)
        while size < READ_CHUNK:
            try:
                more = os.read(fd, READ_CHUNK - size)
            except OSError:
                break
            if not more:
                break
            parts.append(more)
            size += len(more)
        return data if len(parts) == 1 else b"".join(parts)

    def resize(self, cols: int, rows: int) -> None:
        if self._pty is not None:
            with contextlib.suppress(OSError):
                self._pty.setwinsize(rows, cols)  # type: ignore[attr-defined]

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def poll(self) -> int | None:
        """The exit code once the agent has exited (128+N for death by signal N), else None."""
        if self.exit_code is not None:
            return self.exit_code
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.exit_code = -1
            return self.exit_code
        if pid == 0:
            return None
        self.exit_code = os.waitstatus_to_exitcode(status)
        if self.exit_code < 0:
            self.exit_code = 128 - self.exit_code
        if self._popen is not None:
            self._popen.returncode = self.exit_code
        return self.exit_code

    def close(self) -> None:
        """Release our descriptors and make sure nothing of the agent's group survives."""
        self.signal_group(signal.SIGKILL)
        if self._popen is not None:
            for stream in (self._popen.stdin, self._popen.stdout, self._popen.stderr):
                with contextlib.suppress(OSError):
                    stream.close()  # type: ignore[union-attr]
        elif self._pty is not None:
            with contextlib.suppress(OSError):
                os.close(self._pty.fd)  # type: ignore[attr-defined]
            self._pty.closed = True  # type: ignore[attr-defined]  # we closed its fd ourselves
        self.outputs.clear()
        self.input_fd = None
        self.pending.clear()
