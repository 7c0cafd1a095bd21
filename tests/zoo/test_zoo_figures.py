"""Plot functions outside the labs, drawn as in a notebook: into a given ax or fig, with no path.

Each returns its Figure, draws into the one given (the right number of panels), writes no file and
leaves nothing in pyplot's list of figures. The data are tiny and made up: nothing is trained.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from annrl.agents.cli import learning_curve_figure
from annrl.calculus.accuracy import AccuracyTable, plot_accuracy, plot_estimates
from annrl.envs.benchmark import plot_suite
from annrl.envs.render import plot_track
from annrl.envs.tracks import list_tracks, load_track
from annrl.nn import MLP
from annrl.systems import LotkaVolterra
from annrl.systems.plots import plot_trajectory
from annrl.viz.style import figure, new_figure
from annrl.zoo import cnn, elm, esn, hopfield, resnet, sequence, som
from annrl.zoo.diagram import draw_diagram


@pytest.fixture(autouse=True)
def nothing_written(tmp_path, monkeypatch):
    """Run each test in an empty folder; afterwards it is still empty and pyplot holds no new figure."""
    monkeypatch.chdir(tmp_path)
    before = plt.get_fignums()
    yield
    assert list(tmp_path.iterdir()) == []
    assert plt.get_fignums() == before


def test_zoo_figures_draw_into_a_given_empty_figure():
    rng = np.random.default_rng(0)
    fig = new_figure(size=(6, 4))
    assert resnet.figure({"plain": np.linspace(1, 0.5, 9), "residual": np.geomspace(1, 1e-3, 9)}, variance=0.3,
                         fig=fig) is fig
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 3  # two nets and the mean's line
    fig = new_figure(size=(6, 4))
    assert elm.figure([25, 50, 100], curve=[0.8, 0.9, 0.95], linear=0.9, fig=fig) is fig
    assert len(fig.axes) == 1
    series = 1 + 0.2 * np.sin(np.arange(60) / 5)
    drawn = esn.figure(series, n_train=40, one_step=series[41:], free=series[40:50], fig=new_figure(size=(6, 4)))
    assert len(drawn.axes) == 2 and len(drawn.axes[1].lines) == 2
    letters = np.sign(rng.standard_normal((3, 63)))
    drawn = hopfield.figure(letters, final=letters, paths=[[0.0, -5.0, -6.0]] * 3, fig=new_figure(size=(6, 4)))
    assert len(drawn.axes) == 2 * 3 + 1


def test_zoo_figures_make_their_own_figure_when_given_none():
    rng = np.random.default_rng(1)
    data = {"y_test": np.arange(10), "X_test": rng.random((10, 8, 8, 1))}
    drawn = cnn.errors_figure(data, predicted=np.r_[1, np.arange(1, 10)])
    assert len(drawn.axes) == 2
    assert drawn.axes[1].get_title().startswith("misclassified (1): 0->1")
    curves = {cell: (np.arange(1, 4), np.array([0.2, 0.1, 0.05])) for cell in ("Elman", "GRU", "LSTM")}
    truth = rng.random(20) * 2
    drawn = sequence.figure(curves, predictions={cell: truth for cell in curves}, truth=truth)
    assert len(drawn.axes) == 2 and len(drawn.axes[1].collections) == 3
    net = som.SelfOrganisingMap(4, 4, 3, rng=rng)
    start = net.image().copy()
    net.fit(rng.random((50, 3)), 100, rng)
    assert len(som.figure(net, start=start).axes) == 3


def test_diagram_draws_into_a_given_axes():
    fig, (left, right) = figure(ncols=2)
    diagram = draw_diagram(MLP([2, 3, 1], hidden="tanh"), ax=right)
    assert diagram.figure is fig and diagram.path is None and diagram.cells == 6
    assert not left.patches and right.patches  # the cells went into the given panel only


def test_learning_curve_draws_into_a_given_axes():
    fig, (left, right) = figure(ncols=2)
    metrics = {"algo": "ppo", "env": "CartPole-v1", "threshold": 475.0, "learning_curve": [[0, 20], [500, 80]]}
    assert learning_curve_figure(metrics, ax=left) is fig
    assert [line.get_ydata()[0] for line in left.lines] == [20.0, 475.0] and not right.lines


def test_track_figures_draw_into_a_given_axes_or_figure():
    names = list_tracks()[:3]
    records = [{"track": name, "success": i == 0, "crashed": i == 1, "laps": 3 - i} for i, name in enumerate(names)]
    traces = [load_track(name).centre[:20] for name in names]
    fig = new_figure(size=(6, 4))
    assert plot_suite(records, traces, columns=2, fig=fig) is fig
    assert len(fig.axes) == 4 and not fig.axes[3].lines  # 2 x 2 grid, the last panel empty
    assert fig.axes[1].lines[-1].get_marker() == "x"  # the crashed car's last position
    fig, ax = figure()
    assert plot_track(load_track(names[0]), ax) is ax and len(fig.axes) == 1


def test_calculus_and_systems_figures_draw_into_a_given_axes_or_figure():
    table = AccuracyTable(methods=("central", "spline"), noise_levels=(0.0, 0.05), rmse=np.array([[1e-3, 0.1],
                          [1e-2, 0.02]]), spread=np.zeros((2, 2)), derivative_rms=1.0, trials=1, signal="sin t")
    fig, (left, right) = figure(ncols=2)
    assert plot_accuracy(table, ax=left) is fig and len(left.containers) == 2  # one error bar per method
    t = np.linspace(0, 6, 50)
    assert plot_estimates(t, np.sin(t), np.cos(t), {"exact again": lambda x, t: np.cos(t)}, ax=right) is fig
    assert len(right.lines) == 2 and len(fig.axes) == 2
    trajectory = LotkaVolterra().simulate([10.0, 5.0], (0.0, 2.0), 0.1)
    fig = new_figure(size=(8, 3))
    assert plot_trajectory(trajectory, LotkaVolterra(), fig=fig) is fig and len(fig.axes) == 2
