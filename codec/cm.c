/*
 * cm.c: see cm.h. Integer arithmetic only; the two tables (log2 and powers
 * of 2, codec/imath.h) are computed with integers at init, the same
 * everywhere.
 */
#include "cm.h"

#include <stdlib.h>
#include <string.h>

#include "imath.h"
#include "match.h"
#include "nmdl.h"

_Static_assert(NMDL_CM_FLAG_SETS == NMDL_MM_LENS, "a flag weight set per length class");
_Static_assert((NMDL_CM_SSE_ROWS & (NMDL_CM_SSE_ROWS - 1)) == 0, "rows by a mask");
_Static_assert(NMDL_CM_HISTORIES == 16, "a counter's last bits in bits 4..7");
_Static_assert(NMDL_CM_COUNTS == 16, "a counter's count in bits 0..3");

#define CM_ONE (1 << NMDL_CM_BITS)
#define CM_ODDS 4095      /* log2-odds are clamped to +-16 bits (1/256 bits) */
#define CM_LIMIT 30       /* a counter's rate stops falling at 1/31.5 */
#define CM_LIMIT4 8       /* revision 4: at 1/9.5 */
#define CM_LIMIT5 12      /* revision 5: at 1/13.5 */
#define CM_W5 (CM_ONE / 4) /* revision 5: a context's starting weight */
#define CM_CHECK 63u      /* revision 4: a counter's check, bits 4..9 */
#define CM_COUNT4 15u     /* revision 4: its count, bits 0..3 */
#define CM_CHECK6 255u    /* revision 6: a counter's check, bits 8..15 */
#define CM_HALF6 0x8000u  /* revision 6: P(1) = 1/2 in bits 16.. */
#define CM_EMPTY6 1u      /* revision 6: no last bits (bits 4..7 hold a 1
                             followed by the last 3 bits at most, the
                             newest lowest, xor this: 0 is empty) */
#define CM_LINEAR 32      /* revision 6: the linear input, (P - 1/2) / 32 */
#define CM_MAP_LIMIT 255  /* revision 6: the maps' cells, rate to 1/256.5 */
#define CM_RATE_SHIFT 16  /* the mixer's rate: 2^-16 per (error x input) */
#define CM_W_MAX (1 << 22) /* weights stay within +-64 */
#define CM_P_HALF (1u << 21) /* a counter's P(1) has 22 bits */
#define CM_WORD 24        /* bytes of a word that its context hashes */
#define CM_LINE 256       /* bytes scanned back for a line's start */
#define CM_COLUMNS 64     /* columns the column context tells apart */
#define CM_SSE_LIMIT 127  /* a table cell's rate stops falling at 1/128.5 */
#define CM_SSE_LIMIT4 30  /* revision 4: at 1/31.5 */
#define CM_BIG_INPUT ((size_t)1 << 25) /* revision 4: 32 MiB */

/* The orders of the byte contexts (the last k bytes); then the word, then
 * (revision 2) the missed byte, then (revision 3) none (the bits so far
 * alone) and the column, then (revision 6) the 2 bytes before with the
 * line's offset. */
#define CM_ORDERS 5
static const int order[CM_ORDERS] = {1, 2, 3, 4, 6};

/* Table bits: 2 to 4 counters per input byte, 2^16 to 2^22; revision 4
 * 8 to 16, 2^16 to 2^24, but 2^22 from CM_BIG_INPUT bytes, where a
 * streamed decode's copy of the output takes the memory. */
static int table_bits(size_t n, int rev)
{
    if (rev >= 4 && n >= CM_BIG_INPUT)
        return 22;
    return rev >= 4 ? nmdl_im_clamp(nmdl_im_bits(n) + 3, 16, 24)
                    : nmdl_im_clamp(nmdl_im_bits(n) + 1, 16, 22);
}

#define CM_SSE_BYTES (sizeof(uint32_t) * NMDL_CM_SSE_ROWS * NMDL_CM_SSE_CELLS) /* a table */

size_t nmdl_cm_bytes(size_t n, int rev)
{
    return sizeof(nmdl_cm) + (sizeof(uint32_t) << table_bits(n, rev)) +
           (rev >= 3 ? CM_SSE_BYTES : 0) + (rev >= 6 ? CM_SSE_BYTES : 0);
}

