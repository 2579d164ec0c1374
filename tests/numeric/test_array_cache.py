"""The per-array cache of factorisations (numeric/array_cache.py) and the rank check built on it."""

from __future__ import annotations

import numpy as np
import pytest

from dln_verify.numeric import validation
from dln_verify.numeric.array_cache import ArrayCache
from dln_verify.numeric.convex import symbolic_certificate
from dln_verify.numeric.validation import check_regression_data


def test_value_is_computed_once_per_unchanged_array():
    calls = []
    cache = ArrayCache(lambda X: calls.append(1) or X.shape[0], size=2)
    X = np.ones((3, 5))
    assert [cache.get(X) for _ in range(4)] == [3, 3, 3, 3]
    assert len(calls) == 1 and cache.stats == {"computed": 1, "reused": 3}


def test_in_place_change_and_a_new_array_are_recomputed():
    cache = ArrayCache(lambda X: float(X.sum()), size=2)
    X = np.ones((2, 4))
    assert cache.get(X) == 8.0
    X[1, 3] = 5.0
    assert cache.get(X) == 12.0
    assert cache.get(X.copy()) == 12.0
    assert cache.stats["computed"] == 3


def test_entries_die_with_their_array_and_the_size_is_bounded():
    cache = ArrayCache(lambda X: 0, size=2)
    arrays = [np.full((2, 3), float(i)) for i in range(5)]
    for a in arrays:
        cache.get(a)
    assert len(cache._entries) == 2
    del arrays, a
    assert len(cache._entries) == 0


def test_an_exception_is_not_cached():
    def fail(X):
        raise ValueError("no")

    cache = ArrayCache(fail)
    with pytest.raises(ValueError, match="no"):
        cache.get(np.ones((2, 2)))
    assert cache.stats["computed"] == 0


def test_rank_is_checked_once_and_a_rank_drop_in_place_is_seen():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 12))
    y = rng.standard_normal(5)
    before = dict(validation._FULL_ROW_RANK.stats)
    for _ in range(3):
        check_regression_data(X, y)
    assert validation._FULL_ROW_RANK.stats["computed"] == before["computed"] + 1
    assert validation._FULL_ROW_RANK.stats["reused"] >= before["reused"] + 2
    X[4] = X[0] + X[1]  # rank 4 now: the stale "full rank" must not be served
    with pytest.raises(ValueError, match="full row rank"):
        check_regression_data(X, y)


def test_ill_conditioned_full_rank_design_falls_back_to_the_svd():
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    V, _ = np.linalg.qr(rng.standard_normal((9, 4)))
    X = U @ np.diag([1.0, 1e-2, 1e-4, 1e-6]) @ V.T  # Gram eigenvalue ratio 1e-12 < 1e-6
    assert validation._has_full_row_rank(X)
    X[3] = X[0] - 2.0 * X[2]
    assert not validation._has_full_row_rank(X)


def test_symbolic_certificate_projection_reuses_one_qr_and_matches_a_fresh_one():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((4, 10)) * 2.0**70  # an extreme scale: the basis is of 2^-k X
    v = rng.standard_normal(10)
    first = symbolic_certificate._project_out_range(X, v)
    computed = symbolic_certificate._RANGE_BASIS.stats["computed"]
    assert symbolic_certificate._project_out_range(X, v) == first
    assert symbolic_certificate._RANGE_BASIS.stats["computed"] == computed
    Q, _ = np.linalg.qr(X.T / 2.0**70)
    r = v / np.linalg.norm(v)
    expected = np.linalg.norm(r - Q @ (Q.T @ r))
    assert first == pytest.approx(expected, rel=1e-12)
