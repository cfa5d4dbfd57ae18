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
#define PLAIN_START_BITS 1.0 /* where the plain search for the start begins */
#define ADAM_B1 0.9
#define ADAM_B2 0.99
#define MIN_LOG_BASE (-69.0) /* ln 2^-100: the format's range of a base step */
#define MAX_LOG_BASE 69.0

void nmdl_rate_params_default(nmdl_rate_params *p)
{
    memset(p, 0, sizeof *p);
    p->weight = NMDL_RATE_WEIGHT;
    p->bits = 2.0;
    p->round_share = 0.25;
    p->step_lr = 2e-3;
    p->per_row = 1;
    p->penalty = NMDL_RATE_PEN_RATE;
    p->seed = 1;
}

int nmdl_rate_init(nmdl_rate *r, nmdl_qmodel *qm, const nmdl_rate_params *p)
{
    memset(r, 0, sizeof *r);
    if (!(p->n > 1) || !(p->weight >= 0) || !(p->bits >= 0) ||
        (p->bits == 0 && (!p->model || !p->data)) ||
        !(p->round_share >= 0 && p->round_share <= 1) || !(p->step_lr >= 0))
        return NMDL_ERR_ARG;
    const size_t nt = (size_t)qm->lay.n_tensors;
    r->p = *p;
    r->qm = qm;
    r->u = malloc(qm->lay.n_params * sizeof(float));
    r->cost = malloc((size_t)NMDL_Q_KINDS * L_TAB * sizeof(float));
    r->s = calloc(4 * nt, sizeof(double));
    r->mask = calloc(qm->lay.n_params, 1);
    if (p->penalty == NMDL_RATE_PEN_PMMP)
        r->pm = malloc(3 * qm->lay.n_params * sizeof(float));
    if (!r->u || !r->cost || !r->s || !r->mask ||
        (p->penalty == NMDL_RATE_PEN_PMMP && !r->pm)) {
        nmdl_rate_free(r);
        return NMDL_ERR_NOMEM;
    }
    r->m1 = r->s + nt;
    r->m2 = r->m1 + nt;
    r->mult = r->m2 + nt;
    nmdl_rng_seed(&r->rng, p->seed, 7);
    return NMDL_OK;
}

void nmdl_rate_free(nmdl_rate *r)
{
    free(r->u);
    free(r->cost);
    free(r->s);
    free(r->mask);
    free(r->pm);
    memset(r, 0, sizeof *r);
}

/* Bits of the cost table for |level| a of a tensor of kind k. */
static double cost_of(const nmdl_rate *r, int k, long a)
{
    return r->cost[(size_t)k * L_TAB + (a < NMDL_RATE_LEVELS ? a : NMDL_RATE_LEVELS)];
}

static double table_bits(const nmdl_rate *r);

/* Quantizes w under the current steps and rebuilds the table: per kind,
 * -log2 of each |level|'s frequency (half a count added to every entry),
 * plus a sign bit for nonzero levels; the rows of absent symbols, which
 * are not coded, do not count. */
static void refresh(nmdl_rate *r, const float *w)
{
    nmdl_qmodel *qm = r->qm;
    double count[NMDL_Q_KINDS][L_TAB] = {{0}}, total[NMDL_Q_KINDS] = {0};
    nmdl_q_quantize(qm, w);
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        const int kind = nmdl_q_kind(t);
        for (int row = 0; row < t->rows; row++) {
            if (nmdl_tf_absent_row(&qm->cfg, t, row))
                continue; /* uncoded */
            const int32_t *q = qm->q + t->off + (size_t)row * t->cols;
            for (int c = 0; c < t->cols; c++) {
                long a = labs((long)q[c]);
                count[kind][a < NMDL_RATE_LEVELS ? a : NMDL_RATE_LEVELS] += 1;
                total[kind] += 1;
            }
        }
    }
    for (int k = 0; k < NMDL_Q_KINDS; k++) {
        float *c = r->cost + (size_t)k * L_TAB;
        double nz = 0, nz_bits = 0;
        for (int a = 0; a < L_TAB; a++) {
            c[a] = (float)(-log2((count[k][a] + 0.5) / (total[k] + 0.5 * L_TAB)) + (a > 0));
            nz += a > 0 ? count[k][a] : 0;
            nz_bits += a > 0 ? count[k][a] * c[a] : 0;
        }
        r->nz_bits[k] = nz > 0 ? nz_bits / nz - c[0] : c[1] - c[0];
    }
    r->est_bits = table_bits(r);
}

