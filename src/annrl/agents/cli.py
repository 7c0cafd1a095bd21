"""``annrl rl``: train, evaluate and compare agents.

    annrl rl train --env CartPole-v1 --algo ppo --steps 100000 --seed 0 --out runs/cp
    annrl rl train --env annrl/CarTrack-v0 --track s_bends --continuous --algo ga --steps 2000000 --out runs/car
    annrl rl eval runs/cp --episodes 20
    annrl rl compare --env CartPole-v1 --algos dqn,ppo,ga,es --seeds 3 --steps 50000

Every hyper-parameter of every algorithm is a flag; a flag left out takes the algorithm's default.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from annrl.agents import ALGORITHMS, get_algorithm, make_rng
from annrl.agents.envs import is_car
from annrl.agents.evaluation import evaluate
from annrl.agents.policy_file import AGENT_FILE, load_policy, save_policy
from annrl.agents.run import Result
from annrl.clikit import add_checkpoint_options, add_output_options, show, write_metrics
from annrl.config import add_flags, declared
from annrl.errors import InputError
from annrl.validate import check

#: the flags of a Config field spelled otherwise than --field-name
SPELLINGS = {"total_steps": ("--steps", "--total-steps")}
#: algorithms whose population --ray evaluates in shards
RAY_ALGORITHMS = ("ga", "es")


def _algorithm_fields(algos: tuple[str, ...] = ALGORITHMS) -> dict[str, list[tuple[str, dataclasses.Field]]]:
    """Field name -> [(algorithm, field)] over the Configs of ``algos`` (default: every registered one)."""
    fields: dict[str, list[tuple[str, dataclasses.Field]]] = {}
    for name in algos:
        for f in declared(get_algorithm(name).Config):
            fields.setdefault(f.name, []).append((name, f))
    return fields


def _add_algorithm_flags(parser: argparse.ArgumentParser, algos: tuple[str, ...] = ALGORITHMS, *,
                      show: bool = True) -> None:
    """A flag per Config field of ``algos``, each once; a flag left out (None) takes the algorithm's
    default, which the help shows (``show=False``: accepted, not listed by ``--help``)."""
    for name, owners in _algorithm_fields(algos).items():
        add_flags(parser, get_algorithm(owners[0][0]).Config, [name], unset=True, show=show, spellings=SPELLINGS)


def config_from_args(algo: str, args: argparse.Namespace) -> Any:
    """The algorithm's Config from the flags given; a flag of another algorithm is refused."""
    module = get_algorithm(algo)
    own = {f.name for f in declared(module.Config)}
    values = {}
    for name, owners in _algorithm_fields().items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if name not in own:
            users = ", ".join(a for a, _ in owners)
            raise InputError(f"--{name.replace('_', '-')} does not apply to --algo {algo} (only to {users})")
        values[name] = value
    flags = {name: spellings[0] for name, spellings in SPELLINGS.items()}
    check(getattr(module, "TABLE", {}), values, cli=True, allow_unknown=True, flags=flags)  # named as typed
    return module.Config(**values)


