"""Claim ``sgd-vs-gd-sparsity``: on sparse regression, large stepsizes help SGD and hurt GD
(Even, Pesme, Gunasekar & Flammarion, NeurIPS 2023, arXiv:2302.08982, Sec. 4; quantified in
``docs/theory/large-steps.md`` §1).

Convention (``docs/theory/conventions.md``): ``β = u ⊙ v``, ``u₀ = √2 α``, ``v₀ = 0``,
``L(β) = ‖Xβ − y‖²/(2n)``; SGD draws ``b`` rows without replacement per step. The runs are
:func:`dln_verify.numeric.schedules.run_schedule` with one constant phase; the divergence
thresholds are bracketed per target by :func:`dln_verify.numeric.schedules.grid_threshold`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dln_verify.numeric.instances import Instance, load_data
from dln_verify.numeric.parametrisations import uv_init
from dln_verify.numeric.schedules import grid_threshold, run_generators, run_schedule
from dln_verify.numeric.validation import check_alpha, check_in_range
from dln_verify.verify.bibliography import EVEN2023
from dln_verify.verify.checks import verdict
from dln_verify.verify.claim import (
    Claim,
    Comparison,
    FigureSpec,
    NegativeControl,
    Option,
    Prediction,
    Series,
    Simulation,
    Tolerance,
)
from dln_verify.verify.stats import binomial_test_at_least

__all__ = ["SgdVsGdSparsity"]

#: family-wise level of the four binomial tests (Bonferroni: ALPHA_TEST/4 each)
ALPHA_TEST = 1e-3
#: the statement's quantifier: each effect holds for at least this fraction of targets
RATE = 0.8
#: stepsize fractions of the bracketed divergence threshold (low, high)
F_LOW, F_HIGH = 0.4, 0.8
#: "concentrated" / "spread evenly": the support's share of the gain against its share s/d of
#: the coordinates, κ = share·d/s, is ≥ KAPPA (concentrated) or ≤ KAPPA (even);
#: docs/theory/large-steps.md §1.3 predicts κ_GD ≈ d/(s(1 + (d − s)/n)) ≈ 8 and κ_SGD ≤ 1.9
KAPPA = 2.0
#: SGD's even-spread prediction needs ρ_b = (λ_max/tr H)·b(n−1)/(n−b) ≤ RHO_MAX
#: (docs/theory/large-steps.md §1.3)
RHO_MAX = 0.15
#: relative residual at which a run counts as having reached its interpolator, and its budget
TOL, MAX_STEPS = 3e-3, 100_000
#: threshold search: steps a grid stepsize must survive (GD, SGD); two grids (coarse ×2, fine)
SURVIVE_GD, SURVIVE_SGD = 200, 600


def _kappa(gain: np.ndarray, support: np.ndarray) -> np.ndarray:
    """κ = (Σ_{supp} gain / Σ gain) / (s/d) per run."""
    s = support.sum(axis=1)
    d = support.shape[1]
    return (gain * support).sum(axis=1) / gain.sum(axis=1) / (s / d)


def _rel(beta: np.ndarray, star: np.ndarray) -> np.ndarray:
    return np.linalg.norm(beta - star, axis=1) / np.linalg.norm(star, axis=1)


def threshold_bracket(X, Y, u0, v0, scale: float, survive: int, batch_size, seed: int):
    """Per target, ``(γ_lo, γ_hi)``: the largest stepsize of a ×2 grid then of a ×2^(1/4) grid
    below which no run diverged within ``survive`` steps, and the next grid point."""
    coarse = scale * 2.0 ** np.arange(0, 9)
    lo, hi = grid_threshold(X, Y, u0, v0, coarse, survive, batch_size=batch_size,
                            rng=run_generators(seed, Y.shape[0] * coarse.size))
    ok = np.isfinite(lo) & np.isfinite(hi)
    if not ok.all():
        return lo, hi
    fine_lo = np.empty_like(lo)
    fine_hi = np.empty_like(hi)
    # one fine grid per target: lo·2^(j/4), j = 0..4 (one batch of R × 5 runs)
    factors = 2.0 ** (np.arange(5) / 4)
    runs = run_schedule(X, np.repeat(Y, 5, axis=0), u0, v0,
                        (lo[:, None] * factors).reshape(-1, 1), [survive],
                        batch_size=batch_size, rng=run_generators(seed + 1, Y.shape[0] * 5),
                        tol=1e-10, record_every=survive)
    div = runs.diverged.reshape(-1, 5)
    for r in range(Y.shape[0]):
        first = int(np.argmax(div[r])) if div[r].any() else 5
        fine_lo[r] = lo[r] * factors[max(first - 1, 0)]
        fine_hi[r] = lo[r] * factors[first] if first < 5 else hi[r]
    return fine_lo, fine_hi


class SgdVsGdSparsity(Claim):
    r"""Large stepsizes help SGD and hurt GD on sparse regression; GD's gain sits on the support.

    Claim (Even, Pesme, Gunasekar & Flammarion, NeurIPS 2023, arXiv:2302.08982, abstract and
    Sec. 4: "large stepsizes consistently help SGD for sparse regression, but can hinder the
    recovery of sparse solutions for GD"; mechanism by their Theorem 1, quantified in
    ``docs/theory/large-steps.md`` §1): for a Gaussian design ``X`` (``n = 30``, ``d = 100``),
    ``α = 0.1`` and a target ``y = Xβ*`` with a random 3-sparse ``±1`` ``β*``, raising the
    stepsize from ``0.4`` to ``0.8`` of the divergence threshold lowers the test error
    ``‖β − β*‖/‖β*‖`` of SGD (``b = 1``) and raises that of GD; at ``0.8`` the accumulated gain
    ``Σ_k q(γ g_k)`` of GD is concentrated on the support (``κ ≥ 2``, κ the support's share of
    the gain over ``s/d``) and that of SGD spread evenly (``κ ≤ 2``).

    Statistics: each of the four effects holds for a target with probability ≥ 0.8 (the
    statement's "consistently"); over ``R`` independent targets each is tested by an exact
    binomial test of ``H0: p ≥ 0.8`` at level ``1e-3/4`` — family-wise false-rejection
    probability ≤ 1e-3 under the statement, whatever the seed. Negative controls: the claim with
    GD and SGD swapped, "GD's gain is spread evenly", "SGD's error rises", "GD's error falls".
    """

    id = "sgd-vs-gd-sparsity"
    title = "Large stepsizes help SGD and hurt GD on sparse regression (gain on the support)"
    reference = EVEN2023
    kind = "statistical"
    statement = (
        r"For $\beta = u\odot v$, $u_0 = \sqrt2\alpha$, $v_0 = 0$, $\alpha = 0.1$, Gaussian "
        r"$X\in\mathbb R^{30\times100}$ and $y = X\beta^*$ with $\beta^*$ 3-sparse $\pm1$: going "
        r"from $\gamma = 0.4\,\gamma_{\max}$ to $0.8\,\gamma_{\max}$ ($\gamma_{\max}$ the "
        r"divergence threshold of each algorithm on each target) lowers the test error "
        r"$\|\beta_\infty-\beta^*\|/\|\beta^*\|$ of SGD ($b = 1$) and raises that of GD; at "
        r"$0.8\,\gamma_{\max}$ the gain $\sum_k q(\gamma g_k)$ of GD is concentrated on the "
        r"support, $\kappa = \frac{\sum_{i\in S}\mathrm{gain}_i}{\sum_i \mathrm{gain}_i}"
        r"\cdot\frac{d}{s} \ge 2$, and that of SGD spread evenly, $\kappa \le 2$. Each effect "
        r"holds for a target with probability $\ge 0.8$; each is tested by an exact binomial "
        r"test over independent targets, family-wise level $10^{-3}$."
    )
    tolerances = (
        Tolerance("*.p_value", ">=", ALPHA_TEST / 4,
                  "exact binomial test of H0: P(effect holds for a target) ≥ 0.8 over R "
                  "independent targets (verify/stats.py), level α_test/4 with α_test = 1e-3 "
                  "family-wise (Bonferroni over the four effects): a true statement is "
                  "rejected with probability ≤ 1e-3 (docs/theory/large-steps.md §1.4)"),
        Tolerance("max_residual", "<=", TOL,
                  "every compared run reached relative residual ‖Xβ − y‖/‖y‖ ≤ 3e-3 (runs "
                  "stop there); the effects measured are ≥ 20 % changes of the test error "
                  "(docs/theory/large-steps.md §1.2)"),
    )
    tolerance_note = (
        "The statistical criteria are exact one-sided binomial tests (verify/stats.py) of "
        "H0: p ≥ 0.8 for each of the four effects, each at level 2.5e-4, so the family-wise "
        "false-rejection probability under the statement is ≤ 1e-3; the rate 0.8 is the "
        "statement's quantifier and κ = 2 the boundary between the predicted κ_SGD ≤ 1.9 and "
        "κ_GD ≈ 8 of docs/theory/large-steps.md §1.3, not thresholds fitted to seeds. With "
        "R = 12 targets (quick) a test rejects when ≤ 3 targets show the effect; its power is "
        "0.8 at a true rate ≤ 0.20 (R = 40, thorough: ≤ 21 targets, power 0.8 at ≤ 0.47). "
        "The divergence threshold is bracketed per target and per algorithm on a ×2 grid "
        "then a ×2^(1/4) grid (a grid stepsize survives 200 (GD) or 600 (SGD) steps without "
        "blow-up); a run that diverges at 0.8·γ_max "
        "counts as a target without the effect, and so does a run that spends its budget of "
        "1e5 steps without reaching residual 3e-3 (inconclusive only if more than a quarter "
        "of an algorithm's runs do). The design X is drawn once per seed and the "
        "targets independently given X, so the tests are exact conditionally on X."
    )
    options = {
        "data": Option("data", "your own .npz: its X (n×d, n < d) is the design; targets "
                       "y = Xβ* with random s-sparse ±1 β* are drawn per replicate (its y is "
                       "not used)", "path", "FILE.npz"),
        "alpha": Option("alpha", "initialisation scale α in [0.01, 0.3] (u0 = √2α; default "
                        "0.1): the weighted-ℓ1 picture of docs/theory/large-steps.md §1.1 "
                        "needs small α", "float", "A"),
        "stepsize_fraction": Option("stepsize_fraction", "the large stepsize as a fraction of "
                                    "the divergence threshold, in [0.5, 0.95] (default 0.8; "
                                    "the small one is 0.4)", "float", "F"),
        "batch_size": Option("batch_size", "SGD batch size b ≥ 1 (default 1); needs "
                             "ρ_b = (λ_max/tr H)·b(n−1)/(n−b) ≤ 0.15", "int", "B"),
        "replicates": Option("replicates", "number of independent targets R in [8, 200] "
                             "(default 12, thorough 40)", "int", "R"),
        "sparsity": Option("sparsity", "support size s of β* in [1, n/5] (default 3)", "int",
                           "S"),
    }

    def default_instance(self, seed: int = 0, profile: str = "quick", data=None,
                         alpha: float | None = None, stepsize_fraction: float | None = None,
                         batch_size: int | None = None, replicates: int | None = None,
                         sparsity: int | None = None, **options: Any) -> Instance:
        alpha = 0.1 if alpha is None else float(check_in_range(check_alpha(alpha),
                                                                "alpha", 0.01, 0.3))
        f_high = F_HIGH if stepsize_fraction is None else float(
            check_in_range(stepsize_fraction, "stepsize_fraction", 0.5, 0.95))
        R = (12 if profile == "quick" else 40) if replicates is None else replicates
        if isinstance(R, bool) or not isinstance(R, int | np.integer) or not 8 <= R <= 200:
            raise ValueError(f"replicates must be an integer in [8, 200], got {R!r}")
        children = np.random.SeedSequence(seed).spawn(2)
        rng = np.random.default_rng(children[0])
        if data is None:
            X = rng.standard_normal((30, 100))
            where = "gaussian X (30 × 100)"
        else:
            X, _ = load_data(data, kind="regression", name="--data")
            where = f"user design {data}"
        n, d = X.shape
        if n >= d:
            raise ValueError(f"--data: X must have n < d (overparametrised), got {X.shape}")
        s = 3 if sparsity is None else sparsity
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or not 1 <= s <= max(
                1, n // 5):
            raise ValueError(f"sparsity must be an integer in [1, n/5 = {max(1, n // 5)}], "
                             f"got {s!r}")
        b = 1 if batch_size is None else batch_size
        if isinstance(b, bool) or not isinstance(b, int | np.integer) or not 1 <= b < n:
            raise ValueError(f"batch_size must be an integer in [1, n − 1 = {n - 1}], got {b!r}")
        H = X.T @ X / n
        rho = float(np.linalg.eigvalsh(X @ X.T / n)[-1] / np.trace(H)
                    * b * (n - 1) / max(n - b, 1))
        stars = np.zeros((R, d))
        for r in range(R):
            supp = rng.choice(d, size=s, replace=False)
            stars[r, supp] = rng.choice([-1.0, 1.0], size=s)
        Y = stars @ X.T
        return Instance(
            X=X, y=Y[0], seed=seed,
            params={"alpha": alpha, "f_low": F_LOW, "f_high": f_high, "batch_size": int(b),
                    "replicates": int(R), "sparsity": int(s), "rate": RATE,
                    "alpha_test": ALPHA_TEST, "kappa": KAPPA, "rho_b": rho,
                    "sgd_seed": int(children[1].generate_state(1)[0])},
            name=f"sparse_regression: {where}, {R} targets with {s}-sparse ±1 β*",
            extra={"Y": Y, "beta_star": stars},
        )

    def instances(self):
        """The default design at a drawn seed, with 8 targets (the smallest allowed)."""
        from hypothesis import strategies as st

        return st.integers(0, 2**16).map(lambda s: self.default_instance(s, replicates=8))

    def predict(self, instance: Instance) -> Prediction:
        return Prediction("SGD error falls, GD error rises; GD gain concentrated, SGD even",
                          {"sgd_error": -1, "gd_error": 1, "gd_gain": 1, "sgd_gain": -1},
                          {"solver": "none (a direction claim)", "accepted": True})

    def simulate(self, instance: Instance) -> Simulation:
        p, e = instance.params, instance.extra
        X, Y, stars = instance.X, e["Y"], e["beta_star"]
        n, d = X.shape
        if p["rho_b"] > RHO_MAX:
            return Simulation({}, outside_assumptions=True,
                              info={"reason": f"ρ_b = {p['rho_b']:.3g} > {RHO_MAX}: with this "
                                              "batch size SGD's gain is not predicted to be "
                                              "spread evenly (docs/theory/large-steps.md §1.3)"})
        u0, v0 = uv_init(p["alpha"], d)
        R, b, seed = Y.shape[0], p["batch_size"], p["sgd_seed"]
        # the grid anchor: a stepsize scale of the data (1/(λ_max(H)·‖y‖/√n), or per sample)
        ysc = float(np.median(np.linalg.norm(Y, axis=1)) / np.sqrt(n))
        lam = float(np.linalg.eigvalsh(X @ X.T / n)[-1])
        per_sample = float(np.mean(np.sum(X**2, axis=1)))
        gd_lo, gd_hi = threshold_bracket(X, Y, u0, v0, 1.0 / (lam * ysc), SURVIVE_GD, None,
                                         seed)
        sgd_lo, sgd_hi = threshold_bracket(X, Y, u0, v0, b / (per_sample * ysc), SURVIVE_SGD,
                                           b, seed + 2)
        bad = ~(np.isfinite(gd_lo) & np.isfinite(gd_hi) & np.isfinite(sgd_lo)
                & np.isfinite(sgd_hi))
        if bad.any():
            return Simulation({}, inconclusive=True,
                              info={"reason": f"{int(bad.sum())} targets: no divergence "
                                              "threshold bracketed on the stepsize grid"})
        F = np.array([p["f_low"], p["f_high"]])
        out = {}
        for name, lo, bsz, sd in (("gd", gd_lo, None, seed + 4), ("sgd", sgd_lo, b, seed + 5)):
            res = run_schedule(X, np.repeat(Y, 2, axis=0), u0, v0,
                               (lo[:, None] * F).reshape(-1, 1), [MAX_STEPS], batch_size=bsz,
                               rng=run_generators(sd, 2 * R), tol=TOL, record_every=MAX_STEPS)
            # a run that neither converges nor blows up within the budget (GD near its
            # threshold can settle on an edge-of-stability oscillation) has not reached an
            # interpolator: like a diverged run it counts as a target without the effect;
            # only when more than a quarter of the runs stall is the check inconclusive
            spent = ~res.converged & ~res.diverged
            if spent.sum() > res.converged.size / 4:
                return Simulation({}, inconclusive=True,
                                  info={"reason": f"{name}: {int(spent.sum())} runs spent "
                                                  f"{MAX_STEPS} steps above residual {TOL}"})
            star2 = np.repeat(stars, 2, axis=0)
            err = _rel(res.final_beta, star2).reshape(R, 2)
            kap = _kappa(res.gain, star2 != 0).reshape(R, 2)
            resid = (np.linalg.norm(res.final_beta @ X.T - np.repeat(Y, 2, axis=0), axis=1)
                     / np.linalg.norm(np.repeat(Y, 2, axis=0), axis=1)).reshape(R, 2)
            div = (res.diverged | spent).reshape(R, 2)
            out[name] = {"error": np.where(div, np.nan, err), "kappa": np.where(div, np.nan, kap),
                         "diverged": div, "residual": np.where(div, 0.0, resid),
                         "gain_first": res.gain.reshape(R, 2, d)[0, 1]}
        values = {"gd_threshold": gd_lo, "gd_threshold_next": gd_hi, "sgd_threshold": sgd_lo,
                  "sgd_threshold_next": sgd_hi, "fractions": F.tolist(),
                  "support": (stars != 0), "max_residual": float(max(
                      out["gd"]["residual"].max(), out["sgd"]["residual"].max()))}
        for name in ("gd", "sgd"):
            for key, val in out[name].items():
                values[f"{name}_{key}"] = val
        return Simulation(values, info={"diverged_runs": int(out["gd"]["diverged"].sum()
                                                             + out["sgd"]["diverged"].sum())})

    @staticmethod
    def _events(sv: dict, direction: dict) -> dict[str, np.ndarray]:
        """Per target, whether each predicted effect holds (a diverged run: it does not)."""
        events = {}
        for alg in ("gd", "sgd"):
            err = np.asarray(sv[f"{alg}_error"], dtype=float)
            ratio = err[:, 1] / err[:, 0]
            sgn = direction[f"{alg}_error"]
            events[f"{alg}_error"] = np.isfinite(ratio) & (np.log(ratio) * sgn > 0)
            kap = np.asarray(sv[f"{alg}_kappa"], dtype=float)[:, 1]
            g = direction[f"{alg}_gain"]
            events[f"{alg}_gain"] = np.isfinite(kap) & (
                (kap >= KAPPA) if g > 0 else (kap <= KAPPA))
        return events

    def compare(self, instance: Instance, prediction: Prediction,
                simulation: Simulation) -> Comparison:
        p, pv, sv = instance.params, prediction.values, simulation.values
        events = self._events(sv, pv)
        level = float(p["alpha_test"]) / 4
        metrics: dict[str, float] = {}
        checks = {}
        words = {"gd_error": ("GD error rises", "GD error falls"),
                 "sgd_error": ("SGD error rises", "SGD error falls"),
                 "gd_gain": ("GD gain concentrated", "GD gain even"),
                 "sgd_gain": ("SGD gain concentrated", "SGD gain even")}
        parts = []
        for key, ev in events.items():
            R = int(ev.shape[0])
            test = binomial_test_at_least(int(ev.sum()), R, float(p["rate"]), level=level)
            metrics[f"{key}.count"] = int(ev.sum())
            metrics[f"{key}.p_value"] = test.p_value
            metrics[f"{key}.critical"] = test.critical
            metrics[f"{key}.size"] = test.size
            metrics[f"{key}.detectable_rate"] = test.detectable
            checks[key] = (self.tol("*.p_value").holds(test.p_value), f"{key}.p_value")
            word = words[key][0 if pv[key] > 0 else 1]
            parts.append(f"{word}: {int(ev.sum())}/{R} (p = {test.p_value:.2g})")
        checks["residual"] = (self.tol("max_residual").holds(sv["max_residual"]),
                              "max_residual")
        passed, metric, _ = verdict(checks, "sgd_error.p_value")
        metrics["max_residual"] = float(sv["max_residual"])
        metrics["replicates"] = int(next(iter(events.values())).shape[0])
        for alg in ("gd", "sgd"):
            err = np.asarray(sv[f"{alg}_error"], dtype=float)
            kap = np.asarray(sv[f"{alg}_kappa"], dtype=float)
            metrics[f"{alg}_median_error_ratio"] = float(np.nanmedian(err[:, 1] / err[:, 0]))
            metrics[f"{alg}_median_kappa"] = float(np.nanmedian(kap[:, 1]))
            metrics[f"{alg}_diverged_runs"] = int(np.sum(sv[f"{alg}_diverged"]))
        return Comparison(bool(passed), metric, metrics,
                          message="; ".join(parts) + f"; each test of H0: rate ≥ "
                                  f"{p['rate']:g} at level {level:g}")

    def negative_controls(self, instance: Instance, prediction: Prediction,
                          simulation: Simulation) -> list[NegativeControl]:
        base = dict(prediction.values)

        def ctrl(name, description, **flip):
            return NegativeControl(name, description,
                                   Prediction(description, {**base, **flip},
                                              prediction.certificate))

        return [
            ctrl("gd-sgd-swapped", "the claim with GD and SGD swapped: GD's error falls, "
                 "SGD's rises, SGD's gain is concentrated, GD's even",
                 gd_error=-1, sgd_error=1, gd_gain=-1, sgd_gain=1),
            ctrl("gd-gain-even", "GD's gain is spread evenly (κ_GD ≤ 2)", gd_gain=-1),
            ctrl("sgd-error-rises", "SGD's test error rises with the stepsize", sgd_error=1),
            ctrl("gd-error-falls", "GD's test error falls with the stepsize", gd_error=-1),
        ]

    def figures(self, instance, prediction, simulation, comparison) -> list[FigureSpec]:
        sv, p = simulation.values, instance.params
        d = instance.d
        supp = np.asarray(sv["support"])[0]
        # the gain per coordinate of the first target (support first), GD against SGD
        order = np.concatenate([np.flatnonzero(supp), np.flatnonzero(~supp)])
        idx = np.arange(d, dtype=float)
        figs = []
        gd_first = np.asarray(sv["gd_gain_first"])
        sgd_first = np.asarray(sv["sgd_gain_first"])
        figs.append(FigureSpec(
            "gain-per-coordinate", "Gain Σ_k q(γ g_k) per coordinate at 0.8·γ_max (first target)",
            "coordinate (support first)", "gain / mean gain",
            (Series("GD", idx.tolist(), (gd_first[order] / gd_first.mean()).tolist(),
                    "points"),
             Series(f"SGD (b = {p['batch_size']})", idx.tolist(),
                    (sgd_first[order] / sgd_first.mean()).tolist(), "points"),
             Series("even spread", [0.0, float(d - 1)], [1.0, 1.0], "reference"),
             Series("end of the support", [supp.sum() - 0.5] * 2,
                    [float(min(gd_first.min() / gd_first.mean(),
                               sgd_first.min() / sgd_first.mean())),
                     float(max(gd_first.max() / gd_first.mean(),
                               sgd_first.max() / sgd_first.mean()))], "reference")),
            yscale="log",
            caption="The first target's gain per coordinate, normalised by its mean, the "
                    "support's coordinates first (left of the dotted line): GD's gain is "
                    "largest there, SGD's stays near the even level."))
        R = np.asarray(sv["gd_kappa"]).shape[0]
        figs.append(FigureSpec(
            "kappa-per-target", "Support share of the gain over s/d (κ) per target",
            "target", "κ at 0.8·γ_max",
            (Series("GD", list(range(R)), np.asarray(sv["gd_kappa"])[:, 1].tolist(), "points"),
             Series(f"SGD (b = {p['batch_size']})", list(range(R)),
                    np.asarray(sv["sgd_kappa"])[:, 1].tolist(), "points"),
             Series("κ = 2 (concentrated above, even below)", [0, R - 1], [KAPPA, KAPPA],
                    "reference"),
             Series("κ = 1 (perfectly even)", [0, R - 1], [1.0, 1.0], "reference")),
            yscale="log",
            caption="docs/theory/large-steps.md §1.3 predicts κ_GD ≈ 8 and κ_SGD ≲ 1.9."))
        F = sv["fractions"]
        series = []
        for alg, label in (("gd", "GD"), ("sgd", f"SGD (b = {p['batch_size']})")):
            err = np.asarray(sv[f"{alg}_error"], dtype=float)
            for r in range(err.shape[0]):
                series.append(Series(label, list(F), err[r].tolist(), "linepoints"))
            level = float(np.nanmedian(err[:, 0]))
            series.append(Series(f"{label.split(' ')[0]}: no change (median at 0.4)", list(F),
                                 [level, level], "reference"))
        figs.append(FigureSpec(
            "error-vs-stepsize", "Test error at 0.4 and 0.8 of the divergence threshold",
            "γ / γ_max", "‖β − β*‖ / ‖β*‖", tuple(series), yscale="log",
            caption="One line per target and algorithm: SGD's lines fall, GD's rise; the dashed "
                    "lines are the no-effect reference (each algorithm's median error at 0.4)."))
        return figs

    def notes(self, instance, prediction, simulation) -> list[str]:
        sv = simulation.values
        if "gd_threshold" not in sv:
            return []
        return [f"divergence thresholds (lower bracket end), median over targets: GD "
                f"{np.median(sv['gd_threshold']):.3g}, SGD {np.median(sv['sgd_threshold']):.3g}; "
                f"{simulation.info.get('diverged_runs', 0)} runs diverged at the compared "
                "stepsizes (counted as targets without the effect)"]
