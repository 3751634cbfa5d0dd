"""Benchmark: run every lab in one profile and collect its headline numbers and times.

Used by ``make bench`` and ``python -m nnlab bench [--profile P] [--out DIR] [LAB…]``. Each lab
is executed as a notebook (the same way the book and the tests run it) with its results
directed to a fresh folder; one JSON file and one Markdown table in ``benchmarks/`` get, per
result: the value, the best figure of the reports, the goal, the profile, backend and device,
and the seconds the whole lab took. Beside them, ``claims-<profile>-<backend>-<cpu|gpu>.{json,md}``
keep each lab's closing claims table with its verdicts and evidence: the labs run unseen, and a
run in the full profile (a GPU's) is the one whose accuracy claims are asserted.

The files are rewritten after every lab, so a run cut short (a time limit on a GPU machine)
keeps the labs it finished; and a run of some labs replaces only those labs' rows in an
existing file, so the labs can be split over several runs (delete the file to start afresh).
Several bench processes may write one file at the same time (``device_run.sh --parallel``):
each write re-reads the file under a lock on its folder and replaces only its own lab's rows.
A lab that fails is reported and skipped; the command then exits with status 1. A run stopped
by SIGTERM (``timeout``, the GPU call's deadline) keeps what the lab in progress had recorded
(marked ``stopped``) and exits with status 124.

``python -m nnlab bench --throughput`` measures training throughput instead
(:mod:`nnlab.throughput`). :func:`benchmark_files` reads every committed file back for the
book's results page.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from nnlab._download import atomic_write_text
from nnlab.claims import markdown_table
from nnlab.results import REPO_ROOT, RUN_LOG, Result, load_all, read_rows, read_run_log

LABS_DIR = REPO_ROOT / "labs"
OUT_DIR = REPO_ROOT / "benchmarks"
RESULT_FIELDS = {f.name for f in fields(Result)}
RUN_LOG_FILE = "runs.jsonl"
"""The lab in progress notes its Keras runs here, in its results folder (:func:`nnlab.results.log_run`)."""
# Seconds a cell of a smoke or quick run may take before the run counts as hung. A full-profile
# run has no such limit: on a CPU one cell may train for over an hour (lab 4's first training
# cell trains 24 networks, about an hour on 2 cores), and the GPU call has its own deadline.
CELL_TIMEOUT = 3600


def device_description() -> str:
    """The device as the results describe it, with the GPU's model when ``nvidia-smi`` names it.

    ``"GPU (NVIDIA H100 80GB HBM3)"``, or ``"CPU (x86_64, 16 cores)"`` as :mod:`nnlab.results`
    writes it.
    """
    from nnlab.results import _device

    device = _device()
    smi = shutil.which("nvidia-smi")
    if device == "GPU" and smi:
        try:
            names = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                                   text=True, timeout=20, check=True).stdout.split("\n")
            if names[0].strip():
                return f"GPU ({names[0].strip()})"
        except (OSError, subprocess.SubprocessError):
            pass
    return device


def slug(text: str) -> str:
    """A file-name part: lower case, runs of anything but letters and digits become one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


def lab_paths(names: list[str] | None = None) -> list[Path]:
    """The lab files to run: all of ``labs/*.py``, or those whose name starts with one of ``names``."""
    labs = sorted(p for p in LABS_DIR.glob("*.py") if "format_name: percent" in p.read_text()[:2000])
    if names:
        labs = [p for p in labs if any(p.stem.startswith(n) for n in names)]
        if not labs:
            raise SystemExit(f"no lab matches {names}; labs are {[p.stem for p in lab_paths()]}")
    return labs


class LabStopped(BaseException):
    """A lab's run was ended by SIGTERM or SIGINT (a deadline, Ctrl-C), not by an error of its own.

    A ``BaseException``, like ``KeyboardInterrupt``: a stop is not a failed lab.
    """