/* 2^16 / (1 + 2^(-x/256)), in [1, 2^16 - 1]. */
static uint32_t squash(const nmdl_cm *m, int x)
{
    return nmdl_im_squash(&m->lt, x);
}

/* rows tables of NMDL_CM_SSE_CELLS cells from t: cell j of every row
 * holds P = squash((j - 16) bits), count 0. */
static void cells_init(const nmdl_cm *m, uint32_t *t, size_t rows)
{
    for (int j = 0; j < NMDL_CM_SSE_CELLS; j++) {
        const int x = nmdl_im_clamp((j - NMDL_CM_SSE_CELLS / 2) * 256, -CM_ODDS, CM_ODDS);
        const uint32_t v = squash(m, x) << 8;
        for (size_t r = 0; r < rows; r++)
            t[r * NMDL_CM_SSE_CELLS + (size_t)j] = v;
    }
}

/* Revision 3's refining table (revision 6: and the second one, and the
 * maps of revision 6, whose history cells start at P = 1/2). */
static int sse_init(nmdl_cm *m)
{
    m->sse = malloc(CM_SSE_BYTES);
    if (!m->sse || (m->rev >= 6 && !(m->sse2 = malloc(CM_SSE_BYTES))))
        return NMDL_ERR_NOMEM;
    cells_init(m, m->sse, NMDL_CM_SSE_ROWS);
    if (m->rev < 6)
        return NMDL_OK;
    cells_init(m, m->sse2, NMDL_CM_SSE_ROWS);
    cells_init(m, &m->map[0][0][0][0], sizeof m->map / sizeof m->map[0][0][0]);
    uint32_t *h = &m->hist[0][0][0];
    for (size_t r = 0; r < sizeof m->hist / sizeof *h; r++)
        h[r] = (uint32_t)(CM_ONE / 2) << 8;
    return NMDL_OK;
}

/* Revision 5's starting weights: every context's 1/4 in each set, and
 * the sets' mixer their mean. */
static void start_sets(nmdl_cm *m)
{
    for (int k = 1; k <= m->contexts; k++) {
        for (int c = 0; c < 256; c++)
            m->w[c][k] = m->w_last[c][k] = CM_W5;
        for (int c = 0; c < NMDL_CM_MISS_SETS; c++)
            m->w_miss[c][k] = CM_W5;
    }
    for (int c = 0; c < NMDL_CM_MISS_SETS; c++)
        for (int k = 0; k < NMDL_CM_SETS; k++)
            m->w_sets[c][k] = CM_ONE / NMDL_CM_SETS;
}

int nmdl_cm_init(nmdl_cm *m, size_t n, int rev)
{
    static const int contexts[6] = {6, 7, 9, 9, 9, NMDL_CM_CONTEXTS};
    memset(m, 0, sizeof *m);
    if (rev < 1 || rev > 6)
        return NMDL_ERR_ARG;
    m->bits = table_bits(n, rev);
    m->rev = rev;
    m->contexts = contexts[rev - 1];
    m->inputs = rev >= 6 ? NMDL_CM_INPUTS : NMDL_CM_CONTEXTS + 2;
    m->slot = calloc((size_t)1 << m->bits, sizeof *m->slot);
    if (!m->slot)
        return NMDL_ERR_NOMEM;
    nmdl_im_logistic_init(&m->lt);
    for (int c = 0; c < 256; c++)
        m->w[c][0] = m->w_last[c][0] = CM_ONE; /* the transformer alone */
    for (int c = 0; c < NMDL_CM_MISS_SETS; c++)
        m->w_miss[c][0] = CM_ONE;
    if (rev >= 5)
        start_sets(m);
    for (int c = 0; c < NMDL_CM_FLAG_SETS; c++)
        m->w_flag[c][0] = CM_ONE; /* the match model alone */
    for (int c = 0; c < 256; c++)
        m->w_flag_byte[c][0] = CM_ONE;
    m->c0 = 1;
    return rev >= 3 ? sse_init(m) : NMDL_OK;
}

