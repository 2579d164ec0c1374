"""The recorded horizon functions of the built-in potentials equal SymPy's derivation.

:mod:`dln_verify.symbolic.builtin_horizons` lets a check of a built-in potential skip SymPy; it
is only trustworthy while every field equals what
:func:`dln_verify.symbolic.horizon.horizon_function` derives now (exponent type included: it
ends up in results.json). A derivation change that moves an entry fails here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from dln_verify.symbolic.builtin_horizons import BUILTIN_HORIZONS, HorizonRecord, builtin_horizon
from dln_verify.symbolic.horizon import BUILTIN_POTENTIALS, horizon_function, parse_potential


def test_every_builtin_potential_is_recorded():
    assert set(BUILTIN_HORIZONS) == set(BUILTIN_POTENTIALS)


@pytest.mark.parametrize("name", sorted(BUILTIN_POTENTIALS))
def test_record_equals_the_derivation(name):
    hf = horizon_function(*parse_potential(name))
    derived = HorizonRecord(hf.kind, hf.p, hf.w_pos, hf.w_neg, str(hf.h_pos), str(hf.h_neg),
                            str(hf.potential))
    recorded = BUILTIN_HORIZONS[name]
    assert recorded == derived, f"regenerate the entry: {name!r}: {derived!r}"
    assert type(recorded.p) is type(derived.p)


def test_expressions_are_not_recorded():
    assert builtin_horizon("x**2/2") is None
    assert builtin_horizon(" cubic ") is BUILTIN_HORIZONS["cubic"]
    assert builtin_horizon(3) is None


def test_reading_a_record_does_not_import_sympy():
    code = ("import sys; from dln_verify.symbolic.builtin_horizons import builtin_horizon; "
            "builtin_horizon('asymmetric'); assert 'sympy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
