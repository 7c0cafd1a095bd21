"""Who may drive the playground: the ``Host`` and ``Origin`` checks, and bodies read only up to their limit.

Browsers let any web page open a WebSocket to ``ws://127.0.0.1:8765`` and POST to it: the same-origin
policy hides the answers of plain HTTP requests, not the requests, and does not apply to WebSockets at
all. Two headers the page cannot forge tell such a request apart:

* ``Origin`` (sent by browsers with every WebSocket handshake and every POST) must be the page's own
  (``http://`` + the ``Host`` it asked for) or one given with ``--allow-origin``; ``null`` (a sandboxed
  frame, a ``file:`` page) and every other origin get 403. A request without ``Origin`` is not from a
  web page (curl, a script, a test client) and is served.
* ``Host`` must name the server as this machine does: ``localhost``, ``127.0.0.1``, ``[::1]``, the
  ``--host`` it serves on, or the host of an ``--allow-origin``. Anything else gets 400: that is DNS
  rebinding, a site whose name was made to resolve to 127.0.0.1 so that its page counts as same-origin.

A refused WebSocket is refused at the handshake (an HTTP answer instead of the upgrade, through ASGI's
denial-response extension), so no message of it is ever read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from annrl.errors import InputError

LOOPBACK = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}


class BodyTooLarge(InputError):
    """A request body over its limit (answered 413): found from ``Content-Length`` or while streaming."""

    status_code = 413


def parse_origin(text: str, field: str = "--allow-origin") -> str:
    """``text`` as an origin ``scheme://host[:port]`` (lower case, default port dropped), or one InputError line."""
    rule = "an origin such as http://localhost:3000 (scheme://host[:port], no path)"
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise InputError.invalid(field, rule, text) from None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password \
            or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InputError.invalid(field, rule, text)
    return _origin(parts.scheme.lower(), parts.hostname, port)


def _origin(scheme: str, host: str, port: int | None) -> str:
    name = f"[{host}]" if ":" in host else host
    return f"{scheme}://{name}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{name}:{port}"


def split_host(header: str) -> tuple[str, int | None] | None:
    """``(name, port)`` of a ``Host`` header (``"[::1]:8765"`` -> ``("::1", 8765)``), or None if malformed."""
    try:
        parts = urlsplit(f"//{header}")
        return (parts.hostname or "", parts.port) if parts.hostname and not parts.path else None
    except ValueError:
        return None


class Guard:
    """ASGI middleware: requests with a foreign ``Host`` get 400; WebSockets and POSTs from a foreign ``Origin`` 403.

    Parameters
    ----------
    app : ASGI app
        The playground.
    host : str
        The address the server was started with (``--host``): a name requests may use besides the loopback ones.
    allow_origins : iterable of str
        Origins of other pages that may drive the playground (``--allow-origin``); their hosts are served too.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", allow_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.origins = frozenset(parse_origin(origin) for origin in allow_origins)
        self.hosts = frozenset([*LOOPBACK, host.strip("[]").lower(), *(urlsplit(o).hostname for o in self.origins)])

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        refusal = self.refusal(scope) if scope["type"] in ("http", "websocket") else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, reason = refusal
        answer = PlainTextResponse(reason + "\n", status_code=status)
        if scope["type"] == "http":
            await answer(scope, receive, send)
        elif "websocket.http.response" in scope.get("extensions", {}):
            await answer(scope, receive, send)  # the handshake is answered with this instead of 101
        else:  # a server without denial responses answers a close before accept with 403
            await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})

    def refusal(self, scope: Any) -> tuple[int, str] | None:
        """``(status, one line)`` if the request must be refused, else None."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        where = split_host(host)
        if where is None or where[0].lower() not in self.hosts:
            names = ", ".join(sorted(f"[{name}]" if ":" in name else name for name in self.hosts - {""}))
            return 400, (f"Host {host!r} is not served: the playground answers only to {names} "
                         "(a guard against DNS rebinding; to use another address, start it with --host ADDRESS "
                         "or --allow-origin http://NAME:PORT)")
        if scope["type"] == "http" and scope["method"] in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is None or self.allowed(origin, scope, where):
            return None
        own = self.own_origin(scope, where)
        return 403, (f"Origin {origin!r} may not drive the playground: only its own page ({own}) "
                     "or an origin given with --allow-origin may")

    def allowed(self, origin: str, scope: Any, where: tuple[str, int | None]) -> bool:
        try:
            normal = parse_origin(origin, "Origin")
        except InputError:  # "null", garbage
            return False
        return normal == self.own_origin(scope, where) or normal in self.origins

    @staticmethod
    def own_origin(scope: Any, where: tuple[str, int | None]) -> str:
        """The origin of the page this request asked for: its scheme and its (checked) ``Host``."""
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        return _origin(scheme, where[0].lower(), where[1])


async def read_body(request: Request, limit: int, what: str) -> bytes:
    """The request's body, refused (:class:`BodyTooLarge`) as soon as it passes ``limit`` bytes.

    A ``Content-Length`` over the limit is refused before a byte is read; a body without one (chunked)
    is counted as it streams in, so at most one chunk past ``limit`` is ever held.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"{what} is {int(declared):,} bytes; the limit is {limit:,}", field=what)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"{what} is over {limit:,} bytes, the limit", field=what)
    return bytes(body)
