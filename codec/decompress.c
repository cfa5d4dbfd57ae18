/*
 * decompress.c: the public decompression entry points (nmdl.h): a frame
 * parsed and held to the decoder's limits, then its data part rebuilt,
 * stored, by zstd, by the mixer alone or by the neural decoder, whole or
 * streamed, and checked
 * against the content checksum.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "../container/frame.h"
#include "../model/progress.h"
#include "../model/team.h"
#include "error.h"
#include "mixcode.h"
#include "neural.h"
#include "nmdl.h"
#include "quant.h"

struct nmdl_dctx {
    int threads;
    nmdl_progress_fn progress;  /* may be NULL */
    void *progress_user;
    uint64_t memory;    /* bytes decoding may take (nmdl_dctx_set_memory) */
    uint64_t max_ratio; /* neural, mix: output bytes per frame byte; 0: any */
    char why[NMDL_WHY_MAX]; /* detail of the last error */
    ZSTD_DCtx *zd;
    nmdl_team team;     /* when has_team */
    int has_team;
};

nmdl_dctx *nmdl_dctx_create(void)
{
    if (sodium_init() < 0)
        return NULL;
    nmdl_dctx *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->threads = 1;
    d->max_ratio = NMDL_MAX_RATIO_DEFAULT;
    d->zd = ZSTD_createDCtx();
    if (!d->zd || nmdl_dctx_set_memory(d, NMDL_MEMORY_DEFAULT)) {
        nmdl_dctx_free(d);
        return NULL;
    }
    return d;
}

