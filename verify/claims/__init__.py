"""Claim modules, one per paper. Importing this package registers every claim.

Catalogue order follows ``THEORY.md``.
"""

from verify.claims import (  # noqa: F401
    woodworth2020,
    papazov2024,
    soudry2018,
    pesme_dragomir2024,
    pesme_flammarion2023,
)
