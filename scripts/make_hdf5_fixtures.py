"""Generates Tests/Fixtures/hdf5/: small HDF5 files written by h5py that mimic the layouts Keras
writes, plus files for element types, strings and bad inputs, for ParityHDF5's tests.

Run by hand (never in CI; the tests never need Python):
    /work/venv-torch/bin/pip install h5py
    /work/venv-torch/bin/python scripts/make_hdf5_fixtures.py

Outputs (generated, do not edit):
- keras3_weights.h5   the Keras 3 `model.weights.h5` layout (`keras/src/saving/saving_lib.py`,
                      `H5IOStore`): `/layers/<snake_case_class>/vars/<i>`, nested models,
                      `/optimizer/vars/<i>`, an empty root `vars`, metadata attributes on a `vars`.
- legacy_model.h5     the tf.keras / Keras 3 legacy full-model layout
                      (`keras/src/legacy/saving/legacy_h5_format.py`), written with the same h5py
                      calls. h5py 3 stores Python `bytes` (and lists of them) as variable-length
                      ASCII strings, `str` as variable-length UTF-8: `model_config` (UTF-8 bytes)
                      and `layer_names` / `weight_names` (lists of bytes) are variable-length ASCII,
                      `keras_version` / `backend` on the root variable-length UTF-8. An empty
                      `weight_names` list becomes an empty float64 array. Datasets at
                      `model_weights/dense/dense/kernel:0`.
- legacy_model_h5py2.h5  the same layout as Keras 2.x + h5py 2.x wrote it: fixed-length `|S`
                      string attributes everywhere, `layer_names` split into `layer_names0`/`1`.
- types.h5            element types (float16/32/64, signed/unsigned ints, bool, Keras's bfloat16),
                      chunked + gzip,
                      scalar, empty and string datasets, every string attribute flavour, numeric
                      attributes, link order (tracked and untracked), and datasets that must be
                      refused (compound, uint64 above Int64.max, a huge unallocated chunked one).
- corrupt_shape.h5    a contiguous dataset whose dataspace was patched to claim 2**40 elements.
- corrupt_heap_size.h5, corrupt_heap_loop.h5
                      legacy_model.h5 with its global heap collection (variable-length strings)
                      patched: an object larger than the collection; a zero-sized free-space object.
- not_hdf5.h5         a text file with an .h5 name.
- expected.json       what the Swift reader must return for every dataset and attribute above,
                      with the stored type as h5py reports it.
- provenance.json     h5py / HDF5 / numpy / Python versions that wrote these files.
Truncated files are made by the tests themselves (prefixes of legacy_model.h5).
"""
import json
import math
import os
import platform
import struct
import sys

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "hdf5")
rng = np.random.default_rng(20261127)

expected = {"datasets": [], "attributes": []}


