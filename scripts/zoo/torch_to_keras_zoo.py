"""PyTorch → Keras over a torch zoo: converts every `.zoo/<source>/<name>/model.pt2` with
`parity convert --to keras` and opens each written `model.keras` in real Keras, comparing its outputs on
the zoo's `input.npz` with PyTorch's own (`expected.npz`, written by scripts/zoo/export_torch.py).
Only Keras is imported (PyTorch's outputs come from the zoo), so this runs in the reference venv:

    TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 ~/venv-ref/bin/python scripts/zoo/torch_to_keras_zoo.py \
        [--zoo .zoo] [--source torchvision] [--only NAME ...] [--parity .build/debug/parity] [--out .zoo-keras]

One line per model: `ok` (Keras reproduces PyTorch within the bound), `FAIL` (converted, Keras differs
or cannot open it; with `expected_float64.npz`, how far Keras's and PyTorch's float32 outputs each are
from PyTorch's float64 run, which tells float32 noise of a deep network from a conversion error, and
how far the same converted model run by Keras in float64 is from it: ~1e-13 when the conversion is
exact), `REFUSED` (Parity names the node with no exact Keras form), then `N/M convert, K/M reproduce
PyTorch within 1e-5` and a tally of the refused operators. Each model.keras is deleted once measured
(the torchvision zoo converts to ~15 GB) unless --keep. The bound is
|keras − torch| ≤ 1e-5 · max(1, |torch|) per element, as `parity zoo` uses. Results go to
<out>/<source>/summary.json (after every model: `--resume` goes on from it, measuring only the models
it lacks, e.g. while the zoo is still exporting). `--table SUMMARY.json ...` prints the per-model table
of docs/zoo-keras.md from them (a later file's entry for a model replaces an earlier one's).
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import zipfile

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zoo_layout import BOUND, scaled_difference  # noqa: E402

# The float64 twin's bound: float64 rounding through a deep network (PyTorch's float64 run and Keras's
# differ in summation order too) stays many orders below it; a conversion error does not.
TWIN_BOUND = 1e-9
compare = scaled_difference


def exact_float64_constants(keras):
    """Keras on TensorFlow rounds two Python constants through float32 even in a float64 layer:
    `tf.nn.gelu` multiplies by `math_ops.cast(0.7071067811865476, dtype)` and `Rescaling` by
    `backend.cast(self.scale, dtype)`, and `tf.cast` of a Python float converts it to a float32 tensor
    first (1/√128 = 0.08838834764831845 becomes 0.0883883461356163). That is Keras's float64 semantics,
    not the conversion (PyTorch's float32 rounds the same constants the same way), but in the twin it
    hides whether the conversion is exact: the Visformers' twins were 1.8e-5 from PyTorch's float64 run
    with those roundings, 7.4e-12 without them. Patched for float64 only (float32 runs are untouched),
    once per process."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import nn as backend_nn
    if getattr(backend_nn.gelu, "exact_float64", False):
        return
    gelu, rescaling = backend_nn.gelu, keras.layers.Rescaling.call

    def exact_gelu(x, approximate=True):
        x = tf.convert_to_tensor(x)
        if approximate or x.dtype != tf.float64:
            return gelu(x, approximate)
        return 0.5 * x * tf.math.erfc(-x * tf.constant(0.7071067811865476, tf.float64))

    def exact_rescaling(self, inputs):
        if self.compute_dtype != "float64":
            return rescaling(self, inputs)
        return tf.cast(inputs, tf.float64) * tf.constant(self.scale, tf.float64) + tf.constant(self.offset, tf.float64)

    exact_gelu.exact_float64 = True
    backend_nn.gelu, keras.layers.Rescaling.call = exact_gelu, exact_rescaling


def float64_twin(keras, path, model):
    """The same converted model rebuilt with every layer in float64 (its config's `dtype` entries
    changed, the float32 weights cast up, Python constants kept float64: `exact_float64_constants`).
    Compared with PyTorch's float64 run it tells whether the conversion is exact (difference ~1e-13)
    independently of either framework's float32 kernels."""
    exact_float64_constants(keras)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))

    def widen(node):
        if isinstance(node, dict):
            return {k: ("float64" if k == "dtype" and v == "float32" else widen(v)) for k, v in node.items()}
        return [widen(v) for v in node] if isinstance(node, list) else node

    twin = keras.saving.deserialize_keras_object(widen(config))
    for source, target in zip(model.weights, twin.weights):
        target.assign(np.asarray(source).astype(target.dtype))
    return twin


