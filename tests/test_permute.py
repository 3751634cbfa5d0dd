"""Unit tests of nnlab.permute: permutations, patch permutations and the exact MLP equivalence."""

from __future__ import annotations

import numpy as np
import pytest

import nnlab
from nnlab import permute
from nnlab.models import cnn, mlp

H = W = 8
TOL = 1e-5


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).random((32, H, W), dtype=np.float32)


@pytest.fixture(scope="module")
def small_mlp():
    nnlab.set_seed(0)
    return mlp((H, W), hidden=(16, 12), n_outputs=5)


def test_pixel_permutation_is_a_seeded_bijection():
    perm = permute.pixel_permutation(H * W, seed=3)
    assert perm.shape == (H * W,) and perm.dtype == np.int64
    np.testing.assert_array_equal(np.sort(perm), np.arange(H * W))
    np.testing.assert_array_equal(perm, permute.pixel_permutation(H * W, seed=3))
    assert not np.array_equal(perm, permute.pixel_permutation(H * W, seed=4))
    assert not np.array_equal(perm, np.arange(H * W))


def test_inverse_undoes_the_permutation(images):
    perm = permute.pixel_permutation(H * W, seed=0)
    inverse = permute.inverse_permutation(perm)
    np.testing.assert_array_equal(perm[inverse], np.arange(H * W))
    np.testing.assert_array_equal(inverse[perm], np.arange(H * W))
    shuffled = permute.apply_permutation(images, perm)
    assert not np.array_equal(shuffled, images)
    np.testing.assert_array_equal(permute.apply_permutation(shuffled, inverse), images)


def test_apply_permutation_convention_and_shapes(images):
    perm = permute.pixel_permutation(H * W, seed=0)
    out = permute.apply_permutation(images, perm)
    assert out.shape == images.shape and out.dtype == images.dtype
    np.testing.assert_array_equal(out.reshape(len(images), -1), images.reshape(len(images), -1)[:, perm])
    # Each image keeps its pixel values, only their places change.
    np.testing.assert_array_equal(np.sort(out.reshape(len(out), -1)), np.sort(images.reshape(len(images), -1)))


def test_channels_move_together():
    rgb = np.random.default_rng(0).random((4, H, W, 3), dtype=np.float32)
    perm = permute.pixel_permutation(H * W, seed=2)
    out = permute.apply_permutation(rgb, perm)
    assert out.shape == rgb.shape
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], permute.apply_permutation(rgb[..., c], perm))


