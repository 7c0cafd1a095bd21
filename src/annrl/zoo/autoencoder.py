"""Autoencoders on the engine: plain, denoising and sparse, reconstructing scikit-learn's 8x8 digits.

An encoder network maps an image to a code, a decoder network maps the code back; both are
engine MLPs trained together by backpropagation on the squared reconstruction error. The decoder's
backward returns the error at the code, which then runs back through the encoder.

- plain (Hinton & Salakhutdinov, 2006): a 2-unit bottleneck ``64-32-2-32-64``, so the code can be plotted;
- denoising (Vincent et al., 2008): the same net fed images with 30% of the pixels set to 0 (new
  masks every epoch) and asked for the clean image, so it learns the digits' structure, not the identity;
- sparse (Ng, 2011): an over-complete sigmoid code of 100 units ``64-100-64`` whose mean activations
  ``rho_hat_j`` are pulled to ``rho = 0.05`` by the penalty ``beta sum_j KL(rho || rho_hat_j)``, whose
  gradient at the code is ``beta (-rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j)) / N``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.errors import InputError
from annrl.nn import MLP, Adam, get_loss
from annrl.zoo.datasets import digits, image_grid, split
from annrl.zoo.diagram import ZooLayer, network_layers
from annrl.zoo.speed import one_blas_thread

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "autoencoder"
SUMMARY = "plain, denoising and sparse autoencoders: digits squeezed through a code and rebuilt; a 2D code map"
MASK = 0.3


class AutoEncoder:
    """An encoder MLP and a decoder MLP trained end to end.

    Parameters
    ----------
    sizes : sequence of int
        Widths from input to code, e.g. ``[64, 32, 2]``; the decoder mirrors them.
    code : str, default="identity"
        Activation of the code layer ("sigmoid" for a sparse code).
    mask : float, default=0.0
        Fraction of input pixels set to 0 in training (denoising when > 0).
    sparsity : tuple of (rho, beta), optional
        Target mean activation of each code unit and the penalty's weight.
    seed : int, default=0

    Attributes
    ----------
    encoder, decoder : MLP
        ``tanh`` hidden layers; the decoder ends in a sigmoid (pixels are in [0, 1]).
    loss_ : list of float
        Training loss after every epoch.
    """

    def __init__(self, sizes, *, code: str = "identity", mask: float = 0.0,
                 sparsity: tuple[float, float] | None = None, seed: int = 0):
        if not 0.0 <= mask < 1.0:
            raise InputError(f"mask must be in [0, 1), got {mask}")
        if sparsity is not None and (code != "sigmoid" or not 0 < sparsity[0] < 1):
            raise InputError("a sparsity target needs a sigmoid code and 0 < rho < 1")
        rng = np.random.default_rng(seed)
        self.sizes, self.mask, self.sparsity = list(sizes), float(mask), sparsity
        self.encoder = MLP(self.sizes, hidden="tanh", output=code, init="xavier", rng=rng)
        self.decoder = MLP(self.sizes[::-1], hidden="tanh", output="sigmoid", init="xavier", rng=rng)
        self.loss_: list[float] = []

    def encode(self, X: np.ndarray) -> np.ndarray:
        """Codes ``(N, code)`` of images ``(N, 64)``."""
        return self.encoder.predict(X)[0]

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        """Reconstructions ``(N, 64)``."""
        return self.decoder.predict(self.encode(X))[0]

    def loss_and_grad(self, X_in: np.ndarray, X_target: np.ndarray) -> float:
        """Loss of reconstructing ``X_target`` from ``X_in`` (both ``(N, 64)``); fills both nets' ``grad``."""
        code, enc_caches = self.encoder.forward(self.encoder.check_input(X_in))
        out, dec_caches = self.decoder.forward(code)
        loss, grad_out = get_loss("mse")(out, X_target)
        self.encoder.zero_grad()
        self.decoder.zero_grad()
        grad_code = self.decoder.backward(grad_out, dec_caches, input_grad=True)
        value = float(loss[0])
        if self.sparsity is not None:
            rho, beta = self.sparsity
            rho_hat = code.mean(axis=1)  # (1, code): mean activation of each code unit over the batch
            value += beta * float(np.sum(rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))))
            grad_code = grad_code + beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))[:, None, :] / code.shape[1]
        self.encoder.backward(grad_code, enc_caches)
        return value

    def fit(self, X: np.ndarray, epochs: int, rng: np.random.Generator, batch_size: int = 64,
            lr: float = 3e-3) -> AutoEncoder:
        """Adam on mini-batches of ``X`` ``(N, 64)``; denoising draws fresh masks for every batch."""
        optimizers = {net: Adam(lr=lr) for net in (self.encoder, self.decoder)}
        for net, opt in optimizers.items():
            opt.reset(net.flat_)
        for _ in range(epochs):
            order, total = rng.permutation(len(X)), 0.0
            for start in range(0, len(X), batch_size):
                clean = X[order[start:start + batch_size]]
                noisy = clean * (rng.random(clean.shape) >= self.mask) if self.mask else clean
                total += self.loss_and_grad(noisy, clean) * len(clean)
                for net, opt in optimizers.items():
                    opt.step(net.flat_, net.grad)
            self.loss_.append(total / len(X))
        return self

    def zoo_layers(self) -> list[ZooLayer]:
        encoder, decoder = network_layers(self.encoder), network_layers(self.decoder)
        first = replace(encoder[0], kind="noisy_input") if self.mask else encoder[0]
        code = replace(encoder[-1], kind="hidden", label=f"code {encoder[-1].label}")
        return [first, *encoder[1:-1], code, *decoder[1:-1], replace(decoder[-1], kind="match_input_output")]


