"""Elman RNN, GRU and LSTM on the adding problem: which recurrent cell can carry a number through time.

The adding problem (Hochreiter & Schmidhuber, 1997): each step of a sequence brings a random value in
[0, 1] and a marker; exactly two steps are marked, one in each half, and the answer, given only after
the last step, is the sum of the two marked values. Between a marked value and the answer lie up to
``T`` steps of distraction, so the cell must store the value and keep it. Predicting the mean gives a
mean squared error of 1/6; a cell that remembers gets close to zero.

All three cells read the sequence, the last output goes to one linear unit, and each is trained by
backpropagation through time (the engine's hand-written backward of :mod:`annrl.nn.recurrent`) with
Adam on fresh random batches. An Elman RNN multiplies its error by ``W_hh`` and ``tanh'`` at every step
back, so the error from the answer fades before it reaches the first marker; the GRU's update gate and
the LSTM's additive cell give the error a path that does not fade.

The figure of merit is each cell's mean squared error on 1000 held-out sequences, and its accuracy: the
fraction answered within 0.04 (the criterion of the original LSTM paper).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.errors import InputError
from annrl.nn import GRU, LSTM, Adam, Dense, ElmanRNN, Network, TakeLast
from annrl.nn.fit import Trainer

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "sequence"
SUMMARY = "Elman RNN, GRU and LSTM by backpropagation through time: gates carry a value across 20 steps"
STEPS, HIDDEN, BATCH_SIZE, LEARNING_RATE = 20, 16, 64, 1e-2
UPDATES, QUICK_UPDATES = 1000, 300
TEST_SEQUENCES, TOLERANCE = 1000, 0.04
MEAN_GUESS_MSE = 1.0 / 6.0  # variance of the sum of two U(0, 1) values
CELLS = {"Elman": ElmanRNN, "GRU": GRU, "LSTM": LSTM}


def adding_problem(n: int, steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences ``(n, steps, 2)`` (value, marker) and their answers ``(n, 1)``.

    One marker falls in the first half of each sequence and one in the second half.
    """
    if steps < 2:
        raise InputError(f"the adding problem needs sequences of at least 2 steps, got {steps}")
    X = np.zeros((n, steps, 2))
    X[..., 0] = rng.random((n, steps))
    rows = np.arange(n)
    X[rows, rng.integers(0, steps // 2, n), 1] = 1.0
    X[rows, rng.integers(steps // 2, steps, n), 1] = 1.0
    return X, np.sum(X[..., 0] * X[..., 1], axis=1, keepdims=True)


def model(cell: str, seed: int = 0) -> Network:
    """``cell`` ("Elman", "GRU" or "LSTM") of ``HIDDEN`` units, its last step read by one linear unit."""
    if cell not in CELLS:
        raise InputError(f"cell must be one of {list(CELLS)}, got {cell!r}")
    return Network([CELLS[cell](2, HIDDEN), TakeLast(), Dense(HIDDEN, 1)], init="torch", seed=seed)


def build(seed: int = 0) -> Network:
    """The LSTM model: ``(N, T, 2)`` sequences -> ``(1, N, 1)`` answers."""
    return model("LSTM", seed)


def train(net: Network, updates: int, rng: np.random.Generator, test: tuple[np.ndarray, np.ndarray],
          every: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """``updates`` Adam steps on fresh batches; the test MSE every ``every`` steps: ``(steps, mse)``.

    The step size is ``LEARNING_RATE`` for the first 80% of the updates and a tenth of it after: large
    steps get the cells off the plateau where they answer the mean, small ones let the answers settle.
    """
    X, Y = adding_problem(BATCH_SIZE, STEPS, rng)
    optimizer = Adam(lr=LEARNING_RATE)
    trainer = Trainer(net, X, Y, loss="mse", optimizer=optimizer)
    checkpoints, errors = [0], [held_out_mse(net, *test)]
    for update in range(1, updates + 1):
        optimizer.lr = LEARNING_RATE if update <= 0.8 * updates else LEARNING_RATE / 10
        X, Y = adding_problem(BATCH_SIZE, STEPS, rng)
        trainer.step(net.asarray(X), net.asarray(Y))
        if update % every == 0 or update == updates:
            checkpoints.append(update)
            errors.append(held_out_mse(net, *test))
    return np.array(checkpoints), np.array(errors)


def held_out_mse(net: Network, X: np.ndarray, Y: np.ndarray) -> float:
    return float(np.mean((np.asarray(net.predict(X))[0] - Y) ** 2))


def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Train the three cells on the same data; write ``sequence.png``; return each one's test MSE and accuracy."""
    from annrl.nn.lbfgs import single_threaded_blas

    test = adding_problem(TEST_SEQUENCES, STEPS, np.random.default_rng(10_000 + seed))
    updates = QUICK_UPDATES if quick else UPDATES
    metrics: dict[str, float] = {"sequence_steps": float(STEPS), "updates": float(updates),
                                 "mean_guess_mse": MEAN_GUESS_MSE}
    curves, predictions = {}, {}
    # small matrices (64 x 16): waking BLAS threads at every step costs more than they save
    with single_threaded_blas():
        for cell in CELLS:
            net = model(cell, seed)
            curves[cell] = train(net, updates, np.random.default_rng(seed), test)
            predictions[cell] = np.asarray(net.predict(test[0]))[0, :, 0]
            errors = predictions[cell] - test[1][:, 0]
            metrics[f"{cell.lower()}_test_mse"] = float(np.mean(errors**2))
            metrics[f"{cell.lower()}_accuracy"] = float(np.mean(np.abs(errors) < TOLERANCE))
    figure(curves, Path(out) / "sequence.png", predictions=predictions, truth=test[1][:, 0])
    return metrics


def figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path | None = None, *, predictions: dict[str,
           np.ndarray],
           truth: np.ndarray, fig: Figure | None = None) -> Figure:
    """Held-out MSE against updates of each cell (``curves``: ``(steps, mse)`` from :func:`train`), and each
    cell's ``predictions`` ``(n,)`` against the ``truth`` ``(n,)``: two panels."""
    from annrl.viz.style import finish, panels

    colors = {"Elman": "#d1495b", "GRU": "#edae49", "LSTM": "#2a7ab0"}
    fig, (curve_ax, scatter_ax) = panels(fig, 2, size=(9.5, 3.8))
    for cell, (steps, mse) in curves.items():
        curve_ax.plot(steps, mse, color=colors[cell], label=cell)
    curve_ax.axhline(MEAN_GUESS_MSE, color="k", ls=":", lw=1, label="predicting the mean")
    curve_ax.set(xlabel="Adam update (batch of 64)", ylabel="held-out MSE", yscale="log",
                 title=f"adding problem, {STEPS} steps")
    curve_ax.legend()
    for cell, predicted in predictions.items():
        scatter_ax.scatter(truth, predicted, s=3, alpha=0.5, color=colors[cell], label=cell)
    scatter_ax.plot([0, 2], [0, 2], color="k", lw=0.8)
    scatter_ax.set(xlabel="true sum", ylabel="answer", title="answers on held-out sequences", xlim=(0, 2),
                   ylim=(-0.2, 2.2))
    scatter_ax.legend(markerscale=4)
    return finish(fig, path)
