"""Tests for the from-scratch NumPy MLP and the initialization experiments (lab 1)."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.init_experiments import repeated_matmul_norms, symmetry_gap
from nnlab.numpy_mlp import INIT_SCHEMES, NumpyMLP, activation_stats, exact_matmul, init_weights


def blobs(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated Gaussian blobs in 5-D: a linearly separable toy problem."""
    rng = np.random.default_rng(seed)
    centers = np.array([[3, 0, 0, 0, 0], [0, 3, 0, 0, 0], [0, 0, 3, 0, 0]], dtype=float)
    y = rng.integers(0, 3, n)
    return centers[y] + rng.normal(0, 0.7, (n, 5)), y


# -- initialization ---------------------------------------------------------------------


@pytest.mark.parametrize("scheme", INIT_SCHEMES)
def test_init_weights_shape_and_dtype(scheme: str) -> None:
    w = init_weights(30, 20, scheme, np.random.default_rng(0), sigma=0.1)
    assert w.shape == (30, 20) and w.dtype == np.float64


@pytest.mark.parametrize(
    ("scheme", "sigma", "expected_std"),
    [
        ("glorot", None, np.sqrt(2 / (400 + 300))),
        ("he", None, np.sqrt(2 / 400)),
        ("normal", 0.05, 0.05),
        ("uniform", 0.05, 0.05),
    ],
)
def test_init_weights_std(scheme: str, sigma: float | None, expected_std: float) -> None:
    w = init_weights(400, 300, scheme, np.random.default_rng(0), sigma=sigma)
    assert w.std() == pytest.approx(expected_std, rel=0.03)
    assert abs(w.mean()) < 0.05 * expected_std


def test_init_weights_zero_constant_and_errors() -> None:
    assert not init_weights(4, 3, "zero").any()
    assert np.all(init_weights(4, 3, "constant", value=0.3) == 0.3)
    r = np.sqrt(6 / 7)
    assert np.abs(init_weights(4, 3, "glorot", np.random.default_rng(0))).max() <= r
    with pytest.raises(ValueError, match="unknown init"):
        init_weights(4, 3, "xavier")


# -- the model --------------------------------------------------------------------------


def test_forward_shapes_and_params() -> None:
    model = NumpyMLP([5, 7, 4, 3], seed=0)
    probs = model.forward(np.ones((6, 5)))
    assert probs.shape == (6, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert [p.shape for p in model.params] == [(5, 7), (7,), (7, 4), (4,), (4, 3), (3,)]
    assert model.count_params() == 5 * 7 + 7 + 7 * 4 + 4 + 4 * 3 + 3
    assert all(not b.any() for b in model.biases)  # biases start at zero


def test_sgd_step_updates_params_in_place() -> None:
    model = NumpyMLP([5, 4, 3], seed=0)
    w_before = model.weights[0].copy()
    x, y = blobs(20)
    model.forward(x)
    grads = [g.copy() for g in model.backward(y)]
    model.sgd_step(0.1)
    np.testing.assert_allclose(model.weights[0], w_before - 0.1 * grads[0])


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_learns_separable_toy_problem(activation: str) -> None:
    x, y = blobs(400, seed=0)
    x_val, y_val = blobs(200, seed=1)
    model = NumpyMLP([5, 16, 3], activation=activation, init="glorot", seed=0)
    history = model.train(x, y, epochs=10, batch_size=20, lr=0.2, x_val=x_val, y_val=y_val, seed=0)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 10 for v in history.values())
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.9
    assert (model.predict(x_val) == y_val).mean() == pytest.approx(history["val_accuracy"][-1])


def test_one_hot_labels_accepted() -> None:
    x, y = blobs(50)
    a, b = NumpyMLP([5, 4, 3], seed=0), NumpyMLP([5, 4, 3], seed=0)
    assert a.loss(x, y) == b.loss(x, np.eye(3)[y])


def test_a_column_of_labels_is_read_as_labels_and_other_shapes_are_refused() -> None:
    x, y = blobs(50)
    net = NumpyMLP([5, 4, 3], seed=0)
    assert net.loss(x, y[:, None]) == net.loss(x, y)   # (B, 1), as Keras's CIFAR-10 gives them: not all class 0
    with pytest.raises(ValueError, match="one-hot"):
        net.loss(x, np.tile(y[:, None], (1, 3)))
    with pytest.raises(ValueError, match=r"integer labels \(B,\)"):
        net.loss(x, y.reshape(50, 1, 1))


# -- symmetry: zero and constant init keep hidden units identical -------------------------


