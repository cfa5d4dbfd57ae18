/*
 * train.c: see train.h and nmdl.h. One step: sample windows, forward,
 * backward, clip the global gradient norm, AdamW. Weight decay applies to
 * matrices only (embedding and projections), never to LayerNorm vectors.
 */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

void nmdl_train_params_default(nmdl_train_params *p)
{
    memset(p, 0, sizeof *p);
    p->steps = 1000;
    p->batch = 16;
    p->lr = 0; /* by the model: nmdl_train_schedule */
    p->warmup = 0.02;
    p->lr_final = -1; /* by the model: nmdl_train_schedule */
    p->weight_decay = 0.1;
    p->beta1 = 0.9;
    p->beta2 = 0.99;
    p->eps = 1e-8;
    p->clip = 1.0;
    p->seed = 1;
    p->threads = 1;
}

void nmdl_train_batch(nmdl_rng *r, const uint8_t *data, size_t n, int B,
                      int T, uint8_t *x, uint8_t *y, size_t *start)
{
    for (int b = 0; b < B; b++) {
        size_t s = (size_t)nmdl_rng_below(r, n - (size_t)T);
        if (start)
            start[b] = s;
        memcpy(x + (size_t)b * T, data + s, (size_t)T);
        memcpy(y + (size_t)b * T, data + s + 1, (size_t)T);
    }
}

int nmdl_train_sample_make(nmdl_train_sample *s, const uint8_t *data, size_t n, int T,
                           const uint8_t *cheap, float cheap_weight)
{
    memset(s, 0, sizeof *s);
    if (T < 1 || n <= (size_t)T)
        return NMDL_ERR_ARG;
    const size_t room = n - 1 - (size_t)T; /* the last start */
    const size_t most = room / (size_t)T + 1; /* windows that do not overlap */
    s->k = most < NMDL_SAMPLE_WINDOWS ? (int)most : NMDL_SAMPLE_WINDOWS;
    s->T = T;
    const size_t N = (size_t)s->k * T;
    if (!(s->x = malloc(2 * N)) || (cheap && !(s->w = malloc(N * sizeof *s->w)))) {
        nmdl_train_sample_free(s);
        return NMDL_ERR_NOMEM;
    }
    s->y = s->x + N;
    for (int i = 0; i < s->k; i++) {
        size_t at = s->k > 1 ? room * (size_t)i / (size_t)(s->k - 1) : 0;
        memcpy(s->x + (size_t)i * T, data + at, (size_t)T);
        memcpy(s->y + (size_t)i * T, data + at + 1, (size_t)T);
        for (int t = 0; s->w && t < T; t++) {
            const float w = cheap[at + 1 + (size_t)t] ? cheap_weight : 1.0f;
            s->w[(size_t)i * T + (size_t)t] = w;
            s->w_sum += w;
        }
    }
    if (s->w && !(s->w_sum > 0)) { /* nothing weighs: all alike */
        free(s->w);
        s->w = NULL;
    }
    return NMDL_OK;
}

void nmdl_train_sample_free(nmdl_train_sample *s)
{
    free(s->x);
    free(s->w);
    s->x = s->y = NULL;
    s->w = NULL;
}

#define SAMPLE_BATCH 16 /* windows per forward pass */
/* What a forward-only FLOP of the sample loss costs against a training
 * FLOP (measured 2026-12-01 at -T2, see ARCHITECTURE "Progress"). */
#define SAMPLE_COST 1.5

/* Work units of the sample loss over `windows` windows of cfg->ctx. */
static double sample_work(const nmdl_model_config *cfg, int windows)
{
    return SAMPLE_COST * windows * cfg->ctx * nmdl_train_flops_per_byte(cfg) / 3;
}

double nmdl_train_sample_work(const nmdl_model_config *cfg, size_t n)
{
    size_t room = n > (size_t)cfg->ctx ? n - 1 - (size_t)cfg->ctx : 0;
    size_t most = room / (size_t)cfg->ctx + 1;
    return sample_work(cfg, most < NMDL_SAMPLE_WINDOWS ? (int)most : NMDL_SAMPLE_WINDOWS);
}

/* The sum of N losses (nats) times their weights w. */
static double weighed(const float *loss, const float *w, size_t N)
{
    double sum = 0;
    for (size_t i = 0; i < N; i++)
        sum += (double)w[i] * loss[i];
    return sum;
}

