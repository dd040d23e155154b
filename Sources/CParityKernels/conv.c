// Convolution: depthwise directly (depthwise_template.h), everything else as a GEMM whose left
// operand is packed straight from the image (im2col done panel by panel while packing, never
// materialised); 1×1 stride-1 convolutions are a plain GEMM on the image.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

#pragma clang fp contract(off)

#define CONV_PACK_MAX_MR 16  // the tallest register tile of any level (12 on AVX-512)

// What the im2col packer reads: the shape, the image, the group's first channel, each window
// cell's offset along every spatial axis, and `per_group` zeros (read for padded cells).
struct conv_pack {
    const parity_conv_shape *shape;
    const void *x, *zeros;
    long channel0, per_group, window;
    const long *cell;   // window × 3 (0 on the axes past the rank)
};

// Output positions × (window · channels-per-group) entries of the patch matrix, packed in panels of
// `mr` rows as gemm_template.h expects; padded cells are 0. Per window cell, each row's run of
// channels is read contiguously and written to the cell's columns of the block: consecutive columns
// ((cell, channel) order) or every `window`-th column ((channel, cell) order); four rows × four
// channels at a time as a 4 × 4 transpose through vector shuffles. An exact copy.
#define CONV_PACK(T, name)                                                                                  \
    typedef T name##_x4 __attribute__((vector_size(4 * sizeof(T)), aligned(sizeof(T))));                    \
    static void name(const struct gemm_job *job, long i0, long rows, long p0, long kc, long mr, void *output) { \
        const struct conv_pack *cp = (const struct conv_pack *)job->pack_context;                           \
        const parity_conv_shape *s = cp->shape;                                                             \
        const T *x = (const T *)cp->x, *zeros = (const T *)cp->zeros;                                       \
        T *out = (T *)output;                                                                               \
        long window = cp->window, per_group = cp->per_group, C = s->channels, p1 = p0 + kc;                 \
        /* Every row's window origin (output position · stride − padding) per axis, three axes with */     \
        /* the unused ones of size 1 at 0, so a cell's input offset is a few adds and two compares. */     \
        /* A row whose whole window lies inside the input (`interior`) reads cell k at its window's */     \
        /* offset plus the cell's (offsets are linear in the coordinates); others check each cell.   */     \
        long base[CONV_PACK_MAX_MR], origin[CONV_PACK_MAX_MR][3], row_offset[CONV_PACK_MAX_MR];            \
        int interior[CONV_PACK_MAX_MR];                                                                     \
        unsigned long in[3] = {1, 1, 1};                                                                    \
        long extent[3] = {1, 1, 1};                                                                         \
        for (long d = 0; d < s->rank; d++) {                                                                \
            in[d] = (unsigned long)s->input[d];                                                             \
            extent[d] = (s->kernel[d] - 1) * s->dilations[d] + 1;                                           \
        }                                                                                                   \
        const T *src[CONV_PACK_MAX_MR];                                                                     \
        if (mr > CONV_PACK_MAX_MR) abort();                                                                 \
        for (long r0 = 0; r0 < rows; r0 += mr) {                                                            \
            long h = rows - r0 < mr ? rows - r0 : mr;                                                       \
            for (long i = 0; i < h; i++) {                                                                  \
                long rest = i0 + r0 + i;                                                                    \
                origin[i][0] = origin[i][1] = origin[i][2] = 0;                                             \
                for (long d = s->rank - 1; d >= 0; d--) {                                                   \
                    origin[i][d] = (rest % s->output[d]) * s->strides[d] - s->pad_before[d];                \
                    rest /= s->output[d];                                                                   \
                }                                                                                           \
                base[i] = rest;                                                                             \
                interior[i] = 1;                                                                            \
                for (long d = 0; d < 3; d++)                                                                \
                    interior[i] = interior[i] && origin[i][d] >= 0 && origin[i][d] + extent[d] <= (long)in[d]; \
                row_offset[i] = (((base[i] * (long)in[0] + origin[i][0]) * (long)in[1] + origin[i][1]) * (long)in[2] + origin[i][2]) * C \
                                + cp->channel0;                                                             \
            }                                                                                               \
            for (long cell = 0; cell < window; cell++) {                                                    \
                long c0, c1, first, step;  /* channels [c0, c1): column first + (c − c0)·step/h */         \
                if (s->channels_then_window) {                                                              \
                    c0 = p0 - cell <= 0 ? 0 : (p0 - cell + window - 1) / window;                            \
                    c1 = p1 - cell <= 0 ? 0 : (p1 - cell + window - 1) / window;                            \
                    if (c1 > per_group) c1 = per_group;                                                     \
                    first = c0 * window + cell;                                                             \
                    step = window * h;                                                                      \
                } else {                                                                                    \
                    long start = cell * per_group;                                                          \
                    c0 = p0 - start > 0 ? p0 - start : 0;                                                   \
                    c1 = p1 - start < per_group ? p1 - start : per_group;                                   \
                    first = start + c0;                                                                     \
                    step = h;                                                                               \
                }                                                                                           \
                if (c0 >= c1) continue;                                                                     \
                long k0 = cp->cell[cell * 3], k1 = cp->cell[cell * 3 + 1], k2 = cp->cell[cell * 3 + 2];     \
                long cell_offset = ((k0 * (long)in[1] + k1) * (long)in[2] + k2) * C;                        \
                for (long i = 0; i < h; i++) {                                                              \
                    if (interior[i]) {                                                                      \
                        src[i] = x + row_offset[i] + cell_offset;                                           \
                        continue;                                                                           \
                    }                                                                                       \
                    long q0 = origin[i][0] + k0, q1 = origin[i][1] + k1, q2 = origin[i][2] + k2;            \
                    int inside = (unsigned long)q0 < in[0] && (unsigned long)q1 < in[1] && (unsigned long)q2 < in[2]; \
                    src[i] = inside ? x + (((base[i] * (long)in[0] + q0) * (long)in[1] + q1) * (long)in[2] + q2) * C + cp->channel0 \
                                    : zeros;                                                                \
                }                                                                                           \
                T *o = out + (first - p0) * h;                                                              \
                long i = 0;                                                                                 \
                for (; i + 4 <= h; i += 4) {                                                                \
                    const T *s0 = src[i], *s1 = src[i + 1], *s2 = src[i + 2], *s3 = src[i + 3];             \
                    T *oi = o + i;                                                                          \
                    long c = c0;                                                                            \
                    for (; c + 4 <= c1; c += 4, oi += 4 * step) {                                           \
                        name##_x4 r0v = *(const name##_x4 *)(s0 + c), r1v = *(const name##_x4 *)(s1 + c);   \
                        name##_x4 r2v = *(const name##_x4 *)(s2 + c), r3v = *(const name##_x4 *)(s3 + c);   \
                        name##_x4 t0 = __builtin_shufflevector(r0v, r1v, 0, 4, 1, 5);                        \
                        name##_x4 t1 = __builtin_shufflevector(r0v, r1v, 2, 6, 3, 7);                        \
                        name##_x4 t2 = __builtin_shufflevector(r2v, r3v, 0, 4, 1, 5);                        \
                        name##_x4 t3 = __builtin_shufflevector(r2v, r3v, 2, 6, 3, 7);                        \
                        *(name##_x4 *)oi = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);                      \
                        *(name##_x4 *)(oi + step) = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);             \
                        *(name##_x4 *)(oi + 2 * step) = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);         \
                        *(name##_x4 *)(oi + 3 * step) = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);         \
                    }                                                                                       \
                    for (; c < c1; c++, oi += step) {                                                       \
                        oi[0] = s0[c]; oi[1] = s1[c]; oi[2] = s2[c]; oi[3] = s3[c];                         \
                    }                                                                                       \
                }                                                                                           \
                for (; i < h; i++) {                                                                        \
                    T *oi = o + i;                                                                          \
                    for (long c = c0; c < c1; c++, oi += step) *oi = src[i][c];                             \
                }                                                                                           \
            }                                                                                               \
            out += h * kc;                                                                                  \
        }                                                                                                   \
    }
CONV_PACK(float, conv_pack_f32)
CONV_PACK(double, conv_pack_f64)

// Whether the patch matrix's rows run channels then window cells in an order other than the
// kernel's own (window cells then channels): more than one cell and more than one channel per group.
static int conv_reorders(const parity_conv_shape *s, long window, long per_group) {
    return s->channels_then_window && window > 1 && per_group > 1;
}

// Whether a convolution runs the direct depthwise kernel rather than the GEMM: one input and one
// output channel per group, at most 64 window cells.
static int conv_depthwise(long per_group, long out_per_group, long window) {
    return per_group == 1 && out_per_group == 1 && window <= 64;
}

// The kernel's rows in (channel, window cell) order: row c·window + k of the patch matrix is kernel
// row k·per_group + c (offsets in elements), or NULL when that is the kernel's own order.
static long *conv_row_order(const parity_conv_shape *s, long window, long per_group) {
    if (!conv_reorders(s, window, per_group)) return NULL;
    long *order = malloc(sizeof(long) * (size_t)(window * per_group));
    if (!order) abort();
    for (long c = 0; c < per_group; c++)
        for (long k = 0; k < window; k++) order[c * window + k] = (k * per_group + c) * s->out_channels;
    return order;
}

static int conv_shape_valid(const parity_conv_shape *s) {
    return s->rank >= 1 && s->rank <= 3 && s->groups >= 1 && s->channels % s->groups == 0 && s->out_channels % s->groups == 0;
}

// MARK: Kernels packed once (parity_kept_packs)

// What a packed kernel's layout depends on besides the level: element size, groups, channels and
// window per group, output channels per group, the term order (for more than one cell and channel).
// All longs: no padding, compared as bytes.
struct conv_key {
    long element, groups, per_group, out_per_group, window, order;
};

static struct conv_key conv_key_of(const parity_conv_shape *s, long element) {
    struct conv_key key = {element, s->groups, s->channels / s->groups, s->out_channels / s->groups, 1, 0};
    for (long d = 0; d < s->rank; d++) key.window *= s->kernel[d];
    key.order = conv_reorders(s, key.window, key.per_group);
    return key;
}

// Whether the convolution runs through the GEMM (not the depthwise kernel, not empty): what a kept
// pack serves (CONV_IMPL's choice).
static int conv_uses_gemm(const struct conv_key *k) {
    return k->window > 0 && k->per_group > 0 && k->out_per_group > 0 && !conv_depthwise(k->per_group, k->out_per_group, k->window);
}

// What a kernel pack is filled from.
struct conv_kernel_source {
    const parity_conv_shape *shape;
    const void *kernel;
};

// The active level's pack of `w` for shape `s` (kept_pack_get); NULL when the convolution runs no
// GEMM, or `packs` holds this level's pack of another geometry (then the call packs as usual).
static const struct kept_pack *conv_kept_for(parity_kept_packs *packs, const parity_conv_shape *s, long element,
                                             long (*width_of)(parity_isa, long), const void *w,
                                             void (*fill)(struct kept_pack *, const void *)) {
    struct conv_key key = conv_key_of(s, element);
    if (!conv_uses_gemm(&key)) return NULL;
    struct conv_kernel_source source = {s, w};
    return kept_pack_get(packs, &key, sizeof key, element, key.groups * key.window * key.per_group, key.out_per_group,
                         width_of, fill, &source);
}

struct depthwise_task {
    const struct depthwise_job *job;
    long rows, chunk;
    void (*run)(const struct depthwise_job *, long, long);
};

static void depthwise_chunk(void *context, long index) {
    const struct depthwise_task *task = (const struct depthwise_task *)context;
    long row0 = index * task->chunk, row1 = row0 + task->chunk < task->rows ? row0 + task->chunk : task->rows;
    task->run(task->job, row0, row1);
}

#define CONV_IMPL(T, SUF)                                                                                   \
    /* `kept`: the kernel packed earlier for this shape on the active level (conv_kept_for), or NULL. */   \
    static int conv_##SUF(const parity_conv_shape *s, const T *x, const T *w, const struct kept_pack *kept, T *y, int fused, \
                          const parity_epilogue *epilogue) {                                                \
        long positions = 1, window = 1;                                                                     \
        for (long d = 0; d < s->rank; d++) {                                                                \
            positions *= s->output[d];                                                                      \
            window *= s->kernel[d];                                                                         \
        }                                                                                                   \
        long rows = s->batch * positions, per_group = s->channels / s->groups;                              \
        long out_per_group = s->out_channels / s->groups;                                                   \
        if (rows <= 0 || s->out_channels <= 0) return 0;                                                    \
        if (window <= 0 || per_group <= 0) {  /* no terms: zeros, and an epilogue is left to the caller */  \
            memset(y, 0, sizeof(T) * (size_t)(rows * s->out_channels));                                     \
            return epilogue ? -1 : 0;                                                                       \
        }                                                                                                   \
        long *cell = malloc(sizeof(long) * 3 * (size_t)window);                                             \
        if (!cell) abort();                                                                                 \
        for (long k = 0; k < window; k++) {                                                                 \
            long rest = k;                                                                                  \
            cell[k * 3] = cell[k * 3 + 1] = cell[k * 3 + 2] = 0;  /* axes past the rank: 0 */               \
            for (long d = s->rank - 1; d >= 0; d--) {                                                       \
                cell[k * 3 + d] = (rest % s->kernel[d]) * s->dilations[d];                                  \
                rest /= s->kernel[d];                                                                       \
            }                                                                                               \
        }                                                                                                   \
        int unit = window == 1;                                                                             \
        for (long d = 0; d < s->rank; d++)                                                                  \
            unit = unit && s->strides[d] == 1 && s->pad_before[d] == 0 && s->output[d] == s->input[d];      \
        if (conv_depthwise(per_group, out_per_group, window)) {                                             \
            struct depthwise_job job;                                                                       \
            memset(&job, 0, sizeof job);                                                                    \
            T *zeros = calloc((size_t)s->channels, sizeof(T));                                              \
            if (!zeros) abort();                                                                            \
            job.shape = s; job.x = x; job.w = w; job.y = y; job.zeros = zeros;                              \
            job.window = window; job.fused = fused != 0; job.epilogue = epilogue;                          \
            memcpy(job.cell, cell, sizeof(long) * 3 * (size_t)window);                                      \
            struct depthwise_task task = {&job, rows, 0, depthwise_run_##SUF};                              \
            long work = s->channels * window;                                                               \
            task.chunk = work >= 32768 ? 1 : 32768 / work;                                                  \
            parity_parallel_for((rows + task.chunk - 1) / task.chunk, depthwise_chunk, &task);              \
            free(zeros);                                                                                    \
        } else {                                                                                            \
            long depth = window * per_group;                                                                \
            T *zeros = calloc((size_t)per_group, sizeof(T));                                               \
            if (!zeros) abort();                                                                            \
            /* Channels then window: the kernel's rows are read in (c, k) order through a row table  */     \
            /* while packing (row c·window + k of the patch matrix is kernel row k·per_group + c).  */     \
            long *order = kept ? NULL : conv_row_order(s, window, per_group);                               \
            for (long g = 0; g < s->groups; g++) {                                                          \
                struct gemm_job job;                                                                        \
                gemm_prepare_##SUF(&job, rows, out_per_group, depth, x + g * per_group, s->channels, 1,     \
                                   w + g * out_per_group, s->out_channels, 1, y + g * out_per_group, s->out_channels, fused); \
                job.zero_start = 1;  /* every output is written; its sum starts from +0 */                  \
                job.b_row_offset = order;                                                                   \
                job.b_row_visit = order ? window : 1;                                                       \
                job.epilogue = epilogue;                                                                    \
                job.epilogue_col = g * out_per_group;                                                       \
                job.residual = epilogue && epilogue->residual ? (const T *)epilogue->residual + g * out_per_group : NULL; \
                if (kept) {                                                                                 \
                    job.b_packed = (T *)kept->data + g * depth * kept->width;                               \
                    job.b_packed_width = kept->width;                                                       \
                }                                                                                           \
                struct conv_pack pack = {s, x, zeros, g * per_group, per_group, window, cell};              \
                if (!unit) {                                                                                \
                    job.pack_a = conv_pack_##SUF;                                                           \
                    job.pack_context = &pack;                                                               \
                }                                                                                           \
                gemm_run_##SUF(&job);                                                                       \
            }                                                                                               \
            free(order);                                                                                    \
            free(zeros);                                                                                    \
        }                                                                                                   \
        free(cell);                                                                                         \
        return 0;                                                                                           \
    }                                                                                                       \
    int parity_conv_##SUF(const parity_conv_shape *s, const T *x, const T *w, T *y, int fused, const parity_epilogue *epilogue) { \
        if (!conv_shape_valid(s)) return -1;                                                                \
        return conv_##SUF(s, x, w, NULL, y, fused, epilogue);                                               \
    }                                                                                                       \
    /* Packs each group's kernel matrix as its GEMM job reads it (the row table for (c, k) order). */       \
    static void conv_pack_kernel_##SUF(struct kept_pack *kept, const void *from) {                       \
        const struct conv_kernel_source *source = (const struct conv_kernel_source *)from;                 \
        const parity_conv_shape *s = source->shape;                                                         \
        const T *w = (const T *)source->kernel;                                                             \
        struct conv_key key = conv_key_of(s, sizeof(T));                                                    \
        long depth = key.window * key.per_group, out_per_group = key.out_per_group;                         \
        long *order = conv_row_order(s, key.window, key.per_group);                                         \
        for (long g = 0; g < s->groups; g++) {                                                              \
            struct gemm_job job;                                                                            \
            gemm_prepare_##SUF(&job, 1, out_per_group, depth, NULL, 0, 1, w + g * out_per_group, s->out_channels, 1, NULL, 0, 0); \
            job.b_row_offset = order;                                                                       \
            job.b_row_visit = order ? key.window : 1;                                                       \
            gemm_pack_b_##SUF(kept->level, &job, (T *)kept->data + g * depth * kept->width);                \
        }                                                                                                   \
        free(order);                                                                                        \
    }                                                                                                       \
    int parity_conv_kept_##SUF(const parity_conv_shape *s, const T *x, const T *w, parity_kept_packs *packs, T *y, \
                               int fused, const parity_epilogue *epilogue) {                                \
        if (!conv_shape_valid(s)) return -1;                                                                \
        const struct kept_pack *kept =                                                                      \
            packs ? conv_kept_for(packs, s, sizeof(T), gemm_packed_width_##SUF, w, conv_pack_kernel_##SUF) : NULL; \
        return conv_##SUF(s, x, w, kept, y, fused, epilogue);                                               \
    }
CONV_IMPL(float, f32)
CONV_IMPL(double, f64)
