#!/usr/bin/env python3
"""Exports PyTorch model zoos into the shared zoo layout (docs/zoo.md) the way users export them:
`torch.export.export(model.eval(), args, kwargs)` then `torch.export.save`, no decompositions, random
weights (no downloads), and records PyTorch's own Float32 outputs of the eager model.

    ~/venv-ref/bin/python scripts/zoo/export_torch.py [torchvision|timm|transformers ...] [--only NAME ...]
        [--out DIR] [--force] [--committed]

--committed writes the small subset that is committed to Tests/Fixtures/zoo/ (timm's test_* models,
tiny transformers configs, small torchvision configs) instead of the full zoos into .zoo/.
Models already exported (a meta.json present) are skipped unless --force. A model torch itself cannot
export gets an export_failed.json with torch's message.

Weights: the libraries' own random initialisation (seeded), as a user gets it, except weight matrices
a library initialises to zeros (torchvision ViT's head), drawn from N(0, 0.02²) so that the output is not
just the bias. BatchNorm keeps its initial statistics (mean 0, var 1): batch norm semantics are pinned
by the op fixtures; here, measured statistics would only make float noise larger (a channel with near-zero
variance divides PyTorch's own float32 rounding error by sqrt(eps)). Random deep networks still grow
their activations (a random ResNet-152's logits reach 10⁷); the runner measures error relative to each
output's scale. Besides expected.npz, expected_float64.npz holds the float64 run of the same model (the
referee that says whether a difference is float noise). Inputs: N(0, 1) images (batch 2 for
torchvision, 1 for timm); token ids, attention masks with padding, audio features for transformers.
"""
import argparse
import copy
import gc
import os
import sys
import time
import traceback

import numpy as np
import torch
import torch.utils._pytree as pytree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo_layout  # noqa: E402

VERSIONS = {"torch": torch.__version__}
MAX_PARAMS = 300_000_000


def seeded(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)


def reinit_zero_weights(model, seed=0):
    """Weight matrices a library initialises to zeros (torchvision ViT's head, zero-init residual branches)
    drawn from N(0, 0.02²) instead: with all-zero weights the output is the bias and the comparison
    proves nothing. Returns the names changed."""
    g = torch.Generator().manual_seed(seed)
    changed = []
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2 and p.numel() > 0 and not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
                changed.append(name)
    return changed


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def flat_outputs(out):
    leaves, _ = pytree.tree_flatten(out)
    return [leaf for leaf in leaves if isinstance(leaf, torch.Tensor)]


def to_numpy(t):
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        return t.float().numpy()
    return t.numpy()


