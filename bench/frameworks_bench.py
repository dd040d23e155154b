#!/usr/bin/env python3
"""The frameworks' side of Parity's benchmark (see bench/README.md and docs/performance.md).

Two jobs, each for one framework per process (PyTorch and TensorFlow are never imported together):

  export  writes the model files ParityBench loads into DIR (default .zoo/bench), with the inputs:
            torch:  resnet18.pt2, encoder.pt2, state_dict.pt + state_dict.safetensors (1 GiB of float32),
                    compare_port.pt2 (the PyTorch port of keras's compare.keras; run keras first)
            keras:  mobilenet_v2.keras, compare.keras (+ compare_weights.npz, compare_input.npy)
  time    times the workloads in this framework at --threads N, Float32, inference, and writes JSON

Workloads (ids shared with bench/Sources/ParityBench/Workloads.swift; keep the shapes in step):
  matmul     [1024, 1024] @ [1024, 1024]                        torch.matmul / tf.matmul / numpy.matmul
  mlp        MLP 1024-1024-1024-10 (relu), batch 64
  lstm       LSTM(256) over 100 steps of 32 features, batch 8, the last h
  mobilenet  MobileNetV2 alpha 0.35, 96x96x3, batch 8 (keras.applications; torchvision width_mult=0.35)
  resnet18   ResNet-18, 64x64x3, batch 8 (torchvision; Keras has no ResNet-18)
  encoder    transformer encoder layer d 256, 4 heads, ffn 1024, post-norm, sequence 128, batch 8
  load_safetensors, load_pt   the 1 GiB state_dict: safetensors.torch.load_file, torch.load(mmap=True)

How each framework is called is what its users call: PyTorch modules under torch.no_grad() (eager);
Keras models through `predict_on_batch` (a compiled tf.function; `model(x)` in eager mode is slower);
tf.matmul eagerly (one op). Timing method: warm-up, adaptive repeats, median and quartiles, the same as
bench/Sources/ParityBench/Timing.swift.

    nice ~/venv-ref/bin/python bench/frameworks_bench.py export keras
    nice ~/venv-ref/bin/python bench/frameworks_bench.py export torch
    ~/venv-ref/bin/python bench/frameworks_bench.py time torch --threads 1 --json bench/results/torch-1.json
"""

import argparse
import gc
import json
import math
import os
import platform
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

# Keep in step with TimingPolicy in bench/Sources/ParityBench/Timing.swift.
POLICY = {"warmup_s": 0.2, "min_warmup_calls": 3, "budget_s": 2.0, "min_sample_s": 0.001, "min_samples": 11, "max_samples": 500}

SUMMARIES = {
    "matmul": "matmul 1024x1024 @ 1024x1024",
    "mlp": "MLP 1024-1024-1024-10 (relu), batch 64",
    "lstm": "LSTM(256), 32 features, 100 steps, batch 8, last h",
    "mobilenet": "MobileNetV2 alpha 0.35, 96x96, batch 8",
    "resnet18": "ResNet-18, 64x64, batch 8",
    "encoder": "transformer encoder layer d256, 4 heads, ffn 1024, seq 128, batch 8",
    "load_safetensors": "load a 1 GiB state_dict .safetensors (warm page cache)",
    "load_pt": "load a 1 GiB state_dict .pt (warm page cache)",
}
STATE_DICT_LAYERS = 32  # 32 x [4096, 2048] float32 = 1 GiB
COMPARE_INPUT = (4, 32, 32, 3)


def quantile(sorted_values, q):
    position = q * (len(sorted_values) - 1)
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


def sample_count(sample_s, policy):
    floor = min(5, policy["min_samples"]) if policy["min_samples"] * sample_s > 2 * policy["budget_s"] else policy["min_samples"]
    return min(max(int(policy["budget_s"] / max(sample_s, 1e-9)), floor), policy["max_samples"])


