/*
 * neural.c: see neural.h. Encoding: train the float model (training path),
 * choose the step size for the bit budget, fine-tune through the rounding
 * (quantization-aware), round, entropy-code the levels, rebuild the float
 * weights exactly as a decoder will, and code the segments under them.
 */
#include "neural.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/infer.h"
#include "quant.h"
#include "../model/train.h"
#include "cluster.h"
#include "freq.h"
#include "rate.h"
#include "rc.h"

#define SEGMENT_BYTES 32768 /* target segment length */
#define MAX_KV_BYTES (4ull << 30) /* decoders refuse caches beyond 4 GiB */

/* What an effort level buys: the model one preset off the size's own, the
 * training compute in model FLOPs per input byte (6 N + 12 L C T per
 * trained byte, as bench/train counts), fine-tuning steps as a fraction of
 * the training steps, and the default bits per weight. Effort 6 spends
 * 40 MFLOP per byte (25 passes over 1 MB with mini, 10 over 8 MB with
 * small), so that with the LLC estimate, the budget search, fine-tuning
 * and coding 1 MB compresses in about ten minutes on 2 cores;
 * docs/BENCHMARKS.md has the phase split. */
static const struct effort {
    int shift;
    double flops_per_byte, qat, bits;
} efforts[10] = {
    {0, 0, 0, 0}, /* unused: levels are 1..9 */
    {-1, 2.5e6, 0.10, 3.0}, {-1, 5e6, 0.10, 3.0}, {0, 10e6, 0.10, 3.0},
    {0, 15e6, 0.12, 3.0},   {0, 25e6, 0.12, 3.0}, {0, 40e6, 0.12, 3.0},
    {0, 65e6, 0.15, 3.0},   {0, 100e6, 0.15, 3.0}, {0, 160e6, 0.20, 3.0},
};

/* The weight codes trained for the description length (every method but
 * round) run the training steps and the fine-tuning steps as one run, the
 * last RATE_SHARE of it rate-aware (codec/rate.h), and skip the budget
 * search: their steps are learned, starting from the plain search's best
 * budget when the rate-aware steps begin (coarse enough to be worth
 * learning from, fine enough that the noise does not break the model). */
#define RATE_SHARE 0.3

/* What coding a byte costs per FLOP against a training FLOP: one token at
 * a time through our own kernels, segments in lockstep (measured
 * 2026-12-01, tiny and mini at -T2, see ARCHITECTURE "Progress"). */
#define CODE_COST 3.3
#define TICK_BYTES 64 /* coding steps between progress counts */

/* Model FLOPs of predicting one byte with the key/value cache: the
 * matrices once (2 N) and attention over a full window. */
static double code_flops_per_byte(const nmdl_model_config *c)
{
    double C = c->d_model, F = c->d_ff, L = c->n_layer, T = c->ctx;
    return 2 * (L * (4 * C * C + 2 * C * F) + 256 * C) + 4 * L * C * T;
}

/* Work units of coding one byte of n on `threads` threads: a group of
 * segments runs on one thread, so fewer segments than threads leave
 * threads idle. */
static double code_byte_work(const nmdl_model_config *c, size_t n, int threads)
{
    int S = nmdl_neural_segments(n), used = S < threads ? S : threads;
    return CODE_COST * code_flops_per_byte(c) * threads / (used > 0 ? used : 1);
}

void nmdl_neural_params_default(nmdl_neural_params *p)
{
    memset(p, 0, sizeof *p);
    p->effort = 6;
    p->budget.mode = NMDL_BUDGET_SEARCH;
    p->budget.per_row = 1;
    nmdl_llc_settings_default(&p->budget.llc);
    p->seed = 1;
    p->threads = 1;
    p->train_steps = -1;
    p->qat_steps = -1;
}

