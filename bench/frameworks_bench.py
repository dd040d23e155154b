#!/usr/bin/env python3
"""The frameworks' side of Parity's benchmark (see bench/README.md and docs/performance.md).

Two jobs, each for one framework per process (PyTorch and TensorFlow are never imported together):

  export  writes the model files ParityBench loads into DIR (default .zoo/bench), with the inputs:
            torch:  resnet18.pt2, encoder.pt2, state_dict.pt + state_dict.safetensors + state_dict.pt2 (1 GiB of float32 each),
                    compare_port.pt2 (the PyTorch port of keras's compare.keras; run keras first)
            keras:  mobilenet_v2.keras, compare.keras (+ compare_weights.npz, compare_input.npy)
  serve   a long-lived worker at --threads N: builds the framework's workloads once, then times them on
          command from ParityBench, which interleaves every framework's blocks with Parity's (bench/README.md).
          One JSON command per line on stdin, one JSON reply per line on stdout (anything the frameworks
          print goes to stderr):
            first reply    {"cases": [{"framework", "benchmark"}...], "versions": {...}, "threads": {...}}
            {"op": "warmup", "framework", "workload", "min_calls", "min_s", "max_s"}  ->  {"times": [s per call]}
            {"op": "block", "framework", "workload", "samples", "inner", "untimed", "limit_s"}
                -> {"samples": [s per call], "cpu_s": process CPU of the samples, "cpu_total_s": with the untimed calls}
            {"op": "quit"}
          The timing policy (warm-up, block sizes, rounds) is ParityBench's (Timing.swift); a worker only runs it.

Workloads (ids shared with bench/Sources/ParityBench/Workloads.swift; keep the shapes in step):
  matmul     [1024, 1024] @ [1024, 1024]                        torch.matmul / tf.matmul / numpy.matmul
  mlp        MLP 1024-1024-1024-10 (relu), batch 64
  lstm       LSTM(256) over 100 steps of 32 features, batch 8, the last h
  mobilenet  MobileNetV2 alpha 0.35, 96x96x3, batch 8 (keras.applications; torchvision width_mult=0.35)
  resnet18   ResNet-18, 64x64x3, batch 8 (torchvision; Keras has no ResNet-18)
  encoder    transformer encoder layer d 256, 4 heads, ffn 1024, post-norm, sequence 128, batch 8
  load_safetensors, load_pt   the 1 GiB state_dict: safetensors.torch.load_file, torch.load(mmap=True)
  load_pt2                    the same weights in a torch.export .pt2: torch.export.load

How each framework is called is what its users call: PyTorch modules under torch.no_grad() (eager);
Keras models through `predict_on_batch` (a compiled tf.function; `model(x)` in eager mode is slower);
tf.matmul eagerly (one op). Threads, fixed before the framework starts its pools: torch.set_num_threads,
TensorFlow's intra- and inter-op pools, OPENBLAS_NUM_THREADS (NumPy) before NumPy is imported.

    nice ~/venv-ref/bin/python bench/frameworks_bench.py export keras
    nice ~/venv-ref/bin/python bench/frameworks_bench.py export torch
    (serve is started by ParityBench: bash bench/run.sh)
"""

import argparse
import gc
import json
import os
import sys
import time


def _blas_threads_from_argv():
    """NumPy's OpenBLAS sizes its thread pool when NumPy is imported, from the environment only
    (`torch.set_num_threads` does not reach it): without this the NumPy matmul row of `--threads 1`
    ran on every core."""
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return None


if _blas_threads_from_argv() is not None:
    os.environ["OPENBLAS_NUM_THREADS"] = _blas_threads_from_argv()

import numpy as np  # noqa: E402  (after the BLAS thread count is fixed)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "..", ".zoo", "bench")

STATE_DICT_LAYERS = 32  # 32 x [4096, 2048] float32 = 1 GiB
COMPARE_INPUT = (4, 32, 32, 3)


def uniform(rng, shape):
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


# --------------------------------------------------------------------------------------------- torch


def torch_modules():
    import torch
    import torchvision

    class LastHidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(32, 256, batch_first=True)

        def forward(self, x):
            return self.lstm(x)[1][0][-1]

    def mobilenet():
        return torchvision.models.mobilenet_v2(width_mult=0.35)

    def encoder():
        return torch.nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.0, batch_first=True)

    mlp = lambda: torch.nn.Sequential(torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                                      torch.nn.ReLU(), torch.nn.Linear(1024, 10))
    return {
        "mlp": (mlp, (64, 1024)),
        "lstm": (LastHidden, (8, 100, 32)),
        "mobilenet": (mobilenet, (8, 3, 96, 96)),
        "resnet18": (torchvision.models.resnet18, (8, 3, 64, 64)),
        "encoder": (encoder, (8, 128, 256)),
    }


