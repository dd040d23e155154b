#!/usr/bin/env python3
"""Generates examples/: small Keras models and PyTorch ports of each for `parity compare`, a faithful port and
ports that each carry ONE classic porting mistake (the port's directory is named after the mistake's cause id).

Generated, do not edit the outputs by hand. Run by hand in two processes (Keras and PyTorch are never
imported together: LLVM aborts), Keras first:
    TF_ENABLE_ONEDNN_OPTS=0 /work/venv-keras/bin/python scripts/make_compare_examples.py keras [EXAMPLE ...]
    /work/venv-torch/bin/python scripts/make_compare_examples.py torch [EXAMPLE ...]

Every example is one declarative `Example` block below: the Keras model and its weights (Keras half), the
PyTorch port with a `mistake` switch (PyTorch half), and the ports with their README texts. The shared code
(`keras_half`, `torch_half`) writes, under examples/NAME/:
  keras.keras      the Keras model
  weights.npz      its weights in Keras layout (keys "<layer>/<variable>"), read by the PyTorch half
  input.npy        a float32 input in the Keras layout
  keras_meta.json  Keras / TensorFlow versions and the Keras output on input.npy
  README.md        the table of ports
and for every port PORT, examples/NAME/PORT/ with:
  torch.pt2        torch.export.save of the port in eval mode (input in PyTorch's natural layout), its
                   submodules named after the Keras layers so that `parity compare` pairs them by name
  README.md        the planted mistake (conventions.md entry), where `parity compare` should find it, the fix,
                   and the measured max |Keras - PyTorch| on the output
"""
import json
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
f32 = np.float32


@dataclass
class Port:
    cause: Optional[str]   # the cause id (None: faithful)
    planted: str           # the mistake, with its conventions.md entry
    layer: str = ""        # the first layer `parity compare` should find diverging
    fix: str = ""          # the one-line fix
    expect: str = ""       # overrides the generated "Expected" text


@dataclass
class Example:
    name: str
    seed: int
    architecture: str      # Markdown, the Keras layers
    keras_input: str       # e.g. "NHWC [2, 8, 8, 3]"
    torch_input: str       # e.g. "NCHW [2, 3, 8, 8]"
    input_layout: str      # the layout of input.npy, e.g. "NHWC"
    to_torch: tuple        # permutation of input.npy's axes into the port's input
    keras_model: Callable  # (rng) -> (keras model, weights dict in Keras layout, input); weights already set
    torch_port: Callable   # (port name, cause, weights as torch tensors) -> nn.Module (weights set, not yet eval)
    ports: dict = field(default_factory=dict)
    note: str = ""         # extra paragraph for the example README
    train_mode_ports: tuple = ()  # ports exported in train mode (no .eval())


FAITHFUL_EXPECT = ("The outputs agree within `torch.testing.assert_close`'s float32 tolerance and no layer differs "
                   "beyond float noise.")


# --------------------------------------------------------------------------------------------------------------
# conv_bn_dense
# --------------------------------------------------------------------------------------------------------------

def keras_conv_bn_dense(rng):
    import keras
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Conv2D(4, 3, strides=2, padding="same", name="conv"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.ReLU(name="relu"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(5, name="dense"),
    ], name="conv_bn_dense")
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
    set_weights(model, weights, {"conv": ["kernel", "bias"], "bn": ["gamma", "beta", "moving_mean", "moving_variance"],
                                 "dense": ["kernel", "bias"]})
    x = rng.standard_normal((2, 8, 8, 3)).astype(f32)
    return model, weights, x


def torch_conv_bn_dense(port, mistake, w):
    import torch.nn as nn
    from torch_helpers import KerasFlatten, TFSameConv2d, bn_from_keras, dense_from_keras

    class ConvBnDense(nn.Module):
        def __init__(self):
            super().__init__()
            if mistake == "padding-same":
                self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
            else:
                self.conv = TFSameConv2d(nn.Conv2d(3, 4, 3, stride=2, padding=0), (0, 1, 0, 1))
            self.bn = nn.BatchNorm2d(4) if mistake == "batchnorm-epsilon" else nn.BatchNorm2d(4, eps=1e-3)
            self.relu = nn.ReLU()
            self.flatten = nn.Flatten() if mistake == "flatten-order" else KerasFlatten()
            self.dense = nn.Linear(64, 5)

        def forward(self, x):
            return self.dense(self.flatten(self.relu(self.bn(self.conv(x)))))

    m = ConvBnDense()
    conv = m.conv if mistake == "padding-same" else m.conv.conv
    conv.weight.copy_(w["conv/kernel"].permute(3, 2, 0, 1))
    conv.bias.copy_(w["conv/bias"])
    bn_from_keras(m.bn, w, "bn")
    dense_from_keras(m.dense, w, "dense")
    return m


CONV_BN_DENSE = Example(
    name="conv_bn_dense", seed=6,
    architecture="Conv2D(4, 3, strides=2, padding=\"same\") `conv` → BatchNormalization `bn` → ReLU `relu` → "
                 "Flatten `flatten` → Dense(5) `dense`",
    keras_input="NHWC [2, 8, 8, 3]", torch_input="NCHW [2, 3, 8, 8]", input_layout="NHWC", to_torch=(0, 3, 1, 2),
    keras_model=keras_conv_bn_dense, torch_port=torch_conv_bn_dense,
    ports={
        "faithful": Port(None, "None: every convention is converted (conventions.md A.1, A.2, A.5, A.6, C.11)."),
        "batchnorm-epsilon": Port("batchnorm-epsilon", "`nn.BatchNorm2d(4)` keeps PyTorch's default `eps=1e-5`; "
                                  "Keras's BatchNormalization uses `epsilon=1e-3` (conventions.md C.11).",
                                  "bn", "`nn.BatchNorm2d(4, eps=1e-3)`"),
        "padding-same": Port("padding-same", "`nn.Conv2d(3, 4, 3, stride=2, padding=1)` pads (1, 1) on each spatial "
                             "axis; TensorFlow's `same` pads (0, 1) here (8 input, kernel 3, stride 2: the extra "
                             "row/column at the bottom/right; conventions.md A.6).",
                             "conv", "`F.pad(x, (0, 1, 0, 1))` then `padding=0`"),
        "flatten-order": Port("flatten-order", "`nn.Flatten()` flattens NCHW activations in (C, H, W) order while the "
                              "Dense weights were converted for Keras's (H, W, C) order (conventions.md A.5).",
                              "flatten", "`x.permute(0, 2, 3, 1).flatten(1)`, or reorder the Linear weight columns"),
    },
    # A `training-mode` port (exported without .eval()) is not generated: Parity refuses its graph ("operator
    # aten.add_.Tensor (node 'add_') in module 'bn' (torch.nn.modules.batchnorm.BatchNorm2d) is not supported by
    # Parity", the num_batches_tracked update). `train_mode_ports=("training-mode",)` would export it so.
)


