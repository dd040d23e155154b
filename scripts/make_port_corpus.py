#!/usr/bin/env python3
"""The port corpus for `parity compare` (examples/ports/): small Keras models and the PyTorch ports an ordinary
PyTorch user writes for them — modules plus functional code in `forward` (`torch.sigmoid`, `F.relu`, `out[:, -1]`,
`x.permute(...).flatten(1)`, `F.pad`, slicing), module names of their own choosing (`fc1`, `conv1`, `head`), the
input in PyTorch's habitual layout. Each model has a faithful port and, for most, a naive twin carrying ONE
classic porting mistake (the port directory is named after the cause id Parity should report).

The ports are written the way users write them, not to suit Parity's pairing. Generated, do not edit the
outputs by hand. Keras and PyTorch are never imported in one process; run the Keras half first:

    TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 ~/venv-ref/bin/python scripts/make_port_corpus.py keras [NAME ...]
    nice -n 10 ~/venv-ref/bin/python scripts/make_port_corpus.py torch [NAME ...]

Writes, under examples/ports/NAME/:
  keras.keras   the Keras model (`model.save`)
  weights.npz   its weights keyed by variable path without the model name (`dense/kernel`,
                `bi/forward_lstm/lstm_cell/kernel`), read by the PyTorch half as a user would read them
  input.npz     the inputs in Keras's layout keyed by the Keras input names (token ids int32)
  keras_out.npy Keras's output on input.npz (float32)
  PORT/torch.pt2  `torch.export.save(torch.export.export(port.eval(), args))` of each port
and examples/ports/corpus.json: every port with its pattern, what `parity compare` must say (exit 0; or exit 1
with the cause at the Keras layer that carries the mistake) and the measured max |Keras − PyTorch| on the output.
"""
import json
import math
import os
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "ports")
f32 = np.float32

# name -> dict(pattern, keras, torch, inputs (np dict -> torch args), mistakes {cause: (keras layer, what)})
PORTS = {}


def port(name, pattern, mistakes=None, seed=0):
    def register(keras_fn):
        PORTS[name] = dict(pattern=pattern, keras=keras_fn, mistakes=mistakes or {}, seed=seed or (len(PORTS) + 1))
        return keras_fn
    return register


def torch_port(name, to_torch):
    def register(fn):
        PORTS[name]["torch"] = fn
        PORTS[name]["to_torch"] = to_torch
        return fn
    return register


# Input conversions a user writes before calling the port.
def same(x):
    import torch
    return tuple(torch.from_numpy(v) for v in x.values())


def nchw(x):
    import torch
    return tuple(torch.from_numpy(v).permute(0, 3, 1, 2).contiguous() for v in x.values())


def time_first(x):
    import torch
    return tuple(torch.from_numpy(v).permute(1, 0, 2).contiguous() for v in x.values())


def tokens(x):
    import torch
    return tuple(torch.from_numpy(v.astype(np.int64)) for v in x.values())


# ==============================================================================================================
# Keras half
# ==============================================================================================================

def randomize(model, rng, variance=(0.5, 1.5)):
    """Random weights of a typical scale: kernels N(0, 1/fan_in), biases N(0, 0.1), BatchNorm moving variance
    uniform in `variance`, gammas near 1."""
    for v in model.weights:
        shape = tuple(v.shape)
        name = v.path.split("/")[-1]
        if name == "moving_variance":
            value = rng.uniform(*variance, shape)
        elif name == "gamma":
            value = 1 + 0.2 * rng.standard_normal(shape)
        elif name in ("bias", "beta", "moving_mean"):
            value = 0.1 * rng.standard_normal(shape) if name != "moving_mean" else 0.3 * rng.standard_normal(shape)
        else:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            if "attention_output" in v.path:
                fan_in = int(np.prod(shape[:-1]))
            value = rng.standard_normal(shape) / math.sqrt(max(1, fan_in))
        v.assign(value.astype(f32))


def weights_of(model):
    prefix = model.name + "/"
    return {(v.path[len(prefix):] if v.path.startswith(prefix) else v.path): np.asarray(v.numpy(), f32) for v in model.weights}


@port("ffn_sigmoid", "the seed article's FFN: Dense(10, activation='sigmoid') ↔ nn.Linear + torch.sigmoid in forward",
      {"kernel-layout": ("hidden", "fc1.weight = kernel.reshape(10, 5) instead of kernel.T"),
       "weights-precision": ("hidden", "fc1 loaded from a float16 checkpoint: its weight and bias rounded to float16 (.half().float())")})
def k_ffn_sigmoid(keras, rng):
    inp = keras.Input((5,), name="x")
    h = keras.layers.Dense(10, activation="sigmoid", name="hidden")(inp)
    out = keras.layers.Dense(1, name="out")(h)
    return keras.Model(inp, out, name="ffn"), {"x": rng.standard_normal((16, 5))}


@port("lstm_last_step", "LSTM(10) (last step) ↔ nn.LSTM(batch_first=True) then out[:, -1]",
      {"lstm-bias-doubled": ("lstm", "Keras's bias copied into bias_ih_l0 and bias_hh_l0")})
def k_lstm_last_step(keras, rng):
    return keras.Sequential([keras.Input((8, 4)), keras.layers.LSTM(10, name="lstm"), keras.layers.Dense(1, name="dense")],
                            name="m"), {"x": rng.standard_normal((3, 8, 4))}


@port("lstm_time_first", "the seed's LSTM: LSTM(10) ↔ nn.LSTM (time-first input, batch_first=False) then out[-1, :]",
      {"lstm-gate-order": ("lstm", "gate blocks reordered as if Keras stored TF1's [i, c, f, o]")})
def k_lstm_time_first(keras, rng):
    return keras.Sequential([keras.Input((10, 3)), keras.layers.LSTM(10, name="lstm"), keras.layers.Dense(1, name="dense")],
                            name="m"), {"x": rng.standard_normal((3, 10, 3))}


@port("gru_stacked", "two stacked GRU(8) (the second returns the last step) ↔ one nn.GRU(num_layers=2, batch_first=True), out[:, -1]",
      {"gru-gate-order": ("gru_2", "the second layer's gate blocks copied in Keras's [z, r, h] order")})
def k_gru_stacked(keras, rng):
    return keras.Sequential([keras.Input((6, 5)), keras.layers.GRU(8, return_sequences=True, name="gru_1"),
                             keras.layers.GRU(8, name="gru_2"), keras.layers.Dense(3, name="dense")],
                            name="m"), {"x": rng.standard_normal((2, 6, 5))}


