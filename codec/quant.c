/*
 * quant.c: see quant.h.
 */
#include "quant.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bitmodel.h"
#include "error.h"
#include "levels.h"

#define Q_FLAG_TIED 1u
#define Q_FLAG_PER_ROW 2u
#define Q_FLAG_CODEBOOK 4u
#define Q_FLAG_MATCH 8u /* the data part mixes the match model (codec/match.h) */
#define Q_FLAG_MIX 16u  /* and the context mixer (codec/cm.h); only with bit 3 */
#define Q_FLAG_REV2 32u /* both in their revision 2; only with bit 4 */
#define Q_FLAG_TOKENS 64u /* the data part codes merged symbols (codec/bpe.h) */
#define Q_FLAG_REV 128u /* a byte follows: the data part's revision (3 to
                           6); only with bit 5 */
#define Q_REV_MAX 8     /* the newest revision a decoder knows */
#define Q_REV_SET 5     /* from this revision on, the symbol set follows */
#define Q_REV_MIXED 6   /* and from this one, the levels' code is codec/levels.h */
#define Q_MIN_BASE 0x1p-100f /* valid range of a base step */
#define Q_MAX_BASE 0x1p+100f

/* 2^(i/8) rounded to float. */
static const float pow2_eighths[8] = {
    0x1.000000p+0f, 0x1.172b84p+0f, 0x1.306fe0p+0f, 0x1.4bfdaep+0f,
    0x1.6a09e6p+0f, 0x1.8ace54p+0f, 0x1.ae89fap+0f, 0x1.d5818ep+0f};

enum { KIND_WTE, KIND_QKV, KIND_WO, KIND_W1, KIND_W2, KIND_WOUT, KIND_VEC, N_KINDS };
_Static_assert(N_KINDS == NMDL_LV_KINDS, "the mixed levels' code has a state per kind");

int nmdl_q_kind(const nmdl_tf_tensor *t)
{
    static const char *const names[] = {"wte", "wqkv", "wo", "w1", "w2", "wout"};
    if (t->rows == 1)
        return KIND_VEC;
    const char *dot = strchr(t->name, '.'), *base = dot ? dot + 1 : t->name;
    for (int k = 0; k < KIND_VEC; k++)
        if (!strcmp(base, names[k]))
            return k;
    return KIND_VEC;
}

static int is_vector(const nmdl_tf_tensor *t)
{
    return t->rows == 1;
}

int nmdl_q_alloc(const nmdl_model_config *cfg, nmdl_qmodel *qm)
{
    memset(qm, 0, sizeof *qm);
    if (nmdl_model_config_check(cfg))
        return NMDL_ERR_ARG;
    qm->cfg = *cfg;
    nmdl_tf_layout_make(cfg, &qm->lay);
    if (qm->lay.n_params > NMDL_Q_MAX_PARAMS)
        return NMDL_ERR_TOO_LARGE;
    const int nt = qm->lay.n_tensors;
    size_t rows = 0;
    for (int k = 0; k < nt; k++)
        rows += (size_t)qm->lay.tensor[k].rows;
    qm->base = calloc((size_t)2 * nt, sizeof(float));
    qm->row0 = calloc((size_t)nt + 1, sizeof(size_t));
    qm->rexp = calloc(rows, 1);
    qm->q = calloc(qm->lay.n_params, sizeof(int32_t));
    if (!qm->base || !qm->row0 || !qm->rexp || !qm->q) {
        nmdl_q_free(qm);
        return NMDL_ERR_NOMEM;
    }
    for (int k = 0; k < nt; k++)
        qm->row0[k + 1] = qm->row0[k] + (size_t)qm->lay.tensor[k].rows;
    return NMDL_OK;
}

void nmdl_q_free(nmdl_qmodel *qm)
{
    for (int k = 0; qm->cb && k < qm->lay.n_tensors; k++)
        free(qm->cb[k].c);
    free(qm->cb);
    free(qm->base);
    free(qm->row0);
    free(qm->rexp);
    free(qm->q);
    memset(qm, 0, sizeof *qm);
}

