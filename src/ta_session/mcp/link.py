"""``AgentLink``: the MCP server's connection to its session host, over the agent socket.

It uses the host protocol's own client (``channels.client.HostClient``) with ``role: "agent"``.
Each call opens its own connection: a question waits on its connection for its
``question_closed`` message, and if the MCP server goes away mid-question, the host sees the
connection close and withdraws the question.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from ta_session.channels.client import HostClient, HostRequestError, HostUnavailable
from ta_session.host.questions import Outcome
from ta_session.model.errors import TaError

# Beyond the question's own timeout (the host's to enforce), how long we wait for its verdict.
VERDICT_MARGIN = 30.0


_OUTCOMES = frozenset(o.value for o in Outcome)


class AgentLinkError(TaError):
    """The host cannot be reached or refused the request; the message is for the agent."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a question ended: ``answered`` (with ``answer``), ``timed_out`` or ``withdrawn``."""

    question_id: str
    outcome: Outcome
    answer: str | None = None
    answered_by: str | None = None


class AgentLink:
    def __init__(self, socket_path: str, session_id: str, channel_id: str = "agent:mcp"):
        self.socket_path = socket_path
        self.session_id = session_id
        self.channel_id = channel_id

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> AgentLink:
        env = dict(os.environ if environ is None else environ)
        session_id, socket_path = env.get("TA_SESSION_ID"), env.get("TA_AGENT_SOCKET")
        if not session_id or not socket_path:
            raise AgentLinkError(
                "ta mcp serve runs inside a ta session: TA_SESSION_ID and TA_AGENT_SOCKET "
                "are set by the session host in the agent's environment"
            )
        return cls(socket_path, session_id)

    def _connect(self) -> HostClient:
        try:
            client = HostClient.connect(self.socket_path, channel_id=self.channel_id, role="agent")
        except (HostUnavailable, HostRequestError) as exc:
            raise AgentLinkError(f"cannot reach the session host: {exc}") from None
        if client.welcome.get("session_id") != self.session_id:
            client.close()
            raise AgentLinkError(
                f"the agent socket belongs to session {client.welcome.get('session_id')}, "
                f"not {self.session_id}"
            )
        return client

    def check(self) -> dict[str, Any]:
        """The host's welcome: proves the socket is there and is this session's."""
        with self._connect() as client:
            return client.welcome

    def request(self, message: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
        """One request; the host's reply (``AgentLinkError`` when refused)."""
        with self._connect() as client:
            return self._request(client, message, timeout)

    @staticmethod
    def _request(client: HostClient, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        try:
            return client.request(message, timeout=timeout)
        except HostRequestError as exc:
            raise AgentLinkError(str(exc)) from None
        except (HostUnavailable, OSError) as exc:
            raise AgentLinkError(f"the session host went away: {exc}") from None

    def ask(self, arguments: dict[str, Any]) -> Verdict:
        """Ask the human and wait for the first answer, the timeout, or the session's end."""
        with self._connect() as client:
            reply = self._request(client, {"type": "ask_human", **arguments}, 30.0)
            question_id = str(reply["question_id"])
            timeout = float(arguments.get("timeout_secs") or 600)
            deadline = time.monotonic() + timeout + VERDICT_MARGIN
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return Verdict(question_id, Outcome.TIMED_OUT)
                try:
                    message = client.next_control(remaining)
                except (HostUnavailable, OSError):
                    if time.monotonic() >= deadline:
                        return Verdict(question_id, Outcome.TIMED_OUT)
                    return Verdict(question_id, Outcome.WITHDRAWN)  # the host (the session) ended
                if (
                    message.get("type") == "question_closed"
                    and message.get("question_id") == question_id
                ):
                    outcome = message.get("outcome")
                    return Verdict(
                        question_id,
                        Outcome(outcome) if outcome in _OUTCOMES else Outcome.WITHDRAWN,
                        message.get("answer"),
                        message.get("answered_by"),
                    )
                if message.get("type") in ("bye", "error"):
                    return Verdict(question_id, Outcome.WITHDRAWN)
