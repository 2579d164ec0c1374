"""Tests of numeric.saddles: Algorithm 1 of Pesme & Flammarion (NeurIPS 2023, arXiv:2304.00488).

Independent references: sklearn's ``lars_path(method="lasso")`` (jump times = 1/λ_k up to the
first deletion, docs/theory/classification.md §2.3), cvxpy's minimum-ℓ1 interpolator and Lasso
at intermediate λ, the Lasso KKT conditions, and a from-scratch certificate of the saddle path
(re-integrated dual, face least squares by BVLS).
"""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric.saddles import (
    GeneralPositionError,
    lasso_homotopy,
    min_l1_interpolator_cvxpy,
    saddle_to_saddle,
)


def _data(seed, n=8, d=15, k=3, noise=0.3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    b = np.zeros(d)
    b[rng.choice(d, k, replace=False)] = rng.choice([-1.0, 1.0], k)
    return X, X @ b + noise * rng.standard_normal(n)


def _first_deletion(events):
    for i, e in enumerate(events):
        if e.startswith("drop"):
            return i
    return len(events)


# sklearn's lars_path stops at the first knot below float32's eps (its absolute
# ``equality_tolerance``) and reports that knot as the last one; knots below this floor are
# checked by the KKT conditions only.
_SKLEARN_FLOOR = 2.0 * float(np.finfo(np.float32).eps)


def _random(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(shape[0])


def _lasso_at(path, lam):
    """The homotopy's β(λ): linear interpolation between the knots (the path is linear there)."""
    lams = path.lambdas
    k = int(np.clip(np.searchsorted(-lams, -lam, side="right") - 1, 0, lams.size - 2))
    w = (lams[k] - lam) / (lams[k] - lams[k + 1])
    return (1.0 - w) * path.betas[k] + w * path.betas[k + 1], k


def _lasso_kkt_violation(X, y, beta, lam):
    """Max violation of ``c = Xᵀ(y − Xβ)/n ∈ λ ∂‖β‖₁``, relative to ``‖Xᵀy‖_∞/n``."""
    n = X.shape[0]
    c = X.T @ (y - X @ beta) / n
    supp = beta != 0
    viol = max(float(np.max(np.abs(c) - lam)), 0.0)
    if np.any(supp):
        viol = max(viol, float(np.max(np.abs(c[supp] - lam * np.sign(beta[supp])))))
    return viol / float(np.max(np.abs(X.T @ y)) / n)


def _check_lasso_path(X, y, path):
    """Independent check of a homotopy: KKT on every segment, supports and events consistent."""
    lams = path.lambdas
    assert lams[-1] == 0.0 and path.events[-1] == "end"
    assert np.all(np.diff(lams) < -1e-9 * lams[0]), "knots must be strictly decreasing"
    np.testing.assert_allclose(lams[0], np.max(np.abs(X.T @ y)) / X.shape[0], rtol=1e-14)
    for k in range(lams.size - 1):
        for w in (0.0, 0.25, 0.5, 0.75):
            lam = (1.0 - w) * lams[k] + w * lams[k + 1]
            beta, _ = _lasso_at(path, lam)
            assert _lasso_kkt_violation(X, y, beta, lam) < 1e-9, (k, w)
        mid, _ = _lasso_at(path, 0.5 * (lams[k] + lams[k + 1]))
        # the support on the open segment is the active set reported for it
        np.testing.assert_array_equal(np.abs(mid) > 1e-12 * np.max(np.abs(mid)), path.active[k])
        if k >= 1:
            kind, j = path.events[k].split()
            assert path.active[k][int(j)] == (kind == "add")
            assert path.active[k - 1][int(j)] == (kind == "drop")
            assert abs(path.betas[k][int(j)]) <= 1e-12  # zero at the knot where it changes


def _lasso_cvxpy(X, y, lam):
    import cvxpy as cp

    n, d = X.shape
    b = cp.Variable(d)
    obj = cp.sum_squares(X @ b - y) / (2 * n) + lam * cp.norm1(b)
    cp.Problem(cp.Minimize(obj)).solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12,
                                       tol_feas=1e-12)
    return np.asarray(b.value)


def _face_least_squares_reference(X, y, signs, face):
    """``argmin ‖Xβ − y‖²`` with ``β = 0`` off the face, ``signs_j β_j ≥ 0`` on it (BVLS)."""
    from scipy.optimize import lsq_linear

    idx = np.flatnonzero(face)
    pos = signs[idx] > 0
    lower = np.where(pos, 0.0, -np.inf)
    upper = np.where(pos, np.inf, 0.0)
    res = lsq_linear(X[:, idx], y, bounds=(lower, upper), method="bvls", tol=1e-14)
    beta = np.zeros(X.shape[1])
    beta[idx] = res.x
    return beta


def _certify_saddle_path(X, y, path, tol=1e-8):
    """Check the limit characterisation from scratch, using only ``times`` and ``saddles``.

    The dual is re-integrated as ``s(t) = −∫₀ᵗ ∇L(β°(r)) dr`` (piecewise linear, so checking at
    the jumps suffices). It must stay in ``[−1, 1]^d``; at ``t_k`` exactly the entering
    coordinate must newly reach ±1; the face ``{|s| = 1}`` must be the reported one; and
    ``β_k`` must be the sign-constrained least squares on that face (solved by BVLS, not by
    the NNLS of the implementation). The last saddle must be stationary.
    """
    n, d = X.shape
    t_prev, s, beta = 0.0, np.zeros(d), np.zeros(d)
    for k in range(path.n_jumps):
        s_new = s - (path.times[k] - t_prev) * (X.T @ (X @ beta - y) / n)
        assert np.max(np.abs(s_new)) <= 1.0 + tol, f"dual overshoots ±1 before jump {k}"
        newly = (np.abs(s_new) >= 1.0 - tol) & ~(s * np.sign(s_new) >= 1.0 - tol)
        assert set(np.flatnonzero(newly)) == {int(path.entering[k])}, f"jump {k}"
        face = np.abs(s_new) >= 1.0 - tol
        np.testing.assert_array_equal(face, path.active[k])
        ref = _face_least_squares_reference(X, y, np.sign(s_new), face)
        assert np.max(np.abs(ref - path.saddles[k])) <= 1e-7 * max(1.0, np.max(np.abs(ref)))
        s, t_prev, beta = np.clip(s_new, -1.0, 1.0), path.times[k], path.saddles[k]
    g_end = X.T @ (X @ beta - y) / n
    assert np.max(np.abs(g_end)) <= 1e-9 * np.max(np.abs(X.T @ y)) / n


@pytest.mark.parametrize("seed", range(50))
def test_lars_cross_check_up_to_first_deletion(seed):
    from sklearn.linear_model import lars_path

    X, y = _data(seed)
    path = saddle_to_saddle(X, y)
    alphas, _, coefs = lars_path(X, y, method="lasso")
    # knots before the first deletion (sklearn's alphas[i] is the knot where event i happens)
    ours = lasso_homotopy(X, y)
    m = _first_deletion(ours.events)  # events[0..m-1] are additions
    keep = ours.lambdas > _SKLEARN_FLOOR
    np.testing.assert_allclose(ours.lambdas[keep], alphas[alphas > _SKLEARN_FLOOR], rtol=1e-9)
    if alphas[-1] < 1e-12:  # sklearn reached λ = 0: the same number of knots
        assert ours.lambdas.size == alphas.size
    # docs/theory/classification.md §2.3: equal until the first Lasso deletion or the first
    # active sign constraint (deactivation) of the saddle path; the jump carrying that
    # deactivation is still a knot.
    first_drop = next((i for i, dr in enumerate(path.dropped) if dr), path.n_jumps)
    k = min(m, first_drop + 1, path.n_jumps)
    assert k >= 1
    np.testing.assert_allclose(1.0 / path.times[:k], alphas[:k], rtol=1e-10)
    # identical faces (active sets) up to there
    for j in range(k):
        assert set(np.flatnonzero(path.active[j])) == set(np.flatnonzero(ours.active[j]))
    # both paths end at the same minimum-l1 interpolator
    np.testing.assert_allclose(path.saddles[-1], coefs[:, -1], atol=1e-9)
    np.testing.assert_allclose(ours.betas[-1], coefs[:, -1], atol=1e-9)


def test_lasso_dropped_variable_is_not_re_added_at_the_same_knot():
    """Regression (seed 2): coordinate 2 leaves at λ ≈ 0.0044924 and rounding put its re-entry
    root 1e-12 (relative) below that knot; the old tolerance test re-added it at the "same" λ,
    and the path ended at an interpolator with a larger ℓ1 norm. cvxpy at λ between that knot
    and the next one (0.0012212, where sklearn adds coordinate 10) confirms β₂ = 0 there."""
    X, y = _data(2)
    ours = lasso_homotopy(X, y)
    i = ours.events.index("drop 2")
    assert ours.events[i + 1] == "add 10"
    np.testing.assert_allclose(ours.lambdas[i : i + 2], [0.00449238101, 0.00122123324], rtol=1e-8)
    for lam in (0.004, 0.002, 0.0013):
        ref = _lasso_cvxpy(X, y, lam)
        beta, k = _lasso_at(ours, lam)
        assert k == i and beta[2] == 0.0 and abs(ref[2]) < 1e-8
        np.testing.assert_allclose(beta, ref, atol=1e-7)
    for k, (e0, e1) in enumerate(zip(ours.events[:-1], ours.events[1:], strict=True)):
        if e0.startswith("drop"):
            assert e1 != "add " + e0.split()[1], k
    _check_lasso_path(X, y, ours)
    _certify_saddle_path(X, y, saddle_to_saddle(X, y))


@pytest.mark.parametrize(
    ("shape", "seeds"),
    [((8, 15), range(50)), ((5, 6), range(25)), ((4, 12), range(25)), ((10, 5), range(25)),
     ((12, 12), range(25))],
)
def test_both_paths_pass_independent_checks(shape, seeds):
    """Every Lasso path satisfies the KKT conditions; every saddle path its limit certificate.
    For n ≥ d both end at least squares, for d > n at the minimum-ℓ1 interpolator."""
    for seed in seeds:
        X, y = _data(seed) if shape == (8, 15) else _random(shape, seed)
        lp = lasso_homotopy(X, y)
        sp = saddle_to_saddle(X, y)
        _check_lasso_path(X, y, lp)
        _certify_saddle_path(X, y, sp)
        n, d = X.shape
        if n >= d:
            ols = np.linalg.lstsq(X, y, rcond=None)[0]
            np.testing.assert_allclose(lp.betas[-1], ols, atol=1e-9)
            np.testing.assert_allclose(sp.saddles[-1], ols, atol=1e-9)
        else:
            np.testing.assert_allclose(X @ lp.betas[-1], y, atol=1e-9)
            np.testing.assert_allclose(lp.betas[-1], sp.saddles[-1], atol=1e-8)


def _re_entries(events):
    """(drop index, re-add index, coordinate) for each Lasso variable re-added after a drop."""
    out = []
    for i, e in enumerate(events):
        if e.startswith("drop"):
            j = int(e.split()[1])
            nxt = next((k for k in range(i + 1, len(events)) if events[k] == f"add {j}"), None)
            if nxt is not None:
                out.append((i, nxt, j))
    return out


@pytest.mark.parametrize(("seed", "flip"), [(21, False), (8, True)])
def test_lasso_deletion_and_re_entry_against_cvxpy(seed, flip):
    """Seed 21 re-adds a dropped variable with its old sign, seed 8 with the opposite sign."""
    X, y = _data(seed)
    ours = lasso_homotopy(X, y)
    found = [
        (i, k, j) for i, k, j in _re_entries(ours.events)
        if (np.sign(ours.betas[k + 1][j]) != np.sign(ours.betas[i - 1][j])) == flip
    ]
    assert found, "the instance no longer exercises this branch"
    i, k, j = found[0]
    lams = ours.lambdas
    # cvxpy at the middle of the segments just after the deletion and just after the re-entry
    for seg in (i, k):
        lam = 0.5 * (lams[seg] + lams[seg + 1])
        beta, _ = _lasso_at(ours, lam)
        ref = _lasso_cvxpy(X, y, lam)
        np.testing.assert_allclose(beta, ref, atol=1e-7)
        assert (abs(ref[j]) > 1e-6) == (seg == k)
    _check_lasso_path(X, y, ours)


@pytest.mark.parametrize(("seed", "branch"), [(1, "deactivation"), (2, "re-entry"),
                                                (8, "crossing"), (31, "crossing")])
def test_saddle_branches_against_the_certificate(seed, branch):
    """Deactivation (sign constraint active), re-entry of a deactivated coordinate on the same
    side, and a sign crossing, each certified independently."""
    X, y = _data(seed)
    path = saddle_to_saddle(X, y)
    if branch == "deactivation":
        assert path.has_deactivation
        k = next(i for i, dr in enumerate(path.dropped) if dr)
        j = path.dropped[k][0]
        # the face keeps j at |s_j| = 1 but the constrained least squares puts it at zero
        assert path.active[k, j] and path.saddles[k, j] == 0.0 and path.saddles[k - 1, j] != 0
    elif branch == "re-entry":
        k = next(k for k in range(path.n_jumps) if not path.crossings[k]
                 and any(path.entering[k] in dr for dr in path.dropped[:k]))
        j = int(path.entering[k])
        assert path.saddles[k, j] != 0.0
    else:
        assert path.has_crossing
        k = next(i for i, c in enumerate(path.crossings) if c)
        j = path.crossings[k][0]
        assert np.any(np.sign(path.saddles[:k, j]) == -path.signs[k, j])
    _certify_saddle_path(X, y, path)


def test_certificates_can_fail():
    """The independent checks reject a perturbed path (they are not vacuous)."""
    from dataclasses import replace

    X, y = _data(2)
    lp = lasso_homotopy(X, y)
    bad_betas = lp.betas.copy()
    bad_betas[-1] = 0.0  # the path no longer ends at the λ = 0 solution
    with pytest.raises(AssertionError):
        _check_lasso_path(X, y, replace(lp, betas=bad_betas))
    sp = saddle_to_saddle(X, y)
    with pytest.raises(AssertionError):
        _certify_saddle_path(X, y, replace(sp, times=sp.times * (1 + 1e-3)))
    saddles = sp.saddles.copy()
    saddles[1] *= 1.001
    with pytest.raises(AssertionError):
        _certify_saddle_path(X, y, replace(sp, saddles=saddles))


def test_lasso_ties_raise_general_position_error():
    X, y = _data(0)
    j = int(np.argmax(np.abs(X.T @ y)))
    for extra in (X[:, [j]], -X[:, [j]]):  # a tie at λ₀
        with pytest.raises(GeneralPositionError, match="general position"):
            lasso_homotopy(np.column_stack([X, extra]), y)
    o = int(np.argsort(np.abs(X.T @ y))[-3])  # a tie further down the path
    with pytest.raises(GeneralPositionError, match="general position"):
        lasso_homotopy(np.column_stack([X, X[:, [o]]]), y)


def test_lasso_and_saddles_differ_after_a_deletion():
    # seed 16 of this file's generator: Lasso drops a variable, the saddles do not follow it
    for seed in range(40):
        X, y = _data(seed)
        ours = lasso_homotopy(X, y)
        if ours.has_deletion:
            break
    path = saddle_to_saddle(X, y)
    m = _first_deletion(ours.events)
    n_knots = np.sum(ours.lambdas > 0)
    lam = ours.lambdas[:n_knots]
    assert not (path.n_jumps == lam.size and np.allclose(1 / path.times, lam, rtol=1e-6))
    np.testing.assert_allclose(1.0 / path.times[:m], lam[:m], rtol=1e-10)


@pytest.mark.parametrize("seed", [0, 3, 16])
def test_structure_kkt_and_min_l1(seed):
    X, y = _data(seed)
    n = X.shape[0]
    path = saddle_to_saddle(X, y)
    K, d = path.saddles.shape
    assert path.times.shape == (K,) and path.duals.shape == (K, d)
    assert np.all(np.diff(path.times) > 0)
    np.testing.assert_allclose(path.times[0], n / np.max(np.abs(X.T @ y)), rtol=1e-13)
    for k in range(K):
        b, s = path.saddles[k], path.duals[k]
        assert np.all(np.abs(s) <= 1.0)
        supp = b != 0
        assert np.all(np.abs(s[supp]) == 1.0) and np.all(np.sign(b[supp]) == s[supp])
        g = X.T @ (X @ b - y) / n
        assert np.max(np.abs(g[supp]), initial=0) < 1e-10  # stationary on the support
        face = path.active[k]
        # sign-constrained optimality on the face: s_j g_j >= 0 where β_j = 0
        assert np.all(s[face & ~supp] * g[face & ~supp] >= -1e-10)
    # end point: interpolates, dual certificate s = Xᵀν with ‖s‖∞ <= 1 and s ∈ ∂‖β‖₁
    np.testing.assert_allclose(X @ path.saddles[-1], y, atol=1e-10)
    np.testing.assert_allclose(X.T @ path.nu, path.duals[-1], atol=1e-9)
    beta_l1, cert = min_l1_interpolator_cvxpy(X, y)
    assert cert.accepted
    assert np.max(np.abs(beta_l1 - path.saddles[-1])) < 1e-6


def test_deactivation_and_crossing_are_reported():
    found_drop = found_cross = False
    for seed in range(60):
        path = saddle_to_saddle(*_data(seed))
        found_drop |= path.has_deactivation
        found_cross |= path.has_crossing
        if path.has_crossing:
            k = next(i for i, c in enumerate(path.crossings) if c)
            j = path.crossings[k][0]
            # the crossing coordinate had the opposite sign in an earlier saddle
            assert np.any(np.sign(path.saddles[:k, j]) == -path.signs[k, j])
        if found_drop and found_cross:
            break
    assert found_drop and found_cross


def test_limit_dual_path_is_consistent():
    X, y = _data(3)
    path = saddle_to_saddle(X, y)
    # the dual reaches ±1 on the entering coordinate exactly at the jump
    s = path.dual_at(path.times - 1e-12)
    for k, j in enumerate(path.entering):
        assert abs(abs(s[k, j]) - 1.0) < 1e-9
    np.testing.assert_array_equal(path.beta_at([0.0])[0], 0.0)
    np.testing.assert_array_equal(path.beta_at([path.times[-1] + 1])[0], path.saddles[-1])


@pytest.mark.parametrize("seed", [0, 1])
def test_overdetermined_ends_at_least_squares(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((20, 6))
    y = rng.standard_normal(20)
    path = saddle_to_saddle(X, y)
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(path.saddles[-1], ols, atol=1e-10)


def test_ties_raise_general_position_error():
    X, y = _data(0)
    Xdup = np.column_stack([X, X[:, [int(np.argmax(np.abs(X.T @ y)))]]])
    with pytest.raises(GeneralPositionError, match="general position"):
        saddle_to_saddle(Xdup, y)
    Xflip = np.column_stack([X, -X[:, [int(np.argmax(np.abs(X.T @ y)))]]])
    with pytest.raises(GeneralPositionError):
        saddle_to_saddle(Xflip, y)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.ones((3, 4)), np.ones(2), "y must have length"),
        (np.full((3, 4), np.nan), np.ones(3), "X must be finite"),
        (np.ones(3), np.ones(3), "X must have 2 axes"),
        (np.eye(3, 4), np.zeros(3), "non-zero"),
    ],
)
def test_bad_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        saddle_to_saddle(X, y)


