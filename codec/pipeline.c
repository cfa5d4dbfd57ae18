/*
 * pipeline.c: the public compression entry points (nmdl.h). They produce
 * the candidate parts (neural, zstd, stored), keep the smallest frame, and
 * leave framing and checksums to container/frame.c; decompress.c reads
 * frames back, report.c what they record.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "../container/frame.h"
#include "../model/train.h"
#include "match.h"
#include "mixcode.h"
#include "segcode.h"
#include "neural.h"
#include "nmdl.h"
#include "report.h"
#include "stop.h"

#define ZSTD_METHOD_LEVEL 19
#define NEURAL_MIN_BYTES 1024     /* below this the model cannot pay */
#define TOKENS_MIN 64              /* a pair merges where it occurs this often */
/* Tokens by default from this many input bytes: measured at the default
 * effort (docs/BENCHMARKS.md, "Tokens"), 8 MB of gcide came out 1.3%
 * smaller and coded 1.85 x faster, 2 MB of enwik8 the same size (+0.08%),
 * 1 MB of enwik8 0.8% larger (its 25 passes over fewer symbols: 0.69 x
 * the FLOPs, 39% faster). */
#define TOKENS_AUTO_BYTES 4000000
#define ZSTD_SLICE 4096           /* output bytes per call: zstd returns
                                     between its blocks to let us report */
/* Work units of one input byte of zstd at level 19 against training
 * (model/progress.h; measured 2026-12-01 at -T2 with the tiny and mini
 * models, see ARCHITECTURE "Progress"). */
#define ZSTD_COST 1.7e4
/* And of the mix candidate (codec/mixcode.h), on one thread: 18 x
 * zstd's time on 1 MB of enwik8 (2026-12-07, payload revision 8: 5.4 s
 * against 0.3). */
#define MIX_COST 3.1e5

struct nmdl_cctx {
    nmdl_method method;         /* method to try */
    int threads;
    nmdl_team team;             /* when has_team */
    int has_team;
    nmdl_neural_params neural;  /* effort, bits, seed, ... */
    nmdl_model_config cfg;      /* when has_cfg */
    int has_cfg;
    int fallback;               /* write the smallest candidate */
    int early_stop;             /* with it, the neural attempt may stop early */
    int tokens;                 /* 1: the neural method codes merged symbols;
                                   0: bytes; -1: from TOKENS_AUTO_BYTES */
    nmdl_progress_fn progress;  /* may be NULL */
    void *progress_user;
    nmdl_model_config probe_cfg; /* the last probe's model, threads and */
    int probe_threads;          /* rate (work units per second; 0: none) */
    double probe_rate;
    nmdl_compress_report report; /* of the last call */
    ZSTD_CCtx *zc;
};

nmdl_cctx *nmdl_cctx_create(void)
{
    if (sodium_init() < 0)
        return NULL;
    nmdl_cctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->method = NMDL_METHOD_NEURAL;
    c->threads = 1;
    c->fallback = 1;
    c->early_stop = 1;
    c->tokens = -1;
    nmdl_neural_params_default(&c->neural);
    c->zc = ZSTD_createCCtx();
    if (!c->zc) {
        free(c);
        return NULL;
    }
    return c;
}

void nmdl_cctx_free(nmdl_cctx *c)
{
    if (!c)
        return;
    ZSTD_freeCCtx(c->zc);
    free(c);
}

int nmdl_cctx_set_method(nmdl_cctx *c, nmdl_method m)
{
    if (!c || (unsigned)m >= NMDL_METHODS)
        return NMDL_ERR_ARG;
    c->method = m;
    return NMDL_OK;
}

int nmdl_cctx_set_threads(nmdl_cctx *c, int threads)
{
    if (!c || threads < 1)
        return NMDL_ERR_ARG;
    c->threads = threads;
    return NMDL_OK;
}

int nmdl_cctx_set_team(nmdl_cctx *c, const nmdl_team *team)
{
    if (!c || !nmdl_team_valid(team))
        return NMDL_ERR_ARG;
    c->has_team = team != NULL;
    if (team)
        c->team = *team;
    return NMDL_OK;
}

