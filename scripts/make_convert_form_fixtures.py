#!/usr/bin/env python3
"""Small PyTorch programs for the PyTorch → Keras forms of issue 11, item 3: transposed convolutions
(1-D/2-D/3-D, stride, padding, output_padding; dilated in `convert_dilated_transpose`), softplus with beta/threshold, var/std with a
correction, group norm, interpolation (nearest at any size, nearest-exact, bilinear with and
without align_corners, bicubic), the mask and math operators of the transformers exports,
rms_norm and attention with a learned query (timm), and the operators of the timm sample
(`convert_timm_forms`: pooling without the padding in the divisor, norms, autocast, repeat_interleave,
unfold, a stored constant), and recurrent layers as users read them (bidirectional and stacked
nn.LSTM / nn.GRU / nn.RNN, batch-first and time-first, with their final states; `convert_rnn_states`: LSTM, GRU and RNN
from given initial states), and writes into views whose base is read later
(`convert_view_writes`: MViTv2's `attn[:, :, 1:, 1:] = …`, `x[:, 0] += 1`, `fill_`; `refused_view_write`
and `refused_lstm_projection` for the refusal tests). Each is exported as a user does (`torch.export.export(model.eval(),
inputs)`, no decompositions) to Tests/Fixtures/torch/<name>.pt2, with <name>.json holding the inputs
and PyTorch's float32 outputs (the format of scripts/make_torch_fixtures.py).

    nice -n 10 ~/venv-ref/bin/python scripts/make_convert_form_fixtures.py [NAME ...]

The conversions are then written by `PARITY_RECORD=1 swift test --filter TorchToKerasTests` and checked
in the real Keras by scripts/verify_torch_to_keras.py (two steps, never torch and Keras in one process).
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = "Tests/Fixtures/torch"


class ConvertConvTranspose(nn.Module):
    """ConvTranspose1d/2d/3d: stride, padding, output_padding, no bias, groups (no dilation: TensorFlow's
    CPU kernel refuses it)."""

    def __init__(self):
        super().__init__()
        self.t1 = nn.ConvTranspose1d(4, 3, 3, stride=2, padding=1, output_padding=1)
        self.t2 = nn.ConvTranspose2d(4, 5, 3, stride=2, padding=1, output_padding=1)
        self.t2b = nn.ConvTranspose2d(4, 3, (2, 3), stride=(2, 1), padding=(0, 1), output_padding=(1, 0), bias=False)
        self.t3 = nn.ConvTranspose3d(2, 3, (2, 3, 2), stride=(1, 2, 2), padding=(1, 0, 1), output_padding=(0, 1, 1))
        self.t2g = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)

    def forward(self, x1, x2, x3):  # [2, 4, 5], [2, 4, 3, 4], [2, 2, 2, 3, 3]
        return self.t1(x1), torch.relu(self.t2(x2)), self.t2b(x2), self.t3(x3), self.t2g(x2)


class ConvertStatistics(nn.Module):
    """softplus with beta and threshold, var/std with corrections 0, 1 and 2 over one and two dims,
    group norm on (N, C, H, W) and (N, C, L)."""

    def __init__(self):
        super().__init__()
        self.gn = nn.GroupNorm(3, 6, eps=1e-4)
        self.gn1 = nn.GroupNorm(2, 4)

    def forward(self, x, z):  # x [2, 6, 4, 5], z [2, 4, 7]
        soft = F.softplus(x, beta=2.0, threshold=3.0) + F.softplus(x, beta=0.5)
        var = torch.var(x, dim=-1, keepdim=True)  # correction 1
        std = torch.std(x, dim=(2, 3), correction=0)
        var2 = torch.var(z, dim=1, correction=2)
        return soft * var, std, var2, self.gn(x), self.gn1(z)


class ConvertNearestNd(nn.Module):
    """1-D and 3-D nearest and nearest-exact (PyTorch's generic kernel), 2 -> 41 cells among them:
    the sizes where the 1-D/3-D nearest-exact indices differ from the 2-D kernel's."""

    def forward(self, x, v):  # [2, 3, 2], [2, 2, 3, 2, 4]
        return (F.interpolate(x, size=41, mode="nearest-exact"),
                F.interpolate(x, scale_factor=2.5, mode="nearest"),
                F.interpolate(v, size=(5, 7, 9), mode="nearest"),
                F.interpolate(v, scale_factor=(2, 1.5, 3), mode="nearest-exact"))


class ConvertInterpolate(nn.Module):
    """F.interpolate: nearest to sizes that are not whole multiples and by a fractional scale,
    nearest-exact, bilinear with and without align_corners (down and up), bicubic both ways."""

    def forward(self, x):  # [2, 3, 5, 7]
        return (F.interpolate(x, size=(8, 10), mode="nearest"),
                F.interpolate(x, scale_factor=1.5, mode="nearest"),
                F.interpolate(x, size=(3, 11), mode="nearest-exact"),
                F.interpolate(x, size=(9, 12), mode="bilinear", align_corners=True),
                F.interpolate(x, size=(4, 10), mode="bilinear", align_corners=False),
                F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True),
                F.interpolate(x, size=(8, 9), mode="bicubic", align_corners=False),
                F.interpolate(x, size=(6, 13), mode="bicubic", align_corners=True))