def test_bad_options():
    X, y = _data(0)
    with pytest.raises(ValueError, match="tol"):
        saddle_to_saddle(X, y, tol=-1.0)
    with pytest.raises(ValueError, match="max_jumps"):
        saddle_to_saddle(X, y, max_jumps=0)


def test_min_l1_cvxpy_certificate_relative_to_y():
    """The cvxpy min-ℓ1 answer scales with y, and its certificate is relative to ‖y‖."""
    X, y = _data(0)
    beta, cert = min_l1_interpolator_cvxpy(X, y)
    small, cert_s = min_l1_interpolator_cvxpy(X, 1e-9 * y)
    assert cert.accepted and cert_s.accepted
    np.testing.assert_allclose(small / 1e-9, beta, rtol=1e-5, atol=1e-6)
    # the same scaled problem is solved, so relative residuals agree (absolute ones would not)
    assert cert_s.primal_residual == pytest.approx(cert.primal_residual, rel=0.2)
    assert cert_s.optimality_residual == pytest.approx(cert.optimality_residual, rel=0.2)


@pytest.mark.parametrize("bad", [0, 1, 2.5, -3, True])
def test_lasso_homotopy_max_knots_validated(bad):
    X, y = _data(0)
    with pytest.raises(ValueError, match="max_knots"):
        lasso_homotopy(X, y, max_knots=bad)


