/*
 * test_freq.c: probability vectors become valid coder tables (every entry
 * >= 1, sum 2^bits) for any input, always the same ones (golden hash), and
 * the cost of the rounding is measured on realistic distributions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec/freq.h"
#include "codec/rc.h"
#include "nmdl.h"
#include "testutil.h"

static void assert_valid(const uint32_t *f, int n, int bits)
{
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        assert_true(f[i] >= 1);
        sum += f[i];
    }
    assert_int_equal(sum, 1ull << bits);
}

/* A float from random bits: exponent 2^-40 .. 2^0, or zero. No libm, so
 * the same on every machine. */
static float random_float(tu_rng *r)
{
    uint64_t x = tu_next(r);
    if ((x & 7) == 0)
        return 0.0f;
    uint32_t bits = (uint32_t)((87 + (x >> 3) % 41) << 23) | (uint32_t)(x >> 40 & 0x7FFFFF);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static void valid_on_random_inputs(void **state)
{
    (void)state;
    tu_rng r = {10};
    float p[256];
    uint32_t f[256];
    for (int iter = 0; iter < 20000; iter++) {
        int n = 1 + (int)tu_below(&r, 256);
        int bits = NMDL_FREQ_MIN_BITS + (int)tu_below(&r, NMDL_RC_MAX_BITS - NMDL_FREQ_MIN_BITS + 1);
        for (int i = 0; i < n; i++)
            p[i] = random_float(&r);
        if (iter % 5 == 0) /* one dominant symbol */
            p[tu_below(&r, (uint32_t)n)] = 1e30f;
        assert_nmdl_ok(nmdl_freq_from_probs(p, n, bits, f));
        assert_valid(f, n, bits);
    }
}

static void special_values(void **state)
{
    (void)state;
    float p[256];
    uint32_t f[256];
    for (int i = 0; i < 256; i++)
        p[i] = (i % 4 == 0) ? NAN : (i % 4 == 1) ? -1.0f : (i % 4 == 2) ? INFINITY : 0.0f;
    assert_nmdl_ok(nmdl_freq_from_probs(p, 256, 16, f)); /* nothing usable: uniform */
    for (int i = 0; i < 256; i++)
        assert_int_equal(f[i], 256);
    p[7] = 1e-45f; /* one denormal carries all the mass */
    assert_nmdl_ok(nmdl_freq_from_probs(p, 256, 16, f));
    assert_valid(f, 256, 16);
    assert_int_equal(f[7], 65536 - 255);
    float two[2] = {3.0f, 1.0f};
    assert_nmdl_ok(nmdl_freq_from_probs(two, 2, 16, f));
    assert_int_equal(f[0], 49152);
    assert_int_equal(f[1], 16384);
    float one = 0.5f;
    assert_nmdl_ok(nmdl_freq_from_probs(&one, 1, 15, f));
    assert_int_equal(f[0], 32768);
    assert_int_equal(nmdl_freq_from_probs(p, 256, 14, f), NMDL_ERR_ARG);
    assert_int_equal(nmdl_freq_from_probs(p, 0, 16, f), NMDL_ERR_ARG);
    assert_int_equal(nmdl_freq_from_probs(p, 256, 25, f), NMDL_ERR_ARG);
}

/* The tables are part of the file format: a change of this function changes
 * what decoders compute. This hash pins them; update it only together with
 * a format version. */
static void golden_tables(void **state)
{
    (void)state;
    tu_rng r = {11};
    float p[256];
    uint32_t f[256];
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 16);
    for (int iter = 0; iter < 2000; iter++) {
        int n = 1 + (int)tu_below(&r, 256), bits = 15 + iter % 2;
        for (int i = 0; i < n; i++)
            p[i] = random_float(&r);
        assert_nmdl_ok(nmdl_freq_from_probs(p, n, bits, f));
        for (int i = 0; i < n; i++) { /* little-endian, whatever the host */
            uint8_t le[4] = {(uint8_t)f[i], (uint8_t)(f[i] >> 8),
                             (uint8_t)(f[i] >> 16), (uint8_t)(f[i] >> 24)};
            crypto_generichash_update(&h, le, 4);
        }
    }
    uint8_t sum[16];
    char hex[33];
    crypto_generichash_final(&h, sum, 16);
    sodium_bin2hex(hex, sizeof hex, sum, 16);
    assert_string_equal(hex, GOLDEN_FREQ_HASH);
}

/* Kullback-Leibler divergence D(p || freq/2^bits) in bits per symbol and the
 * entropy of p in bits, for a normalised p. */
static void cost(const double *p, int n, int bits, double *kl, double *h)
{
    float *pf = malloc((size_t)n * sizeof *pf);
    uint32_t *f = malloc((size_t)n * sizeof *f);
    assert_true(pf && f);
    for (int i = 0; i < n; i++)
        pf[i] = (float)p[i];
    assert_nmdl_ok(nmdl_freq_from_probs(pf, n, bits, f));
    *kl = *h = 0.0;
    for (int i = 0; i < n; i++)
        if (p[i] > 0) {
            *h -= p[i] * log2(p[i]);
            *kl += p[i] * log2(p[i] / ((double)f[i] / (double)(1u << bits)));
        }
    free(pf);
    free(f);
}