int nmdl_q_codebooks(nmdl_qmodel *qm, int k)
{
    if (k < 2)
        return NMDL_ERR_ARG;
    if (!qm->cb && !(qm->cb = calloc((size_t)qm->lay.n_tensors, sizeof *qm->cb)))
        return NMDL_ERR_NOMEM;
    for (int i = 0; i < qm->lay.n_tensors; i++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[i];
        nmdl_q_codebook *b = &qm->cb[i];
        const size_t size = (size_t)t->rows * t->cols;
        free(b->c);
        memset(b, 0, sizeof *b);
        if (is_vector(t))
            continue;
        b->k = (size_t)k < size ? k : (int)size;
        b->z = b->k / 2;
        if (!(b->c = calloc((size_t)b->k, sizeof(float))))
            return NMDL_ERR_NOMEM;
    }
    return NMDL_OK;
}

/* Tensor k's codebook, or NULL when its levels are uniform. */
static const nmdl_q_codebook *codebook(const nmdl_qmodel *qm, int k)
{
    return qm->cb && qm->cb[k].k ? &qm->cb[k] : NULL;
}

int nmdl_q_nearest(const float *c, int k, double x)
{
    int lo = 0, hi = k - 1; /* the first centroid >= x, or the last */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (c[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && x - c[lo - 1] <= c[lo] - x ? lo - 1 : lo;
}

/* The offset every level of tensor k is taken around: the tensor's mean
 * for vectors (LayerNorm gains sit near 1), 0 for matrices. Stored after
 * the base steps. */
static float *means(const nmdl_qmodel *qm)
{
    return qm->base + qm->lay.n_tensors;
}

float nmdl_q_offset(const nmdl_qmodel *qm, int k)
{
    return means(qm)[k];
}

static double rms(const float *w, size_t n, float mean)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += ((double)w[i] - mean) * ((double)w[i] - mean);
    return n ? sqrt(s / (double)n) : 0.0;
}

/* sqrt of the mean of n values. */
static double root_mean(const float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return n ? sqrt(s / (double)n) : 0.0;
}

void nmdl_q_set_steps(nmdl_qmodel *qm, const float *params, double delta,
                      int per_row, const float *spread)
{
    qm->per_row = per_row;
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        const float *w = params + t->off;
        const size_t n = (size_t)t->rows * t->cols;
        double mean = 0;
        if (is_vector(t)) {
            for (size_t i = 0; i < n; i++)
                mean += w[i];
            mean /= (double)n;
        }
        means(qm)[k] = (float)mean;
        size_t coded = 0; /* rows: those of absent symbols are zero and not coded */
        for (int row = 0; row < t->rows; row++)
            coded += !nmdl_tf_absent_row(&qm->cfg, t, row);
        double r = coded ? rms(w, n, (float)mean) * sqrt((double)t->rows / (double)coded) : 0;
        double b = delta * (r > 1e-12 ? r : 1e-12);
        qm->base[k] = (float)fmin(fmax(b, Q_MIN_BASE), Q_MAX_BASE);
        const float *sp = spread ? spread + t->off : NULL;
        double st = sp ? root_mean(sp, n) : r; /* the tensor's scale */
        for (int row = 0; row < t->rows; row++) {
            size_t o = (size_t)row * t->cols;
            double rr = sp ? root_mean(sp + o, (size_t)t->cols)
                           : rms(w + o, (size_t)t->cols, 0.0f);
            double e = per_row && rr > 0 && st > 0 ? round(8 * log2(rr / st)) : 0;
            qm->rexp[qm->row0[k] + row] = (int8_t)fmin(fmax(e, -NMDL_Q_REXP), NMDL_Q_REXP);
        }
    }
}

/* 2^k for |k| <= 126, exactly, from the bits. */
static float pow2i(int k)
{
    uint32_t b = (uint32_t)(127 + k) << 23;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

float nmdl_q_step(const nmdl_qmodel *qm, int k, size_t r)
{
    int e = qm->rexp[qm->row0[k] + r];
    int lo = ((e % 8) + 8) % 8, hi = (e - lo) / 8; /* e = 8 hi + lo */
    return qm->base[k] * pow2_eighths[lo] * pow2i(hi);
}

void nmdl_q_quantize(nmdl_qmodel *qm, const float *params)
{
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        const nmdl_q_codebook *b = codebook(qm, k);
        const float mean = means(qm)[k];
        for (int row = 0; row < t->rows; row++) {
            const float step = nmdl_q_step(qm, k, (size_t)row);
            const size_t o = t->off + (size_t)row * t->cols;
            const int absent = nmdl_tf_absent_row(&qm->cfg, t, row); /* level 0, uncoded */
            for (int c = 0; c < t->cols; c++) {
                double x = ((double)params[o + c] - mean) / step;
                x = fmin(fmax(x, -NMDL_Q_MAX_LEVEL), NMDL_Q_MAX_LEVEL);
                qm->q[o + c] = absent ? 0 : b ? nmdl_q_nearest(b->c, b->k, x) - b->z
                                              : (int32_t)lround(x);
            }
        }
    }
}

