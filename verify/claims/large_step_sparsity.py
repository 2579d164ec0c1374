"""Claim ``large-step-sparsity``: with a large-then-small stepsize schedule, SGD's training loss
stabilises during the large-step phase, and a longer large-step phase gives a sparser (lower-ℓ1)
and better-generalising interpolator (Andriushchenko, Varre, Pillaud-Vivien & Flammarion,
ICML 2023, arXiv:2210.05337, Sec. 3; the regime and the criteria in
``docs/theory/large-steps.md`` §2.3–§2.6).

Convention (``docs/theory/conventions.md``): ``β = u ⊙ v``, ``u₀ = √2 α``, ``v₀ = 0``,
``L(β) = ‖Xβ − y‖²/(2n)``; SGD with one row per step. The runs are
:func:`dln_verify.numeric.schedules.run_schedule` with two phases (large, then small until the
relative residual is small); the stepsizes are fixed multiples of the stability scale
``γ* = 1/(c²‖β_ℓ1‖₁)`` of ``docs/theory/large-steps.md`` §2.4 (``c = |x_ij|``, ``β_ℓ1`` the
minimum-ℓ1 interpolator, from a certified LP).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from dln_verify.numeric.convex.certificate import Certificate
from dln_verify.numeric.convex.references import min_l1_interpolator
from dln_verify.numeric.instances import Instance, load_data
from dln_verify.numeric.parametrisations import uv_init
from dln_verify.numeric.schedules import run_generators, run_schedule
from dln_verify.numeric.validation import check_alpha, check_in_range
from dln_verify.verify.bibliography import ANDRIUSHCHENKO2023
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

__all__ = ["LargeStepSparsity", "plateau_slope"]

#: family-wise level of the three binomial tests (Bonferroni: ALPHA_TEST/3 each)
ALPHA_TEST = 1e-3
#: the statement's quantifier: each effect holds for a target with at least this probability
RATE = 0.8
#: the large and the small stepsize as multiples of the stability scale γ* = 1/(c²‖β_ℓ1‖₁)
C_LARGE, C_SMALL = 1.05, 0.5
#: the two large-step phase lengths compared (steps)
K_SHORT, K_LONG = 30, 300
#: plateau test: block means of (log k, log L_k) over the second half of the large phase,
#: least-squares slope a with its standard error; plateau ⇔ |a| ≤ t_{B−2}(1 − P/2)·SE
BLOCKS, PLATEAU_P = 15, 1e-3
#: relative residual at which the final (small-step) phase stops, and its step budget
TOL, MAX_STEPS = 3e-3, 30_000
#: default design: ±1 entries, n × d, targets s-sparse with entries ±1/√s
N, D, S = 40, 100, 10
ALPHA_DEFAULT = 0.1 / np.sqrt(2.0)  # u₀ = 0.1, the reference code's initialisation


def _t_quantile(q: float, dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(q, dof))


@functools.lru_cache(maxsize=1)
def plateau_z() -> float:
    """The plateau band in units of the slope's standard error: the two-sided level-PLATEAU_P
    t quantile with BLOCKS − 2 degrees of freedom (computed on first use: listing the
    catalogue must not import SciPy)."""
    return _t_quantile(1.0 - PLATEAU_P / 2, BLOCKS - 2)


def plateau_slope(times, losses, start: int, stop: int, blocks: int = BLOCKS):
    """Log-log slope of the loss over ``[start, stop]`` and its standard error.

    The recorded ``(log k, log L_k)`` with ``start ≤ k ≤ stop`` are averaged over ``blocks``
    consecutive blocks; the least-squares slope ``a`` of the block means and
    ``SE = σ̂/√Σ(x_b − x̄)²`` with ``σ̂²`` the residual variance (``blocks − 2`` degrees of
    freedom) are returned (``nan`` when a loss in the window is not finite and positive).

    Examples
    --------
    >>> import numpy as np
    >>> k = np.arange(1, 301)
    >>> a, se = plateau_slope(k, 5.0 * k ** -2.0, 150, 300)
    >>> round(a, 6), se < 1e-9
    (-2.0, True)
    """
    times = np.asarray(times, dtype=float)
    losses = np.asarray(losses, dtype=float)
    h = (times >= start) & (times <= stop) & (times > 0)
    if h.sum() < blocks or not np.all(np.isfinite(losses[h])) or np.any(losses[h] <= 0):
        return float("nan"), float("nan")
    x = np.array([b.mean() for b in np.array_split(np.log(times[h]), blocks)])
    y = np.array([b.mean() for b in np.array_split(np.log(losses[h]), blocks)])
    xc = x - x.mean()
    a = float((xc @ (y - y.mean())) / (xc @ xc))
    resid = y - y.mean() - a * xc
    se = float(np.sqrt((resid @ resid) / (blocks - 2) / (xc @ xc)))
    return a, se


class LargeStepSparsity(Claim):
    r"""Large-then-small SGD: the loss stabilises; a longer large phase is sparser and better.

    Claim (Andriushchenko, Varre, Pillaud-Vivien & Flammarion, ICML 2023, arXiv:2210.05337,
    abstract and Sec. 3: large step sizes make SGD "jump from one side of a valley to the other
    causing loss stabilization", which biases it toward sparse predictors, and "the longer large
    step sizes keep SGD high in the loss landscape valleys, the better the implicit
    regularization can operate and find sparse representations"), checked on a diagonal linear
    network in the regime of ``docs/theory/large-steps.md`` §2.4–§2.5: a ±1 design ``X``
    (``n = 40``, ``d = 100``), ``α = 0.1/√2`` (``u₀ = 0.1``), targets ``y = Xβ*`` with random
    10-sparse ``β*`` of entries ``±1/√10``, SGD with one row per step, a large phase of ``K``
    steps at ``γ_L = 1.05 γ*`` then ``γ_S = 0.5 γ*`` until the relative residual is ``3e-3``,
    ``γ* = 1/‖β_ℓ1‖₁`` the stability scale of the sparsest interpolator. (a) during the
    large phase of ``K = 300`` steps the loss stops decreasing: its log-log slope over the
    second half of the phase is within ``t·SE`` of 0; (b) ``K = 300`` gives a final predictor
    of lower ℓ1 norm and lower test error ``‖β − β*‖/‖β*‖`` than ``K = 30``.

    Statistics: each effect holds for a target with probability ``≥ 0.8``; over ``R``
    independent targets each is tested by an exact binomial test of ``H0: p ≥ 0.8`` at level
    ``1e-3/3`` (family-wise ``≤ 1e-3``). Negative controls: the small-step schedule stabilises
    (the plateau test applied to the run at ``γ_S`` throughout), longer is denser, longer
    generalises worse.
    """

    id = "large-step-sparsity"
    title = "Large-then-small SGD: the loss stabilises, a longer large phase is sparser"
    reference = ANDRIUSHCHENKO2023
    kind = "statistical"
    statement = (
        r"For $\beta = u\odot v$, $u_0 = 0.1\cdot\mathbb 1$ ($\alpha = 0.1/\sqrt2$), $v_0 = 0$, "
        r"a design $X\in\{\pm1\}^{40\times100}$ and $y = X\beta^*$ with $\beta^*$ 10-sparse of "
        r"entries $\pm1/\sqrt{10}$, SGD (one row per step) with $K$ steps at "
        r"$\gamma_L = 1.05\,\gamma^*$ followed by steps at $\gamma_S = 0.5\,\gamma^*$ until "
        r"$\|X\beta-y\|\le 3\cdot10^{-3}\|y\|$, where $\gamma^* = 1/\|\beta_{\ell_1}\|_1$ "
        r"($\beta_{\ell_1} = \arg\min\{\|\beta\|_1 : X\beta = y\}$) is the largest stepsize at "
        r"which an interpolator is linearly stable for SGD: (a) for $K = 300$ the training loss "
        r"stops decreasing in the large phase — the log-log slope $a$ of $L_k$ over "
        r"$150\le k\le300$ (15 block means) satisfies $|a| \le t_{13}(0.9995)\,\mathrm{SE}(a)$; "
        r"(b) $K = 300$ ends at a lower $\|\beta\|_1$ and a lower "
        r"$\|\beta-\beta^*\|/\|\beta^*\|$ than $K = 30$. Each effect holds for a target with "
        r"probability $\ge 0.8$; each is tested by an exact binomial test over independent "
        r"targets, family-wise level $10^{-3}$."
    )
    tolerances = (
        Tolerance("*.p_value", ">=", ALPHA_TEST / 3,
                  "exact binomial test of H0: P(effect holds for a target) ≥ 0.8 over R "
                  "independent targets (verify/stats.py), level α_test/3 with α_test = 1e-3 "
                  "family-wise (Bonferroni over the three effects): the effect tests reject "
                  "a true statement with probability ≤ 1e-3; with the reversal controls on "
                  "the same targets the quick profile keeps that level for per-target rates "
                  "≥ 0.96, the thorough one down to 0.8 (docs/theory/large-steps.md §2.6)"),
        Tolerance("max_residual", "<=", TOL,
                  "every compared run reached relative residual ‖Xβ − y‖/‖y‖ ≤ 3e-3 (the "
                  "final phase stops there); an interpolator lies within ℓ1 distance "
                  "√d·3e-3·‖y‖/σ_min(X) of the iterate, below the measured ℓ1 differences "
                  "(docs/theory/large-steps.md §2.5)"),
    )
    tolerance_note = (
        "Per target, (a) is decided by the plateau test of docs/theory/large-steps.md §2.5: the "
        "least-squares slope a of 15 block means of (log k, log L_k) over the second half of "
        "the 300-step large phase, with its standard error from the residual scatter; the loss "
        "'stops decreasing' when |a| ≤ t_13(1 − 5e-4)·SE = 4.22·SE, i.e. a stationary loss "
        "(slope 0) with independent Gaussian block means passes with probability 0.999. "
        "(b) compares the final predictors of K = 300 and K = 30 on the same target (with "
        "independent mini-batch sequences). Each effect is then tested over the R targets by "
        "an exact one-sided binomial test of H0: p ≥ 0.8 at level 1e-3/3 (family-wise 1e-3); with "
        "R = 12 (quick) a test rejects when ≤ 3 targets show the effect, power 0.8 at a true "
        "rate ≤ 0.20; R = 40 (thorough): rejects at ≤ 22, power 0.8 at ≤ 0.50. The stepsizes "
        "are fixed multiples of γ* = 1/(c²‖β_ℓ1‖₁) (c = |x_ij|), the stability scale of "
        "docs/theory/large-steps.md §2.4, not tuned per seed. A run that blows up counts as "
        "a target without the effect, and so does a run that spends 3e4 final-phase steps "
        "above residual 3e-3 (inconclusive only if more than a quarter of the runs do)."
    )
    options = {
        "data": Option("data", "your own .npz: its X (n×d, n < d, every entry ±c) is the "
                       "design; targets y = Xβ* with random s-sparse ±1/√s β*, s = n/4, are "
                       "drawn per replicate (its y is not used)", "path", "FILE.npz"),
        "alpha": Option("alpha", "initialisation scale α in [0.02, 0.1] (u0 = √2α; default "
                        "0.1/√2): the per-sample curvature at initialisation, 2α²dc², must stay "
                        "below 2/γ_L (docs/theory/large-steps.md §2.4)", "float", "A"),
        "replicates": Option("replicates", "number of independent targets R in [8, 200] "
                             "(default 12, thorough 40)", "int", "R"),
    }

    def default_instance(self, seed: int = 0, profile: str = "quick", data=None,
                         alpha: float | None = None, replicates: int | None = None,
                         **options: Any) -> Instance:
        alpha = ALPHA_DEFAULT if alpha is None else float(
            check_in_range(check_alpha(alpha), "alpha", 0.02, 0.1))
        R = (12 if profile == "quick" else 40) if replicates is None else replicates
        if isinstance(R, bool) or not isinstance(R, int | np.integer) or not 8 <= R <= 200:
            raise ValueError(f"replicates must be an integer in [8, 200], got {R!r}")
        children = np.random.SeedSequence(seed).spawn(2)
        rng = np.random.default_rng(children[0])
        if data is None:
            X = rng.choice([-1.0, 1.0], size=(N, D))
            where = f"±1 design X ({N} × {D})"
        else:
            X, _ = load_data(data, kind="regression", name="--data")
            where = f"user design {data}"
        n, d = X.shape
        if n >= d:
            raise ValueError(f"--data: X must have n < d (overparametrised), got {X.shape}")
        c = float(np.abs(X).max())
        if not np.allclose(np.abs(X), c, rtol=1e-12, atol=0.0) or c == 0:
            raise ValueError("--data: every entry of X must be ±c for one c > 0 (the stability "
                             "scale 1/(c²‖β_ℓ1‖₁) of docs/theory/large-steps.md §2.4 needs "
                             "equal |x_ij|)")
        s = S if data is None else max(1, n // 4)
        stars = np.zeros((R, d))
        for r in range(R):
            supp = rng.choice(d, size=s, replace=False)
            stars[r, supp] = rng.choice([-1.0, 1.0], size=s) / np.sqrt(s)
        Y = stars @ X.T
        sols = [min_l1_interpolator(X, Y[r]) for r in range(R)]
        l1_min = np.array([sol.objective for sol in sols])
        cert = Certificate.combine([sol.certificate for sol in sols])
        gamma_star = 1.0 / (c**2 * l1_min)
        return Instance(
            X=X, y=Y[0], seed=seed,
            params={"alpha": alpha, "c_large": C_LARGE, "c_small": C_SMALL,
                    "k_short": K_SHORT, "k_long": K_LONG, "replicates": int(R),
                    "sparsity": int(s), "rate": RATE, "alpha_test": ALPHA_TEST,
                    "entry_size": c, "init_curvature": float(2 * alpha**2 * d * c**2),
                    "sgd_seed": int(children[1].generate_state(1)[0])},
            name=f"sparse_regression: {where}, {R} targets with {s}-sparse ±1/√{s} β*",
            extra={"Y": Y, "beta_star": stars, "l1_min": l1_min, "gamma_star": gamma_star,
                   "certificate": cert.as_dict()},
        )

    def instances(self):
        """The default design at a drawn seed, with 8 targets (the smallest allowed)."""
        from hypothesis import strategies as st

        return st.integers(0, 2**16).map(lambda s: self.default_instance(s, replicates=8))

    def predict(self, instance: Instance) -> Prediction:
        return Prediction(
            "large phase stabilises; longer large phase: lower ℓ1, lower test error",
            {"large_plateau": 1, "small_plateau": 0, "l1": -1, "error": -1,
             "gamma_star": np.asarray(instance.extra["gamma_star"]).tolist()},
            instance.extra["certificate"])

    def simulate(self, instance: Instance) -> Simulation:
        p, e = instance.params, instance.extra
        X, Y, stars = instance.X, e["Y"], e["beta_star"]
        n, d = X.shape
        gs = np.asarray(e["gamma_star"], dtype=float)
        R = Y.shape[0]
        if np.any(p["init_curvature"] * p["c_large"] * gs >= 2.0):
            return Simulation({}, outside_assumptions=True,
                              info={"reason": "the per-sample curvature at initialisation "
                                              f"2α²dc² = {p['init_curvature']:.3g} exceeds "
                                              "2/γ_L: the large step is unstable at the start "
                                              "(docs/theory/large-steps.md §2.4)"})
        u0, v0 = uv_init(p["alpha"], d)
        kS, kL = int(p["k_short"]), int(p["k_long"])
        gl, gsm = p["c_large"] * gs, p["c_small"] * gs
        # per target: short large phase, long large phase, small steps throughout (control)
        gam = np.stack([np.stack([gl, gsm], 1), np.stack([gl, gsm], 1),
                        np.stack([gsm, gsm], 1)], 1).reshape(3 * R, 2)
        steps = np.tile(np.array([[kS, MAX_STEPS], [kL, MAX_STEPS], [kL, MAX_STEPS]]), (R, 1))
        res = run_schedule(X, np.repeat(Y, 3, axis=0), u0, v0, gam, steps, batch_size=1,
                           rng=run_generators(p["sgd_seed"], 3 * R), tol=TOL, record_every=1)
        if res.diverged.sum() > res.diverged.size / 4:
            return Simulation({}, diverged=True,
                              info={"reason": f"{int(res.diverged.sum())} of "
                                              f"{res.diverged.size} runs blew up (more than a "
                                              "quarter; docs/theory/large-steps.md §2.5)"})
        spent = ~res.converged & ~res.diverged
        if spent.sum() > res.converged.size / 4:
            return Simulation({}, inconclusive=True,
                              info={"reason": f"{int(spent.sum())} of {spent.size} runs spent "
                                              f"{MAX_STEPS} final-phase steps above residual "
                                              f"{TOL}"})
        bad = (res.diverged | spent).reshape(R, 3)
        beta = res.final_beta.reshape(R, 3, d)
        l1 = np.abs(beta).sum(axis=2)
        err = np.linalg.norm(beta - stars[:, None, :], axis=2) / np.linalg.norm(
            stars, axis=1)[:, None]
        resid = (np.linalg.norm(res.final_beta @ X.T - np.repeat(Y, 3, axis=0), axis=1)
                 / np.linalg.norm(np.repeat(Y, 3, axis=0), axis=1)).reshape(R, 3)
        slope = np.full((R, 2), np.nan)
        se = np.full((R, 2), np.nan)
        for r in range(R):
            for j, col in enumerate((1, 2)):
                if not bad[r, col]:
                    slope[r, j], se[r, j] = plateau_slope(res.times, res.losses[3 * r + col],
                                                          kL // 2, kL)
        first = res.losses[:3, : 3 * kL + 1]
        values = {
            "l1": np.where(bad, np.nan, l1), "error": np.where(bad, np.nan, err),
            "l1_ratio": np.where(bad, np.nan, l1 / e["l1_min"][:, None]),
            "bad": bad, "residual": np.where(bad, 0.0, resid),
            "slope": slope, "slope_se": se, "plateau_z": plateau_z(),
            "max_residual": float(np.where(bad, 0.0, resid).max()),
            "first_losses": first, "first_times": res.times[: first.shape[1]],
        }
        return Simulation(values, info={"bad_runs": int(bad.sum()),
                                        "diverged_runs": int(res.diverged.sum()),
                                        "max_steps": int(res.steps.max())})

    @staticmethod
    def _events(sv: dict, direction: dict) -> dict[str, np.ndarray]:
        """Per target, whether each predicted effect holds (a bad run: it does not)."""
        events = {}
        slope = np.asarray(sv["slope"], dtype=float)
        se = np.asarray(sv["slope_se"], dtype=float)
        flat = np.isfinite(slope) & (np.abs(slope) <= float(sv["plateau_z"]) * se)
        ok = np.isfinite(slope)
        for key, col in (("large_plateau", 0), ("small_plateau", 1)):
            g = direction.get(key, 0)
            if g:
                events[key] = flat[:, col] if g > 0 else ok[:, col] & ~flat[:, col]
        for key in ("l1", "error"):
            g = direction.get(key, 0)
            if g:
                v = np.asarray(sv[key], dtype=float)
                diff = v[:, 1] - v[:, 0]  # long minus short large phase
                events[key] = np.isfinite(diff) & (diff * g > 0)
        return events

    def compare(self, instance: Instance, prediction: Prediction,
                simulation: Simulation) -> Comparison:
        p, pv, sv = instance.params, prediction.values, simulation.values
        events = self._events(sv, pv)
        level = float(p["alpha_test"]) / 3
        metrics: dict[str, float] = {}
        checks = {}
        words = {("large_plateau", 1): "large phase stabilises",
                 ("large_plateau", -1): "large phase keeps decreasing",
                 ("small_plateau", 1): "small-step run stabilises",
                 ("small_plateau", -1): "small-step run keeps decreasing",
                 ("l1", -1): "longer is sparser (lower ℓ1)",
                 ("l1", 1): "longer is denser (higher ℓ1)",
                 ("error", -1): "longer has lower test error",
                 ("error", 1): "longer has higher test error"}
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
            word = words[(key, 1 if pv[key] > 0 else -1)]
            parts.append(f"{word}: {int(ev.sum())}/{R} (p = {test.p_value:.2g})")
        checks["residual"] = (self.tol("max_residual").holds(sv["max_residual"]),
                              "max_residual")
        first_key = next(iter(events))
        passed, metric, _ = verdict(checks, f"{first_key}.p_value")
        slope = np.asarray(sv["slope"], dtype=float)
        ratio = np.asarray(sv["l1_ratio"], dtype=float)
        err = np.asarray(sv["error"], dtype=float)
        metrics["max_residual"] = float(sv["max_residual"])
        metrics["replicates"] = int(slope.shape[0])
        metrics["large_median_slope"] = float(np.nanmedian(slope[:, 0]))
        metrics["small_median_slope"] = float(np.nanmedian(slope[:, 1]))
        metrics["plateau_z"] = float(sv["plateau_z"])
        for j, name in enumerate(("short", "long", "small_only")):
            metrics[f"{name}_median_l1_excess"] = float(np.nanmedian(ratio[:, j] - 1))
            metrics[f"{name}_median_error"] = float(np.nanmedian(err[:, j]))
        metrics["bad_runs"] = int(np.sum(sv["bad"]))
        return Comparison(bool(passed), metric, metrics,
                          message="; ".join(parts) + f"; each test of H0: rate ≥ "
                                  f"{p['rate']:g} at level {level:g}")

    def negative_controls(self, instance: Instance, prediction: Prediction,
                          simulation: Simulation) -> list[NegativeControl]:
        base = {k: v for k, v in prediction.values.items() if k != "gamma_star"}

        def ctrl(name, description, **flip):
            return NegativeControl(name, description,
                                   Prediction(description, {**base, **flip},
                                              prediction.certificate))

        return [
            ctrl("small-step-stabilises", "the small-step schedule (γ_S throughout) stabilises "
                 "in place of the large one: the plateau test on the run at 0.5·γ*",
                 large_plateau=0, small_plateau=1),
            ctrl("longer-is-denser", "a longer large phase gives a higher ℓ1 norm", l1=1),
            ctrl("longer-generalises-worse", "a longer large phase gives a higher test error",
                 error=1),
        ]

    def figures(self, instance, prediction, simulation, comparison) -> list[FigureSpec]:
        sv, p = simulation.values, instance.params
        kS, kL = int(p["k_short"]), int(p["k_long"])
        t = np.asarray(sv["first_times"], dtype=float)
        L = np.asarray(sv["first_losses"], dtype=float)
        keep = t >= 1
        figs = []
        series = [
            Series(f"large phase K = {kL}, then small", t[keep].tolist(),
                   L[1][keep].tolist(), "line"),
            Series(f"large phase K = {kS}, then small", t[keep].tolist(),
                   L[0][keep].tolist(), "line"),
            Series("small steps throughout", t[keep].tolist(), L[2][keep].tolist(), "line"),
        ]
        a, _ = float(np.asarray(sv["slope"])[0, 0]), None
        win = (t >= kL // 2) & (t <= kL)
        fin = np.isfinite(L[1][win]) & (L[1][win] > 0)
        if np.isfinite(a) and fin.all():
            lt, ll = np.log(t[win]), np.log(L[1][win])
            b = float(np.mean(ll) - a * np.mean(lt))
            series.append(Series(f"fitted slope over the plateau window: {a:+.2f}",
                                 [kL / 2, float(kL)], [float(np.exp(b) * (kL / 2) ** a),
                                                       float(np.exp(b) * kL**a)], "reference"))
        lo = float(np.nanmin(np.where(L[:, keep] > 0, L[:, keep], np.nan)))
        hi = float(np.nanmax(np.where(np.isfinite(L[:, keep]), L[:, keep], np.nan)))
        for k, lab in ((kL // 2, "plateau window start (K/2)"), (kL, "end of the large phase")):
            series.append(Series(lab, [float(k), float(k)], [lo, hi], "reference"))
        figs.append(FigureSpec(
            "loss-plateau", "Training loss of the first target (plateau window marked)",
            "iteration k", "L(β_k)", tuple(series), xscale="log", yscale="log",
            caption="During the large phase (γ_L = 1.05γ*) the loss stops decreasing (the "
                    "plateau window is the second half of the 300-step phase, with its fitted "
                    "log-log slope); the small-step run keeps decreasing. After the switch to "
                    "γ_S the loss falls to interpolation."))
        ratio = np.asarray(sv["l1_ratio"], dtype=float)
        err = np.asarray(sv["error"], dtype=float)
        for name, title, ylab, vals in (
                ("l1-vs-phase-length", "ℓ1 excess of the final predictor against the "
                 "large-phase length", "‖β‖₁/‖β_ℓ1‖₁ − 1", ratio - 1),
                ("error-vs-phase-length", "Test error of the final predictor against the "
                 "large-phase length", "‖β − β*‖/‖β*‖", err)):
            ser = []
            for r in range(vals.shape[0]):
                ser.append(Series("one target (K = 30 → 300)", [float(kS), float(kL)],
                                  np.maximum(vals[r, :2], 1e-6).tolist(), "linepoints"))
            med = float(np.nanmedian(np.maximum(vals[:, 2], 1e-6)))
            ser.append(Series("small steps throughout (median)", [float(kS), float(kL)],
                              [med, med], "reference"))
            figs.append(FigureSpec(name, title, "large-phase length K (steps)", ylab,
                                   tuple(ser), xscale="log", yscale="log",
                                   caption="One line per target: the longer large phase ends "
                                           "sparser (lower ℓ1, closer to the minimum-ℓ1 "
                                           "interpolator) and closer to β*; the dashed line "
                                           "is the small-step schedule without large phase."))
        return figs

    def notes(self, instance, prediction, simulation) -> list[str]:
        sv = simulation.values
        if "slope" not in sv:
            return []
        gs = np.asarray(instance.extra["gamma_star"])
        return [f"stability scale γ* = 1/(c²‖β_ℓ1‖₁), median over targets {np.median(gs):.3g}; "
                f"{simulation.info.get('bad_runs', 0)} runs blew up or stalled (counted as "
                "targets without the effect); largest run "
                f"{simulation.info.get('max_steps', 0)} steps"]
