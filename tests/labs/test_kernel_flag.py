"""``--kernel auto|numpy|compiled`` on the labs that train populations (xor, logic, approx)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from annrl.cli import main
from annrl.nn import compiled

XOR = ["xor", "--seeds", "60", "--epochs", "300", "--extend", "1", "--no-figures", "--json"]
LOGIC = ["logic", "and", "--seeds", "30", "--epochs", "300", "--hidden", "2", "--learn", "--json"]
APPROX = ["approx", "--epochs", "100", "--seeds", "2", "--json"]
needs_numba = pytest.mark.skipif(not compiled.available(), reason='needs pip install "annrl[fast]"')


def metrics(command: list[str], out, capsys) -> dict:
    assert main([*command, "--out", str(out)]) == 0
    capsys.readouterr()
    return json.loads((out / "metrics.json").read_text())


def without_kernel(m: dict) -> dict:
    """The metrics but the kernel's record, the kernel setting and the wall clock."""
    return {k: v for k, v in m.items() if k not in ("kernel", "timing")} | {
        "config": {k: v for k, v in m["config"].items() if k != "kernel"}}


@pytest.mark.parametrize("command", [XOR, LOGIC, APPROX], ids=["xor", "logic", "approx"])
def test_auto_on_a_small_run_is_the_numpy_run_and_says_why(command, tmp_path, capsys):
    auto = metrics(command, tmp_path / "auto", capsys)
    numpy = metrics([*command, "--kernel", "numpy"], tmp_path / "numpy", capsys)
    assert auto["config"]["kernel"] == "auto" and numpy["config"]["kernel"] == "numpy"
    assert without_kernel(auto) == without_kernel(numpy)  # every number, bit for bit
    phases = auto["kernel"]["phases"]
    assert phases and all(p["ran"] == "numpy" for p in phases.values())
    assert all(p["why_not_compiled"].startswith("small work: P x N x D x epochs = ") for p in phases.values())
    assert all(p == {"ran": "numpy", "why_not_compiled": "asked for"} for p in numpy["kernel"]["phases"].values())


def test_the_summary_table_names_the_kernel_and_why(tmp_path, capsys):
    assert main([*XOR[:-1], "--out", str(tmp_path)]) == 0  # the table, not --json
    table = capsys.readouterr().out
    assert "kernel" in table and "numpy (auto: small work" in table


@pytest.mark.parametrize("command", [XOR, LOGIC], ids=["xor", "logic"])
def test_compiled_without_numba_is_one_line_naming_the_extra(command, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now fails, as when it is not installed
    assert main([*command, "--kernel", "compiled", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1] == 'annrl: error: kernel="compiled" needs Numba, which is not installed: pip install "annrl[fast]"'


def test_an_unknown_kernel_is_an_argparse_error_naming_the_flag(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*XOR, "--kernel", "numba", "--out", str(tmp_path)])
    assert stop.value.code == 2
    assert "--kernel: invalid choice: 'numba'" in capsys.readouterr().err


@needs_numba  # (without it, the refusal names the missing extra first)
def test_approx_says_in_one_line_that_its_held_out_checks_keep_it_on_numpy(tmp_path, capsys):
    assert main([*APPROX, "--kernel", "compiled", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == ('annrl: error: kernel="compiled" cannot train this: HeldOutTrainer changes the training loop; '
                     'use kernel="numpy"')


@needs_numba
@pytest.mark.parametrize("command", [XOR, LOGIC], ids=["xor", "logic"])
def test_compiled_lab_runs_agree_with_numpy(command, tmp_path, capsys):
    """Same seeds solved at the same epochs, same failure kinds; losses within rounding (1e-10)."""
    numpy = metrics([*command, "--kernel", "numpy"], tmp_path / "numpy", capsys)
    fast = metrics([*command, "--kernel", "compiled"], tmp_path / "compiled", capsys)
    assert all(p == {"ran": "compiled", "why_not_compiled": None} for p in fast["kernel"]["phases"].values())
    a, b = without_kernel(numpy), without_kernel(fast)
    losses = [m.pop("final_loss_quantiles", {}) for m in (a, b)]  # (xor) floats: equal within rounding
    np.testing.assert_allclose(list(losses[1].values()), list(losses[0].values()), rtol=1e-10)
    assert a == b
