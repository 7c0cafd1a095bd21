"""``annrl zoo``: list the architectures, run one demo, or the whole gallery as one HTML page.

    annrl zoo                         # one line per architecture
    annrl zoo esn --out runs/zoo/esn  # its figure(s), diagram.png and metrics.json
    annrl zoo all --out runs/zoo      # every demo, each in its folder, and index.html
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from annrl.clikit import add_output_options, non_negative_int, show, write_metrics
from annrl.io.rundir import RunDir
from annrl.progress import track
from annrl.viz.report import Section, Table, write_report
from annrl.zoo import registry
from annrl.zoo.diagram import draw_diagram

#: the architectures ``annrl demo`` shows (fast, and each says something the labs do not)
DEMO_SELECTION = ("perceptron", "som", "esn")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("zoo", help="the classic architectures: list them, run one demo, or all of them",
                                    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", default=None, help="an architecture (see `annrl zoo`), or all")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of everything random")
    parser.add_argument("--quick", action="store_true", help="shorter training (a few seconds per demo)")
    add_output_options(parser, "runs/zoo")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.name is None:
        for module in registry.modules():
            print(f"{module.NAME:<12} {module.SUMMARY}")
        return 0
    out = Path(args.out)
    module = None if args.name == "all" else registry.load(args.name)
    with RunDir(out).held():  # --out checked (a writable folder, free space) before any training
        if module is None:
            metrics = run_gallery(out, seed=args.seed, quick=args.quick)
            rows = [(name, _headline(m)) for name, m in metrics.items() if name != "timing"]
            show(args, metrics, "annrl zoo all", rows + [("report", out / "index.html")])
            return 0
        metrics = run_one(module, out, seed=args.seed, quick=args.quick)
    show(args, metrics, f"annrl zoo {module.NAME}", list(metrics.items()))
    return 0


def run_one(module: Any, out: Path, *, seed: int = 0, quick: bool = False) -> dict[str, Any]:
    """Run ``module``'s demo into ``out``: its figures, ``diagram.png`` and ``metrics.json``; returns the metrics."""
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    metrics = dict(module.demo(out, seed=seed, quick=quick))
    metrics["seconds"] = round(time.perf_counter() - start, 2)
    draw_diagram(module.build(seed), out / "diagram.png", title=f"{module.NAME}: {_short(module.SUMMARY)}")
    write_metrics(out, metrics)
    return metrics


def section(module: Any, out: Path, folder: str, metrics: dict[str, Any]) -> Section:
    """A report section for one demo whose files are in ``out / folder``."""
    figures = [f"{folder}/diagram.png"] + sorted(f"{folder}/{p.name}" for p in (out / folder).glob("*.png")
                                                 if p.name != "diagram.png")
    rows = [(key, value) for key, value in metrics.items() if isinstance(value, (int, float))]
    return Section(f"{module.NAME}", module.SUMMARY, [Table(f"{module.NAME}: what the demo measured",
                                                           ["metric", "value"], rows)], figures)


def run_gallery(out: Path, *, names: list[str] | None = None, seed: int = 0, quick: bool = False) -> dict[str, Any]:
    """Every architecture (or ``names``) into ``out/<name>/`` and one page ``out/index.html``."""
    modules = [registry.load(n) for n in names] if names is not None else registry.modules()
    sections, metrics = [], {}
    for module in track(modules, "zoo: architectures"):
        metrics[module.NAME] = run_one(module, out / module.NAME, seed=seed, quick=quick)
        sections.append(section(module, out, module.NAME, metrics[module.NAME]))
    write_report(out / "index.html", "annrl zoo: the classic architectures on one engine", sections,
                 intro="Each architecture is drawn from its own model object in the Neural Network Zoo's cell "
                       "notation; every number was computed by this run.")
    write_metrics(out, metrics)
    return metrics


def demo_step(out: Path, quick: bool) -> tuple[Section, dict[str, Any]]:
    """The zoo's step of ``annrl demo``: a perceptron, a self-organising map and an echo state network."""
    sections, numbers = [], {}
    for name in DEMO_SELECTION:
        module = registry.load(name)
        metrics = run_one(module, out / "zoo" / name, quick=quick)
        numbers.update({f"zoo_{name}_{key}": value for key, value in metrics.items() if key != "seconds"})
        sections.append(section(module, out, f"zoo/{name}", metrics))
    text = ("Three architectures from `annrl zoo`, each drawn from its model object in the Neural Network Zoo's "
            "notation: " + "; ".join(f"{s.title}: {s.text}" for s in sections) + ". `annrl zoo all` runs them all.")
    tables = [table for s in sections for table in s.tables]
    return Section("The zoo", text, tables, [f for s in sections for f in s.figures]), numbers


def _headline(metrics: dict[str, Any]) -> str:
    shown = [(k, v) for k, v in metrics.items() if k != "seconds"][:2]
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown)


def _short(summary: str) -> str:
    return summary.split(":")[0]
