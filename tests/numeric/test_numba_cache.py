"""numba's on-disk cache is hit by a second process (no recompilation per check).

Jitted functions defined in a closure that call one another miss the cache in every new
process (their cache key includes the closure's dispatchers); the compiled kernels therefore
live at module level in ``numeric/_*_jit.py``. This test runs each compiled path in two fresh
processes and requires that the second one saves nothing new to the cache (numba prints
``[cache] data saved`` under ``NUMBA_DEBUG_CACHE=1`` whenever it had to compile).
"""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import numpy as np
from dln_verify.numeric.gd import gradient_descent
from dln_verify.numeric.momentum import heavy_ball, momentum_gradient_flow
from dln_verify.numeric.label_noise import _numba_kernel
from dln_verify.numeric.flow import gradient_flow_uv_batch
r = np.random.default_rng(0)
X, y = r.standard_normal((3, 8)), r.standard_normal(3)
gradient_descent(X, y, np.full(8, 0.1), np.zeros(8), [0.05], 10)
gradient_descent(X, y, np.full(8, 0.1), np.zeros(8), [0.05], 10, batch_size=2)
heavy_ball(X, y, 0.3, [0.05], [0.5], [0.0, 1.0], backend="numba")
momentum_gradient_flow(X, y, 0.3, 0.5, 1.0)
assert _numba_kernel() is not None
gradient_flow_uv_batch(X, y, np.full((2, 8), 0.5), np.zeros((2, 8)), t_max=5.0, backend="numba")
"""


def test_a_second_process_compiles_nothing():
    env = {**os.environ, "NUMBA_DEBUG_CACHE": "1"}
    runs = [subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                           env=env, timeout=300, check=True) for _ in range(2)]
    saved = [ln for ln in runs[1].stdout.splitlines() if "data saved" in ln]
    assert not saved, f"recompiled in a second process: {saved}"