def test_zero_init_keeps_hidden_weights_exactly_zero() -> None:
    x, y = blobs(100)
    model = NumpyMLP([5, 8, 6, 3], init="zero", seed=0)
    model.train(x, y, epochs=5, batch_size=10, lr=0.5)
    assert symmetry_gap(model) == 0.0
    assert all(not w.any() for w in model.weights)  # no signal reaches any weight
    assert model.biases[-1].any()  # only the output bias learns (the class frequencies)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_constant_init_keeps_hidden_units_identical(activation: str) -> None:
    x, y = blobs(100)
    model = NumpyMLP([5, 13, 7, 3], activation=activation, init="constant", value=0.2, exact=True)
    model.train(x, y, epochs=5, batch_size=10, lr=0.5)
    assert not np.array_equal(model.weights[0], init_weights(5, 13, "constant", value=0.2))  # it trained
    assert symmetry_gap(model) == 0.0  # bit for bit
    # with BLAS products the units drift apart by round-off only
    blas = NumpyMLP([5, 13, 7, 3], activation=activation, init="constant", value=0.2)
    blas.train(x, y, epochs=5, batch_size=10, lr=0.5)
    assert symmetry_gap(blas) < 1e-12


def test_random_init_breaks_symmetry() -> None:
    model = NumpyMLP([5, 8, 3], init="glorot", seed=0)
    assert symmetry_gap(model) > 0.1
    assert symmetry_gap(np.ones((4, 3))) == 0.0
    assert symmetry_gap([np.ones((4, 3)), np.array([1.0, 2.0, 3.0])]) == 2.0


def test_exact_matmul_matches_blas() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(9, 13)), rng.normal(size=(13, 7))
    np.testing.assert_allclose(exact_matmul(a, b), a @ b, rtol=1e-12)


# -- statistics --------------------------------------------------------------------------


def test_activation_stats_dead_and_saturated() -> None:
    relu_out = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])  # unit 0 is dead
    tanh_out = np.array([[0.999, -0.5], [-0.995, -0.1]])  # unit 0 is saturated, unit 1 is not
    conv_maps = np.zeros((2, 4, 4, 8))  # Keras layout: channels (units) last
    conv_maps[0, 1, 2, 3] = 1.0  # channel 3 fires once; the other 7 are dead
    stats = activation_stats([relu_out, tanh_out, conv_maps, relu_out], ["relu", "tanh", "relu", None])
    s_relu, s_tanh, s_conv, s_unknown = stats
    assert s_relu["frac_dead"] == pytest.approx(1 / 3)
    assert s_relu["frac_zero"] == pytest.approx(0.5) == s_relu["frac_saturated"]
    assert s_tanh["frac_saturated"] == pytest.approx(0.5) and s_tanh["frac_dead"] == pytest.approx(0.5)
    assert s_conv["frac_dead"] == pytest.approx(7 / 8)
    assert np.isnan(s_unknown["frac_dead"]) and s_unknown["mean"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        activation_stats([relu_out], ["relu", "tanh"])


def test_layer_stats_after_backward() -> None:
    x, y = blobs(64)
    model = NumpyMLP([5, 8, 6, 3], activation="tanh", seed=0)
    model.forward(x)
    model.backward(y)
    stats = model.layer_stats()
    assert [s["layer"] for s in stats] == [1, 2, 3]
    assert [s["activation"] for s in stats] == ["tanh", "tanh", "softmax"]
    assert all(s["grad_norm"] > 0 and np.isfinite(s["std"]) for s in stats)
    with pytest.raises(RuntimeError):
        NumpyMLP([5, 3]).layer_stats()


# -- 100 matrix products: vanishing and exploding -------------------------------------------


def test_repeated_matmul_norms_vanish_explode_and_stay() -> None:
    dim = 64
    norms = repeated_matmul_norms(n_steps=100, dim=dim, sigmas=[0.05, 1 / np.sqrt(dim), 0.5], seed=0)
    assert all(len(v) == 101 and v[0] == 1.0 for v in norms.values())
    assert norms[0.05][-1] < 1e-10  # (0.05·8)^100: vanishes
    assert norms[0.5][-1] > 1e10  # (0.5·8)^100: explodes
    assert 1e-2 < norms[1 / np.sqrt(dim)][-1] < 1e2  # σ = 1/√dim keeps it O(1)


def test_repeated_matmul_norms_relu_needs_he() -> None:
    dim = 64
    norms = repeated_matmul_norms(dim=dim, sigmas=[1 / np.sqrt(dim), np.sqrt(2 / dim)], activation="relu")
    assert norms[1 / np.sqrt(dim)][-1] < 1e-6  # ReLU halves the variance each step
    assert 1e-2 < norms[np.sqrt(2 / dim)][-1] < 1e2  # He's factor 2 restores it