@port("gru_two_modules", "GRU(8, return_sequences=True) → GRU(6) ↔ two nn.GRU modules, the last hidden state h_n[-1]",
      {"gru-gate-order": ("gru_b", "the second GRU's gate blocks copied in Keras's [z, r, h] order")})
def k_gru_two_modules(keras, rng):
    return keras.Sequential([keras.Input((7, 4)), keras.layers.GRU(8, return_sequences=True, name="gru_a"),
                             keras.layers.GRU(6, name="gru_b"), keras.layers.Dense(2, name="dense")],
                            name="m"), {"x": rng.standard_normal((2, 7, 4))}


@port("cnn_permute_inside", "a CNN taking NHWC and permuting to NCHW inside forward, 8×8 maps of 8 channels (C = H = W); "
      "F.relu, F.max_pool2d, F.avg_pool2d, permute(...).flatten(1)",
      {"flatten-order": ("flat", "x.flatten(1) on the NCHW activations (no permute back to NHWC)")})
def k_cnn_permute_inside(keras, rng):
    inp = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv1")(inp)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU(name="relu1")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="maxpool")(x)
    x = keras.layers.AveragePooling2D(2, name="avgpool")(x)
    x = keras.layers.Flatten(name="flat")(x)
    out = keras.layers.Dense(4, name="head")(x)
    return keras.Model(inp, out, name="cnn"), {"image": rng.standard_normal((2, 8, 8, 3))}


@port("cnn_functional", "NCHW CNN with F.pad for TensorFlow's 'same' at stride 2, F.relu, x.mean((2, 3)) for global "
      "pooling, F.softmax(dim=1)",
      {"padding-same": ("conv_s2", "nn.Conv2d(..., stride=2, padding=1): symmetric instead of TensorFlow's (0, 1)")})
def k_cnn_functional(keras, rng):
    inp = keras.Input((12, 12, 3), name="image")
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="conv_s2")(inp)
    x = keras.layers.Conv2D(8, 3, padding="valid", activation="relu", name="conv_valid")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(5, activation="softmax", name="classifier")(x)
    return keras.Model(inp, out, name="cnn"), {"image": rng.standard_normal((2, 12, 12, 3))}


@port("mha_module", "MultiHeadAttention(2, key_dim=4) + residual + LayerNormalization ↔ nn.MultiheadAttention("
      "batch_first=True) (packed in_proj_weight), nn.LayerNorm",
      {"layernorm-epsilon": ("norm", "nn.LayerNorm(8) keeps eps=1e-5; Keras uses 1e-3")})
def k_mha_module(keras, rng):
    inp = keras.Input((6, 8), name="tokens")
    a = keras.layers.MultiHeadAttention(2, 4, name="mha")(inp, inp)
    x = keras.layers.Add(name="residual")([inp, a])
    x = keras.layers.LayerNormalization(name="norm")(x)
    out = keras.layers.Dense(3, name="head")(x)
    return keras.Model(inp, out, name="attn"), {"tokens": rng.standard_normal((2, 6, 8)) * 0.3}


@port("mha_module_time_first", "MultiHeadAttention(2, key_dim=4) ↔ nn.MultiheadAttention(batch_first=False), the "
      "model taking time-first [T, N, E] input")
def k_mha_module_time_first(keras, rng):
    inp = keras.Input((5, 8), name="tokens")
    a = keras.layers.MultiHeadAttention(2, 4, name="mha")(inp, inp)
    x = keras.layers.Dense(8, activation="relu", name="ffn")(a)
    out = keras.layers.Dense(2, name="head")(x)
    return keras.Model(inp, out, name="attn"), {"tokens": rng.standard_normal((3, 5, 8))}


@port("mha_handwritten", "MultiHeadAttention(2, key_dim=4) ↔ hand-written q/k/v/o nn.Linear, view/transpose to heads, "
      "softmax(q @ kᵀ / sqrt(d)) @ v",
      {"attention-scaling": ("mha", "scores divided by sqrt(embed_dim = 8) instead of sqrt(key_dim = 4)")})
def k_mha_handwritten(keras, rng):
    inp = keras.Input((6, 8), name="tokens")
    a = keras.layers.MultiHeadAttention(2, 4, name="mha")(inp, inp)
    out = keras.layers.GlobalAveragePooling1D(name="pool")(a)
    return keras.Model(inp, out, name="attn"), {"tokens": rng.standard_normal((2, 6, 8))}


@port("conv_transpose_same", "Conv2DTranspose(padding='same', strides=2) ↔ nn.ConvTranspose2d(stride=2) + a crop in forward")
def k_conv_transpose_same(keras, rng):
    return keras.Sequential([keras.Input((5, 5, 4)), keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same", name="up"),
                             keras.layers.ReLU(name="relu"), keras.layers.Conv2D(2, 1, name="proj")],
                            name="m"), {"x": rng.standard_normal((2, 5, 5, 4))}


@port("bilstm", "Bidirectional(LSTM(5, return_sequences=True)) → GlobalMaxPooling1D ↔ nn.LSTM(bidirectional=True, "
      "batch_first=True), out.max(dim=1).values",
      {"weights-differ": ("bi", "the backward direction loaded with the forward layer's weights")})
def k_bilstm(keras, rng):
    inp = keras.Input((7, 4), name="seq")
    x = keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True), name="bi")(inp)
    x = keras.layers.GlobalMaxPooling1D(name="pool")(x)
    out = keras.layers.Dense(2, name="head")(x)
    return keras.Model(inp, out, name="m"), {"seq": rng.standard_normal((2, 7, 4))}


@port("bigru_sum", "Bidirectional(GRU(6), merge_mode='sum') ↔ nn.GRU(bidirectional=True), h_n[0] + h_n[1]",
      {"gru-gate-order": ("bi", "the backward direction's gate blocks copied in Keras's [z, r, h] order")})
def k_bigru_sum(keras, rng):
    inp = keras.Input((5, 3), name="seq")
    x = keras.layers.Bidirectional(keras.layers.GRU(6), merge_mode="sum", name="bi")(inp)
    out = keras.layers.Dense(2, name="head")(x)
    return keras.Model(inp, out, name="m"), {"seq": rng.standard_normal((2, 5, 3))}


@port("time_distributed", "TimeDistributed(Dense(4, relu)) → Flatten ↔ nn.Linear on [N, T, F] (it broadcasts), F.relu, x.flatten(1)",
      {"kernel-layout": ("td", "frame.weight = kernel.reshape(4, 6) instead of kernel.T")})