VARIANTS = {
    "plain": lambda seed: AutoEncoder([64, 32, 2], seed=seed),
    "denoising": lambda seed: AutoEncoder([64, 32, 2], mask=MASK, seed=seed),
    "sparse": lambda seed: AutoEncoder([64, 100], code="sigmoid", sparsity=(0.05, 0.1), seed=seed),
}


def build(seed: int = 0) -> AutoEncoder:
    """The denoising autoencoder (the diagram shows its noisy input and 2-unit code)."""
    return VARIANTS["denoising"](seed)


def _mse(A: np.ndarray, B: np.ndarray) -> float:
    return float(np.mean((A - B) ** 2))


def pca_error(train: np.ndarray, test: np.ndarray, components: int) -> float:
    """Test reconstruction error of the best linear code of the same size (PCA fitted on ``train``)."""
    mean = train.mean(axis=0)
    basis = np.linalg.svd(train - mean, full_matrices=False)[2][:components]
    return _mse(test, (test - mean) @ basis.T @ basis + mean)


@one_blas_thread
def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Train the three variants on 80% of the digits; errors on the other 20%, against PCA and the mean image."""
    rng = np.random.default_rng(seed)
    X, y = digits()
    train, test = split(len(X), 0.2, rng)
    epochs = 40 if quick else 200
    models = {name: make(seed).fit(X[train], epochs, rng) for name, make in VARIANTS.items()}
    masked = X[test] * (rng.random(X[test].shape) >= MASK)
    sparse_code = models["sparse"].encode(X[test])
    metrics = {
        "plain_test_mse": _mse(X[test], models["plain"].reconstruct(X[test])),
        "pca2_test_mse": pca_error(X[train], X[test], 2),
        "mean_image_test_mse": _mse(X[test], X[train].mean(axis=0)),
        "denoising_masked_test_mse": _mse(X[test], models["denoising"].reconstruct(masked)),
        "plain_masked_test_mse": _mse(X[test], models["plain"].reconstruct(masked)),
        "masked_input_mse": _mse(X[test], masked),
        "sparse_test_mse": _mse(X[test], models["sparse"].reconstruct(X[test])),
        "sparse_mean_activation": float(sparse_code.mean()),
    }
    figure(models, Path(out) / "autoencoder.png", X=X[test], y=y[test], masked=masked)
    return metrics


def figure(models: dict[str, AutoEncoder], path: str | Path | None = None, *, X: np.ndarray, y: np.ndarray,
           masked: np.ndarray,
           fig: Figure | None = None) -> Figure:
    """Codes of the plain and denoising variants, denoised images, the sparse decoder's weights, the losses.

    ``models``: the three variants by name (:data:`VARIANTS`); ``X`` ``(n, 64)`` held-out digits, ``y`` ``(n,)``
    their labels, ``masked`` ``(n, 64)`` the same digits with pixels dropped. Five panels (and a colour bar)."""
    from annrl.viz.style import finish, panels

    fig, axes = panels(fig, 5, size=(17, 3.6))
    for ax, name in zip(axes[:2], ("plain", "denoising"), strict=True):
        code = models[name].encode(X)
        points = ax.scatter(*code.T, c=y, cmap="tab10", s=5)
        ax.set(title=f"{name}: 2D codes of held-out digits", xlabel="code 1", ylabel="code 2")
    fig.colorbar(points, ax=axes[1], label="digit")
    image_grid(axes[2], np.concatenate([X[:6], masked[:6], models["denoising"].reconstruct(masked[:6])]), 6,
               title="clean / masked / denoised")
    image_grid(axes[3], models["sparse"].decoder.params_["0.weight"][0][:24], 6, cmap="RdBu", symmetric=True,
               title="sparse code: decoder weights")
    for name, model in models.items():
        axes[4].plot(model.loss_, label=name)
    axes[4].set(title="training loss", xlabel="epoch", ylabel="loss", yscale="log")
    axes[4].legend()
    return finish(fig, path)
