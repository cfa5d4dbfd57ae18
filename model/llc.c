/*
 * llc.c: see llc.h.
 */
#include "llc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmdl.h"

void nmdl_llc_params_default(nmdl_llc_params *p)
{
    memset(p, 0, sizeof *p);
    p->sampler = NMDL_LLC_SGLD;
    p->step = 1e-6;
    p->gamma = 1e4;
    p->chains = NMDL_LLC_CHAINS;
    p->burnin = 100;
    p->draws = 100;
    p->rms_alpha = 0.99;
    p->rms_eps = 0.1;
    p->mala_every = 10;
    p->seed = 1;
    p->threads = 1;
    p->paired = 1;
    p->repairs = NMDL_LLC_REPAIRS;
}

/* One chain's buffers, each (d). */
typedef struct chain {
    float *block;           /* the one allocation the others point into */
    float *w, *g, *wp, *gp; /* position, gradient; proposal and its gradient */
    float *v;               /* pSGLD second moments, or NULL */
    float *pre;             /* preconditioner P (all 1 for SGLD) */
    nmdl_rng batches, noise;
} chain;

/* Whether chain k starts warm (llc.h: mixed starts, the odd chains). */
static int warm(const nmdl_llc_params *p, int k)
{
    return p->start == NMDL_LLC_MIXED && k % 2 == 1;
}

static void chain_free(chain *c)
{
    free(c->block);
}

static int chain_init(chain *c, const nmdl_llc_target *t, const nmdl_llc_params *p,
                      int k)
{
    size_t d = t->d;
    memset(c, 0, sizeof *c);
    c->block = c->w = malloc(6 * d * sizeof(float));
    if (!c->block)
        return NMDL_ERR_NOMEM;
    c->g = c->w + d, c->wp = c->g + d, c->gp = c->wp + d, c->pre = c->gp + d;
    c->v = p->sampler == NMDL_LLC_PSGLD ? c->pre + d : NULL;
    memcpy(c->w, t->w_star, d * sizeof(float));
    for (size_t i = 0; i < d; i++)
        c->pre[i] = 1.0f;
    if (c->v)
        memset(c->v, 0, d * sizeof(float));
    nmdl_rng_seed(&c->batches, p->seed, 1 + (uint64_t)k);
    nmdl_rng_seed(&c->noise, p->seed, 1001 + (uint64_t)k);
    if (warm(p, k)) { /* the localization's equilibrium, variance 1/γ */
        const double sd = p->gamma > 0 ? 1 / sqrt(p->gamma) : 0;
        for (size_t i = 0; i < d; i++)
            c->w[i] = (float)(c->w[i] + sd * nmdl_rng_normal(&c->noise));
    }
    return NMDL_OK;
}

/* nβ ∇L + γ (w - w*), element i. */
static double drift(double nbeta, double gamma, const float *g, const float *w,
                    const float *ws, size_t i)
{
    return nbeta * g[i] + gamma * ((double)w[i] - ws[i]);
}

/* U = nβ L + (γ/2) |w - w*|^2, the potential the chain samples. */
static double potential(double nbeta, double gamma, double loss, const float *w,
                        const float *ws, size_t d)
{
    double s = 0;
    for (size_t i = 0; i < d; i++)
        s += ((double)w[i] - ws[i]) * ((double)w[i] - ws[i]);
    return nbeta * loss + 0.5 * gamma * s;
}

/* log q(to | from) up to a constant, for the Langevin proposal from `from`
 * with gradient g under preconditioner P and step eps. */
static double log_q(const float *to, const float *from, const float *g,
                    const float *pre, const float *ws, double nbeta,
                    double gamma, double eps, size_t d)
{
    double s = 0;
    for (size_t i = 0; i < d; i++) {
        double mean = from[i] - 0.5 * eps * pre[i] * drift(nbeta, gamma, g, from, ws, i);
        double r = to[i] - mean;
        s += r * r / (eps * pre[i]);
    }
    return -0.5 * s;
}