int nmdl_train_sample_loss(nmdl_model *m, const nmdl_train_sample *s,
                           nmdl_prog *job, double *nats)
{
    const int B0 = s->k < SAMPLE_BATCH ? s->k : SAMPLE_BATCH;
    const int nb = B0 ? (s->k + B0 - 1) / B0 : 0; /* batches */
    double *part = malloc((size_t)(nb ? nb : 1) * sizeof *part); /* nats per batch */
    int lo, hi, rc = part ? nmdl_tf_reserve(m, B0, s->T) : NMDL_ERR_NOMEM;
    nmdl_team_share(s->team, nb, &lo, &hi);
    for (int b = lo; !rc && b < hi; b++) {
        const int w0 = b * B0, B = s->k - w0 < B0 ? s->k - w0 : B0;
        const size_t at = (size_t)w0 * s->T;
        double loss;
        rc = nmdl_tf_forward(m, s->x + at, s->y + at, B, s->T, &loss);
        part[b] = s->w ? weighed(m->a.losses, s->w + at, (size_t)B * s->T) : loss * B;
        if (!rc)
            rc = nmdl_prog_add(job, sample_work(&m->cfg, B), 0);
    }
    if (!rc)
        rc = nmdl_team_gather(s->team, part, sizeof *part, nb);
    double sum = 0;
    for (int b = 0; !rc && b < nb; b++)
        sum += part[b];
    free(part);
    *nats = rc ? NAN : sum / (s->w ? s->w_sum : s->k);
    return rc;
}

double nmdl_train_lr(const nmdl_train_params *p, long s, long total)
{
    long warm = (long)(p->warmup * (double)total);
    if (s < warm)
        return p->lr * (double)(s + 1) / (double)(warm + 1);
    double f = total > warm + 1 ? (double)(s - warm) / (double)(total - warm - 1) : 1.0;
    double lo = p->lr * p->lr_final;
    return lo + 0.5 * (p->lr - lo) * (1.0 + cos(3.141592653589793 * f));
}

static int check_params(const nmdl_model *m, size_t n, const nmdl_train_params *p)
{
    if (!p || p->batch < 1 || p->batch > 4096 || !(p->lr >= 0) ||
        p->steps < 0 || (p->steps == 0 && !(p->minutes > 0)) ||
        p->checkpoint_every < 0 ||
        p->threads < 1 || p->warmup < 0 || p->warmup >= 1 ||
        !(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1) ||
        !(p->eps > 0) || p->clip < 0 || p->weight_decay < 0)
        return NMDL_ERR_ARG;
    if (n <= (size_t)m->cfg.ctx)
        return NMDL_ERR_ARG; /* shorter than one window and its target */
    return NMDL_OK;
}

/* Scales the gradients so that their global norm is at most clip. */
static void clip_grads(nmdl_model *m, double clip)
{
    double ss = 0.0;
    const size_t n = m->lay.n_params;
    for (size_t i = 0; i < n; i++)
        ss += (double)m->grads[i] * m->grads[i];
    double norm = sqrt(ss);
    if (clip > 0 && norm > clip) {
        float s = (float)(clip / norm);
        for (size_t i = 0; i < n; i++)
            m->grads[i] *= s;
    }
}

/* One AdamW update; mom and vel hold n_params first and second moments. */
static void adamw(nmdl_model *m, float *mom, float *vel, const nmdl_train_params *p,
                  double lr, long t)
{
    const float b1 = (float)p->beta1, b2 = (float)p->beta2, eps = (float)p->eps;
    const float c1 = (float)(1.0 / (1.0 - pow(p->beta1, (double)t)));
    const float c2 = (float)(1.0 / (1.0 - pow(p->beta2, (double)t)));
    for (int k = 0; k < m->lay.n_tensors; k++) {
        const nmdl_tf_tensor *ten = &m->lay.tensor[k];
        const float wd = nmdl_tf_is_matrix(ten) ? (float)p->weight_decay : 0.0f;
        const long n = (long)ten->rows * ten->cols;
        float *w = m->params + ten->off, *g = m->grads + ten->off;
        float *mo = mom + ten->off, *ve = vel + ten->off, flr = (float)lr;
#pragma omp parallel for num_threads(m->threads) schedule(static)
        for (long i = 0; i < n; i++) {
            mo[i] = b1 * mo[i] + (1.0f - b1) * g[i];
            ve[i] = b2 * ve[i] + (1.0f - b2) * g[i] * g[i];
            float upd = (mo[i] * c1) / (sqrtf(ve[i] * c2) + eps);
            w[i] -= flr * (upd + wd * w[i]);
        }
    }
}

