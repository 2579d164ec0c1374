"""Own data for the classification claims: ``--data FILE.npz`` with labels ±1 on ``check`` and
``report`` (mirror-horizon, gd-max-margin), arrays in the Python API, certified separability,
one-line exit-2 errors, and the data-derived regime rule on user data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dln_verify.numeric.instances import separable_classification
from dln_verify.verify import registry
from dln_verify.verify.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def _npz(path, X, y) -> str:
    np.savez(path, X=X, y=y)
    return str(path)


@pytest.fixture(scope="module")
def labelled():
    """±1-labelled separable data: the seed-0 design of the claims (its ℓ∞ regime horizon,
    ≈ 126, lies inside cosh's late window, docs/theory/classification.md §1.8)."""
    return separable_classification(8, 16, 0)


#: four points whose signed versions sum to 0 (XOR): no hyperplane through 0 separates them
XOR = (np.array([[1.0, 1.0, 0.0], [-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [-1.0, 1.0, 0.0]]),
       np.array([1.0, 1.0, -1.0, -1.0]))


def test_mirror_horizon_checks_user_npz(labelled, tmp_path, capsys):
    path = _npz(tmp_path / "cls.npz", *labelled)
    code, out, _ = run(["check", "mirror-horizon", "--data", path, "--json"], capsys)
    record = json.loads(out.strip().splitlines()[0])
    assert code == 0 and record["status"] == "pass", record["message"]
    assert record["parameters"]["data"] == path
    assert all(c["rejected"] for c in record["controls"])


def test_gd_max_margin_checks_user_npz(labelled, tmp_path, capsys):
    path = _npz(tmp_path / "cls.npz", *labelled)
    code, out, _ = run(["check", "gd-max-margin", "--data", path, "--json"], capsys)
    record = json.loads(out.strip().splitlines()[0])
    assert code == 0 and record["status"] == "pass", record["message"]
    assert record["parameters"]["data"] == path


@pytest.mark.parametrize("claim_id,extra", [("mirror-horizon", ["--potential", "quadratic"]),
                                            ("gd-max-margin", [])])
def test_report_on_user_npz(claim_id, extra, labelled, tmp_path, capsys):
    path = _npz(tmp_path / "cls.npz", *labelled)
    out_dir = tmp_path / "report"
    code, out, _ = run(["report", claim_id, "--data", path, *extra, "--out", str(out_dir)],
                       capsys)
    assert code == 0, out
    html = (out_dir / "index.html").read_text()
    assert claim_id in html and "user data" in html
    assert list((out_dir / "figures").glob("*.png"))


@pytest.mark.parametrize("claim_id", ["mirror-horizon", "gd-max-margin"])
def test_non_separable_npz_is_one_line_exit_two(claim_id, tmp_path, capsys):
    path = _npz(tmp_path / "xor.npz", *XOR)
    code, out, err = run(["check", claim_id, "--data", path], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.count("--data") >= 1 and "separable" in err and "Gordan" in err
    assert "[1/1]" not in err + out  # refused before any work


@pytest.mark.parametrize("claim_id", ["mirror-horizon", "gd-max-margin"])
def test_labels_other_than_pm1_are_refused(claim_id, labelled, tmp_path, capsys):
    X, y = labelled
    path = _npz(tmp_path / "reg.npz", X, np.where(y > 0, 1.0, 0.0))
    code, _, err = run(["check", claim_id, "--data", path], capsys)
    assert code == 2 and "--data" in err and "{-1, +1}" in err
    assert len(err.strip().splitlines()) == 1


def test_python_api_takes_arrays_and_paths(labelled, tmp_path):
    claim = registry.get("mirror-horizon")
    X, y = labelled
    from_arrays = claim.check(data=(X, y), potential="quadratic")
    from_mapping = claim.check(data={"X": X, "y": y}, potential="quadratic")
    from_path = claim.check(data=_npz(tmp_path / "cls.npz", X, y), potential="quadratic")
    assert from_arrays.passed and from_mapping.passed and from_path.passed
    assert from_arrays.metrics == from_path.metrics == from_mapping.metrics
    with pytest.raises(ValueError, match="^--data: .*separable"):
        registry.get("gd-max-margin").build_instance(data=XOR)


def test_user_data_beyond_the_regime_horizon_is_inconclusive():
    """Seed 9's own data: a non-support sample at margin 1.008 and offsets put the ℓ∞ regime at
    log t ≈ 2500 > 400 (docs/theory/classification.md §1.8). The default instance redraws it;
    the user's data are not redrawn, and the check says why it cannot decide, before any
    simulation."""
    X, y = separable_classification(8, 16, 9)
    ev = registry.get("mirror-horizon").check(data=(X, y), potential="cosh")
    assert ev.status == "inconclusive" and not ev.passed
    assert "regime" in ev.message and "log t" in ev.message
    assert registry.get("mirror-horizon").default_instance(seed=9).params["draw"] > 0
