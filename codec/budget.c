/*
 * budget.c: see budget.h.
 */
#include "budget.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/llctf.h"
#include "../model/train.h"
#include "../model/transformer.h"
#include "rate.h"

#define SEARCH_MAX_BITS 8.0
#define SEARCH_FLOOR_BITS 0.01
#define FALLBACK_START 1.0 /* bits: where the search starts without b* of the
                              coded weights */
#define BISECTIONS 36      /* steps of the step-size bisection */
#define REFINEMENTS 4      /* budgets the search tries around the best */
#define FINALISTS 3        /* budgets it fine-tunes briefly */
#define PLAN_START 0.05    /* bits: the usual b*, for plans made before it */
/* Work units of one weight through one bisection step (set the steps,
 * round, entropy-code; one thread; measured 2026-12-01 at -T2, see
 * ARCHITECTURE "Progress"). */
#define BISECT_COST 1200.0

/* Budgets the doubling from `start` tries (up to SEARCH_MAX_BITS). */
static int doublings(double start)
{
    int k = 0;
    for (double b = start; b <= SEARCH_MAX_BITS * 1.0001; b *= 2)
        k++;
    return k;
}

/* Work units of one step-size bisection. */
static double bisect_work(const nmdl_model_config *cfg, int threads)
{
    nmdl_tf_layout lay;
    nmdl_tf_layout_make(cfg, &lay);
    return BISECTIONS * BISECT_COST * (double)lay.n_params * threads;
}

double nmdl_budget_delta_work(const nmdl_model_config *cfg, int threads)
{
    return bisect_work(cfg, threads);
}

/* Work and steps (budgets tried and the finalists' fine-tuning steps) of
 * a search starting at `start` bits. */
static double search_work(const nmdl_budget_params *p, const nmdl_model_config *cfg,
                          size_t n, int threads, double start, long *budgets)
{
    int plain = doublings(start) + REFINEMENTS, tuned = p->tune ? FINALISTS : 0;
    long tune_steps = p->tune ? p->tune->steps : 0;
    double tune = p->tune ? (double)tune_steps * nmdl_train_step_work(cfg, p->tune->batch) : 0;
    *budgets = plain + tuned * (1 + tune_steps);
    return (plain + tuned + 1) * nmdl_train_sample_work(cfg, n) +
           (plain + tuned) * bisect_work(cfg, threads) + tuned * tune;
}

void nmdl_budget_plan(const nmdl_budget_params *p, const nmdl_model_config *cfg,
                      size_t n, int threads, double *work, long *steps)
{
    work[NMDL_PHASE_LLC] = work[NMDL_PHASE_SEARCH] = 0;
    steps[NMDL_PHASE_LLC] = steps[NMDL_PHASE_SEARCH] = 0;
    if (p->mode == NMDL_BUDGET_FIXED)
        return;
    nmdl_llc_settings s = p->llc;
    s.threads = threads;
    if (!p->llc_skip)
        work[NMDL_PHASE_LLC] = nmdl_llctf_plan(cfg, &s, n, &steps[NMDL_PHASE_LLC]);
    if (p->mode == NMDL_BUDGET_SEARCH)
        work[NMDL_PHASE_SEARCH] = search_work(p, cfg, n, threads, PLAN_START,
                                              &steps[NMDL_PHASE_SEARCH]);
}

/* Bits per weight of the levels under step size delta (actually coded). */
static double coded_bits(nmdl_qmodel *qm, const float *params, double delta,
                         int per_row, const float *spread)
{
    uint8_t *buf;
    size_t len;
    nmdl_q_set_steps(qm, params, delta, per_row, spread);
    nmdl_q_quantize(qm, params);
    if (nmdl_q_encode(qm, &buf, &len))
        return INFINITY;
    free(buf);
    return 8.0 * (double)len / (double)qm->lay.n_params;
}

