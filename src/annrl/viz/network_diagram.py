"""Network diagrams in the style of a playground: neurons in columns, weights as coloured edges.

An edge's colour is the sign of its weight (blue positive, orange negative) and its width grows
with ``|w|``; a neuron's fill is the sign and size of its bias. The diagram is read from the network
object itself (its ``Dense`` layers and their activations), so it always shows the weights in use.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from annrl.errors import InputError
from annrl.viz.style import finish, panel

POSITIVE, NEGATIVE = "#0877bd", "#f59322"
#: weights are written on the edges when there are at most this many
MAX_LABELLED_EDGES = 40


def dense_layers(net: Any, index: int = 0) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """``[(weight (in, out), bias (out,), activation name)]`` of network ``index``, input to output.

    Raises ValueError for a layer that is neither ``Dense`` nor an activation (e.g. a recurrent one).
    """
    from annrl.nn import ActivationLayer, Dense

    if not 0 <= index < net.population:
        raise InputError(f"index must be in [0, {net.population}), got {index}")
    layers: list[tuple[np.ndarray, np.ndarray, str]] = []
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Dense):
            weight = np.asarray(net.params_[f"{i}.weight"])[index]
            bias = np.asarray(net.params_[f"{i}.bias"])[index, 0]
            layers.append((weight, bias, "identity"))
        elif isinstance(layer, ActivationLayer) and layers:
            weight, bias, _ = layers[-1]
            layers[-1] = (weight, bias, layer.activation.name)
        else:
            raise InputError(f"draw_network draws Dense and activation layers, got {layer!r}")
    if not layers:
        raise InputError("draw_network needs at least one Dense layer")
    return layers


def draw_network(net: Any, path: str | Path | None = None, *, index: int = 0, input_names: Sequence[str] | None = None,
                 unit_labels: Sequence[Sequence[str]] | None = None, output_names: Sequence[str] | None = None,
                 title: str | None = None, show_weights: bool | None = None, ax: Any = None) -> Figure:
    """Draw network ``index`` of ``net`` (dense layers); write it as a PNG when given ``path``.

    Parameters
    ----------
    net : Network
        Dense layers, each optionally followed by an activation.
    path : str or Path, optional
        Where to write the PNG (none: only the Figure is returned).
    index : int, default=0
        Which network of the population.
    input_names, output_names : sequence of str, optional
        Labels of the inputs (left) and outputs (right).
    unit_labels : sequence of sequence of str, optional
        One list per hidden layer: a label per neuron, e.g. the Boolean function it computes.
    title : str, optional
    show_weights : bool, optional
        Write the weights on the edges and the biases in the neurons; default when the network has
        at most :data:`MAX_LABELLED_EDGES` edges.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure sized to the network).

    Returns
    -------
    matplotlib.figure.Figure
    """
    layers = dense_layers(net, index)
    sizes = [layers[0][0].shape[0]] + [w.shape[1] for w, _, _ in layers]
    n_edges = sum(w.size for w, _, _ in layers)
    show_weights = n_edges <= MAX_LABELLED_EDGES if show_weights is None else show_weights
    tallest = max(sizes)
    fig, ax = panel(ax, size=(2.6 * len(sizes) + 1.5, 0.75 * tallest + 1.6))
    ax.set_axis_off()
    ax.grid(False)
    positions = [[(col * 3.0, (size - 1) / 2.0 - k) for k in range(size)] for col, size in enumerate(sizes)]
    largest = max(float(np.abs(w).max(initial=0.0)) for w, _, _ in layers) or 1.0
    for col, (weight, _, _) in enumerate(layers):
        for k, (x0, y0) in enumerate(positions[col]):
            for j, (x1, y1) in enumerate(positions[col + 1]):
                w = float(weight[k, j])
                if w == 0.0:
                    continue
                ax.plot([x0, x1], [y0, y1], color=POSITIVE if w > 0 else NEGATIVE,
                        lw=0.4 + 5.0 * abs(w) / largest, alpha=0.75, zorder=1, solid_capstyle="round")
                if show_weights:
                    t = 0.3 if len(positions[col + 1]) > 1 else 0.45
                    ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), _number(w), fontsize=7, ha="center",
                            va="center", zorder=3, bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                                                         "alpha": 0.8})
    biggest_bias = max(float(np.abs(b).max(initial=0.0)) for _, b, _ in layers) or 1.0
    input_names = list(input_names) if input_names is not None else [f"x{k + 1}" for k in range(sizes[0])]
    output_names = list(output_names) if output_names is not None else [f"y{k + 1}" for k in range(sizes[-1])]
    for col, column in enumerate(positions):
        for k, (x, y) in enumerate(column):
            if col == 0:
                ax.scatter([x], [y], s=420, marker="s", color="#eeeeee", edgecolors="#444444", zorder=2)
                ax.text(x - 0.35, y, input_names[k], ha="right", va="center", fontsize=9)
                continue
            bias = float(layers[col - 1][1][k])
            shade = abs(bias) / biggest_bias
            face = _mix(POSITIVE if bias > 0 else NEGATIVE, shade * 0.8)
            ax.scatter([x], [y], s=620, color=face, edgecolors="#444444", zorder=2)
            if show_weights:
                ax.text(x, y, _number(bias), ha="center", va="center", fontsize=7, zorder=4)
            if col == len(positions) - 1:
                ax.text(x + 0.35, y, output_names[k], ha="left", va="center", fontsize=9)
            elif unit_labels is not None and col - 1 < len(unit_labels) and k < len(unit_labels[col - 1]):
                label = textwrap.fill(str(unit_labels[col - 1][k]), 26)
                ax.text(x, y - 0.3, label, ha="center", va="top", fontsize=7, color="#333333", zorder=4)
    for col in range(1, len(sizes)):
        ax.text(col * 3.0, (tallest - 1) / 2.0 + 0.75, layers[col - 1][2], ha="center", va="bottom",
                fontsize=8, color="#666666")
    ax.set_xlim(-1.6, 3.0 * (len(sizes) - 1) + 1.6)
    ax.set_ylim(-(tallest - 1) / 2.0 - 1.2, (tallest - 1) / 2.0 + 1.1)
    ax.plot([], [], color=POSITIVE, lw=3, label="positive weight")
    ax.plot([], [], color=NEGATIVE, lw=3, label="negative weight")
    ax.legend(loc="lower right", frameon=False, fontsize=7)
    if title:
        ax.set_title(title)
    return finish(fig, path)


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2g}" if abs(value) < 10 else f"{value:.0f}"


def _mix(color: str, amount: float) -> tuple[float, float, float]:
    """``color`` blended with white: ``amount`` 0 is white, 1 the colour."""
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(color))
    return tuple(1.0 - amount * (1.0 - rgb))
