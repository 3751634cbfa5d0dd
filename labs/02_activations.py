# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Activations
#
# Without a nonlinearity between them, a stack of dense layers collapses into one linear
# map. The activation function is what lets depth buy anything — and its shape decides how
# well a gradient survives the trip back through the layers. This lab compares hidden
# activations old and new, pairs each output activation with the loss it was made for,
# looks inside networks for units that have stopped passing gradient, and maps which
# combinations of activation, initialization and depth train at all.
#
# **You will see**
#
# - six hidden activations (ReLU, ELU, tanh, sigmoid and today's GELU and SiLU) and their
#   slopes, measured, not assumed;
# - the same six trained on Fashion-MNIST with plain SGD and with Adam (Report 000);
# - output softmax, sigmoid, softplus and exponential, each with its matching loss and with
#   a mismatched one — and what Keras does quietly when they do not match (Report 004);
# - saturated and dead units layer by layer, and the exact zero gradient of a dead ReLU;
# - a grid of activation × initialization × depth: which networks train (Report 002).

# %% tags=["hide-input"]
import numpy as np
import nnlab
from nnlab import set_seed

profile, claims = nnlab.start_lab("Lab 2 — Activations")

import time
from dataclasses import replace

import keras
import pandas as pd
from IPython.display import display
from keras import ops

from nnlab import models, plots, results, training
from nnlab.claims import accuracy_noise_margin, ahead_beyond_noise, all_hold, level, not_beaten
from nnlab.inspect import activation_stats, kernel_gradients, layer_outputs
from nnlab.numpy_mlp import NumpyMLP
from nnlab.splits import load_splits
from nnlab.sweeps import sweep

LAB = "02_activations"
HIDDEN = ["relu", "elu", "tanh", "sigmoid", "gelu", "silu"]

# %% [markdown]
# ## Six functions and their slopes
#
# During backpropagation every hidden layer multiplies the incoming error by the slope
# $f'(z)$ of its activation at the pre-activation $z$. So the slope matters as much as the
# function. We evaluate each activation with `keras.activations` (the functions the layers
# use) and measure its slope by a central difference, $f'(z) \approx (f(z+h) - f(z-h))/(2h)$
# with $h = 0.01$.
#
# - **sigmoid** $\sigma(z) = 1/(1+e^{-z})$ and **tanh** squash everything into $(0, 1)$ or
#   $(-1, 1)$; far from 0 they are flat.
# - **ReLU** $\max(0, z)$ has slope exactly 1 or exactly 0.
# - **ELU** is $z$ for $z>0$ and $e^z - 1$ below: smooth, and negative outputs keep the mean
#   near 0.
# - **GELU** $z\,\Phi(z)$ ($\Phi$ the normal CDF) and **SiLU** (swish) $z\,\sigma(z)$ are
#   smooth ReLUs used in today's transformers; both dip slightly below 0.

# %%
z = np.linspace(-5, 5, 2001).astype("float32")
STEP = 1e-2


def apply(name: str, values: np.ndarray) -> np.ndarray:
    """An activation as Keras computes it, on any backend."""
    return ops.convert_to_numpy(keras.activations.get(name)(ops.convert_to_tensor(values)))


curves = {name: apply(name, z) for name in HIDDEN}
slopes = {name: (apply(name, z + STEP) - apply(name, z - STEP)) / (2 * STEP) for name in HIDDEN}
plots.line_panels({"f(z)": curves, "slope f′(z)": slopes}, x=z, xlabel="z", ylabels=["f(z)", "f′(z)"],
                  hlines={"slope f′(z)": 0.25}, title="Hidden activations and their slopes (dotted: 1/4)");

# %%
zero = int(np.argmin(np.abs(z)))
slope_table = pd.DataFrame({
    "f(0)": {n: curves[n][zero] for n in HIDDEN},
    "slope at 0": {n: slopes[n][zero] for n in HIDDEN},
    "largest slope": {n: slopes[n].max() for n in HIDDEN},
    "smallest slope": {n: slopes[n].min() for n in HIDDEN},
    "slope at z=-4": {n: slopes[n][np.argmin(np.abs(z + 4))] for n in HIDDEN},
    "slope at z=+4": {n: slopes[n][np.argmin(np.abs(z - 4))] for n in HIDDEN},
})
display(slope_table.style.format("{:.3f}"))

# %% [markdown]
# The sigmoid's slope peaks at $\sigma'(0) = \sigma(0)(1-\sigma(0)) = 1/4$: even a perfectly
# unsaturated sigmoid layer passes back at most a quarter of the error it receives. Ten such
# layers shrink it by $4^{10} \approx 10^6$ unless the weights make up for it. Tanh peaks at
# slope 1 and ReLU is exactly 1 on its active side; GELU and SiLU overshoot 1 a little and go
# slightly negative, which makes them non-monotonic. The 0.5 in ReLU's "slope at 0" is an
# artefact of the measurement: at its kink ReLU has no derivative, and a central difference
# that straddles the kink averages the slopes 0 and 1 on either side.

# %%
sig_max = float(slopes["sigmoid"].max())
claims.check("nnlab", "A sigmoid layer shrinks the gradient even where it is not saturated: σ′(z) ≤ 1/4 everywhere "
             "(Report 002 warns that sigmoids make gradients vanish and blames saturation)",
             holds=sig_max <= 0.25 + 1e-4 and abs(float(z[np.argmax(slopes["sigmoid"])])) < 0.01,
             evidence=f"largest measured σ′ = {sig_max:.4f}, at z = {float(z[np.argmax(slopes['sigmoid'])]):.2f}; "
                      f"tanh′ ≤ {slopes['tanh'].max():.3f}")

# %% [markdown]
# In Jupyter, move the sliders to compare any of the functions and their slopes at a point
# $z$ (on this page: one static view).

# %%
from nnlab.widgets import explore_activations

explore_activations(("sigmoid", "tanh", "relu", "elu"), z=1.0)

# %% [markdown]
# ## Which hidden activation trains best?
#
# Report 000 tried ReLU, ELU, tanh and sigmoid on CIFAR-10 and found ReLU best, with sigmoid
# and tanh getting stuck; it blamed saturation. We train the same MLP (two hidden layers,
# 256 and 128 units, Glorot initialization) on Fashion-MNIST with each of the six
# activations, once with plain SGD (learning rate 0.1) and once with Adam (0.001). Only the
# activation and the optimizer change. Differences in accuracy are given in percentage
# points (pp): from 85.0 % to 85.5 % is +0.5 pp, a difference of 0.005.

