#!/usr/bin/env bash
# Parity benchmark, one command:   bash bench/run.sh      (or: make bench)
#
#  1. builds `parity` exactly as the README does (`swift build -c release --product parity`, no flags:
#     the kernels choose AVX-512 / AVX2+FMA / portable code at run time), and ParityBench the same way;
#  2. writes the model files once into .zoo/bench (bench/frameworks_bench.py export keras, then torch);
#  3. times PyTorch (+ NumPy's matmul) and Keras/TensorFlow at 1 thread and at all threads, one process
#     per framework and thread count;
#  4. times Parity at the same thread counts (in-process, and the `parity` CLI for compare/inspect) and
#     prints every median beside the fastest framework's as a ratio with its spread.
#
# Results (bench/results/): parity.json, <framework>-<threads>.json, results.txt (the table), machine.txt.
# Summarised in docs/performance.md.
#
# Environment:
#   PARITY_BENCH_PYTHON      Python with torch, torchvision, safetensors, tensorflow, keras (default python3)
#   PARITY_BENCH_BUDGET      measuring seconds per (benchmark, threads) (default 2)
#   PARITY_BENCH_ONLY        comma-separated subset of the workload ids (default: all)
#   PARITY_BENCH_SKIP_FRAMEWORKS  1: reuse bench/results/{torch,keras}-*.json instead of rerunning them
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS=bench/results
DIR=.zoo/bench
BUDGET=${PARITY_BENCH_BUDGET:-2}
PYTHON=${PARITY_BENCH_PYTHON:-python3}
ALL=$(nproc 2>/dev/null || sysctl -n hw.ncpu)
THREADS=$(printf '%s\n' 1 "$ALL" | sort -un | paste -sd,)
ONLY=${PARITY_BENCH_ONLY:-}
only_args=()
if [[ -n $ONLY ]]; then only_args=(--only "$ONLY"); fi
mkdir -p "$RESULTS" "$DIR"

# --- 1. Build, as the README does --------------------------------------------------------------
echo "==> swift build -c release --product parity (and ParityBench, same flags)" >&2
swift build -c release --product parity >&2
swift build -c release --product ParityBench >&2
bin=$(swift build -c release --show-bin-path)

{
    echo "nproc: $ALL"
    if command -v lscpu >/dev/null; then
        lscpu | grep -E '^(Model name|Architecture|CPU\(s\)|Thread\(s\) per core|Core\(s\) per socket|Hypervisor vendor|L1d cache|L2 cache|L3 cache)' || true
    fi
    if [[ -r /proc/cpuinfo ]]; then echo "avx512f: $(grep -c avx512f /proc/cpuinfo) of $ALL CPUs list it"; fi
    echo "swift: $(swift --version 2>&1 | head -1)"
    echo "build: swift build -c release --product parity (no flags), ParityBench likewise"
} > "$RESULTS/machine.txt"

# --- 2. Model files -----------------------------------------------------------------------------
if ! "$PYTHON" -c 'import torch, torchvision, safetensors, tensorflow, keras' >/dev/null 2>&1; then
    echo "==> $PYTHON lacks torch/torchvision/safetensors/tensorflow/keras: set PARITY_BENCH_PYTHON" >&2
    exit 2
fi
if [[ ! -f $DIR/mobilenet_v2.keras || ! -f $DIR/compare.keras ]]; then
    TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 "$PYTHON" bench/frameworks_bench.py export keras --dir "$DIR"
fi
if [[ ! -f $DIR/state_dict.pt || ! -f $DIR/compare_port.pt2 ]]; then
    nice -n 10 "$PYTHON" bench/frameworks_bench.py export torch --dir "$DIR"
fi

# --- 3. The frameworks --------------------------------------------------------------------------
framework_args=()
for framework in torch keras; do
    for t in ${THREADS//,/ }; do
        out=$RESULTS/$framework-$t.json
        if [[ ${PARITY_BENCH_SKIP_FRAMEWORKS:-0} != 1 || ! -f $out ]]; then
            echo "==> $framework, $t thread(s)" >&2
            "$PYTHON" bench/frameworks_bench.py time "$framework" --dir "$DIR" --threads "$t" \
                --budget "$BUDGET" --json "$out" "${only_args[@]}"
        fi
        framework_args+=(--framework "$out")
    done
done
{
    "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cpu capability", torch.backends.cpu.get_cpu_capability())'
    TF_CPP_MIN_LOG_LEVEL=3 "$PYTHON" -c 'import tensorflow as tf, keras; print("tensorflow", tf.__version__, "keras", keras.__version__)'
} >> "$RESULTS/machine.txt" 2>/dev/null

# --- 4. Parity ----------------------------------------------------------------------------------
"$bin/ParityBench" "${framework_args[@]}" --parity "$bin/parity" --dir "$DIR" --threads "$THREADS" --budget "$BUDGET" \
    --build-flags "swift build -c release (no flags)" --json "$RESULTS/parity.json" --table "$RESULTS/results.txt" "${only_args[@]}"
