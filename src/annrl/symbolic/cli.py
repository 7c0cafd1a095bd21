"""``annrl extract``: a saved network back to symbols (logic, formula or exact form), with figures.

Exit codes: 0 when the extraction succeeded; :data:`EXIT_NO_FORMULA` (3) when ``--kind formula`` found
no formula within its tolerance (the one line printed says so and gives the best approximation, and
``metrics.json`` has ``recovered: false``); 2 for bad input, as every command.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from annrl.clikit import add_output_options, positive_float, positive_int, show, write_metrics
from annrl.errors import InputError
from annrl.io.network_file import load_network
from annrl.io.rundir import RunDir
from annrl.validate import array_nbytes, check_sizes

KINDS = ("logic", "formula", "exact", "law")
#: exit code of ``--kind formula`` when no formula meets the tolerance (2 is bad input, 130 an interrupt)
EXIT_NO_FORMULA = 3
#: the longest exact formula (in terms: products of weights along a path, summed) SymPy is asked to build; one of
#: 3,000 terms (a 2-32-32-1 network) takes SymPy 10 s, and none that long can be read
EXACT_MAX_TERMS = 2000
#: the most significant digits --digits keeps: a float64 holds 17, and Python refuses a precision near 2^31
MAX_DIGITS = 17
#: rows each kind runs the whole population on: formula samples 600 points, exact checks 256 (logic: see _rows)
ROWS = {"formula": 600, "exact": 256, "law": 0}


def register(subparsers: Any) -> None:
    """Add the ``extract`` command and its options to the CLI.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned for ``annrl``.
    """
    parser = subparsers.add_parser(
        "extract", help="read a saved network back as symbols: a Boolean formula, a closed form, its exact formula",
        description="Load a network file (as `annrl xor` writes runs/xor/model.safetensors) and extract: "
        "--kind logic (Boolean inputs: minimal SOP/POS formula, margin, per-neuron functions), "
        "--kind formula (1-3 inputs: expression-tree search, sparse regression and power laws, guided by "
        "separability and symmetry tests; exit code 3 when no formula meets --tolerance), "
        "--kind exact (the network's exact closed formula, LaTeX and Python source), "
        "--kind law (a vector field saved by `annrl dynamics`: its differential equations by sparse identification, "
        "with coefficient uncertainty, re-simulated against the data). The network is only read.")
    parser.add_argument("checkpoint", help="a network file (model.safetensors)")
    parser.add_argument("--kind", choices=KINDS, default="logic", help="what to extract (default: logic)")
    parser.add_argument("--index", type=int, default=0, help="which network of the population (default 0)")
    parser.add_argument("--inputs", default=None,
                        help="input names, comma-separated (default: the names the network file records under "
                        "'inputs', else x, y, z for a formula and a, b, c, ... for logic and exact forms)")
    parser.add_argument("--domain", default=None,
                        help="formula: input ranges 'lo:hi' per input, comma-separated, e.g. --domain=-3:3 "
                        "(default -1:1 each)")
    parser.add_argument("--output", type=int, default=0, help="formula: which output (default 0)")
    parser.add_argument("--max-terms", type=positive_int, default=6, help="formula: most terms in a sparse model")
    parser.add_argument("--tolerance", type=positive_float, default=1e-2,
                        help="formula: held-out RMSE allowed, as a fraction of std(y) (default 1e-2: a network's own "
                        "fitting error limits how close a formula can come)")
    parser.add_argument("--max-seconds", type=positive_float, default=40.0,
                        help="formula: CPU seconds after which the problem is not split further (default 40)")
    parser.add_argument("--degree", type=positive_int, default=2, help="law: highest monomial degree (default 2)")
    parser.add_argument("--trig", action="store_true", help="law: also sin and cos of each state variable")
    parser.add_argument("--digits", type=positive_int, default=None, help="exact: round weights to these digits")
    parser.add_argument("--no-figures", action="store_true", help="write metrics.json only")
    add_output_options(parser, "runs/extract")
    parser.set_defaults(handler=run)


def parse_domain(text: str | None, n: int) -> list[tuple[float, float]]:
    """``"-3:3,0:1"`` -> ``[(-3, 3), (0, 1)]``; one range is used for every input."""
    if text is None:
        return [(-1.0, 1.0)] * n
    ranges = []
    for part in text.split(","):
        try:
            low, high = (float(v) for v in part.split(":"))
        except ValueError:
            raise InputError.invalid("--domain", "'lo:hi' ranges separated by commas", text) from None
        if not (low < high and math.isfinite(high - low)):  # inf or 1e308:-1e308 would overflow the sampling
            raise InputError.invalid("--domain", "finite ranges with lo < hi", text)
        ranges.append((low, high))
    if len(ranges) == 1:
        ranges *= n
    if len(ranges) != n:
        raise InputError.invalid("--domain", f"1 or {n} ranges", text)
    return ranges


def input_names(text: str | None, metadata: dict[str, Any], n: int) -> list[str] | None:
    """``--inputs`` if given, else the file's ``inputs`` (a list of ``n`` names), else None (the defaults)."""
    from annrl.symbolic.formula import check_inputs

    if text:
        return check_inputs(text.split(","), n)
    recorded = metadata.get("inputs")
    if isinstance(recorded, list) and len(recorded) == n:
        return check_inputs(recorded, n)
    return None


