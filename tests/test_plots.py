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


def test_a_styled_run_keeps_its_look_on_both_curves_and_in_the_legend_and_the_others_share_the_palette():
    history = {"loss": [1.0, 0.6, 0.5], "val_loss": [1.1, 0.8, 0.7]}
    runs = {"a": history, "base": history, "b": history}
    fig = plots.learning_curves(runs, metrics=("loss",), styles={"base": {"color": "black", "linewidth": 3}},
                                legend_note="base: black")
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines()]
    colors = [matplotlib.colors.to_hex(line.get_color()) for line in lines]   # a, a-val, base, base-val, b, b-val
    assert colors[2] == colors[3] == "#000000" and lines[2].get_linewidth() == lines[3].get_linewidth() == 3
    assert [line.get_linestyle() for line in lines[2:4]] == ["-", "--"]      # train / validation still told apart
    palette = [matplotlib.colors.to_hex(c) for c in plots.run_colors(2)]
    assert [colors[0], colors[4]] == palette                                  # the base took no palette colour
    legend = ax.get_legend()
    handle = legend.legend_handles[[t.get_text() for t in legend.get_texts()].index("base")]
    assert matplotlib.colors.to_hex(handle.get_color()) == "#000000"
    assert legend.get_title().get_text().endswith("base: black")


@pytest.mark.parametrize("limits, expected", [
    ((0.35, 2.6), [0.5, 1, 2]),                      # under two decades: plain 1-2-3-5 numbers
    ((1e-100, 1e100), [10.0 ** k for k in range(-100, 101, 50)]),   # 200 decades: every 50th power of ten
    ((1e-3, 1e3), [10.0 ** k for k in range(-3, 4)]),
])
def test_log_ticks_are_round_numbers_within_the_limits_and_few(limits, expected):
    fig, ax = plt.subplots()
    ax.semilogy([0, 1], limits)
    ax.set_ylim(limits)
    plots.log_ticks(ax, most=8)
    ticks = list(ax.get_yticks())
    assert len(ticks) <= 8 and ax.get_ylim() == pytest.approx(limits)
    assert all(t in ticks for t in expected) and all(limits[0] <= t <= limits[1] for t in ticks)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    if limits[1] / limits[0] < 100:
        assert "1" in labels and "0.5" in labels   # plain numbers, not 5×10⁻¹
    assert len(ax.yaxis.get_minor_locator().tick_values(*limits)) == 0


def test_the_reference_legend_of_a_bar_chart_covers_no_bar():
    values = {"none": 0.51, "L2": 0.47, "dropout": 0.40, "batch norm": 0.55, "augmentation": 0.69}
    fig = plots.bar_compare(values, ylabel="test accuracy", reference=0.712,
                            reference_label="Report 003 (no regularization)")
    ax = fig.axes[0]
    legend = _bbox(fig, ax.get_legend())
    for bar in ax.patches:
        assert not legend.overlaps(_bbox(fig, bar))
    assert legend.x1 <= fig.bbox.x1 + 1


def test_bar_values_never_cross_the_reference_line():
    values = {"softmax": 0.922, "softplus": 0.919, "tiny": 0.05}
    fig = plots.bar_compare(values, ylabel="accuracy", reference=0.922, reference_label="softmax", xmax=1.0)
    ax = fig.axes[0]
    assert ax.get_xlim() == (0, 1.0)
    fig.canvas.draw()
    line = _bbox(fig, ax.get_lines()[0])
    labels = {t.get_text().strip(): t for t in ax.texts}
    for name in ("0.922", "0.919"):   # long bars: the value sits inside, at the base, in white
        assert labels[name].get_position()[0] == 0 and labels[name].get_color() == "white"
        assert not _bbox(fig, labels[name]).overlaps(line)
    assert labels["0.050"].get_position()[0] == 0.05 and labels["0.050"].get_color() == "black"
    plain = plots.bar_compare(values, ylabel="accuracy")   # no reference: every value after its bar
    assert [t.get_position()[0] for t in plain.axes[0].texts] == [0.922, 0.919, 0.05]
    wide = plots.bar_compare(values, ylabel="accuracy", fmt="{:.6f}")   # long labels after the longest bars
    assert all(_bbox(wide, t).x1 <= wide.bbox.x1 for t in wide.axes[0].texts)   # inside the figure, not cut off


