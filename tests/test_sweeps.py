"""Unit tests of nnlab.sweeps: the grid, the labels, the best variant, and a tiny sweep end to end."""

from __future__ import annotations

import pytest

from nnlab import sweeps
from nnlab.training import Run, lower_is_better

BASE = {"width": 8, "activation": "relu"}


def _run(name: str, **history: list[float]) -> Run:
    return Run(name=name, config={}, history=history, params=0, seconds=0.0)


def test_grid_varies_one_knob_at_a_time_or_crosses_them():
    one_at_a_time = sweeps.expand_grid(BASE, {"width": [4, 16], "activation": ["tanh"]})
    assert one_at_a_time == [{"width": 4, "activation": "relu"}, {"width": 16, "activation": "relu"},
                             {"width": 8, "activation": "tanh"}]
    crossed = sweeps.expand_grid(BASE, {"width": [4, 16], "activation": ["tanh", "elu"]}, product=True)
    assert len(crossed) == 4 and {"width": 16, "activation": "elu"} in crossed
    with pytest.raises(ValueError, match=r"\['depth'\] are not in the base config"):
        sweeps.expand_grid(BASE, {"depth": [2]})
    # a knob's base value in two knobs' lists would give the base configuration twice: it comes once
    assert sweeps.expand_grid(BASE, {"width": [8, 16], "activation": ["relu", "tanh"]}).count(BASE) == 1


def test_a_sweep_whose_values_print_alike_is_refused_before_training(monkeypatch):
    monkeypatch.setattr(sweeps, "train", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match="share the label 'lr=0.0001'"):
        sweeps.sweep(base={"lr": 0.1}, grid={"lr": [1e-4, "0.0001"]}, build=None, splits=None, epochs=1, name="s",
                     include_base=False)


def test_best_names_a_metric_the_runs_lack():
    runs = {"a": _run("a", accuracy=[0.5]), "b": _run("b", accuracy=[0.6])}
    with pytest.raises(KeyError, match="no 'val_accuracy'.*validation split"):
        sweeps.SweepResult("s", BASE, runs).best()


def test_labels_name_only_what_differs_from_the_base():
    assert sweeps.label(BASE, BASE) == "base"
    assert sweeps.label({**BASE, "width": 16}, BASE) == "width=16"
    assert sweeps.label({"width": (64, 32), "activation": "relu", "lr": 0.001}, BASE) == "width=64×32, lr=0.001"


def test_best_is_the_highest_accuracy_but_the_lowest_loss():
    low = _run("low", val_accuracy=[0.5, 0.6], val_loss=[0.9, 0.7])
    high = _run("high", val_accuracy=[0.7, 0.8], val_loss=[0.6, 0.4])
    assert low.best("val_accuracy") == 0.6 and low.best("val_loss") == 0.7
    runs = {"low": low, "high": high}
    assert sweeps.SweepResult("s", BASE, runs).best()[0] == "high"
    assert sweeps.SweepResult("s", BASE, runs, metric="val_loss").best()[0] == "high"   # 0.4 < 0.7
    errors = {"near": _run("near", val_time_error=[3.0, 1.0]), "far": _run("far", val_time_error=[9.0, 5.0])}
    assert sweeps.SweepResult("s", BASE, errors, metric="val_time_error").best()[0] == "near"
    assert lower_is_better("val_loss") and lower_is_better("time_error") and not lower_is_better("val_accuracy")
    assert lower_is_better("val_mse") and lower_is_better("mae") and not lower_is_better("sparse_categorical_accuracy")
    assert _run("m", val_mse=[5.0, 1.0, 3.0]).best("val_mse") == 1.0


def test_a_tiny_sweep_trains_each_variant_once_and_reloads_them(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    monkeypatch.setenv("NNLAB_QUIET", "1")
    from nnlab import models
    from test_core import _toy_splits

    splits = _toy_splits()

    def run_sweep() -> sweeps.SweepResult:
        return sweeps.sweep(base={"width": 8}, grid={"width": [4]}, splits=splits, epochs=1, name="toy-sweep",
                            build=lambda cfg: models.mlp(splits.input_shape, hidden=(cfg["width"],), n_outputs=2))

    first = run_sweep()
    assert list(first.runs) == ["base", "width=4"]
    assert not any(run.cached for run in first.runs.values())
    table = first.table
    assert list(table.index) == ["base", "width=4"]
    assert table.loc["width=4", "params"] == 16 * 4 + 4 + 4 * 2 + 2 and table.loc["base", "epochs"] == 1
    assert 0 <= table.loc["base", "best val_accuracy"] <= 1
    again = run_sweep()
    assert all(run.cached for run in again.runs.values())
    assert again.table["best val_accuracy"].tolist() == table["best val_accuracy"].tolist()

