// Elementwise rows whose Swift loop would call libm per element in a build without CPU flags: a fused
// multiply-add is one instruction on FMA hardware here. fma is exactly rounded, so every path gives
// the same bits.
#include "CParityKernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void fma_f32_fma3(long n, const float *x, long sx, const float *y, long sy, const float *z, long sz, float *out) {
    if (sx == 1 && sy == 1 && sz == 1) {
        for (long j = 0; j < n; j++) out[j] = __builtin_fmaf(x[j], y[j], z[j]);
    } else if (sx == 1 && sy == 0 && sz == 0) {  // a row times a scale plus a shift (batch norm)
        float scale = y[0], shift = z[0];
        for (long j = 0; j < n; j++) out[j] = __builtin_fmaf(x[j], scale, shift);
    } else if (sx == 1 && sy == 1 && sz == 0) {
        float shift = z[0];
        for (long j = 0; j < n; j++) out[j] = __builtin_fmaf(x[j], y[j], shift);
    } else if (sx == 1 && sy == 0 && sz == 1) {
        float scale = y[0];
        for (long j = 0; j < n; j++) out[j] = __builtin_fmaf(x[j], scale, z[j]);
    } else {
        for (long j = 0; j < n; j++) out[j] = __builtin_fmaf(x[j * sx], y[j * sy], z[j * sz]);
    }
}

__attribute__((target("avx2,fma")))
static void fma_f64_fma3(long n, const double *x, long sx, const double *y, long sy, const double *z, long sz, double *out) {
    if (sx == 1 && sy == 1 && sz == 1) {
        for (long j = 0; j < n; j++) out[j] = __builtin_fma(x[j], y[j], z[j]);
    } else if (sx == 1 && sy == 0 && sz == 0) {  // a row times a scale plus a shift (batch norm)
        double scale = y[0], shift = z[0];
        for (long j = 0; j < n; j++) out[j] = __builtin_fma(x[j], scale, shift);
    } else if (sx == 1 && sy == 1 && sz == 0) {
        double shift = z[0];
        for (long j = 0; j < n; j++) out[j] = __builtin_fma(x[j], y[j], shift);
    } else if (sx == 1 && sy == 0 && sz == 1) {
        double scale = y[0];
        for (long j = 0; j < n; j++) out[j] = __builtin_fma(x[j], scale, z[j]);
    } else {
        for (long j = 0; j < n; j++) out[j] = __builtin_fma(x[j * sx], y[j * sy], z[j * sz]);
    }
}
#endif

void parity_fma_f32(long n, const float *x, long sx, const float *y, long sy, const float *z, long sz, float *out) {
#if defined(__x86_64__)
    if (parity_isa_active() >= PARITY_ISA_AVX2) { fma_f32_fma3(n, x, sx, y, sy, z, sz, out); return; }
#endif
    for (long j = 0; j < n; j++) out[j] = fmaf(x[j * sx], y[j * sy], z[j * sz]);
}

void parity_fma_f64(long n, const double *x, long sx, const double *y, long sy, const double *z, long sz, double *out) {
#if defined(__x86_64__)
    if (parity_isa_active() >= PARITY_ISA_AVX2) { fma_f64_fma3(n, x, sx, y, sy, z, sz, out); return; }
#endif
    for (long j = 0; j < n; j++) out[j] = fma(x[j * sx], y[j * sy], z[j * sz]);
}

// One loop per (operation, stride pattern), so that each vectorises; a single IEEE operation per
// element, nothing to contract.
#define BINARY_CASES(T, op, n, x, sx, y, sy, out)                                                       \
    do {                                                                                                \
        if (sx == 1 && sy == 1) {                                                                       \
            for (long j = 0; j < n; j++) out[j] = x[j] op y[j];                                         \
        } else if (sx == 1 && sy == 0) {                                                                \
            T b = y[0];                                                                                 \
            for (long j = 0; j < n; j++) out[j] = x[j] op b;                                            \
        } else if (sx == 0 && sy == 1) {                                                                \
            T a = x[0];                                                                                 \
            for (long j = 0; j < n; j++) out[j] = a op y[j];                                            \
        } else {                                                                                        \
            for (long j = 0; j < n; j++) out[j] = x[j * sx] op y[j * sy];                               \
        }                                                                                               \
    } while (0)

#define BINARY_FUNCTION(T, name)                                                                        \
    static void name(parity_binary_op op, long n, const T *restrict x, long sx, const T *restrict y, long sy, \
                     T *restrict out) {                                                                 \
        switch (op) {                                                                                   \
        case PARITY_ADD: BINARY_CASES(T, +, n, x, sx, y, sy, out); return;                              \
        case PARITY_SUBTRACT: BINARY_CASES(T, -, n, x, sx, y, sy, out); return;                         \
        case PARITY_MULTIPLY: BINARY_CASES(T, *, n, x, sx, y, sy, out); return;                         \
        case PARITY_DIVIDE: BINARY_CASES(T, /, n, x, sx, y, sy, out); return;                           \
        }                                                                                               \
    }