# --------------------------------------------------------------------------------------------------------------
# rnn_sequence
# --------------------------------------------------------------------------------------------------------------

def keras_rnn_sequence(rng):
    import keras
    model = keras.Sequential([
        keras.Input((5, 3)),
        keras.layers.LSTM(4, return_sequences=True, name="lstm"),
        keras.layers.GRU(3, name="gru"),
        keras.layers.Dense(2, name="dense"),
    ], name="rnn_sequence")
    weights = {
        "lstm/kernel": (rng.standard_normal((3, 16)) * 0.6).astype(f32),
        "lstm/recurrent_kernel": (rng.standard_normal((4, 16)) * 0.6).astype(f32),
        "lstm/bias": (rng.standard_normal(16) * 0.6).astype(f32),
        "gru/kernel": (rng.standard_normal((4, 9)) * 0.8).astype(f32),
        "gru/recurrent_kernel": (rng.standard_normal((3, 9)) * 0.8).astype(f32),
        "gru/bias": (rng.standard_normal((2, 9)) * 0.5).astype(f32),
        "dense/kernel": (rng.standard_normal((3, 2)) * 1.0).astype(f32),
        "dense/bias": (rng.standard_normal(2) * 0.1).astype(f32),
    }
    set_weights(model, weights, {"lstm": ["kernel", "recurrent_kernel", "bias"],
                                 "gru": ["kernel", "recurrent_kernel", "bias"], "dense": ["kernel", "bias"]})
    x = rng.standard_normal((2, 5, 3)).astype(f32)
    return model, weights, x


def torch_rnn_sequence(port, mistake, w):
    import torch
    import torch.nn as nn
    from torch_helpers import LastState, dense_from_keras, gate_blocks

    class RnnSequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 4)
            self.gru = LastState(nn.GRU(4, 3))
            self.dense = nn.Linear(3, 2)

        def forward(self, x):           # x [T, N, F]
            y, _ = self.lstm(x)
            return self.dense(self.gru(y))  # [N, 2]

    m = RnnSequence()
    # LSTM: Keras gates [i, f, c, o] = PyTorch [i, f, g, o].
    lstm_order = [0, 2, 1, 3] if mistake == "lstm-gate-order" else [0, 1, 2, 3]
    m.lstm.weight_ih_l0.copy_(gate_blocks(w["lstm/kernel"], lstm_order).T)
    m.lstm.weight_hh_l0.copy_(gate_blocks(w["lstm/recurrent_kernel"], lstm_order).T)
    m.lstm.bias_ih_l0.copy_(gate_blocks(w["lstm/bias"], lstm_order))
    m.lstm.bias_hh_l0.copy_(w["lstm/bias"] if mistake == "lstm-bias-doubled" else torch.zeros(16))
    # GRU (reset_after=True): Keras gates [z, r, h], PyTorch [r, z, n].
    gru_order = [0, 1, 2] if mistake == "gru-gate-order" else [1, 0, 2]
    gru = m.gru.rnn
    gru.weight_ih_l0.copy_(gate_blocks(w["gru/kernel"], gru_order).T)
    gru.weight_hh_l0.copy_(gate_blocks(w["gru/recurrent_kernel"], gru_order).T)
    gru.bias_ih_l0.copy_(gate_blocks(w["gru/bias"][0], gru_order))
    gru.bias_hh_l0.copy_(gate_blocks(w["gru/bias"][1], gru_order))
    dense_from_keras(m.dense, w, "dense")
    return m


RNN_SEQUENCE = Example(
    name="rnn_sequence", seed=11,
    architecture="LSTM(4, return_sequences=True) `lstm` → GRU(3) `gru` (reset_after=True) → Dense(2) `dense`",
    keras_input="batch-first [N=2, T=5, F=3]", torch_input="time-first [T=5, N=2, F=3], `nn.LSTM`/`nn.GRU`'s "
    "default `batch_first=False`", input_layout="batch-first", to_torch=(1, 0, 2),
    keras_model=keras_rnn_sequence, torch_port=torch_rnn_sequence,
    ports={
        "faithful": Port(None, "None: LSTM `W_ih = kernelᵀ`, `W_hh = recurrent_kernelᵀ`, `b_ih = bias`, `b_hh = 0`; "
                         "GRU gate blocks reordered from Keras [z, r, h] to PyTorch [r, z, n], bias row 0 → `b_ih`, "
                         "row 1 → `b_hh`; input time-first (conventions.md A.1, D.13, D.14). `gru` is a small module holding the "
                         "`nn.GRU` (`gru.rnn`) and returning its last hidden state `h_n[-1]`, as Keras's "
                         "`return_sequences=False`."),
        "lstm-bias-doubled": Port("lstm-bias-doubled", "The Keras LSTM bias is copied into both `bias_ih_l0` and "
                                  "`bias_hh_l0`: PyTorch adds the two, so every gate's bias is doubled "
                                  "(conventions.md D.13).", "lstm", "`lstm.bias_hh_l0.zero_()`"),
        "lstm-gate-order": Port("lstm-gate-order", "The LSTM gate blocks are reordered as if Keras stored TF1's "
                                "[i, c, f, o] order: blocks 1 and 2 (forget and cell) swapped in `weight_ih_l0`, "
                                "`weight_hh_l0` and `bias_ih_l0`; Keras's [i, f, c, o] already is PyTorch's "
                                "[i, f, g, o] (conventions.md D.13).", "lstm",
                                "copy the Keras gate blocks in their order (no reordering)"),
        "gru-gate-order": Port("gru-gate-order", "The GRU gate blocks are copied in Keras's [z, r, h] order; PyTorch "
                               "reads them as [r, z, n], so update and reset gates are swapped (conventions.md D.14).",
                               "gru", "reorder the blocks of kernel, recurrent_kernel and both bias rows "
                               "`[z, r, h] → [r, z, n]` before transposing"),
    },
)


