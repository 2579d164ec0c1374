"""Own regression data (``--data FILE.npz`` with X, y) for gf-limits, the momentum claims and
saddle-to-saddle.

The other regression claims have their own ``--data`` tests; these four gained the option last.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from dln_verify.verify.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    rng = np.random.default_rng(11)
    path = tmp_path_factory.mktemp("data") / "gauss.npz"
    np.savez(path, X=rng.standard_normal((10, 20)), y=rng.standard_normal(10))
    return path


@pytest.mark.parametrize("claim_id", ["momentum-invariant", "momentum-implicit-bias"])
def test_momentum_claims_check_the_users_data(claim_id, npz, capsys):
    code, out, err = run(["check", claim_id, "--data", str(npz), "--json", "-q"], capsys)
    assert code == 0, err
    record = json.loads(out.strip().splitlines()[0])
    assert record["status"] == "pass" and all(c["rejected"] for c in record["controls"])
    params = record["parameters"]
    assert params["generator"] == f"user data {npz}" and (params["n"], params["d"]) == (10, 20)


def test_momentum_claims_refuse_bad_data(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, X=np.ones((3, 5)), y=np.array([1.0, np.nan, 2.0]))
    code, _, err = run(["check", "momentum-invariant", "--data", str(bad)], capsys)
    assert code == 2 and "--data" in err
    assert len(err.strip().splitlines()) == 1


def test_saddle_to_saddle_on_the_users_data(tmp_path, capsys):
    """Data meeting the path conditions pass; data violating one are inconclusive (exit 3) with
    the data-derived reason, before any simulation, and are never redrawn."""
    from dln_verify.verify.claims.saddle_to_saddle import saddle_instance

    good = saddle_instance(3)
    path = tmp_path / "saddle.npz"
    np.savez(path, X=good.X, y=good.y)
    code, out, err = run(["check", "saddle-to-saddle", "--data", str(path), "--json", "-q"],
                         capsys)
    assert code == 0, err
    assert json.loads(out)["status"] == "pass"
    rng = np.random.default_rng(2)
    generic = tmp_path / "generic.npz"
    np.savez(generic, X=rng.standard_normal((4, 8)), y=rng.standard_normal(4))
    code, out, _ = run(["check", "saddle-to-saddle", "--data", str(generic), "--json", "-q"],
                       capsys)
    record = json.loads(out)
    assert code == 3 and record["status"] == "inconclusive"
    assert "dual margin" in record["message"] and "< 0.04" in record["message"]


def test_gf_limits_on_the_users_data(tmp_path, capsys):
    """An exact-recovery design passes on both regimes; generic data, whose ℓ1 certificate has
    a small margin δ', are inconclusive (the rich rate is not visible on the α grid)."""
    from dln_verify.numeric.instances import as_generator, sparse_regression

    X, y, _ = sparse_regression(40, 100, 4, as_generator(7))
    path = tmp_path / "sparse.npz"
    np.savez(path, X=X, y=y)
    code, out, err = run(["check", "gf-limits", "--data", str(path), "--json", "-q"], capsys)
    assert code == 0, err
    record = json.loads(out)
    assert record["status"] == "pass" and all(c["rejected"] for c in record["controls"])
    rng = np.random.default_rng(11)
    generic = tmp_path / "generic.npz"
    np.savez(generic, X=rng.standard_normal((10, 20)), y=rng.standard_normal(10))
    code, out, _ = run(["check", "gf-limits", "--data", str(generic), "--json", "-q"], capsys)
    record = json.loads(out)
    assert code == 3 and record["status"] == "inconclusive" and "δ'" in record["message"]
