"""Training with one call, quiet in the book and cached between builds ("train or load").

Introduced in lab 1 (Initialization). :func:`train` compiles and fits a Keras model on a
:class:`~nnlab.splits.Splits` and returns a :class:`Run` (history, validation scores,
parameter count, seconds). When ``cache=True`` the history and weights are stored under
the data cache (``$NNLAB_DATA/runs/<key>``), keyed by everything that shapes the result:
the model's architecture, the config, the data split, the loss, metrics and callbacks, the
profile, the backend and the nnlab version. Re-building the book then reloads an unchanged
experiment instead of training it again.

Progress bars show when a person trains interactively; ``NNLAB_QUIET=1`` (set by
``make book`` and ``make test``) keeps the book and the test logs clean.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from nnlab._download import remove_stale_temporaries
from nnlab._environment import env_flag
from nnlab.data import runs_dir
from nnlab.results import log_run
from nnlab.splits import Splits

HistoryDict = dict[str, list[float]]

STEPS_PER_EXECUTION = 32
"""Optimizer steps per call into Keras's compiled train function (``compile(steps_per_execution=)``).

The steps, their order and their numbers are the same as with one step per call; what changes
is how often Keras comes back to Python between them (callbacks, state bookkeeping). For the
small MLPs of labs 1-4 that bookkeeping is a large part of a step: on a 2-core CPU, a
784-256-10 MLP with batches of 100 took 2.7 ms per step with TensorFlow at one step per call
and 1.9 ms at 32 (JAX: 0.99 and 0.88 ms; lab 3's quick profile: 145 s and 127 s with
TensorFlow, the same numbers). On a GPU, where such a model's arithmetic is almost free, the
bookkeeping is most of the step. Epoch-end callbacks (early stopping, the clock lab's time
error) and learning-rate schedules (which count optimizer steps) behave as before; a callback
acting after each batch would see every 32nd one (nnlab has none).
"""


@dataclass
class Run:
    """The outcome of one training run."""

    name: str
    config: dict[str, Any]
    history: HistoryDict
    params: int
    seconds: float
    model: keras.Model | None = None
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def final(self, metric: str = "val_accuracy") -> float:
        """The metric's value after the last epoch."""
        return float(self.history[metric][-1])

    def best(self, metric: str = "val_accuracy") -> float:
        """The best value the metric reached (max for accuracy, min for losses/errors)."""
        values = self.history[metric]
        return float(min(values) if lower_is_better(metric) else max(values))

    @property
    def epochs(self) -> int:
        return len(next(iter(self.history.values()))) if self.history else 0


#: Keras's short names of metrics that are errors (``"val_mse"``…), beside names with "loss" or "error".
_ERROR_METRICS = ("mse", "mae", "mape", "msle", "rmse", "crossentropy", "hinge", "poisson", "divergence")


def lower_is_better(metric: str) -> bool:
    """True for a loss or an error (``"val_loss"``, ``"val_time_error"``, ``"val_mae"``), False for an accuracy."""
    name = metric.removeprefix("val_")
    return "loss" in name or "error" in name or name.endswith(_ERROR_METRICS)


def quiet() -> bool:
    """True when training should print nothing (``NNLAB_QUIET=1``; see :func:`nnlab._environment.env_flag`)."""
    return env_flag("NNLAB_QUIET")


def default_verbose() -> int | str:
    """0 in the book and the tests, Keras's progress bar otherwise."""
    return 0 if quiet() else "auto"


