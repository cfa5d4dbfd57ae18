/*
 * test_mix.c: the mix method (codec/mixcode.h). Its payload is pinned by a
 * golden hash (part of the file format) and decodes to the input; a wrong
 * revision byte, a cut or damaged stream and frames whose lengths break
 * the method's limits are refused; a frame of every revision (6 to 8,
 * fuzz seeds) decodes; through the public API it is the neural
 * method's fallback, decoded whole and streamed within the memory limit,
 * and shown by nmdl_info_read; one byte 0x00 (an empty stream) codes, and
 * a frame beyond the default ratio limit is not written by choice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/mixcode.h"
#include "container/frame.h"
#include "nmdl.h"
#include "testutil.h"

enum { N = 64000 };

/* Text with repeats at every distance, as test_match's golden text. */
static uint8_t *repeating_text(void)
{
    tu_rng r = {9};
    uint8_t *text = tu_text(&r, N);
    for (size_t i = 20000; i + 500 < N; i += 7000)
        memcpy(text + i, text + i - 15000, 500);
    return text;
}

static void payload_is_pinned_and_decodes(void **state)
{
    (void)state;
    uint8_t *text = repeating_text(), *p, *back = malloc(N);
    size_t len;
    assert_nmdl_ok(nmdl_mx_encode(text, N, NULL, 1.0, &p, &len));
    print_message("mix payload: %d bytes in %zu (%.3f bits/byte)\n", N, len, 8.0 * len / N);
    assert_int_equal(p[0], NMDL_MX_REVISION);
    assert_true(len < N / 3);
    tu_assert_golden(p, len, "mix payload", GOLDEN_MIX_HASH);
    assert_nmdl_ok(nmdl_mx_decode(p, len, back, N, NULL, NULL));
    assert_memory_equal(back, text, N);
    free(p);
    for (int b = 0; b < 2; b++) { /* the shortest: 0x00's stream is empty */
        const uint8_t one = b ? 'x' : 0;
        assert_nmdl_ok(nmdl_mx_encode(&one, 1, NULL, 1.0, &p, &len));
        assert_int_equal(len, b ? 2 : 1);
        back[0] = 0xAA;
        assert_nmdl_ok(nmdl_mx_decode(p, len, back, 1, NULL, NULL));
        assert_int_equal(back[0], one);
        free(p);
    }
    free(text), free(back);
}

static void bad_payloads_are_refused(void **state)
{
    (void)state;
    uint8_t *text = repeating_text(), *p, *back = malloc(N);
    size_t len;
    char why[200];
    assert_nmdl_ok(nmdl_mx_encode(text, N, NULL, 1.0, &p, &len));
    char says[32];
    snprintf(says, sizeof says, "revision %d,", NMDL_MX_REVISION + 1);
    p[0] = NMDL_MX_REVISION + 1;
    assert_int_equal(nmdl_mx_decode(p, len, back, N, NULL, why), NMDL_ERR_CORRUPT);
    assert_non_null(strstr(why, says));
    p[0] = 5;
    assert_int_equal(nmdl_mx_decode(p, len, back, N, NULL, why), NMDL_ERR_CORRUPT);
    p[0] = NMDL_MX_REVISION;
    assert_int_equal(nmdl_mx_decode(p, 0, back, N, NULL, why), NMDL_ERR_CORRUPT);
    assert_int_not_equal(nmdl_mx_decode(p, len / 2, back, N, NULL, why), NMDL_OK);
    print_message("cut in half: %s\n", why);
    p[len / 2] ^= 0x10; /* damaged: refused, or other bytes (the checksum's catch) */
    const int rc = nmdl_mx_decode(p, len, back, N, NULL, NULL);
    assert_true(rc != NMDL_OK || memcmp(back, text, N) != 0);
    free(p), free(text), free(back);
}

/* Every revision's frame of the same text (6: the mixer's revision 4,
 * made by commit 89ba25d; 7: its revision 5, by 6fdeb5d; 8: its
 * revision 6): their content checksums hold. */
static void every_revision_decodes(void **state)
{
    (void)state;
    static const char *const seeds[] = {NMDL_TESTS_DIR "/fuzz/seeds/decompress/mix.nmdl",
                                        NMDL_TESTS_DIR "/fuzz/seeds/decompress/mix7.nmdl",
                                        NMDL_TESTS_DIR "/fuzz/seeds/decompress/mix8.nmdl"};
    for (int k = 0; k < 3; k++) {
        tu_blob b = tu_read(seeds[k]);
        nmdl_info info;
        assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
        assert_int_equal(info.match, 7 + k);
        uint8_t *out = malloc((size_t)info.original_bytes);
        assert_nmdl_ok(tu_decompress(&b, 1, out, (size_t)info.original_bytes));
        free(out), free(b.p);
    }
}

/* A mix frame of n bytes claimed with these lengths; parsed, the reason
 * into why. */
static char why[200];
static int parse_mix(uint64_t n, size_t model_len, size_t data_len)
{
    static uint8_t part[64], buf[256];
    uint8_t sum[NMDL_FRAME_SUM_BYTES] = {0};
    memset(part, NMDL_MX_REVISION, sizeof part);
    nmdl_frame f = nmdl_frame_of(NMDL_METHOD_MIX, n, sum, part, model_len, part, data_len);
    nmdl_frame g;
    size_t written;
    assert_nmdl_ok(nmdl_frame_write(buf, sizeof buf, &written, &f));
    why[0] = 0;
    return nmdl_frame_parse(buf, written, &g, why);
}

