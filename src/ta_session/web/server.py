"""Running ``ta serve``: check where it may listen, get the token, bind, print the URL, serve."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ta_session.model.errors import TaError
from ta_session.web import assets
from ta_session.web.auth import DEFAULT_TOKEN_FILE, Access, is_loopback, load_token


class ServeError(TaError):
    """``ta serve`` cannot start as asked; the message says why and what to do."""


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    token_file: Path | None = None  # default .ta/web-token
    rotate_token: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    exposed: bool = False  # --i-know-this-is-exposed
    open_browser: bool = False


def check_bind(options: ServeOptions) -> None:
    """Loopback by default; beyond it only over TLS, or when the person says they know."""
    if bool(options.tls_cert) != bool(options.tls_key):
        raise ServeError("give both --tls-cert and --tls-key, or neither")
    if is_loopback(options.host) or options.tls_cert or options.exposed:
        return
    raise ServeError(
        f"refusing to serve on {options.host}, which is reachable from other machines, without"
        " TLS: anyone on the network could read the token and the sessions. Use --tls-cert and"
        " --tls-key, or --i-know-this-is-exposed if the network is private"
    )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


def serve(root: Path, options: ServeOptions, say: Callable[[str], None] = print) -> None:
    """Serve until interrupted. The only line that shows the token is the URL printed here."""
    import uvicorn

    from ta_session.web.app import create_app

    check_bind(options)
    missing = assets.missing_vendor()
    if missing:
        raise ServeError(
            f"the page's browser code is not installed ({missing[0]} …): run"
            " 'bash scripts/web_assets.sh' (needs npm) or install a built wheel"
        )
    token_path = options.token_file or root / ".ta" / DEFAULT_TOKEN_FILE
    token = load_token(token_path, rotate=options.rotate_token)
    sock = bind(options.host, options.port)
    port = sock.getsockname()[1]
    secure = options.tls_cert is not None
    access = Access.for_bind(token, options.host, port, secure=secure)
    app = create_app(root, access, actor=f"web-token:{token_path.name}")
    scheme = "https" if secure else "http"
    url = f"{scheme}://{url_host(options.host)}:{port}/"
    say(f"ta serve: {url}?token={token}")
    say(f"Serving {root} (API documentation: {url}docs). Stop with Ctrl-C.")
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,  # request lines would carry ?token= on the first visit
        ws_max_size=1 << 20,
        # No permessage-deflate: it compressed every viewer's copy of the output separately
        # (20 viewers, 20 compressions of the same bytes), most of what viewers cost the CPU.
        ws_per_message_deflate=False,
        ws_ping_interval=20,
        lifespan="off",
        timeout_graceful_shutdown=2,
        ssl_certfile=str(options.tls_cert) if options.tls_cert else None,
        ssl_keyfile=str(options.tls_key) if options.tls_key else None,
    )
    server = uvicorn.Server(config)
    if options.open_browser:
        import threading
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(f"{url}?token={token}",)).start()
    server.run(sockets=[sock])
