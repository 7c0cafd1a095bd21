"""In a notebook: figures without a backend, returned and written only on request; HTML summaries."""

import subprocess
import sys

import numpy as np
import pytest

from annrl.nn import MLP, SGD, fit

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)


def test_plotting_chooses_no_backend_and_opens_no_pyplot_figure(tmp_path):
    code = ("import sys\nimport numpy as np\nfrom annrl.viz.training import loss_curves\n"
            "fig = loss_curves(np.ones((5, 3)), np.array([True, False, True]))\n"
            "assert type(fig).__name__ == 'Figure' and len(fig.axes) == 1\n"
            "print('matplotlib.pyplot' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert list(tmp_path.iterdir()) == []  # no path: no file


def test_a_plot_draws_into_the_given_axes_and_writes_only_to_a_given_path(tmp_path):
    from annrl.viz.style import figure
    from annrl.viz.training import bar_table, histogram

    fig, axes = figure(ncols=2)
    assert bar_table(["a", "b"], [1.0, 2.0], xlabel="x", title="bars", ax=axes[0]) is fig
    assert histogram(np.arange(10.0), tmp_path / "h.png", xlabel="v", title="hist", ax=axes[1]) is fig
    assert [ax.get_title() for ax in fig.axes] == ["bars", "hist"]
    assert [p.name for p in tmp_path.iterdir()] == ["h.png"]


def test_multi_panel_plots_take_a_figure():
    from annrl.viz.style import new_figure
    from annrl.viz.surfaces import heat_maps

    fig = new_figure(size=(8, 3))
    x = np.linspace(0, 1, 5)
    panels = [(x, x, np.ones((5, 5)), "one"), (x, x, np.zeros((5, 5)) + 2, "two")]
    assert heat_maps(panels, label="v", fig=fig) is fig
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["one", "two"]


def test_a_network_shows_its_size_and_layers_as_html():
    net = MLP([2, 3, 1], population=5, seed=0)
    page = net._repr_html_()
    assert "<table>" in page and "<b>MLP</b>" in page
    assert "<td style='text-align:left'>5</td>" in page  # P
    assert "<td style='text-align:left'>13</td>" in page  # D = 2*3 + 3 + 3*1 + 1


def test_a_history_shows_how_many_networks_reached_and_diverged():
    history = fit(MLP([2, 2, 1], population=4, seed=0), X, Y, loss="mse", optimizer=SGD(lr=0.5, momentum=0.9),
                  epochs=2000, until=1e-3)
    page = history._repr_html_()
    reached = int(history.reached.sum())
    assert f"reached the tolerance</th><td style='text-align:left'>{reached}</td>" in page
    assert "epochs run</th>" in page and "final loss min / median / max" in page


def test_a_lab_result_shows_its_headline_metrics_escaped():
    from annrl.labs.xor.lab import XorConfig, train

    result = train(XorConfig(seeds=20, epochs=200, extend=0))
    page = result._repr_html_()
    assert "<b>XorResult</b>" in page
    assert f"{result.metrics['success_rate']:.4g}" in page
    from annrl.htmlrepr import table

    assert "&lt;script&gt;" in table("t", [("<script>", 1)])


@pytest.mark.parametrize("module", ["annrl.labs.logic.lab:LogicResult", "annrl.labs.approx.lab:ApproxResult",
                                    "annrl.labs.memory.lab:MemoryResult", "annrl.labs.dynamics.lab:DynamicsResult",
                                    "annrl.labs.adapt.lab:Result", "annrl.agents.run:Result"])
def test_every_lab_result_has_an_html_summary(module):
    from importlib import import_module

    path, name = module.split(":")
    assert callable(getattr(getattr(import_module(path), name), "_repr_html_", None))


def test_a_study_shows_its_question_and_headline():
    from annrl.labs.approx.studies import StudyResult

    study = StudyResult("capacity", "How small can it be?", ["hidden"], [{"hidden": "4"}, {"hidden": "8"}],
                        {"smallest_meeting_tol": "4", "tol": 0.05})
    page = study._repr_html_()
    assert "<b>capacity study</b>" in page and "How small can it be?" in page
    assert "smallest_meeting_tol</th><td style='text-align:left'>4</td>" in page and "2 rows" in page