BINARY_FUNCTION(float, binary_f32_portable)
BINARY_FUNCTION(double, binary_f64_portable)
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
BINARY_FUNCTION(float, binary_f32_avx2)
BINARY_FUNCTION(double, binary_f64_avx2)
#pragma clang attribute pop
#endif

// `out` never overlaps `x` or `y` (the callers write fresh buffers).
void parity_binary_f32(parity_binary_op op, long n, const float *x, long sx, const float *y, long sy, float *out) {
#if defined(__x86_64__)
    if (parity_isa_active() >= PARITY_ISA_AVX2) { binary_f32_avx2(op, n, x, sx, y, sy, out); return; }
#endif
    binary_f32_portable(op, n, x, sx, y, sy, out);
}

void parity_binary_f64(parity_binary_op op, long n, const double *x, long sx, const double *y, long sy, double *out) {
#if defined(__x86_64__)
    if (parity_isa_active() >= PARITY_ISA_AVX2) { binary_f64_avx2(op, n, x, sx, y, sy, out); return; }
#endif
    binary_f64_portable(op, n, x, sx, y, sy, out);
}

// A line's candidate v replaces the current best c when c is not NaN and v is NaN or better:
// integer and/or (no short-circuit branches; a max pool's windows are random to a predictor).
#define ARG_STEP(T, v, k, b, c, maximum)                                                                \
    do {                                                                                                \
        T v_ = (v);                                                                                     \
        int wins_ = ((c) == (c)) & ((v_ != v_) | (maximum ? v_ > (c) : v_ < (c)));                      \
        b = wins_ ? (k) : b;                                                                            \
        c = wins_ ? v_ : c;                                                                             \
    } while (0)
// Sixteen lines at a time when they are short (a max pool's windows): transposed into a local
// buffer, then one vector select chain across the sixteen lines (comparisons give all-ones or zero
// lanes; the selects are bitwise).
#define ARG_LANES 16
#define ARG_MAX_N 64
#define ARG_EXTREMUM(T, I, name)                                                                        \
    typedef T name##_v __attribute__((vector_size(ARG_LANES * sizeof(T))));                             \
    typedef I name##_m __attribute__((vector_size(ARG_LANES * sizeof(T))));                             \
    static void name(long lines, long n, const T *restrict x, int maximum, int64_t *restrict out) {    \
        long l = 0;                                                                                     \
        if (n <= ARG_MAX_N) {                                                                           \
            T buf[ARG_LANES * ARG_MAX_N];                                                               \
            for (; l + ARG_LANES <= lines; l += ARG_LANES) {                                            \
                const T *base = x + l * n;                                                              \
                for (long i = 0; i < ARG_LANES; i++)                                                    \
                    for (long k = 0; k < n; k++) buf[k * ARG_LANES + i] = base[i * n + k];              \
                name##_v c;                                                                             \
                memcpy(&c, buf, sizeof c);                                                              \
                name##_m b = {0}, ci;                                                                   \
                for (long k = 1; k < n; k++) {                                                          \
                    name##_v v;                                                                         \
                    memcpy(&v, buf + k * ARG_LANES, sizeof v);                                          \
                    name##_m better = maximum ? (name##_m)(v > c) : (name##_m)(v < c);                  \
                    name##_m wins = (name##_m)(c == c) & ((name##_m)(v != v) | better);                 \
                    b = (wins & (I)k) | (~wins & b);                                                    \
                    name##_m vi;                                                                        \
                    memcpy(&vi, &v, sizeof vi);                                                         \
                    memcpy(&ci, &c, sizeof ci);                                                         \
                    ci = (wins & vi) | (~wins & ci);                                                    \
                    memcpy(&c, &ci, sizeof c);                                                          \
                }                                                                                       \
                for (long i = 0; i < ARG_LANES; i++) out[l + i] = (int64_t)b[i];                        \
            }                                                                                           \
        }                                                                                               \
        for (; l < lines; l++) {                                                                        \
            const T *line = x + l * n;                                                                  \
            T c = line[0];                                                                              \
            int64_t b = 0;                                                                              \
            for (long k = 1; k < n; k++) ARG_STEP(T, line[k], k, b, c, maximum);                        \
            out[l] = b;                                                                                 \
        }                                                                                               \
    }

ARG_EXTREMUM(float, int32_t, arg_extremum_f32_portable)
ARG_EXTREMUM(double, int64_t, arg_extremum_f64_portable)
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
ARG_EXTREMUM(float, int32_t, arg_extremum_f32_avx512)
ARG_EXTREMUM(double, int64_t, arg_extremum_f64_avx512)
#pragma clang attribute pop
#endif

