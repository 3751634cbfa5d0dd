"""Layout checks of nnlab.plots: what a reader needs to see is on the figure and not covered."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnlab import plots  # noqa: E402

LONG_NAMES = ["regression (common-sense loss)", "24 classes", "720 classes", "multi-head (hour class + minutes)",
              "periodic (sin, cos)"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _bbox(fig, artist):
    fig.canvas.draw()
    return artist.get_window_extent(fig.canvas.get_renderer())


def test_a_legend_of_long_run_names_leaves_the_panel_its_width():
    runs = {name: {"val_time_error": list(30 * np.exp(-np.arange(5) / 2) + i)} for i, name in enumerate(LONG_NAMES)}
    fig = plots.learning_curves(runs, metrics=("val_time_error",), validation=False)
    ax = fig.axes[0]
    panel, legend = _bbox(fig, ax), _bbox(fig, ax.get_legend())
    assert panel.width / fig.dpi >= 3.0            # inches: the panel is not squeezed by the legend
    assert legend.x0 >= panel.x1                   # the legend sits beside the panel, not on it
    assert legend.x1 <= fig.bbox.x1 + 1            # and inside the figure


def test_the_reference_legend_of_a_bar_chart_covers_no_bar():
    values = {"none": 0.51, "L2": 0.47, "dropout": 0.40, "batch norm": 0.55, "augmentation": 0.69}
    fig = plots.bar_compare(values, ylabel="test accuracy", reference=0.712,
                            reference_label="Report 003 (no regularization)")
    ax = fig.axes[0]
    legend = _bbox(fig, ax.get_legend())
    for bar in ax.patches:
        assert not legend.overlaps(_bbox(fig, bar))
    assert legend.x1 <= fig.bbox.x1 + 1


def test_histograms_show_ticks_on_every_panel_and_use_a_log_scale_only_over_a_decade():
    rng = np.random.default_rng(0)
    arrays = {"wide": rng.normal(size=20_000), "narrow": rng.uniform(0, 1, 20_000), "bias": rng.normal(0, 0.02, 32)}
    fig = plots.histograms(arrays, ncols=2, sharex=True, logy=True)
    wide, narrow, bias = fig.axes[:3]
    assert wide.get_yscale() == "log" and narrow.get_yscale() == "linear"
    fig.canvas.draw()
    for ax in (wide, narrow, bias):
        labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        assert labels, f"panel {ax.get_title()!r} shows no tick numbers"
        assert len(ax.get_xticks()) <= 7
