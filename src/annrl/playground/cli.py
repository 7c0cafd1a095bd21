"""``annrl playground``: serve the playground page on this machine and open it in a browser."""

from __future__ import annotations

import argparse
import ipaddress
import sys
import threading
import webbrowser
from typing import Any

from annrl.errors import InputError

DEFAULT_PORT = 8765
#: the largest WebSocket message read at all: 300 000 characters of 4-byte UTF-8, and some room
MAX_FRAME_BYTES = 4 * 300_000 + 4096


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "playground", help="a TensorFlow-Playground-like page on annrl's engine, served locally",
        description="Serve the playground on http://HOST:PORT (127.0.0.1 by default: only this machine can "
        "connect) and open it in a browser. Ctrl-C stops the server.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port (default: {DEFAULT_PORT}; 0: any free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind, and a name requests may give as Host besides localhost, 127.0.0.1 and "
                        "[::1] (default 127.0.0.1; another address exposes the page to the network)")
    parser.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                        help="a web page of another origin (scheme://host[:port], e.g. http://localhost:3000) that "
                        "may open the playground's WebSockets and POST to it; repeatable. Without it only the "
                        "playground's own page may")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--runs", default=None, metavar="DIR",
                        help="folder of saved car runs (annrl rl train --env annrl/CarTrack-v0 --out, annrl car drive "
                        "--out) that the cars tab may replay; nothing outside it is read")
    parser.set_defaults(handler=run)


def check_address(host: str, port: int) -> None:
    """Refuse a port outside 0..65535 or a host that is not an IP address or ``localhost``."""
    if not 0 <= port <= 65535:
        raise InputError.invalid("--port", "in [0, 65535]", port)
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise InputError.invalid("--host", "an IP address such as 127.0.0.1, or localhost", host) from None


def require_server() -> Any:
    """uvicorn, or an error that says how to install the playground's server."""
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as err:
        raise InputError(f"the playground needs Starlette and uvicorn ({err.name} is missing): "
                         "pip install 'annrl[playground]'") from None
    return uvicorn


def server_config(app: Any, host: str, port: int) -> Any:
    """uvicorn's settings for the playground (the tests and the benchmark serve it with these too).

    WebSocket messages over :data:`MAX_FRAME_BYTES` are refused by uvicorn (close code 1009) before they
    are buffered whole; the session's own limit (300 000 characters) then answers with a message.
    No per-message compression: the page and the server share a machine, and compressing a state's
    packed grids (which hardly shrink) cost the server ~3 ms of every ~30 ms update.
    """
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", ws="websockets-sansio",
                          ws_per_message_deflate=False, ws_max_size=MAX_FRAME_BYTES)


def run(args: argparse.Namespace) -> int:
    check_address(args.host, args.port)
    uvicorn = require_server()
    from annrl.playground import create_app

    # refuses a --runs folder that does not exist, or a malformed --allow-origin, before anything starts
    app = create_app(runs=args.runs, host=args.host, allow_origins=args.allow_origin)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"annrl: warning: serving on {args.host}: other machines can reach the playground", file=sys.stderr)
    server = uvicorn.Server(server_config(app, args.host, args.port))
    threading.Thread(target=_announce, args=(server, args), daemon=True).start()
    server.run()
    return 0


def _announce(server: Any, args: argparse.Namespace) -> None:
    """Print the address once the server listens (the real port when --port 0), then open a browser."""
    import time

    while not server.started and not server.should_exit:
        time.sleep(0.05)
    if not server.started:
        return
    port = server.servers[0].sockets[0].getsockname()[1] if server.servers else args.port
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{port}/"
    print(f"annrl playground: {url}  (Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        webbrowser.open(url)
