"""Replays of saved car runs: which folders are found, that a replay drives the recorded episode
again, that nothing outside the runs folder is read, and the HTTP and WebSocket messages."""

from __future__ import annotations

import json

import numpy as np
import pytest
from starlette.testclient import TestClient

from annrl.envs.nonstationary import Cycle, Schedule
from annrl.errors import InputError
from annrl.playground import create_app
from annrl.playground.replay import Replay, find_runs

TEST_HOST = "testserver"  # the Host name TestClient sends (the guard serves only the names it is given)


def save_car_agent(folder, *, seed=0, env="annrl/CarTrack-v0", track="oval"):
    """A car policy as annrl rl train saves it (an untrained network: the replay, not the driving, is tested)."""
    from annrl.agents.envs import EnvShape
    from annrl.agents.policy_file import save_policy
    from annrl.envs import CarTrackVecEnv
    from annrl.nn import MLP

    probe = CarTrackVecEnv(1, "oval")
    shape = EnvShape(probe.single_observation_space.shape[0], True, 5)
    probe.close()
    net = MLP([shape.obs_dim, 6, 5], hidden="tanh", population=1, seed=seed)
    folder.mkdir(parents=True)
    save_policy(folder / "agent.safetensors", net, algo="ga", env_id=env, shape=shape, mode="argmax", track=track)
    (folder / "metrics.json").write_text(json.dumps({"algo": "ga", "env": env, "config": {"seed": 4, "track": track}}))


def drive_run(folder, policy, cars, seed, max_steps, continuous=False, schedule=None):
    from annrl.envs.cli import drive

    return drive(track="oval", policy=policy, episodes=1, cars=cars, seed=seed, max_steps=max_steps, out=folder,
                 video="none", continuous=continuous, changes={"schedule": schedule})


def play(replay, limit=5000):
    messages = []
    for _ in range(limit):
        messages += replay.frame()
        if replay.finished:
            return messages
    raise AssertionError("the replay did not end")


GRIP_DROP = Schedule(cycles=(Cycle("grip", (12.0, 2.0), every=60),))


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    save_car_agent(base / "agents" / "ga_oval")
    drive_run(base / "drive_heuristic", "heuristic", cars=2, seed=5, max_steps=300)
    drive_run(base / "drive_random", "random", cars=3, seed=2, max_steps=200)
    drive_run(base / "drive_continuous", "heuristic", cars=2, seed=3, max_steps=300, continuous=True)
    # the grip drops mid-lap to where the heuristic driver's speed crashes it: the schedule decides the episode
    drive_run(base / "drive_scheduled", "heuristic", cars=2, seed=5, max_steps=300, schedule=GRIP_DROP)
    scheduled = json.loads((base / "drive_scheduled" / "metrics.json").read_text())
    for name, schedule in (("drive_bad_schedule", {"cycles": [{"setting": "grip", "values": [-1], "every": 9}]}),
                           ("drive_schedule_outside", {"changes": [{"at": 3, "track": "../outside/track.json"}]}),
                           ("drive_schedule_action", {"changes": [{"at": 0, "enable_actions": ["fly"]}]})):
        (base / name).mkdir()
        (base / name / "metrics.json").write_text(json.dumps({**scheduled, "schedule": schedule}))
    (base / "xor").mkdir()
    (base / "xor" / "metrics.json").write_text('{"accuracy": 1.0}')  # a lab run: nothing to replay
    keyboard = json.loads((base / "drive_random" / "metrics.json").read_text())
    (base / "drive_keyboard").mkdir()
    (base / "drive_keyboard" / "metrics.json").write_text(json.dumps({**keyboard, "policy": "keyboard"}))
    save_car_agent(base / "cartpole", env="CartPole-v1")
    broken = json.loads((base / "drive_random" / "metrics.json").read_text())
    (base / "drive_broken").mkdir()
    (base / "drive_broken" / "metrics.json").write_text(json.dumps({**broken, "per_episode": [{"episode": 0}],
                                                                    "settings": {"grip": "high"}}))
    outside = tmp_path_factory.mktemp("outside")
    (outside / "track.json").write_text("{}")  # exists, but outside the runs folder: never read
    save_car_agent(base / "elsewhere_track", track=str(outside / "track.json"))
    save_car_agent(outside / "secret")
    (base / "linked").symlink_to(outside / "secret", target_is_directory=True)
    return base


