"""Evolved Hebbian plasticity (after Najarro & Risi, 2020): networks that wire themselves while they act.

Every synapse ``w_ij`` from unit ``i`` (activity ``o_i``) to unit ``j`` (activity ``o_j``) changes
after every forward pass by its own rule

    dw_ij = eta_ij (A_ij o_i o_j + B_ij o_i + C_ij o_j + D_ij)

and the weights start *random* in every episode (uniform in ``[-init_scale, init_scale]``), so
whatever drives well has to organise itself while driving. What evolves is the rule: the five
coefficients of every synapse, searched by the evolution strategy of :mod:`annrl.agents.es`
(:class:`~annrl.agents.es.OpenES`, ask/tell, reused as it is). Weights are clipped to
``[-w_max, w_max]`` so that the ``D`` term cannot grow them without bound. Hidden and output
units are ``tanh`` (no biases); discrete actions take the argmax, Box actions the outputs scaled
onto the box.

A population of ``P`` rules plays ``P x E`` episodes in one vector environment; all plastic weights
are one array ``(P E, in, out)`` per layer, updated in one broadcast per step. Checkpoints are
written between generations, so a resumed run continues bit for bit (as :mod:`annrl.agents.es`).

The baseline is the same network with static weights evolved by the same ES: ``--plastic false``
(the search is then over the weights, which acting never changes), or ``--algo es``.
:class:`SensorFailure` zeroes chosen rays from a given step on, to measure recovery; with
``--failure-rays`` every training episode suffers it, so evolution selects for coping with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from annrl.agents.envs import EnvShape, car_sensors, is_car, make_vector_env, saved_sensors, to_actions
from annrl.agents.es import OpenES
from annrl.agents.evaluation import Episodes, run_episodes
from annrl.agents.neuroevolution import EvolutionConfig, evolution_table, evolve
from annrl.agents.run import Result
from annrl.agents.settings import ENV_BYTES, network_bytes, parse_sizes
from annrl.config import setting
from annrl.errors import InputError
from annrl.validate import NON_NEGATIVE, POSITIVE, POSITIVE_INT, check, check_sizes

NAME = "hebbian"
COEFFICIENTS = ("A", "B", "C", "D", "eta")


@dataclass
class Config(EvolutionConfig):
    """Evolved-Hebbian hyper-parameters (ES settings as ``--algo es``)."""

    env: str = setting("annrl/CarTrack-v0", "Gymnasium environment id (Box observations), or annrl/CarTrack-v0.")
    continuous: bool = setting(True, "car only: (steer, throttle) actions instead of Discrete(5).")
    total_steps: int = setting(2_000_000, "environment steps to train for.")
    eval_every: int = setting(100_000, "environment steps between evaluations (the learning curve).")
    hidden: str = setting("8", "hidden layer widths of the plastic network, comma-separated (tanh units).")
    sigma: float = setting(0.1, "standard deviation of the parameter noise.")
    lr: float = setting(0.03, "Adam step size on the mean.")
    weight_decay: float = setting(0.005, "L2 penalty on the mean, added to the gradient.")
    fitness_shaping: bool = setting(True, "replace returns by their centred ranks in [-0.5, 0.5].")
    init_scale: float = setting(0.5, "plastic weights start uniform in [-init_scale, init_scale] every episode.")
    w_max: float = setting(2.0, "plastic weights are clipped to [-w_max, w_max].")
    episode_steps: int = setting(1000, "car only: steps before an episode is truncated.")
    stall_time: float = setting(7.0, "car only: an episode ends after this many seconds without a new checkpoint.")
    plastic: bool = setting(True, "False: the ES searches the weights themselves, fixed while acting (the baseline).")
    failure_rays: str = setting("", "observation indices that fail (read 0) in every training episode, e.g. 0,1.")
    failure_at: int = setting(300, "training step of an episode at which --failure-rays fail.")


TABLE = {**evolution_table(), "sigma": POSITIVE, "lr": POSITIVE, "weight_decay": NON_NEGATIVE,
         "init_scale": NON_NEGATIVE, "w_max": POSITIVE, "episode_steps": POSITIVE_INT,
         "stall_time": POSITIVE, "failure_at": POSITIVE_INT}


# -- the rule -------------------------------------------------------------------------------------
def hebbian_update(weights: np.ndarray, pre: np.ndarray, post: np.ndarray, rule: dict[str, np.ndarray]) -> np.ndarray:
    """``dw_ij = eta (A o_i o_j + B o_i + C o_j + D)`` for a batch of layers.

    Parameters
    ----------
    weights : array, shape (M, in, out)
        Only its shape is used.
    pre : array, shape (M, in)
        Presynaptic activities ``o_i``.
    post : array, shape (M, out)
        Postsynaptic activities ``o_j``.
    rule : dict of str to array, each (M, in, out)
        ``A``, ``B``, ``C``, ``D`` and ``eta`` of every synapse.

    Returns
    -------
    array, shape (M, in, out)
    """
    pre, post = pre[:, :, None], post[:, None, :]
    return rule["eta"] * (rule["A"] * pre * post + rule["B"] * pre + rule["C"] * post + rule["D"])


class PlasticNetwork:
    """``M`` tanh networks without biases whose weights follow their Hebbian rules as they act.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, e.g. ``[6, 8, 2]``.
    plastic : bool, default=True
        False makes the baseline: the "rules" are the weights themselves, and acting never changes them.
    """

    def __init__(self, sizes: list[int], plastic: bool = True):
        self.sizes, self.plastic = list(sizes), plastic
        self.shapes = [(a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        names = COEFFICIENTS if plastic else ("weight",)
        self.n_coefficients = len(names) * sum(a * b for a, b in self.shapes)
        self.weights_: list[np.ndarray] = []
        self.rules_: list[dict[str, np.ndarray]] = []

    def set_rules(self, coefficients: np.ndarray, repeats: int = 1) -> None:
        """Rules from ``(P, n_coefficients)`` (per layer: A, B, C, D, eta blocks); each row used ``repeats`` times."""
        coefficients = np.repeat(np.asarray(coefficients, dtype=np.float64), repeats, axis=0)
        self.rules_, offset = [], 0
        for a, b in self.shapes:
            layer = {}
            for name in COEFFICIENTS if self.plastic else ("weight",):
                layer[name] = coefficients[:, offset : offset + a * b].reshape(-1, a, b)
                offset += a * b
            self.rules_.append(layer)

    def reset_weights(self, rng: np.random.Generator, init_scale: float) -> None:
        """Fresh random weights, uniform in ``[-init_scale, init_scale]``, for all ``M`` networks."""
        if not self.plastic:
            self.weights_ = [rule["weight"].copy() for rule in self.rules_]
            return
        M = len(self.rules_[0]["A"])
        self.weights_ = [rng.uniform(-init_scale, init_scale, size=(M, a, b)) for a, b in self.shapes]

    def act(self, obs: np.ndarray, w_max: float) -> np.ndarray:
        """Outputs ``(M, out)`` for observations ``(M, in)``; then every weight takes its Hebbian step."""
        activity = np.asarray(obs, dtype=np.float64)
        for k, w in enumerate(self.weights_):
            post = np.tanh(np.einsum("mi,mio->mo", activity, w))
            if self.plastic:
                w += hebbian_update(w, activity, post, self.rules_[k])
                np.clip(w, -w_max, w_max, out=w)
            activity = post
        return activity


# -- a sensor that fails ----------------------------------------------------------------------------
class SensorFailure(gym.vector.VectorWrapper):
    """From step ``at_step`` of every episode on, observation entries ``rays`` read ``value`` (0: a wall
    touching the car), as if those sensors had failed. Counts steps since the last ``reset``."""

    def __init__(self, env: gym.vector.VectorEnv, rays: list[int], at_step: int, value: float = 0.0):
        super().__init__(env)
        self.rays, self.at_step, self.value, self.steps = list(rays), int(at_step), float(value), 0

    def reset(self, **kwargs: Any):
        self.steps = 0
        return self.env.reset(**kwargs)

    def step(self, actions: Any):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self.steps += 1
        if self.steps >= self.at_step:
            obs = np.array(obs, copy=True)
            obs[:, self.rays] = self.value
        return obs, reward, terminated, truncated, info


def progress_trace(env: gym.vector.VectorEnv, act: Any, seed: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Play ``steps`` steps of a car vector env (autoreset disabled): progress ``(n, steps)`` along the course
    (fraction) and alive ``(n, steps)`` flags, a car that ended keeping its last progress."""
    obs, _ = env.reset(seed=seed)
    n = env.num_envs
    progress, alive = np.zeros((n, steps)), np.zeros((n, steps), dtype=bool)
    running, last = np.ones(n, dtype=bool), np.zeros(n)
    for t in range(steps):
        obs, _, terminated, truncated, info = env.step(act(obs))
        last = np.where(running, info["progress"], last)
        running &= ~(terminated | truncated)
        progress[:, t], alive[:, t] = last, running
    return progress, alive


