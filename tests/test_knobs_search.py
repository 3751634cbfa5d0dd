"""Unit tests of nnlab.knobs (optimizers and losses by name) and nnlab.search (budget arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest

import nnlab  # noqa: F401  (quiet backend defaults before Keras loads)
from nnlab import knobs, models, search


def test_mlp_params_matches_keras():
    model = models.mlp((28, 28), (300, 100), 10)
    assert search.mlp_params(784, (300, 100), 10) == model.count_params() == 266_610


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("target", [500_000, 777_777, 1_000_000])
def test_width_for_params_is_the_largest_fitting_width(depth, target):
    width = search.width_for_params(784, depth, target, 10)
    assert search.mlp_params(784, [width] * depth, 10) <= target < search.mlp_params(784, [width + 1] * depth, 10)


def test_budget_contains():
    budget = search.Budget(500_000, 1_000_000)
    assert 500_000 in budget and 1_000_000 in budget and 669_706 in budget
    assert 499_999 not in budget and 1_000_001 not in budget and "600000" not in budget


@pytest.mark.parametrize("name", knobs.OPTIMIZERS)
def test_optimizers_by_name_use_keras_defaults(name):
    opt = knobs.optimizer(name)
    assert float(np.asarray(opt.learning_rate)) == pytest.approx(knobs.DEFAULT_LEARNING_RATES[name])
    with pytest.raises(ValueError):
        knobs.optimizer("adamw-typo")


def test_one_hot_losses_on_integer_labels():
    import keras

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 256)
    probs = keras.ops.softmax(rng.normal(size=(256, 10)).astype("float32"))
    cce = keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(labels, probs))
    kl = keras.ops.convert_to_numpy(knobs.OneHotLoss("kl_divergence", 10).call(labels, probs))
    poisson = keras.ops.convert_to_numpy(knobs.OneHotLoss("poisson", 10).call(labels, probs))
    np.testing.assert_allclose(kl, cce, atol=1e-4)
    np.testing.assert_allclose(poisson, (1 + cce) / 10, atol=1e-4)
    assert knobs.classification_loss("sparse_cce") == "sparse_categorical_crossentropy"
    assert float(knobs.classification_loss("cce")(labels, probs)) == pytest.approx(float(cce.mean()), rel=1e-5)
