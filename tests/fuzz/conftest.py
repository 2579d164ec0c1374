"""Fixtures of the fuzz suite: every test gets a private copy of the claim registry.

In-process CLI calls load ``--plugin`` files into the process-wide registry; the copy keeps them
from leaking into the tests that run after this folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dln_verify.verify import registry
from tests.fuzz.corpus import PLUGIN_ID, template_plugin_text


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch):
    registry.ids()  # discover the built-in claims once, then work on copies
    monkeypatch.setattr(registry, "_CLASSES", dict(registry._CLASSES))
    monkeypatch.setattr(registry, "_SOURCES", dict(registry._SOURCES))
    monkeypatch.setattr(registry, "_PLUGIN_FILES", dict(registry._PLUGIN_FILES))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("dln_verify_plugin_"):
            del sys.modules[name]


@pytest.fixture
def plugin_file(tmp_path: Path) -> Path:
    """A copy of the template claim with id ``fuzz-min-norm`` (cheap: pinv + a few GD steps)."""
    path = tmp_path / "fuzz_claim.py"
    path.write_text(template_plugin_text(PLUGIN_ID))
    return path
