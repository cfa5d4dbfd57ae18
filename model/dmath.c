/*
 * dmath.c: see dmath.h. Every constant is a hex-float literal with its
 * origin beside it; every operation is one IEEE-754 rounding in source order
 * (the build forbids contraction and fast-math, checked below where the
 * compiler says so: with gcc's default -ffp-contract=fast, for example,
 * R * z + hfsq in log would become one fma and change the result). Selects
 * (pick) keep the cores branch-free so that the array loops can be
 * vectorized without changing any result.
 */
#include "dmath.h"

#include <float.h>
#include <math.h> /* fmaf only: correctly rounded by definition */
#include <stdint.h>
#include <string.h>

#include "isa.h"
#include "nmdl.h"

#if defined(__FAST_MATH__)
#error "dmath.c must not be compiled with -ffast-math"
#endif
#if FLT_EVAL_METHOD != 0
#error "dmath.c needs float arithmetic evaluated in float (FLT_EVAL_METHOD 0)"
#endif

NMDL_INLINE uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

NMDL_INLINE float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* 2^k for -126 <= k <= 127, from the exponent bits. */
NMDL_INLINE float pow2(int k)
{
    return float_of((uint32_t)(k + 127) << 23);
}

/* ln 2 = 0x1.62e42fefa39ef358p-1 split in two (Cody-Waite): LN2_HI is ln 2
 * cut to 15 significant bits, so k * LN2_HI is exact for |k| < 2^9;
 * LN2_LO = ln 2 - LN2_HI (0x1.7f7d1cf79abcap-20) rounded to float. */
#define LN2_HI 0x1.62e4p-1f
#define LN2_LO 0x1.7f7d1cp-20f
#define INV_LN2 0x1.715476p+0f /* 1 / ln 2 rounded to float */
/* (t + ROUND_MAGIC) - ROUND_MAGIC rounds t to an integer, |t| < 2^22 */
#define ROUND_MAGIC 0x1.8p+23f /* 1.5 * 2^23 */
#define QNAN 0x7fc00000u       /* the NaN dmath creates */

/* A NaN input, quieted by setting the top mantissa bit: integer work, so
 * the same bits everywhere (machines differ in how arithmetic propagates
 * NaNs). */
NMDL_INLINE float quiet(float x)
{
    return float_of(bits_of(x) | 0x00400000u);
}

/* c ? a : b, by masking bits so that both a and b are computed whatever c
 * is: gcc does not vectorize a ?: whose arm holds floating-point work,
 * since that work may not be speculated under -ftrapping-math. */
NMDL_INLINE float pick(int c, float a, float b)
{
    uint32_t m = 0u - (uint32_t)(c != 0);
    return float_of((bits_of(a) & m) | (bits_of(b) & ~m));
}

/* ---------------------------------------------------------------------- exp */

/* e^r for |r| <= ln2/2 (+ rounding): Taylor polynomial of degree 7, Horner
 * with fmaf. The coefficients are 1/n! rounded to float; the truncation
 * error (ln2/2)^8/8! is 5e-9 relative, under 0.1 ulp. */
NMDL_INLINE float exp_poly(float r)
{
    float q = 0x1.a01a02p-13f;       /* 1/7! */
    q = fmaf(q, r, 0x1.6c16c2p-10f); /* 1/6! */
    q = fmaf(q, r, 0x1.111112p-7f);  /* 1/5! */
    q = fmaf(q, r, 0x1.555556p-5f);  /* 1/4! */
    q = fmaf(q, r, 0x1.555556p-3f);  /* 1/3! */
    q = fmaf(q, r, 0x1.0p-1f);       /* 1/2! */
    q = fmaf(q, r, 1.0f);            /* 1/1! */
    return fmaf(q, r, 1.0f);         /* 1/0! */
}

/* x = k ln2 + r, e^x = 2^k e^r. x is first clamped to [-104, 89], where k
 * lies in [-150, 128] and e^-104 < 2^-150 rounds to 0, e^89 overflows; NaN
 * is mapped into the range and restored at the end (a float -> int
 * conversion of NaN is undefined). 2^k is applied as 2^k1 * 2^k2, each in
 * [-75, 64]: the first product is exact and normal, the second rounds once,
 * so subnormal results are rounded once. */
