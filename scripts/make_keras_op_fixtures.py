"""Generates Tests/Fixtures/keras/operations/: Keras 3 functional models whose nodes are `keras.ops`
operation nodes (what a functional model saves when it calls `keras.ops.*` on a symbolic tensor),
one model per family with one output per operation, saved by Keras itself with `model.save`.

Each family is a directory in the shared zoo layout: `model.keras`, `input.npz` (keyed by input
name), `expected.npz` (Keras's float32 outputs, `output0`, `output1`, ...), and `meta.json`, whose
`outputs` list names the operation behind each output.

Gradients (`gradients.npz`, and `meta.json`'s `gradients`, one entry per output): the same operations run
eagerly on the TensorFlow backend in float64 (the float32 inputs widened), each output on its own under
`tf.GradientTape`: `cotangent<i>` (uniform in [-1, 1), seeded per family) and `grad<i>:<input>`, the gradient
of Σ output_i·cotangent_i with respect to each float input. An entry is `{"wrt": [inputs]}` (inputs TensorFlow
gives no gradient for are expected to get zero), `{"zero": reason}` for a float output TensorFlow gives no
gradient at all (piecewise constant: its derivative is 0 wherever it is defined), or `{"none": reason}` for an
output with no derivative (integer or bool results).

Run by hand in the reference venv (never in CI):
    TF_ENABLE_ONEDNN_OPTS=0 ~/venv-ref/bin/python scripts/make_keras_op_fixtures.py
"""
import json
import os
import shutil
import sys
import zlib

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

OUT = "Tests/Fixtures/keras/operations"
rng = np.random.default_rng(11)


def family(name, inputs, build):
    """`inputs`: {name: array}; `build(tensors) -> [(label, tensor)]`."""
    symbolic = {k: keras.Input(shape=v.shape[1:], dtype=str(v.dtype), name=k) for k, v in inputs.items()}
    outputs = build(symbolic)
    labels = [label for label, _ in outputs]
    model = keras.Model(inputs=list(symbolic.values()), outputs=[t for _, t in outputs], name=name)
    feed = [inputs[k] for k in symbolic]
    results = model.predict(feed, verbose=0)
    results = results if isinstance(results, list) else [results]
    folder = f"{OUT}/{name}"
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    model.save(f"{folder}/model.keras")
    np.savez(f"{folder}/input.npz", **inputs)
    np.savez(f"{folder}/expected.npz", **{f"output{i}": np.asarray(r) for i, r in enumerate(results)})
    classes = sorted({layer["class_name"] for layer in model.get_config()["layers"] if layer.get("module", "").startswith("keras.src.ops")})
    meta = {"name": name, "source": "keras.ops", "family": "operations", "params": 0,
            "framework_versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "python": sys.version.split()[0]},
            "notes": f"{len(labels)} outputs, {len(classes)} operation classes", "outputs": labels, "operation_classes": classes}
    meta["gradients"], arrays = tape_gradients(name, inputs, build, labels)
    np.savez_compressed(f"{folder}/gradients.npz", **arrays)
    with open(f"{folder}/meta.json", "w") as f:
        json.dump(meta, f, indent=1)
    print(name, len(labels), "outputs,", len(classes), "operation classes,",
          sum("wrt" in g for g in meta["gradients"]), "gradients")


PIECEWISE = "piecewise constant: derivative 0 wherever defined (TensorFlow gives no gradient)"
INTEGER = "a function of integer inputs only (TensorFlow gives no gradient)"
CONSTANT = "a constant of the input's shape (TensorFlow gives no gradient)"
# Float outputs without a gradient from TensorFlow, each with why; Parity's must be zero.
ZERO_REASONS = {"floor": PIECEWISE, "ceil": PIECEWISE, "trunc": PIECEWISE, "round": PIECEWISE, "round_2": PIECEWISE,
                "floor_divide": PIECEWISE, "int_divide": INTEGER, "int_mean": INTEGER, "cast_float": INTEGER, "one_hot": INTEGER,
                "one_hot_axis": INTEGER, "multi_hot": INTEGER, "ones_like_dtype": INTEGER, "zeros_like": CONSTANT, "full_like": CONSTANT}


