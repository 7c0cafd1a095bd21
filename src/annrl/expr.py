"""Expressions typed by users, parsed from a whitelist grammar into SymPy; nothing is evaluated.

``parse_expression("x*exp(-x**2)")`` reads the text with Python's own parser (``ast.parse``,
which builds a tree and runs nothing), walks the tree allowing only numbers, names,
whitelisted functions and constants and the arithmetic or logical operators, and builds the
SymPy expression itself, node by node. The user's text never reaches ``eval`` or
``sympify``. Anything else (attribute access, indexing, lambdas, strings, keywords, names
starting with ``_``, calls of other functions, exponents above 100 in size, numbers of more
than 1000 digits, nesting deeper than 40 levels, texts over 1000 characters) raises
:class:`~annrl.errors.InputError` quoting the offending part and its column::

    expression 'x.__class__': attribute access is not allowed (at column 1)

Numeric grammar: ``+ - * / **`` (``^`` is read as ``**``, as mathematicians write it),
unary ``-`` and ``+``, the functions in :data:`NUMERIC_FUNCTIONS` and the constants ``pi``
and ``E``. Boolean grammar (``boolean=True``): ``& | ~ ^`` (and, or, not, xor), ``and``,
``or``, ``not``, ``>>`` (implies), ``==`` (equivalent), ``!=`` (xor), ``True``/``False``/
``1``/``0`` and the functions in :data:`BOOLEAN_FUNCTIONS`.
"""

from __future__ import annotations

import ast
import math
import signal
import string
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import sympy
from sympy.logic import boolalg

from annrl.errors import InputError

MAX_LENGTH = 1000
MAX_DEPTH = 40
MAX_EXPONENT = 100
MAX_DIGITS = 1000
MAX_SECONDS = 5.0  # SymPy's automatic simplification can be slow on contrived inputs

# name -> (SymPy builder, least and most number of arguments; None = any number)
NUMERIC_FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "sin": (sympy.sin, 1, 1), "cos": (sympy.cos, 1, 1), "tan": (sympy.tan, 1, 1),
    "asin": (sympy.asin, 1, 1), "acos": (sympy.acos, 1, 1), "atan": (sympy.atan, 1, 1),
    "atan2": (sympy.atan2, 2, 2),
    "sinh": (sympy.sinh, 1, 1), "cosh": (sympy.cosh, 1, 1), "tanh": (sympy.tanh, 1, 1),
    "asinh": (sympy.asinh, 1, 1), "acosh": (sympy.acosh, 1, 1), "atanh": (sympy.atanh, 1, 1),
    "exp": (sympy.exp, 1, 1), "log": (sympy.log, 1, 2), "ln": (sympy.log, 1, 1),
    "sqrt": (sympy.sqrt, 1, 1), "abs": (sympy.Abs, 1, 1), "sign": (sympy.sign, 1, 1),
    "floor": (sympy.floor, 1, 1), "ceiling": (sympy.ceiling, 1, 1), "ceil": (sympy.ceiling, 1, 1),
    "min": (sympy.Min, 2, None), "max": (sympy.Max, 2, None),
    "Heaviside": (sympy.Heaviside, 1, 1), "sinc": (sympy.sinc, 1, 1), "erf": (sympy.erf, 1, 1),
    # The two activations the labs approximate most, written out so SymPy can differentiate them.
    "sigmoid": (lambda x: 1 / (1 + sympy.exp(-x)), 1, 1),
    "relu": (lambda x: sympy.Max(0, x), 1, 1),
}
NUMERIC_CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "E": sympy.E}
BOOLEAN_FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "Implies": (boolalg.Implies, 2, 2), "Equivalent": (boolalg.Equivalent, 2, None),
    "Xor": (boolalg.Xor, 2, None), "Nand": (boolalg.Nand, 2, None), "Nor": (boolalg.Nor, 2, None),
    "ITE": (boolalg.ITE, 3, 3),
}

