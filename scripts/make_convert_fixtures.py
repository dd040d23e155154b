"""Generates the Keras side of Tests/Fixtures/convert/<model>/ for `parity convert --to torch`:
`keras.keras` (models made here; the shared ones are read from Tests/Fixtures/keras/models),
`inputs.npz` (keyed by input layer) and `keras_outputs.npz` (Keras's float32 outputs, keyed by
output layer, in output order), plus `meta.json` with the versions.

Run by hand (never in CI), in a venv with `pip install tensorflow-cpu keras numpy`:
    TF_ENABLE_ONEDNN_OPTS=0 python scripts/make_convert_fixtures.py
Then regenerate the PyTorch side (model.py, model.pt) with
    PARITY_RECORD=1 swift test --filter ParityConvertTests
and check it in real PyTorch with scripts/verify_conversions.py.
"""
import json
import os
import platform

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = "Tests/Fixtures/convert"
SHARED = "Tests/Fixtures/keras/models"
L = keras.layers
rng = np.random.default_rng(2024)
meta = {"generator": "scripts/make_convert_fixtures.py (generated, do not edit)", "keras": keras.__version__,
        "tensorflow": tf.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "TF_ENABLE_ONEDNN_OPTS": os.environ["TF_ENABLE_ONEDNN_OPTS"]}


def randomise(model):
    # Variances stay positive (and away from 1, so a wrong epsilon shows); everything else in [-0.5, 0.5].
    model.set_weights([rng.uniform(0.05, 1.5, w.shape).astype(np.float32) if "variance" in w.path
                       else rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in model.weights])


def convnet():
    # Odd and even sizes under strided 'same': TensorFlow pads (0, 1) on one axis, (1, 1) on the other.
    x = keras.Input((13, 10, 3), name="image")
    y = L.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="conv_a")(x)
    y = L.BatchNormalization(momentum=0.9, epsilon=1e-3, name="bn")(y)
    y = L.Conv2D(6, 3, dilation_rate=2, padding="same", activation="gelu", name="conv_b")(y)
    y = L.MaxPooling2D(3, strides=2, padding="same", name="max_pool")(y)
    y = L.AveragePooling2D(2, strides=1, padding="same", name="avg_pool")(y)
    y = L.Flatten(name="flatten")(y)
    y = L.Dense(10, activation="swish", name="fc")(y)
    y = L.Dropout(0.25, name="dropout")(y)
    y = L.Dense(4, activation="softmax", name="head")(y)
    return keras.Model(x, y, name="convnet"), [(13, 10, 3)], []


def recurrent():
    x = keras.Input((9,), dtype="int32", name="tokens")
    y = L.Embedding(20, 6, name="embedding")(x)
    y = L.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="tanh", name="causal_conv")(y)
    y = L.LSTM(7, return_sequences=True, name="lstm")(y)
    y = L.GRU(5, return_sequences=True, name="gru")(y)
    y = L.LayerNormalization(epsilon=1e-3, name="norm")(y)
    y = L.AveragePooling1D(3, strides=2, padding="same", name="pool")(y)
    y = L.SimpleRNN(4, name="rnn")(y)
    y = L.Dense(3, name="head")(y)
    return keras.Model(x, y, name="recurrent"), [(9,)], [0]


def graph():
    # Two inputs, a residual Add on channels-first values, merges, two outputs.
    a = keras.Input((8, 8, 3), name="pixels")
    b = keras.Input((5,), name="features")
    c1 = L.Conv2D(4, 3, padding="same", name="conv_1")(a)
    r = L.ReLU(name="relu")(c1)
    c2 = L.Conv2D(4, 1, name="conv_2")(r)
    s = L.Add(name="residual")([c1, c2])
    p = L.GlobalAveragePooling2D(name="gap")(s)
    q = L.GlobalMaxPooling2D(name="gmp")(s)
    f = L.Dense(4, activation="tanh", name="side")(b)
    m = L.Multiply(name="gate")([p, f])
    d = L.Subtract(name="diff")([q, f])
    h = L.Concatenate(name="concat")([m, d, L.Average(name="mean")([p, q]), L.Maximum(name="max")([p, f])])
    h = L.LeakyReLU(negative_slope=0.15, name="leaky")(h)
    logits = L.Dense(3, name="logits")(h)
    probs = L.Softmax(name="probs")(logits)
    e = L.ELU(alpha=0.7, name="elu")(L.Reshape((4, 4), name="reshape")(h))
    e = L.Permute((2, 1), name="permute")(e)
    return keras.Model([a, b], [probs, e], name="graph"), [(8, 8, 3), (5,)], []


