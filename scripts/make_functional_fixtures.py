"""Generates Tests/Fixtures/engine/functional.json: convolutions and pooling (channels-last, Keras
kernel layout) against PyTorch, with PyTorch's autograd gradients. Padding 'same' follows
TensorFlow's rule (smaller half before), done in PyTorch with an explicit F.pad.

Run by hand (never in CI):  python scripts/make_functional_fixtures.py   (needs torch, numpy)
"""
import json
import platform
import sys

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(99)


def arr(shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32).astype(np.float64)


def tensor(x):
    x = np.asarray(x, dtype=np.float64)
    return {"shape": list(x.shape), "values": [float(v) for v in x.reshape(-1)]}


def tf_same(size, k, s, d):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def channels_first(x):  # [N, spatial..., C] -> [N, C, spatial...]
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def channels_last(x):
    return x.permute(0, *range(2, x.dim()), 1)


cases = []


def conv_case(name, x_shape, k_shape, strides, dilations, padding, groups=1, bias=True):
    rank = len(x_shape) - 2
    x, kernel = arr(x_shape), arr(k_shape, -0.5, 0.5)
    b = arr((k_shape[-1],), -0.1, 0.1) if bias else None

    def fn(xt, kt, bt=None):
        xc = channels_first(xt)
        # Keras kernel [k..., cin/g, cout] -> PyTorch [cout, cin/g, k...]
        w = kt.permute(rank + 1, rank, *range(rank))
        pads = []
        for i in reversed(range(rank)):
            size, k = x_shape[1 + i], k_shape[i]
            if padding == "same":
                pads += list(tf_same(size, k, strides[i], dilations[i]))
            elif padding == "causal":
                pads += [dilations[i] * (k - 1), 0]
            else:
                pads += [0, 0]
        xc = F.pad(xc, pads)
        conv = [F.conv1d, F.conv2d, F.conv3d][rank - 1]
        y = conv(xc, w, bt, stride=strides, dilation=dilations, groups=groups)
        return channels_last(y)

    inputs = [x, kernel] + ([b] if bias else [])
    t64 = [torch.tensor(v, requires_grad=True) for v in inputs]
    y64 = fn(*t64)
    cot = arr(tuple(y64.shape))
    grads = torch.autograd.grad(y64, t64, torch.tensor(cot))
    with torch.no_grad():
        y32 = fn(*[torch.tensor(v, dtype=torch.float32) for v in inputs])
    cases.append({"name": name, "kind": "conv", "strides": strides, "dilations": dilations, "padding": padding,
                  "groups": groups, "inputs": [tensor(v) for v in inputs], "output64": tensor(y64.detach()),
                  "output32": tensor(y32), "cotangent": tensor(cot), "gradients": [tensor(g) for g in grads]})


conv_case("conv2d 3x3 valid", (2, 7, 6, 3), (3, 3, 3, 4), [1, 1], [1, 1], "valid")
conv_case("conv2d 3x3 stride 2 same (TF asymmetric)", (2, 8, 7, 3), (3, 3, 3, 5), [2, 2], [1, 1], "same")
conv_case("conv2d 3x3 dilation 2 groups 2 same", (1, 9, 8, 4), (3, 3, 2, 6), [1, 1], [2, 2], "same", groups=2)
conv_case("depthwise conv2d multiplier 2", (2, 6, 6, 3), (3, 3, 1, 6), [1, 1], [1, 1], "valid", groups=3)
conv_case("conv1d k3 dilation 2 causal", (2, 10, 3), (3, 3, 4), [1], [2], "causal")
conv_case("conv1d k4 stride 3 same no bias", (2, 11, 2), (4, 2, 3), [3], [1], "same", bias=False)
conv_case("conv3d 2x2x2 valid", (1, 4, 4, 3, 2), (2, 2, 2, 2, 3), [1, 1, 1], [1, 1, 1], "valid")


def pool_case(name, x_shape, kind, window, strides, padding, count_padding=False):
    rank = len(x_shape) - 2
    x = arr(x_shape)

    def fn(xt):
        xc = channels_first(xt)
        pads = []
        for i in reversed(range(rank)):
            pads += list(tf_same(x_shape[1 + i], window[i], strides[i], 1)) if padding == "same" else [0, 0]
        if kind == "max":
            y = [F.max_pool1d, F.max_pool2d][rank - 1](F.pad(xc, pads, value=-float("inf")), window, strides)
        else:
            pool = [F.avg_pool1d, F.avg_pool2d][rank - 1]
            total = pool(F.pad(xc, pads), window, strides) * float(np.prod(window))
            if count_padding:
                y = total / float(np.prod(window))
            else:  # divide by the number of real cells (TensorFlow 'same'), never by padded zeros
                ones = torch.ones((1, 1) + tuple(x_shape[1:-1]), dtype=xt.dtype)
                count = pool(F.pad(ones, pads), window, strides) * float(np.prod(window))
                y = total / count
        return channels_last(y)

    t64 = torch.tensor(x, requires_grad=True)
    y64 = fn(t64)
    cot = arr(tuple(y64.shape))
    (grad,) = torch.autograd.grad(y64, [t64], torch.tensor(cot))
    with torch.no_grad():
        y32 = fn(torch.tensor(x, dtype=torch.float32))
    cases.append({"name": name, "kind": kind + "pool", "window": window, "strides": strides, "padding": padding,
                  "countPadding": count_padding, "inputs": [tensor(x)], "output64": tensor(y64.detach()),
                  "output32": tensor(y32), "cotangent": tensor(cot), "gradients": [tensor(grad)]})


pool_case("maxpool2d 2x2 stride 2 valid", (2, 6, 5, 3), "max", [2, 2], [2, 2], "valid")
pool_case("maxpool2d 3x3 stride 2 same", (2, 7, 6, 2), "max", [3, 3], [2, 2], "same")
pool_case("avgpool2d 3x3 stride 2 same (padding excluded)", (2, 7, 6, 2), "avg", [3, 3], [2, 2], "same")
pool_case("avgpool2d 3x3 stride 2 same (padding counted)", (1, 6, 6, 2), "avg", [3, 3], [2, 2], "same", count_padding=True)
pool_case("avgpool1d 2 stride 1 valid", (2, 7, 3), "avg", [2], [1], "valid")

meta = {"generator": "scripts/make_functional_fixtures.py (generated, do not edit)", "torch": torch.__version__,
        "numpy": np.__version__, "python": sys.version.split()[0], "platform": platform.platform()}
with open("Tests/Fixtures/engine/functional.json", "w") as f:
    json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases with torch {torch.__version__}")
