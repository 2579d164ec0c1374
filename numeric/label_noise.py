"""Label-noise (stochastic) gradient descent on diagonal linear networks, batched and seeded.

At every step fresh label noise is drawn, ``ỹ = y + δ ε`` with ``ε ~ N(0, I_n)``, and a
(mini-)batch gradient step of size ``γ`` is taken on ``‖X_B β − ỹ_B‖²/(2b)``:

- ``parametrisation="uv"``: ``β = u ⊙ v``, ``u ← u − γ v ⊙ g̃``, ``v ← v − γ u ⊙ g̃``
  (simultaneous), from ``u₀ = √2 α``, ``v₀ = 0``;
- ``parametrisation="uu"``: ``β = u ⊙ u`` (β ≥ 0), ``u ← u − 2γ u ⊙ g̃``, from ``u₀ = α``
  (``β₀ = α²``),

with ``g̃ = X_Bᵀ(X_B β − ỹ_B)/b``. The time average of ``β`` after a burn-in converges to a
weighted Lasso (non-negative for ``u ⊙ u``) — Pillaud-Vivien, Reygner & Flammarion, COLT 2022,
arXiv:2206.09841; the constants are derived in ``docs/theory/noise.md`` §3.

The simulator runs B independent runs at once (each with its own noise stream derived from
``seed``), keeps a running sum of ``β`` after ``burn_in`` steps (no stored trajectory beyond a
strided record) and flags each run's divergence (non-finite iterate or ``|β|`` beyond
``blowup``); a diverged run is frozen at its last finite iterate.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from dln_verify.numeric._lazy import compiled_module
from dln_verify.numeric.validation import as_finite_array, check_alpha, check_positive, check_seed

__all__ = ["LabelNoiseResult", "label_noise_gd"]

#: steps whose noise is drawn at once (bounded memory; the stream does not depend on it)
_CHUNK = 1024


@dataclass(frozen=True)
class LabelNoiseResult:
    """A batch of label-noise (S)GD runs (run axis first).

    Attributes
    ----------
    times : ndarray of int, shape (K,)
        Recorded iterations (``time_unit = "iteration"``).
    beta : ndarray, shape (B, K, d)
        ``β`` at the recorded iterations.
    final_beta : ndarray, shape (B, d)
    average : ndarray, shape (B, d)
        Time average of ``β`` over the steps after ``burn_in`` (iterates ``burn_in + 1 …``).
    n_averaged : int
        Number of iterates in the average.
    diverged : ndarray of bool, shape (B,)
    converged : ndarray of bool, shape (B,)
        True for every run that did not diverge (the average is over the full window).
    message : tuple of str
    stepsize, noise : float
    batch_size : int
    parametrisation : str
    time_unit : str
    """

    times: np.ndarray
    beta: np.ndarray
    final_beta: np.ndarray
    average: np.ndarray
    n_averaged: int
    diverged: np.ndarray
    converged: np.ndarray
    message: tuple[str, ...]
    stepsize: float
    noise: float
    batch_size: int
    parametrisation: str
    time_unit: str = "iteration"


def _numba_kernel():
    """``(run, run_full)`` of :mod:`dln_verify.numeric._label_noise_jit`, or None without
    numba (the numpy loops are used)."""
    module, _ = compiled_module("dln_verify.numeric._label_noise_jit")
    return None if module is None else (module.run, module.run_full)


def _numpy_full_steps(u, v, G, c, xi, gamma, squared, alive, diverged, acc, k0, burn,
                      blowup):
    """The reference full-batch loop: ``g̃ = Gβ − c − ξ`` (vectorised over runs), in place."""
    for k in range(xi.shape[0]):
        beta = u * u if squared else u * v
        g = beta @ G.T - c - xi[k]
        if squared:
            un, vn = u - 2.0 * gamma * u * g, v
            bn = un * un
        else:
            un, vn = u - gamma * v * g, v - gamma * u * g
            bn = un * vn
        with np.errstate(invalid="ignore", over="ignore"):
            ok = np.all(np.isfinite(bn) & (np.abs(bn) <= blowup), axis=1)
        bad = alive & ~ok
        diverged |= bad
        alive &= ok
        u[alive] = un[alive]
        if not squared:
            v[alive] = vn[alive]
        if k0 + k + 1 > burn:
            acc[alive] += (u * u if squared else u * v)[alive]


def _numpy_steps(u, v, X, y, eps, rows, gamma, delta, squared, alive, diverged, acc, k0, burn,
                 blowup):
    """The reference loop (vectorised over runs), in place."""
    S, B, b = rows.shape
    idx = np.arange(B)[:, None]
    for k in range(S):
        Xb = X[rows[k]]  # (B, b, d)
        beta = u * u if squared else u * v
        r = np.einsum("mqd,md->mq", Xb, beta) - y[rows[k]] - delta * eps[k][idx, rows[k]]
        g = np.einsum("mq,mqd->md", r, Xb) / b
        if squared:
            un, vn = u - 2.0 * gamma * u * g, v
            bn = un * un
        else:
            un, vn = u - gamma * v * g, v - gamma * u * g
            bn = un * vn
        with np.errstate(invalid="ignore", over="ignore"):
            ok = np.all(np.isfinite(bn) & (np.abs(bn) <= blowup), axis=1)
        bad = alive & ~ok
        diverged |= bad
        alive &= ok
        u[alive] = un[alive]
        if not squared:
            v[alive] = vn[alive]
        if k0 + k + 1 > burn:
            acc[alive] += (u * u if squared else u * v)[alive]


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def label_noise_gd(X, y, alpha, stepsize: float, noise: float, n_steps: int, burn_in: int, *,
                   parametrisation: str = "uv", batch_size: int | None = None, n_runs: int = 1,
                   seed: int = 0, n_record: int = 50, blowup: float = 1e8,
                   backend: str | None = None) -> LabelNoiseResult:
    """Run B label-noise (S)GD runs and their time averages after a burn-in.

    Pillaud-Vivien, Reygner & Flammarion (COLT 2022, arXiv:2206.09841): the time average
    converges to ``argmin ‖Xβ − y‖²/(2n) + Σ λ_j|β_j|`` with ``λ_j = γδ²H_jj/(2b)`` for
    ``u ⊙ v`` and to the non-negative Lasso with ``λ_j = γδ²H_jj/b`` for ``u ⊙ u``
    (``docs/theory/noise.md`` §3).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    alpha : float or array_like, shape (d,)
        Initialisation scale (> 0): ``u₀ = √2α, v₀ = 0`` (uv) or ``u₀ = α`` (uu).
    stepsize : float
        ``γ > 0``.
    noise : float
        Label-noise standard deviation ``δ ≥ 0``.
    n_steps : int
        Number of steps (≥ 1).
    burn_in : int
        Steps before the average starts (``0 ≤ burn_in < n_steps``).
    parametrisation : {"uv", "uu"}
    batch_size : int, optional
        Rows per step, drawn without replacement (``1 ≤ b ≤ n``; None: full batch ``b = n``).
    n_runs : int
        Independent runs (≥ 1).
    seed : int
        Seed of the noise and the batches (≥ 0).
    n_record : int
        Strided records after step 0 (≥ 1).
    blowup : float
        ``|β_j|`` beyond which a run is flagged as diverged (> 0).
    backend : {None, "numba", "numpy"}
        Compiled loop (default when numba imports) or numpy; the same iterates up to rounding.

    Returns
    -------
    LabelNoiseResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((4, 8)), rng.standard_normal(4)
    >>> res = label_noise_gd(X, y, 0.1, 0.05, 1.0, 2000, 1000, n_runs=3, seed=1)
    >>> res.average.shape, res.n_averaged, bool(res.diverged.any())
    ((3, 8), 1000, False)
    """
    X = as_finite_array(X, "X", ndim=2)
    y = as_finite_array(y, "y", ndim=1)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y must have length n = X.shape[0] = {n}, got {y.shape[0]}")
    alpha = check_alpha(alpha, d)
    gamma = check_positive(stepsize, "stepsize")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not (
            np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    n_steps = _check_int(n_steps, "n_steps", 1)
    burn_in = _check_int(burn_in, "burn_in", 0)
    if burn_in >= n_steps:
        raise ValueError(f"burn_in must be < n_steps = {n_steps}, got {burn_in}")
    if parametrisation not in ("uv", "uu"):
        raise ValueError(f"parametrisation must be 'uv' or 'uu', got {parametrisation!r}")
    b = n if batch_size is None else _check_int(batch_size, "batch_size", 1)
    if b > n:
        raise ValueError(f"batch_size must be <= n = {n}, got {b}")
    n_runs = _check_int(n_runs, "n_runs", 1)
    seed = check_seed(seed)
    n_record = _check_int(n_record, "n_record", 1)
    blowup = check_positive(blowup, "blowup")
    if backend not in (None, "numba", "numpy"):
        raise ValueError(f"backend must be None, 'numba' or 'numpy', got {backend!r}")
    squared = parametrisation == "uu"
    B = n_runs
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (d,))
    u = np.tile((1.0 if squared else np.sqrt(2.0)) * a, (B, 1))
    v = np.zeros((B, d)) if not squared else np.zeros((B, d))
    alive = np.ones(B, dtype=bool)
    diverged = np.zeros(B, dtype=bool)
    acc = np.zeros((B, d))
    rng = np.random.default_rng([seed, 0 if squared else 1])
    kernels = _numba_kernel() if backend != "numpy" else None
    full = b == n
    if full:
        # full batch: g̃ = Gβ − c − ξ with ξ = δXᵀε/n ~ N(0, δ²XᵀX/n²), drawn from min(n, d)
        # standard normals (ξ = δ Cz/n with XᵀX = CCᵀ when d < n); the same law as δXᵀε/n
        G = X.T @ X / n
        c = X.T @ y / n
        if d < n:
            F = np.linalg.cholesky(X.T @ X).T * (noise / n)  # (zF)ᵀ(zF) law: δ²XᵀX/n²
        else:
            F = X * (noise / n)
    marks = sorted(set(np.linspace(0, n_steps, n_record + 1).round().astype(int).tolist()) - {0})
    times, rec = [0], [(u * u if squared else u * v).copy()]
    k = 0
    for mark in marks:
        while k < mark:
            chunk = min(mark - k, _CHUNK)
            if full:
                z = rng.standard_normal((chunk, B, F.shape[0]))
                xi = np.ascontiguousarray(z @ F)
                if kernels is not None:
                    kernels[1](u, v, G, c, xi, gamma, squared, alive, diverged, acc, k,
                               burn_in, blowup)
                else:
                    _numpy_full_steps(u, v, G, c, xi, gamma, squared, alive, diverged, acc,
                                      k, burn_in, blowup)
                k += chunk
                continue
            eps = rng.standard_normal((chunk, B, n))
            rows = np.ascontiguousarray(
                np.argsort(rng.random((chunk, B, n)), axis=-1)[..., :b].astype(np.int64))
            if kernels is not None:
                kernels[0](u, v, X, y, eps, rows, gamma, float(noise), squared, alive, diverged,
                       acc, k, burn_in, blowup)
            else:
                _numpy_steps(u, v, X, y, eps, rows, gamma, float(noise), squared, alive,
                             diverged, acc, k, burn_in, blowup)
            k += chunk
        times.append(k)
        rec.append((u * u if squared else u * v).copy())
    n_avg = n_steps - burn_in
    final = u * u if squared else u * v
    msgs = tuple(f"diverged: |β| beyond {blowup:g} or non-finite" if dv else
                 f"averaged over {n_avg} iterates after a burn-in of {burn_in}"
                 for dv in diverged)
    return LabelNoiseResult(
        times=np.asarray(times), beta=np.stack(rec, axis=1), final_beta=final,
        average=acc / n_avg, n_averaged=n_avg, diverged=diverged, converged=~diverged,
        message=msgs, stepsize=gamma, noise=float(noise), batch_size=b,
        parametrisation=parametrisation)
