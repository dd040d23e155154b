"""Generates Tests/Fixtures/engine/ops.json: every engine op's forward result (float64 and float32)
and its gradient (float64, via torch.autograd) computed by PyTorch, for Parity's op table tests.

Run by hand (never in CI):
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install torch numpy
    /tmp/venv/bin/python scripts/make_engine_fixtures.py

Each case: an op spec (read by Tests/ParityEngineTests/OpTable.swift), inputs, a cotangent, and
PyTorch's outputs. Inputs are drawn away from kinks (|x| >= 0.05 where the op has one) and ties.
"""
import json
import math
import platform
import sys

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(20261127)


def uniform(shape, low=-2.0, high=2.0, avoid=0.05):
    x = rng.uniform(low, high, size=shape)
    if avoid:
        x = np.where(np.abs(x) < avoid, np.sign(x + 1e-12) * (avoid + np.abs(x)), x)
    # Round through float32 so the float32 and float64 runs see the same inputs.
    return x.astype(np.float32).astype(np.float64)


def indices(shape, size):
    return rng.integers(0, size, size=shape).astype(np.int64)


cases = []


def case(name, spec, inputs, fn, grad=True):
    """inputs: list of numpy arrays (float64 or int64). fn: torch function of torch tensors. grad: True, or the
    reason the case has no gradient check (recorded as `no_gradient`)."""
    result = {"name": name, "spec": spec, "inputs": [], "gradients": None}
    if grad is not True:
        result["no_gradient"] = grad
        grad = False
    for x in inputs:
        result["inputs"].append({"shape": list(x.shape), "dtype": "int64" if x.dtype == np.int64 else "float64",
                                 "values": [int(v) if x.dtype == np.int64 else float(v) for v in x.reshape(-1)]})
    t64 = [torch.tensor(x, dtype=torch.int64 if x.dtype == np.int64 else torch.float64,
                        requires_grad=grad and x.dtype != np.int64) for x in inputs]
    out64 = fn(*t64)
    t32 = [torch.tensor(x, dtype=torch.int64 if x.dtype == np.int64 else torch.float32) for x in inputs]
    with torch.no_grad():
        out32 = fn(*t32)
    result["output64"] = {"shape": list(out64.shape), "values": [float(v) for v in out64.detach().reshape(-1)]}
    result["output32"] = {"shape": list(out32.shape), "values": [float(v) for v in out32.reshape(-1)]}
    if grad:
        cot = uniform(tuple(out64.shape), avoid=0)
        result["cotangent"] = [float(v) for v in cot.reshape(-1)]
        diffs = [t for t in t64 if t.requires_grad]
        grads = torch.autograd.grad(out64, diffs, grad_outputs=torch.tensor(cot), allow_unused=True)
        it = iter(grads)
        result["gradients"] = [None if not t.requires_grad else
                               (lambda g, t=t: [float(v) for v in (g if g is not None else torch.zeros_like(t)).reshape(-1)])(next(it))
                               for t in t64]
    cases.append(result)


