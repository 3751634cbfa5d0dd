"""Process-wide defaults that must be set before a backend is imported.

TensorFlow prints start-up log lines (CUDA probing, warnings) that would land in every
notebook's output; ``TF_CPP_MIN_LOG_LEVEL`` silences most of them. Values a user has set win.

TensorFlow's oneDNN kernels stay on (TensorFlow's default on x86 CPUs) although they print a
"oneDNN custom operations are on" notice at import that no log level silences (the book
removes stderr from its pages): turning them off with ``TF_ENABLE_ONEDNN_OPTS=0``, as nnlab
once did, made a training step of lab 5c's CNN 1.7× (the quick profile's width) to 2.5×
(width 32) slower on a 2-core CPU. With them on, a rerun on the same machine still gives the
same weights bit for bit; another CPU may round differently, as it may without oneDNN.
"""

from __future__ import annotations

import os

KNOWN_BACKENDS = ("tensorflow", "jax", "torch")

_QUIET_DEFAULTS = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # no INFO/WARNING lines from TensorFlow's C++ core
}


class BackendError(RuntimeError):
    """Raised when ``KERAS_BACKEND`` names a backend nnlab does not support."""


def configure() -> None:
    """Set quiet defaults and validate ``KERAS_BACKEND`` (before Keras is imported)."""
    for name, value in _QUIET_DEFAULTS.items():
        os.environ.setdefault(name, value)
    backend = os.environ.get("KERAS_BACKEND", "").strip()
    if backend and backend not in KNOWN_BACKENDS:
        raise BackendError(
            f"KERAS_BACKEND={backend!r} is not a backend nnlab supports. "
            f"Use one of {', '.join(KNOWN_BACKENDS)} (or unset it for TensorFlow), e.g. "
            "`export KERAS_BACKEND=jax`."
        )