def tape_gradients(name, inputs, build, labels):
    """Each output's float64 gradient under tf.GradientTape (see the module docstring)."""
    cot_rng = np.random.default_rng(zlib.crc32(name.encode()))
    xs = {k: tf.constant(v.astype(np.float64) if v.dtype.kind == "f" else v) for k, v in inputs.items()}
    floats = [k for k, v in inputs.items() if v.dtype.kind == "f"]
    entries, arrays = [], {}
    CONSTANT_DTYPE[0] = "float64"
    with tf.GradientTape(persistent=True) as tape:
        for k in floats:
            tape.watch(xs[k])
        outs = build(xs)
    CONSTANT_DTYPE[0] = "float32"
    for i, (label, out) in enumerate(outs):
        assert label == labels[i]
        if not out.dtype.is_floating:
            entries.append({"none": f"{out.dtype.name} output: no derivative"})
            continue
        cotangent = cot_rng.uniform(-1, 1, size=tuple(out.shape))
        with tape:
            total = tf.reduce_sum(tf.cast(out, tf.float64) * cotangent)
        grads = tape.gradient(total, [xs[k] for k in floats])
        wrt = [k for k, g in zip(floats, grads) if g is not None]
        if not wrt:
            entries.append({"zero": ZERO_REASONS[label]})
            continue
        arrays[f"cotangent{i}"] = cotangent
        for k, g in zip(floats, grads):
            if g is not None:
                arrays[f"grad{i}:{k}"] = tf.convert_to_tensor(g).numpy()
        entries.append({"wrt": wrt})
    return entries, arrays


CONSTANTS = {}
CONSTANT_DTYPE = ["float32"]  # float64 while the gradients run


def constant(key, shape=None, make=None):
    """A random constant of a family (or one made by `make` in float32 from others), drawn once: the
    gradient run reuses the saved model's values."""
    if key not in CONSTANTS:
        CONSTANTS[key] = make() if make else rng.normal(size=shape).astype(np.float32)
    return CONSTANTS[key].astype(CONSTANT_DTYPE[0])


def normal(*shape):
    return rng.normal(size=shape).astype(np.float32)


def uniform(low, high, *shape):
    return rng.uniform(low, high, size=shape).astype(np.float32)


# --- elementwise functions of one tensor ---
def unary(t):
    x, p, u = t["x"], t["p"], t["u"]
    out = []
    for name in ["abs", "negative", "exp", "expm1", "square", "sign", "sin", "cos", "tan", "sinh", "cosh", "tanh", "arctan",
                 "arcsinh", "floor", "ceil", "trunc", "round", "sigmoid", "relu", "relu6", "silu", "softplus", "softsign",
                 "log_sigmoid", "hard_sigmoid", "hard_silu", "selu", "elu", "celu", "tanh_shrink", "hard_tanh", "soft_shrink",
                 "hard_shrink", "sparse_plus", "squareplus", "sparse_sigmoid", "erf", "erfc", "copy", "isnan", "isfinite",
                 "signbit", "deg2rad", "rad2deg", "cbrt", "exp2", "sinc"]:
        out.append((name, getattr(ops, name)(x)))
    for name in ["log", "sqrt", "log1p", "log2", "log10", "reciprocal", "rsqrt"]:
        out.append((name, getattr(ops, name)(p)))
    for name in ["arcsin", "arccos", "arctanh"]:
        out.append((name, getattr(ops, name)(u)))
    out.append(("arccosh", ops.arccosh(p + 1.0)))
    out += [("gelu_tanh", ops.gelu(x)), ("gelu_exact", ops.gelu(x, approximate=False)), ("leaky_relu", ops.leaky_relu(x, 0.1)),
            ("elu_alpha", ops.elu(x, alpha=0.5)), ("celu_alpha", ops.celu(x, alpha=2.0)), ("clip", ops.clip(x, -0.5, 0.7)),
            ("round_2", ops.round(x, 2)), ("threshold", ops.threshold(x, 0.3, -1.0)), ("softmax", ops.softmax(x, axis=1)),
            ("log_softmax", ops.log_softmax(x)), ("softmax_all", ops.softmax(x, axis=None)), ("glu", ops.glu(x, axis=-1)),
            ("logical_not", ops.logical_not(x > 0.0)), ("nan_to_num", ops.nan_to_num(ops.log(x))),
            ("x_plus_3", x + 3.0), ("x_times_sixth", x * 0.16666666666666666), ("three_minus_x", 3.0 - x), ("x_pow_2", x ** 2),
            ("one_over_x", 1.0 / p)]
    return out


