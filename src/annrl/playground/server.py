"""The playground's ASGI app (Starlette): the page, its static files, a small HTTP API and two WebSockets.

======================================  ======  =================================================================
path                                    method  answer
======================================  ======  =================================================================
``/``                                   GET     the page (``static/index.html``)
``/static/...``                         GET     its scripts and styles (shipped in the package: works offline)
``/api/limits``                         GET     bounds, choices and defaults of every setup field
``/api/setup``                          POST    a setup checked: 200 with the full setup, or 422 with the error
``/api/csv``                            POST    CSV text checked and read: 200 with the points, or 422
                                                (a body over :data:`MAX_BODY` bytes: 413, read no further)
``/api/session/{sid}/export/{kind}``    GET     a download: checkpoint, torch, numpy, png, svg (``?index=``)
``/api/runs``                           GET     the saved car runs under ``--runs DIR`` (404 without one)
``/ws``                                 WS      one playground session per connection (:mod:`.live`)
``/ws/cars``                            WS      one cars run or replay per connection (:mod:`.cars_live`)
======================================  ======  =================================================================

Every request passes :class:`~annrl.playground.guard.Guard` first: a foreign ``Host`` gets 400, and a
WebSocket handshake or POST from a foreign ``Origin`` 403 (so no other web site can drive a session).
Every session lives as long as its WebSocket: a closed tab cancels its training task and frees it.
At most :data:`MAX_SESSIONS` sessions of each kind run at once; one more is refused with a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from annrl.errors import InputError
from annrl.playground.config import Setup, limits, parse_setup
from annrl.playground.datasets import parse_csv
from annrl.playground.guard import Guard, parse_origin, read_body
from annrl.playground.live import LiveSession
from annrl.userfiles import parse_json

STATIC = Path(__file__).parent / "static"
MAX_SESSIONS = 32
MAX_BODY = 300_000
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_INTERNAL_ERROR = 1011
logger = logging.getLogger(__name__)


async def page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def api_limits(request: Request) -> Response:
    return JSONResponse({**limits(), "defaults": Setup().to_dict()})


async def read_json(request: Request) -> Any:
    body = await read_body(request, MAX_BODY, "request body")
    return parse_json(body or b"null", "request body")


async def api_setup(request: Request) -> Response:
    setup = parse_setup(await read_json(request))
    return JSONResponse({"setup": setup.to_dict()})


async def api_csv(request: Request) -> Response:
    body = await read_body(request, MAX_BODY, "csv")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("CSV must be UTF-8 text", field="csv") from None
    return JSONResponse({"points": parse_csv(text).tolist()})


async def api_export(request: Request) -> Response:
    from annrl.playground.exports import KINDS, export

    live = request.app.state.sessions.get(request.path_params["sid"])
    if live is None or live.session is None:
        return JSONResponse({"error": "no such session (it ends when its tab closes)"}, status_code=404)
    kind = request.path_params["kind"]
    if kind not in KINDS:
        return JSONResponse({"error": f"export kind must be one of {sorted(KINDS)}, got {kind!r}"}, status_code=404)
    index = _index(request.query_params.get("index", "0"))
    content, media, name = await live.in_worker(export, live.session, kind, index)
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def api_runs(request: Request) -> Response:
    from annrl.playground.cars_live import NO_RUNS
    from annrl.playground.replay import find_runs

    root = request.app.state.runs_root
    if root is None:
        return JSONResponse({"error": NO_RUNS}, status_code=404)
    runs = await asyncio.to_thread(find_runs, root)
    return JSONResponse({"root": root.name, "runs": [run.describe() for run in runs]})


def _index(text: str) -> int:
    if not text.isdigit() or len(text) > 4:
        raise InputError.invalid("index", "a network number (0, 1, ...)", text)
    return int(text)


async def input_error(request: Request, err: Exception) -> Response:
    status = getattr(err, "status_code", 422)
    # 413: the rest of the body is unread; closing the connection stops the client from sending it
    headers = {"Connection": "close"} if status == 413 else None
    return JSONResponse({"error": str(err), "field": getattr(err, "field", None)}, status_code=status, headers=headers)


async def playground_socket(websocket: WebSocket) -> None:
    sessions = websocket.app.state.sessions
    await websocket.accept()
    if len(sessions) >= MAX_SESSIONS:
        await _refuse(websocket, f"the playground serves at most {MAX_SESSIONS} tabs at once; close one")
        return
    sid = secrets.token_urlsafe(12)
    live = LiveSession(sid, websocket.send_text)
    sessions[sid] = live
    try:
        await _serve(websocket, live, live.start)
    finally:
        sessions.pop(sid, None)


async def _serve(websocket: WebSocket, live: Any, start: Any = None) -> None:
    """Hand a tab's messages to ``live`` until the tab closes; then stop its background work."""
    try:
        if start is not None:
            await start()
        while True:
            await live.handle(await _receive_text(websocket))
    except WebSocketDisconnect:
        pass
    except Exception:  # a bug, not bad input (that is answered and the session goes on): say so, close cleanly
        logger.exception("playground session failed")
        with contextlib.suppress(Exception):  # the socket may be gone already; the fault is logged
            await _refuse(websocket, "the server failed on this message (a bug: see its log); reload the page",
                          code=CLOSE_INTERNAL_ERROR)
    finally:
        await live.stop()


async def _receive_text(websocket: WebSocket) -> Any:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    return message.get("text") if message.get("text") is not None else message.get("bytes")


async def _refuse(websocket: WebSocket, reason: str, code: int = CLOSE_TRY_AGAIN_LATER) -> None:
    await websocket.send_text(json.dumps({"type": "error", "message": reason, "field": None}))
    await websocket.close(code=code)


async def cars_socket(websocket: WebSocket) -> None:
    from annrl.playground.cars_live import CarsLive

    runs = websocket.app.state.cars
    await websocket.accept()
    if len(runs) >= MAX_SESSIONS:
        await _refuse(websocket, f"at most {MAX_SESSIONS} cars tabs run at once; close one")
        return
    live = CarsLive(websocket.send_text, websocket.app.state.runs_root)
    runs.add(live)
    try:
        await _serve(websocket, live)
    finally:
        runs.discard(live)


def create_app(runs: str | Path | None = None, *, host: str = "127.0.0.1",
               allow_origins: Iterable[str] = ()) -> Starlette:
    """The playground app; ``app.state.sessions`` maps session ids to the live tabs.

    ``runs`` is the folder whose saved car runs the cars tab may replay (checked here: it must exist).
    ``host`` (``--host``) is a name requests may address besides localhost, 127.0.0.1 and [::1];
    ``allow_origins`` (``--allow-origin``) are the pages of other origins that may drive it (:mod:`.guard`).
    """
    from annrl.playground.replay import check_root

    origins = [parse_origin(origin) for origin in allow_origins]  # checked now: Starlette builds middleware late
    guard = Middleware(Guard, host=host, allow_origins=origins)
    runs_root = None if runs is None else check_root(runs)
    routes = [
        Route("/", page),
        Route("/api/limits", api_limits),
        Route("/api/setup", api_setup, methods=["POST"]),
        Route("/api/csv", api_csv, methods=["POST"]),
        Route("/api/session/{sid}/export/{kind}", api_export),
        Route("/api/runs", api_runs),
        WebSocketRoute("/ws", playground_socket),
        WebSocketRoute("/ws/cars", cars_socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[guard], exception_handlers={InputError: input_error})
    app.state.sessions = {}
    app.state.cars = set()
    app.state.runs_root = runs_root
    return app
