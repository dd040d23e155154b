"""Float32 error, in ULP of the exact (float64) result, of sigmoid, SiLU and rsqrt as TensorFlow or
PyTorch computes them (one framework per process):

    TF_ENABLE_ONEDNN_OPTS=0 ~/venv-ref/bin/python scripts/zoo/activation_ulps.py tensorflow
    ~/venv-ref/bin/python scripts/zoo/activation_ulps.py torch

Inputs: 10⁶ uniform draws in (−8, 8) (sigmoid, SiLU) and (0.5, 2) (rsqrt), seeded. Cited in
docs/zoo-keras.md (why Keras's float32 EfficientNets are farther from PyTorch than other models).
"""
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def ulps(values, exact):
    return np.abs(np.asarray(values, np.float64) - exact) / np.abs(np.spacing(exact.astype(np.float32)).astype(np.float64))


def main(framework):
    x = np.random.default_rng(1).uniform(-8, 8, 1_000_000).astype(np.float32)
    v = np.random.default_rng(2).uniform(0.5, 2, 1_000_000).astype(np.float32)
    if framework == "tensorflow":
        import tensorflow as tf
        sigmoid, silu, rsqrt = tf.math.sigmoid(x).numpy(), tf.nn.silu(x).numpy(), tf.math.rsqrt(v).numpy()
    else:
        import torch
        t = torch.from_numpy(x)
        sigmoid, silu, rsqrt = torch.sigmoid(t).numpy(), torch.nn.functional.silu(t).numpy(), torch.rsqrt(torch.from_numpy(v)).numpy()
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    for name, values, reference in [("sigmoid", sigmoid, exact), ("silu", silu, x * exact), ("rsqrt", rsqrt, 1 / np.sqrt(v.astype(np.float64)))]:
        error = ulps(values, reference)
        print(f"{framework} {name:8s} max {error.max():.2f} ULP, mean {error.mean():.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "torch")
