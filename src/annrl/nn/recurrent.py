"""Recurrent layers over sequences: an Elman RNN, a GRU and an LSTM, with backpropagation through time.

Shapes. A sequence layer reads ``x`` of shape ``(N, T, in)`` (shared by the ``P`` networks) or
``(P, N, T, in)`` (one set per network) and returns the whole hidden sequence ``(P, N, T, H)``:
sample ``n`` of network ``p`` has hidden state ``y[p, n, t]`` after reading ``x[..., n, t, :]``.
The state starts at zero, as in PyTorch. :class:`TakeLast` keeps the last step ``(P, N, H)``, so
that ``Network([GRU(3, 8), TakeLast(), Dense(8, 1)])`` maps sequences to one output each;
:class:`PerStep` applies a layer (a ``Dense`` readout) at every step, ``(P, N, T, F) -> (P, N, T, O)``.

Parameters are named as PyTorch's ``nn.RNN`` / ``nn.GRU`` (without the ``_l0`` suffix) and stored
transposed, as annrl's dense weights are: ``weight_ih`` is ``(in, G H)``, ``weight_hh`` ``(H, G H)``,
``bias_ih`` and ``bias_hh`` ``(1, G H)``, with ``G = 1`` for the Elman RNN, ``G = 3`` for the GRU,
whose gate blocks come in PyTorch's order r, z, n, and ``G = 4`` for the LSTM (i, f, g, o). So
``weight_ih[p].T`` is ``weight_ih_l0``.

Acting step by step. ``state = layer.step(params, x_t, state)`` advances one step from
``layer.initial_state(params, N)``; the state is one array ``(P, N, S)`` (``S = H``, or ``2 H`` for the
LSTM's hidden and cell state side by side), so an agent can store it or zero it at an episode's end
without knowing the cell, and ``layer.output_of(state)`` is the ``(P, N, H)`` output at that step.

Backward. Each ``backward`` runs the time loop in reverse: the error reaching ``h_t`` is the error of
the output at step ``t`` plus the error sent back from step ``t + 1``; the weights are the same at
every step, so their gradients are summed over steps (and over samples), never overwritten. The
input projections ``x W_ih + b_ih`` of all steps are done as one matrix product before the loop,
and their gradients as one after it. The equations are in ``docs/logic_memory.md``.
"""

from __future__ import annotations

from typing import Any

from annrl.backend import array_namespace
from annrl.errors import InputError
from annrl.nn.activations import Activation, get_activation
from annrl.nn.layers import Layer
from annrl.nn.params import ParamSpec