NMDL_INLINE float exp_core(float x)
{
    float xc = x > -104.0f ? x : -104.0f; /* also NaN -> -104 */
    xc = xc < 89.0f ? xc : 89.0f;
    float kf = fmaf(xc, INV_LN2, ROUND_MAGIC) - ROUND_MAGIC; /* round(x/ln2) */
    float r = fmaf(-kf, LN2_HI, xc); /* exact: k*LN2_HI exact, Sterbenz */
    r = fmaf(-kf, LN2_LO, r);
    int k = (int)kf, k1 = k / 2, k2 = k - k1;
    float y = exp_poly(r) * pow2(k1) * pow2(k2);
    return pick(x == x, y, quiet(x));
}

float nmdl_dm_exp(float x)
{
    return exp_core(x);
}

NMDL_INLINE void exp_loop(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = exp_core(x[i]);
}

void nmdl_dm_exp_array(const float *x, float *y, size_t n)
{
    exp_loop(x, y, n);
}
NMDL_ISA_CLONES(void, exp_loop, (const float *x, float *y, size_t n),
                exp_loop(x, y, n);)

/* ---------------------------------------------------------------------- log */

/* log(1+f) for f in [sqrt(1/2)-1, sqrt(2)-1) (fdlibm's scheme, our code):
 * s = f/(2+f), log(1+f) = 2 atanh(s) = f - hfsq + s (hfsq + R) with
 * hfsq = f^2/2 and R = 2s^2/3 + 2s^4/5 + 2s^6/7 + 2s^8/9 (Taylor series of
 * 2 atanh(s)/s - 2, coefficients 2/(2j+1) rounded to float; |s| <= 0.1716,
 * so the next term is under 1e-9 of the result). k ln2 is added in two parts.
 */
NMDL_INLINE float log_reduced(float f, float kf)
{
    float s = f / (2.0f + f);
    float z = s * s;
    float R = fmaf(z, 0x1.c71c72p-3f, 0x1.24924ap-2f); /* 2/9, 2/7 */
    R = fmaf(R, z, 0x1.99999ap-2f);                     /* 2/5 */
    R = fmaf(R, z, 0x1.555556p-1f);                     /* 2/3 */
    R = R * z;
    float hfsq = (0.5f * f) * f;
    float t = fmaf(kf, LN2_LO, s * (hfsq + R));
    return fmaf(kf, LN2_HI, f - (hfsq - t));
}

/* x = 2^k m with m in [sqrt(1/2), sqrt(2)): adding 0x3f800000 - SQRTH to
 * the bits carries into the exponent exactly when the mantissa of x is at
 * least that of sqrt(2); SQRTH = 0x3f3504f3 is the bits of sqrt(1/2)
 * rounded to float (0x1.6a09e6p-1). Subnormal x is first scaled by 2^23. */
NMDL_INLINE float log_core(float x)
{
    const uint32_t SQRTH = 0x3f3504f3u;
    int sub = x < 0x1p-126f;
    float xs = pick(sub, x * 0x1p23f, x);
    uint32_t u = bits_of(xs) + (0x3f800000u - SQRTH);
    int k = (int)((u >> 23) & 0xff) - 127 - (sub ? 23 : 0);
    float m = float_of((u & 0x7fffffu) + SQRTH);
    float y = log_reduced(m - 1.0f, (float)k); /* m - 1 exact (Sterbenz) */
    float special = x == 0.0f ? -INFINITY : x > 0.0f ? x : float_of(QNAN);
    special = x == x ? special : quiet(x); /* +-0, +inf, x < 0, NaN */
    return pick((x > 0.0f) & (x < INFINITY), y, special);
}

float nmdl_dm_log(float x)
{
    return log_core(x);
}

void nmdl_dm_log_array(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = log_core(x[i]);
}

/* --------------------------------------------------------------------- tanh */

