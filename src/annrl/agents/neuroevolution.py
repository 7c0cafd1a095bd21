"""The loop the genetic algorithm and the evolution strategy share: ask, evaluate, tell.

A strategy proposes ``P`` parameter vectors as one ``(P, D)`` array (``ask(rng)``); they are copied
into ONE population-axis network (``MLP(..., population=P)``), which drives ``P x E`` environments
of one vector environment in lockstep: one batched forward per time step for the whole
population. The mean return of each network's ``E`` episodes is its fitness (``tell(fitness)``).

Checkpoints are written between generations, where no episode is running: every generation
resets its environments from a seed drawn from the run's generator, so the strategy's arrays and
that generator are the whole state, and a resumed run continues bit for bit.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from annrl.agents.common import (
    BaseConfig,
    Checkpoints,
    Curve,
    EnvShape,
    ProgressBar,
    Result,
    base_table,
    draw_seed,
    eval_seed,
    evaluate,
    final_metrics,
    is_car,
    make_vector_env,
    parse_sizes,
    run_episodes,
    setting,
    to_actions,
)
from annrl.nn import MLP

FITNESSES = ("return", "progress")


@dataclass
class EvolutionConfig(BaseConfig):
    """Settings shared by the population methods."""

    hidden: str = setting("16", "hidden layer widths of the policy network, comma-separated (tanh units).")
    population: int = setting(64, "networks per generation, evaluated as one population-axis network.")
    episodes_per_member: int = setting(1, "episodes each network plays per generation; fitness is their mean return.")


def evolution_table() -> dict[str, list[Any]]:
    from annrl.validate import POSITIVE_INT, Interval

    return {**base_table(), "population": [Interval(int, 2, None, closed="left")],
            "episodes_per_member": POSITIVE_INT}


@dataclass
class CarTrainingSettings:
    """How a population's training episodes on the car differ from the car's own (see
    :func:`training_settings`); a strategy's ``Config`` that mixes this in (GA and ES do) uses them."""

    stall_time: float = setting(7.0, "car only: a training episode ends after this many simulated seconds without a "
                                     "new checkpoint (0: never); evaluation episodes never end so.")
    fitness: str = setting("progress", "return (mean episode return) or progress (car only: the distance driven "
                                       "along the track, 100 a lap, i.e. the return without the crash penalty).")


def car_training_table() -> dict[str, list[Any]]:
    from annrl.validate import NON_NEGATIVE, Options

    return {"stall_time": NON_NEGATIVE, "fitness": [Options(FITNESSES)]}


