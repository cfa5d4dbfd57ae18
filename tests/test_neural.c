/*
 * test_neural.c: the neural method end to end, with small models so that
 * it runs in seconds: roundtrips on synthetic text and on 64 KB of enwik8,
 * several segments, output independent of the thread count, the match
 * model and the context mixer, the fallback and the early stop, the budget
 * search, the LLC fitted to the training, decoding by a team, and damaged
 * model or data parts rejected. The weight codes are test_weights.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/neural.h"
#include "container/frame.h"
#include "codec/quant.h"
#include "codec/segcode.h"
#include "codec/stop.h"
#include "nmdl.h"
#include "testutil.h"

static void roundtrip_text(void **state)
{
    (void)state;
    tu_rng r = {50};
    size_t n = 20000;
    uint8_t *text = tu_text(&r, n), *out = malloc(n);
    nmdl_cctx *c = tu_small_cctx(2, 0, 150);
    tu_blob b = tu_compress(c, text, n);
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
    double count[256] = {0}, h0 = 0; /* order-0 entropy, bits per byte */
    for (size_t i = 0; i < n; i++)
        count[text[i]]++;
    for (int i = 0; i < 256; i++)
        if (count[i] > 0)
            h0 -= count[i] / n * log2(count[i] / n);
    assert_true(rep.data_bpb < h0); /* the model learned more than letters */
    assert_nmdl_ok(tu_decompress(&b, 1, out, n));
    assert_memory_equal(out, text, n);
    free(b.p), free(out), free(text);
    nmdl_cctx_free(c);
}

/* 64 KB of enwik8 in two segments (asked for: by default, with the match
 * model, one below 2 MiB): the file is the same for 1 and 2 threads, and
 * decodes with either. */
static void roundtrip_enwik8_64k(void **state)
{
    (void)state;
    size_t n = 65536;
    uint8_t *text = tu_corpus(n), *out = malloc(n);
    if (!text)
        skip();
    nmdl_cctx *c1 = tu_small_cctx(1, 0, 60), *c2 = tu_small_cctx(2, 0, 60);
    assert_int_equal(nmdl_cctx_set_segments(c1, -1), NMDL_ERR_ARG);
    assert_int_equal(nmdl_cctx_set_segments(c1, NMDL_NEURAL_MAX_SEGMENTS + 1), NMDL_ERR_ARG);
    assert_nmdl_ok(nmdl_cctx_set_segments(c1, 2));
    assert_nmdl_ok(nmdl_cctx_set_segments(c2, 2));
    tu_blob a = tu_compress(c1, text, n), b = tu_compress(c2, text, n);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.p, b.p, a.n);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(a.p, a.n, &info));
    assert_int_equal(info.method, NMDL_METHOD_NEURAL);
    assert_int_equal(info.segments, 2);
    assert_nmdl_ok(tu_decompress(&a, 2, out, n));
    assert_memory_equal(out, text, n);
    memset(out, 0, n);
    assert_nmdl_ok(tu_decompress(&a, 1, out, n));
    assert_memory_equal(out, text, n);
    free(a.p), free(b.p), free(out), free(text);
    nmdl_cctx_free(c1);
    nmdl_cctx_free(c2);
}

/* A text that repeats blocks far beyond the model's window: the match
 * model (with the context mixer, the default) codes the repeats for
 * little, --pure does not; the
 * file records which, is the same for 1 and 2 threads, and decodes with
 * 1 and 3 threads. 96 KB: three segments, so the last sees a prefix
 * only with waves of fewer than three. */
