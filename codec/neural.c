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
#include "../model/llctf.h"
#include "quant.h"
#include "../model/train.h"
#include "error.h"
#include "cluster.h"
#include "match.h"
#include "rate.h"
#include "rc.h"
#include "segcode.h"
#include "stop.h"

#define SEGMENT_BYTES 32768 /* target segment length without the match model */
#define WAVE_SEGMENT_BYTES 131072 /* and with it, at least WAVE_MIN_SEGMENTS */
#define WAVE_MIN_SEGMENTS 8
#define WAVE3_SEGMENT_BYTES 262144 /* and in revision 3, at least WAVE3_MIN_SEGMENTS */
#define WAVE3_MIN_SEGMENTS 4
#define WAVE4_ONE_SEGMENT 2097152 /* revision 4: one segment below 2 MiB */

/* What an effort level buys: the model one preset off the size's own, the
 * training compute in model FLOPs per input byte (6 N + 12 L C T per
 * trained byte, as bench/train counts), fine-tuning steps as a fraction of
 * the training steps, the default bits per weight, and the rate-aware
 * share. Effort 6 spends 40 MFLOP per byte (25 passes over 1 MB with
 * mini, 10 over 8 MB with small), so that with the LLC estimate, the
 * budget search, fine-tuning and coding 1 MB compresses in about ten
 * minutes on 2 cores; docs/BENCHMARKS.md has the phase split.
 *
 * The weight codes trained for the description length (every method but
 * round) run the training steps and the fine-tuning steps as one run, the
 * last `share` of it rate-aware (codec/rate.h), and skip the budget
 * search: their steps are learned, starting from the plain search's best
 * budget when the rate-aware steps begin (coarse enough to be worth
 * learning from, fine enough that the noise does not break the model).
 * At effort 6, 95% of the run: on 1 MB of enwik8 the file was 259,296
 * bytes at half the run (2.42 bits/weight), 247,856 at 0.85 (1.48) and
 * 244,428 at 0.95 (1.08); 2 MB 472,150 / 466,537 / 464,715, 256 KB
 * 74,165 at 0.85 and 73,263 at 0.95, 1 MB of C headers 55,709 and 55,483
 * (8 MB of gcide: 1,295,637 at half, 1,292,465 at 0.85, 1,293,137 at
 * 0.95, a tie): the model part falls faster than the data part grows. The
 * whole run (1.0) starts the steps from a search on the untrained model
 * and lets the transformer die (1 MB: 0.28 bits/weight, the transformer
 * alone 2.3 times worse; the file, 246,898, is carried by the match model
 * and the mixer). At effort 2 (2 MB of gcide, tiny, 4,284 steps) half the
 * run wrote 384,484 bytes and 0.85 389,612: too few steps to settle, so
 * efforts 1-4 keep half. Effort 5 runs 0.95: 1 MB of enwik8 264,094 at
 * half, 245,792 at 0.95; 2 MB of gcide 382,059 and 384,209
 * (docs/BENCHMARKS.md, "The rate-aware share at 85%" and "at 95%"). */
static const struct effort {
    int shift;
    double flops_per_byte, qat, bits, share;
} efforts[10] = {
    {0, 0, 0, 0, 0}, /* unused: levels are 1..9 */
    {-1, 2.5e6, 0.10, 3.0, 0.5}, {-1, 5e6, 0.10, 3.0, 0.5}, {0, 10e6, 0.10, 3.0, 0.5},
    {0, 15e6, 0.12, 3.0, 0.5},   {0, 25e6, 0.12, 3.0, 0.95}, {0, 40e6, 0.12, 3.0, 0.95},
    {0, 65e6, 0.15, 3.0, 0.95},  {0, 100e6, 0.15, 3.0, 0.95}, {0, 160e6, 0.20, 3.0, 0.95},
};

/* What coding a byte costs per FLOP against a training FLOP: one token at
 * a time through our own kernels, segments in lockstep (measured
 * 2026-12-02 at -T2 with the match model: small 1.2, mini 1.4; see
 * ARCHITECTURE "Progress"). */
#define CODE_COST 1.4

/* Model FLOPs of predicting one byte with the key/value cache: the
 * matrices once (2 N) and attention over a full window. */
static double code_flops_per_byte(const nmdl_model_config *c)
{
    double C = c->d_model, F = c->d_ff, L = c->n_layer, T = c->ctx;
    return 2 * (L * (4 * C * C + 2 * C * F) + 256 * C) + 4 * L * C * T;
}

