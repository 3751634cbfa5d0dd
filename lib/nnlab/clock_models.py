"""Five ways to read a clock with one CNN trunk: data, models, losses and errors.

Introduced in lab 6 (Tell the time).  :mod:`nnlab.clocks` draws the clocks and
defines the common-sense error; this module turns them into experiments:

- :func:`clock_splits` generates train / validation / test clocks as a
  :class:`~nnlab.splits.Splits` whose labels are minutes past 12 (0..719);
- :func:`for_family` re-labels it for one model family (see :data:`FAMILIES`);
- :func:`clock_model` builds the same CNN trunk with that family's head, and
  :func:`clock_loss` gives the matching loss, so :func:`nnlab.training.train`
  trains any family with one call;
- :func:`predict_minutes` decodes a model's outputs back to minutes past 12,
  :func:`error_summary` sums up the common-sense errors, and
  :func:`time_error_callback` logs the validation error after every epoch.

The families (outputs → how they are read):

==============  ==============================================  ============================
family          outputs                                         decoded as
==============  ==============================================  ============================
regression      1 number: minutes past 12                       that number, wrapped
classes_24      24 softmax probabilities (half hours)           middle of the likeliest bin
classes_720     720 softmax probabilities (minutes)             the likeliest minute
multi_head      12 hour logits + 1 minute (fraction of an hour) hour · 60 + minute
periodic        (sin, cos) of the hour hand, (sin, cos) of the  minute from its pair, hour
                minute hand                                     from the hour pair
==============  ==============================================  ============================

Nothing here imports TensorFlow (``keras.ops`` only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from nnlab import clocks

if TYPE_CHECKING:
    import keras
from nnlab.splits import Splits

__all__ = [
    "FAMILIES",
    "FAMILY_TITLES",
    "clock_splits",
    "for_family",
    "targets",
    "decode",
    "clock_loss",
    "clock_model",
    "predict_minutes",
    "reader",
    "predict_minutes_mirrored",
    "circular_mean",
    "error_summary",
    "hour_confusion",
    "time_error_callback",
    "multi_head_loss",
    "code_version",
]

FAMILIES = ("regression", "classes_24", "classes_720", "multi_head", "periodic")
"""The model families of lab 6, in the order the lab shows them."""

FAMILY_TITLES = {
    "regression": "regression (common-sense loss)",
    "classes_24": "24 classes (half hours)",
    "classes_720": "720 classes (minutes)",
    "multi_head": "multi-head (hour class + minute)",
    "periodic": "periodic (sin, cos) pairs",
}
"""A readable name for each family, for tables and figures."""

MINUTE_WEIGHT = 20.0
"""Weight of the minute head's squared error (in hours) against the hour cross-entropy in
:func:`multi_head_loss`: guessing the minute blindly costs about 3.3, a 10-minute error 0.56."""


def _model_input(images: np.ndarray) -> np.ndarray:
    """Raw clock images ``(n, h, w)`` (uint8, 0..255) as the models take them: float32 in [0, 1], ``(n, h, w, 1)``.

    The one place the scaling is written, so :func:`clock_splits` (training data) and
    :func:`reader` (new clocks) always feed a model the same way.
    """
    x = np.asarray(images)[..., None].astype(np.float32)
    x /= 255.0
    return x


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"unknown clock model family {family!r}; choose one of {list(FAMILIES)}")
    return family


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def clock_splits(
    preset: str | clocks.ClockStyle = "easy",
    *,
    n_train: int,
    n_val: int,
    n_test: int,
    size: int = 64,
    seed: int = 0,
) -> Splits:
    """Generate clocks for one experiment, labelled with minutes past 12.

    Train, validation and test clocks come from three different seeds
    (derived from ``seed``). The same *time* is in several splits (there are
    only 720), but every preset varies its clocks, so not the same image; a
    ``ClockStyle`` without random knobs would make each test clock a copy of
    training clocks of the same time.  Images are float32 in
    [0, 1] of shape ``(n, size, size, 1)``; labels are int64 in 0..719.

    Introduced in lab 6 (Tell the time).
    """
    name = preset if isinstance(preset, str) else "custom"
    arrays = []
    for part, n in enumerate((n_train, n_val, n_test)):
        images, times = clocks.make_clocks(n, size=size, preset=preset, seed=seed * 3 + part)
        arrays += [_model_input(images), clocks.to_minutes(times[:, 0], times[:, 1]).astype(np.int64)]
    return Splits(
        name=f"clocks-{name}-{size}px",
        x_train=arrays[0], y_train=arrays[1],
        x_val=arrays[2] if n_val else None, y_val=arrays[3] if n_val else None,
        x_test=arrays[4], y_test=arrays[5],
        class_names=(),
        source="nnlab.clocks (generated)",
        note=f"preset {name}, seed {seed}",
    )


def targets(family: str, minutes: Any) -> np.ndarray:
    """The training targets of ``family`` for times given as minutes past 12.

    Introduced in lab 6 (Tell the time).
    """
    hours, mins = clocks.from_minutes(minutes)
    family = _check_family(family)
    if family == "regression":
        return clocks.encode_regression(hours, mins)
    if family == "classes_24":
        return clocks.encode_half_hours(hours, mins).astype(np.int64)
    if family == "classes_720":
        return clocks.encode_minute_classes(hours, mins).astype(np.int64)
    if family == "multi_head":  # one array, so the Splits machinery carries it: (hour, minute / 60)
        hour, fraction = clocks.encode_multi_head(hours, mins)
        return np.stack([hour.astype(np.float32), fraction], axis=-1)
    return clocks.encode_hands_periodic(hours, mins)


def decode(family: str, outputs: Any) -> np.ndarray:
    """Minutes past 12 (float, 0..720) from a model's raw outputs.

    Introduced in lab 6 (Tell the time).
    """
    family = _check_family(family)
    outputs = np.asarray(outputs)
    if family == "regression":
        return clocks.decode_regression(outputs)
    if family == "classes_24":
        return clocks.decode_half_hours(outputs.argmax(axis=-1)).astype(np.float64)
    if family == "classes_720":
        return clocks.decode_minute_classes(outputs.argmax(axis=-1)).astype(np.float64)
    if family == "multi_head":
        return clocks.decode_multi_head(outputs[:, :12].argmax(axis=-1), outputs[:, 12])
    return clocks.decode_hands_periodic(outputs)


def for_family(splits: Splits, family: str) -> Splits:
    """The same images with labels (minutes past 12) encoded for ``family``.

    Introduced in lab 6 (Tell the time).
    """
    return replace(
        splits,
        y_train=targets(family, splits.y_train),
        y_val=None if splits.y_val is None else targets(family, splits.y_val),
        y_test=targets(family, splits.y_test),
    )


# --------------------------------------------------------------------------
# Losses (keras.ops only)
# --------------------------------------------------------------------------


def multi_head_loss(y_true, y_pred):
    """Loss of the multi-head model: hour cross-entropy + :data:`MINUTE_WEIGHT` × minute squared error.

    ``y_true`` is ``(n, 2)``: hour class and minute / 60 (:func:`targets`);
    ``y_pred`` is ``(n, 13)``: 12 hour logits and the minute head's output
    (a fraction of an hour).  The minute error is the plain difference, as
    in Report 004: a circular one (59 and 1 minutes past are 2 minutes
    apart) sounds better but gives a single output no target it can follow
    continuously round the dial, and the minute head then learns nothing.

    Introduced in lab 6 (Tell the time).
    """
    import keras
    from keras import ops

    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    hour_ce = keras.losses.sparse_categorical_crossentropy(
        ops.cast(y_true[:, 0], "int32"), y_pred[:, :12], from_logits=True)
    return hour_ce + MINUTE_WEIGHT * ops.square(y_true[:, 1] - y_pred[:, 12])


def clock_loss(family: str) -> str | Callable:
    """The loss that trains ``family`` (a Keras name or a function).

    Introduced in lab 6 (Tell the time).
    """
    family = _check_family(family)
    return {
        "regression": clocks.common_sense_loss,
        "classes_24": "sparse_categorical_crossentropy",
        "classes_720": "sparse_categorical_crossentropy",
        "multi_head": multi_head_loss,
        "periodic": "mean_squared_error",
    }[family]


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


def _conv(x, filters: int, kernel: int, strides: int, batch_norm: bool, name: str):
    from keras import layers

    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=not batch_norm, name=name)(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return x


def _trunk(x, widths: Sequence[int], blocks: int, residual: bool, batch_norm: bool, pool: str):
    """Stem (5×5, stride 2), then one stage per width that halves the map, then flatten or pool."""
    from keras import layers

    x = layers.Activation("relu", name="stem_relu")(_conv(x, widths[0], 5, 2, batch_norm, "stem"))
    for stage, width in enumerate(widths):
        for block in range(blocks):
            name = f"s{stage}b{block}"
            strides = 2 if block == 0 else 1
            if residual:  # y = relu(x' + conv(relu(conv(x)))), x' = x or a 1×1 projection
                y = layers.Activation("relu", name=f"{name}_relu1")(_conv(x, width, 3, strides, batch_norm, f"{name}_conv1"))
                y = _conv(y, width, 3, 1, batch_norm, f"{name}_conv2")
                shortcut = x
                if strides != 1 or x.shape[-1] != width:
                    shortcut = _conv(x, width, 1, strides, batch_norm, f"{name}_proj")
                x = layers.Activation("relu", name=f"{name}_out")(layers.Add(name=f"{name}_add")([y, shortcut]))
            else:  # plain: conv, relu (and a 2×2 max-pool instead of the stride)
                x = layers.Activation("relu", name=f"{name}_relu")(_conv(x, width, 3, 1, batch_norm, f"{name}_conv"))
                if strides == 2:
                    x = layers.MaxPooling2D(2, padding="same", name=f"{name}_pool")(x)
    if pool == "flatten":  # keeps *where* things are: a hand's direction is a position
        return layers.Flatten(name="flatten")(x)
    return layers.GlobalAveragePooling2D(name="gap")(x)


def clock_model(
    family: str,
    input_shape: Sequence[int],
    *,
    widths: Sequence[int] = (32, 64, 128),
    blocks: int = 1,
    residual: bool = True,
    batch_norm: bool = True,
    head_width: int = 256,
    dropout: float = 0.0,
    pool: str = "flatten",
    name: str | None = None,
) -> keras.Model:
    """The shared CNN trunk with the head of one model family (an uncompiled Keras model).

    Trunk: a 5×5 stride-2 stem with ``widths[0]`` filters, then one stage per
    entry of ``widths``, each halving the map: ``blocks`` residual blocks (two
    3×3 convolutions and a shortcut; the first block strides) or, with
    ``residual=False``, plain conv + 2×2 max-pool.  Batch norm after every
    convolution when ``batch_norm``.  The map is flattened (``pool="flatten"``)
    or averaged (``"gap"``).  Head: a dense layer of ``head_width`` ReLU units
    (one per branch for ``multi_head``), optional dropout, and the family's
    output layer (see the module docstring).  Every family gets the same
    trunk and hidden width, so they differ only in what they must output.

    Compile it with :func:`clock_loss`; train on :func:`for_family` targets.

    Introduced in lab 6 (Tell the time).

    Example:
        >>> m = clock_model("periodic", (64, 64, 1), widths=(8, 16))
        >>> m.output_shape
        (None, 4)
    """
    import keras
    from keras import layers

    family = _check_family(family)
    if pool not in ("flatten", "gap"):
        raise ValueError(f"pool must be 'flatten' or 'gap', got {pool!r}")
    if not widths or blocks < 1:
        raise ValueError(f"need at least one stage and one block, got widths={tuple(widths)}, blocks={blocks}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    inputs = keras.Input(shape=tuple(input_shape), name="pixels")
    features = _trunk(inputs, widths, blocks, residual, batch_norm, pool)

    def hidden(tag: str):
        h = layers.Dense(head_width, activation="relu", name=f"{tag}_dense")(features)
        return layers.Dropout(dropout, name=f"{tag}_dropout")(h) if dropout else h

    if family == "regression":  # the dense layer outputs hours; ×60 makes minutes past 12
        hours = layers.Dense(1, name="hours", dtype="float32")(hidden("head"))
        outputs = layers.Rescaling(60.0, name="minutes", dtype="float32")(hours)
    elif family in ("classes_24", "classes_720"):
        n = 24 if family == "classes_24" else 720
        outputs = layers.Dense(n, activation="softmax", name="classes", dtype="float32")(hidden("head"))
    elif family == "multi_head":
        hour = layers.Dense(12, name="hour_logits", dtype="float32")(hidden("hour"))
        minute = layers.Dense(1, name="minute", dtype="float32")(hidden("minute"))
        outputs = layers.Concatenate(name="hour_and_minute", dtype="float32")([hour, minute])
    else:
        outputs = layers.Dense(4, name="sin_cos", dtype="float32")(hidden("head"))
    return keras.Model(inputs, outputs, name=name or f"clock_{family}")


# --------------------------------------------------------------------------
# Reading the time back, and how wrong it is
# --------------------------------------------------------------------------


def predict_minutes(model: Any, family: str, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """The model's reading of each clock in ``x``, in minutes past 12.

    Introduced in lab 6 (Tell the time).
    """
    return decode(family, model.predict(x, batch_size=batch_size, verbose=0))



def reader(model: Any, family: str) -> Callable[[np.ndarray], np.ndarray]:
    """A function that reads raw clock images the way :func:`clock_splits` feeds them to ``model``.

    The function takes ``(n, h, w)`` uint8 images as :func:`nnlab.clocks.make_clocks` and
    :func:`nnlab.clocks.draw_clocks` return them, scales them to [0, 1] with a channel axis,
    and returns minutes past 12 — what :func:`nnlab.widgets.explore_clock` asks of a model.

    Introduced in lab 6 (Tell the time).
    """
    family = _check_family(family)

    def read(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim != 3:
            raise ValueError(f"expected clock images of shape (n, h, w), got {images.shape}")
        if images.dtype != np.uint8:   # scaled images would be divided by 255 a second time
            raise ValueError(f"expected uint8 clock images (0..255) as make_clocks and draw_clocks return them, "
                             f"got {images.dtype}: pass the images before scaling them")
        return predict_minutes(model, family, _model_input(images))

    return read

def circular_mean(*readings: Any) -> np.ndarray:
    """The mean of several readings of each clock, taken round the dial (minutes past 12).

    Readings of 11:58 and 0:04 average to 0:01, not to 6:01.

    Introduced in lab 6 (Tell the time).
    """
    angles = 2 * np.pi * np.stack([np.asarray(r, dtype=np.float64) for r in readings]) / clocks.MINUTES_PER_DIAL
    mean = np.arctan2(np.sin(angles).mean(axis=0), np.cos(angles).mean(axis=0))
    return clocks.wrap(mean / (2 * np.pi) * clocks.MINUTES_PER_DIAL)


def predict_minutes_mirrored(model: Any, family: str, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Test-time augmentation with a mirror: read each clock and its left-right mirror image.

    A mirrored clock shows :func:`nnlab.clocks.mirror_minutes` of the time, so
    the mirror's reading is mapped back and averaged with the direct one
    (:func:`circular_mean`).  ``x`` is ``(n, h, w, 1)``.

    Introduced in lab 6 (Tell the time).
    """
    direct = predict_minutes(model, family, x, batch_size)
    mirrored = clocks.mirror_minutes(predict_minutes(model, family, x[:, :, ::-1], batch_size))
    return circular_mean(direct, mirrored)


