/*
 * test_cm.c: the context mixer of the data part (codec/cm.h). It starts as
 * the transformer alone, learns repeated contexts the transformer does not
 * know, and from revision 2 the byte the match model missed, in revision 3
 * which bytes a match predicts right, in revision 5 mixes its sets by a
 * learned mixer, in revision 6 with three inputs per context; keeps every
 * probability codable,
 * always computes the same probabilities in each revision (golden hashes:
 * they are part of the file format); the model part's flags for it are
 * refused without the match model's (and revision 2 without the mixer's,
 * the revision byte without revision 2's flag, an unknown revision);
 * decoding counts its memory and carries its lanes across waves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec/cm.h"
#include "codec/error.h"
#include "codec/neural.h"
#include "codec/quant.h"
#include "codec/segcode.h"
#include "nmdl.h"
#include "testutil.h"

/* A transformer that knows nothing: every byte 2^16 of 2^24. */
static void uniform(uint32_t *cum)
{
    for (int b = 0; b <= 256; b++)
        cum[b] = (uint32_t)b << 16;
}

/* Codes text[1, n) as the data part does, under cum (257): byte i with
 * missed[i] (missed NULL: none) as the match model's byte; in revision 1
 * and 2 a missed byte, in revision 3 a predicted one, whose flag is coded
 * first with the match model's P = 3/4 and length class i % 14 (after a
 * hit the byte is done). Returns the code length in bits of bytes
 * [from, n), and hashes every P into h (may be NULL). */
static double code(nmdl_cm *m, const uint8_t *text, const int *missed, size_t n, size_t from,
                   const uint32_t *cum, crypto_generichash_state *h)
{
    double bits = 0;
    uint32_t ps[9];
    for (size_t i = 1; i < n; i++) {
        const int guess = missed ? missed[i] : -1;
        int k = 0, hit = 0;
        nmdl_cm_begin(m, text, i, m->rev < 3 ? guess : -1);
        if (m->rev >= 3 && guess >= 0) {
            ps[k++] = nmdl_cm_flag_p(m, guess, 49152, (int)(i % NMDL_CM_FLAG_SETS));
            hit = text[i] == guess;
            if (i >= from)
                bits -= log2((hit ? ps[0] : (1u << NMDL_CM_BITS) - ps[0]) / 65536.0);
            nmdl_cm_flag_update(m, hit);
            nmdl_cm_missed(m, guess);
        }
        for (int lo = 0, half = 128; half && !hit; half >>= 1) {
            const uint32_t p = ps[k++] = nmdl_cm_p(m, cum[lo + half] - cum[lo],
                                                   cum[lo + 2 * half] - cum[lo + half]);
            const int bit = (text[i] & half) != 0;
            if (i >= from)
                bits -= log2((bit ? p : (1u << NMDL_CM_BITS) - p) / 65536.0);
            nmdl_cm_update(m, bit);
            lo += bit ? half : 0;
        }
        for (int j = 0; j < k; j++) {
            assert_true(ps[j] >= 1 && ps[j] < (1u << NMDL_CM_BITS));
            const uint8_t le[2] = {(uint8_t)ps[j], (uint8_t)(ps[j] >> 8)};
            if (h)
                crypto_generichash_update(h, le, sizeof le);
        }
    }
    return bits;
}

/* Fresh, the mixer passes the transformer's probability on (within the
 * integer log and its inverse), at any confidence, and never 0 or 1. */
static void starts_as_the_transformer(void **state)
{
    (void)state;
    nmdl_cm m;
    assert_nmdl_ok(nmdl_cm_init(&m, 1000, 2));
    const uint8_t seg[2] = {'a', 'b'};
    static const uint32_t n1[] = {1, 1000, 1u << 22, 3u << 22, (1u << 24) - 1000};
    for (size_t k = 0; k < sizeof n1 / sizeof *n1; k++) {
        nmdl_cm_begin(&m, seg, 1, 'c');
        const double want = (double)n1[k] / (1 << 24) * 65536;
        const uint32_t p = nmdl_cm_p(&m, (1u << 24) - n1[k], n1[k]);
        assert_true(p >= 1 && p <= 65535);
        assert_true(fabs((double)p - want) <= 0.01 * want + 2.5);
    }
    nmdl_cm_begin(&m, seg, 1, 'c');
    assert_true(nmdl_cm_p(&m, 0, 5) >= 65534);
    nmdl_cm_begin(&m, seg, 1, 'c');
    assert_true(nmdl_cm_p(&m, 5, 0) <= 2);
    nmdl_cm_free(&m);
}

