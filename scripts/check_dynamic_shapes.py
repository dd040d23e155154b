#!/usr/bin/env python3
"""Exports published architectures with `dynamic_shapes` (random weights, no run_decompositions) into
.zoo/dynamic/ and checks that Parity runs each at the traced shape and at another one, eagerly and as a
graph, within 1e-5 (absolute + relative) of PyTorch:

  torchvision resnet18, mobilenet_v3_small   dynamic batch: run at 2 and 5
  transformers BERT, GPT-2, Llama (tiny)     dynamic batch and sequence: run at 2x8 and 3x11
  transformers ViT (tiny)                    dynamic batch: run at 2 and 4

Run in the reference venv after `swift build`:
    ~/venv-ref/bin/python scripts/check_dynamic_shapes.py [path/to/parity]
"""
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision
import transformers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, ".zoo", "dynamic")
PARITY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "debug", "parity")
B = torch.export.Dim("batch", min=1, max=64)
S = torch.export.Dim("seq", min=2, max=32)


def first(y):
    if isinstance(y, torch.Tensor):
        return y
    return y.logits if hasattr(y, "logits") else y.last_hidden_state


def export(name, model, runs, dynamic):
    model.eval()
    ep = torch.export.export(model, runs[0], dynamic_shapes=dynamic)
    torch.export.save(ep, os.path.join(OUT, f"{name}.pt2"))
    for i, inputs in enumerate(runs):
        with torch.no_grad():
            np.save(os.path.join(OUT, f"{name}.out{i}.npy"), first(model(*inputs)).numpy())
        np.savez(os.path.join(OUT, f"{name}.in{i}.npz"), **{f"x{j}": t.numpy() for j, t in enumerate(inputs)})


def check(name, runs):
    ok = True
    for i in range(runs):
        reference = np.load(os.path.join(OUT, f"{name}.out{i}.npy"))
        for mode in ["eager", "graph"]:
            out = os.path.join(OUT, f"{name}.{i}.{mode}.npz")
            result = subprocess.run([PARITY, "run", os.path.join(OUT, f"{name}.pt2"), "--input", os.path.join(OUT, f"{name}.in{i}.npz"),
                                     "--output", out, "--mode", mode], capture_output=True, text=True)
            if result.returncode != 0:
                print(f"{name} {reference.shape} {mode}: {result.stderr.strip().splitlines()[-1]}")
                ok = False
                continue
            data = np.load(out)
            y = data[sorted(data.files)[0]]
            within = y.shape == reference.shape and bool(np.all(np.abs(y - reference) <= 1e-5 + 1e-5 * np.abs(reference)))
            error = np.abs(y - reference).max() if y.shape == reference.shape else float("nan")
            print(f"{name} {list(reference.shape)} {mode}: max abs error {error:.2e}{'' if within else '  NOT within 1e-5'}")
            ok &= within
    return ok


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    ids = lambda b, s: torch.randint(0, 100, (b, s))
    small = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37)
    cases = [
        ("resnet18", torchvision.models.resnet18(), [(torch.randn(2, 3, 64, 64),), (torch.randn(5, 3, 64, 64),)], ({0: B},)),
        ("mobilenet_v3_small", torchvision.models.mobilenet_v3_small(), [(torch.randn(2, 3, 64, 64),), (torch.randn(5, 3, 64, 64),)], ({0: B},)),
        ("bert_tiny", transformers.BertModel(transformers.BertConfig(**small, max_position_embeddings=64)), [(ids(2, 8),), (ids(3, 11),)],
         ({0: B, 1: S},)),
        ("gpt2_tiny", transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=100, n_embd=32, n_layer=2, n_head=2, n_positions=64,
                                                                           use_cache=False)), [(ids(2, 8),), (ids(3, 11),)], ({0: B, 1: S},)),
        ("llama_tiny", transformers.LlamaForCausalLM(transformers.LlamaConfig(**small, num_key_value_heads=1, max_position_embeddings=64,
                                                                              use_cache=False)), [(ids(2, 8),), (ids(3, 11),)], ({0: B, 1: S},)),
        ("vit_tiny", transformers.ViTModel(transformers.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                                                                  image_size=32, patch_size=8)),
         [(torch.randn(2, 3, 32, 32),), (torch.randn(4, 3, 32, 32),)], ({0: B},)),
    ]
    passed = 0
    for name, model, runs, dynamic in cases:
        export(name, model, runs, dynamic)
        passed += check(name, len(runs))
    print(f"{passed}/{len(cases)} dynamic-shape exports within 1e-5 at every shape, eager and graph")
    return 0 if passed == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
