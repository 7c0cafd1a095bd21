"""The playground's data: the TensorFlow Playground's six sets, Boolean expressions, lab functions, custom points.

Every set lives in *display coordinates*: 2D sets in the box [-6, 6]^2 (points in [-5, 5]^2, as on
the TensorFlow Playground), functions of the approximation lab mapped linearly from their own domain
onto [-5, 5] (values onto [-1, 1]), Boolean functions on their truth table's 0/1 corners. Labels of
classification sets are -1 and +1 (a tanh output); regression targets lie in [-1, 1].

>>> data = make_dataset(Setup(dataset="xor", points=100), np.random.default_rng(0))
>>> data.task, data.train_x.shape, data.test_x.shape, sorted(set(data.train_y.ravel().tolist()))
('classification', (50, 2), (50, 2), [-1.0, 1.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from annrl.errors import InputError
from annrl.playground.config import MAX_POINTS, Setup

BOX = ((-6.0, 6.0), (-6.0, 6.0))
BOOLEAN_BOX = ((-0.5, 1.5), (-0.5, 1.5))
MAX_BOOLEAN_INPUTS = 6
#: (x, y, sign) of the regression bumps: a hill-and-valley landscape
BUMPS = ((-3.0, -2.5, 1.0), (0.0, 2.5, -1.0), (3.0, -2.5, 1.0), (-3.5, 3.0, 1.0), (3.5, 3.0, -1.0), (0.0, -1.0, -1.0))


@dataclass
class Dataset:
    """Train and test points of one set, in display coordinates.

    Attributes
    ----------
    task : {"classification", "regression"}
    inputs : tuple of str
        Names of the raw inputs: ``("x", "y")``, ``("x",)`` or the Boolean variables.
    train_x, test_x : ndarray, shape (N, len(inputs))
    train_y, test_y : ndarray, shape (N, 1)
    box : tuple of (low, high)
        What the page draws, per raw input (the first two).
    domain : tuple of (low, high) or None
        A lab function's own domain (what [-5, 5] stands for), else None.
    value_range : (low, high) or None
        A lab function's values that [-1, 1] stands for.
    label : str
        A one-line description for the page.
    view : {"surface", "curve", "boolean"}
        How the page draws it: a surface over (x, y), a fitted curve y = f(x), or a Boolean surface
        over the first two variables (the others held at 0).
    """

    task: str
    inputs: tuple[str, ...]
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    box: tuple[tuple[float, float], ...]
    domain: tuple[tuple[float, float], ...] | None = None
    value_range: tuple[float, float] | None = None
    label: str = ""
    view: str = "surface"

    def to_original(self, raw: np.ndarray) -> np.ndarray:
        """Display coordinates ``(N, d)`` of a lab function back in its own domain's units."""
        if self.domain is None:
            return raw
        low, high = np.array(self.domain).T
        return low + (raw + 5.0) / 10.0 * (high - low)


def make_dataset(setup: Setup, rng: np.random.Generator, custom: np.ndarray | None = None) -> Dataset:
    """The data ``setup`` describes, drawn with ``rng`` (``custom``: ``(N, 3)`` rows x, y, label)."""
    if setup.dataset == "boolean":
        return boolean_dataset(setup, rng)
    if setup.dataset == "function":
        return function_dataset(setup, rng)
    if setup.dataset == "custom":
        if custom is None or len(custom) == 0:
            raise InputError("dataset 'custom' has no points yet: draw some on the surface or load a CSV",
                             field="dataset")
        x, y = custom[:, :2], custom[:, 2:3]
        task = "classification" if np.all(np.isin(y, (-1.0, 1.0))) else "regression"
        data = _split(setup, rng, x, y, task, ("x", "y"), BOX)
        data.label = (f"{len(x)} custom points: {len(data.train_x)} to train on, {len(data.test_x)} to test "
                      f"(the train : test slider)")
        return data
    n, noise = setup.points, setup.noise / 100.0
    x, y = GENERATORS[setup.dataset](n, noise, rng)
    task = "regression" if setup.dataset in ("plane", "bumps") else "classification"
    return _split(setup, rng, x, y[:, None], task, ("x", "y"), BOX, label=setup.dataset)


