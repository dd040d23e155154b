// Strided copies: axis permutations (transposes, NCHW ↔ NHWC) and broadcasts, for any element size.
#include "CParityKernels.h"
#include <stdint.h>
#include <string.h>

enum { TILE = 16, MAX_RANK = 16 };

struct copy_job {
    long size;                  // element size in bytes
    int rank;                   // after collapsing, ≥ 1
    long shape[MAX_RANK];       // output shape
    long strides[MAX_RANK];     // source stride (elements) per output axis
    long out_strides[MAX_RANK]; // output strides (elements), row-major
    int unit;                   // output axis whose source stride is 1 (tiled transpose), or -1
    long rows;                  // tasks: product of the axes other than the last (and `unit`), × unit tiles
    long unit_tiles;
    long chunk;                 // rows per parallel task
    const char *src;
    char *dst;
};

static inline void copy_element(char *dst, const char *src, long size) {
    switch (size) {
    case 1: *dst = *src; break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, (size_t)size); break;
    }
}

// The source and output offsets of the first element of outer row `row` (all axes but the last and
// `unit` fixed by `row`, those two at 0).
static void row_offsets(const struct copy_job *job, long row, long *src, long *dst) {
    long s = 0, d = 0;
    for (int axis = job->rank - 2; axis >= 0; axis--) {
        if (axis == job->unit) continue;
        long coordinate = row % job->shape[axis];
        row /= job->shape[axis];
        s += coordinate * job->strides[axis];
        d += coordinate * job->out_strides[axis];
    }
    *src = s;
    *dst = d;
}

typedef uint32_t u32x4 __attribute__((vector_size(16), aligned(4)));
typedef uint64_t u64x4 __attribute__((vector_size(32), aligned(8)));

// Output rows i..i+3 (along `unit`), columns j..j+3: source element (i + a, j + b) is at
// (src + i + a + (j + b)·stride), output at (dst + (i + a)·du + j + b).
#define TRANSPOSE4(V, E, job, src, dst, i, j, stride, du)                                               \
    do {                                                                                                \
        const E *s_ = (const E *)(job)->src + (src) + (i) + (j) * (stride);                             \
        E *d_ = (E *)(job)->dst + (dst) + (i) * (du) + (j);                                             \
        V r0 = *(const V *)s_, r1 = *(const V *)(s_ + (stride));                                        \
        V r2 = *(const V *)(s_ + 2 * (stride)), r3 = *(const V *)(s_ + 3 * (stride));                   \
        V t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5), t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7); \
        V t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5), t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7); \
        *(V *)d_ = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);                                         \
        *(V *)(d_ + (du)) = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);                                \
        *(V *)(d_ + 2 * (du)) = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);                            \
        *(V *)(d_ + 3 * (du)) = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);                            \
    } while (0)

