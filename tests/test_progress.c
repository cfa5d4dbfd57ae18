/*
 * test_progress.c: the progress callback and cancellation. A neural
 * compression reports in every phase at least once a second, with a
 * fraction that never decreases and ends at 1; a non-zero return from any
 * phase (and from decoding) ends the call with NMDL_ERR_CANCELED in under a
 * second, says where, and calls back no more; nmdl_model_train keeps its
 * meaning (stop, keep the weights). The frame records the effort (and a
 * report of version 1 is still read); the zstd candidate, written in
 * slices, is ZSTD_compress2's frame; `nmdl compress --minutes` picks an
 * effort that -N reproduces. Small models, so it runs in seconds; the
 * ASan build checks that a cancel frees everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <zstd.h>

#include "container/frame.h"
#include "nmdl.h"
#include "testutil.h"

#define N_BYTES 65536 /* two segments */
#define PHASES NMDL_PHASES

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* What the callback saw. cancel_in >= 0: return 1 on the first call in
 * that phase past its start (step > 0), or at its start for zstd, code and
 * decode, which on these inputs take less than one report interval (coding
 * 64 KB with this model: about 0.15 s on 2 threads; decoding the
 * decompression test's frame finished within 0.2 s on an AVX-512 EPYC). */
typedef struct watch {
    int cancel_in;
    double canceled_at;      /* when the non-zero return was made; 0: not */
    int calls_after_cancel;
    int calls[PHASES];
    double max_gap[PHASES];  /* the largest gap while the phase ran */
    double last;             /* time of the last call */
    int last_phase;
    double last_fraction;
    int fraction_fell, saw_eta;
    double final_fraction;
} watch;

static void watch_init(watch *w, int cancel_in)
{
    memset(w, 0, sizeof *w);
    w->cancel_in = cancel_in;
    w->last_phase = -1;
    w->last = now();
}

static int on_progress(void *user, const nmdl_progress *p)
{
    watch *w = user;
    double t = now();
    if (w->canceled_at > 0) {
        w->calls_after_cancel++;
        return 1;
    }
    assert_true(p->phase_id >= 0 && p->phase_id < PHASES);
    assert_string_equal(p->phase, nmdl_phase_name(p->phase_id));
    /* the time since the last call belongs to the phase that was running */
    int ran = w->last_phase >= 0 ? w->last_phase : p->phase_id;
    if (t - w->last > w->max_gap[ran])
        w->max_gap[ran] = t - w->last;
    w->last = t;
    w->last_phase = p->phase_id;
    w->calls[p->phase_id]++;
    w->fraction_fell |= p->fraction < w->last_fraction;
    w->last_fraction = p->fraction;
    w->final_fraction = p->fraction;
    w->saw_eta |= isfinite(p->eta_s) && p->eta_s > 0;
    if (p->phase_id == w->cancel_in &&
        (p->step > 0 || p->phase_id == NMDL_PHASE_ZSTD || p->phase_id == NMDL_PHASE_MIX ||
         p->phase_id == NMDL_PHASE_CODE ||
         p->phase_id == NMDL_PHASE_DECODE)) {
        w->canceled_at = now();
        return 1;
    }
    return 0;
}

/* A 1-block model, round's budget search with a short LLC estimate (its
 * step sweep included), brief training and fine-tuning (round has every
 * phase; the default weight code fine-tunes inside its training). */
static nmdl_cctx *small_cctx(watch *w)
{
    nmdl_model_config cfg = {1, 32, 2, 64, 64, 1, {0}};
    nmdl_llc_settings llc;
    nmdl_llc_settings_default(&llc);
    llc.chains = 2, llc.burnin = 40, llc.draws = 80;
    nmdl_cctx *c = nmdl_cctx_create();
    assert_non_null(c);
    assert_nmdl_ok(nmdl_cctx_set_model(c, &cfg));
    assert_nmdl_ok(nmdl_cctx_set_steps(c, 300, 120));
    assert_nmdl_ok(nmdl_cctx_set_threads(c, 2));
    assert_nmdl_ok(nmdl_cctx_set_fallback(c, 0));
    assert_nmdl_ok(nmdl_cctx_set_llc(c, &llc));
    assert_nmdl_ok(nmdl_cctx_set_weights(c, NMDL_WEIGHTS_ROUND));
    nmdl_cctx_set_progress(c, on_progress, w);
    return c;
}

static void print_gaps(const char *what, const watch *w)
{
    print_message("%s: largest gap between callbacks (calls):", what);
    for (int i = 0; i < PHASES; i++)
        if (w->calls[i])
            print_message(" %s %.3f s (%d)", nmdl_phase_name(i), w->max_gap[i], w->calls[i]);
    print_message("\n");
}

/* The largest gap of phases first..last, and the one after the call. */
static double largest_gap(const watch *w, int first, int last, double end_gap)
{
    double g = end_gap;
    for (int i = first; i <= last; i++)
        g = fmax(g, w->max_gap[i]);
    return g;
}

/* Every phase of a compression and of its decompression reports, at
 * least once a second (mix's, not tried without the fallback, in a
 * compression by that method); the fraction rises to 1; the report counts
 * the steps run and records the effort. A shared machine can stop a
 * process for a second now and then: a gap of a second or more is measured
 * again once, and fails only when it comes back. */
static void reports_in_every_phase(void **state)
{
    (void)state;
    tu_rng r = {60};
    uint8_t *text = tu_text(&r, N_BYTES), *out = malloc(N_BYTES);
    watch w;
    nmdl_cctx *c = small_cctx(&w);
    assert_nmdl_ok(nmdl_cctx_set_effort(c, 4));
    void *frame = NULL;
    size_t len, n;
    double end_gap = 0;
    for (int run = 0; run < 2; run++) {
        free(frame);
        watch_init(&w, -1);
        assert_nmdl_ok(nmdl_compress_alloc(c, text, N_BYTES, &frame, &len));
        end_gap = now() - w.last;
        print_gaps("compress", &w);
        if (largest_gap(&w, NMDL_PHASE_ZSTD, NMDL_PHASE_CODE, end_gap) < 1.0)
            break;
    }
    for (int i = NMDL_PHASE_ZSTD; i <= NMDL_PHASE_CODE; i++)
        assert_true(w.calls[i] >= (i != NMDL_PHASE_MIX));
    assert_true(largest_gap(&w, NMDL_PHASE_ZSTD, NMDL_PHASE_CODE, end_gap) < 1.0);
    assert_false(w.fraction_fell);
    assert_true(w.saw_eta);
    assert_float_equal(w.final_fraction, 1.0, 0.0);
    nmdl_compress_report rep;
    nmdl_cctx_report(c, &rep);
    assert_int_equal(rep.stopped_phase, -1);
    assert_int_equal(rep.train_steps, 300);
    assert_int_equal(rep.tune_steps, 120);
    assert_int_equal(rep.effort, 4);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(frame, len, &info));
    assert_int_equal(info.method, NMDL_METHOD_NEURAL);
    assert_int_equal(info.effort, 4);
    void *mixed = NULL;
    size_t mixed_len;
    assert_nmdl_ok(nmdl_cctx_set_method(c, NMDL_METHOD_MIX));
    watch_init(&w, -1);
    assert_nmdl_ok(nmdl_compress_alloc(c, text, N_BYTES, &mixed, &mixed_len));
    assert_true(w.calls[NMDL_PHASE_MIX] >= 1 && w.calls[NMDL_PHASE_TRAIN] == 0);
    assert_float_equal(w.final_fraction, 1.0, 0.0);
    free(mixed);

    nmdl_dctx *d = nmdl_dctx_create();
    nmdl_dctx_set_progress(d, on_progress, &w);
    assert_nmdl_ok(nmdl_dctx_set_threads(d, 2));
    for (int run = 0; run < 2; run++) {
        watch_init(&w, -1);
        assert_nmdl_ok(nmdl_decompress(d, out, N_BYTES, &n, frame, len));
        end_gap = now() - w.last;
        print_gaps("decompress", &w);
        if (largest_gap(&w, NMDL_PHASE_DECODE, NMDL_PHASE_DECODE, end_gap) < 1.0)
            break;
    }
    assert_memory_equal(out, text, N_BYTES);
    assert_true(w.calls[NMDL_PHASE_DECODE] >= 2);
    assert_true(largest_gap(&w, NMDL_PHASE_DECODE, NMDL_PHASE_DECODE, end_gap) < 1.0);
    assert_float_equal(w.final_fraction, 1.0, 0.0);
    nmdl_dctx_free(d);
    nmdl_cctx_free(c);
    free(frame), free(text), free(out);
}

