"""A small default budget of the fuzz harness (benchmarks/fuzz.py runs the long one, issue #24).

Hypothesis draws option values, track files, sweep files and checkpoint bytes; each case runs in
a fresh process under a 4 GiB address-space cap, and must end with at most one error line: no
traceback, no death by memory, no hang (30 s).
"""

import importlib.util
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_SPEC = importlib.util.spec_from_file_location("fuzz", Path(__file__).parents[1] / "benchmarks" / "fuzz.py")
fuzz = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(fuzz)

# each case is a fresh `python -m annrl.cli` (a second or two): a few of each kind by default
FAST = settings(max_examples=3, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FEWER = settings(FAST, max_examples=2)


def passes(argv, folder):
    outcome, rc, stderr = fuzz.run_case(argv, folder, timeout=30)
    assert outcome == "ok", (argv, rc, stderr)
    assert sum(line.startswith("annrl: error") for line in stderr.splitlines()) <= 1, stderr


@pytest.fixture(scope="module")
def tables():
    return {name: fuzz.option_table([w for w in fuzz.BASES[name] if not w.startswith("-")][:2]) for name in COMMANDS}


COMMANDS = ["xor", "rl-ppo", "rl-dqn", "rl-ga"]


@FAST
@given(command=st.sampled_from(COMMANDS), data=st.data())
def test_hostile_option_values_end_in_one_line(command, data, tables):
    flag, takes = data.draw(st.sampled_from([t for t in tables[command] if t[1]]))
    value = data.draw(st.sampled_from(["1", "2"] if flag in fuzz.BUDGET else fuzz.HOSTILE))
    with tempfile.TemporaryDirectory() as tmp:
        passes([*fuzz.BASES[command], flag, value, "--out", str(Path(tmp) / "out")], Path(tmp))


@FEWER
@given(seed=st.integers(0, 2**32 - 1))
def test_hostile_track_files_end_in_one_line(seed):
    with tempfile.TemporaryDirectory() as tmp:
        passes(fuzz.track_case(random.Random(seed), Path(tmp)), Path(tmp))


@FAST
@given(seed=st.integers(0, 2**32 - 1))
def test_hostile_sweep_files_end_in_one_line(seed):
    with tempfile.TemporaryDirectory() as tmp:
        passes(fuzz.sweep_case(random.Random(seed), Path(tmp)), Path(tmp))


@FAST
@given(seed=st.integers(0, 2**32 - 1))
def test_damaged_checkpoints_on_resume_end_in_one_line(seed):
    import numpy as np

    from annrl.io import checkpoint_bytes

    good = checkpoint_bytes({"w": np.zeros((2, 3))}, {"config": {}}, step=50)
    with tempfile.TemporaryDirectory() as tmp:
        passes(fuzz.checkpoint_case(random.Random(seed), Path(tmp), good), Path(tmp))
