"""Figures that share one look across the book.

Introduced in lab 1 (Initialization). Every sweep, learning curve and image grid in the
book is drawn by a function here, so a reader learns to read one kind of plot once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

STYLE: dict[str, Any] = {
    "figure.figsize": (8, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "image.cmap": "gray",
}

plt.rcParams.update(STYLE)

METRIC_LABELS = {
    "loss": "loss",
    "accuracy": "accuracy",
    "val_loss": "validation loss",
    "val_accuracy": "validation accuracy",
    "val_time_error": "validation error (minutes)",  # lab 6: mean common-sense error of a clock reader
}


def _history(run: Any) -> Mapping[str, Sequence[float]]:
    return run.history if hasattr(run, "history") else run


def _one_per_panel(values: str | Sequence[str], n_panels: int, what: str) -> list[str]:
    """A setting given once for all panels, or once per panel (a list of the panels' length)."""
    if isinstance(values, str):
        return [values] * n_panels
    values = list(values)
    if len(values) != n_panels:
        raise ValueError(f"{what}: {len(values)} given for {n_panels} panels; give one per panel, or one string for all")
    return values


def _require_some(n: int, what: str) -> None:
    """A clear error for a figure asked to draw nothing, where Matplotlib would fail obscurely."""
    if n == 0:
        raise ValueError(f"nothing to plot: no {what} given")


def learning_curves(
    runs: Mapping[str, Any],
    metrics: Sequence[str] = ("loss", "accuracy"),
    *,
    title: str | None = None,
    validation: bool = True,
    logy: Sequence[str] = (),
    styles: Mapping[str, Mapping[str, Any]] | None = None,
    legend_note: str | None = None,
) -> plt.Figure:
    """One panel per metric; one colour per run; solid = training, dashed = validation.

    ``runs`` maps a label to a :class:`~nnlab.training.Run` or to a plain history dict. The
    legend sits right of the panels in a column of its own, as wide as the longest label, so
    that long run names do not squeeze the panels.

    ``styles`` gives some runs their own look, as Matplotlib line settings applied to both of
    their curves: ``{"base": {"color": "black"}}`` keeps a reference run one colour from figure
    to figure (the other runs share the palette), ``{"kl": {"marker": "o", "linewidth": 1}}``
    shows a curve that lies on top of another (leave the line style alone: it tells training
    from validation). ``legend_note`` adds a line to the legend's title. A metric named in
    ``logy`` gets a log axis labelled by :func:`log_ticks`.
    """
    styles = styles or {}
    longest = max([len(str(label)) for label in runs] + [18 if validation else 0]
                  + [len(line) for line in (legend_note or "").splitlines()])
    legend_width = min(4.0, 0.8 + 0.075 * longest)   # inches, for 9–10 pt text
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics) + legend_width, 3.4), squeeze=False)
    palette = iter(run_colors(sum("color" not in styles.get(label, {}) for label in runs)))
    looks = {}   # run label -> its line settings: a palette colour unless its style names one
    for label in runs:
        style = dict(styles.get(label, {}))
        looks[label] = style if "color" in style else {"color": next(palette), **style}
    for ax, metric in zip(axes[0], metrics):
        for label, run in runs.items():
            hist = _history(run)
            for key, extra in ((metric, {"label": label}), (f"val_{metric}", {"ls": "--"})):
                if key in hist and (validation or key == metric):
                    epochs = np.arange(1, len(hist[key]) + 1)
                    few_points = {"marker": "."} if len(epochs) < 3 else {}
                    ax.plot(epochs, hist[key], **{**few_points, **looks[label], **extra})
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        if metric in logy:
            ax.set_yscale("log")
            log_ticks(ax)
    legend_title = "solid: train\ndashed: validation" if validation else None
    if legend_note:
        legend_title = f"{legend_title}\n{legend_note}" if legend_title else legend_note
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, title=legend_title)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def log_ticks(ax: plt.Axes, axis: str = "y", most: int = 8) -> None:
    """Label a log axis with plain round numbers, at most ``most`` of them.

    Over less than two decades (a loss from 0.3 to 3): 1, 1.5, 2, 3, 4, 5 and 7 times powers of
    ten, or fewer of them (1, 2, 3, 5; 1, 2, 5; …) to keep within ``most``, written as plain
    numbers (0.3, 0.5, 1, 2) rather than 3×10⁻¹. Over more: powers of ten only, every decade
    or every 2, 5, 10, 20, … decades (a norm from 10⁻¹⁰⁰ to 10¹⁰⁰), with the minor ticks
    removed. A range too narrow for two such numbers keeps Matplotlib's ticks.
    Call it after the data are drawn: it reads the axis's limits.
    """
    limits = ax.get_ylim() if axis == "y" else ax.get_xlim()
    lo, hi = np.log10(np.clip(sorted(limits), 1e-300, None))
    target = ax.yaxis if axis == "y" else ax.xaxis
    set_ticks = ax.set_yticks if axis == "y" else ax.set_xticks
    if hi - lo < 2:
        mantissas = next(m for m in ((1, 1.5, 2, 3, 4, 5, 7), (1, 2, 3, 5), (1, 2, 5), (1, 3), (1,))
                         if len(_log_grid(lo, hi, m)) <= most)
        grid = _log_grid(lo, hi, mantissas)
        if len(grid) < 2:   # a range too narrow for two round numbers: Matplotlib's own ticks say more
            return
        set_ticks(grid, [f"{v:g}" for v in grid])
    else:
        step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500) if (hi - lo) / s <= most)
        set_ticks(10.0 ** (step * np.arange(np.ceil(lo / step), np.floor(hi / step) + 1)))
    target.set_minor_locator(plt.NullLocator())
    (ax.set_ylim if axis == "y" else ax.set_xlim)(limits)


