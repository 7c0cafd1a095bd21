"""Fuzz every ``annrl`` command as a hostile user would: random option values, track files, sweep
files and checkpoint bytes, each case in its own process under a 4 GiB address-space cap.

Target (issue #24): over 5,000 cases, 0 tracebacks, 0 processes killed by memory, 0 hangs over 30 s.

    python benchmarks/fuzz.py --cases 5000 --seed 0          # the long run
    python benchmarks/fuzz.py --cases 200 --json             # a quick look

Each case is forked from this process once annrl is imported (an import costs a second or two;
a fork costs milliseconds), so that thousands of cases fit in an hour; ``--no-fork`` (and the
tests) start ``python -m annrl.cli`` afresh instead. The child sets ``RLIMIT_AS`` (``ulimit -v``)
first (``preexec_fn``), with stdout and stderr captured. A case counts as

- a **traceback** when stderr holds "Traceback" or annrl's "this is a bug" line;
- **killed by memory** when the child dies of a signal (SIGKILL, SIGSEGV, SIGABRT) or reports
  ``MemoryError`` without having refused the size first;
- a **hang** when it runs past ``--timeout`` seconds (30): killed and counted.

Every other exit (0, 1, 2, 74, 128 + signal) with at most one ``annrl: error`` line is a pass.
The budget options (``--steps``, ``--epochs``, ...) get small values so that a valid run ends
within seconds; every other option gets a hostile value.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

MEMORY_CAP = 4 * 2**30
#: what a fast, valid run of each command needs (the fuzzed option is added after, and wins)
BASES: dict[str, list[str]] = {
    "xor": ["xor", "--seeds", "4", "--epochs", "50", "--extend", "0"],
    "logic": ["logic", "--seeds", "4", "--epochs", "50", "--max-hidden", "2"],
    "approx": ["approx", "--seeds", "2", "--epochs", "20"],
    "dynamics": ["dynamics", "--epochs", "5", "--rollout-epochs", "2"],
    "memory": ["memory", "--neurons", "20", "--steps", "5"],
    "rl-ppo": ["rl", "train", "--algo", "ppo", "--steps", "256", "--eval-every", "256", "--eval-episodes", "1",
               "--final-eval-episodes", "1", "--no-figures"],
    "rl-dqn": ["rl", "train", "--algo", "dqn", "--steps", "200", "--eval-every", "200", "--eval-episodes", "1",
               "--final-eval-episodes", "1", "--no-figures"],
    "rl-ga": ["rl", "train", "--algo", "ga", "--steps", "200", "--population", "4", "--eval-episodes", "1",
              "--final-eval-episodes", "1", "--no-figures"],
    "car-show": ["car", "show", "oval"],
}
#: options whose value sets how long a valid run takes: small values only
BUDGET = {"--steps", "--epochs", "--rollout-epochs", "--seeds", "--population", "--eval-every", "--eval-episodes",
          "--final-eval-episodes", "--generations", "--episodes", "--max-hidden", "--extend", "--samples",
          "--lifetimes", "--lifetime", "--num-envs", "--num-steps", "--trials", "--cues", "--spurious-starts"}
HOSTILE = ["0", "-1", "1", "2", "nan", "inf", "-inf", "1e308", "1e-320", "100000000", "10000000000", "", " ",
           "abc", "1,2", "0,0", "64,64,64,64,64,64,64,64", "100000000,1", "💥", "x" * 5000, "--", "-", "None",
           "off", "0s", "1e9s", "../../etc/passwd", "/dev/zero", "/dev/null", "true", "[1]", "{}", "1.5", "0x10"]


def option_table(argv0: list[str]) -> list[tuple[str, bool]]:
    """The options of the (sub)command ``argv0`` as (flag, takes a value), read from its parser."""
    from annrl.cli import build_parser

    parser = build_parser(argv0)
    for word in argv0:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)  # noqa: SLF001
        if sub is None or word not in sub.choices:
            break
        parser = sub.choices[word]
    options = []
    for action in parser._actions:  # noqa: SLF001
        flags = [f for f in action.option_strings if f.startswith("--")]
        if flags and flags[0] not in ("--help", "--out", "--ray", "--tune", "--debug", "--version"):
            options.append((flags[0], action.nargs != 0))
    return options


def option_case(rng: random.Random, tables: dict[str, list[tuple[str, bool]]]) -> list[str]:
    name = rng.choice(sorted(BASES))
    argv = list(BASES[name])
    for _ in range(rng.randint(1, 3)):
        flag, takes = rng.choice(tables[name])
        if not takes:
            argv.append(flag)
        elif flag in BUDGET:
            argv += [flag, rng.choice(["0", "-1", "1", "2", "3", "nan", "abc", ""])]
        else:
            argv += [flag, rng.choice(HOSTILE)]
    return argv


def hostile_json(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9)
    if kind == 0 and depth < 3:
        return {rng.choice(["x", "y", "width", "difficulty", "name", ""]): hostile_json(rng, depth + 1)}
    if kind == 1 and depth < 3:
        return [hostile_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == 2:
        return "[" * rng.choice([10, 1000, 100_000])  # deep nesting, as raw text (see track_case)
    return rng.choice([0, -1, 1.5, float("nan"), float("inf"), 10**400, "hard", "", None, True, [1], {}, "1.5"])


def track_case(rng: random.Random, folder: Path) -> list[str]:
    from annrl.envs.tracks import load_track

    data = json.loads(json.dumps(load_track("oval").to_dict()))
    for _ in range(rng.randint(1, 3)):
        key = rng.choice([*data, "extra"])
        action = rng.randrange(4)
        if action == 0:
            data.pop(key, None)
        elif action == 1 and isinstance(data.get(key), list) and data[key]:
            points = data[key]
            points[rng.randrange(len(points))] = hostile_json(rng)
        else:
            data[key] = hostile_json(rng)
    text = json.dumps(data, allow_nan=True)
    text = text.replace('"[[[[[[[[[[', "[" * 100_000, 1) if rng.random() < 0.05 else text
    if rng.random() < 0.05:
        text = text[: rng.randrange(len(text))]  # a truncated file
    path = folder / "track.json"
    path.write_text(text)
    return ["car", "show", str(path), "--out", str(folder / "track.png")]


SWEEP_BASE = "command: xor\ngrid: {lr: [0.1, 0.5]}\nseeds: 1\nretries: 0\noptions: {epochs: 5, extend: 0, seeds: 2}\n"
SWEEP_VALUES = ["1e12", "-1", "[]", "{}", "null", "nan", "&a [1, *a]", "!!python/object:os.system x", "'x'",
                "[0.1, 0.2, 0.3]", "{lr: {epochs: 1}}", "100001", "1", "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]"]


def sweep_case(rng: random.Random, folder: Path) -> list[str]:
    lines = SWEEP_BASE.splitlines()
    for _ in range(rng.randint(1, 2)):
        # not "tune": starting Ray Tune takes longer than the hang limit on its own
        key = rng.choice(["command", "grid", "seeds", "retries", "options", "samples", "random", "lr"])
        lines = [line for line in lines if not line.startswith(f"{key}:")] + [f"{key}: {rng.choice(SWEEP_VALUES)}"]
    text = "\n".join(lines) + "\n"
    if rng.random() < 0.1:  # an alias bomb: 9^9 leaves from a few hundred bytes
        names = ["a0", *(f"a{i}" for i in range(1, 9))]
        text = "a0: &a0 [1, 2]\n" + "".join(f"{n}: &{n} [{', '.join([f'*{names[i]}'] * 9)}]\n"
                                             for i, n in enumerate(names[1:]))
    path = folder / "sweep.yaml"
    path.write_text(text)
    return ["sweep", str(path), "--out", str(folder / "sweep-out"), "--no-progress"]


def checkpoint_case(rng: random.Random, folder: Path, good: bytes) -> list[str]:
    sys.path.insert(0, str(Path(__file__).parent))
    from checkpoint_fuzz import KINDS

    kind = rng.choice(sorted(KINDS))
    data = KINDS[kind](good, rng)
    checkpoints = folder / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    (checkpoints / "ckpt-000000050.safetensors").write_bytes(data)
    return [*BASES["xor"], "--epochs", "60", "--checkpoint-every", "50", "--resume", "--out", str(folder)]


def cap_memory() -> None:
    """``ulimit -v 4G`` in the child (``preexec_fn``)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_case(argv: list[str], folder: Path, timeout: float, *, fork: bool = False) -> tuple[str, int | None, str]:
    """Run ``annrl argv`` in a child process under the memory cap; the outcome: ("ok" | "traceback" |
    "memory" | "hang", exit status, stderr).

    ``fork`` forks this process instead of starting Python afresh (milliseconds instead of a second
    or two); only safe while this process has a single thread (a lock held by another thread at the
    fork would never be released in the child), so it falls back to a fresh process otherwise.
    """
    if not fork or threading.active_count() > 1:
        return _classify(*_spawn(argv, folder, timeout))
    out, err = folder / "stdout", folder / "stderr"
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 70
        try:
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
            os.chdir(folder)
            os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
            os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
            from annrl.cli import main

            code = main(argv)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 2
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "hang", None, err.read_text(errors="replace")[-2000:]
        time.sleep(0.02)
    rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return _classify(rc, err.read_text(errors="replace"))


