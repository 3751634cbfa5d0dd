"""Small experiments on initialization: repeated matrix products and weight symmetry.

Introduced in lab 1 (Initialization).

- :func:`repeated_matmul_norms` multiplies a vector by 100 random matrices (report-002's
  picture of a deep network's forward or backward pass): with N(0, σ²) entries each product
  scales the norm by about σ·√dim, so after 100 layers it vanishes for σ < 1/√dim and
  explodes for σ > 1/√dim; σ = 1/√dim (Glorot/LeCun for a linear chain) keeps it O(1).
- :func:`symmetry_gap` measures how different the hidden units of a layer are. With zero
  or constant initialization every hidden unit receives the same gradient, so the units
  stay copies of each other however long we train: the gap stays exactly 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nnlab.numpy_mlp import ACTIVATIONS, NumpyMLP, init_weights


def repeated_matmul_norms(
    n_steps: int = 100,
    dim: int = 256,
    sigmas: Sequence[float] | None = None,
    seed: int = 0,
    scheme: str = "normal",
    activation: str | None = None,
) -> dict[float, list[float]]:
    """Norm of x after each of ``n_steps`` products x ← f(W x), one run per σ.

    Introduced in lab 1 (Initialization). x starts as a random unit vector of length
    ``dim``; every step draws a fresh ``dim × dim`` matrix W with ``init_weights(dim, dim,
    scheme, sigma=σ)`` (``scheme`` "normal" or "uniform"; σ is the standard deviation)
    and, if ``activation`` is given ("relu", "tanh", "sigmoid"), applies it after the
    product. Returns ``{σ: [‖x_0‖ = 1, ‖x_1‖, …, ‖x_n_steps‖]}``; values may reach 0.0 or
    inf, as in report-002 (overflow warnings are silenced: that *is* the result).

    ``sigmas`` defaults to (0.01, 0.05, 1/√dim, 0.1, 1.0). For a linear chain
    E‖Wx‖² = σ²·dim·‖x‖², so the norm after n steps is about (σ√dim)ⁿ; with ReLU,
    half the units are zeroed, and σ = √(2/dim) (He) is the one that holds it steady.
    """
    if sigmas is None:
        sigmas = (0.01, 0.05, 1.0 / np.sqrt(dim), 0.1, 1.0)
    f = ACTIVATIONS[activation][0] if activation else None
    results: dict[float, list[float]] = {}
    for sigma in sigmas:
        rng = np.random.default_rng(seed)  # same x_0 and matrices up to scale, for every σ
        x = rng.standard_normal(dim)
        x /= np.linalg.norm(x)
        norms = [1.0]
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            for _ in range(n_steps):
                x = init_weights(dim, dim, scheme, rng, sigma=sigma) @ x
                if f is not None:
                    x = f(x)
                norms.append(float(np.linalg.norm(x)))
        results[float(sigma)] = norms
    return results


def _column_gap(w: np.ndarray) -> float:
    """max over unit pairs (j, k) of max_i |w[i, j] - w[i, k]|, computed row-wise."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 1:  # a bias vector: one "row" of incoming values
        w = w[None, :]
    w = w.reshape(-1, w.shape[-1])  # (incoming, units); conv kernels flatten too
    if w.shape[-1] < 2:
        return 0.0
    return float(np.max(w.max(axis=1) - w.min(axis=1)))


def symmetry_gap(model_or_weights: Any) -> float:
    """How different the hidden units are: 0.0 means every unit is a copy of the others.

    Introduced in lab 1 (Initialization). For a weight matrix ``W`` of shape
    ``(fan_in, units)`` the gap is the largest difference between two units' incoming
    weights, max_{j,k} max_i |W[i, j] - W[i, k]|. Accepts:

    - a :class:`~nnlab.numpy_mlp.NumpyMLP`: the largest gap over its *hidden* layers,
      weights and biases (the output units are different classes, never symmetric);
    - a Keras model: the same over every layer with a ``kernel`` except the last one;
    - one array, or a list of arrays (e.g. ``[W, b]``): the largest gap among them.
    """
    if isinstance(model_or_weights, NumpyMLP):
        m = model_or_weights
        arrays = m.weights[:-1] + m.biases[:-1]
    elif hasattr(model_or_weights, "layers"):  # a Keras model, duck-typed
        dense = [layer for layer in model_or_weights.layers if getattr(layer, "kernel", None) is not None]
        arrays = [np.asarray(w) for layer in dense[:-1] for w in layer.get_weights()]
    elif isinstance(model_or_weights, np.ndarray):
        arrays = [model_or_weights]
    else:
        arrays = list(model_or_weights)
    return max((_column_gap(a) for a in arrays), default=0.0)