def k_time_distributed(keras, rng):
    return keras.Sequential([keras.Input((5, 6)), keras.layers.TimeDistributed(keras.layers.Dense(4, activation="relu"), name="td"),
                             keras.layers.Flatten(name="flatten"), keras.layers.Dense(2, name="out")],
                            name="m"), {"x": rng.standard_normal((2, 5, 6))}


# 5 filters on 4×4 maps: when C = H = W and the layer itself carries the mistake, no value agrees to tell NHWC from
# NCHW and Parity cannot pair it (it then names no cause: a known limit, docs/compare.md).
@port("time_distributed_conv", "TimeDistributed(Conv2D) over frames ↔ x.reshape(N*T, C, H, W), nn.Conv2d, reshape back",
      {"kernel-layout": ("td_conv", "conv.weight = kernel.reshape(5, 2, 3, 3) instead of kernel.permute(3, 2, 0, 1)")})
def k_time_distributed_conv(keras, rng):
    inp = keras.Input((3, 6, 6, 2), name="frames")
    x = keras.layers.TimeDistributed(keras.layers.Conv2D(5, 3, activation="relu"), name="td_conv")(inp)
    x = keras.layers.TimeDistributed(keras.layers.GlobalAveragePooling2D(), name="td_pool")(x)
    x = keras.layers.LSTM(3, name="lstm")(x)
    return keras.Model(inp, x, name="m"), {"frames": rng.standard_normal((2, 3, 6, 6, 2))}


@port("zero_padding", "ZeroPadding2D(((1, 2), (0, 1))) → Conv2D(valid, stride 2) ↔ F.pad(x, (0, 1, 1, 2)) then nn.Conv2d",
      {"pad-order": ("pad", "F.pad(x, (1, 2, 0, 1)): the pads written in Keras's (rows, columns) order; F.pad lists the last axis first")})
def k_zero_padding(keras, rng):
    return keras.Sequential([keras.Input((9, 9, 3)), keras.layers.ZeroPadding2D(((1, 2), (0, 1)), name="pad"),
                             keras.layers.Conv2D(4, 3, strides=2, name="conv"), keras.layers.Flatten(name="flatten"),
                             keras.layers.Dense(3, name="dense")],
                            name="m"), {"x": rng.standard_normal((2, 9, 9, 3))}


@port("cropping", "Conv2D → Cropping2D(((1, 1), (2, 0))) ↔ slicing x[:, :, 1:-1, 2:]",
      {"pad-order": ("crop", "x[:, :, 2:, 1:-1]: the crops written in (columns, rows) order")})
def k_cropping(keras, rng):
    return keras.Sequential([keras.Input((8, 8, 2)), keras.layers.Conv2D(3, 3, padding="same", name="conv"),
                             keras.layers.Cropping2D(((1, 1), (2, 0)), name="crop"), keras.layers.GlobalMaxPooling2D(name="pool")],
                            name="m"), {"x": rng.standard_normal((2, 8, 8, 2))}


@port("embedding_pool", "Embedding → GlobalAveragePooling1D → Dense(softmax) with int32 token ids ↔ nn.Embedding (int64 ids), "
      "x.mean(dim=1), F.softmax(dim=-1)",
      {"softmax-axis": ("probs", "F.softmax(logits, dim=0): over the batch")})
def k_embedding_pool(keras, rng):
    inp = keras.Input((12,), dtype="int32", name="ids")
    x = keras.layers.Embedding(50, 8, name="embed")(inp)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    out = keras.layers.Dense(3, activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="m"), {"ids": rng.integers(0, 50, (3, 12)).astype(np.int32)}


@port("conv1d_sequence", "Conv1D over [N, T, C] ↔ x.transpose(1, 2), nn.Conv1d(padding=2), F.max_pool1d, causal F.pad(x, (2, 0))")
def k_conv1d_sequence(keras, rng):
    inp = keras.Input((20, 4), name="signal")
    x = keras.layers.Conv1D(6, 5, padding="same", activation="relu", name="conv_a")(inp)
    x = keras.layers.MaxPooling1D(2, name="pool")(x)
    x = keras.layers.Conv1D(6, 3, padding="causal", name="conv_b")(x)
    x = keras.layers.GlobalAveragePooling1D(name="gap")(x)
    out = keras.layers.Dense(2, name="head")(x)
    return keras.Model(inp, out, name="m"), {"signal": rng.standard_normal((2, 20, 4))}


@port("sequence_softmax", "Dense(4, activation='softmax') on a sequence ↔ nn.Linear + F.softmax(dim=-1)",
      {"softmax-axis": ("scores", "F.softmax(x, dim=1): over the time axis")})
def k_sequence_softmax(keras, rng):
    return keras.Sequential([keras.Input((6, 5)), keras.layers.Dense(8, activation="tanh", name="proj"),
                             keras.layers.Dense(4, activation="softmax", name="scores")],
                            name="m"), {"x": rng.standard_normal((2, 6, 5))}


@port("transformer_ffn", "pre-norm transformer FFN: LayerNormalization → Dense(gelu) → Dense → Add ↔ nn.LayerNorm(eps=1e-3), "
      "F.gelu, x + ffn(x)",
      {"gelu-approximation": ("ffn_in", "F.gelu(x, approximate='tanh')")})
def k_transformer_ffn(keras, rng):
    inp = keras.Input((6, 8), name="x")
    h = keras.layers.LayerNormalization(name="ln")(inp)
    h = keras.layers.Dense(16, activation="gelu", name="ffn_in")(h)
    h = keras.layers.Dense(8, name="ffn_out")(h)
    out = keras.layers.Add(name="residual")([inp, h])
    return keras.Model(inp, out, name="m"), {"x": rng.standard_normal((2, 6, 8)) * 2}


@port("dense_bn", "Dense → BatchNormalization → ReLU → Dropout → Dense ↔ nn.Linear, nn.BatchNorm1d(eps=1e-3), F.relu, nn.Dropout",
      {"batchnorm-epsilon": ("bn", "nn.BatchNorm1d(16) keeps eps=1e-5; Keras uses 1e-3")})
def k_dense_bn(keras, rng):
    return keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, name="fc"), keras.layers.BatchNormalization(name="bn"),
                             keras.layers.ReLU(name="relu"), keras.layers.Dropout(0.3, name="drop"), keras.layers.Dense(2, name="out")],
                            name="m"), {"x": rng.standard_normal((4, 10))}


@port("residual_block", "ResNet basic block (functional Add of the skip) ↔ out += identity, F.relu, adaptive_avg_pool2d + flatten",
      {"kernel-layout": ("conv_b", "conv weight from kernel.permute(3, 2, 1, 0): kh and kw swapped")})
