"""Generates Tests/Fixtures/keras/models/: whole Keras models saved by Keras itself as `.keras`
(Keras 3 archive), legacy `.h5` and `.weights.h5`, with inputs and Keras's outputs in
`<name>.json` (float32, and float64 from the same weights in a float64 copy of the model).

Run by hand (never in CI), in a venv with `pip install tensorflow-cpu keras h5py numpy`:
    TF_ENABLE_ONEDNN_OPTS=0 python scripts/make_keras_model_fixtures.py
"""
import json
import os
import platform
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = "Tests/Fixtures/keras/models"
L = keras.layers
rng = np.random.default_rng(77)


def tensor(x):
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer):
        return {"shape": list(x.shape), "dtype": "int64", "values": [int(v) for v in x.reshape(-1)]}
    return {"shape": list(x.shape), "values": [float(v) for v in x.astype(np.float64).reshape(-1)]}


def randomise(model):
    # Variances stay positive; everything else uniform in [-0.5, 0.5].
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if "variance" in w.path
                       else rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in model.weights])


def save(name, build, input_shapes, int_inputs=()):
    model = build("float32")
    randomise(model)
    inputs = [rng.integers(0, 10, (3,) + tuple(s)).astype(np.int32) if i in int_inputs
              else rng.uniform(-1, 1, (3,) + tuple(s)).astype(np.float32) for i, s in enumerate(input_shapes)]
    feed = inputs[0] if len(inputs) == 1 else inputs
    out32 = model(feed, training=False)
    out32 = out32 if isinstance(out32, (list, tuple)) else [out32]
    model64 = build("float64")
    model64.set_weights([w.astype(np.float64) for w in model.get_weights()])
    feed64 = [x if np.issubdtype(x.dtype, np.integer) else x.astype(np.float64) for x in inputs]
    out64 = model64(feed64[0] if len(feed64) == 1 else feed64, training=False)
    out64 = out64 if isinstance(out64, (list, tuple)) else [out64]
    model.save(f"{OUT}/{name}.keras")
    model.save(f"{OUT}/{name}.h5")
    model.save_weights(f"{OUT}/{name}.weights.h5")
    # The same data as .npz for the CLI (`parity run --input NAME.inputs.npz`): keyed by input / output name.
    layer_name = lambda t: t._keras_history[0].name  # noqa: E731  (the layer that produced the tensor)
    np.savez(f"{OUT}/{name}.inputs.npz", **{layer_name(t): x for t, x in zip(model.inputs, inputs)})
    np.savez(f"{OUT}/{name}.outputs.npz", **{layer_name(t): np.asarray(o) for t, o in zip(model.outputs, out32)})
    with open(f"{OUT}/{name}.json", "w") as f:
        json.dump({"meta": meta, "inputs": [tensor(x) for x in inputs],
                   "outputs32": [tensor(np.asarray(o)) for o in out32],
                   "outputs64": [tensor(np.asarray(o)) for o in out64]}, f, separators=(",", ":"))
    print(name, [tuple(np.asarray(o).shape) for o in out32])


meta = {"generator": "scripts/make_keras_model_fixtures.py (generated, do not edit)", "keras": keras.__version__,
        "tensorflow": tf.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
        "platform": platform.platform(), "TF_ENABLE_ONEDNN_OPTS": os.environ["TF_ENABLE_ONEDNN_OPTS"]}
os.makedirs(OUT, exist_ok=True)


def mlp(dtype):
    return keras.Sequential([keras.Input((6,), dtype=dtype), L.Dense(8, activation="relu", dtype=dtype),
                             L.Dropout(0.3, dtype=dtype), L.Dense(3, activation="softmax", dtype=dtype)], name="mlp")


def functional(dtype):
    a, b = keras.Input((4,), name="a", dtype=dtype), keras.Input((4,), name="b", dtype=dtype)
    shared = L.Dense(5, activation="tanh", name="shared", dtype=dtype)
    inner = keras.Sequential([keras.Input((5,), dtype=dtype), L.Dense(2, name="inner_dense", dtype=dtype)], name="inner")
    ha, hb = shared(a), shared(b)
    out_a = inner(ha)
    out_b = L.Dense(1, name="head_b", dtype=dtype)(hb)
    return keras.Model([a, b], [out_a, out_b], name="two_towers")


def cnn(dtype):
    return keras.Sequential([
        keras.Input((12, 12, 3), dtype=dtype),
        L.Rescaling(0.5, offset=-0.25, dtype=dtype),
        L.Conv2D(4, 3, strides=2, padding="same", activation="relu", dtype=dtype),
        L.BatchNormalization(epsilon=1e-3, dtype=dtype),
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", dtype=dtype),
        L.SeparableConv2D(5, 3, padding="same", activation="gelu", dtype=dtype),
        L.MaxPooling2D(2, dtype=dtype),
        L.ZeroPadding2D(((1, 0), (0, 1)), dtype=dtype),
        L.AveragePooling2D(2, strides=1, padding="same", dtype=dtype),
        L.Conv2DTranspose(4, 3, strides=2, padding="same", dtype=dtype),
        L.Cropping2D(((1, 1), (0, 2)), dtype=dtype),
        L.UpSampling2D(2, interpolation="bilinear", dtype=dtype),
        L.Conv2D(4, 3, dilation_rate=2, groups=2, padding="valid", dtype=dtype),
        L.GlobalAveragePooling2D(dtype=dtype),
        L.Dense(3, activation="softmax", dtype=dtype),
    ], name="cnn")


