"""One browser tab's session: the messages it may send, and the training task that streams states back.

Messages from the page are JSON objects with a ``type``:

=========  ======================================  =======================================================
type       fields                                  effect
=========  ======================================  =======================================================
setup      ``setup``: fields of :class:`Setup`;    rebuild data and networks (fields not sent are kept);
           ``link`` (optional): true               from a shared link: a bad field falls back to its default
play       -                                       train in the background, streaming a state per update
pause      -                                       stop training; the state it stopped at is sent last
step       -                                       train one update (``epochs_per_update`` epochs)
reset      -                                       the next seed and data seed: new weights, new data
regenerate -                                       the next data seed: new data, the weights kept (not for
                                                   custom points)
points     ``points``: ``[[x, y, label], ...]``    train on these points (drawn with the mouse)
csv        ``text``: CSV ``x,y,label`` rows        the same, from a CSV file's text
clear      -                                       forget the drawn points (custom data goes back to circle)
weight     ``layer``, ``row``, ``column``,         set one weight of the network (edited on the page)
           ``value``
explain    ``index`` (optional)                    the Boolean formula or closed form of a network
ack        -                                       the page drew a state (flow control)
=========  ======================================  =======================================================

Answers: ``hello`` (session id, limits, defaults), ``data`` (with ``notices``: the link's fields that fell
back to defaults, in the page's words), ``state``, ``explain`` (with the ``build`` it explains), ``status``
and ``error`` (one line: what is wrong; the session goes on). Training runs in a worker thread a few
epochs at a time, so the event loop keeps answering; at most :data:`WINDOW` states are in flight
before the page acknowledges one, so a slow page is never flooded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import threading
import time
from typing import Any

from annrl.errors import InputError, show_value
from annrl.playground.config import PLAIN, Setup, fallback_notice, limits, parse_link, parse_setup
from annrl.playground.datasets import parse_csv, parse_points
from annrl.playground.session import Session
from annrl.playground.snapshot import data_message, state_message
from annrl.userfiles import parse_json

logger = logging.getLogger(__name__)
MESSAGE_TYPES = ("setup", "play", "pause", "step", "reset", "regenerate", "points", "csv", "clear", "weight", "explain",
                 "ack")
MAX_WEIGHT = 100.0
MAX_MESSAGE_CHARS = 300_000
WINDOW = 2
MAX_UPDATES_PER_SECOND = 60


class BackgroundLoop:
    """A tab's background task (training, or a cars generation) and the frames it has in flight."""

    task: asyncio.Task | None = None
    in_flight = 0

    async def stop(self) -> None:
        """Cancel the task (and wait for it), if one runs."""
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        self.in_flight = 0

    @property
    def playing(self) -> bool:
        return self.task is not None and not self.task.done()


