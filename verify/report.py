"""Write a report of checked claims: ``index.md``, ``index.html``, ``results.json``, ``figures/``.

Reports are generated, never hand-made: every number comes from the
:class:`~dln_verify.verify.claim.Evidence` records, and every report records seeds, parameters,
versions and
the git revision (:mod:`dln_verify.verify.provenance`).

``index.html`` reads offline in any current browser: the LaTeX of statements, tolerance notes,
notes and captions is converted to MathML when the report is written
(:mod:`dln_verify.verify.mathml`), figures are SVG (PNG beside them, PDF on request), and the
tables show each metric against its declared tolerance (patterns such as ``*.slope`` included)
with where the tolerance comes from. The same views back ``Evidence._repr_html_`` and
``_repr_markdown_`` in notebooks (:func:`evidence_html`, :func:`evidence_markdown`).
"""

from __future__ import annotations

import base64
import errno
import fnmatch
import html
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dln_verify.verify.claim import RESULTS_SCHEMA, Evidence, Tolerance, to_plain
from dln_verify.verify.formatting import format_number
from dln_verify.verify.mathml import math_spans, prose_to_html
from dln_verify.verify.provenance import provenance

__all__ = ["write_report", "check_out_folder", "load_results", "results_payload",
           "write_atomically", "format_number", "evidence_html", "evidence_markdown",
           "FIGURE_FORMATS"]

#: Figure files written beside each other by default (``figure_formats`` of write_report).
FIGURE_FORMATS = ("png", "svg")


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", text).strip("-").lower()


def _controls_summary(ev: Evidence) -> str:
    rejected = sum(c.rejected for c in ev.controls)
    return f"{rejected}/{len(ev.controls)} rejected"


def _tolerance_for(ev: Evidence, metric: str) -> Any:
    """The tolerance shown for ``metric``: its own entry, else the first matching pattern."""
    if metric in ev.tolerance:
        return ev.tolerance[metric]
    for name, value in ev.tolerance.items():
        if any(c in name for c in "*?[") and fnmatch.fnmatchcase(metric, name):
            return value
    return ""


def _declared_for(ev: Evidence, metric: str) -> Mapping[str, Any] | None:
    """The declared tolerance record (metric, relation, value, display, source) of ``metric``."""
    for record in ev.tolerances:
        name = str(record.get("metric", ""))
        if name == metric or (any(c in name for c in "*?[")
                              and fnmatch.fnmatchcase(metric, name)):
            return record
    return None


def _within(ev: Evidence, metric: str, value: Any) -> str:
    """``yes``/``no`` whether ``value`` meets the declared tolerance on ``metric`` ('' if none)."""
    record = _declared_for(ev, metric)
    if record is None:
        return ""
    try:
        bound = record["value"]
        tol = Tolerance(record["metric"], record["relation"],
                        tuple(bound) if isinstance(bound, list) else bound,
                        record.get("source") or "declared")
    except (KeyError, TypeError, ValueError):
        return ""
    return "yes" if tol.holds(value) else "no"


def _render_figures(results: Sequence[Evidence], out: Path,
                    formats: Sequence[str] = FIGURE_FORMATS) -> dict[str, list[tuple[str, str]]]:
    """Render every figure as ``figures/<stem>.<fmt>``; ``(png path, caption)`` per claim."""
    from dln_verify.verify.figures import render_figures

    formats = ("png", *(f for f in formats if f != "png"))
    paths: dict[str, list[tuple[str, str]]] = {}
    for ev in results:
        for spec in ev.figures:
            name = _slug(spec.name)
            stem = name if name.startswith(_slug(ev.claim)) else f"{_slug(ev.claim)}-{name}"
            rel = Path("figures") / f"{stem}.png"
            render_figures(spec, out / "figures" / stem, formats)
            caption = spec.caption or spec.title
            paths.setdefault(ev.claim, []).append((rel.as_posix(), caption))
    return paths