# %%
fashion = load_splits("fashion_mnist", n_train=profile.pick(smoke=600, quick=12_000, full=None),
                      n_test=profile.pick(smoke=200, quick=2_000, full=None))
print(fashion.summary())
OPTIMIZERS = {"sgd": lambda: keras.optimizers.SGD(learning_rate=0.1),
              "adam": lambda: keras.optimizers.Adam(learning_rate=1e-3)}
HIDDEN_EPOCHS = profile.pick(smoke=1, quick=5, full=20)
SWEPT = profile.pick(smoke=["relu", "tanh", "sigmoid"], quick=HIDDEN, full=HIDDEN)  # smoke: fewer runs

# %% tags=["hide-output"]
hidden_sweep = sweep(
    base={"activation": "relu", "optimizer": "adam", "hidden": (256, 128)},
    grid={"activation": SWEPT, "optimizer": list(OPTIMIZERS)},
    product=True,
    build=lambda c: models.mlp(fashion.input_shape, c["hidden"], activation=c["activation"]),
    fit=lambda c: {"optimizer": OPTIMIZERS[c["optimizer"]], "batch_size": 128},
    splits=fashion, epochs=HIDDEN_EPOCHS, name="lab02/hidden",
)
hidden_runs = {(run.config["activation"], run.config["optimizer"]): run for run in hidden_sweep.runs.values()}

# %%
for opt, title in (("sgd", "plain SGD, lr 0.1"), ("adam", "Adam, lr 0.001")):
    plots.learning_curves({act: hidden_runs[act, opt] for act in SWEPT},
                          title=f"Hidden activations on Fashion-MNIST — {title}")

# %%
final_acc = pd.DataFrame({opt: {act: hidden_runs[act, opt].final("val_accuracy") for act in SWEPT}
                          for opt in OPTIMIZERS})
first_acc = pd.DataFrame({opt: {act: hidden_runs[act, opt].history["val_accuracy"][0] for act in SWEPT}
                          for opt in OPTIMIZERS})
seconds = pd.DataFrame({opt: {act: hidden_runs[act, opt].seconds for act in SWEPT} for opt in OPTIMIZERS})
hidden_table = pd.concat({"validation accuracy, epoch 1": first_acc,
                          f"validation accuracy, epoch {HIDDEN_EPOCHS}": final_acc,
                          "training seconds": seconds}, axis=1)
hidden_table.columns.names = [None, "optimizer"]
hidden_table.index.name = "activation"
display(hidden_table.style.format("{:.3f}").format("{:.1f}", subset=["training seconds"]))

# %% [markdown]
# With plain SGD the sigmoid network starts far behind and is still catching up when
# training stops: every sigmoid layer scales the backpropagated error by at most 1/4, so its
# first layer learns slowly. Adam divides each parameter's step by a running estimate of its
# gradient's size, which undoes most of that shrinking — the gap between the activations
# mostly closes. Among the other five the differences are small. The smooth GELU and SiLU,
# defaults of many recent architectures, should end close to ReLU on a network this
# shallow; whether they do in this run, within a point and a half (a little more than the
# 1.1 points the full profile's validation images can resolve) and with either optimizer, is for the
# claims table to say (asserted in the full profile only; the smoke profile does not train
# them).
#
# We pick the activation (and optimizer) with the best final validation accuracy and only
# then look at the test split.

# %%
best_act, best_opt = max(hidden_runs, key=lambda k: hidden_runs[k].final("val_accuracy"))
best_run = hidden_runs[best_act, best_opt]
best_val = best_run.final("val_accuracy")
best_test = training.evaluate(best_run.model, fashion.x_test, fashion.y_test)["accuracy"]
print(f"best hidden activation: {best_act} with {best_opt}; validation {best_val:.4f}, test {best_test:.4f} "
      f"({profile.name} profile, {HIDDEN_EPOCHS} epochs)")
results.record(LAB, "Fashion-MNIST MLP, best hidden activation: validation accuracy", best_val,
               unit="accuracy", report="Report 002 (gives a test accuracy only)")
results.record(LAB, "Fashion-MNIST MLP, best hidden activation: test accuracy", best_test,
               unit="accuracy", report_best=0.8549, report="Report 002 (its medium MLP, before its search)",
               seconds=best_run.seconds)

# %%
four = [a for a in ("relu", "elu", "tanh", "sigmoid") if a in SWEPT]
adam_final = final_acc["adam"]
sgd_final = final_acc["sgd"]
n_val = len(fashion.y_val)
relu_holds, relu_words = not_beaten(adam_final[four].to_dict(), "relu", n_val, tie_points=0.5)
claims.check("Report 000", "ReLU gives the best accuracy of ReLU, ELU, tanh and sigmoid (ties allowed: none of "
             "the others ahead by more than the noise or 0.5 pp), checked with Adam, the optimizer the report "
             "ended with (it compared activations before optimizers and does not say with which)",
             holds=relu_holds,
             evidence="Adam, final validation accuracy: "
                      + ", ".join(f"{a} {adam_final[a]:.3f}" for a in four) + f"; {relu_words}"
                      + "; SGD, for comparison: " + ", ".join(f"{a} {sgd_final[a]:.3f}" for a in four),
             kind="accuracy")
# "behind": ReLU ahead by more than the noise margin on the validation images, and by at least a
# point (sigmoid) or a point and a half (tanh), so that a gap the validation draw could explain
# decides nothing
sigmoid_lead = sgd_final["relu"] - sgd_final["sigmoid"]
sigmoid_margin = accuracy_noise_margin(sgd_final["relu"], sgd_final["sigmoid"], n_val, floor_points=1)
claims.check("Report 000", "With plain SGD, sigmoid networks learn more slowly than ReLU (the report: they get "
             "stuck below it): ReLU ahead by more than the noise and a point",
             holds=ahead_beyond_noise(sigmoid_lead, sigmoid_margin),
             evidence=f"SGD: sigmoid {sgd_final['sigmoid']:.3f} vs ReLU {sgd_final['relu']:.3f} "
                      f"({100 * sigmoid_lead:+.1f} pp for ReLU; counts beyond {100 * sigmoid_margin:.1f} pp); "
                      f"Adam: {adam_final['sigmoid']:.3f} vs {adam_final['relu']:.3f}", kind="accuracy")
tanh_lead = {opt: final_acc[opt]["relu"] - final_acc[opt]["tanh"] for opt in OPTIMIZERS}
tanh_margin = {opt: accuracy_noise_margin(final_acc[opt]["relu"], final_acc[opt]["tanh"], n_val, floor_points=1.5)
               for opt in OPTIMIZERS}