#define TANH_POLY_MAX 0x1.19999ap-1f /* 0.55 */
#define TANH_ONE 0x1.205966p+3f      /* 13 ln2 / 2 rounded up */

/* tanh(a) = a + a^3 P(a^2) for 0 <= a < 0.55: P of degree 5 in z = a^2, a
 * Chebyshev fit to (tanh(a) - a) / a^3 on z in [0, 0.3025], rounded to
 * float (relative error of tanh before rounding 1.2e-10), from Python:
 *   mp.dps = 40; chebyfit(lambda z: (tanh(sqrt(z)) - sqrt(z)) / sqrt(z)**3
 *                         if z else mpf(-1)/3, [0, mpf('0.55')**2], 6)
 * For a < 2^-12 it returns a exactly (a^3/3 is under half an ulp). */
NMDL_INLINE float tanh_poly(float a)
{
    float z = a * a;
    float p = fmaf(z, 0x1.4b239ap-9f, -0x1.176410p-7f);
    p = fmaf(p, z, 0x1.657936p-6f);
    p = fmaf(p, z, -0x1.ba142ep-5f);
    p = fmaf(p, z, 0x1.111104p-3f);
    p = fmaf(p, z, -0x1.555556p-2f);
    return fmaf(a, z * p, a);
}

/* |x| < 0.55: polynomial; up to TANH_ONE: 1 - 2 / (e^(2|x|) + 1); beyond:
 * 1. The sign of x is put back on the bits. */
NMDL_INLINE float tanh_core(float x)
{
    uint32_t sign = bits_of(x) & 0x80000000u;
    float a = float_of(bits_of(x) ^ sign);
    float big = 1.0f - 2.0f / (exp_core(2.0f * a) + 1.0f);
    float y = pick(a < TANH_POLY_MAX, tanh_poly(a), big);
    y = pick(a > TANH_ONE, 1.0f, y);
    return pick(x == x, float_of(bits_of(y) | sign), quiet(x));
}

float nmdl_dm_tanh(float x)
{
    return tanh_core(x);
}

void nmdl_dm_tanh_array(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanh_core(x[i]);
}

/* --------------------------------------------------------------------- gelu */

#define GELU_C 0x1.6e4e26p-5f   /* 0.044715 rounded to float */
#define GELU_K -0x1.988454p+0f  /* -2 sqrt(2/pi) rounded to float */

/* x / (1 + e^(-2 sqrt(2/pi) (x + 0.044715 x^3))) = 0.5 x (1 + tanh(...)),
 * in the order dmath.h states; -inf gives -0 (not -inf / inf). */
NMDL_INLINE float gelu_core(float x)
{
    float x3 = (x * x) * x;
    float u = fmaf(GELU_C, x3, x);
    float y = x / (1.0f + exp_core(GELU_K * u));
    return pick(x > -INFINITY, y, x == x ? -0.0f : quiet(x));
}

float nmdl_dm_gelu(float x)
{
    return gelu_core(x);
}

NMDL_INLINE void gelu_loop(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = gelu_core(x[i]);
}

void nmdl_dm_gelu_array(const float *x, float *y, size_t n)
{
    gelu_loop(x, y, n);
}
NMDL_ISA_CLONES(void, gelu_loop, (const float *x, float *y, size_t n),
                gelu_loop(x, y, n);)

/* ------------------------------------------------------------------ softmax */

/* The largest of x[0 .. n-1] in *m, in 8 running maxima side by side (the
 * maximum of finite floats does not depend on the order, but for the sign
 * of a zero, which no result of softmax sees); 0 when every x is finite
 * (x * 0 is 0 for finite x and NaN for an infinity or NaN). */
NMDL_INLINE int row_max(const float *x, int n, float *m)
{
    float mm[8], z[8];
    int i = 0;
    for (int j = 0; j < 8; j++)
        mm[j] = x[0], z[j] = 0.0f;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            mm[j] = x[i + j] > mm[j] ? x[i + j] : mm[j];
            z[j] = z[j] + x[i + j] * 0.0f;
        }
    for (; i < n; i++) {
        mm[0] = x[i] > mm[0] ? x[i] : mm[0];
        z[0] = z[0] + x[i] * 0.0f;
    }
    for (int j = 1; j < 8; j++) {
        mm[0] = mm[j] > mm[0] ? mm[j] : mm[0];
        z[0] = z[0] + z[j];
    }
    *m = mm[0];
    return z[0] != 0.0f;
}