def export_one(root, source, name, family, build, notes="", force=False):
    """`build()` returns (model, args tuple, kwargs dict, notes)."""
    if not force and (zoo_layout.is_done(root, source, name)):
        print(f"  {name}: exported already")
        return
    t0 = time.time()
    try:
        model, args, kwargs, extra = build()
        zeroed = reinit_zero_weights(model)
        if zeroed:
            extra = "; ".join(s for s in [extra, f"zero-initialised weights drawn from N(0, 0.02²): {', '.join(zeroed[:6])}{' …' if len(zeroed) > 6 else ''}"] if s)
        model = model.eval()
        params = count_params(model)
        with torch.no_grad():
            expected = flat_outputs(model(*args, **kwargs))
        ep = torch.export.export(model, args, kwargs)
        # The exported program must reproduce the eager model (torch's own check of its export).
        with torch.no_grad():
            replay = flat_outputs(ep.module()(*args, **kwargs))
        assert len(replay) == len(expected), f"export returns {len(replay)} outputs, eager {len(expected)}"
        names = [s.arg.name for s in ep.graph_signature.input_specs if s.kind == torch.export.graph_signature.InputKind.USER_INPUT]
        flat_inputs = [x for x in pytree.tree_flatten((args, kwargs))[0] if isinstance(x, torch.Tensor)]
        assert len(names) == len(flat_inputs), f"{len(names)} user inputs for {len(flat_inputs)} tensors"
        inputs = {n: to_numpy(x) for n, x in zip(names, flat_inputs)}
        ops = sorted({str(n.target) for n in ep.graph.nodes if n.op == "call_function"})
        # The same weights and inputs in float64: the reference that tells float noise from a difference.
        double = lambda v: v.double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v
        try:
            with torch.no_grad():
                reference = flat_outputs(copy.deepcopy(model).double()(*pytree.tree_map(double, args), **pytree.tree_map(double, kwargs)))
            reference = [to_numpy(r) for r in reference] if len(reference) == len(expected) else None
        except Exception:  # noqa: BLE001 - a model that cannot run in float64 has no reference
            reference = None
        note = "; ".join(s for s in [notes, extra] if s)
        zoo_layout.write_model(
            root, source, name, family=family, params=params, versions=VERSIONS, notes=note,
            inputs=inputs, outputs=[to_numpy(o) for o in expected], outputs_float64=reference,
            save_model=lambda d: torch.export.save(ep, os.path.join(d, "model.pt2")))
        print(f"  {name}: {params / 1e6:.1f}M params, {len(ops)} ops, {time.time() - t0:.1f}s")
    except Exception as e:  # noqa: BLE001 - recorded, then the next model
        reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:500]
        print(f"  {name}: torch could not export it: {reason}")
        traceback.print_exc(limit=3, file=sys.stderr)
        zoo_layout.write_failure(root, source, name, family=family, reason=reason)
    finally:
        gc.collect()


# ---- torchvision -----------------------------------------------------------------------------

def torchvision_models(committed):
    import torchvision
    import torchvision.models as tvm
    VERSIONS["torchvision"] = torchvision.__version__

    def image(h, w, batch=2):
        return torch.randn(batch, 3, h, w, generator=torch.Generator().manual_seed(1))

    # Models that need a fixed or larger input: (height, width).
    sizes = {
        "inception_v3": (96, 104), "googlenet": (64, 72),
        "vit_b_16": (224, 224), "vit_b_32": (224, 224), "vit_h_14": (224, 224), "vit_l_16": (224, 224), "vit_l_32": (224, 224),
        "maxvit_t": (224, 224),
    }
    # Models over 300M parameters stand in by a smaller config of their own family.
    standins = {
        "vit_h_14": ("VisionTransformer(patch 14, 6 layers, 8 heads, width 512, mlp 2048)",
                     lambda: tvm.VisionTransformer(image_size=224, patch_size=14, num_layers=6, num_heads=8, hidden_dim=512, mlp_dim=2048)),
        "vit_l_16": ("VisionTransformer(patch 16, 8 layers, 16 heads, width 1024, mlp 4096)",
                     lambda: tvm.VisionTransformer(image_size=224, patch_size=16, num_layers=8, num_heads=16, hidden_dim=1024, mlp_dim=4096)),
        "vit_l_32": ("VisionTransformer(patch 32, 8 layers, 16 heads, width 1024, mlp 4096)",
                     lambda: tvm.VisionTransformer(image_size=224, patch_size=32, num_layers=8, num_heads=16, hidden_dim=1024, mlp_dim=4096)),
        "regnet_y_128gf": ("RegNet-Y with regnet_y_128gf's block params at depth 8 (widths 232…7392 → quarter)",
                           lambda: _regnet_y_128gf_small(tvm)),
    }
    names = tvm.list_models(module=tvm)
    if committed:
        names = ["mobilenet_v3_small"]
    for name in names:
        h, w = sizes.get(name, (64, 72))
        if committed:
            h, w = 32, 40

        def build(name=name, h=h, w=w):
            seeded(0)
            note = ""
            if name in standins:
                note, make = standins[name]
                model = make()
                note = f"stand-in for {name} (over 300M parameters): {note}"
            else:
                kwargs = {"aux_logits": False, "init_weights": True} if name in ("inception_v3", "googlenet") else {}
                if committed:  # small files: a quarter of the width, 10 classes
                    kwargs = {"width_mult": 0.25, "num_classes": 10}
                    note = "width_mult 0.25, 10 classes (committed subset)"
                model = tvm.get_model(name, weights=None, **kwargs)
            return model, (image(h, w, batch=1 if committed else 2),), {}, note
        family = name.rstrip("0123456789_").split("_")[0]
        yield name, family, build


