#!/usr/bin/env python3
"""Generates examples/: one small Keras model and PyTorch ports of it for `parity compare`, a faithful
port and ports that each carry ONE classic porting mistake.

Generated, do not edit the outputs by hand. Run by hand in two processes (Keras and PyTorch are never
imported together), Keras first:
    TF_ENABLE_ONEDNN_OPTS=0 /work/venv-keras/bin/python scripts/make_compare_examples.py keras
    /work/venv-torch/bin/python scripts/make_compare_examples.py torch

The Keras half writes, under examples/conv_bn_dense/ (shared by every port):
  keras.keras      Sequential: Conv2D(4, 3, strides=2, padding="same") "conv" -> BatchNormalization "bn"
                   -> ReLU "relu" -> Flatten "flatten" -> Dense(5) "dense", input [N, 8, 8, 3] (NHWC)
  weights.npz      the Keras weights in Keras layout (keys "<layer>/<variable>"), read by the PyTorch half
  input.npy        a [2, 8, 8, 3] float32 input (NHWC)
The PyTorch half writes, for every port NAME, examples/conv_bn_dense/NAME/ with:
  torch.pt2        torch.export.save of the port (input [2, 3, 8, 8], NCHW), its submodules named after the
                   Keras layers so that `parity compare` pairs them by name
  README.md        which mistake is planted (or none)
and examples/conv_bn_dense/README.md listing the ports.
"""
import io
import json
import os
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
MODEL = os.path.join(ROOT, "conv_bn_dense")
SEED = 6

PORTS = {
    "faithful": (None, "None: every convention is converted (conventions.md A.1, A.2, A.5, A.6, C.11).", "The outputs agree within "
                 "`torch.testing.assert_close`'s float32 tolerance and no layer differs beyond float noise."),
    "batchnorm-epsilon": ("batchnorm-epsilon", "`nn.BatchNorm2d(4)` keeps PyTorch's default `eps=1e-5`; Keras's "
                          "BatchNormalization uses `epsilon=1e-3` (conventions.md C.11).",
                          "The first diverging layer is `bn`. Fix: `nn.BatchNorm2d(4, eps=1e-3)`."),
    "padding-same": ("padding-same", "`nn.Conv2d(3, 4, 3, stride=2, padding=1)` pads (1, 1) on each spatial axis; TensorFlow's "
                     "`same` pads (0, 1) here (8 input, kernel 3, stride 2: the extra row/column at the bottom/right; "
                     "conventions.md A.6).",
                     "The first diverging layer is `conv`. Fix: `F.pad(x, (0, 1, 0, 1))` then `padding=0`."),
    "flatten-order": ("flatten-order", "`nn.Flatten()` flattens NCHW activations in (C, H, W) order while the Dense "
                      "weights were converted for Keras's (H, W, C) order (conventions.md A.5).",
                      "The first diverging layer is `flatten`. Fix: `x.permute(0, 2, 3, 1).flatten(1)`, or reorder the "
                      "Linear weight columns."),
}


def keras_half():
    import keras
    import tensorflow as tf

    os.makedirs(MODEL, exist_ok=True)
    rng = np.random.default_rng(SEED)
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Conv2D(4, 3, strides=2, padding="same", name="conv"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.ReLU(name="relu"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(5, name="dense"),
    ], name="conv_bn_dense")
    f32 = np.float32
    weights = {
        "conv/kernel": (rng.standard_normal((3, 3, 3, 4)) * 0.4).astype(f32),
        "conv/bias": (rng.standard_normal(4) * 0.1).astype(f32),
        "bn/gamma": (1 + rng.standard_normal(4) * 0.2).astype(f32),
        "bn/beta": (rng.standard_normal(4) * 0.2).astype(f32),
        "bn/moving_mean": (rng.standard_normal(4) * 0.3).astype(f32),
        # Small variances, as after a layer with small activations: the epsilon then matters.
        "bn/moving_variance": rng.uniform(0.02, 0.2, 4).astype(f32),
        "dense/kernel": (rng.standard_normal((64, 5)) * 0.2).astype(f32),
        "dense/bias": (rng.standard_normal(5) * 0.1).astype(f32),
    }
    model.get_layer("conv").set_weights([weights["conv/kernel"], weights["conv/bias"]])
    model.get_layer("bn").set_weights([weights[f"bn/{k}"] for k in ("gamma", "beta", "moving_mean", "moving_variance")])
    model.get_layer("dense").set_weights([weights["dense/kernel"], weights["dense/bias"]])
    x = rng.standard_normal((2, 8, 8, 3)).astype(f32)
    model.save(os.path.join(MODEL, "keras.keras"))
    np.savez(os.path.join(MODEL, "weights.npz"), **weights)
    np.save(os.path.join(MODEL, "input.npy"), x)
    y = model.predict(x, verbose=0)
    meta = {"keras": keras.__version__, "tensorflow": tf.__version__, "output": y.tolist()}
    with open(os.path.join(MODEL, "keras_meta.json"), "w") as f:
        json.dump(meta, f)
    print("keras:", y[0])