void nmdl_q_dequantize(const nmdl_qmodel *qm, float *params)
{
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        const nmdl_q_codebook *b = codebook(qm, k);
        const float mean = means(qm)[k];
        for (int row = 0; row < t->rows; row++) {
            const float step = nmdl_q_step(qm, k, (size_t)row);
            const size_t o = t->off + (size_t)row * t->cols;
            for (int c = 0; c < t->cols; c++) /* a float product, then a float sum */
                params[o + c] = (b ? b->c[b->z + qm->q[o + c]] : (float)qm->q[o + c]) * step + mean;
        }
    }
}

/* ----------------------------------------------------------- serialising */

typedef struct qbuf {
    uint8_t *p;
    size_t len, cap;
    int err;
} qbuf;

static void put(qbuf *b, const void *src, size_t n)
{
    if (b->err)
        return;
    if (b->len + n > b->cap) {
        size_t cap = 2 * (b->len + n) + 64;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->err = NMDL_ERR_NOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_varint(qbuf *b, uint64_t v)
{
    uint8_t t[10];
    int n = 0;
    for (; v >= 0x80; v >>= 7)
        t[n++] = (uint8_t)(v | 0x80);
    t[n++] = (uint8_t)v;
    put(b, t, (size_t)n);
}

static void put_f32(qbuf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint8_t t[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
    put(b, t, 4);
}

/* One signed integer into e, or (e NULL) its cost added to *bits. */
static void put_value(nmdl_rc_enc *e, nmdl_bm_int *m, int prev_zero, int32_t v,
                      double *bits)
{
    if (e)
        nmdl_bm_put_int(e, m, prev_zero, v);
    else
        *bits += nmdl_bm_int_cost(m, prev_zero, v);
}

/* Does data code `match` (NMDL_SC_*) carry revision 5's symbol set? */
static int has_set(int match)
{
    return match - 1 >= Q_REV_SET;
}

/* Does qm code its levels with revision 6's mixed code (codec/levels.h)? */
static int mixed_levels(const nmdl_qmodel *qm)
{
    return qm->match - 1 >= Q_REV_MIXED;
}

/* Revision 5 codes the row exponents after the levels, and only those of
 * rows with a nonzero level (the others' weights are 0 at any step, and
 * their exponents 0); before it, every row's exponent comes first. */
static int exponents_last(const nmdl_qmodel *qm)
{
    return has_set(qm->match);
}

/* Is row `row` of tensor k's exponent in the stream? Never for an absent
 * symbol's row; from revision 5 only where a level is nonzero. */
static int exponent_coded(const nmdl_qmodel *qm, int k, int row)
{
    const nmdl_tf_tensor *t = &qm->lay.tensor[k];
    if (nmdl_tf_absent_row(&qm->cfg, t, row))
        return 0;
    const int32_t *q = qm->q + t->off + (size_t)row * t->cols;
    int nonzero = !exponents_last(qm);
    for (int c = 0; c < t->cols && !nonzero; c++)
        nonzero = q[c] != 0;
    return nonzero;
}

/* The coded rows' exponents, as differences within each tensor, into e;
 * or, with e NULL, their bits into *rexp_bits. */
static void code_exponents(const nmdl_qmodel *qm, nmdl_rc_enc *e, double *rexp_bits)
{
    nmdl_bm_int rexp;
    double scratch = 0;
    nmdl_bm_int_init(&rexp);
    for (int k = 0; qm->per_row && k < qm->lay.n_tensors; k++) {
        int32_t prev = 0;
        for (int row = 0; row < qm->lay.tensor[k].rows; row++) {
            const size_t r = qm->row0[k] + (size_t)row;
            if (!exponent_coded(qm, k, row))
                continue;
            put_value(e, &rexp, 0, qm->rexp[r] - prev, e ? &scratch : rexp_bits);
            prev = qm->rexp[r];
        }
    }
}

/* The levels, in layout order, into e, each a signed integer of bitmodel.h
 * in a model per kind of tensor; or, with e NULL, each tensor's bits added
 * to bits[k]. */
static void code_plain(const nmdl_qmodel *qm, nmdl_rc_enc *e, double *bits)
{
    nmdl_bm_int ctx[N_KINDS];
    double scratch = 0;
    for (int k = 0; k < N_KINDS; k++)
        nmdl_bm_int_init(&ctx[k]);
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        nmdl_bm_int *m = &ctx[nmdl_q_kind(t)];
        for (int row = 0; row < t->rows; row++) {
            const int32_t *q = qm->q + t->off + (size_t)row * t->cols;
            if (nmdl_tf_absent_row(&qm->cfg, t, row))
                continue;
            for (int c = 0; c < t->cols; c++)
                put_value(e, m, c > 0 && q[c - 1] == 0, q[c], e ? &scratch : &bits[k]);
        }
    }
}

/* The same with revision 6's mixed code, row by row (absent rows left
 * out). */
static int code_mixed(const nmdl_qmodel *qm, nmdl_rc_enc *e, double *bits)
{
    nmdl_lv s;
    double scratch = 0;
    int rc = nmdl_lv_init(&s, nmdl_tf_widest(&qm->lay));
    for (int k = 0; !rc && k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        nmdl_lv_tensor(&s, nmdl_q_kind(t), t->cols);
        for (int row = 0; row < t->rows; row++)
            if (!nmdl_tf_absent_row(&qm->cfg, t, row))
                nmdl_lv_put_row(&s, e, qm->q + t->off + (size_t)row * t->cols,
                                e ? &scratch : &bits[k]);
    }
    nmdl_lv_free(&s);
    return rc;
}

/* Row exponents and levels, in layout order, into e; or, with e NULL, what
 * each costs: the exponents' bits into *rexp_bits and each tensor's
 * levels' into bits[k]. */
static int code_levels(const nmdl_qmodel *qm, nmdl_rc_enc *e, double *rexp_bits,
                       double *bits)
{
    if (!exponents_last(qm))
        code_exponents(qm, e, rexp_bits);
    int rc = NMDL_OK;
    if (mixed_levels(qm))
        rc = code_mixed(qm, e, bits);
    else
        code_plain(qm, e, bits);
    if (exponents_last(qm))
        code_exponents(qm, e, rexp_bits);
    return rc;
}

/* Bytes of a LEB128 number. */
static int varint_len(uint64_t v)
{
    int n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

int nmdl_q_tensor_bits(const nmdl_qmodel *qm, double *bits, double *rexp_bits)
{
    *rexp_bits = 0;
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_q_codebook *b = codebook(qm, k);
        bits[k] = b ? 8.0 * (varint_len((uint64_t)b->k) + varint_len((uint64_t)b->z) + 4 * b->k)
                    : 0;
    }
    return code_levels(qm, NULL, rexp_bits, bits);
}

int nmdl_q_encode(const nmdl_qmodel *qm, uint8_t **out, size_t *len)
{
    qbuf b = {0};
    const nmdl_model_config *c = &qm->cfg;
    if (nmdl_tf_symbols(c) < NMDL_TF_VOCAB && !has_set(qm->match)) /* no place for it */
        return NMDL_ERR_ARG;
    put_varint(&b, (uint64_t)c->n_layer);
    put_varint(&b, (uint64_t)c->d_model);
    put_varint(&b, (uint64_t)c->n_head);
    put_varint(&b, (uint64_t)c->d_ff);
    put_varint(&b, (uint64_t)c->ctx);
    uint8_t flags = (uint8_t)((c->tied ? Q_FLAG_TIED : 0) | (qm->per_row ? Q_FLAG_PER_ROW : 0) |
                              (qm->cb ? Q_FLAG_CODEBOOK : 0) | (qm->match ? Q_FLAG_MATCH : 0) |
                              (qm->match >= 2 ? Q_FLAG_MIX : 0) |
                              (qm->match >= 3 ? Q_FLAG_REV2 : 0) |
                              (qm->match >= 4 ? Q_FLAG_REV : 0) |
                              (qm->symbols ? Q_FLAG_TOKENS : 0));
    put(&b, &flags, 1);
    if (qm->match >= 4) { /* revision 3 and later: the revision */
        const uint8_t rev = (uint8_t)(qm->match - 1);
        put(&b, &rev, 1);
    }
    if (qm->symbols) { /* the symbol count, then the merges */
        put_varint(&b, (uint64_t)qm->symbols);
        const uint8_t count = (uint8_t)qm->tokens.count;
        put(&b, &count, 1);
        for (int k = 0; k < qm->tokens.count; k++)
            put(&b, (uint8_t[3]){qm->tokens.v[k], qm->tokens.a[k], qm->tokens.b[k]}, 3);
    }
    if (has_set(qm->match)) { /* the symbol set: 1 where a symbol occurs */
        uint8_t set[32];
        for (int i = 0; i < 32; i++)
            set[i] = (uint8_t)~c->absent[i];
        put(&b, set, 32);
    }
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        put_f32(&b, qm->base[k]);
        if (is_vector(&qm->lay.tensor[k]))
            put_f32(&b, means(qm)[k]);
    }
    for (int k = 0; qm->cb && k < qm->lay.n_tensors; k++) {
        const nmdl_q_codebook *cb = codebook(qm, k);
        if (!cb)
            continue;
        put_varint(&b, (uint64_t)cb->k);
        put_varint(&b, (uint64_t)cb->z);
        for (int i = 0; i < cb->k; i++)
            put_f32(&b, cb->c[i]);
    }
    nmdl_rc_enc e;
    nmdl_rc_enc_init(&e);
    uint8_t *stream = NULL;
    size_t n;
    int rc = code_levels(qm, &e, NULL, NULL);
    if (rc)
        nmdl_rc_enc_discard(&e);
    else
        rc = nmdl_rc_enc_finish(&e, &stream, &n);
    if (!rc) {
        put(&b, stream, n);
        free(stream);
    }
    if (rc || b.err) {
        free(b.p);
        return rc ? rc : b.err;
    }
    *out = b.p;
    *len = b.len;
    return NMDL_OK;
}

/* ------------------------------------------------------------- parsing */

typedef struct qin {
    const uint8_t *p;
    size_t len, pos;
} qin;

/* A LEB128 value of up to 31 bits; larger ones are corrupt. */
static int get_varint(qin *in, int *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 5; i++) {
        if (in->pos >= in->len)
            return NMDL_ERR_TRUNCATED;
        uint8_t b = in->p[in->pos++];
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            if ((i > 0 && b == 0) || v > INT32_MAX)
                return NMDL_ERR_CORRUPT;
            *out = (int)v;
            return NMDL_OK;
        }
    }
    return NMDL_ERR_CORRUPT;
}

