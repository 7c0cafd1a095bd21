"""Deep Q-learning (Mnih et al., 2015) with Double-DQN targets (van Hasselt et al., 2016).

An MLP ``Q(s, .)`` is fitted to the targets ``r + gamma (1 - terminated) Q_target(s', a*)``, with
``a* = argmax_a Q(s', a)`` (Double DQN; plain DQN takes the max of ``Q_target``), on minibatches
from a replay buffer, with the Huber loss and Adam. The target network is a copy of the online
one, refreshed every ``target_network_frequency`` environment steps. Exploration is
epsilon-greedy with epsilon decaying linearly. Defaults follow RL-Zoo's CartPole-v1 recipe, with a
smaller network (64, 64) and training phases four times as frequent and a quarter as long, which
suits a NumPy engine.

Two defaults differ from that recipe on purpose. RL-Zoo refreshes the target every 10 environment
steps, but trains in phases of 128 gradient steps every 256 steps, so its target moves once per
128 gradient steps. With phases of 32 gradient steps every 64 steps, a 10-step refresh moved the
target after every phase (every 32 gradient steps): the target chased the online network and the
bootstrapped values diverged (seed 0: TD loss from 0.01 to 4e6 over 100k steps, greedy return
down to 9). A refresh every 256 steps (128 gradient steps, as in RL-Zoo) keeps the TD loss
bounded; the learning rate is 1e-3 instead of 2.3e-3 for the same reason. Polyak averaging of the
target (``tau``) and a learning rate annealed to 0 (``anneal_lr``) are options; neither stops the
greedy policy from flipping between solved and not on CartPole (see ``docs/agents.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.agents import cbp as cbp_option
from annrl.agents import grip
from annrl.agents.envs import EnvPool, car_sensors
from annrl.agents.evaluation import eval_seed
from annrl.agents.run import Result, Run
from annrl.agents.settings import BaseConfig, base_table, linear_schedule, network_bytes, parse_sizes
from annrl.agents.track_plan import clean_share, moved_on, plan_of
from annrl.config import setting
from annrl.errors import InputError
from annrl.nn import MLP, Adam, Huber
from annrl.nn.continual_backprop import ContinualBackprop
from annrl.nn.optim import clip_grad_norm
from annrl.validate import NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, UNIT, Interval, check, check_sizes

NAME = "dqn"
HUBER = Huber()


@dataclass
class Config(grip.GripScheduleSettings, cbp_option.ContinualBackpropSettings, BaseConfig):
    """DQN hyper-parameters (RL-Zoo's CartPole-v1 recipe by default)."""

    total_steps: int = setting(50_000, "environment steps to train for.")
    eval_every: int = setting(5_000, "environment steps between evaluations (the learning curve).")
    hidden: str = setting("64,64", "hidden layer widths of the Q-network, comma-separated (ReLU units).")
    lr: float = setting(1e-3, "Adam learning rate.")
    buffer_size: int = setting(100_000, "transitions the replay buffer holds.")
    gamma: float = setting(0.99, "discount factor.")
    target_network_frequency: int = setting(256, "environment steps between updates of the target network.")
    anneal_lr: bool = setting(False, "anneal the learning rate linearly to 0 over total_steps.")
    tau: float = setting(1.0, "target update: target <- tau * online + (1 - tau) * target (1: a copy; "
                              "small: Polyak averaging).")
    batch_size: int = setting(64, "transitions per gradient step.")
    start_e: float = setting(1.0, "exploration epsilon at the start.")
    end_e: float = setting(0.04, "exploration epsilon at the end of its decay.")
    exploration_fraction: float = setting(0.16, "fraction of total_steps over which epsilon decays.")
    learning_starts: int = setting(1000, "environment steps before learning starts.")
    train_frequency: int = setting(64, "environment steps between training phases.")
    gradient_steps: int = setting(32, "gradient steps per training phase.")
    double_dqn: bool = setting(True, "Double-DQN targets (the online network picks the next action).")
    max_grad_norm: float = setting(10.0, "clip the gradient to this global norm.")


TABLE = {**base_table(), "lr": POSITIVE, "buffer_size": POSITIVE_INT,
         "gamma": UNIT, "target_network_frequency": POSITIVE_INT,
         "tau": [Interval(float, 0, 1, closed="right")], "batch_size": POSITIVE_INT, "start_e": UNIT,
         "end_e": UNIT, "exploration_fraction": UNIT, "learning_starts": NON_NEGATIVE_INT,
         "train_frequency": POSITIVE_INT, "gradient_steps": POSITIVE_INT,
         "max_grad_norm": POSITIVE, **grip.TABLE, **cbp_option.TABLE}


def td_targets(rewards: np.ndarray, terminated: np.ndarray, next_q_online: np.ndarray, next_q_target: np.ndarray,
               gamma: float, double: bool = True) -> np.ndarray:
    """Q-learning targets ``(B,)``.

    Parameters
    ----------
    rewards, terminated : array, shape (B,)
    next_q_online, next_q_target : array, shape (B, A)
        Q-values of the next states under the online and the target network.
    gamma : float
    double : bool, default=True
        Evaluate the online network's greedy action with the target network (Double DQN);
        else take the target network's maximum.
    """
    if double:
        best = np.argmax(next_q_online, axis=1)
        next_value = next_q_target[np.arange(len(best)), best]
    else:
        next_value = next_q_target.max(axis=1)
    return rewards + gamma * (1.0 - terminated) * next_value


class ReplayBuffer:
    """A ring buffer of transitions ``(obs, action, reward, next_obs, terminated)``."""

    def __init__(self, size: int, obs_dim: int):
        self.obs = np.zeros((size, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((size, obs_dim), dtype=np.float32)
        self.actions = np.zeros(size, dtype=np.int64)
        self.rewards = np.zeros(size)
        self.terminated = np.zeros(size)
        self.pos, self.full = 0, False

    def add(self, obs, action, reward, next_obs, terminated) -> None:
        """Store one transition (``obs`` and ``next_obs`` of shape ``(obs_dim,)``), over the oldest once full."""
        i = self.pos
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, terminated
        self.pos = (i + 1) % len(self.rewards)
        self.full = self.full or self.pos == 0

    def sample(self, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """``batch`` transitions drawn uniformly with replacement from those stored.

        Returns ``(obs, actions, rewards, next_obs, terminated)``: observations ``(batch, obs_dim)``, the
        others ``(batch,)``.
        """
        idx = rng.integers(0, len(self.rewards) if self.full else self.pos, size=batch)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.terminated[idx]

    def state(self) -> dict[str, np.ndarray]:
        """The buffer for a checkpoint: ``buffer.obs``, ``buffer.next_obs`` ``(size, obs_dim)``, the rest ``(size,)``.

        The write position and fullness are the caller's to save (:meth:`restore` takes them back).
        """
        return {f"buffer.{k}": getattr(self, k) for k in ("obs", "next_obs", "actions", "rewards", "terminated")}

    def restore(self, tensors: dict[str, np.ndarray], pos: int, full: bool) -> None:
        """Put back the arrays of :meth:`state` (``buffer.obs`` ``(size, obs_dim)``, ...), ``pos`` and ``full``."""
        for k in ("obs", "next_obs", "actions", "rewards", "terminated"):
            getattr(self, k)[...] = tensors[f"buffer.{k}"]
        self.pos, self.full = pos, full


def update_target(target: MLP, q: MLP, tau: float) -> None:
    """``target <- tau q + (1 - tau) target``; ``tau = 1`` copies the online network."""
    if tau >= 1.0:
        target.set_flat(q.flat_)
    else:
        target.set_flat(tau * np.asarray(q.flat_) + (1.0 - tau) * np.asarray(target.flat_))


def train_step(q: MLP, target: MLP, optimizer: Adam, batch: tuple[np.ndarray, ...], config: Config,
               loss: Huber | None = None, cbp: ContinualBackprop | None = None,
               rng: np.random.Generator | None = None) -> float:
    """One gradient step on a minibatch (then continual backprop's replacements, with ``cbp``); the TD loss."""
    loss = loss or HUBER
    obs, actions, rewards, next_obs, terminated = batch
    next_q_target = target.predict(next_obs)[0]
    next_q_online = q.predict(next_obs)[0] if config.double_dqn else next_q_target
    targets = td_targets(rewards, terminated, next_q_online, next_q_target, config.gamma, config.double_dqn)
    q_values, caches = q.forward(q.asarray(obs))
    rows = np.arange(len(actions))
    value, grad_taken = loss(q_values[:, rows, actions][..., None], targets[:, None])
    grad = np.zeros_like(q_values)
    grad[0, rows, actions] = grad_taken[0, :, 0]
    q.zero_grad()
    q.backward(grad, caches)
    clip_grad_norm(q.grad, config.max_grad_norm)
    optimizer.step(q.flat_, q.grad)
    if cbp is not None:
        cbp.update(caches, rng, optimizer)
    return float(value[0])


def train(config: Config, rng: np.random.Generator, **options: Any) -> Result:
    """Train a DQN agent; checkpoints at any step (the environment state is replayed on resume).

    ``options`` are those of :class:`annrl.agents.run.Run` (``out``, ``resume``, ``on_eval``, ...).
    """
    check(TABLE, {k: getattr(config, k) for k in TABLE})
    check_sizes({f"--buffer-size {config.buffer_size} transitions": 40 * config.buffer_size,
                 f"--hidden {config.hidden} networks": network_bytes(config.hidden, batch=config.batch_size, copies=6)})
    schedule = grip.grip_schedule(config, 1)
    envs = EnvPool(config.env, 1, track=config.track, continuous=config.continuous, sensors=car_sensors(config),
                   plan=plan_of(config))
    stages: list[list[int]] = []  # [env_steps, stage] each time a --tracks curriculum moves on
    grip.follow(envs, schedule)
    shape = envs.shape
    if not shape.discrete:
        raise InputError(f"dqn needs discrete actions; {config.env} has a Box action space (use ppo, ga or es)")
    sizes = [shape.obs_dim, *parse_sizes(config.hidden), shape.n_outputs]
    q = MLP(sizes, hidden="relu", output="identity", init="torch", rng=rng)
    target = q.select([0])
    optimizer = Adam(lr=config.lr)
    optimizer.reset(q.flat_)
    buffer = ReplayBuffer(config.buffer_size, shape.obs_dim)
    cbp = cbp_option.continual_backprop(q, config)
    run, step = Run(NAME, config, rng, total=config.total_steps, threshold=shape.threshold, **options), 0
    restored = run.restore()
    if restored is None:
        obs = envs.reset(rng)
    else:
        step, tensors, state = restored
        q.set_flat(tensors["q"])
        target.set_flat(tensors["target"])
        optimizer.load_state_arrays(tensors, "adam.")
        buffer.restore(tensors, state["pos"], state["full"])
        if cbp is not None:
            cbp.restore(tensors)
        grip.seek(envs, schedule, step, tensors)  # one car: a pool step is an environment step
        obs = envs.restore(tensors)
    rng = run.rng

    def snapshot():
        tensors = {"q": np.array(q.flat_), "target": np.array(target.flat_), **buffer.state(), **envs.state(),
                   **(cbp.state() if cbp is not None else {})}
        tensors.update(optimizer.state_arrays("adam."))
        return tensors, {"pos": buffer.pos, "full": buffer.full}

    def greedy(o: np.ndarray) -> np.ndarray:
        return np.argmax(q.predict(np.asarray(o, dtype=np.float64))[0], axis=1)

    with run.closing(envs):
        while step < config.total_steps and not run.solved:
            epsilon = linear_schedule(config.start_e, config.end_e, config.exploration_fraction * config.total_steps,
                                      step)
            explore = rng.random() < epsilon
            action = rng.integers(shape.n_outputs) if explore else int(greedy(obs)[0])
            next_obs, reward, terminated, _, final_obs, finished = envs.step(np.array([action]), rng)
            buffer.add(obs[0], action, reward[0], final_obs[0], terminated[0])
            obs, step = next_obs, step + 1
            run.curve.episodes.extend([step, r] for r in finished)
            if step > config.learning_starts and step % config.train_frequency == 0:
                optimizer.lr = config.lr * (1.0 - step / config.total_steps if config.anneal_lr else 1.0)
                for _ in range(config.gradient_steps):
                    loss = train_step(q, target, optimizer, buffer.sample(config.batch_size, rng), config,
                                      cbp=cbp, rng=rng)
                run.curve.add_loss("td_loss", step, loss)
            if step % config.target_network_frequency == 0:
                update_target(target, q, config.tau)
            if step % config.eval_every == 0 or step == config.total_steps:
                result = grip.evaluate_on_grip(greedy, config, config.eval_episodes, eval_seed(config, step),
                                               grip.grip_in_force(envs, schedule),
                                               envs.plan)
                run.evaluated(step, float(result.returns.mean()), float(result.lengths.mean()))
                moved_on(envs.plan, step, result, stages)
            run.after(step, snapshot)
        final_grip = grip.grip_in_force(envs, schedule)
    final = grip.evaluate_on_grip(greedy, config, config.final_eval_episodes, eval_seed(config, -1), final_grip,
                                  envs.plan)
    run.after(step, snapshot, final=True)
    metrics = run.metrics(step, final)
    if schedule is not None:
        metrics["grip_recovery"] = grip.recovery(run.curve.points, config.grip_every)
    if envs.plan is not None:
        metrics["tracks"] = {**envs.plan.describe(), "moved_on": stages, "final_clean_share": clean_share(final)}
    recent = buffer.obs[: buffer.pos][-1000:] if not buffer.full else buffer.obs[-1000:]
    metrics["continual_backprop"] = cbp_option.hidden_unit_report(q, recent, cbp)
    metrics["timing"] = run.timing(env_steps=step)
    return Result(q, metrics, shape, "argmax")