def test_bar_values_stay_clear_of_a_reference_line_near_the_base():
    values = {"zero": 0.113, "normal σ=1e-4": 0.902, "He": 0.937}
    fig = plots.bar_compare(values, ylabel="accuracy", reference=0.04, reference_label="a line at 0.04", xmax=1.0)
    ax = fig.axes[0]
    line = _bbox(fig, ax.get_lines()[0])
    labels = {t.get_text().strip(): t for t in ax.texts}
    assert set(labels) == {"0.113", "0.902", "0.937"}
    for name in ("0.902", "0.937"):   # inside the long bars, at their ends, since the line runs at the base
        assert labels[name].get_position()[0] == values["He" if name == "0.937" else "normal σ=1e-4"]
        assert labels[name].get_color() == "white" and labels[name].get_ha() == "right"
    for label in labels.values():
        assert not _bbox(fig, label).overlaps(line)


def test_histograms_show_ticks_on_every_panel_and_use_a_log_scale_only_over_a_decade():
    rng = np.random.default_rng(0)
    arrays = {"wide": rng.normal(size=20_000), "narrow": rng.uniform(0, 1, 20_000), "bias": rng.normal(0, 0.02, 32)}
    fig = plots.histograms(arrays, ncols=2, sharex=True, logy=True)
    wide, narrow, bias = fig.axes[:3]
    assert wide.get_yscale() == "log" and narrow.get_yscale() == "linear"
    assert wide.get_ylim()[0] == 0.5   # bars of one or two counts stand clear of the axis
    fig.canvas.draw()
    for ax in (wide, narrow, bias):
        labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        assert labels, f"panel {ax.get_title()!r} shows no tick numbers"
        assert len(ax.get_xticks()) <= 7
    assert (wide.get_ylabel(), narrow.get_ylabel(), bias.get_ylabel()) == ("count", "", "count")   # first column


# --- what each figure shows: the numbers and labels a reader reads off it ---------------------


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_run_colors_are_distinct_for_few_runs_and_a_scale_for_many():
    few = plots.run_colors(4)
    assert few.shape == (4, 4) and len({tuple(c) for c in few}) == 4
    many = plots.run_colors(14)
    assert many.shape == (14, 4) and len({tuple(c) for c in many}) == 14


def test_image_grid_shows_each_image_once_with_its_title_and_blank_panels_after():
    images = np.arange(5 * 4 * 4, dtype=float).reshape(5, 4, 4, 1)
    fig = plots.image_grid(images, [f"#{i}" for i in range(5)], ncols=3, title="five")
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(shown) == 5                   # 2 rows of 3; the sixth is empty
    assert [ax.get_title() for ax in shown] == ["#0", "#1", "#2", "#3", "#4"]
    np.testing.assert_array_equal(shown[3].images[0].get_array(), images[3, ..., 0])
    assert fig._suptitle.get_text() == "five"
    rgb = plots.image_grid(np.zeros((2, 4, 4, 3)), ncols=2)
    assert rgb.axes[0].images[0].get_array().shape == (4, 4, 3)


def test_line_panels_give_a_label_one_colour_in_every_panel_and_log_only_where_asked():
    panels = {"mean": {"relu": [1, 2, 3], "tanh": [3, 2, 1]}, "gradient": {"tanh": [1e-1, 1e-3, 1e-5], "relu": [1, 1, 1]}}
    fig = plots.line_panels(panels, logy=("gradient",), hlines={"mean": 2.0}, ylabels=["value", "norm"])
    mean, gradient = fig.axes[:2]
    color = {ax.get_title(): {line.get_label(): line.get_color() for line in ax.lines if not line.get_label().startswith("_")}
             for ax in (mean, gradient)}
    assert color["mean"]["relu"] is not None and np.allclose(color["mean"]["relu"], color["gradient"]["relu"])
    assert not np.allclose(color["mean"]["relu"], color["mean"]["tanh"])
    assert mean.get_yscale() == "linear" and gradient.get_yscale() == "log"
    assert any(np.allclose(line.get_ydata(), 2.0) for line in mean.lines)      # the reference line
    assert (mean.get_ylabel(), gradient.get_ylabel()) == ("value", "norm")
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["relu", "tanh"]   # one legend, each label once
    single = plots.line_panels({"error": {"minutes": [3, 2, 1]}, "share": {"minutes": [0.1, 0.2, 0.3]}})
    assert single.legends == []   # one line per panel: the titles say it, a one-entry legend would not


