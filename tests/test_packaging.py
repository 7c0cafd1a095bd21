"""The package as a user installs it: ``python -m annrl``, type hints seen by mypy, the licence shipped."""

import subprocess
import sys
from pathlib import Path

import annrl

PACKAGE = Path(annrl.__file__).parent
USER_SCRIPT = """\
import numpy as np
from annrl.nn import MLP, fit

net = MLP([2, 2, 1])
X = np.zeros((4, 2))
fit(net, X, X[:, :1], epochs="ten")
"""


def test_python_dash_m_annrl_is_the_annrl_command():
    done = subprocess.run([sys.executable, "-m", "annrl", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == f"annrl {annrl.__version__}"


def test_mypy_sees_annrl_types_and_reports_a_wrong_argument(tmp_path):
    # py.typed marks the package as typed (PEP 561): without it mypy treats every annrl name as Any
    assert (PACKAGE / "py.typed").is_file()
    script = tmp_path / "user.py"
    script.write_text(USER_SCRIPT)
    done = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--cache-dir",
                           str(tmp_path / "cache"), str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'Argument "epochs" to "fit" has incompatible type "str"; expected "int"' in done.stdout


def test_the_mit_licence_is_in_the_repository():
    text = (Path(__file__).parents[1] / "LICENSE").read_text()
    assert text.startswith("MIT License")


def _without(module: str, *argv: str) -> subprocess.CompletedProcess:
    """``annrl ARGV`` in a Python where ``module`` cannot be imported (as if its extra were not installed)."""
    code = f"import sys; sys.modules[{module!r}] = None; from annrl.cli import main; sys.exit(main({list(argv)!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_a_command_whose_extra_is_missing_names_it_in_one_line(tmp_path):
    done = _without("gymnasium", "car", "tracks")
    assert done.returncode == 2
    assert done.stderr == ('annrl: error: this command needs gymnasium, which is not installed: '
                           'pip install "annrl[rl]"\n')
    done = _without("shtab", "completion", "bash")
    assert done.returncode == 2
    assert done.stderr.splitlines() == ['annrl: error: this command needs shtab, which is not installed: '
                                        'pip install "annrl[completion]"']


def test_the_base_install_is_the_engine_labs_and_symbols():
    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    base = {d.split(">")[0].split("[")[0] for d in project["dependencies"]}
    assert base == {"numpy", "scipy", "sympy", "matplotlib", "rich", "pyyaml", "array-api-compat", "pillow"}
    extras = project["optional-dependencies"]
    assert extras["rl"] == ["gymnasium>=1.0"] and "tensorboardX>=2.6" in extras["tensorboard"]
    from annrl.extras import EXTRA_OF

    assert set(EXTRA_OF.values()) - {"fast"} <= set(extras)  # every extra a message names exists
