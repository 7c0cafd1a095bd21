"""``annrl adapt lms|stream|grow``: the adaptive lab on the command line, and its demo step."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from annrl.clikit import add_output_options, show, write_metrics
from annrl.config import add_flags, from_args
from annrl.io.rundir import RunDir
from annrl.labs.adapt import figures
from annrl.labs.adapt.lab import GrowConfig, LmsConfig, Result, StreamConfig, run_grow, run_lms, run_stream
from annrl.labs.adapt.prequential import MODES
from annrl.viz.report import Section, Table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "adapt", help="networks that keep adapting: Adaline/LMS filters, drifting streams, growing networks",
        description="lms: Adaline as an adaptive filter and classifier, against LMS theory; stream: frozen, "
        "continual and drift-detecting learners on drifting streams (prequential accuracy, recovery times); "
        "grow: a network that adds hidden units when its error plateaus.")
    experiments = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for name, (help_text, config_type, _, _) in EXPERIMENTS.items():
        p = experiments.add_parser(name, help=help_text)
        add_flags(p, config_type)
        add_output_options(p, f"runs/adapt/{name}")
        p.set_defaults(handler=run_experiment)


def run_experiment(args: argparse.Namespace) -> int:
    """``annrl adapt EXPERIMENT``: run it, write its figures and metrics.json, show its table."""
    _, config_type, run, rows = EXPERIMENTS[args.experiment]
    config = from_args(config_type, args)
    with RunDir(args.out).held():  # --out checked (a writable folder, free space) before the experiment runs
        result = run(config)
        figures.write_figures(result, Path(args.out))
        write_metrics(args.out, result.metrics)
    show(args, result.metrics, f"adapt {args.experiment}", rows(result.metrics))
    return 0


def lms_rows(m: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for r in m["system_identification"]:
        rows.append((f"{r['rule']} mu={r['mu']:g}: final MSE (theory)",
                     f"{r['final_mse']:.4g} ({r['theory_final_mse']:.4g}), J_min {r['j_min']:.4g}"))
    b = m["bounds"]
    rows.append(("step-size bounds", f"mean-square {b['mean_square']:.3g}, 2/tr R {b['two_over_trace']:.3g}, "
                 f"2/lambda_max {b['mean_2_over_lambda_max']:.3g}"))
    s = m["step_size_sweep"]
    for factor, got, want in zip(s["mu_over_mean_square_bound"], s["misadjustment"], s["misadjustment_theory"],
                                 strict=True):
        measured = "diverged" if got is None else f"{got:.3g}"
        rows.append((f"misadjustment at {factor:g} x bound",
                     f"{measured} (theory {'diverges' if want is None else format(want, '.3g')})"))
    rows.append(("3-tap filter: Wiener / LMS", f"{_vector(m['short_filter']['wiener'])} / "
                 f"{_vector(m['short_filter']['lms_mean_weights'])}"))
    n = m["noise_cancellation"]
    rows.append(("noise cancelling SNR", f"{n['snr_in_db']:.1f} dB -> {n['snr_out_db']:.1f} dB"))
    rows.append(("tracking: best NLMS mu", m["tracking"]["best_mu"]))
    c = m["classifier"]
    rows.append(("band task error: Adaline / Madaline",
                 f"{c['band_adaline_error']:.1%} / {c['band_madaline_error']:.1%}"))
    return rows


def _vector(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


def stream_rows(m: dict[str, Any]) -> list[tuple[str, Any]]:
    rows = []
    for kind in m["config"]["kinds"]:
        for mode in MODES:
            drifts = m[kind][mode]["drifts"]
            recover = ", ".join("never" if d["recovery"] is None else str(d["recovery"]) for d in drifts)
            mean_after = m[kind][mode]["accuracy_after_first_drift"]  # every sample after it, not the last window
            rows.append((f"{kind}: {mode}", f"mean accuracy after the first drift {mean_after:.1%}, "
                         f"recovery (samples) {recover}"))
    return rows


def grow_rows(m: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(task, f"{r['units']} units, MSE {r['final_loss']:.2g} after {r['epochs']} epochs")
            for task, r in m.items() if task != "config"]


#: experiment -> (help, config, run, table rows)
EXPERIMENTS: dict[str, tuple[str, type, Callable[[Any], Result], Callable[[dict[str, Any]], list]]] = {
    "lms": ("Adaline/LMS: system identification, bounds, misadjustment, noise cancelling, tracking, Madaline",
            LmsConfig, run_lms, lms_rows),
    "stream": ("frozen vs continual vs drift-detecting learners on drifting streams", StreamConfig, run_stream,
               stream_rows),
    "grow": ("a network that adds hidden units when its error plateaus", GrowConfig, run_grow, grow_rows),
}


def demo_step(out: Path, quick: bool) -> tuple[Section, dict[str, Any]]:
    """Demo step: LMS against its theory, a sudden drift on the activity stream, a growing network."""
    from annrl.labs.adapt import filters
    from annrl.labs.adapt.prequential import compare_learners
    from annrl.labs.adapt.streams import make_stream

    folder = out / "adapt"
    curves = [filters.identify_system(mu=mu, steps=1000, runs=30 if quick else 100) for mu in (0.01, 0.05)]
    figures.learning_curves(curves, folder / "lms_learning_curves.png")
    stream = make_stream("activity", samples=3000 if quick else 5000, warmup=800)
    result = compare_learners(stream, warmup=800)
    figures.stream_accuracy(result, folder / "stream_activity.png")
    grown = run_grow(GrowConfig(epochs=2000 if quick else 5000))
    figures.write_figures(grown, folder)
    grow = grown.metrics
    after = {mode: result.recoveries[mode][0] for mode in MODES}
    text = (f"An Adaline identifies an unknown FIR filter by LMS; its ensemble learning curve follows the "
            f"independence theory down to the Wiener error J_min = {curves[0].j_min:.4f}. On a stream of "
            f"accelerometer-like features the device is re-mounted mid-stream: the frozen network falls to "
            f"{after['frozen'].after:.0%}, the continual one recovers to {after['continual'].after:.0%} and the one "
            f"with a Page-Hinkley detector to {after['adaptive'].after:.0%}. A constructive network adds hidden units "
            f"only at plateaus: {grow['linear']['units']} for a linear task, "
            f"{grow['sin(3 x1) cos(2 x2)']['units']} for a product of waves.")
    table = Table("Activity stream, sudden re-mounting", ["learner", "before", "after", "recovery (samples)"],
                  [(mode, f"{r.before:.1%}", f"{r.after:.1%}", r.recovery if r.recovery is not None else "never")
                   for mode, r in after.items()])
    section = Section("Adaptive networks: LMS, drifting streams, growing networks", text, [table],
                      ["adapt/lms_learning_curves.png", "adapt/stream_activity.png", "adapt/grow_size.png"])
    return section, {"adapt_frozen_accuracy_after_drift": after["frozen"].after,
                     "adapt_continual_accuracy_after_drift": after["continual"].after,
                     "adapt_grow_units_product_task": grow["sin(3 x1) cos(2 x2)"]["units"]}
