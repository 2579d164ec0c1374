"""The whitelist expression parser: grammar, limits, one-line errors naming the option."""

from __future__ import annotations

import doctest

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dln_verify.symbolic import parsing
from dln_verify.symbolic.parsing import (
    FUNCTIONS,
    MAX_BITS,
    MAX_CHARS,
    MAX_EXPONENT,
    MAX_NESTING,
    MAX_NODES,
    ExpressionError,
    parse_expression,
)

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)


def test_module_doctests_run():
    result = doctest.testmod(parsing, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x", x),
        ("x**2/2", x**2 / 2),
        ("-x + +x*2", x),
        ("(x + 1)*(x - 1)", (x + 1) * (x - 1)),
        ("0.1*x", sp.Rational(1, 10) * x),
        ("1e-3*x**2", sp.Rational(1, 1000) * x**2),
        ("2**-2*x", x / 4),
        ("exp(x) + log(1 + x**2) + sqrt(1 + x**2)", sp.exp(x) + sp.log(1 + x**2)
         + sp.sqrt(1 + x**2)),
        ("sin(x) + cos(x) + sinh(x) + cosh(x) + tanh(x)", sp.sin(x) + sp.cos(x) + sp.sinh(x)
         + sp.cosh(x) + sp.tanh(x)),
        ("asinh(x) + atan(x)", sp.asinh(x) + sp.atan(x)),
        ("Abs(x)**3 + abs(x)", sp.Abs(x) ** 3 + sp.Abs(x)),
        ("pi*x + E", sp.pi * x + sp.E),
        ("x**64", x**64),
        ("x**-64", x**-64),
        ("x**(1/2)", sp.sqrt(x)),
        ("  x  ", x),
    ],
)
def test_grammar_builds_the_expected_expression(text, expected):
    got = parse_expression(text)
    assert got == expected
    assert got.free_symbols <= {x}


def test_float_literals_are_exact_rationals():
    assert parse_expression("0.3", variables=()) == sp.Rational(3, 10)
    assert parse_expression("2.5e2", variables=()) == 250


def test_variables_option():
    assert parse_expression("x*y", variables=("x", "y")) == x * y
    assert parse_expression("3/4", variables=()) == sp.Rational(3, 4)
    with pytest.raises(ExpressionError, match="name 'x' is not allowed; allowed: pi, E, exp"):
        parse_expression("x", variables=())


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("y**2", "name 'y' is not allowed; allowed: x, pi, E, exp"),
        ("floor(x)", "name 'floor' is not allowed"),
        ("sign(x)", "name 'sign' is not allowed"),
        ("exp", "function 'exp' must be called"),
        ("exp(x, 2)", "exp() takes exactly one argument"),
        ("log(x, base=2)", "log() takes no keyword arguments"),
        ("x // 2", "operator FloorDiv is not allowed"),
        ("x % 2", "operator Mod is not allowed"),
        ("~x", "operator Invert is not allowed"),
        ("x < 1", "comparisons are not allowed"),
        ("x.real", "attribute access is not allowed"),
        ("x[0]", "subscripts are not allowed"),
        ("'x'", "str literals are not allowed"),
        ("True", "bool literals are not allowed"),
        ("2j*x", "complex literals are not allowed"),
        ("x**x", "exponent must be a numeric constant"),
        ("x**65", f"|exponent| <= {MAX_EXPONENT}"),
        ("(x**8)**9", f"|exponent| <= {MAX_EXPONENT}"),
        ("1/0", "division by zero"),
        ("log(0)", "not finite"),
        ("sqrt(-1)", "not real"),
        ("", "empty expression"),
        ("x +", "cannot parse"),
        ("x\n+1", "printable ASCII"),
    ],
)
def test_refusals_are_one_line_and_name_the_option(text, fragment):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, option="--potential")
    msg = str(info.value)
    assert msg.startswith("--potential: ")
    assert fragment in msg
    assert "\n" not in msg
    assert info.value.option == "--potential" and fragment in info.value.reason
    assert isinstance(info.value, ValueError)


