"""Diagrams in the Neural Network Zoo's notation, drawn from the model object itself.

A model becomes a list of :class:`ZooLayer` columns: an :class:`annrl.nn.Network` is read layer by
layer (:func:`network_layers`), any other zoo model says its own columns with ``zoo_layers()``.
So the picture shows the layers the code runs, and changes when they change.

>>> from annrl.nn import MLP
>>> [(layer.kind, layer.size) for layer in zoo_layers(MLP([2, 8, 1], hidden="tanh"))]
[('input', 2), ('hidden', 8), ('output', 1)]
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from annrl.errors import InputError
from annrl.zoo.cells import check_kind, draw_cell

#: at most this many cells are drawn per column; a larger layer shows an ellipsis in the middle
CELL_CAP = 6
#: horizontal distance between columns, in cell diameters of about 0.56
DX = 1.8
LINKS = ("full", "one_to_one", "none")


@dataclass(frozen=True)
class ZooLayer:
    """One column of a diagram.

    Parameters
    ----------
    kind : str
        A cell kind of :data:`annrl.zoo.cells.CELLS` ("input", "hidden", "gated_memory", ...).
    size : int
        Number of cells (units, channels) the layer really has.
    label : str, default=""
        A short caption (activation, "reservoir", "3x3 conv").
    recurrent : bool, default=False
        Each cell feeds back into itself (drawn as a self-loop).
    lateral : bool, default=False
        The cells of this layer connect to each other (Hopfield network, reservoir).
    skip : int, default=0
        The output of the column ``skip`` places earlier is added to this one's (a residual path).
    link : {"full", "one_to_one", "none"}, default="full"
        How this column connects from the previous one.
    """

    kind: str
    size: int
    label: str = ""
    recurrent: bool = False
    lateral: bool = False
    skip: int = 0
    link: str = "full"

    def __post_init__(self):
        check_kind(self.kind)
        if int(self.size) < 1:
            raise InputError(f"a zoo layer's size must be >= 1, got {self.size}")
        if self.link not in LINKS:
            raise InputError(f"link must be one of {LINKS}, got {self.link!r}")


# -- from an annrl.nn.Network -------------------------------------------------------------------
GATED = ("GRU", "LSTM")
POOLS = ("MaxPool2D", "AvgPool2D")
#: layers with no cells of their own: they change the previous column's caption (or nothing)
FOLDED = ("ActivationLayer", "Flatten", "TakeLast")
KNOWN = ("Dense", "ElmanRNN", *GATED, "Conv2D", *POOLS, "Residual", "PerStep", *FOLDED)


def _width(layer: Any, *names: str) -> int:
    for name in names:
        if getattr(layer, name, None) is not None:
            return int(getattr(layer, name))
    raise InputError(f"cannot tell the width of layer {layer!r} (none of {names})")


def _input_size(net: Any) -> int:
    first = net.layers[0]
    while type(first).__name__ in ("Residual", "PerStep"):
        first = first.layers[0] if hasattr(first, "layers") else first.layer
    return _width(first, "n_in", "in_channels")


def _columns(layer: Any, previous: ZooLayer) -> list[ZooLayer]:
    """The columns one (non-folded) engine layer adds after the column ``previous``."""
    name = type(layer).__name__
    if name == "Dense":
        return [ZooLayer("hidden", layer.n_out, "dense")]
    if name == "ElmanRNN":
        return [ZooLayer("recurrent", layer.hidden, "Elman", recurrent=True)]
    if name in GATED:
        return [ZooLayer("gated_memory", layer.hidden, name, recurrent=True)]
    if name == "Conv2D":
        kernel = getattr(layer, "kernel", None)  # (height, width)
        caption = f"conv {kernel[0]}x{kernel[1]}" if isinstance(kernel, tuple) else "conv"
        return [ZooLayer("kernel", _width(layer, "n_out", "out_channels"), caption)]
    if name in POOLS:
        return [ZooLayer("pool", previous.size, name[:3].lower() + " pool", link="one_to_one")]
    if name == "Residual":
        inner = _network_columns(layer.layers, previous)
        return [*inner[:-1], replace(inner[-1], skip=len(inner))]
    raise InputError(f"diagram: no zoo cell for layer class {name}; known: {', '.join(KNOWN)}")


def _fold(column: ZooLayer, layer: Any) -> ZooLayer:
    name = type(layer).__name__
    if name == "ActivationLayer":
        activation = "linear" if layer.activation.name == "identity" else layer.activation.name
        label = activation if column.label in ("dense", "") else f"{column.label} {activation}"
        return replace(column, label=label)
    return replace(column, label=f"{column.label}, last step") if name == "TakeLast" else column


def _network_columns(layers: list[Any], start: ZooLayer) -> list[ZooLayer]:
    columns = [start]
    for layer in layers:
        layer = layer.layer if type(layer).__name__ == "PerStep" else layer  # the same layer at every step
        if type(layer).__name__ in FOLDED:
            columns[-1] = _fold(columns[-1], layer)
        else:
            columns += _columns(layer, columns[-1])
    return columns[1:]


def network_layers(net: Any) -> list[ZooLayer]:
    """The columns of an :class:`annrl.nn.Network`, read from its layer list.

    Dense -> hidden (the last one: output), ElmanRNN -> recurrent, GRU/LSTM -> gated memory,
    Conv2D -> kernel, MaxPool2D/AvgPool2D -> pool, Residual -> its inner columns with a skip path;
    activations, Flatten and TakeLast fold into the column before them. Unknown layer -> ValueError.
    """
    image = type(net.layers[0]).__name__ == "Conv2D"
    columns = [ZooLayer("input", _input_size(net), "input channels" if image else "input")]
    columns += _network_columns(net.layers, columns[0])
    if columns[-1].kind == "hidden":
        columns[-1] = replace(columns[-1], kind="output")
    # a dense layer with no activation after it is linear
    return [replace(c, label="linear") if c.label == "dense" else c for c in columns]


def zoo_layers(model: Any) -> list[ZooLayer]:
    """The diagram columns of ``model``: its own ``zoo_layers()``, or read from a Network's layers."""
    if hasattr(model, "zoo_layers"):
        return list(model.zoo_layers())
    if hasattr(model, "layers") and hasattr(model, "layout"):
        return network_layers(model)
    raise InputError(f"cannot draw {type(model).__name__}: give it a zoo_layers() method or use an annrl.nn.Network")


