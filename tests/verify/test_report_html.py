"""The HTML/Markdown report and the notebook view: math as MathML, tolerance columns, figure
files, byte-identical rebuilds, atomic writes.

Most tests build Evidence records from the built-in claims' declarations (statement,
tolerances, notes) without running them; one test runs ``gf-depth`` (about 3 s) for the
``report --from`` byte-for-byte round trip.
"""

from __future__ import annotations

import dataclasses
import filecmp
import json
import re
import subprocess
import sys
from xml.etree import ElementTree

import pytest

from dln_verify.verify import registry
from dln_verify.verify.claim import ControlOutcome, Evidence, FigureSpec, Series
from dln_verify.verify.mathml import MathConversionError, math_spans, prose_to_html, tex_to_mathml
from dln_verify.verify.report import evidence_html, evidence_markdown, load_results, write_report

MATHML_NS = "{http://www.w3.org/1998/Math/MathML}"


def _metric_value(tol) -> float:
    if tol.relation == "in":
        lo, hi = tol.value
        return (lo + hi) / 2
    if tol.relation == "<=":
        return tol.value / 2 if tol.value > 0 else tol.value - 1
    if tol.relation == ">=":
        return tol.value * 2 if tol.value > 0 else tol.value + 1
    return tol.value


def small_figure(name: str = "demo") -> FigureSpec:
    return FigureSpec(name, "A small figure", "x", "y", (
        Series("α = 0.1", [1, 2, 3], [1.0, 0.5, 0.25], "linepoints"),
        Series("theory: $2^{-x}$", [1, 3], [1.0, 0.25], "reference")),
        yscale="log", caption=r"Error against $x$; dashed: $\tfrac12$ per step.")


def builtin_evidence(figures_for: tuple[str, ...] = ()) -> list[Evidence]:
    """A passing Evidence record per built-in claim, from its declarations only."""
    records = []
    for claim in registry.all_claims():
        metrics = {t.metric.replace("*", "quadratic"): _metric_value(t) for t in claim.tolerances}
        metric = next(iter(metrics), "none")
        figures = (small_figure(f"{claim.id}-demo"),) if claim.id in figures_for else ()
        records.append(Evidence(
            claim=claim.id, title=claim.title, kind=claim.kind, status="pass", passed=True,
            metric=metric, metrics=metrics,
            tolerance={t.metric: t.display for t in claim.tolerances}, seed=0, profile="quick",
            parameters={"n": 5, "alpha": 0.1}, message="all criteria hold",
            controls=(ControlOutcome("wrong", r"predicts $\beta = 0$ instead", True, 1.0,
                                     metric),),
            reference=claim.reference.cite(), figures=figures,
            notes=(r"a note with $\|\beta\|_1$ and `code`",),
            statement=claim.statement.strip(), tolerance_note=claim.tolerance_note.strip(),
            tolerances=tuple(t.as_dict() for t in claim.tolerances),
            reference_short=claim.reference.short,
        ))
    return records


def _formulas(text: str) -> list[tuple[bool, str]]:
    return [(display, content) for kind, display, content in math_spans(text) if kind == "math"]


# -- LaTeX to MathML ------------------------------------------------------------------------------
@pytest.mark.parametrize("claim_id", registry.ids())
def test_every_formula_of_every_builtin_claim_converts(claim_id):
    claim = registry.get(claim_id)
    texts = [claim.statement, claim.tolerance_note, *(t.source for t in claim.tolerances)]
    formulas = [f for text in texts for f in _formulas(text)]
    assert formulas, f"{claim_id}: no formula found in the statement"
    for display, tex in formulas:
        mathml = tex_to_mathml(tex, display)
        root = ElementTree.fromstring(mathml)  # well-formed XML, one <math> element
        assert root.tag == f"{MATHML_NS}math"
        assert root.get("display") == ("block" if display else "inline")
        assert "\\" not in "".join(root.itertext()), f"unconverted macro in {tex!r}"
    rendered = prose_to_html(claim.statement)
    assert "$" not in re.sub(r"<math.*?</math>", "", rendered, flags=re.S)
    assert "class=\"tex\"" not in rendered


