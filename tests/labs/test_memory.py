"""The memory lab: Hopfield storage rules, recall and its capacity, spurious states, working memory."""

import argparse
import json

import numpy as np
import pytest

from annrl.errors import InputError
from annrl.labs.memory import cli as memory_cli
from annrl.labs.memory.lab import (
    MemoryConfig,
    WorkingMemoryConfig,
    capacity_curve,
    capacity_estimate,
    train,
    train_working_memory,
)
from annrl.nn.hopfield import (
    Hopfield,
    corrupt,
    distinct_letters,
    energy,
    hebbian_weights,
    letter_patterns,
    load_letters,
    pseudoinverse_weights,
    recall,
)


def test_the_shipped_letters_are_26_distinct_7x9_bitmaps():
    letters = load_letters()
    assert sorted(letters) == [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    assert all(b.shape == (9, 7) for b in letters.values())
    assert len({b.tobytes() for b in letters.values()}) == 26
    assert letters["T"][0].all() and letters["T"][1:, 3].all() and letters["T"][1:].sum() == 8
    assert letter_patterns("HT").shape == (2, 63) and set(np.unique(letter_patterns("HT"))) == {-1.0, 1.0}


def test_storage_rules_give_the_textbook_weights():
    rng = np.random.default_rng(0)
    xi = rng.choice([-1.0, 1.0], size=(3, 20))
    W = hebbian_weights(xi)
    expected = sum(np.outer(x, x) for x in xi) / 20
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(W, expected)
    P = pseudoinverse_weights(xi)
    projection = xi.T @ np.linalg.inv(xi @ xi.T) @ xi  # onto the span of the 3 patterns: it maps each to itself
    np.testing.assert_allclose(projection @ xi.T, xi.T, atol=1e-12)
    np.testing.assert_allclose(P, projection - np.diag(np.diag(projection)), atol=1e-12)
    assert np.all(np.diag(P) == 0) and np.allclose(P, P.T)


def test_updates_never_raise_the_energy_and_end_in_fixed_points():
    rng = np.random.default_rng(1)
    net = Hopfield("hebbian").store(rng.choice([-1.0, 1.0], size=(8, 50)))
    starts = rng.choice([-1.0, 1.0], size=(40, 50))
    final, sweeps = net.recall(starts, rng)
    assert np.all(energy(net.weights_, final) <= energy(net.weights_, starts) + 1e-12)
    assert np.all(sweeps <= 100)
    again, _ = net.recall(final, rng, max_sweeps=1)
    np.testing.assert_array_equal(again, final)  # fixed points: one more sweep changes nothing


def test_corrupt_flips_exactly_ten_percent_of_the_bits():
    xi = letter_patterns("ABC")
    cues = corrupt(xi, 0.1, np.random.default_rng(2))
    assert np.sum(cues != xi, axis=1).tolist() == [6, 6, 6]  # round(0.1 x 63)


def test_recall_from_10_percent_noise_succeeds_below_capacity_and_degrades_above():
    rng = np.random.default_rng(3)
    rows = capacity_curve("hebbian", neurons=100, loads=[5, 10, 20, 30], trials=4, rng=rng)
    rate = {r["patterns"]: r["recall_rate"] for r in rows}
    assert rate[5] == 1.0 and rate[10] >= 0.9  # below 0.138 N = 13.8
    assert rate[20] < 0.6 and rate[30] < 0.1  # above it (measured: ~0.35 at 20, ~0.003 at 30)
    assert rows[-1]["spurious_rate"] > 0.8
    estimate = capacity_estimate(rows)
    assert 10 < estimate < 25
    # the pseudo-inverse rule still recalls 30 random patterns, and keeps every one a fixed point
    pinv = capacity_curve("pseudoinverse", neurons=100, loads=[30], trials=4, rng=rng)[0]
    assert pinv["recall_rate"] >= 0.95 and pinv["stable_rate"] == 1.0


def test_letters_beyond_the_hebbian_limit_need_the_pseudo_inverse_rule():
    letters = distinct_letters(8)
    assert letters == "XAILVJSW"  # greedy: least overlapping first
    rng = np.random.default_rng(4)
    rates = {}
    for rule in ("hebbian", "pseudoinverse"):
        net = Hopfield(rule).store(letter_patterns(letters))
        targets = np.repeat(net.patterns_, 5, axis=0)
        final, _ = net.recall(corrupt(targets, 0.1, rng), rng)
        rates[rule] = np.mean(np.all(final == targets, axis=1))
    assert rates["hebbian"] == 0.0 and rates["pseudoinverse"] == 1.0


def test_few_letters_are_recalled_and_spurious_states_are_counted():
    result = train(MemoryConfig(patterns="5", cues=10, spurious_starts=200, letters_curve=False))
    assert result.letters == "XAILV"
    assert result.metrics["recall_rate"] >= 0.8  # measured: 84% here, 93% with 20 cues per letter
    s = result.metrics["spurious"]
    assert s["stored"] + s["reversed"] + s["spurious"] == pytest.approx(1.0)
    assert s["spurious"] > 0.3 and 0 < s["mixtures"] <= s["distinct_spurious"]
    two = train(MemoryConfig(patterns="HT", cues=5, spurious_starts=100, letters_curve=False)).metrics
    assert two["recall_rate"] == 1.0 and two["spurious"]["spurious"] == 0.0  # two patterns: no spurious states


def test_classify_names_patterns_their_negatives_and_the_rest():
    net = Hopfield("pseudoinverse").store(letter_patterns("HTL"))
    states = np.stack([net.patterns_[1], -net.patterns_[2], np.ones(63)])
    assert net.classify(states).tolist() == [1, -3, 3]


def test_recall_runs_many_networks_at_once():
    rng = np.random.default_rng(5)
    xi = rng.choice([-1.0, 1.0], size=(3, 4, 30))
    W = hebbian_weights(xi)
    final, _ = recall(W, xi, rng, max_sweeps=1)
    for t in range(3):  # the batched run equals each network's own
        np.testing.assert_array_equal(final[t], recall(W[t], xi[t], np.random.default_rng(0), max_sweeps=1)[0])


@pytest.mark.parametrize("cell", ["elman", "gru"])
def test_a_recurrent_network_learns_to_hold_a_bit(cell):
    config = WorkingMemoryConfig(cells=(cell,), delays=(8,), hidden=4, seeds=3, steps=150, batch=32, lr=0.02,
                                 test_trials=300)
    net, row, _ = train_working_memory(cell, 8, config, np.random.default_rng(0))
    assert 0.4 < row["untrained_accuracy"] < 0.6  # nothing stored by hand
    assert min(row["accuracy_per_seed"]) >= 0.99  # learned by BPTT (measured: 99.7% to 100%)
    assert net.population == 3


@pytest.mark.slow
def test_over_a_long_noisy_delay_the_gru_holds_the_bit_and_the_elman_rnn_mostly_does_not():
    config = WorkingMemoryConfig(delays=(40,), seeds=5, steps=500)
    rows = {cell: train_working_memory(cell, 40, config, np.random.default_rng(0))[1] for cell in ("elman", "gru")}
    assert rows["gru"]["solved_rate"] == 1.0
    assert rows["elman"]["solved_rate"] <= 0.4


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"rule": "oja"}, "rule must be one of"), ({"patterns": "A1"}, "patterns must be capital letters"),
     ({"patterns": "27"}, "patterns must be a count between 1 and 26"),
     ({"noise": 0.7}, r"noise must be a number in \[0, 0.5\], got 0.7"),
     ({"patterns": "AA"}, "patterns must be distinct letters")],
)
def test_bad_config_is_refused(settings, message):
    with pytest.raises(InputError, match=message):
        MemoryConfig(**settings)


def test_bad_working_memory_settings_are_refused():
    with pytest.raises(InputError, match=r"cells must be a list of items, each one of 'elman', 'gru', got \('lstm',\)"):
        WorkingMemoryConfig(cells=("lstm",))


def test_cli_writes_metrics_and_figures(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    memory_cli.register(parser.add_subparsers())
    out = tmp_path / "memory"
    args = parser.parse_args(["memory", "--rule", "pseudoinverse", "--patterns", "HELO", "--working-memory",
                              "--delays", "2", "--steps", "20", "--out", str(out), "--json"])
    assert args.handler(args) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "metrics.json").read_text())
    assert printed == saved
    assert saved["letters"] == "HELO" and saved["rule"] == "pseudoinverse" and saved["recall_rate"] == 1.0
    assert [r["cell"] for r in saved["working_memory"]] == ["elman", "gru"]
    assert {p.name for p in out.glob("*.png")} == {"recall.png", "letters_curve.png", "working_memory.png",
                                                   "held_bit.png"}
    with pytest.raises(SystemExit):
        parser.parse_args(["memory", "--delays", "1,x"])