class ConvertMasksMath(nn.Module):
    """What the transformers exports need beyond layers: `to(device, dtype)`, the advanced indexing
    that expands a padding mask (`mask[arange(b)[:, None, None, None], arange(k)[None, None, None, :]]`),
    `&`, `|`, `^`, `~` on bools, `cumsum` of an int mask and a `gather` from a constant (roberta's
    position ids), `where` with a number, one index tensor (`x[:, idx]`), and elementwise math."""

    def __init__(self):
        super().__init__()
        self.register_buffer("positions", torch.arange(10).expand(1, -1) * 3, persistent=False)
        self.register_buffer("picked", torch.tensor([0, 2, -1]), persistent=False)

    def forward(self, x, mask):  # x [2, 9], mask int64 [2, 9] of 0/1
        m = mask.to(x.device, torch.bool)
        expanded = m[torch.arange(2)[:, None, None, None], torch.arange(9)[None, None, None, :]]  # [2, 1, 1, 9]
        causal = torch.ones(9, 9, dtype=torch.bool).tril()
        allowed = (expanded & causal) | (~expanded ^ causal.logical_not())
        scores = torch.where(allowed, x[:, None, None, :], -1e4) + torch.where(causal, 0.0, x[:, None, :, None])
        ids = torch.cumsum(mask, dim=1) * mask
        positions = torch.gather(self.positions.expand(2, -1), 1, ids)
        a = x.abs() + 1
        math = (torch.rsqrt(a) + torch.erf(x) + torch.sin(x) * torch.cos(x) + torch.exp(-a) + torch.log(a) + torch.reciprocal(a)
                + torch.log1p(a) + torch.expm1(x / 4) + torch.square(x) + torch.floor(x) + torch.ceil(x) + torch.sign(x) + torch.sqrt(a))
        return scores, positions, math, x[:, self.picked]


class ConvertRmsAttention(nn.Module):
    """What the timm exports needed: rms_norm with a weight and with PyTorch's default eps, and
    scaled_dot_product_attention whose query is a learned latent (a constant, expanded to the batch)."""

    def __init__(self):
        super().__init__()
        self.norm = nn.RMSNorm(6)
        self.latent = nn.Parameter(torch.randn(1, 2, 1, 3))
        self.proj = nn.Linear(6, 6)

    def forward(self, x):  # [2, 5, 6]
        h = self.proj(self.norm(x))
        kv = h.reshape(2, 5, 2, 3).transpose(1, 2)
        pooled = F.scaled_dot_product_attention(self.latent.expand(2, -1, -1, -1), kv, kv)
        return pooled, F.rms_norm(x, (5, 6), eps=1e-3)


