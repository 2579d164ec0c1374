"""Whitelist parser for user expressions (``--potential EXPR``, ``derive horizon EXPR``).

Every entry point that takes an expression typed by a user goes through
:func:`parse_expression`. The text is parsed with :func:`ast.parse` (``mode="eval"``), which
only builds a syntax tree and runs nothing; the tree is then walked node by node and the SymPy
expression is built from the admitted nodes. Neither :func:`sympy.sympify`, :func:`eval` nor
SymPy's ``parse_expr`` ever sees the user's text, so no Python in it is executed, and every
number is built under explicit size limits, so no input makes the parser hang.

Grammar
-------
::

    expr    := expr ("+" | "-" | "*" | "/") expr | expr "**" expr
             | ("+" | "-") expr | "(" expr ")" | number | name | call
    number  := decimal integer or float literal (``2``, ``0.5``, ``1e-3``), read exactly:
               a float literal becomes the Rational of its shortest decimal form (0.1 -> 1/10)
    name    := a variable (by default only ``x``) | ``pi`` | ``E``
    call    := function "(" expr ")"        (exactly one positional argument)
    function:= exp | log | sqrt | sin | cos | sinh | cosh | tanh | asinh | atan | Abs | abs

Variables are real SymPy symbols. Anything else is refused: other names (``y``, ``os``,
``floor``, ``Symbol``, ``sympify`` ...), attribute access, subscripts, keyword or starred
arguments, lambdas, comprehensions, f-strings and other string/bytes/complex/bool literals,
comparisons, ``//``, ``%``, walrus, and so on.

Limits (module constants):

* :data:`MAX_CHARS` characters, printable ASCII only, no ``#`` (no control characters, no NUL, no
  Unicode: Python folds look-alikes such as ``ｅｘｐ`` to ``exp``, so they are refused up front);
* :data:`MAX_NESTING` levels of parentheses, :data:`MAX_NODES` syntax-tree nodes and
  :data:`MAX_DEPTH` levels of syntax tree;
* an exponent must be a numeric constant (no variable in an exponent) with
  ``|exponent| ≤`` :data:`MAX_EXPONENT`, checked *before* the power is formed, and a power of a
  variable expression may not exceed that degree after SymPy merges nested powers
  (``(x**64)**64`` is refused);
* every exact number formed along the way has numerator and denominator of at most
  :data:`MAX_BITS` bits (a power of numbers is sized from logarithms before it is computed, so
  ``9**9**9`` and ``10**10**10*x`` are refused at once);
* the result must be finite and real (no ``zoo``, ``nan``, ``oo``, ``I``: ``1/0``,
  ``log(0)`` and ``sqrt(-1)`` are refused).

A violation raises :class:`ExpressionError` (a :class:`ValueError`) whose message is one line
that starts with the option name, e.g. ``"--potential: name 'os' is not allowed; allowed: x,
pi, E, exp, ..."``. The command line maps it to exit status 2 (bad input).

Examples
--------
>>> from dln_verify.symbolic.parsing import parse_expression, ExpressionError
>>> parse_expression("x**2/2 + cosh(x) - 1")
x**2/2 + cosh(x) - 1
>>> parse_expression("Abs(x)**3/3 + 0.25*x**2")  # SymPy writes |x|**3 as x**2*|x| for real x
x**2*Abs(x)/3 + x**2/4
>>> parse_expression("2**10", variables=())
1024
>>> try:
...     parse_expression("__import__('os').system('echo PWNED')")
... except ExpressionError as exc:
...     print(exc)
--potential: name '__import__' is not allowed; allowed: x, pi, E, exp, log, sqrt, sin, cos, \
sinh, cosh, tanh, asinh, atan, Abs, abs
>>> try:
...     parse_expression("9**9**9", option="EXPR")
... except ExpressionError as exc:
...     print(exc)
EXPR: exponent 387420489 exceeds the limit |exponent| <= 64
>>> try:
...     parse_expression("y**2")
... except ExpressionError as exc:
...     print(exc.reason.split(";")[0])
name 'y' is not allowed
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence

import sympy as sp

__all__ = [
    "ExpressionError",
    "parse_expression",
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_CHARS",
    "MAX_NODES",
    "MAX_DEPTH",
    "MAX_NESTING",
    "MAX_EXPONENT",
    "MAX_BITS",
]

#: longest accepted text (characters)
MAX_CHARS = 1000
#: most syntax-tree nodes (``ast.walk`` count, the ``Expression`` root included)
MAX_NODES = 400
#: deepest syntax tree
MAX_DEPTH = 150
#: deepest nesting of parentheses (checked on the text, before :func:`ast.parse`)
MAX_NESTING = 20
#: largest ``|exponent|`` of a power, and largest degree of a power of a variable expression
MAX_EXPONENT = 64
#: largest bit length of the numerator and of the denominator of any exact number formed
MAX_BITS = 4096

#: admitted functions: name -> SymPy constructor (one argument each)
FUNCTIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "sin": sp.sin,
    "cos": sp.cos,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "asinh": sp.asinh,
    "atan": sp.atan,
    "Abs": sp.Abs,
    "abs": sp.Abs,
}
#: admitted constants
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_UNARY = (ast.UAdd, ast.USub)
_KNOWN = frozenset(CONSTANTS) | frozenset(FUNCTIONS)
_PRINTABLE = frozenset(chr(c) for c in range(32, 127)) | {"\t"}


class ExpressionError(ValueError):
    """A user expression outside the grammar or its limits (the CLI exits with status 2).

    Parameters
    ----------
    option : str
        The option or argument that carried the text (``"--potential"``, ``"EXPR"``).
    reason : str
        One-line reason; the message is ``f"{option}: {reason}"``.
    """

    def __init__(self, option: str, reason: str) -> None:
        self.option = option
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{option}: {self.reason}" if option else self.reason)


def _refusal(node: ast.AST) -> str:
    """One-line refusal of a syntax node outside the grammar."""
    phrases = {
        ast.Attribute: "attribute access is", ast.Subscript: "subscripts are",
        ast.Lambda: "lambdas are", ast.ListComp: "comprehensions are",
        ast.SetComp: "comprehensions are", ast.DictComp: "comprehensions are",
        ast.GeneratorExp: "generator expressions are", ast.JoinedStr: "f-strings are",
        ast.FormattedValue: "f-strings are", ast.NamedExpr: "assignment expressions (:=) are",
        ast.Starred: "starred arguments are", ast.Compare: "comparisons are",
        ast.BoolOp: "boolean operators are", ast.IfExp: "conditional expressions are",
        ast.Dict: "dict literals are", ast.Set: "set literals are", ast.List: "list literals are",
        ast.Tuple: "tuples are", ast.Await: "await is", ast.Yield: "yield is",
        ast.YieldFrom: "yield is", ast.Slice: "slices are",
    }
    return f"{phrases.get(type(node), type(node).__name__ + ' is')} not allowed"


class _Builder:
    """Recursive construction of the SymPy expression from an admitted syntax tree."""

    def __init__(self, variables: Sequence[str], option: str) -> None:
        self.option = option
        self.symbols = {name: sp.Symbol(name, real=True) for name in variables}
        self.allowed = ", ".join([*self.symbols, *CONSTANTS, *FUNCTIONS])

    def fail(self, reason: str) -> ExpressionError:
        return ExpressionError(self.option, reason)

    # ---- numbers ----------------------------------------------------------------------------
    def check_number(self, value: sp.Expr) -> sp.Expr:
        if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise self.fail(f"the expression is not finite ({value}), e.g. a division by zero")
        if value.is_Rational:
            p, q = value.as_numer_denom()
            if int(p).bit_length() > MAX_BITS or int(q).bit_length() > MAX_BITS:
                raise self.fail(f"a number exceeds {MAX_BITS} bits")
        return value

    def constant(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if type(value) is int:
            if value.bit_length() > MAX_BITS:
                raise self.fail(f"the literal exceeds {MAX_BITS} bits")
            return sp.Integer(value)
        if type(value) is float:
            if not math.isfinite(value):
                raise self.fail("a float literal is not finite")
            return self.check_number(sp.Rational(repr(value)))
        kind = type(value).__name__
        raise self.fail(f"{kind} literals are not allowed; only int and float numbers")

    # ---- powers -----------------------------------------------------------------------------
    def power(self, base: sp.Expr, expo: sp.Expr) -> sp.Expr:
        if expo.free_symbols:
            raise self.fail("an exponent must be a numeric constant (write exp(...) instead)")
        if not expo.is_Rational:
            if not (expo.is_real and expo.is_number):
                raise self.fail(f"exponent {expo} is not a real number")
        try:
            size = abs(float(expo))
        except (TypeError, ValueError, OverflowError):
            raise self.fail(f"exponent {expo} is not a real number") from None
        if not math.isfinite(size) or size > MAX_EXPONENT:
            raise self.fail(f"exponent {expo} exceeds the limit |exponent| <= {MAX_EXPONENT}")
        if base.is_number:
            if base.is_Rational and base != 0:
                p, q = base.as_numer_denom()
                bits = max(math.log2(abs(int(p))) if p != 0 else 0.0, math.log2(int(q)))
                if bits * size > MAX_BITS:
                    raise self.fail(f"the power ({base})**({expo}) exceeds {MAX_BITS} bits")
            elif base.is_Rational is not True:
                try:
                    mag = abs(complex(sp.N(base, 15)))
                except (TypeError, ValueError, OverflowError):
                    raise self.fail(f"the base {base} is not a number") from None
                if mag > 0 and abs(math.log2(mag)) * size > MAX_BITS:
                    raise self.fail(f"the power ({base})**({expo}) exceeds {MAX_BITS} bits")
            return self.check_finite(self.check_number(sp.Pow(base, expo)))
        result = self.check_finite(sp.Pow(base, expo))
        for sub in sp.preorder_traversal(result):
            if isinstance(sub, sp.Pow) and sub.exp.is_number and sub.base.free_symbols:
                if abs(float(sub.exp)) > MAX_EXPONENT:
                    raise self.fail(
                        f"the power {sub} exceeds the limit |exponent| <= {MAX_EXPONENT}"
                    )
        return result

    # ---- tree walk --------------------------------------------------------------------------
    def build(self, node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Expression):
            return self.build(node.body)
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            if node.id in self.symbols:
                return self.symbols[node.id]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            if node.id in FUNCTIONS:
                raise self.fail(f"function {node.id!r} must be called with one argument")
            raise self.fail(f"name {node.id!r} is not allowed; allowed: {self.allowed}")
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, _UNARY):
                raise self.fail(f"operator {type(node.op).__name__} is not allowed; use + - * / **")
            operand = self.build(node.operand)
            return operand if isinstance(node.op, ast.UAdd) else self.check_number(-operand)
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BINOPS):
                raise self.fail(f"operator {type(node.op).__name__} is not allowed; use + - * / **")
            left, right = self.build(node.left), self.build(node.right)
            if isinstance(node.op, ast.Pow):
                return self.power(left, right)
            if isinstance(node.op, ast.Add):
                out = left + right
            elif isinstance(node.op, ast.Sub):
                out = left - right
            elif isinstance(node.op, ast.Mult):
                out = left * right
            else:
                if right == 0:
                    raise self.fail("division by zero")
                out = left / right
            return self.check_finite(self.check_number(out) if out.is_number else out)
        if isinstance(node, ast.Call):
            func = node.func
            if not isinstance(func, ast.Name):
                raise self.fail(f"only named functions may be called; {_refusal(func)}")
            if func.id not in FUNCTIONS:
                raise self.fail(f"name {func.id!r} is not allowed; allowed: {self.allowed}")
            if node.keywords:
                raise self.fail(f"{func.id}() takes no keyword arguments")
            if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
                raise self.fail(f"{func.id}() takes exactly one argument")
            arg = self.build(node.args[0])
            return self.check_finite(FUNCTIONS[func.id](arg))
        raise self.fail(_refusal(node))

    def check_finite(self, expr: sp.Expr) -> sp.Expr:
        if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise self.fail(f"the expression is not finite ({expr}), e.g. a division by zero")
        if expr.has(sp.I) or (expr.is_number and expr.is_extended_real is False):
            raise self.fail(f"the expression is not real ({expr})")
        return expr


def _depth(tree: ast.AST) -> int:
    """Depth of a syntax tree, computed without recursion."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


