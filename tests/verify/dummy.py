"""A tiny, fast claim used to test the orchestration, CLI and report without real dynamics.

Claim: the mean of ``y`` equals ``X.mean(axis=1) @ ones``-free toy — here simply that averaging
many noisy copies of a number converges to it at rate n^{-1/2}. Its control predicts twice the
number. ``mode`` switches it into failing/diverging variants for the tests.
"""

from __future__ import annotations

import numpy as np

from dln_verify.numeric.instances import Instance
from dln_verify.verify.claim import (
    Claim,
    Comparison,
    FigureSpec,
    NegativeControl,
    Option,
    Prediction,
    Reference,
    Series,
    Simulation,
    Tolerance,
)


class DummyClaim(Claim):
    id = "dummy-mean"
    title = "Sample mean converges"
    reference = Reference("A. Author and B. Author", 2020, "A toy", "Toy Conf.", "Thm 1", "0000.0")
    statement = "The sample mean of $N$ draws is within $5/\\sqrt{N}$ of the mean."
    kind = "tight"
    tolerances = (Tolerance("abs_error_in_standard_errors", "<=", 5.0,
                            "a Gaussian mean is within 5 standard errors except w.p. 6e-7"),)
    tolerance_note = "5 standard errors."
    options = {"potential": Option("potential", "unused, accepted to test option routing")}
    mode = "ok"

    def default_instance(self, seed=0, profile="quick", potential=None):
        rng = np.random.default_rng(seed)
        return Instance(X=rng.standard_normal((2, 3)), y=np.ones(2), seed=seed,
                        params={"mean": 1.5, "N": 4000}, name="dummy")

    def predict(self, instance):
        accepted = self.mode != "uncertified"
        return Prediction("mean", {"mean": instance.params["mean"]},
                          {"status": "exact", "accepted": accepted})

    def simulate(self, instance):
        rng = np.random.default_rng(instance.seed)
        draws = instance.params["mean"] + rng.standard_normal(instance.params["N"])
        if self.mode == "diverge":
            return Simulation({"mean": float("inf")}, diverged=True, info={"reason": "overflow"})
        return Simulation({"mean": float(draws.mean()), "N": draws.size})

    def compare(self, instance, prediction, simulation):
        err = abs(prediction.values["mean"] - simulation.values["mean"])
        in_se = err * np.sqrt(simulation.values["N"])
        tol = self.tol("abs_error_in_standard_errors")
        return Comparison(tol.holds(in_se), "abs_error_in_standard_errors",
                          {"abs_error": err, "abs_error_in_standard_errors": in_se},
                          message=f"|error| = {in_se:.3g} standard errors ({tol.display})")

    def negative_controls(self, instance, prediction, simulation):
        if self.mode == "no-controls":
            return []
        wrong = 2.0 * prediction.values["mean"] if self.mode == "ok" else prediction.values["mean"]
        return [NegativeControl("doubled", "twice the mean", Prediction("2x", {"mean": wrong}))]

    def figures(self, instance, prediction, simulation, comparison):
        return [FigureSpec("mean", "toy", "x", "y",
                           (Series("sim", [0, 1], [0, simulation.values["mean"]], "points"),
                            Series("theory", [0, 1], [0, prediction.values["mean"]],
                                   "reference")))]
