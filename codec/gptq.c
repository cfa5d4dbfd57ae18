/*
 * gptq.c: see gptq.h.
 */
#include "gptq.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../model/transformer.h"

#define GPTQ_BATCH 16   /* windows per forward pass */
#define GPTQ_DAMP 0.01  /* H += damp x mean(diag H) I */

/* H (cols, cols) += Xᵀ X for X (N, cols). */
static void gram_add(float *h, const float *x, int N, int cols)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols, cols, N, 1.0f, x, cols, x,
                cols, 1.0f, h, cols);
}

/* The input each matrix saw in the last forward pass, into g. */
static void grams_add(nmdl_model *m, nmdl_gptq *g, int N)
{
    const nmdl_tf_acts *a = &m->a;
    const int C = m->cfg.d_model, F = m->cfg.d_ff;
    for (int k = 0; k < m->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &m->lay.tensor[k];
        for (int l = 0; l < m->cfg.n_layer; l++) {
            const nmdl_tf_block *b = &m->lay.block[l];
            if (t->off == b->wqkv)
                gram_add(g->h[k], a->ln1[l], N, C);
            else if (t->off == b->wo)
                gram_add(g->h[k], a->atty[l], N, C);
            else if (t->off == b->w1)
                gram_add(g->h[k], a->ln2[l], N, C);
            else if (t->off == b->w2)
                gram_add(g->h[k], a->fcg[l], N, F);
        }
        if (t->off == m->lay.wout)
            gram_add(g->h[k], a->lnf, N, C);
    }
}

/* g += the Gram matrices over the windows of s. */
static int grams_over(nmdl_model *m, const nmdl_train_sample *s, nmdl_gptq *g)
{
    const int B0 = s->k < GPTQ_BATCH ? s->k : GPTQ_BATCH;
    int rc = nmdl_tf_reserve(m, B0, s->T);
    for (int w0 = 0; !rc && w0 < s->k; w0 += B0) {
        const int B = s->k - w0 < B0 ? s->k - w0 : B0;
        const size_t at = (size_t)w0 * s->T;
        double loss;
        if (!(rc = nmdl_tf_forward(m, s->x + at, s->y + at, B, s->T, &loss)))
            grams_add(m, g, B * s->T);
    }
    return rc;
}

int nmdl_gptq_grams(nmdl_model *m, const uint8_t *data, size_t n, nmdl_gptq *g)
{
    memset(g, 0, sizeof *g);
    const size_t T = (size_t)m->cfg.ctx;
    if (n <= T + 1)
        return NMDL_ERR_ARG;
    /* the search's windows start room * i / (k - 1) apart */
    const size_t room = n - 1 - T, k = room / T + 1 < NMDL_SAMPLE_WINDOWS ? room / T + 1
                                                                         : NMDL_SAMPLE_WINDOWS;
    const size_t shift = k > 1 ? room / (k - 1) / 2 : 0;
    g->n_tensors = m->lay.n_tensors;
    for (int k = 0; k < m->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &m->lay.tensor[k];
        if (!nmdl_tf_is_matrix(t))
            continue;
        if (!(g->h[k] = calloc((size_t)t->cols * t->cols, sizeof(float)))) {
            nmdl_gptq_free(g);
            return NMDL_ERR_NOMEM;
        }
    }
    nmdl_train_sample s;
    int rc = nmdl_train_sample_make(&s, data + shift, n - shift, (int)T);
    if (!rc)
        rc = grams_over(m, &s, g);
    nmdl_train_sample_free(&s);
    if (rc)
        nmdl_gptq_free(g);
    return rc;
}

void nmdl_gptq_free(nmdl_gptq *g)
{
    for (int k = 0; k < g->n_tensors; k++)
        free(g->h[k]);
    memset(g, 0, sizeof *g);
}

/* In place: the lower Cholesky factor L of a (n, n) symmetric positive
 * definite, a = L Lᵀ (the upper triangle is left as it was). 0, or -1 when
 * a is not positive definite. */
static int cholesky(double *a, int n)
{
    for (int j = 0; j < n; j++) {
        double d = a[(size_t)j * n + j];
        for (int k = 0; k < j; k++)
            d -= a[(size_t)j * n + k] * a[(size_t)j * n + k];
        if (!(d > 0))
            return -1;
        d = sqrt(d);
        a[(size_t)j * n + j] = d;
        for (int i = j + 1; i < n; i++) {
            double v = a[(size_t)i * n + j];
            for (int k = 0; k < j; k++)
                v -= a[(size_t)i * n + k] * a[(size_t)j * n + k];
            a[(size_t)i * n + j] = v / d;
        }
    }
    return 0;
}

