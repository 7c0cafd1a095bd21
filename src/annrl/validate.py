"""One validation layer: declarative constraint tables, array checks and a memory budget.

Every configuration keeps its rules in one table, checked once on entry, in the manner of
scikit-learn's ``_parameter_constraints``::

    TABLE = {
        "lr": [Interval(float, 0, None, closed="neither")],
        "loss": [Options({"mse", "bce"})],
        "hidden": [Interval(int, 1, None, closed="left")],
        "seed": [Interval(int, 0, None, closed="left"), None],   # None is also allowed
    }
    check(TABLE, {"lr": -0.1})      # InputError: lr must be > 0, got -0.1
    check_cli(TABLE, args)          # InputError: --lr must be > 0, got -0.1

A value passes when it satisfies any one of its field's constraints. Every failure is an
:class:`~annrl.errors.InputError` whose one-line message names the field, the rule and the
value received.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from annrl.errors import InputError, MemoryBudgetError, show_value

MEMORY_FRACTION_ENV = "ANNRL_MEMORY_FRACTION"
DEFAULT_MEMORY_FRACTION = 0.75


class Constraint(Protocol):
    """What a table entry must offer: a test and a phrase for the error message."""

    def accepts(self, value: Any) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Interval:
    """A real or integer number in a range; ``None`` as a bound means unbounded.

    Parameters
    ----------
    kind : {int, float}
        ``int`` accepts integers only (not bools); ``float`` accepts any real number.
    low, high : float or None
        The bounds.
    closed : {"left", "right", "both", "neither"}, default="both"
        Which bounds are included.
    allow_inf : bool, default=False
        Accept +-inf (within the bounds). NaN is never accepted.
    """

    kind: type
    low: float | None
    high: float | None
    closed: Literal["left", "right", "both", "neither"] = "both"
    allow_inf: bool = False

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        # Integers are never NaN or infinite (and math.isnan(10**400) would overflow).
        if not isinstance(value, numbers.Integral) and (
            math.isnan(value) or (math.isinf(value) and not self.allow_inf)
        ):
            return False
        left_ok = self.low is None or value > self.low or (value == self.low and self._closed_left)
        right_ok = self.high is None or value < self.high or (value == self.high and self._closed_right)
        return left_ok and right_ok

    def describe(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            left, right = "[" if self._closed_left else "(", "]" if self._closed_right else ")"
            return f"{noun} in {left}{self.low}, {self.high}{right}"
        if self.low is not None:
            bound = f"{'>=' if self._closed_left else '>'} {self.low}"
        elif self.high is not None:
            bound = f"{'<=' if self._closed_right else '<'} {self.high}"
        else:
            return "an integer" if self.kind is int else "a finite number"
        # "lr must be > 0" reads better than "lr must be a number > 0".
        return f"an integer {bound}" if self.kind is int else bound

    @property
    def _closed_left(self) -> bool:
        return self.closed in ("left", "both")

    @property
    def _closed_right(self) -> bool:
        return self.closed in ("right", "both")


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (usually strings), e.g. ``Options({"mse", "bce"})``."""

    values: frozenset

    def __init__(self, values: Iterable[Any]) -> None:
        object.__setattr__(self, "values", frozenset(values))

    def accepts(self, value: Any) -> bool:
        try:
            return value in self.values and not isinstance(value, (bool, np.bool_))
        except TypeError:  # an unhashable value is simply not an option
            return False

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in sorted(self.values, key=repr))

    def hint(self, value: Any) -> str:
        """``" (did you mean 'mse'?)"`` for a near miss, else ``""``."""
        if not isinstance(value, str):
            return ""
        names = sorted(v for v in self.values if isinstance(v, str))
        # an abbreviation ("lotka") is the likeliest slip; then a near spelling ("splines")
        close = [name for name in names if value and name.startswith(value)] or difflib.get_close_matches(
            value, names, n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class InstanceOf:
    """A value of the given type(s), described by ``name`` ("a string", "a boolean")."""

    types: type | tuple[type, ...]
    name: str

    def accepts(self, value: Any) -> bool:
        if self.types is bool or self.types == (bool,):
            return isinstance(value, (bool, np.bool_))
        return isinstance(value, self.types)

    def describe(self) -> str:
        return self.name


def Boolean() -> InstanceOf:  # noqa: N802 - reads like the other constraint classes in a table
    """True or False (NumPy booleans included)."""
    return InstanceOf(bool, "a boolean")


@dataclass(frozen=True)
class ListOf:
    """A list or tuple whose items all satisfy ``item``, e.g. hidden-layer sizes ``[4, 4]``."""

    item: Constraint
    min_length: int = 0
    max_length: int | None = None

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, (list, tuple)):
            return False
        if len(value) < self.min_length or (self.max_length is not None and len(value) > self.max_length):
            return False
        return all(self.item.accepts(v) for v in value)

    def describe(self) -> str:
        if self.max_length is None:
            count = f"{self.min_length} or more items" if self.min_length else "items"
        else:
            count = f"{self.min_length} to {self.max_length} items"
        return f"a list of {count}, each {self.item.describe()}"