static int get_f32(qin *in, float *f)
{
    if (in->len - in->pos < 4)
        return NMDL_ERR_TRUNCATED;
    const uint8_t *p = in->p + in->pos;
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    memcpy(f, &u, 4);
    in->pos += 4;
    return isfinite(*f) ? NMDL_OK : NMDL_ERR_CORRUPT;
}

int nmdl_q_check_config(const nmdl_model_config *c, char *why)
{
    static const struct {
        const char *name;
        size_t off;
        int lo, hi; /* nmdl_model_config_check's ranges */
    } fields[] = {
        {"n_layer", offsetof(nmdl_model_config, n_layer), 1, NMDL_TF_MAX_LAYERS},
        {"d_model", offsetof(nmdl_model_config, d_model), 8, 4096},
        {"n_head", offsetof(nmdl_model_config, n_head), 1, 4096},
        {"d_ff", offsetof(nmdl_model_config, d_ff), 1, 16384},
        {"ctx", offsetof(nmdl_model_config, ctx), 2, 8192},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        int v;
        memcpy(&v, (const char *)c + fields[i].off, sizeof v);
        if (v < fields[i].lo || v > fields[i].hi)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: %s %d outside %d..%d",
                            fields[i].name, v, fields[i].lo, fields[i].hi);
    }
    if (c->d_model % c->n_head)
        return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: d_model %d not divisible "
                        "by n_head %d", c->d_model, c->n_head);
    if (c->d_model / c->n_head > NMDL_Q_MAX_HEAD)
        return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: head width %d exceeds %d",
                        c->d_model / c->n_head, NMDL_Q_MAX_HEAD);
    if (nmdl_model_config_check(c))
        return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: invalid shape");
    nmdl_tf_layout lay;
    nmdl_tf_layout_make(c, &lay);
    if (lay.n_params > NMDL_Q_MAX_PARAMS)
        return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: %zu parameters exceed "
                        "2^25", lay.n_params);
    return NMDL_OK;
}