class Strategy(Protocol):
    """Ask/tell over one ``(P, D)`` array."""

    def ask(self, rng: np.random.Generator) -> np.ndarray: ...

    def tell(self, fitness: np.ndarray) -> None: ...

    def solution(self) -> np.ndarray: ...

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]: ...

    def restore(self, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None: ...


def policy_network(config: EvolutionConfig, shape: EnvShape, population: int, rng: np.random.Generator) -> MLP:
    """The policy: tanh hidden units; linear outputs scored by argmax, or tanh outputs for a Box."""
    sizes = [shape.obs_dim, *parse_sizes(config.hidden), shape.n_outputs]
    output = "identity" if shape.discrete else "tanh"
    return MLP(sizes, hidden="tanh", output=output, population=population, init="xavier", rng=rng)


def training_settings(config: EvolutionConfig) -> dict[str, Any]:
    """Car settings of the training episodes only (evaluation plays the car's defaults).

    ``stall_time`` ends a car that reaches no new checkpoint for that long: a car that stands still
    then scores 0 in 140 steps (7 s) instead of playing all 3,000. ``fitness="progress"`` drops the crash
    penalty, so that driving 20 m into a wall beats standing still. With the penalty, every network of
    a young population that moves soon crashes and scores below the ones that stand still, and an
    evolution strategy's mean settles on a car that does not move.
    """
    if not is_car(config.env) or not isinstance(config, CarTrainingSettings):
        return {}
    settings: dict[str, Any] = {"stall_time": float(config.stall_time)} if config.stall_time > 0 else {}
    if config.fitness == "progress":
        settings["crash_penalty"] = 0.0
    return settings


def training_env(config: EvolutionConfig, n: int) -> Any:
    """The ``n`` environments a population plays (see :func:`training_settings`)."""
    settings = training_settings(config)
    if settings:
        from annrl.envs import CarTrackVecEnv

        return CarTrackVecEnv(n, config.track, continuous=config.continuous, autoreset_mode="Disabled", **settings)
    return make_vector_env(config.env, n, track=config.track, continuous=config.continuous)


class PopulationEvaluator:
    """Scores a ``(P, D)`` population on ``P x E`` environments with one population-axis network.

    Parameters
    ----------
    config : EvolutionConfig
    net : MLP
        A network with ``population = P``; its parameters are overwritten by :meth:`fitness`.
    shape : EnvShape
    """

    def __init__(self, config: EvolutionConfig, net: MLP, shape: EnvShape):
        self.net, self.shape = net, shape
        self.P, self.E = net.population, config.episodes_per_member
        self.mode = "argmax" if shape.discrete else "scale"
        self.env = training_env(config, self.P * self.E)

    def act(self, obs: np.ndarray) -> np.ndarray:
        outputs = self.net.predict(np.reshape(obs, (self.P, self.E, -1)))
        return to_actions(np.reshape(outputs, (self.P * self.E, -1)), self.shape, self.mode)

    def fitness(self, thetas: np.ndarray, seed: int) -> tuple[np.ndarray, int, np.ndarray | None]:
        """Mean return of each network ``(P,)``, environment steps used, laps ``(P,)`` on the car."""
        self.net.set_flat(thetas)
        episodes = run_episodes(self.env, self.act, seed)
        returns = episodes.returns.reshape(self.P, self.E).mean(axis=1)
        laps = None if episodes.laps is None else episodes.laps.reshape(self.P, self.E).mean(axis=1)
        return returns, int(episodes.lengths.sum()), laps

    def close(self) -> None:
        self.env.close()


def evolve(algo: str, config: EvolutionConfig, strategy_factory: Any, rng: np.random.Generator, *,
           out: str | Path | None = None, resume: bool = False, checkpoint_every: Any = None, stop: Any = None,
           progress: bool = False, ray: str | None = None) -> Result:
    """Run ``strategy_factory(initial (P, D), rng)`` until ``config.total_steps`` environment steps.

    ``ray`` ("local" or a cluster address) evaluates the population in shards on Ray workers,
    with the same results (see :mod:`annrl.agents.ray_shards`).
    Returns the :class:`~annrl.agents.common.Result` with the strategy's solution as the policy.
    """
    from annrl.io import rng_from_state, rng_state

    shape = EnvShape.probe(config)
    net = policy_network(config, shape, config.population, rng)
    strategy = strategy_factory(np.array(net.flat_), rng)
    policy = net.select([0])
    checkpoints = Checkpoints(out, algo, asdict(config), every=checkpoint_every, resume=resume, stop=stop)
    curve, generation, env_steps = Curve(shape.threshold), 0, 0
    restored = checkpoints.restore()
    if restored is not None:
        generation, tensors, state = restored
        strategy.restore(tensors, state["strategy"])
        rng = rng_from_state(state["rng"])
        env_steps = state["env_steps"]
        curve.restore(state["curve"])

    def snapshot() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        tensors, meta = strategy.state()
        return tensors, {"strategy": meta, "rng": rng_state(rng), "env_steps": env_steps, "curve": curve.state()}

    def act(obs: np.ndarray) -> np.ndarray:
        return to_actions(policy.predict(np.asarray(obs, dtype=np.float64))[0], shape, evaluator.mode)

    if ray is None:
        evaluator = PopulationEvaluator(config, net, shape)
    else:
        from annrl.agents.ray_shards import RayEvaluator

        evaluator = RayEvaluator(config, shape, ray)
    bar = ProgressBar(config.total_steps, f"{algo} {config.env}", progress)
    start, generations_run = time.perf_counter(), 0
    try:
        while env_steps < config.total_steps and not (config.stop_at_threshold and curve.solved):
            thetas = strategy.ask(rng)
            fitness, steps, _ = evaluator.fitness(thetas, draw_seed(rng))
            strategy.tell(fitness)
            before, env_steps, generation = env_steps, env_steps + steps, generation + 1
            generations_run += 1
            curve.episodes.append([env_steps, float(fitness.max())])
            curve.add_loss("mean_fitness", env_steps, float(fitness.mean()))
            if env_steps // config.eval_every > before // config.eval_every or env_steps >= config.total_steps:
                policy.set_flat(strategy.solution())
                result = evaluate(act, config.env, config.eval_episodes, eval_seed(config, generation),
                                  track=config.track, continuous=config.continuous)
                curve.add_eval(env_steps, float(result.returns.mean()))
            bar.update(min(env_steps, config.total_steps), float(fitness.max()))
            checkpoints.after(generation, snapshot)
    finally:
        bar.close()
        evaluator.close()
    wall = time.perf_counter() - start
    policy.set_flat(strategy.solution())
    final = evaluate(act, config.env, config.final_eval_episodes, eval_seed(config, -1), track=config.track,
                     continuous=config.continuous)
    checkpoints.after(generation, snapshot, final=True)
    metrics = final_metrics(algo, config, curve, env_steps, final)
    metrics["generations"] = generation
    metrics["timing"] = {"wall_s": wall, "generations_per_s": generations_run / max(wall, 1e-9)}
    return Result(policy, metrics, shape, evaluator.mode, {"strategy": strategy})
