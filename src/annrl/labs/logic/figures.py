"""The logic lab's figures (matplotlib, written under the run's folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from annrl.labs.logic.lab import LogicResult, threshold_unit_line, truth_rows


def write_figures(result: LogicResult, out: Path) -> list[Path]:
    """Compiled and learned network diagrams, the width sweep, the truth table of a learned network's
    neurons, and (with ``limits``) the 16 two-input functions on a single neuron."""
    from annrl.viz.network_diagram import draw_network

    fn, paths = result.function, []
    if result.compiled is not None:
        c = result.compiled
        paths.append(out / "compiled_network.png")
        draw_network(c.net, paths[-1], input_names=fn.inputs, output_names=fn.outputs,
                     unit_labels=[c.hidden_labels], title=f"Compiled threshold network "
                     f"(depth {c.depth}, {c.hidden} hidden, exact: {c.exact})")
    if result.runs:
        paths.append(_sweep_figure(result, out / "hidden_sweep.png"))
    if result.chosen is not None and result.explained_seed is not None:
        labels = [[e.formula for e in result.explanation]] if result.explanation else None
        paths.append(out / "learned_network.png")
        draw_network(result.chosen.net, paths[-1], index=result.explained_seed,
                     input_names=fn.inputs, output_names=fn.outputs, unit_labels=labels,
                     title=f"Learned network, seed {result.explained_seed} "
                     f"({result.config.activation}, {result.chosen.hidden} hidden)")
        paths.append(_truth_table_figure(result, out / "learned_truth_table.png"))
    if result.limits:
        paths.append(_limits_figure(result.limits, out / "single_neuron.png"))
    return paths


def _sweep_figure(result: LogicResult, path: Path) -> Path:
    from annrl.viz.style import figure, save
    from annrl.viz.training import FAILED, SOLVED

    widths = [r.hidden for r in result.runs]
    rates = [100 * r.success_rate for r in result.runs]
    fig, ax = figure(size=(5.0, 3.4))
    colors = [SOLVED if r >= 100 * result.config.reliable else FAILED for r in rates]
    ax.bar(widths, rates, color=colors)
    reliable = result.config.reliable
    ax.axhline(100 * reliable, color="k", lw=0.8, ls="--", label=f"reliable ({reliable:.0%})")
    ax.set(xlabel="hidden units (0: a single neuron)", ylabel="seeds that learn it (%)", ylim=(0, 105),
           title=f"Learning {result.config.expression} ({result.config.seeds} seeds, {result.config.activation})")
    ax.set_xticks(widths)
    ax.legend(loc="upper left")
    return save(fig, path)


def _truth_table_figure(result: LogicResult, path: Path) -> Path:
    """Rows of the truth table; columns: inputs, every hidden neuron, outputs (probabilities)."""
    from annrl.viz.style import figure, save

    fn, net, seed = result.function, result.chosen.net, result.explained_seed
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
    fig, ax = figure(size=(0.55 * data.shape[1] + 2.5, 0.28 * rows + 1.6))
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
    return save(fig, path)


def _limits_figure(rows: list[dict[str, Any]], path: Path) -> Path:
    """The 16 functions of (a, b): their four points, and a separating line when one exists."""
    from annrl.viz.style import figure, save

    fig, axes = figure(ncols=4, nrows=4, size=(9.0, 9.0))
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
    return save(fig, path)
