"""Process-wide defaults that must be set before a backend is imported.

TensorFlow prints start-up log lines (CUDA probing, warnings) that would land in every
notebook's output; ``TF_CPP_MIN_LOG_LEVEL`` silences most of them. Values a user has set win.

TensorFlow's oneDNN kernels stay on (TensorFlow's default on x86 CPUs) although they print a
"oneDNN custom operations are on" notice at import that no log level silences (a kernel of
nnlab's venv imports TensorFlow at start-up with that notice filtered out, see
``etc/ipython/ipython_kernel_config.py``; the book also removes stderr from its pages):
turning them off with ``TF_ENABLE_ONEDNN_OPTS=0``, as nnlab once did, made a training step
of lab 5c's CNN 1.7× (the quick profile's width) to 2.5× (width 32) slower on a 2-core CPU.
With them on, a rerun on the same machine still gives the same weights bit for bit; another
CPU may round differently, as it may without oneDNN.

TensorFlow's Python logger also warns that "N out of the last M calls to <function …>
triggered tf.function retracing" whenever several new models are trained or asked for
predictions in a row — what every sweep in the labs does, each model compiling its own
function once. It is printed on stdout, so it reached the book's pages; nnlab drops that one
message (:class:`DropRetracingNotice`) and leaves every other TensorFlow warning alone.
"""

from __future__ import annotations

import json
import logging
import os

KNOWN_BACKENDS = ("tensorflow", "jax", "torch")

_QUIET_DEFAULTS = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # no INFO/WARNING lines from TensorFlow's C++ core
}


class DropRetracingNotice(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning; every other message passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in str(record.msg)


class BackendError(RuntimeError):
    """Raised when ``KERAS_BACKEND`` (or ``keras.json``) names a backend nnlab does not support."""


def env_flag(name: str) -> bool:
    """An on/off setting: ``1``/``true``/``yes``/``on`` (any case) is on; unset, empty,
    ``0``/``false``/``no``/``off`` is off; anything else is an error naming the variable."""
    value = os.environ.get(name, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={os.environ[name]!r}: use 1 (on) or 0 (off), or unset it.")


def _keras_json_backend() -> tuple[str | None, str]:
    """The ``"backend"`` of Keras's settings file and the file's path, found as Keras finds it
    (``$KERAS_HOME/keras.json``, else ``~/.keras/keras.json``, ``/tmp/.keras`` when the home
    folder is not writable); ``None`` when there is no such file or it does not parse."""
    if "KERAS_HOME" in os.environ:
        folder = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        folder = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    path = os.path.expanduser(os.path.join(folder, "keras.json"))
    try:
        with open(path) as handle:
            backend = json.load(handle).get("backend")
    except (OSError, ValueError, AttributeError):
        return None, path
    return (backend if isinstance(backend, str) else None), path


def requested_backend() -> tuple[str, str]:
    """The backend Keras will load and where that was said, with Keras's own precedence:
    a non-empty ``KERAS_BACKEND``, else ``keras.json``, else TensorFlow."""
    if value := os.environ.get("KERAS_BACKEND", ""):
        return value, f"KERAS_BACKEND={value!r}"
    backend, path = _keras_json_backend()
    if backend:
        return backend, f'"backend": {backend!r} in {path}'
    return "tensorflow", "Keras's default"


def configure() -> None:
    """Set quiet defaults and validate ``KERAS_BACKEND`` (before Keras is imported)."""
    for name, value in _QUIET_DEFAULTS.items():
        os.environ.setdefault(name, value)
    tf_logger = logging.getLogger("tensorflow")   # the logger TensorFlow writes to once imported
    if not any(isinstance(f, DropRetracingNotice) for f in tf_logger.filters):
        tf_logger.addFilter(DropRetracingNotice())
    backend, origin = requested_backend()
    if backend not in KNOWN_BACKENDS:   # Keras itself does not strip spaces: " jax" fails there too
        how = ("(or unset it for TensorFlow)" if origin.startswith("KERAS_BACKEND")
               else "(set KERAS_BACKEND, which wins over the file, or edit the file)")
        raise BackendError(
            f"{origin} is not a backend nnlab supports. "
            f"Use one of {', '.join(KNOWN_BACKENDS)} {how}, e.g. `export KERAS_BACKEND=jax`."
        )