/* A non-zero return in each phase: NMDL_ERR_CANCELED within a second,
 * the report names the phase, and no call comes after. */
static void cancel_from_every_phase(void **state)
{
    (void)state;
    tu_rng r = {61};
    uint8_t *text = tu_text(&r, N_BYTES);
    for (int phase = NMDL_PHASE_ZSTD; phase <= NMDL_PHASE_CODE; phase++) {
        watch w;
        watch_init(&w, phase);
        nmdl_cctx *c = small_cctx(&w);
        if (phase == NMDL_PHASE_MIX) /* not tried without the fallback */
            assert_nmdl_ok(nmdl_cctx_set_method(c, NMDL_METHOD_MIX));
        void *frame = NULL;
        size_t len;
        int rc = nmdl_compress_alloc(c, text, N_BYTES, &frame, &len);
        double latency = now() - w.canceled_at;
        nmdl_compress_report rep;
        nmdl_cctx_report(c, &rep);
        print_message("canceled in %-9s: %s after %.3f s, %ld training steps run\n",
                      nmdl_phase_name(phase), nmdl_error_name(rc), latency, rep.train_steps);
        assert_int_equal(rc, NMDL_ERR_CANCELED);
        assert_null(frame);
        assert_true(w.canceled_at > 0);
        assert_true(latency < 1.0);
        assert_int_equal(w.calls_after_cancel, 0);
        assert_int_equal(rep.stopped_phase, phase);
        if (phase == NMDL_PHASE_TRAIN)
            assert_true(rep.train_steps > 0 && rep.train_steps < 300);
        if (phase == NMDL_PHASE_TUNE)
            assert_true(rep.train_steps == 300 && rep.tune_steps < 120);
        nmdl_cctx_free(c);
    }
    free(text);
}