def run(model, feed):
    inputs = [feed[t._keras_history[0].name] if t._keras_history[0].name in feed else list(feed.values())[i]
              for i, t in enumerate(model.inputs)]
    outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def table(paths):
    """The per-model Markdown table of docs/zoo-keras.md from summary.json files (a later file's entry
    for a model replaces an earlier one's: a re-run with a newer build)."""
    models = {}
    for path in paths:
        with open(path) as f:
            models.update(json.load(f)["models"])
    print("| model | result | vs PyTorch float32 | Keras f32 from f64 | PyTorch f32 from f64 | ratio | Keras f64 twin from f64 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in sorted(models):
        r = models[name]
        if r["status"] == "REFUSED":
            reason = r["reason"].split("cannot be converted to Keras: ")[-1].replace("|", "\\|")
            print(f"| {name} | refused: `{r.get('operator', '?')}` | {reason[:160]} | | | | |")
        elif r.get("problem"):
            print(f"| {name} | FAIL | {r['problem'][:160]} | | | | |")
        elif "keras_from_float64" in r:
            ratio = r["keras_from_float64"] / r["torch_from_float64"] if r["torch_from_float64"] else float("inf")
            print(f"| {name} | beyond | {r['max_relative']:.2e} | {r['keras_from_float64']:.2e} | {r['torch_from_float64']:.2e} | {ratio:.2f} | "
                  f"{r['keras_float64_from_float64']:.1e} |")
        else:
            print(f"| {name} | {'ok' if r['status'] == 'ok' else 'beyond'} | {r['max_relative']:.2e} | | | | |")


def main():
    if sys.argv[1:2] == ["--table"]:
        return table(sys.argv[2:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--zoo", default=".zoo")
    parser.add_argument("--source", default="torchvision")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--parity", default=".build/debug/parity")
    parser.add_argument("--out", default=".zoo-keras")
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--resume", action="store_true",
                        help="keep the models <out>/<source>/summary.json has measured already and measure the others (the zoo may still be exporting)")
    parser.add_argument("--keep", action="store_true",
                        help="keep each written model.keras (by default it is deleted once measured: the whole zoo is ~15 GB)")
    args = parser.parse_args()
    import keras
    # Keras rebuilds a functional config recursively; the deepest converted graphs (EfficientNetV2-L)
    # exceed Python's default limit of 1000 frames.
    sys.setrecursionlimit(20000)

    root = os.path.join(args.zoo, args.source)
    names = sorted(n for n in os.listdir(root) if os.path.exists(os.path.join(root, n, "model.pt2")))
    if args.only:
        names = [n for n in names if n in args.only]
    results = {}
    summary_path = os.path.join(args.out, args.source, "summary.json")
    if args.resume and os.path.exists(summary_path):
        with open(summary_path) as f:
            results = {n: r for n, r in json.load(f)["models"].items() if n in names}
    for name in names:
        if name in results:
            continue
        folder = os.path.join(root, name)
        out = os.path.join(args.out, args.source, name)
        os.makedirs(out, exist_ok=True)
        conversion = subprocess.run([args.parity, "convert", os.path.join(folder, "model.pt2"), "--to", "keras", "--output", out,
                              "--input", os.path.join(folder, "input.npz")], capture_output=True, text=True, timeout=args.timeout)
        keras_file = os.path.join(out, "model.keras")
        if not os.path.exists(keras_file) or conversion.returncode == 2:
            message = (conversion.stderr.strip() or conversion.stdout.strip()).splitlines()[-1:] or ["?"]
            target = re.search(r"\((aten\.[A-Za-z0-9_.]+|higher_order\.[A-Za-z0-9_.]+)\)", message[0])
            results[name] = {"status": "REFUSED", "reason": message[0], "operator": target.group(1) if target else message[0][:80]}
            print(f"REFUSED {name}  {message[0]}", flush=True)
            continue
        try:
            model = keras.saving.load_model(keras_file)
            with np.load(os.path.join(folder, "input.npz")) as archive:
                feed = {k: archive[k] for k in archive.files}
            outputs = run(model, feed)
            with np.load(os.path.join(folder, "expected.npz")) as archive:
                expected = [archive[k] for k in sorted(archive.files, key=lambda k: int(k[6:]))]
            worst, problem = compare(outputs, expected)
            referee, record_extra = "", {}
            f64 = os.path.join(folder, "expected_float64.npz")
            if problem is None and worst > BOUND and os.path.exists(f64):
                # How far each float32 run is from PyTorch's float64 run of the same weights.
                with np.load(f64) as archive:
                    exact = [archive[k] for k in sorted(archive.files, key=lambda k: int(k[6:]))]
                ours, theirs = compare(outputs, exact)[0], compare(expected, exact)[0]
                twin = compare(run(float64_twin(keras, keras_file, model), {k: v.astype(np.float64) if v.dtype == np.float32 else v
                                                                          for k, v in feed.items()}), exact)[0]
                referee = f"from float64: Keras {ours:.2e}, PyTorch {theirs:.2e}; Keras in float64 {twin:.1e}"
                record_extra = {"keras_from_float64": ours, "torch_from_float64": theirs, "keras_float64_from_float64": twin}
        except Exception as error:  # report and go on: one model must not hide the others
            worst, problem, referee, record_extra = float("inf"), f"{type(error).__name__}: {str(error).splitlines()[0][:200]}", "", {}
        ok = problem is None and worst <= BOUND
        results[name] = {"status": "ok" if ok else "FAIL", "max_relative": worst, "problem": problem, "referee": referee,
                         "parity_check": (conversion.stdout.strip().splitlines() or [""])[-1], **record_extra}
        print(f"{'ok' if ok else 'FAIL':7} {name}  {worst:.2e}  {problem or referee}", flush=True)
        keras.backend.clear_session()
        if not args.keep:
            os.remove(keras_file)
        with open(summary_path, "w") as f:  # after every model, so that --resume can go on from here
            json.dump({"keras": keras.__version__, "models": results}, f, indent=1, sort_keys=True)
    measured = [results[n] for n in names]
    converted = sum(r["status"] != "REFUSED" for r in measured)
    reproduced = sum(r["status"] == "ok" for r in measured)
    beyond = [r for r in measured if "keras_from_float64" in r]
    noise = sum(r["keras_from_float64"] <= max(2 * r["torch_from_float64"], BOUND) for r in beyond)
    exact_twin = sum(r["keras_float64_from_float64"] <= TWIN_BOUND for r in beyond)
    refused = collections.Counter(r.get("operator", r.get("reason", "?")[:80]) for r in measured if r["status"] == "REFUSED")
    summary = (f"{args.source}: {converted}/{len(names)} convert, {reproduced}/{len(names)} reproduce PyTorch in Keras within {BOUND:g}; "
               f"{noise} more beyond it but no farther from PyTorch's float64 run than 2x PyTorch's own float32 distance; "
               f"{exact_twin} of those beyond it reproduce PyTorch's float64 run within {TWIN_BOUND:g} when Keras runs the converted model in float64")
    print(summary)
    for target, count in refused.most_common():
        print(f"  refused {count:3}  {target}")
    with open(summary_path, "w") as f:
        json.dump({"summary": summary, "keras": keras.__version__, "models": results, "refused": dict(refused)}, f, indent=1, sort_keys=True)
    return 0 if reproduced == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