void parity_arg_extremum_f32(long lines, long n, const float *x, int maximum, int64_t *out) {
#if defined(__x86_64__)
    if (parity_isa_active() >= PARITY_ISA_AVX512) { arg_extremum_f32_avx512(lines, n, x, maximum, out); return; }
#endif
    arg_extremum_f32_portable(lines, n, x, maximum, out);
}

void parity_arg_extremum_f64(long lines, long n, const double *x, int maximum, int64_t *out) {
#if defined(__x86_64__)
    if (parity_isa_active() >= PARITY_ISA_AVX512) { arg_extremum_f64_avx512(lines, n, x, maximum, out); return; }
#endif
    arg_extremum_f64_portable(lines, n, x, maximum, out);
}

// MARK: Window maximum (max pooling without the patches)

struct window_max_task {
    long slice_size, positions, window, inner, chunk, slices, grouped;
    const long *indices;
    const void *x;
    void *y;
};

// Output (slice, position, j) scans its window cells c = 0, 1, … in order: the first cell's value,
// then a NaN anywhere makes the canonical quiet NaN, else a strictly larger value replaces it
// (`Tensor.reduce(.max)`'s loop: the first of equal maxima stays, so −0 before +0 gives −0; a
// one-cell window is its cell). Cells with a negative index are −∞. Sixteen outputs side by side,
// each with its own running maximum and NaN flag (the same result as the sequential scan: once a
// NaN is seen the answer is the canonical NaN whatever follows). Compares and selects only: the
// same bits on every CPU. Grouped (channels-last pooling): one index per (position, cell), read by
// all `inner` outputs j of that position at index·inner + j (the same cells, in the same order, as
// the expanded map index·inner + j per (position, cell, j)).
#define WINDOW_MAX(T, SUF, NAN_VALUE)                                                                       \
    static void window_max_##SUF(void *context, long index) {                                               \
        const struct window_max_task *t = (const struct window_max_task *)context;                         \
        long s1 = (index + 1) * t->chunk < t->slices ? (index + 1) * t->chunk : t->slices;                 \
        long n = t->positions * t->inner, window = t->window, inner = t->inner, grouped = t->grouped;      \
        long step = grouped ? 1 : inner, scale = grouped ? inner : 1;                                       \
        for (long s = index * t->chunk; s < s1; s++) {                                                      \
            const T *x = (const T *)t->x + s * t->slice_size;                                               \
            T *y = (T *)t->y + s * n;                                                                       \
            for (long o0 = 0; o0 < n; o0 += 16) {                                                           \
                long w = n - o0 < 16 ? n - o0 : 16;                                                         \
                const long *base[16];                                                                       \
                long offset[16];                                                                            \
                T acc[16];                                                                                  \
                int nan[16];                                                                                \
                for (long k = 0; k < w; k++) {                                                              \
                    long o = o0 + k, p = o / inner, j = o - p * inner;                                      \
                    base[k] = t->indices + (grouped ? p * window : p * window * inner + j);                 \
                    offset[k] = grouped ? j : 0;                                                            \
                    long i = base[k][0];                                                                    \
                    acc[k] = i >= 0 ? x[i * scale + offset[k]] : -(T)INFINITY;                              \
                    nan[k] = 0;                                                                             \
                }                                                                                           \
                for (long c = 1; c < window; c++) {                                                         \
                    for (long k = 0; k < w; k++) {                                                          \
                        long i = base[k][c * step];                                                         \
                        T v = i >= 0 ? x[i * scale + offset[k]] : -(T)INFINITY;                             \
                        nan[k] |= (v != v) | (acc[k] != acc[k]);                                            \
                        acc[k] = v > acc[k] ? v : acc[k];                                                   \
                    }                                                                                       \
                }                                                                                           \
                for (long k = 0; k < w; k++) y[o0 + k] = nan[k] ? NAN_VALUE : acc[k];                       \
            }                                                                                               \
        }                                                                                                   \
    }                                                                                                       \
    void parity_window_max_##SUF(long slices, long slice_size, long positions, long window, long inner,     \
                                 int grouped, const long *indices, const T *x, T *y) {                      \
        if (slices <= 0 || positions <= 0 || inner <= 0 || window <= 0) return;                             \
        long work = positions * window * inner;                                                             \
        struct window_max_task t = {slice_size, positions, window, inner, work >= 32768 ? 1 : 32768 / work, \
                                    slices, grouped != 0, indices, x, y};                                   \
        parity_parallel_for((slices + t.chunk - 1) / t.chunk, window_max_##SUF, &t);                       \
    }
WINDOW_MAX(float, f32, __builtin_nanf(""))
WINDOW_MAX(double, f64, __builtin_nan(""))