static void cancel_decompression(void **state)
{
    (void)state;
    tu_rng r = {62};
    uint8_t *text = tu_text(&r, N_BYTES), *out = malloc(N_BYTES);
    watch w;
    watch_init(&w, -1);
    nmdl_cctx *c = small_cctx(&w);
    assert_nmdl_ok(nmdl_cctx_set_steps(c, 30, 6));
    void *frame;
    size_t len, n;
    assert_nmdl_ok(nmdl_compress_alloc(c, text, N_BYTES, &frame, &len));
    nmdl_dctx *d = nmdl_dctx_create();
    watch_init(&w, NMDL_PHASE_DECODE);
    nmdl_dctx_set_progress(d, on_progress, &w);
    int rc = nmdl_decompress(d, out, N_BYTES, &n, frame, len);
    double latency = now() - w.canceled_at;
    print_message("decode canceled: %s after %.3f s\n", nmdl_error_name(rc), latency);
    assert_int_equal(rc, NMDL_ERR_CANCELED);
    assert_true(latency < 1.0);
    assert_int_equal(w.calls_after_cancel, 0);
    nmdl_dctx_set_progress(d, NULL, NULL); /* the context is still good */
    assert_nmdl_ok(nmdl_decompress(d, out, N_BYTES, &n, frame, len));
    assert_memory_equal(out, text, N_BYTES);
    nmdl_dctx_free(d);
    nmdl_cctx_free(c);
    free(frame), free(text), free(out);
}

/* nmdl_model_train: a non-zero return stops training and keeps the
 * weights; the report counts the steps run. */
static int stop_second(void *user, const nmdl_progress *p)
{
    int *calls = user;
    assert_int_equal(p->phase_id, NMDL_PHASE_TRAIN);
    return ++*calls == 2;
}

