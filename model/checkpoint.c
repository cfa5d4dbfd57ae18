/*
 * checkpoint.c: nmdl_model_save / nmdl_model_load, the checkpoint file of
 * `nmdl train` (docs/FORMAT.md, "Checkpoint"): a fixed header with the
 * configuration, the float32 parameters little-endian, a BLAKE2b-128 of all
 * bytes before it. Every field is validated before anything is allocated.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "transformer.h"

#define CKPT_VERSION 1
#define CKPT_FLAG_TIED 1u

static const uint8_t ckpt_magic[4] = {0xB7, 'N', 'M', 'K'};

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Whether every one of w[0..n) is finite: a checkpoint holds no NaN or
 * infinity (save refuses a diverged run's, load a faulty writer's). */
static int all_finite(const float *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(w[i]))
            return 0;
    return 1;
}

int nmdl_model_save(const nmdl_model *m, void **buf, size_t *len)
{
    if (!m || !buf || !len)
        return NMDL_ERR_ARG;
    const size_t n = m->lay.n_params, size = NMDL_CKPT_HEADER + 4 * n + NMDL_CKPT_SUM;
    if (!all_finite(m->params, n))
        return NMDL_ERR_CORRUPT;
    uint8_t *p = malloc(size);
    if (!p)
        return NMDL_ERR_NOMEM;
    memcpy(p, ckpt_magic, 4);
    p[4] = CKPT_VERSION;
    p[5] = m->cfg.tied ? CKPT_FLAG_TIED : 0;
    p[6] = p[7] = 0;
    const nmdl_model_config *c = &m->cfg;
    int32_t f[5] = {c->n_layer, c->d_model, c->n_head, c->d_ff, c->ctx};
    for (int i = 0; i < 5; i++)
        put_u32(p + 8 + 4 * i, (uint32_t)f[i]);
    put_u32(p + 28, (uint32_t)n);
    put_u32(p + 32, (uint32_t)((uint64_t)n >> 32));
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &m->params[i], 4);
        put_u32(p + NMDL_CKPT_HEADER + 4 * i, bits);
    }
    crypto_generichash(p + size - NMDL_CKPT_SUM, NMDL_CKPT_SUM, p, size - NMDL_CKPT_SUM, NULL, 0);
    *buf = p;
    *len = size;
    return NMDL_OK;
}

/* The configuration in a header, checked; NMDL_ERR_* on anything odd. */
static int parse_header(const uint8_t *p, size_t len, nmdl_model_config *c,
                        size_t *n_params)
{
    size_t m = len < 4 ? len : 4;
    if (m && memcmp(p, ckpt_magic, m) != 0)
        return NMDL_ERR_NOT_NMDL;
    if (len < NMDL_CKPT_HEADER + NMDL_CKPT_SUM)
        return NMDL_ERR_TRUNCATED;
    if (p[4] != CKPT_VERSION)
        return NMDL_ERR_VERSION;
    if ((p[5] & ~CKPT_FLAG_TIED) || p[6] || p[7])
        return NMDL_ERR_CORRUPT;
    uint32_t f[5];
    for (int i = 0; i < 5; i++)
        if ((f[i] = get_u32(p + 8 + 4 * i)) > 65536)
            return NMDL_ERR_CORRUPT;
    *c = (nmdl_model_config){(int)f[0], (int)f[1], (int)f[2], (int)f[3],
                             (int)f[4], p[5] & CKPT_FLAG_TIED, {0}};
    if (nmdl_model_config_check(c))
        return NMDL_ERR_CORRUPT;
    nmdl_tf_layout lay;
    nmdl_tf_layout_make(c, &lay);
    uint64_t n = get_u32(p + 28) | (uint64_t)get_u32(p + 32) << 32;
    if (n != lay.n_params)
        return NMDL_ERR_CORRUPT;
    if (len - NMDL_CKPT_HEADER - NMDL_CKPT_SUM < 4 * n)
        return NMDL_ERR_TRUNCATED;
    if (len - NMDL_CKPT_HEADER - NMDL_CKPT_SUM > 4 * n)
        return NMDL_ERR_CORRUPT;
    *n_params = (size_t)n;
    return NMDL_OK;
}

int nmdl_model_load(const void *buf, size_t len, nmdl_model **out)
{
    if (!out || (!buf && len))
        return NMDL_ERR_ARG;
    const uint8_t *p = buf;
    nmdl_model_config c = {0};
    size_t n;
    int rc = parse_header(p, len, &c, &n);
    if (rc)
        return rc;
    uint8_t sum[NMDL_CKPT_SUM];
    crypto_generichash(sum, NMDL_CKPT_SUM, p, len - NMDL_CKPT_SUM, NULL, 0);
    if (sodium_memcmp(sum, p + len - NMDL_CKPT_SUM, NMDL_CKPT_SUM) != 0)
        return NMDL_ERR_CHECKSUM;
    nmdl_model *m;
    if ((rc = nmdl_model_create(&c, 0, &m)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = get_u32(p + NMDL_CKPT_HEADER + 4 * i);
        memcpy(&m->params[i], &bits, 4);
    }
    if (!all_finite(m->params, n)) {
        nmdl_model_free(m);
        return NMDL_ERR_CORRUPT;
    }
    *out = m;
    return NMDL_OK;
}

void nmdl_free(void *p)
{
    free(p);
}