double nmdl_budget_delta(nmdl_qmodel *qm, const float *params, double bits,
                         int per_row, const float *spread, nmdl_prog *prog)
{
    double lo = log(1e-4), hi = log(1e4); /* cost falls as the step grows */
    const double work = BISECT_COST * (double)qm->lay.n_params * (prog ? prog->threads : 1);
    for (int i = 0; i < BISECTIONS && !nmdl_prog_add(prog, work, 0); i++) {
        double mid = 0.5 * (lo + hi);
        if (coded_bits(qm, params, exp(mid), per_row, spread) > bits)
            lo = mid;
        else
            hi = mid;
    }
    nmdl_q_set_steps(qm, params, exp(hi), per_row, spread);
    return exp(hi);
}

/* Sample loss (nats per byte) under the model's current weights into
 * *nats, counted in prog. */
static int sample_loss(nmdl_model *m, const nmdl_train_sample *s, nmdl_prog *prog,
                       double *nats)
{
    int rc = nmdl_train_sample_loss(m, s, prog, nats);
    if (rc && rc != NMDL_ERR_CANCELED) {
        *nats = NAN;
        rc = NMDL_OK;
    }
    return rc;
}

double nmdl_budget_priced(double priced, double n)
{
    return priced > 0 ? priced : n - 1;
}

/* P of the search's parameters p on n bytes. */
static double priced_bytes(const nmdl_budget_params *p, size_t n)
{
    return nmdl_budget_priced(p->priced_bytes, (double)n);
}

/* The estimated whole DL in bits (model bits + sample loss x P) of the
 * budget `bits` per weight into *dl, recorded as candidate r->n. With
 * `data`, fine-tunes briefly (p->tune) from w through the rounding first.
 * Leaves the weights w in the model. */
static int candidate(nmdl_model *m, nmdl_qmodel *qm, const float *w,
                     const nmdl_train_sample *s, const uint8_t *data, size_t n,
                     double bits, const nmdl_budget_params *p,
                     const float *spread, nmdl_prog *prog, nmdl_budget_report *r,
                     double *dl)
{
    nmdl_budget_delta(qm, w, bits, p->per_row, spread, prog);
    int rc = nmdl_prog_canceled(prog);
    if (!rc && data) {
        nmdl_train_hook round;
        nmdl_rate_round_hook(qm, &round);
        rc = nmdl_train_run(m, data, n, p->tune, &round, prog, NULL);
        nmdl_q_quantize(qm, m->params);
    } else if (!rc) {
        nmdl_q_quantize(qm, w);
    }
    uint8_t *buf;
    size_t len;
    double model_bits = INFINITY;
    if (!rc && !nmdl_q_encode(qm, &buf, &len)) {
        model_bits = 8.0 * (double)len;
        free(buf);
    }
    nmdl_q_dequantize(qm, m->params);
    double loss = NAN;
    if (!rc)
        rc = sample_loss(m, s, prog, &loss);
    memcpy(m->params, w, m->lay.n_params * sizeof(float));
    if (rc || (rc = nmdl_prog_add(prog, 0, 1)))
        return rc;
    *dl = model_bits + priced_bytes(p, n) * loss / log(2.0);
    if (r->n < NMDL_BUDGET_CANDIDATES) {
        r->cand_bits[r->n] = bits;
        r->cand_model_bits[r->n] = model_bits;
        r->cand_loss_bpb[r->n] = loss / log(2.0);
        r->cand_dl_bits[r->n] = *dl;
        r->cand_tuned[r->n] = data != NULL;
        r->n++;
    }
    if (!isfinite(*dl))
        *dl = INFINITY;
    return NMDL_OK;
}

/* Doubling from `start` up to SEARCH_MAX_BITS, then two refinements around
 * the best; with p->tune, the finalists again after brief fine-tuning.
 * The best budget in bits per weight into *best. */
