"""Registry of claims: ``@register`` adds a claim class; :func:`get` returns an instance.

Claim modules live in :mod:`dln_verify.verify.claims` and are imported lazily on first lookup, so
``from verify import registry`` stays cheap.
"""

from __future__ import annotations

import importlib

from dln_verify.verify.claim import Claim

__all__ = ["register", "get", "ids", "all_claims", "UnknownClaimError"]

_CLASSES: dict[str, type[Claim]] = {}
_LOADED = False


class UnknownClaimError(ValueError):
    """Raised for a claim id that is not registered."""


def register(cls: type[Claim]) -> type[Claim]:
    """Class decorator adding a :class:`Claim` subclass to the registry under ``cls.id``."""
    claim_id = getattr(cls, "id", None)
    if not claim_id:
        raise TypeError(f"{cls.__name__} has no 'id'")
    if claim_id in _CLASSES and _CLASSES[claim_id] is not cls:
        raise ValueError(f"claim id {claim_id!r} registered twice")
    _CLASSES[claim_id] = cls
    return cls


def _load() -> None:
    global _LOADED
    if not _LOADED:
        importlib.import_module("dln_verify.verify.claims")
        _LOADED = True


def ids() -> list[str]:
    """Registered claim ids in catalogue order."""
    _load()
    return list(_CLASSES)


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
