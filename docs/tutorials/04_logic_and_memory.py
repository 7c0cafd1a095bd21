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
# # 4. Logic statements and memories in networks
#
# The notes: *"ANN can approximate functions, can follow logical statements, can store information as
# memory. [...] there must be a way to transfer connections into symbolism - extract functions, logic
# and memories encoded in ANN."* This tutorial does both directions for logic (a formula compiled into
# a network, a network read back as a formula) and shows a memory stored in weights: a Hopfield
# network that recalls letters from damaged cues.
#
# ## The maths
#
# A **threshold unit** (McCulloch and Pitts) outputs $a = \mathrm{step}(w \cdot x + b)$: 1 when
# $w \cdot x + b \ge 0$, else 0. It computes a Boolean function exactly when the true and false rows of
# its truth table are separated by a hyperplane (*linearly separable*). XOR is not: no line separates
# $\{01, 10\}$ from $\{00, 11\}$, so it needs a hidden layer.
#
# A **Hopfield network** has $N$ neurons $s_i = \pm 1$, symmetric weights $W$ with a zero diagonal, and
# updates one neuron at a time: $s_i \leftarrow \mathrm{sign}\big(\sum_j W_{ij} s_j\big)$. The energy
# $E = -\tfrac12 s^\top W s$ never rises, so the state falls into a fixed point. The Hebbian rule
# $W = \frac1N \sum_\mu \xi^\mu (\xi^\mu)^\top$ makes the stored patterns $\xi^\mu$ such fixed points, while
# there are not too many of them.

# %%
import matplotlib.pyplot as plt
import numpy as np

from annrl.labs.logic.lab import single_neuron_limits
from annrl.symbolic.boolean import gate, parse_function
from annrl.labs.logic.compile import compile_function

# %% [markdown]
# ## Which functions can one neuron compute?
#
# All 16 Boolean functions of two inputs: is each linearly separable (decided exactly, by a linear
# program), and how often does gradient descent teach it to a single neuron (50 seeds, 1000 epochs)?

# %%
rows = single_neuron_limits(seeds=50, epochs=1000, rng=np.random.default_rng(0))
print(f"{'function':14s} {'table':9s} {'separable':9s} learned by one neuron")
for row in rows:
    print(f"{row['function']:14s} {''.join(map(str, row['table'])):9s} {str(row['separable']):9s} "
          f"{row['learned_success_rate']:.0%}")
print("separable:", sum(r["separable"] for r in rows), "of", len(rows))

# %% [markdown]
# XOR and XNOR, the two that are not separable, cannot be computed by one neuron whatever the
# training; the last column shows how often training found each separable one.
#
# ## A formula compiled into a network
#
# `compile_function` builds a threshold network for any Boolean function by construction, and checks
# it on every row. For XOR it needs two hidden units; their labels say what each computes.

# %%
xor = gate("xor")
compiled = compile_function(xor)
print("depth:", compiled.depth, " hidden units:", compiled.hidden, " construction:", compiled.construction)
print("hidden units compute:", compiled.hidden_labels)
print("exact on every row:", compiled.exact)
for name, value in compiled.net.params_.items():
    print(name, np.asarray(value)[0].round(2).tolist())

# %% [markdown]
# An expression works the same way. A 2-to-1 multiplexer, typed as a formula (`~` not, `&` and,
# `|` or; nothing typed is evaluated as Python):

# %%
mux = parse_function("(~s & a) | (s & b)")
compiled_mux = compile_function(mux)
print("inputs:", mux.inputs, " hidden units:", compiled_mux.hidden, " exact:", compiled_mux.exact)
print("hidden units compute:", compiled_mux.hidden_labels)

# %% [markdown]
# ## A learned network read back as a formula
#
# Now the other direction. We *train* 200 networks with 2 tanh hidden units on the multiplexer's truth
# table (a logit output, binary cross-entropy), keep one that learnt it, and ask
# `annrl.symbolic.extract_logic` what Boolean function it computes. The network knows nothing of
# formulas: the extraction reads its outputs on the truth table and minimises the result.

# %%
from annrl.labs.logic.lab import LogicConfig, learn
from annrl.symbolic import extract_logic

run, _ = learn(mux, 2, LogicConfig(seeds=200, epochs=2000), np.random.default_rng(0))
print(f"networks that learnt the multiplexer: {run.success_rate:.0%} of 200")
seed = int(np.flatnonzero(run.solved)[0])
reading = extract_logic(run.net, inputs=list(mux.inputs), index=seed)
for output in reading.outputs:
    print("formula read from network", seed, ":", output.formula, f"(least margin {output.margin:.2f})")
