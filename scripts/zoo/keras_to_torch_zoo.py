"""Keras → PyTorch over the keras.applications zoo: converts every `<zoo>/keras.applications/<name>/model.keras`
with `parity convert --to torch`, then loads the written `model.py` + `model.pt` in real PyTorch (this
process imports torch only, never TensorFlow) and compares its outputs on the zoo's `input.npz` with
Keras's own (`expected.npz`, written by scripts/zoo/keras_applications.py).

    nice -n 10 ~/venv-ref/bin/python scripts/zoo/keras_to_torch_zoo.py [--zoo .zoo] [--only NAME ...] \
        [--parity .build/debug/parity] [--out .zoo-torch] [--table]

The bound is |torch − keras| ≤ 1e-5 · max(1, |keras|) per element, as `parity zoo` uses. For a model
beyond it, the converted model is run again in float64 (`model.double()`, the float32 weights cast up);
with an `expected_float64.npz` in the model's folder (Keras's own float64 run; the keras.applications
export writes none yet, none was needed: no model is beyond the bound) it prints how far
Keras's and PyTorch's float32 outputs each are from Keras's float64 run and how far PyTorch's float64
run is from it (~1e-12 when the conversion is exact: then the miss is float32 noise). One line per
model, then `N/M convert, K/M within 1e-5 in PyTorch`; results in <out>/summary.json (after every
model). Each converted directory is deleted once measured unless --keep.
"""
import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zoo_layout import BOUND, scaled_difference  # noqa: E402



def compare(outputs, expected):
    return scaled_difference(outputs, expected)[0]


def load(folder):
    spec = importlib.util.spec_from_file_location(f"converted_{abs(hash(folder))}", os.path.join(folder, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.Model()
    model.load_state_dict(torch.load(os.path.join(folder, "model.pt"), weights_only=True))
    return model.eval()


def run(model, inputs, dtype):
    with torch.no_grad():
        xs = [torch.from_numpy(v).to(dtype) if v.dtype.kind == "f" else torch.from_numpy(v) for v in inputs]
        out = model(*xs)
    return [o.numpy() for o in (out if isinstance(out, (list, tuple)) else [out])]


def measure(name, folder, args):
    converted = os.path.join(args.out, name)
    shutil.rmtree(converted, ignore_errors=True)
    result = subprocess.run([args.parity, "convert", os.path.join(folder, "model.keras"), "--to", "torch", "--output", converted,
                             "--input", os.path.join(folder, "input.npz")], capture_output=True, text=True)
    # Exit 1: converted and written, but Parity's own proof (torch.testing.assert_close's float32 bound)
    # failed; the real PyTorch run below is still the measure. Any other failure is a refusal.
    proof = next((l for l in result.stdout.splitlines() if l.startswith("proof:")), None)
    if result.returncode != 0 and not (result.returncode == 1 and os.path.exists(os.path.join(converted, "model.py"))):
        message = (result.stderr.strip() or result.stdout.strip()).splitlines()
        return {"name": name, "result": "REFUSED", "error": message[0][:400] if message else f"exit {result.returncode}"}
    inputs = list(np.load(os.path.join(folder, "input.npz")).values())
    expected = [v for _, v in sorted(np.load(os.path.join(folder, "expected.npz")).items(), key=lambda kv: int(kv[0][6:]))]
    try:
        model = load(converted)
        outputs = run(model, inputs, torch.float32)
    except Exception as error:  # a model.py PyTorch cannot run is a conversion failure, reported
        return {"name": name, "result": "FAIL", "error": f"PyTorch: {type(error).__name__}: {error}"[:400]}
    record = {"name": name, "result": "ok", "max_relative": compare(outputs, expected), "parity_proof": proof}
    if record["max_relative"] > BOUND:
        record["result"] = "beyond"
        f64 = os.path.join(folder, "expected_float64.npz")
        if os.path.exists(f64):
            keras64 = [v for _, v in sorted(np.load(f64).items(), key=lambda kv: int(kv[0][6:]))]
            torch64 = run(model.double(), inputs, torch.float64)
            record.update(keras_from_float64=compare(expected, keras64), torch_from_float64=compare(outputs, keras64),
                          torch_float64_from_keras_float64=compare(torch64, keras64))
    if not args.keep:
        shutil.rmtree(converted, ignore_errors=True)
    return record


def line(r):
    if r["result"] in ("REFUSED", "FAIL"):
        return f"{r['name']}: {r['result']} {r['error']}"
    text = f"{r['name']}: {r['result']} {r['max_relative']:.2e}"
    if "torch_float64_from_keras_float64" in r:
        text += (f" (from Keras's float64 run: Keras f32 {r['keras_from_float64']:.2e}, PyTorch f32 {r['torch_from_float64']:.2e}; "
                 f"PyTorch float64 {r['torch_float64_from_keras_float64']:.1e})")
    return text


def table(records):
    print("| model | result | max relative difference | Keras f32 from Keras f64 | PyTorch f32 from Keras f64 | PyTorch f64 from Keras f64 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in sorted(records.values(), key=lambda r: r["name"]):
        if r["result"] in ("REFUSED", "FAIL"):
            print(f"| {r['name']} | {r['result'].lower()}: {r['error']} | | | | |")
        elif "torch_float64_from_keras_float64" in r:
            print(f"| {r['name']} | {r['result']} | {r['max_relative']:.2e} | {r['keras_from_float64']:.2e} | {r['torch_from_float64']:.2e} | "
                  f"{r['torch_float64_from_keras_float64']:.1e} |")
        else:
            print(f"| {r['name']} | {r['result']} | {r['max_relative']:.2e} | | | |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zoo", default=".zoo")
    parser.add_argument("--source", default="keras.applications")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--parity", default=".build/debug/parity")
    parser.add_argument("--out", default=".zoo-torch")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--table", action="store_true", help="print the Markdown table of <out>/summary.json and stop")
    args = parser.parse_args()
    torch.set_num_threads(1)
    summary = os.path.join(args.out, "summary.json")
    records = json.load(open(summary)) if os.path.exists(summary) else {}
    if args.table:
        table(records)
        return
    root = os.path.join(args.zoo, args.source)
    names = sorted(n for n in os.listdir(root) if os.path.exists(os.path.join(root, n, "meta.json")))
    os.makedirs(args.out, exist_ok=True)
    for name in names:
        if args.only and name not in args.only:
            continue
        records[name] = measure(name, os.path.join(root, name), args)
        print(line(records[name]), flush=True)
        with open(summary, "w") as f:
            json.dump(records, f, indent=1, sort_keys=True)
    done = [r for r in records.values()]
    converted = sum(r["result"] in ("ok", "beyond") for r in done)
    within = sum(r["result"] == "ok" for r in done)
    print(f"{converted}/{len(done)} convert, {within}/{len(done)} within {BOUND:g} in PyTorch")


if __name__ == "__main__":
    sys.exit(main())
