"""Write a report of checked claims: ``index.md``, ``index.html``, ``results.json``, ``figures/``.

Reports are generated, never hand-made: every number comes from the
:class:`~dln_verify.verify.claim.Evidence` records, and every report records seeds, parameters,
versions and
the git revision (:mod:`dln_verify.verify.provenance`).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dln_verify.verify.claim import RESULTS_SCHEMA, Evidence, to_plain
from dln_verify.verify.figures import render_figure
from dln_verify.verify.formatting import format_number
from dln_verify.verify.provenance import provenance

__all__ = ["write_report", "load_results", "results_payload", "write_atomically",
           "format_number"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", text).strip("-").lower()


def _controls_summary(ev: Evidence) -> str:
    rejected = sum(c.rejected for c in ev.controls)
    return f"{rejected}/{len(ev.controls)} rejected"


def _render_figures(results: Sequence[Evidence], out: Path) -> dict[str, list[tuple[str, str]]]:
    paths: dict[str, list[tuple[str, str]]] = {}
    for ev in results:
        for spec in ev.figures:
            name = _slug(spec.name)
            stem = name if name.startswith(_slug(ev.claim)) else f"{_slug(ev.claim)}-{name}"
            rel = Path("figures") / f"{stem}.png"
            render_figure(spec, out / rel)
            caption = spec.caption or spec.title
            paths.setdefault(ev.claim, []).append((rel.as_posix(), caption))
    return paths


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
        tol = ev.tolerance.get(ev.metric, "; ".join(f"{k}: {v}" for k, v in ev.tolerance.items()))
        lines.append(
            f"| [`{ev.claim}`](#{_slug(ev.claim)}) | {ev.kind} | **{ev.status}** | {ev.metric} | "
            f"{format_number(value)} | {format_number(tol)} | {_controls_summary(ev)} |"
        )
    for ev in results:
        lines += [
            "",
            f"## {ev.claim}",
            "",
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
            lines += ["| metric | value | tolerance |", "|---|---|---|"]
            for name, value in ev.metrics.items():
                tol = ev.tolerance.get(name, "")
                lines.append(f"| {name} | {format_number(value)} | {format_number(tol)} |")
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
        for rel, caption in figs.get(ev.claim, []):
            lines += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;
font-size:.9em}th{background:#f3f3f3}.pass{color:#0a7a2f;font-weight:bold}
.fail,.error,.diverged,.outside-assumptions{color:#b00020;font-weight:bold}img{max-width:100%}
code{background:#f5f5f5;padding:0 3px}.stmt{background:#fafafa;border-left:3px solid #999;
padding:.4em .8em}
"""


def _html(results: Sequence[Evidence], prov: dict[str, Any], figs) -> str:
    e = html.escape
    passed = sum(ev.passed for ev in results)
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>dln-verify report</title>",
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
        "<th>value</th><th>controls</th></tr>",
    ]
    for ev in results:
        value = format_number(ev.metrics.get(ev.metric, ""))
        out.append(
            f"<tr><td><a href='#{_slug(ev.claim)}'>{e(ev.claim)}</a></td><td>{e(ev.kind)}</td>"
            f"<td class='{e(ev.status)}'>{e(ev.status)}</td><td>{e(ev.metric)}</td>"
            f"<td>{e(value)}</td><td>{e(_controls_summary(ev))}</td></tr>"
        )
    out.append("</table>")
    for ev in results:
        out += [
            f"<h2 id='{_slug(ev.claim)}'>{e(ev.claim)}: {e(ev.title)}</h2>",
            f"<p>Verdict: <span class='{e(ev.status)}'>{e(ev.status)}</span> — {e(ev.message)}</p>",
            f"<p><i>Reference:</i> {e(ev.reference)}</p>",
            f"<div class='stmt'>{e(ev.statement)}</div>",
        ]
        if ev.tolerance_note:
            out.append(f"<p><b>Tolerances.</b> {e(ev.tolerance_note)}</p>")
        if ev.metrics:
            out.append("<table><tr><th>metric</th><th>value</th><th>tolerance</th></tr>")
            for name, value in ev.metrics.items():
                tol = format_number(ev.tolerance.get(name, ""))
                out.append(f"<tr><td>{e(name)}</td><td>{e(format_number(value))}</td>"
                           f"<td>{e(tol)}</td></tr>")
            out.append("</table>")
        if ev.controls:
            out.append("<p>Negative controls:</p><table><tr><th>control</th><th>rejected</th>"
                       "<th>metric</th><th>description</th></tr>")
            for c in ev.controls:
                cls = "pass" if c.rejected else "fail"
                out.append(f"<tr><td>{e(c.name)}</td><td class='{cls}'>"
                           f"{'yes' if c.rejected else 'NO'}</td><td>{e(c.metric_name)} = "
                           f"{e(format_number(c.metric))}</td><td>{e(c.description)}</td></tr>")
            out.append("</table>")
        params = ", ".join(f"{k} = {format_number(v)}" for k, v in ev.parameters.items()
                           if not isinstance(v, list | dict))
        out.append(f"<p>Parameters: {e(params)}</p>")
        if ev.notes:
            out.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in ev.notes) + "</ul>")
        for rel, caption in figs.get(ev.claim, []):
            out.append(f"<figure><img src='{e(rel)}' alt='{e(caption)}'>"
                       f"<figcaption>{e(caption)}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)


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
    return to_plain({
        "schema": RESULTS_SCHEMA,
        "provenance": dict(prov),
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


def _swap_in(staged: Path, out: Path) -> None:
    """Replace ``out`` by the complete folder ``staged`` with renames (same file system)."""
    old = out.parent / f".{out.name}.previous-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(staged, out)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def write_report(
    results: Sequence[Evidence], out: Path | str, *, seed: int | None = None,
    profile: str | None = None, provenance_record: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``index.html``, ``index.md``, ``results.json``, ``timings.json`` and ``figures/``.

    The report is written atomically: everything goes into a hidden sibling folder which then
    replaces ``out`` by a rename, so a run killed half-way leaves the previous report complete
    and untouched, and ``out`` only ever holds the files of one run. ``results.json`` is
    byte-identical for the same seed and options apart from ``provenance.time_utc``;
    wall-clock times are in ``timings.json``.

    ``provenance_record`` (from :func:`load_results`) rebuilds a report without computing
    (``dln-verify report --from results.json``).
    """
    out = Path(out)
    prov = dict(provenance_record) if provenance_record is not None else provenance(
        seed=seed, profile=profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        figs = _render_figures(results, staged)
        payload = results_payload(results, prov, figs)
        (staged / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
        (staged / "index.md").write_text(_markdown(results, prov, figs))
        (staged / "index.html").write_text(_html(results, prov, figs))
        timings = {ev.claim: round(ev.elapsed_s, 3) for ev in results}
        (staged / "timings.json").write_text(json.dumps({"elapsed_s": timings}, indent=2) + "\n")
        staged.chmod(0o755)
        _swap_in(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return {"json": out / "results.json", "markdown": out / "index.md",
            "html": out / "index.html", "timings": out / "timings.json"}
