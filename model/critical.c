/*
 * critical.c: compressibility as in seed 001 (nmdl_model_compressibility):
 * the smallest number of quantization levels, and the smallest fraction of
 * singular values, at which the loss rises by at most ε.
 *
 * Loss: the mean over a fixed sample of windows spread evenly over the
 * corpus (the same windows for every measurement), nats per byte, through
 * the training-path forward pass.
 *
 * Quantization: every matrix separately to n_q evenly spaced levels on
 * [-m, m] (both ends are levels), with the trimming m = κ max|w| and κ from
 * KAPPAS the one that gives the smallest loss; LayerNorm vectors stay in
 * float (under 1% of the parameters). n_q is found by bisection, the loss
 * taken to fall as n_q grows.
 *
 * Truncation: every matrix replaced by its best rank-k approximation,
 * k = ceil(f min(rows, cols)) (singular value decomposition by LAPACK's
 * sgesvd), f found by bisection over k / min(rows, cols).
 *
 * Noise: every matrix weight plus σ × its matrix's RMS × z, z standard
 * normal from a fixed seed; the loss is the mean over NOISE_DRAWS draws
 * (the same draws for every σ), and the largest σ on the grid
 * 2^(k / 8 - 12), k = 0 .. NOISE_GRID, within ε is found by bisection.
 *
 * Pruning: in every matrix the fraction p of weights smallest in magnitude
 * set to 0 (unstructured, ties broken by position), the largest p in steps
 * of 1/PRUNE_STEPS within ε found by bisection.
 *
 * Every bisection takes the loss to rise monotonically with the
 * compression; where it does not, it returns one crossing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nmdl.h"
#include "rng.h"
#include "train.h"
#include "transformer.h"

#define MAX_LEVELS 65536
#define SVD_STEPS 64 /* resolution of the fraction */
#define NOISE_DRAWS 3
#define NOISE_GRID 128   /* σ from 2^-12 to 2^4 in steps of 2^(1/8) */
#define PRUNE_STEPS 256  /* resolution of the pruned fraction */

static const double KAPPAS[] = {1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2};
#define N_KAPPAS (int)(sizeof KAPPAS / sizeof KAPPAS[0])

/* LAPACK (in OpenBLAS): column-major singular value decomposition. */
void sgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n,
             float *a, const int *lda, float *s, float *u, const int *ldu,
             float *vt, const int *ldvt, float *work, const int *lwork,
             int *info);

typedef struct crit {
    nmdl_model *m;
    float *w;              /* (d) the trained weights */
    nmdl_train_sample s;   /* the windows every loss is measured on */
    int rc;                /* the first error of a forward pass */
} crit;

/* Mean loss on the sample under the model's current weights, nats per
 * byte; NaN after an error, which c->rc keeps. */
static double sample_loss(crit *c)
{
    double nats;
    int rc = nmdl_train_sample_loss(c->m, &c->s, NULL, &nats);
    if (rc && !c->rc)
        c->rc = rc;
    return nats;
}

/* A compression's loss (nats per byte) at its integer setting k. */
typedef double (*loss_at)(crit *c, const void *arg, int k);

/* Bisection between a setting taken to pass (loss - base <= eps) and one
 * taken to fail, either side of it: the passing setting next to the
 * crossing, its loss in *at (left alone when no setting tested passes). */
static int bisect(crit *c, loss_at f, const void *arg, double base, double eps,
                  int pass, int fail, double *at)
{
    while (abs(fail - pass) > 1) {
        int mid = pass + (fail - pass) / 2;
        double l = f(c, arg, mid);
        if (l - base <= eps)
            pass = mid, *at = l;
        else
            fail = mid;
    }
    return pass;
}

static int crit_init(crit *c, nmdl_model *m, const uint8_t *data, size_t n)
{
    c->m = m;
    c->w = malloc(m->lay.n_params * sizeof(float));
    if (!c->w)
        return NMDL_ERR_NOMEM;
    memcpy(c->w, m->params, m->lay.n_params * sizeof(float));
    return nmdl_train_sample_make(&c->s, data, n, m->cfg.ctx, NULL, 0);
}

/* Sample loss (nats per byte) with every matrix on nq levels of
 * [-kappa max|w|, +kappa max|w|]. */