# Unary functions: spec "unary" with the function's Parity name and constants.
unary = [
    ("negate", {}, torch.neg, None), ("abs", {}, torch.abs, None),
    ("exp", {}, torch.exp, None), ("log", {}, torch.log, (0.1, 3.0)),
    ("sqrt", {}, torch.sqrt, (0.1, 3.0)), ("square", {}, torch.square, None),
    ("reciprocal", {}, torch.reciprocal, None), ("tanh", {}, torch.tanh, None),
    ("sigmoid", {}, torch.sigmoid, None), ("relu", {}, torch.relu, None),
    ("silu", {}, F.silu, None), ("softsign", {}, F.softsign, None), ("selu", {}, F.selu, None),
    ("clip", {"lower": 0.0, "upper": 6.0}, F.relu6, (-3.0, 9.0)),
    ("leakyRelu", {"slope": 0.01}, lambda x: F.leaky_relu(x, 0.01), None),
    ("leakyRelu", {"slope": 0.3}, lambda x: F.leaky_relu(x, 0.3), None),
    ("elu", {"alpha": 1.0}, F.elu, None), ("elu", {"alpha": 0.5}, lambda x: F.elu(x, 0.5), None),
    ("gelu", {"approximate": False}, F.gelu, None),
    ("gelu", {"approximate": True}, lambda x: F.gelu(x, approximate="tanh"), None),
    ("softplus", {"beta": 1.0, "threshold": 20.0}, F.softplus, None),
    ("softplus", {"beta": 2.0, "threshold": 3.0}, lambda x: F.softplus(x, beta=2.0, threshold=3.0), None),
    ("hardSigmoid", {}, F.hardsigmoid, (-4.0, 4.0)),
    ("linearHardSigmoid", {"slope": 0.2, "offset": 0.5}, lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0), (-4.0, 4.0)),
    ("hardSwish", {}, F.hardswish, (-4.0, 4.0)),
    ("celu", {"alpha": 1.0}, F.celu, None), ("celu", {"alpha": 0.7}, lambda x: F.celu(x, 0.7), None),
    ("logSigmoid", {}, F.logsigmoid, None), ("mish", {}, F.mish, None), ("tanhShrink", {}, F.tanhshrink, None),
    ("softShrink", {"threshold": 0.5}, F.softshrink, None), ("hardShrink", {"threshold": 0.5}, F.hardshrink, None),
]
for fname, params, fn, domain in unary:
    low, high = domain or (-2.0, 2.0)
    x = uniform((3, 7), low, high)
    if fname in ("clip", "hardSigmoid", "hardSwish", "linearHardSigmoid"):  # away from the kinks
        x = np.where(np.min(np.abs(x[..., None] - np.array([-3.0, -2.5, 0.0, 2.5, 3.0, 6.0])), axis=-1) < 0.05, x + 0.1, x)
    if fname in ("softShrink", "hardShrink"):  # away from the kinks at ±threshold
        x = np.where(np.abs(np.abs(x) - 0.5) < 0.05, x + 0.1, x)
    if fname == "softplus" and params["beta"] == 2.0:
        x = np.where(np.abs(2 * x - 3.0) < 0.05, x + 0.1, x)
    label = fname + "".join(f"_{k}={v:.4g}" for k, v in params.items())
    case(f"unary {label}", {"op": "unary", "function": fname, **params}, [x], fn)

binary = [("add", torch.add), ("subtract", torch.sub), ("multiply", torch.mul), ("divide", torch.div),
          ("maximum", torch.maximum), ("minimum", torch.minimum), ("power", torch.pow)]
for fname, fn in binary:
    for sa, sb in [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((4,), ())]:
        a = uniform(sa, 0.1, 2.0) if fname == "power" else uniform(sa)
        b = uniform(sb)
        case(f"binary {fname} {list(sa)}x{list(sb)}", {"op": "binary", "function": fname}, [a, b], fn)
for fname, fn in [("greater", torch.gt), ("lessEqual", torch.le), ("equal", torch.eq)]:
    a = np.round(uniform((3, 4)))
    b = np.round(uniform((4,)))
    case(f"compare {fname}", {"op": "binary", "function": fname}, [a, b], lambda x, y, fn=fn: fn(x, y).to(x.dtype),
         grad="a comparison: piecewise constant, torch gives no gradient")

for sa, sb in [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (3, 4, 2)), ((5, 17), (17, 19))]:
    case(f"matmul {list(sa)}x{list(sb)}", {"op": "matmul"}, [uniform(sa), uniform(sb)], torch.matmul)
case("fused linear", {"op": "fusedLinear"}, [uniform((3, 6)), uniform((6, 4)), uniform((4,))],
     lambda x, w, b: x @ w + b)
case("fused linear + tanh", {"op": "fusedLinear", "activation": "tanh"}, [uniform((2, 3, 6)), uniform((6, 4)), uniform((4,))],
     lambda x, w, b: torch.tanh(x @ w + b))