def k_residual_block(keras, rng):
    inp = keras.Input((8, 8, 4), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv_a")(inp)
    x = keras.layers.BatchNormalization(name="bn_a")(x)
    x = keras.layers.Activation("relu", name="relu_a")(x)
    x = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv_b")(x)
    x = keras.layers.BatchNormalization(name="bn_b")(x)
    x = keras.layers.Add(name="add")([x, inp])
    x = keras.layers.Activation("relu", name="relu_b")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(3, name="fc")(x)
    return keras.Model(inp, out, name="m"), {"image": rng.standard_normal((2, 8, 8, 4))}


@port("concat_branches", "two convolution branches concatenated on channels ↔ torch.cat([a, b], dim=1)")
def k_concat_branches(keras, rng):
    inp = keras.Input((6, 6, 3), name="image")
    a = keras.layers.Conv2D(4, 1, activation="relu", name="branch_1x1")(inp)
    b = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="branch_3x3")(inp)
    x = keras.layers.Concatenate(name="concat")([a, b])
    x = keras.layers.GlobalMaxPooling2D(name="pool")(x)
    out = keras.layers.Dense(2, name="fc")(x)
    return keras.Model(inp, out, name="m"), {"image": rng.standard_normal((2, 6, 6, 3))}


@port("nested_sequential", "a Keras Sequential block nested in a functional model ↔ nn.Sequential features + classifier")
def k_nested_sequential(keras, rng):
    block = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="c1"), keras.layers.ReLU(name="r1"),
                              keras.layers.Conv2D(4, 3, name="c2"), keras.layers.ReLU(name="r2")], name="features")
    inp = keras.Input((8, 8, 3), name="image")
    x = block(inp)
    x = keras.layers.Flatten(name="flatten")(x)
    out = keras.layers.Dense(3, name="classifier")(x)
    return keras.Model(inp, out, name="m"), {"image": rng.standard_normal((2, 8, 8, 3))}


@port("upsample_bilinear", "UpSampling2D(interpolation='bilinear') ↔ F.interpolate(scale_factor=2, mode='bilinear')",
      {"interpolation-mode": ("up", "F.interpolate(..., align_corners=True)")})
def k_upsample_bilinear(keras, rng):
    return keras.Sequential([keras.Input((5, 5, 2)), keras.layers.Conv2D(3, 3, padding="same", name="conv"),
                             keras.layers.UpSampling2D(2, interpolation="bilinear", name="up"),
                             keras.layers.Conv2D(1, 3, name="out")],
                            name="m"), {"x": rng.standard_normal((2, 5, 5, 2))}


@port("leaky_cnn", "Conv2D → LeakyReLU() (Keras slope 0.3) ↔ F.leaky_relu(x, 0.3)",
      {"activation-variant": ("leaky", "F.leaky_relu(x) with PyTorch's default slope 0.01")})
def k_leaky_cnn(keras, rng):
    return keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(4, 3, name="conv"), keras.layers.LeakyReLU(name="leaky"),
                             keras.layers.GlobalAveragePooling2D(name="gap"), keras.layers.Dense(2, name="fc")],
                            name="m"), {"x": rng.standard_normal((2, 6, 6, 2))}


@port("simple_rnn", "SimpleRNN(8) ↔ nn.RNN(batch_first=True), the final hidden state h_n.squeeze(0)",
      {"rnn-bias-doubled": ("rnn", "Keras's bias copied into bias_ih_l0 and bias_hh_l0")})
def k_simple_rnn(keras, rng):
    return keras.Sequential([keras.Input((6, 3)), keras.layers.SimpleRNN(8, name="rnn"), keras.layers.Dense(2, name="fc")],
                            name="m"), {"x": rng.standard_normal((2, 6, 3))}


@port("avgpool_same", "AveragePooling2D(3, strides=2, padding='same') on 9×9 ↔ nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)",
      {"pool-count-include-pad": ("pool", "nn.AvgPool2d(3, 2, padding=1): PyTorch's default counts the padded zeros")})
def k_avgpool_same(keras, rng):
    return keras.Sequential([keras.Input((9, 9, 3)), keras.layers.Conv2D(4, 1, name="conv"),
                             keras.layers.AveragePooling2D(3, strides=2, padding="same", name="pool"),
                             keras.layers.Flatten(name="flatten"), keras.layers.Dense(2, name="fc")],
                            name="m"), {"x": rng.standard_normal((2, 9, 9, 3))}


@port("depthwise_separable", "DepthwiseConv2D → 1×1 Conv2D ↔ nn.Conv2d(groups=C) + nn.Conv2d(kernel_size=1), inside nn.Sequential")
def k_depthwise_separable(keras, rng):
    return keras.Sequential([keras.Input((7, 7, 4)), keras.layers.DepthwiseConv2D(3, padding="same", name="dw"),
                             keras.layers.BatchNormalization(name="bn"), keras.layers.ReLU(6.0, name="relu6"),
                             keras.layers.Conv2D(6, 1, name="pw"), keras.layers.GlobalAveragePooling2D(name="gap")],
                            name="m"), {"x": rng.standard_normal((2, 7, 7, 4))}


@port("two_inputs", "a two-input model (image and metadata) ↔ forward(image, meta) with torch.cat",
      {"weights-differ": ("fc", "the metadata columns of the joint Linear left at PyTorch's random initialisation")})
def k_two_inputs(keras, rng):
    img = keras.Input((6, 6, 2), name="image")
    meta = keras.Input((3,), name="meta")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(img)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Concatenate(name="concat")([x, meta])
    out = keras.layers.Dense(2, name="fc")(x)
    return keras.Model([img, meta], out, name="m"), {"image": rng.standard_normal((2, 6, 6, 2)), "meta": rng.standard_normal((2, 3))}


def keras_half(names):
    import keras
    import tensorflow as tf
    for name in names:
        spec = PORTS[name]
        rng = np.random.default_rng(1000 + spec["seed"])
        model, inputs = spec["keras"](keras, rng)
        names = [t._keras_history[0].name for t in model.inputs]   # the InputLayer names
        given = [(v.astype(f32) if v.dtype.kind == "f" else v) for v in inputs.values()]
        inputs = dict(zip(names, given))
        randomize(model, rng)
        base = os.path.join(ROOT, name)
        os.makedirs(base, exist_ok=True)
        model.save(os.path.join(base, "keras.keras"))
        np.savez(os.path.join(base, "weights.npz"), **weights_of(model))
        np.savez(os.path.join(base, "input.npz"), **inputs)
        args = [inputs[n] for n in names]
        y = np.asarray(model(args if len(args) > 1 else args[0]), f32)
        np.save(os.path.join(base, "keras_out.npy"), y)
        with open(os.path.join(base, "keras_meta.json"), "w") as f:
            json.dump({"keras": keras.__version__, "tensorflow": tf.__version__, "inputs": names}, f)
        print(f"{name}: keras output {y.shape}, weights {sorted(weights_of(model))}")


