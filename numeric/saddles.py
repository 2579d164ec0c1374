"""Saddle-to-saddle limit of gradient flow on a diagonal linear network (α → 0).

Pesme, S. and Flammarion, N. (2023), "Saddle-to-Saddle Dynamics in Diagonal Linear Networks",
NeurIPS 2023, Theorem 2 and Algorithm 1, arXiv:2304.00488.

Convention (docs/theory/conventions.md §1.1, docs/theory/classification.md §2): regression loss
``L(β) = ‖Xβ − y‖² / (2n)``, gradient ``g(β) = Xᵀ(Xβ − y)/n``; network ``β = u ⊙ v`` with
``u₀ = √2 α 1``, ``v₀ = 0``. Gradient flow satisfies exactly ``β_t = α² sinh(−2∫₀ᵗ ∇L(β_r) dr)``.
In the accelerated time ``τ = t / log(1/α)`` the rescaled dual
``s(τ) = asinh(β/α²) / (2 log(1/α)) = −∫₀^τ ∇L(β̃(r)) dr`` tends, as α → 0, to a piecewise-linear
path in ``[−1, 1]^d`` and ``β̃(τ)`` to a piecewise-constant path ``β°(τ)`` that jumps between
saddles of the loss at the times ``t₁ < t₂ < …`` computed by :func:`saddle_to_saddle`.

With the other common parametrisation ``β = w₊² − w₋²``, ``w±(0) = α``, every time is halved;
this module uses ``u ⊙ v`` throughout.

The module also holds two references used by the saddle-to-saddle claim:

- :func:`lasso_homotopy`, the Lasso/LARS homotopy (with deletions) for the same loss scaling,
  whose knots ``λ_k`` equal ``1/t_k`` up to the first deletion (docs/theory/classification.md §2.3);
- :func:`min_l1_interpolator_cvxpy`, the minimum-ℓ1 interpolator from cvxpy with a certificate,
  which the last saddle must equal when ``d > n``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from dln_verify.numeric._lazy import lazy_module
from dln_verify.numeric.convex.certificate import Certificate
from dln_verify.numeric.validation import as_finite_array, check_positive

_optimize = lazy_module("scipy.optimize")  # imported on first use

__all__ = [
    "GeneralPositionError",
    "SaddlePath",
    "saddle_to_saddle",
    "LassoPath",
    "lasso_homotopy",
    "min_l1_interpolator_cvxpy",
]


class GeneralPositionError(ValueError):
    """The data are not in general position: the limit algorithm meets a tie it cannot resolve.

    Pesme & Flammarion (2023) assume that for every ``r ≤ min(n, d)`` no signed column ``±X_j``
    lies in the affine span of ``r`` other signed columns; this makes every step of Algorithm 1
    unique. Duplicated (or sign-flipped) columns, exactly simultaneous activations and
    rank-deficient active faces violate it.
    """


def _check_data(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = as_finite_array(X, "X", ndim=2)
    y = as_finite_array(y, "y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have length n = X.shape[0] = {X.shape[0]}, got {y.shape[0]}")
    if not np.any(X.T @ y):
        raise ValueError("Xᵀy must be non-zero: otherwise β = 0 is already a minimiser (no jump)")
    return X, y


@dataclass(frozen=True)
class SaddlePath:
    """The α → 0 limit path of Pesme & Flammarion (2023), Algorithm 1.

    Attributes
    ----------
    times : ndarray, shape (K,)
        Jump times ``t₁ < … < t_K`` in accelerated time ``τ = t / log(1/α)``.
    saddles : ndarray, shape (K, d)
        ``saddles[k]`` is the saddle ``β_k`` held on ``(t_k, t_{k+1})``; ``β₀ = 0`` on
        ``(0, t₁)`` is not stored. ``saddles[-1]`` is a global minimiser of ``L``.
    duals : ndarray, shape (K, d)
        The limit dual ``s(t_k) ∈ [−1, 1]^d`` at each jump (``s ∈ ∂‖β_k‖₁`` on the plateau).
    gradients : ndarray, shape (K, d)
        ``∇L(β_k)``; on ``(t_k, t_{k+1})`` the dual moves as ``s(τ) = s_k − (τ − t_k)∇L(β_k)``.
    active : ndarray of bool, shape (K, d)
        The face ``I_k = {j : |s_j(t_k)| = 1}`` on which ``β_k`` is the sign-constrained least
        squares solution.
    signs : ndarray of int, shape (K, d)
        ``sign(s_j)`` on ``I_k`` and 0 elsewhere.
    entering : ndarray of int, shape (K,)
        The coordinate whose dual reached ±1 at ``t_k``.
    dropped : tuple of tuple of int
        For each jump, coordinates of the face that the constrained least squares put at zero
        although they were non-zero in ``β_{k−1}`` (deactivations).
    crossings : tuple of tuple of int
        For each jump, coordinates whose dual reached the sign opposite to the one they last
        held while active (sign crossings).
    nu : ndarray, shape (n,)
        Final dual certificate: ``duals[-1] = Xᵀ nu`` (exactly, by construction, up to rounding).
    gradient0 : ndarray, shape (d,)
        ``∇L(0)`` (drives the dual on ``(0, t₁)``).
    """

    times: np.ndarray
    saddles: np.ndarray
    duals: np.ndarray
    gradients: np.ndarray
    active: np.ndarray
    signs: np.ndarray
    entering: np.ndarray
    dropped: tuple[tuple[int, ...], ...]
    crossings: tuple[tuple[int, ...], ...]
    nu: np.ndarray = field(repr=False)
    gradient0: np.ndarray = field(repr=False)

    @property
    def n_jumps(self) -> int:
        return int(self.times.shape[0])

    @property
    def has_deactivation(self) -> bool:
        return any(len(d) > 0 for d in self.dropped)

    @property
    def has_crossing(self) -> bool:
        return any(len(c) > 0 for c in self.crossings)

    def dual_margins(self, fraction: float = 0.6, n_points: int = 101) -> np.ndarray:
        """Distance of the off-support duals to ±1 on the middle of each plateau, shape (K,).

        ``δ_k = min {1 − |s_j(τ)| : β_{k,j} = 0, τ in the middle ``fraction`` of (t_k, t_{k+1})}``
        (the last plateau is frozen). At finite α a coordinate that is zero in the saddle is
        ``|β_j| = α² sinh(2 log(1/α)|s_j|) ≤ ½ e^{−2 log(1/α) δ_k}``, so ``δ_k`` sets how small α
        must be before plateau ``k`` is visible: a quantitative form of general position
        (docs/theory/classification.md §2.4). A coordinate deactivated at ``t_k`` sits on the
        face at ``t_k`` (``|s_j| = 1``) but is zero in the saddle and leaves ±1 at speed
        ``|∇_j L(β_k)|``: it leaks like any off-support coordinate and counts.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(3)
        >>> X = rng.standard_normal((4, 8)); y = X[:, 0] - X[:, 1]
        >>> m = saddle_to_saddle(X, y).dual_margins()
        >>> bool(np.all((m > 0) & (m <= 1)))
        True
        """
        if isinstance(fraction, bool) or not 0.0 < float(fraction) <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
        if isinstance(n_points, bool) or not isinstance(n_points, int | np.integer) \
                or n_points < 2:
            raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}")
        ends = np.append(self.times[1:], self.times[-1] + 1.0)
        out = np.full(self.n_jumps, np.inf)
        for k, (a, b) in enumerate(zip(self.times, ends, strict=True)):
            mid, half = 0.5 * (a + b), 0.5 * fraction * (b - a)
            s = self.dual_at(np.linspace(mid - half, mid + half, n_points))
            off = self.saddles[k] == 0.0
            if np.any(off):
                out[k] = float(np.min(1.0 - np.abs(s[:, off])))
        return out

    def beta_at(self, tau) -> np.ndarray:
        """The limit path ``β°(τ)`` (right-continuous), shape ``(len(tau), d)``."""
        tau = np.atleast_1d(np.asarray(tau, dtype=np.float64))
        k = np.searchsorted(self.times, tau, side="right")
        padded = np.vstack([np.zeros((1, self.saddles.shape[1])), self.saddles])
        return padded[k]

    def dual_at(self, tau) -> np.ndarray:
        """The limit dual ``s°(τ)`` (piecewise linear), shape ``(len(tau), d)``."""
        tau = np.atleast_1d(np.asarray(tau, dtype=np.float64))
        d = self.saddles.shape[1]
        t0 = np.concatenate([[0.0], self.times])
        s0 = np.vstack([np.zeros((1, d)), self.duals])
        g0 = np.vstack([self.gradient0[None, :], self.gradients])
        k = np.searchsorted(self.times, tau, side="right")
        return np.clip(s0[k] - (tau - t0[k])[:, None] * g0[k], -1.0, 1.0)


def _face_least_squares(
    X: np.ndarray, y: np.ndarray, s: np.ndarray, face: np.ndarray
) -> np.ndarray:
    """``argmin L(β)`` s.t. ``β_j = 0`` off the face, ``s_j β_j ≥ 0`` on it (NNLS + polish)."""
    n, d = X.shape
    beta = np.zeros(d)
    idx = np.flatnonzero(face)
    if idx.size == 0:
        return beta
    A = X[:, idx] * s[idx]
    if idx.size > n or np.linalg.matrix_rank(A) < idx.size:
        raise GeneralPositionError(
            f"the active face has {idx.size} coordinates but rank "
            f"{np.linalg.matrix_rank(A)} (n = {n}): the constrained least squares is not unique, "
            "so the data are not in general position"
        )
    c, _ = _optimize.nnls(A, y, maxiter=50 * max(idx.size, 10))
    # Polish on the support (the NNLS solution is the unconstrained LS on its support).
    supp = c > 0
    if np.any(supp):
        sol, *_ = np.linalg.lstsq(A[:, supp], y, rcond=None)
        if np.all(sol > 0):
            c = np.zeros_like(c)
            c[supp] = sol
    beta[idx] = s[idx] * c
    return beta


def saddle_to_saddle(
    X,
    y,
    *,
    tol: float = 1e-9,
    tie_tol: float = 1e-9,
    max_jumps: int | None = None,
) -> SaddlePath:
    """Jump times and saddles of the α → 0 limit of DLN gradient flow (Pesme & Flammarion 2023).

    Runs Algorithm 1 of Pesme & Flammarion (NeurIPS 2023, arXiv:2304.00488), as restated in
    docs/theory/classification.md §2.2: a dual clock ``s ∈ [−1, 1]^d`` moves as
    ``ṡ = −∇L(β_k)``; when a coordinate reaches ±1 (jump time ``t_{k+1}``) the new saddle is the
    least-squares solution on the face ``{β : s ∈ ∂‖β‖₁}`` (coordinates with ``|s_j| < 1`` are
    zero, the others carry the sign of ``s_j``), computed by NNLS. Deactivations (a face
    coordinate put to zero, whose dual then leaves ±1) and sign crossings (a dual travelling
    from +1 to −1) follow from the same rule.

    Convention: ``L(β) = ‖Xβ − y‖²/(2n)``, ``β = u ⊙ v``, ``u₀ = √2α``, ``v₀ = 0``; times are in
    ``τ = t / log(1/α)``. So ``t₁ = 1/‖∇L(0)‖_∞``.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
        Data in general position (e.g. continuous random); ``Xᵀy ≠ 0``.
    tol : float
        Relative threshold (times ``‖∇L(0)‖_∞``) below which a gradient entry counts as zero;
        the path stops when ``‖∇L(β_K)‖_∞`` is below it.
    tie_tol : float
        Relative gap between the two earliest candidate jump times below which they are
        declared simultaneous (a tie), which raises :class:`GeneralPositionError`.
    max_jumps : int, optional
        Safety cap (default ``20 d + 50``); the number of jumps is finite in theory.

    Returns
    -------
    SaddlePath
        Jump times, saddles, duals, faces, signs and events. When ``d > n`` and ``X`` has full
        row rank the last saddle is the minimum-ℓ1 interpolator; when ``n ≥ d`` and ``X`` has
        full column rank it is the least-squares solution.

    Raises
    ------
    ValueError
        For malformed data or parameters.
    GeneralPositionError
        When the data are not in general position (simultaneous activations, a face whose
        least squares is not unique, a face coordinate with zero gradient).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((5, 10)); y = rng.standard_normal(5)
    >>> path = saddle_to_saddle(X, y)
    >>> bool(np.isclose(path.times[0], 5 / np.abs(X.T @ y).max()))
    True
    """
    X, y = _check_data(X, y)
    tol = check_positive(tol, "tol")
    tie_tol = check_positive(tie_tol, "tie_tol")
    n, d = X.shape
    if max_jumps is None:
        max_jumps = 20 * d + 50
    elif (isinstance(max_jumps, bool) or not isinstance(max_jumps, int | np.integer)
          or max_jumps < 1):
        raise ValueError(f"max_jumps must be a positive integer, got {max_jumps!r}")

    def grad(b: np.ndarray) -> np.ndarray:
        return X.T @ (X @ b - y) / n

    g0 = grad(np.zeros(d))
    gscale = float(np.max(np.abs(g0)))
    gtol = tol * gscale

    t = 0.0
    s = np.zeros(d)
    nu = np.zeros(n)
    beta = np.zeros(d)
    last_active_sign = np.zeros(d)
    times, saddles, duals, grads, faces, signs, entering = [], [], [], [], [], [], []
    dropped: list[tuple[int, ...]] = []
    crossings: list[tuple[int, ...]] = []
    g = g0.copy()
    while np.max(np.abs(g)) > gtol:
        if len(times) >= max_jumps:
            raise RuntimeError(
                f"saddle_to_saddle: more than max_jumps = {max_jumps} jumps; the data are "
                "probably degenerate"
            )
        on_face = np.abs(s) == 1.0
        support = beta != 0.0
        moving = ~support & (np.abs(g) > gtol)
        # A face coordinate at zero must be pushed inward (KKT of the face problem).
        stuck = on_face & ~support
        if np.any(stuck & (np.abs(g) <= gtol)):
            j = int(np.flatnonzero(stuck & (np.abs(g) <= gtol))[0])
            raise GeneralPositionError(
                f"coordinate {j} sits at |s| = 1 with β_j = 0 and zero gradient: tie between "
                "staying and leaving the face (data not in general position)"
            )
        if np.any(stuck & (s * g < -gtol)):
            raise RuntimeError("face least squares violated its KKT conditions")
        delta = np.full(d, np.inf)
        up = moving & (g < 0)
        down = moving & (g > 0)
        delta[up] = (1.0 - s[up]) / (-g[up])
        delta[down] = (1.0 + s[down]) / g[down]
        # coordinates leaving the face from the side they sit on travel to the other side
        delta[on_face & moving & (s * g > 0)] = 2.0 / np.abs(g[on_face & moving & (s * g > 0)])
        if not np.any(np.isfinite(delta)):
            raise RuntimeError("no coordinate can move although the gradient is non-zero")
        order = np.argsort(delta)
        i_star = int(order[0])
        step = float(delta[i_star])
        if d > 1 and np.isfinite(delta[order[1]]):
            gap = float(delta[order[1]] - step)
            if gap <= tie_tol * max(t + step, 1e-300):
                raise GeneralPositionError(
                    f"coordinates {i_star} and {int(order[1])} reach ±1 simultaneously "
                    f"(times differ by {gap:.2e}): data not in general position"
                )
        r = X @ beta - y
        nu = nu - step * r / n
        s_new = s.copy()
        s_new[moving] = s[moving] - step * g[moving]
        s_new = np.clip(s_new, -1.0, 1.0)
        # numerically touching ±1 without being the entering coordinate: snap back inside
        touching = moving & (np.abs(s_new) >= 1.0)
        touching[i_star] = False
        s_new[touching] = np.sign(s_new[touching]) * np.nextafter(1.0, 0.0)
        new_sign = -np.sign(g[i_star])
        s_new[i_star] = new_sign
        crossed = (
            (i_star,) if last_active_sign[i_star] == -new_sign else ()
        )
        s = s_new
        t += step
        face = np.abs(s) == 1.0
        new_beta = _face_least_squares(X, y, s, face)
        drop = tuple(int(j) for j in np.flatnonzero(face & support & (new_beta == 0.0)))
        beta = new_beta
        last_active_sign[beta != 0] = np.sign(beta[beta != 0])
        g = grad(beta)
        g[beta != 0.0] = 0.0  # exactly stationary on the support (rounding only)
        times.append(t)
        saddles.append(beta.copy())
        duals.append(s.copy())
        grads.append(g.copy())
        faces.append(face.copy())
        signs.append(np.where(face, np.sign(s), 0.0).astype(int))
        entering.append(i_star)
        dropped.append(drop)
        crossings.append(crossed)
    if not times:
        raise ValueError("∇L(0) is zero to tolerance: β = 0 is already a minimiser (no jump)")
    path = SaddlePath(
        times=np.asarray(times),
        saddles=np.asarray(saddles),
        duals=np.asarray(duals),
        gradients=np.asarray(grads),
        active=np.asarray(faces),
        signs=np.asarray(signs),
        entering=np.asarray(entering, dtype=int),
        dropped=tuple(dropped),
        crossings=tuple(crossings),
        nu=nu,
        gradient0=g0,
    )
    return path


# ---------------------------------------------------------------------------------------------
# Lasso / LARS homotopy (reference and negative control)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LassoPath:
    """Knots of the Lasso path ``min_β L(β) + λ‖β‖₁`` (same ``1/(2n)`` scaling as sklearn).

    Attributes
    ----------
    lambdas : ndarray, shape (m,)
        Knots ``λ₀ = ‖Xᵀy‖_∞/n > λ₁ > … > λ_{m−1} ≥ 0``.
    betas : ndarray, shape (m, d)
        Lasso solutions at the knots (``betas[0] = 0``).
    active : ndarray of bool, shape (m, d)
        Active set on ``(λ_{k+1}, λ_k)``.
    events : tuple of str
        ``"add j"`` or ``"drop j"`` at each knot ``k ≥ 0`` (the change made at ``λ_k``), and
        ``"end"`` at the last knot.
    """

    lambdas: np.ndarray
    betas: np.ndarray
    active: np.ndarray
    events: tuple[str, ...]

    @property
    def has_deletion(self) -> bool:
        return any(e.startswith("drop") for e in self.events)

    def refits(self, X, y) -> np.ndarray:
        """Least-squares refits on the active sets of ``(λ_{k+1}, λ_k)``, shape ``(m−1, d)``.

        These "relaxed Lasso" endpoints equal the saddles up to the first deletion
        (docs/theory/classification.md §2.3).
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        out = np.zeros((self.active.shape[0] - 1, X.shape[1]))
        for k in range(out.shape[0]):
            A = np.flatnonzero(self.active[k])
            out[k, A] = np.linalg.lstsq(X[:, A], y, rcond=None)[0]
        return out