def _regnet_y_128gf_small(tvm):
    from torchvision.models.regnet import BlockParams, RegNet
    params = BlockParams.from_init_params(depth=8, w_0=232, w_a=115.89, w_m=2.53, group_width=264, se_ratio=0.25)
    return RegNet(params, norm_layer=torch.nn.BatchNorm2d)


# ---- timm ------------------------------------------------------------------------------------

# Modules whose models need inputs other than an image batch or that are not classifiers; and models
# timm itself refuses to build without pretrained files.
TIMM_SKIP_MODULES = {"gemma4_vit", "qwen3_vit", "deepseek_vit", "naflexvit", "hieradet_sam2", "vision_transformer_sam"}


def timm_sample(per_module=2):
    """Every test_* model, then the `per_module` smallest (by parameter count, built on the meta device)
    models of every other module: a sample across all families."""
    import timm
    chosen = [m for m in timm.list_models() if m.startswith("test_")]
    for module in timm.list_modules():
        if module in TIMM_SKIP_MODULES:
            continue
        sized = []
        for name in timm.list_models(module=module):
            if name.startswith("test_"):
                continue
            try:
                with torch.device("meta"):
                    m = timm.create_model(name, pretrained=False)
                sized.append((sum(p.numel() for p in m.parameters()), name))
            except Exception:  # noqa: BLE001 - a model that cannot be built is not sampled
                continue
        chosen += [n for _, n in sorted(sized)[:per_module] if n not in chosen]
    return chosen


def timm_models(committed):
    import timm
    VERSIONS["timm"] = timm.__version__
    listing = os.path.join(os.path.dirname(os.path.abspath(__file__)), "timm_sample.txt")
    if committed:
        names = ["test_efficientnet"]
    else:
        if not os.path.exists(listing):
            with open(listing, "w") as f:
                f.write("# timm models sampled by export_torch.py (every test_* model, the 2 smallest per module)\n")
                f.write("\n".join(timm_sample()) + "\n")
        names = [l.strip() for l in open(listing) if l.strip() and not l.startswith("#")]
    module_of = {n: m for m in timm.list_modules() for n in timm.list_models(module=m)}
    for name in names:
        def build(name=name):
            seeded(0)
            model = timm.create_model(name, pretrained=False, **({"num_classes": 10} if committed else {}))
            c, h, w = (3, 64, 64) if committed else (model.pretrained_cfg or {}).get("input_size", (3, 224, 224))
            x = torch.randn(1, c, h, w, generator=torch.Generator().manual_seed(1))
            return model, (x,), {}, f"input 1x{c}x{h}x{w}" + (", 10 classes (committed subset)" if committed else " (the model's pretrained_cfg input_size)")
        yield name, module_of.get(name, "?"), build


# ---- transformers ----------------------------------------------------------------------------

