/*
 * vol.c: how many bits a Gaussian posterior over the weights needs, the
 * first measurement of issue 17 (the volume code). From a trained
 * checkpoint, every matrix weight w gets a posterior q = N(mu, sigma^2)
 * (mu from the checkpoint, sigma from `sig0` times the tensor's RMS) and
 * each matrix (or with rowprior=1 each of its rows) a prior p = N(0, s^2)
 * whose s^2 = mean(mu^2 + sigma^2) over it is the KL-optimal scale; a row
 * prior's scale is counted as ROW_SCALE_BITS more per row. Training then
 * minimizes
 *
 *   J = (n - 1) E_q[loss] + beta KL(q || p)     nats,
 *
 * by the reparameterization w = mu + sigma e (one e per step), with beta
 * annealed linearly from `beta0` to 1 over the first half of the steps.
 * Vectors (LayerNorm gains and biases) stay point estimates (1% of the
 * weights). A relative-entropy code sends a draw of q in about KL bits
 * (MIRACLE), so the estimated description length is
 *
 *   DL = KL / ln 2 + (n - 1) E_q[loss] / ln 2 (+ the row scales)   bits,
 *
 * to compare with bench_rate's estimates on the same checkpoint and sample.
 * usage: bench_vol CHECKPOINT CORPUS STEPS [key=value...]
 *   keys: lr (means, default 5e-4), slr (log-scales, Adam, default 0.02),
 *   sig0 (initial sigma in RMS units, default 0.01), beta0 (default 0.01),
 *   draws (samples of E_q on the fixed sample, default 4), rowprior (1: a
 *   prior scale per row, default 0: per matrix)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/rng.h"
#include "model/train.h"
#include "nmdl.h"

#include "benchio.h"

#define ROW_SCALE_BITS 16 /* a row prior's scale, sent beside the code */

typedef struct vol {
    const nmdl_tf_layout *lay;
    size_t d;           /* parameters */
    float *rho;         /* (d) log sigma; NAN for vector weights */
    float *eps;         /* (d) this step's noise */
    double *m1, *m2;    /* (d) Adam moments of rho */
    double *s2;         /* (d) each weight's prior variance */
    double n, slr, beta0;
    int rowprior;       /* a prior per row, else per matrix */
    long t;
    nmdl_rng rng;
} vol;

/* The prior variance of weights [a, b): mean(mu^2 + sigma^2) over them. */
static void set_group(vol *v, const float *mu, size_t a, size_t b)
{
    double acc = 0;
    for (size_t i = a; i < b; i++)
        acc += (double)mu[i] * mu[i] + exp(2.0 * v->rho[i]);
    for (size_t i = a; i < b; i++)
        v->s2[i] = acc / (double)(b - a);
}

/* Each matrix's (or row's) prior variance from the posterior. */
static void set_priors(vol *v, const float *mu)
{
    for (int k = 0; k < v->lay->n_tensors; k++) {
        const nmdl_tf_tensor *t = &v->lay->tensor[k];
        const size_t size = (size_t)t->rows * t->cols, g = v->rowprior ? (size_t)t->cols : size;
        for (size_t a = t->off; t->rows > 1 && a < t->off + size; a += g)
            set_group(v, mu, a, a + g);
    }
}

/* KL(q || p) in nats over every matrix weight. */
static double kl_nats(const vol *v, const float *mu)
{
    double kl = 0;
    for (int k = 0; k < v->lay->n_tensors; k++) {
        const nmdl_tf_tensor *t = &v->lay->tensor[k];
        for (size_t i = t->off; t->rows > 1 && i < t->off + (size_t)t->rows * t->cols; i++) {
            const double s2q = exp(2.0 * v->rho[i]);
            kl += 0.5 * (log(v->s2[i] / s2q) + (s2q + (double)mu[i] * mu[i]) / v->s2[i] - 1.0);
        }
    }
    return kl;
}

/* w = mu + sigma e with a fresh e (e kept for the gradient). */
static void draw(void *user, const float *mu, float *out)
{
    vol *v = user;
    for (size_t i = 0; i < v->d; i++) {
        v->eps[i] = isnan(v->rho[i]) ? 0.0f : (float)nmdl_rng_normal(&v->rng);
        out[i] = isnan(v->rho[i]) ? mu[i] : mu[i] + expf(v->rho[i]) * v->eps[i];
    }
}

/* grads (nats per token, at the draw) gain beta KL'/(n - 1) for the
 * means; the log-scales take an Adam step on the same objective. */
static void penalize(void *user, const float *mu, float *grads, long step, long total)
{
    vol *v = user;
    const double beta = fmin(1.0, v->beta0 + (1.0 - v->beta0) * (double)step / (0.5 * total));
    const double w = beta / (v->n - 1), b1 = 0.9, b2 = 0.999;
    v->t++;
    set_priors(v, mu);
    for (int k = 0; k < v->lay->n_tensors; k++) {
        const nmdl_tf_tensor *t = &v->lay->tensor[k];
        for (size_t i = t->off; t->rows > 1 && i < t->off + (size_t)t->rows * t->cols; i++) {
            const double s2q = exp(2.0 * v->rho[i]);
            const double g = (double)grads[i] * v->eps[i] * sqrt(s2q) + w * (s2q / v->s2[i] - 1.0);
            grads[i] += (float)(w * mu[i] / v->s2[i]);
            v->m1[i] = b1 * v->m1[i] + (1 - b1) * g;
            v->m2[i] = b2 * v->m2[i] + (1 - b2) * g * g;
            const double mh = v->m1[i] / (1 - pow(b1, (double)v->t)),
                         vh = v->m2[i] / (1 - pow(b2, (double)v->t));
            v->rho[i] -= (float)(v->slr * mh / (sqrt(vh) + 1e-12));
        }
    }
}

