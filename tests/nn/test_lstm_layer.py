"""The LSTM: backpropagation through time against PyTorch's nn.LSTM (same weights, every output and every
gradient at 1e-10 in float64) and against finite differences; step-by-step acting; every backend."""

import numpy as np
import pytest

from annrl.backend import to_backend, to_numpy
from annrl.nn import LSTM, SGD, ActivationLayer, Dense, Network, PerStep, TakeLast, fit, get_loss
from annrl.nn.gradcheck import gradcheck
from annrl.nn.registry import layer_from_spec

torch = pytest.importorskip("torch")

TOL = 1e-10
NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def lstm_net(n_in, hidden, population, rng, readout=None):
    readout = readout or [TakeLast(), Dense(hidden, 2)]
    return Network([LSTM(n_in, hidden), *readout], population=population, init="torch", rng=rng)


def torch_lstm(net, p):
    """nn.LSTM (batch_first) with network ``p``'s weights: annrl stores the transposes."""
    cell = net.layers[0]
    lstm = torch.nn.LSTM(cell.n_in, cell.hidden, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name in NAMES:
            target = getattr(lstm, f"{name}_l0")
            target.copy_(torch.as_tensor(net.params_[f"0.{name}"][p]).T.reshape(target.shape))
    return lstm


def torch_linear(net, index, p):
    dense = net.layers[index]
    dense = getattr(dense, "layer", dense)
    linear = torch.nn.Linear(dense.n_in, dense.n_out, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(net.params_[f"{index}.weight"][p].T))
        linear.bias.copy_(torch.as_tensor(net.params_[f"{index}.bias"][p, 0]))
    return linear


def close(found, expected, what):
    np.testing.assert_allclose(found, expected, rtol=TOL, atol=TOL, err_msg=what)


@pytest.mark.parametrize("population", [1, 3])
@pytest.mark.parametrize("shared", [True, False])
def test_outputs_and_every_gradient_match_torch(population, shared):
    rng = np.random.default_rng(0)
    net = lstm_net(3, 5, population, rng)
    X = rng.normal(size=(4, 7, 3) if shared else (population, 4, 7, 3))
    Y = rng.normal(size=(4, 2))
    hidden, _ = net.layers[0].forward(net._layer_params[0], X)
    prediction, caches = net.forward(X)
    value, grad = get_loss("mse")(prediction, Y)
    net.zero_grad()
    grad_x = net.backward(grad, caches, input_grad=True)
    for p in range(population):
        lstm, linear = torch_lstm(net, p), torch_linear(net, 2, p)
        x = torch.as_tensor(X if shared else X[p]).requires_grad_()
        sequence, (last_h, _) = lstm(x)
        loss = torch.nn.functional.mse_loss(linear(sequence[:, -1]), torch.as_tensor(Y))
        loss.backward()
        # forward pass: the whole output sequence, the final state and the loss
        close(hidden[p], sequence.detach().numpy(), "output sequence")
        close(hidden[p][:, -1], last_h[0].detach().numpy(), "final h")
        close(value[p], loss.item(), "loss")
        # backward pass: every parameter gradient and the input gradient
        for name in NAMES:
            expected = getattr(lstm, f"{name}_l0").grad.numpy().T
            close(net.grads[f"0.{name}"][p].reshape(expected.shape), expected, name)
        close(net.grads["2.weight"][p], linear.weight.grad.numpy().T, "readout weight")
        close(grad_x[p], x.grad.numpy(), "input gradient")


def test_a_loss_on_every_step_matches_torch():
    """PerStep readout: the error reaching h_t is its own plus what steps t+1.. send back (through h and c)."""
    rng = np.random.default_rng(1)
    net = lstm_net(2, 4, 3, rng, [PerStep(Dense(4, 2)), PerStep(ActivationLayer("tanh"))])
    X, Y = rng.normal(size=(5, 6, 2)), rng.normal(size=(5, 6, 2))
    prediction, caches = net.forward(X)
    value, grad = get_loss("mse")(prediction, Y)
    net.zero_grad()
    net.backward(grad, caches)
    for p in range(3):
        lstm, linear = torch_lstm(net, p), torch_linear(net, 1, p)
        loss = torch.nn.functional.mse_loss(torch.tanh(linear(lstm(torch.as_tensor(X))[0])), torch.as_tensor(Y))
        loss.backward()
        close(value[p], loss.item(), "loss")
        for name in NAMES:
            expected = getattr(lstm, f"{name}_l0").grad.numpy().T
            close(net.grads[f"0.{name}"][p].reshape(expected.shape), expected, name)


@pytest.mark.parametrize("population", [1, 3])
@pytest.mark.parametrize("shared", [True, False])
def test_bptt_matches_finite_differences(population, shared):
    rng = np.random.default_rng(2)
    net = lstm_net(3, 4, population, rng)
    X = rng.normal(size=(5, 6, 3) if shared else (population, 5, 6, 3))
    check = gradcheck(net, X, rng.normal(size=(5, 2)))
    assert check.max_abs_error < 1e-8, (check.max_abs_error, check.worst_parameter)


def test_population_innermost_layout_matches_finite_differences():
    rng = np.random.default_rng(3)
    net = Network([LSTM(1, 2), TakeLast(), Dense(2, 1)], population=64, init="torch", rng=rng)
    assert net.flat_.strides[0] < net.flat_.strides[1]  # (D, P) in memory
    check = gradcheck(net, rng.normal(size=(3, 4, 1)), rng.normal(size=(3, 1)))
    assert check.max_abs_error < 1e-8


def test_five_momentum_steps_match_torch():
    rng = np.random.default_rng(4)
    net = lstm_net(2, 3, 1, rng)
    X, Y = rng.normal(size=(6, 5, 2)), rng.normal(size=(6, 2))
    lstm, linear = torch_lstm(net, 0), torch_linear(net, 2, 0)
    reference = torch.optim.SGD([*lstm.parameters(), *linear.parameters()], lr=0.1, momentum=0.9)
    history = fit(net, X, Y, loss="mse", optimizer=SGD(lr=0.1, momentum=0.9), epochs=5)
    for epoch in range(5):
        reference.zero_grad()
        loss = torch.nn.functional.mse_loss(linear(lstm(torch.as_tensor(X))[0][:, -1]), torch.as_tensor(Y))
        loss.backward()
        reference.step()
        close(history.loss[epoch, 0], loss.item(), f"loss at epoch {epoch}")
    for name in NAMES:
        expected = getattr(lstm, f"{name}_l0").detach().numpy().T
        close(net.params_[f"0.{name}"][0].reshape(expected.shape), expected, name)


def test_step_by_step_gives_the_sequence_and_torchs_cell_state():
    rng = np.random.default_rng(5)
    net = lstm_net(2, 4, 3, rng)
    layer, params = net.layers[0], net._layer_params[0]
    X = rng.normal(size=(5, 6, 2))
    sequence, _ = layer.forward(params, X)
    state = layer.initial_state(params, 5)
    assert state.shape == (3, 5, 8) and layer.state_size == 8
    for t in range(6):
        state = layer.step(params, X[:, t], state)
        np.testing.assert_allclose(layer.output_of(state), sequence[:, :, t], rtol=1e-13, atol=1e-14)
    for p in range(3):
        _, (h, c) = torch_lstm(net, p)(torch.as_tensor(X))
        close(state[p, :, :4], h[0].detach().numpy(), "h after the last step")
        close(state[p, :, 4:], c[0].detach().numpy(), "c after the last step")


def test_the_forget_gate_carries_the_cell_over_time():
    """Forget gate open (f = 1), input gate shut (i = 0): the cell keeps its value for any number of steps."""
    layer = LSTM(1, 1)
    params = {"weight_ih": np.zeros((1, 1, 4)), "weight_hh": np.zeros((1, 1, 4)),
              "bias_ih": np.array([[[-50.0, 50.0, 0.0, 50.0]]]), "bias_hh": np.zeros((1, 1, 4))}
    state = np.array([[[0.0, 0.7]]])  # h = 0, c = 0.7
    for _ in range(100):
        state = layer.step(params, np.ones((1, 1)), state)
    np.testing.assert_allclose(state[0, 0], [np.tanh(0.7), 0.7], rtol=1e-12)


@pytest.mark.parametrize("backend", ["torch", "array_api_strict"])
def test_forward_backward_and_step_give_numpys_numbers_on_other_backends(backend):
    pytest.importorskip(backend)
    rng = np.random.default_rng(6)
    net = lstm_net(2, 3, 2, rng)
    layer, params, X = net.layers[0], net._layer_params[0], rng.normal(size=(4, 5, 2))
    y, cache = layer.forward(params, X)
    grad_y = rng.normal(size=y.shape)
    grad_x, grads = layer.backward(params, grad_y, cache)
    moved = {name: to_backend(np.ascontiguousarray(value), backend) for name, value in params.items()}
    y_b, cache_b = layer.forward(moved, to_backend(X, backend))
    grad_x_b, grads_b = layer.backward(moved, to_backend(grad_y, backend), cache_b)
    np.testing.assert_allclose(to_numpy(y_b), y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_numpy(grad_x_b), grad_x, rtol=1e-12, atol=1e-14)
    for name, value in grads.items():
        np.testing.assert_allclose(to_numpy(grads_b[name]), value, rtol=1e-12, atol=1e-14, err_msg=name)
    state = layer.step(moved, to_backend(X[:, 0], backend), layer.initial_state(moved, 4))
    np.testing.assert_allclose(to_numpy(layer.output_of(state)), y[:, :, 0], rtol=1e-12, atol=1e-14)


def test_spec_round_trip_and_network_rebuild():
    layer = LSTM(3, 7)
    rebuilt = layer_from_spec(layer.spec())
    assert repr(rebuilt) == repr(layer) == "LSTM(3 -> 7)" and rebuilt.param_specs() == layer.param_specs()
    net = lstm_net(3, 4, 2, np.random.default_rng(7))
    copy = Network.from_spec(net.spec())
    copy.set_flat(net.flat_)
    X = np.random.default_rng(8).normal(size=(3, 5, 3))
    np.testing.assert_array_equal(copy.predict(X), net.predict(X))


@pytest.mark.parametrize(
    ("make", "x", "message"),
    [(lambda: LSTM(0, 3), None, "sizes must be >= 1, got n_in=0"),
     (lambda: LSTM(2, 3), np.zeros((4, 2)), r"input must have shape \(N, T, 2\) or \(1, N, T, 2\), got \(4, 2\)"),
     (lambda: LSTM(2, 3), np.zeros((4, 5, 3)), r"got \(4, 5, 3\)")],
)
def test_bad_sizes_and_shapes_are_refused(make, x, message):
    with pytest.raises(ValueError, match=message):
        Network([make(), TakeLast(), Dense(3, 1)]).predict(x)
