"""PyTorch as the gradient oracle, in one helper (tinygrad's ``helper_test_op`` pattern).

``torch_reference(net, X, Y, loss, optimizer, steps)`` trains, network by network, the same model
built in ``torch.nn`` from ``net``'s weights, and returns per step: losses ``(P,)``, every
gradient and the parameters, as NumPy arrays named like annrl's (``"0.weight"`` ``(P, in, out)``).
"""

from __future__ import annotations

import numpy as np
import pytest

from annrl.nn import Network, to_torch

torch = pytest.importorskip("torch")

TORCH_LOSSES = {
    "mse": lambda: torch.nn.MSELoss(),
    "bce": lambda: torch.nn.BCEWithLogitsLoss(),
    "softmax_ce": lambda: _SoftTargetCE(),
    "huber": lambda: torch.nn.HuberLoss(delta=1.0),
}


class _SoftTargetCE(torch.nn.Module):
    def forward(self, logits, target):
        # logits (N, C), one-hot / probability target (N, C): torch's class-probability form
        return torch.nn.functional.cross_entropy(logits, target)


def torch_optimizer(name: str, params, settings: dict):
    return {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}[name](
        params, **settings
    )


def torch_reference(net: Network, X, Y, loss: str, optimizer: str, settings: dict, steps: int):
    """Per step ``{"loss": (P,), "grad": {name: (P, ...)}, "param": {name: (P, ...)}}``."""
    records = [{"loss": [], "grad": {}, "param": {}} for _ in range(steps)]
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    for p in range(net.population):
        model = to_torch(net.select([p]))
        opt = torch_optimizer(optimizer, model.parameters(), settings)
        loss_fn = TORCH_LOSSES[loss]()
        xp_ = torch.as_tensor(X[p] if X.ndim == 3 else X)
        yp_ = torch.as_tensor(Y[p] if Y.ndim == 3 else Y)
        for record in records:
            opt.zero_grad()
            value = loss_fn(model(xp_), yp_)
            value.backward()
            record["loss"].append(value.item())
            _collect(record["grad"], model, lambda t: t.grad)
            opt.step()
            _collect(record["param"], model, lambda t: t.detach())
    for record in records:
        record["loss"] = np.array(record["loss"])
        for key in ("grad", "param"):
            record[key] = {name: np.stack(values) for name, values in record[key].items()}
    return records


def _collect(into: dict, model, pick) -> None:
    for name, tensor in model.named_parameters():
        value = pick(tensor).numpy().copy()
        # torch weight (out, in) -> annrl (in, out); torch bias (out,) -> annrl (1, out)
        value = value.T if name.endswith("weight") else value[None, :]
        into.setdefault(name, []).append(value)