def test_heatmap_writes_each_cell_and_nan_as_nan_and_labels_shared_rows_once():
    import pandas as pd

    left = pd.DataFrame([[0.5, np.nan], [0.25, 1.0]], index=["sigmoid", "relu"], columns=[2, 10])
    right = left * 2
    fig = plots.heatmap({"SGD": left, "Adam": right}, fmt="{:.2f}", colorbar="accuracy")
    sgd, adam = (next(ax for ax in fig.axes if ax.get_title() == name) for name in ("SGD", "Adam"))
    bars = [ax for ax in fig.axes if ax not in (sgd, adam)]
    assert sorted(_texts(sgd)) == sorted(["0.50", "nan", "0.25", "1.00"])
    assert sorted(_texts(adam)) == sorted(["1.00", "nan", "0.50", "2.00"])
    assert [t.get_text() for t in sgd.get_yticklabels()] == ["sigmoid", "relu"]
    assert [t.get_text() for t in adam.get_yticklabels()] == ["", ""]
    assert len(bars) == 2 and all(bar.get_ylabel() == "accuracy" for bar in bars)


def test_mean_std_lines_draw_error_bars_of_the_given_width_and_the_references():
    fig = plots.mean_std_lines([1, 2, 3], {"CNN": ([0.9, 0.8, 0.7], [0.01, 0.02, 0.03])}, xlabel="patch",
                               ylabel="accuracy", references={"chance": 0.1}, xticklabels=["a", "b", "c"])
    ax = fig.axes[0]
    bars = ax.containers[0]
    np.testing.assert_allclose(np.asarray(bars.lines[0].get_ydata(), dtype=float), [0.9, 0.8, 0.7])
    segments = bars.lines[2][0].get_segments()
    np.testing.assert_allclose([s[1][1] - s[0][1] for s in segments], [0.02, 0.04, 0.06])   # ±1 std
    chance = [line for line in ax.lines if line.get_label() == "chance"]
    assert len(chance) == 1 and np.allclose(chance[0].get_ydata(), 0.1)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"CNN", "chance"}


def test_confusion_prints_counts_colours_row_shares_and_labels_the_axes():
    cm = np.array([[8, 2], [1, 9]])
    fig = plots.confusion(cm, ["cat", "dog"])
    ax = fig.axes[0]
    assert _texts(ax) == ["8", "2", "1", "9"]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.8, 0.2], [0.1, 0.9]])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog"]
    counts = plots.confusion(cm, ["cat", "dog"], normalize=False)
    np.testing.assert_array_equal(counts.axes[0].images[0].get_array(), cm)
    assert ax.images[0].get_clim() == (0, 0.9)   # the scale ends at the largest share
    guessing = plots.confusion(np.array([[4, 6], [6, 4]]), ["cat", "dog"])
    assert guessing.axes[0].images[0].get_clim() == (0, 0.6)   # a poor model is not drawn pale


def test_predictions_title_truth_prediction_and_probability_red_when_wrong():
    x = np.zeros((3, 4, 4, 1))
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
    fig = plots.predictions(x, [0, 1, -1, 2], np.array([0, 0, 1]), probs, ["cat", "dog"], ncols=2,
                            row_labels=["first", "second"])
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in titled] == ["cat → cat\np = 0.90", "cat → dog\np = 0.70", "dog → cat\np = 0.60"]
    red = matplotlib.colors.to_rgba("crimson")
    assert [matplotlib.colors.to_rgba(ax.title.get_color()) == red for ax in titled] == [False, True, True]
    assert not fig.axes[2].images                                  # index -1: an empty panel
    assert [t.get_text() for t in fig.axes[0].texts + fig.axes[2].texts] == ["first", "second"]