/* A phrase repeated over and over, under a transformer that knows nothing:
 * 8 bits a byte at first, under half a bit a byte once the contexts have
 * been seen. */
static void learns_repeated_contexts(void **state)
{
    (void)state;
    static const char phrase[] = "the quick brown fox jumps over the lazy dog; ";
    enum { N = 40000 };
    uint8_t *text = malloc(N);
    for (size_t i = 0; i < N; i++)
        text[i] = (uint8_t)phrase[i % (sizeof phrase - 1)];
    uint32_t cum[257];
    uniform(cum);
    for (int rev = 1; rev <= 6; rev++) {
        nmdl_cm m;
        assert_nmdl_ok(nmdl_cm_init(&m, N, rev));
        const double late = code(&m, text, NULL, N, N - N / 4, cum, NULL) / (N / 4);
        print_message("revision %d, last quarter: %.4f bits/byte\n", rev, late);
        assert_true(late < 0.5);
        nmdl_cm_free(&m);
    }
    free(text);
}

/* Random bytes, each following a missed byte that names it (its case
 * flipped, as where a match guessed the wrong case): under a transformer
 * that knows nothing, revision 1 cannot learn them (8 bits a byte),
 * revision 2 learns them from the missed byte. */
static void learns_from_the_missed_byte(void **state)
{
    (void)state;
    enum { N = 60000 };
    tu_rng r = {31};
    uint8_t *text = malloc(N);
    int *missed = malloc(N * sizeof *missed);
    for (size_t i = 0; i < N; i++) {
        text[i] = (uint8_t)tu_below(&r, 256);
        missed[i] = text[i] ^ 0x20;
    }
    uint32_t cum[257];
    uniform(cum);
    double late[3];
    for (int rev = 1; rev <= 2; rev++) {
        nmdl_cm m;
        assert_nmdl_ok(nmdl_cm_init(&m, N, rev));
        late[rev] = code(&m, text, missed, N, N - N / 4, cum, NULL) / (N / 4);
        nmdl_cm_free(&m);
    }
    print_message("last quarter: %.4f bits/byte (revision 1), %.4f (revision 2)\n", late[1],
                  late[2]);
    assert_true(late[1] > 7.9);
    assert_true(late[2] < 1.0);
    free(text), free(missed);
}

/* Revision 3: a match model that always says 3/4, whose guesses are right
 * exactly when they are even: the flag's mix learns it from the counters
 * keyed by the predicted byte, well under the 1.2 bits a flag that 3/4
 * alone costs. */
static void learns_which_matches_hit(void **state)
{
    (void)state;
    enum { N = 40000 };
    tu_rng r = {41};
    uint8_t *text = malloc(N);
    for (size_t i = 0; i < N; i++)
        text[i] = (uint8_t)tu_below(&r, 256);
    nmdl_cm m;
    assert_nmdl_ok(nmdl_cm_init(&m, N, 3));
    double late = 0;
    for (size_t i = 1; i < N; i++) {
        const int guess = text[i] & 1 ? text[i] ^ 2 : text[i], hit = text[i] == guess;
        nmdl_cm_begin(&m, text, i, -1);
        const uint32_t p = nmdl_cm_flag_p(&m, guess, 49152, 3);
        assert_true(p >= 1 && p < (1u << NMDL_CM_BITS));
        if (i >= N - N / 4)
            late -= log2((hit ? p : (1u << NMDL_CM_BITS) - p) / 65536.0) / (N / 4);
        nmdl_cm_flag_update(&m, hit);
    }
    print_message("last quarter: %.4f bits per flag\n", late);
    assert_true(late < 0.2);
    nmdl_cm_free(&m);
    free(text);
}

/* The probabilities of revision rev over text under a transformer with a
 * fixed skewed distribution, every third byte after a missed byte (the
 * one before it; in revision 3 a predicted byte, every other one right),
 * as a hash; any change is a format change, and files of
 * revision 1 decode as they were written. */