family("unary", {"x": normal(2, 3, 4), "p": uniform(0.1, 3, 2, 3, 4), "u": uniform(-0.9, 0.9, 2, 3, 4)}, unary)


# --- two operands, integers and bools ---
def binary(t):
    x, y, i, j = t["x"], t["y"], t["i"], t["j"]
    out = []
    for name in ["add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum", "arctan2", "hypot", "logaddexp",
                 "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "floor_divide", "mod", "fmod",
                 "divide_no_nan", "heaviside"]:
        out.append((name, getattr(ops, name)(x, y)))
    out += [("power", ops.power(ops.abs(x) + 0.5, y)), ("broadcast_add", ops.add(x, y[:, :1])),
            ("int_add", ops.add(i, j)), ("int_multiply", ops.multiply(i, 3)), ("int_floor_divide", ops.floor_divide(i, 3)),
            ("int_mod", ops.mod(i, 4)), ("int_minus_float", ops.subtract(i, x)), ("int_divide", ops.divide(i, j + 10)),
            ("int_compare", ops.greater(i, j)), ("logical_and", ops.logical_and(x > 0.0, y > 0.0)),
            ("logical_or", ops.logical_or(x > 0.0, y > 0.0)), ("logical_xor", ops.logical_xor(x > 0.0, y > 0.0)),
            ("bitwise_and", ops.bitwise_and(i, j)), ("bitwise_or", ops.bitwise_or(i, j)), ("bitwise_xor", ops.bitwise_xor(i, j)),
            ("left_shift", ops.left_shift(i, 2)), ("right_shift", ops.right_shift(i, 1)), ("bitwise_invert", ops.bitwise_invert(i)),
            ("where", ops.where(x > y, x, y)), ("where_scalar", ops.where(x > 0.0, x, 0.0)), ("where_int", ops.where(i > j, i, j)),
            ("isclose", ops.isclose(x, x + 1e-6)), ("fmax", ops.fmax(x, y)), ("fmin", ops.fmin(x, y))]
    return out


family("binary", {"x": normal(3, 5), "y": normal(3, 5), "i": rng.integers(-20, 20, (3, 5)).astype(np.int32),
                  "j": rng.integers(1, 9, (3, 5)).astype(np.int32)}, binary)


# --- reductions and orderings ---
def reductions(t):
    x, i = t["x"], t["i"]
    out = []
    for name in ["sum", "mean", "max", "min", "amax", "amin", "prod", "var", "std", "logsumexp", "ptp"]:
        out.append((name, getattr(ops, name)(x, axis=1)))
        out.append((name + "_all", getattr(ops, name)(x)))
    out += [("sum_keepdims", ops.sum(x, axis=(1, 2), keepdims=True)), ("mean_neg_axis", ops.mean(x, axis=-1)),
            ("argmax", ops.argmax(x, axis=-1)), ("argmin", ops.argmin(x, axis=1)), ("argmax_all", ops.argmax(x)),
            ("all", ops.all(x > -1.0, axis=1)), ("any", ops.any(x > 1.0, axis=-1)), ("count_nonzero", ops.count_nonzero(i, axis=1)),
            ("int_sum", ops.sum(i, axis=1)), ("int_max", ops.max(i, axis=-1)), ("int_mean", ops.mean(i, axis=1)),
            ("cumsum", ops.cumsum(x, axis=1)), ("cumprod", ops.cumprod(x, axis=-1)), ("cumsum_flat", ops.cumsum(x)),
            ("sort", ops.sort(x, axis=1)), ("argsort", ops.argsort(x, axis=-1)), ("median", ops.median(x, axis=1)),
            ("quantile", ops.quantile(x, 0.3, axis=-1)), ("average", ops.average(x, axis=1)),
            ("norm", ops.norm(x, axis=-1)), ("norm_1", ops.norm(x, ord=1, axis=-1)), ("norm_fro", ops.norm(x, axis=(1, 2))),
            ("max_initial", ops.max(x, axis=1, initial=0.5)), ("nansum", ops.nansum(x, axis=1)), ("nanmean", ops.nanmean(x, axis=-1))]
    top_values, top_indices = ops.top_k(x, 3)
    mean, variance = ops.moments(x, axes=[1, 2])
    out += [("top_k_values", top_values), ("top_k_indices", top_indices), ("moments_mean", mean), ("moments_variance", variance)]
    return out


