/*
 * test_dmath.c: the deterministic float functions are accurate (every 37th
 * float of the interesting ranges against double-precision libm), handle
 * special values as documented, compute the same bits in their array and
 * scalar forms, on every build and every instruction set (golden hash; the
 * array forms and softmax of the variant model/isa.h picks), and how fast
 * they are.
 *
 *   test_dmath [TEST_NAME_PATTERN]
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "model/dmath.h"
#include "nmdl.h"
#include "testutil.h"

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* The spacing of floats at the correctly rounded result r (2^-149 for
 * subnormals), in double. */
static double ulp_at(float r)
{
    int e;
    if (fabsf(r) < FLT_MIN)
        return 0x1p-149;
    frexp((double)r, &e); /* r = m 2^e, 0.5 <= |m| < 1 */
    return ldexp(1.0, e - 24);
}

/* |y - ref| in ulps of ref rounded to float; 0 when both are the same
 * infinity, 1e9 when only one is infinite or y is NaN. */
static double ulp_error(float y, double ref)
{
    float rf = (float)ref;
    if (isinf(rf) || isinf(y))
        return y == rf ? 0.0 : 1e9;
    if (isnan(y))
        return 1e9;
    return fabs((double)y - ref) / ulp_at(rf);
}

static double gelu_ref(double x)
{
    double u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
    return x / (1.0 + exp(-2.0 * u)); /* = 0.5 x (1 + tanh(u)), no cancellation */
}

/* -------------------------------------------------------------- accuracy */

typedef struct stats {
    double max, sum, at;
    long count;
} stats;

static void record(stats *s, float x, float y, double ref)
{
    double e = ulp_error(y, ref);
    if (e > s->max) {
        s->max = e;
        s->at = x;
    }
    s->sum += e;
    s->count++;
}

static void report(const char *name, const stats *s)
{
    print_message("%-28s max %.3f ulp (at x = %a), mean %.4f ulp, %ld inputs\n",
                  name, s->max, s->at, s->sum / (double)s->count, s->count);
}

/* The i-th float of a sweep over every 37th float with |x| in [lo, hi]:
 * bit pattern b and sign (i & 1); n_sweep(lo, hi) of them. */
static uint64_t n_sweep(float lo, float hi)
{
    return 2 * ((bits_of(hi) - bits_of(lo)) / 37 + 1);
}

static float sweep(float lo, uint64_t i)
{
    return float_of((bits_of(lo) + (uint32_t)(i / 2) * 37) | (uint32_t)(i & 1) << 31);
}

static void accuracy_exp(void **state)
{
    (void)state;
    stats s = {0};
    /* Past overflow and down to where e^x rounds to 0; below 2^-26 the
     * result is 1. */
    for (uint64_t i = 0; i < n_sweep(0x1p-26f, 104.0f); i++) {
        float x = sweep(0x1p-26f, i);
        record(&s, x, nmdl_dm_exp(x), exp((double)x));
    }
    report("exp", &s);
    assert_true(s.max <= 1.0);
}

static void accuracy_log(void **state)
{
    (void)state;
    stats s = {0};
    for (uint64_t i = 0; i < n_sweep(0x1p-149f, FLT_MAX); i += 2) {
        float x = sweep(0x1p-149f, i); /* every positive finite float */
        record(&s, x, nmdl_dm_log(x), log((double)x));
    }
    report("log", &s);
    assert_true(s.max <= 1.0);
}

static void accuracy_tanh(void **state)
{
    (void)state;
    stats s = {0};
    for (uint64_t i = 0; i < n_sweep(0x1p-14f, 10.0f); i++) {
        float x = sweep(0x1p-14f, i);
        record(&s, x, nmdl_dm_tanh(x), tanh((double)x));
    }
    report("tanh", &s);
    assert_true(s.max <= 2.0);
}

/* In ulps for x >= 0 and for -2 <= x < 0, and absolute (scaled by |x| past
 * 1) everywhere: u = x + 0.044715 x^3 and -2 sqrt(2/pi) u are rounded before
 * exp, and where gelu(x) is close to 0 its relative error is that rounding
 * times |2 sqrt(2/pi) u|. */
