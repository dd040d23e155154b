#!/usr/bin/env python3
"""Generates Tests/Fixtures/torch/: small torch.nn models exported with torch.export (.pt2), their
state_dicts (.pt, and .safetensors when the package is installed) and PyTorch's outputs.

Generated, do not edit the outputs by hand. Run by hand (optionally with model names to regenerate
only those):
    ~/venv-ref/bin/python scripts/make_torch_fixtures.py [NAME ...]

For every model NAME:
  NAME.pt2           torch.export.save of torch.export.export(model.eval(), inputs) (followed by
                     .run_decompositions() for the models in DECOMPOSED)
  NAME.json          {"meta", "inputs", "outputs_float32", "outputs_float64", "ops"}; float64 outputs come
                     from model.double() on the same weights and the same (float32-exact) inputs.
                     With --gradients, "cotangents", "input_gradients" and "parameter_gradients" (by
                     state_dict key) are added to the existing NAME.json files (nothing else is rewritten):
                     torch.autograd's gradient of Σ output·cotangent in float64 (model.double()), cotangents
                     drawn from a generator seeded with the model's name.
For models listed in ALT_WEIGHTS, a second set of weights of the same shapes:
  NAME.alt.pt, NAME.alt.safetensors and "outputs_alt_float32" in NAME.json (so that replacing the
  weights is checked against a different result, not the one already in the archive).
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "torch")
try:
    import safetensors.torch as st
except ImportError:  # pragma: no cover
    st = None


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        for name, b in model.named_buffers():
            if b.dtype.is_floating_point:
                if name.endswith("running_var"):
                    b.copy_(torch.rand(b.shape, generator=g) + 0.5)
                else:
                    b.copy_(torch.randn(b.shape, generator=g) * 0.3)


# ---- models (one op family each) -------------------------------------------------------------

class LinearAlgebra(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.fc2 = nn.Linear(5, 3, bias=False)
        self.w = nn.Parameter(torch.randn(6, 4))
        self.b = nn.Parameter(torch.randn(4))

    def forward(self, x):  # [2, 4, 6]
        h = self.fc2(torch.relu(self.fc1(x)))
        m = torch.matmul(x, self.w)
        bm = torch.bmm(m, m.transpose(1, 2))
        x2 = x.reshape(8, 6)
        a = torch.addmm(self.b, x2, self.w, beta=0.5, alpha=2.0)
        mm = torch.mm(a.t(), x2)
        return h, bm, a, mm


class Conv1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(3, 4, 3, stride=2, padding=1)
        self.c2 = nn.Conv1d(4, 4, 3, groups=2, dilation=2, padding=2, bias=False)

    def forward(self, x):  # [2, 3, 9]
        return self.c2(self.c1(x))


class Conv2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3, stride=(2, 1), padding=(1, 2))
        self.c2 = nn.Conv2d(6, 6, 3, groups=3, dilation=2, padding="same")
        self.c3 = nn.Conv2d(6, 2, 1)

    def forward(self, x):  # [2, 3, 7, 6]
        return self.c3(self.c2(self.c1(x)))


class Conv3d(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv3d(2, 3, (2, 3, 3), stride=(1, 2, 1), padding=(0, 1, 1))

    def forward(self, x):  # [1, 2, 4, 5, 5]
        return self.c(x)


class Activations(nn.Module):
    def __init__(self):
        super().__init__()
        self.prelu = nn.PReLU(1, init=0.2)
        self.prelu_c = nn.PReLU(4)
        self.relu6 = nn.ReLU6()
        self.hardtanh = nn.Hardtanh(-0.5, 2.0)

    def forward(self, x):  # [3, 4, 6], values in [-6, 6]
        return (torch.relu(x), F.gelu(x), F.gelu(x, approximate="tanh"), F.silu(x), torch.sigmoid(x),
                torch.tanh(x), self.hardtanh(x), self.relu6(x), F.leaky_relu(x, 0.1), F.elu(x, 1.3),
                F.selu(x), F.celu(x, 0.7), F.softplus(x, beta=2.0, threshold=5.0), F.hardsigmoid(x),
                F.hardswish(x), F.mish(x), self.prelu(x), self.prelu_c(x),
                torch.softmax(x, dim=1), torch.log_softmax(x, dim=-1))


class Normalization(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn2 = nn.BatchNorm2d(4, eps=1e-3)
        self.gn = nn.GroupNorm(2, 4, eps=1e-4)
        self.ln = nn.LayerNorm(5)
        self.ln2 = nn.LayerNorm([5, 5], elementwise_affine=False, eps=1e-6)
        self.bn1 = nn.BatchNorm1d(4)

    def forward(self, x):  # [2, 4, 5, 5]
        a = self.ln(self.gn(self.bn2(x)))
        b = self.bn1(x.flatten(2))
        return a, b, self.ln2(x)


class Pooling(nn.Module):
    def forward(self, x):  # [2, 3, 9, 8]
        return (F.max_pool2d(x, 3, stride=2, ceil_mode=True),
                F.max_pool2d(x, 2, stride=2, padding=1),
                F.max_pool2d(x, (3, 2), stride=(2, 3), padding=1, dilation=(2, 1), ceil_mode=True),
                F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=True),
                F.avg_pool2d(x, 2, divisor_override=3),
                F.adaptive_avg_pool2d(x, (3, 2)),
                F.adaptive_avg_pool2d(x, (4, 3)))


class MaxPooling(nn.Module):
    """max_pool1d (stride, padding, dilation, ceil_mode) and adaptive_max_pool2d with its indices (a tie
    planted: the first maximum's index)."""

    def forward(self, x):  # [2, 3, 9, 8]
        s = x.flatten(2)[:, :, :20]
        t = torch.cat([x[..., :1], x[..., :1], x[..., 2:]], dim=-1)  # columns 0 and 1 equal: ties
        values, indices = F.adaptive_max_pool2d(t, (4, 3), return_indices=True)
        return (F.max_pool1d(s, 3, stride=2, padding=1, ceil_mode=True), F.max_pool1d(s, 2, dilation=2),
                F.adaptive_max_pool2d(x, 1), values, indices)


class Shapes(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("index", torch.tensor([2, 0, 2], dtype=torch.long))
        self.register_buffer("gidx", torch.tensor([[[0, 3], [1, 1], [2, 0]], [[3, 3], [0, 1], [1, 2]]], dtype=torch.long))

    def forward(self, x):  # [2, 3, 4]
        v = x.view(6, 4)
        r = x.reshape(2, -1)
        f = torch.flatten(x.unsqueeze(0), 1, 2)
        p = x.permute(2, 0, 1)
        t = x.transpose(0, 2)
        s = x.unsqueeze(1).squeeze(1).unsqueeze(-1).squeeze()
        e = x[:, :1, :].expand(2, 3, 4)
        c = torch.cat([x, p.permute(1, 2, 0)], dim=-1)
        st = torch.stack([x, x * 2], dim=1)
        sp = torch.split(x, [1, 3], dim=2)
        ch = torch.chunk(x, 2, dim=2)
        sl = x[:, 1:3, ::2]
        sel = x[:, 0]
        neg = x[-1, :, -2:]
        isel = torch.index_select(x, 1, self.index)
        g = torch.gather(x, 2, self.gidx)
        return v, r, f, p, t, s, e, c, st, sp[0], sp[1], ch[1], sl, sel, neg, isel, g


class Arithmetic(nn.Module):
    def forward(self, x, y, k):  # x [2, 3], y [3], k int64 [2, 3]
        return (x + y, torch.add(x, y, alpha=0.5), torch.sub(x, y, alpha=2), x - 1.5, 1 - x, x * y, x * 3,
                x / y, x / 4, x + k, k * 0.5, k / 2, k + 1.0, torch.neg(x), x ** 2, torch.exp(x), torch.abs(x),
                torch.sqrt(torch.abs(x) + 1), torch.rsqrt(torch.abs(x) + 1), torch.maximum(x, y), torch.clamp(x, -0.5, 0.7))


class Reductions(nn.Module):
    def forward(self, x):  # [2, 3, 4]
        return (x.mean(dim=1), x.sum(dim=(0, 2), keepdim=True), x.amax(dim=-1), x.var(dim=1),
                torch.var(x, dim=(1, 2), correction=0, keepdim=True), x.sum(), x.mean(), x.std(dim=2), x.amin(dim=0))


class EmbeddingDropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(4, 2)

    def forward(self, idx):  # int64 [2, 5]
        return self.fc(self.drop(self.emb(idx)))


class Pads(nn.Module):
    def __init__(self):
        super().__init__()
        self.reflect = nn.ReflectionPad2d((1, 1, 2, 0))
        self.replicate = nn.ReplicationPad2d(2)
        self.reflect1 = nn.ReflectionPad1d((2, 1))
        self.replicate1 = nn.ReplicationPad1d((0, 3))

    def forward(self, x):  # [1, 2, 4, 5]
        flat = x.flatten(2)
        return (F.pad(x, (1, 2, 0, 1), value=0.5), self.reflect(x), self.replicate(x), self.reflect1(flat),
                self.replicate1(flat), F.pad(x, (-1, 1)))


class Upsample(nn.Module):
    def forward(self, x):  # [1, 2, 3, 4]
        return (F.interpolate(x, scale_factor=2, mode="nearest"),
                F.interpolate(x, size=(5, 7), mode="nearest"),
                F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
                F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True),
                F.interpolate(x, size=(2, 3), mode="bilinear", align_corners=False))


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.gru = nn.GRU(4, 3, bidirectional=True)
        self.rnn = nn.RNN(4, 3, num_layers=2, batch_first=True)
        self.lstm1 = nn.LSTM(4, 3, bias=False)

    def forward(self, x):  # [2, 6, 4] batch first
        out, (h, c) = self.lstm(x)
        g, gh = self.gru(x.transpose(0, 1))
        r, rh = self.rnn(x)
        l1, _ = self.lstm1(x.transpose(0, 1))
        return out, h, c, g, gh, r, rh, l1


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(8, 24)
        self.register_buffer("mask", torch.triu(torch.full((5, 5), -1e4), diagonal=1) + 0.25)

    def forward(self, x):  # [2, 5, 8]
        q, k, v = self.qkv(x).view(2, 5, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
        return (F.scaled_dot_product_attention(q, k, v),
                F.scaled_dot_product_attention(q, k, v, is_causal=True),
                F.scaled_dot_product_attention(q, k, v, attn_mask=self.mask, scale=0.3))


class Branch(nn.Module):
    def __init__(self):
        super().__init__()
        self.pos = nn.Linear(3, 2)
        self.neg = nn.Linear(3, 2)

    def forward(self, x):  # [2, 3]
        return torch.cond(x.sum() > 0, lambda t: torch.tanh(self.pos(t)), lambda t: self.neg(t) * 2.0, (x,))


class DynamicBatch(nn.Module):
    """Exported with a dynamic batch (`dynamic_shapes`): sizes read with `sym_size`, Python arithmetic on
    them (`_operator.mul`, `floordiv`, `add`), a `torch.cond` on the data, factories sized by the batch
    (`new_ones`, `arange`, whose `end` is a symbolic size)."""
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.bn = nn.BatchNorm1d(6)

    def forward(self, x):  # [batch, 4]
        n = x.shape[0]
        y = self.bn(self.fc(x)).reshape(n * 2, -1)
        z = torch.cond(x.sum() > 0, lambda t: torch.tanh(t) * 2.0, lambda t: t - 1.0, (y,))
        return z * n, x.new_ones(n // 2 + 1, 3) * x.mean() + torch.arange(n // 2 + 1)[:, None]


class ConvTranspose(nn.Module):
    """ConvTranspose1d/2d/3d: stride, padding, output_padding (also beyond the padding), groups,
    dilation; an unbatched 1-D input."""

    def __init__(self):
        super().__init__()
        self.t1 = nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.t1d = nn.ConvTranspose1d(4, 2, 2, stride=3, padding=0, output_padding=2, dilation=3)
        self.t2 = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2)
        self.t2b = nn.ConvTranspose2d(4, 3, (2, 3), stride=(2, 1), padding=(0, 1), output_padding=(1, 0), bias=False)
        self.t3 = nn.ConvTranspose3d(2, 4, (2, 3, 2), stride=(1, 2, 2), padding=(1, 0, 1), output_padding=(0, 1, 1), groups=2)

    def forward(self, x1, x2, x3):  # [2, 4, 5], [1, 4, 3, 4], [1, 2, 2, 3, 3]
        return self.t1(x1), self.t1d(x1), self.t1(x1[0]), self.t2(x2), self.t2b(x2), self.t3(x3)


class CoreATen(nn.Module):
    """Exported with ep.run_decompositions() (core ATen): convolution.default (both ways),
    _native_batch_norm_legit_no_training, native_group_norm, addmm, native_layer_norm, _softmax,
    _log_softmax, comparisons, where.self, _to_copy, full, full_like, index.Tensor, clone, expand."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.gn = nn.GroupNorm(2, 4)
        self.up = nn.ConvTranspose2d(4, 2, 2, stride=2, padding=1, output_padding=1)
        self.fc = nn.Linear(8, 5)
        self.ln = nn.LayerNorm(5)
        self.register_buffer("pick", torch.tensor([[4, -1], [0, 2]]))

    def forward(self, x, z):  # x [2, 3, 4, 4], z [2, 3, 8]
        h = self.bn(self.conv(x))
        g = self.gn(h)
        u = self.up(h)
        a = self.ln(self.fc(z))
        s = torch.softmax(a, dim=-1)
        ls = torch.log_softmax(a, dim=1)
        w = torch.where(a > 0.1, a, torch.full_like(a, -2.0))
        w2 = torch.where(a <= s, s, a + torch.full((3, 5), 0.25))
        masks = ((a == s).float() + (a != 0.5).float() * 2 + (a < 0.5).float() * 4 + (a >= -0.2).float() * 8
                 + (a > s).float() * 16 + (a < s).float() * 32 + (a >= s).float() * 64 + (a != s).float() * 128
                 + (a == 0).float() * 256 + (a <= 0.3).float() * 512)
        ix = a[:, :, self.pick]
        p = a.permute(2, 0, 1).contiguous()
        e = a[:, :1, :].expand(2, 3, 5).clone()
        i = (a * 4).to(torch.int64)
        return h, g, u, s, ls, w, w2, masks, ix, p, e, i


class Inner(nn.Module):
    def forward(self, x):  # a short-time Fourier transform: Parity has none
        return torch.stft(x, n_fft=2, hop_length=1, center=False, return_complex=True).abs()


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.inner = Inner()

    def forward(self, x):
        return self.inner(self.fc(x))


class Spectral(nn.Module):
    """torch.fft as models use it: a GFNet-style global filter (rfft2, a complex weight from a real parameter by
    view_as_complex, irfft2 with norm="ortho"), FNet's fftn(...).real, and fft/ifft with complex div, conj, abs."""
    def __init__(self):
        super().__init__()
        self.complex_weight = nn.Parameter(torch.randn(4, 3, 5, 2) * 0.5)
        self.proj = nn.Linear(5, 5)

    def forward(self, x):  # [2, 4, 5, 5]: batch, h, w, channels
        y = torch.fft.rfft2(x, dim=(1, 2), norm="ortho") * torch.view_as_complex(self.complex_weight)
        y = torch.fft.irfft2(y, s=(4, 5), dim=(1, 2), norm="ortho")
        f = torch.fft.fftn(self.proj(y), dim=(-2, -1)).real
        z = torch.fft.fft(x, dim=-1)
        w = torch.fft.ifft(z.conj() / (z + 2.0), n=6, dim=-1, norm="forward")
        return y + f, w.abs(), torch.view_as_real(w)


class Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()

    def forward(self, x):  # [2, 3]
        return torch.relu(self.block(x))


# ---- models written for `parity convert --to keras`: every node has an exact Keras layer ---------

class KerasCNN(nn.Module):
    """Convolutions (padding → `same` and → ZeroPadding, depthwise, grouped), batch norm with its own
    eps/momentum, relu6/leaky_relu/silu/elu/gelu/tanh, a residual add, mul, sub and scalar arithmetic,
    pooling (ceil_mode where TensorFlow's `same` is exact), adaptive average pooling, flatten in NCHW
    order, cat, dropout, linear, softmax; one output left NCHW."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8, eps=1e-3, momentum=0.05)
        self.relu6 = nn.ReLU6()
        self.down = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.dw = nn.Conv2d(8, 16, 3, padding=1, groups=8)
        self.pw = nn.Conv2d(16, 8, 1, groups=2)
        self.avg = nn.AvgPool2d(2)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(8 * 3 * 3 + 8, 10)

    def forward(self, x):  # [2, 3, 10, 10]
        h = self.relu6(self.bn(self.stem(x))) * 0.125  # keeps later activations O(1)
        d = F.leaky_relu(self.down(h), 0.1) + self.avg(h)
        e = self.pw(F.silu(self.dw(d)))
        r = F.elu(d + e, 0.7) * 0.5 - d * torch.sigmoid(e)
        p = self.pool(1.0 - r)
        g = F.adaptive_avg_pool2d(r, 1).flatten(1)
        z = torch.cat([p.flatten(1), g], dim=1)
        y = self.fc(self.drop(torch.tanh(z)))
        return torch.softmax(y, dim=1), F.gelu(p)


class KerasSequence(nn.Module):
    """A batch-first LSTM, a time-first GRU fed through a transpose, their final states (h_n[-1],
    c_n[0]), layer norm, a Conv1d over (N, C, T) through a transpose, log_softmax."""

    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(4, eps=1e-6)
        self.lstm = nn.LSTM(4, 5, batch_first=True)
        self.gru = nn.GRU(5, 3)
        self.conv = nn.Conv1d(4, 6, 3, padding=1)
        self.head = nn.Linear(3, 2)

    def forward(self, x):  # [2, 6, 4] batch first
        seq, (hn, cn) = self.lstm(self.norm(x))
        g, gh = self.gru(seq.transpose(0, 1))
        c = self.conv(x.transpose(1, 2))
        return self.head(g.transpose(0, 1)), gh[-1], cn[0], torch.sigmoid(c), F.log_softmax(seq, dim=-1)


class KerasText(nn.Module):
    """Token ids through an embedding, a batch-first GRU without biases, hardswish/mish/selu/hardsigmoid."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(12, 6)
        self.gru = nn.GRU(6, 4, batch_first=True, bias=False)
        self.fc = nn.Linear(4, 3)

    def forward(self, idx):  # int64 [2, 7]
        out, h = self.gru(self.emb(idx))
        return F.hardswish(self.fc(out)), F.mish(h[0]), F.selu(out), F.hardsigmoid(out)


def uniform(shape, lo, hi, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g) * (hi - lo) + lo


def gauss(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g)


CASES = [
    ("linear_algebra", LinearAlgebra, lambda: (gauss((2, 4, 6), 1),)),
    ("conv1d", Conv1d, lambda: (gauss((2, 3, 9), 2),)),
    ("conv2d", Conv2d, lambda: (gauss((2, 3, 7, 6), 3),)),
    ("conv3d", Conv3d, lambda: (gauss((1, 2, 4, 5, 5), 4),)),
    ("activations", Activations, lambda: (uniform((3, 4, 6), -6, 6, 5),)),
    ("normalization", Normalization, lambda: (gauss((2, 4, 5, 5), 6) * 2 + 0.5,)),
    ("pooling", Pooling, lambda: (gauss((2, 3, 9, 8), 7),)),
    ("max_pooling", MaxPooling, lambda: (gauss((2, 3, 9, 8), 25),)),
    ("shapes", Shapes, lambda: (gauss((2, 3, 4), 8),)),
    ("arithmetic", Arithmetic, lambda: (gauss((2, 3), 9), uniform((3,), 0.5, 2, 10),
                                        torch.tensor([[1, -2, 3], [4, 0, -7]], dtype=torch.long))),
    ("reductions", Reductions, lambda: (gauss((2, 3, 4), 11),)),
    ("embedding_dropout", EmbeddingDropout, lambda: (torch.tensor([[1, 3, 0, 9, 3], [2, 2, 7, 5, 4]]),)),
    ("pads", Pads, lambda: (gauss((1, 2, 4, 5), 12),)),
    ("upsample", Upsample, lambda: (gauss((1, 2, 3, 4), 13),)),
    ("recurrent", Recurrent, lambda: (gauss((2, 6, 4), 14),)),
    ("attention", Attention, lambda: (gauss((2, 5, 8), 15),)),
    ("branch", Branch, lambda: (gauss((2, 3), 16) + 1.0,)),
    ("dynamic_batch", DynamicBatch, lambda: (gauss((6, 4), 26) + 0.5,)),
    ("unsupported", Unsupported, lambda: (gauss((2, 3), 17),)),
    ("spectral", Spectral, lambda: (gauss((2, 4, 5, 5), 28),)),
    ("conv_transpose", ConvTranspose, lambda: (gauss((2, 4, 5), 18), gauss((1, 4, 3, 4), 19), gauss((1, 2, 2, 3, 3), 20))),
    ("core_aten", CoreATen, lambda: (gauss((2, 3, 4, 4), 21), gauss((2, 3, 8), 22))),
    ("keras_cnn", KerasCNN, lambda: (gauss((2, 3, 10, 10), 23),)),
    ("keras_sequence", KerasSequence, lambda: (gauss((2, 6, 4), 24),)),
    ("keras_text", KerasText, lambda: (torch.tensor([[1, 11, 0, 4, 4, 7, 2], [3, 9, 10, 0, 5, 6, 8]]),)),
]
# Exported in core ATen (ep.run_decompositions()), the IR that backends and most .pt2 producers use.
DECOMPOSED = {"core_aten"}
# Second inputs that take the other branch (cond) are stored as "inputs_alt".
ALT_INPUTS = {"branch": lambda: (gauss((2, 3), 16) - 1.0,), "dynamic_batch": lambda: (gauss((3, 4), 27) - 0.5,)}
# Exported with these dynamic_shapes (the alternative inputs have another batch size).
DYNAMIC = {"dynamic_batch": {"x": {0: torch.export.Dim("batch", min=2, max=64)}}}
ALT_WEIGHTS = {"linear_algebra", "conv2d", "normalization", "recurrent"}


def tensor_json(t):
    t = t.detach()
    if t.dtype == torch.long:
        return {"shape": list(t.shape), "dtype": "int64", "values": [int(v) for v in t.reshape(-1).tolist()]}
    if t.dtype == torch.bool:
        return {"shape": list(t.shape), "dtype": "bool", "values": [float(v) for v in t.reshape(-1).tolist()]}
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "values": t.double().reshape(-1).tolist()}


def as_tuple(y):
    return tuple(y) if isinstance(y, (tuple, list)) else (y,)


def run(model, inputs, dtype):
    m = model.to(dtype)
    xs = tuple(x.to(dtype) if x.dtype.is_floating_point else x for x in inputs)
    with torch.no_grad():
        out = as_tuple(m(*xs))
    model.float()
    return [tensor_json(o) for o in out]


def save_weights(model, path_stem):
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    torch.save(sd, path_stem + ".pt")
    if st is not None:
        st.save_file(sd, path_stem + ".safetensors")


def autograd_record(name, model, inputs):
    """torch.autograd's float64 gradient of Σ output·cotangent w.r.t. the float inputs and the parameters."""
    import zlib
    m = model.double()
    xs = tuple(x.double().requires_grad_() if x.dtype.is_floating_point else x for x in inputs)
    out = [o for o in as_tuple(m(*xs)) if o.dtype.is_floating_point]
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    cotangents = [torch.rand(o.shape, generator=gen, dtype=torch.float64) * 2 - 1 for o in out]
    total = sum((o * c).sum() for o, c in zip(out, cotangents))
    floats = [x for x in xs if x.dtype.is_floating_point]
    params = [(k, p) for k, p in m.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad(total, floats + [p for _, p in params], allow_unused=True)
    model.float()
    as_json = lambda g: None if g is None else tensor_json(g)
    return {"cotangents": [tensor_json(c) for c in cotangents], "input_gradients": [as_json(g) for g in grads[:len(floats)]],
            "parameter_gradients": {k: as_json(g) for (k, _), g in zip(params, grads[len(floats):])}}


# "unsupported" does not run; "dynamic_batch" is checked forward only (its symbolic sizes). Programs exported
# after .eval() (batch_norm / dropout nodes with training=False) are differentiated in that mode, as autograd
# differentiates the eval module.
NO_GRADIENTS = {"unsupported", "dynamic_batch"}


def add_gradients(only):
    for name, cls, make_inputs in CASES:
        if (only and name not in only) or name in NO_GRADIENTS:
            continue
        torch.manual_seed(0)
        model = cls().eval()
        randomize(model, 100)
        path = os.path.join(OUT, name + ".json")
        record = json.load(open(path))
        record.update(autograd_record(name, model, make_inputs()))
        with open(path, "w") as f:
            json.dump(record, f, separators=(",", ":"))
        print(name, "gradients")


def main():
    if "--gradients" in sys.argv:
        return add_gradients(set(sys.argv[1:]) - {"--gradients"})
    os.makedirs(OUT, exist_ok=True)
    # Optional model names: regenerate only those (each model has its own seeds, so the others' files
    # would come out the same).
    only = set(sys.argv[1:])
    for name, cls, make_inputs in CASES:
        if only and name not in only:
            continue
        torch.manual_seed(0)
        model = cls().eval()
        randomize(model, 100)
        inputs = make_inputs()
        ep = torch.export.export(model, inputs, dynamic_shapes=DYNAMIC.get(name))
        if name in DECOMPOSED:
            ep = ep.run_decompositions()
        path = os.path.join(OUT, name + ".pt2")
        torch.export.save(ep, path)
        ops = sorted({str(n.target) for n in ep.graph.nodes if n.op == "call_function"})
        record = {
            "meta": {"generated_by": "scripts/make_torch_fixtures.py (generated, do not edit)",
                     "torch_version": torch.__version__, "python": sys.version.split()[0]},
            "inputs": [tensor_json(x) for x in inputs],
            "ops": ops,
        }
        if name != "unsupported":
            record["outputs_float32"] = run(model, inputs, torch.float32)
            record["outputs_float64"] = run(model, inputs, torch.float64)
            if name in ALT_INPUTS:
                alt = ALT_INPUTS[name]()
                record["inputs_alt"] = [tensor_json(x) for x in alt]
                record["outputs_alt_inputs_float32"] = run(model, alt, torch.float32)
                record["outputs_alt_inputs_float64"] = run(model, alt, torch.float64)
            if name in ALT_WEIGHTS:
                randomize(model, 200)
                save_weights(model, os.path.join(OUT, name + ".alt"))
                record["outputs_alt_float32"] = run(model, inputs, torch.float32)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(record, f, separators=(",", ":"))
        print(name, ops)


if __name__ == "__main__":
    main()
