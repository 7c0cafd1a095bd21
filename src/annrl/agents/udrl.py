"""Upside-Down reinforcement learning (Schmidhuber, 2019; Srivastava et al., 2019).

No value function, no policy gradient: a *behaviour network* ``B(observation, desired return,
desired horizon) -> action`` is trained only by supervised learning (softmax cross-entropy) on the
agent's own past episodes, read backwards. Whatever an episode did from step ``t`` to its end is a
correct answer to the command "obtain the return it obtained, within the steps it took":

    input  (s_t, R_t = r_t + ... + r_{T-1}, H_t = T - t)        target  a_t

To get better episodes the agent then *asks* for more: its exploratory command is the horizon of
its ``last_few`` best episodes and a return drawn uniformly between their mean and mean + std.
While acting, the command is updated after every step (``R -= r``, ``H -= 1``), so the network is
always told what is still to be obtained. The replay buffer keeps the ``buffer_episodes`` episodes
with the highest return.

Evaluation acts greedily (argmax) on a command: by default the upper end of the exploratory one
(what the agent has seen it can do); ``eval_return`` / ``eval_horizon`` ask for more (e.g. 500 on
CartPole, which the network often delivers before its own best episodes reach it). The saved
policy (``agent.safetensors``) is the behaviour network with its command inputs fixed at the
final evaluation command and folded into the first layer's bias: a plain observation -> action
network (that command stays fixed there instead of being counted down).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.agents.envs import EnvShape, car_sensors, draw_seed, make_vector_env
from annrl.agents.evaluation import Curve, Episodes, eval_seed
from annrl.agents.run import Result, Run
from annrl.agents.settings import ENV_BYTES, BaseConfig, base_table, network_bytes, parse_sizes
from annrl.config import setting
from annrl.errors import InputError
from annrl.nn import MLP, Adam, SoftmaxCrossEntropy
from annrl.validate import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, check, check_sizes

NAME = "udrl"
LOSS = SoftmaxCrossEntropy()


@dataclass
class Config(BaseConfig):
    """Upside-Down RL hyper-parameters."""

    total_steps: int = setting(200_000, "environment steps to train for.")
    eval_every: int = setting(5_000, "environment steps between evaluations (the learning curve).")
    hidden: str = setting("64,64", "hidden layer widths of the behaviour network (ReLU units).")
    lr: float = setting(3e-3, "Adam learning rate of the behaviour network.")
    buffer_episodes: int = setting(100, "episodes the replay buffer keeps (those of highest return).")
    last_few: int = setting(10, "best episodes the exploratory command is drawn from.")
    warmup_episodes: int = setting(20, "episodes of random actions before the first training.")
    episodes_per_iter: int = setting(10, "episodes collected per iteration, in one vector environment.")
    updates_per_iter: int = setting(100, "gradient steps per iteration.")
    batch_size: int = setting(256, "(step, command, action) samples per gradient step.")
    return_scale: float = setting(0.02, "desired return is multiplied by this before entering the network.")
    horizon_scale: float = setting(0.02, "desired horizon is multiplied by this before entering the network.")
    eval_return: float = setting(0.0, "return commanded in evaluations; 0: the upper end of the exploratory command "
                                      "(mean + std of the best episodes' returns).")
    eval_horizon: float = setting(0.0, "horizon commanded in evaluations; 0: the mean length of the best episodes.")


TABLE = {**base_table(), "lr": POSITIVE, "buffer_episodes": POSITIVE_INT, "last_few": POSITIVE_INT,
         "warmup_episodes": NON_NEGATIVE_INT, "episodes_per_iter": POSITIVE_INT, "updates_per_iter": POSITIVE_INT,
         "batch_size": POSITIVE_INT, "return_scale": POSITIVE, "horizon_scale": POSITIVE,
         "eval_return": NON_NEGATIVE, "eval_horizon": NON_NEGATIVE}


# -- the replay buffer of whole episodes ------------------------------------------------------------
class EpisodeBuffer:
    """The ``capacity`` episodes of highest return: observations ``(T, d)``, actions ``(T,)``, rewards ``(T,)``."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.episodes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> None:
        """Keep an episode (obs ``(T, d)``, actions ``(T,)``, rewards ``(T,)``) if it is among the best ``capacity``."""
        self.episodes.append((obs, actions, rewards))
        # stable sort: among equal returns the older episode stays first, so the order is reproducible
        self.episodes.sort(key=lambda e: -float(e[2].sum()))
        del self.episodes[self.capacity :]

    def returns(self) -> np.ndarray:
        """The return of every episode kept, highest first, ``(episodes,)``."""
        return np.array([float(e[2].sum()) for e in self.episodes])

    def exploratory_command(self, last_few: int, rng: np.random.Generator | None) -> tuple[float, float]:
        """``(desired return, desired horizon)``: horizon = mean length of the best ``last_few`` episodes,
        return uniform in [mean, mean + std] of their returns (``rng=None``: mean + std, for evaluation)."""
        best = self.episodes[:last_few]
        returns = np.array([float(e[2].sum()) for e in best])
        horizon = float(np.mean([len(e[2]) for e in best]))
        high = returns.mean() + returns.std()
        return (float(high) if rng is None else float(rng.uniform(returns.mean(), high))), horizon

    def sample(self, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``batch`` training samples: observations ``(B, d)``, commands ``(B, 2)`` (return, horizon), actions.

        An episode is drawn uniformly, then one of its steps ``t``; its command is what followed ``t``.
        """
        lengths = np.array([len(e[2]) for e in self.episodes])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        which = rng.integers(len(self.episodes), size=batch)
        t = (rng.random(batch) * lengths[which]).astype(np.int64)
        obs = np.concatenate([e[0] for e in self.episodes])
        actions = np.concatenate([e[1] for e in self.episodes])
        to_go = np.concatenate([np.cumsum(e[2][::-1])[::-1] for e in self.episodes])  # r_t + ... + r_{T-1}
        rows = starts[which] + t
        return obs[rows], np.stack([to_go[rows], lengths[which] - t], axis=1).astype(np.float64), actions[rows]

    def state(self) -> dict[str, np.ndarray]:
        """The episodes end to end, for a checkpoint.

        ``buffer.lengths`` ``(episodes,)``, ``buffer.obs`` ``(total, d)``, actions and rewards ``(total,)``.
        """
        lengths = np.array([len(e[2]) for e in self.episodes], dtype=np.int64)
        return {"buffer.lengths": lengths, "buffer.obs": np.concatenate([e[0] for e in self.episodes]),
                "buffer.actions": np.concatenate([e[1] for e in self.episodes]),
                "buffer.rewards": np.concatenate([e[2] for e in self.episodes])}

    def restore(self, tensors: dict[str, np.ndarray]) -> None:
        """Split the arrays of :meth:`state` (``buffer.obs`` ``(total, d)``, ...) back into episodes."""
        bounds = np.concatenate([[0], np.cumsum(tensors["buffer.lengths"])])
        self.episodes = [(tensors["buffer.obs"][a:b], tensors["buffer.actions"][a:b], tensors["buffer.rewards"][a:b])
                         for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


# -- the behaviour network ------------------------------------------------------------------------
def behaviour_input(obs: np.ndarray, commands: np.ndarray, config: Config) -> np.ndarray:
    """``[obs, R * return_scale, H * horizon_scale]``: ``(N, d + 2)`` from obs ``(N, d)`` and commands ``(N, 2)``."""
    return np.concatenate([obs, commands * np.array([config.return_scale, config.horizon_scale])], axis=1)


def supervised_step(net: MLP, optimizer: Adam, inputs: np.ndarray, actions: np.ndarray) -> float:
    """One cross-entropy step of ``net`` towards ``actions`` ``(B,)``; returns the loss."""
    logits, caches = net.forward(net.asarray(inputs))
    targets = np.eye(logits.shape[-1])[actions]
    value, grad = LOSS(logits, targets)
    net.zero_grad()
    net.backward(grad, caches)
    optimizer.step(net.flat_, net.grad)
    return float(value[0])


def fold_command(net: MLP, command: np.ndarray, config: Config) -> MLP:
    """A copy of ``net`` that reads observations only: the command's inputs times their weights join the bias.

    ``command`` is ``(2,)``: the desired return and horizon, scaled here as :func:`behaviour_input` scales them.
    """
    folded = MLP([net.sizes[0] - 2, *net.sizes[1:]], hidden=net.hidden, output=net.output, seed=0)
    scaled = np.asarray(command, dtype=np.float64) * np.array([config.return_scale, config.horizon_scale])
    for name, value in net.params_.items():
        if name == "0.weight":
            folded.params_[name][...] = value[:, :-2, :]
        elif name == "0.bias":
            folded.params_[name][...] = value + scaled @ net.params_["0.weight"][0, -2:, :]
        else:
            folded.params_[name][...] = value
    return folded


# -- acting ---------------------------------------------------------------------------------------
def play(env: Any, net: MLP, command: tuple[float, float], seed: int, config: Config, *,
         greedy: bool, rng: np.random.Generator | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One episode in every sub-environment of ``env``, each following ``command`` (updated as it goes).

    ``greedy`` takes the argmax; else actions are sampled from the softmax with ``rng``; ``net=None``
    acts uniformly at random. Returns ``[(obs (T, d), actions (T,), rewards (T,))]``, one per environment.
    """
    obs, _ = env.reset(seed=seed)
    n = env.num_envs
    commands = np.tile(np.asarray(command, dtype=np.float64), (n, 1))
    alive = np.ones(n, dtype=bool)
    logs: list[list[Any]] = [[] for _ in range(n)]
    while alive.any():
        obs = np.asarray(obs, dtype=np.float64)
        if net is None:
            actions = rng.integers(env.single_action_space.n, size=n)
        else:
            logits = net.predict(behaviour_input(obs, commands, config))[0]
            actions = np.argmax(logits, axis=1) if greedy else sample_softmax(logits, rng)
        next_obs, reward, terminated, truncated, _ = env.step(actions)
        for k in np.flatnonzero(alive):
            logs[k].append((obs[k], actions[k], reward[k]))
        commands[:, 0] -= reward
        commands[:, 1] = np.maximum(commands[:, 1] - 1.0, 1.0)
        alive &= ~(terminated | truncated)
        obs = next_obs
    return [(np.stack([s[0] for s in log]), np.array([s[1] for s in log], dtype=np.int64),
             np.array([s[2] for s in log], dtype=np.float64)) for log in logs]


def sample_softmax(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row of ``logits`` ``(N, A)``, drawn from its softmax."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return (rng.random((len(p), 1)) < np.cumsum(p, axis=1)).argmax(axis=1)


def evaluation_command(buffer: EpisodeBuffer, config: Config) -> tuple[float, float]:
    """The command evaluations give: ``eval_return`` / ``eval_horizon`` where set, else from the best episodes."""
    ret, horizon = buffer.exploratory_command(config.last_few, None)
    return (config.eval_return or ret), (config.eval_horizon or horizon)


def evaluate_command(net: MLP, command: tuple[float, float], episodes: int, seed: int, config: Config) -> Episodes:
    """``episodes`` greedy episodes following ``command``: their returns and lengths ``(episodes,)``."""
    env = make_vector_env(config.env, episodes, track=config.track, continuous=config.continuous,
                          sensors=car_sensors(config))
    try:
        rewards = [e[2] for e in play(env, net, command, seed, config, greedy=True)]
        return Episodes(np.array([float(r.sum()) for r in rewards]), np.array([len(r) for r in rewards]))
    finally:
        env.close()


# -- training -------------------------------------------------------------------------------------
def train(config: Config, rng: np.random.Generator, **options: Any) -> Result:
    """Train a behaviour network by UDRL; checkpoints between iterations resume bit for bit.

    ``options`` are those of :class:`annrl.agents.run.Run` (``out``, ``resume``, ``on_eval``, ...).
    """
    check(TABLE, {k: getattr(config, k) for k in TABLE})
    check_sizes({f"--hidden {config.hidden} networks": network_bytes(config.hidden, batch=config.batch_size),
                 f"--episodes-per-iter {config.episodes_per_iter} environments": ENV_BYTES * config.episodes_per_iter})
    shape = EnvShape.probe(config)
    if not shape.discrete:
        raise InputError(f"udrl needs discrete actions; {config.env} has a Box action space (try --no-continuous)")
    net = MLP([shape.obs_dim + 2, *parse_sizes(config.hidden), shape.n_outputs], hidden="relu", output="identity",
              init="torch", rng=rng)
    optimizer = Adam(lr=config.lr)
    optimizer.reset(net.flat_)
    buffer = EpisodeBuffer(config.buffer_episodes)
    iteration, env_steps = 0, 0
    run = Run(NAME, config, rng, total=config.total_steps, threshold=shape.threshold, **options)
    restored = run.restore()
    if restored is not None:
        iteration, tensors, state = restored
        net.set_flat(tensors["net"])
        optimizer.load_state_arrays(tensors, "adam.")
        buffer.restore(tensors)
        env_steps = state["env_steps"]
    rng, curve = run.rng, run.curve

    def snapshot():
        tensors = {"net": np.array(net.flat_), **buffer.state()}
        tensors.update(optimizer.state_arrays("adam."))
        return tensors, {"env_steps": env_steps}

    env = make_vector_env(config.env, config.episodes_per_iter, track=config.track, continuous=config.continuous,
                          sensors=car_sensors(config))
    with run.closing(env):
        if iteration == 0:
            for _ in range(max(1, -(-config.warmup_episodes // config.episodes_per_iter))):
                env_steps += collect(env, None, (0.0, 1.0), buffer, curve, env_steps, config, rng)
        while env_steps < config.total_steps and not run.solved:
            for _ in range(config.updates_per_iter):
                obs, commands, actions = buffer.sample(config.batch_size, rng)
                loss = supervised_step(net, optimizer, behaviour_input(obs, commands, config), actions)
            command = buffer.exploratory_command(config.last_few, rng)
            before = env_steps
            env_steps += collect(env, net, command, buffer, curve, env_steps, config, rng)
            iteration += 1
            curve.add_loss("behaviour_loss", env_steps, loss)
            if env_steps // config.eval_every > before // config.eval_every or env_steps >= config.total_steps:
                result = evaluate_command(net, evaluation_command(buffer, config), config.eval_episodes,
                                          eval_seed(config, iteration), config)
                run.evaluated(env_steps, float(result.returns.mean()), float(result.lengths.mean()))
            run.after(iteration, snapshot)
    command = evaluation_command(buffer, config)
    final = evaluate_command(net, command, config.final_eval_episodes, eval_seed(config, -1), config)
    run.after(iteration, snapshot, final=True)
    metrics = run.metrics(env_steps, final)
    metrics.update({"iterations": iteration, "final_command": list(command),
                    "buffer_mean_return": float(buffer.returns().mean())})
    metrics["timing"] = run.timing(env_steps=env_steps)
    return Result(fold_command(net, np.array(command), config), metrics, shape, "argmax",
                  {"behaviour": net, "command": command})


def collect(env: Any, net: MLP | None, command: tuple[float, float], buffer: EpisodeBuffer, curve: Curve,
            env_steps: int, config: Config, rng: np.random.Generator) -> int:
    """One episode per sub-environment (sampling from ``net``, or at random when None) into ``buffer``; steps used."""
    played = play(env, net, command, draw_seed(rng), config, greedy=False, rng=rng)
    steps = 0
    for obs, actions, rewards in played:
        buffer.add(obs, actions, rewards)
        steps += len(rewards)
        curve.episodes.append([env_steps + steps, float(rewards.sum())])
    return steps