static void match_model(void **state)
{
    (void)state;
    tu_rng r = {53};
    const size_t n = 98304, block = 4000;
    uint8_t *text = tu_text(&r, n), *out = malloc(n);
    for (size_t i = 2 * block; i + block <= n; i += 3 * block) /* repeats */
        memcpy(text + i, text + i - 2 * block + tu_below(&r, 100), block);
    nmdl_cctx *c1 = tu_small_cctx(1, 0, 60), *c2 = tu_small_cctx(2, 0, 60);
    nmdl_cctx *pure = tu_small_cctx(2, 0, 60);
    assert_nmdl_ok(nmdl_cctx_set_pure(pure, 1));
    tu_blob a = tu_compress(c1, text, n), b = tu_compress(c2, text, n), p = tu_compress(pure, text, n);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.p, b.p, a.n);
    nmdl_info ia, ip;
    assert_nmdl_ok(nmdl_info_read(a.p, a.n, &ia));
    assert_nmdl_ok(nmdl_info_read(p.p, p.n, &ip));
    assert_int_equal(ia.match, NMDL_SC_MIX8); /* match model and mixer, revision 8 */
    assert_int_equal(ia.segments, 1);        /* one segment below 2 MiB */
    assert_int_equal(ip.match, 0);
    /* revision 5 (and 6) leaves out exactly the symbols the text lacks, whose rows
     * are not coded; --pure has no symbol set */
    int lacking = 0;
    for (int b = 0; b < 256; b++) {
        const int absent = ia.model.absent[b >> 3] >> (b & 7) & 1;
        assert_int_equal(absent, memchr(text, b, n) == NULL);
        assert_int_equal(ip.model.absent[b >> 3] >> (b & 7) & 1, 0);
        lacking += absent;
    }
    print_message("symbol set: %d of 256 absent; model part %llu bytes, %llu without the set\n",
                  lacking, (unsigned long long)ia.model_bytes,
                  (unsigned long long)ip.model_bytes);
    assert_true(lacking > 128);
    print_message("repeats: data part %llu bytes with the match model, %llu without\n",
                  (unsigned long long)ia.data_bytes, (unsigned long long)ip.data_bytes);
    assert_true(ia.data_bytes < 0.8 * ip.data_bytes);
    for (int t = 1; t <= 3; t += 2) {
        memset(out, 0, n);
        assert_nmdl_ok(tu_decompress(&a, t, out, n));
        assert_memory_equal(out, text, n);
    }
    assert_nmdl_ok(tu_decompress(&p, 2, out, n));
    assert_memory_equal(out, text, n);
    tu_blob got = tu_decompress_stream(&a, 2); /* streamed, batch by batch */
    assert_int_equal(got.n, n);
    assert_memory_equal(got.p, text, n);
    free(got.p), free(a.p), free(b.p), free(p.p), free(out), free(text);
    nmdl_cctx_free(c1);
    nmdl_cctx_free(c2);
    nmdl_cctx_free(pure);
}

/* The segment counts: 32 KiB segments for the transformer alone; with the
 * match model up to revision 2 128 KiB ones, but at least 8 once there are
 * 8 of 32 KiB; in revision 3 (waves of 2) 256 KiB ones, but at least 4
 * once there are 4 of 32 KiB; in revision 4 one below 2 MiB, then as in
 * revision 3 (docs/ARCHITECTURE.md); always 1 to 256. */
static void segment_counts(void **state)
{
    (void)state;
    static const struct { size_t n; int pure, match, rev3, rev4; } want[] = {
        {1, 1, 1, 1, 1},            {65536, 2, 2, 2, 1},        {131072, 4, 4, 4, 1},
        {262143, 7, 7, 4, 1},       {262144, 8, 8, 4, 1},       {1000000, 30, 8, 4, 1},
        {2000000, 61, 15, 7, 1},    {2097151, 63, 15, 7, 1},    {2097152, 64, 16, 8, 8},
        {8000000, 244, 61, 30, 30}, {1u << 25, 256, 256, 128, 128},
        {80000000, 256, 256, 256, 256},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        assert_int_equal(nmdl_neural_segments(want[k].n, NMDL_SC_PURE), want[k].pure);
        assert_int_equal(nmdl_neural_segments(want[k].n, NMDL_SC_MIX2), want[k].match);
        assert_int_equal(nmdl_neural_segments(want[k].n, NMDL_SC_MIX3), want[k].rev3);
        assert_int_equal(nmdl_neural_segments(want[k].n, NMDL_SC_MIX4), want[k].rev4);
    }
}

/* What each member of a decoding team got (decoded_by_a_team). */
typedef struct team_dec {
    const tu_blob *frame;
    size_t n;
    int stream;                  /* nmdl_decompress_stream, else whole */
    int fail_sink;               /* the member whose writer fails on the
                                    output's last piece, or -1 */
    int cancel;                  /* the member that cancels at once, or -1 */
    uint8_t *out[TU_TEAM_MAX];   /* (n) each */
    int rc[TU_TEAM_MAX];
    size_t got[TU_TEAM_MAX];
} team_dec;

