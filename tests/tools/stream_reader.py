"""Test client: connects to a session host, reads its stream until ``bye`` and checks it.

Every frame is decoded strictly (a torn frame is a ``ProtocolError``). The agent's output is
checked as ``tests/agents/flood.py`` prints it: the numbered lines received must be strictly
increasing (resynchronisation may skip lines, never repeat or reorder them). Prints
``connected`` once the host welcomed it, then, at the end, one JSON line with what it saw.

Usage: stream_reader.py SOCKET raw|events
"""

from __future__ import annotations

import json
import re
import socket
import sys

from ta_session.host.wire import FrameKind, FrameReader, ProtocolError, encode_json

LINE = re.compile(rb"L(\d{9}) x{53}\r?")
FELL_BEHIND = b"[ta: output skipped, this terminal fell behind]"
SKIPPED = "output skipped: this client fell behind"


def main() -> int:
    path, output = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    hello = {"type": "hello", "protocol": 1, "role": "attach", "channel_id": "test:reader",
             "output": output, "size": [100, 30]}  # fmt: skip
    sock.sendall(encode_json(hello))
    reader = FrameReader()
    report: dict[str, object] = {
        "error": None, "bye": None, "numbers": 0, "first": None, "last": None,
        "increasing": True, "notices": 0, "output_frames": 0, "output_bytes": 0, "events": 0,
    }  # fmt: skip
    carry = b""
    welcomed = False

    def lines(data: bytes) -> None:
        nonlocal carry
        parts = (carry + data).split(b"\n")
        carry = parts.pop()
        for part in parts:
            if FELL_BEHIND in part:
                report["notices"] = int(report["notices"]) + 1  # type: ignore[call-overload]
            match = LINE.fullmatch(part)
            if match is None:
                continue
            number = int(match.group(1))
            last = report["last"]
            if isinstance(last, int) and number <= last:
                report["increasing"] = False
            if report["first"] is None:
                report["first"] = number
            report["last"] = number
            report["numbers"] = int(report["numbers"]) + 1  # type: ignore[call-overload]

    try:
        while report["bye"] is None:
            data = sock.recv(1 << 16)
            if not data:
                report["error"] = "the host closed the connection before bye"
                break
            for frame in reader.feed(data):
                if frame.kind is FrameKind.OUTPUT:
                    report["output_frames"] = int(report["output_frames"]) + 1  # type: ignore[call-overload]
                    report["output_bytes"] = int(report["output_bytes"]) + len(frame.payload)  # type: ignore[call-overload]
                    lines(frame.payload)
                    continue
                message = frame.json()
                if message.get("type") == "welcome" and not welcomed:
                    welcomed = True
                    print("connected", flush=True)
                elif message.get("type") == "bye":
                    report["bye"] = message
                elif message.get("event_type") == "agent_output":
                    report["events"] = int(report["events"]) + 1  # type: ignore[call-overload]
                    lines(str(message["content"]).encode())
                elif message.get("event_type") == "status_update" and message["message"] == SKIPPED:
                    report["notices"] = int(report["notices"]) + 1  # type: ignore[call-overload]
                elif message.get("type") == "error":
                    report["error"] = f"error from the host: {message}"
    except ProtocolError as exc:
        report["error"] = f"ProtocolError: {exc}"
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