void nmdl_cm_free(nmdl_cm *m)
{
    free(m->slot);
    free(m->sse);
    free(m->sse2);
    m->slot = NULL;
    m->sse = m->sse2 = NULL;
}

/* log2(a / b) in 1/256 bits, clamped; a or b may be 0. */
static int odds(const nmdl_cm *m, uint32_t a, uint32_t b)
{
    return nmdl_im_odds(&m->lt, a, b, CM_ODDS);
}

static uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    h *= 0x846CA68Bu;
    return h ^ (h >> 16);
}

/* The hash of context hash ctx for a decision's code: its top m->bits
 * are the counter's slot (before the check; its pair, revision 5, shares
 * its cache line), its low bits the check. */
static uint32_t hash_of(uint32_t ctx, uint32_t code)
{
    return mix32(ctx + code * 0x9E3779B1u);
}

static size_t slot_of(const nmdl_cm *m, uint32_t h)
{
    return h >> (32 - m->bits);
}

static uint32_t missed_ctx(int missed)
{
    return (uint32_t)(missed + 2) * 0x85EBCA6Bu;
}

/* Asks the memory for the counters of the bits first .. last (codes c0)
 * under the context hashes, the missed byte's context that of missed: the
 * table is far larger than the caches, and its loads would otherwise come
 * one by one. Changes no result. */
static void prefetch(const nmdl_cm *m, uint32_t first, uint32_t last, int missed)
{
    for (uint32_t code = first; code <= last && code < 256; code++)
        for (int k = 0; k < m->contexts; k++) {
            const uint32_t ctx = k == CM_ORDERS + 1 ? missed_ctx(missed) : m->ctx[k];
            __builtin_prefetch(&m->slot[slot_of(m, hash_of(ctx, code))], 1);
        }
}

static int word_byte(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 128;
}

/* Bytes from the line's start (a byte after '\n', or the segment's) to
 * seg[i], if within CM_LINE; else CM_LINE. */
static size_t line_offset(const uint8_t *seg, size_t i)
{
    size_t col = 0;
    while (col < i && col < CM_LINE && seg[i - 1 - col] != '\n')
        col++;
    return col;
}

/* The column context of seg[i], col = line_offset(seg, i): its column
 * (below CM_COLUMNS, or CM_COLUMNS - 1), the byte at the same column of
 * the line before (0: none) and the byte before. */
static uint32_t column(const uint8_t *seg, size_t i, size_t col)
{
    uint32_t above = 0;
    if (col < i && col < CM_LINE) { /* seg[i - 1 - col] ends the line before */
        const size_t nl = i - 1 - col, len = line_offset(seg, nl);
        above = col < len ? seg[nl - len + col] : 0;
    }
    const uint32_t c = (uint32_t)(col < CM_COLUMNS ? col : CM_COLUMNS - 1);
    return ((c << 8) + above + 0x40000u) * 0x85EBCA6Bu ^ seg[i - 1];
}

/* Revision 6's tenth context of seg[i]: the 2 bytes before (1 at the
 * segment's second) and col, the offset from the line's start. */
static uint32_t pair_offset(const uint8_t *seg, size_t i, size_t col)
{
    uint32_t h = (0xBB67AE85u + seg[i - 1] + 1u) * 0x2545F491u;
    if (i >= 2)
        h = (h + seg[i - 2] + 1u) * 0x2545F491u;
    return h ^ (uint32_t)col * 0x9E3779B1u;
}

