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
#include <time.h>

#include "../model/infer.h"
#include "../model/quant.h"
#include "../model/train.h"
#include "freq.h"
#include "rate.h"
#include "rc.h"

#define SEGMENT_BYTES 32768 /* target segment length */
#define TRAIN_BATCH 16
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

/* Model FLOPs of training on one byte (the PaLM count bench/train uses). */
static double flops_per_token(const nmdl_model_config *c)
{
    double C = c->d_model, F = c->d_ff, L = c->n_layer, T = c->ctx;
    return 6 * (L * (4 * C * C + 2 * C * F) + 256 * C) + 12 * L * C * T;
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

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
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

/* Splits S segments into G groups; runs them on up to G threads. */
static int code_all(const nmdl_model_config *cfg, const float *params, int S,
                    int threads, group *proto, int decode)
{
    int G = threads < S ? threads : S, err = NMDL_OK;
    if (G < 1)
        G = 1;
#pragma omp parallel for num_threads(G) schedule(dynamic, 1)
    for (int k = 0; k < G; k++) {
        int s0 = (int)((long)k * S / G), s1 = (int)((long)(k + 1) * S / G);
        group g = {s0, s1 - s0, proto->in ? proto->in + s0 : NULL,
                   proto->out ? proto->out + s0 : NULL, proto->len + s0,
                   proto->enc ? proto->enc + s0 : NULL,
                   proto->dec ? proto->dec + s0 : NULL};
        int rc = code_group(cfg, params, &g, decode);
        if (rc) {
#pragma omp critical
            err = err ? err : rc;
        }
    }
    return err;
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
                       const uint8_t *src, size_t n, int threads,
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
    group proto = {0, S, in, NULL, len, enc, NULL};
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
    t->batch = TRAIN_BATCH;
    t->seed = p->seed + (qat ? 1000 : 0);
    t->threads = p->threads;
    t->progress = p->progress;
    t->progress_user = p->progress_user;
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

static double env_or(const char *name, double v) /* EXPERIMENT */
{
    const char *e = getenv(name);
    return e ? atof(e) : v;
}

/* Rate-aware: one training run whose last `share` of the steps optimize
 * the description length (codec/rate.h); the LLC for the report. */
static int encode_rate(const nmdl_neural_params *p, const uint8_t *src, size_t n,
                       nmdl_model *m, nmdl_qmodel *qm, float *rebuilt,
                       uint8_t **model, size_t *model_len, nmdl_neural_report *r,
                       long steps, double share)
{
    nmdl_rate_params rp;
    nmdl_rate_params_default(&rp);
    rp.n = (double)n;
    rp.seed = p->seed;
    rp.per_row = p->budget.per_row;
    rp.bits = env_or("NMDL_EXP_RATE_BITS", rp.bits);
    rp.step_lr = env_or("NMDL_EXP_RATE_LR", rp.step_lr);
    rp.round_share = env_or("NMDL_EXP_ROUND_SHARE", rp.round_share);
    rp.weight = env_or("NMDL_EXP_RATE_WEIGHT", rp.weight);
    nmdl_rate rt;
    nmdl_train_hook hook;
    nmdl_train_params tp;
    nmdl_train_report tr = {0};
    int rc = nmdl_q_alloc(&m->cfg, qm);
    if (!rc)
        rc = nmdl_rate_init(&rt, qm, &rp);
    if (rc)
        return rc;
    nmdl_rate_hook(&rt, steps, (long)(share * (double)steps), &hook);
    train_params(p, steps, 0, &tp);
    tp.weight_decay = env_or("NMDL_EXP_RATE_WD", tp.weight_decay);
    double t0 = now();
    rc = nmdl_train_run(m, src, n, &tp, &hook, &tr);
    r->train_s = now() - t0;
    r->train_steps = steps;
    r->loss_train_bpb = tr.loss_bpb;
    nmdl_budget_params bp = p->budget;
    float *spread = NULL;
    bp.mode = NMDL_BUDGET_BSTAR; /* the estimate, for the report */
    bp.llc.seed = p->seed;
    if (!rc)
        rc = nmdl_budget_choose(m, src, n, qm, &bp, p->threads, &spread, &r->budget);
    free(spread);
    if (!rc) {
        nmdl_q_quantize(qm, m->params);
        nmdl_q_dequantize(qm, rebuilt);
        double est = nmdl_rate_estimate(&rt);
        rc = nmdl_q_encode(qm, model, model_len);
        r->budget.bits = 8.0 * (double)*model_len / (double)qm->lay.n_params;
        if (!rc)
            snprintf(r->budget.note, sizeof r->budget.note,
                     "rate-aware: estimate %.0f bytes, coded %zu", est / 8, *model_len);
    }
    nmdl_rate_free(&rt);
    return rc;
}

/* Trains, quantizes (with fine-tuning) and encodes the model part; leaves
 * the rebuilt weights in `rebuilt`. */
static int encode_model(const nmdl_neural_params *p, const uint8_t *src, size_t n,
                        nmdl_model *m, nmdl_qmodel *qm, float *rebuilt,
                        uint8_t **model, size_t *model_len, nmdl_neural_report *r)
{
    const struct effort *e = &efforts[p->effort];
    const double per_step = (double)TRAIN_BATCH * m->cfg.ctx * flops_per_token(&m->cfg);
    long steps = p->train_steps >= 0 ? p->train_steps
                                     : clamp_steps(e->flops_per_byte * (double)n / per_step);
    long qsteps = p->qat_steps >= 0 ? p->qat_steps : clamp_steps(e->qat * (double)steps);
    nmdl_train_params tp;
    nmdl_train_report tr = {0};
    double t0 = now();
    int rc = NMDL_OK;
    const char *ev = getenv("NMDL_EXP_RATE"); /* EXPERIMENT */
    double share = ev ? atof(ev) : 0;
    if (share > 0)
        return encode_rate(p, src, n, m, qm, rebuilt, model, model_len, r, steps, share);
    if (steps > 0) {
        train_params(p, steps, 0, &tp);
        rc = nmdl_train_run(m, src, n, &tp, NULL, &tr);
    }
    r->train_s = now() - t0;
    r->train_steps = steps;
    r->loss_train_bpb = tr.loss_bpb;
    if (!rc)
        rc = nmdl_q_alloc(&m->cfg, qm);
    if (rc)
        return rc;
    nmdl_budget_params bp = p->budget;
    float *spread = NULL;
    nmdl_train_params tune;
    if (bp.mode == NMDL_BUDGET_FIXED && !(bp.bits > 0))
        bp.bits = e->bits;
    bp.llc.seed = p->seed;
    if (qsteps >= 8) { /* the search's finalists get a quarter of the tuning */
        train_params(p, qsteps / 4, 1, &tune);
        tune.progress = NULL;
        bp.tune = &tune;
    }
    if ((rc = nmdl_budget_choose(m, src, n, qm, &bp, p->threads, &spread, &r->budget)))
        return rc;
    r->delta = nmdl_budget_delta(qm, m->params, r->budget.bits, bp.per_row, spread);
    free(spread);
    t0 = now();
    if (qsteps > 0) {
        nmdl_train_hook round;
        nmdl_rate_round_hook(qm, &round);
        train_params(p, qsteps, 1, &tp);
        rc = nmdl_train_run(m, src, n, &tp, &round, &tr);
    }
    r->qat_s = now() - t0;
    r->qat_steps = qsteps;
    if (rc)
        return rc;
    nmdl_q_quantize(qm, m->params);
    nmdl_q_dequantize(qm, rebuilt);
    return nmdl_q_encode(qm, model, model_len);
}

static int check_neural_params(const nmdl_neural_params *p, size_t n)
{
    if (!p || p->effort < 1 || p->effort > 9 || p->threads < 1 || n < 2 ||
        (p->cfg && nmdl_model_config_check(p->cfg)))
        return NMDL_ERR_ARG;
    return NMDL_OK;
}

int nmdl_neural_encode(const nmdl_neural_params *p, const uint8_t *src,
                       size_t n, uint8_t **model, size_t *model_len,
                       uint8_t **data, size_t *data_len,
                       nmdl_neural_report *report)
{
    nmdl_neural_report r;
    memset(&r, 0, sizeof r);
    int rc = check_neural_params(p, n);
    if (rc)
        return rc;
    nmdl_model_config cfg;
    if (p->cfg)
        cfg = *p->cfg;
    else if (nmdl_model_preset(effort_preset(p->effort, n), &cfg))
        return NMDL_ERR_ARG;
    if ((size_t)cfg.ctx >= n) /* windows must fit the data */
        cfg.ctx = (int)(n - 1) < 2 ? 2 : (int)(n - 1);
    if (n <= (size_t)cfg.ctx)
        return NMDL_ERR_ARG;
    nmdl_model *m;
    if ((rc = nmdl_model_create(&cfg, p->seed, &m)))
        return rc;
    nmdl_qmodel qm = {0};
    float *rebuilt = malloc(m->lay.n_params * sizeof(float));
    *model = *data = NULL;
    rc = rebuilt ? encode_model(p, src, n, m, &qm, rebuilt, model, model_len, &r)
                 : NMDL_ERR_NOMEM;
    double t0 = now();
    if (!rc)
        rc = encode_data(&cfg, rebuilt, src, n, p->threads, data, data_len, &r.segments);
    r.code_s = now() - t0;
    if (!rc) {
        r.n_params = m->lay.n_params;
        r.bits_per_weight = 8.0 * (double)*model_len / (double)r.n_params;
        r.data_bpb = 8.0 * (double)*data_len / (double)n;
        if (report)
            *report = r;
    } else {
        free(*model);
        *model = NULL;
    }
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
                       size_t n, int threads)
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
        group proto = {0, S, NULL, out, len, NULL, dec};
        rc = code_all(c, params, S, threads, &proto, 1);
    }
    free(streams), free(slen), free(len), free(out), free(dec), free(params);
    nmdl_q_free(&qm);
    return rc;
}