def convnext_forms():
    # keras.applications ConvNeXt's own layers: LayerScale (gammas drawn by randomise), StochasticDepth
    # (identity at inference) and the residual `inputs + x`, saved as a keras.ops Add operation node.
    from keras.src.applications.convnext import LayerScale, StochasticDepth
    x = keras.Input((6, 5, 4), name="image")
    y = L.Conv2D(4, 3, padding="same", name="depthwise_like")(x)
    y = L.LayerNormalization(epsilon=1e-6, name="norm")(y)
    y = L.Dense(8, activation="gelu", name="pointwise_1")(y)
    y = L.Dense(4, name="pointwise_2")(y)
    y = LayerScale(1e-6, 4, name="layer_scale")(y)
    y = StochasticDepth(0.3, name="drop_path")(y)
    y = x + y
    return keras.Model(x, L.GlobalAveragePooling2D(name="gap")(y), name="convnext_forms"), [(6, 5, 4)], []


def keras_ops():
    # keras.ops operation nodes of arithmetic with Python numbers (both sides), between tensors held
    # channels-first (two convolutions), and activations (MobileNetV3's hard_sigmoid is `relu6(x + 3) * (1/6)`).
    from keras import ops
    x = keras.Input((5, 4, 3), name="image")
    a = L.Conv2D(4, 3, padding="same", name="conv_a")(x)
    b = L.Conv2D(4, 1, name="conv_b")(x)
    y = L.ReLU(6.0, name="relu6")(a + 3.0) * (1.0 / 6.0)
    y = 2.0 - y + a * b
    y = y / 4.0 - b
    y = 1.5 / (y * y + 1.0)
    y = ops.maximum(y, 0.5) + ops.minimum(a, b)
    y = ops.sigmoid(y) + ops.relu(b) + ops.silu(a) + ops.hard_sigmoid(b)
    return keras.Model(x, L.Flatten(name="flatten")(y), name="keras_ops"), [(5, 4, 3)], []


def custom_scale():
    # keras.applications Inception-ResNet-v2's CustomScaleLayer: inputs[0] + inputs[1] * scale.
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer
    x = keras.Input((5, 5, 3), name="image")
    a = L.Conv2D(4, 3, padding="same", name="conv_a")(x)
    b = L.Conv2D(4, 1, name="conv_b")(x)
    y = CustomScaleLayer(0.17, name="scale")([a, b])
    return keras.Model(x, L.Activation("relu", name="relu")(y), name="custom_scale"), [(5, 5, 3)], []


def write(name, model, inputs):
    folder = f"{OUT}/{name}"
    os.makedirs(folder, exist_ok=True)
    feed = inputs[0] if len(inputs) == 1 else inputs
    outputs = model(feed, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    layer_name = lambda t: t._keras_history[0].name  # noqa: E731  (the layer that produced the tensor)
    np.savez(f"{folder}/inputs.npz", **{layer_name(t): x for t, x in zip(model.inputs, inputs)})
    np.savez(f"{folder}/keras_outputs.npz", **{f"{i}_{layer_name(t)}": np.asarray(o) for i, (t, o) in enumerate(zip(model.outputs, outputs))})
    with open(f"{folder}/meta.json", "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


for build in [convnet, recurrent, graph, convnext_forms, keras_ops, custom_scale]:
    model, shapes, int_inputs = build()
    randomise(model)
    inputs = [rng.integers(0, 20, (2,) + s).astype(np.int32) if i in int_inputs else rng.uniform(-1, 1, (2,) + s).astype(np.float32)
              for i, s in enumerate(shapes)]
    os.makedirs(f"{OUT}/{model.name}", exist_ok=True)
    model.save(f"{OUT}/{model.name}/keras.keras")
    write(model.name, model, inputs)

for name in ["mlp", "cnn", "sequence", "two_towers", "merge", "text", "extras"]:
    model = keras.saving.load_model(f"{SHARED}/{name}.keras")
    stored = np.load(f"{SHARED}/{name}.inputs.npz")
    write(name, model, [stored[k] for k in stored.files])


def refused():
    """A model Parity runs but cannot convert (UpSampling3D has no PyTorch module with Keras's repeat
    semantics in the converter yet): the CLI's refusal test reads it."""
    model = keras.Sequential([keras.Input((2, 2, 2, 1)), L.UpSampling3D(2, name="up3d")], name="refused")
    os.makedirs(f"{OUT}/refused", exist_ok=True)
    model.save(f"{OUT}/refused/upsampling3d.keras")


refused()
print("wrote", OUT)
