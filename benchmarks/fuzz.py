"""Fuzz every ``annrl`` command as a hostile user would: random option values, track files, sweep
files, checkpoint bytes, run folders for ``annrl report`` and the playground's HTTP bodies and WebSocket
messages, each case in its own process under a 4 GiB address-space cap.

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

Every other exit (0, 1, 2, 3, 74, 128 + signal) with at most one ``annrl: error`` line is a pass.
The budget options (``--steps``, ``--epochs``, ...) get small values so that a valid run ends
within seconds; every other option gets a hostile value, and so do positional arguments (an
architecture name, a network or agent file, damaged as ``checkpoint_fuzz.py`` damages checkpoints)
and ``--out`` (a file, a folder that cannot be made, a name too long). ``annrl extract`` and
``annrl rl eval`` read fixtures made once at the start (an XOR network, a GA agent).

A playground case runs in-process, through Starlette's ``TestClient`` (no socket): hostile bodies to
every endpoint and hostile WebSocket messages to ``/ws`` and ``/ws/cars``; an HTTP status of 500 or
more, a server exception, or a socket closed with 1011 ("the server failed") counts as a traceback.
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
import warnings
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
    "car-drive": ["car", "drive", "--episodes", "1", "--max-steps", "40", "--max-frames", "4"],
    "car-benchmark": ["car", "benchmark", "--limit", "1", "--laps", "1"],
    "car-demo": ["car", "demo", "--generations", "1", "--population", "2", "--animate", "0"],
    "rl-eval": ["rl", "eval", "{agent}", "--episodes", "1"],
    "adapt-lms": ["adapt", "lms", "--steps", "200", "--runs", "4", "--mus", "0.01"],
    "adapt-stream": ["adapt", "stream", "--samples", "1000", "--warmup", "100", "--kinds", "sudden"],
    "adapt-grow": ["adapt", "grow", "--epochs", "200", "--max-units", "4"],
    "extract-logic": ["extract", "{model}", "--kind", "logic"],
    "extract-exact": ["extract", "{model}", "--kind", "exact"],
    "extract-formula": ["extract", "{model}", "--kind", "formula", "--max-seconds", "1", "--no-figures"],
    "zoo": ["zoo", "perceptron", "--quick"],
    "report": ["report", "{runs}"],
    "demo": ["demo", "--quick", "--quiet"],
}
#: how often a base is drawn, relative to 1 (slow commands less often: a quick demo takes 20 s)
WEIGHTS = {"demo": 0.02, "extract-formula": 0.2, "zoo": 0.3, "adapt-lms": 0.5, "adapt-stream": 0.5,
           "adapt-grow": 0.5, "car-benchmark": 0.5}
#: seconds before a case of these bases counts as a hang, instead of --timeout (their valid runs take longer)
TIMEOUTS = {"demo": 120.0, "extract-formula": 60.0, "car-demo": 60.0,
            "explain": 90.0}  # a playground "explain" runs a formula search of up to 40 CPU seconds
#: bases without an --out folder (car show's --out is a file, given by the harness)
NO_OUT = {"rl-eval", "report", "car-show"}
#: the positional argument a case may replace with a hostile value: base -> its index in argv
POSITIONAL = {"zoo": 1, "extract-logic": 1, "extract-exact": 1, "rl-eval": 2, "report": 1}
#: hostile --out values (relative to the case's folder): a file, a folder under a file, a name too long, ...
HOSTILE_OUT = ["afile", "afile/sub", "/proc/annrl-fuzz", "/dev/null", "x" * 300, "", "."]
#: options whose value sets how long a valid run takes: small values only
BUDGET = {"--steps", "--epochs", "--rollout-epochs", "--seeds", "--population", "--eval-every", "--eval-episodes",
          "--final-eval-episodes", "--generations", "--episodes", "--max-hidden", "--extend", "--samples",
          "--lifetimes", "--lifetime", "--num-envs", "--num-steps", "--trials", "--cues", "--spurious-starts",
          "--max-steps", "--limit", "--laps", "--runs", "--warmup", "--max-units", "--max-seconds", "--window",
          "--max-terms", "--degree", "--animate"}
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


def option_case(rng: random.Random, tables: dict[str, list[tuple[str, bool]]], fixtures: dict[str, str] | None = None,
                folder: Path | None = None) -> tuple[str, list[str]]:
    """A random base (by :data:`WEIGHTS`) with 1-3 fuzzed options; ``(base, argv)``, ``--out`` not yet added.

    ``fixtures`` fills the ``{model}``, ``{agent}`` and ``{runs}`` of a base; with ``folder``, a positional
    argument may be replaced by a hostile value or a damaged copy of its fixture written there.
    """
    names = sorted(BASES)
    name = rng.choices(names, weights=[WEIGHTS.get(n, 1.0) for n in names])[0]
    argv = [word.format(**fixtures) if fixtures and word.startswith("{") else word for word in BASES[name]]
    if name in POSITIONAL and folder is not None and rng.random() < 0.3:
        argv[POSITIONAL[name]] = hostile_positional(rng, argv[POSITIONAL[name]], folder)
    for _ in range(rng.randint(1, 3)):
        flag, takes = rng.choice(tables[name])
        if not takes:
            argv.append(flag)
        elif flag in BUDGET:
            argv += [flag, rng.choice(["0", "-1", "1", "2", "3", "nan", "abc", ""])]
        else:
            argv += [flag, rng.choice(HOSTILE)]
    return name, argv


def hostile_positional(rng: random.Random, value: str, folder: Path) -> str:
    """A hostile stand-in for ``value``: a hostile word, or a damaged copy of the file (or folder's agent) it names."""
    path = Path(value)
    if path.is_dir() and (path / "agent.safetensors").is_file():
        path = path / "agent.safetensors"
    if not path.is_file() or rng.random() < 0.4:
        return rng.choice(HOSTILE)
    sys.path.insert(0, str(Path(__file__).parent))
    from checkpoint_fuzz import corrupt

    damaged = folder / f"damaged-{path.name}"
    damaged.write_bytes(corrupt(path.read_bytes(), rng)[1])
    return str(damaged)


def hostile_out(rng: random.Random, folder: Path) -> str:
    """A hostile ``--out`` (one case in ten), else a fresh folder."""
    if rng.random() >= 0.1:
        return str(folder / "out")
    (folder / "afile").write_text("not a folder")
    choice = rng.choice(HOSTILE_OUT)
    return choice if choice.startswith("/") or not choice else str(folder / choice)


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


HOSTILE_METRICS = ["[" * 100_000, "{" * 50 + "}" * 50, '{"a": NaN, "b": Infinity, "c": -Infinity}', "1e400",
                   '{"x": 1e400}', "", "\x00\udcff\udcfe", '{"a": [' + ",".join(["1"] * 200_000) + "]}",
                   '{"a": ' + '{"b": ' * 5000 + "1" + "}" * 5001, '"just a string"', "[1, 2", "null", '{"": {"": []}}']


def report_case(rng: random.Random, folder: Path) -> list[str]:
    """``annrl report`` on a folder of 1-3 runs whose ``metrics.json`` are hostile (or not files at all)."""
    root = folder / "runs"
    for k in range(rng.randint(1, 3)):
        run = root / f"run{k}"
        run.mkdir(parents=True)
        kind = rng.randrange(10)
        if kind == 0:
            (run / "metrics.json").mkdir()  # a folder named metrics.json
        elif kind == 1:
            os.mkfifo(run / "metrics.json")  # a FIFO: reading it would block
        elif kind == 2:
            (run / "metrics.json").symlink_to(run / "metrics.json")  # a symlink loop
        else:
            text = rng.choice(HOSTILE_METRICS) if kind > 3 else json.dumps({"loss": 0.1, "acc": [0.5] * 20})
            (run / "metrics.json").write_bytes(text.encode("utf-8", "surrogateescape"))
        if rng.random() < 0.3:
            (run / "figure.png").write_bytes(bytes(rng.randrange(256) for _ in range(64)))  # not a PNG
    argv = ["report", str(root)]
    if rng.random() < 0.3:
        argv += ["--output", str(Path(hostile_out(rng, folder)) / "report.html")]
    if rng.random() < 0.3:
        argv += ["--title", rng.choice(HOSTILE)]
    return argv


def checkpoint_case(rng: random.Random, folder: Path, good: bytes) -> list[str]:
    sys.path.insert(0, str(Path(__file__).parent))
    from checkpoint_fuzz import KINDS

    kind = rng.choice(sorted(KINDS))
    data = KINDS[kind](good, rng)
    checkpoints = folder / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    (checkpoints / "ckpt-000000050.safetensors").write_bytes(data)
    return [*BASES["xor"], "--epochs", "60", "--checkpoint-every", "50", "--resume", "--out", str(folder)]


PLAYGROUND = "@playground"  # argv[0] of a playground case: its requests are in the file argv[1]
SETUP_FIELDS = ["dataset", "expression", "function", "noise", "ratio", "points", "batch", "features", "layers",
                "activation", "optimizer", "lr", "regularization", "reg_rate", "epochs_per_update", "seed",
                "data_seed", "seeds", "goal"]
WS_TYPES = ["setup", "play", "pause", "step", "reset", "regenerate", "points", "csv", "clear", "weight", "explain",
            "ack", "", "nonsense"]
CAR_TYPES = ["start", "stop", "ack", "runs", "replay", "nonsense"]
#: the message that ends a WebSocket case: always answered with exactly one error, so the replies end there
SENTINEL = '{"type": "annrl-fuzz-end"}'


def hostile_setup(rng: random.Random) -> object:
    if rng.random() < 0.1:
        return hostile_json(rng)
    return {rng.choice(SETUP_FIELDS + ["unknown"]): rng.choice([*HOSTILE, hostile_json(rng), 10**6, [10**6] * 8, -1])
            for _ in range(rng.randint(1, 3))}


def ws_message(rng: random.Random, types: list[str]) -> str:
    kind = rng.randrange(10)
    if kind == 0:
        return rng.choice(["[" * 100_000, "not json", "", "\ufffd\x00", "null", "[]", '"setup"', "{" * 63 + "}" * 63])
    message = {"type": rng.choice(types)}
    for key in rng.sample(["setup", "points", "text", "value", "index", "link", "layer", "run", "track", "extra"],
                          rng.randint(0, 3)):
        message[key] = hostile_setup(rng) if key == "setup" else rng.choice([*HOSTILE, hostile_json(rng), True])
    return json.dumps(message, allow_nan=True)


def playground_case(rng: random.Random, folder: Path) -> list[str]:
    """Requests for the playground, written to a file; the case runs them in-process (:func:`play_requests`)."""
    requests = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(4)
        if kind == 0:
            body = json.dumps(hostile_setup(rng), allow_nan=True) if rng.random() < 0.7 else rng.choice(HOSTILE)
            requests.append({"method": "POST", "path": "/api/setup", "body": body})
        elif kind == 1:
            rows = [",".join(rng.choice(["0.5", "1", "-1", "nan", "inf", "abc", "", "1e400"])
                             for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(0, 30))]
            requests.append({"method": "POST", "path": "/api/csv", "body": "\n".join(rows)})
        elif kind == 2:
            path = rng.choice(["/api/limits", "/api/runs", "/", "/api/session/x/export/python",
                               f"/api/session/x/export/{rng.choice(HOSTILE)[:20]}?index={rng.choice(HOSTILE)[:20]}"])
            requests.append({"method": "GET", "path": path, "body": ""})
        else:
            path = rng.choice(["/ws", "/ws", "/ws/cars"])
            types = CAR_TYPES if path == "/ws/cars" else WS_TYPES
            requests.append({"ws": path, "messages": [ws_message(rng, types) for _ in range(rng.randint(1, 4))]})
    spec = folder / "requests.json"
    spec.write_text(json.dumps(requests))
    return [PLAYGROUND, str(spec)]


def play_requests(spec: str | Path) -> int:
    """Send the requests of ``spec`` to a playground app in this process; 1 (after a "this is a bug" line)
    when the server fails on one: a status of 500 or more, or a socket it closes with 1011."""
    warnings.simplefilter("ignore")  # Starlette's warning about its test client's HTTP library is not the server's
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    from annrl.playground import create_app

    with TestClient(create_app(host="testserver"), raise_server_exceptions=False) as client:
        for request in json.loads(Path(spec).read_text()):
            if "ws" not in request:
                reply = client.request(request["method"], request["path"],
                                       content=request["body"].encode("utf-8", "surrogatepass"))
                if reply.status_code >= 500:
                    print(f"this is a bug: {request['path']} answered {reply.status_code}: {reply.text[:300]}",
                          file=sys.stderr)
                    return 1
                continue
            try:
                with client.websocket_connect(request["ws"]) as socket:
                    for message in [*request["messages"], SENTINEL]:
                        socket.send_text(message)
                    for _ in range(500):  # until the sentinel's error (states stream while a run plays)
                        reply = json.loads(socket.receive_text())
                        if reply.get("type") == "state":
                            socket.send_text('{"type": "ack"}')
                        if reply.get("type") == "error" and "a bug" in str(reply.get("message")):
                            print(f"this is a bug: {request['ws']} failed: {reply['message']}", file=sys.stderr)
                            return 1
                        if reply.get("type") == "error" and "annrl-fuzz-end" in str(reply.get("message")):
                            break
            except WebSocketDisconnect as closed:
                if closed.code == 1011:
                    print(f"this is a bug: {request['ws']} closed with 1011", file=sys.stderr)
                    return 1
    return 0


def make_fixtures(folder: Path, timeout: float = 120.0, *, fork: bool = False) -> dict[str, str]:
    """The files some bases read: an XOR network (``{model}``), a GA agent's run (``{agent}``), a run folder
    (``{runs}``); made by running annrl once each."""
    runs = folder / "runs"
    made = {"model": runs / "xor", "agent": runs / "ga"}
    for name, argv in (("model", BASES["xor"]), ("agent", BASES["rl-ga"])):
        outcome, rc, text = run_case([*argv, "--out", str(made[name])], folder, timeout, fork=fork)
        if outcome != "ok" or rc != 0:
            raise RuntimeError(f"the {name} fixture failed ({outcome}, exit {rc}): {text}")
    return {"model": str(made["model"] / "model.safetensors"), "agent": str(made["agent"]), "runs": str(runs)}


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
            if argv[0] == PLAYGROUND:
                code = play_requests(argv[1])
            else:
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
            usage = os.wait4(pid, 0)[2]  # its CPU seconds tell a starved run (busy machine) from a stuck one
            cpu = f"[killed after {timeout:.0f} s, {usage.ru_utime + usage.ru_stime:.1f} CPU s]\n"
            return "hang", None, cpu + err.read_text(errors="replace")[-2000:]
        time.sleep(0.02)
    rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return _classify(rc, err.read_text(errors="replace"))


def _spawn(argv: list[str], folder: Path, timeout: float) -> tuple[int | None, str]:
    try:
        command = [sys.executable, __file__, "--play", argv[1]] if argv[0] == PLAYGROUND else \
            [sys.executable, "-m", "annrl.cli", *argv]
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True,
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
         fork: bool = True, failed: Callable[[dict], None] | None = None) -> dict:
    """Run ``cases`` random cases; the counts and the first failures of each kind.

    ``progress(done, counts)`` is called after each case, ``failed(failure)`` after each failure."""
    import annrl.cli  # noqa: F401 - imported once, before the forks
    from annrl.io import checkpoint_bytes

    rng = random.Random(seed)
    tables = {name: option_table([w for w in argv if not w.startswith("-")][:2]) for name, argv in BASES.items()}
    import numpy as np

    good = checkpoint_bytes({"w": np.zeros((2, 3))}, {"config": {}}, step=50)
    counts: Counter = Counter()
    failures: list[dict] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="annrl-fuzz-fixtures-") as fixture_folder:
        fixtures = make_fixtures(Path(fixture_folder), fork=fork)
        for case in range(cases):
            with tempfile.TemporaryDirectory(prefix="annrl-fuzz-") as tmp:
                family = rng.choice(["options", "options", "options", "track", "sweep", "checkpoint", "report",
                                     "playground"])
                argv, limit = make_case(family, rng, Path(tmp), tables, fixtures, good, timeout)
                # the input file of a case, kept in its failure: the case's folder is gone by then
                requests_text = Path(argv[1]).read_text()[:2000] if argv[0] == PLAYGROUND or family == "sweep" else ""
                outcome, rc, text = run_case(argv, Path(tmp), limit, fork=fork)
            counts[outcome] += 1
            counts[f"family:{family}"] += 1
            if outcome != "ok":
                failure = {"case": case, "outcome": outcome, "rc": rc, "argv": [a[:100] for a in argv],
                           "stderr": text}
                if requests_text:
                    failure["input"] = requests_text
                failures += [failure] if len(failures) < 50 else []
                if failed is not None:
                    failed(failure)
            if progress is not None:
                progress(case + 1, counts)
    return {"cases": cases, "seed": seed, "tracebacks": counts["traceback"], "killed_by_memory": counts["memory"],
            "hangs": counts["hang"], "families": {k[7:]: v for k, v in counts.items() if k.startswith("family:")},
            "seconds": round(time.perf_counter() - started, 1), "failures": failures}


