"""The tanh polynomial of Sources/CParityKernels/vmath_template.h.

tanh(x) = x + x³·Q(x²) on |x| < 0.55, Q of degree 5, fitted to (tanh x − x)/x³ by least squares
weighted towards a minimax fit of the relative error, then rounded to Float32. Prints the
coefficients (highest degree first, as the template's Horner scheme uses them) and the
approximation error in Float32 ULPs (the evaluation's rounding comes on top; scripts/vmath_accuracy.c
measures the kernels themselves).

    nice -n 10 python scripts/vmath_coefficients.py
"""
import numpy as np

LIMIT, DEGREE = 0.55, 5
x = np.linspace(1e-4, LIMIT, 20000)
s = x * x
target = (np.tanh(x) - x) / x**3
weight = x**2  # relative error of tanh ≈ error of Q · x²
A = np.vstack([s**k for k in range(DEGREE + 1)]).T
c, *_ = np.linalg.lstsq(A * weight[:, None], target * weight, rcond=None)
for _ in range(50):  # iteratively reweighted towards equal ripple
    r = np.abs((A @ c - target) * weight) + 1e-30
    w = weight * (r / r.max()) ** 0.25
    c, *_ = np.linalg.lstsq(A * w[:, None], target * w, rcond=None)
c32 = np.float32(c)
y = x + x**3 * (A @ c32.astype(np.float64))
print("coefficients, x^(2·5+3) first:", [float.hex(float(v)) for v in c32[::-1]])
print("approximation error: %.3f ULP" % (np.max(np.abs(y - np.tanh(x)) / np.tanh(x)) / 2**-24))
