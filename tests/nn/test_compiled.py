"""The compiled training loop (annrl.nn.compiled) against the NumPy engine, its reference.

The first test compiles the kernels (float64 and float32) unless Numba's on-disk cache has them: about 20 s
of CPU on a cold cache, well under a second from the cache.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from annrl.errors import InputError
from annrl.nn import MLP, SGD, Adam, RMSprop, fit
from annrl.nn import compiled as fast
from annrl.nn.fit import Trainer
from annrl.nn.layers import ActivationLayer, Dense
from annrl.nn.losses import get_loss
from annrl.nn.model import Network

pytest.importorskip("numba")

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)
ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "sin"]
OPTIMIZERS = {
    "sgd": lambda: SGD(lr=0.05),
    "momentum": lambda: SGD(lr=0.05, momentum=0.9, weight_decay=1e-3),
    "nesterov": lambda: SGD(lr=0.05, momentum=0.8, nesterov=True),
    "adam": lambda: Adam(lr=0.01, weight_decay=1e-4),
    "rmsprop": lambda: RMSprop(lr=0.003, eps=1e-3),
    "rmsprop_momentum": lambda: RMSprop(lr=0.002, momentum=0.5, eps=1e-3),
}


def trained(make_net, X, Y, kernel, *, nudge=False, **options):
    """``(net, history)`` of a fresh ``make_net()`` trained with ``kernel`` (``nudge``: one ulp more on every
    starting weight); an option given as a callable (an optimizer factory) is called for a fresh one."""
    net = make_net()
    if nudge:
        net.flat_[...] = np.nextafter(net.flat_, np.inf)
    rng = np.random.default_rng(7) if options.get("batch_size") else None
    opts = {k: (v() if callable(v) else v) for k, v in options.items()}
    return net, fit(net, X, Y, rng=rng, kernel=kernel, **opts)


def both(make_net, X, Y, **options):
    """Train the same networks with each kernel: ``(numpy_net, numpy_history, compiled_net, compiled_history)``."""
    return [*trained(make_net, X, Y, "numpy", **options), *trained(make_net, X, Y, "compiled", **options)]


def rounding_spread(make_net, X, Y, reference, **options):
    """How far one ulp more on every starting weight moves the NumPy path's trained weights: how strongly this
    training amplifies a rounding difference. Saturated tanh units (``1 - a*a`` of an ``a`` near 1) can make
    it 1e-9; most runs stay near 1e-14."""
    net, _ = trained(make_net, X, Y, "numpy", nudge=True, **options)
    return float(np.nanmax(np.abs(net.flat_ - reference.flat_)))


def assert_same(a, ha, b, hb, tol):
    assert hb.kernel == "compiled" and ha.kernel == "numpy"
    assert ha.epochs_run == hb.epochs_run
    np.testing.assert_array_equal(ha.reached_epoch, hb.reached_epoch)
    np.testing.assert_array_equal(ha.diverged_epoch, hb.diverged_epoch)
    np.testing.assert_allclose(b.flat_, a.flat_, rtol=tol, atol=tol)
    np.testing.assert_allclose(hb.loss, ha.loss, rtol=tol, atol=tol)
    np.testing.assert_allclose(hb.final_loss, ha.final_loss, rtol=tol, atol=tol)


def data(loss: str, n_in: int, n_out: int, samples: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (samples, n_in))
    if loss == "softmax_ce":
        return X, np.eye(n_out)[rng.integers(0, n_out, samples)]
    if loss == "bce":
        return X, rng.integers(0, 2, (samples, n_out)).astype(float)
    return X, rng.uniform(-1, 1, (samples, n_out))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4), hidden=st.sampled_from(ACTIVATIONS),
       output=st.sampled_from(["identity", "tanh", "sigmoid"]),
       loss=st.sampled_from(["mse", "bce", "softmax_ce", "huber"]),
       optimizer=st.sampled_from(sorted(OPTIMIZERS)), population=st.sampled_from([1, 3, 70]),
       batch=st.sampled_from([None, 1, 3, 5]), stops=st.booleans(), seed=st.integers(0, 2**16))
def test_compiled_training_equals_numpy_float64(sizes, hidden, output, loss, optimizer, population, batch, stops,
                                                seed):
    if loss == "softmax_ce":
        sizes[-1], output = max(2, sizes[-1]), "identity"
    X, Y = data(loss, sizes[0], sizes[-1], 7, seed)

    def make():
        return MLP(sizes, hidden=hidden, output=output, population=population, seed=seed)

    # with stops, a tolerance some networks reach within the budget and others do not: 0.9 x the median
    # starting loss (the stops must then be the same networks at the same epochs)
    until = 0.9 * float(np.median(get_loss(loss)(make().predict(X), Y)[0])) if stops else None
    a, ha, b, hb = both(make, X, Y, loss=loss, optimizer=OPTIMIZERS[optimizer], epochs=12, batch_size=batch,
                        until=until)
    # a network blowing up to losses of 1e200 amplifies rounding beyond any tolerance: the divergence test
    # below checks that regime (same epochs, same frozen weights); here the networks stay within bounds
    assume(np.all(np.abs(ha.loss[np.isfinite(ha.loss)]) < 1e30) and np.all(np.abs(ha.final_loss) < 1e30))
    # the two paths round differently (the compiled one fuses multiply-adds, its exp is not libm's): they agree
    # within 1e-10, or, where the training itself amplifies rounding, within 100x what one ulp on the starting
    # weights moves the NumPy result (the worst seen over 300 random cases: 30x)
    spread = rounding_spread(make, X, Y, a, loss=loss, optimizer=OPTIMIZERS[optimizer], epochs=12, batch_size=batch,
                             until=until)
    assert_same(a, ha, b, hb, max(1e-10, 100 * spread))


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4), hidden=st.sampled_from(ACTIVATIONS),
       loss=st.sampled_from(["mse", "bce", "softmax_ce", "huber"]), optimizer=st.sampled_from(sorted(OPTIMIZERS)),
       batch=st.sampled_from([None, 2, 4]), seed=st.integers(0, 2**16))
def test_compiled_training_equals_numpy_float32(sizes, hidden, loss, optimizer, batch, seed):
    if loss == "softmax_ce":
        sizes[-1] = max(2, sizes[-1])
    X, Y = data(loss, sizes[0], sizes[-1], 6, seed)
    a, ha, b, hb = both(lambda: MLP(sizes, hidden=hidden, population=80, init="xavier", seed=seed, dtype="float32"),
                        X.astype(np.float32), Y.astype(np.float32), loss=loss, optimizer=OPTIMIZERS[optimizer],
                        epochs=20, batch_size=batch)
    assert b.flat_.dtype == np.float32
    assume(np.all(np.abs(ha.loss[np.isfinite(ha.loss)]) < 1e6))  # (see the float64 test)
    assert_same(a, ha, b, hb, 1e-4)


def test_xor_population_stops_at_tolerance_as_numpy_does():
    """Networks that reach ``until`` freeze at the same epoch with the same weights; the run ends when all do."""
    a, ha, b, hb = both(lambda: MLP([2, 3, 1], population=40, seed=3), XOR_X, XOR_Y,
                        optimizer=lambda: SGD(lr=0.1, momentum=0.9), epochs=3000, until=0.15)
    assert ha.reached.all() and ha.epochs_run < 3000  # the case this test is about: every network stopped early
    assert len(set(ha.reached_epoch.tolist())) > 5
    assert_same(a, ha, b, hb, 1e-10)


def test_divergence_freezes_the_last_finite_weights_as_numpy_does():
    # per-network learning rates: the large ones blow up at different epochs, the small ones train on
    lr = np.geomspace(0.01, 40.0, 12)
    a, ha, b, hb = both(lambda: MLP([2, 4, 1], hidden="relu", population=12, seed=1), XOR_X * 30, XOR_Y * 30,
                        optimizer=lambda: SGD(lr=lr, momentum=0.5), epochs=200)
    assert ha.diverged.sum() >= 3 and (~ha.diverged).sum() >= 3
    assert np.isfinite(b.flat_).all()
    np.testing.assert_array_equal(np.isfinite(ha.loss), np.isfinite(hb.loss))
    assert_same(a, ha, b, hb, 1e-10)  # NaN losses compare equal where both have them


@pytest.mark.parametrize("batch", [None, 2])
def test_the_weights_kept_for_a_divergence_are_the_last_finite_ones_as_numpy_keeps(batch):
    # the compiled loop keeps them without a copy per step (the step writes into the other of two buffers); a run
    # in pieces, with networks that diverge, networks that reach the tolerance and a block where all are frozen
    # (learning rates so large that the divergent ones overflow within a few steps: a slow blow-up to 1e80
    # amplifies rounding beyond any tolerance)
    lr = np.r_[np.full(6, 0.002), np.geomspace(1e3, 1e6, 6)]
    kept = []
    for kernel in ("numpy", "compiled"):
        net = MLP([2, 4, 1], hidden="relu", population=12, seed=1)
        trainer = Trainer(net, XOR_X * 30, XOR_Y * 30, optimizer=SGD(lr=lr, momentum=0.5), until=240.0, kernel=kernel,
                          batch_size=batch, rng=np.random.default_rng(3) if batch else None)
        for _ in range(4):
            trainer.run(60)
        kept.append((trainer._last_finite.copy(), net.flat_.copy(), trainer.diverged.copy(), trainer.reached.copy()))
    (last_a, theta_a, div_a, reach_a), (last_b, theta_b, div_b, reach_b) = kept
    assert (div_a >= 0).sum() == 6 and (reach_a >= 0).sum() == 6  # every network frozen before the end
    np.testing.assert_array_equal(div_b, div_a)
    np.testing.assert_array_equal(reach_b, reach_a)
    np.testing.assert_allclose(last_b, last_a, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(theta_b, theta_a, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(last_b, theta_b)  # a frozen network's weights are its last finite ones


def test_minibatches_draw_the_same_orders_and_leave_the_rng_where_numpy_does():
    X, Y = data("mse", 2, 1, 10, 0)
    states = []
    for kernel in ("numpy", "compiled"):
        net, rng = MLP([2, 3, 1], population=5, seed=0), np.random.default_rng(11)
        history = fit(net, X, Y, optimizer=SGD(lr=0.1, momentum=0.9), epochs=400, batch_size=3, until=0.25,
                      rng=rng, kernel=kernel)
        states.append((net.flat_.copy(), history, rng.random()))
    (wa, ha, ra), (wb, hb, rb) = states
    assert ha.reached.all() and ha.epochs_run < 400  # stopped early: the RNG must not have run ahead
    assert ra == rb
    np.testing.assert_allclose(wb, wa, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(ha.reached_epoch, hb.reached_epoch)


def test_per_network_data_and_a_network_with_two_dense_layers_in_a_row():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(6, 8, 3)), rng.normal(size=(6, 8, 2))
    layers = [Dense(3, 4), ActivationLayer("tanh"), Dense(4, 3), Dense(3, 2)]
    a, ha, b, hb = both(lambda: Network(layers, population=6, seed=5), X, Y, loss="huber",
                        optimizer=lambda: Adam(lr=0.01), epochs=30)
    assert_same(a, ha, b, hb, 1e-10)


def test_compiled_resume_is_bit_exact_and_leaves_the_optimizer_state_numpy_would():
    def trainer(net):
        return Trainer(net, XOR_X, XOR_Y, optimizer=Adam(lr=0.05), until=0.05)

    whole, halves, reference = (trainer(MLP([2, 3, 1], population=9, seed=4)) for _ in range(3))
    fast.train(whole, 80)
    fast.train(halves, 30)
    fast.train(halves, 50)
    reference.run(80)
    arrays_whole, info_whole = whole.state_dict()
    arrays_halves, info_halves = halves.state_dict()
    assert info_whole == info_halves
    for name, value in arrays_whole.items():
        np.testing.assert_array_equal(arrays_halves[name], value, err_msg=name)
    arrays_ref, info_ref = reference.state_dict()
    assert info_ref["epoch"] == info_whole["epoch"] and info_ref["any_frozen"] == info_whole["any_frozen"]
    for name, value in arrays_ref.items():
        np.testing.assert_allclose(arrays_whole[name], value, rtol=1e-10, atol=1e-12, err_msg=name)


def test_compiled_without_numba_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now fails, as when it is not installed
    net = MLP([2, 2, 1], seed=0)
    with pytest.raises(InputError, match=r'^kernel="compiled" needs Numba.*pip install "annrl\[fast\]"$'):
        fit(net, XOR_X, XOR_Y, epochs=5, kernel="compiled")
    assert fit(net, XOR_X, XOR_Y, epochs=5, kernel="auto").kernel == "numpy"


def test_auto_says_which_kernel_it_took(monkeypatch):
    small = fit(MLP([2, 2, 1], seed=0), XOR_X, XOR_Y, epochs=10)
    assert small.kernel == "numpy"  # 10 epochs of one network: less work than compiling
    monkeypatch.setattr(fast, "AUTO_MIN_WORK", 0)
    monkeypatch.setattr(fast, "AUTO_MIN_WORK_COLD", 0)  # whether or not Numba's cache holds the kernels
    assert fit(MLP([2, 2, 1], seed=0), XOR_X, XOR_Y, epochs=10).kernel == "compiled"
    with_callback = fit(MLP([2, 2, 1], seed=0), XOR_X, XOR_Y, epochs=10, callbacks=[lambda state: None])
    assert with_callback.kernel == "numpy"  # a callback the compiled loop cannot call: NumPy instead
    assert fit(MLP([2, 2, 1], seed=0), XOR_X, XOR_Y, epochs=10, kernel="numpy").kernel == "numpy"


@pytest.mark.parametrize(("options", "words"), [
    ({"callbacks": [lambda state: None]}, "callbacks"),
    ({"loss": "huber", "optimizer": type("Lion", (SGD,), {})(lr=0.1)}, "optimizer Lion"),
])
def test_compiled_refuses_what_it_cannot_honour_in_one_line(options, words):
    with pytest.raises(InputError, match=words) as caught:
        fit(MLP([2, 2, 1], seed=0), XOR_X, XOR_Y, epochs=3, kernel="compiled", **options)
    assert "\n" not in str(caught.value)


def test_a_step_activation_and_an_unknown_kernel_are_refused():
    net = MLP([2, 2, 1], hidden="step", seed=0)
    with pytest.raises(InputError, match="activation step has no compiled kernel"):
        fit(net, XOR_X, XOR_Y, epochs=3, kernel="compiled")
    with pytest.raises(InputError, match="kernel must be one of auto, numpy, compiled, got 'fast'"):
        fit(net, XOR_X, XOR_Y, epochs=3, kernel="fast")


@pytest.mark.parametrize(("loss", "threshold", "until"), [("mse", 0.5, None), ("bce", 0.0, 0.05), ("mse", 0.5, 0.2)])
def test_compiled_notes_the_same_first_solved_epochs_as_numpy(loss, threshold, until):
    """With ``until`` every network may stop early: epochs the compiled loop ran past the NumPy loop's end
    must not count."""
    trainers = [Trainer(MLP([2, 3, 1], population=60, seed=1), XOR_X, XOR_Y, loss=loss, until=until,
                        optimizer=SGD(lr=0.1, momentum=0.9), threshold=threshold, kernel=kernel)
                for kernel in ("numpy", "compiled")]
    ended = [trainer.run(3000) for trainer in trainers]
    a, b = trainers
    assert (a.kernel_ran, b.kernel_ran) == ("numpy", "compiled") and ended[0] == ended[1]
    assert len(set(a.solved_epoch[a.solved_epoch >= 0].tolist())) > 5
    np.testing.assert_array_equal(b.solved_epoch, a.solved_epoch)
    np.testing.assert_allclose(b.net.flat_, a.net.flat_, rtol=1e-10, atol=1e-10)


def test_a_checkpointed_compiled_run_resumed_ends_bit_for_bit_as_one_run(tmp_path):
    """The lab loop (a Checkpointer's hooks) on the compiled path: stopped at 170 epochs and resumed from its
    checkpoint at 150, it ends where one uninterrupted compiled run does, bit for bit."""
    from annrl.io.resume import Checkpointer

    def run(out, epochs, resume=False):
        with Checkpointer(out, {"test": 1}, every="50", resume=resume) as checkpointer:
            trainer = Trainer(MLP([2, 3, 1], population=30, seed=2), XOR_X, XOR_Y, optimizer=Adam(lr=0.05),
                              until=0.02, threshold=0.5, kernel="compiled")
            with checkpointer.hooks(trainer, epochs, phase="main") as hooks:
                trainer.run(hooks.epochs_left, callbacks=[hooks])
        return trainer

    whole = run(tmp_path / "whole", 400)
    run(tmp_path / "parts", 170)
    resumed = run(tmp_path / "parts", 400, resume=True)
    assert resumed.kernel_ran == whole.kernel_ran == "compiled"
    assert 0 < (whole.reached >= 150).sum() < 30  # some networks stop in the resumed part, not all
    arrays_whole, info_whole = whole.state_dict()
    arrays_resumed, info_resumed = resumed.state_dict()
    assert info_resumed == info_whole
    for name, value in arrays_whole.items():
        np.testing.assert_array_equal(arrays_resumed[name], value, err_msg=name)