int nmdl_cctx_set_effort(nmdl_cctx *c, int effort)
{
    if (!c || effort < 1 || effort > 9)
        return NMDL_ERR_ARG;
    c->neural.effort = effort;
    return NMDL_OK;
}

int nmdl_cctx_set_bits(nmdl_cctx *c, double bits)
{
    if (!c || !(bits >= 0 && bits <= 32))
        return NMDL_ERR_ARG;
    c->neural.budget.bits = bits;
    c->neural.budget.mode = bits > 0 ? NMDL_BUDGET_FIXED : NMDL_BUDGET_SEARCH;
    return NMDL_OK;
}

int nmdl_cctx_set_budget(nmdl_cctx *c, int mode)
{
    if (!c || mode < NMDL_BUDGET_FIXED || mode > NMDL_BUDGET_SEARCH)
        return NMDL_ERR_ARG;
    c->neural.budget.mode = mode;
    return NMDL_OK;
}

int nmdl_cctx_set_epsilon(nmdl_cctx *c, double epsilon)
{
    if (!c || !(epsilon >= 0 && epsilon < 1))
        return NMDL_ERR_ARG;
    c->neural.budget.epsilon = epsilon;
    return NMDL_OK;
}

int nmdl_cctx_set_posterior_rows(nmdl_cctx *c, int on)
{
    if (!c || (on != 0 && on != 1))
        return NMDL_ERR_ARG;
    c->neural.budget.posterior = on;
    return NMDL_OK;
}

static const char *const weights_names[] = {"round",   "rate",    "l0-drr",
                                            "l0-rl1", "l0-pmmp", "cluster"};
#define N_WEIGHTS (int)(sizeof weights_names / sizeof weights_names[0])

const char *nmdl_weights_name(int weights)
{
    return weights >= 0 && weights < N_WEIGHTS ? weights_names[weights] : "unknown";
}

int nmdl_weights_parse(const char *name, int *weights)
{
    for (int i = 0; name && i < N_WEIGHTS; i++)
        if (!strcmp(name, weights_names[i])) {
            *weights = i;
            return NMDL_OK;
        }
    return NMDL_ERR_ARG;
}

int nmdl_cctx_set_weights(nmdl_cctx *c, int weights)
{
    if (!c || weights < NMDL_WEIGHTS_AUTO || weights >= N_WEIGHTS)
        return NMDL_ERR_ARG;
    c->neural.weights = weights;
    return NMDL_OK;
}

int nmdl_cctx_set_pure(nmdl_cctx *c, int pure)
{
    if (!c)
        return NMDL_ERR_ARG;
    c->neural.match = pure ? NMDL_SC_PURE : NMDL_SC_MIX8;
    return NMDL_OK;
}

int nmdl_cctx_set_segments(nmdl_cctx *c, int segments)
{
    if (!c || segments < 0 || segments > NMDL_NEURAL_MAX_SEGMENTS)
        return NMDL_ERR_ARG;
    c->neural.segments = segments;
    return NMDL_OK;
}

int nmdl_cctx_set_repeats_weight(nmdl_cctx *c, double weight)
{
    if (!c || !(weight >= 0 && weight <= 1))
        return NMDL_ERR_ARG;
    c->neural.cheap_weight = (float)weight;
    return NMDL_OK;
}

int nmdl_cctx_set_llc(nmdl_cctx *c, const nmdl_llc_settings *s)
{
    if (!c || !s || s->chains < 0 || s->draws < 1 || s->burnin < -1 ||
        s->batch < 1 || s->step < 0 || s->nbeta < 0 || !(s->gamma >= 0) || s->cool < -1 ||
        (s->sampler != NMDL_SAMPLER_SGLD && s->sampler != NMDL_SAMPLER_PSGLD))
        return NMDL_ERR_ARG;
    c->neural.budget.llc = *s;
    return NMDL_OK;
}

int nmdl_cctx_set_seed(nmdl_cctx *c, uint64_t seed)
{
    if (!c)
        return NMDL_ERR_ARG;
    c->neural.seed = seed;
    return NMDL_OK;
}

int nmdl_cctx_set_per_row(nmdl_cctx *c, int per_row)
{
    if (!c || (per_row != 0 && per_row != 1))
        return NMDL_ERR_ARG;
    c->neural.budget.per_row = per_row;
    return NMDL_OK;
}