claims.check("Report 000", "Tanh networks get stuck below ReLU: ReLU ahead by more than the noise and 1.5 points "
             "with SGD or with Adam",
             holds=any(tanh_lead[opt] > tanh_margin[opt] for opt in OPTIMIZERS),
             evidence="; ".join(f"{opt}: tanh {final_acc[opt]['tanh']:.3f} vs ReLU {final_acc[opt]['relu']:.3f} "
                                f"({100 * tanh_lead[opt]:+.1f} pp for ReLU; "
                                f"counts beyond {100 * tanh_margin[opt]:.1f} pp)" for opt in OPTIMIZERS),
             expected=False, kind="accuracy")
if {"gelu", "silu"} <= set(SWEPT):  # the smoke profile trains only ReLU, tanh and sigmoid
    smooth_gap = {(a, opt): final_acc[opt][a] - final_acc[opt]["relu"]
                  for a in ("gelu", "silu") for opt in OPTIMIZERS}
    # 1.5 points: the full profile's 6,000 validation images resolve about 1.1 points at this accuracy
    smooth_level = {opt: level(final_acc[opt][["relu", "gelu", "silu"]].to_dict(), n_val, reference="relu",
                               points=1.5) for opt in OPTIMIZERS}
    claims.check("nnlab", "GELU and SiLU end level with ReLU, within 1.5 points, with SGD and with Adam",
                 holds=all_hold(holds for holds, _ in smooth_level.values()),
                 evidence="final validation accuracy minus ReLU's: "
                          + ", ".join(f"{a} · {opt} {100 * v:+.1f} pp" for (a, opt), v in smooth_gap.items())
                          + "; " + "; ".join(f"{opt}: {words}" for opt, (_, words) in smooth_level.items()),
                 kind="accuracy")

# %% [markdown]
# ## Output activations and the loss that goes with them
#
# The output layer's activation decides what the network's ten numbers mean, and the loss
# must read them that way:
#
# | output | the outputs are | matching loss |
# |---|---|---|
# | softmax | a probability distribution over the classes | categorical cross-entropy (CCE) |
# | linear (logits) | unnormalized log-probabilities | CCE with `from_logits=True` (softmax inside the loss) |
# | sigmoid | ten independent yes/no probabilities | binary cross-entropy on the one-hot target |
# | softplus, exponential | ten positive rates, like expected counts | Poisson: $\hat y - y\log\hat y$ |
#
# Report 004 kept one loss (cross-entropy) and replaced its reference model's softmax
# output with softplus, sigmoid or exponential; the softmax, softplus and sigmoid versions
# ended with validation accuracies too close to tell apart. Before training anything, here
# is why a mismatch can look harmless in Keras: with `from_logits=False`, its cross-entropy
# **divides the outputs by their sum** before taking the log. Any positive outputs are
# silently turned into a distribution.

# %%
rng = np.random.default_rng(0)
y_demo = np.eye(10, dtype="float32")[rng.integers(0, 10, 64)]
logits = rng.normal(0.0, 1.0, (64, 10)).astype("float32")
positive = apply("softplus", logits)
cce, cce_logits = keras.losses.CategoricalCrossentropy(), keras.losses.CategoricalCrossentropy(from_logits=True)


def loss_value(loss, y, out) -> float:
    return float(ops.convert_to_numpy(loss(y, out)))


raw, rescaled = loss_value(cce, y_demo, positive), loss_value(cce, y_demo, positive / positive.sum(1, keepdims=True))
claims.check("nnlab", "Keras's CCE (from_logits=False) divides positive outputs by their sum before the log, so "
             "softplus, sigmoid or exponential outputs reach it as a distribution",
             holds=abs(raw - rescaled) <= 1e-5 * abs(rescaled),
             evidence=f"Keras CCE divides by the sum first: CCE(softplus outputs) = {raw:.6f}, "
                      f"CCE(outputs / their sum) = {rescaled:.6f}")

exp_small = loss_value(cce, y_demo, apply("exponential", logits))
exp_big = loss_value(cce, y_demo, apply("exponential", logits + 90.0))
ref_small, ref_big = loss_value(cce_logits, y_demo, logits), loss_value(cce_logits, y_demo, logits + 90.0)
poisson_negative = loss_value(keras.losses.Poisson(), y_demo, -positive)
claims.check("nnlab", "Exponential + CCE is softmax + CCE without its overflow guard",
             holds=abs(exp_small - ref_small) <= 1e-4 * ref_small and np.isnan(exp_big) and np.isfinite(ref_big)
             and abs(ref_big - ref_small) <= 1e-4 * ref_small,
             evidence=f"logits ~ N(0,1): {exp_small:.5f} vs from-logits {ref_small:.5f}; logits + 90: "
                      f"{exp_big} (e^90 overflows float32) vs {ref_big:.5f}")
claims.check("nnlab", "A Poisson loss needs positive outputs (a linear output can go negative)",
             holds=bool(np.isnan(poisson_negative)),
             evidence=f"Poisson loss of negative outputs = {poisson_negative}")

# %% [markdown]
# There is a second, quieter rescue. Keras's `sigmoid` and `softmax` attach their input (the
# logits) to the tensor they return, and on the TensorFlow backend the cross-entropy losses
# look for it: given a softmax *or a sigmoid* output, CCE uses the logits and applies a
# softmax itself. So under TensorFlow a sigmoid output layer trained with CCE is trained
# exactly like a softmax layer; only `predict` still returns the sigmoids. We compare the
# loss of one sigmoid-output model computed three ways: on the model's output tensor, on the
# same numbers copied into a plain array, and from the logits.

# %%
backend = keras.backend.backend()
set_seed(0)
sigmoid_model = models.mlp((28, 28), (32,), output_activation="sigmoid")
logit_model = models.mlp((28, 28), (32,), output_activation="linear")
logit_model.set_weights(sigmoid_model.get_weights())
x_demo = rng.random((64, 28, 28)).astype("float32")
on_tensor = loss_value(cce, y_demo, sigmoid_model(x_demo))
on_copy = loss_value(cce, y_demo, ops.convert_to_numpy(sigmoid_model(x_demo)))
from_logits = loss_value(cce_logits, y_demo, logit_model(x_demo))
print(f"CCE of the sigmoid model's output tensor {on_tensor:.5f} · of a copy of its numbers {on_copy:.5f} · "
      f"softmax CCE of its logits {from_logits:.5f}  ({backend} backend)")
