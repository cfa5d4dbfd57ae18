/*
 * llctf.c: see llctf.h.
 */
#include "llctf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "train.h"

/* The transformer as a target: one model workspace per chain. */
typedef struct nmdl_llctf {
    int chains, batch;
    const uint8_t *data;
    size_t n;
    float *w_star;       /* (d) */
    nmdl_model **m;      /* (chains) workspaces */
    uint8_t *xy;         /* (chains, 2, batch, ctx) windows */
} nmdl_llctf;

static void llctf_free(nmdl_llctf *x)
{
    if (!x)
        return;
    for (int k = 0; x->m && k < x->chains; k++)
        nmdl_model_free(x->m[k]);
    free(x->m);
    free(x->w_star);
    free(x->xy);
    free(x);
}

static int loss_grad(void *ctx, int chain, const float *w, nmdl_rng *r,
                     double *loss, float *g)
{
    nmdl_llctf *x = ctx;
    nmdl_model *m = x->m[chain];
    const int B = x->batch, T = m->cfg.ctx;
    uint8_t *in = x->xy + (size_t)chain * 2 * B * T, *out = in + (size_t)B * T;
    memcpy(m->params, w, m->lay.n_params * sizeof(float));
    nmdl_train_batch(r, x->data, x->n, B, T, in, out, NULL);
    int rc = nmdl_tf_forward(m, in, out, B, T, loss);
    if (!rc && g) {
        nmdl_tf_zero_grad(m);
        rc = nmdl_tf_backward(m, NULL);
    }
    if (!rc && g)
        memcpy(g, m->grads, m->lay.n_params * sizeof(float));
    return rc;
}

/* A target around the weights of m on data[0..n) (n > ctx): fills *t.
 * w_star points at a copy of m's parameters owned by the target. */
static int llctf_create(const nmdl_model *m, const uint8_t *data, size_t n,
                        int chains, int batch, nmdl_llctf **out,
                        nmdl_llc_target *t)
{
    if (!m || !data || n <= (size_t)m->cfg.ctx || chains < 1 || batch < 1)
        return NMDL_ERR_ARG;
    nmdl_llctf *x = calloc(1, sizeof *x);
    if (!x)
        return NMDL_ERR_NOMEM;
    const size_t d = m->lay.n_params;
    x->chains = chains, x->batch = batch, x->data = data, x->n = n;
    x->w_star = malloc(d * sizeof(float));
    x->m = calloc((size_t)chains, sizeof *x->m);
    x->xy = malloc((size_t)chains * 2 * batch * m->cfg.ctx);
    int rc = x->w_star && x->m && x->xy ? NMDL_OK : NMDL_ERR_NOMEM;
    for (int k = 0; !rc && k < chains; k++)
        if (!(rc = nmdl_model_create(&m->cfg, 0, &x->m[k])))
            rc = nmdl_tf_reserve(x->m[k], batch, m->cfg.ctx);
    if (rc) {
        llctf_free(x);
        return rc;
    }
    memcpy(x->w_star, m->params, d * sizeof(float));
    openblas_set_num_threads(1); /* chains are the parallelism */
    *t = (nmdl_llc_target){d, (double)(n - 1), x->w_star, loss_grad, x, chains};
    *out = x;
    return NMDL_OK;
}

/* ----------------------------------------------------- the public call */

/* The sweep in units of 1/nβ: SGLD's discretization bias grows with ε·nβ
 * (the tempered loss's curvature times the step), so a fixed step read
 * 1.8x higher at 1e-6 than at 3.16e-7 on 1 MB while both passed the
 * acceptance bar, and the choice between them flipped with the seed.
 * Starting at ε·nβ = SWEEP_TOP_NB (1e-6 on 256 KB, 2.9e-7 on 1 MB) keeps
 * the bias of the same order at every input size (measured 12% at 256 KB,
 * 17-20% at 1 MB; docs/ARCHITECTURE.md, "The learning coefficient"). γ
 * stays absolute: directions flatter than γ/nβ are held by the
 * localization, not counted, and that threshold falling as 1/n is part of
 * what λ̂(n) measures. */
