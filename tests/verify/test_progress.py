"""Progress from inside a claim's run (dln_verify.numeric.progress): monotone, observational.

The callback must see the check's phases and the simulators' own units, progress must never go
backwards within a scope, and nothing computed may depend on whether anybody listens.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from dln_verify.numeric import progress
from dln_verify.numeric.instances import gaussian_regression
from dln_verify.numeric.momentum import heavy_ball, momentum_gradient_flow
from dln_verify.numeric.progress import (
    NULL_SCOPE,
    advance,
    progress_scope,
    reporting,
    track_time,
)
from dln_verify.numeric.saddle_flow import integrate_dual_flow
from dln_verify.verify import registry


def _by_scope(events):
    scopes: dict[int, list] = {}
    for ev in events:
        scopes.setdefault(ev.scope_id, []).append(ev)
    return scopes


def _assert_well_formed(events):
    for evs in _by_scope(events).values():
        kinds = [e.kind for e in evs]
        assert kinds[0] == "start" and kinds[-1] == "end" and "start" not in kinds[1:]
        done = [e.done for e in evs]
        assert all(b >= a for a, b in zip(done, done[1:], strict=False)), done
        if evs[0].total is not None:
            assert max(done) <= evs[0].total


def test_scope_reports_start_monotone_advances_and_end():
    events = []
    with reporting(events.append), progress_scope(5, "it", "loop") as scope:
        scope.advance(2)
        scope.advance_to(1)  # smaller: ignored
        scope.advance_to(float("nan"))  # ignored
        advance(1)  # module-level: the innermost scope
        scope.advance_to(99)  # clipped to the total
    assert [(e.kind, e.done) for e in events] == [
        ("start", 0.0), ("advance", 2.0), ("advance", 3.0), ("advance", 5.0), ("end", 5.0)]
    assert events[0].unit == "it" and events[0].labels == ("loop",)


def test_nested_scopes_carry_depth_and_labels():
    events = []
    with reporting(events.append), progress_scope(label="simulate"):
        with progress_scope(3, "t", "flow") as inner:
            inner.advance(3)
    inner_events = [e for e in events if e.label == "flow"]
    assert {e.depth for e in inner_events} == {1}
    assert inner_events[0].labels == ("simulate", "flow")
    _assert_well_formed(events)


def test_without_a_callback_everything_is_a_no_op():
    assert not progress.active()
    with progress_scope(-1, "it", "not even validated") as scope:
        assert scope is NULL_SCOPE and not scope.active
        scope.advance(1)
        advance(5)
    rhs = lambda t, y: -y  # noqa: E731
    assert track_time(rhs, NULL_SCOPE) is rhs


def test_bad_reports_are_refused():
    with reporting(lambda ev: None):
        with pytest.raises(ValueError, match="total"):
            with progress_scope(float("inf"), "t", "x"):
                pass
        with progress_scope(1, "t", "x") as scope, pytest.raises(ValueError, match="advance"):
            scope.advance(-1)
    with pytest.raises(TypeError, match="callable"):
        with reporting(3):
            pass


def test_a_check_reports_its_phases_and_monotone_simulator_progress():
    events = []
    with reporting(events.append):
        evidence = registry.get("gf-depth").check(seed=0)
    assert evidence.passed
    _assert_well_formed(events)
    phases = [e.label for e in events if e.depth == 0 and e.kind == "start"]
    assert phases == ["predict", "simulate", "controls"]
    flows = [evs for evs in _by_scope(events).values() if evs[0].unit == "decades"]
    assert len(flows) == len(evidence.parameters["alpha"])  # one per α
    for evs in flows:
        assert evs[0].labels[0] == "simulate" and "depth-3 gradient flow" in evs[0].label
        # the run stops at residual <= 1e-10: it has covered (almost) all its decades
        assert evs[-1].done >= 0.95 * evs[0].total
    controls = [e for e in events if e.label == "controls" and e.kind == "end"]
    assert controls[0].done == len(evidence.controls)


def test_results_identical_with_and_without_a_listener():
    claim = registry.get("gf-depth")
    quiet = claim.check(seed=1).to_json_dict()
    with reporting(lambda ev: None):
        heard = claim.check(seed=1).to_json_dict()
    assert heard == quiet


def test_momentum_and_saddle_simulators_report_and_are_unchanged():
    X, y = gaussian_regression(5, 12, 0)
    runs = {
        "heavy ball": lambda: heavy_ball(X, y, 0.2, [0.01, 0.02], [0.5, 0.5], [0.0, 5.0]).beta,
        "mgf": lambda: momentum_gradient_flow(X, y, 0.2, 0.3, 5.0, [1.0, 5.0]).beta,
        "saddle": lambda: integrate_dual_flow(X, y, 1e-6, 2.0, n_eval=51).beta,
    }
    for name, run in runs.items():
        plain = run()
        events = []
        with reporting(events.append):
            heard = run()
        np.testing.assert_array_equal(heard, plain, err_msg=name)
        _assert_well_formed(events)
        advances = [e for e in events if e.kind == "advance"]
        assert advances and advances[-1].done > 0.5 * events[0].total, name


def test_phase_bars_draw_on_a_stream_and_survive_a_broken_one():
    from dln_verify.verify.cli import PhaseBars

    stream = io.StringIO()
    with reporting(PhaseBars("[1/1] toy", stream)):
        with progress_scope(label="simulate"), progress_scope(10, "t", "flow") as scope:
            scope.advance_to(10)
    assert "[1/1] toy simulate" in stream.getvalue() and "flow" in stream.getvalue()

    class Broken(io.StringIO):
        def write(self, text):
            raise RuntimeError("the terminal went away")

    bars = PhaseBars("[1/1] toy", Broken())
    with reporting(bars), progress_scope(label="simulate") as scope:
        scope.advance(1)  # writing fails: the bar switches off, the computation goes on
    assert bars.broken
