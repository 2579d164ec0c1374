"""The cross-process cache of symbolic derivations: where it lives, how entries are written and
read back, and how a cached SymPy expression is rebuilt without evaluating text as code.

A derivation (a horizon function, an implicit-bias potential) costs seconds of SymPy in every
process that needs it; its result depends only on its inputs, on this package's code and on the
SymPy version. Entries are JSON files named by the SHA-256 of a key that records all three, so
a new release of either invalidates them, and they are written atomically (temporary file, then
rename) so that a reader never sees half an entry.

An entry is never trusted blindly. Expressions are stored as ``sympy.srepr`` text and rebuilt by
:func:`expression_from_srepr`, which walks the Python syntax tree of that text and admits only
calls of a fixed list of SymPy constructors with literal arguments (no names, attributes or
operators beyond that), then requires that the rebuilt expression prints the same ``srepr``
again. Anything else (unreadable, malformed, stale, tampered) is a cache miss: the derivation is
recomputed and the entry rewritten.

Location: ``DLN_VERIFY_CACHE_DIR`` (``off`` disables the cache), else
``$XDG_CACHE_HOME/dln-verify``, else ``~/.cache/dln-verify``.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import sympy as sp

__all__ = ["cache_directory", "entry_path", "read_entry", "write_entry", "source_fingerprint",
           "expression_from_srepr", "encode_value", "decode_value", "MAX_SREPR_CHARS"]

#: longest srepr text rebuilt (the largest derivation here prints ~3000 characters per step)
MAX_SREPR_CHARS = 200_000
_MAX_NODES = 100_000

#: the SymPy constructors an srepr text may call (anything else is a cache miss)
_CONSTRUCTORS = {name: getattr(sp, name) for name in (
    "Add", "Mul", "Pow", "Integer", "Rational", "Float", "Symbol", "Function", "Derivative",
    "Integral", "Limit", "Equality", "Unequality", "StrictLessThan", "LessThan",
    "StrictGreaterThan", "GreaterThan", "Tuple", "Abs", "sign", "exp", "log", "sqrt", "sin",
    "cos", "tan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "asin", "acos", "atan",
    "Max", "Min", "Piecewise", "Lambda", "Sum", "Heaviside",
)}
_CONSTRUCTORS["ExprCondPair"] = sp.functions.elementary.piecewise.ExprCondPair
_RELATIONS = tuple(_CONSTRUCTORS[name] for name in (
    "Equality", "Unequality", "StrictLessThan", "LessThan", "StrictGreaterThan", "GreaterThan"))
#: the named constants an srepr text may contain
_CONSTANTS = {"pi": sp.pi, "E": sp.E, "oo": sp.oo, "zoo": sp.zoo, "nan": sp.nan, "I": sp.I,
              "EulerGamma": sp.EulerGamma, "true": sp.true, "false": sp.false}


def cache_directory() -> Path | None:
    """Where derivations are cached across processes (None: caching is off).

    ``DLN_VERIFY_CACHE_DIR`` (``off`` disables the cache), else
    ``$XDG_CACHE_HOME/dln-verify``, else ``~/.cache/dln-verify``.
    """
    env = os.environ.get("DLN_VERIFY_CACHE_DIR")
    if env is not None and env.strip().lower() in ("off", "0", "none", "false", ""):
        return None
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "dln-verify"


def source_fingerprint(path: str | os.PathLike) -> str:
    """SHA-256 of a source file (``"unknown"`` if it cannot be read): part of every key, so
    that a change of the deriving code invalidates its entries."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:  # pragma: no cover - the package's own modules are always readable
        return "unknown"


def entry_path(namespace: str, key: dict[str, Any]) -> Path | None:
    """The file of ``key`` in the folder ``namespace`` of the cache (None: caching is off)."""
    root = cache_directory()
    if root is None:
        return None
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return root / namespace / f"{digest}.json"


def read_entry(namespace: str, key: dict[str, Any]) -> Any | None:
    """The stored payload of ``key``, or None (off, absent, unreadable, or another key)."""
    path = entry_path(namespace, key)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    return data.get("value")


def write_entry(namespace: str, key: dict[str, Any], value: Any) -> None:
    """Store ``value`` (JSON-serialisable) under ``key``, atomically; failures are skipped (a
    read-only or full disk only costs the next process its derivation)."""
    path = entry_path(namespace, key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"key": key, "value": value}, fh, sort_keys=True)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except (OSError, TypeError, ValueError):
        return


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and (node.value is None
                                           or isinstance(node.value, bool | int | float | str)):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and type(node.operand.value) in (int, float)):
        return -node.operand.value
    raise ValueError(f"not a literal: {ast.dump(node)[:80]}")