int nmdl_cctx_set_model(nmdl_cctx *c, const nmdl_model_config *cfg)
{
    if (!c || (cfg && nmdl_model_config_check(cfg)))
        return NMDL_ERR_ARG;
    c->has_cfg = cfg != NULL;
    if (cfg)
        c->cfg = *cfg;
    return NMDL_OK;
}

int nmdl_cctx_set_steps(nmdl_cctx *c, long train, long tune)
{
    if (!c || train < -1 || tune < -1)
        return NMDL_ERR_ARG;
    c->neural.train_steps = train;
    c->neural.qat_steps = tune;
    return NMDL_OK;
}

int nmdl_cctx_set_fallback(nmdl_cctx *c, int allow)
{
    if (!c || (allow != 0 && allow != 1))
        return NMDL_ERR_ARG;
    c->fallback = allow;
    return NMDL_OK;
}

int nmdl_cctx_set_early_stop(nmdl_cctx *c, int allow)
{
    if (!c || (allow != 0 && allow != 1))
        return NMDL_ERR_ARG;
    c->early_stop = allow;
    return NMDL_OK;
}

int nmdl_cctx_set_tokens(nmdl_cctx *c, int on)
{
    if (!c || on < -1 || on > 1)
        return NMDL_ERR_ARG;
    c->tokens = on;
    return NMDL_OK;
}

void nmdl_cctx_set_progress(nmdl_cctx *c, nmdl_progress_fn fn, void *user)
{
    if (!c)
        return;
    c->progress = fn;
    c->progress_user = user;
}

void nmdl_cctx_report(const nmdl_cctx *c, nmdl_compress_report *r)
{
    *r = c->report;
}

/* Inputs nmdl_compress takes: a frame's lengths are below 2^63, and the
 * bound must not wrap. */
static int too_large(size_t src_len)
{
    return src_len > SIZE_MAX - NMDL_FRAME_OVERHEAD_MAX || (uint64_t)src_len >> 62;
}

size_t nmdl_compress_bound(size_t src_len)
{
    return too_large(src_len) ? 0 : src_len + NMDL_FRAME_OVERHEAD_MAX;
}

/* One zstd frame of src written to out, which has room for cap bytes, as
 * the phase "zstd" of job: *out_len is 0 when the frame would not fit (it
 * would not be smaller than cap). The worker count is always at least one
 * so that the output is the same for every thread count; fed a slice of
 * output at a time, zstd writes the same frame as ZSTD_compress2 (tested)
 * and returns between blocks. */
static int zstd_part(nmdl_cctx *c, const void *src, size_t n, nmdl_prog *job,
                     uint8_t *out, size_t cap, size_t *out_len)
{
    ZSTD_CCtx *z = c->zc;
    ZSTD_CCtx_reset(z, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, ZSTD_METHOD_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_enableLongDistanceMatching, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_windowLog, NMDL_FRAME_ZSTD_WINDOW_LOG)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_nbWorkers, c->threads)) ||
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(z, n)))
        return NMDL_ERR_BACKEND;
    ZSTD_inBuffer in = {src, n, 0};
    ZSTD_outBuffer o = {out, 0, 0};
    size_t left = 1;
    *out_len = 0;
    int rc = nmdl_prog_phase(job, NMDL_PHASE_ZSTD, ZSTD_COST * (double)n, 0);
    while (!rc && left) {
        size_t before = o.pos;
        o.size = cap - o.pos < ZSTD_SLICE ? cap : o.pos + ZSTD_SLICE;
        left = ZSTD_compressStream2(z, &o, &in, ZSTD_e_end);
        if (ZSTD_isError(left))
            return ZSTD_getErrorCode(left) == ZSTD_error_memory_allocation
                       ? NMDL_ERR_NOMEM : NMDL_ERR_BACKEND;
        if (left && o.pos == cap) /* does not fit: the phase is done */
            return nmdl_prog_add(job, ZSTD_COST * (double)n, (long)(o.pos - before));
        /* the input's progress is not known: output bytes as steps */
        rc = nmdl_prog_add(job, left ? 0 : ZSTD_COST * (double)n, (long)(o.pos - before));
    }
    *out_len = rc ? 0 : o.pos;
    return rc;
}

