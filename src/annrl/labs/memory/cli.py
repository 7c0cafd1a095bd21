"""``annrl memory``: the memory lab on the command line, its figures and its report section."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from annrl.clikit import add_checkpoint_options, add_output_options, checkpointer_from_args, show, write_metrics
from annrl.config import add_flags, from_args
from annrl.labs.memory.figures import write_figures
from annrl.labs.memory.lab import MemoryConfig, MemoryResult, WorkingMemoryConfig, train
from annrl.viz.report import Section, Table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "memory", help="store letters in a Hopfield network and recall them; train a recurrent net to hold a bit",
        description="Store letters (7x9 bitmaps) in a Hopfield network by the Hebbian or pseudo-inverse rule, recall "
        "them from corrupted cues and count spurious states; --capacity measures recall against the number of random "
        "patterns (vs 0.138 N); --working-memory trains Elman and GRU networks to hold a bit over a delay.")
    add_flags(parser, MemoryConfig, ["rule", "patterns", "noise"])
    parser.add_argument("--capacity", action="store_true",
                        help="measure recall against the number of random patterns, both rules")
    add_flags(parser, MemoryConfig, ["neurons"])
    parser.add_argument("--working-memory", action="store_true",
                        help="train Elman and GRU networks to hold a bit over delays (BPTT)")
    add_flags(parser, WorkingMemoryConfig)
    add_flags(parser, MemoryConfig, ["seed"])
    add_output_options(parser, "runs/memory")
    add_checkpoint_options(parser)
    parser.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> MemoryConfig:
    wm = None
    if args.working_memory:
        wm = from_args(WorkingMemoryConfig, args)
    return from_args(MemoryConfig, args, capacity=args.capacity, working_memory=wm)


def run(args: argparse.Namespace) -> int:
    config, out = config_from_args(args), Path(args.out)
    with checkpointer_from_args(args, asdict(config)) as checkpointer:
        result = train(config, checkpointer=checkpointer)
    write_metrics(out, result.metrics)
    write_figures(result, out)
    show(args, result.metrics, f"memory: {result.config.rule}, letters {result.letters}", summary_rows(result))
    return 0


def summary_rows(result: MemoryResult) -> list[tuple[str, Any]]:
    m = result.metrics
    rows: list[tuple[str, Any]] = [
        ("stored", f"{m['letters']} ({m['neurons']} neurons, {m['rule']} rule)"),
        (f"recalled from {m['noise']:.0%} flipped bits", f"{100 * m['recall_rate']:.1f}% of cues"),
    ]
    if "spurious" in m:
        s = m["spurious"]
        rows.append(("random starts end in", f"{100 * s['stored']:.0f}% stored, {100 * s['reversed']:.0f}% reversed, "
                     f"{100 * s['spurious']:.0f}% spurious ({s['distinct_spurious']} distinct, {s['mixtures']} "
                     "3-pattern mixtures)"))
    for rule, curve in m.get("letters_curve", {}).items():
        held = [r["patterns"] for r in curve if r["recall_rate"] >= 0.9]
        rows.append((f"letters recalled >= 90% ({rule})", f"up to {max(held) if held else 0} letters"))
    if "capacity" in m:
        theory = m["capacity_theory_hebbian"]
        for rule, measured in m["capacity_measured"].items():
            value = measured["recall_rate_50"]
            rows.append((f"capacity, {rule} (50% exact recall)",
                         f"{value:.1f} patterns" if value is not None else "beyond the loads tried"))
        rows.append(("theory, Hebbian", f"0.138 N = {theory:.1f} patterns"))
    for row in m.get("working_memory", []):
        rows.append((f"{row['cell']}, delay {row['delay']}",
                     f"accuracy {100 * row['accuracy']:.1f}% (untrained {100 * row['untrained_accuracy']:.0f}%), "
                     f"{100 * row['solved_rate']:.0f}% of seeds >= 99%"))
    return rows


def report_section(result: MemoryResult, out: Path, folder: str) -> Section:
    """The memory lab as a section of the demo's HTML report (figures under ``out/folder``)."""
    figures = write_figures(result, out / folder)
    m = result.metrics
    text = (f"Letters {m['letters']} stored in a Hopfield network of {m['neurons']} neurons by the {m['rule']} rule: "
            f"{100 * m['recall_rate']:.0f}% of cues with {m['noise']:.0%} of their bits flipped are recalled exactly.")
    if "capacity" in m:
        hebbian = m["capacity_measured"]["hebbian"]["recall_rate_50"]
        text += (f" With random patterns, exact recall of the Hebbian rule falls below 50% at {hebbian:.1f} patterns "
                 f"for {result.config.neurons} neurons (theory: 0.138 N = {m['capacity_theory_hebbian']:.1f}).")
    if "working_memory" in m:
        text += (" Recurrent networks trained by backpropagation through time hold a bit across a delay of noise: "
                 "the memory is learned, not stored by hand.")
    return Section("Memory: associative recall and a learned working memory", text,
                   [Table("Summary", ["", "value"], summary_rows(result))], [f"{folder}/{p.name}" for p in figures])


def memory_step(out: Path, quick: bool):
    """Demo step: letters in a Hopfield network, the capacity curve, and a working memory learned by BPTT."""
    # the tour is meant to take about a minute in all: a few delays and seeds are enough to show it
    wm = WorkingMemoryConfig(delays=(5, 20) if quick else (1, 10, 40), steps=300 if quick else 500, seeds=3)
    config = MemoryConfig(capacity=True, trials=3 if quick else 5, working_memory=wm)
    result = train(config)
    m = result.metrics
    gru = [r for r in m["working_memory"] if r["cell"] == "gru"]
    return report_section(result, out, "memory"), {
        "memory_recall_rate": m["recall_rate"],
        "memory_hebbian_capacity": m["capacity_measured"]["hebbian"]["recall_rate_50"],
        "memory_gru_accuracy_longest_delay": gru[-1]["accuracy"] if gru else None}
