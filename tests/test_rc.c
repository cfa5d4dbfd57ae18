/*
 * test_rc.c: the range coder roundtrips, is within 0.1% of the ideal code
 * length, and fails cleanly on truncated, padded or corrupt streams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/freq.h"
#include "codec/rc.h"
#include "nmdl.h"
#include "testutil.h"

/* A random distribution over n symbols: softmax of normal logits times a
 * spread, so entropies run from near 0 to log2(n) bits. */
static void random_freq(tu_rng *r, int n, int bits, uint32_t *freq)
{
    float p[256];
    double spread = 8.0 * tu_uniform(r);
    for (int i = 0; i < n; i++)
        p[i] = (float)exp(spread * tu_normal(r));
    assert_nmdl_ok(nmdl_freq_from_probs(p, n, bits, freq));
}

/* A symbol drawn from the table. */
static int draw(tu_rng *r, const uint32_t *cum, int n, int bits)
{
    uint32_t t = tu_below(r, 1u << bits);
    int s = 0;
    while (s + 1 < n && cum[s + 1] <= t)
        s++;
    return s;
}

/* Codes syms under one table per symbol (tables[k % ntab]); returns bytes. */
typedef struct stream {
    int n, bits, ntab;
    uint32_t (*cum)[257]; /* ntab tables of n + 1 entries */
    int *syms;
    size_t len;
} stream;

static uint8_t *encode(const stream *s, size_t *out_len)
{
    nmdl_rc_enc e;
    nmdl_rc_enc_init(&e);
    for (size_t k = 0; k < s->len; k++) {
        const uint32_t *c = s->cum[k % (size_t)s->ntab];
        int y = s->syms[k];
        nmdl_rc_encode(&e, c[y], c[y + 1] - c[y], s->bits);
    }
    uint8_t *buf = NULL;
    assert_nmdl_ok(nmdl_rc_enc_finish(&e, &buf, out_len));
    return buf;
}

/* Decodes the stream back; returns the first error, 0 when all matched. */
static int decode(const stream *s, const uint8_t *buf, size_t len)
{
    nmdl_rc_dec d;
    int rc = nmdl_rc_dec_init(&d, buf, len);
    for (size_t k = 0; !rc && k < s->len; k++) {
        int y;
        rc = nmdl_rc_decode_symbol(&d, s->cum[k % (size_t)s->ntab], s->n,
                                   s->bits, &y);
        if (!rc && y != s->syms[k])
            return NMDL_ERR_CORRUPT;
    }
    return rc ? rc : nmdl_rc_dec_finish(&d);
}

static stream make_stream(tu_rng *r, int n, int bits, int ntab, size_t len)
{
    stream s = {n, bits, ntab, calloc((size_t)ntab, sizeof *s.cum),
                calloc(len ? len : 1, sizeof(int)), len};
    assert_non_null(s.cum);
    assert_non_null(s.syms);
    for (int t = 0; t < ntab; t++) {
        uint32_t freq[256];
        random_freq(r, n, bits, freq);
        nmdl_freq_cumulate(freq, n, s.cum[t]);
    }
    for (size_t k = 0; k < len; k++)
        s.syms[k] = draw(r, s.cum[k % (size_t)ntab], n, bits);
    return s;
}

static void free_stream(stream *s)
{
    free(s->cum);
    free(s->syms);
}

static void roundtrip_random_streams(void **state)
{
    (void)state;
    tu_rng r = {1};
    for (int iter = 0; iter < 300; iter++) {
        int n = 2 + (int)tu_below(&r, 255);
        int bits = 15 + (int)tu_below(&r, 10);
        size_t len = iter < 10 ? (size_t)iter : tu_below(&r, 5000);
        stream s = make_stream(&r, n, bits, 1 + (int)tu_below(&r, 8), len);
        size_t clen;
        uint8_t *buf = encode(&s, &clen);
        assert_int_equal(decode(&s, buf, clen), NMDL_OK);
        free(buf);
        free_stream(&s);
    }
}

/* A reference encoder that keeps every output byte editable and propagates
 * carries through the whole array by plain addition: obviously right, and
 * slow. nmdl's coder must produce exactly its bytes. */
typedef struct ref_enc {
    uint8_t *out;
    size_t n;
    uint64_t low, range;
    int long_carries; /* carries that ran through at least one 0xFF */
} ref_enc;

