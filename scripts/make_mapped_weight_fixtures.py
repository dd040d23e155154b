"""Generates the fixtures of weights read in place (memory-mapped) from HDF5 files and `.keras` archives:

Tests/Fixtures/hdf5/
- mapped.h5            one array stored several ways by h5py: `contiguous` (float32, little-endian: read
                       in place), `contiguous64` (float64), and copies that must be read through libhdf5
                       (`chunked` gzip, `big_endian`, `float16`, `small` below one page, `int32`).
- mapped_userblock.h5  the same file written with a 512-byte user block (h5py `userblock_size=512`): the
                       datasets' addresses are then 512 bytes further into the file.

Tests/Fixtures/keras/mapped/
- dense.keras          a Dense stack (8 KiB and 4 KiB kernels) saved by `model.save` (Keras stores the zip
                       members uncompressed): `model.weights.h5` starts at an 8-aligned offset (the model's
                       name is picked so that it does; 3 of 4 archives Keras writes are not 4-aligned).
- dense_misaligned.keras  the same model under another name, its weights entry at an offset ≡ 1 mod 4.
- dense_deflated.keras the archive of dense.keras re-zipped with ZIP_DEFLATED.
- dense.h5, dense.weights.h5   the legacy full-model file and the weights-only file.
- dense.json           inputs and Keras's float32 outputs (each archive loaded back by Keras and checked
                       to predict the same).

Run by hand (never in CI):
    TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 ~/venv-ref/bin/python scripts/make_mapped_weight_fixtures.py
"""
import json
import os
import struct
import zipfile

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")
rng = np.random.default_rng(20261206)


def hdf5_files():
    values = rng.standard_normal((32, 48)).astype(np.float32)  # 6 KiB
    for name, userblock in [("mapped.h5", 0), ("mapped_userblock.h5", 512)]:
        path = os.path.join(ROOT, "hdf5", name)
        with h5py.File(path, "w", userblock_size=userblock, libver="earliest") as f:
            f.create_dataset("contiguous", data=values)
            f.create_dataset("contiguous64", data=values.astype(np.float64))
            f.create_dataset("chunked", data=values, chunks=(8, 16), compression="gzip")
            f.create_dataset("big_endian", data=values.astype(">f4"))
            f.create_dataset("float16", data=values.astype(np.float16))
            f.create_dataset("small", data=values[:2])
            f.create_dataset("int32", data=np.arange(32 * 48, dtype=np.int32).reshape(32, 48))
        with h5py.File(path, "r") as f:
            assert f.userblock_size == userblock
            offset = f["contiguous"].id.get_offset()
            assert offset >= userblock and offset % 8 == 0, offset
            assert f["chunked"].id.get_offset() is None
            with open(path, "rb") as raw:  # get_offset is the absolute file offset, the user block included
                raw.seek(offset)
                assert raw.read(values.nbytes) == values.tobytes()


def weights_offset(path):
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("model.weights.h5")
        assert info.compress_type == zipfile.ZIP_STORED
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length


def build(name):
    inputs = keras.Input((32,), name="x")
    h = keras.layers.Dense(64, activation="tanh", name="hidden")(inputs)
    h = keras.layers.Dense(16, name="out")(h)
    model = keras.Model(inputs, h, name=name)
    model.set_weights(WEIGHTS)
    return model


WEIGHTS = [rng.uniform(-0.5, 0.5, shape).astype(np.float32) for shape in [(32, 64), (64,), (64, 16), (16,)]]


def save_with_offset(folder, file, residue, modulus):
    """Saves the model under names m, mm, mmm, ... until model.weights.h5 starts at an offset ≡ residue
    (mod modulus) in the archive; returns the model."""
    path = os.path.join(folder, file)
    for length in range(1, 33):
        model = build("m" * length)
        model.save(path)
        if weights_offset(path) % modulus == residue:
            return model
    raise SystemExit(f"no name gave a weights offset ≡ {residue} mod {modulus}")


def keras_files():
    folder = os.path.join(ROOT, "keras", "mapped")
    os.makedirs(folder, exist_ok=True)
    save_with_offset(folder, "dense_misaligned.keras", 1, 4)
    model = save_with_offset(folder, "dense.keras", 0, 8)
    model.save(os.path.join(folder, "dense.h5"))
    model.save_weights(os.path.join(folder, "dense.weights.h5"))
    with zipfile.ZipFile(os.path.join(folder, "dense.keras")) as source, \
            zipfile.ZipFile(os.path.join(folder, "dense_deflated.keras"), "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    x = rng.standard_normal((3, 32)).astype(np.float32)
    y = np.asarray(model.predict(x, verbose=0))
    for file in ["dense.keras", "dense_misaligned.keras", "dense_deflated.keras", "dense.h5"]:
        loaded = keras.saving.load_model(os.path.join(folder, file), compile=False)
        assert np.array_equal(loaded.predict(x, verbose=0), y), file
    rebuilt = build("check")
    rebuilt.load_weights(os.path.join(folder, "dense.weights.h5"))
    assert np.array_equal(rebuilt.predict(x, verbose=0), y)
    with open(os.path.join(folder, "dense.json"), "w") as f:
        json.dump({"inputs": {"shape": list(x.shape), "values": [float(v) for v in x.reshape(-1)]},
                   "outputs32": {"shape": list(y.shape), "values": [float(v) for v in y.reshape(-1)]},
                   "keras": keras.__version__, "h5py": h5py.__version__}, f, indent=1)
        f.write("\n")


hdf5_files()
keras_files()
