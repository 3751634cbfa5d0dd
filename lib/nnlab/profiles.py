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

When the variable is unset, nnlab picks ``full`` on a machine with an NVIDIA GPU and
``quick`` otherwise. A lab asks for its knobs with :meth:`Profile.pick`::

    profile = get_profile()
    epochs = profile.pick(smoke=1, quick=5, full=30)
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

PROFILE_NAMES = ("smoke", "quick", "full")


class ProfileError(ValueError):
    """Raised for an unknown ``NNLAB_PROFILE`` value."""


def gpu_available() -> bool:
    """True when an NVIDIA GPU is visible (checked without importing a backend)."""
    return os.path.exists("/dev/nvidiactl") or shutil.which("nvidia-smi") is not None


@dataclass(frozen=True)
class Profile:
    """The active profile. ``chosen_by`` says whether the user or auto-detection set it."""

    name: str
    chosen_by: str = "NNLAB_PROFILE"

    def __post_init__(self) -> None:
        if self.name not in PROFILE_NAMES:
            raise ProfileError(
                f"Unknown profile {self.name!r}. Set NNLAB_PROFILE to one of "
                f"{', '.join(PROFILE_NAMES)} (or unset it: full on a GPU, quick otherwise)."
            )

    def pick(self, *, smoke: T, quick: T, full: T) -> T:
        """Return the value given for this profile."""
        return {"smoke": smoke, "quick": quick, "full": full}[self.name]

    @property
    def is_full(self) -> bool:
        """True in the full profile, the only one where accuracy claims are asserted."""
        return self.name == "full"

    def describe(self) -> str:
        """One line for a lab's first output: profile, backend and device."""
        backend = os.environ.get("KERAS_BACKEND", "tensorflow")
        device = "GPU" if gpu_available() else "CPU"
        return f"nnlab profile: {self.name} (set by {self.chosen_by}) · backend: {backend} · device: {device}"


def get_profile(name: str | None = None) -> Profile:
    """The profile named by ``name``, else ``NNLAB_PROFILE``, else auto (full on a GPU)."""
    if name is not None:
        return Profile(name.strip().lower(), chosen_by="argument")
    value = os.environ.get("NNLAB_PROFILE", "").strip().lower()
    if value:
        return Profile(value)
    return Profile("full" if gpu_available() else "quick", chosen_by="auto-detection")
