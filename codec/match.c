/*
 * match.c: see match.h. Integer arithmetic only; every table is indexed by
 * 32-bit hashes computed the same way everywhere.
 */
#include "match.h"

#include <stdlib.h>

#include "imath.h"
#include "nmdl.h"

#define MM_VERIFY 32   /* bytes compared backwards to rank the candidates */
#define MM_LIMIT 15    /* the tables' rate stops falling at 1/16.5 */
#define MM_ONE (1u << NMDL_MM_BITS)
#define MM_ODDS 256    /* log-odds range, in 1/16 bits: [-256, 256) */
#define MM_MIX_SHIFT 11 /* the mixer's rate: 2^-11 per (error x input) */
#define MM_MIX_MAX (1 << 22) /* weights stay within +-64 (2^16 is 1) */

static int index_bits(size_t n)
{
    return nmdl_im_clamp(nmdl_im_bits(n), 12, 22);
}

static int own_bits(size_t seg_len)
{
    return nmdl_im_clamp(nmdl_im_bits(seg_len), 10, 18);
}

/* The context lengths a match is looked up by, shortest first; revision
 * 1 uses the first alone. */
static const int mm_order[NMDL_MM_ORDERS_MAX] = {NMDL_MM_MIN, 6, 16};

static int orders(int rev)
{
    return rev >= 2 ? NMDL_MM_ORDERS_MAX : 1;
}

size_t nmdl_mm_index_bytes(size_t n, int rev)
{
    return (size_t)orders(rev) * sizeof(uint32_t) << index_bits(n);
}

size_t nmdl_mm_own_bytes(size_t seg_len, int rev)
{
    return (size_t)orders(rev) * sizeof(uint32_t) << own_bits(seg_len);
}

/* The hash of the context of length mm_order[t] ending before p (p >=
 * text + that length). */
static uint32_t ctx_hash(const uint8_t *p, int t)
{
    uint32_t h = 0;
    for (int k = -mm_order[t]; k < 0; k++)
        h = (h + p[k] + 1u) * 0x9E3779B1u;
    return h;
}

/* The slot of hash h of length mm_order[t] in a table of 2^bits slots per
 * length. */
static size_t slot(uint32_t h, int t, int bits)
{
    return ((size_t)t << bits) + (h >> (32 - bits));
}

int nmdl_mm_index_init(nmdl_mm_index *x, size_t n, int rev)
{
    x->bits = index_bits(n);
    x->rev = rev;
    x->orders = orders(rev);
    x->upto = 0;
    x->slot = calloc((size_t)x->orders << x->bits, sizeof *x->slot);
    return x->slot ? NMDL_OK : NMDL_ERR_NOMEM;
}

/* Position p is the byte after the context text[p - length, p): indexed
 * once text[p] is in the prefix. */
void nmdl_mm_index_extend(nmdl_mm_index *x, const uint8_t *text, size_t upto)
{
    for (size_t p = x->upto > NMDL_MM_MIN ? x->upto : NMDL_MM_MIN; p < upto; p++)
        for (int t = 0; t < x->orders && p >= (size_t)mm_order[t]; t++)
            x->slot[slot(ctx_hash(text + p, t), t, x->bits)] = (uint32_t)p;
    x->upto = upto > x->upto ? upto : x->upto;
}

void nmdl_mm_index_free(nmdl_mm_index *x)
{
    free(x->slot);
    x->slot = NULL;
}