/* Updates the pSGLD preconditioner from the raw gradient g. */
static void precondition(chain *c, const nmdl_llc_params *p, size_t d)
{
    if (!c->v)
        return;
    const float a = (float)p->rms_alpha, e = (float)p->rms_eps;
    for (size_t i = 0; i < d; i++) {
        c->v[i] = a * c->v[i] + (1.0f - a) * c->g[i] * c->g[i];
        c->pre[i] = 1.0f / (sqrtf(c->v[i]) + e);
    }
}

/* The proposal wp from w: drift and noise. */
static void propose(chain *c, const nmdl_llc_target *t, double nbeta,
                    const nmdl_llc_params *p)
{
    const double eps = p->step;
    for (size_t i = 0; i < t->d; i++) {
        double step = -0.5 * eps * c->pre[i] * drift(nbeta, p->gamma, c->g, c->w, t->w_star, i);
        double noise = sqrt(eps * c->pre[i]) * nmdl_rng_normal(&c->noise);
        c->wp[i] = (float)(c->w[i] + step + noise);
    }
}

/* MALA acceptance of w -> wp, both ends on the minibatch `batch`. */
static double acceptance(chain *c, const nmdl_llc_target *t, int k, double nbeta,
                         const nmdl_llc_params *p, double loss, nmdl_rng batch)
{
    double lp;
    if (t->loss_grad(t->ctx, k, c->wp, &batch, &lp, c->gp) || !isfinite(lp))
        return 0.0;
    const size_t d = t->d;
    double u = potential(nbeta, p->gamma, loss, c->w, t->w_star, d);
    double up = potential(nbeta, p->gamma, lp, c->wp, t->w_star, d);
    double la = u - up +
                log_q(c->w, c->wp, c->gp, c->pre, t->w_star, nbeta, p->gamma, p->step, d) -
                log_q(c->wp, c->w, c->g, c->pre, t->w_star, nbeta, p->gamma, p->step, d);
    return la >= 0 ? 1.0 : exp(la);
}

/* Adds draw number j (0-based) of w to the running mean and sum of
 * squared deviations (Welford), each (d). */
static void welford(float *mean, float *m2, const float *w, size_t d, int j)
{
    for (size_t i = 0; i < d; i++) {
        float delta = w[i] - mean[i];
        mean[i] += delta / (float)(j + 1);
        m2[i] += delta * (w[i] - mean[i]);
    }
}

/* Whether step s of a chain checks the MALA acceptance: every mala_every
 * draws (the burn-in is no equilibrium to diagnose). */
static int checks_mala(const nmdl_llc_params *p, int s)
{
    return p->mala_every > 0 && s >= p->burnin &&
           (s - p->burnin) % p->mala_every == p->mala_every - 1;
}

/* Work units of step s of a chain (see nmdl_llc_work). */
static double step_units(const nmdl_llc_params *p, int s)
{
    int side = p->threads < p->chains ? p->threads : p->chains;
    double passes = 1.0 + (p->paired && s >= p->burnin ? 1.0 / 3.0 : 0.0) + checks_mala(p, s);
    return passes * p->step_work * p->threads / (side > 0 ? side : 1);
}

double nmdl_llc_work(const nmdl_llc_params *p)
{
    double w = 0;
    for (int s = 0; s < p->burnin + p->draws; s++)
        w += step_units(p, s);
    return w * p->chains;
}

/* Runs chain k: trace (burnin + draws) gets the minibatch loss (nats per
 * sample) before each step, base (draws) the loss at w* on the same
 * minibatch, m2 (d) the sum of squared deviations of the draws from their
 * mean; *mala and *checks accumulate the MALA acceptance. */
