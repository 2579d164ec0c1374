"""Claims from Papazov, Pesme & Flammarion (AISTATS 2024): momentum on diagonal linear networks.

K. Papazov, S. Pesme, N. Flammarion, "Leveraging continuous time to understand momentum when
training diagonal linear networks", AISTATS 2024 (PMLR 238), arXiv:2403.05293. Only the abstract
and introduction were available to the authors of ``theory/regression.md``; theorem numbers are
therefore not quoted, and the exact statements checked here are those derived and verified in
``theory/regression.md`` §5 (the implicit-regularisation formula with ``α±`` and the reference
point ``β̃₀`` is *stronger* than the ``β̃₀``-free form first derived, which the simulation
refutes — see the ``momentum-implicit-bias`` negative control).

Convention (``THEORY.md``): ``β = u ⊙ v``, ``u₀ = √2 α``, ``v₀ = 0``,
``L(β) = ‖Xβ − y‖²/(2n)``; heavy ball ``w_{k+1} = w_k − γ∇F(w_k) + β_m(w_k − w_{k−1})``,
``w_{−1} = w_0``; the momentum parameter is ``β_m`` (the paper's ``β``); intrinsic constant
``λ = γ/(1 − β_m)²``; iteration ``k`` sits at time ``t_k = kγ/(1 − β_m)``.

Claims:

- ``momentum-invariant`` (order): MGD runs with equal ``λ`` follow the MGF path, error
  ``∝ (1 − β_m)``; against the modified flow of
  :func:`dln_verify.symbolic.momentum.momentum_invariant`
  the error is ``∝ (1 − β_m)²``.
- ``momentum-implicit-bias`` (tight): the MGF limit is the Bregman projection with ``α±`` and
  ``β̃₀`` from the path integrals.
- ``momentum-sparsity`` (statistical): sparse-recovery test error is non-decreasing in ``λ`` and
  nearly independent of ``β_m`` at equal ``λ``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dln_verify.numeric.convex import implicit_bias_solution
from dln_verify.numeric.instances import Instance, gaussian_regression, sparse_regression
from dln_verify.numeric.momentum import (
    heavy_ball,
    momentum_gradient_flow,
    relative_path_error,
    stepsize_for,
)
from dln_verify.verify.claim import (
    Claim,
    Comparison,
    FigureSpec,
    NegativeControl,
    Prediction,
    Reference,
    Series,
    Simulation,
)
from dln_verify.verify.compare import identity_scatter, loglog_slope, relative_error
from dln_verify.verify.registry import register

__all__ = ["MomentumInvariant", "MomentumImplicitBias", "MomentumSparsity"]

_AUTHORS = "Kiril Papazov, Scott Pesme and Nicolas Flammarion"
_TITLE = "Leveraging continuous time to understand momentum when training diagonal linear networks"
_VENUE = "AISTATS 2024 (PMLR 238)"
_ARXIV = "2403.05293"


def _gaussian_instance(seed: int, n: int, d: int, name: str, **params: Any) -> Instance:
    X, y = gaussian_regression(n, d, seed)
    return Instance(X=X, y=y, seed=seed, params=params, name=name)


# ------------------------------------------------------------------------------------------------
@register
class MomentumInvariant(Claim):
    r"""Heavy ball with equal ``λ = γ/(1−β_m)²`` follows one momentum-gradient-flow path.

    Theorem (Papazov, Pesme & Flammarion, AISTATS 2024, arXiv:2403.05293, §3 "momentum gradient
    flow"; theorem number not verified): as ``β_m → 1`` heavy ball with stepsize ``γ`` tracks
    the MGF ``λẅ + ẇ + ∇F(w) = 0``, ``ẇ(0) = 0``, with ``λ = γ/(1−β_m)²`` and time
    ``t_k = kγ/(1−β_m)``. Derived with SymPy in
    :func:`dln_verify.symbolic.momentum.momentum_invariant`,
    which also gives the next order: the discrete path is ``O(1−β_m)`` from the MGF, and
    ``O((1−β_m)²)`` from the modified flow with ``λ_eff = λ(1+β_m)/2`` and
    ``ẇ(0) = −(1−β_m)∇F(w₀)/2``.

    Convention: ``β = u ⊙ v``, ``u₀ = √2α``, ``v₀ = 0``, ``L = ‖Xβ−y‖²/(2n)``, path error
    ``max_t ‖β_MGD(t) − β_MGF(t)‖ / max_t ‖β_MGF(t)‖`` on ``t ∈ [0, T]``.

    Check: fit log-log slopes of the error against ``1 − β_m`` (order 1 against the MGF,
    order 2 against the modified flow) and bound the constant. Negative control: pair the runs
    by ``γ/(1−β_m)`` (equal time step) instead of ``λ``; those paths do not collapse.

    Examples
    --------
    >>> from verify import registry
    >>> registry.get("momentum-invariant").check(seed=0).passed  # doctest: +SKIP
    True
    """

    id = "momentum-invariant"
    title = "Heavy-ball paths depend on λ = γ/(1−β)² only (momentum gradient flow)"
    reference = Reference(_AUTHORS, 2024, _TITLE, _VENUE,
                          "§3, momentum gradient flow and λ = γ/(1−β)² (theorem no. unverified)",
                          _ARXIV)
    kind = "order"
    statement = (
        r"Heavy ball $w_{k+1} = w_k - \gamma\nabla F(w_k) + \beta_m (w_k - w_{k-1})$ on the "
        r"DLN $\beta = u\odot v$ follows the momentum gradient flow "
        r"$\lambda\ddot w + \dot w + \nabla F(w) = 0$, $\dot w(0) = 0$, with "
        r"$\lambda = \gamma/(1-\beta_m)^2$ and $t_k = k\gamma/(1-\beta_m)$: at equal $\lambda$ "
        r"the path error is $\max_t\|\beta_{\rm MGD}(t)-\beta_{\rm MGF}(t)\| / "
        r"\max_t\|\beta_{\rm MGF}\| = O(1-\beta_m)$, and $O((1-\beta_m)^2)$ against the "
        r"modified flow with $\lambda_{\rm eff} = \lambda(1+\beta_m)/2$, "
        r"$\dot w(0) = -(1-\beta_m)\nabla F(w_0)/2$."
    )
    tolerance_note = (
        "Order 1 against the MGF (leading SymPy correction −(1−β_m)λẅ/2 plus the O(1−β_m) "
        "initial-velocity mismatch): fitted slope in [0.8, 1.2] (the diffrax-style ±0.2 band); "
        "order 2 against the modified flow: slope in [1.7, 2.3] (the O((1−β_m)²) terms "
        "λ²w⁽³⁾/6 + λ³w⁽⁴⁾/12 and the O(h²) linear interpolation between iterates). Collapse: "
        "at the β_m closest to 1 the relative path error must be ≤ 0.05. The constant "
        "C = error/(1−β_m) is reported, not bounded: it is instance dependent (theory sheet "
        "§5.2: 0.085; default instance here 0.11; hypothesis draws up to 0.27 at α = 0.05), so "
        "the sheet's C ≤ 0.2 is not a law. MGF by DOP853 at rtol 1e-11, far below the smallest "
        "error (~1e-5 for the modified flow)."
    )

    def default_instance(self, seed: int = 0, profile: str = "quick", **options: Any) -> Instance:
        momenta = [0.5, 0.8, 0.9, 0.95, 0.98]
        if profile == "thorough":
            momenta = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99]
        return _gaussian_instance(
            seed, 20, 40, "gaussian_regression(n=20, d=40)",
            alpha=0.1, lam=0.5, momenta=momenta, horizon=20.0, n_times=201,
            pairing_momentum=0.9,
        )

    def instances(self):
        """Instances with ``β_m`` grids in ``[0.6, 0.98]`` (the β_m → 1 regime), α, λ moderate."""
        from hypothesis import strategies as st

        @st.composite
        def strategy(draw):
            seed = draw(st.integers(0, 2**16))
            n = draw(st.integers(5, 15))
            alpha = draw(st.floats(0.05, 0.5))
            lam = draw(st.floats(0.1, 1.0))
            lo = draw(st.floats(0.6, 0.8))
            momenta = [float(1.0 - (1.0 - lo) * f) for f in (1.0, 0.5, 0.25, 0.1)]
            return _gaussian_instance(
                seed, n, 2 * n, f"gaussian_regression(n={n}, d={2 * n})",
                alpha=alpha, lam=lam, momenta=momenta, horizon=10.0, n_times=101,
                pairing_momentum=momenta[1],
            )

        return strategy()

    def predict(self, instance: Instance) -> Prediction:
        return Prediction(
            label="MGF path depends on λ only; error O(1−β_m), modified flow O((1−β_m)²)",
            values={"slope": 1.0, "slope_band": [0.8, 1.2], "modified_slope": 2.0,
                    "modified_band": [1.7, 2.3], "max_final_error": 0.05,
                    "lambda": float(instance.params["lam"])},
        )

    def _group(self, instance: Instance, stepsizes, momenta, times, lam_ref: float):
        p = instance.params
        X, y, alpha = instance.X, instance.y, p["alpha"]
        run = heavy_ball(X, y, alpha, stepsizes, momenta, times)
        ref = momentum_gradient_flow(X, y, alpha, lam_ref, float(times[-1]), times,
                                     path_only=True)
        errors = relative_path_error(run.beta, ref.beta)
        modified = []
        for m, path in zip(momenta, run.beta, strict=True):
            mod = momentum_gradient_flow(X, y, alpha, lam_ref * (1 + m) / 2, float(times[-1]),
                                         times, initial_velocity_factor=(1 - m) / 2,
                                         path_only=True)
            modified.append(relative_path_error(path[None], mod.beta)[0])
        return run, ref, errors, np.asarray(modified)

    def simulate(self, instance: Instance) -> Simulation:
        p = instance.params
        lam = float(p["lam"])
        momenta = np.asarray(p["momenta"], dtype=float)
        times = np.linspace(0.0, float(p["horizon"]), int(p["n_times"]))
        run, ref, errors, modified = self._group(
            instance, stepsize_for(lam, momenta), momenta, times, lam)
        # control: equal time step h0 = γ/(1−β_m) of the run at the pairing momentum
        h0 = lam * (1.0 - float(p["pairing_momentum"]))
        c_run, _, c_err, c_mod = self._group(instance, h0 * (1.0 - momenta), momenta, times, lam)
        diverged = bool(run.diverged.any() or c_run.diverged.any())
        # the figure shows the coordinate where the equal-γ/(1−β_m) runs spread the most
        j = int(np.argmax(np.nanmax(np.abs(c_run.beta - ref.beta[None]), axis=(0, 1))))
        values = {
            "momenta": momenta, "one_minus_momentum": 1.0 - momenta, "errors": errors,
            "modified_errors": modified, "stepsizes": run.stepsize, "lambdas": run.lam,
            "iterations": run.iterations, "times": times, "coordinate": j,
            "mgf_coordinate": ref.beta[:, j], "run_coordinate": run.beta[:, :, j],
            "control_stepsizes": c_run.stepsize, "control_lambdas": c_run.lam,
            "control_errors": c_err, "control_modified_errors": c_mod,
            "control_coordinate": c_run.beta[:, :, j],
        }
        info = {"reason": "a heavy-ball run diverged"} if diverged else {}
        return Simulation(values=values, diverged=diverged, info=info)

    def compare(self, instance: Instance, prediction: Prediction,
                simulation: Simulation) -> Comparison:
        v, pv = simulation.values, prediction.values
        x = np.asarray(v["one_minus_momentum"])
        err, mod = np.asarray(v["errors"]), np.asarray(v["modified_errors"])
        slope = loglog_slope(x, err)
        mslope = loglog_slope(x, mod)
        const = float(np.max(err / x))
        closest = float(err[np.argmin(x)])
        lo, hi = pv["slope_band"]
        mlo, mhi = pv["modified_band"]
        ok_slope = lo <= slope <= hi
        ok_mod = mlo <= mslope <= mhi
        ok_collapse = closest <= pv["max_final_error"]
        passed = ok_slope and ok_mod and ok_collapse
        metric = "slope" if not ok_slope or passed else ("modified_slope" if not ok_mod
                                                          else "error_closest_to_1")
        msg = (f"path error vs 1−β_m: slope {slope:.3f} (band [{lo}, {hi}]), modified-flow slope "
               f"{mslope:.3f} (band [{mlo}, {mhi}]), error at β_m = {1 - x.min():g}: "
               f"{closest:.2e} (≤ {pv['max_final_error']}); constant error/(1−β_m) ≤ {const:.3f}")
        return Comparison(
            passed=bool(passed), metric=metric,
            metrics={"slope": slope, "modified_slope": mslope, "error_closest_to_1": closest,
                     "constant": const, "max_error": float(err.max()),
                     "min_modified_error": float(mod.min())},
            tolerance={"slope": f"[{lo}, {hi}]", "modified_slope": f"[{mlo}, {mhi}]",
                       "error_closest_to_1": pv["max_final_error"]},
            message=msg,
        )

    def negative_controls(self, instance: Instance, prediction: Prediction,
                          simulation: Simulation) -> list[NegativeControl]:
        v = simulation.values
        sim = Simulation(values={**v, "errors": v["control_errors"],
                                 "modified_errors": v["control_modified_errors"]})
        return [NegativeControl(
            name="pair-by-time-step",
            description="runs paired by equal γ/(1−β_m) (time step) instead of equal λ, "
                        "compared with the MGF of the pairing run's λ: the paths do not collapse",
            prediction=prediction, simulation=sim,
        )]

    def notes(self, instance, prediction, simulation) -> list[str]:
        return ["Theory sheet §5.2 (n=20, d=40, α=0.1, λ=0.5) quotes path errors 4.2e-2 … 1.7e-3 "
                "for β_m = 0.5 … 0.98 (C ≈ 0.085); this check measures 5.5e-2 … 2.2e-3 on its "
                "seed-0 instance (C ≈ 0.11): same order, constant instance dependent."]

    def figures(self, instance, prediction, simulation, comparison) -> list[FigureSpec]:
        v = simulation.values
        t = np.asarray(v["times"]).tolist()
        j = int(v["coordinate"])
        ref = Series(f"MGF, λ = {instance.params['lam']:g}", t,
                     np.asarray(v["mgf_coordinate"]).tolist(), "reference")
        main = [Series(f"equal λ: β_m = {m:g}, γ = {g:.3g}", t, path.tolist(), "line")
                for m, g, path in zip(v["momenta"], v["stepsizes"], v["run_coordinate"],
                                      strict=True)]
        ctrl = [Series(f"equal γ/(1−β_m): β_m = {m:g}, λ = {lam:.3g}", t[::8],
                       np.asarray(path)[::8].tolist(), "points")
                for m, lam, path in zip(v["momenta"], v["control_lambdas"],
                                        v["control_coordinate"], strict=True)]
        x = np.asarray(v["one_minus_momentum"])
        err = np.asarray(v["errors"])
        c = float(err[-1] / x[-1])
        return [
            FigureSpec(
                name="momentum-invariant-collapse",
                title=f"β_{j}(t): equal-λ runs collapse onto the MGF, equal-γ/(1−β_m) runs do not",
                xlabel="time t = kγ/(1−β_m)", ylabel=f"β_{j}(t)",
                series=(ref, *main, *ctrl),
                caption="Lines: heavy ball at equal λ (collapse onto the dashed MGF curve). "
                        "Points: the negative control, runs with equal γ/(1−β_m), which spread.",
            ),
            FigureSpec(
                name="momentum-invariant-order",
                title="Path error vs 1−β_m (log-log)",
                xlabel="1 − β_m", ylabel="max_t ‖β_MGD − β_MGF‖ / max‖β_MGF‖",
                series=(
                    Series("equal λ vs MGF", x.tolist(), err.tolist(), "linepoints"),
                    Series("equal λ vs modified flow", x.tolist(),
                           np.asarray(v["modified_errors"]).tolist(), "linepoints"),
                    Series("equal γ/(1−β_m) (control)", x.tolist(),
                           np.asarray(v["control_errors"]).tolist(), "points"),
                    Series("theory: slope 1", x.tolist(), (c * x).tolist(), "reference"),
                    Series("theory: slope 2", x.tolist(),
                           (float(v["modified_errors"][-1]) * (x / x[-1]) ** 2).tolist(),
                           "reference"),
                ),
                xscale="log", yscale="log",
                caption="Fitted slopes are the claim's metrics; the control's errors do not "
                        "decrease with 1−β_m.",
            ),
        ]


# ------------------------------------------------------------------------------------------------
@register
class MomentumImplicitBias(Claim):
    r"""The MGF limit on a DLN is a Bregman projection with ``α±`` and reference ``β̃₀``.

    Theorem (Papazov, Pesme & Flammarion, AISTATS 2024, arXiv:2403.05293, implicit
    regularisation of MGF; exact form derived and verified in ``theory/regression.md`` §5.3):
    if ``u ± v`` never vanish along the MGF ``λẅ + ẇ + ∇F(w) = 0`` from rest, then with
    ``s = u+v``, ``d = u−v``::

        α₊² = α² exp(−2λ∫(ṡ/s)²),  α₋² = α² exp(−2λ∫(ḋ/d)²),  α_∞² = α₊α₋,
        β̃₀ = (α₊² − α₋²)/2,        β_∞ = argmin_{Xβ=y} D_{ψ_{α_∞}}(β, β̃₀),

    and ``(u_∞² − v_∞²)/2 = α_∞²``. Convention: ``β = u ⊙ v``, ``u₀ = √2α``, ``v₀ = 0``,
    ``L = ‖Xβ−y‖²/(2n)``, ``ψ_α`` the hyperbolic entropy of ``THEORY.md``.

    The prediction is a functional of the trajectory (its two path integrals), the simulation
    is the trajectory's limit point; both come from one integration (cached). The projection is
    :func:`dln_verify.numeric.convex.implicit_bias_solution` with a certificate. A ``u ± v`` zero
    crossing
    (large λ) is reported as outside the theorem, not as a failure.
    """

    id = "momentum-implicit-bias"
    title = "MGF limit = Bregman projection with α± and reference point β̃₀"
    reference = Reference(_AUTHORS, 2024, _TITLE, _VENUE,
                          "implicit regularisation of MGF (theorem no. unverified; exact form "
                          "with β̃₀ from theory/regression.md §5.3)", _ARXIV)
    kind = "tight"
    statement = (
        r"For the momentum gradient flow $\lambda\ddot w + \dot w + \nabla F(w) = 0$ from rest "
        r"on $\beta = u\odot v$, $u_0=\sqrt2\alpha$, $v_0 = 0$, with $s = u+v$, $d = u-v$ "
        r"non-vanishing: $\alpha_\pm^2 = \alpha^2 e^{-2\lambda\int(\dot s/s)^2}$ (resp. "
        r"$\dot d/d$), $\alpha_\infty^2 = \alpha_+\alpha_-$, "
        r"$\tilde\beta_0 = (\alpha_+^2-\alpha_-^2)/2$ and "
        r"$\beta_\infty = \arg\min_{X\beta=y} D_{\psi_{\alpha_\infty}}(\beta,\tilde\beta_0)$."
    )
    tolerance_note = (
        "Relative error ≤ 1e-8 for λ ≤ 0.5 (theory sheet §5.3/§8: 1e-11 measured with RK4; here "
        "DOP853 at rtol 1e-11, atol 1e-14 reaches ~1e-14). The MGF is integrated to T = 1500, "
        "where the residual ‖Xβ−y‖/‖y‖ (relative) must be ≤ 1e-10 (else the limit is not reached "
        "and the comparison fails). The scale identity (u²−v²)/2 = α_∞² is checked to 1e-8 "
        "relative to α². The Newton projection is accepted on its KKT residual (≤ 1e-10)."
    )
    _RESIDUAL_TOL = 1e-10

    def __init__(self) -> None:
        self._runs: dict[int, tuple[Instance, list]] = {}

    def default_instance(self, seed: int = 0, profile: str = "quick", **options: Any) -> Instance:
        lams = [0.05, 0.2, 0.5] if profile == "quick" else [0.02, 0.05, 0.1, 0.2, 0.35, 0.5]
        return _gaussian_instance(seed, 20, 40, "gaussian_regression(n=20, d=40)",
                                  alpha=0.3, lams=lams, horizon=1500.0)

    def instances(self):
        """Instances with α ∈ [0.2, 0.5], λ ∈ [0.05, 0.5] (inside the sheet's range; smaller λ
        is as exact but stiffer, 5–10 s per integration, and is covered by the thorough
        profile's default instance)."""
        from hypothesis import strategies as st

        @st.composite
        def strategy(draw):
            seed = draw(st.integers(0, 2**16))
            n = draw(st.integers(5, 15))
            alpha = draw(st.floats(0.2, 0.5))
            lam = draw(st.floats(0.05, 0.5))
            return _gaussian_instance(seed, n, 2 * n, f"gaussian_regression(n={n}, d={2 * n})",
                                      alpha=alpha, lams=[lam], horizon=1500.0)

        return strategy()

    def _mgf(self, instance: Instance) -> list:
        key = id(instance)
        if key not in self._runs or self._runs[key][0] is not instance:
            p = instance.params
            runs = [momentum_gradient_flow(instance.X, instance.y, p["alpha"], lam,
                                           float(p["horizon"])) for lam in p["lams"]]
            self._runs = {key: (instance, runs)}
        return self._runs[key][1]

    def predict(self, instance: Instance) -> Prediction:
        runs = self._mgf(instance)
        betas, scales, refs, certs = [], [], [], []
        for run in runs:
            if not run.in_range:  # the formula does not apply; simulate() reports it
                betas.append(np.full(instance.d, np.nan))
                scales.append(run.alpha_inf_sq)
                refs.append(run.reference)
                continue
            sol = implicit_bias_solution(instance.X, instance.y, np.sqrt(run.alpha_inf_sq),
                                         reference=run.reference)
            betas.append(sol.beta)
            scales.append(run.alpha_inf_sq)
            refs.append(run.reference)
            certs.append(sol.certificate)
        cert = {
            "solver": certs[0].solver if certs else "none",
            "accepted": all(c.accepted for c in certs),
            "primal_residual": max((c.primal_residual for c in certs), default=0.0),
            "optimality_residual": max((c.optimality_residual for c in certs), default=0.0),
        }
        return Prediction(
            label="argmin_{Xβ=y} D_ψ(α_∞)(β, β̃₀) with α±, β̃₀ from the MGF path integrals",
            values={"beta": np.asarray(betas), "alpha_inf_sq": np.asarray(scales),
                    "reference": np.asarray(refs), "lams": list(instance.params["lams"])},
            certificate=cert,
        )

    def simulate(self, instance: Instance) -> Simulation:
        runs = self._mgf(instance)
        crossed = [r.lam for r in runs if not r.in_range]
        values = {
            "beta": np.asarray([r.final_beta for r in runs]),
            "scale": np.asarray([(r.u**2 - r.v**2) / 2 for r in runs]),
            "residual": np.asarray([r.residual for r in runs]),
            "speed": np.asarray([r.speed for r in runs]),
            "min_ratio": np.asarray([r.min_ratio for r in runs]),
            "lams": list(instance.params["lams"]),
        }
        if crossed:
            lams = ", ".join(f"{x:g}" for x in crossed)
            reason = (f"u ± v crosses or grazes zero (min (u±v)/(u±v)(0) ≤ "
                      f"{runs[0].GRAZING:g}) along the MGF for λ = {lams} "
                      f"(α = {instance.params['alpha']:g}): outside the formula's range")
            return Simulation(values=values, outside_assumptions=True,
                              info={"reason": reason, "crossed_lams": crossed})
        return Simulation(values=values)

    def compare(self, instance: Instance, prediction: Prediction,
                simulation: Simulation) -> Comparison:
        sv, pv = simulation.values, prediction.values
        errs = [relative_error(b_pred, b_sim) for b_pred, b_sim in
                zip(pv["beta"], sv["beta"], strict=True)]
        alpha_sq = float(np.max(np.asarray(instance.params["alpha"]) ** 2))
        scale_err = float(np.max(np.abs(np.asarray(pv["alpha_inf_sq"]) - sv["scale"]))) / alpha_sq
        err = float(np.max(errs))
        res = float(np.max(sv["residual"]))
        cert_ok = bool(prediction.certificate.get("accepted", True))
        tol = 1e-8
        passed = (np.isfinite(err) and err <= tol and scale_err <= tol
                  and res <= self._RESIDUAL_TOL and cert_ok)
        return Comparison(
            passed=bool(passed), metric="max_relative_error",
            metrics={"max_relative_error": err, "scale_error": scale_err,
                     "max_residual": res, "max_speed": float(np.max(sv["speed"])),
                     "min_u_pm_v_ratio": float(np.min(sv["min_ratio"])),
                     **{f"relative_error_lambda_{lam:g}": e
                        for lam, e in zip(pv["lams"], errs, strict=True)}},
            tolerance={"max_relative_error": tol, "scale_error": tol,
                       "max_residual": self._RESIDUAL_TOL},
            message=(f"max_λ ‖β_MGF(∞) − β_pred‖/‖β_MGF(∞)‖ = {err:.2e} (≤ {tol:g}), scale "
                     f"error {scale_err:.1e}, residual {res:.1e}, certificate "
                     f"{'accepted' if cert_ok else 'rejected'}"),
        )

    def negative_controls(self, instance: Instance, prediction: Prediction,
                          simulation: Simulation) -> list[NegativeControl]:
        pv = prediction.values
        no_ref, gf = [], []
        for a2 in pv["alpha_inf_sq"]:
            no_ref.append(implicit_bias_solution(instance.X, instance.y, np.sqrt(a2)).beta)
        gf_beta = implicit_bias_solution(instance.X, instance.y, instance.params["alpha"]).beta
        gf = [gf_beta for _ in pv["alpha_inf_sq"]]
        return [
            NegativeControl(
                name="no-reference-point",
                description="argmin ψ_{α_∞} without the reference point β̃₀ (the first, wrong "
                            "derivation of theory/regression.md §5.3)",
                prediction=Prediction("argmin ψ_{α_∞} (no β̃₀)",
                                      {**pv, "beta": np.asarray(no_ref)},
                                      prediction.certificate),
            ),
            NegativeControl(
                name="gradient-flow-limit",
                description="argmin ψ_α: momentum ignored (the GF prediction, α_∞ = α, β̃₀ = 0)",
                prediction=Prediction("argmin ψ_α (GF)",
                                      {**pv, "beta": np.asarray(gf),
                                       "alpha_inf_sq": np.broadcast_to(
                                           np.asarray(instance.params["alpha"]) ** 2,
                                           np.shape(pv["alpha_inf_sq"]))},
                                      prediction.certificate),
            ),
        ]

    def figures(self, instance, prediction, simulation, comparison) -> list[FigureSpec]:
        pv, sv = prediction.values, simulation.values
        scatter = identity_scatter(np.asarray(pv["beta"]), np.asarray(sv["beta"]),
                                   "MGF limit vs projection with α±, β̃₀")
        lams = [float(x) for x in pv["lams"]]
        errs = [comparison.metrics[f"relative_error_lambda_{lam:g}"] for lam in lams]
        no_ref = [relative_error(
            implicit_bias_solution(instance.X, instance.y, np.sqrt(a2)).beta, b)
            for a2, b in zip(pv["alpha_inf_sq"], sv["beta"], strict=True)]
        return [
            FigureSpec(
                name="momentum-implicit-bias-scatter",
                title="MGF limit β_∞ vs predicted Bregman projection (all λ)",
                xlabel="predicted β_i", ylabel="simulated β_i", series=scatter,
            ),
            FigureSpec(
                name="momentum-implicit-bias-error",
                title="Relative error of the prediction vs λ",
                xlabel="λ", ylabel="‖β_MGF(∞) − β_pred‖ / ‖β_MGF(∞)‖",
                series=(
                    Series("with reference point β̃₀", lams, [max(e, 1e-17) for e in errs],
                           "linepoints"),
                    Series("without β̃₀ (control)", lams, no_ref, "linepoints"),
                    Series("tolerance 1e-8", lams, [1e-8] * len(lams), "reference"),
                ),
                xscale="log", yscale="log",
                caption="The reference point β̃₀ = (α₊² − α₋²)/2 is what makes the identity "
                        "exact; without it the error is O(λ²)-small but far above tolerance.",
            ),
        ]

    def notes(self, instance, prediction, simulation) -> list[str]:
        return ["Prediction and simulation share one MGF integration: the prediction uses only "
                "its path integrals ∫(ṡ/s)², ∫(ḋ/d)², the simulation only its limit point.",
                "The no-β̃₀ errors quoted in theory sheet §5.3 (5e-5, 7.8e-4, 4.6e-3) are "
                "max-abs errors; the relative 2-norm errors of this check are ~2× larger "
                "(1.0e-4, 1.6e-3, 9.1e-3 at λ = 0.05, 0.2, 0.5 on seed 0)."]


# ------------------------------------------------------------------------------------------------
@register
class MomentumSparsity(Claim):
    r"""Small λ helps sparse recovery: test error non-decreasing in λ, ~independent of β_m.

    Claim (Papazov, Pesme & Flammarion, AISTATS 2024, arXiv:2403.05293, abstract: "small values
    of λ help to recover sparse solutions"; quantified in ``theory/regression.md`` §5.4): on
    sparse recovery (Gaussian ``X``, ``n = 30``, ``d = 100``, 3-sparse ``β*``, ``α = 0.1``)
    heavy ball run for 400 time units reaches a test error ``‖β − β*‖/‖β*‖`` that is
    non-decreasing in ``λ`` (``λ = 0``: the gradient-flow limit ``argmin ψ_α``) and, at equal
    ``λ``, nearly the same for ``β_m = 0.9`` and ``β_m = 0.5``.

    Statistics (over seeds): the fraction of (seed, β_m) error sequences that are non-decreasing
    in λ (slack 2e-3) must be ≥ 0.8, and the 75 % quantile over seeds of
    ``max_λ |err(λ, 0.9) − err(λ, 0.5)|`` must be ≤ 0.02. Negative controls: pairing the
    β_m = 0.5 runs by equal ``γ/(1−β_m)`` instead of equal λ (gap much larger), and the
    opposite claim "error non-increasing in λ" (momentum helps).

    Convention: ``β = u ⊙ v``, ``u₀ = √2α``, ``v₀ = 0``, ``L = ‖Xβ−y‖²/(2n)``.
    """

    id = "momentum-sparsity"
    title = "Small λ helps sparse recovery; test error depends on λ, not on β_m"
    reference = Reference(_AUTHORS, 2024, _TITLE, _VENUE,
                          "abstract and sparse-recovery experiments (λ small helps)", _ARXIV)
    kind = "statistical"
    statement = (
        r"On sparse recovery ($n=30$, $d=100$, $\|\beta^*\|_0=3$, $\alpha=0.1$), heavy ball "
        r"with $\lambda=\gamma/(1-\beta_m)^2$ reaches a test error "
        r"$\|\beta-\beta^*\|/\|\beta^*\|$ that is non-decreasing in $\lambda$ (from the "
        r"gradient-flow value at $\lambda=0$) and nearly independent of $\beta_m$ at equal "
        r"$\lambda$: over seeds, $\ge 80\%$ of the sequences are monotone and the 75 % quantile "
        r"of $\max_\lambda|\mathrm{err}(\lambda,0.9)-\mathrm{err}(\lambda,0.5)|$ is $\le 0.02$."
    )
    tolerance_note = (
        "Gap 0.02: theory sheet §5.4 (β_m = 0.9 vs 0.5 differ by ≤ 0.008 up to λ = 2). "
        "Monotonicity slack 2e-3: MGD stops at 400 time units with relative residual "
        "‖Xβ−y‖/‖y‖ ≤ 6.4e-6 (measured, below), and the "
        "β_m = 0.5 runs differ from the MGF by O(1−β_m); real increases between grid points "
        "are ≥ 0.01. λ ≤ 2 only: at λ = 4 the β_m = 0.5 run has γ = 1 and diverges or leaves "
        "the MGF regime on some seeds (measured), so the claim is not checked there. Measured over "
        "30 seeds (100–129, λ ∈ {0.02, 0.1, 0.3, 1, 2}): 59/60 sequences monotone, gap median "
        "0.0055, 90 % quantile 0.0077, one outlier seed at 0.050; fraction 0.8 and the 75 % "
        "quantile keep one atypical seed in six from deciding the verdict. Seed blocks are "
        "SeedSequence(seed).spawn(k) children (independent across seeds); quick profile, "
        "seeds 0–19: every block passes, monotone fraction 1.0, gap 75 % quantile 0.0060–0.0095, "
        "max relative residual 5e-8–6.3e-6; thorough, seeds 0–1: gap quantile 0.0080, 0.0071, "
        "residual 6.4e-6, 7.9e-7. Residual bound 1e-4 (≈ 15× the worst measured): the "
        "remaining move of β towards the interpolating set is ≈ ‖X⁺(Xβ−y)‖ ≤ r‖y‖/σ_min(X) "
        "≈ r · 9.5/4.5 for this design (‖y‖ ≈ √(nk), σ_min ≈ √d − √n), i.e. a test-error "
        "change ≲ 1.2 r ≤ 1.2e-4, 16× below the slack 2e-3 and 160× below the gap 0.02; a "
        "run that has not reached the interpolation regime fails the check."
    )
    _SLACK = 2e-3
    _RESIDUAL_TOL = 1e-4

    def default_instance(self, seed: int = 0, profile: str = "quick", **options: Any) -> Instance:
        if profile == "quick":
            n_seeds, lams = 6, [0.1, 0.3, 1.0, 2.0]
        else:
            n_seeds, lams = 20, [0.02, 0.1, 0.3, 1.0, 2.0]
        return self._instance(seed, n_seeds, lams, 30, 100, 3, 0.1, 400.0)

    @staticmethod
    def _instance(seed, n_seeds, lams, n, d, k, alpha, horizon) -> Instance:
        # independent data sets per seed block: children of SeedSequence(seed) (with seed + i,
        # blocks for seeds s and s + 1 shared n_seeds − 1 of their data sets)
        children = np.random.SeedSequence(seed).spawn(n_seeds)
        seeds = [f"SeedSequence({seed}).spawn({n_seeds})[{i}]" for i in range(n_seeds)]
        data = [sparse_regression(n, d, k, np.random.default_rng(c)) for c in children]
        X_all = np.stack([x for x, _, _ in data])
        y_all = np.stack([y for _, y, _ in data])
        b_all = np.stack([b for _, _, b in data])
        return Instance(
            X=X_all[0], y=y_all[0], seed=seed,
            params={"alpha": alpha, "lams": list(lams), "momenta": [0.9, 0.5],
                    "control_ratio": 5.0, "seeds": seeds, "sparsity": k, "horizon": horizon,
                    "max_gap": 0.02, "min_monotone_fraction": 0.8, "gap_quantile": 0.75},
            name=f"sparse_regression(n={n}, d={d}, k={k}) × {n_seeds} seeds",
            extra={"X_all": X_all, "y_all": y_all, "beta_star_all": b_all},
        )

    def instances(self):
        """The default design (n=30, d=100, 3-sparse, α=0.1, T=400) at a drawn block of six
        seeds, with the cheaper grid λ ∈ {0.3, 1, 2}."""
        from hypothesis import strategies as st

        return st.integers(0, 2**16).map(
            lambda s: self._instance(s, 6, [0.3, 1.0, 2.0], 30, 100, 3, 0.1, 400.0))

    def predict(self, instance: Instance) -> Prediction:
        p, e = instance.params, instance.extra
        gf_err, certs = [], []
        for X, y, b in zip(e["X_all"], e["y_all"], e["beta_star_all"], strict=True):
            sol = implicit_bias_solution(X, y, p["alpha"])
            gf_err.append(relative_error(sol.beta, b))
            certs.append(sol.certificate)
        return Prediction(
            label="test error non-decreasing in λ (GF at λ = 0), independent of β_m at equal λ",
            values={"direction": 1, "max_gap": p["max_gap"], "gf_error": np.asarray(gf_err),
                    "min_monotone_fraction": p["min_monotone_fraction"],
                    "gap_quantile": p["gap_quantile"]},
            certificate={"solver": certs[0].solver,
                         "accepted": all(c.accepted for c in certs),
                         "primal_residual": max(c.primal_residual for c in certs),
                         "optimality_residual": max(c.optimality_residual for c in certs)},
        )

    def simulate(self, instance: Instance) -> Simulation:
        p, e = instance.params, instance.extra
        lams = np.asarray(p["lams"], dtype=float)
        m_hi, m_lo = p["momenta"]
        S, L = len(p["seeds"]), lams.shape[0]
        # per seed: β_m = 0.9 at λ, β_m = 0.5 at λ, β_m = 0.5 at λ/ratio (equal γ/(1−β_m))
        lam_ctrl = lams * (1 - m_hi) / (1 - m_lo)
        gam = np.concatenate([stepsize_for(lams, m_hi), stepsize_for(lams, m_lo),
                              stepsize_for(lam_ctrl, m_lo)])
        mom = np.concatenate([np.full(L, m_hi), np.full(L, m_lo), np.full(L, m_lo)])
        X = np.repeat(e["X_all"], 3 * L, axis=0)
        y = np.repeat(e["y_all"], 3 * L, axis=0)
        run = heavy_ball(X, y, p["alpha"], np.tile(gam, S), np.tile(mom, S), [p["horizon"]])
        bstar = np.repeat(e["beta_star_all"], 3 * L, axis=0)
        err = (np.linalg.norm(run.final_beta - bstar, axis=1)
               / np.linalg.norm(bstar, axis=1)).reshape(S, 3, L)
        diverged = run.diverged.reshape(S, 3, L)
        values = {"lams": lams, "control_lams": lam_ctrl, "errors": err[:, :2],
                  "control_errors": err[:, 2], "momenta": [m_hi, m_lo],
                  "max_residual": float(np.max(run.residual)),
                  "iterations": int(run.iterations.max())}
        if diverged.any():
            bad = [(p["seeds"][s], ["0.9", "0.5", "0.5 (control)"][g], float(lams[i]))
                   for s, g, i in zip(*np.nonzero(diverged), strict=True)]
            return Simulation(values=values, diverged=True,
                              info={"reason": f"heavy ball diverged (seed, β_m, λ): {bad}"})
        return Simulation(values=values)

    def compare(self, instance: Instance, prediction: Prediction,
                simulation: Simulation) -> Comparison:
        pv, sv = prediction.values, simulation.values
        err = np.asarray(sv["errors"], dtype=float)  # (S, 2, L)
        gf = np.asarray(pv["gf_error"], dtype=float)
        seq = np.concatenate([np.broadcast_to(gf[:, None, None], (*err.shape[:2], 1)), err],
                             axis=2)
        steps = np.diff(seq, axis=2) * float(pv["direction"])
        monotone = np.all(steps >= -self._SLACK, axis=2)
        frac = float(monotone.mean())
        gaps = np.max(np.abs(err[:, 0] - err[:, 1]), axis=1)
        q = float(np.quantile(gaps, pv["gap_quantile"]))
        ok_mono = frac >= pv["min_monotone_fraction"]
        ok_gap = q <= pv["max_gap"]
        res_ok = sv["max_residual"] <= self._RESIDUAL_TOL
        passed = ok_mono and ok_gap and res_ok
        # the deciding metric is the first failed check (the gap when all pass)
        metric = ("monotone_fraction" if not ok_mono else "gap_quantile" if not ok_gap
                  else "max_residual" if not res_ok else "gap_quantile")
        mean_err = err.mean(axis=0)
        return Comparison(
            passed=bool(passed), metric=metric,
            metrics={"monotone_fraction": frac, "gap_quantile": q,
                     "gap_median": float(np.median(gaps)), "gap_max": float(gaps.max()),
                     "max_residual": float(sv["max_residual"]),
                     "gf_error_mean": float(gf.mean()),
                     **{f"mean_error_beta_m_{m:g}_lambda_{lam:g}": float(mean_err[g, i])
                        for g, m in enumerate(sv["momenta"])
                        for i, lam in enumerate(sv["lams"])}},
            tolerance={"monotone_fraction": f">= {pv['min_monotone_fraction']}",
                       "gap_quantile": f"<= {pv['max_gap']}", "slack": self._SLACK,
                       "max_residual": self._RESIDUAL_TOL},
            message=(f"{frac:.0%} of the (seed, β_m) error sequences are "
                     f"{'non-decreasing' if pv['direction'] > 0 else 'non-increasing'} in λ; "
                     f"{pv['gap_quantile']:.0%} quantile of max_λ |err(λ, β_m=0.9) − "
                     f"err(λ, β_m=0.5)| = {q:.4f} (≤ {pv['max_gap']}); "
                     f"{err.shape[0]} seeds"),
        )

    def negative_controls(self, instance: Instance, prediction: Prediction,
                          simulation: Simulation) -> list[NegativeControl]:
        sv = simulation.values
        err = np.asarray(sv["errors"])
        paired = np.stack([err[:, 0], np.asarray(sv["control_errors"])], axis=1)
        return [
            NegativeControl(
                name="pair-by-time-step",
                description="β_m = 0.5 runs paired with β_m = 0.9 runs by equal γ/(1−β_m) "
                            "(λ/5) instead of equal λ: the errors are not β_m-independent",
                prediction=prediction,
                simulation=Simulation(values={**sv, "errors": paired}),
            ),
            NegativeControl(
                name="momentum-helps",
                description="the opposite claim: test error non-increasing in λ",
                prediction=Prediction("error non-increasing in λ",
                                      {**prediction.values, "direction": -1},
                                      prediction.certificate),
            ),
        ]

    def figures(self, instance, prediction, simulation, comparison) -> list[FigureSpec]:
        sv, pv = simulation.values, prediction.values
        lams = np.asarray(sv["lams"], dtype=float)
        err = np.asarray(sv["errors"])
        ctrl = np.asarray(sv["control_errors"])
        gf = float(np.mean(pv["gf_error"]))
        m_hi, m_lo = sv["momenta"]
        return [FigureSpec(
            name="momentum-sparsity",
            title="Sparse recovery: mean test error vs λ over seeds",
            xlabel="λ = γ/(1−β_m)²", ylabel="‖β − β*‖ / ‖β*‖ (mean over seeds)",
            series=(
                Series(f"β_m = {m_hi:g}", lams.tolist(), err[:, 0].mean(0).tolist(),
                       "linepoints"),
                Series(f"β_m = {m_lo:g}", lams.tolist(), err[:, 1].mean(0).tolist(),
                       "linepoints"),
                Series(f"β_m = {m_lo:g} at equal γ/(1−β_m) (control)", lams.tolist(),
                       ctrl.mean(0).tolist(), "points"),
                Series("gradient flow (λ = 0): argmin ψ_α", [float(lams[0]), float(lams[-1])],
                       [gf, gf], "reference"),
            ),
            xscale="log",
            caption="Equal λ gives nearly equal error for both β_m; the error grows with λ "
                    "from the gradient-flow value.",
        )]