#define SWEEP_TOP_NB 0.021
#define SWEEP_CHAINS 2
#define SWEEP_BURNIN 20
#define SWEEP_DRAWS 40

void nmdl_llc_settings_default(nmdl_llc_settings *s)
{
    nmdl_llc_params p;
    nmdl_llc_params_default(&p);
    memset(s, 0, sizeof *s);
    s->sampler = NMDL_SAMPLER_SGLD;
    s->gamma = p.gamma;
    s->chains = 0; /* NMDL_LLC_CHAINS here, fewer in a compression */
    s->start = NMDL_LLC_START_MIXED;
    s->burnin = -1; /* automatic */
    s->draws = p.draws;
    s->batch = 4;
    s->seed = 1;
    s->threads = 1;
    s->repairs = NMDL_LLC_REPAIRS;
    s->cool = -1;
}

/* nβ for n input bytes (n - 1 predicted ones): the settings' or the
 * default. */
static double nbeta_of(const nmdl_llc_settings *s, size_t n)
{
    return s->nbeta > 0 ? s->nbeta : nmdl_llc_default_nbeta((double)n - 1);
}

/* The sampler's parameters for settings s on n input bytes; the step is
 * the sweep's first when s leaves it to the sweep. */
static void to_params(const nmdl_llc_settings *s, size_t n, nmdl_llc_params *p)
{
    nmdl_llc_params_default(p);
    p->sampler = s->sampler == NMDL_SAMPLER_PSGLD ? NMDL_LLC_PSGLD : NMDL_LLC_SGLD;
    p->nbeta = nbeta_of(s, n);
    p->step = s->step > 0 ? s->step : SWEEP_TOP_NB / p->nbeta;
    p->gamma = s->gamma > 0 ? s->gamma : p->gamma;
    p->chains = s->chains > 0 ? s->chains : NMDL_LLC_CHAINS;
    p->start = s->start == NMDL_LLC_START_MIXED ? NMDL_LLC_MIXED : NMDL_LLC_COLD;
    p->burnin = s->burnin >= 0 ? s->burnin : p->burnin;
    p->draws = s->draws;
    p->seed = s->seed;
    p->threads = s->threads;
    p->team = s->team;
    p->repairs = s->repairs;
}

_Static_assert(NMDL_LLC_SWEEP <= NMDL_LLC_SWEEP_MAX, "the report holds the sweep");

static void report_sweep(const nmdl_llc_sweep *w, nmdl_llc_report *r)
{
    r->sweep_n = w->n;
    r->sweep_chosen = w->chosen;
    r->sweep_below = w->below;
    for (int i = 0; i < w->n; i++) {
        r->sweep_step[i] = w->step[i];
        r->sweep_llc[i] = w->llc[i];
        r->sweep_mala[i] = w->mala[i];
        r->sweep_healthy[i] = w->healthy[i];
    }
}

static void report_result(const nmdl_llc_result *e, nmdl_llc_report *r)
{
    const double ln2 = 0.6931471805599453;
    r->llc = e->llc, r->llc_se = e->llc_se, r->nbeta = e->nbeta;
    r->start = isnan(e->llc_cold) ? NMDL_LLC_START_COLD : NMDL_LLC_START_MIXED;
    r->llc_cold = e->llc_cold, r->llc_warm = e->llc_warm;
    r->step = e->step, r->gamma = e->gamma, r->mala = e->mala;
    r->init_loss_bpb = e->init_loss / ln2;
    r->chains = e->chains, r->steps = e->steps, r->burnin = e->burnin;
    r->healthy = e->healthy;
    snprintf(r->warning, sizeof r->warning, "%s", e->warning);
    for (size_t i = 0; i < (size_t)e->chains * e->steps; i++)
        r->trace[i] = e->trace[i] / ln2;
}

