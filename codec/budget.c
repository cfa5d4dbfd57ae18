/*
 * budget.c: see budget.h.
 */
#include "budget.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../model/llctf.h"
#include "../model/train.h"
#include "../model/transformer.h"
#include "rate.h"

#define SEARCH_MAX_BITS 8.0
#define SEARCH_FLOOR_BITS 0.01
#define FALLBACK_START 1.0 /* bits: where the search starts without b* */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
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
                         int per_row, const float *spread)
{
    double lo = log(1e-4), hi = log(1e4); /* cost falls as the step grows */
    for (int i = 0; i < 36; i++) {
        double mid = 0.5 * (lo + hi);
        if (coded_bits(qm, params, exp(mid), per_row, spread) > bits)
            lo = mid;
        else
            hi = mid;
    }
    nmdl_q_set_steps(qm, params, exp(hi), per_row, spread);
    return exp(hi);
}

/* Sample loss (nats per byte) under the model's current weights. */
static double sample_loss(nmdl_model *m, const nmdl_train_sample *s)
{
    double nats;
    return nmdl_train_sample_loss(m, s, &nats) ? NAN : nats;
}

/* Estimated whole DL in bits (model bits + sample loss x n) of the budget
 * `bits` per weight: fills candidate r->n and returns it. With `data`,
 * fine-tunes briefly (p->tune) from w through the rounding first. Leaves
 * the weights w in the model. */
static double candidate(nmdl_model *m, nmdl_qmodel *qm, const float *w,
                        const nmdl_train_sample *s, const uint8_t *data, size_t n,
                        double bits, const nmdl_budget_params *p,
                        const float *spread, nmdl_budget_report *r)
{
    nmdl_budget_delta(qm, w, bits, p->per_row, spread);
    if (data) {
        nmdl_train_hook round;
        nmdl_rate_round_hook(qm, &round);
        if (nmdl_train_run(m, data, n, p->tune, &round, NULL))
            return INFINITY;
        nmdl_q_quantize(qm, m->params);
    } else {
        nmdl_q_quantize(qm, w);
    }
    uint8_t *buf;
    size_t len;
    double model_bits = INFINITY;
    if (!nmdl_q_encode(qm, &buf, &len)) {
        model_bits = 8.0 * (double)len;
        free(buf);
    }
    nmdl_q_dequantize(qm, m->params);
    double loss = sample_loss(m, s), dl = model_bits + (double)(n - 1) * loss / log(2.0);
    memcpy(m->params, w, m->lay.n_params * sizeof(float));
    if (r->n < NMDL_BUDGET_CANDIDATES) {
        r->cand_bits[r->n] = bits;
        r->cand_model_bits[r->n] = model_bits;
        r->cand_loss_bpb[r->n] = loss / log(2.0);
        r->cand_dl_bits[r->n] = dl;
        r->cand_tuned[r->n] = data != NULL;
        r->n++;
    }
    return isfinite(dl) ? dl : INFINITY;
}

/* Doubling from `start` up to SEARCH_MAX_BITS, then two refinements around
 * the best; with p->tune, the finalists again after brief fine-tuning.
 * Returns the best budget in bits per weight. */
static double search(nmdl_model *m, nmdl_qmodel *qm, const float *w,
                     const nmdl_train_sample *s, const uint8_t *data, size_t n,
                     double start, const nmdl_budget_params *p,
                     const float *spread, nmdl_budget_report *r)
{
    double best = start, best_dl = INFINITY;
    for (double b = start; b <= SEARCH_MAX_BITS * 1.0001; b *= 2) {
        double dl = candidate(m, qm, w, s, NULL, n, b, p, spread, r);
        if (dl < best_dl)
            best = b, best_dl = dl;
    }
    for (double f = sqrt(2.0); f > 1.1; f = sqrt(f)) {
        double centre = best;
        for (int side = -1; side <= 1; side += 2) {
            double b = side < 0 ? centre / f : centre * f;
            double dl = candidate(m, qm, w, s, NULL, n, b, p, spread, r);
            if (dl < best_dl)
                best = b, best_dl = dl;
        }
    }
    if (!p->tune)
        return best;
    const double plain = best;
    best_dl = INFINITY;
    for (int k = 0; k < 3; k++) { /* b, b / sqrt(2), b / 2 */
        double b = plain / pow(sqrt(2.0), k);
        double dl = candidate(m, qm, w, s, data, n, b, p, spread, r);
        if (dl < best_dl)
            best = b, best_dl = dl;
    }
    return best;
}

/* λ̂ and b*; leaves r->b_star NaN when the sampler is not to be trusted. */
static int estimate(nmdl_model *m, const uint8_t *data, size_t n,
                    const nmdl_budget_params *p, int threads, float **spread,
                    nmdl_budget_report *r)
{
    nmdl_llc_settings s = p->llc;
    nmdl_llc_report e;
    s.threads = threads;
    double t0 = now();
    int rc = nmdl_llctf_run(m, data, n, &s, &e, p->posterior ? spread : NULL);
    r->llc_s = now() - t0;
    if (rc)
        return rc;
    r->llc = e.llc, r->llc_se = e.llc_se, r->nbeta = e.nbeta;
    r->llc_step = e.step, r->mala = e.mala, r->llc_healthy = e.healthy;
    snprintf(r->llc_warning, sizeof r->llc_warning, "%s", e.warning);
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
                       int threads, float **spread, nmdl_budget_report *r)
{
    memset(r, 0, sizeof *r);
    r->mode = p->mode;
    r->llc_healthy = -1;
    r->llc = r->llc_se = r->epsilon = r->b_star = r->predicted_model_bits = NAN;
    r->loss_float_bpb = r->nbeta = r->llc_step = r->mala = NAN;
    *spread = NULL;
    if (p->mode == NMDL_BUDGET_FIXED) {
        r->bits = p->bits;
        return NMDL_OK;
    }
    int rc = estimate(m, data, n, p, threads, spread, r);
    if (rc)
        return rc; /* nmdl_llctf_run hands out no spread on error */
    double start = isfinite(r->b_star) ? fmax(r->b_star, SEARCH_FLOOR_BITS) : FALLBACK_START;
    if (p->mode == NMDL_BUDGET_BSTAR) {
        r->bits = start;
        return NMDL_OK;
    }
    nmdl_train_sample s = {0};
    double t0 = now();
    float *w = malloc(m->lay.n_params * sizeof(float));
    rc = w ? nmdl_train_sample_make(&s, data, n, m->cfg.ctx) : NMDL_ERR_NOMEM;
    if (!rc) {
        memcpy(w, m->params, m->lay.n_params * sizeof(float));
        r->loss_float_bpb = sample_loss(m, &s) / log(2.0);
        r->bits = search(m, qm, w, &s, data, n, start, p, *spread, r);
    }
    nmdl_train_sample_free(&s);
    free(w);
    if (rc) {
        free(*spread);
        *spread = NULL;
    }
    r->search_s = now() - t0;
    return rc;
}
