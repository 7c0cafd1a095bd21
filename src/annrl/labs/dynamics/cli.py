"""``annrl dynamics``: the dynamics lab on the command line, its figures and its report section.

    annrl dynamics lotka-volterra --noise 0.01 --out runs/lv
    annrl dynamics pendulum --approach rollout --window 5
    annrl dynamics lotka-volterra --compare            # both approaches at 0% and 1% noise
    annrl dynamics --system "x' = a*x - b*x*y; y' = d*x*y - c*y" --params a=1.3,b=0.5,c=0.7,d=0.2 \\
        --x0 4,2 --t-end 25 --dt 0.05 --noise 0.01 --out runs/mine
    annrl dynamics --data measured.csv --out runs/measured   # columns t, x, y, ...; steps may vary
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from annrl.clikit import add_checkpoint_options, add_output_options, checkpointer_from_args, show, write_metrics
from annrl.config import add_flags, from_args
from annrl.errors import InputError
from annrl.io.network_file import save_network
from annrl.labs.dynamics.figures import compare_figure, fmt, write_figures
from annrl.labs.dynamics.lab import VALID_ERROR, DynamicsConfig, DynamicsResult, compare, train
from annrl.labs.dynamics.problem import SYSTEMS
from annrl.viz.report import Section, Table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dynamics", help="learn a system's vector field from one (noisy) trajectory",
        description="Simulate SYSTEM (a built-in one, or your own: --system \"x' = a*x - b*x*y; y' = d*x*y - c*y\" "
        "--params a=1.3,b=0.5,c=0.7,d=0.2 --x0 4,2), or read measured states (--data FILE.csv: a t column and one "
        "column per state variable), observe one trajectory with --noise, and learn its vector field with a "
        "small network: from numerical derivatives (--approach derivative) or through a differentiable RK4 "
        "integrator (--approach rollout). The learned fields are integrated with solve_ivp from the training "
        "and from unseen initial states and compared with the true system.")
    parser.add_argument("builtin", nargs="?", default=None, metavar="SYSTEM",
                        help=f"a built-in system: {', '.join(sorted(SYSTEMS))} (default lotka-volterra)")
    add_flags(parser, DynamicsConfig)
    parser.add_argument("--compare", action="store_true",
                        help="train both approaches at 0%% and 1%% noise and print the comparison table")
    add_output_options(parser, "runs/dynamics")
    add_checkpoint_options(parser)
    parser.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> DynamicsConfig:
    if args.builtin is not None and args.system is not None:
        raise InputError(f"give the system once: {args.builtin!r} or --system {args.system!r}", field="system")
    return from_args(DynamicsConfig, args, system=args.system if args.system is not None else args.builtin)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    out = Path(args.out)
    if args.compare:
        rows = compare(config)
        metrics = {"config": asdict(config), "rows": [{k: v for k, v in r.items() if k != "train_s"} for r in rows],
                   "timing": {"train_s": [r["train_s"] for r in rows]}}
        write_metrics(out, metrics)
        compare_figure(rows, out / "compare.png", config.name)
        show(args, metrics, f"{config.name}: derivative vs rollout fit", compare_rows(rows))
        return 0
    with checkpointer_from_args(args, asdict(config)) as checkpointer:
        result = train(config, checkpointer=checkpointer)
    write_metrics(out, result.metrics)
    save_models(result, out)
    write_figures(result, out)
    noise = f"{100 * config.noise:g}% noise" if config.data is None else "measured"
    show(args, result.metrics, f"{config.name}, {noise}", summary_rows(result))
    return 0


def save_models(result: DynamicsResult, out: Path) -> list[Path]:
    """One network file per approach, ``model-<approach>.safetensors``, with what reading it back as a
    law needs: the standardisation, the state names, the observed trajectory and the true equations."""
    system, trajectory, scaler = result.system, result.trajectory, result.scaler
    metadata = {"lab": "dynamics", "config": asdict(result.config), "variables": list(trajectory.names),
                "scaler": {"mean": scaler.mean.tolist(), "std": scaler.std.tolist(), "rate": scaler.rate.tolist()},
                "trajectory": {"t": trajectory.t.tolist(), "x": trajectory.x.tolist()},
                "truth": None if system is None else true_terms(system)}
    return [save_network(out / f"model-{name}.safetensors", approach.field.net, {**metadata, "approach": name})
            for name, approach in result.fields.items()]


def true_terms(system: Any) -> dict[str, dict[str, float]]:
    """The system's equations as ``{variable: {term: coefficient}}`` in the law's term names (``"x*y"``)."""
    if hasattr(system, "terms"):
        return system.terms()
    return {name: {(factor.replace(" ", "*") or "1"): c for c, factor in terms if c}
            for name, terms in zip(system.names, system.equation_terms(), strict=True)}


def summary_rows(result: DynamicsResult) -> list[tuple[str, Any]]:
    m = result.metrics
    rows: list[tuple[str, Any]] = [("system", "; ".join(m["equations"] or ["measured data"])),
                                   ("derivative estimate", f"{result.config.method}: RMSE {fmt(m['derivative_rmse'])} "
                                                           f"(true derivative RMS {fmt(m['derivative_rms'])})")]
    for name, r in m["approaches"].items():
        rows += [
            (f"{name}: field RMSE", f"{fmt(r['field_rmse'])} in the data's hull (field RMS {fmt(r['field_rms'])}), "
                                    f"{fmt(r['field_rmse_on_data'])} on the trajectory"),
            (f"{name}: one-step RMSE", fmt(r["one_step_rmse"])),
            (f"{name}: rollout RMSE", f"{fmt(r['rollout_rmse'])} (within {VALID_ERROR:g} std for "
                                      f"{fmt(r['valid_time'])} time units)"),
            (f"{name}: unseen starts", ", ".join(fmt(v) for v in r["rollout_rmse_unseen"])),
            (f"{name}: training", f"{r['epochs_run']} epochs in {m['timing']['train_s'][name]:.1f} s"),
        ]
    return rows


def compare_rows(rows: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(f"{100 * r['noise']:g}% noise, {r['approach']}",
             f"field {fmt(r['field_rmse'])} (on data {fmt(r['field_rmse_on_data'])}), "
             f"rollout {fmt(r['rollout_rmse'])}, valid {fmt(r['valid_time'])}, {r['train_s']:.1f} s")
            for r in rows]


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The comparison rows of :func:`~annrl.labs.dynamics.lab.compare` as a Markdown table."""
    lines = ["| noise | approach | field RMSE (hull) | field RMSE (on data) | one-step RMSE | rollout RMSE "
             "| valid time | train s |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {100 * r['noise']:g}% | {r['approach']} | {fmt(r['field_rmse'])} "
                     f"| {fmt(r['field_rmse_on_data'])} | {fmt(r['one_step_rmse'])} | {fmt(r['rollout_rmse'])} "
                     f"| {fmt(r['valid_time'])} | {r['train_s']:.1f} |")
    return "\n".join(lines)


