// Parity's numeric micro-kernels: C, so that one build carries AVX-512, AVX2+FMA and portable code
// side by side and picks one at run time (no compiler flags needed). Every entry point computes the
// same bits on every instruction set: vectors only ever run across independent outputs, and each
// output's terms are added in one stated order with the stated contraction (fused multiply-add or
// multiply-then-add). See Sources/ParityTensor/Numerics/KernelDispatch.swift.
#ifndef CPARITY_KERNELS_H
#define CPARITY_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Instruction sets

/// Instruction-set levels, from the portable C fallback up.
typedef enum {
    PARITY_ISA_PORTABLE = 0,  ///< plain C (`fma`/`fmaf` from libm where no FMA instruction exists)
    PARITY_ISA_AVX2 = 1,      ///< x86-64 AVX2 + FMA3 (256-bit)
    PARITY_ISA_AVX512 = 2,    ///< x86-64 AVX-512F (512-bit)
} parity_isa;

/// The best level this CPU and OS support (cpuid + xgetbv on x86-64; portable elsewhere).
parity_isa parity_isa_detected(void);
/// The level kernels use: the detected one, or the one forced by `parity_isa_force`, never above
/// the detected level.
parity_isa parity_isa_active(void);
/// Forces a level for the calling thread (clamped to the detected one; kernels read the level on
/// the thread that calls them, and `parity_parallel_for` runs its items on the caller's level);
/// a negative value restores detection. For tests and benchmarks that
/// compare the paths.
void parity_isa_force(int level);

// MARK: Heap

/// Keeps freed blocks up to 32 MB in glibc's heap instead of returning them to the system (so repeated
/// forwards stop faulting in fresh pages), unless the user set glibc's own settings; process-wide, so
/// only an application calls it (the `parity` command does). Nothing on other C libraries.
void parity_heap_keep_freed_blocks(void);
/// Returns the heap's free pages to the system (glibc `malloc_trim(0)`); nothing on other C libraries.
void parity_heap_return_freed_pages(void);

// MARK: Threads

/// The number of threads kernels split work across: `PARITY_NUM_THREADS` when set (≥ 1), else the
/// number of CPUs this process may run on.
int parity_num_threads(void);
/// Sets the thread count (values below 1 restore the default).
void parity_set_num_threads(int threads);
/// Overrides the thread count for loops started from the calling thread (values below 1 remove
/// the override). For tests that compare thread counts while other code runs concurrently.
void parity_force_threads(int threads);

/// A task body: runs item `index` of a parallel loop.
typedef void (*parity_task)(void *context, long index);
/// Runs `task(context, i)` for every `i` in `0..<count` across the kernel threads and returns when
/// all are done. Items must be independent: which thread runs an item never changes its result.
/// Runs serially when called from inside another parallel loop or while the pool is busy.
void parity_parallel_for(long count, parity_task task, void *context);
/// Tests only: numbers the pool's next job as if at least `jobs` jobs with `participants` threads had
/// run, up to the first job after them that retags every share (the job counter wraps modulo 2^31
/// jobs; this reaches the wrap without running them). Runs nothing; returns the next job's number
/// (two per job), a multiple of 2^28.
unsigned parity_pool_skip_jobs(unsigned jobs, int participants);

// MARK: GEMM

/// `c[i, j] += Σ_{p < k} a[i, p]·b[p, j]` for `i < m`, `j < n`, each output adding its `k` products in
/// index order `p = 0, 1, …`, each product contracted into one fused multiply-add when `fused` is
/// non-zero, else rounded and then added. Operands are strided: `a[i, p]` is
/// `a[i·a_rows + p·a_cols]`, likewise `b`; `c` has unit column stride and row stride `ldc`.
/// Output tiles are split across `parity_num_threads()` threads (never the `k` sum, so the thread
/// count does not change any bit).
void parity_gemm_f32(long m, long n, long k,
                     const float *a, long a_rows, long a_cols,
                     const float *b, long b_rows, long b_cols,
                     float *c, long ldc, int fused);
