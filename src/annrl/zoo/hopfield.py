"""The Hopfield network (1982) in the zoo: the engine's implementation (the memory lab's), drawn and demonstrated.

Nothing is re-implemented here: storage (Hebbian or pseudo-inverse rule), asynchronous recall and
the energy come from :mod:`annrl.nn.hopfield`. This module adds the zoo's view of it, one layer of
backfed input cells, each connected to every other, and a demo: letters recalled from corrupted cues,
with the energy ``E = -1/2 s^T W s`` falling sweep after sweep.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.nn import hopfield
from annrl.zoo.diagram import ZooLayer
from annrl.zoo.speed import one_blas_thread

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "hopfield"
SUMMARY = "Hopfield network: an associative memory that recalls stored letters from corrupted cues"
LETTERS = 4
NOISE = 0.15


class HopfieldModel:
    """A :class:`annrl.nn.hopfield.Hopfield` network with the zoo's diagram (``network`` holds it)."""

    def __init__(self, network: hopfield.Hopfield, neurons: int):
        self.network, self.neurons = network, int(neurons)

    def zoo_layers(self) -> list[ZooLayer]:
        # every neuron is input and output at once, connected to all others (symmetric, no self-weight)
        return [ZooLayer("backfed_input", self.neurons, f"{self.network.rule} rule", lateral=True)]


def build(seed: int = 0) -> HopfieldModel:
    """The demo's network: the most distinct letters stored by the Hebbian rule (63 neurons)."""
    patterns = hopfield.letter_patterns(hopfield.distinct_letters(LETTERS))
    return HopfieldModel(hopfield.Hopfield("hebbian").store(patterns), patterns.shape[1])


def energy_path(net: hopfield.Hopfield, cue: np.ndarray, rng: np.random.Generator, sweeps: int = 6) -> list[float]:
    """The energy of ``cue`` ``(N,)`` and after each of ``sweeps`` asynchronous sweeps."""
    state, path = cue[None], [float(hopfield.energy(net.weights_, cue[None])[0])]
    for _ in range(sweeps):
        state, _ = net.recall(state, rng, max_sweeps=1)
        path.append(float(hopfield.energy(net.weights_, state)[0]))
    return path


@one_blas_thread
def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Cue each stored letter with 15% of its bits flipped, many times; report the exact-recall rate."""
    rng = np.random.default_rng(seed)
    model = build(seed)
    net = model.network
    repeats = 10 if quick else 50
    targets = np.repeat(net.patterns_, repeats, axis=0)
    cues = hopfield.corrupt(targets, NOISE, rng)
    final, sweeps = net.recall(cues, rng)
    recalled = np.all(final == targets, axis=1)
    paths = [energy_path(net, cues[i * repeats], rng) for i in range(len(net.patterns_))]
    figure(cues[::repeats], Path(out) / "hopfield.png", final=final[::repeats], paths=paths)
    return {"recall_rate": float(recalled.mean()), "noise": NOISE, "letters": float(len(net.patterns_)),
            "mean_sweeps": float(sweeps.mean()),
            "energy_never_rose": float(all(np.all(np.diff(p) <= 1e-12) for p in paths))}


def figure(cues: np.ndarray, path: str | Path | None = None, *, final: np.ndarray, paths: list[list[float]],
           fig: Figure | None = None) -> Figure:
    """Each cue ``(k, 63)`` (a 9 x 7 letter) above what it recalled (``final``, same shape), and the energy per
    sweep of each ``paths`` entry (:func:`energy_path`): ``2k + 1`` panels."""
    from annrl.viz.style import finish, new_figure

    k = len(cues)
    fig = fig if fig is not None else new_figure(size=(2.0 * k + 3.5, 4.2))
    grid = fig.add_gridspec(2, k + 2)
    for i in range(k):
        for row, (images, title) in enumerate(((cues, "cue"), (final, "recalled"))):
            ax = fig.add_subplot(grid[row, i])
            ax.imshow(images[i].reshape(hopfield.LETTER_SHAPE), cmap="gray_r", vmin=-1, vmax=1)
            ax.set_axis_off()
            ax.set_title(title, fontsize=8)
    ax = fig.add_subplot(grid[:, k:])
    for p in paths:
        ax.plot(p, "o-", ms=3)
    ax.set(title="energy per sweep", xlabel="sweep", ylabel="E = -1/2 s'Ws")
    return finish(fig, path)
