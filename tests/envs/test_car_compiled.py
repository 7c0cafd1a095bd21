"""The compiled car step (annrl.envs.compiled) against the NumPy (array-API) physics, step by step."""

import importlib.util

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annrl.envs import CarSettings, compiled
from annrl.envs.core import CarSimulator
from annrl.envs.policies import HeuristicDriver
from annrl.envs.track_families import training_track
from annrl.envs.tracks import list_tracks
from annrl.errors import InputError

needs_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="annrl[fast] not installed")

FLOAT_FIELDS = ("x", "y", "heading", "speed", "arc", "progress", "stall_clock")
INT_FIELDS = ("station", "checkpoint", "steps", "crashed", "lane")
TOLERANCE = 1e-12
ACTION_MIX = [0.2, 0.2, 0.1, 0.4, 0.1]  # left, right, straight, faster, slower: random cars move and crash


def agree(out, sims) -> bool:
    """Whether the two steps' results and states agree: floats within TOLERANCE, the rest exactly; every info
    entry (final observations and final info included) with the same keys."""
    (obs_np, rew_np, term_np, trunc_np, info_np), (obs_c, rew_c, term_c, trunc_c, info_c) = out
    floats = [(obs_c, obs_np), (rew_c, rew_np)] + [(getattr(sims[1].state, f), getattr(sims[0].state, f))
                                                  for f in FLOAT_FIELDS]
    exact = [(term_c, term_np), (trunc_c, trunc_np)] + [
        (getattr(sims[1].state, f), getattr(sims[0].state, f)) for f in INT_FIELDS]
    if list(info_c) != list(info_np) or list(info_c.get("final_info", {})) != list(info_np.get("final_info", {})):
        return False
    infos = [(info_c, info_np)] + ([(info_c["final_info"], info_np["final_info"])] if "final_info" in info_np else [])
    for ours, theirs in infos:
        floats += [(ours[k], theirs[k]) for k in ours if k in ("progress", "final_obs")]
        exact += [(ours[k], theirs[k]) for k in ours if k not in ("progress", "final_obs", "final_info")]
    return (max(float(np.max(np.abs(a.astype(np.float64) - b))) for a, b in floats) <= TOLERANCE
            and all(np.array_equal(a, b) for a, b in exact))


