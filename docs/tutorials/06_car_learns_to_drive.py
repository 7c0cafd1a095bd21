# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. A car that learns to drive: a genetic algorithm, then PPO
#
# The notes end with a Unity demo in which *"cars learn to navigate themselves through different
# courses. The cars are steered by a feedforward neural network. The weights of the network are trained
# using a modified genetic algorithm"*, and the verdict *"training by genetic algorithm is no go. The
# result is cool tho."* Here the same car, in Python: a Gymnasium environment, a small network that
# steers it, trained first by a genetic algorithm and then by PPO, a policy-gradient method, and watched
# as an animation. Every learned part is an annrl network.
#
# ## The maths
#
# The car sees six numbers, its **observation** $o$: five distances to the walls along rays from $-90°$
# to $+90°$, and its speed. A **policy** network $\pi_\theta$ (6 inputs, tanh hidden units) turns $o$
# into an action: steer left or right, faster, slower, or nothing (five discrete actions), or a
# continuous (steer, throttle) pair. Each step pays the distance gained along the track (100 a lap);
# touching a wall ends the episode with $-10$.
#
# - **Genetic algorithm.** A population of $P$ weight vectors $\theta_1, \dots, \theta_P$ (annrl keeps them as
#   one `(P, D)` array and drives all $P$ cars in one batched step). Each generation: score every
#   network by its fitness $F(\theta_i)$ (the distance it drove), keep the best few unchanged, breed the
#   rest from parents chosen by tournament (uniform crossover, then Gaussian mutation of some weights).
#   No gradient anywhere.
# - **PPO** (proximal policy optimisation). A stochastic policy $\pi_\theta(a \mid o)$ and a value network
#   $V(o)$. From a batch of experience it estimates the advantage $\hat A_t$ of every action (how much
#   better than expected it turned out, by generalised advantage estimation) and raises the probability
#   of good actions with the clipped objective
#   $$ L(\theta) = \mathbb{E}_t\Big[\min\big(r_t(\theta) \hat A_t,\
#      \mathrm{clip}(r_t(\theta), 1 - \epsilon, 1 + \epsilon)\, \hat A_t\big)\Big],
#      \qquad r_t(\theta) = \frac{\pi_\theta(a_t \mid o_t)}{\pi_{\theta_\text{old}}(a_t \mid o_t)} , $$
#   which keeps each update close to the policy that collected the data. annrl differentiates it by
#   hand, through the same backward pass as every other network.

# %%
import os

# PPO's matrices are small: one BLAS thread is faster than several competing for the cores (set before NumPy loads)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML
from matplotlib import animation

import annrl.envs  # registers "annrl/CarTrack-v0"
from annrl.agents import get_algorithm, make_rng

env = gym.make("annrl/CarTrack-v0", track="oval", render_mode="rgb_array")
obs, info = env.reset(seed=0)
print("observation:", np.round(obs, 3), " actions:", env.action_space, annrl.envs.ACTION_NAMES)
plt.figure(figsize=(7, 4))
plt.imshow(env.render())
plt.axis("off")
plt.title("The oval: walls, centre line, the car and its five rays")
plt.show()

# %% [markdown]
# ## Watching a policy drive
#
# One helper plays an episode (one lap, by default) with any policy `act(observation) -> action` and keeps
# every few frames; another turns them into an animation that plays in the notebook (matplotlib's
# `FuncAnimation`, embedded as JavaScript with `to_jshtml`).

# %%
def drive(act, continuous=False, seed=0, laps=1, max_steps=1000, every=12):
    """Play one episode on the oval until `laps` laps, a crash or `max_steps`; return the kept frames
    (at half resolution, which keeps the animation light) and the last info."""
    car = gym.make("annrl/CarTrack-v0", track="oval", continuous=continuous, render_mode="rgb_array")
    obs, info = car.reset(seed=seed)
    frames = [car.render()[::2, ::2]]
    for step in range(1, max_steps + 1):
        obs, reward, terminated, truncated, info = car.step(act(obs))
        done = terminated or truncated or info["laps"] >= laps
        if step % every == 0 or done:
            frames.append(car.render()[::2, ::2])
        if done:
            break
    car.close()
    return frames, info