# --------------------------------------------------------------------------------------------------------------
# gru_reset_before
# --------------------------------------------------------------------------------------------------------------

def keras_gru_reset_before(rng):
    import keras
    model = keras.Sequential([
        keras.Input((5, 3)),
        keras.layers.GRU(3, reset_after=False, name="gru"),
        keras.layers.Dense(2, name="dense"),
    ], name="gru_reset_before")
    weights = {
        "gru/kernel": (rng.standard_normal((3, 9)) * 0.8).astype(f32),
        "gru/recurrent_kernel": (rng.standard_normal((3, 9)) * 1.2).astype(f32),
        "gru/bias": (rng.standard_normal(9) * 0.5).astype(f32),
        "dense/kernel": (rng.standard_normal((3, 2)) * 1.0).astype(f32),
        "dense/bias": (rng.standard_normal(2) * 0.1).astype(f32),
    }
    set_weights(model, weights, {"gru": ["kernel", "recurrent_kernel", "bias"], "dense": ["kernel", "bias"]})
    x = rng.standard_normal((2, 5, 3)).astype(f32)
    return model, weights, x


def torch_gru_reset_before(port, mistake, w):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch_helpers import LastState, dense_from_keras, gate_blocks

    class ResetBeforeGRU(nn.Module):
        """A GRU that applies the reset gate BEFORE the recurrent matmul (Keras reset_after=False), gates in
        PyTorch's [r, z, n] order, one bias; returns the last hidden state [N, H]."""

        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.hidden_size = hidden_size
            self.weight_ih = nn.Parameter(torch.zeros(3 * hidden_size, input_size))
            self.weight_hh = nn.Parameter(torch.zeros(3 * hidden_size, hidden_size))
            self.bias = nn.Parameter(torch.zeros(3 * hidden_size))

        def forward(self, x):           # x [T, N, F]
            H = self.hidden_size
            h = torch.zeros(x.shape[1], H, dtype=x.dtype)
            for t in range(x.shape[0]):
                gi = F.linear(x[t], self.weight_ih, self.bias)
                gh = F.linear(h, self.weight_hh[:2 * H])
                r = torch.sigmoid(gi[:, :H] + gh[:, :H])
                z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:])
                n = torch.tanh(gi[:, 2 * H:] + F.linear(r * h, self.weight_hh[2 * H:]))
                h = (1 - z) * n + z * h
            return h

    class GruResetBefore(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = LastState(nn.GRU(3, 3)) if mistake == "gru-reset-after" else ResetBeforeGRU(3, 3)
            self.dense = nn.Linear(3, 2)

        def forward(self, x):           # x [T, N, F]
            return self.dense(self.gru(x))

    m = GruResetBefore()
    order = [1, 0, 2]                   # Keras [z, r, h] -> PyTorch [r, z, n]
    w_ih = gate_blocks(w["gru/kernel"], order).T
    w_hh = gate_blocks(w["gru/recurrent_kernel"], order).T
    b = gate_blocks(w["gru/bias"], order)
    if mistake == "gru-reset-after":
        m.gru.rnn.weight_ih_l0.copy_(w_ih)
        m.gru.rnn.weight_hh_l0.copy_(w_hh)
        m.gru.rnn.bias_ih_l0.copy_(b)
        m.gru.rnn.bias_hh_l0.zero_()
    else:
        m.gru.weight_ih.copy_(w_ih)
        m.gru.weight_hh.copy_(w_hh)
        m.gru.bias.copy_(b)
    dense_from_keras(m.dense, w, "dense")
    return m


GRU_RESET_BEFORE = Example(
    name="gru_reset_before", seed=12,
    architecture="GRU(3, reset_after=False) `gru` → Dense(2) `dense`",
    keras_input="batch-first [N=2, T=5, F=3]", torch_input="time-first [T=5, N=2, F=3]",
    input_layout="batch-first", to_torch=(1, 0, 2),
    keras_model=keras_gru_reset_before, torch_port=torch_gru_reset_before,
    ports={
        "faithful": Port(None, "None: a hand-written GRU module `gru` applies the reset gate before the recurrent "
                         "matmul, `n = tanh(W_in x + b_n + W_hn (r ⊙ h))`, as Keras's `reset_after=False`; gate "
                         "blocks reordered [z, r, h] → [r, z, n] (conventions.md D.14). It loops over time, so "
                         "torch.export unrolls it into matmuls and elementwise ops."),
        "gru-reset-after": Port("gru-reset-after", "`nn.GRU` (in a module `gru` returning `h_n[-1]`) with the weights converted as for `reset_after=True` "
                                "and `b_hh = 0`: PyTorch applies the reset gate after the recurrent matmul, "
                                "`r ⊙ (W_hn h)` instead of `W_hn (r ⊙ h)`; `nn.GRU` cannot express Keras's "
                                "`reset_after=False` (conventions.md D.14).", "gru",
                                "a hand-written GRU cell with `n = tanh(W_in x + b_n + W_hn (r * h))` "
                                "(or retrain the Keras model with `reset_after=True`)"),
    },
)


# --------------------------------------------------------------------------------------------------------------
# attention_block
# --------------------------------------------------------------------------------------------------------------

def keras_attention_block(rng):
    import keras
    inp = keras.Input((4, 8), name="input")
    x = keras.layers.Dense(8, name="proj")(inp)
    x = keras.layers.LayerNormalization(name="norm")(x)
    x = keras.layers.Activation("gelu", name="act")(x)
    x = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="attn")(x, x)
    x = keras.layers.Dense(3, name="head")(x)
    out = keras.layers.Softmax(name="softmax")(x)
    model = keras.Model(inp, out, name="attention_block")
    weights = {
        # Small projections: the normalised features have a small variance, so LayerNorm's epsilon matters.
        "proj/kernel": (rng.standard_normal((8, 8)) * 0.12).astype(f32),
        "proj/bias": (rng.standard_normal(8) * 0.05).astype(f32),
        "norm/gamma": (1 + rng.standard_normal(8) * 0.2).astype(f32),
        "norm/beta": (rng.standard_normal(8) * 0.2).astype(f32),
        "attn/query/kernel": (rng.standard_normal((8, 2, 4)) * 0.8).astype(f32),
        "attn/query/bias": (rng.standard_normal((2, 4)) * 0.1).astype(f32),
        "attn/key/kernel": (rng.standard_normal((8, 2, 4)) * 0.8).astype(f32),
        "attn/key/bias": (rng.standard_normal((2, 4)) * 0.1).astype(f32),
        "attn/value/kernel": (rng.standard_normal((8, 2, 4)) * 0.5).astype(f32),
        "attn/value/bias": (rng.standard_normal((2, 4)) * 0.1).astype(f32),
        "attn/attention_output/kernel": (rng.standard_normal((2, 4, 8)) * 0.5).astype(f32),
        "attn/attention_output/bias": (rng.standard_normal(8) * 0.1).astype(f32),
        "head/kernel": (rng.standard_normal((8, 3)) * 0.8).astype(f32),
        "head/bias": (rng.standard_normal(3) * 0.1).astype(f32),
    }
    attn = model.get_layer("attn")
    assert [v.path for v in attn.weights] == [
        "attn/query/kernel", "attn/query/bias", "attn/key/kernel", "attn/key/bias", "attn/value/kernel",
        "attn/value/bias", "attn/attention_output/kernel", "attn/attention_output/bias"], [v.path for v in attn.weights]
    set_weights(model, weights, {"proj": ["kernel", "bias"], "norm": ["gamma", "beta"],
                                 "attn": ["query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel",
                                          "value/bias", "attention_output/kernel", "attention_output/bias"],
                                 "head": ["kernel", "bias"]})
    x = rng.standard_normal((2, 4, 8)).astype(f32)
    check_mha_math(model, weights, x)
    return model, weights, x


