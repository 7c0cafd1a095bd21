"""Every run's metrics.json in one table (CSV, Parquet), the settings ranked, and their figure.

One row per run, failed runs included (status, attempts, error), and runs a Tune scheduler
stopped early (status "stopped", their last report as ``stopped_at.step``, ``stopped_at.loss``...).
Columns: the run's id, the varied options, its seed, then every number of its metrics.json,
nested keys joined by dots (``failure_kinds.plateau``). Lists, and maps keyed by numbers
(per-seed tables), stay in the run's own metrics.json: they are not summary numbers.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from annrl.sweep.config import Run
from annrl.sweep.runner import RUN_FILE

BASE_COLUMNS = ["id", "status", "attempts", "error", "seed"]


def flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalars of a nested dict with dotted keys; ``config`` (it repeats the options) is left out."""
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        if (not prefix and key == "config") or str(key).lstrip("-").isdigit():
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        elif value is None or isinstance(value, (bool, int, float, str)):
            flat[name] = value
    return flat


def collect(folder: Path, runs: list[Run]) -> list[dict[str, Any]]:
    """One row per run, read back from its folder (a run never reached has status "missing")."""
    rows = []
    for run in runs:
        run_dir = folder / "runs" / run.id
        row: dict[str, Any] = {"id": run.id, "status": "missing", "attempts": 0, "error": None, "seed": run.seed}
        record_path = run_dir / RUN_FILE
        if record_path.is_file():
            record = json.loads(record_path.read_text(encoding="utf-8"))
            row.update(status=record["status"], attempts=record["attempts"], error=record["error"])
            row.update({f"stopped_at.{k}": v for k, v in record.get("last_report", {}).items()})
        row.update({f"param.{k}": v for k, v in run.params.items()})
        if row["status"] == "done":
            row.update(flatten(json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))))
        rows.append(row)
    return rows


def columns(rows: list[dict[str, Any]]) -> list[str]:
    seen = dict.fromkeys(BASE_COLUMNS)
    for row in rows:
        seen.update(dict.fromkeys(k for k in row if k.startswith("param.")))
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _column_type(values: list[Any]) -> type | None:
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return None
    if kinds <= {int, float} and kinds != {int}:
        return float
    return kinds.pop() if len(kinds) == 1 else str


def write_tables(rows: list[dict[str, Any]], folder: Path) -> list[Path]:
    """``results.csv`` always, ``results.parquet`` where pyarrow is installed; the paths written."""
    from annrl.io import atomic_write

    names = columns(rows)
    text = _csv_text(rows, names)
    paths = [atomic_write(folder / "results.csv", text.encode("utf-8"))]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # Parquet is optional; the CSV holds the same table
        return paths
    data = {}
    for name in names:
        values = [row.get(name) for row in rows]
        kind = _column_type(values)
        data[name] = [None if v is None else (kind(v) if kind in (float, str) else v) for v in values]
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(data), sink)
    paths.append(atomic_write(folder / "results.parquet", sink.getvalue().to_pybytes()))
    return paths


def _csv_text(rows: list[dict[str, Any]], names: list[str]) -> str:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in names})
    return buffer.getvalue()


def rank_settings(rows: list[dict[str, Any]], metric: str, mode: str) -> list[dict[str, Any]]:
    """The settings (varied options), best first by the mean of ``metric`` over their finished runs.

    Returns dicts with ``params``, ``mean``, ``std`` (over seeds, 0 for one run) and ``runs``.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = json.dumps({k: v for k, v in row.items() if k.startswith("param.")}, sort_keys=True)
        groups.setdefault(key, []).append(row)
    ranked = []
    for key, members in groups.items():
        values = [float(r[metric]) for r in members
                  if r["status"] == "done" and isinstance(r.get(metric), (int, float)) and math.isfinite(r[metric])]
        if not values:
            continue
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        params = {k.removeprefix("param."): v for k, v in json.loads(key).items()}
        ranked.append({"params": params, "mean": mean, "std": std, "runs": len(values)})
    ranked.sort(key=lambda s: -s["mean"] if mode == "max" else s["mean"])
    return ranked


def label(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "(no options varied)"


def best_figure(ranked: list[dict[str, Any]], metric: str, mode: str, path: str | Path | None = None, *,
                top: int = 12, ax: Any = None) -> Any:
    """Horizontal bars of the ``top`` settings' mean ``metric``, with the spread over seeds; returns the Figure
    (written to ``path`` when given)."""
    from annrl.viz.style import finish, panel

    shown = ranked[:top]
    fig, ax = panel(ax, size=(6.5, 0.42 * len(shown) + 1.4))
    positions = list(range(len(shown)))
    ax.barh(positions, [s["mean"] for s in shown], xerr=[s["std"] for s in shown], color="#4c72b0",
            error_kw={"lw": 1, "capsize": 2})
    ax.set_yticks(positions, [label(s["params"]) for s in shown])
    ax.invert_yaxis()
    best = "highest" if mode == "max" else "lowest"
    ax.set(xlabel=f"{metric} (mean over seeds; bar: std)",
           title=f"The {len(shown)} best settings of {len(ranked)} ({best} {metric})")
    return finish(fig, path)