static int run_chain(const nmdl_llc_target *t, const nmdl_llc_params *p, int k,
                     double nbeta, double *trace, double *base, double *mala,
                     int *checks, float *m2)
{
    chain c;
    int rc = chain_init(&c, t, p, k), steps = p->burnin + p->draws;
    float *mean = m2 ? calloc(t->d, sizeof(float)) : NULL;
    if (m2 && !mean)
        rc = NMDL_ERR_NOMEM;
    for (int s = 0; !rc && s < steps; s++) {
        nmdl_rng batch = c.batches; /* to draw the same minibatch again */
        double loss;
        rc = t->loss_grad(t->ctx, k, c.w, &c.batches, &loss, c.g);
        trace[s] = loss;
        if (!rc && base && s >= p->burnin) { /* w* on the same batch */
            nmdl_rng again = batch;
            rc = t->loss_grad(t->ctx, k, t->w_star, &again, &base[s - p->burnin], NULL);
        }
        if (rc || !isfinite(loss)) {
            for (; s < steps; s++)
                trace[s] = NAN;
            break;
        }
        precondition(&c, p, t->d);
        propose(&c, t, nbeta, p);
        if (checks_mala(p, s)) {
            *mala += acceptance(&c, t, k, nbeta, p, loss, batch);
            ++*checks;
        }
        float *tmp = c.w; /* always accept: SGLD, not MALA */
        c.w = c.wp;
        c.wp = tmp;
        if (mean && s >= p->burnin)
            welford(mean, m2, c.w, t->d, s - p->burnin);
        if ((rc = nmdl_prog_add(p->prog, step_units(p, s), 1)))
            break;
    }
    free(mean);
    chain_free(&c);
    return rc;
}

#define INIT_BATCHES 32 /* at least; devinterp's num_init_loss_batches */

/* L(w*): the mean loss at w* over max(chains, INIT_BATCHES) minibatches,
 * the first being the chains' own first batches. Its noise is common to
 * all chains, so it does not show in the standard error across chains;
 * hence many batches. */
static int init_loss(const nmdl_llc_target *t, const nmdl_llc_params *p,
                     double *out)
{
    const int nb = p->chains > INIT_BATCHES ? p->chains : INIT_BATCHES;
    double sum = 0;
    int rc = NMDL_OK;
    for (int k = 0; !rc && k < nb; k++) {
        nmdl_rng r;
        double loss;
        nmdl_rng_seed(&r, p->seed, 1 + (uint64_t)k); /* stream k: chain k's */
        rc = t->loss_grad(t->ctx, 0, t->w_star, &r, &loss, NULL);
        sum += loss;
    }
    *out = sum / nb;
    return rc;
}

/* The mean rise above L(w*) over draws [from, to) of unit u: chain u, or
 * with mixed starts pair u (chains 2u and 2u + 1, or 2u alone when it has
 * no partner). Paired, each draw against w* on its own minibatch, whose
 * noise then cancels. */
static double unit_rise(const nmdl_llc_result *r, const nmdl_llc_params *p, int u,
                        int from, int to)
{
    const int mixed = p->start == NMDL_LLC_MIXED;
    const int k0 = mixed ? 2 * u : u, k1 = mixed && 2 * u + 1 < r->chains ? 2 * u + 1 : k0;
    double s = 0;
    for (int k = k0; k <= k1; k++) {
        const double *tr = r->trace + (size_t)k * r->steps + p->burnin;
        const double *b = r->base ? r->base + (size_t)k * p->draws : NULL;
        for (int j = from; j < to; j++)
            s += tr[j] - (b ? b[j] : r->init_loss);
    }
    return s / ((double)(k1 - k0 + 1) * (to - from));
}

/* Whether the draws still drift: per unit (a chain, or with mixed starts a
 * pair) the difference between the mean rises above L(w*) of the second
 * and first halves of its draws; drifting when their mean exceeds three
 * standard errors (across units) and a tenth of the rise. With one unit, a
 * quarter of the rise. */
static int still_moving(const nmdl_llc_result *r, const nmdl_llc_params *p,
                        double *rel)
{
    const int h = p->draws / 2;
    const int C = p->start == NMDL_LLC_MIXED ? (r->chains + 1) / 2 : r->chains;
    double sum = 0, ss = 0, rise = 0;
    *rel = 0;
    if (h == 0)
        return 0;
    for (int u = 0; u < C; u++) {
        const double a = unit_rise(r, p, u, 0, h), b = unit_rise(r, p, u, h, p->draws);
        sum += b - a;
        ss += (b - a) * (b - a);
        rise += 0.5 * (a + b) / C;
    }
    double mean = sum / C, se = C > 1 ? sqrt(fmax(ss / C - mean * mean, 0) / (C - 1)) : 0;
    *rel = rise > 0 ? fabs(mean) / rise : 0;
    if (!(rise > 0))
        return 0;
    return C > 1 ? fabs(mean) > 3 * se && *rel > 0.1 : *rel > 0.25;
}