static void train_stop_keeps_weights(void **state)
{
    (void)state;
    tu_rng r = {63};
    uint8_t *text = tu_text(&r, 20000);
    nmdl_model_config cfg = {1, 32, 2, 64, 64, 1, {0}};
    nmdl_model *m;
    nmdl_train_params p;
    nmdl_train_report rep;
    int calls = 0;
    double before, after;
    assert_nmdl_ok(nmdl_model_create(&cfg, 1, &m));
    assert_nmdl_ok(nmdl_model_eval(m, text, 20000, 1, &before));
    nmdl_train_params_default(&p);
    p.steps = 100000;
    p.progress = stop_second;
    p.progress_user = &calls;
    assert_nmdl_ok(nmdl_model_train(m, text, 20000, &p, &rep));
    assert_int_equal(calls, 3); /* the start, the stop, the end */
    assert_true(rep.steps > 0 && rep.steps < 100000);
    assert_nmdl_ok(nmdl_model_eval(m, text, 20000, 1, &after));
    assert_true(after < before); /* the weights of the steps run */
    nmdl_model_free(m);
    free(text);
}

/* The estimate plans every phase; a probe measures a rate. */
static void estimate_plans_the_run(void **state)
{
    (void)state;
    tu_rng r = {64};
    uint8_t *text = tu_text(&r, N_BYTES);
    watch w;
    nmdl_cctx *c = small_cctx(&w);
    nmdl_estimate e;
    assert_nmdl_ok(nmdl_cctx_estimate(c, text, N_BYTES, 0, &e));
    assert_true(e.neural);
    assert_int_equal(e.train_steps, 300);
    assert_true(isnan(e.seconds) && e.rate == 0);
    double sum = 0;
    for (int i = NMDL_PHASE_ZSTD; i <= NMDL_PHASE_CODE; i++) {
        assert_true(i == NMDL_PHASE_MIX ? e.phase_work[i] == 0 /* no fallback */
                                        : e.phase_work[i] > 0);
        sum += e.phase_work[i];
    }
    assert_float_equal(sum, e.work, 1e-9 * e.work);
    assert_nmdl_ok(nmdl_cctx_estimate(c, text, N_BYTES, 0.2, &e));
    assert_true(e.rate > 0 && e.seconds > 0);
    print_message("estimate: %.3g work units, %.1f s at %.3g units/s\n", e.work,
                  e.seconds, e.rate);
    nmdl_cctx_free(c);
    free(text);
}

/* The frame with its report (68 bytes at p + at, after its length byte)
 * replaced by rep[0..rlen), checksum mended: malloc'd, *olen bytes. */
static uint8_t *with_report(const uint8_t *p, size_t len, size_t at, const uint8_t *rep,
                            size_t rlen, size_t *olen)
{
    *olen = len - 68 + rlen;
    uint8_t *o = malloc(*olen);
    memcpy(o, p, at);
    o[at] = (uint8_t)rlen;
    memcpy(o + at + 1, rep, rlen);
    memcpy(o + at + 1 + rlen, p + at + 69, len - at - 69);
    nmdl_frame_sum(o, *olen - 16, o + *olen - 16);
    return o;
}

/* Older reports are still read: the same frame with its report rewritten
 * as version 1 (no effort byte, no weight method, no cooling), as version
 * 3 (no cooling), as version 4 (no settings beyond the step and nβ) and as
 * version 5 (no start); a report whose cooling is no count, or whose
 * settings are partial, is ignored, and the frame still decodes. */
