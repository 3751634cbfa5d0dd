"""Hyperparameter search under a parameter budget, with KerasTuner.

Introduced in lab 3 (Training knobs). Report 001 searched for the best MNIST MLP among
models with 0.5 to 1 million parameters. :func:`budgeted_mlp_search` does the same with
KerasTuner's random search: each trial draws a depth, a parameter target inside the
budget, a dropout rate and a learning rate, and the hidden width is *computed* from the
target (:func:`width_for_params`), so every model the tuner builds is inside the budget
by construction. The build function still counts each model's parameters and rejects
(``FailedTrialError``) any that fall outside, and :class:`SearchResult` lists the count of
every trial so a lab can assert it.

Selection uses the validation split only; the test split is never passed to the tuner.
The tuner's project folder lives in the nnlab cache
(``<cache>/tuner/<profile>/<name>-<profile>-<key>``, ``key`` hashing the data split and
the search settings) and is reused (``overwrite=False``): rebuilding the book reloads a
finished search instead of running it again. KerasTuner's console output is silenced.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from nnlab import knobs, models
from nnlab.results import log_run
from nnlab.splits import Splits
from nnlab.training import STEPS_PER_EXECUTION, payload_key, source_hash


def mlp_params(n_inputs: int, hidden: Sequence[int], n_outputs: int) -> int:
    """Weights and biases of a dense MLP ``n_inputs → hidden… → n_outputs``."""
    sizes = [int(n_inputs), *map(int, hidden), int(n_outputs)]
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))


def width_for_params(n_inputs: int, depth: int, n_params: int, n_outputs: int = 10) -> int:
    """The largest uniform hidden width whose ``depth``-layer MLP has at most ``n_params`` parameters."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    if mlp_params(n_inputs, [1] * depth, n_outputs) > n_params:
        raise ValueError(f"even width 1 exceeds {n_params:,} parameters")
    lo, hi = 1, 1
    while mlp_params(n_inputs, [hi] * depth, n_outputs) <= n_params:
        hi *= 2
    while hi - lo > 1:  # invariant: params(lo) <= n_params < params(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if mlp_params(n_inputs, [mid] * depth, n_outputs) <= n_params else (lo, mid)
    return lo


@dataclass(frozen=True)
class Budget:
    """An inclusive range of parameter counts."""

    low: int = 500_000
    high: int = 1_000_000

    def __contains__(self, n_params: object) -> bool:
        return isinstance(n_params, (int, np.integer)) and self.low <= int(n_params) <= self.high

    def __str__(self) -> str:
        return f"{self.low / 1e6:g}–{self.high / 1e6:g} M parameters"


@dataclass
class SearchResult:
    """The trials of a finished search, best first, and where KerasTuner keeps them."""

    name: str
    budget: Budget
    trials: pd.DataFrame
    project_dir: Path
    seconds: float
    reloaded: bool

    @property
    def best(self) -> dict[str, Any]:
        """The best completed trial's settings (depth, width, params, dropout, learning_rate, val_accuracy)."""
        done = self.trials[self.trials["status"] == "COMPLETED"]
        if done.empty:
            raise RuntimeError(f"search {self.name!r} has no completed trial")
        row = done.iloc[0]
        return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}

    @property
    def all_in_budget(self) -> bool:
        """True when every trial's model (as built, counted by Keras) lies inside the budget."""
        return bool(len(self.trials)) and all(int(n) in self.budget for n in self.trials["params"])


def _budget_width(n_inputs: int, depth: int, target: int, n_outputs: int, budget: Budget) -> int:
    """The hidden width of a ``depth``-layer MLP with about ``target`` parameters, rounded up by
    one where rounding down would leave it under the budget's lower edge."""
    width = width_for_params(n_inputs, depth, target, n_outputs)
    if mlp_params(n_inputs, [width] * depth, n_outputs) < budget.low:
        width += 1
    return width


def _code_version() -> str:
    """A short hash of the code a search's models come from: editing it invalidates cached searches."""
    return source_hash("models.py", "knobs.py", "search.py")


