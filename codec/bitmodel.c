/*
 * bitmodel.c: see bitmodel.h.
 */
#include "bitmodel.h"

#include <math.h>

#include "nmdl.h"

#define BM_RATE 5 /* adapt by 1/32 of the distance */
#define BM_ONE (1u << NMDL_BM_BITS)

void nmdl_bm_init(nmdl_bm *m)
{
    m->p0 = BM_ONE / 2;
}

void nmdl_bm_int_init(nmdl_bm_int *m)
{
    nmdl_bm *all = (nmdl_bm *)m;
    for (unsigned i = 0; i < sizeof *m / sizeof *all; i++)
        nmdl_bm_init(&all[i]);
}

/* p0 stays in [31, 2^16 - 31]: the updates below move it by at least one
 * step of 1/32 of the remaining distance, which is 0 once that is < 32. */
static void update(nmdl_bm *m, int bit)
{
    if (bit)
        m->p0 = (uint16_t)(m->p0 - (m->p0 >> BM_RATE));
    else
        m->p0 = (uint16_t)(m->p0 + ((BM_ONE - m->p0) >> BM_RATE));
}

void nmdl_bm_encode(nmdl_rc_enc *e, nmdl_bm *m, int bit)
{
    if (bit)
        nmdl_rc_encode(e, m->p0, BM_ONE - m->p0, NMDL_BM_BITS);
    else
        nmdl_rc_encode(e, 0, m->p0, NMDL_BM_BITS);
    update(m, bit);
}

int nmdl_bm_decode(nmdl_rc_dec *d, nmdl_bm *m, int *bit)
{
    uint32_t t;
    int rc = nmdl_rc_decode_target(d, NMDL_BM_BITS, &t);
    if (rc)
        return rc;
    *bit = t >= m->p0;
    rc = *bit ? nmdl_rc_decode_update(d, m->p0, BM_ONE - m->p0)
              : nmdl_rc_decode_update(d, 0, m->p0);
    update(m, *bit);
    return rc;
}

/* Where put_int's bits go: into an encoder, or (e NULL) only counted, in
 * bits, with the models updated as the encoder would. */
typedef struct sink {
    nmdl_rc_enc *e;
    double bits;
} sink;

static void put_bit(sink *s, nmdl_bm *m, int bit)
{
    if (s->e)
        nmdl_bm_encode(s->e, m, bit);
    else {
        s->bits -= log2((double)(bit ? BM_ONE - m->p0 : m->p0) / BM_ONE);
        update(m, bit);
    }
}

/* Plain bits: probability 1/2, no model. */
static void put_raw(sink *s, uint32_t v, int n)
{
    for (int i = n - 1; s->e && i >= 0; i--)
        nmdl_rc_encode(s->e, (v >> i) & 1, 1, 1);
    s->bits += s->e ? 0 : n;
}

static int get_raw(nmdl_rc_dec *d, int n, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        uint32_t t;
        int rc = nmdl_rc_decode_target(d, 1, &t);
        if (!rc)
            rc = nmdl_rc_decode_update(d, t, 1);
        if (rc)
            return rc;
        *v = *v << 1 | t;
    }
    return NMDL_OK;
}

static void put_int(sink *s, nmdl_bm_int *m, int prev_zero, int32_t v)
{
    put_bit(s, &m->zero[prev_zero != 0], v != 0);
    if (v == 0)
        return;
    put_bit(s, &m->sign, v < 0);
    uint32_t a = (uint32_t)(v < 0 ? -v : v) - 1; /* >= 0 */
    for (int i = 0; i < NMDL_BM_UNARY; i++) {
        put_bit(s, &m->unary[i], a > (uint32_t)i);
        if (a == (uint32_t)i)
            return;
    }
    uint32_t r = a - NMDL_BM_UNARY + 1; /* >= 1: Elias gamma */
    int len = 0;
    while (r >> (len + 1))
        len++;
    for (int i = 0; i < len; i++)
        put_bit(s, &m->gamma[i], 1);
    put_bit(s, &m->gamma[len], 0);
    put_raw(s, r, len); /* the bits below the leading 1 */
}

void nmdl_bm_put_int(nmdl_rc_enc *e, nmdl_bm_int *m, int prev_zero, int32_t v)
{
    if (v < -NMDL_BM_MAX_INT || v > NMDL_BM_MAX_INT) {
        nmdl_rc_encode(e, 0, 0, 1); /* records NMDL_ERR_ARG in the encoder */
        return;
    }
    sink s = {e, 0};
    put_int(&s, m, prev_zero, v);
}

double nmdl_bm_int_cost(nmdl_bm_int *m, int prev_zero, int32_t v)
{
    sink s = {NULL, 0};
    if (v < -NMDL_BM_MAX_INT || v > NMDL_BM_MAX_INT)
        return INFINITY;
    put_int(&s, m, prev_zero, v);
    return s.bits;
}

int nmdl_bm_get_int(nmdl_rc_dec *d, nmdl_bm_int *m, int prev_zero, int32_t *v)
{
    int bit, rc = nmdl_bm_decode(d, &m->zero[prev_zero != 0], &bit);
    if (rc || !bit) {
        *v = 0;
        return rc;
    }
    int neg;
    if ((rc = nmdl_bm_decode(d, &m->sign, &neg)))
        return rc;
    uint32_t a = 0;
    for (; a < NMDL_BM_UNARY; a++) {
        if ((rc = nmdl_bm_decode(d, &m->unary[a], &bit)))
            return rc;
        if (!bit)
            break;
    }
    if (a == NMDL_BM_UNARY) {
        int len = 0;
        for (;; len++) {
            if (len >= 30)
                return NMDL_ERR_CORRUPT; /* beyond NMDL_BM_MAX_INT */
            if ((rc = nmdl_bm_decode(d, &m->gamma[len], &bit)))
                return rc;
            if (!bit)
                break;
        }
        uint32_t low;
        if ((rc = get_raw(d, len, &low)))
            return rc;
        uint32_t r = (1u << len) | low;
        a = r + NMDL_BM_UNARY - 1;
        if (a >= (uint32_t)NMDL_BM_MAX_INT)
            return NMDL_ERR_CORRUPT;
    }
    *v = neg ? -(int32_t)(a + 1) : (int32_t)(a + 1);
    return NMDL_OK;
}