Table = Mapping[str, Sequence[Constraint | None]]

# The rules most tables need, named once (a table entry is a list of constraints).
POSITIVE_INT = [Interval(int, 1, None, closed="left")]
NON_NEGATIVE_INT = [Interval(int, 0, None, closed="left")]
POSITIVE = [Interval(float, 0, None, closed="neither")]
NON_NEGATIVE = [Interval(float, 0, None, closed="left")]
UNIT = [Interval(float, 0, 1)]
#: a running-average decay: 1 would never forget
BETA = [Interval(float, 0, 1, closed="left")]


def check_value(name: str, value: Any, constraints: Sequence[Constraint | None]) -> Any:
    """Check one value against its constraints (any one may match); return it unchanged.

    Raises
    ------
    InputError
        ``"<name> must be <rule> [or <rule>...], got <value>"``.
    """
    for constraint in constraints:
        if (value is None) if constraint is None else constraint.accepts(value):
            return value
    rules = " or ".join("None" if c is None else c.describe() for c in constraints)
    hints = "".join(c.hint(value) for c in constraints if c is not None and hasattr(c, "hint"))
    raise InputError(f"{name} must be {rules}, got {show_value(value)}{hints}", field=name)


def check(
    table: Table,
    values: Mapping[str, Any],
    *,
    prefix: str = "",
    allow_unknown: bool = False,
    cli: bool = False,
    flags: Mapping[str, str] | None = None,
) -> Mapping[str, Any]:
    """Check every field of ``values`` that ``table`` has rules for; return ``values``.

    Parameters
    ----------
    table : mapping of str to list of constraints
        The rules. ``None`` in a list means None is allowed.
    values : mapping
        The configuration. Fields absent from ``values`` are not checked (they take defaults).
    prefix : str, default=""
        Prepended to field names in messages, e.g. ``"agent."`` for a nested config.
    allow_unknown : bool, default=False
        Ignore fields that ``table`` does not know, instead of refusing them (typos).
    cli : bool, default=False
        Name fields as command-line options: ``hidden_size`` becomes ``--hidden-size``.
    flags : mapping of str to str, optional
        With ``cli``, the options spelled otherwise, e.g. ``{"total_steps": "--steps"}``.

    Raises
    ------
    InputError
        On the first field that breaks its rules, or an unknown field.
    """
    for key, value in values.items():
        name = (flags or {}).get(key, f"--{key.replace('_', '-')}") if cli else f"{prefix}{key}"
        if key in table:
            check_value(name, value, table[key])
        elif not allow_unknown:
            known = ", ".join(sorted(table))
            close = difflib.get_close_matches(str(key), list(table), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"unknown field {name!r}; known fields: {known}{hint}", field=name)
    return values


def check_cli(table: Table, args: Any) -> Any:
    """Check parsed command-line options (an ``argparse.Namespace``), naming them ``--lr``.

    Options that the table does not list (``command``, ``handler``, ...) are ignored.
    """
    check(table, vars(args), cli=True, allow_unknown=True)
    return args


def check_finite(name: str, array: Any) -> np.ndarray:
    """Refuse NaN or infinity anywhere in ``array`` (any shape); return it as a NumPy array."""
    values = np.asarray(array)
    if values.dtype.kind not in "fc":
        return values
    bad = ~np.isfinite(values)
    count = int(bad.sum())
    if count:
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {first}" if values.ndim else ""
        raise InputError(
            f"{name} must be finite, got {count} non-finite value{'s' * (count > 1)} "
            f"(first: {values[first]}{where})",
            field=name,
        )
    return values


def check_shape(name: str, array: Any, expected: Sequence[int | None]) -> Any:
    """Refuse an array whose shape differs from ``expected`` (``None`` matches any length).

    Returns ``array`` unchanged, e.g. ``check_shape("X", X, (None, 2))`` for ``X`` of shape (N, 2).
    """
    shape = tuple(getattr(array, "shape", np.shape(array)))
    fits = len(shape) == len(expected) and all(
        e is None or e == s for s, e in zip(shape, expected, strict=True)
    )
    if not fits:
        dims = ["*" if e is None else str(e) for e in expected]
        want = f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"
        raise InputError(f"{name} must have shape {want}, got {shape}", field=name)
    return array


