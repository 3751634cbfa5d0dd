"""Analog clock images, the common-sense time error, and label encodings.

Introduced in lab 6 (Tell the time).

The generator
-------------
Every clock is drawn in its own *clock frame*: the centre is the origin, the
dial has radius 1, and a hand at clock angle ``a`` (radians, clockwise from
12) points along ``(sin a, -cos a)`` (image ``y`` grows downwards).  Each
part -- dial ring, ticks, 12 o'clock marker, hands, hub -- is a *distance
field*: for every pixel, how far it is from the part.  A pixel's ink is

    ink = clip(0.5 + (half_width - distance) / softness, 0, 1)

which antialiases the edge over ``softness`` pixels (``softness`` = 1 px is
plain antialiasing, larger values blur).  The parts are combined with a
pixel-wise maximum, background clutter is drawn the same way in image
coordinates, and the ink is composited on paper:

    pixel = paper * (1 - ink) + noise          (0 = black, 1 = white)

All of this is numpy over a chunk of clocks at once (``(chunk, size, size)``
arrays; small chunks stay in the CPU cache and bound the memory), with the
chunks spread over a few threads.

Angles: the hour hand sits at ``(hour + minute / 60) / 12`` of a turn, the
minute hand at ``minute / 60`` of a turn, and the whole clock may be
rotated (so 12 is not up); the 12 o'clock marker turns with it, so a rotated
clock can still be read.

Labels
------
Times are ``(hour, minute)`` pairs with ``hour`` in 0..11 (12 o'clock is 0)
and ``minute`` in 0..59, or a single number of minutes past 12 in 0..719
(:func:`to_minutes`, :func:`from_minutes`).  The common-sense error is the
distance on the 720-minute circle (:func:`common_sense_error`): 11:50 and
0:10 are 20 minutes apart, and no two times are more than 360 minutes apart.

The encoders turn times into targets for the five model families of the
lab (regression, 24 classes, 720 classes, multi-head, periodic: see
:data:`nnlab.clock_models.FAMILIES`) and the decoders turn a model's
outputs back into minutes.
"""

from __future__ import annotations

import dataclasses
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MINUTES_PER_DIAL",
    "ClockStyle",
    "PRESETS",
    "make_clocks",
    "draw_clocks",
    "benchmark",
    "to_minutes",
    "from_minutes",
    "format_time",
    "wrap",
    "mirror_minutes",
    "common_sense_error",
    "encode_regression",
    "decode_regression",
    "encode_half_hours",
    "decode_half_hours",
    "encode_minute_classes",
    "decode_minute_classes",
    "encode_multi_head",
    "decode_multi_head",
    "encode_periodic",
    "decode_periodic",
    "encode_hands_periodic",
    "decode_hands_periodic",
    "combine_hour_and_minute",
    "encode_report_cos",
    "common_sense_loss",
    "common_sense_mae",
    "periodic_common_sense_mae",
]

MINUTES_PER_DIAL = 720
"""Minutes once round a 12-hour dial."""

_CHUNK = 8  # clocks rendered together: (8, 150, 150) float32 arrays (0.7 MB) stay in cache
_RING_WIDTH = 0.035  # dial ring and tick widths, in dial radii
_TICK_WIDTH = 0.03
_HUB_RADIUS = 0.07


# --------------------------------------------------------------------------
# Style
# --------------------------------------------------------------------------

Range = tuple[float, float]


