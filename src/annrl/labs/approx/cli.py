"""``annrl approx``: the function-approximation lab on the command line, and its report section.

    annrl approx sin --hidden 16 --tol 1e-2                      # one network, until max error <= 0.01
    annrl approx "x*exp(-x**2)" --domain -3:3 --seeds 20         # any expression; 20 seeds at once
    annrl approx peaks --hidden 32,32 --optimizer lbfgs --tol 0.05 --metric rmse
    annrl approx sin --study capacity --optimizer lbfgs          # error against width and depth
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from annrl.calculus.targets import catalogue_table, parse_domain, resolve_target
from annrl.clikit import (
    add_checkpoint_options,
    add_output_options,
    checkpointer_from_args,
    positive_float,
    show,
    write_metrics,
)
from annrl.config import add_flags, from_args
from annrl.errors import InputError
from annrl.io.network_file import save_network
from annrl.io.resume import Checkpointer
from annrl.labs.approx.lab import CONFIG_TABLE, ApproxConfig, ApproxResult
from annrl.labs.approx.studies import STUDIES, StudyResult
from annrl.nn.compiled import describe
from annrl.validate import check_cli
from annrl.viz.report import Section, Table

#: argument strings that are values, not options, though they start with "-": "-3:3", "-pi:pi",
#: "-x**2" (argparse alone only accepts plain negative numbers such as "-3")
NEGATIVE_VALUE = re.compile(r"^-(?!-)(\d|\.\d|pi\b|\(|\S*[:*/^()])")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "approx", help="approximate a function with a network, to a tolerance, and study what makes it hard",
        description="Train networks on a target function (a catalogue name or an expression in x, y, z) until "
        "the error on a held-out grid meets --tol, or run one of the studies.",
        epilog="catalogue: " + "; ".join(f"{n} = {e} on {d}" for n, e, d, _ in catalogue_table()),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_flags(parser, ApproxConfig)
    parser.add_argument("--study", choices=STUDIES, default=None, help="run a study instead of one fit")
    parser.add_argument("--widths", default="1,2,4,8,16,32", help="capacity study: units per hidden layer")
    parser.add_argument("--depths", default="1,2", help="capacity study: numbers of hidden layers")
    parser.add_argument("--frequencies", default="1,2,4,6,8", help="sophistication study: the k of sin(k x)")
    parser.add_argument("--factor", type=positive_float, default=1.0,
                        help="extrapolation study: look FACTOR/2 of the domain's width beyond each side")
    add_output_options(parser, "runs/approx")
    add_checkpoint_options(parser)
    parser.set_defaults(handler=run)
    accept_negative_values(parser)


def accept_negative_values(parser: argparse.ArgumentParser) -> None:
    """Let ``--domain -3:3`` and a target such as ``-x**2`` through as values.

    argparse reads any argument that starts with ``-`` as an option unless it is a plain number;
    this parser has no option that looks like ``-3`` or ``-x**2``, so such strings are values.
    """
    if hasattr(parser, "_negative_number_matcher"):
        parser._negative_number_matcher = NEGATIVE_VALUE


def _numbers(text: str, field: str, kind: type = int) -> tuple:
    try:
        values = tuple(kind(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) <= 0:
        raise InputError(f"{field} must be comma-separated positive {'integers' if kind is int else 'numbers'}, "
                         f"got {text}", field=field)
    return values


def config_from_args(args: argparse.Namespace) -> ApproxConfig:
    """The :class:`ApproxConfig` of the command line; a bad ``--domain`` is named as such."""
    check_cli(CONFIG_TABLE, args)
    target = resolve_target(args.target, frequency=args.frequency)
    domain = None if args.domain is None else parse_domain(args.domain, target.dim, field="--domain")
    return from_args(ApproxConfig, args, domain=domain)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    out = Path(args.out)
    if args.study:
        return run_study_command(args, config, out)
    with checkpointer_from_args(args, _jsonable(vars(config))) as checkpointer:
        result = _with_progress(not args.json, lambda progress: _train(config, progress, checkpointer))
    write_metrics(out, result.metrics)
    scaling = result.scaling  # the network sees scaled inputs and outputs: the file says how to undo that
    save_network(out / "model.safetensors", result.net, {
        "lab": "approx", "config": _jsonable(vars(config)), "inputs": list(result.target.variables),
        "scaling": {"low": scaling.low.tolist(), "high": scaling.high.tolist(), "y_mean": scaling.y_mean,
                    "y_scale": scaling.y_scale}})
    from annrl.labs.approx.figures import write_figures

    write_figures(result, out)
    show(args, result.metrics, f"approx {result.target.label}", summary_rows(result))
    return 0


def _train(config: ApproxConfig, progress: Any, checkpointer: Checkpointer) -> ApproxResult:
    from annrl.labs.approx.lab import train

    return train(config, progress=progress, checkpointer=checkpointer)


def run_study_command(args: argparse.Namespace, config: ApproxConfig, out: Path) -> int:
    from annrl.labs.approx.figures import study_figures
    from annrl.labs.approx.studies import run_study

    options: dict[str, Any] = {}
    if args.study == "capacity":
        options = {"widths": _numbers(args.widths, "--widths"), "depths": _numbers(args.depths, "--depths")}
    elif args.study == "sophistication":
        options = {"frequencies": _numbers(args.frequencies, "--frequencies", float)}
    elif args.study == "extrapolation":
        options = {"factor": args.factor}
    study = run_study(args.study, config, **options)
    metrics = {"config": _jsonable(vars(config)), **study.metrics()}
    write_metrics(out, metrics)
    study_figures(study, out)
    if args.json:
        show(args, metrics, "", [])
    else:
        print_study(study)
    return 0


def print_study(study: StudyResult) -> None:
    """The study's table and its answer, printed with rich."""
    from rich.console import Console
    from rich.table import Table as RichTable

    table = RichTable(title=f"{study.name}: {study.question}")
    for column in study.columns:
        table.add_column(column, justify="right")
    for row in study.rows:
        table.add_row(*(_cell(row[c]) for c in study.columns))
    console = Console()
    console.print(table)
    for key, value in study.summary.items():
        if not isinstance(value, (list, dict)):
            console.print(f"  {key}: {_cell(value)}")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items()}


