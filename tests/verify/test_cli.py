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

from dln_verify.verify import registry
from dln_verify.verify.cli import main
from tests.verify.dummy import DummyClaim


def run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture
def toy_registry(monkeypatch):
    monkeypatch.setattr(registry, "_CLASSES", {"dummy-mean": DummyClaim})
    monkeypatch.setattr(registry, "_SOURCES", {"dummy-mean": "test"})
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
    proc = subprocess.run([sys.executable, "-m", "dln_verify", "list"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "gf-hypentropy" in proc.stdout


def test_numeric_validation_messages_name_the_parameter():
    from dln_verify.numeric.validation import check_alpha, check_regression_data

    X = np.ones((2, 3))
    with pytest.raises(ValueError, match="alpha"):
        check_alpha(0.0)
    with pytest.raises(ValueError, match="X must be finite"):
        check_regression_data(np.full((2, 3), np.nan), np.ones(2))
    with pytest.raises(ValueError, match="length n"):
        check_regression_data(X, np.ones(3))
    with pytest.raises(ValueError, match="n < d"):
        check_regression_data(np.eye(3), np.ones(3))


def _npz(path, X, y=None):
    arrays = {"X": X} if y is None else {"X": X, "y": y}
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda rng: (np.where(np.eye(4, 9) > 0, np.nan, 1.0), rng.standard_normal(4)),
         "X must be finite"),
        (lambda rng: (rng.standard_normal((4, 9)), np.array([1.0, np.inf, 0.0, 0.0])),
         "y must be finite"),
        (lambda rng: (rng.standard_normal((4, 9)), rng.standard_normal(5)), "length n"),
        (lambda rng: (rng.standard_normal((9, 4)), rng.standard_normal(9)), "n < d"),
        (lambda rng: (rng.standard_normal((4, 9)), None), "must contain arrays"),
    ],
)
def test_bad_user_data_is_one_line_exit_two(make, needle, tmp_path, capsys):
    X, y = make(np.random.default_rng(0))
    path = _npz(tmp_path / "data.npz", X, y)
    code, _, err = run(["check", "gf-hypentropy", "--data", path], capsys)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("alpha", ["0", "-1", "nan", "inf"])
def test_non_positive_alpha_is_rejected_before_any_work(alpha, capsys):
    code, _, err = run(["check", "gf-depth", "--alpha", alpha], capsys)
    assert code == 2 and "alpha" in err and "[1/1]" not in err


def test_user_data_and_alpha_are_checked(tmp_path, capsys):
    rng = np.random.default_rng(1)
    path = _npz(tmp_path / "ok.npz", rng.standard_normal((6, 15)), rng.standard_normal(6))
    code, out, _ = run(["check", "gf-hypentropy", "--data", path, "--alpha", "0.3", "--json"],
                       capsys)
    record = json.loads(out)
    # one α convention (docs/theory/conventions.md §2.5): reported exactly as given
    assert code == 0 and record["parameters"]["alpha"] == [0.3]
    assert "relative_error_alpha=0.3" in record["metrics"]
    assert record["parameters"]["n"] == 6 and record["parameters"]["d"] == 15


def test_unwritable_report_folder_fails_before_running(toy_registry, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run(["report", "--all", "--out", str(blocker / "sub")], capsys)
    assert code == 2 and "--out" in err and "[1/1]" not in err


@pytest.mark.parametrize(("claim", "alpha"), [("gf-hypentropy", "50"), ("gf-depth", "5")])
def test_alpha_outside_the_supported_range_names_it(claim, alpha, capsys):
    code, _, err = run(["check", claim, "--alpha", alpha], capsys)
    assert code == 2 and "must lie in" in err


def test_depth_option_checks_depth_four_with_controls_rejected(capsys):
    code, out, _ = run(["check", "gf-depth", "--depth", "4", "--json"], capsys)
    record = json.loads(out)
    assert code == 0 and record["status"] == "pass" and record["parameters"]["depth"] == 4
    assert record["controls"] and all(c["rejected"] for c in record["controls"])


def test_depth_option_with_user_data(tmp_path, capsys):
    rng = np.random.default_rng(3)
    path = _npz(tmp_path / "ok.npz", rng.standard_normal((6, 15)), rng.standard_normal(6))
    code, out, _ = run(["check", "gf-depth", "--depth", "4", "--data", path, "--alpha", "0.6",
                        "--json"], capsys)
    record = json.loads(out)
    assert code == 0 and record["parameters"]["depth"] == 4 and record["parameters"]["d"] == 15
    assert record["parameters"]["alpha"] == [0.6]
    assert all(c["rejected"] for c in record["controls"])


@pytest.mark.parametrize("depth", ["2", "9", "0", "-3", "3.5", "x"])
def test_bad_depth_is_one_line_exit_two(depth, tmp_path, capsys):
    rng = np.random.default_rng(3)
    path = _npz(tmp_path / "ok.npz", rng.standard_normal((6, 15)), rng.standard_normal(6))
    code, _, err = run(["check", "gf-depth", "--depth", depth, "--data", path], capsys)
    assert code == 2 and "--depth" in err and "[1/1]" not in err
    assert len(err.strip().splitlines()) == 1


def test_alpha_outside_the_deep_range_names_the_depth(capsys):
    code, _, err = run(["check", "gf-depth", "--depth", "5", "--alpha", "0.3"], capsys)
    assert code == 2 and "depth 5" in err and "[0.5, 0.8]" in err


def test_quiet_passing_check_prints_nothing_on_stderr(capsys):
    code, out, err = run(["check", "gf-depth", "--quiet", "--json"], capsys)
    assert code == 0 and json.loads(out)["passed"] is True and err == ""


def test_bars_only_on_a_terminal_and_results_unchanged(monkeypatch, capsys):
    from dln_verify.verify import cli

    code, out_plain, err_plain = run(["check", "gf-depth", "--json"], capsys)
    # not a terminal (pytest's capture): only the per-claim lines, no bar characters
    assert code == 0 and "\r" not in err_plain and "|" not in err_plain
    assert len(err_plain.strip().splitlines()) == 2
    monkeypatch.setattr(cli, "_stderr_is_tty", lambda: True)
    code, out_bars, err_bars = run(["check", "gf-depth", "--json"], capsys)
    assert code == 0 and "gf-depth simulate" in err_bars and "decades" in err_bars
    assert json.loads(out_bars) == json.loads(out_plain)  # a display never changes results
    code, _, err_quiet = run(["check", "gf-depth", "--json", "--quiet"], capsys)
    assert code == 0 and err_quiet == ""  # --quiet silences the bars too