def parse_expression(
    text: str, *, variables: Sequence[str] = ("x",), option: str = "--potential"
) -> sp.Expr:
    """Parse a user expression with the whitelist grammar of this module.

    Parameters
    ----------
    text : str
        The expression as typed by the user.
    variables : sequence of str, default ("x",)
        Names admitted as (real) variables; ``()`` admits numeric constants only.
    option : str, default "--potential"
        The option or argument name that carried ``text``; it starts every error message.

    Returns
    -------
    sympy.Expr
        The expression, built node by node (variables are ``Symbol(name, real=True)``).

    Raises
    ------
    ExpressionError
        One line ``"{option}: {reason}"``: text outside the grammar or beyond a limit.

    Examples
    --------
    >>> parse_expression("5*x**2/2 - 3*x*sqrt(1 + x**2)/2")
    5*x**2/2 - 3*x*sqrt(x**2 + 1)/2
    >>> parse_expression("1/10", variables=())
    1/10
    """
    if not isinstance(text, str):
        raise ExpressionError(option, f"expected a string, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ExpressionError(option, f"expression longer than {MAX_CHARS} characters")
    bad = sorted({c for c in text if c not in _PRINTABLE})
    if bad:
        shown = ", ".join(ascii(c) for c in bad[:3])
        raise ExpressionError(option, f"only printable ASCII characters are allowed (got {shown})")
    if "#" in text:
        raise ExpressionError(option, "comments (#) are not allowed")
    if not text.strip():
        raise ExpressionError(option, "empty expression; e.g. 'x**2/2'")
    level = deepest = 0
    for char in text:
        if char in "([{":
            level += 1
            deepest = max(deepest, level)
        elif char in ")]}":
            level -= 1
    if deepest > MAX_NESTING:
        raise ExpressionError(option, f"more than {MAX_NESTING} nested parentheses")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(option, f"cannot parse {text.strip()!r}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        reason = f"cannot parse the expression ({type(exc).__name__})"
        raise ExpressionError(option, reason) from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise ExpressionError(option, f"expression has {nodes} syntax nodes (limit {MAX_NODES})")
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(option, f"expression nested deeper than {MAX_DEPTH} levels")
    builder = _Builder(tuple(variables), option)
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    for name in sorted(names, key=lambda n: (n.lineno, n.col_offset)):
        if name.id not in builder.symbols and name.id not in _KNOWN:
            raise builder.fail(f"name {name.id!r} is not allowed; allowed: {builder.allowed}")
    try:
        expr = builder.build(tree)
    except RecursionError:  # pragma: no cover - excluded by MAX_DEPTH
        raise ExpressionError(option, "expression nested too deeply") from None
    if not isinstance(expr, sp.Expr):  # pragma: no cover - every admitted node builds an Expr
        raise ExpressionError(option, "not a scalar expression")
    return expr