static void golden(int rev, const char *expected)
{
    tu_rng r = {17};
    enum { N = 20000 };
    uint8_t *text = tu_text(&r, N);
    int *missed = malloc(N * sizeof *missed);
    for (size_t i = 0; i < N; i++)
        missed[i] = i % 3 || !i ? -1 : rev >= 3 && i % 2 ? text[i] : text[i - 1];
    uint32_t cum[257] = {0};
    for (int b = 0; b < 256; b++) /* letters likelier, nothing below 1 */
        cum[b + 1] = cum[b] + ((b >= 'a' && b <= 'z') || b == ' ' ? 500000u : 15000u) +
                     (b == 255 ? (1u << 24) - 27 * 500000u - 229 * 15000u : 0);
    assert_int_equal(cum[256], 1u << 24);
    nmdl_cm m;
    assert_nmdl_ok(nmdl_cm_init(&m, N, rev));
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 16);
    const double bits = code(&m, text, missed, N, 1, cum, &h);
    uint8_t sum[16];
    char hex[33];
    crypto_generichash_final(&h, sum, 16);
    sodium_bin2hex(hex, sizeof hex, sum, 16);
    print_message("golden cm hash, revision %d: %s (%.4f bits/byte)\n", rev, hex,
                  bits / (N - 1));
    assert_string_equal(hex, expected);
    nmdl_cm_free(&m);
    free(text), free(missed);
}

static void golden_revision_1(void **state)
{
    (void)state;
    golden(1, GOLDEN_CM_HASH);
}

static void golden_revision_2(void **state)
{
    (void)state;
    golden(2, GOLDEN_CM2_HASH);
}

static void golden_revision_3(void **state)
{
    (void)state;
    golden(3, GOLDEN_CM3_HASH);
}

static void golden_revision_4(void **state)
{
    (void)state;
    golden(4, GOLDEN_CM4_HASH);
}

static void golden_revision_5(void **state)
{
    (void)state;
    golden(5, GOLDEN_CM5_HASH);
}

static void golden_revision_6(void **state)
{
    (void)state;
    golden(6, GOLDEN_CM6_HASH);
}

/* Model part flags: bit 7 with revision byte 8 reads back as NMDL_SC_MIX8,
 * with 7 and 6 as NMDL_SC_MIX7 and NMDL_SC_MIX6, with 5 as NMDL_SC_MIX5, both with the symbol set after it (one with no
 * symbol is corrupt, one cut short truncated), with 4 as NMDL_SC_MIX4, with 3 as NMDL_SC_MIX3,
 * bit 5 (revision 2) as NMDL_SC_MIX2, bit 4 (the mixer) as NMDL_SC_MIX,
 * bit 3 alone as NMDL_SC_MATCH; bit 4 without bit 3 is corrupt, and so
 * are bit 5 without bit 4, bit 7 without bit 5, a revision byte this
 * decoder does not know and a model part that ends before it. */