def recovery_steps(progress: np.ndarray, alive: np.ndarray, at_step: int, *, window: int = 50,
                   before: int = 100, fraction: float = 0.8) -> np.ndarray:
    """Steps after ``at_step`` until each car's progress rate over the next ``window`` steps is back to
    ``fraction`` of its rate over the ``before`` steps up to ``at_step`` (with the car still alive);
    ``inf`` where it never is. ``progress``, ``alive``: ``(n, steps)`` from :func:`progress_trace`."""
    n, steps = progress.shape
    rate_before = (progress[:, at_step - 1] - progress[:, at_step - 1 - before]) / before
    result = np.full(n, np.inf)
    for s in range(at_step, steps - window):
        rate = (progress[:, s + window] - progress[:, s]) / window
        ok = np.isinf(result) & alive[:, s + window] & (rate >= fraction * rate_before) & (rate_before > 0)
        result[ok] = s - at_step
    return result


# -- evolution ------------------------------------------------------------------------------------
def make_env_batch(config: Config, n: int, *, training: bool = False) -> gym.vector.VectorEnv:
    """``n`` environments played together (the car: its vector env, truncated at ``episode_steps``);
    ``training`` adds the ``failure_rays`` failure."""
    if is_car(config.env):
        from annrl.envs import CarTrackVecEnv

        env = CarTrackVecEnv(n, config.track, continuous=config.continuous, autoreset_mode="Disabled",
                             max_episode_steps=config.episode_steps, stall_time=config.stall_time,
                             **car_sensors(config))
    else:
        env = make_vector_env(config.env, n, track=config.track, continuous=config.continuous,
                              sensors=car_sensors(config))
    rays = parse_rays(config.failure_rays, int(env.single_observation_space.shape[0]))
    return SensorFailure(env, rays, config.failure_at) if training and rays else env


