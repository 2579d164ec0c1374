"""``dln-verify derive … --latex`` prints LaTeX that a real TeX engine compiles.

The compile test runs ``pdflatex`` (Debian's ``texlive-latex-base``; ``.ci/run`` installs it as
root) on the output of every ``derive`` command of the issue and is skipped, with the reason,
only where no pdflatex is installed. The other tests need no TeX.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
import sympy as sp

from dln_verify.symbolic.derivation import Derivation, latex_expr, text_latex
from dln_verify.symbolic.horizon import derive_horizon
from dln_verify.symbolic.momentum import derive_momentum
from dln_verify.symbolic.potentials import derive_potential

PDFLATEX = shutil.which("pdflatex")

CASES = {
    "potential-uv-2": lambda: derive_potential("uv", 2),
    "potential-w2-2": lambda: derive_potential("w2", 2),
    "potential-unbalanced-2": lambda: derive_potential("unbalanced", 2),
    "potential-w2-3": lambda: derive_potential("w2", 3),
    "horizon-cosh": lambda: derive_horizon("cosh(x) - 1"),
    "horizon-poly": lambda: derive_horizon("x**2 + x**4"),
    "horizon-abs": lambda: derive_horizon("x**2*Abs(x)"),
    "momentum": derive_momentum,
}


@pytest.fixture(scope="module")
def documents():
    return {name: make().to_latex() for name, make in CASES.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_latex_is_ascii_and_a_complete_document(documents, name):
    tex = documents[name]
    assert tex.isascii(), [c for c in tex if not c.isascii()][:5]
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    assert "\\begin{document}" in tex and "\\usepackage{amsmath,amssymb}" in tex
    body = CASES[name]().to_latex(standalone=False)
    assert "\\documentclass" not in body and body in tex
    # the mangled names and raw SymPy strings of the old output are gone
    for bad in ("H_{D'}", "h_{D(-s)}", "w_{+(0)}", "\\text{x**2", "\\text{‖",
                "\\text{Piecewise", "\\text{None}", "_{sqrt"):
        assert bad not in tex, bad
    assert not re.search(r"(?<!\\)\bpsi' =", tex)  # a bare symbol name, not \psi


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed (Debian: apt-get install "
                                             "texlive-latex-base; .ci/run does it as root)")
@pytest.mark.parametrize("name", list(CASES))
def test_pdflatex_compiles_the_output(documents, name, tmp_path):
    source = tmp_path / f"{name}.tex"
    source.write_text(documents[name], encoding="ascii")
    proc = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error",
                           "-no-shell-escape", source.name], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    log = (tmp_path / f"{name}.log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert proc.returncode == 0 and not errors, "\n".join(errors) or proc.stdout[-2000:]
    assert (tmp_path / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
    assert "Missing character" not in log  # every glyph was set


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed")
def test_pdflatex_rejects_broken_latex(tmp_path):
    """The compile check can fail: what the old output contained does not compile."""
    source = tmp_path / "old.tex"
    source.write_text("\\documentclass{article}\\usepackage{amsmath}\\begin{document}"
                      "\\[ \\text{\u2016\u03b2\u2016_3} \\]\\[ h_D\u207b^{1} \\]\\end{document}",
                      encoding="utf-8")
    proc = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error",
                           source.name], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed")
def test_random_prose_and_names_compile(tmp_path):
    """Seeded random strings of TeX specials, Unicode maths, scripts and accents all compile."""
    rng = np.random.default_rng(20261201)
    alphabet = list("ab XYZ09_^{}()=+-*/,.|<>#$%&~\\'") + list("αβψΦ∇‖∈→∞≥⁻¹²ᵀ₀₊−⇒∫Σ") + [
        "\u0303", "\u0302", "é", "中"]
    texts = ["".join(rng.choice(alphabet, size=rng.integers(1, 25))) for _ in range(300)]
    names = ["".join(rng.choice(list("abxD_^*'(),+-{}0-9"), size=rng.integers(1, 12)))
             for _ in range(150)]
    body = "\n\n".join(text_latex(t) for t in texts)
    maths = "\n".join(f"\\[ {latex_expr(sp.Symbol(n))} = 1 \\]" for n in names if n.strip())
    doc = Derivation("random", ()).to_latex().replace("\\end{document}",
                                                      body + "\n" + maths + "\n\\end{document}")
    assert doc.isascii()
    source = tmp_path / "random.tex"
    source.write_text(doc, encoding="ascii")
    proc = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error",
                           source.name], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    log = (tmp_path / "random.log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert proc.returncode == 0 and not errors, "\n".join(errors) + proc.stdout[-1500:]


@pytest.mark.parametrize(("name", "expected"), [
    ("h_D(-s)", "h_{D}(-s)"),
    ("H_D'", "H_{D}'"),
    ("w_+(0)", "w_{+}(0)"),
    ("psi'", "\\psi'"),
    ("psi^*", "\\psi^{*}"),
    ("psi_sqrt(2)*alpha_W", "\\psi_{\\sqrt{2}\\,\\alpha_{W}}"),
    ("psi(beta) + psi^*(psi'(beta))", "\\psi(\\beta) + \\psi^{*}(\\psi'(\\beta))"),
    ("alpha_W", "\\alpha_{W}"),
    ("nabla_F", "\\nabla_{F}"),
])
def test_symbol_names(name, expected):
    assert latex_expr(sp.Symbol(name)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("‖β‖_3", "$\\|\\beta\\|_{3}$"),
    ("h_D⁻¹", "$h_{D}^{-1}$"),
    ("argmin_{Xβ=y} D_{ψ_α̃}", "$\\mathrm{argmin}_{X\\beta=y}$ $D_{\\psi_{\\tilde{\\alpha}}}$"),
    ("a_{b}_c", "$a_{b}$\\_c"),  # never a double subscript
    ("x⁻¹²", "x${}^{-12}$"),
    ("snake_case name", "snake\\_case name"),
    ("α̃² = 1", "$\\tilde{\\alpha}^{2}$ = 1"),
    ("50% & {x}", "50\\% \\& \\{x\\}"),
    ("a → ∞", "a $\\to$ $\\infty$"),
    ("x ∈ ℝⁿ", "x $\\in$ $\\mathbb{R}^{n}$"),
])
def test_text_latex(text, expected):
    out = text_latex(text)
    assert out == expected and out.isascii()


def test_string_results_that_are_expressions_become_math():
    d = Derivation("t", (("abs", "x**2*Abs(x)"), ("eq", "alpha**2 = 2*alpha_W**2"),
                         ("prose", "‖β‖_∞"), ("names", ["q_even", "h_odd"]),
                         ("code", "__import__('os')")))
    tex = d.to_latex(standalone=False)
    assert "x^{2} \\left|{x}\\right|" in tex
    assert "\\alpha^{2} = 2 \\alpha_{W}^{2}" in tex
    assert "$\\|\\beta\\|_{\\infty}$" in tex
    assert "\\texttt{q\\_even}, \\texttt{h\\_odd}" in tex
    assert "\\_\\_import\\_\\_('os')" in tex  # shown as text, never evaluated


def test_every_step_label_is_a_paragraph():
    d = derive_momentum()
    tex = d.to_latex(standalone=False)
    assert len(re.findall(r"\\paragraph\{", tex)) == len(d.steps)
    assert tex.count("\\item[") == len(d.results)