static void the_flag(void **state)
{
    (void)state;
    const nmdl_model_config cfg = {1, 8, 2, 16, 8, 1, {0}}; /* 5 one-byte LEB128s */
    nmdl_qmodel qm;
    assert_nmdl_ok(nmdl_q_alloc(&cfg, &qm));
    for (size_t i = 0; i < qm.lay.n_params; i++)
        qm.q[i] = (int32_t)(i % 3) - 1;
    for (int mode = NMDL_SC_PURE; mode <= NMDL_SC_MIX8; mode++) {
        uint8_t *buf;
        size_t len;
        nmdl_q_header h;
        qm.match = mode;
        assert_nmdl_ok(nmdl_q_encode(&qm, &buf, &len));
        assert_nmdl_ok(nmdl_q_read_header(buf, len, &h, NULL));
        assert_int_equal(h.match, mode);
        if (mode == NMDL_SC_MIX) {
            char why[NMDL_WHY_MAX];
            buf[5] &= (uint8_t)~8u; /* the flags byte: drop the match model */
            assert_int_equal(nmdl_q_read_header(buf, len, &h, why), NMDL_ERR_CORRUPT);
            assert_non_null(strstr(why, "context mixing without the match model"));
        }
        if (mode == NMDL_SC_MIX2) {
            char why[NMDL_WHY_MAX];
            buf[5] &= (uint8_t)~16u; /* drop the mixer, keep revision 2 */
            assert_int_equal(nmdl_q_read_header(buf, len, &h, why), NMDL_ERR_CORRUPT);
            assert_non_null(strstr(why, "revision 2 without the context mixer"));
        }
        if (mode == NMDL_SC_MIX3) {
            char why[NMDL_WHY_MAX];
            assert_int_equal(buf[5], 8u | 16u | 32u | 128u | 1u);
            assert_int_equal(buf[6], 3); /* the revision byte */
            buf[6] = 9;
            assert_int_equal(nmdl_q_read_header(buf, len, &h, why), NMDL_ERR_CORRUPT);
            assert_non_null(strstr(why, "data part revision 9 unknown (this decoder knows 1 to 8)"));
            buf[6] = 2; /* revision 2 has no byte */
            assert_int_equal(nmdl_q_read_header(buf, len, &h, why), NMDL_ERR_CORRUPT);
            buf[6] = 3;
            assert_int_equal(nmdl_q_read_header(buf, 6, &h, why), NMDL_ERR_TRUNCATED);
            assert_non_null(strstr(why, "revision byte"));
            buf[5] &= (uint8_t)~32u; /* drop revision 2, keep the byte's flag */
            assert_int_equal(nmdl_q_read_header(buf, len, &h, why), NMDL_ERR_CORRUPT);
            assert_non_null(strstr(why, "a revision byte without revision 2"));
        }
        if (mode == NMDL_SC_MIX4) {
            assert_int_equal(buf[5], 8u | 16u | 32u | 128u | 1u);
            assert_int_equal(buf[6], 4);
        }
        if (mode >= NMDL_SC_MIX5) {
            char why[NMDL_WHY_MAX];
            assert_int_equal(buf[6], mode - 1);
            for (int i = 7; i < 7 + 32; i++) /* every symbol occurs */
                assert_int_equal(buf[i], 0xff);
            assert_int_equal(nmdl_q_read_header(buf, 7 + 31, &h, why), NMDL_ERR_TRUNCATED);
            assert_non_null(strstr(why, "symbol set"));
            memset(buf + 7, 0, 32);
            assert_int_equal(nmdl_q_read_header(buf, len, &h, why), NMDL_ERR_CORRUPT);
            assert_non_null(strstr(why, "symbol set empty"));
        }
        free(buf);
    }
    nmdl_q_free(&qm);
}

/* Revision 5's symbol set: the rows of absent symbols (here 128..255, of
 * the tied embedding) are not in the levels stream, so the model part is
 * shorter by their levels, and they decode as zero, the other rows as
 * they were. Row exponents come after the levels, only for rows with a
 * nonzero level (here every matrix's first row has none): the others
 * decode as 0. */
static void symbol_set_rows_of(int mode)
{
    const nmdl_model_config cfg = {1, 8, 2, 16, 8, 1, {0}};
    nmdl_qmodel qm, back;
    assert_nmdl_ok(nmdl_q_alloc(&cfg, &qm));
    for (size_t i = 0; i < qm.lay.n_params; i++)
        qm.q[i] = (int32_t)(i % 3) - 1;
    for (int k = 0; k < qm.lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm.lay.tensor[k];
        qm.base[k] = 1.0f;
        if (t->rows > 1)
            memset(qm.q + t->off, 0, (size_t)t->cols * sizeof *qm.q);
    }
    qm.per_row = 1;
    for (size_t r = 0; r < qm.row0[qm.lay.n_tensors]; r++)
        qm.rexp[r] = (int8_t)(r % 5) - 2;
    qm.match = mode;
    uint8_t *all, *half;
    size_t all_len, half_len;
    assert_nmdl_ok(nmdl_q_encode(&qm, &all, &all_len));
    memset(qm.cfg.absent + 16, 0xff, 16);
    assert_nmdl_ok(nmdl_q_encode(&qm, &half, &half_len));
    print_message("symbol set, revision %d: model part %zu bytes with every symbol, %zu "
                  "with half\n", mode - 1, all_len, half_len);
    /* 1024 levels of >= 1/2 bit in revision 5; revision 6 learns their
     * period of 3, but not for free */
    assert_true(half_len + (mode == NMDL_SC_MIX5 ? 128 * 8 / 8 / 2 : 16) < all_len);
    assert_nmdl_ok(nmdl_q_decode(half, half_len, &back));
    assert_memory_equal(back.cfg.absent, qm.cfg.absent, 32);
    for (size_t i = 0; i < qm.lay.n_params; i++) {
        const int absent = i >= qm.lay.wte + 128 * 8 && i < qm.lay.wte + 256 * 8;
        assert_int_equal(back.q[i], absent ? 0 : qm.q[i]);
    }
    for (int k = 0; k < qm.lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm.lay.tensor[k];
        for (int row = 0; row < t->rows; row++) {
            const size_t r = qm.row0[k] + (size_t)row;
            const int zero = (t->rows > 1 && row == 0) || (k == 0 && row >= 128);
            assert_int_equal(back.rexp[r], zero ? 0 : qm.rexp[r]);
        }
    }
    free(all), free(half);
    qm.match = NMDL_SC_MIX4; /* no place for a set */
    assert_int_equal(nmdl_q_encode(&qm, &half, &half_len), NMDL_ERR_ARG);
    nmdl_q_free(&qm);
    nmdl_q_free(&back);
}

