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
# # 1. The XOR network, three ways, and why it fails on some seeds
#
# The simplest network that is not trivial: two inputs, two sigmoid neurons in a hidden layer, one
# output neuron, trained to compute XOR. It is the research notes' first example, written there in
# PyTorch, in Keras and in plain NumPy. Here we write it three ways too (annrl, PyTorch, NumPy by
# hand), check that all three compute the same thing, catch the classic bugs of a hand-written
# backward pass with a gradient check, and then answer the notes' open question: *"I have a problem
# with 2000 epochs on some seed values"*.
#
# ## The maths, in Nielsen's notation
#
# Rows are samples, so a batch of $N = 4$ inputs is a matrix $X$ of shape `(4, 2)` and a layer computes
# $z^l = a^{l-1} w^l + b^l$ (annrl stores $w$ as `(in, out)`, the transpose of Nielsen's matrix; see
# `docs/backprop.md`). For the 2-2-1 network with a linear output:
#
# $$ a^0 = x, \qquad z^1 = a^0 w^1 + b^1, \qquad a^1 = \sigma(z^1), \qquad a^2 = z^2 = a^1 w^2 + b^2 $$
#
# and the cost is the mean squared error $C = \frac{1}{N} \sum_n (a^2_n - y_n)^2$. Backpropagation is
# Nielsen's four equations:
#
# - (BP1) $\delta^2 = \nabla_{a^2} C = \frac{2}{N} (a^2 - y)$ (the output is linear, so $\sigma'$ is 1 there);
# - (BP2) $\delta^1 = \big(\delta^2 (w^2)^\top\big) \odot \sigma'(z^1)$, with $\sigma'(z) = a(1 - a)$;
# - (BP3) $\partial C / \partial b^l = \sum_n \delta^l_n$;
# - (BP4) $\partial C / \partial w^l = (a^{l-1})^\top \delta^l$.
#
# The recipe is the notes': weights and biases drawn from $N(0, 1)$, SGD with learning rate 0.02 and
# momentum 0.9, 2000 full-batch epochs.

# %%
import matplotlib.pyplot as plt
import numpy as np

from annrl.nn import MLP, SGD, fit

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)
EPOCHS = 2000

# %% [markdown]
# ## Way 1: annrl
#
# `MLP([2, 2, 1])` is the 2-2-1 network. `fit` trains it; its `History` keeps the loss of every epoch.

# %%
start = MLP([2, 2, 1], hidden="sigmoid", output="identity", seed=3)
net = start.select([0])  # a copy to train; `start` keeps the initial weights for PyTorch and NumPy
print(net)
history = fit(net, X, Y, loss="mse", optimizer=SGD(lr=0.02, momentum=0.9), epochs=EPOCHS)

prediction = np.asarray(net.predict(X))[0, :, 0]
print("predictions:", np.round(prediction, 3))
print("final loss:", float(history.final_loss[0]))
print("XOR solved (every output on the right side of 0.5):", bool(np.all((prediction > 0.5) == (Y[:, 0] > 0.5))))

# %% [markdown]
# ## Way 2: PyTorch
#
# `annrl.nn.to_torch` exports the *untrained* network `start` as a
# `torch.nn.Sequential` of `Linear` and `Sigmoid` modules. Trained with `torch.optim.SGD`, the same
# recipe from the same weights should follow the same path. If PyTorch is not installed the cell says
# so and moves on.

# %%
try:
    import torch
except ImportError:
    torch = None
    print("PyTorch is not installed: skipping this comparison (pip install torch to run it).")

if torch is not None:
    from annrl.nn import to_torch

    model = to_torch(start)  # float64, like the annrl network
    print(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    torch_loss = []
    for _ in range(EPOCHS):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(Xt), Yt)
        torch_loss.append(loss.item())
        loss.backward()
        optimizer.step()
    torch_loss = np.array(torch_loss)
    print("largest difference between the annrl and PyTorch loss curves:",
          float(np.max(np.abs(torch_loss - history.loss[:, 0]))))

# %% [markdown]
# ## Way 3: NumPy by hand
#
# No framework: the forward pass keeps a *cache* (what the backward pass needs), and the backward
# pass is BP1 to BP4 written out. Every array carries the population axis `P` first (here `P = 1`),
# the way annrl stores parameters, so the same two functions serve later in this notebook.

# %%
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward(params, x):
    """Output (P, N, 1) and the cache (x, a1) for parameters of shapes (P, 2, 2), (P, 1, 2), (P, 2, 1), (P, 1, 1)."""
    a1 = sigmoid(x @ params["w1"] + params["b1"])
    return a1 @ params["w2"] + params["b2"], (x, a1)