class _Recurrent(Layer):
    """What the Elman RNN, the GRU and the LSTM share: sizes, parameter specs, input projections, state."""

    gates = 1
    #: a sample is a (T, in) sequence, not an (in,) vector (read by ``Network.check_input``)
    sample_ndim = 2

    def __init__(self, n_in: int, hidden: int):
        if int(n_in) < 1 or int(hidden) < 1:
            raise InputError(f"recurrent layer sizes must be >= 1, got n_in={n_in}, hidden={hidden}")
        self.n_in, self.hidden = int(n_in), int(hidden)
        self.n_out = self.hidden

    def param_specs(self) -> dict[str, ParamSpec]:
        # fan_in = hidden for every parameter: init="torch" then draws U(-1/sqrt(H), 1/sqrt(H)),
        # exactly PyTorch's initialisation of nn.RNN and nn.GRU
        H, G = self.hidden, self.gates * self.hidden
        return {
            "weight_ih": ParamSpec((self.n_in, G), H, H, "weight"),
            "weight_hh": ParamSpec((H, G), H, H, "weight"),
            "bias_ih": ParamSpec((1, G), H, H, "bias"),
            "bias_hh": ParamSpec((1, G), H, H, "bias"),
        }

    def _input_projection(self, params: dict[str, Any], x: Any) -> Any:
        """``x W_ih + b_ih`` for every step: x ``(N, T, in)`` or ``(P, N, T, in)`` -> ``(P, N, T, G H)``."""
        w, b = params["weight_ih"], params["bias_ih"]
        xp = array_namespace(w)
        self._check_sequence(x, w.shape[0])
        N, T = x.shape[-3], x.shape[-2]
        flat = xp.reshape(x, (N * T, self.n_in)) if x.ndim == 3 else xp.reshape(x, (x.shape[0], N * T, self.n_in))
        projected = xp.matmul(flat, w) + b
        return xp.reshape(projected, (w.shape[0], N, T, w.shape[-1]))

    def _input_gradients(self, params: dict[str, Any], x: Any, grad_gi: Any, input_grad: bool) -> tuple[Any, dict]:
        """Gradients of the input projection from ``grad_gi`` ``(P, N, T, G H)``, summed over samples and steps."""
        w = params["weight_ih"]
        xp = array_namespace(w)
        P, N, T, G = grad_gi.shape
        g = xp.reshape(grad_gi, (P, N * T, G))
        flat = xp.reshape(x, (N * T, self.n_in)) if x.ndim == 3 else xp.reshape(x, (P, N * T, self.n_in))
        grads = {"weight_ih": xp.matmul(flat.mT, g), "bias_ih": xp.sum(g, axis=1, keepdims=True)}
        grad_x = xp.reshape(xp.matmul(g, w.mT), (P, N, T, self.n_in)) if input_grad else None
        return grad_x, grads

    def _check_sequence(self, x: Any, population: int) -> None:
        shape = tuple(x.shape)
        ok = (x.ndim == 3 and shape[2] == self.n_in) or (
            x.ndim == 4 and shape[0] == population and shape[3] == self.n_in
        )
        if not ok:
            raise InputError(
                f"{type(self).__name__} input must have shape (N, T, {self.n_in}) or "
                f"({population}, N, T, {self.n_in}), got {shape}"
            )

    @property
    def state_size(self) -> int:
        """Numbers per sample in the state :meth:`step` carries (``H``; the LSTM's is ``2 H``)."""
        return self.hidden

    def initial_state(self, params: dict[str, Any], n: int) -> Any:
        """The zero state ``(P, N, state_size)`` every sequence starts from."""
        w = params["weight_hh"]
        xp = array_namespace(w)
        return xp.zeros((w.shape[0], n, self.state_size), dtype=w.dtype, device=w.device)

    def output_of(self, state: Any) -> Any:
        """The layer's output ``(P, N, H)`` at a step, from the state :meth:`step` returned."""
        return state