double nmdl_rate_estimate(nmdl_rate *r, const float *w)
{
    refresh(r, w);
    return r->est_bits;
}

/* The table's cost of qm's current levels, in bits. */
static double table_bits(const nmdl_rate *r)
{
    const nmdl_qmodel *qm = r->qm;
    double bits = 0;
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        const int kind = nmdl_q_kind(t);
        for (int row = 0; row < t->rows; row++) {
            if (nmdl_tf_absent_row(&qm->cfg, t, row))
                continue; /* uncoded */
            const int32_t *q = qm->q + t->off + (size_t)row * t->cols;
            for (int c = 0; c < t->cols; c++)
                bits += cost_of(r, kind, labs((long)q[c]));
        }
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
    double bits = r->p.bits;
    int rc = bits > 0 ? NMDL_OK
                      : nmdl_budget_plain(r->p.model, r->p.data, (size_t)r->p.n, r->p.priced,
                                          r->p.cheap, r->p.cheap_weight, qm,
                                          r->p.per_row, PLAIN_START_BITS, &bits);
    if (rc)
        return rc;
    r->start_bits = bits;
    nmdl_budget_delta(qm, w, bits, r->p.per_row, NULL, NULL);
    for (int k = 0; k < qm->lay.n_tensors; k++)
        r->s[k] = log(qm->base[k]);
    r->t = 0;
    refresh(r, w);
    if (r->pm) { /* PMMP: every weight kept (p = 1), its shadow itself */
        const size_t d = qm->lay.n_params;
        for (int k = 0; k < qm->lay.n_tensors; k++) {
            const nmdl_tf_tensor *t = &qm->lay.tensor[k];
            for (int row = 0; row < t->rows; row++) {
                const float step = nmdl_q_step(qm, k, (size_t)row);
                const size_t o = t->off + (size_t)row * t->cols;
                for (int c = 0; c < t->cols; c++) {
                    r->pm[o + c] = 1.0f;
                    r->pm[d + o + c] = (w[o + c] - nmdl_q_offset(qm, k)) / step;
                }
            }
        }
        memset(r->pm + 2 * d, 0, d * sizeof(float));
    }
    return NMDL_OK;
}

/* At the start of the rounding stage: RL1 freezes the weights that round
 * to zero, PMMP those whose keep-probability fell below 1/2. */
static void freeze(nmdl_rate *r, const float *w)
{
    const nmdl_qmodel *qm = r->qm;
    if (r->p.penalty != NMDL_RATE_PEN_RL1 && r->p.penalty != NMDL_RATE_PEN_PMMP)
        return;
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        for (int row = 0; row < t->rows; row++) {
            const float step = nmdl_q_step(qm, k, (size_t)row);
            const size_t o = t->off + (size_t)row * t->cols;
            for (int c = 0; c < t->cols; c++)
                r->mask[o + c] = r->pm ? r->pm[o + c] < 0.5f
                                       : fabs((w[o + c] - nmdl_q_offset(qm, k)) / step) < 0.5;
        }
    }
}

void nmdl_rate_finish(const nmdl_rate *r, float *w)
{
    const nmdl_qmodel *qm = r->qm;
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        for (size_t i = t->off; i < t->off + (size_t)t->rows * t->cols; i++)
            if (r->mask[i])
                w[i] = nmdl_q_offset(qm, k);
    }
}

/* The noise stage: out = w + Δ u with fresh u (kept in r->u); the
 * rounding stage: out = the rounded w. */