def _spawn(argv: list[str], folder: Path, timeout: float) -> tuple[int | None, str]:
    try:
        done = subprocess.run([sys.executable, "-m", "annrl.cli", *argv], cwd=folder, capture_output=True, text=True,
                              errors="replace", timeout=timeout, preexec_fn=cap_memory, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as late:
        text = late.stderr.decode(errors="replace") if isinstance(late.stderr, bytes) else (late.stderr or "")
        return None, text
    return done.returncode, done.stderr


def _classify(rc: int | None, text: str) -> tuple[str, int | None, str]:
    if rc is None:
        return "hang", None, text[-2000:]
    if rc < 0:
        return "memory", rc, text[-2000:]
    if "Traceback" in text or "this is a bug" in text:
        return "traceback", rc, text[-2000:]
    if "MemoryError" in text:
        return "memory", rc, text[-2000:]
    return "ok", rc, text[-300:]


def fuzz(cases: int, seed: int, timeout: float = 30.0, progress: Callable[[int, Counter], None] | None = None, *,
         fork: bool = True) -> dict:
    """Run ``cases`` random cases; the counts and the first failures of each kind."""
    import annrl.cli  # noqa: F401 - imported once, before the forks
    from annrl.io import checkpoint_bytes

    rng = random.Random(seed)
    tables = {name: option_table([w for w in argv if not w.startswith("-")][:2]) for name, argv in BASES.items()}
    import numpy as np

    good = checkpoint_bytes({"w": np.zeros((2, 3))}, {"config": {}}, step=50)
    counts: Counter = Counter()
    failures: list[dict] = []
    started = time.perf_counter()
    for case in range(cases):
        with tempfile.TemporaryDirectory(prefix="annrl-fuzz-") as tmp:
            folder = Path(tmp)
            family = rng.choice(["options", "options", "options", "track", "sweep", "checkpoint"])
            if family == "options":
                argv = [*option_case(rng, tables), "--out", str(folder / "out")]
                argv = argv if argv[0] != "car" else [a for a in argv if a != "--out"][:-1] + ["--out", "x.png"]
            elif family == "track":
                argv = track_case(rng, folder)
            elif family == "sweep":
                argv = sweep_case(rng, folder)
            else:
                argv = checkpoint_case(rng, folder, good)
            outcome, rc, text = run_case(argv, folder, timeout, fork=fork)
        counts[outcome] += 1
        counts[f"family:{family}"] += 1
        if outcome != "ok" and len(failures) < 50:
            failures.append({"outcome": outcome, "rc": rc, "argv": [a[:100] for a in argv], "stderr": text})
        if progress is not None:
            progress(case + 1, counts)
    return {"cases": cases, "seed": seed, "tracebacks": counts["traceback"], "killed_by_memory": counts["memory"],
            "hangs": counts["hang"], "families": {k[7:]: v for k, v in counts.items() if k.startswith("family:")},
            "seconds": round(time.perf_counter() - started, 1), "failures": failures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a case counts as a hang")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-fork", action="store_true", help="start each case as a fresh Python (slower)")
    args = parser.parse_args()
    def progress(n: int, counts: Counter) -> None:  # on stderr, so that a long run shows where it is (--json too)
        if n % 100 == 0 or n == args.cases:
            print(f"{n}/{args.cases} cases: {counts['traceback']} tracebacks, {counts['memory']} killed by memory, "
                  f"{counts['hang']} hangs", file=sys.stderr, flush=True)

    report = fuzz(args.cases, args.seed, args.timeout, progress, fork=not args.no_fork)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['cases']} cases in {report['seconds']} s: {report['tracebacks']} tracebacks, "
              f"{report['killed_by_memory']} killed by memory, {report['hangs']} hangs (families {report['families']})")
        for failure in report["failures"][:10]:
            print(json.dumps(failure)[:600])
    return 0 if report["tracebacks"] == report["killed_by_memory"] == report["hangs"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
