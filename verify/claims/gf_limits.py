"""Claim ``gf-limits``: the kernel (α → ∞, min-ℓ2 at rate α⁻⁴) and rich (α → 0, min-ℓ1)
limits of the gradient-flow solution (Woodworth et al., COLT 2020, Theorem 1 and its limits).

Convention (``docs/theory/conventions.md §0``): ``β = u ⊙ v``, ``u₀ = √2 α``, ``v₀ = 0``; loss
``‖Xβ − y‖²/(2n)``. Every α in this claim's output is this α
(``docs/theory/conventions.md §2.5``); the default grids are Woodworth's
``w±(0) ∈ {1, 2, 4, 8}`` and ``{1e-1, …, 1e-4}`` written as ``α = √2·w±(0)``.
"""

from __future__ import annotations

import numpy as np

from dln_verify.numeric.convex import min_l1_interpolator, min_l2_interpolator
from dln_verify.numeric.flow import gradient_flow_dual
from dln_verify.numeric.instances import (
    Instance,
    as_generator,
    gaussian_regression,
    sparse_regression,
)
from dln_verify.verify.bibliography import WOODWORTH2020
from dln_verify.verify.checks import flow_failure, slope_in_band, verdict
from dln_verify.verify.claim import (
    Claim,
    Comparison,
    FigureSpec,
    NegativeControl,
    Prediction,
    Series,
    Simulation,
    Tolerance,
)
from dln_verify.verify.compare import loglog_slope, relative_error
from dln_verify.verify.inputs import DATA_OPTION, regression_data

__all__ = ["GFLimits"]

#: float slack of the rich-regime monotonicity checks: the ℓ1 excess may not be negative by more
#: than the flows' accuracy (β_ℓ1 is the ℓ1 minimum) nor increase by more than rounding
EXCESS_FLOOR, EXCESS_SLACK = -1e-9, 1e-12
#: a coordinate of the ℓ1 solution is in its support if |β_i| > SUPPORT_TOL · max|β| (HiGHS
#: solves the LP to 1e-10, far below; the planted entries are ±1)
SUPPORT_TOL = 1e-7
#: the rate theory needs a strict dual certificate (δ' > 0); below this margin (LP accuracy
#: 1e-9 plus room) the ℓ1 solution is not certified unique and the rate is not claimed
MIN_DUAL_MARGIN = 1e-6


def l1_dual_margin(X, beta_l1) -> dict:
    """The margin ``δ'`` of the best dual certificate of ``argmin_{Xβ=y} ‖β‖₁``.

    With ``S`` the support and ``σ`` the signs of ``β_ℓ1``, a dual certificate is
    ``η = Xᵀμ`` with ``η_S = σ`` and ``|η_j| ≤ 1`` off ``S``; its margin is
    ``1 − max_{j∉S} |η_j|``. The α → 0 expansion of the hyperbolic-entropy dual selects the
    certificate of largest margin ``δ' = 1 − min_μ max_{j∉S} |(Xᵀμ)_j|`` (an LP, solved with
    HiGHS), and the gradient-flow limit approaches ``β_ℓ1`` like ``(α²)^{δ'}`` = ``α^{2δ'}``
    (``docs/theory/regression.md §1.4``). Computed from the data alone.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.5, 0.0], [0.0, 0.5, 1.0]])  # y = X e_1: certificate μ = (1, t)
    >>> round(l1_dual_margin(X, np.array([1.0, 0.0, 0.0]))["margin"], 6)  # max(|.5+.5t|, |t|)
    0.666667
    """
    from scipy.optimize import linprog

    X = np.asarray(X, dtype=float)
    beta_l1 = np.asarray(beta_l1, dtype=float)
    n = X.shape[0]
    support = np.abs(beta_l1) > SUPPORT_TOL * np.max(np.abs(beta_l1))
    sigma = np.sign(beta_l1[support])
    XS, XN = X[:, support], X[:, ~support]
    m = XN.shape[1]
    # variables (μ, t): minimise t s.t. X_Sᵀμ = σ, ±X_Nᵀμ ≤ t
    res = linprog(np.r_[np.zeros(n), 1.0],
                  A_ub=np.vstack([np.c_[XN.T, -np.ones(m)], np.c_[-XN.T, -np.ones(m)]]),
                  b_ub=np.zeros(2 * m), A_eq=np.c_[XS.T, np.zeros(XS.shape[1])], b_eq=sigma,
                  bounds=[(None, None)] * n + [(0, None)], method="highs")
    if res.x is None:
        return {"margin": float("nan"), "support_size": int(support.sum()),
                "equality_residual": float("inf"), "accepted": False, "status": res.message}
    mu = res.x[:n]
    eq = float(np.max(np.abs(XS.T @ mu - sigma))) if XS.size else 0.0
    margin = 1.0 - float(np.max(np.abs(XN.T @ mu))) if m else 1.0
    return {"margin": margin, "support_size": int(support.sum()), "equality_residual": eq,
            "accepted": bool(res.status == 0 and eq <= 1e-9), "status": str(res.message)}


