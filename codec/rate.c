/*
 * rate.c: see rate.h.
 */
#include "rate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"

#define RATE_REFRESH 50 /* steps between refreshes of the cost table */
#define L_TAB (NMDL_RATE_LEVELS + 1) /* entries per kind; the last: all beyond */
#define ADAM_B1 0.9
#define ADAM_B2 0.99
#define MIN_LOG_BASE (-69.0) /* ln 2^-100: the format's range of a base step */
#define MAX_LOG_BASE 69.0

void nmdl_rate_params_default(nmdl_rate_params *p)
{
    memset(p, 0, sizeof *p);
    p->weight = 1.0;
    p->bits = 2.0;
    p->round_share = 0.25;
    p->step_lr = 2e-3;
    p->per_row = 1;
    p->seed = 1;
}

int nmdl_rate_init(nmdl_rate *r, nmdl_qmodel *qm, const nmdl_rate_params *p)
{
    memset(r, 0, sizeof *r);
    if (!(p->n > 1) || !(p->weight >= 0) || !(p->bits > 0) ||
        !(p->round_share >= 0 && p->round_share <= 1) || !(p->step_lr >= 0))
        return NMDL_ERR_ARG;
    const size_t nt = (size_t)qm->lay.n_tensors;
    r->p = *p;
    r->qm = qm;
    r->u = malloc(qm->lay.n_params * sizeof(float));
    r->cost = malloc((size_t)NMDL_Q_KINDS * L_TAB * sizeof(float));
    r->s = calloc(3 * nt, sizeof(double));
    if (!r->u || !r->cost || !r->s) {
        nmdl_rate_free(r);
        return NMDL_ERR_NOMEM;
    }
    r->m1 = r->s + nt;
    r->m2 = r->m1 + nt;
    nmdl_rng_seed(&r->rng, p->seed, 7);
    return NMDL_OK;
}

void nmdl_rate_free(nmdl_rate *r)
{
    free(r->u);
    free(r->cost);
    free(r->s);
    memset(r, 0, sizeof *r);
}

/* Bits of the cost table for |level| a of a tensor of kind k. */
static double cost_of(const nmdl_rate *r, int k, long a)
{
    return r->cost[(size_t)k * L_TAB + (a < NMDL_RATE_LEVELS ? a : NMDL_RATE_LEVELS)];
}

/* Quantizes w under the current steps and rebuilds the table: per kind,
 * -log2 of each |level|'s frequency (half a count added to every entry),
 * plus a sign bit for nonzero levels, made non-decreasing in |level|. */
static void refresh(nmdl_rate *r, const float *w)
{
    nmdl_qmodel *qm = r->qm;
    double count[NMDL_Q_KINDS][L_TAB] = {{0}}, total[NMDL_Q_KINDS] = {0};
    nmdl_q_quantize(qm, w);
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        const int kind = nmdl_q_kind(t);
        const int32_t *q = qm->q + t->off;
        for (size_t i = 0; i < (size_t)t->rows * t->cols; i++) {
            long a = labs((long)q[i]);
            count[kind][a < NMDL_RATE_LEVELS ? a : NMDL_RATE_LEVELS] += 1;
        }
        total[kind] += (double)t->rows * t->cols;
    }
    for (int k = 0; k < NMDL_Q_KINDS; k++) {
        float *c = r->cost + (size_t)k * L_TAB;
        for (int a = 0; a < L_TAB; a++) {
            double b = -log2((count[k][a] + 0.5) / (total[k] + 0.5 * L_TAB)) + (a > 0);
            c[a] = (float)(a > 0 && b < c[a - 1] ? c[a - 1] : b);
        }
    }
    r->est_bits = nmdl_rate_estimate(r);
}

double nmdl_rate_estimate(nmdl_rate *r)
{
    const nmdl_qmodel *qm = r->qm;
    double bits = 0;
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        const int kind = nmdl_q_kind(t);
        const int32_t *q = qm->q + t->off;
        for (size_t i = 0; i < (size_t)t->rows * t->cols; i++)
            bits += cost_of(r, kind, labs((long)q[i]));
    }
    return bits;
}

static int noise_stage(const nmdl_rate *r)
{
    return r->t < r->to - r->from;
}

