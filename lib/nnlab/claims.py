"""The closing table of every lab: what the reports claimed, and what we found.

Introduced in lab 1 (Initialization). A lab records each claim with the evidence it
measured and a verdict computed from that evidence, then ends with
:meth:`Claims.show` (a table on the page, also kept as a file beside the lab's results, which
``python -m nnlab bench`` collects) and :meth:`Claims.assert_all`, which fails the lab — and
so the book build and the tests — when a verdict differs from what the lab states.

Three kinds of claim:

- ``structural`` facts (zero-init symmetry, exact permutation equivalence, gradient-check
  error) hold at any scale, so they are asserted in every profile;
- ``accuracy`` claims need the real experiment, so they are asserted only in the full
  profile; smaller profiles still show the measured value, marked as indicative;
- ``timing`` claims (one thing is slower than another) depend on the machine and what else
  runs on it: measured and shown with a verdict, never asserted.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, get_args

import numpy as np

from nnlab.profiles import Profile, get_profile

Kind = Literal["structural", "accuracy", "timing"]
KINDS: tuple[str, ...] = get_args(Kind)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a notebook, nbval, the book build), which shows HTML output.

    A plain script, and the terminal IPython shell, would print only an object's repr.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def accuracy_noise_margin(a: float, b: float, n: int, *, standard_errors: float = 2.0,
                          floor_points: float = 0.0) -> float:
    """How far apart two accuracies, each measured on the same ``n`` examples, must be before the
    luck of which examples were drawn no longer explains the gap.

    That is ``standard_errors`` (2: about 95 %) times the standard error of the difference of two
    binomial proportions, ``sqrt(a(1−a)/n + b(1−b)/n)``. It covers the sampling of the test or
    validation images only: a run trained once, from one seed, also varies from seed to seed,
    which this margin does not include. On 10,000 images, two accuracies near 0.7 need 1.3
    points; near 0.98, 0.4 points. ``floor_points`` makes it at least that many points, for a
    claim that asks for a real lead ("ahead by more than the noise and a point": ``floor_points=1``).
    """
    if n <= 0:
        raise ValueError(f"n must be a positive number of examples, got {n}")
    return max(floor_points / 100, standard_errors * math.sqrt((a * (1 - a) + b * (1 - b)) / n))


def ahead_beyond_noise(lead: float, margin: float) -> bool | None:
    """Whether a lead (one accuracy minus another) tells who is ahead: True beyond ``margin``,
    False below ``−margin`` (the other is ahead), None within it (untested: a ``holds`` value)."""
    if abs(lead) <= margin:
        return None
    return lead > 0


def all_hold(verdicts: Iterable[bool | None]) -> bool | None:
    """Combine the verdicts of the parts of one claim: False if any part is refuted, else None if any
    is untold (a lead inside the noise), else True."""
    verdicts = list(verdicts)
    return False if False in verdicts else None if None in verdicts else True


def _noise_words(margin: float, n: int, sample: str) -> str:
    return f"{100 * margin:.1f} points (two standard errors of the difference on {n:,} {sample})"


def within_margin(gap: float, margin: float, points: float) -> bool | None:
    """The rule of "two accuracies are within ``points`` of each other", given the noise ``margin`` that a
    gap must exceed to be real: refuted by a gap beyond both the margin and ``points``; untested when
    the gap lies inside a margin wider than ``points`` (the measurement cannot resolve the claim);
    confirmed otherwise. ``gap`` and ``margin`` are fractions (0.01 is a point). Used by
    :func:`within_points` and :func:`level` (margin: :func:`accuracy_noise_margin`) and by lab 4, whose
    margin also covers the spread of training seeds."""
    gap = round(abs(gap), 6)   # rounded: 100 of 10,000 images is one point, not 1.0000000002
    tolerance = points / 100
    if gap > margin:
        return gap <= tolerance
    return None if margin > tolerance else True


def _within(a: float, b: float, n: int, points: float) -> tuple[bool | None, float, bool]:
    """The rule of :func:`within_points` for one pair: (verdict, noise margin, gap beyond the margin?)."""
    margin = accuracy_noise_margin(a, b, n)
    beyond = ahead_beyond_noise(a - b, margin) is not None
    return within_margin(a - b, margin, points), margin, beyond


def within_points(a: float, b: float, n: int, *, points: float = 1.0,
                  sample: str = "test images") -> tuple[bool | None, str]:
    """Test "``a`` and ``b`` are within ``points`` of each other" (accuracies on the same ``n`` examples).

    Not confirmed when the gap is beyond both ``points`` and the noise margin
    (:func:`accuracy_noise_margin`); untested when the margin is wider than ``points`` and the gap lies
    inside it (these examples cannot resolve such a gap); confirmed otherwise. Returns the verdict and
    the evidence's words on the gap. Used in lab 5a (padding); :func:`level` applies the same rule to
    several accuracies (labs 2 and 3).
    """
    holds, margin, beyond = _within(a, b, n, points)
    words = (f"{100 * abs(a - b):.2f} points apart, {'beyond' if beyond else 'within'} the noise margin of "
             + _noise_words(margin, n, sample))
    return holds, words


def reaches(value: float, goal: float, n: int, *, sample: str = "test images") -> tuple[bool, str]:
    """Test "this accuracy reaches ``goal``" for an accuracy measured on ``n`` examples: refuted only when it
    falls short by more than the luck of which examples were drawn, two standard errors of one accuracy at
    the goal, ``2·sqrt(g(1−g)/n)`` (on 10,000 images: 0.6 points at 0.90, 0.15 at 0.994).

    A run 0.3 points under a goal of 90 % on 10,000 test images is no evidence that the recipe misses it,
    and the full profile must not fail on such luck; the results tables' "met" column stays strict
    (value ≥ goal), so a goal missed by a hair still shows there. Returns the verdict and the evidence's words.
    """
    if n <= 0:
        raise ValueError(f"n must be a positive number of examples, got {n}")
    margin = 2 * math.sqrt(goal * (1 - goal) / n)
    holds = value >= goal - margin
    if value >= goal:
        where = "at or above it"
    else:
        where = f"{100 * (goal - value):.2f} points short, {'within' if holds else 'beyond'} the noise"
    words = (f"{value:.4f} against {goal:g}: {where} (noise {100 * margin:.2f} points: two standard errors of "
             f"one accuracy on {n:,} {sample})")
    return holds, words


def not_beaten(values: Mapping[str, float], champion: str, n: int, *, tie_points: float = 0.0,
               sample: str = "validation images") -> tuple[bool, str]:
    """Test "``champion`` is the most accurate, ties allowed": no other value leads it by more than the noise
    margin (:func:`accuracy_noise_margin`) or ``tie_points``, whichever is larger.

    A one-sided test, refuted only by a rival ahead beyond the noise: a champion within the noise of
    the best counts as tied for first. Returns the verdict and the evidence's words on the closest rival.
    """
    if champion not in values or len(values) < 2:
        raise ValueError(f"need {champion!r} and at least one rival among {list(values)}")
    best = values[champion]
    margins = {k: accuracy_noise_margin(best, v, n) for k, v in values.items() if k != champion}
    room = {k: values[k] - best - max(tie_points / 100, margin) for k, margin in margins.items()}   # > 0: beaten
    rival = max(room, key=room.get)
    holds = room[rival] <= 0
    words = (f"closest rival {rival} {100 * (values[rival] - best):+.2f} points against {champion}; a lead counts "
             "beyond " + _noise_words(margins[rival], n, sample)
             + (f" or {tie_points:g} point{'' if tie_points == 1 else 's'}, whichever is larger" if tie_points else ""))
    return holds, words


def level(values: Mapping[str, float], n: int, *, points: float = 1.0, reference: str | None = None,
          sample: str = "validation images") -> tuple[bool | None, str]:
    """Test "these accuracies end level, within ``points`` of each other": :func:`within_points` for every
    pair (with ``reference``, for each value against that one only, e.g. mild penalties against none).

    Not confirmed when any pair is apart beyond both ``points`` and the noise; else untested when some
    pair's noise margin is wider than ``points`` (the examples cannot show that the values are level);
    confirmed otherwise. Returns the verdict and the evidence's words on the pair that decided it.
    """
    if len(values) < 2 or (reference is not None and reference not in values):
        raise ValueError(f"need at least two values{f' including {reference!r}' if reference else ''}, "
                         f"got {list(values)}")
    names = list(values)
    pairs = ([(reference, k) for k in names if k != reference] if reference is not None
             else [(a, b) for i, a in enumerate(names) for b in names[i + 1:]])
    tested = {pair: _within(values[pair[0]], values[pair[1]], n, points) for pair in pairs}
    holds = all_hold(verdict for verdict, _, _ in tested.values())

    def weight(pair: tuple[str, str]) -> tuple[bool, float]:   # among the pairs with the verdict, the widest gap
        return tested[pair][0] is holds, abs(values[pair[0]] - values[pair[1]])

    a, b = sorted(max(pairs, key=weight), key=values.get, reverse=True)
    _, margin, beyond = tested[(a, b) if (a, b) in tested else (b, a)]
    words = (f"widest {'gap' if holds is not None else 'unresolved gap'} {a} − {b} "
             f"{100 * (values[a] - values[b]):.2f} points, {'beyond' if beyond else 'within'} the noise margin of "
             + _noise_words(margin, n, sample) + f"; the claim allows {points:g} point{'' if points == 1 else 's'}")
    return holds, words


def _centred_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks of ``values`` (ties share their mean rank, as Spearman's ρ needs), centred and scaled to unit
    length, so that the dot product of two such vectors is Spearman's ρ. ``values`` must vary."""
    import pandas as pd   # here, not at the top: nnlab's start-up imports this module

    ranks = pd.Series(values).rank().to_numpy()
    ranks = ranks - ranks.mean()
    return ranks / np.linalg.norm(ranks)