@dataclass(frozen=True)
class ClockStyle:
    """The knobs of the clock generator.

    Lengths and widths are in dial radii (the dial has radius 1), so a style
    looks the same at any image size.  Fields that are ranges ``(low, high)``
    are drawn uniformly per clock; a single number means a fixed value.

    Introduced in lab 6 (Tell the time).

    Attributes:
        dial: ``"circle"`` draws the dial outline, ``"none"`` leaves it out.
        ticks: 0 (no tick marks), 12 (hours) or 60 (minutes, every fifth long).
        marker_12: draw a triangle at 12 o'clock (it turns with the clock;
            without it a rotated clock cannot be read).
        hour_length, hour_width: hour hand, in dial radii.
        minute_length, minute_width: minute hand, in dial radii.
        length_jitter: each hand's length is scaled by ``1 ± length_jitter``
            (per clock), so hand lengths alone do not tell the hands apart.
        tail: how far the hands overhang behind the centre, in dial radii.
        rotation: the whole clock turns by up to ``± rotation`` degrees
            (180 = any orientation).
        scale: dial radius as a fraction of half the image size.
        shift: the centre moves by up to this fraction of the free margin
            (0 = centred; 1 = the dial may touch the border).
        blur: edge softness in pixels: 1 is crisp antialiasing, more looks
            blurred (a cheap stand-in for a Gaussian blur).
        noise: standard deviation of the pixel noise (uniform, pixel scale 0..1).
        paper: brightness of the background, 0..1 (ink is black).
        clutter: number of distractor strokes and blobs per image (drawn
            anywhere, over the clock too).
        clutter_ink: how dark the clutter is, 0..1 (hands are 1).
    """

    dial: str = "circle"
    ticks: int = 12
    marker_12: bool = True
    hour_length: float = 0.5
    hour_width: float = 0.1
    minute_length: float = 0.85
    minute_width: float = 0.05
    length_jitter: float = 0.0
    tail: float = 0.0
    rotation: float = 0.0
    scale: Range = (0.9, 0.9)
    shift: float = 0.0
    blur: Range = (1.0, 1.0)
    noise: Range = (0.0, 0.0)
    paper: Range = (1.0, 1.0)
    clutter: int = 0
    clutter_ink: Range = (0.3, 0.6)

    def __post_init__(self) -> None:
        for name in ("scale", "blur", "noise", "paper", "clutter_ink"):
            value = getattr(self, name)
            low, high = (value, value) if np.isscalar(value) else value
            if not 0 <= low <= high:
                raise ValueError(f"ClockStyle.{name} must be 0 <= low <= high, got {value!r}")
            object.__setattr__(self, name, (float(low), float(high)))
        if self.dial not in ("circle", "none"):
            raise ValueError(f"ClockStyle.dial must be 'circle' or 'none', got {self.dial!r}")
        if self.ticks not in (0, 12, 60):
            raise ValueError(f"ClockStyle.ticks must be 0, 12 or 60, got {self.ticks!r}")
        if self.scale[0] <= 0:
            raise ValueError(f"ClockStyle.scale must be above 0 (the dial's share of the image), got {self.scale!r}")
        for name in ("hour_length", "hour_width", "minute_length", "minute_width"):
            if not getattr(self, name) > 0:
                raise ValueError(f"ClockStyle.{name} must be above 0 (in dial radii), got {getattr(self, name)!r}")
        if self.blur[0] < 0.5:
            raise ValueError(f"ClockStyle.blur must be at least 0.5 pixels, got {self.blur!r}")
        if not 0 <= self.shift <= 1:
            raise ValueError(f"ClockStyle.shift must be in [0, 1], got {self.shift!r}")
        if not 0 <= self.length_jitter < 1:
            raise ValueError(f"ClockStyle.length_jitter must be in [0, 1), got {self.length_jitter!r}")
        for name in ("paper", "clutter_ink"):
            if getattr(self, name)[1] > 1:
                raise ValueError(f"ClockStyle.{name} is a brightness, 0..1, got {getattr(self, name)!r}")
        if not 0 <= self.rotation <= 180:
            raise ValueError(f"ClockStyle.rotation must be in [0, 180] degrees (180: any orientation), "
                             f"got {self.rotation!r}")
        if not self.tail >= 0:
            raise ValueError(f"ClockStyle.tail must be >= 0 (in dial radii), got {self.tail!r}")
        if isinstance(self.clutter, bool) or not isinstance(self.clutter, (int, np.integer)) or self.clutter < 0:
            raise ValueError(f"ClockStyle.clutter must be a whole number of strokes >= 0, got {self.clutter!r}")

    def replace(self, **changes: Any) -> "ClockStyle":
        """A copy with some knobs changed; unknown knob names raise ValueError."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown ClockStyle knob(s) {unknown}; known: {sorted(known)}")
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, ClockStyle] = {
    # A plain wall clock: upright, 12 ticks, short fat hour hand. Its size, position, hand
    # lengths, edge softness and noise vary a little, so no two easy clocks are the same image:
    # with one image per time (ClockStyle() has no random knobs) there are only 720 images, every
    # test clock would be a copy of a training clock, and a lookup table would score perfectly.
    "easy": ClockStyle(
        length_jitter=0.05,
        scale=(0.8, 0.95),
        shift=0.3,
        blur=(1.0, 1.3),
        noise=(0.0, 0.02),
    ),
    # Some of everything, mildly.
    "medium": ClockStyle(
        ticks=60,
        hour_length=0.55,
        hour_width=0.09,
        minute_length=0.85,
        minute_width=0.05,
        length_jitter=0.05,
        tail=0.1,
        rotation=30,
        scale=(0.7, 0.95),
        shift=0.5,
        blur=(1.0, 1.6),
        noise=(0.0, 0.05),
        paper=(0.8, 1.0),
        clutter=1,
    ),
    # No ticks, no dial, turned up to 90 degrees either way, moved and scaled,
    # blur, noise and distractor strokes.  A person can still read it (the
    # hour hand is shorter and thicker, the 12 marker shows which way is up)
    # and so can a CNN: a first version allowed any orientation, hands of
    # nearly equal length and darker clutter, and small CNNs learned nothing
    # from 10,000 such clocks (error at chance, 180 minutes; lab 6).
    "hard": ClockStyle(
        dial="none",
        ticks=0,
        hour_length=0.55,
        hour_width=0.1,
        minute_length=0.9,
        minute_width=0.045,
        length_jitter=0.08,
        tail=0.12,
        rotation=90,
        scale=(0.6, 0.95),
        shift=0.6,
        blur=(1.0, 2.0),
        noise=(0.02, 0.08),
        paper=(0.7, 1.0),
        clutter=2,
        clutter_ink=(0.2, 0.45),
    ),
}
"""Named styles for :func:`make_clocks`: ``"easy"``, ``"medium"``, ``"hard"``."""


def _resolve_style(style: ClockStyle | str | None, overrides: dict[str, Any]) -> ClockStyle:
    if style is None:
        style = "easy"
    if isinstance(style, str):
        if style not in PRESETS:
            raise ValueError(f"unknown clock preset {style!r}; choose one of {sorted(PRESETS)}")
        style = PRESETS[style]
    if not isinstance(style, ClockStyle):
        raise ValueError(f"style must be a ClockStyle or a preset name, got {type(style).__name__}")
    return style.replace(**overrides) if overrides else style


# --------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------


def make_clocks(
    n: int,
    *,
    size: int = 150,
    preset: str | ClockStyle = "easy",
    seed: int = 0,
    **overrides: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` analog clocks showing random times.

    Times are uniform over the 720 minutes of the dial.  The same ``seed``
    gives the same images and times.

    Introduced in lab 6 (Tell the time).

    Args:
        n: number of clocks (0 or more).
        size: image height and width in pixels.
        preset: a name from :data:`PRESETS` or a :class:`ClockStyle`.
        seed: random seed.
        **overrides: :class:`ClockStyle` knobs to change, e.g. ``rotation=90``.

    Returns:
        ``(images, times)``: images ``(n, size, size)`` uint8 grayscale with
        0 = black ink and 255 = white paper (use ``images[..., None] / 255``
        as network input), and times ``(n, 2)`` int64 of ``(hour, minute)``
        with hour in 0..11 and minute in 0..59.

    Example:
        >>> images, times = make_clocks(4, preset="hard", seed=1)
        >>> images.shape, images.dtype, times.shape
        ((4, 150, 150), dtype('uint8'), (4, 2))
    """
    n = _check_count(n)
    style = _resolve_style(preset, overrides)
    seeds = np.random.SeedSequence(seed).spawn(2)
    total = np.random.default_rng(seeds[0]).integers(0, MINUTES_PER_DIAL, size=n)
    times = np.stack(divmod(total, 60), axis=1).astype(np.int64)
    images = _draw(times[:, 0], times[:, 1], style, size, seeds[1])
    return images, times


