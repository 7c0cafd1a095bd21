"""The xor lab's figures (matplotlib, written under the run's folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from annrl.labs.xor.lab import FAILURE_KINDS, X, XorResult, Y


def write_figures(result: XorResult, out: Path) -> list[Path]:
    """The lab's figures: loss curves, success over epochs, histograms, two decision surfaces."""
    from annrl.viz import training as plots

    cfg = result.config
    paths = [out / "loss_curves.png", out / "success_vs_epochs.png", out / "final_loss_hist.png"]
    plots.loss_curves(result.loss, result.solved, paths[0])
    plots.success_over_epochs(result.solved_epoch, cfg.epochs, paths[1])
    plots.histogram(result.loss[-1], paths[2], xlabel="final loss", log=True, title="Final loss of every seed")
    solved_epochs = result.solved_epoch[result.solved]
    if len(solved_epochs):
        paths.append(out / "epochs_to_solve_hist.png")
        plots.histogram(solved_epochs, paths[-1], xlabel="epochs to solve", title="Epochs to solve (solved seeds)")
    picks, titles = _surface_picks(result)
    if picks:
        threshold = 0.0 if cfg.loss == "bce" else 0.5
        net = result.net.select(picks)
        paths.append(out / "decision_surfaces.png")
        plots.decision_surfaces(net.predict, X, Y, titles, paths[-1], threshold=threshold)
    return paths


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