int nmdl_model_llc(nmdl_model *m, const void *data, size_t n,
                   const nmdl_llc_settings *s, nmdl_llc_report *r)
{
    return nmdl_llctf_run(m, data, n, s, r, NULL, NULL);
}

/* What a chain step costs per FLOP against a training step: one thread,
 * minibatches of 4 windows, and the sampler's own work per weight
 * (measured 2026-12-01, mini and tiny at -T2, see ARCHITECTURE "Progress"). */
#define LLC_COST 1.35

/* The sampler's parameters for settings s on the model shape cfg and n
 * input bytes: the estimate's, and with `sweep` the sweep's runs. */
static void run_params(const nmdl_model_config *cfg, const nmdl_llc_settings *s,
                       size_t n, int sweep, nmdl_llc_params *p)
{
    to_params(s, n, p);
    p->step_work = LLC_COST * nmdl_train_step_work(cfg, s->batch);
    if (sweep) {
        p->chains = SWEEP_CHAINS < p->chains ? SWEEP_CHAINS : p->chains;
        p->burnin = SWEEP_BURNIN;
        p->draws = SWEEP_DRAWS;
        p->mala_every = nmdl_llc_sweep_mala_every(p);
    }
}

/* The automatic burn-in after a swept step: at least the relaxation time
 * (llc.h), or MIXED_BURNIN of it with mixed starts, up to RELAX_MAX steps
 * (the relaxation at ε = 1e-7 and the default γ); a burn-in the caller set
 * is kept as it is. */
#define RELAX_MAX 2000
#define MIXED_BURNIN 0.5
static int relaxed_burnin(const nmdl_llc_settings *s, const nmdl_llc_params *p)
{
    if (s->burnin >= 0)
        return p->burnin;
    const double t = nmdl_llc_relax_steps(p) * (p->start == NMDL_LLC_MIXED ? MIXED_BURNIN : 1);
    const int relax = t < RELAX_MAX ? (int)ceil(t) : RELAX_MAX;
    return p->burnin > relax ? p->burnin : relax;
}

double nmdl_llctf_plan(const nmdl_model_config *cfg, const nmdl_llc_settings *s,
                       size_t n, long *steps)
{
    nmdl_llc_params p, q;
    run_params(cfg, s, n, 0, &p);
    run_params(cfg, s, n, 1, &q);
    const int runs = s->step > 0 ? 0 : NMDL_LLC_SWEEP_PLAN;
    if (runs) /* the burn-in at the usual choice, the default step */
        p.burnin = relaxed_burnin(s, &p);
    *steps = (long)p.chains * (p.burnin + p.draws) + runs * (long)q.chains * (q.burnin + q.draws);
    return nmdl_llc_work(&p) + runs * nmdl_llc_work(&q);
}

/* The sweep from p->step (the top) down: sets p->step to its choice (the
 * smallest step tried when none was usable) and p->burnin to the
 * relaxation after it, and corrects prog's plan for the estimate, which
 * counted `planned` burn-in steps a chain. */
static int choose_step(const nmdl_llc_target *t, const nmdl_llc_settings *s,
                       nmdl_llc_params *p, int planned, nmdl_llc_sweep *sweep)
{
    nmdl_llc_params before = *p, after;
    before.burnin = planned;
    int rc = nmdl_llc_calibrate(t, p, p->step, SWEEP_CHAINS < p->chains ? SWEEP_CHAINS : p->chains,
                                SWEEP_BURNIN, SWEEP_DRAWS, sweep, &p->step);
    if (!rc && sweep->chosen < 0)
        p->step = sweep->step[sweep->n - 1];
    after = *p;
    after.burnin = sweep->chosen < 0 ? p->burnin : relaxed_burnin(s, p);
    nmdl_prog_grow(p->prog, nmdl_llc_work(&after) - nmdl_llc_work(&before),
                   (long)p->chains * (after.burnin - before.burnin));
    p->burnin = after.burnin;
    return rc;
}