def run(args: argparse.Namespace) -> int:
    """Run ``annrl extract``: load the network, extract what ``--kind`` asks, write the report and figures.

    Parameters
    ----------
    args : argparse.Namespace
        The options :func:`register` defines.

    Returns
    -------
    int
        The exit code: 0, or 3 (``EXIT_NO_FORMULA``) when ``--kind formula`` finds no formula within
        ``--tolerance``.
    """
    if args.digits is not None and args.digits > MAX_DIGITS:
        raise InputError.invalid("--digits", f"an integer in [1, {MAX_DIGITS}] (a float64 holds {MAX_DIGITS})",
                                 args.digits)
    net, metadata = load_network(args.checkpoint)
    check_extract_sizes(net, args.kind, args.index)
    with RunDir(args.out).held():  # --out checked (a writable folder, free space) before any work
        return _extract(args, net, metadata)


def check_extract_sizes(net: Any, kind: str, index: int) -> None:
    """Refuse, before any work, an extraction the network's sizes make too big: the activations of the
    population on the rows read (in memory), and for ``--kind exact`` the formula's length (in terms).
    """
    from annrl.nn import ActivationLayer, Dense

    if not 0 <= index < net.population:
        raise InputError.invalid("--index", f"a network of the file, in [0, {net.population})", index)
    widths = [net.n_inputs] + [int(np.shape(net.params_[f"{i}.weight"])[-1]) for i, layer in enumerate(net.layers)
                               if isinstance(layer, Dense)]
    rows = _rows(kind, net.n_inputs)
    check_sizes({f"activations of {net.population} networks of widths {widths} on {rows} rows":
                 array_nbytes((2 * net.population, rows, sum(widths)))})
    if kind != "exact":
        return
    terms = np.ones(net.n_inputs)  # terms of each value: an input is one
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Dense):  # x W + b: each output sums its inputs' terms (zero weights are dropped)
            terms = (np.asarray(net.params_[f"{i}.weight"])[index] != 0).T @ terms + 1
        elif isinstance(layer, ActivationLayer) and layer.activation.name == "leaky_relu":
            terms = 3 * terms  # Piecewise((z, z > 0), (a z, True)) holds z three times
        if terms.sum() > EXACT_MAX_TERMS:
            raise InputError(f"--kind exact: network {index}'s formula would have over {int(terms.sum()):,} terms "
                             f"after layer {i}; the limit is {EXACT_MAX_TERMS:,} (no formula that long can be "
                             "read): use --kind formula, or a smaller network", field="--kind")


def _rows(kind: str, n: int) -> int:
    """Rows ``--kind`` runs the population on: logic enumerates 2^n (or samples twice 2000 above its limit)."""
    from annrl.symbolic.logic import MAX_ENUMERATE

    if kind == "logic":
        return 2**n if n <= MAX_ENUMERATE else 4000
    return ROWS[kind]