/* Flags bit 6: the symbol count (1 .. 2^31 - 1), the merges' count, then
 * each merge's value and pair, checked as a table (codec/bpe.h); the
 * count against the bytes left before anything is read. */
static int decode_tokens(qin *in, nmdl_q_header *h, char *why)
{
    int m, rc;
    if ((rc = get_varint(in, &m)) || m < 1)
        return nmdl_why(why, rc ? rc : NMDL_ERR_CORRUPT, "model part: token count %s",
                        rc == NMDL_ERR_TRUNCATED ? "cut short" : "not a number from 1 to 2^31 - 1");
    if (in->pos >= in->len)
        return nmdl_why(why, NMDL_ERR_TRUNCATED, "model part: ends before its token table");
    h->symbols = (size_t)m;
    h->tokens.count = in->p[in->pos++];
    if (h->tokens.count > NMDL_BPE_MAX || (in->len - in->pos) / 3 < (size_t)h->tokens.count)
        return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: %d merges do not fit in the "
                        "token table's %zu bytes", h->tokens.count, in->len - in->pos);
    for (int k = 0; k < h->tokens.count; k++, in->pos += 3) {
        h->tokens.v[k] = in->p[in->pos];
        h->tokens.a[k] = in->p[in->pos + 1];
        h->tokens.b[k] = in->p[in->pos + 2];
    }
    return nmdl_bpe_check(&h->tokens, why);
}

