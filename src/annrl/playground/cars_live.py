"""One cars tab: a live :class:`~annrl.playground.cars.CarsRun`, or a saved run's replay, streamed as frames.

Messages: ``start`` (a live GA run), ``stop``, ``ack``, ``runs`` (list the saved runs under the
server's ``--runs`` folder) and ``replay`` (``run``: an id from that list, ``seed``, ``speed``);
answers: ``track``, ``frame``, ``generation``, ``runs``, ``replay_end``, ``status`` and ``error``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

from annrl.errors import InputError
from annrl.playground.cars import CarsRun, parse_start
from annrl.playground.live import WINDOW, BackgroundLoop, allowed
from annrl.playground.replay import Replay, find_runs, parse_replay
from annrl.userfiles import parse_json

logger = logging.getLogger(__name__)
CAR_MESSAGES = ("start", "stop", "ack", "runs", "replay")
NO_RUNS = "this server has no runs folder: start it with annrl playground --runs DIR to replay saved runs"
FRAMES_PER_SECOND = 30


class CarsLive(BackgroundLoop):
    """The cars run of one WebSocket; ``send`` delivers one text message; ``runs_root`` is the folder
    of saved runs (None: replays are refused with a message saying how to give one)."""

    def __init__(self, send: Any, runs_root: Path | None = None):
        self._send, self.runs_root = send, runs_root
        self.task: asyncio.Task | None = None
        self.in_flight = 0
        self.acked = asyncio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        await self._send(json.dumps(message, allow_nan=False))

    async def handle(self, text: Any) -> None:
        """Act on one message; bad input is answered with an ``error`` message, never raised."""
        try:
            message = _decode(text)
            await getattr(self, f"on_{message['type']}")(message)
        except InputError as err:
            await self.send({"type": "error", "message": str(err), "field": err.field})

    async def on_start(self, message: dict[str, Any]) -> None:
        settings = parse_start(message)
        await self.stop()
        await self.play(await asyncio.to_thread(CarsRun, **settings))

    async def on_runs(self, message: dict[str, Any]) -> None:
        allowed(message)
        await self.send({"type": "runs", "runs": await asyncio.to_thread(self._runs)})

    async def on_replay(self, message: dict[str, Any]) -> None:
        allowed(message, "run", "seed", "speed")
        if self.runs_root is None:
            raise InputError(NO_RUNS, field="replay.run")
        settings = parse_replay(message)
        await self.stop()
        await self.play(await asyncio.to_thread(Replay, self.runs_root, **settings))

    async def on_stop(self, message: dict[str, Any]) -> None:
        allowed(message)
        await self.stop()
        await self.send({"type": "status", "playing": False})

    async def on_ack(self, message: dict[str, Any]) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.acked.set()

    async def play(self, run: CarsRun | Replay) -> None:
        await self.send(run.track_message())
        self.task = asyncio.create_task(self._loop(run))

    async def _loop(self, run: CarsRun | Replay) -> None:
        try:
            await self._frames(run)
        except (ArithmeticError, ValueError, TypeError, KeyError) as err:  # a bug must not end the tab in silence
            logger.exception("cars run stopped")
            await self.send({"type": "error", "message": f"cars run stopped: {err}", "field": None})

    async def _frames(self, run: CarsRun | Replay) -> None:
        while True:
            started = time.perf_counter()
            while self.in_flight >= WINDOW:
                self.acked.clear()
                await self.acked.wait()
            messages = await asyncio.to_thread(run.frame)
            self.in_flight += 1
            for message in messages:
                await self.send(message)
            if getattr(run, "finished", False):  # a replay's episode is over
                await self.send({"type": "status", "playing": False})
                return
            await asyncio.sleep(max(0.0, 1.0 / FRAMES_PER_SECOND - (time.perf_counter() - started)))

    def _runs(self) -> list[dict[str, str]]:
        if self.runs_root is None:
            raise InputError(NO_RUNS, field="runs")
        return [run.describe() for run in find_runs(self.runs_root)]


def _decode(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or len(text) > 10_000:
        raise InputError("cars messages must be JSON text of at most 10000 characters", field="message")
    message = parse_json(text, "message")
    if not isinstance(message, dict) or message.get("type") not in CAR_MESSAGES:
        raise InputError.invalid("cars message type", f"one of {list(CAR_MESSAGES)}",
                                 message.get("type") if isinstance(message, dict) else message)
    return message
