"""Finite-difference gradient checks: does backpropagation compute the right numbers?

Introduced in lab 1 (Initialization). The centered difference

    dL/dθ ≈ (L(θ + ε) - L(θ - ε)) / (2ε)

has an error of order ε² (from the Taylor series), until ε gets so small that the
round-off in L(θ ± ε), about 1e-16·|L| / ε in float64, takes over. Comparing it with the
backpropagated gradient for ε = 1/N, N = 1, 10, …, 10⁵ (as report-001 does for the first
10 parameters of the second layer) shows the error shrinking as N grows — if, and only if,
the backward pass is right.

Two checks with the same result format:

- :func:`numpy_mlp_gradcheck` for the from-scratch :class:`~nnlab.numpy_mlp.NumpyMLP`;
- :func:`keras_gradcheck` for any Keras 3 model, on the TensorFlow, JAX or torch backend
  (with :func:`float64_clone` for a float64 copy of a model and :func:`float64_scope`,
  which makes float64 really float64 on JAX).

Both return a dict of equal-length lists, one entry per ε, ready for a plot or a table::

    {"epsilon": [...], "N": [...], "max_abs_error": [...], "rel_error": [...],
     "analytic": array (n_params,), "numeric": array (n_eps, n_params), "dtype": "float64"}

``rel_error`` is ‖numeric - analytic‖ / (‖numeric‖ + ‖analytic‖) over the checked
parameters (0 when both are 0), which stays meaningful when single gradients are ~0.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from nnlab.numpy_mlp import NumpyMLP

DEFAULT_EPSILONS: tuple[float, ...] = tuple(1.0 / 10**i for i in range(6))
"""ε = 1/N for N = 10^i, i = 0 … 5 (report-001, question 1.c)."""


def _one_over(eps: float) -> float:
    """N = 1/ε, rounded to a whole number when it is one (1/1e-5 is 99999.99999999999)."""
    n = 1.0 / float(eps)
    return float(round(n)) if abs(n - round(n)) <= 1e-9 * n else n


def _summarize(
    analytic: np.ndarray, numeric: list[np.ndarray], epsilons: Sequence[float], dtype: str
) -> dict[str, Any]:
    """Collect errors per ε in the shared result format."""
    numeric_arr = np.array(numeric, dtype=np.float64)
    abs_err, rel_err = [], []
    for num in numeric_arr:
        diff = num - analytic
        denom = np.linalg.norm(num) + np.linalg.norm(analytic)
        abs_err.append(float(np.max(np.abs(diff))))
        rel_err.append(float(np.linalg.norm(diff) / denom) if denom > 0 else 0.0)
    return {
        "epsilon": [float(e) for e in epsilons],
        "N": [_one_over(e) for e in epsilons],
        "max_abs_error": abs_err,
        "rel_error": rel_err,
        "analytic": analytic,
        "numeric": numeric_arr,
        "dtype": dtype,
    }


def numpy_mlp_gradcheck(
    model: NumpyMLP,
    x: np.ndarray,
    y: np.ndarray,
    layer: int = 1,
    n_params: int = 10,
    epsilons: Sequence[float] = DEFAULT_EPSILONS,
) -> dict[str, Any]:
    """Compare backprop with centered finite differences on a :class:`NumpyMLP`.

    Introduced in lab 1 (Initialization). Checks the first ``n_params`` entries (row-major
    order) of weight matrix ``layer`` (0-based: ``layer=1`` is the second layer, as in
    report-001) on the batch ``(x, y)``. The model's parameters are left unchanged.
    """
    if not 0 <= layer < model.n_layers:
        raise ValueError(f"layer must be in 0 … {model.n_layers - 1}, got {layer}")
    if np.dtype(model.dtype) != np.float64:
        warnings.warn("gradient check in less than float64: expect errors of 1e-3 or more", stacklevel=2)
    W = model.weights[layer]
    n_params = min(n_params, W.size)
    model.forward(x)
    model.backward(y)
    analytic = model.grads[2 * layer].reshape(-1)[:n_params].astype(np.float64)

    numeric = []
    for eps in epsilons:
        approx = np.empty(n_params)
        for i in range(n_params):
            idx = np.unravel_index(i, W.shape)
            old = W[idx]
            W[idx] = old + eps
            loss_plus = model.loss(x, y)
            W[idx] = old - eps
            loss_minus = model.loss(x, y)
            W[idx] = old  # restore exactly
            approx[i] = (loss_plus - loss_minus) / (2 * eps)
        numeric.append(approx)
    model.forward(x)  # leave the cache (and grads) as they were, for layer_stats()
    model.backward(y)
    return _summarize(analytic, numeric, epsilons, str(np.dtype(model.dtype)))


# ---------------------------------------------------------------------------------------
# Keras 3, any backend
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def float64_scope() -> Iterator[None]:
    """A block in which float64 really is float64, on every Keras backend.

    Introduced in lab 1 (Initialization), for :func:`keras_gradcheck`. TensorFlow and
    torch compute in float64 whenever a layer or tensor asks for it. JAX does not by
    default: with its ``jax_enable_x64`` flag off (the default) it silently creates
    ``dtype="float64"`` variables and tensors as float32, and a gradient check then stalls
    near 1e-4. On JAX this context switches x64 on for the block only (``jax.enable_x64``),
    so code outside it, such as the rest of a lab, keeps JAX's usual float32 behaviour; on
    the other backends it does nothing. Build the float64 model *and* use it inside such a
    block (:func:`float64_clone` and :func:`keras_gradcheck` each open one themselves):
    outside it, JAX computes with the model's float64 weights in float32 again.
    """
    import keras

    if keras.backend.backend() != "jax":
        yield
        return
    import jax

    enable_x64 = getattr(jax, "enable_x64", None)
    if enable_x64 is None:  # older JAX releases kept the context manager in jax.experimental
        from jax.experimental import enable_x64
    with enable_x64(True):
        yield


def _mean_loss(loss_fn: Callable, y: Any, y_pred: Any) -> Any:
    """``loss_fn(y, y_pred)`` as a scalar; a per-example loss is averaged as sum / n.

    Not ``keras.ops.mean``: in Keras 3.15 on torch it (and every ``keras.losses``
    *class*, which uses it) averages in float32 even for float64 inputs, which would cap
    the check at ~1e-4. ``ops.sum`` keeps float64. (On JAX both keep float64 inside
    :func:`float64_scope`; outside it, JAX has no float64 at all.)
    """
    import keras

    loss = loss_fn(y, y_pred)
    n = int(np.prod(keras.ops.shape(loss)))
    return keras.ops.sum(loss) / n if len(keras.ops.shape(loss)) else loss


def backend_gradient(model: Any, x: Any, y: Any, loss_fn: Callable, variable: Any) -> np.ndarray:
    """Gradient of the mean of ``loss_fn(y, model(x))`` with respect to one Keras variable.

    Keras 3 runs on TensorFlow, JAX or torch, but it has no backend-neutral autodiff API
    (``keras.ops`` has no ``grad``; each backend's trainer calls its own machinery). So
    this is the one place that dispatches on ``keras.backend.backend()``:

    - tensorflow: record the forward pass on a ``tf.GradientTape``;
    - jax: JAX differentiates pure functions, so the model is run with
      ``model.stateless_call`` on explicit variable values and ``jax.grad`` is taken
      with respect to the chosen value;
    - torch: Keras variables are ``torch.nn.Parameter`` objects, so ``torch.autograd.grad``
      works on the ordinary forward pass.
    """
    import keras

    if not any(v is variable for v in model.trainable_variables):
        name = getattr(variable, "path", repr(variable))
        raise ValueError(f"{name!r} is not a trainable variable of this model (a frozen layer's weight, or "
                         "batch normalization's moving statistics, is never differentiated): pass one of "
                         "model.trainable_variables, or set the layer's trainable=True first")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = _mean_loss(loss_fn, y, model(x, training=False))
        grad = tape.gradient(loss, variable)
    elif backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        k = next(i for i, v in enumerate(model.trainable_variables) if v is variable)

        def loss_of(value: Any) -> Any:
            values = list(trainable)
            values[k] = value
            out, _ = model.stateless_call(values, non_trainable, x, training=False)
            return _mean_loss(loss_fn, y, out)

        grad = jax.grad(loss_of)(trainable[k])
    elif backend == "torch":
        import torch

        loss = _mean_loss(loss_fn, y, model(x, training=False))
        (grad,) = torch.autograd.grad(loss, [variable.value])
    else:
        raise NotImplementedError(f"no gradient recipe for the {backend!r} backend")
    if grad is None:
        raise ValueError(f"the loss does not depend on {variable.path!r}")
    return _to_numpy(grad).astype(np.float64)


def _to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy of a backend tensor or a variable's value, on any backend.

    Keras converts TensorFlow variables and torch tensors with ``np.array(x)``, which
    raises NumPy 2's "``__array__`` … copy keyword" DeprecationWarning; it is harmless,
    so it is silenced here rather than shown in every lab.
    """
    import keras

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.array(keras.ops.convert_to_numpy(x))


def _loss_value(model: Any, x: Any, y: Any, loss_fn: Callable) -> float:
    return float(_to_numpy(_mean_loss(loss_fn, y, model(x, training=False))))


def keras_gradcheck(
    model: Any,
    x: Any,
    y: Any,
    loss_fn: Callable,
    n_params: int = 10,
    epsilons: Sequence[float] = DEFAULT_EPSILONS,
    layer_index: int = 1,
    weight_index: int = 0,
) -> dict[str, Any]:
    """The same finite-difference check for any Keras 3 model, on any backend.

    Introduced in lab 1 (Initialization). ``layer_index`` counts only layers that have
    trainable weights (so ``Flatten`` or ``Dropout`` do not shift it; ``layer_index=1`` is
    the second ``Dense`` of an MLP) and ``weight_index`` picks among that layer's weights
    (0: the kernel, 1: the bias). The first ``n_params`` entries (row-major) are checked;
    the analytic gradient comes from the backend's autodiff, the numeric one from
    ``variable.assign`` with θ ± ε and two forward passes. The weights are restored.

    ``loss_fn(y_true, y_pred)`` may return one loss per example (it is averaged here) or
    a scalar. Prefer the per-example *function*, e.g.
    ``lambda y, p: keras.losses.sparse_categorical_crossentropy(y, p, from_logits=True)``.

    Run the check in float64, or round-off hides everything below ~1e-4:

    - build the model with ``dtype="float64"`` on every layer (or call
      ``keras.config.set_floatx("float64")`` first); :func:`float64_clone` converts a
      Sequential or functional model;
    - TensorFlow: nothing else. A ``keras.losses`` class object also works there if given
      ``dtype="float64"`` (by default it casts predictions to float32);
    - JAX: the check runs inside :func:`float64_scope` (x64 switched on for the check
      only), and the model must have been built in one too, or JAX has stored its float64
      variables as float32 (a warning says so): :func:`float64_clone` does that. A
      ``keras.losses`` class with ``dtype="float64"`` then works as on TensorFlow;
    - JAX (Keras 3.15): ``keras.ops.tanh`` returns float32 even for float64 input, which
      the check of a later layer hardly sees but that of an earlier one does: check a ReLU
      or sigmoid network there for the full ε² curve;
    - torch (Keras 3.15): ``keras.ops.mean`` and thus every ``keras.losses`` class
      average in float32, hence the per-example function above (averaged here in
      float64); and ``keras.ops.matmul`` (so ``Dense``) computes float64 in float32, which
      caps the check near 1e-5 — use TensorFlow or JAX to see the full ε² curve.
    """
    with float64_scope():
        return _keras_gradcheck(model, x, y, loss_fn, n_params, epsilons, layer_index, weight_index)


def _keras_gradcheck(
    model: Any,
    x: Any,
    y: Any,
    loss_fn: Callable,
    n_params: int,
    epsilons: Sequence[float],
    layer_index: int,
    weight_index: int,
) -> dict[str, Any]:
    """:func:`keras_gradcheck` itself, run inside :func:`float64_scope`."""
    import keras

    with_weights = [layer for layer in model.layers if layer.trainable_weights]
    if not -len(with_weights) <= layer_index < len(with_weights):
        raise ValueError(f"layer_index={layer_index}: the model has {len(with_weights)} layers with trainable weights "
                         f"({', '.join(layer.name for layer in with_weights) or 'none'}); layer_index counts only those")
    weights = with_weights[layer_index].trainable_weights
    if not -len(weights) <= weight_index < len(weights):
        raise ValueError(f"weight_index={weight_index}: layer {with_weights[layer_index].name!r} has {len(weights)} "
                         f"trainable weights ({', '.join(w.path for w in weights)})")
    variable = weights[weight_index]
    original = _to_numpy(variable.value)
    dtype = str(original.dtype)
    loss_dtype = getattr(loss_fn, "dtype", None)
    if dtype != "float64" or (isinstance(loss_dtype, str) and loss_dtype != "float64"):
        hint = ""
        if keras.backend.backend() == "jax" and variable.dtype == "float64":
            hint = (" (JAX stored this float64 variable as float32: build the model inside "
                    "nnlab.gradcheck.float64_scope(), or convert it with float64_clone)")
        warnings.warn(
            f"gradient check with a {dtype} variable and a loss in {loss_dtype or 'its own dtype'}{hint}: "
            "use float64 for both (see keras_gradcheck's docstring) or expect errors ~1e-4",
            stacklevel=3,
        )
    n_params = min(n_params, original.size)
    analytic = backend_gradient(model, x, y, loss_fn, variable).reshape(-1)[:n_params]

    numeric = []
    try:
        for eps in epsilons:
            approx = np.empty(n_params)
            for i in range(n_params):
                perturbed = original.copy()
                perturbed.flat[i] += eps
                variable.assign(perturbed)
                loss_plus = _loss_value(model, x, y, loss_fn)
                perturbed.flat[i] = original.flat[i] - eps
                variable.assign(perturbed)
                loss_minus = _loss_value(model, x, y, loss_fn)
                approx[i] = (loss_plus - loss_minus) / (2 * eps)
            numeric.append(approx)
    finally:
        variable.assign(original)
    return _summarize(analytic, numeric, epsilons, dtype)


def float64_clone(model: Any) -> Any:
    """A float64 copy of a Sequential or functional Keras model, with the same weights.

    Introduced in lab 1 (Initialization), for :func:`keras_gradcheck`. The inputs and
    every layer are rebuilt with ``dtype="float64"``; subclassed models are not supported.
    The clone is built inside :func:`float64_scope`, so on JAX its variables really hold
    float64 (use it inside such a block too: :func:`keras_gradcheck` opens one).
    """
    with float64_scope():
        return _float64_clone(model)


def _float64_clone(model: Any) -> Any:
    import keras

    def to_float64(layer: Any) -> Any:
        config = layer.get_config()
        config["dtype"] = "float64"
        return layer.__class__.from_config(config)

    inputs = [keras.Input(t.shape[1:], dtype="float64") for t in model.inputs]
    clone = keras.models.clone_model(
        model, input_tensors=inputs[0] if len(inputs) == 1 else inputs, clone_function=to_float64
    )
    clone.set_weights([np.asarray(w, dtype=np.float64) for w in model.get_weights()])
    return clone
