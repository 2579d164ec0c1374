"""Gradient flow on ``u ⊙ v`` from a vanishing initialisation, in rescaled log coordinates.

Setting (Berthier, "Diagonal linear networks and the Lasso regularization path", arXiv:2509.18766,
Thm. 2.1; derived in ``docs/theory/regularisation.md`` §2): ``x = u ⊙ v``, loss
``ℓ(x) = ½⟨x, Mx⟩ − ⟨r, x⟩`` with ``M = XᵀX/n``, ``r = Xᵀy/n`` (so ``ℓ = L − ‖y‖²/(2n)``),
gradient flow ``u̇ = −v ⊙ ∇ℓ(x)``, ``v̇ = −u ⊙ ∇ℓ(x)`` from ``u(0) = √ε b``, ``v(0) = √ε c``
(``b_i ≠ ±c_i``).

With ``L = log(1/ε)``, the rescaled time ``s = 2t/L`` and ``ξ = −2∫₀ᵗ∇ℓ(x)/L``, the flow is
exactly (``docs/theory/regularisation.md`` §2.1)

.. math::
    x = A^+ e^{L(ξ-1)} - A^- e^{-L(ξ+1)}, \\qquad \\frac{dξ}{ds} = -∇ℓ(x), \\qquad
    A^± = (b ± c)^2/4,

and ``ξ = Xᵀν`` with ``dν/ds = (y − Xx)/n``, ``ν(0) = 0``. :func:`lasso_path_flow` integrates
``(ν, ∫₀ˢ x)`` with LSODA and the analytic Jacobian; every exponential is formed from its
exponent, so ``ε = 1e-40`` (``L ≈ 92``) is as easy as ``ε = 1e-5``. It returns the time average
``x̄(s) = (1/s)∫₀ˢ x`` and the last iterate ``x(s)`` at the requested ``s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dln_verify.numeric.budgeted_ivp import solve_ivp_within
from dln_verify.numeric.validation import as_finite_array, check_positive, check_regression_data

__all__ = ["LassoPathFlowResult", "lasso_path_flow", "MAX_EVALUATIONS"]

#: budget of right-hand-side evaluations per ε (solver units); the claim's runs take < 5000
MAX_EVALUATIONS = 50_000
_EXP_CAP = 200.0  # x ≤ e^{200}: finite even after X @ x (a non-physical overshoot)


@dataclass(frozen=True)
class LassoPathFlowResult:
    """Output of :func:`lasso_path_flow` (batch axis over ε first).

    Attributes
    ----------
    times : ndarray, shape (m,)
        The rescaled times ``s = 2t/log(1/ε)`` (``time_unit = "s = 2t/log(1/ε)"``).
    epsilons : ndarray, shape (B,)
    average : ndarray, shape (B, m, d)
        Time averages ``x̄(s)``.
    beta : ndarray, shape (B, m, d)
        Last iterates ``x(s)``.
    final_beta : ndarray, shape (B, d)
    n_evaluations : ndarray of int, shape (B,)
    diverged, converged : ndarray of bool, shape (B,)
    message : tuple of str
    """

    times: np.ndarray
    epsilons: np.ndarray
    average: np.ndarray
    beta: np.ndarray
    final_beta: np.ndarray
    n_evaluations: np.ndarray
    diverged: np.ndarray
    converged: np.ndarray
    message: tuple[str, ...]
    time_unit: str = "s = 2t/log(1/ε)"


def lasso_path_flow(X, y, b, c, epsilons, times, *, rtol: float = 1e-9, atol: float = 1e-12,
                    max_evaluations: int = MAX_EVALUATIONS,
                    method: str = "LSODA") -> LassoPathFlowResult:
    """Gradient flow on ``u ⊙ v`` from ``(√ε b, √ε c)``, time-averaged, at rescaled times ``s``.

    Theorem checked with it (Berthier, arXiv:2509.18766, Thm. 2.1): if the Lasso path
    ``μ ↦ x(μ)`` of ``ℓ(x) + ‖x‖₁/μ`` has ``μ ↦ μx(μ)`` coordinatewise monotone, then
    ``Lasso(x̄^ε(s), s) → Lasso*(s)`` as ε → 0, for every s > 0.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    b, c : array_like, shape (d,)
        Initialisation directions, ``|b_i| ≠ |c_i|`` for every i.
    epsilons : array_like, shape (B,)
        Initialisation scales in ``(0, 1)`` (down to 1e-300).
    times : array_like, shape (m,)
        Increasing rescaled times ``s > 0``.
    rtol, atol : float
        Integrator tolerances (> 0).
    max_evaluations : int
        Budget of right-hand-side evaluations per ε (≥ 1); a run that spends it stops with
        ``converged = False``.
    method : {"LSODA", "Radau", "BDF"}
        Stiff scipy integrator (analytic Jacobian); LSODA is ~9× cheaper than Radau here
        with the same averages to ~1e-6. A run whose state becomes non-finite (an overshoot of
        ``ξ`` past 1 in a large step) is redone with Radau, and the message says so.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[2.0, 0.0, 1.0], [0.0, 2.0, 1.0]]); y = np.array([2.0, 1.0])
    >>> res = lasso_path_flow(X, y, np.ones(3), np.zeros(3), [1e-30], [1.0, 4.0])
    >>> bool(res.converged[0]), res.average.shape
    (True, (1, 2, 3))
    """
    X, y = check_regression_data(X, y, require_underdetermined=False)
    n, d = X.shape
    b = as_finite_array(b, "b", ndim=1)
    c = as_finite_array(c, "c", ndim=1)
    if b.shape[0] != d or c.shape[0] != d:
        raise ValueError(f"b and c must have length d = {d}, got {b.shape[0]} and {c.shape[0]}")
    if np.any(np.abs(np.abs(b) - np.abs(c)) <= 1e-12 * np.maximum(np.abs(b), 1e-300)):
        raise ValueError("b and c must satisfy b_i ≠ ±c_i for every i (Theorem 2.1)")
    eps = as_finite_array(np.atleast_1d(epsilons), "epsilons", ndim=1)
    if eps.size == 0 or np.any((eps <= 0) | (eps >= 1)):
        raise ValueError("epsilons must be a non-empty list of values in (0, 1)")
    times = as_finite_array(np.atleast_1d(times), "times", ndim=1)
    if times.size == 0 or times[0] <= 0 or np.any(np.diff(times) <= 0):
        raise ValueError("times must be a non-empty strictly increasing list of values > 0")
    rtol = check_positive(rtol, "rtol")
    atol = check_positive(atol, "atol")
    if isinstance(max_evaluations, bool) or not isinstance(max_evaluations, int | np.integer) \
            or max_evaluations < 1:
        raise ValueError(f"max_evaluations must be an integer >= 1, got {max_evaluations!r}")
    if method not in ("Radau", "LSODA", "BDF"):
        raise ValueError(f"method must be 'Radau', 'LSODA' or 'BDF', got {method!r}")
    log_ap = 2.0 * np.log(np.abs(b + c)) - np.log(4.0)
    log_am = 2.0 * np.log(np.abs(b - c)) - np.log(4.0)
    Xt = X.T
    B, m = eps.size, times.size
    avg = np.full((B, m, d), np.nan)
    last = np.full((B, m, d), np.nan)
    nfev = np.zeros(B, dtype=int)
    diverged = np.zeros(B, dtype=bool)
    converged = np.zeros(B, dtype=bool)
    messages = []
    for k, e in enumerate(eps):
        L = float(-np.log(e))
        def parts(nu, L=L):
            xi = Xt @ nu
            ep = np.exp(np.minimum(log_ap + L * (xi - 1.0), _EXP_CAP))
            em = np.exp(np.minimum(log_am - L * (xi + 1.0), _EXP_CAP))
            return ep - em, ep + em

        def rhs(_s, z):
            x, _ = parts(z[:n])
            return np.concatenate([(y - X @ x) / n, x])

        def jac(_s, z, L=L):
            _, q = parts(z[:n])
            Dq = L * q
            J = np.zeros((n + d, n + d))
            J[:n, :n] = -(X * Dq) @ Xt / n
            J[n:, :n] = Dq[:, None] * Xt
            return J

        def solve(meth):
            with np.errstate(over="ignore", invalid="ignore"):
                # ValueError: LSODA's own check of a non-finite state
                run = solve_ivp_within(rhs, (0.0, float(times[-1])), np.zeros(n + d),
                                       max_evaluations=max_evaluations, catch=(ValueError,),
                                       method=meth, t_eval=times, rtol=rtol, atol=atol, jac=jac)
            if run.budget_spent:
                return False, run.message, None, run.nfev
            if run.sol is None:
                return False, run.message, np.full((1, n + d), np.nan), run.nfev
            sol = run.sol
            return bool(sol.success) and sol.y.shape[1] == m, str(sol.message), sol.y.T, run.nfev

        ok, msg, zs, nfev[k] = solve(method)
        if method != "Radau" and zs is not None and zs.size and not np.all(np.isfinite(zs)):
            # an explicit-stage overshoot of ξ past 1 overflows x; Radau rejects such steps
            ok, msg, zs, nfev[k] = solve("Radau")
            msg = f"{method} overflowed, redone with Radau: {msg}"
        if zs is not None and zs.size and not np.all(np.isfinite(zs)):
            diverged[k] = True
            messages.append(f"ε = {e:g}: the state is not finite ({msg})")
            continue
        if not ok:
            messages.append(f"ε = {e:g}: {msg}")
            continue
        avg[k] = zs[:, n:] / times[:, None]
        last[k] = np.array([parts(z[:n])[0] for z in zs])
        converged[k] = True
        messages.append(f"ε = {e:g}: reached s = {times[-1]:g} in {nfev[k]} evaluations")
    return LassoPathFlowResult(times=times, epsilons=eps, average=avg, beta=last,
                               final_beta=last[:, -1], n_evaluations=nfev, diverged=diverged,
                               converged=converged, message=tuple(messages))
