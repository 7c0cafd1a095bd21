"""``annrl dynamics``: the dynamics lab on the command line, its figures and its report section.

    annrl dynamics lotka-volterra --noise 0.01 --out runs/lv
    annrl dynamics pendulum --approach rollout --window 5
    annrl dynamics lotka-volterra --compare            # both approaches at 0% and 1% noise
"""

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
    non_negative_float,
    positive_float,
    positive_int,
    show,
    write_metrics,
)
from annrl.io.network_file import save_network
from annrl.labs.dynamics.lab import (
    APPROACHES,
    CONSTRAINTS,
    METHODS,
    SYSTEMS,
    VALID_ERROR,
    DynamicsConfig,
    DynamicsResult,
    compare,
    train,
)
from annrl.viz.report import Section, Table

COLORS = {"true": "#222222", "derivative": "#2a7ab0", "rollout": "#d1495b"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dynamics", help="learn a system's vector field from one (noisy) trajectory",
        description="Simulate SYSTEM, observe one trajectory with --noise, and learn its vector field with a "
        "small network: from numerical derivatives (--approach derivative) or through a differentiable RK4 "
        "integrator (--approach rollout). The learned fields are integrated with solve_ivp from the training "
        "and from unseen initial states and compared with the true system.")
    defaults = DynamicsConfig()
    parser.add_argument("system", choices=sorted(SYSTEMS), help="the system to learn")
    parser.add_argument("--noise", type=non_negative_float, default=defaults.noise,
                        help="measurement noise as a fraction of each state's std (0.01 = 1%%)")
    parser.add_argument("--method", choices=sorted(METHODS), default=defaults.method,
                        help="derivative estimator of the derivative approach")
    parser.add_argument("--approach", choices=[*APPROACHES, "both"], default=defaults.approach,
                        help="fit estimated derivatives, fit RK4 rollouts, or both")
    parser.add_argument("--epochs", type=positive_int, default=defaults.epochs,
                        help="epochs of the derivative fit")
    parser.add_argument("--rollout-epochs", type=positive_int, default=defaults.rollout_epochs,
                        help="epochs of the rollout fit (each costs about 4 x WINDOW derivative epochs)")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=list(defaults.hidden),
                        help="hidden layer widths of the field network")
    parser.add_argument("--activation", default=defaults.activation, help="hidden activation (smooth: tanh, sin)")
    parser.add_argument("--lr", type=positive_float, default=defaults.lr,
                        help="Adam learning rate of both fits (decays 100x over the epochs)")
    parser.add_argument("--batch-size", type=positive_int, default=defaults.batch_size,
                        help="samples (derivative) or windows (rollout) per update")
    parser.add_argument("--window", type=positive_int, default=defaults.window,
                        help="RK4 steps per window of the rollout fit (multiple shooting)")
    parser.add_argument("--substeps", type=positive_int, default=defaults.substeps,
                        help="RK4 steps per sample interval in the rollout fit")
    parser.add_argument("--sample-every", type=positive_int, default=defaults.sample_every,
                        help="observe every K-th sample of the system's grid (coarser data)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the noise, weights and batches")
    parser.add_argument("--compare", action="store_true",
                        help="train both approaches at 0%% and 1%% noise and print the comparison table")
    add_output_options(parser, "runs/dynamics")
    add_checkpoint_options(parser)
    parser.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> DynamicsConfig:
    return DynamicsConfig(**{name: getattr(args, name) for name in CONSTRAINTS if hasattr(args, name)})


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    out = Path(args.out)
    if args.compare:
        rows = compare(config)
        metrics = {"config": asdict(config), "rows": [{k: v for k, v in r.items() if k != "train_s"} for r in rows],
                   "timing": {"train_s": [r["train_s"] for r in rows]}}
        write_metrics(out, metrics)
        compare_figure(rows, out / "compare.png", config.system)
        show(args, metrics, f"{config.system}: derivative vs rollout fit", compare_rows(rows))
        return 0
    with checkpointer_from_args(args, asdict(config)) as checkpointer:
        result = train(config, checkpointer=checkpointer)
    write_metrics(out, result.metrics)
    save_models(result, out)
    write_figures(result, out)
    show(args, result.metrics, f"{config.system}, {100 * config.noise:g}% noise", summary_rows(result))
    return 0


