"""Training knobs by name: optimizers and classification losses, ready for :func:`nnlab.training.train`.

Introduced in lab 3 (Training knobs). A sweep's config names its optimizer and loss with
short strings (``"momentum"``, ``"poisson"``); these helpers turn the names into fresh
Keras objects, so that the config stays a readable, hashable cache key.

- :func:`optimizer` / :func:`optimizer_factory`: Keras's own defaults (learning rates
  included), plus ``"momentum"`` and ``"nesterov"`` (SGD with momentum 0.9) and an
  optional cosine learning-rate decay.
- :func:`classification_loss`: sparse categorical cross-entropy as is, and the losses
  that want one-hot targets (Poisson, KL divergence, categorical cross-entropy) wrapped
  so that they accept the integer labels every :class:`~nnlab.splits.Splits` holds.

Backend-agnostic: only ``keras`` and ``keras.ops``.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

#: Keras 3's default learning rate of each optimizer (Adadelta's is 0.001, not the paper's 1.0).
DEFAULT_LEARNING_RATES: dict[str, float] = {
    "sgd": 0.01,
    "momentum": 0.01,
    "nesterov": 0.01,
    "rmsprop": 0.001,
    "adam": 0.001,
    "nadam": 0.001,
    "adagrad": 0.001,
    "adadelta": 0.001,
}

OPTIMIZERS = tuple(DEFAULT_LEARNING_RATES)


def optimizer(
    name: str,
    learning_rate: float | None = None,
    *,
    cosine_decay_steps: int | None = None,
) -> keras.optimizers.Optimizer:
    """A fresh optimizer by short name, with Keras's default learning rate unless given.

    ``"momentum"`` is SGD with momentum 0.9; ``"nesterov"`` adds Nesterov's look-ahead.
    ``cosine_decay_steps`` decays the learning rate to zero along a cosine over that many
    steps (a common schedule for a final, longer training run).
    """
    key = name.lower()
    if key not in DEFAULT_LEARNING_RATES:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    lr: float | keras.optimizers.schedules.LearningRateSchedule
    lr = DEFAULT_LEARNING_RATES[key] if learning_rate is None else float(learning_rate)
    if cosine_decay_steps:
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=int(cosine_decay_steps))
    if key in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if key == "sgd" else 0.9
        return keras.optimizers.SGD(learning_rate=lr, momentum=momentum, nesterov=key == "nesterov")
    cls = {
        "rmsprop": keras.optimizers.RMSprop,
        "adam": keras.optimizers.Adam,
        "nadam": keras.optimizers.Nadam,
        "adagrad": keras.optimizers.Adagrad,
        "adadelta": keras.optimizers.Adadelta,
    }[key]
    return cls(learning_rate=lr)


def optimizer_factory(
    name: str, learning_rate: float | None = None, *, cosine_decay_steps: int | None = None
) -> Callable[[], keras.optimizers.Optimizer]:
    """A zero-argument factory for :func:`optimizer`, the form :func:`nnlab.training.train` takes.

    Put ``name`` (and the learning rate) in the run's ``config`` too: for a factory the
    training cache keys on ``config["optimizer"]``.
    """
    return lambda: optimizer(name, learning_rate, cosine_decay_steps=cosine_decay_steps)


class OneHotLoss(keras.losses.Loss):
    """A loss written for one-hot targets, applied to integer class labels.

    The labels are one-hot encoded inside the loss (``keras.ops.one_hot``), so the data,
    the ``"accuracy"`` metric (which Keras resolves to sparse categorical accuracy for
    integer labels) and every other run of a sweep stay unchanged.
    """

    def __init__(self, loss: str, n_classes: int, name: str | None = None):
        super().__init__(name=name or f"{loss}_on_integer_labels")
        self.loss_name = loss
        self.n_classes = int(n_classes)
        self.fn = keras.losses.get(loss)

    def call(self, y_true, y_pred):
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        return self.fn(keras.ops.one_hot(labels, self.n_classes, dtype=y_pred.dtype), y_pred)

    def get_config(self) -> dict:
        return {"loss": self.loss_name, "n_classes": self.n_classes, "name": self.name}


#: Short names of classification losses → the Keras loss they stand for.
LOSSES: dict[str, str] = {
    "sparse_cce": "sparse_categorical_crossentropy",
    "cce": "categorical_crossentropy",
    "poisson": "poisson",
    "kl": "kl_divergence",
}


def classification_loss(name: str, n_classes: int = 10) -> str | keras.losses.Loss:
    """A loss for integer labels and softmax outputs, by short name (see :data:`LOSSES`).

    ``"sparse_cce"`` is returned as Keras's name; the others expect one-hot targets and
    come wrapped in :class:`OneHotLoss`.
    """
    key = LOSSES.get(name, name)
    if key not in LOSSES.values():
        raise ValueError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)}")
    if key == "sparse_categorical_crossentropy":
        return key
    return OneHotLoss(key, n_classes, name=name)
