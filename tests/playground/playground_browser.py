"""Shared by the browser test and the benchmark: a live server in a thread, headless Debian Chromium.

``ANNRL_CHROMIUM`` names another Chromium binary (``ANNRL_CHROMIUM=/nonexistent`` hides it, to see the
suite as a machine without one sees it).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import threading
import time
from collections.abc import Iterator

CHROMIUM = os.environ.get("ANNRL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-quic", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(runs=None) -> Iterator[str]:
    """The playground served by uvicorn in a thread on a free port (``runs``: its --runs folder); yields its URL."""
    import uvicorn

    from annrl.playground import create_app
    from annrl.playground.cli import server_config

    port = free_port()
    server = uvicorn.Server(server_config(create_app(runs=runs), "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the playground server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def require_chromium() -> None:
    """Skip the calling test module when Chromium or Playwright is missing; under CI (``CI=true``), fail instead.

    Call it at module level: a newcomer's ``pytest`` passes without a browser, CI never loses its browser tests.
    """
    import pytest

    if not os.access(CHROMIUM, os.X_OK):
        missing = f"Chromium is not at {CHROMIUM}: apt-get install chromium"
    elif importlib.util.find_spec("playwright") is None:
        missing = "Playwright is missing: pip install -e '.[test]' (and apt-get install chromium)"
    else:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{missing} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(f"browser test: {missing}", allow_module_level=True)


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium browser (Playwright); fails when Chromium is missing (see :func:`require_chromium`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