def lasso_homotopy(X, y, *, max_knots: int | None = None, tie_tol: float = 1e-9) -> LassoPath:
    """Exact Lasso homotopy (LARS with the Lasso modification: deletions allowed).

    Solves ``min_β ‖Xβ − y‖²/(2n) + λ‖β‖₁`` for every ``λ ≥ 0`` by following the piecewise-linear
    path (Efron, Hastie, Johnstone and Tibshirani 2004, "Least Angle Regression", Ann. Statist.
    32(2), Section 3.1, Lasso modification). Same scaling as ``sklearn.linear_model.lars_path``.
    By docs/theory/classification.md §2.3, up to the first deletion the knots satisfy
    ``λ_k = 1/t_{k+1}`` with ``t`` the saddle-to-saddle jump times.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    max_knots : int, optional
        Safety cap, an integer ≥ 2 (a path has at least two knots; default ``20 d + 50``);
        reaching it raises RuntimeError.
    tie_tol : float
        Relative gap below which two events are simultaneous (raises GeneralPositionError).

    Returns
    -------
    LassoPath
        Knots strictly decreasing down to ``λ = 0``, where the path ends at the least-squares
        solution (``n ≥ d``, full column rank) or at the minimum-ℓ1 interpolator (``d > n``).

    Raises
    ------
    ValueError
        For malformed data or parameters.
    GeneralPositionError
        When two events happen at the same λ (including two coordinates tying at ``λ₀`` and a
        correlation glued to ±λ along a whole segment, e.g. a duplicated column), or an active
        set is rank deficient.

    Notes
    -----
    The variable added (dropped) at a knot cannot be dropped (re-added with its old sign) at
    the next knot: on the new segment its coefficient (correlation) is linear in λ with its only
    root at the current knot. That root is excluded exactly; with a tolerance, rounding can put
    it just below the knot and the path would re-add a dropped variable at the same λ and then
    follow a wrong branch to a non-minimal interpolator.
    """
    X, y = _check_data(X, y)
    tie_tol = check_positive(tie_tol, "tie_tol")
    n, d = X.shape
    if max_knots is None:
        max_knots = 20 * d + 50
    elif (
        isinstance(max_knots, bool)
        or not isinstance(max_knots, numbers.Integral)
        or max_knots < 2
    ):
        raise ValueError(f"max_knots must be an integer >= 2 (or None), got {max_knots!r}")
    max_knots = int(max_knots)
    c0 = X.T @ y / n
    lam = float(np.max(np.abs(c0)))
    lam_floor = 1e-11 * lam  # below this a knot is rounding noise (the path has ended)
    j0 = int(np.argmax(np.abs(c0)))
    if d > 1:
        others = np.abs(c0)
        others[j0] = -np.inf
        j1 = int(np.argmax(others))
        if lam - others[j1] <= tie_tol * lam:
            raise GeneralPositionError(
                f"two coordinates enter the Lasso path at the same λ₀ = {lam:.6g} "
                f"(|Xᵀy|/n ties at coordinates {j0} and {j1}): data not in general position"
            )
    active = np.zeros(d, dtype=bool)
    active[j0] = True
    sign = np.zeros(d)
    sign[j0] = np.sign(c0[j0])
    lambdas = [lam]
    betas = [np.zeros(d)]
    actives = [active.copy()]
    events = [f"add {j0}"]
    beta = np.zeros(d)
    # The event made at the current knot. Its own root on the next segment IS the current knot
    # (β_j(λ) = a_j − λ b_j vanishes at λ_k for a just-added j; c_j(λ) = p_j + λ q_j equals
    # s_j λ at λ_k for a just-dropped j with old sign s_j). Each of these linear functions has
    # one such root, so it is excluded exactly, not by a tolerance: rounding puts it a few ulps
    # below λ_k and a tolerance test would re-add the dropped variable (or drop the added one)
    # at the same λ, leaving the path for a wrong branch (seen for real data at a gap of 1e-12).
    just_added, just_dropped, dropped_sign = j0, -1, 0.0
    while len(lambdas) < max_knots:
        A = np.flatnonzero(active)
        XA = X[:, A]
        G = XA.T @ XA / n
        if np.linalg.matrix_rank(G) < A.size:
            raise GeneralPositionError("Lasso active set is rank deficient (not general position)")
        a = np.linalg.solve(G, XA.T @ y / n)
        b = np.linalg.solve(G, sign[A])
        # on this segment β_A(λ) = a − λ b and the correlations are c(λ) = Xᵀ(y − Xβ)/n = p + λ q
        p = c0 - X.T @ (XA @ a) / n
        q = X.T @ (XA @ b) / n
        upper = lam * (1.0 - 1e-12)
        cand = np.full(d, -np.inf)
        kind = np.zeros(d, dtype=int)  # +1 add, -1 drop
        enter_sign = np.zeros(d)
        with np.errstate(divide="ignore", invalid="ignore"):
            roots = ((p / (1.0 - q), 1.0), (-p / (1.0 + q), -1.0))  # c_j(λ) = +λ, c_j(λ) = −λ
            l_zero = a / b
        for j in np.flatnonzero(~active):
            glued = min(abs(q[j] - 1.0), abs(q[j] + 1.0)) <= tie_tol
            if glued and abs(p[j]) <= tie_tol * lambdas[0]:
                raise GeneralPositionError(
                    f"coordinate {j} stays at |correlation| = λ along the whole Lasso segment "
                    f"below λ = {lam:.6g} (e.g. a duplicated column): data not in general position"
                )
            for values, sgn in roots:
                cand_l = values[j]
                if j == just_dropped and sgn == dropped_sign:
                    continue  # this root is the knot where j left
                if np.isfinite(cand_l) and lam_floor < cand_l < upper and cand_l > cand[j]:
                    cand[j], kind[j], enter_sign[j] = cand_l, 1, sgn
        for idx, j in enumerate(A):
            cl = l_zero[idx]
            if j == just_added:
                continue  # β_j vanishes only at the knot where j entered
            if np.isfinite(cl) and lam_floor < cl < upper:
                cand[j], kind[j] = cl, -1
        order = np.argsort(-cand)
        jn = int(order[0])
        lam_next = float(cand[jn])
        if not np.isfinite(lam_next):
            beta = np.zeros(d)
            beta[A] = a
            lambdas.append(0.0)
            betas.append(beta)
            actives.append(active.copy())
            events.append("end")
            break
        if d > 1 and np.isfinite(cand[order[1]]) and cand[jn] - cand[order[1]] <= tie_tol * lam:
            raise GeneralPositionError(
                f"two Lasso events at the same λ = {lam_next:.6g} (coordinates {jn} and "
                f"{int(order[1])}): data not in general position"
            )
        beta = np.zeros(d)
        beta[A] = a - lam_next * b
        lam = lam_next
        if kind[jn] == 1:
            active[jn] = True
            sign[jn] = enter_sign[jn]
            events.append(f"add {jn}")
            just_added, just_dropped, dropped_sign = jn, -1, 0.0
        else:
            active[jn] = False
            beta[jn] = 0.0
            just_added, just_dropped, dropped_sign = -1, jn, float(sign[jn])
            sign[jn] = 0.0
            events.append(f"drop {jn}")
        lambdas.append(lam)
        betas.append(beta)
        actives.append(active.copy())
    else:
        raise RuntimeError(f"lasso_homotopy: more than max_knots = {max_knots} knots")
    return LassoPath(
        lambdas=np.asarray(lambdas),
        betas=np.asarray(betas),
        active=np.asarray(actives),
        events=tuple(events),
    )


