// Layer-norm rows in one pass per row group (parity_layer_norm_*, CParityKernels.h) with run-time
// instruction-set dispatch; the per-level code is layernorm_template.h.
#include "CParityKernels.h"
#include <stdlib.h>

// Products and sums are rounded where the source says so, never contracted behind its back.
#pragma clang fp contract(off)

// The output formulas (see ln_output_row).
enum { LN_NONE, LN_SCALE, LN_SCALE_SHIFT, LN_SCALE_SHIFT_FUSED, LN_SHIFT, LN_SHIFT_FUSED };
enum { LN_STACK_BYTES = 32768 };
// Above this, a row group's transposed scratch (n·VL values) is not made: rows that long (over 64K
// Float32 values at AVX-512) are summed one at a time (ln_rows_long).
enum { LN_SCRATCH_LIMIT = 4 << 20 };

struct ln_job {
    long rows, n, leaf, chunk;
    const void *x, *gamma, *beta;
    void *y;
    double eps;
    int affine;
};

#define T float
#define LN_FMA __builtin_fmaf
#define VL 4
#define SUFFIX f32_portable
#include "layernorm_template.h"
#undef VL
#undef SUFFIX
#undef T
#undef LN_FMA
#define T double
#define LN_FMA __builtin_fma
#define VL 2
#define SUFFIX f64_portable
#include "layernorm_template.h"
#undef VL
#undef SUFFIX
#undef T
#undef LN_FMA

#if defined(__x86_64__) || defined(_M_X64)
#define HAVE_X86 1
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define T float
#define LN_FMA __builtin_fmaf
#define VL 8
#define SUFFIX f32_avx2
#include "layernorm_template.h"
#undef VL
#undef SUFFIX
#undef T
#undef LN_FMA
#define T double
#define LN_FMA __builtin_fma
#define VL 4
#define SUFFIX f64_avx2
#include "layernorm_template.h"
#undef VL
#undef SUFFIX
#undef T
#undef LN_FMA
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#define T float
#define LN_FMA __builtin_fmaf
#define VL 16
#define SUFFIX f32_avx512
#include "layernorm_template.h"
#undef VL
#undef SUFFIX
#undef T
#undef LN_FMA
#define T double
#define LN_FMA __builtin_fma
#define VL 8
#define SUFFIX f64_avx512
#include "layernorm_template.h"
#undef VL
#undef SUFFIX
#undef T
#undef LN_FMA
#pragma clang attribute pop
#endif

// The job's rows in tasks of whole row groups (a multiple of the widest level's 16 lanes, ~16K
// elements each); the level is read once here, on the calling thread, so every task runs it.
static void ln_run(long rows, long n, long leaf, const void *x, const void *gamma, const void *beta, double eps,
                   int fused, void *y, parity_task portable, parity_task avx2, parity_task avx512) {
    if (rows <= 0 || n <= 0) return;
    int affine = gamma ? (beta ? (fused ? LN_SCALE_SHIFT_FUSED : LN_SCALE_SHIFT) : LN_SCALE)
                       : (beta ? (fused ? LN_SHIFT_FUSED : LN_SHIFT) : LN_NONE);
    long chunk = ((16384 / n + 15) / 16) * 16;
    if (chunk < 16) chunk = 16;
    struct ln_job job = {rows, n, leaf < 1 ? 1 : leaf, chunk, x, gamma, beta, y, eps, affine};
    parity_task task = portable;
#if HAVE_X86
    switch (parity_isa_active()) {
    case PARITY_ISA_AVX512: task = avx512; break;
    case PARITY_ISA_AVX2: task = avx2; break;
    default: break;
    }
#else
    (void)avx2;
    (void)avx512;
#endif
    long tasks = (rows + chunk - 1) / chunk;
    if (tasks == 1) task(&job, 0);
    else parity_parallel_for(tasks, task, &job);
}

#if HAVE_X86
#define LN_TASKS(S) ln_task_##S##_portable, ln_task_##S##_avx2, ln_task_##S##_avx512
#else
#define LN_TASKS(S) ln_task_##S##_portable, NULL, NULL
#endif

void parity_layer_norm_f32(long rows, long n, long leaf, const float *x, const float *gamma, const float *beta,
                           double eps, int fused, float *y) {
    ln_run(rows, n, leaf, x, gamma, beta, eps, fused, y, LN_TASKS(f32));
}

void parity_layer_norm_f64(long rows, long n, long leaf, const double *x, const double *gamma, const double *beta,
                           double eps, int fused, double *y) {
    ln_run(rows, n, leaf, x, gamma, beta, eps, fused, y, LN_TASKS(f64));
}