def calibrate_batchnorm(torch, model, shape, rng):
    """BatchNorm running statistics measured on random inputs (not the identity 0/1 defaults)."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.from_numpy(rng.standard_normal(shape).astype(np.float32)))
    model.eval()


def torch_export(directory):
    import torch
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    modules = torch_modules()
    for name in ("resnet18", "encoder"):
        make, shape = modules[name]
        model = make().eval()
        calibrate_batchnorm(torch, model, shape, rng)
        x = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
        with torch.no_grad():
            program = torch.export.export(model, (x,))
        torch.export.save(program, os.path.join(directory, f"{name}.pt2"))
        np.save(os.path.join(directory, f"{name}_input.npy"), x.numpy())
        print(f"  wrote {name}.pt2", file=sys.stderr)
    # 1 GiB state_dict, the same tensors in both formats.
    state = {f"layers.{i}.weight": torch.from_numpy(uniform(rng, (4096, 2048))) for i in range(STATE_DICT_LAYERS)}
    torch.save(state, os.path.join(directory, "state_dict.pt"))
    from safetensors.torch import save_file
    save_file(state, os.path.join(directory, "state_dict.safetensors"))
    print("  wrote state_dict.pt, state_dict.safetensors", file=sys.stderr)
    # The same 1 GiB as the parameters of an exported program (each weight a linear layer on one input).
    class Linears(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(2048, 4096, bias=False) for _ in range(STATE_DICT_LAYERS))

        def forward(self, x):
            return sum(layer(x) for layer in self.layers)

    holder = Linears()
    holder.load_state_dict(state)
    program = torch.export.export(holder.eval(), (torch.zeros(1, 2048),))
    torch.export.save(program, os.path.join(directory, "state_dict.pt2"))
    print("  wrote state_dict.pt2", file=sys.stderr)
    torch_export_port(torch, directory)


def torch_port():
    import torch
    import torch.nn.functional as F

    class Port(torch.nn.Module):
        """The PyTorch port of keras_compare_model(): NCHW convolutions, TensorFlow's 'same' as padding=1
        (stride 1, odd kernel: symmetric), the flatten in Keras's NHWC order."""

        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(3, 64, 3, padding=1)
            self.conv2 = torch.nn.Conv2d(64, 128, 3, padding=1)
            self.conv3 = torch.nn.Conv2d(128, 256, 3, padding=1)
            self.fc1 = torch.nn.Linear(8 * 8 * 256, 512)
            self.fc2 = torch.nn.Linear(512, 512)
            self.head = torch.nn.Linear(512, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = F.max_pool2d(F.relu(self.conv3(x)), 2)
            x = x.permute(0, 2, 3, 1).flatten(1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.head(x)

    return Port()


def torch_export_port(torch, directory):
    weights_path = os.path.join(directory, "compare_weights.npz")
    if not os.path.exists(weights_path):
        print("  compare_port.pt2 skipped: run `export keras` first (it writes compare_weights.npz)", file=sys.stderr)
        return
    w = np.load(weights_path)
    port = torch_port().eval()
    with torch.no_grad():
        for i, conv in enumerate([port.conv1, port.conv2, port.conv3], start=1):
            conv.weight.copy_(torch.from_numpy(w[f"conv{i}/kernel"]).permute(3, 2, 0, 1))
            conv.bias.copy_(torch.from_numpy(w[f"conv{i}/bias"]))
        for name in ("fc1", "fc2", "head"):
            getattr(port, name).weight.copy_(torch.from_numpy(w[f"{name}/kernel"]).T)
            getattr(port, name).bias.copy_(torch.from_numpy(w[f"{name}/bias"]))
    x = torch.from_numpy(np.load(os.path.join(directory, "compare_input.npy"))).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        program = torch.export.export(port, (x,))
    torch.export.save(program, os.path.join(directory, "compare_port.pt2"))
    print(f"  wrote compare_port.pt2 ({sum(p.numel() for p in port.parameters())} parameters)", file=sys.stderr)


def torch_cases(args, wanted):
    """The PyTorch (and NumPy) calls, {(framework, workload): call}, the versions and the thread settings."""
    import torch
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    cases = {}
    if wanted("matmul"):
        a, b = torch.from_numpy(uniform(rng, (1024, 1024))), torch.from_numpy(uniform(rng, (1024, 1024)))
        cases["pytorch", "matmul"] = lambda: torch.matmul(a, b)
        na, nb = a.numpy(), b.numpy()
        cases["numpy", "matmul"] = lambda: np.matmul(na, nb)
    for name, (make, shape) in torch_modules().items():
        if not wanted(name):
            continue
        model = make().eval()
        x = torch.from_numpy(uniform(rng, shape))

        def call(model=model, x=x):
            with torch.no_grad():
                return model(x)
        cases["pytorch", name] = call
    st, pt = os.path.join(args.dir, "state_dict.safetensors"), os.path.join(args.dir, "state_dict.pt")
    if wanted("load_safetensors") and os.path.exists(st):
        from safetensors.torch import load_file
        cases["pytorch", "load_safetensors"] = lambda: load_file(st)
    if wanted("load_pt") and os.path.exists(pt):
        cases["pytorch", "load_pt"] = lambda: torch.load(pt, mmap=True, weights_only=True)
    pt2 = os.path.join(args.dir, "state_dict.pt2")
    if wanted("load_pt2") and os.path.exists(pt2):
        cases["pytorch", "load_pt2"] = lambda: torch.export.load(pt2)
    versions = {"torch": torch.__version__, "numpy": np.__version__}
    threads = {"torch.get_num_threads": str(torch.get_num_threads()),
               "OPENBLAS_NUM_THREADS (NumPy)": os.environ.get("OPENBLAS_NUM_THREADS", "unset")}
    return cases, versions, threads


# --------------------------------------------------------------------------------------------- keras


def keras_models():
    import keras

    def mlp():
        inp = keras.Input((1024,))
        x = keras.layers.Dense(1024, activation="relu")(inp)
        x = keras.layers.Dense(1024, activation="relu")(x)
        return keras.Model(inp, keras.layers.Dense(10)(x))

    def lstm():
        inp = keras.Input((100, 32))
        return keras.Model(inp, keras.layers.LSTM(256)(inp))

    def mobilenet():
        return keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None, classifier_activation=None)

    def encoder():
        inp = keras.Input((128, 256))
        a = keras.layers.MultiHeadAttention(4, 64)(inp, inp)
        x = keras.layers.LayerNormalization(epsilon=1e-5)(keras.layers.Add()([inp, a]))
        f = keras.layers.Dense(256)(keras.layers.Dense(1024, activation="relu")(x))
        return keras.Model(inp, keras.layers.LayerNormalization(epsilon=1e-5)(keras.layers.Add()([x, f])))

    return {"mlp": (mlp, (64, 1024)), "lstm": (lstm, (8, 100, 32)), "mobilenet": (mobilenet, (8, 96, 96, 3)),
            "encoder": (encoder, (8, 128, 256))}


def keras_compare_model():
    """~9.1 M parameters: three 3x3 convolutions (64, 128, 256, 'same'), two max-pools, a 16384 → 512 dense
    (8.4 M), 512 → 512, 512 → 10."""
    import keras
    inp = keras.Input(COMPARE_INPUT[1:], name="image")
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv1")(inp)
    x = keras.layers.Conv2D(128, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(name="pool2")(x)
    x = keras.layers.Conv2D(256, 3, padding="same", activation="relu", name="conv3")(x)
    x = keras.layers.MaxPooling2D(name="pool3")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(512, activation="relu", name="fc1")(x)
    x = keras.layers.Dense(512, activation="relu", name="fc2")(x)
    return keras.Model(inp, keras.layers.Dense(10, name="head")(x), name="compare")


def keras_export(directory):
    import keras
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    model, shape = keras_models()["mobilenet"][0](), keras_models()["mobilenet"][1]
    # BatchNormalization statistics drawn at random so inference batch norm is not the identity.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.uniform(-0.1, 0.1, layer.moving_mean.shape).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, layer.moving_variance.shape).astype(np.float32))
    model.save(os.path.join(directory, "mobilenet_v2.keras"))
    np.save(os.path.join(directory, "mobilenet_v2_input.npy"), uniform(rng, shape))
    compare = keras_compare_model()
    compare.save(os.path.join(directory, "compare.keras"))
    np.savez(os.path.join(directory, "compare_weights.npz"),
             **{f"{layer.name}/{w.name}": np.asarray(w) for layer in compare.layers for w in layer.weights})
    np.save(os.path.join(directory, "compare_input.npy"), rng.standard_normal(COMPARE_INPUT).astype(np.float32))
    print(f"  wrote mobilenet_v2.keras, compare.keras ({compare.count_params()} parameters)", file=sys.stderr)


def keras_cases(args, wanted):
    """The Keras/TensorFlow calls, {(framework, workload): call}, the versions and the thread settings."""
    import tensorflow as tf
    import keras
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    cases = {}
    if wanted("matmul"):
        a, b = tf.constant(uniform(rng, (1024, 1024))), tf.constant(uniform(rng, (1024, 1024)))
        cases["keras", "matmul"] = lambda: tf.matmul(a, b)
    for name, (make, shape) in keras_models().items():
        if not wanted(name):
            continue
        model = make()
        x = uniform(rng, shape)
        cases["keras", name] = lambda model=model, x=x: model.predict_on_batch(x)
    threads = {"tensorflow intra-op": str(tf.config.threading.get_intra_op_parallelism_threads()),
               "tensorflow inter-op": str(tf.config.threading.get_inter_op_parallelism_threads()),
               "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset (oneDNN on)")}
    return cases, {"tensorflow": tf.__version__, "keras": keras.__version__}, threads


# --------------------------------------------------------------------------------------------- main


def run_warmup(fn, min_calls, min_s, max_s):
    """Seconds per warm-up call: until min_calls and min_s, or max_s after one call (ParityBench's policy)."""
    clock = time.perf_counter_ns
    times, start = [], clock()
    while True:
        elapsed = (clock() - start) * 1e-9
        if (len(times) >= min_calls and elapsed >= min_s) or (times and elapsed >= max_s):
            return times
        t0 = clock()
        fn()
        times.append((clock() - t0) * 1e-9)


def run_block(fn, samples, inner, untimed, limit_s):
    """One block: `untimed` calls, then `samples` samples of `inner` calls (no new sample after limit_s);
    wall seconds per call of each sample and the process CPU time (every thread) of the samples and of
    the whole block."""
    clock, cpu = time.perf_counter_ns, time.process_time
    gc.collect()
    gc.disable()
    try:
        cpu_start = cpu()
        for _ in range(untimed):
            fn()
        values = []
        cpu_timed = cpu()
        start = clock()
        for _ in range(samples):
            if values and (clock() - start) * 1e-9 >= limit_s:
                break
            t0 = clock()
            for _ in range(inner):
                fn()
            values.append((clock() - t0) * 1e-9 / inner)
        cpu_end = cpu()
    finally:
        gc.enable()
    return {"samples": values, "cpu_s": cpu_end - cpu_timed, "cpu_total_s": cpu_end - cpu_start}


def serve(args):
    """The worker loop (see the module docstring)."""
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the frameworks' own prints go to stderr, not into the replies

    def reply(message):
        replies.write(json.dumps(message) + "\n")

    only = set(args.only.split(",")) if args.only else None
    wanted = lambda workload: only is None or workload in only
    cases, versions, threads = (torch_cases if args.framework == "torch" else keras_cases)(args, wanted)
    reply({"cases": [{"framework": f, "benchmark": w} for f, w in cases], "versions": versions,
           "threads": threads})
    for line in iter(sys.stdin.readline, ""):
        command = json.loads(line)
        if command["op"] == "quit":
            return
        try:
            fn = cases[command["framework"], command["workload"]]
            if command["op"] == "warmup":
                reply({"times": run_warmup(fn, command["min_calls"], command["min_s"], command["max_s"])})
            elif command["op"] == "block":
                reply(run_block(fn, command["samples"], command["inner"], command["untimed"], command["limit_s"]))
            else:
                reply({"error": f"unknown op {command['op']!r}"})
        except Exception as error:  # reported to ParityBench, which stops with it
            reply({"error": f"{command.get('framework')} {command.get('workload')}: {type(error).__name__}: {error}"})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", choices=["export", "serve"])
    parser.add_argument("framework", choices=["torch", "keras"])
    parser.add_argument("--dir", default=DEFAULT_DIR, help="model files (default .zoo/bench)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--only", help="comma-separated workload ids")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    if args.framework == "keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        if args.job == "export":
            os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # the saved weights do not depend on it
        else:  # timed as users get it: TensorFlow's defaults (oneDNN on x86)
            import tensorflow as tf  # threads are fixed before TensorFlow starts its pools
            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
            tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.job == "export":
        (torch_export if args.framework == "torch" else keras_export)(args.dir)
    else:
        serve(args)


if __name__ == "__main__":
    main()