def test_option_name_is_used_verbatim():
    with pytest.raises(ExpressionError, match=r"^EXPR: name 'os'"):
        parse_expression("os", option="EXPR")


def test_size_limits():
    long_ok = "+".join(["x"] * 40)
    assert parse_expression(long_ok) == 40 * x
    with pytest.raises(ExpressionError, match=f"longer than {MAX_CHARS}"):
        parse_expression("x" + " " * MAX_CHARS)
    with pytest.raises(ExpressionError, match="syntax nodes"):
        parse_expression("+".join(["x"] * (MAX_NODES // 2)))
    with pytest.raises(ExpressionError, match="nested parentheses"):
        parse_expression("(" * (MAX_NESTING + 1) + "x" + ")" * (MAX_NESTING + 1))
    assert parse_expression("(" * MAX_NESTING + "x" + ")" * MAX_NESTING) == x
    with pytest.raises(ExpressionError, match="deeper than"):
        parse_expression("-" * 160 + "x")


def test_number_size_limits():
    assert parse_expression("2**64", variables=()) == 2**64
    with pytest.raises(ExpressionError, match="exceeds the limit"):
        parse_expression("9**9**9")
    with pytest.raises(ExpressionError, match=f"{MAX_BITS} bits"):
        parse_expression("(2**64)**64*(2**64)**64")
    with pytest.raises(ExpressionError, match="not finite"):
        parse_expression("1e999*x")


def test_documented_function_list():
    assert set(FUNCTIONS) == {"exp", "log", "sqrt", "sin", "cos", "sinh", "cosh", "tanh",
                              "asinh", "atan", "Abs", "abs"}
    for name in FUNCTIONS:
        assert parse_expression(f"{name}(x**2 + 1)").free_symbols == {x}


# --- fuzzing --------------------------------------------------------------------------------
_ALPHABET = "x0123456789.+-*/() eEpiAbsqrtlogcnh_,[]'\"=:;!<>{}%&|^~@#`\\\t"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_fuzz_random_text_parses_or_raises_expression_error(text):
    try:
        expr = parse_expression(text)
    except ExpressionError as exc:
        assert str(exc).startswith("--potential: ") and "\n" not in str(exc)
        return
    assert isinstance(expr, sp.Expr)
    assert expr.free_symbols <= {x}
    assert not expr.has(sp.zoo, sp.nan, sp.oo, sp.I)


_ATOMS = st.sampled_from([("x", x), ("2", sp.Integer(2)), ("3", sp.Integer(3)),
                          ("0.5", sp.Rational(1, 2)), ("pi", sp.pi), ("E", sp.E)])
_FUNCS = st.sampled_from(sorted(set(FUNCTIONS) - {"abs"}))
_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def _compound(children):
    """(text, expected SymPy expression) pairs, the expectation built with SymPy directly."""
    return st.one_of(
        st.tuples(children, st.sampled_from(sorted(_OPS)), children).map(
            lambda t: (f"({t[0][0]}) {t[1]} ({t[2][0]})", _OPS[t[1]](t[0][1], t[2][1]))),
        st.tuples(children, st.integers(-4, 4)).map(
            lambda t: (f"({t[0][0]})**{t[1]}", t[0][1] ** sp.Integer(t[1]))),
        st.tuples(_FUNCS, children).map(
            lambda t: (f"{t[0]}({t[1][0]})", FUNCTIONS[t[0]](t[1][1]))),
        children.map(lambda c: (f"-({c[0]})", -c[1])),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(_ATOMS, _compound, max_leaves=8))
def test_fuzz_grammar_sentences_match_sympy(pair):
    """A sentence of the grammar gives what SymPy's constructors give, or a refusal."""
    text, expected = pair
    try:
        got = parse_expression(text)
    except ExpressionError as exc:
        assert expected.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I) or "not real" in str(exc) or (
            "not finite" in str(exc) or "division by zero" in str(exc)
        ), (text, str(exc))
        return
    assert got == expected
