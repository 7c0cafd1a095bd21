"""Engine throughput: XOR networks trained per second, annrl against PyTorch and JAX in the same run.

    python benchmarks/engine.py [--epochs 2000] [--populations 1,1000,10000] [--repeat 3] [--two-threads]
                                [--no-compiled] [--no-jax] [--approx-population 100]
    python benchmarks/engine.py --compile-cost

Network-epochs per second for P XOR nets (2-2-1, sigmoid hidden, linear output, MSE, SGD lr 0.02
momentum 0.9, full batch) in float64 and float32. PyTorch runs the same work: a plain training
loop for P = 1 and for a 100-network sample (one network after another), and one batched
``torch.bmm`` population for P >= 1000. For P = 1 and P >= 1000 the same training hand-written in NumPy
for this one network (no engine) is measured too: the ceiling a general engine is compared with.
Each figure is the best of ``--repeat`` runs, and the runs of the contestants alternate (annrl,
PyTorch, hand NumPy, annrl, ...), so that on a shared machine a burst of load from elsewhere
disturbs one run of each rather than every run of one.

With Numba installed (``pip install "annrl[fast]"``) annrl's compiled path (``fit(..., kernel="compiled")``)
runs beside them, and with JAX installed so does the JAX way to train a population: one network's step,
``jax.vmap`` over the population, ``lax.scan`` over the epochs, ``jax.jit`` over it all (its compile time,
and the compiled path's cache load, are left out of the rates: one warm-up call each first, of the same size
as the timed one). Last, a
2-16-16-1 tanh population on 256 points (the approximation lab's shape): the compiled path against the
NumPy engine.

``--compile-cost`` measures only what the compiled path costs before it trains: the first ``fit(...,
kernel="compiled")`` of a fresh process (importing Numba, then compiling the training kernels or loading them
from Numba's on-disk cache), for both dtypes, in a process with an empty cache (cold) and then in a new
process that finds the cache the first one wrote (warm). The cache lives in a temporary folder
(``NUMBA_CACHE_DIR``), so the one beside the sources is neither read nor changed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from annrl.backend import keep_freed_memory
from annrl.nn import MLP, SGD, fit

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)


def annrl_rate(population: int, epochs: int, dtype: str) -> float:
    net = MLP([2, 2, 1], population=population, seed=0, dtype=dtype)
    start = time.perf_counter()
    fit(net, X, Y, loss="mse", optimizer=SGD(lr=0.02, momentum=0.9), epochs=epochs, kernel="numpy")
    return population * epochs / (time.perf_counter() - start)


def compiled_rate(population: int, epochs: int, dtype: str) -> float:
    """annrl's compiled path (Numba), after one warm-up call of the same size, as JAX gets (see :func:`jax_rate`):
    it loads (or compiles) the kernels and first touches the memory of the loss history, which on a VM can
    take longer than the training (10,000 networks x 2000 epochs: 160 MB)."""

    def timed() -> float:
        net = MLP([2, 2, 1], population=population, seed=0, dtype=dtype)
        start = time.perf_counter()
        fit(net, X, Y, loss="mse", optimizer=SGD(lr=0.02, momentum=0.9), epochs=epochs, kernel="compiled")
        return time.perf_counter() - start

    timed()
    return population * epochs / timed()


def jax_rate(population: int, epochs: int, dtype: str) -> float:
    """One network's training step, ``jax.vmap`` over the population, ``lax.scan`` over the epochs, ``jax.jit``:
    how a JAX user trains a population. The rate leaves out the compilation (a first call with the same shapes)."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    x, y = jnp.asarray(X, dtype=dtype), jnp.asarray(Y, dtype=dtype)

    def loss(params):
        w1, b1, w2, b2 = params
        return jnp.mean((jax.nn.sigmoid(x @ w1 + b1) @ w2 + b2 - y) ** 2)

    def step(carry, _):
        params, velocity = carry
        velocity = jax.tree.map(lambda v, g: 0.9 * v + g, velocity, jax.grad(loss)(params))
        return (jax.tree.map(lambda p, v: p - 0.02 * v, params, velocity), velocity), None

    def train(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return jax.lax.scan(step, (params, zeros), None, length=epochs)[0][0]

    run = jax.jit(jax.vmap(train))
    rng = np.random.default_rng(0)
    params = tuple(jnp.asarray(rng.standard_normal((population, *shape)), dtype=dtype)
                   for shape in ((2, 2), (2,), (2, 1), (1,)))
    jax.block_until_ready(run(params))  # compile
    start = time.perf_counter()
    jax.block_until_ready(run(params))
    return population * epochs / (time.perf_counter() - start)


def approx_rates(population: int, epochs: int, repeat: int) -> dict[str, float]:
    """A 2-16-16-1 tanh population on 256 points, float64: the NumPy engine and the compiled path."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (256, 2))
    y = np.sin(3 * x[:, :1]) * x[:, 1:]

    def rate(kernel: str) -> float:
        fit(MLP([2, 16, 16, 1], hidden="tanh", population=population, seed=0), x, y, epochs=1, kernel=kernel)
        net = MLP([2, 16, 16, 1], hidden="tanh", population=population, seed=0)
        start = time.perf_counter()
        fit(net, x, y, optimizer=SGD(lr=0.05, momentum=0.9), epochs=epochs, kernel=kernel)
        return population * epochs / (time.perf_counter() - start)

    return best_of({"numpy": (rate, "numpy"), "compiled": (rate, "compiled")}, repeat)


def handtuned_rate(population: int, epochs: int, dtype: str) -> float:
    """The same training written by hand for this one network: population-innermost arrays,
    in-place updates, no engine. The issue's reference for what NumPy can do here."""
    rng = np.random.default_rng(0)
    x, y = X.astype(dtype), Y.astype(dtype)[:, :, None]  # (4, 2), (4, 1, 1)
    w1, b1 = rng.standard_normal((2, 2, population)).astype(dtype), rng.standard_normal((2, population)).astype(dtype)
    w2, b2 = rng.standard_normal((2, population)).astype(dtype), rng.standard_normal(population).astype(dtype)
    params = [w1, b1, w2, b2]
    velocity = [np.zeros_like(p) for p in params]
    start = time.perf_counter()
    with np.errstate(over="ignore"):
        for _ in range(epochs):
            z = x[:, 0, None, None] * w1[0] + x[:, 1, None, None] * w1[1] + b1  # (4, 2, P)
            a = 1.0 / (1.0 + np.exp(-z))
            out = a[:, 0] * w2[0] + a[:, 1] * w2[1] + b2  # (4, P)
            d = (out - y[:, 0]) * 0.5  # dMSE/dout, mean over 4 samples
            g_w2, g_b2 = (a * d[:, None]).sum(0), d.sum(0)
            dz = d[:, None] * w2 * a * (1.0 - a)
            g_w1 = np.stack([(x[:, k, None, None] * dz).sum(0) for k in range(2)])
            g_b1 = dz.sum(0)
            for p, v, g in zip(params, velocity, (g_w1, g_b1, g_w2, g_b2), strict=True):
                v *= 0.9
                v += g
                p -= 0.02 * v
    return population * epochs / (time.perf_counter() - start)


def handwritten_single_rate(epochs: int, dtype: str) -> float:
    """One network written out by hand with 2-D arrays and no population axis: the fewest NumPy calls an
    epoch can make (about 25), so the ceiling for P = 1, where each call's overhead is the cost."""
    rng = np.random.default_rng(0)
    x, y = X.astype(dtype), Y.astype(dtype)
    w1, b1 = rng.standard_normal((2, 2)).astype(dtype), rng.standard_normal(2).astype(dtype)
    w2, b2 = rng.standard_normal((2, 1)).astype(dtype), rng.standard_normal(1).astype(dtype)
    params = [w1, b1, w2, b2]
    velocity = [np.zeros_like(p) for p in params]
    start = time.perf_counter()
    for _ in range(epochs):
        a = 1.0 / (1.0 + np.exp(-(x @ w1 + b1)))
        d = (a @ w2 + b2 - y) * 0.5  # dMSE/dout, mean over 4 samples
        dz = (d @ w2.T) * (a - a * a)
        for p, v, g in zip(params, velocity, (x.T @ dz, dz.sum(0), a.T @ d, d.sum(0)), strict=True):
            v *= 0.9
            v += g
            p -= 0.02 * v
    return epochs / (time.perf_counter() - start)


def torch_loop_rate(networks: int, epochs: int, dtype: str) -> float:
    import torch

    dt = getattr(torch, dtype)
    x, y = torch.tensor(X, dtype=dt), torch.tensor(Y, dtype=dt)
    start = time.perf_counter()
    for _ in range(networks):
        model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 1)).to(dt)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
        loss_fn = torch.nn.MSELoss()
        for _ in range(epochs):
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
    return networks * epochs / (time.perf_counter() - start)