@pytest.mark.parametrize(("tex", "expected"), [
    (r"\operatorname{asinh}(x)", "asinh"),
    (r"\tfrac12", "<mfrac>"),
    (r"\mathbb R", "\u211d"),          # double-struck R (letterlike block)
    (r"\alpha\mathbb 1", "\U0001d7d9"),  # double-struck digit one
    (r"\mathbf 1", "\U0001d7cf"),        # bold digit one
    (r"u\odot v", "&#x02299;"),
    (r"\mathrm{err}", 'mathvariant="normal"'),
    (r"\big[x\big]", 'minsize="1.2em"'),
    (r"\|x\|", "&#x02016;"),
    (r"\ddot w", "&#x000A8;"),
    (r"\dot w", "&#x002D9;"),
    (r"\tilde\alpha", "<mover>"),
    (r"\hat w", "<mover accent=\"true\">"),
    (r"\bar\beta", "&#x000AF;"),
    (r"D\ge 3", "&#x02265;"),
    (r"\alpha\to\infty", "&#x0221E;"),
    (r"\arg\min_{X\beta=y} f", "argmin"),
    (r"\sign(x)", "<mo>sign</mo>"),
])
def test_macros_convert(tex, expected):
    out = tex_to_mathml(tex)
    assert expected in out
    assert not re.search(r">\s*\\", out)
    assert 'mathvariant="double-struck"' not in out and 'mathvariant="bold"' not in out


@pytest.mark.parametrize("tex", [r"\nosuchmacro x", r"\frac{1}{", r"a & b"])
def test_unconvertible_formula_raises_and_prose_falls_back(tex):
    with pytest.raises(MathConversionError):
        tex_to_mathml(tex)
    out = prose_to_html(f"before ${tex}$ after <b>")
    assert out.startswith("before <code class=\"tex\"")
    assert "after &lt;b&gt;" in out and "<math" not in out


def test_dollars_that_are_not_math_stay_text():
    assert prose_to_html("costs $5 and $10, or \\$3") == "costs $5 and $10, or $3"
    assert prose_to_html("`$x$` is code") == "<code>$x$</code> is code"
    assert "display=\"block\"" in prose_to_html("$$x^2$$")


# -- the report -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "r"
    evidence = builtin_evidence(figures_for=("gf-depth",))
    write_report(evidence, out, seed=0, profile="quick")
    return out


def test_html_has_math_and_no_raw_tex(report_dir):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert page.count("<math ") >= 9 * 3
    text_outside_math = re.sub(r"<math.*?</math>", "", page, flags=re.S)
    assert not re.search(r"\$[^$<>\n]{1,200}\$", text_outside_math), "raw $…$ left in the HTML"
    assert "\\operatorname" not in page and "\\beta" not in page and "class=\"tex\"" not in page


def test_html_summary_table_has_tolerance_column(report_dir):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    header = page[page.index("<th>claim</th>"):].split("</tr>")[0]
    assert "<th>tolerance</th>" in header
    first = registry.all_claims()[0]
    row = page[page.index(f"<td><a href='#{first.id}'>"):].split("</tr>")[0]
    assert f"<td>{first.tolerances[0].display.replace('<', '&lt;').replace('>', '&gt;')}</td>" \
        in row


def test_pattern_tolerances_are_shown_for_their_metrics(report_dir):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    claim = registry.get("mirror-horizon")
    tol = claim.tolerances[0]
    section = page[page.index("<h2 id='mirror-horizon'>"):]
    row = section[section.index("<td>quadratic.limit_fraction</td>"):].split("</tr>")[0]
    assert tol.display.replace(">", "&gt;").replace("<", "&lt;") in row
    assert "class='yes'" in row and tol.source[:20] in row
    md = (report_dir / "index.md").read_text(encoding="utf-8")
    assert "| quadratic.limit_fraction | " in md and f"| {tol.display} | yes |" in md


