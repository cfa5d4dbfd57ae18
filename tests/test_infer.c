/*
 * test_infer.c: the deterministic coding-path forward pass agrees with the
 * training forward pass (up to float rounding), slides its window exactly
 * like a training window of ctx bytes, does not depend on how segments are
 * batched or on the instruction set (model/isa.h), and is pinned bit for
 * bit by a golden hash; so are the teacher's samples drawn through it.
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
#include "model/infer.h"
#include "model/rng.h"
#include "model/transformer.h"
#include "nmdl.h"
#include "testutil.h"

enum { CTX = 16, LEN = 3 * CTX };

/* A model whose weights come from integer arithmetic only (no libm), so
 * the golden hash sees the same weights on every machine. */
static nmdl_model *model_of(nmdl_model_config c)
{
    nmdl_model *m;
    assert_nmdl_ok(nmdl_model_create(&c, 1, &m));
    tu_rng r = {40};
    for (size_t i = 0; i < m->lay.n_params; i++) /* uniform in +-1/8 */
        m->params[i] = (float)((int32_t)(tu_next(&r) >> 40) - (1 << 23)) * 0x1p-26f;
    for (int k = 0; k < m->lay.n_tensors; k++) /* gains near 1 */
        if (strstr(m->lay.tensor[k].name, "_g"))
            for (int i = 0; i < m->lay.tensor[k].cols; i++)
                m->params[m->lay.tensor[k].off + i] += 1.0f;
    return m;
}

static nmdl_model *model(int layers, int tied)
{
    return model_of((nmdl_model_config){layers, 32, 4, 48, CTX, tied, {0}});
}

static void text(uint8_t *s, int n)
{
    tu_rng r = {41};
    for (int i = 0; i < n; i++)
        s[i] = (uint8_t)("abcdefgh ,."[tu_below(&r, 11)]);
}

/* Probabilities of the training forward at the last position of the
 * window ending at byte t (the window holds bytes max(0, t-CTX+1) .. t). */
static void training_probs(nmdl_model *m, const uint8_t *s, int t, float *p)
{
    int start = t + 1 > CTX ? t + 1 - CTX : 0, T = t + 1 - start;
    uint8_t y[CTX] = {0};
    double loss;
    assert_nmdl_ok(nmdl_tf_reserve(m, 1, CTX));
    assert_nmdl_ok(nmdl_tf_forward(m, s + start, y, 1, T, &loss));
    memcpy(p, m->a.probs + (size_t)(T - 1) * 256, 256 * sizeof(float));
}

/* Largest |log p_coding - log p_training| over bytes with p > 1e-4 at
 * positions 0 .. n-1 of a model with `layers` blocks. */
static double max_log_gap(int layers, int tied, int n)
{
    nmdl_model *m = model(layers, tied);
    uint8_t s[LEN];
    text(s, LEN);
    nmdl_inf *f;
    assert_nmdl_ok(nmdl_inf_create(&m->cfg, m->params, 1, &f));
    double worst = 0;
    for (int t = 0; t < n; t++) {
        float a[256], b[256];
        nmdl_inf_step(f, s + t, a);
        training_probs(m, s, t, b);
        for (int i = 0; i < 256; i++)
            if (b[i] > 1e-4)
                worst = fmax(worst, fabs(log(a[i]) - log(b[i])));
    }
    nmdl_inf_free(f);
    nmdl_model_free(m);
    return worst;
}

/* Within the first window both passes see the same bytes: they differ only
 * by rounding (order of sums, sgemm against fma chains, libm's expf against
 * dmath's exp). */
static void matches_training_forward(void **state)
{
    (void)state;
    for (int tied = 0; tied <= 1; tied++) {
        double gap = max_log_gap(2, tied, CTX);
        print_message("coding vs training forward, 2 layers %s: max |log p "
                      "difference| %.2e over the first window\n",
                      tied ? "tied" : "untied", gap);
        assert_true(gap < 1e-4);
    }
}

/* Past the first window a one-block model sees exactly the ctx newest bytes,
 * as a training window ending there does. (With more blocks the cached keys
 * of older positions carry their own earlier context, so deeper layers see
 * further back than a fresh training window; that is the design.) */
static void window_slides_like_training(void **state)
{
    (void)state;
    double gap = max_log_gap(1, 1, LEN);
    print_message("one block, %d positions (window %d): max |log p difference| "
                  "%.2e\n", LEN, CTX, gap);
    assert_true(gap < 1e-4);
}

