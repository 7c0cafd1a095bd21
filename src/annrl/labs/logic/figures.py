"""The logic lab's figures: network diagrams, the width sweep, what each neuron computes, one neuron's limits.

Each takes ``ax=None`` (``fig=None`` for several panels), returns its Figure and writes a PNG only when
given ``path`` (see :mod:`annrl.viz.style`); :func:`write_figures` writes a command's files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from annrl.errors import InputError
from annrl.labs.logic.lab import LogicResult, threshold_unit_line, truth_rows

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the command
    from matplotlib.figure import Figure


def write_figures(result: LogicResult, out: str | Path) -> list[Path]:
    """Compiled and learned network diagrams, the width sweep, the truth table of a learned network's
    neurons, and (with ``limits``) the 16 two-input functions on a single neuron, written under ``out``."""
    from annrl.viz.style import save_all

    figures = {}
    if result.compiled is not None:
        figures["compiled_network.png"] = compiled_network(result)
    if result.runs:
        figures["hidden_sweep.png"] = hidden_sweep(result)
    if result.chosen is not None and result.explained_seed is not None:
        figures["learned_network.png"] = learned_network(result)
        figures["learned_truth_table.png"] = truth_table(result)
    if result.limits:
        figures["single_neuron.png"] = single_neuron(result.limits)
    return save_all(figures, out)


def compiled_network(result: LogicResult, path: str | Path | None = None, *, ax: Any = None) -> Figure:
    """The compiled threshold network, each hidden unit labelled with the clause it computes."""
    from annrl.viz.network_diagram import draw_network

    fn, c = result.function, result.compiled
    if c is None:
        raise InputError("result has no compiled network: train it with compile=True", field="result")
    return draw_network(c.net, path, input_names=fn.inputs, output_names=fn.outputs, unit_labels=[c.hidden_labels],
                        title=f"Compiled threshold network (depth {c.depth}, {c.hidden} hidden, exact: {c.exact})",
                        ax=ax)


def learned_network(result: LogicResult, path: str | Path | None = None, *, ax: Any = None) -> Figure:
    """The explained seed of the chosen width, each hidden unit labelled with the formula it was read as."""
    from annrl.viz.network_diagram import draw_network

    fn = _learned(result).function
    labels = [[e.formula for e in result.explanation]] if result.explanation else None
    return draw_network(result.chosen.net, path, index=result.explained_seed, input_names=fn.inputs,
                        output_names=fn.outputs, unit_labels=labels, ax=ax,
                        title=f"Learned network, seed {result.explained_seed} "
                              f"({result.config.activation}, {result.chosen.hidden} hidden)")


def hidden_sweep(result: LogicResult, path: str | Path | None = None, *, ax: Any = None) -> Figure:
    """The share of seeds that learn the function, per hidden width (reliable widths in blue)."""
    from annrl.viz.style import finish, panel
    from annrl.viz.training import FAILED, SOLVED

    widths = [r.hidden for r in result.runs]
    rates = [100 * r.success_rate for r in result.runs]
    fig, ax = panel(ax, size=(5.0, 3.4))
    colors = [SOLVED if r >= 100 * result.config.reliable else FAILED for r in rates]
    ax.bar(widths, rates, color=colors)
    reliable = result.config.reliable
    ax.axhline(100 * reliable, color="k", lw=0.8, ls="--", label=f"reliable ({reliable:.0%})")
    ax.set(xlabel="hidden units (0: a single neuron)", ylabel="seeds that learn it (%)", ylim=(0, 105),
           title=f"Learning {result.config.expression} ({result.config.seeds} seeds, {result.config.activation})")
    ax.set_xticks(widths)
    ax.legend(loc="upper left")
    return finish(fig, path)


def truth_table(result: LogicResult, path: str | Path | None = None, *, ax: Any = None) -> Figure:
    """Rows of the truth table; columns: inputs, every hidden neuron, outputs (probabilities)."""
    from annrl.viz.style import finish, panel

    fn, net, seed = result.function, _learned(result).chosen.net, result.explained_seed
    outputs = net.layer_outputs(fn.X)
    logits = np.asarray(outputs[-1])[seed]
    columns = [fn.X]
    names = list(fn.inputs)
    if len(outputs) >= 4:
        hidden = np.asarray(outputs[1])[seed]
        if result.config.activation == "tanh":
            hidden = (hidden + 1.0) / 2.0
        columns.append(hidden)
        names += [f"h{k}" for k in range(hidden.shape[1])]
    columns += [1.0 / (1.0 + np.exp(-logits)), fn.Y]
    names += [f"{o} (net)" for o in fn.outputs] + [f"{o} (target)" for o in fn.outputs]
    data = np.column_stack(columns)
    rows = len(data)
    fig, ax = panel(ax, size=(0.55 * data.shape[1] + 2.5, 0.28 * rows + 1.6))
    ax.imshow(data, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
    ax.set_yticks(range(rows), truth_rows(fn) if rows <= 32 else [""] * rows, fontsize=7)
    ax.grid(False)
    if rows <= 32:
        for i in range(rows):
            for j in range(data.shape[1]):
                ax.text(j, i, f"{data[i, j]:.2f}".rstrip("0").rstrip("."), ha="center", va="center", fontsize=6,
                        color="white" if data[i, j] > 0.6 else "black")
    scale = " (tanh mapped to 0..1)" if result.config.activation == "tanh" else ""
    ax.set_title(f"What each neuron computes, seed {seed}{scale}")
    return finish(fig, path)


def single_neuron(rows: list[dict[str, Any]], path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """The 16 functions of (a, b) (``rows``: ``LogicResult.limits``): their four points, and a separating
    line when one exists."""
    from annrl.viz.style import finish, panels

    fig, axes = panels(fig, ncols=4, nrows=4, size=(9.0, 9.0))
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    for ax, row in zip(axes.ravel(), rows, strict=True):
        y = np.array(row["table"])
        ax.scatter(X[:, 0], X[:, 1], c=["#0877bd" if v else "#f59322" for v in y], s=90, edgecolors="k", zorder=3)
        line = threshold_unit_line(row["table"])
        if line is not None:
            xs, ys = line
            ax.plot(xs, ys, color="k", lw=1.2)
        verdict = "separable" if row["separable"] else "NOT separable"
        ax.set_title(f"{row['function']}\n{verdict}; learned {100 * row['learned_success_rate']:.0f}%", fontsize=8)
        ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xticks=[0, 1], yticks=[0, 1], aspect="equal")
    fig.suptitle("Which two-input functions can one threshold neuron represent?")
    return finish(fig, path)


def _learned(result: LogicResult) -> LogicResult:
    if result.chosen is None or result.explained_seed is None:
        raise InputError("result has no learned network to draw: train it with learn=True", field="result")
    return result