/* s[r] = p[r stride + 0] + p[r stride + 1] + ... for the R (<= 4) rows,
 * each added sequentially in index order, the rows' sums side by side. */
NMDL_INLINE void row_sums(const float *p, size_t stride, int R, int n, float *s)
{
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < n; i++) /* sequential: the order is the format */
        for (int r = 0; r < R; r++)
            acc[r] += p[(size_t)r * stride + i];
    for (int r = 0; r < R; r++)
        s[r] = acc[r];
}

/* Rows r0 .. r0+R-1 (R <= 4) of softmax_rows; returns how many had a
 * logit that is not finite (made uniform). */
NMDL_INLINE int softmax_group(const float *x, float *p, int R, int n,
                              size_t stride)
{
    int bad = 0, nbad = 0; /* bit r: row r is not finite */
    float s[4];
    for (int r = 0; r < R; r++) {
        const float *xr = x + (size_t)r * stride;
        float *pr = p + (size_t)r * stride, m;
        const int not_finite = row_max(xr, n, &m);
        if (not_finite)
            for (int i = 0; i < n; i++)
                pr[i] = 1.0f / (float)n;
        else
            for (int i = 0; i < n; i++)
                pr[i] = exp_core(xr[i] - m);
        bad |= not_finite << r, nbad += not_finite;
    }
    if (!bad && R == 4)
        row_sums(p, stride, 4, n, s);
    else if (!bad && R == 2)
        row_sums(p, stride, 2, n, s);
    else
        for (int r = 0; r < R; r++)
            row_sums(p + (size_t)r * stride, stride, 1, n, s + r);
    for (int r = 0; r < R; r++) /* s >= 1: the largest term is e^0 */
        for (int i = 0; !(bad >> r & 1) && i < n; i++)
            p[(size_t)r * stride + i] = p[(size_t)r * stride + i] / s[r];
    return nbad;
}

NMDL_INLINE int softmax_rows(const float *logits, float *p, int rows, int n,
                             size_t stride)
{
    if (!logits || !p || n < 1 || rows < 0 || (rows > 1 && stride < (size_t)n))
        return NMDL_ERR_ARG;
    int bad = 0;
    for (int r0 = 0; r0 < rows; r0 += 4) {
        const int R = rows - r0 < 4 ? rows - r0 : 4;
        bad += softmax_group(logits + (size_t)r0 * stride,
                             p + (size_t)r0 * stride, R, n, stride);
    }
    return bad;
}

int nmdl_dm_softmax(const float *logits, float *p, int n)
{
    const int rc = softmax_rows(logits, p, 1, n, (size_t)n);
    return rc > 0 ? NMDL_ERR_ARG : rc;
}

int nmdl_dm_softmax_rows(const float *logits, float *p, int rows, int n,
                         size_t stride)
{
    return softmax_rows(logits, p, rows, n, stride);
}
NMDL_ISA_CLONES(int, softmax_rows,
                (const float *logits, float *p, int rows, int n, size_t stride),
                return softmax_rows(logits, p, rows, n, stride);)

/* ------------------------------------------------------------ the variants */

static const nmdl_dm_kernels kernels[NMDL_ISA_COUNT] = {
    {nmdl_dm_exp_array, nmdl_dm_gelu_array, nmdl_dm_softmax_rows},
#if NMDL_ISA_X86
    {exp_loop_avx2, gelu_loop_avx2, softmax_rows_avx2},
    {exp_loop_avx512, gelu_loop_avx512, softmax_rows_avx512},
#endif
};

const nmdl_dm_kernels *nmdl_dm_kernels_for(nmdl_isa isa)
{
    return &kernels[NMDL_ISA_X86 ? isa : NMDL_ISA_PORTABLE];
}
