"""Drift detectors: Page-Hinkley and ADWIN, fed one value at a time (a learner's 0/1 errors, say).

Both answer ``update(value) -> bool``: True when the stream's mean has just changed.

- **Page-Hinkley** (Page 1954) accumulates the deviations of the values from their running mean,
  less a tolerance ``delta``, and raises an alarm when the sum climbs more than ``threshold`` above
  its lowest point: a cumulative-sum test for an *increase* of the mean (an error rate going up).
- **ADWIN** (Bifet and Gavalda 2007) keeps a window of recent values and drops its older part
  whenever the two parts' means differ by more than chance allows (a Hoeffding-style bound with
  confidence ``delta``): the window is always as long as the stream has been stationary.
  This version checks every split point of a window capped at ``max_window`` values (with cumulative
  sums, every ``clock`` values), which is plain and fast enough for streams of thousands of values;
  the original's exponential histograms are what make it logarithmic in memory.
"""

from __future__ import annotations

import math

import numpy as np

from annrl.validate import POSITIVE, Interval, check


class PageHinkley:
    """Page-Hinkley test for an increase of the mean.

    Parameters
    ----------
    delta : float, default=0.005
        Tolerated increase: deviations smaller than this never accumulate.
    threshold : float, default=20.0
        Alarm when the cumulative deviation exceeds its minimum by this much (higher: fewer false
        alarms, later detections).
    min_samples : int, default=30
        No alarm before this many values since the last reset (the running mean must settle).

    Attributes
    ----------
    detections_ : list of int
        Indices (0-based, counting every value ever given) at which an alarm was raised.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ph = PageHinkley(delta=0.25, threshold=30.0)
    >>> values = np.concatenate([rng.normal(0, 1, 500), rng.normal(1, 1, 500)])
    >>> [ph.update(v) for v in values].index(True) - 500 < 50
    True
    """

    def __init__(self, delta: float = 0.005, threshold: float = 20.0, min_samples: int = 30):
        check({"delta": [Interval(float, 0, None)], "threshold": POSITIVE, "min_samples": [Interval(int, 1, None)]},
              {"delta": delta, "threshold": threshold, "min_samples": min_samples})
        self.delta, self.threshold, self.min_samples = float(delta), float(threshold), int(min_samples)
        self.detections_: list[int] = []
        self._seen = 0
        self.reset()

    def reset(self) -> None:
        """Forget the statistics (after a detection the new concept starts afresh)."""
        self._count, self._mean, self._sum, self._min = 0, 0.0, 0.0, 0.0

    def update(self, value: float) -> bool:
        """Add one value; True when it completes a detection (the statistics are then reset)."""
        self._seen += 1
        self._count += 1
        self._mean += (value - self._mean) / self._count
        self._sum += value - self._mean - self.delta
        self._min = min(self._min, self._sum)
        if self._count >= self.min_samples and self._sum - self._min > self.threshold:
            self.detections_.append(self._seen - 1)
            self.reset()
            return True
        return False


class ADWIN:
    """Adaptive windowing: the window shrinks when its two parts have different means.

    Parameters
    ----------
    delta : float, default=0.002
        Confidence: the chance of a false cut per check is about ``delta``.
    max_window : int, default=2000
        Values kept at most (the oldest are dropped beyond it).
    clock : int, default=8
        Check for a change every ``clock`` values.
    min_part : int, default=16
        Each part of a split has at least this many values.

    Attributes
    ----------
    detections_ : list of int
        Indices of the values at which the window was cut.
    """

    def __init__(self, delta: float = 0.002, max_window: int = 2000, clock: int = 8, min_part: int = 16):
        check({"delta": [Interval(float, 0, 1, closed="neither")], "max_window": [Interval(int, 2, None)],
               "clock": [Interval(int, 1, None)], "min_part": [Interval(int, 1, None)]},
              {"delta": delta, "max_window": max_window, "clock": clock, "min_part": min_part})
        self.delta, self.max_window = float(delta), int(max_window)
        self.clock, self.min_part = int(clock), int(min_part)
        self.window: list[float] = []
        self.detections_: list[int] = []
        self._seen = 0

    @property
    def mean(self) -> float:
        """Mean of the current window (NaN when empty)."""
        return float(np.mean(self.window)) if self.window else float("nan")

    def update(self, value: float) -> bool:
        """Add one value; True when the window was cut (a change of the mean was detected)."""
        self._seen += 1
        self.window.append(float(value))
        if len(self.window) > self.max_window:
            del self.window[0]
        if self._seen % self.clock or len(self.window) < 2 * self.min_part:
            return False
        cut = self._cut_point()
        if cut is None:
            return False
        del self.window[:cut]
        self.detections_.append(self._seen - 1)
        return True

    def _cut_point(self) -> int | None:
        """The split ``n0`` (old part ``window[:n0]``) with the largest significant difference, if any."""
        values = np.asarray(self.window)
        n = len(values)
        n0 = np.arange(self.min_part, n - self.min_part + 1)
        sums = np.cumsum(values)
        mean0 = sums[n0 - 1] / n0
        mean1 = (sums[-1] - sums[n0 - 1]) / (n - n0)
        m = 1.0 / (1.0 / n0 + 1.0 / (n - n0))  # harmonic mean of the two parts' sizes
        log_term = math.log(2.0 * math.log(n) / self.delta)  # the splits checked share delta
        variance = float(np.var(values))
        bound = np.sqrt(2.0 * variance * log_term / m) + 2.0 * log_term / (3.0 * m)
        excess = np.abs(mean0 - mean1) - bound
        best = int(np.argmax(excess))
        return int(n0[best]) if excess[best] > 0 else None
