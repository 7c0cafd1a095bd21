"""Take it away: a trained playground network as a checkpoint, a PyTorch module, a NumPy function, a figure.

The PyTorch and NumPy files are Python source written here, with the weights as literal numbers (no
pickle, nothing to download): each defines the same feature map as the page (``x, y, x2, ...``) and
the same layers, so ``predict([[x, y], ...])`` gives what the page shows.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from annrl.errors import InputError
from annrl.playground.session import Session

KINDS = {"checkpoint": ("application/octet-stream", "safetensors"), "torch": ("text/x-python", "py"),
         "numpy": ("text/x-python", "py"), "png": ("image/png", "png"), "svg": ("image/svg+xml", "svg")}
FEATURE_SOURCE = {"x": "x", "y": "y", "x2": "x ** 2", "y2": "y ** 2", "xy": "x * y", "sinx": "{m}.sin(x)",
                  "siny": "{m}.sin(y)"}
NUMPY_ACTIVATIONS = {"identity": "z", "sigmoid": "1.0 / (1.0 + np.exp(-z))", "tanh": "np.tanh(z)",
                     "relu": "np.maximum(z, 0.0)", "softplus": "np.logaddexp(0.0, z)", "sin": "np.sin(z)",
                     "leaky_relu": "np.where(z > 0, z, {slope} * z)"}
TORCH_ACTIVATIONS = {"identity": "z", "sigmoid": "torch.sigmoid(z)", "tanh": "torch.tanh(z)",
                     "relu": "torch.relu(z)", "softplus": "torch.nn.functional.softplus(z)", "sin": "torch.sin(z)",
                     "leaky_relu": "torch.nn.functional.leaky_relu(z, {slope})"}


def export(session: Session, kind: str, index: int = 0) -> tuple[bytes, str, str]:
    """``(content, media type, file name)`` of network ``index`` exported as ``kind`` (:data:`KINDS`)."""
    if kind not in KINDS:
        raise InputError.invalid("export kind", f"one of {sorted(KINDS)}", kind)
    media, suffix = KINDS[kind]
    name = f"playground-{session.setup.dataset}.{suffix}"
    if kind == "checkpoint":
        return checkpoint_bytes(session, index), media, name
    if kind == "torch":
        return torch_source(session, index).encode(), media, f"playground_{session.setup.dataset}_torch.py"
    if kind == "numpy":
        return numpy_source(session, index).encode(), media, f"playground_{session.setup.dataset}_numpy.py"
    return figure_bytes(session, index, kind), media, name


def checkpoint_bytes(session: Session, index: int) -> bytes:
    """An annrl network file (``annrl.io.network_file``) with the setup and features as metadata."""
    from annrl.io.network_file import save_network

    meta = {"playground": {"setup": session.setup.to_dict(), "features": list(session.features),
                           "inputs": list(session.data.inputs), "epoch": session.epoch, "index": index}}
    with tempfile.TemporaryDirectory() as folder:
        path = save_network(Path(folder) / "network.safetensors", session.network(index), meta)
        return path.read_bytes()


def _layers(session: Session, index: int) -> list[tuple[list, list, str]]:
    """``(weight (in, out) as lists, bias (out,), activation source key)`` per dense layer."""
    net, out = session.network(index), []
    activations = [layer.activation for layer in net.layers[1::2]]
    for name, activation in zip(session.weight_names, activations, strict=True):
        layer = name.split(".")[0]
        w = np.asarray(net.params_[name], dtype=float)[0]
        b = np.asarray(net.params_[f"{layer}.bias"], dtype=float).reshape(-1)
        out.append((w.tolist(), b.tolist(), activation))
    return out


def _activation(table: dict[str, str], activation: Any) -> str:
    return table[activation.name].format(slope=getattr(activation, "negative_slope", 0.0))


def _feature_lines(session: Session, module: str) -> tuple[str, str]:
    """The line naming the raw inputs, and the feature columns, as source text.

    Boolean variables are read by column index, so that no variable name can shadow ``np`` or ``z``.
    """
    if session.data.view == "boolean":
        return "pass", ", ".join(f"points[:, {k}]" for k in range(len(session.data.inputs)))
    names = ["x", "y"][: len(session.data.inputs)]
    unpack = "; ".join(f"{n} = points[:, {k}]" for k, n in enumerate(names))
    return unpack, ", ".join(FEATURE_SOURCE[f].format(m=module) for f in session.features)


def _header(session: Session) -> str:
    inputs = ", ".join(session.data.inputs)
    return (f'"""A network trained in the annrl playground ({session.setup.dataset}, {session.epoch} epochs).\n\n'
            f"Inputs per row: {inputs} (display coordinates of the page); features: "
            f"{', '.join(session.features)}.\nOutput: {session.data.task} "
            f"({'tanh: > 0 is the blue class' if session.data.task == 'classification' else 'a value'}).\n\"\"\"\n")