/* U (n, n), upper, with Uᵀ U = H⁻¹ for the damped Gram matrix h: with
 * L Lᵀ = H, H⁻¹ = L⁻ᵀ L⁻¹; U is the Cholesky factor of that, transposed.
 * Dead inputs (a zero diagonal) get a unit diagonal. 0 or -1. */
static int inverse_factor(const float *h, int n, double *u, double *tmp)
{
    double mean = 0;
    for (int i = 0; i < n; i++)
        mean += h[(size_t)i * n + i];
    mean = mean > 0 ? mean / n : 1.0;
    for (size_t i = 0; i < (size_t)n * n; i++)
        tmp[i] = h[i];
    for (int i = 0; i < n; i++)
        tmp[(size_t)i * n + i] = (tmp[(size_t)i * n + i] > 0 ? tmp[(size_t)i * n + i] : mean) +
                                 GPTQ_DAMP * mean;
    if (cholesky(tmp, n))
        return -1;
    /* u = L⁻¹ (lower), column by column by forward substitution */
    memset(u, 0, (size_t)n * n * sizeof *u);
    for (int c = 0; c < n; c++)
        for (int i = c; i < n; i++) {
            double v = i == c ? 1.0 : 0.0;
            for (int k = c; k < i; k++)
                v -= tmp[(size_t)i * n + k] * u[(size_t)k * n + c];
            u[(size_t)i * n + c] = v / tmp[(size_t)i * n + i];
        }
    /* tmp = H⁻¹ = L⁻ᵀ L⁻¹ */
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double v = 0;
            for (int k = i; k < n; k++)
                v += u[(size_t)k * n + i] * u[(size_t)k * n + j];
            tmp[(size_t)i * n + j] = tmp[(size_t)j * n + i] = v;
        }
    if (cholesky(tmp, n))
        return -1;
    for (int i = 0; i < n; i++) /* U = (the lower factor)ᵀ */
        for (int j = 0; j < n; j++)
            u[(size_t)i * n + j] = j >= i ? tmp[(size_t)j * n + i] : 0.0;
    return 0;
}

/* Rounds the rows of tensor k (uniform levels) column by column with error
 * feedback through u; w (cols) is scratch. */
static void round_tensor(nmdl_qmodel *qm, int k, const float *params, const double *u,
                         double *w, float *latent)
{
    const nmdl_tf_tensor *t = &qm->lay.tensor[k];
    const int n = t->cols;
    for (int r = 0; r < t->rows; r++) {
        const size_t o = t->off + (size_t)r * n;
        const double step = nmdl_q_step(qm, k, (size_t)r);
        for (int c = 0; c < n; c++)
            w[c] = params[o + c];
        for (int j = 0; j < n; j++) {
            double x = fmin(fmax(w[j] / step, -NMDL_Q_MAX_LEVEL), NMDL_Q_MAX_LEVEL);
            long q = lround(x);
            qm->q[o + j] = (int32_t)q;
            if (latent)
                latent[o + j] = (float)w[j];
            const double e = (w[j] - (double)q * step) / u[(size_t)j * n + j];
            for (int c = j + 1; c < n; c++)
                w[c] -= e * u[(size_t)j * n + c];
        }
    }
}

int nmdl_gptq_quantize(const nmdl_gptq *g, nmdl_qmodel *qm, const float *params,
                       float *latent)
{
    nmdl_q_quantize(qm, params);
    if (latent)
        memcpy(latent, params, qm->lay.n_params * sizeof(float));
    int most = 0;
    for (int k = 0; k < qm->lay.n_tensors; k++)
        most = qm->lay.tensor[k].cols > most ? qm->lay.tensor[k].cols : most;
    double *u = malloc(2 * (size_t)most * most * sizeof *u + (size_t)most * sizeof *u);
    if (!u)
        return NMDL_ERR_NOMEM;
    double *tmp = u + (size_t)most * most, *w = tmp + (size_t)most * most;
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const int n = qm->lay.tensor[k].cols;
        if (k >= g->n_tensors || !g->h[k] || (qm->cb && qm->cb[k].k) ||
            inverse_factor(g->h[k], n, u, tmp))
            continue; /* nearest levels stay */
        round_tensor(qm, k, params, u, w, latent);
    }
    free(u);
    return NMDL_OK;
}
