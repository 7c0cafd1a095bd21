"""``annrl logic``: the logic lab on the command line, its figures and its report section."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from annrl.clikit import add_checkpoint_options, add_output_options, checkpointer_from_args, show, write_metrics
from annrl.config import add_flags, from_args
from annrl.io.network_file import save_network
from annrl.labs.logic.figures import write_figures
from annrl.labs.logic.lab import LogicConfig, LogicResult, train
from annrl.nn.compiled import describe
from annrl.symbolic.boolean import GATES
from annrl.viz.report import Section, Table


def register(subparsers: Any) -> None:
    gates = ", ".join(GATES)
    parser = subparsers.add_parser(
        "logic", help="compile a Boolean function into a threshold network, learn it, explain its neurons",
        description="Compile a gate or Boolean expression into an exact threshold network, train networks on its "
        f"truth table across many seeds and explain what every hidden neuron computes. Gates: {gates}. "
        "Expressions: & | ~ ^ >> == (e.g. \"(a & ~b) | (c ^ d)\"); several outputs separated by ';'.")
    add_flags(parser, LogicConfig, ["expression"])
    parser.add_argument("--compile", action="store_true", help="only compile (with --learn: both; default both)")
    parser.add_argument("--learn", action="store_true", help="only learn (with --compile: both; default both)")
    add_flags(parser, LogicConfig,
              ["seeds", "hidden", "max_hidden", "activation", "epochs", "lr", "seed", "limits", "kernel"])
    add_output_options(parser, "runs/logic")
    add_checkpoint_options(parser)
    parser.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> LogicConfig:
    both = not args.compile and not args.learn
    return from_args(LogicConfig, args, compile=both or args.compile, learn=both or args.learn)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    out = Path(args.out)
    with checkpointer_from_args(args, asdict(config)) as checkpointer:
        result = train(config, checkpointer=checkpointer)
    write_metrics(out, result.metrics)
    save_model(result, out)
    write_figures(result, out)
    show(args, result.metrics, f"logic: {config.expression}", summary_rows(result))
    return 0


def save_model(result: LogicResult, out: Path) -> Path | None:
    """The learned networks of the chosen width as ``model.safetensors`` (None when nothing was learned).

    The networks that solved the function come first, so that ``annrl extract --kind logic`` reads a
    solved one by default (``--index 0``); ``seeds`` gives each saved network's place in the trained population.
    """
    chosen = result.chosen
    if chosen is None:
        return None
    order = [int(i) for i in np.argsort(~chosen.solved, kind="stable")]
    fn = result.function
    return save_network(out / "model.safetensors", chosen.net.select(order), {
        "lab": "logic", "config": asdict(result.config), "expression": result.config.expression,
        "inputs": list(fn.inputs), "outputs": list(fn.outputs), "hidden": chosen.hidden, "seeds": order,
        "solved": [bool(chosen.solved[i]) for i in order]})


def summary_rows(result: LogicResult) -> list[tuple[str, Any]]:
    m = result.metrics
    rows: list[tuple[str, Any]] = [("inputs", ", ".join(m["inputs"]))]
    rows += [(f"formula {name}", text) for name, text in m["formulas"].items()]
    if "compiled" in m:
        c = m["compiled"]
        bound = "proved minimal" if c["hidden_minimal"] else f"lower bound {c['hidden_lower_bound']}"
        rows.append(("compiled network", f"depth {c['depth']}, {c['hidden']} hidden ({bound}), {c['construction']}"))
        rows.append(("compiled exact on the table", m["compiled_exact"]))
        rows += [(f"  compiled unit {k}", label) for k, label in enumerate(c["hidden_units"])]
    if "sweep" in m:
        for entry in m["sweep"]:
            epochs = f", median {entry['epochs_median']:.0f} epochs" if entry["epochs_median"] is not None else ""
            rows.append((f"learned, {entry['hidden']} hidden", f"{100 * entry['success_rate']:.0f}% of seeds{epochs}"))
        reliable = m["learned_reliably"]
        rows.append(("smallest width that learns reliably" if reliable else "best width (none learns reliably)",
                     m["hidden"]))
        seed = m["explained_seed"]
        rows += [(f"  learned unit {e['unit']} (seed {seed})", f"{e['formula']}  (margin {e['margin']:.2f})")
                 for e in m["hidden_neurons"]]
    if "single_neuron" in m:
        rows.append(("single neuron can represent", f"{m['single_neuron_separable']} of 16 two-input functions"))
        missing = [r["function"] for r in m["single_neuron"] if not r["separable"]]
        rows.append(("not linearly separable", ", ".join(missing)))
    if m["kernel"]["phases"]:
        rows.append(("kernel", describe(m["kernel"])))
    return rows


def report_section(result: LogicResult, out: Path, folder: str) -> Section:
    """The logic lab as a section of the demo's HTML report (figures under ``out/folder``)."""
    figures = write_figures(result, out / folder)
    m = result.metrics
    parts = [f"The function {m['expression']} of {', '.join(m['inputs'])}."]
    if "compiled" in m:
        c = m["compiled"]
        parts.append(f"Compiled by construction into a depth-{c['depth']} threshold network with {c['hidden']} "
                     f"hidden units ({c['construction']}), exact on all {len(m['truth_table'])} rows: "
                     f"{m['compiled_exact']}.")
    if "sweep" in m:
        which = ("the smallest width that learns it in at least {:.0%} of seeds is" if m["learned_reliably"]
                 else "no width tried learns it in {:.0%} of seeds; the best is")
        parts.append(f"Trained from {m['config']['seeds']} seeds at each hidden width: "
                     f"{which.format(m['config']['reliable'])} {m['hidden']} ({100 * m['learned_success_rate']:.0f}%).")
    if "single_neuron" in m:
        parts.append(f"A single neuron can represent {m['single_neuron_separable']} of the 16 two-input functions; "
                     "XOR and XNOR are the two that are not linearly separable, and no seed learns them.")
    table = Table("Summary", ["", "value"], summary_rows(result))
    return Section(f"Logic: {m['expression']}", " ".join(parts), [table], [f"{folder}/{p.name}" for p in figures])


def logic_step(out: Path, quick: bool):
    """Demo step: a Boolean expression compiled, learned and explained, and the single-neuron limits."""
    config = LogicConfig(expression="(a & ~b) | (c ^ d)", seeds=30 if quick else 200, epochs=800 if quick else 2000,
                         limits=True)
    result = train(config)
    m = result.metrics
    return report_section(result, out, "logic"), {
        "logic_compiled_exact": m["compiled_exact"], "logic_learned_success_rate": m["learned_success_rate"],
        "logic_hidden": m["hidden"], "logic_single_neuron_separable": m["single_neuron_separable"]}
