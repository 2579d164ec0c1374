"""Figures: files (PNG, SVG, PDF on request), determinism, legends outside the data, readable
ticks, distinct reference lines, grouping of series by label."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from dln_verify.verify.claim import Evidence, FigureSpec, Series
from dln_verify.verify.figures import (
    DATA_COLOURS,
    REFERENCE_COLOURS,
    draw_figure,
    figure_svg,
    legend_overlaps_axes,
    render_figure,
    render_figures,
    tick_labels_overlap,
)


def _lines(fig):
    return fig.axes[0].get_lines()


def _legend_texts(fig):
    return [t.get_text() for t in fig.legends[0].get_texts()] if fig.legends else []


@pytest.fixture
def saddle_like():
    """32 labelled curves: 8 coordinates x 3 alphas + 8 staircases (today's saddle figure)."""
    tau = np.geomspace(0.3, 60, 50)
    series = [Series(f"β_{j}, α={a}", tau, np.tanh(tau - j) * (j + 1) / 8)
              for a in ("1e-10", "1e-40", "1e-80") for j in range(8)]
    series += [Series(f"β°_{j} (Algorithm 1)", tau, np.sign(tau - j) * (j + 1) / 8, "reference")
               for j in range(8)]
    return FigureSpec("s", "Coordinates", "τ", "β_j", tuple(series), xscale="log")


def test_png_and_svg_are_written_and_deterministic(tmp_path):
    spec = FigureSpec("f", "t", "x", "y", (Series("a", [1, 2, 3], [3, 1, 2]),))
    first = render_figures(spec, tmp_path / "one", ("png", "svg", "pdf"))
    second = render_figures(spec, tmp_path / "two", ("png", "svg", "pdf"))
    assert set(first) == {"png", "svg", "pdf"}
    assert first["png"].read_bytes()[:4] == b"\x89PNG"
    assert first["svg"].read_text().lstrip().startswith("<?xml")
    assert first["pdf"].read_bytes()[:5] == b"%PDF-"
    for fmt in first:
        assert first[fmt].read_bytes() == second[fmt].read_bytes(), fmt
    assert figure_svg(spec) == first["svg"].read_text()


def test_render_figure_keeps_its_path_api(tmp_path):
    spec = FigureSpec("f", "t", "x", "y", (Series("a", [1, 2], [1, 2]),))
    path = render_figure(spec, tmp_path / "f.png", svg=True, pdf=True)
    assert path == tmp_path / "f.png" and path.is_file()
    assert (tmp_path / "f.svg").is_file() and (tmp_path / "f.pdf").is_file()
    with pytest.raises(ValueError, match="formats"):
        render_figures(spec, tmp_path / "g", ("gif",))
    with pytest.raises(ValueError, match="path must end"):
        render_figure(spec, tmp_path / "f.jpeg")
    with pytest.raises(TypeError, match="FigureSpec"):
        draw_figure({"name": "f"})


def test_series_sharing_a_label_share_a_colour_and_one_legend_entry():
    x = [1.0, 2.0, 3.0]
    spec = FigureSpec("g", "t", "x", "y", (
        Series("α = 0.1", x, [1, 2, 3]), Series("α = 0.1", x, [2, 3, 4]),
        Series("α = 0.01", x, [3, 4, 5]), Series("α = 0.01", x, [4, 5, 6]),
        Series("staircase", x, [1, 1, 1], "reference"),
        Series("staircase", x, [2, 2, 2], "reference")))
    fig = draw_figure(spec)
    try:
        colours = [to_hex(line.get_color()) for line in _lines(fig)]
        assert colours[0] == colours[1] != colours[2] == colours[3]
        assert colours[4] == colours[5] and colours[4] not in DATA_COLOURS
        assert _legend_texts(fig) == ["α = 0.1", "α = 0.01", "staircase"]
    finally:
        plt.close(fig)


def test_legend_never_covers_data(saddle_like):
    few = FigureSpec("f", "t", "x", "y", tuple(Series(f"s{k}", [0, 1], [k, k + 1])
                                               for k in range(3)))
    for spec in (few, saddle_like):
        fig = draw_figure(spec)
        try:
            assert fig.legends and not fig.axes[0].get_legend()
            assert not legend_overlaps_axes(fig)
        finally:
            plt.close(fig)


def test_legend_overlap_check_can_fail():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="inside")
    ax.legend(loc="center")
    try:
        assert legend_overlaps_axes(fig)
    finally:
        plt.close(fig)


