"""Interactive explorers: move a slider instead of reading a paragraph.

Introduced in lab 1 (Initialization). Each explorer comes as a pair:

- ``draw_x(...) -> Figure``: a pure function that draws one figure for one setting of the
  knobs (unit-tested, and usable on its own in a script);
- ``explore_x(..., static=None)``: in a live Jupyter session it returns an ipywidgets box
  (sliders and menus above the figure; the figure is redrawn when a knob is released). In
  the static website it displays only the figure for the starting values, plus a one-line
  note, and returns ``None``: a web page cannot run Python, so it gets no dead widget and
  no "Loading widget…" placeholder.

Static or live is decided by ``static`` when given, else by the environment variable
``NNLAB_STATIC`` (``make book`` sets ``NNLAB_STATIC=1``; unset means live). End a notebook
cell with the call, so Jupyter displays the returned widget.

Explorers:

=============================  ==================================================  ======
explorer                       what moves                                          lab
=============================  ==================================================  ======
:func:`explore_init`           weight σ, activation, depth → activations per layer  1
:func:`explore_activations`    activation functions and their derivatives at z     2
:func:`explore_permutation`    an image and its pixel permutation (seed, patch)     4
:func:`explore_feature_maps`   a Keras model's conv feature maps for any image      5
:func:`explore_clock`          a clock for a chosen time and what models read        6
=============================  ==================================================  ======
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display

from nnlab import plots  # noqa: F401  (applies the book's figure style)
from nnlab._environment import env_flag
from nnlab.claims import in_notebook
from nnlab.numpy_mlp import ACTIVATIONS as _MLP_ACTIVATIONS
from nnlab.numpy_mlp import init_weights

if TYPE_CHECKING:
    import ipywidgets

__all__ = [
    "is_static",
    "ACTIVATION_FUNCTIONS",
    "draw_init",
    "explore_init",
    "draw_activations",
    "explore_activations",
    "draw_permutation",
    "explore_permutation",
    "draw_feature_maps",
    "explore_feature_maps",
    "draw_clock",
    "explore_clock",
]

Figure = plt.Figure
Array = np.ndarray


# ---------------------------------------------------------------------------------------
# Static or live, and the one helper every explorer goes through
# ---------------------------------------------------------------------------------------


def is_static(static: bool | None = None) -> bool:
    """True when explorers should draw a static figure instead of widgets.

    ``static`` wins when given; otherwise ``NNLAB_STATIC`` decides ("1", "true", "yes",
    "on" mean static; unset, "0", "false", "no", "off" mean live; anything else is an error).
    """
    if static is not None:
        return bool(static)
    return env_flag("NNLAB_STATIC")


def _control(spec: tuple[str, dict[str, Any]], value: Any):
    """Build one ipywidgets control from ``(kind, options)``, starting at ``value``."""
    import ipywidgets as widgets

    kind, options = spec
    cls = {
        "int": widgets.IntSlider,
        "float": widgets.FloatSlider,
        "log": widgets.FloatLogSlider,
        "choice": widgets.Dropdown,
        "multi": widgets.SelectMultiple,
    }[kind]
    options = dict(options)
    if kind in ("int", "float", "log"):
        options.setdefault("continuous_update", False)  # redraw on release, not on every pixel
    if kind == "multi":
        value = tuple(value)
    style = {"description_width": "initial"}
    return cls(value=value, style=style, **options)


def _check_start_values(values: Mapping[str, Any], controls: Mapping[str, tuple[str, dict[str, Any]]]) -> None:
    """Raise ``ValueError`` for a starting value its control cannot show (a slider would clamp it silently)."""
    for name, (kind, options) in controls.items():
        value = values[name]
        if kind in ("int", "float", "log") and "min" in options and "max" in options:
            low, high = options["min"], options["max"]
            if kind == "log":
                low, high = options.get("base", 10.0) ** low, options.get("base", 10.0) ** high
            if not low <= value <= high:
                raise ValueError(f"{name}={value!r} is outside its slider's range {low:g}..{high:g}")
        elif kind == "choice" and value not in options["options"]:
            raise ValueError(f"{name}={value!r} is not one of {list(options['options'])}")


def _explorer(
    draw: Callable[..., Figure],
    values: dict[str, Any],
    controls: Mapping[str, tuple[str, dict[str, Any]]],
    fixed: Mapping[str, Any] | None = None,
    *,
    static: bool | None,
    note: str,
) -> ipywidgets.VBox | None:
    """Static: show ``draw(**fixed, **values)`` and a note (a script: the note only), return None. Live: a widget box.

    ``values`` holds the starting value of every knob named in ``controls``
    (``name -> (kind, ipywidgets options)``); ``fixed`` is passed to ``draw`` unchanged.
    """
    fixed = dict(fixed or {})
    _check_start_values(values, controls)
    if is_static(static):
        fig = draw(**fixed, **values)   # drawn in a script too: a drawing error fails the run
        if in_notebook():
            display(fig)
            display(HTML(f'<p class="nnlab-static-note"><em>{note} Open this lab in Jupyter '
                         f'(<code>make lab</code>) to move the sliders.</em></p>'))
        else:   # a script shows no figures (IPython's display would print "Figure(900x340)")
            print(f"{note} Open this lab in Jupyter (make lab) to move the sliders.")
        plt.close(fig)
        return None

    import ipywidgets as widgets

    knobs = {name: _control(spec, values[name]) for name, spec in controls.items()}
    for name, knob in knobs.items():
        knob.description = knob.description or name
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox(list(knobs.values()), layout=widgets.Layout(flex_flow="row wrap")), out])
    box.add_class("nnlab-explorer")
    box.knobs = knobs  # for tests and for readers who want to set a value from code
    box.figure = None
    box.error = None
    box.draws = 0

    def redraw(_change: Any = None) -> None:
        params = {name: (list(k.value) if isinstance(k.value, tuple) else k.value) for name, k in knobs.items()}
        try:
            fig = draw(**fixed, **params)
        except Exception as error:  # show it where the reader looks, then let it propagate
            box.error = error
            with out:
                out.clear_output(wait=True)
                print(traceback.format_exc())
            raise
        box.error = None
        box.figure = fig
        box.draws += 1
        with out:
            out.clear_output(wait=True)
            display(fig)
        plt.close(fig)

    for knob in knobs.values():
        knob.observe(redraw, names="value")
    redraw()
    return box


# ---------------------------------------------------------------------------------------
# (1) Initialization: activation histograms per layer of a deep MLP
# ---------------------------------------------------------------------------------------


def _layers_to_show(depth: int, panels: int) -> list[int]:
    return sorted({int(round(v)) for v in np.linspace(1, depth, min(panels, depth))})


def init_activations(
    sigma: float, activation: str = "tanh", depth: int = 10, width: int = 256, n: int = 512, seed: int = 0
) -> list[Array]:
    """Activations of every hidden layer of a deep MLP at initialization.

    ``depth`` layers of ``width`` units, weights N(0, σ²) (``init_weights(..., "normal")``),
    zero biases, for ``n`` standard-normal inputs. Returns one ``(n, width)`` array per
    layer (overflow gives inf: that *is* the result for a large σ).
    """
    if activation != "linear" and activation not in _MLP_ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose linear or one of {list(_MLP_ACTIVATIONS)}")
    f = (lambda z: z) if activation == "linear" else _MLP_ACTIVATIONS[activation][0]
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, width))
    out = []
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for _ in range(depth):
            a = f(a @ init_weights(width, width, "normal", rng, sigma=sigma))
            out.append(a)
    return out


def draw_init(
    sigma: float = 0.0625,
    activation: str = "tanh",
    depth: int = 10,
    *,
    width: int = 256,
    n: int = 512,
    panels: int = 5,
    seed: int = 0,
) -> Figure:
    """Histograms of the activations of ``panels`` layers of a deep MLP, and their std per layer.

    Introduced in lab 1 (Initialization). One histogram panel for each of up to ``panels``
    layers (evenly spaced, first and last included) plus a last panel with the standard
    deviation of every layer on a log scale: it stays level only when σ is right for the
    activation (about 1/√width for tanh and linear, √(2/width) for ReLU).
    """
    acts = init_activations(sigma, activation, depth, width, n, seed)
    shown = _layers_to_show(depth, panels)
    n_axes = len(shown) + 1
    ncols = min(n_axes, 3)  # at most three across: readable at the book's page width
    nrows = int(np.ceil(n_axes / ncols))
    fig, grid = plt.subplots(nrows, ncols, figsize=(3.1 * ncols, 2.5 * nrows + 0.5), squeeze=False)
    for ax in grid.flat[n_axes:]:
        fig.delaxes(ax)
    axes = list(grid.flat[:n_axes])
    stds = [float(np.std(a)) if np.all(np.isfinite(a)) else float("inf") for a in acts]
    finite = [a[np.isfinite(a)] for a in acts]
    # one x range for all histograms, so shrinking or spreading shows
    limit = {"tanh": (-1.05, 1.05), "sigmoid": (-0.05, 1.05)}.get(activation)
    if limit is None:
        peak = max((np.percentile(np.abs(finite[k - 1]), 99.5) for k in shown if finite[k - 1].size), default=1.0)
        peak = peak if np.isfinite(peak) and peak > 0 else 1.0
        limit = (-0.05 * peak if activation == "relu" else -peak, peak)
    for ax, k in zip(axes, shown):
        values = finite[k - 1]
        if values.size:
            ax.hist(np.clip(values, *limit), bins=60, range=limit, color=plt.cm.viridis(0.35))
        ax.set_title(f"layer {k}: std {stds[k - 1]:.2g}", fontsize=9)
        ax.set_xlim(*limit)
        ax.set_yticks([])
        ax.set_xlabel("activation")
    ax = axes[-1]
    layers = np.arange(1, depth + 1)
    ax.semilogy(layers, np.clip(stds, 1e-300, 1e300), marker=".", color=plt.cm.viridis(0.2))
    ax.set_xlabel("layer")
    ax.set_ylabel("std of activations")
    ax.set_title("spread, layer by layer", fontsize=9)
    ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(f"{depth} {activation} layers of {width} units, weights N(0, σ²),\n"
                 f"σ = {sigma:.3g} (σ√n = {sigma * np.sqrt(width):.2f})")
    fig.tight_layout()
    return fig


def explore_init(
    sigma: float | None = None,
    activation: str = "tanh",
    depth: int = 10,
    *,
    width: int = 256,
    n: int = 512,
    panels: int = 5,
    seed: int = 0,
    static: bool | None = None,
) -> ipywidgets.VBox | None:
    """Explorer (1): σ, activation and depth → per-layer activation histograms (:func:`draw_init`).

    Introduced in lab 1 (Initialization). ``sigma`` defaults to 1/√width.
    """
    sigma = 1 / np.sqrt(width) if sigma is None else float(sigma)
    values = {"sigma": sigma, "activation": activation, "depth": int(depth)}
    controls = {
        "sigma": ("log", {"min": -3, "max": 0, "step": 0.05, "base": 10, "description": "σ", "readout_format": ".3g"}),
        "activation": ("choice", {"options": ["linear", *_MLP_ACTIVATIONS], "description": "activation"}),
        "depth": ("int", {"min": 1, "max": 50, "description": "layers"}),
    }
    note = (f"Static view: σ = {sigma:.3g}, {activation}, {depth} layers.")
    return _explorer(draw_init, values, controls, {"width": width, "n": n, "panels": panels, "seed": seed},
                     static=static, note=note)


# ---------------------------------------------------------------------------------------
# (2) Activation functions and their derivatives
# ---------------------------------------------------------------------------------------


def _sigmoid(z: Array) -> Array:
    return _MLP_ACTIVATIONS["sigmoid"][0](z)


ACTIVATION_FUNCTIONS: dict[str, tuple[Callable[[Array, float], Array], Callable[[Array, float], Array]]] = {
    # In lab 2's order (relu, elu, tanh, sigmoid, then gelu's slot, silu), so each function has the
    # colour here that it has in that lab's figures.
    "relu": (lambda z, a: np.maximum(z, 0), lambda z, a: (z > 0).astype(float)),
    "elu": (lambda z, a: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),   # α = 1, as keras.activations.elu
            lambda z, a: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0)))),
    "tanh": (lambda z, a: np.tanh(z), lambda z, a: 1 - np.tanh(z) ** 2),
    "sigmoid": (lambda z, a: _sigmoid(z), lambda z, a: _sigmoid(z) * (1 - _sigmoid(z))),
    "leaky_relu": (lambda z, a: np.where(z > 0, z, a * z), lambda z, a: np.where(z > 0, 1.0, a)),
    "swish": (lambda z, a: z * _sigmoid(z), lambda z, a: _sigmoid(z) * (1 + z * (1 - _sigmoid(z)))),
    "softplus": (lambda z, a: np.logaddexp(0, z), lambda z, a: _sigmoid(z)),
    "linear": (lambda z, a: z, lambda z, a: np.ones_like(z)),
}
"""Name → ``(f(z, alpha), f'(z, alpha))``; ``alpha`` is the negative slope of leaky ReLU (the
others ignore it; ELU is Keras's, with α = 1, so it levels off at −1 as lab 2 describes it)."""


def draw_activations(
    names: Sequence[str] = ("sigmoid", "tanh", "relu"),
    z: float = 1.0,
    alpha: float = 0.1,
    *,
    zmax: float = 5.0,
) -> Figure:
    """Two panels: the activation functions, and their derivatives, with the values at ``z`` marked.

    Introduced in lab 2 (Activations). The derivative is what backpropagation multiplies
    the gradient by at each layer: where it is near 0 (a saturated sigmoid or tanh, a
    negative ReLU input) the gradient stops.
    """
    unknown = [name for name in names if name not in ACTIVATION_FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown activation(s) {unknown}; choose from {list(ACTIVATION_FUNCTIONS)}")
    grid = np.linspace(-zmax, zmax, 401)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    colors = dict(zip(ACTIVATION_FUNCTIONS, plt.cm.tab10(np.arange(10))))
    for name in names:
        f, df = ACTIVATION_FUNCTIONS[name]
        point = np.array([z], dtype=float)
        for ax, fn, what in ((axes[0], f, "f"), (axes[1], df, "f′")):
            value = float(fn(point, alpha)[0])
            ax.plot(grid, fn(grid, alpha), color=colors[name], label=f"{name}: {what}({z:.2f}) = {value:.3f}")
            ax.plot([z], [value], "o", color=colors[name], ms=5)
    for ax, title in ((axes[0], "activation f(z)"), (axes[1], "derivative f′(z)")):
        ax.axvline(z, color="grey", ls=":", lw=1)
        ax.set_xlabel("z (pre-activation)")
        ax.set_title(title)
        ax.legend(loc="upper left")
    axes[0].set_ylim(-1.5, min(zmax, 4.0) + 0.2)
    axes[1].set_ylim(-0.1, 1.3)
    fig.tight_layout()
    return fig


def explore_activations(
    names: Sequence[str] = ("sigmoid", "tanh", "relu"),
    z: float = 1.0,
    alpha: float = 0.1,
    *,
    static: bool | None = None,
) -> ipywidgets.VBox | None:
    """Explorer (2): pick activations, move z (and leaky ReLU's α) → f(z) and f′(z) (:func:`draw_activations`).

    Introduced in lab 2 (Activations).
    """
    values = {"names": list(names), "z": float(z), "alpha": float(alpha)}
    controls = {
        "names": ("multi", {"options": list(ACTIVATION_FUNCTIONS), "rows": 4, "description": "functions"}),
        "z": ("float", {"min": -5, "max": 5, "step": 0.1, "description": "z"}),
        "alpha": ("float", {"min": 0, "max": 1, "step": 0.01, "description": "α (leaky ReLU)"}),
    }
    return _explorer(draw_activations, values, controls, static=static,
                     note=f"Static view: {', '.join(names)} at z = {z:g}.")


# ---------------------------------------------------------------------------------------
# (3) Permutation viewer
# ---------------------------------------------------------------------------------------


def _as_images(images: Array) -> Array:
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4):
        raise ValueError(f"expected images (N, H, W) or (N, H, W, C), got shape {images.shape}")
    return images


def _imshow(ax, image: Array, title: str) -> None:
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)


