"""Horizon functions of the table of known potentials, and the checked hypotheses.

The regular-variation shortcut used by the code is cross-checked against the *definition*
``h(x) = lim ϕ(s x)/ϕ(s)`` evaluated with SymPy at rational x.
"""

from __future__ import annotations

import pytest
import sympy as sp

from dln_verify.symbolic.derivation import Derivation
from dln_verify.symbolic.horizon import (
    BUILTIN_POTENTIALS,
    HorizonUndecidable,
    OutsideAssumptions,
    WorkBoundExceeded,
    derive_horizon,
    horizon_function,
    hyperbolic_entropy,
    parse_potential,
)
from dln_verify.symbolic.parsing import ExpressionError, parse_expression

x = sp.Symbol("x", real=True)
s = sp.Symbol("s", positive=True)

# (potential, kind, p, h(+), h(−)) from the table of docs/theory/classification.md §1.2;
# h(±) as functions of |x|
TABLE = [
    (x**2 / 2, "lp", 2, lambda a: a**2, lambda a: a**2),
    (sp.Abs(x) ** 3 / 3, "lp", 3, lambda a: a**3, lambda a: a**3),
    (x**2 + x**4, "lp", 4, lambda a: a**4, lambda a: a**4),
    (x**2 * sp.log(1 + x**2), "lp", 2, lambda a: a**2, lambda a: a**2),
    (hyperbolic_entropy("1/10"), "lp", 1, lambda a: a, lambda a: a),
    (sp.Rational(5, 2) * x**2 - sp.Rational(3, 2) * x * sp.sqrt(1 + x**2), "gauge", 2,
     lambda a: a**2, lambda a: 4 * a**2),
]


def _value(h, v):
    return float(sp.N(h.subs(x, v)))


@pytest.mark.parametrize("row", TABLE, ids=["quadratic", "cubic", "x2+x4", "x2log", "hypent",
                                             "asymmetric"])
def test_sheet_table_power_rows(row):
    phi, kind, p, hp, hn = row
    hf = horizon_function(phi, x)
    assert hf.kind == kind
    assert hf.p == p
    for a in (sp.Rational(1, 3), sp.Integer(1), sp.Integer(2)):
        assert _value(hf.h_pos, a) == pytest.approx(float(hp(a)), rel=1e-12)
        assert _value(hf.h_neg, -a) == pytest.approx(float(hn(a)), rel=1e-12)


def test_cosh_is_linf_with_threshold_profile():
    hf = horizon_function(sp.cosh(x) - 1, x)
    assert hf.kind == "linf" and hf.p is None
    assert hf.h_pos.subs(x, sp.Rational(1, 2)) == 0
    assert hf.h_pos.subs(x, 1) == 1
    assert hf.h_pos.subs(x, 2) == sp.oo
    assert hf.h_neg.subs(x, -2) == sp.oo


@pytest.mark.parametrize("phi", [x**2 / 2, sp.Abs(x) ** 3 / 3, x**2 + x**4, sp.cosh(x) - 1])
def test_profile_matches_definition_by_direct_limit(phi):
    """Symmetric case of docs/theory/classification.md §1.2: h(x) = lim_s ϕ(s x)/ϕ(s),
    evaluated directly."""
    hf = horizon_function(phi, x)
    for a in (sp.Rational(1, 2), sp.Rational(3, 2)):
        direct = sp.limit(phi.subs(x, s * a) / phi.subs(x, s), s, sp.oo)
        got = hf.h_pos.subs(x, a)
        assert sp.simplify(direct - got) == 0 or (direct == sp.oo and got == sp.oo)


def test_asymmetric_definition_with_reach_normalisation():
    """h(x) = lim ϕ(x r_c)/c with r_c the positive reach (it is the larger one here)."""
    phi = sp.Rational(5, 2) * x**2 - sp.Rational(3, 2) * x * sp.sqrt(1 + x**2)
    direct_neg = sp.limit(phi.subs(x, -s) / phi.subs(x, s), s, sp.oo)
    assert direct_neg == 4
    hf = horizon_function(phi, x)
    assert hf.w_pos == 1.0 and hf.w_neg == 4.0


@pytest.mark.parametrize("alpha", ["1", "1/1000"])
def test_hyperbolic_entropy_is_l1_for_every_alpha(alpha):
    hf = horizon_function(hyperbolic_entropy(alpha), x)
    assert (hf.kind, hf.p) == ("lp", 1)


def test_one_sided_infinite_gauge():
    phi = x**2 + sp.Piecewise((x**4, x < 0), (0, True))
    hf = horizon_function(phi, x)
    assert hf.kind == "gauge" and hf.h_neg == sp.oo and hf.w_neg == float("inf")
    assert hf.evaluate([1.0, 0.0]) == pytest.approx(1.0)
    assert hf.evaluate([1.0, -1.0]) == float("inf")


