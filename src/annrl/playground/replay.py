"""Saved car runs, driven again on the cars tab: a trained agent, or an ``annrl car drive`` run.

What the two commands leave in their ``--out`` folder:

- ``annrl rl train --env annrl/CarTrack-v0 ...``: ``agent.safetensors`` (the policy network, with
  its track, action mode and observation size in the metadata), ``metrics.json`` (its ``config``
  holds the seed), and resume checkpoints;
- ``annrl car drive``: ``metrics.json`` (track, policy, seed, every car setting, and the return,
  laps, progress and steps of each car's episode) and a GIF.

Neither writes trajectories. The car world is deterministic given its seed, so a replay drives the
saved policy again from the same start: an agent from its run's seed (the episode of its
``policy.gif``), or the first round of a drive run with its recorded cars, seed and settings. A
drive run's replay is checked against the numbers it recorded, and the page is told whether they
match. A drive in a changing world (``--grip-schedule`` and the like) records its schedule, which the
replay follows; a track switch in it must name a shipped track or a file inside the runs folder.

Runs are found under one root folder given to the server (``annrl playground --runs DIR``), at most
:data:`MAX_DEPTH` folders down. The page names a run by its path relative to the root, and only a
path from that list is accepted, so nothing outside the root is read. A track file must lie under
the root too. Agents are safetensors files (no pickle), read with their SHA-256 checked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from annrl.errors import AnnrlError, InputError
from annrl.playground.cars import frame_message, track_message
from annrl.validate import Interval, check

AGENT_FILE = "agent.safetensors"  # what annrl.agents.policy_file.save_policy writes
METRICS_FILE = "metrics.json"
MAX_DEPTH = 4
MAX_RUNS = 200
MAX_FOLDERS = 5000  # visited per listing: a huge tree under --runs costs a bounded time
MAX_FILE_BYTES = 20_000_000
MAX_RUN_ID = 300
MAX_CARS = 64
DRIVE_POLICIES = ("heuristic", "random")  # the ones a drive run's metrics are enough to drive again
REPLAY_TABLE = {"seed": [Interval(int, 0, 2**31 - 1)], "speed": [Interval(int, 1, 10)]}


@dataclass(frozen=True)
class SavedRun:
    """A replayable run: ``id`` is its folder relative to the root (``/``-separated)."""

    id: str
    kind: str  # "agent" or "drive"
    path: Path
    label: str

    def describe(self) -> dict[str, str]:
        return {"id": self.id, "kind": self.kind, "label": self.label}


def check_root(path: str | Path) -> Path:
    """The runs root as an absolute path, or an error naming what is wrong with it."""
    root = Path(path).expanduser()
    if not root.exists():
        raise InputError(f"--runs {path}: no such folder", field="--runs")
    if not root.is_dir():
        raise InputError(f"--runs {path}: not a folder", field="--runs")
    return root.resolve()


def find_runs(root: Path) -> list[SavedRun]:
    """Every replayable run under ``root``, sorted by id (symbolic links are not followed; at most
    :data:`MAX_RUNS` runs among the first :data:`MAX_FOLDERS` folders)."""
    root, runs = Path(root).resolve(), []
    for visited, (folder, dirs, files) in enumerate(os.walk(root)):
        if visited >= MAX_FOLDERS:
            break
        here = Path(folder)
        depth = len(here.relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "checkpoints") if depth < MAX_DEPTH else []
        run = _saved_run(root, here, set(files))
        if run is not None:
            runs.append(run)
            if len(runs) >= MAX_RUNS:
                break
    return sorted(runs, key=lambda r: r.id)


def _saved_run(root: Path, folder: Path, files: set[str]) -> SavedRun | None:
    run_id = folder.relative_to(root).as_posix()
    metrics = _read_json(folder / METRICS_FILE, root) if METRICS_FILE in files else None
    if AGENT_FILE in files and _inside(folder / AGENT_FILE, root):
        what = f"{metrics.get('algo', 'agent')} on {_config(metrics).get('track', '?')}" \
            if isinstance(metrics, dict) and metrics.get("env") == "annrl/CarTrack-v0" else "agent"
        return SavedRun(run_id, "agent", folder, f"{run_id}: {what}")
    if _is_drive(metrics):
        return SavedRun(run_id, "drive", folder, f"{run_id}: car drive, {metrics['policy']} on {metrics['track']}")
    return None


def _is_drive(metrics: Any) -> bool:
    return isinstance(metrics, dict) and all(k in metrics for k in ("policy", "track", "settings", "per_episode")) \
        and isinstance(metrics["settings"], dict) and isinstance(metrics["per_episode"], list)


def _config(metrics: Any) -> dict[str, Any]:
    """The ``config`` of an ``annrl rl train`` run's metrics, or {} when there is none."""
    config = metrics.get("config") if isinstance(metrics, dict) else None
    return config if isinstance(config, dict) else {}


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path``, links resolved, lies under ``root``."""
    try:
        return path.resolve().is_relative_to(root)
    except OSError:
        return False


def _read_json(path: Path, root: Path) -> Any:
    """A JSON file under the root, or None when it is not one (too big, outside, unreadable)."""
    try:
        if not _inside(path, root) or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


def find_run(root: Path, run_id: Any) -> SavedRun:
    """The run the page named, which must be one :func:`find_runs` lists."""
    if not isinstance(run_id, str) or not 0 < len(run_id) <= MAX_RUN_ID:
        raise InputError.invalid("replay.run", f"a run folder name of 1 to {MAX_RUN_ID} characters", run_id)
    for run in find_runs(root):
        if run.id == run_id:
            return run
    raise InputError(f"replay.run {run_id!r} is not a saved car run under the runs folder; pick one from the list",
                     field="replay.run")


class Replay:
    """One saved run driven again, a few steps per frame (see the module docstring).

    Parameters
    ----------
    root : Path
        The runs root (from :func:`check_root`).
    run_id : str
        The run's id, as listed by :func:`find_runs`.
    seed : int, optional
        The start's seed; default the run's own.
    speed : int, default=2
        Simulation steps per frame.
    """

    def __init__(self, root: Path, run_id: str, seed: int | None = None, speed: int = 2):
        root = Path(root).resolve()
        self.run = find_run(root, run_id)
        self.speed = int(speed)
        build = _agent_setup if self.run.kind == "agent" else _drive_setup
        try:
            self.stepper, self.driver, own_seed, self.record = build(self.run, root)
        except (KeyError, TypeError, AttributeError) as err:  # hand-edited files: a message, not a crash
            raise InputError(f"run {self.run.id}: its files do not read as a saved car run ({err!r})") from None
        self.env = self.stepper.unwrapped  # the cars themselves; the stepper may follow a schedule around them
        self.seed = own_seed if seed is None else int(seed)
        self.obs, self.info = self.stepper.reset(seed=self.seed)
        n = self.env.num_envs
        self.returns, self.done, self.steps, self.finished = np.zeros(n), np.zeros(n, dtype=bool), 0, False
        self.car_steps = np.zeros(n, dtype=np.int64)  # each car's own episode length, as `car drive` records it

    def track_message(self) -> dict[str, Any]:
        return {**track_message(self.env.sim), "replay": self.run.id, "seed": self.seed}

    def frame(self) -> list[dict[str, Any]]:
        """Drive ``speed`` more steps; the frame, and the episode's end once every car is done."""
        for _ in range(self.speed):
            if self.done.all():
                break
            self.obs, reward, terminated, truncated, self.info = self.stepper.step(self.driver(self.obs))
            self.returns += reward
            self.car_steps += ~self.done
            self.done |= terminated | truncated
            self.steps += 1
        messages = [{**frame_message(self.env.sim, self.info), "step": self.steps, "replay": self.run.id}]
        if self.done.all() and not self.finished:
            self.finished = True
            messages.append(self.end_message())
            self.stepper.close()
        return messages

    def outcome(self) -> list[dict[str, Any]]:
        """Each car's episode, in the fields ``annrl car drive`` records."""
        info = self.info
        return [{"car": k, "return": float(self.returns[k]), "laps": int(info["laps"][k]),
                 "progress": float(info["progress"][k]), "crashed": bool(info["crashed"][k]),
                 "steps": int(self.car_steps[k])} for k in range(self.env.num_envs)]

    def end_message(self) -> dict[str, Any]:
        cars = self.outcome()
        message = {"type": "replay_end", "replay": self.run.id, "seed": self.seed, "cars": cars,
                   "matches_record": None}
        if self.record is not None:
            message["matches_record"] = _same_episodes(cars, self.record)
        return message


