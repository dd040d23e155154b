#!/usr/bin/env python3
"""PyTorch side of Parity's benchmark (see bench/README.md).

Times the same four Float32 workloads as ParityBench (bench/Sources/ParityBench/Workloads.swift),
with the same warm-up / adaptive-repeat / median method (Timing.swift), under torch.no_grad():

  ffn     seed FFN Linear(5->10) + sigmoid, Linear(10->1), batch 1
  mlp     MLP 1024-1024-1024-10 with ReLU between, batch 64
  lstm    nn.LSTM(32 -> 256) over 100 steps, batch 8, returns the last h
  matmul  torch.matmul of two 1024x1024 matrices

Modes: "eager" (plain module call) and "graph": by default torch.jit.trace + torch.jit.freeze
(TorchScript: deprecated in torch 2.x but works offline on CPU in about a second per model);
with --compile, torch.compile (Inductor; needs a C++ compiler and took ~30 s per model on a
2-core machine, so it is off by default). Each is run once with torch.set_num_threads(1) and once
with all threads (torch's default thread count), and the medians are written as JSON.

Usage: python bench/pytorch_bench.py --json bench/results/pytorch.json [--budget 2] [--compile]
"""

import argparse
import gc
import json
import math
import os
import platform
import sys
import time
import warnings

try:
    import torch
except ImportError:  # pragma: no cover - reported to the user by bench/run.sh
    sys.exit("pytorch_bench.py: torch is not importable; `pip install torch numpy` in a venv and set PARITY_BENCH_PYTHON")

# Keep in step with TimingPolicy in bench/Sources/ParityBench/Timing.swift.
POLICY = {
    "warmup_s": 0.2,
    "min_warmup_calls": 3,
    "budget_s": 2.0,
    "min_sample_s": 0.001,
    "min_samples": 5,
    "max_samples": 500,
}

SUMMARIES = {
    "ffn": "seed FFN Dense(5->10,sigmoid)->Dense(10->1), batch 1",
    "mlp": "MLP 1024-1024-1024-10 (relu), batch 64",
    "lstm": "LSTM(256), 32 features, 100 steps, batch 8, last h (torch: one fused nn.LSTM op)",
    "matmul": "matmul 1024x1024 @ 1024x1024",
}


class LastHidden(torch.nn.Module):
    """nn.LSTM returning only the last hidden state [batch, units], as Keras's LSTM does."""

    def __init__(self, features, units):
        super().__init__()
        self.lstm = torch.nn.LSTM(features, units, batch_first=True)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return h[-1]


class MatMul(torch.nn.Module):
    def forward(self, a, b):
        return torch.matmul(a, b)


def uniform(*shape):
    return torch.empty(*shape).uniform_(-1, 1)


def build(benchmark):
    """(module, inputs) for one workload, float32, eval mode."""
    if benchmark == "ffn":
        module = torch.nn.Sequential(torch.nn.Linear(5, 10), torch.nn.Sigmoid(), torch.nn.Linear(10, 1))
        inputs = (uniform(1, 5),)
    elif benchmark == "mlp":
        module = torch.nn.Sequential(
            torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
            torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
            torch.nn.Linear(1024, 10))
        inputs = (uniform(64, 1024),)
    elif benchmark == "lstm":
        module = LastHidden(32, 256)
        inputs = (uniform(8, 100, 32),)
    elif benchmark == "matmul":
        module = MatMul()
        inputs = (uniform(1024, 1024), uniform(1024, 1024))
    else:
        raise ValueError(benchmark)
    return module.float().eval(), inputs


def sample_count(sample_s, policy):
    floor = min(3, policy["min_samples"]) if policy["min_samples"] * sample_s > 2 * policy["budget_s"] else policy["min_samples"]
    wanted = int(policy["budget_s"] / max(sample_s, 1e-9))
    return min(max(wanted, floor), policy["max_samples"])


def quantile(sorted_values, q):
    """Linear interpolation between closest ranks (NumPy's default), as Timing.swift does."""
    position = q * (len(sorted_values) - 1)
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


def measure(fn, policy):
    clock = time.perf_counter_ns
    warmup_times = []
    start = clock()
    while len(warmup_times) < policy["min_warmup_calls"] or (clock() - start) * 1e-9 < policy["warmup_s"]:
        t0 = clock()
        fn()
        warmup_times.append((clock() - t0) * 1e-9)
    warmup_calls = len(warmup_times)
    estimate = max(quantile(sorted(warmup_times), 0.5), 1e-9)
    inner = max(1, math.ceil(policy["min_sample_s"] / estimate))
    samples = sample_count(estimate * inner, policy)
    values = []
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(samples):
            t0 = clock()
            for _ in range(inner):
                fn()
            values.append((clock() - t0) * 1e-9 / inner)
    finally:
        if gc_was_enabled:
            gc.enable()
    values.sort()
    return {
        "median_s": quantile(values, 0.5), "p25_s": quantile(values, 0.25), "p75_s": quantile(values, 0.75),
        "min_s": values[0], "samples": samples, "inner": inner, "warmup_calls": warmup_calls,
    }


