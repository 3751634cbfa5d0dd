"""Unit tests of nnlab's core: profiles, environment checks, seeding, claims, models, training."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import nnlab
from nnlab import claims, profiles
from nnlab.splits import Splits


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("NNLAB_PROFILE", "smoke")
    p = profiles.get_profile()
    assert p.name == "smoke" and p.pick(smoke=1, quick=2, full=3) == 1 and not p.is_full


def test_rehearsal_takes_the_full_profiles_structure_at_the_smoke_profiles_sizes():
    p = profiles.Profile("rehearsal")
    assert not p.is_full   # its accuracy claims are not asserted: tiny data, one epoch
    assert p.pick(smoke=600, quick=5000, full=None) == 600 and p.pick(smoke=1, quick=3, full=20) == 1
    assert p.pick(smoke=("periodic",), quick=("multi_head", "periodic"), full=("a", "b", "c")) == ("a", "b", "c")
    sweeps = p.pick(smoke={"strides": [8], "depth": []}, quick={}, full={"strides": [2, 4, 8], "depth": [1, 3]})
    assert sweeps == {"strides": [2, 4, 8], "depth": [1, 3]}
    trunk = p.pick(smoke=dict(widths=(8,), head_width=32), quick={}, full=dict(widths=(32, 64), head_width=256, extra=1))
    assert trunk == {"widths": (32, 64), "head_width": 32, "extra": 1}
    from types import MappingProxyType
    cnn = p.pick(smoke={"width": 4, "epochs": 1}, quick={}, full=MappingProxyType({"width": 64, "epochs": 24, "cutout": 8}))
    assert cnn == {"width": 4, "epochs": 1, "cutout": 8}   # lab 5c's full recipe: its cutout is rehearsed too


def test_a_rehearsal_bench_stays_out_of_the_books_results():
    from nnlab import bench
    with pytest.raises(SystemExit, match="--out"):
        bench.run_bench("rehearsal", ["01"])


def test_profile_auto_selects_by_device(monkeypatch):
    monkeypatch.delenv("NNLAB_PROFILE", raising=False)
    monkeypatch.setattr(profiles, "gpu_available", lambda: True)
    assert profiles.get_profile().name == "full"
    monkeypatch.setattr(profiles, "gpu_available", lambda: False)
    p = profiles.get_profile()
    assert p.name == "quick" and p.chosen_by == "auto-detection"


def test_a_visible_gpu_counts_only_if_the_backend_can_use_it(monkeypatch):
    """The default install is CPU-only (tensorflow-cpu): a GPU laptop must not get the full profile on its CPU."""
    monkeypatch.delenv("NNLAB_GPU", raising=False)
    monkeypatch.delenv("NNLAB_PROFILE", raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setattr(profiles, "loaded_backend", lambda: None)   # as before Keras is imported, on any backend
    monkeypatch.setattr(profiles, "nvidia_gpu_visible", lambda: True)
    monkeypatch.setattr(profiles, "backend_can_use_cuda", lambda backend: False)
    assert not profiles.gpu_available() and profiles.get_profile().name == "quick"
    assert "no GPU support" in profiles.idle_gpu_note()
    assert "\n" not in profiles.get_profile().describe()   # one line: the site's banner shows it
    monkeypatch.setattr(profiles, "backend_can_use_cuda", lambda backend: backend == "tensorflow")
    assert profiles.gpu_available() and profiles.get_profile().name == "full"
    assert profiles.idle_gpu_note() == ""
    monkeypatch.setattr(profiles, "nvidia_gpu_visible", lambda: False)
    assert not profiles.gpu_available()


def test_nnlab_gpu_decides_when_set_and_a_typo_is_an_error(monkeypatch):
    monkeypatch.setattr(profiles, "nvidia_gpu_visible", lambda: False)
    monkeypatch.setenv("NNLAB_GPU", "1")
    assert profiles.gpu_available()
    monkeypatch.setenv("NNLAB_GPU", "0")
    monkeypatch.setattr(profiles, "nvidia_gpu_visible", lambda: True)
    monkeypatch.setattr(profiles, "backend_can_use_cuda", lambda backend: True)
    assert not profiles.gpu_available()
    monkeypatch.setenv("NNLAB_GPU", "yes")
    with pytest.raises(profiles.ProfileError, match="NNLAB_GPU"):
        profiles.gpu_available()


def test_backend_gpu_support_is_read_from_the_installed_packages(monkeypatch):
    versions = {"tensorflow-cpu": "2.21.0", "jaxlib": "0.10.2", "torch": "2.9.0+cpu"}
    monkeypatch.setattr(profiles, "_installed", versions.get)
    monkeypatch.setattr(profiles.metadata, "distributions", lambda: [])
    profiles.backend_can_use_cuda.cache_clear()
    try:
        assert not profiles.backend_can_use_cuda("tensorflow")   # only tensorflow-cpu
        assert not profiles.backend_can_use_cuda("jax")          # jaxlib without a CUDA plugin
        assert not profiles.backend_can_use_cuda("torch")        # a +cpu wheel
        versions.update({"tensorflow": "2.21.0", "torch": "2.9.0"})

        class Plugin:
            metadata = {"Name": "jax_cuda12_plugin"}
        monkeypatch.setattr(profiles.metadata, "distributions", lambda: [Plugin()])
        profiles.backend_can_use_cuda.cache_clear()
        assert profiles.backend_can_use_cuda("tensorflow") and profiles.backend_can_use_cuda("jax")
        assert profiles.backend_can_use_cuda("torch")
    finally:
        profiles.backend_can_use_cuda.cache_clear()


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("NNLAB_PROFILE", "fast")
    with pytest.raises(profiles.ProfileError, match="smoke, quick, full"):
        profiles.get_profile()


def _python(args: list[str], env: dict[str, str], *, path_first: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """This venv's Python run with ``args`` in exactly ``env``, nnlab importable (``path_first``
    goes ahead of it on the import path)."""
    env = {**env, "PYTHONPATH": os.pathsep.join([*path_first, *sys.path])}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120)


def _nnlab_profile_cli(value: str) -> subprocess.CompletedProcess:
    """``python -m nnlab profile`` (what ``make book`` runs) with ``NNLAB_PROFILE=value``."""
    return _python(["-m", "nnlab", "profile"], {**os.environ, "NNLAB_PROFILE": value})


def test_a_lab_run_as_a_script_prints_a_styled_table_with_its_formats_not_the_objects_repr():
    script = ("import nnlab, pandas as pd\n"
              "from IPython.display import display\n"
              "nnlab.start_lab('test')\n"
              "display(pd.DataFrame({'accuracy': [0.91234, 0.5]}, index=['relu', 'tanh']).style.format('{:.2f}'))\n")
    run = _python(["-c", script], {**os.environ, "NNLAB_PROFILE": "smoke"})
    assert run.returncode == 0, run.stderr
    assert "Styler object" not in run.stdout
    assert run.stdout.splitlines()[-3:] == ["      accuracy", "relu      0.91", "tanh      0.50"]


def test_backend_command_prints_what_keras_will_load(tmp_path):
    home = tmp_path / "keras-home"
    home.mkdir()
    (home / "keras.json").write_text('{"backend": "jax"}')
    (tmp_path / "stand-in" / "jax").mkdir(parents=True)   # an importable "jax", whichever backend this venv has
    (tmp_path / "stand-in" / "jax" / "__init__.py").write_text("")
    env = {**os.environ, "KERAS_HOME": str(home)}
    env.pop("KERAS_BACKEND", None)
    run = _python(["-m", "nnlab", "backend"], env, path_first=(str(tmp_path / "stand-in"),))
    assert run.returncode == 0 and run.stdout == "jax\n"   # make book keys its execution cache on this


def test_backend_command_refuses_a_backend_that_is_not_installed(monkeypatch, capsys):
    import importlib.util

    from nnlab.__main__ import main

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)   # as in a venv without JAX
    assert main(["backend"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "jax is not installed" in captured.err and "make test-jax" in captured.err


def test_profile_command_rejects_an_unknown_profile():
    result = _nnlab_profile_cli("fast")
    assert result.returncode != 0 and result.stdout.strip() == ""
    assert "'fast'" in result.stderr and "smoke, quick, full" in result.stderr
    assert "Traceback" not in result.stderr and result.returncode == 2   # one line, as make book shows it


@pytest.mark.parametrize(("value", "name"), [(" Quick ", "quick"), ("quick", "quick"), ("smoke", "smoke"), ("FULL", "full")])
def test_profile_command_prints_the_normalised_profile(value, name):
    result = _nnlab_profile_cli(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{name}\n"


def test_unknown_backend_is_a_clear_error():
    result = _python(["-c", "import nnlab"], {"KERAS_BACKEND": "theano", "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "KERAS_BACKEND='theano'" in result.stderr and "tensorflow, jax, torch" in result.stderr


def _import_nnlab(env: dict[str, str]) -> subprocess.CompletedProcess:
    """The backend nnlab reports in a bare environment plus ``env``."""
    return _python(["-c", "import nnlab.profiles as p; print(p.keras_backend())"], {"PATH": "/usr/bin:/bin", **env})


def test_backend_is_read_as_keras_reads_it(tmp_path):
    home = tmp_path / "keras-home"
    home.mkdir()
    (home / "keras.json").write_text('{"backend": "jax"}')
    assert _import_nnlab({"KERAS_HOME": str(home)}).stdout.strip() == "jax"     # keras.json, as Keras does
    assert _import_nnlab({"KERAS_HOME": str(home), "KERAS_BACKEND": "torch"}).stdout.strip() == "torch"
    assert _import_nnlab({"KERAS_HOME": str(home), "KERAS_BACKEND": ""}).stdout.strip() == "jax"
    assert _import_nnlab({"KERAS_HOME": str(tmp_path / "none")}).stdout.strip() == "tensorflow"
    (home / "keras.json").write_text('{"backend": "numpy"}')
    unsupported = _import_nnlab({"KERAS_HOME": str(home)})
    assert unsupported.returncode != 0 and "keras.json" in unsupported.stderr and "'numpy'" in unsupported.stderr
    assert "set KERAS_BACKEND, which wins over the file" in unsupported.stderr
    spaced = _import_nnlab({"KERAS_HOME": str(tmp_path / "none"), "KERAS_BACKEND": " jax"})
    assert spaced.returncode != 0 and "KERAS_BACKEND=' jax'" in spaced.stderr   # Keras would fail on it too


def test_a_backend_asked_for_after_keras_was_imported_is_named_and_the_loaded_one_reported(monkeypatch, capsys):
    import keras

    from nnlab import profiles

    loaded = keras.backend.backend()
    other = next(b for b in ("tensorflow", "jax", "torch") if b != loaded)
    monkeypatch.setenv("KERAS_BACKEND", other)     # what a student types into a notebook cell
    assert profiles.keras_backend() == loaded      # Keras does not switch, so neither does the profile line
    note = profiles.backend_mismatch_note()
    assert f"KERAS_BACKEND={other!r} asks for {other}" in note and f"runs on {loaded}" in note
    assert f"KERAS_BACKEND={other} make lab" in note
    nnlab.start_lab("mismatch")
    out = capsys.readouterr().out
    assert f"backend: {loaded}" in out and "note: KERAS_BACKEND=" in out
    monkeypatch.setenv("KERAS_BACKEND", loaded)
    assert profiles.backend_mismatch_note() == ""


def test_before_keras_is_imported_the_requested_backend_is_reported():
    result = _python(["-c", "import sys, nnlab.profiles as p; print(p.loaded_backend(), p.keras_backend(), "
                            "repr(p.backend_mismatch_note()), 'keras' in sys.modules)"],
                     {"PATH": "/usr/bin:/bin", "KERAS_BACKEND": "jax"})
    assert result.stdout.split() == ["None", "jax", "''", "False"], result.stderr


def test_set_seed_repeats_numpy_and_keras():
    import keras

    def draw():
        return np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,)))

    nnlab.set_seed(3)
    first = draw()
    nnlab.set_seed(3)
    second = draw()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    with pytest.raises(ValueError):
        nnlab.set_seed(-1)


def test_the_accuracy_noise_margin_is_two_standard_errors_of_the_difference_and_calls_a_lead_only_beyond_it():
    margin = claims.accuracy_noise_margin(0.7, 0.7, 10_000)
    assert margin == pytest.approx(2 * (2 * 0.7 * 0.3 / 10_000) ** 0.5)       # 1.3 points
    assert claims.accuracy_noise_margin(0.7, 0.7, 40_000) == pytest.approx(margin / 2)   # 4× the data, half
    assert claims.accuracy_noise_margin(1.0, 1.0, 100) == 0.0
    assert claims.accuracy_noise_margin(0.9, 0.8, 1000) == pytest.approx(0.0316228, abs=1e-7)   # √(.09+.16)/1000 × 2
    assert [claims.ahead_beyond_noise(lead, margin) for lead in (0.02, 0.01, -0.01, -0.02)] == [True, None, None, False]
    # a floor: "ahead by more than the noise and a point" on 10,000 images near 0.98 (noise 0.4 points)
    assert claims.accuracy_noise_margin(0.98, 0.98, 10_000, floor_points=1) == pytest.approx(0.01)
    assert claims.accuracy_noise_margin(0.7, 0.7, 10_000, floor_points=1) == pytest.approx(margin)   # noise is larger
    with pytest.raises(ValueError, match="positive number of examples"):
        claims.accuracy_noise_margin(0.5, 0.5, 0)


def test_all_hold_refutes_on_any_false_and_leaves_untold_on_any_none():
    assert claims.all_hold([True, True]) is True
    assert claims.all_hold([True, None]) is None
    assert claims.all_hold([None, False, True]) is False       # a refuted part refutes the claim
    assert claims.all_hold(v for v in (True,)) is True          # any iterable, read once


def test_reaches_misses_a_goal_only_beyond_the_noise_of_one_accuracy():
    # 10,000 images at a goal of 0.90: two standard errors of one accuracy are 0.6 points
    assert claims.reaches(0.905, 0.90, 10_000) == (True, "0.9050 against 0.9: at or above it (noise 0.60 points: "
                                                   "two standard errors of one accuracy on 10,000 test images)")
    holds, words = claims.reaches(0.8955, 0.90, 10_000)
    assert holds and "0.45 points short, within the noise" in words
    holds, words = claims.reaches(0.8935, 0.90, 10_000)
    assert not holds and "0.65 points short, beyond the noise" in words
    assert not claims.reaches(0.8955, 0.90, 100_000)[0]       # more images resolve the same shortfall
    assert claims.reaches(1.0, 1.0, 10)[0] and not claims.reaches(0.99, 1.0, 10)[0]   # no noise at a goal of 1
    with pytest.raises(ValueError, match="positive number of examples"):
        claims.reaches(0.5, 0.5, 0)


def test_within_margin_refutes_only_beyond_margin_and_points_and_leaves_a_wide_margin_untested():
    assert claims.within_margin(0.004, 0.006, points=1.0) is True       # inside a margin narrower than the point
    assert claims.within_margin(-0.008, 0.006, points=1.0) is True      # real, but within the point
    assert claims.within_margin(0.012, 0.006, points=1.0) is False      # real and beyond the point
    assert claims.within_margin(-0.012, 0.015, points=1.0) is None      # the margin is wider than the point
    assert claims.within_margin(0.01, 0.002, points=1.0) is True        # exactly a point: inside the claim


def test_within_points_confirms_refutes_or_leaves_untested_as_the_noise_allows():
    # 10,000 images near 0.98: a margin of 0.4 points, so one point is resolved either way
    assert claims.within_points(0.980, 0.975, 10_000)[0] is True
    assert claims.within_points(0.980, 0.960, 10_000)[0] is False
    holds, words = claims.within_points(0.980, 0.970, 10_000)   # exactly a point apart: inside the claim
    assert holds is True and words.startswith("1.00 points apart, beyond the noise margin of 0.4 points")
    # 1,000 images near 0.93: a margin of 2.3 points, wider than the claim's point
    assert claims.within_points(0.933, 0.921, 1_000, sample="validation images") == (
        None, "1.20 points apart, within the noise margin of 2.3 points (two standard errors of the difference on "
              "1,000 validation images)")
    assert claims.within_points(0.933, 0.90, 1_000)[0] is False        # 3.3 points: beyond the noise and the point
    assert claims.within_points(0.933, 0.921, 1_000, points=2.5)[0] is True


def test_not_beaten_is_refuted_only_by_a_rival_ahead_beyond_the_noise_or_the_tie():
    accs = {"relu": 0.861, "elu": 0.856, "tanh": 0.84}
    holds, words = claims.not_beaten(accs, "relu", 1_200)
    assert holds is True and words.startswith("closest rival elu -0.50 points against relu")
    assert claims.not_beaten({**accs, "elu": 0.880}, "relu", 1_200)[0] is True       # +1.9 inside 2.8 points of noise
    assert claims.not_beaten({**accs, "elu": 0.900}, "relu", 1_200)[0] is False      # +3.9: beyond it
    big = {"adam": 0.980, "nadam": 0.984}                                            # 60,000 images: noise 0.15 points
    assert claims.not_beaten(big, "adam", 60_000)[0] is False
    holds, words = claims.not_beaten(big, "adam", 60_000, tie_points=0.5)           # the claim's own tie is wider
    assert holds is True and words.endswith("or 0.5 points, whichever is larger")
    with pytest.raises(ValueError, match="at least one rival"):
        claims.not_beaten({"adam": 0.9}, "adam", 100)


def test_rank_trend_confirms_a_trend_only_beyond_chance_and_refutes_the_opposite_one():
    x = list(range(15))
    holds, rho, words = claims.rank_trend(x, [14 - v for v in x], items="variants")    # perfectly falling
    assert holds is True and rho == pytest.approx(-1.0)
    assert words == ("ρ = -1.00 over 15 variants; none of 10,000 random pairings give a ρ at least as low "
                     "(beyond chance at 5 %)")
    assert claims.rank_trend(x, x)[0] is False                                         # rising: refuted
    assert claims.rank_trend(x, x, falling=False)[0] is True
    weak = [1, 0, 2, 4, 3, 5, 7, 6, 9, 8, 12, 10, 11, 14, 13][::-1]                   # strong, with swaps
    assert claims.rank_trend(x, weak)[0] is True
    noisy = [3, 1, 2, 5, 4, 3, 7, 2, 9, 1, 4, 5, 6, 7, 3]                              # ρ = +0.39: within chance
    holds, rho, words = claims.rank_trend(x, noisy)
    assert holds is None and rho == pytest.approx(0.385, abs=1e-3) and words.endswith("(within chance at 5 %)")
    assert claims.rank_trend(x, noisy) == (holds, rho, words)                          # the shuffles are seeded
    # ties share their mean rank: two values only, still a clear fall
    assert claims.rank_trend(x, [2] * 7 + [1] * 8)[0] is True
    assert claims.spearman_rho(x, noisy) == pytest.approx(rho)                         # the same ρ, untested
    assert claims.spearman_rho([1, 2, 2, 3], [4, 3, 3, 1]) == pytest.approx(-1.0)      # ties at their mean rank
    assert math.isnan(claims.spearman_rho([1, 2, 3], [7, 7, 7]))
    holds, rho, words = claims.rank_trend(x, [5] * 15)                                 # nothing to rank
    assert holds is None and math.isnan(rho) and words == "ρ is undefined: y does not vary"
    with pytest.raises(ValueError, match="equally long"):
        claims.rank_trend([1, 2, 3], [1, 2])


def test_level_applies_within_points_to_every_pair_or_against_a_reference():
    # 60,000 images near 0.98: a margin of 0.16 points, so half a point is resolved either way
    assert claims.level({"a": 0.980, "b": 0.978, "c": 0.976}, 60_000, points=0.5)[0] is True
    assert claims.level({"a": 0.980, "b": 0.975}, 60_000, points=0.5)[0] is True      # exactly the points: inside
    holds, words = claims.level({"a": 0.980, "b": 0.978, "c": 0.974}, 60_000, points=0.5)
    assert holds is False and words.startswith("widest gap a − c 0.60 points, beyond the noise margin of 0.2 points")
    assert words.endswith("the claim allows 0.5 points")
    assert claims.level({"a": 0.980, "b": 0.978, "c": 0.974}, 60_000, points=0.5, reference="b")[0] is True
    # 6,000 images near 0.89: a margin of 1.1 points, wider than one point
    accs = {"relu": 0.890, "gelu": 0.895, "silu": 0.8795}
    holds, words = claims.level(accs, 6_000, reference="relu")   # 0.5 and 1.05 points from relu: inside the noise
    assert holds is None and words.startswith("widest unresolved gap relu − silu 1.05 points, within the noise")
    assert claims.level(accs, 6_000, reference="relu", points=1.5)[0] is True
    assert claims.level(accs, 6_000)[0] is False                 # gelu − silu 1.55: beyond the noise and the point
    with pytest.raises(ValueError, match="at least two values including 'adam'"):
        claims.level({"sgd": 0.9, "nadam": 0.9}, 100, reference="adam")


def test_claims_assert_structural_in_every_profile():
    table = claims.Claims("test", profile=profiles.Profile("smoke"))
    table.check("Report 001", "zero init learns nothing", holds=True, evidence="acc 0.10")
    table.check("Report 002", "bigger is better", holds=False, evidence="acc 0.5", kind="accuracy")
    table.assert_all()  # the accuracy claim is not asserted in smoke
    assert "indicative" in table.to_markdown()
    table.check("Report 003", "a structural fact", holds=False, evidence="gap 1e-3")
    with pytest.raises(AssertionError, match="a structural fact"):
        table.assert_all()


def test_claims_assert_accuracy_only_in_full():
    table = claims.Claims("test", profile=profiles.Profile("full"))
    table.check("Report 002", "bigger is better", holds=False, evidence="acc 0.5", kind="accuracy")
    with pytest.raises(AssertionError):
        table.assert_all()
    refuted = claims.Claims("test", profile=profiles.Profile("full"))
    refuted.check("Report 001", "normal init overfits", holds=False, expected=False, evidence="x")
    refuted.assert_all()  # a report's claim the lab states is refuted
    assert "not confirmed" in refuted._repr_html_()


def test_a_timing_claim_is_shown_with_its_verdict_and_never_asserted():
    table = claims.Claims("test", profile=profiles.Profile("full"))
    table.check("Report 004", "the exponential is slow", holds=True, expected=False, evidence="3 ms", kind="timing")
    table.assert_all()   # a verdict that differs from the lab's statement, yet no failure: timings are not asserted
    assert table.failures() == []
    assert "confirmed on this machine (a timing: shown, not asserted)" in table.to_markdown()
    with pytest.raises(ValueError, match="'timing'"):
        table.check("x", "y", holds=True, evidence="z", kind="speed")


@pytest.mark.parametrize("kind", ["structural", "accuracy"])
def test_claims_a_claim_stated_refuted_that_holds_fails_in_full(kind):
    table = claims.Claims("test", profile=profiles.Profile("full"))
    table.check("Report 004", "dropout never helps", holds=True, expected=False, evidence="acc 0.98", kind=kind)
    assert table.failures() == table.rows
    with pytest.raises(AssertionError, match=r"1 claim\(s\) of test.*\n- Report 004: dropout never helps"):
        table.assert_all()
    indicative = claims.Claims("test", profile=profiles.Profile("quick"))
    indicative.check("Report 004", "dropout never helps", holds=True, expected=False, evidence="acc 0.98", kind=kind)
    if kind == "accuracy":
        indicative.assert_all()  # not asserted outside the full profile
    else:
        with pytest.raises(AssertionError, match="dropout never helps"):
            indicative.assert_all()


def test_claims_an_untested_claim_is_shown_and_fails_where_asserted():
    quick = claims.Claims("test", profile=profiles.Profile("quick"))
    quick.check("Report 004", "more parameters, sooner overfitting", holds=None, evidence="ρ undefined",
                kind="accuracy")
    quick.assert_all()
    assert "untested here" in quick.to_markdown() and "not confirmed" not in quick.to_markdown()
    full = claims.Claims("test", profile=profiles.Profile("full"))
    full.check("Report 004", "more parameters, sooner overfitting", holds=None, evidence="ρ undefined",
               kind="accuracy")
    assert "untested (asserted here: a failure)" in full._repr_html_()
    with pytest.raises(AssertionError, match="more parameters"):
        full.assert_all()


def test_claims_reject_a_misspelt_kind():
    table = claims.Claims("test", profile=profiles.Profile("full"))
    with pytest.raises(ValueError, match="'structual'"):
        table.check("Report 001", "zero init learns nothing", holds=True, evidence="x", kind="structual")
    with pytest.raises(ValueError, match="'Accuracy'"):
        table.check("Report 001", "zero init learns nothing", holds=True, evidence="x", kind="Accuracy")
    assert table.rows == []  # nothing recorded under a wrong kind


def _toy_splits(n: int = 256) -> Splits:
    rng = np.random.default_rng(0)
    x = rng.random((n, 4, 4), dtype=np.float32)
    y = (x.mean(axis=(1, 2)) > 0.5).astype(np.int64)
    return Splits("toy", x[: n // 2], y[: n // 2], x[n // 2 :], y[n // 2 :], x[:32], y[:32], ("a", "b"))


def test_train_caches_and_reloads(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    monkeypatch.setenv("NNLAB_QUIET", "1")
    monkeypatch.setenv("NNLAB_RUN_LOG", str(tmp_path / "runs.jsonl"))   # as python -m nnlab bench sets it
    from nnlab import models, results, training

    splits = _toy_splits()
    build = lambda: models.mlp(splits.input_shape, hidden=(8,), n_outputs=2)  # noqa: E731
    first = training.train(build, splits, name="toy", epochs=2, config={"width": 8})
    assert not first.cached and first.epochs == 2 and first.params == 16 * 8 + 8 + 8 * 2 + 2
    second = training.train(build, splits, name="toy", epochs=2, config={"width": 8})
    assert second.cached and second.history == first.history
    np.testing.assert_allclose(second.model.predict(splits.x_test, verbose=0),
                               first.model.predict(splits.x_test, verbose=0), rtol=1e-6)
    assert "accuracy" in training.evaluate(second.model, splits.x_test, splits.y_test)
    # a damaged cache entry is retrained, not trusted
    for folder in training.runs_dir().iterdir():
        (folder / "model.weights.h5").write_bytes(b"broken")
    third = training.train(build, splits, name="toy", epochs=2, config={"width": 8})
    assert not third.cached
    assert not [p for p in training.runs_dir().iterdir() if p.name.endswith(".tmp")]
    # each run noted once: trained, loaded, trained again (the damaged entry)
    assert results.read_run_log(tmp_path / "runs.jsonl") == {"trained": 2, "cached": 1}


def test_a_run_that_differs_in_anything_is_not_reloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    monkeypatch.setenv("NNLAB_QUIET", "1")
    monkeypatch.setenv("NNLAB_PROFILE", "smoke")
    import keras

    from nnlab import knobs, models, training

    splits = _toy_splits()
    build = lambda: models.mlp(splits.input_shape, hidden=(8,), n_outputs=2)  # noqa: E731
    common = {"name": "toy", "epochs": 1, "config": {"width": 8}}
    assert not training.train(build, splits, **common).cached
    assert training.train(build, splits, **common).cached
    changed = {
        "config": {**common, "config": {"width": 16}},
        "epochs": {**common, "epochs": 2},
        "seed": {**common, "seed": 1},
        "batch size": {**common, "batch_size": 64},
        "optimizer": {**common, "optimizer": "sgd"},
        "loss object": {**common, "loss": knobs.classification_loss("poisson", 2)},
        "metrics": {**common, "metrics": ()},
        "callbacks": {**common, "callbacks": training.early_stopping(patience=2)},
        "callback settings": {**common, "callbacks": training.early_stopping(patience=3)},
    }
    for what, kwargs in changed.items():
        assert not training.train(build, splits, **kwargs).cached, what
    # an edited build function, same name and config (a student changing a lab's model): another run
    tanh = lambda: models.mlp(splits.input_shape, hidden=(8,), n_outputs=2, activation="tanh")  # noqa: E731
    assert not training.train(tanh, splits, **common).cached, "model"
    # ... but not the automatic layer names Keras numbers on (dense_12 after eleven other dense layers)
    for _ in range(3):
        models.mlp(splits.input_shape, hidden=(8, 8))
    assert training.train(build, splits, **common).cached, "the same model, built later"
    # two losses of the same class but different configuration are two runs
    assert not training.train(build, splits, **{**common, "loss": knobs.classification_loss("kl", 2)}).cached
    assert training.train(build, splits, **{**common, "loss": knobs.classification_loss("kl", 2)}).cached
    assert not training.train(build, _toy_splits(n=192), **common).cached, "data"
    monkeypatch.setenv("NNLAB_PROFILE", "quick")
    assert not training.train(build, splits, **common).cached, "profile"
    # a lambda as the loss is named "<lambda>" whatever it computes: such a run is never cached
    sparse = lambda y, p: keras.losses.sparse_categorical_crossentropy(y, p)  # noqa: E731
    for _ in range(2):
        assert not training.train(build, splits, **{**common, "loss": sparse}).cached


def test_a_run_whose_cache_cannot_be_written_is_kept_with_a_warning(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setenv("NNLAB_DATA", str(not_a_folder))
    monkeypatch.setenv("NNLAB_QUIET", "1")
    from nnlab import models, training

    splits = _toy_splits()
    with pytest.warns(UserWarning, match="could not cache this run .* Set NNLAB_DATA to a writable folder"):
        run = training.train(lambda: models.mlp(splits.input_shape, hidden=(8,), n_outputs=2), splits,
                             name="toy", epochs=1, config={"width": 8})
    assert not run.cached and run.epochs == 1 and run.model is not None


def test_steps_per_execution_changes_speed_not_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    monkeypatch.setenv("NNLAB_QUIET", "1")
    import keras

    from nnlab import models, training

    splits = _toy_splits()
    build = lambda: models.mlp(splits.input_shape, hidden=(8,), n_outputs=2)  # noqa: E731
    # 128 training images in batches of 10: 13 steps an epoch, so 3 steps per call leaves a remainder
    runs = {per_call: training.train(build, splits, name="toy", epochs=3, batch_size=10, cache=False,
                                     steps_per_execution=per_call)
            for per_call in (1, 3)}
    assert runs[3].model.steps_per_execution == 3 and runs[1].model.steps_per_execution == 1
    steps = [int(keras.ops.convert_to_numpy(runs[k].model.optimizer.iterations)) for k in (1, 3)]
    assert steps == [3 * 13, 3 * 13]
    for metric, values in runs[1].history.items():
        np.testing.assert_allclose(runs[3].history[metric], values, rtol=1e-5, err_msg=metric)
    with pytest.raises(ValueError, match="steps_per_execution"):
        training.train(build, splits, name="toy", epochs=1, steps_per_execution=0)


def test_progress_bar_never_counts_past_the_epochs_last_step(tmp_path, monkeypatch):
    """Keras's own bar shows e.g. "15/13" when the last call into the compiled step is short."""
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    import keras

    from nnlab import models, training

    shown: list[tuple[object, int, int]] = []  # (bar, step shown, steps in the epoch)
    monkeypatch.setattr(keras.utils.Progbar, "update",
                        lambda self, current, values=None, finalize=None: shown.append((self, current, self.target)))
    for bar_class in (keras.callbacks.ProgbarLogger, training.StepProgbar):
        shown.clear()
        bar = bar_class()
        bar.set_params({"verbose": 1, "epochs": 1, "steps": 13})
        bar.on_epoch_begin(0)
        for last_batch_of_call in (2, 5, 8, 11, 14):  # what Keras reports with 3 steps per call
            bar.on_train_batch_end(last_batch_of_call)
        bar.on_epoch_end(0)
        assert max(step for _, step, _ in shown) == (15 if bar_class is keras.callbacks.ProgbarLogger else 13)

    # train() shows one bar, StepProgbar, when it prints progress: 13 steps an epoch, 3 per call
    shown.clear()
    splits = _toy_splits()
    build = lambda: models.mlp(splits.input_shape, hidden=(8,), n_outputs=2)  # noqa: E731
    training.train(build, splits, name="toy", epochs=2, batch_size=10, cache=False, steps_per_execution=3, verbose=1)
    assert len({id(bar) for bar, _, _ in shown}) == 2  # a new bar each epoch, no second bar beside it
    assert {target for _, _, target in shown} == {13}
    assert max(step for _, step, _ in shown) == 13
    shown.clear()
    training.train(build, splits, name="toy", epochs=1, cache=False, verbose=0)
    assert shown == []