def kernel_config() -> "traitlets.config.Config":
    """Notebook-client settings that encrypt the kernel's connection where the installed Jupyter can.

    jupyter_client 8.10+ hands a kernel that declares CurveZMQ support (ipykernel 7.3+) its keys
    when ``KernelManager.transport_encryption`` is ``"auto"``; the kernel then encrypts what it
    sends and does not warn about plain TCP at start. Older versions, or a pyzmq built without
    CurveZMQ, keep the default (plain TCP on the loopback address).
    """
    import zmq
    from jupyter_client.manager import KernelManager
    from traitlets.config import Config

    config = Config()
    if zmq.has("curve") and "transport_encryption" in KernelManager.class_trait_names():
        config.KernelManager.transport_encryption = "auto"
    return config


def run_lab(path: Path, timeout: int | None = CELL_TIMEOUT) -> float:
    """Execute one lab as a notebook in its own folder; return the seconds it took.

    ``timeout``: seconds a cell may run (``None``: no limit).

    Raises :class:`LabStopped` when a signal ended the run: the notebook client catches
    SIGTERM and SIGINT itself, shuts the kernel down, and the run then ends in whatever
    error the dead kernel gives.
    """
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path, fmt="py:percent")
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", config=kernel_config(),
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except BaseException as exc:
        # nbclient (0.10) keeps the clean-up it starts on a signal here; nothing else sets it.
        if getattr(client, "_async_cleanup_kernel_future", None) is not None:
            raise LabStopped(f"{path.stem} stopped by a signal after {time.perf_counter() - start:.0f} s") from exc
        raise
    return time.perf_counter() - start


