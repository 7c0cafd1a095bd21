# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Adaline, and learning that never stops
#
# In the notes a friend who worked on adaptive algorithms says: *"the main use is for a single-layer
# algo. It's called Adaline"*, and the author objects to conventional training, which *"stops once
# errors on test set are minimized [...] the network can only do what it trained to do"*. This
# tutorial takes both seriously: Widrow and Hoff's Adaline, which never stops adapting, then a network
# that keeps learning from a stream whose rules change, and one that grows when it runs out of capacity.
#
# ## The maths
#
# An Adaline is a linear neuron $y = x \cdot w + b$. At every sample it measures the error
# $e = d - y$ against the desired output $d$ and takes one step of gradient descent on $e^2/2$, the
# **LMS rule** (least mean squares, Widrow-Hoff 1960):
#
# $$ w \leftarrow w + \mu\, e\, x . $$
#
# With $R = E[x x^\top]$ and $p = E[d\, x]$, the mean weights converge to the **Wiener solution**
# $w^* = R^{-1} p$ when $0 < \mu < 2/\lambda_\max(R)$. A small $\mu$ converges slowly but precisely; a
# large one fast but noisily. Normalised LMS divides the step by $|x|^2$, which makes $0 < \mu < 2$
# stable whatever the input power.

# %%
import matplotlib.pyplot as plt
import numpy as np

from annrl.labs.adapt import Adaline

# %% [markdown]
# ## Identifying an unknown system
#
# An unknown FIR filter $d_t = \sum_k h_k u_{t-k} + \text{noise}$ (the classic adaptive-filter task): the
# Adaline sees the last five inputs (a *tapped delay line*) and adapts, sample by sample. Three step
# sizes adapt at once, as a population of three Adalines.
# %%
from annrl.labs.adapt.filters import tapped_delay_line

rng = np.random.default_rng(0)
unknown = np.array([1.0, 0.5, -0.4, 0.2, 0.1])
u = rng.normal(size=3000)
X = tapped_delay_line(u, taps=5)  # (3000, 5): row t is u_t, u_{t-1}, ..., u_{t-4}
d = X @ unknown + 0.05 * rng.normal(size=3000)

mus = np.array([0.003, 0.01, 0.05])
adaline = Adaline(5, mu=mus, bias=False, population=len(mus))
errors = adaline.adapt(X, d)  # (3, 3000) a-priori errors
print("unknown system :", unknown)
for mu, w in zip(mus, adaline.weights, strict=True):
    print(f"mu = {mu:<6}: {np.round(w, 3)}")

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
window = 50
for mu, e in zip(mus, errors, strict=True):
    ax.semilogy(np.convolve(e**2, np.ones(window) / window, mode="valid"), label=f"mu = {mu}")
ax.axhline(0.05**2, color="grey", ls="--", lw=0.8, label="noise power")
ax.set(xlabel="sample", ylabel="squared error (moving average)", title="LMS learning curves")
ax.legend()
plt.show()

# %% [markdown]
# The larger step converges faster and then rattles around the Wiener solution; the smaller one is
# slower and ends closer to the noise floor. The adapt lab's `identify_system` averages 100 runs and
# compares them with the independence theory's learning curve (`annrl adapt lms`).
#
# ## When the world changes: tracking
#
# Now the unknown system *drifts*: its coefficients rotate slowly. A learner that stopped adapting
# would be wrong from then on. `track_drift` runs normalised LMS at six step sizes on the same data
# and measures the excess error once tracking: too small a step lags behind the drift, too large a
# step follows the noise.

# %%
from annrl.labs.adapt.filters import track_drift

tracking = track_drift(steps=6000, seed=0)
for mu, excess in zip(tracking.mus, tracking.excess_mse, strict=True):
    print(f"mu = {mu:<6} excess MSE {excess:.4f}")
print("best step size here:", tracking.best_mu)

fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(tracking.true_weight, "k", lw=1, label="true first coefficient")
ax.plot(tracking.tracked_weight, lw=0.8, alpha=0.8, label=f"NLMS, mu = {tracking.best_mu}")
ax.set(xlabel="sample", title="An Adaline following a system that keeps changing")
ax.legend()
plt.show()

# %% [markdown]
# ## A network on a stream with concept drift
#
# The same idea for a multilayer network: a classifier of 4 features, pre-trained on the first 1000
# samples, then run over the stream *prequentially* (every sample is predicted before the network
# learns from it, so the hits are an honest running accuracy). Half way through the rest of the stream
# the concept changes suddenly. Three learners:
#
# - **frozen**: the pre-trained network, never updated (conventional training);
# - **continual**: one SGD step (`annrl.nn.fit.partial_fit`) on every batch of 10 samples, forever;
# - **adaptive**: continual, plus a Page-Hinkley drift detector on its own errors that raises the
#   learning rate for a while when it fires.

# %%
from annrl.labs.adapt import make_stream
from annrl.labs.adapt.prequential import compare_learners, rolling_accuracy

stream = make_stream("sudden", samples=5000, warmup=1000, seed=0)
comparison = compare_learners(stream, warmup=1000, seed=0)
print("the concept changes at sample", stream.drifts, "; the detector fired at", comparison.detections)
for mode, rows in comparison.recoveries.items():
    for r in rows:
        print(f"{mode:10s} accuracy before the drift {r.before:.1%}, lowest after {r.lowest:.1%}, "
              f"last window {r.after:.1%}, samples to recover: {r.recovery}")

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
for mode, hits in comparison.hits.items():
    ax.plot(rolling_accuracy(hits, comparison.window), label=mode)
for drift in stream.drifts:
    ax.axvline(drift, color="k", ls="--", lw=0.8)
ax.set(xlabel="sample", ylabel=f"accuracy (last {comparison.window})", ylim=(0.3, 1.02),
       title="Prequential accuracy on a stream that changes its rule")
ax.legend()
plt.show()

# %% [markdown]
# The frozen network keeps the old rule and falls to chance; the learners that never stop recover, the
# adaptive one sooner. `annrl adapt stream` runs the gradual, recurring and real-sensor (activity) streams too.
#
# ## A network that grows
#
# The notes also ask for *"a model that can develop new actions and adapt"*. A small step in that
# direction: `GrowingNetwork` starts as a linear model and adds a tanh unit (the best of 64 random
# candidates against the residual) whenever its error stops falling, until it reaches its target.

# %%
from annrl.labs.adapt import GrowingNetwork

rng = np.random.default_rng(0)
inputs = rng.uniform(-1, 1, (200, 2))
targets = (np.sin(3 * inputs[:, 0]) * np.cos(2 * inputs[:, 1]))[:, None]
growing = GrowingNetwork(2, 1, target=1e-3, seed=0)
growth = growing.fit(inputs, targets, epochs=3000)
print("hidden units at the end:", growing.units, "; added at epochs", growth.added_at)
print("target MSE reached at epoch:", growth.reached_at, "; final MSE:", float(growth.loss[-1]))

fig, ax = plt.subplots(figsize=(7, 3))
ax.semilogy(growth.loss, label="training MSE")
for epoch in growth.added_at:
    ax.axvline(epoch, color="grey", lw=0.5)
ax.set(xlabel="epoch", title="Loss of a growing network (grey: a unit added)")
ax.legend()
plt.show()
