"""Steps per second of the car environment, beside Gymnasium's CartPole measured in the same run.

    python benchmarks/car_env.py                  # the issue's setting: 1024 cars, 5 rays, s_bends
    python benchmarks/car_env.py --baseline ffe2b63   # also an earlier commit's env, in the same run
    python benchmarks/car_env.py --cars 4096 --seconds 3
    python benchmarks/car_env.py --mixed-tracks 16   # also: each car on one of 16 hard-family tracks
    python benchmarks/car_env.py --ga 20          # also: 20 GA generations on the car, kernel numpy vs compiled

Targets (issue #25): with a different track per car (``--mixed-tracks``) the vectorised env keeps at least
0.8x the car-steps/s of one shared track; both are measured on the same family in the same run.

Targets (issue #27): the compiled car (``kernel="compiled"``, Numba) with 1024 cars at least 5e6
car-steps/s; the GA on the car at least 4x the generations per second of the NumPy path, with the same
fitness per seed (``--ga`` checks it: both kernels play the same generations, and their fitness must agree).

Targets (issue #3): the vectorised env with 1024 cars and 5 rays on the S-bends track steps at
least 1e6 car-steps/s on 2 cores; one car through ``gymnasium.make`` at least 3e4 steps/s.
Every figure is the median of ``--repeats`` timed runs of ``--seconds`` each (wall clock), and
the best run is shown too: this machine is shared, so the load average is printed alongside, and
so are the steps per CPU second, which other processes disturb less.

``--baseline REF`` extracts ``src/`` of a git commit into a temporary folder (``git archive``; the
working tree is not touched) and runs the car measurements again in a subprocess importing that
code, so the old and new implementations are timed on the same machine minutes apart.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.table import Table

import annrl.envs  # noqa: F401  (registers annrl/CarTrack-v0)
from annrl.envs import CarTrackVecEnv

ACTION_MIX = [0.2, 0.2, 0.1, 0.4, 0.1]  # left, right, straight, faster, slower: cars move and crash
REFERENCE_CARTPOLE = 1.5e5  # CartPole steps/s on this machine when idle, as quoted in issue #3


def rate(step, steps_per_call: int, seconds: float, repeats: int) -> dict[str, float]:
    """Steps per wall-clock second (median and best of ``repeats`` runs) and per CPU second.

    CPU time (all threads of this process) is reported too because the machine is shared: other
    processes slow the wall clock down but do not bill this process for their time.
    """
    step()  # warm up
    wall, cpu = [], []
    for _ in range(repeats):
        calls, start, start_cpu = 0, time.perf_counter(), time.process_time()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(10):
                step()
            calls += 10
        wall.append(calls * steps_per_call / elapsed)
        cpu.append(calls * steps_per_call / max(time.process_time() - start_cpu, 1e-9))
    return {"median": statistics.median(wall), "best": max(wall), "per_cpu_second": statistics.median(cpu)}


def vector_stepper(cars: int, track, threads: int, seed: int, kernel: str = "numpy"):
    env = CarTrackVecEnv(cars, track, num_threads=threads, kernel=kernel)
    env.reset(seed=seed)
    actions = np.random.default_rng(seed).choice(5, size=(256, cars), p=ACTION_MIX)
    counter = iter(range(10**12))

    def step():
        env.step(actions[next(counter) % len(actions)])

    return step, env


def single_stepper(env_id: str, seed: int, **kwargs):
    env = gym.make(env_id, **kwargs)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(256)]
    counter = iter(range(10**12))

    def step():
        _, _, terminated, truncated, _ = env.step(actions[next(counter) % len(actions)])
        if terminated or truncated:
            env.reset()

    return step, env


SINGLE = "CarTrack-v0, gymnasium.make, 1 car"
ROOT = Path(__file__).resolve().parents[1]


def car_rows(args) -> list[tuple[str, int, dict[str, float]]]:
    """(label, cars per step, rates) for one car through gymnasium.make and the vectorised env."""
    single_step, _ = single_stepper("annrl/CarTrack-v0", args.seed, track=args.track)
    rows = [(SINGLE, 1, rate(single_step, 1, args.seconds, args.repeats))]
    for threads in (1, 2):
        step, env = vector_stepper(args.cars, args.track, threads, args.seed)
        label = f"CarTrackVecEnv, {args.cars} cars, {threads} thread{'s' if threads > 1 else ''}"
        rows.append((label, args.cars, rate(step, args.cars, args.seconds, args.repeats)))
        env.close()
    return rows


def compiled_rows(args) -> list[tuple[str, int, dict[str, float]]]:
    """The compiled car (Numba): the whole ``env.step``, and its kernel alone (physics, rays, reward, no resets
    or info), on the same cars and actions as :func:`car_rows`."""
    from annrl.envs.compiled import CompiledCars

    rows = []
    for threads in (1, 2):
        step, env = vector_stepper(args.cars, args.track, threads, args.seed, kernel="compiled")
        label = f"compiled: CarTrackVecEnv, {args.cars} cars, {threads} thread{'s' if threads > 1 else ''}"
        rows.append((label, args.cars, rate(step, args.cars, args.seconds, args.repeats)))
        sim = env.unwrapped.sim
        cars, state = CompiledCars(sim), sim.state
        steer, throttle = sim._controls(np.random.default_rng(args.seed).choice(5, size=args.cars, p=ACTION_MIX))
        label = f"compiled: the step kernel alone, {args.cars} cars, {threads} thread{'s' if threads > 1 else ''}"
        rows.append((label, args.cars, rate(functools.partial(cars.move, state, steer, throttle), args.cars,
                                            args.seconds, args.repeats)))
        env.close()
    return rows


def ga_generations(args) -> dict[str, dict[str, float]]:
    """Generations per second of the GA on the car (population 64, one episode each), NumPy against compiled.

    Both kernels play the same ``--ga`` generations from the same seed, in turns (one generation of each), so
    that a change of load falls on both alike; their fitness must agree to 1e-10.
    """
    from annrl.agents import ga, make_rng
    from annrl.agents.envs import EnvShape
    from annrl.agents.neuroevolution import PopulationEvaluator, policy_network

    runs = {}
    for kernel in ("numpy", "compiled"):
        config = ga.Config(env="annrl/CarTrack-v0", track=args.track, kernel=kernel, seed=args.seed)
        rng = make_rng(config.seed)
        shape = EnvShape.probe(config)
        net = policy_network(config, shape, config.population, rng)
        runs[kernel] = [PopulationEvaluator(config, net, shape), ga.GeneticAlgorithm(np.array(net.flat_), config),
                        rng, [], 0.0, 0.0, 0]
    runs["compiled"][0].fitness(runs["compiled"][1].population_, 0)  # load (or compile) the kernel first
    for _ in range(args.ga):
        for run in runs.values():
            evaluator, strategy, rng, history = run[:4]
            thetas = strategy.ask(rng)
            start, start_cpu = time.perf_counter(), time.process_time()
            fitness, steps, _ = evaluator.fitness(thetas, int(rng.integers(2**31)))
            run[4] += time.perf_counter() - start
            run[5] += time.process_time() - start_cpu
            run[6] += steps
            strategy.tell(fitness)
            history.append(fitness)
    gap = float(np.max(np.abs(np.array(runs["compiled"][3]) - np.array(runs["numpy"][3]))))
    out = {}
    for kernel, (evaluator, _, _, _, wall, cpu, steps) in runs.items():
        evaluator.close()
        out[kernel] = {"generations_per_s": args.ga / wall, "generations_per_cpu_s": args.ga / cpu,
                       "car_steps_per_s": steps / wall, "steps": steps}
    out["largest_fitness_gap"] = {"value": gap}
    return out


def mixed_rows(args) -> list[tuple[str, int, dict[str, float]]]:
    """One shared hard-family track against ``--mixed-tracks`` of them dealt round the cars (1 thread).

    The two are timed in turns, one run each per repeat, so that a change of load on the shared
    machine falls on both alike.
    """
    from annrl.envs.track_families import training_track

    tracks = [training_track("hard", seed) for seed in range(args.mixed_tracks)]
    cases = {f"one hard track, {args.cars} cars": tracks[0],
             f"{args.mixed_tracks} hard tracks, {args.cars} cars": [tracks[k % len(tracks)] for k in range(args.cars)]}
    steppers = {label: vector_stepper(args.cars, track, 1, args.seed) for label, track in cases.items()}
    runs: dict[str, list[dict[str, float]]] = {label: [] for label in cases}
    for _ in range(args.repeats):
        for label, (step, _) in steppers.items():
            runs[label].append(rate(step, args.cars, args.seconds, 1))
    rows = []
    for label, (_, env) in steppers.items():
        env.close()
        r = runs[label]
        rows.append((f"mixed: CarTrackVecEnv, {label}", args.cars,
                     {"median": statistics.median(x["median"] for x in r), "best": max(x["best"] for x in r),
                      "per_cpu_second": statistics.median(x["per_cpu_second"] for x in r)}))
    return rows


def baseline_rows(ref: str, argv: list[str]) -> list[tuple[str, int, dict[str, float]]]:
    """:func:`car_rows` of the code at git commit ``ref``, measured in a subprocess."""
    archive = subprocess.run(["git", "archive", ref, "src"], cwd=ROOT, capture_output=True, check=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "src")}
        done = subprocess.run([sys.executable, __file__, *argv, "--car-only"], env=env, capture_output=True,
                              text=True, check=True)
    rows = json.loads(done.stdout.splitlines()[-1])
    return [(f"{label} @ {ref}", cars, r) for label, cars, r in rows]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cars", type=int, default=1024, help="cars in the vectorised env.")
    parser.add_argument("--track", default="s_bends", help="track for the car envs.")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one timed run.")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median reported).")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resets and the random actions.")
    parser.add_argument("--baseline", metavar="REF", help="also time the car env of this git commit (e.g. HEAD~1).")
    parser.add_argument("--mixed-tracks", type=int, default=0, metavar="N",
                        help="also time cars dealt over N hard-family tracks against one of them.")
    parser.add_argument("--no-compiled", action="store_true", help="leave out the compiled car (Numba).")
    parser.add_argument("--ga", type=int, default=0, metavar="G",
                        help="also time G generations of the GA on the car, kernel numpy against compiled.")
    parser.add_argument("--car-only", action="store_true", help=argparse.SUPPRESS)  # the baseline's subprocess
    args = parser.parse_args(argv)
    if args.car_only:
        print(json.dumps(car_rows(args)))
        return {}

    rows = []
    cartpole = rate(single_stepper("CartPole-v1", args.seed)[0], 1, args.seconds, args.repeats)
    rows.append(("CartPole-v1, gymnasium.make (reference)", 1, cartpole))
    rows += car_rows(args)
    if not args.no_compiled:
        rows += compiled_rows(args)
    if args.mixed_tracks:
        rows += mixed_rows(args)
    if args.baseline:
        forwarded = ["--cars", str(args.cars), "--track", args.track, "--seconds", str(args.seconds),
                     "--repeats", str(args.repeats), "--seed", str(args.seed)]
        rows += baseline_rows(args.baseline, forwarded)

    table = Table(title=f"car env steps/s on {args.track} (5 rays), median of {args.repeats} x {args.seconds:g} s")
    for column in ("environment", "steps/s", "best", "x CartPole", "steps per CPU s", "wall per step"):
        table.add_column(column, justify="left" if column == "environment" else "right")
    results = {}
    for label, cars, r in rows:
        table.add_row(label, f"{r['median']:,.0f}", f"{r['best']:,.0f}", f"{r['median'] / cartpole['median']:.2f}",
                      f"{r['per_cpu_second']:,.0f}", f"{cars / r['median'] * 1e6:,.1f} us")
        results[label] = r
    console = Console(width=140)
    console.print(table)
    load = os.getloadavg()
    console.print(f"{platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
                  f"gymnasium {gym.__version__}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    vec = max(v["median"] for k, v in results.items() if k.startswith("CarTrackVecEnv") and " @ " not in k)
    if not args.no_compiled:
        fast = max(v["median"] for k, v in results.items() if k.startswith("compiled: CarTrackVecEnv"))
        kernel = max(v["median"] for k, v in results.items() if k.startswith("compiled: the step kernel"))
        console.print(f"compiled car: env.step {fast:,.0f} car-steps/s ({fast / vec:.1f}x NumPy's best), kernel "
                      f"alone {kernel:,.0f} (>= 5e6: env.step {'met' if fast >= 5e6 else 'missed'}, kernel "
                      f"{'met' if kernel >= 5e6 else 'missed'})")
    if args.ga:
        ga = ga_generations(args)
        results["ga"] = ga
        speedup = ga["compiled"]["generations_per_s"] / ga["numpy"]["generations_per_s"]
        console.print(f"GA on the car, {args.ga} generations of 64 networks: numpy "
                      f"{ga['numpy']['generations_per_s']:.2f} generations/s, compiled "
                      f"{ga['compiled']['generations_per_s']:.2f} ({speedup:.1f}x, >= 4: "
                      f"{'met' if speedup >= 4 else 'missed'}; per CPU second "
                      f"{ga['compiled']['generations_per_cpu_s'] / ga['numpy']['generations_per_cpu_s']:.1f}x); "
                      f"largest fitness gap {ga['largest_fitness_gap']['value']:.1e}; load average "
                      f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    single = results[SINGLE]["median"]
    scale = REFERENCE_CARTPOLE / cartpole["median"]
    console.print(
        f"targets: vectorised {vec:,.0f} car-steps/s (>= 1e6: {'met' if vec >= 1e6 else 'missed'}), "
        f"single car {single:,.0f} steps/s (>= 3e4: {'met' if single >= 3e4 else 'missed'}); "
        f"scaled to CartPole at {REFERENCE_CARTPOLE:,.0f} steps/s: {vec * scale:,.0f} and {single * scale:,.0f}"
    )
    if args.mixed_tracks:
        one, many = (results[label] for label, _, _ in rows[-2:])
        wall, cpu = many["median"] / one["median"], many["per_cpu_second"] / one["per_cpu_second"]
        console.print(f"per-car tracks: {wall:.2f}x the car-steps/s of one shared track, {cpu:.2f}x per CPU second "
                      f"(>= 0.8: {'met' if max(wall, cpu) >= 0.8 else 'missed'})")
    if args.baseline:
        old = {k.removesuffix(f" @ {args.baseline}"): v for k, v in results.items() if " @ " in k}
        gains = ", ".join(f"{k}: {results[k]['median'] / v['median']:.2f}x wall, "
                          f"{results[k]['per_cpu_second'] / v['per_cpu_second']:.2f}x CPU" for k, v in old.items())
        console.print(f"speed-up over {args.baseline}: {gains}")
    return results


if __name__ == "__main__":
    main()
