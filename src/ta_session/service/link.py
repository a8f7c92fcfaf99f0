"""Reaching a session's live host: the one place that asks it anything.

Every channel's request goes through ``HostLink.ask``: it answers ``None`` when no host is
running (so the caller can act on the files itself, under the session's lock) and turns the
host's refusals and disappearances into ``ServiceError``s with the same wording on every path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from ta_session.model import HumanInput
from ta_session.service.errors import ServiceError

if TYPE_CHECKING:
    from ta_session.channels.client import HostClient
from ta_session.store import Project


class HostLink:
    def __init__(self, project: Project, channel_id: str):
        self.project = project
        self.channel_id = channel_id

    def is_live(self, sid: UUID) -> bool:
        """A host runs the session: its record says so, or it holds the session's host lock
        (a host that is starting has no record yet; a dead host's lock is free)."""
        from ta_session.host.runfiles import host_is_running

        return self.project.host_status(sid, True).live or host_is_running(self.project, sid)

    def connect(self, sid: UUID, **options: Any) -> HostClient | None:
        """A connection to the session's host, or None when no host is running."""
        from ta_session.channels.client import HostClient, HostUnavailable  # not for listings

        status = self.project.host_status(sid, True)
        if not status.live or not status.socket:
            return None
        try:
            return HostClient.connect(status.socket, channel_id=self.channel_id, **options)
        except HostUnavailable:
            return None

    def ask(self, sid: UUID, message: HumanInput | dict[str, Any]) -> dict[str, Any] | None:
        """Send one request; the host's reply, or None when there is no live host."""
        from ta_session.channels.client import HostRequestError, HostUnavailable

        client = self.connect(sid)
        if client is None:
            return None
        with client:
            try:
                return client.request(message)
            except (HostRequestError, HostUnavailable) as exc:
                raise ServiceError(f"Session {str(sid)[:8]}: {exc}") from None
