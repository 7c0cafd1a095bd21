"""Convolution and pooling over images: Conv2D, MaxPool2D, AvgPool2D and Flatten.

Shapes (channels-last). An image batch is ``(N, H, W, C)``, shared by the ``P`` networks, or
``(P, N, H, W, C)``, one batch per network; a convolution returns ``(P, N, H', W', F)`` with
``H' = (H + 2 pad_h - k_h) // s_h + 1`` (likewise ``W'``). Channels come last so that a pixel's
channels are contiguous and an image patch is one row of a matrix, and so that ``Network`` finds the
channels where it finds any layer's inputs, in the last axis. :class:`Flatten` turns
``(P, N, H, W, C)`` into ``(P, N, H W C)`` for a ``Dense`` readout.

Parameters. ``Conv2D`` stores ``weight`` ``(P, k_h, k_w, C, F)`` and ``bias`` ``(P, 1, F)``: PyTorch's
``weight`` ``(F, C, k_h, k_w)`` is ``weight[p].permute(3, 2, 0, 1)`` (see ``docs/conv_lstm.md``).

How it is computed. Every layer here reads its input through *windows*: the ``k_h x k_w`` patch under
each output position, an array ``(..., H', W', k_h, k_w, C)``. On NumPy this is a strided view of the
padded input (no copy); on other array-API libraries it is stacked from ``k_h k_w`` strided slices.
A convolution is then one matrix product (im2col): patches ``(N H' W', k_h k_w C)`` times the kernel
``(k_h k_w C, F)``. Every backward ends the same way: the error of each window is added back onto the
input pixels it was read from (:meth:`_Windowed._add_windows`, one slice per kernel offset), so a pixel
shared by overlapping windows gets the sum of their errors.
"""

from __future__ import annotations

from typing import Any

from numpy.lib.stride_tricks import as_strided

from annrl.backend import array_namespace, is_numpy
from annrl.errors import InputError
from annrl.nn.layers import Layer
from annrl.nn.params import ParamSpec


