"""What the page is sent: the data once, then a state after every few epochs (JSON-ready dicts).

Grids (the surface, each neuron's heat map, the feature tiles) are packed: ``{"shape": [..., ny, nx],
"f32": base64}``, the values as little-endian float32, ``grid[..., iy, ix]`` with ``y`` increasing
with ``iy`` over the dataset's box; a curve view (a function of x alone) has ``ny = 1``. A state
carries about 9000 such values, 30 times a second: as rounded JSON numbers they cost the server 6 to
9 ms an update (a third of the update's training), and the page a parse; packed, both are a copy.
:func:`unpack` reads a grid back. Seeds view (``P > 1``): the spread of the test losses, how many
networks reached the goal, and the surfaces of the best network that succeeded and the worst one
that failed.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from annrl.playground.session import Session

SURFACE_CELLS = 100
CURVE_CELLS = 200
NEURON_CELLS = 40


def _round(values: np.ndarray) -> Any:
    return np.round(np.nan_to_num(np.asarray(values, dtype=float), nan=0.0, posinf=9e9, neginf=-9e9), 3).tolist()


def pack(values: np.ndarray) -> dict[str, Any]:
    """A grid as ``{"shape", "f32"}`` (see the module docstring); NaN is sent as 0, infinities as +-9e9."""
    finite = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0, posinf=9e9, neginf=-9e9)
    data = np.ascontiguousarray(finite, dtype="<f4")
    return {"shape": list(data.shape), "f32": base64.b64encode(data.tobytes()).decode("ascii")}


def unpack(grid: dict[str, Any]) -> np.ndarray:
    """The float32 array of a packed grid (the inverse of :func:`pack`)."""
    return np.frombuffer(base64.b64decode(grid["f32"]), dtype="<f4").reshape(grid["shape"])


def grid_points(session: Session, cells: int) -> tuple[np.ndarray, int, int]:
    """Raw points ``(ny * nx, d)`` covering the box (row-major, y outer), and ``(nx, ny)``.

    A Boolean function of more than two variables is drawn over the first two, the others at 0.
    """
    data = session.data
    (x0, x1) = data.box[0]
    xs = np.linspace(x0, x1, cells)
    if len(data.box) == 1:
        points = xs[:, None]
        return points, len(xs), 1
    (y0, y1) = data.box[1]
    ys = np.linspace(y0, y1, cells)
    gx, gy = np.meshgrid(xs, ys)
    points = np.zeros((gx.size, len(data.inputs)))
    points[:, 0], points[:, 1] = gx.ravel(), gy.ravel()
    return points, len(xs), len(ys)


def data_message(session: Session) -> dict[str, Any]:
    """The points, what the axes stand for and the feature tiles (of every feature the data offers, on or
    off: a switched-off feature shows what it would add): sent once per setup."""
    from annrl.playground.config import FEATURES
    from annrl.playground.session import X_ONLY

    data = session.data
    tiles = {}
    raw, nx, ny = grid_points(session, NEURON_CELLS)
    if data.view == "boolean":
        names = session.features
    else:
        names = FEATURES if len(data.inputs) == 2 else X_ONLY
    for k, name in enumerate(names):
        column = raw[:, k] if data.view == "boolean" else _feature(name, raw)
        tiles[name] = pack(_normalise(column).reshape(ny, nx))
    return {
        "type": "data", "setup": session.setup.to_dict(), "task": data.task, "view": data.view,
        "inputs": list(data.inputs), "features": list(session.features), "box": [list(b) for b in data.box],
        "domain": None if data.domain is None else [list(b) for b in data.domain],
        "value_range": None if data.value_range is None else list(data.value_range), "label": data.label,
        "train": _points(data.train_x, data.train_y), "test": _points(data.test_x, data.test_y),
        "feature_tiles": tiles, "population": session.net.population,
    }


def _feature(name: str, raw: np.ndarray) -> np.ndarray:
    from annrl.playground.session import FEATURE_FUNCTIONS

    return FEATURE_FUNCTIONS[name](raw)


def _normalise(column: np.ndarray) -> np.ndarray:
    """A feature's values scaled into [-1, 1] for its tile (tiles show shape, not size)."""
    scale = float(np.max(np.abs(column))) or 1.0
    return column / scale


def _points(x: np.ndarray, y: np.ndarray) -> list[list[float]]:
    """Rows ``[x, y, label]`` (``[x, 0, label]`` in a curve view) of the first two raw inputs."""
    rows = np.zeros((len(x), 3))
    rows[:, : min(2, x.shape[1])] = x[:, :2]
    rows[:, 2] = y[:, 0]
    return _round(rows)


def surface(session: Session, index: int) -> dict[str, Any]:
    """Network ``index``'s output over the box, packed ``(ny, nx)``."""
    raw, nx, ny = grid_points(session, CURVE_CELLS if len(session.data.box) == 1 else SURFACE_CELLS)
    return pack(session.predict_one(raw, index).reshape(ny, nx))


def neurons(session: Session, index: int) -> list[dict[str, Any]]:
    """Every hidden neuron's output over the box (small grids): one packed ``(units, ny, nx)`` per layer."""
    raw, nx, ny = grid_points(session, NEURON_CELLS)
    layers = session.hidden_outputs(raw, index)[:-1]
    return [pack(layer.reshape(len(layer), ny, nx)) for layer in layers]


def weights(session: Session, index: int) -> list[dict[str, Any]]:
    """Each dense layer's weights ``w[in][out]`` and biases ``b[out]`` of network ``index``."""
    net, out = session.net, []
    for name in session.weight_names:
        layer = name.split(".")[0]
        out.append({"w": _round(np.asarray(net.params_[name])[index]),
                    "b": _round(np.asarray(net.params_[f"{layer}.bias"])[index].reshape(-1))})
    return out


def state_message(session: Session) -> dict[str, Any]:
    """Losses, surfaces, neurons and weights after the latest epochs."""
    train, test = session.losses()
    state: dict[str, Any] = {"type": "state", "epoch": session.epoch, "population": session.net.population}
    if session.net.population == 1:
        state.update(train_loss=_scalar(train[0]), test_loss=_scalar(test[0]), surface=surface(session, 0),
                     neurons=neurons(session, 0), weights=weights(session, 0),
                     penalty=_scalar(session.regularization_penalty()[0]))
        return state
    state.update(seeds_message(session, train, test))
    return state


def seeds_message(session: Session, train: np.ndarray, test: np.ndarray) -> dict[str, Any]:
    """The seeds view: success count, the loss spread, a solved and a failed network's surface."""
    goal = session.setup.goal
    finite_test = np.where(np.isfinite(test), test, np.inf)
    solved = finite_test < goal
    order = np.argsort(finite_test, kind="stable")
    best_solved = int(order[0]) if solved.any() else None
    worst_failed = int(order[-1]) if (~solved).any() else None
    quantiles = np.quantile(np.where(np.isfinite(test), test, np.nanmax(np.where(np.isfinite(test), test, 0))),
                            [0.0, 0.25, 0.5, 0.75, 1.0])
    return {
        "solved": int(solved.sum()), "diverged": int((~session.active).sum()), "goal": goal,
        "test_losses": _round(test), "train_median": _scalar(np.median(train)),
        "test_quantiles": _round(quantiles),
        "solved_index": best_solved, "failed_index": worst_failed,
        "solved_surface": None if best_solved is None else surface(session, best_solved),
        "failed_surface": None if worst_failed is None else surface(session, worst_failed),
    }


def _scalar(value: float) -> float | None:
    value = float(value)
    return round(value, 6) if np.isfinite(value) else None