/* A candidate frame: its parts and the size it would take. */
typedef struct candidate {
    nmdl_frame f;
    uint8_t *model, *data; /* parts this call allocated (neural, mix), freed at the end */
    size_t size;           /* 0: not produced */
    uint8_t report[NMDL_REPORT_BYTES];
} candidate;

static void frame_of(candidate *k, unsigned method, uint64_t n, const uint8_t *sum,
                     const uint8_t *model, size_t model_len, const uint8_t *data,
                     size_t data_len)
{
    k->f = nmdl_frame_of(method, n, sum, model, model_len, data, data_len);
    k->size = nmdl_frame_size(&k->f);
}

static void budget_report(const nmdl_budget_report *b, nmdl_compress_report *o)
{
    o->budget_mode = b->mode;
    o->budget_bits = b->bits;
    o->llc = b->llc, o->llc_se = b->llc_se, o->nbeta = b->nbeta;
    o->llc_step = b->llc_step, o->mala = b->mala, o->llc_healthy = b->llc_healthy;
    o->llc_gamma = b->llc_gamma, o->llc_chains = b->llc_chains;
    o->llc_burnin = b->llc_burnin, o->llc_draws = b->llc_draws, o->llc_start = b->llc_start;
    memcpy(o->llc_warning, b->llc_warning, sizeof o->llc_warning);
    memcpy(o->llc_repairs, b->llc_repairs, sizeof o->llc_repairs);
    o->llc_cool_steps = b->llc_cool_steps;
    memcpy(o->llc_cool, b->llc_cool, sizeof o->llc_cool);
    o->epsilon = b->epsilon, o->b_star = b->b_star; /* per symbol, as λ̂ */
    o->predicted_model_bits = b->predicted_model_bits;
    o->loss_float_bpb = b->loss_float_bpb;
    o->priced_bytes = b->priced_bytes;
    o->llc_s = b->llc_s, o->search_s = b->search_s;
    memcpy(o->budget_note, b->note, sizeof o->budget_note);
    o->n_candidates = b->n;
    for (int i = 0; i < b->n; i++) {
        o->cand_bits[i] = b->cand_bits[i];
        o->cand_model_bits[i] = b->cand_model_bits[i];
        o->cand_loss_bpb[i] = b->cand_loss_bpb[i];
        o->cand_dl_bits[i] = b->cand_dl_bits[i];
        o->cand_tuned[i] = b->cand_tuned[i];
    }
}

/* What the neural method codes: the input's n bytes, or with tokens their
 * merged symbols (codec/bpe.h; none when no pair is frequent enough). */
typedef struct text {
    const uint8_t *p;
    size_t n;        /* symbols */
    size_t bytes;    /* the input's */
    uint8_t *own;    /* the merged symbols (malloc'd), or NULL */
    nmdl_bpe bpe;
    uint8_t *cheap;  /* n flags: the free bytes (malloc'd), or NULL */
} text;

static void text_free(text *t)
{
    free(t->own);
    free(t->cheap);
}

static int text_make(const nmdl_cctx *c, const uint8_t *src, size_t n, text *t)
{
    memset(t, 0, sizeof *t);
    t->p = src, t->n = t->bytes = n;
    if (!c->tokens || (c->tokens < 0 && n < TOKENS_AUTO_BYTES) ||
        c->method != NMDL_METHOD_NEURAL || n < NEURAL_MIN_BYTES)
        return NMDL_OK;
    if (!(t->own = malloc(n)))
        return NMDL_ERR_NOMEM;
    int rc = nmdl_bpe_learn(src, n, TOKENS_MIN, &t->bpe, t->own, &t->n);
    if (rc || !t->bpe.count) { /* nothing merged: the bytes themselves */
        free(t->own);
        t->own = NULL;
        t->n = n;
    }
    t->p = t->own ? t->own : src;
    return rc;
}

/* The neural attempt's measurements into the call's report (also after a
 * cancel: what was done until then). */
