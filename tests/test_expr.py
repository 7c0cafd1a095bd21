"""User expressions: whitelist grammar, exact SymPy results, clean errors, nothing ever executed."""

from __future__ import annotations

import builtins
import itertools

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annrl.errors import InputError
from annrl.expr import MAX_LENGTH, lambdify_numpy, parse_expression

x, y, t = sympy.symbols("x y t")
a, b, c, d = sympy.symbols("a b c d")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x*exp(-x**2)", x * sympy.exp(-(x**2))),
        ("sin(x) + cos(2*x)/3", sympy.sin(x) + sympy.cos(2 * x) / 3),
        ("x^2 + 1", x**2 + 1),  # "^" is a power with the precedence of "**"
        ("-x**2", -(x**2)),
        ("2**-1", sympy.Rational(1, 2)),
        ("0.5*x - 1e-3", sympy.Float(0.5) * x - sympy.Float(1e-3)),
        ("sqrt(abs(x)) * sign(x)", sympy.sqrt(sympy.Abs(x)) * sympy.sign(x)),
        ("atan2(y, x) + tanh(x) - log(x, 2)", sympy.atan2(y, x) + sympy.tanh(x) - sympy.log(x, 2)),
        ("max(x, 0) + min(x, y, 1)", sympy.Max(x, 0) + sympy.Min(x, y, 1)),
        ("Heaviside(x - 1) * floor(x) + ceil(y)", sympy.Heaviside(x - 1) * sympy.floor(x) + sympy.ceiling(y)),
        ("pi * E * sinc(x)", sympy.pi * sympy.E * sympy.sinc(x)),
        ("sigmoid(x) + relu(y)", 1 / (1 + sympy.exp(-x)) + sympy.Max(0, y)),
        ("1.1*x - 0.4*x*y", sympy.Float(1.1) * x - sympy.Float(0.4) * x * y),
    ],
)
def test_valid_expressions_equal_their_sympy_counterparts(text, expected):
    assert parse_expression(text) == expected


def test_result_matches_sympys_own_parser_on_trusted_text():
    for text in ("x*exp(-x**2)", "sin(x)**2 + cos(x)**2 - 1", "(x + 1)/(x - 1)", "3*x**4 - 2*x + 7"):
        assert parse_expression(text) == sympy.parse_expr(text)


def test_variables_restrict_names_and_shadow_constants():
    assert parse_expression("x*y - t", ["x", "y", "t"]) == x * y - t
    assert parse_expression("E*x", ["E", "x"]) == sympy.Symbol("E") * x
    with pytest.raises(InputError, match=r"unknown name 'z' \(allowed variables: x, y\) \(at column 5\)"):
        parse_expression("x + z", ["x", "y"])
    for bad in (["__x"], ["a.b"], "xy", ["sin"]):
        with pytest.raises(InputError, match="variable"):
            parse_expression("1", bad)


def truth_table(formula, variables):
    values = {}
    for bits in itertools.product([False, True], repeat=len(variables)):
        assignment = dict(zip(variables, bits, strict=True))
        values[bits] = bool(formula.subs(assignment))
    return values


@pytest.mark.parametrize(
    ("text", "python"),
    [
        ("(a & ~b) | (c ^ d)", lambda a, b, c, d: (a and not b) or (c != d)),
        ("a and not b or c", lambda a, b, c, d: (a and not b) or c),
        ("a >> b", lambda a, b, c, d: (not a) or b),
        ("(a == b) & (c != d)", lambda a, b, c, d: (a == b) and (c != d)),
        ("Implies(a, b | c) & Xor(a, d)", lambda a, b, c, d: ((not a) or b or c) and (a != d)),
        ("a & 1 | 0 & b", lambda a, b, c, d: a),
        ("True & ~False & a", lambda a, b, c, d: a),
        ("ITE(a, b, c) | Nand(c, d) & Nor(a, b)", lambda a, b, c, d: (b if a else c) or
         (not (c and d) and not (a or b))),
    ],
)
def test_boolean_formulas_have_the_right_truth_table(text, python):
    formula = parse_expression(text, boolean=True)
    assert isinstance(formula, sympy.logic.boolalg.Boolean)
    symbols = [a, b, c, d]
    for bits, value in truth_table(formula, symbols).items():
        assert value == bool(python(*bits)), (text, bits)
    function = lambdify_numpy(formula, ["a", "b", "c", "d"])
    columns = np.array(list(itertools.product([False, True], repeat=4))).T
    expected = [python(*row) for row in itertools.product([False, True], repeat=4)]
    assert function(*columns).tolist() == [bool(v) for v in expected]


