"""The dynamical-system interface: an autonomous ODE x' = f(x) written once, for NumPy and SymPy.

A system writes its vector field once, in ``field(*state, lib)``, with arithmetic operators and
``lib.sin``, ``lib.log``, ...; ``lib`` is NumPy for numbers and SymPy for symbols. From that one
definition it gets a vectorised ``rhs(t, state)``, its symbolic equations, and a ``simulate``
that integrates with SciPy's ``solve_ivp`` and returns a :class:`Trajectory`.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp

from annrl.errors import InputError
from annrl.validate import array_nbytes, check_sizes

from .trajectory import Trajectory

# Tolerances of the reference integration: tight enough that integration error (~1e-9 relative)
# is far below any noise a lab adds, and that conserved quantities hold to ~1e-8.
RTOL = 1e-10
ATOL = 1e-12


class DynamicalSystem(ABC):
    """An autonomous ODE ``x' = f(x)`` with named state variables and named parameters.

    Subclasses set ``names``, store their parameters in ``__init__`` (keyword arguments of the
    same names) and implement ``field``; a conserved quantity, if any, goes in ``_invariant``.
    """

    #: One name per state variable, e.g. ("x", "y").
    names: tuple[str, ...] = ()

    @abstractmethod
    def field(self, *state, lib=np) -> tuple:
        """The components of f at ``state`` (one array or symbol per variable), using ``lib``."""

    @abstractmethod
    def equation_terms(self) -> list[list[tuple[float, str]]]:
        """For each variable, its right-hand side as (coefficient, factor) terms, to print it."""

    @staticmethod
    def from_equations(equations: Any, params: Any = None, variables: Sequence[str] | None = None) -> DynamicalSystem:
        """A system typed by its user, e.g. ``System.from_equations("x' = a*x - b*x*y; y' = d*x*y - c*y",
        {"a": 1.3, "b": 0.5, "c": 0.7, "d": 0.2})``: see :class:`annrl.systems.equations.EquationSystem`."""
        from .equations import EquationSystem

        return EquationSystem(equations, params, variables)

    # ----------------------------------------------------------------- numbers
    @property
    def dim(self) -> int:
        """Number of state variables d."""
        return len(self.names)

    @property
    def parameters(self) -> dict[str, float]:
        """The constructor's arguments by name, e.g. ``{"alpha": 1.1, ...}``."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def rhs(self, t: float | ArrayLike, state: ArrayLike) -> np.ndarray:
        """The vector field f(state), vectorised over a batch of states.

        Parameters
        ----------
        t : float or array_like
            Time; unused (the systems are autonomous), kept for ``solve_ivp``'s ``fun(t, y)``.
        state : array_like, shape (..., d)
            One state or a batch of states.

        Returns
        -------
        dxdt : ndarray, shape (..., d)
        """
        state = self._check_state(state)
        components = self.field(*np.moveaxis(state, -1, 0), lib=np)
        return np.stack(np.broadcast_arrays(*components), axis=-1)

    @property
    def has_invariant(self) -> bool:
        """True when ``invariant`` is a conserved quantity of this system."""
        return False

    def invariant(self, state: ArrayLike) -> np.ndarray:
        """The conserved quantity at each state, shape ``(...)`` for ``state`` of shape ``(..., d)``."""
        if not self.has_invariant:
            raise NotImplementedError(f"{self!r} has no conserved quantity")
        return np.asarray(self._invariant(*np.moveaxis(self._check_state(state), -1, 0), lib=np))

    def _invariant(self, *state, lib=np):
        raise NotImplementedError

    def simulate(self, x0: ArrayLike, t_span: tuple[float, float], dt: float, *,
                 rng: np.random.Generator | None = None, noise: float = 0.0,
                 rtol: float = RTOL, atol: float = ATOL) -> Trajectory:
        """Integrate from ``x0`` and sample every ``dt``, optionally with measurement noise.

        Parameters
        ----------
        x0 : array_like, shape (d,)
            Initial state.
        t_span : (float, float)
            Start and end time; samples are ``t0, t0 + dt, ...`` up to ``t1``.
        dt : float
            Sampling step (> 0); the integrator picks its own, smaller steps.
        rng : numpy.random.Generator, default=None
            Source of the noise; needed when ``noise > 0``.
        noise : float, default=0.0
            Standard deviation of the Gaussian noise added to each state, as a fraction of
            that state's standard deviation over the clean trajectory (0.01 = 1%).
        rtol, atol : float, default=1e-10, 1e-12
            Tolerances of ``solve_ivp`` (DOP853, an 8th-order Runge-Kutta method).

        Returns
        -------
        Trajectory
            ``t`` ``(n,)``, noisy ``x`` and clean ``x_clean`` ``(n, d)``, and ``dxdt_clean = f(x_clean)``.
        """
        x0 = self._check_state(x0)
        if x0.ndim != 1:
            raise InputError(f"x0 must have shape ({self.dim},), got shape {x0.shape}")
        t = sample_grid(t_span, dt)
        x_clean = integrate(lambda state: self.rhs(0.0, state), x0, t, rtol=rtol, atol=atol)
        observed = add_noise(x_clean, noise, rng)
        return Trajectory(t=t, x=observed, x_clean=x_clean, dxdt_clean=self.rhs(t, x_clean),
                          names=self.names, noise=float(noise), system=repr(self))

    # ----------------------------------------------------------------- symbols
    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        """One SymPy symbol per state variable."""
        return tuple(sympy.Symbol(name) for name in self.names)

    def symbolic_rhs(self) -> tuple[sympy.Expr, ...]:
        """The vector field as SymPy expressions in ``symbols``, one per variable."""
        return tuple(sympy.sympify(f) for f in self.field(*self.symbols, lib=sympy))

    def symbolic_invariant(self) -> sympy.Expr:
        """The conserved quantity as a SymPy expression in ``symbols``."""
        if not self.has_invariant:
            raise NotImplementedError(f"{self!r} has no conserved quantity")
        return sympy.sympify(self._invariant(*self.symbols, lib=sympy))

    def equations(self) -> list[str]:
        """The equations as a person writes them, e.g. ``["x' = 1.1 x - 0.4 x y", ...]``."""
        rows = zip(self.names, self.equation_terms(), strict=True)
        return [f"{name}' = {format_terms(terms)}" for name, terms in rows]

    def __str__(self) -> str:
        return "\n".join(self.equations())

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self.parameters.items())
        return f"{type(self).__name__}({args})"

    def _check_state(self, state: ArrayLike) -> np.ndarray:
        state = np.asarray(state, dtype=float)
        if state.ndim == 0 or state.shape[-1] != self.dim:
            raise InputError(f"state must have shape (..., {self.dim}) for {self.names}, got shape {state.shape}")
        return state


