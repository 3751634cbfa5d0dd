"""The IPython kernel settings `make setup` installs into the venv (etc/ipython/ipython_kernel_config.py)."""
from __future__ import annotations

import json
import logging
import os
import re
import runpy
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "etc" / "ipython" / "ipython_kernel_config.py"
NOTICE = "Kernel is running over TCP without encryption"


@pytest.fixture(scope="module")
def config() -> dict:
    return runpy.run_path(str(CONFIG), run_name="kernel_config")


def _connection(tmp_path: Path, ip: str) -> Path:
    path = tmp_path / f"kernel-{ip.replace(':', '_')}.json"
    path.write_text(json.dumps({"ip": ip, "transport": "tcp", "shell_port": 1}))
    return path


def test_it_finds_the_connection_file_in_every_form_a_kernel_is_launched_with(config):
    find = config["connection_file"]
    assert find(["python", "-m", "ipykernel_launcher", "-f", "/run/k.json"]) == "/run/k.json"
    assert find(["x", "--f=/run/k.json"]) == "/run/k.json"
    assert find(["x", "--IPKernelApp.connection_file=/run/k.json"]) == "/run/k.json"
    assert find(["python", "-m", "ipykernel_launcher"]) is None
    assert find(["x", "-f"]) is None


def test_only_a_kernel_on_the_loopback_address_counts_as_local(config, tmp_path):
    local = config["listens_on_loopback"]
    for ip in ("127.0.0.1", "localhost", "::1"):
        assert local(["k", "-f", str(_connection(tmp_path, ip))]), ip
    for ip in ("0.0.0.0", "192.168.1.20"):
        assert not local(["k", "-f", str(_connection(tmp_path, ip))]), ip
    assert not local(["k", "-f", str(tmp_path / "missing.json")])
    assert not local(["k"])
    (tmp_path / "broken.json").write_text("{not json")
    assert not local(["k", "-f", str(tmp_path / "broken.json")])


def test_the_filter_drops_the_plain_tcp_notice_and_nothing_else(config):
    keep = config["DropLoopbackTcpNotice"]().filter

    def record(msg: str, *args) -> logging.LogRecord:
        return logging.LogRecord("IPKernelApp", logging.WARNING, __file__, 1, msg, args, None)

    assert not keep(record(NOTICE + ". All communication (including code and outputs) is sent in plain text"))
    assert keep(record("Starting the kernel at pid: %i", 42))
    assert keep(record("Could not import %s", NOTICE))   # the words elsewhere in a message do not count


FILTERS = "import logging; print(*[type(f).__name__ for f in logging.getLogger('IPKernelApp').filters])"


def _run_in_kernel(ipython_dir: Path, code: str, **env_changes: str) -> tuple[str, str]:
    """Start an ipykernel of this Python (on loopback, as nbval and myst-nb do) with IPYTHONDIR set,
    run ``code``; return what the cell printed and what the kernel wrote to its stderr."""
    from jupyter_client.manager import KernelManager

    env = {**{k: v for k, v in os.environ.items() if k != "IPYTHONDIR"}, "IPYTHONDIR": str(ipython_dir),
           **env_changes}
    printed: list[str] = []
    err_path = ipython_dir / "kernel-stderr.txt"
    km = KernelManager(kernel_name="python3")
    with open(err_path, "w") as err:
        km.start_kernel(env=env, stderr=err)
        try:
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            reply = kc.execute_interactive(code, timeout=60, output_hook=lambda msg: printed.append(
                msg["content"].get("text", "") if msg["msg_type"] == "stream" else ""))
            assert reply["content"]["status"] == "ok"
            kc.stop_channels()
        finally:
            km.shutdown_kernel(now=True)
    return "".join(printed), err_path.read_text()


def test_a_kernel_that_reads_the_config_installs_the_filter_and_starts_without_the_notice(tmp_path):
    # IPython reads ipython_kernel_config.py from the profile in IPYTHONDIR as it does from
    # <venv>/etc/ipython, so the repository's file is tried here in any Python.
    (tmp_path / "profile_default").mkdir()
    (tmp_path / "profile_default" / "ipython_kernel_config.py").write_text(CONFIG.read_text())
    printed, stderr = _run_in_kernel(tmp_path, FILTERS)
    assert "DropLoopbackTcpNotice" in printed
    assert NOTICE not in stderr


def test_make_setup_installs_the_config_where_the_venvs_kernels_read_it(tmp_path):
    makefile = (REPO / "Makefile").read_text()
    assert "KERNEL_CONFIG := $(VENV)/etc/ipython/ipython_kernel_config.py" in makefile
    assert "$(KERNEL_CONFIG): etc/ipython/ipython_kernel_config.py $(STAMP)" in makefile
    assert re.search(r"^setup: .*\$\(KERNEL_CONFIG\)", makefile, re.M)
    venv = REPO / ".venv"
    if Path(sys.prefix).resolve() == venv.resolve():   # the tests run in the venv `make` built (as make test does)
        assert (venv / "etc" / "ipython" / "ipython_kernel_config.py").read_text() == CONFIG.read_text()
        printed, stderr = _run_in_kernel(tmp_path, FILTERS)   # an empty IPYTHONDIR: only the venv's copy
        assert "DropLoopbackTcpNotice" in printed
        assert NOTICE not in stderr


TF_NOISE = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on")
LOADED = "import sys; print('tensorflow' in sys.modules)"


def test_the_config_loads_tensorflow_without_its_start_up_lines_and_only_for_tensorflow():
    import subprocess

    def run(code: str, backend: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "KERAS_BACKEND": backend})

    plain = run("import tensorflow", "tensorflow")   # what TensorFlow prints on this machine when imported
    noise = [n for n in TF_NOISE if n in plain.stderr]
    load_config = f"import runpy; runpy.run_path({str(CONFIG)!r}, run_name='kernel_config'); " + LOADED
    quiet = run(load_config, "tensorflow")
    assert quiet.returncode == 0 and quiet.stdout.split() == ["True"], quiet.stderr
    assert not [n for n in noise if n in quiet.stderr], quiet.stderr
    assert run(load_config, "jax").stdout.split() == ["False"]     # another backend: TensorFlow left alone
    assert run(load_config, "nope").stdout.split() == ["False"]    # a bad backend: the lab's import reports it


INLINE_FIGURES = ("import matplotlib.pyplot as plt; from IPython import get_ipython; plt.figure(); "
                  "print(plt.get_backend(), any(f.__name__ == 'flush_figures' "
                  "for f in get_ipython().events.callbacks['post_execute']))")


def test_a_kernel_from_this_venv_shows_no_tensorflow_start_up_lines_and_still_draws_figures(tmp_path):
    (tmp_path / "profile_default").mkdir()
    (tmp_path / "profile_default" / "ipython_kernel_config.py").write_text(CONFIG.read_text())
    printed, stderr = _run_in_kernel(tmp_path, LOADED + "; import keras; print(keras.backend.backend()); "
                                     + INLINE_FIGURES, KERAS_BACKEND="tensorflow")
    # loaded at start-up, quietly; Keras imported pyplot then, yet figures still go inline into the notebook
    assert printed.split() == ["True", "tensorflow", "module://matplotlib_inline.backend_inline", "True"], printed
    assert not [noise for noise in TF_NOISE if noise in printed + stderr], printed + stderr
