"""Unit tests of the benchmark: lab runs written as they finish, throughput, the results page's tables."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from nnlab import bench, profiles, results, throughput, training

REPO = Path(__file__).resolve().parents[1]


def _fake_labs(tmp_path: Path, names: list[str]) -> list[Path]:
    paths = []
    for name in names:
        path = tmp_path / "labs" / f"{name}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text("# format_name" + ": percent\n")  # split: conftest skips files holding the marker
        paths.append(path)
    return paths


def test_bench_writes_after_each_lab_keeps_other_labs_and_survives_a_failure(tmp_path, monkeypatch):
    out = tmp_path / "benchmarks"
    out.mkdir()
    (out / "bench-smoke-tensorflow-cpu.json").write_text(json.dumps([
        {**results.Result("00_old", "kept", 0.5, "", None, "", None, True, "smoke", "tensorflow", "CPU",
                          "2026-01-01").__dict__, "lab_seconds": 1.0},
        {**results.Result("01_a", "replaced", 0.1, "", None, "", None, True, "smoke", "tensorflow", "CPU",
                          "2026-01-01").__dict__, "lab_seconds": 1.0}]))
    labs = _fake_labs(tmp_path, ["01_a", "02_b", "03_c"])
    seen_on_disk: list[list[str]] = []

    def fake_run_lab(path: Path, timeout: int = 3600) -> float:
        written = json.loads((out / "bench-smoke-tensorflow-cpu.json").read_text())
        seen_on_disk.append(sorted({row["lab"] for row in written}))
        monkeypatch.setattr(results, "_STARTED", set())
        results.record(path.stem, "accuracy", 0.9, unit="accuracy", goal=0.8)
        if path.stem == "02_b":
            raise RuntimeError("a cell failed")
        return 0.0

    monkeypatch.setattr(bench, "lab_paths", lambda names=None: labs)
    monkeypatch.setattr(bench, "run_lab", fake_run_lab)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setattr(profiles, "loaded_backend", lambda: None)   # as before Keras is imported, on any backend
    monkeypatch.setattr(results, "_device", lambda: "CPU (x86_64, 2 cores)")
    with pytest.raises(SystemExit, match="02_b"):
        bench.run_bench("smoke", out_dir=out)
    # each lab found the labs before it already written
    assert seen_on_disk == [["00_old", "01_a"], ["00_old", "01_a"], ["00_old", "01_a", "02_b"]]
    rows = json.loads((out / "bench-smoke-tensorflow-cpu.json").read_text())
    assert [(r["lab"], r["name"], r.get("lab_status", "ok")) for r in rows] == [
        ("00_old", "kept", "ok"), ("01_a", "accuracy", "ok"), ("02_b", "accuracy", "failed"), ("03_c", "accuracy", "ok")]
    table = (out / "bench-smoke-tensorflow-cpu.md").read_text()
    assert "| 02_b | accuracy |" in table and "(lab failed)" in table


@pytest.mark.parametrize("profile, timeout", [("quick", bench.CELL_TIMEOUT), ("full", None)])
def test_bench_labs_run_with_static_explorers_and_only_full_ones_without_a_cell_time_limit(
        tmp_path, monkeypatch, profile, timeout):
    labs = _fake_labs(tmp_path, ["01_a"])
    seen = []
    monkeypatch.setattr(bench, "lab_paths", lambda names=None: labs)
    monkeypatch.setattr(bench, "run_lab", lambda path, timeout=bench.CELL_TIMEOUT:
                        seen.append((timeout, os.environ.get("NNLAB_STATIC"))) or 0.0)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.delenv("NNLAB_STATIC", raising=False)
    monkeypatch.setattr(profiles, "loaded_backend", lambda: None)
    bench.run_bench(profile, out_dir=tmp_path)
    assert seen == [(timeout, "1")]
    assert "NNLAB_STATIC" not in os.environ   # the caller's setting back afterwards


def test_bench_keeps_each_labs_claims_table_beside_its_numbers(tmp_path, monkeypatch):
    from nnlab.claims import Claims

    out = tmp_path / "benchmarks"
    out.mkdir()
    stale = {"chapter": "Lab B", "profile": "full", "claims": [{"claim": "from an earlier run"}]}
    (out / "claims-full-tensorflow-cpu.json").write_text(json.dumps({"02_b": stale, "00_old": stale}))
    labs = _fake_labs(tmp_path, ["01_a", "02_b"])

    def fake_run_lab(path: Path, timeout: int = 3600) -> float:
        monkeypatch.setattr(results, "_STARTED", set())
        results.record(path.stem, "accuracy", 0.9, unit="accuracy")
        if path.stem == "02_b":
            raise RuntimeError("a cell failed before the claims table")   # so its stale table must go
        table = Claims("Lab A | one", profile=profiles.Profile("full"))
        table.check("Report 000", "structural | fact", holds=True, evidence="exact")
        table.check("Report 001", "an accuracy claim", holds=False, evidence="0.91 < 0.95", kind="accuracy")
        table.check("Report 002", "a timing", holds=False, evidence="2 s", kind="timing")
        table.show()
        return 0.0

    monkeypatch.setattr(bench, "lab_paths", lambda names=None: labs)
    monkeypatch.setattr(bench, "run_lab", fake_run_lab)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setattr(profiles, "loaded_backend", lambda: None)
    monkeypatch.setattr(results, "_device", lambda: "CPU (x86_64, 2 cores)")
    with pytest.raises(SystemExit, match="02_b"):
        bench.run_bench("full", out_dir=out)
    tables = bench.read_claims(out / "claims-full-tensorflow-cpu.json")
    assert sorted(tables) == ["00_old", "01_a"]          # 02_b's stale table dropped, other labs' kept
    table = tables["01_a"]
    assert (table["chapter"], table["profile"], table["backend"], table["device"]) == (
        "Lab A | one", "full", "tensorflow", "CPU (x86_64, 2 cores)")
    assert [(r["claim"], r["holds"], r["asserted"], r["verdict"]) for r in table["claims"]] == [
        ("structural | fact", True, True, "confirmed"),
        ("an accuracy claim", False, True, "not confirmed"),
        ("a timing", False, False, "not confirmed on this machine (a timing: shown, not asserted)")]
    assert bench.claims_summary(table) == "3 claims, 2 asserted in this profile: 1 did not come out as the lab states"
    markdown = (out / "claims-full-tensorflow-cpu.md").read_text()
    assert "## 01_a: Lab A | one" in markdown and "| Report 000 | structural \\| fact | exact | confirmed |" in markdown
    assert [b.path.name for b in bench.benchmark_files(out)[0]] == ["bench-full-tensorflow-cpu.json"]   # not a bench


def test_bench_counts_the_runs_each_lab_loaded_from_the_cache(tmp_path, monkeypatch):
    out = tmp_path / "benchmarks"
    labs = _fake_labs(tmp_path, ["01_a", "02_b", "03_c"])
    runs = {"01_a": [("a/1", True), ("a/2", False), ("a/3", True)], "02_b": [], "03_c": [("c/1", False)]}
    seen_log: list[str | None] = []

    def fake_run_lab(path: Path, timeout: int = 3600) -> float:
        seen_log.append(os.environ.get(results.RUN_LOG))
        monkeypatch.setattr(results, "_STARTED", set())
        results.record(path.stem, "accuracy", 0.9, unit="accuracy")
        for name, cached in runs[path.stem]:
            results.log_run(name, cached)   # what nnlab.training.train does in the lab's kernel
        return 0.0

    monkeypatch.setattr(bench, "lab_paths", lambda names=None: labs)
    monkeypatch.setattr(bench, "run_lab", fake_run_lab)
    monkeypatch.delenv(results.RUN_LOG, raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setattr(profiles, "loaded_backend", lambda: None)
    monkeypatch.setattr(results, "_device", lambda: "CPU (x86_64, 2 cores)")
    bench.run_bench("smoke", out_dir=out)
    assert all(seen_log) and results.RUN_LOG not in os.environ   # set for the labs only
    rows = {r["lab"]: r for r in json.loads((out / "bench-smoke-tensorflow-cpu.json").read_text())}
    assert [(rows[lab]["lab_runs_trained"], rows[lab]["lab_runs_cached"]) for lab in sorted(rows)] == [
        (1, 2), (0, 0), (1, 0)]   # each lab counts its own runs only
    assert [bench.lab_seconds_text(rows[lab]).split(" ", 1)[-1] for lab in sorted(rows)] == [
        "(2 of 3 runs from the cache)", rows["02_b"]["lab_seconds"].__str__(), rows["03_c"]["lab_seconds"].__str__()]
    assert bench.BenchFile(out / "bench-smoke-tensorflow-cpu.json", list(rows.values())).labs()[0]["runs_cached"] == 2
    # the log itself: nothing written without the variable; a line cut off mid-write is skipped
    log = tmp_path / "runs.jsonl"
    results.log_run("unlogged", True)
    assert results.read_run_log(log) is None
    log.write_text('{"name": "x", "cached": true}\n{"name": "y", "cach')
    assert results.read_run_log(log) == {"trained": 0, "cached": 1}


@pytest.mark.parametrize("stop", ["signal", "cancelled"])
def test_bench_stopped_at_a_deadline_keeps_the_lab_in_progress(tmp_path, monkeypatch, stop):
    """A GPU call's deadline keeps what the running lab had recorded: in snapshots while it runs,
    and once more when the run ends — through run_lab's LabStopped (the notebook client caught
    SIGTERM) or a bare cancellation."""
    import asyncio
    import time

    out = tmp_path / "benchmarks"
    labs = _fake_labs(tmp_path, ["01_a", "02_b", "03_c"])
    ran: list[str] = []
    snapshot: list[tuple[str, str, str]] = []

    def fake_run_lab(path: Path, timeout: int = 3600) -> float:
        ran.append(path.stem)
        monkeypatch.setattr(results, "_STARTED", set())
        results.record(path.stem, "accuracy", 0.9, unit="accuracy")
        if path.stem == "02_b":
            time.sleep(0.5)  # several snapshot periods
            on_disk = json.loads((out / "bench-smoke-tensorflow-cpu.json").read_text())
            snapshot.extend((r["lab"], r["name"], r["lab_status"]) for r in on_disk)
            if stop == "signal":
                raise bench.LabStopped("02_b stopped by a signal")
            raise asyncio.CancelledError()
        return 0.0

    monkeypatch.setattr(bench, "SNAPSHOT_SECONDS", 0.05)
    monkeypatch.setattr(bench, "lab_paths", lambda names=None: labs)
    monkeypatch.setattr(bench, "run_lab", fake_run_lab)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setattr(profiles, "loaded_backend", lambda: None)   # as before Keras is imported, on any backend
    monkeypatch.setattr(results, "_device", lambda: "CPU (x86_64, 2 cores)")
    with pytest.raises(SystemExit) as stop:
        bench.run_bench("smoke", out_dir=out)
    assert stop.value.code == 124
    assert ran == ["01_a", "02_b"]  # no lab after the stop
    expected = [("01_a", "accuracy", "ok"), ("02_b", "accuracy", "stopped")]
    assert snapshot == expected  # written while 02_b was still running
    rows = json.loads((out / "bench-smoke-tensorflow-cpu.json").read_text())
    assert [(r["lab"], r["name"], r["lab_status"]) for r in rows] == expected
    assert "(lab stopped)" in (out / "bench-smoke-tensorflow-cpu.md").read_text()


def test_bench_keeps_rows_that_a_concurrent_bench_writes_meanwhile(tmp_path, monkeypatch):
    """Two bench processes on one file (device_run.sh --parallel): each write re-reads the file,
    so a lab finished by the other process while this one ran is not overwritten."""
    out = tmp_path / "benchmarks"
    labs = _fake_labs(tmp_path, ["01_a", "02_b"])
    other = tmp_path / "other-results"
    monkeypatch.setenv("NNLAB_RESULTS", str(other))
    results.record("05_other", "accuracy", 0.7, unit="accuracy")  # what the other process's lab recorded

    def fake_run_lab(path: Path, timeout: int = 3600) -> float:
        monkeypatch.setattr(results, "_STARTED", set())
        results.record(path.stem, "accuracy", 0.9, unit="accuracy")
        if path.stem == "01_a":  # meanwhile, the other process finishes its lab
            bench.record_lab(bench.bench_stem("smoke", "tensorflow", out), "05_other", other, 3.0, "ok")
        return 0.0

    monkeypatch.setattr(bench, "lab_paths", lambda names=None: labs)
    monkeypatch.setattr(bench, "run_lab", fake_run_lab)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setattr(profiles, "loaded_backend", lambda: None)   # as before Keras is imported, on any backend
    monkeypatch.setattr(results, "_device", lambda: "CPU (x86_64, 2 cores)")
    monkeypatch.delenv("NNLAB_PROFILE", raising=False)
    bench.run_bench("smoke", out_dir=out, concurrent=2)
    rows = json.loads((out / "bench-smoke-tensorflow-cpu.json").read_text())
    assert [(r["lab"], r["value"], r.get("lab_concurrent")) for r in rows] == [
        ("01_a", 0.9, 2), ("02_b", 0.9, 2), ("05_other", 0.7, None)]
    # the caller's settings are back: not the labs' profile, nor a results folder that no longer exists
    assert os.environ["NNLAB_RESULTS"] == str(other) and "NNLAB_PROFILE" not in os.environ


def test_a_damaged_bench_file_is_moved_aside_not_overwritten(tmp_path, monkeypatch):
    stem = tmp_path / "bench-smoke-tensorflow-cpu"
    stem.with_suffix(".json").write_text('[{"lab": "01_a", "name": "accu')   # cut off mid-write by hand
    folder = tmp_path / "results"
    monkeypatch.setenv("NNLAB_RESULTS", str(folder))
    monkeypatch.setattr(results, "_STARTED", set())
    results.record("02_b", "accuracy", 0.9, unit="accuracy")
    with pytest.warns(UserWarning, match="damaged .* moved aside"):
        rows = bench.record_lab(stem, "02_b", folder, 1.0, "ok")
    assert [r["lab"] for r in rows] == ["02_b"]
    aside = list(tmp_path.glob("bench-smoke-tensorflow-cpu.damaged-*.json"))
    assert len(aside) == 1 and aside[0].read_text().startswith('[{"lab": "01_a"')
    assert not list(tmp_path.glob(".*.tmp"))   # written atomically, nothing left half-done


def test_a_damaged_results_file_is_reported_and_left_out(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_RESULTS", str(tmp_path))
    monkeypatch.setattr(results, "_STARTED", set())
    results.record("01_a", "accuracy", 0.9, unit="accuracy")
    (tmp_path / "02_b.json").write_text("{not json")
    (tmp_path / "03_c.json").write_text('[{"lab": "03_c", "value": 1}]')
    with pytest.warns(UserWarning) as caught:
        loaded = results.load_all()
    assert [r.lab for r in loaded] == ["01_a"]
    messages = " ".join(str(w.message) for w in caught)
    assert "02_b.json is damaged" in messages and "03_c.json does not fit" in messages
    assert oct((tmp_path / "01_a.json").stat().st_mode & 0o777) != oct(0o600)   # the umask's mode, not mkstemp's


RECORD_MANY = """
import sys
from pathlib import Path
from nnlab.bench import record_lab
stem, lab, folder = sys.argv[1:]
for _ in range(25):
    record_lab(Path(stem), lab, Path(folder), 1.0, "ok")
