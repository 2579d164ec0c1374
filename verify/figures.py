"""Render :class:`~dln_verify.verify.claim.FigureSpec` records to PNG with matplotlib (Agg
backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dln_verify.verify.claim import FigureSpec  # noqa: E402

__all__ = ["render_figure"]

_STYLES = {
    "line": {"linestyle": "-", "marker": None, "linewidth": 1.6},
    "points": {"linestyle": "none", "marker": "o", "markersize": 4},
    "reference": {"linestyle": "--", "marker": None, "linewidth": 1.4, "color": "black"},
    "linepoints": {"linestyle": "-", "marker": "o", "markersize": 3, "linewidth": 1.2},
}


def render_figure(spec: FigureSpec, path: Path) -> Path:
    """Draw ``spec`` into ``path`` (PNG) and return the path."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    n_ref = 0
    for series in spec.series:
        style = dict(_STYLES.get(series.style, _STYLES["line"]))
        if series.style == "reference":
            style["linestyle"] = ("--", ":", "-.")[n_ref % 3]
            n_ref += 1
        x = np.asarray(series.x, dtype=float)
        y = np.asarray(series.y, dtype=float)
        if spec.yscale == "log":
            y = np.where(y > 0, y, np.nan)
        if spec.xscale == "log":
            x = np.where(x > 0, x, np.nan)
        ax.plot(x, y, label=series.label or None, **style)
    ax.set_xscale(spec.xscale)
    ax.set_yscale(spec.yscale)
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.set_title(spec.title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    labels = [s.label for s in spec.series if s.label]
    if labels:
        ax.legend(fontsize=7, ncol=2 if len(labels) > 6 else 1)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
