"""Measured trajectories from a CSV file: a ``t`` column and one column per state variable.

    t,x,y
    0.0,4.0,2.0
    0.05,4.11,1.98
    ...

Time must increase strictly; its steps may be irregular. Every cell must hold a finite number. The
file is read through :func:`annrl.userfiles.read_text` (a regular file of bounded size); a bad cell
is refused with one line naming its line and column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from annrl.errors import InputError
from annrl.userfiles import read_text

from .trajectory import Trajectory

#: fewest samples a measured trajectory may have
MIN_SAMPLES = 11


def read_trajectory_csv(path: str | Path, names: Sequence[str] | None = None) -> Trajectory:
    """The trajectory in the CSV file at ``path``.

    Parameters
    ----------
    path : str or Path
    names : sequence of str, optional
        The state variables to read, in this order (each must be a column); default every column but ``t``.

    Returns
    -------
    Trajectory
        ``t`` ``(n,)`` and ``x`` ``(n, d)`` as measured; ``x_clean`` is ``x`` (the measurements are the only
        reference) and ``dxdt_clean`` NaN (unknown).
    """
    where = str(path)
    rows = list(csv.reader(read_text(path, "--data").splitlines()))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(f"{where}: the file is empty (it needs a header line: t,x,...)", field="data")
    header = [cell.strip() for cell in rows[0]]
    if "t" not in header:
        raise InputError(f"{where} line 1: no 't' column (columns: {', '.join(header)})", field="data")
    if len(set(header)) != len(header) or "" in header:
        raise InputError(f"{where} line 1: column names must be distinct and non-empty, got {header}", field="data")
    names = [h for h in header if h != "t"] if names is None else list(names)
    for name in names:
        if name not in header:
            raise InputError(f"{where} line 1: no column for state variable {name!r} (columns: {', '.join(header)})",
                             field="data")
    if not names:
        raise InputError(f"{where} line 1: no state variable column besides 't'", field="data")
    columns = [header.index(c) for c in ["t", *names]]
    values = np.array([_row(where, number, row, header, columns) for number, row in enumerate(rows[1:], start=2)])
    if len(values) < MIN_SAMPLES:
        raise InputError(f"{where}: {len(values)} samples; at least {MIN_SAMPLES} are needed", field="data")
    t = values[:, 0]
    bad = np.flatnonzero(np.diff(t) <= 0)
    if len(bad):
        k = int(bad[0]) + 1
        raise InputError(f"{where} line {k + 2}, column 't': time {t[k]:g} does not increase (previous {t[k - 1]:g})",
                         field="data")
    x = values[:, 1:]
    return Trajectory(t=t, x=x, x_clean=x.copy(), dxdt_clean=np.full_like(x, np.nan), names=tuple(names),
                      system=f"data from {Path(path).name}")


def _row(where: str, number: int, row: list[str], header: list[str], columns: list[int]) -> list[float]:
    """The numbers of ``columns`` in one line of the file, or an InputError naming the line and column."""
    out = []
    for c in columns:
        cell = row[c].strip() if c < len(row) else ""
        if not cell:
            raise InputError(f"{where} line {number}, column {header[c]!r}: missing value", field="data")
        try:
            value = float(cell)
        except ValueError:
            raise InputError(f"{where} line {number}, column {header[c]!r}: not a number: {cell!r}",
                             field="data") from None
        if not math.isfinite(value):
            raise InputError(f"{where} line {number}, column {header[c]!r}: {cell} (every value must be finite)",
                             field="data")
        out.append(value)
    return out