def test_figures_png_and_svg_and_html_shows_svg(report_dir):
    stem = report_dir / "figures" / "gf-depth-demo"
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    root = ElementTree.fromstring(svg.read_bytes())
    assert root.tag.endswith("svg") and root.get("width") and root.get("height")
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert "<img src='figures/gf-depth-demo.svg'" in page
    assert "href='figures/gf-depth-demo.png'" in page
    payload = json.loads((report_dir / "results.json").read_text())
    record = next(r for r in payload["results"] if r["claim"] == "gf-depth")
    assert record["figures"][0]["file"] == "figures/gf-depth-demo.png"


def test_pdf_on_request(tmp_path):
    ev = builtin_evidence(figures_for=("gf-depth",))[1]
    write_report([ev], tmp_path / "r", figure_formats=("png", "svg", "pdf"))
    assert (tmp_path / "r/figures/gf-depth-demo.pdf").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match="figure_formats"):
        write_report([ev], tmp_path / "bad", figure_formats=("gif",))
    assert not (tmp_path / "bad").exists()


def test_rebuild_from_results_is_byte_identical(report_dir, tmp_path):
    prov, evidence = load_results(report_dir / "results.json")
    write_report(evidence, tmp_path / "again", provenance_record=prov)
    for name in ("index.html", "index.md", "results.json", "figures/gf-depth-demo.svg",
                 "figures/gf-depth-demo.png"):
        assert filecmp.cmp(report_dir / name, tmp_path / "again" / name, shallow=False), name


def test_cli_report_from_reproduces_index_html(tmp_path):
    """``report gf-depth --out A; report --from A/results.json --out B; cmp`` (a real run)."""
    a, b = tmp_path / "A", tmp_path / "B"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "dln_verify", *args], capture_output=True,
                              text=True, timeout=600)

    first = cli("report", "gf-depth", "--out", str(a))
    assert first.returncode == 0, first.stderr
    second = cli("report", "--from", str(a / "results.json"), "--out", str(b))
    assert second.returncode == 0, second.stderr
    subprocess.run(["cmp", str(a / "index.html"), str(b / "index.html")], check=True)
    assert filecmp.cmp(a / "index.md", b / "index.md", shallow=False)
    assert "<math " in (a / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in (a / "figures").iterdir()) == sorted(
        p.name for p in (b / "figures").iterdir())


def test_failed_write_keeps_the_previous_report(tmp_path, monkeypatch):
    out = tmp_path / "r"
    ev = builtin_evidence()[0]
    write_report([ev], out)
    before = (out / "index.html").read_bytes()

    from dln_verify.verify import report as report_module

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report_module, "_html", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report([dataclasses.replace(ev, message="second run")], out)
    assert (out / "index.html").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no partial folder left behind


def test_bad_statement_math_does_not_break_the_report(tmp_path):
    ev = dataclasses.replace(builtin_evidence()[0], statement=r"broken $\nosuchmacro{x}$ and $y$")
    write_report([ev], tmp_path / "r")
    page = (tmp_path / "r/index.html").read_text(encoding="utf-8")
    assert '<code class="tex" title="unknown macro \\nosuchmacro">$\\nosuchmacro{x}$</code>' \
        in page
    assert "<math " in page


# -- notebook views -------------------------------------------------------------------------------
def test_evidence_repr_html_shows_verdict_metrics_controls_and_inline_svg():
    ev = builtin_evidence(figures_for=("gf-depth",))[1]
    out = ev._repr_html_()
    assert out == evidence_html(ev)
    assert len(out) < 200_000
    assert "<span class='pass'>pass</span>" in out
    for name in ev.metrics:
        assert f"<td>{name}</td>" in out
    assert "<td>wrong</td><td class='pass'>yes</td>" in out
    assert out.count("<svg") == 1 and "<?xml" not in out and "<math " in out
    assert "Evidence(" not in out  # not the dataclass repr


def test_evidence_repr_markdown():
    ev = builtin_evidence(figures_for=("gf-depth",))[1]
    out = ev._repr_markdown_()
    assert out == evidence_markdown(ev)
    assert out.startswith("### gf-depth") and "verdict: **pass**" in out
    assert "| metric | value | tolerance | within |" in out
    assert "](data:image/svg+xml;base64," in out
    assert "| wrong | yes |" in out
