/*
 * test_container.c: the frame writer and parser, the public compress /
 * decompress / info calls, and the promise that no damaged container is
 * ever decoded silently: every truncation and 10,000 single-byte
 * corruptions fail with an error (run under ASan + UBSan in CI).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "container/frame.h"
#include "nmdl.h"
#include "testutil.h"

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

static blob compress_with(nmdl_method m, int threads, const uint8_t *src,
                          size_t n)
{
    nmdl_cctx *c = nmdl_cctx_create();
    assert_non_null(c);
    assert_nmdl_ok(nmdl_cctx_set_method(c, m));
    assert_nmdl_ok(nmdl_cctx_set_threads(c, threads));
    blob b = {malloc(nmdl_compress_bound(n)), 0};
    assert_nmdl_ok(nmdl_compress(c, b.p, nmdl_compress_bound(n), &b.n, src, n));
    nmdl_cctx_free(c);
    return b;
}

/* Decompresses into an exact-size buffer; returns the library's code. */
static int decompress(const uint8_t *frame, size_t n, uint8_t **out,
                      size_t *out_len)
{
    nmdl_info info;
    int rc = nmdl_info_read(frame, n, &info);
    if (rc)
        return rc;
    nmdl_dctx *d = nmdl_dctx_create();
    assert_non_null(d);
    *out = malloc(info.original_bytes + 1);
    rc = nmdl_decompress(d, *out, (size_t)info.original_bytes, out_len, frame, n);
    nmdl_dctx_free(d);
    return rc;
}

static void roundtrip(const uint8_t *src, size_t n, nmdl_method m,
                      nmdl_method expect)
{
    blob b = compress_with(m, 1, src, n);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    assert_int_equal(info.method, expect);
    assert_int_equal(info.original_bytes, n);
    assert_int_equal(info.file_bytes, b.n);
    assert_int_equal(info.header_bytes + info.model_bytes + info.data_bytes +
                         info.checksum_bytes, info.file_bytes);
    uint8_t *out = NULL;
    size_t len = 0;
    assert_nmdl_ok(decompress(b.p, b.n, &out, &len));
    assert_int_equal(len, n);
    if (n)
        assert_memory_equal(out, src, n);
    free(out);
    free(b.p);
}

static void roundtrips(void **state)
{
    (void)state;
    tu_rng r = {20};
    uint8_t *text = tu_text(&r, 100000), one = 'x', random[5000];
    for (size_t i = 0; i < sizeof random; i++)
        random[i] = (uint8_t)tu_next(&r);
    roundtrip(NULL, 0, NMDL_METHOD_ZSTD, NMDL_METHOD_STORED);
    roundtrip(&one, 1, NMDL_METHOD_ZSTD, NMDL_METHOD_STORED);
    roundtrip(random, sizeof random, NMDL_METHOD_ZSTD, NMDL_METHOD_STORED);
    roundtrip(text, 100000, NMDL_METHOD_ZSTD, NMDL_METHOD_ZSTD);
    roundtrip(text, 100000, NMDL_METHOD_STORED, NMDL_METHOD_STORED);
    free(text);
}

/* The output never depends on the thread count. */
static void threads_do_not_change_output(void **state)
{
    (void)state;
    tu_rng r = {21};
    size_t n = 3000000; /* several zstd jobs */
    uint8_t *text = tu_text(&r, n);
    blob a = compress_with(NMDL_METHOD_ZSTD, 1, text, n);
    blob b = compress_with(NMDL_METHOD_ZSTD, 2, text, n);
    blob c = compress_with(NMDL_METHOD_ZSTD, 3, text, n);
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.n, c.n);
    assert_memory_equal(a.p, b.p, a.n);
    assert_memory_equal(a.p, c.p, a.n);
    free(a.p), free(b.p), free(c.p), free(text);
}

