// Shared between the kernel files; not part of the public header.
#ifndef CPARITY_INTERNAL_H
#define CPARITY_INTERNAL_H

#include "CParityKernels.h"

struct gemm_job;
/// Packs rows [i0, i0+rows) × depth [p0, p0+kc) of the left operand as panels of `mr` rows (the last
/// one shorter), each panel storing its rows' values side by side for every step of the depth.
typedef void (*gemm_pack_a)(const struct gemm_job *job, long i0, long rows, long p0, long kc, long mr, void *out);

struct gemm_job {
    long m, n, k;
    const void *a, *b;
    void *c;
    long a_rows, a_cols, b_rows, b_cols, ldc;
    int fused;
    int zero_start;            // c = a·b: accumulators start from +0 instead of c's values
    const void *start_bias;    // c = bias + a·b: each tile's rows set to bias[column] before the first depth block
    gemm_pack_a pack_a;
    const void *pack_context;  // what a custom `pack_a` reads (a convolution's geometry)
    const long *b_row_offset;  // when set, row p of b starts at b + b_row_offset[p] (elements), not b + p·b_rows
    long b_row_visit;          // pack b's rows p ≡ 0, 1, … (mod this) in turn (memory order for a row table); 0 or 1: in order
    int b_in_place;            // strips of b read where they are (few rows: packing would not pay back)
    int serial;                // too little work to hand out
    void *b_packed;            // all of b packed once (KC blocks of NR strips), shared by the tasks; set before
                               // gemm_run: packed earlier and kept (gemm_pack_b), with b_packed_width
    long b_packed_width;
    void *a_packed;            // all of a packed once (KC blocks of MR panels), shared by the tasks of a row range
    long mc, nc, tasks_m, tasks_n;
    const parity_epilogue *epilogue;  // applied to each tile after its last depth block, or NULL
    long epilogue_col;                // this job's column 0 in the epilogue's per-channel arrays
    const void *residual;             // the epilogue's residual at c's origin (row stride ldc), or NULL
};

/// Fills the operand fields of a job (a strided left operand packed by the default packer).
void gemm_prepare_f32(struct gemm_job *job, long m, long n, long k, const float *a, long a_rows, long a_cols,
                      const float *b, long b_rows, long b_cols, float *c, long ldc, int fused);
void gemm_prepare_f64(struct gemm_job *job, long m, long n, long k, const double *a, long a_rows, long a_cols,
                      const double *b, long b_rows, long b_cols, double *c, long ldc, int fused);
/// Runs a prepared job on the active instruction set.
void gemm_run_f32(struct gemm_job *job);
void gemm_run_f64(struct gemm_job *job);

/// b packed whole for instruction-set `level` (one this CPU has): the packed row width (`n` rounded up
/// to the level's strips), and the packing of the job's `k` × `n` b into `out` (`k` × width values), the
/// layout a job reads through `b_packed`. An exact copy.
long gemm_packed_width_f32(parity_isa level, long n);
long gemm_packed_width_f64(parity_isa level, long n);
void gemm_pack_b_f32(parity_isa level, struct gemm_job *job, float *out);
void gemm_pack_b_f64(parity_isa level, struct gemm_job *job, double *out);

/// A pack kept across calls in a `parity_kept_packs`: `rows` × `width` values for `level`, 64-byte
/// aligned, made for `key` (the bytes its layout depends on besides the level).
struct kept_pack {
    unsigned char key[64];
    size_t key_size;
    parity_isa level;
    long width;
    void *data;
};
/// The active level's pack in `packs`, made on first use under the lock (`width_of(level, columns)`
/// wide, `rows` rows of `element`-byte values, filled by `fill(pack, source)`); NULL when the level has
/// no slot or its pack was made for another key (the caller then packs as usual). `key` has no padding.
const struct kept_pack *kept_pack_get(parity_kept_packs *packs, const void *key, size_t key_size, long element, long rows,
                                      long columns, long (*width_of)(parity_isa, long),
                                      void (*fill)(struct kept_pack *, const void *), const void *source);

/// A depthwise convolution (one input channel per group, one output channel per group): rows
/// [row0, row1) of the flattened `[batch, output…]` positions.
struct depthwise_job {
    const parity_conv_shape *shape;
    const void *x, *w;
    void *y;
    const void *zeros;      // `channels` zeros, read in place of padded cells
    long window;
    long cell[3 * 64];      // per window cell: offset along each spatial axis (k·dilation), ≤ 64 cells
    int fused;
    const parity_epilogue *epilogue;  // applied to each output row, or NULL
};
void depthwise_run_f32(const struct depthwise_job *job, long row0, long row1);
void depthwise_run_f64(const struct depthwise_job *job, long row0, long row1);

/// The level `parity_isa_force` set on this thread, or -1: the pool hands it to the workers running
/// the caller's items, so a forced level covers the whole loop.
int parity_isa_forced(void);

#endif
