"""Faults at every write point of a run folder, and the other reliability classes of issue #24.

Each fault is an ``OSError`` (ENOSPC, EROFS, EIO) raised by a patched writer: the run stops with
one line and exit status 74, the checkpoints saved before are kept, and ``--resume`` once the
fault is cleared ends bit for bit where an uninterrupted run ends.
"""

import errno
import os
import subprocess
import sys
import textwrap

import pytest

import annrl.io.checkpoint
import annrl.io.resume
import annrl.io.rundir
from annrl.cli import main
from annrl.errors import EXIT_CANNOT_WRITE
from annrl.io import RunDir, metrics_equal

XOR = ["xor", "--seeds", "4", "--epochs", "400", "--extend", "1", "--checkpoint-every", "100", "--json"]


def xor(out, *more):
    return main([*XOR, "--out", str(out), *more])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    assert xor(out) == 0
    return out / "metrics.json"


def failing_on(call, code):
    """A writer that raises ``OSError(code)`` on its ``call``-th use and works otherwise."""
    calls = []

    def patch(original):
        def write(*args, **kwargs):
            calls.append(1)
            if len(calls) == call:
                raise OSError(code, os.strerror(code), str(args[0]) if args else None)
            return original(*args, **kwargs)
        return write

    return patch


POINTS = {
    "checkpoint": lambda mp, code: mp.setattr(annrl.io.checkpoint, "atomic_write",
                                              failing_on(3, code)(annrl.io.checkpoint.atomic_write)),
    "journal": lambda mp, code: mp.setattr(annrl.io.resume.LossJournal, "append",
                                           failing_on(3, code)(annrl.io.resume.LossJournal.append)),
    "metrics": lambda mp, code: mp.setattr(annrl.io.rundir, "atomic_write",
                                           failing_on(1, code)(annrl.io.rundir.atomic_write)),
    "figures": lambda mp, code: mp.setattr("matplotlib.figure.Figure.savefig",
                                           failing_on(1, code)(__import__("matplotlib.figure").figure.Figure.savefig)),
}


# one fault per write point by default (each errno met once); every pair with -m slow
FAST = {("journal", errno.ENOSPC), ("checkpoint", errno.EROFS), ("metrics", errno.EIO), ("figures", errno.ENOSPC)}
CASES = [pytest.param(point, code, marks=() if (point, code) in FAST else pytest.mark.slow)
         for point in sorted(POINTS) for code in (errno.ENOSPC, errno.EROFS, errno.EIO)]


@pytest.mark.parametrize("point, code", CASES)
def test_a_write_fault_stops_with_one_line_and_resume_ends_bit_identical(point, code, reference, tmp_path, capsys):
    with pytest.MonkeyPatch.context() as mp:
        POINTS[point](mp, code)
        assert xor(tmp_path) == EXIT_CANNOT_WRITE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("annrl: error: ") and os.strerror(code) in err[0], err
    assert "continue with --resume" in err[0]
    if point in ("checkpoint", "journal"):
        assert RunDir(tmp_path).saved_steps()  # the checkpoints saved before the fault are kept
    assert xor(tmp_path, "--resume") == 0
    assert metrics_equal(tmp_path / "metrics.json", reference)


def test_a_flipped_bit_in_the_journal_falls_back_to_the_older_checkpoint(reference, tmp_path, capsys):
    assert main([*XOR, "--extend", "0", "--out", str(tmp_path)]) == 0
    journal = tmp_path / "checkpoints" / "main-losses.f64"
    data = bytearray(journal.read_bytes())
    data[-3] ^= 0x10  # the last row: only the newest checkpoint counts on it
    journal.write_bytes(bytes(data))
    assert main([*XOR, "--extend", "0", "--out", str(tmp_path), "--resume"]) == 0
    err = capsys.readouterr().err
    assert "fail their checksum: the file is corrupted" in err and "rows are missing" not in err
    first = tmp_path.parent / "again"
    assert main([*XOR, "--extend", "0", "--out", str(first)]) == 0
    assert metrics_equal(tmp_path / "metrics.json", first / "metrics.json")


def test_a_fifo_as_a_checkpoint_is_refused_by_type_without_hanging(tmp_path, capsys):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    os.mkfifo(folder / "ckpt-000000100.safetensors")
    assert xor(tmp_path, "--resume") == 2
    assert "it is a FIFO, not a regular file" in capsys.readouterr().err


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert xor(tmp_path / "f") == 2
    assert capsys.readouterr().err.strip() == f"annrl: error: --out {tmp_path / 'f'} is not a folder"


