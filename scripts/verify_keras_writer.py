"""Checks with the real Keras that the `.keras` archives Parity writes open and predict like the
originals, and that h5py and Keras read every element type Parity's HDF5 writer writes
(`dtypes.weights.h5`): every archive in Tests/Fixtures/keras/written_by_parity/ (written by Parity's
KerasArchiveWriter from Tests/Fixtures/keras/models/<name>.keras, see
Tests/ParityKerasTests/KerasArchiveWriterTests.swift) is opened with `keras.saving.load_model`,
its weights compared bit for bit with the original's, and it is run on the fixture's input. The
results go to Tests/Fixtures/keras/written_by_parity/verified.json, which the Swift tests check.

Regenerate the archives, then verify (run by hand, never in CI; from the repository root, in a
venv with `pip install tensorflow-cpu keras h5py numpy`):
    PARITY_RECORD_KERAS_WRITER=1 swift test --filter KerasArchiveWriterTests
    TF_ENABLE_ONEDNN_OPTS=0 python scripts/verify_keras_writer.py
"""
import glob
import io
import json
import os
import platform
import sys
import warnings
import zipfile

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

WRITTEN = "Tests/Fixtures/keras/written_by_parity"
ORIGINALS = "Tests/Fixtures/keras/models"


def fixture_tensor(value):
    dtype = np.int32 if value.get("dtype") == "int64" else np.float32
    return np.asarray(value["values"], dtype=dtype).reshape(value["shape"])


def run(model, inputs):
    outputs = model(inputs[0] if len(inputs) == 1 else inputs, training=False)
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def max_difference(a, b):
    return max(float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) if x.size else 0.0
               for x, y in zip(a, b))


def weights_tree(data):
    """Every group (with its attributes) and dataset (shape, dtype) of an HDF5 file's bytes."""
    items = []
    with h5py.File(io.BytesIO(data), "r") as f:
        def visit(name, obj):
            attrs = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in obj.attrs.items()}
            kind = f"dataset {obj.shape} {obj.dtype}" if isinstance(obj, h5py.Dataset) else "group"
            items.append(f"{name}: {kind} {attrs}")
        f.visititems(visit)
    return items


def verify(path):
    name = os.path.basename(path)[: -len(".keras")]
    entry = {}
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        entry["members"] = [info.filename for info in infos]
        entry["stored_uncompressed"] = all(info.compress_type == zipfile.ZIP_STORED for info in infos)
        entry["zip_test"] = archive.testzip() or "ok"
        entry["metadata"] = json.loads(archive.read("metadata.json"))
        written_tree = weights_tree(archive.read("model.weights.h5"))
    with zipfile.ZipFile(f"{ORIGINALS}/{name}.keras") as archive:
        keras_tree = weights_tree(archive.read("model.weights.h5"))
    # Groups and datasets as Keras wrote them (the `name` attribute of MultiHeadAttention's inner
    # dropout / softmax layers is informational and numbered differently).
    strip = lambda items: [i for i in items if "_dropout_layer/vars:" not in i and "_softmax/vars:" not in i]  # noqa: E731
    entry["weights_layout_matches_keras"] = strip(written_tree) == strip(keras_tree)
    entry["weights_layout_differences"] = sorted(set(strip(written_tree)) ^ set(strip(keras_tree)))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.saving.load_model(path)
    entry["loaded"] = True
    entry["load_warnings"] = sorted({str(w.message) for w in caught})
    original = keras.saving.load_model(f"{ORIGINALS}/{name}.keras")
    entry["weights_bit_exact"] = len(model.weights) == len(original.weights) and all(
        a.shape == b.shape and np.array_equal(np.asarray(a).view(np.uint8), np.asarray(b).view(np.uint8))
        for a, b in zip(model.weights, original.weights))

    fixture = json.load(open(f"{ORIGINALS}/{name}.json"))
    inputs = [fixture_tensor(x) for x in fixture["inputs"]]
    outputs = run(model, inputs)
    entry["max_abs_difference"] = max_difference(outputs, run(original, inputs))
    entry["max_abs_difference_vs_fixture_outputs"] = max_difference(
        outputs, [fixture_tensor(x) for x in fixture["outputs32"]])
    entry["output_shapes"] = [list(o.shape) for o in outputs]
    return name + ".keras", entry


