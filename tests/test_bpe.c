/*
 * test_bpe.c: byte pairs merged into unused byte values (codec/bpe.h).
 * Learning on real text gives the counts measured in docs/BENCHMARKS.md
 * ("Tokens") and expanding restores the text; a table that is not well
 * formed, or symbols that do not fill the original length, are refused
 * with a reason and leave the destination untouched. Frames of merged
 * symbols (model part flags bit 6) decode, whole and streamed, and their
 * header's table is checked before anything is allocated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/bpe.h"
#include "codec/error.h"
#include "codec/quant.h"
#include "codec/segcode.h"
#include "codec/segcode.h"
#include "nmdl.h"
#include "testutil.h"

/* Learns, checks, applies again and expands src[0, n); returns the
 * symbol count. */
static size_t round_trip(const uint8_t *src, size_t n, size_t min, nmdl_bpe *t)
{
    uint8_t *sym = malloc(n), *again = malloc(n), *back = malloc(n);
    assert_true(sym && again && back);
    size_t m, m2;
    assert_int_equal(nmdl_bpe_learn(src, n, min, t, sym, &m), NMDL_OK);
    assert_true(m <= n);
    assert_int_equal(nmdl_bpe_check(t, NULL), NMDL_OK);
    nmdl_bpe_apply(t, src, n, again, &m2);
    assert_int_equal(m2, m);
    assert_memory_equal(again, sym, m);
    assert_int_equal(nmdl_bpe_expand(t, sym, m, back, n, NULL), NMDL_OK);
    assert_memory_equal(back, src, n);
    free(sym), free(again), free(back);
    return m;
}

/* enwik8's first MB: 61 merges, 0.688 symbols a byte (bench_pairs). */
static void merges_real_text(void **state)
{
    (void)state;
    enum { N = 1000000 };
    uint8_t *src = tu_corpus(N);
    if (!src)
        skip();
    nmdl_bpe t;
    const size_t m = round_trip(src, N, 64, &t);
    assert_int_equal(t.count, 61);
    assert_int_equal(m, 688475);
    free(src);
}

/* Every value used: nothing to merge; a run of one byte merges in pairs,
 * then pairs of pairs, until the last pair occurs once: two symbols of
 * 2048 bytes. */
static void edge_inputs(void **state)
{
    (void)state;
    uint8_t all[512], run[4096];
    for (int i = 0; i < 512; i++)
        all[i] = (uint8_t)i;
    nmdl_bpe t;
    assert_int_equal(round_trip(all, sizeof all, 2, &t), sizeof all);
    assert_int_equal(t.count, 0);
    memset(run, 'a', sizeof run);
    assert_int_equal(round_trip(run, sizeof run, 2, &t), 2);
    assert_int_equal(t.count, 11);
    assert_int_equal(round_trip(run, 1, 2, &t), 1);
}

/* A table is refused before it is used: a value merged twice, a pair that
 * names its own or a later merge, a symbol over NMDL_BPE_MAX_LEN bytes. */
static void bad_tables(void **state)
{
    (void)state;
    char why[NMDL_WHY_MAX];
    nmdl_bpe t = {.count = 2, .v = {200, 200}, .a = {'a', 'b'}, .b = {'b', 'c'}};
    assert_int_equal(nmdl_bpe_check(&t, why), NMDL_ERR_CORRUPT);
    assert_non_null(strstr(why, "merged twice"));
    t = (nmdl_bpe){.count = 2, .v = {200, 201}, .a = {'a', 201}, .b = {'b', 'c'}};
    assert_int_equal(nmdl_bpe_check(&t, why), NMDL_ERR_CORRUPT);
    assert_non_null(strstr(why, "not defined before"));
    t = (nmdl_bpe){.count = 1, .v = {200}, .a = {200}, .b = {'b'}};
    assert_int_equal(nmdl_bpe_check(&t, why), NMDL_ERR_CORRUPT);
    t = (nmdl_bpe){.count = NMDL_BPE_MAX + 1};
    assert_int_equal(nmdl_bpe_check(&t, why), NMDL_ERR_CORRUPT);
    t.count = 17; /* value 128 + k stands for 2^(k + 1) bytes */
    for (int k = 0; k < t.count; k++)
        t.v[k] = (uint8_t)(128 + k), t.a[k] = t.b[k] = k ? (uint8_t)(127 + k) : 'x';
    assert_int_equal(nmdl_bpe_check(&t, why), NMDL_ERR_CORRUPT);
    assert_non_null(strstr(why, "more than 65536"));
    t.count = 16; /* 2^16 bytes: the most a symbol may stand for */
    assert_int_equal(nmdl_bpe_check(&t, NULL), NMDL_OK);
}