def draw_clocks(
    hours: Any,
    minutes: Any,
    style: ClockStyle | str = "easy",
    size: int = 150,
    seed: int = 0,
) -> np.ndarray:
    """Draw clocks showing given times.

    Introduced in lab 6 (Tell the time).

    Args:
        hours: hours, any integers (taken modulo 12), shape ``(n,)``.
        minutes: minutes in 0..59, shape ``(n,)``.
        style: a :class:`ClockStyle` or a preset name.
        size: image height and width in pixels.
        seed: random seed for the style's random knobs and the noise.

    Returns:
        ``(n, size, size)`` uint8 images, as in :func:`make_clocks`.
    """
    hours = np.atleast_1d(np.asarray(hours))
    minutes = np.atleast_1d(np.asarray(minutes))
    if hours.shape != minutes.shape or hours.ndim != 1:
        raise ValueError(
            f"hours and minutes must be 1-D and the same length, got {hours.shape} and {minutes.shape}"
        )
    if np.any((minutes < 0) | (minutes >= 60)):
        raise ValueError("minutes must be in 0..59")
    style = _resolve_style(style, {})
    return _draw(hours % 12, minutes, style, size, np.random.SeedSequence(seed))


def _check_count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


def _draw(
    hours: np.ndarray,
    minutes: np.ndarray,
    style: ClockStyle,
    size: int,
    seed: np.random.SeedSequence,
) -> np.ndarray:
    """Draw the per-clock random choices, then render chunk by chunk."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
    n = len(hours)
    params_seed, noise_seed = seed.spawn(2)
    params = _random_params(hours, minutes, style, size, np.random.default_rng(params_seed))
    images = np.empty((n, size, size), dtype=np.uint8)
    starts = range(0, n, _CHUNK)
    # One generator per chunk: the result does not depend on thread timing.
    noise_seeds = noise_seed.spawn(len(starts))

    def render(i: int) -> None:
        chunk = slice(starts[i], starts[i] + _CHUNK)
        rng = np.random.default_rng(noise_seeds[i])
        images[chunk] = _render({k: v[chunk] for k, v in params.items()}, style, size, rng)

    workers = min(len(starts), os.cpu_count() or 1, 8)
    if workers <= 1:
        for i in range(len(starts)):
            render(i)
    else:  # numpy releases the GIL in its loops, so threads do run in parallel
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(render, range(len(starts))))
    return images


def _random_params(
    hours: np.ndarray,
    minutes: np.ndarray,
    style: ClockStyle,
    size: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Everything random about each clock except the pixel noise, as arrays of length n."""
    n = len(hours)

    def uniform(bounds: Range, shape: Any = n) -> np.ndarray:
        return rng.uniform(bounds[0], bounds[1], size=shape)

    half = size / 2
    radius = uniform(style.scale) * half  # dial radius in pixels
    margin = np.maximum(half - radius, 0.0) * style.shift
    rotation = np.deg2rad(uniform((-style.rotation, style.rotation)))
    jitter = (-style.length_jitter, style.length_jitter)
    # Clutter strokes, in pixels: start point, direction, length and width.
    # A blob is a stroke of length zero (a disc), drawn wider.
    k = style.clutter
    blob = rng.random((n, k)) < 0.3
    return {
        "hour_angle": 2 * np.pi * (hours + minutes / 60) / 12 + rotation,
        "minute_angle": 2 * np.pi * minutes / 60 + rotation,
        "rotation": rotation,
        "hour_length": style.hour_length * (1 + uniform(jitter)),
        "minute_length": style.minute_length * (1 + uniform(jitter)),
        "radius": radius,
        "cx": uniform((-1, 1)) * margin,
        "cy": uniform((-1, 1)) * margin,
        "blur": uniform(style.blur),
        "noise": uniform(style.noise),
        "paper": uniform(style.paper),
        "clutter_x": rng.uniform(-half, half, size=(n, k)),
        "clutter_y": rng.uniform(-half, half, size=(n, k)),
        "clutter_angle": rng.uniform(0, 2 * np.pi, size=(n, k)),
        "clutter_length": np.where(blob, 0.0, rng.uniform(0.2, 1.0, size=(n, k)) * size),
        "clutter_width": rng.uniform(0.01, 0.04, size=(n, k)) * size * np.where(blob, 3.0, 1.0),
        "clutter_ink": uniform(style.clutter_ink, (n, k)),
    }