static void neural_report(const nmdl_neural_report *r, const nmdl_neural_params *p,
                          nmdl_compress_report *o)
{
    budget_report(&r->budget, o);
    o->effort = p->effort;
    o->weights = p->weights;
    o->model_estimate_bits = p->weights == NMDL_WEIGHTS_ROUND ? NAN : r->model_estimate_bits;
    o->model_level_bits = p->weights == NMDL_WEIGHTS_ROUND ? NAN : r->model_level_bits;
    o->n_params = r->n_params;
    o->bits_per_weight = r->bits_per_weight;
    o->delta = r->delta;
    o->loss_train_bpb = r->loss_train_bpb;
    o->data_bpb = r->data_bpb;
    o->pure_data_bytes = r->pure_data_bytes;
    o->data_code = r->data_code;
    o->other_code = r->other_code, o->other_data_bytes = r->other_data_bytes;
    o->free_bytes = nmdl_neural_free_bytes(p) * p->bytes_per_symbol;
    o->train_steps = r->train_steps;
    o->early_stop_step = r->stop_step;
    o->probe_step = r->probe_step;
    o->probe_bound_bytes = r->probe_bound_bytes;
    o->probe_loss_bpb = r->probe_loss_bpb;
    o->tune_steps = r->qat_steps;
    o->segments = r->segments;
    o->merges = p->tokens ? p->tokens->count : 0;
    o->train_s = r->train_s;
    o->tune_s = r->qat_s;
    o->code_s = r->code_s;
}

/* The figures of r per symbol made per input byte (b: input bytes per
 * symbol); ε and λ̂ stay the samples', the symbols'. */
static void per_byte(nmdl_neural_report *r, double b)
{
    r->loss_train_bpb /= b, r->data_bpb /= b, r->probe_loss_bpb /= b;
    r->budget.loss_float_bpb /= b;
    r->budget.priced_bytes *= b;
    for (int i = 0; i < r->budget.n; i++)
        r->budget.cand_loss_bpb[i] /= b;
}

static int neural_candidate(nmdl_cctx *c, const nmdl_neural_params *p, const text *t,
                            const uint8_t *sum, candidate *k)
{
    nmdl_neural_report r;
    size_t ml, dl;
    memset(&r, 0, sizeof r);
    int rc = nmdl_neural_encode(p, t->p, t->n, &k->model, &ml, &k->data, &dl, &r);
    per_byte(&r, p->bytes_per_symbol);
    neural_report(&r, p, &c->report);
    if (rc || r.stop_step)
        return rc;
    frame_of(k, NMDL_METHOD_NEURAL, t->bytes, sum, k->model, ml, k->data, dl);
    nmdl_report_encode(&r.budget, p->effort, p->weights, k->report);
    k->f.report = k->report;
    k->f.report_len = NMDL_REPORT_BYTES;
    k->size = nmdl_frame_size(&k->f);
    c->report.model_bytes = ml;
    c->report.data_bytes = dl;
    return NMDL_OK;
}

/* Whether the mix method is tried on n bytes: asked for, or as the
 * neural method's fallback where a streamed decode of its frame fits the
 * default memory limit. */
static int tries_mix(const nmdl_cctx *c, size_t n)
{
    if (n < 1 || n > NMDL_MM_MAX_INPUT)
        return 0;
    return c->method == NMDL_METHOD_MIX ||
           (c->fallback && c->method == NMDL_METHOD_NEURAL &&
            nmdl_mx_decode_bytes(n, NMDL_MX_REVISION) + (uint64_t)n <= NMDL_MEMORY_DEFAULT);
}

/* With the fallback, a neural or mix frame of n bytes that a decoder's
 * default ratio limit would refuse is dropped: nmdl never writes by
 * choice a frame it cannot decode with its defaults. */
static void drop_beyond_ratio(candidate *k, uint64_t n)
{
    if (k->size && (n - 1) / NMDL_MAX_RATIO_DEFAULT >= k->size)
        k->size = 0;
}

