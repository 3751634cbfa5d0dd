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


def _keras_default_optimizer(name):
    """A fresh Keras optimizer of the class ``knobs.optimizer(name)`` stands for, with Keras's own defaults."""
    import keras

    return {
        "sgd": keras.optimizers.SGD, "momentum": keras.optimizers.SGD, "nesterov": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam, "nadam": keras.optimizers.Nadam,
        "adagrad": keras.optimizers.Adagrad, "adadelta": keras.optimizers.Adadelta,
    }[name]()


def _lr(opt) -> float:
    return float(np.asarray(opt.learning_rate))


@pytest.mark.parametrize("name", knobs.OPTIMIZERS)
def test_optimizers_by_name_use_keras_defaults(name):
    opt = knobs.optimizer(name)
    reference = _keras_default_optimizer(name)
    assert type(opt) is type(reference)
    assert _lr(opt) == pytest.approx(_lr(reference), rel=1e-6)
    assert knobs.DEFAULT_LEARNING_RATES[name] == pytest.approx(_lr(reference), rel=1e-6)
    assert _lr(knobs.optimizer(name, 0.123)) == pytest.approx(0.123, rel=1e-6)
    assert _lr(knobs.optimizer_factory(name, 0.05)()) == pytest.approx(0.05, rel=1e-6)
    assert knobs.optimizer_factory(name)() is not knobs.optimizer_factory(name)()  # fresh each call
    with pytest.raises(ValueError):
        knobs.optimizer("adamw-typo")


@pytest.mark.parametrize(("name", "momentum", "nesterov"),
                         [("sgd", 0.0, False), ("momentum", 0.9, False), ("nesterov", 0.9, True)])
def test_sgd_family_momentum_and_nesterov(name, momentum, nesterov):
    opt = knobs.optimizer(name)
    assert float(opt.momentum) == pytest.approx(momentum)
    assert bool(opt.nesterov) is nesterov


@pytest.mark.parametrize("name", ["adam", "nesterov"])
def test_cosine_decay_steps_gives_a_cosine_schedule(name):
    import keras

    opt = knobs.optimizer(name, 0.002, cosine_decay_steps=1234)
    schedule = opt._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert schedule.decay_steps == 1234
    assert float(schedule.initial_learning_rate) == pytest.approx(0.002)
    assert float(keras.ops.convert_to_numpy(schedule(0))) == pytest.approx(0.002, rel=1e-6)
    assert float(keras.ops.convert_to_numpy(schedule(1234))) == pytest.approx(0.0, abs=1e-9)
    default = knobs.optimizer(name, cosine_decay_steps=10)._learning_rate
    assert float(default.initial_learning_rate) == pytest.approx(knobs.DEFAULT_LEARNING_RATES[name])
    assert not isinstance(knobs.optimizer(name)._learning_rate,
                          keras.optimizers.schedules.LearningRateSchedule)


def _fixed_hp(depth, target, dropout=0.0, lr=1e-3):
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.Fixed("depth", depth)
    hp.Fixed("target_params", target)
    hp.Fixed("dropout", dropout)
    hp.Fixed("learning_rate", lr)
    return hp


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("end", ["low", "high"])
def test_budgeted_mlp_builder_stays_in_budget(depth, end):
    budget = search.Budget(500_000, 1_000_000)
    target = budget.low if end == "low" else budget.high
    build = search.budgeted_mlp_builder((28, 28), 10, budget)
    model = build(_fixed_hp(depth, target))
    n_params = model.count_params()
    assert budget.low <= n_params <= budget.high
    hidden = [layer for layer in model.layers if layer.name.startswith("dense_")]
    assert len(hidden) == depth
    width = hidden[0].units
    assert all(layer.units == width for layer in hidden)
    assert n_params == search.mlp_params(784, [width] * depth, 10)
    if end == "high":  # the largest width that fits: one more unit would leave the budget
        assert search.mlp_params(784, [width + 1] * depth, 10) > budget.high
    else:              # the smallest width that reaches the budget: one fewer would fall short
        assert search.mlp_params(784, [width - 1] * depth, 10) < budget.low


def test_budgeted_mlp_search_needs_a_validation_split(tmp_path, monkeypatch):
    from nnlab.splits import Splits

    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))  # a broken check must not touch the real cache
    x = np.zeros((8, 4, 4), "float32")
    y = np.zeros(8, np.int64)
    splits = Splits("tiny", x, y, None, None, x, y, tuple("ab"))
    with pytest.raises(ValueError, match="validation split"):
        search.budgeted_mlp_search(splits, name="no-val", max_trials=1, epochs=1)


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


def test_search_result_best_skips_failed_trials_and_all_in_budget_checks_every_one(tmp_path):
    import pandas as pd

    trials = pd.DataFrame([   # best first, as budgeted_mlp_search sorts them; a failed trial has no score
        {"trial": "2", "status": "FAILED", "depth": 1, "width": 900, "params": 716_410, "dropout": 0.1,
         "learning_rate": 1e-3, "val_accuracy": np.nan},
        {"trial": "0", "status": "COMPLETED", "depth": 2, "width": 472, "params": 599_000, "dropout": 0.2,
         "learning_rate": 5e-4, "val_accuracy": 0.93},
        {"trial": "1", "status": "COMPLETED", "depth": 3, "width": 361, "params": 548_000, "dropout": 0.5,
         "learning_rate": 4e-4, "val_accuracy": 0.88},
    ])
    result = search.SearchResult("s", search.Budget(), trials, tmp_path, seconds=1.0, reloaded=False)
    assert result.best["trial"] == "0" and result.best["width"] == 472 and isinstance(result.best["params"], int)
    assert result.all_in_budget
    over = trials.assign(params=[716_410, 599_000, 1_200_000])
    assert not search.SearchResult("s", search.Budget(), over, tmp_path, 1.0, False).all_in_budget
    assert not search.SearchResult("s", search.Budget(), trials.iloc[:0], tmp_path, 1.0, False).all_in_budget
    with pytest.raises(RuntimeError, match="search 's' has no completed trial"):
        search.SearchResult("s", search.Budget(), trials.iloc[:1], tmp_path, 1.0, False).best
