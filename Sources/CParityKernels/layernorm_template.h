// One instruction set's and one element type's layer-norm rows, included by layernorm.c once per
// (type, level) with:
//   T       the element type (float, double)
//   VL      lanes per vector
//   SUFFIX  name suffix (e.g. f32_avx512)
// and a `#pragma clang attribute` around the include giving every function the level's target.
//
// Vectors run across rows (VL rows side by side, one per lane) for the two pairwise sums, and across
// a row's elements for the output pass; every lane performs exactly one row's IEEE operations in the
// order the unfused ops perform them, so every level and lane width gives the same bits.

#define LN_CAT2(a, b) a##_##b
#define LN_CAT(a, b) LN_CAT2(a, b)
#define LFN(name) LN_CAT(name, SUFFIX)

typedef T LFN(vec) __attribute__((vector_size(VL * sizeof(T))));
typedef T LFN(uvec) __attribute__((vector_size(VL * sizeof(T)), aligned(sizeof(T))));

// Σ t[r·VL + lane] for r in [lo, hi): leaves of at most `leaf` terms summed in order from +0, a range
// above that split at lo + count/2 into halves each summed so, then (lower half) + (upper half): the
// bits of `AccumulationOrder.pairwise(leaf:)` for each lane's row.
static LFN(vec) LFN(ln_total)(const T *t, long lo, long hi, long leaf) {
    if (hi - lo <= leaf) {
        LFN(vec) s = {0};
        for (long r = lo; r < hi; r++) s = s + *(const LFN(vec) *)(t + r * VL);
        return s;
    }
    long mid = lo + (hi - lo) / 2;
    LFN(vec) a = LFN(ln_total)(t, lo, mid, leaf);
    LFN(vec) b = LFN(ln_total)(t, mid, hi, leaf);
    return a + b;
}

// The same tree over (t − m)·(t − m), each difference and product rounded.
static LFN(vec) LFN(ln_squares)(const T *t, long lo, long hi, long leaf, LFN(vec) m) {
    if (hi - lo <= leaf) {
        LFN(vec) s = {0};
        for (long r = lo; r < hi; r++) {
            LFN(vec) d = *(const LFN(vec) *)(t + r * VL) - m;
            s = s + d * d;
        }
        return s;
    }
    long mid = lo + (hi - lo) / 2;
    LFN(vec) a = LFN(ln_squares)(t, lo, mid, leaf, m);
    LFN(vec) b = LFN(ln_squares)(t, mid, hi, leaf, m);
    return a + b;
}

// One output row: c = x − m; then per `affine` (layernorm.c's LN_* modes) c·r, (c·r)·γ, (c·r)·γ + β,
// fma(c·r, γ, β), c·r + β or fma(c, r, β), each operation rounded as the unfused op rounds it.
#define LN_ROW(vector_expr, scalar_expr)                                                                     \
    do {                                                                                                     \
        for (; k + VL <= n; k += VL) {                                                                       \
            LFN(vec) c = *(const LFN(uvec) *)(xr + k) - mv;                                                  \
            LFN(vec) g = gamma ? *(const LFN(uvec) *)(gamma + k) : mv;                                       \
            LFN(vec) b = beta ? *(const LFN(uvec) *)(beta + k) : mv;                                         \
            (void)g; (void)b;                                                                                \
            *(LFN(uvec) *)(yr + k) = (vector_expr);                                                          \
        }                                                                                                    \
        for (; k < n; k++) {                                                                                 \
            T c = xr[k] - m;                                                                                 \
            T g = gamma ? gamma[k] : m, b = beta ? beta[k] : m;                                              \
            (void)g; (void)b;                                                                                \
            yr[k] = (scalar_expr);                                                                           \
        }                                                                                                    \
    } while (0)

static void LFN(ln_output_row)(int affine, long n, const T *xr, T m, T r, const T *gamma, const T *beta, T *yr) {
    LFN(vec) mv = (LFN(vec)){0} + m, rv = (LFN(vec)){0} + r;
    long k = 0;
    switch (affine) {
    case LN_NONE: LN_ROW(c * rv, c * r); break;
    case LN_SCALE: LN_ROW((c * rv) * g, (c * r) * g); break;
    case LN_SCALE_SHIFT: LN_ROW((c * rv) * g + b, (c * r) * g + b); break;
    case LN_SCALE_SHIFT_FUSED: LN_ROW(__builtin_elementwise_fma(c * rv, g, b), LN_FMA(c * r, g, b)); break;
    case LN_SHIFT: LN_ROW(c * rv + b, c * r + b); break;
    case LN_SHIFT_FUSED: LN_ROW(__builtin_elementwise_fma(c, rv, b), LN_FMA(c, r, b)); break;
    }
}
#undef LN_ROW

