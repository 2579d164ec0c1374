"""Stochastic gradient flow (SGF) of a diagonal linear network, by Euler–Maruyama.

Convention (``docs/theory/regression.md`` §0): ``β = u ⊙ v``, ``u₀ = √2 α``, ``v₀ = 0``,
``L(β) = ‖Xβ − y‖²/(2n)``, ``g = ∇L = Xᵀ(Xβ − y)/n``, ``H = XᵀX/n``. The SDE models batch-1
SGD with stepsize ``γ`` in the time ``t = γk`` (Pesme, Pillaud-Vivien & Flammarion, NeurIPS
2021, arXiv:2106.09524; ``docs/theory/noise.md`` §1):

.. math::

    du = -v ⊙ g\\,dt + v ⊙ dξ, \\qquad dv = -u ⊙ g\\,dt + u ⊙ dξ, \\qquad
    dξ = \\sqrt{2γ L(β)/n}\\; Xᵀ dB_t,

with ``B`` a Brownian motion in ``R^n`` (so ``dξ`` has covariance ``2γL H dt``: the SGD noise
covariance with each squared residual replaced by their mean ``2L``). Itô's formula gives the
exact invariant ``(u² − v²)/2 = α² exp(−2γ diag(H) ∫₀ᵗ L ds)``.

The simulator runs a batch of Brownian paths at once (seeded), with per-path divergence flags,
the running ``∫L dt`` and ``∫L² dt`` (left-point sums, the Itô integrals the scheme itself
uses), the final state and a strided record only (no stored trajectory beyond it). Two runs
with the same seed and ``h·refine`` equal use the same Brownian path: a run with ``refine = f``
draws ``f`` standard increments of the fine grid ``h/f`` per step and sums them, so runs at
``h, h/2, h/4, …`` are coupled pathwise (for strong-order checks).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from dln_verify.numeric.validation import as_finite_array, check_alpha, check_positive, check_seed

__all__ = ["SGFResult", "sgf_euler_maruyama", "sgf_alpha_inf"]


@dataclass(frozen=True)
class SGFResult:
    """A batch of Euler–Maruyama paths of the SGF (path axis first).

    Attributes
    ----------
    times : ndarray, shape (K,)
        Recorded times (``time_unit = "sgf time t = γk"``).
    beta : ndarray, shape (M, K, d)
        ``u ⊙ v`` at the recorded times.
    log_invariant_defect : ndarray, shape (M, K, d)
        ``ln((u² − v²)/2) − ln(α² e^{−2γ H_jj ∫L})`` at the recorded times (0 for the exact SDE).
    int_loss_path : ndarray, shape (M, K)
        ``∫₀ᵗ L ds`` at the recorded times.
    final_beta, u, v : ndarray, shape (M, d)
    int_loss, int_loss_sq : ndarray, shape (M,)
        ``∫₀ᵀ L dt`` and ``∫₀ᵀ L² dt`` (left-point sums on the grid).
    int_grad_sq : ndarray, shape (M, d)
        ``∫₀ᵀ g_j² dt`` (left-point sums), which bounds the scheme's deterministic defect.
    final_loss : ndarray, shape (M,)
    residual : ndarray, shape (M,)
        ``‖Xβ_T − y‖/‖y‖``.
    diverged : ndarray of bool, shape (M,)
        Non-finite state, ``u² − v² ≤ 0`` or ``u ± v`` changing sign (the scheme left the
        SDE's state space); the path is frozen at its last valid state.
    converged : ndarray of bool, shape (M,)
        ``residual ≤ tol`` at the final time.
    message : tuple of str
    h, stepsize, steps : float, float, int
    time_unit : str
    """

    times: np.ndarray
    beta: np.ndarray
    log_invariant_defect: np.ndarray
    int_loss_path: np.ndarray
    final_beta: np.ndarray
    u: np.ndarray
    v: np.ndarray
    int_loss: np.ndarray
    int_loss_sq: np.ndarray
    int_grad_sq: np.ndarray
    final_loss: np.ndarray
    residual: np.ndarray
    diverged: np.ndarray
    converged: np.ndarray
    message: tuple[str, ...]
    h: float
    stepsize: float
    steps: int
    time_unit: str = "sgf time t = γk"


def sgf_alpha_inf(X, alpha, stepsize: float, int_loss, constant: float = 1.0) -> np.ndarray:
    """``α∞ = α ⊙ exp(−c γ diag(XᵀX/n) ∫L)`` per path (``c = constant``; the theorem: 1).

    Examples
    --------
    >>> import numpy as np
    >>> sgf_alpha_inf(np.eye(2), 0.1, 0.5, [0.0, 2.0]).round(4).tolist()
    [[0.1, 0.1], [0.0607, 0.0607]]
    """
    X = as_finite_array(X, "X", ndim=2)
    diag = np.sum(X**2, axis=0) / X.shape[0]
    il = np.atleast_1d(np.asarray(int_loss, dtype=np.float64))
    return np.asarray(alpha, dtype=np.float64) * np.exp(
        -constant * stepsize * diag[None, :] * il[:, None])


#: Brownian increments drawn per chunk (bounded memory; the stream does not depend on it)
_CHUNK = 2048


def _numpy_steps(u, v, X, y, dB, h, gamma, alive, diverged, int_l, int_l2, int_g2):
    """The reference step loop (vectorised over paths), in place."""
    n = X.shape[0]
    for k in range(dB.shape[0]):
        r = (u * v) @ X.T - y
        loss = np.einsum("ij,ij->i", r, r) / (2 * n)
        g = r @ X / n
        xi = np.sqrt(2.0 * gamma * loss / n)[:, None] * (dB[k] @ X)
        step = xi - h * g
        u_new = u + v * step
        v_new = v + u * step
        with np.errstate(invalid="ignore", over="ignore"):
            ok = (np.all(np.isfinite(u_new) & np.isfinite(v_new), axis=1)
                  & np.all((u_new + v_new) * (u + v) > 0, axis=1)
                  & np.all((u_new - v_new) * (u - v) > 0, axis=1))
        bad = alive & ~ok
        diverged |= bad
        alive &= ok
        int_l += np.where(alive, h * loss, 0.0)
        int_l2 += np.where(alive, h * loss**2, 0.0)
        int_g2 += np.where(alive[:, None], h * g**2, 0.0)
        u[alive] = u_new[alive]
        v[alive] = v_new[alive]


_KERNEL = None


def _numba_kernel():
    """The compiled step loop (None when numba is unavailable: the numpy loop is used)."""
    global _KERNEL
    if _KERNEL is not None:
        return _KERNEL or None
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is installed with the package
        _KERNEL = False
        return None

    @numba.njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
    def run(u, v, X, y, dB, h, gamma, alive, diverged, int_l, int_l2, int_g2):
        S, M, n = dB.shape
        d = X.shape[1]
        r = np.empty(n)
        g = np.empty(d)
        xi = np.empty(d)
        un = np.empty(d)
        vn = np.empty(d)
        for k in range(S):
            for m in range(M):
                if not alive[m]:
                    continue
                loss = 0.0
                for i in range(n):
                    acc = -y[i]
                    for j in range(d):
                        acc += X[i, j] * u[m, j] * v[m, j]
                    r[i] = acc
                    loss += acc * acc
                loss /= 2.0 * n
                scale = np.sqrt(2.0 * gamma * loss / n)
                for j in range(d):
                    gj = 0.0
                    xj = 0.0
                    for i in range(n):
                        gj += r[i] * X[i, j]
                        xj += dB[k, m, i] * X[i, j]
                    g[j] = gj / n
                    xi[j] = scale * xj
                ok = True
                for j in range(d):
                    st = xi[j] - h * g[j]
                    un[j] = u[m, j] + v[m, j] * st
                    vn[j] = v[m, j] + u[m, j] * st
                    so = u[m, j] + v[m, j]
                    do = u[m, j] - v[m, j]
                    sn = un[j] + vn[j]
                    dn = un[j] - vn[j]
                    if not (np.isfinite(un[j]) and np.isfinite(vn[j]) and sn * so > 0.0
                            and dn * do > 0.0):
                        ok = False
                if not ok:
                    alive[m] = False
                    diverged[m] = True
                    continue
                int_l[m] += h * loss
                int_l2[m] += h * loss * loss
                for j in range(d):
                    int_g2[m, j] += h * g[j] * g[j]
                    u[m, j] = un[j]
                    v[m, j] = vn[j]

    _KERNEL = run
    return run


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def sgf_euler_maruyama(X, y, alpha, stepsize: float, h: float, t_max: float, n_paths: int,
                       *, seed: int = 0, refine: int = 1, n_record: int = 50,
                       tol: float = 1e-6, backend: str | None = None) -> SGFResult:
    """Euler–Maruyama paths of the stochastic gradient flow of Pesme et al. (NeurIPS 2021).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    alpha : float or array_like, shape (d,)
        Initialisation ``u₀ = √2 α``, ``v₀ = 0`` (α > 0).
    stepsize : float
        The SGD stepsize ``γ > 0`` the SDE models (noise scale ``√γ``).
    h : float
        Euler–Maruyama step in SGF time (> 0).
    t_max : float
        Horizon (> 0); ``round(t_max/h)`` steps.
    n_paths : int
        Number of Brownian paths (≥ 1).
    seed : int
        Seed of the Brownian increments (≥ 0).
    refine : int
        Draw ``refine`` increments of the grid ``h/refine`` per step and sum them (≥ 1): runs
        with equal seed and ``h/refine`` share their Brownian paths.
    n_record : int
        Number of strided records after time 0 (≥ 1).
    tol : float
        ``converged`` means ``‖Xβ_T − y‖/‖y‖ ≤ tol``.
    backend : {None, "numba", "numpy"}
        Step loop: compiled (default when numba imports) or numpy; the same iterates up to
        rounding.

    Returns
    -------
    SGFResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((3, 6)), rng.standard_normal(3)
    >>> r = sgf_euler_maruyama(X, y, 0.3, 0.05, 1e-3, 5.0, 4, seed=1, n_record=5)
    >>> r.final_beta.shape, bool(r.diverged.any()), r.beta.shape
    ((4, 6), False, (4, 6, 6))
    >>> bool(np.max(np.abs(r.log_invariant_defect)) < 0.02)
    True
    """
    X = as_finite_array(X, "X", ndim=2)
    y = as_finite_array(y, "y", ndim=1)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y must have length n = X.shape[0] = {n}, got {y.shape[0]}")
    alpha = check_alpha(alpha, d)
    gamma = check_positive(stepsize, "stepsize")
    h = check_positive(h, "h")
    t_max = check_positive(t_max, "t_max")
    n_paths = _check_int(n_paths, "n_paths", 1)
    seed = check_seed(seed)
    refine = _check_int(refine, "refine", 1)
    n_record = _check_int(n_record, "n_record", 1)
    tol = check_positive(tol, "tol")
    steps = max(1, int(round(t_max / h)))
    if steps > 50_000_000:
        raise ValueError(f"t_max/h = {steps} steps is beyond the supported 5e7")
    rng = np.random.default_rng(seed)
    M = n_paths
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (d,))
    u = np.tile(np.sqrt(2.0) * a, (M, 1))
    v = np.zeros((M, d))
    diagH = np.sum(X**2, axis=0) / n
    log_a2 = 2.0 * np.log(a)
    int_l = np.zeros(M)
    int_l2 = np.zeros(M)
    int_g2 = np.zeros((M, d))
    alive = np.ones(M, dtype=bool)
    diverged = np.zeros(M, dtype=bool)
    record_at = set(np.unique(np.linspace(0, steps, n_record + 1).round().astype(int)).tolist())
    rec_times, rec_beta, rec_def, rec_il = [], [], [], []
    sq = np.sqrt(h / refine)
    if backend not in (None, "numba", "numpy"):
        raise ValueError(f"backend must be None, 'numba' or 'numpy', got {backend!r}")

    def record(k):
        rec_times.append(k * h)
        rec_beta.append(u * v)
        rec_il.append(int_l.copy())
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.log(np.abs(u**2 - v**2) / 2.0)
        rec_def.append(inv - (log_a2[None, :] - 2.0 * gamma * diagH[None, :] * int_l[:, None]))

    record(0)
    kernel = _numba_kernel() if backend != "numpy" else None
    marks = sorted(record_at - {0})
    k = 0
    for mark in marks:
        while k < mark:
            chunk = min(mark - k, _CHUNK)
            dB = rng.standard_normal((chunk, refine, M, n))
            dB = (dB[:, 0] if refine == 1 else dB.sum(axis=1)) * sq
            if kernel is not None:
                kernel(u, v, X, y, np.ascontiguousarray(dB), h, gamma, alive, diverged,
                       int_l, int_l2, int_g2)
            else:
                _numpy_steps(u, v, X, y, dB, h, gamma, alive, diverged, int_l, int_l2, int_g2)
            k += chunk
        record(k)
    beta = u * v
    r = beta @ X.T - y
    final_loss = np.einsum("ij,ij->i", r, r) / (2 * n)
    residual = np.linalg.norm(r, axis=1) / np.linalg.norm(y)
    converged = (residual <= tol) & ~diverged
    msgs = tuple(
        "diverged: the Euler–Maruyama step left the state space (u ± v changed sign or "
        "non-finite)" if dv else
        (f"converged: residual {res:.2e} <= {tol:g} at t = {steps * h:g}" if cv else
         f"not converged: residual {res:.2e} > {tol:g} at t = {steps * h:g} "
         f"({steps} steps spent)")
        for dv, cv, res in zip(diverged, converged, residual, strict=True))
    return SGFResult(
        times=np.asarray(rec_times), beta=np.stack(rec_beta, axis=1),
        log_invariant_defect=np.stack(rec_def, axis=1), int_loss_path=np.stack(rec_il, axis=1),
        final_beta=beta, u=u, v=v,
        int_loss=int_l, int_loss_sq=int_l2, int_grad_sq=int_g2, final_loss=final_loss,
        residual=residual,
        diverged=diverged, converged=converged, message=msgs, h=h, stepsize=gamma, steps=steps)
