"""Every lab's plot functions work as annrl.viz's do: draw into a given ``ax`` (``fig`` for several panels),
return the Figure, write a file only when given a path, open no pyplot figure (#28, Jupyter)."""

import sys

import numpy as np
import pytest

from annrl.viz.style import figure, new_figure


@pytest.fixture(autouse=True)
def nothing_written(tmp_path, monkeypatch):
    """Each test runs in an empty folder, which must still be empty after it; no pyplot figure is opened."""
    monkeypatch.chdir(tmp_path)
    yield
    assert list(tmp_path.iterdir()) == []
    assert "matplotlib.pyplot" not in sys.modules or not sys.modules["matplotlib.pyplot"].get_fignums()


@pytest.fixture(scope="module")
def xor_result():
    from annrl.labs.xor.lab import XorConfig, train

    return train(XorConfig(seeds=20, epochs=300, extend=0))


def test_xor_surfaces_take_a_figure_and_the_command_writes_the_same_files(xor_result, tmp_path_factory):
    from annrl.labs.xor.figures import _surface_picks, decision_surfaces, write_figures

    fig = new_figure(size=(8, 3))
    assert decision_surfaces(xor_result, fig=fig) is fig
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == _surface_picks(xor_result)[1] and titles[0].endswith(": solved")
    out = tmp_path_factory.mktemp("xor")
    paths = write_figures(xor_result, out)
    assert [p.name for p in paths][:3] == ["loss_curves.png", "success_vs_epochs.png", "final_loss_hist.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    assert all(p.stat().st_size > 5000 for p in paths)


def test_logic_figures_share_one_figure():
    from annrl.labs.logic.figures import compiled_network, hidden_sweep, learned_network, single_neuron, truth_table
    from annrl.labs.logic.lab import LogicConfig, train

    result = train(LogicConfig(expression="a ^ b", seeds=20, epochs=300, max_hidden=3, limits=True))
    fig, axes = figure(ncols=4)
    for ax, draw in zip(axes, (compiled_network, hidden_sweep, learned_network, truth_table), strict=True):
        assert draw(result, ax=ax) is fig
    assert axes[0].get_title().startswith("Compiled threshold network (depth 2, 2 hidden")
    assert axes[1].get_title().startswith("Learning a ^ b (20 seeds")
    assert [int(bar.get_x() + bar.get_width() / 2) for bar in axes[1].patches] == [0, 1, 2, 3]
    grid = new_figure(size=(9, 9))
    assert single_neuron(result.limits, fig=grid) is grid and len(grid.axes) == 16
    assert sum("NOT separable" in ax.get_title() for ax in grid.axes) == 2  # XOR and XNOR


def test_memory_recall_draws_a_column_per_letter():
    from annrl.labs.memory.figures import recall
    from annrl.labs.memory.lab import MemoryConfig, train

    result = train(MemoryConfig(patterns="HT", cues=5, spurious_starts=100, letters_curve=False))
    fig = new_figure(size=(4, 4.6))
    assert recall(result, fig=fig) is fig
    assert len(fig.axes) == 3 * 2 and [fig.axes[k].get_title() for k in (0, 1)] == ["H", "T"]


def test_adapt_growth_draws_in_the_given_panels():
    from annrl.labs.adapt.figures import growth
    from annrl.labs.adapt.lab import GrowConfig, run_grow

    grown = run_grow(GrowConfig(epochs=300))
    fig = new_figure(size=(9, 3.4))
    assert growth(grown.parts["records"], grown.config.target, fig=fig) is fig
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]
    assert len(fig.axes[0].lines) == len(grown.parts["records"])


def test_dynamics_figures_take_an_ax_and_a_figure():
    from annrl.labs.dynamics.figures import error_over_time, time_series
    from annrl.labs.dynamics.lab import DynamicsConfig, train

    result = train(DynamicsConfig(system="lotka-volterra", noise=0.0, method="five-point", epochs=100,
                                  rollout_epochs=20))
    fig, ax = figure()
    assert error_over_time(result, ax=ax) is fig and ax.get_yscale() == "log"
    panels = new_figure(size=(7, 4.8))
    assert time_series(result, fig=panels) is panels
    assert [a.get_ylabel() for a in panels.axes] == list(result.trajectory.names)


def test_approx_fit_and_error_curve_take_a_figure_and_an_ax():
    from annrl.labs.approx.figures import error_curve, fit_1d
    from annrl.labs.approx.lab import ApproxConfig, train

    result = train(ApproxConfig(target="sin", hidden=(8,), seeds=2, epochs=100, optimizer="lbfgs", tol=None))
    fig, ax = figure()
    assert error_curve(result, ax=ax) is fig and len(ax.lines) == 2  # one curve per seed
    assert np.allclose(ax.lines[result.best].get_xdata(), result.check_epochs)
    panels = new_figure(size=(6, 6))
    assert fit_1d(result, fig=panels) is panels and len(panels.axes) == 2


def test_a_path_writes_the_file(tmp_path_factory):
    from annrl.labs.adapt.figures import growth
    from annrl.labs.adapt.lab import GrowConfig, run_grow

    grown = run_grow(GrowConfig(epochs=200))
    path = tmp_path_factory.mktemp("adapt") / "grow.png"
    assert type(growth(grown.parts["records"], grown.config.target, path)).__name__ == "Figure"
    assert path.stat().st_size > 5000
