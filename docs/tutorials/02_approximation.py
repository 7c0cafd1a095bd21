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
# # 2. Approximate a function with accuracy control, and read its formula back
#
# *"ANN are universal function approximators"*: the notes' starting hypothesis. The theorem says that
# one hidden layer of enough sigmoid-like units can come within any $\varepsilon$ of a continuous
# function on a box. It does not say how many units, how many epochs, or how we would *know* we are
# within $\varepsilon$. This tutorial makes $\varepsilon$ a setting: train until a measured error is
# below a tolerance, see what each extra digit costs, see where smoothness matters, and finally turn
# the network back into a formula.
#
# ## The maths
#
# With one hidden layer of $n$ tanh units and a linear output (Nielsen's notation, one input $x$):
#
# $$ \hat f(x) = a^2 = \sum_{j=1}^{n} w^2_{j}\, \tanh\!\big(w^1_{j} x + b^1_j\big) + b^2 . $$
#
# Training minimises the mean squared error on a grid of training points. **Accuracy control** measures
# something else: the largest error on a finer *held-out* grid,
# $E = \max_{x \in \text{held-out}} |\hat f(x) - f(x)|$, every 50 epochs, and stops a network as soon as
# $E \le \text{tol}$. The lab (`annrl.labs.approx`, the library behind `annrl approx`) trains a whole
# population of initialisations at once and freezes each one when it gets there.

# %%
import matplotlib.pyplot as plt
import numpy as np

from annrl.labs.approx.lab import ApproxConfig
from annrl.labs.approx.lab import train as approximate

# %% [markdown]
# ## One period of the sine, to a tolerance
#
# Eight networks of 16 tanh units, Adam, at most 4000 epochs, stopped when the largest held-out error
# is at most 0.002.

# %%
result = approximate(ApproxConfig(target="sin", hidden=(16,), tol=0.002, seeds=8, epochs=4000))
print(result.metrics["message"])
print("epochs each network needed (-1: not within the budget):", result.reached_epoch)
print("held-out max error of each network:", np.round(result.error, 4))

# %% [markdown]
# Each network stops on its own, and those that do not reach the tolerance keep their best
# held-out weights (the result says which). How many epochs does each digit cost? The checks are
# recorded, so one run answers it for every looser tolerance too:

# %%
for tol in (0.05, 0.01, 0.005, 0.002):
    epochs = result.epochs_to(tol)
    reached = epochs >= 0
    median = np.median(epochs[reached]) if reached.any() else float("nan")
    print(f"tol {tol:6}: {reached.sum()} of {len(epochs)} networks, median {median:6.0f} epochs")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
left.semilogy(result.check_epochs, result.check_errors, alpha=0.7)
for tol in (0.05, 0.01, 0.005, 0.002):
    left.axhline(tol, color="grey", lw=0.6, ls="--")
left.set(xlabel="epoch", ylabel="held-out max error", title="Eight initialisations, one run")
x = result.data.X_test
best = result.approximant(x)[result.best]
right.plot(x[:, 0], result.data.y_test - best, label="f(x) - network(x)")
right.set(xlabel="x", title=f"error of the best network (seed {result.best})")
right.legend()
plt.show()

# %% [markdown]
# The network also has a derivative, computed by the same backward pass (with respect to the input
# this time, BP2 carried down to $a^0$). How close is $d\hat f/dx$ to $\cos x$, when $\hat f$ is within
# the tolerance of $\sin x$?

# %%
slope = result.approximant.gradient(x)[result.best, :, 0]
print("largest |f - network|           :", float(np.max(np.abs(result.data.y_test - best))))
print("largest |cos x - d network / dx|:", float(np.max(np.abs(np.cos(x[:, 0]) - slope))))

# %% [markdown]
# The derivative is less accurate than the values: nothing in the loss asked for it.
#
# ## Smooth, kink, jump
#
# The notes ask what properties a function needs. Three targets on $[-1, 1]$ with the same network
# and the same budget (no tolerance, 1500 epochs): a smooth parabola, $|x|$ with a kink, and the unit
# step with a jump. Where is the error?

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3), sharey=False)
for ax, target in zip(axes, ["square", "abs", "step"], strict=True):
    run = approximate(ApproxConfig(target=target, hidden=(16,), tol=None, seeds=1, epochs=1500))
    xs, truth = run.data.X_test[:, 0], run.data.y_test
    error = np.abs(run.approximant(run.data.X_test)[0] - truth)
    near = np.abs(xs) < 0.05
    print(f"{target:7s} max error {error.max():.4f}; near 0 {error[near].max():.4f}, "
          f"elsewhere {error[~near].max():.4f}")
    ax.semilogy(xs, error + 1e-12)
    ax.set(title=f"{target}: |f - network|", xlabel="x")
plt.tight_layout()
plt.show()

# %% [markdown]
# A smooth target is learnt everywhere; a kink costs accuracy near it, and a jump cannot be matched
# by a continuous network at all: next to the jump, a continuous function is off by about half the jump
# on one side or the other, whatever the training.
# `annrl approx --study smoothness` measures this over many seeds.
#
# ## Reading the formula back
#
# A network of 16 tanh units is a formula, but not a readable one. `annrl.symbolic.extract_formula`
# samples the network on its domain and searches a library of simple terms (powers, exponentials,
# sines and cosines at fitted frequencies) for the sparsest combination that matches it, then rounds
# the constants while the error allows. The network saw scaled inputs and outputs, so we pass it the
# lab's scaling.

# %%
import sympy

from annrl.symbolic import extract_formula

s = result.scaling
found = extract_formula(result.net, index=result.best, inputs=["x"],
                        scaling={"low": s.low.tolist(), "high": s.high.tolist(), "y_mean": s.y_mean,
                                 "y_scale": s.y_scale})
truth = sympy.sympify(str(result.target.expr))
recovered = sympy.simplify(sympy.sympify(str(found.expression)) - truth) == 0
formula_error = np.max(np.abs(found.function()(result.data.X_test) - result.data.y_test))
print("formula read from the network:", found.expression)
print("the true function            :", truth)
print("recovered exactly:", recovered)
print("held-out max error of the formula against the true function:", float(formula_error))
print("RMSE of the formula against the network (held-out samples):", found.error)

# %% [markdown]
# Whether the formula comes back depends on the network being accurate enough and on the term being
# in the library; the lines above say whether it did this time. For a target outside the library the
# extraction still returns the best sparse approximation it found, with its error: read the error
# before the formula. Tutorial 3 reads a differential equation out of a network the same way.
