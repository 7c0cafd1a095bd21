"""The playground's Python parts: datasets, training with regularisation, exports, explanations, cars."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from annrl.errors import InputError
from annrl.playground.config import Setup, parse_setup
from annrl.playground.datasets import make_dataset
from annrl.playground.exports import checkpoint_bytes, numpy_source, torch_source
from annrl.playground.session import Session


def load_module(tmp_path, name, source):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["xor", "circle", "gauss", "spiral"])
def test_classification_sets_are_balanced_and_labelled_by_their_rule(name):
    data = make_dataset(Setup(dataset=name, points=400, ratio=50), np.random.default_rng(0))
    x, y = np.vstack([data.train_x, data.test_x]), np.vstack([data.train_y, data.test_y])[:, 0]
    assert len(x) == 400 and set(y) == {-1.0, 1.0} and abs(np.mean(y)) < 0.2
    assert np.all(np.abs(x) <= 5.5)
    if name == "xor":
        assert np.all(np.sign(x[:, 0] * x[:, 1]) == y)  # no noise: every label follows x y > 0
    if name == "circle":
        assert np.all((np.hypot(x[:, 0], x[:, 1]) < 3) == (y > 0))


def test_regression_plane_values_are_the_plane():
    data = make_dataset(Setup(dataset="plane", points=100), np.random.default_rng(1))
    np.testing.assert_allclose(data.train_y[:, 0], (data.train_x[:, 0] + data.train_x[:, 1]) / 10)


def test_function_dataset_maps_the_domain_and_values():
    data = make_dataset(Setup(dataset="function", function="sin", points=300), np.random.default_rng(2))
    original = data.to_original(data.train_x)
    low, high = data.value_range
    np.testing.assert_allclose(low + (data.train_y[:, 0] + 1) / 2 * (high - low), np.sin(original[:, 0]), atol=1e-12)
    assert data.view == "curve" and data.domain == ((-np.pi, np.pi),)


def test_boolean_dataset_covers_the_truth_table():
    data = make_dataset(Setup(dataset="boolean", expression="a & (b | c)", points=80), np.random.default_rng(3))
    rows = {tuple(r) for r in np.vstack([data.train_x, data.test_x]).astype(int)}
    assert data.inputs == ("a", "b", "c") and len(rows) == 8
    for x, y in zip(data.train_x, data.train_y[:, 0], strict=True):
        assert (y > 0) == bool(x[0] and (x[1] or x[2]))


def test_parse_setup_keeps_the_base_and_refuses_out_of_bounds():
    base = parse_setup({"dataset": "xor", "layers": [3]})
    again = parse_setup({"lr": 0.1}, base)
    assert again.dataset == "xor" and again.layers == (3,) and again.lr == 0.1
    with pytest.raises(InputError, match=r"setup.layers must be a list of 0 to 6 items"):
        parse_setup({"layers": [1] * 7})


def test_l2_regularisation_gradient_is_rate_times_weight():
    session = Session(Setup(dataset="gauss", layers=(3,), regularization="l2", reg_rate=0.3, points=40, seed=4))
    plain = Session(Setup(dataset="gauss", layers=(3,), points=40, seed=4))
    x, y = session.train_X[:5], session.train_Y[:5]
    for s in (session, plain):
        prediction, caches = s.net.forward(x)
        s.net.zero_grad()
        s.net.backward(s.loss(prediction, y)[1], caches)
    session._add_regularization()
    for name in session.weight_names:
        np.testing.assert_allclose(session.net.grads[name] - plain.net.grads[name], 0.3 * session.net.params_[name])
    bias = "0.bias"
    np.testing.assert_allclose(session.net.grads[bias], plain.net.grads[bias])  # biases are not regularised


def test_l1_shrinks_weights_to_exact_sparsity_pressure():
    free = Session(Setup(dataset="gauss", layers=(4,), points=100, seed=5, lr=0.05))
    sparse = Session(Setup(dataset="gauss", layers=(4,), points=100, seed=5, lr=0.05, regularization="l1",
                           reg_rate=0.05))
    free.train(30)
    sparse.train(30)
    total = [sum(np.abs(s.net.params_[n]).sum() for n in s.weight_names) for s in (free, sparse)]
    assert total[1] < 0.7 * total[0]


def test_diverging_networks_are_frozen_with_finite_weights():
    session = Session(Setup(dataset="plane", layers=(8, 8), activation="relu", lr=10.0, seeds=4, points=100))
    session.train(5)
    assert np.all(np.isfinite(session.net.flat_)) and not session.active.all()


def test_packed_grids_hold_the_network_outputs_as_float32():
    from annrl.playground.snapshot import NEURON_CELLS, grid_points, neurons, pack, surface, unpack

    session = Session(Setup(dataset="circle", layers=(3, 2), points=100, seed=2))
    session.train(2)
    raw, nx, ny = grid_points(session, 100)
    expected = session.predict_one(raw, 0).reshape(ny, nx)
    np.testing.assert_allclose(unpack(surface(session, 0)), expected, rtol=1e-6, atol=1e-7)
    raw, nx, ny = grid_points(session, NEURON_CELLS)
    hidden = session.hidden_outputs(raw, 0)
    for packed, layer in zip(neurons(session, 0), hidden[:-1], strict=True):
        np.testing.assert_allclose(unpack(packed), layer.reshape(-1, ny, nx), rtol=1e-6, atol=1e-7)
    odd = unpack(pack(np.array([[np.nan, np.inf, -np.inf, 0.25]])))
    np.testing.assert_array_equal(odd, np.array([[0.0, 9e9, -9e9, 0.25]], dtype=np.float32))


def test_minibatch_epoch_is_the_textbook_loop():
    """An epoch: shuffle with the session's generator, then one SGD step per slice of ``batch`` points."""
    setup = Setup(dataset="gauss", layers=(3,), points=60, batch=7, lr=0.1, regularization="l2", reg_rate=0.01,
                  seed=3)
    session, reference = Session(setup), Session(setup)
    session.train(2)
    net, X, Y = reference.net, reference.train_X, reference.train_Y
    for _ in range(2):
        order = reference.rng.permutation(len(X))
        for start in range(0, len(X), setup.batch):
            idx = order[start : start + setup.batch]
            prediction, caches = net.forward(X[idx])
            net.zero_grad()
            net.backward(reference.loss(prediction, Y[idx])[1], caches)
            for name in reference.weight_names:
                net.grads[name] += 0.01 * net.params_[name]
            net.flat_ -= 0.1 * net.grad
    np.testing.assert_allclose(session.net.flat_, net.flat_, rtol=1e-12, atol=1e-14)
    assert session.epoch == 2


