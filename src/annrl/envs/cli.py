"""``annrl car``: drive cars on a track, list the tracks, draw one.

    annrl car drive --track oval --policy heuristic --episodes 3 --out runs/car
    annrl car tracks
    annrl car show s_bends --out s_bends.png
    annrl car drive --grip-schedule 9,4 --every 300 --sensor-dropout 0.1 --out runs/car_ns
    annrl car demo --out runs/car_demo        # the Unity "cars that learn to drive" demo
    annrl car benchmark --policy heuristic --continuous --out runs/bench   # 54 held-out tracks, 3 laps each
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from annrl.clikit import non_negative_int, write_metrics
from annrl.errors import InputError
from annrl.io.rundir import RunDir
from annrl.validate import check_sizes

POLICIES = ("heuristic", "random", "keyboard", "checkpoint", "pretrained")
BENCHMARK_POLICIES = ("heuristic", "checkpoint", "pretrained")
TRACK_HELP = "shipped track name, a track JSON file, random:SEED or family:easy|medium|hard:SEED."
#: the most checkpoints ``car show`` marks along the centre line
MAX_SHOWN_CHECKPOINTS = 1000
#: bytes per car (its state, sensor rays and observations) and per played episode (its row of metrics.json)
CAR_BYTES, EPISODE_BYTES = 512, 1024
#: bytes per lap and track of a benchmark trajectory: at least 125 kept points (a 50 m lap at the slowest
#: speed that still finishes, one point in 4 steps) of two floats in a tuple, about 112 bytes each
TRACE_LAP_BYTES = 125 * 112


def register(subparsers: Any) -> None:
    """Add the ``car`` command and its sub-commands to an argparse ``subparsers`` object."""
    car = subparsers.add_parser("car", help="the car-on-track environment: drive, list and draw tracks",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    car.set_defaults(handler=lambda args: _help(car))
    commands = car.add_subparsers(dest="car_command", metavar="SUBCOMMAND")

    drive = commands.add_parser("drive", help="play episodes with a policy; write a GIF and metrics.json")
    drive.add_argument("--track", default="oval", help=TRACK_HELP)
    drive.add_argument("--policy", default="heuristic", choices=POLICIES,
                       help="who drives: the wall-following heuristic, random actions, you, a trained agent, "
                       "or the general driver shipped with annrl.")
    drive.add_argument("--checkpoint", default=None, help="agent checkpoint file for --policy checkpoint.")
    drive.add_argument("--episodes", type=int, default=3, help="rounds of episodes to play.")
    drive.add_argument("--cars", type=int, default=1, help="cars driving at once (each plays every round).")
    drive.add_argument("--seed", type=non_negative_int, default=0,
                       help="seed of the start jitter and of random actions.")
    drive.add_argument("--laps", type=int, default=3, help="laps that complete an episode.")
    drive.add_argument("--max-steps", type=int, default=None,
                       help="steps before an episode is truncated (default: what the laps take at 2 m/s, "
                       "as in `annrl car benchmark`: longer tracks get more).")
    drive.add_argument("--continuous", action="store_true", help="use (steer, throttle) actions, not Discrete(5).")
    drive.add_argument("--video", default="episode.gif",
                       help="file name (in --out) of the first round's animation, .gif or .mp4; 'none' skips it.")
    drive.add_argument("--frame-every", type=int, default=4, help="animate one step in this many.")
    drive.add_argument("--max-frames", type=int, default=600, help="longest animation, in frames.")
    drive.add_argument("--fps", type=int, default=25, help="frames per second of the animation.")
    drive.add_argument("--out", default="runs/car", help="folder for metrics.json and the animation.")
    drive.add_argument("--json", action="store_true", help="print metrics.json on stdout instead of a table.")
    changes = drive.add_argument_group("a changing world (see docs/car.md)")
    changes.add_argument("--grip-schedule", default=None, metavar="G1,G2,...",
                         help="grip values (m/s^2) cycled every --every steps, e.g. 9,4.")
    changes.add_argument("--speed-schedule", default=None, metavar="V1,V2,...",
                         help="max_speed values (m/s) cycled every --every steps, e.g. 20,12.")
    changes.add_argument("--every", type=int, default=500, help="steps between changes of the schedules.")
    changes.add_argument("--sensor-dropout", type=float, default=0.0, help="probability a ray reads 0 each step.")
    changes.add_argument("--sensor-noise", type=float, default=0.0, help="std of noise on each ray (max_range units).")
    changes.add_argument("--steer-bias", type=float, default=0.0, help="added to every steering command, in [-1, 1].")
    drive.set_defaults(handler=drive_command)

    demo = commands.add_parser("demo", help="recreate the Unity 'cars that learn to drive' demo (GIF + figure)")
    demo.add_argument("--track", default="rounded_rectangle", help=TRACK_HELP)
    demo.add_argument("--generations", type=int, default=30, help="generations to evolve.")
    demo.add_argument("--population", type=int, default=30, help="cars (networks) per generation.")
    demo.add_argument("--seed", type=non_negative_int, default=0,
                      help="seed of the first weights, the GA and the start pose.")
    demo.add_argument("--animate", type=int, default=4, help="generations shown in the GIF, first to last (0: none).")
    demo.add_argument("--out", default="runs/car_demo", help="folder for evolution.gif, fitness.png, metrics.json.")
    demo.add_argument("--json", action="store_true", help="print metrics.json on stdout instead of a table.")
    demo.set_defaults(handler=demo_command)

    bench = commands.add_parser("benchmark", help="drive the 54 held-out tracks training never sees, 3 laps each")
    bench.add_argument("--policy", default="heuristic", choices=BENCHMARK_POLICIES,
                       help="who drives: the heuristic driver, a trained agent (--checkpoint) or the "
                       "general driver shipped with annrl (pretrained).")
    bench.add_argument("--checkpoint", default=None, help="agent checkpoint file for --policy checkpoint.")
    bench.add_argument("--suite", default="heldout", choices=("heldout",),
                       help="the tracks: heldout = the hard family's 50 held-out seeds + the shipped tracks.")
    bench.add_argument("--continuous", action="store_true",
                       help="the heuristic steers continuously (a checkpoint drives as it was trained).")
    bench.add_argument("--laps", type=int, default=3, help="laps that make a success.")
    bench.add_argument("--limit", type=int, default=None, help="drive only the suite's first LIMIT tracks.")
    bench.add_argument("--seed", type=non_negative_int, default=0, help="seed of the start jitter.")
    bench.add_argument("--out", default="runs/car_benchmark", help="folder for metrics.json and trajectories.png.")
    bench.add_argument("--json", action="store_true", help="print metrics.json on stdout instead of a table.")
    bench.set_defaults(handler=benchmark_command)

    tracks = commands.add_parser("tracks", help="list the shipped tracks")
    tracks.add_argument("--json", action="store_true", help="print the list as JSON instead of a table.")
    tracks.set_defaults(handler=tracks_command)

    show = commands.add_parser("show", help="draw a track as a PNG figure")
    show.add_argument("track", help=TRACK_HELP)
    show.add_argument("--out", default=None, help="PNG file to write (default: TRACK.png).")
    show.add_argument("--checkpoints", type=int, default=20, help="checkpoints to mark along the centre line.")
    show.set_defaults(handler=show_command)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def drive_command(args: argparse.Namespace) -> int:
    """Play ``episodes`` rounds with ``cars`` cars and write ``metrics.json`` (+ an animation)."""
    changes = _changes(args)
    with RunDir(args.out).held():  # --out checked (a writable folder, free space) before driving
        metrics = drive(
            track=args.track, policy=args.policy, checkpoint=args.checkpoint, episodes=args.episodes,
            cars=args.cars, seed=args.seed, laps=args.laps, max_steps=args.max_steps,
            continuous=args.continuous, out=args.out, video=args.video, fps=args.fps,
            frame_every=args.frame_every, max_frames=args.max_frames, changes=changes,
        )
    _show(args, f"car drive: {metrics['policy']} on {metrics['track']}", metrics)
    return 0


#: the longest episode ``car drive`` plays without an explicit ``--max-steps`` (about a minute of one car)
MAX_DEFAULT_STEPS = 1_000_000


def drive(*, track: str = "oval", policy: str = "heuristic", checkpoint: str | None = None, episodes: int = 3,
          cars: int = 1, seed: int = 0, laps: int = 3, max_steps: int | None = None, continuous: bool = False,
          out: str | Path = "runs/car", video: str | None = "episode.gif", fps: int = 25, frame_every: int = 4,
          max_frames: int = 600, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Play episodes and write ``out/metrics.json``; returns the metrics.

    Every car plays one episode per round (a finished car waits, parked, for the others), so
    ``episodes * cars`` episodes are played in all; ``max_steps`` None allows what ``laps`` laps take at
    2 m/s (:func:`annrl.envs.benchmark.step_limit`). The first round is animated. ``changes``
    (see :func:`_changes`) holds fixed setting changes under ``"settings"`` and a
    :class:`~annrl.envs.nonstationary.Schedule` (or None) under ``"schedule"``.
    """
    from annrl.envs.car_env import CarTrackVecEnv
    from annrl.envs.render import AnimationRecorder, TrackRenderer
    from annrl.envs.tracks import load_track

    checks = (("episodes", episodes), ("cars", cars), ("fps", fps), ("frame-every", frame_every),
              ("max-frames", max_frames))
    for name, value in checks:
        if value < 1:
            raise InputError(f"--{name} must be >= 1, got {value}")
    if policy not in POLICIES:
        raise InputError(f"--policy must be one of {list(POLICIES)}, got {policy!r}")
    if policy == "keyboard" and (cars != 1 or continuous):
        raise InputError(f"--policy keyboard drives one discrete car, got --cars {cars} and continuous={continuous}")
    if policy == "pretrained":  # the general driver shipped with annrl
        checkpoint = "pretrained"
    changes = changes or {}
    animate = bool(video) and video.lower() != "none"
    if animate and Path(video).suffix.lower() not in (".gif", ".mp4"):
        raise InputError(f"--video must name a .gif or .mp4 file (or be 'none'), got {video!r}")
    loaded = load_track(track)
    if max_steps is None:
        from annrl.envs.benchmark import step_limit
        from annrl.envs.settings import CarSettings

        max_steps = step_limit(loaded, laps, CarSettings().dt)
        if max_steps > MAX_DEFAULT_STEPS:  # 1e9 laps would otherwise drive until the machine gives out
            raise InputError(f"--laps {laps} of {track} ({loaded.length:.0f} m) take {max_steps} steps at 2 m/s, "
                             f"more than the default limit of {MAX_DEFAULT_STEPS}; give --max-steps to allow them",
                             field="--laps")
    renderer = TrackRenderer(loaded) if animate else None
    frames = min(max_frames, max_steps // frame_every + 2) if animate else 0  # what the first round can film
    check_drive_sizes(cars, episodes, frames, renderer.size if animate else (0, 0))
    sensors = {}
    if checkpoint and policy in ("checkpoint", "pretrained"):  # a trained driver sees as it was trained to
        from annrl.agents import load_policy

        shape = load_policy(checkpoint).shape
        sensors = shape.sensors or {}
        if policy == "pretrained":  # ... and drives continuous or not as it was trained
            continuous = not shape.discrete
    env = CarTrackVecEnv(cars, loaded, continuous=continuous, autoreset_mode="Disabled", laps=laps,
                         max_episode_steps=max_steps, **{**sensors, **changes.get("settings", {})})
    start_settings = env.settings.to_dict()  # before a schedule changes them: with it, enough to drive again
    stepper = env  # the schedule wrapper, when there is one, steps the same cars
    if changes.get("schedule") is not None:
        from annrl.envs.nonstationary import NonStationaryVec

        stepper = NonStationaryVec(env, changes["schedule"])
    driver = _make_policy(policy, env, seed, checkpoint)
    out = Path(out)
    recorder = AnimationRecorder(every=frame_every, max_frames=max_frames)
    records, video_steps = [], None
    try:
        for episode in range(episodes):
            obs, info = stepper.reset(seed=seed + episode * cars)
            total, done, steps = np.zeros(cars), np.zeros(cars, dtype=bool), np.zeros(cars, dtype=np.int64)
            film = animate and episode == 0
            try:
                while not done.all():
                    if film:
                        recorder.add(renderer.frame(env.sim, caption=_caption(env, info, steps, total))
                                     if recorder.wants_frame() else None)
                    obs, reward, terminated, truncated, info = stepper.step(driver(obs))
                    total += reward
                    steps += ~done  # a finished car waits, parked: its own episode is over
                    done |= terminated | truncated
            except KeyboardInterrupt:  # Q at the keyboard (or Ctrl-C): keep what was driven
                quit_now = True
            else:
                quit_now = False
            if film:
                video_steps = _last_frame(recorder, renderer, env, info, steps, total)
            records.extend({"episode": episode, "car": k, "return": float(total[k]), "laps": int(info["laps"][k]),
                            "progress": float(info["progress"][k]), "crashed": bool(info["crashed"][k]),
                            "steps": int(steps[k])} for k in range(cars))
            if quit_now:
                break
    finally:
        if hasattr(driver, "close"):
            driver.close()
        env.close()
    metrics = _summary(records, env, policy, seed, start_settings)
    if changes.get("schedule") is not None:
        metrics["schedule"] = changes["schedule"].to_dict()
    if animate:
        metrics["video"] = str(recorder.save(out / video, fps=fps))
        metrics["video_steps"], metrics["video_complete"] = video_steps
    out.mkdir(parents=True, exist_ok=True)
    write_metrics(out, metrics)
    return metrics


def check_drive_sizes(cars: int, episodes: int, frames: int, frame_size: tuple[int, int]) -> None:
    """Refuse, before the cars are made, a drive whose cars, episode records or animation cannot fit in memory.

    ``frames`` frames of ``frame_size`` (width, height) pixels are kept as 8-bit palette images.
    """
    width, height = frame_size
    check_sizes({f"--cars {cars}": CAR_BYTES * cars,
                 f"metrics of --episodes {episodes} x --cars {cars}": EPISODE_BYTES * episodes * cars,
                 f"{frames} animation frames of {width}x{height} pixels": frames * width * height})


def _caption(env: Any, info: dict[str, Any], steps: np.ndarray, total: np.ndarray, note: str = "") -> list[str]:
    """The text on a frame: step, then lap, speed and return of the first cars (all, up to 4)."""
    laps, speed = np.asarray(info["laps"]), np.asarray(env.sim.state.speed)
    lines = [f"step {int(steps.max())}" + (f"  {note}" if note else "")]
    for k in range(min(len(steps), 4)):
        car = f"car {k}: " if len(steps) > 1 else ""
        lines.append(f"{car}lap {min(int(laps[k]) + 1, env.settings.laps)}/{env.settings.laps}  "
                     f"{float(speed[k]):4.1f} m/s  return {float(total[k]):6.1f}")
    return lines


def _last_frame(recorder: Any, renderer: Any, env: Any, info, steps, total) -> tuple[int, bool]:
    """End the animation on the drive's last state; when --max-frames cut it short, say so on that frame.

    Returns the steps the animation shows and whether that is the whole drive.
    """
    shown = recorder.last_kept if recorder.full else int(steps.max())
    complete = not recorder.full or shown >= int(steps.max())
    note = "" if complete else f"(the animation skips steps {shown}-{int(steps.max())}: raise --max-frames)"
    recorder.add(renderer.frame(env.sim, caption=_caption(env, info, steps, total, note)), force=True)
    return int(steps.max()) if complete else shown, complete


def benchmark_command(args: argparse.Namespace) -> int:
    """Drive the held-out suite and write ``metrics.json`` and ``trajectories.png``."""
    from annrl.envs import benchmark

    if args.laps < 1:
        raise InputError(f"--laps must be >= 1, got {args.laps}")
    tracks = benchmark.suite_tracks(args.suite, args.limit)
    check_sizes({f"trajectories of --laps {args.laps} on {len(tracks)} tracks":
                 TRACE_LAP_BYTES * args.laps * len(tracks)})
    with RunDir(args.out).held():  # --out checked (a writable folder, free space) before driving
        metrics = _benchmark(args, tracks)
    if args.json:
        print(json.dumps(metrics, indent=2, sort_keys=True))
        return 0
    _benchmark_table(metrics)
    return 0


def _benchmark(args: argparse.Namespace, tracks: list[str]) -> dict[str, Any]:
    """Drive ``tracks`` as ``args`` say; write ``metrics.json`` and ``trajectories.png``; returns the metrics."""
    from annrl.envs import benchmark

    continuous, sensors = args.continuous, None
    checkpoint = "pretrained" if args.policy == "pretrained" else args.checkpoint
    if args.policy != "heuristic":
        from annrl.agents import load_policy

        if not checkpoint:
            raise InputError("--policy checkpoint needs --checkpoint FILE (an agent.safetensors or its run folder)")
        shape = load_policy(checkpoint).shape
        continuous, sensors = not shape.discrete, shape.sensors  # as it was trained
    metrics, traces = benchmark.run_suite(lambda env: _make_policy(args.policy, env, args.seed, checkpoint),
                                          continuous=continuous, tracks=tracks, laps=args.laps, seed=args.seed,
                                          sensors=sensors)
    metrics = {"policy": args.policy, **({"checkpoint": args.checkpoint} if args.checkpoint else {}), **metrics}
    out = Path(args.out)
    benchmark.plot_suite(metrics["per_track"], traces, out / "trajectories.png")
    metrics["figure"] = str(out / "trajectories.png")
    write_metrics(out, metrics)
    return metrics


def _benchmark_table(metrics: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"car benchmark: {metrics['policy']} on {metrics['tracks']} held-out tracks, "
                        f"{metrics['laps_required']} laps: success {metrics['success_rate']:.0%}")
    for column in ("track", "laps", "crashed", "progress", "steps", "mean_speed"):
        table.add_column(column, justify="left" if column == "track" else "right")
    for r in metrics["per_track"]:
        table.add_row(r["track"], str(r["laps"]), "x" if r["crashed"] else "", f"{r['progress']:.2f}",
                      str(r["steps"]), f"{r['mean_speed']:.1f}")
    Console().print(table)


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    """The world's changes asked for on the command line: fixed settings and a schedule."""
    from annrl.envs.nonstationary import Cycle, Schedule

    if args.every < 1:
        raise InputError(f"--every must be >= 1, got {args.every}")
    settings = {"sensor_dropout": args.sensor_dropout, "sensor_noise": args.sensor_noise,
                "steer_bias": args.steer_bias}
    cycles = []
    for flag, name, text in (("--grip-schedule", "grip", args.grip_schedule),
                             ("--speed-schedule", "max_speed", args.speed_schedule)):
        if text:
            try:
                values = tuple(float(v) for v in text.split(","))
            except ValueError:
                raise InputError(f"{flag} must be comma-separated numbers such as 9,4, got {text!r}") from None
            cycles.append(Cycle(name, values, args.every))
    return {"settings": settings, "schedule": Schedule(cycles=tuple(cycles)) if cycles else None}


def demo_command(args: argparse.Namespace) -> int:
    """Evolve the Unity-style demo and write its GIF, figure and metrics."""
    from annrl.agents.unity import UnityConfig, run_demo

    for flag, value, low in (("generations", args.generations, 1), ("population", args.population, 2),
                             ("animate", args.animate, 0)):
        if value < low:
            raise InputError(f"--{flag} must be >= {low}, got {value}")
    config = UnityConfig(track=args.track, generations=args.generations, population=args.population,
                         seed=args.seed)
    with RunDir(args.out).held():  # --out checked (a writable folder, free space) before evolving
        metrics = run_demo(args.out, config, animate=args.animate)
    _show(args, f"car demo: {config.population} cars on {config.track}", metrics)
    return 0


def _make_policy(policy: str, env: Any, seed: int, checkpoint: str | None):
    from annrl.envs import policies

    if policy == "heuristic":
        return policies.HeuristicDriver(env.settings, continuous=env.continuous)
    if policy == "random":
        return policies.RandomPolicy(np.random.default_rng(seed), continuous=env.continuous)
    if policy == "keyboard":
        return policies.KeyboardPolicy(step_seconds=env.settings.dt)
    if not checkpoint:
        raise InputError("--policy checkpoint needs --checkpoint FILE (an agent.safetensors or its run folder)")
    from annrl.agents import load_policy

    agent = load_policy(checkpoint)
    if agent.shape.obs_dim != env.single_observation_space.shape[0] or agent.shape.discrete == env.continuous:
        kind = "continuous" if not agent.shape.discrete else "discrete"
        raise InputError(f"{checkpoint} drives a {kind} car seeing {agent.shape.obs_dim} inputs; "
                         f"use {'--continuous' if kind == 'continuous' else 'no --continuous'} and the same sensors")
    return agent


def _summary(records: list[dict], env: Any, policy: str, seed: int, settings: dict[str, Any]) -> dict[str, Any]:
    returns = np.array([r["return"] for r in records])
    return {
        "track": env.track.name,
        "policy": policy,
        "seed": seed,
        "continuous": bool(env.continuous),
        "episodes": len(records),
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "laps": float(np.mean([r["laps"] for r in records])),
        "mean_progress": float(np.mean([r["progress"] for r in records])),
        "crash_rate": float(np.mean([r["crashed"] for r in records])),
        "success_rate": float(np.mean([r["laps"] >= env.settings.laps for r in records])),
        "mean_steps": float(np.mean([r["steps"] for r in records])),
        "settings": settings,
        "per_episode": records,
    }


def tracks_command(args: argparse.Namespace) -> int:
    """List the shipped tracks, easiest first."""
    from annrl.envs.tracks import list_tracks, load_track

    rows = []
    for name in list_tracks():
        t = load_track(name)
        rows.append({"name": name, "difficulty": t.difficulty, "length_m": round(t.length, 1), "width_m": t.width,
                     "wall_segments": len(t.inner) + len(t.outer), "description": t.description})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="annrl tracks")
    for column in rows[0]:
        table.add_column(column, justify="left" if column in ("name", "description") else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)
    return 0


def show_command(args: argparse.Namespace) -> int:
    """Draw one track to a PNG file."""
    from annrl.envs.render import plot_track
    from annrl.envs.tracks import load_track
    from annrl.viz.style import save

    track = load_track(args.track)
    if not 1 <= args.checkpoints <= MAX_SHOWN_CHECKPOINTS:  # each is a marker drawn: 10^8 took minutes
        raise InputError(f"--checkpoints must be in [1, {MAX_SHOWN_CHECKPOINTS}], got {args.checkpoints}")
    ax = plot_track(track, checkpoints=args.checkpoints)
    path = save(ax.figure, args.out or f"{track.name}.png")
    print(path)
    return 0


def _show(args: argparse.Namespace, title: str, metrics: dict[str, Any]) -> None:
    """``metrics`` as JSON (``--json``), or their single numbers and words as a table."""
    if args.json:
        print(json.dumps(metrics, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        if not isinstance(value, (list, dict)):
            table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    Console().print(table)
