"""Horizon function of a separable mirror potential (Pesme, Dragomir & Flammarion, NeurIPS 2024).

Mirror flow ``d/dt ∇φ(β_t) = −∇L(β_t)`` on linearly separable data with an exponentially tailed
loss converges in direction to ``argmin{φ_∞(β) : y_i⟨x_i, β⟩ ≥ 1}``, where ``φ_∞`` is the
*horizon function* of ``φ``: the gauge of the Hausdorff limit of the normalised sub-level sets of
``φ`` (Pesme, Dragomir, Flammarion, "Implicit bias of mirror flow on separable data", NeurIPS
2024, arXiv:2406.12763, main theorem; construction re-derived in
``shared/theory/classification-and-dynamics.md`` §1.2).

For a separable potential ``φ(β) = Σ_i ϕ(β_i)`` the horizon function is the Luxemburg-type gauge

.. math:: φ_∞(β) = \\inf\\{r > 0 : \\textstyle\\sum_i h(β_i / r) ≤ 1\\},
          \\quad h(x) = \\lim_{c→∞} ϕ(x\\, r_c)/c,

with ``r_c`` the larger of the two reaches of the level ``c``. This module computes ``h`` on each
side with SymPy limits:

* ``p_± = lim_{s→∞} s ϕ'(±s)·(±1) / ϕ(±s)`` — the index of (normalised) regular variation on each
  side (``oo`` when ϕ grows faster than any power);
* ``ρ = lim_{s→∞} ϕ(−s)/ϕ(s)`` — the relative size of the two sides.

Then, for a side with finite index ``p``, ``h(x) = w |x|^p`` with weight ``w ∈ {1, ρ, 1/ρ, ∞}``;
for an exponential-type side ``h`` is ``0`` on ``(−1, 1)`` and ``+∞`` outside (``ℓ_∞``).
The result is the ``ℓ_p`` norm when both sides agree, and otherwise a general (possibly
asymmetric, possibly infinite) gauge ``(Σ w_± |β_i^±|^p)^{1/p}``.

Cases that the method cannot decide raise :class:`HorizonUndecidable` (a :class:`ValueError`):
non-coercive gradient (``ϕ'`` not onto R, e.g. ``e^x − x``), a potential not defined (real and
finite) on all of R, a non-convex potential, limits SymPy cannot evaluate or that do not exist,
and exponential-type growth at different rates on the two sides.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from dln_verify.symbolic.derivation import Derivation

__all__ = [
    "HorizonFunction",
    "HorizonUndecidable",
    "horizon_function",
    "derive_horizon",
    "parse_potential",
    "hyperbolic_entropy",
    "BUILTIN_POTENTIALS",
]


class HorizonUndecidable(ValueError):
    """The horizon function of the given potential cannot be decided (message says why)."""


_X = sp.Symbol("x", real=True)
_S = sp.Symbol("s", positive=True)


def hyperbolic_entropy(alpha: Any = "1/10", x: sp.Symbol = _X) -> sp.Expr:
    """Per-coordinate hyperbolic entropy ``x asinh(x/α²) − √(x² + α⁴) + α²`` (DLN potential).

    Convention of ``THEORY.md`` without the factor ½ (a positive factor does not change the
    horizon function): its mirror map is ``θ = asinh(x/α²)``, i.e. ``x = α² sinh θ``.
    """
    a2 = sp.nsimplify(sp.sympify(alpha)) ** 2
    return x * sp.asinh(x / a2) - sp.sqrt(x**2 + a2**2) + a2


#: Potentials of the theory sheet's table (§1.2), by short name, as SymPy expressions in ``x``.
BUILTIN_POTENTIALS: dict[str, sp.Expr] = {
    "quadratic": _X**2 / 2,
    "cubic": sp.Abs(_X) ** 3 / 3,
    "quartic": _X**2 + _X**4,
    "xlog": _X**2 * sp.log(1 + _X**2),
    "hypentropy": hyperbolic_entropy(sp.Rational(1, 10)),
    "cosh": sp.cosh(_X) - 1,
    "asymmetric": sp.Rational(5, 2) * _X**2 - sp.Rational(3, 2) * _X * sp.sqrt(1 + _X**2),
}


@dataclass(frozen=True)
class HorizonFunction:
    """Horizon function of a separable potential.

    Attributes
    ----------
    kind : {"lp", "linf", "gauge"}
        ``lp``: ``φ_∞ = ‖·‖_p``; ``linf``: ``‖·‖_∞``; ``gauge``: the general gauge
        ``inf{r > 0 : Σ h(β_i/r) ≤ 1}`` (asymmetric or infinite on one side).
    p : float or None
        The exponent (``None`` when the growth is faster than any power).
    h_pos, h_neg : sympy.Expr
        One-dimensional limit profile ``h`` for ``x ≥ 0`` and for ``x ≤ 0`` (expressions in
        ``x``; ``oo`` means every nonzero argument on that side is infeasible).
    w_pos, w_neg : float
        Weights of ``h = w|x|^p`` on each side (``inf`` for an infeasible side; for the
        exponential type ``w`` is the value ``h(±1)``, irrelevant to the gauge).
    p_pos, p_neg : sympy.Expr
        Indices of regular variation ``lim s ϕ'(s)/ϕ(s)`` on each side (``oo`` allowed).
    rho : sympy.Expr
        ``lim ϕ(−s)/ϕ(s)``.
    potential : sympy.Expr
    x : sympy.Symbol
    steps : tuple
        ``(label, expression)`` pairs of the derivation.
    """

    kind: str
    p: float | None
    h_pos: sp.Expr
    h_neg: sp.Expr
    w_pos: float
    w_neg: float
    p_pos: sp.Expr
    p_neg: sp.Expr
    rho: sp.Expr
    potential: sp.Expr
    x: sp.Symbol
    steps: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    @property
    def exponent(self) -> float:
        """The exponent as a float, ``inf`` for the ℓ∞ / exponential type."""
        return float("inf") if self.p is None else float(self.p)

    def as_dict(self) -> dict[str, Any]:
        """``{"kind", "p", "h_pos", "h_neg"}`` (SymPy expressions as ``str``)."""
        return {"kind": self.kind, "p": self.p, "h_pos": str(self.h_pos), "h_neg": str(self.h_neg)}

    def evaluate(self, beta) -> float:
        """``φ_∞(β)`` for a real vector ``β`` (plain Python floats; no numpy needed)."""
        vals = [float(b) for b in beta]
        p = self.exponent
        parts = []
        for b in vals:
            if b > 0:
                w = self.w_pos
            elif b < 0:
                w = self.w_neg
            else:
                continue
            if w == float("inf"):
                return float("inf")
            parts.append((w, abs(b)))
        if not parts:
            return 0.0
        if p == float("inf"):
            return max(a for _, a in parts)
        return sum(w * a**p for w, a in parts) ** (1.0 / p)


def parse_potential(expression: str) -> tuple[sp.Expr, sp.Symbol]:
    """Parse a user potential (a SymPy expression in one real variable).

    Parameters
    ----------
    expression : str
        E.g. ``"x**2/2"``, ``"Abs(x)**3/3"``, ``"cosh(x) - 1"``. The variable is ``x`` if it
        occurs, otherwise the single free symbol. Short names of :data:`BUILTIN_POTENTIALS`
        (``quadratic``, ``cubic``, ``cosh``, ``asymmetric``, ``hypentropy`` ...) are accepted.

    Returns
    -------
    (sympy.Expr, sympy.Symbol)
        The expression (with the variable declared real) and the variable.

    Raises
    ------
    HorizonUndecidable
        Unparsable text, no variable, or more than one free symbol.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise HorizonUndecidable(
            "potential must be a non-empty SymPy expression string, e.g. 'x**2/2'"
        )
    text = expression.strip()
    if text in BUILTIN_POTENTIALS:
        return BUILTIN_POTENTIALS[text], _X
    try:
        expr = sp.sympify(text, locals={"x": _X, "abs": sp.Abs})
    except (sp.SympifyError, SyntaxError, TypeError, ValueError, AttributeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HorizonUndecidable(f"cannot parse potential {text!r}: {msg}") from None
    if not isinstance(expr, sp.Expr):
        raise HorizonUndecidable(f"potential {text!r} is not a scalar expression")
    symbols = sorted(expr.free_symbols, key=str)
    if not symbols:
        raise HorizonUndecidable(f"potential {text!r} does not depend on a variable")
    if _X in symbols:
        var = _X
    elif len(symbols) == 1:
        old = symbols[0]
        var = sp.Symbol(old.name, real=True)
        expr = expr.subs(old, var)
    else:
        raise HorizonUndecidable(
            f"potential {text!r} has free symbols {', '.join(map(str, symbols))}: use one "
            "variable named x and write parameters as numbers"
        )
    others = sorted((expr.free_symbols - {var}), key=str)
    if others:
        raise HorizonUndecidable(
            f"potential {text!r} has parameters {', '.join(map(str, others))}: write them as "
            "numbers (the variable is x)"
        )
    return expr, var


def _finite_real(value: sp.Expr) -> bool:
    try:
        v = sp.N(value, 20)
    except (TypeError, ValueError, ZeroDivisionError):
        return False
    if v.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or v.is_finite is False:
        return False
    re_part, im_part = v.as_real_imag()
    if not (re_part.is_Number and im_part.is_Number):
        return False
    return bool(abs(im_part) <= 1e-12 * max(1, abs(re_part)))


_SAMPLES = [sp.Rational(k, 4) for k in range(-40, 41)] + [
    sp.Integer(v) for v in (-1000, -100, -50, -25, 25, 50, 100, 1000)
] + [sp.Rational(1, 1000), sp.Rational(-1, 1000), sp.Rational(1, 10**6), sp.Rational(-1, 10**6)]


def _limit(expr: sp.Expr, what: str) -> sp.Expr:
    try:
        value = sp.limit(expr, _S, sp.oo)
    except (NotImplementedError, ValueError, TypeError, RecursionError, sp.PoleError) as exc:
        raise HorizonUndecidable(
            f"SymPy cannot evaluate the limit of {what} ({type(exc).__name__}); horizon function "
            "not decided"
        ) from None
    if isinstance(value, sp.AccumBounds) or value.has(sp.AccumBounds):
        raise HorizonUndecidable(
            f"the limit of {what} does not exist (oscillates in {value}); the horizon shape "
            "does not exist by this construction"
        )
    if value.has(sp.Limit) or value.free_symbols or value.has(sp.zoo, sp.nan):
        raise HorizonUndecidable(f"the limit of {what} is not decided (SymPy returned {value})")
    if value.is_extended_real is False:
        raise HorizonUndecidable(f"the limit of {what} is not real ({value})")
    return value


def _as_number(value: sp.Expr) -> float | None:
    """Python int/float for a finite SymPy number, None for ``oo``."""
    if value == sp.oo:
        return None
    value = sp.nsimplify(value)
    if value.is_Integer:
        return int(value)
    return float(value)


def horizon_function(phi: sp.Expr, x: sp.Symbol) -> HorizonFunction:
    """Horizon function ``φ_∞`` of the separable potential ``φ(β) = Σ_i phi(β_i)``.

    Theory: Pesme, Dragomir & Flammarion (NeurIPS 2024, arXiv:2406.12763): mirror flow with
    potential φ on separable data converges in direction to the φ_∞-max-margin classifier.
    The one-dimensional profile ``h(x) = lim_c ϕ(x r_c)/c`` is obtained from SymPy limits of the
    regular-variation index on each side and of the ratio ``ϕ(−s)/ϕ(s)`` (module docstring).

    Parameters
    ----------
    phi : sympy.Expr
        Per-coordinate potential in the single real variable ``x``; must be C², convex, real and
        finite on all of R, with ``ϕ'`` onto R (coercive gradient).
    x : sympy.Symbol

    Returns
    -------
    HorizonFunction
        ``kind`` (``lp`` / ``linf`` / ``gauge``), ``p``, ``h_pos``, ``h_neg`` and the weights.

    Raises
    ------
    HorizonUndecidable
        With a one-line reason (non-coercive gradient, not defined on R, not convex, limit not
        decided, exponential growth at different rates on the two sides).

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> horizon_function(sp.cosh(x) - 1, x).kind
    'linf'
    >>> hf = horizon_function(5*x**2/2 - 3*x*sp.sqrt(1 + x**2)/2, x)
    >>> hf.kind, hf.p, hf.h_neg
    ('gauge', 2, 4*x**2)
    """
    return _horizon_cached(phi, x)


@functools.lru_cache(maxsize=64)
def _horizon_cached(phi: sp.Expr, x: sp.Symbol) -> HorizonFunction:
    if not isinstance(phi, sp.Expr) or not isinstance(x, sp.Symbol):
        raise HorizonUndecidable("phi must be a SymPy expression and x a SymPy symbol")
    if x.is_real is not True:
        xr = sp.Symbol(x.name, real=True)
        phi, x = phi.subs(x, xr), xr
    extra = phi.free_symbols - {x}
    if extra:
        raise HorizonUndecidable(
            f"potential has parameters {', '.join(sorted(map(str, extra)))}: substitute numbers"
        )
    if x not in phi.free_symbols:
        raise HorizonUndecidable("potential does not depend on the variable: not coercive")
    steps: list[tuple[str, Any]] = [("potential ϕ(x)", phi)]

    # --- defined, finite and convex on all of R (checked on a grid of rational points) --------
    d1 = sp.diff(phi, x)
    d2 = sp.diff(d1, x)
    for v in _SAMPLES:
        if not _finite_real(phi.subs(x, v)):
            raise HorizonUndecidable(
                f"potential is not defined (real and finite) on all of R: ϕ({v}) = "
                f"{sp.N(phi.subs(x, v), 6)}; the theorem needs dom φ = R^d"
            )
    for v in _SAMPLES:
        if v == 0:
            continue  # |x|^p with p > 1 has ϕ''(0) = 0 or a removable singularity
        val = d2.subs(x, v)
        if _finite_real(val) and float(sp.N(val)) < -1e-9:
            raise HorizonUndecidable(f"potential is not convex: ϕ''({v}) = {sp.N(val, 6)} < 0")
    steps.append(("mirror map ϕ'(x)", d1))

    work = phi.rewrite(sp.log) if phi.has(sp.asinh, sp.acosh, sp.atanh) else phi
    fp = work.subs(x, _S)
    fm = work.subs(x, -_S)
    dfp = sp.diff(fp, _S)
    dfm = sp.diff(fm, _S)  # d/ds ϕ(−s) = −ϕ'(−s)

    # --- coercive gradient: ϕ' onto R -----------------------------------------------------------
    g_pos = _limit(dfp, "ϕ'(s) as s → +∞")
    g_neg = _limit(dfm, "−ϕ'(−s) as s → +∞")
    if g_pos != sp.oo or g_neg != sp.oo:
        raise HorizonUndecidable(
            f"non-coercive gradient: ϕ'(+∞) = {g_pos}, ϕ'(−∞) = {-g_neg}; ϕ' must map onto R "
            "(the theorem excludes such potentials)"
        )
    steps.append(("ϕ'(±∞)", sp.Tuple(sp.oo, -sp.oo)))

    # --- indices of regular variation and side ratio --------------------------------------------
    p_pos = _limit(_S * dfp / fp, "s ϕ'(s)/ϕ(s)")
    p_neg = _limit(_S * dfm / fm, "s |ϕ'(−s)|/ϕ(−s)")
    for name, val in (("+", p_pos), ("−", p_neg)):
        if val != sp.oo and val < 1:
            raise HorizonUndecidable(f"growth index on the {name} side is {val} < 1: not convex")
    rho = _limit(fm / fp, "ϕ(−s)/ϕ(s)")
    steps.append(("index p₊ = lim s ϕ'(s)/ϕ(s)", p_pos))
    steps.append(("index p₋ = lim s |ϕ'(−s)|/ϕ(−s)", p_neg))
    steps.append(("ρ = lim ϕ(−s)/ϕ(s)", rho))

    ax = sp.Abs(x)
    linf_profile = sp.Piecewise((0, ax < 1), (1, sp.Eq(ax, 1)), (sp.oo, True))
    inf = float("inf")

    def side_profile(p: sp.Expr, w: sp.Expr) -> tuple[sp.Expr, float]:
        if w == sp.oo:
            return sp.oo, inf
        if p == sp.oo:
            return linf_profile, float(w)
        return sp.nsimplify(w) * ax**p, float(w)

    if rho == sp.oo or rho == 0:
        fast_p = p_neg if rho == sp.oo else p_pos
        if fast_p == sp.oo:
            raise HorizonUndecidable(
                "both sides grow faster than any power but at different rates "
                "(ϕ(−s)/ϕ(s) → " + str(rho) + "); the threshold of h is not decided"
            )
        if rho == sp.oo:
            (h_pos, w_pos), (h_neg, w_neg) = side_profile(p_pos, 1), side_profile(p_pos, sp.oo)
            p_common = p_pos
        else:
            (h_pos, w_pos), (h_neg, w_neg) = side_profile(p_neg, sp.oo), side_profile(p_neg, 1)
            p_common = p_neg
        kind = "gauge"
    else:
        if p_pos != p_neg:  # cannot happen for a finite nonzero ratio; guard anyway
            raise HorizonUndecidable(f"inconsistent limits: p₊ = {p_pos}, p₋ = {p_neg}, ρ = {rho}")
        p_common = p_pos
        if p_common == sp.oo:
            # exponential type: both reaches ~ the same, h = 0 inside (−1, 1), ∞ outside
            (h_pos, w_pos), (h_neg, w_neg) = side_profile(sp.oo, 1), side_profile(sp.oo, 1)
            kind = "linf"
        else:
            if rho >= 1:  # positive side reaches further: normalise by it
                wp, wn = sp.Integer(1), rho
            else:
                wp, wn = 1 / rho, sp.Integer(1)
            (h_pos, w_pos), (h_neg, w_neg) = side_profile(p_common, wp), side_profile(p_common, wn)
            kind = "lp" if rho == 1 else "gauge"
    if kind == "gauge" and h_neg != sp.oo and h_pos != sp.oo:
        # asymmetric powers: write the profiles on their own side, e.g. x**2 and 4*x**2
        h_pos = sp.nsimplify(w_pos) * x**p_common if p_common != sp.oo else h_pos
        h_neg = sp.nsimplify(w_neg) * (-x) ** p_common if p_common != sp.oo else h_neg
        h_pos, h_neg = sp.simplify(h_pos), sp.simplify(h_neg)
    p_out = _as_number(p_common)
    steps.append(("h(x), x ≥ 0", h_pos))
    steps.append(("h(x), x ≤ 0", h_neg))
    if kind == "lp":
        gauge_text = f"‖β‖_{p_out}"
    elif kind == "linf":
        gauge_text = "‖β‖_∞"
    else:
        gauge_text = "inf{r > 0 : Σ h(β_i / r) ≤ 1}"
    steps.append(("horizon function φ_∞(β)", gauge_text))
    return HorizonFunction(
        kind=kind,
        p=p_out,
        h_pos=h_pos,
        h_neg=h_neg,
        w_pos=w_pos,
        w_neg=w_neg,
        p_pos=p_pos,
        p_neg=p_neg,
        rho=rho,
        potential=phi,
        x=x,
        steps=tuple(steps),
    )


def derive_horizon(expression: str) -> Derivation:
    """Derivation printed by ``dln-verify derive horizon EXPR``.

    ``results`` are ``{"kind", "p", "h_pos", "h_neg"}`` followed by ``"gauge"`` (a readable
    formula), ``"w_pos"`` and ``"w_neg"``. Raises :class:`HorizonUndecidable` (a ValueError)
    with a one-line reason when the horizon function cannot be decided.
    """
    phi, x = parse_potential(expression)
    hf = horizon_function(phi, x)
    results: dict[str, Any] = {
        "kind": hf.kind,
        "p": hf.p,
        "h_pos": str(hf.h_pos),
        "h_neg": str(hf.h_neg),
        "gauge": str(hf.steps[-1][1]),
        "w_pos": str(hf.w_pos),
        "w_neg": str(hf.w_neg),
    }
    return Derivation(
        title=f"Horizon function of the separable potential ϕ(x) = {phi} "
        "(Pesme, Dragomir & Flammarion 2024)",
        steps=hf.steps,
        results=results,
    )
