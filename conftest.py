"""Let nbval execute the Jupytext percent-format labs (``labs/*.py``) as notebooks.

nbval collects only ``.ipynb`` files. Here a ``.py`` file whose header says
``format_name: percent`` is read through Jupytext into a notebook and handed to nbval's
own collector; pytest is stopped from importing such files as test modules.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest
from nbval.plugin import IPyNbFile


def is_percent_lab(path: Path) -> bool:
    """True for a Jupytext percent-format notebook (checked in its header)."""
    if path.suffix != ".py":
        return False
    with path.open(encoding="utf-8") as handle:
        head = handle.read(2000)
    return "format_name: percent" in head


class JupytextNbFile(IPyNbFile):
    """nbval's notebook collector, reading the notebook through Jupytext."""

    def collect(self):  # type: ignore[override]
        original = jupytext.read(str(self.fspath), fmt="py:percent")
        original.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        # nbval's collect() reads self.fspath with nbformat; hand it the converted notebook instead.
        import nbformat

        real_read = nbformat.read
        nbformat.read = lambda *_args, **_kwargs: original
        try:
            yield from super().collect()
        finally:
            nbformat.read = real_read


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    opt = parent.config.option
    if (opt.nbval or opt.nbval_lax) and is_percent_lab(file_path):
        return JupytextNbFile.from_parent(parent, path=file_path)
    return None


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector):
    """Never import a lab as a test module (it would run the whole lab at collection time)."""
    if is_percent_lab(module_path):
        return _Ignored.from_parent(parent, path=module_path)
    return None


class _Ignored(pytest.File):
    """A collector that yields nothing: stands in for a lab in pytest's module collection."""

    def collect(self):
        return []
