"""Echo state network on Mackey-Glass (NRMSE < 0.01) and the residual MLP at depth 30 (beats the plain one)."""

import numpy as np
import pytest

from annrl.zoo import esn, resnet


def test_mackey_glass_integration_converges():
    """Halving the RK4 step changes the first 150 time units by less than 1e-4 (before chaos amplifies
    the rounding), and the series stays in its known band."""
    coarse = esn.mackey_glass(150, dt=0.1, sample_every=10, discard=0)
    fine = esn.mackey_glass(150, dt=0.05, sample_every=20, discard=0)
    assert np.max(np.abs(coarse - fine)) < 1e-4
    series = esn.mackey_glass(2000)
    assert 0.2 < series.min() and series.max() < 1.5 and series.std() > 0.15
    with pytest.raises(ValueError, match="whole number"):
        esn.mackey_glass(10, tau=17.05, dt=0.1)


def test_reservoir_has_the_set_spectral_radius():
    model = esn.EchoStateNetwork(50, spectral_radius=0.7, rng=np.random.default_rng(0))
    assert abs(np.max(np.abs(np.linalg.eigvals(model.W))) - 0.7) < 1e-8


def test_esn_one_step_nrmse_on_mackey_glass(tmp_path):
    metrics = esn.demo(tmp_path, quick=True)
    assert metrics["one_step_nrmse"] < 0.01
    # for scale: repeating the last value (persistence) scores about 0.1 on this series
    u = esn.mackey_glass(1000)
    assert esn.nrmse(u[:-1], u[1:]) > 0.05


def test_residual_mlp_trains_where_the_plain_one_stalls(tmp_path):
    metrics = resnet.demo(tmp_path, quick=True)
    assert metrics["residual_final_loss"] < 0.1 * metrics["plain_final_loss"]
    assert metrics["residual_final_loss"] < 0.1 * metrics["target_variance"]
    assert metrics["depth"] == 30


def test_both_nets_have_the_same_depth():
    dense = lambda net: sum(name.endswith("weight") for name in net.params_)  # noqa: E731
    assert dense(resnet.plain_mlp(30)) == dense(resnet.residual_mlp(30)) == 30