def torch_bmm_rate(population: int, epochs: int, dtype: str) -> float:
    import torch

    dt = getattr(torch, dtype)
    gen = torch.Generator().manual_seed(0)
    x = torch.tensor(X, dtype=dt).expand(population, 4, 2)
    y = torch.tensor(Y, dtype=dt)
    params = [torch.randn(shape, generator=gen, dtype=dt, requires_grad=True)
              for shape in ((population, 2, 2), (population, 1, 2), (population, 2, 1), (population, 1, 1))]
    w1, b1, w2, b2 = params
    optimizer = torch.optim.SGD(params, lr=0.02, momentum=0.9)
    start = time.perf_counter()
    for _ in range(epochs):
        optimizer.zero_grad()
        out = torch.bmm(torch.sigmoid(torch.bmm(x, w1) + b1), w2) + b2
        # summed per-network means: each network gets its own MSE gradient
        ((out - y) ** 2).mean(dim=(1, 2)).sum().backward()
        optimizer.step()
    return population * epochs / (time.perf_counter() - start)


#: what a fresh process runs first on the compiled path (both dtypes), timed: wall and CPU seconds
FIRST_CALL = """
import json, time
wall, cpu = time.perf_counter(), time.process_time()
import numpy as np
from annrl.nn import MLP, fit
x, y = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float), np.array([[0], [1], [1], [0]], float)
for dtype in ("float64", "float32"):
    fit(MLP([2, 2, 1], population=2, seed=0, dtype=dtype), x, y, epochs=1, kernel="compiled")
print(json.dumps({"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}))
"""


