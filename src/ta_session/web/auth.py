"""Who may use ``ta serve``: the token, the hosts and origins it answers, the client's id.

Every request and every WebSocket needs the token: in an ``Authorization: Bearer`` header
(scripts), or in the ``ta_token`` cookie the page gets when it is first opened with
``/?token=…`` (the browser then drops the token from its address bar). A request whose
``Host`` is not one the server answers to is refused (DNS rebinding), and so is a WebSocket or a
state-changing request whose ``Origin`` is another site's (cross-site requests).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ta_session.model.errors import TaError
from ta_session.store.atomic import atomic_write

TOKEN_COOKIE = "ta_token"
CLIENT_COOKIE = "ta_client"
DEFAULT_TOKEN_FILE = "web-token"  # under .ta/
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TokenError(TaError):
    """The token file cannot be read or written."""


def load_token(path: Path, *, rotate: bool = False) -> str:
    """The token stored at ``path`` (mode 0600), made and stored first if there is none (or
    if ``rotate``). A file that is readable by others is refused: the token would be known."""
    if not rotate:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise TokenError(f"cannot read the token file {path}: {exc.strerror}") from None
        else:
            if mode & 0o077:
                raise TokenError(
                    f"the token file {path} can be read by others (mode {mode & 0o777:o});"
                    f" 'chmod 600 {path}' or start with --rotate-token"
                )
            token = path.read_text(encoding="utf-8").strip()
            if len(token) >= 16:
                return token
    token = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, (token + "\n").encode(), mode=0o600)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise TokenError(f"cannot write the token file {path}: {exc.strerror}") from None
    return token


def tokens_equal(given: str | None, token: str) -> bool:
    """Compare in constant time (no timing leak of how much of a guess was right)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Access:
    """The token and the names this server answers to (``host:port`` as a browser sends
    them in ``Host`` and ``Origin``); ``any_host`` when bound beyond loopback."""

    token: str
    hosts: set[str] = field(default_factory=set)
    any_host: bool = False
    secure: bool = False  # served over TLS: cookies get the Secure flag

    @classmethod
    def for_bind(cls, token: str, host: str, port: int, *, secure: bool = False) -> Access:
        if is_loopback(host):
            names = {"127.0.0.1", "localhost", "[::1]"}
            if host not in ("127.0.0.1", "localhost", "::1"):
                names.add(host)
            return cls(token, {f"{n}:{port}" for n in names}, secure=secure)
        return cls(token, set(), any_host=True, secure=secure)

    def host_allowed(self, host: str) -> bool:
        return self.any_host or host in self.hosts

    def origin_allowed(self, origin: str, host: str) -> bool:
        """The page's own origin: same host and port as the request, which we answer to."""
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        return parts.netloc == host and self.host_allowed(parts.netloc)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header: as if there were none
        return {}
    return {k: m.value for k, m in jar.items()}


def client_id_of(scope: Scope) -> str:
    """The id the guard gave this client (``web:<client-id>`` is its channel id)."""
    return str(scope.get("state", {}).get("client_id", "api"))


class Guard:
    """ASGI middleware in front of the whole app: Host, token, Origin; then the client id."""

    def __init__(self, app: ASGIApp, access: Access):
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        websocket = scope["type"] == "websocket"
        if not self.access.host_allowed(host):
            message = f"this server does not answer to {host!r}"
            await self._refuse(scope, receive, send, 403, message)
            return
        cookies = _cookies(headers)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        from_query = (query.get("token") or [None])[0]
        authorization = headers.get("authorization", "")
        bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
        by_cookie = tokens_equal(cookies.get(TOKEN_COOKIE), self.access.token)
        if not (by_cookie or tokens_equal(bearer, self.access.token)
                or tokens_equal(from_query, self.access.token)):  # fmt: skip
            message = "a valid token is required (open the URL 'ta serve' printed)"
            await self._refuse(scope, receive, send, 401, message)
            return
        origin = headers.get("origin")
        changes = websocket or scope["method"] not in SAFE_METHODS
        if changes:
            if origin is not None and not self.access.origin_allowed(origin, host):
                await self._refuse(scope, receive, send, 403,
                                   f"requests from {origin!r} are not accepted")  # fmt: skip
                return
            if origin is None and by_cookie and bearer is None:
                # A browser always sends Origin with these; a cookie without it is not the page.
                await self._refuse(scope, receive, send, 403, "an Origin header is required")
                return
        client = cookies.get(CLIENT_COOKIE, "")
        known = client.isalnum() and 4 <= len(client) <= 32
        if not known:
            client = headers.get("x-ta-client", "")
            if not (client.replace("-", "").isalnum() and 1 <= len(client) <= 32):
                client = "api"
        scope.setdefault("state", {})["client_id"] = client
        if from_query is not None and not websocket and scope["path"] == "/":
            await self._welcome_browser(send, client if known else secrets.token_hex(4))
            return
        await self.app(scope, receive, send)

    async def _welcome_browser(self, send: Send, client: str) -> None:
        """First visit with ``?token=``: keep the token in a cookie, and send the browser to the
        same page without it (out of the address bar, history and any copied link)."""
        secure = "; Secure" if self.access.secure else ""
        cookies = [
            f"{TOKEN_COOKIE}={self.access.token}; Path=/; HttpOnly; SameSite=Strict{secure}",
            f"{CLIENT_COOKIE}={client}; Path=/; SameSite=Strict; Max-Age=31536000{secure}",
        ]
        headers = [(b"location", b"/"), (b"cache-control", b"no-store"),
                   (b"content-length", b"0")]  # fmt: skip
        headers += [(b"set-cookie", c.encode()) for c in cookies]
        await send({"type": "http.response.start", "status": 303, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int,
                      message: str) -> None:  # fmt: skip
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            # Refused before the handshake completes: the browser sees a failed connection.
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        import json

        body = json.dumps({"error": message}).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        ]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})