/* The cold descent: the rate falls from the end of the model's default
 * schedule to COOL_FINAL of it, after a short warm-up that lets AdamW's
 * fresh moments settle. Measured on small at 8 MB of gcide, whose schedule
 * ends at 10% of its peak and whose chains settled below L(w*): after 250,
 * 500 and 1,000 such steps the estimate read 4,993, 6,231 and 7,390, all
 * healthy; λ̂ grows with the descent, and 500 steps (2.5% of that training)
 * are the default (docs/BENCHMARKS.md, "Cooling the estimate's weights").
 * The rate is the default schedule's, whatever rate trained the model. */
#define COOL_FINAL 0.02
#define COOL_WARMUP 0.02
#define COOL_SEED 0x636f6f6cULL /* "cool": the descent's windows */

static void cool_params(const nmdl_model_config *cfg, const nmdl_llc_settings *s,
                        nmdl_train_params *tp)
{
    nmdl_train_params_default(tp);
    nmdl_train_schedule(cfg, tp);
    tp->lr *= tp->lr_final;
    tp->lr_final = COOL_FINAL;
    tp->warmup = COOL_WARMUP;
    tp->steps = s->cool < 0 ? NMDL_LLC_COOL : s->cool;
    tp->seed = s->seed ^ COOL_SEED;
    tp->threads = s->threads;
    tp->team = s->team;
}

/* RMS of a - b over the RMS of b, both (d). */
static double rel_shift(const float *a, const float *b, size_t d)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < d; i++) {
        const double e = (double)a[i] - b[i];
        num += e * e, den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : 0;
}

/* Trains a copy of m from x's w* as cool_params say, counting the steps and
 * the two sample losses in prog's plan first, and makes the result x's w*
 * (the target's); the descent into r. */
static int cool_w_star(const nmdl_model *m, const uint8_t *data, size_t n,
                       const nmdl_llc_settings *s, nmdl_llctf *x, nmdl_prog *prog,
                       nmdl_llc_report *r)
{
    const double ln2 = 0.6931471805599453;
    const size_t d = m->lay.n_params;
    nmdl_train_params tp;
    cool_params(&m->cfg, s, &tp);
    nmdl_prog_grow(prog, (double)tp.steps * nmdl_train_step_work(&m->cfg, tp.batch) +
                   2 * nmdl_train_sample_work(&m->cfg, n), tp.steps);
    nmdl_model *c = NULL;
    nmdl_train_sample smp = {0};
    nmdl_train_report tr;
    double before = NAN, after = NAN;
    int rc = nmdl_model_create(&m->cfg, 0, &c);
    if (!rc)
        rc = nmdl_train_sample_make(&smp, data, n, m->cfg.ctx, NULL, 0);
    if (!rc) {
        memcpy(c->params, x->w_star, d * sizeof(float));
        c->threads = s->threads;
        smp.team = s->team;
        rc = nmdl_train_sample_loss(c, &smp, prog, &before);
    }
    if (!rc)
        rc = nmdl_train_run(c, data, n, &tp, NULL, prog, &tr);
    if (!rc)
        rc = nmdl_train_sample_loss(c, &smp, prog, &after);
    if (!rc) {
        r->cool_steps = tr.steps;
        r->cool_lr = tp.lr, r->cool_lr_final = tp.lr * tp.lr_final;
        r->cool_from_bpb = before / ln2, r->cool_to_bpb = after / ln2;
        r->cool_shift = rel_shift(c->params, x->w_star, d);
        memcpy(x->w_star, c->params, d * sizeof(float));
    }
    nmdl_train_sample_free(&smp);
    nmdl_model_free(c);
    nmdl_prog_detail(prog, NAN, 0); /* the bar shows training's loss no more */
    return rc;
}