@pytest.fixture(scope="module")
def spiral_session():
    """A trained spiral network, 50 points and its predictions ``(50, 1)``: what the exports must reproduce."""
    session = Session(Setup(dataset="spiral", layers=(5, 3), features=("x", "y", "x2", "xy", "sinx", "siny"),
                            activation="leaky_relu", points=100))
    session.train(3)
    points = np.random.default_rng(0).uniform(-6, 6, size=(50, 2))
    return session, points, session.predict_one(points, 0)


def test_the_numpy_export_computes_what_the_network_computes(tmp_path, spiral_session):
    session, points, expected = spiral_session
    numpy_module = load_module(tmp_path, "np_export", numpy_source(session))
    np.testing.assert_allclose(numpy_module.predict(points), expected, rtol=1e-12, atol=1e-12)


def test_the_torch_export_computes_what_the_network_computes(tmp_path, spiral_session):
    pytest.importorskip("torch", reason="the torch export needs PyTorch: pip install torch==2.13.0 "
                        "(CPU; or the annrl[torch] extra)")
    session, points, expected = spiral_session
    torch_module = load_module(tmp_path, "torch_export", torch_source(session))
    got = torch_module.PlaygroundNet()(points).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_boolean_exports_read_columns_whatever_the_variable_names(tmp_path):
    session = Session(Setup(dataset="boolean", expression="np & z", layers=(2,), points=40))
    rows = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    module = load_module(tmp_path, "bool_export", numpy_source(session))
    np.testing.assert_allclose(module.predict(rows), session.predict_one(rows, 0), atol=1e-12)


