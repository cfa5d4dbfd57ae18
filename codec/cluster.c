/*
 * cluster.c: see cluster.h.
 */
#include "cluster.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"

#define LLOYD_STEPS 100 /* k-means iterations of a fit (cheap: sorted data) */

const int nmdl_cluster_ks[NMDL_CLUSTER_NK] = {3, 5, 9, 17, 33};

void nmdl_cluster_params_default(nmdl_cluster_params *p, nmdl_model *m, const uint8_t *data,
                                 size_t n)
{
    memset(p, 0, sizeof *p);
    p->n = (double)n;
    p->model = m;
    p->data = data;
    p->per_row = 1;
    p->vec_delta = 0.25;
    p->refresh = -1;
}

int nmdl_cluster_init(nmdl_cluster *c, nmdl_qmodel *qm, const nmdl_cluster_params *p)
{
    memset(c, 0, sizeof *c);
    if (!(p->n > 1) || p->k == 1 || p->k < 0 || (p->k == 0 && (!p->model || !p->data)) ||
        !(p->vec_delta > 0 && p->vec_delta <= 1) || p->refresh < -1 || !(p->mu >= 0))
        return NMDL_ERR_ARG;
    c->p = *p;
    c->qm = qm;
    c->kmax = p->k ? p->k : nmdl_cluster_ks[NMDL_CLUSTER_NK - 1];
    c->bits = calloc((size_t)qm->lay.n_tensors * c->kmax, sizeof(float));
    c->acc = calloc(2 * (size_t)c->kmax, sizeof(double));
    c->mu = calloc((size_t)qm->lay.n_tensors, sizeof(double));
    if (!c->bits || !c->acc || !c->mu) {
        nmdl_cluster_free(c);
        return NMDL_ERR_NOMEM;
    }
    return NMDL_OK;
}

void nmdl_cluster_free(nmdl_cluster *c)
{
    free(c->bits);
    free(c->acc);
    free(c->mu);
    memset(c, 0, sizeof *c);
}

/* Keeps b's centroids strictly increasing and within the format's range
 * around the pinned zero. */
static void keep_order(nmdl_q_codebook *b)
{
    b->c[b->z] = 0.0f;
    for (int j = b->z + 1; j < b->k; j++)
        b->c[j] = fminf(fmaxf(b->c[j], nextafterf(b->c[j - 1], INFINITY)), NMDL_Q_MAX_LEVEL);
    for (int j = b->z - 1; j >= 0; j--)
        b->c[j] = fmaxf(fminf(b->c[j], nextafterf(b->c[j + 1], -INFINITY)), -NMDL_Q_MAX_LEVEL);
}

