/*
 * test_match.c: the match model of the data part (codec/match.h). It finds
 * repeats in its own segment and in the prefix before its wave, stops a
 * match where the prefix ends, learns how far to trust a match, and always
 * makes the same predictions and probabilities in each revision (golden
 * hashes: they are part of the file format).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec/match.h"
#include "nmdl.h"
#include "testutil.h"

/* Random bytes: no context of NMDL_MM_MIN bytes repeats by chance. */
static void random_bytes(tu_rng *r, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)tu_below(r, 256);
}

/* What a coder would see over the segment text + start (len bytes): for
 * each byte, whether the model predicted, and whether it was right; the
 * transformer's frequency is a fixed 2^20 (1/16). */
typedef struct tally {
    size_t predicted, hits, hits_late; /* late: in the last quarter */
    uint32_t last_p;                   /* P(hit) * 2^16 of the last hit */
} tally;

static tally run(const nmdl_mm_index *x, const uint8_t *text, size_t start, size_t len,
                 nmdl_mm_table *t, crypto_generichash_state *h)
{
    nmdl_mm m;
    tally c = {0};
    assert_nmdl_ok(nmdl_mm_init(&m, x, text, start, len, t));
    nmdl_mm_update(&m, 0, 0, 0);
    for (size_t i = 1; i < len; i++) {
        const int guess = nmdl_mm_predict(&m);
        const int hit = guess == text[start + i];
        uint32_t p = 0;
        if (guess >= 0) {
            p = nmdl_mm_p_hit(&m, 1u << 20);
            assert_true(p >= 1 && p < (1u << NMDL_MM_BITS));
            c.predicted++;
            c.hits += hit;
            c.hits_late += hit && i >= len - len / 4;
            c.last_p = hit ? p : c.last_p;
        }
        if (h) { /* the prediction and its probability, little-endian */
            uint8_t le[4] = {(uint8_t)guess, (uint8_t)p, (uint8_t)(p >> 8), (uint8_t)hit};
            crypto_generichash_update(h, le, sizeof le);
        }
        nmdl_mm_update(&m, i, guess >= 0, hit);
    }
    nmdl_mm_free(&m);
    return c;
}

/* A block repeated within the segment, beyond any transformer window: the
 * second copy is predicted byte for byte, and the table learns to trust
 * the long match far above the transformer's 1/16. */
static void repeats_in_the_segment(void **state)
{
    (void)state;
    tu_rng r = {7};
    enum { BLOCK = 3000 };
    uint8_t text[2 * BLOCK];
    random_bytes(&r, text, BLOCK);
    memcpy(text + BLOCK, text, BLOCK);
    nmdl_mm_index x;
    nmdl_mm_table t;
    assert_nmdl_ok(nmdl_mm_index_init(&x, sizeof text, 2));
    nmdl_mm_table_init(&t, 2);
    tally c = run(&x, text, 0, sizeof text, &t, NULL);
    print_message("predicted %zu bytes, %zu right; P(hit) at the end %.4f\n", c.predicted,
                  c.hits, c.last_p / 65536.0);
    assert_true(c.hits >= BLOCK - 2 * NMDL_MM_MIN && c.hits <= BLOCK);
    assert_true(c.predicted - c.hits <= 2); /* random bytes: no false matches */
    assert_true(c.last_p > 0.99 * 65536);
    nmdl_mm_index_free(&x);
}

/* A segment that repeats the prefix is predicted from it; one that
 * repeats text beyond the indexed prefix (the wave's other segments) is
 * not, and a match into the prefix stops where the prefix ends. */
static void repeats_from_the_prefix(void **state)
{
    (void)state;
    tu_rng r = {8};
    enum { PART = 4000 };
    uint8_t text[3 * PART];
    random_bytes(&r, text, 2 * PART);
    memcpy(text + 2 * PART, text + PART / 2, PART); /* crosses the prefix's end */
    nmdl_mm_index x;
    nmdl_mm_table t;
    assert_nmdl_ok(nmdl_mm_index_init(&x, sizeof text, 2));
    nmdl_mm_index_extend(&x, text, PART); /* the prefix: the first part only */
    assert_int_equal(x.upto, PART);
    nmdl_mm_table_init(&t, 2);
    tally c = run(&x, text, 2 * PART, PART, &t, NULL);
    print_message("from the prefix: predicted %zu, right %zu of %d\n", c.predicted,
                  c.hits, PART);
    /* text[PART/2, PART) is in the prefix: found after NMDL_MM_MIN bytes */
    assert_true(c.hits >= PART / 2 - 2 * NMDL_MM_MIN && c.hits <= PART / 2);
    assert_true(c.hits_late == 0); /* text[PART, 3 PART/2) is not */
    nmdl_mm_index_free(&x);
}

/* The predictions and probabilities of revision rev over two waves of a
 * text with repeats at every distance, tables carried from one wave to the
 * next: part of the file format, pinned. Update only with a format
 * version; files of revision 1 decode as they were written. */
static void golden(int rev, const char *expected)
{
    tu_rng r = {9};
    enum { N = 64000, SEGS = 2 * NMDL_MM_WAVE };
    uint8_t *text = tu_text(&r, N);
    for (size_t i = 20000; i + 500 < N; i += 7000) /* long repeats */
        memcpy(text + i, text + i - 15000, 500);
    nmdl_mm_index x;
    nmdl_mm_table t[SEGS];
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 16);
    assert_nmdl_ok(nmdl_mm_index_init(&x, N, rev));
    size_t hits = 0, predicted = 0;
    for (int s = 0; s < SEGS; s++) {
        const size_t start = (size_t)s * (N / SEGS);
        if (s % NMDL_MM_WAVE == 0)
            nmdl_mm_index_extend(&x, text, start);
        if (s >= NMDL_MM_WAVE)
            t[s] = t[s - NMDL_MM_WAVE];
        else
            nmdl_mm_table_init(&t[s], rev);
        tally c = run(&x, text, start, N / SEGS, &t[s], &h);
        hits += c.hits, predicted += c.predicted;
    }
    uint8_t sum[16];
    char hex[33];
    crypto_generichash_final(&h, sum, 16);
    sodium_bin2hex(hex, sizeof hex, sum, 16);
    print_message("golden match hash, revision %d: %s (%zu predicted, %zu right)\n", rev, hex,
                  predicted, hits);
    assert_string_equal(hex, expected);
    nmdl_mm_index_free(&x);
    free(text);
}

static void golden_revision_1(void **state)
{
    (void)state;
    golden(1, GOLDEN_MATCH_HASH);
}

static void golden_revision_2(void **state)
{
    (void)state;
    golden(2, GOLDEN_MATCH2_HASH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(repeats_in_the_segment),
        cmocka_unit_test(repeats_from_the_prefix),
        cmocka_unit_test(golden_revision_1),
        cmocka_unit_test(golden_revision_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
