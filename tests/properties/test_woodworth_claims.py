"""Property tests: the Woodworth et al. 2020 claims hold on random instances inside their
assumptions (hypothesis draws sizes, scales and seeds; profile ``ci`` keeps it to a few)."""

from hypothesis import given

from dln_verify.verify import registry

HYPENTROPY = registry.get("gf-hypentropy")
DEPTH = registry.get("gf-depth")


@given(HYPENTROPY.instances())
def test_gf_hypentropy_on_random_instances(instance):
    ev = HYPENTROPY.check_instance(instance)
    assert ev.passed, ev.message
    assert all(c.rejected for c in ev.controls)


def test_gf_hypentropy_controls_reuse_the_predicted_solves_bit_for_bit(monkeypatch):
    """The controls that share an input with the prediction (ψ_α in "no-reference-point", the
    Bregman projection in "alpha-squared-not-doubled") get the same floats as a fresh solve,
    without solving again: 4 + 4 solves, not 12."""
    import numpy as np

    import dln_verify.verify.claims.gf_hypentropy as module
    from dln_verify.numeric.convex import implicit_bias_solution

    calls = []

    def counted(*args, **kwargs):
        calls.append(args[2])
        return implicit_bias_solution(*args, **kwargs)

    monkeypatch.setattr(module, "implicit_bias_solution", counted)
    inst = HYPENTROPY.default_instance(seed=3)
    pred = HYPENTROPY.predict(inst)
    controls = {c.name: c.prediction for c in HYPENTROPY.negative_controls(inst, pred, None)}
    assert len(calls) == 8
    a_u, a_v = np.asarray(inst.params["a_u"]), np.asarray(inst.params["a_v"])
    scale = np.sqrt((a_u**2 - a_v**2) / 2.0)
    fresh = implicit_bias_solution(inst.X, inst.y, scale, reference=a_u * a_v).beta
    assert np.array_equal(controls["alpha-squared-not-doubled"].values["unbalanced"], fresh)
    for a, got in zip(inst.params["alpha"], controls["no-reference-point"].values["balanced"],
                      strict=True):
        assert np.array_equal(got, implicit_bias_solution(inst.X, inst.y, a).beta)
    no_ref = implicit_bias_solution(inst.X, inst.y, scale).beta
    assert np.array_equal(controls["no-reference-point"].values["unbalanced"], no_ref)
    assert not np.array_equal(no_ref, fresh)  # the control differs where it should
    # a new instance (same seed, new arrays) is solved again, not served from the memo
    HYPENTROPY.predict(HYPENTROPY.default_instance(seed=3))
    assert len(calls) == 12


@given(DEPTH.instances())
def test_gf_depth_on_random_instances(instance):
    ev = DEPTH.check_instance(instance)
    assert ev.passed, ev.message


LIMITS = registry.get("gf-limits")


@given(LIMITS.instances())
def test_gf_limits_on_random_seeds(instance):
    ev = LIMITS.check_instance(instance)
    assert ev.passed, ev.message
    # the rich rate follows the ℓ1 dual certificate's margin, computed from the data
    assert 0 < ev.metrics["dual_margin"] < 1
    assert ev.metrics["rich_exponent_deviation"] <= 1.0
    wrong = next(c for c in ev.controls if c.name == "rich-rate-alpha^delta")
    assert wrong.rejected and wrong.metric_name == "rich_exponent_deviation"


def test_l1_dual_margin_by_hand():
    """Two equations, β* = e₁: certificates μ = (1, t), off-support |(1 + t)/2| and |t|, the
    best t = −1/3 gives max 1/3, margin 2/3; a column equal to e₁'s gives margin 0."""
    import numpy as np

    from dln_verify.verify.claims.gf_limits import l1_dual_margin

    X = np.array([[1.0, 0.5, 0.0], [0.0, 0.5, 1.0]])
    out = l1_dual_margin(X, np.array([1.0, 0.0, 0.0]))
    assert out["accepted"] and out["support_size"] == 1
    assert abs(out["margin"] - 2 / 3) < 1e-9
    twin = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert abs(l1_dual_margin(twin, np.array([1.0, 0.0, 0.0]))["margin"]) < 1e-9
