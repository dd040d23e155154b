"""Checks every converted fixture in real PyTorch: Tests/Fixtures/convert/<model>/model.py and
Tests/Fixtures/convert/layers/<case>/model.py (written by
`parity convert --to torch`), its state_dict model.pt, the Keras model's input and the real Keras's
outputs (scripts/make_convert_fixtures.py). Writes Tests/Fixtures/convert/verified.json with the
versions and each output's max abs difference; exits 1 if any exceeds the bound (1e-5).

Run by hand (never in CI), in a venv with `pip install torch numpy` (no Keras or TensorFlow in the
same process):
    python scripts/verify_conversions.py
"""
import importlib.util
import json
import os
import platform
import sys

import numpy as np
import torch

ROOT = "Tests/Fixtures/convert"
BOUND = 1e-5


def load_model(folder):
    spec = importlib.util.spec_from_file_location(f"converted_{folder.replace('/', '_')}", f"{folder}/model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.Model()
    # strict=True (the default): every key present, none extra, shapes equal.
    model.load_state_dict(torch.load(f"{folder}/model.pt", weights_only=True))
    return model.eval()


results = {}
failed = False
folders = [name for name in sorted(os.listdir(ROOT)) if name != "layers"]
folders += [f"layers/{name}" for name in sorted(os.listdir(f"{ROOT}/layers"))]
for name in folders:
    folder = f"{ROOT}/{name}"
    if not os.path.exists(f"{folder}/model.py"):
        continue
    model = load_model(folder)
    inputs = np.load(f"{folder}/inputs.npz")
    expected = np.load(f"{folder}/keras_outputs.npz")
    with torch.no_grad():
        outputs = model(*[torch.from_numpy(inputs[k]) for k in inputs.files])
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    differences = []
    for produced, key in zip(outputs, expected.files):
        want = expected[key]
        assert produced.shape == want.shape, f"{name}: output {key} has shape {tuple(produced.shape)}, Keras {want.shape}"
        differences.append(float(np.max(np.abs(produced.numpy().astype(np.float64) - want.astype(np.float64)))))
    passed = len(outputs) == len(expected.files) and max(differences) <= BOUND
    failed |= not passed
    results[name] = {"outputs": len(outputs), "max_abs": differences, "passed": passed}
    print(f"{name}: max abs {max(differences):.3g} over {len(outputs)} output(s): {'ok' if passed else 'BEYOND ' + str(BOUND)}")

with open(f"{ROOT}/verified.json", "w") as f:
    json.dump({"generator": "scripts/verify_conversions.py (generated, do not edit)", "torch": torch.__version__,
               "numpy": np.__version__, "python": platform.python_version(), "bound": BOUND, "models": results}, f, indent=1)
    f.write("\n")
sys.exit(1 if failed else 0)