def spearman_rho(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of ``x`` and ``y``: +1 when ``y`` rises at every step of ``x``, −1 when it
    falls at every step; NaN when either does not vary. Lab 4 quotes it; :func:`rank_trend` tests it."""
    x_values, y_values = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if np.ptp(x_values) == 0 or np.ptp(y_values) == 0:
        return math.nan
    return float(_centred_ranks(x_values) @ _centred_ranks(y_values))


def rank_trend(x: Sequence[float], y: Sequence[float], *, falling: bool = True, shuffles: int = 10_000,
               alpha: float = 0.05, items: str = "pairs") -> tuple[bool | None, float, str]:
    """Test "``y`` tends to fall as ``x`` rises" (``falling=False``: to rise) by Spearman's rank correlation ρ
    and a permutation test: how often ``shuffles`` random pairings of the same values give a ρ at least as
    far in that direction.

    Confirmed when that share is at most ``alpha`` (the trend is beyond chance), not confirmed when the
    opposite trend is beyond chance, untested in between and when ρ is undefined (``x`` or ``y``
    constant: nothing to rank). Ties are ranked by their mean rank, and the shuffles use their own fixed
    seed, so a rerun gives the same verdict. Returns the verdict, ρ (NaN when undefined) and the
    evidence's words, which call the (x, y) pairs ``items``. Used in lab 5a (more parameters, sooner overfitting).
    """
    x_values, y_values = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x_values.shape != y_values.shape or x_values.ndim != 1 or len(x_values) < 3:
        raise ValueError(f"need two equally long sequences of at least 3 values, got {len(x)} and {len(y)}")
    if np.ptp(x_values) == 0 or np.ptp(y_values) == 0:
        return None, math.nan, "ρ is undefined: " + ("x" if np.ptp(x_values) == 0 else "y") + " does not vary"

    rx, ry = _centred_ranks(x_values), _centred_ranks(y_values)
    rho = float(rx @ ry)
    rng = np.random.default_rng(20_240_521)   # the test's own stream: same verdict on every rerun
    shuffled = ry[rng.permuted(np.tile(np.arange(len(ry)), (shuffles, 1)), axis=1)]
    null = shuffled @ rx
    sign = -1 if falling else 1
    p_trend = float(np.mean(sign * null >= sign * rho - 1e-12))       # as far in the claimed direction
    p_opposite = float(np.mean(-sign * null >= -sign * rho - 1e-12))  # as far the other way
    holds = True if p_trend <= alpha else False if p_opposite <= alpha else None
    claimed_side = sign * rho > 0   # the evidence quotes the share on the side where ρ lies
    share = p_trend if claimed_side else p_opposite
    how_many = "none" if share == 0 else f"{100 * share:.1f} %"
    direction = "low" if falling == claimed_side else "high"
    words = (f"ρ = {rho:+.2f} over {len(x_values)} {items}; {how_many} of {shuffles:,} random pairings give a ρ at "
             f"least as {direction} ({'beyond' if holds is not None else 'within'} chance at {100 * alpha:g} %)")
    return holds, rho, words


def markdown_table(rows: Iterable[Sequence[str]]) -> str:
    """Claims as a Markdown table, one (source, claim, evidence, verdict) per row: what a lab run as a
    script prints, and what a benchmark's claims file (:mod:`nnlab.bench`) holds."""
    lines = ["| source | claim | what we measured | verdict |", "|---|---|---|---|"]
    for cells in rows:
        lines.append("| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Claim:
    """One row: who claimed what, what we measured, and whether it held."""

    source: str
    claim: str
    evidence: str
    holds: bool | None
    expected: bool
    kind: Kind

    def asserted(self, profile: Profile) -> bool:
        """Whether :meth:`Claims.assert_all` checks this claim in ``profile`` (see the module docstring)."""
        return self.kind == "structural" or (self.kind == "accuracy" and profile.is_full)

    def verdict(self, profile: Profile) -> str:
        """The verdict cell: confirmed / not confirmed / untested, and whether ``profile`` asserts it."""
        if self.holds is None:
            return "untested here" if not self.asserted(profile) else "untested (asserted here: a failure)"
        word = "confirmed" if self.holds else "not confirmed"
        if self.kind == "timing":
            return f"{word} on this machine (a timing: shown, not asserted)"
        if not self.asserted(profile):
            return f"{word} here (indicative: {profile.name} profile)"
        return word


@dataclass
class Claims:
    """The claims of one lab, in the order the lab checks them."""

    chapter: str
    profile: Profile = field(default_factory=get_profile)
    rows: list[Claim] = field(default_factory=list)

    def check(
        self,
        source: str,
        claim: str,
        *,
        holds: bool | None,
        evidence: str,
        expected: bool = True,
        kind: Kind = "structural",
    ) -> None:
        """Record a claim and the verdict computed from the lab's measurement.

        ``expected`` states what the lab's prose says the verdict is (a report can be
        wrong: then ``expected=False``). ``holds=None`` says this run could not test the
        claim (the evidence says why): shown as "untested here", and a failure where the
        claim is asserted, since a check that cannot be made there proves nothing. Returns
        nothing, so a cell that ends with a check prints nothing stray.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
        self.rows.append(Claim(source, claim, evidence, None if holds is None else bool(holds), bool(expected), kind))

    def failures(self) -> list[Claim]:
        """Asserted claims whose verdict differs from what the lab states."""
        return [c for c in self.rows if c.asserted(self.profile) and c.holds != c.expected]

    def to_markdown(self) -> str:
        """The table as Markdown, what a lab run as a script prints."""
        return markdown_table((c.source, c.claim, c.evidence, c.verdict(self.profile)) for c in self.rows)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                       ("source", "claim", "what we measured", "verdict"))
        body = []
        for c in self.rows:
            ok = c.holds == c.expected
            colour = "#1a7f37" if c.holds else "#6e7781" if c.holds is None else "#9a6700"
            if c.asserted(self.profile) and not ok:
                colour = "#cf222e"
            cells = [html.escape(c.source), html.escape(c.claim), html.escape(c.evidence),
                     f"<b style='color:{colour}'>{html.escape(c.verdict(self.profile))}</b>"]
            body.append("<tr>" + "".join(f"<td style='text-align:left'>{x}</td>" for x in cells) + "</tr>")
        caption = (f"<caption style='caption-side:bottom;text-align:left'>{html.escape(self.chapter)} · "
                   f"profile {self.profile.name}: structural claims are asserted in every profile, "
                   "accuracy claims in the full profile, timings never.</caption>")
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"

    def show(self) -> "Claims":
        """Display the table in a notebook; print it as Markdown when the lab runs as a script.

        (Outside a notebook ``IPython.display`` would print only ``<IPython.core.display.HTML
        object>``.)
        """
        if in_notebook():
            from IPython.display import HTML, display

            display(HTML(self._repr_html_()))
        else:
            print(self.to_markdown())
        self.save()
        return self

    def save(self) -> None:
        """Write the table, each row with its verdict, where the lab's results go
        (:func:`nnlab.results.save_claims`); a folder that cannot be written is reported, not fatal."""
        from nnlab.results import save_claims

        rows = [{**asdict(c), "asserted": c.asserted(self.profile), "verdict": c.verdict(self.profile)}
                for c in self.rows]
        try:
            save_claims(self.chapter, self.profile.name, rows)
        except OSError as exc:
            warnings.warn(f"nnlab.claims: could not keep the claims table of {self.chapter} ({exc}); "
                          "the table above is unaffected.", stacklevel=2)

    def assert_all(self) -> None:
        """Fail when any asserted verdict differs from the lab's statement."""
        bad = self.failures()
        if bad:
            lines = [f"- {c.source}: {c.claim} — measured {c.evidence}; holds={c.holds}, lab states {c.expected}"
                     for c in bad]
            raise AssertionError(f"{len(bad)} claim(s) of {self.chapter} did not come out as stated:\n"
                                 + "\n".join(lines))