"""


def test_record_lab_from_several_processes_at_once_loses_no_lab(tmp_path, monkeypatch):
    import os
    import subprocess

    stem = tmp_path / "out" / "bench-full-jax-gpu"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "lib"), os.environ.get("PYTHONPATH", "")])}
    jobs = []
    for i in range(4):
        folder = tmp_path / f"results-{i}"
        monkeypatch.setenv("NNLAB_RESULTS", str(folder))
        results.record(f"0{i}_lab", "accuracy", i / 10, unit="accuracy")
        jobs.append(subprocess.Popen([sys.executable, "-c", RECORD_MANY, str(stem), f"0{i}_lab", str(folder)], env=env))
    assert [job.wait(60) for job in jobs] == [0, 0, 0, 0]
    rows = json.loads(stem.with_suffix(".json").read_text())
    assert [(r["lab"], r["value"]) for r in rows] == [(f"0{i}_lab", i / 10) for i in range(4)]
    assert sorted(p.name for p in stem.parent.iterdir()) == ["bench-full-jax-gpu.json", "bench-full-jax-gpu.md"]


def test_run_lab_executes_the_notebook_over_an_encrypted_kernel_connection_where_it_can(tmp_path):
    """run_lab's kernel gets CurveZMQ keys when jupyter_client and pyzmq offer them (as here and on the device)."""
    encrypted = dict(bench.kernel_config().get("KernelManager", {})).get("transport_encryption") == "auto"
    lab = tmp_path / "labs" / "encrypted.py"
    lab.parent.mkdir()
    lab.write_text("# %%\nfrom ipykernel.kernelapp import IPKernelApp\n"
                   f"keys = getattr(IPKernelApp.instance(), 'curve_secretkey', None)\nassert (keys is not None) == {encrypted}\n")
    assert bench.run_lab(lab, timeout=120) > 0
    lab.write_text("# %%\nraise ValueError('a failing cell fails the lab')\n")
    with pytest.raises(Exception, match="a failing cell"):
        bench.run_lab(lab, timeout=120)