def number(x):
    """A JSON number, or a string for non-finite values (`Double("nan")` parses it)."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def record_dataset(file, path, dtype, values):
    """Records what the reader must return: `dtype` is the Tensor dtype after widening."""
    arr = np.asarray(values)
    entry = {"file": file, "path": path, "shape": list(arr.shape), "dtype": dtype}
    flat = arr.reshape(-1)
    if dtype == "int64":
        entry["values"] = [int(v) for v in flat]
    else:
        entry["values"] = [number(v) for v in flat.astype(np.float64)]
    expected["datasets"].append(entry)


def record_attribute(file, path, name, kind, value):
    """`kind` names the `HDF5Value` case: string, strings, integer, integers, float, floats."""
    expected["attributes"].append({"file": file, "object": path, "name": name, "kind": kind, "value": value})


def floats(shape, dtype="float32"):
    return rng.uniform(-1, 1, size=shape).astype(dtype)


def keras3_weights(name):
    with h5py.File(os.path.join(OUT, name), "w") as f:
        f.create_group("vars")  # the model's own (empty) variable group, as Keras 3.0-3.3 wrote
        layers = {
            "layers/dense/vars": [floats((4, 3)), floats((3,))],
            "layers/dense_1/vars": [floats((3, 2)), floats((2,))],
            "layers/batch_normalization/vars": [floats((2,)), floats((2,)), floats((2,)),
                                                 np.abs(floats((2,))) + 0.5],
            "layers/functional/layers/dense/vars": [floats((2, 2))],
        }
        for group_path, values in layers.items():
            g = f.create_group(group_path)
            for i, v in enumerate(values):
                g[str(i)] = v  # as H5IOStore.__setitem__: self._h5_entry_group[key] = value
                record_dataset(name, f"{group_path}/{i}", "float32", v)
        f.create_group("layers/dropout/vars")  # a layer without weights
        opt = f.create_group("optimizer/vars")
        opt["0"] = np.int64(10)  # iterations
        record_dataset(name, "optimizer/vars/0", "int64", np.int64(10))
        opt["1"] = np.float32(0.001)  # learning rate
        record_dataset(name, "optimizer/vars/1", "float32", np.float32(0.001))
        # `make(path, metadata)` writes metadata as attributes of the `vars` group.
        f["layers/dense/vars"].attrs["name"] = "dense"
        record_attribute(name, "layers/dense/vars", "name", "string", "dense")


def legacy_model(name):
    model_config = {
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                                                    "name": "input_1"}},
            {"class_name": "Dense", "config": {"name": "dense", "units": 3, "activation": "relu",
                                               "use_bias": True}},
            {"class_name": "Dropout", "config": {"name": "dropout", "rate": 0.5}},
            {"class_name": "Dense", "config": {"name": "dense_1", "units": 2, "activation": "linear",
                                               "use_bias": True}},
        ]},
    }
    training_config = {"loss": "mse", "optimizer_config": {"class_name": "Adam",
                                                           "config": {"learning_rate": 0.001}}}
    layers = [("dense", [("dense/kernel:0", floats((4, 3))), ("dense/bias:0", floats((3,)))]),
              ("dropout", []),
              ("dense_1", [("dense_1/kernel:0", floats((3, 2))), ("dense_1/bias:0", floats((2,)))])]
    with h5py.File(os.path.join(OUT, name), "w") as f:
        # save_model_to_hdf5: dicts become json.dumps(...).encode("utf8"); other values as given.
        metadata = {"keras_version": "2.15.0", "backend": "tensorflow",
                    "model_config": model_config, "training_config": training_config}
        for k, v in metadata.items():
            if isinstance(v, (dict, list, tuple)):
                f.attrs[k] = json.dumps(v).encode("utf8")
            else:
                f.attrs[k] = v
        record_attribute(name, "/", "keras_version", "string", "2.15.0")
        record_attribute(name, "/", "backend", "string", "tensorflow")
        record_attribute(name, "/", "model_config", "string", json.dumps(model_config))
        record_attribute(name, "/", "training_config", "string", json.dumps(training_config))

        # save_weights_to_hdf5_group
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [n.encode("utf8") for n, _ in layers]
        mw.attrs["backend"] = "tensorflow".encode("utf8")
        mw.attrs["keras_version"] = "2.15.0".encode("utf8")
        record_attribute(name, "model_weights", "layer_names", "strings", [n for n, _ in layers])
        record_attribute(name, "model_weights", "backend", "string", "tensorflow")
        for layer_name, weights in sorted(layers, key=lambda x: x[0]):
            g = mw.create_group(layer_name)
            weight_names = [w.encode("utf8") for w, _ in weights]
            g.attrs["weight_names"] = weight_names  # [] becomes an empty float64 array
            if weight_names:
                record_attribute(name, f"model_weights/{layer_name}", "weight_names", "strings",
                                 [w for w, _ in weights])
            else:
                record_attribute(name, f"model_weights/{layer_name}", "weight_names", "floats", [])
            for wname, val in weights:
                d = g.create_dataset(wname.encode("utf8"), val.shape, dtype=val.dtype)
                d[:] = val
                record_dataset(name, f"model_weights/{layer_name}/{wname}", "float32", val)

        ow = f.create_group("optimizer_weights")
        ow.attrs["weight_names"] = [b"Adam/iter:0"]
        d = ow.create_dataset(b"Adam/iter:0", (), dtype="int64")
        d[()] = 7
        record_dataset(name, "optimizer_weights/Adam/iter:0", "int64", np.int64(7))


def legacy_model_h5py2(name):
    """The legacy layout as Keras 2.x with h5py 2.x wrote it: every string attribute fixed-length
    (`|S`, NULLPAD), and `layer_names` split into `layer_names0`, `layer_names1` as
    `save_attributes_to_hdf5_group` does when the list exceeds 64512 bytes (numpy `|S` chunks)."""
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "Dense", "config": {"name": "dense", "units": 2, "batch_input_shape": [None, 2]}}]}}
    kernel = floats((2, 2))
    with h5py.File(os.path.join(OUT, name), "w") as f:
        f.attrs["keras_version"] = np.bytes_(b"2.2.4")
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["model_config"] = np.bytes_(json.dumps(config).encode("utf8"))
        record_attribute(name, "/", "keras_version", "string", "2.2.4")
        record_attribute(name, "/", "model_config", "string", json.dumps(config))
        mw = f.create_group("model_weights")
        names = np.array([b"dense", b"no_weights"])
        for chunk_id, chunk in enumerate(np.array_split(names, 2)):
            mw.attrs["layer_names%d" % chunk_id] = chunk
            record_attribute(name, "model_weights", "layer_names%d" % chunk_id, "strings",
                             [n.decode() for n in chunk])
        g = mw.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0"])
        record_attribute(name, "model_weights/dense", "weight_names", "strings", ["dense/kernel:0"])
        g.create_dataset("dense/kernel:0", data=kernel)
        record_dataset(name, "model_weights/dense/dense/kernel:0", "float32", kernel)
        # An empty |S1 array (Keras itself writes an empty float64 array for no weights).
        mw.create_group("no_weights").attrs["weight_names"] = np.array([], dtype="S1")
        record_attribute(name, "model_weights/no_weights", "weight_names", "strings", [])


def describe_type(tid):
    """An HDF5 type as h5py sees it, in the words of Swift's `HDF5ElementType.description`."""
    cls, size = tid.get_class(), tid.get_size()
    if cls == h5py.h5t.STRING:
        encoding = "utf8" if tid.get_cset() == h5py.h5t.CSET_UTF8 else "ascii"
        if tid.is_variable_str():
            return f"variable-length {encoding} string"
        return f"fixed-length {encoding} string ({size} bytes)"
    if cls == h5py.h5t.INTEGER:
        return ("int" if tid.get_sign() == h5py.h5t.SGN_2 else "uint") + str(size * 8)
    if cls == h5py.h5t.FLOAT:
        return f"float{size * 8}"
    if cls == h5py.h5t.ENUM:
        members = {tid.get_member_name(i): tid.get_member_value(i) for i in range(tid.get_nmembers())}
        base = tid.get_super()
        if members == {b"FALSE": 0, b"TRUE": 1} and base.get_size() == 1:
            return "bool"
        return "enum over " + ("int" if base.get_sign() == h5py.h5t.SGN_2 else "uint") + str(base.get_size() * 8)
    if cls == h5py.h5t.COMPOUND:
        return f"compound type ({tid.get_nmembers()} fields, {size} bytes)"
    if cls == h5py.h5t.OPAQUE:
        tag = tid.get_tag().decode()
        return f"opaque type ({size} bytes" + (f", tag '{tag}')" if tag else ")")
    return f"class {cls}"