family("reductions", {"x": normal(2, 4, 5), "i": rng.integers(-3, 4, (2, 6)).astype(np.int32)}, reductions)


# --- shapes, slicing, joining, gathering ---
def shapes(t):
    x, y, idx = t["x"], t["y"], t["idx"]
    a, b, c = ops.split(x, 3, axis=-1)
    p, q = ops.split(x, [2], axis=1)
    s0, s1, _ = ops.unstack(y, axis=1)
    out = [("reshape", ops.reshape(x, (-1, 6, 2))), ("transpose", ops.transpose(x, (0, 2, 1, 3))), ("transpose_default", ops.transpose(y)),
           ("expand_dims", ops.expand_dims(x, 1)), ("expand_dims_last", ops.expand_dims(y, -1)), ("squeeze", ops.squeeze(ops.expand_dims(y, 2), 2)),
           ("broadcast_to", ops.broadcast_to(ops.expand_dims(y, 1), (2, 4, 3))), ("moveaxis", ops.moveaxis(x, 1, -1)),
           ("swapaxes", ops.swapaxes(x, 1, 2)), ("ravel", ops.ravel(y)), ("flip", ops.flip(x, axis=2)), ("flip_all", ops.flip(y)),
           ("roll", ops.roll(x, 2, axis=3)), ("roll_flat", ops.roll(y, -1)), ("tile", ops.tile(y, (2, 3))), ("repeat", ops.repeat(y, 2, axis=1)),
           ("repeat_flat", ops.repeat(y, 2)), ("tril", ops.tril(x)), ("triu", ops.triu(x, k=1)), ("tril_neg", ops.tril(y, k=-1)),
           ("diagonal", ops.diagonal(x, axis1=2, axis2=3)), ("trace", ops.trace(x, axis1=2, axis2=3)),
           ("pad", ops.pad(x, ((0, 0), (1, 2), (0, 0), (3, 0)))), ("pad_value", ops.pad(y, ((0, 0), (2, 1)), constant_values=-1.5)),
           ("pad_reflect", ops.pad(y, ((0, 0), (2, 1)), mode="reflect")), ("pad_symmetric", ops.pad(y, ((0, 0), (1, 2)), mode="symmetric")),
           ("getitem_int", x[:, 0]), ("getitem_slice", x[:, 1:3, ::2]), ("getitem_neg", x[:, -1, :, -2]),
           ("getitem_newaxis", y[:, None, 1:]), ("getitem_ellipsis", x[..., 1]), ("getitem_step", x[:, ::-1]),
           ("getitem_cls", x[:, 0, :]),
           ("concatenate", ops.concatenate([x, x * 2.0], axis=2)),
           ("stack", ops.stack([y, y + 1.0], axis=1)), ("hstack", ops.hstack([y, y])), ("vstack", ops.vstack([y, y])),
           ("dstack", ops.dstack([y, y])), ("append", ops.append(y, y, axis=1)),
           ("split0", a), ("split1", b), ("split2", c), ("split_at0", p), ("split_at1", q), ("unstack0", s0), ("unstack1", s1),
           ("take", ops.take(x, idx[0], axis=2)), ("take_flat", ops.take(y, idx)), ("take_along_axis", ops.take_along_axis(y, idx % 3, axis=1)),
           ("one_hot", ops.one_hot(idx, 5)), ("one_hot_axis", ops.one_hot(idx, 4, axis=1)), ("multi_hot", ops.multi_hot(idx, 6)),
           ("slice", ops.slice(x, (0, 1, 0, 2), (2, 2, 3, 2)))]
    return out


family("shapes", {"x": normal(2, 3, 4, 6), "y": normal(2, 3), "idx": rng.integers(0, 3, (2, 2)).astype(np.int32)}, shapes)