/* The sample loss (nats/byte) at the means, and averaged over `draws`
 * draws of the posterior. */
static void losses(vol *v, nmdl_model *m, const nmdl_train_sample *s, int draws,
                   double *at_mu, double *eq)
{
    float *mu = malloc(v->d * sizeof(float));
    memcpy(mu, m->params, v->d * sizeof(float));
    nmdl_train_sample_loss(m, s, NULL, at_mu);
    *eq = 0;
    for (int i = 0; i < draws; i++) {
        double l;
        draw(v, mu, m->params);
        nmdl_train_sample_loss(m, s, NULL, &l);
        *eq += l / draws;
    }
    memcpy(m->params, mu, v->d * sizeof(float));
    free(mu);
}

int main(int argc, char **argv)
{
    uint8_t *ck, *data;
    size_t ck_len, n;
    nmdl_model *m;
    if (argc < 4 || bench_read_file(argv[1], &ck, &ck_len) || bench_read_file(argv[2], &data, &n) ||
        nmdl_model_load(ck, ck_len, &m)) {
        fprintf(stderr, "usage: bench_vol CHECKPOINT CORPUS STEPS [key=value...]\n");
        return 2;
    }
    const size_t d = m->lay.n_params;
    vol v = {&m->lay, d, malloc(d * sizeof(float)), malloc(d * sizeof(float)),
             calloc(d, sizeof(double)), calloc(d, sizeof(double)),
             calloc(d, sizeof(double)), (double)n, bench_opt(argc, argv, "slr", 0.02),
             bench_opt(argc, argv, "beta0", 0.01), (int)bench_opt(argc, argv, "rowprior", 0), 0,
             {{0}}};
    nmdl_rng_seed(&v.rng, 1, 17);
    const double sig0 = bench_opt(argc, argv, "sig0", 0.01);
    for (int k = 0; k < m->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &m->lay.tensor[k];
        const size_t size = (size_t)t->rows * t->cols;
        double ms = 0;
        for (size_t i = t->off; i < t->off + size; i++)
            ms += (double)m->params[i] * m->params[i] / (double)size;
        for (size_t i = t->off; i < t->off + size; i++)
            v.rho[i] = t->rows > 1 ? (float)log(sig0 * sqrt(ms) + 1e-12) : NAN;
    }
    nmdl_train_sample s;
    nmdl_train_params tp;
    nmdl_train_params_default(&tp);
    tp.steps = atol(argv[3]);
    tp.batch = 16;
    tp.lr = bench_opt(argc, argv, "lr", 5e-4);
    tp.warmup = 0.05;
    tp.weight_decay = 0;
    tp.threads = 1;
    if (nmdl_train_sample_make(&s, data, n, m->cfg.ctx))
        return 1;
    double at_mu, eq;
    nmdl_train_sample_loss(m, &s, NULL, &at_mu);
    printf("%s on %s: %zu parameters, float sample loss %.4f bits/byte\n", argv[1], argv[2], d,
           at_mu / log(2.0));
    nmdl_train_hook hook = {0, NULL, draw, penalize, &v, NULL, NULL};
    nmdl_train_report tr;
    if (nmdl_train_run(m, data, n, &tp, &hook, NULL, &tr))
        return 1;
    set_priors(&v, m->params);
    double scales = 0; /* bits of the row priors' scales */
    for (int k = 0; v.rowprior && k < m->lay.n_tensors; k++)
        scales += m->lay.tensor[k].rows > 1 ? ROW_SCALE_BITS * m->lay.tensor[k].rows : 0;
    const double kl = kl_nats(&v, m->params) / log(2.0) + scales;
    losses(&v, m, &s, (int)bench_opt(argc, argv, "draws", 4), &at_mu, &eq);
    size_t matrix = 0;
    for (size_t i = 0; i < d; i++)
        matrix += !isnan(v.rho[i]);
    printf("%ld steps: KL %.0f bits (%.3f bits per matrix weight, with %.0f of row scales), "
           "sample loss at the means "
           "%.4f, under q %.4f bits/byte; est. DL %.0f bytes (KL + (n-1) E_q loss)\n",
           tr.steps, kl, kl / (double)matrix, scales, at_mu / log(2.0), eq / log(2.0),
           (kl + (double)(n - 1) * eq / log(2.0)) / 8);
    nmdl_train_sample_free(&s);
    nmdl_model_free(m);
    free(v.rho), free(v.eps), free(v.m1), free(v.m2), free(v.s2);
    free(ck), free(data);
    return 0;
}