@pytest.mark.parametrize(
    ("expr", "hypothesis", "fragment"),
    [
        ("exp(x) - x", "coercive-gradient", "non-coercive gradient"),
        ("x*atan(x)", "coercive-gradient", "non-coercive gradient"),
        ("Abs(x)", "C2", "ϕ' jumps at x = 0"),
        ("x*Abs(x)", "C2", "ϕ'' jumps at x = 0"),
        ("x**2 + x*Abs(x)", "C2", "ϕ'' jumps at x = 0"),
        ("Abs(x)**1.5", "C2", "ϕ'' is unbounded"),
        ("log(x)", "domain", "not defined"),
        ("x*log(x)", "domain", "not defined"),
        ("1/(1 - x**2)", "domain", "not defined"),
        ("-x**2", "strictly-convex", "not strictly convex"),
        ("x**6 - x**2", "strictly-convex", "not convex"),
        ("x**2 + 3*sin(x)", "strictly-convex", "not convex"),
        ("x**2 - exp(-10**8*x**2)", "strictly-convex", "not convex"),
        ("3", "strictly-convex", "does not depend"),
    ],
)
def test_refusals_are_decided_outside_assumptions(expr, hypothesis, fragment):
    with pytest.raises(OutsideAssumptions, match=fragment) as info:
        derive_horizon(expr, option="--potential")
    exc = info.value
    assert isinstance(exc, ValueError) and not isinstance(exc, ExpressionError)
    assert (exc.hypothesis, exc.decided) == (hypothesis, True)
    assert str(exc).startswith("--potential: ") and "\n" not in str(exc)


def test_different_exponential_rates_are_horizon_undecidable():
    with pytest.raises(HorizonUndecidable, match="different rates") as info:
        derive_horizon("exp(x) + exp(-2*x)")
    assert info.value.hypothesis == "horizon-limit" and not info.value.decided
    assert str(info.value).startswith("EXPR: ")


def test_convexity_not_provable_is_undecided_not_accepted():
    """cosh(x) + sin(x) is convex, but nothing here proves it: refused, marked undecided."""
    phi = sp.cosh(x) + sp.sin(x) * sp.exp(-x**2)
    with pytest.raises(OutsideAssumptions) as info:
        horizon_function(phi, x)
    assert info.value.decided is False and info.value.hypothesis == "strictly-convex"


def test_work_bound_is_in_sympy_units():
    big = sum(sp.cosh(k * x) / (k + 1) for k in range(1, 120))
    with pytest.raises(WorkBoundExceeded, match="count_ops") as info:
        horizon_function(big, x, option="--potential")
    assert isinstance(info.value, OutsideAssumptions) and str(info.value).startswith("--potential")


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("x**2 + a", "name 'a' is not allowed"),
        ("y**2", "name 'y' is not allowed"),
        ("x**2 + (", "cannot parse"),
        ("x**2 + floor(x)", "name 'floor' is not allowed"),
    ],
)
def test_parse_errors_are_expression_errors(expr, fragment):
    with pytest.raises(ExpressionError, match=fragment) as info:
        derive_horizon(expr)
    assert not isinstance(info.value, OutsideAssumptions)
    assert str(info.value).startswith("EXPR: ") and "\n" not in str(info.value)


@pytest.mark.parametrize("expr", ["Abs(x)**3/3", "Abs(x)**(5/2)", "Abs(x - 1)**3 + x**2",
                                  "x**2 + sin(x)", "exp(x**2)"])
def test_c2_potentials_with_abs_or_bounded_terms_are_accepted(expr):
    hf = derive_horizon(expr)
    assert hf.results["kind"] in {"lp", "linf"}


def test_builtins_pass_the_hypotheses_and_keep_their_horizon():
    expected = {"quadratic": ("lp", 2), "cubic": ("lp", 3), "quartic": ("lp", 4),
                "xlog": ("lp", 2), "hypentropy": ("lp", 1), "cosh": ("linf", None),
                "asymmetric": ("gauge", 2)}
    assert set(expected) == set(BUILTIN_POTENTIALS)
    for name, (kind, p) in expected.items():
        hf = horizon_function(*parse_potential(name))
        assert (hf.kind, hf.p) == (kind, p), name


def test_derive_horizon_json_keys():
    d = derive_horizon("5*x**2/2 - 3*x*sqrt(1+x**2)/2")
    assert isinstance(d, Derivation)
    assert list(d.results)[:4] == ["kind", "p", "h_pos", "h_neg"]
    js = d.to_json_dict()
    assert js["kind"] == "gauge" and js["p"] == 2
    assert parse_expression(js["h_neg"]) == 4 * x**2
    d2 = derive_horizon("Abs(x)**3/3").to_json_dict()
    assert d2["kind"] == "lp" and d2["p"] == 3


def test_parse_potential_only_x_and_builtin_names():
    with pytest.raises(ExpressionError, match="--potential: name 't' is not allowed"):
        parse_potential("t**2/2")
    with pytest.raises(ExpressionError, match="^-p: name 'y'"):
        parse_potential("y**2", option="-p")
    expr, var = parse_potential("cosh")
    assert expr == sp.cosh(var) - 1 and var.is_real
    expr, var = parse_potential(" x**2 + x**4 ")
    assert expr == x**2 + x**4 and var == x


def test_hyperbolic_entropy_alpha_is_parsed_not_evaluated():
    assert hyperbolic_entropy("1/10") == hyperbolic_entropy(0.1)
    with pytest.raises(ExpressionError, match="^alpha: "):
        hyperbolic_entropy("__import__('os')")
    with pytest.raises(ValueError, match="positive"):
        hyperbolic_entropy("-1")
