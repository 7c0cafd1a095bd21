"""A small convolutional network on scikit-learn's bundled 8x8 handwritten digits.

A convolution slides one small kernel over the whole image: the same 3x3 weights look for the same
stroke everywhere, so the network needs far fewer weights than a dense layer and recognises a stroke
wherever it lies. Max-pooling keeps each 2x2 block's strongest response, so small shifts of the pen
change little. Two such stages (16 then 32 kernels) turn the 8x8 image into 2x2x32 features that one
dense layer maps to the ten digits (LeCun et al., 1989, in miniature).

Demo: ``load_digits`` (1797 images, nothing downloaded), a stratified 75/25 split fixed by the seed,
Adam on mini-batches of 32 with softmax cross-entropy. The figure of merit is the held-out accuracy
(at least 97% after the full run). Figures: learning curves, the first layer's kernels, the confusion
matrix and the misclassified test images.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annrl.nn import ActivationLayer, Adam, Conv2D, Dense, Flatten, MaxPool2D, Network
from annrl.nn.fit import Trainer

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the model
    from matplotlib.figure import Figure

NAME = "cnn"
SUMMARY = "convolutional network: shared 3x3 kernels and pooling recognise 8x8 handwritten digits"
TEST_FRACTION = 0.25
EPOCHS, QUICK_EPOCHS = 20, 3
BATCH_SIZE, LEARNING_RATE = 32, 3e-3


def build(seed: int = 0) -> Network:
    """conv 3x3 (16) - ReLU - max-pool 2 - conv 3x3 (32) - ReLU - max-pool 2 - flatten - dense 10.

    Images ``(N, 8, 8, 1)`` -> ``(8, 8, 16)`` -> ``(4, 4, 16)`` -> ``(4, 4, 32)`` -> ``(2, 2, 32)`` -> 128
    features -> 10 logits ``(1, N, 10)``. He initialisation, for the ReLUs.
    """
    layers = [Conv2D(1, 16, 3, padding=1), ActivationLayer("relu"), MaxPool2D(2),
              Conv2D(16, 32, 3, padding=1), ActivationLayer("relu"), MaxPool2D(2),
              Flatten(), Dense(2 * 2 * 32, 10)]
    return Network(layers, init="he", seed=seed)


def load_data(seed: int = 0) -> dict[str, np.ndarray]:
    """``load_digits`` as images ``(N, 8, 8, 1)`` in [0, 1] with labels ``(N,)``, split 75/25 per class.

    Returns ``{"X_train", "y_train", "X_test", "y_test"}``; the split depends only on ``seed``.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError("the cnn demo reads scikit-learn's bundled digits: pip install scikit-learn") from err
    digits = load_digits()
    X, y = (digits.images / 16.0)[..., None], digits.target
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for label in range(10):  # the same fraction of every digit in the test set
        members = rng.permutation(np.flatnonzero(y == label))
        test[members[: int(round(TEST_FRACTION * len(members)))]] = True
    return {"X_train": X[~test], "y_train": y[~test], "X_test": X[test], "y_test": y[test]}