void nmdl_cm_begin(nmdl_cm *m, const uint8_t *seg, size_t i, int missed)
{
    for (int k = 0; k < CM_ORDERS; k++) {
        uint32_t h = (uint32_t)(k + 1) * 0x9E3779B1u;
        for (int j = 1; j <= order[k] && (size_t)j <= i; j++)
            h = (h + seg[i - (size_t)j] + 1u) * 0x2545F491u;
        m->ctx[k] = h;
    }
    uint32_t word = 0x6A09E667u; /* the word's last CM_WORD bytes at most */
    for (size_t j = 1; j <= i && j <= CM_WORD && word_byte(seg[i - j]); j++)
        word = (word + seg[i - j] + 1u) * 0x01000193u;
    m->ctx[CM_ORDERS] = word;
    nmdl_cm_missed(m, missed);
    m->ctx[CM_ORDERS + 2] = 0x510E527Fu;
    const size_t col = m->contexts > CM_ORDERS + 3 ? line_offset(seg, i) : 0;
    if (m->contexts > CM_ORDERS + 3) /* the column: from revision 3 */
        m->ctx[CM_ORDERS + 3] = column(seg, i, col);
    if (m->contexts > CM_ORDERS + 4) /* revision 6: 2 bytes and the offset */
        m->ctx[CM_ORDERS + 4] = pair_offset(seg, i, col);
    m->last = seg[i - 1];
    m->last2 = i >= 2 ? seg[i - 2] : 0;
    m->c0 = 1;
    prefetch(m, 1, 1, missed);
}

void nmdl_cm_missed(nmdl_cm *m, int missed)
{
    m->ctx[CM_ORDERS + 1] = missed_ctx(missed);
    m->missed = missed;
}

/* Revision 4: the counter of a context found by hash h, emptied where
 * its check is another context's. */
static uint32_t *checked(uint32_t *v, uint32_t h)
{
    const uint32_t c = h & CM_CHECK;
    if (((*v >> 4) & CM_CHECK) != c)
        *v = c << 4;
    return v;
}

/* Revision 5: the counter of a context found by hash h in the pair of
 * slots idx and idx ^ 1: the one whose check is h's, else the one of the
 * lower count (the first on a tie), emptied for it. Revision 6: the check
 * has 8 bits, above the counter's last bits. */
static uint32_t *paired(uint32_t *slot, size_t idx, uint32_t h, int rev)
{
    uint32_t *a = &slot[idx], *b = &slot[idx ^ 1];
    const int at = rev >= 6 ? 8 : 4;
    const uint32_t mask = rev >= 6 ? CM_CHECK6 : CM_CHECK, c = h & mask;
    if (((*a >> at) & mask) == c)
        return a;
    if (((*b >> at) & mask) == c)
        return b;
    uint32_t *v = (*a & CM_COUNT4) <= (*b & CM_COUNT4) ? a : b;
    *v = rev >= 6 ? c << 8 : c << 4;
    return v;
}

/* P(1) * 2^16 of a counter. */
static uint32_t counter_p(const nmdl_cm *m, uint32_t v)
{
    return m->rev >= 6 ? (v >> 16) ^ CM_HALF6 : ((v >> 10) ^ CM_P_HALF) >> 6;
}

/* The mixed log-odds of weights w over m's inputs, 1/256 bits, clamped. */
static int mix(const nmdl_cm *m, const int32_t *w)
{
    return nmdl_im_mix(w, m->in, m->inputs, CM_ODDS);
}

/* Where log-odds x (1/256 bits, within +-CM_ODDS) falls in a row of
 * NMDL_CM_SSE_CELLS cells (one per bit from -16): the lower cell, and the
 * upper's weight in *frac (1/256). */
static size_t cell_of(int x, int *frac)
{
    const int t = x + CM_ODDS + 1; /* 1 .. 2 CM_ODDS + 1: cells 0 .. 31 */
    *frac = t & 255;
    return (size_t)(t >> 8);
}

/* P(1) * 2^16 of a table's cells a[0], a[1] at frac / 256 between them. */
static uint32_t cells_p(const uint32_t *a, int frac)
{
    return ((a[0] >> 8) * (256u - (uint32_t)frac) + (a[1] >> 8) * (uint32_t)frac) >> 8;
}

static uint32_t within(uint32_t p)
{
    return p < 1 ? 1 : p > CM_ONE - 1 ? CM_ONE - 1 : p;
}

/* Revision 6: context k's inputs besides x (its counter v's log-odds,
 * of P(1) = p) for a decision of kind flag (1) or a bit (0): x averaged
 * with the map's, the linear P, the history's. The maps' cells stay
 * within [1, 2^16 - 1] (learn_cell). */
