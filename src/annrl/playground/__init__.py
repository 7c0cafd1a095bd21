"""The playground: annrl's engine behind a local web page (``annrl playground``).

The TensorFlow Playground's controls (datasets, features, layers and neurons, activation, learning
rate, regularisation, play/pause/step/reset, decision surface, neuron heat maps, weighted edges,
loss curves, the setup in the URL), trained by :mod:`annrl.nn` on the server, plus Boolean
expressions and lab functions as datasets, drawn or CSV points, a seeds view of 100 networks at
once, an explain panel, downloads and a cars tab (a live genetic algorithm, or a saved run's replay
with ``--runs DIR``). See ``docs/playground.md``.

The server needs Starlette and uvicorn (``pip install annrl[playground]``); the page is plain
JavaScript shipped in ``static/``: no build step, no network access.
"""

from __future__ import annotations

from typing import Any


def create_app(runs: Any = None, *, host: str = "127.0.0.1", allow_origins: Any = ()) -> Any:
    """The Starlette app (see :mod:`annrl.playground.server`); ``runs``: a folder of saved car runs to replay,
    ``host``: a name it answers to besides the loopback ones, ``allow_origins``: other pages that may drive it."""
    from annrl.playground.server import create_app as build

    return build(runs, host=host, allow_origins=allow_origins)


__all__ = ["create_app"]