/* A writer that fails on the piece that ends the output (fail set). */
typedef struct failing {
    tu_blob b;
    size_t n;
    int fail;
} failing;

static int append_or_fail(void *user, const void *data, size_t len)
{
    failing *f = user;
    return f->fail && f->b.n + len == f->n ? -1 : tu_append(&f->b, data, len);
}

static int cancel_now(void *user, const nmdl_progress *p)
{
    (void)user, (void)p;
    return 1;
}

static void decode_as_member(const nmdl_team *t, int k, void *user)
{
    team_dec *td = user;
    nmdl_dctx *d = nmdl_dctx_create();
    int rc = d ? nmdl_dctx_set_team(d, t) : NMDL_ERR_NOMEM;
    failing f = {{td->out[k], 0}, td->n, k == td->fail_sink};
    if (d && k == td->cancel)
        nmdl_dctx_set_progress(d, cancel_now, NULL);
    if (!rc && td->stream) /* append has room for exactly n */
        rc = nmdl_decompress_stream(d, td->frame->p, td->frame->n, append_or_fail, &f);
    else if (!rc)
        rc = nmdl_decompress(d, td->out[k], td->n, &f.b.n, td->frame->p, td->frame->n);
    td->rc[k] = rc;
    td->got[k] = f.b.n;
    nmdl_dctx_free(d);
}

/* Every member of a team of K decodes the frame (fail_sink and cancel as
 * in team_dec); each one's code into td->rc. */
static void team_decode(team_dec *td, int K, const tu_blob *frame, int stream, int fail_sink,
                        int cancel)
{
    td->frame = frame;
    td->stream = stream;
    td->fail_sink = fail_sink;
    td->cancel = cancel;
    for (int k = 0; k < K; k++)
        memset(td->out[k], 0, td->n);
    tu_team_run(K, decode_as_member, td);
}

/* Teams of 2 to 5 members decode a file of 3 segments (two waves of the
 * match model, the second partial; from three members some have no
 * segment) and
 * its --pure twin, whole and streamed: every member returns the input.
 * A writer that fails on member 0 at the end (the last wave's exchange
 * done), or a member that cancels before the first: every member returns
 * the same code, and none waits forever. */
static void decoded_by_a_team(void **state)
{
    (void)state;
    tu_rng r = {57};
    const size_t n = 3 * 32768 + 100, block = 3000;
    uint8_t *text = tu_text(&r, n);
    for (size_t i = 2 * block; i + block <= n; i += 5 * block)
        memcpy(text + i, text + i - 2 * block, block);
    nmdl_cctx *c = tu_small_cctx(2, 0, 30);
    assert_nmdl_ok(nmdl_cctx_set_segments(c, 3));
    tu_blob f[2];
    f[0] = tu_compress(c, text, n);
    assert_nmdl_ok(nmdl_cctx_set_pure(c, 1));
    f[1] = tu_compress(c, text, n);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(f[0].p, f[0].n, &info));
    assert_int_equal(info.segments, 3);
    team_dec td = {.n = n};
    for (int k = 0; k < TU_TEAM_MAX; k++)
        td.out[k] = malloc(n);
    for (int K = 2; K <= TU_TEAM_MAX; K++)
        for (int v = 0; v < 4; v++) {
            team_decode(&td, K, &f[v % 2], v / 2, -1, -1);
            for (int k = 0; k < K; k++) {
                assert_nmdl_ok(td.rc[k]);
                assert_int_equal(td.got[k], n);
                assert_memory_equal(td.out[k], text, n);
            }
        }
    for (int v = 0; v < 2; v++) {
        team_decode(&td, 3, &f[v], 1, 0, -1);
        for (int k = 0; k < 3; k++)
            assert_int_equal(td.rc[k], -1); /* the writer's code, on every member */
        team_decode(&td, 3, &f[v], v, -1, 1);
        for (int k = 0; k < 3; k++)
            assert_int_equal(td.rc[k], NMDL_ERR_CANCELED);
    }
    for (int k = 0; k < TU_TEAM_MAX; k++)
        free(td.out[k]);
    free(f[0].p), free(f[1].p), free(text);
    nmdl_cctx_free(c);
}

