"""Tests for nnlab.clock_models (lab 6) and the two-hand periodic encoding of nnlab.clocks."""

from __future__ import annotations

import numpy as np
import pytest

import nnlab  # noqa: F401  (quiet backend defaults before Keras)
import keras
from keras import ops

from nnlab import clock_models as cm
from nnlab import clocks

ALL = np.arange(720)
HOURS, MINUTES = clocks.from_minutes(ALL)


# --------------------------------------------------------------------------
# Encodings
# --------------------------------------------------------------------------


@pytest.mark.parametrize("family", cm.FAMILIES)
def test_targets_decode_round_trip(family):
    y = cm.targets(family, ALL)
    assert len(y) == 720
    if family in ("classes_24", "classes_720"):  # decode takes scores: make one-hot ones
        n = 24 if family == "classes_24" else 720
        outputs = np.eye(n)[y]
    elif family == "multi_head":
        outputs = np.concatenate([np.eye(12)[y[:, 0].astype(int)] * 10, y[:, 1:]], axis=1)
    else:
        outputs = y
    error = clocks.common_sense_error(ALL, cm.decode(family, outputs))
    assert error.max() <= (15 if family == "classes_24" else 1e-3)


def test_hands_periodic_is_smooth_and_periodic():
    y = clocks.encode_hands_periodic(HOURS, MINUTES)
    assert y.shape == (720, 4) and y.dtype == np.float32
    steps = np.linalg.norm(np.diff(np.vstack([y, y[:1]]), axis=0), axis=1)  # 11:59 -> 12:00 included
    assert steps.max() < 0.11  # one minute moves the minute pair by 2 sin(pi/60) ~ 0.105
    angle = 2 * np.pi * 195 / 720  # 3:15: the hour hand a quarter of the way from 3 to 4
    np.testing.assert_allclose(clocks.encode_hands_periodic([3], [15])[0], [np.sin(angle), np.cos(angle), 1, 0],
                               atol=1e-6)


def test_report_cos_jumps_at_the_hour():
    y = clocks.encode_report_cos(HOURS, MINUTES)[:, 1]
    jumps = np.abs(np.diff(np.append(y, y[0])))
    assert jumps.max() > 1.99  # 0:59 -> 1:00 goes from about -1 to 1
    assert np.argmax(jumps) % 60 == 59


def test_combine_hour_and_minute_picks_the_nearest_hour():
    # 2:59 with an hour hand read as "almost 3" stays 2:59, not 3:59.
    assert clocks.combine_hour_and_minute([181.0], [59.0])[0] == pytest.approx(179.0)
    assert clocks.combine_hour_and_minute([715.0], [2.0])[0] == pytest.approx(2.0)  # wraps past 12
    assert clocks.combine_hour_and_minute([5.0], [58.0])[0] == pytest.approx(718.0)
    rng = np.random.default_rng(0)
    noisy = ALL + rng.uniform(-29, 29, size=720)
    np.testing.assert_allclose(clocks.combine_hour_and_minute(noisy, MINUTES), ALL)


def test_decode_hands_periodic_ignores_scale():
    y = clocks.encode_hands_periodic(HOURS, MINUTES)
    assert clocks.common_sense_error(ALL, clocks.decode_hands_periodic(2.5 * y)).max() < 1e-3


def test_unknown_family():
    with pytest.raises(ValueError, match="unknown clock model family"):
        cm.targets("astrology", ALL)
    with pytest.raises(ValueError, match="unknown clock model family"):
        cm.clock_model("astrology", (32, 32, 1))


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_error_summary_and_hour_confusion():
    true = np.array([0, 10, 100, 700])
    pred = np.array([0, 710, 160, 700 + 3.5])
    summary = cm.error_summary(true, pred)
    assert summary["mean"] == pytest.approx((0 + 20 + 60 + 3.5) / 4)
    assert summary["within_5"] == pytest.approx(0.5)
    assert summary["max"] == pytest.approx(60)
    conf = cm.hour_confusion(true, pred)
    assert conf.sum() == 4
    assert conf[0, 0] == 1 and conf[0, 11] == 1 and conf[1, 2] == 1 and conf[11, 11] == 1