def check_mha_math(model, w, x):
    """Checks, in NumPy float64, the MultiHeadAttention math the PyTorch port reproduces: per-head projections
    with the EinsumDense kernels, scores = (q·k) / sqrt(key_dim), softmax over the keys, output projection."""
    import keras
    sub = keras.Model(model.input, [model.get_layer("act").output, model.get_layer("attn").output])
    a, keras_attn = sub.predict(x, verbose=0)
    a = a.astype(np.float64)
    W = {k: v.astype(np.float64) for k, v in w.items()}
    q = np.einsum("ntc,chd->nthd", a, W["attn/query/kernel"]) + W["attn/query/bias"]
    k = np.einsum("ntc,chd->nthd", a, W["attn/key/kernel"]) + W["attn/key/bias"]
    v = np.einsum("ntc,chd->nthd", a, W["attn/value/kernel"]) + W["attn/value/bias"]
    results = {}
    for label, scale in (("1/sqrt(key_dim=4)", 1 / math.sqrt(4)), ("1/sqrt(embed=8)", 1 / math.sqrt(8))):
        s = np.einsum("nthd,nshd->nhts", q, k) * scale
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        o = np.einsum("nhts,nshd->nthd", p, v)
        y = np.einsum("nthd,hdo->nto", o, W["attn/attention_output/kernel"]) + W["attn/attention_output/bias"]
        results[label] = float(np.abs(y - keras_attn).max())
    print("  MHA check, max |Keras attn - NumPy float64| by score scale:", results)
    assert results["1/sqrt(key_dim=4)"] < 1e-5, results


def torch_attention_block(port, mistake, w):
    import torch
    import torch.nn as nn
    from torch_helpers import dense_from_keras

    class SelfAttention(nn.Module):
        """Keras MultiHeadAttention(num_heads, key_dim) as self-attention, batch-first [N, T, C]; the per-head
        projections are Linear layers over the flattened (heads, key_dim) axis."""

        def __init__(self, dim, heads, key_dim, scale):
            super().__init__()
            self.heads, self.key_dim, self.scale = heads, key_dim, scale
            self.query = nn.Linear(dim, heads * key_dim)
            self.key = nn.Linear(dim, heads * key_dim)
            self.value = nn.Linear(dim, heads * key_dim)
            self.attention_output = nn.Linear(heads * key_dim, dim)

        def forward(self, x):
            n, t, _ = x.shape

            def split(y):               # [N, T, heads * key_dim] -> [N, heads, T, key_dim]
                return y.reshape(n, t, self.heads, self.key_dim).permute(0, 2, 1, 3)

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            scores = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
            o = (scores @ v).permute(0, 2, 1, 3).reshape(n, t, self.heads * self.key_dim)
            return self.attention_output(o)

    class AttentionBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(8, 8)
            self.norm = nn.LayerNorm(8) if mistake == "layernorm-epsilon" else nn.LayerNorm(8, eps=1e-3)
            self.act = nn.GELU(approximate="tanh") if mistake == "gelu-approximation" else nn.GELU()
            self.attn = SelfAttention(8, 2, 4, 1 / math.sqrt(8) if mistake == "attention-scaling" else 1 / math.sqrt(4))
            self.head = nn.Linear(8, 3)
            self.softmax = nn.Softmax(dim=1) if mistake == "softmax-axis" else nn.Softmax(dim=-1)

        def forward(self, x):           # x [N, T, C]
            return self.softmax(self.head(self.attn(self.act(self.norm(self.proj(x))))))

    m = AttentionBlock()
    dense_from_keras(m.proj, w, "proj")
    m.norm.weight.copy_(w["norm/gamma"])
    m.norm.bias.copy_(w["norm/beta"])
    for name in ("query", "key", "value"):
        lin = getattr(m.attn, name)
        lin.weight.copy_(w[f"attn/{name}/kernel"].reshape(8, 8).T)    # (dim, heads, key_dim) -> (heads*key_dim, dim)
        lin.bias.copy_(w[f"attn/{name}/bias"].reshape(8))
    m.attn.attention_output.weight.copy_(w["attn/attention_output/kernel"].reshape(8, 8).T)
    m.attn.attention_output.bias.copy_(w["attn/attention_output/bias"])
    dense_from_keras(m.head, w, "head")
    return m