/* With the fallback, a neural attempt that loses leaves zstd's frame and
 * records its own size. */
static void fallback_records_the_loser(void **state)
{
    (void)state;
    tu_rng r = {51};
    size_t n = 4000;
    uint8_t *text = tu_text(&r, n), *out = malloc(n);
    nmdl_cctx *c = tu_small_cctx(1, 1, 10);
    assert_nmdl_ok(nmdl_cctx_set_early_stop(c, 0));
    tu_blob b = tu_compress(c, text, n);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    assert_int_not_equal(info.method, NMDL_METHOD_NEURAL);
    assert_true(info.has_alternative);
    assert_int_equal(info.alternative_method, NMDL_METHOD_NEURAL);
    assert_true(info.alternative_bytes > b.n);
    assert_nmdl_ok(tu_decompress(&b, 1, out, n));
    assert_memory_equal(out, text, n);
    free(b.p), free(out), free(text);
    nmdl_cctx_free(c);
}

/* With the fallback, a neural attempt whose bound at a quarter of its
 * training already reaches the smallest classic frame (mix's) stops
 * there: no neural frame, no alternative recorded, the mix frame written;
 * without the fallback, or with the early stop off, it runs to the end. */
static void early_stop_writes_classic(void **state)
{
    (void)state;
    tu_rng r = {52};
    size_t n = 6000;
    uint8_t *text = tu_text(&r, n), *out = malloc(n);
    nmdl_compress_report rep;
    nmdl_info info;
    nmdl_cctx *c = tu_small_cctx(2, 1, 40);
    tu_blob b = tu_compress(c, text, n);
    nmdl_cctx_report(c, &rep);
    assert_int_equal(rep.early_stop_step, 10); /* the first probe: 40 / 4 */
    assert_int_equal(rep.train_steps, 10);
    assert_int_equal(rep.probe_step, 10);
    assert_true(rep.mix_bytes > 0 && rep.mix_bytes < rep.zstd_bytes);
    assert_true(rep.probe_bound_bytes >= (double)rep.mix_bytes);
    assert_true(rep.probe_loss_bpb > 0 && rep.probe_loss_bpb < 9);
    assert_int_equal(rep.neural_bytes, 0);
    assert_int_equal(rep.method, NMDL_METHOD_MIX);
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    assert_false(info.has_alternative);
    assert_nmdl_ok(tu_decompress(&b, 1, out, n));
    assert_memory_equal(out, text, n);
    free(b.p);
    for (int k = 0; k < 2; k++) { /* no fallback; the early stop off */
        assert_nmdl_ok(k ? nmdl_cctx_set_early_stop(c, 0) : nmdl_cctx_set_fallback(c, 0));
        b = tu_compress(c, text, n);
        nmdl_cctx_report(c, &rep);
        assert_int_equal(rep.early_stop_step, 0);
        assert_int_equal(rep.probe_step, 0);
        assert_int_equal(rep.train_steps, 40);
        assert_true(rep.neural_bytes > 0);
        free(b.p);
        assert_nmdl_ok(nmdl_cctx_set_fallback(c, 1));
    }
    assert_int_equal(nmdl_cctx_set_early_stop(c, 2), NMDL_ERR_ARG);
    free(out), free(text);
    nmdl_cctx_free(c);
}

/* Damage to the model or data part, with the frame checksum recomputed so
 * that the neural decoder sees it: always an error, never a crash. */
