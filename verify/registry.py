"""The claim registry: built-in claim files are discovered, user claims are plugged in.

Where claims come from, in catalogue order:

1. **Built-in claim files** — every module of :mod:`dln_verify.verify.claims` except those
   whose name starts with ``_`` or ``template`` (benchopt's rule); no import list to maintain.
   The order of the catalogue is declared once, in :data:`dln_verify.verify.claims.CATALOGUE`;
   a discovered claim that is not listed there follows the listed ones, by id.
2. **Installed distributions** — entry points of the group ``dln_verify.claims`` (see
   :data:`ENTRY_POINT_GROUP`); each names a module (every claim class defined in it is loaded)
   or a single :class:`~dln_verify.verify.claim.Claim` subclass.
3. **Plugin files** — :func:`load_plugin` (the ``--plugin FILE.py`` option of the CLI).

A claim class is any concrete subclass of :class:`~dln_verify.verify.claim.Claim` with an ``id``
defined in the module (classes imported from elsewhere are not re-registered). The
:func:`register` decorator adds one by hand, e.g. from a notebook.

Examples
--------
>>> from dln_verify.verify import registry
>>> registry.ids()[:3]
['gf-hypentropy', 'gf-depth', 'gf-limits']
>>> registry.get("gf-depth").kind
'tight'
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import pkgutil
import sys
import warnings
from importlib import metadata
from pathlib import Path
from types import ModuleType

from dln_verify.verify.claim import Claim, Option, Tolerance

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginError",
    "UnknownClaimError",
    "all_claims",
    "claims_in_module",
    "get",
    "ids",
    "load_plugin",
    "register",
    "source",
]

#: Entry-point group through which installed distributions contribute claims.
ENTRY_POINT_GROUP = "dln_verify.claims"
_CLAIMS_PACKAGE = "dln_verify.verify.claims"

_CLASSES: dict[str, type[Claim]] = {}
_SOURCES: dict[str, str] = {}
_PLUGIN_FILES: dict[Path, list[str]] = {}
_LOADED = False


class UnknownClaimError(ValueError):
    """Raised for a claim id that is not registered."""


class PluginError(ValueError):
    """A plugin file or entry point that cannot be loaded (the message names it)."""


def register(cls: type[Claim], *, source: str = "python") -> type[Claim]:
    """Add a :class:`Claim` subclass to the registry under ``cls.id`` (usable as a decorator).

    Registering the same class twice is harmless; a different class under a taken id is a
    :class:`ValueError` naming both origins.
    """
    if not (isinstance(cls, type) and issubclass(cls, Claim)):
        raise TypeError(f"register expects a Claim subclass, got {cls!r}")
    claim_id = getattr(cls, "id", None)
    if not isinstance(claim_id, str) or not claim_id:
        raise TypeError(f"{cls.__name__} has no 'id'")
    for name, option in dict(getattr(cls, "options", {})).items():
        if not isinstance(option, Option) or option.name != name:
            raise TypeError(f"claim {claim_id}: options must map each name to "
                            f"Option({name!r}, help, type), got {option!r}")
    for tol in getattr(cls, "tolerances", ()):
        if not isinstance(tol, Tolerance):
            raise TypeError(f"claim {claim_id}: tolerances must be Tolerance records, "
                            f"got {tol!r}")
    known = _CLASSES.get(claim_id)
    if known is not None and known is not cls:
        same = (known.__module__, known.__qualname__) == (cls.__module__, cls.__qualname__)
        if not same:
            raise ValueError(f"claim id {claim_id!r} registered twice: by {_SOURCES[claim_id]} "
                             f"and by {source}")
    _CLASSES[claim_id] = cls
    _SOURCES.setdefault(claim_id, source)
    return cls


def claims_in_module(module: ModuleType) -> list[type[Claim]]:
    """Concrete :class:`Claim` subclasses with an ``id`` defined in ``module`` (source order)."""
    # a module's namespace keeps definition order, so no source needs to be read (reading it
    # with inspect.getsourcelines compiled every claim file and cost half of 'dln-verify list')
    return [obj for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, Claim)
            and obj.__module__ == module.__name__ and not inspect.isabstract(obj)
            and isinstance(getattr(obj, "id", None), str)]


def _discover_builtin() -> None:
    package = importlib.import_module(_CLAIMS_PACKAGE)
    order = {claim_id: k for k, claim_id in enumerate(package.CATALOGUE)}
    found: list[type[Claim]] = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith(("_", "template")):
            continue
        module = importlib.import_module(f"{_CLAIMS_PACKAGE}.{info.name}")
        found += claims_in_module(module)
    found.sort(key=lambda c: (order.get(c.id, len(order)), c.id))
    for cls in found:
        register(cls, source=f"built-in {cls.__module__}")


def _load_entry_points() -> None:
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = entry.load()
            classes = claims_in_module(obj) if isinstance(obj, ModuleType) else [obj]
            if not classes:
                raise PluginError(f"entry point {entry.name} = {entry.value} defines no claim")
            for cls in classes:
                register(cls, source=f"entry point {entry.name} ({entry.value})")
        except Exception as exc:  # noqa: BLE001 - one broken distribution must not hide the rest
            warnings.warn(f"dln-verify: skipping claim entry point {entry.name} = "
                          f"{entry.value}: {type(exc).__name__}: {exc}", stacklevel=2)


def _load() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        _discover_builtin()
        _load_entry_points()


def load_plugin(path: str | Path) -> list[str]:
    """Import a claim file and register every claim class it defines; return their ids.

    The file is imported under a private module name derived from its absolute path, so two
    files with the same name do not collide and loading one file twice is a no-op.

    Raises
    ------
    PluginError
        (a ValueError) with a one-line message starting ``--plugin FILE:`` if the file does
        not exist, is not a ``.py`` file, fails to import, defines no claim, or reuses an id.
    """
    _load()
    path = Path(path).expanduser().resolve()
    if path in _PLUGIN_FILES:
        return list(_PLUGIN_FILES[path])
    where = f"--plugin {path}"
    if not path.is_file():
        raise PluginError(f"{where}: no such file")
    if path.suffix != ".py":
        raise PluginError(f"{where}: expected a Python file ending in .py")
    name = "dln_verify_plugin_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - guarded by the checks above
        raise PluginError(f"{where}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - reported as bad input, in one line
        del sys.modules[name]
        raise PluginError(f"{where}: import failed: {type(exc).__name__}: {exc}") from None
    classes = claims_in_module(module)
    if not classes:
        raise PluginError(f"{where}: defines no Claim subclass with an 'id'")
    new = []
    for cls in classes:
        try:
            register(cls, source=f"plugin {path}")
        except (TypeError, ValueError) as exc:
            raise PluginError(f"{where}: {exc}") from None
        new.append(cls.id)
    _PLUGIN_FILES[path] = new
    return new


def ids() -> list[str]:
    """Registered claim ids in catalogue order."""
    _load()
    return list(_CLASSES)


def source(claim_id: str) -> str:
    """Where the claim came from (``built-in …``, ``entry point …``, ``plugin …``)."""
    get(claim_id)
    return _SOURCES[claim_id]


def get(claim_id: str) -> Claim:
    """Return a fresh instance of the claim registered as ``claim_id``."""
    _load()
    try:
        return _CLASSES[claim_id]()
    except KeyError:
        known = ", ".join(_CLASSES)
        raise UnknownClaimError(f"unknown claim id {claim_id!r}; known ids: {known}") from None


def all_claims() -> list[Claim]:
    """Instances of every registered claim."""
    return [get(i) for i in ids()]