def draw_permutation(
    images: Array,
    index: int = 0,
    seed: int = 0,
    patch: int = 0,
    *,
    labels: Sequence[Any] | None = None,
    window: tuple[int, int] | None = None,
) -> Figure:
    """Three panels: an image, its pixel permutation, and where a 3×3 window of the permuted
    image takes its pixels from (drawn on the original).

    Introduced in lab 4 (Permutations). ``patch`` = 0 (or ≥ the image side) is a full
    permutation (:func:`nnlab.permute.pixel_permutation`); a smaller ``patch`` only shuffles
    pixels inside ``patch × patch`` tiles (:func:`nnlab.permute.patch_permutation`), so
    locality survives above that scale. ``window`` is the 3×3 window's top-left corner
    (default: the middle).
    """
    from nnlab import permute

    images = _as_images(images)
    if not 0 <= index < len(images):
        raise ValueError(f"index {index} is out of range for {len(images)} images")
    h, w = images.shape[1:3]
    if patch and patch < max(h, w):
        perm = permute.patch_permutation(h, w, int(patch), int(seed))
        kind = f"within {patch}×{patch} patches"
    else:
        perm = permute.pixel_permutation(h * w, int(seed))
        kind = "all pixels"
    image = images[index]
    permuted = permute.apply_permutation(image[None], perm)[0]
    row, col = window if window is not None else ((h - 3) // 2, (w - 3) // 2)
    mask = permute.source_mask(perm, h, w, row, col, size=3)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    label = f" ({labels[index]})" if labels is not None else ""
    _imshow(axes[0], image, f"image {index}{label}")
    _imshow(axes[1], permuted, f"permuted: {kind}, seed {seed}")
    axes[1].add_patch(plt.Rectangle((col - 0.5, row - 0.5), 3, 3, fill=False, ec="crimson", lw=1.5))
    gray = image if image.ndim == 2 else image.mean(axis=-1)
    spread = permute.neighbour_distance(perm, h, w)
    _imshow(axes[2], gray, f"the red 3×3 window's pixels\n(neighbours now {spread:.1f} px apart)")
    axes[2].imshow(np.ma.masked_equal(mask, 0), cmap="autumn", alpha=0.9, interpolation="nearest")
    fig.tight_layout()
    return fig


def explore_permutation(
    images: Array,
    labels: Sequence[Any] | None = None,
    index: int = 0,
    seed: int = 0,
    patch: int = 0,
    *,
    static: bool | None = None,
) -> ipywidgets.VBox | None:
    """Explorer (3): image index, permutation seed and patch size → :func:`draw_permutation`.

    Introduced in lab 4 (Permutations). ``patch`` 0 means a full permutation.
    """
    images = _as_images(images)
    side = max(images.shape[1:3])
    values = {"index": int(index), "seed": int(seed), "patch": int(patch)}
    controls = {
        "index": ("int", {"min": 0, "max": len(images) - 1, "description": "image"}),
        "seed": ("int", {"min": 0, "max": 99, "description": "seed"}),
        "patch": ("int", {"min": 0, "max": side, "description": "patch (0 = all)"}),
    }
    return _explorer(draw_permutation, values, controls, {"images": images, "labels": labels}, static=static,
                     note=f"Static view: image {index}, seed {seed}, " + (f"patch {patch}." if patch else "full permutation."))


# ---------------------------------------------------------------------------------------
# (4) Feature maps of a Keras model
# ---------------------------------------------------------------------------------------


def _conv_names(model: Any) -> list[str]:
    """Names of the model's convolution layers, input to output (:func:`nnlab.cnn_tools.conv_layers`).

    Plain, separable and depthwise convolutions alike (:data:`nnlab.cnn_tools.CONV_TYPES`).
    """
    from nnlab.cnn_tools import conv_layers

    return [layer.name for layer in conv_layers(model)]


def draw_feature_maps(
    model: Any,
    images: Array,
    index: int = 0,
    layer: str | None = None,
    *,
    max_channels: int = 16,
    ncols: int = 8,
    maps: Mapping[str, Array] | None = None,
) -> Figure:
    """The input image and the first ``max_channels`` feature maps of one conv ``layer``.

    Introduced in lab 5 (CNNs). The maps come from :func:`nnlab.cnn_tools.feature_maps` for
    ``images[index]`` — after the layer's nonlinearity, what the next layer sees — or from
    ``maps`` (``{layer: (h, w, c)}``) when the caller has them already; each channel is drawn
    on its own grey scale (bright = strong).
    """
    images = np.asarray(images)
    if not 0 <= index < len(images):
        raise ValueError(f"index {index} is out of range for {len(images)} images")
    layer = layer or (_conv_names(model) or [None])[0]
    if layer is None:
        raise ValueError(f"model {model.name!r} has no convolution layer")
    if maps is None or layer not in maps:
        from nnlab.cnn_tools import feature_maps

        maps = feature_maps(model, images[index])
    if layer not in maps:
        raise ValueError(f"{layer!r} is not a Conv2D layer (nor a separable or depthwise one) of {model.name!r}; "
                         f"those are {sorted(maps)}")
    fmap = np.asarray(maps[layer])
    channels = min(max_channels, fmap.shape[-1])
    nrows = int(np.ceil((channels + 1) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.25 * ncols, 1.35 * nrows + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    _imshow(axes.flat[0], _as_images(images[index:index + 1])[0], f"input {index}")
    axes.flat[0].axis("on")
    for c in range(channels):
        ax = axes.flat[c + 1]
        ax.imshow(fmap[..., c], cmap="gray", interpolation="nearest")
        ax.set_title(f"channel {c}", fontsize=7)
    fig.suptitle(f"{layer}: {fmap.shape[0]}×{fmap.shape[1]}×{fmap.shape[-1]} "
                 f"(first {channels} channels)")
    fig.tight_layout()
    return fig


def explore_feature_maps(
    model: Any,
    images: Array,
    index: int = 0,
    layer: str | None = None,
    *,
    max_channels: int = 16,
    static: bool | None = None,
) -> ipywidgets.VBox | None:
    """Explorer (4): image index and conv layer of ``model`` → :func:`draw_feature_maps`.

    Introduced in lab 5 (CNNs). The maps of every conv layer are computed once per image
    (one forward pass) and reused when only the layer changes. ``images`` is a batch as the
    model takes it, e.g. ``data.x_test[:100]``.
    """
    from nnlab.cnn_tools import feature_maps

    names = _conv_names(model)
    if not names:
        raise ValueError(f"model {model.name!r} has no convolution layer")
    images = np.asarray(images)
    cache: dict[int, dict[str, Array]] = {}

    def draw(index: int, layer: str) -> Figure:
        if index not in cache:
            cache.clear()  # keep one image's maps only
            cache[index] = feature_maps(model, images[index])
        return draw_feature_maps(model, images, index, layer, max_channels=max_channels, maps=cache[index])

    layer = layer or names[0]
    values = {"index": int(index), "layer": layer}
    controls = {
        "index": ("int", {"min": 0, "max": len(images) - 1, "description": "image"}),
        "layer": ("choice", {"options": names, "description": "layer"}),
    }
    return _explorer(draw, values, controls, static=static, note=f"Static view: image {index}, layer {layer}.")


# ---------------------------------------------------------------------------------------
# (5) Clock reader
# ---------------------------------------------------------------------------------------


def draw_clock(
    hour: int = 10,
    minute: int = 8,
    models: Mapping[str, Callable[[Array], Any]] | None = None,
    *,
    preset: str = "easy",
    seed: int = 0,
    size: int = 150,
) -> Figure:
    """A clock showing ``hour:minute``, and what each model reads on it.

    Introduced in lab 6 (Tell the time). ``models`` maps a name to a function that takes a
    batch of clock images as :func:`nnlab.clocks.make_clocks` returns them (``(n, size,
    size)`` uint8, 0 = ink) and returns minutes past 12 for each (the function does its own
    scaling and decoding). The right panel shows every model's common-sense error in
    minutes, labelled with the time it read. Without models, only the clock is drawn.
    """
    from nnlab import clocks

    image = clocks.draw_clocks([hour], [minute], style=preset, size=size, seed=seed)
    truth = int(clocks.to_minutes(hour, minute))
    models = dict(models or {})
    fig, axes = plt.subplots(1, 2 if models else 1, figsize=(8.5 if models else 3.6, 3.6), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.4]} if models else None)
    _imshow(axes[0, 0], image[0], f"true time {clocks.format_time(hour, minute)} ({preset}, seed {seed})")
    if models:
        ax = axes[0, 1]
        names, errors, reads = [], [], []
        for name, predict in models.items():
            read = float(np.ravel(np.asarray(predict(image), dtype=float))[0])
            h, m = clocks.from_minutes(read)
            names.append(name)
            reads.append(clocks.format_time(int(h), int(m)))
            errors.append(float(clocks.common_sense_error(truth, read)))
        ax.barh(names, errors, color=plt.cm.viridis(0.45))
        for y, (err, read) in enumerate(zip(errors, reads)):
            ax.text(err, y, f" reads {read} ({err:.0f} min off)", va="center", fontsize=8)
        ax.set_xlim(0, max(60.0, 1.5 * max(errors)))
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("common-sense error (minutes)")
        ax.set_title("what each model reads")
    fig.tight_layout()
    return fig


def explore_clock(
    models: Mapping[str, Callable[[Array], Any]] | None = None,
    hour: int = 10,
    minute: int = 8,
    *,
    preset: str = "easy",
    seed: int = 0,
    size: int = 150,
    static: bool | None = None,
) -> ipywidgets.VBox | None:
    """Explorer (5): hour, minute, style and seed → a clock and every model's reading (:func:`draw_clock`).

    Introduced in lab 6 (Tell the time). ``size`` must be the image size the models expect.
    """
    from nnlab.clocks import PRESETS

    # The slider runs 0..11: 12 o'clock is hour 0.
    values = {"hour": int(hour) % 12, "minute": int(minute), "preset": preset, "seed": int(seed)}
    controls = {
        "hour": ("int", {"min": 0, "max": 11, "description": "hour"}),
        "minute": ("int", {"min": 0, "max": 59, "description": "minute"}),
        "preset": ("choice", {"options": list(PRESETS), "description": "style"}),
        "seed": ("int", {"min": 0, "max": 99, "description": "seed"}),
    }
    return _explorer(draw_clock, values, controls, {"models": models, "size": size}, static=static,
                     note=f"Static view: {hour % 12 or 12}:{minute:02d}, {preset} style.")
