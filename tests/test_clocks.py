"""Tests for nnlab.clocks: the clock generator, time metrics and label encodings."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import clocks
from nnlab.clocks import (
    PRESETS,
    ClockStyle,
    common_sense_error,
    draw_clocks,
    from_minutes,
    make_clocks,
    to_minutes,
)

# Only the hands and the hub: no dial, ticks or 12 marker, no randomness.
BARE = ClockStyle(dial="none", ticks=0, marker_12=False)
SIZE = 151  # odd, so the centre is pixel (75, 75)
C = SIZE // 2
RADIUS = 0.9 * SIZE / 2  # dial radius in pixels for the default scale
DARK, LIGHT = 64, 200


def ray(image: np.ndarray, clock_angle_deg: float, r_from: float, r_to: float) -> np.ndarray:
    """Pixel values along a ray from the centre at a clock angle (clockwise from 12),
    between ``r_from`` and ``r_to`` dial radii."""
    a = np.deg2rad(clock_angle_deg)
    r = np.linspace(r_from, r_to, 20) * RADIUS
    cols = np.rint(C + r * np.sin(a)).astype(int)
    rows = np.rint(C - r * np.cos(a)).astype(int)
    return image[rows, cols]


# --------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------


def test_three_oclock_hands_are_where_they_must_be():
    (image,) = draw_clocks([3], [0], BARE, size=SIZE)
    hour_end = BARE.hour_length  # 0.5 radii
    minute_end = BARE.minute_length  # 0.85 radii
    # Hour hand along +x (3 o'clock): dark up to its length, paper beyond.
    assert image[C, C + 5 : C + int(0.9 * hour_end * RADIUS)].max() < DARK
    assert image[C, C + int(1.15 * hour_end * RADIUS) : SIZE].min() > LIGHT
    # Minute hand straight up (12 o'clock): rows above the centre.
    assert image[C - int(0.95 * minute_end * RADIUS) : C - 5, C].max() < DARK
    assert image[: C - int(1.1 * minute_end * RADIUS), C].min() > LIGHT
    # Nothing towards 6 or 9 o'clock (beyond the hub).
    assert image[C + 8 :, C].min() > LIGHT
    assert image[C, : C - 8].min() > LIGHT
    # Paper around the hands; the hub is dark.
    assert image[C, C] < DARK
    assert image[10, 10] == 255


def test_hour_hand_includes_minute_progress():
    (image,) = draw_clocks([3], [30], BARE, size=SIZE)
    # 3:30: the hour hand is half-way from 3 to 4, at 105 degrees.
    assert ray(image, 105, 0.15, 0.45).max() < DARK
    assert ray(image, 90, 0.3, 0.45).min() > LIGHT
    # The minute hand points straight down.
    assert ray(image, 180, 0.15, 0.8).max() < DARK
    assert image[: C - 8, C].min() > LIGHT


def test_minute_hand_angle():
    (image,) = draw_clocks([0], [20], BARE, size=SIZE)
    assert ray(image, 120, 0.15, 0.8).max() < DARK  # 20 minutes = 4 o'clock
    assert ray(image, 10, 0.15, 0.45).max() < DARK  # hour hand just past 12 (10 degrees)
    assert ray(image, 240, 0.15, 0.8).min() > LIGHT


def test_default_style_has_dial_ticks_and_marker():
    (image,) = draw_clocks([6], [30], ClockStyle(), size=SIZE)
    assert ray(image, 0, 0.75, 0.9).max() < DARK  # 12 o'clock marker
    assert ray(image, 90, 0.87, 0.93).max() < DARK  # the 3 o'clock tick
    assert ray(image, 75, 0.87, 0.93).min() > LIGHT  # between ticks
    assert image[C, C + round(RADIUS)] < DARK  # the dial ring at 3 o'clock
    assert image[0, 0] == 255


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_shapes_dtypes_and_ranges(preset):
    images, times = make_clocks(40, size=64, preset=preset, seed=3)
    assert images.shape == (40, 64, 64) and images.dtype == np.uint8
    assert times.shape == (40, 2) and times.dtype == np.int64
    assert times[:, 0].min() >= 0 and times[:, 0].max() <= 11
    assert times[:, 1].min() >= 0 and times[:, 1].max() <= 59
    assert images.min() < 50 and images.max() > 150  # ink on paper


def test_images_show_the_times_returned_with_them():
    # ClockStyle() has no random knobs, so the same times drawn again give the same pixels.
    images, times = make_clocks(20, size=32, preset=ClockStyle(), seed=3)
    np.testing.assert_array_equal(images, draw_clocks(times[:, 0], times[:, 1], ClockStyle(), size=32))
    assert not np.array_equal(images, draw_clocks(times[::-1, 0], times[::-1, 1], ClockStyle(), size=32))
    # Hours are taken modulo 12: 12:00 is 0:00, and hour -1 is 11.
    np.testing.assert_array_equal(draw_clocks([12], [0], BARE, size=32), draw_clocks([0], [0], BARE, size=32))
    np.testing.assert_array_equal(draw_clocks([-1], [5], BARE, size=32), draw_clocks([11], [5], BARE, size=32))


def test_zero_clocks():
    images, times = make_clocks(0)
    assert images.shape == (0, 150, 150) and times.shape == (0, 2)


def test_times_cover_the_dial():
    _, times = make_clocks(3000, size=16, seed=0)
    assert set(times[:, 0]) == set(range(12))
    assert set(times[:, 1]) == set(range(60))


@pytest.mark.parametrize("preset", ["easy", "hard"])
def test_same_seed_same_images_different_seed_differs(preset):
    a_images, a_times = make_clocks(40, size=64, preset=preset, seed=7)
    b_images, b_times = make_clocks(40, size=64, preset=preset, seed=7)
    c_images, c_times = make_clocks(40, size=64, preset=preset, seed=8)
    np.testing.assert_array_equal(a_images, b_images)
    np.testing.assert_array_equal(a_times, b_times)
    assert not np.array_equal(a_times, c_times)
    assert not np.array_equal(a_images, c_images)


def test_result_does_not_depend_on_threads(monkeypatch):
    threaded, _ = make_clocks(50, size=48, preset="hard", seed=5)
    monkeypatch.setattr(clocks.os, "cpu_count", lambda: 1)
    serial, _ = make_clocks(50, size=48, preset="hard", seed=5)
    np.testing.assert_array_equal(threaded, serial)


def test_draw_clocks_style_seed_changes_random_knobs_only():
    hours, minutes = [1, 2, 3], [4, 5, 6]
    a = draw_clocks(hours, minutes, "hard", size=64, seed=1)
    b = draw_clocks(hours, minutes, "hard", size=64, seed=2)
    assert a.shape == (3, 64, 64) and not np.array_equal(a, b)
    # A style without random knobs ignores the seed.
    np.testing.assert_array_equal(
        draw_clocks(hours, minutes, ClockStyle(), size=64, seed=1),
        draw_clocks(hours, minutes, ClockStyle(), size=64, seed=2),
    )


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_no_preset_repeats_an_image(preset):
    """Every preset varies its clocks, so the same time twice is two different images and a
    model cannot pass the test clocks by remembering training clocks (720 times, thousands of
    clocks: a preset without random knobs would repeat each image many times)."""
    hours, minutes = np.full(50, 10), np.full(50, 8)
    images = draw_clocks(hours, minutes, preset, size=64, seed=0)
    assert len({image.tobytes() for image in images}) == 50


def test_overrides_change_the_style():
    plain, _ = make_clocks(4, size=64, seed=0)
    rotated, _ = make_clocks(4, size=64, seed=0, rotation=180)
    assert not np.array_equal(plain, rotated)
    assert PRESETS["easy"].replace(blur=2.0).blur == (2.0, 2.0)  # a number means a fixed value


@pytest.mark.parametrize(
    "call",
    [
        lambda: make_clocks(-1),
        lambda: make_clocks(2.5),
        lambda: make_clocks(2, preset="impossible"),
        lambda: make_clocks(2, wobble=3),
        lambda: make_clocks(2, size=0),
        lambda: make_clocks(2, ticks=7),
        lambda: make_clocks(2, dial="square"),
        lambda: make_clocks(2, scale=(0.9, 0.5)),
        lambda: make_clocks(2, scale=0.0),          # every pixel black, with a divide-by-zero warning
        lambda: make_clocks(2, minute_width=0.0),
        lambda: make_clocks(2, hour_length=-0.5),
        lambda: make_clocks(2, paper=(0.5, 1.5)),   # brightness above 1 would saturate, not fail
        lambda: make_clocks(2, clutter_ink=2.0),
        lambda: make_clocks(2, rotation=-10),
        lambda: make_clocks(2, rotation=360),
        lambda: make_clocks(2, tail=-0.1),
        lambda: make_clocks(2, clutter=1.5),
        lambda: draw_clocks([1, 2], [3]),
        lambda: draw_clocks([1], [60]),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_error_messages_are_clear():
    with pytest.raises(ValueError, match="non-negative"):
        make_clocks(-3)
    with pytest.raises(ValueError, match="unknown clock preset 'nope'.*easy"):
        make_clocks(1, preset="nope")
    with pytest.raises(ValueError, match="unknown ClockStyle knob"):
        make_clocks(1, wobble=1)
    with pytest.raises(ValueError, match=r"ClockStyle.paper is a brightness, 0..1, got \(0.5, 1.5\)"):
        make_clocks(1, paper=(0.5, 1.5))


def test_benchmark_reports_a_speed():
    assert clocks.benchmark(16) > 0


# --------------------------------------------------------------------------
# Times and the common-sense error
# --------------------------------------------------------------------------


def test_common_sense_error_wraps_around():
    assert common_sense_error(to_minutes(11, 50), to_minutes(0, 10)) == 20
    assert common_sense_error(to_minutes(0, 10), to_minutes(11, 50)) == 20
    assert common_sense_error(0, 360) == 360
    assert common_sense_error(0, 0) == 0
    assert common_sense_error(5, 725) == 0  # one full turn
    assert common_sense_error(-10, 10) == 20
    assert common_sense_error(10.0, 709.5) == pytest.approx(20.5)


def test_common_sense_error_symmetric_and_bounded():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1000, 2000, size=(2, 1000))
    error = common_sense_error(a, b)
    np.testing.assert_allclose(error, common_sense_error(b, a))
    assert error.min() >= 0 and error.max() <= 360


def test_minutes_round_trip():
    total = np.arange(720)
    hours, minutes = from_minutes(total)
    assert hours.min() == 0 and hours.max() == 11 and minutes.max() == 59
    np.testing.assert_array_equal(to_minutes(hours, minutes), total)
    assert to_minutes(12, 5) == 5
    assert [int(v) for v in from_minutes(-10)] == [11, 50]
    assert clocks.format_time(0, 5) == "12:05"


# --------------------------------------------------------------------------
# Encoders and decoders
# --------------------------------------------------------------------------

ALL_HOURS, ALL_MINUTES = from_minutes(np.arange(720))
ALL_TOTAL = np.arange(720)


def test_regression_round_trip():
    y = clocks.encode_regression(ALL_HOURS, ALL_MINUTES)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(clocks.decode_regression(y), ALL_TOTAL)
    assert clocks.decode_regression([-10.0])[0] == pytest.approx(710)


def test_half_hour_classes():
    y = clocks.encode_half_hours(ALL_HOURS, ALL_MINUTES)
    assert y.min() == 0 and y.max() == 23 and np.bincount(y).tolist() == [30] * 24
    assert common_sense_error(ALL_TOTAL, clocks.decode_half_hours(y)).max() <= 15
    assert clocks.encode_half_hours(11, 59) == 23


def test_minute_classes_round_trip():
    y = clocks.encode_minute_classes(ALL_HOURS, ALL_MINUTES)
    np.testing.assert_array_equal(clocks.decode_minute_classes(y), ALL_TOTAL)


def test_multi_head_round_trip():
    hour_class, minute_fraction = clocks.encode_multi_head(ALL_HOURS, ALL_MINUTES)
    assert hour_class.max() == 11 and 0 <= minute_fraction.min() and minute_fraction.max() < 1
    np.testing.assert_allclose(clocks.decode_multi_head(hour_class, minute_fraction), ALL_TOTAL, atol=1e-4)


def test_periodic_round_trip():
    y = clocks.encode_periodic(ALL_HOURS, ALL_MINUTES)
    assert y.shape == (720, 2) and y.dtype == np.float32
    np.testing.assert_allclose(np.hypot(y[:, 0], y[:, 1]), 1, atol=1e-6)
    decoded = clocks.decode_periodic(y)
    assert common_sense_error(ALL_TOTAL, decoded).max() < 1e-3
    # Only the direction counts.
    assert common_sense_error(clocks.decode_periodic(3 * y), ALL_TOTAL).max() < 1e-3
    # 3:00 is a quarter turn: sin 1, cos 0.
    np.testing.assert_allclose(clocks.encode_periodic([3], [0])[0], [1, 0], atol=1e-6)


def test_decoders_stay_on_the_dial_at_the_wrap():
    # Just below 12:00, np.mod alone rounds to 720.0 (np.mod(-1e-14, 720) == 720.0).
    below = {
        "regression": clocks.decode_regression([-1e-14, 719.99, 720.0, -720.0]),
        "multi-head": clocks.decode_multi_head([0, 11, 0], [-1e-17, 0.999, 1.0]),
        "periodic": clocks.decode_periodic([[-1e-17, 1.0], [0.0, 1.0]]),
        "hands": clocks.decode_hands_periodic([[-1e-17, 1.0, -1e-17, 1.0]]),
    }
    for name, minutes in below.items():
        assert ((minutes >= 0) & (minutes < 720)).all(), (name, minutes)
    np.testing.assert_allclose(below["regression"], [0, 719.99, 0, 0], atol=1e-9)
    np.testing.assert_allclose(below["multi-head"], [0, 719.94, 60], atol=1e-9)
    # The minute head is an offset from the hour class, not read modulo 1: a hair below 0 is just
    # before the class's hour (not 59 minutes past it), 1.02 is 1.2 minutes into the next hour.
    np.testing.assert_allclose(clocks.decode_multi_head([3, 0, 11], [-0.01, 1.02, 1.01]), [179.4, 61.2, 0.6], atol=1e-9)
    assert clocks.wrap(-1e-14) == 0.0 and clocks.wrap(-30.0) == 690.0 and clocks.wrap(61.5, 60.0) == 1.5


# --------------------------------------------------------------------------
# Keras (backend-agnostic keras.ops)
# --------------------------------------------------------------------------


def test_keras_loss_and_metrics_match_numpy():
    import keras  # a hard dependency: a broken install fails here instead of skipping
    rng = np.random.default_rng(1)
    true = rng.integers(0, 720, size=64).astype("float32")
    pred = rng.uniform(-100, 900, size=64).astype("float32")
    pred[:3] = [10, 710, 360]
    true[:3] = [710, 10, 0]
    expected = common_sense_error(true, pred)

    # Per-sample values, with (n, 1) targets and outputs as Keras passes them.
    loss = keras.ops.convert_to_numpy(clocks.common_sense_loss(true[:, None], pred[:, None]))
    np.testing.assert_allclose(loss, expected, atol=1e-3)
    assert loss[:3].tolist() == pytest.approx([20, 20, 360], abs=1e-3)
    # (n,) targets against (n, 1) outputs: no accidental (n, n) broadcast.
    metric = keras.ops.convert_to_numpy(clocks.common_sense_mae(true, pred[:, None]))
    np.testing.assert_allclose(metric, expected, atol=1e-3)

    periodic = clocks.periodic_common_sense_mae(
        clocks.encode_periodic(*from_minutes(true)), clocks.encode_periodic(*from_minutes(pred))
    )
    expected_rounded = common_sense_error(true, np.rint(pred))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(periodic), expected_rounded, atol=0.05)


def test_common_sense_metric_is_the_loss_under_its_own_name():
    import keras  # a hard dependency: a broken install fails here instead of skipping
    rng = np.random.default_rng(2)
    true = rng.integers(0, 720, size=(16, 1)).astype("float32")
    pred = rng.uniform(-800, 1500, size=(16, 1)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(clocks.common_sense_mae(true, pred)),
                                  keras.ops.convert_to_numpy(clocks.common_sense_loss(true, pred)))
    # compiled together: the metric keeps its own name in the logs and reports the same mean as the loss
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(loss=clocks.common_sense_loss, metrics=[clocks.common_sense_mae])
    logs = model.evaluate(pred, true, batch_size=16, verbose=0, return_dict=True)
    assert set(logs) >= {"loss", "common_sense_mae"}
    assert logs["common_sense_mae"] == pytest.approx(logs["loss"], rel=1e-5)
    assert 0 < logs["loss"] <= 360


def test_keras_loss_has_gradient_towards_the_short_way_round():
    """On every backend: 700 should move up (to 720 = 0, then 10), 20 should move down."""
    import keras  # a hard dependency: a broken install fails here instead of skipping
    from nnlab.gradcheck import backend_gradient

    # One-hot inputs through a bias-free Dense(1): the kernel's two rows *are* the predictions.
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    model.layers[0].kernel.assign(np.array([[700.0], [20.0]], dtype="float32"))
    x = np.eye(2, dtype="float32")
    true = np.array([[10.0], [10.0]], dtype="float32")
    grad = backend_gradient(model, x, true, clocks.common_sense_loss, model.layers[0].kernel)
    # backend_gradient differentiates the mean over the two examples, hence the factor 2.
    assert (2 * grad.ravel()).tolist() == pytest.approx([-1.0, 1.0])
