"""A multilayer perceptron written from scratch in NumPy: forward, backward, SGD.

Introduced in lab 1 (Initialization). The whole model fits on a screen, in the spirit of
micrograd: a list of weight matrices, one activation function, softmax + cross-entropy on
top, and the chain rule written out by hand. Nothing is hidden behind a framework, so the
lab can look at every number — and check every gradient (see :mod:`nnlab.gradcheck`).

Notation, for a batch of ``B`` examples and layer ``l = 1 … L``::

    a0 = x                          (B, n0)     the input
    z_l = a_{l-1} @ W_l + b_l       (B, n_l)    pre-activation
    a_l = f(z_l)                    (B, n_l)    hidden activation (l < L)
    p  = softmax(z_L)               (B, K)      class probabilities
    loss = mean_i -log p[i, y_i]                cross-entropy

The module also holds :func:`activation_stats`, the per-layer statistics (mean, std,
saturated and dead units) that lab 2 (Activations) reuses for Keras models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Array = np.ndarray

# ---------------------------------------------------------------------------------------
# Activations: each is a pair (f, df) where df takes the *output* a = f(z) and z.
# ---------------------------------------------------------------------------------------


def _relu(z: Array) -> Array:
    return np.maximum(z, 0.0)


def _relu_grad(z: Array, a: Array) -> Array:
    return (z > 0).astype(z.dtype)  # 1 where the unit is active, 0 elsewhere


def _tanh(z: Array) -> Array:
    return np.tanh(z)


def _tanh_grad(z: Array, a: Array) -> Array:
    return 1.0 - a**2  # d tanh(z)/dz = 1 - tanh(z)^2


def _sigmoid(z: Array) -> Array:
    # 1 / (1 + e^-z), written so that neither branch overflows
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_grad(z: Array, a: Array) -> Array:
    return a * (1.0 - a)  # d sigma(z)/dz = sigma(z) (1 - sigma(z))


ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array, Array], Array]]] = {
    "relu": (_relu, _relu_grad),
    "tanh": (_tanh, _tanh_grad),
    "sigmoid": (_sigmoid, _sigmoid_grad),
}
"""Name -> (f, df). ``df(z, a)`` is f'(z), given z and a = f(z). Tests may swap entries."""


def softmax(z: Array) -> Array:
    """Row-wise softmax; subtracting the row maximum keeps ``exp`` from overflowing."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(z: Array, y: Array) -> float:
    """Mean cross-entropy of logits ``z`` (B, K) against integer labels ``y`` (B,).

    Uses log-softmax = z - logsumexp(z), so a confident wrong answer gives a large finite
    loss instead of ``log(0)``.
    """
    zmax = z.max(axis=1, keepdims=True)
    log_p = z - zmax - np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def exact_matmul(a: Array, b: Array) -> Array:
    """``a @ b`` computed by ``np.einsum``, which sums every output entry in the same order.

    BLAS (behind ``@``) splits a product into blocks and handles the edge columns with
    other kernels, so two *identical* columns of ``b`` can give results that differ in the
    last bit (~1e-16). Here they cannot: identical units stay bit-for-bit identical. It is
    several times slower than BLAS; ``NumpyMLP(..., exact=True)`` uses it.
    """
    return np.einsum("ij,jk->ik", a, b)


def _as_labels(y: Array) -> Array:
    """Accept integer labels, (B,) or a column (B, 1) as Keras's CIFAR-10 gives them, or one-hot
    rows (B, K); return integer labels (B,)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0].astype(np.int64)
    if y.ndim == 2:
        if not np.allclose(y.sum(axis=1), 1.0):
            raise ValueError(f"labels of shape {y.shape}: rows of a (B, K) array must be one-hot (sum to 1); "
                             "give integer labels of shape (B,) otherwise")
        return y.argmax(axis=1)
    if y.ndim != 1:
        raise ValueError(f"labels of shape {y.shape}: give integer labels (B,) or one-hot rows (B, K)")
    return y.astype(np.int64)


# ---------------------------------------------------------------------------------------
# Initialization
# ---------------------------------------------------------------------------------------

INIT_SCHEMES = ("zero", "constant", "normal", "uniform", "glorot", "he")


