"""Continual backprop (Dohare et al., 2024, "Loss of plasticity in deep continual learning").

Gradient descent alone slowly loses the ability to learn when the task keeps changing: hidden units
saturate or die, and weights grow. Continual backprop keeps a small, steady supply of fresh units:
after every gradient step it re-initialises a small fraction of the hidden units that contribute
least, the way the first initialisation made them.

For hidden unit ``j`` of a layer with activation ``h_j`` and outgoing weights ``w_jk``, the
*contribution utility* is a running average over steps (decay ``eta``)::

    u_j <- eta u_j + (1 - eta) mean_over_batch(|h_j|) * sum_k |w_jk|

read with the bias correction ``u_j / (1 - eta^age_j)``. A unit younger than
``maturity_threshold`` steps is never replaced (it has had no time to prove itself). Each step,
``replacement_rate`` times the number of mature units is added to a counter; whenever the counter
passes 1, that many of the lowest-utility mature units are replaced:

* incoming weights drawn again from the network's initialiser, incoming bias 0;
* outgoing weights set to 0, so the new unit does not change what the network computes; the
  next layer's bias takes the old unit's average output ``mean(h_j) w_jk``, so the network loses
  only the unit's variation around its mean;
* the optimiser's state (moments) for those weights set to 0; utility, mean and age set to 0.

Works with any :class:`~annrl.nn.Network` whose dense layers are separated by element-wise layers
(an :class:`~annrl.nn.MLP`), with NumPy parameters, for every network of the population (``P``).

Use it after each optimiser step, from the caches of the forward pass that gave the gradient
(``cbp.update(caches, rng, optimizer)``, as DQN and PPO do), or as a
:class:`~annrl.nn.Trainer` callback (:meth:`ContinualBackprop.callback`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annrl.backend import to_numpy
from annrl.errors import InputError
from annrl.nn.layers import ActivationLayer, Dense
from annrl.nn.model import Network
from annrl.nn.params import ParamSpec


@dataclass(frozen=True)
class HiddenLayer:
    """Hidden units between two dense layers: ``incoming`` and ``outgoing`` are layer indices."""

    incoming: int
    outgoing: int
    width: int


def hidden_layers(net: Network) -> list[HiddenLayer]:
    """The hidden layers of ``net``: between every two consecutive dense layers, element-wise layers only."""
    dense = [i for i, layer in enumerate(net.layers) if isinstance(layer, Dense)]
    found = []
    for first, second in zip(dense[:-1], dense[1:], strict=True):
        between = net.layers[first + 1 : second]
        if not all(isinstance(layer, ActivationLayer) for layer in between):
            raise InputError(f"continual backprop needs dense layers separated by activations, got {between}")
        found.append(HiddenLayer(first, second, net.layers[first].n_out))
    if not found:
        raise InputError("continual backprop needs a network with at least one hidden layer")
    return found


class ContinualBackprop:
    """Utility tracking and re-initialisation of hidden units, for every network of a population.

    Parameters
    ----------
    net : Network
        Its parameters are changed in place by :meth:`replace`.
    replacement_rate : float, default=1e-4
        Fraction of the mature units of a layer replaced per step (accumulated until whole units).
    decay_rate : float, default=0.99
        ``eta``, the decay of the running utility and mean activation.
    maturity_threshold : int, default=100
        Steps a unit is protected after its (re)initialisation.

    Attributes
    ----------
    utility_, mean_activation_ : list of arrays, each (P, H)
        Per hidden layer, the running averages.
    age_ : list of int arrays, each (P, H)
        Steps since each unit was (re)initialised.
    pending_ : array, shape (P, n_layers)
        Fractional units owed to each layer of each network.
    replaced_ : int
        Units replaced so far (all networks, all layers).
    """

    def __init__(self, net: Network, *, replacement_rate: float = 1e-4, decay_rate: float = 0.99,
                 maturity_threshold: int = 100):
        if not 0.0 <= replacement_rate <= 1.0:
            raise InputError(f"replacement_rate must be in [0, 1], got {replacement_rate}")
        if not 0.0 <= decay_rate < 1.0:
            raise InputError(f"decay_rate must be in [0, 1), got {decay_rate}")
        if int(maturity_threshold) < 0:
            raise InputError(f"maturity_threshold must be >= 0, got {maturity_threshold}")
        self.net, self.layers = net, hidden_layers(net)
        self.replacement_rate, self.decay_rate = float(replacement_rate), float(decay_rate)
        self.maturity_threshold = int(maturity_threshold)
        P = net.population
        self.utility_ = [np.zeros((P, h.width)) for h in self.layers]
        self.mean_activation_ = [np.zeros((P, h.width)) for h in self.layers]
        self.age_ = [np.zeros((P, h.width), dtype=np.int64) for h in self.layers]
        self.pending_ = np.zeros((P, len(self.layers)))
        self.replaced_ = 0

    # -- utilities -------------------------------------------------------------------------
    def activations_from_caches(self, caches: list[Any]) -> list[np.ndarray]:
        """Each hidden layer's output ``(P, N, H)``: the input a dense layer keeps as its cache."""
        P = self.net.population
        outs = []
        for h in self.layers:
            a = to_numpy(caches[h.outgoing])
            outs.append(np.broadcast_to(a, (P, *a.shape[-2:])) if a.ndim == 2 else a)
        return outs

    def observe(self, activations: list[np.ndarray]) -> None:
        """Age every unit by one step and fold this batch's contribution into its utility.

        Parameters
        ----------
        activations : list of ndarray, each of shape (P, N, H)
            Each hidden layer's output for the batch, as :meth:`activations_from_caches` gives them.
        """
        eta = self.decay_rate
        for k, (h, a) in enumerate(zip(self.layers, activations, strict=True)):
            a = a.reshape(a.shape[0], -1, h.width)
            out_weights = np.abs(to_numpy(self.net.params_[f"{h.outgoing}.weight"])).sum(axis=2)  # (P, H)
            contribution = np.abs(a).mean(axis=1) * out_weights
            self.utility_[k] = eta * self.utility_[k] + (1.0 - eta) * contribution
            self.mean_activation_[k] = eta * self.mean_activation_[k] + (1.0 - eta) * a.mean(axis=1)
            self.age_[k] += 1

    def corrected(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Bias-corrected utility and mean activation of layer ``k``, each ``(P, H)``."""
        # a running average started at 0 is scaled down by (1 - eta^age): undo it
        scale = 1.0 - self.decay_rate ** np.maximum(self.age_[k], 1)
        return self.utility_[k] / scale, self.mean_activation_[k] / scale

    def select(self) -> list[list[np.ndarray]]:
        """Per layer, per network, the unit indices to replace this step (lowest utility, mature only)."""
        chosen = []
        for k in range(len(self.layers)):
            utility, _ = self.corrected(k)
            mature = self.age_[k] > self.maturity_threshold
            self.pending_[:, k] += self.replacement_rate * mature.sum(axis=1)
            per_net = []
            for p in range(self.net.population):
                count = min(int(self.pending_[p, k]), int(mature[p].sum()))
                self.pending_[p, k] -= count
                candidates = np.flatnonzero(mature[p])
                order = np.argsort(utility[p, candidates], kind="stable")
                per_net.append(candidates[order[:count]])
            chosen.append(per_net)
        return chosen

    # -- replacement -----------------------------------------------------------------------
    def replace(self, rng: np.random.Generator, optimizer: Any = None) -> int:
        """Re-initialise the units :meth:`select` picks; returns how many were replaced."""
        total = 0
        for k, per_net in enumerate(self.select()):
            for p, units in enumerate(per_net):
                if len(units):
                    self.reinitialise(k, p, units, rng, optimizer)
                    total += len(units)
        self.replaced_ += total
        return total

    def reinitialise(self, k: int, p: int, units: np.ndarray, rng: np.random.Generator, optimizer: Any = None) -> None:
        """Give units ``units`` of hidden layer ``k`` of network ``p`` fresh incoming weights and no outgoing ones.

        Parameters
        ----------
        k : int
            Index of the hidden layer.
        p : int
            Index of the network in the population.
        units : ndarray of shape (n_units,)
            Indices of the units to replace.
        rng : numpy.random.Generator
            Draws the new incoming weights with the network's initialiser.
        optimizer : Optimizer, optional
            When given, its moments for those weights are set to 0.
        """
        h, params = self.layers[k], self.net.params_
        w_in, b_in = params[f"{h.incoming}.weight"], params[f"{h.incoming}.bias"]
        w_out, b_out = params[f"{h.outgoing}.weight"], params[f"{h.outgoing}.bias"]
        _, mean = self.corrected(k)
        spec = self.net.layout.specs[f"{h.incoming}.weight"]
        for j in units:
            # the unit's average output moves into the next bias, so the outputs keep their mean
            b_out[p, 0, :] += mean[p, j] * w_out[p, j, :]
            column = ParamSpec((spec.shape[0], 1), spec.fan_in, spec.fan_out, "weight")
            w_in[p, :, j] = self.net.init.sample(rng, column, 1)[0, :, 0]
            b_in[p, 0, j] = 0.0
            w_out[p, j, :] = 0.0
        if optimizer is not None:
            self._forget_optimizer_state(optimizer, h, p, units)
        for table in (self.utility_, self.mean_activation_, self.age_):
            table[k][p, units] = 0

    def _forget_optimizer_state(self, optimizer: Any, h: HiddenLayer, p: int, units: np.ndarray) -> None:
        for name, state in optimizer.state_.items():
            if name == "steps":
                continue
            views = self.net.layout.views(state, np)
            views[f"{h.incoming}.weight"][p, :, units] = 0.0
            views[f"{h.incoming}.bias"][p, 0, units] = 0.0
            views[f"{h.outgoing}.weight"][p, units, :] = 0.0

    def update(self, caches: list[Any], rng: np.random.Generator, optimizer: Any = None) -> int:
        """After an optimiser step: observe the batch's activations (from the forward ``caches``), then replace."""
        self.observe(self.activations_from_caches(caches))
        return self.replace(rng, optimizer)

    def callback(self, X: Any, rng: np.random.Generator, optimizer: Any = None):
        """A :class:`~annrl.nn.Trainer` callback: after each epoch, observe ``X``'s activations and replace.

        Parameters
        ----------
        X : ndarray of shape (N, in) or (P, N, in)
            The samples whose activations measure the units' utility.
        rng : numpy.random.Generator
            Draws the replacement weights.
        optimizer : Optimizer, optional
            When given, its moments for replaced weights are set to 0.

        Returns
        -------
        callable
            ``after_epoch(state) -> False``, for ``fit(..., callbacks=[...])``.
        """

        def after_epoch(state: Any) -> bool:
            outputs = self.net.layer_outputs(X)
            self.observe([to_numpy(outputs[h.outgoing - 1]) for h in self.layers])
            self.replace(rng, optimizer)
            return False

        return after_epoch

    # -- checkpoints -----------------------------------------------------------------------
    def state(self, prefix: str = "cbp") -> dict[str, np.ndarray]:
        """The running statistics as named arrays, for a checkpoint.

        Parameters
        ----------
        prefix : str, default="cbp"
            Start of every key.

        Returns
        -------
        dict of str to ndarray
            ``{prefix}.pending`` ``(P, layers)``, ``{prefix}.replaced`` ``(1,)``, and per hidden layer ``k``
            ``{prefix}.{k}.utility``, ``.mean`` and ``.age``, each ``(P, H)``.
        """
        tensors = {f"{prefix}.pending": self.pending_.copy(), f"{prefix}.replaced": np.array([self.replaced_])}
        for k in range(len(self.layers)):
            tensors[f"{prefix}.{k}.utility"] = self.utility_[k].copy()
            tensors[f"{prefix}.{k}.mean"] = self.mean_activation_[k].copy()
            tensors[f"{prefix}.{k}.age"] = self.age_[k].copy()
        return tensors

    def restore(self, tensors: dict[str, np.ndarray], prefix: str = "cbp") -> None:
        """Load the running statistics saved by :meth:`state`, in place.

        Parameters
        ----------
        tensors : dict of str to ndarray
            The arrays of :meth:`state`, e.g. ``{prefix}.0.utility`` ``(P, H)``.
        prefix : str, default="cbp"
            Start of every key, as given to :meth:`state`.
        """
        self.pending_[...] = tensors[f"{prefix}.pending"]
        self.replaced_ = int(tensors[f"{prefix}.replaced"][0])
        for k in range(len(self.layers)):
            self.utility_[k][...] = tensors[f"{prefix}.{k}.utility"]
            self.mean_activation_[k][...] = tensors[f"{prefix}.{k}.mean"]
            self.age_[k][...] = tensors[f"{prefix}.{k}.age"]


def dead_fraction(activations: list[np.ndarray], tol: float = 1e-6) -> float:
    """Fraction of hidden units whose output does not vary over a batch: dead ReLUs, saturated tanh units.

    ``activations`` are per-layer arrays ``(P, N, H)``; a unit counts when ``max - min <= tol`` over the ``N`` samples.
    """
    flat = [(a.max(axis=-2) - a.min(axis=-2)) <= tol for a in activations]
    return float(np.concatenate([d.ravel() for d in flat]).mean())


def hidden_activations(net: Network, X: Any) -> list[np.ndarray]:
    """Each hidden layer's output ``(P, N, H)`` for inputs ``X``."""
    outputs = net.layer_outputs(X)
    return [to_numpy(outputs[h.outgoing - 1]) for h in hidden_layers(net)]