# --------------------------------------------------------------------------
# Models and losses
# --------------------------------------------------------------------------


@pytest.mark.parametrize("family,n_out", [("regression", 1), ("classes_24", 24), ("classes_720", 720),
                                          ("multi_head", 13), ("periodic", 4)])
def test_clock_model_shapes(family, n_out):
    model = cm.clock_model(family, (32, 32, 1), widths=(4, 8), head_width=8)
    assert model.output_shape == (None, n_out)
    out = np.asarray(model.predict(np.zeros((2, 32, 32, 1), np.float32), verbose=0))
    assert out.shape == (2, n_out) and np.all(np.isfinite(out))
    assert cm.decode(family, out).shape == (2,)


def test_same_trunk_for_every_family():
    def trunk_params(family):
        model = cm.clock_model(family, (32, 32, 1), widths=(4, 8), head_width=8)
        return sum(layer.count_params() for layer in model.layers if layer.name.startswith(("stem", "s0", "s1")))

    counts = {f: trunk_params(f) for f in cm.FAMILIES}
    assert len(set(counts.values())) == 1, counts


def test_plain_trunk_and_gap():
    model = cm.clock_model("periodic", (32, 32, 1), widths=(4, 8), residual=False, pool="gap", blocks=2)
    assert model.output_shape == (None, 4)
    with pytest.raises(ValueError, match="pool"):
        cm.clock_model("periodic", (32, 32, 1), pool="max")


def test_multi_head_loss():
    y_true = np.array([[3, 15 / 60]], np.float32)
    logits = np.zeros((1, 12), np.float32)
    logits[0, 3] = 20.0  # sure of the right hour: cross-entropy ~ 0
    right = np.concatenate([logits, [[15 / 60]]], axis=1)
    off = np.concatenate([logits, [[21 / 60]]], axis=1)  # 6 minutes off
    unsure = np.concatenate([np.zeros((1, 12), np.float32), [[15 / 60]]], axis=1)

    def loss(pred):
        return float(ops.convert_to_numpy(cm.multi_head_loss(y_true, pred))[0])

    assert loss(right) == pytest.approx(0, abs=1e-4)
    assert loss(off) == pytest.approx(cm.MINUTE_WEIGHT * 0.1 ** 2, abs=1e-4)
    assert loss(unsure) == pytest.approx(np.log(12), abs=1e-4)


def test_clock_splits_are_seeded_and_disjoint():
    a = cm.clock_splits("easy", n_train=20, n_val=5, n_test=6, size=24, seed=1)
    b = cm.clock_splits("easy", n_train=20, n_val=5, n_test=6, size=24, seed=1)
    assert a.x_train.shape == (20, 24, 24, 1) and a.x_train.dtype == np.float32
    assert a.x_val.shape[0] == 5 and a.x_test.shape[0] == 6
    assert 0 <= a.x_train.min() and a.x_train.max() <= 1
    assert a.y_train.min() >= 0 and a.y_train.max() < 720
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train[:5], a.x_val)
    periodic = cm.for_family(a, "periodic")
    assert periodic.y_train.shape == (20, 4) and periodic.x_train is a.x_train


