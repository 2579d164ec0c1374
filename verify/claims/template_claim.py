"""Template claim: copy this file to write a claim of your own (``docs/writing-a-claim.md``).

It is a complete, working claim of a simple true statement, and it is *not* registered: the
registry skips claim files whose name starts with ``template``. Copy it, change ``id``, and
``dln-verify check YOUR-ID --plugin YOUR_FILE.py`` runs it.

Statement
---------
Gradient descent ``β_{k+1} = β_k − η ∇L(β_k)`` on the least-squares loss
``L(β) = ‖Xβ − y‖²/(2n)`` with ``X ∈ R^{n×d}`` of full row rank (``n < d``), started at
``β_0 = 0`` with a step ``0 < η < 2/λ_max(XᵀX/n)``, converges to the minimum-ℓ2-norm
interpolator ``X⁺y``: every iterate stays in the row space of ``X`` (each gradient
``Xᵀ(Xβ − y)/n`` lies there), and on the row space GD contracts.

Assumptions
-----------
``n < d``, ``X`` of full row rank (a Gaussian ``X`` almost surely), step below ``2/λ_max``.

Reference
---------
S. Gunasekar, J. D. Lee, D. Soudry and N. Srebro (2018), "Characterizing implicit bias in
terms of optimization geometry", ICML 2018 (PMLR 80), Sec. 2 (the least-squares case),
arXiv:1802.08246.

Tolerances and where they come from
-----------------------------------
With ``η = 1/λ_max`` the row-space error contracts by ``ρ = 1 − λ_min⁺/λ_max`` per step, so
after ``K`` steps the relative error is at most ``ρ^K``. ``K`` is chosen from the data so that
``ρ^K ≤ 1e-12``; the check allows ``1e-9`` (float64 rounding of ``K`` matrix-vector products
adds ~``K·1e-16``). The iterate's component in the null space of ``X`` must stay below
``1e-12`` relative: it is exactly zero in exact arithmetic (the rounding of the projection
itself is ~``1e-15``).

Negative controls
-----------------
- ``forgets-the-initialisation``: the limit of GD started from ``β_0 = 𝟙``,
  ``X⁺y + (I − X⁺X)𝟙``: the right answer for another initialisation;
- ``ridge``: the ridge solution ``(XᵀX/n + 0.1 I)⁻¹Xᵀy/n``, a shrunk answer.

Example
-------
>>> from dln_verify.verify.claims.template_claim import MinNormLeastSquares
>>> evidence = MinNormLeastSquares().check(seed=0)
>>> evidence.status, [c.rejected for c in evidence.controls]
('pass', [True, True])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dln_verify.numeric.instances import Instance, gaussian_regression
from dln_verify.verify.checks import verdict
from dln_verify.verify.claim import (
    Claim,
    Comparison,
    FigureSpec,
    NegativeControl,
    Prediction,
    Reference,
    Simulation,
    Tolerance,
)
from dln_verify.verify.compare import identity_scatter, relative_error

__all__ = ["MinNormLeastSquares"]

#: contraction target ρ^K of the chosen number of steps, and the step budget (solver units)
CONTRACTION_TARGET, MAX_STEPS = 1e-12, 200_000


class MinNormLeastSquares(Claim):
    """Gradient descent from zero on least squares converges to the min-ℓ2 interpolator X⁺y.

    Theorem (Gunasekar, Lee, Soudry & Srebro, ICML 2018, Sec. 2, arXiv:1802.08246): for
    ``n < d``, full-row-rank ``X`` and ``0 < η < 2/λ_max(XᵀX/n)``, GD from ``β_0 = 0`` on
    ``‖Xβ − y‖²/(2n)`` converges to ``argmin{‖β‖₂ : Xβ = y} = X⁺y``.
    """

    id = "template-min-norm"
    title = "Gradient descent from zero on least squares converges to the min-ℓ2 interpolator"
    reference = Reference(
        authors="S. Gunasekar, J. D. Lee, D. Soudry and N. Srebro",
        year=2018,
        title="Characterizing implicit bias in terms of optimization geometry",
        venue="ICML 2018 (PMLR 80)",
        theorem="Sec. 2, least squares",
        arxiv="1802.08246",
    )
    kind = "tight"
    statement = (
        r"Gradient descent on $L(\beta) = \|X\beta - y\|^2/(2n)$ from $\beta_0 = 0$ with "
        r"$0 < \eta < 2/\lambda_{\max}(X^\top X/n)$ converges to "
        r"$X^+y = \arg\min\{\|\beta\|_2 : X\beta = y\}$ when $n < d$ and $X$ has full row rank."
    )
    tolerances = (
        Tolerance("relative_error", "<=", 1e-9,
                  "K steps are chosen so that the contraction ρ^K ≤ 1e-12; K float64 "
                  "matrix-vector products add ~K·1e-16"),
        Tolerance("null_space_fraction", "<=", 1e-12,
                  "the null-space component is exactly 0 in exact arithmetic (rounding only)"),
    )
    tolerance_note = (
        "The step is η = 1/λ_max(XᵀX/n), so the row-space error contracts by "
        "ρ = 1 − λ_min⁺/λ_max per step; the number of steps is computed from the data."
    )

    def default_instance(self, seed: int = 0, profile: str = "quick", **options: Any) -> Instance:
        n, d = (10, 30) if profile == "quick" else (40, 120)
        X, y = gaussian_regression(n, d, seed)
        return Instance(X, y, seed, {"n": n, "d": d}, name=f"gaussian_regression({n}, {d})")

    def instances(self):
        from hypothesis import strategies as st

        @st.composite
        def draw(draw_):
            seed = draw_(st.integers(0, 10_000))
            n = draw_(st.integers(2, 12))
            d = draw_(st.integers(n + 2, 3 * n + 2))
            X, y = gaussian_regression(n, d, seed)
            return Instance(X, y, seed, {"n": n, "d": d}, name="hypothesis draw")

        return draw()

    def predict(self, instance: Instance) -> Prediction:
        beta = np.linalg.pinv(instance.X) @ instance.y
        residual = relative_error(instance.X @ beta, instance.y)
        return Prediction("X⁺y (minimum-ℓ2 interpolator)", {"beta": beta},
                          {"solver": "numpy.linalg.pinv", "accepted": bool(residual <= 1e-10),
                           "primal_residual": residual})

    def simulate(self, instance: Instance) -> Simulation:
        X, y, n = instance.X, instance.y, instance.n
        eigs = np.linalg.eigvalsh(X @ X.T / n)  # the nonzero spectrum of XᵀX/n
        eta = 1.0 / eigs[-1]
        rho = 1.0 - eigs[0] / eigs[-1]
        steps = int(np.ceil(np.log(CONTRACTION_TARGET) / np.log(rho))) if rho > 0 else 1
        if steps > MAX_STEPS:
            return Simulation({}, inconclusive=True,
                              info={"reason": f"needs {steps} GD steps (condition number "
                                              f"{eigs[-1] / eigs[0]:.3g}), budget {MAX_STEPS}"})
        beta = np.zeros(instance.d)
        for _ in range(steps):
            beta -= eta * (X.T @ (X @ beta - y)) / n
        return Simulation({"beta": beta}, info={"steps": steps, "stepsize": eta})

    def compare(self, instance: Instance, prediction: Prediction,
                simulation: Simulation) -> Comparison:
        beta, pred = simulation.values["beta"], prediction.values["beta"]
        err = relative_error(beta, pred)
        # the iterate's component outside the row space of X (the theorem's mechanism: zero)
        row = np.linalg.pinv(instance.X) @ (instance.X @ beta)
        null_fraction = float(np.linalg.norm(beta - row) / max(np.linalg.norm(beta), 1e-300))
        passed, metric, _ = verdict(
            {"limit": (self.tol("relative_error").holds(err), "relative_error"),
             "row_space": (self.tol("null_space_fraction").holds(null_fraction),
                           "null_space_fraction")}, "relative_error")
        return Comparison(passed, metric,
                          {"relative_error": err, "null_space_fraction": null_fraction},
                          message=f"‖β_GD − β_pred‖/‖β_pred‖ = {err:.2e} "
                                  f"({self.tol('relative_error').display})")

    def negative_controls(self, instance: Instance, prediction: Prediction,
                          simulation: Simulation) -> list[NegativeControl]:
        X, y, n, d = instance.X, instance.y, instance.n, instance.d
        pinv = np.linalg.pinv(X)
        other_init = prediction.values["beta"] + (np.eye(d) - pinv @ X) @ np.ones(d)
        ridge = np.linalg.solve(X.T @ X / n + 0.1 * np.eye(d), X.T @ y / n)
        return [
            NegativeControl("forgets-the-initialisation",
                            "the limit of GD from β₀ = 𝟙 (X⁺y plus the null-space part of 𝟙)",
                            Prediction("X⁺y + (I − X⁺X)𝟙", {"beta": other_init})),
            NegativeControl("ridge", "the ridge solution with λ = 0.1",
                            Prediction("ridge(0.1)", {"beta": ridge})),
        ]

    def figures(self, instance, prediction, simulation, comparison) -> list[FigureSpec]:
        return [FigureSpec("scatter", "GD limit vs X⁺y", "predicted β_i", "GD β_i",
                           identity_scatter(prediction.values["beta"], simulation.values["beta"],
                                            "coordinates"),
                           caption="Each coordinate of the GD iterate after K steps against "
                                   "the minimum-ℓ2 interpolator; points on the dashed line "
                                   "agree.")]
