"""Headline numbers: every lab records what it measured, and the book's results page lists them.

Introduced in lab 1 (Initialization). A lab calls :func:`record` for each headline result
(an accuracy, an error, a rate), with the best figure of the reports and the goal next to
it. Records are written, one JSON file per lab, to ``NNLAB_RESULTS`` (``make book`` sets it to
``_build/results``, the folder its results page reads; otherwise the default is
``_build/lab-results``, so that a lab run as a script or in Jupyter never puts its numbers on the
book's page), together with the profile, backend, device and date
that produced them; :func:`load_all` reads them back for the results page and the benchmark.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from nnlab._download import atomic_write_text
from nnlab.profiles import get_profile, gpu_available, keras_backend

REPO_ROOT = Path(__file__).resolve().parents[2]


def results_dir() -> Path:
    """Where result files go: ``NNLAB_RESULTS`` (when set and not empty) or ``<repo>/_build/lab-results``."""
    return Path(os.environ.get("NNLAB_RESULTS") or REPO_ROOT / "_build" / "lab-results")


@dataclass(frozen=True)
class Result:
    """One headline number and its context."""

    lab: str
    name: str
    value: float
    unit: str
    report_best: float | None
    report: str
    goal: float | None
    higher_is_better: bool
    profile: str
    backend: str
    device: str
    date: str
    seconds: float | None = None

    def report_text(self, number: Callable[[float], str]) -> str:
        """The "report's best" cell of a results table: the figure (written by ``number``) and
        its source; the source's words alone where it gave no figure; else a dash."""
        if self.report_best is None:
            return self.report or "—"
        return number(self.report_best) + (f" ({self.report})" if self.report else "")

    @property
    def meets_goal(self) -> bool | None:
        """Whether the value reaches the goal (at least it, or at most it for errors); None without a goal."""
        if self.goal is None:
            return None
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal

    @property
    def met_text(self) -> str:
        """The "met?" cell of a results table: yes, no, or a dash where there is no goal."""
        return {None: "—", True: "yes", False: "no"}[self.meets_goal]


_STARTED: set[str] = set()
"""Labs that have recorded in this process: their first record starts a fresh file."""


def _device() -> str:
    return "GPU" if gpu_available() else f"CPU ({platform.machine()}, {os.cpu_count()} cores)"


def record(
    lab: str,
    name: str,
    value: float,
    *,
    unit: str = "",
    report_best: float | None = None,
    report: str = "",
    goal: float | None = None,
    higher_is_better: bool = True,
    seconds: float | None = None,
) -> None:
    """Store one headline number for ``lab`` (replacing an earlier one of the same name).

    Returns nothing, so that a lab cell ending in ``results.record(...)`` shows no value.
    """
    result = Result(
        lab=lab, name=name, value=float(value), unit=unit, report_best=report_best, report=report,
        goal=goal, higher_is_better=higher_is_better, profile=get_profile().name,
        backend=keras_backend(), device=_device(),
        date=time.strftime("%Y-%m-%d"), seconds=seconds,
    )
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lab}.json"
    if lab not in _STARTED:  # a lab's new run replaces everything its earlier runs recorded
        _STARTED.add(lab)
        path.unlink(missing_ok=True)
    entries = [e for e in _read(path) if e.get("name") != name] + [asdict(result)]
    atomic_write_text(path, json.dumps(entries, indent=1))


def clear(lab: str) -> None:
    """Forget every number recorded for ``lab`` (before a lab records a fresh set).

    Added in lab 6 (Tell the time), whose profiles record different sets of numbers: without
    this, a number from an earlier run in another profile would stay on the results page.
    """
    (results_dir() / f"{lab}.json").unlink(missing_ok=True)


def save_claims(chapter: str, profile: str, claims: list[dict]) -> Path:
    """Keep a lab's closing claims table, each row with its verdict, as
    ``<results folder>/claims/<chapter, lower case>.json`` with the profile, backend, device and date.

    Called by :meth:`nnlab.claims.Claims.show`. ``python -m nnlab bench`` moves the file into its
    ``claims-<profile>-<backend>-<cpu|gpu>.json`` beside the numbers, so a run that executed the labs
    unseen (the GPU run) still says which claims held and on what evidence; the book's results page
    shows them.
    """
    folder = results_dir() / "claims"
    folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^0-9a-z]+", "-", chapter.lower()).strip("-") or "lab"
    entry = {"chapter": chapter, "profile": profile, "backend": keras_backend(), "device": _device(),
             "date": time.strftime("%Y-%m-%d"), "claims": claims}
    path = folder / f"{slug}.json"
    atomic_write_text(path, json.dumps(entry, indent=1))
    return path


RUN_LOG = "NNLAB_RUN_LOG"
"""The environment variable naming a file where :func:`log_run` notes each Keras run (set by
``python -m nnlab bench``; unset, nothing is written)."""


def log_run(name: str, cached: bool) -> None:
    """Note one Keras training run (:func:`nnlab.training.train`) or search (:mod:`nnlab.search`) in the
    file ``NNLAB_RUN_LOG`` names: its name and whether it was loaded from the cache instead of trained.

    ``python -m nnlab bench`` sets the variable so that each lab's row can say how many of its runs
    came from the cache: such a lab's seconds are far below what training it takes. A log that cannot
    be written is reported, not fatal.
    """
    path = os.environ.get(RUN_LOG)
    if not path:
        return
    line = json.dumps({"name": name, "cached": bool(cached)})
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(line + "\n")
    except OSError as exc:
        warnings.warn(f"nnlab.results: could not note run {name!r} in {path} ({exc}); the run itself is "
                      "unaffected.", stacklevel=2)


def read_run_log(path: Path) -> dict[str, int] | None:
    """Count the runs a :func:`log_run` file notes: ``{"trained": n, "cached": m}``; None when there is
    no such file. Lines that do not parse (a run killed mid-write) are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    counts = {"trained": 0, "cached": 0}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            counts["cached" if entry.get("cached") else "trained"] += 1
    return counts


def read_rows(path: Path) -> list[dict]:
    """A JSON list of rows (a lab's results, a bench file): none when the file does not exist,
    ``ValueError`` when it does not parse or is not a list of objects."""
    try:
        rows = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    if not (isinstance(rows, list) and all(isinstance(r, dict) for r in rows)):
        raise ValueError("not a list of rows")
    return rows


def _read(path: Path) -> list[dict]:
    """The entries of one lab's file; a damaged file is reported and read as empty."""
    try:
        return read_rows(path)
    except ValueError as exc:   # json.JSONDecodeError is a ValueError
        warnings.warn(f"nnlab.results: {path} is damaged ({exc}); its numbers are left out. Delete it and "
                      f"run lab {path.stem} again.", stacklevel=3)
        return []


def load_all(folder: Path | None = None) -> list[Result]:
    """Every recorded result, lab by lab (entries that do not fit :class:`Result` are reported and left out)."""
    folder = folder or results_dir()
    out = []
    for path in sorted(folder.glob("*.json")):
        for entry in _read(path):
            try:
                out.append(Result(**entry))
            except TypeError as exc:
                warnings.warn(f"nnlab.results: an entry of {path} does not fit ({exc}); delete the file and "
                              f"run lab {path.stem} again.", stacklevel=2)
    return out
