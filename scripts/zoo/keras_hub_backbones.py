"""Exports KerasHub backbones in the shared zoo layout (`.zoo/keras_hub/<name>/`: `model.keras`,
`input.npz`, `expected.npz`, `meta.json`), three ways, all with random weights and no hub downloads:

- direct: each backbone built from small constructor arguments (`keras_hub.models.BertBackbone(...)`);
- hf: a third-party pair — a tiny Hugging Face `transformers` model saved with `save_pretrained(dir)`
  (stage 1, a PyTorch process), converted by KerasHub's own converter
  `keras_hub.models.Backbone.from_preset(dir)` (stage 2, a TensorFlow process) and saved;
- wrapper: a one-input functional model around a backbone, the padding mask made by
  `keras.ops.ones_like(token_ids)` (an operation node), as users write it.

Inputs: token ids in [1, vocabulary), a padding mask with the last positions of the second sequence
masked, BERT's segment ids; ViT images. Expected outputs: Keras's float32 `model.predict`, flattened
as `keras.tree.flatten` orders a dict (sorted keys).

Run in the reference venv, the two stages in separate processes (never torch and TensorFlow together):
    nice -n 10 ~/venv-ref/bin/python scripts/zoo/keras_hub_backbones.py --hf-sources      # torch + transformers
    TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 ~/venv-ref/bin/python scripts/zoo/keras_hub_backbones.py [--subset] [--only NAME,...]
`--subset` writes the smallest configurations to Tests/Fixtures/zoo/keras_hub/ (committed, run by `swift test`).
"""
import argparse
import json
import os
import shutil
import sys

SOURCE = "keras_hub"
HF_SOURCES = ".zoo/hf_sources"
VOCAB = 100
LENGTH = 8


def hf_configs():
    """Tiny transformers configs (stage 1)."""
    import transformers as T
    return {
        "bert": (T.BertConfig(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                              max_position_embeddings=32), T.BertModel),
        "distil_bert": (T.DistilBertConfig(vocab_size=VOCAB, dim=16, n_layers=2, n_heads=2, hidden_dim=32, max_position_embeddings=32),
                        T.DistilBertForMaskedLM),
        "gpt2": (T.GPT2Config(vocab_size=VOCAB, n_embd=16, n_layer=2, n_head=2, n_positions=32), T.GPT2Model),
        "llama3": (T.LlamaConfig(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
                                 num_key_value_heads=2, max_position_embeddings=64,
                                 rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                               "original_max_position_embeddings": 16}), T.LlamaForCausalLM),
        "mistral": (T.MistralConfig(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
                                    num_key_value_heads=2, max_position_embeddings=64, sliding_window=4), T.MistralForCausalLM),
        "gemma": (T.GemmaConfig(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
                                num_key_value_heads=1, head_dim=4, max_position_embeddings=64), T.GemmaForCausalLM),
        "vit": (T.ViTConfig(image_size=16, patch_size=4, num_channels=3, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=32), T.ViTForImageClassification),
    }


def make_hf_sources():
    import torch
    torch.manual_seed(0)
    for name, (config, cls) in hf_configs().items():
        model = cls(config).eval()
        folder = os.path.join(HF_SOURCES, name)
        shutil.rmtree(folder, ignore_errors=True)
        model.save_pretrained(folder)
        print(f"hf source {name}: {sum(p.numel() for p in model.parameters())} params -> {folder}", flush=True)


def direct_backbones(subset):
    from keras_hub import models as M
    layers = 1 if subset else 2
    return {
        "BertBackbone": lambda: M.BertBackbone(vocabulary_size=VOCAB, num_layers=layers, num_heads=2, hidden_dim=16, intermediate_dim=32,
                                               max_sequence_length=16),
        "DistilBertBackbone": lambda: M.DistilBertBackbone(vocabulary_size=VOCAB, num_layers=layers, num_heads=2, hidden_dim=16,
                                                           intermediate_dim=32, max_sequence_length=16),
        "GPT2Backbone": lambda: M.GPT2Backbone(vocabulary_size=VOCAB, num_layers=layers, num_heads=2, hidden_dim=16, intermediate_dim=32,
                                               max_sequence_length=16),
        "Llama3Backbone": lambda: M.Llama3Backbone(vocabulary_size=VOCAB, num_layers=layers, num_query_heads=4, num_key_value_heads=2,
                                                   hidden_dim=16, intermediate_dim=32),
        "Llama3Backbone_rope_scaled": lambda: M.Llama3Backbone(
            vocabulary_size=VOCAB, num_layers=layers, num_query_heads=4, num_key_value_heads=2, hidden_dim=16, intermediate_dim=32,
            rope_frequency_adjustment_factor=8.0, rope_low_freq_factor=1.0, rope_high_freq_factor=4.0, rope_pretraining_sequence_length=16),
        "MistralBackbone": lambda: M.MistralBackbone(vocabulary_size=VOCAB, num_layers=layers, num_query_heads=4, num_key_value_heads=2,
                                                     hidden_dim=16, intermediate_dim=32, sliding_window=4),
        "GemmaBackbone": lambda: M.GemmaBackbone(vocabulary_size=VOCAB, num_layers=layers, num_query_heads=4, num_key_value_heads=1,
                                                 hidden_dim=16, intermediate_dim=32, head_dim=4),
        "GemmaBackbone_gemma2_options": lambda: M.GemmaBackbone(
            vocabulary_size=VOCAB, num_layers=2, num_query_heads=4, num_key_value_heads=2, hidden_dim=16, intermediate_dim=32, head_dim=4,
            query_head_dim_normalize=False, use_post_ffw_norm=True, use_post_attention_norm=True, attention_logit_soft_cap=50.0,
            final_logit_soft_cap=30.0, use_sliding_window_attention=True, sliding_window_size=4),
        "ViTBackbone": lambda: M.ViTBackbone(image_shape=(16, 16, 3), patch_size=4, num_layers=layers, num_heads=2, hidden_dim=16, mlp_dim=32),
    }