def test_find_runs_lists_car_agents_and_drives_only(root):
    runs = {run.id: run.kind for run in find_runs(root)}
    assert runs == {"agents/ga_oval": "agent", "cartpole": "agent", "elsewhere_track": "agent", "drive_broken": "drive",
                    "drive_heuristic": "drive", "drive_keyboard": "drive", "drive_random": "drive",
                    "drive_continuous": "drive", "drive_scheduled": "drive", "drive_bad_schedule": "drive",
                    "drive_schedule_outside": "drive", "drive_schedule_action": "drive"}
    assert "linked" not in runs and "xor" not in runs  # a link out of the folder, a lab run


@pytest.mark.parametrize("run_id", ["drive_heuristic", "drive_random", "drive_continuous", "drive_scheduled"])
def test_a_drive_replay_drives_the_recorded_episode_again(root, run_id):
    record = [r for r in json.loads((root / run_id / "metrics.json").read_text())["per_episode"] if r["episode"] == 0]
    replay = Replay(root, run_id, speed=7)
    messages = play(replay)
    end = messages[-1]
    assert end["type"] == "replay_end" and end["matches_record"] is True
    for car, recorded in zip(end["cars"], record, strict=True):
        assert (car["laps"], car["crashed"], car["steps"]) == (recorded["laps"], recorded["crashed"], recorded["steps"])
        assert car["return"] == pytest.approx(recorded["return"], rel=1e-12)
        assert car["progress"] == pytest.approx(recorded["progress"], rel=1e-12)
    frames = [m for m in messages if m["type"] == "frame"]
    assert len(frames[0]["cars"]) == len(record) and len(frames[0]["rays"][0]) == replay.env.sim.n_rays


def test_a_scheduled_drive_records_its_schedule_and_the_settings_it_started_from(root):
    metrics = {name: json.loads((root / name / "metrics.json").read_text())
               for name in ("drive_heuristic", "drive_scheduled")}
    assert Schedule.from_dict(metrics["drive_scheduled"]["schedule"]) == GRIP_DROP
    assert "schedule" not in metrics["drive_heuristic"]
    assert metrics["drive_scheduled"]["settings"] == metrics["drive_heuristic"]["settings"]  # not the last grip
    # same cars, seed and driver: only the schedule can have changed the episodes the replay must match
    assert metrics["drive_scheduled"]["per_episode"] != metrics["drive_heuristic"]["per_episode"]


def test_a_replay_from_another_seed_is_told_apart_from_the_record(root):
    end = play(Replay(root, "drive_random", seed=99, speed=10))[-1]
    assert end["seed"] == 99 and end["matches_record"] is False


def test_an_agent_replay_is_the_episode_car_drive_gives_with_its_checkpoint(root, tmp_path):
    replay = Replay(root, "agents/ga_oval", seed=7, speed=10)
    assert replay.seed == 7 and Replay(root, "agents/ga_oval").seed == 4  # default: the run's own seed
    end = play(replay)[-1]
    assert end["matches_record"] is None  # an agent run records no episode
    from annrl.envs.cli import drive

    # the replay is the episode of the agent's policy.gif: its env's limit, 3000 steps (car drive's own default
    # allows what the laps take at 2 m/s)
    metrics = drive(track="oval", policy="checkpoint", checkpoint=str(root / "agents" / "ga_oval"), episodes=1,
                    seed=7, max_steps=3000, out=tmp_path, video="none")
    recorded, car = metrics["per_episode"][0], end["cars"][0]
    assert (car["laps"], car["crashed"], car["steps"]) == (recorded["laps"], recorded["crashed"], recorded["steps"])
    np.testing.assert_allclose([car["return"], car["progress"]], [recorded["return"], recorded["progress"]],
                               rtol=1e-12)