_NUMERIC_BINARY = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_BOOLEAN_BINARY = {
    ast.BitAnd: boolalg.And, ast.BitOr: boolalg.Or, ast.BitXor: boolalg.Xor, ast.RShift: boolalg.Implies,
}
_OPERATOR_SYMBOLS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%", ast.Pow: "**",
    ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.RShift: ">>", ast.LShift: "<<",
    ast.FloorDiv: "//", ast.MatMult: "@", ast.USub: "-", ast.UAdd: "+", ast.Invert: "~", ast.Not: "not",
    ast.And: "and", ast.Or: "or", ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=",
    ast.Gt: ">", ast.GtE: ">=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}
_FORBIDDEN = {  # node type -> (what it is, verb), for "attribute access is not allowed"
    ast.Attribute: ("attribute access", "is"), ast.Subscript: ("indexing", "is"),
    ast.Lambda: ("lambdas", "are"), ast.IfExp: ("conditional expressions", "are"),
    ast.NamedExpr: ("assignments", "are"), ast.ListComp: ("comprehensions", "are"),
    ast.SetComp: ("comprehensions", "are"), ast.DictComp: ("comprehensions", "are"),
    ast.GeneratorExp: ("comprehensions", "are"), ast.List: ("lists", "are"), ast.Tuple: ("tuples", "are"),
    ast.Set: ("sets", "are"), ast.Dict: ("dicts", "are"), ast.JoinedStr: ("f-strings", "are"),
    ast.Starred: ("starred expressions", "are"), ast.Slice: ("slices", "are"),
    ast.Await: ("await", "is"), ast.Yield: ("yield", "is"), ast.YieldFrom: ("yield", "is"),
}
_ALLOWED_CHARACTERS = frozenset(string.ascii_letters + string.digits + string.punctuation + " \t")


def parse_expression(
    text: str, variables: Sequence[str] | None = None, *, boolean: bool = False
) -> sympy.Basic:
    """Parse a user's expression into SymPy through a whitelist grammar; run nothing.

    Parameters
    ----------
    text : str
        The expression, at most 1000 characters, e.g. ``"x*exp(-x**2)"`` or
        ``"(a & ~b) | (c ^ d)"``.
    variables : sequence of str, optional
        The names it may use. Default: any identifier of ASCII letters, digits and
        underscores that does not start with ``_`` and is not a function's name. A variable
        named like a constant (``E``) is the variable.
    boolean : bool, default=False
        Read a logical formula instead of an arithmetic expression.

    Returns
    -------
    sympy.Expr or sympy.logic.boolalg.Boolean
        Built from plain ``sympy.Symbol(name)`` symbols, so it compares equal to the same
        expression written directly in SymPy.

    Raises
    ------
    InputError
        For anything outside the grammar, with the offending part and its column.
    """
    if not isinstance(text, str):
        raise InputError(f"expression must be a string, got {type(text).__name__}", field="expression")
    allowed = None if variables is None else _checked_variables(variables, boolean)
    builder = _Builder(text.strip(), allowed, boolean)
    with _time_limit(MAX_SECONDS, builder.error):
        result = builder.build(builder.parse().body, depth=1)
    if not boolean and result.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):  # e.g. x/0 = zoo*x
        raise builder.error("the value is infinite or undefined (a division by zero?)")
    return result


