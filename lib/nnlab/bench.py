"""Benchmark: run every lab in one profile and collect its headline numbers and times.

Used by ``make bench`` and ``python -m nnlab bench [--profile P] [LAB…]``. Each lab is
executed as a notebook (the same way the book and the tests run it) with its results
directed to a fresh folder; then one JSON file and one Markdown table are written to
``benchmarks/`` with, per result: the value, the best figure of the reports, the goal,
the profile, backend and device, and the seconds the whole lab took.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from nnlab.results import REPO_ROOT, Result, load_all

LABS_DIR = REPO_ROOT / "labs"
OUT_DIR = REPO_ROOT / "benchmarks"


def lab_paths(names: list[str] | None = None) -> list[Path]:
    """The lab files to run: all of ``labs/*.py``, or those whose name starts with one of ``names``."""
    labs = sorted(p for p in LABS_DIR.glob("*.py") if "format_name: percent" in p.read_text()[:2000])
    if names:
        labs = [p for p in labs if any(p.stem.startswith(n) for n in names)]
        if not labs:
            raise SystemExit(f"no lab matches {names}; labs are {[p.stem for p in lab_paths()]}")
    return labs


def run_lab(path: Path, timeout: int = 3600) -> float:
    """Execute one lab as a notebook in its own folder; return the seconds it took."""
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path, fmt="py:percent")
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def run_bench(profile: str, names: list[str] | None = None, out_dir: Path = OUT_DIR) -> Path:
    """Run the labs in ``profile``; write ``bench-<profile>-<backend>.{json,md}``; return the JSON path."""
    from nnlab.profiles import get_profile

    get_profile(profile)  # validates the name with a clear error
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-") as tmp:
        os.environ.update(NNLAB_PROFILE=profile, NNLAB_QUIET="1", NNLAB_RESULTS=tmp)
        for path in lab_paths(names):
            print(f"==> {path.stem} ({profile}, {backend})", flush=True)
            seconds = run_lab(path)
            print(f"    {seconds:.0f} s", flush=True)
            for result in load_all(Path(tmp)):
                if result.lab == path.stem:
                    rows.append({**asdict(result), "lab_seconds": round(seconds, 1)})
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"bench-{profile}-{backend}"
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    stem.with_suffix(".md").write_text(to_markdown(rows))
    print(f"==> wrote {stem}.json and {stem}.md")
    return stem.with_suffix(".json")


def to_markdown(rows: list[dict]) -> str:
    """The benchmark as a Markdown table."""
    lines = ["| lab | result | value | report's best | goal | met | profile | backend | device | lab seconds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        r = Result(**{k: v for k, v in row.items() if k != "lab_seconds"})
        met = {None: "—", True: "yes", False: "no"}[r.meets_goal]
        best = "—" if r.report_best is None else f"{r.report_best:.4g} ({r.report})"
        goal = "—" if r.goal is None else f"{r.goal:.4g}"
        lines.append(f"| {r.lab} | {r.name} | {r.value:.4g} | {best} | {goal} | {met} | {r.profile} | "
                     f"{r.backend} | {r.device} | {row['lab_seconds']} |")
    return "\n".join(lines) + "\n"