/* Tensor k's weights in units of their rows' steps, into x (its size). */
static void normalize(const nmdl_qmodel *qm, int k, const float *w, double *x)
{
    const nmdl_tf_tensor *t = &qm->lay.tensor[k];
    for (int row = 0; row < t->rows; row++) {
        const float step = nmdl_q_step(qm, k, (size_t)row);
        const size_t o = (size_t)row * t->cols;
        for (int col = 0; col < t->cols; col++)
            x[o + col] = (double)w[t->off + o + col] / step;
    }
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Index of the first of xs (n, sorted) above v. */
static size_t upper_bound(const double *xs, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (xs[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* What each centroid of tensor k costs (-log2 of its share of the
 * weights, half a count added to each), from counts. */
static void set_bits(nmdl_cluster *c, int k, const double *count, size_t n)
{
    const nmdl_q_codebook *b = &c->qm->cb[k];
    float *bits = c->bits + (size_t)k * c->kmax;
    for (int j = 0; j < b->k; j++)
        bits[j] = (float)-log2((count[j] + 0.5) / ((double)n + 0.5 * b->k));
}

/* The weights x in steps that the assignment gives centroid j: (lo, hi],
 * where its cost (x - c_j)^2 + mu bits_j crosses that of a centroid
 * below (lo) and above (hi); ties go to the lower centroid. With mu 0
 * the bounds are the midpoints to its neighbours. */
static void span(const nmdl_q_codebook *b, const float *bits, double mu, int j,
                 double *lo, double *hi)
{
    const double cj = b->c[j];
    *lo = -INFINITY, *hi = INFINITY;
    for (int i = 0; i < b->k; i++) {
        const double ci = b->c[i];
        if (i == j)
            continue;
        double x = (cj * cj - ci * ci + mu * ((double)bits[j] - bits[i])) / (2 * (cj - ci));
        if (i < j)
            *lo = fmax(*lo, x);
        else
            *hi = fmin(*hi, x);
    }
}

/* Entropy-constrained Lloyd on tensor k's weights xs (n, in steps,
 * sorted; ps their n + 1 prefix sums) from an even grid over the largest
 * |x|, so that no weight is clipped: each step assigns (a centroid's
 * weights are one run of xs), moves each centroid but the zero to the
 * mean of its weights and sets the costs from the counts. */
static void lloyd(nmdl_cluster *c, int k, const double *xs, const double *ps, size_t n)
{
    nmdl_q_codebook *b = &c->qm->cb[k];
    float *bits = c->bits + (size_t)k * c->kmax;
    double *count = c->acc, top = fmax(fabs(xs[0]), fabs(xs[n - 1]));
    const int side = b->z > b->k - 1 - b->z ? b->z : b->k - 1 - b->z;
    const double grid = (top > 0 ? top : 1.0) / side;
    c->mu[k] = c->p.mu * grid * grid;
    for (int j = 0; j < b->k; j++) {
        b->c[j] = (float)(grid * (j - b->z));
        bits[j] = 0.0f;
    }
    keep_order(b);
    for (int it = 0; it < LLOYD_STEPS; it++) {
        for (int j = 0; j < b->k; j++) {
            double lo, hi;
            span(b, bits, c->mu[k], j, &lo, &hi);
            size_t a = upper_bound(xs, n, lo), e = hi > lo ? upper_bound(xs, n, hi) : a;
            count[j] = (double)(e - a);
            if (j != b->z && e > a) /* an empty centroid stays */
                b->c[j] = (float)((ps[e] - ps[a]) / (double)(e - a));
        }
        keep_order(b);
        set_bits(c, k, count, n);
    }
}

int nmdl_cluster_fit(nmdl_cluster *c, const float *w, int k)
{
    nmdl_qmodel *qm = c->qm;
    size_t most = 0;
    for (int i = 0; i < qm->lay.n_tensors; i++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[i];
        most = (size_t)t->rows * t->cols > most ? (size_t)t->rows * t->cols : most;
    }
    if (k < 2 || k > c->kmax)
        return NMDL_ERR_ARG;
    nmdl_q_set_steps(qm, w, 1.0, c->p.per_row, NULL);
    double *xs = malloc(most * sizeof(double)), *ps = malloc((most + 1) * sizeof(double));
    int rc = xs && ps ? nmdl_q_codebooks(qm, k) : NMDL_ERR_NOMEM;
    for (int i = 0; !rc && i < qm->lay.n_tensors; i++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[i];
        const size_t n = (size_t)t->rows * t->cols;
        if (!qm->cb[i].k) { /* a vector: uniform levels, fine */
            qm->base[i] *= (float)c->p.vec_delta;
            continue;
        }
        normalize(qm, i, w, xs);
        qsort(xs, n, sizeof *xs, by_value);
        ps[0] = 0;
        for (size_t j = 0; j < n; j++)
            ps[j + 1] = ps[j] + xs[j];
        lloyd(c, i, xs, ps, n);
    }
    c->k = rc ? 0 : k;
    free(xs);
    free(ps);
    return rc;
}

/* The centroid of b for x (in steps) under the entropy constraint mu,
 * with bits the centroids' costs. */
static int constrained(const nmdl_q_codebook *b, const float *bits, double mu, double x)
{
    int best = 0;
    double best_cost = INFINITY;
    for (int j = 0; j < b->k; j++) {
        double d = x - b->c[j], cost = d * d + mu * bits[j];
        if (cost < best_cost)
            best = j, best_cost = cost;
    }
    return best;
}

void nmdl_cluster_assign(nmdl_cluster *c, const float *w)
{
    nmdl_qmodel *qm = c->qm;
    nmdl_q_quantize(qm, w); /* the nearest centroid; vectors rounded */
    for (int k = 0; c->p.mu > 0 && k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        const nmdl_q_codebook *b = &qm->cb[k];
        const float *bits = c->bits + (size_t)k * c->kmax;
        for (int row = 0; b->k && row < t->rows; row++) {
            const float step = nmdl_q_step(qm, k, (size_t)row);
            const size_t o = t->off + (size_t)row * t->cols;
            for (int col = 0; col < t->cols; col++)
                qm->q[o + col] = constrained(b, bits, c->mu[k], (double)w[o + col] / step) - b->z;
        }
    }
}

/* One k-means step on w: each centroid but the zero moves to the mean of
 * the weights assigned to it (an empty one stays), and the centroids'
 * costs follow the new counts. */
static void kmeans_step(nmdl_cluster *c, const float *w)
{
    nmdl_qmodel *qm = c->qm;
    nmdl_cluster_assign(c, w);
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        nmdl_q_codebook *b = &qm->cb[k];
        double *sum = c->acc, *count = c->acc + c->kmax;
        if (!b->k)
            continue;
        memset(c->acc, 0, 2 * (size_t)c->kmax * sizeof(double));
        for (int row = 0; row < t->rows; row++) {
            const float step = nmdl_q_step(qm, k, (size_t)row);
            const size_t o = t->off + (size_t)row * t->cols;
            for (int col = 0; col < t->cols; col++) {
                const int j = b->z + qm->q[o + col];
                sum[j] += (double)w[o + col] / step;
                count[j] += 1;
            }
        }
        for (int j = 0; j < b->k; j++)
            if (j != b->z && count[j] > 0)
                b->c[j] = (float)(sum[j] / count[j]);
        keep_order(b);
        set_bits(c, k, count, (size_t)t->rows * t->cols);
    }
}

/* The estimated DL of c's current codebooks on the model (whose weights
 * are w) and the sample: recorded as the next candidate, into *dl (bits).
 * Leaves the weights w in the model. */
static int measure(nmdl_cluster *c, nmdl_model *m, const float *w,
                   const nmdl_train_sample *s, double *dl)
{
    uint8_t *buf;
    size_t len;
    double nats = NAN;
    nmdl_cluster_assign(c, w);
    int rc = nmdl_q_encode(c->qm, &buf, &len);
    if (rc)
        return rc;
    free(buf);
    nmdl_q_dequantize(c->qm, m->params);
    rc = nmdl_train_sample_loss(m, s, NULL, &nats);
    memcpy(m->params, w, m->lay.n_params * sizeof(float));
    if (rc)
        return rc;
    const int i = c->n_cand++;
    c->cand_k[i] = c->k;
    c->cand_model_bits[i] = 8.0 * (double)len;
    c->cand_loss_bpb[i] = nats / log(2.0);
    const double P = nmdl_budget_priced(c->p.priced, c->p.n);
    c->cand_dl_bits[i] = *dl = 8.0 * (double)len + P * nats / log(2.0);
    if (!isfinite(*dl))
        *dl = INFINITY;
    return NMDL_OK;
}

/* K by the estimated DL of each candidate's plain clustering of w. */
static int choose(nmdl_cluster *c, const float *w, int *best)
{
    nmdl_model *m = c->p.model;
    nmdl_train_sample s = {0};
    const size_t bytes = m->lay.n_params * sizeof(float);
    float *w0 = malloc(bytes); /* w may be the model's own weights */
    int rc = w0 ? nmdl_train_sample_make(&s, c->p.data, (size_t)c->p.n, m->cfg.ctx, c->p.cheap,
                                         c->p.cheap_weight)
                : NMDL_ERR_NOMEM;
    double best_dl = INFINITY, dl;
    *best = nmdl_cluster_ks[0];
    c->n_cand = 0;
    if (!rc)
        memcpy(w0, w, bytes);
    for (int i = 0; !rc && i < NMDL_CLUSTER_NK; i++) {
        const int k = nmdl_cluster_ks[i];
        if (!(rc = nmdl_cluster_fit(c, w0, k)) && !(rc = measure(c, m, w0, &s, &dl)) &&
            dl < best_dl)
            *best = k, best_dl = dl;
    }
    nmdl_train_sample_free(&s);
    free(w0);
    return rc;
}

int nmdl_cluster_start(nmdl_cluster *c, const float *w)
{
    int k = c->p.k, rc = k ? NMDL_OK : choose(c, w, &k);
    c->t = 0;
    return rc ? rc : nmdl_cluster_fit(c, w, k);
}

static int begin(void *user, const float *w)
{
    return nmdl_cluster_start(user, w);
}

/* The passes see every weight at its centroid. */
static void project(void *user, const float *w, float *out)
{
    nmdl_cluster *c = user;
    nmdl_cluster_assign(c, w);
    nmdl_q_dequantize(c->qm, out);
}

/* The gradients pass straight through; every `refresh` steps the
 * centroids follow the weights. */
static void penalize(void *user, const float *w, float *grads, long step, long total)
{
    nmdl_cluster *c = user;
    (void)grads, (void)step, (void)total;
    if (c->p.refresh && ++c->t % c->p.refresh == 0)
        kmeans_step(c, w);
}

void nmdl_cluster_hook(nmdl_cluster *c, long total, long steps, nmdl_train_hook *h)
{
    steps = steps < total ? steps : total;
    if (c->p.refresh < 0) /* 256 KB, 500 steps: every 200 wrote 99,232 bytes,
                             every 50 106,305, never 102,153 (BENCHMARKS) */
        c->p.refresh = steps * 2 / 5 > 0 ? (int)(steps * 2 / 5) : 1;
    *h = (nmdl_train_hook){total - steps, begin, project, penalize, c, NULL, NULL};
}