int nmdl_neural_segments(size_t n)
{
    size_t s = n / SEGMENT_BYTES;
    return s < 1 ? 1 : s > NMDL_NEURAL_MAX_SEGMENTS ? NMDL_NEURAL_MAX_SEGMENTS : (int)s;
}

void nmdl_neural_segment(size_t n, int S, int s, size_t *start, size_t *len)
{
    size_t base = n / (size_t)S, extra = n % (size_t)S, ss = (size_t)s;
    *start = ss * base + (ss < extra ? ss : extra);
    *len = base + (ss < extra);
}

/* ------------------------------------------------------------ coding */

/* A group of consecutive segments coded in lockstep by one thread. */
typedef struct group {
    int s0, ns;            /* first segment, how many */
    const uint8_t **in;    /* encode: each segment's bytes */
    uint8_t **out;         /* decode: where each segment's bytes go */
    size_t *len;           /* each segment's length */
    nmdl_rc_enc *enc;      /* encode: one coder per segment */
    nmdl_rc_dec *dec;      /* decode: one coder per segment */
    nmdl_prog *prog;       /* counts the bytes coded; may be NULL */
    double byte_work;      /* work units of one byte */
} group;

/* The coder's table for one distribution. */
static void table(const float *probs, uint32_t *cum)
{
    uint32_t freq[256];
    nmdl_freq_from_probs(probs, 256, NMDL_NEURAL_FREQ_BITS, freq);
    nmdl_freq_cumulate(freq, 256, cum);
}

static int decode_byte(nmdl_rc_dec *d, const uint32_t *cum, int bits, uint8_t *b)
{
    int sym, rc = nmdl_rc_decode_symbol(d, cum, 256, bits, &sym);
    *b = (uint8_t)sym;
    return rc;
}

/* Runs the model over a group, encoding or decoding every byte after the
 * first of each segment; the first is coded with 8 plain bits. */
static int code_group(const nmdl_model_config *cfg, const float *params, group *g,
                      int decode)
{
    uint32_t uniform[257]; /* the table of 8 plain bits */
    for (int i = 0; i <= 256; i++)
        uniform[i] = (uint32_t)i;
    nmdl_inf *f;
    int rc = nmdl_inf_create(cfg, params, g->ns, &f);
    float *probs = malloc((size_t)g->ns * 256 * sizeof(float));
    uint8_t *tok = calloc((size_t)g->ns, 1);
    if (rc || !probs || !tok) {
        nmdl_inf_free(f);
        free(probs);
        free(tok);
        return rc ? rc : NMDL_ERR_NOMEM;
    }
    size_t steps = 0;
    for (int s = 0; s < g->ns && !rc; s++) {
        steps = g->len[s] > steps ? g->len[s] : steps;
        if (g->len[s] && decode)
            rc = decode_byte(&g->dec[s], uniform, 8, &g->out[s][0]);
        else if (g->len[s])
            nmdl_rc_encode(&g->enc[s], g->in[s][0], 1, 8);
    }
    uint32_t cum[257];
    for (size_t t = 0; t + 1 < steps && !rc; t++) {
        if (t % TICK_BYTES == TICK_BYTES - 1)
            rc = nmdl_prog_add(g->prog, TICK_BYTES * g->ns * g->byte_work, TICK_BYTES * g->ns);
        for (int s = 0; s < g->ns; s++)
            tok[s] = t < g->len[s] ? (decode ? g->out[s][t] : g->in[s][t]) : 0;
        nmdl_inf_step(f, tok, probs);
        for (int s = 0; s < g->ns && !rc; s++) {
            if (t + 1 >= g->len[s])
                continue;
            table(probs + (size_t)s * 256, cum);
            if (decode) {
                rc = decode_byte(&g->dec[s], cum, NMDL_NEURAL_FREQ_BITS, &g->out[s][t + 1]);
            } else {
                uint8_t b = g->in[s][t + 1];
                nmdl_rc_encode(&g->enc[s], cum[b], cum[b + 1] - cum[b], NMDL_NEURAL_FREQ_BITS);
            }
        }
    }
    for (int s = 0; decode && s < g->ns && !rc; s++)
        rc = nmdl_rc_dec_finish(&g->dec[s]);
    nmdl_inf_free(f);
    free(probs);
    free(tok);
    return rc;
}