/* The mix frame of src (n bytes) as the phase "mix" of job. */
static int mix_candidate(const uint8_t *src, size_t n, const uint8_t *sum, nmdl_prog *job,
                         candidate *k)
{
    size_t len = 0;
    int rc = nmdl_prog_phase(job, NMDL_PHASE_MIX, MIX_COST * (double)n, (long)n);
    if (!rc)
        rc = nmdl_mx_encode(src, n, job, MIX_COST, &k->data, &len);
    if (!rc)
        frame_of(k, NMDL_METHOD_MIX, n, sum, NULL, 0, k->data, len);
    return rc;
}

/* The job nmdl_compress runs on src[0..n): each phase's work units (work,
 * by nmdl_phase) and, when the neural method will be tried (*neural), its
 * parameters (with the match model, f counted once for the preset, the
 * early stop and the search) and plan. */
static int plan_job(const nmdl_cctx *c, text *t, nmdl_neural_params *np,
                    nmdl_neural_plan *plan, double *work, int *neural)
{
    const size_t n = t->bytes;
    for (int i = 0; i < NMDL_PHASES; i++)
        work[i] = 0;
    if (c->method != NMDL_METHOD_STORED)
        work[NMDL_PHASE_ZSTD] = ZSTD_COST * (double)n;
    if (tries_mix(c, n))
        work[NMDL_PHASE_MIX] = MIX_COST * (double)n;
    *np = c->neural;
    np->weights = nmdl_neural_weights(np);
    np->threads = c->threads;
    np->team = c->has_team ? &c->team : NULL;
    np->cfg = c->has_cfg ? &c->cfg : NULL;
    *neural = c->method == NMDL_METHOD_NEURAL && n >= NEURAL_MIN_BYTES;
    if (!*neural)
        return NMDL_OK;
    int rc = NMDL_OK;
    np->tokens = t->own ? &t->bpe : NULL;
    np->bytes_per_symbol = (double)n / (double)t->n;
    if (np->match && t->n <= NMDL_MM_MAX_INPUT) {
        if (np->cheap_weight < 1 && !(t->cheap = malloc(t->n)))
            return NMDL_ERR_NOMEM;
        if ((rc = nmdl_stop_free_bytes(t->p, t->n, np->match,
                                       nmdl_neural_segments_of(np, t->n, np->match), t->cheap,
                                       &np->free_bytes)))
            return rc; /* a team's members must plan and price alike */
        np->cheap = t->cheap;
    }
    rc = nmdl_neural_plan_make(np, t->n, plan);
    for (int i = NMDL_PHASE_TRAIN; !rc && i <= NMDL_PHASE_CODE; i++)
        work[i] = plan->work[i];
    return rc;
}

/* The rate of the context's last probe when it was of this model. */
static double probe_rate(const nmdl_cctx *c, const nmdl_model_config *cfg)
{
    return c->probe_rate > 0 && c->probe_threads == c->threads &&
                   !memcmp(&c->probe_cfg, cfg, sizeof *cfg)
               ? c->probe_rate : 0.0;
}

/* Index of the smallest produced candidate (the stored one always is). */
static int smallest(const candidate *k, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (k[i].size && k[i].size < k[best].size)
            best = i;
    return best;
}

/* Where the frame goes: the caller's buffer, or one of the bound's size
 * that this call allocates and trims. The zstd candidate is made in place,
 * after room for the largest header it can have, and moved down when it
 * wins: no buffer of the input's size besides the destination. */
typedef struct dest {
    uint8_t *p;
    size_t cap;
    int alloc;
} dest;

