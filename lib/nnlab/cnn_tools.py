"""Tools for convolutional networks: shapes and parameter counts, mistakes, augmentation, a fast recipe.

Introduced in lab 5 (Feature maps: 5a CNN basics, 5b inside a CNN, 5c CIFAR-10). Everything
here is backend-agnostic Keras 3 (``keras.ops`` only), so it runs under TensorFlow, JAX or
PyTorch alike.

- **Shapes and parameters**: :func:`conv_output_size`, :func:`conv_params`,
  :func:`layer_table` (a per-layer table with the formula of each count, as report-001's
  Table 3), :func:`param_frame` (one column of per-layer counts per model, for a sweep),
  :func:`formula_mismatches` / :func:`shape_mismatches` (the formulas checked against a model).
- **Predictions and mistakes**: :func:`predict_proba`, :func:`confusion_matrix`,
  :func:`top_confusions`, :func:`most_confident_mistakes` (report-000's figure),
  :func:`pick_examples` (correct and wrong examples, report-003's figures).
- **Inside a model**: :func:`weights_by_layer` (for weight/bias histograms),
  :func:`conv_layers`, :func:`feature_maps` (every conv layer's output for one image); plain,
  separable and depthwise convolutions alike (:data:`CONV_TYPES`).
- **Data**: :func:`select_classes` (e.g. cat vs dog from CIFAR-10).
- **Augmentation**: :func:`augmentation` (Keras preprocessing layers, to pass to
  :func:`nnlab.models.cnn`), :class:`RandomShiftFlip` (pad-and-crop plus flip written with
  ``keras.ops``, so a compiled/XLA train step keeps running on the accelerator),
  :func:`with_augmentation` (any model behind augmentation layers).
- **Builders and schedules**: :func:`tiny_cnn` (≈2k parameters), :func:`set_bn_momentum`,
  :func:`refresh_batch_norm` (running statistics recomputed at the final weights),
  :func:`one_cycle` and the optimizer factory :class:`OneCycle`.
- **A fast CIFAR-10 recipe**: :func:`resnet_ish` and :func:`train_cifar_cnn` (a ResNet-9-style
  network, batch norm, crop+flip augmentation, one-cycle learning rate, large batches and mixed
  precision on a GPU); the benchmark can call it too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import keras
import numpy as np
import pandas as pd
from keras import layers, ops

from nnlab.splits import Splits
from nnlab.training import source_hash

CODE_VERSION = source_hash("cnn_tools.py")
"""A short hash of this file: put it in a run's config so that editing a recipe retrains it."""

CONV_TYPES: tuple[type[keras.layers.Layer], ...] = (layers.Conv2D, layers.SeparableConv2D, layers.DepthwiseConv2D)
"""The 2-D convolution layers that the helpers here look into (:func:`conv_layers`,
:func:`feature_maps`, :func:`weights_by_layer`, :func:`shape_mismatches`). In Keras 3 the
separable and depthwise layers are not subclasses of ``Conv2D``, so each is named here."""


# ============================================================================ shapes and parameters


def conv_output_size(n: int, kernel_size: int, strides: int = 1, padding: str = "same") -> int:
    """Side length after a convolution or pooling layer.

    ``same``: :math:`\\lceil n/s \\rceil` (zeros are added so that only the stride shrinks the map);
    ``valid``: :math:`\\lfloor (n-k)/s \\rfloor + 1` (no padding: a stride-1 layer shrinks by ``k-1``).
    """
    if padding == "same":
        return math.ceil(n / strides)
    if padding == "valid":
        if n < kernel_size:
            raise ValueError(f"a {kernel_size}x{kernel_size} valid window does not fit in {n} pixels")
        return (n - kernel_size) // strides + 1
    raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")


def conv_params(kernel_size: int | tuple[int, int], c_in: int, c_out: int, bias: bool = True) -> int:
    """Parameters of a ``k×k`` (or ``kh×kw``) convolution from ``c_in`` to ``c_out`` channels: ``(k·k·c_in + 1)·c_out``."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return (kh * kw * c_in + int(bias)) * c_out


def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Parameters of a dense layer: ``(n_in + 1)·n_out``."""
    return (n_in + int(bias)) * n_out