def save_models(result: DynamicsResult, out: Path) -> list[Path]:
    """One network file per approach, ``model-<approach>.safetensors``, with what reading it back as a
    law needs: the standardisation, the state names, the observed trajectory and the true equations."""
    system, trajectory, scaler = result.system, result.trajectory, result.scaler
    metadata = {"lab": "dynamics", "config": asdict(result.config), "variables": list(system.names),
                "scaler": {"mean": scaler.mean.tolist(), "std": scaler.std.tolist(), "rate": scaler.rate.tolist()},
                "trajectory": {"t": trajectory.t.tolist(), "x": trajectory.x.tolist()},
                "truth": {name: {factor.replace(" ", "*"): c for c, factor in terms if c}
                          for name, terms in zip(system.names, system.equation_terms(), strict=True)}}
    return [save_network(out / f"model-{name}.safetensors", approach.field.net, {**metadata, "approach": name})
            for name, approach in result.fields.items()]


def _fmt(value: Any, digits: int = 3) -> str:
    return "failed" if value is None else f"{value:.{digits}g}"


def summary_rows(result: DynamicsResult) -> list[tuple[str, Any]]:
    m = result.metrics
    rows: list[tuple[str, Any]] = [("system", "; ".join(m["equations"])),
                                   ("derivative estimate", f"{result.config.method}: RMSE {_fmt(m['derivative_rmse'])} "
                                                           f"(true derivative RMS {_fmt(m['derivative_rms'])})")]
    for name, r in m["approaches"].items():
        rows += [
            (f"{name}: field RMSE", f"{_fmt(r['field_rmse'])} in the data's hull (field RMS {_fmt(r['field_rms'])}), "
                                    f"{_fmt(r['field_rmse_on_data'])} on the trajectory"),
            (f"{name}: one-step RMSE", _fmt(r["one_step_rmse"])),
            (f"{name}: rollout RMSE", f"{_fmt(r['rollout_rmse'])} (within {VALID_ERROR:g} std for "
                                      f"{_fmt(r['valid_time'])} time units)"),
            (f"{name}: unseen starts", ", ".join(_fmt(v) for v in r["rollout_rmse_unseen"])),
            (f"{name}: training", f"{r['epochs_run']} epochs in {m['timing']['train_s'][name]:.1f} s"),
        ]
    return rows


def compare_rows(rows: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(f"{100 * r['noise']:g}% noise, {r['approach']}",
             f"field {_fmt(r['field_rmse'])} (on data {_fmt(r['field_rmse_on_data'])}), "
             f"rollout {_fmt(r['rollout_rmse'])}, valid {_fmt(r['valid_time'])}, {r['train_s']:.1f} s")
            for r in rows]


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The comparison rows of :func:`~annrl.labs.dynamics.lab.compare` as a Markdown table."""
    lines = ["| noise | approach | field RMSE (hull) | field RMSE (on data) | one-step RMSE | rollout RMSE "
             "| valid time | train s |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {100 * r['noise']:g}% | {r['approach']} | {_fmt(r['field_rmse'])} "
                     f"| {_fmt(r['field_rmse_on_data'])} | {_fmt(r['one_step_rmse'])} | {_fmt(r['rollout_rmse'])} "
                     f"| {_fmt(r['valid_time'])} | {r['train_s']:.1f} |")
    return "\n".join(lines)


# -- figures ------------------------------------------------------------------------------------


def write_figures(result: DynamicsResult, out: Path) -> list[Path]:
    """The lab's figures: phase portraits, time series, error over time, derivative, training loss."""
    out = Path(out)
    return [
        phase_portraits(result, out / "phase_portraits.png"),
        time_series(result, out / "trajectories.png"),
        error_over_time(result, out / "rollout_error.png"),
        derivative_estimate(result, out / "derivative.png"),
        training_loss(result, out / "training_loss.png"),
    ]


