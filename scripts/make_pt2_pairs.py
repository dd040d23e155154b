#!/usr/bin/env python3
"""`.pt2` ↔ `.pt2` pairs whose inputs differ in layout or dtype (Tests/Fixtures/compare_pt2/), for `parity compare`
bringing A's input to B's layout and dtype (issue 10: "B gets A's input brought to B's layout and dtype").

  image_nhwc.pt2   a small CNN whose forward takes NHWC and permutes to NCHW itself
  image_nchw.pt2   the same module (same weights) taking NCHW, as PyTorch users call it
  image.npy        the NHWC input [2, 8, 8, 3] (float32)
  tokens_int32.pt2 nn.Embedding + mean + nn.Linear exported with int32 token ids
  tokens_int64.pt2 the same module exported with int64 ids (PyTorch's usual dtype)
  tokens.npy       int32 token ids [2, 6]

Run: nice -n 10 ~/venv-ref/bin/python scripts/make_pt2_pairs.py
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "compare_pt2")


class Image(nn.Module):
    def __init__(self, channels_last):
        super().__init__()
        self.channels_last = channels_last
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        x = F.relu(self.conv(x))
        return self.fc(x.mean(dim=(2, 3)))


class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(16, 5)
        self.fc = nn.Linear(5, 3)

    def forward(self, ids):
        return self.fc(self.embed(ids).mean(dim=1))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(3)
    torch.manual_seed(3)
    image = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    np.save(os.path.join(OUT, "image.npy"), image)
    nhwc, nchw = Image(True).eval(), Image(False).eval()
    nchw.load_state_dict(nhwc.state_dict())
    x = torch.from_numpy(image)
    for name, model, arg in (("image_nhwc", nhwc, x), ("image_nchw", nchw, x.permute(0, 3, 1, 2).contiguous())):
        torch.export.save(torch.export.export(model, (arg,)), os.path.join(OUT, f"{name}.pt2"))
    with torch.no_grad():
        print("image: max |NHWC port − NCHW port|", float((nhwc(x) - nchw(x.permute(0, 3, 1, 2))).abs().max()))
    ids = rng.integers(0, 16, (2, 6)).astype(np.int32)
    np.save(os.path.join(OUT, "tokens.npy"), ids)
    tokens = Tokens().eval()
    for name, arg in (("tokens_int32", torch.from_numpy(ids)), ("tokens_int64", torch.from_numpy(ids.astype(np.int64)))):
        torch.export.save(torch.export.export(tokens, (arg,)), os.path.join(OUT, f"{name}.pt2"))
    print("written to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
