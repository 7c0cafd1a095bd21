"""L-BFGS for annrl networks: SciPy's L-BFGS-B over one network's flat parameters at a time.

For a small network on a full batch, a quasi-Newton method needs tens of iterations where
Adam needs thousands of epochs. The engine has no line search (its optimizers see gradients
only), so this module hands SciPy the two things it needs, written on the engine's own pieces:
the loss and its gradient, ``w -> (L(w), dL/dw)``, from ``net.forward`` and ``net.backward`` on
the flat parameter row ``net.flat_[p]``. The ``P`` networks of a population are trained one
after another (L-BFGS keeps a curvature memory per network that cannot be shared).

>>> import numpy as np
>>> from annrl.nn import MLP
>>> X = np.linspace(-1, 1, 64)[:, None]
>>> net = MLP([1, 16, 1], hidden="tanh", init="torch", seed=0)
>>> history = fit_lbfgs(net, X, np.sin(3 * X), until=1e-4, max_iter=500)
>>> bool(history.final_loss[0] <= 1e-4)
True
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from annrl.backend import to_numpy
from annrl.errors import InputError
from annrl.nn import History, Network, get_loss
from annrl.nn.fit import quiet_overflow
from annrl.nn.losses import Loss

#: ``callback(index, iteration, params) -> stop?``: network ``index`` after ``iteration`` iterations
IterationCallback = Callable[[int, int, np.ndarray], bool]


@dataclass
class LbfgsHistory(History):
    """A :class:`~annrl.nn.History` whose epochs are L-BFGS iterations, plus SciPy's verdicts.

    Attributes
    ----------
    iterations : ndarray of int, shape (P,)
        Iterations each network ran (rows of ``loss`` after that repeat its last loss).
    evaluations : ndarray of int, shape (P,)
        Loss-and-gradient evaluations (line searches need more than one per iteration).
    messages : list of str
        Why each network stopped (SciPy's message, or "tolerance reached").
    """

    iterations: np.ndarray | None = None
    evaluations: np.ndarray | None = None
    messages: list[str] | None = None


def fit_lbfgs(
    net: Network,
    X: Any,
    Y: Any,
    *,
    loss: str | Loss = "mse",
    max_iter: int = 1000,
    until: float | None = None,
    weight_decay: float = 0.0,
    gtol: float = 1e-10,
    ftol: float = 1e-15,
    memory: int = 10,
    callback: IterationCallback | None = None,
) -> LbfgsHistory:
    """Train every network of ``net`` with L-BFGS-B (SciPy), one network after another.

    Parameters
    ----------
    net : Network
        Trained in place (NumPy backend, float64 recommended).
    X : array, shape (N, in) or (P, N, in)
    Y : array, shape (N, out) or (P, N, out)
    loss : str or Loss, default="mse"
    max_iter : int, default=1000
        Iterations per network.
    until : float, optional
        A network stops as soon as its training loss is <= ``until``.
    weight_decay : float, default=0.0
        Adds ``weight_decay / 2 * ||w||^2`` to the loss (the gradient of the engine's
        ``weight_decay``, ``weight_decay * w``).
    gtol, ftol : float
        SciPy's stopping rules: projected gradient below ``gtol``, relative decrease below ``ftol``.
    memory : int, default=10
        Number of correction pairs L-BFGS keeps.
    callback : callable, optional
        ``callback(index, iteration, params (D,)) -> bool`` after every iteration; True stops
        network ``index`` there (e.g. when a held-out error is met).

    Returns
    -------
    LbfgsHistory
        ``loss`` ``(iterations + 1, P)``: the loss before each iteration and after the last.
    """
    if int(max_iter) < 1:
        raise InputError(f"max_iter must be >= 1, got {max_iter}")
    if not weight_decay >= 0:
        raise InputError(f"weight_decay must be >= 0, got {weight_decay}")
    loss_fn = get_loss(loss)
    X_all, Y_all = net.check_input(X), net.asarray(Y)
    P = net.population
    curves, reached, iterations, evaluations, messages = [], np.full(P, -1), np.zeros(P, int), np.zeros(P, int), []
    for index in range(P):
        single = net.select([index])
        x = X_all if X_all.ndim == 2 else X_all[index]
        y = Y_all if Y_all.ndim == 2 else Y_all[index]
        run = _Run(single, x, y, loss_fn, float(weight_decay), until, index, callback)
        start = np.array(to_numpy(single.flat_[0]), dtype=np.float64)
        run.curve.append(run.objective(start)[0])
        if until is not None and run.curve[0] <= until:
            reached[index], message, final = 0, "tolerance reached", start
        else:
            with quiet_overflow(single.xp), single_threaded_blas():
                result = minimize(run.objective, start, jac=True, method="L-BFGS-B", callback=run.after_iteration,
                                  options={"maxiter": int(max_iter), "maxfun": max(15000, 20 * int(max_iter)),
                                           "gtol": gtol, "ftol": ftol, "maxcor": int(memory)})
            final = run.best if run.best is not None else result.x
            message = run.stop_reason or str(result.message)
            reached[index] = run.reached
        net.flat_[index] = net.asarray(final)
        curves.append(run.curve)
        iterations[index], evaluations[index] = len(run.curve) - 1, run.evaluations
        messages.append(message)
    length = max(len(c) for c in curves)
    losses = np.array([c + [c[-1]] * (length - len(c)) for c in curves]).T
    with quiet_overflow(net.xp):
        final_loss = to_numpy(loss_fn(net.forward(X_all)[0], Y_all)[0])
    return LbfgsHistory(losses, length - 1, reached, np.full(P, -1), np.asarray(final_loss, dtype=float),
                        iterations, evaluations, messages)


_blas_controller: Any = None


def single_threaded_blas():
    """Limit BLAS to one thread while L-BFGS runs (when ``threadpoolctl`` is installed).

    SciPy's L-BFGS-B makes a few tiny BLAS calls per iteration; on a busy machine, waking a
    pool of BLAS threads for each costs milliseconds, ten times the work itself. The loaded
    libraries are looked up once (that takes milliseconds too), not on every call.
    """
    global _blas_controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # an optional speed-up only
        return nullcontext()
    if _blas_controller is None:
        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


class _Run:
    """One network's L-BFGS run: the objective SciPy calls, and what each iteration leaves."""

    def __init__(self, net: Network, X: Any, Y: Any, loss_fn: Loss, weight_decay: float, until: float | None,
                 index: int, callback: IterationCallback | None):
        self.net, self.X, self.Y, self.loss_fn = net, X, Y, loss_fn
        self.weight_decay, self.until, self.index, self.callback = weight_decay, until, index, callback
        self.curve: list[float] = []
        self.evaluations, self.reached = 0, -1
        self.best: np.ndarray | None = None
        self.stop_reason = ""

    def objective(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """The loss of the network with flat parameters ``w`` (D,) and its gradient (D,)."""
        net = self.net
        self.evaluations += 1
        net.flat_[0] = net.asarray(w)
        prediction, caches = net.forward(self.X)
        value, grad = self.loss_fn(prediction, self.Y)
        f = float(to_numpy(value)[0])
        if not np.isfinite(f):  # step back: SciPy's line search shortens the step
            return np.inf, np.zeros_like(w)
        net.zero_grad()
        net.backward(grad, caches)
        g = np.array(to_numpy(net.grad[0]), dtype=np.float64)
        if self.weight_decay:
            f += 0.5 * self.weight_decay * float(w @ w)
            g += self.weight_decay * w
        return f, g

    def after_iteration(self, intermediate_result: Any) -> None:
        """SciPy's per-iteration callback: record the loss, stop at ``until`` or when asked."""
        self.curve.append(float(intermediate_result.fun))
        self.best = np.array(intermediate_result.x, copy=True)
        iteration = len(self.curve) - 1
        if self.until is not None and intermediate_result.fun <= self.until:
            self.reached, self.stop_reason = iteration, "tolerance reached"
            raise StopIteration
        if self.callback is not None and self.callback(self.index, iteration, self.best):
            self.stop_reason = "stopped by callback"
            raise StopIteration