static void accuracy_gelu(void **state)
{
    (void)state;
    stats pos = {0}, neg = {0};
    double abs_max = 0, abs_at = 0;
    for (uint64_t i = 0; i < n_sweep(0x1p-20f, 20.0f); i++) {
        float x = sweep(0x1p-20f, i), y = nmdl_dm_gelu(x);
        double ref = gelu_ref(x);
        if (x >= 0.0f)
            record(&pos, x, y, ref);
        else if (x >= -2.0f)
            record(&neg, x, y, ref);
        double a = fabs(y - ref) / fmax(1.0, fabs(x));
        if (a > abs_max) {
            abs_max = a;
            abs_at = x;
        }
    }
    report("gelu (x >= 0)", &pos);
    report("gelu (-2 <= x < 0)", &neg);
    print_message("%-28s max 2^%.2f (at x = %a)\n", "gelu |error| / max(1, |x|)",
                  log2(abs_max), abs_at);
    assert_true(pos.max <= 2.0);
    assert_true(neg.max <= 8.0);
    assert_true(abs_max <= 0x1p-22);
}

/* Softmax of random logits against double arithmetic, in ulps of each
 * probability: exactly, and given the rounded differences z[i] - max, whose
 * rounding (up to 2^-24 |z[i] - max| relative) dominates the first; what
 * remains is mostly the sequential float sum. */
static void accuracy_softmax(void **state)
{
    (void)state;
    tu_rng r = {20};
    stats exact = {0}, given = {0};
    static float z[256], p[256];
    for (int t = 0; t < 2000; t++) {
        int n = 1 + (int)tu_below(&r, 256);
        double spread = 1.0 + 7.0 * tu_uniform(&r), sum = 0, sumf = 0;
        float m = -FLT_MAX;
        for (int i = 0; i < n; i++) {
            z[i] = (float)(spread * tu_normal(&r));
            m = fmaxf(m, z[i]);
        }
        assert_nmdl_ok(nmdl_dm_softmax(z, p, n));
        for (int i = 0; i < n; i++) {
            sum += exp((double)z[i] - m);
            sumf += exp((double)(z[i] - m));
        }
        for (int i = 0; i < n; i++) {
            record(&exact, (float)i, p[i], exp((double)z[i] - m) / sum);
            record(&given, (float)i, p[i], exp((double)(z[i] - m)) / sumf);
        }
    }
    report("softmax (n <= 256)", &exact);
    report("softmax given z - max", &given);
    assert_true(given.max <= 32.0);
}

/* -------------------------------------------------------- special values */

static int same_bits(float a, float b)
{
    return bits_of(a) == bits_of(b);
}