def register(subparsers: Any) -> None:
    """Add ``rl`` and its sub-commands to an argparse ``subparsers`` object."""
    rl = subparsers.add_parser("rl", help="reinforcement learning: DQN, PPO, a genetic algorithm, evolution strategies",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    rl.set_defaults(handler=lambda args: rl.print_help() or 0)
    commands = rl.add_subparsers(dest="rl_command", metavar="SUBCOMMAND")

    train = commands.add_parser(
        "train", help="train one agent; writes checkpoints, metrics.json, figures",
        description="Train one agent: `annrl rl train ALGO [options]`, where `annrl rl train ALGO --help` lists "
        "ALGO's options only. The older form `annrl rl train --algo ALGO [options]` works too.")
    train.add_argument("--algo", default="ppo", help=f"one of {', '.join(ALGORITHMS)} (the older form).")
    _add_algorithm_flags(train, show=False)
    _add_train_options(train)
    algos = train.add_subparsers(dest="algo_command", metavar="ALGO")
    for algo in ALGORITHMS:
        module = get_algorithm(algo)
        one = algos.add_parser(algo, help=_first_line(module.__doc__),
                               description=f"Train {algo}; a flag left out takes {algo}'s default.")
        _add_algorithm_flags(one, (algo,))
        _add_train_options(one)

    ev = commands.add_parser("eval", help="evaluate a saved agent (a run folder or its agent.safetensors)")
    ev.add_argument("checkpoint", help="run folder or agent file.")
    ev.add_argument("--episodes", type=int, default=20, help="episodes to play.")
    ev.add_argument("--seed", type=int, default=12345, help="seed of the evaluation episodes.")
    ev.add_argument("--track", default=None, help="car: drive this track instead of the one trained on.")
    ev.add_argument("--json", action="store_true", help="print the numbers as JSON instead of a table.")
    ev.set_defaults(handler=eval_command)

    cmp = commands.add_parser("compare", help="run several algorithms over several seeds and print a table")
    cmp.add_argument("--env", default="CartPole-v1", help="environment id.")
    cmp.add_argument("--track", default="s_bends", help="car track (annrl/CarTrack-v0).")
    cmp.add_argument("--algos", default="dqn,ppo,ga,es",
                     help=f"comma-separated algorithms, any of {','.join(ALGORITHMS)}.")
    cmp.add_argument("--seeds", type=int, default=3, help="seeds per algorithm (0, 1, ...).")
    cmp.add_argument("--steps", type=int, default=None, help="environment steps per run (default: each algorithm's).")
    cmp.add_argument("--stop-at-threshold", action="store_true", help="stop each run once it solves the task.")
    add_output_options(cmp, "runs/rl-compare")
    cmp.set_defaults(handler=compare_command)


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    add_output_options(parser, "runs/rl")
    add_checkpoint_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar.")
    parser.add_argument("--no-figures", action="store_true", help="write no learning-curve figure or GIF.")
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="local|ADDRESS",
                        help="ga, es: evaluate the population in shards on Ray ('local' or a cluster address); "
                        "the same results as without it.")
    parser.set_defaults(handler=train_command)


def _first_line(doc: str | None) -> str:
    """The first sentence of a module's docstring (a one-line help)."""
    paragraph = " ".join((doc or "").strip().split("\n\n")[0].split())
    return paragraph.split(". ")[0].rstrip(".")


def run_training(algo: str, config: Any, *, out: str | Path | None, resume: bool = False,
                 checkpoint_every: Any = None, progress: bool = False, figures: bool = True,
                 ray: str | None = None) -> Result:
    """Train, then write ``metrics.json``, ``agent.safetensors`` and (unless ``figures`` is False) the
    learning curve, and a GIF on the car."""
    from annrl.io import graceful_stop

    module = get_algorithm(algo)
    with graceful_stop() as stop:
        sharding = {} if ray is None else {"ray": ray}  # only ga and es take it
        result = module.train(config, make_rng(config.seed), out=out, resume=resume,
                              checkpoint_every=checkpoint_every, stop=stop, progress=progress, **sharding)
    if out is not None:
        out = Path(out)
        if hasattr(module, "save_agent"):  # an agent that is more than one static network (rl2, hebbian)
            module.save_agent(out / AGENT_FILE, result, config)
        else:
            save_policy(out / AGENT_FILE, result.policy, algo=algo, env_id=config.env, shape=result.shape,
                        mode=result.action_mode, track=config.track, continuous=config.continuous)
        if figures:
            learning_curve_figure(result.metrics, out / "learning_curve.png")
            result.metrics["figures"] = [str(out / "learning_curve.png")]
            if is_car(config.env) and getattr(module, "ANIMATES", True):
                result.metrics["figures"].append(str(car_animation(result, config, out / "policy.gif")))
        write_metrics(out, result.metrics)
    return result


