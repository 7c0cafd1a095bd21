"""annrl against PyTorch autograd and torch.optim: loss, every gradient, ten optimizer steps, 1e-10."""

import numpy as np
import pytest

from annrl.nn import MLP, from_torch, get_loss, get_optimizer, to_torch
from oracle import torch, torch_reference

TOL = 1e-10
ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "sin"]
OPTIMIZERS = {
    "sgd": {"lr": 0.05},
    "momentum": {"lr": 0.05, "momentum": 0.9},
    "nesterov": {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    "adam": {"lr": 0.01},
    "adam_l2": {"lr": 0.01, "weight_decay": 0.01},
    "rmsprop": {"lr": 0.01},
    "rmsprop_momentum": {"lr": 0.01, "momentum": 0.5},
}


def problem(loss: str, rng: np.random.Generator, n=6, n_in=3, n_out=2):
    X = rng.normal(size=(n, n_in))
    if loss == "bce":
        Y = (rng.random((n, n_out)) > 0.5).astype(float)
    elif loss == "softmax_ce":
        Y = np.eye(n_out)[rng.integers(0, n_out, n)]
    else:
        Y = rng.normal(size=(n, n_out))
    return X, Y


def check_against_torch(net, X, Y, loss, optimizer, settings, steps=10):
    name = optimizer.split("_")[0] if optimizer != "momentum" and optimizer != "nesterov" else "sgd"
    reference = torch_reference(net, X, Y, loss, name, settings, steps)
    opt = get_optimizer(name, **settings)
    opt.reset(net.flat_)
    loss_fn = get_loss(loss)
    for step, expected in enumerate(reference):
        prediction, caches = net.forward(net.check_input(X))
        value, grad = loss_fn(prediction, net.asarray(Y))
        # forward pass: the loss of every network
        np.testing.assert_allclose(value, expected["loss"], rtol=TOL, atol=TOL, err_msg=f"loss, step {step}")
        net.zero_grad()
        net.backward(grad, caches)
        # backward pass: every parameter gradient
        for pname, g in expected["grad"].items():
            np.testing.assert_allclose(net.grads[pname], g, rtol=TOL, atol=TOL, err_msg=f"grad {pname}, step {step}")
        opt.step(net.flat_, net.grad)
        for pname, p in expected["param"].items():
            np.testing.assert_allclose(net.params_[pname], p, rtol=TOL, atol=TOL, err_msg=f"{pname}, step {step}")


@pytest.mark.parametrize("loss", ["mse", "bce", "softmax_ce", "huber"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_and_loss_match_torch(activation, loss):
    rng = np.random.default_rng(1)
    X, Y = problem(loss, rng)
    net = MLP([3, 4, 3, 2], hidden=activation, output="identity", population=2, init="torch", rng=rng)
    check_against_torch(net, X, Y, loss, "momentum", OPTIMIZERS["momentum"])


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_optimizer_matches_torch_for_ten_steps(optimizer):
    rng = np.random.default_rng(2)
    X, Y = problem("mse", rng)
    net = MLP([3, 5, 2], hidden="tanh", population=2, init="normal", rng=rng)
    check_against_torch(net, X, Y, "mse", optimizer, OPTIMIZERS[optimizer])


def test_per_network_data_matches_torch():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 5, 1))
    net = MLP([2, 3, 1], hidden="sigmoid", population=3, rng=rng)
    check_against_torch(net, X, Y, "mse", "adam", OPTIMIZERS["adam"])


def test_population_path_matches_torch():
    """P >= 64 tiny nets take the broadcast-sum path; it must agree with torch as well."""
    rng = np.random.default_rng(4)
    X, Y = problem("mse", rng, n=4, n_in=2, n_out=1)
    net = MLP([2, 2, 1], hidden="sigmoid", population=64, rng=rng)
    check_against_torch(net, X, Y, "mse", "momentum", OPTIMIZERS["momentum"], steps=3)


def test_to_torch_and_back_round_trip():
    net = MLP([3, 4, 2], hidden="leaky_relu", output="sigmoid", seed=5)
    module = to_torch(net)
    X = np.random.default_rng(0).normal(size=(7, 3))
    expected = module(torch.as_tensor(X)).detach().numpy()
    np.testing.assert_allclose(net.predict(X)[0], expected, rtol=1e-12)
    back = from_torch(module)
    np.testing.assert_array_equal(back.flat_, net.flat_)
    np.testing.assert_allclose(back.predict(X), net.predict(X), rtol=0, atol=0)


def test_from_torch_rejects_unknown_modules():
    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    with pytest.raises(ValueError, match="Dropout"):
        from_torch(module)


def test_to_torch_needs_one_network():
    with pytest.raises(ValueError, match="population is 4"):
        to_torch(MLP([2, 1], population=4))
