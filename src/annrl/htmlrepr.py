"""Compact HTML summaries for notebooks (``_repr_html_``): networks, training histories, lab results.

Ground floor (imports nothing of annrl): the engine, the labs and the agents all use it. Every value
is escaped; a summary is one small table, never the whole metrics.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

#: at most this many rows of metrics in a lab result's summary
MAX_ROWS = 16


def table(title: str, rows: Iterable[tuple[str, Any]]) -> str:
    """``<table>`` with a caption and one ``name | value`` row per item (floats to 4 significant digits)."""
    cells = "".join(f"<tr><th style='text-align:left'>{html.escape(str(name))}</th>"
                    f"<td style='text-align:left'>{html.escape(_text(value))}</td></tr>" for name, value in rows)
    return f"<table><caption style='text-align:left'><b>{html.escape(title)}</b></caption>{cells}</table>"


def metrics_rows(metrics: Mapping[str, Any], limit: int = MAX_ROWS) -> list[tuple[str, Any]]:
    """The scalar entries of ``metrics`` (numbers, strings, booleans), the first ``limit`` of them, then a
    row counting what was left out (nested tables and lists stay in ``metrics``)."""
    scalars = [(k, v) for k, v in metrics.items() if isinstance(v, (numbers.Number, str, bool)) or v is None]
    rows = scalars[:limit]
    rest = len(metrics) - len(rows)
    if rest > 0:
        rows.append(("...", f"{rest} more entries in .metrics"))
    return rows


def metrics_table(title: str, metrics: Mapping[str, Any]) -> str:
    """:func:`table` of :func:`metrics_rows`."""
    return table(title, metrics_rows(metrics))


class MetricsHTML:
    """Mixin for a result with a ``metrics`` dict: its summary in a notebook."""

    metrics: dict[str, Any]

    def _repr_html_(self) -> str:
        return metrics_table(type(self).__name__, self.metrics)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