def _formula(layer: keras.layers.Layer) -> tuple[str, int] | None:
    """The textbook formula of a layer's parameter count and its value (None: no formula here)."""
    if isinstance(layer, layers.SeparableConv2D):
        kh, kw = layer.kernel_size
        c_in, c_out, b = layer.input.shape[-1], layer.filters, int(layer.use_bias)
        m = layer.depth_multiplier
        return f"{kh}·{kw}·{c_in}·{m} + ({c_in}·{m}{'+1' if b else ''})·{c_out}", kh * kw * c_in * m + (c_in * m + b) * c_out
    if isinstance(layer, layers.DepthwiseConv2D):  # one k×k filter per input channel and multiplier
        kh, kw = layer.kernel_size
        c_in, m, b = layer.input.shape[-1], layer.depth_multiplier, int(layer.use_bias)
        text = f"({kh}·{kw} + 1)·{c_in}·{m}" if b else f"{kh}·{kw}·{c_in}·{m}"
        return text, (kh * kw + b) * c_in * m
    if isinstance(layer, layers.Conv2D):
        kh, kw = layer.kernel_size
        c_in, c_out, b = layer.input.shape[-1], layer.filters, int(layer.use_bias)
        text = f"({kh}·{kw}·{c_in} + 1)·{c_out}" if b else f"{kh}·{kw}·{c_in}·{c_out}"
        return text, conv_params((kh, kw), c_in, c_out, bias=bool(b))
    if isinstance(layer, layers.Dense):
        n_in, b = layer.input.shape[-1], int(layer.use_bias)
        return (f"({n_in} + 1)·{layer.units}" if b else f"{n_in}·{layer.units}"), dense_params(n_in, layer.units, bool(b))
    if isinstance(layer, layers.BatchNormalization):
        c = layer.input.shape[-1]
        n = 2 * c + int(layer.center) * c + int(layer.scale) * c
        return f"{n // c}·{c} (γ, β, mean, variance)" if n == 4 * c else f"{n // c}·{c}", n
    return None


def _weights_text(layer: keras.layers.Layer) -> str:
    """The shapes of a layer's weights other than its biases, as ``layer_table`` shows them: every
    kernel of a separable convolution (``3×3×6×1 + 1×1×6×12``), and a batch norm's four vectors by name."""
    if isinstance(layer, layers.BatchNormalization):
        size = "×".join(str(d) for d in layer.weights[0].shape)
        return f"4 × {size} (γ, β, mean, variance)"
    return " + ".join("×".join(str(d) for d in w.shape) for w in layer.weights if not w.path.endswith("bias"))


def layer_table(model: keras.Model) -> pd.DataFrame:
    """Every layer with its output shape and parameters, with the formula behind each count.

    Built on :func:`nnlab.models.param_table`; layers without parameters (pooling, flatten,
    activations) are listed too, so the shapes can be followed through the network. The
    *weights* column gives the shape of every weight array but the biases (:func:`_weights_text`).
    """
    from nnlab.models import param_table

    counts = {row.layer: row for row in param_table(model)}
    rows = []
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        shape = tuple(layer.output.shape[1:]) if hasattr(layer, "output") else ()
        row = counts.get(layer.name)
        formula = _formula(layer) if row is not None else None
        rows.append({
            "layer": layer.name,
            "type": type(layer).__name__,
            "output shape": "×".join(str(d) for d in shape),
            "weights": _weights_text(layer) if row else "",
            "biases": row.bias if row else 0,
            "params": row.total if row else 0,
            "formula": formula[0] if formula else "",
        })
    table = pd.DataFrame(rows).set_index("layer")
    total = int(table["params"].sum())
    table.loc["total"] = ["", "", "", "", total, ""]
    return table


def param_frame(models: Mapping[str, keras.Model]) -> pd.DataFrame:
    """Per-layer parameter counts of several models side by side (one column per model).

    Rows are layer names in the order they first appear; a dash means the model has no such
    layer (or it has no parameters). The last row is each model's total.
    """
    from nnlab.models import param_table

    columns = {label: {row.layer: row.total for row in param_table(model)} for label, model in models.items()}
    order: list[str] = []
    for col in sorted(columns.values(), key=len, reverse=True):  # the deepest model sets the order
        order.extend(name for name in col if name not in order)
    frame = pd.DataFrame({label: [col.get(name) for name in order] for label, col in columns.items()},
                         index=order, dtype="object")
    frame.loc["total"] = [model.count_params() for model in models.values()]
    return frame.fillna("–")


def formula_mismatches(model: keras.Model) -> list[str]:
    """Layers whose parameter count differs from the textbook formula (empty: all agree)."""
    bad = []
    for layer in model.layers:
        formula = _formula(layer)
        if formula is not None and formula[1] != layer.count_params():
            bad.append(f"{layer.name}: {formula[0]} = {formula[1]} but Keras counts {layer.count_params()}")
    return bad


def shape_mismatches(model: keras.Model) -> list[str]:
    """Conv and pooling layers whose output size differs from :func:`conv_output_size` (empty: all agree).

    Every layer of :data:`CONV_TYPES` (plain, separable and depthwise convolutions) is checked.
    """
    bad = []
    for layer in model.layers:
        if isinstance(layer, CONV_TYPES):
            k, s = layer.kernel_size[0], layer.strides[0]
        elif isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)):
            k, s = layer.pool_size[0], layer.strides[0]
        else:
            continue
        n_in, n_out = layer.input.shape[1], layer.output.shape[1]
        expected = conv_output_size(n_in, k, s, layer.padding)
        if expected != n_out:
            bad.append(f"{layer.name}: {n_in} → {n_out}, formula says {expected}")
    return bad


