"""Claim ``gf-depth``: depth-D gradient flow (D ≥ 3) converges to the ``q_D``-potential
minimiser (Woodworth et al., COLT 2020, Theorem 2).

Convention (``docs/theory/conventions.md §0``): ``β = w₊^D − w₋^D`` with ``w±(0) = α𝟙``, loss
``‖Xβ − y‖²/(2n)``. The simulation integrates the raw depth-D ODE in ``w±``.
"""

from __future__ import annotations

import numpy as np

from dln_verify.numeric.convex import implicit_bias_solution
from dln_verify.numeric.flow import gradient_flow_depth
from dln_verify.numeric.instances import Instance, gaussian_regression
from dln_verify.verify.bibliography import WOODWORTH2020
from dln_verify.verify.checks import (
    SYMBOLIC_OPTIMALITY,
    combined_certificate,
    flow_failure,
    symbolic_optimality,
    verdict,
)
from dln_verify.verify.claim import (
    Claim,
    Comparison,
    FigureSpec,
    NegativeControl,
    Option,
    Prediction,
    Simulation,
    Tolerance,
)
from dln_verify.verify.compare import identity_scatter, relative_error
from dln_verify.verify.inputs import DATA_OPTIONS, alphas_option, regression_data

__all__ = ["GFDepth", "flow_horizon"]

#: shortest flow time a run is given; a run whose guaranteed rate is slower gets the longer
#: horizon of :func:`flow_horizon` (the integrator stops at the residual, so a longer horizon
#: costs nothing to a run that converges earlier)
FLOW_HORIZON = 4000.0
#: relative residual ``‖Xβ − y‖/‖y‖`` at which the raw ODE stops (gradient_flow_depth's default)
FLOW_TOL = 1e-10
#: supported --alpha range (w±(0) = α) at depth 3. Above it α = 1 stalls at a 1e-10 residual
#: floor of the raw depth-3 ODE in float64 (a step-budget stop, not a slow flow). Inside it the
#: flow provably reaches FLOW_TOL by t = flow_horizon(...) (5.7e5 at seed 0, α = 0.05), and in
#: fact converges long before (seed 0, α = 0.05: t ≈ 4.5e3, 3.9e4 evaluations; seeds 0–49:
#: t ≤ 1.5e4, 22 of them after t = 4000, ≤ 1.1e5 evaluations ≈ 9e3 of the MAX_STEPS = 2e5
#: steps), and the control stays at least 1e-5 away (measured at the ends)
ALPHA_RANGE = (0.05, 0.7)
#: supported --depth range. The flow's speed at the start is 2D² α^{2(D−1)} λ_min(XXᵀ)/n (the
#: guaranteed rate of :func:`flow_horizon`), so the α at which a run is cheap grows with D:
#: measured (seeds 0–2, n = 20, d = 50) at D = 4, α = 0.3 → t ≈ 420–520; D = 5, α = 0.2 →
#: still at residual 2e-6 at t = 4000 (outside the range); α ∈ [0.5, 0.8] converges at every
#: D ≤ 8 (D = 8, α = 0.5: t ≈ 600–730, ~6e4 evaluations, the most of this range). D > 8 was
#: not measured and is refused.
DEPTH_RANGE = (3, 8)
#: default α at depth D ≥ 4 (depth 3 keeps its [0.2, 0.5]) and the --alpha range there
DEEP_ALPHAS, DEEP_ALPHA_RANGE = (0.5, 0.7), (0.5, 0.8)
#: the default depth (today's results are those of depth 3)
DEFAULT_DEPTH = 3


def check_depth(depth) -> int:
    """``depth`` as an int in :data:`DEPTH_RANGE` (ValueError naming ``--depth`` otherwise).

    Examples
    --------
    >>> check_depth(4)
    4
    >>> try:
    ...     check_depth(2)
    ... except ValueError as exc:
    ...     print(str(exc)[:36])
    --depth must be an integer in [3, 8]
    """
    lo, hi = DEPTH_RANGE
    integral = (isinstance(depth, int | np.integer) and not isinstance(depth, bool | np.bool_))
    if not integral or not lo <= depth <= hi:
        raise ValueError(f"--depth must be an integer in [{lo}, {hi}] (the depths at which "
                         f"the raw depth-D ODE was measured to reach the claim's "
                         f"{FLOW_TOL:g} residual), got {depth!r}")
    return int(depth)