static const int totals[] = {15, 16, 20, 24}; /* log2 of the totals measured */

/* Softmax of normal logits at several temperatures: peaked to flat. */
static void overhead_softmax(void **state)
{
    (void)state;
    tu_rng r = {12};
    static const double spreads[] = {0.5, 1, 2, 3, 4, 6, 8};
    print_message("%-28s %8s %12s %12s\n", "distribution", "bits",
                  "H bits/sym", "KL bits/sym");
    for (size_t s = 0; s < sizeof spreads / sizeof spreads[0]; s++)
        for (size_t b = 0; b < sizeof totals / sizeof totals[0]; b++) {
            int bits = totals[b];
            double kl = 0, h = 0;
            for (int t = 0; t < 200; t++) {
                double p[256], z = 0, k1, h1;
                for (int i = 0; i < 256; i++)
                    z += p[i] = exp(spreads[s] * tu_normal(&r));
                for (int i = 0; i < 256; i++)
                    p[i] /= z;
                cost(p, 256, bits, &k1, &h1);
                kl += k1 / 200;
                h += h1 / 200;
            }
            print_message("softmax(%.1f * normal)%*s %8d %12.4f %12.6f\n",
                          spreads[s], 6, "", bits, h, kl);
            assert_true(kl < 0.01 + 0.002 * h);
        }
}

/* Token alphabets (issue 16's vocabularies of up to a few thousand): the
 * softmax of normal logits and a Zipf law (p_i ~ 1/(i+1), words' shape),
 * at the neural coder's 2^24 and at 2^20. Every symbol keeps at least one
 * count, so the floor takes at most V / 2^bits of the mass: at most
 * -log2(1 - V / 2^bits) bits a symbol, 0.00035 for V 4096 at 2^24 whatever
 * the distribution. Measured at 2^24: at most 0.08% of the entropy (V
 * 16384, the most peaked softmax); at 2^20 up to 1.0%. */
static void overhead_large_alphabets(void **state)
{
    (void)state;
    tu_rng r = {13};
    static const int sizes[] = {1024, 4096, 16384};
    static const double spreads[] = {2, 4, 8, 0}; /* 0: Zipf */
    for (size_t v = 0; v < sizeof sizes / sizeof sizes[0]; v++)
        for (size_t s = 0; s < sizeof spreads / sizeof spreads[0]; s++)
            for (int bits = 20; bits <= 24; bits += 4) {
                int n = sizes[v];
                double *p = malloc((size_t)n * sizeof *p), kl = 0, h = 0;
                assert_non_null(p);
                for (int t = 0; t < 20; t++) {
                    double k1, h1, z = 0;
                    for (int i = 0; i < n; i++)
                        z += p[i] = spreads[s] > 0 ? exp(spreads[s] * tu_normal(&r))
                                                   : 1.0 / (i + 1);
                    for (int i = 0; i < n; i++)
                        p[i] /= z;
                    cost(p, n, bits, &k1, &h1);
                    kl += k1 / 20;
                    h += h1 / 20;
                }
                free(p);
                char name[32];
                snprintf(name, sizeof name, spreads[s] > 0 ? "softmax(%.0f * normal)" : "Zipf",
                         spreads[s]);
                print_message("V %5d %-20s %8d %12.4f %12.6f (%.3f%%)\n", n, name, bits,
                              h, kl, 100 * kl / h);
                if (bits == 24)
                    assert_true(kl < 0.002 * h);
            }
}

/* The order-2 conditional byte distributions of 1 MB of enwik8, weighted by
 * how often each context occurs: the cost a perfect order-2 model would pay
 * for the rounding, relative to its entropy. */
static void overhead_order2_enwik8(void **state)
{
    (void)state;
    enum { N = 1000000 };
    uint8_t *text = tu_corpus(N);
    if (!text)
        skip();
    uint32_t *counts = calloc(65536 * 256, sizeof *counts);
    assert_non_null(counts);
    for (size_t i = 2; i < N; i++)
        counts[((size_t)text[i - 2] << 16 | (size_t)text[i - 1] << 8) + text[i]]++;
    for (size_t b = 0; b < sizeof totals / sizeof totals[0]; b++) {
        int bits = totals[b];
        double kl = 0, h = 0;
        for (size_t c = 0; c < 65536; c++) {
            uint32_t *k = counts + c * 256, total = 0;
            for (int i = 0; i < 256; i++)
                total += k[i];
            if (!total)
                continue;
            double p[256], k1, h1;
            for (int i = 0; i < 256; i++)
                p[i] = (double)k[i] / total;
            cost(p, 256, bits, &k1, &h1);
            kl += k1 * total / (N - 2);
            h += h1 * total / (N - 2);
        }
        print_message("order-2 enwik8 (1 MB)        %8d %12.4f %12.6f (%.3f%%)\n",
                      bits, h, kl, 100 * kl / h);
        assert_true(kl < 0.01 * h);
    }
    free(counts);
    free(text);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_on_random_inputs),
        cmocka_unit_test(special_values),
        cmocka_unit_test(golden_tables),
        cmocka_unit_test(overhead_softmax),
        cmocka_unit_test(overhead_order2_enwik8),
        cmocka_unit_test(overhead_large_alphabets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