static void symbol_set_rows(void **state)
{
    (void)state;
    symbol_set_rows_of(NMDL_SC_MIX5);
    symbol_set_rows_of(NMDL_SC_MIX6);
}

/* Levels like a trained model's: mostly 0, each column with its own scale
 * and the rows of the embedding with theirs, a few beyond the unary code
 * (up to NMDL_Q_MAX_LEVEL), absent symbols' rows left out. */
static void model_like_levels(nmdl_qmodel *qm, tu_rng *r)
{
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        qm->base[k] = 1.0f;
        for (int row = 0; row < t->rows; row++)
            for (int c = 0; c < t->cols; c++) {
                const double scale = 0.2 + 2.0 * (c % 5 == 0) + (row % 7 == 0);
                const double x = tu_normal(r) * scale;
                int32_t v = (int32_t)lrint(fabs(x) < 0.6 ? 0 : x);
                if (tu_below(r, 500) == 0)
                    v = (int32_t)tu_below(r, 40) - 20;
                if (tu_below(r, 5000) == 0)
                    v = tu_below(r, 2) ? NMDL_Q_MAX_LEVEL : -NMDL_Q_MAX_LEVEL;
                qm->q[t->off + (size_t)row * t->cols + (size_t)c] =
                    nmdl_tf_absent_row(&qm->cfg, t, row) ? 0 : v;
            }
    }
    qm->per_row = 1; /* exponents of the rows with a nonzero level; the others' are 0 */
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        for (int row = 0; row < t->rows; row++) {
            int nonzero = 0;
            for (int c = 0; c < t->cols; c++)
                nonzero |= qm->q[t->off + (size_t)row * t->cols + (size_t)c] != 0;
            qm->rexp[qm->row0[k] + (size_t)row] = (int8_t)(nonzero ? tu_below(r, 9) - 4 : 0);
        }
    }
}

/* The levels' bits as the model part codes them (header and steps left
 * out: the same for both codes). */
static double levels_bits(const nmdl_qmodel *qm)
{
    double bits[NMDL_TF_MAX_TENSORS], rexp, sum = 0;
    assert_nmdl_ok(nmdl_q_tensor_bits(qm, bits, &rexp));
    for (int k = 0; k < qm->lay.n_tensors; k++)
        sum += bits[k];
    return sum + rexp;
}

/* Revision 6 codes the levels with codec/levels.h's mix: they decode as
 * they were (escapes up to the largest level included), in fewer bytes
 * than revision 5's where neighbours tell about a level, the counted bits
 * match the stream, the model part's bytes hash as they always have (a
 * change is a format change), a stream cut short or a level beyond the
 * range is an error, and a model of zeros still fits the decoder's bound
 * of levels per byte. */