def init_weights(
    fan_in: int,
    fan_out: int,
    scheme: str = "glorot",
    rng: np.random.Generator | None = None,
    sigma: float | None = None,
    value: float = 0.1,
    dtype: type = np.float64,
) -> Array:
    """Return a ``(fan_in, fan_out)`` weight matrix drawn with one initialization scheme.

    Introduced in lab 1 (Initialization). Schemes:

    - ``"zero"``: all zeros (every hidden unit computes the same thing, forever).
    - ``"constant"``: every weight equals ``value`` (same symmetry problem).
    - ``"normal"``: N(0, sigma²); ``sigma`` defaults to 0.01.
    - ``"uniform"``: U(-√3·sigma, √3·sigma), whose standard deviation is ``sigma``
      (default 0.01), so "normal" and "uniform" with the same sigma have the same spread.
    - ``"glorot"``: Glorot/Xavier uniform, U(-r, r) with r = √(6 / (fan_in + fan_out));
      std = √(2 / (fan_in + fan_out)) keeps the variance of activations *and* gradients
      about constant across layers (Glorot & Bengio, 2010).
    - ``"he"``: He normal, N(0, 2 / fan_in): ReLU zeroes half the units, so the variance
      needs a factor 2 to survive each layer (He et al., 2015).

    For every scheme, ``sigma`` (where it applies) is a standard deviation. Without ``rng``
    the draw comes from a generator seeded with 0, so it is the same on every call and rerun;
    pass one generator to draw several different matrices.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    shape = (fan_in, fan_out)
    if scheme == "zero":
        w = np.zeros(shape)
    elif scheme == "constant":
        w = np.full(shape, float(value))
    elif scheme == "normal":
        w = rng.normal(0.0, 0.01 if sigma is None else sigma, size=shape)
    elif scheme == "uniform":
        r = np.sqrt(3.0) * (0.01 if sigma is None else sigma)  # Var U(-r, r) = r² / 3
        w = rng.uniform(-r, r, size=shape)
    elif scheme == "glorot":
        r = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-r, r, size=shape)
    elif scheme == "he":
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    else:
        raise ValueError(f"unknown init scheme {scheme!r}; choose one of {INIT_SCHEMES}")
    return w.astype(dtype)


# ---------------------------------------------------------------------------------------
# Statistics shared with the Keras labs
# ---------------------------------------------------------------------------------------

SATURATION_TESTS: dict[str, Callable[[Array], Array]] = {
    # "saturated" = the activation sits where its derivative is (almost) zero
    "relu": lambda a: a <= 0.0,  # the flat half of ReLU
    "tanh": lambda a: np.abs(a) > 0.99,  # tanh' = 1 - a² < 0.02
    "sigmoid": lambda a: (a < 0.01) | (a > 0.99),  # sigmoid' = a (1 - a) < 0.01
    "elu": lambda a: a < -0.99,  # elu' = a + 1 < 0.01 for z < 0
    "softmax": lambda a: (a < 0.01) | (a > 0.99),
    "linear": lambda a: np.zeros(a.shape, dtype=bool),  # never flat
}
"""Activation name -> test on activations that marks saturated entries. Extend freely."""


def activation_stats(
    activations: Sequence[Array],
    activation: str | Sequence[str | None] | None = None,
) -> list[dict[str, float]]:
    """Per-layer statistics of activations, for any model (NumPy MLP or Keras).

    Introduced in lab 1 (Initialization); reused in lab 2 (Activations).

    ``activations`` is a list with one array per layer, shaped ``(batch, ..., units)``
    (units on the last axis, as in Keras, so conv feature maps work too). ``activation``
    names the function that produced each array (one name for all layers, or one per
    layer); it decides what "saturated" means (see :data:`SATURATION_TESTS`). Returns one
    dict per layer with:

    - ``mean``, ``std``: of all entries;
    - ``frac_zero``: fraction of entries exactly 0 (inactive ReLU outputs);
    - ``frac_saturated``: fraction of entries where the activation's derivative is ~0;
    - ``frac_dead``: fraction of units saturated for *every* example in the batch (for
      ReLU: never positive). A dead unit passes no gradient, so it cannot recover.

    Both are NaN when the activation is not given or not in :data:`SATURATION_TESTS`.
    """
    n = len(activations)
    names = [activation] * n if activation is None or isinstance(activation, str) else list(activation)
    if len(names) != n:
        raise ValueError(f"got {n} activation arrays but {len(names)} activation names")
    stats = []
    for a, name in zip(activations, names):
        a = np.asarray(a, dtype=np.float64)
        test = SATURATION_TESTS.get(name) if name else None
        if test is None:
            saturated = dead = float("nan")
        else:
            flat = test(a).reshape(-1, a.shape[-1])  # (examples × positions, units)
            saturated = float(flat.mean())
            dead = float(flat.all(axis=0).mean())
        stats.append(
            {
                "mean": float(a.mean()),
                "std": float(a.std()),
                "frac_zero": float(np.mean(a == 0.0)),
                "frac_saturated": saturated,
                "frac_dead": dead,
            }
        )
    return stats


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------


class NumpyMLP:
    """A fully connected classifier in plain NumPy: hidden layers + softmax output.

    Introduced in lab 1 (Initialization).

    >>> model = NumpyMLP([784, 128, 10], activation="relu", init="he", seed=0)
    >>> history = model.train(x_train, y_train, epochs=5, batch_size=100, lr=0.1,
    ...                       x_val=x_val, y_val=y_val)          # doctest: +SKIP

    ``layer_sizes`` lists the widths from input to output. ``init`` is a scheme of
    :func:`init_weights` (``sigma`` and ``value`` are passed on to it); biases start at
    zero. All arithmetic is float64 by default, which the gradient check needs.

    ``exact=True`` computes every matrix product with :func:`exact_matmul` instead of BLAS:
    slower, but hidden units that start identical (zero or constant init) then stay
    *exactly* identical, so ``symmetry_gap(model) == 0.0`` holds bit for bit. With BLAS
    they stay identical only up to round-off (~1e-16), except for zero init, where every
    hidden weight stays exactly 0 either way.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "relu",
        init: str = "glorot",
        seed: int = 0,
        sigma: float | None = None,
        value: float = 0.1,
        dtype: type = np.float64,
        exact: bool = False,
    ) -> None:
        if len(layer_sizes) < 2:
            raise ValueError("layer_sizes needs at least an input and an output size")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {list(ACTIVATIONS)}")
        self.layer_sizes = list(layer_sizes)
        self.activation = activation
        self.init = init
        self.dtype = dtype
        self.exact = exact
        self._matmul: Callable[[Array, Array], Array] = exact_matmul if exact else np.matmul
        rng = np.random.default_rng(seed)
        pairs = zip(self.layer_sizes[:-1], self.layer_sizes[1:])
        self.weights: list[Array] = [
            init_weights(n_in, n_out, init, rng, sigma=sigma, value=value, dtype=dtype)
            for n_in, n_out in pairs
        ]
        self.biases: list[Array] = [np.zeros(n, dtype=dtype) for n in self.layer_sizes[1:]]
        self.grads: list[Array] = [np.zeros_like(p) for p in self.params]
        self._cache: dict[str, list[Array]] | None = None

    # -- parameters ---------------------------------------------------------------------
    @property
    def params(self) -> list[Array]:
        """``[W1, b1, W2, b2, …]``: the arrays themselves, so in-place updates stick."""
        return [p for wb in zip(self.weights, self.biases) for p in wb]

    @property
    def n_layers(self) -> int:
        """The number of weight layers (hidden layers + the output layer)."""
        return len(self.weights)

    def count_params(self) -> int:
        """Weights and biases in all, as Keras's ``model.count_params()`` counts them."""
        return sum(p.size for p in self.params)

    # -- forward and backward -----------------------------------------------------------
    def forward(self, x: Array) -> Array:
        """Return class probabilities (B, K); cache every z and a for :meth:`backward`."""
        f, _ = ACTIVATIONS[self.activation]
        a = np.asarray(x, dtype=self.dtype).reshape(len(x), -1)
        zs, As = [], [a]
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            z = self._matmul(a, W) + b  # z_l = a_{l-1} @ W_l + b_l
            zs.append(z)
            if i < self.n_layers - 1:  # hidden layer
                a = f(z)
                As.append(a)
        probs = softmax(zs[-1])
        self._cache = {"z": zs, "a": As, "probs": [probs]}
        return probs

    def backward(self, y: Array) -> list[Array]:
        """Backpropagate the mean cross-entropy of the last :meth:`forward`; fill ``grads``.

        The chain rule, from the top:
            dL/dz_L = (p - onehot(y)) / B                 softmax + cross-entropy
            dL/dW_l = a_{l-1}ᵀ @ dL/dz_l,   dL/db_l = Σ_batch dL/dz_l
            dL/dz_{l-1} = (dL/dz_l @ W_lᵀ) * f'(z_{l-1})
        """
        if self._cache is None:
            raise RuntimeError("call forward(x) before backward(y)")
        _, df = ACTIVATIONS[self.activation]
        y = _as_labels(y)
        zs, As, probs = self._cache["z"], self._cache["a"], self._cache["probs"][0]
        delta = probs.copy()
        delta[np.arange(len(y)), y] -= 1.0  # p - onehot(y)
        delta /= len(y)
        grads_w: list[Array] = [np.empty(0)] * self.n_layers
        grads_b: list[Array] = [np.empty(0)] * self.n_layers
        for l in reversed(range(self.n_layers)):
            grads_w[l] = self._matmul(As[l].T, delta)  # a_{l-1}ᵀ @ dL/dz_l
            grads_b[l] = delta.sum(axis=0)
            if l > 0:  # pass the error down through W_l and the activation below it
                delta = self._matmul(delta, self.weights[l].T) * df(zs[l - 1], As[l])
        self.grads = [g for gb in zip(grads_w, grads_b) for g in gb]
        return self.grads

    def loss(self, x: Array, y: Array) -> float:
        """Mean cross-entropy on (x, y); runs a forward pass (and refreshes the cache)."""
        self.forward(x)
        return cross_entropy(self._cache["z"][-1], _as_labels(y))

    def sgd_step(self, lr: float) -> None:
        """Plain gradient descent: p ← p - lr · dL/dp, in place, for every parameter."""
        for p, g in zip(self.params, self.grads):
            p -= lr * g

    # -- using the model ----------------------------------------------------------------
    def predict_proba(self, x: Array, batch_size: int = 10_000) -> Array:
        """Class probabilities, computed in chunks so large sets fit in memory."""
        return np.concatenate([self.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])

    def predict(self, x: Array, batch_size: int = 10_000) -> Array:
        """Predicted class labels (the arg-max of :meth:`predict_proba`)."""
        return self.predict_proba(x, batch_size).argmax(axis=1)

    def evaluate(self, x: Array, y: Array) -> tuple[float, float]:
        """Return (mean cross-entropy, accuracy) on (x, y)."""
        y = _as_labels(y)
        p = self.predict_proba(x)
        loss = float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None)).mean())
        return loss, float((p.argmax(axis=1) == y).mean())

    def train(
        self,
        x: Array,
        y: Array,
        epochs: int = 10,
        batch_size: int = 100,
        lr: float = 0.1,
        x_val: Array | None = None,
        y_val: Array | None = None,
        seed: int = 0,
    ) -> dict[str, list[float]]:
        """Mini-batch SGD; return a Keras-style history of per-epoch metrics.

        Keys: ``loss`` and ``accuracy`` (averaged over the epoch's mini-batches, as Keras
        reports them), plus ``val_loss`` and ``val_accuracy`` (measured at the end of each
        epoch) when validation data is given. The batches are shuffled with ``seed``.
        """
        rng = np.random.default_rng(seed)
        y = _as_labels(y)
        history: dict[str, list[float]] = {"loss": [], "accuracy": []}
        if x_val is not None:
            history.update(val_loss=[], val_accuracy=[])
        for _ in range(epochs):
            order = rng.permutation(len(x))
            losses, hits = [], 0
            for start in range(0, len(x), batch_size):
                idx = order[start : start + batch_size]
                probs = self.forward(x[idx])
                losses.append(cross_entropy(self._cache["z"][-1], y[idx]) * len(idx))
                hits += int((probs.argmax(axis=1) == y[idx]).sum())
                self.backward(y[idx])
                self.sgd_step(lr)
            history["loss"].append(float(np.sum(losses) / len(x)))
            history["accuracy"].append(hits / len(x))
            if x_val is not None:
                val_loss, val_acc = self.evaluate(x_val, y_val)
                history["val_loss"].append(val_loss)
                history["val_accuracy"].append(val_acc)
        return history

    # -- looking inside -----------------------------------------------------------------
    def layer_stats(self) -> list[dict[str, float | int | str]]:
        """Per-layer statistics after a :meth:`forward` + :meth:`backward` on one batch.

        One dict per layer (hidden layers, then the softmax output layer) with the
        :func:`activation_stats` of its output, plus ``layer`` (1-based), ``units``,
        ``weight_std``, ``grad_norm`` (‖dL/dW‖) and ``bias_grad_norm`` (‖dL/db‖).
        Vanishing gradients show up as ``grad_norm`` shrinking towards the input.
        """
        if self._cache is None:
            raise RuntimeError("call forward(x) and backward(y) before layer_stats()")
        outputs = self._cache["a"][1:] + self._cache["probs"]
        names = [self.activation] * (self.n_layers - 1) + ["softmax"]
        stats = activation_stats(outputs, names)
        for l, s in enumerate(stats):
            s.update(
                layer=l + 1,
                units=self.layer_sizes[l + 1],
                activation=names[l],
                weight_std=float(self.weights[l].std()),
                grad_norm=float(np.linalg.norm(self.grads[2 * l])),
                bias_grad_norm=float(np.linalg.norm(self.grads[2 * l + 1])),
            )
        return stats

    def __repr__(self) -> str:
        return (
            f"NumpyMLP({self.layer_sizes}, activation={self.activation!r}, "
            f"init={self.init!r}, params={self.count_params():,})"
        )