def animate(frames, title):
    fig, ax = plt.subplots(figsize=(4.5, 2.6), dpi=72)
    image = ax.imshow(frames[0])
    ax.set_axis_off()
    ax.set_title(title)
    anim = animation.FuncAnimation(fig, lambda k: [image.set_data(frames[k])], frames=len(frames), interval=80)
    plt.close(fig)  # show the animation only, not a static copy of its first frame
    return HTML(anim.to_jshtml())


env.action_space.seed(0)
frames, info = drive(lambda obs: env.action_space.sample(), max_steps=300, every=10)
print("random actions:", {key: info[key] for key in ("laps", "crashed")})
animate(frames, "Random actions")

# %% [markdown]
# ## A genetic algorithm
#
# 32 networks of 16 tanh units, evolved for a small budget of car steps. A training episode ends when a
# car has not reached a new checkpoint for 7 simulated seconds (cars that stand still or circle cost
# little); the fitness is the distance driven. Every `eval_every` steps the best network drives evaluation
# episodes by the car's own rules: that is the learning curve.

# %%
ga = get_algorithm("ga")
ga_config = ga.Config(env="annrl/CarTrack-v0", track="oval", population=32, hidden="16", total_steps=60_000,
                      eval_every=10_000, eval_episodes=2, final_eval_episodes=2, seed=0)
ga_result = ga.train(ga_config, make_rng(0))
print({key: ga_result.metrics[key] for key in ("generations", "env_steps", "final_eval_return", "final_eval_laps")})

# %% [markdown]
# The evaluation return is the distance along the track (100 a lap, 3 laps end an episode) minus 10 for a
# crash, so about 300 means three clean laps.

# %%
def act_with(result):
    return lambda obs: result.act(np.asarray(obs)[None])[0]


frames, info = drive(act_with(ga_result))
print("the evolved driver:", {key: info[key] for key in ("laps", "crashed")})
animate(frames, "After evolution (genetic algorithm)")

# %% [markdown]
# ## PPO
#
# Now learning from the reward at every step instead of one fitness per episode. With continuous
# (steer, throttle) actions, 16 cars driving in parallel, rollouts of 128 steps and 10 passes of Adam over
# each (the recipe measured in `docs/neural_rl.md`), we give PPO a budget of the same order and see how
# far it gets.

# %%
ppo = get_algorithm("ppo")
ppo_config = ppo.Config(env="annrl/CarTrack-v0", track="oval", continuous=True, num_envs=16, num_steps=128,
                        minibatch_size=512, update_epochs=10, lr=3e-4, gamma=0.99, gae_lambda=0.95,
                        reward_scale=0.1, ent_coef=0.01, anneal=False, total_steps=50_000, eval_every=4_096,
                        eval_episodes=2, final_eval_episodes=2, seed=0)
ppo_result = ppo.train(ppo_config, make_rng(0))
print({key: ppo_result.metrics[key] for key in ("env_steps", "steps_to_threshold", "final_eval_return",
                                                "final_eval_laps")})

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
for name, result in (("genetic algorithm", ga_result), ("PPO", ppo_result)):
    curve = np.array(result.metrics["learning_curve"])
    ax.plot(curve[:, 0], curve[:, 1], "o-", label=name)
ax.axhline(295, color="grey", ls="--", lw=0.8, label="solved (3 laps, no crash)")
ax.set(xlabel="car steps", ylabel="evaluation return", title="Learning curves on the oval")
ax.legend()
plt.show()

# %%
frames, info = drive(act_with(ppo_result), continuous=True)
print("the PPO driver:", {key: info[key] for key in ("laps", "crashed")})
animate(frames, "After PPO")

# %% [markdown]
# ## What to try next
#
# - `annrl rl train --env annrl/CarTrack-v0 --algo ga --track s_bends --out runs/car` trains on a harder
#   track and writes the run folder (checkpoints, metrics, an animation of the agent).
# - `annrl rl compare --algos dqn,ppo,ga,es` compares the four learners on one environment, several seeds.
# - A driver trained on one track can be tested on others (`track="random:1"` makes a seeded random
#   loop): does it generalise, or did it memorise the oval?