# ============================================================================ predictions and mistakes


def predict_proba(model: keras.Model, x: np.ndarray, batch_size: int = 512, *, mirror: bool = False) -> np.ndarray:
    """Class probabilities ``(n, classes)``; a one-unit sigmoid output becomes ``(n, 2)``.

    ``mirror=True`` is test-time augmentation: the mean of the probabilities for each image and
    its left–right mirror image (for models trained with flips, such as CIFAR-10's).
    """
    p = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    if mirror:
        p = (p + np.asarray(model.predict(np.ascontiguousarray(x[:, :, ::-1]), batch_size=batch_size, verbose=0),
                            dtype=np.float64)) / 2
    if p.ndim == 2 and p.shape[1] == 1:
        p = np.concatenate([1.0 - p, p], axis=1)
    return p


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """Counts ``cm[i, j]`` of images of true class ``i`` predicted as ``j`` (rows: truth, as report-000)."""
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.shape} vs {y_pred.shape}")
    n = int(n_classes if n_classes is not None else max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        outside = labels[(labels < 0) | (labels >= n)]
        if outside.size:
            raise ValueError(f"{name} has label {outside[0]}, outside 0..{n - 1} ({n} classes)")
    return np.bincount(y_true * n + y_pred, minlength=n * n).reshape(n, n)


def top_confusions(cm: np.ndarray, class_names: Sequence[str] | None = None, k: int = 3, *,
                   pairs: bool = False) -> list[tuple[str, str, int]]:
    """The ``k`` largest off-diagonal cells: (true class, predicted class, count).

    With ``pairs=True``, the ``k`` pairs of classes confused most in either direction:
    (class a, class b, a taken for b + b taken for a), each pair once. Only real off-diagonal
    cells are returned, so ``k`` is capped at ``n·(n-1)`` cells (``n·(n-1)/2`` pairs) for ``n``
    classes; cells with a count of 0 are real cells and can be among them.
    """
    off = np.array(cm, dtype=np.int64)
    if off.ndim != 2 or off.shape[0] != off.shape[1]:
        raise ValueError(f"a confusion matrix is square, got shape {off.shape}")
    if (off < 0).any():
        raise ValueError("a confusion matrix holds counts, but this one has a negative entry")
    n = len(off)
    k = max(0, min(int(k), n * (n - 1) // (2 if pairs else 1)))   # the -1 fillers below never make the cut
    if pairs:
        off = np.triu(off + off.T, k=1) - np.tril(np.ones_like(off))   # each pair once; diagonal and below: -1
    np.fill_diagonal(off, -1)
    flat = np.argsort(off, axis=None)[::-1][:k]
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(cm))]
    return [(names[i], names[j], int(off[i, j])) for i, j in zip(*np.unravel_index(flat, off.shape))]


def most_confident_mistakes(probs: np.ndarray, y_true: np.ndarray, per_class: int = 8) -> dict[int, np.ndarray]:
    """For each true class, the indices of its wrong predictions, most confident first.

    Confidence is the probability the model gave to the (wrong) class it predicted, as in
    report-000's figures. A class with fewer mistakes gets fewer indices.
    """
    probs = np.asarray(probs)
    y_true = np.asarray(y_true).ravel()
    pred = probs.argmax(axis=1)
    conf = probs.max(axis=1)
    out = {}
    for c in range(probs.shape[1]):
        wrong = np.flatnonzero((y_true == c) & (pred != c))
        out[c] = wrong[np.argsort(-conf[wrong], kind="stable")][:per_class]
    return out


def pick_examples(probs: np.ndarray, y_true: np.ndarray, n: int = 8, *, correct: bool = True,
                  seed: int = 0) -> np.ndarray:
    """``n`` random indices of correctly (or wrongly) classified images, seeded."""
    pred = np.asarray(probs).argmax(axis=1)
    pool = np.flatnonzero((pred == np.asarray(y_true).ravel()) == correct)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(pool, size=min(n, len(pool)), replace=False))


# ============================================================================ inside a model


_KERNELS: tuple[tuple[str, str], ...] = (
    ("kernel", "kernel"), ("depthwise_kernel", "depthwise kernel"), ("pointwise_kernel", "pointwise kernel"))
"""(layer attribute, key suffix) of the kernels :func:`weights_by_layer` reads, in this order."""


