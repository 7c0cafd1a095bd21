"""The echo state network (Jaeger, 2001): a fixed random reservoir, and only a linear readout is learned.

Reservoir of ``N`` leaky tanh units driven by the input ``u_t``::

    x_t = (1 - a) x_{t-1} + a tanh(W_in [1; u_t] + W x_{t-1})        a: the leak rate

``W`` is random, rescaled to a set spectral radius ``rho < 1`` (the largest ``|eigenvalue|``), so the
state forgets its start and becomes a rich echo of the recent inputs; the readout
``y_t = W_out [1; u_t; x_t]`` is fitted by ridge regression, the only learning there is.

Demo: the Mackey-Glass series ``dx/dt = 0.2 x(t - tau) / (1 + x(t - tau)^10) - 0.1 x(t)`` with
``tau = 17`` (chaotic), integrated here by RK4 and sampled every time unit; the ESN predicts the next
sample. The figure of merit is the one-step NRMSE (RMSE over the target's standard deviation).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.errors import InputError
from annrl.zoo.diagram import ZooLayer
from annrl.zoo.speed import one_blas_thread

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "esn"
SUMMARY = "echo state network: a random reservoir with a ridge readout predicts the chaotic Mackey-Glass series"
WASHOUT = 100


def mackey_glass(n: int, *, tau: float = 17.0, dt: float = 0.1, sample_every: int = 10, x0: float = 1.2,
                 discard: int = 500, beta: float = 0.2, gamma: float = 0.1, power: float = 10.0) -> np.ndarray:
    """``n`` samples ``(n,)`` of the Mackey-Glass series, one every ``dt * sample_every`` time units.

    RK4 with step ``dt``; the delayed value at a half step is the mean of its two grid neighbours
    (``tau / dt`` must be a whole number). History ``x = x0`` before ``t = 0``; the first ``discard``
    samples (the transient) are dropped.
    """
    lag = int(round(tau / dt))
    if not np.isclose(lag * dt, tau):
        raise InputError(f"tau / dt must be a whole number, got tau={tau}, dt={dt}")
    steps = (n + discard) * sample_every
    x = np.full(steps + lag + 1, x0)  # x[i] is x at time (i - lag) dt

    def f(now: float, delayed: float) -> float:
        return beta * delayed / (1.0 + delayed**power) - gamma * now

    for i in range(lag, lag + steps):
        d0, d1 = x[i - lag], x[i - lag + 1]
        dmid = 0.5 * (d0 + d1)
        k1 = f(x[i], d0)
        k2 = f(x[i] + 0.5 * dt * k1, dmid)
        k3 = f(x[i] + 0.5 * dt * k2, dmid)
        k4 = f(x[i] + dt * k3, d1)
        x[i + 1] = x[i] + dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6.0
    return x[lag::sample_every][discard:discard + n]


def largest_eigenvalue_modulus(W: np.ndarray) -> float:
    """The spectral radius of ``W`` ``(N, N)``: ARPACK finds the one eigenvalue of largest modulus
    from matrix-vector products (cheaper than all ``N`` eigenvalues), from a fixed start vector."""
    from scipy.sparse.linalg import eigs

    return float(np.abs(eigs(W, k=1, which="LM", return_eigenvectors=False, v0=np.ones(len(W)))[0]))


class EchoStateNetwork:
    """A leaky ESN with one input and one output.

    Parameters
    ----------
    reservoir : int, default=400
    spectral_radius : float, default=0.9
    leak : float, default=0.3
    input_scale : float, default=1.0
    ridge : float, default=1e-8
    rng : numpy.random.Generator, optional

    Attributes
    ----------
    W_in : ndarray, shape (N, 2)
    W : ndarray, shape (N, N)
        Scaled so that its largest ``|eigenvalue|`` is ``spectral_radius``.
    W_out_ : ndarray, shape (N + 2,)
        Set by :meth:`fit`.
    """

    def __init__(self, reservoir: int = 400, *, spectral_radius: float = 0.9, leak: float = 0.3,
                 input_scale: float = 1.0, ridge: float = 1e-8, rng: np.random.Generator | None = None):
        if reservoir < 1 or not 0 < leak <= 1 or not spectral_radius > 0 or not ridge >= 0:
            raise InputError("need reservoir >= 1, 0 < leak <= 1, spectral_radius > 0, ridge >= 0")
        rng = rng if rng is not None else np.random.default_rng(0)
        self.leak, self.ridge = float(leak), float(ridge)
        self.W_in = input_scale * rng.uniform(-1, 1, size=(reservoir, 2))
        W = rng.uniform(-0.5, 0.5, size=(reservoir, reservoir))
        self.W = W * (spectral_radius / largest_eigenvalue_modulus(W))

    def states(self, u: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """Reservoir states ``(T, N)`` driven by inputs ``u`` ``(T,)``, from ``x`` (zero by default)."""
        x = np.zeros(len(self.W)) if x is None else x
        out = np.empty((len(u), len(self.W)))
        for t, value in enumerate(u):
            x = (1 - self.leak) * x + self.leak * np.tanh(self.W_in @ np.array([1.0, value]) + self.W @ x)
            out[t] = x
        return out

    @staticmethod
    def _design(u: np.ndarray, X: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(len(u)), u, X])

    def fit(self, u: np.ndarray, target: np.ndarray, washout: int = WASHOUT) -> EchoStateNetwork:
        """Ridge readout from inputs ``u`` ``(T,)`` to ``target`` ``(T,)``, skipping the first ``washout`` steps."""
        design = self._design(u, self.states(u))[washout:]
        gram = design.T @ design + self.ridge * np.eye(design.shape[1])
        self.W_out_ = np.linalg.solve(gram, design.T @ target[washout:])
        return self

    def predict(self, u: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """Outputs ``(T,)`` for inputs ``u`` ``(T,)`` (teacher forcing: the true input every step)."""
        return self._design(u, self.states(u, x)) @ self.W_out_

    def generate(self, u: np.ndarray, steps: int) -> np.ndarray:
        """Warm up on ``u`` ``(T,)``, then run free for ``steps``, each output fed back as the next input."""
        x = self.states(u)[-1]
        value, out = float((self._design(u[-1:], x[None]) @ self.W_out_)[0]), []
        for _ in range(steps):
            out.append(value)
            x = self.states(np.array([value]), x)[-1]
            value = float((self._design(np.array([value]), x[None]) @ self.W_out_)[0])
        return np.array(out)

    def zoo_layers(self) -> list[ZooLayer]:
        return [ZooLayer("input", 1, "input"), ZooLayer("recurrent", len(self.W), "reservoir", lateral=True),
                ZooLayer("output", 1, "ridge readout")]


def build(seed: int = 0) -> EchoStateNetwork:
    return EchoStateNetwork(400, rng=np.random.default_rng(seed))


def nrmse(prediction: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((prediction - target) ** 2)) / np.std(target))


@one_blas_thread
def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Train the readout on 2000 steps (1000 quick), test one-step prediction on the next 1000 (500)."""
    n_train, n_test = (1000, 500) if quick else (2000, 1000)
    series = mackey_glass(n_train + n_test + 1)
    u = series - 1.0  # centred near zero, where tanh is not saturated
    esn = EchoStateNetwork(200 if quick else 400, rng=np.random.default_rng(seed))
    esn.fit(u[:n_train], u[1:n_train + 1])
    warm = esn.states(u[:n_train])[-1]
    test_prediction = esn.predict(u[n_train:-1], warm)
    test_target = u[n_train + 1:]
    free = esn.generate(u[:n_train], 300)
    figure(series, Path(out) / "esn.png", n_train=n_train, one_step=test_prediction + 1.0, free=free + 1.0)
    return {"one_step_nrmse": nrmse(test_prediction, test_target),
            "free_run_nrmse_100": nrmse(free[:100], u[n_train:n_train + 100]),
            "reservoir": float(len(esn.W))}