def _pair(value: int | tuple[int, int], name: str, minimum: int) -> tuple[int, int]:
    """``value`` as a (height, width) pair of ints, checked against ``minimum``."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < minimum for v in pair):
        raise InputError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


class _Windowed(Layer):
    """What convolution and pooling share: kernel, stride, padding, windows and their backward."""

    #: a sample is an (H, W, C) image, not an (in,) vector (read by ``Network.check_input``)
    sample_ndim = 3
    #: how ``Network.check_input`` names a sample's leading axes in its error message
    sample_axes = "H, W, "

    def __init__(self, kernel_size, stride, padding):
        self.kernel = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """``(H', W')`` for an input of ``height x width`` pixels."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        if height + 2 * ph < kh or width + 2 * pw < kw:
            raise InputError(
                f"{type(self).__name__} input of {height}x{width} pixels (padded {height + 2 * ph}x"
                f"{width + 2 * pw}) is smaller than its {kh}x{kw} kernel"
            )
        return (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1

    def _pad(self, xp: Any, x: Any, fill: float) -> Any:
        """``x`` ``(..., H, W, C)`` inside a border of ``fill`` -> ``(..., H + 2 ph, W + 2 pw, C)``."""
        ph, pw = self.padding
        if ph == 0 and pw == 0:
            return x
        *lead, H, W, C = x.shape
        padded = xp.full((*lead, H + 2 * ph, W + 2 * pw, C), fill, dtype=x.dtype, device=x.device)
        padded[..., ph : ph + H, pw : pw + W, :] = x
        return padded

    def _windows(self, xp: Any, padded: Any) -> Any:
        """The patch under every output position: ``(..., Hp, Wp, C)`` -> ``(..., H', W', kh, kw, C)``."""
        (kh, kw), (sh, sw) = self.kernel, self.stride
        *lead, Hp, Wp, C = padded.shape
        Ho, Wo = (Hp - kh) // sh + 1, (Wp - kw) // sw + 1
        if is_numpy(xp):
            # a read-only view: window (i, j) of output (a, b) is pixel (a sh + i, b sw + j)
            s = padded.strides
            strides = (*s[:-3], s[-3] * sh, s[-2] * sw, s[-3], s[-2], s[-1])
            return as_strided(padded, (*lead, Ho, Wo, kh, kw, C), strides, writeable=False)
        parts = [padded[..., i : i + sh * (Ho - 1) + 1 : sh, j : j + sw * (Wo - 1) + 1 : sw, :]
                 for i in range(kh) for j in range(kw)]
        return xp.reshape(xp.stack(parts, axis=-2), (*lead, Ho, Wo, kh, kw, C))

    def _add_windows(self, xp: Any, grad_windows: Any, input_shape: tuple[int, ...]) -> Any:
        """The backward of :meth:`_windows` and :meth:`_pad`: every window's error added onto the pixels
        it covered, ``(..., H', W', kh, kw, C)`` -> ``(..., H, W, C)`` (the border's share dropped)."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        *lead, Ho, Wo, _, _, C = grad_windows.shape
        H, W = input_shape[-3], input_shape[-2]
        grad = xp.zeros((*lead, H + 2 * ph, W + 2 * pw, C), dtype=grad_windows.dtype, device=grad_windows.device)
        for i in range(kh):  # one strided slice per kernel offset, never a loop over pixels
            for j in range(kw):
                grad[..., i : i + sh * (Ho - 1) + 1 : sh, j : j + sw * (Wo - 1) + 1 : sw, :] += (
                    grad_windows[..., i, j, :])
        return grad[..., ph : ph + H, pw : pw + W, :] if ph or pw else grad

    def _check_image(self, x: Any, channels: int | None, population: int | None) -> None:
        shape, name = tuple(x.shape), type(self).__name__
        c = "C" if channels is None else str(channels)
        ok = x.ndim in (4, 5) and (channels is None or shape[-1] == channels)
        if ok and x.ndim == 5 and population is not None:
            ok = shape[0] == population
        if not ok:
            p = "P" if population is None else str(population)
            raise InputError(f"{name} input must have shape (N, H, W, {c}) or ({p}, N, H, W, {c}), got {shape}")
        self.output_size(shape[-3], shape[-2])

    def _settings(self) -> dict[str, Any]:
        return {"kernel_size": list(self.kernel), "stride": list(self.stride), "padding": list(self.padding)}

    def _describe(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, padding={self.padding}"


class Conv2D(_Windowed):
    """2D convolution (cross-correlation, as PyTorch's ``conv2d``) of channels-last images.

    ``y[p, n, a, b, f] = bias[p, 0, f] + sum_{i, j, c} x[n, a s_h + i - pad_h, b s_w + j - pad_w, c]
    weight[p, i, j, c, f]``, with zeros outside the image.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels ``C`` of the input and filters ``F`` (channels of the output).
    kernel_size : int or (int, int)
    stride : int or (int, int), default=1
    padding : int or (int, int), default=0
        Zero pixels added on each side (top and bottom, left and right).

    Notes
    -----
    Input ``(N, H, W, C)`` or ``(P, N, H, W, C)``; output ``(P, N, H', W', F)``. Parameters:
    ``weight (k_h, k_w, C, F)``, ``bias (1, F)``. With ``init="torch"`` weights and biases are drawn
    from U(-1/sqrt(C k_h k_w), 1/sqrt(C k_h k_w)), PyTorch's default for ``nn.Conv2d``.

    Examples
    --------
    >>> import numpy as np
    >>> from annrl.nn import Dense, Network
    >>> net = Network([Conv2D(1, 4, 3, padding=1), Flatten(), Dense(8 * 8 * 4, 10)], population=2, seed=0)
    >>> net.predict(np.zeros((5, 8, 8, 1))).shape
    (2, 5, 10)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0):
        if int(in_channels) < 1 or int(out_channels) < 1:
            raise InputError(f"Conv2D channels must be >= 1, got in_channels={in_channels}, "
                             f"out_channels={out_channels}")
        super().__init__(kernel_size, stride, padding)
        self.n_in, self.n_out = int(in_channels), int(out_channels)

    def param_specs(self):
        (kh, kw), C, F = self.kernel, self.n_in, self.n_out
        return {
            "weight": ParamSpec((kh, kw, C, F), C * kh * kw, F * kh * kw, "weight"),
            "bias": ParamSpec((1, F), C * kh * kw, F * kh * kw, "bias"),
        }

    def forward(self, params, x):
        w, b = params["weight"], params["bias"]
        xp = array_namespace(w)
        P, (kh, kw), C, F = w.shape[0], self.kernel, self.n_in, self.n_out
        self._check_image(x, C, P)
        windows = self._windows(xp, self._pad(xp, x, 0.0))
        *lead, N, Ho, Wo = windows.shape[:-3]
        # im2col: one row per output position, one column per (i, j, c) of the kernel
        cols = xp.reshape(windows, (*lead, N * Ho * Wo, kh * kw * C))
        z = xp.matmul(cols, xp.reshape(w, (P, kh * kw * C, F))) + b
        return xp.reshape(z, (P, N, Ho, Wo, F)), (cols, tuple(x.shape))

    def backward(self, params, grad_y, cache, input_grad=True):
        cols, input_shape = cache
        w = params["weight"]
        xp = array_namespace(w)
        P, N, Ho, Wo, F = grad_y.shape
        (kh, kw), C = self.kernel, self.n_in
        g = xp.reshape(grad_y, (P, N * Ho * Wo, F))
        # every output position used the same kernel: its gradient is summed over positions and samples
        grads = {"weight": xp.reshape(xp.matmul(cols.mT, g), (P, kh, kw, C, F)),
                 "bias": xp.sum(g, axis=1, keepdims=True)}
        if not input_grad:
            return None, grads
        grad_cols = xp.matmul(g, xp.reshape(w, (P, kh * kw * C, F)).mT)
        grad_windows = xp.reshape(grad_cols, (P, N, Ho, Wo, kh, kw, C))
        return self._add_windows(xp, grad_windows, input_shape), grads

    def spec(self):
        return {"type": "Conv2D", "in_channels": self.n_in, "out_channels": self.n_out, **self._settings()}

    def __repr__(self):
        return f"Conv2D({self.n_in} -> {self.n_out}, {self._describe()})"


class _Pool2D(_Windowed):
    """A parameter-free window reduction: stride defaults to the kernel (windows side by side), and
    padding is at most half the kernel (a window lying wholly in the border would pool only padding)."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0):
        super().__init__(kernel_size, kernel_size if stride is None else stride, padding)
        (kh, kw), (ph, pw) = self.kernel, self.padding
        if 2 * ph > kh or 2 * pw > kw:
            raise InputError(f"{type(self).__name__} padding must be at most half the kernel {self.kernel}, "
                             f"got {self.padding}")


class MaxPool2D(_Pool2D):
    """The largest value of each ``k_h x k_w`` window, per channel (PyTorch's ``max_pool2d``).

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default: ``kernel_size`` (windows side by side, not overlapping).
    padding : int or (int, int), default=0
        Pixels of -inf added on each side; at most half the kernel, as in PyTorch.

    Notes
    -----
    Input ``(..., N, H, W, C)``, output ``(..., N, H', W', C)``. Backward sends each window's error to
    the pixel that held its maximum (the first one, in row-major order, on a tie, as PyTorch).
    """

    def forward(self, params, x):
        xp = array_namespace(x)
        self._check_image(x, None, None)
        windows = self._windows(xp, self._pad(xp, x, -float("inf")))
        *lead, Ho, Wo, kh, kw, C = windows.shape
        flat = xp.reshape(windows, (*lead, Ho, Wo, kh * kw, C))
        return xp.max(flat, axis=-2), (xp.argmax(flat, axis=-2, keepdims=True), tuple(x.shape))

    def backward(self, params, grad_y, cache, input_grad=True):
        if not input_grad:
            return None, {}
        winner, input_shape = cache
        xp = array_namespace(grad_y)
        (kh, kw), (*lead, Ho, Wo, C) = self.kernel, grad_y.shape
        offsets = xp.reshape(xp.arange(kh * kw, device=grad_y.device), (kh * kw, 1))
        grad_flat = xp.where(offsets == winner, grad_y[..., None, :], xp.zeros_like(grad_y[..., None, :]))
        grad_windows = xp.reshape(grad_flat, (*lead, Ho, Wo, kh, kw, C))
        return self._add_windows(xp, grad_windows, input_shape), {}

    def spec(self):
        return {"type": "MaxPool2D", **self._settings()}

    def __repr__(self):
        return f"MaxPool2D({self._describe()})"


class AvgPool2D(_Pool2D):
    """The mean of each ``k_h x k_w`` window, per channel (PyTorch's ``avg_pool2d``).

    Parameters are those of :class:`MaxPool2D`; padding pixels are zeros and count in the mean
    (PyTorch's default ``count_include_pad=True``), so every window is divided by ``k_h k_w``.
    Backward shares each window's error equally among its ``k_h k_w`` pixels.
    """

    def forward(self, params, x):
        xp = array_namespace(x)
        self._check_image(x, None, None)
        windows = self._windows(xp, self._pad(xp, x, 0.0))
        (kh, kw) = self.kernel
        return xp.sum(windows, axis=(-3, -2)) * (1.0 / (kh * kw)), tuple(x.shape)

    def backward(self, params, grad_y, input_shape, input_grad=True):
        if not input_grad:
            return None, {}
        xp = array_namespace(grad_y)
        (kh, kw), (*lead, Ho, Wo, C) = self.kernel, grad_y.shape
        share = grad_y[..., None, None, :] * (1.0 / (kh * kw))
        grad_windows = xp.broadcast_to(share, (*lead, Ho, Wo, kh, kw, C))
        return self._add_windows(xp, grad_windows, input_shape), {}

    def spec(self):
        return {"type": "AvgPool2D", **self._settings()}

    def __repr__(self):
        return f"AvgPool2D({self._describe()})"


class Flatten(Layer):
    """Fold the last ``ndim`` axes into one: ``(P, N, H, W, C) -> (P, N, H W C)`` for ``ndim=3``.

    The order is row-major over (height, width, channel). Backward reshapes the error back.

    Parameters
    ----------
    ndim : int, default=3
        Trailing axes to fold (3: an image's height, width and channels).
    """

    def __init__(self, ndim: int = 3):
        if int(ndim) < 1:
            raise InputError(f"Flatten ndim must be >= 1, got {ndim}")
        self.ndim = int(ndim)

    def forward(self, params, x):
        xp = array_namespace(x)
        if x.ndim < self.ndim + 1:
            raise InputError(f"Flatten({self.ndim}) input needs a sample axis and {self.ndim} axes to fold, "
                             f"got shape {tuple(x.shape)}")
        lead, folded = tuple(x.shape[: -self.ndim]), 1
        for size in x.shape[-self.ndim :]:
            folded *= size
        return xp.reshape(x, (*lead, folded)), tuple(x.shape)

    def backward(self, params, grad_y, shape, input_grad=True):
        if not input_grad:
            return None, {}
        xp = array_namespace(grad_y)
        return xp.reshape(grad_y, (*grad_y.shape[:-1], *shape[-self.ndim :])), {}

    def spec(self):
        return {"type": "Flatten", "ndim": self.ndim}

    def __repr__(self):
        return f"Flatten({self.ndim})"
