"""The cells of the Neural Network Zoo chart (van Veen, Asimov Institute, 2016): a colour and a mark each.

The chart's convention: yellow cells take input, green cells are hidden, orange cells are output,
blue cells carry state over time and pink cells are kernels; a mark inside a cell says what kind:
a ring for probabilistic / backfed / memory / pooling cells, a triangle for noisy, spiking and
gated cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annrl.errors import InputError

YELLOW, GREEN, ORANGE, BLUE, PINK = "#f7e26b", "#8fcf6e", "#f2a25c", "#5b9bd5", "#e58fd0"


@dataclass(frozen=True)
class Cell:
    """How one kind of cell is drawn: ``colour`` fill, optional ``mark`` ("ring" or "triangle") inside."""

    title: str
    colour: str
    mark: str | None = None


CELLS: dict[str, Cell] = {
    "input": Cell("input cell", YELLOW),
    "backfed_input": Cell("backfed input cell", YELLOW, "ring"),
    "noisy_input": Cell("noisy input cell", YELLOW, "triangle"),
    "hidden": Cell("hidden cell", GREEN),
    "probabilistic_hidden": Cell("probabilistic hidden cell", GREEN, "ring"),
    "spiking_hidden": Cell("spiking hidden cell", GREEN, "triangle"),
    "output": Cell("output cell", ORANGE),
    "match_input_output": Cell("match input output cell", ORANGE, "ring"),
    "recurrent": Cell("recurrent cell", BLUE),
    "memory": Cell("memory cell", BLUE, "ring"),
    "gated_memory": Cell("gated memory cell", BLUE, "triangle"),
    "kernel": Cell("kernel", PINK),
    "pool": Cell("convolution or pool", PINK, "ring"),
}


def check_kind(kind: str) -> Cell:
    """The :class:`Cell` of ``kind``; ValueError naming the known kinds otherwise."""
    if kind not in CELLS:
        raise InputError(f"cell kind must be one of {sorted(CELLS)}, got {kind!r}")
    return CELLS[kind]


def draw_cell(ax: Any, x: float, y: float, kind: str, radius: float = 0.28) -> None:
    """Draw one cell of ``kind`` centred at ``(x, y)`` on matplotlib axes ``ax`` (data units)."""
    from matplotlib.patches import Circle, RegularPolygon

    cell = check_kind(kind)
    ax.add_patch(Circle((x, y), radius, facecolor=cell.colour, edgecolor="#333333", linewidth=1.0, zorder=3))
    if cell.mark == "ring":
        ax.add_patch(Circle((x, y), radius * 0.55, facecolor="none", edgecolor="#333333", linewidth=1.0, zorder=4))
    elif cell.mark == "triangle":
        ax.add_patch(RegularPolygon((x, y - radius * 0.08), 3, radius=radius * 0.55, facecolor="none",
                                    edgecolor="#333333", linewidth=1.0, zorder=4))
