"""Keras 3 model builders shared by the labs, written for any backend.

Introduced in lab 1 (Initialization); the CNN builder in lab 5 (Feature maps).
Nothing here imports TensorFlow: the same code runs with ``KERAS_BACKEND=jax`` or ``torch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
from keras import layers


def _regularizer(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    if l1 and l2:
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    if l1:
        return keras.regularizers.L1(l1)
    if l2:
        return keras.regularizers.L2(l2)
    return None


Initializer = str | keras.initializers.Initializer


def layer_initializer(initializer: Initializer, index: int) -> Initializer:
    """The initializer for the ``index``-th layer of a network built with ``initializer``.

    A Keras 3 initializer *object* seeded with an integer — or unseeded: it then fixes a
    random integer when it is created — draws the same numbers on every call, so one object
    handed to several layers gives every layer of the same shape the *same* weights (eight
    identical 64×64 matrices instead of eight independent ones). Each layer therefore gets a
    copy seeded ``seed + index``: still reproducible, no longer repeated. A name such as
    ``"he_normal"`` (Keras makes a fresh object per layer), an initializer without a seed
    (``Constant``, ``Zeros``) and one seeded with a ``SeedGenerator`` (a new draw per call) are
    used as they are.
    """
    if isinstance(initializer, str) or not isinstance(getattr(initializer, "seed", None), int):
        return initializer
    config = initializer.get_config()
    config["seed"] = initializer.seed + index
    return type(initializer).from_config(config)


def mlp(
    input_shape: Sequence[int],
    hidden: Sequence[int] = (256, 128),
    n_outputs: int = 10,
    *,
    activation: str = "relu",
    output_activation: str | None = "softmax",
    kernel_initializer: Initializer = "glorot_uniform",
    bias_initializer: Initializer = "zeros",
    dropout: float = 0.0,
    kernel_l1: float = 0.0,
    kernel_l2: float = 0.0,
    bias_l1: float = 0.0,
    bias_l2: float = 0.0,
    batch_norm: bool = False,
    name: str = "mlp",
) -> keras.Model:
    """A multilayer perceptron: flatten, ``hidden`` dense layers, one output layer.

    ``dropout`` is applied after every hidden layer; the regularisation strengths act on
    every dense layer's kernel and bias. Layers are named ``dense_0 … dense_k`` and
    ``output`` so that labs can look inside by name. An initializer object gives each layer
    its own draws (:func:`layer_initializer`).
    """
    if any(width <= 0 for width in hidden):
        raise ValueError(f"hidden widths must be positive, got {tuple(hidden)}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    inputs = keras.Input(shape=tuple(input_shape), name="pixels")
    x = layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    kernel_reg = _regularizer(kernel_l1, kernel_l2)
    bias_reg = _regularizer(bias_l1, bias_l2)
    for i, width in enumerate(hidden):
        x = layers.Dense(
            width,
            kernel_initializer=layer_initializer(kernel_initializer, i),
            bias_initializer=layer_initializer(bias_initializer, i),
            kernel_regularizer=kernel_reg,
            bias_regularizer=bias_reg,
            name=f"dense_{i}",
        )(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"bn_{i}")(x)
        x = layers.Activation(activation, name=f"act_{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = layers.Dense(
        n_outputs,
        activation=output_activation,
        kernel_initializer=layer_initializer(kernel_initializer, len(hidden)),
        bias_initializer=layer_initializer(bias_initializer, len(hidden)),
        kernel_regularizer=kernel_reg,
        bias_regularizer=bias_reg,
        name="output",
        dtype="float32",
    )(x)
    return keras.Model(inputs, outputs, name=name)


def cnn(
    input_shape: Sequence[int],
    filters: Sequence[int] = (32, 64),
    n_outputs: int = 10,
    *,
    kernel_size: int = 3,
    strides: int = 1,
    pooling: str | None = "max",
    padding: str = "same",
    convs_per_block: int = 1,
    dense: Sequence[int] = (128,),
    activation: str = "relu",
    output_activation: str | None = "softmax",
    dropout: float = 0.0,
    l2: float = 0.0,
    batch_norm: bool = False,
    global_pool: bool = False,
    pool_last: bool = True,
    augmentation: Sequence[keras.layers.Layer] = (),
    name: str = "cnn",
) -> keras.Model:
    """A plain CNN: blocks of convolutions, each ending in a 2×2 pool, then dense layers.

    ``pooling`` is ``"max"``, ``"average"`` or ``None`` (no pools: the blocks follow each other
    at full resolution); ``pool_last=False`` leaves the last block without its pool (Report 003's
    CIFAR-10 network flattens its third conv layer's maps at 8×8); ``global_pool`` replaces the
    flatten before the dense head with a global average pool (far fewer parameters).
    Conv layers are named ``conv_<block>_<i>`` so that feature maps can be read by name.
    """
    if pooling not in ("max", "average", None):
        raise ValueError(f"pooling must be 'max', 'average' or None, got {pooling!r}")
    if padding not in ("same", "valid"):
        raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
    inputs = keras.Input(shape=tuple(input_shape), name="pixels")
    x = inputs
    for layer in augmentation:
        x = layer(x)
    reg = _regularizer(0.0, l2)
    for block, n_filters in enumerate(filters):
        for i in range(convs_per_block):
            x = layers.Conv2D(
                n_filters,
                kernel_size,
                strides=strides if i == 0 else 1,
                padding=padding,
                kernel_regularizer=reg,
                use_bias=not batch_norm,
                name=f"conv_{block}_{i}",
            )(x)
            if batch_norm:
                x = layers.BatchNormalization(name=f"bn_{block}_{i}")(x)
            x = layers.Activation(activation, name=f"act_{block}_{i}")(x)
        pool_here = pool_last or block < len(filters) - 1
        if pool_here and pooling == "max":
            x = layers.MaxPooling2D(2, padding="same", name=f"pool_{block}")(x)
        elif pool_here and pooling == "average":
            x = layers.AveragePooling2D(2, padding="same", name=f"pool_{block}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x) if global_pool else layers.Flatten(name="flatten")(x)
    for i, width in enumerate(dense):
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
        x = layers.Dense(width, activation=activation, kernel_regularizer=reg, name=f"dense_{i}")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout_out")(x)
    outputs = layers.Dense(
        n_outputs, activation=output_activation, kernel_regularizer=reg, name="output", dtype="float32"
    )(x)
    return keras.Model(inputs, outputs, name=name)


@dataclass(frozen=True)
class LayerParams:
    """One row of a parameter table."""

    layer: str
    kind: str
    weight_shape: tuple[int, ...]
    bias: int
    total: int


def param_table(model: keras.Model) -> list[LayerParams]:
    """Per-layer parameter counts (weights, biases, total), as report-001's Table 3 lists them.

    Layers without parameters are left out. Batch-norm layers count all four vectors.
    """
    rows = []
    for layer in model.layers:
        n = layer.count_params() if layer.built else 0
        if n == 0:
            continue
        weights = layer.weights
        kernel = next((w for w in weights if "kernel" in w.path or "gamma" in w.path), weights[0])
        bias = sum(int(w.numpy().size) for w in weights if w.path.endswith("bias"))
        rows.append(LayerParams(layer.name, type(layer).__name__, tuple(kernel.shape), bias, n))
    return rows