case("multiply-add", {"op": "multiplyAdd"}, [uniform((2, 3)), uniform((3,)), uniform((2, 1))], lambda a, b, c: a * b + c)
case("where", {"op": "where"}, [np.round(rng.uniform(0, 1, (2, 3))), uniform((2, 3)), uniform((3,))],
     lambda c, a, b: torch.where(c != 0, a, b))

for kind, fn in [("sum", torch.sum), ("mean", torch.mean), ("max", torch.amax), ("min", torch.amin)]:
    for axes, keep in [([1], False), ([0, 2], True), ([], False), ([-1], True)]:
        x = uniform((2, 3, 4))
        dims = axes if axes else [0, 1, 2]
        case(f"reduce {kind} axes={axes} keep={keep}", {"op": "reduce", "kind": kind, "axes": axes, "keepDims": keep},
             [x], lambda t, fn=fn, dims=dims, keep=keep: fn(t, dim=dims, keepdim=keep))

case("softmax axis=1", {"op": "softmax", "axis": 1, "logarithm": False}, [uniform((2, 5, 3))], lambda x: torch.softmax(x, 1))
case("log softmax axis=-1", {"op": "softmax", "axis": -1, "logarithm": True}, [uniform((4, 6))], lambda x: torch.log_softmax(x, -1))

case("reshape", {"op": "reshape", "shape": [3, -1]}, [uniform((2, 3, 2))], lambda x: x.reshape(3, -1))
case("permute", {"op": "permute", "order": [2, 0, 1]}, [uniform((2, 3, 4))], lambda x: x.permute(2, 0, 1))
case("broadcast", {"op": "broadcast", "shape": [2, 3, 4]}, [uniform((3, 1))], lambda x: x.expand(2, 3, 4))
case("sum to shape", {"op": "sumToShape", "shape": [3, 1]}, [uniform((2, 3, 4))], lambda x: x.sum(dim=(0, 2)).reshape(3, 1))
case("concat axis=1", {"op": "concat", "axis": 1}, [uniform((2, 1, 3)), uniform((2, 4, 3)), uniform((2, 2, 3))],
     lambda a, b, c: torch.cat([a, b, c], 1))
case("slice steps", {"op": "slice", "axes": [[1, None, 2], [None, None, 1], [3, 0, -1]]}, [uniform((5, 2, 6))],
     lambda x: x[1::2, :, :].flip(-1)[:, :, 2:5])
case("pad", {"op": "pad", "before": [1, 0, 2], "after": [0, 2, 1], "value": 0.5}, [uniform((2, 3, 2))],
     lambda x: F.pad(x, (2, 1, 0, 2, 1, 0), value=0.5))
case("gather axis=1", {"op": "gather", "axis": 1}, [uniform((2, 5, 3)), indices((2, 4), 5)],
     lambda x, i: x[:, i, :])
def embed_slice(g):
    out = torch.zeros((5, 2, 6), dtype=g.dtype)
    out[1::2, :, 1:4] = g.flip(-1)
    return out


case("embed slice", {"op": "embedSlice", "shape": [5, 2, 6], "axes": [[1, None, 2], [None, None, 1], [3, 0, -1]]},
     [uniform((2, 2, 3))], embed_slice)
scatter_index = indices((2, 4), 5)
case("scatter add axis=1", {"op": "scatterAdd", "axis": 1, "shape": [2, 5, 3]}, [uniform((2, 2, 4, 3)), scatter_index],
     lambda src, i: torch.zeros((2, 5, 3), dtype=src.dtype).index_add(1, i.reshape(-1), src.reshape(2, 8, 3)))
case("cast to float32", {"op": "cast", "dtype": "float32"}, [uniform((2, 3))], lambda x: x.to(torch.float32).to(x.dtype),
     grad="the torch function rounds through float32 and back (an identity gradient), Parity's op ends in float32; the cast VJP is checked by the ATen _to_copy rows")

meta = {
    "generator": "scripts/make_engine_fixtures.py (generated, do not edit)",
    "torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
    "platform": platform.platform(),
}
with open("Tests/Fixtures/engine/ops.json", "w") as f:
    json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases with torch {torch.__version__}")