class _Exhausted(Exception):
    """The field was evaluated as often as allowed (see :func:`integrate`)."""


def integrate(field: Callable[[np.ndarray], np.ndarray], x0: ArrayLike, t: np.ndarray, *,
              rtol: float = RTOL, atol: float = ATOL, max_evaluations: int | None = None) -> np.ndarray:
    """Integrate ``x' = field(x)`` with ``solve_ivp`` (DOP853) and sample it at ``t``.

    Works for any autonomous vector field, a learned one included.

    Parameters
    ----------
    field : callable
        ``field(state)`` for ``state`` of shape ``(d,)``, returning ``(d,)``.
    x0 : array_like, shape (d,)
        State at ``t[0]``.
    t : ndarray, shape (n,)
        Increasing sample times.
    rtol, atol : float, default=1e-10, 1e-12
        Tolerances of the integrator.
    max_evaluations : int, optional
        Give up (RuntimeError) after this many evaluations of ``field``: a learned field can be so stiff
        or blow up so fast that the adaptive steps shrink without end.

    Returns
    -------
    ndarray, shape (n, d)
        The states at ``t``.

    Raises
    ------
    RuntimeError
        When the integrator fails (for instance a field that blows up).
    """
    x0 = np.asarray(x0, dtype=float)
    if x0.ndim != 1 or not np.all(np.isfinite(x0)):
        raise InputError(f"x0 must be a finite vector of shape (d,), got {x0!r}")
    evaluations = 0

    def rhs(_, state):
        nonlocal evaluations
        evaluations += 1
        if max_evaluations is not None and evaluations > max_evaluations:
            raise _Exhausted
        return field(state)

    try:
        solution = solve_ivp(rhs, (t[0], t[-1]), x0, method="DOP853", t_eval=t, rtol=rtol, atol=atol)
    except _Exhausted:
        raise RuntimeError(f"integration stopped after {max_evaluations} evaluations of the field (too stiff, or "
                           "blowing up)") from None
    if not solution.success:
        raise RuntimeError(f"integration failed at t={solution.t[-1]:g}: {solution.message}")
    return solution.y.T


