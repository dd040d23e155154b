// Float32 exp, sigmoid and tanh over arrays, and the LSTM cell step built on them, with run-time
// instruction-set dispatch; the per-level code is vmath_template.h (one algorithm, the same bits on
// every level).
#include "CParityKernels.h"

// Products and sums are rounded where the source says so, never contracted behind its back.
#pragma clang fp contract(off)

#define VL 4
#define SUFFIX portable
#include "vmath_template.h"
#undef VL
#undef SUFFIX

#if defined(__x86_64__) || defined(_M_X64)
#define HAVE_X86 1
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define VL 8
#define SUFFIX avx2
#include "vmath_template.h"
#undef VL
#undef SUFFIX
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#define VL 16
#define SUFFIX avx512
#include "vmath_template.h"
#undef VL
#undef SUFFIX
#pragma clang attribute pop
#endif

#if HAVE_X86
#define VM_DISPATCH(name)                                                                                  \
    void parity_##name(long n, const float *x, float *out) {                                               \
        switch (parity_isa_active()) {                                                                     \
        case PARITY_ISA_AVX512: name##_avx512(n, x, out); return;                                          \
        case PARITY_ISA_AVX2: name##_avx2(n, x, out); return;                                              \
        default: name##_portable(n, x, out); return;                                                       \
        }                                                                                                  \
    }
#else
#define VM_DISPATCH(name)                                                                                  \
    void parity_##name(long n, const float *x, float *out) { name##_portable(n, x, out); }
#endif

VM_DISPATCH(exp_f32)
VM_DISPATCH(sigmoid_f32)
VM_DISPATCH(tanh_f32)

void parity_lstm_cell_f32(const parity_lstm_step *step) {
    if (step->rows <= 0 || step->units <= 0) return;
#if HAVE_X86
    switch (parity_isa_active()) {
    case PARITY_ISA_AVX512: lstm_cell_f32_avx512(step); return;
    case PARITY_ISA_AVX2: lstm_cell_f32_avx2(step); return;
    default: break;
    }
#endif
    lstm_cell_f32_portable(step);
}

void parity_attention_exp_rows_f32(long rows, long n, float *s, long lds, const float *scale, float *totals) {
    if (rows <= 0 || n <= 0) return;
#if HAVE_X86
    switch (parity_isa_active()) {
    case PARITY_ISA_AVX512: attention_exp_rows_f32_avx512(rows, n, s, lds, scale, totals); return;
    case PARITY_ISA_AVX2: attention_exp_rows_f32_avx2(rows, n, s, lds, scale, totals); return;
    default: break;
    }
#endif
    attention_exp_rows_f32_portable(rows, n, s, lds, scale, totals);
}