def measure(fn, policy):
    clock = time.perf_counter_ns
    warmup, start = [], clock()
    while len(warmup) < policy["min_warmup_calls"] or (clock() - start) * 1e-9 < policy["warmup_s"]:
        t0 = clock()
        fn()
        warmup.append((clock() - t0) * 1e-9)
    estimate = max(quantile(sorted(warmup), 0.5), 1e-9)
    inner = max(1, math.ceil(policy["min_sample_s"] / estimate))
    samples = sample_count(estimate * inner, policy)
    values = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(samples):
            t0 = clock()
            for _ in range(inner):
                fn()
            values.append((clock() - t0) * 1e-9 / inner)
    finally:
        gc.enable()
    values.sort()
    return {"median_s": quantile(values, 0.5), "p25_s": quantile(values, 0.25), "p75_s": quantile(values, 0.75),
            "min_s": values[0], "samples": samples, "inner": inner, "warmup_calls": len(warmup)}


def cpu_snapshot():
    try:
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:9]]
        with open("/proc/self/stat") as f:
            mine = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal, float(mine[11]) + float(mine[12]), time.perf_counter()


def other_cores(start, end):
    if start is None or end is None or end[2] <= start[2]:
        return None
    return max(0.0, ((end[0] - start[0]) - (end[1] - start[1])) / os.sysconf("SC_CLK_TCK") / (end[2] - start[2]))


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


def torch_time(args, policy):
    import torch
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    cases = []
    a, b = torch.from_numpy(uniform(rng, (1024, 1024))), torch.from_numpy(uniform(rng, (1024, 1024)))
    cases.append(("pytorch", "matmul", lambda: torch.matmul(a, b)))
    na, nb = a.numpy(), b.numpy()
    cases.append(("numpy", "matmul", lambda: np.matmul(na, nb)))
    for name, (make, shape) in torch_modules().items():
        model = make().eval()
        x = torch.from_numpy(uniform(rng, shape))

        def call(model=model, x=x):
            with torch.no_grad():
                return model(x)
        cases.append(("pytorch", name, call))
    st, pt = os.path.join(args.dir, "state_dict.safetensors"), os.path.join(args.dir, "state_dict.pt")
    if os.path.exists(st):
        from safetensors.torch import load_file
        cases.append(("pytorch", "load_safetensors", lambda: load_file(st)))
        cases.append(("pytorch", "load_pt", lambda: torch.load(pt, mmap=True, weights_only=True)))
    versions = {"torch": torch.__version__, "numpy": np.__version__}
    return cases, versions


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


def keras_time(args, policy):
    import tensorflow as tf
    import keras
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    a, b = tf.constant(uniform(rng, (1024, 1024))), tf.constant(uniform(rng, (1024, 1024)))
    cases = [("keras", "matmul", lambda: tf.matmul(a, b))]
    for name, (make, shape) in keras_models().items():
        model = make()
        x = uniform(rng, shape)
        cases.append(("keras", name, lambda model=model, x=x: model.predict_on_batch(x)))
    return cases, {"tensorflow": tf.__version__, "keras": keras.__version__}


# --------------------------------------------------------------------------------------------- main


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", choices=["export", "time"])
    parser.add_argument("framework", choices=["torch", "keras"])
    parser.add_argument("--dir", default=DEFAULT_DIR, help="model files (default .zoo/bench)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--budget", type=float, default=POLICY["budget_s"])
    parser.add_argument("--only", help="comma-separated workload ids")
    parser.add_argument("--json", help="write the timings here")
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
        return
    policy = dict(POLICY, budget_s=args.budget)
    cases, versions = (torch_time if args.framework == "torch" else keras_time)(args, policy)
    only = set(args.only.split(",")) if args.only else None
    results = []
    for framework, workload, fn in cases:
        if only and workload not in only:
            continue
        before = cpu_snapshot()
        m = measure(fn, policy)
        m["other_cores"] = other_cores(before, cpu_snapshot())
        results.append({"framework": framework, "benchmark": workload, "threads": args.threads, **m})
        print(f"  {framework} {args.threads}T {workload}: {m['median_s'] * 1e3:.3f} ms median "
              f"(IQR {m['p25_s'] * 1e3:.3f}-{m['p75_s'] * 1e3:.3f} ms, other processes {m['other_cores'] or 0:.2f} cores)",
              file=sys.stderr)
    output = {"versions": versions, "python": platform.python_version(),
              "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": {"nproc": os.cpu_count(), "cpu_model": cpu_model()}, "timing": policy,
              "workloads": SUMMARIES, "results": results}
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(output, f, indent=2, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