/* Five segments in one batch give the bits of five separate passes. */
static void batching_does_not_matter(void **state)
{
    (void)state;
    nmdl_model *m = model(2, 1);
    enum { S = 5 };
    uint8_t s[S][LEN];
    for (int k = 0; k < S; k++) {
        text(s[k], LEN);
        s[k][k] = (uint8_t)('A' + k); /* make the segments differ */
    }
    nmdl_inf *all, *one[S];
    assert_nmdl_ok(nmdl_inf_create(&m->cfg, m->params, S, &all));
    for (int k = 0; k < S; k++)
        assert_nmdl_ok(nmdl_inf_create(&m->cfg, m->params, 1, &one[k]));
    for (int t = 0; t < LEN; t++) {
        uint8_t tok[S];
        float pa[S * 256], p1[256];
        for (int k = 0; k < S; k++)
            tok[k] = s[k][t];
        nmdl_inf_step(all, tok, pa);
        for (int k = 0; k < S; k++) {
            nmdl_inf_step(one[k], &tok[k], p1);
            assert_memory_equal(pa + k * 256, p1, sizeof p1);
        }
    }
    nmdl_inf_free(all);
    for (int k = 0; k < S; k++)
        nmdl_inf_free(one[k]);
    nmdl_model_free(m);
}

/* Every output bit, hashed: a second build (another compiler, -O0, no
 * -march) must print the same hash. */
static void golden_probabilities(void **state)
{
    (void)state;
    nmdl_model *m = model(2, 0);
    uint8_t s[2][LEN];
    text(s[0], LEN);
    text(s[1], LEN);
    s[1][3] = 'z';
    nmdl_inf *f;
    assert_nmdl_ok(nmdl_inf_create(&m->cfg, m->params, 2, &f));
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 16);
    for (int t = 0; t < LEN; t++) {
        uint8_t tok[2] = {s[0][t], s[1][t]};
        float p[2 * 256];
        nmdl_inf_step(f, tok, p);
        for (int i = 0; i < 2 * 256; i++) {
            uint32_t b;
            memcpy(&b, &p[i], 4);
            uint8_t le[4] = {(uint8_t)b, (uint8_t)(b >> 8), (uint8_t)(b >> 16),
                             (uint8_t)(b >> 24)};
            crypto_generichash_update(&h, le, 4);
        }
    }
    uint8_t sum[16];
    char hex[33];
    crypto_generichash_final(&h, sum, 16);
    sodium_bin2hex(hex, sizeof hex, sum, 16);
    print_message("golden inference hash %s\n", hex);
    assert_string_equal(hex, GOLDEN_INFER_HASH);
    nmdl_inf_free(f);
    nmdl_model_free(m);
}

/* The teacher (codec/teacher.c): its bytes pinned by a golden hash (the
 * same on every instruction set and build), a stream's first byte 8 bits,
 * the lengths summing to the total; and at temperature 1 the total is what
 * the range coder spends coding the sample under the model's own tables,
 * to within the coder's flush. */
static void teacher_samples(void **state)
{
    (void)state;
    nmdl_model *m = model(2, 0);
    enum { N = 301, S = 3 };
    uint8_t out[N], again[N];
    float bits[N];
    double total, total2, sum = 0;
    assert_nmdl_ok(nmdl_teacher_sample(m, 0.7, S, 5, N, out, bits, &total));
    assert_nmdl_ok(nmdl_teacher_sample(m, 0.7, S, 5, N, again, NULL, &total2));
    assert_memory_equal(out, again, N);
    assert_true(total == total2);
    for (int i = 0; i < N; i++)
        sum += bits[i], assert_true(bits[i] >= 0);
    assert_true(bits[0] == 8 && bits[101] == 8 && bits[201] == 8); /* stream starts */
    assert_true(fabs(sum - total) < 1e-6 * total);
    tu_assert_golden(out, N, "teacher", GOLDEN_TEACHER_HASH);
    /* coded under the model's own tables, one stream at temperature 1 */
    assert_nmdl_ok(nmdl_teacher_sample(m, 1.0, 1, 6, N, out, NULL, &total));
    nmdl_inf *f;
    assert_nmdl_ok(nmdl_inf_create(&m->cfg, m->params, 1, &f));
    nmdl_rc_enc e;
    nmdl_rc_enc_init(&e);
    nmdl_rc_encode(&e, out[0], 1, 8);
    for (int t = 1; t < N; t++) {
        float p[256];
        uint32_t freq[256], cum[257];
        nmdl_inf_step(f, &out[t - 1], p);
        assert_int_equal(nmdl_freq_from_probs(p, 256, 24, freq), 0);
        nmdl_freq_cumulate(freq, 256, cum);
        nmdl_rc_encode(&e, cum[out[t]], freq[out[t]], 24);
    }
    uint8_t *coded;
    size_t len;
    assert_int_equal(nmdl_rc_enc_finish(&e, &coded, &len), 0);
    print_message("teacher: %.1f bits, coded in %zu bytes\n", total, len);
    assert_true(len * 8.0 >= total && len * 8.0 <= total + 64);
    free(coded);
    nmdl_inf_free(f);
    assert_int_equal(nmdl_teacher_sample(m, 0.001, 1, 1, N, out, NULL, &total), NMDL_ERR_ARG);
    assert_int_equal(nmdl_teacher_sample(m, 1, 0, 1, N, out, NULL, &total), NMDL_ERR_ARG);
    assert_int_equal(nmdl_teacher_sample(m, 1, 1, 1, 0, out, NULL, &total), NMDL_ERR_ARG);
    assert_nmdl_ok(nmdl_teacher_sample(m, 1, 4, 1, 3, out, NULL, &total)); /* streams > n */
    nmdl_model_free(m);
}

