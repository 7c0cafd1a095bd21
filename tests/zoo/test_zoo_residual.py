"""The residual block y = x + F(x): forward and backward against PyTorch (1e-10, float64) and finite differences."""

import numpy as np
import pytest

from annrl.nn import ActivationLayer, Dense, Network, get_loss, gradcheck
from annrl.nn.registry import layer_from_spec
from annrl.nn.residual import Residual

torch = pytest.importorskip("torch")

TOL = 1e-10


def residual_net(population: int = 1, seed: int = 0, inner: int = 2) -> Network:
    """Dense(3, 4) tanh, a block with ``inner`` dense layers (tanh between them), a plain block, Dense(4, 2)."""
    branch = []
    for i in range(inner):
        branch += [Dense(4, 4)] + ([ActivationLayer("tanh")] if i < inner - 1 else [])
    layers = [Dense(3, 4), ActivationLayer("tanh"), Residual(branch),
              Residual([Dense(4, 4), ActivationLayer("sigmoid")]), Dense(4, 2)]
    return Network(layers, population=population, init="torch", seed=seed)


class TorchResidual(torch.nn.Module):
    def __init__(self, branch):
        super().__init__()
        self.branch = branch

    def forward(self, x):
        return x + self.branch(x)


def torch_copy(net: Network):
    """The same network in torch.nn, weights copied (annrl stores weights transposed)."""
    def linear(name):
        w = net.params_[f"{name}.weight"][0]
        module = torch.nn.Linear(*w.shape, dtype=torch.float64)
        with torch.no_grad():
            module.weight.copy_(torch.as_tensor(w.T))
            module.bias.copy_(torch.as_tensor(net.params_[f"{name}.bias"][0, 0]))
        return module

    block1 = torch.nn.Sequential(linear("2.0"), torch.nn.Tanh(), linear("2.2"))
    block2 = torch.nn.Sequential(linear("3.0"), torch.nn.Sigmoid())
    return torch.nn.Sequential(linear("0"), torch.nn.Tanh(), TorchResidual(block1), TorchResidual(block2), linear("4"))


def torch_names(net: Network) -> dict[str, str]:
    """annrl name -> torch name for the model built by torch_copy."""
    table = {"0": "0", "2.0": "2.branch.0", "2.2": "2.branch.2", "3.0": "3.branch.0", "4": "4"}
    return {f"{a}.{kind}": f"{t}.{kind}" for a, t in table.items() for kind in ("weight", "bias")}


def test_forward_and_backward_match_pytorch():
    rng = np.random.default_rng(0)
    net = residual_net()
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    model = torch_copy(net)
    x = torch.as_tensor(X, dtype=torch.float64).requires_grad_(True)
    out = model(x)
    loss = torch.nn.functional.mse_loss(out, torch.as_tensor(Y))
    loss.backward()

    prediction, caches = net.forward(net.check_input(X))
    assert np.max(np.abs(prediction[0] - out.detach().numpy())) < TOL  # forward pass
    _, grad = get_loss("mse")(prediction, Y)
    net.zero_grad()
    grad_x = net.backward(grad, caches, input_grad=True)
    params = dict(model.named_parameters())
    for ours, theirs in torch_names(net).items():
        expected = params[theirs].grad.numpy()
        expected = expected.T if ours.endswith("weight") else expected[None, :]
        assert np.max(np.abs(net.grads[ours][0] - expected)) < TOL, ours  # backward pass, every parameter
    assert np.max(np.abs(grad_x[0] - x.grad.numpy())) < TOL  # and the input


@pytest.mark.parametrize("per_network", [False, True])
def test_backward_matches_finite_differences(per_network):
    rng = np.random.default_rng(1)
    net = residual_net(population=3, seed=1, inner=3)
    X = rng.normal(size=(3, 5, 3) if per_network else (5, 3))
    check = gradcheck(net, X, rng.normal(size=(5, 2)))
    assert check.max_abs_error < 1e-8, (check.max_abs_error, check.worst_parameter)


def test_identity_path_carries_the_gradient_when_the_branch_is_dead():
    """With a zero branch, y = x exactly and dL/dx = dL/dy: the path that lets deep residual nets train."""
    net = Network([Residual([Dense(2, 2), ActivationLayer("tanh")])], init="normal", seed=0)
    net.flat_[...] = 0.0
    X = np.array([[0.5, -1.0]])
    y, caches = net.forward(net.check_input(X))
    assert np.array_equal(y[0], X)
    grad_x = net.backward(np.array([[[1.0, 2.0]]]), caches, input_grad=True)
    assert np.array_equal(grad_x[0], [[1.0, 2.0]])


def test_spec_round_trip_and_names():
    net = residual_net()
    assert "2.2.weight" in net.params_ and net.params_["2.2.weight"].shape == (1, 4, 4)
    rebuilt = Network.from_spec(net.spec())
    rebuilt.set_flat(net.flat_)
    X = np.random.default_rng(2).normal(size=(4, 3))
    assert np.array_equal(rebuilt.predict(X), net.predict(X))
    assert isinstance(layer_from_spec(net.layers[2].spec()), Residual)


def test_unequal_widths_are_refused():
    with pytest.raises(ValueError, match="must map n features to n"):
        Residual([Dense(4, 3)])
    with pytest.raises(ValueError, match="at least one layer with weights"):
        Residual([ActivationLayer("tanh")])
