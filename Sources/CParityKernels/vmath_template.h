// One instruction set's Float32 exp, sigmoid and tanh, included by vmath.c once per level with:
//   VL      lanes per vector
//   SUFFIX  name suffix (e.g. avx512)
// and a `#pragma clang attribute` around the include giving every function the level's target.
//
// Every lane runs the same sequence of IEEE operations — products, sums, quotients, fused
// multiply-adds (`__builtin_elementwise_fma`: one rounding; libm's correctly rounded `fmaf` where the
// level has no FMA instruction), round-to-nearest-even, exact integer and bit operations — so every
// level, and every lane width, gives the same bits. The algorithms and their measured accuracy:
// docs/performance.md ("Float32 exp, sigmoid and tanh").

#define VM_CAT2(a, b) a##_##b
#define VM_CAT(a, b) VM_CAT2(a, b)
#define VFN(name) VM_CAT(name, SUFFIX)

typedef float VFN(fvec) __attribute__((vector_size(VL * sizeof(float))));
typedef int32_t VFN(ivec) __attribute__((vector_size(VL * sizeof(int32_t))));
typedef float VFN(ufvec) __attribute__((vector_size(VL * sizeof(float)), aligned(sizeof(float))));

static inline VFN(fvec) VFN(vsplat)(float x) { return (VFN(fvec)){0} + x; }
static inline VFN(fvec) VFN(vselect)(VFN(ivec) mask, VFN(fvec) yes, VFN(fvec) no) {
    return (VFN(fvec))((mask & (VFN(ivec))yes) | (~mask & (VFN(ivec))no));
}

// eˣ: n = round(x·log₂e); r = x − n·ln2 (Cody–Waite, ln2 = C1 + C2 with C1 exact in 9 bits, so
// x − n·C1 is exact and each step one FMA); eʳ = 1 + r + r²·P(r), P Cephes's `expf` minimax
// polynomial (degree 5, |r| ≤ ½ln2); then ·2^⌊n/2⌋·2^(n−⌊n/2⌋), two exact power-of-two factors so that
// results near overflow and in the subnormal range are rounded once. x is clamped to [−104, 89]
// first (beyond, eˣ is 0 or ∞ in Float32, which the scaling produces); NaN passes through.
static inline VFN(fvec) VFN(vexp)(VFN(fvec) x) {
    VFN(ivec) nan = x != x;
    VFN(fvec) xc = VFN(vselect)(x > 89.0f, VFN(vsplat)(89.0f), x);
    xc = VFN(vselect)(xc < -104.0f, VFN(vsplat)(-104.0f), xc);
    xc = VFN(vselect)(nan, VFN(vsplat)(0.0f), xc);
    VFN(fvec) n = __builtin_elementwise_roundeven(xc * 1.44269504088896341f);
    VFN(fvec) r = __builtin_elementwise_fma(n, VFN(vsplat)(-0.693359375f), xc);
    r = __builtin_elementwise_fma(n, VFN(vsplat)(2.12194440e-4f), r);
    VFN(fvec) p = VFN(vsplat)(1.9875691500e-4f);
    p = __builtin_elementwise_fma(p, r, VFN(vsplat)(1.3981999507e-3f));
    p = __builtin_elementwise_fma(p, r, VFN(vsplat)(8.3334519073e-3f));
    p = __builtin_elementwise_fma(p, r, VFN(vsplat)(4.1665795894e-2f));
    p = __builtin_elementwise_fma(p, r, VFN(vsplat)(1.6666665459e-1f));
    p = __builtin_elementwise_fma(p, r, VFN(vsplat)(5.0000001201e-1f));
    VFN(fvec) y = __builtin_elementwise_fma(p, r * r, r) + 1.0f;
    VFN(ivec) k = __builtin_convertvector(n, VFN(ivec));
    VFN(ivec) k1 = k >> 1, k2 = k - k1;
    VFN(fvec) s1 = (VFN(fvec))((k1 + 127) << 23), s2 = (VFN(fvec))((k2 + 127) << 23);
    return VFN(vselect)(nan, x, (y * s1) * s2);
}

// 1 / (1 + e^(−x)): PyTorch's formula (`aten/src/ATen/native/cpu/UnaryOpsKernel.cpp`, sigmoid), three
// roundings after the exponential.
static inline VFN(fvec) VFN(vsigmoid)(VFN(fvec) x) {
    return 1.0f / (1.0f + VFN(vexp)(-x));
}