/* Inputs under 1 KiB never try the neural method, even when asked. */
static void tiny_inputs_skip_neural(void **state)
{
    (void)state;
    nmdl_cctx *c = nmdl_cctx_create();
    uint8_t dst[100], src[1] = {0};
    size_t n;
    nmdl_info info;
    assert_nmdl_ok(nmdl_cctx_set_method(c, NMDL_METHOD_NEURAL));
    assert_nmdl_ok(nmdl_compress(c, dst, sizeof dst, &n, src, 1));
    assert_nmdl_ok(nmdl_info_read(dst, n, &info));
    assert_int_equal(info.method, NMDL_METHOD_STORED);
    assert_false(info.has_alternative);
    nmdl_cctx_free(c);
}

static void small_destinations(void **state)
{
    (void)state;
    uint8_t src[64] = {1, 2, 3}, dst[200], out[64];
    size_t n, m;
    nmdl_cctx *c = nmdl_cctx_create();
    assert_int_equal(nmdl_compress(c, dst, 20, &n, src, sizeof src),
                     NMDL_ERR_DST_SIZE);
    assert_nmdl_ok(nmdl_compress(c, dst, sizeof dst, &n, src, sizeof src));
    nmdl_cctx_free(c);
    nmdl_dctx *d = nmdl_dctx_create();
    assert_int_equal(nmdl_decompress(d, out, 63, &m, dst, n), NMDL_ERR_DST_SIZE);
    assert_nmdl_ok(nmdl_decompress(d, out, 64, &m, dst, n));
    nmdl_dctx_free(d);
    /* zstd asked for without the fallback: where only the stored frame
     * would fit, the call is refused, not answered with the stored frame */
    uint8_t noise[4096], *big = malloc(nmdl_compress_bound(sizeof noise));
    tu_rng r = {7};
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (uint8_t)tu_next(&r);
    c = nmdl_cctx_create();
    assert_nmdl_ok(nmdl_cctx_set_method(c, NMDL_METHOD_STORED));
    size_t stored;
    assert_nmdl_ok(nmdl_compress(c, big, nmdl_compress_bound(sizeof noise), &stored, noise,
                                 sizeof noise));
    assert_nmdl_ok(nmdl_cctx_set_method(c, NMDL_METHOD_ZSTD));
    assert_nmdl_ok(nmdl_cctx_set_fallback(c, 0));
    assert_int_equal(nmdl_compress(c, big, stored, &n, noise, sizeof noise),
                     NMDL_ERR_DST_SIZE);
    void *frame;
    assert_nmdl_ok(nmdl_compress_alloc(c, noise, sizeof noise, &frame, &n));
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(frame, n, &info));
    assert_int_equal(info.method, NMDL_METHOD_ZSTD);
    nmdl_free(frame), free(big);
    nmdl_cctx_free(c);
}

/* A frame built by hand: header fields as given, checksums made valid, so
 * that each check of the parser is reached on its own. */
static blob forge(const uint8_t *head, size_t head_len, const uint8_t *body,
                  size_t body_len, const uint8_t *content, size_t content_len)
{
    blob b = {malloc(head_len + body_len + 32), head_len + body_len + 32};
    memcpy(b.p, head, head_len);
    memcpy(b.p + head_len, body, body_len);
    nmdl_frame_sum(content, content_len, b.p + head_len + body_len);
    nmdl_frame_sum(b.p, b.n - 16, b.p + b.n - 16);
    return b;
}

static int parse(blob b)
{
    nmdl_frame f;
    int rc = nmdl_frame_parse(b.p, b.n, &f, NULL);
    free(b.p);
    return rc;
}

