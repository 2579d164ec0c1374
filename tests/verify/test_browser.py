"""Open ``index.html`` in a real headless browser (Debian's ``chromium``).

The report is written for every built-in claim (records built from the claims' declarations,
two of them with a figure), then loaded twice with ``--headless``:

* once with a probe script injected at the top of ``<head>`` of a copy of the page, which
  records script errors, failed resource loads and ``console.error`` calls, then reports (in
  the dumped DOM) whether every image loaded, how many ``<math>`` elements are laid out as
  math and whether any ``$…$`` text is left; chromium's own console log (``--enable-logging``)
  is checked too;
* once unmodified for a screenshot, kept as a test artefact under
  ``reports/test-artifacts/browser/`` (path printed; ``reports/*`` is not committed).

Skipped, with the reason, only where no chromium is installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dln_verify.verify.report import write_report
from tests.verify.test_report_html import builtin_evidence

REPO = Path(__file__).resolve().parents[2]
BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome",
                                                   "google-chrome-stable")
                if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no chromium on PATH (install Debian's chromium: .ci/run does it as "
                            "root with apt-get; apt-get install -y chromium)")

PROBE = """<script>
window.__probe = {errors: []};
window.addEventListener('error', function (ev) {
  var t = ev.target;
  __probe.errors.push(t && t !== window ? 'failed to load ' + (t.src || t.href || t.tagName)
                                        : 'script error: ' + ev.message);
}, true);
(function () {
  var original = console.error;
  console.error = function () {
    __probe.errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
})();
window.addEventListener('load', function () {
  var maths = Array.prototype.slice.call(document.querySelectorAll('math'));
  var imgs = Array.prototype.slice.call(document.images);
  var result = {
    errors: __probe.errors,
    images: imgs.map(function (i) {
      return {src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth};
    }),
    math: maths.length,
    math_laid_out: maths.filter(function (m) {
      return getComputedStyle(m).display.indexOf('math') >= 0 &&
             m.getBoundingClientRect().width > 0;
    }).length,
    math_with_fraction_layout: document.querySelectorAll('mfrac').length,
    dollar_text: document.body.innerText.match(/\\$[^$\\n]{1,200}\\$/g) || [],
    tex_fallbacks: document.querySelectorAll('code.tex').length
  };
  var pre = document.createElement('pre');
  pre.id = 'dln-probe';
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>"""


def _chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    flags = ["--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--allow-file-access-from-files",
             "--virtual-time-budget=15000", "--hide-scrollbars"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # chromium refuses to run as root with its sandbox
    return subprocess.run([BROWSER, *flags, *args], capture_output=True, text=True,
                          timeout=timeout)


def _probe(page: Path, profile_dir: Path) -> tuple[dict, str]:
    """Load a probed copy of ``page`` (same folder); the probe's result and chromium's log."""
    probe = page.with_name("probe-" + page.name)
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    proc = _chromium(f"--user-data-dir={profile_dir}", "--enable-logging=stderr", "--v=0",
                     "--dump-dom", probe.as_uri())
    probe.unlink()
    match = re.search(r'<pre id="dln-probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"probe did not run (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1))), proc.stderr


def _console(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "report"
    write_report(builtin_evidence(figures_for=("gf-depth", "saddle-to-saddle")), out,
                 seed=0, profile="quick")
    result, log = _probe(out / "index.html", tmp_path_factory.mktemp("chromium-profile"))
    return out, result, log


def test_the_probe_sees_broken_pages(tmp_path):
    """The checks below can fail: a page with a missing image, a console error, a script
    error and raw TeX is reported as such."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                    "<p>raw $\\beta = 1$</p><img src='missing.svg'>"
                    "<script>console.error('boom'); undefinedFunction();</script>"
                    "</body></html>", encoding="utf-8")
    result, log = _probe(page, tmp_path / "profile")
    assert any("missing.svg" in e for e in result["errors"])
    assert any("console.error: boom" in e for e in result["errors"])
    assert any("undefinedFunction" in e for e in result["errors"])
    assert result["images"][0]["width"] == 0
    assert result["dollar_text"] == ["$\\beta = 1$"] and result["math"] == 0
    assert any("boom" in line for line in _console(log))


def test_no_errors_in_the_console(rendered):
    _, result, log = rendered
    assert result["errors"] == []
    assert _console(log) == []


def test_every_image_loaded(rendered):
    out, result, _ = rendered
    images = result["images"]
    assert len(images) == 2
    for image in images:
        assert image["complete"] and image["width"] > 0, image
        assert image["src"].endswith(".svg") and (out / image["src"]).is_file()


def test_statements_render_as_math(rendered):
    _, result, _ = rendered
    assert result["math"] >= 9 * 3  # every claim's statement has several formulas
    assert result["math_laid_out"] == result["math"], "some <math> is not laid out as MathML"
    assert result["math_with_fraction_layout"] >= 1  # \tfrac12 of gf-hypentropy
    assert result["dollar_text"] == [] and result["tex_fallbacks"] == 0


def test_screenshot_is_saved(rendered, tmp_path_factory):
    out, _, _ = rendered
    target_dir = REPO / "reports" / "test-artifacts" / "browser"
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        target_dir = tmp_path_factory.mktemp("screenshot")
    shot = target_dir / "index.png"
    shot.unlink(missing_ok=True)
    profile_dir = tmp_path_factory.mktemp("chromium-profile-shot")
    proc = _chromium(f"--user-data-dir={profile_dir}", "--window-size=1100,6000",
                     f"--screenshot={shot}", (out / "index.html").as_uri())
    assert shot.is_file(), proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    print(f"browser screenshot of index.html: {shot}")