// tanh: below |x| = 0.55, x + x³·Q(x²) with Q a degree-5 polynomial fitted to (tanh x − x)/x³ on
// [0, 0.55] (scripts/vmath_coefficients.py); above, 1 − 2/(e^(2|x|) + 1) with the sign of x
// (e^(2|x|) = ∞ gives 1). NaN passes through (the second branch).
static inline VFN(fvec) VFN(vtanh)(VFN(fvec) x) {
    VFN(ivec) sign = (VFN(ivec))x & (int32_t)0x80000000;
    VFN(fvec) a = (VFN(fvec))((VFN(ivec))x & 0x7fffffff);
    VFN(fvec) s = x * x;
    VFN(fvec) q = VFN(vsplat)(0x1.3dc738p-9f);
    q = __builtin_elementwise_fma(q, s, VFN(vsplat)(-0x1.147e4ep-7f));
    q = __builtin_elementwise_fma(q, s, VFN(vsplat)(0x1.6502d2p-6f));
    q = __builtin_elementwise_fma(q, s, VFN(vsplat)(-0x1.ba0bbep-5f));
    q = __builtin_elementwise_fma(q, s, VFN(vsplat)(0x1.1110e4p-3f));
    q = __builtin_elementwise_fma(q, s, VFN(vsplat)(-0x1.555556p-2f));
    VFN(fvec) small = __builtin_elementwise_fma(x * s, q, x);
    VFN(fvec) e = VFN(vexp)(a + a);
    VFN(fvec) large = 1.0f - 2.0f / (e + 1.0f);
    large = (VFN(fvec))((VFN(ivec))large | sign);
    return VFN(vselect)(a < 0.55f, small, large);
}

#define VM_MAP(name, f)                                                                                     \
    static void VFN(name)(long n, const float *x, float *out) {                                             \
        long j = 0;                                                                                         \
        for (; j + VL <= n; j += VL) *(VFN(ufvec) *)(out + j) = f(*(const VFN(ufvec) *)(x + j));            \
        if (j < n) {                                                                                        \
            float tail[VL] = {0};                                                                           \
            for (long i = 0; j + i < n; i++) tail[i] = x[j + i];                                            \
            VFN(fvec) v = f(*(const VFN(ufvec) *)tail);                                                     \
            for (long i = 0; j + i < n; i++) out[j + i] = v[i];                                             \
        }                                                                                                   \
    }
VM_MAP(exp_f32, VFN(vexp))
VM_MAP(sigmoid_f32, VFN(vsigmoid))
VM_MAP(tanh_f32, VFN(vtanh))

// Rows of attention scores as PyTorch's CPU kernel normalises them after the product: per row (`scale`
// non-NULL: each x first rounded to x·scale), m = the row's maximum (NaN when the row holds one; which of
// two equal zeros is kept cannot change e^(x − m)), x = e^(x − m) in place, total = Σ x from +0 in index
// order. VL rows' totals are summed side by side, one lane each, so every total is its own sequential sum.
static void VFN(attention_exp_rows_f32)(long rows, long n, float *s, long lds, const float *scale, float *totals) {
    for (long i = 0; i < rows; i++) {
        float *row = s + i * lds;
        long j = 0;
        if (scale) {
            VFN(fvec) c = VFN(vsplat)(*scale);
            for (; j + VL <= n; j += VL) *(VFN(ufvec) *)(row + j) = *(const VFN(ufvec) *)(row + j) * c;
            for (; j < n; j++) row[j] = row[j] * *scale;
        }
        // Lane t keeps the maximum of elements j ≡ t (mod VL); a NaN anywhere makes the maximum NaN.
        VFN(fvec) m = VFN(vsplat)(row[0]);
        VFN(ivec) nan = (VFN(ivec)){0};
        for (j = 0; j + VL <= n; j += VL) {
            VFN(fvec) x = *(const VFN(ufvec) *)(row + j);
            nan |= x != x;
            m = VFN(vselect)(x > m, x, m);
        }
        float peak = m[0];
        int any_nan = 0;
        for (long t = 0; t < VL; t++) {
            any_nan |= nan[t] != 0;
            if (m[t] > peak) peak = m[t];
        }
        for (; j < n; j++) {
            any_nan |= row[j] != row[j];
            if (row[j] > peak) peak = row[j];
        }
        if (any_nan) peak = __builtin_nanf("");
        VFN(fvec) p = VFN(vsplat)(peak);
        for (j = 0; j + VL <= n; j += VL) *(VFN(ufvec) *)(row + j) = VFN(vexp)(*(const VFN(ufvec) *)(row + j) - p);
        if (j < n) {
            float tail[VL] = {0};
            for (long t = 0; j + t < n; t++) tail[t] = row[j + t] - peak;
            VFN(fvec) e = VFN(vexp)(*(const VFN(ufvec) *)tail);
            for (long t = 0; j + t < n; t++) row[j + t] = e[t];
        }
    }
    for (long i0 = 0; i0 < rows; i0 += VL) {
        long h = rows - i0 < VL ? rows - i0 : VL;
        VFN(fvec) total = VFN(vsplat)(0.0f), column;
        const float *base = s + i0 * lds;
        for (long j = 0; j < n; j++) {
            for (long t = 0; t < VL; t++) column[t] = base[(t < h ? t : 0) * lds + j];
            total = total + column;
        }
        for (long t = 0; t < h; t++) totals[i0 + t] = total[t];
    }
}

