"""Start-up cost: listing the catalogue must not import the heavy dependencies.

``dln-verify list`` and ``--help`` import every claim module to read its declarations; SciPy,
SymPy, cvxpy, matplotlib, numba, Dask and Hypothesis are needed only when something is
computed, drawn or swept. The test checks what is imported (deterministic), not how long it
takes (timings belong to ``benchmarks/``).
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("scipy", "sympy", "cvxpy", "matplotlib", "numba", "dask", "distributed", "hypothesis")

PROBE = f"""
import json, sys
HEAVY = {HEAVY!r}
from dln_verify.verify import registry
from dln_verify.verify.cli import cli
ids = registry.ids()
assert ids, "no claims registered"
for claim in registry.all_claims():
    claim.title, claim.kind, claim.reference.cite(), sorted(claim.options)
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in HEAVY)))
"""


def test_listing_the_catalogue_imports_no_heavy_dependency():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    assert not loaded, f"imported while listing claims: {sorted({m.split('.')[0] for m in loaded})}"


MIRROR_PROBE = """
import json, sys
from dln_verify.verify import registry
ev = registry.get("mirror-horizon").check(seed=0)
print(json.dumps([ev.status, sorted({m.split('.')[0] for m in sys.modules
                                     if m.split('.')[0] in ("sympy", "cvxpy")})]))
"""


def test_mirror_horizon_on_builtin_potentials_imports_neither_sympy_nor_cvxpy():
    """The default mirror-horizon check reads the recorded derivations of its built-in
    potentials (no SymPy) and solves its max-margin problems without cvxpy (~3 s of imports
    together); both stay in use for user potentials and as the tests' independent check."""
    out = subprocess.run([sys.executable, "-c", MIRROR_PROBE], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    status, loaded = json.loads(out.strip().splitlines()[-1])
    assert status == "pass"
    assert not loaded, f"imported by the default mirror-horizon check: {loaded}"
