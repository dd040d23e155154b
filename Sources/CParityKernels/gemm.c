// GEMM with run-time instruction-set dispatch; the per-level code is gemm_template.h.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

// Products and sums are rounded where the source says so, never contracted behind its back.
#pragma clang fp contract(off)

// b is packed once for all tasks when it fits in this many bytes (else per task).
#define GEMM_PREPACK_LIMIT (32L << 20)

// Unit column stride (a row-major left operand), the common case, transposes 4 × 4 blocks through
// vector shuffles; any other stride copies element by element. Either is an exact copy.
#define PACK_A_STRIDED(T, name)                                                                            \
    typedef T name##_x4 __attribute__((vector_size(4 * sizeof(T)), aligned(sizeof(T))));                  \
    static void name(const struct gemm_job *job, long i0, long rows, long p0, long kc, long mr, void *output) { \
        const T *a = (const T *)job->a + i0 * job->a_rows + p0 * job->a_cols;                               \
        long ars = job->a_rows, acs = job->a_cols;                                                          \
        T *out = (T *)output;                                                                               \
        for (long r0 = 0; r0 < rows; r0 += mr) {                                                            \
            long h = rows - r0 < mr ? rows - r0 : mr;                                                       \
            const T *src = a + r0 * ars;                                                                    \
            long p = 0;                                                                                     \
            if (acs == 1) {                                                                                 \
                for (; p + 4 <= kc; p += 4) {                                                               \
                    long i = 0;                                                                             \
                    for (; i + 4 <= h; i += 4) {                                                            \
                        const T *s = src + i * ars + p;                                                     \
                        name##_x4 r0v = *(const name##_x4 *)s, r1v = *(const name##_x4 *)(s + ars);         \
                        name##_x4 r2v = *(const name##_x4 *)(s + 2 * ars), r3v = *(const name##_x4 *)(s + 3 * ars); \
                        name##_x4 t0 = __builtin_shufflevector(r0v, r1v, 0, 4, 1, 5);                        \
                        name##_x4 t1 = __builtin_shufflevector(r0v, r1v, 2, 6, 3, 7);                        \
                        name##_x4 t2 = __builtin_shufflevector(r2v, r3v, 0, 4, 1, 5);                        \
                        name##_x4 t3 = __builtin_shufflevector(r2v, r3v, 2, 6, 3, 7);                        \
                        *(name##_x4 *)(out + p * h + i) = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);        \
                        *(name##_x4 *)(out + (p + 1) * h + i) = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);  \
                        *(name##_x4 *)(out + (p + 2) * h + i) = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);  \
                        *(name##_x4 *)(out + (p + 3) * h + i) = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);  \
                    }                                                                                       \
                    for (; i < h; i++)                                                                      \
                        for (long q = 0; q < 4; q++) out[(p + q) * h + i] = src[i * ars + p + q];           \
                }                                                                                           \
            }                                                                                               \
            for (; p < kc; p++)                                                                             \
                for (long i = 0; i < h; i++) out[p * h + i] = src[i * ars + p * acs];                       \
            out += h * kc;                                                                                  \
        }                                                                                                   \
    }
PACK_A_STRIDED(float, pack_a_f32)
PACK_A_STRIDED(double, pack_a_f64)

// Per-thread packing buffers, grown on demand and kept (two per thread).
static _Thread_local void *scratch[2];
static _Thread_local size_t scratch_size[2];

static void *gemm_scratch(int which, size_t bytes) {
    if (scratch_size[which] < bytes) {
        free(scratch[which]);
        size_t rounded = (bytes + 63) / 64 * 64;
        scratch[which] = aligned_alloc(64, rounded);
        if (!scratch[which]) abort();
        scratch_size[which] = rounded;
    }
    return scratch[which];
}

static long ceil_div(long a, long b) { return (a + b - 1) / b; }

// Splits c into tasks_m × tasks_n tasks of whole MR-row panels and NR-column strips: task (tm, tn)
// takes panels [tm·P/tasks_m, (tm+1)·P/tasks_m) of the P panels (likewise strips), so that task sizes
// differ by at most one panel or strip. Serially, blocks of at most mc rows and nc columns; with
// several threads, cut finer so that every thread gets work, into a multiple of the thread count
// where the panels allow (equal tasks then split evenly). Tasks only ever divide the output, never
// the k sum.
static void gemm_plan(struct gemm_job *job, long mr, long nr, long mc, long nc) {
    // At most one block of rows: each strip of b serves at most mc / mr panels, too few for packing
    // it to pay back (64 × 1024 × 1024: 97 GFLOP/s packed, 104 read in place; 256 rows: 101 vs 97).
    job->b_in_place = job->m <= mc && job->b_cols == 1 && !job->b_row_offset;
    long panels = ceil_div(job->m, mr), strips = ceil_div(job->n, nr);
    long tm = ceil_div(job->m, mc < mr ? mr : mc), tn = ceil_div(job->n, nc < nr ? nr : nc);
    int threads = parity_num_threads();
    double work = (double)job->m * (double)job->n * (double)job->k;
    job->serial = threads <= 1 || work < 65536.0;
    if (!job->serial) {
        // At least four tasks per thread where the tiles allow (for balance): rows first down to
        // 4 panels a task, then columns down to 2 strips.
        long want = 4L * threads;
        if (tm * tn < want) {
            long limit = panels / 4 > tm ? panels / 4 : tm, per = ceil_div(want, tn);
            tm = per < limit ? per : limit;
        }
        if (tm * tn < want) {
            long limit = strips / 2 > tn ? strips / 2 : tn, per = ceil_div(want, tm);
            tn = per < limit ? per : limit;
        }
        if (tm * tn < threads) {
            long per = ceil_div(threads, tm);
            tn = per < strips ? per : strips;
        }
        if ((tm * tn) % threads) {
            long t = tm;
            while (t < panels && (t * tn) % threads) t++;
            if ((t * tn) % threads == 0) {
                tm = t;
            } else {
                t = tn;
                while (t < strips && (tm * t) % threads) t++;
                if ((tm * t) % threads == 0) tn = t;
            }
        }
    }
    job->tasks_m = tm;
    job->tasks_n = tn;
    job->mc = ceil_div(panels, tm) * mr;  // the tallest task
    job->nc = ceil_div(strips, tn) * nr;  // the widest
}

#define SPLAT2 0, 0
#define SPLAT4 0, 0, 0, 0
#define SPLAT8 0, 0, 0, 0, 0, 0, 0, 0
#define SPLAT16 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

// MARK: Portable (any CPU): 16-byte vectors, libm's fma where the CPU has no FMA instruction.
#define T float
#define STRIP PARITY_STRIP_F32
#define PACK_A_FN pack_a_f32
#define VL 4
#define SPLAT_INDICES SPLAT4
#define MR 4
#define NV 2
#define KC 256
#define MC 128
#define NC 1024
#define SUFFIX portable_f32
#include "gemm_template.h"
#include "depthwise_template.h"
#undef T
#undef STRIP
#undef PACK_A_FN
#undef VL
#undef SPLAT_INDICES
#undef SUFFIX
#define T double
#define STRIP PARITY_STRIP_F64
#define PACK_A_FN pack_a_f64
#define VL 2
#define SPLAT_INDICES SPLAT2
#define SUFFIX portable_f64
#include "gemm_template.h"
#include "depthwise_template.h"
#undef T
#undef STRIP
#undef PACK_A_FN
#undef VL
#undef SPLAT_INDICES
#undef SUFFIX
#undef MR
#undef NV
#undef KC
#undef MC
#undef NC

#if defined(__x86_64__) || defined(_M_X64)
#define HAVE_X86 1
// MARK: AVX2 + FMA: 256-bit vectors, 6 × 2 vector tiles.
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define MR 6
#define NV 2
#define KC 256
#define MC 120
#define NC 1024
#define T float
#define STRIP PARITY_STRIP_F32
#define PACK_A_FN pack_a_f32
#define VL 8
#define SPLAT_INDICES SPLAT8
#define SUFFIX avx2_f32
#include "gemm_template.h"
#include "depthwise_template.h"
#undef T
#undef STRIP
#undef PACK_A_FN
#undef VL
#undef SPLAT_INDICES
#undef SUFFIX
#define T double
#define STRIP PARITY_STRIP_F64
#define PACK_A_FN pack_a_f64
#define VL 4
#define SPLAT_INDICES SPLAT4
#define SUFFIX avx2_f64
#include "gemm_template.h"
#include "depthwise_template.h"
#undef T
#undef STRIP
#undef PACK_A_FN
#undef VL
#undef SPLAT_INDICES
#undef SUFFIX
#undef MR
#undef NV
#undef KC
#undef MC
#undef NC
#pragma clang attribute pop

// MARK: AVX-512F: 512-bit vectors, 12 × 2 vector tiles.
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#define MR 12
#define NV 2
#define KC 256
#define MC 120
#define NC 1024
#define T float
#define STRIP PARITY_STRIP_F32
#define PACK_A_FN pack_a_f32
#define VL 16
#define SPLAT_INDICES SPLAT16
#define SUFFIX avx512_f32
#include "gemm_template.h"
#include "depthwise_template.h"
#undef T
#undef STRIP
#undef PACK_A_FN
#undef VL
#undef SPLAT_INDICES
#undef SUFFIX
#define T double
#define STRIP PARITY_STRIP_F64
#define PACK_A_FN pack_a_f64
#define VL 8
#define SPLAT_INDICES SPLAT8
#define SUFFIX avx512_f64
#include "gemm_template.h"
#include "depthwise_template.h"
#undef T
#undef STRIP
#undef PACK_A_FN
#undef VL
#undef SPLAT_INDICES
#undef SUFFIX
#undef MR
#undef NV
#undef KC
#undef MC
#undef NC
#pragma clang attribute pop
#endif

static void gemm_prepare(struct gemm_job *job, long m, long n, long k, const void *a, long a_rows, long a_cols,
                         const void *b, long b_rows, long b_cols, void *c, long ldc, int fused) {
    memset(job, 0, sizeof *job);
    job->m = m; job->n = n; job->k = k;
    job->a = a; job->a_rows = a_rows; job->a_cols = a_cols;
    job->b = b; job->b_rows = b_rows; job->b_cols = b_cols;
    job->c = c; job->ldc = ldc;
    job->fused = fused != 0;
}

void gemm_prepare_f32(struct gemm_job *job, long m, long n, long k, const float *a, long a_rows, long a_cols,
                      const float *b, long b_rows, long b_cols, float *c, long ldc, int fused) {
    gemm_prepare(job, m, n, k, a, a_rows, a_cols, b, b_rows, b_cols, c, ldc, fused);
    job->pack_a = pack_a_f32;
}

void gemm_prepare_f64(struct gemm_job *job, long m, long n, long k, const double *a, long a_rows, long a_cols,
                      const double *b, long b_rows, long b_cols, double *c, long ldc, int fused) {
    gemm_prepare(job, m, n, k, a, a_rows, a_cols, b, b_rows, b_cols, c, ldc, fused);
    job->pack_a = pack_a_f64;
}

void gemm_run_f32(struct gemm_job *job) {
    if (job->m <= 0 || job->n <= 0 || job->k <= 0) return;
    switch (parity_isa_active()) {
#ifdef HAVE_X86
    case PARITY_ISA_AVX512: gemm_avx512_f32(job); return;
    case PARITY_ISA_AVX2: gemm_avx2_f32(job); return;
#endif
    default: gemm_portable_f32(job); return;
    }
}

void gemm_run_f64(struct gemm_job *job) {
    if (job->m <= 0 || job->n <= 0 || job->k <= 0) return;
    switch (parity_isa_active()) {
#ifdef HAVE_X86
    case PARITY_ISA_AVX512: gemm_avx512_f64(job); return;
    case PARITY_ISA_AVX2: gemm_avx2_f64(job); return;
#endif
    default: gemm_portable_f64(job); return;
    }
}

// b packed whole for `level` (a level this CPU has): its width, and the packing.
#ifdef HAVE_X86
#define GEMM_PACK_X86(S, call)                                                                             \
    case PARITY_ISA_AVX512: call(avx512_##S); break;                                                       \
    case PARITY_ISA_AVX2: call(avx2_##S); break;
#else
#define GEMM_PACK_X86(S, call)
#endif
#define GEMM_PACK_DISPATCH(T, S)                                                                           \
    long gemm_packed_width_##S(parity_isa level, long n) {                                                 \
        long width = 0;                                                                                    \
        switch (level) {                                                                                   \
        GEMM_PACK_X86(S, GEMM_WIDTH_CALL)                                                                  \
        default: GEMM_WIDTH_CALL(portable_##S); break;                                                     \
        }                                                                                                  \
        return width;                                                                                      \
    }                                                                                                      \
    void gemm_pack_b_##S(parity_isa level, struct gemm_job *job, T *out) {                                 \
        switch (level) {                                                                                   \
        GEMM_PACK_X86(S, GEMM_PACK_CALL)                                                                   \
        default: GEMM_PACK_CALL(portable_##S); break;                                                      \
        }                                                                                                  \
    }
#define GEMM_WIDTH_CALL(suffix) width = packed_width_##suffix(n)
#define GEMM_PACK_CALL(suffix) pack_b_whole_##suffix(job, out)
GEMM_PACK_DISPATCH(float, f32)
GEMM_PACK_DISPATCH(double, f64)

#define GEMM_STRIPS_DISPATCH(T, S)                                                                         \
    void parity_gemm_strips_##S(long m, long strips, long k, const T *a, long lda, const T *packed, T *c, long ldc, \
                                int fused, int zero) {                                                     \
        if (m <= 0 || strips <= 0) return;                                                                 \
        switch (parity_isa_active()) {                                                                     \
        GEMM_STRIPS_X86(S)                                                                                 \
        default: gemm_strips_portable_##S(m, strips, k, a, lda, packed, c, ldc, fused != 0, zero != 0); return; \
        }                                                                                                  \
    }
#ifdef HAVE_X86
#define GEMM_STRIPS_X86(S)                                                                                 \
    case PARITY_ISA_AVX512: gemm_strips_avx512_##S(m, strips, k, a, lda, packed, c, ldc, fused != 0, zero != 0); return; \
    case PARITY_ISA_AVX2: gemm_strips_avx2_##S(m, strips, k, a, lda, packed, c, ldc, fused != 0, zero != 0); return;
#else
#define GEMM_STRIPS_X86(S)
#endif
GEMM_STRIPS_DISPATCH(float, f32)
GEMM_STRIPS_DISPATCH(double, f64)

// Strip s holds rows p < k of columns [s·W, (s+1)·W): out[s·k·W + p·W + j] = b[p·ldb + s·W + j], 0 past n.
#define PACK_STRIPS(T, S, W)                                                                               \
    void parity_pack_strips_##S(long k, long n, const T *b, long ldb, T *out) {                            \
        for (long s = 0; s * W < n; s++) {                                                                 \
            long w = n - s * W < W ? n - s * W : W;                                                        \
            for (long p = 0; p < k; p++) {                                                                 \
                T *to = out + (s * k + p) * W;                                                             \
                const T *from = b + p * ldb + s * W;                                                       \
                long j = 0;                                                                                \
                for (; j < w; j++) to[j] = from[j];                                                        \
                for (; j < W; j++) to[j] = 0;                                                              \
            }                                                                                              \
        }                                                                                                  \
    }
PACK_STRIPS(float, f32, PARITY_STRIP_F32)
PACK_STRIPS(double, f64, PARITY_STRIP_F64)

void depthwise_portable_f32(const struct depthwise_job *, long, long);
void depthwise_portable_f64(const struct depthwise_job *, long, long);
#ifdef HAVE_X86
void depthwise_avx2_f32(const struct depthwise_job *, long, long);
void depthwise_avx2_f64(const struct depthwise_job *, long, long);
void depthwise_avx512_f32(const struct depthwise_job *, long, long);
void depthwise_avx512_f64(const struct depthwise_job *, long, long);
#endif

void depthwise_run_f32(const struct depthwise_job *job, long row0, long row1) {
    switch (parity_isa_active()) {
#ifdef HAVE_X86
    case PARITY_ISA_AVX512: depthwise_avx512_f32(job, row0, row1); return;
    case PARITY_ISA_AVX2: depthwise_avx2_f32(job, row0, row1); return;
#endif
    default: depthwise_portable_f32(job, row0, row1); return;
    }
}

void depthwise_run_f64(const struct depthwise_job *job, long row0, long row1) {
    switch (parity_isa_active()) {
#ifdef HAVE_X86
    case PARITY_ISA_AVX512: depthwise_avx512_f64(job, row0, row1); return;
    case PARITY_ISA_AVX2: depthwise_avx2_f64(job, row0, row1); return;
#endif
    default: depthwise_portable_f64(job, row0, row1); return;
    }
}

// `start_zero`: c = Σ (every element written, +0 when k is 0) instead of c += Σ.
#define GEMM_ENTRY(T, S, name, start_zero)                                                                 \
    void name(long m, long n, long k, const T *a, long a_rows, long a_cols, const T *b, long b_rows, long b_cols, \
              T *c, long ldc, int fused) {                                                                 \
        if (start_zero && k <= 0) {                                                                        \
            for (long i = 0; i < m; i++)                                                                   \
                for (long j = 0; j < n; j++) c[i * ldc + j] = 0;                                           \
            return;                                                                                        \
        }                                                                                                  \
        struct gemm_job job;                                                                               \
        gemm_prepare_##S(&job, m, n, k, a, a_rows, a_cols, b, b_rows, b_cols, c, ldc, fused);              \
        job.zero_start = start_zero;                                                                       \
        gemm_run_##S(&job);                                                                                \
    }
GEMM_ENTRY(float, f32, parity_gemm_f32, 0)
GEMM_ENTRY(double, f64, parity_gemm_f64, 0)
GEMM_ENTRY(float, f32, parity_gemm_set_f32, 1)
GEMM_ENTRY(double, f64, parity_gemm_set_f64, 1)

#define GEMM_BIAS_ENTRY(T, S)                                                                              \
    void parity_gemm_bias_##S(long m, long n, long k, const T *a, long a_rows, long a_cols, const T *b, long b_rows, \
                              long b_cols, const T *bias, T *c, long ldc, int fused, const parity_epilogue *epilogue) { \
        if (k <= 0) return;                                                                                \
        struct gemm_job job;                                                                               \
        gemm_prepare_##S(&job, m, n, k, a, a_rows, a_cols, b, b_rows, b_cols, c, ldc, fused);              \
        job.start_bias = bias;                                                                             \
        job.epilogue = epilogue;                                                                           \
        job.residual = epilogue ? epilogue->residual : NULL;                                               \
        gemm_run_##S(&job);                                                                                \
    }
GEMM_BIAS_ENTRY(float, f32)
GEMM_BIAS_ENTRY(double, f64)

// MARK: Weights packed once (parity_kept_packs)

// What a weight pack is filled from: b as the call reads it.
struct gemm_weight_source {
    const void *b;
    long k, n, b_rows, b_cols;
};

#define GEMM_KEPT_ENTRY(T, S)                                                                              \
    /* KC blocks of NR strips, as a call's shared prepack writes them. */                                  \
    static void gemm_pack_weight_##S(struct kept_pack *kept, const void *from) {                           \
        const struct gemm_weight_source *w = (const struct gemm_weight_source *)from;                      \
        struct gemm_job job;                                                                               \
        gemm_prepare_##S(&job, 1, w->n, w->k, NULL, 0, 1, (const T *)w->b, w->b_rows, w->b_cols, NULL, 0, 0); \
        gemm_pack_b_##S(kept->level, &job, (T *)kept->data);                                               \
    }                                                                                                      \
    void parity_gemm_bias_kept_##S(long m, long n, long k, const T *a, long a_rows, long a_cols, const T *b, long b_rows, \
                                   long b_cols, parity_kept_packs *packs, const T *bias, T *c, long ldc, int fused, \
                                   const parity_epilogue *epilogue) {                                      \
        if (k <= 0) return;                                                                                \
        const struct kept_pack *kept = NULL;                                                               \
        if (packs) {                                                                                       \
            long key[3] = {sizeof(T), k, n};                                                               \
            struct gemm_weight_source source = {b, k, n, b_rows, b_cols};                                  \
            kept = kept_pack_get(packs, key, sizeof key, sizeof(T), k, n, gemm_packed_width_##S, gemm_pack_weight_##S, &source); \
        }                                                                                                  \
        struct gemm_job job;                                                                               \
        gemm_prepare_##S(&job, m, n, k, a, a_rows, a_cols, b, b_rows, b_cols, c, ldc, fused);              \
        job.start_bias = bias;                                                                             \
        job.epilogue = epilogue;                                                                           \
        job.residual = epilogue ? epilogue->residual : NULL;                                               \
        if (kept) {                                                                                        \
            job.b_packed = kept->data;                                                                     \
            job.b_packed_width = kept->width;                                                              \
        }                                                                                                  \
        gemm_run_##S(&job);                                                                                \
    }
GEMM_KEPT_ENTRY(float, f32)
GEMM_KEPT_ENTRY(double, f64)
