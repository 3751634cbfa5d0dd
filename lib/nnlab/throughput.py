"""Training throughput of the chapter-5 CIFAR-10 CNN: a naive set-up next to ours, in one run.

Used by ``python -m nnlab bench --throughput [--steps N]`` (issue 9). Both set-ups train the
same network, :func:`nnlab.cnn_tools.resnet_ish` at lab 5c's full-profile width, on the same
in-memory NumPy arrays, through ``model.fit``:

- **naive**: the model in float32, ``model.compile(optimizer="adam", loss=...,
  metrics=["accuracy"])`` with every other option at Keras's default, and
  ``model.fit(x, y, batch_size=32)`` — what a first tutorial writes;
- **fast**: exactly what :func:`nnlab.cnn_tools.train_cifar_cnn` builds for lab 5c's full
  profile (mixed precision on a GPU via :func:`~nnlab.cnn_tools.precision_policy`, batches of
  512, SGD with Nesterov momentum and the :class:`~nnlab.cnn_tools.OneCycle` schedule), with the
  train step compiled (``jit_compile=True`` where the backend allows it: JAX and TensorFlow) and
  :data:`nnlab.training.STEPS_PER_EXECUTION` steps per call into it, as every nnlab run has.

The recipe is not copied here: :func:`fast_recipe` calls ``train_cifar_cnn`` with the
trainer swapped for a recorder, so the model builder, optimizer, loss and batch size are the
ones the lab trains with.

Each set-up gets a warm-up ``fit`` of a few steps (tracing and compilation happen there; its
time is reported separately as ``warmup_seconds``), then one ``fit`` of a fixed number of
steps is timed, ending with a read of a weight so that asynchronous backends have finished.
Only training is timed: no validation, no callbacks. The result is written as
``throughput-<backend>-<device>.json`` and ``.md`` (see :func:`run_throughput`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnlab._download import atomic_write_text
from nnlab.bench import OUT_DIR, device_description, slug
from nnlab.cnn_tools import FULL_CIFAR_CNN

__all__ = ["FULL_RECIPE", "Measurement", "NAIVE_BATCH", "Recipe", "backend_details", "fast_jit_compile",
           "fast_recipe", "measure", "naive_recipe", "run_throughput", "synthetic_splits", "throughput_markdown"]

NAIVE_BATCH = 32
"""Keras's default batch size: the naive set-up's."""

FULL_RECIPE: Mapping[str, int] = FULL_CIFAR_CNN
"""Lab 5c's full-profile CNN (:data:`nnlab.cnn_tools.FULL_CIFAR_CNN`): the network and schedule measured."""

DEFAULT_STEPS = 300
DEFAULT_WARMUP_STEPS = 20


@dataclass(frozen=True)
class Recipe:
    """What a training call would build and fit: everything but the data loop."""

    build: Callable[[], Any]
    optimizer: Callable[[], Any] | str
    loss: str
    batch_size: int
    precision: str
    description: str
    steps_per_execution: int = 1


@dataclass(frozen=True)
class Measurement:
    """One set-up's timing. ``images_per_second`` counts timed training images only."""

    setup: str
    description: str
    batch_size: int
    precision: str
    jit_compile: bool
    steps_per_execution: int
    optimizer: str
    params: int
    warmup_steps: int
    warmup_seconds: float
    steps: int
    images: int
    seconds: float
    images_per_second: float
    step_ms: float
    compile_seconds: float
    """Warm-up time beyond what its steps take at the timed pace: tracing and compilation."""


@contextlib.contextmanager
def _recorded_training() -> Iterator[dict[str, Any]]:
    """Swap :func:`nnlab.training.train` for a recorder of its arguments (restored on exit)."""
    import nnlab.training as training

    calls: dict[str, Any] = {}

    def record(build: Callable[[], Any], splits: Any, **kwargs: Any) -> None:
        calls.update(build=build, splits=splits, **kwargs)

    original = training.train
    training.train = record  # train_cifar_cnn imports it at call time
    try:
        yield calls
    finally:
        training.train = original


def _cifar_recipe(splits: Any, *, width: int, epochs: int, batch_size: int, precision: str) -> dict[str, Any]:
    from nnlab import cnn_tools

    recipe = {**FULL_RECIPE, "width": width, "epochs": epochs, "batch_size": batch_size}  # the rest (cutout) as lab 5c
    with _recorded_training() as calls:
        cnn_tools.train_cifar_cnn(splits, **recipe, precision=precision, cache=False, name="throughput")
    return calls


