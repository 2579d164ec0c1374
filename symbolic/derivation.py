"""A small record for a symbolic derivation, printable as text, LaTeX or JSON.

Every ``derive`` sub-command of the CLI prints a :class:`Derivation`: a title, an ordered list of
labelled steps (each a SymPy expression or a plain string) and a dictionary of named results.
JSON output renders SymPy expressions as ``str(expr)`` so that other tools can parse them back
with :func:`sympy.sympify`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

__all__ = ["Derivation"]


def _to_plain(value: Any) -> Any:
    if isinstance(value, sp.Basic):
        if value.is_Number and value.is_finite:
            return int(value) if value.is_Integer else float(value)
        return str(value)
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    return value


def _latex(value: Any) -> str:
    """LaTeX for a SymPy expression; plain strings and lists go inside ``\\text{}``."""
    if isinstance(value, sp.Basic):
        return sp.latex(value)
    if isinstance(value, list | tuple):
        return ",\\; ".join(_latex(v) for v in value)
    text = str(value).replace("\\", "/").replace("{", "(").replace("}", ")")
    for char in "_&%$#":
        text = text.replace(char, "\\" + char)
    return f"\\text{{{text}}}"


@dataclass(frozen=True)
class Derivation:
    """A derivation: labelled steps and named results.

    Attributes
    ----------
    title : str
        One-line description of what is derived.
    steps : tuple of (str, object)
        ``(label, expression)`` pairs in the order of the argument.
    results : dict
        The named outputs (SymPy expressions, numbers or strings); ``--json`` prints these.
    """

    title: str
    steps: tuple[tuple[str, Any], ...] = ()
    results: dict[str, Any] = field(default_factory=dict)

    def to_text(self) -> str:
        lines = [self.title, "=" * len(self.title)]
        for label, expr in self.steps:
            lines.append(f"{label}:")
            body = sp.pretty(expr, use_unicode=True) if isinstance(expr, sp.Basic) else str(expr)
            lines.extend("    " + row for row in body.splitlines())
        if self.results:
            lines.append("Results:")
            for name, value in self.results.items():
                lines.append(f"    {name} = {value}")
        return "\n".join(lines)

    def to_latex(self) -> str:
        lines = [f"% {self.title}"]
        for label, expr in self.steps:
            lines.append(f"% {label}\n\\[ {_latex(expr)} \\]")
        for name, value in self.results.items():
            lines.append(f"% result: {name}\n\\[ {_latex(value)} \\]")
        return "\n".join(lines)

    def to_json_dict(self) -> dict[str, Any]:
        return _to_plain(dict(self.results))

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), sort_keys=False)
