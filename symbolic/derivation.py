"""A small record for a symbolic derivation, printable as text, LaTeX or JSON.

Every ``derive`` sub-command of the CLI prints a :class:`Derivation`: a title, an ordered list of
labelled steps (each a SymPy expression or a plain string) and a dictionary of named results.
JSON output renders SymPy expressions as ``str(expr)`` so that other tools can parse them back
with :func:`sympy.sympify`.
"""

from __future__ import annotations

import ast
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter

__all__ = ["Derivation", "latex_expr", "text_latex"]


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


_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
          "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon",
          "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi",
          "Pi", "Sigma", "Phi", "Psi", "Omega", "nabla"}
_SIMPLE_NAME = re.compile(r"[A-Za-z]+[0-9]*(_(\{[A-Za-z0-9+-]+\}|[A-Za-z0-9+-]+))?"
                          r"(\^[A-Za-z0-9*+-]+)?")
_NAME_TOKEN = re.compile(r"[A-Za-z]+[0-9]*|[0-9]+|.", re.S)


def _join(parts: list[str]) -> str:
    """Concatenate TeX pieces, with a space only where a control word meets a letter."""
    out = ""
    for part in parts:
        if out and part and part[0].isalpha() and re.search(r"\\[A-Za-z]+$", out):
            out += " "
        out += part
    return out


def _word_latex(word: str) -> str:
    if word in _GREEK:
        return "\\" + word
    if len(word) == 1 or word.isdigit():
        return word
    return f"\\mathrm{{{word}}}"


def _name_latex(name: str) -> str:
    """LaTeX for a symbol name that SymPy would mangle (``h_D(-s)``, ``psi'``, ``dD/dbeta``).

    ``_x`` subscripts one token (``_{…}`` a group), ``^*`` is a superscript star, words are
    Greek letters or upright names; everything else keeps its meaning (``(``, ``'``, ``+``).
    """
    out: list[str] = []
    zone: set[str] = set()  # scripts already on the current base: "_", "^", "'" (primes)

    def script(piece: str) -> None:
        kind = piece[0]
        if kind == "_":
            clash = "_" in zone
        elif kind == "^":
            clash = bool(zone & {"^", "'"})
        else:  # primes: only directly after primes (x''), never after a superscript
            clash = "^" in zone or ("'" in zone and out[-1] != "'")
        if clash:
            out.append("{}")  # a new empty base: never a double script, whatever the name
            zone.clear()
        out.append(piece)
        zone.add(kind)

    tokens = _NAME_TOKEN.findall(name)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("_", "^") and i + 1 == len(tokens):  # a trailing _ or ^: the character
            out.append(f"\\text{{\\char{ord(tok)}}}")
            break
        if tok in ("_", "^"):
            nxt = tokens[i + 1]
            if nxt == "{":  # a braced group: up to the matching brace
                depth, j = 0, i + 1
                while j < len(tokens):
                    depth += tokens[j] == "{"
                    depth -= tokens[j] == "}"
                    if depth == 0:
                        break
                    j += 1
                inner = _name_latex("".join(tokens[i + 2:j]))
                i = j + 1
            elif nxt == "sqrt":  # psi_sqrt(2)*alpha_W: the subscript is the rest of the name
                inner = _name_latex("".join(tokens[i + 1:]))
                i = len(tokens)
            else:
                inner = _name_latex(nxt) if nxt not in "+-*" else nxt
                i += 2
            script(f"{tok}{{{inner}}}")
            continue
        if tok == "'":
            script("'")
            i += 1
            continue
        zone.clear()
        if tok == "sqrt" and tokens[i + 1:i + 2] == ["("]:
            depth, j = 0, i + 1
            while j < len(tokens):
                depth += tokens[j] == "("
                depth -= tokens[j] == ")"
                if depth == 0:
                    break
                j += 1
            out.append(f"\\sqrt{{{_name_latex(''.join(tokens[i + 2:j]))}}}")
            i = j + 1
            continue
        if tok.isalnum():
            out.append(_word_latex(tok))
        elif tok == "*":
            out.append("\\," if not out or not out[-1].endswith("^") else "*")
        elif tok in "{}":
            out.append("\\" + tok)
        elif tok in "#$%&~\\":
            out.append(f"\\text{{\\char{ord(tok)}}}")
        else:
            out.append(tok)
        i += 1
    return _join(out).strip()


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer with readable names for symbols like ``h_D(-s)`` or ``psi'``."""

    def _print_Symbol(self, expr, style="plain"):
        if _SIMPLE_NAME.fullmatch(expr.name) and not expr.name.startswith("nabla"):
            return super()._print_Symbol(expr, style)
        return _name_latex(expr.name)

    def _print_Function(self, expr, exp=None):
        name = type(expr).__name__
        if isinstance(expr, AppliedUndef) and (not _SIMPLE_NAME.fullmatch(name)
                                               or name.startswith("nabla")):
            args = ", ".join(self._print(a) for a in expr.args)
            tex = f"{_name_latex(name)}{{\\left({args}\\right)}}"
            return f"{tex}^{{{exp}}}" if exp else tex
        return super()._print_Function(expr, exp)