static int begin(void *user, const float *w)
{
    nmdl_rate *r = user;
    nmdl_qmodel *qm = r->qm;
    nmdl_budget_delta(qm, w, r->p.bits, r->p.per_row, NULL, NULL);
    for (int k = 0; k < qm->lay.n_tensors; k++)
        r->s[k] = log(qm->base[k]);
    r->t = 0;
    refresh(r, w);
    return NMDL_OK;
}

/* The noise stage: out = w + Δ u with fresh u (kept in r->u); the
 * rounding stage: out = the rounded w. */
static void project(void *user, const float *w, float *out)
{
    nmdl_rate *r = user;
    nmdl_qmodel *qm = r->qm;
    if (!noise_stage(r)) {
        nmdl_q_quantize(qm, w);
        nmdl_q_dequantize(qm, out);
        return;
    }
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        for (int row = 0; row < t->rows; row++) {
            const float step = nmdl_q_step(qm, k, (size_t)row);
            const size_t o = t->off + (size_t)row * t->cols;
            for (int c = 0; c < t->cols; c++) {
                r->u[o + c] = (float)(nmdl_rng_uniform(&r->rng) - 0.5);
                out[o + c] = w[o + c] + step * r->u[o + c];
            }
        }
    }
}

/* One Adam step on tensor k's log base step with gradient g. */
static void learn_step(nmdl_rate *r, int k, double g)
{
    const double t = (double)(r->t + 1);
    r->m1[k] = ADAM_B1 * r->m1[k] + (1 - ADAM_B1) * g;
    r->m2[k] = ADAM_B2 * r->m2[k] + (1 - ADAM_B2) * g * g;
    const double mh = r->m1[k] / (1 - pow(ADAM_B1, t)), vh = r->m2[k] / (1 - pow(ADAM_B2, t));
    r->s[k] -= r->p.step_lr * mh / (sqrt(vh) + 1e-12);
    r->s[k] = fmin(fmax(r->s[k], MIN_LOG_BASE), MAX_LOG_BASE);
    r->qm->base[k] = (float)exp(r->s[k]);
}

/* Adds the rate's gradient to grads and, in the noise stage, learns the
 * base steps from both terms: d/ds of the loss is sum g Δ u (the noise
 * scales with the step), d/ds of R is -sum R'(x) x. */
static void penalize(void *user, const float *w, float *grads, long step,
                     long total)
{
    nmdl_rate *r = user;
    nmdl_qmodel *qm = r->qm;
    (void)step, (void)total;
    if (r->t % RATE_REFRESH == 0)
        refresh(r, w);
    const int noise = noise_stage(r);
    const double scale = r->p.weight * log(2.0) / (r->p.n - 1); /* nats/token per bit */
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        const int kind = nmdl_q_kind(t);
        const float mean = nmdl_q_offset(qm, k);
        double g_loss = 0, g_rate = 0;
        for (int row = 0; row < t->rows; row++) {
            const float step = nmdl_q_step(qm, k, (size_t)row);
            const size_t o = t->off + (size_t)row * t->cols;
            for (int c = 0; c < t->cols; c++) {
                const double x = (w[o + c] - mean) / step, a = fabs(x);
                const long j = (long)a;
                const double slope = j + 1 < NMDL_RATE_LEVELS
                                         ? cost_of(r, kind, j + 1) - cost_of(r, kind, j)
                                         : cost_of(r, kind, NMDL_RATE_LEVELS - 1) -
                                               cost_of(r, kind, NMDL_RATE_LEVELS - 2);
                if (noise)
                    g_loss += (double)grads[o + c] * step * r->u[o + c];
                g_rate -= slope * a;
                grads[o + c] += (float)(scale * (x < 0 ? -slope : slope) / step);
            }
        }
        if (noise)
            learn_step(r, k, g_loss + scale * g_rate);
    }
    r->t++;
}

void nmdl_rate_hook(nmdl_rate *r, long total, long steps, nmdl_train_hook *h)
{
    steps = steps < total ? steps : total;
    r->from = total - steps;
    r->to = r->from + (long)((1.0 - r->p.round_share) * (double)steps);
    *h = (nmdl_train_hook){r->from, begin, project, penalize, r};
}

static void round_project(void *user, const float *w, float *out)
{
    nmdl_qmodel *qm = user;
    nmdl_q_quantize(qm, w);
    nmdl_q_dequantize(qm, out);
}

void nmdl_rate_round_hook(nmdl_qmodel *qm, nmdl_train_hook *h)
{
    *h = (nmdl_train_hook){0, NULL, round_project, NULL, qm};
}
