"""The papers whose theorems the built-in claims check, as :class:`Reference` records.

One record per paper, so that two claims of the same paper cite it identically.
"""

from __future__ import annotations

from dln_verify.verify.claim import Reference

__all__ = ["WOODWORTH2020", "PAPAZOV2024", "PESME_DRAGOMIR2024", "SOUDRY2018",
           "PESME_FLAMMARION2023", "papazov2024"]

WOODWORTH2020 = Reference(
    authors="B. Woodworth, S. Gunasekar, J. D. Lee, E. Moroshko, P. Savarese, I. Golan, "
    "D. Soudry and N. Srebro",
    year=2020,
    title="Kernel and rich regimes in overparametrized models",
    venue="COLT 2020 (PMLR 125)",
    theorem="Theorem 1 (depth 2) and Theorem 2 (depth D)",
    arxiv="2002.09277",
)

_PAPAZOV_AUTHORS = "Kiril Papazov, Scott Pesme and Nicolas Flammarion"
_PAPAZOV_TITLE = ("Leveraging continuous time to understand momentum when training diagonal "
                  "linear networks")


def papazov2024(theorem: str) -> Reference:
    """Papazov, Pesme & Flammarion (AISTATS 2024) with the part of the paper a claim checks."""
    return Reference(_PAPAZOV_AUTHORS, 2024, _PAPAZOV_TITLE, "AISTATS 2024 (PMLR 238)", theorem,
                     "2403.05293")


PAPAZOV2024 = papazov2024("momentum gradient flow")

PESME_DRAGOMIR2024 = Reference(
    authors="Scott Pesme, Radu-Alexandru Dragomir, Nicolas Flammarion",
    year=2024,
    title="Implicit bias of mirror flow on separable data",
    venue="NeurIPS 2024",
    theorem="main theorem (directional convergence to the φ∞-max-margin classifier)",
    arxiv="2406.12763",
)

SOUDRY2018 = Reference(
    authors="Daniel Soudry, Elad Hoffer, Mor Shpigel Nacson, Suriya Gunasekar, Nathan Srebro",
    year=2018,
    title="The implicit bias of gradient descent on separable data",
    venue="JMLR 19(70)",
    theorem="Theorem 3",
    arxiv="1710.10345",
)

PESME_FLAMMARION2023 = Reference(
    authors="Scott Pesme and Nicolas Flammarion",
    year=2023,
    title="Saddle-to-Saddle Dynamics in Diagonal Linear Networks",
    venue="NeurIPS 2023",
    theorem="Theorem 2 and Algorithm 1",
    arxiv="2304.00488",
)
