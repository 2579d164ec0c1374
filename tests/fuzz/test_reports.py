"""Reports that cannot be half-written or mixed, and results that are reproducible.

- ``report`` killed (SIGKILL) at any moment leaves the previous report complete: results.json
  parses, index.html ends with ``</html>``, every figure the HTML references exists, no other
  figure is there, and every file comes from ONE run (the seed and time in results.json, index.md
  and index.html agree);
- the same claim, seed and options give a byte-identical ``results.json`` apart from
  ``provenance.time_utc``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dln_verify.verify import registry
from dln_verify.verify import report as report_module
from tests.fuzz.corpus import (
    PLUGIN_ID,
    check_contract,
    run_cli,
    run_main,
    template_plugin_text,
)


def report_state(folder: Path) -> dict:
    """Check that ``folder`` holds one complete report; return its seed, time and figures."""
    assert folder.is_dir(), f"{folder} is missing"
    payload = json.loads((folder / "results.json").read_text())
    html = (folder / "index.html").read_text()
    md = (folder / "index.md").read_text()
    json.loads((folder / "timings.json").read_text())
    assert html.rstrip().endswith("</html>"), html[-200:]
    prov = payload["provenance"]
    seed, stamp = str(prov["seed"]), prov["time_utc"]
    assert f"- seed: {seed}, profile: {prov['profile']}" in md, "index.md is from another run"
    assert f"- time (UTC): {stamp}" in md, "index.md is from another run"
    assert f"time (UTC): {stamp}; seed {seed}," in html, "index.html is from another run"
    shown = set(re.findall(r"<img src='([^']+)'", html))
    referenced = set(re.findall(r"figures/[^'\")\s]+", html + md))
    in_json = {fig["file"] for rec in payload["results"] for fig in rec["figures"]
               if "file" in fig}
    assert shown, "no figure shown in index.html"
    stems = {Path(f).with_suffix("").as_posix() for f in referenced}
    assert {Path(f).with_suffix("").as_posix() for f in in_json} == stems, (in_json, stems)
    referenced |= in_json
    on_disk = {p.relative_to(folder).as_posix() for p in (folder / "figures").glob("*")} \
        if (folder / "figures").exists() else set()
    assert referenced <= on_disk, f"missing figures: {referenced - on_disk}"
    assert on_disk == referenced, f"figures of another run: {on_disk - referenced}"
    claims = [rec["claim"] for rec in payload["results"]]
    for claim in claims:
        assert f"## {claim}" in md and f"id='{claim}'" in html
    return {"seed": seed, "time": stamp, "claims": claims, "figures": on_disk}


def _without_time(path: Path) -> dict:
    payload = json.loads(path.read_text())
    del payload["provenance"]["time_utc"]
    return payload


# ---------------------------------------------------------------------------------------------
# SIGKILL at several moments of a second run.

@pytest.fixture(scope="module")
def first_reports(tmp_path_factory):
    """``report gf-depth --seed 0`` written twice by the real entry point (A and B)."""
    root = tmp_path_factory.mktemp("reports")
    timings = []
    for name in ("A", "B"):
        start = time.perf_counter()
        res = run_cli("report", "gf-depth", "--seed", "0", "--out", name, cwd=root)
        timings.append(time.perf_counter() - start)
        check_contract(res)
        assert res.code == 0, res.err
    return root, min(timings)


def _kill_during_report(root: Path, out: str, seed: int, after: float) -> bool:
    """Start ``report gf-depth --seed SEED --out OUT`` and SIGKILL it after ``after`` s;
    return True if it had already finished."""
    proc = subprocess.Popen([sys.executable, "-m", "dln_verify", "report", "gf-depth",
                             "--seed", str(seed), "--out", out], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        proc.wait(timeout=after)
        return True
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return False


def _kill_points(duration: float, thorough: bool) -> list[float]:
    fixed = [0.2, 1.0, 2.0]
    fractions = [0.85, 0.95] if not thorough else [0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.96, 0.98,
                                                   1.0, 1.02, 1.05]
    return sorted(set(fixed + [round(f * duration, 2) for f in fractions]))


def _kill_sweep(first_reports, thorough: bool) -> None:
    root, duration = first_reports
    target = f"K-{int(thorough)}"
    shutil.copytree(root / "A", root / target)
    previous = report_state(root / target)
    assert previous["seed"] == "0" and previous["claims"] == ["gf-depth"]
    for k, after in enumerate(_kill_points(duration, thorough), 1):
        finished = _kill_during_report(root, target, seed=k, after=after)
        state = report_state(root / target)  # complete and from ONE run, whatever the moment
        assert state["seed"] in (previous["seed"], str(k)), (after, state)
        if finished:
            assert state["seed"] == str(k)
        previous = state


def test_sigkill_leaves_a_complete_report_from_one_run(first_reports):
    _kill_sweep(first_reports, thorough=False)


@pytest.mark.slow
def test_sigkill_leaves_a_complete_report_from_one_run_thorough(first_reports):
    _kill_sweep(first_reports, thorough=True)


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after the injected point runs in the writer."""


def _results(plugin_file, seed: int):
    from dln_verify.verify.runner import run_claims

    registry.load_plugin(plugin_file)
    return run_claims([PLUGIN_ID], seed=seed)