def lambdify_numpy(expr: sympy.Basic, variables: Sequence[str]) -> Callable[..., np.ndarray]:
    """A NumPy function of ``variables`` (in that order) computing ``expr`` element-wise.

    Parameters
    ----------
    expr : sympy.Basic
        A validated expression, e.g. from :func:`parse_expression`.
    variables : sequence of str
        The argument names, in order; every free symbol of ``expr`` must be among them.

    Returns
    -------
    callable
        ``f(*arrays) -> ndarray`` with the broadcast shape of the arrays; float64, or bool for
        a logical formula. A constant expression still returns an array of that shape.
    """
    names = [str(v) for v in variables]
    missing = sorted(str(s) for s in expr.free_symbols if str(s) not in names)
    if missing:
        raise InputError(
            f"expression uses {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
            f"not among the variables ({', '.join(names) or 'none'})",
            field="expression",
        )
    # The code lambdify writes comes from a tree we built ourselves from checked names, so its
    # internal exec cannot run anything a user typed.
    shown = repr(str(expr)[:60])
    try:
        with _time_limit(MAX_SECONDS, lambda problem: InputError(f"expression {shown} {problem}")):
            raw = sympy.lambdify([sympy.Symbol(n) for n in names], _float_constants(expr), modules=_MODULES)
    except InputError:
        raise
    except Exception as err:  # a printer that cannot write some exotic node
        raise InputError(f"expression {shown} cannot be turned into a NumPy function ({err})") from None

    def function(*arrays: Any) -> np.ndarray:
        if len(arrays) != len(names):
            wanted = f"{len(names)} arrays ({', '.join(names)})"
            raise InputError(f"the function takes {wanted}, got {len(arrays)}")
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
        try:
            with np.errstate(all="ignore"):  # inf and nan are results here, as in NumPy
                out = np.asarray(raw(*arrays))
        except (TypeError, ValueError, ArithmeticError) as err:
            raise InputError(f"expression {shown} cannot be evaluated on arrays ({err})") from None
        if np.iscomplexobj(out):
            raise InputError(f"expression {shown} takes complex values")
        out = out if out.dtype == np.bool_ else out.astype(np.float64)
        return np.array(np.broadcast_to(out, shape))

    return function


class _OutOfTime(BaseException):
    """Raised by the timer; a BaseException so that no ``except Exception`` in SymPy swallows it."""