def drive_both(track, n: int, steps: int, *, seed: int = 0, continuous: bool = False, mode="SameStep",
               settings: CarSettings | None = None, change=None, num_threads: int = 1) -> int:
    """Step a NumPy and a compiled simulator side by side; assert they agree after every step.

    Half the cars follow the heuristic driver (they drive laps), half act at random (they crash and
    restart). ``change(sim, step)`` may alter each simulator before a step. Returns how many episodes
    ended, so that callers can check the resets were exercised.
    """
    sims = [CarSimulator(track, n, settings, continuous=continuous, autoreset_mode=mode, kernel=kernel,
                         num_threads=num_threads) for kernel in ("numpy", "compiled")]
    rngs = [[np.random.default_rng(seed + k) for k in range(n)] for _ in sims]
    obs = [sim.reset(r)[0] for sim, r in zip(sims, rngs, strict=True)]
    driver = HeuristicDriver(sims[0].settings, continuous=continuous)
    actions_rng, ended = np.random.default_rng(seed), 0
    for step in range(steps):
        actions = driver(obs[0])
        random = actions_rng.uniform(-1, 1, (n, 2)) if continuous else actions_rng.choice(5, n, p=ACTION_MIX)
        actions[n // 2:] = random[n // 2:]
        if change is not None:
            for sim in sims:
                change(sim, step)
        out = [sim.step(actions) for sim in sims]
        assert sims[1].kernel_used == ("numpy" if sims[1].compiled is None else "compiled")
        if not agree(out, sims):  # (one cheap test per step; the asserts below say what differs)
            for a, b, name in zip(out[1][:4], out[0][:4], ("obs", "reward", "terminated", "truncated"), strict=True):
                np.testing.assert_allclose(a, b, rtol=0, atol=TOLERANCE, err_msg=f"{name}, step {step}")
            for name in FLOAT_FIELDS + INT_FIELDS:
                np.testing.assert_allclose(getattr(sims[1].state, name), getattr(sims[0].state, name), rtol=0,
                                           atol=TOLERANCE, err_msg=f"{name}, step {step}")
            for key in out[0][4]:
                if key != "final_info":
                    np.testing.assert_allclose(out[1][4][key], out[0][4][key], rtol=0, atol=TOLERANCE,
                                               err_msg=f"info {key}, step {step}")
            raise AssertionError(f"the info keys differ at step {step}: {list(out[1][4])} against {list(out[0][4])}")
        obs_np, obs_c = out[0][0], out[1][0]
        ended += int(np.sum(out[0][2] | out[0][3]))
        obs = [obs_np, obs_c]
    return ended


@needs_numba
@pytest.mark.parametrize("track", list_tracks())
def test_compiled_step_equals_numpy_on_every_shipped_track(track):
    # 10,000 steps: the heuristic cars drive laps (checkpoints, lap ends), the random ones crash and restart.
    ended = drive_both(track, 4, 10_000, settings=CarSettings(laps=2))
    assert ended > 25


@needs_numba
@pytest.mark.parametrize("mode", ["SameStep", "NextStep", "Disabled"])
def test_compiled_step_on_two_threads_equals_numpy(mode):
    # enough cars for the kernel to split them over two threads (compiled.PARALLEL_CARS)
    settings = CarSettings(laps=1, max_episode_steps=250)
    assert drive_both("s_bends", compiled.PARALLEL_CARS, 300, seed=9, mode=mode, settings=settings,
                      num_threads=2) > 100


@needs_numba
@pytest.mark.slow
@pytest.mark.parametrize("track", list_tracks())
def test_compiled_step_equals_numpy_long(track):
    drive_both(track, 64, 10_000, seed=7, settings=CarSettings(laps=1, max_episode_steps=700))


@needs_numba
def test_compiled_step_equals_numpy_continuous_next_step_and_stall():
    settings = CarSettings(stall_time=3.0, steer_bias=0.05, crash_penalty=5.0)
    assert drive_both("s_bends", 8, 2_000, seed=3, continuous=True, mode="NextStep", settings=settings) > 10


@needs_numba
def test_compiled_step_follows_settings_changed_mid_run():
    def change(sim, step):
        if step == 300:
            sim.set_settings(CarSettings(grip=4.0, max_speed=18.0, steer_bias=-0.1, n_checkpoints=30, drag=0.2))
        if step == 600:
            sim.dynamics.accel[::2] *= 1.5  # per-car parameters changed in place are read afresh

    drive_both("s_bends", 8, 900, seed=2, change=change)


@needs_numba
@pytest.mark.parametrize("mode", ["SameStep", "NextStep"])
def test_restarts_match_when_the_paths_take_turns_and_generators_change(mode):
    # The compiled step restarts cars with jitter drawn ahead from their generators, the NumPy path draws it
    # when needed: one simulator switching between them must restart cars as the NumPy one does, also after
    # a reset that gives some cars new generators (what was drawn ahead from the old ones is dropped).
    kernels = {}

    def change(sim, step):
        if sim.compiled is not None or step == 400:
            kernels.setdefault(id(sim), sim.compiled)
        if step in (200, 400):  # the compiled simulator steps with NumPy from 200 to 400
            sim.compiled = None if step == 200 else kernels[id(sim)]
        if step == 600:
            mask = np.arange(sim.n) % 3 == 0
            fresh = [np.random.default_rng(100 + k) for k in range(sim.n)]
            sim.reset([new if m else old for new, old, m in zip(fresh, sim.rngs, mask, strict=True)], mask)

    assert drive_both("hairpins", 12, 900, seed=4, mode=mode, change=change) > 20


@needs_numba
def test_compiled_step_names_a_bad_action_and_changes_nothing():
    sim = CarSimulator("oval", 4, kernel="compiled", autoreset_mode="NextStep")
    sim.reset([np.random.default_rng(k) for k in range(4)])
    sim.step(np.full(4, 3))
    before = sim.state.x.copy(), sim.obs.copy()
    with pytest.raises(InputError, match=r"discrete actions must lie in \[0, 4\], got 0..5"):
        sim.step(np.array([0, 5, 3, 3]))
    np.testing.assert_array_equal(sim.state.x, before[0])
    np.testing.assert_array_equal(sim.obs, before[1])
    with pytest.raises(InputError, match=r"discrete actions must be integers of shape \(4,\)"):
        sim.step(np.full(4, 3.0))


@pytest.mark.parametrize("kernel", ["numpy", pytest.param("compiled", marks=needs_numba)])
def test_a_nan_action_is_refused_naming_the_car(kernel):
    sim = CarSimulator("oval", 4, continuous=True, kernel=kernel)
    sim.reset([np.random.default_rng(k) for k in range(4)])
    actions = np.zeros((4, 2))
    actions[2, 1] = np.nan
    actions[1, 0] = np.inf  # clipped to 1, as before
    with pytest.raises(InputError, match="continuous actions must be numbers, got NaN for car 2$"):
        sim.step(actions)
    actions[2, 1] = 0.0
    sim.step(actions)
    assert np.isfinite(sim.state.x).all()
    one = CarSimulator("oval", 1, continuous=True, autoreset_mode="Disabled")  # the one-car scalar path
    one.reset([np.random.default_rng(0)])
    with pytest.raises(InputError, match="got NaN for car 0$"):
        one.step(np.array([[0.5, np.nan]]))


@needs_numba
def test_a_car_whose_settings_turn_nan_cannot_make_the_compiled_step_read_outside_its_tables():
    # A NaN heading or lateral offset would make the ray sector and the lane huge integers; the kernel clamps
    # them, the car's own numbers go NaN as NumPy's do, and every other car drives on unchanged.
    sims = [CarSimulator("hairpins", 6, kernel=kernel, autoreset_mode="NextStep") for kernel in ("numpy", "compiled")]
    for sim in sims:
        sim.reset([np.random.default_rng(k) for k in range(6)])
        sim.dynamics.accel[3] = np.nan
        sim.dynamics.steer_gain[3] = np.inf
    for step in range(300):
        out = [sim.step(np.full(6, 3 if step % 7 else 0)) for sim in sims]
        others = np.arange(6) != 3
        np.testing.assert_array_equal(out[1][0][others], out[0][0][others])
        np.testing.assert_array_equal(sims[1].state.x[others], sims[0].state.x[others])
    assert np.isnan(sims[1].state.speed[3]) and np.isnan(sims[0].state.speed[3])


ODD_NUMBERS = st.sampled_from([0.0, -1.0, 1e-300, 1e300, np.inf, -np.inf, np.nan, 3.5])


@needs_numba
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from(["SameStep", "NextStep", "Disabled"]), continuous=st.booleans(),
       field=st.sampled_from(["max_speed", "accel", "brake", "drag", "steer_gain", "grip", "car_radius", "max_range"]),
       value=ODD_NUMBERS, action=ODD_NUMBERS, seed=st.integers(0, 2**16))
