"""User claims: a copy of the template through ``--plugin``, and an entry-point distribution.

Each case runs the real command line in a subprocess, so a plugin registered by one test
cannot leak into the registry another test sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dln_verify.verify.claims import template_claim

TEMPLATE = Path(template_claim.__file__)


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dln_verify", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def plugin_file(tmp_path: Path) -> Path:
    """The template copied to a user's file with its id changed, as the guide says."""
    text = TEMPLATE.read_text().replace('id = "template-min-norm"', 'id = "my-min-norm"')
    assert 'id = "my-min-norm"' in text
    path = tmp_path / "my_claim.py"
    path.write_text(text)
    return path


def test_template_copy_passes_check(plugin_file, tmp_path):
    proc = cli("check", "my-min-norm", "--plugin", str(plugin_file), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout.splitlines()[0])
    assert record["claim"] == "my-min-norm" and record["status"] == "pass"
    assert record["controls"] and all(c["rejected"] for c in record["controls"])


def test_template_copy_in_list_and_report(plugin_file, tmp_path):
    listed = cli("list", "--json", "--plugin", str(plugin_file), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    mine = [r for r in rows if r["claim"] == "my-min-norm"]
    assert mine and mine[0]["source"].startswith("plugin ")
    assert rows[0]["claim"] == "gf-hypentropy"  # built-ins keep their catalogue order
    out = tmp_path / "report"
    proc = cli("report", "my-min-norm", "--plugin", str(plugin_file), "--out", str(out),
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert [r["claim"] for r in results["results"]] == ["my-min-norm"]
    assert "my-min-norm" in (out / "index.html").read_text()


@pytest.mark.parametrize("content, expected", [
    (None, "no such file"),
    ("this is not python(", "import failed"),
    ("x = 1\n", "defines no Claim"),
    ("from dln_verify.verify.claims.template_claim import MinNormLeastSquares\n"
     "class Clash(MinNormLeastSquares):\n    id = 'gf-depth'\n", "registered twice"),
])
def test_bad_plugin_is_a_one_line_input_error(tmp_path, content, expected):
    path = tmp_path / "plugin.py"
    if content is not None:
        path.write_text(content)
    proc = cli("list", "--plugin", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert expected in proc.stderr and "--plugin" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_entry_point_distribution_is_loaded(tmp_path):
    """A throwaway distribution, installed into a folder on sys.path (its .dist-info makes it
    visible to importlib.metadata), contributes a claim through the entry-point group."""
    site = tmp_path / "site"
    pkg = site / "throwaway_claims"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        TEMPLATE.read_text().replace('id = "template-min-norm"', 'id = "ep-min-norm"'))
    info = site / "throwaway_claims-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: throwaway-claims\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text("[dln_verify.claims]\nmine = throwaway_claims\n")
    (info / "RECORD").write_text("")
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = cli("list", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {json.loads(line)["claim"]: json.loads(line) for line in listed.stdout.splitlines()}
    assert "ep-min-norm" in rows and rows["ep-min-norm"]["source"].startswith("entry point")
    proc = cli("check", "ep-min-norm", "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[0])["status"] == "pass"


def test_broken_entry_point_warns_and_the_rest_still_loads(tmp_path):
    site = tmp_path / "site"
    info = site / "broken_claims-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-claims\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[dln_verify.claims]\nbad = no_such_module_here\n")
    (info / "RECORD").write_text("")
    env = {"PYTHONPATH": str(site)}
    proc = cli("list", cwd=tmp_path, env=env)
    assert proc.returncode == 0
    assert "skipping claim entry point bad" in proc.stderr
    assert "gf-hypentropy" in proc.stdout