ATTENTION_BLOCK = Example(
    name="attention_block", seed=13,
    architecture="Dense(8) `proj` → LayerNormalization `norm` → Activation(\"gelu\") `act` → "
                 "MultiHeadAttention(num_heads=2, key_dim=4) `attn` (self-attention, `attn(x, x)`) → Dense(3) `head` "
                 "→ Softmax `softmax` (functional model)",
    keras_input="[N=2, T=4, C=8]", torch_input="[N=2, T=4, C=8] (a batch-first attention module)",
    input_layout="[N, T, C]", to_torch=(0, 1, 2),
    keras_model=keras_attention_block, torch_port=torch_attention_block,
    ports={
        "faithful": Port(None, "None: `nn.LayerNorm(8, eps=1e-3)`, exact `nn.GELU()`, a custom attention module "
                         "`attn` whose `query`/`key`/`value`/`attention_output` Linear layers take the Keras "
                         "EinsumDense kernels reshaped (`(8, 2, 4) → (8, 8)`, transposed), scores scaled by "
                         "`1/sqrt(key_dim)`, `nn.Softmax(dim=-1)` (conventions.md A.1, C.12, E.17, E.19, F.20)."),
        "layernorm-epsilon": Port("layernorm-epsilon", "`nn.LayerNorm(8)` keeps PyTorch's default `eps=1e-5`; Keras's "
                                  "LayerNormalization uses `epsilon=1e-3` (conventions.md C.12).",
                                  "norm", "`nn.LayerNorm(8, eps=1e-3)`"),
        "gelu-approximation": Port("gelu-approximation", "`nn.GELU(approximate=\"tanh\")`; the Keras "
                                   "`Activation(\"gelu\")` is `keras.activations.gelu(approximate=False)`, the exact "
                                   "erf form (conventions.md F.20).", "act", "`nn.GELU()` (approximate=\"none\")"),
        "attention-scaling": Port("attention-scaling", "The attention scores are scaled by `1/sqrt(8)` "
                                  "(1/sqrt(embed dim), as `nn.MultiheadAttention` would with `head_dim = E`) instead "
                                  "of Keras's `1/sqrt(key_dim) = 1/sqrt(4)` (conventions.md E.17).", "attn",
                                  "scale the scores by `1/sqrt(key_dim)`, `key_dim = 4` per head"),
        "softmax-axis": Port("softmax-axis", "`nn.Softmax(dim=1)` on the [N, T, C] head output normalises over the "
                             "time axis; Keras's Softmax uses `axis=-1` (conventions.md E.19).", "softmax",
                             "`nn.Softmax(dim=-1)`"),
    },
    note="The Keras MultiHeadAttention math was checked in NumPy float64 against Keras's own `attn` output when "
         "generating: per-head EinsumDense projections, scores `(q·k)·1/sqrt(key_dim)` (Keras 3.15 on TensorFlow "
         "calls `ops.dot_product_attention(scale=1/sqrt(key_dim))`, which multiplies the q·k logits by the scale "
         "rather than scaling the query first), softmax over the keys, output EinsumDense `(heads, key_dim, out)`.",
)


# --------------------------------------------------------------------------------------------------------------
# cnn_pool_upsample
# --------------------------------------------------------------------------------------------------------------

