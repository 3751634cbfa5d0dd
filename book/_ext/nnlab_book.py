"""Sphinx extension for the nnlab book (registered in ``_config.yml``).

It adds what a reader of the website needs and Jupyter Book does not do by itself:

- a banner on every page naming the profile, backend and device that produced the numbers;
- on every lab page, download links for the lab as a notebook (``.ipynb``, generated from
  the Jupytext source) and as its ``.py`` source;
- the ``nnlab-results`` directive, a table of every headline number the labs recorded
  (:mod:`nnlab.results`), filled in after all labs have executed.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx

NOTEBOOK_DIR = "_notebooks"


def _banner() -> str:
    from nnlab.profiles import get_profile

    return (f"{get_profile().describe()} · built {time.strftime('%Y-%m-%d')} — "
            "numbers on these pages come from this profile")


def _on_config_inited(app: Sphinx, config) -> None:
    options = dict(config.html_theme_options or {})
    options["announcement"] = _banner()
    config.html_theme_options = options


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


class ResultsDirective(Directive):
    """``nnlab-results``: the table of headline numbers recorded by the labs."""

    has_content = False

    def run(self):
        return [results_placeholder("")]


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "accuracy":
        return f"{100 * value:.2f} %"
    return f"{value:.4g}" + (f" {unit}" if unit else "")


def _on_doctree_resolved(app: Sphinx, doctree, docname: str) -> None:
    from nnlab.results import load_all

    for node in doctree.traverse(results_placeholder):
        rows = load_all()
        if not rows:
            node.replace_self(nodes.paragraph(text="No lab has recorded a result yet."))
            continue
        headers = ["lab", "result", "value", "best report", "goal", "met?", "profile", "backend", "device", "date"]
        table = nodes.table(classes=["nnlab-results"])
        group = nodes.tgroup(cols=len(headers))
        table += group
        for _ in headers:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        group += head
        head += _row(headers)
        body = nodes.tbody()
        group += body
        for r in rows:
            met = {None: "—", True: "yes", False: "no"}[r.meets_goal]
            report = _format(r.report_best, r.unit) + (f" ({r.report})" if r.report else "")
            body += _row([r.lab, r.name, _format(r.value, r.unit), report, _format(r.goal, r.unit), met,
                          r.profile, r.backend, r.device, r.date])
        node.replace_self(table)


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
    app.connect("build-finished", _on_build_finished)
    app.connect("doctree-resolved", _on_doctree_resolved)
    app.add_node(results_placeholder)
    app.add_directive("nnlab-results", ResultsDirective)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