# -- drawing ------------------------------------------------------------------------------------
@dataclass
class Column:
    """A column as drawn: its layer, how many identical layers it stands for, the cells drawn."""

    layer: ZooLayer
    repeat: int
    cells: int

    @property
    def caption(self) -> str:
        times = f" x{self.repeat}" if self.repeat > 1 else ""
        return f"{self.layer.label}{times}\n{self.layer.size}"


@dataclass
class Diagram:
    """What :func:`draw_diagram` drew: the columns (with cells counted as drawn), the Figure and the file."""

    columns: list[Column]
    path: Path | None
    figure: Any  # the matplotlib Figure drawn on (a notebook shows it inline)

    @property
    def cells(self) -> int:
        return sum(c.cells for c in self.columns)


def collapse(layers: list[ZooLayer]) -> list[tuple[ZooLayer, int]]:
    """Runs of identical consecutive layers as ``(layer, count)`` (30 equal blocks draw as one column)."""
    runs: list[tuple[ZooLayer, int]] = []
    for layer in layers:
        if runs and runs[-1][0] == layer and layer.kind != "input":
            runs[-1] = (layer, runs[-1][1] + 1)
        else:
            runs.append((layer, 1))
    return runs


def _slots(size: int, cap: int) -> list[float | None]:
    """Vertical positions of a column's cells; None marks the ellipsis of a capped layer."""
    n = min(size, cap)
    ys: list[float | None] = [(n - 1) / 2 - i for i in range(n)]
    if size > cap:
        ys[cap // 2] = None
    return ys


def draw_diagram(model: Any, path: str | Path | None = None, *, title: str | None = None,
                 cap: int = CELL_CAP, ax: Any = None) -> Diagram:
    """Draw ``model`` in the zoo's cell notation, into ``ax`` when given, and save it as a PNG at ``path`` (if given).

    Parameters
    ----------
    model : Network or zoo model
        Read with :func:`zoo_layers`.
    path : str or Path, optional
    title : str, optional
    cap : int, default=6
        Most cells drawn per column (larger layers get an ellipsis; the caption gives the true size).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure sized to the model when None.

    Returns
    -------
    Diagram
        Its ``figure`` is the Figure drawn on.
    """
    from annrl.viz.style import finish, panel

    if cap < 3:
        raise InputError(f"cap must be >= 3, got {cap}")
    runs = collapse(zoo_layers(model))
    width = 1.5 * len(runs) + 1.2
    fig, ax = panel(ax, size=(width, 0.62 * cap + 1.6))
    ax.set_axis_off()
    ax.set_aspect("equal")
    slots = [_slots(layer.size, cap) for layer, _ in runs]
    columns = []
    for x, ((layer, repeat), ys) in enumerate(zip(runs, slots, strict=True)):
        cx = x * DX
        if x > 0:
            _connect(ax, cx - DX, cx, slots[x - 1], ys, layer.link)
        if layer.lateral:
            _lateral(ax, cx, ys)
        if layer.skip:
            _skip(ax, (x - layer.skip if repeat == 1 else x - 1) * DX, cx, cap)
        drawn = _draw_column(ax, cx, ys, layer)
        columns.append(Column(layer, repeat, drawn))
        ax.text(cx, -(cap / 2) - 0.2, columns[-1].caption, ha="center", va="top", fontsize=8)
    ax.set_xlim(-0.9, (len(runs) - 1) * DX + 0.9)
    ax.set_ylim(-(cap / 2) - 1.3, cap / 2 + 0.9)
    if title:
        ax.set_title(textwrap.fill(title, int(width * 9)))  # about 9 title characters per inch
    finish(fig, path)
    return Diagram(columns, Path(path) if path is not None else None, fig)


def _draw_column(ax: Any, x: float, ys: list[float | None], layer: ZooLayer) -> int:
    drawn = 0
    for y in ys:
        if y is None:
            ax.text(x, 0, "...", ha="center", va="center", rotation=90, fontsize=12)
            continue
        draw_cell(ax, x, y, layer.kind)
        drawn += 1
        if layer.recurrent:
            _self_loop(ax, x, y)
    return drawn


def _connect(ax: Any, x0: float, x1: float, left: list[float | None], right: list[float | None], link: str) -> None:
    pairs = []
    if link == "full":
        pairs = [(a, b) for a in left if a is not None for b in right if b is not None]
    elif link == "one_to_one":
        pairs = [(a, b) for a, b in zip(left, right, strict=False) if a is not None and b is not None]
    for a, b in pairs:
        ax.plot([x0, x1], [a, b], color="#9a9a9a", linewidth=0.5, zorder=1)


def _lateral(ax: Any, x: float, ys: list[float | None]) -> None:
    from matplotlib.patches import FancyArrowPatch

    cells = [y for y in ys if y is not None]
    for i, a in enumerate(cells):
        for b in cells[i + 1:]:
            ax.add_patch(FancyArrowPatch((x + 0.2, a), (x + 0.2, b), connectionstyle="arc3,rad=-0.45",
                                         arrowstyle="-", color="#9a9a9a", linewidth=0.5, zorder=1))


def _self_loop(ax: Any, x: float, y: float) -> None:
    from matplotlib.patches import Arc

    ax.add_patch(Arc((x + 0.3, y + 0.2), 0.32, 0.32, theta1=-60, theta2=240, color="#333333", linewidth=0.8,
                     zorder=2))


def _skip(ax: Any, start: float, end: float, cap: int) -> None:
    from matplotlib.patches import FancyArrowPatch

    top = cap / 2 + 0.1
    ax.add_patch(FancyArrowPatch((start, top), (end, top), connectionstyle="arc3,rad=-0.4", arrowstyle="-|>",
                                 mutation_scale=10, color="#2a7ab0", linewidth=1.5, zorder=2))
    ax.text(end + 0.15, top, "+", color="#2a7ab0", fontsize=12, fontweight="bold", va="center")
