"""Render :class:`~dln_verify.verify.claim.FigureSpec` records with matplotlib (Agg backend).

A figure record stays renderer-independent (labels, arrays, a style per series); this module
decides how it looks, the same way for every claim:

* **Series that share a label share a colour and one legend entry.** A claim that draws every
  coordinate for three values of α labels each curve with its α only (``"α = 1e-10"``) and
  gets three colours and three legend entries instead of one entry per curve.
* **One line style per role**: ``line`` solid, ``linepoints`` solid with markers, ``points``
  markers only, ``reference`` (the theory) dashed/dotted in a palette of its own (black first,
  then dark gold, indigo, teal, brown), drawn on top and never in a data colour.
* **The legend never covers data**: it is placed outside the axes (right of them for a few
  short labels, below them otherwise).
* **Readable ticks**: constrained layout, at most ~6 major ticks per axis (MaxNLocator, or
  decades/1-2-5 on log axes), no labels on minor ticks; :func:`tick_labels_overlap` checks it.
* Files: PNG and SVG (PDF on request), written deterministically (no dates, fixed SVG ids),
  so a report rebuilt from ``results.json`` is identical.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
)

from dln_verify.verify.claim import FigureSpec  # noqa: E402

__all__ = ["render_figure", "render_figures", "figure_svg", "draw_figure",
           "tick_labels_overlap", "legend_overlaps_axes", "FORMATS", "DATA_COLOURS",
           "REFERENCE_COLOURS"]

#: File formats :func:`render_figures` can write.
FORMATS = ("png", "svg", "pdf")
#: Colours of data series (matplotlib's tab10 without its grey), in order of first label.
DATA_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#bcbd22", "#17becf")
#: Colours of reference (theory) series: distinct from every data colour.
REFERENCE_COLOURS = ("#000000", "#b8860b", "#4b0082", "#008080", "#8b4513")
_REFERENCE_DASHES = ("--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))
_DATA_MARKERS = ("o", "s", "^", "v", "D")  # cycles of markers once the colours are used up
_RC = {"svg.hashsalt": "dln-verify", "svg.fonttype": "path", "font.size": 9,
       "axes.titlesize": 10, "legend.fontsize": 7.5, "xtick.labelsize": 8.5,
       "ytick.labelsize": 8.5}
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None},
             "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None}}


def _groups(spec: FigureSpec) -> list[tuple[str, str, int]]:
    """``(role, label, slot)`` per series; ``slot`` indexes the colours of the role.

    Roles: ``data``; ``reference``; ``matched`` (a reference labelled like a data series: drawn
    dashed in that series' colour, without a legend entry of its own).
    """
    slots: dict[tuple[str, str], int] = {}
    counts = {"data": 0, "reference": 0}
    data_labels = {s.label for s in spec.series if s.style != "reference" and s.label}
    for k, series in enumerate(spec.series):  # data colours first, in order of appearance
        if series.style != "reference":
            key = ("data", series.label or f"\0unlabelled-{k}")
            if key not in slots:
                slots[key] = counts["data"]
                counts["data"] += 1
    out = []
    for k, series in enumerate(spec.series):
        if series.style != "reference":
            out.append(("data", series.label, slots[("data", series.label or f"\0unlabelled-{k}")]))
        elif series.label in data_labels:
            out.append(("matched", series.label, slots[("data", series.label)]))
        else:
            key = ("reference", series.label or f"\0unlabelled-{k}")
            if key not in slots:
                slots[key] = counts["reference"]
                counts["reference"] += 1
            out.append(("reference", series.label, slots[key]))
    return out


def _style(style: str, role: str, slot: int) -> dict:
    if role == "matched":
        return {"color": DATA_COLOURS[slot % len(DATA_COLOURS)], "linestyle": "--",
                "linewidth": 1.4, "marker": None, "zorder": 4}
    if role == "reference":
        return {"color": REFERENCE_COLOURS[slot % len(REFERENCE_COLOURS)],
                "linestyle": _REFERENCE_DASHES[slot % len(_REFERENCE_DASHES)],
                "linewidth": 1.5, "marker": None, "zorder": 4}
    colour = DATA_COLOURS[slot % len(DATA_COLOURS)]
    marker = _DATA_MARKERS[(slot // len(DATA_COLOURS)) % len(_DATA_MARKERS)]
    if style == "points":
        return {"color": colour, "linestyle": "none", "marker": marker, "markersize": 4,
                "alpha": 0.85, "zorder": 3}
    if style == "linepoints":
        return {"color": colour, "linestyle": "-", "marker": marker, "markersize": 3.5,
                "linewidth": 1.3, "zorder": 3}
    extra = {"marker": marker, "markevery": 0.1, "markersize": 3} if slot >= len(
        DATA_COLOURS) else {"marker": None}
    return {"color": colour, "linestyle": "-", "linewidth": 1.5, "zorder": 2, **extra}


def _finite_range(values: Iterable[np.ndarray], log: bool) -> tuple[float, float] | None:
    parts = [v[np.isfinite(v) & ((v > 0) if log else True)] for v in values]
    data = np.concatenate(parts) if parts else np.array([])
    if data.size == 0:
        return None
    return float(data.min()), float(data.max())


def _configure_axis(axis, scale: str, span: tuple[float, float] | None) -> None:
    if scale == "log":
        decades = math.log10(span[1] / span[0]) if span and span[0] > 0 else 10.0
        if decades < 1.6:  # too few decades for labelled powers of ten: label 1-2-5 steps
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=12))
            axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        else:
            axis.set_major_locator(LogLocator(base=10, numticks=7))
        axis.set_minor_formatter(NullFormatter())
    else:
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))


def draw_figure(spec: FigureSpec):
    """Draw ``spec`` on a new matplotlib figure and return it (the caller closes it).

    Examples
    --------
    >>> from dln_verify.verify.claim import Series
    >>> spec = FigureSpec("demo", "Demo", "x", "y", (
    ...     Series("α = 1", [0, 1, 2], [0, 1, 4]), Series("α = 1", [0, 1, 2], [0, 2, 3]),
    ...     Series("theory", [0, 2], [0, 4], "reference")))
    >>> fig = draw_figure(spec)
    >>> [t.get_text() for t in fig.legends[0].get_texts()]
    ['α = 1', 'theory']
    >>> legend_overlaps_axes(fig), tick_labels_overlap(fig)
    (False, False)
    >>> plt.close(fig)
    """
    if not isinstance(spec, FigureSpec):
        raise TypeError(f"spec must be a FigureSpec, got {type(spec).__name__}")
    with plt.rc_context(_RC):
        groups = _groups(spec)
        labels = list(dict.fromkeys(s.label for s in spec.series if s.label))
        longest = max((len(label) for label in labels), default=0)
        right = bool(labels) and len(labels) <= 8 and longest <= 30
        ncol = 3 if longest <= 22 else 2 if longest <= 40 else 1
        rows = 0 if right or not labels else math.ceil(len(labels) / ncol)
        fig = plt.figure(figsize=(7.2 if right else 6.4, 4.2 + 0.17 * rows), dpi=110,
                         layout="constrained")
        ax = fig.add_subplot()
        xs, ys, seen = [], [], set()
        for series, (role, label, slot) in zip(spec.series, groups, strict=True):
            x = np.asarray(series.x, dtype=float)
            y = np.asarray(series.y, dtype=float)
            if spec.yscale == "log":
                y = np.where(y > 0, y, np.nan)
            if spec.xscale == "log":
                x = np.where(x > 0, x, np.nan)
            xs.append(x)
            ys.append(y)
            key = (role, label)
            shown = label if label and key not in seen and role != "matched" else "_nolegend_"
            seen.add(key)
            ax.plot(x, y, label=shown, **_style(series.style, role, slot))
        ax.set_xscale(spec.xscale)
        ax.set_yscale(spec.yscale)
        _configure_axis(ax.xaxis, spec.xscale, _finite_range(xs, spec.xscale == "log"))
        _configure_axis(ax.yaxis, spec.yscale, _finite_range(ys, spec.yscale == "log"))
        ax.set_xlabel(spec.xlabel)
        ax.set_ylabel(spec.ylabel)
        ax.set_title("\n".join(textwrap.wrap(spec.title, 80)) if spec.title else "")
        ax.grid(True, which="major", alpha=0.3)
        ax.grid(True, which="minor", alpha=0.1)
        if labels:
            if right:
                fig.legend(loc="outside right upper", frameon=False)
            else:
                fig.legend(loc="outside lower center", ncol=ncol, frameon=False)
        fig.canvas.draw()
        if tick_labels_overlap(fig):  # e.g. long numbers: fewer, rotated labels
            for axis in (ax.xaxis, ax.yaxis):
                if isinstance(axis.get_major_locator(), MaxNLocator):
                    axis.set_major_locator(MaxNLocator(nbins=4))
            ax.tick_params(axis="x", labelrotation=30)
            fig.canvas.draw()
    return fig


def _boxes(labels) -> list:
    return [t.get_window_extent() for t in labels if t.get_visible() and t.get_text().strip()]


def tick_labels_overlap(fig) -> bool:
    """Whether any two tick labels of one axis of ``fig`` overlap (after drawing it)."""
    fig.canvas.draw()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            boxes = _boxes(axis.get_ticklabels(which="both"))
            for i in range(len(boxes)):
                for j in range(i + 1, len(boxes)):
                    if boxes[i].overlaps(boxes[j]):
                        return True
    return False


def legend_overlaps_axes(fig) -> bool:
    """Whether a legend of ``fig`` is drawn over the plotting area of an axes."""
    fig.canvas.draw()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return any(legend.get_window_extent().overlaps(ax.get_window_extent())
               for legend in legends for ax in fig.axes)


def _save(fig, target, fmt: str) -> None:
    fig.savefig(target, format=fmt, metadata=_METADATA[fmt])


def render_figures(spec: FigureSpec, stem: Path | str,
                   formats: Sequence[str] = ("png", "svg")) -> dict[str, Path]:
    """Draw ``spec`` once and write ``stem.<fmt>`` for each format (``png``, ``svg``, ``pdf``).

    Returns the written paths by format. The files carry no date, so the same record gives the
    same bytes (for a given matplotlib version).
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty subset of {', '.join(FORMATS)}; "
                         f"got {list(formats)}")
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    fig = draw_figure(spec)
    try:
        paths = {}
        with plt.rc_context(_RC):
            for fmt in dict.fromkeys(formats):
                path = stem.with_name(f"{stem.name}.{fmt}")
                _save(fig, path, fmt)
                paths[fmt] = path
    finally:
        plt.close(fig)
    return paths


def render_figure(spec: FigureSpec, path: Path | str, *, pdf: bool = False,
                  svg: bool = False) -> Path:
    """Draw ``spec`` into ``path`` (format from its suffix, PNG by default) and return it.

    ``svg=True``/``pdf=True`` also write the SVG/PDF next to it (same stem).
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    if fmt not in FORMATS:
        raise ValueError(f"path must end in one of .png, .svg, .pdf; got {path.name!r}")
    formats = [fmt] + (["svg"] if svg else []) + (["pdf"] if pdf else [])
    render_figures(spec, path.with_suffix(""), formats)
    return path


def figure_svg(spec: FigureSpec) -> str:
    """The figure as an SVG document string (for inline HTML, e.g. notebooks)."""
    fig = draw_figure(spec)
    buffer = io.StringIO()
    try:
        with plt.rc_context(_RC):
            _save(fig, buffer, "svg")
    finally:
        plt.close(fig)
    return buffer.getvalue()