def flow_horizon(X, alpha, depth: int, lam_min: float | None = None) -> float:
    r"""A flow time by which the depth-D flow of :func:`gradient_flow_depth` has provably
    reached the relative residual ``FLOW_TOL``, never below ``FLOW_HORIZON``.

    Derivation, in the conventions that :func:`~dln_verify.numeric.flow.gradient_flow_depth`
    integrates: ``β = w₊^D − w₋^D``, ``w±(0) = α`` (α itself, not α^D or α^{1/D}),
    ``ẇ₊ = −D w₊^{D−1} ⊙ g``, ``ẇ₋ = +D w₋^{D−1} ⊙ g``, ``g = Xᵀr/n``, ``r = Xβ − y`` (gradient
    flow on ``L = ‖r‖²/(2n)``).

    1. ``β̇ = D w₊^{D−1} ẇ₊ − D w₋^{D−1} ẇ₋ = −D² m ⊙ Xᵀr/n`` with
       ``m = w₊^{2(D−1)} + w₋^{2(D−1)}``.
    2. ``d(w₊^{2−D})/dt = (2−D) w₊^{1−D} ẇ₊ = D(D−2) g`` and ``d(w₋^{2−D})/dt = −D(D−2) g``, so
       ``a₊ + a₋ = 2α^{2−D}`` with ``a± = w±^{2−D} > 0`` is conserved for ``D ≥ 3`` (the
       weights stay positive: ``w± = 0`` is an equilibrium of each coordinate). For ``D = 2``
       the product ``w₊w₋ = α²`` is conserved instead.
    3. ``m = f(a₊) + f(a₋)`` with ``f(a) = a^{−2(D−1)/(D−2)}`` convex on ``a > 0``, so by
       Jensen ``m ≥ 2 f(α^{2−D}) = 2α^{2(D−1)}`` coordinatewise, with equality at ``t = 0``
       (``D = 2``: ``m ≥ 2w₊w₋ = 2α²``, the same formula). With vector α, the smallest α.
    4. ``d‖r‖²/dt = 2rᵀXβ̇ = −(2D²/n) rᵀX diag(m) Xᵀr ≤ −(4D²α^{2(D−1)}/n) λ_min(XXᵀ) ‖r‖²``,
       hence ``‖r(t)‖ ≤ ‖r₀‖ exp(−c t)`` with ``c = 2D² α^{2(D−1)} λ_min(XXᵀ)/n``; and
       ``r₀ = −y`` since ``β(0) = α^D − α^D = 0``.
    5. The residual ``‖r‖/‖y‖`` is therefore ``≤ FLOW_TOL`` by
       ``t = n ln(1/FLOW_TOL) / (2D² α^{2(D−1)} λ_min(XXᵀ))``.

    The constant is sharp at ``t = 0`` (when ``y`` is a bottom eigenvector of ``XXᵀ``); later
    the weights grow and the flow is much faster (seed 0, α = 0.05, D = 3: bound 5.7e5,
    converged at t ≈ 4.5e3). The integrator stops as soon as the residual is reached, so a
    long horizon costs nothing to a run that converges earlier. ``lam_min`` is
    ``λ_min(XXᵀ)`` if the caller has it (one eigendecomposition per design, not one per run);
    a design without full row rank (``λ_min ≤ 0``: no guaranteed rate) gets ``FLOW_HORIZON``.

    Examples
    --------
    >>> import numpy as np
    >>> round(flow_horizon(np.eye(2), 0.1, 3), 1)  # 2 ln(1e10) / (2 · 9 · 1e-4 · 1)
    25584.3
    >>> flow_horizon(np.eye(2), 0.5, 3)  # 41 time units suffice; never below FLOW_HORIZON
    4000.0
    """
    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    D = int(depth)
    if lam_min is None:
        lam_min = float(np.linalg.eigvalsh(X @ X.T)[0])
    a = float(np.min(np.asarray(alpha, dtype=float)))
    rate = 2.0 * D**2 * a ** (2 * (D - 1)) * lam_min / n
    if not (lam_min > 0 and a > 0 and rate > 0):
        return FLOW_HORIZON
    return float(max(FLOW_HORIZON, np.log(1.0 / FLOW_TOL) / rate))