def cpu_snapshot():
    """(busy ticks of the whole machine, ticks used by this process, wall seconds), or None off Linux."""
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
    """Average number of cores other processes (and the hypervisor: steal) kept busy in between."""
    if start is None or end is None or end[2] <= start[2]:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return max(0.0, ((end[0] - start[0]) - (end[1] - start[1])) / ticks / (end[2] - start[2]))


def make_graph(module, inputs, use_compile):
    """A graph-mode callable and the seconds it took to build (trace/compile + first call)."""
    t0 = time.perf_counter()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript deprecation and tracer warnings
        if use_compile:
            graph = torch.compile(module)
        else:
            graph = torch.jit.freeze(torch.jit.trace(module, inputs))
        graph(*inputs)  # compile / first profiling run happens here
    return graph, time.perf_counter() - t0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt(seconds):
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write results to this path")
    parser.add_argument("--budget", type=float, default=POLICY["budget_s"], help="measuring seconds per case (default 2)")
    parser.add_argument("--only", default=",".join(SUMMARIES), help="comma-separated subset of " + ", ".join(SUMMARIES))
    parser.add_argument("--compile", action="store_true", help="graph mode = torch.compile instead of jit.trace+freeze")
    parser.add_argument("--no-graph", action="store_true", help="eager mode only")
    args = parser.parse_args()

    policy = dict(POLICY, budget_s=args.budget)
    selected = [b for b in SUMMARIES if b in args.only.split(",")]
    all_threads = torch.get_num_threads()
    thread_counts = sorted({1, all_threads})
    torch.manual_seed(1)

    graph_method = "torch.compile (inductor)" if args.compile else "torch.jit.trace + torch.jit.freeze"
    graph_info = {"available": not args.no_graph, "method": graph_method if not args.no_graph else None,
                  "note": ("traced/compiled once outside the timed loop; build time in graph_build_s"
                           if not args.no_graph else "graph mode not measured (--no-graph): eager only"),
                  "graph_build_s": {}, "errors": {}}

    cases = []  # (benchmark, mode, callable)
    for benchmark in selected:
        module, inputs = build(benchmark)

        def eager(module=module, inputs=inputs):
            with torch.no_grad():
                return module(*inputs)

        cases.append((benchmark, "eager", eager))
        if args.no_graph:
            continue
        try:
            graph, seconds = make_graph(module, inputs, args.compile)
        except Exception as error:  # report, keep eager
            graph_info["errors"][benchmark] = f"{type(error).__name__}: {error}"[:500]
            print(f"  {benchmark} graph: unavailable ({graph_info['errors'][benchmark]})", file=sys.stderr)
            continue
        graph_info["graph_build_s"][benchmark] = round(seconds, 3)
        with torch.no_grad():
            difference = (graph(*inputs) - eager()).abs().max().item()
        if difference > 1e-3:
            print(f"  WARNING: {benchmark} graph differs from eager by {difference}", file=sys.stderr)

        def run_graph(graph=graph, inputs=inputs):
            with torch.no_grad():
                return graph(*inputs)

        cases.append((benchmark, "graph", run_graph))
    if graph_info["errors"] and len(graph_info["errors"]) == len(selected):
        graph_info["available"] = False

    results = []
    for threads in thread_counts:
        torch.set_num_threads(threads)
        for benchmark, mode, fn in cases:
            before = cpu_snapshot()
            m = measure(fn, policy)
            m["other_cores"] = other_cores(before, cpu_snapshot())
            results.append({"benchmark": benchmark, "mode": mode, "threads": threads, **m})
            busy = f", other processes {m['other_cores']:.2f} cores" if m["other_cores"] is not None else ""
            print(f"  torch {threads}T {benchmark} {mode}: {fmt(m['median_s'])} median "
                  f"({m['samples']} samples x {m['inner']} calls{busy})", file=sys.stderr)
    torch.set_num_threads(all_threads)

    output = {
        "framework": "pytorch",
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"nproc": os.cpu_count(), "cpu_model": cpu_model()},
        "backend": {
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "mkl": torch.backends.mkl.is_available(),
            "mkldnn": torch.backends.mkldnn.is_available(),
            "openmp": torch.backends.openmp.is_available(),
        },
        "dtype": "float32",
        "autograd": "torch.no_grad()",
        "thread_counts": thread_counts,
        "all_threads": all_threads,
        "graph_mode": graph_info,
        "timing": policy,
        "workloads": {b: SUMMARIES[b] for b in selected},
        "results": results,
    }
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(output, f, indent=2, sort_keys=True)
            f.write("\n")
        print(f"pytorch_bench.py: wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
