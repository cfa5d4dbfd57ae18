/*
 * test_llc.c: the LLC estimator against models whose learning coefficient
 * is known: linear regression (regular, λ = d/2) within 10%, reduced-rank
 * regression (Aoyagi's formula) within 20%, with SGLD (and pSGLD on the
 * regular model); the estimate does not depend on the thread count; seed
 * 001's compressibility measures on a trained transformer.
 *
 * Reduced-rank regression with true rank 0 is sampled around the true
 * parameter (the origin), where Aoyagi's λ is the local coefficient; a
 * trained w* sits elsewhere on the singular set, where the local
 * coefficient can be larger (measured: M=4 H=3 N=8 gave +19% around the
 * trained weights, -1% around the origin).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/llc.h"
#include "model/rng.h"
#include "nmdl.h"
#include "rrr.h"
#include "testutil.h"

static double estimate(rrr *m, const float *ws, int sampler, double step,
                       int threads, nmdl_llc_result *out)
{
    nmdl_llc_target t = {rrr_dim(m), m->n, ws, rrr_loss_grad, m, 0};
    nmdl_llc_params p;
    nmdl_llc_params_default(&p);
    p.sampler = sampler;
    p.step = step;
    p.gamma = 1.0;
    p.chains = 4;
    p.burnin = 1000;
    p.draws = 3000;
    p.threads = threads;
    nmdl_llc_result r;
    assert_nmdl_ok(nmdl_llc_estimate(&t, &p, &r));
    double llc = r.llc;
    if (out)
        *out = r;
    else
        nmdl_llc_result_free(&r);
    return llc;
}

static void regular_model(void **state)
{
    (void)state;
    rrr m = rrr_make(5, 0, 2, 2, 2000, 60); /* d = 10 */
    float *ws = rrr_fit(&m, 61);
    nmdl_llc_result r;
    double sgld = estimate(&m, ws, NMDL_LLC_SGLD, 1e-4, 2, &r);
    double psgld = estimate(&m, ws, NMDL_LLC_PSGLD, 1e-4, 2, NULL);
    print_message("linear regression d = 10 (λ = 5): SGLD %.3f ± %.3f "
                  "(MALA %.2f%s%s), pSGLD %.3f\n", sgld, r.llc_se, r.mala,
                  r.healthy ? "" : ", ", r.warning, psgld);
    assert_true(fabs(sgld - 5.0) < 0.5);
    assert_true(fabs(psgld - 5.0) < 0.5);
    assert_true(r.healthy);
    nmdl_llc_result_free(&r);
    free(ws), rrr_free(&m);
}