/* The step for the estimate into p: the sweep, and where it finds w* no
 * minimum and s allows, the cold descent and a second sweep from the
 * same top. Fills r's sweep (the last one's) and its cooling. */
static int sweep_step(const nmdl_model *m, const uint8_t *data, size_t n,
                      const nmdl_llc_settings *s, nmdl_llctf *x, const nmdl_llc_target *t,
                      nmdl_llc_params *p, nmdl_llc_sweep *sweep, nmdl_llc_report *r)
{
    const nmdl_llc_params top = *p;
    int rc = choose_step(t, s, p, relaxed_burnin(s, p), sweep); /* nmdl_llctf_plan's */
    if (!rc && sweep->below && s->cool != 0) {
        r->cool_llc = sweep->llc[sweep->n - 1];
        r->cool_llc_step = sweep->step[sweep->n - 1];
        nmdl_llc_params q;
        run_params(&m->cfg, s, n, 1, &q);
        nmdl_prog_grow(p->prog, NMDL_LLC_SWEEP_PLAN * nmdl_llc_work(&q),
                       NMDL_LLC_SWEEP_PLAN * (long)q.chains * (q.burnin + q.draws));
        rc = cool_w_star(m, data, n, s, x, p->prog, r);
        const int planned = p->burnin;
        *p = top;
        if (!rc)
            rc = choose_step(t, s, p, planned, sweep);
    }
    report_sweep(sweep, r);
    return rc;
}

int nmdl_llctf_run(const nmdl_model *m, const uint8_t *data, size_t n,
                   const nmdl_llc_settings *s, nmdl_llc_report *r,
                   float **spread, nmdl_prog *prog)
{
    if (!m || !data || !s || !r || s->batch < 1)
        return NMDL_ERR_ARG;
    memset(r, 0, sizeof *r);
    r->batch = s->batch;
    nmdl_llctf *x;
    nmdl_llc_target t;
    nmdl_llc_params p;
    nmdl_llc_sweep sweep = {0};
    nmdl_llc_result e;
    run_params(&m->cfg, s, n, 0, &p);
    p.prog = prog;
    /* workspaces for the chains a repair may add (model/llc.h) */
    const int room = p.repairs > 0 && p.chains < 4 ? 2 * p.chains : p.chains;
    int rc = llctf_create(m, data, n, room, s->batch, &x, &t);
    if (rc)
        return rc;
    if (s->step <= 0)
        rc = sweep_step(m, data, n, s, x, &t, &p, &sweep, r);
    else
        r->sweep_chosen = -1;
    p.want_spread = spread != NULL;
    if (!rc)
        rc = nmdl_llc_estimate_repaired(&t, &p, &e, r->repairs, sizeof r->repairs);
    if (!rc) {
        r->trace = malloc((size_t)e.chains * e.steps * sizeof(double));
        if (r->trace)
            report_result(&e, r);
        else
            rc = NMDL_ERR_NOMEM;
        if (s->step <= 0 && sweep.chosen < 0 && sweep.below && e.fault == NMDL_LLC_BELOW)
            snprintf(r->warning, sizeof r->warning,
                     "the chains settle below L(w*) at an accepted step (%.3g)%s: w* is "
                     "no minimum of the loss, and a smaller step only scales the "
                     "estimate down", sweep.step[sweep.n - 1],
                     r->cool_steps ? " also after cooling" : "");
        else if (s->step <= 0 && sweep.chosen < 0 && !r->healthy)
            snprintf(r->warning, sizeof r->warning,
                     "no step size of the sweep was usable; estimated at %.3g "
                     "(the sweep's smallest was %.3g)", p.step, sweep.step[sweep.n - 1]);
        if (spread && !rc) {
            *spread = e.spread;
            e.spread = NULL;
        }
        nmdl_llc_result_free(&e);
    }
    llctf_free(x);
    return rc;
}

void nmdl_llc_report_free(nmdl_llc_report *r)
{
    free(r->trace);
    r->trace = NULL;
}