def _path(t: np.ndarray, x: np.ndarray, names: tuple[str, ...]):
    from annrl.systems import Trajectory

    return Trajectory(t=t, x=x, x_clean=x, dxdt_clean=np.zeros_like(x), names=names)


def phase_portraits(result: DynamicsResult, path: Path) -> Path:
    """The true field and each learned field side by side, each with its trajectories.

    Left: the true field, the training orbit (observations as dots) and the true orbits from the
    unseen starts. Then one panel per approach: the learned field and its solve_ivp trajectories
    from the same starts.
    """
    from annrl.systems.plots import draw_phase_portrait
    from annrl.viz.style import figure, save

    tr, names = result.trajectory, result.trajectory.names
    unseen_true = [truth for truth, _ in next(iter(result.fields.values())).unseen]
    everything = np.concatenate([tr.x, tr.x_clean, *unseen_true])
    low, high = everything.min(axis=0), everything.max(axis=0)
    margin = 0.1 * (high - low)
    bounds = (low[0] - margin[0], high[0] + margin[0], low[1] - margin[1], high[1] + margin[1])
    fig, axes = figure(ncols=1 + len(result.fields))
    axes = np.atleast_1d(axes)
    draw_phase_portrait(axes[0], result.system, [tr, *(_path(tr.t, x, names) for x in unseen_true)],
                        bounds=bounds, title="True field")
    for ax, (name, r) in zip(axes[1:], result.fields.items(), strict=True):
        paths = [_path(tr.t, r.rollout, names), *(_path(tr.t, learned, names) for _, learned in r.unseen)]
        draw_phase_portrait(ax, r.field, paths, bounds=bounds,
                            title=f"Learned ({name}): field RMSE {_fmt(r.metrics['field_rmse'], 2)}")
    fig.suptitle(f"{result.config.system}, {100 * result.config.noise:g}% noise: trajectories from the training "
                 "start and from unseen starts", fontsize=9)
    return save(fig, path)


def time_series(result: DynamicsResult, path: Path) -> Path:
    """Each state against time: the clean trajectory, the observations and every learned rollout."""
    from annrl.viz.style import figure, save

    tr = result.trajectory
    fig, axes = figure(ncols=1, nrows=tr.dim, size=(7.0, 2.4 * tr.dim), sharex=True)
    for i, ax in enumerate(np.atleast_1d(axes)):
        ax.plot(tr.t, tr.x_clean[:, i], color=COLORS["true"], lw=1.6, label="true")
        if tr.noise > 0:
            ax.plot(tr.t, tr.x[:, i], ".", ms=2, color="#999999", label="observed")
        for name, r in result.fields.items():
            ax.plot(tr.t, r.rollout[:, i], color=COLORS[name], lw=1.0, ls="--", label=f"learned ({name})")
        ax.set(ylabel=tr.names[i])
    axes = np.atleast_1d(axes)
    axes[0].set_title("Training start: true and learned trajectories (solve_ivp)")
    axes[0].legend(loc="upper right")
    axes[-1].set_xlabel("time t")
    return save(fig, path)


def error_over_time(result: DynamicsResult, path: Path) -> Path:
    """Standardised trajectory error over time: the training start (solid) and unseen starts (dashed)."""
    from annrl.labs.dynamics.lab import standardised_error
    from annrl.viz.style import figure, save

    tr = result.trajectory
    std = tr.x.std(axis=0)
    fig, ax = figure(size=(6.5, 3.6))
    for name, r in result.fields.items():  # from the first sample on: the error is 0 at t0
        ax.plot(tr.t[1:], r.rollout_error[1:], color=COLORS[name], lw=1.4, label=f"{name}, training start")
        for k, (truth, learned) in enumerate(r.unseen):
            ax.plot(tr.t[1:], standardised_error(learned, truth, std)[1:], color=COLORS[name], lw=0.9,
                    ls="--" if k == 0 else ":", label=f"{name}, unseen start {k + 1}")
    ax.axhline(VALID_ERROR, color="#888888", lw=0.8)
    ax.set_yscale("log")
    ax.set(xlabel="time t", ylabel="error / std of the data", title="Trajectory error of the learned fields")
    ax.legend(fontsize=7)
    return save(fig, path)


