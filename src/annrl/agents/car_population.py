"""A population's episodes on the car, compiled: every network drives its own car, step and forward fused.

What :class:`~annrl.agents.neuroevolution.PopulationEvaluator` does between two generations of the GA
or ES, as one Numba kernel: car ``i`` is driven by network ``i // E``; each step runs the network's
forward pass on the car's observation, turns the outputs into an action as
:func:`~annrl.agents.envs.to_actions` does, and moves the car with
:func:`annrl.envs.car_kernels.step_car`, until its first episode ends. Cars are independent, so they
run in parallel, each to its own end, with no step of the batch waiting for the slowest car.

The resets stay NumPy's (``env.reset(seed=...)``), and the car's step is NumPy's to the last bit; the
forward pass sums each unit's inputs in order where NumPy's matmul may not, so outputs can differ in
the last bit, which moves an argmax only on an exact tie (tests check the GA's fitness and weights
against the NumPy path, seed for seed). :func:`why_not` needs no Numba; the kernel loads it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annrl.agents.evaluation import Episodes
from annrl.envs.compiled import why_not as car_why_not
from annrl.nn.activations import Identity, Tanh
from annrl.nn.compiled.rules import ACTIVATION_CODES, dense_plan

#: the activations the fused forward knows (the policy networks of GA and ES use these)
FUSED_ACTIVATIONS = {ACTIVATION_CODES[Identity], ACTIVATION_CODES[Tanh]}
#: the step limit of annrl.agents.evaluation.run_episodes
MAX_STEPS = 100_000


def why_not(env: Any, net: Any) -> str | None:
    """Why the fused kernel cannot play ``net`` on ``env``, in a few words (None: it can)."""
    sim = getattr(getattr(env, "unwrapped", env), "sim", None)
    if sim is None:
        return "the environment is not the car"
    if sim.autoreset_mode.name != "DISABLED":
        return "the car restarts finished episodes"
    if sim.settings.disturbed_sensors:
        return "sensor noise or dropout (drawn for all cars at once each step)"
    plan = dense_plan(net) if isinstance(net.flat_, np.ndarray) else "the network is not NumPy"
    if isinstance(plan, str):
        return plan
    if not set(plan.acts.tolist()) <= FUSED_ACTIVATIONS:
        return "an activation other than tanh or identity"
    return car_why_not(sim)


def play(env: Any, net: Any, thetas: np.ndarray, episodes: int, seed: int, low=None, high=None) -> Episodes:
    """Each network's ``episodes`` first episodes on ``env`` (``P * episodes`` cars), reset with ``seed``.

    Parameters
    ----------
    env : CarTrackVecEnv
        ``P * episodes`` cars, autoreset disabled; car ``i`` is driven by network ``i // episodes``.
    net : MLP
        Its layer plan only (Dense + tanh/identity); the parameters are ``thetas``.
    thetas : array, shape (P, D)
    low, high : array-like, shape (2,), optional
        The continuous action box, onto which outputs in [-1, 1] are mapped (to_actions' "scale").

    Returns
    -------
    Episodes
        Returns, lengths and laps ``(P * episodes,)``, as :func:`~annrl.agents.evaluation.run_episodes`.
    """
    from annrl.agents import car_population_kernel as kernel
    from annrl.envs.compiled import pack

    obs, _ = env.reset(seed=seed)
    sim = env.unwrapped.sim
    st, n, plan = sim.state, sim.n, dense_plan(net)
    floats = np.stack([st.x, st.y, st.heading, st.speed, st.arc, st.progress, st.stall_clock])
    ints = np.stack([st.station, st.checkpoint, st.steps, st.lane]).astype(np.int64)
    crashed = np.array(st.crashed, dtype=np.bool_)
    obs = np.ascontiguousarray(obs, dtype=np.float32)
    returns, lengths, laps = np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    box = np.array([low or (-1.0, -1.0), high or (1.0, 1.0)], dtype=np.float64)  # (): a discrete car
    policy = (np.ascontiguousarray(thetas, dtype=np.float64), plan.units, plan.w_off, plan.b_off, plan.acts)
    controls = (np.ascontiguousarray(sim.controls, dtype=np.float64), box,
                np.array([float(sim.settings.steer_bias), float(sim.continuous)]))
    import numba

    with numba.parallel_chunksize(1):  # cars to threads as they come free: episodes differ in length
        kernel.play(*policy, int(episodes), *controls, floats, ints, crashed, obs, np.zeros((n, 2, plan.units.max())),
                    returns, lengths, laps,
                    int(sim.settings.laps), MAX_STEPS, *pack(sim))
    return Episodes(returns, lengths, laps)
