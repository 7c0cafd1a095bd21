"""The validation layer: one table per config, one-line messages, a memory budget, run_cli."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from annrl.errors import AnnrlError, CheckpointError, InputError, MemoryBudgetError, run_cli
from annrl.validate import (
    Boolean,
    InstanceOf,
    Interval,
    ListOf,
    Options,
    array_nbytes,
    available_memory,
    check,
    check_cli,
    check_finite,
    check_memory,
    check_shape,
    check_value,
    format_bytes,
    memory_fraction,
)

TABLE = {
    "lr": [Interval(float, 0, None, closed="neither")],
    "momentum": [Interval(float, 0, 1, closed="left")],
    "hidden": [Interval(int, 1, None, closed="left")],
    "layers": [ListOf(Interval(int, 1, None, closed="left"), min_length=1)],
    "loss": [Options({"mse", "bce"})],
    "seed": [Interval(int, 0, None, closed="left"), None],
    "verbose": [Boolean()],
    "name": [InstanceOf(str, "a string")],
    "batch_size": [Interval(int, 1, None, closed="left")],
}


def message(table, values, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        check(table, values, **kwargs)
    text = str(caught.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"lr": -0.1}, "lr must be > 0, got -0.1"),
        ({"lr": 0}, "lr must be > 0, got 0"),
        ({"lr": float("nan")}, "lr must be > 0, got nan"),
        ({"lr": float("inf")}, "lr must be > 0, got inf"),
        ({"lr": "0.1"}, "lr must be > 0, got '0.1'"),
        ({"lr": True}, "lr must be > 0, got True"),
        ({"momentum": 1.0}, "momentum must be a number in [0, 1), got 1.0"),
        ({"hidden": 0}, "hidden must be an integer >= 1, got 0"),
        ({"hidden": 2.0}, "hidden must be an integer >= 1, got 2.0"),
        ({"layers": []}, "layers must be a list of 1 or more items, each an integer >= 1, got []"),
        ({"layers": [4, 0]}, "layers must be a list of 1 or more items, each an integer >= 1, got [4, 0]"),
        ({"loss": "mae"}, "loss must be one of 'bce', 'mse', got 'mae' (did you mean 'mse'?)"),
        ({"loss": ["mse"]}, "loss must be one of 'bce', 'mse', got ['mse']"),
        ({"seed": -1}, "seed must be an integer >= 0 or None, got -1"),
        ({"verbose": 1}, "verbose must be a boolean, got 1"),
        ({"name": 3}, "name must be a string, got 3"),
        ({"lrr": 0.1}, "unknown field 'lrr'; known fields: batch_size, hidden, layers, loss, lr, momentum, "
                       "name, seed, verbose (did you mean 'lr'?)"),
    ],
)
def test_each_rule_names_field_rule_and_value(values, expected):
    assert message(TABLE, values) == expected


def test_good_values_pass_and_come_back_unchanged():
    values = {"lr": 1e-3, "momentum": np.float32(0.9), "hidden": np.int64(8), "layers": (4, 4), "loss": "bce",
              "seed": None, "verbose": np.bool_(True), "name": "run", "batch_size": 10**30}
    assert check(TABLE, values) is values


def test_prefix_names_nested_fields_and_cli_names_options():
    assert message(TABLE, {"lr": -1}, prefix="agent.") == "agent.lr must be > 0, got -1"
    args = argparse.Namespace(lr=-0.1, command="xor", handler=print)
    with pytest.raises(InputError, match=r"^--lr must be > 0, got -0.1$"):
        check_cli(TABLE, args)
    with pytest.raises(InputError, match=r"^--batch-size must be an integer >= 1, got 0$"):
        check_cli(TABLE, argparse.Namespace(batch_size=0))
    assert check_cli(TABLE, argparse.Namespace(lr=0.5, handler=print)).lr == 0.5


def test_check_value_for_api_arguments():
    assert check_value("population", 10, [Interval(int, 1, 10**6, closed="both")]) == 10
    with pytest.raises(InputError, match=r"population must be an integer in \[1, 1000000\], got 0"):
        check_value("population", 0, [Interval(int, 1, 10**6, closed="both")])
    assert check_value("tol", float("inf"), [Interval(float, 0, None, closed="left", allow_inf=True)])


def test_check_finite_reports_count_and_first_position():
    x = np.zeros((3, 4))
    x[1, 2], x[2, 0] = np.nan, np.inf
    expected = r"^X must be finite, got 2 non-finite values \(first: nan at index \(1, 2\)\)$"
    with pytest.raises(InputError, match=expected):
        check_finite("X", x)
    assert check_finite("labels", np.arange(3)).dtype == np.int64
    with pytest.raises(InputError, match="got 1 non-finite value"):
        check_finite("lr", np.float64("nan"))


def test_check_shape_with_wildcards():
    X = np.zeros((5, 2))
    assert check_shape("X", X, (None, 2)) is X
    with pytest.raises(InputError, match=r"^X must have shape \(\*, 3\), got \(5, 2\)$"):
        check_shape("X", X, (None, 3))
    with pytest.raises(InputError, match=r"^y must have shape \(5,\), got \(5, 2\)$"):
        check_shape("y", X, (5,))


def test_memory_budget_refuses_up_front_with_estimate_and_limit():
    nbytes = array_nbytes((10_000, 1_000_000), np.float64)  # 10,000 nets x 1M parameters
    assert nbytes == 80_000_000_000
    with pytest.raises(MemoryBudgetError) as caught:
        check_memory(nbytes, "a population of 10000 networks x 1000000 parameters", available=16 * 2**30)
    err = caught.value
    assert str(err) == ("a population of 10000 networks x 1000000 parameters needs about 74.5 GiB, "
                        "over the memory limit of 12.0 GiB (75% of 16.0 GiB available); use a smaller size "
                        "or raise ANNRL_MEMORY_FRACTION")
    assert isinstance(err, InputError) and err.needed == nbytes and err.limit == 12 * 2**30
    check_memory(2**30, "a small grid", available=16 * 2**30)  # fits: no error


def test_memory_fraction_from_argument_environment_or_default(monkeypatch):
    monkeypatch.delenv("ANNRL_MEMORY_FRACTION", raising=False)
    assert memory_fraction() == 0.75
    monkeypatch.setenv("ANNRL_MEMORY_FRACTION", "0.5")
    assert memory_fraction() == 0.5
    with pytest.raises(MemoryBudgetError, match=r"over the memory limit of 500 B \(50% of 1000 B"):
        check_memory(600, "x", available=1000)
    check_memory(600, "x", available=1000, fraction=0.9)
    monkeypatch.setenv("ANNRL_MEMORY_FRACTION", "lots")
    with pytest.raises(InputError, match=r"^ANNRL_MEMORY_FRACTION must be a number in \(0, 1\], got 'lots'$"):
        memory_fraction()
    with pytest.raises(InputError, match=r"memory fraction must be a number in \(0, 1\], got 1.5"):
        memory_fraction(1.5)


def test_available_memory_is_a_plausible_number():
    free = available_memory()
    assert free is None or 2**20 < free < 2**50
    assert format_bytes(1536) == "1.5 KiB" and format_bytes(12) == "12 B"


# run_cli -------------------------------------------------------------------------------------
def fails_with(err):
    def handler(args):
        raise err

    return handler


@pytest.mark.parametrize(
    "err",
    [InputError.invalid("--lr", "> 0", -0.1), CheckpointError("out/c.safetensors", "truncated"),
     InputError("bad value\nsecond line"), MemoryBudgetError("too big", needed=2, limit=1)],
)
def test_run_cli_prints_one_line_and_exits_2(capsys, err):
    assert run_cli(fails_with(err), None) == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and stderr.startswith("annrl: error: ")
    assert "Traceback" not in stderr


def test_run_cli_messages_and_debug_traceback(capsys):
    assert run_cli(fails_with(InputError.invalid("--lr", "> 0", -0.1)), None) == 2
    assert capsys.readouterr().err == "annrl: error: --lr must be > 0, got -0.1\n"
    assert run_cli(fails_with(CheckpointError("c.safetensors", "truncated")), None, debug=True) == 2
    stderr = capsys.readouterr().err
    assert "Traceback" in stderr and stderr.endswith("annrl: error: c.safetensors: truncated\n")


def test_run_cli_passes_codes_through_and_lets_bugs_propagate(capsys):
    assert run_cli(lambda args: None, None) == 0
    assert run_cli(lambda args: 3, None) == 3
    assert run_cli(fails_with(KeyboardInterrupt()), None) == 130
    assert capsys.readouterr().err == "annrl: interrupted\n"
    with pytest.raises(ZeroDivisionError):
        run_cli(lambda args: 1 / 0, None)
    assert capsys.readouterr().err == ("annrl: this is a bug in annrl, not in your input: please report it with "
                                       "the traceback below\n")


def test_a_plain_value_error_is_a_bug_not_bad_input(capsys):
    # bad input is raised as InputError; a ValueError from anywhere else is a bug and keeps its traceback
    with pytest.raises(ValueError, match="operands could not be broadcast"):
        run_cli(fails_with(ValueError("operands could not be broadcast together")), None)
    assert "this is a bug in annrl" in capsys.readouterr().err


def test_error_hierarchy():
    assert issubclass(InputError, ValueError) and issubclass(InputError, AnnrlError)
    assert issubclass(MemoryBudgetError, InputError) and issubclass(CheckpointError, AnnrlError)
    assert not issubclass(CheckpointError, ValueError)
    err = CheckpointError("a.safetensors", "line one\nline two")
    assert str(err) == "a.safetensors: line one\\nline two" and err.path == "a.safetensors"
    assert InputError.invalid("x", "short", "y" * 200).args[0].endswith("...")


def test_a_failed_write_advises_resume_only_to_a_command_that_can_resume(capsys):
    full = fails_with(OSError(28, "No space left on device", "out/metrics.json"))
    assert run_cli(full, argparse.Namespace(resume=False)) == 74
    assert capsys.readouterr().err.strip().endswith("free space or fix the folder, then continue with --resume")
    assert run_cli(full, argparse.Namespace(out="out")) == 74  # annrl report, car drive: nothing to resume
    assert capsys.readouterr().err.strip() == ("annrl: error: cannot write out/metrics.json: No space left on device; "
                                               "free space or fix the folder, then run the command again")
