"""Shared pytest configuration: hypothesis profiles and helpers.

Profiles (select with ``HYPOTHESIS_PROFILE=thorough``):

- ``ci`` (default): few examples per property, no deadline (numeric work varies in time), so the
  whole suite stays under ten minutes on two cores;
- ``thorough``: many more examples, for a local run before a release.
"""

from __future__ import annotations

import os
import tempfile

from hypothesis import HealthCheck, settings

# Derivation caches of a test run live in a private folder, never in the user's ~/.cache.
os.environ.setdefault("DLN_VERIFY_CACHE_DIR", tempfile.mkdtemp(prefix="dln-verify-test-cache-"))

settings.register_profile(
    "ci",
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