/* Sets NMDL_ISA to name (NULL: unset) and returns what a context picks. */
static nmdl_isa choose(const char *name)
{
    if (name)
        assert_int_equal(setenv("NMDL_ISA", name, 1), 0);
    else
        assert_int_equal(unsetenv("NMDL_ISA"), 0);
    return nmdl_isa_choose();
}

/* NMDL_ISA picks a variant the CPU runs; one it lacks, or a name that is
 * none, gives the best it runs. */
static void isa_choice(void **state)
{
    (void)state;
    const char *was = getenv("NMDL_ISA");
    char *saved = was ? strdup(was) : NULL;
    const nmdl_isa best = nmdl_isa_best();
    assert_int_equal(choose(NULL), best);
    assert_int_equal(choose("portable"), NMDL_ISA_PORTABLE);
    assert_int_equal(choose("avx2"),
                     best < NMDL_ISA_AVX2 ? best : NMDL_ISA_AVX2);
    assert_int_equal(choose("avx512"), best);
    assert_int_equal(choose("sse9"), best);
    assert_int_equal(choose("AVX2"), best);
    assert_string_equal(nmdl_isa_name(NMDL_ISA_AVX512), "avx512");
    choose(saved);
    free(saved);
}

/* Every variant this CPU runs gives the portable variant's bits on model
 * c with S segments over len bytes. */
static void variants_agree_on(nmdl_model_config c, int S, int len)
{
    nmdl_model *m = model_of(c);
    const char *was = getenv("NMDL_ISA");
    char *saved = was ? strdup(was) : NULL;
    nmdl_inf *f[NMDL_ISA_COUNT];
    const int n = (int)nmdl_isa_best() + 1;
    for (int i = 0; i < n; i++) {
        assert_int_equal(choose(nmdl_isa_name((nmdl_isa)i)), i);
        assert_nmdl_ok(nmdl_inf_create(&m->cfg, m->params, S, &f[i]));
    }
    choose(saved);
    free(saved);
    uint8_t *s = malloc((size_t)S * len), *tok = malloc((size_t)S);
    float *p0 = malloc(sizeof(float) * 256 * S), *p = malloc(sizeof(float) * 256 * S);
    assert_true(s && tok && p0 && p);
    for (int k = 0; k < S; k++) {
        text(s + (size_t)k * len, len);
        s[(size_t)k * len + k] = (uint8_t)('A' + k);
    }
    for (int t = 0; t < len; t++) {
        for (int k = 0; k < S; k++)
            tok[k] = s[(size_t)k * len + t];
        nmdl_inf_step(f[0], tok, p0);
        for (int i = 1; i < n; i++) {
            nmdl_inf_step(f[i], tok, p);
            assert_memory_equal(p, p0, sizeof(float) * 256 * S);
        }
    }
    print_message("%d variant(s) agree bit for bit (C %d, H %d, ctx %d, S %d)\n",
                  n, c.d_model, c.n_head, c.ctx, S);
    for (int i = 0; i < n; i++)
        nmdl_inf_free(f[i]);
    free(s), free(tok), free(p0), free(p);
    nmdl_model_free(m);
}

/* On a model whose widths (40, 3 x 40, 72) leave partial panels of
 * outputs, with 5 segments (a partial block of segments), past the first
 * window; and on one whose heads of 12 straddle vectors of 8, whose width
 * 60 leaves lanes outside any vector, with a window of 80 keys (a block of
 * 64 and one of 16), for 1, 2 and 7 (4 + 3) segments, each a different
 * width of blocks; and on heads that fill whole vectors, in blocks of
 * several heads with one head left over. */
static void variants_agree(void **state)
{
    (void)state;
    variants_agree_on((nmdl_model_config){2, 40, 5, 72, CTX, 0, {0}}, 5, LEN);
    for (int S = 1; S <= 7; S += S < 2 ? 1 : 5)
        variants_agree_on((nmdl_model_config){1, 60, 5, 200, 80, 0, {0}}, S, 200);
    /* heads of 8, 16, 24 and 32 lanes, in blocks of heads and one left;
     * of 40 (the blend kernel) and 4 (portable lanes) */
    const int width[][2] = {{72, 9}, {80, 5}, {120, 5}, {128, 4}, {80, 2}, {32, 8}};
    for (int i = 0; i < 6; i++)
        variants_agree_on((nmdl_model_config){1, width[i][0], width[i][1], 64, 80, 0, {0}},
                          2, 100);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    tu_isa();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_training_forward),
        cmocka_unit_test(window_slides_like_training),
        cmocka_unit_test(batching_does_not_matter),
        cmocka_unit_test(golden_probabilities),
        cmocka_unit_test(teacher_samples),
        cmocka_unit_test(isa_choice),
        cmocka_unit_test(variants_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
