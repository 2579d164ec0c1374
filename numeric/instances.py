"""Seeded problem instances.

An :class:`Instance` bundles the data ``(X, y)``, the algorithm parameters and the seed that
produced them. Generators take a seed (or a :class:`numpy.random.Generator`) and nothing else is
random. Convention (docs/theory/conventions.md §1.1): rows of ``X`` are samples, regression loss
``L(β) = ‖Xβ − y‖² / (2n)``.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np

from dln_verify.numeric.validation import (
    DataError,
    check_classification_data,
    check_data_scale,
    check_regression_data,
    check_seed,
)

__all__ = [
    "Instance",
    "as_generator",
    "gaussian_regression",
    "sparse_regression",
    "separable_classification",
    "first_acceptable_draw",
    "load_npz",
    "load_data",
    "MAX_DATA_BYTES",
]


def as_generator(seed: int | np.random.Generator) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from a seed or pass a generator through."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed))


T = TypeVar("T")


def first_acceptable_draw(seed: int, draw: Callable[[np.random.Generator | None], T],
                          acceptable: Callable[[T], bool], max_redraws: int) -> tuple[T, int]:
    """The redraw rule for a claim's default data, fixed before any sweep.

    Draw 0 is ``draw(None)`` (the seed's own data); draw ``k ≥ 1`` is
    ``draw(default_rng(SeedSequence(seed).spawn(k)[-1]))``. Returns the first draw that is
    ``acceptable`` (a test of the data alone, never of a simulation), or draw ``max_redraws``
    if none is, with its index ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> value, k = first_acceptable_draw(
    ...     3, lambda rng: 0.9 if rng is None else rng.random(), lambda v: v < 0.5, 20)
    >>> k >= 1 and value < 0.5
    True
    """
    value = draw(None)
    k = 0
    children = np.random.SeedSequence(check_seed(seed)).spawn(max_redraws)
    while k < max_redraws and not acceptable(value):
        value = draw(np.random.default_rng(children[k]))
        k += 1
    return value, k


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

    Generic targets make the gradient-flow limit converge fast
    (docs/theory/regression.md §10.2).
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


#: Largest array accepted from a data file (uncompressed bytes, X and y each).
MAX_DATA_BYTES = 2**30

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip archive (an empty one: the second)
_ACCEPTED_KINDS = "biuf"  # bool, signed/unsigned integer, real floating point


def _dtype_problem(label: str, dtype: np.dtype) -> str | None:
    """Why an array of this dtype is refused (None when accepted)."""
    if dtype.hasobject:
        return f"{label} has dtype object (pickled Python objects are never loaded)"
    if dtype.kind == "c":
        return f"{label} must be real-valued, got a complex array (dtype {dtype})"
    if dtype.kind not in _ACCEPTED_KINDS or dtype.fields is not None:
        return f"{label} must hold real numbers (int, float or bool), got dtype {dtype}"
    return None


def _read_member(archive: zipfile.ZipFile, label: str, where: str, name: str) -> np.ndarray:
    """Read ``label.npy`` from the archive after checking its header, size and dtype."""
    info = archive.getinfo(f"{label}.npy")
    if info.file_size > MAX_DATA_BYTES + 4096:
        raise DataError(name, f"{where}: array {label} takes {info.file_size} bytes, more than "
                              f"the limit of {MAX_DATA_BYTES} bytes")
    with archive.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise DataError(name, f"{where}: array {label} has unsupported .npy format version "
                                  f"{version}")
        problem = _dtype_problem(f"array {label}", dtype)
        if problem is not None:
            raise DataError(name, f"{where}: {problem}")
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if nbytes > MAX_DATA_BYTES:
            raise DataError(name, f"{where}: array {label} of shape {shape} takes {nbytes} bytes, "
                                  f"more than the limit of {MAX_DATA_BYTES} bytes")
        if info.file_size - fp.tell() != nbytes:
            raise DataError(name, f"{where}: array {label} is truncated or padded (header says "
                                  f"{nbytes} bytes of data, the file holds "
                                  f"{info.file_size - fp.tell()})")
    with archive.open(info) as fp:
        return np.lib.format.read_array(fp, allow_pickle=False)


def _read_file(path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Arrays ``X`` and ``y`` of a ``.npz`` file, every failure as a :class:`DataError`."""
    try:
        fspath = os.fspath(path)
    except TypeError:
        raise DataError(name, f"expected a path, a pair (X, y) or a mapping with keys 'X' "
                              f"and 'y', got {type(path).__name__}") from None
    where = repr(fspath if isinstance(fspath, str) else os.fsdecode(fspath))
    try:
        with open(fspath, "rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise DataError(name, f"no such file {where}") from None
    except IsADirectoryError:
        raise DataError(name, f"{where} is a directory, not a .npz file") from None
    except (OSError, ValueError) as exc:  # permissions, NUL in the name, ...
        raise DataError(name, f"cannot open {where} ({exc})") from None
    if head.startswith(_NPY_MAGIC):
        raise DataError(name, f"{where} is a .npy file, which holds a single array; save both "
                              "arrays in one .npz archive: numpy.savez(path, X=X, y=y)")
    if not head.startswith(_ZIP_MAGICS):
        raise DataError(name, f"{where} is not a .npz archive (no zip signature); expected "
                              "numpy.savez(path, X=X, y=y) output (text, CSV and pickle files "
                              "are not read)")
    try:
        with zipfile.ZipFile(fspath) as archive:
            members = archive.namelist()
            missing = [k for k in ("X", "y") if f"{k}.npy" not in members]
            if missing:
                found = sorted(m[:-4] if m.endswith(".npy") else m for m in members)
                raise DataError(name, f"{where} must contain arrays named 'X' and 'y' (missing "
                                      f"{', '.join(missing)}; found {found[:10] or 'none'})")
            X = _read_member(archive, "X", where, name)
            y = _read_member(archive, "y", where, name)
    except DataError:
        raise
    except MemoryError:
        raise DataError(name, f"{where}: not enough memory to read the arrays") from None
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: zipfile/zlib/format errors vary
        # BadZipFile, zlib.error, struct.error, EOFError, ValueError (bad .npy header), OSError,
        # NotImplementedError (compression method), RuntimeError (encrypted member), ...
        detail = " ".join(str(exc).split())[:200]
        raise DataError(name, f"cannot read {where} as a .npz archive (truncated or corrupt: "
                              f"{type(exc).__name__}: {detail})") from None
    return X, y


def _as_real_array(value, label: str, name: str) -> np.ndarray:
    """``value`` as an ndarray of accepted dtype (in-memory input), else a DataError."""
    if isinstance(value, str | bytes):
        raise DataError(name, f"{label} must be a numeric array, got a string")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists, unconvertible objects
        raise DataError(name, f"{label} must be a numeric array ({exc})") from None
    if arr.dtype.hasobject:
        try:  # a list of Python numbers mixed with None etc. lands here
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(name, f"{label} must hold real numbers, got Python objects") from None
    problem = _dtype_problem(label, arr.dtype)
    if problem is not None:
        raise DataError(name, problem)
    return arr


def load_data(
    data,
    *,
    kind: str | None = None,
    require_underdetermined: bool = True,
    name: str = "data",
) -> tuple[np.ndarray, np.ndarray]:
    """Load and validate user data ``(X, y)`` from untrusted input.

    Parameters
    ----------
    data : str, os.PathLike, tuple (X, y) or mapping with keys ``"X"`` and ``"y"``
        A path to a ``.npz`` archive written by ``numpy.savez(path, X=X, y=y)`` or
        ``numpy.savez_compressed`` (the only file format read; other members are ignored; pickled
        objects are never loaded), or the arrays themselves.
    kind : {None, "regression", "classification"}
        ``None``: shapes, dtype, finiteness and scale only. ``"regression"``: also
        :func:`~dln_verify.numeric.validation.check_regression_data` (``y ≢ 0``, and ``n < d``
        with full row rank when ``require_underdetermined``). ``"classification"``: also labels
        in ``{−1, +1}`` (:func:`~dln_verify.numeric.validation.check_classification_data`) and
        linear separability, certified by the LP of
        :func:`~dln_verify.numeric.convex.max_margin.separability` (a separating β, or a
        Gordan certificate that none exists).
        A ``±1`` target loaded as regression data is accepted; use
        :func:`~dln_verify.numeric.validation.looks_like_labels` to warn about it.
    require_underdetermined : bool
        Only for ``kind="regression"``.
    name : str
        Parameter name used in messages: ``"data"`` (default) or ``"--data"`` for the CLI.

    Returns
    -------
    X : ndarray of float64, shape (n, d)
    y : ndarray of float64, shape (n,)
        Finite, C-contiguous, with ``max|X|`` and ``max|y|`` in
        :data:`~dln_verify.numeric.validation.DATA_MAX_ABS_RANGE` (see
        :func:`~dln_verify.numeric.validation.check_data_scale`).

    Raises
    ------
    DataError
        A ValueError with the one-line message ``"<name>: <what is wrong>"`` for a missing,
        unreadable, truncated or wrong-kind file, a missing array, a disallowed dtype (object,
        complex, string, structured), NaN/inf, wrong shapes, out-of-range scale, or a failed
        regression/classification check. Each array may take at most :data:`MAX_DATA_BYTES`.
    ValueError
        For a bad ``kind``, ``require_underdetermined`` or ``name`` (naming the parameter).

    Examples
    --------
    >>> X, y = load_data(([[1.0, 0.0, 2.0]], [1.0]), kind="regression")
    >>> X.shape, y.dtype
    ((1, 3), dtype('float64'))
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if kind not in (None, "regression", "classification"):
        raise ValueError(f"kind must be None, 'regression' or 'classification', got {kind!r}")
    if not isinstance(require_underdetermined, bool | np.bool_):
        raise ValueError(
            f"require_underdetermined must be True or False, got {require_underdetermined!r}"
        )
    if isinstance(data, Mapping):
        missing = [k for k in ("X", "y") if k not in data]
        if missing:
            raise DataError(name, f"the mapping must have keys 'X' and 'y' (missing "
                                  f"{', '.join(missing)})")
        X, y = data["X"], data["y"]
    elif isinstance(data, tuple | list) and not isinstance(data, str):
        if len(data) != 2:
            raise DataError(name, f"a sequence must be the pair (X, y), got length {len(data)}")
        X, y = data
    else:
        X, y = _read_file(data, name)
    X = _as_real_array(X, "X", name)
    y = _as_real_array(y, "y", name)
    if X.ndim != 2:
        raise DataError(name, f"X must have 2 axes (n samples × d features), got shape {X.shape}")
    if y.ndim != 1:
        raise DataError(name, f"y must have 1 axis (n targets), got shape {y.shape}")
    X, y = check_data_scale(X, y, name)
    try:
        if kind == "regression":
            X, y = check_regression_data(X, y, require_underdetermined=require_underdetermined)
        elif kind == "classification":
            X, y = check_classification_data(X, y)
            _check_separable(X, y)
    except ValueError as exc:
        raise DataError(name, str(exc)) from None
    return np.ascontiguousarray(X), np.ascontiguousarray(y)


def _check_separable(X: np.ndarray, y: np.ndarray) -> None:
    """Refuse classification data that no hyperplane through 0 separates (certified LP)."""
    from dln_verify.numeric.convex.max_margin import separability

    cert = separability(X, y)
    if not cert.separable:
        raise ValueError(f"X, y must be linearly separable (some β with y_i<x_i, β> > 0 for "
                         f"every i), but they are {cert.message}")


def load_npz(path, *, name: str = "--data") -> tuple[np.ndarray, np.ndarray]:
    """Load user data ``X``, ``y`` from a ``.npz`` file (the CLI's ``--data``).

    Same checks as :func:`load_data` with ``kind=None``; messages start with ``name``
    (``"--data: ..."`` by default).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npz`` archive with arrays named ``X`` (n, d) and ``y`` (n,).
    name : str
        Parameter name for the messages.

    Returns
    -------
    X : ndarray of float64, shape (n, d)
    y : ndarray of float64, shape (n,)

    Raises
    ------
    DataError
        A ValueError ``"<name>: <what is wrong>"`` (see :func:`load_data`).
    """
    if isinstance(path, Mapping | tuple | list):
        raise DataError(name, "load_npz reads a file path; pass arrays to load_data instead")
    return load_data(path, name=name)