static void damaged_parts_rejected(void **state)
{
    (void)state;
    tu_rng r = {52};
    size_t n = 3000;
    uint8_t *text = tu_text(&r, n), *out = malloc(n);
    nmdl_cctx *c = tu_small_cctx(1, 0, 30);
    tu_blob b = tu_compress(c, text, n);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    size_t parts = info.header_bytes, end = parts + info.model_bytes + info.data_bytes;
    int errors = 0;
    for (int i = 0; i < 100; i++) {
        size_t at = parts + tu_below(&r, (uint32_t)(end - parts));
        uint8_t old = b.p[at];
        b.p[at] ^= (uint8_t)(1 + tu_below(&r, 255));
        nmdl_frame_sum(b.p, b.n - 16, b.p + b.n - 16);
        int rc = tu_decompress(&b, 1, out, n);
        assert_true(rc != NMDL_OK || !memcmp(out, text, n));
        errors += rc != NMDL_OK;
        b.p[at] = old;
    }
    print_message("damaged parts: %d of 100 rejected\n", errors);
    assert_true(errors >= 95);
    free(b.p), free(out), free(text);
    nmdl_cctx_free(c);
}

/* The default budget: a (short) SGLD estimate of the learning coefficient,
 * b*, the search; all of it recorded in the frame for nmdl info. `steps`
 * of training; returns the compress report. */
static nmdl_compress_report search_budget(long steps, nmdl_info *info)
{
    tu_rng r = {53};
    size_t n = 8000;
    uint8_t *text = tu_text(&r, n), *out = malloc(n);
    nmdl_cctx *c = tu_small_cctx(2, 0, steps);
    nmdl_llc_settings llc;
    nmdl_llc_settings_default(&llc);
    llc.chains = 2, llc.burnin = 20, llc.draws = 40, llc.step = 1e-6;
    assert_nmdl_ok(nmdl_cctx_set_llc(c, &llc));
    assert_nmdl_ok(nmdl_cctx_set_bits(c, 0)); /* back to round's search */
    assert_nmdl_ok(nmdl_cctx_set_weights(c, NMDL_WEIGHTS_ROUND));
    tu_blob b = tu_compress(c, text, n);
    nmdl_compress_report rep;
    nmdl_cctx_report(c, &rep);
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, info));
    print_message("%ld steps: llc %.4g ± %.3g, b* %.3f, chosen %.3f bits/weight "
                  "after %d candidates%s%s\n", steps, info->llc, info->llc_se,
                  info->b_star, info->budget_bits, rep.n_candidates,
                  rep.budget_note[0] ? ": " : "", rep.budget_note);
    assert_true(info->has_report);
    assert_int_equal(info->budget_mode, NMDL_BUDGET_SEARCH);
    assert_true(info->budget_bits > 0);
    assert_true(rep.n_candidates >= 4);
    assert_float_equal(info->budget_bits, rep.budget_bits, 1e-3 * rep.budget_bits);
    assert_nmdl_ok(tu_decompress(&b, 2, out, n));
    assert_memory_equal(out, text, n);
    free(b.p), free(out), free(text);
    nmdl_cctx_free(c);
    return rep;
}

static void budget_search_is_recorded(void **state)
{
    (void)state;
    nmdl_info info;
    nmdl_compress_report rep = search_budget(400, &info);
    assert_int_equal(rep.llc_healthy, 1);
    assert_true(info.llc > 0 && isfinite(info.llc) && info.b_star > 0);
    assert_true(info.budget_bits >= info.b_star * 0.99);
    /* the estimate's settings and health are stored with it */
    assert_true(info.llc_healthy == 1 && info.llc_chains == rep.llc_chains);
    assert_true(info.llc_burnin == rep.llc_burnin && info.llc_draws == rep.llc_draws);
    assert_true(info.llc_gamma == (float)rep.llc_gamma && rep.llc_draws >= 1);
    assert_true(rep.llc_start == NMDL_LLC_START_MIXED && info.llc_start == rep.llc_start);
}

/* The search prices the data over the bytes long matches do not predict:
 * on a text written twice, every candidate's DL is its model bits and the
 * sample loss over n - 1 - f bytes, f counted as the early stop counts it;
 * with --pure, over n - 1. */