static void mixed_levels(void **state)
{
    (void)state;
    nmdl_model_config cfg = {2, 32, 2, 64, 8, 1, {0}};
    memset(cfg.absent + 20, 0xff, 12); /* symbols 160..255 absent */
    nmdl_qmodel qm, back;
    assert_nmdl_ok(nmdl_q_alloc(&cfg, &qm));
    tu_rng r = {23};
    model_like_levels(&qm, &r);
    uint8_t *m5, *m6;
    size_t l5, l6;
    qm.match = NMDL_SC_MIX5;
    assert_nmdl_ok(nmdl_q_encode(&qm, &m5, &l5));
    const double bits5 = levels_bits(&qm);
    qm.match = NMDL_SC_MIX6;
    assert_nmdl_ok(nmdl_q_encode(&qm, &m6, &l6));
    const double bits6 = levels_bits(&qm);
    print_message("mixed levels: %zu parameters, model part %zu bytes in revision 5, %zu in 6; "
                  "counted %.0f and %.0f bits\n", qm.lay.n_params, l5, l6, bits5, bits6);
    assert_true(l6 < l5 * 0.97);
    assert_true(fabs((double)(l5 - l6) - (bits5 - bits6) / 8) < 0.005 * (double)l5);
    assert_nmdl_ok(nmdl_q_decode(m6, l6, &back));
    assert_memory_equal(back.q, qm.q, qm.lay.n_params * sizeof *qm.q);
    assert_memory_equal(back.rexp, qm.rexp, qm.row0[qm.lay.n_tensors]);
    nmdl_q_free(&back);
    tu_assert_golden(m6, l6, "levels (revision 6)", GOLDEN_LEVELS6_HASH);
    for (size_t cut = l6 - 40; cut < l6 - NMDL_RC_PAD; cut += 11) /* cut short (beyond
                                                                   the zeros it may omit) */
        assert_int_not_equal(nmdl_q_decode(m6, cut, &back), NMDL_OK);
    free(m5), free(m6);
    qm.q[qm.lay.n_params - 1] = NMDL_Q_MAX_LEVEL + 1;
    assert_nmdl_ok(nmdl_q_encode(&qm, &m6, &l6));
    assert_int_equal(nmdl_q_decode(m6, l6, &back), NMDL_ERR_CORRUPT);
    free(m6);
    nmdl_q_free(&qm);
    const nmdl_model_config big = {4, 256, 4, 1024, 8, 0, {0}}; /* 3.3 million zeros */
    assert_nmdl_ok(nmdl_q_alloc(&big, &qm));
    for (int k = 0; k < qm.lay.n_tensors; k++)
        qm.base[k] = 1.0f;
    qm.match = NMDL_SC_MIX6;
    assert_nmdl_ok(nmdl_q_encode(&qm, &m6, &l6));
    print_message("mixed levels: %zu zeros in %zu bytes\n", qm.lay.n_params, l6);
    assert_nmdl_ok(nmdl_q_decode(m6, l6, &back));
    free(m6);
    nmdl_q_free(&back);
    nmdl_q_free(&qm);
}

/* Decoding's memory estimate counts the lanes: the mixer adds their
 * states and tables (2^22 counters of 4 bytes each from 2 MiB of input)
 * to the match model's figure; revision 2 adds the index's second and
 * third tables (2^22 slots of 4 bytes each from 2 MiB) and those of the
 * own index of each segment of the wave in flight; revision 3 has half the
 * lanes (waves of 2), each with its table of 2^16 x 33 cells of 4 bytes,
 * and half the segments in flight; revision 4 4 times the counters (2^24
 * from 2 MiB), and only the lanes its segments take. */