@pytest.mark.parametrize("run_id, words", [
    ("nowhere", "is not a saved car run"),
    ("../outside/secret", "is not a saved car run"),
    ("/etc", "is not a saved car run"),
    ("linked", "is not a saved car run"),
    ("xor", "is not a saved car run"),
    (7, "replay.run must be a run folder name"),
    ("x" * 301, "replay.run must be a run folder name"),
    ("drive_keyboard", "driven by 'keyboard'"),
    ("cartpole", "'CartPole-v1', not annrl/CarTrack-v0"),
    ("elsewhere_track", "neither shipped nor a file inside the runs folder"),
    ("drive_broken", "its car settings are not valid"),
    ("drive_bad_schedule", "its schedule is not valid: grip must be > 0"),
    ("drive_schedule_outside", "neither shipped nor a file inside the runs folder"),
    ("drive_schedule_action", "its schedule is not valid: 'fly' is not an extra action"),
])
def test_a_replay_refuses_what_it_cannot_or_must_not_read(root, run_id, words):
    with pytest.raises(InputError, match=words):
        Replay(root, run_id)


def test_the_runs_folder_must_exist(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        create_app(runs=tmp_path / "missing")
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="not a folder"):
        create_app(runs=tmp_path / "file")


def test_runs_endpoint_lists_the_runs_or_says_how_to_give_a_folder(root):
    with TestClient(create_app(runs=root, host=TEST_HOST)) as client:
        answer = client.get("/api/runs")
        assert answer.status_code == 200 and answer.json()["root"] == root.name
        assert [r["id"] for r in answer.json()["runs"]][:3] == ["agents/ga_oval", "cartpole", "drive_bad_schedule"]
    with TestClient(create_app(host=TEST_HOST)) as client:
        answer = client.get("/api/runs")
        assert answer.status_code == 404 and "--runs DIR" in answer.json()["error"]


def receive_until(socket, kind, limit=2000):
    for _ in range(limit):
        message = socket.receive_json()
        if message["type"] == "frame":
            socket.send_json({"type": "ack"})
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message in {limit}")


def test_cars_socket_lists_and_replays_a_run(root):
    with TestClient(create_app(runs=root, host=TEST_HOST)) as client, client.websocket_connect("/ws/cars") as socket:
        socket.send_json({"type": "runs"})
        runs = socket.receive_json()
        listed = {run["id"]: run for run in runs["runs"]}
        assert runs["type"] == "runs" and listed["drive_heuristic"]["kind"] == "drive"
        socket.send_json({"type": "replay", "run": "drive_heuristic", "speed": 10})
        track = socket.receive_json()
        assert track["type"] == "track" and track["replay"] == "drive_heuristic" and track["seed"] == 5
        frame = receive_until(socket, "frame")
        assert frame["replay"] == "drive_heuristic" and len(frame["cars"]) == 2
        end = receive_until(socket, "replay_end")
        assert end["matches_record"] is True
        assert receive_until(socket, "status")["playing"] is False


@pytest.mark.parametrize("message, words", [
    ({"type": "replay"}, "needs 'run'"),
    ({"type": "replay", "run": "../secret"}, "is not a saved car run"),
    ({"type": "replay", "run": "drive_random", "speed": 0}, "replay.speed must be"),
    ({"type": "replay", "run": "drive_random", "seed": -1}, "replay.seed must be"),
    ({"type": "replay", "run": "drive_random", "path": "/etc"}, "unknown ['path']"),
    ({"type": "runs", "all": True}, "unknown ['all']"),
])
def test_cars_socket_refuses_bad_replays_and_goes_on(root, message, words):
    with TestClient(create_app(runs=root, host=TEST_HOST)) as client, client.websocket_connect("/ws/cars") as socket:
        socket.send_json(message)
        error = socket.receive_json()
        assert error["type"] == "error" and words in error["message"]
        socket.send_json({"type": "runs"})
        assert socket.receive_json()["type"] == "runs"


def test_cars_socket_without_a_runs_folder_says_how_to_give_one():
    with TestClient(create_app(host=TEST_HOST)) as client, client.websocket_connect("/ws/cars") as socket:
        for message in ({"type": "runs"}, {"type": "replay", "run": "x"}):
            socket.send_json(message)
            error = socket.receive_json()
            assert error["type"] == "error" and "--runs DIR" in error["message"]
