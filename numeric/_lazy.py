"""Deferred imports of heavy dependencies (SciPy, SymPy), so that importing a claim is cheap.

``dln-verify list`` and ``--help`` import every claim module to read its declarations; the
modules they import need SciPy and SymPy only when they compute. :func:`lazy_module` returns a
stand-in that imports the real module on first attribute access and is indistinguishable from
it afterwards (attribute access is forwarded).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["lazy_module", "compiled_module"]


class _LazyModule:
    """A module imported on first attribute access (thread-safe)."""

    __slots__ = ("_name", "_module", "_lock")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None
        self._lock = threading.Lock()

    def _load(self) -> ModuleType:
        if self._module is None:
            with self._lock:
                if self._module is None:
                    self._module = importlib.import_module(self._name)
        return self._module

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_module(name: str) -> Any:
    """A stand-in for ``importlib.import_module(name)`` that imports on first use.

    Parameters
    ----------
    name : str
        Absolute module name, e.g. ``"scipy.linalg"``.

    Returns
    -------
    object
        Forwards every attribute to the module, importing it the first time.

    Examples
    --------
    >>> lazy_module("json").dumps([1])
    '[1]'
    """
    if not isinstance(name, str) or not name or name.startswith("."):
        raise ValueError(f"name must be an absolute module name, got {name!r}")
    return _LazyModule(name)


_compiled: dict[str, tuple[ModuleType | None, str | None]] = {}
_compiled_lock = threading.Lock()


def compiled_module(name: str, probe: Callable[[ModuleType], Any] | None = None
                    ) -> tuple[ModuleType | None, str | None]:
    """``(module, None)`` for a module of numba-compiled kernels, or ``(None, reason)`` when it
    cannot be used here (numba missing or failing); tried once per process, thread-safe.

    The kernels live at module level in their own modules (``numeric/_*_jit.py``): numba's
    on-disk cache misses in every new process for jitted functions defined in a closure that
    call one another. ``probe(module)``, if given, is run once (e.g. a tiny call that compiles
    or loads the kernels); an exception there also means "not usable".

    Examples
    --------
    >>> compiled_module("json")[0].__name__
    'json'
    >>> compiled_module("no_such_module_here")[1]
    "ModuleNotFoundError: No module named 'no_such_module_here'"
    """
    with _compiled_lock:
        if name not in _compiled:
            try:
                module = importlib.import_module(name)
                if probe is not None:
                    probe(module)
                _compiled[name] = (module, None)
            except Exception as exc:  # noqa: BLE001 - the caller falls back to numpy
                _compiled[name] = (None, f"{type(exc).__name__}: {exc}")
        return _compiled[name]
