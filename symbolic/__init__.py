"""Symbolic layer (SymPy only): exact derivations returned as expressions plus lambdified numpy
callables. Never imports data arrays.

Public entry points are re-exported lazily so that ``import symbolic`` stays cheap.
"""


from __future__ import annotations

if __name__.split(".")[0] != "dln_verify":  # the folder is importable from a checkout's root
    raise ImportError("this package installs as dln_verify.symbolic: import dln_verify.symbolic "
                      "(after `pip install .`), not symbolic")

import importlib

_EXPORTS = {
    "Derivation": "dln_verify.symbolic.derivation",
    "derive_potential": "dln_verify.symbolic.potentials",
    "potential_functions": "dln_verify.symbolic.potentials",
    "derive_horizon": "dln_verify.symbolic.horizon",
    "derive_momentum": "dln_verify.symbolic.momentum",
    "horizon_function": "dln_verify.symbolic.horizon",
    "momentum_invariant": "dln_verify.symbolic.momentum",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'symbolic' has no attribute {name!r}")