def sample_grid(t_span: Sequence[float], dt: float) -> np.ndarray:
    """Sample times ``t0, t0 + dt, ...`` up to ``t1`` (inclusive, to rounding), shape ``(n,)``."""
    t0, t1 = (float(v) for v in t_span)
    if not (np.isfinite(t0) and np.isfinite(t1) and t1 > t0):
        raise InputError(f"t_span must be (t0, t1) with t0 < t1, got {tuple(t_span)}")
    if not (np.isfinite(dt) and dt > 0):
        raise InputError(f"dt must be > 0, got {dt}")
    count = (t1 - t0) / dt
    if not np.isfinite(count):  # dt so small the count overflows (a denormal dt)
        raise InputError(f"dt is too small for t from {t0:g} to {t1:g}: the samples cannot be counted, got {dt}")
    check_sizes({f"dt {dt:g} from t = {t0:g} to {t1:g}: {count:.3g} samples": array_nbytes((int(count) + 1,))})
    steps = int(np.floor(count + 1e-9))  # 1e-9: 50 / 0.1 is 499.99999... in binary
    if steps < 1:
        raise InputError(f"dt must be at most t1 - t0 = {t1 - t0:g}, got {dt}")
    return t0 + dt * np.arange(steps + 1)


def add_noise(x: np.ndarray, noise: float, rng: np.random.Generator | None) -> np.ndarray:
    """``x`` ``(n, d)`` plus Gaussian noise of ``noise`` times each column's standard deviation."""
    if not (np.isfinite(noise) and noise >= 0):
        raise InputError(f"noise must be >= 0, got {noise}")
    if noise == 0:
        return x.copy()
    if not isinstance(rng, np.random.Generator):
        raise InputError(f"rng must be a numpy.random.Generator when noise > 0, got {rng!r}")
    return x + noise * x.std(axis=0) * rng.standard_normal(x.shape)


def format_terms(terms: Sequence[tuple[float, str]]) -> str:
    """``[(1.1, "x"), (-0.4, "x y")]`` -> ``"1.1 x - 0.4 x y"``; unit coefficients are left out."""
    text = ""
    for coefficient, factor in terms:
        if coefficient == 0:
            continue
        sign = ("-" if coefficient < 0 else "") if not text else (" - " if coefficient < 0 else " + ")
        size = abs(coefficient)
        body = factor if (size == 1 and factor) else f"{size:g} {factor}".rstrip()
        text += sign + body
    return text or "0"


def check_parameter(name: str, value: float, *, allow_zero: bool = False) -> float:
    """``value`` as a float, or a ValueError naming the rule (> 0, or >= 0 when ``allow_zero``)."""
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (np.isfinite(value) and ok):
        raise InputError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value:g}")
    return value
