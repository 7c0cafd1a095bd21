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
  cbp        the car with its grip changed every N steps (PPO, with and without continual backprop): return
             after each change vs before, fraction of dead units, average return

``--quick`` runs each part on a small budget (minutes on a busy 2-core machine); the numbers in
docs/neural_rl.md say which budget produced them.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from annrl.agents import dqn, hebbian, make_rng, ppo, rl2, udrl
from annrl.agents.common import EnvPool, EnvShape, make_env

QUICK = "--quick" in sys.argv


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
    command_figure(runs["command_following"], "docs/figures/udrl_command_following.png")
    return runs


def command_figure(following: dict, path: str) -> None:
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
    from annrl.agents.common import eval_seed
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
GRIPS = [9.0, 4.0, 12.0, 5.0, 9.0, 3.5, 12.0, 4.5, 9.0, 6.0, 12.0]


class GripSchedule(EnvPool):
    """An EnvPool whose cars get the next grip of ``GRIPS`` every ``change_every`` steps of the pool."""

    change_every = 20_000

    def step(self, actions, rng):
        self.count = getattr(self, "count", 0) + self.num_envs
        phase = (self.count // self.change_every) % len(GRIPS)
        for env in self.envs:
            if env.unwrapped.settings.grip != GRIPS[phase]:
                env.unwrapped.set_settings(grip=GRIPS[phase])
        return super().step(actions, rng)


def cbp_part() -> dict:
    changes = 4 if QUICK else 10
    GripSchedule.change_every = 20_000 if QUICK else 200_000
    total = GripSchedule.change_every * (changes + 1)
    report = {"change_every": GripSchedule.change_every, "changes": changes, "grips": GRIPS[: changes + 1]}
    ppo.EnvPool = GripSchedule  # the benchmark's only patch: PPO's environments follow the grip schedule
    try:
        for label, on in (("plain", False), ("continual_backprop", True)):
            report[label] = []
            for seed in (0, 1):
                # no annealing: a learning rate that decays to 0 cannot follow a task that keeps changing
                config = ppo.Config(env="annrl/CarTrack-v0", track="oval", total_steps=total, eval_every=total,
                                    seed=seed, anneal=False, continual_backprop=on, cbp_replacement_rate=1e-3,
                                    cbp_maturity=100, final_eval_episodes=5, eval_episodes=5)
                start = time.perf_counter()
                m = ppo.train(config, make_rng(seed)).metrics
                run = phase_returns(m["charts/episodic_return"], GripSchedule.change_every, changes)
                run.update(seed=seed, wall_s=time.perf_counter() - start, units=m["continual_backprop"])
                report[label].append(run)
                print(label, json.dumps(run), file=sys.stderr, flush=True)
    finally:
        ppo.EnvPool = EnvPool
    return report


def phase_returns(episodes: list, every: int, changes: int) -> dict:
    """Per grip phase: mean training return over its last quarter, and the steps after the change until the
    return (mean of 20 episodes) is back to 90% of the previous phase's."""
    steps, returns = np.array([e[0] for e in episodes]), np.array([e[1] for e in episodes])
    phases, regained = [], []
    for k in range(changes + 1):
        inside = (steps > k * every + 0.75 * every) & (steps <= (k + 1) * every)
        phases.append(float(returns[inside].mean()) if inside.any() else None)
    for k in range(1, changes + 1):
        after = (steps > k * every) & (steps <= (k + 1) * every)
        s, r = steps[after], returns[after]
        width = min(20, len(r))
        smooth = np.convolve(r, np.ones(width) / width, mode="valid") if width else r
        target = None if phases[k - 1] is None else 0.9 * phases[k - 1]
        hit = np.flatnonzero(smooth >= target) if target is not None and len(smooth) else []
        # smooth[i] is the mean of episodes i .. i + width - 1: regained when the last of them ends
        regained.append(int(s[hit[0] + width - 1] - k * every) if len(hit) else None)
    return {"phase_returns": phases, "steps_to_regain_90pct": regained, "average_return": float(returns.mean())}


PARTS = {"udrl": udrl_part, "rl2": rl2_part, "hebbian": hebbian_part, "cbp": cbp_part,
         "hebbian-plastic": lambda: hebbian_part(arms=("hebbian",)),
         "hebbian-static": lambda: hebbian_part(arms=("static",))}

if __name__ == "__main__":
    probe = make_env("CartPole-v1")
    EnvShape.of(probe, "CartPole-v1")
    probe.close()
    for part in [a for a in sys.argv[1:] if not a.startswith("--")] or list(PARTS):
        print(part, json.dumps(PARTS[part](), indent=1), flush=True)
