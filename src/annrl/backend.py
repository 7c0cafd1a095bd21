"""Array namespaces: one engine source for NumPy, PyTorch and any array-API library.

Engine code never imports NumPy for its arithmetic. It asks the arrays it was given for their
namespace (the Python array API standard) and calls ``xp.exp``, ``xp.matmul``, ... on it, so the
same lines run on NumPy arrays, on PyTorch tensors (CPU or CUDA) and on ``array_api_strict``
arrays, which the tests use to catch any call outside the standard.

NumPy >= 2 implements the standard in its main namespace, so NumPy arrays get NumPy's own
functions, with one change: the reductions the engine calls every step (``sum``, ``max``, ``all``,
``any``) go straight to the ufunc's ``reduce``, and ``take`` and ``reshape`` to the array's methods,
skipping a Python wrapper that costs more than the arithmetic on a single small network or car.
Engine code that checked :func:`is_numpy` may also pass NumPy's ``out=`` to write a result into an
existing array (``sum`` accepts it too).
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from annrl.errors import InputError

BACKENDS = ("numpy", "torch", "array_api_strict")


def _numpy_namespace() -> types.ModuleType:
    ns = types.ModuleType("annrl.numpy", "NumPy's namespace with direct reductions (see annrl.backend).")
    ns.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})

    def sum(x, /, *, axis=None, dtype=None, keepdims=False, out=None):  # noqa: A001 - the standard's name
        return np.add.reduce(x, axis=axis, dtype=dtype, keepdims=keepdims, out=out)

    def max(x, /, *, axis=None, keepdims=False):  # noqa: A001
        return np.maximum.reduce(x, axis=axis, keepdims=keepdims)

    def all(x, /, *, axis=None, keepdims=False):  # noqa: A001
        return np.logical_and.reduce(x, axis=axis, keepdims=keepdims)

    def any(x, /, *, axis=None, keepdims=False):  # noqa: A001
        return np.logical_or.reduce(x, axis=axis, keepdims=keepdims)

    def take(x, indices, /, *, axis=None):
        return x.take(indices, axis=axis)

    def reshape(x, /, shape, *, copy=None):
        return x.reshape(shape) if copy is None else np.reshape(x, shape, copy=copy)

    ns.sum, ns.max, ns.all, ns.any, ns.take, ns.reshape = sum, max, all, any, take, reshape
    return ns


#: the namespace NumPy arrays get
NUMPY = _numpy_namespace()

_namespace_by_type: dict[type, Any] = {np.ndarray: NUMPY}


def array_namespace(*arrays: Any) -> Any:
    """The array-API namespace shared by ``arrays`` (Python scalars and None are ignored).

    Looked up once per array type and cached, because the engine calls it in every layer.
    """
    for x in arrays:
        xp = _namespace_by_type.get(type(x))
        if xp is not None:
            return xp
        if x is None or isinstance(x, (int, float, bool, np.generic)):
            continue
        xp = _namespace_by_type[type(x)] = _resolve(x)
        return xp
    return NUMPY


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
    """True when ``xp`` is the NumPy namespace (the default backend)."""
    return xp is NUMPY or xp is np


def to_numpy(x: Any) -> np.ndarray:
    """Copy (or view) any backend's array as a NumPy array on the host."""
    if isinstance(x, np.ndarray):
        return x
    if _is_torch(x):
        return x.detach().cpu().numpy()
    if hasattr(x, "__dlpack__"):
        return np.from_dlpack(x)
    return np.asarray(x)


def to_backend(x: np.ndarray, backend: str = "numpy", device: str | None = None) -> Any:
    """Move a NumPy array to ``backend`` ("numpy" or "torch") on ``device`` ("cpu", "cuda", ...)."""
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise InputError(f"device must be 'cpu' for the numpy backend, got {device!r}")
        return np.asarray(x)
    if backend == "torch":
        torch = require_torch()
        return torch.as_tensor(np.ascontiguousarray(x), device=device or "cpu")
    if backend == "array_api_strict":  # the standard and nothing else: for tests
        import array_api_strict

        return array_api_strict.asarray(x)
    raise InputError(f"backend must be one of {BACKENDS}, got {backend!r}")


def require_torch() -> Any:
    """Import PyTorch, or explain how to install it."""
    try:
        import torch
    except ImportError as err:
        raise ImportError(
            "this feature needs PyTorch: pip install 'annrl[torch]' (or pip install torch)"
        ) from err
    return torch


_allocator_tuned = False


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of returning it to the system.

    A training step allocates and frees dozens of temporaries of the same few sizes. By default
    glibc gives large freed blocks back to the kernel, and every next allocation pays page faults
    again: for 10,000 XOR networks that doubles the time of an epoch. Called once by the ``annrl``
    command at its entry (a library call changes no process-wide setting); a script that trains
    many networks with the engine calls it itself. Set ``ANNRL_KEEP_FREED_MEMORY=0`` to leave the allocator alone.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return
    _allocator_tuned = True
    import os
    import sys

    if not sys.platform.startswith("linux") or os.environ.get("ANNRL_KEEP_FREED_MEMORY", "1") == "0":
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_trim_threshold, 512 * 1024 * 1024)
        libc.mallopt(m_mmap_threshold, 64 * 1024 * 1024)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def check_device(backend: str, device: str | None) -> str | None:
    """``device`` checked for ``backend``, with one clear error when it cannot be used.

    NumPy runs on the CPU only; torch needs PyTorch installed, and ``cuda`` needs a CUDA build
    of PyTorch that sees a GPU. Returns the device to pass to :func:`to_backend` (None: default).
    """
    if backend not in ("numpy", "torch"):
        raise InputError(f"--backend must be numpy or torch, got {backend!r}", field="--backend")
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise InputError(f"--device {device} needs --backend torch (NumPy runs on the CPU only)", field="--device")
        return None
    try:
        torch = require_torch()
    except ImportError as err:
        raise InputError(f"--backend torch: {err}", field="--backend") from None
    device = device or "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        why = "this PyTorch has no CUDA support" if torch.version.cuda is None else "no GPU is visible"
        raise InputError(f"--device {device}: CUDA is not available ({why}); use --device cpu", field="--device")
    try:
        torch.empty(0, device=device)
    except (RuntimeError, ValueError) as err:
        raise InputError(f"--device {device!r} cannot be used by torch: {str(err).splitlines()[0]}",
                         field="--device") from None
    return device


def connect_ray(address: str, num_cpus: int | None = None) -> bool:
    """Start a local Ray (``"local"``) or join the cluster at ``address``; True if this call started it."""
    try:
        import ray
    except ImportError as err:
        raise InputError("--ray needs Ray: pip install 'annrl[ray]'", field="--ray") from err
    if ray.is_initialized():
        return False
    if address == "local":
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)
    return True
