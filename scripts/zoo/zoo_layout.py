"""The shared zoo layout (see docs/zoo.md): one directory per model, `.zoo/<source>/<name>/`, holding the
model file, `input.npz` (keys: the model's input names), `expected.npz` (the framework's own outputs, keys
`output0`, `output1`, …) and `meta.json`. Imported by the exporters in this folder; imports no framework.
"""
import json
import os
import platform
import shutil

import numpy as np

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ZOO = os.path.join(REPO, ".zoo")
COMMITTED = os.path.join(REPO, "Tests", "Fixtures", "zoo")


# The zoo measure (docs/zoo.md): an output is within the bound when max |a − b| / max(1, |b|) ≤ BOUND,
# absolute for outputs of order one, relative to the reference's scale above it.
BOUND = 1e-5


def scaled_difference(outputs, expected):
    """The largest |out − ref| / max(1, |ref|) over every output (NaN on both sides counts as equal), and
    why it is infinite when the shapes differ (`None` otherwise)."""
    worst = 0.0
    for out, ref in zip(outputs, expected):
        out, ref = np.asarray(out, np.float64), np.asarray(ref, np.float64)
        if out.shape != ref.shape:
            return float("inf"), f"shape {out.shape}, reference {ref.shape}"
        both_nan = np.isnan(out) & np.isnan(ref)
        diff = np.where(both_nan, 0.0, np.abs(out - ref) / np.maximum(1.0, np.abs(ref)))
        worst = max(worst, float(np.nan_to_num(diff, nan=np.inf).max(initial=0.0)))
    return worst, None


def model_dir(root, source, name):
    return os.path.join(root, source, name)


def is_done(root, source, name):
    """A model directory is complete once its meta.json is written (it is written last)."""
    return os.path.exists(os.path.join(model_dir(root, source, name), "meta.json"))


def write_model(root, source, name, *, family, params, versions, notes, inputs, outputs, save_model, outputs_float64=None):
    """Writes one model directory. `inputs`: {name: ndarray}; `outputs`: [ndarray] in the model's output
    order; `save_model(directory)` writes the model file; `outputs_float64` (optional): the same model's
    outputs in float64 (`expected_float64.npz`), which tells float noise from a real difference.
    meta.json is written last, so an interrupted export leaves no meta.json and is redone."""
    d = model_dir(root, source, name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    save_model(d)
    np.savez(os.path.join(d, "input.npz"), **inputs)
    np.savez(os.path.join(d, "expected.npz"), **{f"output{i}": o for i, o in enumerate(outputs)})
    if outputs_float64 is not None:
        np.savez(os.path.join(d, "expected_float64.npz"), **{f"output{i}": o for i, o in enumerate(outputs_float64)})
    meta = {
        "name": name,
        "source": source,
        "family": family,
        "params": int(params),
        "framework_versions": dict(versions, python=platform.python_version(), numpy=np.__version__),
        "notes": notes,
    }
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")


def write_failure(root, source, name, *, family, reason):
    """Records a model the framework itself could not export or save (so that the runner can list it)."""
    d = model_dir(root, source, name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    with open(os.path.join(d, "export_failed.json"), "w") as f:
        json.dump({"name": name, "source": source, "family": family, "reason": reason}, f, indent=1, sort_keys=True)
        f.write("\n")