/* Cell j stands for log-odds j - 16 bits: P = 2^j / (2^j + 2^16). */
void nmdl_mm_table_init(nmdl_mm_table *t, int rev)
{
    t->estimates = rev >= 2 ? NMDL_MM_ESTIMATES : NMDL_MM_ESTIMATES - 1;
    for (int j = 0; j < NMDL_MM_CELLS; j++) {
        uint64_t p = ((uint64_t)MM_ONE << j) / (((uint64_t)1 << j) + MM_ONE);
        for (int c = 0; c < NMDL_MM_ROWS; c++) {
            t->p[c][j] = (uint16_t)(p < 1 ? 1 : p > MM_ONE - 1 ? MM_ONE - 1 : p);
            t->n[c][j] = 0;
        }
    }
    for (int c = 0; c < NMDL_MM_LENS; c++) /* the estimates' mean */
        for (int k = 0; k < NMDL_MM_INPUTS; k++)
            t->w[c][k] = k < t->estimates ? (int32_t)MM_ONE / t->estimates : 0;
    for (int c = 0; c < 256; c++)
        for (int k = 0; k < NMDL_MM_INPUTS; k++)
            t->w_before[c][k] = t->w[0][k];
}

int nmdl_mm_init(nmdl_mm *m, const nmdl_mm_index *index, const uint8_t *text,
                 size_t start, size_t seg_len, nmdl_mm_table *table)
{
    m->text = text;
    m->seg = text + start;
    m->index = index;
    m->own_bits = own_bits(seg_len);
    m->own = calloc((size_t)index->orders << m->own_bits, sizeof *m->own);
    m->ptr = m->end = NULL;
    m->len = 0;
    m->cell = m->frac = 0;
    m->table = table;
    return m->own ? NMDL_OK : NMDL_ERR_NOMEM;
}

void nmdl_mm_free(nmdl_mm *m)
{
    free(m->own);
    m->own = NULL;
}

int nmdl_mm_predict(const nmdl_mm *m)
{
    return m->ptr ? *m->ptr : -1;
}

/* log2(v) in 1/16 bits, v >= 1: the integer part, then the 4 bits below
 * the leading one. */
static int log2_16(uint32_t v)
{
    int b = nmdl_im_bits(v) - 1;
    uint32_t frac = b >= 4 ? (v >> (b - 4)) & 15 : (v << (4 - b)) & 15;
    return 16 * b + (int)frac;
}

/* Length classes: 0 while recovering from a miss (len < NMDL_MM_MIN),
 * then len / 2 below 16 (1..7), then 16..31, 32..63, ... (8..13). */
static int len_class(uint32_t len)
{
    if (len < NMDL_MM_MIN)
        return 0; /* recovering from a miss */
    if (len < 16)
        return (int)len / 2;
    int c = 8;
    for (uint32_t l = len >> 5; l && c < NMDL_MM_LENS - 1; l >>= 1)
        c++;
    return c;
}

/* The table rows a flag is estimated from, r[0..table->estimates): the
 * match length's class; the predicted byte's high nibble with that class;
 * the byte before the predicted one where the match points (the newest
 * byte, unless recovering from a miss); in revision 2 the predicted byte. */
static void rows(const nmdl_mm *m, int *r)
{
    const int c = len_class(m->len);
    r[0] = c;
    r[1] = NMDL_MM_LENS + (*m->ptr >> 4) * NMDL_MM_LENS + c;
    r[2] = NMDL_MM_LENS * 17 + m->ptr[-1];
    r[3] = NMDL_MM_LENS * 17 + 256 + *m->ptr;
}

static uint32_t interpolate(const uint16_t *p, int cell, int frac)
{
    const uint32_t f = (uint32_t)frac;
    return ((uint32_t)p[cell] * (16u - f) + (uint32_t)p[cell + 1] * f) >> 4;
}

/* log2(q / (2^16 - q)) in 1/16 bits, q in [1, 2^16 - 1]: within +-255. */
static int stretch(uint32_t q)
{
    return log2_16(q) - log2_16(MM_ONE - q);
}