/* The groups of code_all, as tasks of nmdl_prog_parallel. */
typedef struct groups {
    const nmdl_model_config *cfg;
    const float *params;
    int S, G, decode;
    const group *proto;
} groups;

static int group_task(void *ctx, int k)
{
    const groups *a = ctx;
    const group *p = a->proto;
    int s0 = (int)((long)k * a->S / a->G), s1 = (int)((long)(k + 1) * a->S / a->G);
    group g = {s0, s1 - s0, p->in ? p->in + s0 : NULL, p->out ? p->out + s0 : NULL,
               p->len + s0, p->enc ? p->enc + s0 : NULL, p->dec ? p->dec + s0 : NULL,
               p->prog, p->byte_work};
    return code_group(a->cfg, a->params, &g, a->decode);
}

/* Splits S segments into G groups; runs them on up to G threads. */
static int code_all(const nmdl_model_config *cfg, const float *params, int S,
                    int threads, group *proto, int decode)
{
    int G = threads < S ? threads : S;
    groups a = {cfg, params, S, G < 1 ? 1 : G, decode, proto};
    return nmdl_prog_parallel(proto->prog, a.G, a.G, group_task, &a);
}

/* ------------------------------------------------------------ encoding */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    for (; v >= 0x80; v >>= 7)
        p[n++] = (uint8_t)(v | 0x80);
    p[n++] = (uint8_t)v;
    return n;
}

/* Codes every segment and assembles the data part. */
static int encode_data(const nmdl_model_config *cfg, const float *params,
                       const uint8_t *src, size_t n, int threads, nmdl_prog *prog,
                       uint8_t **data, size_t *data_len, int *segments)
{
    const int S = nmdl_neural_segments(n);
    const uint8_t **in = calloc((size_t)S, sizeof *in);
    size_t *len = calloc((size_t)S, sizeof *len);
    nmdl_rc_enc *enc = calloc((size_t)S, sizeof *enc);
    uint8_t **streams = calloc((size_t)S, sizeof *streams);
    size_t *slen = calloc((size_t)S, sizeof *slen);
    int rc = in && len && enc && streams && slen ? NMDL_OK : NMDL_ERR_NOMEM;
    for (int s = 0; !rc && s < S; s++) {
        size_t start;
        nmdl_neural_segment(n, S, s, &start, &len[s]);
        in[s] = src + start;
        nmdl_rc_enc_init(&enc[s]);
    }
    group proto = {0, S, in, NULL, len, enc, NULL, prog, code_byte_work(cfg, n, threads)};
    if (!rc)
        rc = nmdl_prog_phase(prog, NMDL_PHASE_CODE, (double)n * proto.byte_work, (long)n);
    if (!rc)
        rc = code_all(cfg, params, S, threads, &proto, 0);
    size_t total = 10 * ((size_t)S + 1);
    for (int s = 0; s < S && enc; s++) {
        int r = nmdl_rc_enc_finish(&enc[s], &streams[s], &slen[s]);
        rc = rc ? rc : r;
        total += slen[s];
    }
    uint8_t *p = rc ? NULL : malloc(total);
    if (!rc && !p)
        rc = NMDL_ERR_NOMEM;
    if (!rc) {
        size_t k = put_varint(p, (uint64_t)S);
        for (int s = 0; s < S; s++)
            k += put_varint(p + k, slen[s]);
        for (int s = 0; s < S; s++) {
            if (slen[s])
                memcpy(p + k, streams[s], slen[s]);
            k += slen[s];
        }
        *data = p;
        *data_len = k;
        *segments = S;
    }
    for (int s = 0; streams && s < S; s++)
        free(streams[s]);
    free(in), free(len), free(enc), free(streams), free(slen);
    return rc;
}

