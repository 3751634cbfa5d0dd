"""The first step of every lab: name the profile, seed everything, open the claims table.

Introduced in lab 1 (Initialization); every lab starts with::

    profile, claims = nnlab.start_lab("Lab 1 — Initialization")
"""

from __future__ import annotations

from nnlab.claims import Claims
from nnlab.profiles import Profile, get_profile, idle_gpu_note
from nnlab.seeding import ieee_float32, set_seed


def start_lab(title: str, seed: int = 0) -> tuple[Profile, Claims]:
    """Print the profile line the book shows, seed every generator, and return (profile, claims).

    Also asks for full float32 arithmetic on GPUs (:func:`nnlab.seeding.ieee_float32`), so that
    the labs' exact checks hold there as on a CPU.
    """
    profile = get_profile()
    print(profile.describe())  # the book shows which profile produced its numbers
    if note := idle_gpu_note():
        print("note:", note)
    set_seed(seed)
    ieee_float32()
    return profile, Claims(title, profile=profile)
