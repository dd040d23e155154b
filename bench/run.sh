#!/usr/bin/env bash
# Parity benchmark, one command:   bash bench/run.sh
#
#  1. builds ParityBench in release mode (scratch path .build-bench, separate from .build), with
#     -target-cpu haswell when the CPU has AVX2 + FMA (see "CPU flags" below);
#  2. runs the PyTorch baseline (bench/pytorch_bench.py) if `import torch` works in
#     $PARITY_BENCH_PYTHON, else says how to install it and runs Parity alone;
#  3. runs ParityBench with the PyTorch results, printing every median beside PyTorch's as a ratio.
#
# Results (bench/results/): parity.json, pytorch.json, results.txt (the table), machine.txt.
#
# Environment:
#   PARITY_BENCH_PYTHON      Python with torch (default: python3), e.g. /work/venv-torch/bin/python
#   PARITY_BENCH_BUDGET      measuring seconds per (benchmark, mode, threads) case (default: 2)
#   PARITY_BENCH_ONLY        comma-separated subset of ffn,mlp,lstm,matmul (default: all)
#   PARITY_BENCH_TARGET_CPU  auto (default), none, or an LLVM CPU name (haswell, znver3, native, ...)
#   PARITY_BENCH_SKIP_TORCH  1: reuse bench/results/pytorch.json instead of rerunning PyTorch
#   PARITY_BENCH_TORCH_ARGS  extra arguments for pytorch_bench.py (e.g. --compile)
#
# CPU flags: Parity's kernels are written with SIMD8 and fused multiply-add (addingProduct). Built for
# baseline x86-64 (SSE2, no FMA), every FMA lowers to a call to libm's software fmaf and the 1024^3
# matmul runs at ~0.5 GFLOP/s; built for an AVX2+FMA CPU it is one vfmadd231ps per 8 lanes and runs
# ~55x faster. `x86-64-v3` is the natural name for that level, but Swift 6.3's -target-cpu rejects it
# ("unknown target CPU", its clang importer only takes CPU names), so `haswell` (the same
# AVX2/FMA/BMI2/F16C/MOVBE level, runs on every x86-64-v3 CPU) is used.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS=bench/results
SCRATCH=.build-bench
BUDGET=${PARITY_BENCH_BUDGET:-2}
ONLY=${PARITY_BENCH_ONLY:-ffn,mlp,lstm,matmul}
PYTHON=${PARITY_BENCH_PYTHON:-python3}
mkdir -p "$RESULTS"

# --- 1. Build -------------------------------------------------------------------------------
target_cpu=${PARITY_BENCH_TARGET_CPU:-auto}
if [[ $target_cpu == auto ]]; then
    target_cpu=none
    if [[ $(uname -m) == x86_64 && -r /proc/cpuinfo ]]; then
        flags=$(grep -m1 '^flags' /proc/cpuinfo)
        has() { [[ " $flags " == *" $1 "* ]]; }
        if has avx2 && has fma && has bmi2 && has f16c && has movbe; then target_cpu=haswell; fi
    fi
fi
build=(swift build -c release --product ParityBench --scratch-path "$SCRATCH")
if [[ $target_cpu != none ]]; then build+=(-Xswiftc -target-cpu -Xswiftc "$target_cpu"); fi
if [[ $target_cpu == none ]]; then build_flags="release, no -target-cpu"; else build_flags="release, -target-cpu $target_cpu"; fi

echo "==> ${build[*]}" >&2
"${build[@]}" >&2
bin="$("${build[@]}" --show-bin-path)/ParityBench"

# --- Machine description ------------------------------------------------------------------------
{
    echo "nproc: $(nproc 2>/dev/null || sysctl -n hw.ncpu)"
    if command -v lscpu >/dev/null; then
        lscpu | grep -E '^(Model name|Architecture|CPU\(s\)|Thread\(s\) per core|Core\(s\) per socket|Hypervisor vendor|L1d cache|L2 cache|L3 cache)' || true
    fi
    echo "swift: $(swift --version 2>&1 | head -1)"
    echo "ParityBench build: ${build[*]}"
} > "$RESULTS/machine.txt"

# --- 2. PyTorch ---------------------------------------------------------------------------------
pytorch_args=()
if [[ ${PARITY_BENCH_SKIP_TORCH:-0} == 1 && -f $RESULTS/pytorch.json ]]; then
    echo "==> reusing $RESULTS/pytorch.json (PARITY_BENCH_SKIP_TORCH=1)" >&2
    pytorch_args=(--pytorch "$RESULTS/pytorch.json")
elif "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    echo "==> $PYTHON bench/pytorch_bench.py (torch $("$PYTHON" -c 'import torch; print(torch.__version__)'))" >&2
    # shellcheck disable=SC2086
    "$PYTHON" bench/pytorch_bench.py --json "$RESULTS/pytorch.json" --budget "$BUDGET" --only "$ONLY" \
        ${PARITY_BENCH_TORCH_ARGS:-}
    echo "torch: $("$PYTHON" -c 'import torch; print(torch.__version__, "threads", torch.get_num_threads())')" >> "$RESULTS/machine.txt"
    pytorch_args=(--pytorch "$RESULTS/pytorch.json")
else
    cat >&2 <<EOF
==> PyTorch baseline skipped: \`$PYTHON -c 'import torch'\` failed. To compare with PyTorch:
      python3 -m venv ~/venv-torch && ~/venv-torch/bin/pip install torch numpy
      PARITY_BENCH_PYTHON=~/venv-torch/bin/python bash bench/run.sh
    (CPU-only wheels: pip install torch --index-url https://download.pytorch.org/whl/cpu)
EOF
fi

# --- 3. Parity --------------------------------------------------------------------------------
echo "==> $bin" >&2
"$bin" "${pytorch_args[@]}" --budget "$BUDGET" --only "$ONLY" --build-flags "$build_flags" \
    --json "$RESULTS/parity.json" --table "$RESULTS/results.txt"
echo "==> wrote $RESULTS/results.txt, $RESULTS/parity.json${pytorch_args:+, $RESULTS/pytorch.json}, $RESULTS/machine.txt" >&2