static void older_reports_still_read(void **state)
{
    (void)state;
    tu_rng r = {65};
    uint8_t *text = tu_text(&r, 8000), *out = malloc(8000);
    watch w;
    watch_init(&w, -1);
    nmdl_cctx *c = small_cctx(&w);
    assert_nmdl_ok(nmdl_cctx_set_steps(c, 20, 0));
    assert_nmdl_ok(nmdl_cctx_set_bits(c, 3.0));
    assert_nmdl_ok(nmdl_cctx_set_effort(c, 7));
    void *frame;
    size_t len, n, olen;
    assert_nmdl_ok(nmdl_compress_alloc(c, text, 8000, &frame, &len));
    nmdl_info v6, v5, v4, v3, v1, bad;
    assert_nmdl_ok(nmdl_info_read(frame, len, &v6));
    assert_int_equal(v6.effort, 7);
    assert_int_equal(v6.report_bytes, 68);
    assert_true(isnan(v6.llc) && isnan(v6.llc_cool_steps)); /* a fixed budget: no LLC */
    assert_true(isnan(v6.llc_chains) && isnan(v6.llc_gamma) && isnan(v6.llc_healthy));
    assert_true(isnan(v6.llc_start));
    /* the report: length 68, version 6, mode, effort 7, weight method, nine
     * values, the cooling and the estimate's six settings */
    const uint8_t *p = frame;
    size_t at = 0;
    while (at + 4 < v6.header_bytes && !(p[at] == 68 && p[at + 1] == 6 && p[at + 3] == 7))
        at++;
    assert_true(at + 69 <= v6.header_bytes);
    uint8_t rep[68];
    memcpy(rep, p + at + 1, 68);
    rep[0] = 5; /* version 5: all but the start */
    uint8_t *old = with_report(p, len, at, rep, 64, &olen);
    assert_nmdl_ok(nmdl_info_read(old, olen, &v5));
    assert_true(v5.has_report && v5.effort == 7 && isnan(v5.llc_start));
    assert_float_equal(v5.budget_bits, 3.0, 1e-6);
    free(old);
    rep[0] = 4; /* version 4: the same head, nine values and the cooling */
    old = with_report(p, len, at, rep, 44, &olen);
    assert_nmdl_ok(nmdl_info_read(old, olen, &v4));
    assert_true(v4.has_report && v4.effort == 7 && isnan(v4.llc_chains));
    assert_float_equal(v4.budget_bits, 3.0, 1e-6);
    free(old);
    rep[0] = 3; /* version 3: the same head, nine values */
    old = with_report(p, len, at, rep, 40, &olen);
    assert_nmdl_ok(nmdl_info_read(old, olen, &v3));
    assert_true(v3.has_report && v3.effort == 7 && isnan(v3.llc_cool_steps));
    assert_float_equal(v3.budget_bits, 3.0, 1e-6);
    free(old);
    rep[0] = 1; /* version 1: version and mode, nine values */
    memmove(rep + 2, rep + 4, 36);
    old = with_report(p, len, at, rep, 38, &olen);
    assert_nmdl_ok(nmdl_info_read(old, olen, &v1));
    assert_true(v1.has_report);
    assert_int_equal(v1.effort, 0);
    assert_int_equal(v1.budget_mode, NMDL_BUDGET_FIXED);
    assert_float_equal(v1.budget_bits, 3.0, 1e-6);
    assert_true(isnan(v1.llc_cool_steps));
    nmdl_dctx *d = nmdl_dctx_create();
    assert_nmdl_ok(nmdl_decompress(d, out, 8000, &n, old, olen));
    assert_memory_equal(out, text, 8000);
    free(old);
    old = NULL;
    /* 2.5 is no count of cooling steps nor of chains; 2 chains, or a mixed
     * start, without the rest of the settings (NaN: no estimate) is no
     * estimate either */
    static const struct { int at; float v; } odd[] = {
        {40, 2.5f}, {48, 2.5f}, {48, 2.0f}, {64, 1.0f}};
    for (int k = 0; k < 4; k++) {
        uint32_t u;
        memcpy(&u, &odd[k].v, 4);
        memcpy(rep, p + at + 1, 68);
        for (int i = 0; i < 4; i++)
            rep[odd[k].at + i] = (uint8_t)(u >> (8 * i));
        free(old);
        old = with_report(p, len, at, rep, 68, &olen);
        assert_nmdl_ok(nmdl_info_read(old, olen, &bad));
        assert_false(bad.has_report);
        assert_nmdl_ok(nmdl_decompress(d, out, 8000, &n, old, olen));
        assert_memory_equal(out, text, 8000);
    }
    nmdl_dctx_free(d);
    nmdl_cctx_free(c);
    free(old), free(frame), free(text), free(out);
}