def error_summary(true_minutes: Any, pred_minutes: Any) -> dict[str, float]:
    """Mean and median common-sense error (minutes), share within 5 minutes, worst error.

    Introduced in lab 6 (Tell the time).
    """
    err = clocks.common_sense_error(true_minutes, pred_minutes)
    return {
        "mean": float(np.mean(err)),
        "median": float(np.median(err)),
        "within_5": float(np.mean(err <= 5)),
        "max": float(np.max(err)),
    }


def hour_confusion(true_minutes: Any, pred_minutes: Any) -> np.ndarray:
    """12×12 counts of (true hour, read hour), hour 0 being 12 o'clock.

    The read hour is the whole hours of the reading, so 2:58 read as 3:01
    counts as a 2 → 3 confusion.

    Introduced in lab 6 (Tell the time).
    """
    true_h = (np.asarray(true_minutes) // 60).astype(int) % 12
    pred_h = (clocks.wrap(pred_minutes) // 60).astype(int)
    cm = np.zeros((12, 12), dtype=np.int64)
    np.add.at(cm, (true_h, pred_h), 1)
    return cm


def time_error_callback(family: str, x_val: np.ndarray, minutes_val: Any, key: str = "val_time_error"):
    """A Keras callback that adds the mean common-sense validation error to the epoch logs.

    The value lands in the history (and so in :func:`nnlab.plots.learning_curves`)
    as ``key``.  Use it through a factory: ``callbacks=lambda: [time_error_callback(...)]``.

    Introduced in lab 6 (Tell the time).
    """
    import keras

    minutes_val = np.asarray(minutes_val)

    class TimeError(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs[key] = float(np.mean(clocks.common_sense_error(
                    minutes_val, predict_minutes(self.model, family, x_val))))

    return TimeError()


def code_version() -> str:
    """A short hash of this module and :mod:`nnlab.clocks`, for cache keys of clock runs.

    Introduced in lab 6 (Tell the time).
    """
    from nnlab.training import source_hash

    return source_hash("clock_models.py", "clocks.py")