/* Whether mixed starts' halves disagree: their means further apart than
 * NMDL_LLC_GAP of λ̂. (No guard by the standard error: with two chains a
 * half it has one degree of freedom, and the warm chains' spread is their
 * starts', the very bias the gap measures.) */
static int apart(const nmdl_llc_result *r)
{
    return fabs(r->llc_warm - r->llc_cold) > NMDL_LLC_GAP * r->llc;
}

/* Warnings, first found first: divergence, chains at or below L(w*),
 * traces that keep moving, low acceptance. */
static void diagnose(nmdl_llc_result *r, const nmdl_llc_params *p)
{
    double rel;
    r->healthy = 0;
    r->warning[0] = 0;
    for (size_t i = 0; i < (size_t)r->chains * r->steps; i++)
        if (!isfinite(r->trace[i])) {
            r->fault = NMDL_LLC_DIVERGED;
            snprintf(r->warning, sizeof r->warning, "chain %d diverged (a loss "
                     "is not finite): lower the step size", (int)(i / r->steps));
            return;
        }
    if (!(r->llc > 0)) {
        r->fault = NMDL_LLC_BELOW;
        snprintf(r->warning, sizeof r->warning,
                 "chains settle at or below L(w*) (llc %.4g): w* is not a local "
                 "minimum, or the step size is too large", r->llc);
    } else if (still_moving(r, p, &rel)) {
        r->fault = NMDL_LLC_MOVING;
        snprintf(r->warning, sizeof r->warning,
                 "traces still moving (draw halves differ by %.0f%% of the rise): "
                 "more burn-in or a larger localization", 100 * rel);
    } else if (apart(r)) {
        r->fault = NMDL_LLC_MOVING;
        snprintf(r->warning, sizeof r->warning,
                 "the chains from w* and from the warm start still %.0f%% apart "
                 "(%.4g, %.4g): more burn-in", 100 * fabs(r->llc_warm - r->llc_cold) / r->llc,
                 r->llc_cold, r->llc_warm);
    } else if (isfinite(r->mala) && r->mala < 0.5) {
        r->fault = NMDL_LLC_MALA;
        snprintf(r->warning, sizeof r->warning,
                 "MALA acceptance %.2f (about 0.9 is healthy): lower the step size",
                 r->mala);
    } else {
        r->fault = NMDL_LLC_HEALTHY;
        r->healthy = 1;
    }
}

/* The mean and the squared standard error of the chains k = first,
 * first + stride, ... of r->chain_llc; the variance NaN below 2 chains. */
static double group(const nmdl_llc_result *r, int first, int stride, double *se2)
{
    double sum = 0, ss = 0;
    int c = 0;
    for (int k = first; k < r->chains; k += stride)
        sum += r->chain_llc[k], c++;
    const double mean = sum / c;
    for (int k = first; k < r->chains; k += stride)
        ss += (r->chain_llc[k] - mean) * (r->chain_llc[k] - mean);
    *se2 = c > 1 ? ss / (c - 1) / c : NAN;
    return mean;
}