def _claim_markdown(ev: Evidence, figure_lines: Sequence[str]) -> list[str]:
    """The Markdown section of one claim (``figure_lines``: its figures, already formatted)."""
    lines = [
        f"**{ev.title}** — verdict: **{ev.status}**",
        "",
        f"*Reference:* {ev.reference}",
        "",
        "**Statement.** " + ev.statement,
        "",
        f"**Verdict.** {ev.message}",
        "",
    ]
    if ev.tolerance_note:
        lines += ["**Tolerances.** " + ev.tolerance_note, ""]
    if ev.metrics:
        lines += ["| metric | value | tolerance | within |", "|---|---|---|---|"]
        for name, value in ev.metrics.items():
            tol = _tolerance_for(ev, name)
            lines.append(f"| {name} | {format_number(value)} | {format_number(tol)} | "
                         f"{_within(ev, name, value)} |")
        lines.append("")
    sources = [t for t in ev.tolerances if t.get("source")]
    if sources:
        lines += ["Where the tolerances come from:", ""]
        lines += [f"- `{t.get('metric')}` {t.get('display', '')}: {t['source']}" for t in sources]
        lines.append("")
    if ev.controls:
        lines += ["Negative controls (wrong predictions the same check must reject):", "",
                  "| control | rejected | metric | description |", "|---|---|---|---|"]
        for c in ev.controls:
            lines.append(f"| {c.name} | {'yes' if c.rejected else '**NO**'} | "
                         f"{c.metric_name} = {format_number(c.metric)} | {c.description} |")
        lines.append("")
    if ev.certificate:
        cert = ", ".join(f"{k}: {format_number(v)}" for k, v in ev.certificate.items()
                         if not isinstance(v, list | dict))
        lines += [f"Solver certificate: {cert}", ""]
    params = ", ".join(f"{k} = {format_number(v)}" for k, v in ev.parameters.items()
                       if not isinstance(v, list | dict))
    lines += [f"Parameters: {params}", ""]
    for note in ev.notes:
        lines.append(f"- {note}")
    if ev.notes:
        lines.append("")
    return lines + list(figure_lines)


