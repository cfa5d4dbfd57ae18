/*
 * rc.c: the range coder declared in rc.h.
 *
 * Frame of reference: `low` and `range` are 48-bit quantities; bit 48 of
 * `low` is a carry into bytes already produced. Bytes leave `low` from the
 * top (bits 40..47) when the range drops below 2^40. A byte of 0xFF cannot
 * be written at once because a later carry would turn it into 0x00 and
 * increment the byte before it, so the coder holds back one byte (`cache`)
 * followed by a run of 0xFF bytes (`pending` counts both) until a byte
 * arrives that settles them.
 *
 * Why a held byte never overflows: the coded interval only ever shrinks,
 * so once a byte is held without a carry pending into it, the interval lies
 * below that byte's value + 1, and a held 0xFF is only ever created after a
 * carry has been applied or as the very first byte; neither can receive a
 * further carry.
 */
#include "rc.h"

#include <stdlib.h>
#include <string.h>

#include "nmdl.h"

#define RC_TOP (1ull << 48)  /* initial range; carry bit of low */
#define RC_BOT (1ull << 40)  /* normalise when range falls below */
#define RC_MASK (RC_TOP - 1) /* the 48 bits of low that are not carry */
#define RC_FLUSH_SHIFTS 7    /* held byte + the 6 bytes of low */

void nmdl_rc_enc_init(nmdl_rc_enc *e)
{
    memset(e, 0, sizeof *e);
    e->range = RC_TOP;
}

static void put_byte(nmdl_rc_enc *e, uint8_t b)
{
    if (e->len == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 256;
        uint8_t *p = cap > e->cap ? realloc(e->buf, cap) : NULL;
        if (!p) {
            e->err = NMDL_ERR_NOMEM;
            return;
        }
        e->buf = p;
        e->cap = cap;
    }
    e->buf[e->len++] = b;
}

/* Moves the top byte of low out of the 48-bit window. */
static void shift_low(nmdl_rc_enc *e)
{
    uint8_t carry = (uint8_t)(e->low >> 48);
    uint8_t top = (uint8_t)(e->low >> 40);
    if (top != 0xFF || carry || e->pending == 0) {
        if (e->pending) {
            put_byte(e, (uint8_t)(e->cache + carry));
            for (; e->pending > 1; e->pending--)
                put_byte(e, (uint8_t)(0xFF + carry));
        }
        e->cache = top;
        e->pending = 1;
    } else {
        e->pending++;
    }
    e->low = (e->low << 8) & RC_MASK;
}

void nmdl_rc_encode(nmdl_rc_enc *e, uint32_t start, uint32_t freq, int bits)
{
    if (bits < 1 || bits > NMDL_RC_MAX_BITS || freq == 0 ||
        (uint64_t)start + freq > (1ull << bits)) {
        if (!e->err)
            e->err = NMDL_ERR_ARG;
        return;
    }
    uint64_t r = e->range >> bits;
    e->low += r * start;
    e->range = r * freq;
    while (e->range < RC_BOT) {
        e->range <<= 8;
        shift_low(e);
    }
}

/* Smallest value in [low, low + range) whose low 40 (or all 48) bits are
 * zero; it exists because range >= 2^40. */
static uint64_t shortest_value(const nmdl_rc_enc *e)
{
    uint64_t end = e->low + e->range; /* exclusive; at most 2^49 */
    if (e->low == 0 || (RC_TOP < end && e->low <= RC_TOP))
        return e->low == 0 ? 0 : RC_TOP;
    return (e->low + RC_BOT - 1) & ~(RC_BOT - 1);
}

int nmdl_rc_enc_finish(nmdl_rc_enc *e, uint8_t **out, size_t *len)
{
    e->low = shortest_value(e);
    for (int i = 0; i < RC_FLUSH_SHIFTS; i++)
        shift_low(e);
    /* The decoder reads exactly the bytes written so far; zeros at the end
     * may be left for it to pad, up to NMDL_RC_PAD of them. */
    for (int i = 0; i < NMDL_RC_PAD && e->len && e->buf[e->len - 1] == 0; i++)
        e->len--;
    if (e->err) {
        int err = e->err;
        nmdl_rc_enc_discard(e);
        return err;
    }
    *out = e->buf;
    *len = e->len;
    e->buf = NULL;
    e->len = e->cap = 0;
    return NMDL_OK;
}

void nmdl_rc_enc_discard(nmdl_rc_enc *e)
{
    free(e->buf);
    e->buf = NULL;
    e->len = e->cap = 0;
}

static int next_byte(nmdl_rc_dec *d, uint64_t *code)
{
    uint8_t b = 0;
    if (d->pos < d->len)
        b = d->src[d->pos++];
    else if (d->pad < NMDL_RC_PAD)
        d->pad++;
    else
        return NMDL_ERR_TRUNCATED;
    *code = (*code << 8) | b;
    return NMDL_OK;
}

int nmdl_rc_dec_init(nmdl_rc_dec *d, const uint8_t *src, size_t len)
{
    if (!src && len)
        return NMDL_ERR_ARG;
    memset(d, 0, sizeof *d);
    d->src = src;
    d->len = len;
    d->range = RC_TOP;
    for (int i = 0; i < 6; i++) {
        int rc = next_byte(d, &d->code);
        if (rc)
            return rc;
    }
    return NMDL_OK;
}

int nmdl_rc_decode_target(nmdl_rc_dec *d, int bits, uint32_t *target)
{
    if (bits < 1 || bits > NMDL_RC_MAX_BITS)
        return NMDL_ERR_ARG;
    d->r = d->range >> bits;
    uint64_t t = d->code / d->r;
    if (t >> bits) /* only a corrupt stream points past the total */
        return NMDL_ERR_CORRUPT;
    *target = (uint32_t)t;
    return NMDL_OK;
}

int nmdl_rc_decode_update(nmdl_rc_dec *d, uint32_t start, uint32_t freq)
{
    uint64_t lo = d->r * start;
    if (freq == 0 || d->code < lo || d->code - lo >= d->r * freq)
        return NMDL_ERR_ARG; /* the interval does not hold the target */
    d->code -= lo;
    d->range = d->r * freq;
    while (d->range < RC_BOT) {
        d->range <<= 8;
        int rc = next_byte(d, &d->code);
        if (rc)
            return rc;
    }
    return NMDL_OK;
}

int nmdl_rc_decode_symbol(nmdl_rc_dec *d, const uint32_t *cum, int n,
                          int bits, int *sym)
{
    uint32_t t;
    int rc = nmdl_rc_decode_target(d, bits, &t);
    if (rc)
        return rc;
    int lo = 0, hi = n; /* invariant: cum[lo] <= t < cum[hi] */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (cum[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    *sym = lo;
    return nmdl_rc_decode_update(d, cum[lo], cum[lo + 1] - cum[lo]);
}

int nmdl_rc_dec_finish(const nmdl_rc_dec *d)
{
    return d->pos == d->len ? NMDL_OK : NMDL_ERR_CORRUPT;
}