static void parser_errors(void **state)
{
    (void)state;
    const uint8_t body[3] = {'a', 'b', 'c'};
#define HEAD(...) (const uint8_t[]){0xB7, 'N', 'M', 'D', __VA_ARGS__}
#define FORGE(...) forge(HEAD(__VA_ARGS__), sizeof(HEAD(__VA_ARGS__)), body, 3, body, 3)
    assert_nmdl_ok(parse(FORGE(1, 0, 0, 3, 0, 3)));
    assert_int_equal(parse(FORGE(2, 0, 0, 3, 0, 3)), NMDL_ERR_VERSION);
    assert_int_equal(parse(FORGE(1, 9, 0, 3, 0, 3)), NMDL_ERR_METHOD);
    assert_int_equal(parse(FORGE(1, 2, 0, 3, 0, 3)), NMDL_ERR_CORRUPT); /* no model */
    assert_int_equal(parse(FORGE(1, 0, 0x80, 3, 0, 3)), NMDL_ERR_CORRUPT);
    assert_nmdl_ok(parse(FORGE(1, 0, 1, 3, 0, 3, 2, 0x80, 1)));  /* alternative */
    assert_int_equal(parse(FORGE(1, 0, 1, 3, 0, 3, 0, 9)), NMDL_ERR_CORRUPT);
    assert_int_equal(parse(FORGE(1, 0, 1, 3, 0, 3, 7, 9)), NMDL_ERR_CORRUPT);
    assert_nmdl_ok(parse(FORGE(1, 0, 1, 3, 0, 3, 3, 0x80, 1))); /* mix as the alternative */
    char why[200];
    nmdl_frame g;
    blob a = FORGE(1, 0, 1, 3, 0, 3, 4, 9); /* no method 4 */
    assert_int_equal(nmdl_frame_parse(a.p, a.n, &g, why), NMDL_ERR_CORRUPT);
    assert_non_null(strstr(why, "alternative method 4"));
    free(a.p);
    assert_int_equal(parse(FORGE(1, 0, 0, 0x83, 0, 0, 3)), NMDL_ERR_CORRUPT);
    assert_int_equal(parse(FORGE(1, 0, 0, 3, 1, 2)), NMDL_ERR_CORRUPT);
    assert_int_equal(parse(FORGE(1, 0, 0, 4, 0, 3)), NMDL_ERR_CORRUPT);
    assert_int_equal(parse(FORGE(1, 0, 0, 3, 0, 4)), NMDL_ERR_TRUNCATED);
    assert_int_equal(parse(FORGE(1, 0, 0, 3, 0, 2)), NMDL_ERR_CORRUPT);
    assert_int_equal(parse(FORGE(1, 1, 0, 0xFF, 0xFF, 0xFF, 0x7F, 0, 3)),
                     NMDL_ERR_CORRUPT); /* zstd claiming a ratio > 32768 */
    assert_int_equal(parse(FORGE(1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                 0xFF, 0xFF, 0xFF, 0x01, 0, 3)),
                     NMDL_ERR_CORRUPT); /* a length of more than 63 bits */
    blob b = FORGE(1, 0, 0, 3, 0, 3);
    b.p[10] ^= 1;
    assert_int_equal(parse(b), NMDL_ERR_CHECKSUM);
    b = FORGE(1, 0, 0, 3, 0, 3);
    b.p[0] = 'P';
    assert_int_equal(parse(b), NMDL_ERR_NOT_NMDL);
#undef FORGE
#undef HEAD
    nmdl_frame f;
    assert_int_equal(nmdl_frame_parse(NULL, 0, &f, NULL), NMDL_ERR_TRUNCATED);
    assert_int_equal(nmdl_frame_parse((const uint8_t *)"\xB7NM", 3, &f, NULL),
                     NMDL_ERR_TRUNCATED);
    assert_int_equal(nmdl_frame_parse((const uint8_t *)"PK\3\4", 4, &f, NULL),
                     NMDL_ERR_NOT_NMDL);
}

/* nmdl_frame_length finds where each frame of a concatenation ends, from
 * every truncation of it a clean error, and nothing else changes: one frame
 * is still exactly what nmdl_info_read and nmdl_decompress take. */
