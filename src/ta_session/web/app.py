"""The ``ta serve`` application: the API routes, the two WebSockets, the page, behind the guard.

``create_app(root, access)`` returns an ASGI app; ``server.py`` runs it with uvicorn.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from ta_session.channels.client import HostClient
from ta_session.model.errors import TaError
from ta_session.service.link import HostLink
from ta_session.store import Project
from ta_session.web import assets
from ta_session.web.api import BadRequest, Endpoint, parse_body, parse_query, status_for
from ta_session.web.auth import Access, ASGIApp, Guard, client_id_of
from ta_session.web.events import ListWatcher
from ta_session.web.feed import FEED_CHANNEL, Feeds
from ta_session.web.listing import Listing
from ta_session.web.openapi import document
from ta_session.web.routes import ENDPOINTS, Caller, RawJSON, Titles
from ta_session.web.terminal import Viewer

log = logging.getLogger("ta_session.web")

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Web:
    """What the routes share: the project folder, titles already read, the list watcher."""

    def __init__(self, root: Path, actor: str):
        self.root = root
        self.actor = actor
        self.titles = Titles()
        self.listing = Listing(self.titles.get)
        self.watcher = ListWatcher(lambda: self.listing.text(Project(self.root), True))
        self.feeds = Feeds()

    def caller(self, client_id: str) -> Caller:
        project = Project(self.root)
        project.audit.actor = self.actor
        return Caller(project, f"web:{client_id}", self.titles, self.listing)

    def route(self, endpoint: Endpoint) -> Route:
        async def handle(request: Request) -> Response:
            try:
                args: dict[str, Any] = dict(request.path_params)
                args.update(parse_query(dict(request.query_params), endpoint.query))
                if endpoint.body is not None:
                    args.update(parse_body(await request.body(), endpoint.body))
                caller = self.caller(client_id_of(request.scope))
                if endpoint.method != "GET":
                    self.listing.forget()  # before: a list built meanwhile may miss the change
                result = await run_in_threadpool(endpoint.handler, caller, **args)
                if endpoint.method != "GET":
                    self.listing.forget()  # and after: one built meanwhile may predate it
            except BadRequest as exc:
                return error(400, str(exc))
            except TaError as exc:
                return error(status_for(exc), str(exc))
            except Exception:
                log.exception("%s %s failed", endpoint.method, endpoint.path)
                return error(500, "internal error (details in the server's log)")
            if isinstance(result, RawJSON):  # encoded already (the session list)
                return Response(result.encode(), endpoint.status, media_type="application/json")
            return JSONResponse(result, status_code=endpoint.status)

        return Route(endpoint.path, handle, methods=[endpoint.method], name=endpoint.name)

    async def terminal(self, websocket: WebSocket) -> None:
        """Attach one viewer to a session's live terminal (see ``terminal.py``)."""
        caller = self.caller(client_id_of(websocket.scope))
        service = caller.sessions()
        size = None
        try:
            cols = int(websocket.query_params.get("cols", "0"))
            rows = int(websocket.query_params.get("rows", "0"))
            if 0 < cols < 1000 and 0 < rows < 1000:
                size = (cols, rows)
        except ValueError:
            pass
        await websocket.accept()
        viewer = Viewer(websocket)
        try:
            sid = await run_in_threadpool(service.resolve, websocket.path_params["session_id"])

            async def shared() -> HostClient | None:
                # The session's output connection, shared by all its viewers (terminal.py).
                link = HostLink(caller.project, FEED_CHANNEL)
                return await run_in_threadpool(link.connect, sid, role="attach", output="raw")

            feed = await self.feeds.join(sid, viewer, shared)
            client = None
            if feed is not None:
                try:
                    # The viewer's own connection: its input, size and audit, no output.
                    client = await run_in_threadpool(
                        service.link.connect, sid, role="attach", output="none", size=size
                    )
                finally:
                    if client is None:
                        feed.leave(viewer)
        except TaError as exc:
            await websocket.send_json({"type": "error", "message": str(exc)})
            await websocket.close(1000)
            return
        if feed is None or client is None:
            await websocket.send_json({"type": "closed", "reason": "the session has no live host"})
            await websocket.close(1000)
            return
        await viewer.run(feed, client)

    async def events(self, websocket: WebSocket) -> None:
        await self.watcher.serve(websocket)

    def routes(self) -> list[BaseRoute]:
        spec = document(ENDPOINTS)

        async def openapi(request: Request) -> Response:
            return JSONResponse(spec)

        def page(name: str) -> Any:
            async def serve(request: Request) -> Response:
                return FileResponse(assets.STATIC / name, headers=SECURITY_HEADERS)

            return serve

        async def vendor(request: Request) -> Response:
            path = assets.vendor_path(request.path_params["name"])
            if path is None:
                return PlainTextResponse("not found", status_code=404)
            if not path.is_file():
                return PlainTextResponse(
                    "browser code not installed: run 'bash scripts/web_assets.sh'", 503
                )
            return FileResponse(path, headers={"cache-control": "no-cache"})

        return [
            *[self.route(e) for e in ENDPOINTS],
            WebSocketRoute("/api/sessions/{session_id}/terminal", self.terminal),
            WebSocketRoute("/api/events", self.events),
            Route("/openapi.json", openapi),
            Route("/docs", page("docs.html")),
            Route("/", page("index.html")),
            Route("/vendor/{name}", vendor),
            Mount("/static", StaticFiles(directory=assets.STATIC), name="static"),
        ]


def create_app(root: Path, access: Access, *, actor: str = "web") -> ASGIApp:
    web = Web(root, actor)
    app = Starlette(routes=web.routes())
    return Guard(app, access)
