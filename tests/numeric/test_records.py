"""Every simulator record uses the same field names; the old names are read-only aliases."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dln_verify.numeric.flow import gradient_flow_dual, gradient_flow_uv
from dln_verify.numeric.gd import gradient_descent
from dln_verify.numeric.instances import gaussian_regression, separable_classification
from dln_verify.numeric.mirror import builtin_potential, mirror_descent, mirror_flow
from dln_verify.numeric.momentum import heavy_ball, momentum_gradient_flow
from dln_verify.numeric.parametrisations import uv_init
from dln_verify.numeric.saddle_flow import integrate_dual_flow

SHARED = ("times", "time_unit", "beta", "final_beta", "diverged", "converged", "message")


@pytest.fixture(scope="module")
def records():
    X, y = gaussian_regression(5, 10, 0)
    Xc, yc = separable_classification(6, 10, 3)
    u0, v0 = uv_init(0.2, 10)
    pot = builtin_potential("quadratic")
    single = {
        "flow": gradient_flow_uv(X, y, u0, v0, t_max=1e3),
        "mgf": momentum_gradient_flow(X, y, 0.2, 0.1, 20.0, [0.0, 10.0, 20.0]),
        "dual": integrate_dual_flow(X, y, 1e-5, 2.0, n_eval=11),
    }
    batched = {
        "gd": gradient_descent(X, y, u0, v0, [0.1, 0.05], 20000, tol=1e-6, record_every=500),
        "hb": heavy_ball(X, y, 0.2, [0.01, 0.02], [0.9, 0.5], [0.0, 1.0, 2.0]),
        "mf": mirror_flow(Xc, yc, pot, [1.0, 3.0], loss=["exp", "logistic"]),
        "md": mirror_descent(Xc, yc, pot, [1e-3, 1e-2], [0, 10, 20]),
    }
    return single, batched


def test_single_run_records_share_names_and_types(records):
    single, _ = records
    for key, res in single.items():
        for name in SHARED:
            assert hasattr(res, name), (key, name)
        assert isinstance(res.converged, bool | np.bool_) and res.converged, key
        assert isinstance(res.diverged, bool | np.bool_) and not res.diverged, key
        assert isinstance(res.message, str) and res.message, key
        assert isinstance(res.time_unit, str), key
        assert res.beta.ndim == 2 and res.beta.shape[0] == res.times.shape[0], key
        assert res.final_beta.shape == (res.beta.shape[1],), key


def test_batched_records_share_names_with_batch_axis_first(records):
    _, batched = records
    for key, res in batched.items():
        B = 2
        for name in SHARED:
            assert hasattr(res, name), (key, name)
        for flag in (res.diverged, res.converged):
            assert isinstance(flag, np.ndarray) and flag.dtype == bool and flag.shape == (B,), key
        assert np.all(res.converged) and not np.any(res.diverged), key
        assert isinstance(res.message, tuple) and len(res.message) == B, key
        assert all(isinstance(m, str) and m for m in res.message), key
        assert res.beta.shape[:2] == (B, res.times.shape[0]), key
        assert res.final_beta.shape == (B, res.beta.shape[2]), key


def test_time_units(records):
    single, batched = records
    units = {k: r.time_unit for k, r in {**single, **batched}.items()}
    assert units == {"flow": "t", "mgf": "t", "dual": "tau = t/log(1/alpha)", "gd": "iteration",
                     "hb": "t", "mf": "log t", "md": "iteration"}


def test_final_beta_is_last_stored_state(records):
    single, batched = records
    np.testing.assert_allclose(single["flow"].final_beta, single["flow"].beta[-1])
    np.testing.assert_allclose(batched["gd"].final_beta, batched["gd"].beta[:, -1])
    np.testing.assert_allclose(batched["md"].final_beta, batched["md"].beta[:, -1])
    np.testing.assert_allclose(batched["mf"].final_beta, batched["mf"].beta[:, -1])
    hb = batched["hb"]
    np.testing.assert_allclose(hb.final_beta, hb.u * hb.v)


REMOVED = [
    ("flow", "t"),
    ("flow", "beta_final"),
    ("mgf", "status"),
    ("mgf", "success"),
    ("gd", "record_steps"),
]


@pytest.mark.parametrize(("key", "old"), REMOVED)
def test_removed_legacy_names_are_gone(records, key, old):
    single, batched = records
    assert not hasattr({**single, **batched}[key], old)


ALIASES = [
    ("dual", "tau", "times"),
    ("dual", "success", "converged"),
    ("mf", "log_t", "times"),
    ("mf", "messages", "message"),
    ("md", "steps", "times"),
]


@pytest.mark.parametrize(("key", "old", "new"), ALIASES)
def test_legacy_aliases_read_the_new_fields(records, key, old, new):
    single, batched = records
    res = {**single, **batched}[key]
    assert getattr(res, old) is getattr(res, new)
    prop = getattr(type(res), old)
    assert isinstance(prop, property) and prop.fset is None
    assert prop.__doc__ == f"Legacy alias of `{new}` (to be removed)."
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(res, new, None)


def test_dual_flow_and_gd_messages_say_what_happened():
    X, y = gaussian_regression(5, 10, 0)
    u0, v0 = uv_init(0.2, 10)
    res = gradient_descent(X, y, u0, v0, [0.1, 50.0], 5, tol=1e-300)
    assert "step budget n_steps = 5 spent" in res.message[0] and not res.converged[0]
    assert "diverged" in res.message[1] and res.diverged[1]
    dual = gradient_flow_dual(X, y, 0.1, t_max=1e-3)
    assert not dual.converged and not dual.diverged and "not converged" in dual.message
