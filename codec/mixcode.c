/*
 * mixcode.c: see mixcode.h.
 */
#include "mixcode.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "segcode.h"

#define MX_REV NMDL_SC_MIX8 /* the data code the encoder writes */
#define MX_FIRST 6          /* the first payload revision, still decoded */
_Static_assert(MX_REV == NMDL_MX_REVISION + 1, "the payload's revision byte");
#define EMPTY_INDEX 1       /* input bytes the shared index is sized for:
                               one segment has no prefix to look up */

/* What coding the one segment of data code `match` holds: the (empty)
 * shared index, the match model's table and the mixer's lane. */
typedef struct mx_state {
    nmdl_mm_index index;
    nmdl_mm_table table;
    nmdl_cm *lanes;
    int match; /* the data code of the lanes */
} mx_state;

static void state_free(mx_state *x)
{
    nmdl_mm_index_free(&x->index);
    nmdl_sc_lanes_free(x->lanes, x->match, 1); /* one segment */
}

static int state_init(mx_state *x, size_t n, int match)
{
    memset(x, 0, sizeof *x);
    x->match = match;
    int rc = nmdl_mm_index_init(&x->index, EMPTY_INDEX, nmdl_sc_rev(match));
    if (!rc)
        rc = nmdl_sc_lanes_create(n, match, 1, &x->lanes);
    if (rc)
        state_free(x);
    return rc;
}

/* Codes the n bytes of text as one segment: encodes with enc, else
 * decodes with dec into text. */
static int code(mx_state *x, uint8_t *text, size_t n, nmdl_rc_enc *enc, nmdl_rc_dec *dec,
                nmdl_prog *prog, double byte_work)
{
    const uint8_t *in = text;
    const size_t start = 0;
    const nmdl_sc_group all = {1,     0,         enc ? &in : NULL, dec ? &text : NULL,
                               &n,    enc,       dec,              prog,
                               byte_work, &x->index, text,         &start,
                               &x->table, NULL,   x->lanes};
    return nmdl_sc_code_batch(NULL, &all, 0, 1, 1, dec != NULL);
}

int nmdl_mx_encode(const uint8_t *src, size_t n, nmdl_prog *prog, double byte_work,
                   uint8_t **out, size_t *out_len)
{
    if (!src || n < 1 || n > NMDL_MM_MAX_INPUT || !out || !out_len)
        return NMDL_ERR_ARG;
    mx_state x;
    nmdl_rc_enc enc;
    uint8_t *stream = NULL, *p = NULL;
    size_t len = 0;
    int rc = state_init(&x, n, MX_REV);
    if (rc)
        return rc;
    nmdl_rc_enc_init(&enc);
    rc = code(&x, (uint8_t *)src, n, &enc, NULL, prog, byte_work); /* only read */
    int r = nmdl_rc_enc_finish(&enc, &stream, &len);
    rc = rc ? rc : r;
    if (!rc && !(p = malloc(len + 1)))
        rc = NMDL_ERR_NOMEM;
    if (!rc) {
        p[0] = NMDL_MX_REVISION;
        memcpy(p + 1, stream, len);
        *out = p;
        *out_len = len + 1;
    }
    free(stream);
    state_free(&x);
    return rc;
}

/* Whether revision byte r is one this decoder knows. */
static int known(int r)
{
    return r >= MX_FIRST && r <= NMDL_MX_REVISION;
}

uint64_t nmdl_mx_decode_bytes(size_t n, int revision)
{
    const int match = known(revision) ? revision + 1 : MX_REV;
    return nmdl_mm_index_bytes(EMPTY_INDEX, nmdl_sc_rev(match)) +
           nmdl_sc_lanes_bytes(n, match, 1) + nmdl_sc_group_bytes(NULL, 1, n, match);
}

int nmdl_mx_decode(const uint8_t *data, size_t len, uint8_t *dst, size_t n, nmdl_prog *prog,
                   char *why)
{
    if ((!data && len) || !dst || n < 1)
        return NMDL_ERR_ARG;
    if (len < 1 || !known(data[0]))
        return nmdl_why(why, NMDL_ERR_CORRUPT, "mix frame: data code revision %d, "
                        "not %d to %d", len ? data[0] : -1, MX_FIRST, NMDL_MX_REVISION);
    if (n > NMDL_MM_MAX_INPUT)
        return nmdl_why(why, NMDL_ERR_CORRUPT, "mix frame: %zu bytes of output, more "
                        "than 2^32 - 1", n);
    mx_state x;
    nmdl_rc_dec dec;
    int rc = state_init(&x, n, data[0] + 1);
    if (!rc && !(rc = nmdl_rc_dec_init(&dec, data + 1, len - 1)))
        rc = code(&x, dst, n, NULL, &dec, prog, 1.0);
    state_free(&x);
    if (rc && rc != NMDL_ERR_NOMEM && rc != NMDL_ERR_CANCELED)
        return nmdl_why(why, rc, "mix frame: %s in the stream", nmdl_strerror(rc));
    return rc;
}