void parity_gemm_f64(long m, long n, long k,
                     const double *a, long a_rows, long a_cols,
                     const double *b, long b_rows, long b_cols,
                     double *c, long ldc, int fused);
/// `c[i, j] = Σ_{p < k} a[i, p]·b[p, j]`: `parity_gemm_*` from a zeroed `c` (each output's first
/// product added to +0), without reading `c` first; `c` may be uninitialised.
void parity_gemm_set_f32(long m, long n, long k,
                         const float *a, long a_rows, long a_cols,
                         const float *b, long b_rows, long b_cols,
                         float *c, long ldc, int fused);
void parity_gemm_set_f64(long m, long n, long k,
                         const double *a, long a_rows, long a_cols,
                         const double *b, long b_rows, long b_cols,
                         double *c, long ldc, int fused);

/// Weights read by many small products (a recurrent step's `h·U`) are packed once into strips of
/// `PARITY_STRIP_*` columns: strip `s` holds rows `p < k` of columns `[s·W, (s+1)·W)`, `W` values per
/// row, zero past `n`. The same layout on every instruction set.
enum { PARITY_STRIP_F32 = 32, PARITY_STRIP_F64 = 16 };
/// Packs `b[p, j]` = `b[p·ldb + j]` (`k` × `n`) into `ceil(n / W)·k·W` values at `out`.
void parity_pack_strips_f32(long k, long n, const float *b, long ldb, float *out);
void parity_pack_strips_f64(long k, long n, const double *b, long ldb, double *out);
/// `c[i, j] = (zero ? +0 : c[i, j]) + Σ_{p < k} a[i·lda + p]·b[p, j]` for `i < m`, `j < strips·W`, `b` packed
/// by `parity_pack_strips_*`, each output adding its products in index order `p = 0, 1, …` (fused or
/// rounded as `fused` says): the same bits as `parity_gemm_*` on the unpacked `b` from a zeroed or the
/// given `c`. Runs on the calling thread (callers split strips across threads themselves).
void parity_gemm_strips_f32(long m, long strips, long k, const float *a, long lda, const float *packed, float *c, long ldc,
                            int fused, int zero);
void parity_gemm_strips_f64(long m, long strips, long k, const double *a, long lda, const double *packed, double *c,
                            long ldc, int fused, int zero);

// MARK: Convolution

/// The geometry of a channels-last convolution: `x` `[batch, input…, channels]`, `w`
/// `[kernel…, channels/groups, out_channels]`, `y` `[batch, output…, out_channels]`, 1 to 3 spatial axes.
/// Output position `o` reads input cells `o·stride + k·dilation − pad_before` (outside the input: 0).
typedef struct {
    long rank;
    long batch, channels, out_channels, groups;
    long input[3], output[3], kernel[3], strides[3], dilations[3], pad_before[3];
    /// The order of each dot product's terms: 0 = window cells then channels ((k…, c), TensorFlow's
    /// NHWC im2col), 1 = channels then window cells ((c, k…), PyTorch's NCHW im2col).
    int channels_then_window;
} parity_conv_shape;

/// The activation of an epilogue.
typedef enum { PARITY_ACTIVATION_NONE = 0, PARITY_ACTIVATION_RELU = 1, PARITY_ACTIVATION_CLIP = 2 } parity_activation;

/// Elementwise steps applied to each output `v` of a convolution, in this order, each rounded as the
/// separate elementwise op would round it (so the result has the unfused ops' bits):
/// 1. with `scale` and `shift` (per output channel): `fma(v, scale[o], shift[o])` when `fused_scale`,
///    else `v·scale[o]` rounded, then `+ shift[o]`; with `shift` alone: `v + shift[o]`;
/// 2. with `residual` (laid out like `y`): `v + residual[…]`;
/// 3. the activation: ReLU `v ≤ 0 ? 0 : v` (NaN stays), clip `u < t ? u : t` with `t = l ≥ v ? l : v`
///    (`Swift.min(Swift.max(v, l), u)`; `lower`/`upper` rounded to the element type).
typedef struct {
    const void *scale, *shift;  ///< `out_channels` values each, of `y`'s type, or NULL (`scale` needs `shift`)
    int fused_scale;
    const void *residual;       ///< `y`'s shape and type, or NULL
    parity_activation activation;
    double lower, upper;        ///< the clip's bounds
} parity_epilogue;

