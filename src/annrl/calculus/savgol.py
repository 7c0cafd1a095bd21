"""Savitzky-Golay derivative: the slope of a least-squares polynomial fitted in a sliding window.

Fitting a degree-p polynomial to ``window_length`` equally spaced samples and taking its slope
at the centre is a fixed linear filter, so it costs one convolution (``scipy.signal.savgol_filter``
with ``deriv=1``). A wider window averages more noise away but bends a curved signal more: for
noise sigma, step h and window w the noise left in the slope falls roughly as sigma / (h w^1.5).
Near the ends the polynomial fitted to the first (last) window is used (``mode="interp"``).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter

from annrl.errors import InputError

from .base import Differentiator


class SavitzkyGolay(Differentiator):
    """Slope of a degree-``polyorder`` least-squares polynomial over ``window_length`` samples.

    Needs uniformly spaced samples.

    Parameters
    ----------
    window_length : int, default=11
        Odd number of samples in each fit; more samples smooth more.
    polyorder : int, default=3
        Degree of the fitted polynomial, from 1 to ``window_length - 1``.
    """

    supports_nonuniform = False

    def __init__(self, window_length: int = 11, polyorder: int = 3):
        if window_length < 3 or window_length % 2 == 0:
            raise InputError(f"window_length must be an odd integer >= 3, got {window_length}")
        if not 1 <= polyorder < window_length:
            raise InputError(f"polyorder must be in [1, window_length - 1] = [1, {window_length - 1}], "
                             f"got {polyorder}")
        self.window_length = int(window_length)
        self.polyorder = int(polyorder)

    @property
    def min_samples(self) -> int:
        return self.window_length

    def _differentiate(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        dt = (t[-1] - t[0]) / (len(t) - 1)
        return savgol_filter(x, self.window_length, self.polyorder, deriv=1, delta=dt, axis=0, mode="interp")
