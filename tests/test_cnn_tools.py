"""Unit tests of nnlab.cnn_tools (lab 5): shapes, parameter formulas, mistakes, augmentation, the recipe."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import nnlab  # noqa: F401  (sets quiet backend defaults first)
import keras

from nnlab import cnn_tools as ct
from nnlab import models
from nnlab.splits import Splits


def _splits(n: int = 64, shape=(32, 32, 3), classes=("cat", "dog", "frog")) -> Splits:
    rng = np.random.default_rng(0)
    x = rng.random((n, *shape), dtype=np.float32)
    y = np.arange(n) % len(classes)
    return Splits("toy", x, y, x[:16], y[:16], x[:16], y[:16], tuple(classes))


@pytest.mark.parametrize("n,k,s,pad,expected", [
    (28, 3, 1, "same", 28), (28, 3, 2, "same", 14), (28, 5, 4, "same", 7), (28, 7, 8, "same", 4),
    (28, 3, 1, "valid", 26), (28, 7, 1, "valid", 22), (28, 5, 2, "valid", 12), (7, 2, 2, "same", 4),
])
def test_conv_output_size(n, k, s, pad, expected):
    assert ct.conv_output_size(n, k, s, pad) == expected


def test_conv_output_size_errors():
    with pytest.raises(ValueError, match="padding"):
        ct.conv_output_size(28, 3, 1, "full")
    with pytest.raises(ValueError, match="does not fit"):
        ct.conv_output_size(2, 3, 1, "valid")


def test_param_formulas_match_keras_report001_table3():
    # report-001, Table 3: conv 1→18→36→72→72 with 3×3 kernels
    assert [ct.conv_params(3, a, b) for a, b in ((1, 18), (18, 36), (36, 72), (72, 72))] == [180, 5868, 23400, 46728]
    assert ct.dense_params(784, 10) == 7850 and ct.conv_params(3, 4, 8, bias=False) == 288
    for kwargs in ({"kernel_size": 5, "padding": "valid"}, {"strides": 2, "pooling": "average"},
                   {"batch_norm": True, "convs_per_block": 2}, {"pooling": None, "global_pool": True}):
        model = models.cnn((28, 28, 1), (8, 16), **kwargs)
        assert ct.formula_mismatches(model) == [] and ct.shape_mismatches(model) == []
    # Report 003's CIFAR-10 network: no pool after the third conv, so its maps flatten at 8×8 (4,096 values)
    report003 = models.cnn((32, 32, 3), (16, 32, 64), dense=(64, 128), pool_last=False)
    assert "pool_2" not in [layer.name for layer in report003.layers] and "pool_1" in [l.name for l in report003.layers]
    assert report003.get_layer("flatten").output.shape[1] == 8 * 8 * 64
    assert ct.formula_mismatches(report003) == [] and ct.shape_mismatches(report003) == []
    sep = keras.Sequential([keras.Input((12, 12, 4)), keras.layers.SeparableConv2D(6, 3, name="sep"),
                            keras.layers.BatchNormalization(name="bn")])
    assert ct.formula_mismatches(sep) == []
    table = ct.layer_table(sep)   # every kernel of the separable conv, and the four vectors of the batch norm
    assert table.loc["sep", "weights"] == "3×3×4×1 + 1×1×4×6" and table.loc["sep", "params"] == 36 + 24 + 6
    assert table.loc["bn", "weights"] == "4 × 6 (γ, β, mean, variance)" and table.loc["bn", "params"] == 24
    for bias in (True, False):  # 3·3·4·2 kernel weights, 4·2 biases
        dw = keras.Sequential([keras.Input((12, 12, 4)),
                               keras.layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=bias, name="dw")])
        assert ct._formula(dw.layers[0])[1] == 72 + 8 * bias == dw.count_params()
        assert ct.formula_mismatches(dw) == []
        assert ct.layer_table(dw).loc["dw", "formula"] == ("(3·3 + 1)·4·2" if bias else "3·3·4·2")


def test_layer_table_and_param_frame():
    a = models.cnn((28, 28, 1), (4, 8), dense=(16,))
    b = models.cnn((28, 28, 1), (4,), dense=(16,))
    table = ct.layer_table(a)
    assert table.loc["total", "params"] == a.count_params()
    assert table.loc["conv_0_0", "output shape"] == "28×28×4" and table.loc["conv_0_0", "formula"] == "(3·3·1 + 1)·4"
    frame = ct.param_frame({"a": a, "b": b})
    assert list(frame.columns) == ["a", "b"] and frame.loc["total", "b"] == b.count_params()
    assert frame.loc["conv_1_0", "b"] == "–" and frame.loc["conv_1_0", "a"] == ct.conv_params(3, 4, 8)


def test_confusion_matrix_and_mistakes():
    y = np.array([0, 0, 1, 1, 2, 2])
    probs = np.array([[.9, .05, .05], [.2, .7, .1], [.1, .8, .1], [.6, .3, .1], [.1, .1, .8], [.05, .9, .05]])
    cm = ct.confusion_matrix(y, probs.argmax(1), 3)
    assert cm.tolist() == [[1, 1, 0], [1, 1, 0], [0, 1, 1]]
    assert cm.sum() == len(y) and np.trace(cm) == 3
    with pytest.raises(ValueError, match=r"y_pred has label 2, outside 0\.\.1"):
        ct.confusion_matrix([0, 1], [2, 0], n_classes=2)   # not counted silently as another cell
    with pytest.raises(ValueError, match=r"y_true has label 3, outside 0\.\.2"):
        ct.confusion_matrix([0, 3], [0, 0], n_classes=3)
    mistakes = ct.most_confident_mistakes(probs, y, per_class=5)
    assert mistakes[0].tolist() == [1] and mistakes[1].tolist() == [3] and mistakes[2].tolist() == [5]
    probs2 = np.array([[.1, .9], [.4, .6], [.2, .8], [.9, .1]])
    assert ct.most_confident_mistakes(probs2, np.array([0, 0, 0, 0]))[0].tolist() == [0, 2, 1]
    assert ct.top_confusions(cm, ["a", "b", "c"], k=1)[0][2] == 1
    directed = np.array([[50, 9, 1], [8, 40, 7], [0, 9, 60]])   # b→a and c→b tie the largest single cell…
    assert set(ct.top_confusions(directed, ["a", "b", "c"], k=2)) == {("a", "b", 9), ("c", "b", 9)}
    # …but the pair a↔b (9 + 8) is confused more than b↔c (7 + 9 = 16) and a↔c (1 + 0)
    assert ct.top_confusions(directed, ["a", "b", "c"], k=3, pairs=True) == [("a", "b", 17), ("b", "c", 16), ("a", "c", 1)]
    assert set(ct.pick_examples(probs, y, 10, correct=False)) == {1, 3, 5}
    assert set(ct.pick_examples(probs, y, 2, correct=True)) <= {0, 2, 4}


def test_top_confusions_returns_only_off_diagonal_cells_when_k_is_large():
    cm = np.array([[5, 2], [0, 7]])   # two off-diagonal cells (one of them 0), one pair
    assert ct.top_confusions(cm, ["a", "b"], k=10) == [("a", "b", 2), ("b", "a", 0)]
    assert ct.top_confusions(cm, ["a", "b"], k=10, pairs=True) == [("a", "b", 2)]
    cm3 = np.array([[9, 0, 3], [1, 8, 0], [0, 2, 7]])
    cells = ct.top_confusions(cm3, ["a", "b", "c"], k=100)
    assert len(cells) == 6 and all(t != p and n >= 0 for t, p, n in cells)   # no diagonal, no filler
    assert {(t, p) for t, p, _ in cells} == {(t, p) for t in "abc" for p in "abc" if t != p}
    assert [n for *_, n in cells] == [3, 2, 1, 0, 0, 0]
    pairs = ct.top_confusions(cm3, ["a", "b", "c"], k=100, pairs=True)
    assert sorted(pairs) == [("a", "b", 1), ("a", "c", 3), ("b", "c", 2)]
    assert ct.top_confusions(cm3, None, k=0) == [] and ct.top_confusions(np.array([[4]]), k=3) == []
    with pytest.raises(ValueError, match="square"):
        ct.top_confusions(np.zeros((2, 3), int))
    with pytest.raises(ValueError, match="negative"):
        ct.top_confusions(np.array([[1, -1], [0, 1]]))


def test_predict_proba_expands_a_sigmoid_unit():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid",
                                                                    bias_initializer=keras.initializers.Constant(2.0))])
    p = ct.predict_proba(model, np.zeros((4, 3), np.float32))
    sigmoid_2 = 1.0 / (1.0 + np.exp(-2.0))                       # ≈ 0.881: the unit's output is class 1
    assert p.shape == (4, 2) and np.allclose(p.sum(1), 1)
    np.testing.assert_allclose(p[:, 1], sigmoid_2, rtol=1e-6)
    np.testing.assert_allclose(p[:, 0], 1.0 - sigmoid_2, rtol=1e-5)


def test_select_classes_relabels_in_given_order():
    s = ct.select_classes(_splits(), ("dog", "cat"))
    assert s.class_names == ("dog", "cat") and set(np.unique(s.y_train)) == {0, 1}
    assert len(s.x_train) == 43 and s.n_classes == 2
    jpeg = dataclasses.replace(_splits(), note="a JPEG copy", reencoded=True)   # where the images came from stays
    assert (ct.select_classes(jpeg, ("cat",)).note, ct.select_classes(jpeg, ("cat",)).reencoded) == ("a JPEG copy", True)


def test_select_classes_takes_indices_and_rejects_bad_entries():
    splits = _splits()                                     # cat, dog, frog; labels cycle 0, 1, 2
    s = ct.select_classes(splits, (2, "cat"))
    assert s.class_names == ("frog", "cat") and set(np.unique(s.y_train)) == {0, 1}
    np.testing.assert_array_equal(s.y_test, np.where(splits.y_test[splits.y_test != 1] == 2, 0, 1))
    assert ct.select_classes(splits, (np.int64(1),)).class_names == ("dog",)
    for bad, message in [(("cat", "cow"), r"unknown class 'cow'.*0='cat', 1='dog', 2='frog'"),
                         (("cat", "cat"), r"class 'cat' \('cat'\) is given twice"),
                         (("dog", 1), r"class 1 \('dog'\) is given twice"),
                         ((0, 3), r"class index 3 is outside 0\.\.2.*known classes"),
                         ((-1,), r"class index -1 is outside 0\.\.2"),   # not silently the last class
                         ((1.0,), r"a class is a name or an index, got 1\.0"),
                         ((True,), r"a class is a name or an index, got True"),
                         ((), r"at least one class"),
                         ("cat", r"a list of classes, e\.g\. \['cat', …\], got the string 'cat'")]:
        with pytest.raises(ValueError, match=message):
            ct.select_classes(splits, bad)


def test_random_shift_flip_is_a_shift_or_flip_of_each_image():
    rng = np.random.default_rng(1)
    x = rng.random((6, 10, 12, 2), dtype=np.float32)
    layer = ct.RandomShiftFlip(pad=2, seed=3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    for i in range(len(x)):
        candidates = [c for dy in range(5) for dx in range(5)
                      for c in (padded[i, dy:dy + 10, dx:dx + 12], padded[i, dy:dy + 10, dx:dx + 12][:, ::-1])]
        assert any(np.allclose(y[i], c, atol=1e-6) for c in candidates)


def test_random_cutout_zeroes_one_square_per_image_in_training_only():
    rng = np.random.default_rng(2)
    x = rng.random((64, 10, 12, 3), dtype=np.float32) + 0.5  # no zeros before the cutout
    layer = ct.RandomCutout(4, seed=5)
    assert ct.identity_at_inference(layer, x)
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    holes = (y == 0).all(axis=-1)
    assert holes.any(axis=(1, 2)).all()  # every image lost part of a square
    for i in range(len(x)):
        rows, cols = np.nonzero(holes[i])
        assert rows.max() - rows.min() < 4 and cols.max() - cols.min() < 4  # one square of at most 4×4
        assert holes[i].sum() == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        np.testing.assert_array_equal(y[i][~holes[i]], x[i][~holes[i]])  # the rest is untouched
    assert (holes.sum(axis=(1, 2)) == 16).mean() > 0.3  # most squares lie wholly inside
    with pytest.raises(ValueError, match="at least 1 pixel"):
        ct.RandomCutout(0)
    copy = ct.RandomCutout.from_config(layer.get_config())
    assert (copy.size, copy.seed) == (4, 5)
    shift = ct.RandomShiftFlip.from_config(ct.RandomShiftFlip(3, flip=False, seed=1).get_config())
    assert (shift.pad, shift.flip, shift.seed) == (3, False, 1)


def test_mirror_tta_averages_the_image_and_its_mirror():
    x = np.random.default_rng(3).random((5, 6, 8, 3), dtype=np.float32)
    model = keras.Sequential([keras.Input((6, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")])
    plain = ct.predict_proba(model, x)
    mirrored = ct.predict_proba(model, x[:, :, ::-1])
    both = ct.predict_proba(model, x, mirror=True)
    np.testing.assert_allclose(both, (plain + mirrored) / 2, rtol=1e-6)
    assert not np.allclose(both, plain)  # a dense layer is not mirror-symmetric


def test_augmentation_layers_are_identity_at_inference():
    aug = ct.augmentation(flip="horizontal", translate=0.1, rotate=0.05, zoom=0.1, contrast=0.1)
    assert [a.name for a in aug] == ["aug_flip", "aug_translate", "aug_rotate", "aug_zoom", "aug_contrast"]
    x = np.random.default_rng(0).random((3, 16, 16, 3), dtype=np.float32)
    for layer in aug:
        assert ct.identity_at_inference(layer, x), layer.name
        assert not np.array_equal(keras.ops.convert_to_numpy(layer(x, training=True)), x), layer.name
    mlp = ct.with_augmentation(models.mlp((16, 16, 3), (8,)), [ct.RandomShiftFlip(2)])
    assert mlp.output_shape == (None, 10)


def test_each_augmentation_layer_draws_its_own_random_numbers():
    aug = ct.augmentation(flip="horizontal", translate=0.1, rotate=0.05, zoom=0.1, contrast=0.1, seed=5)
    draws = [tuple(keras.ops.convert_to_numpy(keras.random.uniform((4,), seed=layer.generator))) for layer in aug]
    assert len(set(draws)) == len(aug)   # with one shared seed, every layer drew the same numbers
    again = ct.augmentation(flip="horizontal", translate=0.1, rotate=0.05, zoom=0.1, contrast=0.1, seed=5)
    assert draws == [tuple(keras.ops.convert_to_numpy(keras.random.uniform((4,), seed=layer.generator)))
                     for layer in again]   # and the same seed repeats them


def test_augmentation_compiles_with_the_train_step_on_jax():
    aug = ct.augmentation(flip="horizontal", translate=0.1, rotate=0.05, zoom=0.1, contrast=0.1)
    model = models.cnn((16, 16, 3), (4,), augmentation=aug, n_outputs=3)
    model.compile("sgd", "sparse_categorical_crossentropy")
    on_jax = keras.backend.backend() == "jax"
    # Keras's own flags say False for translation, rotation and zoom (TensorFlow's XLA cannot
    # compile them); nnlab lifts them on JAX only, where the transform is traceable jax.numpy
    assert [a.supports_jit for a in aug] == [True, on_jax, on_jax, on_jax, True]
    assert model.jit_compile is on_jax  # "auto" resolves to a compiled step on JAX only
    x = np.random.default_rng(0).random((8, 16, 16, 3), dtype=np.float32)
    loss = model.fit(x, np.arange(8) % 3, batch_size=4, epochs=1, verbose=0).history["loss"][-1]
    assert np.isfinite(loss)  # the compiled step traced the random transforms and trained


def test_feature_maps_and_weights():
    model = models.cnn((12, 12, 1), (3, 5), dense=(4,))
    maps = ct.feature_maps(model, np.zeros((12, 12, 1), np.float32) + 0.5)
    assert {k: v.shape for k, v in maps.items()} == {"conv_0_0": (12, 12, 3), "conv_1_0": (6, 6, 5)}
    assert min(v.min() for v in maps.values()) >= 0  # read after the ReLU
    weights = ct.weights_by_layer(model)
    assert weights["conv_0_0 kernel"].shape == (3, 3, 1, 3) and "output bias" in weights
    assert list(weights) == [f"{layer} {part}" for layer in ("conv_0_0", "conv_1_0", "dense_0", "output")
                             for part in ("kernel", "bias")]   # plain conv models: as before


def _separable_model() -> keras.Model:
    """Separable, depthwise and plain convolutions, each read a different way by the helpers."""
    inputs = keras.Input((8, 8, 2), name="pixels")
    x = keras.layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2, name="sep")(inputs)
    x = keras.layers.Activation("relu", name="sep_relu")(x)
    x = keras.layers.DepthwiseConv2D(3, use_bias=False, name="dw")(x)          # valid: 8 → 6
    x = keras.layers.Conv2D(3, 1, name="plain")(x)
    x = keras.layers.Dense(2, name="out")(keras.layers.Flatten(name="flat")(x))
    return keras.Model(inputs, x)


def test_conv_helpers_include_separable_and_depthwise_convolutions(monkeypatch):
    model = _separable_model()
    assert [layer.name for layer in ct.conv_layers(model)] == ["sep", "dw", "plain"]
    assert [layer.name for layer in ct.conv_layers(ct.tiny_cnn())] == ["conv_0", "conv_1", "conv_2", "conv_3"]

    weights = ct.weights_by_layer(model)
    assert {k: v.shape for k, v in weights.items()} == {
        "sep depthwise kernel": (3, 3, 2, 2), "sep pointwise kernel": (1, 1, 4, 4), "sep bias": (4,),
        "dw kernel": (3, 3, 4, 1), "plain kernel": (1, 1, 4, 3), "plain bias": (3,),
        "out kernel": (108, 2), "out bias": (2,)}
    np.testing.assert_array_equal(weights["sep pointwise kernel"],
                                  keras.ops.convert_to_numpy(model.get_layer("sep").pointwise_kernel))

    image = np.random.default_rng(0).standard_normal((8, 8, 2)).astype(np.float32)
    maps = ct.feature_maps(model, image)
    assert {k: v.shape for k, v in maps.items()} == {"sep": (8, 8, 4), "dw": (6, 6, 4), "plain": (6, 6, 3)}
    assert maps["sep"].min() >= 0                                  # read after sep_relu…
    raw = ct.feature_maps(model, image, activated=False)["sep"]
    assert raw.min() < 0 and np.allclose(maps["sep"], np.maximum(raw, 0), atol=1e-6)   # …which it is

    assert ct.shape_mismatches(model) == []
    monkeypatch.setattr(ct, "conv_output_size", lambda n, k, s=1, padding="same": -1)   # every formula "wrong"
    assert [m.split(":")[0] for m in ct.shape_mismatches(model)] == ["sep", "dw", "plain"]


def test_resnet_ish_shapes_and_policy():
    model = ct.resnet_ish(width=4, n_outputs=1, mean=[0.5] * 3, std=[0.2] * 3)
    assert model.output_shape == (None, 1) and ct.formula_mismatches(model) == []
    assert ct.precision_policy("float32") == "float32"
    sched = ct.one_cycle(0.4, 100, 0.2)
    lrs = [float(keras.ops.convert_to_numpy(sched(s))) for s in (0, 20, 60, 100)]
    assert lrs[0] == pytest.approx(0) and lrs[1] == pytest.approx(0.4) and 0 < lrs[2] < 0.4 and lrs[3] < 1e-6
    with pytest.raises(ValueError, match="at least 2 steps"):
        ct.one_cycle(0.4, 1)   # its only step would have learning rate 0


def test_augmentation_contrast_keeps_pixels_in_0_1():
    x = np.random.default_rng(0).random((64, 16, 16, 3), dtype=np.float32)
    (contrast,) = ct.augmentation(flip=None, translate=0, contrast=0.5)
    y = keras.ops.convert_to_numpy(contrast(x, training=True))
    assert y.min() >= 0 and y.max() <= 1.0 + 1e-6 and not np.allclose(y, x)   # changed, and still 0..1


def test_train_cifar_cnn_runs_tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    s = _splits(n=48, shape=(16, 16, 3))
    run = ct.train_cifar_cnn(s, epochs=1, batch_size=16, width=2, cache=True)
    assert run.epochs == 1 and run.params == run.model.count_params()
    # the schedule lab 5c plots is the one trained: peak 0.4 at batches of 512, in proportion below
    assert ct.cifar_peak_lr(512) == 0.4 and f"peak_lr={ct.cifar_peak_lr(16)!r}" in run.config["optimizer"]
    again = ct.train_cifar_cnn(s, epochs=1, batch_size=16, width=2, cache=True)
    assert again.cached
    binary = ct.train_cifar_cnn(ct.select_classes(s, ("cat", "dog")), epochs=1, batch_size=16, width=2,
                                binary=True, cache=False)
    assert binary.model.output_shape == (None, 1)
    cut = ct.train_cifar_cnn(s, epochs=1, batch_size=16, width=2, cutout=4, cache=False)
    names = [layer.name for layer in cut.model.layers]
    assert names.index("standardize") < names.index("cutout") and "cutout" not in [l.name for l in run.model.layers]
    assert np.isfinite(cut.history["loss"]).all() and cut.config["cutout"] == 4


def test_train_cifar_cnn_in_mixed_precision_as_on_a_gpu(tmp_path, monkeypatch):
    """Lab 5c's recipe takes mixed_float16 on a GPU only, so a CPU run never meets it otherwise:
    it trains, caches and reloads, and its augmentation is still exact identity at inference."""
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    s = _splits(n=48, shape=(16, 16, 3))
    run = ct.train_cifar_cnn(s, epochs=1, batch_size=16, width=2, precision="mixed_float16", cutout=4, cache=True)
    assert keras.mixed_precision.global_policy().name == "float32"  # the policy applied to this model only
    assert run.config["precision"] == "mixed_float16" and np.isfinite(run.history["loss"]).all()
    assert run.model.get_layer("augment").compute_dtype == "float16" and run.model.output.dtype == "float32"
    again = ct.train_cifar_cnn(s, epochs=1, batch_size=16, width=2, precision="mixed_float16", cutout=4, cache=True)
    assert again.cached
    np.testing.assert_array_equal(ct.predict_proba(again.model, s.x_test), ct.predict_proba(run.model, s.x_test))
    aug, x = run.model.get_layer("augment"), s.x_test[:4]
    assert ct.identity_at_inference(aug, x)  # what lab 5c checks: unchanged, in the dtype the layer computes in
    assert ct.identity_at_inference(run.model.get_layer("cutout"), x)
    assert not np.array_equal(keras.ops.convert_to_numpy(aug(x, training=False)), x)  # float16 rounds
    assert not ct.identity_at_inference(keras.layers.Rescaling(2.0), x)  # the check can fail


def test_tiny_cnn_budget_and_bn_momentum():
    tiny = ct.tiny_cnn()
    assert tiny.count_params() == 2054 and ct.formula_mismatches(tiny) == []
    model = ct.set_bn_momentum(models.cnn((16, 16, 1), (4,), batch_norm=True), 0.8)
    assert [l.momentum for l in model.layers if isinstance(l, keras.layers.BatchNormalization)] == [0.8]


def test_refresh_batch_norm_sets_the_running_statistics_to_the_data_averages():
    rng = np.random.default_rng(1)
    x = (3.0 + 2.0 * rng.standard_normal((96, 12, 12, 2))).astype("float32")   # far from mean 0, variance 1
    model = models.cnn((12, 12, 2), (4, 6), batch_norm=True, dense=(8,), n_outputs=3)
    before = [w.copy() for w in model.get_weights()]
    stale = keras.ops.convert_to_numpy(model(x, training=False))
    refreshed = ct.refresh_batch_norm(model, x, batch_size=40)   # batches that do not divide 96
    # with the whole data set as one batch, batch statistics are the data averages: inference
    # mode with refreshed statistics equals training mode on that batch
    whole_batch = keras.ops.convert_to_numpy(refreshed(x, training=True))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(refreshed(x, training=False)), whole_batch, atol=1e-4)
    assert np.abs(stale - whole_batch).max() > 1e-2   # the stale statistics did differ
    for old, new in zip(before, model.get_weights()):   # the model handed in is unchanged
        np.testing.assert_array_equal(old, new)
    # batch norm inside a nested model cannot be refreshed this way: refused, not silently left stale
    inputs = keras.Input((12, 12, 2))
    outer = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(model(inputs))), name="outer")
    with pytest.raises(ValueError, match="outer has some inside a nested model or layer: bn_"):
        ct.refresh_batch_norm(outer, x)


def test_one_cycle_factory_has_a_stable_repr():
    a = ct.OneCycle("sgd", 0.1, 50, options=(("momentum", 0.9),))
    assert repr(a) == repr(ct.OneCycle("sgd", 0.1, 50, options=(("momentum", 0.9),)))
    opt = a()
    assert isinstance(opt, keras.optimizers.SGD) and opt.momentum == 0.9
    assert ct.OneCycle.steps(1000, 3, 128) == 24


def test_channel_stats_are_per_channel_and_use_at_most_max_images():
    x = np.zeros((4, 2, 2, 3), np.float32)
    x[..., 1] = 1.0
    x[:2, ..., 2] = 2.0                   # channel 2: half the images 2, half 0 → mean 1, std 1
    means, stds = ct.channel_stats(x)
    np.testing.assert_allclose(means, [0, 1, 1])
    np.testing.assert_allclose(stds, [1e-7, 1e-7, 1 + 1e-7], rtol=1e-6)
    first_two, _ = ct.channel_stats(x, max_images=2)
    np.testing.assert_allclose(first_two, [0, 1, 2])