/// `c[i, j] = bias[j] + Σ_{p < k} a[i, p]·b[p, j]` (each output's accumulator starts from its bias and adds
/// its products as `parity_gemm_*` does), then `epilogue`'s steps on each output (NULL: none; its
/// per-column arrays and residual indexed like `c`), while the tile is in registers. `c` may be
/// uninitialised. Does nothing when `k` is 0 (the caller writes `bias` and applies the epilogue).
void parity_gemm_bias_f32(long m, long n, long k, const float *a, long a_rows, long a_cols, const float *b, long b_rows,
                          long b_cols, const float *bias, float *c, long ldc, int fused, const parity_epilogue *epilogue);
void parity_gemm_bias_f64(long m, long n, long k, const double *a, long a_rows, long a_cols, const double *b, long b_rows,
                          long b_cols, const double *bias, double *c, long ldc, int fused, const parity_epilogue *epilogue);

/// An operand kept packed across calls (a constant weight in graph mode: a linear layer's matrix, a
/// convolution's kernel): one pack per instruction-set level, made on the first call on that level
/// (`parity_gemm_bias_kept_*`, `parity_conv_kept_*`), freed with the packs. Thread-safe.
typedef struct parity_kept_packs parity_kept_packs;
parity_kept_packs *parity_kept_packs_create(void);
void parity_kept_packs_destroy(parity_kept_packs *packs);
/// `bytes` bytes kept in `packs` for a caller's own layout (a recurrent loop's weights): the active
/// level's pack, 64-byte aligned, made on first use by `fill(data, context)` under the packs' lock;
/// NULL when that pack was made for another `key` (at most 64 bytes, no padding) or `bytes` is 0 (the
/// caller then packs as usual).
const void *parity_kept_bytes(parity_kept_packs *packs, const void *key, size_t key_size, long bytes,
                              void (*fill)(void *data, void *context), void *context);
/// `parity_gemm_bias_*` with `b` read from `packs`' pack for the active level (packed from `b` on the
/// first call, in the layout a call shares between its tasks): the same bits. The caller keeps `b`'s
/// values unchanged for the packs' lifetime and passes the same `b` with the same packs; a call of
/// another `k` or `n` than the pack's reads `b` as `parity_gemm_bias_*` does.
void parity_gemm_bias_kept_f32(long m, long n, long k, const float *a, long a_rows, long a_cols, const float *b, long b_rows,
                               long b_cols, parity_kept_packs *packs, const float *bias, float *c, long ldc, int fused,
                               const parity_epilogue *epilogue);
void parity_gemm_bias_kept_f64(long m, long n, long k, const double *a, long a_rows, long a_cols, const double *b, long b_rows,
                               long b_cols, parity_kept_packs *packs, const double *bias, double *c, long ldc, int fused,
                               const parity_epilogue *epilogue);

/// `y = x ⋆ w` (cross-correlation, no bias): each output starts from 0 and adds its
/// `window·channels/groups` products in the shape's term order, padded cells as products with 0,
/// fused or rounded as `fused` says; the same bits as multiplying the zero-padded im2col patches by
/// the kernel matrix with `parity_gemm_*`. Then `epilogue` (NULL: none), applied to each output tile
/// while it is in cache. Returns −1 for a shape it does not take (rank outside 1…3, channels not
/// divisible by groups; with an epilogue, an empty window or no channels per group).
int parity_conv_f32(const parity_conv_shape *shape, const float *x, const float *w, float *y, int fused,
                    const parity_epilogue *epilogue);
int parity_conv_f64(const parity_conv_shape *shape, const double *x, const double *w, double *y, int fused,
                    const parity_epilogue *epilogue);