class ElmanRNN(_Recurrent):
    """Elman's simple recurrent layer, PyTorch's ``nn.RNN``: ``h_t = f(x_t W_ih + b_ih + h_{t-1} W_hh + b_hh)``.

    Parameters
    ----------
    n_in : int
        Features per step.
    hidden : int
        Units ``H`` (the size of the state).
    activation : str or Activation, default="tanh"
        ``f``; PyTorch offers "tanh" and "relu".

    Notes
    -----
    Input ``(N, T, in)`` or ``(P, N, T, in)``; output the hidden sequence ``(P, N, T, H)``.
    Parameters (per network): ``weight_ih (in, H)``, ``weight_hh (H, H)``, ``bias_ih (1, H)``,
    ``bias_hh (1, H)``, the transposes of PyTorch's ``weight_ih_l0`` etc.

    Examples
    --------
    >>> from annrl.nn import Dense, Network
    >>> net = Network([ElmanRNN(2, 4), TakeLast(), Dense(4, 1)], population=3, init="torch", seed=0)
    >>> net.predict([[[0.0, 1.0], [1.0, 0.0]]]).shape  # one sequence of 2 steps
    (3, 1, 1)
    """

    gates = 1

    def __init__(self, n_in: int, hidden: int, activation: str | Activation = "tanh"):
        super().__init__(n_in, hidden)
        self.activation = get_activation(activation)

    def forward(self, params, x):
        xp = array_namespace(params["weight_hh"])
        w_hh, b_hh = params["weight_hh"], params["bias_hh"]
        gi = self._input_projection(params, x)
        h = self.initial_state(params, gi.shape[1])
        states, caches = [h], []
        for t in range(gi.shape[2]):
            h, cache = self.activation.forward(gi[:, :, t, :] + xp.matmul(h, w_hh) + b_hh)
            states.append(h)
            caches.append(cache)
        return xp.stack(states[1:], axis=2), (x, states, caches)

    def backward(self, params, grad_y, cache, input_grad=True):
        x, states, caches = cache
        xp = array_namespace(grad_y)
        w_hh = params["weight_hh"]
        grad_gi, grad_h = xp.zeros_like(grad_y), None  # grad_gi: error at the pre-activation, every step
        for t in range(grad_y.shape[2] - 1, -1, -1):
            # error at h_t: from the output at step t, plus what step t + 1 sent back
            grad_ht = grad_y[:, :, t, :] if grad_h is None else grad_y[:, :, t, :] + grad_h
            grad_a = self.activation.backward(grad_ht, caches[t])
            grad_gi[:, :, t, :] = grad_a
            grad_h = xp.matmul(grad_a, w_hh.mT)
        grad_x, grads = self._input_gradients(params, x, grad_gi, input_grad)
        # W_hh is used at every step: its gradient is the sum over steps of h_{t-1}^T grad_a_t
        grads["weight_hh"] = _sum_over_steps(xp, states, grad_gi)
        grads["bias_hh"] = grads["bias_ih"] * 1.0  # both biases are added to the same sum
        return grad_x, grads

    def step(self, params: dict[str, Any], x_t: Any, h: Any) -> Any:
        """One step forward only (for acting step by step): x_t ``(P, N, in)`` or ``(N, in)``, h ``(P, N, H)``."""
        xp = array_namespace(params["weight_hh"])
        z = xp.matmul(x_t, params["weight_ih"]) + params["bias_ih"] + xp.matmul(h, params["weight_hh"])
        return self.activation(z + params["bias_hh"])

    def spec(self):
        return {"type": "ElmanRNN", "n_in": self.n_in, "hidden": self.hidden, "activation": self.activation.name}

    def __repr__(self):
        return f"ElmanRNN({self.n_in} -> {self.hidden}, {self.activation!r})"


