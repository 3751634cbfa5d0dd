"""IPython kernel settings for nnlab's virtual environment.

`make setup` copies this file into `.venv/etc/ipython/`, where every kernel started from the
venv's Python reads it: the book build (myst-nb), the tests (nbval), `make bench` and `make lab`.

ipykernel 7.3+ warns "Kernel is running over TCP without encryption" at every kernel start
unless the program that starts it hands it encryption keys, which myst-nb and nbval cannot do
yet (jupyter/enhancement-proposals#145). A `make book` would print it once per lab. The
kernels these programs start listen on this machine's loopback address only (jupyter_client's
default), where nothing else on a network can read them, so the filter below drops that one
message — and only when the kernel's connection file says it listens on loopback.
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
