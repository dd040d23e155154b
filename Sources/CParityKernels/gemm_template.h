// One instruction set's GEMM, included by gemm.c once per (level, element type) with:
//   T       element type (float or double)
//   VL      lanes per vector;   MR  rows of the register tile;   NV  vectors per tile row (NR = NV·VL)
//   KC, MC, NC  cache blocking (depth, rows, columns)
//   SUFFIX  name suffix (e.g. avx512_f32)
// and a `#pragma clang attribute` around the include giving every function the level's target.
//
// Numerics: every output's accumulator starts from `c`, then adds its products in index order p = 0,
// 1, …, k−1, as one fused multiply-add each (`__builtin_elementwise_fma`, a single rounding) or as a
// rounded product then a rounded sum. Vectors run across output columns only; tiles and blocks only
// decide when an accumulator is stored and reloaded (exact), so every level gives the same bits.

#define GEMM_CAT2(a, b) a##_##b
#define GEMM_CAT(a, b) GEMM_CAT2(a, b)
#define FN(name) GEMM_CAT(name, SUFFIX)
#define GEMM_JOIN3(a, b, c) a##b##_##c
#define UKR(mr, nv) FN(GEMM_JOIN3(ukr, mr, nv))
#define UKR_DEFINE(mr, nv) GEMM_UKR(mr, nv, UKR(mr, nv))
#define NR (NV * VL)

typedef T FN(vec) __attribute__((vector_size(VL * sizeof(T))));
typedef T FN(uvec) __attribute__((vector_size(VL * sizeof(T)), aligned(sizeof(T))));

static inline FN(vec) FN(load)(const T *p) { return *(const FN(uvec) *)p; }
static inline void FN(store)(T *p, FN(vec) v) { *(FN(uvec) *)p = v; }
static inline FN(vec) FN(splat)(T x) {
    FN(vec) v = {x};
    return __builtin_shufflevector(v, v, SPLAT_INDICES);
}

// MARK: Epilogue (parity_epilogue), on one vector of outputs or one output. `scale`/`shift` point at
// the values' output channels, `r` at their residual (NULL: none). Each step rounds as its separate
// op does; the selects are the scalar formulas' (`v <= 0 ? 0 : v`, `l >= v ? l : v`, `u < t ? u : t`)
// as compare masks, so NaN and signed zeros come out alike.
typedef __typeof__((FN(vec)){0} <= (FN(vec)){0}) FN(mask);

static inline FN(vec) FN(select)(FN(mask) m, FN(vec) a, FN(vec) b) {
    return (FN(vec))(((FN(mask))a & m) | ((FN(mask))b & ~m));
}

static inline FN(vec) FN(epilogue_vec)(const parity_epilogue *e, FN(vec) v, const T *scale, const T *shift, const T *r) {
    if (shift) {
        FN(vec) h = FN(load)(shift);
        if (!scale) {
            v = v + h;
        } else if (e->fused_scale) {
            v = __builtin_elementwise_fma(v, FN(load)(scale), h);
        } else {
            FN(vec) product = v * FN(load)(scale);
            v = product + h;
        }
    }
    if (r) v = v + FN(load)(r);
    if (e->activation == PARITY_ACTIVATION_RELU) {
        FN(vec) zero = {0};
        v = FN(select)(v <= zero, zero, v);
    } else if (e->activation == PARITY_ACTIVATION_CLIP) {
        FN(vec) lower = FN(splat)((T)e->lower), upper = FN(splat)((T)e->upper);
        FN(vec) t = FN(select)(lower >= v, lower, v);
        v = FN(select)(upper < t, upper, t);
    }
    return v;
}

static inline T FN(epilogue_one)(const parity_epilogue *e, T v, const T *scale, const T *shift, const T *r) {
    if (shift) {
        if (!scale) {
            v = v + *shift;
        } else if (e->fused_scale) {
            v = __builtin_elementwise_fma(v, *scale, *shift);
        } else {
            T product = v * *scale;
            v = product + *shift;
        }
    }
    if (r) v = v + *r;
    if (e->activation == PARITY_ACTIVATION_RELU) {
        v = v <= 0 ? 0 : v;
    } else if (e->activation == PARITY_ACTIVATION_CLIP) {
        T lower = (T)e->lower, upper = (T)e->upper;
        T t = lower >= v ? lower : v;
        v = upper < t ? upper : t;
    }
    return v;
}

