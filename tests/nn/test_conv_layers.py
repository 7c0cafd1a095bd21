"""Convolution and pooling: every forward and backward against PyTorch's conv2d / max_pool2d / avg_pool2d
(1e-10, float64, channels-last here and channels-first there), against finite differences, on every backend."""

import numpy as np
import pytest

from annrl.backend import to_backend, to_numpy
from annrl.nn import SGD, ActivationLayer, AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, Network, fit, get_loss
from annrl.nn.gradcheck import gradcheck
from annrl.nn.registry import layer_from_spec

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-10
# (kernel, stride, padding): square and rectangular kernels, strides 1-3, with and without padding
CONV_CASES = [(3, 1, 0), (3, 2, 1), (1, 1, 0), ((2, 3), (1, 2), (1, 0)), (5, 3, 2)]
POOL_CASES = [(2, None, 0), (3, 1, 1), (3, 2, 1), ((2, 3), (2, 1), (1, 1)), (3, 3, 0)]


def nchw(x: np.ndarray):
    """annrl's (N, H, W, C) as PyTorch's (N, C, H, W) tensor."""
    return torch.as_tensor(np.ascontiguousarray(x)).permute(0, 3, 1, 2)


def nhwc(t) -> np.ndarray:
    return t.detach().permute(0, 2, 3, 1).numpy()


def random_params(layer, population, rng):
    return {name: rng.normal(size=(population, *spec.shape)) for name, spec in layer.param_specs().items()}


def close(found, expected, what):
    np.testing.assert_allclose(found, expected, rtol=TOL, atol=TOL, err_msg=what)


@pytest.mark.parametrize(("kernel", "stride", "padding"), CONV_CASES)
@pytest.mark.parametrize("population", [1, 3])
@pytest.mark.parametrize("shared", [True, False])
def test_conv_forward_and_backward_match_torch(kernel, stride, padding, population, shared):
    rng = np.random.default_rng(0)
    layer = Conv2D(2, 4, kernel, stride=stride, padding=padding)
    params = random_params(layer, population, rng)
    x = rng.normal(size=(5, 9, 7, 2) if shared else (population, 5, 9, 7, 2))
    y, cache = layer.forward(params, x)
    grad_y = rng.normal(size=y.shape)
    grad_x, grads = layer.backward(params, grad_y, cache)
    assert grad_x.shape == (population, 5, 9, 7, 2)
    for p in range(population):
        xt = nchw(x if shared else x[p]).requires_grad_()
        weight = torch.as_tensor(params["weight"][p]).permute(3, 2, 0, 1).requires_grad_()
        bias = torch.as_tensor(params["bias"][p, 0]).requires_grad_()
        yt = F.conv2d(xt, weight, bias, stride=layer.stride, padding=layer.padding)
        yt.backward(nchw(grad_y[p]))
        # forward pass
        close(y[p], nhwc(yt), "output")
        # backward pass: input, kernel and bias gradients
        close(grad_x[p], nhwc(xt.grad), "input gradient")
        close(grads["weight"][p], weight.grad.permute(2, 3, 1, 0).numpy(), "weight gradient")
        close(grads["bias"][p, 0], bias.grad.numpy(), "bias gradient")
    # with a shared input, each network's input gradient is its own (they differ)
    assert population == 1 or not np.allclose(grad_x[0], grad_x[1])


@pytest.mark.parametrize(("kind", "torch_pool"), [(MaxPool2D, F.max_pool2d), (AvgPool2D, F.avg_pool2d)])
@pytest.mark.parametrize(("kernel", "stride", "padding"), POOL_CASES)
@pytest.mark.parametrize("population", [1, 3])
def test_pool_forward_and_backward_match_torch(kind, torch_pool, kernel, stride, padding, population):
    rng = np.random.default_rng(1)
    layer = kind(kernel, stride, padding)
    x = rng.normal(size=(population, 4, 8, 7, 3))
    y, cache = layer.forward({}, x)
    grad_y = rng.normal(size=y.shape)
    grad_x, grads = layer.backward({}, grad_y, cache)
    assert grads == {} and grad_x.shape == x.shape
    for p in range(population):
        xt = nchw(x[p]).requires_grad_()
        yt = torch_pool(xt, layer.kernel, layer.stride, layer.padding)
        yt.backward(nchw(grad_y[p]))
        close(y[p], nhwc(yt), "output")
        close(grad_x[p], nhwc(xt.grad), "input gradient")