def parse_replay(message: dict[str, Any]) -> dict[str, Any]:
    """The ``replay`` message's settings: ``run`` (required), ``seed`` and ``speed``, checked."""
    settings = {k: v for k, v in message.items() if k not in ("type", "run")}
    check(REPLAY_TABLE, settings, prefix="replay.")
    if "run" not in message:
        raise InputError("a replay message needs 'run': the id of a saved run from the list", field="replay.run")
    return {"run_id": message["run"], **settings}


def _same_episodes(cars: list[dict[str, Any]], record: list[dict[str, Any]]) -> bool:
    keys = ("laps", "crashed", "steps")
    return len(cars) == len(record) and all(
        all(c[k] == r.get(k) for k in keys) and np.isclose(c["return"], r.get("return", np.nan), rtol=1e-9)
        and np.isclose(c["progress"], r.get("progress", np.nan), rtol=1e-9)
        for c, r in zip(cars, record, strict=True))


# -- what each kind of run needs to drive again ---------------------------------------------------
def _agent_setup(run: SavedRun, root: Path) -> tuple[Any, Any, int, None]:
    from annrl.agents import load_policy
    from annrl.envs import ENV_ID

    path = run.path / AGENT_FILE
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"run {run.id}: {AGENT_FILE} is over {MAX_FILE_BYTES} bytes; not a car policy")
    try:
        policy = load_policy(path)
    except AnnrlError as err:
        raise InputError(f"run {run.id}: {getattr(err, 'fault', err)}") from None
    meta = policy.metadata
    if meta.get("env") != ENV_ID:
        raise InputError(f"run {run.id} trained an agent for {meta.get('env')!r}, not {ENV_ID}: there is no car "
                         "to drive")
    env = _env(run, root, meta.get("track", ""), 1, continuous=bool(meta.get("continuous")))
    if policy.shape.obs_dim != env.single_observation_space.shape[0] or policy.shape.discrete == env.continuous:
        env.close()
        raise InputError(f"run {run.id}: its agent does not fit the car it was saved for (observations or actions)")
    seed = _config(_read_json(run.path / METRICS_FILE, root)).get("seed", 0)
    return env, policy, seed if isinstance(seed, int) and 0 <= seed < 2**31 else 0, None