static void frame_length_splits_concatenations(void **state)
{
    (void)state;
    tu_rng r = {24};
    uint8_t *text = tu_text(&r, 5000);
    blob a = compress_with(NMDL_METHOD_ZSTD, 1, text, 5000);
    blob b = compress_with(NMDL_METHOD_STORED, 1, text, 300);
    size_t n = a.n + b.n, len = 0;
    uint8_t *ab = malloc(n + 1);
    memcpy(ab, a.p, a.n);
    memcpy(ab + a.n, b.p, b.n);
    assert_nmdl_ok(nmdl_frame_length(ab, n, &len));
    assert_int_equal(len, a.n);
    assert_nmdl_ok(nmdl_frame_length(ab + a.n, b.n, &len));
    assert_int_equal(len, b.n);
    for (size_t keep = 0; keep < b.n; keep++)
        assert_int_equal(nmdl_frame_length(ab + a.n, keep, &len), NMDL_ERR_TRUNCATED);
    nmdl_info info;
    assert_int_equal(nmdl_info_read(ab, n, &info), NMDL_ERR_CORRUPT);
    assert_nmdl_ok(nmdl_info_read(ab, a.n, &info));
    ab[n] = '\n'; /* a frame, then a byte that starts none */
    assert_int_equal(nmdl_frame_length(ab + n, 1, &len), NMDL_ERR_NOT_NMDL);
    assert_int_equal(nmdl_frame_length(NULL, 0, &len), NMDL_ERR_TRUNCATED);
    assert_int_equal(nmdl_frame_length(ab, n, NULL), NMDL_ERR_ARG);
    free(ab);
    free(a.p);
    free(b.p);
    free(text);
}

/* Decoding a damaged frame must fail; `forged` frames have their frame
 * checksum recomputed after the damage, so the decoders behind it and the
 * content checksum are what must catch it (or the output must be exact). */
static void check_damaged(const uint8_t *frame, size_t n, const uint8_t *orig,
                          size_t orig_len, int forged)
{
    uint8_t *copy = malloc(n ? n : 1), *out = NULL;
    memcpy(copy, frame, n);
    if (forged && n >= 16)
        nmdl_frame_sum(copy, n - 16, copy + n - 16);
    size_t len = 0;
    int rc = decompress(copy, n, &out, &len);
    if (!forged)
        assert_int_not_equal(rc, NMDL_OK);
    else if (rc == NMDL_OK)
        assert_true(len == orig_len && !memcmp(out, orig, len));
    free(out);
    free(copy);
}

static void damage_sweep(const uint8_t *src, size_t n, nmdl_method m)
{
    blob b = compress_with(m, 1, src, n);
    for (size_t keep = 0; keep < b.n; keep++)
        check_damaged(b.p, keep, src, n, 0);
    tu_rng r = {22};
    for (int i = 0; i < 10000; i++) {
        size_t at = tu_below(&r, (uint32_t)b.n);
        uint8_t old = b.p[at];
        b.p[at] ^= (uint8_t)(1 + tu_below(&r, 255));
        check_damaged(b.p, b.n, src, n, 0);
        check_damaged(b.p, b.n, src, n, 1);
        b.p[at] = old;
    }
    free(b.p);
}

static void damaged_zstd_frames_rejected(void **state)
{
    (void)state;
    tu_rng r = {23};
    uint8_t *text = tu_text(&r, 3000);
    damage_sweep(text, 3000, NMDL_METHOD_ZSTD);
    free(text);
}

static void damaged_stored_frames_rejected(void **state)
{
    (void)state;
    uint8_t src[300];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 7919 >> 3);
    damage_sweep(src, sizeof src, NMDL_METHOD_STORED);
}

static void names(void **state)
{
    (void)state;
    nmdl_method m;
    assert_string_equal(nmdl_strerror(NMDL_ERR_CHECKSUM), "checksum mismatch");
    assert_string_equal(nmdl_strerror(NMDL_ERR_NOT_NMDL), "not an nmdl file");
    assert_string_equal(nmdl_strerror(NMDL_ERR_TRUNCATED), "truncated");
    assert_string_equal(nmdl_strerror(12345), "unknown error");
    assert_nmdl_ok(nmdl_method_parse("zstd", &m));
    assert_int_equal(m, NMDL_METHOD_ZSTD);
    assert_int_equal(nmdl_method_parse("lzma", &m), NMDL_ERR_METHOD);
    assert_string_equal(nmdl_method_name(NMDL_METHOD_NEURAL), "neural");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrips),
        cmocka_unit_test(threads_do_not_change_output),
        cmocka_unit_test(tiny_inputs_skip_neural),
        cmocka_unit_test(small_destinations),
        cmocka_unit_test(parser_errors),
        cmocka_unit_test(frame_length_splits_concatenations),
        cmocka_unit_test(damaged_zstd_frames_rejected),
        cmocka_unit_test(damaged_stored_frames_rejected),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
