"""Summaries of a seed sweep: verdict counts, control rejection rates and margins.

The **margin** of a metric value ``x`` under its declared
:class:`~dln_verify.verify.claim.Tolerance` puts every criterion on one scale, on which
``margin <= 1`` is "accepted" and ``margin > 1`` is "rejected":

============  ====================================  ===========================================
relation      margin                                 reads as
============  ====================================  ===========================================
``<= v``      ``x / v``                              fraction of the allowance used
``>= v``      ``v / x``  (``inf`` if ``x <= 0``)     how many times short of the requirement
``in [a,b]``  ``|x − (a+b)/2| / ((b−a)/2)``          fraction of the half-band used
``== v``      ``0`` if ``x == v``, else ``inf``
============  ====================================  ===========================================

(``<=``/``>=`` with ``v <= 0`` use ``1 + (x − v)/|v|`` and ``1 + (v − x)/|v|``, with ``|v|``
read as 1 when ``v = 0``; a NaN metric has margin ``inf``.) A metric declared through a pattern
(``*.slope``) takes the worst (largest) margin over the record's metrics that match it.

For each claim the summary gives the distribution over tasks of the margin of the *deciding*
metric of the true prediction (``margin``), of every declared criterion (``criteria``), and of
each negative control's deciding metric; ``smallest_control_margin`` is how far the closest
wrong prediction was from being accepted, and ``separation`` = smallest control margin /
largest truth margin (> 1: at every seed, every wrong prediction sat further out than the
truth did).

Examples
--------
>>> margin(2e-10, {"metric": "err", "relation": "<=", "value": 1e-7})
0.002
>>> round(margin(-0.85, {"metric": "s", "relation": "in", "value": [-1.3, -0.7]}), 12)
0.5
>>> distribution([0.5, 2.0, 1.0])["q50"]
1.0
"""

from __future__ import annotations

import fnmatch
import html
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["margin", "tolerance_for", "truth_margin", "criteria_margins", "control_margin",
           "distribution", "summarise", "write_outputs", "QUANTILES", "SUMMARY_SCHEMA"]

#: version of ``summary.json``
SUMMARY_SCHEMA = 1
#: quantiles reported for every margin distribution (order statistics: numpy "inverted_cdf")
QUANTILES = (0.01, 0.05, 0.5, 0.95, 0.99)
STATUSES = ("pass", "fail", "inconclusive", "outside-assumptions", "diverged", "error")
_LISTED = 20  # tasks listed by name per claim and per category