def backward(params, delta2, cache):
    """BP1-BP4: the gradients of C, given delta2 = dC/da2 (P, N, 1)."""
    x, a1 = cache
    delta1 = (delta2 @ np.swapaxes(params["w2"], -1, -2)) * a1 * (1 - a1)  # BP2, sigma' = a (1 - a)
    return {"w1": np.swapaxes(x, -1, -2) @ delta1, "b1": delta1.sum(axis=-2, keepdims=True),  # BP4, BP3
            "w2": np.swapaxes(a1, -1, -2) @ delta2, "b2": delta2.sum(axis=-2, keepdims=True)}


# the same starting point as the annrl network: copies of its named parameters
names = {"w1": "0.weight", "b1": "0.bias", "w2": "2.weight", "b2": "2.bias"}
params = {ours: np.array(start.params_[theirs]) for ours, theirs in names.items()}
velocity = {name: np.zeros_like(value) for name, value in params.items()}
numpy_loss = []
for _ in range(EPOCHS):
    output, cache = forward(params, X)
    numpy_loss.append(float(np.mean((output - Y) ** 2)))
    grads = backward(params, 2.0 / len(X) * (output - Y), cache)  # BP1: dC/da2 of the mean squared error
    for name in params:  # SGD with momentum, as torch.optim.SGD: v <- mu v + g; theta <- theta - lr v
        velocity[name] = 0.9 * velocity[name] + grads[name]
        params[name] -= 0.02 * velocity[name]
numpy_loss = np.array(numpy_loss)
print("largest difference between the annrl and NumPy loss curves:",
      float(np.max(np.abs(numpy_loss - history.loss[:, 0]))))

# %% [markdown]
# annrl names the parameters after their layer's index, as `torch.nn.Sequential` does (`0.weight` is
# $w^1$, `2.weight` is $w^2$; layers 1 and 3 are the activations). The three curves agree to rounding:
# the three programs are the same computation.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(history.loss[:, 0], label="annrl", lw=3, alpha=0.5)
if torch is not None:
    ax.semilogy(torch_loss, "--", label="PyTorch")
ax.semilogy(numpy_loss, ":", label="NumPy by hand")
ax.set(xlabel="epoch", ylabel="MSE", title="One XOR network, three implementations")
ax.legend()
plt.show()

# %% [markdown]
# ## The classic bugs, caught by a gradient check
#
# The notes warn about hand-written code found online: one version "has wrong gradient for the output
# neuron", another comments out the sigmoid derivative (`grad_2 = 1 # y_2 * (1 - y_2)`). Such a bug
# does not crash: the network still trains, somewhere. The way to catch it is to compare the
# backward pass with central finite differences, $\partial C/\partial\theta \approx
# \big(C(\theta + \epsilon) - C(\theta - \epsilon)\big) / 2\epsilon$.
#
# `annrl.nn.gradcheck` does that for any annrl `Network`. To check *our* NumPy backward, we wrap it in
# a small custom layer (annrl's layer interface: `param_specs`, `forward`, `backward`) and give it three
# versions of the backward pass: the correct one, one that forgets $\sigma'$ in BP2, and one with the
# wrong sign on the output bias.

# %%
from annrl.nn import Layer, Network, ParamSpec, gradcheck


def missing_derivative(params, delta2, cache):
    x, a1 = cache
    delta1 = delta2 @ np.swapaxes(params["w2"], -1, -2)  # BUG: the factor sigma'(z1) = a1 (1 - a1) is missing
    return {"w1": np.swapaxes(x, -1, -2) @ delta1, "b1": delta1.sum(axis=-2, keepdims=True),
            "w2": np.swapaxes(a1, -1, -2) @ delta2, "b2": delta2.sum(axis=-2, keepdims=True)}


def wrong_sign(params, delta2, cache):
    grads = backward(params, delta2, cache)
    grads["b2"] = -grads["b2"]  # BUG: the notes' "diff = y - y_hat" convention mixed into a gradient
    return grads


class HandWrittenXor(Layer):
    """The 2-2-1 network as one annrl layer whose backward pass is one of the functions above."""

    n_in, n_out = 2, 1  # what a Network reads to check its inputs

    def __init__(self, backward_pass):
        self.backward_pass = backward_pass

    def param_specs(self):
        return {"w1": ParamSpec((2, 2), 2, 2), "b1": ParamSpec((1, 2), 2, 2, "bias"),
                "w2": ParamSpec((2, 1), 2, 1), "b2": ParamSpec((1, 1), 2, 1, "bias")}

    def forward(self, params, x):
        return forward(params, x)

    def backward(self, params, grad_y, cache, input_grad=True):
        return None, self.backward_pass(params, grad_y, cache)