static void memory_counts_the_lanes(void **state)
{
    (void)state;
    const nmdl_model_config cfg = {2, 64, 4, 256, 64, 1, {0}};
    const size_t n = 3000000;
    const uint64_t match = nmdl_neural_decode_bytes(&cfg, 91, n, 4, 2, 0, NMDL_SC_MATCH, 0);
    const uint64_t mix = nmdl_neural_decode_bytes(&cfg, 91, n, 4, 2, 0, NMDL_SC_MIX, 0);
    const size_t lane = sizeof(nmdl_cm) + ((size_t)4 << 22);
    assert_int_equal(mix - match, NMDL_MM_WAVE * lane);
    const uint64_t mix2 = nmdl_neural_decode_bytes(&cfg, 91, n, 4, 2, 0, NMDL_SC_MIX2, 0);
    const size_t seg = n / 91 + 1;
    assert_int_equal(mix2 - mix, nmdl_mm_index_bytes(n, 2) - nmdl_mm_index_bytes(n, 1) +
                                     NMDL_MM_WAVE * (nmdl_mm_own_bytes(seg, 2) -
                                                     nmdl_mm_own_bytes(seg, 1)));
    assert_int_equal(nmdl_mm_index_bytes(n, 2), 3 * nmdl_mm_index_bytes(n, 1));
    assert_int_equal(nmdl_sc_lanes_bytes(1000, NMDL_SC_MIX2, 91), NMDL_MM_WAVE * (sizeof(nmdl_cm) + ((size_t)4 << 16)));
    const size_t sse = (size_t)4 * NMDL_CM_SSE_ROWS * NMDL_CM_SSE_CELLS;
    assert_int_equal(nmdl_sc_lanes_bytes(n, NMDL_SC_MIX3, 91), NMDL_MM_WAVE3 * (lane + sse));
    const uint64_t mix3 = nmdl_neural_decode_bytes(&cfg, 91, n, 2, 2, 0, NMDL_SC_MIX3, 0);
    const uint64_t mix2_wave = nmdl_neural_decode_bytes(&cfg, 91, n, 2, 2, 0, NMDL_SC_MIX2, 0);
    assert_int_equal(mix3 - mix2_wave, NMDL_MM_WAVE3 * (lane + sse) - NMDL_MM_WAVE * lane);
    const size_t lane4 = sizeof(nmdl_cm) + ((size_t)4 << 24); /* 2^24 counters from 2 MiB */
    assert_int_equal(nmdl_sc_lanes_bytes(n, NMDL_SC_MIX4, 91), NMDL_MM_WAVE3 * (lane4 + sse));
    assert_int_equal(nmdl_sc_lanes_bytes(n, NMDL_SC_MIX4, 1), lane4 + sse); /* one segment, one lane */
    assert_int_equal(nmdl_sc_lanes_bytes(n, NMDL_SC_MIX8, 1), lane4 + 2 * sse); /* two tables */
    assert_int_equal(nmdl_sc_lanes_bytes((size_t)1 << 25, NMDL_SC_MIX4, 91), /* 2^22 from 32 MiB */
                     NMDL_MM_WAVE3 * (sizeof(nmdl_cm) + ((size_t)4 << 22) + sse));
    nmdl_neural_params np; /* a default file decodes, streamed, within the default memory */
    nmdl_neural_params_default(&np);
    static const size_t big[] = {8000000, 32000000, 33554431, 33554432, 100000000};
    for (size_t k = 0; k < sizeof big / sizeof *big; k++) {
        nmdl_neural_plan plan;
        np.free_bytes = 0.1 * (double)big[k];
        assert_nmdl_ok(nmdl_neural_plan_make(&np, big[k], &plan));
        const int S = nmdl_neural_segments(big[k], NMDL_SC_MIX4);
        assert_true(nmdl_neural_decode_bytes(&plan.cfg, S, big[k], 2, 1, 1, NMDL_SC_MIX4, 0) <=
                    NMDL_MEMORY_DEFAULT);
    }
    assert_int_equal(nmdl_sc_lanes_bytes(1000, NMDL_SC_MIX4, 91),
                     NMDL_MM_WAVE3 * (sizeof(nmdl_cm) + ((size_t)4 << 16) + sse));
    const uint64_t mix4 = nmdl_neural_decode_bytes(&cfg, 91, n, 2, 2, 0, NMDL_SC_MIX4, 0);
    assert_int_equal(mix4 - mix3, NMDL_MM_WAVE3 * (lane4 - lane));
}

/* Data parts over 9 segments, three or more waves, so that every lane
 * carries its state from wave to wave: in revision 4, in revision 3 (as
 * files were written before revision 4), in revision 2 (as before
 * revision 3), with the mixer of revision 1 (as
 * before revision 2), and with the match model alone (as before the
 * mixer). Each decodes to the text at 1
 * and 2 threads and with memory for one segment in flight at a time, and
 * records its data code. */
