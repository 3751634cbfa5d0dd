"""Looking inside a Keras model: the outputs of any of its layers for a batch of inputs.

Introduced in lab 1 (Initialization); used for activation statistics (labs 1–2) and feature
maps (lab 5). Per-layer statistics of those outputs come from
:func:`nnlab.numpy_mlp.activation_stats`, re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np

from nnlab.numpy_mlp import activation_stats

__all__ = ["layer_outputs", "activation_stats", "kernel_gradients"]


def layer_outputs(
    model: keras.Model, x: np.ndarray, layer_names: Sequence[str] | None = None, batch_size: int = 256
) -> dict[str, np.ndarray]:
    """The outputs of the named layers (default: every layer but the input) for inputs ``x``.

    Works for functional and sequential models on any backend: one sub-model maps the
    model's input to the requested layers' outputs.
    """
    if layer_names is None:
        layer_names = [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    known = {layer.name for layer in model.layers}
    missing = [name for name in layer_names if name not in known]
    if missing:
        raise ValueError(f"model {model.name!r} has no layer(s) {missing}; it has {sorted(known)}")
    probe = keras.Model(model.inputs, [model.get_layer(name).output for name in layer_names])
    outputs = probe.predict(x, batch_size=batch_size, verbose=0)
    if len(layer_names) == 1:
        outputs = [outputs]
    return {name: np.asarray(out) for name, out in zip(layer_names, outputs)}


def kernel_gradients(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    loss_fn: Callable[[Any, Any], Any],
    weight: str = "kernel",
) -> dict[str, np.ndarray]:
    """The gradient of ``loss_fn(y, model(x))`` for every trainable layer that has a ``kernel``.

    Introduced in lab 2 (Activations): per-layer gradient norms show vanishing gradients
    (a deep sigmoid net at initialization) and dead ReLU units (their kernel columns get a
    gradient of exactly 0). Returns ``{layer name: dL/dW}`` in layer order, each array shaped
    like the kernel (``weight="bias"`` gives the bias gradients instead). The gradients come
    from the backend's own autodiff, through the one backend-dispatching helper of
    :mod:`nnlab.gradcheck`, so this works on TensorFlow, JAX and torch alike.
    """
    from nnlab.gradcheck import backend_gradient

    out: dict[str, np.ndarray] = {}
    for layer in model.layers:
        variable = getattr(layer, weight, None)
        if variable is None or getattr(layer, "kernel", None) is None or not layer.trainable:
            continue  # a frozen layer is not trained, and backend_gradient refuses its weights
        out[layer.name] = backend_gradient(model, x, y, loss_fn, variable)
    return out
