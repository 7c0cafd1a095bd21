"""Static HTML reports: sections of text, tables and figures in one self-contained folder."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Table:
    caption: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]


@dataclass
class Section:
    """One part of a report; ``figures`` are paths relative to the report's folder."""

    title: str
    text: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { border-bottom: 2px solid #2a7ab0; } h2 { margin-top: 2em; color: #2a7ab0; }
table { border-collapse: collapse; margin: 1em 0; } caption { text-align: left; font-weight: bold; }
td, th { border: 1px solid #ccc; padding: 4px 10px; text-align: right; } th { background: #eef4f8; }
td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; margin: 0.5em 0; border: 1px solid #eee; }
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    return f"<table><caption>{html.escape(table.caption)}</caption><tr>{head}</tr>{body}</table>"


def write_report(path: str | Path, title: str, sections: Sequence[Section], *, intro: str = "") -> Path:
    """Write ``sections`` as one HTML page at ``path``; returns the path."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    if intro:
        parts.append(f"<p>{html.escape(intro)}</p>")
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts += [f"<p>{html.escape(p)}</p>" for p in section.text.split("\n\n") if p.strip()]
        parts += [_table(t) for t in section.tables]
        parts += [f"<img src='{html.escape(f)}' alt='{html.escape(Path(f).stem)}'>" for f in section.figures]
    parts.append("</body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
