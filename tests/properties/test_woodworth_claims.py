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


@given(DEPTH.instances())
def test_gf_depth_on_random_instances(instance):
    ev = DEPTH.check_instance(instance)
    assert ev.passed, ev.message


LIMITS = registry.get("gf-limits")


@given(LIMITS.instances())
def test_gf_limits_on_random_seeds(instance):
    ev = LIMITS.check_instance(instance)
    assert ev.passed, ev.message
    assert ev.metrics["rich_decay_exponent"] >= 0.25