def test_a_tiny_model_learns_easy_clocks_and_the_callback_logs():
    keras.utils.set_random_seed(0)
    data = cm.clock_splits("easy", n_train=512, n_val=64, n_test=64, size=32, seed=0)
    fam = cm.for_family(data, "periodic")
    model = cm.clock_model("periodic", data.input_shape, widths=(8, 16), head_width=32)
    model.compile(keras.optimizers.Adam(3e-3), cm.clock_loss("periodic"))

    def val_error():
        return float(np.mean(clocks.common_sense_error(data.y_val, cm.predict_minutes(model, "periodic", data.x_val))))

    untrained = val_error()
    hist = model.fit(fam.x_train, fam.y_train, epochs=8, batch_size=64, verbose=0,
                     callbacks=[cm.time_error_callback("periodic", data.x_val, data.y_val)])
    errors = hist.history["val_time_error"]
    assert len(errors) == 8
    assert all(0 <= v <= 360 for v in errors)
    # the callback logs exactly the mean common-sense error of the model at the epoch's end
    assert errors[-1] == pytest.approx(val_error(), abs=1e-3)
    # a random reading is about 180 minutes off; the trained model (about 30 on this seed) is far better
    assert errors[-1] < 90 and errors[-1] < untrained - 50
    assert hist.history["loss"][-1] < hist.history["loss"][0]


@pytest.mark.parametrize("family", cm.FAMILIES)
def test_every_family_trains_in_mixed_precision_as_on_a_gpu(family):
    """Lab 6 sets mixed_float16 on a GPU only: each family's head, loss and decoding must work
    with float16 inside (the outputs stay float32)."""
    keras.utils.set_random_seed(0)
    data = cm.clock_splits("easy", n_train=64, n_val=32, n_test=32, size=32, seed=0)
    fam = cm.for_family(data, family)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = cm.clock_model(family, data.input_shape, widths=(4, 8), head_width=16)
        model.compile(keras.optimizers.Adam(1e-3), cm.clock_loss(family))
        hist = model.fit(fam.x_train, fam.y_train, epochs=1, batch_size=32, verbose=0,
                         callbacks=[cm.time_error_callback(family, data.x_val, data.y_val)])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("stem").compute_dtype == "float16" and model.output.dtype == "float32"
    assert np.isfinite(hist.history["loss"]).all() and 0 <= hist.history["val_time_error"][0] <= 360
    logged = float(np.mean(clocks.common_sense_error(data.y_val, cm.predict_minutes(model, family, data.x_val))))
    assert hist.history["val_time_error"][0] == pytest.approx(logged, abs=1e-3)
    minutes = cm.predict_minutes(model, family, data.x_test)
    assert minutes.shape == (32,) and np.isfinite(minutes).all() and (0 <= minutes).all() and (minutes < 720).all()


# --------------------------------------------------------------------------
# Mirror symmetry and test-time augmentation
# --------------------------------------------------------------------------


def test_a_mirrored_clock_shows_the_mirrored_time():
    h, m = np.array([1, 3, 7, 11, 0]), np.array([10, 0, 42, 59, 1])
    mirror_h, mirror_m = clocks.from_minutes(clocks.mirror_minutes(clocks.to_minutes(h, m)))
    assert clocks.format_time(mirror_h[0], mirror_m[0]) == "10:50"
    for style in ("easy", "medium"):  # medium: dial, 60 ticks, marker; fixed knobs so both draws match
        fixed = clocks.PRESETS[style].replace(rotation=0, shift=0, scale=0.9, blur=1.2, noise=0, paper=1, clutter=0,
                                              length_jitter=0)
        images = clocks.draw_clocks(h, m, fixed, size=65).astype(int)
        mirrored = clocks.draw_clocks(mirror_h, mirror_m, fixed, size=65).astype(int)
        assert np.abs(images[:, :, ::-1] - mirrored).max() <= 1


def test_circular_mean():
    np.testing.assert_allclose(cm.circular_mean([718.0, 100.0], [4.0, 110.0]), [1.0, 105.0], atol=1e-9)
    assert cm.circular_mean([5.0])[0] == pytest.approx(5.0)