# -- figures ------------------------------------------------------------------------------------


def report_section(result: DynamicsResult, out: Path, folder: str) -> Section:
    """The dynamics lab as a section of the demo's HTML report (figures under ``out/folder``)."""
    figures = write_figures(result, Path(out) / folder)
    m, cfg = result.metrics, result.config
    text = (f"One trajectory of {cfg.system} ({'; '.join(m['equations'])}) observed with {100 * cfg.noise:g}% noise. "
            f"A {'-'.join(map(str, [2, *cfg.hidden, 2]))} tanh network learns the vector field, either from "
            f"numerical derivatives ({cfg.method}, RMSE {fmt(m['derivative_rmse'])} against the true derivative) "
            "or by fitting RK4 rollouts of a few steps through the integrator. Each learned field is integrated "
            "with solve_ivp from the training start and from two unseen starts.")
    headers = ["approach", "field RMSE (hull)", "field RMSE (on data)", "one-step RMSE", "rollout RMSE",
               "valid time", "unseen rollout RMSE", "train s"]
    rows = [(name, r["field_rmse"], r["field_rmse_on_data"], r["one_step_rmse"], r["rollout_rmse"], r["valid_time"],
             ", ".join(fmt(v) for v in r["rollout_rmse_unseen"]), m["timing"]["train_s"][name])
            for name, r in m["approaches"].items()]
    return Section("Learning the dynamics", text, [Table("Learned fields against the true system", headers, rows)],
                   [f"{folder}/{p.name}" for p in figures])


def dynamics_step(out: Path, quick: bool) -> tuple[Section, dict[str, Any]]:
    """The demo's step: both approaches on the Lotka-Volterra benchmark at 1% noise."""
    config = DynamicsConfig(epochs=200, rollout_epochs=50) if quick else DynamicsConfig()
    result = train(config)
    numbers = {f"dynamics_{name}_{key}": r[key] for name, r in result.metrics["approaches"].items()
               for key in ("field_rmse", "rollout_rmse")}
    estimate = {"dynamics_derivative_estimate_rmse": result.metrics["derivative_rmse"]}
    return report_section(result, out, "dynamics"), {**estimate, **numbers}
