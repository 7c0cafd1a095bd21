"""Diagrams are drawn from the model object: its layers decide the cells, their kinds and captions."""

import numpy as np
import pytest

from annrl.nn import MLP, ActivationLayer, Dense, Network
from annrl.nn.layers import Layer
from annrl.nn.recurrent import GRU, ElmanRNN, PerStep, TakeLast
from annrl.zoo.cells import CELLS, check_kind
from annrl.zoo.diagram import CELL_CAP, ZooLayer, collapse, draw_diagram, zoo_layers
from annrl.zoo.resnet import plain_mlp, residual_mlp


def test_cells_follow_the_layer_sizes(tmp_path):
    small = draw_diagram(MLP([2, 3, 1], hidden="tanh"), tmp_path / "a.png")
    wider = draw_diagram(MLP([2, 5, 1], hidden="tanh"), tmp_path / "b.png")
    assert [c.cells for c in small.columns] == [2, 3, 1]
    assert [c.cells for c in wider.columns] == [2, 5, 1]
    assert wider.cells - small.cells == 2
    assert (tmp_path / "a.png").stat().st_size > 1000


def test_a_large_layer_is_capped_but_captioned_with_its_size(tmp_path):
    diagram = draw_diagram(MLP([784, 32, 10], hidden="relu"), tmp_path / "big.png")
    assert [c.cells for c in diagram.columns] == [CELL_CAP - 1] * 3  # one slot is the ellipsis
    assert [c.caption for c in diagram.columns] == ["input\n784", "relu\n32", "linear\n10"]


def test_kinds_come_from_the_layer_classes():
    net = Network([GRU(3, 8), PerStep(Dense(8, 4)), PerStep(ActivationLayer("tanh")), ElmanRNN(4, 5), TakeLast(),
                   Dense(5, 2), ActivationLayer("sigmoid")], init="torch", seed=0)
    layers = zoo_layers(net)
    assert [(z.kind, z.size, z.recurrent) for z in layers] == [
        ("input", 3, False), ("gated_memory", 8, True), ("hidden", 4, False), ("recurrent", 5, True),
        ("output", 2, False)]
    assert layers[2].label == "tanh" and layers[-1].label == "sigmoid"


def test_residual_blocks_draw_a_skip_and_repeated_blocks_collapse(tmp_path):
    layers = zoo_layers(residual_mlp(depth=6, width=4))
    assert [z.skip for z in layers] == [0, 0, 1, 1, 1, 1, 0]
    diagram = draw_diagram(residual_mlp(depth=30, width=4), tmp_path / "res.png")
    assert [c.repeat for c in diagram.columns] == [1, 1, 28, 1]
    assert "x28" in diagram.columns[2].caption
    assert all(z.skip == 0 for z in zoo_layers(plain_mlp(depth=6, width=4)))


def test_unknown_layer_class_is_a_clear_error():
    class Mystery(Layer):
        n_in, n_out = 2, 2

    with pytest.raises(ValueError, match="no zoo cell for layer class Mystery"):
        zoo_layers(Network([Dense(2, 2), Mystery()], seed=0))
    with pytest.raises(ValueError, match="zoo_layers"):
        zoo_layers(object())


def test_a_zoo_model_draws_its_own_layers(tmp_path):
    class Reservoir:
        def __init__(self, n):
            self.n = n

        def zoo_layers(self):
            return [ZooLayer("input", 1), ZooLayer("recurrent", self.n, "reservoir", lateral=True),
                    ZooLayer("output", 1)]

    assert draw_diagram(Reservoir(4), tmp_path / "r.png").cells == 6
    assert draw_diagram(Reservoir(3), tmp_path / "r.png").cells == 5


def test_every_chart_cell_kind_draws_and_bad_ones_are_refused(tmp_path):
    class AllCells:
        def zoo_layers(self):
            return [ZooLayer(kind, 2, kind) for kind in CELLS]

    diagram = draw_diagram(AllCells(), tmp_path / "all.png")
    assert [c.layer.kind for c in diagram.columns] == list(CELLS)
    with pytest.raises(ValueError, match="cell kind must be one of"):
        check_kind("dendrite")
    with pytest.raises(ValueError, match="size must be >= 1"):
        ZooLayer("hidden", 0)


def test_collapse_keeps_distinct_neighbours_apart():
    a, b = ZooLayer("hidden", 4, "tanh"), ZooLayer("hidden", 5, "tanh")
    assert collapse([a, a, b, a]) == [(a, 2), (b, 1), (a, 1)]
    assert np.sum([n for _, n in collapse([a] * 7)]) == 7