/* The groups of a step: group g holds windows [B g / G, B (g + 1) / G). */
static int train_groups(int B)
{
    return B < NMDL_TRAIN_GROUPS ? B : NMDL_TRAIN_GROUPS;
}

/* sum += w * g over n floats: the one fold of the groups' gradients, the
 * same whether a group was computed here or by another member. */
static void fold(float *sum, const float *g, float w, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        sum[i] = sum[i] + w * g[i];
}

/* What a step keeps besides the model: the batch, the unprojected weights
 * (with a projecting hook), the fold, and with a team of several members
 * every group's gradient and loss. */
typedef struct step_bufs {
    uint8_t *x, *y;      /* (B, T) */
    size_t *start;       /* B: the windows' starts */
    float *weight;       /* (B, T): each target's weight, or NULL (alike) */
    const uint8_t *cheap; /* nmdl_train_params.cheap */
    float w_cheap, w_other; /* the weights of a flagged target and another,
                               their mean over the data 1 */
    float *master;       /* n_params, or NULL */
    float *sum;          /* n_params: the folded gradient */
    float *group;        /* (G, n_params) with a team, else NULL */
    double *group_loss;  /* G with a team, else NULL: nats per token */
} step_bufs;

/* Forward and backward of one batch, group by group, the gradients folded
 * in group order into m->grads and the loss (nats per token, windows
 * weighted alike) into *loss. With a team of K members each computes its
 * share of the groups and all share them before the fold, so the result is
 * the same for every K. With a projecting hook, the passes run on the
 * projected weights and master holds the float weights, which are put
 * back afterwards (straight-through). NMDL_ERR_CANCELED when the model's
 * job was canceled in a pass. */
static int step_grads(nmdl_model *m, nmdl_rng *r, const uint8_t *data,
                      size_t n, int B, const nmdl_team *team, step_bufs *b,
                      const nmdl_train_hook *hook, double *loss)
{
    const int T = m->cfg.ctx, G = train_groups(B);
    const int proj = hook && hook->project;
    const size_t np = m->lay.n_params;
    int lo, hi, rc = NMDL_OK;
    nmdl_team_share(team, G, &lo, &hi);
    *loss = 0.0;
    nmdl_train_batch(r, data, n, B, T, b->x, b->y, b->start);
    for (size_t i = 0; b->weight && i < (size_t)B * T; i++)
        b->weight[i] = b->cheap[b->start[i / (size_t)T] + 1 + i % (size_t)T] ? b->w_cheap
                                                                            : b->w_other;
    if (proj) {
        memcpy(b->master, m->params, np * sizeof(float));
        hook->project(hook->user, b->master, m->params);
    }
    memset(b->sum, 0, np * sizeof(float));
    for (int g = lo; !rc && g < hi; g++) {
        const int w0 = B * g / G, Bg = B * (g + 1) / G - w0;
        const size_t at = (size_t)w0 * T;
        double lg;
        nmdl_tf_zero_grad(m);
        rc = nmdl_tf_forward(m, b->x + at, b->y + at, Bg, T, &lg);
        if (!rc)
            rc = nmdl_tf_backward(m, b->weight ? b->weight + at : NULL);
        if (b->group) {
            memcpy(b->group + (size_t)g * np, m->grads, np * sizeof(float));
            b->group_loss[g] = lg;
        } else {
            fold(b->sum, m->grads, (float)Bg / (float)B, np);
            *loss += lg * Bg / B;
        }
    }
    if (proj)
        memcpy(m->params, b->master, np * sizeof(float));
    if (!rc && b->group) {
        rc = nmdl_team_gather(team, b->group, np * sizeof(float), G);
        if (!rc)
            rc = nmdl_team_gather(team, b->group_loss, sizeof(double), G);
        for (int g = 0; !rc && g < G; g++) {
            const int Bg = B * (g + 1) / G - B * g / G;
            fold(b->sum, b->group + (size_t)g * np, (float)Bg / (float)B, np);
            *loss += b->group_loss[g] * Bg / B;
        }
    }
    memcpy(m->grads, b->sum, np * sizeof(float));
    return rc;
}

double nmdl_train_flops_per_byte(const nmdl_model_config *c)
{
    double C = c->d_model, F = c->d_ff, L = c->n_layer, T = c->ctx;
    return 6 * (L * (4 * C * C + 2 * C * F) + 256 * C) + 12 * L * C * T;
}