static void project(void *user, const float *w, float *out)
{
    nmdl_rate *r = user;
    nmdl_qmodel *qm = r->qm;
    if (!noise_stage(r)) {
        if (r->t == r->to - r->from)
            freeze(r, w);
        nmdl_q_quantize(qm, w);
        for (size_t i = 0; i < qm->lay.n_params; i++)
            if (r->mask[i])
                qm->q[i] = 0;
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

#define PMMP_LR_P 1e-3   /* keep-probabilities, per bit of gradient */
#define PMMP_LR_V 1e-2   /* shadow weights, steps per bit */
#define PMMP_LR_U 0.1    /* multipliers, bits per step^2 per step^2 of violation */

/* PMMP for weight i at x steps: updates p and v, returns the pull on x
 * (bits per step), adds the violation to *viol. */
static double pmmp(nmdl_rate *r, size_t i, double x, double u, double nz, double *viol)
{
    const size_t d = r->qm->lay.n_params;
    float *p = &r->pm[i], *v = &r->pm[d + i];
    const double e = x - (double)*v * *p, pv = (double)*p * (1 - *p);
    *viol += e * e + (double)*v * *v * pv;
    const double gv = -2 * u * e * *p + 2 * u * *v * pv;
    const double gp = -2 * u * e * *v + u * (double)*v * *v * (1 - 2.0 * *p) + nz;
    *v -= (float)(PMMP_LR_V * gv);
    *p = (float)fmin(fmax(*p - PMMP_LR_P * gp, 0.0), 1.0);
    return 2 * u * e;
}

/* The pull towards cheap levels on a weight x steps from its offset, in
 * bits per step, given the cost table's slope there. */
static double pull(const nmdl_rate *r, int kind, double x, double slope)
{
    const double sg = x < 0 ? -1.0 : 1.0, nz = r->nz_bits[kind];
    switch (r->p.penalty) {
    case NMDL_RATE_PEN_DRR: return sg * nz * exp(-fabs(x));
    case NMDL_RATE_PEN_RL1: return sg * nz;
    default: return sg * slope;
    }
}

/* The cost table's slope at |x| steps: the rate of moving one step out,
 * never negative (a table that is not monotone, as for weights that sit
 * away from zero, must not push weights outwards). */
static double table_slope(const nmdl_rate *r, int kind, double a)
{
    const long j = (long)a < NMDL_RATE_LEVELS - 1 ? (long)a : NMDL_RATE_LEVELS - 2;
    return fmax(0.0, cost_of(r, kind, j + 1) - cost_of(r, kind, j));
}

/* Adds the penalty's gradient to grads and, in the noise stage, learns the
 * base steps from the loss and the table's rate: d/ds of the loss is
 * sum g Δ u (the noise scales with the step), d/ds of R is -sum R'(x) x.
 * In the rounding stage RL1 and PMMP drop their penalty, and frozen zeros
 * get no gradient. */
static void penalize(void *user, const float *w, float *grads, long step,
                     long total)
{
    nmdl_rate *r = user;
    nmdl_qmodel *qm = r->qm;
    (void)step, (void)total;
    if (r->t % RATE_REFRESH == 0)
        refresh(r, w);
    const int noise = noise_stage(r), pm = r->p.penalty == NMDL_RATE_PEN_PMMP;
    const int penal = noise || r->p.penalty == NMDL_RATE_PEN_RATE ||
                      r->p.penalty == NMDL_RATE_PEN_DRR;
    const double P = nmdl_budget_priced(r->p.priced, r->p.n);
    const double scale = r->p.weight * log(2.0) / P; /* nats/token per bit */
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        const int kind = nmdl_q_kind(t);
        const float mean = nmdl_q_offset(qm, k);
        double g_loss = 0, g_rate = 0, viol = 0;
        for (int row = 0; row < t->rows; row++) {
            if (nmdl_tf_absent_row(&qm->cfg, t, row))
                continue; /* uncoded */
            const float step = nmdl_q_step(qm, k, (size_t)row);
            const size_t o = t->off + (size_t)row * t->cols;
            for (int c = 0; c < t->cols; c++) {
                const size_t i = o + c;
                const double x = (w[i] - mean) / step, slope = table_slope(r, kind, fabs(x));
                if (r->mask[i]) {
                    grads[i] = 0.0f;
                    continue;
                }
                if (noise)
                    g_loss += (double)grads[i] * step * r->u[i];
                g_rate -= slope * fabs(x);
                if (!penal)
                    continue;
                double b = pm ? pmmp(r, i, x, r->mult[k], r->nz_bits[kind], &viol)
                              : pull(r, kind, x, slope);
                grads[i] += (float)(scale * b / step);
            }
        }
        if (noise)
            learn_step(r, k, g_loss + scale * g_rate);
        if (noise && pm)
            r->mult[k] += PMMP_LR_U * viol / ((double)t->rows * t->cols);
    }
    r->t++;
}

void nmdl_rate_hook(nmdl_rate *r, long total, long steps, nmdl_train_hook *h)
{
    steps = steps < total ? steps : total;
    r->from = total - steps;
    r->to = r->from + (long)((1.0 - r->p.round_share) * (double)steps);
    *h = (nmdl_train_hook){r->from, begin, project, penalize, r, NULL, NULL};
}

static void round_project(void *user, const float *w, float *out)
{
    nmdl_qmodel *qm = user;
    nmdl_q_quantize(qm, w);
    nmdl_q_dequantize(qm, out);
}

void nmdl_rate_round_hook(nmdl_qmodel *qm, nmdl_train_hook *h)
{
    *h = (nmdl_train_hook){0, NULL, round_project, NULL, qm, NULL, NULL};
}
