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
# # 3. Lotka-Volterra: simulate, differentiate, learn the field, extract the law
#
# The notes' second half asks for numerical differentiation of $x(t), y(t)$ and points at the
# Lotka-Volterra model. Here is the whole loop the notes hint at: simulate a predator-prey system,
# observe it with noise, estimate the derivatives from the samples, teach a network the vector field
# $(x, y) \mapsto (\dot x, \dot y)$, and then read the differential equations back out of the network.
#
# ## The maths
#
# Prey $x$ grow on their own and are eaten; predators $y$ grow by eating and die on their own:
#
# $$ \dot x = \alpha x - \beta x y, \qquad \dot y = \delta x y - \gamma y . $$
#
# A **numerical derivative** from samples $x_i = x(t_i)$, $t_{i+1} - t_i = h$: the forward difference
# $(x_{i+1} - x_i)/h$ has error $O(h)$, the central difference $(x_{i+1} - x_{i-1})/2h$ has error
# $O(h^2)$, but both divide the measurement noise by $h$. Smoothing methods (Savitzky-Golay, a smoothing
# spline) fit a local or global curve first and differentiate that.
#
# The **learned field** is a network $f_\theta: \mathbb{R}^2 \to \mathbb{R}^2$ trained so that
# $f_\theta(x_i) \approx \dot x_i$ (the estimates). The **law** is read from $f_\theta$ by sparse
# regression (SINDy): $f_\theta(x) \approx \Theta(x)\, \Xi$ where $\Theta(x) = [1, x, y, x^2, xy, y^2]$ and
# $\Xi$ has as few non-zero entries as the error allows.

# %%
import matplotlib.pyplot as plt
import numpy as np

from annrl.systems import LotkaVolterra

system = LotkaVolterra(alpha=1.1, beta=0.4, gamma=0.4, delta=0.1)
print(system)
trajectory = system.simulate((10.0, 10.0), (0.0, 50.0), 0.1, rng=np.random.default_rng(0), noise=0.01)
print(trajectory)

# %% [markdown]
# `simulate` integrates with SciPy (an 8th-order Runge-Kutta method, tight tolerances) and returns the
# clean states, the true derivatives and the observed states with 1% noise (of each variable's
# standard deviation).

# %%
t, observed = trajectory.t, trajectory.x
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
left.plot(t, observed[:, 0], ".", ms=2, label="prey x (observed)")
left.plot(t, observed[:, 1], ".", ms=2, label="predators y (observed)")
left.set(xlabel="t", title="Populations over time")
left.legend()
right.plot(observed[:, 0], observed[:, 1], ".", ms=2)
right.plot(*system.equilibrium, "k+", ms=12, label="equilibrium (gamma/delta, alpha/beta)")
right.set(xlabel="prey x", ylabel="predators y", title="Phase plane: a closed orbit")
right.legend()
plt.show()

# %% [markdown]
# ## Numerical differentiation
#
# Every method in `annrl.calculus` is a callable `method(x, t) -> dxdt`; `Trajectory.differentiate`
# applies one. We measure each against the true derivative $f(x_\text{clean})$, which the simulation knows.

# %%
from annrl.calculus import CentralDifference, FivePointStencil, ForwardDifference, SavitzkyGolay, SmoothingSpline

truth = trajectory.dxdt_clean
estimates, errors = {}, {}
for method in [ForwardDifference(), CentralDifference(), FivePointStencil(), SavitzkyGolay(), SmoothingSpline()]:
    name = type(method).__name__
    estimates[name] = trajectory.differentiate(method)
    errors[name] = float(np.sqrt(np.mean((estimates[name] - truth) ** 2)))
    print(f"{name:18s} RMSE of dx/dt: {errors[name]:.3f}")
chosen = min(errors, key=errors.get)
print("most accurate here:", chosen)

# %% [markdown]
# With noise, the higher-order stencil is *not* better: it divides the noise by $h$ with larger
# weights. The smoothing methods win. We keep the most accurate estimate for the next step.

# %%
fig, ax = plt.subplots(figsize=(8, 3))
window = t < 15
ax.plot(t[window], estimates["ForwardDifference"][window, 0], lw=0.8, label="forward difference")
ax.plot(t[window], estimates[chosen][window, 0], lw=1.5, label=chosen)
ax.plot(t[window], truth[window, 0], "k--", lw=1, label="true dx/dt")
ax.set(xlabel="t", ylabel="dx/dt", title="Derivative of the prey population")
ax.legend()
plt.show()

# %% [markdown]
# ## Learning the vector field
#
# A 2-32-32-2 tanh network on annrl's engine. It sees standardised states $(x - m)/s$ and learns the
# derivatives divided by their standard deviation, so that inputs and targets are of order one;
# `field` undoes both scalings. Mini-batches of 32, Adam, 600 epochs.

# %%
from annrl.nn import MLP, Adam, fit

derivative = estimates[chosen]
mean, std, rate = observed.mean(axis=0), observed.std(axis=0), derivative.std(axis=0)
net = MLP([2, 32, 32, 2], hidden="tanh", init="xavier", seed=0)
history = fit(net, (observed - mean) / std, derivative / rate, loss="mse", optimizer=Adam(lr=3e-3),
              epochs=600, batch_size=32, rng=np.random.default_rng(0))


def field(states):
    """The learned vector field at states (n, 2), in the system's units: (n, 2)."""
    return np.asarray(net.predict((np.asarray(states) - mean) / std))[0] * rate


print("final training loss (standardised units):", float(history.final_loss[0]))
print("RMSE of the learned field against the true field, on the orbit:",
      float(np.sqrt(np.mean((field(trajectory.x_clean) - truth) ** 2))))