double nmdl_train_step_work(const nmdl_model_config *c, int batch)
{
    return (double)batch * c->ctx * nmdl_train_flops_per_byte(c);
}

#define LOSS_WINDOW 20 /* steps in the loss a report shows */

/* Tells the job about step s (0-based, done) and counts it: the mean loss
 * of the last LOSS_WINDOW steps and the bytes trained per second. */
static int count_step(nmdl_prog *job, const float *losses, double loss, long s,
                      double step_work, double bytes_per_step, double t0)
{
    double sum = 0.0;
    long k = 0;
    for (long i = s; losses && i >= 0 && k < LOSS_WINDOW; i--, k++)
        sum += losses[i];
    double el = nmdl_prog_now() - t0;
    nmdl_prog_detail(job, (k ? sum / (double)k : loss) / log(2.0),
                     el > 0 ? (double)(s + 1) * bytes_per_step / el : 0.0);
    return nmdl_prog_add(job, step_work, 1);
}

/* Steps that fit the time budget, from the time of one forward+backward;
 * in a team, the first member's count, which every member then runs. */
static long steps_for_budget(nmdl_model *m, const nmdl_train_params *p,
                             const uint8_t *data, size_t n, step_bufs *b)
{
    nmdl_rng r;
    double loss;
    nmdl_rng_seed(&r, p->seed, 99);
    step_grads(m, &r, data, n, p->batch, p->team, b, NULL, &loss); /* warm up */
    double t = nmdl_prog_now();
    step_grads(m, &r, data, n, p->batch, p->team, b, NULL, &loss);
    double per_step = nmdl_prog_now() - t;
    long steps = (long)(p->minutes * 60.0 * 0.97 / (per_step * 1.02 + 1e-9));
    steps = steps > 1 ? steps : 1;
    return nmdl_team_bcast(p->team, &steps, sizeof steps) ? -1 : steps;
}

/* The weights of a target flagged cheap and of another, in that ratio and
 * with mean 1 over the targets data[1..n): the gradient keeps its scale,
 * so that a rate penalty (nats per token) weighs as without flags. */
static void cheap_weights(step_bufs *b, const uint8_t *cheap, float w, size_t n)
{
    size_t f = 0;
    for (size_t i = 1; i < n; i++)
        f += cheap[i] != 0;
    const double mean = ((double)f * w + (double)(n - 1 - f)) / (double)(n - 1);
    b->w_cheap = mean > 0 ? (float)(w / mean) : w; /* 0: nothing to learn */
    b->w_other = mean > 0 ? (float)(1.0 / mean) : 1.0f;
}

/* The step's buffers for n_params np and p's batch of windows of T bytes
 * from data of n bytes, one block (freed with b->sum); NMDL_ERR_NOMEM. */
static int step_bufs_make(step_bufs *b, size_t np, const nmdl_train_params *tp, int T,
                          size_t n, int proj)
{
    const int B = tp->batch;
    const size_t G = (size_t)train_groups(B), N = (size_t)B * T;
    const int shared = nmdl_team_size(tp->team) > 1, weigh = tp->cheap != NULL;
    const size_t floats = np * (1 + (proj ? 1 : 0) + (shared ? G : 0)) + (weigh ? N : 0);
    memset(b, 0, sizeof *b);
    /* size_t and doubles first, then floats, then bytes: each part aligned */
    const size_t head = (size_t)B * sizeof(size_t) + (shared ? G * sizeof(double) : 0);
    char *p = malloc(head + floats * sizeof(float) + 2 * N);
    if (!p)
        return NMDL_ERR_NOMEM;
    b->start = (size_t *)p;
    b->group_loss = shared ? (double *)(b->start + B) : NULL;
    b->sum = (float *)(p + head);
    b->master = proj ? b->sum + np : NULL;
    b->group = shared ? b->sum + np * (proj ? 2 : 1) : NULL;
    b->weight = weigh ? b->sum + floats - N : NULL;
    b->cheap = tp->cheap;
    if (weigh)
        cheap_weights(b, tp->cheap, tp->cheap_weight, n);
    b->x = (uint8_t *)(b->sum + floats);
    b->y = b->x + N;
    return NMDL_OK;
}

static void step_bufs_free(step_bufs *b)
{
    free(b->start);
}

/* Mean of the last 5% (at least one) of the n losses; NaN when none. */
static double tail_mean(const float *losses, long n)
{
    long k = (n + 19) / 20;
    double sum = 0.0;
    for (long i = n - k; losses && i < n; i++)
        sum += losses[i];
    return losses && k ? sum / (double)k : NAN;
}