def test_max_pool_ties_send_the_error_where_torch_does():
    """After a ReLU many windows are all zeros: the error goes to the first pixel, as in PyTorch."""
    rng = np.random.default_rng(2)
    x = np.maximum(rng.normal(size=(1, 3, 6, 6, 2)), 0.0)
    x[..., :3, :, :] = 0.0
    layer = MaxPool2D(3, 1, 1)
    y, cache = layer.forward({}, x)
    grad_y = rng.normal(size=y.shape)
    grad_x, _ = layer.backward({}, grad_y, cache)
    xt = nchw(x[0]).requires_grad_()
    F.max_pool2d(xt, 3, 1, 1).backward(nchw(grad_y[0]))
    close(grad_x[0], nhwc(xt.grad), "input gradient with ties")


def small_cnn(population, rng, pool=MaxPool2D):
    layers = [Conv2D(2, 3, 3, padding=1), ActivationLayer("tanh"), pool(2), Conv2D(3, 4, (2, 3), stride=(1, 2)),
              ActivationLayer("relu"), Flatten(), Dense(2 * 1 * 4, 3)]  # 6x8 -> 6x8 -> 3x4 -> 2x1
    return Network(layers, population=population, init="torch", rng=rng)


@pytest.mark.parametrize("population", [1, 3])
@pytest.mark.parametrize("pool", [MaxPool2D, AvgPool2D])
def test_cnn_gradients_match_finite_differences(population, pool):
    rng = np.random.default_rng(3)
    net = small_cnn(population, rng, pool)
    X = rng.normal(size=(4, 6, 8, 2))
    Y = np.eye(3)[rng.integers(0, 3, 4)]
    check = gradcheck(net, X, Y, loss="softmax_ce")
    assert check.max_abs_error < 1e-8, (check.max_abs_error, check.worst_parameter)


def torch_cnn(net, p):
    """The same CNN in torch.nn (channels-first inside, flattened in annrl's (H, W, C) order)."""
    conv1, conv2, dense = (net.layers[i] for i in (0, 3, 6))

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(2, 3, 3, padding=1, dtype=torch.float64)
            self.conv2 = torch.nn.Conv2d(3, 4, (2, 3), stride=(1, 2), dtype=torch.float64)
            self.dense = torch.nn.Linear(dense.n_in, dense.n_out, dtype=torch.float64)

        def forward(self, x):
            x = F.max_pool2d(torch.tanh(self.conv1(x.permute(0, 3, 1, 2))), 2)
            x = torch.relu(self.conv2(x))
            return self.dense(x.permute(0, 2, 3, 1).flatten(1))

    model = Model()
    with torch.no_grad():
        for module, index in ((model.conv1, 0), (model.conv2, 3)):
            module.weight.copy_(torch.as_tensor(net.params_[f"{index}.weight"][p]).permute(3, 2, 0, 1))
            module.bias.copy_(torch.as_tensor(net.params_[f"{index}.bias"][p, 0]))
        model.dense.weight.copy_(torch.as_tensor(net.params_["6.weight"][p].T))
        model.dense.bias.copy_(torch.as_tensor(net.params_["6.bias"][p, 0]))
    assert conv1.kernel == (3, 3) and conv2.stride == (1, 2)
    return model


