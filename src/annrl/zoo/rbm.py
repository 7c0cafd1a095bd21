"""The restricted Boltzmann machine (Smolensky, 1986; Hinton, 2002), trained by contrastive divergence.

Binary visible units ``v`` (the pixels) and hidden units ``h`` share the energy
``E(v, h) = -v.b - h.c - v W h``; summing ``h`` out gives the free energy
``F(v) = -v.b - sum_j log(1 + exp(c_j + (v W)_j))`` and ``p(v) = exp(-F(v)) / Z``. The gradient of the
mean log-likelihood is ``-<dF/dtheta>_data + <dF/dtheta>_model``. CD-k replaces the model average,
which needs ``Z``, by ``k`` steps of Gibbs sampling started at the data (``h ~ p(h|v)``,
``v ~ p(v|h)``, both factorised sigmoids).

Demo: scikit-learn's 8x8 digits with each pixel on or off; the reconstruction error falls during
training, and Gibbs chains started from noise sample new digits.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.errors import InputError
from annrl.zoo.datasets import digits, image_grid, split
from annrl.zoo.diagram import ZooLayer
from annrl.zoo.speed import one_blas_thread

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "rbm"
SUMMARY = "restricted Boltzmann machine: CD-k on binary digits; reconstructs them and samples new ones"


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # = 1 / (1 + e^-a), without overflow


class RBM:
    """A Bernoulli-Bernoulli RBM.

    Parameters
    ----------
    n_visible, n_hidden : int
    k : int, default=1
        Gibbs steps of CD-k.
    lr : float, default=0.05
    momentum : float, default=0.5

    Attributes
    ----------
    W : ndarray, shape (n_visible, n_hidden)
    b : ndarray, shape (n_visible,)
    c : ndarray, shape (n_hidden,)
    reconstruction_error_ : list of float
        Mean squared error between the data and its mean-field reconstruction, after each epoch.
    """

    def __init__(self, n_visible: int, n_hidden: int, *, k: int = 1, lr: float = 0.05, momentum: float = 0.5,
                 rng: np.random.Generator | None = None):
        if min(n_visible, n_hidden, k) < 1 or not lr > 0:
            raise InputError(f"need sizes and k >= 1 and lr > 0, got {n_visible}, {n_hidden}, k={k}, lr={lr}")
        rng = rng if rng is not None else np.random.default_rng(0)
        self.k, self.lr, self.momentum = int(k), float(lr), float(momentum)
        self.W = 0.01 * rng.normal(size=(n_visible, n_hidden))
        self.b, self.c = np.zeros(n_visible), np.zeros(n_hidden)
        self.reconstruction_error_: list[float] = []

    # -- the model ---------------------------------------------------------------------------
    def hidden_probability(self, v: np.ndarray) -> np.ndarray:
        """``p(h_j = 1 | v)`` ``(N, H)`` for ``v`` ``(N, V)``."""
        return _sigmoid(v @ self.W + self.c)

    def visible_probability(self, h: np.ndarray) -> np.ndarray:
        """``p(v_i = 1 | h)`` ``(N, V)`` for ``h`` ``(N, H)``."""
        return _sigmoid(h @ self.W.T + self.b)

    def free_energy(self, v: np.ndarray) -> np.ndarray:
        """``F(v)`` ``(N,)``."""
        return -v @ self.b - np.logaddexp(0.0, v @ self.W + self.c).sum(axis=1)

    def free_energy_gradient(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gradient of ``mean F(v)`` over the rows of ``v`` with respect to ``(W, b, c)``."""
        p = self.hidden_probability(v)
        n = len(v)
        return -(v.T @ p) / n, -v.mean(axis=0), -p.mean(axis=0)

    def reconstruct(self, v: np.ndarray) -> np.ndarray:
        """Mean-field reconstruction ``p(v | p(h | v))`` ``(N, V)``."""
        return self.visible_probability(self.hidden_probability(v))

    def gibbs(self, v: np.ndarray, steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``steps`` alternating samples ``h ~ p(h|v)``, ``v ~ p(v|h)``; the last ``v`` and its probabilities."""
        p_v = v
        for _ in range(steps):
            h = (rng.random((len(v), self.c.size)) < self.hidden_probability(v)).astype(float)
            p_v = self.visible_probability(h)
            v = (rng.random(p_v.shape) < p_v).astype(float)
        return v, p_v

    # -- learning -----------------------------------------------------------------------------
    def cd_gradient(self, v0: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """CD-k estimate of the mean log-likelihood gradient ``(dW, db, dc)`` for a batch ``v0`` ``(N, V)``:
        ``-dF/dtheta`` at the data plus ``dF/dtheta`` at the samples ``k`` Gibbs steps away."""
        vk, _ = self.gibbs(v0, self.k, rng)
        data, model = self.free_energy_gradient(v0), self.free_energy_gradient(vk)
        return tuple(m - d for d, m in zip(data, model, strict=True))

    def fit(self, X: np.ndarray, epochs: int, rng: np.random.Generator, batch_size: int = 20) -> RBM:
        """Train on binary ``X`` ``(N, V)``; records the reconstruction error after every epoch."""
        velocity = [np.zeros_like(p) for p in (self.W, self.b, self.c)]
        for epoch in range(epochs):
            momentum = self.momentum if epoch < 5 else 0.9  # Hinton's guide: raise it once learning settles
            order = rng.permutation(len(X))
            for start in range(0, len(X), batch_size):
                grads = self.cd_gradient(X[order[start:start + batch_size]], rng)
                for param, vel, grad in zip((self.W, self.b, self.c), velocity, grads, strict=True):
                    vel *= momentum
                    vel += self.lr * grad
                    param += vel
            self.reconstruction_error_.append(float(np.mean((X - self.reconstruct(X)) ** 2)))
        return self

    def sample(self, n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` new visible vectors ``(n, V)`` (probabilities) after ``steps`` Gibbs steps from noise."""
        return self.gibbs((rng.random((n, self.b.size)) < 0.5).astype(float), steps, rng)[1]

    def zoo_layers(self) -> list[ZooLayer]:
        # undirected bipartite: visible units are both read and written (backfed), hidden ones are stochastic
        return [ZooLayer("backfed_input", self.b.size, "visible"),
                ZooLayer("probabilistic_hidden", self.c.size, "hidden")]


def build(seed: int = 0) -> RBM:
    return RBM(64, 100, k=1, rng=np.random.default_rng(seed))


@one_blas_thread
def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """CD-1 on binarised digits; reconstruction error before/after, on training and held-out digits."""
    rng = np.random.default_rng(seed)
    X, _ = digits(binary=True)
    train, test = split(len(X), 0.2, rng)
    rbm = build(seed)
    before = float(np.mean((X[test] - rbm.reconstruct(X[test])) ** 2))
    rbm.fit(X[train], 8 if quick else 60, rng)
    after = float(np.mean((X[test] - rbm.reconstruct(X[test])) ** 2))
    samples = rbm.sample(16, 200 if quick else 1000, rng)
    figure(rbm, Path(out) / "rbm.png", originals=X[test[:16]], samples=samples)
    return {"test_reconstruction_error_before": before, "test_reconstruction_error": after,
            "train_reconstruction_error_first_epoch": rbm.reconstruction_error_[0],
            "train_reconstruction_error_last_epoch": rbm.reconstruction_error_[-1]}


def figure(rbm: RBM, path: str | Path | None = None, *, originals: np.ndarray, samples: np.ndarray,
           fig: Figure | None = None) -> Figure:
    """16 ``originals`` ``(16, 64)`` and their reconstructions, 16 Gibbs ``samples`` ``(16, 64)``, 16 hidden
    units' filters and the reconstruction error per epoch: five panels."""
    from annrl.viz.style import finish, panels

    fig, axes = panels(fig, 5, size=(15, 3.4))
    image_grid(axes[0], originals, 4, title="held-out digits")
    image_grid(axes[1], rbm.reconstruct(originals), 4, title="reconstructions")
    image_grid(axes[2], samples, 4, title="Gibbs samples from noise")
    image_grid(axes[3], rbm.W.T[:16], 4, title="filters (weights of 16 hidden units)", cmap="RdBu", symmetric=True)
    axes[4].plot(np.arange(1, len(rbm.reconstruction_error_) + 1), rbm.reconstruction_error_)
    axes[4].set(title="reconstruction error", xlabel="epoch", ylabel="mean squared error")
    return finish(fig, path)
