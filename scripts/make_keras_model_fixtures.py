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
    return {"shape": list(x.shape), "values": [float(v) for v in x.astype(np.float64).reshape(-1)]}


def randomise(model):
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])


def save(name, build, input_shapes):
    model = build("float32")
    randomise(model)
    inputs = [rng.uniform(-1, 1, (3,) + tuple(s)).astype(np.float32) for s in input_shapes]
    feed = inputs[0] if len(inputs) == 1 else inputs
    out32 = model(feed, training=False)
    out32 = out32 if isinstance(out32, (list, tuple)) else [out32]
    model64 = build("float64")
    model64.set_weights([w.astype(np.float64) for w in model.get_weights()])
    feed64 = [x.astype(np.float64) for x in inputs]
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


save("mlp", mlp, [(6,)])
save("two_towers", functional, [(4,), (4,)])
