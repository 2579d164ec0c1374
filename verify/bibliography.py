"""The papers whose theorems the built-in claims check, as :class:`Reference` records.

One record per paper, so that two claims of the same paper cite it identically.
"""

from __future__ import annotations

from dln_verify.verify.claim import Reference

__all__ = ["WOODWORTH2020", "PAPAZOV2024", "PESME_DRAGOMIR2024", "SOUDRY2018",
           "PESME_FLAMMARION2023", "papazov2024", "EVEN2023", "ANDRIUSHCHENKO2023",
           "PESME2021", "PILLAUD_VIVIEN2022", "BOURSIER2025", "BERTHIER2026",
           "MALAXECHEBARRIA2026"]

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

EVEN2023 = Reference(
    authors="Mathieu Even, Scott Pesme, Suriya Gunasekar and Nicolas Flammarion",
    year=2023,
    title="(S)GD over diagonal linear networks: implicit regularisation, large stepsizes and "
    "edge of stability",
    venue="NeurIPS 2023",
    theorem="Theorem 1 (implicit regularisation of (S)GD) and Section 4 (large stepsizes)",
    arxiv="2302.08982",
)

ANDRIUSHCHENKO2023 = Reference(
    authors="Maksym Andriushchenko, Aditya Varre, Loucas Pillaud-Vivien and Nicolas Flammarion",
    year=2023,
    title="SGD with large step sizes learns sparse features",
    venue="ICML 2023 (PMLR 202)",
    theorem="large-then-small stepsize schedules on diagonal linear networks",
    arxiv="2210.05337",
)

PESME2021 = Reference(
    authors="Scott Pesme, Loucas Pillaud-Vivien and Nicolas Flammarion",
    year=2021,
    title="Implicit bias of SGD for diagonal linear networks: a provable benefit of "
    "stochasticity",
    venue="NeurIPS 2021",
    theorem="stochastic gradient flow converges to the minimiser of ψ with the effective "
    "initialisation α∞",
    arxiv="2106.09524",
)

PILLAUD_VIVIEN2022 = Reference(
    authors="Loucas Pillaud-Vivien, Julien Reygner and Nicolas Flammarion",
    year=2022,
    title="Label noise (stochastic) gradient descent implicitly solves the Lasso for quadratic "
    "parametrisation",
    venue="COLT 2022 (PMLR 178)",
    theorem="time average of label-noise (S)GD solves a weighted Lasso",
    arxiv="2206.09841",
)

BOURSIER2025 = Reference(
    authors="Etienne Boursier, Scott Pesme and Radu-Alexandru Dragomir",
    year=2025,
    title="A theoretical framework for grokking: interpolation followed by Riemannian norm "
    "minimisation",
    venue="NeurIPS 2025",
    theorem="weight-decayed gradient flow on diagonal linear networks",
    arxiv="2505.20172",
)

BERTHIER2026 = Reference(
    authors="Raphaël Berthier",
    year=2026,
    title="Diagonal linear networks and the Lasso regularization path",
    venue="arXiv preprint (version of March 2026)",
    theorem="Theorem 2.1",
    arxiv="2509.18766",
)

MALAXECHEBARRIA2026 = Reference(
    authors="Sofía Malaxechebarría, Courtney Paquette, Maryam Fazel and Dmitriy Drusvyatskiy",
    year=2026,
    title="High-dimensional limit of SGD for diagonal linear networks",
    venue="arXiv preprint",
    theorem="concentration of the risk curves of streaming SGD",
    arxiv="2605.17177",
)