// A full tile's epilogue: the epilogue, its per-channel arrays at the tile's first column, the
// residual at the tile's origin (row stride ldc), the latter three NULL when absent.
struct FN(tile_epilogue) {
    const parity_epilogue *e;
    const T *scale, *shift, *residual;
};

// c[0..<mr, 0..<nv·VL] = (zero ? +0 : c) + a·b over kc steps, then the tile epilogue when `epi` is set;
// a: mr values per step, `astride` apart; b: nv·VL values per step, `bstride` apart.
#define GEMM_UKR(mr, nv, name)                                                                              \
    static void name(long kc, const T *restrict a, long astride, const T *restrict b, long bstride,         \
                     T *restrict c, long ldc, int fused, int zero, const struct FN(tile_epilogue) *epi) {   \
        FN(vec) acc[mr][nv];                                                                                \
        _Pragma("unroll") for (int i = 0; i < mr; i++)                                                     \
            _Pragma("unroll") for (int v = 0; v < nv; v++)                                                 \
                acc[i][v] = zero ? (FN(vec)){0} : FN(load)(c + i * ldc + v * VL);                           \
        if (fused) {                                                                                        \
            for (long p = 0; p < kc; p++) {                                                                 \
                FN(vec) bv[nv];                                                                             \
                _Pragma("unroll") for (int v = 0; v < nv; v++) bv[v] = FN(load)(b + v * VL);                \
                _Pragma("unroll") for (int i = 0; i < mr; i++) {                                           \
                    FN(vec) ai = FN(splat)(a[i]);                                                           \
                    _Pragma("unroll") for (int v = 0; v < nv; v++)                                         \
                        acc[i][v] = __builtin_elementwise_fma(ai, bv[v], acc[i][v]);                        \
                }                                                                                           \
                a += astride;                                                                               \
                b += bstride;                                                                               \
            }                                                                                               \
        } else {                                                                                            \
            for (long p = 0; p < kc; p++) {                                                                 \
                FN(vec) bv[nv];                                                                             \
                _Pragma("unroll") for (int v = 0; v < nv; v++) bv[v] = FN(load)(b + v * VL);                \
                _Pragma("unroll") for (int i = 0; i < mr; i++) {                                           \
                    FN(vec) ai = FN(splat)(a[i]);                                                           \
                    _Pragma("unroll") for (int v = 0; v < nv; v++) {                                       \
                        FN(vec) product = ai * bv[v];                                                       \
                        acc[i][v] = acc[i][v] + product;                                                    \
                    }                                                                                       \
                }                                                                                           \
                a += astride;                                                                               \
                b += bstride;                                                                               \
            }                                                                                               \
        }                                                                                                   \
        if (epi) {                                                                                          \
            const T *sc = epi->scale, *sh = epi->shift, *r = epi->residual;                                 \
            _Pragma("unroll") for (int i = 0; i < mr; i++)                                                 \
                _Pragma("unroll") for (int v = 0; v < nv; v++)                                             \
                    acc[i][v] = FN(epilogue_vec)(epi->e, acc[i][v], sc ? sc + v * VL : NULL, sh ? sh + v * VL : NULL, \
                                                 r ? r + i * ldc + v * VL : NULL);                          \
        }                                                                                                   \
        _Pragma("unroll") for (int i = 0; i < mr; i++)                                                     \
            _Pragma("unroll") for (int v = 0; v < nv; v++) FN(store)(c + i * ldc + v * VL, acc[i][v]);     \
    }

UKR_DEFINE(1, NV)
UKR_DEFINE(2, NV)
UKR_DEFINE(4, NV)
#if MR > 4 && MR != 8
UKR_DEFINE(MR, NV)
#endif
#if MR >= 8
UKR_DEFINE(8, NV)
#endif
#if NV > 1
UKR_DEFINE(1, 1)
UKR_DEFINE(2, 1)
UKR_DEFINE(4, 1)
#if MR > 4 && MR != 8
UKR_DEFINE(MR, 1)
#endif
#if MR >= 8
UKR_DEFINE(8, 1)
#endif
#endif

