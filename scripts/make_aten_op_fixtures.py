#!/usr/bin/env python3
"""Generates the ATen operator table of Tests/Fixtures/torch/:

  aten_ops_<file>.json  (math, math_more, shapes, shapes_more, factories, nn, pooling, backward, complex, upsampling)
                  one row per operator call: the target (`aten.add.Tensor`), its arguments by schema name,
                  the input tensors, PyTorch's outputs in float32 and float64 and, for differentiable rows,
                  the vector-Jacobian product of a fixed cotangent (see `cotangent`) in float64 (torch.autograd), so that
                  Parity's forward and VJP are checked against the real operators, one call at a time.
  core_aten_ir.json  the Core ATen IR: every operator overload tagged `core` in this PyTorch
                  (`torch.Tag.core` in native_functions.yaml);
  docs/aten-operators.md  that list with each operator's status.

Generated, do not edit. Run by hand in the reference venv:
    ~/venv-ref/bin/python scripts/make_aten_op_fixtures.py

Row syntax: `row(target, name=value, ...)` with values
  F(shape, lo, hi)   a float tensor, uniform in [lo, hi) (float32-exact values, also used in float64)
  C(shape, lo, hi)   a complex64 tensor, real and imaginary parts each like F (complex128 in the float64 run)
  I(shape, lo, hi)   an int64 tensor in [lo, hi);  B(shape) a bool tensor;  T(tensor) a literal tensor
  [F(...), ...]      a list of tensors; None; Python ints, floats, bools, strings, lists of ints or bools;
  torch dtypes (ScalarType).
Options: grad="reason" (no gradient check, and why; rows without a float input or a float output get their reason
without saying it), grad_wrt=[names], reference=... (what torch.autograd differentiates where the operator itself
takes no gradient in torch: another target called with the same arguments, or a function of them), tol32=(atol, rtol),
defined=False (the output's values are undefined, `empty`, or random: only its shape and dtype are recorded),
eager_only=True (a data-dependent output shape: Parity runs it eagerly, a traced graph refuses it).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch._decomp.decompositions  # noqa: F401  (backward kernels' references)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "torch")
DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs")
SCALAR_TYPES = {torch.uint8: 1, torch.int8: 2, torch.int16: 3, torch.int32: 4, torch.int64: 5, torch.float16: 6,
                torch.float32: 7, torch.float64: 8, torch.complex64: 10, torch.complex128: 11, torch.bool: 12, torch.bfloat16: 13}


class F:
    def __init__(self, shape, lo=-2.0, hi=2.0, special=None):
        self.shape, self.lo, self.hi, self.special = tuple(shape), lo, hi, special

    def make(self, g):
        t = torch.rand(self.shape, generator=g, dtype=torch.float64) * (self.hi - self.lo) + self.lo
        t = t.float()
        if self.special is not None:
            flat = t.reshape(-1)
            for i, v in enumerate(self.special):
                flat[i] = v
        return t


class C:
    def __init__(self, shape, lo=-2.0, hi=2.0):
        self.real, self.imag = F(shape, lo, hi), F(shape, lo, hi)

    def make(self, g):
        return torch.complex(self.real.make(g), self.imag.make(g))


class I:
    def __init__(self, shape, lo=0, hi=5, dtype=torch.int64):
        self.shape, self.lo, self.hi, self.dtype = tuple(shape), lo, hi, dtype

    def make(self, g):
        return torch.randint(self.lo, self.hi, self.shape, generator=g).to(self.dtype)


class B:
    def __init__(self, shape):
        self.shape = tuple(shape)

    def make(self, g):
        return torch.rand(self.shape, generator=g) > 0.5


class T:
    def __init__(self, tensor):
        self.tensor = tensor

    def make(self, g):
        return self.tensor.clone()


ROWS = []
# The table is several files, aten_ops_<FILE>.json, each under the repository's fixture size budget (200 KB).
FILE = "math"


class Device:
    def __init__(self, name):
        self.name = name


def row(target, grad=True, grad_wrt=None, tol32=None, defined=True, eager_only=False, reference=None, **args):
    ROWS.append(dict(file=FILE, target=target, args=args, grad=grad, grad_wrt=grad_wrt, tol32=tol32, defined=defined, eager_only=eager_only,
                     reference=reference))


S = (3, 4)
CONSTANT = "a constant of the input's shape: torch gives no gradient"
# ---- elementwise math -------------------------------------------------------------------------
FILE = "math"
for name in ["abs", "neg", "exp", "expm1", "sin", "cos", "tan", "atan", "sinh", "cosh", "asinh", "tanh", "sigmoid", "erf",
             "relu", "floor", "ceil", "round", "trunc", "sign", "square"]:
    row(f"aten.{name}.default", self=F(S, -2.5, 2.5))
for name in ["log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal"]:
    row(f"aten.{name}.default", self=F(S, 0.1, 3))
for name in ["asin", "acos", "atanh"]:
    row(f"aten.{name}.default", self=F(S, -0.9, 0.9))
row("aten.acosh.default", self=F(S, 1.1, 4))
row("aten.erfc.default", self=F(S, -2, 2))
row("aten.exp2.default", self=F(S, -3, 3))
row("aten.round.decimals", self=F(S, -30, 30), decimals=1)
row("aten.abs.default", self=I(S, -5, 5), grad=False)
row("aten.neg.default", self=I(S, -5, 5), grad=False)
row("aten.sign.default", self=I(S, -5, 5), grad=False)
row("aten.isnan.default", self=F(S, special=[math.nan, math.inf, -math.inf]), grad=False)
row("aten.isinf.default", self=F(S, special=[math.nan, math.inf, -math.inf]), grad=False)
row("aten.isfinite.default", self=F(S, special=[math.nan, math.inf, -math.inf]), grad=False)
row("aten.logical_not.default", self=F(S, special=[0.0, 0.0]), grad=False)
row("aten.bitwise_not.default", self=I(S, -9, 9), grad=False)
row("aten.bitwise_not.default", self=B(S), grad=False)
# ---- activations -------------------------------------------------------------------------------
FILE = "math"
row("aten.gelu.default", self=F(S, -3, 3))
row("aten.gelu.default", self=F(S, -3, 3), approximate="tanh")
row("aten.hardtanh.default", self=F(S, -3, 3), min_val=-0.5, max_val=2.0)
row("aten.leaky_relu.default", self=F(S, -3, 3), negative_slope=0.2)
row("aten.elu.default", self=F(S, -3, 3), alpha=0.7)
row("aten.silu.default", self=F(S, -3, 3))
row("aten.hardswish.default", self=F(S, -4, 4))
row("aten.hardsigmoid.default", self=F(S, -4, 4))
row("aten.softplus.default", self=F(S, -3, 3), beta=2.0, threshold=3.0)
row("aten.mish.default", self=F(S, -3, 3))
row("aten._softmax.default", self=F((2, 3, 4), -3, 3), dim=1, half_to_float=False)
row("aten._log_softmax.default", self=F((2, 3, 4), -3, 3), dim=-1, half_to_float=False)
# ---- binary arithmetic and comparisons ---------------------------------------------------------
FILE = "math"
A, Bb = F((2, 3, 4), -3, 3), F((3, 1), 0.5, 2)
row("aten.add.Tensor", self=A, other=Bb, alpha=2.5)
row("aten.add.Scalar", self=A, other=1.5, alpha=2)
row("aten.add.Tensor", self=I((2, 3), -5, 5), other=I((3,), -5, 5), grad=False)
row("aten.sub.Tensor", self=A, other=Bb)
row("aten.sub.Scalar", self=A, other=0.25)
row("aten.rsub.Scalar", self=A, other=2.0)
row("aten.mul.Tensor", self=A, other=Bb)
row("aten.mul.Scalar", self=A, other=-1.5)
row("aten.mul.Tensor", self=I((2, 3), -5, 5), other=0.5, grad=False)
row("aten.div.Tensor", self=A, other=Bb)
row("aten.div.Scalar", self=A, other=3.0)
row("aten.div.Tensor", self=I((2, 3), -9, 9), other=I((2, 3), 1, 4), grad=False)
row("aten.div.Tensor_mode", self=F((3, 5), -9, 9), other=F((3, 5), -3, 3), rounding_mode="floor")
row("aten.div.Tensor_mode", self=F((3, 5), -9, 9), other=F((3, 5), -3, 3), rounding_mode="trunc")
row("aten.div.Scalar_mode", self=I((3, 5), -9, 9), other=2, rounding_mode="floor", grad=False)
row("aten.div.Scalar_mode", self=F((3, 5), -9, 9), other=-2.5, rounding_mode="trunc")
row("aten.remainder.Tensor", self=F((3, 5), -9, 9), other=F((3, 5), -3, 3), grad_wrt=["self"])
row("aten.remainder.Scalar", self=I((3, 5), -9, 9), other=4, grad=False)
row("aten.fmod.Tensor", self=F((3, 5), -9, 9), other=F((3, 5), 0.5, 3), grad_wrt=["self"])
row("aten.fmod.Scalar", self=F((3, 5), -9, 9), other=-2.5)
row("aten.floor_divide.default", self=I((3, 5), -9, 9), other=I((3, 5), 1, 4), grad=False)
row("aten.atan2.default", self=A, other=Bb)
row("aten.atan2.out", self=A, other=Bb, out=F((2, 3, 4)), grad_wrt=["self", "other"], reference="aten.atan2.default")  # out= takes no gradient in torch
row("aten.pow.Tensor_Scalar", self=F(S, 0.2, 2), exponent=2.5)
row("aten.pow.Tensor_Scalar", self=F(S, -2, 2), exponent=3)
row("aten.pow.Tensor_Scalar", self=F(S, 0.2, 2), exponent=-0.5)
row("aten.pow.Tensor_Scalar", self=I(S, -3, 4), exponent=2, grad=False)
row("aten.pow.Tensor_Tensor", self=F(S, 0.2, 2), exponent=F(S, -1.5, 1.5))
row("aten.pow.Scalar", self=2.5, exponent=F(S, -1.5, 1.5))
row("aten.maximum.default", self=A, other=Bb)
row("aten.minimum.default", self=A, other=Bb)
row("aten.maximum.default", self=F(S, special=[math.nan, 1.0]), other=F(S, special=[0.0, math.nan]),
    grad="NaN propagation (NaN inputs); the gradient is checked by the row above")
row("aten.clamp.default", self=F(S, -3, 3), min=-1.0, max=0.5)
row("aten.clamp.default", self=F(S, -3, 3), min=-1.0)
row("aten.clamp.Tensor", self=F(S, -3, 3), min=F((4,), -2, 0), max=F((3, 1), 0, 2))
row("aten.clamp_min.default", self=F(S, -3, 3), min=0.25)
for cmp in ["eq", "ne", "lt", "le", "gt", "ge"]:
    row(f"aten.{cmp}.Tensor", self=F((3, 4), -2, 2, special=[1.0, 0.5]), other=F((4,), -2, 2, special=[1.0, math.nan]), grad=False)
    row(f"aten.{cmp}.Scalar", self=I((3, 4), -3, 3), other=1, grad=False)
row("aten.eq.Scalar", self=F(S, special=[0.1, 0.30000001192092896]), other=0.1, grad=False)
for op in ["bitwise_and", "bitwise_or", "bitwise_xor"]:
    row(f"aten.{op}.Tensor", self=I(S, -8, 8), other=I((4,), -8, 8), grad=False)
    row(f"aten.{op}.Tensor", self=B(S), other=B(S), grad=False)
    row(f"aten.{op}.Scalar", self=I(S, -8, 8), other=5, grad=False)
row("aten.__and__.Tensor", self=B(S), other=B((4,)), grad=False)
row("aten.__and__.Scalar", self=I(S, -8, 8), other=6, grad=False)
row("aten.__or__.Scalar", self=I(S, -8, 8), other=5, grad=False)
row("aten.__xor__.Tensor", self=B(S), other=B(S), grad=False)
row("aten.__xor__.Scalar", self=I(S, -8, 8), other=3, grad=False)
for op in ["__lshift__", "__rshift__", "bitwise_left_shift", "bitwise_right_shift"]:
    row(f"aten.{op}.Tensor", self=I(S, -50, 50), other=I(S, 0, 5), grad=False)
    row(f"aten.{op}.{'Tensor_Scalar' if op.startswith('bitwise') else 'Scalar'}", self=I(S, -50, 50), other=2, grad=False)
row("aten.__or__.Tensor", self=B(S), other=B(S), grad=False)
for op in ["logical_and", "logical_or", "logical_xor"]:
    row(f"aten.{op}.default", self=F(S, -1, 1, special=[0.0]), other=I(S, 0, 2), grad=False)
row("aten.where.self", condition=B(S), self=F(S), other=F((4,)))
row("aten.where.ScalarOther", condition=B(S), self=F(S), other=-1.5, grad_wrt=["self"])
row("aten.where.self", condition=B(S), self=I(S, -5, 5), other=I(S, -5, 5), grad=False)
row("aten.masked_fill.Scalar", self=F(S), mask=B((4,)), value=-math.inf, grad_wrt=["self"])
row("aten.masked_fill.Scalar", self=F(S), mask=B(S), value=2.5)
row("aten.masked_fill.Tensor", self=F(S), mask=B(S), value=T(torch.tensor(0.75)), grad_wrt=["self"])
# ---- reductions ----------------------------------------------------------------------------------
FILE = "math"
X = F((2, 3, 4), -2, 2)
row("aten.sum.dim_IntList", self=X, dim=[0, 2], keepdim=True)
row("aten.sum.default", self=X)
row("aten.sum.dim_IntList", self=I((2, 3), -5, 5), dim=[1], grad=False)
row("aten.sum.dim_IntList", self=B((2, 3)), dim=[1], grad=False)
row("aten.mean.dim", self=X, dim=[-1])
row("aten.mean.default", self=X)
row("aten.amax.default", self=X, dim=[1])
row("aten.amin.default", self=X, dim=[0, 2], keepdim=True)
row("aten.prod.default", self=F((2, 3), 0.5, 1.5))
row("aten.prod.dim_int", self=F((2, 3, 4), 0.5, 1.5), dim=1, keepdim=True)
row("aten.var.correction", self=X, dim=[1], correction=1, keepdim=True)
row("aten.var.correction", self=X, dim=None, correction=0)
row("aten.var.dim", self=X, dim=[2], unbiased=False)
row("aten.std.dim", self=X, dim=[1])
row("aten.max.dim", self=X, dim=1)
row("aten.min.dim", self=X, dim=-1, keepdim=True)
row("aten.argmax.default", self=X, dim=1, grad=False)
row("aten.argmin.default", self=X, grad=False)
row("aten.argmax.default", self=I((3, 4), 0, 3), dim=1, keepdim=True, grad=False)
row("aten.any.default", self=B((3, 4)), grad=False)
row("aten.any.dim", self=F((3, 4), special=[0.0] * 8), dim=1, grad=False)
row("aten.any.dims", self=B((2, 3, 4)), dim=[0, 2], grad=False)
row("aten.all.dim", self=B((3, 4)), dim=0, grad=False)
row("aten.cumsum.default", self=X, dim=1)
row("aten.cumsum.default", self=I((2, 5), 0, 3), dim=1, grad=False)
row("aten.cumprod.default", self=F((2, 5), 0.5, 1.5), dim=1)
row("aten.diff.default", self=F((3, 5)), n=2, dim=1, prepend=F((3, 1)), append=F((3, 2)))
row("aten.diff.default", self=I((4, 3), -5, 5), dim=0, grad=False)
row("aten.diff.default", self=B((2, 5)), grad=False)
row("aten.logsumexp.default", self=X, dim=[1])
row("aten.linalg_vector_norm.default", self=X, ord=2, dim=[-1])
row("aten.linalg_vector_norm.default", self=X, ord=1.5, dim=[0, 1], keepdim=True)
row("aten.sort.default", self=F((3, 6), special=[0.5, 0.5, -1.0]), dim=1, grad_wrt=["self"])
row("aten.sort.default", self=F((3, 6)), dim=0, descending=True)
row("aten.sort.stable", self=F((2, 5), special=[1.0, 1.0, math.nan, 1.0]), stable=True, dim=1, grad_wrt=["self"])
row("aten.topk.default", self=F((3, 6)), k=3, dim=1)
row("aten.topk.default", self=F((3, 6)), k=2, dim=0, largest=False)
# ---- shapes and indexing ---------------------------------------------------------------------------
FILE = "shapes"
row("aten.view.default", self=X, size=[4, -1])
row("aten.reshape.default", self=X, shape=[3, 8])
row("aten.permute.default", self=X, dims=[2, 0, 1])
row("aten.transpose.int", self=X, dim0=0, dim1=2)
row("aten.unsqueeze.default", self=X, dim=-1)
row("aten.squeeze.dim", self=F((2, 1, 3)), dim=1)
row("aten.squeeze.dims", self=F((1, 2, 1, 3)), dim=[0, 2])
row("aten.expand.default", self=F((3, 1)), size=[2, 3, 4])
row("aten.flatten.using_ints", self=X, start_dim=1)
row("aten.unflatten.int", self=F((2, 12)), dim=1, sizes=[3, -1])
row("aten.cat.default", tensors=[F((2, 3)), F((2, 1)), F((2, 2))], dim=1)
row("aten.stack.default", tensors=[F((2, 3)), F((2, 3))], dim=1)
row("aten.split_with_sizes.default", self=F((5, 3)), split_sizes=[2, 3])
row("aten.split.Tensor", self=F((7, 3)), split_size=3)
row("aten.chunk.default", self=F((3, 7)), chunks=3, dim=1)
row("aten.unbind.int", self=F((3, 2)), dim=1)
row("aten.slice.Tensor", self=F((6, 5)), dim=1, start=1, end=-1, step=2)
row("aten.select.int", self=X, dim=1, index=-1)
row("aten.narrow.default", self=F((6, 5)), dim=0, start=2, length=3)
row("aten.roll.default", self=F((3, 5)), shifts=[2, -1], dims=[1, 0])
row("aten.flip.default", self=X, dims=[0, 2])
row("aten.repeat.default", self=F((2, 3)), repeats=[2, 1, 2])
row("aten.tril.default", self=F((4, 5)), diagonal=1)
row("aten.triu.default", self=F((2, 4, 5)), diagonal=-1)
row("aten.diagonal.default", self=F((3, 4, 5)), offset=1, dim1=1, dim2=2)
row("aten.swapaxes.default", self=X, axis0=0, axis1=1)
row("aten.movedim.int", self=X, source=0, destination=2)
row("aten.expand_as.default", self=F((3, 1)), other=F((2, 3, 4)), grad_wrt=["self"])
row("aten.repeat_interleave.self_int", self=F((2, 3)), repeats=2, dim=1)
row("aten.pixel_shuffle.default", self=F((1, 8, 2, 3)), upscale_factor=2)
row("aten.pixel_unshuffle.default", self=F((1, 2, 4, 6)), downscale_factor=2)
row("aten.channel_shuffle.default", self=F((1, 6, 2, 2)), groups=3)
row("aten.as_strided.default", self=F((4, 5)), size=[3, 3], stride=[5, 2], storage_offset=1)
row("aten.as_strided.default", self=F((12,)), size=[3, 4], stride=[2, 1])  # overlapping windows
row("aten.unfold.default", self=F((2, 7)), dimension=1, size=3, step=2)
row("aten.index_select.default", self=X, dim=1, index=T(torch.tensor([2, 0, 2])))
row("aten.gather.default", self=F((3, 4)), dim=1, index=I((3, 2), 0, 4))
row("aten.index.Tensor", self=X, indices=[None, I((2, 2), -3, 3)])
row("aten.index.Tensor", self=X, indices=[I((5,), 0, 2), None, I((5,), 0, 4)])
row("aten.index.Tensor", self=X, indices=[I((2, 1), 0, 2), I((3,), 0, 3)])
row("aten.nonzero.default", self=T(torch.tensor([[0.0, 1.5, 0.0, -2.0], [0.0, 0.0, 0.0, 0.0], [math.nan, 0.0, 3.0, 0.0]])), grad=False,
    eager_only=True)
row("aten.nonzero.default", self=I((2, 3, 2), 0, 2), grad=False, eager_only=True)
row("aten.resize_.default", self=F((3, 4)), size=[2, 5], grad="torch.autograd refuses to resize a tensor that requires grad")
row("aten.resize_.default", self=F((2, 3)), size=[4, 2], grad=False, defined=False)  # grows: the new elements are uninitialised
row("aten.index_put.default", self=F((4, 3)), indices=[T(torch.tensor([0, 2]))], values=F((2, 3)))
row("aten.index_put.default", self=F((4, 3)), indices=[T(torch.tensor([1, 1, 3]))], values=F((3, 3)), accumulate=True)
row("aten.scatter.src", self=F((3, 5)), dim=1, index=T(torch.tensor([[0, 2], [4, 1], [3, 0]])), src=F((3, 2)))  # unique per row: duplicates are undefined
row("aten.scatter.value", self=F((3, 5)), dim=0, index=T(torch.tensor([[0, 2, 1]])), value=9.0, grad_wrt=["self"])
row("aten.scatter_add.default", self=F((3, 5)), dim=1, index=T(torch.tensor([[0, 0], [4, 1], [3, 3]])), src=F((3, 2)))
# scatter_reduce: every reduction, with and without self; duplicate targets and untouched positions.
SR_INDEX = T(torch.tensor([[0, 2, 0, 4], [1, 1, 3, 1], [2, 0, 2, 2]]))
for reduce in ["sum", "mean", "prod", "amax", "amin"]:
    for include_self in [True, False]:
        lo = 0.5 if reduce == "prod" else -2
        row("aten.scatter_reduce.two", self=F((3, 5), lo, 2), dim=1, index=SR_INDEX, src=F((3, 4), lo, 2), reduce=reduce, include_self=include_self)
# ties: amax/amin share the gradient among equal elements (self included)
row("aten.scatter_reduce.two", self=T(torch.tensor([[1.0, 2.0], [0.5, 3.0]])), dim=0, index=T(torch.tensor([[0, 1], [0, 1], [1, 1]])),
    src=T(torch.tensor([[1.0, 3.0], [1.0, -1.0], [0.25, 3.0]])), reduce="amax")
row("aten.scatter_reduce.two", self=I((3, 4), -9, 9), dim=0, index=T(torch.tensor([[0, 2, 1, 0], [0, 0, 1, 1]])), src=I((2, 4), -9, 9),
    reduce="mean", grad=False)
row("aten.masked_scatter.default", self=F((3, 4)), mask=B((4,)), source=F((13,)))
row("aten.slice_scatter.default", self=F((5, 4)), src=F((2, 4)), dim=0, start=1, end=5, step=2)
row("aten.select_scatter.default", self=F((3, 4)), src=F((3,)), dim=1, index=2)
row("aten.embedding.default", weight=F((6, 3)), indices=I((2, 4), 0, 6))
row("aten.constant_pad_nd.default", self=F((2, 3, 4)), pad=[1, 2, -1, 1], value=0.5)
# _embedding_bag: modes 0 sum, 1 mean, 2 max; an empty bag; padding_idx; per-sample weights; include_last_offset.
BAG = T(torch.tensor([1, 2, 4, 5, 4, 3, 2, 0]))
row("aten._embedding_bag.default", weight=F((6, 3)), indices=BAG, offsets=T(torch.tensor([0, 2, 2, 5])), mode=0)
row("aten._embedding_bag.default", weight=F((6, 3)), indices=BAG, offsets=T(torch.tensor([0, 2, 2, 5])), mode=0, padding_idx=2)
row("aten._embedding_bag.default", weight=F((6, 3)), indices=BAG, offsets=T(torch.tensor([0, 3, 3, 8])), mode=1, include_last_offset=True)
row("aten._embedding_bag.default", weight=F((6, 3)), indices=BAG, offsets=T(torch.tensor([0, 2, 2, 5])), mode=1, padding_idx=4)
row("aten._embedding_bag.default", weight=F((6, 3)), indices=BAG, offsets=T(torch.tensor([0, 2, 2, 5])), mode=2)
row("aten._embedding_bag.default", weight=F((6, 3)), indices=BAG, offsets=T(torch.tensor([0, 1, 5])), mode=2, padding_idx=2)
row("aten._embedding_bag.default", weight=F((6, 3)), indices=BAG, offsets=T(torch.tensor([0, 4])), mode=0, per_sample_weights=F((8,)))
row("aten._embedding_bag_forward_only.default", weight=F((6, 3)), indices=BAG, offsets=T(torch.tensor([0, 2, 2, 5])), mode=1,
    grad="a forward-only kernel: torch defines no derivative (the _embedding_bag rows check it)")
# ---- factories and conversions ----------------------------------------------------------------------
FILE = "factories"
row("aten.arange.start_step", start=1, end=10, step=3, grad=False)
row("aten.arange.start_step", start=0.5, end=2.0, step=0.25, grad=False)
row("aten.arange.default", end=5, grad=False)
row("aten.full.default", size=[2, 3], fill_value=1.5, grad=False)
row("aten.full.default", size=[2, 3], fill_value=7, dtype=torch.int64, grad=False)
row("aten.full_like.default", self=F((2, 3)), fill_value=-2.0, grad=CONSTANT)
row("aten.zeros.default", size=[2, 2], grad=False)
row("aten.ones.default", size=[3], dtype=torch.int64, grad=False)
row("aten.zeros_like.default", self=I((2, 3)), grad=False)
row("aten.ones_like.default", self=F((2, 3)), grad=CONSTANT)
row("aten.new_ones.default", self=F((2, 3)), size=[4], dtype=torch.bool, grad=False)
row("aten.new_zeros.default", self=I((2, 3)), size=[2, 2], grad=False)
row("aten.scalar_tensor.default", s=2.5, grad=False)
row("aten.fill.Scalar", self=F((2, 3)), value=4.0, grad=CONSTANT)
row("aten._to_copy.default", self=F(S, -300, 300), dtype=torch.int64, grad=False)
row("aten._to_copy.default", self=F(S, -3, 3), dtype=torch.float16)
row("aten._to_copy.default", self=F(S, -3, 3), dtype=torch.bfloat16)
row("aten._to_copy.default", self=F(S, -1, 1, special=[0.0, math.nan]), dtype=torch.bool, grad=False)
row("aten._to_copy.default", self=I(S, -3000000000, 3000000000), dtype=torch.int32, grad=False)
row("aten._to_copy.default", self=F(S), dtype=torch.float64)
row("aten.to.dtype", self=B(S), dtype=torch.float32, grad=False)
row("aten.type_as.default", self=I(S, -5, 5), other=F((2,)), grad="the float output is an integer input cast: no float input reaches it")
row("aten.clone.default", self=X)
row("aten.copy.default", self=F((2, 3)), src=F((3,)), reference="aten.copy_.default")  # torch has no derivative for aten.copy
row("aten.alias.default", self=X)
# ---- linear algebra -------------------------------------------------------------------------------------
FILE = "nn"
row("aten.mm.default", self=F((3, 5)), mat2=F((5, 2)))
row("aten.bmm.default", self=F((2, 3, 5)), mat2=F((2, 5, 2)))
row("aten.addmm.default", self=F((2,)), mat1=F((3, 5)), mat2=F((5, 2)), beta=0.5, alpha=2.0)
row("aten.baddbmm.default", self=F((2, 3, 2)), batch1=F((2, 3, 5)), batch2=F((2, 5, 2)), beta=0.5, alpha=-1.0)
row("aten.matmul.default", self=F((5,)), other=F((2, 5, 3)))
row("aten.linear.default", input=F((2, 3, 5)), weight=F((4, 5)), bias=F((4,)))
row("aten.einsum.default", equation="bij,bjk->bik", tensors=[F((2, 3, 4)), F((2, 4, 5))])
row("aten.einsum.default", equation="bhqd,bhkd->bhqk", tensors=[F((1, 2, 3, 4)), F((1, 2, 5, 4))])
row("aten.einsum.default", equation="i,j->ij", tensors=[F((3,)), F((4,))])
row("aten.einsum.default", equation="...ij->...ji", tensors=[F((2, 3, 4))])
row("aten.einsum.default", equation="bij,jk", tensors=[F((2, 3, 4)), F((4, 5))])
FILE = "math"
row("aten._cdist_forward.default", x1=F((2, 3, 4)), x2=F((2, 5, 4)), p=2.0, compute_mode=None)
row("aten._cdist_forward.default", x1=F((4, 3)), x2=F((30, 3)), p=2.0, compute_mode=None)
row("aten._cdist_forward.default", x1=F((3, 4)), x2=F((2, 4)), p=1.0, compute_mode=None)
row("aten._cdist_forward.default", x1=F((3, 4)), x2=F((2, 4)), p=3.0, compute_mode=2)
row("aten._cdist_forward.default", x1=F((3, 4)), x2=F((2, 4)), p=math.inf, compute_mode=None)
row("aten._pdist_forward.default", self=F((4, 3)), p=2.0)
FILE = "nn"
row("aten.outer.default", self=F((3,)), vec2=F((4,)))
row("aten.scaled_dot_product_attention.default", query=F((1, 2, 4, 4)), key=F((1, 2, 5, 4)), value=F((1, 2, 5, 4)))
row("aten.scaled_dot_product_attention.default", query=F((1, 2, 4, 4)), key=F((1, 2, 4, 4)), value=F((1, 2, 4, 4)), is_causal=True)
row("aten.scaled_dot_product_attention.default", query=F((1, 1, 3, 4)), key=F((1, 1, 5, 4)), value=F((1, 1, 5, 4)),
    attn_mask=T(torch.tensor([[True, True, False, True, False]] * 3)), grad_wrt=["query", "key", "value"])
row("aten.scaled_dot_product_attention.default", query=F((1, 1, 3, 4)), key=F((1, 1, 5, 4)), value=F((1, 1, 5, 4)),
    attn_mask=F((3, 5), -1, 1), scale=0.3)
row("aten.scaled_dot_product_attention.default", query=F((1, 4, 3, 4)), key=F((1, 2, 3, 4)), value=F((1, 2, 3, 4)), enable_gqa=True)

# ---- more activations, arithmetic, reductions ---------------------------------------------------------
FILE = "math_more"
for name in ["relu", "sigmoid", "tanh", "selu", "log_sigmoid"]:
    row(f"aten.{name}.default", self=F(S, -3, 3))
row("aten.celu.default", self=F(S, -3, 3), alpha=0.5)
row("aten.prelu.default", self=F((2, 3, 4), -3, 3), weight=F((3,), 0, 0.5))
row("aten.hardshrink.default", self=F(S, -1, 1), lambd=0.3)
row("aten.softshrink.default", self=F(S, -1, 1), lambd=0.3)
row("aten.softmax.int", self=F((2, 5), -3, 3), dim=1)
row("aten.log_softmax.int", self=F((2, 5), -3, 3), dim=0)
row("aten.rsub.Tensor", self=A, other=Bb, alpha=0.5)
row("aten.true_divide.Tensor", self=A, other=Bb)
row("aten.floor_divide.Scalar", self=F((3, 5), -9, 9), other=2.5, grad="torch has no derivative for floor_divide (piecewise constant)")
row("aten.remainder.Scalar_Tensor", self=2.5, other=F((3, 5), 0.5, 3),  # torch has no derivative for this overload
    reference=("aten.remainder.Tensor with self a tensor of the scalar", lambda self, other: torch.ops.aten.remainder.Tensor(torch.full_like(other, self), other)))
row("aten.fmax.default", self=F(S, special=[math.nan, 1.0]), other=F(S, special=[0.0, math.nan]))
row("aten.fmin.default", self=F(S, special=[math.nan, 1.0]), other=F(S, special=[0.0, math.nan]))
row("aten.max.other", self=A, other=Bb)
row("aten.min.other", self=A, other=Bb)
row("aten.clamp_max.default", self=F(S, -3, 3), max=0.5)
row("aten.clip.default", self=F(S, -3, 3), min=-0.5, max=1.0)
row("aten.isposinf.default", self=F(S, special=[math.nan, math.inf, -math.inf]), grad=False)
row("aten.isneginf.default", self=F(S, special=[math.nan, math.inf, -math.inf]), grad=False)
row("aten.where.Scalar", condition=B(S), self=1.5, other=-2, grad=False)
row("aten.where.ScalarSelf", condition=B(S), self=0.5, other=F(S))
row("aten.max.default", self=X)
row("aten.min.default", self=X)
row("aten.all.default", self=F(S, special=[0.0]), grad=False)
row("aten.all.dims", self=B((2, 3, 4)), dim=[1], keepdim=True, grad=False)
row("aten.count_nonzero.default", self=F(S, special=[0.0, 0.0]), grad=False)
row("aten.count_nonzero.dim_IntList", self=I((3, 4), 0, 2), dim=[1], grad=False)
row("aten.norm.Scalar", self=X, p=3)
row("aten.norm.ScalarOpt_dim", self=X, p=2, dim=[1], keepdim=True)
row("aten.std.correction", self=X, dim=[2], correction=0)
row("aten.std.default", self=X)
row("aten.var.default", self=X, unbiased=False)
row("aten.addcmul.default", self=A, tensor1=F((3, 4)), tensor2=Bb, value=0.3)
row("aten.addcdiv.default", self=F(S), tensor1=F(S), tensor2=F(S, 0.5, 2), value=-1.5)
row("aten.dot.default", self=F((5,)), tensor=F((5,)))
row("aten.vdot.default", self=F((5,)), other=F((5,)))
row("aten.mv.default", self=F((3, 5)), vec=F((5,)))
# ---- more shapes ------------------------------------------------------------------------------------
FILE = "shapes_more"
row("aten._unsafe_view.default", self=X, size=[6, 4])
row("aten.view_as.default", self=X, other=F((4, 6)), grad_wrt=["self"])
row("aten.reshape_as.default", self=X, other=F((6, 4)), grad_wrt=["self"])
row("aten.t.default", self=F((3, 5)))
row("aten.swapdims.default", self=X, dim0=2, dim1=1)
row("aten.squeeze.default", self=F((1, 3, 1, 2)))
row("aten.tile.default", self=F((2, 3)), dims=[2])
row("aten.tensor_split.sections", self=F((7, 2)), sections=3)
row("aten.tensor_split.indices", self=F((2, 7)), indices=[1, 5], dim=1)
row("aten.hsplit.int", self=F((2, 6)), sections=3)
row("aten.vsplit.int", self=F((4, 3)), sections=2)
row("aten.split.sizes", self=F((2, 7)), split_size=[3, 4], dim=1)
row("aten.meshgrid.default", tensors=[F((3,)), F((4,))])
row("aten.meshgrid.indexing", tensors=[F((3,)), F((4,)), F((2,))], indexing="xy")
row("aten.meshgrid.indexing", tensors=[I((3,), 0, 9), T(torch.tensor(2))], indexing="ij", grad=False)
row("aten.atleast_1d.default", self=T(torch.tensor(1.5)))
row("aten.take_along_dim.default", self=F((3, 4)), indices=I((3, 2), 0, 4), dim=1)
row("aten.native_channel_shuffle.default", self=F((1, 6, 2, 2)), groups=2, reference="aten.channel_shuffle.default")  # torch has no derivative for it
row("aten.pad.default", self=F((1, 2, 3, 4)), pad=[1, 2, 2, 1], mode="reflect")
row("aten.pad.default", self=F((1, 2, 3, 4)), pad=[2, 1, 0, 1], mode="replicate")
row("aten.pad.default", self=F((1, 2, 3, 4)), pad=[1, 1, 1, 0], mode="circular")
row("aten.pad.default", self=F((2, 3, 4)), pad=[1, 2], value=-1.0)
row("aten.embedding.default", weight=F((6, 3)), indices=I((2, 4), 0, 6), padding_idx=2)
# ---- factories, copies and no-op nodes ------------------------------------------------------------------
FILE = "factories"
row("aten.arange.start", start=-2, end=3, grad=False)
row("aten.new_full.default", self=F((2, 3)), size=[2, 2], fill_value=3, grad=CONSTANT)
row("aten.fill.Tensor", self=F((2, 3)), value=T(torch.tensor(-0.5)))
row("aten.zero.default", self=F((2, 3)), grad=CONSTANT)
row("aten.empty.memory_format", size=[2, 3], defined=False, grad=False)
row("aten.empty_like.default", self=F((2, 3)), defined=False, grad=False)
row("aten.empty_strided.default", size=[2, 3], stride=[3, 1], defined=False, grad=False)
row("aten.new_empty.default", self=F((2, 3)), size=[3], defined=False, grad=False)
row("aten.new_empty_strided.default", self=F((2, 3)), size=[3, 2], stride=[2, 1], defined=False, grad=False)
row("aten.contiguous.default", self=X)
row("aten.detach.default", self=X, grad="detach: torch.autograd gives no gradient through it (the output does not require grad)")
row("aten.lift_fresh.default", self=X)
row("aten.lift_fresh_copy.default", self=X)
row("aten.resolve_conj.default", self=X)
row("aten.resolve_neg.default", self=X)
row("aten.to.device", self=F(S), device=Device("cpu"), dtype=torch.int64, grad=False)
row("aten.to.dtype_layout", self=I(S, -5, 5), dtype=torch.float32, grad=False)
row("aten.to.other", self=F(S, -5, 5), other=I((1,)), grad=False)
row("aten.to.prim_dtype", self=I(S, -5, 5), dtype=7, grad=False)
row("aten.to.prim_Device", self=F(S), device=Device("cpu"))
row("aten.dropout.default", input=X, p=0.3, train=False)
row("aten.native_dropout.default", input=X, p=0.3, train=False, grad_wrt=["input"])
row("aten.alpha_dropout.default", input=X, p=0.3, train=False)
row("aten.feature_dropout.default", input=X, p=0.3, train=False)
row("aten.feature_alpha_dropout.default", input=X, p=0.3, train=False)
row("aten._assert_async.default", self=T(torch.tensor(True)), grad=False)
row("aten._assert_async.msg", self=T(torch.tensor(True)), assert_msg="checked", grad=False)
row("aten._functional_assert_async.msg", self=T(torch.tensor(True)), assert_msg="checked", dep_token=T(torch.tensor([])), grad=False, defined=False)
row("aten._assert_scalar.default", self=True, assert_msg="checked", grad=False)
row("aten._assert_tensor_metadata.default", a=F((2, 3)), size=[2, 3], grad="an assertion: no output")
row("aten.sym_constrain_range.default", size=3, min=0, max=5, grad=False)
# random sampling: PyTorch's generator state is not in a .pt2, so only shape and dtype are compared (ATenOpTableTests
# checks Parity's support and moments).
row("aten.rand.default", size=[2, 3], grad=False, defined=False)
row("aten.randn.default", size=[5], dtype=torch.float64, grad=False, defined=False)
row("aten.randperm.default", n=6, grad=False, defined=False)
# ---- symbolic sizes (a dynamic_shapes export reads them from its inputs; the `dynamic_batch` model runs them end to end) ----
row("aten.sym_size.int", self=F((2, 3, 4)), dim=1, grad=False)
row("aten.sym_size.int", self=F((2, 3, 4)), dim=-1, grad=False)
row("aten.sym_numel.default", self=F((2, 3, 4)), grad=False)
row("aten.sym_stride.int", self=F((2, 3, 4)), dim=0, grad=False)
row("aten.sym_stride.int", self=F((2, 3, 4)), dim=-1, grad=False)
row("aten.sym_storage_offset.default", self=F((2, 3)), grad=False)
row("aten.sym_is_contiguous.default", self=F((2, 3)), grad=False)
row("aten._local_scalar_dense.default", self=F((1, 1)), grad="a Python number (`item()`): it leaves the autograd graph")
row("aten._local_scalar_dense.default", self=I((1,), -9, 9), grad=False)
row("aten.sym_constrain_range_for_size.default", size=3, min=2, grad=False)
# ---- in-place variants (run functionally; each returns its mutated first argument) -----------------------
FILE = "factories"
row("aten.relu_.default", self=F(S, -2, 2))
row("aten.hardswish_.default", self=F(S, -4, 4))
row("aten.add_.Tensor", self=F(S), other=F((4,)), alpha=2)
row("aten.mul_.Scalar", self=F(S), other=0.5)
row("aten.masked_fill_.Scalar", self=F(S), mask=B(S), value=-1.0)
row("aten.index_put_.default", self=F((4, 3)), indices=[T(torch.tensor([3, 0]))], values=F((3,)))
row("aten.copy_.default", self=F((2, 3)), src=I((3,), -4, 4))
row("aten.__iand__.Tensor", self=B(S), other=B(S), grad=False)
# ---- convolution, pooling, normalisation, upsampling, recurrent ------------------------------------------
FILE = "nn"
IMG = F((1, 4, 5, 4))
row("aten.convolution.default", input=IMG, weight=F((6, 2, 3, 2), -0.5, 0.5), bias=F((6,)), stride=[2, 1], padding=[1, 0],
    dilation=[1, 2], transposed=False, output_padding=[0, 0], groups=2)
row("aten.convolution.default", input=F((1, 4, 5)), weight=F((4, 3, 3), -0.5, 0.5), bias=None, stride=[2], padding=[1],
    dilation=[1], transposed=True, output_padding=[1], groups=1)
row("aten.conv1d.default", input=F((2, 3, 9)), weight=F((4, 3, 3), -0.5, 0.5), bias=F((4,)), stride=[2], padding=[1])
row("aten.conv2d.default", input=IMG, weight=F((4, 1, 3, 3), -0.5, 0.5), bias=F((4,)), padding=[1, 1], groups=4)
row("aten.conv2d.padding", input=IMG, weight=F((5, 4, 3, 2), -0.5, 0.5), padding="same", dilation=[2, 1])
row("aten.conv3d.default", input=F((1, 2, 4, 5, 3)), weight=F((3, 2, 2, 3, 2), -0.5, 0.5), bias=F((3,)), stride=[1, 2, 1])
row("aten.conv_transpose1d.default", input=F((1, 4, 5)), weight=F((4, 2, 3), -0.5, 0.5), bias=F((2,)), stride=[2], padding=[1], output_padding=[1])
row("aten.conv_transpose2d.input", input=F((1, 4, 3, 4)), weight=F((4, 1, 3, 3), -0.5, 0.5), bias=F((2,)), stride=[2, 1], groups=2, dilation=[1, 2])
row("aten.conv_transpose3d.input", input=F((1, 2, 2, 3, 2)), weight=F((2, 3, 2, 2, 2), -0.5, 0.5), bias=None, stride=[2, 1, 2])
FILE = "pooling"
row("aten.max_pool2d.default", self=IMG, kernel_size=[3, 2], stride=[2, 2], padding=[1, 1], ceil_mode=True)
row("aten.max_pool2d.default", self=IMG, kernel_size=[2, 2], dilation=[2, 1])
row("aten.max_pool2d.default", self=F((1, 4, 4), special=[1.0, 1.0, math.nan, 0.5, 1.0, 1.0]), kernel_size=[2, 2])  # ties, NaN: the gradient's one position
row("aten.avg_pool2d.default", self=IMG, kernel_size=[3, 3], stride=[2, 2], padding=[1, 1], count_include_pad=False, ceil_mode=True)
row("aten.avg_pool2d.default", self=IMG, kernel_size=[2, 3], divisor_override=5)
row("aten.adaptive_avg_pool2d.default", self=IMG, output_size=[3, 4])
FILE = "shapes_more"
row("aten.im2col.default", self=F((2, 3, 5, 4)), kernel_size=[3, 2], dilation=[1, 2], padding=[1, 0], stride=[2, 1])
row("aten.im2col.default", self=F((2, 4, 4)), kernel_size=[2, 2], dilation=[1, 1], padding=[0, 0], stride=[2, 2])
row("aten.col2im.default", self=F((2, 12, 6)), output_size=[5, 4], kernel_size=[3, 2], dilation=[1, 2], padding=[1, 0], stride=[2, 1])
row("aten.col2im.default", self=F((8, 4)), output_size=[4, 4], kernel_size=[2, 2], dilation=[1, 1], padding=[0, 0], stride=[2, 2])
FILE = "nn"
FILE = "pooling"
VOL = F((1, 2, 4, 5, 3))
row("aten.avg_pool3d.default", self=VOL, kernel_size=[2, 3, 2], stride=[2, 2, 1], padding=[1, 1, 0], ceil_mode=True, count_include_pad=False)
row("aten.avg_pool3d.default", self=VOL, kernel_size=[2, 2, 2], divisor_override=3)
row("aten.max_pool3d.default", self=VOL, kernel_size=[2, 2, 2], stride=[1, 2, 1], padding=[1, 0, 1])
row("aten.max_pool3d_with_indices.default", self=VOL, kernel_size=[3, 2, 2], stride=[1, 2, 1], padding=[1, 1, 0], dilation=[1, 2, 1])
row("aten._adaptive_avg_pool3d.default", self=VOL, output_size=[3, 2, 2])
row("aten.adaptive_avg_pool3d.default", self=VOL, output_size=[2, 3, 1])
FILE = "nn"
row("aten.adaptive_avg_pool1d.default", self=F((2, 3, 7)), output_size=[3])
row("aten._adaptive_avg_pool2d.default", self=F((1, 2, 7, 5)), output_size=[3, 2])
row("aten.max_pool2d_with_indices.default", self=IMG, kernel_size=[3, 2], stride=[2, 1], padding=[1, 1], ceil_mode=True)
row("aten.max_pool2d_with_indices.default", self=F((2, 5, 4), special=[0.5, 0.5, math.nan]), kernel_size=[2, 2], dilation=[1, 2])
FILE = "shapes_more"
row("aten.reflection_pad1d.default", self=F((2, 5)), padding=[2, 3])
row("aten.reflection_pad2d.default", self=F((1, 3, 4)), padding=[1, 2, 2, 0])
row("aten.reflection_pad3d.default", self=F((1, 1, 3, 2, 4)), padding=[1, 1, 0, 1, 2, 1])
row("aten.replication_pad1d.default", self=F((1, 2, 4)), padding=[3, 1])
row("aten.replication_pad2d.default", self=F((1, 2, 3, 2)), padding=[2, 0, 1, 3])
row("aten.replication_pad3d.default", self=F((1, 2, 2, 2)), padding=[1, 0, 2, 1, 1, 1])
FILE = "nn"
FILE = "shapes_more"
# grid_sampler_2d: every interpolation (0 bilinear, 1 nearest, 2 bicubic) and padding mode (0 zeros, 1 border,
# 2 reflection), points beyond [-1, 1] so that the padding matters.
for mode, padding, align in [(0, 0, False), (0, 0, True), (0, 1, False), (0, 2, False), (0, 2, True), (1, 0, False), (1, 1, True),
                             (1, 2, False), (2, 0, False), (2, 1, True), (2, 2, False), (2, 2, True)]:
    row("aten.grid_sampler_2d.default", input=F((2, 3, 4, 5)), grid=F((2, 3, 2, 2), -1.6, 1.6), interpolation_mode=mode,
        padding_mode=padding, align_corners=align)
row("aten.upsample_nearest2d.vec", input=F((1, 2, 3, 4)), output_size=[5, 7], scale_factors=None)
row("aten.upsample_nearest2d.vec", input=F((1, 2, 3, 4)), output_size=None, scale_factors=[2.0, 1.5])
row("aten._upsample_nearest_exact2d.vec", input=F((1, 2, 3, 4)), output_size=[5, 3], scale_factors=None)
row("aten.upsample_bilinear2d.vec", input=F((1, 2, 3, 4)), output_size=[5, 7], align_corners=False, scale_factors=None)
row("aten.upsample_bilinear2d.vec", input=F((1, 2, 3, 4)), output_size=None, align_corners=True, scale_factors=[2.0, 2.0])
row("aten.upsample_bicubic2d.vec", input=F((1, 2, 5, 4)), output_size=[7, 3], align_corners=False, scale_factors=None)
row("aten.upsample_bicubic2d.vec", input=F((1, 2, 3, 4)), output_size=None, align_corners=True, scale_factors=[2.0, 1.5])
row("aten._upsample_bicubic2d_aa.vec", input=F((1, 2, 6, 5)), output_size=[4, 8], align_corners=False, scale_factors=None)
row("aten._upsample_bicubic2d_aa.vec", input=F((1, 1, 9, 4)), output_size=[3, 4], align_corners=False, scale_factors=None)
FILE = "nn"
row("aten.batch_norm.default", input=IMG, weight=F((4,)), bias=F((4,)), running_mean=F((4,)), running_var=F((4,), 0.5, 2),
    training=False, momentum=0.1, eps=1e-5, cudnn_enabled=False, grad_wrt=["input", "weight", "bias"])
row("aten.batch_norm.default", input=F((1, 3, 12)), weight=None, bias=None, running_mean=None, running_var=None,
    training=True, momentum=0.0, eps=1e-6, cudnn_enabled=False)  # timm's weight standardisation
row("aten._native_batch_norm_legit_no_training.default", input=IMG, weight=F((4,)), bias=F((4,)), running_mean=F((4,)),
    running_var=F((4,), 0.5, 2), momentum=0.1, eps=1e-3, grad_wrt=["input", "weight", "bias"])
row("aten._native_batch_norm_legit.default", input=IMG, weight=F((4,)), bias=F((4,)), running_mean=F((4,)), running_var=F((4,), 0.5, 2),
    training=True, momentum=0.1, eps=1e-5, grad_wrt=["input", "weight", "bias"])
row("aten._native_batch_norm_legit.default", input=F((3, 2, 5)), weight=None, bias=None, running_mean=F((2,)), running_var=F((2,), 0.5, 2),
    training=False, momentum=0.1, eps=1e-3, grad_wrt=["input"])
row("aten._native_batch_norm_legit_functional.default", input=IMG, weight=F((4,)), bias=F((4,)), running_mean=F((4,)),
    running_var=F((4,), 0.5, 2), training=True, momentum=0.2, eps=1e-5, grad_wrt=["input", "weight", "bias"])
# ---- backward kernels run as forward functions (their own VJP is a second derivative) ------------------------
FILE = "pooling"
_g = torch.Generator().manual_seed(77)
_x = lambda *shape: (torch.rand(shape, generator=_g, dtype=torch.float64) * 4 - 2).float()
_img = _x(1, 4, 5, 4)
row("aten.avg_pool2d_backward.default", grad_output=F((1, 4, 3, 3)), self=T(_img), kernel_size=[3, 3], stride=[2, 2], padding=[1, 1],
    ceil_mode=True, count_include_pad=False, divisor_override=None, grad_wrt=["grad_output"])
row("aten.avg_pool2d_backward.default", grad_output=F((1, 4, 4, 2)), self=T(_img), kernel_size=[2, 3], stride=[1, 1], padding=[0, 0],
    ceil_mode=False, count_include_pad=True, divisor_override=5, grad_wrt=["grad_output"])
row("aten._adaptive_avg_pool2d_backward.default", grad_output=F((1, 4, 3, 2)), self=T(_img), grad_wrt=["grad_output"])
_pooled, _where = torch.ops.aten.max_pool2d_with_indices.default(_img, [3, 2], [2, 1], [1, 1], [1, 1], True)
row("aten.max_pool2d_with_indices_backward.default", grad_output=F(tuple(_pooled.shape)), self=T(_img), kernel_size=[3, 2], stride=[2, 1],
    padding=[1, 1], dilation=[1, 1], ceil_mode=True, indices=T(_where), grad_wrt=["grad_output"])
FILE = "backward"
row("aten.convolution_backward.default", grad_output=F((1, 6, 3, 2)), input=IMG, weight=F((6, 2, 3, 2), -0.5, 0.5), bias_sizes=[6],
    stride=[2, 1], padding=[1, 0], dilation=[1, 2], transposed=False, output_padding=[0, 0], groups=2, output_mask=[True, True, True])
row("aten.convolution_backward.default", grad_output=F((1, 3, 10)), input=F((1, 4, 5)), weight=F((4, 3, 3), -0.5, 0.5), bias_sizes=None,
    stride=[2], padding=[1], dilation=[1], transposed=True, output_padding=[1], groups=1, output_mask=[True, True, True])
row("aten.embedding_dense_backward.default", grad_output=F((2, 4, 3)), indices=T(torch.tensor([[1, 2, 4, 2], [0, 5, 2, 1]])), num_weights=6,
    padding_idx=-1, scale_grad_by_freq=False)
row("aten.embedding_dense_backward.default", grad_output=F((2, 4, 3)), indices=T(torch.tensor([[1, 2, 4, 2], [0, 5, 2, 1]])), num_weights=7,
    padding_idx=2, scale_grad_by_freq=True, grad_wrt=["grad_output"],
    reference=("torch._decomp's embedding_dense_backward (the operator's double backward ignores scale_grad_by_freq)",
               lambda **kw: torch._decomp.decompositions.embedding_dense_backward(**kw)))
_ln = _x(2, 3, 5)
_, _ln_mean, _ln_rstd = torch.ops.aten.native_layer_norm.default(_ln, [5], None, None, 1e-5)
row("aten.native_layer_norm_backward.default", grad_out=F((2, 3, 5)), input=T(_ln), normalized_shape=[5], mean=T(_ln_mean), rstd=T(_ln_rstd),
    weight=F((5,)), bias=F((5,)), output_mask=[True, True, True], grad_wrt=["grad_out", "weight"])
_, _ln_mean2, _ln_rstd2 = torch.ops.aten.native_layer_norm.default(_ln, [3, 5], None, None, 1e-5)
row("aten.native_layer_norm_backward.default", grad_out=F((2, 3, 5)), input=T(_ln), normalized_shape=[3, 5], mean=T(_ln_mean2), rstd=T(_ln_rstd2),
    weight=None, bias=None, output_mask=[True, False, False], grad_wrt=["grad_out"])
_gn = _x(2, 6, 5)
_, _gn_mean, _gn_rstd = torch.ops.aten.native_group_norm.default(_gn, None, None, 2, 6, 5, 3, 1e-5)
row("aten.native_group_norm_backward.default", grad_out=F((2, 6, 5)), input=T(_gn), mean=T(_gn_mean), rstd=T(_gn_rstd), weight=F((6,)),
    N=2, C=6, HxW=5, group=3, output_mask=[True, True, True],  # torch has no derivative for it
    reference=("torch._decomp's native_group_norm_backward", lambda **kw: torch._decomp.decompositions.native_group_norm_backward(
        kw["grad_out"], kw["input"], kw["mean"], kw["rstd"], kw["weight"], kw["N"], kw["C"], kw["HxW"], kw["group"], kw["output_mask"])))
row("aten.rms_norm.default", input=F((2, 3, 5)), normalized_shape=[5], weight=F((5,)), eps=1e-6)
row("aten.rms_norm.default", input=F((2, 3, 4), -0.01, 0.01), normalized_shape=[3, 4], weight=None, eps=None)
row("aten.avg_pool1d.default", self=F((2, 3, 9)), kernel_size=[3], stride=[2], padding=[1], ceil_mode=True, count_include_pad=False)
row("aten.avg_pool1d.default", self=F((3, 8)), kernel_size=[2])
row("aten.max_pool1d.default", self=F((2, 3, 9)), kernel_size=[3], stride=[2], padding=[1], ceil_mode=True)
row("aten.max_pool1d.default", self=F((3, 8), special=[1.0, 1.0, math.nan]), kernel_size=[2], dilation=[2])  # ties, NaN
row("aten._native_batch_norm_legit.no_stats", input=IMG, weight=F((4,)), bias=F((4,)), training=True, momentum=0.1, eps=1e-5)
row("aten._native_batch_norm_legit.no_stats", input=F((3, 2, 5)), weight=None, bias=None, training=True, momentum=0.1, eps=1e-3)
row("aten.instance_norm.default", input=F((2, 3, 4, 3)), weight=F((3,)), bias=F((3,)), running_mean=None, running_var=None,
    use_input_stats=True, momentum=0.1, eps=1e-5, cudnn_enabled=False)
row("aten.layer_norm.default", input=F((2, 3, 5)), normalized_shape=[3, 5], weight=F((3, 5)), bias=F((3, 5)), eps=1e-5)
row("aten.native_layer_norm.default", input=F((2, 3, 5)), normalized_shape=[5], weight=F((5,)), bias=None, eps=1e-6)
row("aten.group_norm.default", input=IMG, num_groups=2, weight=F((4,)), bias=F((4,)), eps=1e-5)
row("aten.native_group_norm.default", input=F((2, 6, 5)), weight=F((6,)), bias=F((6,)), N=2, C=6, HxW=5, group=3, eps=1e-5)
LSTM = [F((16, 3), -0.5, 0.5), F((16, 4), -0.5, 0.5), F((16,), -0.5, 0.5), F((16,), -0.5, 0.5)]
row("aten.lstm.input", input=F((2, 5, 3)), hx=[F((1, 2, 4)), F((1, 2, 4))], params=LSTM, has_biases=True, num_layers=1,
    dropout=0.0, train=False, bidirectional=False, batch_first=True)
row("aten.gru.input", input=F((5, 2, 3)), hx=F((2, 2, 4)), params=[F((12, 3), -0.5, 0.5), F((12, 4), -0.5, 0.5), F((12,), -0.5, 0.5), F((12,), -0.5, 0.5)] * 2,
    has_biases=True, num_layers=1, dropout=0.0, train=False, bidirectional=True, batch_first=False)
row("aten.rnn_tanh.input", input=F((2, 4, 3)), hx=F((2, 2, 4)), params=[F((4, 3), -0.5, 0.5), F((4, 4), -0.5, 0.5), F((4, 4), -0.5, 0.5), F((4, 4), -0.5, 0.5)],
    has_biases=False, num_layers=2, dropout=0.0, train=False, bidirectional=False, batch_first=True)
row("aten.rnn_relu.input", input=F((2, 4, 3)), hx=F((1, 2, 4)), params=[F((4, 3), -0.5, 0.5), F((4, 4), -0.5, 0.5), F((4,)), F((4,))],
    has_biases=True, num_layers=1, dropout=0.0, train=False, bidirectional=False, batch_first=True)

# ---- complex tensors and FFTs -------------------------------------------------------------------
FILE = "complex"
EPS32 = 2.0 ** -23


def fft_tol(n, scale=1.0, magnitude=2.0):
    """float32 bound of an FFT row, from the transform length n (the product of the transformed sizes): pocketfft's
    error is ‖ΔX‖₂ ≤ c·ε·log₂n·‖X‖₂ (c ≈ 1, here 3), and ‖X‖₂ = √n·‖x‖₂ ≤ n·√2·magnitude for n complex inputs whose parts
    are at most `magnitude`, scaled by the normalization; Parity's exact DFT adds half an ULP. Relative 1e-5 as for the
    other rows."""
    return (3 * EPS32 * max(1, math.ceil(math.log2(n))) * n * math.sqrt(2) * magnitude * scale + 1e-6, 1e-5)


row("aten._fft_c2c.default", self=C((4, 6)), dim=[1], normalization=0, forward=True, tol32=fft_tol(6))
row("aten._fft_c2c.default", self=C((3, 4, 5)), dim=[0, 2], normalization=2, forward=False, tol32=fft_tol(15, 1 / 15))
row("aten._fft_c2c.default", self=C((2, 7)), dim=[0, 1], normalization=1, forward=True, tol32=fft_tol(14, 14 ** -0.5))
row("aten._fft_r2c.default", self=F((4, 6)), dim=[1], normalization=0, onesided=True, tol32=fft_tol(6))
row("aten._fft_r2c.default", self=F((3, 5, 4)), dim=[0, 2], normalization=1, onesided=False, tol32=fft_tol(12, 12 ** -0.5))
row("aten._fft_r2c.default", self=F((2, 3, 7)), dim=[1, 2], normalization=2, onesided=True, tol32=fft_tol(21, 1 / 21))
row("aten._fft_c2r.default", self=C((4, 4)), dim=[1], normalization=2, last_dim_size=6, tol32=fft_tol(6, 1 / 6))
row("aten._fft_c2r.default", self=C((3, 5, 3)), dim=[0, 2], normalization=0, last_dim_size=5, tol32=fft_tol(15))
row("aten._fft_c2r.default", self=C((2, 4, 3)), dim=[1, 2], normalization=1, last_dim_size=4, tol32=fft_tol(16, 0.25))
# torch.fft.* as an export without decompositions keeps them
row("aten.fft_fft.default", self=F((3, 8)), tol32=fft_tol(8))
row("aten.fft_fft.default", self=C((3, 8)), n=10, dim=0, norm="ortho", tol32=fft_tol(10))
row("aten.fft_ifft.default", self=C((3, 8)), n=5, norm="forward", tol32=fft_tol(5))
row("aten.fft_rfft.default", self=F((3, 9)), tol32=fft_tol(9))
row("aten.fft_rfft.default", self=F((4, 3)), n=6, dim=0, norm="ortho", tol32=fft_tol(6))
row("aten.fft_irfft.default", self=C((3, 5)), tol32=fft_tol(8))
row("aten.fft_irfft.default", self=C((3, 5)), n=7, norm="ortho", tol32=fft_tol(7))
row("aten.fft_fft2.default", self=F((2, 4, 6)), tol32=fft_tol(24))
row("aten.fft_ifft2.default", self=C((2, 4, 6)), s=[3, 8], norm="backward", tol32=fft_tol(24))
row("aten.fft_rfft2.default", self=F((2, 4, 6)), norm="ortho", tol32=fft_tol(24))
row("aten.fft_irfft2.default", self=C((2, 4, 4)), s=[4, 6], tol32=fft_tol(24))
row("aten.fft_fftn.default", self=C((2, 3, 4)), tol32=fft_tol(24))
row("aten.fft_ifftn.default", self=C((4, 2, 5)), s=[4, 4], dim=[0, 2], norm="ortho", tol32=fft_tol(16))
row("aten.fft_rfftn.default", self=F((2, 3, 4)), dim=[1, 2], tol32=fft_tol(12))
row("aten.fft_irfftn.default", self=C((2, 3, 3)), tol32=fft_tol(24))
row("aten.view_as_real.default", self=C((3, 4)))
row("aten.view_as_complex.default", self=F((3, 4, 2)))
row("aten.real.default", self=C((3, 4)))
row("aten.imag.default", self=C((3, 4)))
row("aten.complex.default", real=F((3, 4)), imag=F((3, 4)))
row("aten.polar.default", abs=F((3, 4), 0.1, 2), angle=F((3, 4), -3, 3))
row("aten.angle.default", self=C((3, 4)))
for name in ["conj", "_conj", "conj_physical", "resolve_conj", "resolve_neg"]:
    row(f"aten.{name}.default", self=C((3, 4)))
row("aten.add.Tensor", self=C((3, 4)), other=C((3, 4)), alpha=0.5)
row("aten.add.Tensor", self=C((3, 4)), other=F((4,)))
row("aten.sub.Tensor", self=F((3, 1)), other=C((3, 4)))
row("aten.mul.Tensor", self=C((3, 4)), other=C((4,)))
row("aten.mul.Tensor", self=C((3, 4)), other=-1.5)
row("aten.div.Tensor", self=C((3, 4)), other=C((3, 4), 0.5, 2))
row("aten.div.Tensor", self=F((3, 4)), other=C((3, 4), 0.5, 2))
row("aten.neg.default", self=C((3, 4)))
row("aten.abs.default", self=C((3, 4)))
row("aten.permute.default", self=C((2, 3, 4)), dims=[2, 0, 1])
row("aten.cat.default", tensors=[C((2, 3)), C((1, 3))], dim=0)
row("aten.slice.Tensor", self=C((4, 5)), dim=1, start=1, end=4)
row("aten.view.default", self=C((4, 6)), size=[2, 12])
# ---- 1-D and 3-D interpolation (PyTorch's generic kernel) --------------------------------------------------
# Nearest-exact 2 -> 41 is where the generic kernel's fused position differs from the 2-D channels-last kernel's;
# a 2-D output of more than 128 cells (height + width) runs the generic kernel too.
FILE = "upsampling"
row("aten.upsample_nearest1d.vec", input=F((1, 2, 5)), output_size=None, scale_factors=[2.0])
row("aten.upsample_nearest1d.vec", input=F((1, 2, 5)), output_size=[7], scale_factors=None)
row("aten.upsample_nearest3d.vec", input=F((1, 2, 2, 3, 2)), output_size=None, scale_factors=[2.0, 1.5, 2.5])
row("aten._upsample_nearest_exact1d.vec", input=F((1, 1, 2)), output_size=[41], scale_factors=None)
row("aten._upsample_nearest_exact1d.vec", input=F((1, 2, 5)), output_size=None, scale_factors=[1.7])
row("aten._upsample_nearest_exact3d.vec", input=F((1, 1, 2, 2, 2)), output_size=[3, 1, 41], scale_factors=None)
row("aten._upsample_nearest_exact2d.vec", input=F((1, 1, 1, 2)), output_size=[1, 165], scale_factors=None)
row("aten.upsample_linear1d.vec", input=F((1, 2, 5)), output_size=None, align_corners=False, scale_factors=[2.0])
row("aten.upsample_linear1d.vec", input=F((1, 1, 14)), output_size=[46], align_corners=True, scale_factors=None)
row("aten.upsample_linear1d.vec", input=F((1, 2, 6)), output_size=[4], align_corners=False, scale_factors=None)
row("aten.upsample_trilinear3d.vec", input=F((1, 2, 2, 3, 2)), output_size=None, align_corners=False, scale_factors=[2.0, 2.0, 2.0])
row("aten.upsample_trilinear3d.vec", input=F((1, 1, 2, 3, 4)), output_size=[3, 5, 7], align_corners=True, scale_factors=None)


def encode(value, name, g, tensors):
    """The argument as the JSON the Swift test turns into a TorchArgument; tensors are generated and
    registered under their argument name."""
    if isinstance(value, (F, C, I, B, T)):
        tensors[name] = value.make(g)
        return {"kind": "tensor", "name": name}
    if isinstance(value, list) and value and all(isinstance(v, (F, C, I, B, T)) or v is None for v in value):
        names = []
        for i, v in enumerate(value):
            if v is None:
                names.append(None)
            else:
                key = f"{name}{i}"
                tensors[key] = v.make(g)
                names.append(key)
        return {"kind": "optional_tensors" if None in value or name == "indices" else "tensors", "names": names}
    if value is None:
        return {"kind": "none"}
    if isinstance(value, bool):
        return {"kind": "bool", "value": value}
    if isinstance(value, int):
        return {"kind": "int", "value": value}
    if isinstance(value, float):
        return {"kind": "float", "value": special(value)}
    if isinstance(value, str):
        return {"kind": "string", "value": value}
    if isinstance(value, Device):
        return {"kind": "device", "value": value.name}
    if isinstance(value, torch.dtype):
        return {"kind": "scalar_type", "value": SCALAR_TYPES[value]}
    if isinstance(value, list) and value and all(isinstance(v, bool) for v in value):
        return {"kind": "bools", "value": value}
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return {"kind": "ints", "value": value}
    if isinstance(value, list) and all(isinstance(v, float) for v in value):
        return {"kind": "floats", "value": value}
    raise TypeError(f"{name}: {value!r}")


def special(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def tensor_json(t, values=True):
    """Float32 and 16-bit floats are written in their shortest decimal form (read back as a double and
    rounded to the dtype, they are the same number), float64 with 12 significant digits (5e-13 relative, below
    the float64 bound of 1e-11 relative)."""
    t = t.detach()
    dtype = str(t.dtype).replace("torch.", "")
    if not values:
        return {"shape": list(t.shape), "dtype": dtype}
    if t.is_complex():
        # (real, imaginary) pairs in row-major order, as torch.view_as_real lays them out
        parts = tensor_json(torch.view_as_real(t.resolve_conj()))
        return {"shape": list(t.shape), "dtype": dtype, "values": parts["values"]}
    if t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        values = [int(v) for v in t.reshape(-1).tolist()]
    elif t.dtype == torch.bool:
        values = [1 if v else 0 for v in t.reshape(-1).tolist()]
    elif t.dtype == torch.float64:
        values = [special(float(f"{v:.12g}")) for v in t.reshape(-1).tolist()]
    else:
        values = [special(float(str(np.float32(v)))) for v in t.float().reshape(-1).tolist()]
    return {"shape": list(t.shape), "dtype": dtype, "values": values}


def outputs(result):
    if result is None:
        return []
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        # An output left out (a backward kernel's output_mask) is an undefined tensor: recorded as empty.
        return [r if isinstance(r, torch.Tensor) else torch.empty(0) for r in result if r is None or isinstance(r, torch.Tensor)]
    return [torch.tensor(result)]


def schema(target):
    _, name, overload = target.split(".")
    return getattr(getattr(torch.ops.aten, name), overload)._schema


def call(target, arguments, tensors, dtype):
    _, name, overload = target.split(".")
    op = getattr(getattr(torch.ops.aten, name), overload)
    kwargs = {}
    for key, spec in arguments.items():
        if spec["kind"] == "tensor":
            kwargs[key] = tensors[spec["name"]].clone()  # in-place rows mutate their argument
        elif spec["kind"] in ("tensors", "optional_tensors"):
            kwargs[key] = [tensors[n].clone() if n is not None else None for n in spec["names"]]
        elif spec["kind"] == "device":
            kwargs[key] = torch.device(spec["value"])
        elif spec["kind"] == "none":
            kwargs[key] = None
        elif spec["kind"] == "scalar_type":
            kwargs[key] = next(k for k, v in SCALAR_TYPES.items() if v == spec["value"])
        elif spec["kind"] == "float":
            v = spec["value"]
            kwargs[key] = float(v) if not isinstance(v, str) else {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
        else:
            kwargs[key] = spec["value"]
    if dtype == torch.float64:
        def wide(x):
            if isinstance(x, torch.Tensor) and x.is_floating_point():
                return x.double()
            return x.to(torch.complex128) if isinstance(x, torch.Tensor) and x.is_complex() else x
        kwargs = {k: [wide(x) for x in v] if isinstance(v, list) else wide(v) for k, v in kwargs.items()}
    return op, kwargs


# Why a Core ATen operator has no row (Parity does not run it); the reason is printed in the doc.
NOT_SUPPORTED = {}
REASONS = {}
# What a ✓ covers where it is less than every value checked.
PARTIAL = {
    "aten.nonzero.default": "eager runs (and tensors known when lowered); a traced graph refuses its data-dependent shape",
    "aten.rand.default": "shape and dtype: Parity's own random stream, PyTorch's generator state is not in a .pt2",
    "aten.randn.default": "shape and dtype: Parity's own random stream, PyTorch's generator state is not in a .pt2",
    "aten.randperm.default": "shape and dtype: Parity's own random stream, PyTorch's generator state is not in a .pt2",
}


def write_doc(core, rows, meta):
    """docs/aten-operators.md: every Core ATen operator with its status. A fixture row means Parity runs the
    operator and `swift test` checks it against PyTorch (ATenOpTableTests fails on a row Parity cannot run,
    and on an operator Parity maps that has no row), so "row" and "supported" are the same thing here."""
    counts = {}
    for r in rows:
        counts[r["target"]] = counts.get(r["target"], 0) + 1
    covered = [op for op in core if op in counts]
    lines = [
        "# PyTorch operators",
        "",
        "Generated by `scripts/make_aten_op_fixtures.py` (do not edit) from PyTorch "
        f"{meta['torch_version']}: the **Core ATen IR** is every operator overload tagged `core` in PyTorch's "
        "`aten/src/ATen/native/native_functions.yaml` (`torch.Tag.core`), the set `run_decompositions()` lowers to.",
        "",
        "Each operator with a row in `Tests/Fixtures/torch/aten_ops_*.json` is checked by `swift test` "
        "(`ATenOpTableTests`): Parity's float32 output against PyTorch's float32 output (1e-6 absolute + 1e-5 "
        "relative), its float64 output against PyTorch's float64 output (1e-12 + 1e-11), and, where the operator "
        "is differentiable, its vector-Jacobian product of a fixed cotangent against `torch.autograd` in float64 (1e-12 + 1e-11). "
        "The same test fails when Parity maps an operator that has no row.",
        "",
        "Beyond single operators:",
        "",
        "- **Dynamic shapes.** A `.pt2` exported with `dynamic_shapes` runs at the shapes of the inputs it is given (a dynamic "
        "dimension takes any size, a static one is still checked). Its symbolic sizes (`sym_size`, `sym_numel`, `sym_stride`, "
        "Python arithmetic on them serialized as `_operator.mul`, `_operator.floordiv`, …, size lists mixing ints and names) are "
        "numbers by the time a node reads them (`SymbolicOps`). `Tests/Fixtures/torch/dynamic_batch.pt2` (a dynamic batch, "
        "`torch.cond`, factories sized by the batch) runs at the exported batch 6 and at batch 3, both branches, within 1e-5 of PyTorch; "
        "`scripts/check_dynamic_shapes.py` exports torchvision ResNet-18 and MobileNetV3-Small (dynamic batch) and tiny `transformers` "
        "BERT, GPT-2, Llama (dynamic batch and sequence) and ViT (dynamic batch) and runs each at two shapes, eager and graph: "
        "6/6 within 1e-5 of PyTorch 2.15 (largest error 3.2e-6, ResNet-18).",
        "- **Backward kernels** (`convolution_backward`, `avg_pool2d_backward`, `native_layer_norm_backward`, …) run as forward "
        "functions, as a joint training graph holds them; where PyTorch has a double backward, the rows check it as their VJP. "
        "Where it has none (`native_group_norm_backward`) or its double backward is not the adjoint of the forward "
        "(`embedding_dense_backward` ignores `scale_grad_by_freq` there), the VJP is checked against `torch.autograd` through "
        "the operator's `torch._decomp` decomposition. docs/gradients.md lists every row's gradient check or why it has none.",
        "- **Random sampling** (`rand`, `randn`, `randperm`) uses Parity's own seeded stream: PyTorch's generator state is not in "
        "a `.pt2`, so the rows compare shape and dtype, and a test checks the support and moments.",
        "- **Complex tensors** (`complex64`, `complex128`, stored interleaved as PyTorch stores them) run through the FFT kernels "
        "(`_fft_r2c`, `_fft_c2r`, `_fft_c2c`), the `torch.fft.*` functions an export keeps, `view_as_real`/`view_as_complex`, "
        "`real`/`imag`, `complex`, `polar`, `abs`/`angle`, `conj` and complex `add`/`sub`/`mul`/`div`, and through the layout "
        "operators; every other operator refuses a complex input naming itself and the dtype. The FFTs are exact DFTs in double "
        "(O(n²) per axis, rounded once); their float32 rows use a bound from the transform length n, "
        "3·ε·⌈log₂n⌉·n·√2·2·scale + 1e-6 (pocketfft's ‖ΔX‖₂ ≤ c·ε·log₂n·‖X‖₂ for parts in [−2, 2]); see `docs/complex.md`.",
        "",
        f"**Core ATen IR: {len(covered)}/{len(core)} operators run and have fixture rows.** "
        f"{len(rows)} rows cover {len(counts)} operators in all (the others are what an export *without* "
        "decompositions keeps: composite, in-place, copy and no-op nodes).",
        "",
        "| Core ATen operator | status | rows |",
        "|---|---|---|",
    ]
    for op in core:
        if op in counts:
            note = f" ({PARTIAL[op]})" if op in PARTIAL else ""
            lines.append(f"| `{op}` | ✓{note} | {counts[op]} |")
        else:
            why = NOT_SUPPORTED.get(REASONS.get(op, ""), "not yet")
            lines.append(f"| `{op}` | missing: {why} | 0 |")
    lines += ["", "## Operators outside the Core ATen IR with fixture rows", "",
              ", ".join(f"`{op}`" for op in sorted(counts) if op not in core), ""]
    with open(os.path.join(DOCS, "aten-operators.md"), "w") as f:
        f.write("\n".join(lines))


def main():
    rows = []
    for index, spec in enumerate(ROWS):
        try:
            rows.append(make_row(index, spec))
        except Exception as e:
            raise RuntimeError(f"row {index} {spec['target']}: {e}") from e
    meta = {"generated_by": "scripts/make_aten_op_fixtures.py (generated, do not edit)", "torch_version": torch.__version__}
    write_tables(rows, meta)


def cotangent(shape, output):
    """The cotangent of output `output` of a row: element k (row-major) is ((37k + 11 + 5·output) mod 23 − 11)/8,
    exact in every float dtype, and computed the same way by the Swift test (so it is not stored)."""
    n = math.prod(shape)
    return torch.tensor([((37 * k + 11 + 5 * output) % 23 - 11) / 8 for k in range(n)], dtype=torch.float64).reshape(shape)


def make_row(index, spec):
    """One table row: the call encoded, its inputs, PyTorch's outputs in float32 and float64 and, when
    differentiable, the cotangents and the float64 gradients."""
    g = torch.Generator().manual_seed(1000 + index)
    tensors = {}
    arguments = {name: encode(value, name, g, tensors) for name, value in spec["args"].items()}
    # In schema order, as torch.export writes a node's arguments (Parity's in-place writes go to the first).
    order = [a.name for a in schema(spec["target"]).arguments]
    arguments = dict(sorted(arguments.items(), key=lambda kv: order.index(kv[0])))
    op, kwargs = call(spec["target"], arguments, tensors, torch.float32)
    out32 = outputs(op(**kwargs))
    op, kwargs64 = call(spec["target"], arguments, tensors, torch.float64)
    out64 = outputs(op(**kwargs64))
    record = {"target": spec["target"], "arguments": [[k, v] for k, v in arguments.items()], "inputs": {k: tensor_json(v) for k, v in tensors.items()},
              "outputs_float32": [tensor_json(o, spec["defined"]) for o in out32],
              "outputs_float64": [tensor_json(o, spec["defined"]) for o in out64]}
    if spec["eager_only"]:
        record["eager_only"] = True
    if spec["tol32"]:
        record["tolerance_float32"] = list(spec["tol32"])
    if spec["grad"] is not True:
        record["no_gradient"] = no_gradient_reason(spec, tensors, out64)
    else:
        # d(Σ cotangent·output)/d(input) in float64, for every floating input (or grad_wrt), on fresh copies of the
        # inputs (the forward run above wrote into an in-place row's argument).
        op, kwargs64 = call(spec["target"], arguments, tensors, torch.float64)
        leaves = {}
        for key, value in kwargs64.items():
            candidates = [(key, value)] if isinstance(value, torch.Tensor) else \
                [(f"{key}{i}", v) for i, v in enumerate(value)] if isinstance(value, list) else []
            for name, t in candidates:
                if isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex()) and (spec["grad_wrt"] is None or name in spec["grad_wrt"]):
                    leaves[name] = t.requires_grad_()
        result = outputs(differentiated(spec, record, op, kwargs64))
        differentiable = [i for i, o in enumerate(result) if (o.is_floating_point() or o.is_complex()) and o.requires_grad]
        # A complex output's cotangent is over its (real, imaginary) pairs: the loss is Σ c·view_as_real(y).
        pairs = [torch.view_as_real(o.resolve_conj()) if o.is_complex() else o for o in result]
        cotangents = [cotangent(pairs[i].shape, i) for i in differentiable]
        loss = sum((pairs[i] * c).sum() for i, c in zip(differentiable, cotangents))
        record["cotangent_outputs"] = differentiable
        grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
        record["gradients"] = {k: tensor_json(gr if gr is not None else torch.zeros_like(leaves[k])) for k, gr in zip(leaves, grads)}
    return record


def no_gradient_reason(spec, tensors, out64):
    """Why a row has no gradient check: said by the row, or read off it (no float input, no float output)."""
    if isinstance(spec["grad"], str):
        return spec["grad"]
    if not spec["defined"]:
        return "random or uninitialised values: no derivative"
    if not any(t.is_floating_point() or t.is_complex() for t in tensors.values()):
        return "no floating-point tensor input"
    if not any(o.is_floating_point() or o.is_complex() for o in out64):
        return "integer or bool output: no derivative"
    raise ValueError(f"{spec['target']}: grad=False needs a reason")


def differentiated(spec, record, op, kwargs):
    """The call torch.autograd differentiates: the row's own, with an in-place operator's mutated argument
    cloned first (an in-place write to a leaf is refused), or the row's `reference`."""
    reference = spec["reference"]
    if reference is None:
        mutated = [a.name for a in op._schema.arguments if a.alias_info is not None and a.alias_info.is_write]
        return op(**{k: v.clone() if k in mutated and isinstance(v, torch.Tensor) else v for k, v in kwargs.items()})
    if isinstance(reference, str):
        _, name, overload = reference.split(".")
        target = getattr(getattr(torch.ops.aten, name), overload)
        names = {a.name for a in target._schema.arguments}
        mutated = [a.name for a in target._schema.arguments if a.alias_info is not None and a.alias_info.is_write]
        record["gradient_reference"] = reference
        return target(**{k: v.clone() if k in mutated else v for k, v in kwargs.items() if k in names})
    description, function = reference
    record["gradient_reference"] = description
    return function(**kwargs)


def write_tables(rows, meta):
    for name in sorted({r["file"] for r in ROWS}):
        with open(os.path.join(OUT, f"aten_ops_{name}.json"), "w") as f:
            json.dump({"meta": meta, "rows": [r for r, spec in zip(rows, ROWS) if spec["file"] == name]}, f, separators=(",", ":"))
    core = set()
    for s in torch._C._jit_get_all_schemas():  # every registered operator schema, loaded or not
        if not s.name.startswith("aten::"):
            continue
        name, overload = s.name[len("aten::"):], s.overload_name or "default"
        try:
            op = getattr(getattr(torch.ops.aten, name), overload)
        except (AttributeError, RuntimeError):
            continue
        if torch.Tag.core in op.tags:
            core.add(f"aten.{name}.{overload}")
    with open(os.path.join(OUT, "core_aten_ir.json"), "w") as f:
        json.dump({"meta": meta, "operators": sorted(core)}, f, indent=0)
    write_doc(sorted(core), rows, meta)
    print(f"{len(rows)} rows, {len(core)} core ATen operators")


if __name__ == "__main__":
    sys.exit(main())