def _drive_setup(run: SavedRun, root: Path) -> tuple[Any, Any, int, list[dict[str, Any]]]:
    from annrl.envs import CarSettings
    from annrl.envs.policies import HeuristicDriver, RandomPolicy

    metrics = _read_json(run.path / METRICS_FILE, root)
    if not _is_drive(metrics):
        raise InputError(f"run {run.id}: its {METRICS_FILE} can no longer be read as a car drive's")
    policy, seed = metrics.get("policy"), metrics.get("seed", 0)
    if policy not in DRIVE_POLICIES:
        raise InputError(f"run {run.id} was driven by {policy!r}; only {list(DRIVE_POLICIES)} drives can be driven "
                         "again (the keys pressed and the checkpoint used are not recorded)")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31:
        raise InputError.invalid(f"run {run.id}: seed", "an integer in [0, 2**31)", seed)
    record = [row for row in metrics["per_episode"] if isinstance(row, dict) and row.get("episode") == 0]
    if not 1 <= len(record) <= MAX_CARS:
        raise InputError(f"run {run.id}: its metrics record {len(record)} cars in the first round; "
                         f"a replay drives 1 to {MAX_CARS}")
    try:
        settings = CarSettings().updated(**metrics["settings"])
    except (TypeError, ValueError) as err:
        raise InputError(f"run {run.id}: its car settings are not valid: {err}") from None
    env = _env(run, root, metrics["track"], len(record), settings=settings,
               continuous=metrics.get("continuous") is True)  # absent in runs written before it was recorded
    if "schedule" in metrics:  # runs written before schedules were recorded have none
        env = _scheduled(run, root, env, metrics["schedule"])
    cars = env.unwrapped  # as car drive does: the driver sees the settings after the schedule's first changes
    driver = (HeuristicDriver(cars.settings, continuous=cars.continuous) if policy == "heuristic"
              else RandomPolicy(np.random.default_rng(seed), continuous=cars.continuous))
    return env, driver, seed, record


def _scheduled(run: SavedRun, root: Path, env: Any, recorded: Any) -> Any:
    """``env`` following the drive's recorded schedule, checked: a track it switches to is checked like the run's
    own track, and a change the cars cannot take is refused here, not mid-replay (``env`` is closed then)."""
    from annrl.envs.nonstationary import NonStationaryVec, Schedule

    def invalid(err: InputError) -> InputError:
        env.close()
        return InputError(f"run {run.id}: its schedule is not valid: {err}")

    try:
        schedule = Schedule.from_dict(recorded)
    except InputError as err:
        raise invalid(err) from None
    try:  # a track outside the runs folder is refused as _track says, not as an invalid schedule
        changes = tuple(replace(c, track=_track(run, root, c.track)) if c.track else c for c in schedule.changes)
    except InputError:
        env.close()
        raise
    try:
        return NonStationaryVec(env, replace(schedule, changes=changes))
    except InputError as err:
        raise invalid(err) from None


def _env(run: SavedRun, root: Path, track: Any, cars: int, **options: Any) -> Any:
    from annrl.envs import CarTrackVecEnv

    try:
        return CarTrackVecEnv(cars, _track(run, root, track), autoreset_mode="Disabled", **options)
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"run {run.id}: its track {track!r} cannot be loaded: {err}") from None


def _track(run: SavedRun, root: Path, name: Any) -> str:
    """A shipped track, ``random:SEED``, ``family:NAME:SEED``, or a track file under the root (next to the run,
    or from the root)."""
    from annrl.envs import list_tracks

    if not isinstance(name, str) or not name:
        raise InputError(f"run {run.id}: no track recorded")
    if name in list_tracks() or name.startswith(("random:", "family:")):
        return name
    for base in (run.path, root):
        candidate = base / name
        if candidate.is_file() and _inside(candidate, root):
            return str(candidate.resolve())
    raise InputError(f"run {run.id} drove on the track {name!r}, which is neither shipped nor a file inside the runs "
                     "folder; copy the track file next to the run to replay it")
