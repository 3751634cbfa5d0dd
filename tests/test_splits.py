"""Unit tests of nnlab.splits: what load_splits keeps, scales and sets aside, and the cache fingerprint."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from nnlab import data, splits as splits_module
from nnlab.splits import load_splits
from test_core import _toy_splits

N_TRAIN, N_TEST, SIZE = 200, 50, 4


@pytest.fixture
def numbered(monkeypatch):
    """A data set whose every image holds its own index (pixel [0, 0] and [0, 1]: index in base 256)."""
    def images(n: int, offset: int) -> np.ndarray:
        x = np.zeros((n, SIZE, SIZE), np.uint8)
        index = np.arange(offset, offset + n)
        x[:, 0, 0], x[:, 0, 1] = index // 256, index % 256
        return x

    ds = data.Dataset("numbered", images(N_TRAIN, 0), np.arange(N_TRAIN) % 4, images(N_TEST, 1000),
                      np.arange(N_TEST) % 4, class_names=("a", "b", "c", "d"), source="a test")
    monkeypatch.setattr(splits_module.data, "load", lambda name: ds)
    return ds


def _ids(x: np.ndarray) -> set[int]:
    x = np.rint(np.asarray(x) * 255).astype(int).reshape(len(x), -1)
    return set((x[:, 0] * 256 + x[:, 1]).tolist())


def test_validation_comes_from_training_images_and_the_test_split_is_untouched(numbered):
    s = load_splits("numbered", val_fraction=0.2)
    assert s.x_train.dtype == np.float32 and 0 <= s.x_train.min() and s.x_train.max() <= 1
    assert len(s.x_train) == 160 and len(s.x_val) == 40
    assert _ids(s.x_train).isdisjoint(_ids(s.x_val)) and _ids(s.x_train) | _ids(s.x_val) == set(range(N_TRAIN))
    np.testing.assert_array_equal(s.x_test, numbered.x_test / np.float32(255))
    np.testing.assert_array_equal(s.y_test, numbered.y_test)
    assert np.bincount(s.y_val).tolist() == [10, 10, 10, 10]   # stratified
    assert s.y_train.dtype == np.int64 and s.class_names == ("a", "b", "c", "d")


def test_caps_channels_and_no_validation(numbered):
    s = load_splits("numbered", n_train=100, n_test=20, val_fraction=0.1, channels=True)
    assert s.x_train.shape == (90, SIZE, SIZE, 1) and s.x_val.shape == (10, SIZE, SIZE, 1)
    assert s.x_test.shape == (20, SIZE, SIZE, 1) and s.input_shape == (SIZE, SIZE, 1)
    whole = load_splits("numbered", val_fraction=0)
    assert whole.x_val is None and whole.y_val is None and len(whole.x_train) == N_TRAIN
    np.testing.assert_array_equal(load_splits("numbered", n_train=100).x_train, load_splits("numbered", n_train=100).x_train)
    with pytest.raises(ValueError, match=r"val_fraction must be in \[0, 1\)"):
        load_splits("numbered", val_fraction=1.0)


def test_a_split_differing_in_one_label_or_pixel_has_another_fingerprint():
    splits = _toy_splits(n=4096)
    y_train = splits.y_train.copy()
    y_train[7] = 1 - y_train[7]          # one label, in a row a sample of every len//512-th row skips
    x_test = splits.x_test.copy()
    x_test[3, 1, 1] += 0.5
    assert replace(splits, y_train=y_train).fingerprint() != splits.fingerprint()
    assert replace(splits, x_test=x_test).fingerprint() != splits.fingerprint()
    assert replace(splits).fingerprint() == splits.fingerprint()
    empty = replace(splits, x_val=splits.x_val[:0], y_val=splits.y_val[:0])
    assert empty.fingerprint() != replace(splits, x_val=None, y_val=None).fingerprint()
