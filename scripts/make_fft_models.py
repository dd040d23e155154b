#!/usr/bin/env python3
"""Exports the FFT models Parity's complex support is measured on, as a user would
(`torch.export.export(model.eval(), (x,))`, `torch.export.save`, no decompositions), with random weights,
and records PyTorch's float32 outputs:

  fnet          transformers FNetModel, tiny random config (torch.fft.fftn over (seq, hidden) → _fft_c2c, real)
  spectral      a GFNet-style global filter block as users write it (rfft2 → complex weight from a real
                parameter via view_as_complex → irfft2, then an MLP), timm has no FFT model
  fft_ops       torch.fft.fft / ifft / rfft with norm="ortho" / "forward", abs, angle, real, imag, complex add, mul, div,
                conj, view_as_real, view_as_complex (one small module)

Writes .zoo/fft/<name>.pt2, <name>_input.npy, <name>_torch.npy (git-ignored). Run in the reference venv:
    nice -n 10 ~/venv-ref/bin/python scripts/make_fft_models.py
"""
import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".zoo", "fft")


class GlobalFilter(nn.Module):
    """GFNet's global filter (Rao et al. 2021), written as its reference implementation does."""
    def __init__(self, dim, h, w):
        super().__init__()
        self.complex_weight = nn.Parameter(torch.randn(h, w // 2 + 1, dim, 2) * 0.02)
        self.h, self.w = h, w

    def forward(self, x):
        b, n, c = x.shape
        x = x.view(b, self.h, self.w, c)
        x = torch.fft.rfft2(x, dim=(1, 2), norm="ortho")
        x = x * torch.view_as_complex(self.complex_weight)
        x = torch.fft.irfft2(x, s=(self.h, self.w), dim=(1, 2), norm="ortho")
        return x.reshape(b, n, c)


class SpectralBlock(nn.Module):
    def __init__(self, dim=16, h=6, w=7):
        super().__init__()
        self.norm1, self.filter = nn.LayerNorm(dim), GlobalFilter(dim, h, w)
        self.norm2, self.mlp = nn.LayerNorm(dim), nn.Sequential(nn.Linear(dim, 32), nn.GELU(), nn.Linear(32, dim))

    def forward(self, x):
        x = x + self.filter(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class FFTOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(10, 10)
        self.shift = nn.Parameter(torch.randn(10, 2) * 0.1)

    def forward(self, x):
        z = torch.fft.fft(self.proj(x), dim=-1, norm="ortho")
        w = torch.fft.ifft(z.conj() / (z + 2.0), dim=-2, norm="forward")
        r = torch.fft.rfft(x, dim=1)
        # angle() off the branch cut: where w is real in exact arithmetic (a DC or Nyquist bin) its sign of
        # zero decides ±π, which an FFT's rounding does not reproduce.
        v = w + torch.view_as_complex(self.shift)
        return torch.cat([w.abs(), v.angle(), w.real * w.imag], dim=-1), torch.view_as_real(r * 0.5 - r)


def export(name, model, x):
    model = model.eval()
    with torch.no_grad():
        y = model(x)
    program = torch.export.export(model, (x,))
    torch.export.save(program, os.path.join(OUT, f"{name}.pt2"))
    np.save(os.path.join(OUT, f"{name}_input.npy"), x.numpy())
    outs = y if isinstance(y, tuple) else (y,)
    outs = [o.last_hidden_state if hasattr(o, "last_hidden_state") else o for o in outs]
    if len(outs) == 1:
        np.save(os.path.join(OUT, f"{name}_torch.npy"), outs[0].detach().numpy())
    else:
        np.savez(os.path.join(OUT, f"{name}_torch.npz"), **{f"out{i}": o.detach().numpy() for i, o in enumerate(outs)})
    ops = sorted({str(n.target) for n in program.graph.nodes if n.op == "call_function"})
    print(name, [o for o in ops if "fft" in o or "complex" in o or "real" in o or "imag" in o or "conj" in o])


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    export("spectral", SpectralBlock(), torch.randn(2, 42, 16))
    export("fft_ops", FFTOps(), torch.randn(3, 8, 10))
    from transformers import FNetConfig, FNetModel

    class FNet(nn.Module):  # the hidden states only (a plain tensor output)
        def __init__(self):
            super().__init__()
            config = FNetConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, intermediate_size=64, max_position_embeddings=64,
                                type_vocab_size=2, use_tpu_fourier_optimizations=False)
            self.model = FNetModel(config)

        def forward(self, inputs_embeds):
            return self.model(inputs_embeds=inputs_embeds).last_hidden_state

    export("fnet", FNet(), torch.randn(2, 12, 32))


if __name__ == "__main__":
    main()
