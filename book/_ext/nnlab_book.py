"""Sphinx extension for the nnlab book (registered in ``_config.yml``).

It adds what a reader of the website needs and Jupyter Book does not do by itself:

- a banner on every page naming the profile, backend and device that produced the numbers;
- on every lab page, download links for the lab as a notebook (``.ipynb``, generated from
  the Jupytext source) and as its ``.py`` source;
- the ``nnlab-results`` directive, a table of every headline number the labs recorded
  (:mod:`nnlab.results`), filled in after all labs have executed;
- the ``nnlab-benchmarks`` directive, the committed benchmark files (``benchmarks/bench-*.json``
  from ``make bench``, with the labs' claims tables beside them in ``claims-*.json``;
  ``benchmarks/throughput-*.json`` from ``python -m nnlab bench --throughput``), read by
  :func:`nnlab.bench.benchmark_files`; the page holding either directive is re-read on every
  build, so it never shows stale numbers;
- two fixes for what a browser reports on every page of a Jupyter Book 1.x site: inline
  scripts that sphinx-thebe and sphinx-togglebutton register twice (the second
  ``const THEBE_JS_URL`` is a SyntaxError in the console), and the theme's "Got invalid theme
  mode" console error on a first visit (no ``default_mode``);
- MathJax served from the site itself (``_static/mathjax``) when ``make`` has put a copy in
  ``_build/vendor/mathjax`` (from the npm registry), so pages draw their math without a CDN.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx

NOTEBOOK_DIR = "_notebooks"
VENDOR_DIR = Path(__file__).resolve().parents[2] / "_build" / "vendor"  # holds mathjax/ (see Makefile)


def _banner() -> str:
    from nnlab.profiles import get_profile

    return (f"{get_profile().describe()} · built {time.strftime('%Y-%m-%d')} — "
            "numbers on these pages come from this profile")


def _on_config_inited(app: Sphinx, config) -> None:
    options = dict(config.html_theme_options or {})
    options["announcement"] = _banner()
    config.html_theme_options = options
    # pydata-sphinx-theme falls back to "" (logged as a console error) without a default mode
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}
    if (VENDOR_DIR / "mathjax" / "tex-mml-chtml.js").is_file():
        # Sphinx copies the folder's contents into _static; a relative mathjax_path is
        # relative to _static, and MathJax loads its fonts and extensions next to itself.
        config.html_static_path = [*config.html_static_path, str(VENDOR_DIR)]
        config.mathjax_path = "mathjax/tex-mml-chtml.js"


def _lab_docnames(app: Sphinx) -> list[str]:
    return sorted(d for d in app.env.found_docs if d.startswith("labs/"))


def _on_page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not pagename.startswith("labs/") or "body" not in context:
        return
    name = Path(pagename).name
    links = (f'<div class="nnlab-downloads admonition tip"><p>Run this lab yourself: '
             f'<a href="../{NOTEBOOK_DIR}/{name}.ipynb" download>notebook (.ipynb)</a> · '
             f'<a href="../{NOTEBOOK_DIR}/{name}.py" download>Jupytext source (.py)</a> · '
             f'or <code>make lab</code> in a clone of the repository.</p></div>')
    body = context["body"]
    cut = body.find("</h1>")
    context["body"] = body[: cut + 5] + links + body[cut + 5 :] if cut >= 0 else links + body


def _dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Drop repeated scripts (same file or same inline body) from the page, keeping the first.

    Inline scripts that an extension adds after the builder starts are stored twice, once
    with the file name ``None`` and once with ``""``, so Sphinx's own de-duplication misses them.
    """
    files = context.get("script_files")
    if not isinstance(files, list):
        return
    seen, unique = set(), []
    for js in files:
        name = getattr(js, "filename", js) or ""
        key = (name, tuple(sorted((getattr(js, "attributes", None) or {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    files[:] = unique


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import jupytext

    out = Path(app.outdir) / NOTEBOOK_DIR
    out.mkdir(parents=True, exist_ok=True)
    for docname in _lab_docnames(app):
        source = Path(app.srcdir) / f"{docname}.py"
        if not source.exists():
            continue
        notebook = jupytext.read(source, fmt="py:percent")
        jupytext.write(notebook, out / f"{source.stem}.ipynb", fmt="ipynb")
        shutil.copyfile(source, out / source.name)


class results_placeholder(nodes.General, nodes.Element):
    """Stands for the results table until every lab has run."""


class benchmarks_placeholder(nodes.General, nodes.Element):
    """Stands for the tables of the committed benchmark files (filled in when the page is written)."""


class ResultsDirective(Directive):
    """``nnlab-results``: the table of headline numbers recorded by the labs."""

    has_content = False

    def run(self):
        return [results_placeholder("")]


class BenchmarksDirective(Directive):
    """``nnlab-benchmarks``: every committed ``benchmarks/bench-*.json`` and ``throughput-*.json``."""

    has_content = False

    def run(self):
        return [benchmarks_placeholder("")]


def _format(value: float | None, unit: str) -> str:
    """A number as the results tables print it: accuracies in percent, one decimal for
    percentage points, two for minutes, whole seconds; other units to four digits."""
    if value is None:
        return "—"
    if unit == "accuracy":
        return f"{100 * value:.2f} %"
    if unit == "pp":
        return f"{value:.1f} pp"
    if unit in ("min", "minutes"):
        return f"{value:.2f} min"
    if unit == "s":
        return f"{value:.0f} s"
    return f"{value:.4g}" + (f" {unit}" if unit else "")


def _on_doctree_resolved(app: Sphinx, doctree, docname: str) -> None:
    from nnlab.results import load_all

    for node in doctree.traverse(results_placeholder):
        rows = load_all()
        if not rows:
            node.replace_self(nodes.paragraph(text="No lab has recorded a result yet."))
            continue
        headers = ["lab", "result", "value", "best report", "goal", "met?", "profile", "backend", "device", "date"]
        cells = [_result_cells(r) + [r.profile, r.backend, r.device, r.date] for r in rows]
        node.replace_self(_table(headers, cells, ["nnlab-results"]))
    for node in doctree.traverse(benchmarks_placeholder):
        node.replace_self(benchmark_nodes())


def _result_cells(r) -> list[str]:
    """lab, result, value, best report, goal, met? of one :class:`nnlab.results.Result`."""
    report = r.report_text(lambda v: _format(v, r.unit))
    return [r.lab, r.name, _format(r.value, r.unit), report, _format(r.goal, r.unit), r.met_text]


def _table(headers: list[str], rows: list[list[str]], classes: list[str]) -> nodes.table:
    table = nodes.table(classes=classes)
    group = nodes.tgroup(cols=len(headers))
    table += group
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    head += _row(headers)
    body = nodes.tbody()
    group += body
    for cells in rows:
        body += _row(cells)
    return table


def benchmark_nodes(folder: Path | None = None) -> list[nodes.Node]:
    """Paragraphs and tables for the benchmark files in ``folder`` (default ``benchmarks/``).

    One summary table of the lab benchmarks (a row per file: device, backend, profile, date,
    labs, goals met, seconds), then each file's results and the claims tables its labs saved
    (:func:`nnlab.bench.claims_path`), then one table of the throughput
    reports with the fast/naive ratio. Says first whether a GPU has run the full profile, and
    plainly when there is no file yet.
    """
    from nnlab.bench import OUT_DIR, benchmark_files, claims_cells, claims_summary, lab_seconds_text

    benches, throughputs = benchmark_files(folder or OUT_DIR)
    gpu_full = [b for b in benches if b.profile == "full" and b.device.startswith("GPU")]
    out: list[nodes.Node] = [nodes.paragraph(text=(
        "The full profile on a GPU: " + "; ".join(f"{b.path.name} ({b.device}, {b.date})" for b in gpu_full) + "."
        if gpu_full else "No GPU has run the book's full profile yet: every benchmark file here comes from a CPU."))]
    if not benches and not throughputs:
        return out + [nodes.paragraph(text="No benchmark file yet: none of benchmarks/bench-*.json or "
                                           "benchmarks/throughput-*.json has been committed.")]
    if benches:
        out.append(nodes.paragraph(text="Lab benchmarks (python -m nnlab bench), one row per file:"))
        summary = []
        for bench in benches:
            labs = bench.labs()
            unfinished = [f"{lab['lab']} {lab['status']}" for lab in labs if lab["status"] != "ok"]
            summary.append([bench.path.name, bench.device, bench.backend, bench.profile, bench.date,
                            f"{len(labs)}" + (f" ({', '.join(unfinished)})" if unfinished else ""),
                            f"{sum(lab['met'] for lab in labs)} of {sum(lab['goals'] for lab in labs)}",
                            f"{bench.seconds:.0f}" + _cached_note(labs)])
        out.append(_table(["file", "device", "backend", "profile", "date", "labs", "goals met", "lab seconds, summed"],
                          summary, ["nnlab-benchmarks"]))
        for bench in benches:
            out.append(nodes.paragraph(text=f"{bench.path.name} — {bench.device}, {bench.backend}, "
                                            f"profile {bench.profile}, {bench.date}:"))
            rows = [_result_cells(r) + [lab_seconds_text(row)]
                    for r, row in zip(bench.results, bench.rows)]
            out.append(_table(["lab", "result", "value", "best report", "goal", "met?", "lab seconds"], rows,
                              ["nnlab-benchmarks"]))
            for lab, table in sorted(bench.claims.items()):
                out.append(nodes.paragraph(text=f"{bench.path.name}, claims of {table.get('chapter', lab)} as this run "
                                                f"checked them ({table.get('profile', '?')} profile): "
                                                f"{claims_summary(table)}."))
                out.append(_table(["source", "claim", "what we measured", "verdict"],
                                  [claims_cells(r) for r in table["claims"]], ["nnlab-benchmarks", "nnlab-claims"]))
    else:
        out.append(nodes.paragraph(text="No lab benchmark file yet (benchmarks/bench-*.json)."))
    if throughputs:
        out.append(nodes.paragraph(text="Training throughput of lab 5c's CNN (python -m nnlab bench --throughput):"))
        rows = []
        for t in throughputs:
            by_name = {s["setup"]: s for s in t["setups"]}
            naive, fast = by_name.get("naive", {}), by_name.get("fast", {})
            rows.append([t["file"], t.get("device", "?"), t.get("backend", "?"), t.get("date", "?"),
                         f"{naive.get('images_per_second', 0):,.0f}", f"{fast.get('images_per_second', 0):,.0f}",
                         f"{t.get('ratio', 0):.1f}×", f"{fast.get('precision', '?')}, batch {fast.get('batch_size', '?')}",
                         f"{t.get('seconds', 0):.0f}"])
        out.append(_table(["file", "device", "backend", "date", "naive images/s", "fast images/s", "fast / naive",
                           "fast set-up", "seconds"], rows, ["nnlab-benchmarks"]))
    else:
        out.append(nodes.paragraph(text="No throughput file yet (benchmarks/throughput-*.json)."))
    return out


def _cached_note(labs: list[dict]) -> str:
    """After a file's summed seconds: which labs loaded runs from the cache (their seconds are not training's)."""
    cached = [lab["lab"] for lab in labs if lab.get("runs_cached")]
    return f" (runs from the cache in {', '.join(cached)})" if cached else ""


def _pages_with_directives(app: Sphinx, env, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """Re-read the pages that show results or benchmarks on every build (their numbers live elsewhere)."""
    found = []
    for docname in env.found_docs:
        source = Path(env.doc2path(docname))
        try:
            text = source.read_text(encoding="utf-8") if source.suffix in (".md", ".rst") else ""
        except OSError:
            continue
        if "nnlab-results" in text or "nnlab-benchmarks" in text:
            found.append(docname)
    return found


def _row(cells: list[str]) -> nodes.row:
    row = nodes.row()
    for text in cells:
        entry = nodes.entry()
        entry += nodes.paragraph(text=str(text))
        row += entry
    return row


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _on_config_inited)
    app.connect("html-page-context", _on_page_context)
    app.connect("html-page-context", _dedupe_scripts, priority=900)  # after every other handler
    app.connect("build-finished", _on_build_finished)
    app.connect("doctree-resolved", _on_doctree_resolved)
    app.connect("env-get-outdated", _pages_with_directives)
    app.add_node(results_placeholder)
    app.add_node(benchmarks_placeholder)
    app.add_directive("nnlab-results", ResultsDirective)
    app.add_directive("nnlab-benchmarks", BenchmarksDirective)
    # env_version: bump it when what this extension writes changes, so Sphinx rewrites every page
    return {"version": "0.4", "env_version": 4, "parallel_read_safe": True, "parallel_write_safe": True}