class LiveSession(BackgroundLoop):
    """The state of one tab: its setup, its :class:`Session`, and the task training it.

    Parameters
    ----------
    sid : str
        The session id (also the key of its downloads).
    send : callable
        ``await send(text)`` delivers one message to the page.
    """

    def __init__(self, sid: str, send: Any):
        self.sid, self._send = sid, send
        self.setup = Setup()
        self.custom = None
        self.session: Session | None = None
        self.task: asyncio.Task | None = None
        self.lock = asyncio.Lock()  # one worker thread touches the session at a time...
        self.guard = threading.Lock()  # ...even after a cancelled await left its thread running
        self.acked = asyncio.Event()
        self.in_flight = 0
        self.updates = 0
        self.builds = 0  # sessions built so far: states carry the number, so a stale one is recognised

    async def start(self) -> None:
        await self.send({"type": "hello", "session": self.sid, "limits": limits(), "defaults": Setup().to_dict(),
                         "messages": list(MESSAGE_TYPES)})

    async def send(self, message: dict[str, Any] | str) -> None:
        """Deliver ``message``: a dict, or one already encoded (states are, in the worker thread)."""
        await self._send(message if isinstance(message, str) else encode(message))

    async def handle(self, text: str) -> None:
        """Act on one message; bad input is answered with an ``error`` message, never raised."""
        try:
            message = decode(text)
            await getattr(self, f"on_{message['type']}")(message)
        except InputError as err:
            await self.send({"type": "error", "message": str(err), "field": err.field})

    # -- messages --------------------------------------------------------------------------------
    async def on_setup(self, message: dict[str, Any]) -> None:
        allowed(message, "setup", "link")
        if message.get("link") is True:
            await self.rebuild_link(message.get("setup"))
        else:
            await self.rebuild(parse_setup(message.get("setup"), self.setup))

    async def rebuild_link(self, raw: Any) -> None:
        """A shared link's setup: each field that fails its rule, or that the data cannot be built with
        (an expression that does not parse, say), falls back to its default, with a notice."""
        setup, notices = parse_link(raw, self.setup)
        for _ in range(len(PLAIN)):
            try:
                return await self.rebuild(setup, notices)
            except InputError as err:
                name = _setup_field(err.field)
                if name is None or getattr(setup, name) == getattr(Setup(), name):
                    raise
                notices.append(fallback_notice(name, getattr(setup, name), Setup(), str(err)))
                setup = dataclasses.replace(setup, **{name: getattr(Setup(), name)})

    async def on_points(self, message: dict[str, Any]) -> None:
        allowed(message, "points")
        await self.use_points(parse_points(message.get("points")))

    async def on_csv(self, message: dict[str, Any]) -> None:
        allowed(message, "text")
        await self.use_points(parse_csv(message.get("text")))

    async def on_clear(self, message: dict[str, Any]) -> None:
        allowed(message)
        self.custom = None
        if self.setup.dataset == "custom":
            await self.rebuild(dataclasses.replace(self.setup, dataset=Setup().dataset))

    async def on_weight(self, message: dict[str, Any]) -> None:
        allowed(message, "layer", "row", "column", "value")
        await self.ensure_session()
        if self.session.net.population != 1:
            raise InputError("weights are edited on the Network view (one network)", field="weight")
        names = self.session.weight_names
        layer = _integer(message, "layer", len(names))
        w = self.session.net.params_[names[layer]]  # (1, in, out), a view of the trained parameters
        row, column = _integer(message, "row", w.shape[1]), _integer(message, "column", w.shape[2])
        value = message.get("value")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not abs(value) <= MAX_WEIGHT:
            raise InputError.invalid("weight value", f"a number in [-{MAX_WEIGHT:g}, {MAX_WEIGHT:g}]", value)

        def work() -> str:
            w[0, row, column] = value
            self.session._losses = None  # of the old weights
            return state_text(self.session, self.builds)

        await self.send(await self.in_worker(work))

    async def use_points(self, points: Any) -> None:
        previous = self.custom
        self.custom = points
        try:
            await self.rebuild(parse_setup({"dataset": "custom"}, self.setup))
        except InputError:
            self.custom = previous
            raise

    async def on_play(self, message: dict[str, Any]) -> None:
        allowed(message)
        await self.ensure_session()
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.train_loop())
        await self.send({"type": "status", "playing": True})

    async def on_pause(self, message: dict[str, Any]) -> None:
        allowed(message)
        await self.stop()
        if self.session is not None:  # an update trained ahead of the page is shown, never hidden
            await self.send(await self.in_worker(state_text, self.session, self.builds))
        await self.send({"type": "status", "playing": False})

    async def on_step(self, message: dict[str, Any]) -> None:
        allowed(message)
        await self.stop()
        await self.ensure_session()
        await self.send(await self.advance())

    async def on_reset(self, message: dict[str, Any]) -> None:
        allowed(message)
        seed, data_seed = (self.setup.seed + 1) % 2**31, (self.setup.data_seed + 1) % 2**31
        await self.rebuild(dataclasses.replace(self.setup, seed=seed, data_seed=data_seed))

    async def on_regenerate(self, message: dict[str, Any]) -> None:
        allowed(message)
        await self.ensure_session()
        data_seed = (self.setup.data_seed + 1) % 2**31
        await self.rebuild(dataclasses.replace(self.setup, data_seed=data_seed), keep_weights=True)

    async def on_explain(self, message: dict[str, Any]) -> None:
        allowed(message, "index")
        await self.ensure_session()
        index = message.get("index", 0)
        if not isinstance(index, int) or isinstance(index, bool):
            raise InputError.invalid("index", "an integer", index)
        self.session.network(index)  # checks the range before any work
        from annrl.playground.explain import explain

        build = self.builds
        try:
            result = await self.in_worker(explain, self.session, index)
        except InputError:
            raise
        except (ArithmeticError, ValueError, TypeError) as err:  # the page waits for an answer: give one
            logger.exception("explain failed")
            raise InputError(f"no explanation: the formula search failed ({err})", field="explain") from None
        await self.send({**result, "index": index, "build": build})

    async def on_ack(self, message: dict[str, Any]) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.acked.set()

    # -- training --------------------------------------------------------------------------------
    async def ensure_session(self) -> None:
        if self.session is None:
            await self.rebuild(self.setup)

    async def in_worker(self, work: Any, *args: Any) -> Any:
        """``work(*args)`` in a worker thread, one at a time (see :attr:`lock` and :attr:`guard`)."""
        async with self.lock:
            return await self._in_thread(work, *args)

    async def _in_thread(self, work: Any, *args: Any) -> Any:
        return await asyncio.to_thread(self._guarded, work, *args)

    def _guarded(self, work: Any, *args: Any) -> Any:
        with self.guard:
            return work(*args)

    async def rebuild(self, setup: Setup, notices: list[str] | None = None, *, keep_weights: bool = False) -> None:
        """Build data and networks for ``setup`` (training continues if it was running), or with
        ``keep_weights`` only the data, of ``setup.data_seed``; ``notices`` go with the data message."""
        custom = self.custom if setup.dataset == "custom" else None
        build = self.builds + 1

        def work() -> tuple[Session, str, str]:
            if keep_weights:  # under the lock: no update trains while the data changes
                session = self.session
                session.regenerate(setup.data_seed)
            else:
                session = Session(setup, custom)
            data = {**data_message(session), "build": build, "notices": notices or []}
            return session, encode(data), state_text(session, build)

        async with self.lock:
            session, data, state = await self._in_thread(work)
            self.session, self.setup, self.builds = session, setup, build
        await self.send(data)
        await self.send(state)

    async def advance(self) -> str:
        """Train one update in a worker thread; the state after it, encoded there too (the event loop
        only forwards text, so it answers the page while the next update trains)."""
        def work(session: Session, build: int) -> str:
            session.train(session.setup.epochs_per_update)
            return state_text(session, build)

        async with self.lock:  # the session is read under the lock that a rebuild replaces it under
            return await self._in_thread(work, self.session, self.builds)

    async def train_loop(self) -> None:
        try:
            await self._train_forever()
        except InputError as err:
            await self.send({"type": "error", "message": str(err), "field": err.field})
        except (ArithmeticError, ValueError, MemoryError) as err:  # a bug must not take the server down
            logger.exception("training stopped")
            await self.send({"type": "error", "message": f"training stopped: {err}", "field": None})

    async def _train_forever(self) -> None:
        # The next update trains while this one is sent: the worker thread never waits for the socket.
        upcoming = asyncio.ensure_future(self.advance())
        try:
            while True:
                started = time.perf_counter()
                state = await upcoming
                while self.in_flight >= WINDOW:
                    self.acked.clear()
                    await self.acked.wait()
                upcoming = asyncio.ensure_future(self.advance())
                self.in_flight += 1
                self.updates += 1
                await self.send(state)
                await asyncio.sleep(max(0.0, 1.0 / MAX_UPDATES_PER_SECOND - (time.perf_counter() - started)))
        finally:
            upcoming.cancel()