def _build(node: ast.AST) -> Any:
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ValueError(f"name {node.id!r} is not an admitted constant")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        if isinstance(node.operand, ast.Name):
            return -_build(node.operand)
        return _literal(node)
    if isinstance(node, ast.Constant):
        return _literal(node)
    if not isinstance(node, ast.Call):
        raise ValueError(f"{type(node).__name__} is not admitted")
    if isinstance(node.func, ast.Name):
        if node.func.id not in _CONSTRUCTORS:
            raise ValueError(f"{node.func.id!r} is not an admitted constructor")
        func = _CONSTRUCTORS[node.func.id]
    elif (isinstance(node.func, ast.Call) and isinstance(node.func.func, ast.Name)
          and node.func.func.id == "Function"):
        func = _build(node.func)  # an undefined function, e.g. Function('u')(Symbol('t'))
    else:
        raise ValueError("only admitted constructors may be called")
    args = [_build(a) for a in node.args]
    kwargs = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise ValueError("** arguments are not admitted")
        kwargs[kw.arg] = _literal(kw.value)
    if func in _RELATIONS:
        kwargs["evaluate"] = False  # a displayed identity Eq(β, β) must not collapse to True
    return func(*args, **kwargs)


def expression_from_srepr(text: str) -> sp.Basic:
    """Rebuild a SymPy object from its ``sympy.srepr`` text without evaluating the text.

    Only calls of a fixed list of SymPy constructors (``Add``, ``Symbol``, ``Derivative``, …) with
    literal arguments and a few named constants are admitted; the object is rebuilt by those
    constructors (evaluating as SymPy does) and must print the same ``srepr`` again. Whoever
    stores an entry checks that it rebuilds to an equal object (:func:`encode_value` does not
    promise that for unevaluated expressions).

    Raises
    ------
    ValueError
        Text outside that grammar, too long, or not reproducing itself.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x", positive=True)
    >>> expression_from_srepr(sp.srepr(sp.asinh(x / 2) - 1)) == sp.asinh(x / 2) - 1
    True
    >>> expression_from_srepr("__import__('os')")
    Traceback (most recent call last):
    ...
    ValueError: '__import__' is not an admitted constructor
    """
    if not isinstance(text, str) or len(text) > MAX_SREPR_CHARS:
        raise ValueError("srepr text missing or too long")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError) as exc:
        raise ValueError(f"not parseable: {exc}") from None
    if sum(1 for _ in ast.walk(tree)) > _MAX_NODES:
        raise ValueError("srepr text too large")
    try:
        value = _build(tree.body)
    except (TypeError, AttributeError, RecursionError, ArithmeticError) as exc:
        raise ValueError(f"not rebuildable: {exc}") from None
    if not isinstance(value, sp.Basic) or sp.srepr(value) != text:
        raise ValueError("the rebuilt expression does not reproduce its srepr")
    return value


def encode_value(value: Any) -> Any:
    """A JSON form of a nested value of strings, numbers, SymPy objects, tuples, lists and
    str-keyed dicts (SymPy objects as ``srepr``, dicts as ordered pairs);
    :func:`decode_value` inverts it.

    Raises
    ------
    TypeError
        A value of any other type (the caller does not cache it).
    """
    if isinstance(value, sp.Basic):
        return {"srepr": sp.srepr(value)}
    if isinstance(value, str):
        return {"str": value}
    if value is None or isinstance(value, bool | int | float):
        return {"literal": value}
    if isinstance(value, tuple | list):
        return {type(value).__name__: [encode_value(v) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": [[k, encode_value(v)] for k, v in value.items()]}  # keeps the order
    raise TypeError(f"{type(value).__name__} is not cacheable")


def decode_value(data: Any) -> Any:
    """The value that :func:`encode_value` encoded (``ValueError`` on anything malformed)."""
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("malformed cache entry")
    (kind, payload), = data.items()
    if kind == "srepr":
        return expression_from_srepr(payload)
    if kind == "str" and isinstance(payload, str):
        return payload
    if kind == "literal" and (payload is None or isinstance(payload, bool | int | float)):
        return payload
    if kind in ("tuple", "list") and isinstance(payload, list):
        items = [decode_value(v) for v in payload]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict" and isinstance(payload, list) and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in payload):
        return {k: decode_value(v) for k, v in payload}
    raise ValueError("malformed cache entry")
