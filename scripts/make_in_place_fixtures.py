"""Generates Tests/Fixtures/formats/in_place/: a torch.save state_dict and a safetensors file, written
by PyTorch 2.15 and safetensors themselves, with float32/float64 tensors of at least a page (which
Parity reads in place from the mapped file) beside a small float32 and a float16 one (copied).

    ~/venv-ref/bin/python scripts/make_in_place_fixtures.py

Values (checked by Tests/ParityFormatsTests/SafeTensorsTests.swift, largeTensorsAreReadInPlace):
w = arange(1280, float32).reshape(32, 40) / 7, d = arange(1024, float64) / 7, s = [1, 2, 3] (float32),
h = (arange(1280, float32) / 7).half().
"""
import os

import safetensors.torch
import torch

root = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "formats", "in_place")
os.makedirs(root, exist_ok=True)
tensors = {
    "w": torch.arange(1280, dtype=torch.float32).reshape(32, 40) / 7,
    "d": torch.arange(1024, dtype=torch.float64) / 7,
    "s": torch.tensor([1.0, 2.0, 3.0]),
    "h": (torch.arange(1280, dtype=torch.float32) / 7).half(),
}
torch.save(tensors, os.path.join(root, "state_dict.pt"))
safetensors.torch.save_file(tensors, os.path.join(root, "model.safetensors"))
for name in ["state_dict.pt", "model.safetensors"]:
    file = os.path.join(root, name)
    loaded = torch.load(file, mmap=True, weights_only=True) if name.endswith(".pt") else safetensors.torch.load_file(file)
    assert all(torch.equal(loaded[k], v) for k, v in tensors.items()), name
    print(name, os.path.getsize(file), "bytes")