class GFDepth(Claim):
    """Depth-D gradient flow (D ≥ 3) converges to the minimiser of the ``q_D`` potential.

    Theorem (Woodworth et al. 2020, Thm 2): for ``β = w₊^D − w₋^D`` from ``w± = α𝟙``, a
    converging gradient flow reaches ``argmin_{Xβ=y} α^D Σ q_D(β_i/α^D)`` with
    ``q_D = ∫₀ h_D^{-1}`` and ``h_D(s) = (1 − (D−2)s)^{−D/(D−2)} − (1 + (D−2)s)^{−D/(D−2)}``.
    """

    id = "gf-depth"
    title = "Depth-D gradient flow limit = q_D-potential minimiser"
    reference = WOODWORTH2020
    kind = "tight"
    statement = r"""
For $\beta = w_+^D - w_-^D$ ($D\ge 3$) with $w_\pm(0) = \alpha\mathbb 1$, a converging gradient
flow reaches $\arg\min_{X\beta=y} \alpha^D\sum_i q_D(\beta_i/\alpha^D)$ where
$q_D = \int_0^z h_D^{-1}$ and
$h_D(s) = (1-(D-2)s)^{-D/(D-2)} - (1+(D-2)s)^{-D/(D-2)}$ on $|s| < 1/(D-2)$.
"""
    tolerances = (
        Tolerance("max_relative_error", "<=", 1e-7,
                  "DOP853 at rtol 1e-12 on the raw depth-D ODE and a dual Newton prediction "
                  "with KKT residual ~1e-14; measured <= 1.2e-11 "
                  "(docs/theory/regression.md §1.2)"),
        Tolerance("max_flow_residual", "<=", 1e-9,
                  "the flow must have reached the interpolating set (10x the integrator's "
                  "stopping residual 1e-10)"),
        SYMBOLIC_OPTIMALITY,
    )
    tolerance_note = (
        "Both sides are accurate to ~1e-10, so the tolerance is set by the integrator, not by "
        "the theorem (exact). The depth-2 potential at the same α misses by 2e-3…0.3 "
        "(docs/theory/regression.md §1.2)."
    )

    options = {**DATA_OPTIONS,
               "depth": Option("depth", f"network depth D of β = w₊^D − w₋^D, an integer in "
                               f"[{DEPTH_RANGE[0]}, {DEPTH_RANGE[1]}] (default "
                               f"{DEFAULT_DEPTH}; --alpha in [{ALPHA_RANGE[0]:g}, "
                               f"{ALPHA_RANGE[1]:g}] at D = 3, [{DEEP_ALPHA_RANGE[0]:g}, "
                               f"{DEEP_ALPHA_RANGE[1]:g}] above)", "int", "D")}

    def default_instance(self, seed=0, profile="quick", data=None, alpha=None,
                         depth=DEFAULT_DEPTH):
        depth = check_depth(depth)
        X, y, name = regression_data(seed, 20, 50, data)
        if depth == 3:
            # α = 1 stalls at a 1e-10 residual floor of the raw depth-3 ODE in float64; as
            # measured in docs/theory/regression.md §1.2, α ∈ [0.05, 0.5] converge in
            # O(10-1000) time units.
            alphas = alphas_option(alpha, [0.2, 0.5] if profile == "quick" else [0.05, 0.2, 0.5],
                                   *ALPHA_RANGE, "w±(0) = alpha, depth 3")
        else:  # slower start ~α^{2(D−1)}: larger α (DEPTH_RANGE)
            alphas = alphas_option(alpha, list(DEEP_ALPHAS), *DEEP_ALPHA_RANGE,
                                   f"w±(0) = alpha, depth {depth}")
        return Instance(X, y, seed, {"depth": depth, "alpha": alphas}, name=name)

    def instances(self):
        from hypothesis import strategies as st

        @st.composite
        def draw(draw_):
            seed = draw_(st.integers(0, 10_000))
            n = draw_(st.integers(4, 12))
            d = draw_(st.integers(n + 4, 30))
            depth = draw_(st.sampled_from([3, 4]))
            alpha = draw_(st.floats(0.2, 0.7) if depth == 3 else st.floats(*DEEP_ALPHA_RANGE))
            X, y = gaussian_regression(n, d, seed)
            return Instance(X, y, seed, {"depth": depth, "alpha": [alpha]},
                            name="hypothesis: gaussian X, generic y")

        return draw()

    def _prediction(self, instance, depth, label):
        sols = []
        for a in instance.params["alpha"]:
            if depth == 2:
                # The depth-2 analogue of w±(0) = α is u₀ = 2α, v₀ = 0: ψ at √2α.
                sols.append(implicit_bias_solution(instance.X, instance.y, np.sqrt(2.0) * a))
            else:
                sols.append(implicit_bias_solution(instance.X, instance.y, a, depth=depth))
        return Prediction(label, {"beta": [s.beta for s in sols]},
                          combined_certificate(s.certificate for s in sols))

    def predict(self, instance):
        depth = int(instance.params["depth"])
        return self._prediction(instance, depth, f"argmin α^D Σ q_D, D = {depth}")

    def simulate(self, instance):
        depth = int(instance.params["depth"])
        X, y = instance.X, instance.y
        lam_min = float(np.linalg.eigvalsh(X @ X.T)[0])
        # t_max: the provable horizon (flow_horizon); the step cap MAX_STEPS is the solver-unit
        # budget, and a run stopped by it says so in its message (inconclusive)
        runs = [gradient_flow_depth(X, y, a, depth, t_max=flow_horizon(X, a, depth, lam_min),
                                    tol=FLOW_TOL)
                for a in instance.params["alpha"]]
        failure = flow_failure(runs)
        if failure:
            return failure
        return Simulation({"beta": [r.final_beta for r in runs]},
                          info={"residuals": [r.residual for r in runs]})

    def compare(self, instance, prediction, simulation):
        errs = [relative_error(s, p) for s, p in
                zip(simulation.values["beta"], prediction.values["beta"], strict=True)]
        residual = max(simulation.info["residuals"])
        metrics = {"max_relative_error": max(errs), "max_flow_residual": residual}
        metrics.update({f"relative_error_alpha={a:g}": e
                        for a, e in zip(instance.params["alpha"], errs, strict=True)})
        depth = int(instance.params["depth"])
        metrics.update(symbolic_optimality(instance.X, instance.y, prediction.values["beta"],
                                           instance.params["alpha"], depth=depth))
        passed, metric, _ = verdict(
            {"limit": (self.tol("max_relative_error").holds(max(errs)), "max_relative_error"),
             "converged": (self.tol("max_flow_residual").holds(residual), "max_flow_residual"),
             "symbolic": (self.tol("symbolic_optimality_ratio").holds(
                 metrics["symbolic_optimality_ratio"]), "symbolic_optimality_ratio")},
            "max_relative_error")
        return Comparison(passed, metric, metrics,
                          message=f"max relative error {max(errs):.2e} (tolerance "
                          f"{self.tol('max_relative_error').display}), flow residual "
                          f"{residual:.1e}")

    def negative_controls(self, instance, prediction, simulation):
        return [NegativeControl(
            "depth-2-potential",
            "the depth-2 hyperbolic entropy ψ_{√2α} (the limit of w₊² − w₋² from w±(0) = α) "
            "in place of q_D",
            self._prediction(instance, 2, "depth-2 potential"),
        )]

    def figures(self, instance, prediction, simulation, comparison):
        pred = np.concatenate(prediction.values["beta"])
        sim = np.concatenate(simulation.values["beta"])
        return [FigureSpec("scatter", f"Depth-{instance.params['depth']} flow limit vs q_D "
                           "prediction", "predicted β_i", "gradient-flow β_i",
                           identity_scatter(pred, sim, "coordinates, all α"),
                           caption="Raw depth-D ODE limit against the q_D minimiser.")]