static void reduced_rank_regression(void **state)
{
    (void)state;
    static const int cases[][4] = {{5, 3, 5, 0}, {4, 3, 8, 0}, {3, 8, 4, 0},
                                   {5, 4, 5, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int *k = cases[c];
        rrr m = rrr_make(k[0], k[1], k[2], k[3], 5000, 70 + c);
        float *ws = rrr_fit(&m, 80 + c);
        if (k[3] == 0) /* the true parameter: Aoyagi's λ is the learning */
            memset(ws, 0, rrr_dim(&m) * sizeof(float)); /* coefficient there */
        double want = rrr_lambda(k[0], k[1], k[2], k[3]);
        double got = estimate(&m, ws, NMDL_LLC_SGLD, 1e-4, 2, NULL);
        print_message("RRR M=%d H=%d N=%d r=%d: λ = %.2f, SGLD %.3f (%+.0f%%)\n",
                      k[0], k[1], k[2], k[3], want, got, 100 * (got / want - 1));
        assert_true(fabs(got / want - 1) < 0.2);
        free(ws), rrr_free(&m);
    }
}

/* Chains have their own seeds and run on one thread each. */
static void threads_do_not_change_the_estimate(void **state)
{
    (void)state;
    rrr m = rrr_make(3, 2, 3, 0, 500, 90);
    float *ws = rrr_fit(&m, 91);
    nmdl_llc_result a, b;
    estimate(&m, ws, NMDL_LLC_PSGLD, 1e-4, 1, &a);
    estimate(&m, ws, NMDL_LLC_PSGLD, 1e-4, 3, &b);
    assert_memory_equal(a.trace, b.trace, sizeof(double) * a.chains * a.steps);
    assert_true(a.llc == b.llc);
    nmdl_llc_result_free(&a);
    nmdl_llc_result_free(&b);
    free(ws), rrr_free(&m);
}

typedef struct team_llc {
    nmdl_llc_result r[TU_TEAM_MAX]; /* each member's result */
    size_t d;                       /* weights */
} team_llc;

/* 3 chains of the test above's model as member k of a team; each member
 * has its own copy of the model (the target's workspaces are per chain). */
static void llc_as_member(const nmdl_team *t, int k, void *user)
{
    team_llc *tl = user;
    rrr m = rrr_make(3, 2, 3, 0, 500, 90);
    float *ws = rrr_fit(&m, 91);
    nmdl_llc_target tg = {rrr_dim(&m), m.n, ws, rrr_loss_grad, &m, 0};
    nmdl_llc_params p;
    nmdl_llc_params_default(&p);
    p.step = 1e-4;
    p.gamma = 1.0;
    p.chains = 3;
    p.burnin = 100;
    p.draws = 300;
    p.team = t;
    p.want_spread = 1;
    assert_nmdl_ok(nmdl_llc_estimate(&tg, &p, &tl->r[k]));
    tl->d = rrr_dim(&m);
    free(ws), rrr_free(&m);
}

/* Members of a team share the chains and all end with the estimate one
 * process computes alone: traces, λ̂ and the posterior spread. */
static void a_team_shares_the_chains(void **state)
{
    (void)state;
    team_llc alone;
    llc_as_member(NULL, 0, &alone);
    for (int K = 2; K <= 4; K++) { /* 4: one member runs no chain */
        team_llc tl;
        tu_team_run(K, llc_as_member, &tl);
        for (int k = 0; k < K; k++) {
            nmdl_llc_result *r = &tl.r[k];
            assert_memory_equal(r->trace, alone.r[0].trace,
                                sizeof(double) * r->chains * r->steps);
            assert_memory_equal(r->spread, alone.r[0].spread, sizeof(float) * alone.d);
            assert_true(r->llc == alone.r[0].llc && r->mala == alone.r[0].mala);
            nmdl_llc_result_free(r);
        }
    }
    nmdl_llc_result_free(&alone.r[0]);
}

static void bad_parameters(void **state)
{
    (void)state;
    rrr m = rrr_make(2, 0, 1, 1, 10, 92);
    float w[2] = {0};
    nmdl_llc_target t = {2, 10, w, rrr_loss_grad, &m, 0};
    nmdl_llc_params p;
    nmdl_llc_result r;
    nmdl_llc_params_default(&p);
    p.chains = 0;
    assert_int_equal(nmdl_llc_estimate(&t, &p, &r), NMDL_ERR_ARG);
    nmdl_llc_params_default(&p);
    p.draws = 0;
    assert_int_equal(nmdl_llc_estimate(&t, &p, &r), NMDL_ERR_ARG);
    nmdl_llc_params_default(&p);
    p.step = -1;
    assert_int_equal(nmdl_llc_estimate(&t, &p, &r), NMDL_ERR_ARG);
    nmdl_llc_params_default(&p);
    p.step = 10; /* diverges: reported, not crashed */
    p.gamma = 0;
    assert_nmdl_ok(nmdl_llc_estimate(&t, &p, &r));
    assert_false(r.healthy);
    print_message("diverging run: %s\n", r.warning);
    nmdl_llc_result_free(&r);
    rrr_free(&m);
}

/* Mixed starts on linear regression (λ = 5): half the chains from w*, half
 * from w* + N(0, 1/γ). After a long burn-in the halves agree and their
 * mean is λ; without one the warm half starts far above (γ = 1 is flat
 * against this loss) and the gap, or the drift of the pairs, fails the
 * run. Cold starts report no halves; an unknown start is refused. */
static void mixed_starts(void **state)
{
    (void)state;
    rrr m = rrr_make(5, 0, 2, 2, 2000, 60);
    float *ws = rrr_fit(&m, 61);
    nmdl_llc_target t = {rrr_dim(&m), m.n, ws, rrr_loss_grad, &m, 0};
    nmdl_llc_params p;
    nmdl_llc_result r;
    nmdl_llc_params_default(&p);
    p.step = 1e-4, p.gamma = 1, p.chains = 4, p.burnin = 1000, p.draws = 3000;
    p.threads = 2, p.start = NMDL_LLC_MIXED;
    assert_nmdl_ok(nmdl_llc_estimate(&t, &p, &r));
    print_message("mixed, 1000 burn-in: %.3f ± %.3f (from w* %.3f, warm %.3f)%s%s\n", r.llc,
                  r.llc_se, r.llc_cold, r.llc_warm, r.healthy ? "" : ", ", r.warning);
    assert_true(r.healthy && fabs(r.llc - 5.0) < 0.5);
    assert_float_equal(r.llc, 0.5 * (r.llc_cold + r.llc_warm), 1e-9 * r.llc);
    assert_true(fabs(r.llc_warm - r.llc_cold) < 0.2 * r.llc);
    nmdl_llc_result_free(&r);
    p.burnin = 0, p.draws = 200;
    assert_nmdl_ok(nmdl_llc_estimate(&t, &p, &r));
    print_message("mixed, no burn-in: %.3f (from w* %.3f, warm %.3f): %s\n", r.llc,
                  r.llc_cold, r.llc_warm, r.warning);
    assert_true(!r.healthy && r.fault == NMDL_LLC_MOVING && r.llc_warm > 10 * r.llc_cold);
    nmdl_llc_result_free(&r);
    p.start = NMDL_LLC_COLD;
    assert_nmdl_ok(nmdl_llc_estimate(&t, &p, &r));
    assert_true(isnan(r.llc_cold) && isnan(r.llc_warm));
    nmdl_llc_result_free(&r);
    p.start = 2;
    assert_int_equal(nmdl_llc_estimate(&t, &p, &r), NMDL_ERR_ARG);
    free(ws), rrr_free(&m);
}

/* An unhealthy run is repaired by its fault's remedy (model/llc.h) and
 * says what it changed: a diverging step is cut (to one whose acceptance
 * of 0.57 passes the check though λ̂ is 13: the acceptance check is
 * lenient, the step sweep the cure for that), and draws that still drift
 * after 100 burn-in steps get 400, which moves λ̂ toward 5 (2.8 -> 3.3 at
 * this small step: the drift check passes runs still short of λ). */
static void repairs_unhealthy_runs(void **state)
{
    (void)state;
    rrr m = rrr_make(5, 0, 2, 2, 2000, 60); /* d = 10, λ = 5 */
    float *ws = rrr_fit(&m, 61);
    nmdl_llc_target t = {rrr_dim(&m), m.n, ws, rrr_loss_grad, &m, 0};
    static const struct {
        double step, gamma;
        int chains, burnin, draws;
        const char *did;
    } cases[] = {{3e-2, 1, 4, 1000, 3000, "step 0.03 -> 0.00949 (diverged)"},
                 {2e-6, 1, 4, 100, 2000, "burn-in 100 -> 400 (still moving)"}};
    for (int c = 0; c < 2; c++) {
        nmdl_llc_params p;
        nmdl_llc_result first, r;
        nmdl_llc_params_default(&p);
        p.step = cases[c].step, p.gamma = cases[c].gamma, p.chains = cases[c].chains;
        p.burnin = cases[c].burnin, p.draws = cases[c].draws, p.threads = 2;
        assert_nmdl_ok(nmdl_llc_estimate(&t, &p, &first));
        char did[200];
        assert_nmdl_ok(nmdl_llc_estimate_repaired(&t, &p, &r, did, sizeof did));
        print_message("case %d: first %.3f (%s), repaired %.3f ± %.3f (MALA %.2f%s%s) by %s\n",
                      c, first.llc, first.warning, r.llc, r.llc_se, r.mala,
                      r.healthy ? "" : ", ", r.warning, did);
        assert_false(first.healthy);
        assert_true(r.healthy);
        assert_non_null(strstr(did, cases[c].did));
        assert_true(isfinite(r.llc) && !(fabs(r.llc - 5.0) >= fabs(first.llc - 5.0)));
        nmdl_llc_result_free(&first);
        nmdl_llc_result_free(&r);
    }
    free(ws), rrr_free(&m);
}

/* Weights that are no minimum (the fit moved 0.2 along every coordinate
 * of linear regression): the sweep stops at its first accepted step,
 * where the chains settle below L(w*), instead of walking down steps that
 * only scale λ̂ down; the repairs try a larger γ once and no smaller step
 * there, but a smaller one where the acceptance is low too. */
static void no_minimum_stops_the_sweep(void **state)
{
    (void)state;
    rrr m = rrr_make(5, 0, 2, 2, 2000, 60); /* d = 10, λ = 5 */
    float *ws = rrr_fit(&m, 61);
    for (size_t i = 0; i < rrr_dim(&m); i++)
        ws[i] += 0.2f;
    nmdl_llc_target t = {rrr_dim(&m), m.n, ws, rrr_loss_grad, &m, 0};
    nmdl_llc_params p;
    nmdl_llc_params_default(&p);
    p.gamma = 1.0, p.chains = 2, p.threads = 2;
    nmdl_llc_sweep sw;
    double step = 0;
    assert_nmdl_ok(nmdl_llc_calibrate(&t, &p, 3e-2, 2, 20, 40, &sw, &step));
    for (int i = 0; i < sw.n; i++)
        print_message("sweep step %.3g: llc %.3f, MALA %.2f\n", sw.step[i], sw.llc[i],
                      sw.mala[i]);
    assert_true(sw.below);
    assert_int_equal(sw.chosen, -1);
    assert_true(sw.n < NMDL_LLC_SWEEP);
    assert_true(sw.mala[sw.n - 1] >= NMDL_LLC_SWEEP_MALA && sw.llc[sw.n - 1] < 0);
    for (int i = 0; i + 1 < sw.n; i++)
        assert_true(sw.mala[i] < NMDL_LLC_SWEEP_MALA);
    nmdl_llc_result r;
    char did[200];
    p.step = sw.step[sw.n - 1], p.burnin = 100, p.draws = 200;
    assert_nmdl_ok(nmdl_llc_estimate_repaired(&t, &p, &r, did, sizeof did));
    print_message("at %.3g: llc %.3f (%s), repairs: %s\n", p.step, r.llc, r.warning, did);
    assert_int_equal(r.fault, NMDL_LLC_BELOW);
    assert_non_null(strstr(did, "gamma 1 -> 10 (at or below L(w*))"));
    assert_null(strstr(did, "step"));
    nmdl_llc_result_free(&r);
    p.step = 1e-2, p.gamma = 1.0, p.repairs = 2; /* acceptance about 0.5 */
    assert_nmdl_ok(nmdl_llc_estimate_repaired(&t, &p, &r, did, sizeof did));
    print_message("at 0.01: llc %.3f, MALA %.2f, repairs: %s\n", r.llc, r.mala, did);
    assert_non_null(strstr(did, "gamma 1 -> 10 (at or below L(w*)); step 0.01 -> 0.00316"));
    nmdl_llc_result_free(&r);
    free(ws), rrr_free(&m);
}

/* A one-layer transformer trained 400 steps on n bytes of text. */
static nmdl_model *trained(const uint8_t *text, size_t n)
{
    nmdl_model_config c = {1, 32, 2, 64, 64, 1, {0}};
    nmdl_model *m;
    nmdl_train_params tp;
    assert_nmdl_ok(nmdl_model_create(&c, 1, &m));
    nmdl_train_params_default(&tp);
    tp.steps = 400;
    tp.batch = 8;
    tp.lr = 3e-3;
    assert_nmdl_ok(nmdl_model_train(m, text, n, &tp, NULL));
    return m;
}

/* On a trained transformer: λ̂ positive, finite, and the same across
 * sampler seeds within a few standard errors. */
static void transformer_estimate_is_stable(void **state)
{
    (void)state;
    tu_rng g = {93};
    size_t n = 20000;
    uint8_t *text = tu_text(&g, n);
    nmdl_model *m = trained(text, n);
    double llc[2], se[2];
    for (int k = 0; k < 2; k++) {
        nmdl_llc_settings s;
        nmdl_llc_report r;
        nmdl_llc_settings_default(&s);
        s.step = 1e-5;
        s.burnin = 50;
        s.draws = 100;
        s.threads = 2;
        s.seed = 10 + (uint64_t)k;
        assert_nmdl_ok(nmdl_model_llc(m, text, n, &s, &r));
        print_message("transformer, seed %d: llc %.2f ± %.2f, MALA %.2f%s%s\n", k,
                      r.llc, r.llc_se, r.mala, r.healthy ? "" : ", ", r.warning);
        assert_true(isfinite(r.llc) && r.llc > 0);
        llc[k] = r.llc, se[k] = r.llc_se;
        nmdl_llc_report_free(&r);
    }
    assert_true(fabs(llc[0] - llc[1]) < 4 * sqrt(se[0] * se[0] + se[1] * se[1]));
    /* one chain whose draws still drift after 2 burn-in steps: the repair
     * adds a chain, which the target must have room for (ASan) */
    nmdl_llc_settings s;
    nmdl_llc_report r;
    nmdl_llc_settings_default(&s);
    s.step = 1e-7, s.chains = 1, s.burnin = 2, s.draws = 100, s.threads = 2;
    assert_nmdl_ok(nmdl_model_llc(m, text, n, &s, &r));
    print_message("transformer, drifting chain: llc %.2f, %s; repairs: %s\n", r.llc,
                  r.healthy ? "healthy" : r.warning, r.repairs);
    assert_non_null(strstr(r.repairs, "chains 1 -> 2 (still moving)"));
    assert_true(r.chains >= 2);
    nmdl_llc_report_free(&r);
    nmdl_model_free(m);
    free(text);
}

/* The sweep in units of 1/nβ: on the whole text and on its first fifth it
 * starts at ε = 0.021/nβ, γ stays 1e4, and the burn-in after the sweep
 * is half the relaxation time 2/(εγ) with the default mixed starts (at
 * least 100, at most 2000 steps). */
static void sweep_in_units_of_nbeta(void **state)
{
    (void)state;
    tu_rng g = {95};
    size_t n = 20000;
    uint8_t *text = tu_text(&g, n);
    nmdl_model *m = trained(text, n);
    const size_t sizes[2] = {n, n / 5};
    for (int k = 0; k < 2; k++) {
        nmdl_llc_settings s;
        nmdl_llc_report r;
        nmdl_llc_settings_default(&s);
        s.chains = 2, s.draws = 20, s.repairs = 0, s.threads = 2;
        assert_nmdl_ok(nmdl_model_llc(m, text, sizes[k], &s, &r));
        const double nb = (double)(sizes[k] - 1) / log((double)(sizes[k] - 1));
        const double relax = ceil(1 / (r.step * r.gamma)); /* half: mixed starts */
        print_message("n %zu: nbeta %.1f, first step %.3g, chosen %d (%.3g), burn-in %d\n",
                      sizes[k], r.nbeta, r.sweep_step[0], r.sweep_chosen, r.step, r.burnin);
        assert_true(fabs(r.nbeta / nb - 1) < 1e-12);
        assert_true(fabs(r.sweep_step[0] * nb / 0.021 - 1) < 1e-12);
        assert_true(r.gamma == 1e4);
        assert_int_equal(r.burnin, relax < 100 ? 100 : relax > 2000 ? 2000 : (int)relax);
        nmdl_llc_report_free(&r);
    }
    nmdl_model_free(m);
    free(text);
}

/* A transformer left hot (a constant rate to the last step) is no minimum:
 * the sweep stops below L(w*), a copy of the weights cools, the second
 * sweep and the estimate describe the copy, whose loss on the sample is
 * lower, and the model's own weights are untouched. With cool 0 the sweep
 * stops below and nothing is cooled. */
static void a_hot_end_is_cooled(void **state)
{
    (void)state;
    tu_rng g = {97};
    size_t n = 20000;
    uint8_t *text = tu_text(&g, n);
    nmdl_model_config c = {1, 32, 2, 64, 64, 1, {0}};
    nmdl_model *m;
    nmdl_train_params tp;
    assert_nmdl_ok(nmdl_model_create(&c, 1, &m));
    nmdl_train_params_default(&tp);
    tp.steps = 150, tp.batch = 8, tp.lr = 1e-2, tp.lr_final = 1; /* hot to the end */
    assert_nmdl_ok(nmdl_model_train(m, text, n, &tp, NULL));
    void *before, *after;
    size_t len_before, len_after;
    assert_nmdl_ok(nmdl_model_save(m, &before, &len_before));
    double below = 0, below_step = 0; /* where the sweep stopped without cooling */
    for (int cool = 0; cool <= 200; cool += 200) {
        nmdl_llc_settings s;
        nmdl_llc_report r;
        nmdl_llc_settings_default(&s);
        s.chains = 2, s.draws = 20, s.repairs = 0, s.threads = 2, s.cool = cool;
        assert_nmdl_ok(nmdl_model_llc(m, text, n, &s, &r));
        print_message("cool %d: cooled %ld, first sweep %.3g at %.3g; loss %.4f -> %.4f, "
                      "shift %.3g; sweep %d runs, below %d; llc %.2f ± %.2f %s\n", cool,
                      r.cool_steps, r.cool_llc, r.cool_llc_step, r.cool_from_bpb,
                      r.cool_to_bpb, r.cool_shift, r.sweep_n, r.sweep_below, r.llc, r.llc_se,
                      r.healthy ? "healthy" : r.warning);
        if (!cool) {
            assert_int_equal(r.sweep_below, 1);
            assert_int_equal(r.cool_steps, 0);
            assert_non_null(strstr(r.warning, "no minimum"));
            below = r.sweep_llc[r.sweep_n - 1], below_step = r.sweep_step[r.sweep_n - 1];
            assert_true(below < 0);
        } else {
            assert_int_equal(r.cool_steps, cool);
            assert_true(r.cool_llc == below && r.cool_llc_step == below_step);
            assert_true(r.cool_to_bpb < r.cool_from_bpb);
            assert_true(r.cool_shift > 0 && r.cool_shift < 0.5);
            assert_int_equal(r.sweep_below, 0);
            assert_true(r.llc > below);
        }
        nmdl_llc_report_free(&r);
    }
    assert_nmdl_ok(nmdl_model_save(m, &after, &len_after));
    assert_true(len_after == len_before && !memcmp(before, after, len_before));
    nmdl_free(before), nmdl_free(after);
    nmdl_model_free(m);
    free(text);
}

/* Seed 001's compressibility measures on a trained transformer: each one's
 * loss within its tolerance, a looser tolerance compresses at least as far
 * on every measure, and the weights come back untouched. */
static void compressibility_measures(void **state)
{
    (void)state;
    tu_rng g = {94};
    size_t n = 20000;
    uint8_t *text = tu_text(&g, n);
    nmdl_model *m = trained(text, n);
    double before, after;
    assert_nmdl_ok(nmdl_model_eval(m, text, n, 2, &before));
    nmdl_compressibility c[2];
    const double eps[2] = {0.01, 0.2}; /* nats per byte */
    for (int k = 0; k < 2; k++) {
        assert_nmdl_ok(nmdl_model_compressibility(m, text, n, eps[k], 2, &c[k]));
        const double limit = c[k].loss_bpb + eps[k] / log(2.0) + 1e-9; /* bits/byte */
        print_message("eps %.2f: n_q %d, svd %.3f, noise %.4g (%.4f), prune %.3f (%.4f)\n",
                      eps[k], c[k].critical_levels, c[k].critical_svd_fraction,
                      c[k].critical_noise, c[k].loss_noise_bpb,
                      c[k].critical_prune_fraction, c[k].loss_prune_bpb);
        assert_true(c[k].critical_levels > 1 && c[k].loss_levels_bpb <= limit);
        assert_true(c[k].loss_svd_bpb <= limit);
        assert_true(c[k].critical_noise > 0 && c[k].critical_noise <= 16);
        assert_true(c[k].loss_noise_bpb <= limit);
        assert_true(c[k].critical_prune_fraction >= 0 && c[k].critical_prune_fraction < 1);
        assert_true(c[k].loss_prune_bpb <= limit);
    }
    assert_true(c[1].critical_levels <= c[0].critical_levels);
    assert_true(c[1].critical_svd_fraction <= c[0].critical_svd_fraction);
    assert_true(c[1].critical_noise > c[0].critical_noise);
    assert_true(c[1].critical_prune_fraction > c[0].critical_prune_fraction);
    assert_nmdl_ok(nmdl_model_eval(m, text, n, 2, &after));
    assert_true(after == before);
    nmdl_model_free(m);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regular_model),
        cmocka_unit_test(reduced_rank_regression),
        cmocka_unit_test(threads_do_not_change_the_estimate),
        cmocka_unit_test(a_team_shares_the_chains),
        cmocka_unit_test(bad_parameters),
        cmocka_unit_test(mixed_starts),
        cmocka_unit_test(repairs_unhealthy_runs),
        cmocka_unit_test(no_minimum_stops_the_sweep),
        cmocka_unit_test(transformer_estimate_is_stable),
        cmocka_unit_test(sweep_in_units_of_nbeta),
        cmocka_unit_test(a_hot_end_is_cooled),
        cmocka_unit_test(compressibility_measures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