def latex_expr(expr: sp.Basic) -> str:
    """LaTeX of a SymPy expression, with readable symbol names.

    Examples
    --------
    >>> latex_expr(sp.Eq(sp.Symbol("h_D(-s)"), sp.Symbol("s")))
    'h_{D}(-s) = s'
    >>> latex_expr(sp.Symbol("psi'"))
    "\\\\psi'"
    """
    return _Printer().doprint(expr)


# Unicode in the derivations' prose, as LaTeX math (text mode gets it inside $…$).
_UNICODE_MATH = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon",
    "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu",
    "ν": r"\nu", "ξ": r"\xi", "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau",
    "φ": r"\varphi", "ϕ": r"\phi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega", "Γ": r"\Gamma",
    "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda", "Σ": r"\Sigma", "Φ": r"\Phi",
    "Ψ": r"\Psi", "Ω": r"\Omega", "∇": r"\nabla", "∂": r"\partial", "∫": r"\int",
    "∑": r"\sum", "∈": r"\in", "∉": r"\notin", "⇒": r"\Rightarrow", "→": r"\to",
    "←": r"\leftarrow", "↦": r"\mapsto", "⇔": r"\Leftrightarrow", "≥": r"\ge", "≤": r"\le",
    "≠": r"\ne", "≈": r"\approx", "∼": r"\sim", "∞": r"\infty", "±": r"\pm", "∓": r"\mp",
    "×": r"\times", "·": r"\cdot", "⋅": r"\cdot", "⊙": r"\odot", "∘": r"\circ", "√": r"\surd",
    "‖": r"\|", "⟨": r"\langle", "⟩": r"\rangle", "−": "-", "∗": "*", "′": "'", "″": "''",
    "½": r"\tfrac12", "¼": r"\tfrac14", "⊤": r"\top", "ᵀ": r"^{\top}", "⁻": "^{-}", "⁺": "^{+}",
    "ᵗ": "^{t}", "ⁿ": "^{n}", "₊": "_{+}", "₋": "_{-}", "ℝ": r"\mathbb{R}", "ℓ": r"\ell",
    "∅": r"\emptyset", "∀": r"\forall", "∃": r"\exists", "⊂": r"\subset", "∪": r"\cup",
    "∩": r"\cap",
}
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789", strict=True))
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉", "0123456789", strict=True))
_TEXT_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}",
                 "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "~": r"\~{}", "<": r"$<$",
                 ">": r"$>$", "|": r"$|$"}
_DASHES = {"–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''", "…": r"\dots{}",
           "\u00a0": "~"}
_ACCENTS = {"\u0303": r"\tilde", "\u0302": r"\hat", "\u0304": r"\bar", "\u0307": r"\dot",
            "\u0308": r"\ddot"}


def _char_math(char: str) -> str | None:
    if char in _UNICODE_MATH:
        return _UNICODE_MATH[char]
    if char in _SUPERSCRIPTS:
        return "^{" + _SUPERSCRIPTS[char] + "}"
    if char in _SUBSCRIPTS:
        return "_{" + _SUBSCRIPTS[char] + "}"
    return None


_SCRIPT_ASCII = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-=,()/.*")


def _script_arg(text: str) -> str | None:
    """A sub/superscript argument as math (``Xβ=y`` -> ``X\\beta=y``), None if not maths."""
    parts: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        accent = _ACCENTS.get(text[i + 1]) if i + 1 < len(text) else None
        tex = _char_math(char) or (char if char in _SCRIPT_ASCII else None)
        if tex is None:
            if char in "_^" and parts and i + 1 < len(text):
                width = 2 if i + 2 < len(text) and text[i + 2] in _ACCENTS else 1
                inner = _script_arg(text[i + 1:i + 1 + width])
                if inner is None:
                    return None
                parts.append(f"{char}{{{inner}}}")
                i += 1 + width
                continue
            return None
        if accent is not None:
            parts.append(f"{accent}{{{tex}}}")
            i += 2
            continue
        parts.append(tex)
        i += 1
    return _join(parts) if parts else None


