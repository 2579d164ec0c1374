"""``dln-verify sweep``: tasks on a local dask cluster, streamed results, resuming, summaries.

The sweeps run the real command line in a subprocess (a ``--plugin`` registered in this process
would leak into the registry other tests see); bad input and the pure functions are tested in
process. Expected margins are computed here from the raw metrics and the declared tolerance
values, not by the code under test.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dln_verify.verify.claim import Evidence
from dln_verify.verify.claims import template_claim
from dln_verify.verify.cli import main
from dln_verify.verify.sweep import ResultsFile, Task, parse_seeds
from dln_verify.verify.sweep_report import distribution, margin, truth_margin

TEMPLATE = Path(template_claim.__file__)
CLAIMS = ("sweep-min-norm", "gf-depth")
EXPECTED = {(c, s, None) for c in CLAIMS for s in range(3)}
#: keys a results line adds to the record of ``check --json``
EXTRA = {"task", "options", "git_revision", "worker", "elapsed_s"}
CHECK_KEYS = set(Evidence("c", "t", "tight", "pass", True, "m", {}, {}, 0, "quick", {}, (),
                          "", "").to_json_dict())


def run(*args: str, cwd: Path, env: dict | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dln_verify", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def keys(path: Path) -> list[tuple]:
    return [Task.from_dict(r["task"]).key for r in lines(path)]


def copy_template(folder: Path, claim_id: str, sleep: float = 0.0) -> Path:
    """The template claim copied to a plugin file with ``claim_id`` (and a slow simulate)."""
    text = TEMPLATE.read_text().replace('id = "template-min-norm"', f'id = "{claim_id}"')
    assert f'id = "{claim_id}"' in text
    if sleep:
        head = "    def simulate(self, instance: Instance) -> Simulation:\n"
        assert head in text
        text = text.replace(head, head + f"        import time\n        time.sleep({sleep})\n")
    path = folder / f"{claim_id.replace('-', '_')}.py"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> Path:
    return copy_template(tmp_path_factory.mktemp("plugin"), "sweep-min-norm")


def sweep_args(plugin: Path, out: Path, workers: int = 2) -> list[str]:
    return ["sweep", *CLAIMS, "--plugin", str(plugin), "--seeds", "0-2",
            "--workers", str(workers), "--out", str(out)]


@pytest.fixture(scope="module")
def swept(plugin, tmp_path_factory):
    where = tmp_path_factory.mktemp("sweep")
    out = where / "out"
    proc = run(*sweep_args(plugin, out), cwd=where)
    assert proc.returncode == 0, proc.stderr
    return out, proc


# -- a short sweep --------------------------------------------------------------------------
def test_results_have_one_line_per_task_in_the_check_schema(swept):
    out, proc = swept
    records = lines(out / "results.jsonl")
    assert len(records) == 6
    assert sorted(keys(out / "results.jsonl"), key=str) == sorted(EXPECTED, key=str)
    for record in records:
        assert set(record) == CHECK_KEYS | EXTRA
        assert record["seed"] == record["task"]["seed"] and record["claim"] == record[
            "task"]["claim"]
        assert record["status"] == "pass" and record["git_revision"]
    assert "6 tasks (6 new)" in proc.stdout


def test_summary_counts_rates_and_margins(swept):
    out, _ = swept
    summary = json.loads((out / "summary.json").read_text())
    records = lines(out / "results.jsonl")
    assert list(summary["claims"]) == list(CLAIMS)
    assert summary["tasks"] == 6 and summary["pass"] == 6 and summary["missing"] == 0
    for claim_id, entry in summary["claims"].items():
        mine = [r for r in records if r["claim"] == claim_id]
        assert (entry["tasks"], entry["pass"], entry["fail"], entry["error"]) == (3, 3, 0, 0)
        names = {c["name"] for r in mine for c in r["controls"]}
        assert set(entry["controls"]) == names and names
        for name in names:
            assert entry["controls"][name]["runs"] == 3
            assert entry["controls"][name]["rejection_rate"] == 1.0
        # both claims decide with a `<=` tolerance: margin = metric / declared value
        tol = {t["metric"]: t["value"] for t in mine[0]["tolerances"]}
        truth = sorted(r["metrics"][r["metric"]] / tol[r["metric"]] for r in mine)
        assert entry["margin"]["n"] == 3
        assert entry["margin"]["min"] == pytest.approx(truth[0], rel=1e-12)
        assert entry["margin"]["q50"] == pytest.approx(truth[1], rel=1e-12)
        assert entry["margin"]["max"] == pytest.approx(truth[2], rel=1e-12)
        assert entry["margin"]["max"] <= 1.0
        control = min(c["metric"] / tol[c["metric_name"]] for r in mine for c in r["controls"])
        assert entry["smallest_control_margin"]["value"] == pytest.approx(control, rel=1e-12)
        assert entry["smallest_control_margin"]["value"] > 1.0


def test_index_html_shows_a_histogram_per_claim(swept):
    out, _ = swept
    page = (out / "index.html").read_text()
    for claim_id in CLAIMS:
        image = out / "figures" / f"{claim_id}-margins.png"
        assert f"src='figures/{claim_id}-margins.png'" in page
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerun_recomputes_nothing(swept, plugin):
    out, _ = swept
    before = (out / "results.jsonl").read_bytes()
    proc = run(*sweep_args(plugin, out), cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    assert "6 tasks (0 new)" in proc.stdout and "0 to run" in proc.stderr
    assert (out / "results.jsonl").read_bytes() == before


def test_a_task_is_reproduced_by_check(swept, capsys):
    out, _ = swept
    record = next(r for r in lines(out / "results.jsonl") if r["task"] == {
        "claim": "gf-depth", "seed": 2, "alpha": None})
    with pytest.raises(SystemExit) as stop:
        main(["check", "gf-depth", "--seed", "2", "--json"])
    assert stop.value.code == 0
    assert {k: v for k, v in record.items() if k not in EXTRA} == json.loads(
        capsys.readouterr().out)


def test_resume_after_a_torn_last_line(swept, plugin, tmp_path):
    """Two finished lines and half of a third: the rerun drops the half line and runs the rest
    (the template claim alone, seeds 0-5, so that no other claim's first call is paid here)."""
    out = tmp_path / "out"
    out.mkdir()
    mine = [line for line in (swept[0] / "results.jsonl").read_text().splitlines(keepends=True)
            if json.loads(line)["claim"] == "sweep-min-norm"]
    kept = mine[0] + mine[1] + mine[2][: len(mine[2]) // 2]
    (out / "results.jsonl").write_text(kept)
    proc = run("sweep", "sweep-min-norm", "--plugin", str(plugin), "--seeds", "0-5",
               "--workers", "1", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "partially written last line" in proc.stderr and "6 tasks (4 new)" in proc.stdout
    assert (out / "results.jsonl").read_text().startswith(mine[0] + mine[1])
    found = keys(out / "results.jsonl")
    assert len(found) == 6 and set(found) == {("sweep-min-norm", s, None) for s in range(6)}


@pytest.mark.slow  # ~35 s on two busy cores: a cluster start, a kill and a worker restart
def test_a_killed_worker_loses_and_duplicates_nothing(tmp_path):
    psutil = pytest.importorskip("psutil")
    plugin = copy_template(tmp_path, "slow-min-norm", sleep=1.5)
    out = tmp_path / "out"
    args = ["sweep", "slow-min-norm", "--plugin", str(plugin), "--seeds", "0-5",
            "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "dln_verify", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = out / "results.jsonl"
    try:
        deadline = time.monotonic() + 180
        while not (results.exists() and results.read_text().count("\n") >= 1):
            assert proc.poll() is None and time.monotonic() < deadline, "no result arrived"
            time.sleep(0.1)
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
                   if "spawn_main" in " ".join(p.cmdline())]
        assert workers, "no worker process found"
        os.kill(workers[0].pid, signal.SIGKILL)
        assert results.read_text().count("\n") < 6, "the kill did not land mid-sweep"
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if proc.returncode != 0:  # the client itself went down: the rerun resumes
        again = run(*args, cwd=tmp_path)
        assert again.returncode == 0, again.stderr
    found = keys(results)
    assert len(found) == 6 and set(found) == {("slow-min-norm", s, None) for s in range(6)}
    assert all(r["status"] == "pass" for r in lines(results))


# -- bad input: one line, exit 2, nothing computed --------------------------------------------
@pytest.mark.parametrize("args, names", [
    (["gf-depth", "--seeds", "5-2"], "--seeds"),
    (["gf-depth", "--seeds", "a-b"], "--seeds"),
    (["gf-depth"], "--seeds"),
    (["no-such-claim", "--seeds", "0-1"], "no-such-claim"),
    (["gf-depth", "--seeds", "0-1", "--scheduler", "tcp://node1"], "--scheduler"),
    (["gf-depth", "--seeds", "0-1", "--scheduler", "not an address"], "--scheduler"),
    (["gf-depth", "--seeds", "0-1", "--workers", "2", "--scheduler", "tcp://a:1"],
     "--scheduler"),
    (["gf-depth", "--seeds", "0-1", "--workers", "0"], "--workers"),
    (["gf-depth", "gf-limits", "--seeds", "0-1", "--alpha", "0.2"], "--alpha"),
    (["gf-depth", "--seeds", "0-1", "--alpha", "0.2,x"], "--alpha"),
    (["gf-depth", "--seeds", "0-1", "--alpha", "0.9"], "alpha"),
])
def test_bad_input_is_one_line_and_exit_2(args, names, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        main(["sweep", *args, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2
    assert len(err.splitlines()) == 1 and names in err and "Traceback" not in err
    assert not (out / "results.jsonl").exists()


def test_unreachable_scheduler_is_an_input_error(tmp_path, capsys):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(SystemExit) as stop:
        main(["sweep", "gf-depth", "--seeds", "0-1", "--scheduler", "tcp://127.0.0.1:9",
              "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2
    assert "--scheduler tcp://127.0.0.1:9: cannot connect" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_sweep_gets_the_claims_options(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["sweep", "--help"])
    text = capsys.readouterr().out
    assert stop.value.code == 0
    assert "--data" in text and "--alpha LIST" in text and "--scheduler" in text


# -- pure functions -------------------------------------------------------------------------
def test_seed_ranges():
    assert parse_seeds("0-2") == range(0, 3) and parse_seeds(" 7 ") == range(7, 8)
    for bad in ("5-2", "a-b", "-1", "1-", "1.5-3", ""):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


@pytest.mark.parametrize("value, tol, expected", [
    (5e-8, {"relation": "<=", "value": 1e-7}, 0.5),
    (2e-7, {"relation": "<=", "value": 1e-7}, 2.0),
    (0.5, {"relation": ">=", "value": 0.25}, 0.5),
    (0.1, {"relation": ">=", "value": 0.25}, 2.5),
    (0.0, {"relation": ">=", "value": 0.25}, math.inf),
    (-1.15, {"relation": "in", "value": [-1.3, -0.7]}, 0.5),
    (-0.4, {"relation": "in", "value": [-1.3, -0.7]}, 2.0),
    (float("nan"), {"relation": "<=", "value": 1.0}, math.inf),
    ("inf", {"relation": "<=", "value": 1.0}, math.inf),
    (3.0, {"relation": "==", "value": 3.0}, 0.0),
])
def test_margin_definition(value, tol, expected):
    assert margin(value, {"metric": "m", **tol}) == pytest.approx(expected, rel=1e-12)


def test_pattern_tolerance_takes_the_worst_matching_metric():
    band = {"metric": "*.slope", "relation": "in", "value": [-1.3, -0.7]}
    record = {"metric": "a.slope", "metrics": {"a.slope": -1.0, "b.slope": -0.76, "gap": 9.0},
              "tolerances": [band]}
    assert truth_margin(record) == pytest.approx(0.8, rel=1e-12)  # |-0.76 + 1| / 0.3
    assert truth_margin({**record, "metric": "gap"}) is None  # no declared tolerance


def test_distribution_uses_order_statistics():
    d = distribution([4.0, 1.0, 3.0, 2.0, math.inf])
    assert (d["n"], d["min"], d["q50"], d["max"], d["infinite"]) == (5, 1.0, 3.0, math.inf, 1)
    assert d["q01"] == 1.0 and d["q99"] == math.inf
    assert distribution([])["n"] == 0 and distribution([])["q50"] is None


def test_results_file_drops_a_torn_tail_and_is_locked(tmp_path):
    good = json.dumps({"task": {"claim": "c", "seed": 0, "alpha": None}, "status": "pass"})
    (tmp_path / "results.jsonl").write_text(good + "\n" + good[:10])
    with ResultsFile(tmp_path) as results:
        assert results.dropped_tail == 10 and list(results.records) == [("c", 0, None)]
        assert (tmp_path / "results.jsonl").read_text() == good + "\n"
        with pytest.raises(ValueError, match="another sweep is writing"), ResultsFile(tmp_path):
            pass
        results.append({"task": {"claim": "c", "seed": 1, "alpha": None}, "status": "fail"})
    assert [json.loads(x)["task"]["seed"] for x in
            (tmp_path / "results.jsonl").read_text().splitlines()] == [0, 1]
    (tmp_path / "results.jsonl").write_text("not json\n")
    with pytest.raises(ValueError, match="line 1"), ResultsFile(tmp_path):
        pass


def test_progress_counter_without_tqdm(monkeypatch, capsys):
    from dln_verify.verify import sweep

    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    bar = sweep._Progress(total=3, done=1, stream=sys.stderr)
    assert bar.bar is None
    bar.update("pass")
    bar.update("fail")
    bar.close()
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("sweep: 3/3 tasks (fail 1, pass 1)")



def test_resuming_with_another_profile_is_refused(tmp_path, capsys):
    record = {"task": {"claim": "gf-depth", "seed": 0, "alpha": None}, "claim": "gf-depth",
              "status": "pass", "profile": "thorough", "options": {}}
    (tmp_path / "results.jsonl").write_text(json.dumps(record) + "\n")
    with pytest.raises(SystemExit) as stop:
        main(["sweep", "gf-depth", "--seeds", "0-1", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and len(err.splitlines()) == 1
    assert "--profile thorough" in err and "another --out" in err
