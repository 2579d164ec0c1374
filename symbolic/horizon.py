"""Horizon function of a separable mirror potential (Pesme, Dragomir & Flammarion, NeurIPS 2024).

Mirror flow ``d/dt ∇φ(β_t) = −∇L(β_t)`` on linearly separable data with an exponentially tailed
loss converges in direction to ``argmin{φ_∞(β) : y_i⟨x_i, β⟩ ≥ 1}``, where ``φ_∞`` is the
*horizon function* of ``φ``: the gauge of the Hausdorff limit of the normalised sub-level sets of
``φ`` (Pesme, Dragomir, Flammarion, "Implicit bias of mirror flow on separable data", NeurIPS
2024, arXiv:2406.12763, main theorem).

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

Hypotheses are checked, not assumed (the theorem needs ϕ C², strictly convex, real and finite on
all of R, with ϕ' onto R). :func:`horizon_function` *proves* them with SymPy or refuses:

* C² and finite: between *break points* (the real zeros of ``Abs`` arguments, found with
  ``solveset``, and ``Piecewise`` boundaries) each branch must be built only from ``+ *``,
  ``exp sin cos sinh cosh tanh atan asinh``, integer powers of nonzero bases and non-integer
  powers / logarithms of positive ones (SymPy proves the signs on the interval); at each break
  point ϕ, ϕ', ϕ'' must have equal finite one-sided limits. So ``Abs(x)**3`` and
  ``Abs(x)**p`` with ``p > 2`` are C², while ``Abs(x)``, ``Abs(x)**1.5`` and ``x*Abs(x)``
  (only C¹: ϕ'' jumps from −2 to 2) are refused.
* strictly convex: on each interval, ϕ'' > 0 except at finitely many points, proved by SymPy's
  sign assumptions (after ``together``/``factor``) or by ``solveset`` finding all zeros of ϕ''
  and one exact sign evaluation between consecutive zeros. Sample points are used only to
  *refute* (a point where ϕ'' < 0); a potential is never accepted on samples.
* coercive gradient: ``ϕ'(s) → +∞`` and ``ϕ'(−s) → −∞`` (SymPy limits).

Every SymPy call on a user expression is preceded by a size check (``count_ops`` ≤
:data:`MAX_OPS`, at most :data:`MAX_BREAKS` break points), so the work is bounded in SymPy's own
units and the answer does not depend on the machine.

Exceptions (all :class:`ValueError`, one-line messages):

* :class:`dln_verify.symbolic.parsing.ExpressionError` — the text is outside the grammar or its
  limits (:func:`parse_potential`); the command line exits with status 2.
* :class:`OutsideAssumptions` — a hypothesis fails (``decided=True``, e.g. ``-x**2``,
  ``exp(x) - x``, ``log(x)``) or SymPy cannot decide it (``decided=False``); ``.hypothesis``
  says which. The verifier reports status ``outside-assumptions``, never pass or fail.
* :class:`HorizonUndecidable` (a sub-class of :class:`OutsideAssumptions`) — the limits that
  define ``h`` are not decided or do not exist (e.g. ``exp(x) + exp(-2*x)``: exponential growth
  at different rates); :class:`WorkBoundExceeded` (a sub-class of it) — a work bound was met.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy as sp

from dln_verify.symbolic.derivation import Derivation
from dln_verify.symbolic.disk_cache import (
    cache_directory,
    entry_path,
    read_entry,
    source_fingerprint,
    write_entry,
)
from dln_verify.symbolic.errors import OutsideAssumptions
from dln_verify.symbolic.parsing import ExpressionError, parse_expression

__all__ = [
    "cache_directory",
    "HorizonFunction",
    "OutsideAssumptions",
    "HorizonUndecidable",
    "WorkBoundExceeded",
    "ExpressionError",
    "MAX_OPS",
    "MAX_BREAKS",
    "horizon_function",
    "derive_horizon",
    "parse_potential",
    "hyperbolic_entropy",
    "BUILTIN_POTENTIALS",
]


class HorizonUndecidable(OutsideAssumptions):
    """The limits that define the horizon function are not decided or do not exist.

    A sub-class of :class:`OutsideAssumptions` (``hypothesis="horizon-limit"``): the theorem
    also assumes that the normalised sub-level sets have a Hausdorff limit, and the method
    could not establish it (SymPy cannot evaluate a limit, a limit oscillates, or both sides
    grow faster than any power at different rates).
    """

    def __init__(self, reason: str, *, hypothesis: str = "horizon-limit", decided: bool = False,
                 option: str | None = None) -> None:
        super().__init__(reason, hypothesis=hypothesis, decided=decided, option=option)


class WorkBoundExceeded(HorizonUndecidable):
    """An expression met during the derivation exceeds :data:`MAX_OPS` (``count_ops``) or a
    potential has more than :data:`MAX_BREAKS` break points (``hypothesis="work-bound"``).

    The bound is in SymPy's own units, not wall-clock time, so the same input gets the same
    answer on every machine.
    """

    def __init__(self, reason: str, *, hypothesis: str = "work-bound", decided: bool = False,
                 option: str | None = None) -> None:
        super().__init__(reason, hypothesis=hypothesis, decided=decided, option=option)


#: largest ``count_ops`` of an expression handed to SymPy's limit / solveset / factor / simplify
MAX_OPS = 400
#: most break points (real zeros of ``Abs`` arguments, ``Piecewise`` boundaries) of a potential
MAX_BREAKS = 8
#: most zeros of ϕ'' examined on one interval
MAX_ROOTS = 16

_X = sp.Symbol("x", real=True)
_S = sp.Symbol("s", positive=True)


def hyperbolic_entropy(alpha: Any = "1/10", x: sp.Symbol = _X) -> sp.Expr:
    """Per-coordinate hyperbolic entropy ``x asinh(x/α²) − √(x² + α⁴) + α²`` (DLN potential).

    Without the factor ½ (a positive factor does not change the horizon function): its mirror
    map is ``θ = asinh(x/α²)``, i.e. ``x = α² sinh θ``.

    Parameters
    ----------
    alpha : str, int, float or sympy.Expr, default "1/10"
        The scale α > 0; a string is read with
        :func:`dln_verify.symbolic.parsing.parse_expression` (numbers only, option ``alpha``),
        a float through its shortest decimal form (0.1 → 1/10).
    x : sympy.Symbol
        The variable.

    Returns
    -------
    sympy.Expr
    """
    if isinstance(alpha, str):
        value = parse_expression(alpha, variables=(), option="alpha")
    elif isinstance(alpha, bool) or not isinstance(alpha, int | float | sp.Expr):
        raise TypeError(f"alpha must be a number or a numeric string, not {type(alpha).__name__}")
    elif isinstance(alpha, float):
        value = sp.Rational(repr(alpha))
    else:
        value = sp.Integer(alpha) if isinstance(alpha, int) else alpha
    if not (value.is_number and value.is_positive):
        raise ValueError(f"alpha must be a positive number, got {value}")
    a2 = sp.nsimplify(value) ** 2
    return x * sp.asinh(x / a2) - sp.sqrt(x**2 + a2**2) + a2


#: Built-in potentials, by short name, as SymPy expressions in ``x``.
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


def parse_potential(expression: str, *, option: str = "--potential") -> tuple[sp.Expr, sp.Symbol]:
    """Parse a user potential: an expression in the one real variable ``x``.

    The text goes through :func:`dln_verify.symbolic.parsing.parse_expression` (a whitelist
    grammar built from :mod:`ast`; nothing in the text is executed), with ``x`` as the only
    admitted variable. The hypotheses of the theorem are checked later, by
    :func:`horizon_function`.

    Parameters
    ----------
    expression : str
        E.g. ``"x**2/2"``, ``"Abs(x)**3/3"``, ``"cosh(x) - 1"``. Short names of
        :data:`BUILTIN_POTENTIALS` (``quadratic``, ``cubic``, ``cosh``, ``asymmetric``,
        ``hypentropy`` ...) are accepted.
    option : str, default "--potential"
        Name of the option that carried the text; it starts every error message.

    Returns
    -------
    (sympy.Expr, sympy.Symbol)
        The expression and the real variable ``x``.

    Raises
    ------
    dln_verify.symbolic.parsing.ExpressionError
        Text outside the grammar or its limits, including any name other than ``x`` (``y**2``
        is refused naming ``y``); the command line exits with status 2.
    OutsideAssumptions
        The expression does not depend on ``x`` (a constant is not strictly convex).

    Examples
    --------
    >>> parse_potential("x**2 + x**4")
    (x**4 + x**2, x)
    >>> parse_potential("t**2")
    Traceback (most recent call last):
    ...
    dln_verify.symbolic.parsing.ExpressionError: --potential: name 't' is not allowed; \