static void special_values(void **state)
{
    (void)state;
    const float inf = INFINITY, nan = NAN, tiny = 0x1p-149f;
    /* exp */
    assert_true(same_bits(nmdl_dm_exp(0.0f), 1.0f));
    assert_true(same_bits(nmdl_dm_exp(-0.0f), 1.0f));
    assert_true(same_bits(nmdl_dm_exp(inf), inf));
    assert_true(same_bits(nmdl_dm_exp(-inf), 0.0f));
    assert_true(isnan(nmdl_dm_exp(nan)) && isnan(nmdl_dm_exp(-nan)));
    assert_true(ulp_error(nmdl_dm_exp(0x1.62e42ep+6f), exp(0x1.62e42ep+6)) <= 1.0);
    assert_true(same_bits(nmdl_dm_exp(0x1.62e430p+6f), inf));
    assert_true(same_bits(nmdl_dm_exp(FLT_MAX), inf));
    assert_true(same_bits(nmdl_dm_exp(-103.972f), tiny)); /* 2^-150 * 1.00008 */
    assert_true(same_bits(nmdl_dm_exp(-103.973f), 0.0f));
    assert_true(same_bits(nmdl_dm_exp(-FLT_MAX), 0.0f));
    assert_true(same_bits(nmdl_dm_exp(tiny), 1.0f));
    assert_true(same_bits(nmdl_dm_exp(-tiny), 1.0f));
    assert_true(nmdl_dm_exp(-87.5f) < FLT_MIN && nmdl_dm_exp(-87.5f) > 0.0f);
    assert_true(same_bits(nmdl_dm_exp(1.0f), 0x1.5bf0a8p+1f)); /* e */
    /* log */
    assert_true(same_bits(nmdl_dm_log(1.0f), 0.0f));
    assert_true(same_bits(nmdl_dm_log(0.0f), -inf));
    assert_true(same_bits(nmdl_dm_log(-0.0f), -inf));
    assert_true(same_bits(nmdl_dm_log(inf), inf));
    assert_true(bits_of(nmdl_dm_log(-1.0f)) == 0x7fc00000u);
    assert_true(bits_of(nmdl_dm_log(-inf)) == 0x7fc00000u);
    assert_true(bits_of(nmdl_dm_log(-tiny)) == 0x7fc00000u);
    assert_true(isnan(nmdl_dm_log(nan)));
    assert_true(nmdl_dm_log(tiny) == (float)(-149 * 0.6931471805599453));
    assert_true(nmdl_dm_log(FLT_MAX) == (float)log((double)FLT_MAX));
    assert_true(same_bits(nmdl_dm_log(0x1.5bf0a8p+1f), 1.0f));
    /* tanh */
    assert_true(same_bits(nmdl_dm_tanh(0.0f), 0.0f));
    assert_true(same_bits(nmdl_dm_tanh(-0.0f), -0.0f));
    assert_true(same_bits(nmdl_dm_tanh(tiny), tiny));
    assert_true(same_bits(nmdl_dm_tanh(-tiny), -tiny));
    assert_true(same_bits(nmdl_dm_tanh(0x1p-12f), 0x1p-12f));
    assert_true(same_bits(nmdl_dm_tanh(inf), 1.0f));
    assert_true(same_bits(nmdl_dm_tanh(-inf), -1.0f));
    assert_true(same_bits(nmdl_dm_tanh(9.5f), 1.0f));
    assert_true(same_bits(nmdl_dm_tanh(9.0f), 0x1.fffffep-1f));
    assert_true(same_bits(nmdl_dm_tanh(-FLT_MAX), -1.0f));
    assert_true(isnan(nmdl_dm_tanh(nan)));
    /* gelu */
    assert_true(same_bits(nmdl_dm_gelu(0.0f), 0.0f));
    assert_true(same_bits(nmdl_dm_gelu(-0.0f), -0.0f));
    assert_true(same_bits(nmdl_dm_gelu(inf), inf));
    assert_true(same_bits(nmdl_dm_gelu(-inf), -0.0f));
    assert_true(same_bits(nmdl_dm_gelu(FLT_MAX), FLT_MAX));
    assert_true(same_bits(nmdl_dm_gelu(-FLT_MAX), -0.0f));
    assert_true(same_bits(nmdl_dm_gelu(-30.0f), -0.0f));
    assert_true(same_bits(nmdl_dm_gelu(30.0f), 30.0f));
    assert_true(same_bits(nmdl_dm_gelu(tiny), 0.0f)); /* tiny/2 rounds to even */
    assert_true(same_bits(nmdl_dm_gelu(0x1p-30f), 0x1p-31f));
    assert_true(isnan(nmdl_dm_gelu(nan)));
    /* softmax */
    float z[4] = {1.0f, 1.0f, 1.0f, 1.0f}, p[4];
    assert_nmdl_ok(nmdl_dm_softmax(z, p, 4));
    for (int i = 0; i < 4; i++)
        assert_true(p[i] == 0.25f);
    float big[3] = {FLT_MAX, -FLT_MAX, 0.0f};
    assert_nmdl_ok(nmdl_dm_softmax(big, p, 3));
    assert_true(p[0] == 1.0f && p[1] == 0.0f && p[2] == 0.0f);
    assert_nmdl_ok(nmdl_dm_softmax(z, z, 1)); /* in place */
    assert_true(z[0] == 1.0f);
    z[2] = nan;
    assert_int_equal(nmdl_dm_softmax(z, p, 4), NMDL_ERR_ARG);
    z[2] = -inf;
    assert_int_equal(nmdl_dm_softmax(z, p, 4), NMDL_ERR_ARG);
    assert_int_equal(nmdl_dm_softmax(z, p, 0), NMDL_ERR_ARG);
    assert_int_equal(nmdl_dm_softmax(NULL, p, 1), NMDL_ERR_ARG);
    assert_int_equal(nmdl_dm_softmax(z, NULL, 1), NMDL_ERR_ARG);
}

/* ----------------------------------------------------------- golden hash */

typedef float (*scalar_fn)(float);
typedef void (*array_fn)(const float *, float *, size_t);

