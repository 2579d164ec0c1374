"""Closed-form Hessian of the ``u ⊙ v`` regression loss and its sharpness.

Convention (``docs/theory/conventions.md``): ``L(u, v) = ‖X(u ⊙ v) − y‖²/(2n)``. With
``H = XᵀX/n``, ``β = u ⊙ v`` and ``g = ∇_β L = H β − Xᵀy/n`` the gradient is
``(∇_u L, ∇_v L) = (v ⊙ g, u ⊙ g)`` and the Hessian in ``w = (u, v)`` is the 2d × 2d matrix

.. math::

    \\nabla^2 L(u, v) = \\begin{pmatrix} D_v H D_v & D_v H D_u + D_g \\\\
    D_u H D_v + D_g & D_u H D_u \\end{pmatrix},

``D_a = diag(a)`` (derivation: ``docs/theory/discrete.md`` §2). Its largest eigenvalue ``S`` is
the sharpness that decides the linear stability of gradient descent at a minimum: GD with
stepsize γ can only converge to a minimiser with ``γ S ≤ 2`` (Even, Pesme, Gunasekar &
Flammarion, NeurIPS 2023, arXiv:2302.08982, Sec. 5).

Because each coordinate of ``∇L`` is at most quadratic along any single coordinate direction of
``w``, a central difference of the gradient along ``e_j`` is exact up to rounding; the
finite-difference check :func:`hessian_fd_discrepancy` therefore measures pure rounding
(``docs/theory/discrete.md`` §2.2).
"""

from __future__ import annotations

import numbers

import numpy as np

from dln_verify.numeric.validation import as_finite_array, check_regression_data

__all__ = [
    "beta_sharpness",
    "hessian_fd_discrepancy",
    "loss_gradient_uv",
    "loss_hessian_uv",
    "sharpness_uv",
]


def _check_point(X, y, u, v):
    X, y = check_regression_data(X, y, require_underdetermined=False)
    d = X.shape[1]
    u = as_finite_array(u, "u", ndim=1)
    v = as_finite_array(v, "v", ndim=1)
    for name, w in (("u", u), ("v", v)):
        if w.shape != (d,):
            raise ValueError(f"{name} must have shape (d,) = ({d},), got {w.shape}")
    return X, y, u, v


def loss_gradient_uv(X, y, u, v) -> np.ndarray:
    """Gradient ``(v ⊙ g, u ⊙ g)`` of ``L(u, v) = ‖X(u ⊙ v) − y‖²/(2n)``, shape (2d,).

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.eye(2), np.array([1.0, 0.0])
    >>> loss_gradient_uv(X, y, np.ones(2), np.zeros(2)).tolist()
    [-0.0, 0.0, -0.5, 0.0]
    """
    X, y, u, v = _check_point(X, y, u, v)
    n = X.shape[0]
    g = X.T @ (X @ (u * v) - y) / n
    return np.concatenate([v * g, u * g])


def loss_hessian_uv(X, y, u, v) -> np.ndarray:
    """Closed-form Hessian of ``L(u, v) = ‖X(u ⊙ v) − y‖²/(2n)`` in ``w = (u, v)``.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    u, v : array_like, shape (d,)

    Returns
    -------
    ndarray, shape (2d, 2d)
        ``[[D_v H D_v, D_v H D_u + D_g], [D_u H D_v + D_g, D_u H D_u]]`` with ``H = XᵀX/n``
        and ``g = ∇_β L(u ⊙ v)`` (``docs/theory/discrete.md`` §2).

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.array([[1.0, 2.0]]), np.array([1.0])
    >>> Hs = loss_hessian_uv(X, y, np.array([1.0, 0.5]), np.array([0.0, 1.0]))
    >>> Hs.shape, bool(np.allclose(Hs, Hs.T))
    ((4, 4), True)
    """
    X, y, u, v = _check_point(X, y, u, v)
    n, d = X.shape
    H = X.T @ X / n
    g = H @ (u * v) - X.T @ y / n
    out = np.empty((2 * d, 2 * d))
    out[:d, :d] = v[:, None] * H * v[None, :]
    out[d:, d:] = u[:, None] * H * u[None, :]
    cross = v[:, None] * H * u[None, :]
    cross[np.diag_indices(d)] += g
    out[:d, d:] = cross
    out[d:, :d] = cross.T
    return 0.5 * (out + out.T)  # exactly symmetric (the products above round differently)