def _split(setup: Setup, rng: np.random.Generator, x: np.ndarray, y: np.ndarray, task: str,
           inputs: tuple[str, ...], box, **extra) -> Dataset:
    order = rng.permutation(len(x))
    cut = min(len(x) - 1, max(1, int(round(len(x) * setup.ratio / 100.0))))
    train, test = order[:cut], order[cut:]
    return Dataset(task, inputs, x[train], y[train], x[test], y[test], box, **extra)


def _jitter(n: int, noise: float, rng: np.random.Generator, scale: float = 5.0) -> np.ndarray:
    """Gaussian displacement of ``n`` points: ``noise`` (0 to 0.5) of ``scale`` as the spread."""
    return rng.normal(0.0, 1.0, size=(n, 2)) * noise * scale * 0.5


def xor_points(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in the four quadrants, pushed 0.3 off the axes; +1 where x y > 0."""
    clean = rng.uniform(-5.0, 5.0, size=(n, 2))
    clean += np.where(clean >= 0, 0.3, -0.3)
    return clean + _jitter(n, noise, rng), np.where(clean[:, 0] * clean[:, 1] >= 0, 1.0, -1.0)


def circle_points(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Half the points within radius 2.5 (+1), half in the ring 3.5 to 5 (-1)."""
    inner = np.arange(n) < n // 2
    radius = np.where(inner, rng.uniform(0.0, 2.5, n), rng.uniform(3.5, 5.0, n))
    angle = rng.uniform(0.0, 2 * math.pi, n)
    clean = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return clean + _jitter(n, noise, rng), np.where(inner, 1.0, -1.0)


def gauss_points(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds around (2, 2) (+1) and (-2, -2) (-1); noise widens them."""
    positive = np.arange(n) < n // 2
    centre = np.where(positive[:, None], 2.0, -2.0)
    spread = 0.7 + 3.0 * noise
    return centre + rng.normal(0.0, spread, size=(n, 2)), np.where(positive, 1.0, -1.0)


def spiral_points(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spiral arms of 1.75 turns each, radius growing to 5."""
    arm = np.arange(n) % 2
    t = rng.uniform(0.0, 1.0, n)
    angle = 1.75 * 2 * math.pi * t + math.pi * arm
    clean = np.column_stack([5.0 * t * np.sin(angle), 5.0 * t * np.cos(angle)])
    return clean + _jitter(n, noise, rng, scale=2.0), np.where(arm == 0, 1.0, -1.0)


def plane_points(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A tilted plane, value (x + y) / 10 in [-1, 1]; noise is added to the values."""
    x = rng.uniform(-5.0, 5.0, size=(n, 2))
    return x, np.clip((x[:, 0] + x[:, 1]) / 10.0 + rng.normal(0.0, noise, n), -1.0, 1.0)


def bumps_points(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Six Gaussian hills and valleys (:data:`BUMPS`), values clipped to [-1, 1]."""
    x = rng.uniform(-5.0, 5.0, size=(n, 2))
    value = sum(s * np.exp(-((x[:, 0] - cx) ** 2 + (x[:, 1] - cy) ** 2) / 4.5) for cx, cy, s in BUMPS)
    return x, np.clip(value + rng.normal(0.0, noise, n), -1.0, 1.0)


GENERATORS = {"xor": xor_points, "circle": circle_points, "gauss": gauss_points, "spiral": spiral_points,
              "plane": plane_points, "bumps": bumps_points}


def boolean_dataset(setup: Setup, rng: np.random.Generator) -> Dataset:
    """Every row of the expression's truth table, repeated up to ``points`` samples (noise jitters
    the 0/1 inputs); labels +1 where the expression is true. Parsed by the logic lab, never evaluated."""
    from annrl.symbolic.boolean import parse_function

    fn = parse_function(setup.expression)
    if len(fn.outputs) != 1:
        raise InputError.invalid("setup.expression", "one Boolean expression (no ';')", setup.expression)
    n_inputs = len(fn.inputs)
    if n_inputs > MAX_BOOLEAN_INPUTS:
        raise InputError.invalid("number of variables of setup.expression", f"<= {MAX_BOOLEAN_INPUTS}", n_inputs)
    rows, labels = fn.X, np.where(fn.table[:, :1], 1.0, -1.0)
    repeats = max(2, math.ceil(setup.points / len(rows)))
    x = np.tile(rows, (repeats, 1))
    x = x + rng.normal(0.0, 1.0, size=x.shape) * setup.noise / 100.0 * 0.5
    box = BOOLEAN_BOX if n_inputs >= 2 else BOOLEAN_BOX[:1]
    return _split(setup, rng, x, np.tile(labels, (repeats, 1)), "classification", tuple(fn.inputs), box,
                  label=f"{fn.formula_text()['y']} ({n_inputs} inputs, {len(rows)} rows)", view="boolean")


def function_dataset(setup: Setup, rng: np.random.Generator) -> Dataset:
    """Samples of a function of the approximation lab (a catalogue name or an expression in x, y)."""
    from annrl.calculus.targets import resolve_target

    target = resolve_target(setup.function, field="setup.function")
    if target.dim > 2:
        raise InputError.invalid("number of variables of setup.function", "1 or 2 (x, or x and y)", target.dim)
    low, high = np.array(target.domain).T
    original = rng.uniform(low, high, size=(setup.points, target.dim))
    with np.errstate(all="ignore"):
        values = np.asarray(target(original), dtype=float).reshape(-1)
    if not np.all(np.isfinite(values)):
        raise InputError(f"setup.function {setup.function!r} is not finite at some points of its domain "
                         f"{target.domain}", field="setup.function")
    v_low, v_high = float(values.min()), float(values.max())
    if v_high - v_low < 1e-12:
        raise InputError(f"setup.function {setup.function!r} is constant on its domain", field="setup.function")
    scaled = 2.0 * (values - v_low) / (v_high - v_low) - 1.0 + rng.normal(0.0, setup.noise / 100.0, len(values))
    display = -5.0 + 10.0 * (original - low) / (high - low)
    return _split(setup, rng, display, scaled[:, None], "regression", target.variables, BOX[: target.dim],
                  domain=target.domain, value_range=(v_low, v_high), label=target.label,
                  view="curve" if target.dim == 1 else "surface")


def parse_points(rows: object, *, field: str = "points") -> np.ndarray:
    """Custom points ``[[x, y, label], ...]`` as an ``(N, 3)`` array, after checking each row.

    Coordinates must lie in the box [-6, 6]; a label is -1 or 1 (a class; 0 is read as -1) or any
    value in [-1, 1] (a regression target).
    """
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_POINTS:
        raise InputError.invalid(field, f"a list of 1 to {MAX_POINTS} rows [x, y, label]",
                                 f"{type(rows).__name__} of {len(rows) if isinstance(rows, list) else '?'} items")
    out = np.empty((len(rows), 3))
    for i, row in enumerate(rows):
        if not (isinstance(row, (list, tuple)) and len(row) == 3
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)):
            raise InputError.invalid(f"{field}[{i}]", "three numbers [x, y, label]", row)
        x, y, label = (float(v) for v in row)
        if not (math.isfinite(x) and math.isfinite(y) and -6.0 <= x <= 6.0 and -6.0 <= y <= 6.0):
            raise InputError.invalid(f"{field}[{i}]", "a point with x and y in [-6, 6]", row)
        if not (math.isfinite(label) and -1.0 <= label <= 1.0):
            raise InputError.invalid(f"{field}[{i}] label", "in [-1, 1] (-1/0/1: a class)", label)
        out[i] = x, y, label
    if np.all(np.isin(out[:, 2], (-1.0, 0.0, 1.0))):
        out[:, 2] = np.where(out[:, 2] > 0, 1.0, -1.0)
    return out


def parse_csv(text: object, *, field: str = "csv") -> np.ndarray:
    """Points from CSV text: rows ``x,y,label`` (an optional header line of names), as :func:`parse_points`."""
    if not isinstance(text, str) or len(text) > 200_000:
        raise InputError.invalid(field, "CSV text of at most 200000 characters", type(text).__name__)
    rows, lines = [], [line.strip() for line in text.splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        cells = [c.strip() for c in line.split(",")]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if number == 1:
                continue  # a header such as "x,y,label"
            raise InputError(f"{field} line {number}: expected three numbers x,y,label, got {line[:60]!r}",
                             field=field) from None
        if len(values) != 3:
            raise InputError(f"{field} line {number}: expected 3 columns x,y,label, got {len(values)}", field=field)
        rows.append(values)
    if not rows:
        raise InputError(f"{field} has no data rows (expected lines x,y,label)", field=field)
    return parse_points(rows, field=field)
