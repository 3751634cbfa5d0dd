"""IPython kernel settings for nnlab's virtual environment.

`make setup` copies this file into `.venv/etc/ipython/`, where every kernel started from the
venv's Python reads it: the book build (myst-nb), the tests (nbval), `make bench` and `make lab`.

ipykernel 7.3+ warns "Kernel is running over TCP without encryption" at every kernel start
unless the program that starts it hands it encryption keys, which myst-nb and nbval cannot do
yet (jupyter/enhancement-proposals#145). A `make book` would print it once per lab. The
kernels these programs start listen on this machine's loopback address only (jupyter_client's
default), where nothing else on a network can read them, so the filter below drops that one
message — and only when the kernel's connection file says it listens on loopback.

A kernel that will run TensorFlow also imports it at start-up, quietly (see the end of this file).
"""
import json
import logging
import sys

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
NOTICE = "Kernel is running over TCP without encryption"


def connection_file(argv: list[str]) -> str | None:
    """The path after `-f` (how jupyter_client launches a kernel), or given as `--f=`/`--IPKernelApp.connection_file=`."""
    for i, arg in enumerate(argv):
        if arg == "-f" and i + 1 < len(argv):
            return argv[i + 1]
        for prefix in ("--f=", "--IPKernelApp.connection_file="):
            if arg.startswith(prefix):
                return arg[len(prefix):]
    return None


def listens_on_loopback(argv: list[str]) -> bool:
    """True when the kernel's connection file names a loopback address (False if it cannot be read)."""
    path = connection_file(argv)
    try:
        with open(path or "", encoding="utf-8") as f:
            return json.load(f).get("ip") in LOOPBACK
    except (OSError, ValueError, AttributeError):
        return False


class DropLoopbackTcpNotice(logging.Filter):
    """Drops ipykernel's unencrypted-TCP warning; every other message passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(NOTICE)


if listens_on_loopback(sys.argv):
    logging.getLogger("IPKernelApp").addFilter(DropLoopbackTcpNotice())


# ---------------------------------------------------------------------------------------------
# TensorFlow's start-up lines. Loading TensorFlow's native libraries prints "WARNING: All log
# messages before absl::InitializeLog() is called are written to STDERR" and "oneDNN custom
# operations are on …" — twice — before its logging is set up, so TF_CPP_MIN_LOG_LEVEL cannot
# silence them (tensorflow/tensorflow#100442), and a notebook shows them in red under its first
# cell. A kernel that will run TensorFlow imports it here, at start-up, with the process's
# stderr captured: those lines are dropped and anything else TensorFlow printed is passed on.
# Any failure here is left for the lab's own imports to report in a cell.
TF_START_UP_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "cpu_feature_guard.cc",
    "To enable the following instructions:",
)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with file descriptor 2 captured; write back what is not start-up noise."""
    import os
    import tempfile

    try:
        from nnlab._environment import configure, requested_backend

        configure()   # nnlab's quiet defaults (TF_CPP_MIN_LOG_LEVEL) and its backend check
        if requested_backend()[0] != "tensorflow":
            return
    except Exception:
        return
    # TensorFlow imports Keras, which imports matplotlib.pyplot: matplotlib reads its backend now,
    # before ipykernel would set this same default (in init_gui_pylab), so set it first; without
    # it a notebook would draw no figure.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except Exception:
            pass   # `import keras` in the lab raises it again, in a cell, where it can be read
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        lines = capture.read().decode(errors="replace").splitlines()
    kept = [line for line in lines if not any(noise in line for noise in TF_START_UP_NOISE)]
    if kept:
        sys.stderr.write("\n".join(kept) + "\n")


import_tensorflow_quietly()