def test_five_momentum_steps_of_a_cnn_match_torch():
    rng = np.random.default_rng(4)
    net = small_cnn(2, rng)
    X, Y = rng.normal(size=(5, 6, 8, 2)), np.eye(3)[rng.integers(0, 3, 5)]
    models = [torch_cnn(net, p) for p in range(2)]
    references = [torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) for model in models]
    optimizer = SGD(lr=0.1, momentum=0.9)  # (torch's Adam would cost seconds of imports on first use)
    optimizer.reset(net.flat_)
    for _ in range(5):
        prediction, caches = net.forward(X)
        value, grad = get_loss("softmax_ce")(prediction, Y)
        net.zero_grad()
        net.backward(grad, caches)
        optimizer.step(net.flat_, net.grad)
        for p, (model, reference) in enumerate(zip(models, references, strict=True)):
            reference.zero_grad()
            loss = F.cross_entropy(model(torch.as_tensor(X)), torch.as_tensor(Y))
            loss.backward()
            reference.step()
            close(value[p], loss.item(), "loss")
    for p, model in enumerate(models):
        close(net.params_["3.weight"][p], model.conv2.weight.detach().permute(2, 3, 1, 0).numpy(), "conv2 weight")
        close(net.params_["6.weight"][p], model.dense.weight.detach().numpy().T, "dense weight")


def test_flatten_folds_height_width_channels_and_unfolds_the_error():
    x = np.arange(2 * 3 * 4 * 5 * 2, dtype=float).reshape(2, 3, 4, 5, 2)
    layer = Flatten()
    y, cache = layer.forward({}, x)
    np.testing.assert_array_equal(y, x.reshape(2, 3, 40))
    grad_x, _ = layer.backward({}, y, cache)
    np.testing.assert_array_equal(grad_x, x)
    assert Flatten(2).forward({}, x)[0].shape == (2, 3, 4, 10)