static const char *effort_preset(int effort, size_t n)
{
    const char *own = nmdl_model_preset_for_size(n);
    int i = 0;
    while (nmdl_model_preset_name(i) && strcmp(nmdl_model_preset_name(i), own))
        i++;
    i += efforts[effort].shift;
    int last = 0;
    while (nmdl_model_preset_name(last + 1))
        last++;
    return nmdl_model_preset_name(i < 0 ? 0 : i > last ? last : i);
}

static void train_params(const nmdl_neural_params *p, long steps, int qat,
                         nmdl_train_params *t)
{
    nmdl_train_params_default(t);
    t->steps = steps;
    t->batch = NMDL_NEURAL_TRAIN_BATCH;
    t->seed = p->seed + (qat ? 1000 : 0);
    t->threads = p->threads;
    if (qat) { /* gentle: start from trained weights, keep them near the grid */
        t->lr *= 0.25;
        t->warmup = 0.05;
        t->weight_decay = 0.0;
    }
}

static long clamp_steps(double s)
{
    return s < 1 ? 1 : s > 1e6 ? 1000000 : (long)s;
}

/* The budget's settings for p, and the brief fine-tuning of the search's
 * finalists (a quarter of qsteps) in *tune. */
static void budget_params(const nmdl_neural_params *p, long qsteps,
                          nmdl_budget_params *bp, nmdl_train_params *tune)
{
    *bp = p->budget;
    if (bp->mode == NMDL_BUDGET_FIXED && !(bp->bits > 0))
        bp->bits = efforts[p->effort].bits;
    bp->llc.seed = p->seed;
    bp->tune = NULL;
    if (qsteps >= 8) {
        train_params(p, qsteps / 4, 1, tune);
        bp->tune = tune;
    }
}

static int check_neural_params(const nmdl_neural_params *p, size_t n)
{
    if (!p || p->effort < 1 || p->effort > 9 || p->threads < 1 || n < 2 ||
        p->weights < NMDL_WEIGHTS_ROUND || p->weights > NMDL_WEIGHTS_CLUSTER ||
        (p->cfg && nmdl_model_config_check(p->cfg)))
        return NMDL_ERR_ARG;
    return NMDL_OK;
}

int nmdl_neural_plan_make(const nmdl_neural_params *p, size_t n,
                          nmdl_neural_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    int rc = check_neural_params(p, n);
    if (rc)
        return rc;
    nmdl_model_config *cfg = &plan->cfg;
    if (p->cfg)
        *cfg = *p->cfg;
    else if (nmdl_model_preset(effort_preset(p->effort, n), cfg))
        return NMDL_ERR_ARG;
    if ((size_t)cfg->ctx >= n) /* windows must fit the data */
        cfg->ctx = (int)(n - 1) < 2 ? 2 : (int)(n - 1);
    if (n <= (size_t)cfg->ctx)
        return NMDL_ERR_ARG;
    const struct effort *e = &efforts[p->effort];
    const double step = nmdl_train_step_work(cfg, NMDL_NEURAL_TRAIN_BATCH);
    long steps = p->train_steps >= 0 ? p->train_steps
                                     : clamp_steps(e->flops_per_byte * (double)n / step);
    long qsteps = p->qat_steps >= 0 ? p->qat_steps : clamp_steps(e->qat * (double)steps);
    nmdl_budget_params bp;
    nmdl_train_params tune;
    budget_params(p, qsteps, &bp, &tune);
    if (p->weights != NMDL_WEIGHTS_ROUND) { /* one run; the steps are learned */
        steps += qsteps;
        plan->rate_steps = (long)(RATE_SHARE * (double)steps);
        qsteps = 0;
        bp.mode = NMDL_BUDGET_LEARNED;
    }
    plan->train_steps = steps;
    plan->qat_steps = qsteps;
    plan->work[NMDL_PHASE_TRAIN] = (double)steps * step;
    plan->steps[NMDL_PHASE_TRAIN] = steps;
    nmdl_budget_plan(&bp, cfg, n, p->threads, plan->work, plan->steps);
    plan->work[NMDL_PHASE_TUNE] = nmdl_budget_delta_work(cfg, p->threads) + (double)qsteps * step;
    plan->steps[NMDL_PHASE_TUNE] = qsteps;
    plan->work[NMDL_PHASE_CODE] = (double)n * code_byte_work(cfg, n, p->threads);
    plan->steps[NMDL_PHASE_CODE] = (long)n;
    return NMDL_OK;
}

