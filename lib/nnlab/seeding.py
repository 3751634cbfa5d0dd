"""One helper that seeds every random number generator an experiment touches.

Introduced in lab 1 (Initialization). Call :func:`set_seed` at the top of a lab and
before each model you build; a CPU rerun then gives the same numbers. :func:`ieee_float32`
keeps float32 arithmetic float32 on a GPU, so that a lab's exact checks hold there too.
"""

from __future__ import annotations

import os
import random

import numpy as np

DEFAULT_SEED = 0   # set_seed's default; every nnlab function that takes a seed also defaults to 0


def set_seed(seed: int = DEFAULT_SEED) -> np.random.Generator:
    """Seed Python, NumPy and the Keras backend; return a NumPy ``Generator`` for the lab.

    Keras's own ``set_random_seed`` seeds Python, NumPy and the active backend (and
    TensorFlow whenever it is installed); Keras is imported here, not when ``nnlab`` is, so
    that ``import nnlab`` stays cheap. ``PYTHONHASHSEED`` is set for the processes this one
    starts (a running interpreter's string hashing is fixed when it starts).
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    import keras  # imported here so that `import nnlab` stays cheap

    keras.utils.set_random_seed(int(seed))
    return np.random.default_rng(seed)


def ieee_float32() -> str:
    """Make float32 products and convolutions on an NVIDIA GPU full float32, not TensorFloat-32.

    On Ampere and later GPUs, JAX and TensorFlow compute float32 matrix products and
    convolutions as TF32 by default: the inputs keep 10 of float32's 23 mantissa bits (relative
    error about 5e-4). The labs' exact checks were written for float32 as a CPU computes it —
    lab 4's permuted copy must give the same probabilities within 1e-5, and rounding a hidden
    activation to TF32 can move a probability by more than that. So every lab (through
    :func:`nnlab.start_lab`) asks for full float32: ``jax_default_matmul_precision="highest"``
    on JAX, ``enable_tensor_float_32_execution(False)`` on TensorFlow, and ``allow_tf32 = False``
    for PyTorch's matrix products and cuDNN. The fast path stays explicit: mixed precision
    (``mixed_float16``, labs 5c and 6) computes in float16 and is not affected. On a CPU nothing
    changes. A precision the user chose with ``JAX_DEFAULT_MATMUL_PRECISION`` or
    ``NVIDIA_TF32_OVERRIDE`` wins. Returns what was done, in words.
    """
    import keras

    if "NVIDIA_TF32_OVERRIDE" in os.environ:
        return f"left as NVIDIA_TF32_OVERRIDE={os.environ['NVIDIA_TF32_OVERRIDE']} says"
    backend = keras.backend.backend()
    if backend == "jax":
        if os.environ.get("JAX_DEFAULT_MATMUL_PRECISION"):
            return f"left as JAX_DEFAULT_MATMUL_PRECISION={os.environ['JAX_DEFAULT_MATMUL_PRECISION']} says"
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(False)
    elif backend == "torch":
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return "float32 products in full float32 (no TF32)"