static void inputs6(nmdl_cm *m, int flag, int k, uint32_t v, uint32_t p, int x)
{
    const size_t cell = cell_of(x, &m->map_frac[k]);
    m->map_cell[k] = &m->map[flag][k][v & CM_COUNT4][cell];
    const uint32_t q = cells_p(m->map_cell[k], m->map_frac[k]);
    m->in[k + 1] = nmdl_im_floor_div((int64_t)odds(m, q, CM_ONE - q) + x, 2);
    m->in[NMDL_CM_CONTEXTS + 2 + k] = ((int)p - CM_ONE / 2) / CM_LINEAR;
    m->hist_cell[k] = &m->hist[flag][k][((v >> 4) ^ CM_EMPTY6) & (NMDL_CM_HISTORIES - 1)];
    const uint32_t r = *m->hist_cell[k] >> 8;
    m->in[2 * NMDL_CM_CONTEXTS + 2 + k] = odds(m, r, CM_ONE - r);
}

/* The inputs of a decision (a bit: code c0; revision 3's flag: 256 + the
 * predicted byte) from the first input x0, 1/256 bits. */
static void inputs(nmdl_cm *m, int x0, uint32_t code)
{
    m->in[0] = x0;
    if (code >= 256) /* a flag: the first bit follows a miss, whose context
                        alone nmdl_cm_begin did not ask for */
        __builtin_prefetch(&m->slot[slot_of(m, hash_of(missed_ctx((int)code - 256), 1))], 1);
    else /* a bit: one of its two children follows */
        prefetch(m, 2 * code, 2 * code + 1, m->missed);
    for (int k = 0; k < m->contexts; k++) {
        const uint32_t h = hash_of(m->ctx[k], code);
        const size_t idx = slot_of(m, h);
        m->cur[k] = m->rev >= 5   ? paired(m->slot, idx, h, m->rev)
                    : m->rev >= 4 ? checked(&m->slot[idx], h)
                                  : &m->slot[idx];
        const uint32_t p = counter_p(m, *m->cur[k]);
        m->in[k + 1] = odds(m, p ? p : 1, CM_ONE - p);
        if (m->rev >= 6)
            inputs6(m, code >= 256, k, *m->cur[k], p, m->in[k + 1]);
    }
    for (int k = m->contexts; k < NMDL_CM_CONTEXTS; k++)
        m->in[k + 1] = 0; /* not in this revision: its weight stays 0 */
    m->in[NMDL_CM_CONTEXTS + 1] = 256; /* bias: one bit */
}

/* Revision 3: P(1) * 2^16 from the mixed log-odds x, refined by the table's
 * row of the byte before and the bits so far (interpolated between the two
 * cells around x), which weighs a quarter (revision 5: a half; revision 6:
 * a quarter, and the second table's row of the 2 bytes before and the
 * bits so far, hashed, another). */
static uint32_t refine(nmdl_cm *m, int x)
{
    const uint32_t p_mix = squash(m, x);
    const size_t cell = cell_of(x, &m->sse_frac);
    m->sse_cell = ((size_t)m->last << 8 | (size_t)m->c0) * NMDL_CM_SSE_CELLS + cell;
    const uint32_t q = cells_p(&m->sse[m->sse_cell], m->sse_frac);
    if (m->rev < 6)
        return within(m->rev >= 5 ? (p_mix + q) / 2 : (3 * p_mix + q) / 4);
    const uint32_t row =
        ((mix32((uint32_t)m->last2 << 8 | (uint32_t)m->last) >> 16) ^ (uint32_t)m->c0 * 0x9E37u) &
        (NMDL_CM_SSE_ROWS - 1);
    m->sse2_cell = (size_t)row * NMDL_CM_SSE_CELLS + cell;
    return within((2 * p_mix + q + cells_p(&m->sse2[m->sse2_cell], m->sse_frac)) / 4);
}

/* Revision 4's third set of weights: by the bits so far and whether the
 * match model predicted no byte (0), predicted one these bits agree with
 * and whose next bit is 0 or 1 (1, 2), or one they left (3). */