def test_overlapping_windows_add_their_errors():
    """A pixel inside four 2x2 windows (stride 1) of a sum-like kernel gets four errors, never one."""
    layer = Conv2D(1, 1, 2)
    params = {"weight": np.ones((1, 2, 2, 1, 1)), "bias": np.zeros((1, 1, 1))}
    y, cache = layer.forward(params, np.zeros((1, 3, 3, 1)))
    grad_x, _ = layer.backward(params, np.ones_like(y), cache)
    np.testing.assert_array_equal(grad_x[0, 0, :, :, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


LAYERS = [Conv2D(3, 5, (2, 3), stride=(1, 2), padding=(1, 0)), Conv2D(1, 2, 3), MaxPool2D(2),
          MaxPool2D((3, 2), stride=1, padding=(1, 1)), AvgPool2D(3, 2, 1), Flatten(), Flatten(2)]


@pytest.mark.parametrize("layer", LAYERS, ids=repr)
def test_specs_rebuild_the_same_layers(layer):
    rebuilt = layer_from_spec(layer.spec())
    assert type(rebuilt) is type(layer) and rebuilt.spec() == layer.spec() and repr(rebuilt) == repr(layer)
    assert rebuilt.param_specs() == layer.param_specs()


def test_a_cnn_network_rebuilds_from_its_spec():
    net = small_cnn(2, np.random.default_rng(5))
    rebuilt = Network.from_spec(net.spec())
    rebuilt.set_flat(net.flat_)
    X = np.random.default_rng(6).normal(size=(3, 6, 8, 2))
    np.testing.assert_array_equal(rebuilt.predict(X), net.predict(X))


@pytest.mark.parametrize("backend", ["torch", "array_api_strict"])
@pytest.mark.parametrize("layer", LAYERS[:5], ids=repr)
def test_layers_give_numpys_numbers_on_other_backends(backend, layer):
    pytest.importorskip(backend)
    rng = np.random.default_rng(7)
    channels = getattr(layer, "n_in", 3)
    params = random_params(layer, 2, rng)
    x, grad_seed = rng.normal(size=(2, 3, 7, 6, channels)), rng.normal
    y, cache = layer.forward(params, x)
    grad_y = grad_seed(size=y.shape)
    grad_x, grads = layer.backward(params, grad_y, cache)
    moved = {name: to_backend(value, backend) for name, value in params.items()}
    y_b, cache_b = layer.forward(moved, to_backend(x, backend))
    grad_x_b, grads_b = layer.backward(moved, to_backend(grad_y, backend), cache_b)
    np.testing.assert_allclose(to_numpy(y_b), y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_numpy(grad_x_b), grad_x, rtol=1e-12, atol=1e-12)
    for name, value in grads.items():
        np.testing.assert_allclose(to_numpy(grads_b[name]), value, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["torch", "array_api_strict"])
def test_training_a_cnn_agrees_with_numpy(backend):
    pytest.importorskip(backend)
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(6, 6, 8, 2)), np.eye(3)[rng.integers(0, 3, 6)]

    def train(name):
        net = small_cnn(2, np.random.default_rng(9))
        if name != "numpy":
            net.to(name)
        history = fit(net, to_backend(X, name), to_backend(Y, name), loss="softmax_ce",
                      optimizer=SGD(lr=0.1, momentum=0.9), epochs=15)
        return to_numpy(net.flat_), history.loss

    (expected, expected_loss), (found, loss) = train("numpy"), train(backend)
    np.testing.assert_allclose(found, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10, atol=1e-12)
    assert loss[-1].max() < loss[0].min()  # and it learns


@pytest.mark.parametrize(
    ("make", "x", "message"),
    [
        (lambda: Conv2D(2, 4, 3), np.zeros((5, 8, 8, 3)),
         r"Conv2D input must have shape \(N, H, W, 2\) or \(1, N, H, W, 2\), got \(5, 8, 8, 3\)"),
        (lambda: Conv2D(1, 4, 3), np.zeros((5, 64)), r"got \(5, 64\)"),
        (lambda: Conv2D(1, 4, 5, padding=1), np.zeros((5, 2, 8, 1)),
         "input of 2x8 pixels \\(padded 4x10\\) is smaller than its 5x5 kernel"),
        (lambda: MaxPool2D(3), np.zeros((5, 2, 2, 1)), "MaxPool2D input of 2x2 pixels"),
        (lambda: AvgPool2D(2), np.zeros((8, 8)), r"AvgPool2D input must have shape \(N, H, W, C\)"),
        (lambda: Flatten(), np.zeros((4, 4, 4)), r"Flatten\(3\) input needs a sample axis"),
    ],
)
def test_bad_input_shapes_are_refused(make, x, message):
    layer = make()
    with pytest.raises(ValueError, match=message):
        layer.forward({name: np.zeros((1, *spec.shape)) for name, spec in layer.param_specs().items()}, x)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Conv2D(0, 4, 3), "Conv2D channels must be >= 1, got in_channels=0"),
        (lambda: Conv2D(1, 4, 0), r"kernel_size must be an int >= 1 or a pair of them, got 0"),
        (lambda: Conv2D(1, 4, 3, stride=(1, 0)), r"stride must be an int >= 1 or a pair of them, got \(1, 0\)"),
        (lambda: Conv2D(1, 4, 3, padding=-1), "padding must be an int >= 0"),
        (lambda: Conv2D(1, 4, (3, 3, 3)), "kernel_size must be"),
        (lambda: MaxPool2D(2, padding=2), r"padding must be at most half the kernel \(2, 2\), got \(2, 2\)"),
        (lambda: Flatten(0), "Flatten ndim must be >= 1, got 0"),
        (lambda: layer_from_spec({"type": "Conv3D"}), "layer type must be one of .*'Conv2D'.*got 'Conv3D'"),
    ],
)
def test_bad_settings_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_network_checks_image_shapes():
    net = small_cnn(1, np.random.default_rng(10))
    with pytest.raises(ValueError, match=r"input must have shape \(N, H, W, 2\) or \(1, N, H, W, 2\)"):
        net.predict(np.zeros((3, 6, 8)))
