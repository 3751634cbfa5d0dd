"""Tests of ``benchmarks/device_run.sh``, the script a rare GPU session runs once: its plumbing,
checked here with a stand-in for Python that records how it was called (no GPU, no wheels)."""

from __future__ import annotations

import lzma
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "device_run.sh"

# Stands in for python3: records each call with the environment the script gave it, answers the
# environment check (a script on stdin), runs scripts given arguments (unpacking data) with the real Python,
# and for `-m nnlab bench` writes the file a bench writes; a bench that runs $STOP_LAB exits 124.
FAKE_PYTHON = r"""#!/usr/bin/env bash
if [ "$1" = "-" ] && [ $# -gt 1 ]; then exec REAL_PYTHON "$@"; fi
if [ "$1" = "-" ]; then cat >/dev/null; echo "environment ok"; exit 0; fi
echo "$* | cache=${JAX_COMPILATION_CACHE_DIR:-none} min=${JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS:-none} backend=$KERAS_BACKEND data=$NNLAB_DATA local=${NNLAB_LOCAL_DIR:-none} prealloc=${XLA_PYTHON_CLIENT_PREALLOCATE:-unset} gpu=${NNLAB_GPU:-unset}" >> "$CALLS"
if [ "$1 $2 $3" = "-m nnlab bench" ]; then
    out=$(echo "$*" | sed -E 's/.*--out ([^ ]+).*/\1/')
    case "$*" in
        *--throughput*) echo '{}' > "$out/throughput-jax-gpu-fake.json" ;;
        *) echo '[]' > "$out/bench-full-jax-gpu.json"; echo "bench ran $*" ;;
    esac
    case "$* " in *" ${STOP_LAB:-none} "*) exit 124 ;; esac
    exit "${BENCH_STATUS:-0}"
fi
exit 0
"""


@pytest.fixture()
def kit(tmp_path: Path) -> dict[str, str]:
    """A fake ``.device`` kit, a fake python3 and the environment ``device_run.sh`` reads."""
    for folder, name in (("wheels", "fake-0.1-py3-none-any.whl"), ("data-mnist", "mnist.npz"),
                         ("data-cifar", "cifar10-jpeg.tar.gz")):
        (tmp_path / "kit" / folder).mkdir(parents=True)
        (tmp_path / "kit" / folder / name).write_bytes(b"x")
    python = tmp_path / "python3"
    python.write_text(FAKE_PYTHON.replace("REAL_PYTHON", sys.executable))
    python.chmod(0o755)
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "NNLAB_"))},
            "KIT": str(tmp_path / "kit"), "PYTHON": str(python), "OUT": str(tmp_path / "out"),
            "SITE": str(tmp_path / "site"), "NNLAB_DATA": str(tmp_path / "data"), "CALLS": str(tmp_path / "calls"),
            "JAX_CACHE": str(tmp_path / "jax-cache")}


