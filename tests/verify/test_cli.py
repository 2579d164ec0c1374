"""The dln-verify CLI: exit codes, JSON Lines, one-line errors, report files.

Fast tests swap the registry for the toy claim of ``tests/verify/dummy.py``; error-path tests use
the real registry (nothing is simulated before the input is rejected).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.verify.dummy import DummyClaim
from verify import registry
from verify.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture
def toy_registry(monkeypatch):
    monkeypatch.setattr(registry, "_CLASSES", {"dummy-mean": DummyClaim})
    monkeypatch.setattr(registry, "_LOADED", True)


def test_check_json_lines_and_exit_zero(toy_registry, capsys):
    code, out, err = run(["check", "dummy-mean", "--json", "--seed", "4"], capsys)
    assert code == 0
    record = json.loads(out.strip().splitlines()[0])
    assert record["claim"] == "dummy-mean" and record["passed"] is True and record["seed"] == 4
    assert record["controls"] == [
        {**record["controls"][0], "name": "doubled", "rejected": True}
    ]
    assert "dummy-mean" in err  # progress goes to stderr


def test_check_failing_claim_exits_one(toy_registry, monkeypatch, capsys):
    monkeypatch.setattr(DummyClaim, "mode", "weak-control")
    code, out, _ = run(["check", "--all"], capsys)
    assert code == 1 and "FAIL" in out


def test_crashing_claim_is_an_error_verdict(toy_registry, monkeypatch, capsys):
    def boom(self, instance):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(DummyClaim, "simulate", boom)
    code, out, _ = run(["check", "dummy-mean", "--json"], capsys)
    record = json.loads(out)
    assert code == 1 and record["status"] == "error" and "solver exploded" in record["message"]


def test_report_writes_all_files(toy_registry, tmp_path, capsys):
    code, out, _ = run(["report", "--all", "--out", str(tmp_path), "--seed", "2"], capsys)
    assert code == 0
    for name in ("index.html", "index.md", "results.json"):
        assert (tmp_path / name).is_file()
    payload = json.loads((tmp_path / "results.json").read_text())
    prov = payload["provenance"]
    assert prov["seed"] == 2 and prov["git_revision"] and prov["versions"]["numpy"]
    assert payload["results"][0]["figures"][0]["file"].startswith("figures/")
    pngs = list((tmp_path / "figures").glob("*.png"))
    assert pngs and pngs[0].read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "index.md").read_text()
    assert "dummy-mean" in md and "doubled" in md


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["check", "no-such-claim"], "no-such-claim"),
        (["check"], "claim id"),
        (["check", "gf-hypentropy", "--seed", "-3"], "--seed"),
        (["check", "gf-hypentropy", "--profile", "slow"], "--profile"),
        (["check", "gf-hypentropy", "--potential", "x**2"], "--potential"),
        (["derive", "potential", "--depth", "1"], "--depth"),
        (["derive", "potential", "--param", "abc"], "--param"),
    ],
)
def test_bad_input_is_one_line_exit_two(argv, needle, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err


def test_list_names_every_claim(capsys):
    code, out, _ = run(["list"], capsys)
    assert code == 0
    for claim_id in registry.ids():
        assert claim_id in out


def test_python_dash_m_entry_point():
    proc = subprocess.run([sys.executable, "-m", "verify", "list"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "gf-hypentropy" in proc.stdout


def test_numeric_validation_messages_name_the_parameter():
    from numeric.validation import check_alpha, check_regression_data

    X = np.ones((2, 3))
    with pytest.raises(ValueError, match="alpha"):
        check_alpha(0.0)
    with pytest.raises(ValueError, match="X must be finite"):
        check_regression_data(np.full((2, 3), np.nan), np.ones(2))
    with pytest.raises(ValueError, match="length n"):
        check_regression_data(X, np.ones(3))
    with pytest.raises(ValueError, match="n < d"):
        check_regression_data(np.eye(3), np.ones(3))