def _log_grid(lo: float, hi: float, mantissas: Sequence[float]) -> list[float]:
    """Every ``m × 10^k`` (m in ``mantissas``) between ``10^lo`` and ``10^hi``, rounded to 3 digits."""
    values = [float(f"{m * 10.0 ** k:.3g}") for k in range(int(np.floor(lo)), int(np.ceil(hi)) + 1) for m in mantissas]
    return [v for v in values if 10.0 ** lo <= v <= 10.0 ** hi]


def run_colors(n: int) -> np.ndarray:
    """Distinct colours for ``n`` compared runs: a qualitative palette up to 10, a colour scale beyond."""
    if n <= 10:
        return plt.cm.tab10(np.arange(max(n, 1)))
    return plt.cm.viridis(np.linspace(0, 0.9, n))


def bar_compare(
    values: Mapping[str, float],
    *,
    ylabel: str,
    title: str | None = None,
    reference: float | None = None,
    reference_label: str = "report",
    fmt: str = "{:.3f}",
    xmax: float | None = None,
) -> plt.Figure:
    """Horizontal bars for one number per variant, labelled, with an optional reference line.

    The bars start at 0, so their lengths compare (``xmax`` fixes the axis's right end, e.g.
    1 for accuracies). Each value is written after its bar; with a reference line, a long bar's
    value goes inside it in white, at its base — or at its end where the line runs near the
    base (chance, at 0.1) — so that line and number never cross.
    """
    legend_width = min(3.0, 0.8 + 0.075 * len(reference_label)) if reference is not None else 0.0
    fig, ax = plt.subplots(figsize=(7 + legend_width, 0.45 * len(values) + 1.2))
    names = list(values)
    nums = [values[n] for n in names]
    ax.barh(names, nums, color=plt.cm.viridis(0.45))
    if reference is not None:
        ax.axvline(reference, color="crimson", ls=":", label=reference_label)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)   # clear of bars and labels
    if xmax is not None:
        ax.set_xlim(0, xmax)
    ax.invert_yaxis()
    ax.set_xlabel(ylabel)
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    right = ax.get_xlim()[1]
    for y, v in enumerate(nums):
        text = " " + fmt.format(v)
        if reference is None or v <= 0.3 * right:
            ax.text(v, y, text, va="center", fontsize=8)
            continue
        for x, align in ((0, "left"), (v, "right")):   # inside the bar: at its base, else at its end
            label = ax.text(x, y, text + (" " if align == "right" else ""), ha=align, va="center", fontsize=8,
                            color="white")
            if not _crosses(label, reference):
                break
            label.remove()
        else:
            ax.text(v, y, text, va="center", fontsize=8)   # a short bar around the line: after it
    fig.tight_layout()   # again, now with the labels after the bars: the longest one must not be cut off
    return fig