/// `parity_conv_*` with `w` read from `packs`' pack for the active level (packed from `w` on the first
/// call): the same bits (an exact copy in the layout each call would pack). The caller keeps `w`'s
/// values unchanged for the packs' lifetime and passes the same `w` with the same packs. A call whose
/// geometry packs differently from the pack's (groups, channels, window, term order) or runs no GEMM
/// (depthwise) reads `w` as `parity_conv_*` does.
int parity_conv_kept_f32(const parity_conv_shape *shape, const float *x, const float *w, parity_kept_packs *packs,
                         float *y, int fused, const parity_epilogue *epilogue);
int parity_conv_kept_f64(const parity_conv_shape *shape, const double *x, const double *w, parity_kept_packs *packs,
                         double *y, int fused, const parity_epilogue *epilogue);

// MARK: Elementwise

/// `out[j] = fma(x[j·sx], y[j·sy], z[j·sz])` for `j < n` (one rounding; strides 0 broadcast): the same
/// bits on every level (an FMA instruction, else libm's `fmaf`/`fma`).
void parity_fma_f32(long n, const float *x, long sx, const float *y, long sy, const float *z, long sz, float *out);
void parity_fma_f64(long n, const double *x, long sx, const double *y, long sy, const double *z, long sz, double *out);

/// The four arithmetic operations of `parity_binary_*`.
typedef enum { PARITY_ADD = 0, PARITY_SUBTRACT = 1, PARITY_MULTIPLY = 2, PARITY_DIVIDE = 3 } parity_binary_op;
/// `out[j] = x[j·sx] ∘ y[j·sy]` for `j < n` (strides 0 broadcast), ∘ the IEEE operation `op` (correctly
/// rounded, so the same bits on every level). A loop in C because Swift's generic elementwise loop
/// calls its closure once per element.
void parity_binary_f32(parity_binary_op op, long n, const float *x, long sx, const float *y, long sy, float *out);
void parity_binary_f64(parity_binary_op op, long n, const double *x, long sx, const double *y, long sy, double *out);

// MARK: Scans

/// For each of `lines` contiguous lines of `n` values (n ≥ 1): the index of the first largest value
/// (`maximum` non-zero) or first smallest, or of the first NaN when the line has one (`argmax` /
/// `argmin` as PyTorch scans a max pool's window). Branch-free selects, sixteen short lines side by side.
void parity_arg_extremum_f32(long lines, long n, const float *x, int maximum, int64_t *out);
void parity_arg_extremum_f64(long lines, long n, const double *x, int maximum, int64_t *out);

/// Max pooling through an index map, without the patches: for each of `slices` slices of
/// `slice_size` elements, `y[s, p, j]` = the maximum of `x[s, indices[(p·window + c)·inner + j]]`
/// over window cells `c` in order (a negative index is −∞): the first cell's value, replaced by a
/// strictly larger one, and the canonical quiet NaN once any NaN is seen — exactly
/// `Tensor.reduce(.max)` over the window axis of the gathered patches. `grouped` (channels-last
/// pooling): `indices` has `positions·window` entries and cell `c` of `y[s, p, j]` is
/// `x[s, indices[p·window + c]·inner + j]`.
void parity_window_max_f32(long slices, long slice_size, long positions, long window, long inner,
                           int grouped, const long *indices, const float *x, float *y);
void parity_window_max_f64(long slices, long slice_size, long positions, long window, long inner,
                           int grouped, const long *indices, const double *x, double *y);

// MARK: Float32 exp, sigmoid, tanh

/// `out[j] = f(x[j])` for `j < n` (`out` may be `x`): Parity's Float32 eˣ, `1/(1 + e^(−x))` and tanh,
/// one algorithm on every level (polynomials evaluated with fused multiply-adds), so the same bits
/// everywhere; within a few ULPs of the correctly rounded result (docs/performance.md states the
/// measured bounds). Float64 uses libm instead.
void parity_exp_f32(long n, const float *x, float *out);
void parity_sigmoid_f32(long n, const float *x, float *out);
void parity_tanh_f32(long n, const float *x, float *out);
/// Attention scores normalised after the product (PyTorch's CPU `scaled_dot_product_attention`): for each
/// of `rows` rows of `n` scores at `s + i·lds`, each score first rounded to `x·scale` when `scale` is
/// non-NULL, then `x = e^(x − m)` in place with `m` the row's maximum (NaN if the row holds a NaN) and
/// `parity_exp_f32`'s eˣ, and `totals[i]` = the row's sum from +0 in index order. The same bits on every level.
void parity_attention_exp_rows_f32(long rows, long n, float *s, long lds, const float *scale, float *totals);