@pytest.mark.parametrize(
    ("text", "boolean", "expected"),
    [
        ("x.__class__", False, "expression 'x.__class__': attribute access is not allowed (at column 1)"),
        ("y + x.real", False, "expression 'y + x.real': attribute access 'x.real' is not allowed (at column 5)"),
        ("__import__('os').system('id')", False, "attribute access \"__import__('os').system\" is not allowed"),
        ("__import__('os')", False, "name '__import__' is not allowed (names may not start with '_')"),
        ("x[0]", False, "indexing is not allowed (at column 1)"),
        ("(lambda: 1)()", False, "lambdas 'lambda: 1' are not allowed (at column 2)"),
        ("'abc'", False, "strings are not allowed"),
        ("x if y else 0", False, "conditional expressions are not allowed"),
        ("[i for i in x]", False, "comprehensions are not allowed"),
        ("(x, y)", False, "tuples are not allowed"),
        ("f'{x}'", False, "f-strings are not allowed"),
        ("eval('1')", False, "unknown function 'eval'; allowed: Heaviside, abs, acos"),
        ("sin(x, y)", False, "function 'sin' takes 1 argument, got 2 (at column 1)"),
        ("sin(x=1)", False, "keyword arguments 'x=1' are not allowed (at column 5)"),
        ("exp", False, "function 'exp' must be called with arguments, e.g. exp(x)"),
        ("x**1000", False, "expression 'x**1000': exponent '1000' is too large (at most 100 in size) (at column 4)"),
        ("9^9^9", False, "exponent '9^9' is too large"),
        ("2**2**2**2**2", False, "exponent '2**2**2**2' is too large"),
        ("(10**99)**99", False, "power would have more than 1000 digits"),
        # SymPy multiplies nested exponents, so each one being small is not enough
        ("((((x**100)**100)**100)**100)", False, "power '(x**100)**100' has exponent 10000 once nested exponents "
                                                 "multiply (at most 100 in size) (at column 4)"),
        ("(x**11)**10", False, "power has exponent 110 once nested exponents multiply"),
        ("exp(exp(exp(10)))", False, "the number 'exp(exp(10))' has more than 1000 digits (at column 5)"),
        ("1/0", False, "the value is infinite or undefined (a division by zero?)"),
        ("x % 3", False, "operator '%' is not allowed in numeric expressions"),
        ("acos(2)", False, "the value is not a real number"),
        ("x + log(-1)", False, "the value 'log(-1)' is not a real number (at column 5)"),
        ("1e999", False, "number is out of range"),
        ("2j", False, "complex numbers are not allowed"),
        ("x < 1", False, "comparison '<' is not allowed; for a step function use Heaviside(x)"),
        ("x // 2", False, "operator '//' is not allowed in numeric expressions"),
        ("a & b", False, "operator '&' is only allowed in boolean expressions"),
        ("a + b", True, "operator '+' is not allowed in boolean expressions; use & | ~ ^ >> == !="),
        ("a & 2", True, "only True, False, 1 and 0 are allowed as constants"),
        ("True", False, "True and False are only allowed in boolean expressions"),
        ("a < b", True, "comparison '<' is not allowed in boolean expressions"),
        ("x +", False, "expression 'x +': invalid syntax (at column 4)"),
        ("sin(x", False, "invalid syntax, '(' was never closed (at column 4)"),
        ("x = 1", False, "invalid syntax"),
        ("import os", False, "invalid syntax"),
        ("x; y", False, "invalid syntax"),
        ("", False, "expression '' is empty"),
        ("   ", False, "expression '' is empty"),
        ("x\ny", False, "character '\\n' is not allowed (at column 2)"),
        ("x + \u03c0", False, "character 'π' is not allowed (at column 5)"),
        ("-" * 60 + "x", False, "nesting deeper than 40 levels is not allowed"),
        ("(" * 300 + "x" + ")" * 300, False, "too many nested parentheses"),
        ("x+" * 600 + "x", False, f"is 1201 characters long; the limit is {MAX_LENGTH}"),
    ],
)
def test_refusals_quote_the_part_and_the_column(text, boolean, expected):
    with pytest.raises(InputError) as caught:
        parse_expression(text, boolean=boolean)
    message = str(caught.value)
    assert expected in message
    assert message.startswith("expression ") and "\n" not in message and len(message) < 400