def sequence(dtype):
    return keras.Sequential([
        keras.Input((10, 3), dtype=dtype),
        L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="tanh", dtype=dtype),
        L.Conv1DTranspose(4, 2, strides=1, dtype=dtype),
        L.MaxPooling1D(2, dtype=dtype),
        L.LayerNormalization(epsilon=1e-5, dtype=dtype),
        L.GRU(5, return_sequences=True, dtype=dtype),
        L.GRU(4, return_sequences=True, reset_after=False, go_backwards=True, dtype=dtype),
        L.Bidirectional(L.LSTM(3, return_sequences=True, dtype=dtype), merge_mode="concat", dtype=dtype),
        L.SimpleRNN(4, dtype=dtype),
        L.Dense(2, dtype=dtype),
    ], name="sequence")


def text(dtype):
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    x = L.Embedding(10, 8, dtype=dtype)(tokens)
    attended = L.MultiHeadAttention(num_heads=2, key_dim=4, dtype=dtype)(x, x)
    x = L.LayerNormalization(dtype=dtype)(L.Add(dtype=dtype)([x, attended]))
    x = L.GlobalMaxPooling1D(dtype=dtype)(x)
    return keras.Model(tokens, L.Dense(3, activation="log_softmax", dtype=dtype)(x), name="text")


def merge(dtype):
    a, b = keras.Input((4, 3), name="left", dtype=dtype), keras.Input((4, 3), name="right", dtype=dtype)
    parts = [L.Concatenate(axis=-1, dtype=dtype)([a, b]), L.Subtract(dtype=dtype)([a, b]), L.Multiply(dtype=dtype)([a, b]),
             L.Average(dtype=dtype)([a, b]), L.Maximum(dtype=dtype)([a, b]), L.Minimum(dtype=dtype)([a, b])]
    x = L.Concatenate(axis=-1, dtype=dtype)(parts)
    x = L.Permute((2, 1), dtype=dtype)(x)
    x = L.Reshape((4, 21), dtype=dtype)(x)
    x = L.Activation("gelu", dtype=dtype)(x)
    x = L.PReLU(dtype=dtype)(x)
    x = L.LeakyReLU(negative_slope=0.1, dtype=dtype)(x)
    x = L.ELU(dtype=dtype)(x)
    x = L.ReLU(max_value=2.0, dtype=dtype)(x)
    x = L.Softmax(axis=1, dtype=dtype)(x)
    x = L.Flatten(dtype=dtype)(x)
    x = L.RepeatVector(2, dtype=dtype)(x)
    d = L.Dot(axes=(1, 1), normalize=True, dtype=dtype)([a, b])
    return keras.Model([a, b], [L.Flatten(dtype=dtype)(x), d], name="merge")


def extras(dtype):
    image, volume, series = (keras.Input((6, 6, 2), name="image", dtype=dtype), keras.Input((4, 4, 4, 1), name="volume", dtype=dtype),
                             keras.Input((8, 3), name="series", dtype=dtype))
    x = L.Normalization(mean=[0.1, -0.2], variance=[1.5, 0.5], dtype=dtype)(image)
    x = L.SpatialDropout2D(0.2, dtype=dtype)(x)
    x = L.GaussianNoise(0.1, dtype=dtype)(x)
    x = L.Resizing(9, 9, interpolation="bilinear", dtype=dtype)(x)
    x = L.UpSampling2D(2, interpolation="nearest", dtype=dtype)(x)
    x = L.GlobalMaxPooling2D(dtype=dtype)(x)
    v = L.Conv3D(2, 2, strides=(1, 2, 1), padding="same", activation="selu", dtype=dtype)(volume)
    v = L.Flatten(dtype=dtype)(v)
    t = L.ZeroPadding1D((2, 1), dtype=dtype)(series)
    t = L.Cropping1D((1, 0), dtype=dtype)(t)
    t = L.UpSampling1D(2, dtype=dtype)(t)
    t = L.AveragePooling1D(3, strides=2, padding="same", dtype=dtype)(t)
    t = L.SpatialDropout1D(0.3, dtype=dtype)(t)
    t = L.LSTM(3, return_sequences=True, go_backwards=True, dtype=dtype)(t)
    t = L.GlobalAveragePooling1D(dtype=dtype)(t)
    out = L.Concatenate(dtype=dtype)([x, v, t])
    return keras.Model([image, volume, series], L.Dense(2, activation="hard_sigmoid", dtype=dtype)(out), name="extras")


save("mlp", mlp, [(6,)])
save("two_towers", functional, [(4,), (4,)])
save("cnn", cnn, [(12, 12, 3)])
save("sequence", sequence, [(10, 3)])
save("text", text, [(6,)], int_inputs=(0,))
save("merge", merge, [(4, 3), (4, 3)])
save("extras", extras, [(6, 6, 2), (4, 4, 4, 1), (8, 3)])