def test_predict_minutes_mirrored_is_exact_for_an_exactly_mirror_symmetric_reader():
    class Oracle:  # "reads" each image by looking up its time: mirror of the mirror is the time itself
        def __init__(self, table):
            self.table = table

        def predict(self, x, batch_size=None, verbose=0):
            keys = [img.tobytes() for img in x]
            return np.stack([self.table[k] for k in keys])

    h, m = np.array([2, 9]), np.array([15, 48])
    x = clocks.draw_clocks(h, m, "easy", size=33)[..., None].astype(np.float32)
    t = clocks.to_minutes(h, m)
    t_mirror = clocks.mirror_minutes(t)
    table = {}
    for img, tt in zip(x, t):
        table[img.tobytes()] = cm.targets("periodic", [tt])[0]
    for img, tt in zip(x[:, :, ::-1], t_mirror):
        table[np.ascontiguousarray(img).tobytes()] = cm.targets("periodic", [tt])[0]
    np.testing.assert_allclose(cm.predict_minutes_mirrored(Oracle(table), "periodic", x), t, atol=1e-6)


def test_results_clear_forgets_a_lab(tmp_path, monkeypatch):
    from nnlab import results

    monkeypatch.setenv("NNLAB_RESULTS", str(tmp_path))
    results.record("lab_x", "a", 1.0)
    results.record("lab_y", "b", 2.0)
    results.clear("lab_x")
    results.clear("lab_never_recorded")  # no error
    assert [r.name for r in results.load_all(tmp_path)] == ["b"]


def test_reader_scales_raw_clocks_like_clock_splits_and_decodes():
    seen = []

    class Probe:  # records what the model is fed and answers 3:47 for every clock
        def predict(self, x, batch_size=None, verbose=0):
            seen.append(np.array(x))
            return np.repeat(cm.targets("periodic", [3 * 60 + 47]), len(x), axis=0)

    images = clocks.draw_clocks([3, 8], [47, 5], "easy", size=40)
    read = cm.reader(Probe(), "periodic")
    np.testing.assert_allclose(read(images), [227.0, 227.0], atol=1e-6)
    fed = seen[0]
    assert fed.shape == (2, 40, 40, 1) and fed.dtype == np.float32
    np.testing.assert_allclose(fed[..., 0], images.astype(np.float32) / 255.0, rtol=0, atol=1e-7)
    assert fed.max() > 0.5  # the white paper is near 1, not 1/255 (scaled once, not twice)
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        read(images[..., None])
    with pytest.raises(ValueError, match="expected uint8 clock images .* got float32"):
        read(images.astype(np.float32) / 255)   # already scaled: would be read as a black clock


def test_reader_feeds_a_model_exactly_what_clock_splits_trained_it_on():
    seen = []

    class Probe:  # records what the model is fed
        def predict(self, x, batch_size=None, verbose=0):
            seen.append(np.array(x))
            return np.zeros((len(x), 4), np.float32)

    splits = cm.clock_splits("easy", n_train=3, n_val=0, n_test=2, size=24, seed=4)
    images, times = clocks.make_clocks(3, size=24, preset="easy", seed=4 * 3)   # the training part's seed
    np.testing.assert_array_equal(clocks.to_minutes(times[:, 0], times[:, 1]), splits.y_train)
    cm.reader(Probe(), "periodic")(images)
    assert seen[0].dtype == splits.x_train.dtype == np.float32
    np.testing.assert_array_equal(seen[0], splits.x_train)   # bit for bit: one scaling for both
    assert 0.0 <= splits.x_train.min() and splits.x_train.max() <= 1.0 and splits.x_train.max() > 0.5


def test_all_names_the_public_api_the_labs_use():
    assert "reader" in cm.__all__ and all(hasattr(cm, name) for name in cm.__all__)
    assert len(cm.FAMILIES) == len(cm.FAMILY_TITLES) == 5
    for doc in (cm.__doc__, clocks.__doc__, nnlab.__doc__):   # no module counts the families differently
        assert "four model families" not in doc
    assert "five model families" in clocks.__doc__ and "five model families" in nnlab.__doc__
