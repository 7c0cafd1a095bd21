"""An agent whose action set grows mid-training: a DQN car driver handed a hard brake.

The car starts with its five actions; its environment is built with ``extra_actions=
("hard_brake",)`` (``Discrete(6)`` from the start, the sixth a no-op until enabled; see
:mod:`annrl.envs.nonstationary`). The Q-network has five outputs. At step ``grow_at`` the
brake is enabled and the network's output layer grows a sixth head:

* the old heads keep their weights, so the old actions' Q-values are bit-for-bit unchanged;
* the new head is a copy of the head of a similar action (``copy_from="slower"``): its Q-value
  starts at a sensible estimate, equal to that action's, and ``argmax`` breaks the tie towards
  the lower index, so the greedy policy is exactly the old one at the moment of growth;
* Adam's moments grow the same way (zeros for the new head), the replay buffer is kept.

Training then goes on (DQN with Double-DQN targets, :func:`annrl.agents.dqn.train_step`), with
exploration raised again to ``regrow_e`` so the new action gets tried. Measured: the greedy return
just before growth, at the end, the end network restricted to the old five actions on the old
action set (``forgetting`` = before minus that), and how often the greedy policy brakes hard.
:func:`train` returns a :class:`~annrl.agents.run.Result`, as every agent does: the final Q-network
and those numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from annrl.agents import dqn
from annrl.agents.envs import EnvShape, car_sensors, refuse_sensors
from annrl.agents.evaluation import run_episodes
from annrl.agents.run import Result
from annrl.agents.settings import linear_schedule, parse_sizes
from annrl.errors import InputError
from annrl.nn import MLP, Adam
from annrl.validate import check


@dataclass
class GrowConfig(dqn.Config):
    """DQN's hyper-parameters plus when and how the action set grows."""

    env: str = "annrl/CarTrack-v0"
    track: str = "oval"
    total_steps: int = 40_000
    grow_at: int = 20_000
    new_action: str = "hard_brake"
    copy_from: str = "slower"  # the old action whose head the new one starts as; "" for a zero head
    regrow_e: float = 0.2  # epsilon right after growth, decaying to end_e over exploration_fraction * phase
    grow: bool = True  # False: the control run, which goes on with the five actions (same seeds)
    learning_starts: int = 500
    # CartPole's 2.3e-3 and a target copy every 10 steps made the car's Q-values swing wildly.
    lr: float = 5e-4
    target_network_frequency: int = 500
    eval_episodes: int = 8
    max_episode_steps: int = 1000


def grow_output(net: MLP, n_new: int, *, copy_from: int | None = None) -> MLP:
    """A copy of ``net`` with ``n_new`` more outputs; the old outputs are unchanged.

    Parameters
    ----------
    net : MLP
        Population ``P``; its last layer is the output layer.
    n_new : int
    copy_from : int, optional
        Old output whose weights and bias the new heads copy; None gives zero heads.

    Returns
    -------
    MLP
        Sizes ``net.sizes[:-1] + [net.sizes[-1] + n_new]``, same activations and population.
    """
    if n_new < 1:
        raise InputError(f"n_new must be >= 1, got {n_new}")
    old_out = net.sizes[-1]
    if copy_from is not None and not 0 <= copy_from < old_out:
        raise InputError(f"copy_from must index an old output (0..{old_out - 1}), got {copy_from}")
    grown = MLP([*net.sizes[:-1], old_out + n_new], hidden=net.hidden, output=net.output,
                population=net.population, seed=0)
    grown.set_flat(widen(net, grown, np.array(net.flat_), copy_from))
    return grown


def widen(net: MLP, grown: MLP, flat: np.ndarray, copy_from: int | None) -> np.ndarray:
    """``flat`` ``(P, D)`` laid out for ``net`` moved into ``grown``'s layout ``(P, D')``.

    Every parameter keeps its value; the new output columns copy column ``copy_from`` (or are 0).
    """
    out = np.zeros(grown.flat_.shape)
    old_views = net.layout.views(flat, np)
    new_views = grown.layout.views(out, np)
    for name, value in old_views.items():
        target = new_views[name]
        target[..., : value.shape[-1]] = value
        if value.shape[-1] != target.shape[-1] and copy_from is not None:
            target[..., value.shape[-1]:] = value[..., copy_from: copy_from + 1]
    return out


def grow_optimizer(optimizer: Adam, net: MLP, grown: MLP) -> None:
    """Move Adam's per-parameter state into the grown layout (new heads start with zero moments)."""
    for key, value in optimizer.state_.items():
        value = np.asarray(value)
        if value.shape == tuple(net.flat_.shape):
            optimizer.state_[key] = widen(net, grown, value, None)


def greedy_actions(q: MLP, obs: np.ndarray, n_actions: int | None = None) -> np.ndarray:
    """``argmax`` over the first ``n_actions`` Q-values (all by default); obs ``(n, d)`` -> ``(n,)``."""
    values = q.predict(np.asarray(obs, dtype=np.float64))[0]
    return np.argmax(values[:, :n_actions], axis=1)


def evaluate_greedy(q: MLP, config: GrowConfig, seed: int, *, n_actions: int | None = None,
                    enabled: bool = True) -> tuple[float, float]:
    """Mean greedy return over ``eval_episodes`` cars, and the fraction of hard-brake actions."""
    from annrl.envs import CarTrackVecEnv

    env = CarTrackVecEnv(config.eval_episodes, config.track, autoreset_mode="Disabled",
                         extra_actions=(config.new_action,), max_episode_steps=config.max_episode_steps)
    env.enable_actions(config.new_action, enabled)
    counts = np.zeros(2)

    def act(obs):
        actions = greedy_actions(q, obs, n_actions)
        counts[:] += (np.count_nonzero(actions == 5), actions.size)
        return actions

    try:
        episodes = run_episodes(env, act, seed)
    finally:
        env.close()
    return float(episodes.returns.mean()), float(counts[0] / max(counts[1], 1))