def keras_cnn_pool_upsample(rng):
    import keras
    model = keras.Sequential([
        keras.Input((7, 7, 3)),
        keras.layers.Conv2D(4, 3, padding="valid", name="conv"),
        keras.layers.LeakyReLU(name="leaky"),
        keras.layers.AveragePooling2D(2, strides=2, padding="same", name="pool"),
        keras.layers.UpSampling2D(2, interpolation="bilinear", name="up"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(3, name="dense"),
    ], name="cnn_pool_upsample")
    weights = {
        "conv/kernel": (rng.standard_normal((3, 3, 3, 4)) * 0.4).astype(f32),
        "conv/bias": (rng.standard_normal(4) * 0.1).astype(f32),
        "dense/kernel": (rng.standard_normal((144, 3)) * 0.2).astype(f32),
        "dense/bias": (rng.standard_normal(3) * 0.1).astype(f32),
    }
    k = weights["conv/kernel"]
    assert np.abs(k - k.transpose(1, 0, 2, 3)).max() > 0.1   # not symmetric in (kh, kw): kernel-layout shows
    set_weights(model, weights, {"conv": ["kernel", "bias"], "dense": ["kernel", "bias"]})
    x = rng.standard_normal((2, 7, 7, 3)).astype(f32)
    return model, weights, x


def torch_cnn_pool_upsample(port, mistake, w):
    import torch.nn as nn
    import torch.nn.functional as F
    from torch_helpers import KerasFlatten, dense_from_keras

    class PadThenPool(nn.Module):
        """Zero-pads bottom/right by one, then AvgPool2d(2, 2): the padded zeros count in the divisor."""

        def __init__(self):
            super().__init__()
            self.pool = nn.AvgPool2d(2, 2)

        def forward(self, x):
            return self.pool(F.pad(x, (0, 1, 0, 1)))

    class CnnPoolUpsample(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.leaky = nn.LeakyReLU() if mistake == "activation-variant" else nn.LeakyReLU(0.3)
            # ceil_mode: the last window hangs over the edge and PyTorch averages over its in-bounds cells only,
            # which is TensorFlow's `same` here (5 -> 3, padding only after).
            self.pool = PadThenPool() if mistake == "pool-count-include-pad" else nn.AvgPool2d(2, 2, ceil_mode=True)
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=mistake == "interpolation-mode")
            self.flatten = KerasFlatten()
            self.dense = nn.Linear(144, 3)

        def forward(self, x):           # x [N, C, H, W]
            return self.dense(self.flatten(self.up(self.pool(self.leaky(self.conv(x))))))

    m = CnnPoolUpsample()
    kernel = w["conv/kernel"]
    m.conv.weight.copy_(kernel.permute(3, 2, 1, 0) if mistake == "kernel-layout" else kernel.permute(3, 2, 0, 1))
    m.conv.bias.copy_(w["conv/bias"])
    dense_from_keras(m.dense, w, "dense")
    if mistake == "weights-differ":
        m.dense.bias[1] += 0.05
    return m


CNN_POOL_UPSAMPLE = Example(
    name="cnn_pool_upsample", seed=14,
    architecture="Conv2D(4, 3, padding=\"valid\") `conv` → LeakyReLU() `leaky` (negative_slope 0.3) → "
                 "AveragePooling2D(2, strides=2, padding=\"same\") `pool` (5×5 → 3×3) → "
                 "UpSampling2D(2, interpolation=\"bilinear\") `up` → Flatten `flatten` → Dense(3) `dense`",
    keras_input="NHWC [2, 7, 7, 3]", torch_input="NCHW [2, 3, 7, 7]", input_layout="NHWC", to_torch=(0, 3, 1, 2),
    keras_model=keras_cnn_pool_upsample, torch_port=torch_cnn_pool_upsample,
    ports={
        "faithful": Port(None, "None: `nn.LeakyReLU(0.3)`; `nn.AvgPool2d(2, 2, ceil_mode=True)` (its overhanging "
                         "last window averages the in-bounds cells only, as TensorFlow's `same` excludes its padding "
                         "here); `nn.Upsample(scale_factor=2, mode=\"bilinear\", align_corners=False)`; Keras flatten "
                         "order (conventions.md A.2, A.5, B.9, F.24, G.26)."),
        "pool-count-include-pad": Port("pool-count-include-pad", "`F.pad(x, (0, 1, 0, 1))` then `nn.AvgPool2d(2, 2)`: "
                                       "the padded zeros are averaged in (the border windows divide by 4 instead of "
                                       "2 or 1); TensorFlow's `same` average pooling excludes the padding from the "
                                       "divisor (conventions.md B.9).", "pool",
                                       "`nn.AvgPool2d(2, 2, ceil_mode=True)` here, or divide a sum-pool by a count map"),
        "activation-variant": Port("activation-variant", "`nn.LeakyReLU()` keeps PyTorch's default slope 0.01; the "
                                   "Keras LeakyReLU layer defaults to `negative_slope=0.3` (conventions.md F.24).",
                                   "leaky", "`nn.LeakyReLU(0.3)`"),
        "interpolation-mode": Port("interpolation-mode", "`nn.Upsample(scale_factor=2, mode=\"bilinear\", "
                                   "align_corners=True)`; Keras 3's bilinear UpSampling2D uses half-pixel centres, "
                                   "i.e. `align_corners=False` (conventions.md G.26).", "up",
                                   "`align_corners=False`"),
        "kernel-layout": Port("kernel-layout", "The conv kernel is converted with `permute(3, 2, 1, 0)` instead of "
                              "`permute(3, 2, 0, 1)`: kernel height and width are swapped (the kernel is not "
                              "symmetric; conventions.md A.2).", "conv", "`weight = kernel.permute(3, 2, 0, 1)`"),
        "weights-differ": Port("weights-differ", "`dense.bias[1]` is 0.05 off, as if the port loaded another "
                               "checkpoint: no convention differs, the weights do.", "dense",
                               "load the same weights (compare the checkpoints)"),
    },
)


# --------------------------------------------------------------------------------------------------------------
# dense_bn_small_effect
# --------------------------------------------------------------------------------------------------------------

def keras_dense_bn_small_effect(rng):
    import keras
    model = keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(8, name="dense1"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.Dense(2, name="dense2"),
    ], name="dense_bn_small_effect")
    weights = {
        # Large activations and large moving variances: epsilon 1e-3 vs 1e-5 scales bn's output by
        # sqrt((v + 1e-5) / (v + 1e-3)) ~ 1 - 1e-6.
        "dense1/kernel": (rng.standard_normal((6, 8)) * 10).astype(f32),
        "dense1/bias": (rng.standard_normal(8) * 1.0).astype(f32),
        "bn/gamma": (1 + rng.standard_normal(8) * 0.2).astype(f32),
        "bn/beta": (rng.standard_normal(8) * 0.2).astype(f32),
        "bn/moving_mean": (rng.standard_normal(8) * 2).astype(f32),
        "bn/moving_variance": rng.uniform(300, 900, 8).astype(f32),
        "dense2/kernel": (rng.standard_normal((8, 2)) * 0.5).astype(f32),
        "dense2/bias": (rng.standard_normal(2) * 0.1).astype(f32),
    }
    set_weights(model, weights, {"dense1": ["kernel", "bias"],
                                 "bn": ["gamma", "beta", "moving_mean", "moving_variance"],
                                 "dense2": ["kernel", "bias"]})
    x = rng.standard_normal((4, 6)).astype(f32)
    return model, weights, x


def torch_dense_bn_small_effect(port, mistake, w):
    import torch.nn as nn
    from torch_helpers import bn_from_keras, dense_from_keras
    m = nn.Sequential()
    m.add_module("dense1", nn.Linear(6, 8))
    m.add_module("bn", nn.BatchNorm1d(8) if mistake == "batchnorm-epsilon" else nn.BatchNorm1d(8, eps=1e-3))
    m.add_module("dense2", nn.Linear(8, 2))
    dense_from_keras(m.dense1, w, "dense1")
    bn_from_keras(m.bn, w, "bn")
    dense_from_keras(m.dense2, w, "dense2")
    return m


