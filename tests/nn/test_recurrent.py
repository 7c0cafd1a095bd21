"""Recurrent layers: backpropagation through time against finite differences and against PyTorch's
nn.RNN / nn.GRU (same weights; every output and every gradient at 1e-10 in float64)."""

import numpy as np
import pytest

from annrl.nn import SGD, ActivationLayer, Adam, Dense, Network, get_loss, gradcheck
from annrl.nn.recurrent import GRU, ElmanRNN, PerStep, TakeLast
from annrl.nn.registry import layer_from_spec

torch = pytest.importorskip("torch")

TOL = 1e-10
CELLS = {
    "elman_tanh": lambda n_in, h: ElmanRNN(n_in, h, "tanh"),
    "elman_relu": lambda n_in, h: ElmanRNN(n_in, h, "relu"),
    "gru": lambda n_in, h: GRU(n_in, h),
}
NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("per_network", [False, True])
def test_bptt_matches_finite_differences(cell, per_network):
    rng = np.random.default_rng(0)
    net = Network([CELLS[cell](3, 4), TakeLast(), Dense(4, 2)], population=2, init="torch", rng=rng)
    X = rng.normal(size=(2, 5, 6, 3) if per_network else (5, 6, 3))
    check = gradcheck(net, X, rng.normal(size=(5, 2)))
    assert check.max_abs_error < 1e-8, (check.max_abs_error, check.worst_parameter)


def test_per_step_readout_matches_finite_differences():
    """A loss on every step: the error reaching h_t is the sum of its own and the later steps'."""
    rng = np.random.default_rng(1)
    net = Network([GRU(2, 3), PerStep(Dense(3, 2)), PerStep(ActivationLayer("sigmoid"))], population=3,
                  init="torch", rng=rng)
    check = gradcheck(net, rng.normal(size=(4, 7, 2)), rng.random((4, 7, 2)))
    assert check.max_abs_error < 1e-8


@pytest.mark.parametrize("cell", ["elman_tanh", "gru"])
def test_population_innermost_layout_matches_finite_differences(cell):
    """P >= 64 small networks store the flat array population-innermost; the views must still work."""
    rng = np.random.default_rng(2)
    net = Network([CELLS[cell](1, 2), TakeLast(), Dense(2, 1)], population=64, init="torch", rng=rng)
    assert net.flat_.strides[0] < net.flat_.strides[1]  # (D, P) in memory
    check = gradcheck(net, rng.normal(size=(3, 4, 1)), rng.normal(size=(3, 1)))
    assert check.max_abs_error < 1e-8


def torch_model(net: Network, p: int):
    """nn.RNN / nn.GRU (batch_first) followed by nn.Linear, with network ``p``'s weights."""
    cell, readout = net.layers[0], net.layers[2]
    if isinstance(cell, GRU):
        rnn = torch.nn.GRU(cell.n_in, cell.hidden, batch_first=True, dtype=torch.float64)
    else:
        rnn = torch.nn.RNN(cell.n_in, cell.hidden, nonlinearity=cell.activation.name, batch_first=True,
                           dtype=torch.float64)
    linear = torch.nn.Linear(readout.n_in, readout.n_out, dtype=torch.float64)
    with torch.no_grad():
        for name in NAMES:  # annrl stores the transposes of PyTorch's matrices
            target = getattr(rnn, f"{name}_l0")
            target.copy_(torch.as_tensor(net.params_[f"0.{name}"][p]).T.reshape(target.shape))
        linear.weight.copy_(torch.as_tensor(net.params_["2.weight"][p].T))
        linear.bias.copy_(torch.as_tensor(net.params_["2.bias"][p, 0]))
    return rnn, linear


def torch_gradients(rnn, linear) -> dict:
    grads = {f"0.{name}": getattr(rnn, f"{name}_l0").grad.numpy().T.reshape(1, -1) for name in NAMES}
    grads["2.weight"], grads["2.bias"] = linear.weight.grad.numpy().T, linear.bias.grad.numpy()[None]
    return grads