def _paths_with_deactivation(seed: int, count: int, n: int = 4, d: int = 8):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        X = rng.standard_normal((n, d))
        beta = np.zeros(d)
        beta[rng.choice(d, size=2, replace=False)] = rng.choice([-1.0, 1.0], size=2)
        y = X @ beta + 0.3 * rng.standard_normal(n)
        try:
            path = saddle_to_saddle(X, y)
        except ValueError:
            continue
        if path.has_deactivation:
            out.append(path)
    return out


def test_dual_margins_count_coordinates_deactivated_at_the_jump():
    """A coordinate dropped at t_k is on the face at t_k but zero in β_k: it must count.

    Its dual is linear on the plateau, ``s_j(τ) = s_j(t_k) − (τ − t_k) g_j`` with ``|s_j(t_k)| = 1``
    moving inward, so at the start of the middle 60 % window its margin is exactly
    ``0.2 (t_{k+1} − t_k) |g_j|`` (derived from the stored gradients, not from dual_at). The old
    definition (coordinates off the face at t_k) left it out and reported larger margins.
    """
    binding = 0
    for path in _paths_with_deactivation(22, 6):
        margins = path.dual_margins()
        for k, dropped in enumerate(path.dropped):
            length = (path.times[k + 1] - path.times[k]) if k + 1 < path.n_jumps else 1.0
            for j in dropped:
                assert path.saddles[k, j] == 0.0 and abs(path.duals[k, j]) == 1.0
                expected = 0.2 * length * abs(path.gradients[k, j])
                assert margins[k] <= expected + 1e-12, (k, j, margins[k], expected)
                binding += bool(np.isclose(margins[k], expected, rtol=1e-9, atol=1e-14))
    assert binding >= 1  # the dropped coordinate decides at least one plateau's margin


def test_dual_margins_bad_options():
    path = _paths_with_deactivation(22, 1)[0]
    with pytest.raises(ValueError, match="fraction"):
        path.dual_margins(fraction=0.0)
    with pytest.raises(ValueError, match="n_points"):
        path.dual_margins(n_points=1)
