/*
 * levels.c: see levels.h.
 */
#include "levels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nmdl.h"

#define LV_ONE (1u << 16)      /* P(1) of a decision is coded out of 2^16 */
#define LV_P_MIN 32u           /* and kept within [32, 2^16 - 32]: a level
                                  costs at least 0.0007 bits, so the model
                                  part's levels-per-byte bound holds */
#define LV_P_HALF (1 << 21)    /* a counter's P(1) has 22 bits */
#define LV_LIMIT 254           /* a counter's rate stops falling at 1/255.5 */
#define LV_ODDS 4095           /* log2-odds within +-16 bits, 1/256 bits */
#define LV_W_START 10923       /* each counter's starting weight: 1/6 */
#define LV_W_MAX (1 << 22)     /* weights stay within +-64 */
#define LV_RATE_SHIFT 16       /* the mixer's rate: 2^-16 per error x input */
#define LV_MAG 255             /* magnitudes above it count as it */

/* Offsets of the five counters' contexts within a kind and decision's. */
enum { LV_LC = 0, LV_LR = 35, LV_LLU = 65, LV_CR = 145, LV_COL = 187 };
#define LV_CTRS (NMDL_LV_INPUTS - 1) /* counters mixed */

/* Where one level's decisions look: its counters' contexts (offsets into
 * a kind's COUNTERS) and its two weight sets. */
typedef struct lv_ctx {
    int ctx[LV_CTRS];
    int set, set2;
} lv_ctx;

/* Where the decisions go: an encoder, a decoder, or a count of bits. */
typedef struct lv_io {
    nmdl_rc_enc *e;
    nmdl_rc_dec *d;
    double *bits;
} lv_io;

/* Each of `sets` weight sets: LV_W_START per counter, 0 for the bias. */
static void start_weights(int32_t *w, size_t sets)
{
    for (size_t i = 0; i < sets * NMDL_LV_INPUTS; i++)
        w[i] = i % NMDL_LV_INPUTS < LV_CTRS ? LV_W_START : 0;
}

/* Counters and weight sets of a coder, all kinds and decisions. */
#define LV_ALL_COUNTERS ((size_t)NMDL_LV_KINDS * NMDL_LV_COUNTERS * NMDL_LV_DECISIONS)
#define LV_ALL_SETS ((size_t)NMDL_LV_KINDS * NMDL_LV_DECISIONS * NMDL_LV_SETS)
#define LV_ALL_SETS2 ((size_t)NMDL_LV_KINDS * NMDL_LV_DECISIONS * NMDL_LV_SETS2)

size_t nmdl_lv_bytes(int max_cols)
{
    return sizeof(nmdl_lv) + LV_ALL_COUNTERS * (sizeof(int32_t) + 1) +
           (LV_ALL_SETS + LV_ALL_SETS2) * NMDL_LV_INPUTS * sizeof(int32_t) +
           (size_t)(max_cols > 0 ? max_cols : 0) * sizeof(int32_t);
}

int nmdl_lv_init(nmdl_lv *s, int max_cols)
{
    const size_t counters = LV_ALL_COUNTERS, sets = LV_ALL_SETS, sets2 = LV_ALL_SETS2;
    memset(s, 0, sizeof *s);
    if (max_cols < 1)
        return NMDL_ERR_ARG;
    s->ctr = malloc(counters * sizeof *s->ctr);
    s->seen = calloc(counters, 1);
    s->w = malloc(sets * NMDL_LV_INPUTS * sizeof *s->w);
    s->w2 = malloc(sets2 * NMDL_LV_INPUTS * sizeof *s->w2);
    s->col = calloc((size_t)max_cols, sizeof *s->col);
    if (!s->ctr || !s->seen || !s->w || !s->w2 || !s->col) {
        nmdl_lv_free(s);
        return NMDL_ERR_NOMEM;
    }
    for (size_t i = 0; i < counters; i++)
        s->ctr[i] = LV_P_HALF;
    start_weights(s->w, sets);
    start_weights(s->w2, sets2);
    for (int k = 0; k < NMDL_LV_KINDS; k++)
        nmdl_bm_int_init(&s->esc[k]);
    nmdl_im_logistic_init(&s->lt);
    return NMDL_OK;
}

void nmdl_lv_free(nmdl_lv *s)
{
    free(s->ctr);
    free(s->seen);
    free(s->w);
    free(s->w2);
    free(s->col);
    memset(s, 0, sizeof *s);
}

void nmdl_lv_tensor(nmdl_lv *s, int kind, int cols)
{
    s->kind = kind;
    s->cols = cols;
    s->above = NULL;
    memset(s->col, 0, (size_t)cols * sizeof *s->col);
}

