"""Provenance of a run: versions, git revision, platform and time, recorded in every report."""

from __future__ import annotations

import datetime as _dt
import importlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["provenance", "git_revision"]

_PACKAGES = ("dln-verify", "numpy", "scipy", "sympy", "cvxpy", "clarabel", "matplotlib", "click")


def _stamped_revision() -> str | None:
    """The revision ``setup.py`` wrote into a non-editable install, if any."""
    try:  # through sys.modules (not the package attribute), so a test can stand one in
        _revision = importlib.import_module("dln_verify._revision")
    except ImportError:
        return None
    rev = getattr(_revision, "REVISION", None)
    return rev if isinstance(rev, str) and rev else None


def git_revision(path: Path | None = None) -> str:
    """The revision this package was built from (``+dirty`` if modified), or ``unknown``.

    A non-editable install reports the revision stamped into it at build time (``setup.py``);
    an editable install or a source checkout asks git about its own source tree — only when
    that tree is the project's (it holds ``pyproject.toml``), so an installed copy inside some
    other repository never reports that repository's ``HEAD``. ``path`` asks git about that
    directory instead.
    """
    if path is None:
        stamped = _stamped_revision()
        if stamped:
            return stamped
        where = Path(__file__).resolve().parent.parent
        if not (where / "pyproject.toml").is_file():
            return "unknown"
    else:
        where = path
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def provenance(**extra: Any) -> dict[str, Any]:
    """A JSON-ready record of where and how a run was made (plus ``extra`` fields)."""
    return {
        "time_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "git_revision": git_revision(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": {name: _version(name) for name in _PACKAGES},
        "command": " ".join(["dln-verify", *sys.argv[1:]]),
        **extra,
    }