/* Revision 5: the symbol set, 32 bytes, bit b % 8 of byte b / 8 set where
 * symbol b occurs; a set without a symbol is corrupt. */
static int decode_set(qin *in, nmdl_model_config *c, char *why)
{
    if (in->len - in->pos < 32)
        return nmdl_why(why, NMDL_ERR_TRUNCATED, "model part: ends inside its symbol set");
    for (int i = 0; i < 32; i++)
        c->absent[i] = (uint8_t)~in->p[in->pos++];
    if (!nmdl_tf_symbols(c))
        return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: symbol set empty");
    return NMDL_OK;
}

static int decode_header(qin *in, nmdl_q_header *h, char *why)
{
    nmdl_model_config *c = &h->cfg;
    int rc, flags;
    if ((rc = get_varint(in, &c->n_layer)) || (rc = get_varint(in, &c->d_model)) ||
        (rc = get_varint(in, &c->n_head)) || (rc = get_varint(in, &c->d_ff)) ||
        (rc = get_varint(in, &c->ctx)))
        return nmdl_why(why, rc, "model part: shape %s", rc == NMDL_ERR_TRUNCATED
                        ? "cut short" : "not a LEB128 number below 2^31");
    if (in->pos >= in->len)
        return nmdl_why(why, NMDL_ERR_TRUNCATED, "model part: ends before its flags");
    flags = in->p[in->pos++];
    /* every bit of the flags has a meaning */
    if ((flags & Q_FLAG_MIX) && !(flags & Q_FLAG_MATCH))
        return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: flags 0x%02x: context mixing "
                        "without the match model", flags);
    if ((flags & Q_FLAG_REV2) && !(flags & Q_FLAG_MIX))
        return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: flags 0x%02x: revision 2 "
                        "without the context mixer", flags);
    if ((flags & Q_FLAG_REV) && !(flags & Q_FLAG_REV2))
        return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: flags 0x%02x: a revision "
                        "byte without revision 2", flags);
    int rev = flags & Q_FLAG_REV2 ? 2 : 1;
    if (flags & Q_FLAG_REV) {
        if (in->pos >= in->len)
            return nmdl_why(why, NMDL_ERR_TRUNCATED, "model part: ends before its "
                            "revision byte");
        rev = in->p[in->pos++];
        if (rev < 3 || rev > Q_REV_MAX)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: data part revision %d "
                            "unknown (this decoder knows 1 to %d)", rev, Q_REV_MAX);
    }
    c->tied = (flags & Q_FLAG_TIED) != 0;
    h->per_row = (flags & Q_FLAG_PER_ROW) != 0;
    h->codebooks = (flags & Q_FLAG_CODEBOOK) != 0;
    h->match = !(flags & Q_FLAG_MATCH) ? 0 : !(flags & Q_FLAG_MIX) ? 1 : 1 + rev;
    h->symbols = 0;
    h->tokens.count = 0;
    memset(c->absent, 0, sizeof c->absent);
    if ((flags & Q_FLAG_TOKENS) && (rc = decode_tokens(in, h, why)))
        return rc;
    if (has_set(h->match) && (rc = decode_set(in, c, why)))
        return rc;
    if ((rc = nmdl_q_check_config(c, why)))
        return rc;
    nmdl_tf_layout lay;
    nmdl_tf_layout_make(c, &lay);
    if (lay.n_params / NMDL_Q_LEVELS_PER_BYTE > in->len) /* more levels than bytes allow */
        return nmdl_why(why, NMDL_ERR_CORRUPT, "model part: %zu parameters cannot fit "
                        "in %zu bytes (at most %u per byte)", lay.n_params, in->len,
                        NMDL_Q_LEVELS_PER_BYTE);
    return NMDL_OK;
}