def _render(p: dict[str, np.ndarray], style: ClockStyle, size: int, rng: np.random.Generator) -> np.ndarray:
    """Render one chunk of clocks (``p`` holds one value per clock) to uint8 images."""

    def col(values: np.ndarray) -> np.ndarray:  # (b,) -> (b, 1, 1) float32, to broadcast over pixels
        return np.asarray(values, dtype=np.float32)[:, None, None]

    pixels = np.arange(size, dtype=np.float32) - (size - 1) / 2  # pixel centres, from the image centre
    x, y = pixels[None, None, :], pixels[None, :, None]
    px_blur = col(p["blur"])

    # The clock frame: u, v in dial radii, shapes (b, 1, size) and (b, size, 1);
    # broadcasting makes full (b, size, size) fields only where needed.
    radius = col(p["radius"])
    u = (x - col(p["cx"])) / radius
    v = (y - col(p["cy"])) / radius
    blur = px_blur / radius  # edge softness in dial radii
    r = np.sqrt(u * u + v * v)
    rotation = col(p["rotation"])

    total = _ink(r, _HUB_RADIUS, blur)
    for angle, length, width in [
        (p["hour_angle"], p["hour_length"], style.hour_width),
        (p["minute_angle"], p["minute_length"], style.minute_width),
    ]:
        hand = _stroke_distance(u, v, col(angle), -style.tail, col(length))
        np.maximum(total, _ink(hand, width / 2, blur), out=total)
    if style.dial == "circle":
        np.maximum(total, _ink(np.abs(r - 1), _RING_WIDTH / 2, blur), out=total)
    if style.ticks:  # hour ticks; on a 60-tick dial, shorter minute ticks too
        angle = np.arctan2(u, -v) - rotation  # each pixel's clock angle
        ticks = _tick_distance(angle, r, 12, inner=0.85 if style.ticks == 12 else 0.8)
        if style.ticks == 60:
            np.minimum(ticks, _tick_distance(angle, r, 60, inner=0.89), out=ticks)
        np.maximum(total, _ink(ticks, _TICK_WIDTH / 2, blur), out=total)
    if style.marker_12:
        np.maximum(total, _ink(_marker_distance(u, v, rotation), 0.0, blur), out=total)

    for k in range(style.clutter):  # in pixels, centred on the image
        stroke = _stroke_distance(
            x - col(p["clutter_x"][:, k]),
            y - col(p["clutter_y"][:, k]),
            col(p["clutter_angle"][:, k]),
            0.0,
            col(p["clutter_length"][:, k]),
        )
        level = _ink(stroke, col(p["clutter_width"][:, k]) / 2, px_blur)
        level *= col(p["clutter_ink"][:, k])
        np.maximum(total, level, out=total)

    paper = col(p["paper"])
    image = paper - paper * total
    if style.noise[1] > 0:  # uniform noise of standard deviation `noise` (cheaper than Gaussian)
        noise = rng.random(image.shape, dtype=np.float32)
        noise -= 0.5
        noise *= col(p["noise"]) * np.float32(np.sqrt(12))
        image += noise
    image *= 255
    image += 0.5
    return np.clip(image, 0, 255, out=image).astype(np.uint8)


