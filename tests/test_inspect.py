"""Unit tests of nnlab.inspect: layer outputs and per-layer gradients, checked against hand computations."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nnlab import inspect


@pytest.fixture
def two_layer_model() -> keras.Model:
    inputs = keras.Input((3,), name="x")
    hidden = keras.layers.Dense(4, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(2, name="out")(hidden)
    model = keras.Model(inputs, outputs, name="tiny")
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    return model


def test_layer_outputs_are_each_layers_own_computation(two_layer_model):
    w1, b1, w2, b2 = two_layer_model.get_weights()
    x = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    outs = inspect.layer_outputs(two_layer_model, x)
    assert list(outs) == ["hidden", "out"]            # every layer but the input, in order
    hidden = np.maximum(x @ w1 + b1, 0)
    np.testing.assert_allclose(outs["hidden"], hidden, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs["out"], hidden @ w2 + b2, rtol=1e-5, atol=1e-5)
    only = inspect.layer_outputs(two_layer_model, x, ["out"])
    assert list(only) == ["out"] and only["out"].shape == (5, 2)
    with pytest.raises(ValueError, match=r"model 'tiny' has no layer\(s\) \['hiden'\]; it has"):
        inspect.layer_outputs(two_layer_model, x, ["hiden"])


def test_kernel_gradients_match_the_chain_rule_by_hand(two_layer_model):
    w1, b1, w2, b2 = two_layer_model.get_weights()
    x = np.random.default_rng(2).normal(size=(6, 3)).astype("float32")
    y = np.random.default_rng(3).normal(size=(6, 2)).astype("float32")
    grads = inspect.kernel_gradients(two_layer_model, x, y, keras.losses.MeanSquaredError())
    assert list(grads) == ["hidden", "out"] and grads["hidden"].shape == w1.shape
    pre = x @ w1 + b1
    hidden = np.maximum(pre, 0)
    d_out = 2 * (hidden @ w2 + b2 - y) / y.size       # mean over batch and outputs
    np.testing.assert_allclose(grads["out"], hidden.T @ d_out, rtol=1e-4, atol=1e-6)
    d_pre = (d_out @ w2.T) * (pre > 0)
    np.testing.assert_allclose(grads["hidden"], x.T @ d_pre, rtol=1e-4, atol=1e-6)
    biases = inspect.kernel_gradients(two_layer_model, x, y, keras.losses.MeanSquaredError(), weight="bias")
    np.testing.assert_allclose(biases["out"], d_out.sum(axis=0), rtol=1e-4, atol=1e-6)


def test_kernel_gradients_leave_out_a_frozen_layer(two_layer_model):
    x = np.random.default_rng(2).normal(size=(6, 3)).astype("float32")
    y = np.random.default_rng(3).normal(size=(6, 2)).astype("float32")
    all_grads = inspect.kernel_gradients(two_layer_model, x, y, keras.losses.MeanSquaredError())
    two_layer_model.get_layer("hidden").trainable = False    # the fixture builds a new model per test
    grads = inspect.kernel_gradients(two_layer_model, x, y, keras.losses.MeanSquaredError())
    assert list(grads) == ["out"]     # the frozen layer is not trained, so it has no entry
    np.testing.assert_allclose(grads["out"], all_grads["out"], rtol=1e-6)