def randomise(model, rng):
    """Every weight drawn at random, at scales that keep activations O(1): weights initialised to ones
    (norm gammas and scales) become 1 ± 0.1, other vectors (biases, Gemma's zero-initialised scales)
    N(0, 0.1), matrices and kernels N(0, 1/fan_in)."""
    import numpy as np
    values = []
    for w, current in zip(model.weights, model.get_weights()):
        if current.ndim == 1 and np.all(current == 1):
            values.append((1 + rng.normal(0, 0.1, current.shape)).astype(np.float32))
        elif current.ndim == 1:
            values.append(rng.normal(0, 0.1, current.shape).astype(np.float32))
        else:
            fan_in = int(np.prod(current.shape[:-1])) if current.ndim > 2 else current.shape[0]
            values.append(rng.normal(0, 1 / np.sqrt(max(fan_in, 1)), current.shape).astype(np.float32))
    model.set_weights(values)


def inputs_for(model, rng):
    import numpy as np
    names = [t._keras_history[0].name for t in model.inputs]
    feed = {}
    for name in names:
        if name == "images":
            feed[name] = rng.uniform(-1, 1, (2,) + tuple(model.inputs[names.index(name)].shape[1:])).astype(np.float32)
        elif name == "token_ids":
            feed[name] = rng.integers(1, VOCAB, (2, LENGTH)).astype(np.int32)
        elif name == "segment_ids":
            feed[name] = rng.integers(0, 2, (2, LENGTH)).astype(np.int32)
        elif name == "padding_mask":
            mask = np.ones((2, LENGTH), np.int32)
            mask[1, -3:] = 0
            feed[name] = mask
        else:
            raise ValueError(f"no input for {name}")
    return feed


def export(name, model, root, kind, rng, notes):
    import keras
    import numpy as np
    import tensorflow as tf
    feed = inputs_for(model, rng)
    outputs = keras.tree.flatten(model.predict(feed, verbose=0))
    folder = os.path.join(root, SOURCE, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    model.save(os.path.join(folder, "model.keras"))
    np.savez(os.path.join(folder, "input.npz"), **feed)
    np.savez(os.path.join(folder, "expected.npz"), **{f"output{i}": np.asarray(o) for i, o in enumerate(outputs)})
    meta = {"name": name, "source": SOURCE, "family": kind, "params": int(model.count_params()),
            "framework_versions": {"keras": keras.__version__, "keras_hub": __import__("keras_hub").__version__,
                                   "tensorflow": tf.__version__, "python": sys.version.split()[0]},
            "notes": notes}
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"{name}: {meta['params']} params, outputs {[tuple(o.shape) for o in outputs]}", flush=True)


def wrapper(backbone):
    """A one-input model: the backbone's padding mask (and BERT's segment ids) made from the token ids."""
    import keras
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    feed = {"token_ids": ids, "padding_mask": keras.ops.ones_like(ids)}
    if "segment_ids" in [t._keras_history[0].name for t in backbone.inputs]:
        feed["segment_ids"] = keras.ops.zeros_like(ids)
    return keras.Model(ids, backbone(feed), name=f"{backbone.name}_wrapper")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hf-sources", action="store_true", help="stage 1 (torch): write the tiny transformers models")
    parser.add_argument("--subset", action="store_true")
    parser.add_argument("--only")
    args = parser.parse_args()
    if args.hf_sources:
        make_hf_sources()
        return
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import keras_hub
    import numpy as np
    root = "Tests/Fixtures/zoo" if args.subset else ".zoo"
    only = set(args.only.split(",")) if args.only else None
    jobs = []
    for name, build in direct_backbones(args.subset).items():
        jobs.append((name, "direct", build, "built from constructor arguments, every weight randomised"))
        if name.startswith("ViT"):
            continue  # the wrapper feeds token models
        jobs.append((f"{name}_wrapper", "wrapper", lambda b=build: wrapper(b()),
                     "one-input functional wrapper, padding mask = keras.ops.ones_like(token_ids), weights randomised"))
    # The committed subset keeps one third-party pair (Llama 3 with its RoPE scaling, converted by KerasHub).
    for name in sorted(os.listdir(HF_SOURCES)) if os.path.isdir(HF_SOURCES) else []:
        if not args.subset or name == "llama3":
            jobs.append((f"hf_{name}", "hf", lambda n=name: keras_hub.models.Backbone.from_preset(os.path.join(HF_SOURCES, n)),
                         f"transformers tiny random {name} (save_pretrained) converted by keras_hub.models.Backbone.from_preset"))
    for index, (name, kind, build, notes) in enumerate(jobs):
        if only and name not in only:
            continue
        if args.subset and kind == "wrapper" and not name.startswith("Bert"):
            continue  # one wrapper is enough for the committed subset
        rng = np.random.default_rng(2000 + index)
        keras.utils.set_random_seed(2000 + index)
        try:
            model = build()
            if kind != "hf":
                randomise(model, rng)
            export(name, model, root, kind, rng, notes)
        except Exception as error:  # keep going: one broken export must not hide the others
            print(f"{name}: EXPORT FAILED {type(error).__name__}: {error}", flush=True)
        keras.backend.clear_session()


if __name__ == "__main__":
    main()
