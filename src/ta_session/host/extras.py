"""What the session host does besides its loop, kept out of ``server.py`` (a small loop):
the agent socket with the agent's ``ask_human`` questions (``agent_channel``) and the
notifications when a session waits or a draft is ready (``notify``)."""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING

from ta_session.host.agent_channel import AgentChannel
from ta_session.host.notify import Notifier

if TYPE_CHECKING:
    from ta_session.host.server import SessionHost


class Extras:
    def __init__(self, host: SessionHost):
        self.host = host
        self.agents = AgentChannel(host)
        self.notifier = Notifier.for_host(host)

    def tick(self) -> None:
        self.agents.tick()  # questions past their deadline, goal_complete's grace period

    def close(self) -> None:
        """Waiting agents hear the session ended; webhooks get a moment to finish."""
        for close in (self.agents.close, self.notifier.close):
            try:
                close()
            except Exception:  # one failing must not skip the other
                self.host.log.write("error while ending the session:\n" + traceback.format_exc())