def add_types():
    """Adds each record's stored HDF5 type, read back through h5py's low-level API."""
    files = {}
    for entry in expected["datasets"] + expected["attributes"]:
        f = files.get(entry["file"]) or h5py.File(os.path.join(OUT, entry["file"]), "r")
        files[entry["file"]] = f
        if "name" in entry:
            entry["type"] = describe_type(f[entry["object"]].attrs.get_id(entry["name"]).get_type())
        else:
            entry["type"] = describe_type(f[entry["path"]].id.get_type())
    for f in files.values():
        f.close()


def fixed_string_type(length, pad, cset=h5py.h5t.CSET_ASCII):
    t = h5py.h5t.C_S1.copy()
    t.set_size(length)
    t.set_strpad(pad)
    t.set_cset(cset)
    return t


def write_attr(obj, name, data, htype, shape=()):
    """A raw attribute with an explicit HDF5 string type (for pads h5py never writes)."""
    space = h5py.h5s.create_simple(shape) if shape else h5py.h5s.create(h5py.h5s.SCALAR)
    attr = h5py.h5a.create(obj.id, name.encode(), htype, space)
    attr.write(np.asarray(data, dtype=f"S{htype.get_size()}"), mtype=htype)


def types(name):
    with h5py.File(os.path.join(OUT, name), "w") as f:
        g = f.create_group("dtypes")
        f16 = np.array([[0.0, -0.0, 1.0, -2.5], [65504.0, 6.1035e-05, 5.96e-08, 0.33325],
                        [np.inf, -np.inf, np.nan, 1024.0]], dtype=np.float16)
        g["float16"] = f16
        record_dataset(name, "dtypes/float16", "float32", f16)
        f32 = floats((2, 3, 2))
        g["float32"] = f32
        record_dataset(name, "dtypes/float32", "float32", f32)
        f64 = rng.uniform(-1, 1, size=(5,)).astype(np.float64)
        f64[0] = 1e-300
        g["float64"] = f64
        record_dataset(name, "dtypes/float64", "float64", f64)
        g["float32_big_endian"] = f32.astype(">f4")
        record_dataset(name, "dtypes/float32_big_endian", "float32", f32)
        ints = {
            "int8": np.array([-128, 0, 127], dtype=np.int8),
            "uint8": np.array([0, 200, 255], dtype=np.uint8),
            "int16": np.array([-32768, 7, 32767], dtype=np.int16),
            "uint16": np.array([0, 65535], dtype=np.uint16),
            "int32": np.array([[-2147483648, 0], [1, 2147483647]], dtype=np.int32),
            "uint32": np.array([0, 4294967295], dtype=np.uint32),
            "int64": np.array([-(2 ** 63), -1, 2 ** 63 - 1], dtype=np.int64),
            "uint64": np.array([0, 2 ** 63 - 1], dtype=np.uint64),
            "int32_big_endian": np.array([1, -2, 70000], dtype=">i4"),
            "bool": np.array([[True, False, True], [False, False, True]]),
        }
        for key, v in ints.items():
            g[key] = v
            record_dataset(name, f"dtypes/{key}", "int64", v.astype(np.int64))
        g["uint64_too_big"] = np.array([1, 2 ** 63], dtype=np.uint64)

        # bfloat16 as Keras 3 saves it (`H5IOStore.__setitem__`): h5py writes an ml_dtypes.bfloat16
        # array as 2-byte opaque elements with an empty tag (checked against ml_dtypes 0.6.0: the
        # same type as a numpy 'V2' array), and Keras adds the attribute dtype="bfloat16". Values
        # are exact in bfloat16 (the top 16 bits of their float32 patterns).
        bf = np.array([[1.0, -2.5, 3.140625], [-0.0, np.inf, 2.0 ** 100]], dtype=np.float32)
        bits = (bf.view(np.uint32) >> 16).astype("<u2")
        assert np.array_equal((bits.astype(np.uint32) << 16).view(np.float32), bf)
        d = g.create_dataset("bfloat16", data=bits.view("V2"))
        d.attrs["dtype"] = "bfloat16"
        record_dataset(name, "dtypes/bfloat16", "float32", bf)
        g.create_dataset("opaque_without_dtype", data=bits.view("V2"))  # refused: no bfloat16 mark

        s = f.create_group("storage")
        big = floats((20, 12))
        s.create_dataset("chunked_gzip", data=big, chunks=(8, 5), compression="gzip",
                         compression_opts=6, shuffle=True)
        record_dataset(name, "storage/chunked_gzip", "float32", big)
        zeros = np.zeros((24, 24), dtype=np.float64)
        zeros[3, 5] = 1.5
        s.create_dataset("chunked_gzip_zeros", data=zeros, chunks=(16, 16), compression="gzip")
        record_dataset(name, "storage/chunked_gzip_zeros", "float64", zeros)
        s.create_dataset("chunked_partial", shape=(10,), dtype="f4", chunks=(4,), fillvalue=-1.0)
        s["chunked_partial"][0:4] = np.arange(4, dtype="f4")
        record_dataset(name, "storage/chunked_partial", "float32",
                       np.array([0, 1, 2, 3, -1, -1, -1, -1, -1, -1], dtype="f4"))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)  # data stored in the object header
        dcpl.set_obj_track_times(False)  # as h5py's high-level API does: no timestamp
        compact = h5py.h5d.create(s.id, b"compact", h5py.h5t.STD_I16LE, h5py.h5s.create_simple((2, 3)),
                                  dcpl=dcpl)
        compact.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(6, dtype="<i2").reshape(2, 3))
        record_dataset(name, "storage/compact", "int64", np.arange(6).reshape(2, 3))
        s["scalar_float64"] = np.float64(3.25)
        record_dataset(name, "storage/scalar_float64", "float64", np.float64(3.25))
        s["scalar_int32"] = np.int32(-42)
        record_dataset(name, "storage/scalar_int32", "int64", np.int64(-42))
        s.create_dataset("empty", shape=(0, 3), dtype="f4")
        record_dataset(name, "storage/empty", "float32", np.zeros((0, 3), dtype="f4"))
        s.create_dataset("empty_chunked", shape=(2, 0), dtype="f8", chunks=(1, 1), maxshape=(2, None))
        record_dataset(name, "storage/empty_chunked", "float64", np.zeros((2, 0)))
        s.create_dataset("huge_unallocated", shape=(2 ** 40,), dtype="f4", chunks=(1024,))

        r = f.create_group("refused")
        r["compound"] = np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])
        r["vlen_strings"] = np.array(["a", "bc"], dtype=h5py.string_dtype("utf-8"))
        r["fixed_strings"] = np.array([b"abc", b"de"], dtype="S3")
        # x87 long double: 10 bytes of value in 16; numpy leaves the padding uninitialised, so the
        # value is built from bytes (1.0, zero padding) to keep the file reproducible.
        one = np.zeros(1, dtype=np.longdouble)
        raw = bytearray(one.tobytes())
        raw[:10] = (np.longdouble(1.0).tobytes())[:10]
        r["long_double"] = np.frombuffer(bytes(raw), dtype=np.longdouble)

        # Attributes: every string flavour, numbers, arrays.
        a = f.create_group("attrs")
        text = "h\u00e9llo \u2713"
        a.attrs["vlen_utf8"] = text  # Python str: variable-length UTF-8
        record_attribute(name, "attrs", "vlen_utf8", "string", text)
        a.attrs.create("vlen_ascii", "plain", dtype=h5py.string_dtype("ascii"))
        record_attribute(name, "attrs", "vlen_ascii", "string", "plain")
        a.attrs["fixed_ascii"] = np.bytes_(b"fixed")  # |S5, NULLPAD
        record_attribute(name, "attrs", "fixed_ascii", "string", "fixed")
        a.attrs.create("fixed_utf8", text.encode("utf8"), dtype=h5py.string_dtype("utf-8", 16))
        record_attribute(name, "attrs", "fixed_utf8", "string", text)
        write_attr(a, "fixed_nullterm", b"term", fixed_string_type(8, h5py.h5t.STR_NULLTERM))
        record_attribute(name, "attrs", "fixed_nullterm", "string", "term")
        write_attr(a, "fixed_spacepad", b"space   ", fixed_string_type(8, h5py.h5t.STR_SPACEPAD))
        record_attribute(name, "attrs", "fixed_spacepad", "string", "space")
        # |S7 array: what h5py 2.x wrote for layer_names, and h5py 3.x for Keras's chunked
        # layer_names0, layer_names1 (numpy arrays). A plain list of bytes becomes variable-length.
        a.attrs["fixed_array"] = np.array([b"dense", b"dropout", b"dense_1"], dtype="S7")
        record_attribute(name, "attrs", "fixed_array", "strings", ["dense", "dropout", "dense_1"])
        a.attrs["vlen_array"] = ["one", "tw\u00f6", ""]
        a.attrs["vlen_bytes_array"] = [b"dense", b"dropout"]  # h5py 3: variable-length ASCII
        record_attribute(name, "attrs", "vlen_bytes_array", "strings", ["dense", "dropout"])
        a.attrs["vlen_bytes"] = b"bytes"  # h5py 3: variable-length ASCII
        record_attribute(name, "attrs", "vlen_bytes", "string", "bytes")
        record_attribute(name, "attrs", "vlen_array", "strings", ["one", "tw\u00f6", ""])
        a.attrs["empty_string"] = ""
        record_attribute(name, "attrs", "empty_string", "string", "")
        a.attrs["int_scalar"] = np.int64(-7)
        record_attribute(name, "attrs", "int_scalar", "integer", -7)
        a.attrs["uint8_scalar"] = np.uint8(250)
        record_attribute(name, "attrs", "uint8_scalar", "integer", 250)
        a.attrs["int_array"] = np.array([1, 2, 3], dtype=np.int32)
        record_attribute(name, "attrs", "int_array", "integers", [1, 2, 3])
        a.attrs["int_matrix"] = np.array([[1, 2], [3, 4]], dtype=np.int16)
        record_attribute(name, "attrs", "int_matrix", "integers", [1, 2, 3, 4])
        a.attrs["float_scalar"] = 0.5
        record_attribute(name, "attrs", "float_scalar", "float", 0.5)
        a.attrs["float32_array"] = np.array([0.25, -1.5], dtype=np.float32)
        record_attribute(name, "attrs", "float32_array", "floats", [0.25, -1.5])
        a.attrs["float16_scalar"] = np.float16(0.1)
        record_attribute(name, "attrs", "float16_scalar", "float", float(np.float16(0.1)))
        a.attrs["bool_scalar"] = True  # an HDF5 enum {FALSE=0, TRUE=1} over int8
        record_attribute(name, "attrs", "bool_scalar", "integer", 1)
        a.attrs["empty_float_array"] = np.asarray([])  # what Keras writes for weight_names=[]
        record_attribute(name, "attrs", "empty_float_array", "floats", [])
        a.attrs["compound"] = np.array((1, 2.0), dtype=[("a", "i4"), ("b", "f8")])
        a.attrs["null_dataspace"] = h5py.Empty("f4")
        f["dtypes/float32"].attrs["units"] = "m"
        record_attribute(name, "dtypes/float32", "units", "string", "m")

        # Link order: untracked groups list children by name; tracked ones by creation order.
        by_name = f.create_group("order/by_name")
        # h5py's track_order=True, without the timestamps HDF5 would add (keeps the file reproducible).
        gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        order = h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED
        gcpl.set_link_creation_order(order)
        gcpl.set_attr_creation_order(order)
        gcpl.set_obj_track_times(False)
        tracked = h5py.Group(h5py.h5g.create(f["order"].id, b"tracked", gcpl=gcpl))
        for child in ["zeta", "alpha", "mid"]:
            by_name.create_group(child)
            tracked.create_group(child)
        tracked.attrs["zz"] = 1  # attributes of a track_order group keep creation order too
        tracked.attrs["aa"] = 2
        f["order"].attrs["note"] = "children of by_name come back sorted; tracked keeps zeta, alpha, mid"
        # A soft link and a name with ':' and spaces.
        f["order/link_to_float64"] = h5py.SoftLink("/dtypes/float64")
        f["order/dangling"] = h5py.SoftLink("/nowhere")
        f["order/with:colon and space"] = np.int64(1)
        record_dataset(name, "order/with:colon and space", "int64", np.int64(1))


