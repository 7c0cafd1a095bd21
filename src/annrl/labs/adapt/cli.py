"""``annrl adapt lms|stream|grow``: the adaptive lab on the command line, and its demo step."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from annrl.clikit import add_output_options, positive_float, positive_int, show, write_metrics
from annrl.labs.adapt.lab import (
    GrowConfig,
    LmsConfig,
    StreamConfig,
    run_grow,
    run_lms,
    run_stream,
)
from annrl.labs.adapt.prequential import DETECTORS, MODES
from annrl.labs.adapt.streams import KINDS
from annrl.nn.lms import RULES
from annrl.viz.report import Section, Table


def float_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        values = ()
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers > 0 (e.g. 0.01,0.03), got {text!r}")
    return values


def kind_list(text: str) -> tuple[str, ...]:
    kinds = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(f"must be comma-separated among {','.join(KINDS)}, got {text!r}")
    return kinds


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "adapt", help="networks that keep adapting: Adaline/LMS filters, drifting streams, growing networks",
        description="lms: Adaline as an adaptive filter and classifier, against LMS theory; stream: frozen, "
        "continual and drift-detecting learners on drifting streams (prequential accuracy, recovery times); "
        "grow: a network that adds hidden units when its error plateaus.")
    experiments = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    _register_lms(experiments)
    _register_stream(experiments)
    _register_grow(experiments)


def _register_lms(experiments: Any) -> None:
    d = LmsConfig()
    p = experiments.add_parser("lms", help="Adaline/LMS: system identification, bounds, misadjustment, "
                               "noise cancelling, tracking, Madaline")
    p.add_argument("--mus", type=float_list, default=d.mus, help="step sizes of the learning curves, e.g. 0.01,0.03")
    p.add_argument("--rule", choices=RULES, default=d.rule, help="lms, or normalised lms")
    p.add_argument("--steps", type=positive_int, default=d.steps, help="samples per run")
    p.add_argument("--runs", type=positive_int, default=d.runs, help="independent runs averaged (the population)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of everything random")
    add_output_options(p, "runs/adapt/lms")
    p.set_defaults(handler=run_lms_command)


def _register_stream(experiments: Any) -> None:
    d = StreamConfig()
    p = experiments.add_parser("stream", help="frozen vs continual vs drift-detecting learners on drifting streams")
    p.add_argument("--kinds", type=kind_list, default=d.kinds, help=f"streams, among {','.join(KINDS)}")
    p.add_argument("--samples", type=positive_int, default=d.samples, help="samples per stream")
    p.add_argument("--warmup", type=positive_int, default=d.warmup, help="samples of batch pre-training")
    p.add_argument("--hidden", type=positive_int, default=d.hidden, help="hidden tanh units")
    p.add_argument("--lr", type=positive_float, default=d.lr, help="SGD learning rate of the stream updates")
    p.add_argument("--batch", type=positive_int, default=d.batch, help="samples per test-then-train step")
    p.add_argument("--detector", choices=DETECTORS, default=d.detector, help="the adaptive learner's detector")
    p.add_argument("--window", type=positive_int, default=d.window, help="samples of the rolling accuracy")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of everything random")
    add_output_options(p, "runs/adapt/stream")
    p.set_defaults(handler=run_stream_command)


def _register_grow(experiments: Any) -> None:
    d = GrowConfig()
    p = experiments.add_parser("grow", help="a network that adds hidden units when its error plateaus")
    p.add_argument("--window", type=positive_int, default=d.window, help="epochs between growth decisions")
    p.add_argument("--threshold", type=float, default=d.threshold,
                   help="a window improving the loss by less than this fraction is a plateau")
    p.add_argument("--target", type=positive_float, default=d.target, help="MSE at which training stops")
    p.add_argument("--max-units", type=int, default=d.max_units, help="hidden units at most")
    p.add_argument("--epochs", type=positive_int, default=d.epochs, help="epochs at most")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of everything random")
    add_output_options(p, "runs/adapt/grow")
    p.set_defaults(handler=run_grow_command)


def run_lms_command(args: argparse.Namespace) -> int:
    config = LmsConfig(mus=tuple(args.mus), rule=args.rule, steps=args.steps, runs=args.runs, seed=args.seed)
    metrics = run_lms(config, Path(args.out))
    write_metrics(args.out, metrics)
    show(args, metrics, "adapt lms", lms_rows(metrics))
    return 0


def run_stream_command(args: argparse.Namespace) -> int:
    config = StreamConfig(kinds=tuple(args.kinds), samples=args.samples, warmup=args.warmup, hidden=args.hidden,
                          lr=args.lr, batch=args.batch, detector=args.detector, window=args.window, seed=args.seed)
    metrics = run_stream(config, Path(args.out))
    write_metrics(args.out, metrics)
    show(args, metrics, "adapt stream", stream_rows(metrics))
    return 0


def run_grow_command(args: argparse.Namespace) -> int:
    config = GrowConfig(window=args.window, threshold=args.threshold, target=args.target, max_units=args.max_units,
                        epochs=args.epochs, seed=args.seed)
    metrics = run_grow(config, Path(args.out))
    write_metrics(args.out, metrics)
    show(args, metrics, "adapt grow", grow_rows(metrics))
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
            rows.append((f"{kind}: {mode}", f"accuracy after drift {m[kind][mode]['accuracy_after_first_drift']:.1%}, "
                         f"recovery (samples) {recover}"))
    return rows


def grow_rows(m: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(task, f"{r['units']} units, MSE {r['final_loss']:.2g} after {r['epochs']} epochs")
            for task, r in m.items() if task != "config"]


def demo_step(out: Path, quick: bool) -> tuple[Section, dict[str, Any]]:
    """Demo step: LMS against its theory, a sudden drift on the activity stream, a growing network."""
    from annrl.labs.adapt import figures, filters
    from annrl.labs.adapt.prequential import compare_learners
    from annrl.labs.adapt.streams import make_stream

    folder = out / "adapt"
    curves = [filters.identify_system(mu=mu, steps=1000, runs=30 if quick else 100) for mu in (0.01, 0.05)]
    figures.learning_curves(curves, folder / "lms_learning_curves.png")
    stream = make_stream("activity", samples=3000 if quick else 5000, warmup=800)
    result = compare_learners(stream, warmup=800)
    figures.stream_accuracy(result, folder / "stream_activity.png")
    grow = run_grow(GrowConfig(epochs=2000 if quick else 5000), folder)
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