def array_nbytes(shape: Sequence[int], dtype: Any = np.float64) -> int:
    """Bytes an array of ``shape`` and ``dtype`` would take, in exact Python integers (no overflow)."""
    return math.prod(int(n) for n in shape) * np.dtype(dtype).itemsize


def check_memory(
    nbytes: int,
    what: str,
    *,
    fraction: float | None = None,
    available: int | None = None,
) -> None:
    """Refuse, before allocating, a size above a fraction of the available memory.

    Parameters
    ----------
    nbytes : int
        The estimated size, e.g. ``array_nbytes((P, D))`` for a population of P networks of D
        parameters.
    what : str
        What the memory is for, as the message should name it ("a population of 10000 networks").
    fraction : float, optional
        The share of available memory allowed, in (0, 1]. Default: the environment variable
        ``ANNRL_MEMORY_FRACTION``, or 0.75.
    available : int, optional
        Available memory in bytes; default :func:`available_memory`. When it cannot be
        determined, nothing is refused.

    Raises
    ------
    MemoryBudgetError
        With the estimate and the limit, e.g. "a replay buffer of 10^9 transitions needs about
        74.5 GiB, over the memory limit of 9.0 GiB (75% of 12.0 GiB available); ...".
    """
    share = memory_fraction(fraction)
    free = available_memory() if available is None else available
    if free is None:
        return
    limit = int(free * share)
    if nbytes > limit:
        raise MemoryBudgetError(
            f"{what} needs about {format_bytes(nbytes)}, over the memory limit of {format_bytes(limit)} "
            f"({share:.0%} of {format_bytes(free)} available); use a smaller size "
            f"or raise {MEMORY_FRACTION_ENV}",
            needed=int(nbytes),
            limit=limit,
        )


def check_sizes(parts: Mapping[str, int], *, available: int | None = None) -> None:
    """One up-front estimate of what a run will allocate, refused before anything is allocated.

    Every configuration calls this once, from its table check, with the bytes its user-chosen
    sizes imply (lower bounds are enough: the aim is to refuse sizes that cannot fit, and
    never a run that can).

    Parameters
    ----------
    parts : mapping of str to int
        Bytes per allocation, keyed by the options that set it as the user wrote them, e.g.
        ``{"--population 1000000000 networks": array_nbytes((P, D))}``.
    available : int, optional
        As for :func:`check_memory`.

    Raises
    ------
    MemoryBudgetError
        "this run (--hidden 100000000: 11.2 GiB) needs about 11.2 GiB, over the memory limit of ...".
    """
    sizes = sorted(((int(n), name) for name, n in parts.items()), reverse=True)
    detail = "; ".join(f"{name}: {format_bytes(n)}" for n, name in sizes[:2] if n)
    check_memory(sum(n for n, _ in sizes), f"this run ({detail})", available=available)


def dense_parameters(sizes: Sequence[int]) -> int:
    """Weights and biases of dense layers of widths ``sizes`` (``[in, hidden..., out]``), exactly."""
    return sum((int(a) + 1) * int(b) for a, b in zip(sizes, sizes[1:], strict=False))


def memory_fraction(fraction: float | None = None) -> float:
    """The memory share allowed: ``fraction``, else ``$ANNRL_MEMORY_FRACTION``, else 0.75."""
    rule = [Interval(float, 0, 1, closed="right")]
    if fraction is not None:
        return float(check_value("memory fraction", fraction, rule))
    text = os.environ.get(MEMORY_FRACTION_ENV)
    if text is None:
        return DEFAULT_MEMORY_FRACTION
    try:
        value: Any = float(text)
    except ValueError:
        value = text
    return float(check_value(MEMORY_FRACTION_ENV, value, rule))


def available_memory() -> int | None:
    """Bytes of memory this process can still use, or None when unknown.

    The smaller of the system's ``MemAvailable`` (/proc/meminfo, else ``os.sysconf``) and the
    room left under a container's cgroup limit, which /proc/meminfo does not reflect.
    """
    candidates = [n for n in (_meminfo_available(), _cgroup_available()) if n is not None]
    return min(candidates) if candidates else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_available() -> int | None:
    pairs = [
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ]
    for limit_file, usage_file in pairs:
        try:
            with open(limit_file) as f:
                limit_text = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit_text == "max" or int(limit_text) >= 1 << 60:  # "no limit" in v2 and v1
            return None
        return max(int(limit_text) - usage, 0)
    return None


def format_bytes(nbytes: float) -> str:
    """``1536`` -> ``"1.5 KiB"``: sizes in binary units, for messages."""
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
