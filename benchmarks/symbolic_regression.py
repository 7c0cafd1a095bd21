"""Formulas from data and from trained networks: annrl against Operon (pyoperon) and gplearn.

    python benchmarks/symbolic_regression.py [--quick] [--only N1 I.10.7] [--json results.json]
    python benchmarks/symbolic_regression.py --rescore results.json    # check 'exact' again

The task (issue #26): the Nguyen set N1-N12 on its usual domains and 15 formulas of the AI Feynman
set (1-3 variables, equation ids as in Udrescu & Tegmark's FeynmanEquations.csv, their domains).
Every method sees the same 300 training points (uniform on the domain, seed 0) and is scored on
1000 fresh points of the same domain:

- ``annrl data``: :func:`annrl.symbolic.fit_formula` on the points, tolerance 1e-3, 40 CPU seconds;
- ``annrl net``: an annrl MLP ``[n, 32, 1]`` (tanh, L-BFGS, inputs scaled to [-1, 1], target
  standardised) fitted to the points, then :func:`annrl.symbolic.extract_formula` on the network
  (sampled on the domain, and queried by the separability tests), tolerance 1e-2: the network's
  own error, about 1e-4 to 1e-3 of std(y), bounds how close any formula can come to it;
- Operon (``pyoperon.sklearn.SymbolicRegressor``): population 1000, at most 500,000 evaluations
  or 20 s, symbols add, sub, mul, div, square, sqrt, exp, log, sin, cos, constants, one thread;
- gplearn (``SymbolicRegressor``): population 1000, 20 generations, functions add, sub, mul, div,
  sqrt, log, sin, cos, parsimony 0.001, one job.

Per formula and method: ``exact`` (symbolically equal to the truth after simplification, or equal
once every constant is moved by at most 1e-3 relative to a simple value: integers, fractions,
multiples of pi and sqrt(2 pi)), the held-out relative RMSE (RMSE / std(y)), the seconds; for annrl
also ``recovered`` (its own claim) and ``false claims``: recovered although the fresh held-out error
misses the stated tolerance (must be 0). Peers' models are read with annrl's whitelist parser
(Operon's model string) or from the program's node list (gplearn): nothing is evaluated.
Peers are benchmark-only dependencies: ``pip install pyoperon gplearn``.
"""

from __future__ import annotations

import argparse
import json
import signal
import time
import warnings
from typing import Any

import numpy as np
import sympy

from annrl.expr import lambdify_numpy, parse_expression
from annrl.symbolic.search.constants import simple_values