def torch_half():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class TFSameConv2d(nn.Module):
        """Conv2d with TensorFlow's asymmetric `same` padding (here (0, 1) on H and W)."""

        def __init__(self, pad):
            super().__init__()
            self.pad = pad
            self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=0)

        def forward(self, x):
            return self.conv(F.pad(x, self.pad))

    class KerasFlatten(nn.Module):
        """Flatten in Keras's (H, W, C) order."""

        def forward(self, x):
            return x.permute(0, 2, 3, 1).flatten(1)

    class Port(nn.Module):
        def __init__(self, mistake):
            super().__init__()
            if mistake == "padding-same":
                self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
            else:
                self.conv = TFSameConv2d((0, 1, 0, 1))
            self.bn = nn.BatchNorm2d(4) if mistake == "batchnorm-epsilon" else nn.BatchNorm2d(4, eps=1e-3)
            self.relu = nn.ReLU()
            self.flatten = nn.Flatten() if mistake == "flatten-order" else KerasFlatten()
            self.dense = nn.Linear(64, 5)

        def forward(self, x):
            return self.dense(self.flatten(self.relu(self.bn(self.conv(x)))))

    w = {k: torch.from_numpy(v) for k, v in np.load(os.path.join(MODEL, "weights.npz")).items()}
    x = torch.from_numpy(np.load(os.path.join(MODEL, "input.npy"))).permute(0, 3, 1, 2).contiguous()
    D = "examples/conv_bn_dense"
    rows = []
    keras_out = np.array(json.load(open(os.path.join(MODEL, "keras_meta.json")))["output"], dtype=np.float32)
    for name, (mistake, planted, expect) in PORTS.items():
        torch.manual_seed(0)
        port = Port(mistake).eval()
        conv = port.conv if mistake == "padding-same" else port.conv.conv
        with torch.no_grad():
            conv.weight.copy_(w["conv/kernel"].permute(3, 2, 0, 1))
            conv.bias.copy_(w["conv/bias"])
            port.bn.weight.copy_(w["bn/gamma"])
            port.bn.bias.copy_(w["bn/beta"])
            port.bn.running_mean.copy_(w["bn/moving_mean"])
            port.bn.running_var.copy_(w["bn/moving_variance"])
            port.dense.weight.copy_(w["dense/kernel"].T)
            port.dense.bias.copy_(w["dense/bias"])
            y = port(x).numpy()
        ep = torch.export.export(port, (x,))
        out = os.path.join(MODEL, name)
        os.makedirs(out, exist_ok=True)
        torch.export.save(ep, os.path.join(out, "torch.pt2"))
        diff = float(np.abs(y - keras_out).max())
        with open(os.path.join(out, "README.md"), "w") as f:
            f.write(f"# Example `{name}`: a PyTorch port of a small Keras model\n\n"
                    "Generated by `scripts/make_compare_examples.py` (do not edit). `../keras.keras` is the original "
                    "(Conv2D(4, 3, strides=2, padding=\"same\") `conv` → BatchNormalization `bn` → ReLU `relu` → "
                    "Flatten `flatten` → Dense(5) `dense`, input NHWC [2, 8, 8, 3]); `torch.pt2` is a torch.export "
                    "port with the same weights (input NCHW [2, 3, 8, 8]), its submodules named after the Keras "
                    "layers; `../input.npy` is the NHWC input.\n\n"
                    f"**Planted mistake:** {planted}\n\n"
                    f"**Expected from `parity compare`:** {expect}\n\n"
                    f"Measured when generated: max |Keras − PyTorch| on the output = {diff:.3g} "
                    f"(torch {torch.__version__}).\n\n"
                    "```sh\n"
                    f"parity compare {D}/keras.keras {D}/{name}/torch.pt2 --input {D}/input.npy\n"
                    "```\n")
        print(f"{name}: max |keras - torch| = {diff:.3g}")
        rows.append(f"| [`{name}/`]({name}/README.md) | {mistake or 'none'} | {diff:.3g} |")
    with open(os.path.join(MODEL, "README.md"), "w") as f:
        f.write("# Example `conv_bn_dense`: one Keras model, several PyTorch ports\n\n"
                "Generated by `scripts/make_compare_examples.py` (do not edit). `keras.keras`: Conv2D(4, 3, strides=2, "
                "padding=\"same\") `conv` → BatchNormalization `bn` → ReLU `relu` → Flatten `flatten` → Dense(5) `dense`; "
                "`input.npy`: NHWC [2, 8, 8, 3]; `weights.npz`: the Keras weights the PyTorch half converts. Each "
                "subdirectory holds one torch.export port (`torch.pt2`, NCHW input) with its README.\n\n"
                "| port | planted mistake (cause id) | max abs output difference when generated |\n|---|---|---|\n"
                + "\n".join(rows) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["keras"]:
        keras_half()
    elif sys.argv[1:] == ["torch"]:
        torch_half()
    else:
        sys.exit("usage: make_compare_examples.py keras|torch (Keras first, in separate processes)")
