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
 * annealed linearly from `beta0` to `beta1` (default 1, the description
 * length; larger values trace the posterior's rate against its loss) over
 * the first half of the steps.
 * Vectors (LayerNorm gains and biases) stay point estimates (1% of the
 * weights). A relative-entropy code sends a draw of q in about KL bits
 * (MIRACLE), so the estimated description length is
 *
 *   DL = KL / ln 2 + (n - 1) E_q[loss] / ln 2 (+ the row scales)   bits,
 *
 * to compare with bench_rate's estimates on the same checkpoint and sample.
 *
 * With llc=L (and eps=E, default L/(n - 1) nats a byte, the MDL-optimal
 * tolerance) the posterior is held to the volume code's budget instead:
 * its KL may spend only L log2(1/E) bits, what b*(E) spends over the whole
 * model. beta is then no longer annealed: from 1, it moves by a factor
 * 1 + kr a step towards the KL that spends the budget, and the bench
 * prints the loss rise under q against E (issue 17's `--budget bstar`
 * question: the theory says the rise is about E).
 *
 * With code=C it then sends the posterior as MIRACLE would and measures
 * what that costs. After training each matrix's weights are put in a
 * seeded random order and cut into the number of blocks whose mean KL is
 * C - margin bits (block b of nb holds [b size / nb, (b + 1) size / nb)
 * of the order, so one count per matrix says the layout). With eb > 0 the
 * layout is made halfway through training instead (where beta reaches 1),
 * and each block's beta then moves by a factor 1 + eb a step towards
 * spending exactly that KL (MIRACLE's equalizing).
 * After training, the blocks are coded in `chunks` chunks: for each block
 * 2^C candidates are drawn from the prior by a counter-based generator
 * both sides could run, and one is chosen (rule=0: at random with
 * probability proportional to q/p, MIRACLE's importance sampling; rule=1:
 * the one of highest q, the nearest to the means); its weights become the
 * candidate and are fixed, and the still-free weights train `retrain`
 * steps more before the next chunk. The code spends C bits a block, 32
 * bits a tensor (the prior's scale, the block count) and 16 bits per
 * vector weight (binary16: they stay point estimates); the realized DL is
 * those bits + (n - 1) × the coded weights' sample loss.
 * usage: bench_vol CHECKPOINT CORPUS STEPS [key=value...]
 *   keys: lr (means, default 5e-4), slr (log-scales, Adam, default 0.02),
 *   sig0 (initial sigma in RMS units, default 0.01), beta0 (default 0.01),
 *   beta1 (default 1),
 *   draws (samples of E_q on the fixed sample, default 4), rowprior (1: a
 *   prior scale per row, default 0: per matrix); the block code: code (C,
 *   bits a block; default 0: none), rule (0 importance sampling, 1 highest
 *   q), margin (bits, default 0), eb (default 0), chunks (default 1),
 *   retrain (steps, default 0); the budget: llc (lambda, default 0: none),
 *   eps (nats a byte), kr (default 0.01)
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
    double n, slr, beta0, beta1;
    double budget;      /* KL budget in nats, 0: none (beta annealed to 1) */
    double kb, kr;      /* beta under a budget, its change a step */
    int rowprior;       /* a prior per row, else per matrix */
    long t;
    nmdl_rng rng;
    /* the block code (code=C) */
    int C;              /* bits a block, 0: none */
    double eb;          /* per-block beta's change a step (MIRACLE's) */
    double margin;      /* blocks are sized to a KL of C - margin bits */
    size_t *idx;        /* (d) each matrix's weights in their seeded order */
    size_t *nb;         /* (tensors) its blocks: block b holds the weights
                           [b size / nb, (b + 1) size / nb) of its order */
    size_t *blk;        /* (d) each matrix weight's block */
    double *beta, *kl;  /* (blocks) KL weights, KLs in nats */
    size_t blocks;
    int laid;           /* the layout is made */
    int fixed_any;      /* the priors are frozen once a block is coded */
    uint8_t *fixed;     /* (d) 1: coded, trained no more */
    float *coded;       /* (d) the coded weights' values */
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

/* Weight i's KL(q || p) in nats. */
static double kl_one(const vol *v, const float *mu, size_t i)
{
    const double s2q = exp(2.0 * v->rho[i]);
    return 0.5 * (log(v->s2[i] / s2q) + (s2q + (double)mu[i] * mu[i]) / v->s2[i] - 1.0);
}

/* KL(q || p) in nats over every matrix weight. */
static double kl_nats(const vol *v, const float *mu)
{
    double kl = 0;
    for (int k = 0; k < v->lay->n_tensors; k++) {
        const nmdl_tf_tensor *t = &v->lay->tensor[k];
        for (size_t i = t->off; t->rows > 1 && i < t->off + (size_t)t->rows * t->cols; i++)
            kl += kl_one(v, mu, i);
    }
    return kl;
}

/* The block layout: each matrix's weights in a seeded random order, cut
 * into the number of blocks whose mean KL is C - margin bits now. */
static void make_layout(vol *v, const float *mu)
{
    nmdl_rng order;
    nmdl_rng_seed(&order, 17, 1);
    v->blocks = 0;
    for (int k = 0; k < v->lay->n_tensors; k++) {
        const nmdl_tf_tensor *t = &v->lay->tensor[k];
        const size_t size = (size_t)t->rows * t->cols, *idx = v->idx + t->off;
        if (t->rows < 2)
            continue;
        double kl = 0;
        for (size_t i = 0; i < size; i++) {
            const size_t j = (size_t)nmdl_rng_below(&order, i + 1);
            v->idx[t->off + i] = idx[j], v->idx[t->off + j] = t->off + i; /* inside-out shuffle */
            kl += kl_one(v, mu, t->off + i);
        }
        v->nb[k] = (size_t)fmax(1.0, floor(kl / ((v->C - v->margin) * log(2.0)) + 0.5));
        for (size_t b = 0; b < v->nb[k]; b++, v->blocks++)
            for (size_t a = b * size / v->nb[k]; a < (b + 1) * size / v->nb[k]; a++)
                v->blk[idx[a]] = v->blocks;
    }
    v->laid = 1;
    v->beta = malloc(v->blocks * sizeof(double));
    v->kl = malloc(v->blocks * sizeof(double));
    for (size_t b = 0; b < v->blocks; b++)
        v->beta[b] = 1.0;
}

/* Every block's KL in nats, in v->kl. */
static void block_kls(vol *v, const float *mu)
{
    memset(v->kl, 0, v->blocks * sizeof(double));
    for (int k = 0; k < v->lay->n_tensors; k++) {
        const nmdl_tf_tensor *t = &v->lay->tensor[k];
        for (size_t i = t->off; t->rows > 1 && i < t->off + (size_t)t->rows * t->cols; i++)
            v->kl[v->blk[i]] += kl_one(v, mu, i);
    }
}

/* Every block's KL, and its beta moved towards spending exactly C bits:
 * up by eb where the block's KL is above C, down where below. */
static void block_betas(vol *v, const float *mu)
{
    block_kls(v, mu);
    for (size_t b = 0; b < v->blocks; b++)
        v->beta[b] *= v->kl[b] > (v->C - v->margin) * log(2.0) ? 1.0 + v->eb : 1.0 / (1.0 + v->eb);
}

/* w = mu + sigma e with a fresh e (e kept for the gradient). */
static void draw(void *user, const float *mu, float *out)
{
    vol *v = user;
    for (size_t i = 0; i < v->d; i++) {
        const int point = isnan(v->rho[i]) || v->fixed[i];
        v->eps[i] = point ? 0.0f : (float)nmdl_rng_normal(&v->rng);
        out[i] = v->fixed[i] ? v->coded[i] : point ? mu[i] : mu[i] + expf(v->rho[i]) * v->eps[i];
    }
}

/* grads (nats per token, at the draw) gain beta KL'/(n - 1) for the
 * means; the log-scales take an Adam step on the same objective. */
static void penalize(void *user, const float *mu, float *grads, long step, long total)
{
    vol *v = user;
    const double b1 = 0.9, b2 = 0.999;
    v->t++;
    if (!v->fixed_any)
        set_priors(v, mu);
    if (v->budget > 0)
        v->kb *= kl_nats(v, mu) > v->budget ? 1.0 + v->kr : 1.0 / (1.0 + v->kr);
    const double ramp = fmin(1.0, (double)step / (0.5 * total)),
                 beta = v->budget > 0 ? v->kb : v->beta0 + (v->beta1 - v->beta0) * ramp;
    if (v->C > 0 && v->eb > 0 && !v->laid && 2 * step >= total)
        make_layout(v, mu);
    if (v->laid)
        block_betas(v, mu);
    for (int k = 0; k < v->lay->n_tensors; k++) {
        const nmdl_tf_tensor *t = &v->lay->tensor[k];
        for (size_t i = t->off; t->rows > 1 && i < t->off + (size_t)t->rows * t->cols; i++) {
            if (v->fixed[i]) {
                grads[i] = 0;
                continue;
            }
            const double w = (v->laid ? v->beta[v->blk[i]] : beta) / (v->n - 1);
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

/* A standard normal that depends only on `key` (splitmix64, Box-Muller):
 * candidate j of a block is the same wherever it is drawn. */
static double normal_at(uint64_t key)
{
    uint64_t u[2];
    for (int i = 0; i < 2; i++) {
        uint64_t z = (key += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        u[i] = (z ^ (z >> 31)) >> 11;
    }
    const double a = ((double)u[0] + 0.5) / 9007199254740992.0, b = (double)u[1] / 9007199254740992.0;
    return sqrt(-2.0 * log(a)) * cos(6.283185307179586 * b);
}

/* One block of weights idx[0..len) (prior variance s2): draws its 2^C
 * candidates, writes the chosen one into w and returns the block's KL in
 * nats. */
static double code_block(const vol *v, const float *mu, const size_t *idx, size_t len, double s2,
                         uint64_t block, int C, int rule, nmdl_rng *pick, float *w)
{
    const uint64_t K = 1ull << C;
    double *lw = malloc(K * sizeof(double)), *h = malloc(len * sizeof(double)), best = -INFINITY,
           kl = 0;
    uint64_t chosen = 0;
    for (size_t j = 0; j < len; j++)
        h[j] = 0.5 * exp(-2.0 * v->rho[idx[j]]); /* 1 / (2 sigma^2) */
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < (int64_t)K; k++) {
        double acc = 0;
        for (size_t j = 0; j < len; j++) {
            const double z = sqrt(s2) * normal_at(((block << 24 | (uint64_t)k) << 20) + j),
                         e = z - mu[idx[j]];
            acc += rule ? -h[j] * e * e : -h[j] * e * e + 0.5 * z * z / s2;
        }
        lw[k] = acc;
    }
    for (uint64_t k = 0; k < K; k++)
        if (lw[k] > best)
            best = lw[k], chosen = k;
    if (rule == 0) { /* sample k with probability proportional to exp(lw) */
        double total = 0;
        for (uint64_t k = 0; k < K; k++)
            total += (lw[k] = exp(lw[k] - best));
        double u = nmdl_rng_uniform(pick) * total;
        for (chosen = 0; chosen + 1 < K && (u -= lw[chosen]) > 0; chosen++)
            ;
    }
    for (size_t j = 0; j < len; j++) {
        w[idx[j]] = (float)(sqrt(s2) * normal_at(((block << 24 | chosen) << 20) + j));
        kl += kl_one(v, mu, idx[j]);
    }
    free(lw), free(h);
    return kl;
}

/* Codes blocks [b0, b1) of the layout: their weights become the chosen
 * candidates and are fixed. Adds the bits spent and the blocks' KL in
 * bits (sum, largest). */
static void code_blocks(vol *v, const float *mu, size_t b0, size_t b1, int rule, nmdl_rng *pick,
                        double *bits, double *kl_bits, double *kl_max)
{
    size_t b = 0;
    for (int k = 0; k < v->lay->n_tensors; k++) {
        const nmdl_tf_tensor *t = &v->lay->tensor[k];
        const size_t size = (size_t)t->rows * t->cols, *idx = v->idx + t->off;
        for (size_t c = 0; t->rows > 1 && c < v->nb[k]; c++, b++) {
            const size_t a = c * size / v->nb[k], l = (c + 1) * size / v->nb[k] - a;
            if (b < b0 || b >= b1)
                continue;
            const double kl = code_block(v, mu, idx + a, l, v->s2[t->off], b, v->C, rule, pick,
                                         v->coded) / log(2.0);
            *kl_bits += kl;
            *kl_max = fmax(*kl_max, kl);
            *bits += v->C;
            for (size_t j = 0; j < l; j++)
                v->fixed[idx[a + j]] = 1;
            v->fixed_any = 1;
        }
    }
}

/* The block code after training: `chunks` chunks of blocks coded in turn,
 * the free weights trained `retrain` steps more after each but the last;
 * prints what it spends and the coded weights' loss. */
static void code(vol *v, nmdl_model *m, const uint8_t *data, size_t n,
                 const nmdl_train_sample *s, nmdl_train_params *tp, const nmdl_train_hook *hook,
                 int argc, char **argv)
{
    const int rule = (int)bench_opt(argc, argv, "rule", 0),
              chunks = (int)bench_opt(argc, argv, "chunks", 1);
    const long retrain = (long)bench_opt(argc, argv, "retrain", 0);
    nmdl_rng pick;
    nmdl_rng_seed(&pick, 17, 2);
    double bits = 0, kl_sum = 0, kl_max = 0, loss;
    set_priors(v, m->params);
    if (!v->laid)
        make_layout(v, m->params);
    block_kls(v, m->params);
    double planned = 0;
    for (size_t b = 0; b < v->blocks; b++)
        planned += v->kl[b] / log(2.0);
    for (int c = 0; c < chunks; c++) {
        code_blocks(v, m->params, v->blocks * c / chunks, v->blocks * (c + 1) / chunks, rule, &pick,
                    &bits, &kl_sum, &kl_max);
        nmdl_train_report tr;
        tp->steps = retrain;
        if (c + 1 < chunks && retrain > 0 && nmdl_train_run(m, data, n, tp, hook, NULL, &tr))
            return;
    }
    size_t matrix = 0, vectors = 0;
    for (size_t i = 0; i < v->d; i++) {
        matrix += v->fixed[i], vectors += !v->fixed[i];
        if (v->fixed[i])
            m->params[i] = v->coded[i];
    }
    bits += 32.0 * m->lay.n_tensors + 16.0 * (double)vectors; /* scales, block sizes; vectors */
    nmdl_train_sample_loss(m, s, NULL, &loss);
    printf("block code, C %d, rule %s, %d chunks, %ld steps between: %zu blocks, %.0f bits "
           "(%.3f per matrix weight; %zu vectors' weights at 16 bits) for a KL of %.0f "
           "(%.0f before coding; largest block %.1f); coded weights' sample loss %.4f bits/byte; "
           "realized DL %.0f bytes\n",
           v->C, rule ? "highest q" : "importance", chunks, retrain, v->blocks, bits,
           (bits - 16.0 * (double)vectors) / (double)matrix, vectors, kl_sum, planned, kl_max,
           loss / log(2.0), (bits + (double)(n - 1) * loss / log(2.0)) / 8);
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
    vol v = {.lay = &m->lay, .d = d, .rho = malloc(d * sizeof(float)),
             .eps = malloc(d * sizeof(float)), .m1 = calloc(d, sizeof(double)),
             .m2 = calloc(d, sizeof(double)), .s2 = calloc(d, sizeof(double)), .n = (double)n,
             .slr = bench_opt(argc, argv, "slr", 0.02), .beta0 = bench_opt(argc, argv, "beta0", 0.01),
             .beta1 = bench_opt(argc, argv, "beta1", 1.0),
             .rowprior = (int)bench_opt(argc, argv, "rowprior", 0),
             .C = (int)bench_opt(argc, argv, "code", 0), .eb = bench_opt(argc, argv, "eb", 0),
             .margin = bench_opt(argc, argv, "margin", 0), .kb = 1.0,
             .kr = bench_opt(argc, argv, "kr", 0.01),
             .idx = malloc(d * sizeof(size_t)), .nb = calloc(NMDL_TF_MAX_TENSORS, sizeof(size_t)),
             .blk = malloc(d * sizeof(size_t)), .fixed = calloc(d, 1),
             .coded = malloc(d * sizeof(float))};
    if (v.C > 0 && v.rowprior) {
        fprintf(stderr, "bench_vol: code=C needs a prior per matrix (rowprior=0)\n");
        return 2;
    }
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
    if (nmdl_train_sample_make(&s, data, n, m->cfg.ctx, NULL, 0))
        return 1;
    double at_mu, eq, float_loss;
    nmdl_train_sample_loss(m, &s, NULL, &float_loss);
    printf("%s on %s: %zu parameters, float sample loss %.4f bits/byte\n", argv[1], argv[2], d,
           float_loss / log(2.0));
    const double llc = bench_opt(argc, argv, "llc", 0),
                 eps = bench_opt(argc, argv, "eps", llc / (double)(n - 1)); /* nats a byte */
    if (llc > 0)
        v.budget = llc * log(1.0 / eps); /* nats: lambda log(1/eps) */
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
    if (llc > 0)
        printf("budget: lambda %.1f, eps %.5f nats/byte, %.0f bits (%.4f per matrix weight); "
               "final beta %.3g; loss rise under q %.5f nats/byte = %.2f eps, "
               "at the means %.2f eps\n",
               llc, eps, v.budget / log(2.0), v.budget / log(2.0) / (double)matrix, v.kb,
               eq - float_loss, (eq - float_loss) / eps, (at_mu - float_loss) / eps);
    if (v.C > 0)
        code(&v, m, data, n, &s, &tp, &hook, argc, argv);
    nmdl_train_sample_free(&s);
    nmdl_model_free(m);
    free(v.rho), free(v.eps), free(v.m1), free(v.m2), free(v.s2);
    free(v.idx), free(v.nb), free(v.blk), free(v.fixed), free(v.coded), free(v.beta), free(v.kl);
    free(ck), free(data);
    return 0;
}
