"""The memory lab's figures: cue and recall of every letter, recall curves, capacity, holding a bit.

Each takes ``ax=None`` (``fig=None`` for several panels), returns its Figure and writes a PNG only when
given ``path`` (see :mod:`annrl.viz.style`); :func:`write_figures` writes a command's files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from annrl.labs.memory.lab import MemoryResult, bit_sequences
from annrl.nn.hopfield import HEBBIAN_CAPACITY, LETTER_SHAPE

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the command
    from matplotlib.figure import Figure


def write_figures(result: MemoryResult, out: str | Path) -> list[Path]:
    """Cue -> recall for every letter, recall against letters stored, the capacity curve, and the
    working-memory accuracy against delay with a trained network's output over time, written under ``out``."""
    from annrl.viz.style import save_all

    figures = {"recall.png": recall(result)}
    if result.letters_curve:
        figures["letters_curve.png"] = recall_curve(
            result.letters_curve, xlabel="letters stored", title="Letters (63 neurons): recall from 10% flipped bits"
            if result.config.noise == 0.1 else "Letters (63 neurons)")
    if result.capacity:
        figures["capacity.png"] = capacity(result)
    if result.working_memory:
        figures["working_memory.png"] = working_memory(result)
        figures["held_bit.png"] = held_bit(result)
    return save_all(figures, out)


def recall(result: MemoryResult, path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """One column per letter: the stored pattern, its noisy cue and what the network recalled."""
    from annrl.viz.style import finish, panels

    L = len(result.letters)
    fig, axes = panels(fig, ncols=L, nrows=3, size=(1.3 * L + 0.8, 4.6))
    axes = np.asarray(axes).reshape(3, L)
    for k, letter in enumerate(result.letters):
        images = [result.net.patterns_[k], result.cues[k, 0], result.recalled[k, 0]]
        for row, (ax, image) in enumerate(zip(axes[:, k], images, strict=True)):
            ax.imshow(image.reshape(LETTER_SHAPE), cmap="Greys", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if k == 0:
                ax.set_ylabel(["stored", "cue", "recalled"][row])
        ok = bool(result.recall_ok[k, 0])
        axes[2, k].set_title("right" if ok else "wrong", fontsize=8, color="#2a7ab0" if ok else "#d1495b")
        axes[0, k].set_title(letter)
    fig.suptitle(f"{result.config.rule} rule: cue ({result.config.noise:.0%} bits flipped) -> recall; "
                 f"{100 * result.recall_ok.mean():.0f}% of {result.recall_ok.size} cues recalled")
    return finish(fig, path)


def recall_curve(curves: dict[str, list[dict[str, Any]]], path: str | Path | None = None, *, xlabel: str, title: str,
                 ax: Any = None) -> Figure:
    """Cues recalled exactly against the patterns stored, one line per rule (``curves``: rule -> rows)."""
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(5.2, 3.6))
    for rule, rows in curves.items():
        ax.plot([r["patterns"] for r in rows], [100 * r["recall_rate"] for r in rows], marker="o", label=rule)
    ax.set(xlabel=xlabel, ylabel="cues recalled exactly (%)", title=title, ylim=(-3, 103))
    ax.legend()
    return finish(fig, path)


def capacity(result: MemoryResult, path: str | Path | None = None, *, ax: Any = None) -> Figure:
    """Random patterns recalled (exactly, and to overlap 0.9) against the load, with Hebbian theory's 0.138."""
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(6.0, 3.8))
    colors = {"hebbian": "#2a7ab0", "pseudoinverse": "#d1495b"}
    for rule, rows in result.capacity.items():
        load = [r["load"] for r in rows]
        ax.plot(load, [100 * r["recall_rate"] for r in rows], marker="o", color=colors[rule], label=f"{rule}: exact")
        ax.plot(load, [100 * r["near_recall_rate"] for r in rows], ls="--", color=colors[rule],
                label=f"{rule}: overlap >= 0.9")
    ax.axvline(HEBBIAN_CAPACITY, color="k", lw=0.8, ls=":", label="0.138 (Hebbian, theory)")
    N = result.config.neurons
    ax.set(xlabel=f"patterns / neurons (N = {N})", ylabel="cues recalled (%)", ylim=(-3, 103),
           title=f"Capacity: random patterns, {result.config.noise:.0%} bits flipped")
    ax.legend(fontsize=7)
    return finish(fig, path)


def working_memory(result: MemoryResult, path: str | Path | None = None, *, ax: Any = None) -> Figure:
    """The bit recalled against the delay, trained and untrained, per recurrent cell (a dot per seed)."""
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(5.4, 3.6))
    colors = {"elman": "#d1495b", "gru": "#2a7ab0"}
    wm = result.config.working_memory
    for cell in dict.fromkeys(r["cell"] for r in result.working_memory):
        rows = [r for r in result.working_memory if r["cell"] == cell]
        delays = [r["delay"] for r in rows]
        name = f"gru, update bias {wm.update_bias:g}" if cell == "gru" else cell
        ax.plot(delays, [100 * r["accuracy"] for r in rows], marker="o", color=colors[cell], label=f"{name} (trained)")
        for r in rows:
            ax.scatter([r["delay"]] * len(r["accuracy_per_seed"]), [100 * a for a in r["accuracy_per_seed"]],
                       color=colors[cell], s=10, alpha=0.5)
        ax.plot(delays, [100 * r["untrained_accuracy"] for r in rows], ls=":", color=colors[cell],
                label=f"{cell} (untrained)")
    ax.set(xlabel="delay (steps)", ylabel="bit recalled (% of trials)", ylim=(40, 103),
           title=f"Holding a bit: noise {wm.noise}, {wm.hidden} units, {wm.steps} Adam steps")
    ax.legend(fontsize=7)
    return finish(fig, path)


def held_bit(result: MemoryResult, path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """The trained readout applied at every step of the longest delay: the bit stays readable."""
    from annrl.viz.style import finish, panels

    wm = result.config.working_memory
    delay = max(wm.delays)
    fig, axes = panels(fig, ncols=len(wm.cells), size=(4.4 * len(wm.cells), 3.4))
    axes = np.atleast_1d(axes)
    rng = np.random.default_rng(0)
    X, Y = bit_sequences(20, delay, wm.noise, rng)
    for ax, cell in zip(axes, wm.cells, strict=True):
        net = result.memory_nets[f"{cell}_{delay}"]
        row = next(r for r in result.working_memory if r["cell"] == cell and r["delay"] == delay)
        seed = int(np.argmax(row["accuracy_per_seed"]))
        states = np.asarray(net.layers[0].forward(net._layer_params[0], X)[0])[seed]  # (20, T, H)
        w, b = np.asarray(net.params_["2.weight"])[seed], np.asarray(net.params_["2.bias"])[seed]
        logits = states @ w + b  # (20, T, 1)
        for k in range(len(X)):
            ax.plot(np.arange(delay + 1), logits[k, :, 0], color="#2a7ab0" if Y[k, 0] else "#d1495b", lw=0.8)
        ax.axhline(0, color="k", lw=0.6)
        ax.set(xlabel="step", ylabel="readout logit", title=f"{cell}, delay {delay}, seed {seed} "
               f"({100 * row['accuracy_per_seed'][seed]:.0f}%)")
    return finish(fig, path)
