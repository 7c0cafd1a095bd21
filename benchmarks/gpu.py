"""The engine and the car on PyTorch (CUDA when present, else the CPU), each against NumPy in the same run.

    python benchmarks/gpu.py --quick              # small sizes: minutes on two CPU cores
    python benchmarks/gpu.py                      # the issue's sizes (a GPU machine)
    python benchmarks/gpu.py --compile            # also torch.compile'd XOR steps (CUDA graphs on CUDA)

Records the device's name, then measures:

- XOR populations (2-2-1, sigmoid hidden, linear output, MSE, SGD lr 0.02 momentum 0.9, full batch,
  float32) of 1e4 .. 1e7 networks: network-epochs per second of annrl's ``fit`` on NumPy and on
  torch; NumPy runs fewer epochs at the large sizes (its rate does not depend on the epoch count)
  and sizes that do not fit in memory are skipped with a note;
- with ``--compile``: the same training as one fused torch step (a hand-written eager step run
  through ``torch.compile``, mode "reduce-overhead" = CUDA graphs on CUDA) for the ceiling;
- the car's physics and sensing (annrl's ``CarSimulator._move`` and ``_observe``, the bulk of a
  step) for 4096 .. 65536 cars on NumPy and on torch tensors: car-steps per second;
- PPO on CartPole and on the car with 4096 vectorised environments, its networks and update on
  NumPy and on torch (the environments step on NumPy in both): env-steps per second, the final
  return, the steps to the solved return and the wall time.

Each figure is the best of ``--repeat`` runs. Results are printed as a table and written as JSON
to ``--out`` (default benchmarks/gpu.json).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from annrl.nn import MLP, SGD, fit

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)
#: bytes per network of one training run (parameters, gradients, momentum, activations, loss history)
BYTES_PER_NET = 400


def device_info() -> dict[str, Any]:
    import torch

    cuda = torch.cuda.is_available()
    return {"device": "cuda" if cuda else "cpu",
            "name": torch.cuda.get_device_name(0) if cuda else f"{platform.processor() or platform.machine()} CPU",
            "cpu_count": os.cpu_count(), "torch": torch.__version__, "numpy": np.__version__,
            "load_average": os.getloadavg()[0]}


def sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def best_of(repeat: int, work) -> float:
    """The shortest wall time of ``repeat`` calls of ``work()`` (which syncs its device)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def fits_in_memory(population: int, device: str) -> tuple[bool, str]:
    need = population * BYTES_PER_NET
    if device == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info()
        return need < 0.8 * free, f"needs ~{need / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free on the GPU"
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return need < 0.5 * free, f"needs ~{need / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free"


# -- XOR through annrl's fit --------------------------------------------------------------------
def xor_rate(population: int, epochs: int, backend: str, device: str, repeat: int) -> float:
    net = MLP([2, 2, 1], population=population, seed=0, dtype="float32")
    x, y = X, Y
    if backend == "torch":
        net.to("torch", device)
        x, y = net.asarray(X), net.asarray(Y)
    start_flat = net.xp.asarray(net.flat_, copy=True)

    def work():
        net.flat_[...] = start_flat
        fit(net, x, y, loss="mse", optimizer=SGD(lr=0.02, momentum=0.9), epochs=epochs)
        sync(device)

    fit(net, x, y, loss="mse", optimizer=SGD(lr=0.02, momentum=0.9), epochs=2)  # warm up
    return population * epochs / best_of(repeat, work)


def compiled_xor_rate(population: int, epochs: int, device: str, repeat: int) -> float:
    """The same training as one hand-fused torch step, compiled (the ceiling for this network)."""
    import torch

    g = torch.Generator(device="cpu").manual_seed(0)
    p = [torch.randn(s, generator=g).to(device) for s in ((population, 2, 2), (population, 1, 2),
                                                          (population, 2, 1), (population, 1, 1))]
    v = [torch.zeros_like(t) for t in p]
    x, y = torch.as_tensor(X, dtype=torch.float32, device=device), torch.as_tensor(Y, dtype=torch.float32,
                                                                                   device=device)

    def step(w1, b1, w2, b2, v1, vb1, v2, vb2):
        a = torch.sigmoid(torch.matmul(x, w1) + b1)  # (P, 4, 2)
        d = (torch.matmul(a, w2) + b2 - y) * 0.5  # dMSE/dout, (P, 4, 1)
        dz = torch.matmul(d, w2.transpose(1, 2)) * a * (1 - a)
        grads = (torch.matmul(x.T, dz), dz.sum(1, keepdim=True), torch.matmul(a.transpose(1, 2), d),
                 d.sum(1, keepdim=True))
        out = []
        for w, vel, grad in zip((w1, b1, w2, b2), (v1, vb1, v2, vb2), grads, strict=True):
            vel = 0.9 * vel + grad
            out.append((w - 0.02 * vel, vel))
        return [o[0] for o in out] + [o[1] for o in out]

    compiled = torch.compile(step, mode="reduce-overhead" if device == "cuda" else "default")
    state = p + v
    for _ in range(3):  # compile and capture
        state = compiled(*state)
    sync(device)

    def work():
        nonlocal state
        for _ in range(epochs):
            state = [t.clone() for t in compiled(*state)] if device == "cuda" else compiled(*state)
        sync(device)

    return population * epochs / best_of(repeat, work)


