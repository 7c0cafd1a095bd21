"""``rl train``'s car sensor flags: checked on entry, kept in the saved policy, restored wherever it drives."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rl_helpers import run

from annrl.agents import load_policy
from annrl.agents.envs import EARLIEST_SENSORS, EnvShape, make_env
from annrl.agents.evaluation import evaluate
from annrl.errors import InputError

SENSORS = {"n_rays": 7, "ray_spread_deg": 120.0, "max_range": 40.0, "observe_turn_rate": True}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny GA driver trained with 7 rays over 120 degrees, 40 m, and the turn rate."""
    out = tmp_path_factory.mktemp("sensors") / "ga"
    assert run(["rl", "train", "--algo", "ga", "--env", "annrl/CarTrack-v0", "--track", "oval", "--continuous",
                "--n-rays", "7", "--ray-spread-deg", "120", "--max-range", "40", "--observe-turn-rate",
                "--population", "4", "--episodes-per-member", "1", "--hidden", "4", "--steps", "2000",
                "--eval-every", "2000", "--eval-episodes", "1", "--final-eval-episodes", "2", "--no-figures",
                "--no-progress", "--out", str(out), "--json"]) == 0
    return out


def test_the_sensors_are_recorded_in_the_config_and_the_policy(trained):
    config = json.loads((trained / "metrics.json").read_text())["config"]
    assert {k: config[k] for k in SENSORS} == SENSORS
    policy = load_policy(trained)
    assert policy.shape.obs_dim == 9 and policy.shape.sensors == SENSORS  # 7 rays, speed, turn rate


def test_rl_eval_replays_with_the_sensors_it_was_trained_with(trained, capsys):
    capsys.readouterr()
    assert run(["rl", "eval", str(trained), "--episodes", "2", "--seed", "0", "--json"]) == 0
    returns = json.loads(capsys.readouterr().out)["returns"]
    policy = load_policy(trained)
    explicit = evaluate(policy, "annrl/CarTrack-v0", 2, 0, track="oval", continuous=True, sensors=SENSORS)
    assert returns == explicit.returns.tolist()


def test_car_drive_and_benchmark_use_the_checkpoints_sensors(trained, tmp_path):
    assert run(["car", "drive", "--policy", "checkpoint", "--checkpoint", str(trained), "--continuous",
                "--track", "oval", "--episodes", "1", "--max-steps", "50", "--video", "none",
                "--out", str(tmp_path / "drive")]) == 0
    settings = json.loads((tmp_path / "drive" / "metrics.json").read_text())["settings"]
    assert {k: settings[k] for k in SENSORS} == SENSORS
    assert run(["car", "benchmark", "--policy", "checkpoint", "--checkpoint", str(trained), "--limit", "1",
                "--out", str(tmp_path / "bench")]) == 0
    assert json.loads((tmp_path / "bench" / "metrics.json").read_text())["sensors"] == SENSORS


def test_policies_saved_before_sensors_were_kept_see_with_the_first_layout():
    pretrained = load_policy("pretrained")
    assert pretrained.shape.sensors == EARLIEST_SENSORS and pretrained.shape.obs_dim == 6


@pytest.mark.parametrize(("flags", "message"), [
    (["--n-rays", "65"], r"--n-rays must be an integer in \[1, 64\], got 65"),
    (["--n-rays", "0"], r"--n-rays must be an integer in \[1, 64\], got 0"),
    (["--ray-spread-deg", "400"], r"--ray-spread-deg must be .*360.*, got 400"),
    (["--max-range", "0"], r"--max-range must be .*> 0.*, got 0"),
])
def test_bad_sensor_flags_are_refused_in_one_line(flags, message, tmp_path):
    with pytest.raises(InputError, match=message):
        run(["rl", "train", "--algo", "ppo", "--env", "annrl/CarTrack-v0", *flags, "--out", str(tmp_path)])


def test_sensor_flags_on_another_environment_are_refused():
    with pytest.raises(InputError, match="--n-rays sets the car's sensors .* got 7 with --env CartPole-v1"):
        make_env("CartPole-v1", sensors={"n_rays": 7})
    env = make_env("CartPole-v1", sensors=dict(EARLIEST_SENSORS))  # the defaults are no request
    assert EnvShape.of(env, "CartPole-v1").sensors is None


def test_the_shape_of_a_car_env_names_its_sensors():
    env = make_env("annrl/CarTrack-v0", track="oval", sensors={"n_rays": 9})
    shape = EnvShape.of(env, "annrl/CarTrack-v0")
    assert shape.obs_dim == 10 and shape.sensors["n_rays"] == 9 and shape.sensors["max_range"] == 30.0
    assert np.isclose(env.unwrapped.settings.ray_angles()[0], -np.pi / 2)


@pytest.mark.parametrize("module", ["rl2", "grow_actions"])
def test_agents_that_build_default_cars_refuse_sensor_options_instead_of_ignoring_them(module):
    from importlib import import_module

    agent = import_module(f"annrl.agents.{module}")
    config = agent.GrowConfig(n_rays=7) if module == "grow_actions" else agent.Config(env="annrl/CarTrack-v0", n_rays=7)
    with pytest.raises(InputError, match=r"^--n-rays sets the car's sensors .*got 7") as caught:
        agent.train(config, np.random.default_rng(0))
    assert "\n" not in str(caught.value)
