/*
 * dmath.h: deterministic float32 elementary functions for the model.
 *
 * The encoder and the decoder must compute bit-identical probabilities on
 * every machine, compiler and flag set, and libm's expf/logf/tanhf differ
 * between systems. These functions use only operations that IEEE-754
 * rounds correctly everywhere (float + - * /, explicit fmaf, float <-> int
 * conversion of in-range values, integer operations on the bits), in a fixed
 * order: no libm routine other than fmaf, no tables computed at run time,
 * no long double, no reductions reordered. The build must not contract a*b+c
 * on its own (-ffp-contract=off) nor use fast-math; FLT_EVAL_METHOD must
 * be 0 (SSE, NEON; not x87). A golden hash in tests/test_dmath.c pins every
 * output bit: changing a constant or the order of an operation changes what
 * decoders compute, so the hash changes only together with a format version.
 *
 * Accuracy against double-precision libm, in ulps of the correctly rounded
 * float (2^-149 for subnormal results). tests/test_dmath.c asserts bounds
 * over every 37th float of the ranges that matter and prints max and mean;
 * the max over all 2^32 floats was measured once:
 *   exp   max 0.94 ulp (all floats), 0.92 (sweep), mean 0.25; subnormal
 *         results included
 *   log   max 0.86 ulp (all floats and sweep), mean 0.25
 *   tanh  max 1.59 ulp (all floats), 1.54 (sweep), mean 0.24
 *   gelu  x >= 0: max 1.92 ulp (all floats), 1.81 (sweep), mean 0.32;
 *         -2 <= x < 0: max 7.3 ulp (sweep), where gelu is small and the
 *         rounding of its exp argument is amplified; absolute error
 *         <= 2^-22.98 max(1, |x|) everywhere (|x| <= 20, sweep)
 *   softmax  the rounding of logit - max (2^-24 |logit - max| relative)
 *         plus the sequential float sum: 38 ulp max, 3.9 mean, for up to
 *         256 normal logits of spread up to 8 (20 ulp max given the rounded
 *         differences). The sum's error scales every p alike.
 *
 * Special values: NaN in gives NaN out (the input NaN, quieted); a NaN that
 * a function creates (log of a negative number) is the positive quiet NaN
 * 0x7fc00000 on every machine. The golden hash pins all other output bits.
 *
 * Array versions compute y[i] = f(x[i]) for i = 0 .. n-1, bit-identical to
 * the scalar functions; x and y may be the same array but must not otherwise
 * overlap. The compiler may vectorize them (nothing is reduced).
 */
#ifndef NMDL_DMATH_H
#define NMDL_DMATH_H

#include <stddef.h>

#include "isa.h"

/* e^x. +inf for x > 0x1.62e42ep+6 (88.7228, the largest x with a finite
 * result); results below 2^-126 are rounded once, into the subnormals, and
 * become 0 for x < -103.97 (e^x < 2^-150). exp(-inf) = 0, exp(+inf) = +inf. */
float nmdl_dm_exp(float x);

/* Natural logarithm. log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf;
 * subnormal x is handled exactly. */
float nmdl_dm_log(float x);

/* Hyperbolic tangent, odd: tanh(-x) = -tanh(x), tanh(-0) = -0, tanh(+-inf)
 * = +-1, and +-1 for |x| > 0x1.205966p+3 (13 ln 2 / 2 = 9.0109, beyond which
 * 1 is the correctly rounded value). */
float nmdl_dm_tanh(float x);

/* GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
 * evaluated as the equal x / (1 + e^(-2 sqrt(2/pi) (x + 0.044715 x^3)))
 * (accurate also where 1 + tanh cancels) in this order:
 *   x3 = (x * x) * x;  u = fmaf(0.044715f, x3, x);
 *   e = nmdl_dm_exp(-2 sqrt(2/pi) as float * u);  gelu = x / (1 + e).
 * gelu(+inf) = +inf; gelu(x) = -0 for large negative x, and for -inf. */
float nmdl_dm_gelu(float x);

void nmdl_dm_exp_array(const float *x, float *y, size_t n);
void nmdl_dm_log_array(const float *x, float *y, size_t n);
void nmdl_dm_tanh_array(const float *x, float *y, size_t n);
void nmdl_dm_gelu_array(const float *x, float *y, size_t n);

/* p[i] = e^(logits[i] - m) / s for i = 0 .. n-1, where m is the largest
 * logit and s = sum of e^(logits[j] - m), added sequentially in index order
 * in float; each p[i] is one correctly rounded division (not a multiply by
 * 1/s). p may be logits. NMDL_ERR_ARG when n < 1, a pointer is NULL or a
 * logit is not finite (p is then uniform, 1/n each); NMDL_OK otherwise. */
int nmdl_dm_softmax(const float *logits, float *p, int n);
/* The same for rows r = 0 .. rows-1 of n logits at logits + r stride, into
 * p + r stride (p may be logits), with every row's bits those of
 * nmdl_dm_softmax: rows run side by side so that their sequential sums
 * overlap. A row with a logit that is not finite becomes uniform (1/n
 * each), the same on every machine. Returns the number of such rows, or
 * NMDL_ERR_ARG when n < 1, rows < 0, a pointer is NULL or stride < n. */
int nmdl_dm_softmax_rows(const float *logits, float *p, int rows, int n,
                         size_t stride);

/* The hot ones again, compiled for one instruction set (isa.h): the same
 * bits as the functions above, faster where the CPU has wider vectors and
 * FMA instructions. */
typedef struct nmdl_dm_kernels {
    void (*exp_array)(const float *x, float *y, size_t n);
    void (*gelu_array)(const float *x, float *y, size_t n);
    int (*softmax_rows)(const float *logits, float *p, int rows, int n,
                        size_t stride);
} nmdl_dm_kernels;
/* For isa from nmdl_isa_choose() or nmdl_isa_best(); never NULL. */
const nmdl_dm_kernels *nmdl_dm_kernels_for(nmdl_isa isa);

#endif /* NMDL_DMATH_H */