def numpy_source(session: Session, index: int = 0) -> str:
    """A standalone Python module with ``predict(points) -> (N,)`` in NumPy."""
    unpack, columns = _feature_lines(session, "np")
    lines = [_header(session), "import numpy as np", "", "LAYERS = ["]
    lines += [f"    (np.array({w!r}), np.array({b!r})),  # then {a.name}" for w, b, a in _layers(session, index)]
    lines += ["]", "", "", "def predict(points):", '    """Outputs (N,) for points (N, inputs)."""',
              "    points = np.atleast_2d(np.asarray(points, dtype=float))", f"    {unpack}",
              f"    z = np.column_stack([{columns}])"]
    for k, (_, _, activation) in enumerate(_layers(session, index)):
        lines += [f"    z = z @ LAYERS[{k}][0] + LAYERS[{k}][1]",
                  f"    z = {_activation(NUMPY_ACTIVATIONS, activation)}"]
    lines += ["    return z[:, 0]", ""]
    return "\n".join(lines)


def torch_source(session: Session, index: int = 0) -> str:
    """A Python module defining ``PlaygroundNet(torch.nn.Module)`` with the trained weights loaded."""
    unpack, columns = _feature_lines(session, "torch")
    layers = _layers(session, index)
    lines = [_header(session), "import torch", "", "WEIGHTS = ["]
    lines += [f"    ({w!r}, {b!r})," for w, b, _ in layers]
    lines += ["]", "", "", "class PlaygroundNet(torch.nn.Module):",
              '    """The playground network: features, then dense layers (weights stored as (out, in))."""', "",
              "    def __init__(self):", "        super().__init__()",
              "        self.dense = torch.nn.ModuleList()", "        for w, b in WEIGHTS:",
              "            linear = torch.nn.Linear(len(w), len(b), dtype=torch.float64)",
              "            with torch.no_grad():",
              "                linear.weight.copy_(torch.tensor(w, dtype=torch.float64).T)",
              "                linear.bias.copy_(torch.tensor(b, dtype=torch.float64))",
              "            self.dense.append(linear)", "",
              "    def forward(self, points):", '        """Outputs (N,) for points (N, inputs)."""',
              "        points = torch.as_tensor(points, dtype=torch.float64)",
              f"        {unpack}",
              f"        z = torch.stack([{columns}], dim=1)"]
    for k, (_, _, activation) in enumerate(layers):
        lines += [f"        z = self.dense[{k}](z)", f"        z = {_activation(TORCH_ACTIVATIONS, activation)}"]
    lines += ["        return z[:, 0]", ""]
    return "\n".join(lines)


def figure_bytes(session: Session, index: int, fmt: str) -> bytes:
    """The surface (or fitted curve) with the training and test points, as PNG or SVG."""
    from annrl.playground.snapshot import CURVE_CELLS, SURFACE_CELLS, grid_points
    from annrl.viz.style import figure

    data = session.data
    curve = len(data.box) == 1
    raw, nx, ny = grid_points(session, CURVE_CELLS if curve else SURFACE_CELLS)
    values = session.predict_one(raw, index)
    fig, ax = figure(size=(5.0, 4.4))
    if curve:
        ax.plot(raw[:, 0], values, color="#1f4e79", label="network")
        ax.scatter(data.train_x[:, 0], data.train_y[:, 0], s=8, c="#f59322", label="train")
        ax.scatter(data.test_x[:, 0], data.test_y[:, 0], s=8, c="#888", label="test")
        ax.set(xlabel=f"{data.inputs[0]} (display units)", ylabel="output")
        ax.legend()
    else:
        image = ax.imshow(values.reshape(ny, nx), origin="lower", extent=[*data.box[0], *data.box[1]],
                          cmap="RdBu", vmin=-1, vmax=1, alpha=0.8)
        fig.colorbar(image, ax=ax, label="network output")
        for x, y, edge in ((data.train_x, data.train_y, "white"), (data.test_x, data.test_y, "black")):
            ax.scatter(x[:, 0], x[:, 1], c=y[:, 0], cmap="RdBu", vmin=-1, vmax=1, s=10, edgecolors=edge,
                       linewidths=0.5)
        ax.set(xlabel=data.inputs[0], ylabel=data.inputs[1])
        ax.grid(False)
    ax.set_title(f"{data.label}: epoch {session.epoch}")
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format=fmt)
    return buffer.getvalue()
