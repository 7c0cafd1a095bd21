"""``annrl[fast]``: compiled (Numba) kernels for what populations spend their time on.

- :func:`train` runs a :class:`~annrl.nn.fit.Trainer`'s epochs fused in one compiled loop, parallel over
  blocks of networks; ``fit(..., kernel="auto" | "numpy" | "compiled")`` picks it with :func:`choose`.
- :func:`population_forward` is ``net.predict`` for Dense stacks, compiled.

The NumPy engine stays the reference: tests check these kernels against it (1e-10 in float64, 1e-4 in
float32 on every parameter, the same stops and loss history; where a training amplifies rounding, as
saturated tanh units do, within 100x what one ulp on the starting weights moves NumPy's own result), never
the other way round. Numba is imported only when a kernel runs, so this package can always be imported to
ask whether it applies.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from typing import Any

from annrl import progress
from annrl.errors import InputError
from annrl.nn.compiled.rules import why_not

KERNELS = ("auto", "numpy", "compiled")
INSTALL = 'pip install "annrl[fast]"'
#: the help sentence of every command's --kernel
KERNEL_HELP = (f"training loop: compiled (Numba, {INSTALL}), numpy, or auto: compiled when it applies and the work "
               "pays its compile cost")
#: ``auto`` takes the compiled loop for work (P x N x D x epochs, network-sample-parameter updates) of at
#: least this much when the kernels are compiled or in Numba's on-disk cache: loading them costs ~0.6 s of
#: CPU, what the NumPy engine spends on 1.5e8-5e8 such updates (measured on the 2-core machine)
AUTO_MIN_WORK = 200_000_000
#: ... and of at least this much when they must be compiled first (~25 s of CPU, both dtypes)
AUTO_MIN_WORK_COLD = 10_000_000_000


def available() -> bool:
    """Whether Numba can be imported (``pip install "annrl[fast]"``), without importing it."""
    if "numba" in sys.modules:
        return sys.modules["numba"] is not None  # None: imports of numba are blocked
    return importlib.util.find_spec("numba") is not None


def reason_not(trainer: Any, callbacks: Sequence[Any] = ()) -> str | None:
    """Why ``trainer`` cannot run compiled, in a few words (None: it can)."""
    blind = blind_callbacks(callbacks)
    if blind:
        return f"callbacks ({blind}: the compiled loop does not stop every epoch to call them)"
    if progress.listened():
        return "intermediate reports are listened to (the compiled loop does not report between epochs)"
    if type(trainer).__name__ != "Trainer":
        return f"{type(trainer).__name__} changes the training loop"
    return why_not(trainer.net, trainer.loss_fn, trainer.optimizer)


def blind_callbacks(callbacks: Sequence[Any]) -> str:
    """The names of the ``callbacks`` that want a call every epoch (those without ``next_look()``, which
    names the epoch after which a callback must be called), comma-separated; "" when none do."""
    return ", ".join(getattr(c, "__name__", type(c).__name__) for c in callbacks if not hasattr(c, "next_look"))


def choose(kernel: str, trainer: Any, epochs: int, callbacks: Sequence[Any] = ()) -> tuple[str, str | None]:
    """``(ran, why)``: the loop, ``"numpy"`` or ``"compiled"``, that trains ``trainer`` ``epochs`` epochs for
    ``fit(..., kernel=kernel)``, and in a few words why it is not the compiled one (None when it is).

    ``auto`` takes the compiled path when Numba is installed, the training qualifies (:func:`reason_not`)
    and the work, ``P x N x D x epochs``, pays the compile cost: at least :data:`AUTO_MIN_WORK` when the
    kernels are compiled or cached on disk, :data:`AUTO_MIN_WORK_COLD` when they are not; NumPy otherwise.
    ``"compiled"`` refuses, in one line, what it cannot honour.
    """
    if kernel not in KERNELS:
        raise InputError.invalid("kernel", f"one of {', '.join(KERNELS)}", kernel)
    if kernel == "numpy":
        return "numpy", "asked for"
    work = _work(trainer, epochs)
    if kernel == "auto" and work < AUTO_MIN_WORK:
        return "numpy", f"small work: P x N x D x epochs = {work:.1e} < {AUTO_MIN_WORK:.0e}"
    if not available():
        if kernel == "compiled":
            raise InputError(f'kernel="compiled" needs Numba, which is not installed: {INSTALL}', field="kernel")
        return "numpy", f"Numba is not installed ({INSTALL})"
    reason = reason_not(trainer, callbacks)
    if kernel == "compiled":
        if reason:
            raise InputError(f'kernel="compiled" cannot train this: {reason}; use kernel="numpy"', field="kernel")
        return "compiled", None
    if reason:
        return "numpy", reason
    if work < AUTO_MIN_WORK_COLD and not _ready():
        return "numpy", (f"kernels not compiled yet (Numba's cache is empty) and P x N x D x epochs = {work:.1e} "
                         f"< {AUTO_MIN_WORK_COLD:.0e}")
    return "compiled", None


def summary(asked: str, trainers: dict[str, Any]) -> dict[str, Any]:
    """The ``kernel`` record of a command's ``metrics.json``: the ``kernel`` asked for and, per phase
    (``{phase: trainer}``; phases whose trainer is None or never ran are left out), the loop that ran and
    why it is not the compiled one (None when it is)."""
    phases = {name: {"ran": trainer.kernel_ran, "why_not_compiled": trainer.kernel_reason}
              for name, trainer in trainers.items() if trainer is not None and trainer.kernel_ran is not None}
    return {"asked": asked, "phases": phases}


def describe(record: dict[str, Any]) -> str:
    """One line for a run's summary table from a :func:`summary` record, e.g. ``numpy (auto: small work...)``."""
    phases = list(record["phases"].items())
    if not phases:
        return f"none ran (kernel {record['asked']})"

    def text(phase: dict[str, Any]) -> str:
        why = phase["why_not_compiled"]
        return phase["ran"] if why is None else f"{phase['ran']} ({record['asked']}: {why})"

    if len({phase["ran"] for _, phase in phases}) == 1:  # one loop throughout: the first phase's reason
        return text(phases[0][1])
    return "; ".join(f"{name}: {text(phase)}" for name, phase in phases)


def _ready() -> bool:
    """Whether the training kernels are compiled in this process or cached on disk."""
    import os

    from annrl.nn.compiled import loop

    for kernel in (loop.train, loop.train_block):
        if kernel.signatures:
            continue
        index = getattr(getattr(getattr(kernel, "_cache", None), "_cache_file", None), "_index_path", None)
        if index is None or not os.path.exists(index):  # (Numba's cache layout is private: assume cold)
            return False
    return True


def _work(trainer: Any, epochs: int) -> int:
    samples = trainer.X.shape[trainer._x_axis]
    return trainer.net.population * samples * trainer.net.n_params * int(epochs)


def train(trainer: Any, epochs: int, advance: Any = None) -> bool:
    """Train ``trainer`` ``epochs`` more epochs compiled (see :mod:`annrl.nn.compiled.driver`)."""
    from annrl.nn.compiled.driver import run

    return run(trainer, epochs, advance)


def population_forward(net: Any, x: Any) -> Any:
    """``net.predict(x)`` ``(P, N, out)`` for ``x`` ``(N, in)`` or ``(P, N, in)``: compiled for NumPy Dense
    stacks when Numba is installed (see :mod:`annrl.nn.compiled.forward`), ``net.predict`` otherwise."""
    if not available():
        return net.predict(x)
    from annrl.nn.compiled.forward import predict

    return predict(net, x)
