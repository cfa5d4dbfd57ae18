/*
 * test_neural.c: the neural method end to end, with small models so that
 * it runs in seconds: roundtrips on synthetic text and on 64 KB of enwik8,
 * several segments, output independent of the thread count, the fallback,
 * and damaged model or data parts rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "codec/neural.h"
#include "container/frame.h"
#include "model/quant.h"
#include "nmdl.h"
#include "testutil.h"

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

/* A 1-block model with few steps: seconds, not minutes. */
static nmdl_cctx *small_cctx(int threads, int fallback, long steps)
{
    nmdl_model_config cfg = {1, 32, 2, 64, 64, 1};
    nmdl_cctx *c = nmdl_cctx_create();
    assert_non_null(c);
    assert_nmdl_ok(nmdl_cctx_set_model(c, &cfg));
    assert_nmdl_ok(nmdl_cctx_set_steps(c, steps, steps / 5));
    assert_nmdl_ok(nmdl_cctx_set_threads(c, threads));
    assert_nmdl_ok(nmdl_cctx_set_fallback(c, fallback));
    assert_nmdl_ok(nmdl_cctx_set_bits(c, 4.0));
    return c;
}

static blob compress(nmdl_cctx *c, const uint8_t *src, size_t n)
{
    blob b = {NULL, 0};
    void *p;
    assert_nmdl_ok(nmdl_compress_alloc(c, src, n, &p, &b.n));
    b.p = p;
    return b;
}

static int decompress(const blob *b, int threads, uint8_t *out, size_t n)
{
    nmdl_dctx *d = nmdl_dctx_create();
    size_t len = 0;
    assert_nmdl_ok(nmdl_dctx_set_threads(d, threads));
    int rc = nmdl_decompress(d, out, n, &len, b->p, b->n);
    nmdl_dctx_free(d);
    return rc ? rc : (len == n ? NMDL_OK : NMDL_ERR_CORRUPT);
}

static void roundtrip_text(void **state)
{
    (void)state;
    tu_rng r = {50};
    size_t n = 20000;
    uint8_t *text = tu_text(&r, n), *out = malloc(n);
    nmdl_cctx *c = small_cctx(2, 0, 150);
    blob b = compress(c, text, n);
    nmdl_compress_report rep;
    nmdl_cctx_report(c, &rep);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    assert_int_equal(info.method, NMDL_METHOD_NEURAL);
    assert_int_equal(info.n_params, rep.n_params);
    assert_int_equal(info.header_bytes + info.model_bytes + info.data_bytes +
                     info.checksum_bytes, b.n);
    print_message("synthetic text: %zu bytes -> model %llu + data %llu "
                  "(%.3f bits/byte), %.2f bits/weight\n", n,
                  (unsigned long long)info.model_bytes,
                  (unsigned long long)info.data_bytes, rep.data_bpb,
                  rep.bits_per_weight);
    assert_true(rep.data_bpb < 3.0); /* the model did learn the words */
    assert_nmdl_ok(decompress(&b, 1, out, n));
    assert_memory_equal(out, text, n);
    free(b.p), free(out), free(text);
    nmdl_cctx_free(c);
}

/* 64 KB of enwik8: two segments; the file is the same for 1 and 2
 * threads, and decodes with either. */
static void roundtrip_enwik8_64k(void **state)
{
    (void)state;
    size_t n = 65536;
    uint8_t *text = tu_corpus(n), *out = malloc(n);
    if (!text)
        skip();
    nmdl_cctx *c1 = small_cctx(1, 0, 60), *c2 = small_cctx(2, 0, 60);
    blob a = compress(c1, text, n), b = compress(c2, text, n);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.p, b.p, a.n);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(a.p, a.n, &info));
    assert_int_equal(info.method, NMDL_METHOD_NEURAL);
    assert_int_equal(info.segments, 2);
    assert_nmdl_ok(decompress(&a, 2, out, n));
    assert_memory_equal(out, text, n);
    memset(out, 0, n);
    assert_nmdl_ok(decompress(&a, 1, out, n));
    assert_memory_equal(out, text, n);
    free(a.p), free(b.p), free(out), free(text);
    nmdl_cctx_free(c1);
    nmdl_cctx_free(c2);
}