def train(config: GrowConfig, rng: np.random.Generator) -> Result:
    """Train, grow at ``grow_at``, train on.

    Returns
    -------
    Result
        ``policy``: the final Q-network (6 outputs, or 5 for the control run ``grow=False``);
        ``metrics``: the greedy returns before, at and after growth, ``forgetting`` (before minus
        the end network on the old five actions), the episode returns, ``timing``.
    """
    from annrl.envs import ACTION_NAMES, CarTrackEnv

    check(dqn.TABLE, {k: getattr(config, k) for k in dqn.TABLE})  # DQN's settings, as dqn.train checks them
    refuse_sensors(car_sensors(config), "(it builds its cars with the default sensors)", "in grow_actions")
    if not 0 < config.grow_at < config.total_steps:
        raise InputError(f"grow_at must lie strictly between 0 and total_steps, got {config.grow_at}")
    copy_from = ACTION_NAMES.index(config.copy_from) if config.copy_from else None
    env = CarTrackEnv(config.track, extra_actions=(config.new_action,), max_episode_steps=config.max_episode_steps)
    n_old = len(ACTION_NAMES)
    sizes = [env.observation_space.shape[0], *parse_sizes(config.hidden), n_old]
    q = MLP(sizes, hidden="relu", output="identity", init="torch", rng=rng)
    target, optimizer = q.select([0]), Adam(lr=config.lr)
    optimizer.reset(q.flat_)
    buffer = dqn.ReplayBuffer(config.buffer_size, sizes[0])
    obs, _ = env.reset(seed=int(rng.integers(2**31 - 1)))
    metrics: dict[str, Any] = {"episode_returns": []}
    episode_return, start = 0.0, time.perf_counter()
    for step in range(config.total_steps):
        if step == config.grow_at:
            metrics.update(_grow_now(q, config, copy_from))
            if config.grow:
                grown = grow_output(q, 1, copy_from=copy_from)
                grow_optimizer(optimizer, q, grown)
                q, target = grown, grown.select([0])
                env.enable_actions(config.new_action)
        epsilon = _epsilon(config, step)
        n_actions = q.sizes[-1]
        action = int(rng.integers(n_actions)) if rng.random() < epsilon else int(greedy_actions(q, obs[None])[0])
        next_obs, reward, terminated, truncated, _ = env.step(action)
        metrics["new_action_taken"] = metrics.get("new_action_taken", 0) + (action == n_old)
        buffer.add(obs, action, reward, next_obs, terminated)
        episode_return += reward
        obs = next_obs
        if terminated or truncated:
            metrics["episode_returns"].append([step + 1, episode_return])
            obs, episode_return = env.reset(seed=int(rng.integers(2**31 - 1)))[0], 0.0
        if step + 1 > config.learning_starts and (step + 1) % config.train_frequency == 0:
            for _ in range(config.gradient_steps):
                dqn.train_step(q, target, optimizer, buffer.sample(config.batch_size, rng), config)
        if (step + 1) % config.target_network_frequency == 0:
            target.set_flat(q.flat_)
    shape = replace(EnvShape.of(env, config.env), n_outputs=q.sizes[-1])
    env.close()
    metrics.update(_after(q, config, n_old))
    metrics["forgetting"] = metrics["return_before_growth"] - metrics["return_old_actions_after"]
    metrics["timing"] = {"wall_s": time.perf_counter() - start}
    return Result(q, metrics, shape, "argmax")


def _epsilon(config: GrowConfig, step: int) -> float:
    """Epsilon decays over the first phase from ``start_e``, and again after growth from ``regrow_e``."""
    if step < config.grow_at:
        return linear_schedule(config.start_e, config.end_e, config.exploration_fraction * config.grow_at, step)
    phase = config.total_steps - config.grow_at
    return linear_schedule(config.regrow_e, config.end_e, config.exploration_fraction * phase, step - config.grow_at)


EVAL_SEED = 12_345


def _grow_now(q: MLP, config: GrowConfig, copy_from: int | None) -> dict[str, Any]:
    """Return before growth, and proof that growth changes no old output and no greedy action."""
    before, _ = evaluate_greedy(q, config, EVAL_SEED, enabled=False)
    probe = np.random.default_rng(0).random((256, q.sizes[0]))
    grown = grow_output(q, 1, copy_from=copy_from)
    old, new = q.predict(probe)[0], grown.predict(probe)[0]
    at_growth, _ = evaluate_greedy(grown, config, EVAL_SEED, enabled=True)
    return {"return_before_growth": before, "return_at_growth": at_growth,
            "max_old_output_change_at_growth": float(np.abs(new[:, : old.shape[1]] - old).max()),
            "greedy_actions_changed_at_growth": int(np.count_nonzero(new.argmax(1) != old.argmax(1)))}


def _after(q: MLP, config: GrowConfig, n_old: int) -> dict[str, Any]:
    after, usage = evaluate_greedy(q, config, EVAL_SEED, enabled=True)
    old_only, _ = evaluate_greedy(q, config, EVAL_SEED, n_actions=n_old, enabled=False)
    return {"return_after": after, "new_action_fraction": usage, "return_old_actions_after": old_only}