/* The rate hook's settings for p's weight method, for model m on src. */
static void rate_params(const nmdl_neural_params *p, nmdl_model *m, const uint8_t *src,
                        size_t n, nmdl_rate_params *rp)
{
    static const int penalty[] = {
        [NMDL_WEIGHTS_RATE] = NMDL_RATE_PEN_RATE, [NMDL_WEIGHTS_L0_DRR] = NMDL_RATE_PEN_DRR,
        [NMDL_WEIGHTS_L0_RL1] = NMDL_RATE_PEN_RL1, [NMDL_WEIGHTS_L0_PMMP] = NMDL_RATE_PEN_PMMP};
    nmdl_rate_params_default(rp);
    rp->n = (double)n;
    rp->seed = p->seed;
    rp->per_row = p->budget.per_row;
    rp->bits = 0; /* the plain search's best when the rate-aware steps begin */
    rp->penalty = penalty[p->weights];
    rp->model = m;
    rp->data = src;
}

/* One training run whose last steps run the weight code's hook, then the
 * LLC for the report. */
static int train_for_code(const nmdl_neural_params *p, const nmdl_neural_plan *plan,
                          const uint8_t *src, size_t n, nmdl_model *m, nmdl_qmodel *qm,
                          const nmdl_train_hook *hook, nmdl_neural_report *r)
{
    nmdl_train_params tp;
    nmdl_train_report tr = {0};
    train_params(p, plan->train_steps, 0, &tp);
    double t0 = nmdl_prog_now();
    int rc = nmdl_prog_phase(p->prog, NMDL_PHASE_TRAIN, plan->work[NMDL_PHASE_TRAIN],
                             plan->train_steps);
    if (!rc)
        rc = nmdl_train_run(m, src, n, &tp, hook, p->prog, &tr);
    r->train_s = nmdl_prog_now() - t0;
    r->train_steps = tr.steps;
    r->loss_train_bpb = tr.loss_bpb;
    nmdl_budget_params bp = p->budget;
    float *spread = NULL;
    bp.mode = NMDL_BUDGET_LEARNED; /* the LLC, for the report */
    bp.llc.seed = p->seed;
    bp.tune = NULL;
    if (!rc)
        rc = nmdl_budget_choose(m, src, n, qm, &bp, p->threads, &spread, p->prog, &r->budget);
    free(spread);
    return rc;
}

/* Trained for the description length: one run whose last steps are
 * rate-aware, the LLC for the report, then the levels of what was trained.
 * Leaves the rebuilt weights in `rebuilt`. */