NOISE_COLORS = {"ahead": "#1a7f37", "within the noise": "#8c959f", "behind": "#cf222e"}
"""Dot colours of :func:`dot_compare`: ahead of the baseline beyond the noise, within it, behind."""


def dot_compare(
    values: Mapping[str, float],
    *,
    baseline: str,
    n_test: int,
    xlabel: str,
    title: str | None = None,
    fmt: str = "{:.3f}",
    reference: float | None = None,
    reference_label: str = "report",
    sample: str = "test images",
    baseline_label: str = "baseline",
) -> plt.Figure:
    """Accuracies of several variants as dots on an axis zoomed to them, read against the noise.

    Introduced in lab 3 (a search's trials), for variants a few points apart, which bars from 0
    flatten. Every accuracy was measured on the same ``n_test`` images, so a variant is told
    apart from ``baseline`` only when their gap exceeds two standard errors of the difference
    (:func:`nnlab.claims.accuracy_noise_margin`, the rule of the labs' claims). The grey band
    is that margin around the baseline (for a variant as accurate as the baseline); each dot is
    coloured by its own margin: green ahead beyond the noise, grey within it, red behind. An
    optional ``reference`` (a report's figure) is a dotted crimson line, kept inside the axis.
    ``sample`` names what the ``n_test`` examples are, for the band's legend entry;
    ``baseline_label`` what the baseline is, in the legend (e.g. "chosen trial").
    """
    from nnlab.claims import accuracy_noise_margin, ahead_beyond_noise

    _require_some(len(values), "values")
    if baseline not in values:
        raise ValueError(f"baseline {baseline!r} is not one of the values: {list(values)}")
    base = values[baseline]
    band = accuracy_noise_margin(base, base, n_test)
    verdict = {True: "ahead", None: "within the noise", False: "behind"}
    names = list(values)
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(names) + 1.9))
    ax.axvspan(base - band, base + band, color="0.9", zorder=0,
               label=f"{baseline_label} ± {100 * band:.1f} points (the noise of {n_test:,} {sample})")
    ax.axvline(base, color="0.5", lw=1, zorder=1)
    seen = set()
    for y, name in enumerate(names):
        v = values[name]
        kind = verdict[ahead_beyond_noise(v - base, accuracy_noise_margin(base, v, n_test))]
        if name == baseline:
            kind = "baseline"
        color = "black" if kind == "baseline" else NOISE_COLORS[kind]
        legend = baseline_label if kind == "baseline" else kind
        ax.plot([v], [y], "o", color=color, ms=7, zorder=3, label=None if kind in seen else legend)
        seen.add(kind)
        ax.text(v, y - 0.28, fmt.format(v), ha="center", va="bottom", fontsize=7, color=color, zorder=4,
                bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.8))   # over the baseline line
    if reference is not None:
        ax.axvline(reference, color="crimson", ls=":", lw=1.5, zorder=2, label=reference_label)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_ylim(len(names) - 0.5, -0.9)   # room above the first dot for its value
    nums = np.array(list(values.values()) + ([] if reference is None else [reference]))
    lo, hi = min(nums.min(), base - band), max(nums.max(), base + band)
    pad = 0.08 * (hi - lo) or 0.01
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    handles, labels = ax.get_legend_handles_labels()
    kinds = (baseline_label, *NOISE_COLORS)
    order = [labels.index(k) for k in kinds if k in labels]
    order += [i for i, k in enumerate(labels) if k not in kinds]   # the band, then the reference
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower center", ncol=3, fontsize=8,
               frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout(rect=(0, 0.5 / fig.get_figheight(), 1, 1))   # half an inch below the axes for the legend
    return fig


