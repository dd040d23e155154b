// Accuracy and level agreement of Parity's Float32 exp, sigmoid and tanh (Sources/CParityKernels/vmath.c),
// against double-precision libm: every `step`-th Float32 bit pattern (1: all 2³²), each level run on the
// same inputs. Prints, per function, the largest error in ULPs of the exact value (the double result;
// sigmoid only where it is a normal Float32, with the absolute error below that), the largest distance
// in representable Float32s from the correctly rounded value, the same for the libm formula
// (`expf`, `1/(1+expf(−x))`, `tanhf`), and the number of inputs on which the levels disagree.
//
//   cc -O2 -ISources/CParityKernels/include scripts/vmath_accuracy.c Sources/CParityKernels/vmath.c \
//      Sources/CParityKernels/cpu.c -lm -o /tmp/vmath_accuracy && /tmp/vmath_accuracy 31
#include "CParityKernels.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static int64_t ordinal(float f) { int32_t i = (int32_t)bits(f); return i < 0 ? -(int64_t)(i & 0x7fffffff) : i; }

// |y − exact| in ULPs of the exact value's Float32 binade.
static double ulps(float y, double exact) {
    if (isnan(exact)) return isnan(y) ? 0 : INFINITY;
    if (isinf((float)exact)) return y == (float)exact ? 0 : INFINITY;
    int e;
    frexp(exact, &e);
    double ulp = ldexp(1.0, e - 24 < -149 ? -149 : e - 24);
    return fabs((double)y - exact) / ulp;
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static float sigmoidf_libm(float x) { return 1.0f / (1.0f + expf(-x)); }

int main(int argc, char **argv) {
    uint64_t step = argc > 1 ? strtoull(argv[1], NULL, 10) : 31;
    const char *names[3] = {"exp", "sigmoid", "tanh"};
    void (*kernels[3])(long, const float *, float *) = {parity_exp_f32, parity_sigmoid_f32, parity_tanh_f32};
    double (*exact[3])(double) = {exp, sigmoid, tanh};
    float (*libm[3])(float) = {expf, sigmoidf_libm, tanhf};
    enum { N = 1 << 16 };
    static float x[N], y[3][N];
    int levels = (int)parity_isa_detected() + 1;
    for (int f = 0; f < 3; f++) {
        double worst = 0, worst_libm = 0, tiny = 0;
        int64_t distance = 0, distance_libm = 0;
        float at = 0;
        long disagree = 0;
        for (uint64_t base = 0; base < (1ull << 32); base += (uint64_t)N * step) {
            long n = 0;
            for (uint64_t i = 0; i < N && base + i * step < (1ull << 32); i++) x[n++] = from_bits((uint32_t)(base + i * step));
            for (int l = 0; l < levels; l++) {
                parity_isa_force(l);
                kernels[f](n, x, y[l]);
            }
            parity_isa_force(-1);
            for (long i = 0; i < n; i++) {
                for (int l = 1; l < levels; l++)
                    if (bits(y[l][i]) != bits(y[0][i]) && !(isnan(y[l][i]) && isnan(y[0][i]))) disagree++;
                if (isnan(x[i])) continue;
                double e = exact[f]((double)x[i]);
                float rounded = (float)e, lib = libm[f](x[i]);
                if (f == 1 && !isnormal(rounded)) {
                    if (fabs(y[0][i] - e) > tiny) tiny = fabs(y[0][i] - e);
                    continue;
                }
                double u = ulps(y[0][i], e), ul = ulps(lib, e);
                if (u > worst) { worst = u; at = x[i]; }
                if (ul > worst_libm) worst_libm = ul;
                int64_t d = llabs(ordinal(y[0][i]) - ordinal(rounded)), dl = llabs(ordinal(lib) - ordinal(rounded));
                if (d > distance) distance = d;
                if (dl > distance_libm) distance_libm = dl;
            }
        }
        printf("%-8s max %.3f ULP (at %a), %lld from correctly rounded; libm formula %.3f ULP, %lld; levels disagree on %ld",
               names[f], worst, at, (long long)distance, worst_libm, (long long)distance_libm, disagree);
        if (f == 1) printf("; non-normal results: max abs error %.3g", tiny);
        printf("\n");
    }
    return 0;
}
