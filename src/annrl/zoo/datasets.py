"""Small data sets for the zoo's demos: nothing is downloaded, everything ships with scikit-learn or is generated."""

from __future__ import annotations

from functools import cache

import numpy as np


@cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data / 16.0, data.target


def digits(binary: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: images ``(1797, 64)`` in [0, 1] (or 0/1 when ``binary``,
    a pixel being on when at least half its grey level) and labels ``(1797,)``."""
    X, y = _digits()
    return (X >= 0.5).astype(float) if binary else X.copy(), y.copy()


def split(n: int, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled indices ``(train, test)`` of ``n`` samples, ``round(test_fraction n)`` of them for testing."""
    order = rng.permutation(n)
    n_test = int(round(test_fraction * n))
    return order[n_test:], order[:n_test]


def image_grid(ax, images: np.ndarray, columns: int, shape: tuple[int, int] = (8, 8), title: str = "",
               cmap: str = "gray_r", symmetric: bool = False) -> None:
    """Tile ``images`` ``(k, h*w)`` into one picture on ``ax``, ``columns`` per row, one pixel gap."""
    k = len(images)
    rows = -(-k // columns)
    h, w = shape
    canvas = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        canvas[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = image.reshape(shape)
    limit = float(np.nanmax(np.abs(canvas))) if symmetric else None
    ax.imshow(canvas, cmap=cmap, vmin=-limit if symmetric else None, vmax=limit)
    ax.set_axis_off()
    ax.set_title(title)