static void summarize(nmdl_llc_result *r, const nmdl_llc_params *p)
{
    if (r->base) { /* L(w*) for display: the mean over all draws' batches */
        r->init_loss = 0;
        for (size_t i = 0; i < (size_t)r->chains * p->draws; i++)
            r->init_loss += r->base[i] / ((double)r->chains * p->draws);
    }
    for (int k = 0; k < r->chains; k++) {
        const double *tr = r->trace + (size_t)k * r->steps + p->burnin;
        const double *b = r->base ? r->base + (size_t)k * p->draws : NULL;
        double m = 0;
        for (int s = 0; s < p->draws; s++)
            m += (tr[s] - (b ? b[s] : r->init_loss)) / p->draws;
        r->chain_llc[k] = r->nbeta * m;
    }
    double se2, se2w;
    r->llc_cold = r->llc_warm = NAN;
    if (p->start == NMDL_LLC_MIXED && r->chains > 1) { /* the halves' means */
        r->llc_cold = group(r, 0, 2, &se2);
        r->llc_warm = group(r, 1, 2, &se2w);
        r->llc = 0.5 * (r->llc_cold + r->llc_warm);
        r->llc_se = 0.5 * sqrt(se2 + se2w);
    } else {
        r->llc = group(r, 0, 1, &se2);
        r->llc_se = sqrt(se2);
    }
}

/* The chains of one estimate, as tasks of nmdl_prog_parallel. */
typedef struct chains {
    const nmdl_llc_target *t;
    const nmdl_llc_params *p;
    nmdl_llc_result *r;
    double *mala;
    int *checks;
    float *m2;
    int first; /* this member's first chain (model/team.h) */
} chains;

static int chain_task(void *ctx, int k)
{
    const chains *c = ctx;
    k += c->first;
    const nmdl_llc_params *p = c->p;
    nmdl_llc_result *r = c->r;
    return run_chain(c->t, p, k, r->nbeta, r->trace + (size_t)k * r->steps,
                     r->base ? r->base + (size_t)k * p->draws : NULL, &c->mala[k],
                     &c->checks[k], c->m2 ? c->m2 + (size_t)k * c->t->d : NULL);
}

static int check(const nmdl_llc_target *t, const nmdl_llc_params *p)
{
    if (!t || !t->loss_grad || !t->w_star || t->d == 0 || !(t->n > 1) || !p ||
        !(p->step > 0) || !(p->gamma >= 0) || p->chains < 1 || p->draws < 1 ||
        p->burnin < 0 || p->threads < 1 || p->mala_every < 0 ||
        (p->sampler != NMDL_LLC_SGLD && p->sampler != NMDL_LLC_PSGLD) ||
        (p->start != NMDL_LLC_COLD && p->start != NMDL_LLC_MIXED) ||
        !(p->rms_alpha >= 0 && p->rms_alpha < 1) || !(p->rms_eps > 0) ||
        !(p->nbeta > 0 || p->nbeta <= 0) /* NaN */)
        return NMDL_ERR_ARG;
    return NMDL_OK;
}

/* In a team: every member's chains to all, each array in units of one
 * chain (with one member, nothing). */
static int share_chains(const nmdl_llc_params *p, nmdl_llc_result *r, double *mala,
                        int *checks, float *m2, size_t d)
{
    const nmdl_team *t = p->team;
    int rc = nmdl_team_gather(t, r->trace, (size_t)r->steps * sizeof(double), p->chains);
    if (!rc && r->base)
        rc = nmdl_team_gather(t, r->base, (size_t)p->draws * sizeof(double), p->chains);
    if (!rc)
        rc = nmdl_team_gather(t, mala, sizeof(double), p->chains);
    if (!rc)
        rc = nmdl_team_gather(t, checks, sizeof(int), p->chains);
    if (!rc && m2)
        rc = nmdl_team_gather(t, m2, d * sizeof(float), p->chains);
    return rc;
}

/* The chains' per-weight variances m2 / draws, averaged, into r->spread. */
static int average_spread(nmdl_llc_result *r, const float *m2, size_t d,
                          const nmdl_llc_params *p)
{
    r->spread = calloc(d, sizeof(float));
    if (!r->spread)
        return NMDL_ERR_NOMEM;
    for (int k = 0; k < p->chains; k++)
        for (size_t i = 0; i < d; i++)
            r->spread[i] += m2[(size_t)k * d + i] / (float)p->draws / (float)p->chains;
    return NMDL_OK;
}

double nmdl_llc_default_nbeta(double n)
{
    return n > 2.718281828459045 ? n / log(n) : 1.0;
}