def _ink(distance: np.ndarray, half_width: Any, softness: Any) -> np.ndarray:
    """Antialiased ink, 0..1, of a part whose middle is ``distance`` away: 1 well
    inside ``half_width``, 0 well outside, a linear ramp ``softness`` wide at the edge."""
    out = half_width - distance
    out /= softness
    out += 0.5
    return np.clip(out, 0, 1, out=out)


def _stroke_distance(u, v, angle, start, end) -> np.ndarray:
    """Distance from each point ``(u, v)`` to a round-capped stroke that runs from
    ``start`` to ``end`` along clock angle ``angle`` (clockwise from 12, so
    direction ``(sin, -cos)``) from the origin.  ``start`` < 0 makes a tail."""
    along = u * np.sin(angle) - v * np.cos(angle)  # position along the stroke's line
    across = u * np.cos(angle) + v * np.sin(angle)  # signed distance from that line
    beyond = along - np.clip(along, start, end)  # how far past either end
    return np.sqrt(across * across + beyond * beyond)


def _tick_distance(angle, r, ticks: int, inner: float, outer: float = 0.95) -> np.ndarray:
    """Distance to the nearest of ``ticks`` evenly spaced radial tick marks that run
    from ``inner`` to ``outer``.  ``angle`` is each pixel's clock angle.  Near a
    tick the direction is almost radial, so the distance across the tick is
    taken as ``r * (angle to the tick)``."""
    step = 2 * np.pi / ticks
    offset = angle - np.rint(angle / step) * step  # angle to the nearest tick
    radial = r - np.clip(r, inner, outer)  # how far inside or outside the tick's ends
    return np.sqrt(np.square(r * offset) + radial * radial)


