"""Array namespaces: one engine source for NumPy, PyTorch and any array-API library.

Engine code never imports NumPy for its arithmetic. It asks the arrays it was given for their
namespace (the Python array API standard) and calls ``xp.exp``, ``xp.matmul``, ... on it, so the
same lines run on NumPy arrays, on PyTorch tensors (CPU or CUDA) and on ``array_api_strict``
arrays, which the tests use to catch any call outside the standard.

NumPy >= 2 implements the standard in its main namespace, so NumPy arrays get ``numpy`` itself:
no wrapper sits in the hot path of the default backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BACKENDS = ("numpy", "torch")

_namespace_by_type: dict[type, Any] = {np.ndarray: np}


def array_namespace(*arrays: Any) -> Any:
    """The array-API namespace shared by ``arrays`` (Python scalars and None are ignored).

    Looked up once per array type and cached, because the engine calls it in every layer.
    """
    for x in arrays:
        if x is None or isinstance(x, (int, float, bool)):
            continue
        kind = type(x)
        xp = _namespace_by_type.get(kind)
        if xp is None:
            xp = _resolve(x)
            _namespace_by_type[kind] = xp
        return xp
    return np


def _resolve(x: Any) -> Any:
    if hasattr(x, "__array_namespace__") and not _is_torch(x):
        return x.__array_namespace__()
    try:
        import array_api_compat
    except ImportError as err:  # pragma: no cover - array-api-compat is a dependency
        raise TypeError(f"cannot find the array namespace of {type(x).__name__}") from err
    return array_api_compat.array_namespace(x)


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def is_numpy(xp: Any) -> bool:
    """True when ``xp`` is NumPy's own namespace (the default backend)."""
    return xp is np


def to_numpy(x: Any) -> np.ndarray:
    """Copy (or view) any backend's array as a NumPy array on the host."""
    if isinstance(x, np.ndarray):
        return x
    if _is_torch(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def to_backend(x: np.ndarray, backend: str = "numpy", device: str | None = None) -> Any:
    """Move a NumPy array to ``backend`` ("numpy" or "torch") on ``device`` ("cpu", "cuda", ...)."""
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"device must be 'cpu' for the numpy backend, got {device!r}")
        return np.asarray(x)
    if backend == "torch":
        torch = require_torch()
        return torch.as_tensor(np.ascontiguousarray(x), device=device or "cpu")
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def require_torch() -> Any:
    """Import PyTorch, or explain how to install it."""
    try:
        import torch
    except ImportError as err:
        raise ImportError(
            "this feature needs PyTorch: pip install 'annrl[torch]' (or pip install torch)"
        ) from err
    return torch