def test_patch_permutation_keeps_pixels_inside_their_patch():
    for h, w, patch in ((28, 28, 4), (28, 28, 7), (10, 7, 3)):
        perm = permute.patch_permutation(h, w, patch, seed=0)
        permute.check_permutation(perm, h * w)
        dest_r, dest_c = np.divmod(np.arange(h * w), w)
        src_r, src_c = np.divmod(perm, w)
        np.testing.assert_array_equal(dest_r // patch, src_r // patch)
        np.testing.assert_array_equal(dest_c // patch, src_c // patch)
        assert np.mean(perm != np.arange(h * w)) > 0.5  # it does move most pixels


def test_patch_permutation_limits():
    np.testing.assert_array_equal(permute.patch_permutation(6, 6, 1, seed=0), np.arange(36))
    np.testing.assert_array_equal(permute.patch_permutation(6, 6, 6, seed=5), permute.pixel_permutation(36, seed=5))


def test_neighbour_distance_measures_lost_locality():
    assert permute.neighbour_distance(np.arange(28 * 28), 28, 28) == pytest.approx(1.0)
    small = permute.neighbour_distance(permute.patch_permutation(28, 28, 2, seed=0), 28, 28)
    large = permute.neighbour_distance(permute.pixel_permutation(28 * 28, seed=0), 28, 28)
    assert 1.0 < small < 3.0 < 12.0 < large < 17.0


def test_source_mask_marks_the_window_sources():
    perm = permute.pixel_permutation(H * W, seed=0)
    mask = permute.source_mask(perm, H, W, row=2, col=3, size=3)
    assert mask.shape == (H, W) and mask.sum() == 9
    np.testing.assert_array_equal(permute.source_mask(np.arange(H * W), H, W, 0, 0, 2)[:2, :2], np.ones((2, 2)))
    with pytest.raises(ValueError, match="does not fit"):
        permute.source_mask(perm, H, W, row=7, col=0, size=3)


def test_first_layer_permutation_gives_the_same_function(images, small_mlp):
    perm = permute.pixel_permutation(H * W, seed=7)
    copy = permute.permute_first_layer(small_mlp, perm)
    shuffled = permute.apply_permutation(images, perm)
    diff = permute.max_output_difference(small_mlp, images, copy, shuffled)
    assert diff <= TOL
    assert permute.assert_same_function(small_mlp, images, copy, shuffled, atol=TOL) == diff
    # The copy is a separate model; the original keeps its weights.
    assert copy is not small_mlp
    assert permute.max_output_difference(small_mlp, images, small_mlp, images) == 0.0


@pytest.mark.parametrize("wrong", ["inverse", "other seed", "unpermuted input"])
def test_wrong_permutation_fails_the_check(images, small_mlp, wrong):
    perm = permute.pixel_permutation(H * W, seed=7)
    copy = permute.permute_first_layer(small_mlp, perm)
    fed = {
        "inverse": permute.apply_permutation(images, permute.inverse_permutation(perm)),
        "other seed": permute.apply_permutation(images, permute.pixel_permutation(H * W, seed=8)),
        "unpermuted input": images,
    }[wrong]
    diff = permute.max_output_difference(small_mlp, images, copy, fed)
    assert diff > 100 * TOL
    with pytest.raises(AssertionError, match="not the same function"):
        permute.assert_same_function(small_mlp, images, copy, fed, atol=TOL)


def test_equivalence_with_channels_dropout_and_batch_norm():
    nnlab.set_seed(1)
    model = mlp((H, W, 2), hidden=(10,), n_outputs=3, dropout=0.3, batch_norm=True)
    x = np.random.default_rng(2).random((16, H, W, 2), dtype=np.float32)
    perm = permute.pixel_permutation(H * W, seed=1)
    copy = permute.permute_first_layer(model, perm)
    assert permute.max_output_difference(model, x, copy, permute.apply_permutation(x, perm)) <= TOL


def test_bad_inputs_give_clear_errors(images, small_mlp):
    perm = permute.pixel_permutation(H * W, seed=0)
    with pytest.raises(ValueError, match="has 63 entries but the images have 64 pixels"):
        permute.apply_permutation(images, perm[:-1])
    with pytest.raises(ValueError, match="not a permutation"):
        permute.apply_permutation(images, np.zeros(H * W, dtype=int))
    with pytest.raises(ValueError, match="1-D"):
        permute.apply_permutation(images, perm.reshape(H, W))
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        permute.apply_permutation(images.reshape(len(images), -1), perm)
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        permute.apply_permutation(images[0], perm)
    with pytest.raises(ValueError, match="integers"):
        permute.apply_permutation(images, perm.astype(float))
    with pytest.raises(ValueError, match="does not fit"):
        permute.permute_first_layer(small_mlp, permute.pixel_permutation(10, seed=0))
    with pytest.raises(ValueError, match="Dense layer"):
        permute.permute_first_layer(cnn((H, W, 1), filters=(2,), dense=(4,)), perm)
    with pytest.raises(ValueError, match="same number"):
        permute.max_output_difference(small_mlp, images, small_mlp, images[:-1])
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError):
            permute.pixel_permutation(bad, seed=0)
    with pytest.raises(ValueError):
        permute.patch_permutation(28, 28, 0, seed=0)
    with pytest.raises(ValueError):
        permute.pixel_permutation(10, seed=-1)