HOLDER = textwrap.dedent("""
    import fcntl, os, sys, time
    handle = open(sys.argv[1], "a+")
    fcntl.flock(handle, fcntl.LOCK_EX)
    handle.write(str(os.getpid())); handle.flush()
    print("locked", flush=True)
    time.sleep(60)
""")


def test_a_second_writer_on_one_out_gets_one_line_naming_the_other_pid(tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / ".annrl.lock")], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert xor(tmp_path) == 2
        assert capsys.readouterr().err.strip() == (f"annrl: error: --out {tmp_path} is in use by another annrl "
                                                   f"process (pid {holder.pid}); wait for it to end or choose "
                                                   "another --out")
        assert not RunDir(tmp_path).saved_steps()  # nothing of the other run's was touched
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_of_a_dead_process_is_taken_over_with_a_warning(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".annrl.lock").write_text(f"{dead.pid}\n")
    assert xor(tmp_path) == 0
    assert f"taking over the lock of {tmp_path} left by pid {dead.pid}" in capsys.readouterr().err
    assert (tmp_path / ".annrl.lock").read_text() == ""  # released at the end


@pytest.mark.parametrize("argv, needs", [
    (["xor", "--hidden", "100000000"], "networks of --hidden 100000000"),
    (["rl", "train", "--algo", "ppo", "--hidden", "100000000", "--steps", "100"], "--hidden 100000000 networks"),
    (["rl", "train", "--algo", "ppo", "--num-envs", "100000000", "--steps", "100"], "--num-envs 100000000"),
    (["rl", "train", "--algo", "dqn", "--buffer-size", "10000000000"], "--buffer-size 10000000000 transitions"),
    (["rl", "train", "--algo", "ga", "--population", "1000000000"], "--population 1000000000 networks"),
    (["approx", "--seeds", "100000", "--hidden", "4096,4096,4096"], "--seeds 100000 networks"),
])
def test_sizes_are_refused_before_allocating_with_the_estimate_and_the_limit(argv, needs, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needs in err and "over the memory limit of" in err, err


def test_memory_error_is_one_line_at_the_cli_boundary(monkeypatch, tmp_path, capsys):
    import numpy as np

    def exhausted(*args, **kwargs):
        np.empty((2**20, 2**30))  # 8 PiB: numpy's _ArrayMemoryError, as a size no estimate foresaw would give

    monkeypatch.setattr("annrl.labs.xor.cli.train", exhausted)
    assert xor(tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("annrl: error: out of memory (Unable to allocate") and len(err.splitlines()) == 1


def test_a_diverged_run_still_draws_its_figures(tmp_path, capsys):
    assert main(["xor", "--seeds", "4", "--epochs", "50", "--lr", "1e308", "--json", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "final_loss_hist.png").is_file() and "not finite" not in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--algo", "ppo", "--steps", "0"], "--steps must be an integer >= 1, got 0"),
    (["--algo", "ga", "--population", "1"], "--population must be an integer >= 2, got 1"),
])
def test_rl_train_names_options_as_the_user_wrote_them(argv, message, tmp_path, capsys):
    assert main(["rl", "train", *argv, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"annrl: error: {message}"


def test_the_first_sigterm_while_reading_checkpoints_ends_the_command(tmp_path):
    import signal

    from annrl.errors import Interrupted
    from annrl.io import graceful_stop
    from annrl.io.resume import Checkpointer

    with graceful_stop() as stop, pytest.raises(Interrupted) as caught:
        checkpointer = Checkpointer(tmp_path, {}, stop=stop)
        stop.listening = False  # as while a checkpoint is read on --resume, or after training
        os.kill(os.getpid(), signal.SIGTERM)
    assert caught.value.exit_code == 128 + signal.SIGTERM
    checkpointer.close(quiet=True)


def test_a_sigterm_after_the_last_look_is_not_swallowed(tmp_path):
    import signal

    from annrl.errors import Stopped
    from annrl.io import graceful_stop
    from annrl.io.resume import Checkpointer

    with graceful_stop() as stop, pytest.raises(Stopped) as caught:
        with Checkpointer(tmp_path, {}, stop=stop):
            os.kill(os.getpid(), signal.SIGTERM)  # training is done: no loop will look at the flag again
    assert caught.value.exit_code == 128 + signal.SIGTERM


@pytest.mark.parametrize("command", [["logic", "--seeds", "2", "--epochs", "5", "--max-hidden", "1"],
                                     ["memory", "--neurons", "20", "--steps", "5"]])
def test_a_negative_seed_is_one_line_not_numpys_traceback(command, tmp_path, capsys):  # found by benchmarks/fuzz.py
    assert main([*command, "--seed", "-1", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == "annrl: error: seed must be an integer >= 0, got -1"
