"""to_torch / from_torch for every layer kind: the exported model computes what the network computes, in
annrl's own data layout, and importing it back gives the same parameters bit for bit."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from annrl.nn import (  # noqa: E402 - after the importorskip
    GRU,
    LSTM,
    ActivationLayer,
    AvgPool2D,
    Conv2D,
    Dense,
    ElmanRNN,
    Flatten,
    MaxPool2D,
    Network,
    PerStep,
    TakeLast,
    from_torch,
    to_torch,
)
from annrl.nn.residual import Residual  # noqa: E402

MODELS = {
    "cnn": (lambda: [Conv2D(2, 3, 3, padding=1), ActivationLayer("tanh"), MaxPool2D(2),
                     Conv2D(3, 4, (2, 3), stride=(1, 2)), ActivationLayer("relu"), AvgPool2D(2, stride=1, padding=1),
                     Flatten(), Dense(3 * 2 * 4, 3)], (5, 6, 8, 2)),
    "elman-relu": (lambda: [ElmanRNN(3, 5, "relu"), TakeLast(), Dense(5, 2)], (4, 7, 3)),
    "gru-per-step": (lambda: [GRU(3, 4), PerStep(Dense(4, 2)), PerStep(ActivationLayer("sigmoid"))], (4, 6, 3)),
    "lstm": (lambda: [LSTM(2, 6), TakeLast(), Dense(6, 1)], (3, 9, 2)),
    "residual": (lambda: [Dense(3, 8), Residual([Dense(8, 8), ActivationLayer("sin"), Dense(8, 8)]),
                          ActivationLayer("leaky_relu"), Dense(8, 2)], (6, 3)),
}


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_exported_model_computes_what_the_network_computes(name, dtype):
    build, shape = MODELS[name]
    net = Network(build(), population=1, init="torch", seed=3, dtype=dtype)
    x = np.random.default_rng(1).normal(size=shape).astype(dtype)
    model = to_torch(net)
    with torch.no_grad():
        got = model(torch.as_tensor(x)).numpy()
    tol = 1e-12 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(got, net.predict(x)[0], rtol=tol, atol=tol)
    assert sum(p.numel() for p in model.parameters()) == net.flat_.size


@pytest.mark.parametrize("name", list(MODELS))
def test_importing_the_export_gives_the_same_network(name):
    build, shape = MODELS[name]
    net = Network(build(), population=1, init="torch", seed=4)
    back = from_torch(to_torch(net))
    assert [layer.spec() for layer in back.layers] == [layer.spec() for layer in net.layers]
    for key, value in net.params_.items():
        np.testing.assert_array_equal(back.params_[key], value, err_msg=key)


def test_modules_without_an_annrl_counterpart_are_refused_by_name():
    from annrl.nn.torch_bridge import wrappers

    conv = wrappers().ChannelsLast(torch.nn.Conv2d(2, 2, 3, dilation=2))
    with pytest.raises(ValueError, match="module 0: only plain convolutions"):
        from_torch(torch.nn.Sequential(conv))
    two_layers = wrappers().SequenceOutput(torch.nn.GRU(2, 3, num_layers=2, batch_first=True))
    with pytest.raises(ValueError, match="module 1: only one-layer"):
        from_torch(torch.nn.Sequential(torch.nn.Identity(), two_layers))
    with pytest.raises(ValueError, match="module 0: .*Flatten"):
        from_torch(torch.nn.Sequential(torch.nn.Flatten()))