def _marker_distance(u, v, rotation) -> np.ndarray:
    """Signed (approximate) distance to the 12 o'clock marker: a triangle with its
    base on the rim (0.95) and its tip pointing at the centre (0.72)."""
    along = u * np.sin(rotation) - v * np.cos(rotation)
    across = np.abs(u * np.cos(rotation) + v * np.sin(rotation))
    tip, base, half_base = 0.72, 0.95, 0.09
    side = across - half_base * (along - tip) / (base - tip)  # > 0 outside the slanted sides
    return np.maximum(np.maximum(tip - along, along - base), side * 0.93)


def benchmark(n: int = 2000, *, preset: str = "easy", size: int = 150) -> float:
    """Generate ``n`` clocks and return the speed in images per second.

    Introduced in lab 6 (Tell the time).
    """
    start = time.perf_counter()
    make_clocks(n, size=size, preset=preset, seed=0)
    return n / (time.perf_counter() - start)


# --------------------------------------------------------------------------
# Times and the common-sense error (numpy)
# --------------------------------------------------------------------------


def to_minutes(hours: Any, minutes: Any) -> np.ndarray:
    """Minutes past 12 o'clock, 0..719: ``(hours % 12) * 60 + minutes``.

    Introduced in lab 6 (Tell the time).
    """
    return (np.asarray(hours) % 12) * 60 + np.asarray(minutes)


def from_minutes(total: Any) -> tuple[np.ndarray, np.ndarray]:
    """Hours (0..11) and minutes (0..59) from minutes past 12.

    Non-integer values are rounded to the nearest minute and any value is
    wrapped onto the dial first, so ``from_minutes(-10)`` is 11:50.

    Introduced in lab 6 (Tell the time).
    """
    wrapped = np.rint(np.asarray(total)).astype(np.int64) % MINUTES_PER_DIAL
    return wrapped // 60, wrapped % 60


def format_time(hours: int, minutes: int) -> str:
    """``"h:mm"`` with 12 for hour 0, as on a clock: ``format_time(0, 5) == "12:05"``.

    Introduced in lab 6 (Tell the time).
    """
    return f"{int(hours) % 12 or 12}:{int(minutes):02d}"


def wrap(values: Any, period: float = MINUTES_PER_DIAL) -> np.ndarray:
    """``values`` modulo ``period`` as floats in ``[0, period)``.

    ``np.mod`` alone can return ``period`` itself: ``np.mod(-1e-14, 720)`` rounds
    to 720.0, a reading of "12:00" that is not on the dial's 0..719.99 scale.

    Introduced in lab 6 (Tell the time).
    """
    wrapped = np.mod(np.asarray(values, dtype=np.float64), period)
    return np.where(wrapped >= period, 0.0, wrapped)


def mirror_minutes(total: Any) -> np.ndarray:
    """The time a clock shows in a mirror: ``(720 - t) % 720`` (3:00 becomes 9:00, 1:10 becomes 10:50).

    Flipping a clock image left to right turns every hand angle ``a`` into
    ``-a``, which is the clock of this time (the 12 marker stays where it is).

    Introduced in lab 6 (Tell the time).
    """
    return np.mod(MINUTES_PER_DIAL - np.asarray(total), MINUTES_PER_DIAL)


def common_sense_error(true_minutes: Any, pred_minutes: Any) -> np.ndarray:
    """Minutes between two times on a 12-hour dial (the shorter way round).

    Works element-wise on arrays of minutes past 12 (integers or floats,
    any real numbers).  The result is in 0..360.  Example: 11:50 (710) and
    0:10 (10) are 20 minutes apart, not 700.

    Introduced in lab 6 (Tell the time).
    """
    gap = np.abs(np.asarray(true_minutes) - np.asarray(pred_minutes)) % MINUTES_PER_DIAL
    return np.minimum(gap, MINUTES_PER_DIAL - gap)


# --------------------------------------------------------------------------
# Encoders and decoders for the five model families (nnlab.clock_models.FAMILIES)
# --------------------------------------------------------------------------


def encode_regression(hours: Any, minutes: Any) -> np.ndarray:
    """Regression target: minutes past 12 as float32, ``(n,)``.

    Train with :func:`common_sense_loss`; a plain MSE would call 11:59 and
    0:00 719 minutes apart.

    Introduced in lab 6 (Tell the time).
    """
    return to_minutes(hours, minutes).astype(np.float32)


def decode_regression(pred: Any) -> np.ndarray:
    """Minutes past 12 from a regression output (wrapped onto 0..720).

    Introduced in lab 6 (Tell the time).
    """
    return wrap(np.asarray(pred, dtype=np.float64).reshape(-1))


