"""Fixed pixel permutations, and the exact argument that an MLP does not care about them.

Introduced in lab 4 (Permutations). A *pixel permutation* is one fixed reordering of the
``h × w`` pixel positions, applied to every image alike (training and test). Convention:
the permuted image's flat pixel ``i`` is the original's flat pixel ``perm[i]``, i.e.
``permuted.reshape(n, -1)[:, i] == x.reshape(n, -1)[:, perm[i]]`` (channels move together).

- :func:`pixel_permutation` draws one seeded permutation of all pixels;
  :func:`patch_permutation` shuffles pixels only inside small square patches, so locality
  survives at scales above the patch size.
- :func:`apply_permutation` permutes a batch of ``(N, H, W)`` or ``(N, H, W, C)`` images;
  :func:`inverse_permutation` undoes it.
- :func:`permute_first_layer` is the exact argument for dense networks: a copy of a trained
  MLP whose first-layer weight rows are reordered computes, on permuted images, exactly
  what the original computes on the original images (up to float rounding).
  :func:`max_output_difference` / :func:`assert_same_function` measure that.
- :func:`neighbour_distance` and :func:`source_mask` describe what a permutation does to
  locality, the thing a convolution relies on.

Backend-agnostic Keras 3: nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

# Layers that may sit between the input and the first dense layer without changing which
# input value feeds which kernel row (flattening is row-major, so (H, W, C) → H·W·C).
_TRANSPARENT = (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Reshape, keras.layers.Dropout)


def _check_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def check_permutation(perm: Sequence[int] | np.ndarray, n: int | None = None) -> np.ndarray:
    """Return ``perm`` as an int64 array after checking it is a bijection of ``range(n)``.

    Raises :class:`ValueError` with the reason (wrong dimension, wrong length, repeated or
    out-of-range indices).
    """
    arr = np.asarray(perm)
    if arr.ndim != 1:
        raise ValueError(f"a permutation must be a 1-D array of indices, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"a permutation must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if n is not None and len(arr) != n:
        raise ValueError(f"the permutation has {len(arr)} entries but the images have {n} pixels")
    if not np.array_equal(np.sort(arr), np.arange(len(arr))):
        raise ValueError(f"not a permutation: the entries must be 0 … {len(arr) - 1}, each exactly once")
    return arr


def pixel_permutation(n_pixels: int, seed: int) -> np.ndarray:
    """One fixed, seeded permutation of ``n_pixels`` positions (int64, a bijection)."""
    n_pixels = _check_int(n_pixels, "n_pixels")
    seed = _check_int(seed, "seed", minimum=0)
    return np.random.default_rng(seed).permutation(n_pixels).astype(np.int64)


def inverse_permutation(perm: Sequence[int] | np.ndarray) -> np.ndarray:
    """The permutation that undoes ``perm``: ``apply(apply(x, perm), inverse) == x``."""
    perm = check_permutation(perm)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(len(perm))
    return inverse


def patch_permutation(h: int, w: int, patch: int, seed: int) -> np.ndarray:
    """A permutation of ``h × w`` pixels that only moves pixels within ``patch × patch`` tiles.

    Tiles cover the image from the top-left corner; tiles on the right/bottom edge are
    smaller when ``patch`` does not divide the size. ``patch=1`` is the identity and
    ``patch >= max(h, w)`` a full permutation, equal to ``pixel_permutation(h * w, seed)``.
    """
    h, w, patch = (_check_int(v, k) for v, k in ((h, "h"), (w, "w"), (patch, "patch")))
    rng = np.random.default_rng(_check_int(seed, "seed", minimum=0))
    flat = np.arange(h * w).reshape(h, w)
    perm = np.empty((h, w), dtype=np.int64)
    for top in range(0, h, patch):
        for left in range(0, w, patch):
            tile = flat[top:top + patch, left:left + patch]
            perm[top:top + patch, left:left + patch] = rng.permutation(tile.ravel()).reshape(tile.shape)
    return perm.ravel()


def apply_permutation(x: np.ndarray, perm: Sequence[int] | np.ndarray) -> np.ndarray:
    """Permute the pixels of a batch of images ``(N, H, W)`` or ``(N, H, W, C)``.

    Every image gets the same permutation; the channels of a pixel move together. The
    result has the input's shape and dtype.
    """
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"expected a batch of images (N, H, W) or (N, H, W, C), got shape {x.shape}")
    n, h, w = x.shape[:3]
    perm = check_permutation(perm, h * w)
    flat = x.reshape(n, h * w, -1)
    return np.ascontiguousarray(flat[:, perm, :].reshape(x.shape))


def _first_dense(model: keras.Model) -> keras.layers.Dense:
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            return layer
        if not isinstance(layer, _TRANSPARENT) or layer.weights:
            break
    raise ValueError(
        "permute_first_layer needs a model whose first layer with weights is a Dense layer fed by "
        f"the flattened pixels (as nnlab.models.mlp builds); {model.name!r} starts with "
        f"{[type(layer).__name__ for layer in model.layers[:4]]}"
    )


def permute_first_layer(model: keras.Model, perm: Sequence[int] | np.ndarray) -> keras.Model:
    """A copy of a dense network that, fed permuted images, computes what ``model`` computes.

    The first dense layer computes ``x @ W + b`` with one kernel row per input value. With
    ``p[i] = x[perm[i]]``, ``p @ W[perm] = Σ_i x[perm[i]] W[perm[i]] = x @ W``: reordering the
    rows of ``W`` by the same permutation gives the same pre-activations, hence the same
    network. So ``copy(apply_permutation(x, perm)) == model(x)`` up to float rounding. The
    copy has its own weights (``model`` is untouched) and is not compiled.
    """
    dense = _first_dense(model)
    kernel = keras.ops.convert_to_numpy(dense.kernel)
    n_inputs = int(np.prod(model.input_shape[1:]))
    if kernel.shape[0] != n_inputs:
        raise ValueError(f"the first dense layer has {kernel.shape[0]} rows but the input has {n_inputs} values")
    perm = check_permutation(perm)
    if n_inputs % len(perm):
        raise ValueError(f"a permutation of {len(perm)} pixels does not fit an input of {n_inputs} values")
    channels = n_inputs // len(perm)
    # Pixel k's channels are rows k·C … k·C + C − 1 of the flattened (H, W, C) input.
    rows = (perm[:, None] * channels + np.arange(channels)[None, :]).ravel()

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.get_layer(dense.name).kernel.assign(kernel[rows])
    return copy


def _outputs(model: keras.Model, x: np.ndarray, batch_size: int) -> np.ndarray:
    parts = [keras.ops.convert_to_numpy(model(x[i:i + batch_size], training=False))
             for i in range(0, len(x), batch_size)]
    return np.concatenate(parts, axis=0)


def max_output_difference(model_a: keras.Model, xa: np.ndarray, model_b: keras.Model, xb: np.ndarray,
                          *, batch_size: int = 1024) -> float:
    """The largest absolute difference between ``model_a(xa)`` and ``model_b(xb)`` (inference mode)."""
    xa, xb = np.asarray(xa, dtype="float32"), np.asarray(xb, dtype="float32")
    if len(xa) != len(xb):
        raise ValueError(f"xa and xb must hold the same number of examples, got {len(xa)} and {len(xb)}")
    if len(xa) == 0:
        raise ValueError("no examples to compare")
    out_a, out_b = _outputs(model_a, xa, batch_size), _outputs(model_b, xb, batch_size)
    if out_a.shape != out_b.shape:
        raise ValueError(f"the models' outputs differ in shape: {out_a.shape} vs {out_b.shape}")
    return float(np.max(np.abs(out_a.astype(np.float64) - out_b.astype(np.float64))))


def assert_same_function(model_a: keras.Model, xa: np.ndarray, model_b: keras.Model, xb: np.ndarray,
                         *, atol: float = 1e-5) -> float:
    """Raise :class:`AssertionError` unless the outputs agree within ``atol``; return the difference."""
    diff = max_output_difference(model_a, xa, model_b, xb)
    if not diff <= atol:
        raise AssertionError(f"outputs differ by up to {diff:.3g} (> tolerance {atol:g}): not the same function")
    return diff


def neighbour_distance(perm: Sequence[int] | np.ndarray, h: int, w: int) -> float:
    """How far apart, in the original image, pixels lie that are neighbours after permuting.

    The mean Euclidean distance (in pixels) between the original positions of every
    horizontally or vertically adjacent pair of the permuted image: 1 for the identity,
    about 0.52·side for a full permutation of a square image. A 3×3 convolution sees
    neighbours only, so this is the locality it has left to exploit.
    """
    h, w = _check_int(h, "h"), _check_int(w, "w")
    src = check_permutation(perm, h * w).reshape(h, w)
    rows, cols = np.divmod(src, w)
    dists = [np.hypot(rows[:, 1:] - rows[:, :-1], cols[:, 1:] - cols[:, :-1]).ravel(),
             np.hypot(rows[1:, :] - rows[:-1, :], cols[1:, :] - cols[:-1, :]).ravel()]
    return float(np.concatenate(dists).mean())


def source_mask(perm: Sequence[int] | np.ndarray, h: int, w: int, row: int, col: int, size: int = 3) -> np.ndarray:
    """Where a ``size × size`` window of the permuted image takes its pixels from.

    Returns an ``(h, w)`` float array, 1 at the original positions of the pixels that the
    window at ``(row, col)`` (top-left corner) of the permuted image contains, 0 elsewhere:
    the receptive field of one convolution, drawn on the original image.
    """
    h, w = _check_int(h, "h"), _check_int(w, "w")
    size = _check_int(size, "size")
    if not (0 <= row <= h - size and 0 <= col <= w - size):
        raise ValueError(f"a {size}×{size} window at ({row}, {col}) does not fit a {h}×{w} image")
    src = check_permutation(perm, h * w).reshape(h, w)
    mask = np.zeros(h * w, dtype=np.float32)
    mask[src[row:row + size, col:col + size].ravel()] = 1.0
    return mask.reshape(h, w)