/* 2^16 / (1 + 2^(-x/16)), the inverse of stretch, in [1, 2^16 - 1]. */
static uint32_t squash(int x)
{
    static const uint32_t pow2_neg[16] = { /* 2^(-k/16) * 2^16, rounded */
        65536, 62757, 60097, 57549, 55109, 52773, 50535, 48393,
        46341, 44376, 42495, 40693, 38968, 37316, 35734, 34219};
    const int a = x < 0 ? -x : x;
    const uint32_t t = a >= 16 * 17 ? 0 : pow2_neg[a & 15] >> (a >> 4); /* 2^(-a/16) */
    uint32_t p = (uint32_t)(((uint64_t)MM_ONE << 16) / (MM_ONE + t));
    p = x < 0 ? MM_ONE - p : p;
    return p < 1 ? 1 : p > MM_ONE - 1 ? MM_ONE - 1 : p;
}

/* The mixed log-odds of weights w over inputs in, 1/16 bits, clamped. */
static int mix(const int32_t *w, const int *in)
{
    return nmdl_im_mix(w, in, NMDL_MM_INPUTS, 2 * MM_ODDS);
}

uint32_t nmdl_mm_p_hit(nmdl_mm *m, uint32_t f)
{
    const uint32_t total = 1u << 24;
    f = f < 1 ? 1 : f > total - 1 ? total - 1 : f;
    const int x = nmdl_im_clamp(log2_16(f) - log2_16(total - f), -MM_ODDS, MM_ODDS - 1);
    m->cell = (x + MM_ODDS) >> 4;
    m->frac = (x + MM_ODDS) & 15;
    int r[NMDL_MM_ESTIMATES];
    rows(m, r);
    for (int k = 0; k < NMDL_MM_ESTIMATES; k++) /* an unused row weighs 0 */
        m->in[k] = k < m->table->estimates
                       ? stretch(interpolate(m->table->p[r[k]], m->cell, m->frac)) : 0;
    m->in[NMDL_MM_ESTIMATES] = x;      /* the transformer's own log-odds */
    m->in[NMDL_MM_ESTIMATES + 1] = 16; /* bias: one bit */
    const int x_len = mix(m->table->w[len_class(m->len)], m->in);
    if (m->table->estimates < NMDL_MM_ESTIMATES) /* revision 1: one set */
        return m->p = squash(x_len);
    const int x_before = mix(m->table->w_before[m->ptr[-1]], m->in);
    m->p_set[0] = squash(x_len);
    m->p_set[1] = squash(x_before);
    return m->p = squash(nmdl_im_mean(x_len, x_before));
}

/* Moves a cell of weight w / 16 in the last estimate towards the flag's
 * outcome, by w / 16 of 2 / (2 n + 3) of the distance (n: its updates). */
static void learn_cell(uint16_t *p, uint8_t *n, int32_t target, int32_t w)
{
    if (!w)
        return;
    *p = (uint16_t)((int32_t)*p + (target - (int32_t)*p) * 2 * w / ((2 * (int32_t)*n + 3) * 16));
    if (*n < MM_LIMIT)
        (*n)++;
}

/* Moves weights w along the gradient of the flag's code length, given
 * the error err of their P (2^16 = 1) on inputs in. */
static void learn_weights(int32_t *w, const int *in, int32_t err)
{
    nmdl_im_learn(w, in, NMDL_MM_INPUTS, err, MM_MIX_SHIFT, MM_MIX_MAX);
}

/* The cells the flag was estimated from learn, each by its weight, and
 * the mixer's weights move along the gradient of the flag's code length. */
static void learn(nmdl_mm *m, int hit)
{
    const int j = m->cell;
    const int32_t target = hit ? (int32_t)MM_ONE - 1 : 1;
    int r[NMDL_MM_ESTIMATES];
    rows(m, r);
    for (int k = 0; k < m->table->estimates; k++) {
        learn_cell(&m->table->p[r[k]][j], &m->table->n[r[k]][j], target, 16 - m->frac);
        learn_cell(&m->table->p[r[k]][j + 1], &m->table->n[r[k]][j + 1], target, m->frac);
    }
    int32_t *w = m->table->w[len_class(m->len)];
    if (m->table->estimates < NMDL_MM_ESTIMATES) { /* revision 1 */
        learn_weights(w, m->in, target - (int32_t)m->p);
    } else { /* each set towards its own error */
        learn_weights(w, m->in, target - (int32_t)m->p_set[0]);
        learn_weights(m->table->w_before[m->ptr[-1]], m->in, target - (int32_t)m->p_set[1]);
    }
}