// Rows `rows` of a panel (height ≤ MR) against one strip, the largest tile heights first; `narrow`
// strips are one vector wide.
static void FN(strip)(long kc, long rows, int narrow, const T *a, long astride, const T *b, long bstride, T *c, long ldc,
                      int fused, int zero, const struct FN(tile_epilogue) *epi) {
    long i = 0;
    struct FN(tile_epilogue) rows_epi;
    if (epi) rows_epi = *epi;
#define GEMM_ROWS(mr)                                                                                       \
    for (; rows - i >= mr; i += mr) {                                                                      \
        if (epi && epi->residual) rows_epi.residual = epi->residual + i * ldc;                              \
        if (NV > 1 && narrow) UKR(mr, 1)(kc, a + i, astride, b, bstride, c + i * ldc, ldc, fused, zero, epi ? &rows_epi : NULL); \
        else UKR(mr, NV)(kc, a + i, astride, b, bstride, c + i * ldc, ldc, fused, zero, epi ? &rows_epi : NULL);  \
    }
#if MR > 4 && MR != 8
    GEMM_ROWS(MR)
#endif
#if MR >= 8
    GEMM_ROWS(8)
#endif
    GEMM_ROWS(4)
    GEMM_ROWS(2)
    GEMM_ROWS(1)
#undef GEMM_ROWS
}

// A block (kc × cols) packed as strips of NR columns (per step NR values), the last strip
// zero-padded (its extra columns are computed and dropped). Row p starts at `b + p·brs`, or at
// `b + rows[p]` when a row table is given. With unit column stride each source row is read once,
// whole, into every strip (sequential reads); `visit` > 1 visits the steps p ≡ 0, 1, … (mod visit)
// in turn, which for a convolution's (channel, window) table reads the kernel in memory order.
// Otherwise strip by strip. Either way an exact copy, the same packed block.
static void FN(pack_b)(long kc, long cols, const T *b, long brs, long bcs, const long *rows, long visit, T *restrict out) {
    if (bcs == 1) {
        long full = cols / NR, tail = cols - full * NR;
        if (visit < 1) visit = 1;
        for (long r = 0; r < visit; r++) {
            for (long p = r; p < kc; p += visit) {
                const T *from = b + (rows ? rows[p] : p * brs);
                T *row = out + p * NR;
                for (long s = 0; s < full; s++) {
                    T *to = row + s * kc * NR;
                    const T *src = from + s * NR;
                    for (long j = 0; j < NR; j++) to[j] = src[j];
                }
                if (tail) {
                    T *to = row + full * kc * NR;
                    const T *src = from + full * NR;
                    long j = 0;
                    for (; j < tail; j++) to[j] = src[j];
                    for (; j < NR; j++) to[j] = 0;
                }
            }
        }
        return;
    }
    if (brs == 1 && !rows) {
        // A transposed source (column j of b is a contiguous run: a key row of q·kᵀ read in place):
        // 4 × 4 blocks through vector shuffles, as a row-major left operand is packed.
        typedef T x4 __attribute__((vector_size(4 * sizeof(T)), aligned(sizeof(T))));
        for (long j0 = 0; j0 < cols; j0 += NR) {
            long w = cols - j0 < NR ? cols - j0 : NR;
            const T *src = b + j0 * bcs;
            long p = 0;
            for (; p + 4 <= kc; p += 4) {
                T *to = out + p * NR;
                long j = 0;
                for (; j + 4 <= w; j += 4) {
                    const T *s = src + j * bcs + p;
                    x4 r0 = *(const x4 *)s, r1 = *(const x4 *)(s + bcs), r2 = *(const x4 *)(s + 2 * bcs), r3 = *(const x4 *)(s + 3 * bcs);
                    x4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5), t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
                    x4 t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5), t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
                    *(x4 *)(to + j) = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
                    *(x4 *)(to + NR + j) = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
                    *(x4 *)(to + 2 * NR + j) = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
                    *(x4 *)(to + 3 * NR + j) = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
                }
                for (; j < NR; j++)
                    for (long q = 0; q < 4; q++) to[q * NR + j] = j < w ? src[j * bcs + p + q] : 0;
            }
            for (; p < kc; p++)
                for (long j = 0; j < NR; j++) out[p * NR + j] = j < w ? src[j * bcs + p] : 0;
            out += kc * NR;
        }
        return;
    }
    for (long j0 = 0; j0 < cols; j0 += NR) {
        long w = cols - j0 < NR ? cols - j0 : NR;
        const T *src = b + j0 * bcs;
        for (long p = 0; p < kc; p++) {
            T *row = out + p * NR;
            const T *from = src + (rows ? rows[p] : p * brs);
            long j = 0;
            for (; j < w; j++) row[j] = from[j * bcs];
            for (; j < NR; j++) row[j] = 0;
        }
        out += kc * NR;
    }
}