/* Adds bit 48 of low into the bytes already out. */
static void ref_carry(ref_enc *e)
{
    if (!(e->low >> 48))
        return;
    size_t i = e->n;
    assert_true(i > 0);
    while (++e->out[--i] == 0)
        assert_true(i > 0);
    e->long_carries += i + 1 < e->n;
    e->low &= (1ull << 48) - 1;
}

static void ref_shift(ref_enc *e)
{
    e->out[e->n++] = (uint8_t)(e->low >> 40);
    e->low = (e->low << 8) & ((1ull << 48) - 1);
}

static void ref_encode(ref_enc *e, uint32_t start, uint32_t freq, int bits)
{
    uint64_t r = e->range >> bits;
    e->low += r * start;
    e->range = r * freq;
    ref_carry(e);
    for (; e->range < (1ull << 40); e->range <<= 8)
        ref_shift(e);
}

static void ref_finish(ref_enc *e)
{
    const uint64_t top = 1ull << 48, bot = 1ull << 40;
    if (e->low != 0)
        e->low = e->low <= top && top < e->low + e->range
                     ? top : (e->low + bot - 1) & ~(bot - 1);
    ref_carry(e);
    for (int i = 0; i < 6; i++)
        ref_shift(e);
    for (int i = 0; i < NMDL_RC_PAD && e->n && e->out[e->n - 1] == 0; i++)
        e->n--;
}

static void matches_reference_encoder(void **state)
{
    (void)state;
    tu_rng r = {2};
    int long_carries = 0;
    for (int iter = 0; iter < 200; iter++) {
        int bits = 15 + (int)tu_below(&r, 10);
        stream s = make_stream(&r, 2 + (int)tu_below(&r, 255), bits,
                               1 + (int)tu_below(&r, 4), tu_below(&r, 20000));
        size_t clen;
        uint8_t *buf = encode(&s, &clen);
        ref_enc ref = {calloc(3 * s.len + 16, 1), 0, 0, 1ull << 48, 0};
        for (size_t k = 0; k < s.len; k++) {
            const uint32_t *c = s.cum[k % (size_t)s.ntab];
            ref_encode(&ref, c[s.syms[k]], c[s.syms[k] + 1] - c[s.syms[k]], bits);
        }
        ref_finish(&ref);
        assert_int_equal(clen, ref.n);
        assert_memory_equal(buf, ref.out, clen);
        long_carries += ref.long_carries;
        free(ref.out);
        free(buf);
        free_stream(&s);
    }
    print_message("reference encoder: %d carries through 0xFF bytes\n",
                  long_carries);
    assert_true(long_carries > 20);
}

/* 10^6 symbols cost at most 0.1% more than sum(-log2(freq/total)). */
static void size_near_ideal(void **state)
{
    (void)state;
    tu_rng r = {3};
    stream s = make_stream(&r, 256, 16, 64, 1000000);
    double ideal = 0.0; /* bits */
    for (size_t k = 0; k < s.len; k++) {
        const uint32_t *c = s.cum[k % 64];
        ideal -= log2((double)(c[s.syms[k] + 1] - c[s.syms[k]]) / 65536.0);
    }
    size_t clen;
    uint8_t *buf = encode(&s, &clen);
    double actual = 8.0 * (double)clen;
    print_message("range coder: %zu symbols, ideal %.0f bits, coded %.0f bits, "
                  "excess %.5f%%\n", s.len, ideal, actual,
                  100.0 * (actual - ideal) / ideal);
    assert_true(actual <= ideal * 1.001 + 64.0);
    assert_int_equal(decode(&s, buf, clen), NMDL_OK);
    free(buf);
    free_stream(&s);
}

static void empty_stream_is_empty(void **state)
{
    (void)state;
    nmdl_rc_enc e;
    nmdl_rc_enc_init(&e);
    uint8_t *buf = (uint8_t *)1;
    size_t len = 99;
    assert_nmdl_ok(nmdl_rc_enc_finish(&e, &buf, &len));
    assert_int_equal(len, 0);
    free(buf);
    nmdl_rc_dec d;
    assert_nmdl_ok(nmdl_rc_dec_init(&d, NULL, 0));
    assert_nmdl_ok(nmdl_rc_dec_finish(&d));
}

/* Decodes s->len symbols without looking at their values. */
static int decode_blind(const stream *s, const uint8_t *buf, size_t len)
{
    nmdl_rc_dec d;
    int rc = nmdl_rc_dec_init(&d, buf, len), y;
    for (size_t k = 0; !rc && k < s->len; k++)
        rc = nmdl_rc_decode_symbol(&d, s->cum[k % (size_t)s->ntab], s->n,
                                   s->bits, &y);
    return rc;
}