# -- the car's physics and sensing --------------------------------------------------------------
def car_rate(cars: int, steps: int, backend: str, device: str, repeat: int) -> float:
    from annrl.envs import physics
    from annrl.envs.core import CarSimulator, CarState, Sensors

    sim = CarSimulator("s_bends", cars)
    sim.reset([np.random.default_rng(k) for k in range(cars)])
    state, steer, throttle = sim.state, np.full(cars, 0.2), np.full(cars, 1.0)
    if backend == "torch":
        import torch

        def conv(v):
            return torch.as_tensor(v, device=device) if isinstance(v, np.ndarray) else v

        torch_sim = copy.copy(sim)  # the same methods, on tables moved to the device
        torch_sim.tab = {k: conv(v) for k, v in sim.tab.items()}
        torch_sim.dynamics = physics.Dynamics(**{f.name: conv(getattr(sim.dynamics, f.name))
                                                 for f in dataclasses.fields(sim.dynamics)})
        torch_sim.car_radius = conv(sim.car_radius)
        torch_sim.sensors = Sensors(**{f.name: conv(getattr(sim.sensors, f.name)) for f in dataclasses.fields(Sensors)})
        state = CarState(**{f.name: conv(getattr(sim.state, f.name)) for f in dataclasses.fields(CarState)})
        sim, steer, throttle = torch_sim, conv(steer), conv(throttle)
    start_state = state

    def work():
        s = start_state
        for _ in range(steps):
            s = sim._move(s, steer, throttle, slice(None))
            sim._observe(s, sim.sensors)
        sync(device)

    work()  # warm up
    return cars * steps / best_of(repeat, work)


# -- PPO (NumPy only so far) -------------------------------------------------------------------
def ppo_rate(env_id: str, num_envs: int, total_steps: int, backend: str, device: str) -> dict[str, Any]:
    """PPO with ``num_envs`` environments (stepped on NumPy), its networks and update on ``backend``."""
    from annrl.agents import get_algorithm, make_rng

    ppo = get_algorithm("ppo")
    config = ppo.Config(env=env_id, num_envs=num_envs, num_steps=16, minibatch_size=8192, update_epochs=4,
                        total_steps=total_steps, eval_every=total_steps, eval_episodes=4, final_eval_episodes=4,
                        backend=backend, device=None if backend == "numpy" else device)
    start = time.perf_counter()
    metrics = ppo.train(config, make_rng(0)).metrics
    wall = time.perf_counter() - start
    return {"env": env_id, "num_envs": num_envs, "env_steps": metrics["env_steps"],
            "env_steps_per_s": metrics["env_steps"] / wall, "final_eval_return": metrics["final_eval_return"],
            "steps_to_threshold": metrics["steps_to_threshold"], "wall_s": wall, "backend": backend}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer epochs and sizes (a CPU run of minutes)")
    parser.add_argument("--compile", action="store_true", help="also time a torch.compile'd XOR step")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per figure (the best is kept)")
    parser.add_argument("--no-ppo", action="store_true", help="skip the PPO runs")
    parser.add_argument("--out", default="benchmarks/gpu.json", help="JSON file of the results")
    args = parser.parse_args()
    info = device_info()
    device = info["device"]
    print(f"device: {info['name']} ({device}), torch {info['torch']}, load {info['load_average']:.2f}")
    populations = [10_000] if args.quick else [10_000, 100_000, 1_000_000, 10_000_000]
    epochs = 100 if args.quick else 2000
    cars = [4096] if args.quick else [4096, 16384, 65536]
    results: dict[str, Any] = {"device": info, "quick": args.quick, "xor": [], "car": [], "ppo": []}
    for population in populations:
        row: dict[str, Any] = {"population": population, "epochs": epochs}
        ok, note = fits_in_memory(population, device)
        if not ok:
            row["skipped"] = note
            results["xor"].append(row)
            print(f"XOR P={population:.0e}: skipped ({note})")
            continue
        numpy_epochs = max(20, min(epochs, 2_000_000_000 // (population * 100)))
        row["numpy"] = xor_rate(population, numpy_epochs, "numpy", "cpu", args.repeat)
        row["torch"] = xor_rate(population, epochs, "torch", device, args.repeat)
        if args.compile:
            row["torch_compiled"] = compiled_xor_rate(population, epochs, device, args.repeat)
        row["speedup"] = row["torch"] / row["numpy"]
        results["xor"].append(row)
        print(f"XOR P={population:.0e}: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()
                                                      if isinstance(v, float)) + " net-epochs/s (speedup: torch/numpy)")
    steps = 20 if args.quick else 100
    for n in cars:
        row = {"cars": n, "steps": steps, "numpy": car_rate(n, steps, "numpy", "cpu", args.repeat),
               "torch": car_rate(n, steps, "torch", device, args.repeat)}
        row["speedup"] = row["torch"] / row["numpy"]
        results["car"].append(row)
        print(f"car n={n}: numpy {row['numpy']:.3g}, torch {row['torch']:.3g} car-steps/s "
              f"(torch/numpy {row['speedup']:.2f})")
    if not args.no_ppo:
        for env_id in ("CartPole-v1", "annrl/CarTrack-v0"):
            for backend in ("numpy", "torch"):
                row = ppo_rate(env_id, 4096, 4096 * 16 * (1 if args.quick else 30), backend, device)
                results["ppo"].append(row)
                print(f"PPO {env_id} x4096 ({backend}): {row['env_steps_per_s']:.3g} env-steps/s, "
                      f"final return {row['final_eval_return']:.1f}, steps to threshold {row['steps_to_threshold']}, "
                      f"{row['wall_s']:.1f} s")
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
