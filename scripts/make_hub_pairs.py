#!/usr/bin/env python3
"""Third-party pairs for `parity compare` (examples/hub_pairs/): neither side written by the project.

Each pair is a tiny random-weight Hugging Face `transformers` model and the KerasHub backbone that KerasHub's own
converter makes from it:
  B  the transformers model (`BertModel`, `GPT2Model`, `LlamaModel`, …) exported with
     `torch.export.export(model.eval(), (), kwargs)` + `torch.export.save` (inputs `input_ids`, `attention_mask`,
     BERT's `token_type_ids`, int64);
  A  `keras_hub.models.Backbone.from_preset(DIR)` on the `save_pretrained(DIR)` directory of that model, saved with
     `model.save` (inputs `token_ids`, `padding_mask`, BERT's `segment_ids`, int32).
Inputs: token ids in [1, vocabulary), the last three positions of the second sequence padded.

Where KerasHub's converter does not carry a setting over (`convert_backbone_config` in
keras_hub/src/utils/transformers/convert_*.py), Parity must name it: `bert` (BERT's exact GELU, `hidden_act="gelu"`;
KerasHub's BertBackbone always uses the tanh approximation: a Float64 difference of 2.6e-7 on these tiny weights,
4.8e-7 in float32, within assert_close), `llama_rms_eps` (`rms_norm_eps=1e-5`, Llama 3's own value, which
convert_llama3.py drops, so the backbone keeps its default 1e-6) and `mistral` (convert_mistral.py rounds every weight
to float16, `hf_tensor.astype(np.float16)` in each port_weight hook, before the float32 backbone holds it: 8.1e-4 at the
output with these tiny weights; the transformers model with its weights so rounded agrees with KerasHub within 2.4e-7).

Writes examples/hub_pairs/NAME/{keras.keras, torch.pt2, input.npz, hf_out.npz, keras_out.npz} and
examples/hub_pairs/pairs.json (what `parity compare` must say, the measured max |KerasHub − transformers| per
output). The save_pretrained directories go to .zoo/hub_pairs/ (not committed).

Run (never torch and TensorFlow in one process):
    nice -n 10 ~/venv-ref/bin/python scripts/make_hub_pairs.py torch [NAME ...]
    TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 ~/venv-ref/bin/python scripts/make_hub_pairs.py keras [NAME ...]
"""
import json
import os
import shutil
import sys

import numpy as np

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
ROOT = os.path.join(REPO, "examples", "hub_pairs")
HF = os.path.join(REPO, ".zoo", "hub_pairs")
VOCAB, LENGTH, BATCH = 64, 8, 2

# name -> (transformers config kwargs, the class saved with save_pretrained (KerasHub's Llama and Mistral converters read
#          the task checkpoint's `model.` / `distilbert.` keys), the exported module's attribute ("": the saved model itself; for
#          the causal LMs it is `.model`, the LlamaModel / MistralModel the backbone corresponds to),
#          expected: exit code and, for exit 1, (cause, layer prefix), what differs)
PAIRS = {
    "bert": (("BertConfig", dict(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                 max_position_embeddings=16)), "BertModel", "",
             dict(exit=1, cause="gelu-approximation", layer="transformer_layer_0",
                  pattern="BertModel (hidden_act='gelu', exact) ↔ KerasHub BertBackbone (token_ids, segment_ids, padding_mask; sequence and "
                          "pooled outputs): KerasHub's BERT encoder uses the tanh GELU and convert_bert.py does not read hidden_act")),
    "gpt2": (("GPT2Config", dict(vocab_size=VOCAB, n_embd=16, n_layer=1, n_head=2, n_positions=16)), "GPT2Model", "",
             dict(exit=0, pattern="GPT2Model ↔ KerasHub GPT2Backbone (Conv1D-style c_attn weights, tanh GELU)")),
    "llama": (("LlamaConfig", dict(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=4,
                                   num_key_value_heads=2, max_position_embeddings=32)), "LlamaForCausalLM", "model",
              dict(exit=0, pattern="LlamaModel (grouped-query attention, RoPE, RMSNorm) ↔ KerasHub Llama3Backbone")),
    "distil_bert": (("DistilBertConfig", dict(vocab_size=VOCAB, dim=16, n_layers=1, n_heads=2, hidden_dim=32, max_position_embeddings=16)),
                    "DistilBertForMaskedLM", "distilbert", dict(exit=0, pattern="DistilBertModel ↔ KerasHub DistilBertBackbone (exact GELU on both sides)")),
    "gemma": (("GemmaConfig", dict(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=4,
                                   num_key_value_heads=1, head_dim=4, max_position_embeddings=32)), "GemmaForCausalLM", "model",
              dict(exit=0, pattern="GemmaModel (multi-query attention, (1 + scale) RMSNorm, √hidden embedding scale, tanh GELU) ↔ KerasHub GemmaBackbone")),
    "llama_rms_eps": (("LlamaConfig", dict(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=4,
                                           num_key_value_heads=2, max_position_embeddings=32, rms_norm_eps=1e-5)), "LlamaForCausalLM", "model",
                      dict(exit=1, cause="layernorm-epsilon", layer="transformer_layer_0",
                           layers=["transformer_layer_0", "sequence_output_layernorm"], pattern="LlamaModel with rms_norm_eps=1e-5 ↔ KerasHub Llama3Backbone: convert_llama3.py drops "
                                           "rms_norm_eps, the backbone keeps layer_norm_epsilon=1e-6")),
    "mistral": (("MistralConfig", dict(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=4,
                                       num_key_value_heads=2, max_position_embeddings=32)), "MistralForCausalLM", "model",
                dict(exit=1, cause="weights-precision", layer="token_embedding", layers=["token_embedding", "transformer_layer_0", "sequence_output_layernorm"],
                     pattern="MistralModel (grouped-query attention, RoPE, sliding window 4096) ↔ KerasHub MistralBackbone: convert_mistral.py "
                             "rounds every weight to float16 (hf_tensor.astype(np.float16)) before the float32 backbone holds it")),
}