static int compress_frame(nmdl_cctx *c, const void *src, size_t src_len,
                          dest *o, size_t *dst_len)
{
    if (too_large(src_len))
        return NMDL_ERR_TOO_LARGE;
    const size_t at = nmdl_frame_header_bound(src_len), room = at + 2 * NMDL_FRAME_SUM_BYTES;
    const int any_zstd = !c->fallback && c->method == NMDL_METHOD_ZSTD;
    if (o->alloc) {
        o->cap = nmdl_compress_bound(src_len);
        if (any_zstd && room + ZSTD_compressBound(src_len) > o->cap)
            o->cap = room + ZSTD_compressBound(src_len);
        if (!(o->p = malloc(o->cap)))
            return NMDL_ERR_NOMEM;
    }
    memset(&c->report, 0, sizeof c->report);
    c->report.stopped_phase = -1;
    c->report.llc_healthy = -1; /* until an estimate says otherwise */
    nmdl_neural_params np;
    nmdl_neural_plan plan;
    double work[NMDL_PHASES];
    nmdl_prog job;
    text t;
    int neural, rc = text_make(c, src, src_len, &t);
    if (rc || (rc = plan_job(c, &t, &np, &plan, work, &neural))) {
        text_free(&t);
        return rc;
    }
    nmdl_prog_start(&job, c->progress, c->progress_user, c->threads, work,
                    neural ? probe_rate(c, &plan.cfg) : 0.0);
    np.prog = &job;
    uint8_t sum[NMDL_FRAME_SUM_BYTES];
    nmdl_frame_sum(src, src_len, sum);
    enum { STORED, ZSTD, MIX, NEURAL }; /* the classic ones first */
    candidate k[4];
    memset(k, 0, sizeof k);
    frame_of(&k[STORED], NMDL_METHOD_STORED, src_len, sum, NULL, 0, src, src_len);
    size_t zlen = 0, zcap = o->cap > room ? o->cap - room : 0;
    if (!any_zstd && zcap > src_len) /* longer would lose to the stored bytes */
        zcap = src_len;
    double t0 = nmdl_prog_now();
    if (c->method != NMDL_METHOD_STORED && zcap &&
        !(rc = zstd_part(c, src, src_len, &job, o->p + at, zcap, &zlen)) && zlen)
        frame_of(&k[ZSTD], NMDL_METHOD_ZSTD, src_len, sum, NULL, 0, o->p + at, zlen);
    c->report.zstd_s = nmdl_prog_now() - t0;
    t0 = nmdl_prog_now();
    if (!rc && tries_mix(c, src_len))
        rc = mix_candidate(src, src_len, sum, &job, &k[MIX]);
    if (c->fallback)
        drop_beyond_ratio(&k[MIX], src_len);
    c->report.mix_s = nmdl_prog_now() - t0;
    if (c->fallback && c->early_stop) /* the frame the neural one must beat */
        np.beat_bytes = (double)k[smallest(k, MIX + 1)].size;
    if (!rc && neural)
        rc = neural_candidate(c, &np, &t, sum, &k[NEURAL]);
    if (rc == NMDL_ERR_CANCELED)
        c->report.stopped_phase = job.canceled_in;
    if (!rc && any_zstd && !k[ZSTD].size) /* the frame asked for does not fit */
        rc = NMDL_ERR_DST_SIZE;
    if (!rc && c->fallback)
        drop_beyond_ratio(&k[NEURAL], src_len);
    if (!rc) {
        int classic = smallest(k, MIX + 1), best = smallest(k, NEURAL + 1);
        if (!c->fallback) /* the requested method, whatever its size */
            best = c->method == NMDL_METHOD_NEURAL && k[NEURAL].size ? NEURAL
                   : c->method == NMDL_METHOD_ZSTD && k[ZSTD].size ? ZSTD
                   : c->method == NMDL_METHOD_MIX && k[MIX].size ? MIX : STORED;
        candidate *w = &k[best];
        if (k[NEURAL].size) { /* record the loser of neural against classic */
            w->f.has_alt = 1;
            w->f.alt_method = best == NEURAL ? k[classic].f.method : NMDL_METHOD_NEURAL;
            w->f.alt_size = best == NEURAL ? k[classic].size : k[NEURAL].size;
        }
        size_t size = nmdl_frame_size(&w->f);
        if (o->alloc && size > o->cap) { /* neural without the fallback */
            uint8_t *p = realloc(o->p, size);
            rc = p ? NMDL_OK : NMDL_ERR_NOMEM;
            if (p)
                o->p = p, o->cap = size;
        }
        if (!rc)
            rc = nmdl_frame_write(o->p, o->cap, dst_len, &w->f);
        c->report.method = (nmdl_method)w->f.method;
        c->report.neural_bytes = k[NEURAL].size ? nmdl_frame_size(&k[NEURAL].f) : 0;
        c->report.zstd_bytes = k[ZSTD].size;
        c->report.mix_bytes = k[MIX].size;
        c->report.stored_bytes = k[STORED].size;
    }
    if (!rc)
        nmdl_prog_finish(&job);
    free(k[NEURAL].model);
    free(k[NEURAL].data);
    free(k[MIX].data);
    text_free(&t);
    if (o->alloc && !rc) { /* trim to the frame; shrinking keeps the bytes */
        uint8_t *p = realloc(o->p, *dst_len);
        o->p = p ? p : o->p;
    }
    return rc;
}

