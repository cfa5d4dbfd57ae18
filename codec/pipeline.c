/*
 * pipeline.c: the public compress / decompress / info entry points. They
 * choose a method, produce the model and data parts, and leave framing and
 * checksums to container/frame.c.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "../container/frame.h"
#include "nmdl.h"

#define ZSTD_METHOD_LEVEL 19
#define ZSTD_METHOD_WINDOW_LOG 27 /* 128 MiB, as zstd --long */

struct nmdl_cctx {
    nmdl_method method; /* method to try */
    int threads;        /* zstd workers */
    ZSTD_CCtx *zc;
};

struct nmdl_dctx {
    int threads; /* reserved for the neural method */
    ZSTD_DCtx *zd;
};

nmdl_cctx *nmdl_cctx_create(void)
{
    if (sodium_init() < 0)
        return NULL;
    nmdl_cctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->method = NMDL_METHOD_ZSTD;
    c->threads = 1;
    c->zc = ZSTD_createCCtx();
    if (!c->zc) {
        free(c);
        return NULL;
    }
    return c;
}

void nmdl_cctx_free(nmdl_cctx *c)
{
    if (!c)
        return;
    ZSTD_freeCCtx(c->zc);
    free(c);
}

int nmdl_cctx_set_method(nmdl_cctx *c, nmdl_method m)
{
    if (!c || (unsigned)m > NMDL_METHOD_NEURAL)
        return NMDL_ERR_ARG;
    c->method = m;
    return NMDL_OK;
}

int nmdl_cctx_set_threads(nmdl_cctx *c, int threads)
{
    if (!c || threads < 1)
        return NMDL_ERR_ARG;
    c->threads = threads;
    return NMDL_OK;
}

size_t nmdl_compress_bound(size_t src_len)
{
    return src_len + NMDL_FRAME_OVERHEAD_MAX;
}

/* One zstd frame of src, in a malloc'd buffer. The worker count is always at
 * least one so that the output is the same for every thread count. */
static int zstd_part(nmdl_cctx *c, const void *src, size_t n, uint8_t **out,
                     size_t *out_len)
{
    ZSTD_CCtx *z = c->zc;
    ZSTD_CCtx_reset(z, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, ZSTD_METHOD_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_enableLongDistanceMatching, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_windowLog, ZSTD_METHOD_WINDOW_LOG)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_nbWorkers, c->threads)))
        return NMDL_ERR_BACKEND;
    size_t cap = ZSTD_compressBound(n);
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return NMDL_ERR_NOMEM;
    size_t r = ZSTD_compress2(z, buf, cap, src, n);
    if (ZSTD_isError(r)) {
        free(buf);
        return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation
                   ? NMDL_ERR_NOMEM : NMDL_ERR_BACKEND;
    }
    *out = buf;
    *out_len = r;
    return NMDL_OK;
}

int nmdl_compress(nmdl_cctx *c, void *dst, size_t dst_cap, size_t *dst_len,
                  const void *src, size_t src_len)
{
    if (!c || (!dst && dst_cap) || !dst_len || (!src && src_len))
        return NMDL_ERR_ARG;
    if (src_len > SIZE_MAX - NMDL_FRAME_OVERHEAD_MAX || src_len >> 62)
        return NMDL_ERR_TOO_LARGE;
    uint8_t sum[NMDL_FRAME_SUM_BYTES];
    nmdl_frame_sum(src, src_len, sum);
    uint8_t *part = NULL;
    size_t part_len = 0;
    if (c->method == NMDL_METHOD_NEURAL)
        return NMDL_ERR_UNSUPPORTED;
    if (c->method == NMDL_METHOD_ZSTD) {
        int rc = zstd_part(c, src, src_len, &part, &part_len);
        if (rc)
            return rc;
    }
    int rc;
    if (part && part_len < src_len) /* zstd won over the stored bytes */
        rc = nmdl_frame_write(dst, dst_cap, dst_len, NMDL_METHOD_ZSTD, src_len,
                              sum, NULL, 0, part, part_len);
    else
        rc = nmdl_frame_write(dst, dst_cap, dst_len, NMDL_METHOD_STORED,
                              src_len, sum, NULL, 0, src, src_len);
    free(part);
    return rc;
}