class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al., 2014), PyTorch's ``nn.GRU`` equations::

        r_t = sigmoid(x_t W_ir + b_ir + h_{t-1} W_hr + b_hr)          reset gate
        z_t = sigmoid(x_t W_iz + b_iz + h_{t-1} W_hz + b_hz)          update gate
        n_t = tanh(x_t W_in + b_in + r_t * (h_{t-1} W_hn + b_hn))     candidate
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    Parameters
    ----------
    n_in : int
        Features per step.
    hidden : int
        Units ``H``.

    Notes
    -----
    Input ``(N, T, in)`` or ``(P, N, T, in)``; output ``(P, N, T, H)``. Parameters: ``weight_ih
    (in, 3H)``, ``weight_hh (H, 3H)``, ``bias_ih (1, 3H)``, ``bias_hh (1, 3H)``, the three column blocks
    being r, z, n (PyTorch's order). ``z`` near 1 copies the state unchanged: the path that lets a
    GRU hold a bit over long delays, where an Elman RNN's gradient fades at every step.

    Examples
    --------
    >>> from annrl.nn import Dense, Network
    >>> net = Network([GRU(1, 8), TakeLast(), Dense(8, 1)], init="torch", seed=0)
    >>> net.layout.specs["0.weight_hh"].shape
    (8, 24)
    """

    gates = 3

    def forward(self, params, x):
        xp = array_namespace(params["weight_hh"])
        w_hh, b_hh, H = params["weight_hh"], params["bias_hh"], self.hidden
        gi = self._input_projection(params, x)
        h = self.initial_state(params, gi.shape[1])
        states, caches = [h], []
        for t in range(gi.shape[2]):
            gi_t, gh = gi[:, :, t, :], xp.matmul(h, w_hh) + b_hh
            rz = _sigmoid(xp, gi_t[..., : 2 * H] + gh[..., : 2 * H])  # r and z in one call
            gh_n = gh[..., 2 * H :]
            n = xp.tanh(gi_t[..., 2 * H :] + rz[..., :H] * gh_n)
            h = n + rz[..., H:] * (h - n)  # (1 - z) n + z h
            states.append(h)
            caches.append((rz, n, gh_n))
        return xp.stack(states[1:], axis=2), (x, states, caches)

    def backward(self, params, grad_y, cache, input_grad=True):
        x, states, caches = cache
        xp = array_namespace(grad_y)
        w_hh, H = params["weight_hh"], self.hidden
        P, N, T, _ = grad_y.shape
        # errors at the gate pre-activations of every step: input side (gi) and recurrent side (gh)
        grad_gi = xp.zeros((P, N, T, 3 * H), dtype=grad_y.dtype, device=grad_y.device)
        grad_gh = xp.zeros((P, N, T, 3 * H), dtype=grad_y.dtype, device=grad_y.device)
        grad_h = None
        for t in range(T - 1, -1, -1):
            rz, n, gh_n = caches[t]
            grad_ht = grad_y[:, :, t, :] if grad_h is None else grad_y[:, :, t, :] + grad_h
            # h_t = n + z (h_{t-1} - n): to n through (1 - z) and tanh' = 1 - n^2; to z through (h_{t-1} - n)
            grad_an = grad_ht * (1.0 - rz[..., H:]) * (1.0 - n * n)
            # to r through the n pre-activation (r scales gh_n); sigmoid' = s (1 - s) for r and z at once
            grad_arz = xp.concat([grad_an * gh_n, grad_ht * (states[t] - n)], axis=-1) * (rz - rz * rz)
            grad_gi[:, :, t, : 2 * H] = grad_arz
            grad_gi[:, :, t, 2 * H :] = grad_an
            grad_gh[:, :, t, : 2 * H] = grad_arz
            grad_gh[:, :, t, 2 * H :] = grad_an * rz[..., :H]
            grad_h = grad_ht * rz[..., H:] + xp.matmul(grad_gh[:, :, t, :], w_hh.mT)
        grad_x, grads = self._input_gradients(params, x, grad_gi, input_grad)
        grads["weight_hh"] = _sum_over_steps(xp, states, grad_gh)
        grads["bias_hh"] = xp.sum(xp.reshape(grad_gh, (P, N * T, 3 * H)), axis=1, keepdims=True)
        return grad_x, grads

    def step(self, params: dict[str, Any], x_t: Any, h: Any) -> Any:
        """One step forward only (for acting step by step): x_t ``(P, N, in)`` or ``(N, in)``, h ``(P, N, H)``."""
        xp = array_namespace(params["weight_hh"])
        H = self.hidden
        gi = xp.matmul(x_t, params["weight_ih"]) + params["bias_ih"]
        gh = xp.matmul(h, params["weight_hh"]) + params["bias_hh"]
        r = _sigmoid(xp, gi[..., :H] + gh[..., :H])
        z = _sigmoid(xp, gi[..., H : 2 * H] + gh[..., H : 2 * H])
        n = xp.tanh(gi[..., 2 * H :] + r * gh[..., 2 * H :])
        return n + z * (h - n)

    def spec(self):
        return {"type": "GRU", "n_in": self.n_in, "hidden": self.hidden}

    def __repr__(self):
        return f"GRU({self.n_in} -> {self.hidden})"


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000),
    PyTorch's ``nn.LSTM`` equations::

        i_t = sigmoid(x_t W_ii + b_ii + h_{t-1} W_hi + b_hi)          input gate
        f_t = sigmoid(x_t W_if + b_if + h_{t-1} W_hf + b_hf)          forget gate
        g_t = tanh(x_t W_ig + b_ig + h_{t-1} W_hg + b_hg)             candidate
        o_t = sigmoid(x_t W_io + b_io + h_{t-1} W_ho + b_ho)          output gate
        c_t = f_t * c_{t-1} + i_t * g_t                               cell (the memory)
        h_t = o_t * tanh(c_t)                                         output

    Parameters
    ----------
    n_in : int
        Features per step.
    hidden : int
        Units ``H`` (sizes of both the output ``h`` and the cell ``c``).

    Notes
    -----
    Input ``(N, T, in)`` or ``(P, N, T, in)``; output the sequence of ``h``, ``(P, N, T, H)``. Parameters:
    ``weight_ih (in, 4H)``, ``weight_hh (H, 4H)``, ``bias_ih (1, 4H)``, ``bias_hh (1, 4H)``, column blocks
    i, f, g, o (PyTorch's order). The cell is updated by addition, ``c_t = f c_{t-1} + ...``: with
    ``f`` near 1 its error flows back through time multiplied only by ``f``, which is what lets an
    LSTM learn dependencies over long delays. :meth:`step` carries ``[h, c]`` as one ``(P, N, 2H)`` array.

    Examples
    --------
    >>> from annrl.nn import Dense, Network
    >>> net = Network([LSTM(2, 8), TakeLast(), Dense(8, 1)], init="torch", seed=0)
    >>> net.layout.specs["0.weight_hh"].shape
    (8, 32)
    """

    gates = 4

    @property
    def state_size(self) -> int:
        return 2 * self.hidden

    def output_of(self, state: Any) -> Any:
        return state[..., : self.hidden]

    def _cell(self, xp: Any, pre: Any, c: Any) -> tuple[Any, ...]:
        """One step from the gate pre-activations ``pre`` ``(P, N, 4H)`` and the cell ``c``."""
        H = self.hidden
        gates = _sigmoid(xp, pre)  # i, f and o (the g block's sigmoid is not used)
        g = xp.tanh(pre[..., 2 * H : 3 * H])
        c_new = gates[..., H : 2 * H] * c + gates[..., :H] * g
        tanh_c = xp.tanh(c_new)
        return gates[..., 3 * H :] * tanh_c, c_new, gates, g, tanh_c

    def forward(self, params, x):
        xp = array_namespace(params["weight_hh"])
        w_hh, b_hh = params["weight_hh"], params["bias_hh"]
        gi = self._input_projection(params, x)
        zeros = self.initial_state(params, gi.shape[1])
        h, c = zeros[..., : self.hidden], zeros[..., self.hidden :]
        states, caches = [h], []
        for t in range(gi.shape[2]):
            c_previous = c
            h, c, gates, g, tanh_c = self._cell(xp, gi[:, :, t, :] + xp.matmul(h, w_hh) + b_hh, c)
            states.append(h)
            caches.append((gates, g, c_previous, tanh_c))
        return xp.stack(states[1:], axis=2), (x, states, caches)

    def backward(self, params, grad_y, cache, input_grad=True):
        x, states, caches = cache
        xp = array_namespace(grad_y)
        w_hh, H = params["weight_hh"], self.hidden
        grad_gi, grad_h, grad_c = xp.zeros((*grad_y.shape[:3], 4 * H), dtype=grad_y.dtype,
                                           device=grad_y.device), None, None
        for t in range(grad_y.shape[2] - 1, -1, -1):
            gates, g, c_previous, tanh_c = caches[t]
            i, f, o = gates[..., :H], gates[..., H : 2 * H], gates[..., 3 * H :]
            grad_ht = grad_y[:, :, t, :] if grad_h is None else grad_y[:, :, t, :] + grad_h
            # error at c_t: through h_t = o tanh(c_t), plus what c_{t+1} = f c_t + ... sent back
            grad_ct = grad_ht * o * (1.0 - tanh_c * tanh_c)
            grad_ct = grad_ct if grad_c is None else grad_ct + grad_c
            grad_a = xp.concat([grad_ct * g * (i - i * i),  # to each gate's pre-activation:
                                grad_ct * c_previous * (f - f * f),  # sigmoid' = s (1 - s), tanh' = 1 - g^2
                                grad_ct * i * (1.0 - g * g),
                                grad_ht * tanh_c * (o - o * o)], axis=-1)
            grad_gi[:, :, t, :] = grad_a
            grad_h, grad_c = xp.matmul(grad_a, w_hh.mT), grad_ct * f
        grad_x, grads = self._input_gradients(params, x, grad_gi, input_grad)
        grads["weight_hh"] = _sum_over_steps(xp, states, grad_gi)
        grads["bias_hh"] = grads["bias_ih"] * 1.0  # both biases are added to the same sum
        return grad_x, grads

    def step(self, params: dict[str, Any], x_t: Any, state: Any) -> Any:
        """One step forward only: x_t ``(P, N, in)`` or ``(N, in)``, state ``[h, c]`` ``(P, N, 2H)`` -> the next."""
        xp = array_namespace(params["weight_hh"])
        H = self.hidden
        h, c = state[..., :H], state[..., H:]
        pre = xp.matmul(x_t, params["weight_ih"]) + params["bias_ih"] + xp.matmul(h, params["weight_hh"])
        h, c = self._cell(xp, pre + params["bias_hh"], c)[:2]
        return xp.concat([h, c], axis=-1)

    def spec(self):
        return {"type": "LSTM", "n_in": self.n_in, "hidden": self.hidden}

    def __repr__(self):
        return f"LSTM({self.n_in} -> {self.hidden})"


def _sum_over_steps(xp: Any, states: list[Any], grad: Any) -> Any:
    """``sum_t h_{t-1}^T grad_t`` over samples and steps: states ``[h_0 .. h_T]`` each ``(P, N, H)``,
    grad ``(P, N, T, G)`` -> ``(P, H, G)``, as one matrix product."""
    P, N, T, G = grad.shape
    previous = xp.reshape(xp.stack(states[:-1], axis=2), (P, N * T, states[0].shape[-1]))
    return xp.matmul(previous.mT, xp.reshape(grad, (P, N * T, G)))


def _sigmoid(xp: Any, a: Any) -> Any:
    return 1.0 / (1.0 + xp.exp(-a))


class TakeLast(Layer):
    """The last step of a sequence: ``(P, N, T, F) -> (P, N, F)`` (a shared ``(N, T, F)`` -> ``(N, F)``).

    Its backward sends the error to the last step only; the earlier steps get zero.
    """

    def forward(self, params, x):
        return x[..., -1, :], x.shape

    def backward(self, params, grad_y, shape, input_grad=True):
        if not input_grad:
            return None, {}
        xp = array_namespace(grad_y)
        grad_x = xp.zeros((*grad_y.shape[:-1], shape[-2], shape[-1]), dtype=grad_y.dtype, device=grad_y.device)
        grad_x[..., -1, :] = grad_y
        return grad_x, {}

    def spec(self):
        return {"type": "TakeLast"}

    def __repr__(self):
        return "TakeLast()"


class PerStep(Layer):
    """Apply ``layer`` at every step of a sequence: ``(P, N, T, F) -> (P, N, T, O)``.

    The steps are folded into the sample axis (``(P, N T, F)``), so ``PerStep(Dense(H, 1))`` is one
    readout shared by all steps, and its gradients are summed over steps as over samples.

    Parameters
    ----------
    layer : Layer
        A layer on ``(P, N, F)`` arrays, e.g. ``Dense`` or ``ActivationLayer``; its parameters keep their names.
    """

    def __init__(self, layer: Layer):
        self.layer = layer
        for name in ("n_in", "n_out"):
            if hasattr(layer, name):
                setattr(self, name, getattr(layer, name))

    def param_specs(self):
        return self.layer.param_specs()

    def forward(self, params, x):
        xp = array_namespace(x)
        shared = x.ndim == 3
        P = 1 if shared else x.shape[0]
        N, T, F = x.shape[-3:]
        folded = xp.reshape(x, (N * T, F)) if shared else xp.reshape(x, (P, N * T, F))
        y, cache = self.layer.forward(params, folded)
        return xp.reshape(y, (y.shape[0], N, T, y.shape[-1])), (cache, tuple(x.shape))

    def backward(self, params, grad_y, cache, input_grad=True):
        inner, shape = cache
        xp = array_namespace(grad_y)
        P, N, T, O = grad_y.shape
        grad_x, grads = self.layer.backward(params, xp.reshape(grad_y, (P, N * T, O)), inner, input_grad)
        if grad_x is not None:
            grad_x = xp.reshape(grad_x, (grad_x.shape[0], N, T, shape[-1]))
        return grad_x, grads

    def spec(self):
        return {"type": "PerStep", "layer": self.layer.spec()}

    def __repr__(self):
        return f"PerStep({self.layer!r})"