class ConvertTimmForms(nn.Module):
    """What the timm sample needed beyond the earlier forms: avg_pool2d with count_include_pad=False and
    padding (PoolFormer's token mixer, TensorFlow's `same`; with stride 2 and ceil_mode, the sum over
    the window by a depthwise convolution of ones divided by the cell counts), vector norms (the 2-norm
    over two dims of GlobalResponseNorm, ord 1, 3, inf), addcmul (GlobalResponseNorm's), `zeros(...).to(device)` (EdgeNeXt's mask),
    a disabled autocast region (EfficientViT), repeat_interleave (GCViT), unfold (HaloNet), reshape_as,
    im2col (TNT), col2im and max(dim) (VOLO), a cropping pad (PNASNet), a strided dilated convolution (SKNet), avg_pool1d (NextViT),
    and a constant over the inline limit (a folded table, BEiT's relative-position bias), stored as weights."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(6, 6)
        self.dilated = nn.Conv2d(3, 4, 3, stride=2, padding=2, dilation=2)
        self.register_buffer("table", torch.randn(3, 16, 16), persistent=False)

    def forward(self, x):  # [2, 3, 8, 8]
        same = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        strided = F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        wide = F.avg_pool2d(x, (3, 5), stride=(2, 1), padding=(1, 2), count_include_pad=False)
        gx = torch.norm(x, p=2, dim=(2, 3), keepdim=True)  # timm's GlobalResponseNorm
        nx = gx / (gx.mean(dim=1, keepdim=True) + 1e-6)
        grn = torch.addcmul(self.table[:, :1, :1], self.table[:, 1:2, :1], x * nx) + torch.addcmul(x, x, nx, value=0.5)
        norms = (torch.linalg.vector_norm(x, ord=3, dim=-1) + torch.linalg.vector_norm(x, ord=float("inf"), dim=-1)
                 + torch.linalg.vector_norm(x, ord=1, dim=(1, 3), keepdim=True)[:, :, :, 0] / 24)
        mask = torch.zeros(1, 8, 8).to(x.device).bool()
        position = (~mask).cumsum(1).float()
        with torch.autocast(device_type=x.device.type, enabled=False):
            h = self.proj(x.float().reshape(2, 32, 6))
        repeated = torch.repeat_interleave(h, 2, dim=1)[:, 16:48] + torch.repeat_interleave(h[:1], 2, dim=0)
        windows = x.unfold(3, 3, 2)  # [2, 3, 8, 3, 3]
        bias = (self.table * 0.5 + 1).reshape(1, 3, 16, 16).repeat(1, 1, 4, 4)[:, :, :8, :8].reshape(3, 64).repeat(1, 4)  # 768 values, folded
        shaped = strided.reshape_as(x.new_zeros(2, 75))
        patches = F.unfold(x, (3, 2), dilation=(1, 2), padding=1, stride=(2, 3))  # TNT's im2col
        dilated = self.dilated(F.pad(x, (-1, 1, -1, 1)))  # PNASNet's cropping pad, SKNet's strided dilation
        pooled = F.avg_pool1d(x.reshape(2, 3, 64), 4, 4) + F.avg_pool1d(x.reshape(2, 3, 64), 3, 2, padding=1)[:, :, :16]
        folded = F.fold(patches, (8, 8), (3, 2), dilation=(1, 2), padding=1, stride=(2, 3))  # VOLO's col2im
        return (same + position, strided, wide, grn, norms, repeated, windows, shaped, x.reshape(2, 3, 64).repeat(1, 1, 4) + bias,
                patches, dilated, pooled, folded + folded.max(1, keepdim=True)[0] + 0.5 * x.max(-1)[0][..., None, :])


class ConvertBiLSTM(nn.Module):
    """nn.LSTM(bidirectional=True, num_layers=2, batch_first=True) as users read it (timm's
    Sequencer2d): the whole sequence into a Linear, its last step (`out[:, -1]`), the last layer's
    reverse final state (`h_n[-1]`) and every final cell state."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):  # [2, 6, 5]
        out, (h, c) = self.lstm(x)
        return self.head(out), out[:, -1], h[-1], c


class ConvertBiGRU(nn.Module):
    """nn.GRU(bidirectional=True, num_layers=2), time-first, and a one-layer bidirectional GRU
    batch-first: sequences and final states (`h_n[-2:]`, the last layer's two directions)."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 3, num_layers=2, bidirectional=True)
        self.gru1 = nn.GRU(5, 4, bidirectional=True, batch_first=True)

    def forward(self, x):  # [2, 6, 5]
        out, h = self.gru(x.transpose(0, 1))
        out1, h1 = self.gru1(x)
        return out.transpose(0, 1), h[-2:], out1[:, -1], h1


class ConvertStackedRNN(nn.Module):
    """Stacked layers in one direction: a three-layer LSTM without biases (batch-first) and a
    two-layer GRU (time-first), with every final state."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 3, num_layers=3, bias=False, batch_first=True)
        self.gru = nn.GRU(5, 4, num_layers=2)

    def forward(self, x):  # [2, 6, 5]
        out, (h, c) = self.lstm(x)
        seq, hg = self.gru(x.transpose(0, 1))
        return out, h, c, seq.transpose(0, 1), hg[-1]


