"""Streaming (online) SGD on a diagonal linear network with isotropic Gaussian data, batched.

Convention (``docs/theory/conventions.md §2.1``): ``β = u ⊙ v``, ``u₀ = √2 α 𝟙``, ``v₀ = 0``.
Every step draws one fresh sample ``x ~ N(0, I_d)`` and a label ``y = ⟨x, β*⟩ + σε`` with
``ε ~ N(0, 1)``, and takes a gradient step of size ``η`` on ``½(⟨x, u ⊙ v⟩ − y)²``:

.. math::

    r = ⟨x, u ⊙ v⟩ − y,\\qquad u ← u − η\\,r\\,x ⊙ v,\\qquad v ← v − η\\,r\\,x ⊙ u

(simultaneous). For isotropic Gaussian ``x`` the population risk is closed form,
``R(β) = ½ E(⟨x, β⟩ − y)² = ½‖β − β*‖² + σ²/2``, so no test data are sampled. Malaxechebarría,
Paquette, Fazel and Drusvyatskiy (arXiv:2605.17177) show that with ``η = γ/d`` the risk curves
``t ↦ R(β_{⌊td⌋})`` of independent runs concentrate around one deterministic limit as ``d → ∞``;
the limit ODE of this setting and its derivation are in ``docs/theory/highdim.md`` §2
(:func:`highdim_risk_ode`).

Reproducibility: run ``b`` of a call with ``seed`` and ``stream`` owns two numpy generators,
``SFC64`` seeded with the two children of ``SeedSequence([seed, first_run + b, stream])``: one
draws the samples ``x`` (row after row, in chunks of about 2²⁰ numbers), the other the label
noise ``ε``. A numpy generator fills arrays sequentially, so the path of a run does not depend on
the chunk size, on the record steps, on the other runs of the call or on any thread count (runs
execute one after another; no global generator is used); different ``(seed, run, stream)``
give independent streams (``SeedSequence`` spawning). The compiled kernel (numba) only does the
arithmetic, ``O(d)`` per step for the residual and ``O(d)`` for the update; drawing the ``d``
normals per step dominates (``SFC64`` ziggurat, about 4× faster than numba's own ``np.random``).

The risk is recorded at given step counts only (no stored trajectory). A run whose iterate turns
non-finite or whose risk exceeds ``blowup × R(β₀)`` is flagged as diverged and stopped there
(its later records are NaN).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from dln_verify.numeric.validation import as_finite_array, check_positive, check_seed

__all__ = ["StreamingSGDResult", "streaming_sgd", "highdim_risk_ode", "ODE_NOISE_CONSTANT"]

#: the constant ``c`` of the noise term ``c·α⁴γ²R`` in the bulk equation of the limit ODE
#: (``docs/theory/highdim.md`` §2.3)
ODE_NOISE_CONSTANT = 8.0


@dataclass(frozen=True)
class StreamingSGDResult:
    """A batch of streaming SGD runs (run axis first).

    Attributes
    ----------
    times : ndarray, shape (K,)
        Recorded times ``t = k/d`` (``time_unit``), ``k`` the step count.
    steps : ndarray of int, shape (K,)
        The recorded step counts ``k``.
    risk : ndarray, shape (B, K)
        Population risk ``½‖β_k − β*‖² + σ²/2`` at the recorded steps (NaN after a blow-up).
    final_beta, u, v : ndarray, shape (B, d)
        The state after the last step taken.
    diverged : ndarray of bool, shape (B,)
    converged : ndarray of bool, shape (B,)
        True for every run that took its whole step budget (the curve is complete).
    steps_taken : ndarray of int, shape (B,)
    message : tuple of str
    stepsize, noise : float
    time_unit : str
    """

    times: np.ndarray
    steps: np.ndarray
    risk: np.ndarray
    final_beta: np.ndarray
    u: np.ndarray
    v: np.ndarray
    diverged: np.ndarray
    converged: np.ndarray
    steps_taken: np.ndarray
    message: tuple[str, ...]
    stepsize: float
    noise: float
    time_unit: str = "t = k/d (steps over dimension)"


#: samples drawn per chunk (bounded memory, ~8 MB); a run's stream does not depend on it
_CHUNK_ELEMENTS = 1 << 20

_KERNEL: object = None


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        import numba

        @numba.njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
        def steps(u, v, beta_star, xs, eps, sigma, eta):
            """Take one step per row of ``xs`` (samples) and entry of ``eps`` (label noise)."""
            S, d = xs.shape
            for k in range(S):
                s = 0.0
                for j in range(d):
                    s += xs[k, j] * (u[j] * v[j] - beta_star[j])
                c = eta * (s - sigma * eps[k])
                for j in range(d):
                    cj = c * xs[k, j]
                    uj = u[j]
                    u[j] = uj - cj * v[j]
                    v[j] = v[j] - cj * uj

        _KERNEL = steps
    return _KERNEL


def _numpy_steps(u, v, beta_star, xs, eps, sigma, eta):
    """The reference loop (the same arithmetic as the compiled kernel), in place."""
    for k in range(xs.shape[0]):
        c = eta * (float(xs[k] @ (u * v - beta_star)) - sigma * eps[k])
        cx = c * xs[k]
        u_old = u.copy()
        u -= cx * v
        v -= cx * u_old


def _risk(u, v, beta_star, sigma) -> float:
    e = u * v - beta_star
    return 0.5 * float(e @ e) + 0.5 * sigma * sigma


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def streaming_sgd(beta_star, alpha: float, stepsize: float, record_steps, *, noise: float = 0.0,
                  n_runs: int = 1, seed: int = 0, stream: int = 0, first_run: int = 0,
                  blowup: float = 1e10, backend: str | None = None) -> StreamingSGDResult:
    """Run B independent streaming SGD runs on ``β = u ⊙ v`` and record their population risk.

    Malaxechebarría, Paquette, Fazel & Drusvyatskiy (arXiv:2605.17177): with step ``γ/d`` the
    risk curves ``R(t = k/d)`` of independent runs concentrate (run-to-run spread of order
    ``d^{-1/2}``) around a deterministic limit (``docs/theory/highdim.md`` §2).

    Parameters
    ----------
    beta_star : array_like, shape (d,)
        The planted parameter (finite).
    alpha : float
        Initialisation scale ``α > 0``: ``u₀ = √2α 𝟙``, ``v₀ = 0``.
    stepsize : float
        The per-step step ``η > 0`` (``γ/d`` for the theorem's scaling).
    record_steps : array_like of int
        Strictly increasing step counts ``≥ 1`` at which the risk is recorded; the last one is
        the step budget.
    noise : float
        Label-noise standard deviation ``σ ≥ 0``.
    n_runs : int
        Number of runs ``B ≥ 1``.
    seed, stream : int
        Non-negative; run ``b`` is seeded from ``SeedSequence([seed, first_run + b, stream])``.
    first_run : int
        Index of the first run (``≥ 0``): ``first_run = 5, n_runs = 1`` repeats run 5 of a batch.
    blowup : float
        A run whose risk exceeds ``blowup × R(β₀)`` (or is non-finite) at a record step is
        flagged diverged and stopped there.
    backend : {None, "numba", "numpy"}
        Compiled kernel (default) or the numpy reference loop; the same iterates up to rounding.

    Returns
    -------
    StreamingSGDResult

    Examples
    --------
    >>> import numpy as np
    >>> d = 200
    >>> beta_star = np.zeros(d); beta_star[:2] = 1 / np.sqrt(2)
    >>> res = streaming_sgd(beta_star, 0.5, 1.0 / d, [100, 200, 400], n_runs=3, seed=1)
    >>> res.risk.shape, bool(res.diverged.any()), bool(np.all(res.risk[:, -1] < 0.5))
    ((3, 3), False, True)
    """
    beta_star = as_finite_array(beta_star, "beta_star", ndim=1)
    d = beta_star.shape[0]
    a = check_positive(alpha, "alpha")
    eta = check_positive(stepsize, "stepsize")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not (
            np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    try:
        marks = np.asarray(record_steps)
    except (TypeError, ValueError):
        marks = np.asarray([None])
    if (marks.ndim != 1 or marks.size == 0 or not np.issubdtype(marks.dtype, np.integer)
            or marks[0] < 1 or np.any(np.diff(marks) <= 0)):
        raise ValueError("record_steps must be a non-empty, strictly increasing sequence of "
                         f"integers >= 1, got {record_steps!r}")
    marks = marks.astype(np.int64)
    n_runs = _check_int(n_runs, "n_runs", 1)
    seed = check_seed(seed)
    stream = _check_int(stream, "stream", 0)
    first_run = _check_int(first_run, "first_run", 0)
    blowup = check_positive(blowup, "blowup")
    if backend not in (None, "numba", "numpy"):
        raise ValueError(f"backend must be None, 'numba' or 'numpy', got {backend!r}")
    kernel = _kernel() if backend != "numpy" else _numpy_steps
    B, K = n_runs, marks.shape[0]
    risk = np.full((B, K), np.nan)
    U = np.empty((B, d))
    V = np.empty((B, d))
    taken = np.zeros(B, dtype=np.int64)
    diverged = np.zeros(B, dtype=bool)
    chunk = max(1, _CHUNK_ELEMENTS // d)
    sigma = float(noise)
    for b in range(B):
        x_stream, y_stream = (np.random.Generator(np.random.SFC64(s)) for s in
                              np.random.SeedSequence([seed, first_run + b, stream]).spawn(2))
        u = np.full(d, np.sqrt(2.0) * a)
        v = np.zeros(d)
        limit = blowup * _risk(u, v, beta_star, sigma)
        k = 0
        for i, mark in enumerate(marks):
            while k < mark:
                S = int(min(chunk, mark - k))
                kernel(u, v, beta_star, x_stream.standard_normal((S, d)),
                       y_stream.standard_normal(S), sigma, eta)
                k += S
            r = _risk(u, v, beta_star, sigma)
            if not (np.isfinite(r) and r <= limit):
                break
            risk[b, i] = r
        taken[b] = k
        diverged[b] = not np.isfinite(risk[b, -1])
        U[b], V[b] = u, v
    budget = int(marks[-1])
    msgs = tuple(f"diverged: risk non-finite or above {blowup:g} × R(β₀) at step {k}" if dv
                 else f"{budget} steps (t = {budget / d:g})" for k, dv in zip(taken, diverged,
                                                                                 strict=True))
    return StreamingSGDResult(
        times=marks / d, steps=marks, risk=risk, final_beta=U * V, u=U, v=V, diverged=diverged,
        converged=~diverged, steps_taken=taken, message=msgs, stepsize=eta,
        noise=float(noise))


def highdim_risk_ode(beta_support, alpha: float, gamma: float, times, *, noise: float = 0.0,
                     noise_constant: float = ODE_NOISE_CONSTANT, rtol: float = 1e-11,
                     atol: float = 1e-14) -> dict[str, np.ndarray]:
    """The ``d → ∞`` limit of the risk curve of streaming SGD with step ``γ/d`` (k-sparse β*).

    With ``β*`` supported on ``k`` coordinates (``k`` fixed as ``d → ∞``), the support coordinates
    follow the population gradient flow of the network and the ``d − k`` off-support coordinates
    carry an energy ``E = Σ_{j∉S} β_j²`` fed by the SGD noise (``docs/theory/highdim.md`` §2):

    .. math::

        \\dot β_j = -2γ\\sqrt{α⁴ + β_j²}\\,(β_j − β^*_j)\\ (j ∈ S),\\qquad
        \\dot E = -4α²γE + c\\,α⁴γ²R,\\qquad R = ½Σ_{j∈S}(β_j − β^*_j)² + ½E + σ²/2,

    from ``β_S = 0``, ``E = 0``, with ``c = 8`` (``noise_constant``; ``c = 0`` is the noise-free
    population gradient flow).

    Parameters
    ----------
    beta_support : array_like, shape (k,)
        The nonzero entries of ``β*``.
    alpha, gamma : float
        ``α > 0``, ``γ > 0``.
    times : array_like
        Non-decreasing times ``t ≥ 0``.
    noise : float
        ``σ ≥ 0``.
    noise_constant : float
        ``c ≥ 0``.
    rtol, atol : float
        Tolerances of the DOP853 integration.

    Returns
    -------
    dict
        ``risk`` (R at ``times``), ``bulk`` (``E``), ``support_risk`` (``½Σ_S e_j²``), ``times``
        and ``solver_success`` (bool).

    Examples
    --------
    >>> out = highdim_risk_ode([1.0], 0.5, 1.0, [0.0, 50.0])
    >>> round(float(out["risk"][0]), 12), bool(out["risk"][1] < 1e-6)
    (0.5, True)
    """
    from scipy.integrate import solve_ivp

    b = as_finite_array(beta_support, "beta_support", ndim=1)
    a = check_positive(alpha, "alpha")
    g = check_positive(gamma, "gamma")
    t = as_finite_array(times, "times", ndim=1)
    if np.any(t < 0) or np.any(np.diff(t) < 0):
        raise ValueError("times must be non-negative and non-decreasing")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if not (np.isfinite(noise_constant) and noise_constant >= 0):
        raise ValueError(f"noise_constant must be a finite number >= 0, got {noise_constant!r}")
    k = b.shape[0]
    a2, a4 = a * a, a**4

    def rhs(_, z):
        beta, E = z[:k], z[k]
        e = beta - b
        R = 0.5 * float(e @ e) + 0.5 * E + 0.5 * noise**2
        out = np.empty(k + 1)
        out[:k] = -2.0 * g * np.sqrt(a4 + beta**2) * e
        out[k] = -4.0 * a2 * g * E + noise_constant * a4 * g * g * R
        return out

    z0 = np.zeros(k + 1)
    sol = solve_ivp(rhs, (0.0, float(t[-1]) if t[-1] > 0 else 1.0), z0, method="DOP853",
                    t_eval=t, rtol=rtol, atol=atol)
    Z = sol.y if sol.success else np.full((k + 1, t.size), np.nan)
    e = Z[:k] - b[:, None]
    support = 0.5 * np.sum(e**2, axis=0)
    bulk = Z[k]
    return {"times": t, "risk": support + 0.5 * bulk + 0.5 * noise**2, "bulk": bulk,
            "support_risk": support, "solver_success": bool(sol.success)}