/* The exponents code_exponents wrote; the others stay 0. */
static int decode_exponents(nmdl_qmodel *qm, nmdl_rc_dec *d)
{
    nmdl_bm_int rexp;
    nmdl_bm_int_init(&rexp);
    int rc;
    int32_t v, prev;
    for (int k = 0; qm->per_row && k < qm->lay.n_tensors; k++) {
        prev = 0;
        for (int row = 0; row < qm->lay.tensor[k].rows; row++) {
            if (!exponent_coded(qm, k, row))
                continue;
            if ((rc = nmdl_bm_get_int(d, &rexp, 0, &v)))
                return rc;
            v += prev;
            if (v < -NMDL_Q_REXP || v > NMDL_Q_REXP)
                return NMDL_ERR_CORRUPT;
            qm->rexp[qm->row0[k] + (size_t)row] = (int8_t)(prev = v);
        }
    }
    return NMDL_OK;
}

/* Is level v of tensor k possible: within the levels' range and, with a
 * codebook, a centroid? */
static int level_ok(const nmdl_qmodel *qm, int k, int32_t v)
{
    const nmdl_q_codebook *b = codebook(qm, k);
    return v >= -NMDL_Q_MAX_LEVEL && v <= NMDL_Q_MAX_LEVEL &&
           (!b || (v >= -b->z && v < b->k - b->z));
}

/* The levels code_plain wrote. */
static int decode_plain(nmdl_qmodel *qm, nmdl_rc_dec *d)
{
    nmdl_bm_int ctx[N_KINDS];
    for (int k = 0; k < N_KINDS; k++)
        nmdl_bm_int_init(&ctx[k]);
    int rc;
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        nmdl_bm_int *m = &ctx[nmdl_q_kind(t)];
        for (int row = 0; row < t->rows; row++) {
            int32_t *q = qm->q + t->off + (size_t)row * t->cols;
            if (nmdl_tf_absent_row(&qm->cfg, t, row))
                continue; /* level 0, uncoded */
            for (int c = 0; c < t->cols; c++) {
                if ((rc = nmdl_bm_get_int(d, m, c > 0 && q[c - 1] == 0, &q[c])))
                    return rc;
                if (!level_ok(qm, k, q[c]))
                    return NMDL_ERR_CORRUPT;
            }
        }
    }
    return NMDL_OK;
}