def _move_aside(path: Path, exc: Exception) -> None:
    """Rename a damaged file to ``<name>.damaged-<time>.json`` (never overwrite it), with a warning."""
    aside = path.with_name(f"{path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
    os.replace(path, aside)
    warnings.warn(f"nnlab.bench: {path} is damaged ({exc}); moved aside to {aside.name} so that its rows "
                  "can be recovered by hand, and a new file is started.", stacklevel=4)


def _rows_to_extend(path: Path) -> list[dict]:
    """The rows a new lab's rows join; a damaged file is moved aside (not overwritten) and a new one begun."""
    try:
        return read_rows(path)
    except ValueError as exc:   # json.JSONDecodeError is a ValueError
        _move_aside(path, exc)
        return []


def claims_path(stem: Path) -> Path:
    """``claims-<profile>-<backend>-<cpu|gpu>.json`` beside ``<stem>.json`` (``bench-…``): the closing claims
    table of every lab in the bench file, as each lab saved it (:meth:`nnlab.claims.Claims.save`)."""
    return stem.with_name("claims-" + stem.name.removeprefix("bench-") + ".json")


def read_claims(path: Path) -> dict[str, dict[str, Any]]:
    """A claims file: lab → its table with profile, backend, device and date; empty when the file does not
    exist, ``ValueError`` when it does not parse or holds something else."""
    try:
        tables = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    if not (isinstance(tables, dict)
            and all(isinstance(t, dict) and isinstance(t.get("claims"), list) for t in tables.values())):
        raise ValueError("not a mapping of labs to claims tables")
    return tables


def claims_summary(table: dict[str, Any]) -> str:
    """One line on a saved claims table: how many claims, how many asserted, and whether each of those
    came out as the lab states."""
    rows = table["claims"]
    asserted = [r for r in rows if r.get("asserted")]
    off = [r for r in asserted if r.get("holds") != r.get("expected")]
    return (f"{len(rows)} claims, {len(asserted)} asserted in this profile: "
            + (f"{len(off)} did not come out as the lab states" if off else "each came out as the lab states"))


def claims_cells(row: dict[str, Any]) -> list[str]:
    """A saved claim row as the table cells a lab shows: source, claim, evidence, verdict."""
    return [str(row.get(key, "")) for key in ("source", "claim", "evidence", "verdict")]


def claims_markdown(tables: dict[str, dict[str, Any]]) -> str:
    """A claims file as Markdown: per lab, a heading, the run's context and :func:`claims_summary`, the table."""
    parts = []
    for lab, table in sorted(tables.items()):
        parts.append(f"## {lab}: {table.get('chapter', lab)}\n\n"
                     f"{table.get('profile', '?')} profile, {table.get('backend', '?')}, {table.get('device', '?')}, "
                     f"{table.get('date', '?')}: {claims_summary(table)}.\n\n"
                     + markdown_table(claims_cells(r) for r in table["claims"]))
    return "\n\n".join(parts) + "\n"


def _record_claims(stem: Path, lab: str, results_folder: Path) -> None:
    """Replace ``lab``'s table in the claims file by the one it saved in ``results_folder`` (or drop it, when
    the lab has saved none yet: a table from an earlier run would not match this run's numbers)."""
    path = claims_path(stem)
    try:
        tables = read_claims(path)
    except ValueError as exc:
        _move_aside(path, exc)
        tables = {}
    saved = sorted((results_folder / "claims").glob("*.json"), key=lambda p: p.stat().st_mtime)
    if saved:
        tables[lab] = json.loads(saved[-1].read_text())
    elif lab in tables:
        del tables[lab]
    else:
        return
    atomic_write_text(path.with_suffix(".md"), claims_markdown(tables))
    atomic_write_text(path, json.dumps(dict(sorted(tables.items())), indent=1))


def write_bench(stem: Path, rows: list[dict]) -> Path:
    """Write ``rows`` as ``<stem>.json`` and ``<stem>.md`` (each replaced atomically); return the JSON path."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    markdown = to_markdown(rows)   # made first: a failure here leaves both files as they were
    atomic_write_text(stem.with_suffix(".json"), json.dumps(rows, indent=1))
    atomic_write_text(stem.with_suffix(".md"), markdown)
    return stem.with_suffix(".json")


def bench_stem(profile: str, backend: str, out_dir: Path = OUT_DIR) -> Path:
    """``<out_dir>/bench-<profile>-<backend>-<cpu|gpu>``: one file per profile, backend and kind of device.

    The kind of device is in the name so that a file continued by a later run (see
    :func:`run_bench`) never mixes a CPU's numbers with a GPU's.
    """
    from nnlab.results import _device

    kind = "gpu" if _device().startswith("GPU") else "cpu"
    return Path(out_dir) / f"bench-{profile}-{backend}-{kind}"


SNAPSHOT_SECONDS = 20.0
"""How often the lab in progress is written (as ``stopped``), in case the run is killed."""


def _merged(rows: list[dict], lab: str, results_folder: Path, seconds: float, status: str,
            concurrent: int = 1) -> list[dict]:
    """``rows`` with ``lab``'s rows replaced by what it recorded in ``results_folder``.

    ``concurrent`` > 1 (bench processes sharing the device) is kept as ``lab_concurrent``: such a
    lab's seconds are longer than it would take alone. Where the lab noted its Keras runs
    (:data:`RUN_LOG_FILE`), ``lab_runs_trained`` and ``lab_runs_cached`` count them: a lab whose
    runs came from the cache took far less time than training them takes.
    """
    kept = [r for r in rows if r.get("lab") != lab]
    shared = {"lab_concurrent": concurrent} if concurrent > 1 else {}
    runs = read_run_log(results_folder / RUN_LOG_FILE)
    counted = {"lab_runs_trained": runs["trained"], "lab_runs_cached": runs["cached"]} if runs else {}
    kept += [{**asdict(result), "lab_seconds": round(seconds, 1), "lab_status": status, **shared, **counted}
             for result in load_all(results_folder) if result.lab == lab]
    return sorted(kept, key=lambda r: r.get("lab", ""))


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` while the block runs, so that bench processes writing
    there take turns (``flock`` on the folder itself: no lock file is left behind). Where
    ``fcntl`` is missing (Windows) the block runs unlocked: run one bench at a time there."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def record_lab(stem: Path, lab: str, results_folder: Path, seconds: float, status: str,
               concurrent: int = 1) -> list[dict]:
    """Replace ``lab``'s rows in ``<stem>.{json,md}`` by what it recorded in ``results_folder``, and its
    claims table in the claims file (:func:`claims_path`) by the one it saved there; return all rows.

    The files are re-read under :func:`_folder_lock` first, so what another bench process
    wrote since (its own labs) is kept.
    """
    stem.parent.mkdir(parents=True, exist_ok=True)
    with _folder_lock(stem.parent):
        rows = _merged(_rows_to_extend(stem.with_suffix(".json")), lab, results_folder, seconds, status, concurrent)
        write_bench(stem, rows)
        _record_claims(stem, lab, results_folder)
    return rows


def run_bench(profile: str, names: list[str] | None = None, out_dir: Path = OUT_DIR, concurrent: int = 1) -> Path:
    """Run the labs in ``profile``; write ``bench-<profile>-<backend>-<cpu|gpu>.{json,md}`` after each.

    Returns the JSON path.

    Rows of labs not run this time are kept from the file (also those that a concurrent run
    writes meanwhile, see :func:`record_lab`); a failed lab's rows (what
    it recorded before failing) are kept with ``lab_status: "failed"``, and after the last lab
    ``SystemExit(1)`` names the failed labs. A run that is stopped (SIGTERM from ``timeout``
    at a GPU call's deadline, Ctrl-C) keeps what the lab in progress had recorded, marked
    ``lab_status: "stopped"``, and ends with ``SystemExit(124)``; even a run killed outright
    keeps it, as of the last snapshot (every :data:`SNAPSHOT_SECONDS`). ``concurrent``: how many
    bench processes share the device (``device_run.sh --parallel``), recorded with each lab's seconds.
    A cell that runs longer than :data:`CELL_TIMEOUT` fails its lab, except in the full profile.
    """
    from nnlab.profiles import REHEARSAL, get_profile, keras_backend

    profile = get_profile(profile).name  # validates the name with a clear error; " Quick " → "quick"
    if profile == REHEARSAL and Path(out_dir).resolve() == OUT_DIR.resolve():
        raise SystemExit("A rehearsal's numbers come from tiny data and mean nothing, so they stay out of "
                         f"{OUT_DIR} (the book's results page reads it): pass --out <folder>, "
                         "e.g. --out /tmp/nnlab-rehearsal")
    backend = keras_backend()
    stem = bench_stem(profile, backend, out_dir)
    failed: list[str] = []
    stopped = False
    running: dict[str, Any] = {}  # the lab in progress: name and start time
    lock = threading.Lock()  # one writer at a time: the loop below or the snapshot thread
    done = threading.Event()

    with tempfile.TemporaryDirectory(prefix="nnlab-bench-") as tmp:

        def snapshots() -> None:
            while not done.wait(SNAPSHOT_SECONDS):
                with lock:
                    if running:
                        seconds = time.perf_counter() - running["start"]
                        record_lab(stem, running["lab"], Path(tmp), seconds, "stopped", concurrent)

        writer = threading.Thread(target=snapshots, name="bench-snapshots", daemon=True)
        writer.start()
        saved = {name: os.environ.get(name)
                 for name in ("NNLAB_PROFILE", "NNLAB_QUIET", "NNLAB_STATIC", "NNLAB_RESULTS", RUN_LOG)}
        # Nobody sees these notebooks: explorers draw their static figure (a live widget's cell
        # left nbclient waiting for ever in about one run in six here, its kernel idle).
        os.environ.update(NNLAB_PROFILE=profile, NNLAB_QUIET="1", NNLAB_STATIC="1", NNLAB_RESULTS=tmp,
                          **{RUN_LOG: str(Path(tmp) / RUN_LOG_FILE)})
        try:
            for path in lab_paths(names):
                print(f"==> {path.stem} ({profile}, {backend})", flush=True)
                with lock:
                    shutil.rmtree(Path(tmp) / "claims", ignore_errors=True)   # the previous lab's table
                    (Path(tmp) / RUN_LOG_FILE).write_text("")                 # and its runs: none yet
                    running.update(lab=path.stem, start=time.perf_counter())
                status = "ok"
                try:
                    run_lab(path, timeout=None if profile == "full" else CELL_TIMEOUT)
                except Exception as exc:  # keep going: the other labs' numbers are still worth having
                    status = "failed"
                    failed.append(path.stem)
                    message = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # the cell's traceback, without colours
                    print(f"    FAILED: {type(exc).__name__}: {message[-3000:]}", flush=True)
                except BaseException as exc:  # LabStopped, or a signal outside the notebook client's watch
                    status, stopped = "stopped", True
                    print(f"    STOPPED ({type(exc).__name__}: {exc}): keeping what {path.stem} recorded so far",
                          flush=True)
                with lock:
                    seconds = time.perf_counter() - running["start"]
                    running.clear()
                    record_lab(stem, path.stem, Path(tmp), seconds, status, concurrent)
                print(f"    {seconds:.0f} s", flush=True)
                if stopped:
                    break
        finally:
            done.set()
            writer.join()
            for name, value in saved.items():   # the caller's settings back (NNLAB_RESULTS named a folder now gone)
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    print(f"==> wrote {stem}.json and {stem}.md")
    if stopped:
        raise SystemExit(124)
    if failed:
        raise SystemExit(f"labs that failed: {', '.join(failed)} (their other numbers are in {stem}.json)")
    return stem.with_suffix(".json")


def _result(row: dict) -> Result:
    return Result(**{k: v for k, v in row.items() if k in RESULT_FIELDS})


def lab_seconds_text(row: dict) -> str:
    """A row's lab seconds as the tables show them: ``"41.2"``, ``"120.5 (lab stopped)"``, ``"98.0 (3 jobs at once)"``,
    ``"58.9 (9 of 9 runs from the cache)"``."""
    notes = []
    if row.get("lab_status", "ok") != "ok":
        notes.append(f"lab {row['lab_status']}")
    if row.get("lab_concurrent", 1) > 1:
        notes.append(f"{row['lab_concurrent']} jobs at once")
    cached = row.get("lab_runs_cached", 0)
    if cached:
        notes.append(f"{cached} of {cached + row.get('lab_runs_trained', 0)} runs from the cache")
    return f"{row.get('lab_seconds', '—')}" + (f" ({'; '.join(notes)})" if notes else "")


def to_markdown(rows: list[dict]) -> str:
    """The benchmark as a Markdown table."""
    lines = ["| lab | result | value | report's best | goal | met | profile | backend | device | lab seconds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        r = _result(row)
        best = r.report_text(lambda v: f"{v:.4g}")
        goal = "—" if r.goal is None else f"{r.goal:.4g}"
        seconds = lab_seconds_text(row)
        lines.append(f"| {r.lab} | {r.name} | {r.value:.4g} | {best} | {goal} | {r.met_text} | {r.profile} | "
                     f"{r.backend} | {r.device} | {seconds} |")
    return "\n".join(lines) + "\n"


# ============================================================================ reading committed files back


@dataclass(frozen=True)
class BenchFile:
    """One ``benchmarks/bench-*.json``: its rows, a summary line per lab for the results page, and the
    labs' claims tables from the file beside it (:func:`claims_path`; empty where there is none)."""

    path: Path
    rows: list[dict]
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def results(self) -> list[Result]:
        return [_result(row) for row in self.rows]

    def _common(self, key: str) -> str:
        values = sorted({str(row.get(key, "?")) for row in self.rows})
        return ", ".join(values) if values else "—"

    @property
    def profile(self) -> str:
        return self._common("profile")

    @property
    def backend(self) -> str:
        return self._common("backend")

    @property
    def device(self) -> str:
        return self._common("device")

    @property
    def date(self) -> str:
        return self._common("date")

    def labs(self) -> list[dict[str, Any]]:
        """One entry per lab: name, results, goals met / with a goal, seconds, status, runs loaded from the cache."""
        out: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            lab = out.setdefault(row["lab"], {"lab": row["lab"], "results": 0, "met": 0, "goals": 0,
                                              "seconds": row.get("lab_seconds"),
                                              "status": row.get("lab_status", "ok"),
                                              "runs_cached": row.get("lab_runs_cached", 0)})
            lab["results"] += 1
            met = _result(row).meets_goal
            lab["goals"] += met is not None
            lab["met"] += bool(met)
        return list(out.values())

    @property
    def seconds(self) -> float:
        """The labs' seconds added up."""
        return round(sum(float(lab["seconds"] or 0) for lab in self.labs()), 1)


def benchmark_files(folder: Path = OUT_DIR) -> tuple[list[BenchFile], list[dict[str, Any]]]:
    """The lab benchmarks (``bench-*.json``) and throughput reports (``throughput-*.json``) in ``folder``.

    Damaged files are skipped with a warning (the book's build shows it); files a bench run
    moved aside (``*.damaged-*.json``) are not listed. Each throughput report gets its file
    name as ``"file"``.
    """
    folder = Path(folder)
    benches = []
    for path in sorted(folder.glob("bench-*.json")):
        if ".damaged-" in path.name:
            continue
        try:
            rows = read_rows(path)
        except ValueError as exc:
            warnings.warn(f"nnlab.bench: {path} is damaged ({exc}); left off the results page.", stacklevel=2)
            continue
        if not rows:
            continue
        try:
            tables = read_claims(claims_path(path.with_suffix("")))
            for table in tables.values():
                claims_summary(table)   # raises on rows the page could not show
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            warnings.warn(f"nnlab.bench: the claims file beside {path.name} is damaged ({type(exc).__name__}: "
                          f"{exc}); its tables are left off the results page.", stacklevel=2)
            tables = {}
        try:
            benches.append(_checked_bench(BenchFile(path, rows, tables)))
        except (TypeError, KeyError, ValueError) as exc:   # parses, but not as rows of results
            warnings.warn(f"nnlab.bench: {path} does not hold benchmark rows ({type(exc).__name__}: {exc}); "
                          "left off the results page.", stacklevel=2)
    throughputs = []
    for path in sorted(folder.glob("throughput-*.json")):
        try:
            report = json.loads(path.read_text())
            if isinstance(report, dict) and report.get("setups"):
                throughputs.append({**_checked_throughput(report), "file": path.name})
        except (TypeError, KeyError, ValueError) as exc:
            warnings.warn(f"nnlab.bench: {path} is damaged ({type(exc).__name__}: {exc}); left off the results page.",
                          stacklevel=2)
    return benches, throughputs


def _checked_bench(bench: "BenchFile") -> "BenchFile":
    """``bench`` unchanged, after computing what the results page shows of it (raises on a bad row)."""
    for result, row in zip(bench.results, bench.rows, strict=True):
        for number in (result.value, result.report_best, result.goal):
            if number is not None and not isinstance(number, (int, float)):
                raise TypeError(f"{result.lab} / {result.name}: {number!r} is not a number")
        result.meets_goal  # noqa: B018  (compares value and goal)
        lab_seconds_text(row)
    bench.labs()
    float(bench.seconds)
    return bench


def _checked_throughput(report: dict[str, Any]) -> dict[str, Any]:
    """``report`` unchanged, after checking the fields the results page formats as numbers."""
    numbers = [report.get("ratio", 0), report.get("seconds", 0)]
    for setup in report["setups"]:
        str(setup["setup"])
        numbers.append(setup["images_per_second"])
    if not all(isinstance(n, (int, float)) for n in numbers):
        raise TypeError(f"not a number among {numbers}")
    return report