@pytest.mark.parametrize("die_at", [0, 1, 2])
def test_death_at_each_rename_leaves_a_complete_report(plugin_file, tmp_path, monkeypatch,
                                                       die_at):
    """Die before the k-th rename that ``write_report`` makes: the folder must hold the
    previous report or the new one, complete, never nothing or a mixture."""
    out = tmp_path / "R"
    report_module.write_report(_results(plugin_file, 0), out, seed=0, profile="quick")
    assert report_state(out)["seed"] == "0"
    calls = []
    real = os.replace

    def dying_replace(src, dst, *args, **kwargs):
        calls.append((src, dst))
        if len(calls) - 1 == die_at:
            raise _Killed
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", dying_replace)
    monkeypatch.setattr(os, "rename", dying_replace)
    try:
        report_module.write_report(_results(plugin_file, 1), out, seed=1, profile="quick")
    except _Killed:
        pass
    monkeypatch.undo()
    assert report_state(out)["seed"] in ("0", "1"), calls


def test_report_folder_holds_only_the_latest_run(plugin_file, tmp_path, capsys):
    """``report A B --out S`` then ``report A --out S``: no file of B is left in S (two cheap
    copies of the template claim; the issue's ``--all`` version is the slow test below)."""
    other = tmp_path / "other_claim.py"
    other.write_text(template_plugin_text("fuzz-other"))
    out = tmp_path / "S"
    plugins = ["--plugin", str(plugin_file), "--plugin", str(other)]
    res = run_main(["report", PLUGIN_ID, "fuzz-other", *plugins, "--out", str(out)], capsys)
    check_contract(res)
    first = report_state(out)
    assert any(f.startswith("figures/fuzz-other") for f in first["figures"])
    res = run_main(["report", PLUGIN_ID, *plugins, "--out", str(out), "--seed", "1"], capsys)
    check_contract(res)
    second = report_state(out)
    assert second["claims"] == [PLUGIN_ID] and second["seed"] == "1"
    assert not any("fuzz-other" in p.name for p in out.rglob("*")), second["figures"]
    assert "fuzz-other" not in (out / "index.html").read_text()


@pytest.mark.slow
def test_report_all_then_one_leaves_no_stale_files(tmp_path):
    res = run_cli("report", "--all", "--out", "S", cwd=tmp_path, timeout=1800)
    check_contract(res, seconds=1800)  # every claim: not one case
    res = run_cli("report", "gf-depth", "--out", "S", cwd=tmp_path)
    check_contract(res)
    state = report_state(tmp_path / "S")
    assert state["claims"] == ["gf-depth"]
    names = {p.name for p in (tmp_path / "S").iterdir()}
    assert names <= {"index.html", "index.md", "results.json", "timings.json", "figures"}


# ---------------------------------------------------------------------------------------------
# Reproducibility.

def test_report_results_are_byte_identical_apart_from_the_time(first_reports):
    """The issue's reproduction: ``report gf-depth --out A`` and ``--out B``."""
    root, _ = first_reports
    a, b = root / "A" / "results.json", root / "B" / "results.json"
    assert report_state(root / "A")["seed"] == report_state(root / "B")["seed"] == "0"
    assert _without_time(a) == _without_time(b)
    text_a = re.sub(r'"time_utc": "[^"]*"', '"time_utc": ""', a.read_text())
    text_b = re.sub(r'"time_utc": "[^"]*"', '"time_utc": ""', b.read_text())
    assert text_a == text_b


def test_check_output_is_byte_identical_apart_from_the_time(tmp_path, capsys):
    texts = []
    for name in ("one.json", "two.json"):
        res = run_main(["check", "gf-depth", "--seed", "3", "--alpha", "0.5", "--output",
                        str(tmp_path / name)], capsys)
        check_contract(res)
        assert res.code == 0
        text = (tmp_path / name).read_text()
        texts.append(re.sub(r'"time_utc": "[^"]*"', '"time_utc": ""', text))
    assert texts[0] == texts[1]
    assert json.loads(texts[0])["provenance"]["seed"] == 3


def test_different_seeds_give_different_results(tmp_path, capsys):
    """The control: the comparison above can fail (the seed reaches results.json)."""
    texts = []
    for seed in ("3", "4"):
        path = tmp_path / f"{seed}.json"
        res = run_main(["check", "gf-depth", "--seed", seed, "--alpha", "0.5", "--output",
                        str(path)], capsys)
        check_contract(res)
        texts.append(_without_time(path))
    assert texts[0] != texts[1]


@pytest.mark.parametrize("out", [".", "", "..", "/"])
def test_out_that_would_replace_the_current_folder_is_refused(out, plugin_file, tmp_path,
                                                              monkeypatch, capsys):
    """``--out .`` used to end in a traceback (OSError EBUSY from the rename); replacing the
    current folder (or a parent) would delete the user's files: exit 2 naming --out."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("mine")
    monkeypatch.chdir(work)
    res = run_main(["report", PLUGIN_ID, "--plugin", str(plugin_file), "--out", out], capsys)
    check_contract(res, param="--out")
    assert sorted(p.name for p in work.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fuzz_claim.py", "work"]