def make_case(family: str, rng: random.Random, folder: Path, tables: dict, fixtures: dict[str, str], good: bytes,
              timeout: float) -> tuple[list[str], float]:
    """One case of ``family`` in ``folder``: its argv and its time limit."""
    if family == "options":
        base, argv = option_case(rng, tables, fixtures, folder)
        if base == "car-show":
            argv += ["--out", str(folder / "x.png")]
        elif base not in NO_OUT:
            argv += ["--out", hostile_out(rng, folder)]
        return argv, TIMEOUTS.get(base, timeout)
    makers = {"track": track_case, "sweep": sweep_case, "report": report_case, "playground": playground_case,
              "checkpoint": lambda rng, folder: checkpoint_case(rng, folder, good)}
    argv = makers[family](rng, folder)
    if family == "playground" and '\\"explain\\"' in Path(argv[1]).read_text():
        return argv, TIMEOUTS["explain"]
    return argv, timeout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a case counts as a hang")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-fork", action="store_true", help="start each case as a fresh Python (slower)")
    parser.add_argument("--play", metavar="FILE", help=argparse.SUPPRESS)  # one playground case (--no-fork)
    args = parser.parse_args()
    if args.play:
        return play_requests(args.play)
    def progress(n: int, counts: Counter) -> None:  # on stderr, so that a long run shows where it is (--json too)
        if n % 100 == 0 or n == args.cases:
            print(f"{n}/{args.cases} cases: {counts['traceback']} tracebacks, {counts['memory']} killed by memory, "
                  f"{counts['hang']} hangs", file=sys.stderr, flush=True)

    def failed(failure: dict) -> None:  # each failure as it happens, on stderr: a long run can be read while it runs
        print(f"case {failure['case']}: {failure['outcome']} (exit {failure['rc']}): {json.dumps(failure)[:3000]}",
              file=sys.stderr, flush=True)

    report = fuzz(args.cases, args.seed, args.timeout, progress, fork=not args.no_fork, failed=failed)
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