/* Trains a fresh model of shape cfg on src for about probe_s seconds; the
 * work units per second into the context's probe. */
static int probe(nmdl_cctx *c, const nmdl_neural_params *np,
                 const nmdl_model_config *cfg, const uint8_t *src, size_t n,
                 double probe_s)
{
    nmdl_model *m;
    nmdl_train_params tp;
    nmdl_train_report tr;
    int rc = nmdl_model_create(cfg, np->seed, &m);
    if (rc)
        return rc;
    nmdl_train_params_default(&tp);
    tp.steps = 0; /* as many as fit the time, after one untimed step */
    tp.minutes = probe_s / 60.0;
    tp.batch = NMDL_NEURAL_TRAIN_BATCH;
    tp.threads = c->threads;
    rc = nmdl_model_train(m, src, n, &tp, &tr);
    nmdl_model_free(m);
    if (rc)
        return rc;
    c->probe_cfg = *cfg;
    c->probe_threads = c->threads;
    c->probe_rate = tr.seconds > 0 && tr.steps > 0
                        ? (double)tr.steps * nmdl_train_step_work(cfg, tp.batch) / tr.seconds
                        : 0.0;
    return NMDL_OK;
}

int nmdl_cctx_estimate(nmdl_cctx *c, const void *src, size_t src_len,
                       double probe_s, nmdl_estimate *e)
{
    if (!c || !e || (!src && src_len) || !(probe_s >= 0 && probe_s < 3600))
        return NMDL_ERR_ARG;
    memset(e, 0, sizeof *e);
    nmdl_neural_params np;
    nmdl_neural_plan plan;
    text t;
    int rc = text_make(c, src, src_len, &t);
    if (rc || (rc = plan_job(c, &t, &np, &plan, e->phase_work, &e->neural))) {
        text_free(&t);
        return rc;
    }
    e->effort = np.effort;
    for (int i = 0; i < NMDL_PHASES; i++)
        e->work += e->phase_work[i];
    if (e->neural) {
        nmdl_tf_layout lay;
        nmdl_tf_layout_make(&plan.cfg, &lay);
        e->model = plan.cfg;
        e->free_bytes = nmdl_neural_free_bytes(&np) * np.bytes_per_symbol;
        e->sized_by_matches = plan.sized_by_matches;
        e->n_params = lay.n_params;
        e->train_steps = plan.train_steps;
        e->tune_steps = plan.qat_steps;
        if (probe_s > 0 && !probe_rate(c, &plan.cfg))
            rc = probe(c, &np, &plan.cfg, t.p, t.n, probe_s);
        e->rate = probe_rate(c, &plan.cfg);
    }
    text_free(&t);
    e->seconds = e->rate > 0 ? e->work / e->rate : NAN;
    for (int i = 0; i < NMDL_PHASES; i++)
        e->phase_seconds[i] = e->rate > 0 ? e->phase_work[i] / e->rate : NAN;
    return rc;
}

int nmdl_compress(nmdl_cctx *c, void *dst, size_t dst_cap, size_t *dst_len,
                  const void *src, size_t src_len)
{
    if (!c || (!dst && dst_cap) || !dst_len || (!src && src_len))
        return NMDL_ERR_ARG;
    dest o = {dst, dst_cap, 0};
    return compress_frame(c, src, src_len, &o, dst_len);
}

int nmdl_compress_alloc(nmdl_cctx *c, const void *src, size_t src_len,
                        void **dst, size_t *dst_len)
{
    if (!c || !dst || !dst_len || (!src && src_len))
        return NMDL_ERR_ARG;
    dest o = {NULL, 0, 1};
    int rc = compress_frame(c, src, src_len, &o, dst_len);
    *dst = rc ? NULL : o.p;
    if (rc)
        free(o.p);
    return rc;
}
