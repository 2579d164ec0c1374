"""Exact binomial and sign tests of dln_verify.verify.stats against scipy.stats and against values
computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from dln_verify.verify.stats import (
    binomial_cdf,
    binomial_pmf,
    binomial_sf,
    binomial_test_at_least,
    binomial_test_at_most,
    detectable_rate,
    lower_critical_count,
    sign_test,
)


def test_hand_computed_tails():
    # Binomial(4, 1/2): pmf 1, 4, 6, 4, 1 over 16
    assert binomial_pmf(2, 4, 0.5) == 6 / 16
    assert binomial_cdf(1, 4, 0.5) == 5 / 16
    assert binomial_sf(3, 4, 0.5) == 5 / 16
    # Binomial(6, 0.9): P(K ≤ 1) = 0.1^6 + 6 · 0.9 · 0.1^5 = 1e-6 + 5.4e-5
    assert math.isclose(binomial_cdf(1, 6, 0.9), 5.5e-5, rel_tol=1e-12)
    # P(K ≤ 2) adds 15 · 0.81 · 1e-4 = 1.215e-3
    assert math.isclose(binomial_cdf(2, 6, 0.9), 1.27e-3, rel_tol=1e-12)
    # Binomial(6, 0.25): P(K ≥ 6) = 0.25^6
    assert math.isclose(binomial_sf(6, 6, 0.25), 0.25**6, rel_tol=1e-12)
    assert binomial_cdf(-1, 5, 0.3) == 0.0 and binomial_cdf(5, 5, 0.3) == 1.0
    assert binomial_sf(0, 5, 0.3) == 1.0 and binomial_sf(6, 5, 0.3) == 0.0


@given(st.integers(0, 60), st.floats(0.0, 1.0), st.data())
def test_tails_match_scipy(n, p, data):
    k = data.draw(st.integers(-1, n + 1))
    assert math.isclose(binomial_pmf(k, n, p), sps.binom.pmf(k, n, p), rel_tol=1e-9,
                        abs_tol=1e-300)
    assert math.isclose(binomial_cdf(k, n, p), sps.binom.cdf(k, n, p), rel_tol=1e-9,
                        abs_tol=1e-15)
    # scipy's sf is P(K > k): ours is P(K ≥ k)
    assert math.isclose(binomial_sf(k, n, p), sps.binom.sf(k - 1, n, p), rel_tol=1e-9,
                        abs_tol=1e-15)


@given(st.integers(1, 60), st.floats(0.05, 0.95),
       st.sampled_from([1e-3, 5e-4, 1e-2, 0.05]))
def test_critical_count_is_the_largest_rejecting_count(n, p0, level):
    c = lower_critical_count(n, p0, level)
    if c >= 0:
        assert sps.binom.cdf(c, n, p0) <= level
    assert c + 1 > n or sps.binom.cdf(c + 1, n, p0) > level


@given(st.integers(1, 40), st.floats(0.05, 0.95), st.data())
def test_one_sided_p_values_match_scipy_binomtest(n, p0, data):
    k = data.draw(st.integers(0, n))
    less = binomial_test_at_least(k, n, p0, level=1e-3)
    greater = binomial_test_at_most(k, n, p0, level=1e-3)
    assert math.isclose(less.p_value, sps.binomtest(k, n, p0, alternative="less").pvalue,
                        rel_tol=1e-9, abs_tol=1e-15)
    assert math.isclose(greater.p_value,
                        sps.binomtest(k, n, p0, alternative="greater").pvalue,
                        rel_tol=1e-9, abs_tol=1e-15)
    assert less.rejected == (less.p_value <= 1e-3)
    assert less.size <= 1e-3 and greater.size <= 1e-3


def test_size_is_the_false_rejection_probability_under_the_null():
    """Monte Carlo at the null boundary p = p0 and inside it: the rejection frequency is at most
    the stated size (a test that can fail: an off-by-one critical count doubles the size)."""
    rng = np.random.default_rng(0)
    n, p0, level = 12, 0.8, 0.05
    t = binomial_test_at_least(n, n, p0, level=level)
    for p in (p0, 0.9):
        draws = rng.binomial(n, p, size=200_000)
        freq = float(np.mean(draws <= t.critical))
        expected = sps.binom.cdf(t.critical, n, p)
        assert abs(freq - expected) < 5 * math.sqrt(expected / 200_000) + 1e-4
        assert expected <= t.size + 1e-15 <= level + 1e-15


def test_detectable_rate_has_the_stated_power():
    for n, p0, level in [(6, 0.9, 5e-4), (12, 0.8, 1e-3), (20, 0.9, 5e-4)]:
        p1 = detectable_rate(n, p0, level)
        c = lower_critical_count(n, p0, level)
        assert 0 < p1 < p0
        assert sps.binom.cdf(c, n, p1) >= 0.8 - 1e-9
        assert sps.binom.cdf(c, n, p1 + 1e-6) < 0.8
    # greater: mirror image
    p1 = detectable_rate(6, 0.1, 5e-4, alternative="greater")
    assert math.isclose(p1, 1 - detectable_rate(6, 0.9, 5e-4), rel_tol=1e-12)
    # no outcome can reject: 6 fair coins at level 1e-3 (1/64 > 1e-3)
    assert math.isnan(detectable_rate(6, 0.5, 1e-3))


def test_sign_test_matches_scipy_and_drops_zeros():
    diffs = [0.3, -0.1, 0.0, 0.2, 0.5, -0.4, 0.1, 0.2, 0.0, 0.7]
    t = sign_test(diffs, level=0.05, alternative="greater")
    assert t.trials == 8 and t.successes == 6
    assert math.isclose(t.p_value, sps.binomtest(6, 8, 0.5, alternative="greater").pvalue)
    assert math.isclose(t.p_value, 37 / 256)  # (28 + 8 + 1)/256
    all_negative = sign_test([-1.0] * 12, level=1e-3)
    assert all_negative.rejected and math.isclose(all_negative.p_value, 0.5**12)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: binomial_cdf(1, 5, 1.5), "p must lie"),
    (lambda: binomial_cdf(1, -2, 0.5), "n must be"),
    (lambda: binomial_test_at_least(7, 6, 0.5, level=1e-3), "successes"),
    (lambda: binomial_test_at_least(1, 6, 0.5, level=0.0), "level"),
    (lambda: detectable_rate(6, 0.5, 1e-3, alternative="two-sided"), "alternative"),
    (lambda: sign_test([1.0, float("nan")], level=1e-3), "NaN"),
])
def test_bad_input_names_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_integer_counts_are_type_errors():
    with pytest.raises(TypeError, match="k must be an integer"):
        binomial_pmf(1.5, 4, 0.5)
