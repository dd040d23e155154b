// Elementwise rows whose Swift loop would call libm per element in a build without CPU flags: a fused
// multiply-add is one instruction on FMA hardware here. fma is exactly rounded, so every path gives
// the same bits.
#include "CParityKernels.h"
#include <math.h>

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