static int miss_set(const nmdl_cm *m)
{
    if (m->missed < 0)
        return m->c0;
    const int done = nmdl_im_bits((uint64_t)m->c0) - 1; /* bits so far */
    const int agree = ((m->missed | 256) >> (8 - done)) == m->c0;
    return (agree ? 1 + ((m->missed >> (7 - done)) & 1) : 3) * 256 + m->c0;
}

/* Revision 4: the mean log-odds (rounded down) of the two sets' x and
 * x_last and the third set's, whose own P it keeps; revision 5: their mix
 * by w_sets, whose own P it keeps too. */
static int miss_mean(nmdl_cm *m, int x, int x_last)
{
    m->miss = miss_set(m);
    const int x_miss = mix(m, m->w_miss[m->miss]);
    m->p_set[2] = squash(m, x_miss);
    if (m->rev < 5)
        return nmdl_im_floor_div((int64_t)x + x_last + x_miss, 3);
    m->x_set[0] = x, m->x_set[1] = x_last, m->x_set[2] = x_miss;
    m->x_set[NMDL_CM_SETS] = 256; /* bias: one bit */
    const int x_sets = nmdl_im_mix(m->w_sets[m->miss], m->x_set, NMDL_CM_SETS + 1, CM_ODDS);
    m->p_sets = squash(m, x_sets);
    return x_sets;
}

uint32_t nmdl_cm_p(nmdl_cm *m, uint32_t n0, uint32_t n1)
{
    inputs(m, odds(m, n1, n0), (uint32_t)m->c0);
    const int x = mix(m, m->w[m->c0]);
    if (m->rev == 1) /* one set */
        return m->p = squash(m, x);
    const int x_last = mix(m, m->w_last[m->last]);
    m->p_set[0] = squash(m, x);
    m->p_set[1] = squash(m, x_last);
    if (m->rev >= 4)
        return m->p = refine(m, miss_mean(m, x, x_last));
    const int x_mean = nmdl_im_mean(x, x_last);
    return m->p = m->rev == 2 ? squash(m, x_mean) : refine(m, x_mean);
}

/* Moves a counter towards the bit by 2 / (2 n + 3) of the distance; n,
 * in the bits under `count` (1023, or 15 in revision 4 below the check),
 * counts up to limit. */
static void learn_counter(uint32_t *v, int bit, uint32_t count, uint32_t limit)
{
    int32_t p = (int32_t)((*v >> 10) ^ CM_P_HALF);
    uint32_t n = *v & count;
    p = nmdl_im_toward(p, bit ? (int32_t)(2 * CM_P_HALF - 1) : 0, n);
    n += n < limit;
    *v = (((uint32_t)p ^ CM_P_HALF) << 10) | (*v & 1023 & ~count) | n;
}

/* Moves a table cell (P in bits 8.., its count in 0..7, up to limit) of
 * weight w / 256 in the last estimate towards the bit, by w / 256 of
 * 2 / (2 n + 3) of the distance. */
static void learn_cell(uint32_t *v, int bit, int32_t w, uint32_t limit)
{
    if (!w)
        return;
    const int32_t p = (int32_t)(*v >> 8), target = bit ? CM_ONE - 1 : 1;
    const uint32_t n = *v & 255;
    const int32_t step = (int32_t)(((int64_t)(target - p) * 2 * w) / ((2 * (int64_t)n + 3) * 256));
    *v = ((uint32_t)(p + step) << 8) | (n + (n < limit));
}

/* The two cells a[0], a[1] an estimate was interpolated from, frac / 256
 * of the way to a[1], each towards the bit by its own weight. */
static void learn_cells(uint32_t *a, int bit, int frac, uint32_t limit)
{
    learn_cell(&a[0], bit, 256 - frac, limit);
    learn_cell(&a[1], bit, frac, limit);
}

/* Revision 6: the same in 16 bits (the count to 12), and the counter's
 * last bits move on. */
