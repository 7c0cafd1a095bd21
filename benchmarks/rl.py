"""Reinforcement-learning benchmarks (numbers, not pass/fail). Run: ``python benchmarks/rl.py [part ...]``.

Parts:
  xor-ga    generations per second of the GA on a 50-network 2-2-1 XOR population (PyGAD + torchga
            does about 50 generations/s on the same problem, figure quoted in issue #4)
  ppo       CartPole-v1: wall time and env steps until 20 evaluation episodes average >= 475, 3 seeds
  dqn       CartPole-v1: env steps until solved (target: < 50k), 3 seeds, then whether it stays solved:
            the run goes on to 100k steps and every evaluation after the first solved one is reported
  car-ga    GA on the S-bends (continuous), 5-minute budget, seeds 0-2; then laps on the tracks never seen
  car-ga-full-episodes
            the same with every training episode played to its end and scored by its return (the GA's
            recipe before the 7 s stall rule)
  car-es    the same for ES, seeds 0-2
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from annrl.agents import dqn, es, ga, make_rng, ppo
from annrl.agents.cli import run_training
from annrl.agents.evaluation import evaluate
from annrl.nn import MLP

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0.0, 1.0, 1.0, 0.0])


def xor_ga(generations: int = 3000) -> dict:
    net = MLP([2, 2, 1], hidden="sigmoid", population=50, rng=make_rng(0))
    algo = ga.GeneticAlgorithm(np.array(net.flat_), ga.Config(population=50, elite=2, mutation_rate=0.3))
    rng = make_rng(0)
    start = time.perf_counter()
    for _ in range(generations):
        net.flat_[...] = algo.ask(rng)  # the population, written into the one population-axis network
        fitness = -np.mean((net.forward(X)[0][:, :, 0] - Y) ** 2, axis=1)
        algo.tell(fitness)
    wall = time.perf_counter() - start
    result = {"generations_per_s": generations / wall, "best_mse": float(-fitness.max())}
    peer = pygad_rate()
    if peer is None:  # the figure for PyGAD + torchga on its machine
        return {**result, "peer_pygad_generations_per_s": 50.0, "peer": "the issue's figure (PyGAD not installed)",
                "speedup": result["generations_per_s"] / 50.0}
    return {**result, "peer_pygad_generations_per_s": peer, "peer": "PyGAD + torchga, same run",
            "speedup": result["generations_per_s"] / peer}


def pygad_rate(generations: int = 100) -> float | None:
    """Generations/s of PyGAD's torchga recipe on the same 50-network 2-2-1 XOR population (benchmark-only
    peer: ``pip install pygad``; None when it is not installed)."""
    try:
        import pygad
        import pygad.torchga
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 1))
    population = pygad.torchga.TorchGA(model=model, num_solutions=50)
    inputs, targets = torch.tensor(X, dtype=torch.float32), torch.tensor(Y, dtype=torch.float32)[:, None]

    def fitness(ga_instance, solution, index):
        model.load_state_dict(pygad.torchga.model_weights_as_dict(model=model, weights_vector=solution))
        with torch.no_grad():
            return -float(torch.mean((model(inputs) - targets) ** 2))

    search = pygad.GA(num_generations=generations, num_parents_mating=10,
                      initial_population=population.population_weights, fitness_func=fitness, keep_elitism=2,
                      mutation_percent_genes=30, random_seed=0, suppress_warnings=True)
    start = time.perf_counter()
    search.run()
    return generations / (time.perf_counter() - start)


def solve_cartpole(module, seeds=(0, 1, 2), steps: int = 100_000) -> dict:
    runs = []
    for seed in seeds:
        config = module.Config(total_steps=steps, seed=seed, stop_at_threshold=True, eval_episodes=20)
        start = time.perf_counter()
        m = module.train(config, make_rng(seed)).metrics
        runs.append({"seed": seed, "wall_s": time.perf_counter() - start, "steps_to_threshold": m["steps_to_threshold"],
                     "final_eval_return": m["final_eval_return"]})
    solved = [r for r in runs if r["steps_to_threshold"] is not None]
    return {"runs": runs, "solved": len(solved),
            "median_wall_s": float(np.median([r["wall_s"] for r in runs])),
            "median_steps_to_threshold": float(np.median([r["steps_to_threshold"] or np.inf for r in runs]))}


def car(algo: str, budget_steps: int = 3_000_000, seed: int = 0, **settings) -> dict:
    """Each algorithm's defaults (GA and ES: 7 s stall rule and progress fitness in training episodes)."""
    module = {"ga": ga, "es": es}[algo]
    config = module.Config(env="annrl/CarTrack-v0", track="s_bends", continuous=True, total_steps=budget_steps,
                           population=64, eval_every=100_000, eval_episodes=5, stop_at_threshold=True, seed=seed,
                           **settings)
    start = time.perf_counter()
    variant = "".join(f"-{key}-{value}" for key, value in settings.items())
    result = run_training(algo, config, out=f"runs/bench-car-{algo}{variant}-{seed}", checkpoint_every="off")
    wall = time.perf_counter() - start
    unseen = {}
    for track in ("oval", "rounded_rectangle", "hairpins", "random:1", "random:2"):
        episodes = evaluate(result.act, config.env, 10, 7, track=track, continuous=True)
        unseen[track] = {"laps": float(episodes.laps.mean()), "mean_return": float(episodes.returns.mean())}
    m = result.metrics
    return {"seed": seed, "wall_s": wall, "generations": m["generations"], "env_steps": m["env_steps"],
            "s_bends_laps": m["final_eval_laps"], "s_bends_success_rate": m["final_eval_success_rate"],
            "generations_per_s": m["timing"]["generations_per_s"], "unseen_tracks": unseen}


