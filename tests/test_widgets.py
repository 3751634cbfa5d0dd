"""Unit tests of nnlab.widgets: the pure draw functions, and the explorers in static and live mode."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from nnlab import widgets  # noqa: E402

SIDE = 12


def n_images(fig: plt.Figure) -> int:
    return sum(isinstance(artist, AxesImage) for ax in fig.axes for artist in ax.get_images())


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((5, SIDE, SIDE), dtype=np.float32)


@pytest.fixture(scope="module")
def conv_model():
    import keras

    import nnlab

    nnlab.set_seed(0)
    return keras.Sequential([
        keras.Input((SIDE, SIDE, 1)),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv_a"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Conv2D(6, 3, activation="relu", name="conv_b"),
        keras.layers.Flatten(),
        keras.layers.Dense(3),
    ])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --- draw functions ------------------------------------------------------------------------


@pytest.mark.parametrize(("depth", "panels", "expected"), [(10, 5, 6), (3, 5, 4), (1, 5, 2), (20, 2, 3)])
def test_draw_init_has_one_histogram_per_shown_layer_plus_the_spread_panel(depth, panels, expected):
    fig = widgets.draw_init(0.05, "relu", depth, width=32, n=64, panels=panels)
    assert len(fig.axes) == expected
    assert "layer 1" in fig.axes[0].get_title() and f"layer {depth}" in fig.axes[-2].get_title()


def test_draw_init_survives_overflow_and_shows_vanishing():
    fig = widgets.draw_init(10.0, "linear", 50, width=32, n=16)  # (10·√32)^50 overflows float64
    assert len(fig.axes) == 6
    small = widgets.init_activations(0.01, "tanh", depth=8, width=64, n=32)
    assert np.std(small[-1]) < 1e-6 < np.std(small[0])
    with pytest.raises(ValueError, match="unknown activation"):
        widgets.init_activations(0.1, "softsign")


def test_draw_activations_two_panels_with_a_curve_and_a_marker_per_function():
    names = ["sigmoid", "relu", "leaky_relu", "swish"]
    fig = widgets.draw_activations(names, z=-2.0, alpha=0.2)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(ax.get_lines()) == 2 * len(names) + 1  # curve + marker each, and the z line
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert "leaky_relu: f′(-2.00) = 0.200" in legend and "relu: f′(-2.00) = 0.000" in legend
    with pytest.raises(ValueError, match="unknown activation"):
        widgets.draw_activations(["nope"])


def test_activation_derivatives_match_finite_differences():
    z = np.linspace(-3, 3, 13) + 0.05  # avoid the kinks at 0
    for name, (f, df) in widgets.ACTIVATION_FUNCTIONS.items():
        numeric = (f(z + 1e-6, 0.3) - f(z - 1e-6, 0.3)) / 2e-6
        np.testing.assert_allclose(df(z, 0.3), numeric, atol=1e-5, err_msg=name)


def test_explorer_activations_are_keras_own():
    """The explorer's formulas are the functions the lab's layers use (ELU with Keras's α = 1,
    whatever the leaky-ReLU slider says), so its figure agrees with lab 2's."""
    z = np.linspace(-6, 3, 37).astype("float32")
    for name in ("relu", "elu", "tanh", "sigmoid", "swish", "softplus", "linear"):
        f, _ = widgets.ACTIVATION_FUNCTIONS[name]
        keras_f = keras.activations.get("silu" if name == "swish" else name)
        expected = keras.ops.convert_to_numpy(keras_f(keras.ops.convert_to_tensor(z)))
        np.testing.assert_allclose(f(z, 0.1), expected, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("patch", [0, 3, SIDE])
def test_draw_permutation_three_images(images, patch):
    fig = widgets.draw_permutation(images, index=2, seed=1, patch=patch, labels=list("abcde"))
    assert len(fig.axes) == 3
    assert n_images(fig) == 4  # original, permuted, grey original + the window mask
    assert "(c)" in fig.axes[0].get_title()
    permuted = fig.axes[1].get_images()[0].get_array()
    np.testing.assert_array_equal(np.sort(permuted.ravel()), np.sort(images[2].ravel()))
    with pytest.raises(ValueError, match="out of range"):
        widgets.draw_permutation(images, index=5)


def test_draw_permutation_rgb(images):
    rgb = np.stack([images] * 3, axis=-1)
    fig = widgets.draw_permutation(rgb, index=0, seed=0)
    assert fig.axes[1].get_images()[0].get_array().shape == (SIDE, SIDE, 3)


def test_draw_feature_maps_input_plus_channels(conv_model, images):
    assert widgets._conv_names(conv_model) == ["conv_a", "conv_b"]
    fig = widgets.draw_feature_maps(conv_model, images[..., None], index=1, layer="conv_b")
    assert n_images(fig) == 1 + 6
    assert "conv_b: 3×3×6" in fig._suptitle.get_text()
    fig = widgets.draw_feature_maps(conv_model, images[..., None], index=0, max_channels=2)  # first conv layer
    assert n_images(fig) == 1 + 2
    assert "conv_a: 10×10×4" in fig._suptitle.get_text()

    with pytest.raises(ValueError, match="not a Conv2D layer"):
        widgets.draw_feature_maps(conv_model, images[..., None], index=0, layer="pool")


def test_draw_clock_asks_every_model_and_reports_its_error():
    seen = []

    def reader(offset):
        def predict(batch):
            seen.append(batch.shape)
            return np.array([3 * 60 + 47 + offset])
        return predict

    fig = widgets.draw_clock(3, 47, {"exact": reader(0), "late": reader(30), "wraps": reader(-720)}, size=48)
    assert len(fig.axes) == 2 and n_images(fig) == 1
    assert seen == [(1, 48, 48)] * 3
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts == [" reads 3:47 (0 min off)", " reads 4:17 (30 min off)", " reads 3:47 (0 min off)"]
    fig = widgets.draw_clock(0, 5, None, size=32)
    assert len(fig.axes) == 1 and "12:05" in fig.axes[0].get_title()


# --- explorers: static and live ------------------------------------------------------------


def _explorers(images, model):
    clocks_models = {"always noon": lambda batch: np.zeros(len(batch))}
    return {
        "init": lambda **kw: widgets.explore_init(0.1, "tanh", 4, width=16, n=16, **kw),
        "activations": lambda **kw: widgets.explore_activations(["tanh", "elu"], **kw),
        "permutation": lambda **kw: widgets.explore_permutation(images, **kw),
        "feature_maps": lambda **kw: widgets.explore_feature_maps(model(), images[..., None], **kw),
        "clock": lambda **kw: widgets.explore_clock(clocks_models, 4, 20, size=32, **kw),
    }


EXPLORERS = ["init", "activations", "permutation", "feature_maps", "clock"]


@pytest.fixture
def shown(monkeypatch):
    """Everything the explorers hand to IPython's display()."""
    objects = []
    monkeypatch.setattr(widgets, "display", lambda *objs, **_: objects.extend(objs))
    monkeypatch.setattr(widgets, "in_notebook", lambda: True)   # as in a kernel: the note is HTML
    return objects


@pytest.mark.parametrize("name", EXPLORERS)
@pytest.mark.parametrize("how", ["argument", "environment"])
def test_static_mode_displays_a_figure_and_no_widget(name, how, images, request, shown, monkeypatch):
    model = lambda: request.getfixturevalue("conv_model")  # noqa: E731  (built only when needed)
    explore = _explorers(images, model)[name]
    if how == "argument":
        monkeypatch.setenv("NNLAB_STATIC", "0")
        result = explore(static=True)
    else:
        monkeypatch.setenv("NNLAB_STATIC", "1")
        result = explore()
    assert result is None
    figures = [o for o in shown if isinstance(o, plt.Figure)]
    assert len(figures) == 1 and figures[0].axes
    assert not any(isinstance(o, ipywidgets.Widget) for o in shown)
    notes = [o.data for o in shown if hasattr(o, "data") and isinstance(o.data, str)]
    assert any("Static view" in n for n in notes)


def test_static_mode_in_a_script_prints_its_note_as_text(images, shown, monkeypatch, capsys):
    monkeypatch.setattr(widgets, "in_notebook", lambda: False)
    assert widgets.explore_permutation(images, static=True) is None
    printed = capsys.readouterr().out
    assert "Static view" in printed and "<" not in printed
    assert not shown   # neither an HTML note nor a figure: a script would print their reprs


@pytest.mark.parametrize("name", EXPLORERS)
def test_live_mode_returns_a_widget_that_redraws_when_a_knob_moves(name, images, request, shown, monkeypatch):
    monkeypatch.delenv("NNLAB_STATIC", raising=False)
    model = lambda: request.getfixturevalue("conv_model")  # noqa: E731
    box = _explorers(images, model)[name]()
    assert isinstance(box, ipywidgets.Widget)
    assert box.draws == 1 and box.error is None and box.figure is not None
    for knob in box.knobs.values():
        before = box.draws
        if isinstance(knob, ipywidgets.SelectMultiple):
            knob.value = tuple(knob.options[:2])
        elif isinstance(knob, ipywidgets.Dropdown):
            knob.value = knob.options[-1] if knob.value != knob.options[-1] else knob.options[0]
        else:
            knob.value = knob.max if knob.value != knob.max else knob.min
        assert box.draws == before + 1, knob.description
        assert box.error is None
        assert box.figure.axes


def test_live_mode_reports_an_error_in_the_output(shown, monkeypatch):
    calls = []

    def flaky(batch):
        calls.append(1)
        if len(calls) > 1:
            raise ZeroDivisionError("the model broke")
        return np.zeros(len(batch))

    box = widgets.explore_clock({"flaky": flaky}, size=32, static=False)
    assert box.error is None
    with pytest.raises(ZeroDivisionError):
        box.knobs["hour"].value = 5
    assert isinstance(box.error, ZeroDivisionError)


def test_a_starting_value_no_slider_can_show_is_an_error_not_a_clamp(shown):
    # ipywidgets would show hour 12 as 11 and σ = 5 as 1 without a word; 12 o'clock is hour 0
    box = widgets.explore_clock({"noon": lambda batch: np.zeros(len(batch))}, hour=12, minute=5, size=32,
                                static=False)
    assert box.knobs["hour"].value == 0
    shown.clear()   # the live box drew its first figure
    with pytest.raises(ValueError, match=r"minute=75 is outside its slider's range 0\.\.59"):
        widgets.explore_clock(None, hour=1, minute=75, size=32, static=True)
    with pytest.raises(ValueError, match=r"sigma=5\.0 is outside its slider's range 0\.001\.\.1"):
        widgets.explore_init(5.0, "tanh", 4, width=16, n=16, static=True)
    with pytest.raises(ValueError, match="activation='swish' is not one of"):
        widgets.explore_init(0.1, "swish", 4, width=16, n=16, static=True)
    assert not shown   # refused before anything was drawn


def test_is_static(monkeypatch):
    monkeypatch.delenv("NNLAB_STATIC", raising=False)
    assert widgets.is_static() is False
    for value, expected in (("1", True), ("true", True), ("YES", True), ("0", False), ("", False), ("off", False)):
        monkeypatch.setenv("NNLAB_STATIC", value)
        assert widgets.is_static() is expected
    assert widgets.is_static(False) is False and widgets.is_static(True) is True
    monkeypatch.setenv("NNLAB_STATIC", "static")
    with pytest.raises(ValueError, match="NNLAB_STATIC='static': use 1"):
        widgets.is_static()


def test_quiet_reads_the_same_on_off_words(monkeypatch):
    from nnlab import training

    for value, expected in (("1", True), ("yes", True), ("0", False), ("false", False), ("", False)):
        monkeypatch.setenv("NNLAB_QUIET", value)
        assert training.quiet() is expected   # "false" used to mean quiet: any non-empty, non-0 value did