static int encode_learned(const nmdl_neural_params *p, const nmdl_neural_plan *plan,
                          const uint8_t *src, size_t n, nmdl_model *m, nmdl_qmodel *qm,
                          float *rebuilt, uint8_t **model, size_t *model_len,
                          nmdl_neural_report *r)
{
    nmdl_rate_params rp;
    nmdl_rate rt;
    nmdl_train_hook hook;
    rate_params(p, m, src, n, &rp);
    int rc = nmdl_q_alloc(&m->cfg, qm);
    if (rc || (rc = nmdl_rate_init(&rt, qm, &rp)))
        return rc;
    nmdl_rate_hook(&rt, plan->train_steps, plan->rate_steps, &hook);
    rc = train_for_code(p, plan, src, n, m, qm, &hook, r);
    if (!rc) {
        nmdl_rate_finish(&rt, m->params);
        r->model_estimate_bits = nmdl_rate_estimate(&rt, m->params); /* quantizes */
        nmdl_q_dequantize(qm, rebuilt);
        rc = nmdl_q_encode(qm, model, model_len);
    }
    if (!rc) {
        r->budget.bits = 8.0 * (double)*model_len / (double)qm->lay.n_params;
        snprintf(r->budget.note, sizeof r->budget.note,
                 "steps learned from %.3f bits/weight (the plain search's best)", rt.start_bits);
    }
    nmdl_rate_free(&rt);
    return rc;
}

/* The report's note on the clustering: K and what each candidate's plain
 * clustering was estimated to cost. */
static void cluster_note(const nmdl_cluster *c, char *note, size_t cap)
{
    int k = snprintf(note, cap, "%d centroids per matrix%s", c->k,
                     c->n_cand ? ", by the estimated DL of plain clustering (K: bytes)" : "");
    for (int i = 0; i < c->n_cand && k > 0 && (size_t)k < cap; i++)
        k += snprintf(note + k, cap - (size_t)k, "%s %d: %.0f", i ? "," : "", c->cand_k[i],
                      c->cand_dl_bits[i] / 8);
}

/* Clustered (codec/cluster.h): one run whose last steps train through the
 * assignment to K centroids per matrix, K chosen by DL when they begin;
 * the LLC for the report; then the levels of what was trained. Leaves the
 * rebuilt weights in `rebuilt`. */
static int encode_cluster(const nmdl_neural_params *p, const nmdl_neural_plan *plan,
                          const uint8_t *src, size_t n, nmdl_model *m, nmdl_qmodel *qm,
                          float *rebuilt, uint8_t **model, size_t *model_len,
                          nmdl_neural_report *r)
{
    nmdl_cluster_params cp;
    nmdl_cluster cl;
    nmdl_train_hook hook;
    nmdl_cluster_params_default(&cp);
    cp.n = (double)n;
    cp.model = m;
    cp.data = src;
    cp.per_row = p->budget.per_row;
    int rc = nmdl_q_alloc(&m->cfg, qm);
    if (rc || (rc = nmdl_cluster_init(&cl, qm, &cp)))
        return rc;
    nmdl_cluster_hook(&cl, plan->train_steps, plan->rate_steps, &hook);
    rc = train_for_code(p, plan, src, n, m, qm, &hook, r);
    if (!rc && !cl.k) /* no step ran through the assignment */
        rc = nmdl_cluster_start(&cl, m->params);
    r->model_estimate_bits = NAN;
    if (!rc) {
        nmdl_cluster_assign(&cl, m->params);
        nmdl_q_dequantize(qm, rebuilt);
        rc = nmdl_q_encode(qm, model, model_len);
    }
    if (!rc) {
        r->budget.bits = 8.0 * (double)*model_len / (double)qm->lay.n_params;
        cluster_note(&cl, r->budget.note, sizeof r->budget.note);
    }
    nmdl_cluster_free(&cl);
    return rc;
}

/* Trains, quantizes (with fine-tuning, or trained for the description
 * length) and encodes the model part; leaves the rebuilt weights in
 * `rebuilt`. */