class ConvertRNNStates(nn.Module):
    """Recurrent layers from given initial states: a bidirectional two-layer LSTM from (h0, c0) graph
    inputs, a GRU from a learned h0 (a parameter expanded to the batch, folded while converting) and
    an nn.RNN(relu) from an h0 computed from the input."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True)
        self.gru = nn.GRU(5, 3, batch_first=True)
        self.h0 = nn.Parameter(torch.zeros(1, 1, 3))
        self.rnn = nn.RNN(5, 3, nonlinearity="relu", batch_first=True)
        self.init = nn.Linear(5, 3)

    def forward(self, x, h0, c0):  # [2, 6, 5], [4, 2, 4], [4, 2, 4]
        out, (h, c) = self.lstm(x, (h0, c0))
        seq, hg = self.gru(x, self.h0.expand(1, 2, 3).contiguous())
        r, hr = self.rnn(x, torch.tanh(self.init(x.mean(1))).unsqueeze(0))
        return out, h, c, seq, hg, r, hr


class ConvertViewWrites(nn.Module):
    """Writes into views whose base is read afterwards, as torch.export keeps them: timm MViTv2's
    `attn[:, :, 1:, 1:] = (attn[:, :, 1:, 1:].view(...) + rel_h + rel_w).view(...)` (slice, slice,
    copy_), `y[:, 0] += 1` (select, add_, then copy_ back), `fill_` of a slice of a channels-last conv
    output with a number and with a lifted constant, and a `copy_` into a select of the batch axis."""

    def __init__(self):
        super().__init__()
        self.qk = nn.Linear(4, 8)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, t, x):  # t [2, 5, 4], x [2, 3, 5, 5]
        q, k = self.qk(t).view(2, 5, 2, 4).transpose(1, 2).chunk(2, dim=-1)  # [2, 2, 5, 2] each
        attn = q @ k.transpose(-2, -1)  # [2, 2, 5, 5], a class token and 2×2 positions
        rel_h = q[:, :, 1:, :1].reshape(2, 2, 2, 2, 1, 1)
        rel_w = k[:, :, 1:, 1:].reshape(2, 2, 2, 2, 1, 1).transpose(2, 3)
        attn[:, :, 1:, 1:] = (attn[:, :, 1:, 1:].view(2, 2, 2, 2, 2, 2) + rel_h + rel_w).view(2, 2, 4, 4)
        attn = attn.softmax(dim=-1)
        attn[:, 0] += 1.0
        y = self.conv(x)
        y[:, 1:3, :, -2:] = 0.5
        y[0, :, 1] = y[1, :, 2] * 2
        z = y * 1
        z[..., 0] = torch.tensor(3.0)
        return attn, y, z


class RefusedViewWrite(nn.Module):
    """Refused, not converted: a write through a transposed view whose base is returned (only writes
    through slice / select chains are rebuilt)."""

    def forward(self, x):  # [2, 3, 4]
        x = x * 2
        y = x.transpose(1, 2)
        y[:, 0] = 0.0
        return x, y


class ConvertRNN(nn.Module):
    """nn.RNN: tanh, bidirectional and two layers (batch-first), relu in one direction (time-first),
    and tanh without biases, with their final states."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(5, 4, num_layers=2, bidirectional=True, batch_first=True)
        self.relu = nn.RNN(5, 3, nonlinearity="relu")
        self.plain = nn.RNN(5, 3, bias=False, batch_first=True)

    def forward(self, x):  # [2, 6, 5]
        out, h = self.rnn(x)
        seq, hr = self.relu(x.transpose(0, 1))
        plain, hp = self.plain(x)
        return out, h, seq.transpose(0, 1), hr, plain[:, -1], hp