DENSE_BN_SMALL_EFFECT = Example(
    name="dense_bn_small_effect", seed=15,
    architecture="Dense(8) `dense1` → BatchNormalization `bn` (moving variances 300–900) → Dense(2) `dense2`",
    keras_input="[N=4, 6]", torch_input="[N=4, 6]", input_layout="[N, F]", to_torch=(0, 1),
    keras_model=keras_dense_bn_small_effect, torch_port=torch_dense_bn_small_effect,
    ports={
        "faithful": Port(None, "None: `nn.BatchNorm1d(8, eps=1e-3)` (conventions.md A.1, C.11)."),
        "batchnorm-epsilon": Port("batchnorm-epsilon", "`nn.BatchNorm1d(8)` keeps PyTorch's default `eps=1e-5`; "
                                  "Keras's BatchNormalization uses `epsilon=1e-3` (conventions.md C.11). The moving "
                                  "variances are large (300–900), so the epsilon changes bn's output by only ~1e-6 "
                                  "relative and the model output by less than 1e-5: within `assert_close`'s atol, "
                                  "yet a systematic difference that Float64 runs show clearly.", "bn",
                                  "`nn.BatchNorm1d(8, eps=1e-3)`"),
    },
    note="The planted mistake's effect on the output is below 1e-5 (asserted when generating): the float32 outputs "
         "may pass `torch.testing.assert_close`, but the Float64 difference from the faithful port (in each port's "
         "README) is far above Float64 rounding.",
)

# --------------------------------------------------------------------------------------------------------------
# pool_ceil
# --------------------------------------------------------------------------------------------------------------