static void learn_counter6(uint32_t *v, int bit)
{
    int32_t p = (int32_t)((*v >> 16) ^ CM_HALF6);
    uint32_t n = *v & CM_COUNT4, h = ((*v >> 4) ^ CM_EMPTY6) & (NMDL_CM_HISTORIES - 1);
    p = nmdl_im_toward(p, bit ? CM_ONE - 1 : 0, n);
    n += n < CM_LIMIT5;
    h = h >= NMDL_CM_HISTORIES / 2 /* three bits: the oldest goes */
            ? ((h << 1 | (uint32_t)bit) & (NMDL_CM_HISTORIES / 2 - 1)) | NMDL_CM_HISTORIES / 2
            : h << 1 | (uint32_t)bit;
    *v = ((uint32_t)p ^ CM_HALF6) << 16 | (*v & CM_CHECK6 << 8) | (h ^ CM_EMPTY6) << 4 | n;
}

/* The bit or flag that came: every counter of the decision learns
 * (revision 6: and the cells of its maps). */
static void learn_counters(nmdl_cm *m, int bit)
{
    if (m->rev >= 6) {
        for (int k = 0; k < m->contexts; k++) {
            learn_cells(m->map_cell[k], bit, m->map_frac[k], CM_MAP_LIMIT);
            learn_cell(m->hist_cell[k], bit, 256, CM_MAP_LIMIT);
            learn_counter6(m->cur[k], bit);
        }
        return;
    }
    const uint32_t count = m->rev >= 4 ? CM_COUNT4 : 1023;
    const uint32_t limit = m->rev >= 5 ? CM_LIMIT5 : m->rev >= 4 ? CM_LIMIT4 : CM_LIMIT;
    for (int k = 0; k < m->contexts; k++)
        learn_counter(m->cur[k], bit, count, limit);
}

/* Moves the count weights w along the gradient of the code length of a
 * bit that was given P(1) = p / 2^16 from inputs in. */
static void learn_mixer(int32_t *w, const int *in, int count, int bit, uint32_t p)
{
    const int32_t err = (bit ? CM_ONE : 0) - (int32_t)p;
    nmdl_im_learn(w, in, count, err, CM_RATE_SHIFT, CM_W_MAX);
}

static void learn_weights(const nmdl_cm *m, int32_t *w, int bit, uint32_t p)
{
    learn_mixer(w, m->in, m->inputs, bit, p);
}

void nmdl_cm_update(nmdl_cm *m, int bit)
{
    learn_counters(m, bit);
    if (m->rev >= 3) {
        const uint32_t limit = m->rev >= 4 ? CM_SSE_LIMIT4 : CM_SSE_LIMIT;
        learn_cells(&m->sse[m->sse_cell], bit, m->sse_frac, limit);
    }
    if (m->rev >= 6)
        learn_cells(&m->sse2[m->sse2_cell], bit, m->sse_frac, CM_SSE_LIMIT4);
    if (m->rev == 1) {
        learn_weights(m, m->w[m->c0], bit, m->p);
    } else { /* each set towards its own error */
        learn_weights(m, m->w[m->c0], bit, m->p_set[0]);
        learn_weights(m, m->w_last[m->last], bit, m->p_set[1]);
        if (m->rev >= 4)
            learn_weights(m, m->w_miss[m->miss], bit, m->p_set[2]);
        if (m->rev >= 5)
            learn_mixer(m->w_sets[m->miss], m->x_set, NMDL_CM_SETS + 1, bit, m->p_sets);
    }
    m->c0 = m->c0 * 2 + bit;
    if (m->c0 >= 256)
        m->c0 = 1;
}

uint32_t nmdl_cm_flag_p(nmdl_cm *m, int guess, uint32_t p_match, int len_class)
{
    inputs(m, odds(m, p_match, CM_ONE - p_match), 256u + (uint32_t)guess);
    m->flag_set = len_class;
    m->flag_byte = guess;
    const int x_len = mix(m, m->w_flag[len_class]), x_byte = mix(m, m->w_flag_byte[guess]);
    m->flag_p[0] = squash(m, x_len);
    m->flag_p[1] = squash(m, x_byte);
    return squash(m, nmdl_im_mean(x_len, x_byte));
}

void nmdl_cm_flag_update(nmdl_cm *m, int hit)
{
    learn_counters(m, hit);
    learn_weights(m, m->w_flag[m->flag_set], hit, m->flag_p[0]);
    learn_weights(m, m->w_flag_byte[m->flag_byte], hit, m->flag_p[1]);
}
