"""Build hook: stamp the git revision into non-editable installs.

All metadata lives in ``pyproject.toml``. A wheel installed into a virtual environment outside
the repository cannot ask git where it came from, so ``build_py`` writes
``dln_verify/_revision.py`` (``REVISION = "<sha>[+dirty]"``) into the build, and
``dln_verify.verify.provenance.git_revision`` reports it. Editable installs get no stamp: they
read the live repository instead, so a stamp could never go stale.
"""

import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


class BuildPyWithRevision(build_py):
    """``build_py`` that also writes ``dln_verify/_revision.py`` (not in editable mode)."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        rev = _git("rev-parse", "HEAD")
        if not rev:  # built from an sdist, or without git: no stamp, provenance says unknown
            return
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        stamp = rev + ("+dirty" if dirty else "")
        target = Path(self.build_lib) / "dln_verify" / "_revision.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f'"""Written at build time by setup.py."""\n\nREVISION = "{stamp}"\n')


setup(cmdclass={"build_py": BuildPyWithRevision})
