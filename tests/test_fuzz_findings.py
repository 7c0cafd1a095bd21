"""What ``benchmarks/fuzz.py --cases 5000 --seed 1`` found (issue #24), each a named regression test.

Each case ended in a traceback where one line is promised; the fuzz case that found it is quoted.
"""

from __future__ import annotations

import pytest

from annrl.cli import main


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    """A GA agent's run folder, as ``annrl rl train`` writes it (a second or two)."""
    out = tmp_path_factory.mktemp("ga")
    code = main(["rl", "train", "--algo", "ga", "--steps", "200", "--population", "4", "--eval-episodes", "1",
                 "--final-eval-episodes", "1", "--no-figures", "--no-progress", "--json", "--out", str(out)])
    assert code == 0
    return out


def test_rl_eval_with_a_negative_seed_is_one_line(agent, capsys):
    # case 203: rl eval RUN --episodes 1 --seed -1 -> numpy's "expected non-negative integer" traceback
    capsys.readouterr()
    assert main(["rl", "eval", str(agent), "--episodes", "1", "--seed", "-1"]) == 2
    assert capsys.readouterr().err.strip() == "annrl: error: --seed must be >= 0, got -1"