def inputs(name):
    rng = np.random.default_rng(11)
    ids = rng.integers(1, VOCAB, (BATCH, LENGTH)).astype(np.int32)
    mask = np.ones((BATCH, LENGTH), np.int32)
    mask[1, -3:] = 0
    keras_feed = {"token_ids": ids, "padding_mask": mask}
    torch_feed = {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)}
    if name == "bert":
        segments = np.zeros((BATCH, LENGTH), np.int32)
        segments[:, LENGTH // 2:] = 1
        keras_feed["segment_ids"] = segments
        torch_feed["token_type_ids"] = segments.astype(np.int64)
    return keras_feed, torch_feed


def torch_half(names):
    import torch
    import transformers as T
    for name in names:
        (config_class, kwargs), model_class, attribute, _ = PAIRS[name]
        torch.manual_seed(5)
        # use_cache=False in the config (not as a call argument, which would become a bool input of the export).
        extra = {} if config_class == "BertConfig" else {"use_cache": False}
        saved = getattr(T, model_class)(getattr(T, config_class)(**kwargs, **extra)).eval()
        model = getattr(saved, attribute) if attribute else saved
        # Random, non-trivial norms and biases (transformers initialises them to ones / zeros).
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if p.ndim == 1:
                    p.copy_((1 + 0.1 * torch.randn_like(p)) if pname.endswith("weight") else 0.1 * torch.randn_like(p))
        folder = os.path.join(HF, name)
        shutil.rmtree(folder, ignore_errors=True)
        saved.save_pretrained(folder)
        _, feed = inputs(name)
        kwargs_in = {k: torch.from_numpy(v) for k, v in feed.items()}
        ep = torch.export.export(model, (), kwargs_in)
        out = os.path.join(ROOT, name)
        os.makedirs(out, exist_ok=True)
        torch.export.save(ep, os.path.join(out, "torch.pt2"))
        with torch.no_grad():
            result = model(**kwargs_in)
        outputs = [v.numpy() for v in result.to_tuple() if isinstance(v, torch.Tensor)]
        np.savez(os.path.join(out, "hf_out.npz"), **{f"output{i}": o for i, o in enumerate(outputs)})
        meta = {"torch": torch.__version__, "transformers": T.__version__, "hf_outputs": [list(o.shape) for o in outputs]}
        json.dump(meta, open(os.path.join(out, "torch_meta.json"), "w"))
        print(f"{name}: {sum(p.numel() for p in model.parameters())} params, exported; outputs {meta['hf_outputs']}", flush=True)


def keras_half(names):
    import keras
    import keras_hub
    corpus_path = os.path.join(ROOT, "pairs.json")
    corpus = json.load(open(corpus_path)) if os.path.exists(corpus_path) else {"pairs": []}
    entries = {e["name"]: e for e in corpus["pairs"]}
    for name in names:
        out = os.path.join(ROOT, name)
        backbone = keras_hub.models.Backbone.from_preset(os.path.join(HF, name))
        backbone.save(os.path.join(out, "keras.keras"))
        feed, _ = inputs(name)
        np.savez(os.path.join(out, "input.npz"), **feed)
        result = backbone(feed)
        # The transformers model's output order: last_hidden_state, then pooler_output.
        ordered = [result["sequence_output"], result["pooled_output"]] if isinstance(result, dict) and "pooled_output" in result else \
            [result["sequence_output"] if isinstance(result, dict) else result]
        ordered = [np.asarray(o, np.float32) for o in ordered]
        np.savez(os.path.join(out, "keras_out.npz"), **{f"output{i}": o for i, o in enumerate(ordered)})
        hf = np.load(os.path.join(out, "hf_out.npz"))
        diffs = [float(np.abs(o - hf[f"output{i}"]).max()) for i, o in enumerate(ordered)]
        expected = PAIRS[name][3]
        meta = json.load(open(os.path.join(out, "torch_meta.json")))
        entries[name] = dict(name=name, **expected, max_abs_outputs=diffs, keras=keras.__version__, keras_hub=keras_hub.__version__,
                             torch=meta["torch"], transformers=meta["transformers"], keras_inputs=list(feed))
        print(f"{name}: max |KerasHub − transformers| per output {diffs}", flush=True)
    corpus["pairs"] = [entries[n] for n in PAIRS if n in entries]
    corpus["generated_by"] = "scripts/make_hub_pairs.py"
    with open(corpus_path, "w") as f:
        json.dump(corpus, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("keras", "torch"):
        sys.exit(__doc__)
    selected = sys.argv[2:] or list(PAIRS)
    (keras_half if sys.argv[1] == "keras" else torch_half)(selected)