def parse_rays(text: str, obs_dim: int) -> list[int]:
    """``"0,1"`` -> ``[0, 1]``, each an observation index below ``obs_dim``."""
    try:
        rays = [int(p) for p in str(text).replace(" ", "").split(",") if p]
    except ValueError:
        raise InputError(f"--failure-rays must be comma-separated integers, got {text!r}") from None
    if any(not 0 <= r < obs_dim for r in rays):
        raise InputError(f"--failure-rays must be observation indices in [0, {obs_dim}), got {text!r}")
    return rays


def plastic_policy(net: PlasticNetwork, shape: EnvShape, config: Config):
    """``act(obs (M, d)) -> actions``, the plastic network acting (and changing) step by step."""
    mode = "argmax" if shape.discrete else "scale"

    def act(obs: np.ndarray) -> np.ndarray:
        return to_actions(net.act(obs, config.w_max), shape, mode)

    return act


def play_rules(net: PlasticNetwork, coefficients: np.ndarray, env: gym.vector.VectorEnv, shape: EnvShape,
               config: Config, seed: int, repeats: int) -> Episodes:
    """One episode per environment of ``env``: rule ``p`` drives environments ``p E .. p E + E - 1``,
    each from random weights drawn from ``seed``.

    Parameters
    ----------
    net : PlasticNetwork
        Takes the rules and fresh weights (its state is overwritten).
    coefficients : ndarray of shape (P, n_coefficients)
        One set of rule coefficients per row.
    env : gymnasium.vector.VectorEnv
        ``P * repeats`` environments.
    shape : EnvShape
    config : Config
    seed : int
        Seeds the weights and the environments' resets.
    repeats : int
        ``E``, the episodes each rule plays.

    Returns
    -------
    Episodes
        Returns and lengths, each ``(P * E,)``.
    """
    net.set_rules(coefficients, repeats)
    net.reset_weights(np.random.default_rng(seed), config.init_scale)
    return run_episodes(env, plastic_policy(net, shape, config), seed)