def fast_recipe(splits: Any, *, width: int = FULL_RECIPE["width"], epochs: int = FULL_RECIPE["epochs"],
                batch_size: int = FULL_RECIPE["batch_size"]) -> Recipe:
    """Lab 5c's CNN recipe as :func:`nnlab.cnn_tools.train_cifar_cnn` builds it (precision ``auto``)."""
    from nnlab.training import STEPS_PER_EXECUTION

    calls = _cifar_recipe(splits, width=width, epochs=epochs, batch_size=batch_size, precision="auto")
    precision = calls["config"]["precision"]
    per_call = calls.get("steps_per_execution", STEPS_PER_EXECUTION)
    return Recipe(build=calls["build"], optimizer=calls["optimizer"], loss=calls["loss"],
                  batch_size=calls["batch_size"], precision=precision, steps_per_execution=per_call,
                  description=(f"train_cifar_cnn: {precision}, batch {calls['batch_size']}, "
                               f"cutout {calls['config']['cutout'] or 'none'}, "
                               f"{calls['config']['optimizer']}, compiled step, {per_call} steps per call"))


def naive_recipe(splits: Any, *, width: int = FULL_RECIPE["width"]) -> Recipe:
    """The same network in float32 with Adam's defaults and Keras's default batch size."""
    calls = _cifar_recipe(splits, width=width, epochs=1, batch_size=NAIVE_BATCH, precision="float32")
    return Recipe(build=calls["build"], optimizer="adam", loss=calls["loss"], batch_size=NAIVE_BATCH,
                  precision="float32",
                  description='float32, compile(optimizer="adam") with default options, fit(batch_size=32)')


def fast_jit_compile() -> bool | str:
    """``True`` on JAX and TensorFlow; Keras's ``"auto"`` on PyTorch (no XLA there)."""
    import keras

    return True if keras.backend.backend() in ("jax", "tensorflow") else "auto"


