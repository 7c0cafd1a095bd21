"""The sweep file is checked on entry: every bad key or value gets one error naming it."""

import pytest

from annrl.errors import InputError
from annrl.sweep import load_sweep, parse_sweep, plan
from annrl.sweep.config import settings


@pytest.mark.parametrize(("data", "names"), [
    ({"command": "xor", "gird": {"lr": [0.1]}}, "unknown key 'gird'"),
    ({"grid": {"lr": [0.1]}}, "needs a 'command'"),
    ({"command": "xor", "grid": {"lr": 0.1}}, "grid.lr must be a non-empty list"),
    ({"command": "xor", "grid": {"lr": []}}, "grid.lr must be a non-empty list"),
    ({"command": "xor", "grid": {"lr": [[0.1]]}}, r"grid.lr\[0\] must be a number"),
    ({"command": "xor", "seeds": 0}, "seeds must be an integer >= 1"),
    ({"command": "xor", "seeds": "ten"}, "seeds must be an integer >= 1, got str"),
    ({"command": "xor", "retries": True}, "retries must be an integer"),
    ({"command": "xor", "fold_seeds": "yes"}, "fold_seeds must be true or false"),
    ({"command": "xor", "mode": "best"}, "mode must be max or min"),
    ({"command": 3}, "command must be a non-empty string"),
    ({"command": "xor", "random": {"lr": {"normal": [0, 1]}}, "samples": 2}, "random.lr must be one of"),
    ({"command": "xor", "random": {"lr": {"log_uniform": [0, 1]}}, "samples": 2}, "0 < low < high"),
    ({"command": "xor", "random": {"lr": {"uniform": [0.1, 1]}}}, "samples must be >= 1"),
    ({"command": "xor", "grid": {"lr": [0.1]}, "options": {"lr": 0.2}}, "option 'lr' is given twice"),
    (["xor"], "must be a mapping"),
    ({"command": "xor", "tune": [1]}, "tune must be a mapping"),
    ({"command": "xor", "tune": {"sheduler": "asha"}}, "unknown key tune.sheduler"),
    ({"command": "xor", "tune": {"scheduler": "hyperband"}}, "tune.scheduler must be none or asha"),
    ({"command": "xor", "tune": {"scheduler": "asha", "max_t": 100}}, "asha needs tune.metric"),
    ({"command": "xor", "tune": {"scheduler": "asha", "metric": "loss"}}, "asha needs tune.max_t"),
    ({"command": "xor", "tune": {"scheduler": "asha", "metric": "loss", "max_t": 100, "grace_period": 100}},
     r"tune.grace_period \(100\) must be below tune.max_t"),
    ({"command": "xor", "tune": {"mode": "lowest"}}, "tune.mode must be max or min"),
    ({"command": "xor", "tune": {"reduction_factor": 1}}, "tune.reduction_factor must be an integer >= 2"),
    ({"command": "xor", "chunk": 4, "tune": {"scheduler": "asha", "metric": "loss", "max_t": 100}},
     "chunk must be 1 or left out with tune.scheduler asha"),
])
def test_bad_sweep_files_are_refused_naming_the_key(data, names):
    with pytest.raises(InputError, match=names):
        parse_sweep(data)


@pytest.mark.parametrize(("data", "names"), [
    ({"command": "xro"}, "has no command 'xro'"),
    ({"command": "rl trian"}, "rl has no command 'trian'"),
    ({"command": "xor", "grid": {"learning_rate": [0.1]}}, "grid.learning_rate: xor has no option --learning-rate"),
    ({"command": "xor", "options": {"epoch": 10}}, r"did you mean --epochs"),
    ({"command": "xor", "options": {"out": "x"}}, "sets --out itself"),
    ({"command": "xor", "grid": {"seed": [1, 2]}}, "set by 'seeds'"),
    ({"command": "sweep"}, "must not be sweep"),
])
def test_options_are_checked_against_the_commands_own_parser(data, names):
    with pytest.raises(InputError, match=names):
        plan(parse_sweep(data))


def test_yaml_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("command: xor\ngrid: {lr: [0.1, 0.2\n")
    with pytest.raises(InputError, match="bad.yaml is not valid YAML"):
        load_sweep(path)
    with pytest.raises(InputError, match="cannot read the sweep file"):
        load_sweep(tmp_path / "missing.yaml")


def test_grid_and_seeds_expand_into_runs():
    config = parse_sweep({"command": "xor", "grid": {"lr": [0.1, 0.5], "loss": ["mse", "bce"]}, "seeds": 3,
                          "options": {"epochs": 50}})
    runs = plan(config)  # xor trains a population: the 3 seeds are one run with --seeds 3
    assert [r.params for r in runs] == [{"lr": 0.1, "loss": "mse"}, {"lr": 0.1, "loss": "bce"},
                                        {"lr": 0.5, "loss": "mse"}, {"lr": 0.5, "loss": "bce"}]
    assert runs[1].argv == ["xor", "--epochs", "50", "--lr", "0.1", "--loss", "bce", "--seeds", "3", "--json",
                            "--no-figures"]
    unfolded = plan(parse_sweep({**config.to_dict(), "fold_seeds": False, "random": {}, "samples": 0}))
    assert len(unfolded) == 12
    assert unfolded[2].argv[-6:] == ["--seed", "2", "--seeds", "1", "--json", "--no-figures"]


def test_random_search_draws_inside_the_ranges_from_its_seed():
    config = parse_sweep({"command": "xor", "grid": {"hidden": [2, 3]}, "samples": 50, "sample_seed": 4,
                          "random": {"lr": {"log_uniform": [0.001, 1.0]}, "epochs": {"int_uniform": [10, 20]},
                                     "loss": {"choice": ["mse", "bce"]}}})
    points = settings(config)
    assert len(points) == 100 and {p["hidden"] for p in points} == {2, 3}
    lrs = [p["lr"] for p in points]
    assert 0.001 <= min(lrs) < 0.01 and 0.1 < max(lrs) <= 1.0  # log-uniform covers the decades
    assert {p["epochs"] for p in points} <= set(range(10, 21)) and {p["loss"] for p in points} == {"mse", "bce"}
    assert settings(config) == points  # the same seed, the same draws
