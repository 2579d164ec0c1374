"""Seeded problem instances.

An :class:`Instance` bundles the data ``(X, y)``, the algorithm parameters and the seed that
produced them. Generators take a seed (or a :class:`numpy.random.Generator`) and nothing else is
random. Convention (``THEORY.md``): rows of ``X`` are samples, regression loss
``L(β) = ‖Xβ − y‖² / (2n)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from dln_verify.numeric.validation import as_finite_array, check_seed

__all__ = [
    "Instance",
    "as_generator",
    "gaussian_regression",
    "sparse_regression",
    "separable_classification",
    "load_npz",
]


def as_generator(seed: int | np.random.Generator) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from a seed or pass a generator through."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed))


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, eq=False)
class Instance:
    """Data plus parameters of one check.

    Attributes
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    seed : int or None
        Seed of the generator that produced the data (None for user data).
    params : mapping
        Algorithm parameters (α, γ, β, horizon, ...), JSON-serialisable.
    name : str
        Human-readable description of the generator.
    extra : mapping
        Auxiliary arrays (e.g. the planted ``beta_star``); not printed in reports.
    """

    X: np.ndarray
    y: np.ndarray
    seed: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str = "custom"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    def with_params(self, **params: Any) -> Instance:
        """Return a copy whose ``params`` are updated with ``params``."""
        return replace(self, params={**self.params, **params})

    def parameters(self) -> dict[str, Any]:
        """JSON-ready description (sizes, generator, seed, parameters; not the arrays)."""
        return {"generator": self.name, "n": self.n, "d": self.d, "seed": self.seed,
                **_plain(dict(self.params))}


def gaussian_regression(
    n: int, d: int, seed: int | np.random.Generator = 0, *, noise: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian design ``X_ij ~ N(0, 1)`` and generic target ``y ~ N(0, noise² I)``.

    Generic targets make the gradient-flow limit converge fast (``THEORY`` regression §10.2).
    """
    if not (1 <= n < d):
        raise ValueError(f"need 1 <= n < d for interpolation, got n = {n}, d = {d}")
    rng = as_generator(seed)
    X = rng.standard_normal((n, d))
    y = noise * rng.standard_normal(n)
    return X, y


def sparse_regression(
    n: int,
    d: int,
    sparsity: int,
    seed: int | np.random.Generator = 0,
    *,
    noise: float = 0.0,
    amplitude: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse recovery design: Gaussian ``X``, ``β*`` with ``sparsity`` entries ``±amplitude``.

    Returns ``(X, y, beta_star)`` with ``y = X β* + noise · ε``.
    """
    if not (1 <= n < d):
        raise ValueError(f"need 1 <= n < d for interpolation, got n = {n}, d = {d}")
    if not (1 <= sparsity <= d):
        raise ValueError(f"sparsity must lie in [1, d = {d}], got {sparsity}")
    rng = as_generator(seed)
    X = rng.standard_normal((n, d))
    beta_star = np.zeros(d)
    support = rng.choice(d, size=sparsity, replace=False)
    beta_star[support] = amplitude * rng.choice([-1.0, 1.0], size=sparsity)
    y = X @ beta_star + noise * rng.standard_normal(n)
    return X, y, beta_star


def separable_classification(
    n: int, d: int, seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Linearly separable data: Gaussian ``X`` and ``y = sign(X w̃)`` for a random ``w̃``."""
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be >= 1, got n = {n}, d = {d}")
    rng = as_generator(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    y = np.sign(X @ w)
    y[y == 0] = 1.0
    return X, y


def load_npz(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Load user data ``X`` and ``y`` from a ``.npz`` file with arrays named ``X`` and ``y``.

    Raises ``ValueError`` (naming the file) for unreadable files, missing arrays and NaN/inf.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("X", "y") if key in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"cannot read data file {path!r} as a .npz archive ({exc})") from None
    if len(arrays) < 2:
        raise ValueError(f"data file {path!r} must contain arrays named 'X' and 'y'")
    return as_finite_array(arrays["X"], "X", ndim=2), as_finite_array(arrays["y"], "y", ndim=1)