def corrupt_shape(name):
    """Datasets whose dataspace was patched after writing to claim more elements than were stored.

    h5py's default file format (superblock 0, object header 1) has no checksums, so only the reader's
    own checks stand between it and a huge allocation. Dims are found by their unique 8-byte
    little-endian values (current and maximum dims are both patched).
    """
    path = os.path.join(OUT, name)
    with h5py.File(path, "w") as f:
        f["contiguous_2e40"] = np.zeros(1234, dtype="f4")
        f["contiguous_2e24"] = np.zeros(1235, dtype="f4")
        f.create_dataset("chunked_2e40", data=np.zeros(1236, dtype="f4"), chunks=(100,),
                         compression="gzip", maxshape=(None,))
    data = bytearray(open(path, "rb").read())
    for old, new in [(1234, 2 ** 40), (1235, 2 ** 24), (1236, 2 ** 40)]:
        needle = struct.pack("<Q", old)
        hits = [i for i in range(len(data) - 7) if data[i:i + 8] == needle]
        assert 1 <= len(hits) <= 2, f"dataspace dims {old}: {len(hits)} matches"
        for i in hits:
            data[i:i + 8] = struct.pack("<Q", new)
    open(path, "wb").write(bytes(data))


def corrupt_heaps():
    """Copies of legacy_model.h5 with a corrupt global heap collection (where h5py keeps every
    variable-length string). libhdf5 1.10.8 crashes in H5HG_read on the first and never returns
    from parsing the second; the Swift reader must refuse both before libhdf5 touches them."""
    data = open(os.path.join(OUT, "legacy_model.h5"), "rb").read()
    address = data.find(b"GCOL\x01\x00\x00\x00")
    assert address > 0 and data.find(b"GCOL", address + 4) < 0, "expected exactly one collection"
    size = struct.unpack_from("<Q", data, address + 8)[0]
    objects, position = [], address + 16
    while position + 16 <= address + size:
        index, = struct.unpack_from("<H", data, position)
        length, = struct.unpack_from("<Q", data, position + 8)
        objects.append((index, position))
        position += 16 + (length + 7) // 8 * 8 if index else length
    first = next(p for i, p in objects if i > 0)
    free = next(p for i, p in objects if i == 0)
    oversized = bytearray(data)
    struct.pack_into("<Q", oversized, first + 8, 1_000_000)  # object 1 claims 1 MB in a 4 KB collection
    open(os.path.join(OUT, "corrupt_heap_size.h5"), "wb").write(bytes(oversized))
    looping = bytearray(data)
    struct.pack_into("<Q", looping, free + 8, 0)  # a free-space object of size 0
    open(os.path.join(OUT, "corrupt_heap_loop.h5"), "wb").write(bytes(looping))
    return address


def main():
    os.makedirs(OUT, exist_ok=True)
    keras3_weights("keras3_weights.h5")
    legacy_model("legacy_model.h5")
    legacy_model_h5py2("legacy_model_h5py2.h5")
    types("types.h5")
    corrupt_shape("corrupt_shape.h5")
    corrupt_heaps()
    with open(os.path.join(OUT, "not_hdf5.h5"), "w") as f:
        f.write("This is a text file, not HDF5.\n")
    add_types()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    provenance = {
        "generated_by": "scripts/make_hdf5_fixtures.py (generated, do not edit)",
        "h5py": h5py.version.version,
        "hdf5": h5py.version.hdf5_version,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    with open(os.path.join(OUT, "provenance.json"), "w") as f:
        json.dump(provenance, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