def compile_cost() -> dict[str, dict[str, float]]:
    """Seconds (wall, CPU) of a fresh process's first compiled fit in both dtypes: with an empty Numba cache
    (``cold``), then with the cache that run wrote (``warm``), then with the compiled path unused (``numpy``:
    the same script with ``kernel="numpy"``, what every process pays anyway)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = {}
        for name, script in (("cold", FIRST_CALL), ("warm", FIRST_CALL),
                             ("numpy", FIRST_CALL.replace('"compiled"', '"numpy"'))):
            done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                  check=True)
            runs[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return runs


def in_two_threads(rate_fn, population: int, epochs: int, dtype: str) -> float:
    """Two halves of the population, each trained by ``rate_fn`` in its own thread (NumPy releases the GIL
    inside its loops): what splitting a population over the two cores could give, with no sync between."""
    with ThreadPoolExecutor(2) as pool:
        start = time.perf_counter()
        list(pool.map(lambda _: rate_fn(population // 2, epochs, dtype), range(2)))
    return population * epochs / (time.perf_counter() - start)


def best_of(contestants: dict[str, tuple], repeat: int) -> dict[str, float]:
    """The best rate of each contestant ``{name: (fn, *args)}`` over ``repeat`` alternating rounds."""
    rates = {name: 0.0 for name in contestants}
    for _ in range(repeat):
        for name, (fn, *args) in contestants.items():
            rates[name] = max(rates[name], fn(*args))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2000, help="epochs per network")
    parser.add_argument("--populations", default="1,1000,10000", help="comma-separated population sizes")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    parser.add_argument("--no-torch", action="store_true", help="measure annrl only")
    parser.add_argument("--no-compiled", action="store_true", help="leave out annrl's compiled path (Numba)")
    parser.add_argument("--no-jax", action="store_true", help="leave out JAX")
    parser.add_argument("--approx-population", type=int, default=100,
                        help="networks of the 2-16-16-1 tanh population (0: leave it out)")
    parser.add_argument("--compile-cost", action="store_true",
                        help="only measure the compiled path's first call, with a cold and a warm on-disk cache")
    parser.add_argument("--two-threads", action="store_true",
                        help="for P >= 1000 also train two halves of the population in two threads (annrl and hand)")
    args = parser.parse_args()
    if args.compile_cost:
        for name, run in compile_cost().items():
            print(f"first fit in a fresh process, {name:>5}: {run['wall_s']:6.2f} s wall, {run['cpu_s']:6.2f} s CPU "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        return
    keep_freed_memory()  # as the annrl command does at its entry
    try:
        import torch

        torch.set_num_threads(2)
        has_torch = not args.no_torch
    except ImportError:
        has_torch = False
    has_compiled = not args.no_compiled and _importable("numba")
    has_jax = not args.no_jax and _importable("jax")
    for name, present, install in (("compiled path", has_compiled, '"annrl[fast]"'), ("JAX", has_jax, '"jax[cpu]"')):
        if not present:
            print(f"note: {name} left out (not installed, or --no-...: pip install {install})")
    print(f"{'P':>6} {'dtype':>8} {'annrl net-ep/s':>15} {'torch net-ep/s':>15} {'torch kind':>11} {'ratio':>7}"
          f" {'hand NumPy':>11} {'annrl/hand':>10}")
    for population in (int(p) for p in args.populations.split(",")):
        for dtype in ("float64", "float32"):
            contestants = {"annrl": (annrl_rate, population, args.epochs, dtype)}
            kind, repeat = "-", args.repeat
            if has_torch and population == 1:
                contestants["torch"], kind = (torch_loop_rate, 1, args.epochs, dtype), "loop"
            elif has_torch and population < 1000:
                contestants["torch"], kind = (torch_loop_rate, min(population, 100), args.epochs, dtype), "loop x100"
                repeat = 1  # a hundred networks one after another: long enough to be steady
            elif has_torch:
                contestants["torch"], kind = (torch_bmm_rate, population, args.epochs, dtype), "bmm"
            if population >= 1000:
                contestants["hand"] = (handtuned_rate, population, args.epochs, dtype)
            elif population == 1:
                contestants["hand"] = (handwritten_single_rate, args.epochs, dtype)
            if has_compiled:
                contestants["compiled"] = (compiled_rate, population, args.epochs, dtype)
            if has_jax:
                contestants["jax"] = (jax_rate, population, args.epochs, dtype)
            if args.two_threads and population >= 1000:
                contestants["annrl x2"] = (in_two_threads, annrl_rate, population, args.epochs, dtype)
                contestants["hand x2"] = (in_two_threads, handtuned_rate, population, args.epochs, dtype)
            rates = best_of(contestants, repeat)
            ours, peer, hand = rates["annrl"], rates.get("torch", float("nan")), rates.get("hand", float("nan"))
            print(f"{population:>6} {dtype:>8} {ours:>15.3e} {peer:>15.3e} {kind:>11} {ours / peer:>7.1f}"
                  f" {hand:>11.3e} {ours / hand:>10.2f}", flush=True)
            for name in ("annrl x2", "hand x2"):
                if name in rates:
                    print(f"{'':>15} {name}: {rates[name]:.3e} net-ep/s, {rates[name] / peer:.1f}x torch", flush=True)
            if "compiled" in rates:
                fast, jax_peer = rates["compiled"], rates.get("jax", float("nan"))
                print(f"{'':>15} compiled: {fast:.3e} net-ep/s, {fast / ours:.1f}x the NumPy engine, "
                      f"{fast / peer:.1f}x torch {kind}, {fast / jax_peer:.2f}x JAX ({jax_peer:.3e})", flush=True)
            elif "jax" in rates:
                print(f"{'':>15} JAX: {rates['jax']:.3e} net-ep/s", flush=True)
    if has_compiled and args.approx_population > 0:
        rates = approx_rates(args.approx_population, 200, args.repeat)
        print(f"2-16-16-1 tanh, {args.approx_population} networks, 256 points, 200 epochs, float64: NumPy engine "
              f"{rates['numpy']:.3e} net-ep/s, compiled {rates['compiled']:.3e} "
              f"({rates['compiled'] / rates['numpy']:.1f}x)", flush=True)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    main()