def verify_dtypes(path):
    """`dtypes.weights.h5`: every element type Parity's HDF5FileWriter writes, read with h5py and, for
    the variables, with Keras's own reader (`H5IOStore`, which turns bfloat16 datasets into
    ml_dtypes.bfloat16 arrays); the values are the ones Tests/ParityKerasTests writes."""
    import ml_dtypes
    from keras.src.saving.saving_lib import H5IOStore
    expected = [
        np.array([[1.5, -0.0], [np.inf, -3e-39]], dtype=np.float32),
        np.array(np.pi, dtype=np.float64),
        np.array([-2, 0, 2**31 - 1], dtype=np.int32),
        np.array([-2**63, -1, 2**63 - 1], dtype=np.int64),
        np.array([1, -2.5, 65504, 0.1], dtype=np.float32).astype(np.float16),
        np.array([1, -2.5, 0.1, 3.0e38], dtype=np.float32).astype(ml_dtypes.bfloat16),
        np.zeros((3, 0), dtype=np.float32),
    ]
    store = H5IOStore(path, mode="r").get("layers/probe")
    read = [store[str(i)] for i in range(len(store))]
    checks = {"count": len(read) == len(expected)}
    for i, (a, b) in enumerate(zip(read, expected)):
        checks[f"vars/{i} {b.dtype}"] = a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    with h5py.File(path, "r") as f:
        checks["name attribute"] = f["layers/probe/vars"].attrs["name"] == "größe ✓"
        checks["root attributes"] = (list(f.attrs["names"]) == ["a", "bé"] and int(f.attrs["count"]) == 4
                                     and list(f.attrs["ratios"]) == [0.5, 0.25])
    return {"checks": checks, "values_as_expected": all(checks.values())}


def main():
    report = {"generator": "scripts/verify_keras_writer.py (generated, do not edit)", "keras": keras.__version__,
              "tensorflow": tf.__version__, "h5py": h5py.__version__, "numpy": np.__version__,
              "python": sys.version.split()[0], "platform": platform.platform(),
              "TF_ENABLE_ONEDNN_OPTS": os.environ["TF_ENABLE_ONEDNN_OPTS"], "files": {}}
    paths = sorted(glob.glob(f"{WRITTEN}/*.keras"))
    if not paths:
        sys.exit(f"no archives in {WRITTEN}: run PARITY_RECORD_KERAS_WRITER=1 swift test --filter KerasArchiveWriterTests")
    failed = False
    for path in paths:
        try:
            name, entry = verify(path)
        except Exception as error:  # recorded, so that the report says which archive Keras refused and why
            name, entry = os.path.basename(path), {"loaded": False, "error": f"{type(error).__name__}: {error}"}
        report["files"][name] = entry
        ok = (entry.get("loaded") and entry.get("weights_bit_exact") and entry.get("weights_layout_matches_keras")
              and entry.get("max_abs_difference", 1) <= 1e-6)
        failed |= not ok
        print(f"{name}: {'ok' if ok else 'FAILED'} max difference {entry.get('max_abs_difference')}"
              f" {entry.get('error', '')}")
    try:
        entry = verify_dtypes(f"{WRITTEN}/dtypes.weights.h5")
    except Exception as error:
        entry = {"error": f"{type(error).__name__}: {error}"}
    report["files"]["dtypes.weights.h5"] = entry
    failed |= not entry.get("values_as_expected", False)
    print(f"dtypes.weights.h5: {entry}")
    with open(f"{WRITTEN}/verified.json", "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
        f.write("\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
