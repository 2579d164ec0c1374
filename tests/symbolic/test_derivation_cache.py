"""The cross-process cache of potential derivations (symbolic.disk_cache, potentials): a second
process reuses the derivation and gets the same record; a corrupt, tampered or foreign entry is
ignored and the derivation recomputed; the srepr reader admits SymPy constructors only."""

from __future__ import annotations

import json

import pytest
import sympy as sp

from dln_verify.symbolic import disk_cache
from tests.symbolic.fresh_process import run_with_cache

SCRIPT = r"""
import sys
import dln_verify.symbolic.potentials as P
out = []
for arg in sys.argv[1:]:
    param, depth = arg.split(":")
    d = P.derive_potential(param, int(depth))
    out.append(repr((d.title, d.steps, sorted(d.results.items()))) + d.to_latex())
print(P._derivations)
print("\n".join(out))
"""

CASES = ("uv:2", "w2:3")


def _run(cache, *cases):
    return run_with_cache(SCRIPT, cache, *cases)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    count, result = _run(cache, *CASES)
    return cache, count, result


def test_second_process_reuses_the_derivation(first):
    cache, count, result = first
    assert count == len(CASES)  # a cold cache derives every potential
    assert len(list((cache / "potential").glob("*.json"))) == len(CASES)
    again, result2 = _run(cache, *CASES)
    assert again == 0  # nothing derived again
    assert result2 == result  # the same steps, results and LaTeX


def _replace_first_srepr(node, text) -> bool:
    if isinstance(node, dict):
        if "srepr" in node:
            node["srepr"] = text
            return True
        return any(_replace_first_srepr(v, text) for v in node.values())
    if isinstance(node, list):
        return any(_replace_first_srepr(v, text) for v in node)
    return False


def test_corrupt_or_tampered_entries_are_ignored(first, tmp_path):
    cache, _, result = first
    files = sorted((cache / "potential").glob("*.json"))
    copy = tmp_path / "cache" / "potential"
    copy.mkdir(parents=True)
    good = json.loads(files[1].read_text())
    (copy / files[0].name).write_text("{not json")
    # code in place of an srepr: refused by the reader, never evaluated
    evil = json.loads(json.dumps(good))
    assert _replace_first_srepr(evil, "__import__('os').getcwd()")
    (copy / files[1].name).write_text(json.dumps(evil))
    count, result2 = _run(tmp_path / "cache", *CASES)
    assert count == len(CASES)
    assert result2 == result
    count, _ = _run(tmp_path / "cache", *CASES)  # the recomputation repaired both entries
    assert count == 0


def test_key_depends_on_the_code_and_the_sympy_version(monkeypatch):
    import dln_verify.symbolic.potentials as P

    k1 = P._derivation_key("uv", 2)
    assert k1 != P._derivation_key("w2", 2) != P._derivation_key("w2", 3)
    monkeypatch.setattr(sp, "__version__", "0.0-other")
    assert P._derivation_key("uv", 2) != k1
    assert all(len(c) == 64 for c in k1["code"])  # sha256 of the deriving modules


def test_cache_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("DLN_VERIFY_CACHE_DIR", "off")
    assert disk_cache.cache_directory() is None
    disk_cache.write_entry("potential", {"k": 1}, {"str": "x"})
    assert disk_cache.read_entry("potential", {"k": 1}) is None
    monkeypatch.setenv("DLN_VERIFY_CACHE_DIR", str(tmp_path))
    disk_cache.write_entry("potential", {"k": 1}, {"str": "x"})
    assert disk_cache.read_entry("potential", {"k": 1}) == {"str": "x"}
    assert disk_cache.read_entry("potential", {"k": 2}) is None
    assert not list(tmp_path.rglob(".tmp-*"))  # atomic write: no temporary left behind


x, t = sp.Symbol("x", positive=True), sp.Symbol("t", real=True)
u = sp.Function("u")


@pytest.mark.parametrize("expr", [
    sp.asinh(x / 2) - sp.Rational(3, 7) * sp.sqrt(x**2 + 1),
    sp.Eq(x, x),  # a displayed identity stays an equation
    sp.Eq(sp.Derivative(u(t), t), -3 * u(t) ** 2),
    sp.Limit(sp.cosh(2 * x) - 1, x, 0, dir="+"),
    sp.Float("0.125", 53) * x + sp.pi - sp.oo,
    sp.Tuple(x, -x, sp.Integer(-4)),
])
def test_srepr_reader_round_trips(expr):
    back = disk_cache.expression_from_srepr(sp.srepr(expr))
    assert back == expr
    assert sp.srepr(back) == sp.srepr(expr)


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')",
    "Symbol('x').__class__",
    "Integer(1) + Integer(2)",
    "(lambda: 1)()",
    "Symbol(*['x'])",
    "Symbol('x', **{'real': True})",
    "getattr(Integer, 'x')",
    "Integer(2)[0]",
    "x",
    "Integer(" * 50 + ")" * 50,
    "Symbol('x'" + ", " * 3,
    "A" * (disk_cache.MAX_SREPR_CHARS + 1),
])
def test_srepr_reader_refuses_anything_but_constructor_calls(text):
    with pytest.raises(ValueError):
        disk_cache.expression_from_srepr(text)


def test_encoded_values_round_trip_and_malformed_entries_are_refused():
    value = {"title": "t", "steps": (("a", (sp.Eq(x, 1), "text")),), "results": {"n": [1, 2.5,
                                                                                      None]}}
    assert disk_cache.decode_value(json.loads(json.dumps(disk_cache.encode_value(value)))) == value
    with pytest.raises(TypeError):
        disk_cache.encode_value({1: "non-str key"})
    for bad in ({"str": 1}, {"tuple": "x"}, {"eval": "1"}, {"str": "a", "list": []}, None):
        with pytest.raises(ValueError):
            disk_cache.decode_value(bad)


def test_dict_order_survives_the_round_trip():
    value = {"z": 1, "a": sp.Integer(2), "m": "three"}
    back = disk_cache.decode_value(json.loads(json.dumps(disk_cache.encode_value(value),
                                                         sort_keys=True)))
    assert list(back) == ["z", "a", "m"] and back == value