def train(config: Config, rng: np.random.Generator, **options: Any) -> Result:
    """Evolve Hebbian rules with OpenES; checkpoints between generations resume bit for bit.

    ``options`` are those of :class:`annrl.agents.run.Run` (``out``, ``resume``, ``on_eval``, ...).
    """
    check(TABLE, {k: getattr(config, k) for k in TABLE})
    members = config.population * config.episodes_per_member
    check_sizes({f"--population {config.population} x --episodes-per-member {config.episodes_per_member} plastic "
                 f"networks of --hidden {config.hidden}": network_bytes(config.hidden, population=members, copies=3),
                 "their environments": ENV_BYTES * members})
    shape = EnvShape.probe(config)
    net = PlasticNetwork([shape.obs_dim, *parse_sizes(config.hidden), shape.n_outputs], config.plastic)
    strategy = OpenES(initial_rules(net, rng), config)
    scorer = RuleScorer(net, shape, config)
    metrics = evolve(NAME, config, shape, strategy, scorer, scorer.judge, rng, **options)
    return HebbianResult(None, metrics, shape, "argmax" if shape.discrete else "scale",
                         {"rules": strategy.solution(), "sizes": net.sizes, "config": config, "plastic": net.plastic})


class RuleScorer:
    """Plays rules ``(P, n_coefficients)``: the fitness of a population on ``P x E`` training
    environments, and the solution on the evaluation environments (:func:`evolve`'s evaluator and judge)."""

    def __init__(self, net: PlasticNetwork, shape: EnvShape, config: Config):
        self.net, self.shape, self.config = net, shape, config
        self.env = make_env_batch(config, config.population * config.episodes_per_member, training=True)
        self.eval_env: gym.vector.VectorEnv | None = make_env_batch(config, config.eval_episodes)

    def fitness(self, thetas: np.ndarray, seed: int) -> tuple[np.ndarray, int, None]:
        """Mean return of each rule ``(P,)`` and the environment steps used."""
        E = self.config.episodes_per_member
        episodes = play_rules(self.net, thetas, self.env, self.shape, self.config, seed, E)
        return episodes.returns.reshape(self.config.population, E).mean(axis=1), int(episodes.lengths.sum()), None

    def judge(self, rules: np.ndarray, episodes: int, seed: int) -> Episodes:
        """``episodes`` episodes of ``rules`` ``(1, n_coefficients)``: on the evaluation environments
        while training, on fresh ones after :meth:`close` (the final evaluation)."""
        if self.eval_env is not None:
            return play_rules(self.net, rules, self.eval_env, self.shape, self.config, seed, episodes)
        env = make_env_batch(self.config, episodes)
        try:
            return play_rules(self.net, rules, env, self.shape, self.config, seed, episodes)
        finally:
            env.close()

    def close(self) -> None:
        """Close the training environments and the evaluation ones."""
        self.env.close()
        if self.eval_env is not None:
            self.eval_env.close()
            self.eval_env = None


