"""Function approximation: time to fit sin(x) to MSE < 1e-3, annrl against scikit-learn in the same run.

    python benchmarks/approx.py [--seeds 5] [--repeat 3] [--json results.json]

The task (issue #5): sin(x) on 256 evenly spaced points of [-pi, pi] (raw inputs, no scaling),
one hidden layer of 32 tanh units, a linear output, squared error, until the training MSE is below
1e-3. Every contestant starts from its own library's initialisation with seeds 0..seeds-1; a
figure is the median over seeds of the best of ``--repeat`` timed runs (after one warm-up fit).

annrl stops the moment the MSE is below the target (``until``). scikit-learn's ``MLPRegressor``
cannot stop at a loss value, so it is timed twice:

- ``default stop``: ``fit`` with its own stopping rules (max_iter=200; adam: tol 1e-4 over 10
  epochs), as a user would run it; the MSE it ends with is reported;
- ``best case``: ``fit`` with the smallest ``max_iter`` that reaches MSE < 1e-3 for that seed
  (found by bisection beforehand, not timed), i.e. as if it knew when to stop.

annrl's L-BFGS limits BLAS to one thread while it runs (SciPy makes many tiny BLAS calls); the
rows ``1 BLAS thread`` give scikit-learn the same advantage (or run the whole script with
``OPENBLAS_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np

from annrl.nn import MLP, Adam, fit
from annrl.nn.lbfgs import fit_lbfgs

X = np.linspace(-np.pi, np.pi, 256)[:, None]
Y = np.sin(X)
TARGET_MSE = 1e-3


def mse(prediction: np.ndarray) -> float:
    return float(np.mean((np.ravel(prediction) - Y.ravel()) ** 2))


# -- annrl -------------------------------------------------------------------------------------------
def annrl_lbfgs(seed: int) -> tuple[float, int]:
    net = MLP([1, 32, 1], hidden="tanh", init="torch", seed=seed)
    history = fit_lbfgs(net, X, Y, until=TARGET_MSE, max_iter=5000)
    return mse(net.predict(X)[0]), int(history.iterations[0])


def annrl_adam(seed: int) -> tuple[float, int]:
    net = MLP([1, 32, 1], hidden="tanh", init="torch", seed=seed)
    history = fit(net, X, Y, optimizer=Adam(lr=1e-2), epochs=20000, until=TARGET_MSE)
    return mse(net.predict(X)[0]), int(history.reached_epoch[0])


# -- scikit-learn ----------------------------------------------------------------------------------
def sklearn_model(solver: str, seed: int, max_iter: int | None = None):
    from sklearn.neural_network import MLPRegressor

    settings = {"learning_rate_init": 1e-2} if solver == "adam" else {}
    if max_iter is not None:  # run exactly max_iter epochs/iterations
        settings.update(max_iter=max_iter, tol=0.0, n_iter_no_change=max_iter + 1)
    return MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", solver=solver, random_state=seed, **settings)


def sklearn_fit(solver: str, seed: int, max_iter: int | None = None, threads: int | None = None) -> tuple[float, int]:
    model = sklearn_model(solver, seed, max_iter)
    with warnings.catch_warnings(), _blas_threads(threads):
        warnings.simplefilter("ignore")
        model.fit(X, Y.ravel())
    return mse(model.predict(X)), int(model.n_iter_)


def smallest_max_iter(solver: str, seed: int, high: int = 4096) -> int | None:
    """The smallest max_iter whose fit reaches MSE < target (bisection; None if ``high`` does not)."""
    if sklearn_fit(solver, seed, high)[0] >= TARGET_MSE:
        return None
    low = 0  # low fails, high succeeds
    while high - low > 1:
        middle = (low + high) // 2
        if sklearn_fit(solver, seed, middle)[0] < TARGET_MSE:
            high = middle
        else:
            low = middle
    return high


def _blas_threads(threads: int | None):
    if threads is None:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


# -- timing ------------------------------------------------------------------------------------------
def timed(run: Callable[[], tuple[float, int]], repeat: int) -> tuple[float, float, int]:
    """(best seconds of ``repeat`` runs, MSE reached, iterations) of ``run``."""
    best, result = np.inf, (np.nan, 0)
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result[0], result[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="initialisations per contestant")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per seed; the best is kept")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args()
    seeds = range(args.seeds)
    contestants: dict[str, Callable[[int], tuple[float, int]]] = {
        "annrl lbfgs (SciPy L-BFGS-B on flat params)": annrl_lbfgs,
        "annrl adam lr=1e-2, full batch": annrl_adam,
    }
    try:
        import sklearn
    except ImportError:
        sklearn = None
        print("scikit-learn is not installed: annrl only")
    if sklearn is not None:
        best_lbfgs = {s: smallest_max_iter("lbfgs", s) for s in seeds}
        best_adam = {s: smallest_max_iter("adam", s) for s in seeds}
        contestants.update({
            "sklearn lbfgs, default stop": lambda s: sklearn_fit("lbfgs", s),
            "sklearn lbfgs, best case": lambda s: sklearn_fit("lbfgs", s, best_lbfgs[s]),
            "sklearn lbfgs, best case, 1 BLAS thread": lambda s: sklearn_fit("lbfgs", s, best_lbfgs[s], threads=1),
            "sklearn adam lr=1e-2, default stop": lambda s: sklearn_fit("adam", s),
            "sklearn adam lr=1e-2, best case": lambda s: sklearn_fit("adam", s, best_adam[s]),
            "sklearn adam lr=1e-2, best case, 1 BLAS thread": lambda s: sklearn_fit("adam", s, best_adam[s], threads=1),
        })
    annrl_lbfgs(0)  # warm-up: imports, allocator
    rows = []
    for name, run in contestants.items():
        if "best case" in name and any(v is None for v in (best_lbfgs if "lbfgs" in name else best_adam).values()):
            rows.append({"contestant": name, "time_s": None, "mse": None, "iterations": None, "reached": 0})
            continue
        results = [timed(lambda s=s, run=run: run(s), args.repeat) for s in seeds]
        times, errors, iterations = (np.array(column) for column in zip(*results, strict=True))
        rows.append({"contestant": name, "time_s": float(np.median(times)), "time_min_s": float(times.min()),
                     "mse": float(np.median(errors)), "iterations": float(np.median(iterations)),
                     "reached": int(np.sum(errors < TARGET_MSE))})
    print(f"sin(x), 256 points, 1x32 tanh, to MSE < {TARGET_MSE:g}; median over {args.seeds} seeds "
          f"(best of {args.repeat} runs each)\n")
    print("| contestant | time (ms) | iterations / epochs | MSE reached | seeds < 1e-3 |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        time_ms = "-" if row["time_s"] is None else f"{1e3 * row['time_s']:.1f}"
        mse_text = "-" if row["mse"] is None else f"{row['mse']:.2e}"
        its = "-" if row["iterations"] is None else f"{row['iterations']:g}"
        print(f"| {row['contestant']} | {time_ms} | {its} | {mse_text} | {row['reached']}/{args.seeds} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