/* With the fallback, a neural attempt that loses leaves zstd's frame and
 * records its own size. */
static void fallback_records_the_loser(void **state)
{
    (void)state;
    tu_rng r = {51};
    size_t n = 4000;
    uint8_t *text = tu_text(&r, n), *out = malloc(n);
    nmdl_cctx *c = small_cctx(1, 1, 10);
    blob b = compress(c, text, n);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    assert_int_not_equal(info.method, NMDL_METHOD_NEURAL);
    assert_true(info.has_alternative);
    assert_int_equal(info.alternative_method, NMDL_METHOD_NEURAL);
    assert_true(info.alternative_bytes > b.n);
    assert_nmdl_ok(decompress(&b, 1, out, n));
    assert_memory_equal(out, text, n);
    free(b.p), free(out), free(text);
    nmdl_cctx_free(c);
}

/* Damage to the model or data part, with the frame checksum recomputed so
 * that the neural decoder sees it: always an error, never a crash. */
static void damaged_parts_rejected(void **state)
{
    (void)state;
    tu_rng r = {52};
    size_t n = 6000;
    uint8_t *text = tu_text(&r, n), *out = malloc(n);
    nmdl_cctx *c = small_cctx(1, 0, 30);
    blob b = compress(c, text, n);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    size_t parts = info.header_bytes, end = parts + info.model_bytes + info.data_bytes;
    int errors = 0;
    for (int i = 0; i < 300; i++) {
        size_t at = parts + tu_below(&r, (uint32_t)(end - parts));
        uint8_t old = b.p[at];
        b.p[at] ^= (uint8_t)(1 + tu_below(&r, 255));
        nmdl_frame_sum(b.p, b.n - 16, b.p + b.n - 16);
        int rc = decompress(&b, 1, out, n);
        assert_true(rc != NMDL_OK || !memcmp(out, text, n));
        errors += rc != NMDL_OK;
        b.p[at] = old;
    }
    print_message("damaged parts: %d of 300 rejected\n", errors);
    assert_true(errors >= 290);
    free(b.p), free(out), free(text);
    nmdl_cctx_free(c);
}

/* The model part roundtrips the levels exactly, per row and per tensor. */
static void model_part_roundtrip(void **state)
{
    (void)state;
    nmdl_model_config cfg = {2, 32, 4, 48, 32, 0};
    nmdl_model *m;
    assert_nmdl_ok(nmdl_model_create(&cfg, 3, &m));
    float *w = malloc(m->lay.n_params * sizeof(float));
    for (int per_row = 0; per_row <= 1; per_row++) {
        nmdl_qmodel q, back;
        assert_nmdl_ok(nmdl_q_alloc(&cfg, &q));
        nmdl_q_set_steps(&q, m->params, 0.3, per_row);
        nmdl_q_quantize(&q, m->params);
        uint8_t *buf;
        size_t len;
        assert_nmdl_ok(nmdl_q_encode(&q, &buf, &len));
        assert_nmdl_ok(nmdl_q_decode(buf, len, &back));
        assert_memory_equal(q.q, back.q, q.lay.n_params * sizeof(int32_t));
        nmdl_q_dequantize(&back, w);
        float *v = malloc(m->lay.n_params * sizeof(float));
        nmdl_q_dequantize(&q, v);
        assert_memory_equal(v, w, m->lay.n_params * sizeof(float));
        assert_int_equal(nmdl_q_decode(buf, len - 1, &back) != NMDL_OK, 1);
        free(v), free(buf);
        nmdl_q_free(&q);
        nmdl_q_free(&back);
    }
    free(w);
    nmdl_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_part_roundtrip),
        cmocka_unit_test(roundtrip_text),
        cmocka_unit_test(roundtrip_enwik8_64k),
        cmocka_unit_test(fallback_records_the_loser),
        cmocka_unit_test(damaged_parts_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