def derivative_estimate(result: DynamicsResult, path: Path) -> Path:
    """The numerical derivative estimate against the true derivative, per state."""
    from annrl.viz.style import figure, save

    tr = result.trajectory
    fig, axes = figure(ncols=1, nrows=tr.dim, size=(7.0, 2.2 * tr.dim), sharex=True)
    axes = np.atleast_1d(axes)
    for i, ax in enumerate(axes):
        ax.plot(tr.t, tr.dxdt_clean[:, i], color=COLORS["true"], lw=1.4, label="true")
        ax.plot(tr.t, result.derivative[:, i], color=COLORS["derivative"], lw=0.9, label=result.config.method)
        ax.set(ylabel=f"d{tr.names[i]}/dt")
    axes[0].set_title(f"Derivative estimate ({result.config.method}): RMSE "
                      f"{_fmt(result.metrics['derivative_rmse'])}")
    axes[0].legend(loc="upper right")
    axes[-1].set_xlabel("time t")
    return save(fig, path)


def training_loss(result: DynamicsResult, path: Path) -> Path:
    """Training loss per epoch of each approach (each in its own standardised units)."""
    from annrl.viz.style import figure, save

    fig, axes = figure(ncols=len(result.fields))
    for ax, (name, r) in zip(np.atleast_1d(axes), result.fields.items(), strict=True):
        ax.plot(np.arange(1, len(r.loss) + 1), r.loss, color=COLORS[name])
        ax.set_yscale("log")
        what = "MSE of dz/dt / r" if name == "derivative" else "MSE of the window states z"
        ax.set(xlabel="epoch", ylabel=what, title=f"Training loss ({name})")
    return save(fig, path)


def compare_figure(rows: list[dict[str, Any]], path: Path, system: str) -> Path:
    """Grouped bars of field and rollout RMSE, per noise level and approach."""
    from annrl.viz.style import figure, save

    fig, axes = figure(ncols=2, size=(8.0, 3.4))
    noises = sorted({r["noise"] for r in rows})
    for ax, key in zip(axes, ("field_rmse_on_data", "rollout_rmse"), strict=True):
        for k, approach in enumerate(APPROACHES):
            values = [next((r[key] for r in rows if r["noise"] == n and r["approach"] == approach), None)
                      for n in noises]
            ax.bar(np.arange(len(noises)) + 0.38 * (k - 0.5), [np.nan if v is None else v for v in values],
                   width=0.38, color=COLORS[approach], label=approach)
        ax.set_xticks(np.arange(len(noises)), [f"{100 * n:g}% noise" for n in noises])
        ax.set(ylabel=key.replace("_", " "), title=f"{system}: {key.replace('_', ' ')}")
        ax.legend()
    return save(fig, path)


# -- report ---------------------------------------------------------------------------------------


def report_section(result: DynamicsResult, out: Path, folder: str) -> Section:
    """The dynamics lab as a section of the demo's HTML report (figures under ``out/folder``)."""
    figures = write_figures(result, Path(out) / folder)
    m, cfg = result.metrics, result.config
    text = (f"One trajectory of {cfg.system} ({'; '.join(m['equations'])}) observed with {100 * cfg.noise:g}% noise. "
            f"A {'-'.join(map(str, [2, *cfg.hidden, 2]))} tanh network learns the vector field, either from "
            f"numerical derivatives ({cfg.method}, RMSE {_fmt(m['derivative_rmse'])} against the true derivative) "
            "or by fitting RK4 rollouts of a few steps through the integrator. Each learned field is integrated "
            "with solve_ivp from the training start and from two unseen starts.")
    headers = ["approach", "field RMSE (hull)", "field RMSE (on data)", "one-step RMSE", "rollout RMSE",
               "valid time", "unseen rollout RMSE", "train s"]
    rows = [(name, r["field_rmse"], r["field_rmse_on_data"], r["one_step_rmse"], r["rollout_rmse"], r["valid_time"],
             ", ".join(_fmt(v) for v in r["rollout_rmse_unseen"]), m["timing"]["train_s"][name])
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