def _run(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    proc = subprocess.run(["bash", str(SCRIPT), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    calls = Path(env["CALLS"]).read_text().splitlines() if Path(env["CALLS"]).exists() else []
    return proc, calls


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils' timeout, as the device has")
def test_device_run_measures_throughput_without_and_labs_with_the_compilation_cache(kit):
    proc, calls = _run(kit, "--throughput", "05c", "06")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pip, throughput, labs = calls
    assert pip.startswith("-m pip install") and "--no-index" in pip and "--target " + kit["SITE"] in pip
    # the throughput run compiles for itself, so lab 5c's CNN is not handed a compiled train step
    assert throughput.startswith("-m nnlab bench --throughput --out " + kit["OUT"]) and "cache=none" in throughput
    assert labs.startswith("-m nnlab bench --profile full --out " + kit["OUT"] + " 05c 06")
    assert f"cache={kit['JAX_CACHE']} min=0" in labs
    assert "backend=jax" in labs and f"data={kit['NNLAB_DATA']}" in labs and "data-cifar" in labs
    assert (Path(kit["NNLAB_DATA"]) / "mnist.npz").exists()  # the carried MNIST file, copied into the cache
    out = sorted(p.name for p in Path(kit["OUT"]).iterdir())
    assert out == ["bench-full-jax-gpu.json", "device-run.log", "throughput-jax-gpu-fake.json"]
    assert "done in" in (Path(kit["OUT"]) / "device-run.log").read_text()


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils' timeout, as the device has")
@pytest.mark.parametrize("fresh", [False, True])
def test_device_run_continues_the_committed_bench_and_claims_files_unless_fresh(kit, tmp_path, fresh):
    repo = tmp_path / "repo"   # a stand-in checkout: the script runs from the folder above its own
    (repo / "benchmarks").mkdir(parents=True)
    shutil.copy(SCRIPT, repo / "benchmarks" / SCRIPT.name)
    for name in ("bench-full-jax-gpu.json", "claims-full-jax-gpu.json"):
        (repo / "benchmarks" / name).write_text(f'"committed {name}"')
    proc = subprocess.run(["bash", str(repo / "benchmarks" / SCRIPT.name), *(["--fresh"] if fresh else []), "06"],
                          env=kit, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = Path(kit["OUT"])
    assert (out / "bench-full-jax-gpu.json").read_text().strip() == "[]"   # the fake bench's own write
    if fresh:
        assert not (out / "claims-full-jax-gpu.json").exists()
    else:
        assert (out / "claims-full-jax-gpu.json").read_text() == '"committed claims-full-jax-gpu.json"'
        assert "continuing benchmarks/bench-full-jax-gpu.json" in proc.stdout


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils' timeout, as the device has")
def test_device_run_reports_a_bench_stopped_at_the_deadline(kit):
    env = {k: v for k, v in kit.items() if k != "JAX_CACHE"}
    proc, calls = _run({**env, "BENCH_STATUS": "124"}, "--profile", "quick", "01")
    assert proc.returncode == 124
    assert len(calls) == 2 and "--profile quick" in calls[1]  # no throughput without --throughput
    assert "stopped at the deadline" in proc.stdout
    # without JAX_CACHE, each call compiles into a new, empty cache folder
    cache = Path(calls[1].split("cache=")[1].split()[0])
    assert cache.name.startswith("nnlab-jax-cache.") and cache.is_dir() and not any(cache.iterdir())
    cache.rmdir()


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils' timeout, as the device has")
def test_device_run_starts_no_stage_in_the_last_minute_before_its_deadline(kit):
    # a stage started there would overrun the device's own limit, which kills the call
    proc, calls = _run({**kit, "DEADLINE_S": "50"}, "--throughput", "--alone", "05c", "--parallel", "06", "01")
    assert proc.returncode == 124, proc.stdout + proc.stderr
    assert [c for c in calls if c.startswith("-m nnlab bench")] == []
    for stage in ("the throughput", "labs 05c", "labs 06 01"):
        assert f"==> skipping {stage}: only" in proc.stdout, stage
    assert "done in" in proc.stdout


def test_device_run_stops_when_the_wheels_do_not_install(kit):
    (Path(kit["PYTHON"])).write_text("#!/usr/bin/env bash\nexit 1\n")
    proc, _ = _run(kit, "01")
    assert proc.returncode == 1 and "installing the wheels failed" in proc.stdout


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils' timeout, as the device has")
def test_device_run_runs_alone_then_parallel_jobs_each_with_its_own_cache(kit):
    proc, calls = _run({**kit, "STOP_LAB": "06"}, "--throughput", "--alone", "05c", "--parallel", "06", "01,02")
    assert proc.returncode == 124, proc.stdout + proc.stderr  # job 06 stopped at the deadline, the other ran
    assert "stopped at the deadline" in proc.stdout
    pip, throughput, alone, *jobs = calls
    assert "--throughput" in throughput and "cache=none" in throughput
    # lab 5c alone, after the throughput and before the jobs, with the whole GPU's memory as usual
    assert alone.startswith(f"-m nnlab bench --profile full --out {kit['OUT']} 05c |")
    assert f"cache={kit['JAX_CACHE']} " in alone and "prealloc=unset" in alone
    jobs.sort()
    assert [job.split(" | ")[0].split(kit["OUT"] + " ")[1] for job in jobs] == ["--concurrent 2 01 02", "--concurrent 2 06"]
    assert f"cache={kit['JAX_CACHE']}/job-01-02 " in jobs[0] and f"cache={kit['JAX_CACHE']}/job-06 " in jobs[1]
    assert all("prealloc=false" in job and "min=0" in job for job in jobs)
    log = (Path(kit["OUT"]) / "device-run.log").read_text()
    assert "[01,02] bench ran" in log and "[06] bench ran" in log  # each job's lines say whose they are


def test_device_run_unpacks_xz_compressed_data_into_the_cache(kit):
    packed = Path(kit["KIT"]) / "data-mnist"
    (packed / "mnist.npz").unlink()
    (packed / "fashion_mnist.npz.xz").write_bytes(lzma.compress(b"fashion arrays"))
    proc, _ = _run(kit, "--profile", "smoke", "01")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = Path(kit["NNLAB_DATA"])
    assert (data / "fashion_mnist.npz").read_bytes() == b"fashion arrays"
    assert sorted(p.name for p in data.iterdir()) == ["fashion_mnist.npz"]  # nothing half-written left


def test_device_run_stops_on_a_damaged_data_file_and_leaves_nothing_half_written(kit):
    packed = Path(kit["KIT"]) / "data-mnist"
    (packed / "mnist.npz").unlink()
    (packed / "mnist.npz.xz").write_bytes(lzma.compress(b"x" * 1000)[:-20])  # cut short
    proc, calls = _run(kit, "--profile", "smoke", "01")
    assert proc.returncode == 1 and "unpacking" in proc.stdout and "failed" in proc.stdout
    assert not any(Path(kit["NNLAB_DATA"]).iterdir())
    assert not any("nnlab bench" in call for call in calls)


def test_device_run_rejects_an_unknown_option(kit):
    proc, calls = _run(kit, "--paralel", "01")
    assert proc.returncode == 2 and "unknown option --paralel" in proc.stderr and calls == []


def test_rehearsal_asks_for_python_3_12_and_the_kit(tmp_path):
    """benchmarks/device_rehearsal.sh: the wheels are built for the device's Python 3.12, so another
    Python is refused with the reason before anything is installed."""
    rehearsal = REPO / "benchmarks" / "device_rehearsal.sh"
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"}
    proc = subprocess.run(["bash", str(rehearsal)], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0 and "set PYTHON to a CPython 3.12" in proc.stderr
    python311 = tmp_path / "python"
    python311.write_text('#!/usr/bin/env bash\necho 3.11\n')
    python311.chmod(0o755)
    proc = subprocess.run(["bash", str(rehearsal)], env={**env, "PYTHON": str(python311)}, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 1 and "is Python 3.11: the carried wheels are for 3.12" in proc.stderr


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils' timeout, as the device has")
def test_with_nvidia_smi_the_run_takes_nnlabs_gpu_code_paths(kit, tmp_path):
    """The device's JAX build is not known in advance: where nvidia-smi answers, NNLAB_GPU=1 decides."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\necho 'stand-in GPU'\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    proc, calls = _run({**kit, "PATH": f"{bin_dir}:{kit['PATH']}"}, "--profile", "smoke", "04")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    benches = [call for call in calls if call.startswith("-m nnlab bench")]
    assert benches and all(call.endswith("gpu=1") for call in benches)
    no_gpu_path = ":".join(d for d in kit["PATH"].split(":") if not (Path(d) / "nvidia-smi").exists())
    Path(kit["CALLS"]).unlink()
    proc, calls = _run({**kit, "PATH": no_gpu_path}, "--profile", "smoke", "04")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    benches = [call for call in calls if call.startswith("-m nnlab bench")]
    assert benches and all(call.endswith("gpu=unset") for call in benches)