int nmdl_model_train(nmdl_model *m, const void *data, size_t n,
                     const nmdl_train_params *p, nmdl_train_report *report)
{
    return nmdl_train_run(m, data, n, p, NULL, NULL, report);
}

/* The schedule's defaults by the model's width: the peak rate where
 * nmdl_train_params.lr is 0, the final fraction where lr_final is negative.
 * Measured by whole files at the default effort's compute (tiny on 256 KB
 * and mini on 1 MB of enwik8, small on 4 MB of gcide; docs/BENCHMARKS.md,
 * "The training recipe"); wider models keep the schedule they were tuned
 * with until measured. */
void nmdl_train_schedule(const nmdl_model_config *c, nmdl_train_params *p)
{
    if (p->lr == 0)
        p->lr = c->d_model <= 96 ? 5e-3 : 2e-3;
    if (p->lr_final < 0)
        p->lr_final = c->d_model <= 64 ? 0.02 : 0.1;
}

int nmdl_train_run(nmdl_model *m, const uint8_t *data, size_t n,
                   const nmdl_train_params *p, const nmdl_train_hook *hook, nmdl_prog *job,
                   nmdl_train_report *report)
{
    if (!m || !data || check_params(m, n, p))
        return NMDL_ERR_ARG;
    nmdl_train_params resolved = *p;
    nmdl_train_schedule(&m->cfg, &resolved);
    p = &resolved;
    const int B = p->batch, T = m->cfg.ctx;
    int rc = nmdl_tf_reserve(m, B, T);
    if (rc)
        return rc;
    m->threads = p->threads;
    openblas_set_num_threads(1); /* our threads split the products */
    const int proj = hook && hook->project;
    float *mom = calloc(2 * m->lay.n_params, sizeof(float)); /* AdamW moments */
    step_bufs b;
    if (!mom || step_bufs_make(&b, m->lay.n_params, p, T, n, proj)) {
        free(mom);
        return NMDL_ERR_NOMEM;
    }
    /* in a team the time budget becomes a step count, the same for all */
    long total = p->steps ? p->steps : steps_for_budget(m, p, data, n, &b);
    double budget = p->steps || nmdl_team_size(p->team) > 1 ? INFINITY : p->minutes * 60.0;
    if (total < 0) {
        free(mom);
        step_bufs_free(&b);
        return NMDL_ERR_TEAM;
    }
    double step_work = nmdl_train_step_work(&m->cfg, B);
    nmdl_prog own; /* a run of its own: one phase, stopped (not canceled) */
    if (!job) {
        job = &own;
        nmdl_prog_start(job, p->progress, p->progress_user, p->threads, NULL, 0);
        rc = nmdl_prog_phase(job, hook && hook->from == 0 ? NMDL_PHASE_TUNE : NMDL_PHASE_TRAIN,
                             (double)total * step_work, total);
    }
    float *losses = malloc((size_t)total * sizeof(float)); /* nats, per step */
    long s = 0;
    nmdl_rng r;
    nmdl_rng_seed(&r, p->seed, 1);
    double t0 = nmdl_prog_now(), loss;
    nmdl_prog *outer = m->prog; /* the passes report between blocks */
    m->prog = job;
    for (; !rc && s < total && nmdl_prog_now() - t0 < budget; s++) {
        const nmdl_train_hook *h = hook && s >= hook->from ? hook : NULL;
        if (h && s == h->from && h->begin && (rc = h->begin(h->user, m->params)))
            break;
        if ((rc = step_grads(m, &r, data, n, B, p->team, &b, h, &loss)))
            break; /* this step did not happen */
        clip_grads(m, p->clip);
        if (h && h->penalize)
            h->penalize(h->user, m->params, m->grads, s, total);
        adamw(m, mom, mom + m->lay.n_params, p, nmdl_train_lr(p, s, total), s + 1);
        if (losses)
            losses[s] = (float)loss;
        rc = count_step(job, losses, loss, s, step_work, (double)B * T, t0);
        if (!rc && p->checkpoint && p->checkpoint_every > 0 &&
            (s + 1) % p->checkpoint_every == 0 &&
            p->checkpoint(p->checkpoint_user, m, s + 1))
            rc = NMDL_ERR_CANCELED;
        if (!rc && hook && hook->stop && hook->stop(hook->stop_user, m, s + 1)) {
            s++; /* this step happened */
            break;
        }
    }
    m->prog = outer;
    if (job == &own) {
        nmdl_prog_finish(job);
        rc = NMDL_OK; /* stopping early keeps the weights */
    }
    if (report) {
        report->steps = s;
        report->tokens = (double)s * B * T;
        report->seconds = nmdl_prog_now() - t0;
        report->loss_bpb = tail_mean(losses, s) / log(2.0);
    }
    free(losses);
    free(mom);
    step_bufs_free(&b);
    return rc;
}