NGUYEN = [  # id, formula, {variable: (low, high)}
    ("N1", "x**3 + x**2 + x", {"x": (-1, 1)}),
    ("N2", "x**4 + x**3 + x**2 + x", {"x": (-1, 1)}),
    ("N3", "x**5 + x**4 + x**3 + x**2 + x", {"x": (-1, 1)}),
    ("N4", "x**6 + x**5 + x**4 + x**3 + x**2 + x", {"x": (-1, 1)}),
    ("N5", "sin(x**2)*cos(x) - 1", {"x": (-1, 1)}),
    ("N6", "sin(x) + sin(x + x**2)", {"x": (-1, 1)}),
    ("N7", "log(x + 1) + log(x**2 + 1)", {"x": (0, 2)}),
    ("N8", "sqrt(x)", {"x": (0, 4)}),
    ("N9", "sin(x) + sin(y**2)", {"x": (0, 1), "y": (0, 1)}),
    ("N10", "2*sin(x)*cos(y)", {"x": (0, 1), "y": (0, 1)}),
    ("N11", "x**y", {"x": (0, 1), "y": (0, 1)}),
    ("N12", "x**4 - x**3 + y**2/2 - y", {"x": (0, 1), "y": (0, 1)}),
]
FEYNMAN = [
    ("I.6.2a", "exp(-theta**2/2)/sqrt(2*pi)", {"theta": (1, 3)}),
    ("I.6.2", "exp(-(theta/sigma)**2/2)/(sqrt(2*pi)*sigma)", {"sigma": (1, 3), "theta": (1, 3)}),
    ("I.10.7", "m_0/sqrt(1 - v**2/c**2)", {"m_0": (1, 5), "v": (1, 2), "c": (3, 10)}),
    ("I.12.1", "mu*Nn", {"mu": (1, 5), "Nn": (1, 5)}),
    ("I.12.4", "q1/(4*pi*epsilon*r**2)", {"q1": (1, 5), "epsilon": (1, 5), "r": (1, 5)}),
    ("I.14.3", "m*g*z", {"m": (1, 5), "g": (1, 5), "z": (1, 5)}),
    ("I.14.4", "k_spring*x**2/2", {"k_spring": (1, 5), "x": (1, 5)}),
    ("I.25.13", "q/C", {"q": (1, 5), "C": (1, 5)}),
    ("I.26.2", "asin(n*sin(theta2))", {"n": (0, 1), "theta2": (1, 5)}),
    ("I.29.4", "omega/c", {"omega": (1, 10), "c": (1, 10)}),
    ("I.34.27", "h/(2*pi)*omega", {"h": (1, 5), "omega": (1, 5)}),
    ("I.39.1", "3/2*pF*V", {"pF": (1, 5), "V": (1, 5)}),
    ("II.3.24", "Pwr/(4*pi*r**2)", {"Pwr": (1, 5), "r": (1, 5)}),
    ("II.27.18", "epsilon*Ef**2", {"epsilon": (1, 5), "Ef": (1, 5)}),
    ("II.38.14", "Y/(2*(1 + sigma))", {"Y": (1, 5), "sigma": (1, 5)}),
]
QUICK = ("N1", "N5", "N9", "N11", "I.12.4", "I.10.7")
TRAIN, TEST = 300, 1000
METHODS = ("annrl data", "annrl net", "operon", "gplearn")


def problem(formula: str, domain: dict[str, tuple[float, float]], seed: int = 0) -> dict[str, Any]:
    names = list(domain)
    truth = parse_expression(formula, names)
    f = lambdify_numpy(truth, names)
    rng = np.random.default_rng(seed)
    low, high = np.array(list(domain.values()), dtype=float).T
    X, X_test = rng.uniform(low, high, (TRAIN, len(names))), rng.uniform(low, high, (TEST, len(names)))
    return {"names": names, "truth": truth, "X": X, "y": f(*X.T), "X_test": X_test, "y_test": f(*X_test.T),
            "low": low, "high": high}


# -- the methods: each returns (SymPy expression of sympy.Symbol(name), extra fields) -----------------


