"""Horizon functions of the theory sheet's table (classification-and-dynamics.md §1.2).

Expected values are the sheet's; the regular-variation shortcut used by the code is cross-checked
against the sheet's *definition* ``h(x) = lim ϕ(s x)/ϕ(s)`` evaluated with SymPy at rational x.
"""

from __future__ import annotations

import pytest
import sympy as sp

from dln_verify.symbolic.derivation import Derivation
from dln_verify.symbolic.horizon import (
    HorizonUndecidable,
    derive_horizon,
    horizon_function,
    hyperbolic_entropy,
    parse_potential,
)

x = sp.Symbol("x", real=True)
s = sp.Symbol("s", positive=True)

# (potential, kind, p, h(+), h(−)) from the sheet's table; h(±) as functions of |x|
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
    """Sheet §1.2 symmetric case: h(x) = lim_s ϕ(s x)/ϕ(s), evaluated directly."""
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
    ("expr", "fragment"),
    [
        ("exp(x) - x", "non-coercive gradient"),
        ("Abs(x)", "non-coercive gradient"),
        ("log(x)", "not defined"),
        ("x*log(x)", "not defined"),
        ("1/(1 - x**2)", "not defined"),
        ("-x**2", "not convex"),
        ("exp(x) + exp(-2*x)", "different rates"),
        ("x**2 + a", "parameters"),
        ("x**2 + (", "cannot parse"),
        ("3", "does not depend"),
    ],
)
def test_refusals_are_readable_value_errors(expr, fragment):
    with pytest.raises(HorizonUndecidable, match=fragment) as info:
        derive_horizon(expr)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_derive_horizon_json_keys():
    d = derive_horizon("5*x**2/2 - 3*x*sqrt(1+x**2)/2")
    assert isinstance(d, Derivation)
    assert list(d.results)[:4] == ["kind", "p", "h_pos", "h_neg"]
    js = d.to_json_dict()
    assert js["kind"] == "gauge" and js["p"] == 2
    assert sp.sympify(js["h_neg"], locals={"x": x}) == 4 * x**2
    d2 = derive_horizon("Abs(x)**3/3").to_json_dict()
    assert d2["kind"] == "lp" and d2["p"] == 3


def test_parse_potential_other_variable_and_builtin_names():
    expr, var = parse_potential("t**2/2")
    assert var.name == "t" and var.is_real
    expr, var = parse_potential("cosh")
    assert expr == sp.cosh(var) - 1