static int encode_model(const nmdl_neural_params *p, const nmdl_neural_plan *plan,
                        const uint8_t *src, size_t n, nmdl_model *m, nmdl_qmodel *qm,
                        float *rebuilt, uint8_t **model, size_t *model_len,
                        nmdl_neural_report *r)
{
    nmdl_train_params tp;
    nmdl_train_report tr = {0};
    double t0 = nmdl_prog_now();
    if (p->weights == NMDL_WEIGHTS_CLUSTER)
        return encode_cluster(p, plan, src, n, m, qm, rebuilt, model, model_len, r);
    if (p->weights != NMDL_WEIGHTS_ROUND)
        return encode_learned(p, plan, src, n, m, qm, rebuilt, model, model_len, r);
    int rc = nmdl_prog_phase(p->prog, NMDL_PHASE_TRAIN, plan->work[NMDL_PHASE_TRAIN],
                             plan->train_steps);
    if (!rc && plan->train_steps > 0) {
        train_params(p, plan->train_steps, 0, &tp);
        rc = nmdl_train_run(m, src, n, &tp, NULL, p->prog, &tr);
    }
    r->train_s = nmdl_prog_now() - t0;
    r->train_steps = tr.steps;
    r->loss_train_bpb = tr.loss_bpb;
    if (!rc)
        rc = nmdl_q_alloc(&m->cfg, qm);
    if (rc)
        return rc;
    nmdl_budget_params bp;
    nmdl_train_params tune;
    float *spread = NULL;
    budget_params(p, plan->qat_steps, &bp, &tune);
    rc = nmdl_budget_choose(m, src, n, qm, &bp, p->threads, &spread, p->prog, &r->budget);
    t0 = nmdl_prog_now();
    if (!rc)
        rc = nmdl_prog_phase(p->prog, NMDL_PHASE_TUNE, plan->work[NMDL_PHASE_TUNE],
                             plan->qat_steps);
    if (!rc) {
        r->delta = nmdl_budget_delta(qm, m->params, r->budget.bits, bp.per_row, spread, p->prog);
        rc = nmdl_prog_canceled(p->prog);
    }
    free(spread);
    memset(&tr, 0, sizeof tr);
    if (!rc && plan->qat_steps > 0) {
        train_params(p, plan->qat_steps, 1, &tp);
        nmdl_train_hook round;
        nmdl_rate_round_hook(qm, &round);
        rc = nmdl_train_run(m, src, n, &tp, &round, p->prog, &tr);
    }
    r->qat_s = nmdl_prog_now() - t0;
    r->qat_steps = tr.steps;
    if (rc)
        return rc;
    nmdl_q_quantize(qm, m->params);
    nmdl_q_dequantize(qm, rebuilt);
    return nmdl_q_encode(qm, model, model_len);
}

int nmdl_neural_encode(const nmdl_neural_params *p, const uint8_t *src,
                       size_t n, uint8_t **model, size_t *model_len,
                       uint8_t **data, size_t *data_len,
                       nmdl_neural_report *report)
{
    nmdl_neural_report r;
    nmdl_neural_plan plan;
    memset(&r, 0, sizeof r);
    int rc = nmdl_neural_plan_make(p, n, &plan);
    nmdl_model *m;
    if (rc || (rc = nmdl_model_create(&plan.cfg, p->seed, &m)))
        return rc;
    nmdl_qmodel qm = {0};
    float *rebuilt = malloc(m->lay.n_params * sizeof(float));
    *model = *data = NULL;
    m->prog = p->prog; /* its passes report between blocks */
    rc = rebuilt ? encode_model(p, &plan, src, n, m, &qm, rebuilt, model, model_len, &r)
                 : NMDL_ERR_NOMEM;
    double t0 = nmdl_prog_now();
    if (!rc)
        rc = encode_data(&plan.cfg, rebuilt, src, n, p->threads, p->prog, data, data_len,
                         &r.segments);
    r.code_s = nmdl_prog_now() - t0;
    r.n_params = m->lay.n_params;
    if (!rc) {
        r.bits_per_weight = 8.0 * (double)*model_len / (double)r.n_params;
        r.data_bpb = 8.0 * (double)*data_len / (double)n;
    } else {
        free(*model);
        *model = NULL;
    }
    if (report) /* also after an error: what was done until then */
        *report = r;
    nmdl_q_free(&qm);
    free(rebuilt);
    nmdl_model_free(m);
    return rc;
}