static int mag(int32_t v, int cap)
{
    const int32_t a = v < 0 ? -v : v;
    return a < cap ? (int)a : cap;
}

/* The class of a column's running mean |level| m (1/256): 1..6 at 0.15,
 * 0.35, 0.6, 1.0 and 1.6; 0 in a tensor's first coded row. */
static int column_class(const nmdl_lv *s, int c)
{
    static const int32_t edge[5] = {38, 90, 154, 256, 410};
    int k = 0;
    while (k < 5 && s->col[c] >= edge[k])
        k++;
    return s->above ? 1 + k : 0;
}

/* The class of the row's mean |level| over its first c columns (sum):
 * 1..5 at 0.2, 0.45, 0.8 and 1.3; 0 in its first four columns (c < 4). */
static int row_class(int64_t sum, int c)
{
    static const int64_t edge[4] = {20, 45, 80, 130}; /* hundredths */
    int k = 0;
    while (k < 4 && 100 * sum >= edge[k] * c)
        k++;
    return c < 4 ? 0 : 1 + k;
}

/* The contexts of the level at column c of row q (q[0, c) known). */
static lv_ctx context(const nmdl_lv *s, const int32_t *q, int c, int64_t row_sum)
{
    const int L = c > 0 ? mag(q[c - 1], 3) : 4, L2 = c > 1 ? mag(q[c - 2], 2) : 3;
    const int U = s->above ? mag(s->above[c], 2) : 3;
    const int C = column_class(s, c), R = row_class(row_sum, c);
    const int col = c < NMDL_LV_COLUMNS ? c : NMDL_LV_COLUMNS - 1;
    return (lv_ctx){{LV_LC + L * 7 + C, LV_LR + L * 6 + R, LV_LLU + (L * 4 + L2) * 4 + U,
                     LV_CR + C * 6 + R, LV_COL + col},
                    L * 7 + C, U * 6 + R};
}

/* One decision's mix: where its counters are, its inputs and weights,
 * each set's log-odds. */
typedef struct lv_mix {
    size_t at[LV_CTRS];     /* the counters, into ctr and seen */
    int in[NMDL_LV_INPUTS]; /* their log2-odds and the bias, 1/256 bits */
    int32_t *w, *w2;        /* the two weight sets */
    int x1, x2;             /* their mixes, 1/256 bits */
} lv_mix;

/* P(1) * 2^16 of decision j of a level in context x, in [LV_P_MIN,
 * 2^16 - LV_P_MIN]; m keeps what learning needs. */
static uint32_t predict(const nmdl_lv *s, const lv_ctx *x, int j, lv_mix *m)
{
    for (int i = 0; i < LV_CTRS; i++) {
        m->at[i] = ((size_t)s->kind * NMDL_LV_COUNTERS + (size_t)x->ctx[i]) *
                       NMDL_LV_DECISIONS + (size_t)j;
        const uint32_t p = (uint32_t)s->ctr[m->at[i]] >> 6; /* P(1) * 2^16 */
        m->in[i] = nmdl_im_odds(&s->lt, p, LV_ONE - p, LV_ODDS);
    }
    m->in[LV_CTRS] = 256; /* bias: one bit */
    const size_t kj = (size_t)s->kind * NMDL_LV_DECISIONS + (size_t)j;
    m->w = s->w + (kj * NMDL_LV_SETS + (size_t)x->set) * NMDL_LV_INPUTS;
    m->w2 = s->w2 + (kj * NMDL_LV_SETS2 + (size_t)x->set2) * NMDL_LV_INPUTS;
    m->x1 = nmdl_im_mix(m->w, m->in, NMDL_LV_INPUTS, LV_ODDS);
    m->x2 = nmdl_im_mix(m->w2, m->in, NMDL_LV_INPUTS, LV_ODDS);
    const uint32_t p = nmdl_im_squash(&s->lt, nmdl_im_mean(m->x1, m->x2));
    return p < LV_P_MIN ? LV_P_MIN : p > LV_ONE - LV_P_MIN ? LV_ONE - LV_P_MIN : p;
}

/* Moves weights w towards the bit their own mix x gave P(1) for. */
static void learn(const nmdl_lv *s, int32_t *w, const int *in, int bit, int x)
{
    const int32_t err = (int32_t)(bit ? LV_ONE : 0) - (int32_t)nmdl_im_squash(&s->lt, x);
    nmdl_im_learn(w, in, NMDL_LV_INPUTS, err, LV_RATE_SHIFT, LV_W_MAX);
}