/* The levels code_mixed wrote. */
static int decode_mixed(nmdl_qmodel *qm, nmdl_rc_dec *d)
{
    nmdl_lv s;
    int rc = nmdl_lv_init(&s, nmdl_tf_widest(&qm->lay));
    for (int k = 0; !rc && k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        nmdl_lv_tensor(&s, nmdl_q_kind(t), t->cols);
        for (int row = 0; !rc && row < t->rows; row++) {
            int32_t *q = qm->q + t->off + (size_t)row * t->cols;
            if (nmdl_tf_absent_row(&qm->cfg, t, row))
                continue;
            rc = nmdl_lv_get_row(&s, d, q);
            for (int c = 0; !rc && c < t->cols; c++)
                rc = level_ok(qm, k, q[c]) ? NMDL_OK : NMDL_ERR_CORRUPT;
        }
    }
    nmdl_lv_free(&s);
    return rc;
}

static int decode_levels(nmdl_qmodel *qm, nmdl_rc_dec *d)
{
    int rc = NMDL_OK;
    if (!exponents_last(qm) && (rc = decode_exponents(qm, d)))
        return rc;
    if ((rc = mixed_levels(qm) ? decode_mixed(qm, d) : decode_plain(qm, d)))
        return rc;
    if (exponents_last(qm) && (rc = decode_exponents(qm, d)))
        return rc;
    return nmdl_rc_dec_finish(d);
}

int nmdl_q_read_header(const uint8_t *src, size_t len, nmdl_q_header *h, char *why)
{
    qin in = {src, len, 0};
    return decode_header(&in, h, why);
}

/* Every matrix's codebook: K (2 .. the tensor's size), z < K, then K
 * centroids, strictly increasing, |c| <= 2^24, c[z] = +0; each checked
 * before the next is allocated. */
static int decode_codebooks(qin *in, nmdl_qmodel *qm)
{
    if (!(qm->cb = calloc((size_t)qm->lay.n_tensors, sizeof *qm->cb)))
        return NMDL_ERR_NOMEM;
    for (int k = 0; k < qm->lay.n_tensors; k++) {
        const nmdl_tf_tensor *t = &qm->lay.tensor[k];
        nmdl_q_codebook *b = &qm->cb[k];
        int rc, K, z;
        if (is_vector(t))
            continue;
        if ((rc = get_varint(in, &K)) || (rc = get_varint(in, &z)))
            return rc;
        if (K < 2 || (size_t)K > (size_t)t->rows * t->cols || z >= K)
            return NMDL_ERR_CORRUPT; /* a codebook larger than its tensor */
        if ((in->len - in->pos) / 4 < (size_t)K)
            return NMDL_ERR_TRUNCATED;
        if (!(b->c = malloc((size_t)K * sizeof(float))))
            return NMDL_ERR_NOMEM;
        b->k = K, b->z = z;
        for (int i = 0; i < K; i++) {
            if ((rc = get_f32(in, &b->c[i])))
                return rc;
            if (fabsf(b->c[i]) > NMDL_Q_MAX_LEVEL || (i > 0 && !(b->c[i] > b->c[i - 1])))
                return NMDL_ERR_CORRUPT;
        }
        if (b->c[z] != 0.0f || signbit(b->c[z]))
            return NMDL_ERR_CORRUPT;
    }
    return NMDL_OK;
}

int nmdl_q_decode(const uint8_t *src, size_t len, nmdl_qmodel *qm)
{
    qin in = {src, len, 0};
    nmdl_q_header h;
    int rc = decode_header(&in, &h, NULL);
    memset(qm, 0, sizeof *qm);
    if (rc || (rc = nmdl_q_alloc(&h.cfg, qm)))
        return rc;
    qm->per_row = h.per_row;
    qm->match = h.match;
    qm->symbols = h.symbols;
    qm->tokens = h.tokens;
    for (int k = 0; !rc && k < qm->lay.n_tensors; k++) {
        rc = get_f32(&in, &qm->base[k]);
        if (!rc && !(qm->base[k] >= Q_MIN_BASE && qm->base[k] <= Q_MAX_BASE))
            rc = NMDL_ERR_CORRUPT;
        if (!rc && is_vector(&qm->lay.tensor[k]))
            rc = get_f32(&in, &means(qm)[k]);
    }
    if (!rc && h.codebooks)
        rc = decode_codebooks(&in, qm);
    nmdl_rc_dec d;
    if (!rc)
        rc = nmdl_rc_dec_init(&d, src + in.pos, len - in.pos);
    if (!rc)
        rc = decode_levels(qm, &d);
    if (rc)
        nmdl_q_free(qm);
    return rc;
}
