"""Profiles: one code path for tests, a CPU book build and a GPU reproduction.

Introduced in lab 1 (Initialization) and used by every lab.

``NNLAB_PROFILE`` picks how much data and how many epochs an experiment uses:

========  ==========================================  =====================================
profile   for                                         scale
========  ==========================================  =====================================
smoke     tests (nbval)                               tiny subsets, one epoch: structure only
quick     building the book on a CPU                  minutes per lab; meaningful numbers
full      a GPU                                       the real experiment; beats the reports
========  ==========================================  =====================================

A fourth, ``rehearsal``, is for the people who maintain the labs, not for readers: the full
profile's *structure* at the smoke profile's *sizes* (:meth:`Profile.pick`). Every variant,
model family and claim of the full profile runs — code that only the full profile reaches
fails in minutes on a CPU instead of on a scarce GPU — but on tiny data for one epoch, so its
accuracy claims are not asserted (``is_full`` is False) and its numbers mean nothing.

When the variable is unset, nnlab picks ``full`` on a machine with an NVIDIA GPU that the
Keras backend can use (:func:`gpu_available`) and ``quick`` otherwise. A lab asks for its
knobs with :meth:`Profile.pick`::

    profile = get_profile()
    epochs = profile.pick(smoke=1, quick=5, full=30)
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import TypeVar

from nnlab._environment import requested_backend

T = TypeVar("T")

PROFILE_NAMES = ("smoke", "quick", "full")
REHEARSAL = "rehearsal"   # for maintainers, so left out of the error messages that list the profiles


class ProfileError(ValueError):
    """Raised for an unknown ``NNLAB_PROFILE`` value."""


def nvidia_gpu_visible() -> bool:
    """True when the machine shows an NVIDIA GPU (its driver's device file or ``nvidia-smi``)."""
    return os.path.exists("/dev/nvidiactl") or shutil.which("nvidia-smi") is not None


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=None)
def backend_can_use_cuda(backend: str) -> bool:
    """Whether the installed build of ``backend`` has NVIDIA GPU support.

    Read from the installed packages, without importing the backend or starting a GPU:
    ``tensorflow-cpu`` (what ``requirements.txt`` installs on x86-64) has no GPU kernels,
    while ``tensorflow`` may; JAX needs a CUDA plugin (``pip install "jax[cuda12]"``) or a
    CUDA build of jaxlib; a PyTorch wheel tagged ``+cpu`` has no CUDA.
    """
    if backend == "tensorflow":
        return _installed("tensorflow") is not None
    if backend == "jax":
        plugins = {(d.metadata["Name"] or "").lower().replace("_", "-") for d in metadata.distributions()}
        return any(name.startswith("jax-cuda") for name in plugins) or "cuda" in (_installed("jaxlib") or "")
    if backend == "torch":
        version = _installed("torch")
        return version is not None and "+cpu" not in version
    return False


def gpu_available() -> bool:
    """True when nnlab runs on an NVIDIA GPU: one is visible and the Keras backend can use it.

    ``NNLAB_GPU=1`` or ``0`` says so explicitly instead (the GPU run's script sets 1). With a GPU
    but a CPU-only backend — the default install — nnlab takes its CPU paths (quick profile,
    float32) instead of running the full profile slowly on the CPU.
    """
    forced = os.environ.get("NNLAB_GPU", "").strip()
    if forced:
        if forced not in ("0", "1"):
            raise ProfileError(f"NNLAB_GPU={forced!r}: use 1 (take the GPU code paths), 0 (the CPU ones), "
                               "or unset it to detect the GPU.")
        return forced == "1"
    return nvidia_gpu_visible() and backend_can_use_cuda(keras_backend())


def loaded_backend() -> str | None:
    """The backend of the Keras already imported in this process, or None before Keras is imported.

    Keras chooses its backend once, when it is first imported; setting ``KERAS_BACKEND`` later
    (in a notebook cell, say) changes nothing until the process restarts.
    """
    keras = sys.modules.get("keras")
    try:
        return str(keras.backend.backend()) if keras is not None else None
    except AttributeError:   # Keras half-way through its own import
        return None