def state_text(session: Session, build: int) -> str:
    """The state message of ``session`` (the ``build``-th of its tab), encoded."""
    return encode({**state_message(session), "build": build})


def _integer(message: dict[str, Any], name: str, stop: int) -> int:
    value = message.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < stop:
        raise InputError.invalid(f"weight {name}", f"an integer in [0, {stop})", value)
    return value


def _setup_field(field: str | None) -> str | None:
    """The setup field an error names (``"setup.function"``, ``"number of variables of setup.expression"``)."""
    if field in PLAIN:  # the labs name a field without the prefix ("expression")
        return field
    found = re.search(r"setup\.(\w+)", field or "")
    return found.group(1) if found and found.group(1) in PLAIN else None


def encode(message: dict[str, Any]) -> str:
    """A message as JSON text (NaN and infinities are refused: the page could not parse them)."""
    return json.dumps(message, allow_nan=False, separators=(",", ":"))


def decode(text: Any) -> dict[str, Any]:
    """A message as a dict with a known ``type``, or an :class:`InputError` saying what is wrong."""
    if not isinstance(text, str):
        raise InputError("messages must be JSON text, got binary data", field="message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InputError(f"message is {len(text)} characters long; the limit is {MAX_MESSAGE_CHARS}",
                         field="message")
    message = parse_json(text, "message")  # nesting bounded: a deep one is an error reply, not a RecursionError
    if not isinstance(message, dict):
        raise InputError(f"message must be a JSON object, got {show_value(message)}", field="message")
    if message.get("type") not in MESSAGE_TYPES:
        raise InputError.invalid("message type", f"one of {list(MESSAGE_TYPES)}", message.get("type"))
    return message


def allowed(message: dict[str, Any], *fields: str) -> None:
    """Refuse fields a message type does not take (a typo should not pass in silence)."""
    extra = sorted(set(message) - {"type", *fields})
    if extra:
        raise InputError(f"message {message['type']!r} takes {list(fields) or 'no fields'}, got unknown {extra}",
                         field="message")