def sharpness_uv(X, y, u, v) -> float:
    """Sharpness ``S = λ_max(∇²L(u, v))`` of the ``u ⊙ v`` loss (closed-form Hessian).

    GD with stepsize γ is linearly stable at a minimiser only if ``γ S ≤ 2`` (Even, Pesme,
    Gunasekar & Flammarion, NeurIPS 2023, Sec. 5; ``docs/theory/discrete.md`` §3).

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.eye(2), np.array([1.0, 2.0])
    >>> u = np.sqrt(np.array([1.0, 2.0])); v = u.copy()   # an interpolator, g = 0
    >>> round(sharpness_uv(X, y, u, v), 12)   # λ_max(JᵀHJ) = (u² + v²)_max / n = 4 / 2
    2.0
    """
    return float(np.linalg.eigvalsh(loss_hessian_uv(X, y, u, v))[-1])


def beta_sharpness(X) -> float:
    """``λ_max(XᵀX/n)``: the sharpness of ``L(β)`` in β-space (not the (u, v) one).

    Examples
    --------
    >>> import numpy as np
    >>> beta_sharpness(np.array([[2.0, 0.0], [0.0, 1.0]]))
    2.0
    """
    X = as_finite_array(X, "X", ndim=2)
    return float(np.linalg.eigvalsh(X.T @ X / X.shape[0])[-1])


def hessian_fd_discrepancy(X, y, u, v, *, h: float | None = None) -> float:
    """Relative max-norm gap between the closed-form Hessian and central differences of ∇L.

    Column j of the finite-difference Hessian is ``(∇L(w + h e_j) − ∇L(w − h e_j))/(2h)``.
    Along one coordinate of ``w`` every entry of ``∇L`` is a polynomial of degree ≤ 2, for which
    the central difference is exact, so the returned number is rounding only: about
    ``ε · max|∇L(w ± h e_j)| / (h · max|∇²L|)`` (``docs/theory/discrete.md`` §2.2).

    Parameters
    ----------
    X, y, u, v
        As in :func:`loss_hessian_uv`.
    h : float, optional
        Step (> 0); default ``1e-4 · max(1, ‖w‖_∞)``.

    Returns
    -------
    float
        ``max|∇²L_closed − ∇²L_fd| / max|∇²L_closed|``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((3, 5)), rng.standard_normal(3)
    >>> hessian_fd_discrepancy(X, y, rng.standard_normal(5), rng.standard_normal(5)) < 1e-9
    True
    """
    X, y, u, v = _check_point(X, y, u, v)
    d = X.shape[1]
    w = np.concatenate([u, v])
    if h is None:
        h = 1e-4 * max(1.0, float(np.max(np.abs(w))))
    if isinstance(h, bool) or not isinstance(h, numbers.Real) or not np.isfinite(h) or h <= 0:
        raise ValueError(f"h must be a finite float > 0, got {h!r}")
    fd = np.empty((2 * d, 2 * d))
    for j in range(2 * d):
        wp, wm = w.copy(), w.copy()
        wp[j] += h
        wm[j] -= h
        fd[:, j] = (loss_gradient_uv(X, y, wp[:d], wp[d:])
                    - loss_gradient_uv(X, y, wm[:d], wm[d:])) / (2 * h)
    closed = loss_hessian_uv(X, y, u, v)
    scale = float(np.max(np.abs(closed)))
    if scale == 0.0:
        return float(np.max(np.abs(fd)))
    return float(np.max(np.abs(closed - fd)) / scale)