def keras_backend() -> str:
    """The backend Keras uses: the loaded one once Keras is imported, else the one it will load
    (``KERAS_BACKEND``, else ``keras.json``'s, else TensorFlow)."""
    return loaded_backend() or requested_backend()[0]


def backend_mismatch_note() -> str:
    """A hint when ``KERAS_BACKEND`` (or ``keras.json``) asks for another backend than the Keras
    already loaded in this process uses; "" otherwise."""
    loaded = loaded_backend()
    wanted, origin = requested_backend()
    if loaded is None or loaded == wanted:
        return ""
    return (f"{origin} asks for {wanted}, but Keras was already imported with {loaded} in this process "
            f"(by an earlier cell or script line, or, for TensorFlow, by nnlab's Jupyter kernel at start-up), "
            f"so this lab runs on {loaded}. "
            f"Keras picks its backend once per process: set the variable before starting Jupyter or Python, "
            f"e.g. `KERAS_BACKEND={wanted} make lab`.")


def idle_gpu_note() -> str:
    """A hint when an NVIDIA GPU is visible but the backend cannot use it; "" otherwise."""
    if os.environ.get("NNLAB_GPU", "").strip() or not nvidia_gpu_visible() or backend_can_use_cuda(keras_backend()):
        return ""
    return (f"an NVIDIA GPU is visible, but the installed {keras_backend()} backend has no GPU support, so nnlab runs "
            "on the CPU (see the book's set-up page to use the GPU)")


@dataclass(frozen=True)
class Profile:
    """The active profile. ``chosen_by`` says whether the user or auto-detection set it."""

    name: str
    chosen_by: str = "NNLAB_PROFILE"

    def __post_init__(self) -> None:
        if self.name not in (*PROFILE_NAMES, REHEARSAL):
            if self.chosen_by == "NNLAB_PROFILE":
                fix = "Set NNLAB_PROFILE to one of {} (or unset it: full on a GPU, quick otherwise)."
            else:
                fix = "Ask for one of {} (for the command line: --profile quick, say)."
            raise ProfileError(f"Unknown profile {self.name!r}. " + fix.format(", ".join(PROFILE_NAMES)))

    def pick(self, *, smoke: T, quick: T, full: T) -> T:
        """Return the value given for this profile; in the rehearsal, :func:`rehearsal_value`."""
        if self.name == REHEARSAL:
            return rehearsal_value(smoke, full)
        return {"smoke": smoke, "quick": quick, "full": full}[self.name]

    @property
    def is_full(self) -> bool:
        """True in the full profile, the only one where accuracy claims are asserted."""
        return self.name == "full"

    def describe(self) -> str:
        """One line for a lab's first output: profile, backend and device."""
        device = "GPU" if gpu_available() else "CPU"
        return f"nnlab profile: {self.name} (set by {self.chosen_by}) · backend: {keras_backend()} · device: {device}"


def rehearsal_value(smoke: T, full: T) -> T:
    """The rehearsal profile's pick: the full profile's structure at the smoke profile's sizes.

    A list or tuple is a choice of *what* runs (the variants of a sweep, the model families, the
    widths of a network), so the full profile's is taken; anything else — a number of images or
    epochs, ``None`` for "all the data", a string — is a size, so the smoke profile's is taken. A
    dict (any mapping) is merged key by key by the same rule, with the full profile's keys: a key
    the smoke one lacks, such as lab 5c's ``cutout``, keeps the full value.
    """
    if isinstance(full, (list, tuple)):
        return full
    if isinstance(full, Mapping) and isinstance(smoke, Mapping):
        return {key: rehearsal_value(smoke.get(key, value), value) for key, value in full.items()}  # type: ignore[return-value]
    return smoke


def get_profile(name: str | None = None) -> Profile:
    """The profile named by ``name``, else ``NNLAB_PROFILE``, else auto (full on a GPU)."""
    if name is not None:
        return Profile(name.strip().lower(), chosen_by="argument")
    value = os.environ.get("NNLAB_PROFILE", "").strip().lower()
    if value:
        return Profile(value)
    return Profile("full" if gpu_available() else "quick", chosen_by="auto-detection")