# --- dtypes, fills, products, nn ---
def core(t):
    x, i, img, q, k, v = t["x"], t["i"], t["img"], t["q"], t["k"], t["v"]
    kernel, depth_kernel, point_kernel, w = [constant(f"core{j}", shape) for j, shape in
                                             enumerate([(3, 3, 4, 5), (3, 3, 4, 2), (1, 1, 8, 3), (6, 3)])]
    mask = np.tril(np.ones((5, 5), bool))[None, None]
    out = [("cast_int", ops.cast(x * 3.0, "int32")), ("cast_bool", ops.cast(x, "bool")), ("cast_float", ops.cast(i, "float32")),
           ("cast_float16", ops.cast(x * 1000.0, "float16")), ("cast_uint8", ops.cast(i * 40, "uint8")),
           ("saturate_cast", ops.saturate_cast(i * 40, "uint8")), ("convert_to_tensor", ops.convert_to_tensor(x)),
           ("ones_like", ops.ones_like(i)), ("zeros_like", ops.zeros_like(x)), ("full_like", ops.full_like(x, 2.5)), ("full_like_int", ops.full_like(i, 7)),
           ("ones_like_dtype", ops.ones_like(i, dtype="float32")),
           ("matmul", ops.matmul(x, w)), ("matmul_batch", ops.matmul(q[:, :, 0, :], ops.transpose(k[:, :, 0, :], (0, 2, 1)))),
           ("matmul_vector", ops.matmul(x, w[:, 0])), ("dot", ops.dot(x, w)), ("tensordot", ops.tensordot(x, w, axes=1)),
           ("tensordot_pairs", ops.tensordot(q, k, axes=([1, 3], [1, 3]))), ("einsum", ops.einsum("btnh,bsnh->bnts", q, k)),
           ("einsum_implicit", ops.einsum("ij,jk", x, w)), ("einsum_ellipsis", ops.einsum("...h,hd->...d", q, w[:4, :2])),
           ("einsum_sum", ops.einsum("btnh->bn", q)), ("outer", ops.outer(x[0], w[0])), ("inner", ops.inner(x, x)), ("vdot", ops.vdot(x[0], x[1])),
           ("conv", ops.conv(img, kernel, padding="same")), ("conv_strided", ops.conv(img, kernel, strides=2)),
           ("depthwise_conv", ops.depthwise_conv(img, depth_kernel, padding="same")),
           ("separable_conv", ops.separable_conv(img, depth_kernel, point_kernel)),
           ("max_pool", ops.max_pool(img, 2)), ("average_pool", ops.average_pool(img, 3, strides=2, padding="same")),
           ("layer_norm", ops.layer_normalization(x, epsilon=1e-3)), ("layer_norm_gamma", ops.layer_normalization(x, gamma=w[:, 0], beta=w[:, 1])),
           ("rms_norm", ops.rms_normalization(x, scale=w[:, 2])), ("normalize", ops.normalize(x)), ("normalize_1", ops.normalize(x, order=1)),
           ("batch_norm", ops.batch_normalization(x, mean=w[:, 0], variance=constant("core_variance", make=lambda: np.abs(CONSTANTS["core3"][:, 1]) + np.float32(0.5)), axis=-1, offset=w[:, 2], scale=w[:, 1])),
           ("attention", ops.dot_product_attention(q, k, v)), ("attention_causal", ops.dot_product_attention(q, k, v, is_causal=True)),
           ("attention_mask", ops.dot_product_attention(q, k, v, mask=mask, scale=0.3)),
           ("attention_gqa", ops.dot_product_attention(ops.concatenate([q, q * 0.5], axis=2), k, v)),
           ("depth_to_space", ops.depth_to_space(img, 2)), ("space_to_depth", ops.space_to_depth(img, 2)),
           ("resize", ops.image.resize(img, (6, 10))), ("resize_nearest", ops.image.resize(img, (3, 5), interpolation="nearest"))]
    return out


family("core", {"x": normal(2, 6), "i": rng.integers(-4, 5, (2, 6)).astype(np.int32), "img": normal(2, 8, 6, 4),
                "q": normal(2, 5, 2, 4), "k": normal(2, 5, 2, 4), "v": normal(2, 5, 2, 4)}, core)
