#!/usr/bin/env python3
"""Parity's own round trip, measured with `parity compare`: keras.applications models (random weights, no
download) → `parity convert --to torch` → the generated model.py exported with torch.export → compared with the
Keras file. Each must come out `match`.

Two sizes, both written under .zoo/roundtrip/ (git-ignored; MobileNetV2's last 1280-channel convolution keeps even
the small one at megabytes): `full` (MobileNetV2, EfficientNetB0, NASNetMobile, DenseNet121 at 224×224) and
`small` (the same architectures built by the same keras.applications code with fewer filters and blocks, 32×32
input). The measured results are in docs/compare.md.

Run by hand; Keras and PyTorch never share a process (this driver imports neither):
    nice -n 10 ~/venv-ref/bin/python scripts/make_roundtrip_models.py small|full [NAME ...]
It runs `TF_ENABLE_ONEDNN_OPTS=0 python this.py keras ...`, then `parity convert`, then `python this.py torch ...`,
then `parity compare ... --json` (PARITY_BIN, else a release build in .build-release, else .build/debug), and writes results.json (verdict,
output difference, Float64 difference, time) next to the models.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# A release build is ~50x faster on these models: `swift build -c release --product parity --scratch-path .build-release
# -Xswiftc -target-cpu -Xswiftc haswell` (as bench/run.sh builds); else the debug build.
PARITY = os.environ.get("PARITY_BIN") or next((p for p in (os.path.join(REPO, ".build-release", "release", "parity"),
                                                           os.path.join(REPO, ".build", "debug", "parity")) if os.path.exists(p)))
OUT = {size: os.path.join(REPO, ".zoo", "roundtrip", size) for size in ("small", "full")}
NAMES = ["mobilenet_v2", "efficientnet_b0", "nasnet_mobile", "densenet121"]


def build(name, size):
    import keras
    from keras import applications as apps
    if size == "full":
        shape = (224, 224, 3)
        make = {"mobilenet_v2": lambda: apps.MobileNetV2(weights=None, input_shape=shape),
                "efficientnet_b0": lambda: apps.EfficientNetB0(weights=None, input_shape=shape),
                "nasnet_mobile": lambda: apps.NASNetMobile(weights=None, input_shape=shape),
                "densenet121": lambda: apps.DenseNet121(weights=None, input_shape=shape)}
    else:
        shape = (32, 32, 3)
        from keras.src.applications import densenet, efficientnet, nasnet
        make = {"mobilenet_v2": lambda: apps.MobileNetV2(weights=None, input_shape=shape, alpha=0.35, classes=10),
                "efficientnet_b0": lambda: efficientnet.EfficientNet(
                    0.25, 0.2, 32, dropout_rate=0.2, name="efficientnet_small", weights=None, input_shape=shape, classes=10,
                    blocks_args=efficientnet.DEFAULT_BLOCKS_ARGS[:4]),
                "nasnet_mobile": lambda: nasnet.NASNet(input_shape=shape, penultimate_filters=96, num_blocks=1, stem_block_filters=8,
                                                       skip_reduction=False, filter_multiplier=2, weights=None, classes=10,
                                                       default_size=32),
                "densenet121": lambda: densenet.DenseNet([1, 2, 2, 1], weights=None, input_shape=shape, classes=10)}
    keras.utils.set_random_seed(7)
    model = make[name]()
    rng = np.random.default_rng(3)
    # Random weights of keras.applications' own initialisers, plus BatchNorm statistics that are not the identity.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            w = layer.get_weights()
            n = w[-1].shape
            w[-2] = (0.1 * rng.standard_normal(n)).astype(np.float32)
            w[-1] = rng.uniform(0.5, 1.5, n).astype(np.float32)
            layer.set_weights(w)
    x = rng.uniform(-1, 1, (1,) + shape).astype(np.float32)
    return model, x


def keras_half(size, names):
    for name in names:
        folder = os.path.join(OUT[size], name)
        os.makedirs(folder, exist_ok=True)
        model, x = build(name, size)
        model.save(os.path.join(folder, "keras.keras"))
        np.save(os.path.join(folder, "input.npy"), x)
        np.save(os.path.join(folder, "keras_out.npy"), np.asarray(model(x), np.float32))
        print(f"{name}: {model.count_params()} parameters")


def torch_half(size, names):
    import importlib.util
    import torch
    for name in names:
        folder = os.path.join(OUT[size], name)
        spec = importlib.util.spec_from_file_location(f"converted_{name}", os.path.join(folder, "converted", "model.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.Model()
        model.load_state_dict(torch.load(os.path.join(folder, "converted", "model.pt"), weights_only=True))
        model.eval()
        x = torch.from_numpy(np.load(os.path.join(folder, "input.npy")))
        ep = torch.export.export(model, (x,))
        torch.export.save(ep, os.path.join(folder, "torch.pt2"))
        with torch.no_grad():
            y = model(x).numpy()
        diff = float(np.abs(y - np.load(os.path.join(folder, "keras_out.npy"))).max())
        with open(os.path.join(folder, "torch_check.json"), "w") as f:
            json.dump({"torch": torch.__version__, "max_abs_vs_keras": diff}, f)
        print(f"{name}: exported; max |PyTorch − Keras| = {diff:.3g}")


def drive(size, names):
    py = sys.executable
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0")
    subprocess.run([py, __file__, "keras", size] + names, check=True, env=env)
    for name in names:
        folder = os.path.join(OUT[size], name)
        subprocess.run([PARITY, "convert", os.path.join(folder, "keras.keras"), "--to", "torch", "--output", os.path.join(folder, "converted")],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run([py, __file__, "torch", size] + names, check=True)
    results = {}
    for name in names:
        folder = os.path.join(OUT[size], name)
        start = time.time()
        r = subprocess.run([PARITY, "compare", os.path.join(folder, "keras.keras"), os.path.join(folder, "torch.pt2"),
                            "--input", os.path.join(folder, "input.npy"), "--json", os.path.join(folder, "compare.json")],
                           capture_output=True, text=True)
        seconds = time.time() - start
        report = json.load(open(os.path.join(folder, "compare.json"))) if r.returncode in (0, 1) else {}
        out = report.get("outputs", [{}])[0]
        results[name] = {"exit": r.returncode, "verdict": report.get("verdict"), "seconds": round(seconds, 1),
                         "max_abs_output": out.get("metrics", {}).get("max_abs"), "max_abs_output_float64": out.get("max_abs_float64"),
                         "pairs": len(report.get("layers", [])), "diverging": [l["a"] for l in report.get("layers", []) if l["diverges"]],
                         "unpaired_a": len(report.get("unpaired_a", [])),
                         "torch_vs_keras": json.load(open(os.path.join(folder, "torch_check.json")))["max_abs_vs_keras"]}
        print(name, results[name], r.stderr.strip()[-300:])
    with open(os.path.join(OUT[size], "results.json"), "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] in ("keras", "torch"):
        names = sys.argv[3:] or NAMES
        (keras_half if sys.argv[1] == "keras" else torch_half)(sys.argv[2], names)
    elif len(sys.argv) >= 2 and sys.argv[1] in OUT:
        drive(sys.argv[1], sys.argv[2:] or NAMES)
    else:
        sys.exit(__doc__)