class RefusedLSTMProjection(nn.Module):
    """Refused, not converted: nn.LSTM(proj_size=2) (Keras's LSTM has no projection of h)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 4, proj_size=2, batch_first=True)

    def forward(self, x):  # [2, 6, 5]
        return (self.lstm(x)[0],)


class ConvertDilatedTranspose(nn.Module):
    """Dilated ConvTranspose1d/2d/3d (stride, padding, output_padding, groups), which the converter writes
    as undilated transposed convolutions of a kernel with zeros between its taps."""

    def __init__(self):
        super().__init__()
        self.t1 = nn.ConvTranspose1d(3, 2, 3, stride=2, dilation=3, padding=2, output_padding=1)
        self.t2 = nn.ConvTranspose2d(4, 3, (3, 2), stride=(2, 1), dilation=(2, 3), padding=1)
        self.t3 = nn.ConvTranspose3d(2, 2, 2, dilation=2, bias=False)
        self.t2g = nn.ConvTranspose2d(4, 4, 3, groups=2, dilation=2, stride=2, output_padding=1)

    def forward(self, x1, x2, x3):  # [2, 3, 5], [2, 4, 3, 4], [2, 2, 2, 3, 3]
        return self.t1(x1), self.t2(x2), self.t3(x3), self.t2g(x2)


def gauss(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


CASES = [
    ("convert_conv_transpose", ConvertConvTranspose, lambda: (gauss((2, 4, 5), 1), gauss((2, 4, 3, 4), 2), gauss((2, 2, 2, 3, 3), 3))),
    ("convert_dilated_transpose", ConvertDilatedTranspose, lambda: (gauss((2, 3, 5), 21), gauss((2, 4, 3, 4), 22), gauss((2, 2, 2, 3, 3), 23))),
    ("convert_statistics", ConvertStatistics, lambda: (gauss((2, 6, 4, 5), 4), gauss((2, 4, 7), 5))),
    ("convert_interpolate", ConvertInterpolate, lambda: (gauss((2, 3, 5, 7), 6),)),
    ("convert_nearest_nd", ConvertNearestNd, lambda: (gauss((2, 3, 2), 24), gauss((2, 2, 3, 2, 4), 25))),
    ("convert_rms_attention", ConvertRmsAttention, lambda: (gauss((2, 5, 6), 8),)),
    ("convert_timm_forms", ConvertTimmForms, lambda: (gauss((2, 3, 8, 8), 9),)),
    ("convert_bilstm", ConvertBiLSTM, lambda: (gauss((2, 6, 5), 10),)),
    ("convert_bigru", ConvertBiGRU, lambda: (gauss((2, 6, 5), 11),)),
    ("convert_stacked_rnn", ConvertStackedRNN, lambda: (gauss((2, 6, 5), 15),)),
    ("refused_lstm_projection", RefusedLSTMProjection, lambda: (gauss((2, 6, 5), 20),)),
    ("convert_rnn_states", ConvertRNNStates, lambda: (gauss((2, 6, 5), 12), gauss((4, 2, 4), 13), gauss((4, 2, 4), 14))),
    ("convert_view_writes", ConvertViewWrites, lambda: (gauss((2, 5, 4), 16), gauss((2, 3, 5, 5), 17))),
    ("refused_view_write", RefusedViewWrite, lambda: (gauss((2, 3, 4), 18),)),
    ("convert_rnn", ConvertRNN, lambda: (gauss((2, 6, 5), 19),)),
    ("convert_masks_math", ConvertMasksMath, lambda: (gauss((2, 9), 7), torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1]]))),
]


def tensor_json(t):
    t = t.detach()
    if not t.dtype.is_floating_point:
        return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "values": [int(v) for v in t.reshape(-1).tolist()]}
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "values": t.double().reshape(-1).tolist()}


def randomize(model, seed):
    """Weights and the group norms' affine drawn at random (their defaults are 1 and 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)


def main(only):
    os.makedirs(OUT, exist_ok=True)
    for name, cls, make_inputs in CASES:
        if only and name not in only:
            continue
        torch.manual_seed(0)
        model = cls().eval()
        randomize(model, 100)
        inputs = make_inputs()
        program = torch.export.export(model, inputs)
        torch.export.save(program, os.path.join(OUT, name + ".pt2"))
        with torch.no_grad():
            out32 = model(*inputs)
        record = {"generated_by": "scripts/make_convert_form_fixtures.py (generated, do not edit)", "torch": torch.__version__,
                  "inputs": [tensor_json(x) for x in inputs], "outputs_float32": [tensor_json(o) for o in out32]}
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(record, f, separators=(",", ":"))
        targets = sorted({str(n.target) for n in program.graph.nodes if n.op == "call_function"})
        print(name, [tuple(o.shape) for o in out32], targets)


if __name__ == "__main__":
    import sys
    main(set(sys.argv[1:]))