void nmdl_dctx_set_progress(nmdl_dctx *d, nmdl_progress_fn fn, void *user)
{
    if (!d)
        return;
    d->progress = fn;
    d->progress_user = user;
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

int nmdl_dctx_set_team(nmdl_dctx *d, const nmdl_team *team)
{
    if (!d || !nmdl_team_valid(team))
        return NMDL_ERR_ARG;
    d->has_team = team != NULL;
    if (team)
        d->team = *team;
    return NMDL_OK;
}

int nmdl_dctx_set_memory(nmdl_dctx *d, uint64_t bytes)
{
    if (!d || bytes < NMDL_MEMORY_MIN)
        return NMDL_ERR_ARG;
    int wlog = 10; /* zstd's window: the largest power of two within the limit */
    while (wlog < NMDL_FRAME_ZSTD_WINDOW_LOG && (2ull << wlog) <= bytes)
        wlog++;
    ZSTD_DCtx_reset(d->zd, ZSTD_reset_session_only);
    if (ZSTD_isError(ZSTD_DCtx_setParameter(d->zd, ZSTD_d_windowLogMax, wlog)))
        return NMDL_ERR_BACKEND;
    d->memory = bytes;
    return NMDL_OK;
}

int nmdl_dctx_set_max_ratio(nmdl_dctx *d, uint64_t ratio)
{
    if (!d)
        return NMDL_ERR_ARG;
    d->max_ratio = ratio;
    return NMDL_OK;
}

const char *nmdl_dctx_error_detail(const nmdl_dctx *d)
{
    return d ? d->why : "";
}

/* Where the decoded bytes go as they come: the caller's writer, with the
 * content checksum and the count kept on the way. */
typedef struct out_sink {
    nmdl_write_fn write;
    void *user;
    crypto_generichash_state sum;
    uint64_t done;
} out_sink;

static int sink_put(void *user, const uint8_t *p, size_t n)
{
    out_sink *o = user;
    crypto_generichash_update(&o->sum, p, n);
    o->done += n;
    return o->write(o->user, p, n);
}

static int zstd_error(nmdl_dctx *d, size_t r)
{
    switch (ZSTD_getErrorCode(r)) {
    case ZSTD_error_memory_allocation:
        return NMDL_ERR_NOMEM;
    case ZSTD_error_frameParameter_windowTooLarge:
        return nmdl_why(d->why, NMDL_ERR_LIMIT, "memory: the zstd frame's window "
                        "exceeds the limit of %.1f MiB", (double)d->memory / 1048576.0);
    default:
        return nmdl_why(d->why, NMDL_ERR_CORRUPT, "zstd frame: %s", ZSTD_getErrorName(r));
    }
}

/* The data part must be exactly one zstd frame that declares the original
 * length (and then decodes to exactly that many bytes). */
static int zstd_check(nmdl_dctx *d, const nmdl_frame *f)
{
    if (ZSTD_findFrameCompressedSize(f->data, f->data_len) != f->data_len ||
        ZSTD_getFrameContentSize(f->data, f->data_len) != f->original_len)
        return nmdl_why(d->why, NMDL_ERR_CORRUPT, "zstd frame: not one frame of the "
                        "data part's length that declares the original length");
    return NMDL_OK;
}

static int zstd_decode(nmdl_dctx *d, const nmdl_frame *f, uint8_t *dst)
{
    int rc = zstd_check(d, f);
    if (rc)
        return rc;
    size_t r = ZSTD_decompressDCtx(d->zd, dst, (size_t)f->original_len,
                                   f->data, f->data_len);
    if (ZSTD_isError(r))
        return zstd_error(d, r);
    return r == f->original_len ? NMDL_OK : NMDL_ERR_CORRUPT;
}

/* The same in pieces of ZSTD_DStreamOutSize() bytes, through the sink,
 * each counted in job; zstd holds the frame's window (at most the memory
 * limit). */
static int zstd_stream(nmdl_dctx *d, const nmdl_frame *f, out_sink *o, nmdl_prog *job)
{
    int rc = zstd_check(d, f);
    if (rc)
        return rc;
    const size_t cap = ZSTD_DStreamOutSize();
    uint8_t *buf = malloc(cap);
    if (!buf)
        return NMDL_ERR_NOMEM;
    ZSTD_DCtx_reset(d->zd, ZSTD_reset_session_only);
    ZSTD_inBuffer in = {f->data, f->data_len, 0};
    for (size_t r = 1; !rc && r != 0;) {
        ZSTD_outBuffer out = {buf, cap, 0};
        r = ZSTD_decompressStream(d->zd, &out, &in);
        if (ZSTD_isError(r))
            rc = zstd_error(d, r);
        else if (out.pos && !(rc = sink_put(o, buf, out.pos)))
            rc = nmdl_prog_add(job, (double)out.pos, (long)out.pos); /* or canceled */
        else if (r != 0 && in.pos == in.size) /* no progress: cut short */
            rc = nmdl_why(d->why, NMDL_ERR_CORRUPT, "zstd frame: ends early");
    }
    free(buf);
    return rc;
}

/* Parses a frame and applies the limits a header can be checked against. */
static int open_frame(nmdl_dctx *d, const void *src, size_t src_len, nmdl_frame *f)
{
    d->why[0] = 0;
    int rc = nmdl_frame_parse(src, src_len, f, d->why);
    if (rc)
        return rc;
    const uint64_t n = f->original_len;
    if (f->method >= NMDL_METHOD_NEURAL && d->max_ratio &&
        (n - 1) / d->max_ratio >= f->file_len) /* n > ratio x frame, no overflow */
        return nmdl_why(d->why, NMDL_ERR_LIMIT, "ratio: %llu bytes from a frame of "
                        "%zu, %.0f to 1, above the limit of %llu to 1",
                        (unsigned long long)n, f->file_len, (double)n / (double)f->file_len,
                        (unsigned long long)d->max_ratio);
    return NMDL_OK;
}

/* Whether decoding mix frame f (its payload's revision first), and
 * `extra` more bytes, fit the memory limit. */
static int mix_fits(nmdl_dctx *d, const nmdl_frame *f, uint64_t extra)
{
    const uint64_t need = nmdl_mx_decode_bytes((size_t)f->original_len, f->data[0]) + extra;
    return need <= d->memory ? NMDL_OK
                             : nmdl_why(d->why, NMDL_ERR_LIMIT, "memory: decoding needs "
                                        "%.1f MiB, above the limit of %.1f MiB",
                                        (double)need / 1048576.0,
                                        (double)d->memory / 1048576.0);
}

/* Streamed: the whole output in a buffer first (the match model looks
 * back over all of it), then to the sink. */
static int mix_stream(nmdl_dctx *d, const nmdl_frame *f, out_sink *o, nmdl_prog *job)
{
    const size_t n = (size_t)f->original_len;
    uint8_t *buf = NULL;
    int rc = mix_fits(d, f, n);
    if (!rc && !(buf = malloc(n)))
        rc = NMDL_ERR_NOMEM;
    if (!rc)
        rc = nmdl_mx_decode(f->data, f->data_len, buf, n, job, d->why);
    if (!rc)
        rc = sink_put(o, buf, n);
    free(buf);
    return rc;
}

/* The neural decoder's parameters; failed: the job's failure before it
 * (a canceled phase), which a team member still shares. */
static nmdl_neural_dec neural_params(nmdl_dctx *d, out_sink *o, nmdl_prog *job, int failed)
{
    nmdl_neural_dec p = {d->threads, d->memory, o ? sink_put : NULL, o, d->why, job,
                         d->has_team ? &d->team : NULL, failed};
    return p;
}

/* The job of decoding frame f: one phase, a work unit per byte (per
 * symbol of a neural frame's merged symbols). */
static int decode_job(nmdl_dctx *d, const nmdl_frame *f, nmdl_prog *job)
{
    double work[NMDL_PHASES] = {0};
    nmdl_q_header h;
    work[NMDL_PHASE_DECODE] = (double)f->original_len;
    if (f->method == NMDL_METHOD_NEURAL && !nmdl_q_read_header(f->model, f->model_len, &h, NULL) &&
        h.symbols)
        work[NMDL_PHASE_DECODE] = (double)h.symbols;
    nmdl_prog_start(job, d->progress, d->progress_user, d->threads, work, 0.0);
    return nmdl_prog_phase(job, NMDL_PHASE_DECODE, work[NMDL_PHASE_DECODE],
                           (long)work[NMDL_PHASE_DECODE]);
}

int nmdl_decompress(nmdl_dctx *d, void *dst, size_t dst_cap, size_t *dst_len,
                    const void *src, size_t src_len)
{
    if (!d || (!dst && dst_cap) || !dst_len || (!src && src_len))
        return NMDL_ERR_ARG;
    nmdl_frame f;
    int rc = open_frame(d, src, src_len, &f);
    if (rc)
        return rc;
    if (f.original_len > dst_cap)
        return NMDL_ERR_DST_SIZE;
    nmdl_prog job;
    rc = decode_job(d, &f, &job);
    if (!rc && f.method == NMDL_METHOD_STORED) {
        if (f.data_len)
            memcpy(dst, f.data, f.data_len);
    } else if (!rc && f.method == NMDL_METHOD_ZSTD) {
        rc = zstd_decode(d, &f, dst);
    } else if (!rc && f.method == NMDL_METHOD_MIX) {
        if (!(rc = mix_fits(d, &f, 0)))
            rc = nmdl_mx_decode(f.data, f.data_len, dst, (size_t)f.original_len, &job, d->why);
    } else if (f.method == NMDL_METHOD_NEURAL && (!rc || d->has_team)) {
        nmdl_neural_dec p = neural_params(d, NULL, &job, rc);
        rc = nmdl_neural_decode(&p, f.model, f.model_len, f.data, f.data_len, dst,
                                (size_t)f.original_len);
    }
    if (rc)
        return rc;
    uint8_t sum[NMDL_FRAME_SUM_BYTES];
    nmdl_frame_sum(dst, (size_t)f.original_len, sum);
    if (sodium_memcmp(sum, f.content_sum, sizeof sum) != 0)
        return nmdl_why(d->why, NMDL_ERR_CHECKSUM, "content checksum");
    *dst_len = (size_t)f.original_len;
    nmdl_prog_finish(&job);
    return NMDL_OK;
}

int nmdl_decompress_stream(nmdl_dctx *d, const void *src, size_t src_len,
                           nmdl_write_fn write, void *user)
{
    if (!d || !write || (!src && src_len))
        return NMDL_ERR_ARG;
    nmdl_frame f;
    int rc = open_frame(d, src, src_len, &f);
    if (rc)
        return rc;
    out_sink o = {write, user, {{0}}, 0};
    crypto_generichash_init(&o.sum, NULL, 0, NMDL_FRAME_SUM_BYTES);
    nmdl_prog job;
    rc = decode_job(d, &f, &job);
    if (!rc && f.method == NMDL_METHOD_STORED) {
        rc = f.data_len ? sink_put(&o, f.data, f.data_len) : NMDL_OK;
    } else if (!rc && f.method == NMDL_METHOD_ZSTD) {
        rc = zstd_stream(d, &f, &o, &job);
    } else if (!rc && f.method == NMDL_METHOD_MIX) {
        rc = mix_stream(d, &f, &o, &job);
    } else if (f.method == NMDL_METHOD_NEURAL && (!rc || d->has_team)) {
        nmdl_neural_dec p = neural_params(d, &o, &job, rc);
        rc = nmdl_neural_decode(&p, f.model, f.model_len, f.data, f.data_len, NULL,
                                (size_t)f.original_len);
    }
    if (!rc && o.done != f.original_len)
        rc = nmdl_why(d->why, NMDL_ERR_CORRUPT, "decoded %llu bytes, not the "
                      "original length %llu", (unsigned long long)o.done,
                      (unsigned long long)f.original_len);
    uint8_t sum[NMDL_FRAME_SUM_BYTES];
    crypto_generichash_final(&o.sum, sum, sizeof sum);
    if (!rc && sodium_memcmp(sum, f.content_sum, sizeof sum) != 0)
        rc = nmdl_why(d->why, NMDL_ERR_CHECKSUM, "content checksum");
    if (!rc)
        nmdl_prog_finish(&job);
    return rc;
}