static void lanes_across_waves(void **state)
{
    (void)state;
    const nmdl_model_config cfg = {1, 128, 4, 256, 64, 1, {0}}; /* above the least limit */
    enum { N = 9 * 3000 };
    tu_rng r = {29};
    uint8_t *text = tu_text(&r, N), *out = malloc(N);
    for (size_t i = N / 2; i + 300 < N; i += 2000) /* repeats for the match model */
        memcpy(text + i, text + i - N / 2 + 77, 300);
    for (int mode = NMDL_SC_MATCH; mode <= NMDL_SC_MIX4; mode++) {
        tu_blob b = tu_random_frame(&cfg, text, N, 9, mode);
        nmdl_info info;
        assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
        assert_int_equal(info.match, mode);
        assert_int_equal(info.segments, 9);
        for (int t = 1; t <= 2; t++) {
            memset(out, 0, N);
            assert_nmdl_ok(tu_decompress(&b, t, out, N));
            assert_memory_equal(out, text, N);
        }
        nmdl_dctx *d = nmdl_dctx_create();
        size_t len;
        const uint64_t one = nmdl_neural_decode_bytes(&cfg, 9, N, 1, 1, 0, mode, 0);
        assert_true(one < nmdl_neural_decode_bytes(&cfg, 9, N, 2, 1, 0, mode, 0));
        assert_nmdl_ok(nmdl_dctx_set_threads(d, 2));
        assert_nmdl_ok(nmdl_dctx_set_memory(d, one));
        memset(out, 0, N);
        assert_nmdl_ok(nmdl_decompress(d, out, N, &len, b.p, b.n));
        assert_int_equal(len, N);
        assert_memory_equal(out, text, N);
        nmdl_dctx_free(d);
        free(b.p);
    }
    free(text), free(out);
}

/* The committed seed dir/name (tests/fuzz/make_seeds.c: 640 bytes whose
 * second half repeats the first) read into *info and decoded, its checksum
 * verified, to what it was made from. */
static void seed_decodes(const char *dir, const char *name, nmdl_info *info)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz/seeds/%s/%s", NMDL_TESTS_DIR, dir, name);
    tu_blob b = tu_read(path);
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, info));
    uint8_t out[640];
    assert_nmdl_ok(tu_decompress(&b, 1, out, sizeof out));
    assert_memory_equal(out, out + 320, 320);
    free(b.p);
}

/* The committed frames of every data code revision (in 8 segments, with
 * the match model alone, with the mixer of revision 1 and both in
 * revisions 2 to 8) still decode. */
static void older_files_decode(void **state)
{
    (void)state;
    static const char *const name[] = {"s8-match.nmdl", "s8-mix.nmdl",  "s8-mix2.nmdl",
                                       "s8-mix3.nmdl",  "s8-mix4.nmdl", "s8-mix5.nmdl",
                                       "s8-mix6.nmdl",  "s8-mix7.nmdl", "s8-mix8.nmdl"};
    for (int k = 0; k < 9; k++) {
        nmdl_info info;
        seed_decodes("neural", name[k], &info);
        assert_int_equal(info.match, NMDL_SC_MATCH + k);
    }
}

/* The committed frames whose reports the reader must ignore (a cooling
 * of 2.5 steps; chains the only one of the estimate's settings not NaN; a
 * version 6 start of 2) decode, read as without a report. */
static void malformed_reports_ignored(void **state)
{
    (void)state;
    static const char *const name[] = {"s8-match-cool2.5.nmdl", "s8-match-chains.nmdl",
                                       "s8-match-start2.nmdl"};
    for (int k = 0; k < 3; k++) {
        nmdl_info info;
        seed_decodes("decompress", name[k], &info);
        assert_int_equal(info.has_report, 0);
        assert_true(isnan(info.llc_chains) && isnan(info.llc_cool_steps));
        assert_true(isnan(info.llc_start));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_as_the_transformer),
        cmocka_unit_test(learns_repeated_contexts),
        cmocka_unit_test(learns_from_the_missed_byte),
        cmocka_unit_test(symbol_set_rows),
        cmocka_unit_test(mixed_levels),
        cmocka_unit_test(golden_revision_1),
        cmocka_unit_test(golden_revision_2),
        cmocka_unit_test(golden_revision_3),
        cmocka_unit_test(golden_revision_4),
        cmocka_unit_test(golden_revision_5),
        cmocka_unit_test(golden_revision_6),
        cmocka_unit_test(learns_which_matches_hit),
        cmocka_unit_test(the_flag),
        cmocka_unit_test(memory_counts_the_lanes),
        cmocka_unit_test(lanes_across_waves),
        cmocka_unit_test(older_files_decode),
        cmocka_unit_test(malformed_reports_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
