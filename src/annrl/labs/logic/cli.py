"""``annrl logic``: the logic lab on the command line, its figures and its report section."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from annrl.clikit import (
    add_checkpoint_options,
    add_output_options,
    checkpointer_from_args,
    non_negative_int,
    positive_float,
    positive_int,
    show,
    write_metrics,
)
from annrl.labs.logic.lab import ACTIVATIONS, LogicConfig, LogicResult, threshold_unit_line, train, truth_rows
from annrl.symbolic.boolean import GATES
from annrl.viz.report import Section, Table


def register(subparsers: Any) -> None:
    gates = ", ".join(GATES)
    parser = subparsers.add_parser(
        "logic", help="compile a Boolean function into a threshold network, learn it, explain its neurons",
        description="Compile a gate or Boolean expression into an exact threshold network, train networks on its "
        f"truth table across many seeds and explain what every hidden neuron computes. Gates: {gates}. "
        "Expressions: & | ~ ^ >> == (e.g. \"(a & ~b) | (c ^ d)\"); several outputs separated by ';'.")
    defaults = LogicConfig()
    parser.add_argument("expression", nargs="?", default=defaults.expression,
                        help="a gate name or a Boolean expression (default: xor)")
    parser.add_argument("--compile", action="store_true", help="only compile (with --learn: both; default both)")
    parser.add_argument("--learn", action="store_true", help="only learn (with --compile: both; default both)")
    parser.add_argument("--seeds", type=positive_int, default=defaults.seeds, help="networks trained per width")
    parser.add_argument("--hidden", type=non_negative_int, default=None,
                        help="train this hidden width only (0: a single neuron); default: sweep 0..--max-hidden")
    parser.add_argument("--max-hidden", type=non_negative_int, default=defaults.max_hidden,
                        help="widest hidden layer of the sweep")
    parser.add_argument("--activation", choices=ACTIVATIONS, default=defaults.activation, help="hidden activation")
    parser.add_argument("--epochs", type=positive_int, default=defaults.epochs, help="full-batch epochs per width")
    parser.add_argument("--lr", type=positive_float, default=defaults.lr, help="SGD learning rate")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the initial weights")
    parser.add_argument("--limits", action="store_true",
                        help="also test which of the 16 two-input functions a single neuron can represent")
    add_output_options(parser, "runs/logic")
    add_checkpoint_options(parser)
    parser.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> LogicConfig:
    both = not args.compile and not args.learn
    return LogicConfig(expression=args.expression, compile=both or args.compile, learn=both or args.learn,
                       seeds=args.seeds, hidden=args.hidden, max_hidden=args.max_hidden, activation=args.activation,
                       epochs=args.epochs, lr=args.lr, seed=args.seed, limits=args.limits)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    out = Path(args.out)
    with checkpointer_from_args(args, asdict(config)) as checkpointer:
        result = train(config, checkpointer=checkpointer)
    write_metrics(out, result.metrics)
    write_figures(result, out)
    show(args, result.metrics, f"logic: {config.expression}", summary_rows(result))
    return 0


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
        verdict = "learns reliably" if m["learned_reliably"] else "best width (not reliable)"
        rows.append((f"smallest width that {verdict}", m["hidden"]))
        seed = m["explained_seed"]
        rows += [(f"  learned unit {e['unit']} (seed {seed})", f"{e['formula']}  (margin {e['margin']:.2f})")
                 for e in m["hidden_neurons"]]
    if "single_neuron" in m:
        rows.append(("single neuron can represent", f"{m['single_neuron_separable']} of 16 two-input functions"))
        missing = [r["function"] for r in m["single_neuron"] if not r["separable"]]
        rows.append(("not linearly separable", ", ".join(missing)))
    return rows


def write_figures(result: LogicResult, out: Path) -> list[Path]:
    """Compiled and learned network diagrams, the width sweep, the truth table of a learned network's
    neurons, and (with ``limits``) the 16 two-input functions on a single neuron."""
    from annrl.viz.network_diagram import draw_network

    fn, paths = result.function, []
    if result.compiled is not None:
        c = result.compiled
        paths.append(draw_network(c.net, out / "compiled_network.png", input_names=fn.inputs, output_names=fn.outputs,
                                  unit_labels=[c.hidden_labels], title=f"Compiled threshold network "
                                  f"(depth {c.depth}, {c.hidden} hidden, exact: {c.exact})"))
    if result.runs:
        paths.append(_sweep_figure(result, out / "hidden_sweep.png"))
    if result.chosen is not None and result.explained_seed is not None:
        labels = [[e.formula for e in result.explanation]] if result.explanation else None
        paths.append(draw_network(result.chosen.net, out / "learned_network.png", index=result.explained_seed,
                                  input_names=fn.inputs, output_names=fn.outputs, unit_labels=labels,
                                  title=f"Learned network, seed {result.explained_seed} "
                                  f"({result.config.activation}, {result.chosen.hidden} hidden)"))
        paths.append(_truth_table_figure(result, out / "learned_truth_table.png"))
    if result.limits:
        paths.append(_limits_figure(result.limits, out / "single_neuron.png"))
    return paths


def _sweep_figure(result: LogicResult, path: Path) -> Path:
    from annrl.viz.style import figure, save
    from annrl.viz.training import FAILED, SOLVED

    widths = [r.hidden for r in result.runs]
    rates = [100 * r.success_rate for r in result.runs]
    fig, ax = figure(size=(5.0, 3.4))
    colors = [SOLVED if r >= 100 * result.config.reliable else FAILED for r in rates]
    ax.bar(widths, rates, color=colors)
    reliable = result.config.reliable
    ax.axhline(100 * reliable, color="k", lw=0.8, ls="--", label=f"reliable ({reliable:.0%})")
    ax.set(xlabel="hidden units (0: a single neuron)", ylabel="seeds that learn it (%)", ylim=(0, 105),
           title=f"Learning {result.config.expression} ({result.config.seeds} seeds, {result.config.activation})")
    ax.set_xticks(widths)
    ax.legend(loc="upper left")
    return save(fig, path)


def _truth_table_figure(result: LogicResult, path: Path) -> Path:
    """Rows of the truth table; columns: inputs, every hidden neuron, outputs (probabilities)."""
    from annrl.viz.style import figure, save

    fn, net, seed = result.function, result.chosen.net, result.explained_seed
    outputs = net.layer_outputs(fn.X)
    logits = np.asarray(outputs[-1])[seed]
    columns = [fn.X]
    names = list(fn.inputs)
    if len(outputs) >= 4:
        hidden = np.asarray(outputs[1])[seed]
        if result.config.activation == "tanh":
            hidden = (hidden + 1.0) / 2.0
        columns.append(hidden)
        names += [f"h{k}" for k in range(hidden.shape[1])]
    columns += [1.0 / (1.0 + np.exp(-logits)), fn.Y]
    names += [f"{o} (net)" for o in fn.outputs] + [f"{o} (target)" for o in fn.outputs]
    data = np.column_stack(columns)
    rows = len(data)
    fig, ax = figure(size=(0.55 * data.shape[1] + 2.5, 0.28 * rows + 1.6))
    ax.imshow(data, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
    ax.set_yticks(range(rows), truth_rows(fn) if rows <= 32 else [""] * rows, fontsize=7)
    ax.grid(False)
    if rows <= 32:
        for i in range(rows):
            for j in range(data.shape[1]):
                ax.text(j, i, f"{data[i, j]:.2f}".rstrip("0").rstrip("."), ha="center", va="center", fontsize=6,
                        color="white" if data[i, j] > 0.6 else "black")
    scale = " (tanh mapped to 0..1)" if result.config.activation == "tanh" else ""
    ax.set_title(f"What each neuron computes, seed {seed}{scale}")
    return save(fig, path)


def _limits_figure(rows: list[dict[str, Any]], path: Path) -> Path:
    """The 16 functions of (a, b): their four points, and a separating line when one exists."""
    from annrl.viz.style import figure, save

    fig, axes = figure(ncols=4, nrows=4, size=(9.0, 9.0))
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    for ax, row in zip(axes.ravel(), rows, strict=True):
        y = np.array(row["table"])
        ax.scatter(X[:, 0], X[:, 1], c=["#0877bd" if v else "#f59322" for v in y], s=90, edgecolors="k", zorder=3)
        line = threshold_unit_line(row["table"])
        if line is not None:
            xs, ys = line
            ax.plot(xs, ys, color="k", lw=1.2)
        verdict = "separable" if row["separable"] else "NOT separable"
        ax.set_title(f"{row['function']}\n{verdict}; learned {100 * row['learned_success_rate']:.0f}%", fontsize=8)
        ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xticks=[0, 1], yticks=[0, 1], aspect="equal")
    fig.suptitle("Which two-input functions can one threshold neuron represent?")
    return save(fig, path)


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
        parts.append(f"Trained from {m['config']['seeds']} seeds at each hidden width: the smallest width that learns "
                     f"it in at least {m['config']['reliable']:.0%} of seeds is {m['hidden']} "
                     f"({100 * m['learned_success_rate']:.0f}%).")
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