// One task: rows [i0, i0+mc) × columns [j0, j0+nc) of c, over the whole depth in KC blocks.
static void FN(task)(const struct gemm_job *job, long i0, long mc, long j0, long nc, T *apack, T *bpack) {
    const T *b = (const T *)job->b;
    T *c = (T *)job->c;
    long ldc = job->ldc;
    T edge[MR * NR], edge_residual[MR * NR], edge_scale[NR], edge_shift[NR];
    for (long p0 = 0; p0 < job->k; p0 += KC) {
        long kc = job->k - p0 < KC ? job->k - p0 : KC;
        const parity_epilogue *epilogue = p0 + kc >= job->k ? job->epilogue : NULL;
        const T *bblock = NULL;
        if (job->b_packed) {
            bblock = (const T *)job->b_packed + p0 * job->b_packed_width + j0 * kc;
        } else if (!job->b_in_place) {
            if (job->b_row_offset) FN(pack_b)(kc, nc, b + j0 * job->b_cols, 0, job->b_cols, job->b_row_offset + p0, job->b_row_visit, bpack);
            else FN(pack_b)(kc, nc, b + p0 * job->b_rows + j0 * job->b_cols, job->b_rows, job->b_cols, NULL, 1, bpack);
            bblock = bpack;
        }
        const T *ablock = apack;
        if (job->a_packed) ablock = (const T *)job->a_packed + p0 * job->m + i0 * kc;
        else job->pack_a(job, i0, mc, p0, kc, MR, apack);
        int zero = job->zero_start && p0 == 0;
        for (long jr = 0; jr < nc; jr += NR) {
            long w = nc - jr < NR ? nc - jr : NR;
            const T *strip_b;
            long bstride;
            if (bblock) {
                strip_b = bblock + (jr / NR) * kc * NR;
                bstride = NR;
            } else if (w == NR) {
                strip_b = b + p0 * job->b_rows + (j0 + jr);
                bstride = job->b_rows;
            } else {
                FN(pack_b)(kc, w, b + p0 * job->b_rows + (j0 + jr), job->b_rows, 1, NULL, 1, bpack);
                strip_b = bpack;
                bstride = NR;
            }
            int narrow = w <= VL;
            for (long ir = 0; ir < mc; ir += MR) {
                long h = mc - ir < MR ? mc - ir : MR;
                const T *panel = ablock + ir * kc;
                T *ct = c + (i0 + ir) * ldc + (j0 + jr);
                if (job->start_bias && p0 == 0) {
                    const T *bias = (const T *)job->start_bias + j0 + jr;
                    for (long i = 0; i < h; i++)
                        for (long j = 0; j < w; j++) ct[i * ldc + j] = bias[j];
                }
                if (w == NR || w == VL) {
                    struct FN(tile_epilogue) tile, *epi = NULL;
                    if (epilogue) {
                        long col = job->epilogue_col + j0 + jr;
                        tile.e = epilogue;
                        tile.shift = epilogue->shift ? (const T *)epilogue->shift + col : NULL;
                        tile.scale = tile.shift && epilogue->scale ? (const T *)epilogue->scale + col : NULL;
                        tile.residual = job->residual ? (const T *)job->residual + (i0 + ir) * ldc + (j0 + jr) : NULL;
                        epi = &tile;
                    }
                    FN(strip)(kc, h, narrow, panel, h, strip_b, bstride, ct, ldc, job->fused, zero, epi);
                } else {
                    // A partial strip through a full-width tile; its epilogue reads per-channel values
                    // and the residual copied beside it, zero-padded (the padded columns are dropped).
                    long width = narrow ? VL : NR;
                    for (long i = 0; i < h; i++)
                        for (long j = 0; j < width; j++) edge[i * width + j] = j < w ? ct[i * ldc + j] : 0;
                    struct FN(tile_epilogue) tile, *epi = NULL;
                    if (epilogue) {
                        long col = job->epilogue_col + j0 + jr;
                        tile.e = epilogue;
                        tile.scale = tile.shift = tile.residual = NULL;
                        if (epilogue->shift) {
                            for (long j = 0; j < width; j++) edge_shift[j] = j < w ? ((const T *)epilogue->shift)[col + j] : 0;
                            tile.shift = edge_shift;
                            if (epilogue->scale) {
                                for (long j = 0; j < width; j++) edge_scale[j] = j < w ? ((const T *)epilogue->scale)[col + j] : 0;
                                tile.scale = edge_scale;
                            }
                        }
                        if (job->residual) {
                            const T *rt = (const T *)job->residual + (i0 + ir) * ldc + (j0 + jr);
                            for (long i = 0; i < h; i++)
                                for (long j = 0; j < width; j++) edge_residual[i * width + j] = j < w ? rt[i * ldc + j] : 0;
                            tile.residual = edge_residual;
                        }
                        epi = &tile;
                    }
                    FN(strip)(kc, h, narrow, panel, h, strip_b, bstride, edge, width, job->fused, zero, epi);
                    for (long i = 0; i < h; i++)
                        for (long j = 0; j < w; j++) ct[i * ldc + j] = edge[i * width + j];
                }
            }
        }
    }
}

