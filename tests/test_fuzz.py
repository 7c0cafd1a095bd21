"""A small default budget of the fuzz harness (benchmarks/fuzz.py runs the long one, issue #24).

Hypothesis draws option values, track files, sweep files, checkpoint bytes, run folders for ``annrl
report`` and playground requests; each case runs in a fresh process under a 4 GiB address-space cap,
and must end with at most one error line: no traceback, no death by memory, no hang (30 s).
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


def passes(argv, folder, timeout=30):
    outcome, rc, stderr = fuzz.run_case(argv, folder, timeout=timeout)
    assert outcome == "ok", (argv, rc, stderr)
    assert sum(line.startswith("annrl: error") for line in stderr.splitlines()) <= 1, stderr


@pytest.fixture(scope="module")
def tables():
    return {name: fuzz.option_table([w for w in fuzz.BASES[name] if not w.startswith("-")][:2]) for name in fuzz.BASES}


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    """The XOR network, GA agent and run folder that extract, rl eval and report read."""
    return fuzz.make_fixtures(tmp_path_factory.mktemp("fixtures"))


COMMANDS = ["xor", "rl-ppo", "rl-dqn", "rl-ga", "car-drive", "car-benchmark", "rl-eval", "adapt-lms",
            "extract-logic", "extract-exact", "zoo", "report"]


@settings(FAST, max_examples=len(COMMANDS))
@given(command=st.sampled_from(COMMANDS), data=st.data())
def test_hostile_option_values_end_in_one_line(command, data, tables, fixtures):
    flag, takes = data.draw(st.sampled_from([t for t in tables[command] if t[1]]))
    value = data.draw(st.sampled_from(["1", "2"] if flag in fuzz.BUDGET else fuzz.HOSTILE))
    argv = [word.format(**fixtures) for word in fuzz.BASES[command]]
    with tempfile.TemporaryDirectory() as tmp:
        out = [] if command in fuzz.NO_OUT else ["--out", str(Path(tmp) / "out")]
        passes([*argv, flag, value, *out], Path(tmp))


@FEWER
@given(seed=st.integers(0, 2**32 - 1))
def test_hostile_positionals_and_out_folders_end_in_one_line(seed, tables, fixtures):
    """A damaged network or agent file, a hostile architecture name, an --out that is a file ..."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        argv, limit = fuzz.make_case("options", rng, Path(tmp), tables, fixtures, b"", 30)
        passes(argv, Path(tmp), limit)


@FAST
@given(seed=st.integers(0, 2**32 - 1))
def test_hostile_run_folders_for_report_end_in_one_line(seed):
    with tempfile.TemporaryDirectory() as tmp:
        passes(fuzz.report_case(random.Random(seed), Path(tmp)), Path(tmp))


@FAST
@given(seed=st.integers(0, 2**32 - 1))
def test_hostile_playground_requests_get_answers_not_failures(seed):
    with tempfile.TemporaryDirectory() as tmp:
        passes(fuzz.playground_case(random.Random(seed), Path(tmp)), Path(tmp))


def test_a_playground_failure_counts_as_a_traceback(tmp_path, monkeypatch):
    """The harness must see a server that fails: a 500 on an endpoint is counted, not passed."""
    import annrl.playground.server as server

    async def broken(request):
        raise RuntimeError("boom")

    monkeypatch.setattr(server, "api_limits", broken)
    (tmp_path / "r.json").write_text('[{"method": "GET", "path": "/api/limits", "body": ""}]')
    monkeypatch.chdir(tmp_path)
    assert fuzz.play_requests(tmp_path / "r.json") == 1


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