allowed: x, pi, E, exp, log, sqrt, sin, cos, sinh, cosh, tanh, asinh, atan, Abs, abs
    """
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionError(option, "potential must be a non-empty expression in x, e.g. x**2/2")
    text = expression.strip()
    if text in BUILTIN_POTENTIALS:
        return BUILTIN_POTENTIALS[text], _X
    expr = parse_expression(text, variables=(_X.name,), option=option)
    if _X not in expr.free_symbols:
        raise OutsideAssumptions(
            f"potential {text!r} does not depend on x: a constant is not strictly convex",
            hypothesis="strictly-convex", decided=True, option=option,
        )
    return expr, _X


def _bound(expr: sp.Expr, what: str) -> sp.Expr:
    """``expr`` itself, after checking its size against :data:`MAX_OPS` (SymPy's own units)."""
    n = sp.count_ops(expr)
    if n > MAX_OPS:
        raise WorkBoundExceeded(
            f"{what} has {n} operations (count_ops), more than the bound {MAX_OPS} on the SymPy "
            "work spent on one potential; not decided"
        )
    return expr


def _sign(value: sp.Expr) -> int | None:
    """Sign of a numeric SymPy value (``None``: not decided, not real or not finite)."""
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    if value.is_positive:
        return 1
    if value.is_negative:
        return -1
    if value.is_zero:
        return 0
    return None


_WITNESS_S = [sp.Rational(1, 10**k) for k in range(6, 0, -1)] + [
    sp.Rational(k, 4) for k in range(1, 17)
] + [sp.Integer(v) for v in (10, 100, 1000)]
_ENTIRE = (sp.exp, sp.sin, sp.cos, sp.sinh, sp.cosh, sp.tanh, sp.atan, sp.asinh)


@dataclass(frozen=True)
class _Interval:
    """An open interval ``{T(s) : s > 0}`` of R (``T`` is ``None`` for R itself)."""

    T: sp.Expr | None
    text: str

    def samples(self) -> list[sp.Expr]:
        if self.T is None:
            return list(_SAMPLES)
        return [self.T.subs(_S, v) for v in _WITNESS_S]


def _check_smooth(piece: sp.Expr, x: sp.Symbol, where: _Interval) -> None:
    """Prove that ``piece`` is real, finite and C^∞ on ``where``, or raise.

    Sufficient condition, checked node by node: only ``+ * exp sin cos sinh cosh tanh atan
    asinh`` and powers/logarithms whose arguments SymPy proves positive (non-integer powers,
    ``log``) or nonzero (negative integer powers) on the interval.
    """
    for node in sp.preorder_traversal(piece):
        if node.is_Atom:
            if isinstance(node, sp.Symbol) and node != x:  # pragma: no cover - checked before
                raise OutsideAssumptions(f"unexpected symbol {node}", hypothesis="variable",
                                         decided=True)
            continue
        if isinstance(node, (sp.Add, sp.Mul, *_ENTIRE)):
            continue
        if isinstance(node, sp.Pow):
            if node.exp.is_Integer and node.exp >= 0:
                continue
            arg, need = node.base, ("nonzero" if node.exp.is_Integer else "positive")
        elif isinstance(node, sp.log):
            arg, need = node.args[0], "positive"
        else:
            raise OutsideAssumptions(
                f"{node.func} is not among the functions known to be C² on R (exp, log of a "
                "positive argument, sqrt of a positive argument, sin, cos, sinh, cosh, tanh, "
                "asinh, atan, Abs where resolved); C² not decided",
                hypothesis="C2", decided=False,
            )
        arg_t = arg if where.T is None else arg.subs(x, where.T)
        proved = arg_t.is_positive if need == "positive" else arg_t.is_nonzero
        if proved:
            continue
        for t in where.samples():
            v = arg.subs(x, t)
            bad = (v.is_zero is True) if need == "nonzero" else (
                v.is_nonpositive is True or v.is_extended_real is False
            )
            if bad:
                raise OutsideAssumptions(
                    f"potential is not defined (real and finite) on all of R: {node} needs "
                    f"{arg} {'≠ 0' if need == 'nonzero' else '> 0'}, which fails at x = {t}; "
                    "the theorem needs dom φ = R^d",
                    hypothesis="domain", decided=True,
                )
        raise OutsideAssumptions(
            f"cannot show that the potential is defined and C² on {where.text}: SymPy cannot "
            f"prove {arg} {'≠ 0' if need == 'nonzero' else '> 0'} there (needed by {node})",
            hypothesis="domain", decided=False,
        )


def _break_points(phi: sp.Expr, x: sp.Symbol) -> list[sp.Expr]:
    """Sorted real points where ``phi`` switches branch: zeros of ``Abs`` arguments and
    boundaries of ``Piecewise`` conditions."""
    points: list[sp.Expr] = []

    def undecided(what: str) -> OutsideAssumptions:
        return OutsideAssumptions(f"cannot locate {what} on R; C² not decided",
                                  hypothesis="C2", decided=False)

    for node in phi.atoms(sp.Abs):
        u = _bound(node.args[0], f"the argument of {node}")
        try:
            zeros = sp.solveset(u, x, sp.S.Reals)
        except (NotImplementedError, ValueError, TypeError) as exc:
            raise undecided(f"the zeros of {u} ({type(exc).__name__})") from None
        if not (zeros is sp.S.EmptySet or isinstance(zeros, sp.FiniteSet)):
            raise undecided(f"the zeros of {u} (SymPy gives {zeros})")
        points.extend(zeros)
    for node in phi.atoms(sp.Piecewise):
        for _, cond in node.args:
            if cond is sp.true:
                continue
            if cond.free_symbols - {x}:
                raise undecided(f"the boundary of the condition {cond}")
            try:
                boundary = cond.as_set().boundary
            except (NotImplementedError, ValueError, TypeError):
                raise undecided(f"the boundary of the condition {cond}") from None
            if not (boundary is sp.S.EmptySet or isinstance(boundary, sp.FiniteSet)):
                raise undecided(f"the boundary of the condition {cond}")
            points.extend(boundary)
    distinct: list[sp.Expr] = []
    for c in points:
        if not (c.is_number and c.is_real):
            raise undecided(f"the break point {c}")
        if not any((c - d).is_zero for d in distinct):
            distinct.append(c)
    if len(distinct) > MAX_BREAKS:
        raise WorkBoundExceeded(
            f"potential has {len(distinct)} break points (zeros of Abs arguments, Piecewise "
            f"boundaries), more than the bound {MAX_BREAKS}; not decided"
        )
    return sorted(distinct, key=lambda c: float(sp.N(c, 30)))


def _resolve(phi: sp.Expr, x: sp.Symbol, t: sp.Expr) -> sp.Expr:
    """``phi`` with every ``Abs`` and ``Piecewise`` replaced by its branch at the point ``t``."""

    def undecided(node: sp.Expr) -> OutsideAssumptions:
        return OutsideAssumptions(f"cannot decide the branch of {node} at x = {t}; C² not "
                                  "decided", hypothesis="C2", decided=False)

    def abs_branch(node: sp.Expr) -> sp.Expr:
        u = node.args[0]
        sign = _sign(u.subs(x, t))
        if not sign:
            raise undecided(node)
        return u if sign > 0 else -u

    def pw_branch(node: sp.Expr) -> sp.Expr:
        for expr, cond in node.args:
            value = cond.subs(x, t)
            if value is sp.true:
                return expr
            if value is not sp.false:
                raise undecided(node)
        raise undecided(node)

    for _ in range(MAX_BREAKS + 2):
        if not phi.has(sp.Abs, sp.Piecewise):
            return phi
        phi = phi.replace(lambda n: isinstance(n, sp.Abs), abs_branch)
        phi = phi.replace(lambda n: isinstance(n, sp.Piecewise), pw_branch)
    raise undecided(phi)  # pragma: no cover - nesting is bounded by the parser


def _check_junction(phi: sp.Expr, left: sp.Expr, right: sp.Expr, x: sp.Symbol,
                    c: sp.Expr) -> None:
    """ϕ, ϕ', ϕ'' have equal finite one-sided limits at the break point ``c`` (then ϕ is C²
    there, by the mean value theorem), and ϕ(c) is that limit."""
    names = ("ϕ", "ϕ'", "ϕ''")
    for k in range(3):
        values = []
        for piece, side in ((left, "-"), (right, "+")):
            expr = _bound(sp.diff(piece, x, k), f"{names[k]} near x = {c}")
            try:
                value = sp.limit(expr, x, c, side)
            except (NotImplementedError, ValueError, TypeError, RecursionError,
                    sp.PoleError) as exc:
                raise OutsideAssumptions(
                    f"SymPy cannot evaluate the limit of {names[k]} at x = {c}{side} "
                    f"({type(exc).__name__}); C² not decided", hypothesis="C2", decided=False,
                ) from None
            if value.has(sp.Limit, sp.AccumBounds, sp.nan) or value.free_symbols:
                raise OutsideAssumptions(
                    f"the limit of {names[k]} at x = {c}{side} is not decided ({value}); C² not "
                    "decided", hypothesis="C2", decided=False,
                )
            if value.has(sp.oo, -sp.oo, sp.zoo):
                raise OutsideAssumptions(
                    f"potential is not C² on R: {names[k]} is unbounded as x → {c}{side}",
                    hypothesis="C2", decided=True,
                )
            values.append(value)
        gap = sp.simplify(values[0] - values[1])
        if gap.is_zero is False:
            raise OutsideAssumptions(
                f"potential is not C² on R: {names[k]} jumps at x = {c} (from {values[0]} to "
                f"{values[1]})", hypothesis="C2", decided=True,
            )
        if gap.is_zero is not True:
            raise OutsideAssumptions(f"cannot decide whether {names[k]} is continuous at x = {c}",
                                     hypothesis="C2", decided=False)
        if k == 0:
            at_c = phi.subs(x, c)
            if sp.simplify(at_c - values[0]).is_zero is not True:
                raise OutsideAssumptions(
                    f"potential is not continuous at x = {c}: ϕ({c}) = {at_c}, limit "
                    f"{values[0]}", hypothesis="C2", decided=True,
                )


def _check_convex(piece: sp.Expr, x: sp.Symbol, where: _Interval) -> None:
    """Prove ``ϕ'' ≥ 0`` on ``where`` with at most finitely many zeros (strict convexity there),
    or raise: decided (with a witness where ``ϕ'' < 0``) or not decided. Never accepts on
    samples: a sample can only refute."""
    assert where.T is not None
    g = _bound(sp.diff(piece, x, 2), f"ϕ'' on {where.text}").subs(x, where.T)

    def refuted(v: sp.Expr) -> OutsideAssumptions:
        xv = where.T.subs(_S, v)
        return OutsideAssumptions(
            f"potential is not convex: ϕ''({xv}) = {sp.N(g.subs(_S, v), 6)} < 0",
            hypothesis="strictly-convex", decided=True,
        )

    if g.is_positive:
        return
    if g.is_nonpositive:
        raise OutsideAssumptions(f"potential is not strictly convex: ϕ'' ≤ 0 on {where.text}",
                                 hypothesis="strictly-convex", decided=True)
    for v in _WITNESS_S:
        if _sign(g.subs(_S, v)) == -1:
            raise refuted(v)
    num, den = sp.fraction(sp.together(g))
    num = sp.expand(num)
    if (num.is_positive and den.is_positive) or (num.is_negative and den.is_negative):
        return
    try:
        if sp.factor(g).is_positive:
            return
        zeros = sp.solveset(g, _S, sp.Interval.open(0, sp.oo))
    except (NotImplementedError, ValueError, TypeError, RecursionError):
        zeros = None
    roots: list[sp.Expr] | None = None
    if zeros is sp.S.EmptySet:
        roots = []
    elif isinstance(zeros, sp.FiniteSet) and len(zeros) <= MAX_ROOTS and all(
        r.is_number and r.is_real for r in zeros
    ):
        roots = sorted(zeros, key=lambda r: float(sp.N(r, 30)))
    if roots is not None:
        # g is continuous on s > 0 and vanishes only at ``roots``: one point per gap decides
        tests = ([roots[0] / 2] if roots else [sp.Integer(1)]) + [
            (a + b) / 2 for a, b in zip(roots, roots[1:], strict=False)
        ] + ([roots[-1] + 1] if roots else [])
        signs = [_sign(g.subs(_S, t)) for t in tests]
        if all(sign == 1 for sign in signs):
            return
        for t, sign in zip(tests, signs, strict=True):
            if sign == -1:
                raise refuted(t)
    raise OutsideAssumptions(
        f"strict convexity not decided: SymPy cannot show ϕ''(x) > 0 on {where.text} "
        "(a potential is not accepted on samples)", hypothesis="strictly-convex", decided=False,
    )


_SAMPLES = [sp.Rational(k, 4) for k in range(-40, 41)] + [
    sp.Integer(v) for v in (-1000, -100, -50, -25, 25, 50, 100, 1000)
] + [sp.Rational(1, 1000), sp.Rational(-1, 1000), sp.Rational(1, 10**6), sp.Rational(-1, 10**6)]


def _limit(expr: sp.Expr, what: str) -> sp.Expr:
    _bound(expr, what)
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


def horizon_function(phi: sp.Expr, x: sp.Symbol, *, option: str | None = None
                     ) -> HorizonFunction:
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
    option : str or None
        Option that carried the potential; when given it starts every error message.

    Returns
    -------
    HorizonFunction
        ``kind`` (``lp`` / ``linf`` / ``gauge``), ``p``, ``h_pos``, ``h_neg`` and the weights.

    Raises
    ------
    OutsideAssumptions
        A hypothesis fails (``decided=True``: not C², not defined on R, not convex,
        non-coercive gradient) or SymPy cannot prove it (``decided=False``); one-line reason.
    HorizonUndecidable
        (An :class:`OutsideAssumptions`.) A limit is not decided or does not exist, or
        exponential growth at different rates on the two sides.
    WorkBoundExceeded
        (A :class:`HorizonUndecidable`.) An expression exceeds :data:`MAX_OPS`.

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
    if not isinstance(phi, sp.Expr):
        raise TypeError(f"phi must be a SymPy expression, got {type(phi).__name__}")
    if not isinstance(x, sp.Symbol):
        raise TypeError(f"x must be a SymPy symbol (the variable of phi), got {type(x).__name__}")
    try:
        return _horizon_cached(phi, x)
    except OutsideAssumptions as exc:
        if option:
            raise exc.with_option(option) from None
        raise


@functools.lru_cache(maxsize=64)
def _horizon_cached(phi: sp.Expr, x: sp.Symbol) -> HorizonFunction:
    if not isinstance(phi, sp.Expr) or not isinstance(x, sp.Symbol):
        raise OutsideAssumptions("phi must be a SymPy expression and x a SymPy symbol",
                                 hypothesis="variable", decided=True)
    if x.is_real is not True:
        xr = sp.Symbol(x.name, real=True)
        phi, x = phi.subs(x, xr), xr
    extra = phi.free_symbols - {x}
    if extra:
        raise OutsideAssumptions(
            f"potential has parameters {', '.join(sorted(map(str, extra)))}: substitute numbers "
            f"(the theorem is about a potential of the one variable {x})",
            hypothesis="variable", decided=True,
        )
    if x not in phi.free_symbols:
        raise OutsideAssumptions(
            "potential does not depend on the variable: a constant is not strictly convex",
            hypothesis="strictly-convex", decided=True,
        )
    _bound(phi, "the potential")
    if phi.has(sp.I, sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise OutsideAssumptions("potential is not real and finite (it contains I, zoo, nan or oo)",
                                 hypothesis="domain", decided=True)
    steps: list[tuple[str, Any]] = [("potential ϕ(x)", phi)]
    limits = _cache_load(phi, x)
    cached = limits is not None
    if limits is None:
        limits = _derive_limits(phi, x)
    g_pos, g_neg, p_pos, p_neg, rho = limits
    steps.append(("hypotheses (proved with SymPy)",
                  "C² and finite on R; ϕ'' > 0 off finitely many points (strictly convex)"))
    d1 = sp.diff(phi, x)
    steps.append(("mirror map ϕ'(x)", d1))
    if g_pos != sp.oo or g_neg != sp.oo:
        raise OutsideAssumptions(
            f"non-coercive gradient: ϕ'(+∞) = {g_pos}, ϕ'(−∞) = {-g_neg}; ϕ' must map onto R "
            "(the theorem excludes such potentials)", hypothesis="coercive-gradient", decided=True,
        )
    steps.append(("ϕ'(±∞)", sp.Tuple(sp.oo, -sp.oo)))
    for name, val in (("+", p_pos), ("−", p_neg)):
        if val != sp.oo and val < 1:
            raise OutsideAssumptions(
                f"growth index on the {name} side is {val} < 1: not convex",
                hypothesis="strictly-convex", decided=True,
            )
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
    if not cached:
        _cache_store(phi, x, limits)
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


_derivations = 0  # derivations computed by this process (the cache is tested by counting them)


def _derive_limits(phi: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, ...]:
    """The expensive part: prove the hypotheses and take the limits ``(ϕ'(+∞), −ϕ'(−∞), p₊, p₋,
    ρ)``; raises :class:`OutsideAssumptions` as soon as a hypothesis fails."""
    global _derivations
    _derivations += 1

    # --- hypotheses: C² and finite on R, strictly convex (proved, never sampled) -------------
    breaks = _break_points(phi, x)
    if not breaks:
        _check_smooth(phi, x, _Interval(None, "R"))
        sides = [(phi, _Interval(-_S, "x < 0")), (phi, _Interval(_S, "x > 0"))]
    else:
        sides = []
        for i in range(len(breaks) + 1):
            if i == 0:
                where, t = _Interval(breaks[0] - _S, f"x < {breaks[0]}"), breaks[0] - 1
            elif i == len(breaks):
                where, t = _Interval(breaks[-1] + _S, f"x > {breaks[-1]}"), breaks[-1] + 1
            else:
                a, b = breaks[i - 1], breaks[i]
                where, t = _Interval((a + b * _S) / (1 + _S), f"{a} < x < {b}"), (a + b) / 2
            piece = _resolve(phi, x, t)
            _bound(piece, f"the potential on {where.text}")
            _check_smooth(piece, x, where)
            sides.append((piece, where))
        for c, (left, _), (right, _) in zip(breaks, sides, sides[1:], strict=False):
            _check_junction(phi, left, right, x, c)
    for piece, where in sides:
        _check_convex(piece, x, where)

    # outer branches: for s → ∞, x = ±s lies in the last/first interval
    outer_pos, outer_neg = sides[-1][0], sides[0][0]
    work_pos = outer_pos.rewrite(sp.log) if outer_pos.has(sp.asinh, sp.acosh, sp.atanh) else (
        outer_pos)
    work_neg = outer_neg.rewrite(sp.log) if outer_neg.has(sp.asinh, sp.acosh, sp.atanh) else (
        outer_neg)
    fp = _bound(work_pos.subs(x, _S), "ϕ(s)")
    fm = _bound(work_neg.subs(x, -_S), "ϕ(−s)")
    dfp = sp.diff(fp, _S)
    dfm = sp.diff(fm, _S)  # d/ds ϕ(−s) = −ϕ'(−s)

    # --- coercive gradient: ϕ' onto R -----------------------------------------------------------
    g_pos = _limit(dfp, "ϕ'(s) as s → +∞")
    g_neg = _limit(dfm, "−ϕ'(−s) as s → +∞")
    if g_pos != sp.oo or g_neg != sp.oo:
        raise OutsideAssumptions(
            f"non-coercive gradient: ϕ'(+∞) = {g_pos}, ϕ'(−∞) = {-g_neg}; ϕ' must map onto R "
            "(the theorem excludes such potentials)", hypothesis="coercive-gradient", decided=True,
        )

    # --- indices of regular variation and side ratio --------------------------------------------
    p_pos = _limit(_S * dfp / fp, "s ϕ'(s)/ϕ(s)")
    p_neg = _limit(_S * dfm / fm, "s |ϕ'(−s)|/ϕ(−s)")
    for name, val in (("+", p_pos), ("−", p_neg)):
        if val != sp.oo and val < 1:
            raise OutsideAssumptions(
                f"growth index on the {name} side is {val} < 1: not convex",
                hypothesis="strictly-convex", decided=True,
            )
    rho = _limit(fm / fp, "ϕ(−s)/ϕ(s)")
    return g_pos, g_neg, p_pos, p_neg, rho


# ---------------------------------------------------------------------------------------------
# Cross-process cache of the derived limits
# ---------------------------------------------------------------------------------------------

_CACHE_FORMAT = 2  # 2: the shared entry layout of dln_verify.symbolic.disk_cache
_LIMIT_NAMES = ("g_pos", "g_neg", "p_pos", "p_neg", "rho")


@functools.lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    return source_fingerprint(__file__)


def _cache_key(phi: sp.Expr, x: sp.Symbol) -> dict[str, Any]:
    return {"format": _CACHE_FORMAT, "sympy": sp.__version__, "code": _code_fingerprint(),
            "phi": sp.srepr(phi), "x": sp.srepr(x)}


def _cache_path(key: dict[str, Any]) -> Path | None:
    return entry_path("horizon", key)


def _rebuild(entry: Any) -> sp.Expr | None:
    """A cached number, rebuilt through the whitelist parser and checked against its srepr."""
    if not isinstance(entry, dict):
        return None
    text, rep = entry.get("text"), entry.get("srepr")
    if not isinstance(text, str) or not isinstance(rep, str) or len(text) > 200:
        return None
    if text in ("oo", "-oo"):
        value = sp.oo if text == "oo" else -sp.oo
    else:
        try:
            value = parse_expression(text, variables=(), option="cache")
        except ValueError:
            return None
    return value if sp.srepr(value) == rep else None


def _cache_load(phi: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, ...] | None:
    """The cached limits of ``(phi, x)``, or None (absent, unreadable, corrupt or stale)."""
    values = read_entry("horizon", _cache_key(phi, x))
    if not isinstance(values, dict):
        return None
    out = tuple(_rebuild(values.get(name)) for name in _LIMIT_NAMES)
    return None if any(v is None for v in out) else out


def _cache_store(phi: sp.Expr, x: sp.Symbol, limits: tuple[sp.Expr, ...]) -> None:
    """Write the limits atomically (:func:`~dln_verify.symbolic.disk_cache.write_entry`)."""
    entries = {name: {"text": str(v), "srepr": sp.srepr(v)}
               for name, v in zip(_LIMIT_NAMES, limits, strict=True)}
    if any(_rebuild(e) is None for e in entries.values()):
        return  # not representable in the safe format: not cached
    write_entry("horizon", _cache_key(phi, x), entries)


def derive_horizon(expression: str, *, option: str = "EXPR") -> Derivation:
    """Derivation printed by ``dln-verify derive horizon EXPR``.

    Parameters
    ----------
    expression : str
        The potential, read by :func:`parse_potential`.
    option : str, default "EXPR"
        Name of the argument that carried ``expression``; it starts every error message.

    Returns
    -------
    Derivation
        ``results`` are ``{"kind", "p", "h_pos", "h_neg"}`` followed by ``"gauge"`` (a readable
        formula), ``"w_pos"`` and ``"w_neg"``.

    Raises
    ------
    dln_verify.symbolic.parsing.ExpressionError
        The text is outside the grammar (exit status 2).
    OutsideAssumptions
        A hypothesis of the theorem fails or is not decided (:class:`HorizonUndecidable` when
        the horizon limits are not decided); one-line reason.
    """
    phi, x = parse_potential(expression, option=option)
    hf = horizon_function(phi, x, option=option)
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
