"""Intra-op threads for NumPy's slow elementwise functions on large arrays.

NumPy evaluates ``exp``, ``log``, ``tanh``, ``sin`` ... in float64 one number at a time on CPUs
without AVX-512 (there is no vectorised version for AVX2), so on ten thousand XOR networks the
sigmoid's ``exp`` alone is half of an epoch. Its loops release the GIL, so cutting a large array
into one contiguous piece per thread runs them on every core; each number is still computed by
the same function, so the result is identical to the last bit whatever the number of threads.
PyTorch does the same (its intra-op thread pool); :func:`set_num_threads` plays the part of
``torch.set_num_threads``.

The default is the number of cores this process may use, at most 4, or ``ANNRL_NUM_THREADS``
(or else ``OMP_NUM_THREADS``, which Ray and job schedulers set for their workers) when given.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

#: below this many numbers a thread hand-off (tens of microseconds) costs more than it saves
MIN_PARALLEL_SIZE = 32768
#: the ufuncs worth splitting: transcendental ones (the arithmetic ones are memory-bound already)
SLOW_UFUNCS = ("exp", "expm1", "log", "log1p", "tanh", "sin", "cos")

_pool: ThreadPoolExecutor | None = None
_threads = 1


def _default_threads() -> int:
    for name in ("ANNRL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
            return int(value)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cores, 4)


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (>= 1) for the slow elementwise functions of large NumPy arrays."""
    global _pool, _threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of threads must be a whole number >= 1, got {n!r}")
    if _pool is not None:
        _pool.shutdown(wait=True)
    _threads = n
    _pool = ThreadPoolExecutor(n - 1, thread_name_prefix="annrl-op") if n > 1 else None


def get_num_threads() -> int:
    """The number of threads :func:`set_num_threads` chose (or the default)."""
    return _threads


def parallel(ufunc: np.ufunc):
    """``ufunc(x)`` of one array, split over the threads when ``x`` is large and laid out contiguously."""

    def apply(x: Any, /, *, out: Any = None) -> Any:
        if _pool is None or not isinstance(x, np.ndarray) or x.size < MIN_PARALLEL_SIZE or out is not None:
            return ufunc(x, out=out)
        if not _dense(x):
            return ufunc(x)  # a strided view: no contiguous pieces to hand out
        result = np.empty_like(x)  # the same memory order as x, so both flatten to views alike
        flat_x, flat_out = x.ravel(order="K"), result.ravel(order="K")
        bounds = np.linspace(0, x.size, _threads + 1).astype(int)
        pieces = [(flat_x[a:b], flat_out[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        futures = [_pool.submit(ufunc, piece, out=piece_out) for piece, piece_out in pieces[1:]]
        ufunc(pieces[0][0], out=pieces[0][1])
        for future in futures:
            future.result()
        return result

    apply.__name__ = apply.__qualname__ = ufunc.__name__
    apply.__doc__ = f"NumPy's {ufunc.__name__}, split over threads for large arrays (see annrl.threads)."
    return apply


def _dense(x: np.ndarray) -> bool:
    """Whether ``x`` fills one block of memory in some order of its axes (a permuted contiguous array)."""
    expected = x.itemsize
    for stride, size in sorted(zip(x.strides, x.shape, strict=True)):
        if size > 1 and stride != expected:
            return False
        expected *= size
    return True


set_num_threads(_default_threads())