def initial_rules(net: PlasticNetwork, rng: np.random.Generator) -> np.ndarray:
    """The first mean of the search: every coefficient ``N(0, 0.1^2)``, learning rates ``eta`` included
    (static weights: ``N(0, 0.5^2)``, as a fresh plastic network's spread)."""
    return (0.1 if net.plastic else 0.5) * rng.standard_normal(net.n_coefficients)


class HebbianResult(Result):
    """``act`` drives with the evolved rules, from random weights drawn on its first call."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions for observations ``(M, obs_dim)``, one car per row, by the evolved rules (weights keep learning)."""
        if not hasattr(self, "_net"):
            config = self.extra["config"]
            self._net = PlasticNetwork(self.extra["sizes"], self.extra["plastic"])
            self._net.set_rules(self.extra["rules"], len(obs))
            self._net.reset_weights(np.random.default_rng(config.seed), config.init_scale)
            self._act = plastic_policy(self._net, self.shape, config)
        return self._act(obs)


def save_agent(path: str | Path, result: Result, config: Config) -> Path:
    """The evolved rules (``rules``: ``(1, n_coefficients)``) as a checkpoint file; not a static network."""
    from annrl.io.checkpoint import save_checkpoint

    return save_checkpoint(path, {"rules": np.asarray(result.extra["rules"])},
                           {"algo": NAME, "env": config.env, "sizes": result.extra["sizes"],
                            "coefficients": list(COEFFICIENTS) if config.plastic else ["weight"],
                            "plastic": config.plastic, "init_scale": config.init_scale,
                            "w_max": config.w_max, "track": config.track, "continuous": config.continuous,
                            "sensors": result.shape.sensors, "seed": config.seed})


class RulesPolicy:
    """A saved Hebbian agent as a policy: ``policy(obs (n, d)) -> actions`` for ``rl eval`` and ``car drive``.

    Its ``n`` networks start from random weights (seeded by the training seed) on the first call and
    rewire themselves as they drive; :meth:`reset` starts them afresh.
    """

    def __init__(self, rules: np.ndarray, meta: dict[str, Any]):
        self.rules, self.metadata = np.asarray(rules, dtype=np.float64), meta
        sizes = meta["sizes"]
        discrete = not meta["continuous"]
        self.shape = EnvShape(sizes[0], discrete, sizes[-1], () if discrete else (-1.0, -1.0),
                              () if discrete else (1.0, 1.0), None, saved_sensors(meta["env"], meta.get("sensors")))
        self.mode = "argmax" if discrete else "scale"
        self.net = PlasticNetwork(sizes, meta["plastic"])
        self._batch = 0

    def reset(self) -> None:
        """Start the networks afresh: the next call draws their random starting weights again."""
        self._batch = 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if self._batch != len(obs):
            self.net.set_rules(self.rules, len(obs))
            self.net.reset_weights(np.random.default_rng(self.metadata.get("seed", 0)), self.metadata["init_scale"])
            self._batch = len(obs)
        return to_actions(self.net.act(obs, self.metadata["w_max"]), self.shape, self.mode)


def load_rules(tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> RulesPolicy:
    """The policy of a file written by :func:`save_agent`: ``tensors["rules"]`` ``(1, n_coefficients)``
    and the file's metadata. Files written before they recorded the track and the action kind drove
    ``annrl/CarTrack-v0`` on s_bends, steering continuously when their network has 2 outputs."""
    meta = {"track": "s_bends", "continuous": meta["sizes"][-1] == 2, **meta}
    return RulesPolicy(tensors["rules"], meta)