#undef VM_MAP

// The first `count` values at p (all VL when count ≥ VL; the other lanes 0), and their store.
static inline VFN(fvec) VFN(vload_n)(const float *p, long count) {
    if (count >= VL) return *(const VFN(ufvec) *)p;
    float t[VL] = {0};
    for (long i = 0; i < count; i++) t[i] = p[i];
    return *(const VFN(ufvec) *)t;
}
static inline void VFN(vstore_n)(float *p, VFN(fvec) v, long count) {
    if (count >= VL) {
        *(VFN(ufvec) *)p = v;
        return;
    }
    for (long i = 0; i < count; i++) p[i] = v[i];
}

// parity_lstm_cell_f32 (CParityKernels.h), units [j, j + count) of one row (count ≤ VL: the tail);
// each gate's pre-activation formed just before its function, so that few vectors are live at once.
static inline __attribute__((always_inline)) void VFN(lstm_units)(const parity_lstm_step *s, const float *z, const float *x, float *c,
                                                                  float *h, float *oh, float *oc, long j, long count) {
    const long n = s->units;
#define LSTM_GATE(q)                                                                                        \
    ({                                                                                                      \
        VFN(fvec) pre = VFN(vload_n)(z + (q) * n + j, count);                                              \
        if (s->recurrent_bias) pre = pre + VFN(vload_n)(s->recurrent_bias + (q) * s->bias_gate + j, count); \
        pre = VFN(vload_n)(x + (q) * s->x_gate + j, count) + pre;                                          \
        if (s->output_bias) pre = pre + VFN(vload_n)(s->output_bias + (q) * s->bias_gate + j, count);       \
        pre;                                                                                                \
    })
    VFN(fvec) added = VFN(vsigmoid)(LSTM_GATE(0)) * VFN(vtanh)(LSTM_GATE(2));
    VFN(fvec) kept = VFN(vsigmoid)(LSTM_GATE(1)) * VFN(vload_n)(c + j, count);
    VFN(fvec) cell = kept + added;
    VFN(vstore_n)(c + j, cell, count);
    VFN(vstore_n)(oc + j, cell, count);
    VFN(fvec) hidden = VFN(vsigmoid)(LSTM_GATE(3)) * VFN(vtanh)(cell);
    VFN(vstore_n)(h + j, hidden, count);
    VFN(vstore_n)(oh + j, hidden, count);
#undef LSTM_GATE
}

// parity_lstm_cell_f32: per row, VL units at a time, then the row's tail.
static void VFN(lstm_cell_f32)(const parity_lstm_step *s) {
    const long n = s->units;
    for (long r = 0; r < s->rows; r++) {
        const float *z = s->z + r * s->ldz, *x = s->x + r * s->ldx;
        float *c = s->c + r * s->ldc, *h = s->h + r * s->ldh, *oh = s->out_h + r * s->ldo, *oc = s->out_c + r * s->ldo;
        if (r + 1 < s->rows) {
            // The next row's inputs (an input projection's rows are far apart, and the recurrent product
            // has just streamed its weights through the caches): fetched while this row's math runs.
            for (int q = 0; q < 4; q++)
                for (long j = 0; j < n; j += 64 / sizeof(float)) __builtin_prefetch(x + s->ldx + q * s->x_gate + j);
        }
        long j = 0;
        for (; j + VL <= n; j += VL) VFN(lstm_units)(s, z, x, c, h, oh, oc, j, VL);
        if (j < n) VFN(lstm_units)(s, z, x, c, h, oh, oc, j, n - j);
    }
}
#undef VFN
#undef VM_CAT
#undef VM_CAT2