# %%
fig, ax = plt.subplots(figsize=(5.5, 4.5))
gx, gy = np.meshgrid(np.linspace(observed[:, 0].min(), observed[:, 0].max(), 15),
                     np.linspace(observed[:, 1].min(), observed[:, 1].max(), 15))
grid = np.column_stack([gx.ravel(), gy.ravel()])
learned, true_field = field(grid), system.rhs(0.0, grid)
ax.quiver(grid[:, 0], grid[:, 1], true_field[:, 0], true_field[:, 1], color="grey", alpha=0.5, label="true field")
ax.quiver(grid[:, 0], grid[:, 1], learned[:, 0], learned[:, 1], color="tab:blue", alpha=0.8, label="learned field")
ax.plot(observed[:, 0], observed[:, 1], "k.", ms=1)
ax.set(xlabel="prey x", ylabel="predators y", title="The network's vector field")
ax.legend(loc="upper right")
plt.show()

# %% [markdown]
# Near the orbit, where the data are, the two fields agree; far from it the network was never told
# anything, and it shows.
#
# ## Extracting the law
#
# `annrl.symbolic.law.extract_law` reads the learned field at the observed states (where it is
# trusted), fits the library $\Theta$ by sequentially thresholded least squares, keeps the simplest
# equation within the tolerance, and estimates each coefficient's standard error by a block bootstrap.

# %%
from annrl.symbolic.law import coefficient_errors, extract_law

law = extract_law(field, observed, variables=["x", "y"], degree=2, rng=np.random.default_rng(0))
for line in law.equation_text():
    print(line)
print("true system:")
print(system)
report = coefficient_errors(law, {"x": {"x": system.alpha, "x*y": -system.beta},
                                  "y": {"x*y": system.delta, "y": -system.gamma}})
print("largest relative error of a true coefficient:", round(float(report["max_relative"]), 4))
print("largest spurious coefficient (a term the truth does not have):", round(report["largest_spurious"], 5))

# %% [markdown]
# The structure comes back (the $x$, $xy$ and $y$ terms, with the right signs) and the coefficients
# within the relative errors printed above. Whether a small spurious term survives depends on the
# noise and on how well the network learnt; its size is printed, so it can be judged.
#
# The real test of a law is to use it: integrate the recovered equations from the first state and
# compare with the clean trajectory. A law with a spurious term may not stay on a closed orbit: it can
# spiral out, or drive a population negative and blow up. So we integrate with a plain fixed-step
# Runge-Kutta loop (RK4, 10 steps per sample) that stops, and says so, if the state leaves the region
# of the data by far.

# %%
def rk4(vector_field, x0, times, substeps=10, limit=1e3):
    """States (n, d) at `times`, integrating x' = vector_field(x); NaN from the moment |x| exceeds `limit`."""
    states = np.full((len(times), len(x0)), np.nan)
    x = np.array(x0, dtype=float)
    states[0] = x
    for i in range(1, len(times)):
        h = (times[i] - times[i - 1]) / substeps
        for _ in range(substeps):
            k1 = vector_field(x)
            k2 = vector_field(x + h / 2 * k1)
            k3 = vector_field(x + h / 2 * k2)
            k4 = vector_field(x + h * k3)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if not np.all(np.abs(x) < limit):
            break  # the law blew up: leave the rest NaN
        states[i] = x
    return states


def replay_report(name, replay):
    bounded = np.isfinite(replay).all(axis=1)
    early = t <= 10
    rmse = float(np.sqrt(np.mean((replay[early] - trajectory.x_clean[early]) ** 2))) if bounded[early].all() else None
    print(f"{name}: stays bounded to t = {t[bounded][-1]:.1f} of {t[-1]:.0f}; RMSE over t <= 10: {rmse}")


replay = rk4(law, trajectory.x_clean[0], t)
replay_report("recovered law", replay)

# %% [markdown]
# If the law blew up (the line above says), a spurious term is the usual suspect. The extraction's
# `tolerance` sets how much error a simpler equation may have: a larger one prefers fewer terms.
# Each equation's Pareto front of complexity against error is kept in `law.fronts`, so the trade-off
# can be read rather than guessed. Here is the law at a tolerance ten times the default (0.1 of the
# field's RMS), used the same way:

# %%
simpler = extract_law(field, observed, variables=["x", "y"], degree=2, tolerance=0.1, rng=np.random.default_rng(0))
for line in simpler.equation_text():
    print(line)
print("held-out error of each equation, default tolerance:", np.round(law.errors, 3),
      " tolerance 0.1:", np.round(simpler.errors, 3))
replay_simpler = rk4(simpler, trajectory.x_clean[0], t)
replay_report("law at tolerance 0.1", replay_simpler)

# %%
fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(t, trajectory.x_clean[:, 0], "k", lw=1, label="true x")
ax.plot(t, trajectory.x_clean[:, 1], "grey", lw=1, label="true y")
ax.plot(t, replay[:, 0], "--", label="law, x")
ax.plot(t, replay[:, 1], "--", label="law, y")
ax.plot(t, replay_simpler[:, 0], ":", label="law at tolerance 0.1, x")
ax.plot(t, replay_simpler[:, 1], ":", label="law at tolerance 0.1, y")
ax.set(xlabel="t", ylim=(-2, 1.3 * trajectory.x_clean.max()),
       title="The recovered equations, integrated (a line ends where a law blew up)")
ax.legend(fontsize=7, ncol=3)
plt.show()

# %% [markdown]
# A small error in a coefficient changes the period of the orbit a little, so even a good law drifts
# out of phase over time while its shape stays right. `annrl dynamics` runs the fuller study (every
# differentiation method, noise levels, and a second way to learn the field that needs no derivative
# estimate at all: fitting short integrated windows of the trajectory), and `annrl extract --kind law` extracts the law
# from a saved field network.
