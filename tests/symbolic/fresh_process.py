"""Run a script in a fresh interpreter against a given derivation cache (the cross-process
cache tests of horizons and potentials)."""

from __future__ import annotations

import os
import subprocess
import sys


def run_with_cache(script: str, cache, *args: str) -> tuple[int, list[str]]:
    """Run ``script`` with ``DLN_VERIFY_CACHE_DIR=cache``; its first output line is a count of
    derivations, returned with the remaining lines."""
    env = dict(os.environ, DLN_VERIFY_CACHE_DIR=str(cache))
    proc = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True,
                          text=True, timeout=600, check=True)
    lines = proc.stdout.splitlines()
    return int(lines[0]), lines[1:]