static const struct {
    const char *name;
    scalar_fn f;
} fns[] = {
    {"exp", nmdl_dm_exp},
    {"log", nmdl_dm_log},
    {"tanh", nmdl_dm_tanh},
    {"gelu", nmdl_dm_gelu},
};
enum { NFNS = sizeof fns / sizeof fns[0] };

/* The array form of fns[f]: for exp and gelu the variant a context picks. */
static array_fn array_of(int f)
{
    const nmdl_dm_kernels *k = nmdl_dm_kernels_for(nmdl_isa_choose());
    const array_fn a[NFNS] = {k->exp_array, nmdl_dm_log_array,
                              nmdl_dm_tanh_array, k->gelu_array};
    return a[f];
}

/* Little-endian bits; any NaN as 0x7fc00000 (payloads of NaNs that come in
 * are not pinned: some machines do not propagate them). */
static void hash_floats(crypto_generichash_state *h, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = y[i] != y[i] ? 0x7fc00000u : bits_of(y[i]);
        uint8_t le[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16),
                         (uint8_t)(u >> 24)};
        crypto_generichash_update(h, le, 4);
    }
}

/* The inputs: special values, 2^16 bit patterns spread over all floats,
 * and 2^16 values int32 / 2^26 in (-32, 32), all from integers (int -> float
 * conversion is correctly rounded; no libm). */
enum { NIN = 16 + 2 * 65536 };

static void golden_inputs(float *x)
{
    static const uint32_t special[16] = {
        0x00000000, 0x80000000, 0x7f800000, 0xff800000, /* +-0, +-inf */
        0x7fc00000, 0x00000001, 0x807fffff,             /* NaN, subnormals */
        0x7f7fffff, 0xff7fffff,                         /* +-FLT_MAX */
        0x42b17217, 0x42b17218, /* around exp's overflow threshold */
        0xc2cff1b4, 0xc2cff1b5, /* around -150 ln 2, where exp rounds to 0 */
        0x3f800000, 0x39800000, /* 1, 2^-12 */
        0x41102cb3};            /* 13 ln2 / 2, where tanh becomes 1 */
    tu_rng r = {30};
    for (int i = 0; i < 16; i++)
        x[i] = float_of(special[i]);
    for (uint32_t i = 0; i < 65536; i++)
        x[16 + i] = float_of(i * 65537u + (uint32_t)tu_below(&r, 65537));
    for (int i = 0; i < 65536; i++)
        x[16 + 65536 + i] = (float)(int32_t)tu_next(&r) * 0x1p-26f;
}

/* The outputs are part of the file format: a change here changes what
 * decoders compute. This hash pins them on every machine and build; update
 * it only together with a format version. */
static void golden_outputs(void **state)
{
    (void)state;
    float *x = malloc(NIN * sizeof *x), *y = malloc(NIN * sizeof *y);
    float *ya = malloc(NIN * sizeof *ya);
    assert_true(x && y && ya);
    golden_inputs(x);
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 16);
    for (int f = 0; f < NFNS; f++) {
        for (int i = 0; i < NIN; i++)
            y[i] = fns[f].f(x[i]);
        for (size_t off = 0; off < 4; off++) { /* the array form agrees */
            array_of(f)(x + off, ya, NIN - off);
            for (size_t i = 0; i < NIN - off; i++)
                if (bits_of(ya[i]) != bits_of(y[i + off]))
                    fail_msg("%s_array(%a) = %a, scalar %a", fns[f].name,
                             x[i + off], ya[i], y[i + off]);
        }
        hash_floats(&h, y, NIN);
    }
    const nmdl_dm_kernels *k = nmdl_dm_kernels_for(nmdl_isa_choose());
    tu_rng r = {31};
    for (int t = 0; t < 300; t++) { /* softmax of fixed-point logits */
        int n = 1 + (int)tu_below(&r, 256);
        for (int i = 0; i < n; i++)
            x[i] = (float)(int32_t)tu_next(&r) * 0x1p-28f; /* (-8, 8) */
        assert_int_equal(k->softmax_rows(x, y, 1, n, (size_t)n), 0);
        hash_floats(&h, y, (size_t)n);
    }
    uint8_t sum[16];
    char hex[33];
    crypto_generichash_final(&h, sum, 16);
    sodium_bin2hex(hex, sizeof hex, sum, 16);
    print_message("golden hash %s\n", hex);
    assert_string_equal(hex, GOLDEN_DMATH_HASH);
    free(x);
    free(y);
    free(ya);
}