claims.check("nnlab", "On TensorFlow, Keras trains a sigmoid output under CCE as if it were a softmax",
             holds=abs(on_tensor - from_logits) <= 1e-5 * from_logits and abs(on_tensor - on_copy) > 1e-3,
             evidence=f"{backend}: CCE(output tensor) {on_tensor:.4f} = CCE from logits {from_logits:.4f} "
                      f"≠ CCE(same numbers as an array) {on_copy:.4f}",
             expected=backend == "tensorflow")

# %% [markdown]
# Softmax is the exponential followed by that same division, but computed as
# $e^{z_k - \max z}/\sum_j e^{z_j - \max z}$ so that nothing overflows. An exponential
# output layer does the division in the loss, too late: once a logit passes about 89,
# $e^z$ is infinite in float32 and the loss is NaN.
#
# Now we train one small MLP (128 ReLU units, Adam) on MNIST for each pairing — five
# matched, five mismatched — with one-hot targets, so that every loss can read them.

# %%
mnist = load_splits("mnist", n_train=profile.pick(smoke=600, quick=12_000, full=None),
                    n_test=profile.pick(smoke=200, quick=2_000, full=None))
eye = np.eye(mnist.n_classes, dtype="float32")
onehot = replace(mnist, y_train=eye[mnist.y_train], y_val=eye[mnist.y_val], y_test=eye[mnist.y_test])
print(mnist.summary())
LOSSES = {
    "CCE": lambda: keras.losses.CategoricalCrossentropy(),
    "CCE from logits": lambda: keras.losses.CategoricalCrossentropy(from_logits=True),
    "binary CE": lambda: keras.losses.BinaryCrossentropy(),
    "Poisson": lambda: keras.losses.Poisson(),
}
PAIRINGS = [  # (output activation, loss, matched?)
    ("softmax", "CCE", True), ("linear", "CCE from logits", True), ("sigmoid", "binary CE", True),
    ("softplus", "Poisson", True), ("exponential", "Poisson", True),
    ("sigmoid", "CCE", False), ("softplus", "CCE", False), ("exponential", "CCE", False),
    ("linear", "CCE", False), ("linear", "Poisson", False),
]
if profile.name == "smoke":  # fewer runs: the ones the claims below read
    PAIRINGS = [p for p in PAIRINGS if p[1] == "CCE" and p[0] != "linear" or p == ("linear", "Poisson", False)]
OUTPUT_EPOCHS = profile.pick(smoke=1, quick=3, full=15)

# %% tags=["hide-output"]
output_runs = {}
for out_act, loss_name, matched in PAIRINGS:
    output_runs[f"{out_act} + {loss_name}"] = training.train(
        lambda a=out_act: models.mlp(mnist.input_shape, (128,), output_activation=a),
        onehot, name=f"lab02/output/{out_act}+{loss_name}", epochs=OUTPUT_EPOCHS,
        loss=LOSSES[loss_name](), config={"output": out_act, "loss": loss_name})

# %%
rows = {}
for (out_act, loss_name, matched), (label, run) in zip(PAIRINGS, output_runs.items()):
    probs = run.model.predict(onehot.x_val, batch_size=512, verbose=0)
    sums = probs.sum(axis=1)
    acc = float(np.mean(np.argmax(np.nan_to_num(probs, nan=-np.inf), axis=1) == mnist.y_val))
    rows[label] = {
        "matched": "yes" if matched else "no",
        "validation accuracy": acc,
        "final training loss": run.history["loss"][-1],
        "median Σ outputs": float(np.median(sums)),
        "rows with Σ = 1 ± 0.01": float(np.mean(np.abs(sums - 1) < 0.01)),
        "NaN outputs": bool(np.isnan(probs).any()),
    }
output_table = pd.DataFrame(rows).T
display(output_table.style.format({"validation accuracy": "{:.3f}", "final training loss": "{:.4f}",
                                   "median Σ outputs": "{:.3g}", "rows with Σ = 1 ± 0.01": "{:.0%}"}))
output_acc = output_table["validation accuracy"].astype(float)
bars = {(label if output_table.loc[label, "matched"] == "yes" else f"{label} (mismatched)"): acc
        for label, acc in output_acc.items()}
fig = plots.bar_compare(bars, ylabel="validation accuracy", title="Output activation + loss on MNIST",
                        reference=output_acc["softmax + CCE"], reference_label="softmax + CCE")

# %% [markdown]
# Read the table column by column:
#
# - **Accuracy and loss.** Every pairing with a positive output learns, matched or not (Report
#   004 found softmax, softplus and sigmoid alike under cross-entropy). Under CCE, softmax,
#   exponential and (on TensorFlow) sigmoid train as the same model, up to rounding (checked
#   below on the first epoch's loss, within 1 %; over many epochs rounding differences can let
#   the runs drift apart a little): the loss normalizes the exponential into a softmax, and it
#   reads the sigmoid's logits directly. Softplus is the only truly different model, and it
#   still learns thanks to the division. A *linear* output under the probability-reading CCE has
#   no such luck: its outputs can be negative and the "normalized" values are meaningless; under
#   Poisson it takes the log of negative numbers and the loss becomes NaN. Its outputs can stay
#   finite all the same (see the "NaN outputs" column): the NaN is only in the loss's *value*.
#   The gradient of $\hat y - y\log\hat y$ with respect to $\hat y$ is $1 - y/\hat y$, a finite
#   number, positive for every negative output, so each step pushes the outputs further down
#   towards $-\infty$ (see its large negative median Σ) while the reported loss stays NaN.
# - **Σ outputs.** Only the softmax layer returns numbers that sum to one (the from-logits
#   model returns logits, which need a softmax before they read as probabilities). A
#   softplus, sigmoid or exponential model trained with CCE predicts numbers whose sum is
#   anything; reading `model.predict` as probabilities is then simply wrong, even though the
#   arg-max — and so the accuracy — is fine. The sigmoid + binary CE outputs are ten
#   separate yes/no probabilities, so their sum need not be 1 either, by design. The Poisson
#   pairings come close to 1 without being made to: the Poisson loss is smallest when every
#   output equals its target, so a well-fitted model's outputs approach the one-hot vector,
#   and their sum drifts towards 1.
#
# Report 004 also warned that the exponential output is expensive. Softmax computes the
# same exponentials and then some; we time both on the same logits.

# %%
cce_twins = ["softmax + CCE", "exponential + CCE"] + (["sigmoid + CCE"] if backend == "tensorflow" else [])
twin_loss = pd.Series({k: output_runs[k].history["loss"][0] for k in cce_twins})
claims.check("nnlab", "Under CCE, softmax, exponential and (on TensorFlow) sigmoid outputs train as one model: the "
             "same first-epoch training loss (within 1 %)",
             holds=twin_loss.max() <= 1.01 * twin_loss.min(),
             evidence="first-epoch training loss " + ", ".join(f"{k.split(' ')[0]} {v:.4f}" for k, v in twin_loss.items())
                      + "; final " + ", ".join(f"{k.split(' ')[0]} {output_runs[k].history['loss'][-1]:.4f}"
                                               for k in cce_twins) + f" ({backend})")