static void frame_limits(void **state)
{
    (void)state;
    assert_nmdl_ok(parse_mix(1000, 0, 2));
    assert_nmdl_ok(parse_mix(1, 0, 1)); /* the revision byte alone */
    assert_int_equal(parse_mix(1000, 1, 2), NMDL_ERR_CORRUPT); /* a model part */
    assert_int_equal(parse_mix(1, 0, 0), NMDL_ERR_CORRUPT);    /* no revision */
    assert_int_equal(parse_mix(0, 0, 1), NMDL_ERR_CORRUPT);    /* nothing to code */
    assert_nmdl_ok(parse_mix(2ull << 19, 0, 2));
    assert_int_equal(parse_mix((2ull << 19) + 1, 0, 2), NMDL_ERR_CORRUPT); /* the ratio */
    assert_int_equal(parse_mix(1ull << 32, 0, 64), NMDL_ERR_CORRUPT); /* 32-bit positions */
    assert_non_null(strstr(why, "2^32 - 1"));
}

static void fallback_through_the_api(void **state)
{
    (void)state;
    uint8_t *text = repeating_text();
    nmdl_cctx *c = nmdl_cctx_create();
    assert_nmdl_ok(nmdl_cctx_set_method(c, NMDL_METHOD_MIX));
    tu_blob b = tu_compress(c, text, N);
    nmdl_compress_report r;
    nmdl_cctx_report(c, &r);
    print_message("mix %llu, zstd %llu bytes\n", (unsigned long long)r.mix_bytes,
                  (unsigned long long)r.zstd_bytes);
    assert_int_equal(r.method, NMDL_METHOD_MIX);
    assert_true(r.mix_bytes == b.n && r.mix_bytes < r.zstd_bytes);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    assert_int_equal(info.method, NMDL_METHOD_MIX);
    assert_int_equal(info.match, NMDL_MX_REVISION + 1);
    assert_int_equal(info.segments, 1);
    assert_int_equal(info.model_bytes, 0);
    uint8_t *back = malloc(N);
    assert_nmdl_ok(tu_decompress(&b, 2, back, N));
    assert_memory_equal(back, text, N);
    tu_blob s = tu_decompress_stream(&b, 1);
    assert_int_equal(s.n, N);
    assert_memory_equal(s.p, text, N);
    nmdl_dctx *d = nmdl_dctx_create();
    size_t out;
    assert_nmdl_ok(nmdl_dctx_set_memory(d, nmdl_mx_decode_bytes(N, NMDL_MX_REVISION) - 1));
    assert_int_equal(nmdl_decompress(d, back, N, &out, b.p, b.n), NMDL_ERR_LIMIT);
    assert_non_null(strstr(nmdl_dctx_error_detail(d), "memory"));
    assert_nmdl_ok(nmdl_dctx_set_memory(d, nmdl_mx_decode_bytes(N, NMDL_MX_REVISION)));
    assert_nmdl_ok(nmdl_decompress(d, back, N, &out, b.p, b.n));
    tu_blob t = {back, 0}; /* streamed: the whole output besides */
    assert_nmdl_ok(nmdl_dctx_set_memory(d, nmdl_mx_decode_bytes(N, NMDL_MX_REVISION) + N - 1));
    assert_int_equal(nmdl_decompress_stream(d, b.p, b.n, tu_append, &t), NMDL_ERR_LIMIT);
    assert_nmdl_ok(nmdl_dctx_set_memory(d, nmdl_mx_decode_bytes(N, NMDL_MX_REVISION) + N));
    assert_nmdl_ok(nmdl_decompress_stream(d, b.p, b.n, tu_append, &t));
    assert_int_equal(t.n, N);
    nmdl_dctx_free(d);
    nmdl_free(b.p);
    free(s.p);
    assert_nmdl_ok(nmdl_cctx_set_fallback(c, 0)); /* one byte 0x00, mix asked */
    const uint8_t zero = 0;
    b = tu_compress(c, &zero, 1);
    assert_nmdl_ok(tu_decompress(&b, 1, back, 1));
    assert_int_equal(back[0], 0);
    nmdl_free(b.p);
    assert_nmdl_ok(nmdl_cctx_set_fallback(c, 1));
    assert_nmdl_ok(nmdl_cctx_set_method(c, NMDL_METHOD_ZSTD)); /* zstd asked: no mix */
    b = tu_compress(c, text, N);
    nmdl_cctx_report(c, &r);
    assert_true(r.method == NMDL_METHOD_ZSTD && r.mix_bytes == 0);
    nmdl_free(b.p);
    nmdl_cctx_free(c);
    free(text), free(back);
}

/* 1 MB of zeros: the mix frame (tens of bytes) is beyond the default
 * ratio limit, so the fallback writes zstd's, which decodes by default. */
static void no_frame_beyond_the_ratio(void **state)
{
    (void)state;
    const size_t n = 1000000;
    uint8_t *zeros = calloc(n, 1), *back = malloc(n);
    nmdl_cctx *c = nmdl_cctx_create();
    assert_nmdl_ok(nmdl_cctx_set_method(c, NMDL_METHOD_MIX));
    tu_blob b = tu_compress(c, zeros, n);
    nmdl_compress_report r;
    nmdl_cctx_report(c, &r);
    print_message("1 MB of zeros: %s, %zu bytes\n", nmdl_method_name(r.method), b.n);
    assert_int_equal(r.method, NMDL_METHOD_ZSTD);
    assert_int_equal(r.mix_bytes, 0);
    assert_nmdl_ok(tu_decompress(&b, 1, back, n));
    assert_memory_equal(back, zeros, n);
    nmdl_free(b.p);
    nmdl_cctx_free(c);
    free(zeros), free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(payload_is_pinned_and_decodes),
        cmocka_unit_test(bad_payloads_are_refused),
        cmocka_unit_test(every_revision_decodes),
        cmocka_unit_test(frame_limits),
        cmocka_unit_test(fallback_through_the_api),
        cmocka_unit_test(no_frame_beyond_the_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