/// One step of an LSTM's cell math over `rows` batch rows of `units` units, Float32, sigmoid gates and
/// tanh (Keras's and PyTorch's defaults), in one pass over the four gates in registers. Per row and
/// unit `j`, gate `q` (input, forget, cell, output), with `pre = z[q·units + j]` (the step's `h·U`):
///
///     v = pre (+ recurrent_bias[q·bias_gate + j])
///     v = x[q·x_gate + j] + v (+ output_bias[q·bias_gate + j])
///     i, f, o = sigmoid(v_i, v_f, v_o);  g = tanh(v_c)
///     c' = f·c + i·g   (two products, each rounded, then their sum)
///     h' = o·tanh(c')
///
/// each operation rounded once, sigmoid and tanh those of `parity_sigmoid_f32` / `parity_tanh_f32`
/// (so the bits of the separate passes, on every level). Writes `c'` over `c` and into `out_c`, `h'`
/// into `h` and `out_h`. Row `r` of each array starts `r·` its row stride (`ldz`, `ldx`, `ldc`, `ldh`, `ldo`).
typedef struct {
    long rows, units;
    const float *z;
    long ldz;
    const float *x;
    long ldx, x_gate;
    const float *recurrent_bias, *output_bias;  ///< NULL when absent
    long bias_gate;
    float *c;
    long ldc;
    float *h;
    long ldh;
    float *out_h, *out_c;
    long ldo;
} parity_lstm_step;
void parity_lstm_cell_f32(const parity_lstm_step *step);

// MARK: Layer norm

/// PyTorch's layer norm as Parity's graph runs it unfused (`layer_norm` lowered to reductions and
/// elementwise ops), over `rows` contiguous rows of `n` values at `x` into `y`, per row:
///
///     mean = Σx / n                     (Σ: pairwise, leaves of at most `leaf` terms, as
///     c    = x − mean                    AccumulationOrder.pairwise; each sum from +0)
///     var  = Σ(c·c) / n
///     rstd = 1 / sqrt(var + eps)        (eps rounded to the element type)
///     y    = c·rstd, then ·gamma[j] (non-NULL), then + beta[j] (non-NULL)
///
/// every operation rounded once, except that with `fused` the last product and the `+ beta` are one
/// fused multiply-add (`fma(c·rstd, gamma, beta)`, or `fma(c, rstd, beta)` without gamma), as the
/// graph's fusion pass contracts them. The same bits on every level and thread count (rows are split
/// across threads whole; each row's sums are its own).
void parity_layer_norm_f32(long rows, long n, long leaf, const float *x, const float *gamma, const float *beta,
                           double eps, int fused, float *y);
void parity_layer_norm_f64(long rows, long n, long leaf, const double *x, const double *gamma, const double *beta,
                           double eps, int fused, double *y);

// MARK: Copies

/// Asks the CPU to bring `bytes` bytes from `p` into its caches (a hint: no effect on any value). For
/// loops that know their next rows before the hardware's prefetcher can (an LSTM's next step of input
/// rows, thousands of bytes apart).
void parity_prefetch(const void *p, long bytes);

/// Copies a strided view into a dense row-major buffer: output element at coordinates `i…` (of
/// `shape`, `rank` axes) is the source element at `Σ i[a]·strides[a]` (elements of `size` bytes;
/// strides may be 0 for broadcasting). Returns −1 when more than 16 axes remain after merging.
int parity_strided_copy(long size, int rank, const long *shape, const long *strides, const void *src, void *dst);

#ifdef __cplusplus
}
#endif

#endif