def weights_by_layer(model: keras.Model) -> dict[str, np.ndarray]:
    """Kernels and biases of every conv (:data:`CONV_TYPES`) and dense layer, by name.

    Keys are ``"<layer> kernel"`` and ``"<layer> bias"``. A ``SeparableConv2D`` has no single
    kernel: its two are ``"<layer> depthwise kernel"`` (``kh×kw×c_in×multiplier``, one filter per
    input channel) and ``"<layer> pointwise kernel"`` (``1×1×(c_in·multiplier)×filters``), so
    every kernel's key still ends in ``" kernel"``. (A ``DepthwiseConv2D`` keeps its weights in
    ``kernel``, so it gets ``"<layer> kernel"``.)
    """
    out = {}
    for layer in model.layers:
        if isinstance(layer, (*CONV_TYPES, layers.Dense)):
            for attribute, suffix in _KERNELS:
                if getattr(layer, attribute, None) is not None:
                    out[f"{layer.name} {suffix}"] = keras.ops.convert_to_numpy(getattr(layer, attribute))
            if layer.use_bias:
                out[f"{layer.name} bias"] = keras.ops.convert_to_numpy(layer.bias)
    return out


def conv_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's convolution layers (``Conv2D``, ``SeparableConv2D``, ``DepthwiseConv2D``), input to output."""
    return [layer for layer in model.layers if isinstance(layer, CONV_TYPES)]


def _after_activation(model: keras.Model, conv: keras.layers.Layer) -> str:
    """The layer that outputs ``conv``'s activated maps: itself, or the next activation layer."""
    if getattr(conv, "activation", None) not in (None, keras.activations.linear):
        return conv.name
    names = [layer.name for layer in model.layers]
    for layer in model.layers[names.index(conv.name) + 1:]:
        if isinstance(layer, CONV_TYPES):
            break
        if isinstance(layer, (layers.Activation, layers.ReLU, layers.ELU, layers.LeakyReLU)):
            return layer.name
    return conv.name


def feature_maps(model: keras.Model, image: np.ndarray, *, activated: bool = True) -> dict[str, np.ndarray]:
    """The output of every conv layer (:func:`conv_layers`) for one image: ``{conv name: (h, w, channels)}``.

    ``activated=True`` reads each map after its nonlinearity (what the next layer sees).
    """
    convs = conv_layers(model)
    names = [_after_activation(model, c) if activated else c.name for c in convs]
    from nnlab.inspect import layer_outputs

    outs = layer_outputs(model, np.asarray(image)[None], names)
    return {conv.name: outs[name][0] for conv, name in zip(convs, names)}


# ============================================================================ data


