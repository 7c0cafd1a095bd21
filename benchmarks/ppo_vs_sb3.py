"""annrl's PPO against Stable-Baselines3's PPO on CartPole-v1: wall time and env steps until solved.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/ppo_vs_sb3.py [--seeds 0 1 2] [--budget 100000]``.
Needs ``pip install stable-baselines3`` (a benchmark-only dependency: annrl never imports it).

Both contestants use RL-Zoo's CartPole-v1 PPO recipe (8 envs x 32 steps, minibatch 256, 20 epochs,
gamma 0.98, GAE lambda 0.8, no entropy bonus, learning rate 1e-3 and clip range 0.2 both annealed
linearly over a 1e5-step budget, two 64-64 tanh networks) and the same evaluation protocol: every
``--eval-every`` env steps (after the update of the rollout that crossed the mark) the same
function, :func:`annrl.agents.evaluation.evaluate`, plays 20 greedy episodes; a mean return >= 475
stops the run. Wall time includes the evaluations. Seeds are run interleaved (annrl, SB3, annrl,
SB3, ...) so that the load of a shared machine falls on both alike. Both run single-threaded
(``OPENBLAS_NUM_THREADS=1`` for NumPy, ``torch.set_num_threads(1)`` for PyTorch).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from annrl.agents import make_rng, ppo
from annrl.agents.evaluation import evaluate

THRESHOLD = 475.0
EPISODES = 20


def run_annrl(seed: int, budget: int, eval_every: int) -> dict:
    config = ppo.Config(total_steps=budget, seed=seed, eval_every=eval_every, eval_episodes=EPISODES,
                        stop_at_threshold=True, final_eval_episodes=1)
    start = time.perf_counter()
    m = ppo.train(config, make_rng(seed)).metrics
    # construction, training and its evaluations (+ one closing episode that SB3 does not play)
    return {"wall_s": time.perf_counter() - start, "steps_to_threshold": m["steps_to_threshold"],
            "evaluations": len(m["learning_curve"])}


def run_sb3(seed: int, budget: int, eval_every: int) -> dict:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)

    def linear(start: float):
        return lambda progress_remaining: progress_remaining * start

    class EvaluateAndStop(BaseCallback):
        """Evaluate after each update that crossed an ``eval_every`` mark; stop once solved."""

        def __init__(self):
            super().__init__()
            self.evaluated_at, self.solved_at, self.evaluations = 0, None, 0

        def _on_rollout_start(self) -> None:  # called after the previous rollout's update
            steps = self.model.num_timesteps
            if steps // eval_every > self.evaluated_at // eval_every:
                self.evaluated_at, self.evaluations = steps, self.evaluations + 1
                episodes = evaluate(self.act, "CartPole-v1", EPISODES, 1_000_003 * (seed + 1) + steps)
                if episodes.returns.mean() >= THRESHOLD:
                    self.solved_at = steps

        def act(self, obs: np.ndarray) -> np.ndarray:
            return self.model.predict(obs, deterministic=True)[0]

        def _on_step(self) -> bool:
            return self.solved_at is None

    start = time.perf_counter()
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                learning_rate=linear(1e-3), clip_range=linear(0.2), seed=seed, device="cpu", verbose=0)
    callback = EvaluateAndStop()
    model.learn(total_timesteps=budget, callback=callback)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "steps_to_threshold": callback.solved_at,
            "evaluations": callback.evaluations}


def summary(runs: list[dict]) -> dict:
    solved = [r for r in runs if r["steps_to_threshold"] is not None]
    return {"solved": f"{len(solved)}/{len(runs)}",
            "median_wall_s": float(np.median([r["wall_s"] if r["steps_to_threshold"] else np.inf for r in runs])),
            "median_steps": float(np.median([r["steps_to_threshold"] or np.inf for r in runs]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=100_000)
    parser.add_argument("--eval-every", type=int, default=2048)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"annrl": [], "sb3": []}
    for i, seed in enumerate(args.seeds):
        order = [("annrl", run_annrl), ("sb3", run_sb3)]
        for name, run in order if i % 2 == 0 else order[::-1]:
            result = {"seed": seed, **run(seed, args.budget, args.eval_every)}
            runs[name].append(result)
            print(name, json.dumps(result), flush=True)
    report = {name: {**summary(r), "runs": r} for name, r in runs.items()}
    report["wall_ratio_sb3_over_annrl"] = report["sb3"]["median_wall_s"] / report["annrl"]["median_wall_s"]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