def train_command(args: argparse.Namespace) -> int:
    """Run ``annrl rl train``: train ``--algo`` on ``--env``, print its table or JSON; returns the exit code 0."""
    if getattr(args, "algo_command", None):  # `rl train ppo ...`, the sub-command form
        args.algo = args.algo_command
    config = config_from_args(args.algo, args)
    if args.ray is not None and args.algo not in RAY_ALGORITHMS:
        raise InputError(f"--ray applies to --algo {' and '.join(RAY_ALGORITHMS)} only, got {args.algo}", field="--ray")
    result = run_training(args.algo, config, out=args.out, resume=args.resume, checkpoint_every=args.checkpoint_every,
                          progress=not (args.json or args.no_progress), figures=not args.no_figures, ray=args.ray)
    m = result.metrics
    rows = [("algo", m["algo"]), ("env", m["env"]), ("env steps", m["env_steps"]),
            ("final eval return", f"{m['final_eval_return']:.1f} +- {m['final_eval_std']:.1f}"),
            ("steps to threshold", m["steps_to_threshold"]), ("wall s", m["timing"]["wall_s"])]
    if "final_eval_laps" in m:
        rows.append(("laps (eval)", m["final_eval_laps"]))
    if "grip_recovery" in m:
        changes = m["grip_recovery"]["changes"]
        rows.append((f"grip changes regained within {m['grip_recovery']['window']} steps",
                     f"{sum(c['met'] for c in changes)}/{len(changes)}"))
    show(args, m, f"annrl rl train: {args.algo} on {config.env}", rows)
    return 0


def eval_command(args: argparse.Namespace) -> int:
    """Run ``annrl rl eval``: play a saved policy for ``--episodes`` episodes and report its returns; returns 0."""
    if args.episodes < 1:
        raise InputError.invalid("--episodes", ">= 1", args.episodes)
    if args.seed < 0:  # numpy's seeding would end in a traceback
        raise InputError.invalid("--seed", ">= 0", args.seed)
    policy = load_policy(args.checkpoint)
    meta = policy.metadata
    episodes = evaluate(policy, meta["env"], args.episodes, args.seed, track=args.track or meta["track"],
                        continuous=meta["continuous"])
    metrics = {"algo": meta["algo"], "env": meta["env"], "track": args.track or meta["track"],
               "episodes": args.episodes, "seed": args.seed,
               "mean_return": float(episodes.returns.mean()), "std_return": float(episodes.returns.std()),
               "returns": episodes.returns.tolist()}
    rows = [("agent", f"{meta['algo']} on {meta['env']}"),
            ("mean return", f"{metrics['mean_return']:.1f} +- {metrics['std_return']:.1f}")]
    if episodes.laps is not None:
        metrics["laps"] = float(episodes.laps.mean())
        rows.append(("laps", metrics["laps"]))
    show(args, metrics, f"annrl rl eval: {args.checkpoint}", rows)
    return 0