/* Symbols that stand for more or fewer bytes than the original length. */
static void wrong_length(void **state)
{
    (void)state;
    char why[NMDL_WHY_MAX];
    const nmdl_bpe t = {.count = 1, .v = {200}, .a = {'a'}, .b = {'b'}};
    const uint8_t sym[3] = {200, 'c', 200};
    uint8_t dst[8];
    memset(dst, 7, sizeof dst);
    assert_int_equal(nmdl_bpe_expand(&t, sym, 3, dst, 4, why), NMDL_ERR_CORRUPT);
    assert_non_null(strstr(why, "more bytes"));
    assert_int_equal(nmdl_bpe_expand(&t, sym, 3, dst, 6, why), NMDL_ERR_CORRUPT);
    assert_non_null(strstr(why, "fewer bytes"));
    assert_int_equal(dst[0], 7);
    assert_int_equal(nmdl_bpe_expand(&t, sym, 3, dst, 5, why), NMDL_OK);
    assert_memory_equal(dst, "abcab", 5);
}

/* nmdl_compress with tokens: fewer symbols than bytes, recorded in the
 * frame, coded in the two data codes and the shorter written, and the
 * file decodes whole and streamed; by default, bytes at this size, coded
 * once. */
static void token_frames_round_trip(void **state)
{
    (void)state;
    enum { N = 65536 };
    uint8_t *src = tu_corpus(N);
    if (!src)
        skip();
    nmdl_cctx *c = tu_small_cctx(2, 0, 20);
    assert_nmdl_ok(nmdl_cctx_set_tokens(c, 1));
    tu_blob b = tu_compress(c, src, N);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    assert_int_equal(info.method, NMDL_METHOD_NEURAL);
    assert_true(info.merges > 0);
    assert_true(info.symbols > N / 2 && info.symbols < N);
    nmdl_compress_report rep;
    nmdl_cctx_report(c, &rep);
    print_message("data code %d: %llu bytes; %d: %.0f\n", rep.data_code - 1,
                  (unsigned long long)info.data_bytes, rep.other_code - 1, rep.other_data_bytes);
    assert_int_equal(rep.data_code, info.match);
    assert_true(rep.data_code + rep.other_code == NMDL_SC_MIX6 + NMDL_SC_MIX8);
    assert_true((double)info.data_bytes <= rep.other_data_bytes);
    assert_true((double)info.data_bytes < rep.other_data_bytes || info.match == NMDL_SC_MIX8);
    uint8_t *out = malloc(N);
    assert_non_null(out);
    assert_nmdl_ok(tu_decompress(&b, 2, out, N));
    assert_memory_equal(out, src, N);
    tu_blob s = tu_decompress_stream(&b, 1);
    assert_int_equal(s.n, N);
    assert_memory_equal(s.p, src, N);
    free(s.p), free(b.p);
    assert_int_equal(nmdl_cctx_set_tokens(c, 2), NMDL_ERR_ARG);
    assert_nmdl_ok(nmdl_cctx_set_tokens(c, -1)); /* the default: bytes below 4 MB */
    b = tu_compress(c, src, N);
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    assert_int_equal(info.merges, 0);
    assert_int_equal(info.symbols, N);
    nmdl_cctx_report(c, &rep);
    assert_true(rep.other_code == 0 && isnan(rep.other_data_bytes));
    assert_int_equal(rep.data_code, NMDL_SC_MIX8);
    free(b.p), free(out), free(src);
    nmdl_cctx_free(c);
}

/* Frames whose table or symbol count is wrong: refused as corrupt with
 * the reason, before the data part is decoded where the header shows it. */
static void bad_token_frames(void **state)
{
    (void)state;
    enum { N = 4096 };
    const nmdl_model_config cfg = {1, 16, 2, 32, 32, 1, {0}};
    uint8_t *text = tu_text(&(tu_rng){5}, N), *sym = calloc(N + 1, 1), out[N];
    assert_non_null(sym);
    nmdl_bpe t;
    size_t m;
    assert_nmdl_ok(nmdl_bpe_learn(text, N, 8, &t, sym, &m));
    assert_true(t.count > 0 && m < N);
    tu_blob b = tu_random_token_frame(&cfg, text, N, 1, NMDL_SC_MIX2, &t, sym, m);
    assert_nmdl_ok(tu_decompress(&b, 1, out, N));
    assert_memory_equal(out, text, N);
    free(b.p);
    struct { const char *why; nmdl_bpe t; size_t m; } bad[] = {
        {"tokens for", t, N + 1},            /* more symbols than bytes */
        {"fewer bytes", t, m - 1},           /* the last symbol left out */
        {"not defined before", t, m},        /* a merge naming itself */
    };
    bad[2].t.a[0] = bad[2].t.v[0];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = tu_random_token_frame(&cfg, text, N, 1, NMDL_SC_MIX2, &bad[i].t, sym, bad[i].m);
        nmdl_dctx *d = nmdl_dctx_create();
        size_t len;
        assert_int_equal(nmdl_decompress(d, out, N, &len, b.p, b.n), NMDL_ERR_CORRUPT);
        assert_non_null(strstr(nmdl_dctx_error_detail(d), bad[i].why));
        nmdl_dctx_free(d);
        free(b.p);
    }
    free(sym), free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merges_real_text),
        cmocka_unit_test(edge_inputs),
        cmocka_unit_test(bad_tables),
        cmocka_unit_test(wrong_length),
        cmocka_unit_test(token_frames_round_trip),
        cmocka_unit_test(bad_token_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
