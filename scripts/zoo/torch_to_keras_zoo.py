"""PyTorch → Keras over a torch zoo: converts every `.zoo/<source>/<name>/model.pt2` with
`parity convert --to keras` and opens each written `model.keras` in real Keras, comparing its outputs on
the zoo's `input.npz` with PyTorch's own (`expected.npz`, written by scripts/zoo/export_torch.py).
Only Keras is imported (PyTorch's outputs come from the zoo), so this runs in the reference venv:

    TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 ~/venv-ref/bin/python scripts/zoo/torch_to_keras_zoo.py \
        [--zoo .zoo] [--source torchvision] [--only NAME ...] [--parity .build/debug/parity] [--out .zoo-keras]

One line per model: `ok` (Keras reproduces PyTorch within the bound), `FAIL` (converted, Keras differs
or cannot open it; with `expected_float64.npz`, how far Keras's and PyTorch's float32 outputs each are
from PyTorch's float64 run, which tells float32 noise of a deep network from a conversion error), `REFUSED` (Parity names the node with no exact Keras form), then
`N/M convert, K/M reproduce PyTorch within 1e-5` and a tally of the refused operators. The bound is
|keras − torch| ≤ 1e-5 · max(1, |torch|) per element, as `parity zoo` uses. Results go to
<out>/<source>/summary.json.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

BOUND = 1e-5


def compare(outputs, expected):
    worst = 0.0
    for out, ref in zip(outputs, expected):
        out, ref = np.asarray(out, np.float64), np.asarray(ref, np.float64)
        if out.shape != ref.shape:
            return float("inf"), f"shape {out.shape}, PyTorch's {ref.shape}"
        both_nan = np.isnan(out) & np.isnan(ref)
        diff = np.where(both_nan, 0.0, np.abs(out - ref) / np.maximum(1.0, np.abs(ref)))
        worst = max(worst, float(np.nan_to_num(diff, nan=np.inf).max(initial=0.0)))
    return worst, None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zoo", default=".zoo")
    parser.add_argument("--source", default="torchvision")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--parity", default=".build/debug/parity")
    parser.add_argument("--out", default=".zoo-keras")
    parser.add_argument("--timeout", type=int, default=1800)
    args = parser.parse_args()
    import keras
    # Keras rebuilds a functional config recursively; the deepest converted graphs (EfficientNetV2-L)
    # exceed Python's default limit of 1000 frames.
    sys.setrecursionlimit(20000)

    root = os.path.join(args.zoo, args.source)
    names = sorted(n for n in os.listdir(root) if os.path.exists(os.path.join(root, n, "model.pt2")))
    if args.only:
        names = [n for n in names if n in args.only]
    results, refused = {}, collections.Counter()
    converted = reproduced = noise = 0
    for name in names:
        folder = os.path.join(root, name)
        out = os.path.join(args.out, args.source, name)
        os.makedirs(out, exist_ok=True)
        run = subprocess.run([args.parity, "convert", os.path.join(folder, "model.pt2"), "--to", "keras", "--output", out,
                              "--input", os.path.join(folder, "input.npz")], capture_output=True, text=True, timeout=args.timeout)
        keras_file = os.path.join(out, "model.keras")
        if not os.path.exists(keras_file) or run.returncode == 2:
            message = (run.stderr.strip() or run.stdout.strip()).splitlines()[-1:] or ["?"]
            target = re.search(r"(aten\.[A-Za-z0-9_.]+)", message[0])
            refused[target.group(1) if target else message[0][:80]] += 1
            results[name] = {"status": "REFUSED", "reason": message[0]}
            print(f"REFUSED {name}  {message[0]}", flush=True)
            continue
        converted += 1
        try:
            model = keras.saving.load_model(keras_file)
            with np.load(os.path.join(folder, "input.npz")) as archive:
                feed = {k: archive[k] for k in archive.files}
            inputs = [feed[t._keras_history[0].name] if t._keras_history[0].name in feed else list(feed.values())[i]
                      for i, t in enumerate(model.inputs)]
            outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
            outputs = [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
            with np.load(os.path.join(folder, "expected.npz")) as archive:
                expected = [archive[k] for k in sorted(archive.files, key=lambda k: int(k[6:]))]
            worst, problem = compare(outputs, expected)
            referee = ""
            f64 = os.path.join(folder, "expected_float64.npz")
            if problem is None and worst > BOUND and os.path.exists(f64):
                # How far each float32 run is from PyTorch's float64 run of the same weights.
                with np.load(f64) as archive:
                    exact = [archive[k] for k in sorted(archive.files, key=lambda k: int(k[6:]))]
                ours, theirs = compare(outputs, exact)[0], compare(expected, exact)[0]
                noise += ours <= max(2 * theirs, BOUND)
                referee = f"from float64: Keras {ours:.2e}, PyTorch {theirs:.2e}"
        except Exception as error:  # report and go on: one model must not hide the others
            worst, problem, referee = float("inf"), f"{type(error).__name__}: {str(error).splitlines()[0][:200]}", ""
        ok = problem is None and worst <= BOUND
        reproduced += ok
        results[name] = {"status": "ok" if ok else "FAIL", "max_relative": worst, "problem": problem, "referee": referee,
                         "parity_check": (run.stdout.strip().splitlines() or [""])[-1]}
        print(f"{'ok' if ok else 'FAIL':7} {name}  {worst:.2e}  {problem or referee}", flush=True)
        keras.backend.clear_session()
    summary = (f"{args.source}: {converted}/{len(names)} convert, {reproduced}/{len(names)} reproduce PyTorch in Keras within {BOUND:g}; "
               f"{noise} more beyond it but no farther from PyTorch's float64 run than 2x PyTorch's own float32 distance")
    print(summary)
    for target, count in refused.most_common():
        print(f"  refused {count:3}  {target}")
    with open(os.path.join(args.out, args.source, "summary.json"), "w") as f:
        json.dump({"summary": summary, "keras": keras.__version__, "models": results, "refused": dict(refused)}, f, indent=1, sort_keys=True)
    return 0 if reproduced == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