def _extract(args: argparse.Namespace, net: Any, metadata: dict[str, Any]) -> int:
    """The body of :func:`run`, once the network is loaded and ``--out`` held."""
    inputs = input_names(args.inputs, metadata, net.n_inputs)
    out = Path(args.out)
    figures: list[str] = []
    if args.kind == "logic":
        from annrl.symbolic.logic import extract_logic

        result = extract_logic(net, inputs=inputs, index=args.index)
        metrics = result.to_dict()
        rows = [(o.name, str(o.formula)) for o in result.outputs]
        rows += [("consistent", result.consistent), ("least margin", min(o.margin for o in result.outputs)),
                 ("method", f"{result.method} ({result.rows_read} rows)")]
        rows += [(f"hidden unit {e.unit}", f"{e.formula} (margin {e.margin:.2f})") for e in result.neurons]
    elif args.kind == "formula":
        from annrl.symbolic.formula import extract_formula, network_function

        scaling = metadata.get("scaling")  # the model file of `annrl approx` is in scaled units
        if args.domain is None and scaling is not None:  # the box the network was trained on
            domain = list(zip(scaling["low"], scaling["high"], strict=True))
        else:
            domain = parse_domain(args.domain, net.n_inputs)
        result = extract_formula(net, domain=domain, inputs=inputs, index=args.index, output=args.output,
                                 max_terms=args.max_terms, scaling=scaling, tolerance=args.tolerance,
                                 max_seconds=args.max_seconds)
        metrics = {**result.to_dict(), "domain": domain}
        rows = [("formula", str(result.expression)), ("recovered", result.recovered),
                ("held-out error / std(y)", f"{result.relative_error:.3g} (tolerance {result.tolerance:g})"),
                ("RMSE vs network (held out)", result.error), ("max error", result.max_error),
                ("complexity", result.complexity), ("guided by", "; ".join(result.guidance) or "-"),
                ("Pareto front", f"{len(result.front)} models")]
        if not args.no_figures:
            figures = formula_figures(network_function(net, args.index, args.output, scaling), result, domain, out)
    elif args.kind == "law":
        from annrl.symbolic.law_report import extract_saved_law, law_figures, law_rows

        result = extract_saved_law(net, metadata, degree=args.degree, trig=args.trig)
        metrics, rows = result.to_dict(), law_rows(result)
        if not args.no_figures:
            figures = law_figures(result, out)
    else:
        from annrl.symbolic.exact import exact_form

        result = exact_form(net, inputs=inputs, index=args.index, digits=args.digits)
        metrics = {**result.to_dict(), "python": result.python_source()}
        rows = [(name, str(e)) for name, e in zip(result.outputs, result.expressions, strict=True)]
        rows += [("max error", result.max_error)]
    metrics = {**metrics, "checkpoint": str(args.checkpoint), "index": args.index, "figures": figures}
    write_metrics(out, json.loads(json.dumps(metrics, default=float)))
    if args.kind == "formula" and not result.recovered:  # never shown as found: one line, and its own code
        if args.json:
            show(args, metrics, "", [])
        print(f"annrl: {result.summary()}", file=sys.stderr if args.json else sys.stdout)
        return EXIT_NO_FORMULA
    show(args, metrics, f"annrl extract --kind {args.kind}: {args.checkpoint}", rows)
    return 0


def formula_figures(network: Any, result: Any, domain: list[tuple[float, float]], out: Path) -> list[str]:
    """Write ``pareto.png`` and ``formula.png`` under ``out``; their names."""
    from annrl.viz.style import save_all

    figures = {"pareto.png": pareto_figure(result), "formula.png": formula_figure(network, result, domain)}
    save_all(figures, out)
    return list(figures)


def pareto_figure(result: Any, path: str | Path | None = None, *, ax: Any = None) -> Any:
    """Complexity against held-out error of every candidate of a formula search ``result``, the Pareto
    front and the chosen model marked; the Figure (written to ``path`` when given)."""
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(5, 3.5))
    everything = result.front + result.rejected
    ax.scatter([c.complexity for c in everything], [max(c.error, 1e-16) for c in everything], s=10, c="0.7",
               label="candidates")
    front_errors = [max(c.error, 1e-16) for c in result.front]
    ax.plot([c.complexity for c in result.front], front_errors, "o-", label="Pareto front")
    ax.plot([result.chosen.complexity], [max(result.chosen.error, 1e-16)], "r*", ms=14, label="chosen")
    ax.set(xlabel="complexity", ylabel="held-out RMSE", yscale="log", title=f"y = {result.expression}")
    ax.legend(fontsize=8)
    return finish(fig, path)


def formula_figure(network: Any, result: Any, domain: list[tuple[float, float]], path: str | Path | None = None, *,
                   fig: Any = None) -> Any:
    """The network (``network(X)``, X of shape (200, n)) and the formula along each of the n inputs, the
    others at the middle of their ``domain``: one panel per input; the Figure (written to ``path`` when given)."""
    from annrl.viz.style import finish, panels

    n = len(domain)
    fig, axes = panels(fig, n, size=(4.5 * n, 3.5))
    axes = np.asarray(axes).reshape(1, n)
    f = result.function()
    for k, (low, high) in enumerate(domain):
        X = np.tile([(lo + hi) / 2 for lo, hi in domain], (200, 1))
        X[:, k] = np.linspace(low, high, 200)
        ax = axes[0, k]
        ax.plot(X[:, k], network(X), lw=3, alpha=0.5, label="network")
        ax.plot(X[:, k], f(X), "k--", label=str(result.expression))
        ax.set(xlabel=result.inputs[k])
        ax.legend(fontsize=8)
    return finish(fig, path)