print("the formula we trained it on:", mux.formula_text())
for neuron in reading.neurons:
    print(f"hidden neuron {neuron.unit} computes {neuron.formula} (margin {neuron.margin:.2f})")

# %% [markdown]
# The margin says how far from undecided the network is on its least certain row (1: fully
# saturated). `annrl logic EXPRESSION` runs the whole study: the compiled network, the smallest hidden
# width that learns the function reliably, and what each hidden neuron of a learned network computes.


# %% [markdown]
# ## A memory in the weights: Hopfield's network
#
# Letters of 9 x 7 pixels are patterns of $N = 63$ neurons. We store four letters, damage copies of
# them by flipping 15% of the pixels, and let the network run: once with the Hebbian rule, once with the
# pseudoinverse (projection) rule $W = \Xi \Xi^+$, which makes every stored pattern a fixed point even
# when the patterns are correlated.

# %%
from annrl.nn.hopfield import Hopfield, corrupt, energy, letter_patterns

letters = "HTLX"
patterns = letter_patterns(letters)  # (4, 63) of +1 and -1
cues = corrupt(patterns, 0.15, np.random.default_rng(1))
overlap = patterns @ patterns.T / patterns.shape[1]
print("overlaps between the stored letters (1 = identical):")
print(np.round(overlap, 2))
finals = {}
for rule in ("hebbian", "pseudoinverse"):
    memory = Hopfield(rule).store(patterns)
    final, sweeps = memory.recall(cues, np.random.default_rng(2))
    finals[rule] = final
    recalled = memory.classify(final)
    print(f"\n{rule} rule:")
    for k, letter in enumerate(letters):
        ending = f"the stored {letters[recalled[k]]}" if 0 <= recalled[k] < len(letters) else "a spurious state"
        print(f"  cue {letter} ends on {ending} after {sweeps[k]} sweeps; energy "
              f"{energy(memory.weights_, cues[k:k + 1])[0]:.1f} -> {energy(memory.weights_, final[k:k + 1])[0]:.1f}")

# %%
rows = [("stored", patterns), ("cue", cues), ("Hebbian", finals["hebbian"]),
        ("pseudoinverse", finals["pseudoinverse"])]
fig, axes = plt.subplots(len(rows), len(letters), figsize=(1.6 * len(letters), 6.5))
for row, (title, images) in enumerate(rows):
    for k in range(len(letters)):
        axes[row, k].imshow(images[k].reshape(9, 7), cmap="gray_r", vmin=-1, vmax=1)
        axes[row, k].set_xticks([])
        axes[row, k].set_yticks([])
    axes[row, 0].set_ylabel(title)
plt.suptitle("Four letters stored in one weight matrix")
plt.show()

# %% [markdown]
# The energy falls on every run, as it must. Where the Hebbian network ends somewhere else than the
# cued letter, the crosstalk of correlated letters (the overlaps printed above) has made a mixture a
# stronger attractor; the projection rule removes the crosstalk from the stored patterns themselves.

# %% [markdown]
# ## How much can it hold?
#
# The crosstalk between patterns grows with their number $p$. For random patterns the Hebbian rule
# holds about $0.138 N$ of them (Amit, Gutfreund and Sompolinsky); the pseudoinverse rule
# $W = \Xi \Xi^+$ makes every stored pattern a fixed point up to $p \approx N$. `capacity_curve` measures
# recall from cues with 10% of bits flipped, for 100 neurons and a few pattern sets per load.

# %%
from annrl.labs.memory.lab import capacity_curve

fig, ax = plt.subplots(figsize=(6, 3.5))
for rule in ("hebbian", "pseudoinverse"):
    curve = capacity_curve(rule, neurons=100, loads=[2, 5, 8, 11, 14, 17, 20, 30, 45, 60], trials=4,
                           rng=np.random.default_rng(0))
    ax.plot([r["load"] for r in curve], [r["near_recall_rate"] for r in curve], "o-", label=rule)
ax.axvline(0.138, color="grey", ls="--", lw=0.8, label="p / N = 0.138")
ax.set(xlabel="patterns per neuron p / N", ylabel="recall (overlap >= 0.9)", title="Capacity, N = 100")
ax.legend()
plt.show()

# %% [markdown]
# `annrl memory` runs the full study (more trials, letters chosen to differ as much as possible,
# spurious states counted from random starts) and the working-memory half: a recurrent network that
# learns, by backpropagation through time, to hold one bit over a delay.
