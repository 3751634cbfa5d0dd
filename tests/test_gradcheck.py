"""Tests for the finite-difference gradient checks (lab 1)."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest

from nnlab import gradcheck, numpy_mlp
from nnlab.gradcheck import DEFAULT_EPSILONS, keras_gradcheck, numpy_mlp_gradcheck
from nnlab.numpy_mlp import NumpyMLP


def toy_batch(n: int = 32, d: int = 10, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, k, n)


# -- NumPy MLP ---------------------------------------------------------------------------


def test_default_epsilons_are_one_over_powers_of_ten() -> None:
    assert DEFAULT_EPSILONS == (1.0, 0.1, 0.01, 1e-3, 1e-4, 1e-5)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("layer", [0, 1, 2])
def test_numpy_mlp_gradcheck_passes(activation: str, layer: int) -> None:
    x, y = toy_batch()
    model = NumpyMLP([10, 12, 8, 4], activation=activation, seed=1)
    result = numpy_mlp_gradcheck(model, x, y, layer=layer, n_params=10)
    assert result["rel_error"][-1] < 1e-6  # ε = 1e-5, float64
    assert result["max_abs_error"][-1] < 1e-8
    assert np.abs(result["analytic"]).max() > 0  # the checked gradients are not trivially 0


def test_result_format_and_error_shrinks_like_eps_squared() -> None:
    x, y = toy_batch()
    model = NumpyMLP([10, 12, 8, 4], activation="tanh", seed=1)
    result = numpy_mlp_gradcheck(model, x, y)
    n = len(DEFAULT_EPSILONS)
    assert result["N"] == [1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0]
    assert all(len(result[k]) == n for k in ("epsilon", "N", "max_abs_error", "rel_error"))
    assert result["numeric"].shape == (n, 10) and result["analytic"].shape == (10,)
    # centered differences: 10× smaller ε, ~100× smaller error (while round-off is small)
    err = result["max_abs_error"]
    assert 30 < err[1] / err[2] < 300 and 30 < err[2] / err[3] < 300


def test_gradcheck_leaves_the_model_unchanged() -> None:
    x, y = toy_batch()
    model = NumpyMLP([10, 6, 4], seed=0)
    before = [p.copy() for p in model.params]
    numpy_mlp_gradcheck(model, x, y, layer=1)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.params))


def test_gradcheck_catches_a_wrong_activation_derivative(monkeypatch: pytest.MonkeyPatch) -> None:
    f, _ = numpy_mlp.ACTIVATIONS["tanh"]
    monkeypatch.setitem(numpy_mlp.ACTIVATIONS, "tanh", (f, lambda z, a: 1.0 - a))  # should be 1 - a²
    x, y = toy_batch()
    result = numpy_mlp_gradcheck(NumpyMLP([10, 12, 8, 4], activation="tanh", seed=1), x, y, layer=0)
    assert min(result["rel_error"]) > 1e-2


def test_gradcheck_catches_a_wrong_backward(monkeypatch: pytest.MonkeyPatch) -> None:
    original = NumpyMLP.backward

    def forgets_the_batch_mean(self: NumpyMLP, y: np.ndarray) -> list[np.ndarray]:
        grads = original(self, y)
        self.grads = [g * len(y) for g in grads]  # a classic bug: sum instead of mean
        return self.grads

    monkeypatch.setattr(NumpyMLP, "backward", forgets_the_batch_mean)
    x, y = toy_batch()
    result = numpy_mlp_gradcheck(NumpyMLP([10, 12, 8, 4], seed=1), x, y)
    assert min(result["rel_error"]) > 0.5


def test_invalid_layer_raises() -> None:
    x, y = toy_batch()
    with pytest.raises(ValueError):
        numpy_mlp_gradcheck(NumpyMLP([10, 4], seed=0), x, y, layer=1)


# -- Keras (whichever backend is active; TensorFlow by default) ----------------------------

import keras  # noqa: E402  (a hard dependency: a broken install must fail these tests, not skip them)


@pytest.fixture(scope="module")
def backend() -> str:
    return keras.backend.backend()


def tiny_keras_mlp(dtype: str = "float64", scoped: bool = True) -> "keras.Model":
    """A 10-12-4 sigmoid MLP, built inside float64_scope (without it, JAX stores float64 as float32)."""
    init = keras.initializers.GlorotUniform
    with gradcheck.float64_scope() if scoped else contextlib.nullcontext():
        return keras.Sequential(
            [
                keras.Input((10,), dtype=dtype),
                keras.layers.Dense(12, activation="sigmoid", dtype=dtype, kernel_initializer=init(seed=1)),
                keras.layers.Dense(4, dtype=dtype, kernel_initializer=init(seed=2)),
            ]
        )


def per_example_loss(y: object, logits: object) -> object:
    return keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)


FAST_EPS = (1e-3, 1e-5)  # two ε keep the Keras tests fast; the last one is checked


def tolerance(backend: str) -> float:
    # Keras 3.15 on torch multiplies float64 matrices in float32 (see keras_gradcheck)
    return 1e-3 if backend == "torch" else 1e-6


def check_error(result: dict, backend: str) -> float:
    """The error that must be small: at ε = 1e-5, or at the best ε on torch (float32 noise)."""
    return min(result["rel_error"]) if backend == "torch" else result["rel_error"][-1]


@pytest.mark.parametrize(("layer_index", "weight_index"), [(0, 0), (1, 0), (1, 1)])
def test_keras_gradcheck_passes(backend: str, layer_index: int, weight_index: int) -> None:
    x, y = toy_batch()
    model = tiny_keras_mlp()
    before = [w.copy() for w in model.get_weights()]
    result = keras_gradcheck(
        model, x, y, per_example_loss, epsilons=FAST_EPS, layer_index=layer_index, weight_index=weight_index
    )
    assert result["dtype"] == "float64"
    assert check_error(result, backend) < tolerance(backend)
    assert result["analytic"].shape == (4 if weight_index else 10,)  # the bias has only 4 entries
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # restored


@pytest.mark.parametrize(("layer_index", "weight_index", "message"), [
    (2, 0, "layer_index=2: the model has 2 layers with trainable weights"),
    (1, 2, "weight_index=2: layer 'dense_.*' has 2 trainable weights"),
])
def test_keras_gradcheck_names_what_a_bad_index_could_have_been(layer_index, weight_index, message) -> None:
    x, y = toy_batch()
    with pytest.raises(ValueError, match=message):
        keras_gradcheck(tiny_keras_mlp(), x, y, per_example_loss, epsilons=FAST_EPS, layer_index=layer_index,
                        weight_index=weight_index)


def test_keras_gradcheck_agrees_with_numpy_mlp(backend: str) -> None:
    """The same network in Keras and in NumPy has the same gradient."""
    x, y = toy_batch()
    model = tiny_keras_mlp()
    ours = NumpyMLP([10, 12, 4], activation="sigmoid")
    ours.weights = [np.array(w) for w in model.get_weights()[::2]]
    ours.biases = [np.array(b) for b in model.get_weights()[1::2]]
    k = keras_gradcheck(model, x, y, per_example_loss, epsilons=[1e-5])
    n = numpy_mlp_gradcheck(ours, x, y, layer=1, epsilons=[1e-5])
    np.testing.assert_allclose(k["analytic"], n["analytic"], rtol=tolerance(backend) * 10)


@pytest.mark.skipif("keras.backend.backend() == 'torch'")  # torch averages keras.losses in float32
def test_keras_loss_object_in_float64() -> None:
    """Lab 1's way: a float32 model cloned into float64, a keras.losses class in float64."""
    x, y = toy_batch()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    clone = gradcheck.float64_clone(tiny_keras_mlp("float32", scoped=False))
    result = keras_gradcheck(clone, x, y, loss, epsilons=FAST_EPS)
    assert result["rel_error"][-1] < 1e-6


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype float64")  # JAX's own truncation warning
def test_float64_scope_is_needed_to_build_a_float64_model_on_jax(backend: str) -> None:
    """Outside float64_scope, JAX (x64 off) stores float64 variables as float32: the check warns."""
    x, y = toy_batch()
    model = tiny_keras_mlp(scoped=False)
    stored = keras.ops.convert_to_numpy(model.trainable_variables[0].value).dtype
    if backend == "jax" and stored == np.float32:
        with pytest.warns(UserWarning, match="float64_scope"):
            keras_gradcheck(model, x, y, per_example_loss, n_params=2, epsilons=[1e-3])
    else:  # TensorFlow and torch store float64 as asked (so does JAX with x64 switched on globally)
        assert stored == np.float64
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = keras_gradcheck(model, x, y, per_example_loss, epsilons=FAST_EPS)
        assert check_error(result, backend) < tolerance(backend)


