"""The git revision recorded in every report and sweep line (verify/provenance.py, setup.py)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from dln_verify.verify.provenance import git_revision

REPO = Path(__file__).resolve().parents[2]


def _head() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def test_installed_package_reports_the_revision_it_was_built_from():
    """Editable (git of the source tree) or not (the stamp setup.py writes at build time): both
    give the checkout's HEAD. CI installs a wheel into a venv outside the clone, where asking git
    gave "unknown" before the build stamp existed."""
    head = _head()
    if head is None:
        pytest.skip("the tests do not run from a git checkout")
    assert git_revision().removesuffix("+dirty") == head


def test_a_build_stamp_takes_precedence(monkeypatch):
    stamp = types.ModuleType("dln_verify._revision")
    stamp.REVISION = "0123abcd+dirty"
    monkeypatch.setitem(sys.modules, "dln_verify._revision", stamp)
    assert git_revision() == "0123abcd+dirty"


def test_a_directory_outside_any_repository_is_unknown(tmp_path):
    assert git_revision(tmp_path) == "unknown"
