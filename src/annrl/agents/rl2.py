"""RL^2, learning to learn (Duan et al., 2016; Wang et al., 2016): a recurrent policy whose memory
is the learning algorithm.

A GRU (:class:`annrl.nn.GRU`, backward through time checked against PyTorch) reads at every step

    x_t = [observation_t, one-hot(previous action), previous reward, previous done]

and its state ``h_t`` feeds a linear readout: action logits and a value. The state is *not*
reset between the trials (episodes, or pulls of a bandit) of one lifetime on one task, only
between lifetimes, so within a lifetime the network can find out which task it is on and act on
it. The weights are trained across a distribution of tasks (:mod:`annrl.agents.tasks`) by
advantage actor-critic through time: ``N`` lifetimes of ``T`` steps are played step by step, then
the whole sequences are run again through ``Network.forward`` (the same states) and one
backward through time carries

    d/d logits = -(onehot(a_t) - pi_t) A_t / (N T) - ent_coef dH/d logits,   d/d V_t = vf_coef (V_t - G_t) / (N T)

with ``G_t`` the discounted return to the end of the lifetime, ``A_t = G_t - V_t`` normalised
over the batch, and the entropy weight annealed linearly to 0. After training the weights are
frozen; on unseen tasks any improvement within a lifetime is the recurrent state's doing.

``--env bandit`` (default) trains on 10-armed Bernoulli bandits, ``--env CartPole-v1`` on
CartPoles with random pole lengths, ``--env annrl/CarTrack-v0`` on the car with random grip.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from annrl.agents.envs import EnvShape, car_sensors, is_car, refuse_sensors
from annrl.agents.evaluation import eval_seed
from annrl.agents.ppo import gae, log_softmax
from annrl.agents.run import Result, Run
from annrl.agents.settings import BaseConfig, base_table, make_rng, network_bytes, parse_sizes
from annrl.agents.tasks import make_tasks
from annrl.config import setting
from annrl.errors import InputError
from annrl.nn import GRU, Adam, Dense, Network, PerStep
from annrl.nn.optim import clip_grad_norm
from annrl.validate import NON_NEGATIVE, POSITIVE, POSITIVE_INT, UNIT, Interval, check, check_sizes

NAME = "rl2"
#: ``annrl rl train`` draws no car GIF: acting needs the recurrent state, not one forward per observation
ANIMATES = False
BANDIT_ENVS = ("bandit", "bandits")


@dataclass
class Config(BaseConfig):
    """RL^2 hyper-parameters (10-armed bandits by default)."""

    env: str = setting("bandit", "task distribution: bandit, CartPole-v1 (random pole length) or annrl/CarTrack-v0 "
                                 "(random grip).")
    total_steps: int = setting(3_000_000, "environment steps (pulls) over all training lifetimes.")
    eval_every: int = setting(300_000, "environment steps between evaluations on unseen tasks.")
    eval_episodes: int = setting(200, "unseen tasks (lifetimes) per evaluation.")
    final_eval_episodes: int = setting(1000, "unseen tasks (lifetimes) of the final evaluation.")
    hidden: str = setting("48", "units of the GRU (one recurrent layer).")
    lifetime: int = setting(100, "steps per lifetime on one task (bandit pulls; several episodes on CartPole).")
    lifetimes: int = setting(64, "lifetimes (tasks) per gradient step.")
    arms: int = setting(10, "bandit arms.")
    lr: float = setting(0.01, "Adam learning rate.")
    gamma: float = setting(0.5, "discount factor, across trials within a lifetime (short: fast to learn).")
    gae_lambda: float = setting(1.0, "GAE lambda (1: Monte-Carlo returns).")
    ent_coef: float = setting(0.01, "first weight of the entropy bonus; it decays linearly to 0.")
    vf_coef: float = setting(0.5, "weight of the value loss.")
    max_grad_norm: float = setting(1.0, "clip the gradient to this global norm.")


TABLE = {**base_table(), "lifetime": [Interval(int, 2, None, closed="left")], "lifetimes": POSITIVE_INT,
         "arms": [Interval(int, 2, None, closed="left")], "lr": POSITIVE, "gamma": UNIT, "gae_lambda": UNIT,
         "ent_coef": NON_NEGATIVE, "vf_coef": NON_NEGATIVE, "max_grad_norm": POSITIVE}


def task_kind(env: str) -> str:
    """The task distribution behind ``--env``."""
    if env in BANDIT_ENVS:
        return "bandit"
    if env.startswith("CartPole"):
        return "cartpole"
    if is_car(env):
        return "car"
    raise InputError(f"--env for rl2 must be bandit, CartPole-v1 or annrl/CarTrack-v0, got {env!r}", field="--env")


def make_task_batch(config: Config, n: int) -> Any:
    """``n`` lifetimes of the task distribution behind ``config.env`` (the bandit with ``config.arms`` arms)."""
    kind = task_kind(config.env)
    return make_tasks(kind, n, arms=config.arms) if kind == "bandit" else make_tasks(kind, n)


# -- the recurrent policy -------------------------------------------------------------------------
def recurrent_policy(n_in: int, hidden: int, n_actions: int, rng: np.random.Generator) -> Network:
    """``GRU(n_in, hidden)`` then a per-step linear readout of ``n_actions`` logits and one value."""
    return Network([GRU(n_in, hidden), PerStep(Dense(hidden, n_actions + 1))], init="torch", rng=rng)


def _layer(net: Network, index: int) -> dict[str, np.ndarray]:
    prefix = f"{index}."
    return {k[len(prefix):]: v for k, v in net.params_.items() if k.startswith(prefix)}


def step_input(obs: np.ndarray, prev_action: np.ndarray, prev_reward: np.ndarray, prev_done: np.ndarray,
               n_actions: int) -> np.ndarray:
    """``[obs, one-hot(prev action), prev reward, prev done]``: ``(N, obs_dim + A + 2)``; action -1 = none yet."""
    onehot = np.zeros((len(prev_action), n_actions))
    started = prev_action >= 0
    onehot[np.flatnonzero(started), prev_action[started]] = 1.0
    return np.concatenate([obs, onehot, prev_reward[:, None], prev_done[:, None].astype(np.float64)], axis=1)


@dataclass
class Lifetimes:
    """``N`` lifetimes of ``T`` steps: inputs ``(N, T, in)``, actions, rewards, dones ``(N, T)``;
    ``regret`` ``(N, T)`` on bandits (expected regret of each pull), else None."""

    inputs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    regret: np.ndarray | None = None


def live(net: Network, tasks: Any, lifetime: int, rng: np.random.Generator, *, greedy: bool = False) -> Lifetimes:
    """Play one lifetime on each task of ``tasks`` (new tasks drawn with ``rng``), acting step by step."""
    gru, readout = net.layers[0], net.layers[1].layer
    p_gru, p_out = _layer(net, 0), _layer(net, 1)
    A, N = tasks.n_actions, tasks.n
    obs = tasks.reset(rng)
    h = np.zeros((1, N, gru.hidden))
    prev_a, prev_r, prev_d = np.full(N, -1), np.zeros(N), np.zeros(N, dtype=bool)
    inputs = np.zeros((N, lifetime, tasks.obs_dim + A + 2))
    actions, rewards = np.zeros((N, lifetime), dtype=np.int64), np.zeros((N, lifetime))
    dones = np.zeros((N, lifetime), dtype=bool)
    regret = np.zeros((N, lifetime)) if hasattr(tasks, "regret") else None
    for t in range(lifetime):
        inputs[:, t] = step_input(obs, prev_a, prev_r, prev_d, A)
        h = gru.step(p_gru, inputs[:, t], h)
        logits = readout.forward(p_out, h)[0][0, :, :A]
        a = np.argmax(logits, axis=1) if greedy else _sample(logits, rng)
        if regret is not None:
            regret[:, t] = tasks.regret(a)
        obs, prev_r, prev_d = tasks.step(a, rng)
        actions[:, t], rewards[:, t], dones[:, t], prev_a = a, prev_r, prev_d, a
    return Lifetimes(inputs, actions, rewards, dones, regret)


def _sample(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    p = np.exp(log_softmax(logits))
    return (rng.random((len(p), 1)) < np.cumsum(p, axis=1)).argmax(axis=1)


# -- the gradient through time --------------------------------------------------------------------
def a2c_output_grad(out: np.ndarray, lives: Lifetimes, config: Config, ent_coef: float) -> tuple[np.ndarray, dict]:
    """d(loss)/d(outputs) ``(1, N, T, A + 1)`` for outputs ``(1, N, T, A + 1)`` (logits, value), and the losses."""
    A = out.shape[-1] - 1
    logits, values = out[0, :, :, :A], out[0, :, :, A]
    N, T = values.shape
    # returns to the end of the lifetime: trial boundaries are not episode ends for the learner
    adv, returns = gae(lives.rewards.T, values.T, np.zeros((T, N)), np.zeros(N), config.gamma, config.gae_lambda)
    adv, returns = adv.T, returns.T
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    lp = log_softmax(logits)
    p = np.exp(lp)
    onehot = np.eye(A)[lives.actions]
    entropy = -(p * lp).sum(axis=-1)
    count = N * T
    grad = np.zeros_like(out)
    grad[0, :, :, :A] = (-(onehot - p) * adv[..., None] + ent_coef * p * (lp + entropy[..., None])) / count
    grad[0, :, :, A] = config.vf_coef * (values - returns) / count
    taken = np.take_along_axis(lp, lives.actions[..., None], axis=-1)[..., 0]
    losses = {"policy_loss": float(-(taken * adv).mean()), "value_loss": float(0.5 * ((values - returns) ** 2).mean()),
              "entropy": float(entropy.mean())}
    return grad, losses


def update(net: Network, optimizer: Adam, lives: Lifetimes, config: Config, ent_coef: float) -> dict[str, float]:
    """One actor-critic step through time on the lifetimes just played."""
    out, caches = net.forward(net.asarray(lives.inputs))
    grad, losses = a2c_output_grad(out, lives, config, ent_coef)
    net.zero_grad()
    net.backward(grad, caches)
    losses["grad_norm"] = clip_grad_norm(net.grad, config.max_grad_norm)
    optimizer.step(net.flat_, net.grad)
    return losses


# -- meta-testing ---------------------------------------------------------------------------------
def trial_returns(lives: Lifetimes, max_trials: int = 10) -> list[float]:
    """Mean return of trial 1, 2, ... within a lifetime (completed trials only; at most ``max_trials``)."""
    per_trial: list[list[float]] = [[] for _ in range(max_trials)]
    for rewards, dones in zip(lives.rewards, lives.dones, strict=True):
        ends = np.flatnonzero(dones)
        for k, (a, b) in enumerate(zip(np.concatenate([[0], ends[:-1] + 1]), ends + 1, strict=True)):
            if k < max_trials:
                per_trial[k].append(float(rewards[a:b].sum()))
    return [float(np.mean(v)) for v in per_trial if v]


def meta_test(net: Network, config: Config, n_tasks: int, seed: int) -> dict[str, Any]:
    """Frozen weights on ``n_tasks`` unseen tasks: returns per trial, reward per block of the lifetime, regret."""
    tasks = make_task_batch(config, n_tasks)
    try:
        lives = live(net, tasks, config.lifetime, make_rng(seed))
    finally:
        tasks.close()
    blocks = np.array_split(np.arange(config.lifetime), min(10, config.lifetime))
    result = {"mean_lifetime_return": float(lives.rewards.sum(axis=1).mean()),
              "reward_per_step_by_block": [float(lives.rewards[:, b].mean()) for b in blocks]}
    if lives.regret is not None:
        regret = lives.regret.sum(axis=1)
        result.update(mean_regret=float(regret.mean()), regret_sem=float(regret.std() / math.sqrt(len(regret))),
                      regret_per_step_by_block=[float(lives.regret[:, b].mean()) for b in blocks],
                      lifetime_returns=lives.rewards.sum(axis=1))
        result["trial_returns"] = result["reward_per_step_by_block"]
    else:
        result["trial_returns"] = trial_returns(lives)
        episodes = [r for r in trial_returns(lives, max_trials=config.lifetime)]
        result["lifetime_returns"] = np.array(episodes or [0.0])
    return result


def epsilon_greedy_regret(probabilities: np.ndarray, pulls: int, epsilon: float, rng: np.random.Generator, *,
                          try_each_first: bool = False) -> np.ndarray:
    """Total expected regret ``(N,)`` of epsilon-greedy on bandits with arm probabilities ``(N, A)``.

    Sample-average estimates; greedy ties broken at random; ``try_each_first`` pulls every arm once first.
    """
    N, A = probabilities.shape
    rows = np.arange(N)
    counts, sums, regret = np.zeros((N, A)), np.zeros((N, A)), np.zeros(N)
    for t in range(pulls):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
        greedy = np.argmax(means + 1e-9 * rng.random((N, A)), axis=1)
        explore = rng.random(N) < epsilon
        actions = np.where(explore, rng.integers(A, size=N), greedy)
        if try_each_first and t < A:
            actions = np.full(N, t)
        paid = rng.random(N) < probabilities[rows, actions]
        counts[rows, actions] += 1
        sums[rows, actions] += paid
        regret += probabilities.max(axis=1) - probabilities[rows, actions]
    return regret


# -- training -------------------------------------------------------------------------------------
def train(config: Config, rng: np.random.Generator, **options: Any) -> Result:
    """Meta-train a recurrent policy across tasks; checkpoints between gradient steps resume bit for bit.

    ``options`` are those of :class:`annrl.agents.run.Run` (``out``, ``resume``, ``on_eval``, ...).
    """
    check(TABLE, {k: getattr(config, k) for k in TABLE})
    refuse_sensors(car_sensors(config), "(its tasks build their cars with the default sensors)", "with --algo rl2")
    check_sizes({f"--lifetimes {config.lifetimes} x --lifetime {config.lifetime} x --hidden {config.hidden}":
                 network_bytes(config.hidden, batch=3 * config.lifetimes * config.lifetime)})
    sizes = parse_sizes(config.hidden)
    if len(sizes) != 1:
        raise InputError(f"--hidden for rl2 is the width of its one GRU layer, got {config.hidden!r}", field="--hidden")
    tasks = make_task_batch(config, config.lifetimes)
    net = recurrent_policy(tasks.obs_dim + tasks.n_actions + 2, sizes[0], tasks.n_actions, rng)
    optimizer = Adam(lr=config.lr)
    optimizer.reset(net.flat_)
    per_update = config.lifetimes * config.lifetime
    updates = max(1, config.total_steps // per_update)
    run, done = Run(NAME, config, rng, total=updates * per_update, threshold=None, **options), 0
    restored = run.restore()
    if restored is not None:
        done, tensors, _ = restored
        net.set_flat(tensors["net"])
        optimizer.load_state_arrays(tensors, "adam.")
    rng, curve = run.rng, run.curve

    def snapshot():
        return {"net": np.array(net.flat_), **optimizer.state_arrays("adam.")}, {}

    with run.closing(tasks):
        while done < updates:
            lives = live(net, tasks, config.lifetime, rng)
            losses = update(net, optimizer, lives, config, config.ent_coef * (1.0 - done / updates))
            done += 1
            steps = done * per_update
            curve.episodes.append([steps, float(lives.rewards.sum(axis=1).mean())])
            for name, value in losses.items():
                curve.add_loss(name, steps, value)
            if steps // config.eval_every > (steps - per_update) // config.eval_every or done == updates:
                result = meta_test(net, config, config.eval_episodes, eval_seed(config, done))
                run.evaluated(steps, result["mean_lifetime_return"], config.lifetime)  # an episode is a lifetime
            run.after(done, snapshot)
    final = meta_test(net, config, config.final_eval_episodes, eval_seed(config, -1))
    run.after(done, snapshot, final=True)
    returns = np.asarray(final.pop("lifetime_returns"))
    metrics = {"algo": NAME, "env": config.env, "task": task_kind(config.env), "env_steps": done * per_update,
               "config": asdict(config), "final_eval_return": float(returns.mean()),
               "final_eval_std": float(returns.std()), "steps_to_threshold": None, "threshold": None,
               "learning_curve": curve.points, "charts/episodic_return": curve.episodes,
               **{f"losses/{k}": v for k, v in curve.losses.items()}, "meta_test": final,
               "timing": run.timing(env_steps=done * per_update)}
    shape = EnvShape(tasks.obs_dim, True, tasks.n_actions)
    return Result(net, metrics, shape, "argmax")


def save_agent(path: str | Path, result: Result, config: Config) -> Path:
    """The recurrent policy as a network file (``annrl.io.network_file``); ``annrl rl eval`` does not play it."""
    from annrl.io.network_file import save_network

    return save_network(path, result.policy, {"algo": NAME, "env": config.env, "task": task_kind(config.env),
                                              "input": "[obs, one-hot previous action, previous reward, previous done]",
                                              "lifetime": config.lifetime, "arms": config.arms})