nmdl_dctx *nmdl_dctx_create(void)
{
    if (sodium_init() < 0)
        return NULL;
    nmdl_dctx *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->threads = 1;
    d->zd = ZSTD_createDCtx();
    if (!d->zd ||
        ZSTD_isError(ZSTD_DCtx_setParameter(d->zd, ZSTD_d_windowLogMax,
                                            ZSTD_METHOD_WINDOW_LOG))) {
        nmdl_dctx_free(d);
        return NULL;
    }
    return d;
}

void nmdl_dctx_free(nmdl_dctx *d)
{
    if (!d)
        return;
    ZSTD_freeDCtx(d->zd);
    free(d);
}

int nmdl_dctx_set_threads(nmdl_dctx *d, int threads)
{
    if (!d || threads < 1)
        return NMDL_ERR_ARG;
    d->threads = threads;
    return NMDL_OK;
}

/* The data part must be exactly one zstd frame that declares the original
 * length and decodes to exactly that many bytes. */
static int zstd_decode(nmdl_dctx *d, const nmdl_frame *f, uint8_t *dst)
{
    if (ZSTD_findFrameCompressedSize(f->data, f->data_len) != f->data_len ||
        ZSTD_getFrameContentSize(f->data, f->data_len) != f->original_len)
        return NMDL_ERR_CORRUPT;
    size_t r = ZSTD_decompressDCtx(d->zd, dst, (size_t)f->original_len,
                                   f->data, f->data_len);
    if (ZSTD_isError(r))
        return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation
                   ? NMDL_ERR_NOMEM : NMDL_ERR_CORRUPT;
    return r == f->original_len ? NMDL_OK : NMDL_ERR_CORRUPT;
}

int nmdl_decompress(nmdl_dctx *d, void *dst, size_t dst_cap, size_t *dst_len,
                    const void *src, size_t src_len)
{
    if (!d || (!dst && dst_cap) || !dst_len || (!src && src_len))
        return NMDL_ERR_ARG;
    nmdl_frame f;
    int rc = nmdl_frame_parse(src, src_len, &f);
    if (rc)
        return rc;
    if (f.original_len > dst_cap)
        return NMDL_ERR_DST_SIZE;
    if (f.method == NMDL_METHOD_STORED) {
        if (f.data_len)
            memcpy(dst, f.data, f.data_len);
    } else if ((rc = zstd_decode(d, &f, dst))) {
        return rc;
    }
    uint8_t sum[NMDL_FRAME_SUM_BYTES];
    nmdl_frame_sum(dst, (size_t)f.original_len, sum);
    if (sodium_memcmp(sum, f.content_sum, sizeof sum) != 0)
        return NMDL_ERR_CHECKSUM;
    *dst_len = (size_t)f.original_len;
    return NMDL_OK;
}

int nmdl_info_read(const void *src, size_t src_len, nmdl_info *info)
{
    if (!info || (!src && src_len))
        return NMDL_ERR_ARG;
    nmdl_frame f;
    int rc = nmdl_frame_parse(src, src_len, &f);
    if (rc)
        return rc;
    memset(info, 0, sizeof *info);
    info->version = f.version;
    info->method = (nmdl_method)f.method;
    info->original_bytes = f.original_len;
    info->file_bytes = f.file_len;
    info->header_bytes = f.header_len;
    info->model_bytes = f.model_len;
    info->data_bytes = f.data_len;
    info->checksum_bytes = 2 * NMDL_FRAME_SUM_BYTES;
    return NMDL_OK;
}
