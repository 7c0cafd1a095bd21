"""``annrl xor``: the XOR lab on the command line, its figures and its report section."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from annrl.backend import check_device
from annrl.clikit import add_checkpoint_options, add_output_options, checkpointer_from_args, show, write_metrics
from annrl.config import add_flags, from_args
from annrl.io.network_file import save_network
from annrl.labs.xor.figures import write_figures
from annrl.labs.xor.lab import FAILURE_KINDS, XOR_TABLE, XorConfig, XorResult, compare, train
from annrl.nn.compiled import describe
from annrl.validate import check_cli
from annrl.viz.report import Section, Table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "xor", help="train many XOR networks at once and explain the seeds that fail",
        description="Train --seeds 2-H-1 networks on XOR as one population (the classic tutorial's recipe by "
        "default) and report the success rate, epochs to solve and why each failure failed.")
    add_flags(parser, XorConfig)
    parser.add_argument("--compare", action="store_true", help="run the built-in grid of recipes and print a table")
    parser.add_argument("--backend", choices=["numpy", "torch"], default="numpy",
                        help="array library the engine runs on (torch: pip install 'annrl[torch]')")
    parser.add_argument("--device", default=None, help="torch device: cpu (default) or cuda, cuda:1, ...")
    add_output_options(parser, "runs/xor")
    add_checkpoint_options(parser)
    parser.add_argument("--no-figures", action="store_true", help="write metrics.json and the model only")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_cli(XOR_TABLE, args)
    device = check_device(args.backend, args.device)
    config = from_args(XorConfig, args)
    out = Path(args.out)
    if args.compare:
        rows = compare(config)
        metrics = {"config": asdict(config), "recipes": rows}
        write_metrics(out, metrics)
        from annrl.viz import training as plots

        plots.bar_table([r["recipe"] for r in rows], [100 * r["success_rate"] for r in rows],
                        out / "compare.png", xlabel="solved (% of seeds)", title="Which recipes make XOR reliable")
        show(args, metrics, f"XOR recipes, {config.seeds} seeds x {config.epochs} epochs",
             [(r["recipe"], f"{100 * r['success_rate']:.1f}% solved") for r in rows])
        return 0
    with checkpointer_from_args(args, asdict(config)) as checkpointer:
        result = train(config, progress=not args.json, checkpointer=checkpointer, backend=args.backend,
                       device=device)
    write_metrics(out, result.metrics)
    save_network(out / "model.safetensors", result.net, {"lab": "xor", "config": asdict(config)})
    if not args.no_figures:
        write_figures(result, out)
    show(args, result.metrics, f"XOR: {config.seeds} seeds x {config.epochs} epochs", summary_rows(result))
    return 0


def summary_rows(result: XorResult) -> list[tuple[str, Any]]:
    m = result.metrics
    rows = [("success rate", f"{100 * m['success_rate']:.1f}%  ({m['solved']} of {m['seeds']})"),
            ("median epochs to solve", m["epochs_to_solve_median"]),
            ("median final loss", m["final_loss_quantiles"]["0.5"])]
    for kind in FAILURE_KINDS:
        rows.append((f"failed: {kind}",
                     f"{m['failure_kinds'][kind]}  ({m['solved_when_extended'][kind]} solve in "
                     f"{m['extended_epochs']} more epochs)"))
    rows.append(("first failed seeds", ", ".join(map(str, m["failed_seeds"][:12])) or "none"))
    rows.append(("net-epochs per second", m["timing"]["net_epochs_per_s"]))
    rows.append(("kernel", describe(m["kernel"])))
    return rows


def report_section(result: XorResult, out: Path, folder: str) -> Section:
    """The XOR lab as a section of the demo's HTML report (figures under ``out/folder``)."""
    figures = write_figures(result, out / folder)
    m = result.metrics
    text = (f"{m['seeds']} networks of the classic tutorial (2-2-1, sigmoid hidden, linear output, N(0, 1) "
            f"weights, MSE, SGD lr 0.02 momentum 0.9) trained at once for {m['epochs']} epochs: "
            f"{100 * m['success_rate']:.1f}% solve XOR. The failures are classified by their state at the end "
            f"and then trained {m['extended_epochs']} epochs more to see which were only slow.")
    rows = [(k, v) for k, v in summary_rows(result)]
    return Section("XOR: why some seeds fail", text, [Table("Summary", ["", "value"], rows)],
                   [f"{folder}/{p.name}" for p in figures])