def budgeted_mlp_builder(
    input_shape: Sequence[int],
    n_outputs: int,
    budget: Budget,
    *,
    depths: Sequence[int] = (1, 2, 3),
    dropouts: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5),
    learning_rates: tuple[float, float] = (3e-4, 3e-3),
    params_step: int = 50_000,
    seed: int = 0,
):
    """KerasTuner build function: an Adam-trained ReLU MLP whose size is drawn inside ``budget``."""
    import keras_tuner

    from nnlab.seeding import set_seed

    n_inputs = int(np.prod(input_shape))

    def build(hp: keras_tuner.HyperParameters) -> keras.Model:
        depth = hp.Choice("depth", list(depths))
        target = hp.Int("target_params", budget.low, budget.high, step=params_step)
        dropout = hp.Choice("dropout", list(dropouts))
        lr = hp.Float("learning_rate", learning_rates[0], learning_rates[1], sampling="log")
        width = _budget_width(n_inputs, depth, target, n_outputs, budget)
        set_seed(seed)
        model = models.mlp(input_shape, [width] * depth, n_outputs, dropout=dropout, name="budgeted_mlp")
        n_params = model.count_params()
        if n_params not in budget:
            raise keras_tuner.errors.FailedTrialError(f"{n_params:,} parameters is outside {budget}")
        model.compile(optimizer=knobs.optimizer("adam", lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], steps_per_execution=STEPS_PER_EXECUTION)
        return model

    return build


def _random_search(**kwargs: Any):
    """KerasTuner's RandomSearch, minus its unconditional TensorBoard import.

    With the TensorFlow backend KerasTuner imports ``tensorboard`` at every trial, even when
    no TensorBoard callback is used; ``tensorflow-cpu`` does not install it. The import is
    only needed to patch a TensorBoard callback, so it is skipped when there is none.
    """
    import keras_tuner

    class RandomSearch(keras_tuner.RandomSearch):
        def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
            if any(type(cb).__name__ == "TensorBoard" for cb in callbacks):
                super()._configure_tensorboard_dir(callbacks, trial, execution)

    return RandomSearch(**kwargs)


def budgeted_mlp_search(
    splits: Splits,
    *,
    name: str,
    max_trials: int,
    epochs: int,
    budget: Budget = Budget(),
    batch_size: int = 128,
    depths: Sequence[int] = (1, 2, 3),
    dropouts: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5),
    learning_rates: tuple[float, float] = (3e-4, 3e-3),
    params_step: int = 50_000,
    seed: int = 0,
) -> SearchResult:
    """Random search (KerasTuner) over MLPs inside ``budget``, scored on the validation split.

    Each trial trains ``epochs`` epochs; its score is the best validation accuracy it
    reached. A finished search with the same settings and data is reloaded, not rerun.
    """
    import keras_tuner

    from nnlab.data import tuner_dir
    from nnlab.profiles import get_profile

    if splits.x_val is None:
        raise ValueError("a search needs a validation split (the test split is never used for selection)")
    profile = get_profile().name
    settings = {
        "budget": [budget.low, budget.high], "depths": list(depths), "dropouts": list(dropouts),
        "learning_rates": list(learning_rates), "params_step": params_step, "max_trials": max_trials,
        "epochs": epochs, "batch_size": batch_size, "seed": seed, "splits": splits.fingerprint(),
        "backend": keras.backend.backend(), "code": _code_version(),
    }
    directory = tuner_dir() / profile
    project = f"{name}-{profile}-{payload_key(settings, length=12)}"
    build = budgeted_mlp_builder(splits.input_shape, splits.n_classes, budget, depths=depths,
                                 dropouts=dropouts, learning_rates=learning_rates,
                                 params_step=params_step, seed=seed)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        tuner = _random_search(
            hypermodel=build, objective="val_accuracy", max_trials=max_trials, seed=seed,
            directory=str(directory), project_name=project, overwrite=False,
        )
        reloaded = len(tuner.oracle.trials) >= max_trials
        tuner.search(splits.x_train, splits.y_train, validation_data=(splits.x_val, splits.y_val),
                     epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    log_run(name, cached=reloaded)   # a search counts as one run

    rows = []
    for trial in tuner.oracle.trials.values():
        values = dict(trial.hyperparameters.values)
        try:
            n_params = build(trial.hyperparameters).count_params()
            width = _budget_width(int(np.prod(splits.input_shape)), values["depth"], values["target_params"],
                                  splits.n_classes, budget)
        except keras_tuner.errors.FailedTrialError:
            n_params, width = -1, -1
        rows.append({
            "trial": trial.trial_id, "depth": values["depth"], "width": width, "params": n_params,
            "dropout": values["dropout"], "learning_rate": float(values["learning_rate"]),
            "val_accuracy": np.nan if trial.score is None else float(trial.score),
            "best_epoch": None if trial.best_step is None else int(trial.best_step) + 1,
            "status": str(trial.status),
        })
    table = pd.DataFrame(rows).sort_values("val_accuracy", ascending=False, na_position="last")
    return SearchResult(name, budget, table.reset_index(drop=True), directory / project, seconds, reloaded)