def test_bench_file_name_says_cpu_or_gpu(tmp_path, monkeypatch):
    """A CPU run and a GPU run of one profile and backend never continue each other's file."""
    monkeypatch.setattr(results, "_device", lambda: "GPU")
    assert bench.bench_stem("full", "jax", tmp_path) == tmp_path / "bench-full-jax-gpu"
    monkeypatch.setattr(results, "_device", lambda: "CPU (x86_64, 2 cores)")
    assert bench.bench_stem("full", "jax", tmp_path) == tmp_path / "bench-full-jax-cpu"


def test_slug_and_device_description(monkeypatch, tmp_path):
    assert bench.slug("GPU (NVIDIA H100 80GB HBM3)") == "gpu-nvidia-h100-80gb-hbm3"
    assert bench.slug("CPU (x86_64, 2 cores)") == "cpu-x86-64-2-cores"
    smi = tmp_path / "nvidia-smi"   # a stand-in that names a GPU, as the device machine's does
    smi.write_text("#!/bin/sh\necho 'NVIDIA H200'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setattr(results, "_device", lambda: "GPU")
    assert bench.device_description() == "GPU (NVIDIA H200)"
    monkeypatch.setattr(results, "_device", lambda: "CPU (x86_64, 2 cores)")
    assert bench.device_description() == "CPU (x86_64, 2 cores)"


def _bench_row(**changes):
    base = results.Result("01_a", "accuracy", 0.9, "accuracy", None, "", 0.8, True, "smoke", "tensorflow",
                          "CPU", "2026-01-01").__dict__
    return {**base, "lab_seconds": 1.0, **changes}


def test_write_bench_leaves_both_files_as_they_were_when_a_row_cannot_be_written(tmp_path):
    stem = tmp_path / "bench-smoke-tensorflow-cpu"
    bench.write_bench(stem, [_bench_row()])
    before = {s: stem.with_suffix(s).read_text() for s in (".json", ".md")}
    with pytest.raises(TypeError):
        bench.write_bench(stem, [_bench_row(), _bench_row(lab="02_b", value=None)])
    assert {s: stem.with_suffix(s).read_text() for s in (".json", ".md")} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [stem.name + ".json", stem.name + ".md"]   # no temporaries


def test_lab_paths_selects_labs_by_prefix_and_names_the_labs_when_none_match():
    every = bench.lab_paths()
    assert [p.stem for p in every] == sorted(p.stem for p in every) and len(every) >= 8
    assert [p.stem for p in bench.lab_paths(["05"])] == ["05a_cnn_basics", "05b_inside_a_cnn", "05c_cifar10"]
    with pytest.raises(SystemExit, match=r"no lab matches \['zz'\]; labs are \[.*'01_initialization'"):
        bench.lab_paths(["zz"])


def test_fast_recipe_is_train_cifar_cnns(monkeypatch):
    from nnlab import cnn_tools, profiles
    import nnlab.training as training

    splits = throughput.synthetic_splits(64)
    monkeypatch.setattr(profiles, "gpu_available", lambda: True)
    fast = throughput.fast_recipe(splits)
    assert training.train.__name__ == "train"  # the recorder is gone again
    assert (fast.batch_size, fast.precision, fast.loss) == (512, "mixed_float16", "sparse_categorical_crossentropy")
    assert isinstance(fast.optimizer, cnn_tools.OneCycle) and fast.optimizer.optimizer == "sgd"
    assert fast.optimizer.total_steps == 24 * 1  # 24 epochs of one batch of 64 images
    assert fast.steps_per_execution == training.STEPS_PER_EXECUTION > 1
    naive = throughput.naive_recipe(splits)
    assert (naive.batch_size, naive.precision, naive.optimizer) == (32, "float32", "adam")
    assert naive.steps_per_execution == 1  # Keras's default
    cutout = cnn_tools.FULL_CIFAR_CNN.get("cutout", 0)  # the same network in both, as lab 5c's full profile has it
    for recipe in (fast, naive):
        assert ("cutout" in [layer.name for layer in recipe.build().layers]) == bool(cutout)
    assert f"cutout {cutout or 'none'}" in fast.description


@pytest.mark.parametrize("args, message", [
    (["--profile", "fast"], "Unknown profile 'fast'. Ask for one of smoke, quick, full (for the command line"),
    (["--throughput", "--steps", "0"], "--steps must be at least 1"),
    (["--throughput", "--data", "random", "--images", "0"], "--images must be at least 1"),
])
def test_bench_command_rejects_bad_options_before_any_work_and_names_the_option(args, message, capsys, monkeypatch):
    from nnlab.__main__ import run

    monkeypatch.setenv("NNLAB_PROFILE", "not-a-profile")   # a bad variable must not matter when --profile is given
    monkeypatch.setattr(bench, "run_bench", lambda *a, **k: pytest.fail("bench ran"))
    monkeypatch.setattr(throughput, "run_throughput", lambda *a, **k: pytest.fail("throughput ran"))
    try:
        code = run(["bench", *args])
    except SystemExit as stop:   # argparse's error exit
        code = stop.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_throughput_command_writes_both_set_ups(tmp_path, monkeypatch):
    from nnlab.__main__ import main

    # XLA compilation of the CNN takes minutes on a busy CPU: the test checks the plumbing.
    monkeypatch.setattr(throughput, "fast_jit_compile", lambda: "auto")
    monkeypatch.setenv("NNLAB_QUIET", "1")
    assert main(["bench", "--throughput", "--steps", "2", "--warmup-steps", "1", "--width", "2", "--batch-size",
                 "16", "--data", "random", "--images", "48", "--out", str(tmp_path)]) == 0
    files = sorted(p.name for p in tmp_path.iterdir())
    import keras

    stem = f"throughput-{keras.backend.backend()}-{bench.slug(bench.device_description())}"
    assert files == [f"{stem}.json", f"{stem}.md"]
    report = json.loads((tmp_path / f"{stem}.json").read_text())
    for key in ("model", "backend", "device", "date", "data", "keras", "ratio", "seconds", "setups"):
        assert key in report
    naive, fast = report["setups"]
    assert (naive["setup"], naive["batch_size"], naive["optimizer"]) == ("naive", 32, "Adam")
    assert (fast["setup"], fast["batch_size"], fast["optimizer"]) == ("fast", 16, "SGD")
    assert (naive["steps_per_execution"], fast["steps_per_execution"]) == (1, training.STEPS_PER_EXECUTION)
    for s in (naive, fast):
        assert s["steps"] == 2 and s["images"] == 2 * s["batch_size"]
        assert s["images_per_second"] > 0 and s["seconds"] > 0 and s["warmup_seconds"] > 0 and s["params"] > 0
    assert report["ratio"] > 0
    md = (tmp_path / f"{stem}.md").read_text()
    assert "| naive |" in md and "| fast |" in md and "Fast / naive" in md


def _book_extension():
    sys.path.insert(0, str(REPO / "book" / "_ext"))
    try:
        import nnlab_book
    finally:
        sys.path.remove(str(REPO / "book" / "_ext"))
    return nnlab_book


def _text(nodes_list) -> str:
    return "\n".join(node.astext() for node in nodes_list)


def test_results_page_says_when_there_is_no_benchmark_file(tmp_path):
    text = _text(_book_extension().benchmark_nodes(tmp_path))
    assert "No benchmark file yet" in text and "No GPU has run the book's full profile yet" in text


def test_results_tables_print_each_unit_with_its_own_precision():
    fmt = _book_extension()._format
    assert [fmt(0.93456, "accuracy"), fmt(7.925, "pp"), fmt(-0.1, "pp"), fmt(0.84381, "minutes"), fmt(124, "min"),
            fmt(48.2, "s"), fmt(1234.5678, "images/s"), fmt(None, "pp")] == [
        "93.46 %", "7.9 pp", "-0.1 pp", "0.84 min", "124.00 min", "48 s", "1235 images/s", "—"]


def test_results_page_says_a_cpu_full_run_is_not_a_gpu_run(tmp_path):
    row = {**results.Result("01_initialization", "accuracy", 0.97, "accuracy", None, "", None, True, "full", "jax",
                            "CPU (x86_64, 2 cores)", "2026-11-20").__dict__, "lab_seconds": 10.0, "lab_status": "ok"}
    (tmp_path / "bench-full-jax-cpu.json").write_text(json.dumps([row]))
    text = _text(_book_extension().benchmark_nodes(tmp_path))
    assert "No GPU has run the book's full profile yet" in text and "bench-full-jax-cpu.json" in text


def test_results_page_lists_benchmark_files(tmp_path):
    from docutils import nodes as docutils_nodes

    row = {**results.Result("05c_cifar10", "CNN test accuracy", 0.93, "accuracy", 0.712, "Report 003", 0.9, True,
                            "full", "jax", "GPU", "2026-11-20").__dict__, "lab_seconds": 120.5, "lab_status": "ok",
           "lab_runs_trained": 1, "lab_runs_cached": 2}
    shared = {**row, "lab_runs_cached": 0, "lab": "06_tell_the_time", "name": "hard clocks, mean error", "value": 0.8, "unit": "min",
              "report_best": None, "report": "no figure in Report 004", "goal": 1.0, "higher_is_better": False,
              "lab_seconds": 301.0, "lab_status": "stopped", "lab_concurrent": 3}
    missed = {**shared, "name": "hard clocks, worst error", "value": 1.5, "goal": 1.0,   # lower is better: missed
              "report": ""}
    (tmp_path / "bench-full-jax-gpu.json").write_text(json.dumps([row, shared, missed]))
    (tmp_path / "bench-broken.json").write_text("{not json")
    setup = {"images_per_second": 1000.0, "precision": "float32", "batch_size": 32}
    (tmp_path / "throughput-jax-gpu-nvidia-h100.json").write_text(json.dumps({
        "device": "GPU (NVIDIA H100)", "backend": "jax", "date": "2026-11-20", "ratio": 12.5, "seconds": 60,
        "setups": [{**setup, "setup": "naive"},
                   {**setup, "setup": "fast", "images_per_second": 12500.0, "precision": "mixed_float16",
                    "batch_size": 512}]}))
    (tmp_path / "bench-full-jax-gpu.damaged-20261120-101010.json").write_text(json.dumps([row]))   # moved aside
    with pytest.warns(UserWarning, match="bench-broken.json is damaged"):
        benches, throughputs = bench.benchmark_files(tmp_path)
    assert [b.path.name for b in benches] == ["bench-full-jax-gpu.json"] and len(throughputs) == 1
    assert (tmp_path / "bench-broken.json").exists()   # reading the page never moves a file
    (tmp_path / "bench-broken.json").unlink()
    assert benches[0].labs() == [{"lab": "05c_cifar10", "results": 1, "met": 1, "goals": 1, "seconds": 120.5,
                                  "status": "ok", "runs_cached": 2},
                                 {"lab": "06_tell_the_time", "results": 2, "met": 1, "goals": 2, "seconds": 301.0,
                                  "status": "stopped", "runs_cached": 0}]
    page = _book_extension().benchmark_nodes(tmp_path)
    text = _text(page)
    cells = [[entry.astext() for entry in row.children] for node in page for row in node.findall(docutils_nodes.row)]
    by_result = {c[1]: c for c in cells if len(c) == 7}          # the file's results table
    worst, mean = by_result["hard clocks, worst error"], by_result["hard clocks, mean error"]
    assert (worst[2], worst[4], worst[5]) == ("1.50 min", "1.00 min", "no")     # value, goal, met?
    assert (mean[2], mean[4], mean[5]) == ("0.80 min", "1.00 min", "yes")
    assert (mean[3], worst[3]) == ("no figure in Report 004", "—")   # no report figure: why, else a dash
    assert by_result["CNN test accuracy"][5] == "yes"
    summary = [c for c in cells if c[0] == "bench-full-jax-gpu.json"]
    assert len(summary) == 1 and summary[0][6] == "2 of 3"     # goals met: the missed one is not counted
    assert "| hard clocks, worst error | 1.5 | — | 1 | no |" in bench.to_markdown(benches[0].rows)
    assert "| hard clocks, mean error | 0.8 | no figure in Report 004 | 1 | yes |" in bench.to_markdown(benches[0].rows)
    assert "301.0 (lab stopped; 3 jobs at once)" in text  # a lab that shared the GPU says so beside its seconds
    assert "301.0 (lab stopped; 3 jobs at once)" in bench.to_markdown(benches[0].rows)
    assert "120.5 (2 of 3 runs from the cache)" in text and "| 120.5 (2 of 3 runs from the cache) |" in bench.to_markdown(
        benches[0].rows)
    assert summary[0][7] == "422 (runs from the cache in 05c_cifar10)"   # summed seconds, and which are not training's
    for expected in ("bench-full-jax-gpu.json", "GPU", "jax", "full", "2026-11-20", "2 of 3", "120", "93.00 %",
                     "throughput-jax-gpu-nvidia-h100.json", "GPU (NVIDIA H100)", "12,500", "12.5×", "mixed_float16"):
        assert expected in text, expected
    assert "No benchmark file yet" not in text
    assert "The full profile on a GPU: bench-full-jax-gpu.json (GPU, 2026-11-20)." in text
    assert "No GPU has run" not in text
    assert "claims of" not in text   # no claims file beside the bench file


def test_results_page_shows_the_claims_tables_beside_a_bench_file(tmp_path):
    from docutils import nodes as docutils_nodes

    row = {**results.Result("05c_cifar10", "CNN test accuracy", 0.93, "accuracy", 0.712, "Report 003", 0.9, True,
                            "full", "jax", "GPU", "2026-11-20").__dict__, "lab_seconds": 120.5, "lab_status": "ok"}
    (tmp_path / "bench-full-jax-gpu.json").write_text(json.dumps([row]))
    claim = {"source": "Report 003", "claim": "CIFAR-10 CNN ≥ 90 %", "evidence": "0.931 on 10,000 test images",
             "holds": True, "expected": True, "kind": "accuracy", "asserted": True, "verdict": "confirmed"}
    (tmp_path / "claims-full-jax-gpu.json").write_text(json.dumps({"05c_cifar10": {
        "chapter": "Lab 5c — CIFAR-10", "profile": "full", "backend": "jax", "device": "GPU", "date": "2026-11-20",
        "claims": [claim, {**claim, "claim": "timed", "kind": "timing", "asserted": False, "holds": False,
                           "verdict": "not confirmed on this machine (a timing: shown, not asserted)"}]}}))
    page = _book_extension().benchmark_nodes(tmp_path)
    text = _text(page)
    assert ("bench-full-jax-gpu.json, claims of Lab 5c — CIFAR-10 as this run checked them (full profile): "
            "2 claims, 1 asserted in this profile: each came out as the lab states.") in text
    cells = [[entry.astext() for entry in row.children] for node in page for row in node.findall(docutils_nodes.row)]
    assert ["Report 003", "CIFAR-10 CNN ≥ 90 %", "0.931 on 10,000 test images", "confirmed"] in cells
    (tmp_path / "claims-full-jax-gpu.json").write_text(json.dumps({"05c_cifar10": {"claims": ["not a row"]}}))
    with pytest.warns(UserWarning, match="claims file beside bench-full-jax-gpu.json is damaged"):
        benches, _ = bench.benchmark_files(tmp_path)
    assert benches[0].claims == {} and len(benches[0].rows) == 1   # the numbers still shown


def test_pages_with_results_are_re_read_on_every_build(tmp_path):
    (tmp_path / "results.md").write_text("# Results\n\n```{nnlab-benchmarks}\n```\n")
    (tmp_path / "intro.md").write_text("# Intro\n")

    class Env:
        found_docs = {"results", "intro"}

        @staticmethod
        def doc2path(docname: str) -> str:
            return str(tmp_path / f"{docname}.md")

    assert _book_extension()._pages_with_directives(None, Env(), set(), set(), set()) == ["results"]


@pytest.mark.parametrize("damage", ["row without a device", "value null", "value a string", "setup unnamed",
                                    "images per second null"])
def test_results_page_leaves_out_a_file_that_parses_but_does_not_fit(tmp_path, damage):
    good = {**results.Result("05c_cifar10", "CNN test accuracy", 0.93, "accuracy", 0.712, "Report 003", 0.9, True,
                             "full", "jax", "GPU", "2026-11-20").__dict__, "lab_seconds": 120.5}
    setups = [{"setup": "naive", "images_per_second": 1000.0}, {"setup": "fast", "images_per_second": 9000.0}]
    bad_row, bad_setups = dict(good), [dict(s) for s in setups]
    if damage == "row without a device":
        del bad_row["device"]
    elif damage == "value null":
        bad_row["value"] = None
    elif damage == "value a string":
        bad_row["value"] = "0.93"
    elif damage == "setup unnamed":
        del bad_setups[0]["setup"]
    else:
        bad_setups[1]["images_per_second"] = None
    (tmp_path / "bench-full-jax-gpu.json").write_text(json.dumps([good]))
    (tmp_path / "bench-full-jax-other.json").write_text(json.dumps([bad_row]))
    (tmp_path / "throughput-jax-gpu-a.json").write_text(json.dumps({"ratio": 9.0, "setups": setups}))
    (tmp_path / "throughput-jax-gpu-b.json").write_text(json.dumps({"ratio": 9.0, "setups": bad_setups}))
    broken_bench = damage in ("row without a device", "value null", "value a string")
    with pytest.warns(UserWarning, match="bench-full-jax-other.json" if broken_bench else "throughput-jax-gpu-b.json"):
        benches, throughputs = bench.benchmark_files(tmp_path)
    assert [b.path.name for b in benches] == ["bench-full-jax-gpu.json"] + ([] if broken_bench else
                                                                            ["bench-full-jax-other.json"])
    assert [t["file"] for t in throughputs] == ["throughput-jax-gpu-a.json"] + (["throughput-jax-gpu-b.json"]
                                                                                if broken_bench else [])
    with pytest.warns(UserWarning):   # the page renders what fits, without an extension error
        page = _text(_book_extension().benchmark_nodes(tmp_path))
    assert "bench-full-jax-gpu.json" in page and "throughput-jax-gpu-a.json" in page
