"""One helper that seeds every random number generator an experiment touches.

Introduced in lab 1 (Initialization). Call :func:`set_seed` at the top of a lab and
before each model you build; a CPU rerun then gives the same numbers.
"""

from __future__ import annotations

import os
import random

import numpy as np

DEFAULT_SEED = 42


def set_seed(seed: int = DEFAULT_SEED) -> np.random.Generator:
    """Seed Python, NumPy and the Keras backend; return a NumPy ``Generator`` for the lab.

    Keras's own ``set_random_seed`` seeds Python, NumPy and the active backend (and
    TensorFlow whenever it is installed). We call it only once Keras is already loaded or
    about to be, so NumPy-only labs stay light.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    import keras  # imported here so that `import nnlab` stays cheap

    keras.utils.set_random_seed(int(seed))
    return np.random.default_rng(seed)