static double levels_loss(crit *c, int nq, double kappa)
{
    const nmdl_tf_layout *lay = &c->m->lay;
    for (int t = 0; t < lay->n_tensors; t++) {
        const nmdl_tf_tensor *ten = &lay->tensor[t];
        const size_t len = (size_t)ten->rows * ten->cols;
        const float *w = c->w + ten->off;
        float *q = c->m->params + ten->off, mx = 0;
        if (ten->rows == 1) {
            memcpy(q, w, len * sizeof(float));
            continue;
        }
        for (size_t i = 0; i < len; i++)
            mx = fabsf(w[i]) > mx ? fabsf(w[i]) : mx;
        double m = kappa * mx, step = 2 * m / (nq - 1);
        for (size_t i = 0; i < len; i++) {
            double v = fmin(fmax(w[i], -m), m);
            q[i] = step > 0 ? (float)(-m + step * round((v + m) / step)) : 0.0f;
        }
    }
    return sample_loss(c);
}

/* The best trimming for nq levels: its loss (nats per byte), and κ in
 * *kappa. */
static double best_trim(crit *c, int nq, double *kappa)
{
    double best = INFINITY;
    for (int i = 0; i < N_KAPPAS; i++) {
        double l = levels_loss(c, nq, KAPPAS[i]);
        if (l < best)
            best = l, *kappa = KAPPAS[i];
    }
    return best;
}

static double trimmed_loss(crit *c, const void *arg, int nq)
{
    (void)arg;
    double kappa;
    return best_trim(c, nq, &kappa);
}

/* Smallest nq in [2, MAX_LEVELS] with loss - base <= eps. */
static void critical_levels(crit *c, double base, double eps,
                            nmdl_compressibility *out)
{
    double kappa = 1, l = best_trim(c, MAX_LEVELS, &kappa);
    if (!(l - base <= eps)) { /* even the finest grid fails */
        out->critical_levels = 0;
        return;
    }
    int nq = bisect(c, trimmed_loss, NULL, base, eps, MAX_LEVELS, 1, &l);
    out->critical_levels = nq;
    out->critical_bits = log2((double)nq);
    out->loss_levels_bpb = best_trim(c, nq, &kappa) / log(2.0);
    out->trim = kappa;
}

/* One matrix's SVD: u (rows, r), s (r), vt (r, cols), row-major, r = min. */
typedef struct svd {
    int rows, cols, r;
    float *u, *s, *vt;
} svd;

static int svd_of(const float *w, int rows, int cols, svd *d)
{
    /* LAPACK is column-major: the row-major (rows, cols) matrix is the
     * column-major (cols, rows) matrix W^T = V S U^T. */
    int m = cols, n = rows, r = rows < cols ? rows : cols, info, lwork = -1;
    float *a = malloc(sizeof(float) * (size_t)m * n), q;
    d->rows = rows, d->cols = cols, d->r = r;
    d->s = malloc(sizeof(float) * (size_t)r * (1 + rows + cols));
    if (!a || !d->s) {
        free(a);
        free(d->s);
        d->s = NULL; /* the caller frees every d->s it started */
        return NMDL_ERR_NOMEM;
    }
    d->u = d->s + r;                 /* LAPACK's VT of W^T: U of W, by rows */
    d->vt = d->u + (size_t)r * rows; /* LAPACK's U of W^T: V of W */
    memcpy(a, w, sizeof(float) * (size_t)m * n);
    sgesvd_("S", "S", &m, &n, a, &m, d->s, d->vt, &m, d->u, &r, &q, &lwork, &info);
    lwork = (int)q;
    float *work = malloc(sizeof(float) * (size_t)(lwork > 1 ? lwork : 1));
    if (work && info == 0)
        sgesvd_("S", "S", &m, &n, a, &m, d->s, d->vt, &m, d->u, &r, work, &lwork, &info);
    free(work);
    free(a);
    return work && info == 0 ? NMDL_OK : NMDL_ERR_BACKEND;
}

/* w (rows, cols) = the sum of the k largest singular triples,
 * W[j][c] = sum_i U[j][i] s_i V[c][i], where (svd_of) U[j][i] is
 * u[j * r + i] and V[c][i] is vt[i * cols + c]. */
