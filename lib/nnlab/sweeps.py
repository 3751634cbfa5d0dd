"""Sweeps: a grid of configurations in, a tidy results table and one kind of plot out.

Introduced in lab 2 (Activations); used by every lab that compares variants. A sweep is
one call::

    result = sweep(
        base={"hidden": (256,), "activation": "relu"},
        grid={"activation": ["relu", "tanh", "sigmoid"]},
        build=lambda cfg: models.mlp(splits.input_shape, cfg["hidden"], activation=cfg["activation"]),
        splits=splits, epochs=5, name="activations",
    )
    result.table          # one row per variant: config, params, best/final scores, seconds
    result.plot()         # learning curves in the book's shared style

Each variant trains through :func:`nnlab.training.train`, so an unchanged sweep is
reloaded from the cache when the book is rebuilt. ``grid`` varies one knob at a time
around ``base`` (as the reports did); ``product=True`` crosses all knobs instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import pandas as pd

from nnlab.splits import Splits
from nnlab.training import Run, lower_is_better, train

Config = dict[str, Any]


def expand_grid(base: Mapping[str, Any], grid: Mapping[str, Sequence[Any]], product: bool = False) -> list[Config]:
    """The configurations of a sweep: one knob at a time around ``base``, or the full product;
    each configuration once."""
    unknown = [k for k in grid if k not in base]
    if unknown:
        raise ValueError(f"grid knobs {unknown} are not in the base config {sorted(base)}")
    if product:
        keys = list(grid)
        configs = [{**base, **dict(zip(keys, values))} for values in itertools.product(*(grid[k] for k in keys))]
    else:
        configs = [{**base, key: value} for key, values in grid.items() for value in values]
    unique: list[Config] = []   # a knob's base value in several knobs' lists gives the base config again
    for config in configs:
        if config not in unique:
            unique.append(config)
    return unique


def label(config: Mapping[str, Any], base: Mapping[str, Any]) -> str:
    """A short label naming only what differs from ``base`` (``"base"`` when nothing does)."""
    parts = [f"{k}={_short(v)}" for k, v in config.items() if base.get(k) != v]
    return ", ".join(parts) or "base"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    return str(value)


@dataclass
class SweepResult:
    """The runs of a sweep and their table."""

    name: str
    base: Config
    runs: dict[str, Run]
    metric: str = "val_accuracy"

    @property
    def table(self) -> pd.DataFrame:
        """One row per variant: its label, knobs, parameters, scores and training time."""
        rows = []
        for lab, run in self.runs.items():
            row: dict[str, Any] = {"variant": lab}
            row.update({k: _short(v) for k, v in run.config.items()})
            row["params"] = run.params
            row["epochs"] = run.epochs
            if self.metric in run.history:
                row[f"best {self.metric}"] = round(run.best(self.metric), 4)
                row[f"final {self.metric}"] = round(run.final(self.metric), 4)
            row["seconds"] = round(run.seconds, 1)
            rows.append(row)
        return pd.DataFrame(rows).set_index("variant")

    def best(self) -> tuple[str, Run]:
        """The variant with the best score of ``metric`` (the highest accuracy, the lowest loss)."""
        missing = [label for label, run in self.runs.items() if self.metric not in run.history]
        if missing:
            raise KeyError(f"sweep {self.name!r}: runs {missing} have no {self.metric!r} in their history (it has "
                           f"{sorted(next(iter(self.runs.values())).history)}); was there a validation split?")
        pick = min if lower_is_better(self.metric) else max
        return pick(self.runs.items(), key=lambda item: item[1].best(self.metric))

    def plot(self, metrics: Sequence[str] = ("loss", "accuracy"), **kwargs: Any) -> Any:
        """The runs' learning curves (:func:`nnlab.plots.learning_curves`; ``kwargs`` go to it,
        the title defaults to the sweep's name); returns the figure."""
        from nnlab.plots import learning_curves

        return learning_curves(self.runs, metrics, title=kwargs.pop("title", self.name), **kwargs)


def sweep(
    *,
    base: Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    build: Callable[[Config], keras.Model],
    splits: Splits,
    epochs: int | Callable[[Config], int],
    name: str,
    product: bool = False,
    metric: str = "val_accuracy",
    fit: Callable[[Config], Mapping[str, Any]] | None = None,
    include_base: bool = True,
    seed: int = 0,
) -> SweepResult:
    """Train every configuration of the grid and collect the runs.

    ``build(config)`` returns a fresh Keras model; ``fit(config)`` may return extra keyword
    arguments for :func:`~nnlab.training.train` (optimizer, loss, batch_size, callbacks…).
    """
    base = dict(base)
    configs = expand_grid(base, grid, product)
    if include_base and base not in configs:
        configs.insert(0, base)
    labels = [label(config, base) for config in configs]
    for lab in labels:
        if labels.count(lab) > 1:   # checked before any training: the second run would overwrite the first
            raise ValueError(f"two configurations of sweep {name!r} share the label {lab!r} (values that print "
                             "alike, such as 1e-4 and '0.0001', or 1 and '1'): make the grid's values distinct")
    runs: dict[str, Run] = {}
    for config, lab in zip(configs, labels):
        kwargs = dict(fit(config)) if fit else {}
        n_epochs = epochs(config) if callable(epochs) else epochs
        runs[lab] = train(lambda c=config: build(c), splits, name=f"{name}/{lab}", epochs=n_epochs,
                          config=config, seed=seed, **kwargs)
    return SweepResult(name, base, runs, metric)