def select_classes(splits: Splits, classes: Sequence[str | int], name: str | None = None) -> Splits:
    """Keep only some classes, relabelled ``0 … k-1`` in the order given (e.g. ``("cat", "dog")``).

    Each entry of ``classes`` is a class name or a class index (``0 … n_classes-1``). An unknown
    name, an index out of range, anything else, a class given twice (by name or index) or no
    class at all raises a ``ValueError`` that names the entry and lists the known classes.
    """
    known = f"known classes: {', '.join(f'{i}={n!r}' for i, n in enumerate(splits.class_names))}"
    if isinstance(classes, str):   # one name would be read letter by letter
        raise ValueError(f"classes is a list of classes, e.g. [{classes!r}, …], got the string {classes!r}; {known}")
    index: list[int] = []
    for c in classes:
        if isinstance(c, str):
            if c not in splits.class_names:
                raise ValueError(f"unknown class {c!r}; {known}")
            i = splits.class_names.index(c)
        elif isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if not 0 <= c < splits.n_classes:
                raise ValueError(f"class index {c} is outside 0..{splits.n_classes - 1}; {known}")
            i = int(c)
        else:
            raise ValueError(f"a class is a name or an index, got {c!r}; {known}")
        if i in index:
            raise ValueError(f"class {c!r} ({splits.class_names[i]!r}) is given twice; {known}")
        index.append(i)
    if not index:
        raise ValueError(f"select_classes needs at least one class; {known}")
    lut = np.full(splits.n_classes, -1, dtype=np.int64)
    lut[index] = np.arange(len(index))

    def keep(x: np.ndarray | None, y: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        if x is None or y is None:
            return x, y
        mask = lut[y] >= 0
        return x[mask], lut[y[mask]]

    x_train, y_train = keep(splits.x_train, splits.y_train)
    x_val, y_val = keep(splits.x_val, splits.y_val)
    x_test, y_test = keep(splits.x_test, splits.y_test)
    names = tuple(splits.class_names[i] for i in index)
    return Splits(name=name or f"{splits.name}[{'/'.join(names)}]", x_train=x_train, y_train=y_train,
                  x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test, class_names=names,
                  source=splits.source, note=splits.note, reencoded=splits.reencoded)


# ============================================================================ augmentation


def augmentation(*, flip: str | None = "horizontal", translate: float = 0.1, rotate: float = 0.0,
                 zoom: float = 0.0, contrast: float = 0.0, fill_mode: str = "reflect",
                 seed: int | None = 0) -> list[keras.layers.Layer]:
    """Keras preprocessing layers for data augmentation (active in training, identity at inference).

    ``translate``/``zoom`` are fractions of the image size, ``rotate`` a fraction of a full turn.
    Pass the list to ``nnlab.models.cnn(augmentation=...)`` or :func:`with_augmentation`.
    Keras marks translation, rotation and zoom as not compilable, because TensorFlow's XLA cannot
    compile the image transform they use there: with TensorFlow a model holding them trains
    without ``jit_compile`` (:class:`RandomShiftFlip` is the compiled alternative). With JAX the
    same transform is ``jax.scipy.ndimage.map_coordinates``, which compiles, so these layers are
    marked compilable there (:func:`compilable_on_jax`): otherwise Keras would run the whole
    train step op by op, which costs the most on a GPU.
    """
    def layer_seed(offset: int) -> int | None:
        # One seed per layer: layers given the same seed draw the same random numbers, so a
        # flipped image would always be shifted the same way.
        return None if seed is None else seed + offset

    out: list[keras.layers.Layer] = []
    if flip:
        out.append(layers.RandomFlip(flip, seed=layer_seed(0), name="aug_flip"))
    if translate:
        out.append(layers.RandomTranslation(translate, translate, fill_mode=fill_mode, seed=layer_seed(1),
                                            name="aug_translate"))
    if rotate:
        out.append(layers.RandomRotation(rotate, fill_mode=fill_mode, seed=layer_seed(2), name="aug_rotate"))
    if zoom:
        out.append(layers.RandomZoom(zoom, fill_mode=fill_mode, seed=layer_seed(3), name="aug_zoom"))
    if contrast:
        out.append(layers.RandomContrast(contrast, value_range=(0, 1), seed=layer_seed(4),  # Keras assumes 0..255
                                         name="aug_contrast"))
    return compilable_on_jax(out)


def compilable_on_jax(augment: list[keras.layers.Layer]) -> list[keras.layers.Layer]:
    """Mark Keras's image augmentation layers compilable when the backend is JAX; returns the list.

    On JAX, Keras's ``RandomTranslation``, ``RandomRotation`` and ``RandomZoom`` are written in
    ``jax.numpy`` and trace under ``jax.jit``; their ``supports_jit = False`` is there for
    TensorFlow's XLA. On a 2-core CPU the MNIST CNN of lab 5a took 425 ms a step compiled and
    670 ms without; on a GPU an uncompiled step launches every operation separately. On other
    backends the layers are left as Keras made them.
    """
    if keras.backend.backend() == "jax":
        for layer in augment:
            layer.supports_jit = True
    return augment


class _TrainingOnlyAugmentation(layers.Layer):
    """Base of nnlab's compiled augmentation layers: seeded, shape-keeping, identity at inference.

    A subclass writes :meth:`augment` with ``keras.ops`` alone, so that it compiles (XLA) with the
    rest of the train step and needs no per-batch Python.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        return self.augment(x) if training else x

    def augment(self, x):
        """The random transformation of a training batch ``x`` (batch, height, width, channels)."""
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="nnlab")
class RandomShiftFlip(_TrainingOnlyAugmentation):
    """Random translation by up to ``pad`` pixels (pad with zeros, crop back) and a random horizontal flip.

    The standard CIFAR-10 augmentation: the shift is a product with one-hot selection matrices,
    so it compiles with the train step. Identity at inference.
    """

    def __init__(self, pad: int = 4, flip: bool = True, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed, **kwargs)
        self.pad = int(pad)
        self.flip = bool(flip)

    def augment(self, x):
        batch = ops.shape(x)[0]
        h, w, p = x.shape[1], x.shape[2], self.pad
        if p:
            padded = ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
            offsets = keras.random.randint((batch, 2), 0, 2 * p + 1, seed=self.seed_generator)
            rows = ops.equal(ops.arange(h)[None, :, None] + offsets[:, 0][:, None, None],
                             ops.arange(h + 2 * p)[None, None, :])
            cols = ops.equal(ops.arange(w)[None, :, None] + offsets[:, 1][:, None, None],
                             ops.arange(w + 2 * p)[None, None, :])
            x = ops.einsum("bih,bhwc->biwc", ops.cast(rows, x.dtype), padded)
            x = ops.einsum("bjw,biwc->bijc", ops.cast(cols, x.dtype), x)
        if self.flip:
            coin = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator) < 0.5
            x = ops.where(coin, ops.flip(x, axis=2), x)
        return x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pad": self.pad, "flip": self.flip}


@keras.saving.register_keras_serializable(package="nnlab")
class RandomCutout(_TrainingOnlyAugmentation):
    """Cutout (DeVries & Taylor, 2017): set a random ``size``×``size`` square of each image to 0.

    The square's centre is any pixel, so near an edge part of it falls outside the image. Placed
    after standardization, 0 is the data set's mean colour. Compiles with the train step;
    identity at inference.
    """

    def __init__(self, size: int = 8, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed, **kwargs)
        if size < 1:
            raise ValueError(f"RandomCutout needs a square of at least 1 pixel, got size={size}")
        self.size = int(size)

    def augment(self, x):
        batch = ops.shape(x)[0]
        h, w = x.shape[1], x.shape[2]
        top = keras.random.randint((batch,), 0, h, seed=self.seed_generator) - self.size // 2
        left = keras.random.randint((batch,), 0, w, seed=self.seed_generator) - self.size // 2
        rows, cols = ops.arange(h)[None, :], ops.arange(w)[None, :]
        in_rows = ops.logical_and(rows >= top[:, None], rows < top[:, None] + self.size)  # (batch, h)
        in_cols = ops.logical_and(cols >= left[:, None], cols < left[:, None] + self.size)  # (batch, w)
        hole = ops.logical_and(in_rows[:, :, None], in_cols[:, None, :])[..., None]
        return ops.where(hole, ops.zeros_like(x), x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}


def with_augmentation(model: keras.Model, augment: Sequence[keras.layers.Layer], name: str | None = None) -> keras.Model:
    """``model`` behind augmentation layers (e.g. an MLP on augmented CIFAR-10 images)."""
    inputs = keras.Input(shape=tuple(model.input_shape[1:]), name="pixels")
    x = inputs
    for layer in augment:
        x = layer(x)
    return keras.Model(inputs, model(x), name=name or f"augmented_{model.name}")



def identity_at_inference(layer: keras.layers.Layer, x: np.ndarray) -> bool:
    """True when ``layer(x, training=False)`` returns ``x`` exactly, as the layer computes it.

    Under mixed precision a layer receives its input cast to its compute dtype (float16), so
    "unchanged" means equal to that cast, not to the float32 input.
    """
    out = keras.ops.convert_to_numpy(layer(x, training=False))
    return bool(np.array_equal(out, keras.ops.convert_to_numpy(keras.ops.cast(x, layer.compute_dtype))))

# ============================================================================ small builders


def set_bn_momentum(model: keras.Model, momentum: float = 0.9) -> keras.Model:
    """Set the moving-average momentum of every batch-norm layer (before training); returns the model.

    Keras's default, 0.99, lets the inference statistics lag behind for several hundred steps:
    they start at mean 0, variance 1, and a short run on a subset ends before they have caught
    up, so validation accuracy looks broken while training accuracy is fine. 0.9 (PyTorch's
    default) catches up within a few dozen steps.
    """
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = momentum
        elif isinstance(layer, keras.Model):
            set_bn_momentum(layer, momentum)
    return model


def refresh_batch_norm(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> keras.Model:
    """A copy of ``model`` whose batch-norm running statistics are recomputed on ``x``.

    At inference a batch-norm layer normalizes with running averages of the batch means and
    variances it saw in training. Those averages trail the weights (and start at mean 0,
    variance 1), so after a short run the inference-mode network can score far below what the
    training log shows. Here each layer's inputs are fed through once, in order, at the final
    weights, and its moving mean and variance are set to their exact averages over ``x`` (as
    PyTorch's ``torch.optim.swa_utils.update_bn`` does). ``model`` itself is left unchanged.
    Only top-level, channels-last batch-norm layers of a functional model are handled.
    """
    top_level = [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]
    nested = [layer.name for layer in model._flatten_layers(include_self=False)
              if isinstance(layer, layers.BatchNormalization) and not any(layer is t for t in top_level)]
    if nested:   # they would keep their lagging statistics while the result looked refreshed
        raise ValueError(f"refresh_batch_norm handles batch norm at the top level of a functional model only; "
                         f"{model.name} has some inside a nested model or layer: {', '.join(nested)}")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for bn in [layer for layer in copy.layers if isinstance(layer, layers.BatchNormalization)]:
        if bn.axis not in (-1, len(bn.input.shape) - 1, [len(bn.input.shape) - 1]):
            raise ValueError(f"{bn.name}: refresh_batch_norm handles channels-last batch norm only (axis={bn.axis})")
        inputs_of_bn = keras.Model(copy.input, bn.input)
        total = total_sq = 0.0
        count = 0
        for start in range(0, len(x), batch_size):
            feats = ops.convert_to_numpy(inputs_of_bn(x[start:start + batch_size], training=False)).astype(np.float64)
            feats = feats.reshape(-1, feats.shape[-1])
            total, total_sq, count = total + feats.sum(0), total_sq + (feats ** 2).sum(0), count + len(feats)
        mean = total / count
        bn.moving_mean.assign(mean.astype("float32"))
        bn.moving_variance.assign(np.maximum(total_sq / count - mean ** 2, 0.0).astype("float32"))
    return copy


def tiny_cnn(input_shape: Sequence[int] = (28, 28, 1), n_outputs: int = 10, widths: Sequence[int] = (6, 16, 24, 24),
             bn_momentum: float = 0.9, name: str = "tiny_cnn") -> keras.Model:
    """A CNN of about 2,000 parameters (2,054 with the default widths) for MNIST.

    One ordinary 3×3 conv, then depthwise-separable 3×3 convs (a per-channel 3×3 filter followed
    by a 1×1 mix: far fewer parameters than a full conv), each with batch norm and ReLU, two 2×2
    max pools, a global average pool and one dense softmax layer. Batch norm's four vectors are
    counted (its moving mean and variance too), as ``model.count_params()`` does.
    """
    inputs = keras.Input(shape=tuple(input_shape), name="pixels")
    x = inputs
    for i, width in enumerate(widths):
        conv = layers.Conv2D if i == 0 else layers.SeparableConv2D
        x = conv(width, 3, padding="same", use_bias=False, name=f"conv_{i}")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"bn_{i}")(x)
        x = layers.Activation("relu", name=f"act_{i}")(x)
        if i in (1, 2):
            x = layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(n_outputs, activation="softmax", name="output", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


# ============================================================================ a fast CIFAR-10 recipe


def _conv_bn(x, filters: int, name: str, l2: float, bn_momentum: float):
    reg = keras.regularizers.L2(l2) if l2 else None
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=reg, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def resnet_ish(
    input_shape: Sequence[int] = (32, 32, 3),
    n_outputs: int = 10,
    *,
    width: int = 64,
    augment: bool = True,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    l2: float = 2.5e-4,
    bn_momentum: float = 0.9,
    output_scale: float = 0.125,
    cutout: int = 0,
    name: str = "resnet_ish",
) -> keras.Model:
    """A ResNet-9-style network (after the DAWNBench CIFAR-10 entries): 8 conv layers in 3 stages.

    ``prep`` (width) → stage 1 (2·width, pool, residual block of two convs) → stage 2 (4·width,
    pool) → stage 3 (8·width, pool, residual block) → global max pool → dense → ×``output_scale``.
    Every conv is followed by batch norm and ReLU; ``l2`` acts on conv and dense kernels (the
    gradient gets ``2·l2·w``, i.e. a weight decay of ``2·l2``). With ``augment`` the model starts
    with :class:`RandomShiftFlip`; ``mean``/``std`` standardize each channel inside the model;
    ``cutout`` > 0 (with ``augment``) adds :class:`RandomCutout` of that size after standardizing.
    ``n_outputs=1`` gives a sigmoid unit for a binary task, otherwise a softmax.
    """
    inputs = keras.Input(shape=tuple(input_shape), name="pixels")
    x = inputs
    if augment:
        x = RandomShiftFlip(4, name="augment")(x)
    if mean is not None and std is not None:
        x = layers.Normalization(mean=list(mean), variance=[s * s for s in std], name="standardize")(x)
    if augment and cutout:
        x = RandomCutout(cutout, name="cutout")(x)
    x = _conv_bn(x, width, "prep", l2, bn_momentum)
    for stage, (mult, residual) in enumerate(((2, True), (4, False), (8, True)), start=1):
        x = _conv_bn(x, width * mult, f"stage{stage}", l2, bn_momentum)
        x = layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
        if residual:
            r = _conv_bn(x, width * mult, f"stage{stage}_res1", l2, bn_momentum)
            r = _conv_bn(r, width * mult, f"stage{stage}_res2", l2, bn_momentum)
            x = layers.Add(name=f"stage{stage}_add")([x, r])
    x = layers.GlobalMaxPooling2D(name="global_pool")(x)
    x = layers.Dense(n_outputs, use_bias=False, kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
                     name="logits", dtype="float32")(x)
    x = layers.Rescaling(output_scale, name="scale", dtype="float32")(x)
    activation = "sigmoid" if n_outputs == 1 else "softmax"
    outputs = layers.Activation(activation, name="output", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def one_cycle(peak_lr: float, total_steps: int, warmup_fraction: float = 0.2) -> keras.optimizers.schedules.LearningRateSchedule:
    """Linear warm-up from 0 to ``peak_lr`` over ``warmup_fraction`` of the steps, then cosine decay to 0.

    Step 0 has learning rate 0, as in any warm-up from 0, so a run needs at least two steps.
    """
    if total_steps < 2:
        raise ValueError(f"a one-cycle schedule needs at least 2 steps (the first one warms up from 0), "
                         f"got total_steps={total_steps}")
    warmup = max(1, int(round(warmup_fraction * total_steps)))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=max(1, total_steps - warmup), alpha=0.0,
        warmup_target=peak_lr, warmup_steps=warmup)


@dataclass(frozen=True)
class OneCycle:
    """An optimizer factory with a one-cycle learning rate, for :func:`nnlab.training.train`.

    ``OneCycle("adam", 3e-3, total_steps)()`` builds a fresh Keras optimizer whose learning
    rate follows :func:`one_cycle`; ``options`` are extra keyword arguments (momentum…). Its
    ``repr`` is stable, so the training cache recognises an unchanged run.
    """

    optimizer: str = "adam"
    peak_lr: float = 1e-3
    total_steps: int = 1000
    warmup_fraction: float = 0.2
    options: tuple[tuple[str, Any], ...] = ()

    @staticmethod
    def steps(n_train: int, epochs: int, batch_size: int) -> int:
        """Optimizer steps of a run: ``epochs · ceil(n_train / batch_size)``."""
        return epochs * math.ceil(n_train / batch_size)

    def __call__(self) -> keras.optimizers.Optimizer:
        classes = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW, "sgd": keras.optimizers.SGD,
                   "nadam": keras.optimizers.Nadam, "rmsprop": keras.optimizers.RMSprop}
        schedule = one_cycle(self.peak_lr, self.total_steps, self.warmup_fraction)
        return classes[self.optimizer.lower()](learning_rate=schedule, **dict(self.options))


def precision_policy(precision: str = "auto") -> str:
    """``"auto"``: ``mixed_float16`` on a GPU that the backend can use (:func:`nnlab.profiles.gpu_available`), else ``float32``."""
    if precision != "auto":
        return precision
    from nnlab.profiles import gpu_available

    return "mixed_float16" if gpu_available() else "float32"


def channel_stats(x: np.ndarray, max_images: int = 10_000) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of images ``(n, h, w, c)`` (on at most ``max_images``)."""
    sample = np.asarray(x[:max_images], dtype=np.float64)
    axes = tuple(range(sample.ndim - 1))
    return sample.mean(axis=axes).tolist(), (sample.std(axis=axes) + 1e-7).tolist()


FULL_CIFAR_CNN: Mapping[str, int] = MappingProxyType({"width": 64, "epochs": 24, "batch_size": 512, "cutout": 8})
"""Lab 5c's full-profile CNN, as keyword arguments of :func:`train_cifar_cnn`; the throughput
measurement (:mod:`nnlab.throughput`) times the same recipe. Cutout as in the DAWNBench recipe
(at half width, 24 epochs, it left the test accuracy unchanged on a CPU: benchmarks/README.md)."""


def cifar_peak_lr(batch_size: int) -> float:
    """The peak learning rate of :func:`train_cifar_cnn`'s one-cycle schedule: 0.4 at batches of 512,
    scaled in proportion to the batch (the linear scaling rule), so a smaller batch takes smaller steps."""
    return 0.4 * batch_size / 512


def train_cifar_cnn(
    splits: Splits,
    *,
    epochs: int = 24,
    batch_size: int = 512,
    width: int = 64,
    peak_lr: float | None = None,
    momentum: float = 0.9,
    l2: float = 2.5e-4,
    augment: bool = True,
    cutout: int = 0,
    binary: bool = False,
    precision: str = "auto",
    name: str = "cifar_resnet_ish",
    cache: bool = True,
    seed: int = 0,
):
    """Train :func:`resnet_ish` on ``splits`` with a fast recipe; returns a :class:`~nnlab.training.Run`.

    The recipe: pad-and-crop + flip augmentation inside the model (and :class:`RandomCutout` of
    ``cutout`` pixels when > 0), batch norm, SGD with Nesterov
    momentum, a one-cycle learning rate (peak :func:`cifar_peak_lr` unless ``peak_lr`` is given),
    L2 on kernels, large batches, and ``mixed_float16`` on a GPU (``precision="auto"``). Data stay
    in memory and the train step is compiled (Keras's default) and run 32 steps per call
    (:data:`nnlab.training.STEPS_PER_EXECUTION`), so Keras comes back to Python once every 32 batches.
    ``binary=True`` trains one sigmoid unit with binary cross-entropy (labels 0/1).
    Goes through :func:`nnlab.training.train`, so an unchanged run is reloaded from the cache.
    """
    from nnlab.training import train

    policy = precision_policy(precision)
    peak = peak_lr if peak_lr is not None else cifar_peak_lr(batch_size)
    steps = OneCycle.steps(len(splits.x_train), epochs, batch_size)
    mean, std = channel_stats(splits.x_train)
    n_out = 1 if binary else splits.n_classes
    optimizer = OneCycle("sgd", peak, steps, options=(("momentum", momentum), ("nesterov", True)))
    config = {"recipe": "train_cifar_cnn", "width": width, "l2": l2, "augment": augment, "cutout": cutout,
              "binary": binary,
              "precision": policy, "cnn_tools": CODE_VERSION, "optimizer": repr(optimizer)}

    def build() -> keras.Model:
        previous = keras.mixed_precision.global_policy().name
        keras.mixed_precision.set_global_policy(policy)
        try:
            return resnet_ish(splits.input_shape, n_out, width=width, augment=augment, mean=mean, std=std,
                              l2=l2, cutout=cutout, name=name.replace("/", "_"))
        finally:
            keras.mixed_precision.set_global_policy(previous)

    loss = "binary_crossentropy" if binary else "sparse_categorical_crossentropy"
    return train(build, splits, name=name, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                 loss=loss, config=config, cache=cache, seed=seed)
