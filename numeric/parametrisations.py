"""Conventions of the diagonal-linear-network parametrisations and the maps between them.

Unified convention (``docs/theory/conventions.md``, ``docs/theory/regression.md`` §0):
``β = u ⊙ v``, ``u₀ = √2 α``, ``v₀ = 0``, ``L(β) = ‖Xβ − y‖²/(2n)``, potential ``ψ_α``. Woodworth et
al. (COLT 2020, arXiv:2002.09277) use ``β = w₊² − w₋²`` with ``w±(0) = α_W``, which corresponds to
``α = √2 α_W`` (``docs/theory/regression.md`` §0.3).

The central identity (``docs/theory/regression.md`` §0.1): for any ``(u, v)`` with ``s = u + v ≠ 0``
and ``d = u − v ≠ 0``,

.. math:: β = u ⊙ v = α_{\\rm eff}² \\sinh(ζ),\\quad α_{\\rm eff}² = |u² − v²|/2,\\quad
          ζ = \\ln|s/d|.
"""

from __future__ import annotations

import numpy as np

from dln_verify.numeric.validation import as_finite_array, check_alpha, check_positive

__all__ = [
    "uv_init",
    "woodworth_to_uv_alpha",
    "uv_to_woodworth_alpha",
    "effective_scale_and_reference",
    "unbalanced_prediction_params",
]


def uv_init(alpha, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Initialisation ``u₀ = √2 α 𝟙``, ``v₀ = 0`` of the ``β = u ⊙ v`` convention.

    Parameters
    ----------
    alpha : float or array_like, shape (d,)
        Scale(s) > 0.
    d : int
        Dimension.

    Returns
    -------
    u0, v0 : ndarray, shape (d,)
        With ``β₀ = 0`` and ``(u₀² − v₀²)/2 = α²`` (Even, Pesme, Gunasekar & Flammarion,
        NeurIPS 2023, arXiv:2302.08982, Sec. 2).
    """
    if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    alpha = check_alpha(alpha, int(d))
    u0 = np.sqrt(2.0) * np.broadcast_to(np.asarray(alpha, dtype=np.float64), (int(d),)).copy()
    return u0, np.zeros(int(d))


def woodworth_to_uv_alpha(alpha_w):
    """Map Woodworth et al.'s ``α_W`` (``w±(0) = α_W``) to the ``u ⊙ v`` scale ``α = √2 α_W``.

    Woodworth et al., COLT 2020, arXiv:2002.09277: ``Q_{α_W}`` equals ``ψ_α`` up to a constant
    factor when ``α² = 2 α_W²`` (``docs/theory/regression.md`` §0.3).
    """
    alpha_w = check_alpha(alpha_w)
    return np.sqrt(2.0) * alpha_w


def uv_to_woodworth_alpha(alpha):
    """Inverse of :func:`woodworth_to_uv_alpha`: ``α_W = α / √2``."""
    alpha = check_alpha(alpha)
    return alpha / np.sqrt(2.0)


def effective_scale_and_reference(u, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Central identity ``β = α_eff² sinh(ζ)`` (``docs/theory/regression.md`` §0.1).

    Parameters
    ----------
    u, v : array_like, same shape
        Current weights of ``β = u ⊙ v``; ``u ± v`` must not vanish.

    Returns
    -------
    alpha_eff : ndarray
        ``√(|u² − v²| / 2)``, computed as ``√(|u+v| |u−v| / 2)`` (no cancellation).
    zeta : ndarray
        ``ln|(u+v)/(u−v)|``.
    beta_ref : ndarray
        ``α_eff² sinh(ζ)`` (equals ``u ⊙ v`` up to rounding); when ``(u, v)`` is an
        initialisation it is the Bregman reference point ``β̃₀`` of the GF limit
        ``argmin_{Xβ=y} D_{ψ_{α_eff}}(β, β̃₀)``.
    """
    u = as_finite_array(u, "u")
    v = as_finite_array(v, "v")
    if u.shape != v.shape:
        raise ValueError(f"u and v must have the same shape, got {u.shape} and {v.shape}")
    s = np.abs(u + v)
    dd = np.abs(u - v)
    if np.any(s == 0) or np.any(dd == 0):
        raise ValueError("u and v must satisfy u + v != 0 and u - v != 0 entrywise")
    alpha_eff = np.sqrt(s * dd / 2.0)
    zeta = np.log(s) - np.log(dd)
    beta_ref = alpha_eff**2 * np.sinh(zeta)
    return alpha_eff, zeta, beta_ref


def unbalanced_prediction_params(a_u, a_v) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Prediction parameters for the unbalanced init ``u₀ = a_u``, ``v₀ = a_v``, ``|a_v| < a_u``.

    Gradient flow converges to ``argmin_{Xβ=y} D_{ψ_{α̃}}(β, β₀)`` with
    ``α̃² = (a_u² − a_v²)/2`` and ``β₀ = a_u a_v`` (Azulay et al., ICML 2021, arXiv:2102.09769,
    the "shape" of the initialisation; ``docs/theory/regression.md`` §1.1, [DER, NUM 2e-14]).

    Returns
    -------
    alpha_tilde, beta0
    """
    scalar = np.ndim(a_u) == 0 and np.ndim(a_v) == 0
    a_u_arr = as_finite_array(a_u, "a_u")
    a_v_arr = as_finite_array(a_v, "a_v")
    if np.any(a_u_arr <= 0):
        raise ValueError("a_u must be > 0 entrywise")
    if np.any(np.abs(a_v_arr) >= a_u_arr):
        raise ValueError("a_v must satisfy |a_v| < a_u entrywise")
    alpha_tilde = np.sqrt((a_u_arr - a_v_arr) * (a_u_arr + a_v_arr) / 2.0)
    beta0 = a_u_arr * a_v_arr
    if scalar:
        return float(check_positive(float(alpha_tilde), "alpha_tilde")), float(beta0)
    return alpha_tilde, beta0