static void search_prices_long_matches(void **state)
{
    (void)state;
    tu_rng r = {59};
    const size_t half = 4000, n = 2 * half;
    uint8_t *text = tu_text(&r, n), *out = malloc(n);
    memcpy(text + half, text, half);
    double f;
    assert_nmdl_ok(nmdl_stop_free_bytes(text, n, NMDL_SC_MIX4,
                                        nmdl_neural_segments(n, NMDL_SC_MIX4), NULL, &f));
    assert_true(f > 0.9 * (double)(half - NMDL_STOP_MATCH_LEN));
    for (int pure = 0; pure <= 1; pure++) {
        nmdl_cctx *c = tu_small_cctx(2, 0, 100);
        nmdl_llc_settings llc;
        nmdl_llc_settings_default(&llc);
        llc.chains = 2, llc.burnin = 20, llc.draws = 40, llc.step = 1e-6;
        assert_nmdl_ok(nmdl_cctx_set_llc(c, &llc));
        assert_nmdl_ok(nmdl_cctx_set_bits(c, 0));
        assert_nmdl_ok(nmdl_cctx_set_weights(c, NMDL_WEIGHTS_ROUND));
        assert_nmdl_ok(nmdl_cctx_set_pure(c, pure));
        tu_blob b = tu_compress(c, text, n);
        nmdl_compress_report rep;
        nmdl_cctx_report(c, &rep);
        assert_float_equal(rep.priced_bytes, (double)(n - 1) - (pure ? 0 : f), 1e-9);
        assert_float_equal(rep.free_bytes, pure ? 0 : f, 1e-9);
        assert_true(rep.n_candidates >= 4);
        for (int i = 0; i < rep.n_candidates; i++)
            assert_float_equal(rep.cand_dl_bits[i],
                               rep.cand_model_bits[i] + rep.priced_bytes * rep.cand_loss_bpb[i],
                               1e-9 * rep.cand_dl_bits[i]);
        assert_nmdl_ok(tu_decompress(&b, 2, out, n));
        assert_memory_equal(out, text, n);
        free(b.p);
        nmdl_cctx_free(c);
    }
    free(out), free(text);
}

/* The bytes long matches predict are flagged where they are counted (most
 * in the second copy of a text written twice), and training leaves them
 * out by default: the file differs from one trained on every byte alike
 * (nmdl_cctx_set_repeats_weight 1, what the sweep measures), and both
 * decode. Weights outside [0, 1] are refused. */
static void training_leaves_the_repeats(void **state)
{
    (void)state;
    tu_rng r = {61};
    const size_t half = 4000, n = 2 * half;
    uint8_t *text = tu_text(&r, n), *out = malloc(n), *mark = malloc(n);
    memcpy(text + half, text, half);
    double f, marked = 0, early = 0;
    assert_nmdl_ok(nmdl_stop_free_bytes(text, n, NMDL_SC_MIX4,
                                        nmdl_neural_segments(n, NMDL_SC_MIX4), mark, &f));
    for (size_t i = 0; i < n; i++)
        marked += mark[i], early += i < half && mark[i];
    assert_float_equal(marked, f, 0);
    print_message("flags: %.0f of %zu bytes, %.0f in the first copy\n", f, n, early);
    assert_true(f > 0.9 * (double)(half - NMDL_STOP_MATCH_LEN) && early < 0.1 * (double)half);
    tu_blob b[2];
    for (int alike = 0; alike <= 1; alike++) {
        nmdl_cctx *c = tu_small_cctx(2, 0, 100);
        assert_int_equal(nmdl_cctx_set_repeats_weight(c, -0.5), NMDL_ERR_ARG);
        assert_int_equal(nmdl_cctx_set_repeats_weight(c, 1.5), NMDL_ERR_ARG);
        assert_nmdl_ok(nmdl_cctx_set_repeats_weight(c, alike));
        assert_nmdl_ok(nmdl_cctx_set_weights(c, NMDL_WEIGHTS_ROUND));
        b[alike] = tu_compress(c, text, n);
        assert_nmdl_ok(tu_decompress(&b[alike], 2, out, n));
        assert_memory_equal(out, text, n);
        nmdl_cctx_free(c);
    }
    assert_true(b[0].n != b[1].n || memcmp(b[0].p, b[1].p, b[0].n));
    free(b[0].p), free(b[1].p), free(out), free(text), free(mark);
}

/* An undertrained model: its weights are no minimum, the chains fall below
 * L(w*), and the search starts from a fixed budget, saying so. */