same_three = output_acc[["softmax + CCE", "softplus + CCE", "sigmoid + CCE"]]
same_holds, same_words = level({k.split(" ")[0]: v for k, v in same_three.items()}, len(mnist.y_val))
claims.check("Report 004", "Softmax, softplus and sigmoid outputs (one loss, CCE) end within 1 point of each other "
             "in accuracy",
             holds=same_holds,
             evidence="validation accuracy " + ", ".join(f"{k.split(' ')[0]} {v:.3f}" for k, v in same_three.items())
                      + f"; {same_words} ({backend}: sigmoid + CCE "
                      + ("reads the logits" if backend == "tensorflow" else "divides the outputs by their sum") + ")",
             kind="accuracy")


def fastest_seconds(fn, x, repeats: int = 30) -> float:
    """The best of several timings of fn(x), copied back to NumPy so lazy backends finish."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        ops.convert_to_numpy(fn(x))
        best = min(best, time.perf_counter() - start)
    return best


big_logits = ops.convert_to_tensor(rng.normal(0.0, 1.0, (20_000, 10)).astype("float32"))
exp_time = fastest_seconds(keras.activations.exponential, big_logits)
softmax_time = fastest_seconds(keras.activations.softmax, big_logits)
claims.check("Report 004", "An exponential output is expensive to compute (a timing on this machine)",
             holds=exp_time > 1.5 * softmax_time,
             evidence=f"timed on this machine ({backend}), 20,000 × 10 outputs, best of 30: exponential "
                      f"{exp_time * 1e3:.2f} ms, softmax "
                      f"{softmax_time * 1e3:.2f} ms (softmax exponentiates too); the exponential's real risk "
                      "is overflow, above",
             expected=False, kind="timing")

# %% [markdown]
# ## Saturated and dead units, layer by layer
#
# A unit is **saturated** when its input sits where the activation is flat (sigmoid outputs
# below 0.01 or above 0.99, tanh beyond ±0.99), and **dead** when a ReLU unit outputs 0 for
# every example: then its slope is 0 everywhere, no gradient flows through it, and its own
# incoming weights and bias get a gradient of exactly 0, so they never change. (A sigmoid or
# tanh unit saturated on every example is nearly as stuck, its slope tiny rather than exactly
# 0; the table below counts such units beside the dead ReLUs.) Whether it
# can come back depends on what feeds it. A dead unit of the first layer sees only the
# fixed input images, so it stays dead for good. A dead unit higher up can revive if the
# layers below it change — their new outputs may push its pre-activation above 0 for some
# images — unless those layers are frozen as well, as everything below a layer whose units
# are *all* dead is: no gradient gets past such a layer.
#
# We build six 8-layer MLPs (64 units per layer), run 256 MNIST images through them *before
# any training*, and read every hidden layer's output with `nnlab.inspect.layer_outputs`;
# `nnlab.inspect.activation_stats` (the helper behind lab 1's `NumpyMLP.layer_stats`) turns those
# outputs into per-layer fractions. `nnlab.inspect.kernel_gradients` gives each layer's
# gradient $\partial L/\partial W$ from the backend's own autodiff.

# %%
DEPTH, WIDTH = 8, 64
big_normal = keras.initializers.RandomNormal(stddev=1.0)
AT_INIT = {  # label: (activation, kernel initializer, bias)
    "sigmoid, Glorot": ("sigmoid", "glorot_uniform", 0.0),
    "sigmoid, N(0, 1)": ("sigmoid", big_normal, 0.0),
    "tanh, Glorot": ("tanh", "glorot_uniform", 0.0),
    "tanh, N(0, 1)": ("tanh", big_normal, 0.0),
    "ReLU, He": ("relu", "he_normal", 0.0),
    "ReLU, He, bias −0.5": ("relu", "he_normal", -0.5),
}
probe_x, probe_y = mnist.x_train[:256], mnist.y_train[:256]
sparse_cce = keras.losses.SparseCategoricalCrossentropy()
act_names = [f"act_{i}" for i in range(DEPTH)]
init_models, init_outputs, init_stats, init_grads = {}, {}, {}, {}
for label, (act, init, bias) in AT_INIT.items():
    set_seed(0)
    model = models.mlp(mnist.input_shape, [WIDTH] * DEPTH, activation=act, kernel_initializer=init,
                       bias_initializer=keras.initializers.Constant(bias))
    init_models[label] = model
    init_outputs[label] = layer_outputs(model, probe_x, act_names)
    init_stats[label] = activation_stats(list(init_outputs[label].values()), act)
    init_grads[label] = kernel_gradients(model, probe_x, probe_y, sparse_cce)

grad_norms = {label: [float(np.linalg.norm(g)) for g in grads.values()] for label, grads in init_grads.items()}
plots.line_panels(
    {
        "saturated (sigmoid, tanh)": {k: [s["frac_saturated"] for s in v] for k, v in init_stats.items()
                                      if not k.startswith("ReLU")},
        "dead units (ReLU)": {k: [s["frac_dead"] for s in v] for k, v in init_stats.items() if k.startswith("ReLU")},
        "‖∂L/∂W‖ (last point: output layer)": {k: v for k, v in grad_norms.items() if max(v) > 0},
    },
    ylabels=["fraction of outputs", "fraction of units", "gradient norm"], logy=["‖∂L/∂W‖ (last point: output layer)"],
    title=f"{DEPTH}-layer MLPs at initialization, 256 MNIST images");

# %%
stats_table = pd.DataFrame({
    label: {
        "on a flat part (ReLU: output 0), mean over layers": np.mean([s["frac_saturated"] for s in stats]),
        "units flat on every image (ReLU: dead), last hidden layer": stats[-1]["frac_dead"],
        "‖∂L/∂W‖ layer 1": grad_norms[label][0],
        "‖∂L/∂W‖ output layer": grad_norms[label][-1],
    } for label, stats in init_stats.items()}).T
display(stats_table.style.format("{:.3g}"))

# %% [markdown]
# Three different pictures:
#
# - **Sigmoid with Glorot weights** has no saturated units at all (in the left panel its
#   line lies under tanh·Glorot's, at 0), yet its first layer's gradient is orders of
#   magnitude smaller than the output layer's. The culprit is the slope bound of 1/4 (and
#   outputs centred on 0.5 instead of 0), not saturation.
# - **Large N(0, 1) weights** push pre-activations far from 0: a large share of the sigmoid
#   and tanh outputs sit on the flat parts. The large weights also amplify what passes
#   back, so the tanh net's gradients *grow* towards the input instead.
# - **ReLU with He weights** keeps the gradient norm about level through the layers, but
#   a few units are already dead at initialization, more in deeper layers. A bias of −0.5
#   kills whole layers: on these 256 images every unit of the upper layers outputs 0, so
#   every kernel gradient is exactly zero (no line in the gradient panel; a log scale has
#   no 0). Over all training images, some units of the lowest of these layers may still
#   fire for a few images; the per-layer line printed further down shows which layers are
#   dead on every training image.
#
# Report 000 explained stalled sigmoid and tanh networks by saturation. Saturation does stop
# gradients, but it is not needed for them to vanish — at least in a deep net: the report's own
# MLP had one hidden layer, where vanishing has few layers to compound over, so the test below
# is of the explanation in general, not of the report's network:

# %%
sat_big = {k: min(s["frac_saturated"] for s in init_stats[k]) for k in ("sigmoid, N(0, 1)", "tanh, N(0, 1)")}
sat_glorot = {k: max(s["frac_saturated"] for s in init_stats[k]) for k in ("sigmoid, Glorot", "tanh, Glorot")}
claims.check("Report 000", "Sigmoid and tanh units saturate (outputs on the flat parts): here, with large weights "
             "(the report's own net is not rebuilt; Glorot's weights, for contrast, leave them unsaturated)",
             holds=min(sat_big.values()) > 0.2,
             evidence="N(0,1) weights, least saturated layer: "
                      + ", ".join(f"{k.split(',')[0]} {v:.0%}" for k, v in sat_big.items())
                      + "; with Glorot, most saturated layer: "
                      + ", ".join(f"{k.split(',')[0]} {v:.1%}" for k, v in sat_glorot.items()))
sig_ratio = grad_norms["sigmoid, Glorot"][0] / grad_norms["sigmoid, Glorot"][-1]
claims.check("nnlab (after Report 000)", "Saturation is why sigmoid gradients vanish, tested as: without "
             f"saturation they do not vanish (a net with no saturated unit whose gradients vanish refutes it; here "
             f"{DEPTH} layers deep, where the report's MLP had one hidden layer)",
             holds=not (sat_glorot["sigmoid, Glorot"] < 0.01 and sig_ratio < 1e-3),
             evidence=f"sigmoid + Glorot: {sat_glorot['sigmoid, Glorot']:.1%} saturated, yet "
                      f"‖∂L/∂W₁‖ / ‖∂L/∂W_out‖ = {sig_ratio:.1e} at depth {DEPTH}", expected=False)

# %% [markdown]
# A dead unit's output is 0 for every input, so is its slope, so the error it passes back
# and the gradient of its incoming weights are **exactly** zero — not small. We check it for
# every dead unit the two ReLU networks have on this batch.

# %%
n_dead = n_live = n_live_with_gradient = 0
all_zero = True
for label in ("ReLU, He", "ReLU, He, bias −0.5"):
    for i, name in enumerate(act_names):
        out = init_outputs[label][name]
        dead = np.all(out <= 0.0, axis=0)  # the units activation_stats counts as dead
        assert np.isclose(dead.mean(), init_stats[label][i]["frac_dead"])
        grad = init_grads[label][f"dense_{i}"]
        all_zero &= bool(np.all(grad[:, dead] == 0.0))
        n_dead += int(dead.sum())
        if label == "ReLU, He":
            n_live += int((~dead).sum())
            n_live_with_gradient += int(np.sum(np.any(grad[:, ~dead] != 0.0, axis=0)))
claims.check("nnlab", "A dead ReLU unit gets exactly zero gradient: the extreme case of the zero gradients "
             "Report 000 blamed on saturation",
             holds=all_zero and n_dead > 0 and n_live_with_gradient > 0.9 * n_live,
             evidence=f"{n_dead} dead units: every incoming-weight gradient == 0.0; "
                      f"{n_live_with_gradient} of {n_live} live units (ReLU, He) have a non-zero one")

# %% [markdown]
# Dead stays dead. Take the network whose upper layers died at initialization and find the
# first layer whose units are dead on *every* training image, not just on our batch. Every
# layer up to it receives exactly zero gradient on every batch, and Adam turns a zero
# gradient into a zero step; we train for one epoch and compare the weights.

# %% tags=["hide-output"]
dead_label = "ReLU, He, bias −0.5"
dead_model = init_models[dead_label]  # the very network measured above, trained in place
on_train = activation_stats(list(layer_outputs(dead_model, mnist.x_train, act_names).values()), "relu")
first_dead = next((i for i, s in enumerate(on_train) if s["frac_dead"] == 1.0), None)
assert first_dead is not None, "no hidden layer is dead on the whole training set"
before = [[w.copy() for w in dead_model.get_layer(f"dense_{i}").get_weights()] for i in range(first_dead + 1)]
dead_run = training.train(lambda: dead_model, mnist, name="lab02/dead-relu", epochs=1, cache=False,
                          config={"depth": DEPTH, "width": WIDTH, "bias": AT_INIT[dead_label][2]})

# %%
unchanged = all(np.array_equal(a, b) for i, weights in enumerate(before)
                for a, b in zip(weights, dead_run.model.get_layer(f"dense_{i}").get_weights()))
print("dead units on all training images, per layer: "
      + " · ".join(f"{s['frac_dead']:.0%}" for s in on_train)
      + f"; validation accuracy after one epoch {dead_run.final('val_accuracy'):.3f}")
claims.check("nnlab", "A layer of dead ReLUs never recovers: nothing below it changes in training",
             holds=unchanged,
             evidence=f"layer {first_dead + 1} is dead on all {len(mnist.x_train):,} training images; after 1 "
                      f"epoch of Adam, layers 1–{first_dead + 1} are bit-for-bit unchanged ({unchanged}); "
                      f"validation accuracy {dead_run.final('val_accuracy'):.3f}")

# %% [markdown]
# Units also die *during* training, when a large step throws a unit's bias far negative. We
# compare the ReLU + Adam network of the sweep above (learning rate 0.001) with the same
# network trained at a learning rate fifty times larger.

# %% tags=["hide-output"]
hot_run = training.train(lambda: models.mlp(fashion.input_shape, (256, 128), activation="relu"), fashion,
                         name="lab02/relu-large-lr", epochs=HIDDEN_EPOCHS,
                         optimizer=lambda: keras.optimizers.Adam(learning_rate=0.05),
                         config={"activation": "relu", "hidden": (256, 128), "lr": 0.05})

# %%
trained = {"Adam lr 0.001": hidden_runs["relu", "adam"], "Adam lr 0.05": hot_run}
probe_f = fashion.x_val[:1000]
dead_trained = {label: [s["frac_dead"] for s in activation_stats(
    list(layer_outputs(run.model, probe_f, ["act_0", "act_1"]).values()), "relu")] for label, run in trained.items()}
display(pd.DataFrame({label: {"dead units, layer 1": d[0], "dead units, layer 2": d[1],
                              "validation accuracy": trained[label].final("val_accuracy")}
                      for label, d in dead_trained.items()}).T.style.format("{:.3f}"))

# %% [markdown]
# After training at the large learning rate, most units of one hidden layer are dead on
# every validation image we probe (the first 1,000): early steps that were too large pushed
# their pre-activations below zero for those inputs. Which layer it is depends on the random
# draws, and the two backends draw differently: in our full-profile runs on a CPU,
# TensorFlow's network lost 96 % of its first layer, JAX's 73 % of its second (and 39 % of its
# first). A first-layer unit sees only the fixed images, so one that is dead on
# every *training* image gets no gradient at all and stays dead (the probe's images stand in
# for the training set here; the bias −0.5 network above was checked on the training images
# themselves); a dead unit higher up could revive only if the layers below it changed enough.
# The network carries on with the survivors and pays for it in accuracy, in some runs all of
# it: JAX's network in that run ended up predicting one class for every image, 10 % on these
# ten balanced classes.

# %%
dead_hot, dead_cool = dead_trained["Adam lr 0.05"], dead_trained["Adam lr 0.001"]
deadest = int(np.argmax(dead_hot))   # the hidden layer the large rate left with the most dead units
acc_hot, acc_cool = hot_run.final("val_accuracy"), hidden_runs["relu", "adam"].final("val_accuracy")
hot_margin = accuracy_noise_margin(acc_cool, acc_hot, n_val, floor_points=1)
claims.check("nnlab", "Adam at learning rate 0.05 leaves most units of a hidden layer dead (at 0.001, under half "
             "as many in that layer) and ends below the same network at 0.001, by more than the noise and a point",
             holds=dead_hot[deadest] > 0.5 and dead_hot[deadest] > 2 * dead_cool[deadest] and acc_cool - acc_hot > hot_margin,
             evidence="dead units at 0.05 vs 0.001: " + ", ".join(
                 f"layer {i + 1} {hot:.0%} vs {cool:.0%}" for i, (hot, cool) in enumerate(zip(dead_hot, dead_cool)))
             + f"; validation accuracy {acc_hot:.3f} vs {acc_cool:.3f} (a gap counts beyond {100 * hot_margin:.1f} pp)",
             kind="accuracy")

# %% [markdown]
# ## Activation × initialization × depth
#
# Report 002 recommends ReLU with He initialization and warns that the sigmoid makes
# gradients vanish. Which combinations actually train? We cross three activations, two
# initializations (Glorot uniform, He normal) and three depths of 64-unit layers. Two numbers
# per cell:
#
# - at initialization, $\log_{10}$ of the ratio of the first layer's gradient norm to the
#   output layer's, from lab 1's NumPy MLP (`NumpyMLP.layer_stats`, same initializations,
#   instant, and independent of any framework);
# - the validation accuracy after a few epochs of Adam (Keras, MNIST).

# %%
NUMPY_DEPTHS = (2, 8, 16)  # gradients at initialization cost nothing: every depth, every profile
DEPTHS = profile.pick(smoke=(2,), quick=(2, 8, 16), full=(2, 8, 16))  # trained: deep graphs are slow to build
DEEP = DEPTHS[-1]
GRID_ACTS = profile.pick(smoke=("sigmoid", "relu"), quick=("sigmoid", "tanh", "relu"), full=("sigmoid", "tanh", "relu"))
GRID_INITS = {"Glorot": ("glorot", "glorot_uniform"), "He": ("he", "he_normal")}
grid_mnist = load_splits("mnist", n_train=profile.pick(smoke=400, quick=6_000, full=None),
                         n_test=profile.pick(smoke=100, quick=1_000, full=None))
GRID_EPOCHS = profile.pick(smoke=1, quick=3, full=10)
batch_x = grid_mnist.x_train[:256].reshape(-1, 784).astype(np.float64)
batch_y = grid_mnist.y_train[:256]
ratio = {}
for act in GRID_ACTS:
    for init_label, (numpy_init, _) in GRID_INITS.items():
        for depth in NUMPY_DEPTHS:
            net = NumpyMLP([784] + [WIDTH] * depth + [10], activation=act, init=numpy_init, seed=0)
            net.forward(batch_x)
            net.backward(batch_y)
            layer_stats = net.layer_stats()
            ratio[act, init_label, depth] = layer_stats[0]["grad_norm"] / layer_stats[-1]["grad_norm"]

# %% tags=["hide-output"]
grid_sweep = sweep(
    base={"activation": "relu", "init": "He", "depth": 2},
    grid={"activation": list(GRID_ACTS), "init": list(GRID_INITS), "depth": list(DEPTHS)},
    product=True,
    build=lambda c: models.mlp(grid_mnist.input_shape, [WIDTH] * c["depth"], activation=c["activation"],
                               kernel_initializer=GRID_INITS[c["init"]][1]),
    splits=grid_mnist, epochs=GRID_EPOCHS, name="lab02/grid",
)
grid_sweep_runs = {(r.config["activation"], r.config["init"], r.config["depth"]): r for r in grid_sweep.runs.values()}
grid_acc = {key: r.final("val_accuracy") for key, r in grid_sweep_runs.items()}
grid_train_acc = {key: r.final("accuracy") for key, r in grid_sweep_runs.items()}


# %%
def grid_frame(values: dict, depths) -> pd.DataFrame:
    frame = pd.DataFrame({depth: {f"{a} · {i}": values[a, i, depth] for a in GRID_ACTS for i in GRID_INITS}
                          for depth in depths})
    frame.columns.name, frame.index.name = "hidden layers", "activation · init"
    return frame


plots.heatmap({"log10 ‖∂L/∂W₁‖ / ‖∂L/∂W_out‖ at init": np.log10(grid_frame(ratio, NUMPY_DEPTHS)),
               f"validation accuracy after {GRID_EPOCHS} epoch{'s' * (GRID_EPOCHS > 1)}": grid_frame(grid_acc, DEPTHS)},
              fmt="{:.2f}", colorbar=["log10 ratio", "accuracy"], title="Which networks train?");

# %% [markdown]
# The left panel predicts which networks train at all: the ones that stay near chance on
# the right are the ones whose first-layer gradient starts orders of magnitude below the
# output layer's on the left; among the networks that train, it says little. Sigmoid
# networks lose roughly a factor of three to four in gradient per layer — the slope bound
# of 1/4 again — whatever the initialization. Deep enough, the first layers get almost
# nothing and the network stays at or near chance: from 8 or from 16 layers on, depending
# on how many epochs the profile trains (the right panel shows where; the smoke profile
# trains only 2 layers). It does not even fit its training set (the claims below check the
# deepest trained sigmoid nets), so this is a failure to optimize, not overfitting. Tanh is
# centred on 0 with slope 1 there, so with Glorot's scaling the gradient holds its size and
# deep tanh nets train. ReLU also keeps the gradient level, with Glorot's scale or with He's
# larger one (made for ReLU, which zeroes half of its inputs); whether He's trains the deepest
# nets better is for the claims table to say.

# %%
sig16 = [ratio["sigmoid", i, 16] for i in GRID_INITS]
relu16 = ratio["relu", "He", 16]
claims.check("Report 002", "Sigmoid makes gradients vanish in deep nets; ReLU with He keeps them",
             holds=max(sig16) < 1e-3 and 0.1 < relu16 < 10,
             evidence=f"16 layers at init, layer-1/output gradient ratio: sigmoid {sig16[0]:.0e} (Glorot), "
                      f"{sig16[1]:.0e} (He); ReLU + He {relu16:.2f}")
deep_sigmoid = max(grid_acc["sigmoid", i, DEEP] for i in GRID_INITS)
claims.check("nnlab", "Report 002's warning, tested: a deep sigmoid MLP does not train; ReLU + He does",
             holds=deep_sigmoid < 0.2 and grid_acc["relu", "He", DEEP] > 0.8,
             evidence=f"{DEEP} layers: sigmoid ≤ {deep_sigmoid:.3f} (training accuracy "
                      f"{max(grid_train_acc['sigmoid', i, DEEP] for i in GRID_INITS):.3f}); "
                      f"ReLU + He {grid_acc['relu', 'He', DEEP]:.3f}", kind="accuracy")
first_epoch = {i: grid_sweep_runs["relu", i, DEEP].history["val_accuracy"][0] for i in GRID_INITS}
n_grid_val = len(grid_mnist.y_val)
he_start, he_start_words = not_beaten(first_epoch, "He", n_grid_val, tie_points=0.5)
he_end, he_end_words = not_beaten({i: grid_acc["relu", i, DEEP] for i in GRID_INITS}, "He", n_grid_val,
                                  tie_points=0.5)
claims.check("Report 002", "ReLU should be paired with He initialization: in the deepest ReLU nets Glorot is not "
             "ahead of He, after one epoch or at the end (by more than the noise or 0.5 pp)",
             holds=he_start and he_end,
             evidence=f"{DEEP} layers, after epoch 1 / at the end: ReLU + He {first_epoch['He']:.3f} / "
                      f"{grid_acc['relu', 'He', DEEP]:.3f}, ReLU + Glorot {first_epoch['Glorot']:.3f} / "
                      f"{grid_acc['relu', 'Glorot', DEEP]:.3f}; after epoch 1: {he_start_words}; at the end: "
                      f"{he_end_words}", kind="accuracy")
deep_train = max(grid_train_acc["sigmoid", i, DEEP] for i in GRID_INITS)
claims.check("nnlab (after Report 004)", "A very deep sigmoid MLP fails because it overfits (Report 004's "
             "explanation for its very deep MLPs, tried on these)",
             holds=deep_train - deep_sigmoid > 0.1,
             evidence=f"the {DEEP}-layer sigmoid nets of width {WIDTH} (Report 004's were 100-layer ReLU nets of "
                      f"width 10; lab 3 tests those, with this same claim, in the full profile): "
                      f"training accuracy {deep_train:.3f}, validation {deep_sigmoid:.3f} — a failure to fit, "
                      "not overfitting",
             expected=False, kind="accuracy")

# %% [markdown]
# ## What the reports claimed, and what we found
#
# Structural claims (slopes, losses, gradients at initialization, dead units) are asserted
# in every profile; accuracy claims only in the full profile — in the others the table shows
# what this run measured, for information.

# %%
claims.show()
claims.assert_all()

# %% [markdown]
# ## Exercises
#
# Each exercise changes one thing; rerun the cells it names and read the table or figure it
# points to. `NNLAB_PROFILE=smoke` keeps the training runs short if your machine is slow.
#
# 1. Dying by degrees. Add `"ReLU, He, bias −0.1": ("relu", "he_normal", -0.1)` and a −0.2
#    entry to `AT_INIT` (start each label with "ReLU": the dead-units panel picks its lines
#    by that) and rerun the statistics cells; nothing is trained. Before you run, guess each
#    new line of the dead-units panel (per layer; `init_stats[label][i]["frac_dead"]` gives
#    layer i + 1). Which layer dies first as the bias falls, and why that one?
# 2. ReLU's lead under another seed. In a new cell after the claims, repeat the `sweep(...)`
#    that makes `hidden_sweep` with `grid={"activation": four, "optimizer": ["adam"]}` and
#    `seed=1` (`sweep` hands it to `set_seed` before each model is built). Collect each run's
#    `final("val_accuracy")` by `run.config["activation"]` and pass that dict to `not_beaten`
#    as the first Report 000 claim does. Same verdict as seed 0? How far did each number move?
# 3. The slope bound in numbers. Add 32 to `NUMPY_DEPTHS` (NumPy only, nearly free) and read
#    the heatmap's left panel. With $r_d$ a sigmoid row's value at depth $d$, the gradient
#    keeps about $10^{(r_{16}-r_8)/8}$ per layer: compare that with the bound
#    $\sigma'(z) \le 1/4$, and predict $r_{32}$ before you run. Do the tanh and ReLU rows keep
#    a per-layer factor near 1? (The smoke profile draws no tanh row.)
# 4. Units that die in training. Copy the `hot_run` cell into a new cell with
#    `learning_rate=0.01` (also in its `config`, and under a new `name`), call the result
#    `warm_run`, add `"Adam lr 0.01": warm_run` to `trained` and rerun the cell that builds
#    `trained` and its table. Guess first: does the
#    fraction of dead units in each layer grow steadily with the rate between 0.001 and 0.05,
#    or jump? A run at 0.02 tells you more.