static int search(nmdl_model *m, nmdl_qmodel *qm, const float *w,
                  const nmdl_train_sample *s, const uint8_t *data, size_t n,
                  double start, const nmdl_budget_params *p, const float *spread,
                  nmdl_prog *prog, nmdl_budget_report *r, double *best)
{
    double best_dl = INFINITY, dl;
    int rc = NMDL_OK;
    *best = start;
    for (double b = start; !rc && b <= SEARCH_MAX_BITS * 1.0001; b *= 2)
        if (!(rc = candidate(m, qm, w, s, NULL, n, b, p, spread, prog, r, &dl)) && dl < best_dl)
            *best = b, best_dl = dl;
    for (double f = sqrt(2.0); !rc && f > 1.1; f = sqrt(f)) {
        double centre = *best;
        for (int side = -1; !rc && side <= 1; side += 2) {
            double b = side < 0 ? centre / f : centre * f;
            if (!(rc = candidate(m, qm, w, s, NULL, n, b, p, spread, prog, r, &dl)) &&
                dl < best_dl)
                *best = b, best_dl = dl;
        }
    }
    if (rc || !p->tune)
        return rc;
    const double plain = *best;
    best_dl = INFINITY;
    for (int k = 0; !rc && k < FINALISTS; k++) { /* b, b / sqrt(2), b / 2 */
        double b = plain / pow(sqrt(2.0), k);
        if (!(rc = candidate(m, qm, w, s, data, n, b, p, spread, prog, r, &dl)) && dl < best_dl)
            *best = b, best_dl = dl;
    }
    return rc;
}

int nmdl_budget_plain(nmdl_model *m, const uint8_t *data, size_t n, double priced,
                      const uint8_t *cheap, float cheap_weight, nmdl_qmodel *qm, int per_row,
                      double start, double *bits)
{
    nmdl_budget_params p = {0};
    nmdl_budget_report r;
    nmdl_train_sample s = {0};
    const size_t bytes = m->lay.n_params * sizeof(float);
    float *w = malloc(bytes);
    int rc = w ? nmdl_train_sample_make(&s, data, n, m->cfg.ctx, cheap, cheap_weight)
               : NMDL_ERR_NOMEM;
    p.per_row = per_row;
    p.priced_bytes = priced;
    memset(&r, 0, sizeof r);
    if (!rc) {
        memcpy(w, m->params, bytes);
        rc = search(m, qm, w, &s, data, n, start, &p, NULL, NULL, &r, bits);
    }
    nmdl_train_sample_free(&s);
    free(w);
    return rc;
}

/* λ̂ and b*; leaves r->b_star NaN when the sampler is not to be trusted. */
static int estimate(nmdl_model *m, const uint8_t *data, size_t n,
                    const nmdl_budget_params *p, int threads, float **spread,
                    nmdl_prog *prog, nmdl_budget_report *r)
{
    nmdl_llc_settings s = p->llc;
    nmdl_llc_report e;
    s.threads = threads;
    long steps;
    double t0 = nmdl_prog_now(), work = nmdl_llctf_plan(&m->cfg, &s, n, &steps);
    int rc = nmdl_prog_phase(prog, NMDL_PHASE_LLC, work, steps);
    if (!rc)
        rc = nmdl_llctf_run(m, data, n, &s, &e, p->posterior ? spread : NULL, prog);
    r->llc_s = nmdl_prog_now() - t0;
    if (rc)
        return rc;
    r->llc = e.llc, r->llc_se = e.llc_se, r->nbeta = e.nbeta;
    r->llc_step = e.step, r->mala = e.mala, r->llc_healthy = e.healthy;
    r->llc_gamma = e.gamma, r->llc_chains = e.chains;
    r->llc_burnin = e.burnin, r->llc_draws = e.steps - e.burnin, r->llc_start = e.start;
    snprintf(r->llc_warning, sizeof r->llc_warning, "%s", e.warning);
    snprintf(r->llc_repairs, sizeof r->llc_repairs, "%s", e.repairs);
    r->llc_cool_steps = e.cool_steps;
    if (e.cool_steps)
        snprintf(r->llc_cool, sizeof r->llc_cool,
                 "the weights are no minimum (the sweep read %.4g at step %.3g): estimated "
                 "at a copy after %ld steps at a rate falling from %.3g to %.3g, loss "
                 "%.4f -> %.4f bits/byte, moved %.3g of its RMS",
                 e.cool_llc, e.cool_llc_step, e.cool_steps, e.cool_lr, e.cool_lr_final,
                 e.cool_from_bpb, e.cool_to_bpb, e.cool_shift);
    nmdl_llc_report_free(&e);
    const size_t d = m->lay.n_params;
    r->epsilon = p->epsilon > 0 ? p->epsilon : r->llc / (double)(n - 1);
    if (r->llc_healthy && r->llc > 0 && r->epsilon > 0 && r->epsilon < 1) {
        r->b_star = r->llc / (double)d * log2(1.0 / r->epsilon);
        r->predicted_model_bits = r->llc * log2(1.0 / r->epsilon);
    } else {
        snprintf(r->note, sizeof r->note, "sampler unhealthy (%s): budget from "
                 "%.0f bit per weight", r->llc_warning, FALLBACK_START);
    }
    return NMDL_OK;
}

