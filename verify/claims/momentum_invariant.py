"""Claim ``momentum-invariant``: heavy-ball runs with equal ``λ = γ/(1−β_m)²`` follow one
momentum-gradient-flow path (Papazov, Pesme & Flammarion, AISTATS 2024, arXiv:2403.05293).

Convention (``docs/theory/conventions.md §0``): ``β = u ⊙ v``, ``u₀ = √2 α``, ``v₀ = 0``,
``L(β) = ‖Xβ − y‖²/(2n)``; heavy ball ``w_{k+1} = w_k − γ∇F(w_k) + β_m(w_k − w_{k−1})``,
``w_{−1} = w_0``; the momentum parameter is ``β_m`` (the paper's ``β``); iteration ``k`` sits at
time ``t_k = kγ/(1 − β_m)``. The runs are paired by the ``λ(γ, β_m)`` that SymPy derives from the
recursion (:func:`dln_verify.numeric.momentum_pairing.schedule_at_equal_lambda`), not by a
hand-written formula.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dln_verify.numeric.instances import Instance
from dln_verify.numeric.momentum import heavy_ball, momentum_gradient_flow, relative_path_error
from dln_verify.numeric.momentum_pairing import schedule_at_equal_lambda
from dln_verify.verify.bibliography import papazov2024
from dln_verify.verify.checks import verdict
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
from dln_verify.verify.compare import loglog_slope
from dln_verify.verify.inputs import DATA_OPTION, gaussian_instance

__all__ = ["MomentumInvariant"]


class MomentumInvariant(Claim):
    r"""Heavy ball with equal ``λ = γ/(1−β_m)²`` follows one momentum-gradient-flow path.

    Theorem (Papazov, Pesme & Flammarion, AISTATS 2024, arXiv:2403.05293, Sec. 3 "momentum gradient
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
    >>> from dln_verify.verify import registry
    >>> registry.get("momentum-invariant").check(seed=0).passed
    True
    """

    id = "momentum-invariant"
    title = "Heavy-ball paths depend on λ = γ/(1−β)² only (momentum gradient flow)"
    reference = papazov2024("Sec. 3, momentum gradient flow and λ = γ/(1−β)² (theorem no. "
                            "unverified)")
    kind = "order"
    options = {"data": DATA_OPTION}  # --alpha is not an input of this claim
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
    tolerances = (
        Tolerance("slope", "in", (0.8, 1.2),
                  "order 1 against the MGF: the leading SymPy correction −(1−β_m)λẅ/2 plus the "
                  "O(1−β_m) initial-velocity mismatch; the diffrax-style ±0.2 band "
                  "(docs/theory/regression.md §5.2)"),
        Tolerance("modified_slope", "in", (1.7, 2.3),
                  "order 2 against the modified flow: the O((1−β_m)²) terms λ²w⁽³⁾/6 + "
                  "λ³w⁽⁴⁾/12 and the O(h²) interpolation between iterates "
                  "(docs/theory/regression.md §5.2)"),
        Tolerance("error_closest_to_1", "<=", 0.05,
                  "collapse: at the β_m closest to 1 the relative path error must be small"),
    )
    tolerance_note = (
        "The constant C = error/(1−β_m) is reported, not bounded: it is instance dependent "
        "(0.085 on the reference instance of docs/theory/regression.md §5.2; 0.11 on this "
        "claim's seed-0 instance; up to 0.27 on hypothesis draws at α = 0.05). MGF by DOP853 "
        "at rtol 1e-11, far below the smallest error (~1e-5 for the modified flow)."
    )

    def default_instance(self, seed: int = 0, profile: str = "quick", **options: Any) -> Instance:
        momenta = [0.5, 0.8, 0.9, 0.95, 0.98]
        if profile == "thorough":
            momenta = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99]
        return gaussian_instance(
            seed, 20, 40, "gaussian_regression(n=20, d=40)", options.get("data"),
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
            return gaussian_instance(
                seed, n, 2 * n, f"gaussian_regression(n={n}, d={2 * n})",
                alpha=alpha, lam=lam, momenta=momenta, horizon=10.0, n_times=101,
                pairing_momentum=momenta[1],
            )

        return strategy()

    def predict(self, instance: Instance) -> Prediction:
        return Prediction(
            label="MGF path depends on λ only; error O(1−β_m), modified flow O((1−β_m)²)",
            values={"slope": 1.0, "modified_slope": 2.0,
                    "lambda_expression": schedule_at_equal_lambda(1.0, [0.5]).lam_expression,
                    "lambda": float(instance.params["lam"])},
        )

    def _group(self, instance: Instance, stepsizes, momenta, times, lam_ref: float):
        """Heavy ball at ``stepsizes``, compared with the MGF of ``lam_ref`` and with the
        modified flows of the SymPy-derived equal-λ schedule at ``lam_ref``."""
        p = instance.params
        X, y, alpha = instance.X, instance.y, p["alpha"]
        sched = schedule_at_equal_lambda(lam_ref, momenta)
        run = heavy_ball(X, y, alpha, stepsizes, momenta, times)
        ref = momentum_gradient_flow(X, y, alpha, lam_ref, float(times[-1]), times,
                                     path_only=True)
        errors = relative_path_error(run.beta, ref.beta)
        modified = []
        for lam_eff, c, path in zip(sched.modified_lambdas, sched.initial_velocity_factors,
                                    run.beta, strict=True):
            mod = momentum_gradient_flow(X, y, alpha, lam_eff, float(times[-1]), times,
                                         initial_velocity_factor=c, path_only=True)
            modified.append(relative_path_error(path[None], mod.beta)[0])
        return run, ref, errors, np.asarray(modified)

    def simulate(self, instance: Instance) -> Simulation:
        p = instance.params
        lam = float(p["lam"])
        momenta = np.asarray(p["momenta"], dtype=float)
        times = np.linspace(0.0, float(p["horizon"]), int(p["n_times"]))
        run, ref, errors, modified = self._group(
            instance, schedule_at_equal_lambda(lam, momenta).stepsizes, momenta, times, lam)
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
        v = simulation.values
        x = np.asarray(v["one_minus_momentum"])
        err, mod = np.asarray(v["errors"]), np.asarray(v["modified_errors"])
        slope = loglog_slope(x, err)
        mslope = loglog_slope(x, mod)
        const = float(np.max(err / x))
        closest = float(err[np.argmin(x)])
        t_slope, t_mod, t_collapse = (self.tol("slope"), self.tol("modified_slope"),
                                      self.tol("error_closest_to_1"))
        passed, metric, _ = verdict({"order": (t_slope.holds(slope), "slope"),
                                     "modified": (t_mod.holds(mslope), "modified_slope"),
                                     "collapse": (t_collapse.holds(closest),
                                                  "error_closest_to_1")}, "slope")
        msg = (f"path error vs 1−β_m: slope {slope:.3f} (band {t_slope.display}), modified-flow "
               f"slope {mslope:.3f} (band {t_mod.display}), error at β_m = {1 - x.min():g}: "
               f"{closest:.2e} ({t_collapse.display}); constant error/(1−β_m) ≤ {const:.3f}")
        return Comparison(
            passed=bool(passed), metric=metric,
            metrics={"slope": slope, "modified_slope": mslope, "error_closest_to_1": closest,
                     "constant": const, "max_error": float(err.max()),
                     "min_modified_error": float(mod.min())},
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
        return ["docs/theory/regression.md §5.2 (n=20, d=40, α=0.1, λ=0.5) quotes path errors "
                "4.2e-2 … 1.7e-3 "
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