@contextmanager
def _time_limit(seconds: float, error: Callable[[str], InputError]) -> Iterator[None]:
    """Refuse work that takes longer than ``seconds``, with ``error("takes too long ...")``.

    Uses a SIGALRM timer, so only in the main thread on POSIX; elsewhere (a web server's worker
    threads) it does nothing and the caller should parse in a subprocess with a timeout.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    outer_delay, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)  # a timer firing up to here is caught below
    except _OutOfTime:
        # SymPy may have cached half-finished results (an assumption marked unknown while it
        # was being computed): drop its caches so that later expressions are not affected.
        sympy.core.cache.clear_cache()
        problem = f"takes too long to process (more than {seconds:g} s); simplify it"
        raise error(problem) from None
    finally:
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        if outer_delay:  # someone else's timer was running: give it back (roughly)
            signal.setitimer(signal.ITIMER_REAL, outer_delay)


class _LogicalReduce:
    """A NumPy logical ufunc whose ``reduce`` takes a tuple mixing arrays and bare booleans.

    SymPy prints ``a | Equivalent(a, ~a)`` as ``logical_or.reduce((a, False))``: it writes a
    sub-expression it can decide as a literal, and NumPy would turn that tuple into a ragged array.
    """

    def __init__(self, ufunc: np.ufunc):
        self.ufunc = ufunc

    def __call__(self, *args: Any) -> Any:
        return self.ufunc(*args)

    def reduce(self, operands: Sequence[Any], axis: int = 0) -> Any:
        result = operands[0]
        for operand in operands[1:]:
            result = self.ufunc(result, operand)
        return result


# NumPy's own heaviside, called directly: SymPy's printer would rewrite Heaviside as a Piecewise
# and simplify its conditions, which takes seconds for nested arguments. H(0) = 1/2, as in SymPy.
_MODULES = [{"Heaviside": lambda x, h0=0.5: np.heaviside(x, h0), "logical_or": _LogicalReduce(np.logical_or),
             "logical_and": _LogicalReduce(np.logical_and)}, "scipy", "numpy"]


def _float_constants(expr: sympy.Basic) -> sympy.Basic:
    """``expr`` with each constant part turned into one float literal (20 digits).

    So that no exact integer too big for float64 (a NumPy object array) and no Python-float
    overflow (``1e308**pi``) reaches NumPy: a constant beyond float64 becomes inf, as in NumPy.
    """
    if not isinstance(expr, sympy.Expr) or isinstance(expr, sympy.Symbol):
        return expr
    if expr.is_number:
        small_integer = isinstance(expr, sympy.Integer) and abs(expr) <= 2**53
        return expr if small_integer else sympy.Float(sympy.N(expr, 20), 20)
    if not expr.args:
        return expr
    return expr.func(*(_float_constants(arg) for arg in expr.args))


def _checked_variables(variables: Sequence[str], boolean: bool) -> frozenset[str]:
    functions = BOOLEAN_FUNCTIONS if boolean else NUMERIC_FUNCTIONS
    if isinstance(variables, str):
        message = f"variables must be a list of names, got the string {variables!r}"
        raise InputError(message, field="variables")
    for name in variables:
        if not isinstance(name, str) or not _is_plain_identifier(name):
            raise InputError(
                f"variables must be identifiers of ASCII letters, digits and '_' not starting with '_', "
                f"got {name!r}",
                field="variables",
            )
        if name in functions:
            raise InputError(f"variable {name!r} has the name of a function", field="variables")
    return frozenset(variables)


def _is_plain_identifier(name: str) -> bool:
    return name.isidentifier() and name.isascii() and not name.startswith("_")


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Builder:
    """Walks a parsed tree, refusing what the grammar does not allow, building SymPy."""

    def __init__(self, source: str, variables: frozenset[str] | None, boolean: bool) -> None:
        self.source = source
        self.variables = variables
        self.boolean = boolean
        self.functions = BOOLEAN_FUNCTIONS if boolean else NUMERIC_FUNCTIONS
        self.constants = {} if boolean else NUMERIC_CONSTANTS
        self.mode = "boolean" if boolean else "numeric"
        # In numeric mode "^" means "**". Replacing it in the text (not in the tree) gives it the
        # precedence of "**": "x^2 + 1" is x**2 + 1, not x ^ 3. Strings are refused, so no "^"
        # inside a string literal can be changed by mistake.
        self.carets = [] if boolean else [i for i, c in enumerate(source) if c == "^"]
        self.parsed = source if boolean else source.replace("^", "**")

    def parse(self) -> ast.Expression:
        """Check length and characters, then parse with Python's parser (which runs nothing)."""
        if not self.source:
            raise self.error("is empty")
        if len(self.source) > MAX_LENGTH:
            raise self.error(f"is {len(self.source)} characters long; the limit is {MAX_LENGTH}")
        for column, char in enumerate(self.source, start=1):
            if char not in _ALLOWED_CHARACTERS:
                raise self.error(f"character {char!r} is not allowed (at column {column})")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. SyntaxWarning for "1 is 1"; refused anyway
                return ast.parse(self.parsed, mode="eval")
        except SyntaxError as err:
            offset = err.offset if err.offset and err.offset > 0 else len(self.parsed) + 1  # 0: at the end
            where = f" (at column {self._column(offset - 1) + 1})"
            detail = "" if err.msg == "invalid syntax" else f", {err.msg}"
            raise self.error(f"invalid syntax{detail}{where}") from None
        except (RecursionError, MemoryError):
            raise self.error("is nested too deeply") from None

    def error(self, problem: str, node: ast.AST | None = None) -> InputError:
        """The one-line InputError; ``{part}`` in ``problem`` becomes the quoted part of ``node``."""
        part = where = ""
        if node is not None and hasattr(node, "col_offset"):
            start, end = self._column(node.col_offset), self._column(node.end_col_offset or node.col_offset)
            segment = self.source[start:end]
            part = f" {_shorten(segment, 40)!r}" if segment and segment != self.source else ""
            where = f" (at column {start + 1})"
        shown = repr(_shorten(self.source))
        sep = " " if problem.startswith("is ") else ": "
        message = f"expression {shown}{sep}{problem.replace('{part}', part)}{where}"
        return InputError(message, field="expression")

    def _column(self, parsed_column: int) -> int:
        """The column in the user's text of a 0-based column in the parsed text ("^" -> "**")."""
        longer = sum(1 for i, p in enumerate(self.carets) if p + i + 2 <= parsed_column)
        return parsed_column - longer

    def build(self, node: ast.AST, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels is not allowed", node)
        method = getattr(self, f"_build_{type(node).__name__}", None)
        if method is None:
            what, verb = _FORBIDDEN.get(type(node), (f"{type(node).__name__} expressions", "are"))
            raise self.error(f"{what}{{part}} {verb} not allowed", node)
        try:
            result = method(node, depth + 1)
        except InputError:
            raise
        except Exception as err:  # SymPy failing on a legal but extreme input: refuse it cleanly
            raise self.error(f"the value{{part}} cannot be computed ({type(err).__name__})", node) from None
        if not self.boolean and result.is_number:
            self._check_number(result, node)
        return result

    def _check_number(self, number: sympy.Expr, node: ast.AST) -> None:
        """Refuse numbers beyond 10**1000 (or below 10**-1000) as soon as they appear.

        Checked bottom-up, so no SymPy call ever sees a number whose evaluation could take
        unbounded time or memory (``floor(exp(exp(exp(10))))``).
        """
        if number.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise self.error("the value{part} is infinite or undefined (a division by zero?)", node)
        try:
            value = sympy.N(number, 15)
            real = value.is_real
            size = abs(value) if real else None
            fits = size is not None and (size == 0 or 1 / _LARGEST <= size <= _LARGEST)
        except (TypeError, ValueError, OverflowError, ArithmeticError):
            real, fits = None, False
        if real is False:  # e.g. acos(2) or log(-1): the labs work with real numbers only
            raise self.error("the value{part} is not a real number", node)
        if not fits:
            raise self.error(f"the number{{part}} has more than {MAX_DIGITS} digits", node)

    # leaves -----------------------------------------------------------------------------
    def _build_Constant(self, node: ast.Constant, depth: int) -> Any:
        value = node.value
        if isinstance(value, bool) or (self.boolean and isinstance(value, int) and value in (0, 1)):
            if not self.boolean:
                raise self.error("True and False are only allowed in boolean expressions", node)
            return sympy.true if value else sympy.false
        if self.boolean:
            raise self.error("only True, False, 1 and 0 are allowed as constants{part}", node)
        if isinstance(value, int):
            return sympy.Integer(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.error("number{part} is out of range", node)
            return sympy.Float(value)
        what = {str: "strings are", bytes: "strings are", complex: "complex numbers are"}
        raise self.error(f"{what.get(type(value), 'this constant is')} not allowed{{part}}", node)

    def _build_Name(self, node: ast.Name, depth: int) -> Any:
        name = node.id
        if not _is_plain_identifier(name):
            raise self.error(f"name {name!r} is not allowed (names may not start with '_')", node)
        if self.variables is not None and name in self.variables:
            return sympy.Symbol(name)
        if name in self.constants:
            return self.constants[name]
        if name in self.functions:
            raise self.error(f"function {name!r} must be called with arguments, e.g. {name}(x)", node)
        if self.variables is not None:
            allowed = ", ".join(sorted(self.variables)) or "none"
            raise self.error(f"unknown name {name!r} (allowed variables: {allowed})", node)
        return sympy.Symbol(name)

    # operators --------------------------------------------------------------------------
    def _build_BinOp(self, node: ast.BinOp, depth: int) -> Any:
        op = type(node.op)
        if not self.boolean and op in (ast.Pow, ast.BitXor):
            return self._power(node, depth)
        table = _BOOLEAN_BINARY if self.boolean else _NUMERIC_BINARY
        if op not in table:
            raise self.error(self._operator_problem(op), node)
        left, right = self.build(node.left, depth), self.build(node.right, depth)
        return table[op](left, right)

    def _build_UnaryOp(self, node: ast.UnaryOp, depth: int) -> Any:
        op = type(node.op)
        allowed = (ast.Invert, ast.Not) if self.boolean else (ast.USub, ast.UAdd)
        if op not in allowed:
            raise self.error(self._operator_problem(op), node)
        operand = self.build(node.operand, depth)
        if self.boolean:
            return boolalg.Not(operand)
        return -operand if op is ast.USub else operand

    def _build_BoolOp(self, node: ast.BoolOp, depth: int) -> Any:
        if not self.boolean:
            raise self.error(self._operator_problem(type(node.op)), node)
        combine = boolalg.And if isinstance(node.op, ast.And) else boolalg.Or
        return combine(*(self.build(v, depth) for v in node.values))

    def _build_Compare(self, node: ast.Compare, depth: int) -> Any:
        op = type(node.ops[0])
        if not self.boolean or len(node.ops) > 1 or op not in (ast.Eq, ast.NotEq):
            raise self.error(self._comparison_problem(node), node)
        left, right = self.build(node.left, depth), self.build(node.comparators[0], depth)
        return boolalg.Equivalent(left, right) if op is ast.Eq else boolalg.Xor(left, right)

    def _comparison_problem(self, node: ast.Compare) -> str:
        symbol = _OPERATOR_SYMBOLS.get(type(node.ops[0]), "?")
        if len(node.ops) > 1:
            return "chained comparisons are not allowed"
        if self.boolean:
            return f"comparison {symbol!r} is not allowed in boolean expressions; use == or !="
        return f"comparison {symbol!r} is not allowed; for a step function use Heaviside(x)"

    def _operator_problem(self, op: type) -> str:
        symbol = _OPERATOR_SYMBOLS.get(op, op.__name__)
        if op in _BOOLEAN_BINARY or op in (ast.Invert, ast.Not, ast.And, ast.Or):
            return f"operator {symbol!r} is only allowed in boolean expressions"
        if op in _NUMERIC_BINARY or op in (ast.Pow, ast.USub, ast.UAdd):
            return f"operator {symbol!r} is not allowed in boolean expressions; use & | ~ ^ >> == !="
        return f"operator {symbol!r} is not allowed in {self.mode} expressions"

    def _power(self, node: ast.BinOp, depth: int) -> Any:
        base, exponent = self.build(node.left, depth), self.build(node.right, depth)
        if exponent.is_number:
            size = _magnitude(exponent)
            if size is None or size > MAX_EXPONENT:
                problem = f"exponent{{part}} is too large (at most {MAX_EXPONENT} in size)"
                raise self.error(problem, node.right)
            if base.is_number and _digits(base, exponent) > MAX_DIGITS:
                raise self.error(f"power{{part}} would have more than {MAX_DIGITS} digits", node)
        power = sympy.Pow(base, exponent)
        # SymPy multiplies nested exponents, (x**100)**100 -> x**10000: check what was built too
        if power.is_Pow and power.exp.is_number and (_magnitude(power.exp) or math.inf) > MAX_EXPONENT:
            raise self.error(f"power{{part}} has exponent {power.exp} once nested exponents multiply "
                             f"(at most {MAX_EXPONENT} in size)", node)
        return power

    # calls ------------------------------------------------------------------------------
    def _build_Call(self, node: ast.Call, depth: int) -> Any:
        if not isinstance(node.func, ast.Name):
            self.build(node.func, depth)  # raises: attribute access, lambda, indexing, ...
            raise self.error("only named functions can be called{part}", node.func)
        name = node.func.id
        if not _is_plain_identifier(name):
            raise self.error(f"name {name!r} is not allowed (names may not start with '_')", node.func)
        if name not in self.functions:
            allowed = ", ".join(sorted(self.functions))
            raise self.error(f"unknown function {name!r}; allowed: {allowed}", node.func)
        if node.keywords:
            raise self.error("keyword arguments{part} are not allowed", node.keywords[0])
        build, least, most = self.functions[name]
        count = len(node.args)
        if count < least or (most is not None and count > most):
            wanted = f"{least} or more" if most is None else f"{least} to {most}"
            wanted = str(least) if least == most else wanted
            plural = "s" * (wanted != "1")
            raise self.error(f"function {name!r} takes {wanted} argument{plural}, got {count}", node)
        return build(*(self.build(arg, depth) for arg in node.args))


def _magnitude(number: sympy.Expr) -> float | None:
    """|number| as a float, or None when it cannot be computed (infinite, undefined, huge)."""
    try:
        value = abs(complex(sympy.N(number, 15)))
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return None
    return value if math.isfinite(value) else None


_LARGEST = sympy.Float(f"1e{MAX_DIGITS}")


def _digits(base: sympy.Expr, exponent: sympy.Expr) -> float:
    """About how many decimal digits (before or after the point) ``base**exponent`` has."""
    size = _magnitude(base)
    if size == 0:
        return 0.0
    if size is None:  # a base too large for a float is at least 10**308
        return math.inf
    power = _magnitude(exponent) or 0.0
    return abs(power * math.log10(size))