/* Window starts for eval: every half window, the last one flush with the
 * end; returns their count and fills starts (capacity n / half + 2). */
static size_t eval_windows(size_t n, int T, size_t *starts)
{
    size_t half = T / 2 > 0 ? (size_t)T / 2 : 1, k = 0, s = 0;
    for (; s + (size_t)T <= n - 1; s += half)
        starts[k++] = s;
    if (k == 0 || starts[k - 1] + (size_t)T < n - 1)
        starts[k++] = n - 1 - (size_t)T;
    return k;
}

#define EVAL_BATCH 8 /* windows per forward pass */

/* Nats of d[from..n) under the float model, 1 <= from < n: windows of up
 * to ctx bytes over d[lo..n), lo = from - ctx/2 (0 nearer the start),
 * every half window, each byte scored by the first window that predicts
 * it, so every byte sees at least ctx/2 bytes before it where there are. */
static int eval_nats(nmdl_model *m, const uint8_t *d, size_t n, size_t from, int threads,
                     double *nats)
{
    size_t lo = from > (size_t)m->cfg.ctx / 2 ? from - (size_t)m->cfg.ctx / 2 : 0;
    d += lo, n -= lo, from -= lo;
    const int T = n - 1 < (size_t)m->cfg.ctx ? (int)(n - 1) : m->cfg.ctx;
    int rc = nmdl_tf_reserve(m, EVAL_BATCH, T);
    size_t *starts = malloc((n / (T / 2 > 0 ? (size_t)T / 2 : 1) + 3) * sizeof *starts);
    uint8_t *xy = malloc(2 * (size_t)EVAL_BATCH * T);
    if (rc || !starts || !xy) {
        free(starts);
        free(xy);
        return rc ? rc : NMDL_ERR_NOMEM;
    }
    m->threads = threads;
    openblas_set_num_threads(1);
    size_t nw = eval_windows(n, T, starts), scored_to = from; /* targets < it done */
    double sum = 0.0;
    for (size_t w0 = 0; w0 < nw; w0 += EVAL_BATCH) {
        int B = nw - w0 < EVAL_BATCH ? (int)(nw - w0) : EVAL_BATCH;
        for (int b = 0; b < B; b++) {
            memcpy(xy + (size_t)b * T, d + starts[w0 + b], (size_t)T);
            memcpy(xy + (size_t)(EVAL_BATCH + b) * T, d + starts[w0 + b] + 1, (size_t)T);
        }
        nmdl_tf_forward(m, xy, xy + (size_t)EVAL_BATCH * T, B, T, NULL);
        for (int b = 0; b < B; b++) { /* window b predicts bytes s+1 .. s+T */
            size_t s = starts[w0 + b], first = scored_to > s + 1 ? scored_to : s + 1;
            for (size_t t = first; t <= s + (size_t)T; t++)
                sum += m->a.losses[(size_t)b * T + (t - s - 1)];
            if (s + (size_t)T + 1 > scored_to)
                scored_to = s + (size_t)T + 1;
        }
    }
    free(starts);
    free(xy);
    *nats = sum;
    return NMDL_OK;
}

int nmdl_model_eval(nmdl_model *m, const void *data, size_t n, int threads,
                    double *bits_per_byte)
{
    double nats;
    if (!m || !data || n < 2 || threads < 1 || !bits_per_byte)
        return NMDL_ERR_ARG;
    int rc = eval_nats(m, data, n, 1, threads, &nats);
    if (!rc)
        *bits_per_byte = nats / (double)(n - 1) / log(2.0);
    return rc;
}

int nmdl_model_code_length(nmdl_model *m, const void *data, size_t n, size_t from,
                           int threads, double *bits)
{
    double nats;
    if (!m || !data || from < 1 || from >= n || threads < 1 || !bits)
        return NMDL_ERR_ARG;
    int rc = eval_nats(m, data, n, from, threads, &nats);
    if (!rc)
        *bits = nats / log(2.0);
    return rc;
}