/* Whether the data is coded twice, in the newest code and in that of the
 * mixer's revision 4 (NMDL_SC_MIX6), the shorter written: with merged
 * symbols, where revision 4 won at 8 MB of gcide (docs/BENCHMARKS.md,
 * "Revision 8's data code at 8 MB: a loss, so two codes there") and the
 * second pass costs 3% of the run. */
static int two_codes(const nmdl_neural_params *p, size_t n)
{
    return p->tokens && p->match == NMDL_SC_MIX8 && n <= NMDL_MM_MAX_INPUT;
}

/* Work units of coding one byte of n on `threads` threads: a group of
 * segments runs on one thread, so fewer segments in flight than threads
 * (all S, or with the match model a wave's) leave threads idle. */
static double code_byte_work(const nmdl_model_config *c, int S, int match, int threads)
{
    int used = nmdl_sc_wave_segments(match, S);
    used = used < threads ? used : threads;
    return CODE_COST * code_flops_per_byte(c) * threads / (used > 0 ? used : 1);
}

/* Work units of the coding phase, and its steps (bytes) into *steps: n
 * bytes coded in `match` (n <= NMDL_MM_MAX_INPUT unless NMDL_SC_PURE), and
 * again in NMDL_SC_MIX6 where two_codes says. */
static double code_work(const nmdl_neural_params *p, const nmdl_model_config *c, size_t n,
                        int match, long *steps)
{
    const int twice = two_codes(p, n);
    int S = nmdl_neural_segments_of(p, n, match);
    double w = (double)n * code_byte_work(c, S, match, p->threads);
    *steps = (long)n * (twice ? 2 : 1);
    if (twice) {
        S = nmdl_neural_segments_of(p, n, NMDL_SC_MIX6);
        w += (double)n * code_byte_work(c, S, NMDL_SC_MIX6, p->threads);
    }
    return w;
}

void nmdl_neural_params_default(nmdl_neural_params *p)
{
    memset(p, 0, sizeof *p);
    p->effort = 6;
    p->weights = NMDL_WEIGHTS_AUTO;
    p->budget.mode = NMDL_BUDGET_SEARCH;
    p->budget.per_row = 1;
    nmdl_llc_settings_default(&p->budget.llc);
    p->seed = 1;
    p->threads = 1;
    p->train_steps = -1;
    p->qat_steps = -1;
    p->match = NMDL_SC_MIX8;
    p->free_bytes = -1.0;
    p->cheap_weight = NMDL_NEURAL_REPEATS_WEIGHT;
    p->bytes_per_symbol = 1.0;
}

/* s segments, or where s reaches least, n / bytes but at least least. */
static size_t longer(size_t s, size_t n, size_t bytes, size_t least)
{
    const size_t w = n / bytes;
    return s < least ? s : w > least ? w : least;
}

int nmdl_neural_segments(size_t n, int match)
{
    /* Longer segments with the match model: the mixer's lanes and the match
     * tables run on for longer stretches; in revision 4 one segment below
     * 2 MiB, which sees every byte before it (ARCHITECTURE). */
    if (match >= NMDL_SC_MIX4 && n < WAVE4_ONE_SEGMENT)
        return 1;
    const size_t s = n / SEGMENT_BYTES;
    const size_t t = match >= NMDL_SC_MIX3 ? longer(s, n, WAVE3_SEGMENT_BYTES, WAVE3_MIN_SEGMENTS)
                     : match            ? longer(s, n, WAVE_SEGMENT_BYTES, WAVE_MIN_SEGMENTS)
                                        : s;
    return t < 1 ? 1 : t > NMDL_NEURAL_MAX_SEGMENTS ? NMDL_NEURAL_MAX_SEGMENTS : (int)t;
}

int nmdl_neural_segments_of(const nmdl_neural_params *p, size_t n, int match)
{
    if (!p->segments)
        return nmdl_neural_segments(n, match);
    return (size_t)p->segments < n ? p->segments : (int)n;
}