static void truncate(const svd *d, int k, float *w)
{
    memset(w, 0, sizeof(float) * (size_t)d->rows * d->cols);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < d->rows; j++) {
            float a = d->u[(size_t)j * d->r + i] * d->s[i];
            const float *v = d->vt + (size_t)i * d->cols;
            float *row = w + (size_t)j * d->cols;
            for (int cc = 0; cc < d->cols; cc++)
                row[cc] += a * v[cc];
        }
}

/* Sample loss (nats per byte) with each matrix cut to its first
 * ceil(r * steps / SVD_STEPS) singular triples. */
static double svd_loss(crit *c, const void *arg, int steps)
{
    const svd *d = arg;
    const nmdl_tf_layout *lay = &c->m->lay;
    for (int t = 0, k = 0; t < lay->n_tensors; t++) {
        const nmdl_tf_tensor *ten = &lay->tensor[t];
        if (ten->rows == 1)
            continue;
        int keep = (int)ceil((double)d[k].r * steps / SVD_STEPS);
        truncate(&d[k++], keep, c->m->params + ten->off);
    }
    return sample_loss(c);
}

static int critical_svd(crit *c, double base, double eps, nmdl_compressibility *out)
{
    const nmdl_tf_layout *lay = &c->m->lay;
    svd d[NMDL_TF_MAX_TENSORS];
    int k = 0, rc = NMDL_OK;
    for (int t = 0; !rc && t < lay->n_tensors; t++)
        if (lay->tensor[t].rows > 1)
            rc = svd_of(c->w + lay->tensor[t].off, lay->tensor[t].rows,
                        lay->tensor[t].cols, &d[k++]);
    if (!rc) {
        memcpy(c->m->params, c->w, lay->n_params * sizeof(float)); /* vectors */
        double l = base;
        int keep = bisect(c, svd_loss, d, base, eps, SVD_STEPS, 0, &l);
        out->critical_svd_fraction = (double)keep / SVD_STEPS;
        out->loss_svd_bpb = l / log(2.0);
    }
    for (int i = 0; i < k; i++)
        free(d[i].s);
    return rc;
}


static double noise_sigma(int k) { return k < 0 ? 0 : exp2(k / 8.0 - 12.0); }

/* Mean sample loss (nats per byte) over NOISE_DRAWS draws of every matrix
 * plus noise_sigma(k) × its RMS (rms: one per tensor) × z, the vectors in
 * float. */
static double noise_loss(crit *c, const void *rms_arg, int k)
{
    const nmdl_tf_layout *lay = &c->m->lay;
    const float *rms = rms_arg;
    const double sigma = noise_sigma(k);
    double sum = 0;
    for (int r = 0; r < NOISE_DRAWS; r++) {
        nmdl_rng g;
        nmdl_rng_seed(&g, 0x6e6f697365ull, (uint64_t)r); /* "noise" */
        for (int t = 0; t < lay->n_tensors; t++) {
            const nmdl_tf_tensor *ten = &lay->tensor[t];
            const size_t len = (size_t)ten->rows * ten->cols;
            const float *w = c->w + ten->off;
            float *q = c->m->params + ten->off;
            const double s = ten->rows == 1 ? 0 : sigma * rms[t];
            for (size_t i = 0; i < len; i++)
                q[i] = s > 0 ? (float)(w[i] + s * nmdl_rng_normal(&g)) : w[i];
        }
        sum += sample_loss(c);
    }
    return sum / NOISE_DRAWS;
}

/* The largest σ on the grid with loss - base <= eps (0: not even the
 * smallest). */
static int critical_noise(crit *c, double base, double eps, nmdl_compressibility *out)
{
    const nmdl_tf_layout *lay = &c->m->lay;
    float *rms = calloc((size_t)lay->n_tensors, sizeof(float));
    if (!rms)
        return NMDL_ERR_NOMEM;
    for (int t = 0; t < lay->n_tensors; t++) {
        const size_t len = (size_t)lay->tensor[t].rows * lay->tensor[t].cols;
        double ss = 0;
        for (size_t i = 0; i < len; i++)
            ss += (double)c->w[lay->tensor[t].off + i] * c->w[lay->tensor[t].off + i];
        rms[t] = (float)sqrt(ss / (double)len);
    }
    double l = base; /* -1 (no noise) passes, NOISE_GRID + 1 fails */
    int k = bisect(c, noise_loss, rms, base, eps, -1, NOISE_GRID + 1, &l);
    out->critical_noise = noise_sigma(k);
    out->loss_noise_bpb = l / log(2.0);
    free(rms);
    return NMDL_OK;
}

