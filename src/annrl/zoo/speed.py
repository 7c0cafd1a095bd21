"""One BLAS thread for the zoo's demos: their matrices are small (tens to hundreds of rows).

Waking a pool of BLAS threads for each small product costs more than the product, and on a shared
machine the threads fight the other processes for the cores (on a busy 2-core machine a 200 x 200
eigenvalue problem took 3 s with the default pool and 0.3 s with one thread).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from annrl.nn.lbfgs import single_threaded_blas

F = TypeVar("F", bound=Callable[..., Any])


def one_blas_thread(function: F) -> F:
    """Run ``function`` with BLAS limited to one thread (when threadpoolctl is installed)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with single_threaded_blas():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