def transformers_models(committed):
    import transformers as hf
    VERSIONS["transformers"] = hf.__version__
    g = torch.Generator().manual_seed(2)
    batch, length, vocab = 2, 9, 99

    def text(extra=None):
        ids = torch.randint(0, vocab, (batch, length), generator=g)
        mask = torch.ones(batch, length, dtype=torch.long)
        mask[1, -3:] = 0  # the second sequence is padded
        kwargs = {"input_ids": ids, "attention_mask": mask}
        kwargs.update(extra or {})
        return kwargs

    small = dict(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)
    # Decoders without a KV cache: a DynamicCache in the outputs is not a pytree torch.export can return.
    decoder = dict(small, num_key_value_heads=2, max_position_embeddings=64, use_cache=False, bos_token_id=1, eos_token_id=2)
    gpt2 = dict(vocab_size=vocab, n_embd=32, n_layer=2, n_head=4, n_positions=64, use_cache=False, bos_token_id=1, eos_token_id=2)
    specs = {
        "bert": lambda: (hf.BertModel(hf.BertConfig(**small, max_position_embeddings=64)), text()),
        "distilbert": lambda: (hf.DistilBertModel(hf.DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=4, hidden_dim=37,
                                                                       max_position_embeddings=64)), text()),
        "roberta": lambda: (hf.RobertaModel(hf.RobertaConfig(**small, max_position_embeddings=64)), text()),
        "albert": lambda: (hf.AlbertModel(hf.AlbertConfig(**small, embedding_size=16, max_position_embeddings=64)), text()),
        "electra": lambda: (hf.ElectraModel(hf.ElectraConfig(**small, embedding_size=16, max_position_embeddings=64)), text()),
        "gpt2": lambda: (hf.GPT2Model(hf.GPT2Config(**gpt2)), text()),
        "llama": lambda: (hf.LlamaModel(hf.LlamaConfig(**decoder)), text()),
        "mistral": lambda: (hf.MistralModel(hf.MistralConfig(**decoder)), text()),
        "qwen2": lambda: (hf.Qwen2Model(hf.Qwen2Config(**decoder)), text()),
        "gemma": lambda: (hf.GemmaModel(hf.GemmaConfig(**decoder, head_dim=8)), text()),
        "phi3": lambda: (hf.Phi3Model(hf.Phi3Config(**decoder, pad_token_id=0)), text()),
        "t5_encoder": lambda: (hf.T5EncoderModel(hf.T5Config(vocab_size=vocab, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4)), text()),
        "vit": lambda: (hf.ViTModel(hf.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                                                  image_size=32, patch_size=8)),
                        {"pixel_values": torch.randn(batch, 3, 32, 32, generator=g)}),
        "whisper_encoder": lambda: (hf.WhisperModel(hf.WhisperConfig(vocab_size=vocab, pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1, d_model=32, encoder_layers=2, decoder_layers=2,
                                                                     encoder_attention_heads=4, decoder_attention_heads=4,
                                                                     encoder_ffn_dim=37, decoder_ffn_dim=37, num_mel_bins=16,
                                                                     max_source_positions=12, max_target_positions=16)).get_encoder(),
                                    {"input_features": torch.randn(batch, 16, 24, generator=g)}),
        "bert_sequence_classification": lambda: (hf.BertForSequenceClassification(hf.BertConfig(**small, max_position_embeddings=64, num_labels=3)), text()),
        "gpt2_lm_head": lambda: (hf.GPT2LMHeadModel(hf.GPT2Config(**gpt2)), text()),
        "llama_causal_lm": lambda: (hf.LlamaForCausalLM(hf.LlamaConfig(**decoder)), text()),
    }
    if committed:
        specs = {k: specs[k] for k in ["bert", "llama", "t5_encoder"]}
    for name, spec in specs.items():
        def build(spec=spec):
            seeded(0)
            model, kwargs = spec()
            return model, (), kwargs, "random weights from the config; inputs " + ", ".join(f"{k} {list(v.shape)} {str(v.dtype).replace('torch.', '')}" for k, v in kwargs.items())
        yield name, name.split("_")[0], build


SOURCES = {"torchvision": torchvision_models, "timm": timm_models, "transformers": transformers_models}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*", default=list(SOURCES))
    parser.add_argument("--only", nargs="*", default=None, help="model names to (re)export")
    parser.add_argument("--out", default=None)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--committed", action="store_true")
    a = parser.parse_args()
    root = a.out or (zoo_layout.COMMITTED if a.committed else zoo_layout.ZOO)
    torch.set_num_threads(1)
    for source in a.sources:
        print(f"{source} → {root}/{source}")
        for name, family, build in SOURCES[source](a.committed):
            if a.only and name not in a.only:
                continue
            export_one(root, source, name, family, build, force=a.force or bool(a.only))


if __name__ == "__main__":
    main()
