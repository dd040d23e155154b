#!/usr/bin/env bash
# Parity benchmark, one command:   bash bench/run.sh      (or: make bench)
#
#  1. builds `parity` exactly as the README does (`swift build -c release --product parity`, no flags:
#     the kernels choose AVX-512 / AVX2+FMA / portable code at run time), and ParityBench the same way;
#  2. writes the model files once into .zoo/bench (bench/frameworks_bench.py export keras, then torch);
#  3. for each thread count (1, then all), starts one long-lived worker per framework
#     (bench/frameworks_bench.py serve: PyTorch with NumPy, and Keras/TensorFlow, never in one process)
#     and, workload by workload, runs Parity and the frameworks interleaved in rounds (one block each per
#     round, the order reversed every other round); each round gives a paired ratio, Parity's time over
#     the fastest framework's in that same round, so that a slow episode of the machine hits both sides;
#  4. prints per workload the median paired ratio with its spread over the rounds, the median times,
#     and the same pairing on process CPU time.
#
# Results (bench/results/): parity.json (Parity's rows, every paired ratio and its rounds), torch-N.json and
# keras-N.json (the frameworks' rows at N threads), results.txt (the table), machine.txt.
# Summarised in docs/performance.md. A full run measures for about 5 minutes (291 s on the 2-vCPU machine
# while it was busy), plus the build and, the first time, the model files.
#
# Environment:
#   PARITY_BENCH_PYTHON      Python with torch, torchvision, safetensors, tensorflow, keras (default python3)
#   PARITY_BENCH_BUDGET      measuring seconds per side, workload and thread count, over all rounds (default 3)
#   PARITY_BENCH_ROUNDS      rounds per workload and thread count (default 9)
#   PARITY_BENCH_ONLY        comma-separated subset of the workload ids (default: all)
#   PARITY_BENCH_RESULTS     where the results go (default bench/results; a trial run can use /tmp/...)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS=${PARITY_BENCH_RESULTS:-bench/results}
DIR=.zoo/bench
BUDGET=${PARITY_BENCH_BUDGET:-3}
ROUNDS=${PARITY_BENCH_ROUNDS:-9}
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
if [[ ! -f $DIR/state_dict.pt || ! -f $DIR/state_dict.pt2 || ! -f $DIR/compare_port.pt2 ]]; then
    nice -n 10 "$PYTHON" bench/frameworks_bench.py export torch --dir "$DIR"
fi

{
    "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cpu capability", torch.backends.cpu.get_cpu_capability())'
    TF_CPP_MIN_LOG_LEVEL=3 "$PYTHON" -c 'import tensorflow as tf, keras; print("tensorflow", tf.__version__, "keras", keras.__version__)'
} >> "$RESULTS/machine.txt" 2>/dev/null

# --- 3 and 4. Parity and the frameworks, interleaved -------------------------------------------
rm -f "$RESULTS"/torch-*.json "$RESULTS"/keras-*.json  # only this run's thread counts remain
"$bin/ParityBench" --python "$PYTHON" --script bench/frameworks_bench.py --parity "$bin/parity" --dir "$DIR" \
    --threads "$THREADS" --rounds "$ROUNDS" --budget "$BUDGET" --build-flags "swift build -c release (no flags)" \
    --results "$RESULTS" "${only_args[@]}"
