"""The cross-process cache of horizon derivations: reused by a second process, never trusted
blindly (a corrupt or tampered entry is ignored and the derivation recomputed)."""

from __future__ import annotations

import json

import pytest

from tests.symbolic.fresh_process import run_with_cache

SCRIPT = r"""
import sys
import dln_verify.symbolic.horizon as hz
out = []
for name in sys.argv[1:]:
    hf = hz.horizon_function(hz.BUILTIN_POTENTIALS[name], hz._X)
    out.append(repr((hf.kind, hf.p, hf.h_pos, hf.h_neg, hf.w_pos, hf.w_neg, hf.p_pos, hf.p_neg,
                     hf.rho, hf.steps)))
print(hz._derivations)
print("\n".join(out))
"""

NAMES = ("quadratic", "cosh", "asymmetric")


def _run(cache, *names):
    return run_with_cache(SCRIPT, cache, *names)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    count, result = _run(cache, *NAMES)
    return cache, count, result


def test_second_process_reuses_the_derivation(first):
    cache, count, result = first
    assert count == len(NAMES)  # a cold cache derives every potential
    files = sorted((cache / "horizon").glob("*.json"))
    assert len(files) == len(NAMES)
    again, result2 = _run(cache, *NAMES)
    assert again == 0  # nothing recomputed
    assert result2 == result  # the same HorizonFunction, steps included


def test_corrupt_or_tampered_entries_are_ignored(first, tmp_path):
    cache, _, result = first
    copy = tmp_path / "cache"
    (copy / "horizon").mkdir(parents=True)
    files = sorted((cache / "horizon").glob("*.json"))
    datas = [json.loads(f.read_text()) for f in files]
    for f, data in zip(files, datas, strict=True):
        (copy / "horizon" / f.name).write_text(json.dumps(data))
    # 1. garbage bytes, 2. a value whose text and srepr disagree, 3. text outside the grammar
    (copy / "horizon" / files[0].name).write_text("{not json")
    bad = dict(datas[1])
    bad["value"] = dict(bad["value"], rho={"text": "3", "srepr": "Integer(1)"})
    (copy / "horizon" / files[1].name).write_text(json.dumps(bad))
    evil = dict(datas[2])
    evil["value"] = dict(evil["value"], p_pos={"text": "__import__('os')",
                                                  "srepr": "Integer(2)"})
    (copy / "horizon" / files[2].name).write_text(json.dumps(evil))
    count, result2 = _run(copy, *NAMES)
    assert count == len(NAMES)  # every entry was refused and recomputed
    assert result2 == result
    # and the recomputation repaired the entries
    count, _ = _run(copy, *NAMES)
    assert count == 0


def test_cache_can_be_turned_off(tmp_path, monkeypatch):
    import dln_verify.symbolic.horizon as hz

    monkeypatch.setenv("DLN_VERIFY_CACHE_DIR", "off")
    assert hz.cache_directory() is None
    monkeypatch.setenv("DLN_VERIFY_CACHE_DIR", str(tmp_path / "c"))
    assert hz.cache_directory() == tmp_path / "c"
    monkeypatch.delenv("DLN_VERIFY_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hz.cache_directory() == tmp_path / "xdg" / "dln-verify"


def test_key_depends_on_the_expression_and_sympy_version(monkeypatch, tmp_path):
    import sympy as sp

    import dln_verify.symbolic.horizon as hz

    monkeypatch.setenv("DLN_VERIFY_CACHE_DIR", str(tmp_path))
    x = hz._X
    k1 = hz._cache_path(hz._cache_key(x**2, x))
    k2 = hz._cache_path(hz._cache_key(x**2 / 2, x))
    monkeypatch.setattr(sp, "__version__", "0.0-other")
    k3 = hz._cache_path(hz._cache_key(x**2, x))
    assert len({k1, k2, k3}) == 3