/* The bit that came: the decision's counters and both weight sets learn. */
static void update(nmdl_lv *s, const lv_mix *m, int bit)
{
    for (int i = 0; i < LV_CTRS; i++) {
        s->ctr[m->at[i]] = nmdl_im_toward(s->ctr[m->at[i]], bit ? 2 * LV_P_HALF - 1 : 0,
                                          s->seen[m->at[i]]);
        s->seen[m->at[i]] += s->seen[m->at[i]] < LV_LIMIT;
    }
    learn(s, m->w, m->in, bit, m->x1);
    learn(s, m->w2, m->in, bit, m->x2);
}

/* Decision j of a level in context x: the bit coded into or decoded from
 * io as [0, P) (1) or [P, 2^16) (0), or counted, then learned from. */
static int decide(nmdl_lv *s, const lv_ctx *x, int j, const lv_io *io, int *bit)
{
    lv_mix m;
    const uint32_t p = predict(s, x, j, &m);
    if (io->d) {
        uint32_t t;
        int rc = nmdl_rc_decode_target(io->d, 16, &t);
        if (rc)
            return rc;
        *bit = t < p;
        if ((rc = *bit ? nmdl_rc_decode_update(io->d, 0, p)
                       : nmdl_rc_decode_update(io->d, p, LV_ONE - p)))
            return rc;
    } else if (io->e) {
        nmdl_rc_encode(io->e, *bit ? 0 : p, *bit ? p : LV_ONE - p, 16);
    } else {
        *io->bits -= log2((double)(*bit ? p : LV_ONE - p) / LV_ONE);
    }
    update(s, &m, *bit);
    return NMDL_OK;
}

/* The escape of |v| - 1 >= NMDL_BM_UNARY: r = |v| - NMDL_BM_UNARY >= 1 as
 * bitmodel.h codes an integer. */
static int escape(nmdl_lv *s, const lv_io *io, uint32_t *r)
{
    nmdl_bm_int *m = &s->esc[s->kind];
    if (io->e)
        nmdl_bm_put_int(io->e, m, 0, (int32_t)*r);
    else if (!io->d)
        *io->bits += nmdl_bm_int_cost(m, 0, (int32_t)*r);
    else {
        int32_t v;
        int rc = nmdl_bm_get_int(io->d, m, 0, &v);
        if (rc || v < 1 || v > NMDL_BM_MAX_INT - NMDL_BM_UNARY)
            return rc ? rc : NMDL_ERR_CORRUPT;
        *r = (uint32_t)v;
    }
    return NMDL_OK;
}

/* One level *v in context x, into or out of io. */
static int level(nmdl_lv *s, const lv_ctx *x, const lv_io *io, int32_t *v)
{
    int nonzero = *v != 0, neg = *v < 0, rc;
    if ((rc = decide(s, x, 0, io, &nonzero)) || !nonzero) {
        *v = 0;
        return rc;
    }
    if ((rc = decide(s, x, 1, io, &neg)))
        return rc;
    uint32_t a = (uint32_t)mag(*v, NMDL_BM_MAX_INT) - 1; /* the encoder's |v| - 1
                                                             (the decoder's is found) */
    int i = 0;
    for (; i < NMDL_BM_UNARY; i++) {
        int more = a > (uint32_t)i;
        if ((rc = decide(s, x, 2 + i, io, &more)))
            return rc;
        if (!more)
            break;
    }
    if (i == NMDL_BM_UNARY) {
        uint32_t r = a - NMDL_BM_UNARY + 1;
        if ((rc = escape(s, io, &r)))
            return rc;
        a = r + NMDL_BM_UNARY - 1;
    } else {
        a = (uint32_t)i;
    }
    *v = neg ? -(int32_t)(a + 1) : (int32_t)(a + 1);
    return NMDL_OK;
}

/* A row into io from q, or (out not NULL) out of io into out; the
 * columns' means and "above" follow it. */
static int row(nmdl_lv *s, const lv_io *io, const int32_t *q, int32_t *out)
{
    const int32_t *r = out ? out : q; /* the row as far as it is known */
    int64_t sum = 0;
    for (int c = 0; c < s->cols; c++) {
        const lv_ctx x = context(s, r, c, sum);
        int32_t v = out ? 0 : q[c];
        int rc = level(s, &x, io, &v);
        if (rc)
            return rc;
        if (out)
            out[c] = v;
        const int a = mag(v, LV_MAG);
        sum += a;
        s->col[c] += nmdl_im_floor_div((int64_t)a * 256 - s->col[c], 4);
    }
    s->above = r;
    return NMDL_OK;
}

void nmdl_lv_put_row(nmdl_lv *s, nmdl_rc_enc *e, const int32_t *q, double *bits)
{
    const lv_io io = {e, NULL, bits};
    row(s, &io, q, NULL);
}

int nmdl_lv_get_row(nmdl_lv *s, nmdl_rc_dec *d, int32_t *q)
{
    const lv_io io = {NULL, d, NULL};
    return row(s, &io, NULL, q);
}