typedef struct mag {
    float a;    /* |w| */
    uint32_t i; /* position in its matrix */
} mag;

static int by_magnitude(const void *x, const void *y)
{
    const mag *p = x, *q = y;
    return p->a < q->a ? -1 : p->a > q->a ? 1 : (p->i > q->i) - (p->i < q->i);
}

/* Sample loss (nats per byte) with the first ceil(len * steps /
 * PRUNE_STEPS) weights of every matrix's order (n_params, positions by
 * rising |w|; vectors unused) set to 0. */
static double prune_loss(crit *c, const void *order_arg, int steps)
{
    const uint32_t *order = order_arg;
    const nmdl_tf_layout *lay = &c->m->lay;
    memcpy(c->m->params, c->w, lay->n_params * sizeof(float));
    for (int t = 0; t < lay->n_tensors; t++) {
        const nmdl_tf_tensor *ten = &lay->tensor[t];
        if (ten->rows == 1)
            continue;
        const size_t len = (size_t)ten->rows * ten->cols;
        const size_t k = (size_t)ceil((double)len * steps / PRUNE_STEPS);
        for (size_t j = 0; j < k; j++)
            c->m->params[ten->off + order[ten->off + j]] = 0.0f;
    }
    return sample_loss(c);
}

/* Every matrix's positions by rising |w| into order (n_params). */
static int magnitude_order(const crit *c, uint32_t *order)
{
    const nmdl_tf_layout *lay = &c->m->lay;
    size_t most = 0;
    for (int t = 0; t < lay->n_tensors; t++) {
        const size_t len = (size_t)lay->tensor[t].rows * lay->tensor[t].cols;
        most = len > most ? len : most;
    }
    mag *m = malloc(most * sizeof *m);
    if (!m)
        return NMDL_ERR_NOMEM;
    for (int t = 0; t < lay->n_tensors; t++) {
        const nmdl_tf_tensor *ten = &lay->tensor[t];
        const size_t len = (size_t)ten->rows * ten->cols;
        for (size_t i = 0; i < len; i++)
            m[i] = (mag){fabsf(c->w[ten->off + i]), (uint32_t)i};
        qsort(m, len, sizeof *m, by_magnitude);
        for (size_t i = 0; i < len; i++)
            order[ten->off + i] = m[i].i;
    }
    free(m);
    return NMDL_OK;
}

/* The largest pruned fraction, in steps of 1/PRUNE_STEPS, with
 * loss - base <= eps. */
static int critical_prune(crit *c, double base, double eps, nmdl_compressibility *out)
{
    uint32_t *order = malloc(c->m->lay.n_params * sizeof *order);
    int rc = order ? magnitude_order(c, order) : NMDL_ERR_NOMEM;
    double l = base; /* 0 (nothing pruned) passes, PRUNE_STEPS + 1 fails */
    int k = rc ? 0 : bisect(c, prune_loss, order, base, eps, 0, PRUNE_STEPS + 1, &l);
    out->critical_prune_fraction = (double)k / PRUNE_STEPS;
    out->loss_prune_bpb = l / log(2.0);
    free(order);
    return rc;
}

int nmdl_model_compressibility(nmdl_model *m, const void *data, size_t n,
                               double epsilon, int threads,
                               nmdl_compressibility *out)
{
    if (!m || !data || !out || !(epsilon > 0) || threads < 1 ||
        n <= (size_t)m->cfg.ctx + 1)
        return NMDL_ERR_ARG;
    memset(out, 0, sizeof *out);
    out->epsilon = epsilon;
    crit c = {0};
    int rc = crit_init(&c, m, data, n);
    m->threads = threads;
    openblas_set_num_threads(1);
    if (!rc) {
        double base = sample_loss(&c);
        out->loss_bpb = base / log(2.0);
        out->windows = c.s.k;
        critical_levels(&c, base, epsilon, out);
        rc = critical_svd(&c, base, epsilon, out);
        rc = rc ? rc : critical_noise(&c, base, epsilon, out);
        rc = rc ? rc : critical_prune(&c, base, epsilon, out);
        memcpy(m->params, c.w, m->lay.n_params * sizeof(float));
        rc = rc ? rc : c.rc;
    }
    free(c.w);
    nmdl_train_sample_free(&c.s);
    return rc;
}