def test_reference_lines_are_distinct_and_not_all_black():
    x = [0.02, 0.05, 0.1, 0.2, 0.5]
    spec = FigureSpec("o", "Path error", "1 − β_m", "error", (
        Series("data", x, x, "linepoints"),
        Series("theory: slope 1", x, x, "reference"),
        Series("theory: slope 2", x, np.square(x), "reference")), xscale="log", yscale="log")
    fig = draw_figure(spec)
    try:
        data, ref1, ref2 = _lines(fig)
        assert to_hex(ref1.get_color()) == REFERENCE_COLOURS[0]
        assert to_hex(ref1.get_color()) != to_hex(ref2.get_color())
        assert ref1.get_linestyle() != ref2.get_linestyle() != "-"
        assert to_hex(ref2.get_color()) not in DATA_COLOURS
        assert ref1.get_zorder() > data.get_zorder()  # theory drawn on top of the data
    finally:
        plt.close(fig)


def test_reference_labelled_like_a_data_series_takes_its_colour():
    x = [10.0, 100.0, 1000.0]
    spec = FigureSpec("m", "angle", "log t", "angle", (
        Series("quadratic", x, [0.1, 0.05, 0.03]), Series("cubic", x, [0.2, 0.1, 0.05]),
        Series("quadratic", x, [0.11, 0.05, 0.03], "reference"),
        Series("cubic", x, [0.21, 0.1, 0.05], "reference")), xscale="log", yscale="log")
    fig = draw_figure(spec)
    try:
        quad, cubic, quad_ref, cubic_ref = _lines(fig)
        assert quad_ref.get_color() == quad.get_color() and quad_ref.get_linestyle() == "--"
        assert cubic_ref.get_color() == cubic.get_color()
        assert _legend_texts(fig) == ["quadratic", "cubic"]
    finally:
        plt.close(fig)


@pytest.mark.parametrize(("lo", "hi"), [(0.02, 0.5), (0.11, 0.19), (1e-16, 1.0), (3.0, 7.0)])
def test_log_ticks_are_readable(lo, hi):
    """Spans under one decade used to get overlapping minor-tick labels (momentum order)."""
    x = np.geomspace(lo, hi, 5)
    spec = FigureSpec("o", "t", "1 − β_m", "err", (Series("a", x, x ** 2, "linepoints"),),
                      xscale="log", yscale="log")
    fig = draw_figure(spec)
    try:
        assert not tick_labels_overlap(fig)
        labelled = [t for t in fig.axes[0].xaxis.get_ticklabels() if t.get_text()]
        assert len(labelled) >= 2  # still labelled ticks to read values from
    finally:
        plt.close(fig)


def test_tick_overlap_check_can_fail():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_xticks(np.arange(30))
    ax.set_xticklabels([f"{k}.0000" for k in range(30)])
    try:
        assert tick_labels_overlap(fig)
    finally:
        plt.close(fig)


def test_linear_ticks_are_limited():
    spec = FigureSpec("l", "t", "x", "y", (Series("a", np.linspace(0, 12345.678, 9),
                                                  np.linspace(-1e-3, 1e-3, 9)),))
    fig = draw_figure(spec)
    try:
        assert not tick_labels_overlap(fig)
        assert len(fig.axes[0].get_xticks()) <= 9
    finally:
        plt.close(fig)


def test_nonpositive_values_on_log_axes_are_dropped_not_drawn():
    spec = FigureSpec("n", "t", "x", "y", (Series("a", [0, 1, 2, 3], [0, -1, 1, 2]),),
                      xscale="log", yscale="log")
    fig = draw_figure(spec)
    try:
        y = np.asarray(_lines(fig)[0].get_ydata(), dtype=float)
        assert np.isnan(y[:2]).all() and (y[2:] > 0).all()
    finally:
        plt.close(fig)


def test_figure_record_is_renderer_independent(tmp_path):
    """The record round-trips through JSON and draws the same file (no renderer state)."""
    spec = FigureSpec("r", "t", "x", "y", (Series("a", [1.0, 2.0], [3.0, float("nan")]),
                                           Series("b", [1.0, 2.0], [1.0, 2.0], "reference")),
                      caption="c")
    ev = Evidence("c", "t", "tight", "pass", True, "m", {}, {}, 0, "quick", {}, (), "", "",
                  figures=(spec,))
    back = Evidence.from_json_dict(ev.to_json_dict()).figures[0]
    a = render_figures(spec, tmp_path / "a", ("svg",))["svg"].read_bytes()
    b = render_figures(back, tmp_path / "b", ("svg",))["svg"].read_bytes()
    assert a == b
