"""Claim ``momentum-sparsity``: small λ helps sparse recovery; at equal λ the test error does
not depend on β_m (Papazov, Pesme & Flammarion, AISTATS 2024, arXiv:2403.05293, abstract and
sparse-recovery experiments; quantified in ``docs/theory/regression.md §5.4``).

Convention (``docs/theory/conventions.md §0``): ``β = u ⊙ v``, ``u₀ = √2 α``, ``v₀ = 0``,
``L(β) = ‖Xβ − y‖²/(2n)``; runs are paired by the SymPy-derived ``λ(γ, β_m)``
(:func:`dln_verify.numeric.momentum_pairing.schedule_at_equal_lambda`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dln_verify.numeric.convex import implicit_bias_solution
from dln_verify.numeric.instances import Instance, sparse_regression
from dln_verify.numeric.momentum import heavy_ball
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
from dln_verify.verify.compare import relative_error

__all__ = ["MomentumSparsity"]

#: an error sequence counts as non-decreasing in λ if no step falls by more than this: MGD stops
#: with a relative residual ≤ 6.4e-6 and the β_m = 0.5 runs differ from the MGF by O(1−β_m),
#: while real increases between grid points are ≥ 0.01
MONOTONE_SLACK = 2e-3


class MomentumSparsity(Claim):
    r"""Small λ helps sparse recovery: test error non-decreasing in λ, ~independent of β_m.

    Claim (Papazov, Pesme & Flammarion, AISTATS 2024, arXiv:2403.05293, abstract: "small values
    of λ help to recover sparse solutions"; quantified in ``docs/theory/regression.md`` §5.4): on
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
    reference = papazov2024("abstract and sparse-recovery experiments (λ small helps)")
    kind = "statistical"
    statement = (
        r"On sparse recovery ($n=30$, $d=100$, $\|\beta^*\|_0=3$, $\alpha=0.1$), heavy ball "
        r"with $\lambda=\gamma/(1-\beta_m)^2$ reaches a test error "
        r"$\|\beta-\beta^*\|/\|\beta^*\|$ that is non-decreasing in $\lambda$ (from the "
        r"gradient-flow value at $\lambda=0$) and nearly independent of $\beta_m$ at equal "
        r"$\lambda$: over seeds, $\ge 80\%$ of the sequences are monotone and the 75 % quantile "
        r"of $\max_\lambda|\mathrm{err}(\lambda,0.9)-\mathrm{err}(\lambda,0.5)|$ is $\le 0.02$."
    )
    tolerances = (
        Tolerance("monotone_fraction", ">=", 0.8,
                  "fraction of (seed, β_m) error sequences non-decreasing in λ; measured 59/60 "
                  "over 30 seeds; 0.8 keeps one atypical seed in six from deciding the verdict "
                  "(docs/theory/regression.md §5.4)"),
        Tolerance("gap_quantile", "<=", 0.02,
                  "75 % quantile over seeds of max_λ |err(λ, 0.9) − err(λ, 0.5)|; the reference "
                  "runs differ by ≤ 0.008 up to λ = 2 (docs/theory/regression.md §5.4)"),
        Tolerance("max_residual", "<=", 1e-4,
                  "≈ 15× the worst measured relative residual 6.4e-6: a residual r moves the "
                  "test error by ≲ 1.2 r ≤ 1.2e-4, 16× below the monotonicity slack"),
    )
    tolerance_note = (
        "Monotonicity slack 2e-3: MGD stops at 400 time units with relative residual "
        "‖Xβ−y‖/‖y‖ ≤ 6.4e-6 (measured), and the β_m = 0.5 runs differ from the MGF by "
        "O(1−β_m); real increases between grid points are ≥ 0.01. λ ≤ 2 only: at λ = 4 the "
        "β_m = 0.5 run has γ = 1 and diverges or leaves the MGF regime on some seeds "
        "(measured). Measured over 30 seeds (100–129, λ ∈ {0.02, 0.1, 0.3, 1, 2}): 59/60 "
        "sequences monotone, gap median 0.0055, 90 % quantile 0.0077, one outlier seed at "
        "0.050. Seed blocks are SeedSequence(seed).spawn(k) children (independent across "
        "seeds). The remaining move of β towards the interpolating set is ≈ ‖X⁺(Xβ−y)‖ ≤ "
        "r‖y‖/σ_min(X) ≈ r · 9.5/4.5 for this design; a run that has not reached the "
        "interpolation regime fails the check. These thresholds were set after a measurement "
        "over seeds, not derived; their false-rejection probability is not stated."
    )

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
                    "gap_quantile": 0.75},
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
            values={"direction": 1, "gf_error": np.asarray(gf_err),
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
        def gammas(lam_values, momentum):
            return np.array([schedule_at_equal_lambda(lam, [momentum]).stepsizes[0]
                             for lam in lam_values])

        gam = np.concatenate([gammas(lams, m_hi), gammas(lams, m_lo), gammas(lam_ctrl, m_lo)])
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
        monotone = np.all(steps >= -MONOTONE_SLACK, axis=2)
        frac = float(monotone.mean())
        gaps = np.max(np.abs(err[:, 0] - err[:, 1]), axis=1)
        q = float(np.quantile(gaps, pv["gap_quantile"]))
        passed, metric, _ = verdict(
            {"monotone": (self.tol("monotone_fraction").holds(frac), "monotone_fraction"),
             "gap": (self.tol("gap_quantile").holds(q), "gap_quantile"),
             "residual": (self.tol("max_residual").holds(sv["max_residual"]), "max_residual")},
            "gap_quantile")
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
            message=(f"{frac:.0%} of the (seed, β_m) error sequences are "
                     f"{'non-decreasing' if pv['direction'] > 0 else 'non-increasing'} in λ; "
                     f"{pv['gap_quantile']:.0%} quantile of max_λ |err(λ, β_m=0.9) − "
                     f"err(λ, β_m=0.5)| = {q:.4f} ({self.tol('gap_quantile').display}); "
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