for name, backward_pass in [("correct", backward), ("missing sigma'", missing_derivative),
                            ("wrong sign", wrong_sign)]:
    check = gradcheck(Network([HandWrittenXor(backward_pass)], seed=0), X, Y, loss="mse")
    print(f"{name:15s} largest relative error {check.max_rel_error:9.2e}   worst parameter {check.worst_parameter:5s}"
          f"   passes (<= 1e-6): {check.ok()}")

# %% [markdown]
# The correct backward pass agrees with finite differences to about the rounding of $\epsilon^2$;
# each bug is caught at once, and `worst_parameter` points at where it lives: a first-layer parameter
# for the missing derivative (it corrupts $\delta^1$, hence BP3 and BP4 of layer 1), `0.b2` for the
# sign. annrl's own layers pass the same check in its test suite (`tests/nn/test_gradients.py`).

# %% [markdown]
# ## Why does it fail on some seeds?
#
# Now the notes' question. A *seed* fixes the initial weights; the recipe is the same for every seed.
# Instead of a loop over seeds, annrl trains a *population*: 1000 independent networks in one
# vectorised call (every parameter has a leading population axis). The XOR lab
# (`annrl.labs.xor.train`, the library behind `annrl xor`) does that and classifies every network that
# fails:
#
# - `still_learning`: its loss was still falling at the end (it is slow, not stuck);
# - `plateau`: it outputs about 0.5 for all four inputs, the flat region of MSE 0.25;
# - `saturated`: a hidden sigmoid is pinned at 0 or 1 on every input, so $\sigma' \approx 0$ and BP2
#   carries almost no error back through it;
# - `local_minimum`: the loss has stopped at another value.
#
# Then it trains the failures `extend` times longer to tell the slow from the stuck.

# %%
from annrl.labs.xor.lab import XorConfig
from annrl.labs.xor.lab import train as train_xor

result = train_xor(XorConfig(seeds=1000, epochs=EPOCHS, extend=2))
m = result.metrics
print(f"success rate after {EPOCHS} epochs: {m['success_rate']:.1%} of {m['seeds']} seeds")
print("median epochs to solve:", m["epochs_to_solve_median"])
for kind, count in m["failure_kinds"].items():
    print(f"  {kind:15s} {count:4d} failures, of which {m['solved_when_extended'][kind]:3d} solve XOR "
          f"with {m['extended_epochs']} more epochs")
print("training time of the 1000 networks:", m["timing"]["train_s"], "s")

# %% [markdown]
# The loss curves say the rest. Solved networks fall to zero; the failed ones stop at a few
# characteristic values: the constant output (every prediction at the mean target, 0.5) costs
# $C = 0.25$, and the other kinds stop where some of the four inputs are still misplaced.

# %%
final = result.loss[-1]
for kind in ("plateau", "saturated", "local_minimum", "still_learning"):
    losses = final[result.kinds == kind]
    if len(losses):
        print(f"{kind:15s} loss at epoch {EPOCHS}: median {np.median(losses):.3f}, "
              f"range {losses.min():.3f} to {losses.max():.3f}")

fig, ax = plt.subplots(figsize=(7, 4))
solved = np.flatnonzero(result.solved)[:30]
ax.semilogy(result.loss[:, solved], color="tab:green", alpha=0.3, lw=0.8)
colours = {"still_learning": "tab:orange", "plateau": "tab:red", "saturated": "tab:purple",
           "local_minimum": "tab:blue"}
for kind, colour in colours.items():
    failed = np.flatnonzero(result.kinds == kind)[:15]
    ax.semilogy(result.loss[:, failed], color=colour, alpha=0.6, lw=0.8)
    ax.plot([], [], color=colour, label=f"failed: {kind}")
ax.plot([], [], color="tab:green", label="solved")
ax.set(xlabel="epoch", ylabel="MSE", ylim=(1e-6, 10), title="1000 seeds of the same recipe (a sample of each kind)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## What to try next
#
# - `annrl xor --compare` trains the same 1000 seeds with one change at a time (3 hidden units, tanh,
#   Xavier init, cross-entropy, Adam) and prints which changes make XOR reliable.
# - With `hidden=0` (a single neuron) the success rate is 0: XOR is not linearly separable, which
#   tutorial 4 shows for all 16 two-input functions.
