"""``annrl report DIR``: every run under a folder on one static HTML page, figures and metrics.

A *run* is any folder holding a ``metrics.json`` (what every lab writes to its ``--out``). The page
(``DIR/report.html`` by default) has one section per run, in path order: a table of its numbers
(nested keys flattened to ``a.b.c``; long lists summarised) and its PNG figures, linked by paths
relative to the page, so the folder can be copied or zipped whole.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from annrl.errors import InputError
from annrl.io.rundir import check_folder
from annrl.userfiles import load_json
from annrl.viz.report import Section, Table, write_report

METRICS = "metrics.json"
MAX_ROWS = 60
MAX_LIST = 8


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="gather every run under a folder into one HTML page (figures and metrics)",
        description="Find every folder under DIR with a metrics.json and write one static HTML page with their "
        "figures and metrics tables (figures linked by relative paths).")
    parser.add_argument("dir", metavar="DIR", help="folder holding run folders (each with a metrics.json)")
    parser.add_argument("--output", default=None, help="the page to write (default: DIR/report.html)")
    parser.add_argument("--title", default=None, help="page title (default: 'annrl runs in DIR')")
    parser.set_defaults(handler=run)


def find_runs(root: Path) -> list[Path]:
    """Folders under ``root`` (itself included) with a ``metrics.json``, sorted by path."""
    return sorted(path.parent for path in root.rglob(METRICS) if path.is_file())


def flatten(metrics: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted key, value)`` rows of nested metrics; a list of numbers longer than 8 is summarised."""
    if isinstance(metrics, dict):
        rows = []
        for key in sorted(metrics, key=str):
            rows += flatten(metrics[key], f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(metrics, list) and len(metrics) > MAX_LIST:
        numbers = [v for v in metrics if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) == len(metrics):
            return [(prefix, f"{len(metrics)} values, min {min(numbers):.4g}, max {max(numbers):.4g}, "
                             f"last {numbers[-1]:.4g}")]
        return [(prefix, f"list of {len(metrics)} items")]
    if isinstance(metrics, list):
        return [(prefix, json.dumps(metrics)[:200])]
    return [(prefix, metrics)]


def run_section(run: Path, page_dir: Path, root: Path) -> Section:
    """One run: its metrics table and its figures (paths relative to the page)."""
    name = str(run.relative_to(root)) if run != root else root.name
    try:
        metrics = load_json(run / METRICS, "metrics file")
    except InputError as err:  # one damaged run must not cost the report of the others
        return Section(name, text=f"metrics.json could not be read: {err}")
    rows = flatten(metrics)
    note = f" (first {MAX_ROWS} of {len(rows)})" if len(rows) > MAX_ROWS else ""
    figures = sorted(run.glob("*.png")) + sorted(run.glob("figures/*.png"))
    links = [Path(os.path.relpath(f, page_dir)).as_posix() for f in figures]
    return Section(name, tables=[Table(f"metrics{note}", ["metric", "value"], rows[:MAX_ROWS])], figures=links)


def write_runs_report(root: str | Path, output: str | Path | None = None, title: str | None = None) -> Path:
    """Write the report of every run under ``root``; returns the page's path.

    Raises
    ------
    InputError
        When ``root`` is not a folder or holds no run.
    """
    root = Path(root)
    try:
        found = root.is_dir()
    except OSError as err:  # a name too long: is_dir() raises rather than answer False
        raise InputError(f"DIR must be an existing folder, got {str(root)!r}: {err.strerror}", field="DIR") from None
    if not found:
        raise InputError(f"DIR must be an existing folder, got {str(root)!r}", field="DIR")
    runs = find_runs(root)
    if not runs:
        raise InputError(f"no runs under {str(root)!r}: no folder there holds a {METRICS}", field="DIR")
    page = Path(output) if output is not None else root / "report.html"
    check_page(page, "--output" if output is not None else "DIR")
    sections = [run_section(r, page.resolve().parent, root.resolve()) for r in (p.resolve() for p in runs)]
    intro = f"{len(runs)} run{'s' if len(runs) != 1 else ''} found under {root}."
    return write_report(page, title or f"annrl runs in {root}", sections, intro=intro)  # a disk fault: exit 74


def check_page(page: Path, option: str) -> None:
    """Before the runs are read: the page's folder is writable (:func:`check_folder`) and the page can be a file
    there (not a folder, a name the file system takes)."""
    check_folder(page.parent, option)
    longest = os.pathconf(page.parent, "PC_NAME_MAX")
    if len(os.fsencode(page.name)) > longest:  # before is_dir(), which would raise ENAMETOOLONG
        raise InputError(f"{option} names a file of {len(os.fsencode(page.name)):,} bytes; the file system takes "
                         f"at most {longest}", field=option)
    if page.is_dir():
        raise InputError(f"{option} {page} is a folder; name the page's file, such as {page / 'report.html'}",
                         field=option)


def run(args: argparse.Namespace) -> int:
    path = write_runs_report(args.dir, args.output, args.title)
    print(f"report: {path}")
    return 0