def _timed_copy(x: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exactly ``n`` images (cycling through the arrays), so that every batch is full."""
    index = np.arange(n) % len(x)
    return x[index], y[index]


def _sync(model: Any) -> None:
    """Wait for the backend: read one weight back to the host."""
    import keras

    float(np.asarray(keras.ops.convert_to_numpy(model.trainable_variables[0])).ravel()[0])


def measure(name: str, recipe: Recipe, x: np.ndarray, y: np.ndarray, *, steps: int, warmup_steps: int,
            jit_compile: bool | str = "auto", seed: int = 0) -> Measurement:
    """Build and compile ``recipe``'s model, warm it up, then time ``steps`` training steps."""
    import keras

    from nnlab.seeding import set_seed

    if steps < 1 or warmup_steps < 1:
        raise ValueError(f"steps and warmup_steps must be at least 1, got {steps} and {warmup_steps}")
    set_seed(seed)
    model = recipe.build()
    optimizer = recipe.optimizer if isinstance(recipe.optimizer, str) else recipe.optimizer()
    model.compile(optimizer=optimizer, loss=recipe.loss, metrics=["accuracy"], jit_compile=jit_compile,
                  steps_per_execution=recipe.steps_per_execution)
    batch = recipe.batch_size
    x_warm, y_warm = _timed_copy(x, y, warmup_steps * batch)
    start = time.perf_counter()
    model.fit(x_warm, y_warm, batch_size=batch, epochs=1, verbose=0)
    _sync(model)
    warmup_seconds = time.perf_counter() - start
    x_timed, y_timed = _timed_copy(x, y, steps * batch)
    start = time.perf_counter()
    model.fit(x_timed, y_timed, batch_size=batch, epochs=1, verbose=0)
    _sync(model)
    seconds = time.perf_counter() - start
    result = Measurement(
        setup=name, description=recipe.description, batch_size=batch, precision=recipe.precision,
        jit_compile=bool(model.jit_compile), steps_per_execution=recipe.steps_per_execution,
        optimizer=type(model.optimizer).__name__,
        params=int(model.count_params()), warmup_steps=warmup_steps, warmup_seconds=round(warmup_seconds, 3),
        steps=steps, images=steps * batch, seconds=round(seconds, 3),
        images_per_second=round(steps * batch / seconds, 1), step_ms=round(1000 * seconds / steps, 3),
        compile_seconds=round(max(0.0, warmup_seconds - warmup_steps * seconds / steps), 3),
    )
    del model, optimizer, x_timed, y_timed
    keras.backend.clear_session()
    gc.collect()
    return result


def synthetic_splits(n_images: int = 2048, seed: int = 0) -> Any:
    """Random CIFAR-shaped images and labels (for tests and a first look without the data set)."""
    from nnlab.splits import Splits

    rng = np.random.default_rng(seed)
    x = rng.random((n_images, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, n_images)
    names = tuple(f"class {i}" for i in range(10))
    return Splits(name="random", x_train=x, y_train=y, x_val=None, y_val=None, x_test=x[:10], y_test=y[:10],
                  class_names=names, source="random numbers", note="synthetic")


def backend_details() -> dict[str, str]:
    """Keras, the backend's version and the device the backend computes on."""
    import keras

    backend = keras.backend.backend()
    details = {"keras": keras.__version__}
    try:
        if backend == "jax":
            import jax

            details.update(backend_version=jax.__version__, backend_device=str(jax.devices()[0].device_kind))
        elif backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_logical_devices("GPU")
            details.update(backend_version=tf.__version__, backend_device=gpus[0].name if gpus else "CPU")
        elif backend == "torch":
            import torch

            device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
            details.update(backend_version=torch.__version__, backend_device=device)
    except Exception as exc:  # a description must never stop a measurement
        details["backend_device"] = f"unknown ({type(exc).__name__})"
    return details


def run_throughput(
    *,
    steps: int = DEFAULT_STEPS,
    warmup_steps: int = DEFAULT_WARMUP_STEPS,
    width: int = FULL_RECIPE["width"],
    batch_size: int = FULL_RECIPE["batch_size"],
    data: str = "cifar10",
    n_images: int | None = None,
    out_dir: Path = OUT_DIR,
) -> Path:
    """Measure both set-ups in this process; write ``throughput-<backend>-<device>.{json,md}``.

    ``steps`` timed steps for each set-up, after ``warmup_steps`` untimed ones. ``data`` is ``"cifar10"`` (the training split
    lab 5c uses; ``n_images`` caps it) or ``"random"`` (``n_images`` random images, 2,048 by
    default). ``width`` and ``batch_size`` (the fast set-up's) default to lab 5c's full profile,
64 and 512. Returns the JSON path.
    """
    import keras

    backend = keras.backend.backend()
    device = device_description()
    started = time.perf_counter()
    if data == "random":
        splits = synthetic_splits(2048 if n_images is None else n_images)
    elif data == "cifar10":
        from nnlab.splits import load_splits

        splits = load_splits("cifar10", n_train=n_images)
    else:
        raise ValueError(f"data must be 'cifar10' or 'random', got {data!r}")
    x, y = splits.x_train, splits.y_train
    data_seconds = time.perf_counter() - started
    print(f"==> throughput of the lab 5c CNN (width {width}) on {device}, backend {backend}: "
          f"{len(x):,} {data} images", flush=True)
    naive = measure("naive", naive_recipe(splits, width=width), x, y, steps=steps,
                    warmup_steps=warmup_steps)
    print(f"    naive: {naive.images_per_second:,.0f} images/s (warm-up {naive.warmup_seconds:.1f} s)", flush=True)
    fast = measure("fast", fast_recipe(splits, width=width, batch_size=batch_size), x, y, steps=steps, warmup_steps=warmup_steps,
                   jit_compile=fast_jit_compile())
    print(f"    fast:  {fast.images_per_second:,.0f} images/s (warm-up {fast.warmup_seconds:.1f} s)", flush=True)
    report = {
        "kind": "throughput",
        "model": f"nnlab.cnn_tools.resnet_ish (lab 5c's CIFAR-10 CNN), width {width}",
        "backend": backend,
        "device": device,
        **backend_details(),
        "date": time.strftime("%Y-%m-%d"),
        "data": f"{data}: {len(x):,} training images of {tuple(x.shape[1:])}, float32 NumPy arrays in memory",
        "setups": [asdict(naive), asdict(fast)],
        "ratio": round(fast.images_per_second / naive.images_per_second, 2),
        "data_seconds": round(data_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"throughput-{backend}-{slug(device)}"
    markdown = throughput_markdown(report)
    atomic_write_text(stem.with_suffix(".json"), json.dumps(report, indent=1) + "\n")
    atomic_write_text(stem.with_suffix(".md"), markdown)
    print(f"==> ratio fast/naive: {report['ratio']}×; wrote {stem}.json and {stem}.md", flush=True)
    return stem.with_suffix(".json")


def throughput_markdown(report: dict[str, Any]) -> str:
    """A throughput report as a short Markdown page: context lines and one table."""
    lines = [f"# Training throughput: {report['model']}", "",
             f"{report['device']} · backend {report['backend']} {report.get('backend_version', '')} "
             f"({report.get('backend_device', '?')}) · Keras {report.get('keras', '?')} · {report['date']}",
             f"Data: {report['data']}", "",
             "| set-up | what | batch | precision | jit_compile | warm-up s (compile) | timed steps | "
             "images/s | ms/step |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in report["setups"]:
        lines.append(f"| {s['setup']} | {s['description']} | {s['batch_size']} | {s['precision']} | "
                     f"{s['jit_compile']} | {s['warmup_seconds']:.1f} ({s['compile_seconds']:.1f}) | {s['steps']} | "
                     f"{s['images_per_second']:,.0f} | {s['step_ms']:.1f} |")
    lines += ["", f"**Fast / naive: {report['ratio']}×** images per second "
                  f"(whole measurement {report['seconds']} s, loading the data {report.get('data_seconds', '?')} s).",
              ""]
    return "\n".join(lines)