def accuracy(net: Network, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of images ``(N, 8, 8, 1)`` whose largest logit is their label."""
    return float(np.mean(predict_labels(net, X) == y))


def predict_labels(net: Network, X: np.ndarray) -> np.ndarray:
    return np.asarray(net.predict(X))[0].argmax(axis=-1)


def train(net: Network, data: dict[str, np.ndarray], epochs: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Adam on shuffled mini-batches; per epoch the mean training loss and the test accuracy ``(epochs,)``."""
    trainer = Trainer(net, data["X_train"], np.eye(10)[data["y_train"]], loss="softmax_ce",
                      optimizer=Adam(lr=LEARNING_RATE), batch_size=BATCH_SIZE, rng=np.random.default_rng(seed))
    train_loss, test_accuracy = [], []
    for _ in range(epochs):
        trainer.run(1)
        train_loss.append(float(trainer.losses[-1][0]))
        test_accuracy.append(accuracy(net, data["X_test"], data["y_test"]))
    return {"train_loss": np.array(train_loss), "test_accuracy": np.array(test_accuracy)}


def demo(out: Path, seed: int = 0, quick: bool = False) -> dict[str, float]:
    """Train the CNN; write ``cnn.png`` and ``cnn_errors.png`` into ``out``; return the accuracies."""
    from annrl.nn.lbfgs import single_threaded_blas

    data, net = load_data(seed), build(seed)
    epochs = QUICK_EPOCHS if quick else EPOCHS
    # the matrices here are small (at most 2048 x 144): waking BLAS threads costs more than they save
    with single_threaded_blas():
        curves = train(net, data, epochs, seed)
        predicted = predict_labels(net, data["X_test"])
    out = Path(out)
    figure(net, out / "cnn.png", curves=curves)
    errors_figure(data, out / "cnn_errors.png", predicted=predicted)
    return {"test_accuracy": float(curves["test_accuracy"][-1]),
            "train_accuracy": accuracy(net, data["X_train"], data["y_train"]),
            "final_train_loss": float(curves["train_loss"][-1]), "epochs": float(epochs),
            "parameters": float(net.n_params), "test_images": float(len(data["y_test"]))}


def figure(net: Network, path: str | Path | None = None, *, curves: dict[str, np.ndarray],
           fig: Figure | None = None) -> Figure:
    """Training loss and held-out accuracy per epoch (``curves`` from :func:`train`), and the first layer's
    16 kernels: two panels."""
    from annrl.viz.style import finish, panels

    fig, (curve_ax, kernel_ax) = panels(fig, 2, size=(9.0, 3.6))
    epochs = np.arange(1, len(curves["train_loss"]) + 1)
    curve_ax.plot(epochs, curves["train_loss"], color="#2a7ab0", marker="o", ms=3, label="training loss")
    curve_ax.set(xlabel="epoch", ylabel="cross-entropy (training)", yscale="log", title="learning curves")
    accuracy_ax = curve_ax.twinx()
    accuracy_ax.plot(epochs, 100 * curves["test_accuracy"], color="#d1495b", marker="s", ms=3, label="test accuracy")
    accuracy_ax.set_ylabel("held-out accuracy (%)")
    accuracy_ax.grid(False)
    curve_ax.legend(handles=curve_ax.lines + accuracy_ax.lines, loc="center right")
    kernels = np.asarray(net.params_["0.weight"])[0, :, :, 0, :]  # (3, 3, 16)
    _tile(kernel_ax, np.moveaxis(kernels, -1, 0), columns=8, cmap="RdBu_r", symmetric=True)
    kernel_ax.set_title("first layer's 16 kernels (3x3; red +, blue -)")
    return finish(fig, path)


def errors_figure(data: dict[str, np.ndarray], path: str | Path | None = None, *, predicted: np.ndarray,
                  fig: Figure | None = None) -> Figure:
    """The confusion matrix of ``predicted`` ``(n,)`` against ``data["y_test"]`` ``(n,)``, and up to 24
    misclassified test images: two panels (``data`` from :func:`load_data`)."""
    from annrl.viz.style import finish, panels

    truth = data["y_test"]
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (truth, predicted), 1)
    fig, (matrix_ax, wrong_ax) = panels(fig, 2, size=(9.0, 4.0))
    matrix_ax.imshow(confusion, cmap="Blues")
    for (i, j), count in np.ndenumerate(confusion):
        if count:
            matrix_ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                           color="white" if count > confusion.max() / 2 else "black")
    matrix_ax.set(xlabel="predicted digit", ylabel="true digit", xticks=range(10), yticks=range(10),
                  title=f"confusion matrix ({len(truth)} test images)")
    matrix_ax.grid(False)
    wrong = np.flatnonzero(predicted != truth)[:24]
    if len(wrong):
        _tile(wrong_ax, data["X_test"][wrong, :, :, 0], columns=8, cmap="gray_r")
        labels = ", ".join(f"{truth[i]}->{predicted[i]}" for i in wrong[:8])
        wrong_ax.set_title(f"misclassified ({len(np.flatnonzero(predicted != truth))}): {labels}", fontsize=8)
    else:
        wrong_ax.set_axis_off()
        wrong_ax.set_title("no test image misclassified")
    return finish(fig, path)


def _tile(ax, images: np.ndarray, columns: int, cmap: str, symmetric: bool = False) -> None:
    """``images`` ``(k, h, w)`` side by side, ``columns`` per row, one blank pixel between them."""
    k, h, w = images.shape
    rows = -(-k // columns)
    canvas = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = image
    limit = float(np.nanmax(np.abs(canvas))) if symmetric else None
    ax.imshow(canvas, cmap=cmap, vmin=-limit if symmetric else None, vmax=limit)
    ax.set_axis_off()