# ==============================================================================================================
# PyTorch half: each port as a user writes it. `w` holds the Keras weights as float32 tensors.
# ==============================================================================================================

@torch_port("ffn_sigmoid", same)
def t_ffn_sigmoid(w, mistake):
    import torch
    import torch.nn as nn

    class FFN(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(5, 10)
            self.fc2 = nn.Linear(10, 1)

        def forward(self, x):
            x = torch.sigmoid(self.fc1(x))
            return self.fc2(x)

    m = FFN()
    m.fc1.weight.copy_(w["hidden/kernel"].reshape(10, 5) if mistake == "kernel-layout" else w["hidden/kernel"].T)
    m.fc1.bias.copy_(w["hidden/bias"])
    if mistake == "weights-precision":
        m.fc1.weight.copy_(m.fc1.weight.half().float())
        m.fc1.bias.copy_(m.fc1.bias.half().float())
    m.fc2.weight.copy_(w["out/kernel"].T)
    m.fc2.bias.copy_(w["out/bias"])
    return m


def load_lstm(lstm, w, prefix, suffix="_l0", order=None, double_bias=False):
    k, r, b = w[f"{prefix}/kernel"], w[f"{prefix}/recurrent_kernel"], w[f"{prefix}/bias"]
    if order is not None:
        import torch
        n = k.shape[1] // len(order)
        blocks = lambda t: torch.cat([t[..., i * n:(i + 1) * n] for i in order], dim=-1)
        k, r, b = blocks(k), blocks(r), blocks(b)
    getattr(lstm, "weight_ih" + suffix).copy_(k.T)
    getattr(lstm, "weight_hh" + suffix).copy_(r.T)
    getattr(lstm, "bias_ih" + suffix).copy_(b)
    getattr(lstm, "bias_hh" + suffix).copy_(b if double_bias else b * 0)


def load_gru(gru, w, prefix, suffix="_l0", keras_order=False):
    """Keras GRU gates [z, r, h] -> PyTorch [r, z, n]; bias row 0 -> b_ih, row 1 -> b_hh (reset_after=True)."""
    import torch
    k, r, b = w[f"{prefix}/kernel"], w[f"{prefix}/recurrent_kernel"], w[f"{prefix}/bias"]
    n = k.shape[1] // 3

    def reorder(t):
        if keras_order:
            return t
        z, rr, h = t[..., :n], t[..., n:2 * n], t[..., 2 * n:]
        return torch.cat([rr, z, h], dim=-1)

    getattr(gru, "weight_ih" + suffix).copy_(reorder(k).T)
    getattr(gru, "weight_hh" + suffix).copy_(reorder(r).T)
    getattr(gru, "bias_ih" + suffix).copy_(reorder(b[0]))
    getattr(gru, "bias_hh" + suffix).copy_(reorder(b[1]))


def load_linear(linear, w, prefix):
    linear.weight.copy_(w[f"{prefix}/kernel"].T)
    linear.bias.copy_(w[f"{prefix}/bias"])


def load_conv(conv, w, prefix, bias=True):
    conv.weight.copy_(w[f"{prefix}/kernel"].permute(3, 2, 0, 1) if w[f"{prefix}/kernel"].dim() == 4
                      else w[f"{prefix}/kernel"].permute(2, 1, 0))
    if bias:
        conv.bias.copy_(w[f"{prefix}/bias"])


def load_bn(bn, w, prefix):
    bn.weight.copy_(w[f"{prefix}/gamma"])
    bn.bias.copy_(w[f"{prefix}/beta"])
    bn.running_mean.copy_(w[f"{prefix}/moving_mean"])
    bn.running_var.copy_(w[f"{prefix}/moving_variance"])


@torch_port("lstm_last_step", same)
def t_lstm_last_step(w, mistake):
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 10, batch_first=True)
            self.fc = nn.Linear(10, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[:, -1])

    m = Net()
    load_lstm(m.lstm, w, "lstm/lstm_cell", double_bias=mistake == "lstm-bias-doubled")
    load_linear(m.fc, w, "dense")
    return m


@torch_port("lstm_time_first", time_first)
def t_lstm_time_first(w, mistake):
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(3, 10)
            self.out = nn.Linear(10, 1)

        def forward(self, x):          # x: (seq_len, batch, features)
            y, (h, c) = self.rnn(x)
            return self.out(y[-1, :])

    m = Net()
    load_lstm(m.rnn, w, "lstm/lstm_cell", order=[0, 2, 1, 3] if mistake else None)
    load_linear(m.out, w, "dense")
    return m


@torch_port("gru_stacked", same)
def t_gru_stacked(w, mistake):
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(5, 8, num_layers=2, batch_first=True)
            self.fc = nn.Linear(8, 3)

        def forward(self, x):
            out, _ = self.gru(x)
            return self.fc(out[:, -1, :])

    m = Net()
    load_gru(m.gru, w, "gru_1/gru_cell", "_l0")
    load_gru(m.gru, w, "gru_2/gru_cell", "_l1", keras_order=mistake == "gru-gate-order")
    load_linear(m.fc, w, "dense")
    return m


@torch_port("gru_two_modules", same)
def t_gru_two_modules(w, mistake):
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.GRU(4, 8, batch_first=True)
            self.decoder = nn.GRU(8, 6, batch_first=True)
            self.fc = nn.Linear(6, 2)

        def forward(self, x):
            seq, _ = self.encoder(x)
            _, h = self.decoder(seq)
            return self.fc(h[-1])

    m = Net()
    load_gru(m.encoder, w, "gru_a/gru_cell")
    load_gru(m.decoder, w, "gru_b/gru_cell", keras_order=mistake == "gru-gate-order")
    load_linear(m.fc, w, "dense")
    return m


