"""Overflow-safe hyperbolic functions with a log-scale prefactor.

Tiny initialisations (α down to 1e-120) make ``α² sinh(z)`` a product of an underflowing and an
overflowing number. These helpers evaluate ``a·sinh(z)`` and ``a·cosh(z)`` from ``log a`` as a
single exponential, exact to rounding wherever the result is representable::

    a·sinh(z) = sign(z) · exp(log a + |z| − log 2) · (1 − e^{−2|z|})
    a·cosh(z) =           exp(log a + |z| − log 2) · (1 + e^{−2|z|})
"""

from __future__ import annotations

import numpy as np

__all__ = ["scaled_sinh", "scaled_cosh", "log_scaled_cosh", "asinh_ratio"]

_LOG2 = np.log(2.0)


def scaled_sinh(log_a, z):
    """``exp(log_a) · sinh(z)`` without intermediate overflow/underflow."""
    z = np.asarray(z, dtype=np.float64)
    az = np.abs(z)
    with np.errstate(over="ignore"):
        return np.sign(z) * np.exp(log_a + az - _LOG2) * (-np.expm1(-2.0 * az))


def scaled_cosh(log_a, z):
    """``exp(log_a) · cosh(z)`` without intermediate overflow/underflow."""
    az = np.abs(np.asarray(z, dtype=np.float64))
    with np.errstate(over="ignore"):
        return np.exp(log_a + az - _LOG2) * (1.0 + np.exp(-2.0 * az))


def log_scaled_cosh(log_a, z):
    """``log(exp(log_a) · cosh(z))``, finite for all finite inputs."""
    az = np.abs(np.asarray(z, dtype=np.float64))
    return log_a + az - _LOG2 + np.log1p(np.exp(-2.0 * az))


def asinh_ratio(beta, log_a):
    """``asinh(β / a)`` with ``a = exp(log_a)``, accurate when ``a`` underflows.

    For ``|β| ≫ a`` uses ``asinh(x) = sign(x)(log 2|x| + log1p(1/(4x²)) / 2 ...)`` through
    ``log|β| − log a``; otherwise the direct formula.
    """
    beta = np.asarray(beta, dtype=np.float64)
    log_a = np.broadcast_to(np.asarray(log_a, dtype=np.float64), beta.shape)
    out = np.empty_like(beta)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_ratio = np.log(np.abs(beta)) - log_a
        big = log_ratio > 20.0
        out[big] = np.sign(beta[big]) * (log_ratio[big] + _LOG2)
        small = ~big
        out[small] = np.arcsinh(beta[small] / np.exp(log_a[small]))
    return out
