"""Checks with the real frameworks that the Keras archives `parity convert --to keras` writes reproduce
the PyTorch programs they came from.

Every folder of Tests/Fixtures/convert/torch_to_keras/ holds model.keras (written by Parity from the
`.pt2` named in source.txt), inputs.npz (keyed by the program's input names) and, after the first
step, torch_outputs.npz. Two steps, in two venvs (never import torch and keras in one process):

    PARITY_RECORD=1 swift test --filter TorchToKerasTests             # the archives and inputs
    /work/venv-torch/bin/python scripts/verify_torch_to_keras.py --torch
    TF_ENABLE_ONEDNN_OPTS=0 /work/venv-keras/bin/python scripts/verify_torch_to_keras.py

1. `--torch`: runs each program with torch.export.load(...).module() on the inputs and writes
   torch_outputs.npz (output_0, output_1, ...) per folder and torch_meta.json with the versions.
2. default: opens each model.keras with keras.saving.load_model (safe mode), calls it on the same
   inputs, and compares with PyTorch's outputs. The results, with the versions, go to
   Tests/Fixtures/convert/torch_to_keras/verified.json (checked by the Swift tests); the bound is
   1e-5 (max abs), and torch.testing.assert_close's float32 bound is reported too. Exit 1 beyond it.
Run by hand, never in CI. Generated files: do not edit.
"""
import glob
import json
import os
import platform
import sys

ROOT = "Tests/Fixtures/convert/torch_to_keras"
BOUND = 1e-5
ATOL, RTOL = 1e-5, 1.3e-6


def folders():
    return sorted(os.path.dirname(p) for p in glob.glob(f"{ROOT}/*/source.txt"))


def inputs(folder):
    import numpy as np
    with np.load(f"{folder}/inputs.npz") as archive:
        return [archive[name] for name in archive.files]


def torch_step():
    import torch
    import numpy as np
    for folder in folders():
        source = open(f"{folder}/source.txt").read().strip()
        program = torch.export.load(source).module()
        with torch.no_grad():
            outputs = program(*[torch.from_numpy(x) for x in inputs(folder)])
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        np.savez(f"{folder}/torch_outputs.npz", **{f"output_{i}": o.numpy() for i, o in enumerate(outputs)})
        print(folder, [tuple(o.shape) for o in outputs])
    with open(f"{ROOT}/torch_meta.json", "w") as f:
        json.dump({"generated_by": "scripts/verify_torch_to_keras.py --torch (generated, do not edit)", "torch": torch.__version__,
                   "python": platform.python_version()}, f, indent=1)
        f.write("\n")


def keras_step():
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np
    import tensorflow as tf
    models = {}
    for folder in folders():
        name = os.path.basename(folder)
        model = keras.saving.load_model(f"{folder}/model.keras")
        xs = inputs(folder)
        # Called, not `predict`: an initial-state input's first axis is layers·directions, not the batch.
        predicted = model(xs[0] if len(xs) == 1 else xs, training=False)
        predicted = [np.asarray(p) for p in (predicted if isinstance(predicted, (list, tuple)) else [predicted])]
        with np.load(f"{folder}/torch_outputs.npz") as archive:
            expected = [archive[f"output_{i}"] for i in range(len(archive.files))]
        assert len(predicted) == len(expected), f"{name}: {len(predicted)} outputs, PyTorch {len(expected)}"
        differences, close = [], True
        for p, e in zip(predicted, expected):
            assert p.shape == e.shape, f"{name}: shape {p.shape}, PyTorch {e.shape}"
            delta = np.abs(p.astype(np.float64) - e.astype(np.float64))
            differences.append(float(delta.max()) if delta.size else 0.0)
            close = close and bool(np.all(delta <= ATOL + RTOL * np.abs(e.astype(np.float64))))
        models[name] = {"source": open(f"{folder}/source.txt").read().strip(), "outputs": len(expected),
                        "max_abs_difference": max(differences), "max_abs_difference_per_output": differences,
                        "within_bound": max(differences) <= BOUND, "assert_close_float32": close}
        print(f"{name}: max abs {max(differences):.3g}{'' if max(differences) <= BOUND else '  BEYOND'}")
    torch_meta = json.load(open(f"{ROOT}/torch_meta.json"))
    record = {"generated_by": "scripts/verify_torch_to_keras.py (generated, do not edit)", "keras": keras.__version__,
              "tensorflow": tf.__version__, "torch": torch_meta["torch"], "python": platform.python_version(),
              "platform": platform.platform(), "tf_enable_onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "bound": BOUND,
              "all_within_bound": all(m["within_bound"] for m in models.values()), "models": models}
    with open(f"{ROOT}/verified.json", "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    return record["all_within_bound"]


if __name__ == "__main__":
    if "--torch" in sys.argv[1:]:
        torch_step()
    else:
        sys.exit(0 if keras_step() else 1)