def _script(chars: str, i: int, out: list[str], math: list[str]):
    """``(base, argument, next index)`` if ``chars[i]`` (``_``/``^``) starts a script.

    The base is what precedes: pending inline math (``β`` in ``β_∞``) or a run of ASCII letters
    and digits (``h`` in ``h_D``, ``argmin`` in ``argmin_{Xβ=y}``), which moves into the math.
    """
    if i + 1 >= len(chars) or chars[i + 1].isspace():
        return None
    nxt = chars[i + 1]
    if nxt == "{":
        end = chars.find("}", i + 2)
        if end < 0:
            return None
        arg, stop = _script_arg(chars[i + 2:end]), end + 1
    elif nxt.isascii() and nxt.isalnum():
        stop = i + 1
        while stop < len(chars) and chars[stop].isascii() and chars[stop].isalnum():
            stop += 1
        arg = _script_arg(chars[i + 1:stop])
        if stop - i > 2 and not math and len(out) > 1 and out[-2:][0].isalpha():
            return None  # snake_case: an identifier, not a formula
    elif _char_math(nxt) is not None and not _char_math(nxt).startswith(("^", "_")):
        arg, stop = _char_math(nxt), i + 2
    else:
        return None
    if arg is None:
        return None
    if math:  # never two scripts of one kind in a row (a TeX error): then it stays text
        return None if math[-1].startswith(chars[i] + "{") else ("", arg, stop)
    word = ""
    while out and len(out[-1]) == 1 and out[-1].isascii() and out[-1].isalnum():
        word = out.pop() + word
    if not word:
        return None
    return _word_latex(word), arg, stop


def text_latex(text: str) -> str:
    """Plain prose (with Unicode maths such as ``‖β‖_∞`` or ``h_D⁻¹``) as ASCII LaTeX text.

    Mathematical characters become inline math (``$\\|$$\\beta$…``), TeX specials are
    escaped; the result compiles with pdflatex without any Unicode set-up.

    Examples
    --------
    >>> text_latex("‖β‖_∞ and 50%, h_D⁻¹, a_b c")
    '$\\\\|\\\\beta\\\\|_{\\\\infty}$ and 50\\\\%, $h_{D}^{-1}$, $a_{b}$ c'
    """
    out: list[str] = []
    math: list[str] = []
    zone: set[str] = set()  # scripts already on the current base of the pending math

    def push(piece: str) -> None:
        """Append to the pending math; a second script of one kind gets a new empty base."""
        kind = piece[0] if piece[:2] in ("^{", "_{") else ""
        if not kind:
            zone.clear()
        elif kind in zone or not math:
            math.append("{}")
            zone.clear()
        math.append(piece)
        if kind:
            zone.add(kind)

    def flush() -> None:
        if math:
            out.append("$" + _join(math) + "$")
            math.clear()
        zone.clear()

    chars = unicodedata.normalize("NFC", str(text))
    i = 0
    while i < len(chars):
        char = chars[i]
        accent = _ACCENTS.get(chars[i + 1]) if i + 1 < len(chars) else None
        if accent is not None:  # a letter with a combining accent: α̃ -> \tilde{\alpha}
            base = _char_math(char) or (char if char.isascii() and char.isalpha() else None)
            if base is not None and not base.startswith(("^", "_")):
                push(f"{accent}{{{base}}}")
                i += 2
                continue
        tex = _char_math(char)
        if tex is not None:
            kind = tex[:1] if re.fullmatch(r"[\^_]\{[^{}]+\}", tex) else ""
            if kind and math and math[-1].startswith(kind + "{"):
                math[-1] = math[-1][:-1] + tex[2:]  # ⁻¹ -> ^{-1}, ₁₂ -> _{12}
            else:
                push(tex)
            i += 1
            continue
        script = _script(chars, i, out, math) if char in "_^" else None
        if script is not None:
            base, arg, i = script
            if base:
                push(base)
            push(f"{char}{{{arg}}}")
            continue
        flush()
        if char in _TEXT_SPECIAL:
            out.append(_TEXT_SPECIAL[char])
        elif char in _DASHES:
            out.append(_DASHES[char])
        elif char.isascii():
            out.append(char)
        else:  # anything else: its Unicode name, never a character pdflatex cannot set
            name = unicodedata.name(char, f"U+{ord(char):04X}").lower()
            out.append(f"[{name}]")
        i += 1
    flush()
    return "".join(out)