/* The zstd candidate, fed a slice of output at a time so that it can
 * report, is the frame ZSTD_compress2 writes with the same settings. */
static void zstd_frame_as_one_call(void **state)
{
    (void)state;
    tu_rng r = {67};
    size_t n = 300000, len;
    uint8_t *text = tu_text(&r, n);
    watch w;
    watch_init(&w, -1);
    nmdl_cctx *c = small_cctx(&w);
    assert_nmdl_ok(nmdl_cctx_set_method(c, NMDL_METHOD_ZSTD));
    void *frame;
    assert_nmdl_ok(nmdl_compress_alloc(c, text, n, &frame, &len));
    assert_true(w.calls[NMDL_PHASE_ZSTD] >= 1);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(frame, len, &info));
    assert_int_equal(info.method, NMDL_METHOD_ZSTD);
    ZSTD_CCtx *z = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(n);
    uint8_t *one = malloc(cap);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 19)));
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_enableLongDistanceMatching, 1)));
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_windowLog, 27)));
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_nbWorkers, 2)));
    size_t k = ZSTD_compress2(z, one, cap, text, n);
    assert_int_equal(k, info.data_bytes);
    assert_memory_equal(one, (uint8_t *)frame + info.header_bytes, k);
    ZSTD_freeCCtx(z);
    nmdl_cctx_free(c);
    free(one), free(frame), free(text);
}

/* nmdl compress --minutes: picks an effort, says which, records it; -N with
 * that effort writes the same file. */
static void minutes_picks_a_reproducible_effort(void **state)
{
    (void)state;
    char dir[] = "/tmp/nmdl-progress-XXXXXX", cmd[2048], name[600];
    assert_non_null(mkdtemp(dir));
    tu_rng r = {66};
    uint8_t *text = tu_text(&r, 12000);
    snprintf(name, sizeof name, "%s/in", dir);
    FILE *f = fopen(name, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, 12000, f), 12000);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && %s compress --minutes 0.2 --bits 3 --no-fallback "
             "-T2 -o a.nmdl in 2>err && %s info a.nmdl > info", dir, NMDL_BIN, NMDL_BIN);
    assert_int_equal(system(cmd), 0);
    snprintf(name, sizeof name, "%s/err", dir);
    f = fopen(name, "r");
    char err[1024] = "", info[4096] = "";
    assert_non_null(f);
    size_t k = fread(err, 1, sizeof err - 1, f);
    err[k] = 0;
    fclose(f);
    print_message("%s", err);
    const char *e = strstr(err, "--minutes 0.2: ");
    assert_non_null(e);
    int effort = 0;
    assert_true(sscanf(e, "--minutes 0.2: effort %d", &effort) == 1 ||
                sscanf(e, "--minutes 0.2: even effort %d", &effort) == 1);
    snprintf(name, sizeof name, "%s/info", dir);
    f = fopen(name, "r");
    assert_non_null(f);
    k = fread(info, 1, sizeof info - 1, f);
    info[k] = 0;
    fclose(f);
    char want[64];
    snprintf(want, sizeof want, "effort         %d (-%d with the same options", effort, effort);
    assert_non_null(strstr(info, want));
    snprintf(cmd, sizeof cmd, "cd %s && %s compress -%d --bits 3 --no-fallback -T1 -q "
             "-o b.nmdl in && cmp a.nmdl b.nmdl && %s compress -%d --minutes 1 in 2>/dev/null",
             dir, NMDL_BIN, effort, NMDL_BIN, effort);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1); /* -N and --minutes: refused */
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reports_in_every_phase),
        cmocka_unit_test(cancel_from_every_phase),
        cmocka_unit_test(cancel_decompression),
        cmocka_unit_test(train_stop_keeps_weights),
        cmocka_unit_test(estimate_plans_the_run),
        cmocka_unit_test(older_reports_still_read),
        cmocka_unit_test(zstd_frame_as_one_call),
        cmocka_unit_test(minutes_picks_a_reproducible_effort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