def figure(series: np.ndarray, path: str | Path | None = None, *, n_train: int, one_step: np.ndarray, free: np.ndarray,
           fig: Figure | None = None) -> Figure:
    """Top: one-step predictions ``one_step`` ``(len(series) - n_train - 1,)`` on unseen data. Bottom: the free
    run ``free`` ``(k,)`` from sample ``n_train`` on. ``series`` ``(n,)`` is the Mackey-Glass series."""
    from annrl.viz.style import finish, panels

    fig, (ax, ax_free) = panels(fig, 1, 2, size=(10, 5.6))
    t = np.arange(n_train + 1, n_train + 1 + len(one_step))
    ax.plot(t, series[n_train + 1:], "k", lw=1, label="Mackey-Glass (tau = 17)")
    ax.plot(t, one_step, "--", color="#f59322", lw=1.2, label="ESN, one step ahead")
    ax.set(title="one-step prediction on unseen data", xlabel="t", ylabel="x(t)")
    ax.legend(loc="upper right")
    # the free run's first output is the prediction of sample n_train (the last input seen is n_train - 1)
    t_free = np.arange(n_train, n_train + len(free))
    ax_free.plot(t_free, series[n_train:n_train + len(free)], "k", lw=1, label="Mackey-Glass")
    ax_free.plot(t_free, free, color="#0877bd", lw=1.2, label="ESN running free (its output fed back)")
    ax_free.set(title="free run: the reservoir generates the series on its own", xlabel="t", ylabel="x(t)")
    ax_free.legend(loc="upper right")
    return finish(fig, path)
