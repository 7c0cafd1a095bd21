"""The xor lab's figures: loss curves, success over epochs, histograms, decision surfaces.

The plots are :mod:`annrl.viz.training`'s (each takes ``ax=None``, returns its Figure and writes a PNG only
when given ``path``); :func:`write_figures` writes a command's files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.labs.xor.lab import FAILURE_KINDS, X, XorResult, Y

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the command
    from matplotlib.figure import Figure


def write_figures(result: XorResult, out: str | Path) -> list[Path]:
    """The lab's figures, written under ``out``: loss curves, success over epochs, histograms, decision surfaces."""
    from annrl.viz import training as plots
    from annrl.viz.style import save_all

    figures = {"loss_curves.png": plots.loss_curves(result.loss, result.solved),
               "success_vs_epochs.png": plots.success_over_epochs(result.solved_epoch, result.config.epochs),
               "final_loss_hist.png": plots.histogram(result.loss[-1], xlabel="final loss", log=True,
                                                      title="Final loss of every seed")}
    solved_epochs = result.solved_epoch[result.solved]
    if len(solved_epochs):
        figures["epochs_to_solve_hist.png"] = plots.histogram(solved_epochs, xlabel="epochs to solve",
                                                              title="Epochs to solve (solved seeds)")
    if _surface_picks(result)[0]:
        figures["decision_surfaces.png"] = decision_surfaces(result)
    return save_all(figures, out)


def decision_surfaces(result: XorResult, path: str | Path | None = None, *, fig: Figure | None = None) -> Figure:
    """The output over the plane of the first solved seed and of one seed of each way of failing (up to 3)."""
    from annrl.viz.training import decision_surfaces as draw

    picks, titles = _surface_picks(result)
    threshold = 0.0 if result.config.loss == "bce" else 0.5
    return draw(result.net.select(picks).predict, X, Y, titles, path, threshold=threshold, fig=fig)


def _surface_picks(result: XorResult) -> tuple[list[int], list[str]]:
    picks, titles = [], []
    solved = np.flatnonzero(result.solved)
    if len(solved):
        picks.append(int(solved[0]))
        titles.append(f"seed {solved[0]}: solved")
    for kind in FAILURE_KINDS:
        failed = np.flatnonzero(result.kinds == kind)
        if len(failed) and len(picks) < 3:
            picks.append(int(failed[0]))
            titles.append(f"seed {failed[0]}: {kind.replace('_', ' ')}")
    return picks, titles
