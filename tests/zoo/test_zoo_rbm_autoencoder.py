"""RBM (free-energy gradient, exact likelihood gradient, CD-k) and autoencoders (backward incl. the sparsity term)."""

import itertools

import numpy as np

from annrl.zoo import autoencoder, rbm
from annrl.zoo.autoencoder import AutoEncoder
from annrl.zoo.rbm import RBM


def small_rbm(seed=0, visible=4, hidden=3, scale=0.8):
    r = RBM(visible, hidden, rng=np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    r.W, r.b, r.c = (scale * rng.normal(size=p.shape) for p in (r.W, r.b, r.c))
    return r


def numeric_gradient(f, params, eps=1e-6):
    out = []
    for p in params:
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            plus = f()
            p[i] = old - eps
            minus = f()
            p[i] = old
            g[i] = (plus - minus) / (2 * eps)
        out.append(g)
    return out


def exact_log_likelihood(r, V):
    states = np.array(list(itertools.product([0.0, 1.0], repeat=r.b.size)))
    log_z = np.logaddexp.reduce(-r.free_energy(states))
    return float(np.mean(-r.free_energy(V)) - log_z)


def exact_gradient(r):
    """<dF/dtheta>_model by enumerating every visible state (feasible for 4 visible units)."""
    states = np.array(list(itertools.product([0.0, 1.0], repeat=r.b.size)))
    weights = np.exp(-r.free_energy(states) - np.logaddexp.reduce(-r.free_energy(states)))
    grads = [np.zeros_like(p) for p in (r.W, r.b, r.c)]
    for w, s in zip(weights, states, strict=True):
        for g, part in zip(grads, r.free_energy_gradient(s[None]), strict=True):
            g += w * part
    return grads


def test_free_energy_gradient_matches_finite_differences():
    r = small_rbm()
    V = (np.random.default_rng(2).random((6, 4)) < 0.5).astype(float)
    numeric = numeric_gradient(lambda: float(np.mean(r.free_energy(V))), [r.W, r.b, r.c])
    for analytic, num in zip(r.free_energy_gradient(V), numeric, strict=True):
        assert np.max(np.abs(analytic - num)) < 1e-8


def test_likelihood_gradient_is_data_minus_model_free_energy_gradients():
    r = small_rbm(3)
    V = (np.random.default_rng(4).random((5, 4)) < 0.5).astype(float)
    numeric = numeric_gradient(lambda: exact_log_likelihood(r, V), [r.W, r.b, r.c])
    model = exact_gradient(r)
    for data, mod, num in zip(r.free_energy_gradient(V), model, numeric, strict=True):
        assert np.max(np.abs((mod - data) - num)) < 1e-8


def test_cd_with_long_chains_estimates_the_exact_gradient():
    """CD-k's chains started at the data approach the model distribution as k grows: averaged over many
    chains, its estimate must match the exact gradient (a sign or statistics error would not)."""
    r = small_rbm(5, scale=0.5)
    r.k = 30
    rng = np.random.default_rng(6)
    V = np.repeat((rng.random((4, 4)) < 0.5).astype(float), 5000, axis=0)
    data = r.free_energy_gradient(V)
    exact = [m - d for d, m in zip(data, exact_gradient(r), strict=True)]
    for estimate, truth in zip(r.cd_gradient(V, rng), exact, strict=True):
        assert np.max(np.abs(estimate - truth)) < 0.02


def test_rbm_reconstruction_error_falls_on_digits(tmp_path):
    metrics = rbm.demo(tmp_path, quick=True)
    assert metrics["train_reconstruction_error_last_epoch"] < 0.6 * metrics["train_reconstruction_error_first_epoch"]
    assert metrics["test_reconstruction_error"] < 0.5 * metrics["test_reconstruction_error_before"]
    assert (tmp_path / "rbm.png").exists()


def flat_gradient_check(model, X_in, X_target, eps=1e-6):
    model.loss_and_grad(X_in, X_target)
    nets = (model.encoder, model.decoder)
    analytic = np.concatenate([net.grad[0].copy() for net in nets])
    numeric = []
    for net in nets:
        for d in range(net.n_params):
            old = net.flat_[0, d]
            net.flat_[0, d] = old + eps
            plus = model.loss_and_grad(X_in, X_target)
            net.flat_[0, d] = old - eps
            minus = model.loss_and_grad(X_in, X_target)
            net.flat_[0, d] = old
            numeric.append((plus - minus) / (2 * eps))
    return np.max(np.abs(analytic - np.array(numeric)))


def test_autoencoder_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.random((6, 5))
    assert flat_gradient_check(AutoEncoder([5, 4, 2], seed=1), X, X) < 1e-8
    noisy = X * (rng.random(X.shape) > 0.3)
    assert flat_gradient_check(AutoEncoder([5, 4, 2], mask=0.3, seed=2), noisy, X) < 1e-8


def test_sparse_autoencoder_penalty_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    X = rng.random((6, 5))
    assert flat_gradient_check(AutoEncoder([5, 7], code="sigmoid", sparsity=(0.1, 0.5), seed=3), X, X) < 1e-8


def test_autoencoders_on_digits(tmp_path):
    metrics = autoencoder.demo(tmp_path, quick=True)
    # a 2-unit nonlinear code beats the best 2-component linear code (PCA) and the mean image
    assert metrics["plain_test_mse"] < 0.9 * metrics["pca2_test_mse"] < metrics["mean_image_test_mse"]
    # the sparse code's mean activation is pulled to its target 0.05, and it still reconstructs
    assert abs(metrics["sparse_mean_activation"] - 0.05) < 0.02
    assert metrics["sparse_test_mse"] < metrics["mean_image_test_mse"]
    # the denoiser repairs masked digits: closer to the clean image than its masked input
    assert metrics["denoising_masked_test_mse"] < 0.85 * metrics["masked_input_mse"]