int nmdl_budget_choose(nmdl_model *m, const uint8_t *data, size_t n,
                       nmdl_qmodel *qm, const nmdl_budget_params *p,
                       int threads, float **spread, nmdl_prog *prog,
                       nmdl_budget_report *r)
{
    memset(r, 0, sizeof *r);
    r->mode = p->mode;
    r->llc_healthy = -1;
    r->llc = r->llc_se = r->epsilon = r->b_star = r->predicted_model_bits = NAN;
    r->loss_float_bpb = r->nbeta = r->llc_step = r->mala = r->llc_gamma = NAN;
    *spread = NULL;
    if (p->mode == NMDL_BUDGET_FIXED) {
        r->bits = p->bits;
        return NMDL_OK;
    }
    int rc = p->llc_skip ? NMDL_OK : estimate(m, data, n, p, threads, spread, prog, r);
    if (rc)
        return rc; /* nmdl_llctf_run hands out no spread on error */
    if (p->llc_skip)
        snprintf(r->note, sizeof r->note, "no LLC at this size and effort (nmdl llc "
                 "estimates it): budget from %.0f bit per weight", FALLBACK_START);
    double start = isfinite(r->b_star) ? fmax(r->b_star, SEARCH_FLOOR_BITS) : FALLBACK_START;
    if (p->mode == NMDL_BUDGET_BSTAR || p->mode == NMDL_BUDGET_LEARNED) {
        r->bits = p->mode == NMDL_BUDGET_BSTAR ? start : NAN; /* learned: the caller's */
        return NMDL_OK;
    }
    if (isfinite(r->b_star) && r->llc_cool_steps) { /* b* of another model */
        start = FALLBACK_START;
        snprintf(r->note, sizeof r->note, "b* is of a cooled copy, not of the coded "
                 "weights: budget from %.0f bit per weight", FALLBACK_START);
    }
    r->priced_bytes = priced_bytes(p, n);
    nmdl_train_sample s = {0};
    double t0 = nmdl_prog_now();
    long budgets;
    double work = search_work(p, &m->cfg, n, threads, start, &budgets);
    float *w = malloc(m->lay.n_params * sizeof(float));
    rc = nmdl_prog_phase(prog, NMDL_PHASE_SEARCH, work, budgets);
    if (!rc)
        rc = w ? nmdl_train_sample_make(&s, data, n, m->cfg.ctx, p->cheap, p->cheap_weight)
               : NMDL_ERR_NOMEM;
    s.team = p->team;
    if (!rc) {
        memcpy(w, m->params, m->lay.n_params * sizeof(float));
        rc = sample_loss(m, &s, prog, &r->loss_float_bpb);
        r->loss_float_bpb /= log(2.0);
    }
    if (!rc)
        rc = search(m, qm, w, &s, data, n, start, p, *spread, prog, r, &r->bits);
    nmdl_train_sample_free(&s);
    free(w);
    if (rc) {
        free(*spread);
        *spread = NULL;
    }
    r->search_s = nmdl_prog_now() - t0;
    return rc;
}