static void unhealthy_sampler_falls_back(void **state)
{
    (void)state;
    nmdl_info info;
    nmdl_compress_report rep = search_budget(20, &info);
    assert_int_equal(rep.llc_healthy, 0);
    assert_non_null(strstr(rep.budget_note, "sampler unhealthy"));
    assert_true(isnan(info.b_star) && info.llc_healthy == 0 && info.llc_chains >= 1);
}

/* Training passes over the input (steps x batch x ctx / n) below 1 MB:
 * at most what the effort, or the default where that is more, makes over
 * 1 MB with mini; efforts whose own FLOPs buy fewer keep them. */
static double passes(int effort, size_t n)
{
    nmdl_neural_params p;
    nmdl_neural_plan plan;
    nmdl_neural_params_default(&p);
    p.effort = effort;
    p.weights = NMDL_WEIGHTS_ROUND; /* the training before fine-tuning */
    assert_nmdl_ok(nmdl_neural_plan_make(&p, n, &plan));
    return (double)plan.train_steps * NMDL_NEURAL_TRAIN_BATCH * plan.cfg.ctx / (double)n;
}

static void passes_below_one_megabyte(void **state)
{
    (void)state;
    double at_1m = passes(6, 1000000); /* mini: 40 MFLOP per byte */
    assert_true(at_1m > 24 && at_1m < 27);
    assert_true(fabs(passes(6, 65536) - at_1m) < 0.01 * at_1m); /* tiny, capped */
    assert_true(fabs(passes(6, 262144) - at_1m) < 0.01 * at_1m);
    assert_true(fabs(passes(5, 65536) - at_1m) < 0.01 * at_1m); /* 40 by FLOPs */
    double own4 = passes(4, 65536); /* tiny's own 15 MFLOP per byte: 24 */
    assert_true(own4 > 22 && own4 < at_1m);
    double at_1m7 = passes(7, 1000000);
    assert_true(fabs(passes(7, 65536) - at_1m7) < 0.01 * at_1m7);
    assert_true(passes(6, 2000000) > at_1m - 1); /* no cap from 1 MB up */
}

/* The model is sized for the bytes long matches leave to the transformer:
 * 1 MB gets mini, but tiny where 600,000 of them are free; not without
 * the match model. Through the library: 300 KB of random letters written
 * four times (f: the last three copies but the first bytes of each
 * match) plans tiny, and mini when pure. */
static void preset_for_the_bytes_matches_leave(void **state)
{
    (void)state;
    nmdl_neural_params p;
    nmdl_neural_plan plan;
    nmdl_neural_params_default(&p);
    assert_nmdl_ok(nmdl_neural_plan_make(&p, 1000000, &plan));
    assert_int_equal(plan.cfg.d_model, 64); /* mini */
    assert_false(plan.sized_by_matches);
    p.free_bytes = 600000;
    assert_nmdl_ok(nmdl_neural_plan_make(&p, 1000000, &plan));
    assert_int_equal(plan.cfg.d_model, 48); /* tiny */
    assert_true(plan.sized_by_matches);
    p.effort = 2; /* one smaller: tiny either way, nothing moved */
    assert_nmdl_ok(nmdl_neural_plan_make(&p, 1000000, &plan));
    assert_int_equal(plan.cfg.d_model, 48);
    assert_false(plan.sized_by_matches);
    p.effort = 6;
    p.match = 0;
    assert_nmdl_ok(nmdl_neural_plan_make(&p, 1000000, &plan));
    assert_int_equal(plan.cfg.d_model, 64);
    assert_false(plan.sized_by_matches);

    tu_rng r = {55};
    size_t part = 300000, n = 4 * part;
    uint8_t *src = malloc(n);
    assert_non_null(src);
    for (size_t i = 0; i < n; i++)
        src[i] = i < part ? (uint8_t)('A' + tu_below(&r, 58)) : src[i - part];
    nmdl_cctx *c = nmdl_cctx_create();
    assert_non_null(c);
    nmdl_estimate e;
    assert_nmdl_ok(nmdl_cctx_estimate(c, src, n, 0, &e));
    assert_true(e.free_bytes > 0.7 * (double)n && e.free_bytes < 0.75 * (double)n);
    assert_int_equal(e.model.d_model, 48);
    assert_true(e.sized_by_matches);
    assert_nmdl_ok(nmdl_cctx_set_pure(c, 1));
    assert_nmdl_ok(nmdl_cctx_estimate(c, src, n, 0, &e));
    assert_true(e.free_bytes == 0);
    assert_int_equal(e.model.d_model, 64);
    assert_false(e.sized_by_matches);
    nmdl_cctx_free(c);
    free(src);
}

