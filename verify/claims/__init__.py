"""Claim modules, one per paper. Importing this package registers every claim.

The import order below is the catalogue order of ``THEORY.md`` (registration order).
"""
# isort: skip_file

from dln_verify.verify.claims import woodworth2020  # noqa: F401
from dln_verify.verify.claims import papazov2024  # noqa: F401
from dln_verify.verify.claims import pesme_dragomir2024  # noqa: F401
from dln_verify.verify.claims import soudry2018  # noqa: F401
from dln_verify.verify.claims import pesme_flammarion2023  # noqa: F401