/* Cutting bytes off the end never decodes silently; a stream far too short
 * stops with NMDL_ERR_TRUNCATED after NMDL_RC_PAD padding zeros instead of
 * reading further. Copies are exact-size so AddressSanitizer sees overreads. */
static void truncation_stops_at_end(void **state)
{
    (void)state;
    tu_rng r = {4};
    stream s = make_stream(&r, 200, 16, 4, 20000);
    size_t clen;
    uint8_t *buf = encode(&s, &clen);
    for (size_t cut = 1; cut <= 64 && cut <= clen; cut++) {
        uint8_t *copy = malloc(clen - cut + 1);
        memcpy(copy, buf, clen - cut);
        assert_int_not_equal(decode(&s, copy, clen - cut), NMDL_OK);
        free(copy);
    }
    for (size_t keep = 0; keep < 32; keep++) {
        uint8_t *copy = malloc(keep + 1);
        memcpy(copy, buf, keep);
        assert_int_equal(decode_blind(&s, copy, keep), NMDL_ERR_TRUNCATED);
        free(copy);
    }
    free(buf);
    free_stream(&s);
}

/* Extra bytes after a stream are noticed by nmdl_rc_dec_finish. */
static void trailing_bytes_rejected(void **state)
{
    (void)state;
    tu_rng r = {5};
    stream s = make_stream(&r, 50, 15, 1, 1000);
    size_t clen;
    uint8_t *buf = encode(&s, &clen);
    /* the decoder may take up to NMDL_RC_PAD bytes after the end as its
     * padding; a byte beyond those is always left over */
    uint8_t *longer = malloc(clen + NMDL_RC_PAD + 1);
    memcpy(longer, buf, clen);
    memset(longer + clen, 0, NMDL_RC_PAD + 1);
    assert_int_equal(decode(&s, longer, clen + NMDL_RC_PAD + 1), NMDL_ERR_CORRUPT);
    free(longer);
    free(buf);
    free_stream(&s);
}

/* Random bytes decode to something or fail, never crash or overread. */
static void garbage_decodes_safely(void **state)
{
    (void)state;
    tu_rng r = {6};
    uint32_t freq[256], cum[257];
    random_freq(&r, 256, 16, freq);
    nmdl_freq_cumulate(freq, 256, cum);
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = tu_below(&r, 64);
        uint8_t *g = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            g[i] = (uint8_t)tu_next(&r);
        nmdl_rc_dec d;
        int rc = nmdl_rc_dec_init(&d, g, len), y;
        for (int k = 0; !rc && k < 200; k++)
            rc = nmdl_rc_decode_symbol(&d, cum, 256, 16, &y);
        assert_true(rc == NMDL_OK || rc == NMDL_ERR_TRUNCATED ||
                    rc == NMDL_ERR_CORRUPT);
        free(g);
    }
}

static void bad_arguments_rejected(void **state)
{
    (void)state;
    nmdl_rc_enc e;
    nmdl_rc_enc_init(&e);
    nmdl_rc_encode(&e, 0, 0, 16);      /* zero frequency */
    uint8_t *buf = NULL;
    size_t len;
    assert_int_equal(nmdl_rc_enc_finish(&e, &buf, &len), NMDL_ERR_ARG);
    nmdl_rc_enc_init(&e);
    nmdl_rc_encode(&e, 65535, 2, 16);  /* past the total */
    assert_int_equal(nmdl_rc_enc_finish(&e, &buf, &len), NMDL_ERR_ARG);
    nmdl_rc_enc_init(&e);
    nmdl_rc_encode(&e, 0, 1, 25);      /* total too large */
    assert_int_equal(nmdl_rc_enc_finish(&e, &buf, &len), NMDL_ERR_ARG);
    nmdl_rc_dec d;
    uint32_t t;
    assert_nmdl_ok(nmdl_rc_dec_init(&d, NULL, 0));
    assert_int_equal(nmdl_rc_decode_target(&d, 0, &t), NMDL_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip_random_streams),
        cmocka_unit_test(matches_reference_encoder),
        cmocka_unit_test(size_near_ideal),
        cmocka_unit_test(empty_stream_is_empty),
        cmocka_unit_test(truncation_stops_at_end),
        cmocka_unit_test(trailing_bytes_rejected),
        cmocka_unit_test(garbage_decodes_safely),
        cmocka_unit_test(bad_arguments_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
