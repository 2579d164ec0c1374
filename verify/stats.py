"""Exact small-sample tests for statistical claims (binomial tails, one-sided binomial and sign
tests, their rejection regions and their power).

A statistical claim states a null hypothesis that *the theorem implies* and rejects it only when
the data make it implausible at a declared level ``α_test``. The false-rejection probability of
such a check under the theorem is then at most ``α_test`` (exactly the size of the test,
:attr:`BinomialTest.size`, which is ``≤ α_test`` for a discrete statistic), whatever the seed:
there is no threshold read off a measurement. Each test also reports its power: the rate it
detects with probability ``≥ 0.8`` with the number of trials at hand.

All tails are computed exactly with :func:`math.comb` and :func:`math.fsum` (no normal
approximation); the test suite checks them against :mod:`scipy.stats` and hand-computed values.

Examples
--------
>>> t = binomial_test_at_least(11, 12, 0.8, level=1e-3)
>>> t.rejected, round(t.p_value, 4), t.critical
(False, 0.9313, 4)
>>> binomial_test_at_least(0, 12, 0.8, level=1e-3).rejected
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "binomial_pmf",
    "binomial_cdf",
    "binomial_sf",
    "lower_critical_count",
    "BinomialTest",
    "binomial_test_at_least",
    "binomial_test_at_most",
    "sign_test",
    "detectable_rate",
]

#: power at which :func:`detectable_rate` reports the detectable effect
DEFAULT_POWER = 0.8


def _check(k: int, n: int, p: float) -> None:
    if not isinstance(n, int | bool) and not float(n).is_integer():
        raise TypeError(f"n must be an integer, got {n!r}")
    if int(n) < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not float(k).is_integer():
        raise TypeError(f"k must be an integer, got {k!r}")
    if not 0.0 <= float(p) <= 1.0 or math.isnan(float(p)):
        raise ValueError(f"p must lie in [0, 1], got {p}")


def _check_level(level: float) -> None:
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")


def binomial_pmf(k: int, n: int, p: float) -> float:
    """``P(K = k)`` for ``K ~ Binomial(n, p)``, exact (``comb(n, k) p^k (1−p)^(n−k)``).

    Examples
    --------
    >>> binomial_pmf(2, 4, 0.5)  # 6/16
    0.375
    """
    _check(k, n, p)
    k, n = int(k), int(n)
    if k < 0 or k > n:
        return 0.0
    return math.comb(n, k) * float(p) ** k * (1.0 - float(p)) ** (n - k)


def binomial_cdf(k: int, n: int, p: float) -> float:
    """Lower tail ``P(K ≤ k)`` for ``K ~ Binomial(n, p)``, exact.

    Examples
    --------
    >>> binomial_cdf(1, 3, 0.5)  # (1 + 3)/8
    0.5
    """
    _check(k, n, p)
    k, n = int(k), int(n)
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return min(1.0, math.fsum(binomial_pmf(i, n, p) for i in range(k + 1)))


def binomial_sf(k: int, n: int, p: float) -> float:
    """Upper tail ``P(K ≥ k)`` for ``K ~ Binomial(n, p)``, exact (note: ``≥``, not ``>``).

    Examples
    --------
    >>> binomial_sf(3, 3, 0.5)  # 1/8
    0.125
    """
    _check(k, n, p)
    k, n = int(k), int(n)
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return min(1.0, math.fsum(binomial_pmf(i, n, p) for i in range(k, n + 1)))


def lower_critical_count(n: int, p0: float, level: float) -> int:
    """The largest ``c`` with ``P(Binomial(n, p0) ≤ c) ≤ level`` (−1 if even ``c = 0`` is not).

    ``K ≤ c`` is the rejection region of the level-``level`` test of ``H0: p ≥ p0``.

    Examples
    --------
    >>> lower_critical_count(12, 0.5, 1e-3)  # P(K = 0) = 2.4e-4, P(K ≤ 1) = 3.2e-3
    0
    >>> lower_critical_count(6, 0.5, 1e-3)  # 1/64 > 1e-3: no outcome can reject
    -1
    """
    _check(0, n, p0)
    _check_level(level)
    c = -1
    while c + 1 <= int(n) and binomial_cdf(c + 1, n, p0) <= level:
        c += 1
    return c


@dataclass(frozen=True)
class BinomialTest:
    """Outcome of an exact one-sided binomial test.

    Attributes
    ----------
    successes, trials : int
        The observed count and the number of independent trials.
    p0 : float
        The boundary rate of the null hypothesis.
    alternative : {"less", "greater"}
        ``"less"``: ``H0: p ≥ p0`` against ``p < p0`` (reject for few successes);
        ``"greater"``: ``H0: p ≤ p0`` against ``p > p0`` (reject for many).
    level : float
        The declared level ``α_test``; ``rejected`` iff ``p_value ≤ level``.
    p_value : float
        ``P(K ≤ k)`` (``"less"``) or ``P(K ≥ k)`` (``"greater"``) under ``p = p0``.
    critical : int
        The rejection region: ``K ≤ critical`` (``"less"``) or ``K ≥ critical`` (``"greater"``);
        ``-1`` (resp. ``trials + 1``) when no outcome can reject.
    size : float
        The exact false-rejection probability at ``p = p0`` (``≤ level``; smaller for any rate
        inside the null, by monotonicity of the binomial tail in ``p``).
    detectable : float
        The power statement: the rate nearest to ``p0`` inside the alternative that the test
        rejects with probability ≥ 0.8 (:func:`detectable_rate`); NaN if no outcome rejects.
    """

    successes: int
    trials: int
    p0: float
    alternative: str
    level: float
    p_value: float
    critical: int
    size: float
    detectable: float

    @property
    def rejected(self) -> bool:
        return bool(self.p_value <= self.level)

    @property
    def margin(self) -> float:
        """``log10(p_value / level)``: > 0 where the null stands, < 0 where it is rejected."""
        return math.log10(max(self.p_value, 1e-300) / self.level)


def detectable_rate(n: int, p0: float, level: float, alternative: str = "less",
                    power: float = DEFAULT_POWER) -> float:
    """The rate nearest to ``p0`` that the level-``level`` test rejects with prob. ≥ ``power``.

    For ``alternative="less"`` this is the largest ``p1 < p0`` with
    ``P_{p1}(K ≤ critical) ≥ power`` (found by bisection on the monotone power curve); for
    ``"greater"`` the smallest ``p1 > p0`` with ``P_{p1}(K ≥ critical) ≥ power``. NaN when no
    outcome can reject.

    Examples
    --------
    >>> round(detectable_rate(12, 0.8, 1e-3), 3)  # reject K ≤ 4; P_{0.269}(K ≤ 4) = 0.80
    0.269
    """
    _check(0, n, p0)
    _check_level(level)
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must lie in (0, 1), got {power}")
    if alternative == "less":
        c = lower_critical_count(n, p0, level)
        if c < 0:
            return float("nan")
        lo, hi = 0.0, float(p0)  # power(lo) = 1 >= power; power decreases in p1
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if binomial_cdf(c, n, mid) >= power else (lo, mid)
        return lo
    if alternative == "greater":
        return 1.0 - detectable_rate(n, 1.0 - float(p0), level, "less", power)
    raise ValueError(f"alternative must be 'less' or 'greater', got {alternative!r}")


def binomial_test_at_least(successes: int, trials: int, p0: float, *,
                           level: float) -> BinomialTest:
    """Exact test of ``H0: p ≥ p0`` (rejected for few successes), level ``level``.

    False-rejection probability: for any true rate ``p ≥ p0`` the test rejects with probability
    ``P_p(K ≤ critical) ≤ P_{p0}(K ≤ critical) = size ≤ level``.

    Examples
    --------
    >>> t = binomial_test_at_least(4, 12, 0.8, level=1e-3)
    >>> round(t.p_value, 6), t.rejected   # P(K ≤ 4) for Binomial(12, 0.8)
    (0.000581, True)
    """
    _check(successes, trials, p0)
    _check_level(level)
    if not 0 <= int(successes) <= int(trials):
        raise ValueError(f"successes must lie in [0, trials={trials}], got {successes}")
    c = lower_critical_count(trials, p0, level)
    return BinomialTest(int(successes), int(trials), float(p0), "less", float(level),
                        binomial_cdf(successes, trials, p0), c,
                        binomial_cdf(c, trials, p0), detectable_rate(trials, p0, level))


def binomial_test_at_most(successes: int, trials: int, p0: float, *,
                          level: float) -> BinomialTest:
    """Exact test of ``H0: p ≤ p0`` (rejected for many successes), level ``level``.

    False-rejection probability: for any true rate ``p ≤ p0``, at most ``size ≤ level``.

    Examples
    --------
    >>> t = binomial_test_at_most(6, 6, 0.25, level=1e-3)
    >>> round(t.p_value, 6), t.rejected   # 0.25**6
    (0.000244, True)
    """
    _check(successes, trials, p0)
    _check_level(level)
    if not 0 <= int(successes) <= int(trials):
        raise ValueError(f"successes must lie in [0, trials={trials}], got {successes}")
    # K ≥ k under p0  <=>  (n − K) ≤ n − k under 1 − p0
    mirrored = binomial_test_at_least(int(trials) - int(successes), trials, 1.0 - float(p0),
                                      level=level)
    return BinomialTest(int(successes), int(trials), float(p0), "greater", float(level),
                        mirrored.p_value, int(trials) - mirrored.critical, mirrored.size,
                        detectable_rate(trials, p0, level, "greater"))


def sign_test(differences: Sequence[float], *, level: float,
              alternative: str = "less") -> BinomialTest:
    """Exact sign test on paired differences (zeros dropped), level ``level``.

    ``alternative="less"``: ``H0: P(D > 0) ≥ 1/2`` (the median difference is ≥ 0), rejected
    when few differences are positive; ``"greater"``: ``H0: P(D > 0) ≤ 1/2``. False-rejection
    probability under ``H0`` at most ``level`` (the test's ``size``).

    Examples
    --------
    >>> t = sign_test([-1.0] * 12, level=1e-3)
    >>> t.successes, round(t.p_value, 6), t.rejected   # 0.5**12
    (0, 0.000244, True)
    >>> sign_test([1.0, -1.0, 0.0, 2.0], level=1e-3).trials
    3
    """
    values = [float(x) for x in differences]
    if any(math.isnan(x) for x in values):
        raise ValueError("differences must not contain NaN")
    nonzero = [x for x in values if x != 0.0]
    positive = sum(x > 0 for x in nonzero)
    if alternative == "less":
        return binomial_test_at_least(positive, len(nonzero), 0.5, level=level)
    if alternative == "greater":
        return binomial_test_at_most(positive, len(nonzero), 0.5, level=level)
    raise ValueError(f"alternative must be 'less' or 'greater', got {alternative!r}")