# ---------------------------------------------------------------------------------------------
# Minimum-ℓ1 interpolator (cvxpy) with a certificate
# ---------------------------------------------------------------------------------------------


def min_l1_interpolator_cvxpy(X, y) -> tuple[np.ndarray, Certificate]:
    """``argmin ‖β‖₁ s.t. Xβ = y`` with cvxpy (Clarabel), judged by residuals.

    The last saddle of :func:`saddle_to_saddle` must equal this point when ``d > n``
    (Pesme & Flammarion 2023, Theorem 2). The problem is rescaled so that ``y`` has unit norm.
    The certificate holds the primal residual ``‖Xβ − y‖/‖y‖`` (relative to ‖y‖) and the
    relative duality gap ``|‖β‖₁ − yᵀν| / ‖β‖₁`` after projecting the dual ``ν`` onto the
    feasible set ``‖Xᵀν‖_∞ ≤ 1`` by scaling; it is accepted when both are ≤ 1e-7.

    Parameters
    ----------
    X : array_like, shape (n, d), full row rank, n < d
    y : array_like, shape (n,)

    Returns
    -------
    beta : ndarray, shape (d,)
    certificate : Certificate
    """
    import cvxpy as cp

    from dln_verify.numeric.validation import check_regression_data

    X, y = check_regression_data(X, y, require_underdetermined=True)
    scale = float(np.linalg.norm(y)) or 1.0
    ys = y / scale
    b = cp.Variable(X.shape[1])
    cons = [X @ b == ys]
    prob = cp.Problem(cp.Minimize(cp.norm1(b)), cons)
    notes: list[str] = []
    try:
        prob.solve(solver=cp.CLARABEL)
    except cp.error.SolverError as exc:  # pragma: no cover - depends on solver build
        notes.append(f"clarabel failed ({exc}); fell back to HIGHS LP")
        prob.solve(solver=cp.HIGHS)
    if b.value is None:
        cert = Certificate("cvxpy-clarabel", str(prob.status), np.inf, np.inf,
                           "duality_gap", 1e-7, False, tuple(notes))
        return np.full(X.shape[1], np.nan), cert
    beta = np.asarray(b.value, dtype=float) * scale
    nu = -np.asarray(cons[0].dual_value, dtype=float)
    dual_norm = float(np.max(np.abs(X.T @ nu)))
    if dual_norm > 0:
        nu_feas = nu / max(dual_norm, 1.0)
    else:
        nu_feas = nu
    l1 = float(np.sum(np.abs(beta)))
    dual_obj = abs(float(y @ nu_feas))
    # both relative (y ≢ 0 is validated): to ‖β‖₁ and to ‖y‖
    gap = abs(l1 - dual_obj) / l1 if l1 > 0 else float("inf")
    primal = float(np.linalg.norm(X @ beta - y)) / float(np.linalg.norm(y))
    accepted = bool(primal <= 1e-7 and gap <= 1e-7)
    cert = Certificate("cvxpy-clarabel", str(prob.status), primal, gap, "duality_gap", 1e-7,
                       accepted, tuple(notes))
    return beta, cert