def test_work_beyond_the_time_limit_is_refused(monkeypatch):
    monkeypatch.setattr("annrl.expr.MAX_SECONDS", 0.2)
    slow = "ceiling((ceiling(asin((pi*x)))**cosh((Heaviside(x)*(x**100)))))"  # seconds of SymPy work
    with pytest.raises(InputError, match=r"takes too long to process \(more than 0.2 s\); simplify it"):
        parse_expression(slow)
    monkeypatch.undo()  # the normal limit again: a loaded machine can take 0.2 s for anything
    assert parse_expression("ceiling(x)**2") == sympy.ceiling(x) ** 2  # SymPy still sound afterwards


def test_non_strings_are_refused():
    with pytest.raises(InputError, match="expression must be a string, got int"):
        parse_expression(3)


def test_lambdify_numpy_evaluates_and_broadcasts():
    f = lambdify_numpy(parse_expression("x*exp(-x**2) + y"), ["x", "y"])
    grid = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(f(grid, 1.0), grid * np.exp(-(grid**2)) + 1.0)
    constant = lambdify_numpy(parse_expression("2"), ["x"])
    assert constant(np.zeros((3, 2))).shape == (3, 2) and constant(np.zeros(4)).dtype == np.float64
    steps = lambdify_numpy(parse_expression("Heaviside(x) + sinc(x) + erf(x)"), ["x"])
    np.testing.assert_allclose(steps(np.array([-1.0, 0.0])), [np.sin(-1.0) / -1.0 - 0.8427007929, 1.5], atol=1e-9)
    with pytest.raises(InputError, match=r"expression uses y, which is not among the variables \(x\)"):
        lambdify_numpy(parse_expression("x + y"), ["x"])


# nothing ever runs ---------------------------------------------------------------------------
def payloads(marker: str) -> list[str]:
    return [
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w').write('x')",
        f"exec(\"open('{marker}','w')\")",
        f"eval(\"open('{marker}','w')\")",
        f"().__class__.__base__.__subclasses__()[0]('{marker}')",
        f"(lambda: open('{marker}', 'w'))()",
        f"[open('{marker}', 'w') for _ in x]",
        f"sympify(\"open('{marker}', 'w')\")",
        f"Symbol('x').__class__.__init__.__globals__['os'].system('touch {marker}')",
        f"x if open('{marker}', 'w') else y",
        f"f\"{{open('{marker}', 'w')}}\"",
    ]


def test_dangerous_payloads_are_refused_and_run_nothing(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"

    def forbidden(*args, **kwargs):
        raise AssertionError("user text reached eval/exec")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    for text in payloads(str(marker)):
        for boolean in (False, True):
            with pytest.raises(InputError):
                parse_expression(text, boolean=boolean)
    assert not marker.exists()
    assert parse_expression("x*exp(-x**2)") == x * sympy.exp(-(x**2))  # still works without eval


ALPHABET = st.sampled_from(list("xyzab01239.eE+-*/%^&|~<>=!()[]{}:;,'\" _\\\t") + [
    "sin(", "exp(", "log(", "max(", "**", "__", "lambda", "import", "os", ".system", "__class__",
    "open(", "Implies(", "True", "not ", " and ", " or ", "1e999", "9**9**9", "pi", "\n", "\x00", "é",
])
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.lists(ALPHABET, max_size=40).map("".join), st.booleans())
def test_random_strings_give_a_result_or_an_input_error_only(text, boolean):
    try:
        result = parse_expression(text, boolean=boolean)
    except InputError as err:
        assert str(err).startswith("expression") and "\n" not in str(err)
    else:
        assert isinstance(result, sympy.Basic)
        assert not result.has(sympy.zoo, sympy.nan) or boolean


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_unicode_never_crashes(text):
    try:
        parse_expression(text)
    except InputError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="0123456789.e+-*/^()x", min_size=1, max_size=30))
def test_arithmetic_soup_evaluates_numerically_when_accepted(text):
    try:
        expr = parse_expression(text, ["x"])
    except InputError:
        return
    value = lambdify_numpy(expr, ["x"])(np.array([0.5, 2.0]))
    assert value.shape == (2,) and value.dtype == np.float64