/* The LLC left automatic: 2 chains where they cost at most a tenth of the
 * training (256 KB at effort 9), none where more (64 KB at the default;
 * there the search starts at 1 bit and says why); chains given: always
 * estimated. */
static void llc_fits_the_training(void **state)
{
    (void)state;
    nmdl_neural_params p;
    nmdl_neural_plan big, small;
    nmdl_neural_params_default(&p);
    p.threads = 2;
    p.effort = 9;
    assert_nmdl_ok(nmdl_neural_plan_make(&p, 262144, &big));
    p.effort = 6;
    assert_nmdl_ok(nmdl_neural_plan_make(&p, 65536, &small));
    assert_int_equal(big.llc_chains, 2);
    assert_false(big.llc_skip);
    assert_true(big.work[NMDL_PHASE_LLC] > 0 &&
                big.work[NMDL_PHASE_LLC] <= 0.1 * big.work[NMDL_PHASE_TRAIN]);
    assert_true(small.llc_skip);
    assert_true(small.work[NMDL_PHASE_LLC] == 0);
    for (int t = 1; t <= 64; t *= 4) { /* the choice, and so the file, never
                                          depends on the threads */
        nmdl_neural_plan q;
        p.threads = t, p.effort = 9;
        assert_nmdl_ok(nmdl_neural_plan_make(&p, 262144, &q));
        assert_false(q.llc_skip);
        p.effort = 6;
        assert_nmdl_ok(nmdl_neural_plan_make(&p, 65536, &q));
        assert_true(q.llc_skip);
    }
    p.threads = 2;
    p.budget.llc.chains = 4;
    assert_nmdl_ok(nmdl_neural_plan_make(&p, 65536, &small));
    assert_false(small.llc_skip);
    assert_int_equal(small.llc_chains, 4);

    tu_rng r = {54};
    size_t n = 8000;
    uint8_t *text = tu_text(&r, n), *out = malloc(n);
    nmdl_cctx *c = tu_small_cctx(2, 0, 100);
    assert_nmdl_ok(nmdl_cctx_set_bits(c, 0)); /* round's search */
    assert_nmdl_ok(nmdl_cctx_set_weights(c, NMDL_WEIGHTS_ROUND));
    tu_blob b = tu_compress(c, text, n);
    nmdl_compress_report rep;
    nmdl_cctx_report(c, &rep);
    assert_int_equal(rep.llc_healthy, -1);
    assert_true(isnan(rep.llc) && isnan(rep.b_star));
    assert_non_null(strstr(rep.budget_note, "no LLC"));
    assert_float_equal(rep.cand_bits[0], 1.0, 1e-9);
    assert_true(rep.n_candidates >= 4);
    assert_nmdl_ok(tu_decompress(&b, 2, out, n));
    assert_memory_equal(out, text, n);
    free(b.p), free(out), free(text);
    nmdl_cctx_free(c);
}

int main(int argc, char **argv)
{
    if (argc > 1) /* a test's name, or a pattern with * and ? */
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip_text),
        cmocka_unit_test(roundtrip_enwik8_64k),
        cmocka_unit_test(match_model),
        cmocka_unit_test(segment_counts),
        cmocka_unit_test(fallback_records_the_loser),
        cmocka_unit_test(early_stop_writes_classic),
        cmocka_unit_test(passes_below_one_megabyte),
        cmocka_unit_test(damaged_parts_rejected),
        cmocka_unit_test(budget_search_is_recorded),
        cmocka_unit_test(search_prices_long_matches),
        cmocka_unit_test(training_leaves_the_repeats),
        cmocka_unit_test(unhealthy_sampler_falls_back),
        cmocka_unit_test(preset_for_the_bytes_matches_leave),
        cmocka_unit_test(llc_fits_the_training),
        cmocka_unit_test(decoded_by_a_team),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