def keras_pool_ceil(rng):
    import keras
    model = keras.Sequential([
        keras.Input((5, 5, 3)),
        keras.layers.MaxPooling2D(2, strides=2, padding="same", name="pool"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(2, name="dense"),
    ], name="pool_ceil")
    weights = {
        "dense/kernel": (rng.standard_normal((3, 2)) * 0.5).astype(f32),
        "dense/bias": (rng.standard_normal(2) * 0.1).astype(f32),
    }
    set_weights(model, weights, {"dense": ["kernel", "bias"]})
    x = rng.standard_normal((2, 5, 5, 3)).astype(f32)
    return model, weights, x


def torch_pool_ceil(port, mistake, w):
    import torch.nn as nn
    from torch_helpers import dense_from_keras

    class PoolCeil(nn.Module):
        def __init__(self):
            super().__init__()
            # TensorFlow's `same` max pooling of 5 cells by 2 pads one cell after: ceil_mode=True keeps the
            # overhanging last window (5 -> 3); the default floor mode drops it (5 -> 2).
            self.pool = nn.MaxPool2d(2, 2) if mistake == "pool-ceil-mode" else nn.MaxPool2d(2, 2, ceil_mode=True)
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.dense = nn.Linear(3, 2)

        def forward(self, x):           # x [N, C, H, W]
            return self.dense(self.gap(self.pool(x)).flatten(1))

    m = PoolCeil()
    dense_from_keras(m.dense, w, "dense")
    return m


POOL_CEIL = Example(
    name="pool_ceil", seed=16,
    architecture="MaxPooling2D(2, strides=2, padding=\"same\") `pool` (5×5 → 3×3) → GlobalAveragePooling2D `gap` → "
                 "Dense(2) `dense`",
    keras_input="NHWC [2, 5, 5, 3]", torch_input="NCHW [2, 3, 5, 5]", input_layout="NHWC", to_torch=(0, 3, 1, 2),
    keras_model=keras_pool_ceil, torch_port=torch_pool_ceil,
    ports={
        "faithful": Port(None, "None: `nn.MaxPool2d(2, 2, ceil_mode=True)` keeps the last, overhanging window, as "
                         "TensorFlow's `same` does here (it pads one cell after; conventions.md B.9)."),
        "pool-ceil-mode": Port("pool-ceil-mode", "`nn.MaxPool2d(2, 2)` floors the output size (5 → 2) and drops "
                               "the last row and column; TensorFlow's `same` keeps them (5 → 3). The global average "
                               "after it hides the shape change, not the values (conventions.md B.9).", "pool",
                               "`nn.MaxPool2d(2, 2, ceil_mode=True)`"),
    },
)

EXAMPLES = [CONV_BN_DENSE, RNN_SEQUENCE, GRU_RESET_BEFORE, ATTENTION_BLOCK, CNN_POOL_UPSAMPLE, DENSE_BN_SMALL_EFFECT, POOL_CEIL]


# --------------------------------------------------------------------------------------------------------------
# Shared code
# --------------------------------------------------------------------------------------------------------------

def set_weights(model, weights, layers):
    for layer, names in layers.items():
        model.get_layer(layer).set_weights([weights[f"{layer}/{n}"] for n in names])


def keras_half(examples):
    import keras
    import tensorflow as tf
    for ex in examples:
        print(f"{ex.name}:")
        out = os.path.join(ROOT, ex.name)
        os.makedirs(out, exist_ok=True)
        model, weights, x = ex.keras_model(np.random.default_rng(ex.seed))
        model.save(os.path.join(out, "keras.keras"))
        np.savez(os.path.join(out, "weights.npz"), **weights)
        np.save(os.path.join(out, "input.npy"), x)
        y = model.predict(x, verbose=0)
        meta = {"keras": keras.__version__, "tensorflow": tf.__version__, "output": y.tolist()}
        with open(os.path.join(out, "keras_meta.json"), "w") as f:
            json.dump(meta, f)
        print("  keras:", y.reshape(len(y), -1)[0])


def write_torch_helpers():
    """The PyTorch helpers shared by the ports, as an importable module (the port builders import it lazily so
    that this file can be imported without torch)."""
    import types

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class TFSameConv2d(nn.Module):
        """A Conv2d after an explicit pad: TensorFlow's asymmetric `same` padding."""

        def __init__(self, conv, pad):
            super().__init__()
            self.pad = pad
            self.conv = conv

        def forward(self, x):
            return self.conv(F.pad(x, self.pad))

    class KerasFlatten(nn.Module):
        """Flatten in Keras's (H, W, C) order."""

        def forward(self, x):
            return x.permute(0, 2, 3, 1).flatten(1)

    class LastState(nn.Module):
        """An nn.GRU / nn.LSTM returning its last hidden state [N, H], as a Keras RNN with return_sequences=False.
        (An nn.GRU called directly in the parent module ends its module frame with the sequence output [T, N, H],
        which `parity compare` cannot pair with the Keras layer's [N, H].)"""

        def __init__(self, rnn):
            super().__init__()
            self.rnn = rnn

        def forward(self, x):
            _, h = self.rnn(x)
            return h[-1] if isinstance(h, torch.Tensor) else h[0][-1]

    def dense_from_keras(linear, w, name):
        linear.weight.copy_(w[f"{name}/kernel"].T)
        linear.bias.copy_(w[f"{name}/bias"])

    def bn_from_keras(bn, w, name):
        bn.weight.copy_(w[f"{name}/gamma"])
        bn.bias.copy_(w[f"{name}/beta"])
        bn.running_mean.copy_(w[f"{name}/moving_mean"])
        bn.running_var.copy_(w[f"{name}/moving_variance"])

    def gate_blocks(t, order):
        """Reorders the gate blocks of the last axis of a Keras RNN kernel / bias."""
        return torch.cat([c for c in (t.chunk(len(order), dim=-1)[i] for i in order)], dim=-1)

    module = types.ModuleType("torch_helpers")
    for obj in (TFSameConv2d, KerasFlatten, LastState, dense_from_keras, bn_from_keras, gate_blocks):
        setattr(module, obj.__name__, obj)
    sys.modules["torch_helpers"] = module


def torch_half(examples):
    import torch

    write_torch_helpers()
    for ex in examples:
        print(f"{ex.name}:")
        base = os.path.join(ROOT, ex.name)
        w = {k: torch.from_numpy(v) for k, v in np.load(os.path.join(base, "weights.npz")).items()}
        x = torch.from_numpy(np.load(os.path.join(base, "input.npy"))).permute(*ex.to_torch).contiguous()
        keras_out = np.array(json.load(open(os.path.join(base, "keras_meta.json")))["output"], dtype=np.float32)
        D = f"examples/{ex.name}"

        def build(name, port):
            torch.manual_seed(0)
            with torch.no_grad():
                m = ex.torch_port(name, port.cause, w)
            return m if name in ex.train_mode_ports else m.eval()

        # The faithful port in Float64: the reference each port's Float64 difference is measured against.
        with torch.no_grad():
            reference64 = build("faithful", ex.ports["faithful"]).double()(x.double()).numpy()
        rows = []
        for name, port in ex.ports.items():
            m = build(name, port)
            ep = torch.export.export(m, (x,))   # before running it: a train-mode run would update its buffers
            with torch.no_grad():
                y = m(x).numpy()
            with torch.no_grad():
                y64 = build(name, port).double()(x.double()).numpy()
            out = os.path.join(base, name)
            os.makedirs(out, exist_ok=True)
            torch.export.save(ep, os.path.join(out, "torch.pt2"))
            diff = float(np.abs(y - keras_out).max())
            diff64 = float(np.abs(y64 - reference64).max())
            if name == "faithful":
                assert diff < 1e-4, (ex.name, diff)
            elif ex.name == "dense_bn_small_effect":
                assert diff < 1e-5 and diff64 > 1e-8, (diff, diff64)
            else:
                assert diff64 > 1e-4, (ex.name, name, diff64)
            if port.cause is None:
                expect = port.expect or FAITHFUL_EXPECT
            else:
                expect = port.expect or (f"The first diverging layer is `{port.layer}`; cause id `{port.cause}`. "
                                         f"Fix: {port.fix}.")
            mode = " Exported in train mode." if name in ex.train_mode_ports else ""
            f64 = "" if port.cause is None else ("; the port run in Float64 differs from the faithful port run in "
                                                 f"Float64 by {diff64:.3g}")
            with open(os.path.join(out, "README.md"), "w") as f:
                f.write(f"# Example `{name}`: a PyTorch port of a small Keras model\n\n"
                        f"Generated by `scripts/make_compare_examples.py` (do not edit). `../keras.keras` is the "
                        f"original ({ex.architecture}, input {ex.keras_input}); `torch.pt2` is a torch.export port "
                        f"with the same weights (input {ex.torch_input}), its submodules named after the Keras "
                        f"layers; `../input.npy` is the {ex.input_layout} input.{mode}\n\n"
                        f"**Planted mistake:** {port.planted}\n\n"
                        f"**Expected from `parity compare`:** {expect}\n\n"
                        f"Measured when generated: max |Keras − PyTorch| on the output = {diff:.3g} "
                        f"(torch {torch.__version__}){f64}.\n\n"
                        "```sh\n"
                        f"parity compare {D}/keras.keras {D}/{name}/torch.pt2 --input {D}/input.npy\n"
                        "```\n")
            print(f"  {name}: max |keras - torch| = {diff:.3g}, float64 vs faithful = {diff64:.3g}")
            rows.append(f"| [`{name}/`]({name}/README.md) | {port.cause or 'none'} | {port.layer or '—'} | "
                        f"{diff:.3g} |")
        note = f"{ex.note}\n\n" if ex.note else ""
        with open(os.path.join(base, "README.md"), "w") as f:
            f.write(f"# Example `{ex.name}`: one Keras model, several PyTorch ports\n\n"
                    f"Generated by `scripts/make_compare_examples.py` (do not edit). `keras.keras`: "
                    f"{ex.architecture}; `input.npy`: {ex.keras_input}; `weights.npz`: the Keras weights the "
                    f"PyTorch half converts. Each subdirectory holds one torch.export port (`torch.pt2`, input "
                    f"{ex.torch_input}) with its README.\n\n{note}"
                    "| port | planted mistake (cause id) | expected first diverging layer | max abs output difference "
                    "when generated |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    names = sys.argv[2:]
    unknown = set(names) - {e.name for e in EXAMPLES}
    if len(sys.argv) < 2 or sys.argv[1] not in ("keras", "torch") or unknown:
        sys.exit("usage: make_compare_examples.py keras|torch [EXAMPLE ...] (Keras first, in separate processes); "
                 f"examples: {', '.join(e.name for e in EXAMPLES)}")
    chosen = [e for e in EXAMPLES if not names or e.name in names]
    keras_half(chosen) if sys.argv[1] == "keras" else torch_half(chosen)