class StepProgbar(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, but never past the epoch's last step.

    With ``steps_per_execution`` > 1, Keras 3 reports each call into the compiled function as
    ending a full call's batches later, so the last, shorter call of an epoch shows e.g.
    "96/88" with a negative time left (keras-team/keras#20861). :func:`train` uses this bar
    instead; it counts the same steps and prints the same metrics. Only training batches are
    clamped: inside ``fit`` Keras's bar does not show validation batches.
    """

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        super().on_train_batch_end(batch if not self.target else min(batch, self.target - 1), logs)


def _describe(thing: Any) -> Any:
    """What identifies a loss or metric in the cache key: its Keras name, a Loss or Metric
    object's class and configuration (``OneHotLoss("poisson")`` and ``OneHotLoss("kl")``
    differ), or a function's qualified name."""
    if isinstance(thing, str):
        return thing
    if isinstance(thing, (keras.losses.Loss, keras.metrics.Metric)):
        try:
            return {"class": type(thing).__qualname__, "config": thing.get_config()}
        except NotImplementedError:
            return type(thing).__qualname__
    return f"{getattr(thing, '__module__', '')}.{getattr(thing, '__qualname__', type(thing).__qualname__)}"


def _describe_callbacks(callbacks: Callable[[], Sequence[keras.callbacks.Callback]] | None) -> list[Any]:
    """The callbacks a run is fitted with, for the cache key: each one's class and its settings
    that are plain numbers or strings (early stopping's patience and monitor, a metric's family).
    A run that stops early is another run than one that does not."""
    described = []
    for callback in (callbacks() if callbacks else ()):
        settings = {k: v for k, v in sorted(vars(callback).items())
                    if not k.startswith("_") and isinstance(v, (bool, int, float, str))}
        described.append({"class": f"{type(callback).__module__}.{type(callback).__qualname__}", **settings})
    return described


def model_signature(model: keras.Model) -> Any:
    """The architecture of ``model`` for a cache key: its Keras config with every layer name
    replaced by the layer's position, so the same network gets the same signature however many
    models the process built before it (Keras numbers its automatic names: ``dense_7``). A
    model that cannot describe itself (a subclass without ``get_config``) is described by its
    layers' classes and weight shapes."""
    layers = [model, *model._flatten_layers(include_self=False)]
    position = {layer.name: f"<layer {i}>" for i, layer in reversed(list(enumerate(layers)))}

    def anonymous(value: Any) -> Any:
        if isinstance(value, str):
            return position.get(value, value)
        if isinstance(value, Mapping):
            return {k: anonymous(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [anonymous(v) for v in value]
        return value

    try:
        return anonymous(model.get_config())
    except Exception:   # NotImplementedError, or a custom layer's own failure to serialize
        return [[type(layer).__qualname__, [list(w.shape) for w in layer.weights]] for layer in layers]


def payload_key(payload: Mapping[str, Any], length: int = 20) -> str:
    """A cache key: the first ``length`` hex digits of the sha256 of ``payload`` as sorted JSON
    (values JSON cannot write are written with ``str``). Used for runs and for searches."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def tensorboard_dir() -> Path | None:
    """The folder ``NNLAB_TENSORBOARD`` names, a relative path taken from the repository root
    (a lab's kernel runs in ``labs/``, a script wherever it was started); None when unset."""
    root = os.environ.get("NNLAB_TENSORBOARD", "").strip()
    if not root:
        return None
    from nnlab.results import REPO_ROOT

    path = Path(root).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def _tensorboard_callback(name: str) -> keras.callbacks.Callback | None:
    """A TensorBoard callback when ``NNLAB_TENSORBOARD`` names a log folder."""
    root = tensorboard_dir()
    if root is None:
        return None
    return keras.callbacks.TensorBoard(log_dir=str(root / name))


def train(
    build: Callable[[], keras.Model],
    splits: Splits,
    *,
    name: str,
    epochs: int,
    batch_size: int = 128,
    optimizer: str | Callable[[], keras.optimizers.Optimizer] = "adam",
    loss: str | keras.losses.Loss | Callable[[Any, Any], Any] = "sparse_categorical_crossentropy",
    metrics: Sequence[str | keras.metrics.Metric] = ("accuracy",),
    callbacks: Callable[[], list[keras.callbacks.Callback]] | None = None,
    config: Mapping[str, Any] | None = None,
    cache: bool = True,
    seed: int = 0,
    verbose: int | str | None = None,
    steps_per_execution: int = STEPS_PER_EXECUTION,
) -> Run:
    """Build, compile and fit a model; reload it instead when an identical run is cached.

    ``build`` makes a fresh model (called after seeding, so runs are repeatable);
    ``optimizer`` is a Keras name or a factory (a factory's run is cached only when
    ``config["optimizer"]`` describes it); ``callbacks`` is a factory too, so a
    cached run and a fresh one see the same configuration. ``config`` describes the
    run for the cache key and the results tables; the data split and the profile are
    added automatically. Validation scores come from ``splits.x_val``; the test split is
    left untouched (see :func:`evaluate`). ``steps_per_execution`` (see
    :data:`STEPS_PER_EXECUTION`) changes the speed only, so it is not part of the cache key.
    """
    from nnlab.profiles import get_profile
    from nnlab.seeding import set_seed

    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if steps_per_execution < 1:
        raise ValueError(f"steps_per_execution must be at least 1, got {steps_per_execution}")
    config = dict(config or {})
    payload = {
        "name": name,
        "config": config,
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": optimizer if isinstance(optimizer, str) else config.get("optimizer"),
        "loss": _describe(loss),
        "metrics": [_describe(metric) for metric in metrics],
        "callbacks": _describe_callbacks(callbacks),
        "splits": splits.fingerprint(),
        "profile": get_profile().name,
        "backend": keras.backend.backend(),
        "seed": seed,
        "nnlab": _code_version(),
    }
    if payload["optimizer"] is None:
        # A factory's repr holds a memory address: it would never match again, and a
        # looser name could match the wrong run. Such a run is trained, never cached.
        cache = False
    if any("<lambda>" in str(d) or "<locals>" in str(d) for d in (payload["loss"], *payload["metrics"])):
        cache = False   # likewise a lambda's or a nested function's name: two different ones share it
    def fresh_model() -> keras.Model:
        set_seed(seed)
        model = build()
        opt = keras.optimizers.get(optimizer) if isinstance(optimizer, str) else optimizer()
        model.compile(optimizer=opt, loss=loss, metrics=list(metrics), steps_per_execution=steps_per_execution)
        return model

    model = fresh_model()
    payload["model"] = model_signature(model)   # an edited build function is another run, whatever its name
    folder = runs_dir() / payload_key(payload)
    if cache and (folder / "run.json").exists():
        try:
            run = _load_run(folder, model, name, config)
        except Exception:  # a damaged cache entry is retrained, never trusted
            shutil.rmtree(folder, ignore_errors=True)
            model = fresh_model()
        else:
            log_run(name, cached=True)
            return run

    cbs = list(callbacks()) if callbacks else []
    board = _tensorboard_callback(name)
    if board is not None:
        cbs.append(board)
    verbose = default_verbose() if verbose is None else verbose
    if verbose:
        cbs.append(StepProgbar())  # Keras adds its own bar only when the list has none
    _warn_if_uncompiled(model, name)
    start = time.perf_counter()
    hist = model.fit(
        splits.x_train,
        splits.y_train,
        validation_data=(splits.x_val, splits.y_val) if splits.x_val is not None else None,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=cbs,
        verbose=verbose,
        shuffle=True,
    )
    seconds = time.perf_counter() - start
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    run = Run(name, config, history, model.count_params(), seconds, model)
    if cache:
        try:
            _save_run(folder, run, model)
        except OSError as exc:   # keep the run that was trained; only its cache is lost
            warnings.warn(f"{name}: could not cache this run in {folder.parent} ({exc}); it will be trained "
                          "again next time. Set NNLAB_DATA to a writable folder.", stacklevel=2)
    log_run(name, cached=False)
    return run


def _warn_if_uncompiled(model: keras.Model, name: str) -> None:
    """Warn when Keras will run a model's train step uncompiled on JAX (op by op: slow, worst on a GPU).

    Keras does so when any layer says ``supports_jit = False``; on TensorFlow, uncompiled is
    Keras's normal choice on a CPU, so only JAX is checked.
    """
    if keras.backend.backend() != "jax" or model.jit_compile:
        return
    blockers = sorted({type(layer).__name__ for layer in model._flatten_layers() if not layer.supports_jit})
    warnings.warn(f"{name}: Keras will train this model uncompiled on JAX, one operation at a time "
                  f"(layers not marked compilable: {', '.join(blockers) or 'none'}); see "
                  "nnlab.cnn_tools.compilable_on_jax", stacklevel=3)  # the caller of train()


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 512) -> dict[str, float]:
    """Evaluate a compiled model and return its metrics by name (quietly)."""
    values = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    return {k: float(v) for k, v in values.items()}


def source_hash(*module_files: str) -> str:
    """A short sha256 of some of nnlab's own source files, e.g. ``source_hash("clocks.py")``.

    The code part of every cache key (training runs, searches, clock runs, CIFAR runs):
    editing one of the named modules invalidates the runs cached with it.
    """
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in module_files:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:12]


def _code_version() -> str:
    """A short hash of nnlab's model and training code (models, training loop, data splits, lab 3's
    optimizers and losses, seeding): editing any of them invalidates cached runs."""
    return source_hash("models.py", "training.py", "splits.py", "knobs.py", "seeding.py")


def _save_run(folder: Path, run: Run, model: keras.Model | None) -> None:
    """Write a run atomically: into a temporary sibling folder, then one rename."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder.parent)   # what a killed run left a day or more ago
    tmp = Path(tempfile.mkdtemp(prefix=".run-", suffix=".tmp", dir=folder.parent))
    try:
        if model is not None:
            model.save_weights(tmp / "model.weights.h5")
        record = {"name": run.name, "config": run.config, "history": run.history,
                  "params": run.params, "seconds": run.seconds, "extra": run.extra}
        (tmp / "run.json").write_text(json.dumps(record, default=str))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_run(folder: Path, model: keras.Model | None, name: str, config: dict[str, Any]) -> Run:
    record = json.loads((folder / "run.json").read_text())
    if model is not None:
        with warnings.catch_warnings():  # the fresh optimizer has no state to restore: expected
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(folder / "model.weights.h5")
    return Run(name, config, record["history"], record["params"], record["seconds"], model,
               cached=True, extra=record.get("extra", {}))


def early_stopping(patience: int = 3, monitor: str = "val_loss") -> Callable[[], list[keras.callbacks.Callback]]:
    """A callbacks factory for early stopping that restores the best weights."""
    return lambda: [keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True)]
