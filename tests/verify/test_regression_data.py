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


def _breast_cancer_rows(n, seed=0):
    """A design we did not generate: n standardised rows of scikit-learn's breast-cancer data
    (29 features, pairwise correlations up to 0.998, kurtosis up to ~50; κ(XXᵀ) ≈ 2·10³ at
    n = 16, 395 at n = 8), with the held-out feature 'worst concave points' as the target."""
    datasets = pytest.importorskip("sklearn.datasets")
    X, _ = datasets.load_breast_cancer(return_X_y=True)
    Z = (X - X.mean(0)) / X.std(0)
    rows = np.random.default_rng(seed).choice(Z.shape[0], n, replace=False)
    return np.delete(Z[rows], 27, axis=1), Z[rows, 27]


def test_gd_exact_bias_budgets_follow_the_conditioning():
    from dln_verify.verify.claims.gd_exact_bias import (
        MAX_STEPS,
        STOP_TOL,
        THRESHOLD_STEPS,
        THRESHOLD_TOL,
        step_budgets,
    )
    rng = np.random.default_rng(0)
    assert step_budgets(rng.standard_normal((10, 20))) == (THRESHOLD_STEPS, MAX_STEPS)
    X, _ = _breast_cancer_rows(16)
    ev = np.linalg.eigvalsh(X @ X.T)
    kappa = ev[-1] / ev[0]
    assert kappa > 1e3
    trial, checked = step_budgets(X)
    assert trial == int(np.ceil(kappa * np.log(1 / THRESHOLD_TOL))) > THRESHOLD_STEPS
    assert checked == int(np.ceil(kappa * np.log(1 / STOP_TOL))) > MAX_STEPS
    # a nearly singular Gram: bounded at 64× the constants, whatever κ
    Z = rng.standard_normal((10, 20))
    Z[1] = Z[0] + 1e-7 * rng.standard_normal(20)
    assert step_budgets(Z) == (64 * THRESHOLD_STEPS, 64 * MAX_STEPS)


@pytest.mark.slow
@pytest.mark.parametrize("fraction", ["0.5", "0.95"])
@pytest.mark.parametrize("batch", ["8", "2", "1"])
def test_gd_exact_bias_on_an_ill_conditioned_real_design(tmp_path, capsys, fraction, batch):
    """Full batch, n/4 and 1 at fractions 0.5 and 0.95 of the threshold found for the data.
    Before the budgets followed κ, every threshold trial at 1000 steps 'diverged' on such a
    design and the check spent minutes halving the stepsize."""
    X, y = _breast_cancer_rows(8)
    path = tmp_path / "breast_cancer_8.npz"
    np.savez(path, X=X, y=y)
    code, out, _ = run(["check", "gd-exact-bias", "--data", str(path), "--stepsize-fraction",
                        fraction, "--batch-size", batch, "--json"], capsys)
    result = json.loads(out)
    assert code == 0 and result["status"] == "pass", result["message"]
    assert all(c["rejected"] for c in result["controls"])