@pytest.mark.parametrize("cell", list(CELLS))
def test_outputs_and_every_gradient_match_torch(cell):
    rng = np.random.default_rng(3)
    net = Network([CELLS[cell](3, 5), TakeLast(), Dense(5, 2)], population=2, init="torch", rng=rng)
    X, Y = rng.normal(size=(4, 7, 3)), rng.normal(size=(4, 2))
    hidden, _ = net.layers[0].forward(net._layer_params[0], X)
    prediction, caches = net.forward(X)
    value, grad = get_loss("mse")(prediction, Y)
    net.zero_grad()
    grad_x = net.backward(grad, caches, input_grad=True)
    for p in range(2):
        rnn, linear = torch_model(net, p)
        x = torch.as_tensor(X).requires_grad_()
        sequence, last = rnn(x)
        loss = torch.nn.functional.mse_loss(linear(sequence[:, -1]), torch.as_tensor(Y))
        loss.backward()
        # forward pass: the whole hidden sequence, the final state and the loss
        np.testing.assert_allclose(hidden[p], sequence.detach().numpy(), rtol=TOL, atol=TOL)
        np.testing.assert_allclose(hidden[p][:, -1], last[0].detach().numpy(), rtol=TOL, atol=TOL)
        np.testing.assert_allclose(value[p], loss.item(), rtol=TOL, atol=TOL)
        # backward pass: every parameter gradient and the input gradient
        for name, expected in torch_gradients(rnn, linear).items():
            ours = net.grads[name][p].reshape(expected.shape)
            np.testing.assert_allclose(ours, expected, rtol=TOL, atol=TOL, err_msg=name)
        np.testing.assert_allclose(grad_x[p], x.grad.numpy(), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("cell", ["elman_tanh", "gru"])
def test_five_adam_steps_match_torch(cell):
    rng = np.random.default_rng(4)
    net = Network([CELLS[cell](2, 3), TakeLast(), Dense(3, 1)], init="torch", rng=rng)
    X, Y = rng.normal(size=(6, 5, 2)), rng.normal(size=(6, 1))
    rnn, linear = torch_model(net, 0)
    optimizer = Adam(lr=0.01)
    optimizer.reset(net.flat_)
    reference = torch.optim.Adam([*rnn.parameters(), *linear.parameters()], lr=0.01)
    for _ in range(5):
        prediction, caches = net.forward(X)
        value, grad = get_loss("mse")(prediction, Y)
        net.zero_grad()
        net.backward(grad, caches)
        optimizer.step(net.flat_, net.grad)
        reference.zero_grad()
        loss = torch.nn.functional.mse_loss(linear(rnn(torch.as_tensor(X))[0][:, -1]), torch.as_tensor(Y))
        loss.backward()
        reference.step()
        np.testing.assert_allclose(value[0], loss.item(), rtol=TOL, atol=TOL)
    for name in NAMES:
        expected = getattr(rnn, f"{name}_l0").detach().numpy().T.reshape(net.params_[f"0.{name}"][0].shape)
        np.testing.assert_allclose(net.params_[f"0.{name}"][0], expected, rtol=TOL, atol=TOL)


def test_gradients_add_into_net_grad_and_sum_over_steps():
    """Two backward passes without zero_grad give twice the gradient (never overwritten); the
    recurrent bias gets the sum over all steps, so a 3-step copy of one step's error is 3x."""
    rng = np.random.default_rng(5)
    net = Network([ElmanRNN(1, 2, "identity"), PerStep(Dense(2, 1))], init="torch", rng=rng)
    net.params_["0.weight_hh"][...] = 0.0  # no memory: each step sees only its own input
    X = np.zeros((1, 3, 1))
    prediction, caches = net.forward(X)
    grad = np.ones_like(prediction)
    net.zero_grad()
    net.backward(grad, caches)
    once = net.grad.copy()
    net.backward(grad, caches)
    np.testing.assert_allclose(net.grad, 2 * once)
    # d(sum of outputs)/d bias_hh = 3 steps x the readout weight
    np.testing.assert_allclose(once[0, net.layout.slices["0.bias_hh"]], 3 * net.params_["1.weight"][0, :, 0])


@pytest.mark.parametrize("cell", ["elman_tanh", "gru"])
def test_step_by_step_equals_the_sequence_forward(cell):
    rng = np.random.default_rng(6)
    net = Network([CELLS[cell](2, 4), TakeLast(), Dense(4, 1)], population=3, init="torch", rng=rng)
    layer, params = net.layers[0], net._layer_params[0]
    X = rng.normal(size=(5, 6, 2))
    sequence, _ = layer.forward(params, X)
    h = layer.initial_state(params, 5)
    for t in range(6):
        h = layer.step(params, X[:, t], h)
        np.testing.assert_allclose(h, sequence[:, :, t], rtol=1e-13, atol=1e-14)


def test_take_last_sends_the_error_to_the_last_step_only():
    layer = TakeLast()
    x = np.arange(2 * 3 * 4 * 2, dtype=float).reshape(2, 3, 4, 2)
    y, cache = layer.forward({}, x)
    np.testing.assert_array_equal(y, x[:, :, -1])
    grad_x, _ = layer.backward({}, np.ones_like(y), cache)
    assert grad_x.shape == x.shape
    assert grad_x[:, :, -1].sum() == 2 * 3 * 2 and grad_x[:, :, :-1].sum() == 0


def test_runs_on_torch_tensors_with_the_same_numbers():
    rng = np.random.default_rng(7)
    net = Network([GRU(2, 3), TakeLast(), Dense(3, 1)], population=2, init="torch", rng=rng)
    X, Y = rng.normal(size=(4, 5, 2)), rng.normal(size=(4, 1))
    expected = np.asarray(net.predict(X))
    net.zero_grad()
    prediction, caches = net.forward(net.check_input(X))
    net.backward(get_loss("mse")(prediction, Y)[1], caches)
    grad = net.grad.copy()
    net.to("torch")
    prediction, caches = net.forward(net.check_input(X))
    np.testing.assert_allclose(prediction.numpy(), expected, rtol=1e-12)
    net.zero_grad()
    net.backward(get_loss("mse")(prediction, net.asarray(Y))[1], caches)
    np.testing.assert_allclose(net.grad.numpy(), grad, rtol=1e-12, atol=1e-15)


def test_a_gru_learns_to_remember_the_first_input():
    """60 steps of SGD with momentum on a 4-step recall: BPTT descends, the loss falls by over half."""
    rng = np.random.default_rng(8)
    net = Network([GRU(1, 4), TakeLast(), Dense(4, 1)], init="torch", rng=rng)
    X = np.zeros((8, 4, 1))
    X[:, 0, 0] = np.repeat([-1.0, 1.0], 4)
    Y = X[:, 0, :]
    optimizer, loss = SGD(lr=0.1, momentum=0.9), get_loss("mse")
    optimizer.reset(net.flat_)
    first = None
    for _ in range(60):
        prediction, caches = net.forward(X)
        value, grad = loss(prediction, Y)
        first = value[0] if first is None else first
        net.zero_grad()
        net.backward(grad, caches)
        optimizer.step(net.flat_, net.grad)
    assert value[0] < 0.5 * first


@pytest.mark.parametrize(
    ("make", "x", "message"),
    [(lambda: GRU(0, 3), None, "sizes must be >= 1, got n_in=0"),
     (lambda: GRU(2, 3), np.zeros((4, 2)), r"input must have shape \(N, T, 2\) or \(1, N, T, 2\), got \(4, 2\)")],
)
def test_bad_sizes_and_shapes_are_refused(make, x, message):
    with pytest.raises(ValueError, match=message):
        Network([make(), TakeLast(), Dense(3, 1)]).predict(x)


@pytest.mark.parametrize("cell", ["elman_tanh", "gru"])
def test_only_array_api_standard_calls(cell):
    """Forward, backward, step, TakeLast and PerStep on array_api_strict arrays give NumPy's numbers."""
    xs = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(9)
    net = Network([CELLS[cell](2, 3), TakeLast(), Dense(3, 1)], population=2, init="torch", rng=rng)
    layer, params, X = net.layers[0], net._layer_params[0], rng.normal(size=(4, 5, 2))
    strict = {k: xs.asarray(np.ascontiguousarray(v)) for k, v in params.items()}
    y, cache = layer.forward(strict, xs.asarray(X))
    grad_x, grads = layer.backward(strict, xs.ones_like(y), cache)
    y_np, cache_np = layer.forward(params, X)
    grad_x_np, grads_np = layer.backward(params, np.ones_like(y_np), cache_np)
    np.testing.assert_allclose(np.asarray(y), y_np, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(grad_x), grad_x_np, rtol=1e-14)
    for name, value in grads_np.items():
        np.testing.assert_allclose(np.asarray(grads[name]), value, rtol=1e-14, atol=1e-15)
    layer.step(strict, xs.asarray(X[:, 0]), layer.initial_state(strict, 4))
    readout = PerStep(Dense(3, 1))
    readout_params = {k: xs.asarray(np.ascontiguousarray(v)) for k, v in net._layer_params[2].items()}
    out, readout_cache = readout.forward(readout_params, y)
    assert readout.backward(readout_params, xs.ones_like(out), readout_cache)[0].shape == (2, 4, 5, 3)
    last, last_cache = TakeLast().forward({}, y)
    assert TakeLast().backward({}, last, last_cache)[0].shape == (2, 4, 5, 3)


def test_specs_rebuild_the_same_layers():
    layers = [ElmanRNN(2, 3, "relu"), GRU(3, 4), TakeLast(), PerStep(Dense(4, 1)), PerStep(ActivationLayer("tanh"))]
    for layer in layers:
        rebuilt = layer_from_spec(layer.spec())
        assert repr(rebuilt) == repr(layer) and rebuilt.param_specs() == layer.param_specs()