/* Bytes before a and b that agree, up to lim. */
static size_t agree(const uint8_t *a, const uint8_t *b, size_t lim)
{
    size_t k = 0;
    while (k < lim && a[-1 - (long)k] == b[-1 - (long)k])
        k++;
    return k;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Bytes before position q of the segment's own text (q: an own index's
 * entry, 0: none) that agree with those before seg[j]. */
static size_t agree_own(const nmdl_mm *m, uint32_t q, size_t j)
{
    return q ? agree(m->seg + q, m->seg + j, min_size(min_size(q, j), MM_VERIFY)) : 0;
}

/* The same for position q of the prefix (an index entry). */
static size_t agree_prefix(const nmdl_mm *m, uint32_t q, size_t j)
{
    return q ? agree(m->text + q, m->seg + j, min_size(min_size(q, j), MM_VERIFY)) : 0;
}

/* Looks for a match for seg[j] (j >= NMDL_MM_MIN; h: the hashes of its
 * contexts, of the lengths that fit): among the latest occurrences of its
 * last 3 (6, 16) bytes in the segment and in the prefix, the one that
 * agrees longest (the segment's on a tie, being more recent; the shorter
 * context's among equals), if it agrees for NMDL_MM_MIN bytes. */
static void find(nmdl_mm *m, size_t j, const uint32_t *h, int fit)
{
    uint32_t c = 0, p = 0;
    size_t lo = 0, lp = 0;
    for (int t = 0; t < fit; t++) {
        const uint32_t ct = m->own[slot(h[t], t, m->own_bits)];
        const uint32_t pt = m->index->upto ? m->index->slot[slot(h[t], t, m->index->bits)] : 0;
        const size_t lot = agree_own(m, ct, j), lpt = agree_prefix(m, pt, j);
        if (lot > lo) {
            lo = lot;
            c = ct;
        }
        if (lpt > lp) {
            lp = lpt;
            p = pt;
        }
    }
    const size_t have = m->ptr && m->len >= NMDL_MM_MIN ? m->len : NMDL_MM_MIN - 1;
    if (lo > have && lo >= lp) {
        m->ptr = m->seg + c;
        m->end = NULL;
        m->len = (uint32_t)lo;
    } else if (lp > have) {
        m->ptr = m->text + p;
        m->end = m->text + m->index->upto;
        m->len = (uint32_t)lp;
    }
}

int nmdl_mm_len_class(const nmdl_mm *m)
{
    return len_class(m->len);
}

int nmdl_mm_wave(int rev)
{
    return rev >= 3 ? NMDL_MM_WAVE3 : NMDL_MM_WAVE;
}

void nmdl_mm_update(nmdl_mm *m, size_t i, int predicted, int hit)
{
    if (predicted)
        learn(m, hit);
    if (m->ptr && (hit || m->len) && m->len < UINT32_MAX && ++m->ptr != m->end) {
        m->len = hit ? m->len + 1 : 0; /* after a miss: recovering */
    } else { /* a second miss in a row, or the prefix's end */
        m->ptr = NULL;
        m->len = 0;
    }
    const size_t j = i + 1; /* the next byte's position */
    if (j < NMDL_MM_MIN)
        return;
    uint32_t h[NMDL_MM_ORDERS_MAX]; /* each context's hash, once a byte */
    int fit = 0;
    for (; fit < m->index->orders && j >= (size_t)mm_order[fit]; fit++)
        h[fit] = ctx_hash(m->seg + j, fit);
    if (!m->ptr || m->len < NMDL_MM_MIN)
        find(m, j, h, fit);
    for (int t = 0; t < fit; t++)
        m->own[slot(h[t], t, m->own_bits)] = (uint32_t)j;
}