def test_checkpoint_export_loads_back_as_the_same_network(tmp_path):
    from annrl.io.network_file import load_network

    session = Session(Setup(dataset="xor", layers=(4,), seeds=3))
    session.train(2)
    path = tmp_path / "net.safetensors"
    path.write_bytes(checkpoint_bytes(session, 2))
    net, meta = load_network(path)
    np.testing.assert_array_equal(np.asarray(net.flat_), np.asarray(session.net.flat_)[2:3])
    assert meta["playground"]["setup"]["dataset"] == "xor" and meta["playground"]["features"] == ["x", "y"]


def test_explain_finds_a_closed_form_of_a_linear_regression():
    from annrl.playground.explain import explain

    session = Session(Setup(dataset="plane", layers=(), features=("x", "y"), points=200, lr=0.01, seed=0))
    session.train(60)
    result = explain(session)
    assert result["kind"] == "formula" and result["error"] < 0.01 and result["found"] is True
    assert "x" in result["formula"] and "y" in result["formula"]


def test_explain_checks_the_extractors_formula_itself_and_says_when_none_fits(monkeypatch):
    # the extractor claims a perfect fit with "0"; the panel measures it against the network instead
    import types

    import sympy

    import annrl.symbolic
    from annrl.playground.explain import explain

    def claims_perfect(X, y, **_):
        return types.SimpleNamespace(expression=sympy.Integer(0), latex=lambda: "0", complexity=0, error=0.0,
                                     max_error=0.0)

    monkeypatch.setattr(annrl.symbolic, "fit_formula", claims_perfect)
    session = Session(Setup(dataset="plane", layers=(), points=200, lr=0.01, seed=0))
    session.train(60)
    result = explain(session)
    assert result["found"] is False and result["relative_error"] > 0.9 and result["error"] > 0.1
    circle = Session(Setup(dataset="circle", layers=(4,), seed=1))
    circle.train(100)
    result = explain(circle)
    assert result["found"] is False and result["what"].startswith("decision function")
    assert result["agreement"] < 0.95 and result["network_accuracy"] > 0.9


def test_cars_generation_ends_and_reports_fitness():
    from annrl.playground.cars import CarsRun

    run = CarsRun(track="oval", population=4, hidden=(4,), max_steps=50)
    messages = [m for _ in range(25) for m in run.frame()]
    generations = [m for m in messages if m["type"] == "generation"]
    assert len(generations) >= 1 and generations[0]["best"] >= generations[0]["mean"] >= 0
    frame = messages[0]
    assert len(frame["cars"]) == 4 and len(frame["rays"][0]) == run.sim.n_rays


def test_playground_command_parses_and_refuses_bad_addresses():
    import argparse

    from annrl.playground.cli import DEFAULT_PORT, check_address, register

    top = argparse.ArgumentParser()
    register(top.add_subparsers())
    args = top.parse_args(["playground", "--no-browser"])
    assert (args.host, args.port, args.no_browser) == ("127.0.0.1", DEFAULT_PORT, True)
    with pytest.raises(InputError, match="--port must be in"):
        args.handler(top.parse_args(["playground", "--port", "70000"]))
    with pytest.raises(InputError, match="--host must be an IP address"):
        check_address("my host", 80)
    assert top.parse_args(["playground", "--runs", "runs"]).runs == "runs"
    with pytest.raises(InputError, match="--runs .*: no such folder"):  # refused before the server starts
        args.handler(top.parse_args(["playground", "--no-browser", "--runs", "/nonexistent/runs"]))
