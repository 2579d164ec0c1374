"""dln-verify: a symbolic-plus-numeric verifier for the implicit bias of diagonal linear networks.

The distribution installs one import package with three layers, imported one way
(``verify → numeric → symbolic``):

- :mod:`dln_verify.symbolic` — SymPy derivations (potentials, horizon functions, momentum);
- :mod:`dln_verify.numeric` — instances, simulators and certified convex predictions;
- :mod:`dln_verify.verify` — the claim contract, the registry, reports and the command line.

Examples
--------
>>> from dln_verify.verify import registry
>>> "gf-hypentropy" in registry.ids()
True
"""

from __future__ import annotations

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("dln-verify")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
    __version__ = "0+unknown"

__all__ = ["__version__"]
