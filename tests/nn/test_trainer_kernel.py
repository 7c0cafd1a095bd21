"""How a Trainer settles its kernel (annrl.nn.compiled.choose), and its record of first solved epochs.

Nothing here runs the compiled loop: Numba's presence and its cache are stood in for, so these tests say
the same with or without ``annrl[fast]``.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from annrl.errors import InputError
from annrl.nn import MLP, SGD, Trainer, fit
from annrl.nn import compiled as fast

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)
ONE_NET_EPOCH = 4 * 9  # N x D of one 2-2-1 network on XOR: the work of one epoch


def xor_trainer(kernel: str = "auto", population: int = 1, **options) -> Trainer:
    return Trainer(MLP([2, 2, 1], population=population, seed=0), XOR_X, XOR_Y, kernel=kernel, **options)


@pytest.fixture
def numba_present(monkeypatch):
    """Numba installed, its kernels cached or not as the test says (``numba_present(ready)``)."""
    monkeypatch.setattr(fast, "available", lambda: True)

    def cached(ready: bool) -> None:
        monkeypatch.setattr(fast, "_ready", lambda: ready)

    return cached


def test_auto_stays_on_numpy_below_the_work_that_pays_loading_the_kernels(numba_present):
    numba_present(True)
    enough = -(-fast.AUTO_MIN_WORK // ONE_NET_EPOCH)  # the fewest epochs of one network that pay it
    ran, why = fast.choose("auto", xor_trainer(), enough - 1)
    assert ran == "numpy"
    assert why == f"small work: P x N x D x epochs = {(enough - 1) * ONE_NET_EPOCH:.1e} < 2e+08"
    assert fast.choose("auto", xor_trainer(), enough) == ("compiled", None)
    # the work counts every network: 10 networks pay it in a tenth of the epochs
    assert fast.choose("auto", xor_trainer(population=10), -(-enough // 10)) == ("compiled", None)


def test_auto_compiles_the_kernels_only_for_work_that_pays_compiling_them(numba_present):
    numba_present(False)  # Numba's cache is empty
    enough = -(-fast.AUTO_MIN_WORK_COLD // ONE_NET_EPOCH)
    ran, why = fast.choose("auto", xor_trainer(), enough - 1)
    assert ran == "numpy" and why.startswith("kernels not compiled yet (Numba's cache is empty)")
    assert fast.choose("auto", xor_trainer(), enough) == ("compiled", None)
    assert fast.choose("compiled", xor_trainer(), 1) == ("compiled", None)  # asked for: compiled at any size


def test_auto_names_what_keeps_a_large_run_on_numpy(numba_present, monkeypatch):
    numba_present(True)
    large = fast.AUTO_MIN_WORK
    assert fast.choose("auto", xor_trainer(), large, [lambda state: None])[1].startswith("callbacks")
    step = Trainer(MLP([2, 2, 1], hidden="step", seed=0), XOR_X, XOR_Y)
    assert fast.choose("auto", step, large) == ("numpy", "activation step has no compiled kernel")
    assert fast.choose("numpy", xor_trainer(), large) == ("numpy", "asked for")
    monkeypatch.setattr(fast, "available", lambda: False)
    assert fast.choose("auto", xor_trainer(), large) == ("numpy", 'Numba is not installed (pip install "annrl[fast]")')


def test_a_trainer_settles_its_kernel_once_for_the_whole_run(numba_present):
    numba_present(True)
    trainer = xor_trainer()
    assert trainer.kernel_ran is None
    assert trainer.settle_kernel(fast.AUTO_MIN_WORK) == "compiled"  # the whole planned run pays it
    assert trainer.settle_kernel(5) == "compiled"  # ... so its pieces run compiled too
    with pytest.raises(InputError, match="kernel=auto: the compiled loop is settled for this run and cannot call "
                                         "<lambda> every epoch") as caught:
        trainer.run(5, callbacks=[lambda state: None])
    assert "\n" not in str(caught.value)


def test_small_work_on_auto_never_imports_numba():
    script = ("import sys, numpy as np; from annrl.nn import MLP, fit; "
              "h = fit(MLP([2, 2, 1], population=100, seed=0), [[0, 0], [0, 1], [1, 0], [1, 1]], [[0], [1], [1], [0]],"
              " epochs=200); print(h.kernel, 'numba' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["numpy", "False"]


def test_history_and_trainer_say_which_kernel_ran_and_why():
    history = fit(MLP([2, 2, 1], seed=0), XOR_X, XOR_Y, epochs=10)
    assert history.kernel == "numpy" and history.kernel_reason.startswith("small work: P x N x D x epochs = 3.6e+02")
    assert fit(MLP([2, 2, 1], seed=0), XOR_X, XOR_Y, epochs=10, kernel="numpy").kernel_reason == "asked for"


def test_an_unknown_kernel_is_refused_when_the_trainer_is_made():
    with pytest.raises(InputError, match="^kernel must be one of auto, numpy, compiled, got 'numba'$"):
        xor_trainer("numba")


def test_compiled_without_numba_is_refused_when_the_trainer_is_made(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now fails, as when it is not installed
    with pytest.raises(InputError, match=r'^kernel="compiled" needs Numba, which is not installed: '
                                         r'pip install "annrl\[fast\]"$'):
        xor_trainer("compiled")


@pytest.mark.parametrize(("loss", "threshold", "until"), [("mse", 0.5, None), ("bce", 0.0, 0.05)])
def test_solved_epoch_is_the_first_epoch_whose_prediction_is_right_everywhere(loss, threshold, until):
    """The trainer's record equals the one a callback keeps by hand from every epoch's prediction."""
    by_hand = np.full(60, -1)

    def record(state) -> None:
        right = ((state.prediction > threshold) == (XOR_Y > 0.5)).all(axis=(1, 2))
        by_hand[right & (by_hand < 0)] = state.epoch

    trainer = Trainer(MLP([2, 3, 1], population=60, seed=1), XOR_X, XOR_Y, loss=loss, until=until,
                      optimizer=SGD(lr=0.1, momentum=0.9), threshold=threshold)
    trainer.run(600, callbacks=[record])
    assert 20 <= (by_hand >= 0).sum() < 60  # some solve, at different epochs, and some do not
    assert len(set(by_hand[by_hand >= 0].tolist())) > 5
    np.testing.assert_array_equal(trainer.solved_epoch, by_hand)


def test_solved_epoch_is_saved_and_restored_with_the_trainer():
    def make() -> Trainer:
        return Trainer(MLP([2, 3, 1], population=30, seed=1), XOR_X, XOR_Y, optimizer=SGD(lr=0.1, momentum=0.9),
                       threshold=0.5)

    whole, first = make(), make()
    whole.run(400)
    first.run(150)
    second = make()
    second.load_state_dict(*first.state_dict())
    second.run(250)
    assert (whole.solved_epoch >= 150).any()  # some networks solve in the resumed part
    np.testing.assert_array_equal(second.solved_epoch, whole.solved_epoch)
    np.testing.assert_array_equal(second.net.flat_, whole.net.flat_)


def test_a_resumed_auto_trainer_keeps_the_loop_its_start_settled_on(numba_present):
    """Between the start and the resume Numba's cache may have been filled (by another run): ``auto``
    would then choose otherwise, and the two loops agree to rounding only, not bit for bit."""
    numba_present(False)
    large = -(-fast.AUTO_MIN_WORK // ONE_NET_EPOCH)  # pays loading the kernels, not compiling them
    start = xor_trainer()
    assert start.settle_kernel(large) == "numpy"
    numba_present(True)  # the cache is full now
    assert xor_trainer().settle_kernel(large) == "compiled"
    resumed = xor_trainer()
    resumed.load_state_dict(*start.state_dict())
    assert resumed.settle_kernel(large) == "numpy"
    assert resumed.kernel_reason == start.kernel_reason and resumed.kernel_reason.startswith("kernels not compiled")
    explicit = xor_trainer("numpy")  # a kernel asked for by name is what the resumed run asks for
    start.kernel_ran = "compiled"
    explicit.load_state_dict(*start.state_dict())
    assert explicit.settle_kernel(large) == "numpy"


def test_a_cached_kernel_is_dropped_when_any_file_it_is_built_from_changes(tmp_path):
    """Numba checks only the file that defines a cached kernel; an edit of a file whose kernels it inlines
    must still drop the old machine code (and only then)."""
    from types import SimpleNamespace

    from annrl.nn.compiled.cache import drop_stale

    loop, elementwise = tmp_path / "loop.py", tmp_path / "elementwise.py"
    loop.write_text("def train(): ...\n")
    elementwise.write_text("def activate(): return 1\n")
    index = tmp_path / "__pycache__" / "loop.train-1.py311.nbi"
    kernel = SimpleNamespace(_cache=SimpleNamespace(_cache_file=SimpleNamespace(_index_path=str(index))))

    def compile_it() -> None:  # what Numba does at the first call when the index is missing
        index.parent.mkdir(exist_ok=True)
        index.write_bytes(b"machine code")

    compile_it()
    assert drop_stale([kernel], [elementwise, loop]) == [str(index)]  # no digest yet: unknown sources
    compile_it()
    assert drop_stale([kernel], [elementwise, loop]) == [] and index.exists()  # same sources: kept
    elementwise.write_text("def activate(): return 2\n")  # loop.py untouched: Numba alone would keep it
    assert drop_stale([kernel], [elementwise, loop]) == [str(index)] and not index.exists()
    assert drop_stale([SimpleNamespace()], [loop]) == []  # no cache to look at: left to Numba


def test_the_cache_guard_covers_every_file_that_defines_kernels():
    from annrl.nn.compiled import cache

    names = {p.name for p in cache.SOURCES}
    assert {"elementwise.py", "updates.py", "loop.py", "forward.py"} <= names  # the kernels and what they inline
    assert not names & {"__init__.py", "driver.py", "rules.py", "cache.py"}  # plain Python: no recompiling for it
