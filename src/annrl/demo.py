"""``annrl demo``: a guided tour of everything annrl can do, on embedded defaults.

It takes about 40 s of CPU time, one lab after another: under a minute of wall time on a quiet
machine, two on a busy 2-core one (each lab is announced as it finishes); ``--quick`` about 22 s of
CPU time.

Each lab contributes one step (a report section); the tour writes ``<out>/index.html`` with
every figure and table. Later labs add their steps to :data:`STEPS`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import import_module
from pathlib import Path
from typing import Any

from annrl.clikit import show, write_metrics
from annrl.progress import announce, phase
from annrl.viz.report import Section, Table, write_report


def xor_step(out: Path, quick: bool) -> tuple[Section, dict[str, Any]]:
    from annrl.labs.xor.cli import report_section
    from annrl.labs.xor.lab import XorConfig, train

    result = train(XorConfig(seeds=500 if quick else 3000))
    return report_section(result, out, "xor"), {"xor_success_rate": result.metrics["success_rate"]}


def xor_recipes_step(out: Path, quick: bool) -> tuple[Section, dict[str, Any]]:
    from annrl.labs.xor.lab import XorConfig, compare
    from annrl.viz.training import bar_table

    rows = compare(replace(XorConfig(), seeds=200 if quick else 1000, extend=0))
    figure = out / "xor" / "compare.png"
    bar_table([r["recipe"] for r in rows], [100 * r["success_rate"] for r in rows], figure,
              xlabel="solved (% of seeds)", title="XOR recipes")
    table = Table("Success rate per recipe", ["recipe", "solved", "median epochs to solve"],
                  [(r["recipe"], f"{100 * r['success_rate']:.1f}%", r["epochs_to_solve_median"] or "-") for r in rows])
    text = ("The same seeds under changes to the recipe. A single neuron (no hidden layer) never solves XOR, "
            "whatever its seed: XOR is not linearly separable.")
    single = next(r for r in rows if r["recipe"].startswith("single neuron (no"))
    return (Section("XOR: which changes make it reliable", text, [table], [f"xor/{figure.name}"]),
            {"xor_single_neuron_success_rate": single["success_rate"]})


def agents_step(out: Path, quick: bool) -> tuple[Section, dict[str, Any]]:
    from annrl.agents.cli import run_training
    from annrl.agents.ga import Config

    config = Config(env="CartPole-v1", total_steps=20_000 if quick else 60_000, seed=0)
    result = run_training("ga", config, out=out / "agents")
    m = result.metrics
    text = (f"A genetic algorithm evolves {config.population} CartPole policies (4-{config.hidden}-2 tanh networks), "
            "evaluated every generation as ONE population-axis network: no gradient, no PyTorch. "
            f"After {m['env_steps']} environment steps its best policy's mean evaluation return is "
            f"{m['final_eval_return']:.0f} (500 is the maximum; a random policy scores about 22).")
    table = Table("Genetic algorithm on CartPole-v1", ["", "value"],
                  [("environment steps", m["env_steps"]), ("final evaluation return", m["final_eval_return"]),
                   ("steps to return 475", m["steps_to_threshold"] or "-")])
    return Section("Agents: a genetic algorithm learns CartPole", text, [table], ["agents/learning_curve.png"]), {
        "agents_ga_cartpole_return": m["final_eval_return"]}


#: the tour: (title, "module:function"); each function is ``step(out, quick) -> (Section, numbers)``
#: and is imported only when the tour reaches it
STEPS: list[tuple[str, str]] = [
    ("XOR seeds", "annrl.demo:xor_step"),
    ("XOR recipes", "annrl.demo:xor_recipes_step"),
    ("Logic", "annrl.labs.logic.cli:logic_step"),
    ("Function approximation", "annrl.labs.approx.cli:approx_step"),
    ("Learned dynamics", "annrl.labs.dynamics.cli:dynamics_step"),
    ("Memory", "annrl.labs.memory.cli:memory_step"),
    ("Adaptive networks", "annrl.labs.adapt.cli:demo_step"),
    ("The zoo", "annrl.zoo.cli:demo_step"),
    ("Agents", "annrl.demo:agents_step"),
]


def load_step(target: str) -> Callable[[Path, bool], tuple[Section, dict[str, Any]]]:
    module, name = target.split(":")
    return getattr(import_module(module), name)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="a guided tour of every lab, as an HTML report",
                                   description=__doc__)
    parser.add_argument("--out", default="runs/demo", help="folder for index.html, figures and metrics.json")
    parser.add_argument("--quick", action="store_true", help="smaller populations (about 20 s of CPU time)")
    parser.add_argument("--json", action="store_true", help="print metrics.json on stdout instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    sections, metrics, timing = [], {}, {}
    with phase("demo", len(STEPS)) as bar:
        for done, (name, target) in enumerate(STEPS, 1):
            start = time.perf_counter()
            section, numbers = load_step(target)(out, args.quick)
            timing[name] = round(time.perf_counter() - start, 2)
            announce(f"annrl demo: {name} done in {timing[name]:.1f} s ({done}/{len(STEPS)})")
            bar.advance()
            sections.append(section)
            metrics.update(numbers)
    metrics["timing"] = timing
    report = write_report(out / "index.html", "annrl: a guided tour", sections,
                          intro="Every number below was computed by this run of `annrl demo`.")
    write_metrics(out, metrics)
    show(args, metrics, "annrl demo", [*((k, v) for k, v in metrics.items() if k != "timing"), ("report", report)])
    return 0
