"""Symbolic layer (SymPy only): exact derivations returned as expressions plus lambdified numpy
callables. Never imports data arrays.

Public entry points are re-exported lazily so that ``import symbolic`` stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Derivation": "symbolic.derivation",
    "derive_potential": "symbolic.potentials",
    "potential_functions": "symbolic.potentials",
    "derive_horizon": "symbolic.horizon",
    "derive_momentum": "symbolic.momentum",
    "horizon_function": "symbolic.horizon",
    "momentum_invariant": "symbolic.momentum",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'symbolic' has no attribute {name!r}")