@torch_port("cnn_permute_inside", same)
def t_cnn_permute_inside(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(8, eps=1e-3)
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
            self.head = nn.Linear(32, 4)

        def forward(self, x):                  # x: NHWC, as the Keras model takes it
            x = x.permute(0, 3, 1, 2)
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = F.avg_pool2d(x, 2)
            x = x.flatten(1) if mistake else x.permute(0, 2, 3, 1).flatten(1)
            return self.head(x)

    m = CNN()
    load_conv(m.conv1, w, "conv1")
    load_bn(m.bn1, w, "bn1")
    load_conv(m.conv2, w, "conv2")
    load_linear(m.head, w, "head")
    return m


@torch_port("cnn_functional", nchw)
def t_cnn_functional(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 3, stride=2, padding=1 if mistake else 0)
            self.conv2 = nn.Conv2d(6, 8, 3)
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            if not mistake:
                x = F.pad(x, (0, 1, 0, 1))     # TensorFlow 'same' pads the extra row/column after
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = x.mean((2, 3))
            return F.softmax(self.fc(x), dim=1)

    m = CNN()
    load_conv(m.conv1, w, "conv_s2")
    load_conv(m.conv2, w, "conv_valid")
    load_linear(m.fc, w, "classifier")
    return m


def load_mha(mha, w, prefix, embed):
    import torch
    q, k, v = (w[f"{prefix}/{p}/kernel"].reshape(embed, -1).T for p in ("query", "key", "value"))
    mha.in_proj_weight.copy_(torch.cat([q, k, v], dim=0))
    mha.in_proj_bias.copy_(torch.cat([w[f"{prefix}/{p}/bias"].reshape(-1) for p in ("query", "key", "value")]))
    mha.out_proj.weight.copy_(w[f"{prefix}/attention_output/kernel"].reshape(-1, embed).T)
    mha.out_proj.bias.copy_(w[f"{prefix}/attention_output/bias"])


@torch_port("mha_module", same)
def t_mha_module(w, mistake):
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
            self.norm = nn.LayerNorm(8) if mistake else nn.LayerNorm(8, eps=1e-3)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            a, _ = self.attn(x, x, x, need_weights=False)
            return self.head(self.norm(x + a))

    m = Block()
    load_mha(m.attn, w, "mha", 8)
    m.norm.weight.copy_(w["norm/gamma"])
    m.norm.bias.copy_(w["norm/beta"])
    load_linear(m.head, w, "head")
    return m


@torch_port("mha_module_time_first", time_first)
def t_mha_module_time_first(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.self_attn = nn.MultiheadAttention(8, 2)
            self.linear = nn.Linear(8, 8)
            self.out = nn.Linear(8, 2)

        def forward(self, src):                # src: (seq, batch, embed)
            a = self.self_attn(src, src, src)[0]
            return self.out(F.relu(self.linear(a)))

    m = Block()
    load_mha(m.self_attn, w, "mha", 8)
    load_linear(m.linear, w, "ffn")
    load_linear(m.out, w, "head")
    return m


@torch_port("mha_handwritten", same)
def t_mha_handwritten(w, mistake):
    import math as pymath
    import torch
    import torch.nn as nn

    class Attention(nn.Module):
        def __init__(self, dim=8, heads=2):
            super().__init__()
            self.heads, self.head_dim = heads, dim // heads
            self.q = nn.Linear(dim, dim)
            self.k = nn.Linear(dim, dim)
            self.v = nn.Linear(dim, dim)
            self.o = nn.Linear(dim, dim)

        def forward(self, x):
            b, t, d = x.shape
            q = self.q(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
            k = self.k(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
            v = self.v(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
            scale = pymath.sqrt(d) if mistake else pymath.sqrt(self.head_dim)
            att = torch.softmax(q @ k.transpose(-2, -1) / scale, dim=-1)
            y = (att @ v).transpose(1, 2).reshape(b, t, d)
            return self.o(y)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = Attention()

        def forward(self, x):
            return self.attention(x).mean(dim=1)

    m = Net()
    for name in ("q", "k", "v"):
        keras_name = {"q": "query", "k": "key", "v": "value"}[name]
        getattr(m.attention, name).weight.copy_(w[f"mha/{keras_name}/kernel"].reshape(8, 8).T)
        getattr(m.attention, name).bias.copy_(w[f"mha/{keras_name}/bias"].reshape(8))
    m.attention.o.weight.copy_(w["mha/attention_output/kernel"].reshape(8, 8).T)
    m.attention.o.bias.copy_(w["mha/attention_output/bias"])
    return m


@torch_port("conv_transpose_same", nchw)
def t_conv_transpose_same(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.deconv = nn.ConvTranspose2d(4, 3, 3, stride=2)
            self.proj = nn.Conv2d(3, 2, 1)

        def forward(self, x):
            x = self.deconv(x)[:, :, :-1, :-1]     # TensorFlow 'same' keeps the first 2·H rows and columns
            return self.proj(F.relu(x))

    m = Net()
    # Keras Conv2DTranspose kernel (kh, kw, out, in) -> PyTorch ConvTranspose2d weight (in, out, kh, kw).
    m.deconv.weight.copy_(w["up/kernel"].permute(3, 2, 0, 1))
    m.deconv.bias.copy_(w["up/bias"])
    load_conv(m.proj, w, "proj")
    return m


@torch_port("bilstm", same)
def t_bilstm(w, mistake):
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 5, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(10, 2)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out.max(dim=1).values)

    m = Net()
    load_lstm(m.lstm, w, "bi/forward_lstm/lstm_cell")
    load_lstm(m.lstm, w, "bi/forward_lstm/lstm_cell" if mistake else "bi/backward_lstm/lstm_cell", suffix="_l0_reverse")
    load_linear(m.fc, w, "head")
    return m


@torch_port("bigru_sum", same)
def t_bigru_sum(w, mistake):
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(3, 6, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(6, 2)

        def forward(self, x):
            _, h = self.gru(x)
            return self.fc(h[0] + h[1])

    m = Net()
    load_gru(m.gru, w, "bi/forward_gru/gru_cell")
    load_gru(m.gru, w, "bi/backward_gru/gru_cell", "_l0_reverse", keras_order=mistake == "gru-gate-order")
    load_linear(m.fc, w, "head")
    return m


@torch_port("time_distributed", same)
def t_time_distributed(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.frame = nn.Linear(6, 4)
            self.out = nn.Linear(20, 2)

        def forward(self, x):
            x = F.relu(self.frame(x))
            return self.out(x.flatten(1))

    m = Net()
    load_linear(m.frame, w, "td/dense")
    if mistake == "kernel-layout":
        m.frame.weight.copy_(w["td/dense/kernel"].reshape(4, 6))
    load_linear(m.out, w, "out")
    return m


@torch_port("time_distributed_conv", same)
def t_time_distributed_conv(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 5, 3)
            self.lstm = nn.LSTM(5, 3, batch_first=True)

        def forward(self, x):                  # x: (N, T, H, W, C) as in Keras
            n, t = x.shape[:2]
            f = x.reshape(n * t, *x.shape[2:]).permute(0, 3, 1, 2)
            f = F.relu(self.conv(f))
            f = f.mean(dim=(2, 3)).reshape(n, t, -1)
            out, _ = self.lstm(f)
            return out[:, -1]

    m = Net()
    load_conv(m.conv, w, "td_conv/conv2d")
    if mistake == "kernel-layout":
        m.conv.weight.copy_(w["td_conv/conv2d/kernel"].reshape(5, 2, 3, 3))
    load_lstm(m.lstm, w, "lstm/lstm_cell")
    return m


@torch_port("zero_padding", nchw)
def t_zero_padding(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, stride=2)
            self.fc = nn.Linear(4 * 5 * 4, 3)

        def forward(self, x):
            x = F.pad(x, (1, 2, 0, 1) if mistake else (0, 1, 1, 2))
            x = self.conv(x)
            return self.fc(x.permute(0, 2, 3, 1).flatten(1))

    m = Net()
    load_conv(m.conv, w, "conv")
    load_linear(m.fc, w, "dense")
    return m


@torch_port("cropping", nchw)
def t_cropping(w, mistake):
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3, padding=1)

        def forward(self, x):
            x = self.conv(x)[:, :, 2:, 1:-1] if mistake else self.conv(x)[:, :, 1:-1, 2:]
            return x.amax(dim=(2, 3))

    m = Net()
    load_conv(m.conv, w, "conv")
    return m


@torch_port("embedding_pool", tokens)
def t_embedding_pool(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 8)
            self.fc = nn.Linear(8, 3)

        def forward(self, ids):
            x = self.emb(ids).mean(dim=1)
            return F.softmax(self.fc(x), dim=0 if mistake else -1)

    m = Net()
    m.emb.weight.copy_(w["embed/embeddings"])
    load_linear(m.fc, w, "probs")
    return m


@torch_port("conv1d_sequence", same)
def t_conv1d_sequence(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv1d(4, 6, 5, padding=2)
            self.conv2 = nn.Conv1d(6, 6, 3)
            self.fc = nn.Linear(6, 2)

        def forward(self, x):                  # x: (N, T, C)
            x = x.transpose(1, 2)
            x = F.max_pool1d(F.relu(self.conv1(x)), 2)
            x = self.conv2(F.pad(x, (2, 0)))   # causal: pad the past only
            return self.fc(x.mean(-1))

    m = Net()
    load_conv(m.conv1, w, "conv_a")
    load_conv(m.conv2, w, "conv_b")
    load_linear(m.fc, w, "head")
    return m


@torch_port("sequence_softmax", same)
def t_sequence_softmax(w, mistake):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(5, 8)
            self.cls = nn.Linear(8, 4)

        def forward(self, x):
            x = torch.tanh(self.proj(x))
            return F.softmax(self.cls(x), dim=1 if mistake else -1)

    m = Net()
    load_linear(m.proj, w, "proj")
    load_linear(m.cls, w, "scores")
    return m


@torch_port("transformer_ffn", same)
def t_transformer_ffn(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class FFN(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(8, eps=1e-3)
            self.w1 = nn.Linear(8, 16)
            self.w2 = nn.Linear(16, 8)

        def forward(self, x):
            h = F.gelu(self.w1(self.norm(x)), approximate="tanh" if mistake else "none")
            return x + self.w2(h)

    m = FFN()
    m.norm.weight.copy_(w["ln/gamma"])
    m.norm.bias.copy_(w["ln/beta"])
    load_linear(m.w1, w, "ffn_in")
    load_linear(m.w2, w, "ffn_out")
    return m


@torch_port("dense_bn", same)
def t_dense_bn(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(10, 16)
            self.bn = nn.BatchNorm1d(16) if mistake else nn.BatchNorm1d(16, eps=1e-3, momentum=0.01)
            self.dropout = nn.Dropout(0.3)
            self.fc2 = nn.Linear(16, 2)

        def forward(self, x):
            x = self.dropout(F.relu(self.bn(self.fc1(x))))
            return self.fc2(x)

    m = Net()
    load_linear(m.fc1, w, "fc")
    load_bn(m.bn, w, "bn")
    load_linear(m.fc2, w, "out")
    return m


@torch_port("residual_block", nchw)
def t_residual_block(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class BasicBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4, eps=1e-3)
            self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(4, eps=1e-3)

        def forward(self, x):
            identity = x
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += identity
            return F.relu(out)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = BasicBlock()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            x = self.block(x)
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
            return self.fc(x)

    m = Net()
    load_conv(m.block.conv1, w, "conv_a", bias=False)
    load_bn(m.block.bn1, w, "bn_a")
    if mistake:
        m.block.conv2.weight.copy_(w["conv_b/kernel"].permute(3, 2, 1, 0))
    else:
        load_conv(m.block.conv2, w, "conv_b", bias=False)
    load_bn(m.block.bn2, w, "bn_b")
    load_linear(m.fc, w, "fc")
    return m


@torch_port("concat_branches", nchw)
def t_concat_branches(w, mistake):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.b1 = nn.Conv2d(3, 4, 1)
            self.b3 = nn.Conv2d(3, 2, 3, padding=1)
            self.fc = nn.Linear(6, 2)

        def forward(self, x):
            x = torch.cat([F.relu(self.b1(x)), F.relu(self.b3(x))], dim=1)
            x = F.adaptive_max_pool2d(x, 1).flatten(1)
            return self.fc(x)

    m = Net()
    load_conv(m.b1, w, "branch_1x1")
    load_conv(m.b3, w, "branch_3x3")
    load_linear(m.fc, w, "fc")
    return m


@torch_port("nested_sequential", nchw)
def t_nested_sequential(w, mistake):
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU())
            self.classifier = nn.Linear(4 * 4 * 4, 3)

        def forward(self, x):
            x = self.features(x)
            x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)   # Keras flattens channels-last
            return self.classifier(x)

    m = Net()
    load_conv(m.features[0], w, "features/c1")
    load_conv(m.features[2], w, "features/c2")
    load_linear(m.classifier, w, "classifier")
    return m


@torch_port("upsample_bilinear", nchw)
def t_upsample_bilinear(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(2, 3, 3, padding=1)
            self.conv2 = nn.Conv2d(3, 1, 3)

        def forward(self, x):
            x = self.conv1(x)
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=bool(mistake))
            return self.conv2(x)

    m = Net()
    load_conv(m.conv1, w, "conv")
    load_conv(m.conv2, w, "out")
    return m


@torch_port("leaky_cnn", nchw)
def t_leaky_cnn(w, mistake):
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3)
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            x = F.leaky_relu(self.conv(x)) if mistake else F.leaky_relu(self.conv(x), 0.3)
            return self.fc(x.mean(dim=(2, 3)))

    m = Net()
    load_conv(m.conv, w, "conv")
    load_linear(m.fc, w, "fc")
    return m


@torch_port("simple_rnn", same)
def t_simple_rnn(w, mistake):
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(3, 8, batch_first=True)
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            _, h = self.rnn(x)
            return self.fc(h.squeeze(0))

    m = Net()
    m.rnn.weight_ih_l0.copy_(w["rnn/simple_rnn_cell/kernel"].T)
    m.rnn.weight_hh_l0.copy_(w["rnn/simple_rnn_cell/recurrent_kernel"].T)
    m.rnn.bias_ih_l0.copy_(w["rnn/simple_rnn_cell/bias"])
    if mistake == "rnn-bias-doubled":
        m.rnn.bias_hh_l0.copy_(w["rnn/simple_rnn_cell/bias"])
    else:
        m.rnn.bias_hh_l0.zero_()
    load_linear(m.fc, w, "fc")
    return m


@torch_port("avgpool_same", nchw)
def t_avgpool_same(w, mistake):
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)
            self.pool = nn.AvgPool2d(3, 2, padding=1) if mistake else nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)
            self.fc = nn.Linear(4 * 5 * 5, 2)

        def forward(self, x):
            x = self.pool(self.conv(x))
            return self.fc(x.permute(0, 2, 3, 1).flatten(1))

    m = Net()
    load_conv(m.conv, w, "conv")
    load_linear(m.fc, w, "fc")
    return m


@torch_port("depthwise_separable", nchw)
def t_depthwise_separable(w, mistake):
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = nn.Sequential(
                nn.Conv2d(4, 4, 3, padding=1, groups=4),
                nn.BatchNorm2d(4, eps=1e-3),
                nn.ReLU6(),
                nn.Conv2d(4, 6, 1),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
            )

        def forward(self, x):
            return self.block(x)

    m = Net()
    # DepthwiseConv2D kernel (kh, kw, C, multiplier) -> (C * multiplier, 1, kh, kw)
    m.block[0].weight.copy_(w["dw/kernel"].permute(2, 3, 0, 1))
    m.block[0].bias.copy_(w["dw/bias"])
    load_bn(m.block[1], w, "bn")
    load_conv(m.block[3], w, "pw")
    return m


@torch_port("two_inputs", lambda x: (nchw({"image": x["image"]})[0], same({"meta": x["meta"]})[0]))
def t_two_inputs(w, mistake):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3)
            self.fc = nn.Linear(7, 2)

        def forward(self, image, meta):
            x = F.relu(self.conv(image)).mean(dim=(2, 3))
            return self.fc(torch.cat([x, meta], dim=1))

    m = Net()
    load_conv(m.conv, w, "conv")
    if mistake:
        m.fc.weight[:, :4].copy_(w["fc/kernel"][:4].T)
    else:
        load_linear(m.fc, w, "fc")
    m.fc.bias.copy_(w["fc/bias"])
    return m


def to_keras_layout(y, shape):
    """The port's output in Keras's layout: as it is, channels-last, or batch-first."""
    if y.shape == shape:
        return y
    for order in ((0, 2, 3, 1), (0, 2, 1), (1, 0, 2)):
        if y.ndim == len(order) and tuple(y.shape[i] for i in order) == tuple(shape):
            return y.transpose(order)
    raise ValueError(f"output {y.shape} does not match Keras's {shape}")


def torch_half(names):
    import torch
    corpus_path = os.path.join(ROOT, "corpus.json")
    corpus = json.load(open(corpus_path)) if os.path.exists(corpus_path) else {"ports": []}
    entries = {(e["model"], e["port"]): e for e in corpus["ports"]}
    for name in names:
        spec = PORTS[name]
        base = os.path.join(ROOT, name)
        w = {k: torch.from_numpy(v) for k, v in np.load(os.path.join(base, "weights.npz")).items()}
        inputs = dict(np.load(os.path.join(base, "input.npz")))
        meta = json.load(open(os.path.join(base, "keras_meta.json")))
        inputs = {k: inputs[k] for k in meta["inputs"]}
        keras_out = np.load(os.path.join(base, "keras_out.npy"))
        args = spec["to_torch"](inputs)
        for port_name in ["faithful"] + list(spec["mistakes"]):
            mistake = None if port_name == "faithful" else port_name
            torch.manual_seed(0)
            with torch.no_grad():
                m = spec["torch"](w, mistake).eval()
            ep = torch.export.export(m, args)
            with torch.no_grad():
                y = m(*args).numpy()
            out = os.path.join(base, port_name)
            os.makedirs(out, exist_ok=True)
            torch.export.save(ep, os.path.join(out, "torch.pt2"))
            diff = float(np.abs(to_keras_layout(y, keras_out.shape) - keras_out).max())
            entry = {"model": name, "port": port_name, "pattern": spec["pattern"], "max_abs_output": diff,
                     "torch": torch.__version__, "keras": meta["keras"]}
            if mistake:
                layer, what = spec["mistakes"][mistake]
                entry.update(cause=mistake, layer=layer, mistake=what, exit=1)
                assert diff > 1e-6 or mistake in ("batchnorm-epsilon",), (name, port_name, diff)
            else:
                entry.update(exit=0)
                assert diff < 1e-4, (name, diff)
            entries[(name, port_name)] = entry
            print(f"{name}/{port_name}: max |Keras − PyTorch| = {diff:.3g}")
    ordered = [entries[k] for k in sorted(entries, key=lambda k: (list(PORTS).index(k[0]) if k[0] in PORTS else 999, k[1] != "faithful", k[1]))]
    with open(corpus_path, "w") as f:
        json.dump({"generated_by": "scripts/make_port_corpus.py", "ports": ordered}, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("keras", "torch"):
        sys.exit(__doc__)
    selected = sys.argv[2:] or list(PORTS)
    unknown = [n for n in selected if n not in PORTS]
    if unknown:
        sys.exit(f"unknown ports {unknown}; known: {list(PORTS)}")
    (keras_half if sys.argv[1] == "keras" else torch_half)(selected)
