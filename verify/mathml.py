"""LaTeX in claim prose to MathML, converted when a report is written (renders offline).

Claim statements, tolerance notes and notes are Markdown with inline ``$…$`` and display
``$$…$$`` LaTeX. The HTML report and the notebook view convert every formula to MathML with
:mod:`latex2mathml` (MathML renders natively in current Chromium, Firefox and Safari: no
script and no network are needed to read a report). Macros that latex2mathml does not know
(``\\arg``, ``\\sign``, ``\\diag``, …) are rewritten to ``\\operatorname`` first, and
``mathvariant`` letters (``\\mathbb 1``, ``\\mathbf 1``) become the Unicode mathematical
alphanumerics, which every MathML engine draws (Chromium implements only
``mathvariant="normal"``). A formula that still does not convert is kept as escaped TeX in a
``<code class="tex">`` element: the report never fails because of a formula.

The conversion is a pure function of the text, so ``dln-verify report --from results.json``
reproduces ``index.html`` byte for byte.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

__all__ = ["MathConversionError", "tex_to_mathml", "prose_to_html", "math_spans"]


class MathConversionError(ValueError):
    """A LaTeX formula that cannot be converted to MathML."""


#: Operator names latex2mathml does not define; ``\name`` becomes ``\operatorname{name}``
#: (``\operatorname*`` — limits under the name in display style — for the ``arg`` forms).
_OPERATORS = ("sign", "sgn", "diag", "tr", "rank", "supp", "asinh", "acosh", "atanh",
              "arcsinh", "arccosh", "arctanh", "sech", "csch", "erf", "erfc", "Var", "Cov",
              "prox", "dom", "conv", "relint", "span")
_LIMIT_OPERATORS = ("argmin", "argmax")

_VARIANT_NAMES = {
    "bold": "BOLD", "italic": "ITALIC", "bold-italic": "BOLD ITALIC",
    "double-struck": "DOUBLE-STRUCK", "script": "SCRIPT", "bold-script": "BOLD SCRIPT",
    "fraktur": "FRAKTUR", "bold-fraktur": "BOLD FRAKTUR", "sans-serif": "SANS-SERIF",
    "bold-sans-serif": "SANS-SERIF BOLD", "sans-serif-italic": "SANS-SERIF ITALIC",
    "sans-serif-bold-italic": "SANS-SERIF BOLD ITALIC", "monospace": "MONOSPACE",
}
#: Letters of the Letterlike Symbols block that stand in for holes of the mathematical
#: alphanumerics (e.g. double-struck R is U+211D, not in the U+1D400 block).
_LETTERLIKE = {"DOUBLE-STRUCK": "DOUBLE-STRUCK", "SCRIPT": "SCRIPT", "FRAKTUR": "BLACK-LETTER"}
_DIGITS = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")

_TOKEN = re.compile(r'<(mi|mn|mo|mtext)( mathvariant="([a-z-]+)")([^>]*)>([^<]*)</\1>')
_UNKNOWN_MACRO = re.compile(r">\s*\\([A-Za-z]+)")


def _preprocess(tex: str) -> str:
    def op(name: str, star: bool = False):
        return lambda _m: ("\\operatorname*{" if star else "\\operatorname{") + name + "}"

    tex = re.sub(r"\\arg\s*\\(min|max)(?![A-Za-z])",
                 lambda m: "\\operatorname*{arg" + m.group(1) + "}", tex)
    tex = re.sub(r"\\arg(?![A-Za-z])", op("arg"), tex)
    for name in _LIMIT_OPERATORS:
        tex = re.sub(rf"\\{name}(?![A-Za-z])", op(name, star=True), tex)
    for name in _OPERATORS:
        tex = re.sub(rf"\\{name}(?![A-Za-z])", op(name), tex)
    return tex


def _styled(char: str, variant: str) -> str | None:
    """The Unicode mathematical alphanumeric for ``char`` in ``variant``, if there is one."""
    prefix = _VARIANT_NAMES.get(variant)
    if prefix is None:
        return None
    if "A" <= char <= "Z" or "a" <= char <= "z":
        kind = ("CAPITAL " if char.isupper() else "SMALL ") + char.upper()
    elif "0" <= char <= "9":
        kind = "DIGIT " + _DIGITS[int(char)]
    else:
        name = unicodedata.name(char, "")
        if not name.startswith("GREEK "):
            return None
        kind = name.replace("GREEK ", "").replace(" LETTER", "")
    candidates = [f"MATHEMATICAL {prefix} {kind}"]
    if prefix in _LETTERLIKE:
        candidates.append(f"{_LETTERLIKE[prefix]} {kind}")
    if prefix == "ITALIC" and kind == "SMALL H":
        candidates.append("PLANCK CONSTANT")
    for candidate in candidates:
        try:
            return unicodedata.lookup(candidate)
        except KeyError:
            continue
    return None


def _unicode_variants(mathml: str) -> str:
    def replace(match: re.Match[str]) -> str:
        tag, _, variant, rest, body = match.groups()
        if variant == "normal":
            return match.group(0)
        text = html.unescape(body)
        mapped = [_styled(c, variant) for c in text]
        if not text or any(m is None for m in mapped):
            return match.group(0)
        return f"<{tag}{rest}>{''.join(mapped)}</{tag}>"  # type: ignore[arg-type]

    return _TOKEN.sub(replace, mathml)


@lru_cache(maxsize=4096)
def tex_to_mathml(tex: str, display: bool = False) -> str:
    """Convert one LaTeX formula (without its ``$`` delimiters) to a ``<math>`` element.

    Parameters
    ----------
    tex : str
        The formula, e.g. ``\\beta = u\\odot v``.
    display : bool
        ``display="block"`` (for ``$$…$$``) instead of inline.

    Returns
    -------
    str
        One ``<math>`` element, on one line.

    Raises
    ------
    MathConversionError
        (a ValueError) if latex2mathml rejects the formula or leaves a macro unconverted.

    Examples
    --------
    >>> tex_to_mathml(r"\\beta = u\\odot v").endswith(
    ...     "<mi>u</mi><mo>&#x02299;</mo><mi>v</mi></mrow></math>")
    True
    >>> "\\U0001d7d9" in tex_to_mathml(r"\\alpha\\mathbb 1")   # double-struck one
    True
    >>> tex_to_mathml(r"\\nosuchmacro x")
    Traceback (most recent call last):
    ...
    dln_verify.verify.mathml.MathConversionError: unknown macro \\nosuchmacro in '\\\\nosuchmacro x'
    """
    from latex2mathml.converter import convert

    if not isinstance(tex, str):
        raise TypeError(f"tex must be a str, got {type(tex).__name__}")
    try:
        out = convert(_preprocess(tex), display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises many exception types on bad input
        raise MathConversionError(f"cannot convert {tex!r}: {type(exc).__name__}: {exc}") from None
    unknown = _UNKNOWN_MACRO.search(out)
    if unknown:
        raise MathConversionError(f"unknown macro \\{unknown.group(1)} in {tex!r}")
    if ">&<" in out or "<mo />" in out:
        raise MathConversionError(f"latex2mathml produced malformed MathML for {tex!r}")
    return _unicode_variants(out).replace("\n", " ")


# $$…$$ first; $…$ with Pandoc's rule: no space after the opening $ nor before the closing
# one, and no digit right after the closing $ (so "$5 and $10" stays text); \$ is a dollar.
_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<![\\$])\$(?![\s$])((?:\\.|[^$\\])+?)"
                   r"(?<![\s\\])\$(?!\d)", re.S)
_CODE = re.compile(r"(`+)(.+?)\1", re.S)


def math_spans(text: str) -> list[tuple[str, bool, str]]:
    """Split prose into ``(kind, display, content)`` pieces: kind is ``text`` or ``math``.

    Examples
    --------
    >>> math_spans(r"on $\\beta$ and $$x^2$$, costs $5")
    [('text', False, 'on '), ('math', False, '\\\\beta'), ('text', False, ' and '), \
('math', True, 'x^2'), ('text', False, ', costs $5')]
    """
    pieces: list[tuple[str, bool, str]] = []
    pos = 0
    for match in _MATH.finditer(text):
        if match.start() > pos:
            pieces.append(("text", False, text[pos:match.start()]))
        display = match.group(1) is not None
        pieces.append(("math", display, match.group(1) if display else match.group(2)))
        pos = match.end()
    if pos < len(text):
        pieces.append(("text", False, text[pos:]))
    return pieces


def _math_html(display: bool, content: str) -> str:
    try:
        return tex_to_mathml(content, display)
    except MathConversionError as exc:
        reason = str(exc).split(" in ", 1)[0]
        delim = "$$" if display else "$"
        return (f'<code class="tex" title="{html.escape(reason)}">'
                f"{html.escape(delim + content + delim)}</code>")


def prose_to_html(text: str) -> str:
    """Escape Markdown+LaTeX prose for HTML, with every formula converted to MathML.

    Backtick code spans become ``<code>``; a formula that does not convert is shown as its
    escaped TeX in ``<code class="tex">`` (with the reason in ``title``), never an exception.

    Examples
    --------
    >>> prose_to_html("a <b> & $x$")[:40]
    'a &lt;b&gt; &amp; <math xmlns="http://ww'
    >>> prose_to_html(r"bad $\\nosuchmacro$ here")
    'bad <code class="tex" title="unknown macro \\\\nosuchmacro">$\\\\nosuchmacro$</code> here'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    out, pos = [], 0
    pieces = [(m.start(), m.end(), m.group(2)) for m in _CODE.finditer(text)]
    for start, end, code in [*pieces, (len(text), len(text), None)]:
        for kind, display, content in math_spans(text[pos:start]):
            out.append(_math_html(display, content) if kind == "math"
                       else html.escape(content.replace("\\$", "$")))
        if code is not None:
            out.append(f"<code>{html.escape(code.strip())}</code>")
        pos = end
    return "".join(out)