def encode_half_hours(hours: Any, minutes: Any) -> np.ndarray:
    """Class 0..23: which half hour the time falls in (0 = 12:00-12:29).

    Introduced in lab 6 (Tell the time).
    """
    return to_minutes(hours, minutes) // 30


def decode_half_hours(classes: Any) -> np.ndarray:
    """Minutes past 12 at the middle of each half-hour class (class 0 -> 15).

    The middle of the bin is the guess with the smallest worst-case error
    (15 minutes) when the class is right.

    Introduced in lab 6 (Tell the time).
    """
    return np.asarray(classes) * 30 + 15


def encode_minute_classes(hours: Any, minutes: Any) -> np.ndarray:
    """Class 0..719: one class per minute of the dial (the same as :func:`to_minutes`).

    Introduced in lab 6 (Tell the time).
    """
    return to_minutes(hours, minutes)


def decode_minute_classes(classes: Any) -> np.ndarray:
    """Minutes past 12 from a 720-class label (the identity, for symmetry).

    Introduced in lab 6 (Tell the time).
    """
    return np.asarray(classes)


def encode_multi_head(hours: Any, minutes: Any) -> tuple[np.ndarray, np.ndarray]:
    """Targets for a two-headed model: hour class 0..11, and minute / 60 in [0, 1).

    Introduced in lab 6 (Tell the time).
    """
    return np.asarray(hours) % 12, (np.asarray(minutes) / 60).astype(np.float32)


def decode_multi_head(hour_classes: Any, minute_fraction: Any) -> np.ndarray:
    """Minutes past 12 from an hour class and a minute head output (fraction of an hour).

    The minute output is read as it stands, as an offset from the start of the
    hour class: with hour class 3, a minute head that says -0.01 reads 2:59.4
    and one that says 1.02 reads 4:01.2.  Its target lies in [0, 1), but near
    the full hour a trained head lands a hair outside that range; reading it
    modulo 1 instead would turn 3:00 minus a few seconds into 3:59 — an hour
    off with both heads nearly right.  The result is on the dial, in [0, 720).

    Introduced in lab 6 (Tell the time).
    """
    fraction = np.asarray(minute_fraction, dtype=np.float64).reshape(-1)
    return wrap(np.asarray(hour_classes).reshape(-1) * 60 + fraction * 60)


def encode_periodic(hours: Any, minutes: Any) -> np.ndarray:
    """``(n, 2)`` float32 of ``(sin, cos)`` of the hour hand's angle.

    The angle is ``2 pi * minutes_past_12 / 720`` (clockwise from 12).  Both
    numbers are needed: ``cos`` alone gives the same value for 3:00 and
    9:00, and a single ``cos(pi * t / 720)`` runs from 1 at 12:00 to -1 just
    before the next 12:00, so times a minute apart get opposite targets.

    Introduced in lab 6 (Tell the time).
    """
    angle = 2 * np.pi * to_minutes(hours, minutes) / MINUTES_PER_DIAL
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1).astype(np.float32)


def decode_periodic(sin_cos: Any) -> np.ndarray:
    """Minutes past 12 (float, 0..720) from ``(n, 2)`` ``(sin, cos)`` outputs.

    The outputs need not lie on the unit circle; only their direction counts.

    Introduced in lab 6 (Tell the time).
    """
    sin_cos = np.asarray(sin_cos, dtype=np.float64).reshape(-1, 2)
    angle = np.arctan2(sin_cos[:, 0], sin_cos[:, 1])
    return wrap(angle / (2 * np.pi) * MINUTES_PER_DIAL)


def combine_hour_and_minute(coarse: Any, minute: Any) -> np.ndarray:
    """Minutes past 12 from a coarse reading of the whole time and a precise minute.

    The minute (0..60, from the minute hand) fixes the time up to a whole
    hour; the hour is the one that puts the result nearest ``coarse`` (minutes
    past 12, e.g. read from the hour hand).  The coarse reading only has to be
    right to within 30 minutes, and 2:59 can never be read as 3:59 (the hour
    is chosen *with* the minute).

    Introduced in lab 6 (Tell the time).
    """
    coarse = np.asarray(coarse, dtype=np.float64).reshape(-1)
    minute = wrap(np.asarray(minute, dtype=np.float64).reshape(-1), 60.0)
    hour = np.rint((coarse - minute) / 60.0)
    return wrap(hour * 60.0 + minute)