_EXPR_FUNCS = {"Piecewise", "Abs", "Eq", "Ne", "sqrt", "exp", "log", "sin", "cos", "tan",
               "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "atan", "sign", "Max", "Min",
               "Integral", "Sum", "Derivative", "Rational", "diff"}
_EXPR_CONSTANTS = {"oo", "pi", "E", "True", "False", "zoo", "nan"}
_EXPR_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant,
               ast.Tuple, ast.Compare, ast.Load, ast.operator, ast.unaryop, ast.cmpop)


def _string_expr(text: str) -> sp.Basic | None:
    """``text`` as a SymPy expression if it is one (ASCII, whitelisted names), else None."""
    if not text.isascii() or len(text) > 2000 or not text.strip():
        return None
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return None
    names: dict[str, Any] = {}
    for node in ast.walk(tree):
        if not isinstance(node, _EXPR_NODES):
            return None
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            return None
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _EXPR_FUNCS
                    and not node.keywords):
                return None
        if isinstance(node, ast.Name) and node.id not in _EXPR_FUNCS | _EXPR_CONSTANTS:
            if node.id.startswith("_"):
                return None
            names[node.id] = sp.Symbol(node.id)
    if isinstance(tree.body, ast.Name) and tree.body.id not in _EXPR_CONSTANTS:
        return None  # a bare word (an identity's name) stays text
    try:
        value = sp.sympify(text.strip(), locals=names)
    except (sp.SympifyError, TypeError, ValueError, SyntaxError, AttributeError):
        return None
    return value if isinstance(value, sp.Basic) else None


def _latex(value: Any) -> str:
    """Display-math LaTeX for a SymPy expression or a string that is one, else None-like ''."""
    if isinstance(value, sp.Basic):
        return latex_expr(value)
    if isinstance(value, str):
        sides = [p for p in re.split(r"\s=\s", value)]
        exprs = [_string_expr(p) for p in sides]
        if all(e is not None for e in exprs):
            return " = ".join(latex_expr(e) for e in exprs)  # type: ignore[arg-type]
    return ""


def _tt(name: str) -> str:
    """An identifier for ``\\texttt``: TeX specials escaped, nothing turned into maths."""
    return "".join(_TEXT_SPECIAL.get(c, c) if c.isascii() else text_latex(c) for c in name)


def _block(value: Any) -> str:
    """One step or result: display math for expressions, a paragraph for prose."""
    if isinstance(value, list | tuple) and not isinstance(value, sp.Basic):
        if all(isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9_]+", v) for v in value):
            return ", ".join(f"\\texttt{{{_tt(v)}}}" for v in value)
        parts = [_latex(v) for v in value]
        if all(parts):
            return "\\[ " + ",\\quad ".join(parts) + " \\]"
        return "; ".join(_block(v) for v in value)
    tex = _latex(value)
    if tex:
        return f"\\[ {tex} \\]"
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_]+", value):
        return f"\\texttt{{{_tt(value)}}}"
    return text_latex(str(value))


_PREAMBLE = ("\\documentclass[11pt]{article}\n\\usepackage[T1]{fontenc}\n"
             "\\usepackage{amsmath,amssymb}\n\\usepackage[margin=2cm]{geometry}\n"
             "\\allowdisplaybreaks\n\\begin{document}\n")


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

    def to_latex(self, standalone: bool = True) -> str:
        """The derivation as LaTeX that compiles with pdflatex (ASCII only).

        ``standalone=True`` (what ``dln-verify derive … --latex`` prints): a complete
        ``article`` document (amsmath, amssymb). ``standalone=False``: the body only, to paste
        into a document that loads amsmath and amssymb. Labels are paragraphs; SymPy
        expressions (and results that are expressions written as strings) are display math;
        prose results are text with their mathematical characters as inline math.
        """
        lines = [f"\\section*{{{text_latex(self.title)}}}", ""]
        for label, expr in self.steps:
            lines += [f"\\paragraph{{{text_latex(label)}}}", _block(expr), ""]
        if self.results:
            lines += ["\\subsection*{Results}", "\\begin{description}"]
            for name, value in self.results.items():
                lines.append(f"\\item[\\texttt{{{_tt(name)}}}] {_block(value)}")
            lines.append("\\end{description}")
        body = "\n".join(lines) + "\n"
        return _PREAMBLE + body + "\\end{document}\n" if standalone else body

    def to_json_dict(self) -> dict[str, Any]:
        return _to_plain(dict(self.results))

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), sort_keys=False)
