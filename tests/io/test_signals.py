"""Graceful stop: the first signal sets a flag, the second interrupts, handlers come back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from annrl.io import RunDir, graceful_stop

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def test_sigint_and_sigterm_set_the_flag_instead_of_interrupting():
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        with graceful_stop() as stop:
            assert not stop.requested and stop.exit_code == 0
            os.kill(os.getpid(), sig)
            assert stop.requested  # the handler runs before kill() returns to Python code
            assert stop.signal_name == sig.name and stop.exit_code == code


def test_a_second_signal_raises_keyboard_interrupt():
    with pytest.raises(KeyboardInterrupt):
        with graceful_stop():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)


def test_previous_handlers_are_restored_even_after_an_error():
    def mine(signum, frame):
        pass

    # both found as `mine`, whatever the process started with (a background job starts with SIGINT ignored)
    before = {sig: signal.signal(sig, mine) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with pytest.raises(RuntimeError):
            with graceful_stop():
                assert signal.getsignal(signal.SIGTERM) is not mine
                assert signal.getsignal(signal.SIGINT) is not mine
                raise RuntimeError("boom")
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_the_message_is_one_line_with_the_checkpoint():
    with graceful_stop() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
    message = stop.message("out/checkpoints/ckpt-000000007.safetensors")
    assert message == ("annrl: stopped by SIGTERM; checkpoint saved to "
                       "out/checkpoints/ckpt-000000007.safetensors; continue with --resume")


LOOP = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from annrl.io import RunDir, graceful_stop
    run = RunDir(sys.argv[1])
    w = np.zeros(3)
    with graceful_stop() as stop:
        for step in range(1, 10**6):
            w += 1.0
            if step == 3:
                print("ready", flush=True)
            if stop.requested:
                path = run.save(step, {"w": w}, {"step": step})
                print(stop.message(path), file=sys.stderr)
                sys.exit(stop.exit_code)
            time.sleep(0.01)
    """
)


def test_a_training_loop_saves_and_exits_on_sigterm(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", LOOP, str(tmp_path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 143
    assert err.count("\n") == 1 and err.startswith("annrl: stopped by SIGTERM; checkpoint saved to ")
    checkpoint, skipped = RunDir(tmp_path).latest()
    assert skipped == [] and checkpoint.step >= 3
    np.testing.assert_array_equal(checkpoint.tensors["w"], np.full(3, float(checkpoint.step)))