def test_float32_model_warns_and_float64_clone_fixes_it(backend: str) -> None:
    x, y = toy_batch()
    model32 = tiny_keras_mlp("float32")
    with pytest.warns(UserWarning, match="float32"):
        keras_gradcheck(model32, x, y, per_example_loss, n_params=2, epsilons=[1e-3])
    clone = gradcheck.float64_clone(model32)
    to_numpy = keras.ops.convert_to_numpy
    with gradcheck.float64_scope():  # where the clone is meant to be used (on JAX: x64 on)
        np.testing.assert_allclose(to_numpy(clone(x)), to_numpy(model32(x)), atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no dtype warning now
        result = keras_gradcheck(clone, x, y, per_example_loss, epsilons=FAST_EPS)
    assert check_error(result, backend) < tolerance(backend)


def test_keras_gradcheck_can_fail(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    true_gradient = gradcheck.backend_gradient
    monkeypatch.setattr(gradcheck, "backend_gradient", lambda *args: 1.1 * true_gradient(*args))
    x, y = toy_batch()
    result = keras_gradcheck(tiny_keras_mlp(), x, y, per_example_loss, epsilons=FAST_EPS)
    assert min(result["rel_error"]) > 1e-2


def test_backend_gradient_refuses_a_frozen_weight(backend: str) -> None:
    """A frozen layer's kernel is not differentiated by any backend: the error says so and how to
    fix it, rather than TensorFlow's "loss does not depend on" or JAX's bare StopIteration."""
    x, y = toy_batch()
    model = tiny_keras_mlp()
    model.layers[0].trainable = False
    with pytest.raises(ValueError, match="not a trainable variable.*trainable=True"):
        gradcheck.backend_gradient(model, x, y, per_example_loss, model.layers[0].kernel)
    model.layers[0].trainable = True
    with gradcheck.float64_scope():
        grad = gradcheck.backend_gradient(model, x, y, per_example_loss, model.layers[0].kernel)
    assert grad.shape == (10, 12) and np.abs(grad).max() > 0