static void FN(run)(void *context, long index) {
    const struct gemm_job *job = (const struct gemm_job *)context;
    long tm = index / job->tasks_n, tn = index % job->tasks_n;
    long panels = ceil_div(job->m, MR), strips = ceil_div(job->n, NR);
    long i0 = tm * panels / job->tasks_m * MR, i1 = (tm + 1) * panels / job->tasks_m * MR;
    long j0 = tn * strips / job->tasks_n * NR, j1 = (tn + 1) * strips / job->tasks_n * NR;
    long mc = (i1 < job->m ? i1 : job->m) - i0;
    long nc = (j1 < job->n ? j1 : job->n) - j0;
    T *apack = job->a_packed ? NULL : (T *)gemm_scratch(0, sizeof(T) * (size_t)(job->mc + MR) * KC);
    T *bpack = job->b_packed ? NULL : (T *)gemm_scratch(1, sizeof(T) * (size_t)(job->nc + NR) * KC);
    FN(task)(job, i0, mc, j0, nc, apack, bpack);
}

// Packs all of b once, shared by every task: per KC block, strips of NR columns over the full width.
static void FN(prepack)(void *context, long index) {
    const struct gemm_job *job = (const struct gemm_job *)context;
    long p0 = index * KC, kc = job->k - p0 < KC ? job->k - p0 : KC;
    if (job->b_row_offset)
        FN(pack_b)(kc, job->n, (const T *)job->b, 0, job->b_cols, job->b_row_offset + p0, job->b_row_visit,
                   (T *)job->b_packed + p0 * job->b_packed_width);
    else
        FN(pack_b)(kc, job->n, (const T *)job->b + p0 * job->b_rows, job->b_rows, job->b_cols, NULL, 1,
                   (T *)job->b_packed + p0 * job->b_packed_width);
}

// Packs a once, shared by the tasks of each row range: KC block `index / tasks_m` of row range
// `index % tasks_m` (the tasks' own ranges, MR-aligned), block p0 at p0·m, its rows at i0·kc within.
static void FN(prepack_a)(void *context, long index) {
    const struct gemm_job *job = (const struct gemm_job *)context;
    long block = index / job->tasks_m, tm = index % job->tasks_m;
    long p0 = block * KC, kc = job->k - p0 < KC ? job->k - p0 : KC;
    long panels = ceil_div(job->m, MR);
    long i0 = tm * panels / job->tasks_m * MR, i1 = (tm + 1) * panels / job->tasks_m * MR;
    long mc = (i1 < job->m ? i1 : job->m) - i0;
    if (mc > 0) job->pack_a(job, i0, mc, p0, kc, MR, (T *)job->a_packed + p0 * job->m + i0 * kc);
}

