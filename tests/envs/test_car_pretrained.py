"""The general driver shipped with annrl: it loads, drives a course it never saw, and says how to train it again."""

from __future__ import annotations

import shlex

from annrl import __version__
from annrl.agents import load_policy
from annrl.agents.policy_file import PRETRAINED_DRIVER
from annrl.cli import build_parser
from annrl.envs import benchmark
from annrl.envs.cli import drive


def test_the_pretrained_file_is_small_and_names_a_command_that_exists():
    policy = load_policy("pretrained")
    meta = policy.metadata
    assert PRETRAINED_DRIVER.stat().st_size < 8_000
    assert meta["annrl_version"] == __version__ and meta["seed"] == 0
    argv = shlex.split(meta["command"])
    assert argv[0] == "annrl"
    args = build_parser(argv[1:]).parse_args(argv[1:])  # annrl's own parser accepts it as it stands
    assert args.handler.__name__ == "train_command"
    assert "--tracks" in argv and argv[argv.index("--tracks") + 1] == meta["tracks"] == "family:hard"
    assert argv[argv.index("--seed") + 1] == "0"
    assert not policy.shape.discrete and policy.shape.obs_dim == 6  # continuous, the default 5 rays + speed


def test_the_pretrained_driver_drives_an_easy_track_it_never_saw_three_clean_laps():
    policy = load_policy("pretrained")
    record = benchmark.drive_track("family:easy:0", lambda env: policy, continuous=True)
    assert record["laps"] == 3 and not record["crashed"] and record["success"]


def test_car_drive_takes_the_pretrained_policy(tmp_path):
    metrics = drive(track="oval", policy="pretrained", episodes=1, video=None, out=tmp_path)
    assert metrics["continuous"] is True  # as it was trained, without --continuous
    assert metrics["laps"] == 3.0 and metrics["crash_rate"] == 0.0