def _crosses(label: plt.Text, x: float) -> bool:
    """Whether a text drawn on an axes covers the vertical line at data coordinate ``x``."""
    ax = label.axes
    box = label.get_window_extent(ax.figure.canvas.get_renderer())
    left, right = ax.transData.inverted().transform([(box.x0, 0), (box.x1, 0)])[:, 0]
    return left <= x <= right


def image_grid(
    images: np.ndarray,
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    size: float = 1.3,
    title: str | None = None,
    cmap: str = "gray",
) -> plt.Figure:
    """A grid of images (grayscale ``(n, h, w)`` or ``(n, h, w, 1)``, or RGB ``(n, h, w, 3)``)."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    n = len(images)
    _require_some(n, "images")
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap if images.ndim == 3 else None)
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def histograms(
    arrays: Mapping[str, np.ndarray],
    *,
    bins: int = 50,
    ncols: int = 4,
    xlabel: str = "value",
    ylabel: str = "count",
    title: str | None = None,
    sharex: bool = False,
    logy: bool = False,
) -> plt.Figure:
    """One histogram panel per named array (weights, activations, errors…).

    The panels of the first column carry ``ylabel``.
    ``bins`` is a count or the bin edges; ``logy`` draws counts on a log scale, so that
    rare values (a few large errors) stay visible next to a tall peak (added in lab 6) — in
    each panel whose counts span at least a decade (a narrower range reads better linear); the
    axis starts at 0.5, so a bar of a single count still shows.
    Every panel shows its own tick numbers, at most five on the x axis.
    """
    n = len(arrays)
    _require_some(n, "arrays")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.5 * nrows), squeeze=False, sharex=sharex)
    for k, (ax, (name, values)) in enumerate(zip(axes.flat, arrays.items())):
        counts, _, _ = ax.hist(np.ravel(values), bins=bins, color=plt.cm.viridis(0.35))
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(xlabel)
        if k % ncols == 0:
            ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.tick_params(axis="x", labelbottom=True, labelsize=8)
        nonzero = counts[counts > 0]
        if logy and len(nonzero) and nonzero.max() >= 10 * nonzero.min():
            ax.set_yscale("log")
            ax.set_ylim(bottom=0.5)   # a bar of one count rises a third of a decade, not a stub
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def line_panels(
    panels: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    x: Sequence[float] | None = None,
    xlabel: str = "layer",
    ylabels: str | Sequence[str] = "",
    logy: Sequence[str] = (),
    title: str | None = None,
    hlines: Mapping[str, float] | None = None,
    ncols: int | None = None,
) -> plt.Figure:
    """Several panels of curves that share an x axis: one panel per key, one line per label.

    Introduced in lab 2 (Activations), for activation functions and their derivatives and
    for per-layer statistics (fraction saturated or dead, gradient norm). ``panels`` maps a
    panel title to ``{label: y values}``; ``x`` is shared (default: 1, 2, … — layer numbers).
    ``logy`` names the panels drawn on a log scale (labelled by :func:`log_ticks`); ``hlines``
    adds a dotted reference line to the named panels. The same label gets the same colour in
    every panel; one legend below the panels names the labels (none when there is only one).
    """
    names = list(panels)
    _require_some(len(names), "panels")
    ncols = ncols or len(names)
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows), squeeze=False)
    labels = list(dict.fromkeys(label for lines in panels.values() for label in lines))
    colors = dict(zip(labels, run_colors(len(labels))))  # distinct colours: these labels are categories
    ylabel_list = _one_per_panel(ylabels, len(names), "ylabels")
    for ax, name, ylabel in zip(axes.flat, names, ylabel_list):
        for label, ys in panels[name].items():
            ys = np.asarray(ys, dtype=float)
            xs = np.arange(1, len(ys) + 1) if x is None else np.asarray(x)
            ax.plot(xs, ys, color=colors[label], label=label, marker="." if len(ys) <= 20 else None)
        if hlines and name in hlines:
            ax.axhline(hlines[name], color="0.35", ls=":", lw=1.2)   # grey: no curve of the colour cycle
        if name in logy:
            ax.set_yscale("log")
            log_ticks(ax)
        if x is None:
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    handles, labs = [], []
    for ax in axes.flat:  # one legend for the figure, every label once
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labs:
                handles.append(h)
                labs.append(lab)
    if len(labs) > 1:   # a single line needs no legend: the panel titles say what it is
        fig.legend(handles, labs, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(labs), 6))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def heatmap(
    tables: Any,
    *,
    title: str | None = None,
    fmt: str = "{:.2f}",
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: str | Sequence[str] = "",
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> plt.Figure:
    """A grid of results as coloured, annotated cells: rows × columns of a table.

    Introduced in lab 2 (Activations), for the activation × initialization × depth grid.
    ``tables`` is a pandas DataFrame (index = rows, columns = columns) or a mapping of
    panel titles to DataFrames, drawn side by side. ``fmt`` formats each cell's number
    (NaN cells read "nan"); ``colorbar`` labels each panel's colour bar; ``vmin``/``vmax``
    fix the colour scale (the same for every panel).
    """
    panels = dict(tables) if isinstance(tables, Mapping) else {"": tables}
    _require_some(len(panels), "tables")
    bars = _one_per_panel(colorbar, len(panels), "colorbar")
    first = next(iter(panels.values()))
    same_rows = all(list(t.index) == list(first.index) for t in panels.values())
    label_width = 0.09 * max(len(str(r)) for r in first.index) + 0.6
    panel_width = 1.6 + 0.95 * first.shape[1]
    fig, axes = plt.subplots(1, len(panels), figsize=(label_width + panel_width * len(panels),
                                                      0.42 * first.shape[0] + 1.7), squeeze=False)
    for k, (ax, (name, table), bar) in enumerate(zip(axes[0], panels.items(), bars)):
        values = np.asarray(table, dtype=float)
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
        lo, hi = image.get_clim()
        for (i, j), v in np.ndenumerate(values):
            shade = 0.5 if not np.isfinite(v) or hi == lo else (v - lo) / (hi - lo)
            ax.text(j, i, fmt.format(v) if np.isfinite(v) else "nan", ha="center", va="center", fontsize=8,
                    color="black" if shade > 0.55 else "white")
        ax.set_xticks(range(values.shape[1]), [str(c) for c in table.columns])
        ax.set_xlabel(xlabel if xlabel is not None else (table.columns.name or ""))
        if k == 0 or not same_rows:  # rows shared by every panel are labelled once, on the left
            ax.set_yticks(range(values.shape[0]), [str(r) for r in table.index])
            ax.set_ylabel(ylabel if ylabel is not None else (table.index.name or ""))
        else:
            ax.set_yticks(range(values.shape[0]), [""] * values.shape[0])
        ax.grid(False)
        if name:
            ax.set_title(name)
        fig.colorbar(image, ax=ax, label=bar, fraction=0.08, pad=0.03)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def mean_std_lines(
    x: Sequence[float],
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    xticklabels: Sequence[str] | None = None,
    references: Mapping[str, float] | None = None,
    logx: bool = False,
) -> plt.Figure:
    """One line per named series of ``(means, stds)`` over ``x``, with ±1 std error bars.

    Introduced in lab 4 (Permutations) for accuracy over several seeds against a knob.
    ``references`` draws labelled horizontal lines (e.g. another model's level, chance).
    """
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    colors = plt.cm.viridis(np.linspace(0, 0.8, max(len(series), 1)))
    for color, (label, (means, stds)) in zip(colors, series.items()):
        stds = np.nan_to_num(np.asarray(stds, dtype=float))
        ax.errorbar(x, means, yerr=stds, color=color, label=label, marker="o", capsize=3)
    line_styles = iter([":", "-.", "--"] * 4)
    for label, value in (references or {}).items():
        ax.axhline(value, color="crimson", ls=next(line_styles), lw=1, label=label)
    if logx:
        ax.set_xscale("log")
    if xticklabels is not None:
        ax.set_xticks(list(x))
        ax.set_xticklabels(list(xticklabels))
        ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def confusion(
    cm: np.ndarray,
    class_names: Sequence[str],
    *,
    normalize: bool = True,
    title: str | None = None,
    xlabel: str = "predicted class",
    ylabel: str = "true class",
) -> plt.Figure:
    """A confusion matrix: rows are true classes, columns predicted ones, each cell annotated.

    Introduced in lab 5b (Inside a CNN). ``normalize`` colours each row by its share (the
    per-class recall sits on the diagonal) and prints the counts. The colour scale ends at the
    largest share, so a model that spreads its answers (largest share 0.4) is not drawn pale.
    """
    cm = np.asarray(cm)
    shares = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(0.55 * n + 2.6, 0.5 * n + 1.8))
    top = shares.max() if shares.size and shares.max() > 0 else 1
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=top)
    for (i, j), count in np.ndenumerate(cm):
        ax.text(j, i, str(int(count)), ha="center", va="center", fontsize=7,
                color="white" if shares[i, j] > 0.6 * top else "black")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(False)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label="share of the true class" if normalize else "count")
    ax.set_title(title or "Confusion matrix (counts; colour = share of the row)")
    fig.tight_layout()
    return fig


PANEL_LABEL_SIZE = 9
"""Font size of the labels of small panels (filters, feature maps): at 6–7 pt they shrank to a
few pixels once a wide figure was scaled to the page's width."""


def filters(kernel: np.ndarray, *, max_filters: int = 32, max_inputs: int = 8, ncols: int = 16,
            title: str | None = None) -> plt.Figure:
    """The filters of one conv layer, a kernel of shape ``(k, k, c_in, c_out)``.

    Introduced in lab 5b (Inside a CNN). With 3 input channels each filter is drawn as one RGB
    image (rescaled to [0, 1] per filter; up to ``max_filters``, ``ncols`` to a row); with 1
    channel on a red–blue scale (0 = white). Deeper layers get one row per filter (the first 8)
    and one column per input channel (the first ``max_inputs``), on one shared red–blue scale.
    """
    kernel = np.asarray(kernel, dtype=float)
    k, _, c_in, c_out = kernel.shape
    if c_in in (1, 3):
        n = min(c_out, max_filters)
        ncols = min(n, ncols)
        nrows = int(np.ceil(n / ncols))
        fig, axes = plt.subplots(nrows, ncols, figsize=(0.75 * ncols + 0.3, 0.75 * nrows + 0.6), squeeze=False)
        for i, ax in enumerate(axes.flat):
            ax.axis("off")
            if i >= n:
                continue
            f = kernel[..., i]
            if c_in == 3:
                f = (f - f.min()) / (np.ptp(f) + 1e-12)
                ax.imshow(f, interpolation="nearest")
            else:
                lim = np.abs(f).max() + 1e-12
                ax.imshow(f[..., 0], cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_title(str(i), fontsize=PANEL_LABEL_SIZE)
    else:
        rows, cols = min(c_out, max_filters, 8), min(c_in, max_inputs)
        lim = np.abs(kernel[:, :, :cols, :rows]).max() + 1e-12
        fig, axes = plt.subplots(rows, cols, figsize=(0.7 * cols + 0.8, 0.7 * rows + 0.6), squeeze=False)
        for i in range(rows):
            for j in range(cols):
                ax = axes[i, j]
                ax.imshow(kernel[:, :, j, i], cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if i == rows - 1:
                    ax.set_xlabel(f"in {j}", fontsize=PANEL_LABEL_SIZE)
                if j == 0:
                    ax.set_ylabel(f"filter {i}", fontsize=PANEL_LABEL_SIZE)
    fig.suptitle(title or f"{c_out} filters of size {k}×{k} over {c_in} input channel(s)")
    fig.tight_layout()
    return fig


def feature_maps(
    maps: Mapping[str, np.ndarray],
    image: np.ndarray | None = None,
    *,
    max_channels: int = 12,
    title: str | None = None,
) -> plt.Figure:
    """Feature maps of several layers for one image: one row per layer, one panel per channel.

    Introduced in lab 5b (Inside a CNN). ``maps`` maps a layer name to an array ``(h, w, c)``
    (e.g. from :func:`nnlab.cnn_tools.feature_maps`); the first ``max_channels`` channels are
    drawn, each on its own grey scale (bright = strong activation). ``image`` is drawn at the
    start of every row for reference.
    """
    names = list(maps)
    cols = max_channels + (1 if image is not None else 0)
    fig, axes = plt.subplots(len(names), cols, figsize=(0.95 * cols + 0.4, 1.05 * len(names) + 0.6), squeeze=False)
    for r, name in enumerate(names):
        fmap = np.asarray(maps[name])
        offset = 0
        if image is not None:
            img = np.asarray(image)
            axes[r, 0].imshow(img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img, cmap="gray")
            if r == 0:
                axes[r, 0].set_title("input", fontsize=PANEL_LABEL_SIZE)
            offset = 1
        for c in range(max_channels):
            ax = axes[r, c + offset]
            if c < fmap.shape[-1]:
                ax.imshow(fmap[..., c], cmap="gray", interpolation="nearest")
                ax.set_title(f"{c}", fontsize=PANEL_LABEL_SIZE)
            ax.axis("off")
        if image is not None:
            axes[r, 0].set_xticks([])
            axes[r, 0].set_yticks([])
            axes[r, 0].set_ylabel(f"{name}\n{fmap.shape[0]}×{fmap.shape[1]}×{fmap.shape[-1]}", fontsize=PANEL_LABEL_SIZE)
            for side in axes[r, 0].spines.values():
                side.set_visible(False)
        else:
            axes[r, 0].set_title(f"{name} · 0", fontsize=PANEL_LABEL_SIZE)
    fig.suptitle(title or "Feature maps, first channels of each conv layer (after ReLU)")
    fig.tight_layout()
    return fig


def predictions(
    x: np.ndarray,
    indices: Sequence[int],
    y_true: np.ndarray,
    probs: np.ndarray,
    class_names: Sequence[str],
    *,
    ncols: int = 8,
    size: float = 1.25,
    title: str | None = None,
    row_labels: Sequence[str] | None = None,
) -> plt.Figure:
    """Images with their true class, the predicted class and its probability (red when wrong).

    Introduced in lab 5b (Inside a CNN) for correct and wrong examples and the most confident
    mistakes. An index of ``-1`` leaves its panel empty (to keep one class per row);
    ``row_labels`` writes a label at the left of each row.
    """
    indices = list(indices)
    nrows = max(1, int(np.ceil(len(indices) / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + (0.3 if row_labels else 0),
                                                    (size + 0.45) * nrows + (0.5 if title else 0)), squeeze=False)
    pred = np.asarray(probs).argmax(axis=1)
    for ax, i in zip(axes.flat, indices + [-1] * (nrows * ncols - len(indices))):
        ax.axis("off")
        if i < 0:
            continue
        img = np.asarray(x[i])
        ax.imshow(img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img, cmap="gray")
        wrong = pred[i] != y_true[i]
        ax.set_title(f"{class_names[y_true[i]]} → {class_names[pred[i]]}\np = {probs[i, pred[i]]:.2f}",
                     fontsize=7, color="crimson" if wrong else "black")
    for r, text in enumerate(row_labels or []):
        if r < nrows:
            axes[r, 0].text(-0.12, 0.5, text, transform=axes[r, 0].transAxes, ha="right", va="center",
                            rotation=90, fontsize=8)
    width, height = fig.get_size_inches()
    top_space = 0.4 + (0.5 if title else 0.0)  # the first row's titles, then the figure title
    fig.subplots_adjust(left=(0.35 if row_labels else 0.05) / width, right=1 - 0.05 / width,
                        bottom=0.05 / height, top=1 - top_space / height, hspace=0.45 / size, wspace=0.08)
    if title:
        fig.suptitle(title, y=1 - 0.12 / height, va="top")
    return fig
