"""Process-wide defaults that must be set before a backend is imported.

TensorFlow prints start-up log lines (oneDNN notices, CUDA probing) that would land in
every notebook's output; these variables silence them. Values a user has set win.
"""

from __future__ import annotations

import os

KNOWN_BACKENDS = ("tensorflow", "jax", "torch")

_QUIET_DEFAULTS = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # no INFO/WARNING lines from TensorFlow's C++ core
    "TF_ENABLE_ONEDNN_OPTS": "0",  # no oneDNN notice; also keeps CPU results repeatable
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