void nmdl_neural_segment(size_t n, int S, int s, size_t *start, size_t *len)
{
    size_t base = n / (size_t)S, extra = n % (size_t)S, ss = (size_t)s;
    *start = ss * base + (ss < extra ? ss : extra);
    *len = base + (ss < extra);
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

/* The segment table and streams of a data part: LEB128 S and lengths,
 * then the streams; malloc'd. */
static int write_data_part(int S, uint8_t **streams, const size_t *slen, uint8_t **data,
                           size_t *data_len)
{
    size_t total = 10 * ((size_t)S + 1);
    for (int s = 0; s < S; s++)
        total += slen[s];
    uint8_t *p = malloc(total);
    if (!p)
        return NMDL_ERR_NOMEM;
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
    return NMDL_OK;
}

int nmdl_neural_encode_data(const nmdl_model_config *cfg, const float *params,
                            const uint8_t *src, size_t n, int S, int match, int threads,
                            nmdl_prog *prog, uint8_t **data, size_t *data_len,
                            double *pure_bytes)
{
    if (S < 1 || S > NMDL_NEURAL_MAX_SEGMENTS || (size_t)S > n || threads < 1 || match < 0 ||
        match > NMDL_SC_MIX8 || (match && n > NMDL_MM_MAX_INPUT))
        return NMDL_ERR_ARG;
    const uint8_t **in = calloc((size_t)S, sizeof *in);
    size_t *len = calloc((size_t)S, sizeof *len), *start = calloc((size_t)S, sizeof *start);
    nmdl_rc_enc *enc = calloc((size_t)S, sizeof *enc);
    uint8_t **streams = calloc((size_t)S, sizeof *streams);
    size_t *slen = calloc((size_t)S, sizeof *slen);
    nmdl_mm_table *tables = match ? calloc((size_t)S, sizeof *tables) : NULL;
    /* the transformer alone's code length, where it differs from the data's */
    double *pure = match && pure_bytes ? calloc((size_t)S, sizeof *pure) : NULL;
    nmdl_mm_index index = {0};
    nmdl_cm *lanes = NULL;
    nmdl_inf_weights *w = NULL;
    int rc = in && len && start && enc && streams && slen && (tables || !match) &&
                     (pure || !(match && pure_bytes))
                 ? NMDL_OK : NMDL_ERR_NOMEM;
    if (!rc && match)
        rc = nmdl_mm_index_init(&index, n, nmdl_sc_rev(match));
    if (!rc && match >= NMDL_SC_MIX)
        rc = nmdl_sc_lanes_create(n, match, S, &lanes);
    if (!rc)
        rc = nmdl_inf_weights_create(cfg, params, &w);
    for (int s = 0; !rc && s < S; s++) {
        nmdl_neural_segment(n, S, s, &start[s], &len[s]);
        in[s] = src + start[s];
        nmdl_rc_enc_init(&enc[s]);
    }
    const nmdl_sc_group all = {S, 0, in, NULL, len, enc, NULL, prog,
                               code_byte_work(cfg, S, match, threads),
                               match ? &index : NULL, src, start, tables, pure, lanes};
    const int live = nmdl_sc_in_flight(threads, S);
    for (int s0 = 0, s1; !rc && s0 < S; s0 = s1) {
        s1 = nmdl_sc_next_batch(match ? &index : NULL, src, start, s0, live, S);
        rc = nmdl_sc_code_batch(w, &all, s0, s1, threads, 0);
    }
    nmdl_inf_weights_free(w);
    for (int s = 0; s < S && enc; s++) {
        int r = nmdl_rc_enc_finish(&enc[s], &streams[s], &slen[s]);
        rc = rc ? rc : r;
    }
    if (!rc)
        rc = write_data_part(S, streams, slen, data, data_len);
    if (!rc && pure_bytes) { /* the same segment table, the streams' ideal length */
        *pure_bytes = (double)*data_len;
        for (int s = 0; pure && s < S; s++)
            *pure_bytes += pure[s] / 8 - (double)slen[s];
    }
    for (int s = 0; streams && s < S; s++)
        free(streams[s]);
    nmdl_mm_index_free(&index);
    nmdl_sc_lanes_free(lanes, match, S);
    free(in), free(len), free(start), free(enc), free(streams), free(slen), free(tables);
    free(pure);
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

#define QAT_LR 5e-4 /* fine-tuning's peak learning rate, and the fraction */
#define QAT_FINAL 0.1 /* of it it decays to (whatever the model's width) */

static void train_params(const nmdl_neural_params *p, long steps, int qat,
                         nmdl_train_params *t)
{
    nmdl_train_params_default(t);
    t->steps = steps;
    t->batch = NMDL_NEURAL_TRAIN_BATCH;
    t->seed = p->seed + (qat ? 1000 : 0);
    t->threads = p->threads;
    t->team = p->team;
    t->cheap = p->cheap;
    t->cheap_weight = p->cheap_weight;
    if (qat) { /* gentle: start from trained weights, keep them near the grid */
        t->lr = QAT_LR;
        t->lr_final = QAT_FINAL;
        t->warmup = 0.05;
        t->weight_decay = 0.0;
    }
}

static long clamp_steps(double s)
{
    return s < 1 ? 1 : s > 1e6 ? 1000000 : (long)s;
}

/* The most training steps below PASS_REF_BYTES: as many passes over the
 * input as the effort, or the default where that is more, makes over
 * PASS_REF_BYTES with that size's own model (mini) at the same context.
 * tiny's positions cost 0.4 of mini's, so the default's 40 MFLOP per byte
 * bought 64 passes over 64 KB or 256 KB where 1 MB gets 25: 2.4-2.7 x the
 * time of 25 passes for a neural frame 0.9-4.5% smaller, which lost to
 * zstd there in three of four inputs (docs/BENCHMARKS.md, "Training
 * passes below 1 MB"). The passes are also the same from 64 KB to 3 MB. */
#define PASS_REF_BYTES 1000000
#define PASS_REF_EFFORT 6

static double max_steps(int effort, const nmdl_model_config *c, size_t n)
{
    nmdl_model_config ref = {0};
    if (n >= PASS_REF_BYTES ||
        nmdl_model_preset(nmdl_model_preset_for_size(PASS_REF_BYTES), &ref))
        return HUGE_VAL; /* no cap */
    ref.ctx = c->ctx;
    const struct effort *e = &efforts[effort > PASS_REF_EFFORT ? effort : PASS_REF_EFFORT];
    return e->flops_per_byte * (double)n / nmdl_train_step_work(&ref, NMDL_NEURAL_TRAIN_BATCH);
}

/* The LLC in a compression whose chains are left automatic (0):
 * LLC_CHAINS chains (one round on 2 threads; each chain as long as
 * nmdl_model_llc's, so the estimate keeps its expectation and its error
 * grows by sqrt 2), and none where they would cost more than LLC_SHARE of
 * the training's work: there the search starts at 1 bit, as after an
 * unhealthy sampler. bstar and the posterior's rows need the estimate and
 * always make it. */
#define LLC_CHAINS 2
#define LLC_SHARE 0.1
/* Where the sweep finds w* no minimum, the default cold descent of a
 * compression (nmdl_llc_settings.cool) is 1/COOL_SHARE of its training
 * steps, unplanned like a repair: 490 for small on 8 MB, near nmdl llc's
 * 500, and a like share of a short training (docs/BENCHMARKS.md, "Cooling
 * the estimate's weights"). */
#define COOL_SHARE 40

static void plan_llc(const nmdl_neural_params *p, size_t n, nmdl_neural_plan *plan)
{
    nmdl_llc_settings s = p->budget.llc;
    long steps;
    plan->llc_chains = s.chains > 0 ? s.chains : LLC_CHAINS;
    if (s.chains > 0 || p->budget.mode == NMDL_BUDGET_BSTAR || p->budget.posterior)
        return;
    s.chains = plan->llc_chains;
    s.threads = 1; /* FLOPs against FLOPs: a machine's idle threads must not
                      change the choice, which changes the file */
    plan->llc_skip = nmdl_llctf_plan(&plan->cfg, &s, n, &steps) >
                     LLC_SHARE * plan->work[NMDL_PHASE_TRAIN];
}

/* The budget's settings for p under its plan, and (tune not NULL) the
 * brief fine-tuning of the search's finalists (a quarter of qsteps). */
static void budget_params(const nmdl_neural_params *p, const nmdl_neural_plan *plan,
                          long qsteps, nmdl_budget_params *bp, nmdl_train_params *tune)
{
    *bp = p->budget;
    if (bp->mode == NMDL_BUDGET_FIXED && !(bp->bits > 0))
        bp->bits = efforts[p->effort].bits;
    bp->llc.seed = p->seed;
    bp->team = bp->llc.team = p->team;
    bp->llc.chains = plan->llc_chains;
    if (p->budget.llc.chains <= 0 && bp->mode != NMDL_BUDGET_BSTAR && !bp->posterior)
        bp->llc.repairs = 0; /* the search needs no b*: no unplanned reruns */
    if (bp->llc.cool < 0) /* the default: a descent in proportion to training */
        bp->llc.cool = (int)(plan->train_steps / COOL_SHARE);
    bp->llc_skip = plan->llc_skip;
    bp->cheap = p->cheap;
    bp->cheap_weight = p->cheap_weight;
    bp->tune = NULL;
    if (tune && qsteps >= 8) {
        train_params(p, qsteps / 4, 1, tune);
        bp->tune = tune;
    }
}

/* 1 where p asks for what only round's search takes: fixed bits, b*, or
 * row steps from the chains' posterior spread. */
static int round_budget(const nmdl_neural_params *p)
{
    return p->budget.mode == NMDL_BUDGET_FIXED || p->budget.mode == NMDL_BUDGET_BSTAR ||
           p->budget.posterior;
}

int nmdl_neural_weights(const nmdl_neural_params *p)
{
    if (p->weights != NMDL_WEIGHTS_AUTO)
        return p->weights;
    return round_budget(p) ? NMDL_WEIGHTS_ROUND : NMDL_WEIGHTS_L0_RL1;
}

static int check_neural_params(const nmdl_neural_params *p, size_t n)
{
    if (!p || p->effort < 1 || p->effort > 9 || p->threads < 1 || n < 2 ||
        p->weights < NMDL_WEIGHTS_AUTO || p->weights > NMDL_WEIGHTS_CLUSTER ||
        (nmdl_neural_weights(p) != NMDL_WEIGHTS_ROUND && round_budget(p)) ||
        (p->cfg && nmdl_q_check_config(p->cfg, NULL))) /* what decoders take */
        return NMDL_ERR_ARG;
    return NMDL_OK;
}

double nmdl_neural_free_bytes(const nmdl_neural_params *p)
{
    return p->match && p->free_bytes > 0 ? p->free_bytes : 0.0;
}

/* P: the bytes a budget's sample loss is weighed over, n - 1 - f. */
static double priced_bytes(const nmdl_neural_params *p, size_t n)
{
    return fmax((double)(n - 1) - nmdl_neural_free_bytes(p), 1.0);
}

/* The model for the bytes the transformer must predict: n, less those
 * that long matches predict (on C headers 1 MB, f = 61%: mini's neural
 * frame 98,215 bytes, tiny's 81,867; docs/BENCHMARKS.md). */
static int plan_preset(const nmdl_neural_params *p, size_t n, nmdl_neural_plan *plan)
{
    const double f = nmdl_neural_free_bytes(p);
    const double b = p->bytes_per_symbol; /* presets are by input bytes */
    const char *own = effort_preset(p->effort, (size_t)(b * (double)n)), *name = own;
    if (f > 0 && f < (double)n)
        name = effort_preset(p->effort, (size_t)(b * ((double)n - f)));
    plan->sized_by_matches = strcmp(name, own) != 0;
    return nmdl_model_preset(name, &plan->cfg) ? NMDL_ERR_ARG : NMDL_OK;
}

int nmdl_neural_plan_make(const nmdl_neural_params *p, size_t n,
                          nmdl_neural_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    int rc = check_neural_params(p, n);
    if (rc)
        return rc;
    nmdl_model_config *cfg = &plan->cfg;
    plan->weights = nmdl_neural_weights(p);
    if (p->cfg)
        *cfg = *p->cfg;
    else if ((rc = plan_preset(p, n, plan)))
        return rc;
    memset(cfg->absent, 0, sizeof cfg->absent); /* the encoder's: nmdl_tf_symbol_set */
    if ((size_t)cfg->ctx >= n) /* windows must fit the data */
        cfg->ctx = (int)(n - 1) < 2 ? 2 : (int)(n - 1);
    if (n <= (size_t)cfg->ctx)
        return NMDL_ERR_ARG;
    const struct effort *e = &efforts[p->effort];
    const double step = nmdl_train_step_work(cfg, NMDL_NEURAL_TRAIN_BATCH);
    const double most = max_steps(p->effort, cfg, n);
    const double own = e->flops_per_byte * p->bytes_per_symbol * (double)n / step;
    long steps = p->train_steps >= 0 ? p->train_steps : clamp_steps(own < most ? own : most);
    long qsteps = p->qat_steps >= 0 ? p->qat_steps : clamp_steps(e->qat * (double)steps);
    if (plan->weights != NMDL_WEIGHTS_ROUND) { /* one run; the steps are learned */
        steps += qsteps;
        plan->rate_steps = (long)(e->share * (double)steps);
        qsteps = 0;
    }
    plan->train_steps = steps;
    plan->qat_steps = qsteps;
    plan->work[NMDL_PHASE_TRAIN] = (double)steps * step;
    plan->steps[NMDL_PHASE_TRAIN] = steps;
    plan_llc(p, n, plan);
    nmdl_budget_params bp;
    nmdl_train_params tune;
    budget_params(p, plan, qsteps, &bp, &tune);
    if (plan->weights != NMDL_WEIGHTS_ROUND)
        bp.mode = NMDL_BUDGET_LEARNED;
    nmdl_budget_plan(&bp, cfg, n, p->threads, plan->work, plan->steps);
    plan->work[NMDL_PHASE_TUNE] = nmdl_budget_delta_work(cfg, p->threads) + (double)qsteps * step;
    plan->steps[NMDL_PHASE_TUNE] = qsteps;
    const int match = n <= NMDL_MM_MAX_INPUT ? p->match : NMDL_SC_PURE; /* as data_code */
    plan->work[NMDL_PHASE_CODE] = code_work(p, cfg, n, match, &plan->steps[NMDL_PHASE_CODE]);
    return NMDL_OK;
}

/* The rate hook's settings for weight method w (p's, resolved), for
 * model m on src. */
static void rate_params(const nmdl_neural_params *p, int w, nmdl_model *m, const uint8_t *src,
                        size_t n, nmdl_rate_params *rp)
{
    static const int penalty[] = {
        [NMDL_WEIGHTS_RATE] = NMDL_RATE_PEN_RATE, [NMDL_WEIGHTS_L0_DRR] = NMDL_RATE_PEN_DRR,
        [NMDL_WEIGHTS_L0_RL1] = NMDL_RATE_PEN_RL1, [NMDL_WEIGHTS_L0_PMMP] = NMDL_RATE_PEN_PMMP};
    nmdl_rate_params_default(rp);
    rp->n = (double)n;
    rp->priced = priced_bytes(p, n);
    rp->seed = p->seed;
    rp->per_row = p->budget.per_row;
    rp->bits = 0; /* the plain search's best when the rate-aware steps begin */
    rp->penalty = penalty[w];
    rp->model = m;
    rp->data = src;
    rp->cheap = p->cheap;
    rp->cheap_weight = p->cheap_weight;
}

/* The early stop's probes into r; frees what they held. */
static void stop_report(nmdl_stop *s, nmdl_neural_report *r)
{
    r->stop_step = s->stop_step;
    r->probe_step = s->probe_step;
    r->probe_bound_bytes = s->bound_bytes;
    r->probe_loss_bpb = s->loss_bpb;
    nmdl_stop_free(s);
}

/* One training run whose last steps run the weight code's hook, then the
 * LLC for the report. */
static int train_for_code(const nmdl_neural_params *p, const nmdl_neural_plan *plan,
                          const uint8_t *src, size_t n, nmdl_model *m, nmdl_qmodel *qm,
                          const nmdl_train_hook *hook, nmdl_neural_report *r)
{
    nmdl_train_params tp;
    nmdl_train_report tr = {0};
    nmdl_train_hook h = *hook;
    nmdl_stop sp;
    train_params(p, plan->train_steps, 0, &tp);
    nmdl_stop_attach(&sp, p->beat_bytes, src, n, nmdl_neural_free_bytes(p), p->cheap,
                     p->cheap_weight, plan->train_steps, &h);
    double t0 = nmdl_prog_now();
    int rc = nmdl_prog_phase(p->prog, NMDL_PHASE_TRAIN, plan->work[NMDL_PHASE_TRAIN],
                             plan->train_steps);
    if (!rc)
        rc = nmdl_train_run(m, src, n, &tp, &h, p->prog, &tr);
    stop_report(&sp, r);
    r->train_s = nmdl_prog_now() - t0;
    r->train_steps = tr.steps;
    r->loss_train_bpb = tr.loss_bpb;
    nmdl_budget_params bp;
    float *spread = NULL;
    budget_params(p, plan, 0, &bp, NULL);
    bp.mode = NMDL_BUDGET_LEARNED; /* the LLC, for the report */
    if (!rc && !r->stop_step)
        rc = nmdl_budget_choose(m, src, n, qm, &bp, p->threads, &spread, p->prog, &r->budget);
    free(spread);
    return rc;
}

/* The model part of the levels in qm, whose weights it leaves in
 * `rebuilt`; the budget reported is what they cost. */
static int encode_levels(const nmdl_qmodel *qm, float *rebuilt, uint8_t **model,
                         size_t *model_len, nmdl_neural_report *r)
{
    nmdl_q_dequantize(qm, rebuilt);
    int rc = nmdl_q_encode(qm, model, model_len);
    if (!rc)
        r->budget.bits = 8.0 * (double)*model_len / (double)qm->lay.n_params;
    return rc;
}

/* The bits the coder spends on qm's levels (the part of the model part
 * the rate estimate prices: no header, steps or row exponents); NaN
 * without the memory to count them. */
static double level_bits(const nmdl_qmodel *qm)
{
    double bits[NMDL_TENSORS_MAX], rexp_bits, sum = 0;
    if (nmdl_q_tensor_bits(qm, bits, &rexp_bits))
        return NAN;
    for (int k = 0; k < qm->lay.n_tensors; k++)
        sum += bits[k];
    return sum;
}

/* The data coded in NMDL_SC_MIX6 too (two_codes): kept, with the model
 * part encoded again to name it (the same levels), where it is shorter
 * than data_len bytes; the other code and size into r. */
static int shorter_code(const nmdl_neural_params *p, const nmdl_model_config *cfg,
                        const float *w, const uint8_t *src, size_t n, nmdl_qmodel *qm,
                        nmdl_neural_report *r, uint8_t **model, size_t *model_len,
                        uint8_t **data, size_t *data_len)
{
    const int S = nmdl_neural_segments_of(p, n, NMDL_SC_MIX6);
    uint8_t *d = NULL, *m = NULL;
    size_t dl = 0, ml;
    int rc = nmdl_neural_encode_data(cfg, w, src, n, S, NMDL_SC_MIX6, p->threads, p->prog, &d,
                                     &dl, NULL);
    r->other_code = NMDL_SC_MIX6, r->other_data_bytes = (double)dl;
    if (!rc && dl < *data_len) {
        qm->match = NMDL_SC_MIX6;
        if (!(rc = nmdl_q_encode(qm, &m, &ml))) {
            r->other_code = NMDL_SC_MIX8, r->other_data_bytes = (double)*data_len;
            r->segments = S;
            free(*model), free(*data);
            *model = m, *model_len = ml, *data = d, *data_len = dl;
            d = NULL;
        }
    }
    free(d);
    return rc;
}

/* What the data part codes, recorded in the model part: the match model
 * and the mixer (none beyond NMDL_MM_MAX_INPUT), and the merged symbols'
 * table when the n symbols are not the input's bytes. */
static void data_code(const nmdl_neural_params *p, size_t n, nmdl_qmodel *qm)
{
    qm->match = n <= NMDL_MM_MAX_INPUT ? p->match : NMDL_SC_PURE;
    qm->symbols = p->tokens ? n : 0;
    if (p->tokens)
        qm->tokens = *p->tokens;
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
    rate_params(p, plan->weights, m, src, n, &rp);
    int rc = nmdl_q_alloc(&m->cfg, qm);
    data_code(p, n, qm);
    if (rc || (rc = nmdl_rate_init(&rt, qm, &rp)))
        return rc;
    nmdl_rate_hook(&rt, plan->train_steps, plan->rate_steps, &hook);
    rc = train_for_code(p, plan, src, n, m, qm, &hook, r);
    if (!rc && !r->stop_step) {
        r->budget.priced_bytes = rp.priced;
        nmdl_rate_finish(&rt, m->params);
        r->model_estimate_bits = nmdl_rate_estimate(&rt, m->params); /* quantizes */
        r->model_level_bits = level_bits(qm);
        rc = encode_levels(qm, rebuilt, model, model_len, r);
    }
    if (!rc && !r->stop_step)
        snprintf(r->budget.note, sizeof r->budget.note,
                 "steps learned from %.3f bits/weight (the plain search's best)", rt.start_bits);
    nmdl_rate_free(&rt);
    return rc;
}

/* The clustering into the report: the bytes it priced, K and what each
 * candidate's plain clustering was estimated to cost, in the note and as
 * the budget candidates (bits per weight of d weights). */
_Static_assert(NMDL_CLUSTER_NK <= NMDL_BUDGET_CANDIDATES, "the report lists every K");
static void cluster_report(const nmdl_cluster *c, size_t d, nmdl_budget_report *b)
{
    char *note = b->note;
    const size_t cap = sizeof b->note;
    int k = snprintf(note, cap, "%d centroids per matrix%s", c->k,
                     c->n_cand ? ", by the estimated DL of plain clustering (K: bytes)" : "");
    for (int i = 0; i < c->n_cand && k > 0 && (size_t)k < cap; i++)
        k += snprintf(note + k, cap - (size_t)k, "%s %d: %.0f", i ? "," : "", c->cand_k[i],
                      c->cand_dl_bits[i] / 8);
    b->priced_bytes = nmdl_budget_priced(c->p.priced, c->p.n);
    b->n = c->n_cand;
    for (int i = 0; i < c->n_cand; i++) {
        b->cand_bits[i] = c->cand_model_bits[i] / (double)d;
        b->cand_model_bits[i] = c->cand_model_bits[i];
        b->cand_loss_bpb[i] = c->cand_loss_bpb[i];
        b->cand_dl_bits[i] = c->cand_dl_bits[i];
        b->cand_tuned[i] = 0;
    }
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
    nmdl_cluster_params_default(&cp, m, src, n);
    cp.per_row = p->budget.per_row;
    cp.priced = priced_bytes(p, n);
    cp.cheap = p->cheap;
    cp.cheap_weight = p->cheap_weight;
    int rc = nmdl_q_alloc(&m->cfg, qm);
    data_code(p, n, qm);
    if (rc || (rc = nmdl_cluster_init(&cl, qm, &cp)))
        return rc;
    nmdl_cluster_hook(&cl, plan->train_steps, plan->rate_steps, &hook);
    rc = train_for_code(p, plan, src, n, m, qm, &hook, r);
    const int go = !rc && !r->stop_step;
    if (go && !cl.k) /* no step ran through the assignment */
        rc = nmdl_cluster_start(&cl, m->params);
    r->model_estimate_bits = r->model_level_bits = NAN;
    if (go && !rc) {
        nmdl_cluster_assign(&cl, m->params);
        rc = encode_levels(qm, rebuilt, model, model_len, r);
    }
    if (go && !rc)
        cluster_report(&cl, m->lay.n_params, &r->budget);
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
    if (plan->weights == NMDL_WEIGHTS_CLUSTER)
        return encode_cluster(p, plan, src, n, m, qm, rebuilt, model, model_len, r);
    if (plan->weights != NMDL_WEIGHTS_ROUND)
        return encode_learned(p, plan, src, n, m, qm, rebuilt, model, model_len, r);
    int rc = nmdl_prog_phase(p->prog, NMDL_PHASE_TRAIN, plan->work[NMDL_PHASE_TRAIN],
                             plan->train_steps);
    nmdl_train_hook stop = {plan->train_steps, NULL, NULL, NULL, NULL, NULL, NULL};
    nmdl_stop sp;
    nmdl_stop_attach(&sp, p->beat_bytes, src, n, nmdl_neural_free_bytes(p), p->cheap,
                     p->cheap_weight, plan->train_steps, &stop);
    if (!rc && plan->train_steps > 0) {
        train_params(p, plan->train_steps, 0, &tp);
        rc = nmdl_train_run(m, src, n, &tp, stop.stop ? &stop : NULL, p->prog, &tr);
    }
    stop_report(&sp, r);
    r->train_s = nmdl_prog_now() - t0;
    r->train_steps = tr.steps;
    r->loss_train_bpb = tr.loss_bpb;
    if (!rc && !r->stop_step)
        rc = nmdl_q_alloc(&m->cfg, qm);
    if (rc || r->stop_step)
        return rc;
    data_code(p, n, qm);
    nmdl_budget_params bp;
    nmdl_train_params tune;
    float *spread = NULL;
    budget_params(p, plan, plan->qat_steps, &bp, &tune);
    bp.priced_bytes = priced_bytes(p, n);
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
    r.budget.llc_healthy = -1; /* until an estimate says otherwise */
    int rc = nmdl_neural_plan_make(p, n, &plan);
    nmdl_model *m;
    if (p->match >= NMDL_SC_MIX5 && n <= NMDL_MM_MAX_INPUT) /* where data_code keeps it */
        nmdl_tf_symbol_set(&plan.cfg, src, n);
    if (rc || (rc = nmdl_model_create(&plan.cfg, p->seed, &m)))
        return rc;
    nmdl_qmodel qm = {0};
    float *rebuilt = malloc(m->lay.n_params * sizeof(float));
    *model = *data = NULL;
    m->prog = p->prog; /* its passes report between blocks */
    rc = rebuilt ? encode_model(p, &plan, src, n, m, &qm, rebuilt, model, model_len, &r)
                 : NMDL_ERR_NOMEM;
    double t0 = nmdl_prog_now();
    r.segments = nmdl_neural_segments_of(p, n, qm.match);
    long code_steps;
    const double work = code_work(p, &plan.cfg, n, qm.match, &code_steps);
    if (!rc && !r.stop_step)
        rc = nmdl_prog_phase(p->prog, NMDL_PHASE_CODE, work, code_steps);
    if (!rc && !r.stop_step)
        rc = nmdl_neural_encode_data(&plan.cfg, rebuilt, src, n, r.segments, qm.match,
                                     p->threads, p->prog, data, data_len, &r.pure_data_bytes);
    r.other_data_bytes = NAN;
    if (!rc && !r.stop_step && two_codes(p, n) && !(rc = nmdl_prog_canceled(p->prog)))
        rc = shorter_code(p, &plan.cfg, rebuilt, src, n, &qm, &r, model, model_len, data,
                          data_len);
    r.data_code = qm.match;
    r.code_s = nmdl_prog_now() - t0;
    r.n_params = m->lay.n_params;
    if (!rc && !r.stop_step) {
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
