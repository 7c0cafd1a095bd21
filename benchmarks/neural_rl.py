"""Learning rules inside the network (issue 10): numbers, not pass/fail.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/neural_rl.py [part ...] [--quick]``

Parts:
  udrl       CartPole-v1: env steps until 20 greedy episodes average >= 475 (UDRL vs DQN vs PPO, same seeds),
             then how closely the achieved return follows commanded returns 50..500
  rl2        unseen 10-armed Bernoulli bandits, 100 pulls: regret of RL^2 (frozen GRU) vs epsilon-greedy with
             the best fixed epsilon (searched on the same tasks; with and without trying every arm first)
  hebbian    the car: evolved Hebbian rules (random weights every episode) vs static weights evolved by the
             same ES and budget (both trained with the right-hand rays failing at step 300 of every episode);
             progress, laps, and recovery after the failure
  cbp        the car with its grip changed every 200k steps, 10 changes (PPO, with and without continual
             backprop): greedy evaluations every 5k steps; per change the steps until 90% of the pre-change
             return is back, fraction of dead units, average return (``cbp-plain`` / ``cbp-cbp``: one arm;
             ``cbp-report FILE...``: saved outputs of those as one table, and the figure)

``cbp`` takes ``--seed N`` (default 0), ``--cbp-maturity M`` (gradient steps, default 10000), PPO's
``--ent-coef C`` (entropy bonus, default 0.01), ``--lr`` (default 3e-4) and ``--adam-betas B1,B2`` (default
0.9,0.999), ``--changes K`` (default 10; fewer for a quick look at the first changes) and ``--grips G0,G1,...``
(the grip of every phase; default high first, ``12,2.5,12,3,...``). ``cbp-report`` takes ``--figure-tag TAG`` to
draw its figures as ``cbp_*_TAG.png``, beside those of the default schedule.
``--quick`` runs each part on a small budget (minutes on a busy 2-core machine); the numbers in
docs/neural_rl.md say which budget produced them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from annrl.agents import dqn, hebbian, make_rng, ppo, rl2, udrl
from annrl.agents.envs import EnvShape, make_env

_parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
_parser.add_argument("parts", nargs="*", help="parts to run (default: all)")
_parser.add_argument("--quick", action="store_true", help="small budgets")
_parser.add_argument("--seed", type=int, default=0, help="seed of the cbp runs")
_parser.add_argument("--cbp-maturity", type=int, default=10_000, help="continual backprop's maturity (gradient steps)")
_parser.add_argument("--ent-coef", type=float, default=0.01, help="PPO's entropy bonus in the cbp runs")
_parser.add_argument("--lr", type=float, default=3e-4, help="PPO's learning rate in the cbp runs")
_parser.add_argument("--adam-betas", default="0.9,0.999", help="PPO's Adam decays in the cbp runs, B1,B2")
_parser.add_argument("--changes", type=int, default=10, help="grip changes in the cbp runs")
_parser.add_argument("--grips", default=None, help="the grip of every phase in the cbp runs, G0,G1,...")
_parser.add_argument("--figure-tag", default="", help="cbp-report: draw docs/figures/cbp_*_TAG.png")
ARGS = _parser.parse_args()
QUICK = ARGS.quick
FIGURES = Path(__file__).resolve().parent.parent / "docs" / "figures"


# -- Upside-Down RL ---------------------------------------------------------------------------------
def udrl_part(seeds=(0,)) -> dict:
    steps = 150_000 if QUICK else 500_000
    runs = {}
    for name, module, budget in (("udrl", udrl, steps), ("dqn", dqn, 50_000), ("ppo", ppo, 100_000)):
        extra = {"eval_return": 500.0, "eval_horizon": 500.0} if name == "udrl" else {}
        runs[name] = []
        for seed in seeds:
            config = module.Config(total_steps=budget, seed=seed, stop_at_threshold=True, eval_episodes=20, **extra)
            start = time.perf_counter()
            result = module.train(config, make_rng(seed))
            runs[name].append({"seed": seed, "steps_to_475": result.metrics["steps_to_threshold"],
                               "final_eval_return": result.metrics["final_eval_return"],
                               "wall_s": time.perf_counter() - start})
            if name == "udrl":
                runs["command_following"] = command_following(result, config)
    command_figure(runs["command_following"], FIGURES / "udrl_command_following.png")
    return runs


def command_figure(following: dict, path: Path) -> None:
    """Achieved against commanded return, with the diagonal a perfect follower would sit on."""
    from annrl.viz.style import figure, save

    fig, ax = figure(size=(3.6, 3.2))
    ax.plot([0, 500], [0, 500], color="grey", ls="--", lw=1, label="achieved = commanded")
    ax.plot(following["commanded"], following["achieved"], marker="o", label="UDRL, greedy, 20 episodes")
    ax.set_xlabel("commanded return (and horizon)")
    ax.set_ylabel("achieved return")
    ax.set_title("UDRL on CartPole-v1")
    ax.legend(fontsize=7)
    save(fig, path)


def command_following(result, config) -> dict:
    """Greedy return achieved for commanded returns 50..500 (horizon = the return, as on CartPole)."""
    net = result.extra["behaviour"]
    commanded = [50, 100, 200, 300, 400, 500]
    achieved = [float(udrl.evaluate_command(net, (r, r), 20, 99, config).mean()) for r in commanded]
    return {"commanded": commanded, "achieved": achieved,
            "correlation": float(np.corrcoef(commanded, achieved)[0, 1]),
            "mean_abs_error": float(np.mean(np.abs(np.array(achieved) - commanded)))}


# -- RL^2 on bandits ----------------------------------------------------------------------------------
def rl2_part() -> dict:
    config = rl2.Config(total_steps=7_680_000 if QUICK else 19_200_000, lifetimes=128, hidden="32", gamma=0.8,
                        seed=0, eval_every=1_280_000, final_eval_episodes=2000)
    start = time.perf_counter()
    result = rl2.train(config, make_rng(0))
    wall = time.perf_counter() - start
    test = result.metrics["meta_test"]
    # the same unseen tasks: meta_test draws them from make_rng(eval_seed(config, -1)) first
    from annrl.agents.evaluation import eval_seed
    from annrl.agents.tasks import BanditTasks

    tasks = BanditTasks(config.final_eval_episodes, config.arms)
    tasks.reset(make_rng(eval_seed(config, -1)))
    baselines = {}
    for first in (False, True):
        for eps in (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3):
            regret = rl2.epsilon_greedy_regret(tasks.probabilities_, config.lifetime, eps, make_rng(1),
                                               try_each_first=first)
            baselines[f"eps={eps}{' try-each-first' if first else ''}"] = float(regret.mean())
    best = min(baselines, key=baselines.get)
    return {"wall_s": wall, "env_steps": result.metrics["env_steps"], "rl2_regret": test["mean_regret"],
            "rl2_regret_sem": test["regret_sem"], "rl2_reward_per_pull_by_block": test["reward_per_step_by_block"],
            "random_regret": float(np.mean(tasks.probabilities_.max(1) - tasks.probabilities_.mean(1)) * 100),
            "epsilon_greedy": baselines, "best_epsilon_greedy": {best: baselines[best]},
            "rl2_beats_best_epsilon_greedy": test["mean_regret"] < baselines[best]}


# -- Hebbian vs static on the car -------------------------------------------------------------------
def hebbian_part(budget: int | None = None, arms: tuple[str, ...] = ("hebbian", "static")) -> dict:
    """Plastic rules vs static weights, the same ES and budget, both trained with the rays failing at step 300."""
    budget = budget or (400_000 if QUICK else 2_000_000)
    at, report = 300, {"budget_steps": budget, "failure": {"rays": [0, 1], "at_step": 300}}
    for arm in arms:
        config = hebbian.Config(track="oval", total_steps=budget, population=32, eval_every=budget, eval_episodes=8,
                                final_eval_episodes=16, seed=0, hidden="8", plastic=arm == "hebbian",
                                failure_rays="0,1", failure_at=at)
        start = time.perf_counter()
        result = hebbian.train(config, make_rng(0))
        report[arm] = failure_run(lambda n, r=result, c=config: plastic_act(r, c, n), config, at, 800)
        report[arm].update(wall_s=time.perf_counter() - start, final_eval_return=result.metrics["final_eval_return"],
                           final_eval_laps=result.metrics.get("final_eval_laps"))
        print(arm, json.dumps(report[arm]), file=sys.stderr, flush=True)
    return report


def plastic_act(result, config, n):
    net = hebbian.PlasticNetwork(result.extra["sizes"], result.extra["plastic"])
    net.set_rules(result.extra["rules"], n)
    net.reset_weights(make_rng(123), config.init_scale)
    return hebbian.plastic_policy(net, result.shape, config)


def failure_run(act_factory, config, at: int, steps: int, n: int = 16) -> dict:
    """Progress of ``n`` cars with and without the right-hand rays failing at step ``at``."""
    from annrl.envs import CarTrackVecEnv

    out = {}
    for label, failing in (("intact", False), ("sensor_failure", True)):
        env = CarTrackVecEnv(n, config.track, continuous=True, autoreset_mode="Disabled", max_episode_steps=steps)
        if failing:
            env = hebbian.SensorFailure(env, rays=[0, 1], at_step=at)
        progress, alive = hebbian.progress_trace(env, act_factory(n), 7, steps)
        env.close()
        out[label] = {"progress_at_end": float(progress[:, -1].mean()), "alive_at_end": float(alive[:, -1].mean())}
        if failing:
            rec = hebbian.recovery_steps(progress, alive, at)
            out[label]["recovered_within_200"] = float(np.mean(rec <= 200))
            out[label]["median_recovery_steps"] = float(np.median(rec))
    return out


# -- continual backprop on the non-stationary car -----------------------------------------------------
#: high and low grips (m/s^2) in turn: every other change asks the car to slow down for the bends (measured on
#: the oval: a policy that learnt at grip 9 still drove 3 clean laps at 4; one that learnt at 12 crashed at 2.5)
GRIPS = ARGS.grips or "12,2.5,12,3,12,2.5,12,3,12,2.5,12"
#: PPO for the car (the CartPole defaults collapse here, see docs/neural_rl.md): continuous
#: (steer, throttle), so the mean action is a sensible deterministic driver; bigger rollouts, the
#: usual lr 3e-4, a constant learning rate (one that decays to 0 cannot follow a changing world), and an
#: entropy bonus (0.01 by default; without it both arms missed the 50k recovery window more often)
CAR_PPO = dict(env="annrl/CarTrack-v0", track="oval", continuous=True, num_envs=16, num_steps=128,
               minibatch_size=512, update_epochs=10, lr=ARGS.lr, gamma=0.99, gae_lambda=0.95, reward_scale=0.1,
               anneal=False, ent_coef=ARGS.ent_coef,
               **dict(zip(("adam_beta1", "adam_beta2"), map(float, ARGS.adam_betas.split(",")), strict=True)))
#: Dohare et al.'s decay and maturity; about one replacement per layer every 160 gradient steps (8k env
#: steps); a new unit is protected for 10,000 gradient steps (about 500k env steps)
CBP = dict(cbp_replacement_rate=1e-4, cbp_maturity=ARGS.cbp_maturity, cbp_decay=0.99)


def cbp_part(seeds=(ARGS.seed,), arms=("plain", "continual_backprop")) -> dict:
    """PPO with and without continual backprop while the grip changes; greedy evaluations every 5k steps."""
    every, changes = (20_000, 4) if QUICK else (200_000, ARGS.changes)
    report = {"change_every": every, "changes": changes, "grips": GRIPS, "ppo": CAR_PPO, "cbp": CBP}
    for label in arms:
        report[label] = []
        for seed in seeds:
            config = ppo.Config(**CAR_PPO, **CBP, total_steps=every * (changes + 1), grip_every=every, grips=GRIPS,
                                eval_every=5_000, eval_episodes=10, final_eval_episodes=10, seed=seed,
                                continual_backprop=label == "continual_backprop")
            start = time.perf_counter()
            m = ppo.train(config, make_rng(seed), on_eval=lambda step, ret, arm=label: print(
                f"{arm} {step} {ret:.1f}", file=sys.stderr, flush=True)).metrics
            run = dict(m["grip_recovery"])  # per change, within grip.recovery's window (every // 4)
            report["window"] = run["window"]
            episodes = [r for _, r in m["charts/episodic_return"]]
            run.update(seed=seed, wall_s=time.perf_counter() - start, units=m["continual_backprop"],
                       average_training_return=float(np.mean(episodes)), learning_curve=m["learning_curve"])
            report[label].append(run)
            print(label, json.dumps({k: v for k, v in run.items() if k != "learning_curve"}), file=sys.stderr,
                  flush=True)
    if len(arms) == 2:
        cbp_figure(report, FIGURES / "cbp_grip_changes.png")
    return report


def cbp_report(paths: list[str]) -> str:
    """Saved ``cbp-plain`` / ``cbp-cbp`` outputs (``python benchmarks/neural_rl.py cbp-cbp --seed 1 > FILE``) as one
    markdown table: per run, the steps to 90% after each change (bold: outside the window) and how many are
    within it. Redraws the figures: the first run of each arm over time, and every seed of both arms side by side."""
    reports = []
    for path in paths:
        with open(path) as file:
            text = file.read()
        reports.append(json.loads(text[text.index("{"):]))  # after the part's name
    changes = max(report["changes"] for report in reports)
    lines = ["| arm | seed | first grips | maturity | ent_coef | lr | Adam betas | "
             + " | ".join(f"change {k}" for k in range(1, changes + 1)) + " | within 50k | mean greedy return |",
             "|" + "---|" * (changes + 9)]
    runs: dict[str, list] = {"plain": [], "continual_backprop": []}
    for report in reports:
        ppo_settings = report["ppo"]
        # runs saved before the betas were a setting used Adam's defaults
        betas = f"{ppo_settings.get('adam_beta1', 0.9)}, {ppo_settings.get('adam_beta2', 0.999)}"
        first_grips = " -> ".join(report["grips"].split(",")[:2])
        for arm, name in (("plain", "PPO"), ("continual_backprop", "PPO + CBP")):
            for run in report.get(arm, []):
                runs[arm].append(run)
                steps = [_steps(r) for r in run["changes"]]
                maturity = report["cbp"]["cbp_maturity"] if arm != "plain" else "-"
                lines.append(f"| {name} | {run['seed']} | {first_grips} | {maturity} | "
                             f"{ppo_settings.get('ent_coef', 0.0)} | {ppo_settings['lr']:g} | {betas} | "
                             f"{' | '.join(steps)} | "
                             f"{sum(r['met'] for r in run['changes'])}/{len(steps)} | "
                             f"{run['average_eval_return']:.1f} |")
    if runs["plain"] and runs["continual_backprop"]:
        tag = f"_{ARGS.figure_tag}" if ARGS.figure_tag else ""
        cbp_figure({**report, **runs}, FIGURES / f"cbp_grip_changes{tag}.png")
        cbp_seeds_figure(runs, FIGURES / f"cbp_seeds{tag}.png")
    return "\n".join(lines)


def _steps(change: dict) -> str:
    if change["steps_to_90pct"] is None:
        return "**never**"
    text = f"{change['steps_to_90pct'] / 1000:.1f}k"
    return text if change["met"] else f"**{text}**"


def cbp_figure(report: dict, path: Path) -> None:
    """Greedy evaluation return over the run, both arms, with the grip of every phase."""
    from annrl.viz.style import figure, save

    fig, ax = figure(size=(7.0, 3.0))
    for label, name in (("plain", "PPO"), ("continual_backprop", "PPO + continual backprop")):
        curve = np.array(report[label][0]["learning_curve"])
        ax.plot(curve[:, 0] / 1e6, curve[:, 1], lw=0.8, label=name)
    grips, every = report["grips"].split(","), report["change_every"]
    for k in range(report["changes"] + 1):
        ax.axvline(k * every / 1e6, color="grey", lw=0.5, ls=":")
        ax.text((k + 0.5) * every / 1e6, 330, grips[k], ha="center", fontsize=7)
    ax.set_ylim(0, 345)
    ax.set_xlabel("environment steps (millions); grip (m/s^2) of each phase on top")
    ax.set_ylabel("greedy return, 10 episodes")
    ax.legend(fontsize=7, loc="lower left")
    save(fig, path)


def cbp_seeds_figure(runs: dict[str, list], path: Path) -> None:
    """Per seed, both arms side by side: the mean greedy return over the run and the changes regained in time."""
    from annrl.viz.style import figure, save

    fig, (left, right) = figure(2, size=(7.0, 2.8))
    arms = {"plain": "PPO", "continual_backprop": "PPO + continual backprop"}
    seeds = sorted({run["seed"] for label in arms for run in runs[label]})
    for offset, (label, name) in zip((-0.15, 0.15), arms.items(), strict=True):
        by_seed = {run["seed"]: run for run in runs[label]}
        xs = [s + offset for s in seeds if s in by_seed]
        left.plot(xs, [by_seed[s]["average_eval_return"] for s in seeds if s in by_seed], "o", label=name)
        right.bar(xs, [sum(c["met"] for c in by_seed[s]["changes"]) for s in seeds if s in by_seed], width=0.3)
    for ax, title in ((left, "mean greedy return over the run"), (right, "changes regained within 50k")):
        ax.set_xticks(seeds)
        ax.set_xlabel("seed")
        ax.set_title(title, fontsize=8)
    right.set_ylim(0, max(len(run["changes"]) for label in arms for run in runs[label]) + 0.5)
    low, high = left.get_ylim()
    left.set_ylim(low, high + 0.35 * (high - low))  # room for the legend above the points
    left.legend(fontsize=7, loc="upper left", ncol=2)
    save(fig, path)


PARTS = {"udrl": udrl_part, "rl2": rl2_part, "hebbian": hebbian_part, "cbp": cbp_part,
         "cbp-plain": lambda: cbp_part(arms=("plain",)),
         "cbp-cbp": lambda: cbp_part(arms=("continual_backprop",)),
         "hebbian-plastic": lambda: hebbian_part(arms=("hebbian",)),
         "hebbian-static": lambda: hebbian_part(arms=("static",))}

if __name__ == "__main__":
    probe = make_env("CartPole-v1")
    EnvShape.of(probe, "CartPole-v1")
    probe.close()
    if ARGS.parts[:1] == ["cbp-report"]:
        sys.exit(print(cbp_report(ARGS.parts[1:])))
    for part in ARGS.parts or list(PARTS):
        print(part, json.dumps(PARTS[part](), indent=1), flush=True)