def encode_hands_periodic(hours: Any, minutes: Any) -> np.ndarray:
    """``(n, 4)`` float32: ``(sin, cos)`` of the hour hand's angle, then of the minute hand's.

    The two-hand version of :func:`encode_periodic`: the hour pair turns once
    in 12 hours, the minute pair once an hour, so both targets move smoothly
    with the hands and come back to where they started.

    Introduced in lab 6 (Tell the time).
    """
    total = to_minutes(hours, minutes)
    hour_angle = 2 * np.pi * total / MINUTES_PER_DIAL
    minute_angle = 2 * np.pi * np.asarray(minutes) / 60
    return np.stack(
        [np.sin(hour_angle), np.cos(hour_angle), np.sin(minute_angle), np.cos(minute_angle)], axis=-1
    ).astype(np.float32)


def decode_hands_periodic(outputs: Any) -> np.ndarray:
    """Minutes past 12 from ``(n, 4)`` outputs of :func:`encode_hands_periodic` form.

    The minute comes from the minute pair; the hour pair only has to pick
    the hour (:func:`combine_hour_and_minute`).

    Introduced in lab 6 (Tell the time).
    """
    outputs = np.asarray(outputs, dtype=np.float64).reshape(-1, 4)
    coarse = decode_periodic(outputs[:, :2])
    minute = wrap(np.arctan2(outputs[:, 2], outputs[:, 3]) / (2 * np.pi) * 60, 60.0)
    return combine_hour_and_minute(coarse, minute)


def encode_report_cos(hours: Any, minutes: Any) -> np.ndarray:
    """Report 004's targets, for comparison: ``(n, 2)`` of ``cos(pi h / 12)`` and ``cos(pi m / 60)``.

    Each runs from 1 to -1 once per turn of its hand, so the target jumps
    from about -1 to 1 when the hand passes 12 (it is not periodic), and the
    network's ``cos`` output layer gives the same value for ``x`` and ``-x``.

    Introduced in lab 6 (Tell the time).
    """
    h = np.asarray(hours, dtype=np.float64) % 12
    m = np.asarray(minutes, dtype=np.float64)
    return np.stack([np.cos(np.pi * h / 12), np.cos(np.pi * m / 60)], axis=-1).astype(np.float32)


# --------------------------------------------------------------------------
# Keras losses and metrics (keras.ops only: any backend)
# --------------------------------------------------------------------------


def _circular_gap(y_true, y_pred):
    from keras import ops

    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), ops.shape(y_pred))
    gap = ops.mod(ops.abs(y_true - y_pred), MINUTES_PER_DIAL)
    return ops.minimum(gap, MINUTES_PER_DIAL - gap)


def common_sense_loss(y_true, y_pred):
    """Keras loss for regression on minutes past 12: the mean common-sense error.

    Per sample, the same number as :func:`common_sense_error`, averaged over
    the last axis.  It is piecewise linear in the prediction (like MAE), so
    its gradient is +-1 except where the error is exactly 0 or 360.  Use with
    :func:`encode_regression` targets: ``model.compile(loss=common_sense_loss)``.

    Introduced in lab 6 (Tell the time).
    """
    from keras import ops

    return ops.mean(_circular_gap(y_true, y_pred), axis=-1)


def common_sense_mae(y_true, y_pred):
    """Keras metric: the common-sense error in minutes for regression outputs.

    The same numbers as :func:`common_sense_loss` (which it calls), under
    its own name: ``model.compile(metrics=[common_sense_mae])`` reports its
    mean as ``common_sense_mae`` in the history.

    Introduced in lab 6 (Tell the time).
    """
    return common_sense_loss(y_true, y_pred)


def periodic_common_sense_mae(y_true, y_pred):
    """Keras metric: common-sense error in minutes for ``(sin, cos)`` outputs.

    Decodes both the targets and the predictions (see :func:`decode_periodic`)
    with ``arctan2`` and compares them on the dial.

    Introduced in lab 6 (Tell the time).
    """
    from keras import ops

    def to_minutes_(sin_cos):
        return ops.arctan2(sin_cos[..., 0], sin_cos[..., 1]) * (MINUTES_PER_DIAL / (2 * np.pi))

    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    return _circular_gap(to_minutes_(y_true), to_minutes_(y_pred))
