"""Comparison primitives: slopes are recovered, bad input is refused."""

import numpy as np
import pytest

from dln_verify.verify.compare import loglog_slope, relative_error


@pytest.mark.parametrize("order", [-4.0, -0.5, 1.0, 2.0])
def test_loglog_slope_recovers_a_power_law(order):
    x = np.array([1.0, 2.0, 4.0, 8.0])
    assert loglog_slope(x, 3.0 * x**order) == pytest.approx(order, abs=1e-12)


def test_loglog_slope_refuses_non_positive_values():
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([1.0, 2.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="two"):
        loglog_slope([1.0], [1.0])


def test_relative_error_is_scale_free():
    ref = np.array([3.0, 4.0])
    assert relative_error(ref * 1.01, ref) == pytest.approx(0.01)
    assert relative_error(1e6 * ref * 1.01, 1e6 * ref) == pytest.approx(0.01)