/* Rows side by side give each row the bits of nmdl_dm_softmax, in every
 * variant this CPU runs, for 1 to 9 rows (groups of 4, 2 and 1), with rows
 * of signed zeros (their maximum's sign differs by order) and rows with a
 * -inf or a NaN, which become uniform; apart and in place. */
static void softmax_rows_agree(void **state)
{
    (void)state;
    enum { N = 37, STRIDE = 40, ROWS = 9 };
    float x[ROWS * STRIDE], want[ROWS * STRIDE], got[ROWS * STRIDE];
    tu_rng r = {77};
    for (int i = 0; i < ROWS * STRIDE; i++)
        x[i] = (float)(int32_t)tu_next(&r) * 0x1p-27f;
    for (int i = 0; i < N; i++) /* zeros of both signs, then negatives */
        x[2 * STRIDE + i] = i % 3 == 2 ? -1.5f : i % 3 ? -0.0f : 0.0f;
    x[5 * STRIDE + 7] = -INFINITY;
    x[7 * STRIDE + 3] = NAN;
    for (int v = 0; v <= (int)nmdl_isa_best(); v++) {
        const nmdl_dm_kernels *k = nmdl_dm_kernels_for((nmdl_isa)v);
        for (int rows = 1; rows <= ROWS; rows++) {
            int bad = 0;
            for (int q = 0; q < rows; q++) {
                float *w = want + q * STRIDE;
                if (nmdl_dm_softmax(x + q * STRIDE, w, N) != NMDL_OK) {
                    bad++;
                    for (int i = 0; i < N; i++)
                        w[i] = 1.0f / N;
                }
            }
            assert_int_equal(k->softmax_rows(x, got, rows, N, STRIDE), bad);
            for (int q = 0; q < rows; q++)
                for (int i = 0; i < N; i++)
                    assert_true(same_bits(got[q * STRIDE + i], want[q * STRIDE + i]));
            memcpy(got, x, sizeof x); /* in place, as the coding path calls it */
            assert_int_equal(k->softmax_rows(got, got, rows, N, STRIDE), bad);
            for (int q = 0; q < rows; q++)
                for (int i = 0; i < N; i++)
                    assert_true(same_bits(got[q * STRIDE + i], want[q * STRIDE + i]));
        }
    }
    assert_int_equal(nmdl_dm_softmax_rows(x, got, 2, N, N - 1), NMDL_ERR_ARG);
    assert_int_equal(nmdl_dm_softmax_rows(x, got, -1, N, N), NMDL_ERR_ARG);
}

/* ------------------------------------------------------------ throughput */

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Values per second of the array forms on 2^16 inputs (in cache): (-8, 8),
 * for log (0, 8); repeated for about 0.2 s; for the record only. */
static void throughput(void **state)
{
    (void)state;
    enum { N = 65536 };
    float *x = malloc(N * sizeof *x), *xp = malloc(N * sizeof *xp);
    float *y = malloc(N * sizeof *y);
    assert_true(x && xp && y);
    tu_rng r = {40};
    for (int i = 0; i < N; i++) {
        x[i] = (float)(int32_t)tu_next(&r) * 0x1p-28f;
        xp[i] = (float)(tu_next(&r) >> 40) * 0x1p-21f + 0x1p-21f;
    }
    for (int f = 0; f < NFNS; f++) {
        const float *in = !strcmp(fns[f].name, "log") ? xp : x;
        long reps = 0;
        double t0 = seconds(), t;
        do {
            array_of(f)(in, y, N);
            reps++;
        } while ((t = seconds() - t0) < 0.2);
        print_message("%-4s_array %8.1f M values/s\n", fns[f].name,
                      (double)reps * N / t * 1e-6);
    }
    free(x);
    free(xp);
    free(y);
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return 1;
    tu_isa();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accuracy_exp),
        cmocka_unit_test(accuracy_log),
        cmocka_unit_test(accuracy_tanh),
        cmocka_unit_test(accuracy_gelu),
        cmocka_unit_test(accuracy_softmax),
        cmocka_unit_test(special_values),
        cmocka_unit_test(softmax_rows_agree),
        cmocka_unit_test(golden_outputs),
        cmocka_unit_test(throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