def car_seeds(algo: str, seeds=(0, 1, 2), **settings) -> dict:
    runs = [car(algo, seed=seed, **settings) for seed in seeds]
    return {"runs": runs, "median_wall_s": float(np.median([r["wall_s"] for r in runs])),
            "all_3_laps_no_crash": all(r["s_bends_success_rate"] == 1.0 for r in runs)}


def dqn_stays_solved(seeds=(0, 1, 2), steps: int = 100_000, eval_every: int = 2500) -> dict:
    """Steps to the first 20-episode mean >= 475, and the evaluations after it (no stop at the threshold)."""
    runs = []
    for seed in seeds:
        config = dqn.Config(total_steps=steps, seed=seed, eval_every=eval_every, eval_episodes=20)
        start = time.perf_counter()
        m = dqn.train(config, make_rng(seed)).metrics
        solved_at = m["steps_to_threshold"]
        after = [r for s, r in m["learning_curve"] if solved_at is not None and s > solved_at]
        runs.append({"seed": seed, "wall_s": time.perf_counter() - start, "steps_to_threshold": solved_at,
                     "evals_after": len(after), "solved_share_after": float(np.mean(np.array(after) >= 475)) if after
                     else None, "min_after": min(after, default=None), "final_eval_return": m["final_eval_return"],
                     "curve": [[int(s), round(r, 1)] for s, r in m["learning_curve"]]})
    return {"runs": runs, "median_steps_to_threshold": float(np.median([r["steps_to_threshold"] or np.inf
                                                                        for r in runs]))}


PARTS = {"xor-ga": xor_ga, "ppo": lambda: solve_cartpole(ppo), "dqn": dqn_stays_solved,
         "car-ga": lambda: car_seeds("ga"), "car-es": lambda: car_seeds("es"),
         "car-ga-full-episodes": lambda: car_seeds("ga", stall_time=0.0, fitness="return")}

if __name__ == "__main__":
    for part in sys.argv[1:] or list(PARTS):
        print(part, json.dumps(PARTS[part](), indent=1), flush=True)
