// Convolution: depthwise directly (depthwise_template.h), everything else as a GEMM whose left
// operand is packed straight from the image (im2col done panel by panel while packing, never
// materialised); 1×1 stride-1 convolutions are a plain GEMM on the image.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

#pragma clang fp contract(off)

// What the im2col packer reads: the shape, the image, the group's first channel, and each window
// cell's offset along every spatial axis.
struct conv_pack {
    const parity_conv_shape *shape;
    const void *x;
    long channel0, per_group, window;
    const long *cell;   // window × 3
};

// Output positions × (window · channels-per-group) entries of the patch matrix, packed in panels of
// `mr` rows as gemm_template.h expects; padded cells are 0.
#define CONV_PACK(T, name)                                                                                  \
    static void name(const struct gemm_job *job, long i0, long rows, long p0, long kc, long mr, void *output) { \
        const struct conv_pack *cp = (const struct conv_pack *)job->pack_context;                           \
        const parity_conv_shape *s = cp->shape;                                                             \
        const T *x = (const T *)cp->x;                                                                      \
        T *out = (T *)output;                                                                               \
        long window = cp->window, per_group = cp->per_group, C = s->channels;                               \
        const T *stack_table[256 * 16];                                                                     \
        const T **table = window * mr <= 256 * 16 ? stack_table : malloc(sizeof(T *) * (size_t)(window * mr)); \
        if (!table) abort();                                                                                \
        for (long r0 = 0; r0 < rows; r0 += mr) {                                                            \
            long h = rows - r0 < mr ? rows - r0 : mr;                                                       \
            for (long i = 0; i < h; i++) {                                                                  \
                long rest = i0 + r0 + i, pos[3] = {0, 0, 0};                                                \
                for (long d = s->rank - 1; d >= 0; d--) {                                                   \
                    pos[d] = rest % s->output[d];                                                           \
                    rest /= s->output[d];                                                                   \
                }                                                                                           \
                for (long cell = 0; cell < window; cell++) {                                                \
                    long offset = rest;                                                                     \
                    int inside = 1;                                                                         \
                    for (long d = 0; d < s->rank; d++) {                                                    \
                        long q = pos[d] * s->strides[d] + cp->cell[cell * 3 + d] - s->pad_before[d];        \
                        if (q < 0 || q >= s->input[d]) { inside = 0; break; }                               \
                        offset = offset * s->input[d] + q;                                                  \
                    }                                                                                       \
                    table[cell * h + i] = inside ? x + offset * C + cp->channel0 : NULL;                    \
                }                                                                                           \
            }                                                                                               \
            for (long p = 0; p < kc; p++) {                                                                 \
                long column = p0 + p, cell, c;                                                              \
                if (s->channels_then_window) { c = column / window; cell = column % window; }               \
                else { cell = column / per_group; c = column % per_group; }                                 \
                const T **t = table + cell * h;                                                             \
                T *o = out + p * h;                                                                         \
                for (long i = 0; i < h; i++) o[i] = t[i] ? t[i][c] : 0;                                     \
            }                                                                                               \
            out += h * kc;                                                                                  \
        }                                                                                                   \
        if (table != stack_table) free(table);                                                              \
    }
CONV_PACK(float, conv_pack_f32)
CONV_PACK(double, conv_pack_f64)

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
    int parity_conv_##SUF(const parity_conv_shape *s, const T *x, const T *w, T *y, int fused) {            \
        if (s->rank < 1 || s->rank > 3 || s->groups < 1 || s->channels % s->groups || s->out_channels % s->groups) \
            return -1;                                                                                      \
        long positions = 1, window = 1;                                                                     \
        for (long d = 0; d < s->rank; d++) {                                                                \
            positions *= s->output[d];                                                                      \
            window *= s->kernel[d];                                                                         \
        }                                                                                                   \
        long rows = s->batch * positions, per_group = s->channels / s->groups;                              \
        long out_per_group = s->out_channels / s->groups;                                                   \
        if (rows <= 0 || s->out_channels <= 0) return 0;                                                    \
        memset(y, 0, sizeof(T) * (size_t)(rows * s->out_channels));                                         \
        if (window <= 0 || per_group <= 0) return 0;                                                        \
        long *cell = malloc(sizeof(long) * 3 * (size_t)window);                                             \
        if (!cell) abort();                                                                                 \
        for (long k = 0; k < window; k++) {                                                                 \
            long rest = k;                                                                                  \
            for (long d = s->rank - 1; d >= 0; d--) {                                                       \
                cell[k * 3 + d] = (rest % s->kernel[d]) * s->dilations[d];                                  \
                rest /= s->kernel[d];                                                                       \
            }                                                                                               \
        }                                                                                                   \
        int unit = window == 1;                                                                             \
        for (long d = 0; d < s->rank; d++)                                                                  \
            unit = unit && s->strides[d] == 1 && s->pad_before[d] == 0 && s->output[d] == s->input[d];      \
        if (per_group == 1 && out_per_group == 1 && window <= 64) {                                         \
            struct depthwise_job job;                                                                       \
            memset(&job, 0, sizeof job);                                                                    \
            T *zeros = calloc((size_t)s->channels, sizeof(T));                                              \
            if (!zeros) abort();                                                                            \
            job.shape = s; job.x = x; job.w = w; job.y = y; job.zeros = zeros;                              \
            job.window = window; job.fused = fused != 0;                                                    \
            memcpy(job.cell, cell, sizeof(long) * 3 * (size_t)window);                                      \
            struct depthwise_task task = {&job, rows, 0, depthwise_run_##SUF};                              \
            long work = s->channels * window;                                                               \
            task.chunk = work >= 32768 ? 1 : 32768 / work;                                                  \
            parity_parallel_for((rows + task.chunk - 1) / task.chunk, depthwise_chunk, &task);              \
            free(zeros);                                                                                    \
        } else {                                                                                            \
            long depth = window * per_group;                                                                \
            /* Channels then window: the kernel's rows are read in (c, k) order through a row table  */     \
            /* while packing (row c·window + k of the patch matrix is kernel row k·per_group + c).  */     \
            long *order = NULL;                                                                             \
            if (s->channels_then_window && window > 1 && per_group > 1) {                                   \
                order = malloc(sizeof(long) * (size_t)depth);                                               \
                if (!order) abort();                                                                        \
                for (long c = 0; c < per_group; c++)                                                        \
                    for (long k = 0; k < window; k++) order[c * window + k] = (k * per_group + c) * s->out_channels; \
            }                                                                                               \
            for (long g = 0; g < s->groups; g++) {                                                          \
                struct gemm_job job;                                                                        \
                gemm_prepare_##SUF(&job, rows, out_per_group, depth, x + g * per_group, s->channels, 1,     \
                                   w + g * out_per_group, s->out_channels, 1, y + g * out_per_group, s->out_channels, fused); \
                job.b_row_offset = order;                                                                   \
                struct conv_pack pack = {s, x, g * per_group, per_group, window, cell};                     \
                if (!unit) {                                                                                \
                    job.pack_a = conv_pack_##SUF;                                                           \
                    job.pack_context = &pack;                                                               \
                }                                                                                           \
                gemm_run_##SUF(&job);                                                                       \
            }                                                                                               \
            free(order);                                                                                    \
        }                                                                                                   \
        free(cell);                                                                                         \
        return 0;                                                                                           \
    }
CONV_IMPL(float, f32)
CONV_IMPL(double, f64)
