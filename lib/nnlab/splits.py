"""Train / validation / test arrays, ready for a model.

Introduced in lab 1 (Initialization). :func:`load_splits` takes a data set from
:mod:`nnlab.data`, keeps a (stratified, seeded) subset when the profile asks for less
data, carves a validation split out of the training images, and scales pixels to
[0, 1]. The test split is only ever subset, never touched by selection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from nnlab import data


@dataclass(frozen=True)
class Splits:
    """Arrays for one experiment. ``x_*`` are float32 in [0, 1]; ``y_*`` are int labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str = ""
    note: str = ""
    reencoded: bool = False   # a lossy copy of the canonical data (see nnlab.data.Dataset.reencoded)

    def fingerprint(self) -> dict[str, object]:
        """What identifies this split in a cache key: name, shapes and a hash of every label and pixel.

        Every byte is hashed (about 0.1 s for MNIST's training images): a sample of rows would
        let two splits that differ in a few images or labels share their cached runs.
        """
        digest = data.named_arrays_sha256({key: getattr(self, key) for key in
                                           ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")})
        shapes = [None if a is None else list(a.shape) for a in (self.x_train, self.x_val, self.x_test)]
        return {"name": self.name, "shapes": shapes, "hash": digest[:16]}

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def map_x(self, fn: Callable[[np.ndarray], np.ndarray]) -> Splits:
        """The same split with ``fn`` applied to every image array (e.g. a pixel permutation)."""
        return replace(
            self,
            x_train=fn(self.x_train),
            x_val=None if self.x_val is None else fn(self.x_val),
            x_test=fn(self.x_test),
        )

    def summary(self) -> str:
        n_val = 0 if self.x_val is None else len(self.x_val)
        text = (f"{self.name}: {len(self.x_train):,} train · {n_val:,} validation · "
                f"{len(self.x_test):,} test images of shape {self.input_shape}")
        return text + (f" — {self.note}" if self.note else "")


def load_splits(
    name: str,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    val_fraction: float = 0.1,
    channels: bool = False,
    seed: int = 0,
) -> Splits:
    """Load ``name`` and return scaled, stratified train/validation/test arrays.

    ``n_train`` (taken before the validation split) and ``n_test`` cap the number of
    images; ``channels=True`` adds a trailing channel axis to grayscale images (for CNNs).
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    ds = data.load(name)
    ds = data.subset(ds, n_train=n_train, n_test=n_test, seed=seed)
    x_train, y_train = ds.x_train, ds.y_train
    x_val = y_val = None
    if val_fraction > 0:
        x_train, y_train, x_val, y_val = data.validation_split(x_train, y_train, val_fraction, seed=seed)

    def prep(x: np.ndarray | None) -> np.ndarray | None:
        if x is None:
            return None
        x = data.as_float(x)
        return x[..., None] if channels and x.ndim == 3 else x

    return Splits(
        name=name,
        x_train=prep(x_train),
        y_train=y_train.astype(np.int64),
        x_val=prep(x_val),
        y_val=None if y_val is None else y_val.astype(np.int64),
        x_test=prep(ds.x_test),
        y_test=ds.y_test.astype(np.int64),
        class_names=tuple(ds.class_names),
        source=ds.source,
        note=ds.note,
        reencoded=ds.reencoded,
    )