int nmdl_llc_estimate(const nmdl_llc_target *t, const nmdl_llc_params *p,
                      nmdl_llc_result *r)
{
    if (!r || check(t, p))
        return NMDL_ERR_ARG;
    memset(r, 0, sizeof *r);
    r->nbeta = p->nbeta > 0 ? p->nbeta : nmdl_llc_default_nbeta(t->n);
    r->step = p->step;
    r->gamma = p->gamma;
    r->chains = p->chains;
    r->burnin = p->burnin;
    r->steps = p->burnin + p->draws;
    r->chain_llc = calloc((size_t)p->chains, sizeof(double));
    r->trace = calloc((size_t)p->chains * r->steps, sizeof(double));
    r->base = p->paired ? calloc((size_t)p->chains * p->draws, sizeof(double)) : NULL;
    double *mala = calloc((size_t)p->chains, sizeof(double));
    int *checks = calloc((size_t)p->chains, sizeof(int)), err = NMDL_OK;
    float *m2 = p->want_spread ? calloc((size_t)p->chains * t->d, sizeof(float)) : NULL;
    if (!r->chain_llc || !r->trace || !mala || !checks || (p->want_spread && !m2) ||
        (p->paired && !r->base))
        err = NMDL_ERR_NOMEM;
    if (!err && !p->paired)
        err = init_loss(t, p, &r->init_loss);
    int lo, hi;
    nmdl_team_share(p->team, p->chains, &lo, &hi);
    chains c = {t, p, r, mala, checks, m2, lo};
    if (!err)
        err = nmdl_prog_parallel(p->prog, hi - lo, p->threads, chain_task, &c);
    if (!err)
        err = share_chains(p, r, mala, checks, m2, t->d);
    double msum = 0;
    int mn = 0;
    for (int k = 0; !err && k < p->chains; k++)
        msum += mala[k], mn += checks[k];
    r->mala = mn ? msum / mn : NAN;
    free(mala);
    free(checks);
    if (!err && m2)
        err = average_spread(r, m2, t->d, p);
    free(m2);
    if (err) {
        nmdl_llc_result_free(r);
        return err;
    }
    summarize(r, p);
    diagnose(r, p);
    return NMDL_OK;
}

/* The remedies taken so far. */
typedef struct remedies {
    int chains, burnin, gamma;
} remedies;

/* The next remedy for r's fault (llc.h), applied to p; what it changed to
 * buf. */
static void remedy(const nmdl_llc_target *t, const nmdl_llc_result *r,
                   nmdl_llc_params *p, remedies *done, char *buf, size_t len)
{
    const int f = r->fault;
    const int room = !t->max_chains || 2 * p->chains <= t->max_chains;
    if (f == NMDL_LLC_MOVING && p->chains < 4 && room && !done->chains) {
        snprintf(buf, len, "chains %d -> %d", p->chains, 2 * p->chains);
        p->chains *= 2, done->chains = 1;
    } else if (f == NMDL_LLC_MOVING && (!done->burnin || done->gamma)) {
        const int longer = p->burnin > 0 ? 4 * p->burnin : 100;
        snprintf(buf, len, "burn-in %d -> %d", p->burnin, longer);
        p->burnin = longer, done->burnin = 1;
    } else if ((f == NMDL_LLC_MOVING || f == NMDL_LLC_BELOW) && !done->gamma) {
        snprintf(buf, len, "gamma %.3g -> %.3g", p->gamma, 10 * p->gamma);
        p->gamma *= 10, done->gamma = 1;
    } else { /* diverged, low acceptance, or below L(w*) at a low one */
        snprintf(buf, len, "step %.3g -> %.3g", p->step, p->step / sqrt(10.0));
        p->step /= sqrt(10.0);
    }
}

/* Below L(w*) at an accepted step after γ x 10: w* is no minimum, which
 * no setting of the sampler repairs. */
static int no_minimum(const nmdl_llc_result *r, const remedies *done)
{
    return r->fault == NMDL_LLC_BELOW && done->gamma && isfinite(r->mala) &&
           r->mala >= NMDL_LLC_SWEEP_MALA;
}

