"""The loop the genetic algorithm and the evolution strategy share: ask, evaluate, tell.

A strategy proposes ``P`` parameter vectors as one ``(P, D)`` array (``ask(rng)``); they are copied
into ONE population-axis network (``MLP(..., population=P)``), which drives ``P x E`` environments
of one vector environment in lockstep: one batched forward per time step for the whole
population. The mean return of each network's ``E`` episodes is its fitness (``tell(fitness)``).

:func:`evolve` is that loop for any strategy and any way of scoring (GA and ES through
:func:`train_population`; the evolved Hebbian rules of :mod:`annrl.agents.hebbian`). Checkpoints
are written between generations, where no episode is running: every generation resets its
environments from a seed drawn from the run's generator, so the strategy's arrays and that
generator are the whole state, and a resumed run continues bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from annrl.agents.envs import EnvShape, car_sensors, draw_seed, is_car, make_vector_env, to_actions
from annrl.agents.evaluation import Episodes, eval_seed, evaluate, run_episodes
from annrl.agents.run import Result, Run
from annrl.agents.settings import ENV_BYTES, BaseConfig, base_table, network_bytes, parse_sizes
from annrl.agents.track_plan import TrackPlan, clean_share, plan_of, tracks_for
from annrl.config import setting
from annrl.errors import InputError
from annrl.nn import MLP
from annrl.validate import check_sizes

FITNESSES = ("return", "progress")


@dataclass
class EvolutionConfig(BaseConfig):
    """Settings shared by the population methods."""

    hidden: str = setting("16", "hidden layer widths of the policy network, comma-separated (tanh units).")
    population: int = setting(64, "networks per generation, evaluated as one population-axis network.")
    episodes_per_member: int = setting(1, "episodes each network plays per generation; fitness is their mean return.")


def evolution_table() -> dict[str, list[Any]]:
    """The checks of an evolution strategy's settings: those of every agent, population, episodes per member.

    See :func:`~annrl.agents.settings.base_table` for the shared ones.
    """
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
    kernel: str = setting("auto", "car only: compiled plays each generation's episodes in one Numba kernel (each "
                                  "network drives its own car; same results, pip install \"annrl[fast]\"), numpy "
                                  "steps all cars with NumPy, auto takes compiled for runs of at least 1e6 steps "
                                  "when Numba is installed.")


def car_training_table() -> dict[str, list[Any]]:
    """The checks of :class:`CarTrainingSettings`' fields (``stall_time``, ``fitness``, ``kernel``)."""
    from annrl.nn.compiled import KERNELS
    from annrl.validate import NON_NEGATIVE, Options

    return {"stall_time": NON_NEGATIVE, "fitness": [Options(FITNESSES)], "kernel": [Options(KERNELS)]}


#: ``kernel="auto"`` plays compiled from this many training steps: loading the kernels from Numba's disk
#: cache costs ~2 s, compiling them the first time ~30 s of CPU, what the NumPy path spends on ~1e6 steps
AUTO_MIN_STEPS = 1_000_000


def choose_kernel(config: EvolutionConfig, env: Any, net: MLP) -> tuple[str, str | None]:
    """``("numpy" or "compiled", why not compiled or None)``: how :class:`PopulationEvaluator` plays.

    ``compiled`` refuses in one line what it cannot honour (no Numba: ``pip install "annrl[fast]"``);
    ``auto`` takes it when Numba is installed, the car and network qualify
    (:func:`annrl.agents.car_population.why_not`) and the run has at least :data:`AUTO_MIN_STEPS` steps.
    """
    from annrl.nn.compiled import INSTALL, available

    kernel = getattr(config, "kernel", "numpy")
    if kernel == "numpy":
        return "numpy", "kernel=numpy"
    if not available():
        if kernel == "compiled":
            raise InputError(f'kernel="compiled" needs Numba, which is not installed: {INSTALL}', field="kernel")
        return "numpy", "Numba is not installed"
    from annrl.agents.car_population import why_not

    reason = why_not(env, net)
    if reason is not None and kernel == "compiled":
        raise InputError(f'kernel="compiled" cannot play this: {reason}; use kernel="numpy"', field="kernel")
    if reason is None and kernel == "auto" and config.total_steps < AUTO_MIN_STEPS:
        reason = f"total_steps below {AUTO_MIN_STEPS:,} (auto)"
    return ("numpy", reason) if reason else ("compiled", None)