/* ------------------------------------------------------------ decoding */

static int get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 9; i++) {
        if (*pos >= len)
            return NMDL_ERR_TRUNCATED;
        uint8_t b = p[(*pos)++];
        x |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0)
                return NMDL_ERR_CORRUPT;
            *v = x;
            return NMDL_OK;
        }
    }
    return NMDL_ERR_CORRUPT;
}

/* The segment table: S and each stream's place, checked to fill the data
 * part exactly. */
static int parse_segments(const uint8_t *data, size_t len, size_t n, int *S,
                          const uint8_t ***streams, size_t **slen)
{
    size_t pos = 0;
    uint64_t v;
    int rc = get_varint(data, len, &pos, &v);
    if (rc)
        return rc;
    if (v < 1 || v > NMDL_NEURAL_MAX_SEGMENTS || v > n)
        return NMDL_ERR_CORRUPT;
    *S = (int)v;
    *streams = calloc(v, sizeof **streams);
    *slen = calloc(v, sizeof **slen);
    if (!*streams || !*slen)
        return NMDL_ERR_NOMEM;
    size_t total = 0;
    for (int s = 0; s < *S; s++) {
        if ((rc = get_varint(data, len, &pos, &v)))
            return rc;
        if (v > len)
            return NMDL_ERR_CORRUPT;
        (*slen)[s] = (size_t)v;
        total += (size_t)v;
        if (total > len)
            return NMDL_ERR_CORRUPT;
    }
    if (total != len - pos)
        return total > len - pos ? NMDL_ERR_TRUNCATED : NMDL_ERR_CORRUPT;
    for (int s = 0; s < *S; s++) {
        (*streams)[s] = data + pos;
        pos += (*slen)[s];
    }
    return NMDL_OK;
}

int nmdl_neural_decode(const uint8_t *model, size_t model_len,
                       const uint8_t *data, size_t data_len, uint8_t *dst,
                       size_t n, int threads, nmdl_prog *prog)
{
    if (n < 1 || threads < 1)
        return NMDL_ERR_CORRUPT;
    nmdl_qmodel qm;
    int rc = nmdl_q_decode(model, model_len, &qm), S = 0;
    if (rc)
        return rc;
    const uint8_t **streams = NULL;
    size_t *slen = NULL, *len = NULL;
    uint8_t **out = NULL;
    nmdl_rc_dec *dec = NULL;
    float *params = NULL;
    const nmdl_model_config *c = &qm.cfg;
    rc = parse_segments(data, data_len, n, &S, &streams, &slen);
    if (!rc && (uint64_t)S * c->n_layer * 2 * c->ctx * c->d_model * sizeof(float) > MAX_KV_BYTES)
        rc = NMDL_ERR_TOO_LARGE;
    if (!rc) {
        len = calloc((size_t)S, sizeof *len);
        out = calloc((size_t)S, sizeof *out);
        dec = calloc((size_t)S, sizeof *dec);
        params = malloc(qm.lay.n_params * sizeof(float));
        if (!len || !out || !dec || !params)
            rc = NMDL_ERR_NOMEM;
    }
    for (int s = 0; !rc && s < S; s++) {
        size_t start;
        nmdl_neural_segment(n, S, s, &start, &len[s]);
        out[s] = dst + start;
        rc = nmdl_rc_dec_init(&dec[s], streams[s], slen[s]);
    }
    if (!rc) {
        nmdl_q_dequantize(&qm, params);
        group proto = {0, S, NULL, out, len, NULL, dec, prog, 1.0};
        rc = code_all(c, params, S, threads, &proto, 1);
    }
    free(streams), free(slen), free(len), free(out), free(dec), free(params);
    nmdl_q_free(&qm);
    return rc;
}