// Rows [r0, r1) of the job, VL rows at a time: the group's rows transposed into `scratch` (n·VL
// values, lane = row; a short group repeats its first row in the spare lanes), mean = Σx / n,
// var = Σ(x − mean)² / n, rstd = 1 / sqrt(var + ε) per lane, then each row's output pass.
static void LFN(ln_rows)(const struct ln_job *job, long r0, long r1, T *scratch) {
    const long n = job->n, leaf = job->leaf;
    const T *x = (const T *)job->x, *gamma = (const T *)job->gamma, *beta = (const T *)job->beta;
    T *y = (T *)job->y;
    const T count = (T)n, eps = (T)job->eps;
    for (long g = r0; g < r1; g += VL) {
        long h = r1 - g < VL ? r1 - g : VL;
        // Column by column, each stored as one vector (a loop over rows storing strided scalars
        // compiles to scatters, several times slower).
        const T *rows[VL];
        for (long lane = 0; lane < VL; lane++) rows[lane] = x + (g + (lane < h ? lane : 0)) * n;
        for (long k = 0; k < n; k++) {
            LFN(vec) column;
            for (long lane = 0; lane < VL; lane++) column[lane] = rows[lane][k];
            *(LFN(vec) *)(scratch + k * VL) = column;
        }
        LFN(vec) mean = LFN(ln_total)(scratch, 0, n, leaf) / count;
        LFN(vec) var = LFN(ln_squares)(scratch, 0, n, leaf, mean) / count;
        LFN(vec) rstd = (T)1 / __builtin_elementwise_sqrt(var + eps);
        for (long lane = 0; lane < h; lane++) {
            long row = g + lane;
            LFN(ln_output_row)(job->affine, n, x + row * n, mean[lane], rstd[lane], gamma, beta, y + row * n);
        }
    }
}

// One row's Σ t[r] for r in [lo, hi) and Σ (t[r] − m)²: the trees of ln_total and ln_squares for
// one lane, on the row itself (rows too long to transpose VL of them, see ln_task).
static T LFN(ln_total1)(const T *t, long lo, long hi, long leaf) {
    if (hi - lo <= leaf) {
        T s = 0;
        for (long r = lo; r < hi; r++) s = s + t[r];
        return s;
    }
    long mid = lo + (hi - lo) / 2;
    T a = LFN(ln_total1)(t, lo, mid, leaf);
    T b = LFN(ln_total1)(t, mid, hi, leaf);
    return a + b;
}

static T LFN(ln_squares1)(const T *t, long lo, long hi, long leaf, T m) {
    if (hi - lo <= leaf) {
        T s = 0;
        for (long r = lo; r < hi; r++) {
            T d = t[r] - m;
            s = s + d * d;
        }
        return s;
    }
    long mid = lo + (hi - lo) / 2;
    T a = LFN(ln_squares1)(t, lo, mid, leaf, m);
    T b = LFN(ln_squares1)(t, mid, hi, leaf, m);
    return a + b;
}

// Rows [r0, r1) one at a time, each row's statistics read from the row: ln_rows's operations for one lane.
static void LFN(ln_rows_long)(const struct ln_job *job, long r0, long r1) {
    const long n = job->n, leaf = job->leaf;
    const T *x = (const T *)job->x;
    const T count = (T)n, eps = (T)job->eps;
    for (long row = r0; row < r1; row++) {
        const T *xr = x + row * n;
        T mean = LFN(ln_total1)(xr, 0, n, leaf) / count;
        T var = LFN(ln_squares1)(xr, 0, n, leaf, mean) / count;
        T rstd = (T)1 / __builtin_elementwise_sqrt(var + eps);
        LFN(ln_output_row)(job->affine, n, xr, mean, rstd, (const T *)job->gamma, (const T *)job->beta, (T *)job->y + row * n);
    }
}

static void LFN(ln_task)(void *context, long index) {
    const struct ln_job *job = context;
    long r0 = index * job->chunk, r1 = r0 + job->chunk < job->rows ? r0 + job->chunk : job->rows;
    size_t bytes = ((size_t)job->n * VL * sizeof(T) + 63) & ~(size_t)63;
    if (bytes > LN_SCRATCH_LIMIT) {
        // VL transposed copies of a very long row would be VL times its size (per task); such rows are
        // few, and their sums run one row at a time on the row itself.
        LFN(ln_rows_long)(job, r0, r1);
    } else if (bytes <= LN_STACK_BYTES) {
        _Alignas(64) unsigned char local[LN_STACK_BYTES];
        LFN(ln_rows)(job, r0, r1, (T *)local);
    } else {
        T *heap = aligned_alloc(64, bytes);
        if (!heap) abort();
        LFN(ln_rows)(job, r0, r1, heap);
        free(heap);
    }
}

#undef LFN
#undef LN_CAT
#undef LN_CAT2