def summary_rows(result: ApproxResult) -> list[tuple[str, Any]]:
    """The run in a few lines: target, network, tolerance, verdict, epochs, error, spread."""
    m = result.metrics
    rows = [("target", f"{result.target.label} on {_domain(m['domain'])} ({m['kind']})"),
            ("network", f"{'x'.join(map(str, m['hidden']))} {m['activation']}, {m['parameters']} parameters, "
                        f"{m['optimizer']}"),
            ("tolerance", "none" if m["tol"] is None else f"{m['tol']:g} ({'relative ' * m['relative']}{m['metric']})"),
            ("result", m["message"]),
            (f"{m['epochs_unit']} to tolerance", m["epochs"] if m["epochs"] is not None else "not met"),
            ("error (best seed)", m["error"])]
    if m["seeds"] > 1:
        q = m["error_quantiles"]
        rows.append(("error over seeds (10/50/90%)", f"{_g(q['0.1'])} / {_g(q['0.5'])} / {_g(q['0.9'])}"))
        if m["epochs_quartiles"]:
            low, high = m["epochs_quartiles"]
            rows.append((f"{m['epochs_unit']} to tol (median, quartiles)",
                         f"{m['epochs_median']:g} ({low:g}-{high:g}), {m['reached_seeds']} of {m['seeds']} seeds"))
    if "error_near_singular" in m:
        rows.append(("error near / away from kinks or jumps",
                     f"{_g(m['error_near_singular'])} / {_g(m['error_away_from_singular'])}"))
    rows.append(("training time", f"{m['timing']['train_s']:.2f} s"))
    if m["kernel"]["phases"]:
        rows.append(("kernel", describe(m["kernel"])))
    return rows


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _domain(domain: list[list[float]]) -> str:
    return " x ".join(f"[{low:.4g}, {high:.4g}]" for low, high in domain)


def _with_progress(show_bar: bool, work: Any) -> Any:
    if not show_bar:
        return work(None)
    from annrl.progress import phase

    with phase("approx: training", 1) as bar:
        return work(lambda done, total: bar.update(done, total))


# -- the demo's step -------------------------------------------------------------------------------
def report_section(result: ApproxResult, out: Path, folder: str, study: StudyResult | None = None) -> Section:
    """A run (and optionally a study) as a section of the demo's HTML report (figures under ``out/folder``)."""
    from annrl.labs.approx.figures import study_figures, write_figures

    figures = write_figures(result, out / folder)
    m = result.metrics
    text = (f"{m['seeds']} networks ({'x'.join(map(str, m['hidden']))} {m['activation']}, {m['optimizer']}) learn "
            f"{result.target.label} on {_domain(m['domain'])}; each is checked on {m['held_out_points']} held-out "
            f"points and stops when its {m['metric']} error is <= {m['tol']}: {m['message']}.")
    tables = [Table("Summary", ["", "value"], summary_rows(result))]
    if study is not None:
        figures += study_figures(study, out / folder)
        tables.append(Table(f"{study.name}: {study.question}", study.columns,
                            [[_cell(row[c]) for c in study.columns] for row in study.rows]))
    return Section("Function approximation: to a tolerance, and what makes it hard", text, tables,
                   [f"{folder}/{p.name}" for p in figures])


def approx_step(out: Path, quick: bool) -> tuple[Section, dict[str, Any]]:
    """The demo's step: sin(x) to max error 0.01 with 16 tanh units, and the smoothness study.

    To add to :data:`annrl.demo.STEPS` as ``("Function approximation", approx_step)``.
    """
    from annrl.labs.approx.lab import train
    from annrl.labs.approx.studies import smoothness

    config = ApproxConfig(target="sin", hidden=(16,), tol=1e-2, optimizer="lbfgs", seeds=5 if quick else 20,
                          epochs=2000)
    result = train(config)
    study = smoothness(replace(config, seeds=1, epochs=300 if quick else 1000))
    section = report_section(result, out, "approx", study)
    numbers = {"approx_sin_reached_seeds": result.metrics["reached_seeds"],
               "approx_sin_error": result.metrics["error"],
               "approx_sin_iterations_median": result.metrics["epochs_median"],
               **{f"approx_{k}": v for k, v in study.summary.items()}}
    return section, numbers
