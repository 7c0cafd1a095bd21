"""Cars on different tracks in one vectorised step: each must drive exactly as it would alone."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from annrl.envs import CarTrackVecEnv
from annrl.envs.core import CarSimulator
from annrl.errors import InputError

# Tracks of different lengths, station counts, tracking windows and candidate-list lengths.
TRACKS = ["oval", "hairpins", "family:hard:5", "s_bends", "family:easy:3"]


def _rollout(sim: CarSimulator, actions: np.ndarray, cars: list[int]) -> list[tuple]:
    """Per step, each listed car's observation, reward, flags, laps and progress."""
    out = []
    for a in actions:
        obs, reward, terminated, truncated, info = sim.step(a)
        out.append([(obs[k].tobytes(), reward[k], terminated[k], truncated[k], info["laps"][k], info["progress"][k])
                    for k in cars])
    return out


@pytest.mark.parametrize("continuous", [False, True])
@pytest.mark.parametrize("mode", [AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP, AutoresetMode.DISABLED])
def test_car_k_of_a_mixed_batch_drives_as_a_single_env_on_its_track(continuous, mode):
    n, steps = len(TRACKS), 400
    rng = np.random.default_rng(7)
    # Mostly full throttle, so cars crash, restart and crash again within the rollout.
    if continuous:
        actions = np.stack([rng.uniform(-1, 1, (steps, n)), rng.uniform(0.5, 1, (steps, n))], axis=2)
    else:
        actions = rng.choice(5, size=(steps, n), p=[0.2, 0.2, 0.1, 0.4, 0.1])
    mixed = CarSimulator(TRACKS, n, continuous=continuous, autoreset_mode=mode)
    mixed.reset([np.random.default_rng(100 + k) for k in range(n)])
    got = _rollout(mixed, actions, list(range(n)))
    assert mixed.mixed and mixed.stack.far is not None  # the windows differ: the padded search is exercised
    assert "tail_row" in mixed.tab  # and some rays read the compacted tails of long candidate lists
    for k, track in enumerate(TRACKS):
        alone = CarSimulator(track, 1, continuous=continuous, autoreset_mode=mode)
        alone.reset([np.random.default_rng(100 + k)])
        want = _rollout(alone, actions[:, k : k + 1], [0])
        assert [row[k] for row in got] == [row[0] for row in want], f"car {k} on {track}"
    # Some episodes ended and restarted (or parked) on the way: the restarts were compared too.
    assert sum(row[k][2] for row in got for k in range(n)) >= n


def test_set_track_with_a_mask_moves_only_those_cars():
    env = CarTrackVecEnv(4, "oval", autoreset_mode="Disabled")
    env.reset(seed=3)
    for _ in range(20):
        env.step(np.full(4, 3))
    before = env.sim.state.take(slice(0, 2))
    env.sim.set_track("hairpins", mask=np.array([False, False, True, True]))
    assert [t.name for t in env.sim.car_tracks] == ["oval", "oval", "hairpins", "hairpins"]
    kept = env.sim.state.take(slice(0, 2))
    assert np.array_equal(kept.x, before.x) and np.array_equal(kept.progress, before.progress)
    assert np.array_equal(env.sim.stack.local(env.sim.state.station)[:2], before.station)
    assert np.all(env.sim.state.steps[2:] == 0)  # the moved cars start over, on their new track
    start = env.sim.stack.start
    assert np.allclose(env.sim.state.x[2:], start[0][2:], atol=1.0)


def test_a_list_of_tracks_must_have_one_per_car():
    with pytest.raises(InputError, match="one per car"):
        CarTrackVecEnv(3, ["oval", "hairpins"])