#: α = √2·w±(0) for Woodworth's w±(0) ∈ {1, 2, 4, 8} (kernel) and {1e-1, …, 1e-4} (rich)
KERNEL_ALPHAS = [float(np.sqrt(2.0) * w) for w in (1.0, 2.0, 4.0, 8.0)]
RICH_ALPHAS = [float(np.sqrt(2.0) * w) for w in (1e-1, 1e-2, 1e-3, 1e-4)]
#: the user's data must put the off-support coordinates at ≤ e^{-2} of their O(1) size at the
#: largest α of the rich fit, δ'·ln(1/α₁²) ≥ 2 (docs/theory/regression.md §1.4), else the rate
#: is not visible on the α grid and the check is inconclusive (the default design is drawn with
#: δ'·ln(1/α₁²) ≈ 3–6)
MIN_RICH_DECAY = 2.0

class GFLimits(Claim):
    """Kernel (α → ∞) and rich (α → 0) limits of the gradient-flow solution.

    Woodworth et al. 2020 (Thm 1, limits): as α → ∞ the GF limit tends to the minimum-ℓ2
    interpolator, at rate O(α⁻⁴) since ``q(z) = z²/4 − z⁴/192 + …``; as α → 0 it tends to the
    minimum-ℓ1 interpolator (on an exact-recovery design the ℓ1 solution is the planted β*),
    at the rate ``α^{2δ'}`` set by the margin ``δ'`` of the ℓ1 dual certificate
    (:func:`l1_dual_margin`; ``docs/theory/regression.md §1.4``).
    """

    id = "gf-limits"
    title = "Kernel regime (min-ℓ2, rate α⁻⁴) and rich regime (min-ℓ1)"
    reference = WOODWORTH2020
    kind = "order"
    options = {"data": DATA_OPTION}  # --alpha is not an input of this claim
    statement = r"""
As $\alpha\to\infty$, $\|\beta_\alpha - \beta_{\ell_2}\| = O(\alpha^{-4})$ where
$\beta_{\ell_2} = X^+y$ (kernel regime; $q(z) = z^2/4 - z^4/192 + \dots$). As $\alpha\to 0$,
$\beta_\alpha \to \arg\min_{X\beta=y}\|\beta\|_1$ (rich regime): the $\ell_1$-norm excess
$\|\beta_\alpha\|_1/\|\beta_{\ell_1}\|_1 - 1$ decreases to 0, and where the $\ell_1$
solution has a strict dual certificate of margin $\delta'$ (the largest
$1-\max_{j\notin S}|(X^\top\mu)_j|$ with $(X^\top\mu)_S = \operatorname{sign}\beta_{\ell_1,S}$),
$\|\beta_\alpha-\beta_{\ell_1}\| \propto \alpha^{2\delta'}$ up to a relative
$O(1/\ln(1/\alpha^2))$ correction of the exponent.
"""
    tolerances = (
        Tolerance("kernel_slope_error", "<=", 0.5,
                  "order −4 from the quartic term of q(z) = z²/4 − z⁴/192 + …; α ∈ √2·{1, 2, "
                  "4, 8} keeps the distances above the 1e-10 flow accuracy "
                  "(docs/theory/regression.md §1.4)"),
        Tolerance("rich_exponent_deviation", "<=", 1.0,
                  "|fitted exponent / 2δ' − 1| · ln(1/α₁²), α₁ the largest house α of the fit: "
                  "the distance to the ℓ1 solution decays like α^{2δ'} with δ' the margin of "
                  "the ℓ1 dual certificate (computed from the data), up to a relative "
                  "correction O(1/ln(1/α²)) from the support's own certificate "
                  "η_S = σ(1 − ln(2|β_i|)/ln(1/α²)); the bound is the O(1) constant 1 "
                  "(docs/theory/regression.md §1.4)"),
        Tolerance("max_flow_residual", "<=", 1e-8,
                  "every flow must have reached the interpolating set before its limit is used"),
    )
    tolerance_note = (
        "Kernel: fitted log-log slope of ‖β_α − β_ℓ2‖ against α. Rich: on an exact-recovery "
        "design (n = 40, d = 100, 4-sparse ±1) the relative distance to the ℓ1 solution must "
        "fall monotonically as α goes √2·1e-1 → √2·1e-4, and its log-log slope over the last "
        "three scales must match the exponent 2δ' predicted from the ℓ1 dual certificate's "
        "margin δ' (an LP on the data, never on the simulation) within the O(1/ln(1/α²)) "
        "correction; an instance without a strict certificate (δ' ≤ 1e-6) is outside the "
        "rate's assumptions. Smaller α needs flow times beyond 1e10 since sparse targets "
        "converge at rate α². The ℓ1 excess must be non-negative up to 1e-9 and "
        "non-increasing (docs/theory/regression.md §1.4)."
    )

    def default_instance(self, seed=0, profile="quick", data=None, **options):
        if data is not None:  # the user's data serve both regimes and are never redrawn
            X, y, name = regression_data(seed, 20, 50, data)
            params = {"alpha_kernel": list(KERNEL_ALPHAS), "alpha_rich": list(RICH_ALPHAS),
                      "rich_design": "the same user data", "user_data": True}
            return Instance(X, y, seed, params, name=name, extra={"X_rich": X, "y_rich": y})
        X, y = gaussian_regression(20, 50, seed)
        Xs, ys, beta_star = sparse_regression(40, 100, 4, as_generator(seed + 7))
        params = {"alpha_kernel": list(KERNEL_ALPHAS), "alpha_rich": list(RICH_ALPHAS),
                  "rich_design": "n=40, d=100, 4-sparse ±1"}
        return Instance(X, y, seed, params,
                        name="gaussian X, generic y; plus an exact-recovery design",
                        extra={"X_rich": Xs, "y_rich": ys, "beta_star": beta_star})

    def instances(self):
        from hypothesis import strategies as st

        return st.integers(0, 10_000).map(lambda s: self.default_instance(seed=s))

    def _limits(self, instance):
        l2 = min_l2_interpolator(instance.X, instance.y)
        l1 = min_l1_interpolator(instance.extra["X_rich"], instance.extra["y_rich"])
        return l2, l1

    def predict(self, instance):
        l2, l1 = self._limits(instance)
        margin = l1_dual_margin(instance.extra["X_rich"], l1.beta)
        return Prediction("min-ℓ2 (kernel, slope −4) and min-ℓ1 (rich, exponent 2δ')",
                          {"kernel_limit": l2.beta, "kernel_slope": -4.0, "rich_limit": l1.beta,
                           "dual_margin": margin["margin"],
                           "rich_exponent": 2.0 * margin["margin"]},
                          {"accepted": (l2.certificate.accepted and l1.certificate.accepted
                                        and margin["accepted"]),
                           "l2_accepted": l2.certificate.accepted,
                           "l1_accepted": l1.certificate.accepted,
                           "l1_optimality_residual": l1.certificate.optimality_residual,
                           "margin_lp_accepted": margin["accepted"],
                           "margin_lp_equality_residual": margin["equality_residual"],
                           "l1_support_size": margin["support_size"]})

    def simulate(self, instance):
        l1 = min_l1_interpolator(instance.extra["X_rich"], instance.extra["y_rich"])
        margin = l1_dual_margin(instance.extra["X_rich"], l1.beta)["margin"]
        if not margin > MIN_DUAL_MARGIN:
            return Simulation({}, outside_assumptions=True, info={
                "reason": f"the ℓ1 dual certificate's margin δ' = {margin:.2e} is not > "
                          f"{MIN_DUAL_MARGIN:g}: the ℓ1 solution is not certified unique and the "
                          "rate α^{2δ'} does not apply"})
        if instance.params.get("user_data"):
            log_scale = float(np.log(1.0 / instance.params["alpha_rich"][-3] ** 2))
            if margin * log_scale < MIN_RICH_DECAY:
                return Simulation({}, inconclusive=True, info={
                    "reason": f"δ'·ln(1/α₁²) = {margin:.3g}·{log_scale:.3g} = "
                              f"{margin * log_scale:.3g} < {MIN_RICH_DECAY:g}: on these data the "
                              "rich rate α^{2δ'} is not yet visible at the α grid "
                              "(docs/theory/regression.md §1.4)"})
        kernel = [gradient_flow_dual(instance.X, instance.y, a, t_max=1e4)
                  for a in instance.params["alpha_kernel"]]
        Xs, ys = instance.extra["X_rich"], instance.extra["y_rich"]
        # Sparse targets converge at rate ~α² (docs/theory/regression.md §10.2): α = 1.4e-4 needs t
        # # ~ 1e7, which the stiff dual integrator covers in under a second.
        rich = [gradient_flow_dual(Xs, ys, a, t_max=1e10)
                for a in instance.params["alpha_rich"]]
        failure = flow_failure([*kernel, *rich])
        if failure:
            return failure
        return Simulation(
            {"kernel": [r.final_beta for r in kernel], "rich": [r.final_beta for r in rich]},
            info={"residuals": [r.residual for r in [*kernel, *rich]]},
        )

    def compare(self, instance, prediction, simulation):
        a_kernel = np.asarray(instance.params["alpha_kernel"])
        a_rich = np.asarray(instance.params["alpha_rich"])
        dist_k = np.array([relative_error(b, prediction.values["kernel_limit"])
                           for b in simulation.values["kernel"]])
        target = prediction.values["kernel_slope"]
        kernel_ok, slope, slope_error = slope_in_band(a_kernel, dist_k, target,
                                                      self.tol("kernel_slope_error"))
        ref = prediction.values["rich_limit"]
        dist_r = np.array([relative_error(b, ref) for b in simulation.values["rich"]])
        excess = np.array([np.abs(b).sum() / np.abs(ref).sum() - 1
                           for b in simulation.values["rich"]])
        # Rich regime: the distance falls like α^{2δ'} (δ' the ℓ1 dual certificate's margin)
        # over the three smallest scales, up to a relative O(1/ln(1/α²)) correction.
        decay = loglog_slope(a_rich[-3:], np.maximum(dist_r[-3:], 1e-300))
        predicted = float(prediction.values["rich_exponent"])
        log_scale = float(np.log(1.0 / a_rich[-3] ** 2))  # ln(1/α₁²)
        deviation = abs(decay / predicted - 1.0) * log_scale if predicted > 0 else float("inf")
        monotone = bool(np.all(np.diff(dist_r) < 0) and np.all(np.diff(excess) <= EXCESS_SLACK)
                        and excess.min() >= EXCESS_FLOOR)
        residual = max(simulation.info["residuals"])
        rich_ok = (monotone and self.tol("rich_exponent_deviation").holds(deviation)
                   and self.tol("max_flow_residual").holds(residual))
        metrics = {"kernel_slope": slope, "kernel_slope_error": slope_error,
                   "rich_decay_exponent": decay, "rich_predicted_exponent": predicted,
                   "rich_exponent_deviation": deviation,
                   "dual_margin": float(prediction.values["dual_margin"]),
                   "rich_final_distance": float(dist_r[-1]),
                   "rich_final_l1_excess": float(excess[-1]), "max_flow_residual": residual,
                   "kernel_final_distance": float(dist_k[-1])}
        metrics.update({f"kernel_distance_alpha={a:g}": float(v)
                        for a, v in zip(a_kernel, dist_k, strict=True)})
        metrics.update({f"rich_l1_excess_alpha={a:g}": float(v)
                        for a, v in zip(a_rich, excess, strict=True)})
        metrics.update({f"rich_distance_alpha={a:g}": float(v)
                        for a, v in zip(a_rich, dist_r, strict=True)})
        band = self.tol("kernel_slope_error").value
        msg = (f"kernel slope {slope:.2f} (predicted {target:g} ± {band:g}); rich distance falls "
               f"like α^{decay:.3f} (predicted 2δ' = {predicted:.3f}; deviation "
               f"{deviation:.2f}, {self.tol('rich_exponent_deviation').display}) to "
               f"{dist_r[-1]:.1e} at "
               f"α = {a_rich[-1]:g}, {'monotone' if monotone else 'NOT monotone'}")
        # The deciding metric is the part that failed, so a rejected control shows why.
        passed, deciding, _ = verdict({"kernel": (kernel_ok, "kernel_slope_error"),
                                       "rich": (rich_ok, "rich_exponent_deviation")},
                                      "kernel_slope_error")
        return Comparison(passed, deciding, metrics, message=msg)

    def negative_controls(self, instance, prediction, simulation):
        values = dict(prediction.values)
        l1_as_kernel = min_l1_interpolator(instance.X, instance.y).beta
        l2_as_rich = min_l2_interpolator(instance.extra["X_rich"], instance.extra["y_rich"]).beta
        return [
            NegativeControl("kernel-limit-is-min-l1",
                            "the min-ℓ1 interpolator claimed as the α → ∞ limit",
                            Prediction("wrong kernel limit", {**values,
                                                              "kernel_limit": l1_as_kernel})),
            NegativeControl("rich-limit-is-min-l2",
                            "the min-ℓ2 interpolator claimed as the α → 0 limit",
                            Prediction("wrong rich limit", {**values, "rich_limit": l2_as_rich})),
            NegativeControl("kernel-rate-alpha^-2",
                            "a naive O(α⁻²) kernel rate in place of O(α⁻⁴)",
                            Prediction("wrong rate", {**values, "kernel_slope": -2.0})),
            NegativeControl("rich-rate-alpha^delta",
                            "the rich rate α^{δ'} (α in place of α² in β ~ α^{2(1−|η|)})",
                            Prediction("wrong rich rate",
                                       {**values, "rich_exponent": values["dual_margin"]})),
        ]

    def figures(self, instance, prediction, simulation, comparison):
        a_kernel = np.asarray(instance.params["alpha_kernel"], dtype=float)
        dist_k = [comparison.metrics[f"kernel_distance_alpha={a:g}"] for a in a_kernel]
        ref_k = dist_k[0] * (a_kernel / a_kernel[0]) ** -4.0
        a_rich = np.asarray(instance.params["alpha_rich"], dtype=float)
        dist_r = [comparison.metrics[f"rich_distance_alpha={a:g}"] for a in a_rich]
        rate = float(prediction.values["rich_exponent"])
        ref_r = dist_r[-1] * (a_rich / a_rich[-1]) ** rate
        return [
            FigureSpec("kernel", "Kernel regime: distance to the min-ℓ2 interpolator", "α",
                       "‖β_α − β_ℓ2‖ / ‖β_ℓ2‖",
                       (Series("gradient flow", a_kernel.tolist(), dist_k, "linepoints"),
                        Series("theory: ∝ α⁻⁴", a_kernel.tolist(), ref_k.tolist(), "reference")),
                       xscale="log", yscale="log",
                       caption="Relative distance of the gradient-flow limit to X⁺y as α "
                               "grows (log-log); dashed: the α⁻⁴ law of the quartic term of q, "
                               "anchored at the first α."),
            FigureSpec("rich", "Rich regime: distance to the min-ℓ1 interpolator", "α",
                       "‖β_α − β_ℓ1‖ / ‖β_ℓ1‖",
                       (Series("gradient flow", a_rich.tolist(), dist_r, "linepoints"),
                        Series(f"theory: ∝ α^(2δ') = α^{rate:.3g}", a_rich.tolist(),
                               ref_r.tolist(), "reference")),
                       xscale="log", yscale="log",
                       caption="Relative distance of the gradient-flow limit to the min-ℓ1 "
                               "interpolator on the exact-recovery design as α → 0; dashed: "
                               "the rate α^{2δ'} predicted from the ℓ1 dual certificate's "
                               "margin δ' (an LP on the data), anchored at the smallest α."),
        ]
