"""Progress reports from inside long computations, in the computation's own units.

A simulator announces a piece of work with :func:`progress_scope` (``total`` in its own unit:
integrator steps, flow time, residual decades, iterations) and reports with
:meth:`Scope.advance` / :meth:`Scope.advance_to` (or the module-level :func:`advance` /
:func:`advance_to`, which act on the innermost open scope). Whoever wants to *show* progress
(the command line's bars, a notebook) installs a callback with :func:`reporting`; it receives a
:class:`ProgressEvent` at the start of every scope, at every advance and at its end.

Guarantees:

- **Nothing computed depends on it.** The callback only receives copies of numbers; simulators
  call the hooks after computing, and never read anything back. Results are identical with and
  without a callback (tested).
- **No callback, no cost.** :func:`progress_scope` then yields a shared do-nothing scope
  (:data:`NULL_SCOPE`), whose methods return at once; a simulator that needs extra work to
  compute its progress (a logarithm, a wrapped right-hand side) checks :attr:`Scope.active`
  first.
- **Monotone.** ``done`` never decreases: :meth:`Scope.advance` refuses negative steps and
  :meth:`Scope.advance_to` ignores values below the current one; ``done`` is clipped to
  ``total``.
- **Per context.** The callback lives in a :class:`contextvars.ContextVar`, so threads and
  asyncio tasks each see their own (a dask worker, which installs none, pays nothing).

The callback must not raise; if it does, the exception propagates into the computation (a
display that breaks should be fixed, not hidden) — :mod:`dln_verify.verify.cli` guards its own.

Examples
--------
>>> events = []
>>> with reporting(events.append):
...     with progress_scope(10, "steps", "toy loop") as scope:
...         for k in range(10):
...             scope.advance(1)
>>> [(e.kind, e.done) for e in events][:3], events[-1].kind, events[-1].done
([('start', 0.0), ('advance', 1.0), ('advance', 2.0)], 'end', 10.0)
>>> with progress_scope(10, "steps", "nobody listens") as scope:  # no callback: a no-op
...     scope.advance(5)
>>> scope is NULL_SCOPE
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ProgressEvent",
    "Scope",
    "NULL_SCOPE",
    "reporting",
    "progress_scope",
    "advance",
    "advance_to",
    "active",
    "track_time",
]

Callback = Callable[["ProgressEvent"], Any]

_CALLBACK: ContextVar[Callback | None] = ContextVar("dln_verify_progress_callback", default=None)
_CURRENT: ContextVar[Scope | None] = ContextVar("dln_verify_progress_scope", default=None)
_IDS = itertools.count(1)


@dataclass(frozen=True)
class ProgressEvent:
    """One report of a :func:`progress_scope`.

    Attributes
    ----------
    kind : {"start", "advance", "end"}
    label : str
        What the scope is doing (``"depth-3 gradient flow"``).
    unit : str
        Unit of ``done`` and ``total`` (``"t"``, ``"decades"``, ``"it"``, ``"control"``).
    total : float or None
        The scope's budget in ``unit`` (None: unknown, e.g. a phase of a check).
    done : float
        Progress so far, non-decreasing within a scope, ``≤ total``.
    depth : int
        Nesting depth (0 for an outermost scope).
    labels : tuple of str
        Labels of the enclosing scopes, outermost first, ending with ``label``.
    scope_id : int
        Identifies the scope (distinct for every scope of a process).
    """

    kind: Literal["start", "advance", "end"]
    label: str
    unit: str
    total: float | None
    done: float
    depth: int
    labels: tuple[str, ...]
    scope_id: int


class Scope:
    """An open piece of work that reports to the installed callback (see :func:`progress_scope`)."""

    __slots__ = ("_callback", "label", "unit", "total", "done", "depth", "labels", "scope_id")

    #: whether a callback listens (False only for :data:`NULL_SCOPE`)
    active = True

    def __init__(self, callback: Callback, total: float | None, unit: str, label: str,
                 parent: Scope | None) -> None:
        self._callback = callback
        self.total, self.unit, self.label = total, unit, label
        self.done = 0.0
        self.depth = 0 if parent is None else parent.depth + 1
        self.labels = (label,) if parent is None else (*parent.labels, label)
        self.scope_id = next(_IDS)

    def _emit(self, kind: Literal["start", "advance", "end"]) -> None:
        self._callback(ProgressEvent(kind, self.label, self.unit, self.total, self.done,
                                     self.depth, self.labels, self.scope_id))

    def advance(self, n: float = 1.0) -> None:
        """Add ``n ≥ 0`` units of progress (ValueError for a negative or non-finite ``n``)."""
        n = float(n)
        if not (n >= 0 and math.isfinite(n)):
            raise ValueError(f"progress advance n must be finite and >= 0, got {n!r}")
        self.advance_to(self.done + n)

    def advance_to(self, value: float) -> None:
        """Set progress to ``value`` if it is larger than the current one (clipped to ``total``;
        NaN and smaller values are ignored, so progress is monotone)."""
        value = float(value)
        if self.total is not None:
            value = min(value, self.total)
        if value > self.done:  # False for NaN
            self.done = value
            self._emit("advance")


class _NullScope(Scope):
    """The scope handed out when no callback is installed: every method returns at once."""

    __slots__ = ()
    active = False

    def __init__(self) -> None:  # no callback, no state
        pass

    def advance(self, n: float = 1.0) -> None:
        return None

    def advance_to(self, value: float) -> None:
        return None


#: the do-nothing scope of :func:`progress_scope` when no callback is installed
NULL_SCOPE: Scope = _NullScope()


def _check_total(total: float | None) -> float | None:
    if total is None:
        return None
    if isinstance(total, bool):
        raise TypeError("progress total must be a number or None, got a bool")
    total = float(total)
    if not (total >= 0 and math.isfinite(total)):
        raise ValueError(f"progress total must be finite and >= 0 (or None), got {total!r}")
    return total


@contextmanager
def reporting(callback: Callback | None) -> Iterator[None]:
    """Install ``callback`` for the scopes opened inside the ``with`` block (None: none).

    Scopes opened before (outside) the block are not reported to it: inside, the scope stack
    starts empty.
    """
    if callback is not None and not callable(callback):
        raise TypeError(f"progress callback must be callable or None, got "
                        f"{type(callback).__name__}")
    token_cb = _CALLBACK.set(callback)
    token_scope = _CURRENT.set(None)
    try:
        yield
    finally:
        _CURRENT.reset(token_scope)
        _CALLBACK.reset(token_cb)


@contextmanager
def progress_scope(total: float | None = None, unit: str = "", label: str = "") -> Iterator[Scope]:
    """Open a piece of work of size ``total`` (in ``unit``), reported to the callback.

    Parameters
    ----------
    total : float or None
        Budget in the computation's own unit (finite, ≥ 0), or None when unknown.
    unit : str
        ``"t"`` (flow time), ``"decades"`` (of a residual), ``"it"`` (iterations) …
    label : str
        What is being done, for the display.

    Yields
    ------
    Scope
        :data:`NULL_SCOPE` when no callback is installed (then nothing is validated or
        reported and the block runs as without it).
    """
    callback = _CALLBACK.get()
    if callback is None:
        yield NULL_SCOPE
        return
    scope = Scope(callback, _check_total(total), str(unit), str(label), _CURRENT.get())
    token = _CURRENT.set(scope)
    scope._emit("start")
    try:
        yield scope
    finally:
        _CURRENT.reset(token)
        scope._emit("end")


def active() -> bool:
    """Whether a callback is installed (a simulator may skip preparing its reports if not)."""
    return _CALLBACK.get() is not None


def advance(n: float = 1.0) -> None:
    """:meth:`Scope.advance` on the innermost open scope (nothing if there is none)."""
    scope = _CURRENT.get()
    if scope is not None:
        scope.advance(n)


def advance_to(value: float) -> None:
    """:meth:`Scope.advance_to` on the innermost open scope (nothing if there is none)."""
    scope = _CURRENT.get()
    if scope is not None:
        scope.advance_to(value)


def track_time(fun: Callable[..., Any], scope: Scope) -> Callable[..., Any]:
    """``fun(t, y)`` reporting ``t`` to ``scope`` (for ODE right-hand sides); ``fun`` itself
    when ``scope`` is inactive.

    The wrapper returns exactly what ``fun`` returns. An integrator evaluates the right-hand
    side slightly ahead of its accepted time (stages, rejected steps), so the reported time may
    lead the accepted one by up to a step; it never goes backwards (:meth:`Scope.advance_to`).

    Examples
    --------
    >>> track_time(abs, NULL_SCOPE) is abs
    True
    """
    if not scope.active:
        return fun

    def tracked(t, *args, **kwargs):
        out = fun(t, *args, **kwargs)
        scope.advance_to(t)
        return out

    return tracked