def _number(value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return math.nan
    return x


def margin(value: Any, tolerance: Mapping[str, Any]) -> float:
    """The margin of ``value`` under ``tolerance`` (a ``Tolerance.as_dict()`` record).

    ``<= 1`` iff the tolerance holds (NaN → ``inf``); see the module docstring.

    Examples
    --------
    >>> margin(4.0, {"metric": "m", "relation": ">=", "value": 1.0})
    0.25
    >>> margin("nan", {"metric": "m", "relation": "<=", "value": 1.0})
    inf
    """
    x = _number(value)
    if math.isnan(x):
        return math.inf
    relation, v = tolerance["relation"], tolerance["value"]
    if relation == "in":
        lo, hi = (float(b) for b in v)
        half = (hi - lo) / 2.0
        if half > 0:
            return abs(x - (lo + hi) / 2.0) / half
        return 0.0 if x == lo else math.inf
    v = float(v)
    if relation == "==":
        return 0.0 if x == v else math.inf
    if relation == "<=":
        if v > 0:
            return x / v
        return 1.0 + (x - v) / (abs(v) or 1.0)
    if relation == ">=":
        if v > 0:
            return v / x if x > 0 else math.inf
        return 1.0 + (v - x) / (abs(v) or 1.0)
    raise ValueError(f"tolerance relation must be one of <=, >=, in, ==; got {relation!r}")


def _is_pattern(name: str) -> bool:
    return any(ch in name for ch in "*?[")


def tolerance_for(metric: str, tolerances: Sequence[Mapping[str, Any]]
                  ) -> Mapping[str, Any] | None:
    """The declared tolerance on ``metric``: by exact name, else the first matching pattern.

    Examples
    --------
    >>> tols = [{"metric": "*.slope", "relation": "in", "value": [-1.3, -0.7]}]
    >>> tolerance_for("l1.slope", tols)["metric"], tolerance_for("gap", tols)
    ('*.slope', None)
    """
    for tol in tolerances:
        if tol.get("metric") == metric:
            return tol
    for tol in tolerances:
        name = str(tol.get("metric", ""))
        if _is_pattern(name) and fnmatch.fnmatchcase(metric, name):
            return tol
    return None


def _worst(metrics: Mapping[str, Any], tol: Mapping[str, Any]) -> float | None:
    name = str(tol["metric"])
    if _is_pattern(name):
        found = [margin(v, tol) for k, v in metrics.items() if fnmatch.fnmatchcase(k, name)]
        return max(found) if found else None
    return margin(metrics[name], tol) if name in metrics else None


def truth_margin(record: Mapping[str, Any]) -> float | None:
    """Margin of the deciding metric of a results record (``None``: no declared tolerance).

    For a pattern tolerance, the worst matching metric of the record decides.
    """
    tol = tolerance_for(str(record.get("metric", "")), record.get("tolerances", ()))
    if tol is None:
        return None
    if _is_pattern(str(tol["metric"])):
        return _worst(record.get("metrics", {}), tol)
    metrics = record.get("metrics", {})
    name = record["metric"]
    return margin(metrics[name], tol) if name in metrics else None


def criteria_margins(record: Mapping[str, Any]) -> dict[str, float]:
    """Margin of every declared criterion present in the record's metrics (worst if pattern)."""
    out = {}
    for tol in record.get("tolerances", ()):
        value = _worst(record.get("metrics", {}), tol)
        if value is not None:
            out[str(tol["metric"])] = value
    return out


def control_margin(control: Mapping[str, Any], tolerances: Sequence[Mapping[str, Any]]
                   ) -> float | None:
    """Margin of a negative control's deciding metric (``None``: no declared tolerance)."""
    tol = tolerance_for(str(control.get("metric_name", "")), tolerances)
    return None if tol is None else margin(control.get("metric"), tol)


def distribution(values: Sequence[float]) -> dict[str, Any]:
    """``n``, ``min``, quantiles ``q01 q05 q50 q95 q99``, ``max`` and the count of ``inf``.

    Quantiles are order statistics (the smallest value with at least that fraction of the
    sample at or below it), so an infinite margin never mixes with finite ones.

    Examples
    --------
    >>> d = distribution([3.0, 1.0, float("inf"), 2.0])
    >>> d["min"], d["q50"], d["q99"], d["max"], d["infinite"]
    (1.0, 2.0, inf, inf, 1)
    """
    import numpy as np

    xs = np.sort(np.asarray([float(v) for v in values], dtype=float))
    keys = ["min", *(f"q{round(100 * q):02d}" for q in QUANTILES), "max"]
    if xs.size == 0:
        return {"n": 0, **dict.fromkeys(keys), "infinite": 0}
    qs = np.quantile(xs, QUANTILES, method="inverted_cdf")
    out: dict[str, Any] = {"n": int(xs.size), "min": float(xs[0])}
    out.update({k: float(q) for k, q in zip(keys[1:-1], qs, strict=True)})
    out.update({"max": float(xs[-1]), "infinite": int(np.isinf(xs).sum())})
    return out


def _task_ref(record: Mapping[str, Any]) -> dict[str, Any]:
    task = record["task"]
    return {"seed": task["seed"], "alpha": task.get("alpha")}


def summarise(tasks: Sequence[Any], records: Mapping[tuple, Mapping[str, Any]],
              missing: Mapping[tuple, str], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The ``summary.json`` document (see ``docs/sweeps.md``) of a sweep's records."""
    from dln_verify.verify.sweep import reproduce_command

    claims: dict[str, dict[str, Any]] = {}
    order = list(dict.fromkeys(t.claim for t in tasks))
    revisions: dict[str, int] = {}
    for claim_id in order:
        mine = [t for t in tasks if t.claim == claim_id]
        done = [records[t.key] for t in mine if t.key in records]
        counts = {s: 0 for s in STATUSES}
        for rec in done:
            counts[rec["status"]] = counts.get(rec["status"], 0) + 1
            rev = str(rec.get("git_revision", "unknown"))
            revisions[rev] = revisions.get(rev, 0) + 1
        truth: list[tuple[float, dict]] = []
        criteria: dict[str, list[float]] = {}
        controls: dict[str, dict[str, Any]] = {}
        control_values: dict[str, list[tuple[float, dict]]] = {}
        deciding: dict[str, int] = {}
        no_tolerance = 0
        for rec in done:
            if rec["status"] not in ("pass", "fail"):
                continue
            deciding[rec["metric"]] = deciding.get(rec["metric"], 0) + 1
            m = truth_margin(rec)
            if m is None:
                no_tolerance += 1
            else:
                truth.append((m, _task_ref(rec)))
            for name, value in criteria_margins(rec).items():
                criteria.setdefault(name, []).append(value)
            for c in rec.get("controls", ()):
                entry = controls.setdefault(c["name"], {"runs": 0, "rejected": 0,
                                                        "accepted_at": []})
                entry["runs"] += 1
                entry["rejected"] += bool(c["rejected"])
                if not c["rejected"] and len(entry["accepted_at"]) < _LISTED:
                    entry["accepted_at"].append(_task_ref(rec))
                cm = control_margin(c, rec.get("tolerances", ()))
                if cm is not None:
                    control_values.setdefault(c["name"], []).append((cm, _task_ref(rec)))
        for name, entry in controls.items():
            entry["rejection_rate"] = entry["rejected"] / entry["runs"]
            entry["margin"] = distribution([v for v, _ in control_values.get(name, [])])
        all_controls = [(v, name, ref) for name, vals in control_values.items()
                        for v, ref in vals]
        smallest = None
        if all_controls:
            v, name, ref = min(all_controls, key=lambda item: item[0])
            smallest = {"value": v, "control": name, **ref}
        worst = None
        if truth:
            v, ref = max(truth, key=lambda item: item[0])
            worst = {"value": v, **ref}
        separation = None
        if smallest and worst and worst["value"] > 0 and math.isfinite(worst["value"]):
            separation = smallest["value"] / worst["value"]
        profile = meta.get("profile", "quick")
        options = meta.get("options", {}).get(claim_id, {})
        plugins = meta.get("plugins", ())
        listed = {}
        for status in STATUSES[1:]:
            hits = [rec for rec in done if rec["status"] == status][:_LISTED]
            if hits:
                from dln_verify.verify.sweep import Task

                listed[status] = [
                    {**_task_ref(rec), "message": rec.get("message", ""),
                     "reproduce": reproduce_command(Task.from_dict(rec["task"]), profile,
                                                    options, plugins)}
                    for rec in hits]
        claims[claim_id] = {
            "title": next((r.get("title", "") for r in done), ""),
            "tasks": len(mine), "finished": len(done), "missing": len(mine) - len(done),
            **counts,
            "deciding_metric": deciding,
            "margin": distribution([v for v, _ in truth]),
            "no_declared_tolerance": no_tolerance,
            "largest_margin": worst,
            "criteria": {k: distribution(v) for k, v in criteria.items()},
            "controls": controls,
            "smallest_control_margin": smallest,
            "separation": separation,
            "tasks_by_status": listed,
        }
    statuses = {s: sum(c[s] for c in claims.values()) for s in STATUSES}
    return {
        "schema": SUMMARY_SCHEMA,
        **{k: v for k, v in meta.items()},
        "tasks": len(tasks), "finished": len(records), "missing": len(tasks) - len(records),
        **statuses,
        "git_revisions": revisions,
        "margin_definition": ("<= v: x/v; >= v: v/x; in [a, b]: |x - (a+b)/2|/((b-a)/2); "
                              "margin <= 1 accepts; pattern metrics: worst match; see "
                              "docs/sweeps.md"),
        "not_run": [{"claim": k[0], "seed": k[1], "alpha": k[2], "reason": why}
                    for k, why in list(missing.items())[:100]],
        "claims": claims,
    }


# -- files --------------------------------------------------------------------------------------
def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, _umask_mode())  # mkstemp creates 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_ready(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", text).strip("-").lower()


def _histogram(claim_id: str, truth: Sequence[float], controls: Mapping[str, Sequence[float]],
               path: Path) -> None:
    """Histogram of margins: the true prediction beside each control, tolerance at 1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = [("true prediction", list(truth))] + [(f"control: {k}", list(v))
                                                   for k, v in controls.items()]
    finite = np.asarray([x for _, xs in groups for x in xs if math.isfinite(x)], dtype=float)
    log = finite.size > 0 and bool(np.all(finite > 0))
    fig, ax = plt.subplots(figsize=(7.0, 3.8), dpi=100)
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        if log:
            lo, hi = min(lo, 1.0), max(hi, 1.0)
            edges = np.logspace(np.log10(lo) - 0.05, np.log10(hi) + 0.05, 41)
        else:
            lo, hi = min(lo, 1.0), max(hi, 1.0)
            pad = 0.02 * (hi - lo or 1.0)
            edges = np.linspace(lo - pad, hi + pad, 41)
        for label, xs in groups:
            vals = [x for x in xs if math.isfinite(x)]
            n_inf = len(xs) - len(vals)
            text = f"{label} (n={len(xs)}" + (f", {n_inf} infinite)" if n_inf else ")")
            ax.hist(vals, bins=edges, alpha=0.55, label=text)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1.2, label="tolerance (margin 1)")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("margin = deciding metric relative to its tolerance (≤ 1 accepts)")
    ax.set_ylabel("tasks")
    ax.set_title(f"{claim_id}: truth vs negative controls over seeds", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;
font-size:.88em}th{background:#f3f3f3}.ok{color:#0a7a2f;font-weight:bold}
.bad{color:#b00020;font-weight:bold}img{max-width:100%}code{background:#f5f5f5;padding:0 3px}
"""


def _fmt(value: Any) -> str:
    from dln_verify.verify.formatting import format_number

    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return format_number(value)


def _dist_cells(d: Mapping[str, Any]) -> str:
    keys = ["n", "min", "q01", "q05", "q50", "q95", "q99", "max"]
    return "".join(f"<td>{html.escape(_fmt(d.get(k)))}</td>" for k in keys)


_DIST_HEAD = "".join(f"<th>{k}</th>" for k in
                     ["n", "min", "1 %", "5 %", "50 %", "95 %", "99 %", "max"])


def _html(summary: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>dln-verify sweep</title>",
        f"<style>{_CSS}</style></head><body><h1>dln-verify sweep</h1>",
        f"<p><b>{summary['tasks']} tasks</b>: " + ", ".join(
            f"{s} {summary[s]}" for s in STATUSES) + f"; not run {summary['missing']}.</p>",
        "<ul>",
        f"<li>command: <code>{e(str(summary.get('command', '')))}</code></li>",
        f"<li>seeds {e(str(summary.get('seeds')))}, α {e(str(summary.get('alphas')))}, "
        f"profile {e(str(summary.get('profile')))}, cluster {e(str(summary.get('cluster')))}"
        "</li>",
        "<li>git revisions: " + e(", ".join(f"{k} ({v} tasks)" for k, v in
                                          summary.get("git_revisions", {}).items())) + "</li>",
        f"<li>time (UTC): {e(str(summary.get('time_utc', '')))}</li>",
        "</ul>",
        "<p>The <b>margin</b> is the deciding metric relative to its declared tolerance: "
        "<code>x/v</code> for <code>≤ v</code>, <code>v/x</code> for <code>≥ v</code>, "
        "<code>|x − centre|/half-width</code> for a band; ≤ 1 accepts, > 1 rejects. A claim "
        "is seed-independent when the truth stays left of 1 and every control right of 1 at "
        "every seed.</p>",
        "<table><tr><th>claim</th><th>tasks</th>" + "".join(f"<th>{s}</th>" for s in STATUSES)
        + "<th>controls rejected</th><th>largest truth margin</th>"
          "<th>smallest control margin</th></tr>",
    ]
    for claim_id, c in summary["claims"].items():
        rates = ", ".join(f"{k} {v['rejected']}/{v['runs']}" for k, v in c["controls"].items())
        worst = (c.get("largest_margin") or {}).get("value")
        small = (c.get("smallest_control_margin") or {}).get("value")
        bad = ("fail", "error", "diverged")
        cells = "".join(f"<td class='{'bad' if c[s] and s in bad else ''}'>{c[s]}</td>"
                        for s in STATUSES)
        out.append(f"<tr><td><a href='#{_slug(claim_id)}'>{e(claim_id)}</a></td>"
                   f"<td>{c['tasks']}</td>{cells}<td>{e(rates or '—')}</td>"
                   f"<td>{e(_fmt(worst))}</td><td>{e(_fmt(small))}</td></tr>")
    out.append("</table>")
    for claim_id, c in summary["claims"].items():
        out.append(f"<h2 id='{_slug(claim_id)}'>{e(claim_id)}: {e(c.get('title', ''))}</h2>")
        deciding = ", ".join(f"{k} ({v})" for k, v in c["deciding_metric"].items())
        out.append(f"<p>{c['finished']}/{c['tasks']} tasks finished; deciding metric: "
                   f"{e(deciding or '—')}; separation (smallest control margin / largest "
                   f"truth margin): {e(_fmt(c.get('separation')))}.</p>")
        out.append(f"<table><tr><th>margin of</th><th>rejected</th>{_DIST_HEAD}</tr>")
        out.append(f"<tr><td>true prediction</td><td>—</td>{_dist_cells(c['margin'])}</tr>")
        for name, d in c["criteria"].items():
            out.append(f"<tr><td>criterion {e(name)}</td><td>—</td>{_dist_cells(d)}</tr>")
        for name, ctl in c["controls"].items():
            cls = "ok" if ctl["rejected"] == ctl["runs"] else "bad"
            out.append(f"<tr><td>control {e(name)}</td><td class='{cls}'>"
                       f"{ctl['rejected']}/{ctl['runs']}</td>{_dist_cells(ctl['margin'])}</tr>")
        out.append("</table>")
        if claim_id in figures:
            out.append(f"<figure><img src='{e(figures[claim_id])}' alt='margin histogram of "
                       f"{e(claim_id)}'><figcaption>Margins over the sweep's tasks: the true "
                       "prediction beside each negative control; the dashed line is the "
                       "tolerance.</figcaption></figure>")
        for status, hits in c.get("tasks_by_status", {}).items():
            out.append(f"<p><b>{e(status)}</b> ({c[status]}; first {len(hits)}):</p><ul>")
            for hit in hits:
                out.append(f"<li>seed {hit['seed']}"
                           + (f", α {hit['alpha']}" if hit.get("alpha") is not None else "")
                           + f": {e(hit['message'])} — <code>{e(hit['reproduce'])}</code></li>")
            out.append("</ul>")
    if summary.get("not_run"):
        out.append("<h2>Not run</h2><ul>" + "".join(
            f"<li>{e(r['claim'])} seed {r['seed']}: {e(r['reason'])}</li>"
            for r in summary["not_run"]) + "</ul><p>Rerun the command to retry them.</p>")
    out.append("</body></html>")
    return "\n".join(out)


def write_outputs(out: Path, tasks: Sequence[Any], records: Mapping[tuple, Mapping[str, Any]],
                  missing: Mapping[tuple, str], meta: Mapping[str, Any]
                  ) -> tuple[dict[str, Any], dict[str, Path]]:
    """Write ``summary.json``, ``figures/<claim>-margins.png`` and ``index.html`` (atomically)."""
    import datetime as dt

    out = Path(out)
    summary = summarise(tasks, records, missing,
                        {**meta, "time_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    figures = {}
    for claim_id in summary["claims"]:
        mine = [records[t.key] for t in tasks if t.claim == claim_id and t.key in records]
        decided = [r for r in mine if r["status"] in ("pass", "fail")]
        truth = [m for m in (truth_margin(r) for r in decided) if m is not None]
        controls: dict[str, list[float]] = {}
        for rec in decided:
            for c in rec.get("controls", ()):
                cm = control_margin(c, rec.get("tolerances", ()))
                if cm is not None:
                    controls.setdefault(c["name"], []).append(cm)
        if not truth and not controls:
            continue
        rel = f"figures/{_slug(claim_id)}-margins.png"
        _histogram(claim_id, truth, controls, out / rel)
        figures[claim_id] = rel
    summary_path, index_path = out / "summary.json", out / "index.html"
    _atomic_text(summary_path, json.dumps(_json_ready(summary), indent=2) + "\n")
    _atomic_text(index_path, _html(summary, figures))
    return summary, {"summary": summary_path, "html": index_path, "results": out /
                     "results.jsonl", **{f"figure:{k}": out / v for k, v in figures.items()}}
