"""One cars tab: start and stop a :class:`~annrl.playground.cars.CarsRun`, streaming its frames."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from annrl.errors import InputError
from annrl.playground.cars import CarsRun, parse_start
from annrl.playground.live import WINDOW, BackgroundLoop, allowed

CAR_MESSAGES = ("start", "stop", "ack")
FRAMES_PER_SECOND = 30


class CarsLive(BackgroundLoop):
    """The cars run of one WebSocket; ``send`` delivers one text message."""

    def __init__(self, send: Any):
        self._send = send
        self.task: asyncio.Task | None = None
        self.in_flight = 0
        self.acked = asyncio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        await self._send(json.dumps(message, allow_nan=False))

    async def handle(self, text: Any) -> None:
        try:
            message = _decode(text)
            if message["type"] == "start":
                settings = parse_start(message)
                await self.stop()
                run = await asyncio.to_thread(CarsRun, **settings)
                await self.send(run.track_message())
                self.task = asyncio.create_task(self._loop(run))
            elif message["type"] == "stop":
                allowed(message)
                await self.stop()
                await self.send({"type": "status", "playing": False})
            else:
                self.in_flight = max(0, self.in_flight - 1)
                self.acked.set()
        except InputError as err:
            await self.send({"type": "error", "message": str(err), "field": err.field})

    async def _loop(self, run: CarsRun) -> None:
        while True:
            started = time.perf_counter()
            while self.in_flight >= WINDOW:
                self.acked.clear()
                await self.acked.wait()
            messages = await asyncio.to_thread(run.frame)
            self.in_flight += 1
            for message in messages:
                await self.send(message)
            await asyncio.sleep(max(0.0, 1.0 / FRAMES_PER_SECOND - (time.perf_counter() - started)))



def _decode(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or len(text) > 10_000:
        raise InputError("cars messages must be JSON text of at most 10000 characters", field="message")
    try:
        message = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"message is not valid JSON: {err.msg} (at character {err.pos})", field="message") from None
    if not isinstance(message, dict) or message.get("type") not in CAR_MESSAGES:
        raise InputError.invalid("cars message type", f"one of {list(CAR_MESSAGES)}",
                                 message.get("type") if isinstance(message, dict) else message)
    return message