def compare(env: str, algos: list[str], seeds: int, *, steps: int | None = None, track: str = "s_bends",
            stop_at_threshold: bool = False, out: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per algorithm: medians over ``seeds`` runs of final return, steps to threshold, wall time."""
    rows = []
    for algo in algos:
        module = get_algorithm(algo)
        runs = []
        for seed in range(seeds):
            values = {"env": env, "track": track, "seed": seed, "stop_at_threshold": stop_at_threshold}
            if steps is not None:
                values["total_steps"] = steps
            config = module.Config(**values)
            folder = None if out is None else Path(out) / f"{algo}-seed{seed}"
            runs.append(run_training(algo, config, out=folder, figures=False).metrics)
        to_threshold = [r["steps_to_threshold"] for r in runs]
        solved = [s for s in to_threshold if s is not None]
        rows.append({"algo": algo, "seeds": seeds,
                     "median_final_eval_return": float(np.median([r["final_eval_return"] for r in runs])),
                     "solved_runs": len(solved),
                     "median_steps_to_threshold": float(np.median(solved)) if len(solved) == seeds else None,
                     "median_wall_s": float(np.median([r["timing"]["wall_s"] for r in runs])),
                     "final_eval_returns": [r["final_eval_return"] for r in runs]})
    return rows


def compare_command(args: argparse.Namespace) -> int:
    """Run ``annrl rl compare``: train each of ``--algos`` on ``--seeds`` seeds and tabulate them; returns 0."""
    algos = [a.strip() for a in args.algos.split(",") if a.strip()]
    for algo in algos:
        get_algorithm(algo)
    if args.seeds < 1:
        raise InputError.invalid("--seeds", ">= 1", args.seeds)
    started = time.perf_counter()
    rows = compare(args.env, algos, args.seeds, steps=args.steps, track=args.track,
                   stop_at_threshold=args.stop_at_threshold, out=args.out)
    metrics = {"env": args.env, "rows": rows, "timing": {"wall_s": time.perf_counter() - started}}
    write_metrics(args.out, metrics)
    if args.json:
        show(args, metrics, "", [])
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"annrl rl compare on {args.env}, {args.seeds} seeds (medians)")
    for column in ("algo", "final eval return", "solved runs", "steps to threshold", "wall s"):
        table.add_column(column, justify="left" if column == "algo" else "right")
    for r in rows:
        table.add_row(r["algo"], f"{r['median_final_eval_return']:.1f}", f"{r['solved_runs']}/{r['seeds']}",
                      str(r["median_steps_to_threshold"]), f"{r['median_wall_s']:.1f}")
    Console().print(table)
    return 0


def learning_curve_figure(metrics: dict[str, Any], path: str | Path | None = None, *, ax: Any = None) -> Any:
    """Mean evaluation return against environment steps, with the solved threshold: one panel.

    ``metrics`` is a run's (``learning_curve``: ``(k, 2)`` pairs of steps and return, ``algo``, ``env`` and
    ``threshold``); drawn into ``ax`` when given; returns the matplotlib Figure, written to ``path`` if given.
    """
    from annrl.viz.style import finish, panel

    fig, ax = panel(ax, size=(5.0, 3.4))
    points = np.asarray(metrics["learning_curve"], dtype=float).reshape(-1, 2)
    ax.plot(points[:, 0], points[:, 1], marker="o", ms=3, label=f"{metrics['algo']} (evaluation mean)")
    if metrics.get("threshold") is not None:
        ax.axhline(metrics["threshold"], color="grey", ls="--", lw=1, label="solved")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return")
    ax.set_title(f"{metrics['algo']} on {metrics['env']}")
    ax.legend()
    return finish(fig, path)


def car_animation(result: Result, config: Any, path: Path, *, frame_every: int = 4, max_frames: int = 500) -> Path:
    """A GIF of one episode of the trained policy on the car's track."""
    from annrl.envs import CarTrackVecEnv
    from annrl.envs.render import AnimationRecorder, TrackRenderer

    env = CarTrackVecEnv(1, config.track, continuous=config.continuous, autoreset_mode="Disabled",
                         **(result.shape.sensors or {}))  # the sensors it was trained with
    renderer, recorder = TrackRenderer(env.track), AnimationRecorder(every=frame_every, max_frames=max_frames)
    obs, _ = env.reset(seed=config.seed)
    for _ in range(env.settings.max_episode_steps):
        recorder.add(renderer.frame(env.sim) if recorder.wants_frame() else None)
        obs, _, terminated, truncated, _ = env.step(result.act(obs))
        if terminated[0] or truncated[0]:
            break
    recorder.add(renderer.frame(env.sim))
    env.close()
    return recorder.save(path)
