"""The first step of every lab: name the profile, seed everything, open the claims table.

Introduced in lab 1 (Initialization); every lab starts with::

    profile, claims = nnlab.start_lab("Lab 1 — Initialization")
"""

from __future__ import annotations

import importlib.util
from typing import Any

from nnlab.claims import Claims, in_notebook
from nnlab.profiles import Profile, backend_mismatch_note, get_profile, idle_gpu_note
from nnlab.seeding import ieee_float32, set_seed


def start_lab(title: str, seed: int = 0) -> tuple[Profile, Claims]:
    """Print the profile line the book shows, seed every generator, and return (profile, claims).

    Also asks for full float32 arithmetic on GPUs (:func:`nnlab.seeding.ieee_float32`), so that
    the labs' exact checks hold there as on a CPU, and, when the lab runs as a plain script,
    lets ``display(frame.style.format(…))`` print the formatted table (:func:`styled_table_text`)
    instead of ``<pandas.io.formats.style.Styler object at 0x…>``.
    """
    profile = get_profile()
    check_tensorboard()
    print(profile.describe())  # the book shows which profile produced its numbers
    for note in (backend_mismatch_note(), idle_gpu_note()):
        if note:
            print("note:", note)
    set_seed(seed)
    ieee_float32()
    if not in_notebook():
        from pandas.io.formats.style import Styler

        Styler.__repr__ = styled_table_text   # a notebook renders a Styler as HTML and never calls this
    return profile, Claims(title, profile=profile)


def _importable(package: str) -> bool:
    """Whether the module ``package`` can be imported (found, not imported). Not
    :func:`nnlab.profiles._installed`, which reads a distribution's version: ``tensorflow-cpu``
    provides the module ``tensorflow``."""
    return importlib.util.find_spec(package) is not None


def check_tensorboard() -> None:
    """Fail at once, before any training, when ``NNLAB_TENSORBOARD`` asks for logs that cannot be
    written: Keras writes them through TensorFlow's ``tf.summary`` (on every backend), which needs
    the ``tensorboard`` package; without it the first epoch would train and then crash."""
    from nnlab.training import tensorboard_dir

    folder = tensorboard_dir()
    if folder is None:
        return
    missing = [name for name in ("tensorflow", "tensorboard") if not _importable(name)]
    if missing:
        raise RuntimeError(
            f"NNLAB_TENSORBOARD is set (logs to {folder}), but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed: Keras writes the logs with "
            "TensorFlow's tf.summary, which needs tensorflow and tensorboard (with any backend). "
            f"Install with `.venv/bin/python -m pip install {' '.join(missing)}`, or unset "
            "NNLAB_TENSORBOARD to train without logs.")


def styled_table_text(styler: Any) -> str:
    """A pandas ``Styler`` as plain aligned text, its number formats applied: the row labels
    left-aligned, every other column right-aligned, two spaces apart."""
    rows = [line.split("\t") for line in styler.to_string(delimiter="\t").splitlines() if line.strip()]
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    return "\n".join("  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                                for i, (cell, width) in enumerate(zip(row, widths))).rstrip() for row in rows)