static void copy_row(const struct copy_job *job, long task) {
    int last = job->rank - 1;
    long n = job->shape[last], stride = job->strides[last], size = job->size;
    if (job->unit < 0) {
        long src, dst;
        row_offsets(job, task, &src, &dst);
        const char *s = job->src + src * size;
        char *d = job->dst + dst * size;
        if (stride == 1) {
            memcpy(d, s, (size_t)(n * size));
        } else if (size == 4) {
            for (long j = 0; j < n; j++) memcpy(d + j * 4, s + j * stride * 4, 4);
        } else if (size == 8) {
            for (long j = 0; j < n; j++) memcpy(d + j * 8, s + j * stride * 8, 8);
        } else {
            for (long j = 0; j < n; j++) copy_element(d + j * size, s + j * stride * size, size);
        }
        return;
    }
    // Tiled transpose between `unit` (source-contiguous) and the last output axis (output-contiguous).
    long row = task / job->unit_tiles, tile = task % job->unit_tiles;
    long src, dst;
    row_offsets(job, row, &src, &dst);
    long u = job->unit, nu = job->shape[u], du = job->out_strides[u];
    long i0 = tile * TILE, i1 = i0 + TILE < nu ? i0 + TILE : nu;
    for (long j0 = 0; j0 < n; j0 += TILE) {
        long j1 = j0 + TILE < n ? j0 + TILE : n;
        // Whole 4 × 4 blocks of 4- and 8-byte elements through vector shuffles (bits moved, never
        // converted); the rest element by element.
        long i4 = i0;
        if (size == 4 || size == 8) {
            long ib = i0 + (i1 - i0) / 4 * 4, jb = j0 + (j1 - j0) / 4 * 4;
            for (long i = i0; i < ib; i += 4) {
                for (long j = j0; j < jb; j += 4) {
                    if (size == 4) TRANSPOSE4(u32x4, uint32_t, job, src, dst, i, j, stride, du);
                    else TRANSPOSE4(u64x4, uint64_t, job, src, dst, i, j, stride, du);
                }
            }
            // Left: columns [jb, j1) of rows [i0, ib), and rows [ib, i1) whole.
            for (long i = i0; i < ib; i++) {
                const char *s = job->src + (src + i) * size;
                char *d = job->dst + (dst + i * du) * size;
                for (long j = jb; j < j1; j++) copy_element(d + j * size, s + j * stride * size, size);
            }
            i4 = ib;
        }
        for (long i = i4; i < i1; i++) {
            const char *s = job->src + (src + i) * size;
            char *d = job->dst + (dst + i * du) * size;
            if (size == 4) {
                for (long j = j0; j < j1; j++) memcpy(d + j * 4, s + j * stride * 4, 4);
            } else if (size == 8) {
                for (long j = j0; j < j1; j++) memcpy(d + j * 8, s + j * stride * 8, 8);
            } else {
                for (long j = j0; j < j1; j++) copy_element(d + j * size, s + j * stride * size, size);
            }
        }
    }
}

static void copy_chunk(void *context, long chunk) {
    const struct copy_job *job = (const struct copy_job *)context;
    long end = (chunk + 1) * job->chunk < job->rows ? (chunk + 1) * job->chunk : job->rows;
    for (long t = chunk * job->chunk; t < end; t++) copy_row(job, t);
}

int parity_strided_copy(long size, int rank, const long *shape, const long *strides, const void *src, void *dst) {
    struct copy_job job;
    memset(&job, 0, sizeof job);
    job.size = size;
    job.src = (const char *)src;
    job.dst = (char *)dst;
    long count = 1;
    for (int i = 0; i < rank; i++) count *= shape[i];
    if (count == 0) return 0;
    // Collapse: drop size-1 axes, merge an axis into the next when the source walks them as one.
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (shape[i] == 1) continue;
        if (r > 0 && job.strides[r - 1] == strides[i] * shape[i]) {
            job.shape[r - 1] *= shape[i];
            job.strides[r - 1] = strides[i];
            continue;
        }
        if (r == MAX_RANK) return -1;
        job.shape[r] = shape[i];
        job.strides[r] = strides[i];
        r++;
    }
    if (r == 0) {
        copy_element(job.dst, job.src, size);
        return 0;
    }
    job.rank = r;
    long stride = 1;
    for (int i = r - 1; i >= 0; i--) {
        job.out_strides[i] = stride;
        stride *= job.shape[i];
    }
    job.unit = -1;
    if (job.strides[r - 1] != 1 && job.shape[r - 1] >= 4)
        for (int i = 0; i < r - 1; i++)
            if (job.strides[i] == 1 && job.shape[i] >= 4) job.unit = i;
    long rows = count / job.shape[r - 1];
    if (job.unit >= 0) {
        rows /= job.shape[job.unit];
        job.unit_tiles = (job.shape[job.unit] + TILE - 1) / TILE;
        rows *= job.unit_tiles;
    }
    job.rows = rows;
    long per_row = count / rows;
    job.chunk = per_row >= 16384 ? 1 : 16384 / per_row;
    long chunks = (rows + job.chunk - 1) / job.chunk;
    if ((double)count * (double)size < 262144.0) {
        for (long t = 0; t < chunks; t++) copy_chunk(&job, t);
    } else {
        parity_parallel_for(chunks, copy_chunk, &job);
    }
    return 0;
}

void parity_prefetch(const void *p, long bytes) {
    const char *c = (const char *)p;
    for (long i = 0; i < bytes; i += 64) __builtin_prefetch(c + i, 0, 3);
    if (bytes > 0) __builtin_prefetch(c + bytes - 1, 0, 3);
}