int nmdl_llc_estimate_repaired(const nmdl_llc_target *t, nmdl_llc_params *p,
                               nmdl_llc_result *r, char *did, size_t did_len)
{
    if (!did || did_len == 0)
        return NMDL_ERR_ARG;
    remedies done = {0};
    did[0] = 0;
    int rc = nmdl_llc_estimate(t, p, r);
    for (int k = 0; !rc && !r->healthy && k < p->repairs && !no_minimum(r, &done); k++) {
        char step[64];
        const size_t used = strlen(did);
        remedy(t, r, p, &done, step, sizeof step);
        snprintf(did + used, did_len - used, "%s%s (%s)", used ? "; " : "", step,
                 r->fault == NMDL_LLC_DIVERGED ? "diverged"
                 : r->fault == NMDL_LLC_BELOW  ? "at or below L(w*)"
                 : r->fault == NMDL_LLC_MOVING ? "still moving"
                                               : "low MALA acceptance");
        nmdl_prog_grow(p->prog, nmdl_llc_work(p), (long)p->chains * (p->burnin + p->draws));
        nmdl_llc_result_free(r);
        rc = nmdl_llc_estimate(t, p, r);
    }
    return rc;
}

void nmdl_llc_result_free(nmdl_llc_result *r)
{
    free(r->chain_llc);
    free(r->trace);
    free(r->spread);
    free(r->base);
    r->chain_llc = NULL;
    r->trace = NULL;
    r->spread = NULL;
    r->base = NULL;
}

double nmdl_llc_relax_steps(const nmdl_llc_params *p)
{
    return 2.0 / (p->step * p->gamma);
}

int nmdl_llc_sweep_mala_every(const nmdl_llc_params *q)
{
    if (q->mala_every >= 1 && q->mala_every <= q->draws / 4)
        return q->mala_every;
    return q->draws / 4 > 1 ? q->draws / 4 : 1;
}

int nmdl_llc_calibrate(const nmdl_llc_target *t, const nmdl_llc_params *p,
                       double top, int chains, int burnin, int draws,
                       nmdl_llc_sweep *sweep, double *step)
{
    nmdl_llc_params q = *p;
    q.chains = chains;
    q.burnin = burnin;
    q.draws = draws;
    q.want_spread = 0;
    q.start = NMDL_LLC_COLD; /* from w*, where settling below L(w*) shows */
    q.mala_every = nmdl_llc_sweep_mala_every(&q);
    memset(sweep, 0, sizeof *sweep);
    sweep->chosen = -1;
    const double run = nmdl_llc_work(&q);
    const long run_steps = (long)chains * (burnin + draws);
    for (int i = 0; i < NMDL_LLC_SWEEP && sweep->chosen < 0 && !sweep->below; i++) {
        nmdl_llc_result r;
        q.step = top * pow(10.0, -0.5 * i);
        if (i >= NMDL_LLC_SWEEP_PLAN) /* longer than planned */
            nmdl_prog_grow(p->prog, run, run_steps);
        int rc = nmdl_llc_estimate(t, &q, &r);
        if (rc)
            return rc;
        sweep->step[i] = q.step;
        sweep->llc[i] = r.llc;
        sweep->mala[i] = r.mala;
        const int accepted = isfinite(r.mala) && r.mala >= NMDL_LLC_SWEEP_MALA;
        sweep->healthy[i] = accepted && r.healthy;
        sweep->n = i + 1;
        if (accepted && (r.healthy || r.fault == NMDL_LLC_MOVING)) {
            sweep->chosen = i;
            *step = q.step;
        } else if (accepted && r.fault == NMDL_LLC_BELOW && r.llc + 2 * r.llc_se < 0) {
            sweep->below = 1; /* a smaller step only scales λ̂ down */
        }
        nmdl_llc_result_free(&r);
    }
    if (sweep->n < NMDL_LLC_SWEEP_PLAN) /* shorter than planned */
        nmdl_prog_grow(p->prog, -run * (NMDL_LLC_SWEEP_PLAN - sweep->n),
                       -run_steps * (NMDL_LLC_SWEEP_PLAN - sweep->n));
    return NMDL_OK;
}