class Evaluator(Protocol):
    """Scores a ``(P, D)`` population: ``fitness(thetas, seed) -> (fitness (P,), env steps, laps or None)``."""

    def fitness(self, thetas: np.ndarray, seed: int) -> tuple[np.ndarray, int, np.ndarray | None]:
        """Score the population ``thetas`` ``(P, D)``.

        Returns fitness ``(P,)``, the environment steps used, and laps ``(P,)`` on the car (else None).
        """
        ...

    def close(self) -> None:
        """Release the environments (and workers)."""
        ...


class Strategy(Protocol):
    """Ask/tell over one ``(P, D)`` array."""

    def ask(self, rng: np.random.Generator) -> np.ndarray:
        """The population to evaluate next, ``(P, D)``."""
        ...

    def tell(self, fitness: np.ndarray) -> None:
        """Learn from the fitness ``(P,)`` of the population last asked for."""
        ...

    def solution(self) -> np.ndarray:
        """The best parameters so far, ``(1, D)``."""
        ...

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(tensors, meta)``: the strategy's arrays and JSON-able numbers, for a checkpoint."""
        ...

    def restore(self, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Put back the state saved by :meth:`state` (arrays such as the population ``(P, D)``, and ``meta``)."""
        ...


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

        return CarTrackVecEnv(n, config.track, continuous=config.continuous, autoreset_mode="Disabled",
                              **car_sensors(config), **settings)
    return make_vector_env(config.env, n, track=config.track, continuous=config.continuous, sensors=car_sensors(config))


class PopulationEvaluator:
    """Scores a ``(P, D)`` population on ``P x E`` environments with one population-axis network.

    Parameters
    ----------
    config : EvolutionConfig
    net : MLP
        A network with ``population = P``; its parameters are overwritten by :meth:`fitness`.
    shape : EnvShape
    plan : TrackPlan, optional
        With ``--tracks``: every generation draws ``E`` tracks (from its seed), and every network
        plays its ``E`` episodes on those same ``E`` tracks, all cars in one vectorised step.
    """

    def __init__(self, config: EvolutionConfig, net: MLP, shape: EnvShape, plan: TrackPlan | None = None):
        self.net, self.shape, self.plan = net, shape, plan
        self.P, self.E = net.population, config.episodes_per_member
        self.mode = "argmax" if shape.discrete else "scale"
        self.env = training_env(config, self.P * self.E)
        try:
            self.kernel, self.kernel_note = choose_kernel(config, self.env, net)
        except InputError:
            self.env.close()
            raise

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions of the ``P x E`` environments for observations ``(P*E, obs_dim)``.

        Network ``p`` drives rows ``p E .. p E + E - 1``.
        """
        outputs = self.net.predict(np.reshape(obs, (self.P, self.E, -1)))
        return to_actions(np.reshape(outputs, (self.P * self.E, -1)), self.shape, self.mode)

    def fitness(self, thetas: np.ndarray, seed: int) -> tuple[np.ndarray, int, np.ndarray | None]:
        """Mean return of each network ``(P,)``, environment steps used, laps ``(P,)`` on the car."""
        self.net.set_flat(thetas)
        if self.plan is not None:
            tracks = self.plan.draw(seed, self.E)
            self.env.unwrapped.sim.set_track([tracks[k % self.E] for k in range(self.P * self.E)])
        if self.kernel == "compiled":
            from annrl.agents.car_population import play

            episodes = play(self.env, self.net, thetas, self.E, seed, self.shape.low, self.shape.high)
        else:
            episodes = run_episodes(self.env, self.act, seed)
        returns = episodes.returns.reshape(self.P, self.E).mean(axis=1)
        laps = None if episodes.laps is None else episodes.laps.reshape(self.P, self.E).mean(axis=1)
        return returns, int(episodes.lengths.sum()), laps

    def close(self) -> None:
        """Close the environments."""
        self.env.close()


def train_population(algo: str, config: EvolutionConfig, strategy_factory: Callable[..., Strategy],
                     rng: np.random.Generator, *, ray: str | None = None, **options: Any) -> Result:
    """Evolve a policy network with ``strategy_factory(initial (P, D), rng)`` (GA, ES).

    ``ray`` ("local" or a cluster address) evaluates the population in shards on Ray workers,
    with the same results (see :mod:`annrl.agents.ray_shards`); ``options`` are those of
    :class:`annrl.agents.run.Run`. The policy of the result is the strategy's solution.
    """
    members = config.population * config.episodes_per_member
    check_sizes({f"--population {config.population} networks of --hidden {config.hidden}": network_bytes(
        config.hidden, population=config.population, copies=3), "their environments": ENV_BYTES * members})
    shape = EnvShape.probe(config)
    net = policy_network(config, shape, config.population, rng)
    strategy = strategy_factory(np.array(net.flat_), rng)
    policy = net.select([0])
    plan = plan_of(config)
    if ray is None:
        evaluator = PopulationEvaluator(config, net, shape, plan)
    elif plan is not None:
        raise InputError.invalid("--tracks", "used without --ray (the Ray shards drive one track)", config.tracks)
    else:
        from annrl.agents.ray_shards import RayEvaluator

        evaluator = RayEvaluator(config, shape, ray)

    def act(obs: np.ndarray) -> np.ndarray:
        return to_actions(policy.predict(np.asarray(obs, dtype=np.float64))[0], shape, evaluator.mode)

    def judge(solution: np.ndarray, episodes: int, seed: int) -> Episodes:
        policy.set_flat(solution)
        return evaluate(act, config.env, episodes, seed, track=tracks_for(config, plan, episodes, seed),
                        continuous=config.continuous, sensors=car_sensors(config))

    metrics = evolve(algo, config, shape, strategy, evaluator, judge, rng, plan=plan, **options)
    metrics["kernel"] = getattr(evaluator, "kernel", "numpy")  # the one taken (config.kernel: the one asked for)
    if getattr(evaluator, "kernel_note", None):
        metrics["kernel_note"] = evaluator.kernel_note
    policy.set_flat(strategy.solution())
    return Result(policy, metrics, shape, evaluator.mode, {"strategy": strategy})


def evolve(algo: str, config: EvolutionConfig, shape: EnvShape, strategy: Strategy, evaluator: Evaluator,
           judge: Callable[[np.ndarray, int, int], Episodes], rng: np.random.Generator,
           plan: TrackPlan | None = None, **options: Any) -> dict[str, Any]:
    """Ask, score, tell until ``config.total_steps`` environment steps; the run's metrics.

    ``judge(solution (1, D), episodes, seed)`` plays the strategy's solution for the learning curve
    and the final evaluation; ``options`` are those of :class:`annrl.agents.run.Run`. With a
    curriculum ``plan``, each evaluation may move it to its next stage (kept in checkpoints).
    """
    run = Run(algo, config, rng, total=config.total_steps, threshold=shape.threshold, **options)
    generation, env_steps, generations_run = 0, 0, 0
    restored = run.restore()
    if restored is not None:
        generation, tensors, state = restored
        strategy.restore(tensors, state["strategy"])
        env_steps = state["env_steps"]
        if plan is not None:
            plan.stage = state.get("track_stage", 0)
    rng = run.rng
    stages: list[list[int]] = []  # [env_steps, stage] each time a curriculum moves on

    def snapshot() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        tensors, meta = strategy.state()
        extra = {} if plan is None else {"track_stage": plan.stage}
        return tensors, {"strategy": meta, "env_steps": env_steps, **extra}

    with run.closing(evaluator):
        while env_steps < config.total_steps and not run.solved:
            thetas = strategy.ask(rng)
            fitness, steps, _ = evaluator.fitness(thetas, draw_seed(rng))
            strategy.tell(fitness)
            before, env_steps, generation = env_steps, env_steps + steps, generation + 1
            generations_run += 1
            run.curve.episodes.append([env_steps, float(fitness.max())])
            run.curve.add_loss("mean_fitness", env_steps, float(fitness.mean()))
            if env_steps // config.eval_every > before // config.eval_every or env_steps >= config.total_steps:
                result = judge(strategy.solution(), config.eval_episodes, eval_seed(config, generation))
                run.evaluated(env_steps, float(result.returns.mean()), float(result.lengths.mean()))
                if plan is not None and plan.advance(clean_share(result)):
                    stages.append([env_steps, plan.stage])
            run.bar.update(min(env_steps, config.total_steps), float(fitness.max()))
            run.after(generation, snapshot)
    final = judge(strategy.solution(), config.final_eval_episodes, eval_seed(config, -1))
    run.after(generation, snapshot, final=True)
    metrics = run.metrics(env_steps, final)
    metrics["generations"] = generation
    if plan is not None:
        metrics["tracks"] = {**plan.describe(), "moved_on": stages, "final_clean_share": clean_share(final)}
    metrics["timing"] = run.timing(generations=generations_run)
    return metrics