def test_filter_and_feature_map_panels_are_labelled_legibly_and_filters_wrap_at_ncols():
    kernel = np.random.default_rng(0).normal(size=(3, 3, 3, 16))
    fig = plots.filters(kernel, ncols=8)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 16 and len(fig.axes) == 16   # two rows of 8
    assert all(ax.title.get_fontsize() >= 9 for ax in shown)
    maps = {"conv_0": np.random.default_rng(1).random((8, 8, 4))}
    fm = plots.feature_maps(maps, np.zeros((8, 8, 3)), max_channels=4)
    assert all(ax.title.get_fontsize() >= 9 for ax in fm.axes if ax.get_title())


def test_log_ticks_leave_a_range_too_narrow_for_two_round_numbers_to_matplotlib():
    fig, ax = plt.subplots()
    ax.semilogy([0, 1], [0.36, 0.39])
    ax.set_ylim(0.36, 0.39)
    before = list(ax.get_yticks())
    plots.log_ticks(ax)
    assert list(ax.get_yticks()) == before   # not an axis without a single number


def test_figures_asked_to_draw_nothing_or_given_a_label_per_panel_of_the_wrong_length_say_so():
    with pytest.raises(ValueError, match="nothing to plot: no arrays"):
        plots.histograms({})
    with pytest.raises(ValueError, match="nothing to plot: no images"):
        plots.image_grid(np.zeros((0, 8, 8)))
    panels = {"a": {"x": [1, 2]}, "b": {"x": [2, 1]}}
    with pytest.raises(ValueError, match="ylabels: 1 given for 2 panels"):
        plots.line_panels(panels, ylabels=["only one"])
    import pandas as pd

    tables = {"a": pd.DataFrame([[1.0]]), "b": pd.DataFrame([[2.0]])}
    with pytest.raises(ValueError, match="colorbar: 3 given for 2 panels"):
        plots.heatmap(tables, colorbar=["x", "y", "z"])


def test_dot_compare_colours_each_variant_by_the_noise_rule_and_zooms_in():
    from nnlab.claims import accuracy_noise_margin

    values = {"base": 0.80, "a bit better": 0.81, "far better": 0.84, "far worse": 0.75}
    fig = plots.dot_compare(values, baseline="base", n_test=2000, xlabel="test accuracy")
    ax = fig.axes[0]
    dots = {ax.get_yticklabels()[round(line.get_ydata()[0])].get_text(): line.get_color()
            for line in ax.get_lines() if line.get_marker() == "o"}
    assert dots == {"base": "black", "a bit better": plots.NOISE_COLORS["within the noise"],
                    "far better": plots.NOISE_COLORS["ahead"], "far worse": plots.NOISE_COLORS["behind"]}
    band = accuracy_noise_margin(0.8, 0.8, 2000)
    (patch,) = ax.patches
    x0, x1 = patch.get_x(), patch.get_x() + patch.get_width()
    assert np.isclose(x0, 0.8 - band) and np.isclose(x1, 0.8 + band)
    lo, hi = ax.get_xlim()
    assert 0.7 < lo < 0.75 and 0.84 < hi < 0.9          # zoomed to the values, not from 0
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:4] == ["baseline", "ahead", "within the noise", "behind"] and "2,000 test images" in legend[-1]
    far = plots.dot_compare(values, baseline="base", n_test=2000, xlabel="x", reference=0.95, reference_label="Report 9")
    (line,) = [l for l in far.axes[0].get_lines() if l.get_linestyle() == ":"]
    assert line.get_xdata()[0] == 0.95 and far.axes[0].get_xlim()[1] > 0.95   # the axis stretches to show it
    assert [t.get_text() for t in far.legends[0].get_texts()][-1] == "Report 9"
    named = plots.dot_compare(values, baseline="base", n_test=2000, xlabel="x", baseline_label="chosen trial")
    texts = [t.get_text() for t in named.legends[0].get_texts()]
    assert texts[0] == "chosen trial" and texts[-1].startswith("chosen trial ± ") and "baseline" not in texts
    with pytest.raises(ValueError, match="baseline 'nope'"):
        plots.dot_compare(values, baseline="nope", n_test=2000, xlabel="x")
    with pytest.raises(ValueError, match="positive number"):
        plots.dot_compare(values, baseline="base", n_test=0, xlabel="x")
