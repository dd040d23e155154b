// One instruction set's depthwise convolution (one input channel and one output channel per group),
// included by gemm.c after gemm_template.h with the same parameters (T, VL, SUFFIX).
//
// Numerics: output (position, channel) starts from zero and adds its window's products in window
// order (row-major over the kernel's axes), each a fused multiply-add or a rounded product then a
// rounded sum. A padded cell is a product with zero, read from a zero buffer, exactly as the
// im2col formulation multiplies its zero-filled patch entries. Vectors run across channels only.

#define DW_CAT2(a, b) a##_##b
#define DW_CAT(a, b) DW_CAT2(a, b)
#define FN(name) DW_CAT(name, SUFFIX)

static void FN(depthwise_rows)(const struct depthwise_job *job, long row0, long row1) {
    const parity_conv_shape *s = job->shape;
    const T *x = (const T *)job->x, *w = (const T *)job->w, *zeros = (const T *)job->zeros;
    T *y = (T *)job->y;
    long C = s->channels, window = job->window, rank = s->rank;
    const T *src[64];
    for (long row = row0; row < row1; row++) {
        long rest = row, pos[3] = {0, 0, 0};
        for (long d = rank - 1; d >= 0; d--) {
            pos[d] = rest % s->output[d];
            rest /= s->output[d];
        }
        for (long cell = 0; cell < window; cell++) {
            long offset = rest;
            int inside = 1;
            for (long d = 0; d < rank; d++) {
                long coordinate = pos[d] * s->strides[d] + job->cell[cell * 3 + d] - s->pad_before[d];
                if (coordinate < 0 || coordinate >= s->input[d]) { inside = 0; break; }
                offset = offset * s->input[d] + coordinate;
            }
            src[cell] = inside ? x + offset * C : zeros;
        }
        T *out = y + row * C;
        long c = 0;
        // The epilogue (NULL: none), applied to each vector or value before it is stored.
        const parity_epilogue *e = job->epilogue;
        const T *shift = e && e->shift ? (const T *)e->shift : NULL;
        const T *scale = shift && e->scale ? (const T *)e->scale : NULL;
        const T *res = e && e->residual ? (const T *)e->residual + row * C : NULL;
#define DW_STORE(at, value) FN(store)(out + (at), e ? FN(epilogue_vec)(e, value, scale ? scale + (at) : NULL, shift ? shift + (at) : NULL, res ? res + (at) : NULL) : (value))
#define DW_STORE_ONE(at, value) out[at] = e ? FN(epilogue_one)(e, value, scale ? scale + (at) : NULL, shift ? shift + (at) : NULL, res ? res + (at) : NULL) : (value)
        if (job->fused) {
            for (; c + 4 * VL <= C; c += 4 * VL) {
                FN(vec) a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                for (long cell = 0; cell < window; cell++) {
                    const T *xs = src[cell] + c, *ws = w + cell * C + c;
                    a0 = __builtin_elementwise_fma(FN(load)(xs), FN(load)(ws), a0);
                    a1 = __builtin_elementwise_fma(FN(load)(xs + VL), FN(load)(ws + VL), a1);
                    a2 = __builtin_elementwise_fma(FN(load)(xs + 2 * VL), FN(load)(ws + 2 * VL), a2);
                    a3 = __builtin_elementwise_fma(FN(load)(xs + 3 * VL), FN(load)(ws + 3 * VL), a3);
                }
                DW_STORE(c, a0);
                DW_STORE(c + VL, a1);
                DW_STORE(c + 2 * VL, a2);
                DW_STORE(c + 3 * VL, a3);
            }
            for (; c + VL <= C; c += VL) {
                FN(vec) a0 = {0};
                for (long cell = 0; cell < window; cell++)
                    a0 = __builtin_elementwise_fma(FN(load)(src[cell] + c), FN(load)(w + cell * C + c), a0);
                DW_STORE(c, a0);
            }
            for (; c < C; c++) {
                T a0 = 0;
                for (long cell = 0; cell < window; cell++) a0 = __builtin_elementwise_fma(src[cell][c], w[cell * C + c], a0);
                DW_STORE_ONE(c, a0);
            }
        } else {
            for (; c + VL <= C; c += VL) {
                FN(vec) a0 = {0};
                for (long cell = 0; cell < window; cell++) {
                    FN(vec) product = FN(load)(src[cell] + c) * FN(load)(w + cell * C + c);
                    a0 = a0 + product;
                }
                DW_STORE(c, a0);
            }
            for (; c < C; c++) {
                T a0 = 0;
                for (long cell = 0; cell < window; cell++) {
                    T product = src[cell][c] * w[cell * C + c];
                    a0 = a0 + product;
                }
                DW_STORE_ONE(c, a0);
            }
        }
    }
#undef DW_STORE
#undef DW_STORE_ONE
}

void FN(depthwise)(const struct depthwise_job *job, long row0, long row1) { FN(depthwise_rows)(job, row0, row1); }

#undef FN