def test_train_warns_when_jax_would_run_uncompiled(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    monkeypatch.setenv("NNLAB_QUIET", "1")
    import warnings

    import keras

    from nnlab import models, training

    splits = _toy_splits()

    def build():
        model = models.mlp(splits.input_shape, hidden=(8,), n_outputs=2)
        model.layers[-1].supports_jit = False  # what Keras's RandomTranslation says of itself
        return model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        training.train(build, splits, name="toy", epochs=1, cache=False)
    uncompiled = [w for w in caught if "uncompiled on JAX" in str(w.message)]
    assert len(uncompiled) == (1 if keras.backend.backend() == "jax" else 0)


def test_ieee_float32_turns_tf32_off_and_respects_the_user(monkeypatch):
    import keras

    from nnlab.seeding import ieee_float32

    backend = keras.backend.backend()
    monkeypatch.delenv("NVIDIA_TF32_OVERRIDE", raising=False)
    monkeypatch.delenv("JAX_DEFAULT_MATMUL_PRECISION", raising=False)
    if backend == "jax":
        import jax

        before = jax.config.jax_default_matmul_precision
        try:
            assert ieee_float32() == "float32 products in full float32 (no TF32)"
            assert jax.config.jax_default_matmul_precision == "highest"
            jax.config.update("jax_default_matmul_precision", None)
            monkeypatch.setenv("JAX_DEFAULT_MATMUL_PRECISION", "tensorfloat32")
            assert "left as" in ieee_float32() and jax.config.jax_default_matmul_precision is None
        finally:
            jax.config.update("jax_default_matmul_precision", before)
    elif backend == "tensorflow":
        import tensorflow as tf

        before = tf.config.experimental.tensor_float_32_execution_enabled()
        try:
            ieee_float32()
            assert not tf.config.experimental.tensor_float_32_execution_enabled()
        finally:
            tf.config.experimental.enable_tensor_float_32_execution(before)
    monkeypatch.setenv("NVIDIA_TF32_OVERRIDE", "1")
    assert ieee_float32().startswith("left as NVIDIA_TF32_OVERRIDE=1")


@pytest.mark.parametrize("make", [lambda keras: keras.initializers.RandomNormal(stddev=1.0, seed=3),
                                  lambda keras: keras.initializers.RandomNormal(stddev=1.0),   # unseeded object
                                  lambda keras: keras.initializers.HeNormal(seed=0),
                                  lambda keras: "he_normal"])
def test_mlp_layers_sharing_an_initializer_get_their_own_weights(make):
    import keras

    from nnlab import models, set_seed

    def kernels():
        set_seed(0)
        model = models.mlp((16,), hidden=(8,) * 4, n_outputs=8, kernel_initializer=make(keras))
        return [np.asarray(model.get_layer(n).kernel) for n in ("dense_1", "dense_2", "dense_3", "output")]

    first = kernels()
    # Keras 3 repeats an int-seeded (or unseeded) initializer object's draws on every call:
    # without a copy per layer these four 8×8 kernels would be one matrix four times
    assert all(not np.allclose(a, b) for i, a in enumerate(first) for b in first[i + 1:])
    assert all(np.array_equal(a, b) for a, b in zip(first, kernels()))   # and still the same model after set_seed


def test_layer_initializer_leaves_unseeded_kinds_alone():
    import keras

    from nnlab.models import layer_initializer

    constant = keras.initializers.Constant(-0.5)
    generator = keras.initializers.RandomNormal(seed=keras.random.SeedGenerator(1))
    assert layer_initializer(constant, 3) is constant and layer_initializer(generator, 3) is generator
    assert layer_initializer("zeros", 2) == "zeros"
    copy = layer_initializer(keras.initializers.RandomUniform(-0.05, 0.05, seed=7), 2)
    assert copy.seed == 9 and (copy.minval, copy.maxval) == (-0.05, 0.05)


def test_param_table_matches_keras_count():
    from nnlab import models

    model = models.cnn((28, 28, 1), filters=(4, 8), dense=(16,))
    rows = models.param_table(model)
    assert sum(r.total for r in rows) == model.count_params()
    assert rows[0].weight_shape == (3, 3, 1, 4) and rows[0].bias == 4


def test_optimizer_factory_without_description_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    monkeypatch.setenv("NNLAB_QUIET", "1")
    import keras

    from nnlab import models, training

    splits = _toy_splits()
    build = lambda: models.mlp(splits.input_shape, hidden=(8,), n_outputs=2)  # noqa: E731
    factory = lambda: keras.optimizers.SGD(0.1)  # noqa: E731
    first = training.train(build, splits, name="toy", epochs=1, optimizer=factory)
    again = training.train(build, splits, name="toy", epochs=1, optimizer=factory)
    assert not first.cached and not again.cached
    described = training.train(build, splits, name="toy", epochs=1, optimizer=factory, config={"optimizer": "sgd 0.1"})
    assert training.train(build, splits, name="toy", epochs=1, optimizer=factory,
                          config={"optimizer": "sgd 0.1"}).cached and not described.cached


def test_a_new_lab_run_replaces_its_old_results(tmp_path, monkeypatch):
    from nnlab import results

    monkeypatch.setenv("NNLAB_RESULTS", str(tmp_path))
    monkeypatch.setattr(results, "_STARTED", set())
    results.record("lab_x", "old variant", 0.1)
    results.record("lab_x", "kept", 0.2)
    assert {r.name for r in results.load_all()} == {"old variant", "kept"}
    monkeypatch.setattr(results, "_STARTED", set())  # a new process: the lab runs again
    results.record("lab_x", "new variant", 0.3)
    assert [r.name for r in results.load_all()] == ["new variant"]


def test_clean_cache_forgets_trained_runs_and_search_trials_and_keeps_the_data(tmp_path, monkeypatch):
    from nnlab import training
    from nnlab.__main__ import main

    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    runs, trials, data = training.runs_dir(), tmp_path / "tuner" / "quick" / "mlp", tmp_path / "mnist"
    for folder in (runs / "01", trials, data):
        folder.mkdir(parents=True)
        (folder / "file").write_text("x")
    assert main(["clean-cache"]) == 0
    assert not runs.exists() and not (tmp_path / "tuner").exists() and (data / "file").exists()
    assert main(["clean-cache"]) == 0   # nothing left to remove is not an error


def test_only_the_book_build_writes_where_the_results_page_reads(monkeypatch):
    from nnlab import results

    monkeypatch.delenv("NNLAB_RESULTS", raising=False)   # a script, or a notebook opened with make lab
    assert results.results_dir() == results.REPO_ROOT / "_build" / "lab-results"
    book_recipe = (results.REPO_ROOT / "Makefile").read_text().split("\nbook:", 1)[1].split("\n\n", 1)[0]
    assert 'NNLAB_RESULTS="$(CURDIR)/_build/results" $(BIN)/jupyter-book build' in book_recipe


def test_start_lab_prints_profile_seeds_and_opens_claims(monkeypatch, capsys):
    monkeypatch.setenv("NNLAB_PROFILE", "smoke")
    profile, table = nnlab.start_lab("Lab 0 — Test", seed=5)
    first = np.random.rand()
    nnlab.set_seed(5)
    assert np.random.rand() == first
    assert profile.name == "smoke" and table.chapter == "Lab 0 — Test" and table.profile == profile
    assert "nnlab profile: smoke" in capsys.readouterr().out


def test_tensorflows_retracing_notice_is_dropped_and_its_other_warnings_pass():
    """Sweeps train many models in a row; TensorFlow's "retracing" warning reached the book's pages."""
    import logging

    from nnlab import _environment

    _environment.configure()
    _environment.configure()   # configuring twice adds one filter, not two
    logger = logging.getLogger("tensorflow")
    assert sum(isinstance(f, _environment.DropRetracingNotice) for f in logger.filters) == 1
    seen: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    try:
        logger.warning("5 out of the last 5 calls to <function f at 0x1> triggered tf.function retracing. "
                       "Tracing is expensive and the excessive number of tracings could be due to …")
        logger.warning("Compiled the loaded model, but the compiled metrics have yet to be built.")
    finally:
        logger.removeHandler(handler)
    assert seen == ["Compiled the loaded model, but the compiled metrics have yet to be built."]


def test_tensorboard_folder_is_taken_from_the_repository_root_when_relative(monkeypatch, tmp_path):
    """A lab's kernel runs in labs/: NNLAB_TENSORBOARD=runs must not become labs/runs there."""
    from nnlab import training
    from nnlab.results import REPO_ROOT

    monkeypatch.delenv("NNLAB_TENSORBOARD", raising=False)
    assert training.tensorboard_dir() is None
    monkeypatch.setenv("NNLAB_TENSORBOARD", "runs")
    monkeypatch.chdir(tmp_path)
    assert training.tensorboard_dir() == REPO_ROOT / "runs"
    monkeypatch.setenv("NNLAB_TENSORBOARD", str(tmp_path / "logs"))
    assert training.tensorboard_dir() == tmp_path / "logs"


def test_start_lab_fails_before_training_when_tensorboard_logs_cannot_be_written(monkeypatch, tmp_path):
    """Keras writes the logs through tf.summary, which needs the tensorboard package: without it
    the first epoch trained, then crashed; start_lab now says so before anything trains."""
    from nnlab import lab

    monkeypatch.setenv("NNLAB_PROFILE", "smoke")
    monkeypatch.setenv("NNLAB_TENSORBOARD", str(tmp_path / "logs"))
    monkeypatch.setattr(lab, "_importable", lambda package: package != "tensorboard")
    with pytest.raises(RuntimeError, match=r"tensorboard is not installed.*pip install tensorboard`, or unset"):
        nnlab.start_lab("Lab 0 — Test")
    monkeypatch.setattr(lab, "_importable", lambda package: False)
    with pytest.raises(RuntimeError, match=r"tensorflow and tensorboard are not installed.*pip install tensorflow "
                                           r"tensorboard`"):
        nnlab.start_lab("Lab 0 — Test")
    monkeypatch.setattr(lab, "_importable", lambda package: True)    # both installed: the lab starts
    nnlab.start_lab("Lab 0 — Test")
    monkeypatch.delenv("NNLAB_TENSORBOARD")
    monkeypatch.setattr(lab, "_importable", lambda package: False)   # logs not asked for: nothing is needed
    nnlab.start_lab("Lab 0 — Test")


def test_claims_show_prints_markdown_in_a_script_and_html_in_a_notebook(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("NNLAB_RESULTS", str(tmp_path))
    table = claims.Claims("test", profile=profiles.Profile("smoke"))
    table.check("Report 001", "zero init learns nothing", holds=True, evidence="acc 0.10")
    monkeypatch.setattr(claims, "in_notebook", lambda: False)
    table.show()
    printed = capsys.readouterr().out
    assert "| Report 001 | zero init learns nothing | acc 0.10 | confirmed |" in printed
    assert "IPython" not in printed
    shown = []
    monkeypatch.setattr(claims, "in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    table.show()
    assert capsys.readouterr().out == "" and "<table>" in shown[0].data


def test_claims_show_keeps_the_table_with_its_verdicts_and_survives_an_unwritable_folder(monkeypatch, tmp_path):
    import json

    monkeypatch.setenv("NNLAB_RESULTS", str(tmp_path))
    monkeypatch.setattr(claims, "in_notebook", lambda: False)
    table = claims.Claims("Lab 9 — A test, twice", profile=profiles.Profile("quick"))
    table.check("Report 001", "zero init learns nothing", holds=True, evidence="acc 0.10")
    table.check("Report 002", "ReLU is best", holds=None, evidence="within the noise", kind="accuracy")
    table.show()
    saved = json.loads((tmp_path / "claims" / "lab-9-a-test-twice.json").read_text())
    assert (saved["chapter"], saved["profile"]) == ("Lab 9 — A test, twice", "quick")
    assert [(r["source"], r["holds"], r["asserted"], r["verdict"]) for r in saved["claims"]] == [
        ("Report 001", True, True, "confirmed"), ("Report 002", None, False, "untested here")]
    (tmp_path / "blocked").write_text("a file where the folder should be")
    monkeypatch.setenv("NNLAB_RESULTS", str(tmp_path / "blocked"))
    with pytest.warns(UserWarning, match="could not keep the claims table of Lab 9"):
        table.show()


def test_a_killed_runs_temporary_folder_is_removed_a_day_later(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    monkeypatch.setenv("NNLAB_QUIET", "1")
    from nnlab import models, training

    runs = training.runs_dir()
    old, fresh = runs / ".run-killed.tmp", runs / ".run-in-progress.tmp"
    for folder in (old, fresh):
        folder.mkdir(parents=True)
        (folder / "run.json").write_text("{}")
    os.utime(old, (0, 0))   # 1970: long past the one-day grace
    splits = _toy_splits()
    training.train(lambda: models.mlp(splits.input_shape, hidden=(4,), n_outputs=2), splits, name="toy", epochs=1,
                   config={"width": 4})
    assert not old.exists() and fresh.exists()   # another process's run in progress is left alone


def test_model_signature_describes_a_model_that_cannot_describe_itself_by_its_layers():
    import keras

    from nnlab import training

    class Net(keras.Model):   # a subclass whose __init__ takes an object: Keras cannot write its config
        def __init__(self, width: int, helper: object) -> None:
            super().__init__()
            self.helper = helper
            self.dense = keras.layers.Dense(width)

        def call(self, x):
            return self.dense(x)

    signatures = []
    for width in (3, 3, 5):
        net = Net(width, object())
        net(np.zeros((1, 4)))
        signatures.append(training.model_signature(net))
    assert signatures[0] == signatures[1]
    assert [[name.rsplit(".", 1)[-1], shapes] for name, shapes in signatures[0]] == [["Net", [[4, 3], [3]]],
                                                                                     ["Dense", [[4, 3], [3]]]]
    assert signatures[2] != signatures[0]
