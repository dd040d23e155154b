"""Generates the 1.07 GB Keras model of the Keras load timings in docs/performance.md ("Loading") into
.zoo/keras_load/ (git-ignored), and times Keras loading it.

A Dense stack of 16 x 4096^2 float32 (268.5 M parameters), saved by Keras as:
- big.keras          `model.save`, as Keras writes it (its `model.weights.h5` entry happens to start at
                     an odd offset in the zip, so Parity copies its weights once from the mapping);
- big_aligned.keras  the same weights under a model name that puts the entry at a multiple of 8 (Parity
                     reads its weights in place);
- big.h5, big.weights.h5, config.json   legacy full model, weights only, the architecture.

Run by hand:
    TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 ~/venv-ref/bin/python scripts/make_keras_load_models.py
then time Parity on the release build, e.g. (a whole load in a process; warm the page cache first):
    for f in big.keras big_aligned.keras big.h5; do /usr/bin/time -f "%e s %M KB" .build/release/parity _check-keras .zoo/keras_load/$f; done
    /usr/bin/time -f "%e s %M KB" .build/release/parity _check-keras .zoo/keras_load/big.keras --weights .zoo/keras_load/big.weights.h5
"""
import os
import struct
import sys
import time
import zipfile

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".zoo", "keras_load")


def weights_offset(path):
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("model.weights.h5")
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        name_length, extra_length = struct.unpack("<HH", f.read(30)[26:30])
    return info.header_offset + 30 + name_length + extra_length


def median_seconds(load, runs=3):
    load()  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        load()
        times.append(time.perf_counter() - start)
    return sorted(times)[runs // 2]


def main():
    os.makedirs(OUT, exist_ok=True)
    path = lambda name: os.path.join(OUT, name)  # noqa: E731
    inputs = keras.Input((4096,), name="x")
    h = inputs
    for i in range(16):
        h = keras.layers.Dense(4096, activation="relu" if i < 15 else None, name=f"d{i}")(h)
    model = keras.Model(inputs, h, name="big")
    model.save(path("big.keras"))
    model.save_weights(path("big.weights.h5"))
    model.save(path("big.h5"))
    with zipfile.ZipFile(path("big.keras")) as zf, open(path("config.json"), "wb") as f:
        f.write(zf.read("config.json"))
    for extra in range(1, 9):
        model.name = "big" + "x" * extra
        model.save(path("big_aligned.keras"))
        if weights_offset(path("big_aligned.keras")) % 8 == 0:
            break
    else:
        sys.exit("no model name put the weights entry at a multiple of 8")
    print(f"{model.count_params()} parameters; weights entry at {weights_offset(path('big.keras'))} in big.keras, "
          f"{weights_offset(path('big_aligned.keras'))} in big_aligned.keras")
    for name in ["big.keras", "big_aligned.keras", "big.h5"]:
        seconds = median_seconds(lambda: keras.saving.load_model(path(name), compile=False))
        print(f"keras.saving.load_model({name}): {seconds:.3f} s (median of 3)")
    built = keras.models.model_from_json(open(path("config.json")).read())
    seconds = median_seconds(lambda: built.load_weights(path("big.weights.h5")))
    print(f"load_weights(big.weights.h5) onto the built model: {seconds:.3f} s (median of 3)")


main()