def _markdown(results: Sequence[Evidence], prov: dict[str, Any], figs) -> str:
    passed = sum(ev.passed for ev in results)
    lines = [
        "# dln-verify report",
        "",
        f"**{passed}/{len(results)} claims verified** (a claim passes only if its comparison holds "
        "and every negative control is rejected).",
        "",
        f"- git revision: `{prov['git_revision']}`",
        f"- time (UTC): {prov['time_utc']}",
        f"- seed: {prov.get('seed')}, profile: {prov.get('profile')}",
        f"- python {prov['python']} on {prov['platform']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in prov["versions"].items()),
        "",
        "| claim | kind | verdict | deciding metric | value | tolerance | negative controls |",
        "|---|---|---|---|---|---|---|",
    ]
    for ev in results:
        value = ev.metrics.get(ev.metric, "")
        tol = _tolerance_for(ev, ev.metric) or "; ".join(
            f"{k}: {v}" for k, v in ev.tolerance.items())
        lines.append(
            f"| [`{ev.claim}`](#{_slug(ev.claim)}) | {ev.kind} | **{ev.status}** | {ev.metric} | "
            f"{format_number(value)} | {format_number(tol)} | {_controls_summary(ev)} |"
        )
    for ev in results:
        figure_lines = []
        for rel, caption in figs.get(ev.claim, []):
            svg = Path(rel).with_suffix(".svg").as_posix()
            figure_lines += [f"![{caption}]({rel})", "", f"*{caption}* ([SVG]({svg}))", ""]
        lines += ["", f"## {ev.claim}", "", *_claim_markdown(ev, figure_lines)]
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;
line-height:1.45}table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;
padding:3px 8px;font-size:.9em;vertical-align:top}th{background:#f3f3f3;text-align:left}
.pass,.yes{color:#0a7a2f;font-weight:bold}
.fail,.error,.diverged,.outside-assumptions,.no{color:#b00020;font-weight:bold}
.inconclusive{color:#8a5a00;font-weight:bold}img{max-width:100%;height:auto}
code{background:#f5f5f5;padding:0 3px}.stmt{background:#fafafa;border-left:3px solid #999;
padding:.4em .8em}td.src{font-size:.8em;color:#555}figure{margin:1em 0}
figcaption{font-size:.9em;color:#333}math{font-size:1.05em}math[display=block]{margin:.4em 0}
code.tex{color:#8a3b00}
"""


def _claim_html(ev: Evidence, figure_html: Sequence[str], level: int = 2) -> list[str]:
    """The HTML section of one claim (``figure_html``: its ``<figure>`` elements)."""
    e = html.escape
    p = prose_to_html
    out = [
        f"<h{level} id='{_slug(ev.claim)}'>{e(ev.claim)}: {e(ev.title)}</h{level}>",
        f"<p>Verdict: <span class='{e(ev.status)}'>{e(ev.status)}</span> — {p(ev.message)}</p>",
        f"<p><i>Reference:</i> {e(ev.reference)}</p>",
        f"<div class='stmt'>{p(ev.statement)}</div>",
    ]
    if ev.tolerance_note:
        out.append(f"<p><b>Tolerances.</b> {p(ev.tolerance_note)}</p>")
    if ev.metrics:
        out.append("<table><tr><th>metric</th><th>value</th><th>tolerance</th><th>within</th>"
                   "<th>where the tolerance comes from</th></tr>")
        for name, value in ev.metrics.items():
            tol = format_number(_tolerance_for(ev, name))
            within = _within(ev, name, value)
            record = _declared_for(ev, name)
            source = p(str(record.get("source", ""))) if record else ""
            out.append(f"<tr><td>{e(name)}</td><td>{e(format_number(value))}</td>"
                       f"<td>{e(tol)}</td><td class='{within}'>{within}</td>"
                       f"<td class='src'>{source}</td></tr>")
        out.append("</table>")
    if ev.controls:
        out.append("<p>Negative controls (wrong predictions the same check must reject):</p>"
                   "<table><tr><th>control</th><th>rejected</th><th>metric</th>"
                   "<th>description</th></tr>")
        for c in ev.controls:
            cls = "pass" if c.rejected else "fail"
            out.append(f"<tr><td>{e(c.name)}</td><td class='{cls}'>"
                       f"{'yes' if c.rejected else 'NO'}</td><td>{e(c.metric_name)} = "
                       f"{e(format_number(c.metric))}</td><td>{p(c.description)}</td></tr>")
        out.append("</table>")
    if ev.certificate:
        cert = ", ".join(f"{k}: {format_number(v)}" for k, v in ev.certificate.items()
                         if not isinstance(v, list | dict))
        out.append(f"<p>Solver certificate: {e(cert)}</p>")
    params = ", ".join(f"{k} = {format_number(v)}" for k, v in ev.parameters.items()
                       if not isinstance(v, list | dict))
    out.append(f"<p>Parameters: {e(params)}</p>")
    if ev.notes:
        out.append("<ul>" + "".join(f"<li>{p(n)}</li>" for n in ev.notes) + "</ul>")
    return out + list(figure_html)


def _plain(text: str) -> str:
    """Prose without its ``$`` math delimiters (for ``alt`` text)."""
    return "".join(content for _, _, content in math_spans(text))


def _figure_links(rel: str, formats: Sequence[str]) -> str:
    links = [f"<a href='{html.escape(Path(rel).with_suffix('.' + f).as_posix())}'>"
             f"{f.upper()}</a>" for f in formats]
    return " · ".join(links)


def _html(results: Sequence[Evidence], prov: dict[str, Any], figs,
          formats: Sequence[str] = FIGURE_FORMATS) -> str:
    e = html.escape
    passed = sum(ev.passed for ev in results)
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>dln-verify report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>dln-verify report</h1>",
        f"<p><b>{passed}/{len(results)} claims verified</b> (a claim passes only if its comparison"
        " holds and every negative control is rejected).</p>",
        "<ul>",
        f"<li>git revision: <code>{e(prov['git_revision'])}</code></li>",
        f"<li>time (UTC): {e(prov['time_utc'])}; seed {e(str(prov.get('seed')))}, profile "
        f"{e(str(prov.get('profile')))}</li>",
        f"<li>python {e(prov['python'])} on {e(prov['platform'])}</li>",
        "<li>versions: " + e(", ".join(f"{k} {v}" for k, v in prov["versions"].items())) + "</li>",
        "</ul><table><tr><th>claim</th><th>kind</th><th>verdict</th><th>deciding metric</th>"
        "<th>value</th><th>tolerance</th><th>controls</th></tr>",
    ]
    for ev in results:
        value = format_number(ev.metrics.get(ev.metric, ""))
        tol = format_number(_tolerance_for(ev, ev.metric))
        out.append(
            f"<tr><td><a href='#{_slug(ev.claim)}'>{e(ev.claim)}</a></td><td>{e(ev.kind)}</td>"
            f"<td class='{e(ev.status)}'>{e(ev.status)}</td><td>{e(ev.metric)}</td>"
            f"<td>{e(value)}</td><td>{e(tol)}</td><td>{e(_controls_summary(ev))}</td></tr>"
        )
    out.append("</table>")
    shown = ("png", *(f for f in formats if f != "png"))
    for ev in results:
        figure_html = []
        for rel, caption in figs.get(ev.claim, []):
            img = Path(rel).with_suffix(".svg").as_posix() if "svg" in shown else rel
            figure_html.append(
                f"<figure><img src='{e(img)}' alt='{e(_plain(caption))}'>"
                f"<figcaption>{prose_to_html(caption)} ({_figure_links(rel, shown)})"
                "</figcaption></figure>")
        out += _claim_html(ev, figure_html)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def evidence_html(ev: Evidence) -> str:
    """A self-contained HTML view of one :class:`Evidence` (figures as inline SVG).

    Used by ``Evidence._repr_html_`` (Jupyter): verdict, statement (MathML), metrics against
    their tolerances, negative controls, notes and figures.
    """
    from dln_verify.verify.figures import figure_svg

    figure_html = []
    for spec in ev.figures:
        svg = figure_svg(spec)
        svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE for inline use
        caption = spec.caption or spec.title
        figure_html.append(f"<figure style='max-width:720px'>{svg}"
                           f"<figcaption>{prose_to_html(caption)}</figcaption></figure>")
    body = "\n".join(_claim_html(ev, figure_html, level=3))
    return f"<div class='dln-verify-evidence'><style>{_scoped_css()}</style>\n{body}\n</div>"


def _scoped_css() -> str:
    rules = _CSS.replace("body{", ".dln-verify-evidence{").replace("\n", "")
    rules = re.sub(r"(^|})([^{}@]+)\{", lambda m: m.group(1) + ",".join(
        sel if sel.strip().startswith(".dln-verify-evidence") else
        f".dln-verify-evidence {sel.strip()}" for sel in m.group(2).split(",")) + "{", rules)
    return rules


def evidence_markdown(ev: Evidence) -> str:
    """A Markdown view of one :class:`Evidence` (figures as SVG data URIs); LaTeX stays ``$…$``.

    Used by ``Evidence._repr_markdown_``.
    """
    from dln_verify.verify.figures import figure_svg

    figure_lines = []
    for spec in ev.figures:
        data = base64.b64encode(figure_svg(spec).encode("utf-8")).decode("ascii")
        caption = spec.caption or spec.title
        figure_lines += [f"![{caption}](data:image/svg+xml;base64,{data})", "",
                         f"*{caption}*", ""]
    return "\n".join([f"### {ev.claim}", "", *_claim_markdown(ev, figure_lines)]) + "\n"


#: options whose value is where the results are written: not part of what was computed
_OUTPUT_FLAGS = ("--out", "--output")


def reproducible_command(command: str) -> str:
    """``command`` with the values of ``--out``/``--output`` replaced by ``…``.

    Where a run writes its files does not change what it computed, and ``results.json`` must
    be byte-identical for the same seed and options (apart from ``provenance.time_utc``).

    Examples
    --------
    >>> reproducible_command("dln-verify report gf-depth --out A --seed 0")
    'dln-verify report gf-depth --out … --seed 0'
    >>> reproducible_command("dln-verify check gf-depth --output=B.json")
    'dln-verify check gf-depth --output=…'
    """
    words = command.split(" ")
    for k, word in enumerate(words):
        if word in _OUTPUT_FLAGS and k + 1 < len(words):
            words[k + 1] = "…"
        for flag in _OUTPUT_FLAGS:
            if word.startswith(flag + "="):
                words[k] = flag + "=…"
    return " ".join(words)


def results_payload(results: Sequence[Evidence], prov: Mapping[str, Any],
                    figs: Mapping[str, list[tuple[str, str]]]) -> dict[str, Any]:
    """The ``results.json`` document: provenance, summary and one record per claim.

    Each record is :meth:`Evidence.to_json_dict` with the figure file of each figure record
    added; the schema is documented in ``docs/results-schema.md``.
    """
    records = []
    for ev in results:
        record = ev.to_json_dict()
        for fig, (rel, _) in zip(record["figures"], figs.get(ev.claim, []), strict=False):
            fig["file"] = rel
        records.append(record)
    statuses = [ev.status for ev in results]
    prov = dict(prov)
    if isinstance(prov.get("command"), str):
        prov["command"] = reproducible_command(prov["command"])
    return to_plain({
        "schema": RESULTS_SCHEMA,
        "provenance": prov,
        "summary": {"claims": len(results), "passed": sum(ev.passed for ev in results),
                    **{s: statuses.count(s) for s in sorted(set(statuses))}},
        "results": records,
    })


def load_results(path: Path | str) -> tuple[dict[str, Any], list[Evidence]]:
    """Read a ``results.json`` written by :func:`write_report`: ``(provenance, evidence)``.

    Raises ValueError (naming ``--from``) for a missing, unreadable or foreign file.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"--from {path}: cannot read a results file: {exc}") from None
    found = payload.get("schema") if isinstance(payload, dict) else type(payload).__name__
    if not isinstance(payload, dict) or found != RESULTS_SCHEMA:
        raise ValueError(f"--from {path}: not a dln-verify results file of schema "
                         f"{RESULTS_SCHEMA} (found schema {found!r})")
    try:
        evidence = [Evidence.from_json_dict(r) for r in payload["results"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"--from {path}: malformed record: {exc}") from None
    return dict(payload.get("provenance", {})), evidence


def write_atomically(path: Path | str, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary sibling and a rename (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


_RENAME_EXCHANGE = 2  # linux/fs.h: swap two paths atomically
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one ``renameat2(RENAME_EXCHANGE)`` call (Linux);
    False where the call is not available (then the caller falls back to two renames)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # old kernel or file system
        return False
    raise OSError(err, os.strerror(err), str(b))


def check_out_folder(out: Path | str) -> Path:
    """``out`` as an absolute path, refused (ValueError naming ``--out``) where replacing it
    would replace the current folder, one of its parents or the file system root.

    Examples
    --------
    >>> check_out_folder(".")
    Traceback (most recent call last):
    ...
    ValueError: --out .: is the current folder or a parent of it (a report replaces its folder)
    """
    given = Path(out)
    path = given.absolute()
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    if resolved == Path(resolved.anchor) or resolved == cwd or resolved in cwd.parents:
        raise ValueError(f"--out {given}: is the current folder or a parent of it (a report "
                         "replaces its folder)")
    return path


def _swap_in(staged: Path, out: Path) -> None:
    """Replace ``out`` by the complete folder ``staged`` (same file system).

    On Linux the two folders are exchanged in one atomic call, so there is no moment at which
    ``out`` is missing (a run killed between two renames would leave no report at all);
    elsewhere ``out`` is renamed aside, then ``staged`` renamed in.
    """
    if out.exists() and _exchange(staged, out):
        shutil.rmtree(staged, ignore_errors=True)  # staged now holds the previous report
        return
    old = out.parent / f".{out.name}.previous-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(staged, out)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def write_report(
    results: Sequence[Evidence], out: Path | str, *, seed: int | None = None,
    profile: str | None = None, provenance_record: Mapping[str, Any] | None = None,
    figure_formats: Sequence[str] = FIGURE_FORMATS,
) -> dict[str, Path]:
    """Write ``index.html``, ``index.md``, ``results.json``, ``timings.json`` and ``figures/``.

    Every figure is written as PNG and SVG (``figure_formats``; add ``"pdf"`` for PDF files);
    ``index.html`` shows the SVG and converts the LaTeX of statements and notes to MathML
    (:mod:`dln_verify.verify.mathml`), so it renders offline in any current browser.

    The report is written atomically: everything goes into a hidden sibling folder which then
    replaces ``out`` by a rename, so a run killed half-way leaves the previous report complete
    and untouched, and ``out`` only ever holds the files of one run. ``results.json`` is
    byte-identical for the same seed and options apart from ``provenance.time_utc``;
    wall-clock times are in ``timings.json``.

    ``provenance_record`` (from :func:`load_results`) rebuilds a report without computing
    (``dln-verify report --from results.json``).
    """
    out = check_out_folder(out)
    formats = tuple(dict.fromkeys(figure_formats))
    from dln_verify.verify.figures import FORMATS

    if not formats or any(f not in FORMATS for f in formats):
        raise ValueError(f"figure_formats must be a non-empty subset of {', '.join(FORMATS)}; "
                         f"got {list(figure_formats)}")
    prov = dict(provenance_record) if provenance_record is not None else provenance(
        seed=seed, profile=profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        figs = _render_figures(results, staged, formats)
        payload = results_payload(results, prov, figs)
        (staged / "results.json").write_text(json.dumps(payload, indent=2) + "\n",
                                             encoding="utf-8")
        (staged / "index.md").write_text(_markdown(results, prov, figs), encoding="utf-8")
        (staged / "index.html").write_text(_html(results, prov, figs, formats),
                                           encoding="utf-8")
        timings = {ev.claim: round(ev.elapsed_s, 3) for ev in results}
        run = {"elapsed_s": timings, "command": prov.get("command")}
        (staged / "timings.json").write_text(json.dumps(run, indent=2) + "\n",
                                             encoding="utf-8")
        staged.chmod(0o755)
        _swap_in(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return {"json": out / "results.json", "markdown": out / "index.md",
            "html": out / "index.html", "timings": out / "timings.json"}