static void FN(gemm)(struct gemm_job *job) {
    gemm_plan(job, MR, NR, MC, NC);
    long tasks = job->tasks_m * job->tasks_n;
    void *shared = NULL;
    if (!job->b_packed && !job->b_in_place && job->tasks_m > 1 && job->k * job->n <= GEMM_PREPACK_LIMIT / (long)sizeof(T)) {
        job->b_packed_width = (job->n + NR - 1) / NR * NR;
        shared = aligned_alloc(64, ((size_t)job->k * (size_t)job->b_packed_width * sizeof(T) + 63) / 64 * 64);
        if (!shared) abort();
        job->b_packed = shared;
        long blocks = (job->k + KC - 1) / KC;
        if (job->serial) {
            for (long t = 0; t < blocks; t++) FN(prepack)(job, t);
        } else {
            parity_parallel_for(blocks, FN(prepack), job);
        }
    }
    // Tasks splitting the columns would each pack the same rows of a (a convolution's im2col): when
    // several do, pack a once first, in parallel. An exact copy, the tasks' sums unchanged.
    void *shared_a = NULL;
    if (!job->serial && job->tasks_n > 1 && job->m * job->k <= GEMM_PREPACK_LIMIT / (long)sizeof(T)) {
        shared_a = aligned_alloc(64, ((size_t)job->m * (size_t)job->k * sizeof(T) + 63) / 64 * 64);
        if (!shared_a) abort();
        job->a_packed = shared_a;
        parity_parallel_for((job->k + KC - 1) / KC * job->tasks_m, FN(prepack_a), job);
    }
    if (job->serial) {
        for (long t = 0; t < tasks; t++) FN(run)(job, t);
    } else {
        parity_parallel_for(tasks, FN(run), job);
    }
    free(shared);
    free(shared_a);
    job->a_packed = NULL;
}

// The width of b packed whole (n rounded up to whole strips) on this level.
static long FN(packed_width)(long n) { return (n + NR - 1) / NR * NR; }

// Packs all of the job's b into `out` (k × packed_width(n) values), the layout `prepack` shares
// between the tasks of one call, for a job to read later through `b_packed` (weights packed once
// and kept). The KC blocks in parallel.
static void FN(pack_b_whole)(struct gemm_job *job, T *out) {
    job->b_packed_width = FN(packed_width)(job->n);
    job->b_packed = out;
    parity_parallel_for((job->k + KC - 1) / KC, FN(prepack), job);
    job->b_packed = NULL;
}

// `c[m, strips·STRIP] = (zero ? +0 : c) + a[m, k]·b` on the calling thread, b packed by `parity_pack_strips_*`
// (strips of STRIP columns, each k rows of STRIP values): each STRIP-wide strip runs as STRIP / NR passes
// of the micro-kernel over the whole depth. For a few rows against weights packed once and read many
// times (a recurrent step).
static void FN(gemm_strips)(long m, long strips, long k, const T *a, long lda, const T *packed, T *c, long ldc, int fused,
                            int zero) {
    struct gemm_job job;
    memset(&job, 0, sizeof job);
    job.a = a;
    job.a_rows = lda;
    job.a_cols = 1;
    T *apack = (T *)gemm_scratch(0, sizeof(T) * (size_t)(m + MR) * (size_t)k);
    PACK_A_FN(&job, 0, m, 0, k, MR, apack);
    for (long s = 0; s < strips; s++) {
        const T *strip_b = packed + s * k * STRIP;
        for (long half = 0; half < STRIP; half += NR) {
            for (long ir = 0; ir < m; ir += MR) {
                long h = m - ir < MR ? m - ir : MR;
                FN(strip)(k, h, 0, apack + ir * k, h, strip_b + half, STRIP, c + ir * ldc + s * STRIP + half, ldc, fused, zero, NULL);
            }
        }
    }
}

#undef FN
#undef UKR
#undef UKR_DEFINE
#undef NR
