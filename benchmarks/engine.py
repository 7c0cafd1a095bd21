"""Engine throughput: XOR networks trained per second, annrl against PyTorch in the same run.

    python benchmarks/engine.py [--epochs 2000] [--populations 1,1000,10000] [--repeat 3] [--two-threads]

Network-epochs per second for P XOR nets (2-2-1, sigmoid hidden, linear output, MSE, SGD lr 0.02
momentum 0.9, full batch) in float64 and float32. PyTorch runs the same work: a plain training
loop for P = 1 and for a 100-network sample (one network after another), and one batched
``torch.bmm`` population for P >= 1000. For P = 1 and P >= 1000 the same training hand-written in NumPy
for this one network (no engine) is measured too: the ceiling a general engine is compared with.
Each figure is the best of ``--repeat`` runs, and the runs of the contestants alternate (annrl,
PyTorch, hand NumPy, annrl, ...), so that on a shared machine a burst of load from elsewhere
disturbs one run of each rather than every run of one.
"""

from __future__ import annotations

import argparse
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
    fit(net, X, Y, loss="mse", optimizer=SGD(lr=0.02, momentum=0.9), epochs=epochs)
    return population * epochs / (time.perf_counter() - start)


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
    parser.add_argument("--two-threads", action="store_true",
                        help="for P >= 1000 also train two halves of the population in two threads (annrl and hand)")
    args = parser.parse_args()
    keep_freed_memory()  # as the annrl command does at its entry
    try:
        import torch

        torch.set_num_threads(2)
        has_torch = not args.no_torch
    except ImportError:
        has_torch = False
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

if __name__ == "__main__":
    main()