def test_odd_actions_and_settings_give_an_error_or_numbers_never_a_crash(mode, continuous, field, value, action,
                                                                          seed):
    # Numba checks no array bounds: whatever the user puts in an action or a per-car setting must end in an
    # InputError or in (possibly NaN) numbers, never in a read outside a table. A crash here kills the test run.
    rng = np.random.default_rng(seed)
    sim = CarSimulator(training_track("hard", seed % 5), 4, continuous=continuous, autoreset_mode=mode,
                       kernel="compiled")
    sim.reset([np.random.default_rng(seed + k) for k in range(4)])
    target = sim.sensors.max_range[:, 0] if field == "max_range" else (
        sim.car_radius if field == "car_radius" else getattr(sim.dynamics, field))
    target[rng.integers(4)] = value
    for _ in range(40):
        if continuous:
            actions = rng.uniform(-1, 1, (4, 2))
            actions[rng.integers(4), rng.integers(2)] = action
        else:
            actions = rng.integers(0, 5, 4)
            if np.isfinite(action):  # (1e300 as the largest int64 there is)
                actions[rng.integers(4)] = int(np.clip(action, -2**63, 2**63 - 1024))
        try:
            obs, reward, terminated, truncated, info = sim.step(actions)
        except InputError:
            continue
        assert obs.shape == (4, sim.n_obs) and reward.shape == terminated.shape == (4,)
        assert set(info) >= {"laps", "progress", "checkpoints", "crashed", "success"}


@needs_numba
def test_compiled_step_equals_numpy_parked_cars():
    assert drive_both("hairpins", 8, 600, seed=5, mode="Disabled") > 0


@needs_numba
def test_compiled_step_equals_numpy_on_mixed_tracks():
    tracks = [training_track("hard", seed) for seed in range(3)] + ["oval"]
    drive_both([tracks[k % 4] for k in range(8)], 8, 1_500, seed=11)


@needs_numba
def test_compiled_step_falls_back_to_numpy_for_an_observation_it_does_not_write(monkeypatch):
    sim = CarSimulator("oval", 4, kernel="compiled")
    sim.reset([np.random.default_rng(k) for k in range(4)])
    monkeypatch.setattr(CarSimulator, "n_obs", property(lambda self: self.settings.n_rays + 2))
    assert "observation" in compiled.why_not(sim)
    sim.step(np.full(4, 3))
    assert sim.kernel_used == "numpy"


def test_kernel_compiled_without_numba_names_the_extra(monkeypatch):
    monkeypatch.setattr(compiled, "available", lambda: False)
    with pytest.raises(InputError, match=r'pip install "annrl\[fast\]"'):
        CarSimulator("oval", 4, kernel="compiled")
    assert CarSimulator("oval", 512, kernel="auto").compiled is None  # auto falls back quietly


@needs_numba
def test_kernel_must_be_a_known_name():
    with pytest.raises(InputError, match="kernel must be one of auto, numpy, compiled, got 'fast'"):
        CarSimulator("oval", 2, kernel="fast")
    assert CarSimulator("oval", 2, kernel="auto").compiled is None  # too few cars to pay for loading it
    assert CarSimulator("oval", compiled.AUTO_MIN_CARS, kernel="auto").compiled is not None
