"""Empirical divergence threshold of (S)GD on ``β = u ⊙ v``, by bracketing and bisection.

Even, Pesme, Gunasekar & Flammarion, NeurIPS 2023 (arXiv:2302.08982) state their results for
stepsizes "up to the divergence threshold"; that threshold has no closed form for the ``u ⊙ v``
parametrisation (it depends on the data and on the whole trajectory, not only on the sharpness
at initialisation), so the claims find it empirically: the largest stepsize γ at which
:func:`dln_verify.numeric.gd.gradient_descent` does **not** flag divergence within its step
budget (``docs/theory/discrete.md`` §4).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace

import numpy as np

from dln_verify.numeric.gd import gradient_descent
from dln_verify.numeric.sharpness import sharpness_uv
from dln_verify.numeric.validation import check_positive, check_regression_data

__all__ = ["StepsizeThreshold", "divergence_threshold"]


@dataclass(frozen=True)
class StepsizeThreshold:
    """Bracket ``gamma_max < γ* ≤ gamma_diverge`` of the divergence threshold γ*.

    Attributes
    ----------
    gamma_max : float
        Largest stepsize tried that did not diverge (by the search's criterion: with the
        default ``"converged"``, a stepsize whose run converged).
    gamma_diverge : float
        Smallest stepsize tried above ``gamma_max`` that diverged (``gamma_max < gamma_diverge``).
    bisections : int
        Refinement rounds spent after the bracket was found.
    start : float
        The first stepsize tried, ``2 / S(w₀)``.
    trials : int
        Stepsizes tried in all (each one a (S)GD run of at most ``n_steps`` steps).
    message : str
        How the search ended (bracket width reached, or bisection budget spent).
    """

    gamma_max: float
    gamma_diverge: float
    bisections: int
    start: float
    trials: int
    message: str

    @property
    def relative_width(self) -> float:
        """``(gamma_diverge − gamma_max) / gamma_max``."""
        return (self.gamma_diverge - self.gamma_max) / self.gamma_max

    def lowered_to(self, gamma_diverged: float, rtol: float) -> StepsizeThreshold:
        """The bracket after a run at ``gamma_diverged`` (≤ :attr:`gamma_diverge`) diverged.

        The divergence flag is not monotone in γ (``docs/theory/discrete.md`` §4): a checked run
        that diverges is one more trial above the threshold, so the bracket becomes
        ``[gamma_diverged·(1 − rtol), gamma_diverged]`` and the message says why.

        Examples
        --------
        >>> th = StepsizeThreshold(1.0, 1.02, 2, 0.5, 9, "bracket [1, 1.02]")
        >>> low = th.lowered_to(0.9, 0.02)
        >>> round(low.gamma_max, 6), low.gamma_diverge
        (0.882, 0.9)
        """
        gamma_diverged = float(gamma_diverged)
        return replace(self, gamma_max=gamma_diverged * (1.0 - rtol),
                       gamma_diverge=gamma_diverged,
                       message=f"{self.message}; lowered to {gamma_diverged:.6g} (a checked run "
                       f"at that γ diverged)")


def _int_at_least(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def divergence_threshold(
    X,
    y,
    u0,
    v0,
    *,
    batch_size: int | None = None,
    rng=None,
    n_steps: int = 20_000,
    tol: float = 1e-8,
    rtol: float = 1e-3,
    max_bisections: int = 12,
    probes: int = 3,
    max_bracket_steps: int = 60,
    criterion: str = "converged",
    max_budget_factor: float = 64.0,
) -> StepsizeThreshold:
    """Bracket and bisect the (S)GD divergence threshold γ* on ``β = u ⊙ v``.

    With ``criterion="converged"`` (default) a stepsize *diverges* when its run does not
    converge: :func:`~dln_verify.numeric.gd.gradient_descent` flags a blow-up (non-finite iterate
    or loss > 1e10 × initial loss) **or** spends ``n_steps`` steps without reaching
    ``‖Xβ − y‖/‖y‖ ≤ tol``; with ``criterion="blowup"`` only the blow-up flag counts. Just below
    the blow-up threshold GD can oscillate for a very long time without converging (and blow up
    later), so "no blow-up within the budget" is not a stepsize at which the theorem's limit
    exists; the default criterion is (``docs/theory/discrete.md`` §4).

    The search starts at ``γ₀ = 2 / S(w₀)``, ``S(w₀)`` the sharpness of the
    loss in ``(u, v)`` at the initialisation (:func:`~dln_verify.numeric.sharpness.sharpness_uv`;
    the classical stability bound at ``w₀``, which the ``u ⊙ v`` dynamics can exceed because the
    sharpness falls along the run). It doubles γ until a run diverges and halves it until one
    does not (``max_bracket_steps`` each at most), then refines: each round runs ``probes``
    stepsizes spaced evenly inside the bracket as one batch of (S)GD runs and keeps the smallest
    sub-bracket with a non-diverged left end and a diverged right end, so one round shrinks the
    bracket by ``probes + 1``. A trial at ``γ < γ₀`` gets the budget
    ``n_steps · min(γ₀/γ, max_budget_factor)`` steps: the number of steps to converge scales
    like ``1/γ`` (a time ``t = γk``), so a small stepsize is not mistaken for an unstable one
    merely because it is slow (SGD with batch 1, say).
    It stops when ``(γ_div − γ_max)/γ_max ≤ rtol`` or after
    ``max_bisections`` rounds (a bound in runs, never in wall-clock time). The divergence flag
    need not be monotone in γ; the result is a bracket of *one* transition (the first found from
    below inside the doubled bracket).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    u0, v0 : array_like, shape (d,)
        Initialisation (e.g. :func:`dln_verify.numeric.parametrisations.uv_init`).
    batch_size : int, optional
        SGD batch size (None: full-batch GD).
    rng : int or numpy.random.Generator, optional
        Seed of the SGD batches. Every trial uses a fresh generator spawned from the same seed
        state, so every stepsize sees the same batch sequence (None: seed 0).
    n_steps : int
        Step budget of every trial run (≥ 1).
    tol : float
        A trial run that reaches ``‖Xβ − y‖/‖y‖ ≤ tol`` stops early (it did not diverge).
    rtol : float
        Target relative bracket width (> 0).
    max_bisections : int
        Budget of refinement rounds (≥ 0).
    probes : int
        Stepsizes per refinement round, run as one batch (≥ 1; 1 is plain bisection).
    max_bracket_steps : int
        Budget of doublings/halvings while bracketing (≥ 1).
    criterion : {"converged", "blowup"}
        What counts as divergence (see above).
    max_budget_factor : float
        Cap (≥ 1) on the growth ``γ₀/γ`` of the step budget of small stepsizes.

    Returns
    -------
    StepsizeThreshold

    Raises
    ------
    ValueError
        Naming the parameter, for invalid inputs, or when no bracket is found within
        ``max_bracket_steps`` doublings/halvings.

    Examples
    --------
    >>> import numpy as np
    >>> from dln_verify.numeric.parametrisations import uv_init
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((4, 8)), rng.standard_normal(4)
    >>> th = divergence_threshold(X, y, *uv_init(0.1, 8), n_steps=2000, rtol=1e-2)
    >>> bool(0 < th.gamma_max < th.gamma_diverge <= th.gamma_max * 1.01)
    True
    """
    X, y = check_regression_data(X, y, require_underdetermined=False)
    n_steps = _int_at_least(n_steps, "n_steps", 1)
    max_bisections = _int_at_least(max_bisections, "max_bisections", 0)
    probes = _int_at_least(probes, "probes", 1)
    max_bracket_steps = _int_at_least(max_bracket_steps, "max_bracket_steps", 1)
    tol = check_positive(tol, "tol")
    rtol = check_positive(rtol, "rtol")
    max_budget_factor = check_positive(max_budget_factor, "max_budget_factor")
    if max_budget_factor < 1:
        raise ValueError(f"max_budget_factor must be >= 1, got {max_budget_factor!r}")
    if criterion not in ("converged", "blowup"):
        raise ValueError(f"criterion must be 'converged' or 'blowup', got {criterion!r}")
    if batch_size is not None:
        _int_at_least(batch_size, "batch_size", 1)
    seed = 0 if rng is None else rng
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**63 - 1))
    elif isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"rng must be a non-negative int or a numpy.random.Generator, got {rng!r}")
    u0 = np.asarray(u0, dtype=np.float64)
    v0 = np.asarray(v0, dtype=np.float64)
    trials = 0

    def diverges(gams):
        nonlocal trials
        gams = np.asarray(gams, dtype=np.float64)
        trials += gams.size
        # one generator per run, all from the same seed: every stepsize sees the same batches
        gens = [np.random.default_rng(int(seed)) for _ in range(gams.size)]
        factor = min(max(start / float(np.min(gams)), 1.0), max_budget_factor)
        budget = int(np.ceil(n_steps * factor))
        res = gradient_descent(X, y, u0, v0, gams, budget, batch_size=batch_size, rng=gens,
                               tol=tol, record_every=budget)
        if criterion == "blowup":
            return np.asarray(res.diverged, dtype=bool)
        return ~np.asarray(res.converged, dtype=bool)

    S0 = sharpness_uv(X, y, u0, v0)
    start = 2.0 / S0 if S0 > 0 else 1.0
    lo, hi = None, None
    gam = start
    if diverges([gam])[0]:
        hi = gam
        for _ in range(max_bracket_steps):
            gam /= 2.0
            if not diverges([gam])[0]:
                lo = gam
                break
            hi = gam
    else:
        lo = gam
        for _ in range(max_bracket_steps):
            gam *= 2.0
            if diverges([gam])[0]:
                hi = gam
                break
            lo = gam
    if lo is None or hi is None:
        raise ValueError(
            f"no divergence bracket found within max_bracket_steps = {max_bracket_steps} "
            f"doublings/halvings from 2/S(w0) = {start:.4g}: increase max_bracket_steps"
        )
    rounds = 0
    while (hi - lo) / lo > rtol and rounds < max_bisections:
        grid = lo + (hi - lo) * np.arange(1, probes + 1) / (probes + 1)
        flags = diverges(grid)
        rounds += 1
        first = int(np.argmax(flags)) if np.any(flags) else probes
        new_lo = lo if first == 0 else float(grid[first - 1])
        new_hi = hi if first == probes else float(grid[first])
        lo, hi = new_lo, new_hi
    width = (hi - lo) / lo
    message = (
        f"bracket [{lo:.6g}, {hi:.6g}] (relative width {width:.2g} <= rtol = {rtol:g}) after "
        f"{rounds} rounds, {trials} trial runs of <= {n_steps} steps (x min(2/S(w0) / gamma, "
        f"{max_budget_factor:g}) below 2/S(w0))"
        if width <= rtol
        else f"bisection budget max_bisections = {max_bisections} spent: bracket [{lo:.6g}, "
        f"{hi:.6g}] (relative width {width:.2g} > rtol = {rtol:g}), {trials} trial runs"
    )
    return StepsizeThreshold(gamma_max=float(lo), gamma_diverge=float(hi), bisections=rounds,
                             start=float(start), trials=trials, message=message)
