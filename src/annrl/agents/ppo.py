"""Proximal policy optimisation (Schulman et al., 2017): clipped objective, GAE, a value network,
vectorised environments; discrete (softmax) and continuous (Gaussian) actions.

The engine has no autograd, so the gradient of the objective with respect to the networks'
outputs is written out here (:func:`categorical_output_grad`, :func:`gaussian_output_grad`,
:func:`value_output_grad`) and handed to ``net.backward``; the tests check each against finite
differences. For a minibatch of ``M`` samples with ratio ``r = exp(log pi(a|s) - log pi_old(a|s))``
and normalised advantage ``A``:

    L = mean(max(-A r, -A clip(r, 1 - eps, 1 + eps))) - ent_coef mean(H) + vf_coef 0.5 mean((V - R)^2)

Defaults are RL-Zoo's CartPole-v1 recipe (8 envs x 32 steps, 20 epochs, gamma 0.98, lambda 0.8,
learning rate and clip range annealed linearly from 1e-3 and 0.2).

The networks and the update run on NumPy or, with ``backend="torch"``, on PyTorch tensors (``device``
"cpu" or "cuda"): the pure pieces below take their array functions from their arguments. The
environments stay on NumPy, and every random number is drawn by the run's NumPy generator, so a
seed names the same run on every backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl import progress
from annrl.agents import cbp as cbp_option
from annrl.agents import grip
from annrl.agents.envs import EnvPool, car_sensors, to_actions
from annrl.agents.evaluation import eval_seed
from annrl.agents.run import Result, Run
from annrl.agents.settings import ENV_BYTES, BaseConfig, base_table, network_bytes, parse_sizes
from annrl.agents.track_plan import clean_share, moved_on, plan_of
from annrl.backend import array_namespace, check_device, to_numpy
from annrl.config import setting
from annrl.errors import InputError
from annrl.nn import MLP, Adam
from annrl.nn.optim import clip_global_norm
from annrl.validate import BETA, NON_NEGATIVE, POSITIVE, POSITIVE_INT, UNIT, check, check_sizes

NAME = "ppo"
LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class Config(grip.GripScheduleSettings, cbp_option.ContinualBackpropSettings, BaseConfig):
    """PPO hyper-parameters (RL-Zoo's CartPole-v1 recipe by default)."""

    eval_every: int = setting(2_048, "environment steps between evaluations (the learning curve).")
    hidden: str = setting("64,64", "hidden layer widths of the policy and value networks (tanh units).")
    num_envs: int = setting(8, "environments stepped in parallel.")
    num_steps: int = setting(32, "steps per environment in each rollout.")
    lr: float = setting(1e-3, "Adam learning rate (annealed linearly to 0 when anneal is on).")
    anneal: bool = setting(True, "anneal the learning rate and the clip range linearly to 0.")
    adam_beta1: float = setting(0.9, "Adam's decay of the running gradient mean.")
    adam_beta2: float = setting(0.999, "Adam's decay of the running squared gradient. Dohare et al. (2023) set it "
                                       "equal to adam_beta1 when the world changes: with beta2 > beta1 the squared "
                                       "gradient lags a jump in the gradient and the steps grow too large.")
    gamma: float = setting(0.98, "discount factor.")
    reward_scale: float = setting(1.0, "rewards are multiplied by this for learning (not in the returns reported): "
                                       "keeps values near 1 when a long discount sums many rewards.")
    gae_lambda: float = setting(0.8, "lambda of generalised advantage estimation.")
    minibatch_size: int = setting(256, "samples per gradient step.")
    update_epochs: int = setting(20, "passes over each rollout.")
    clip_coef: float = setting(0.2, "clip range of the probability ratio.")
    ent_coef: float = setting(0.0, "weight of the entropy bonus.")
    vf_coef: float = setting(0.5, "weight of the value loss.")
    max_grad_norm: float = setting(0.5, "clip the gradient of all parameters to this global norm.")
    norm_adv: bool = setting(True, "normalise advantages within each minibatch.")
    init_log_std: float = setting(0.0, "continuous actions: the first log standard deviation.")
    backend: str = setting("numpy", "where the networks and the update run: numpy or torch.")
    device: str | None = setting(None, "torch device (--backend torch): cpu (default) or cuda, cuda:1, ...")


TABLE = {**base_table(), "num_envs": POSITIVE_INT, "num_steps": POSITIVE_INT, "minibatch_size": POSITIVE_INT,
         "update_epochs": POSITIVE_INT, "lr": POSITIVE,
         "adam_beta1": BETA, "adam_beta2": BETA, "gamma": UNIT, "reward_scale": POSITIVE,
         "gae_lambda": UNIT, "clip_coef": POSITIVE,
         "ent_coef": NON_NEGATIVE, "vf_coef": NON_NEGATIVE,
         "max_grad_norm": POSITIVE, **grip.TABLE, **cbp_option.TABLE}


# -- pure pieces ----------------------------------------------------------------------------------
def gae(rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, last_values: np.ndarray, gamma: float,
        lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimates and returns.

    Parameters
    ----------
    rewards, values, dones : array, shape (T, N)
        ``dones[t]`` is 1 where the episode ended at step ``t`` (no bootstrap past it).
    last_values : array, shape (N,)
        Values of the observations after the last step.

    Returns
    -------
    advantages, returns : arrays, shape (T, N)
    """
    T = len(rewards)
    advantages = np.zeros_like(values)
    running = np.zeros_like(last_values)
    for t in range(T - 1, -1, -1):
        next_values = last_values if t == T - 1 else values[t + 1]
        alive = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_values * alive - values[t]
        running = delta + gamma * lam * alive * running
        advantages[t] = running
    return advantages, advantages + values


def log_softmax(logits: Any) -> Any:
    """``log softmax`` over the last axis, any shape."""
    xp = array_namespace(logits)
    shifted = logits - xp.max(logits, axis=-1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


def clipped_surrogate(new_logp: np.ndarray, old_logp: np.ndarray, advantages: np.ndarray,
                      clip: float) -> tuple[float, np.ndarray]:
    """The clipped policy loss ``mean(max(-A r, -A clip(r)))`` and its gradient w.r.t. ``new_logp`` ``(M,)``."""
    xp = array_namespace(new_logp)
    ratio = xp.exp(new_logp - old_logp)
    unclipped, clipped = -advantages * ratio, -advantages * xp.clip(ratio, 1.0 - clip, 1.0 + clip)
    loss = float(xp.mean(xp.maximum(unclipped, clipped)))
    # the gradient flows through the unclipped term wherever it is the larger one
    grad = xp.where(unclipped >= clipped, unclipped, xp.zeros_like(ratio)) / ratio.shape[0]
    return loss, grad


def categorical_output_grad(logits: np.ndarray, actions: np.ndarray, old_logp: np.ndarray, advantages: np.ndarray,
                            clip: float, ent_coef: float) -> tuple[float, float, np.ndarray]:
    """Policy loss, mean entropy and d(policy loss - ent_coef entropy)/d logits ``(M, A)``."""
    xp = array_namespace(logits)
    lp = log_softmax(logits)
    p = xp.exp(lp)
    loss, grad_logp = clipped_surrogate(_pick(lp, actions), old_logp, advantages, clip)
    onehot = xp.astype(actions[:, None] == xp.arange(logits.shape[1], device=logits.device), logits.dtype)
    entropy = -xp.sum(p * lp, axis=1)
    grad = grad_logp[:, None] * (onehot - p) + ent_coef * p * (lp + entropy[:, None]) / actions.shape[0]
    return loss - ent_coef * float(xp.mean(entropy)), float(xp.mean(entropy)), grad


def _pick(values: Any, actions: Any) -> Any:
    """``values[i, actions[i]]`` for every row ``i``: ``(M, A), (M,) -> (M,)``."""
    xp = array_namespace(values)
    return xp.take_along_axis(values, actions[:, None], axis=1)[:, 0]


def gaussian_log_prob(actions: np.ndarray, mean: np.ndarray, log_std: np.ndarray) -> np.ndarray:
    """``log N(actions; mean, exp(log_std)^2)`` summed over action dimensions: ``(M,)``."""
    xp = array_namespace(mean)
    z = (actions - mean) * xp.exp(-log_std)
    return xp.sum(-0.5 * z * z - log_std - 0.5 * LOG_2PI, axis=-1)


def gaussian_output_grad(mean: np.ndarray, log_std: np.ndarray, actions: np.ndarray, old_logp: np.ndarray,
                         advantages: np.ndarray, clip: float,
                         ent_coef: float) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Policy loss, entropy and the gradients w.r.t. ``mean`` ``(M, A)`` and ``log_std`` ``(A,)``."""
    xp = array_namespace(mean)
    loss, grad_logp = clipped_surrogate(gaussian_log_prob(actions, mean, log_std), old_logp, advantages, clip)
    inv_var = xp.exp(-2.0 * log_std)
    diff = actions - mean
    grad_mean = grad_logp[:, None] * diff * inv_var
    grad_log_std = xp.sum(grad_logp[:, None] * (diff * diff * inv_var - 1.0), axis=0) - ent_coef
    entropy = float(xp.sum(log_std + 0.5 * (LOG_2PI + 1.0)))
    return loss - ent_coef * entropy, entropy, grad_mean, grad_log_std


def value_output_grad(values: np.ndarray, returns: np.ndarray, vf_coef: float) -> tuple[float, np.ndarray]:
    """``0.5 mean((V - R)^2)`` and the gradient of ``vf_coef`` times it w.r.t. ``values`` ``(M,)``."""
    diff = values - returns
    return 0.5 * float(array_namespace(diff).mean(diff * diff)), vf_coef * diff / diff.shape[0]


# -- the agent ------------------------------------------------------------------------------------
class ActorCritic:
    """A policy network (logits, or Gaussian means with a free ``log_std``) and a value network."""

    def __init__(self, config: Config, obs_dim: int, n_outputs: int, discrete: bool, rng: np.random.Generator):
        hidden = parse_sizes(config.hidden)
        self.discrete = discrete
        # drawn on NumPy, then moved: a seed gives the same initial weights on every backend
        self.actor = MLP([obs_dim, *hidden, n_outputs], hidden="tanh", output="identity", init="torch", rng=rng)
        self.critic = MLP([obs_dim, *hidden, 1], hidden="tanh", output="identity", init="torch", rng=rng)
        if config.backend != "numpy":
            self.actor.to(config.backend, config.device)
            self.critic.to(config.backend, config.device)
        self.xp = self.actor.xp
        self.log_std = self.actor.asarray(np.full((1, n_outputs), float(config.init_log_std)))
        self.log_std_grad = self.xp.zeros_like(self.log_std)
        betas = (config.adam_beta1, config.adam_beta2)
        self.optimizers = {name: Adam(lr=config.lr, betas=betas, eps=1e-5) for name in ("actor", "critic", "log_std")}
        for name, opt in self.optimizers.items():
            opt.reset(self.flat(name))
        cbp = {name: cbp_option.continual_backprop(getattr(self, name), config) for name in ("actor", "critic")}
        self.cbp = cbp if config.continual_backprop else {}

    def flat(self, name: str) -> np.ndarray:
        """The parameters of part ``name`` (``actor``, ``critic``, ``log_std``), ``(1, D)``, held in place."""
        return {"actor": self.actor.flat_, "critic": self.critic.flat_, "log_std": self.log_std}[name]

    def grad(self, name: str) -> np.ndarray:
        """The gradient buffer of part ``name``, of the shape of :meth:`flat`, ``(1, D)``."""
        return {"actor": self.actor.grad, "critic": self.critic.grad, "log_std": self.log_std_grad}[name]

    def sample(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Actions, their log-probabilities ``(N,)`` and values ``(N,)`` (NumPy) for observations ``(N, d)``."""
        xp, obs = self.xp, self.actor.asarray(obs)
        out = self.actor.predict(obs)[0]
        values = self.critic.predict(obs)[0][:, 0]
        if self.discrete:
            lp = log_softmax(out)
            # the first action whose cumulative probability exceeds a uniform draw
            below = self.actor.asarray(rng.random((out.shape[0], 1))) < xp.cumulative_sum(xp.exp(lp), axis=1)
            actions = xp.argmax(xp.astype(below, xp.int8), axis=1)
            return to_numpy(actions), to_numpy(_pick(lp, actions)), to_numpy(values)
        actions = out + xp.exp(self.log_std) * self.actor.asarray(rng.standard_normal(tuple(out.shape)))
        return to_numpy(actions), to_numpy(gaussian_log_prob(actions, out, self.log_std)), to_numpy(values)

    def value(self, obs: np.ndarray) -> np.ndarray:
        """Values ``(N,)`` (NumPy) of observations ``(N, d)``."""
        return to_numpy(self.critic.predict(self.critic.asarray(obs))[0][:, 0])

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The policy's outputs ``(N, n_outputs)`` (NumPy): logits or Gaussian means."""
        return to_numpy(self.actor.predict(self.actor.asarray(obs))[0])

    def state(self) -> dict[str, np.ndarray]:
        """Each part's parameters ``(1, D)``, its Adam moments and continual backprop's statistics, for a checkpoint."""
        tensors = {name: np.array(to_numpy(self.flat(name))) for name in self.optimizers}
        for name, opt in self.optimizers.items():
            tensors.update(opt.state_arrays(f"adam.{name}."))
        for name, cbp in self.cbp.items():
            tensors.update(cbp.state(f"cbp.{name}"))
        return tensors

    def restore(self, tensors: dict[str, np.ndarray]) -> None:
        """Put back the parameters ``(1, D)``, Adam moments and continual backprop's statistics of :meth:`state`."""
        for name, opt in self.optimizers.items():
            self.flat(name)[...] = self.actor.asarray(tensors[name])
            opt.load_state_arrays(tensors, f"adam.{name}.")
        for name, cbp in self.cbp.items():
            cbp.restore(tensors, f"cbp.{name}")


def update(agent: ActorCritic, batch: dict[str, np.ndarray], config: Config, clip: float,
           rng: np.random.Generator) -> dict[str, float]:
    """``update_epochs`` passes of minibatch gradient steps over one rollout; returns the last losses.

    Parameters
    ----------
    agent : ActorCritic
        Updated in place.
    batch : dict of str to ndarray
        The rollout of ``N`` transitions: ``obs`` ``(N, d)``, ``actions`` ``(N,)`` (discrete) or
        ``(N, n_outputs)``, and ``logp``, ``advantages``, ``returns``, each ``(N,)``.
    config : Config
    clip : float
        The clipping range of the probability ratio (annealed by the caller).
    rng : numpy.random.Generator
        Draws the minibatch order.

    Returns
    -------
    dict of str to float
        ``policy_loss``, ``value_loss`` and ``entropy`` of the last minibatch.
    """
    xp, device, size = agent.xp, agent.actor.flat_.device, len(batch["obs"])
    # the rollout moves to the networks' device once; the minibatch order is drawn on NumPy
    data = {k: agent.actor.asarray(v) for k, v in batch.items() if k != "actions"}
    data["actions"] = (xp.asarray(batch["actions"].astype(np.int64), device=device) if agent.discrete
                       else agent.actor.asarray(batch["actions"]))
    stats: dict[str, float] = {}
    for _ in range(config.update_epochs):
        order = rng.permutation(size)
        for begin in range(0, size, config.minibatch_size):
            idx = xp.asarray(order[begin : begin + config.minibatch_size], device=device)
            obs, adv, actions, logp, returns = (xp.take(data[k], idx, axis=0)
                                                for k in ("obs", "advantages", "actions", "logp", "returns"))
            if config.norm_adv and idx.shape[0] > 1:
                adv = (adv - xp.mean(adv)) / (xp.std(adv, correction=1) + 1e-8)
            for name in agent.optimizers:
                agent.grad(name)[...] = 0.0
            out, actor_caches = agent.actor.forward(obs)
            if agent.discrete:
                pg_loss, entropy, grad_out = categorical_output_grad(out[0], actions, logp, adv, clip, config.ent_coef)
            else:
                pg_loss, entropy, grad_out, grad_log_std = gaussian_output_grad(
                    out[0], agent.log_std[0], actions, logp, adv, clip, config.ent_coef)
                agent.log_std_grad[0] += grad_log_std
            agent.actor.backward(grad_out[None], actor_caches)
            values, critic_caches = agent.critic.forward(obs)
            v_loss, grad_v = value_output_grad(values[0, :, 0], returns, config.vf_coef)
            agent.critic.backward(grad_v[None, :, None], critic_caches)
            clip_global_norm([agent.grad(name) for name in agent.optimizers if name != "log_std" or not agent.discrete],
                             config.max_grad_norm)
            for name, opt in agent.optimizers.items():
                if name != "log_std" or not agent.discrete:
                    opt.step(agent.flat(name), agent.grad(name))
            for name, caches in (("actor", actor_caches), ("critic", critic_caches)):
                if name in agent.cbp:
                    agent.cbp[name].update(caches, rng, agent.optimizers[name])
            stats = {"policy_loss": pg_loss, "value_loss": v_loss, "entropy": entropy}
    return stats


def train(config: Config, rng: np.random.Generator, **options: Any) -> Result:
    """Train a PPO agent; checkpoints are written between rollouts (environments replayed on resume).

    ``options`` are those of :class:`annrl.agents.run.Run` (``out``, ``resume``, ``on_eval``, ...).
    """
    check(TABLE, {k: getattr(config, k) for k in TABLE})
    rollout = config.num_envs * config.num_steps
    check_sizes({f"--num-envs {config.num_envs} environments": ENV_BYTES * config.num_envs,
                 f"rollouts of --num-envs {config.num_envs} x --num-steps {config.num_steps}": 64 * rollout,
                 f"--hidden {config.hidden} networks": 2 * network_bytes(
                     config.hidden, batch=max(config.minibatch_size, config.num_envs, rollout))})
    schedule = grip.grip_schedule(config, config.num_envs)
    check_device(config.backend, config.device)
    if config.backend != "numpy" and config.continual_backprop:
        raise InputError("--continual-backprop runs on --backend numpy only", field="--continual-backprop")
    envs = EnvPool(config.env, config.num_envs, track=config.track, continuous=config.continuous,
                   sensors=car_sensors(config), plan=plan_of(config))
    stages: list[list[int]] = []  # [env_steps, stage] each time a --tracks curriculum moves on
    grip.follow(envs, schedule)
    shape = envs.shape
    agent = ActorCritic(config, shape.obs_dim, shape.n_outputs, shape.discrete, rng)
    mode = "argmax" if shape.discrete else "clip"
    per_rollout = config.num_envs * config.num_steps
    iterations = max(1, config.total_steps // per_rollout)
    run, iteration = Run(NAME, config, rng, total=iterations * per_rollout, threshold=shape.threshold, **options), 0
    restored = run.restore()
    if restored is None:
        obs = envs.reset(rng)
    else:
        iteration, tensors, _ = restored
        agent.restore(tensors)
        grip.seek(envs, schedule, iteration * config.num_steps, tensors)
        obs = envs.restore(tensors)
    rng = run.rng

    def snapshot():
        return {**agent.state(), **envs.state()}, {}

    def deterministic(o: np.ndarray) -> np.ndarray:
        return to_actions(agent.act(o), shape, mode)

    T, N = config.num_steps, config.num_envs
    act_shape = () if shape.discrete else (shape.n_outputs,)
    recent_obs = obs
    with run.closing(envs):
        while iteration < iterations and not run.solved:
            frac = 1.0 - iteration / iterations if config.anneal else 1.0
            for opt in agent.optimizers.values():
                opt.lr = frac * config.lr
            buf = {"obs": np.zeros((T, N, shape.obs_dim)), "actions": np.zeros((T, N, *act_shape)),
                   "logp": np.zeros((T, N)), "values": np.zeros((T, N)), "rewards": np.zeros((T, N)),
                   "dones": np.zeros((T, N))}
            for t in range(T):
                actions, logp, values = agent.sample(obs, rng)
                env_actions = actions if shape.discrete else np.clip(actions, shape.low, shape.high).astype(np.float32)
                next_obs, reward, terminated, truncated, final_obs, finished = envs.step(env_actions, rng)
                reward = config.reward_scale * reward
                cut = truncated & ~terminated
                if cut.any():  # a time limit is not the end of the task: bootstrap from the last state
                    reward = reward + config.gamma * cut * agent.value(final_obs)
                for key, value in (("obs", obs), ("actions", actions), ("logp", logp), ("values", values),
                                   ("rewards", reward), ("dones", terminated | truncated)):
                    buf[key][t] = value
                obs = next_obs
                step = iteration * per_rollout + (t + 1) * N
                run.curve.episodes.extend([step, r] for r in finished)
                run.bar.update(min(step, run.total))  # the bar moves within a rollout, not once per rollout
            last_values = agent.value(obs)
            advantages, returns = gae(buf["rewards"], buf["values"], buf["dones"], last_values, config.gamma,
                                      config.gae_lambda)
            batch = {k: v.reshape(T * N, *v.shape[2:]) for k, v in buf.items()}
            batch.update(advantages=advantages.reshape(-1), returns=returns.reshape(-1))
            recent_obs = batch["obs"]  # what the hidden units are judged on at the end
            stats = update(agent, batch, config, frac * config.clip_coef, rng)
            iteration += 1
            env_steps = iteration * per_rollout
            for name, value in stats.items():
                run.curve.add_loss(name, env_steps, value)
            progress.record(env_steps, learning_rate=frac * config.lr)
            if env_steps // config.eval_every > (env_steps - per_rollout) // config.eval_every \
                    or iteration == iterations:
                result = grip.evaluate_on_grip(deterministic, config, config.eval_episodes,
                                               eval_seed(config, iteration), grip.grip_in_force(envs, schedule),
                                               envs.plan)
                run.evaluated(env_steps, float(result.returns.mean()), float(result.lengths.mean()))
                moved_on(envs.plan, env_steps, result, stages)
            run.after(iteration, snapshot)
        final_grip = grip.grip_in_force(envs, schedule)
    final = grip.evaluate_on_grip(deterministic, config, config.final_eval_episodes, eval_seed(config, -1), final_grip,
                                  envs.plan)
    run.after(iteration, snapshot, final=True)
    env_steps = iteration * per_rollout
    metrics = run.metrics(env_steps, final)
    if schedule is not None:
        metrics["grip_recovery"] = grip.recovery(run.curve.points, config.grip_every)
    if envs.plan is not None:
        metrics["tracks"] = {**envs.plan.describe(), "moved_on": stages, "final_clean_share": clean_share(final)}
    metrics["continual_backprop"] = cbp_option.hidden_unit_report(agent.actor, agent.actor.asarray(recent_obs),
                                                                   agent.cbp.get("actor"))
    metrics["timing"] = run.timing(env_steps=env_steps)
    policy = agent.actor if config.backend == "numpy" else agent.actor.to("numpy")  # saved, drawn, replayed on NumPy
    return Result(policy, metrics, shape, mode, {"log_std": to_numpy(agent.log_std).tolist()})
