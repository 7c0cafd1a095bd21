"""The zoo's CNN and LSTM, one training step at a time: annrl against PyTorch CPU in the same run.

    python benchmarks/zoo_torch.py [--steps 200] [--repeat 3] [--threads 1]

One step is forward, backward and an Adam update on one mini-batch, float64, in both libraries:

- CNN: the ``annrl zoo cnn`` network (conv 3x3 16, ReLU, max-pool 2, conv 3x3 32, ReLU, max-pool 2,
  flatten, dense 10; softmax cross-entropy) on batches of 32 ``load_digits`` images (8x8x1);
- LSTM: the ``annrl zoo sequence`` LSTM (2 inputs, 16 units, last step, dense 1; MSE) on batches of
  64 adding-problem sequences of 20 steps.

Both libraries get the same number of threads (``--threads``: NumPy's BLAS through threadpoolctl,
``torch.set_num_threads``). Each figure is the best of ``--repeat`` runs; the ratio annrl / PyTorch
(time per step) is the figure to trust on a shared machine. The target is a ratio <= 3.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from annrl.nn import LSTM, Adam, Dense, Network, TakeLast
from annrl.nn.fit import Trainer
from annrl.zoo import cnn, sequence


def best_seconds_per_step(step, steps: int, repeat: int) -> float:
    step()  # warm-up: first-call allocations and imports
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def cnn_batch(rng):
    X = rng.random((32, 8, 8, 1))
    return X, np.eye(10)[rng.integers(0, 10, 32)]


def annrl_cnn_step(rng):
    net = cnn.build(seed=0)
    X, Y = cnn_batch(rng)
    trainer = Trainer(net, X, Y, loss="softmax_ce", optimizer=Adam(lr=1e-3))
    X, Y = trainer.X, trainer.Y
    return lambda: trainer.step(X, Y)


def torch_cnn_step(rng):
    import torch

    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 2 * 32, 10)).double()
    X, Y = cnn_batch(rng)
    x, y = torch.as_tensor(X).permute(0, 3, 1, 2).contiguous(), torch.as_tensor(Y)
    return _torch_step(model, x, y, nn.CrossEntropyLoss())


def lstm_batch(rng):
    return sequence.adding_problem(64, 20, rng)


def annrl_lstm_step(rng):
    net = Network([LSTM(2, 16), TakeLast(), Dense(16, 1)], init="torch", seed=0)
    X, Y = lstm_batch(rng)
    trainer = Trainer(net, X, Y, loss="mse", optimizer=Adam(lr=1e-2))
    X, Y = trainer.X, trainer.Y
    return lambda: trainer.step(X, Y)


def torch_lstm_step(rng):
    import torch

    class LastStep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(2, 16, batch_first=True)
            self.readout = torch.nn.Linear(16, 1)

        def forward(self, x):
            return self.readout(self.lstm(x)[0][:, -1])

    X, Y = lstm_batch(rng)
    return _torch_step(LastStep().double(), torch.as_tensor(X), torch.as_tensor(Y), torch.nn.MSELoss())


def _torch_step(model, x, y, loss_fn):
    import torch

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200, help="training steps per timed run")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported")
    parser.add_argument("--threads", type=int, default=1, help="threads for NumPy's BLAS and for PyTorch")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    print(f"threads={args.threads}, steps={args.steps}, best of {args.repeat}; time per training step (float64)")
    print(f"{'model':<6} {'annrl':>10} {'PyTorch':>10} {'annrl/PyTorch':>14}")
    with threadpool_limits(limits=args.threads):
        for name, ours, theirs in (("CNN", annrl_cnn_step, torch_cnn_step), ("LSTM", annrl_lstm_step, torch_lstm_step)):
            a = best_seconds_per_step(ours(np.random.default_rng(0)), args.steps, args.repeat)
            t = best_seconds_per_step(theirs(np.random.default_rng(0)), args.steps, args.repeat)
            print(f"{name:<6} {a * 1e3:>8.2f}ms {t * 1e3:>8.2f}ms {a / t:>13.2f}x")


if __name__ == "__main__":
    main()