def run_annrl_data(p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from annrl.symbolic import fit_formula

    r = fit_formula(p["X"], p["y"], inputs=p["names"], tolerance=1e-3, max_seconds=40)
    return _plain(r.expression), {"recovered": r.recovered, "tolerance": r.tolerance, "guidance": r.guidance}


def run_annrl_net(p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from annrl.nn import MLP
    from annrl.nn.lbfgs import fit_lbfgs
    from annrl.symbolic import extract_formula

    low, high = p["low"], p["high"]
    y_mean, y_scale = float(np.mean(p["y"])), float(np.std(p["y"]))
    net = MLP([len(low), 32, 1], hidden="tanh", init="torch", seed=0)
    U = 2 * (p["X"] - low) / (high - low) - 1
    fit_lbfgs(net, U, ((p["y"] - y_mean) / y_scale)[:, None], until=1e-9, max_iter=3000)
    scaling = {"low": low.tolist(), "high": high.tolist(), "y_mean": y_mean, "y_scale": y_scale}
    r = extract_formula(net, inputs=p["names"], scaling=scaling, tolerance=1e-2, max_seconds=40)
    prediction = np.asarray(net.predict(2 * (p["X_test"] - low) / (high - low) - 1))[0, :, 0] * y_scale + y_mean
    return _plain(r.expression), {"recovered": r.recovered, "tolerance": r.tolerance, "guidance": r.guidance,
                                  "network_error": _relative(prediction, p["y_test"])}


def run_operon(p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from pyoperon.sklearn import SymbolicRegressor

    model = SymbolicRegressor(allowed_symbols="add,sub,mul,div,square,sqrt,exp,log,sin,cos,constant,variable",
                              population_size=1000, max_evaluations=500_000, max_time=20, n_threads=1,
                              random_state=0)
    model.fit(p["X"], p["y"])
    text = model.get_model_string(model.model_, 12, [f"X{i + 1}" for i in range(len(p["names"]))])
    expr = parse_expression(text.replace("^", "**"), [f"X{i + 1}" for i in range(len(p["names"]))])
    return expr.subs({sympy.Symbol(f"X{i + 1}"): sympy.Symbol(n) for i, n in enumerate(p["names"])}), {}


def run_gplearn(p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from gplearn.genetic import SymbolicRegressor

    model = SymbolicRegressor(population_size=1000, generations=20, parsimony_coefficient=0.001, random_state=0,
                              function_set=("add", "sub", "mul", "div", "sqrt", "log", "sin", "cos"), n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(p["X"], p["y"])
    return _gplearn_sympy(model._program.program, [sympy.Symbol(n) for n in p["names"]]), {}


#: gplearn's protected functions, as the formulas they are away from their guards
_GPLEARN = {"add": sympy.Add, "sub": lambda a, b: a - b, "mul": sympy.Mul, "div": lambda a, b: a / b,
            "sqrt": lambda a: sympy.sqrt(sympy.Abs(a)), "log": lambda a: sympy.log(sympy.Abs(a)),
            "sin": sympy.sin, "cos": sympy.cos, "neg": lambda a: -a, "inv": lambda a: 1 / a}


def _gplearn_sympy(program: list[Any], symbols: list[Any]) -> Any:
    """gplearn's prefix node list (functions, feature indices, floats) as SymPy, built node by node."""
    stack: list[list[Any]] = []
    for node in program:
        if hasattr(node, "arity"):
            stack.append([node])
            continue
        leaf = symbols[node] if isinstance(node, (int, np.integer)) else sympy.Float(node)
        if not stack:  # a program of one terminal
            return leaf
        stack[-1].append(leaf)
        while len(stack[-1]) == stack[-1][0].arity + 1:
            fn, *args = stack.pop()
            value = _GPLEARN[fn.name](*args)
            if not stack:
                return value
            stack[-1].append(value)
    return stack[0] if stack else sympy.Integer(0)


RUNNERS = {"annrl data": run_annrl_data, "annrl net": run_annrl_net, "operon": run_operon, "gplearn": run_gplearn}


# -- scoring -----------------------------------------------------------------------------------------


def _plain(expr: Any) -> Any:
    """annrl's real symbols as plain ones, to compare with the truth."""
    return expr.subs({s: sympy.Symbol(s.name) for s in expr.free_symbols})


def _relative(prediction: np.ndarray, y: np.ndarray) -> float:
    if not np.all(np.isfinite(prediction)):
        return float("inf")
    return float(np.sqrt(np.mean((prediction - y) ** 2)) / np.std(y))


class _Timeout(Exception):
    pass


def _with_timeout(seconds: int, f: Any) -> Any:
    def alarm(*_: Any) -> None:
        raise _Timeout

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        return f()
    except _Timeout:
        return None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def on_domain(expr: Any, domain: dict[str, tuple[float, float]]) -> Any:
    """``expr`` with each variable declared positive (or nonnegative) where its domain is, so that
    ``sqrt(Abs(x))`` is ``sqrt(x)`` and logarithms of products split, as they do on the domain."""
    replace = {}
    for name, (low, _) in domain.items():
        if low >= 0:
            replace[sympy.Symbol(name)] = sympy.Symbol(name, positive=True) if low > 0 else \
                sympy.Symbol(name, nonnegative=True)
    return expr.xreplace(replace)


def exact(expr: Any, truth: Any, error: float, domain: dict[str, tuple[float, float]]) -> bool:
    """Symbolically equal to ``truth`` on the domain, or so once each constant moves by at most 1e-3 relative to
    a simple value (constants under 1e-3 in size count as 0)."""
    if not error < 1e-2:  # far off numerically: no simplification can make it equal
        return False
    truth = on_domain(truth, domain)

    def equal(e: Any) -> bool:
        difference = sympy.expand_log(on_domain(e, domain) - truth, force=True)
        return sympy.simplify(difference) == 0

    if _with_timeout(20, lambda: equal(expr)):
        return True
    floats = sorted(expr.atoms(sympy.Float), key=lambda f: -abs(float(f)))
    near = {}
    for f in floats:
        close = [v for v in simple_values(float(f))[:-2] if abs(float(v) - float(f)) <= 1e-3 * abs(float(f))]
        near[f] = close[0] if close else sympy.Integer(0) if abs(float(f)) < 1e-3 else f
    return bool(_with_timeout(20, lambda: equal(expr.xreplace(near))))


def rescore(path: str) -> list[dict[str, Any]]:
    """The rows of a results file with ``exact`` checked again (the expressions read by the whitelist parser)."""
    domains = {pid: domain for pid, _, domain in NGUYEN + FEYNMAN}
    rows = json.load(open(path))
    for row in rows:
        if "expression" in row:
            p = problem(dict((pid, f) for pid, f, _ in NGUYEN + FEYNMAN)[row["id"]], domains[row["id"]])
            expr = parse_expression(row["expression"].replace("Abs(", "abs("), p["names"])
            row["exact"] = exact(expr, p["truth"], row["held_out"], domains[row["id"]])
    return rows


def evaluate(pid: str, p: dict[str, Any], method: str, domain: dict[str, tuple[float, float]]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        expr, extra = RUNNERS[method](p)
    except Exception as err:  # a peer failing on one formula is a result, not the end of the run
        return {"id": pid, "method": method, "error": f"{type(err).__name__}: {err}", "exact": False,
                "held_out": float("inf"), "seconds": time.perf_counter() - start}
    seconds = time.perf_counter() - start
    names = p["names"]
    try:
        prediction = lambdify_numpy(expr, names)(*p["X_test"].T)
    except Exception:
        prediction = np.full(len(p["y_test"]), np.nan)
    held_out = _relative(np.broadcast_to(prediction, p["y_test"].shape), p["y_test"])
    row = {"id": pid, "method": method, "expression": str(expr), "held_out": held_out, "seconds": seconds,
           "exact": exact(expr, p["truth"], held_out, domain), **extra}
    if "recovered" in row:
        row["false_claim"] = bool(row["recovered"] and not held_out <= row["tolerance"])
    return row


def show(row: dict[str, Any]) -> None:
    flags = f"exact={row['exact']!s:5} " + (f"recovered={row['recovered']!s:5} " if "recovered" in row else "")
    print(f"{row['id']:9} {row['method']:11} {flags}held-out {row['held_out']:9.2e} {row['seconds']:6.1f}s  "
          f"{row.get('expression', row.get('error'))}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--only", nargs="*", default=None, help="formula ids to run")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    parser.add_argument("--json", default=None, help="write every row to this file")
    parser.add_argument("--rescore", nargs="*", default=None, help="check 'exact' again in these results files")
    args = parser.parse_args()
    chosen = args.only or (QUICK if args.quick else None)
    rows = []
    if args.rescore:
        rows = [row for path in args.rescore for row in rescore(path)]
    for pid, formula, domain in [] if args.rescore else NGUYEN + FEYNMAN:
        if chosen and pid not in chosen:
            continue
        p = problem(formula, domain)
        for method in args.methods:
            rows.append(evaluate(pid, p, method, domain))
            show(rows[-1])
    for row in rows if args.rescore else []:
        show(row)
    print()
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        for group, prefix in (("Nguyen", "N"), ("Feynman", "I")):
            part = [r for r in mine if r["id"].startswith(prefix)]
            if part:
                claims = sum(r.get("recovered", False) for r in part)
                false = sum(r.get("false_claim", False) for r in part)
                seconds = [r["seconds"] for r in part]
                print(f"{method:11} {group:8} exact {sum(r['exact'] for r in part):2}/{len(part):2}  "
                      f"claimed {claims:2}  false claims {false}  median {np.median(seconds):5.1f}s"
                      f"  max {max(seconds):5.1f}s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
