/*
 * frame.c: writer and validating parser of the container (see frame.h and
 * docs/FORMAT.md). The parser trusts nothing: every length is checked
 * against the bytes actually present before anything uses it.
 */
#include "frame.h"

#include <string.h>

#include <sodium.h>

#include "../codec/error.h"
#include "nmdl.h"

/* 0xB7 cannot start UTF-8 or ASCII text; "NMD" makes dumps readable. */
const uint8_t nmdl_frame_magic[4] = {0xB7, 'N', 'M', 'D'};

/* A zstd block of 4 bytes (RLE) decodes to at most 128 KiB. */
#define ZSTD_MAX_RATIO 32768u
/* A neural symbol costs at least -log2(1 - 255 / 2^24) bits (every byte
 * keeps a frequency of 1 of 2^24), so a data part byte codes at most
 * 364,827 bytes; a mix frame's byte at least -log2(1 - 2^-16) (the match
 * flag's P is at most 1 - 2^-16), at most 363,408 a data byte; 2^19
 * bounds both with room. */
#define NEURAL_MAX_RATIO (1u << 19)
#define MIX_MAX_OUTPUT 0xFFFFFFFFull /* NMDL_MM_MAX_INPUT: 32-bit positions */

void nmdl_frame_sum(const void *src, size_t n, uint8_t out[NMDL_FRAME_SUM_BYTES])
{
    crypto_generichash(out, NMDL_FRAME_SUM_BYTES, src, n, NULL, 0);
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >>= 7)
        n++;
    return n;
}

static uint8_t *varint_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Reads a canonical LEB128 value of at most 63 bits from src[*pos..len). */
static int varint_get(const uint8_t *src, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < NMDL_FRAME_VARINT_MAX; i++) {
        if (*pos >= len)
            return NMDL_ERR_TRUNCATED;
        uint8_t b = src[(*pos)++];
        x |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0) /* not the shortest encoding */
                return NMDL_ERR_CORRUPT;
            *v = x;
            return NMDL_OK;
        }
    }
    return NMDL_ERR_CORRUPT; /* longer than 63 bits */
}

nmdl_frame nmdl_frame_of(unsigned method, uint64_t n, const uint8_t *sum,
                         const uint8_t *model, size_t model_len,
                         const uint8_t *data, size_t data_len)
{
    nmdl_frame f;
    memset(&f, 0, sizeof f);
    f.method = method;
    f.original_len = n;
    f.content_sum = sum;
    f.model = model;
    f.model_len = model_len;
    f.data = data;
    f.data_len = data_len;
    return f;
}

size_t nmdl_frame_header_bound(uint64_t original_len)
{
    return NMDL_FRAME_FIXED_BYTES + 3 * varint_len(original_len) + 1 + NMDL_FRAME_VARINT_MAX;
}

size_t nmdl_frame_size(const nmdl_frame *f)
{
    size_t alt = (f->has_alt ? 1 + varint_len(f->alt_size) : 0) +
                 (f->report ? varint_len(f->report_len) + f->report_len : 0);
    return NMDL_FRAME_FIXED_BYTES + varint_len(f->original_len) +
           varint_len(f->model_len) + varint_len(f->data_len) + alt +
           f->model_len + f->data_len + 2 * NMDL_FRAME_SUM_BYTES;
}

int nmdl_frame_write(uint8_t *dst, size_t cap, size_t *written,
                     const nmdl_frame *f)
{
    if (f->model_len > SIZE_MAX / 4 || f->data_len > SIZE_MAX / 4 ||
        f->original_len >> 63 || f->alt_size >> 63 || f->method > 0xFF ||
        f->alt_method > 0xFF || (f->report && (f->report_len < 1 ||
        f->report_len > NMDL_FRAME_REPORT_MAX)))
        return NMDL_ERR_TOO_LARGE;
    size_t size = nmdl_frame_size(f);
    if (size > cap)
        return NMDL_ERR_DST_SIZE;
    uint8_t *p = dst;
    memcpy(p, nmdl_frame_magic, sizeof nmdl_frame_magic);
    p += sizeof nmdl_frame_magic;
    *p++ = NMDL_FRAME_VERSION;
    *p++ = (uint8_t)f->method;
    *p++ = (uint8_t)((f->has_alt ? NMDL_FRAME_FLAG_ALT : 0) |
                     (f->report ? NMDL_FRAME_FLAG_REPORT : 0));
    p = varint_put(p, f->original_len);
    p = varint_put(p, f->model_len);
    p = varint_put(p, f->data_len);
    if (f->has_alt) {
        *p++ = (uint8_t)f->alt_method;
        p = varint_put(p, f->alt_size);
    }
    if (f->report) {
        p = varint_put(p, f->report_len);
        memcpy(p, f->report, f->report_len);
        p += f->report_len;
    }
    if (f->model_len)
        memmove(p, f->model, f->model_len);
    p += f->model_len;
    if (f->data_len)
        memmove(p, f->data, f->data_len);
    p += f->data_len;
    memcpy(p, f->content_sum, NMDL_FRAME_SUM_BYTES);
    p += NMDL_FRAME_SUM_BYTES;
    nmdl_frame_sum(dst, (size_t)(p - dst), p);
    *written = size;
    return NMDL_OK;
}

/* The fixed bytes: magic, version, method, flags. */
static int parse_fixed(const uint8_t *src, size_t len, nmdl_frame *f)
{
    size_t m = len < sizeof nmdl_frame_magic ? len : sizeof nmdl_frame_magic;
    if (m && memcmp(src, nmdl_frame_magic, m) != 0)
        return NMDL_ERR_NOT_NMDL;
    if (len < NMDL_FRAME_FIXED_BYTES)
        return NMDL_ERR_TRUNCATED;
    f->version = src[4];
    f->method = src[5];
    if (f->version != NMDL_FRAME_VERSION)
        return NMDL_ERR_VERSION;
    if (f->method >= NMDL_METHODS)
        return NMDL_ERR_METHOD;
    if (src[6] & ~(NMDL_FRAME_FLAG_ALT | NMDL_FRAME_FLAG_REPORT)) /* reserved */
        return NMDL_ERR_CORRUPT;
    f->has_alt = src[6] & NMDL_FRAME_FLAG_ALT;
    return NMDL_OK;
}

/* Constraints each method puts on the lengths. */
static int check_method(const nmdl_frame *f, char *why)
{
    const unsigned long long n = f->original_len, d = f->data_len, m = f->model_len;
    switch (f->method) {
    case NMDL_METHOD_STORED:
        if (m != 0 || d != n)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "stored frame: model length %llu "
                            "and data length %llu, not 0 and the original %llu", m, d, n);
        return NMDL_OK;
    case NMDL_METHOD_ZSTD:
        if (m != 0)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "zstd frame: model length %llu, not 0", m);
        if (n / ZSTD_MAX_RATIO > d)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "zstd frame: original length %llu "
                            "exceeds %u x data length %llu", n, ZSTD_MAX_RATIO, d);
        return NMDL_OK;
    case NMDL_METHOD_MIX: /* the revision byte and the stream (its trailing
                             zeros may be left out: possibly none) */
        if (m != 0 || d < 1)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "mix frame: model length %llu and "
                            "data length %llu, not 0 and at least 1", m, d);
        if (n < 1 || n > MIX_MAX_OUTPUT)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "mix frame: original length %llu, "
                            "not 1 to 2^32 - 1 (the match model's positions)", n);
        if ((n - 1) / NEURAL_MAX_RATIO >= d)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "mix frame: original length %llu "
                            "exceeds 2^19 x data length %llu", n, d);
        return NMDL_OK;
    default: /* neural: the parts are checked as they are decoded */
        if (n < 2 || m == 0 || d == 0)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "neural frame: original length "
                            "%llu, model length %llu, data length %llu (must be at "
                            "least 2, 1, 1)", n, m, d);
        if ((n - 1) / NEURAL_MAX_RATIO >= d) /* n > 2^19 d, without overflow */
            return nmdl_why(why, NMDL_ERR_CORRUPT, "neural frame: original length %llu "
                            "exceeds 2^19 x data length %llu", n, d);
        return NMDL_OK;
    }
}

/* The header: the fixed bytes, the three lengths, the alternative and the
 * report. Sets f's header fields and header_len; the parts' lengths go to
 * *model_len and *data_len, unchecked against len; a reason for a bad
 * alternative into why (may be NULL). */
static int parse_header(const uint8_t *src, size_t len, nmdl_frame *f,
                        uint64_t *model_len, uint64_t *data_len, char *why)
{
    memset(f, 0, sizeof *f);
    int rc = parse_fixed(src, len, f);
    if (rc)
        return rc;
    size_t pos = NMDL_FRAME_FIXED_BYTES;
    if ((rc = varint_get(src, len, &pos, &f->original_len)) ||
        (rc = varint_get(src, len, &pos, model_len)) ||
        (rc = varint_get(src, len, &pos, data_len)))
        return rc;
    if (f->has_alt) {
        if (pos >= len)
            return NMDL_ERR_TRUNCATED;
        f->alt_method = src[pos++];
        if (f->alt_method >= NMDL_METHODS || f->alt_method == f->method)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "header: alternative method %u, "
                            "unknown or the frame's own", (unsigned)f->alt_method);
        if ((rc = varint_get(src, len, &pos, &f->alt_size)))
            return rc;
    }
    if (src[6] & NMDL_FRAME_FLAG_REPORT) {
        uint64_t rl;
        if ((rc = varint_get(src, len, &pos, &rl)))
            return rc;
        if (rl < 1 || rl > NMDL_FRAME_REPORT_MAX)
            return NMDL_ERR_CORRUPT;
        if (rl > len - pos)
            return NMDL_ERR_TRUNCATED;
        f->report = src + pos;
        f->report_len = (size_t)rl;
        pos += (size_t)rl;
    }
    f->header_len = pos;
    return NMDL_OK;
}

/* Bytes after the header that the parts and checksums need, when the
 * len - header_len bytes present hold them; NMDL_ERR_TRUNCATED otherwise.
 * header_len <= len, so nothing here can wrap. */
static int frame_rest(size_t room, uint64_t model_len, uint64_t data_len,
                      size_t *rest, char *why)
{
    if (model_len > room || data_len > room - model_len ||
        2 * NMDL_FRAME_SUM_BYTES > room - model_len - data_len)
        return nmdl_why(why, NMDL_ERR_TRUNCATED, "header: model length %llu + data "
                        "length %llu + 32 checksum bytes > %zu bytes left",
                        (unsigned long long)model_len, (unsigned long long)data_len, room);
    *rest = (size_t)(model_len + data_len) + 2 * NMDL_FRAME_SUM_BYTES;
    return NMDL_OK;
}

int nmdl_frame_length(const void *src, size_t src_len, size_t *frame_len)
{
    if (!frame_len || (!src && src_len))
        return NMDL_ERR_ARG;
    nmdl_frame f;
    uint64_t model_len, data_len;
    size_t rest = 0;
    int rc = parse_header(src, src_len, &f, &model_len, &data_len, NULL);
    if (!rc)
        rc = frame_rest(src_len - f.header_len, model_len, data_len, &rest, NULL);
    if (!rc)
        *frame_len = f.header_len + rest;
    return rc;
}

int nmdl_frame_parse(const uint8_t *src, size_t len, nmdl_frame *f, char *why)
{
    if (!f || (!src && len))
        return NMDL_ERR_ARG;
    uint64_t model_len, data_len;
    size_t rest = 0;
    int rc = parse_header(src, len, f, &model_len, &data_len, why);
    if (rc || (rc = frame_rest(len - f->header_len, model_len, data_len, &rest, why)))
        return rc;
    if (f->header_len + rest != len)
        return nmdl_why(why, NMDL_ERR_CORRUPT, "%zu bytes after the frame",
                        len - f->header_len - rest);
    f->model = src + f->header_len;
    f->model_len = (size_t)model_len;
    f->data = f->model + model_len;
    f->data_len = (size_t)data_len;
    f->content_sum = f->data + data_len;
    f->file_len = len;
    uint8_t sum[NMDL_FRAME_SUM_BYTES];
    nmdl_frame_sum(src, len - NMDL_FRAME_SUM_BYTES, sum);
    if (sodium_memcmp(sum, src + len - NMDL_FRAME_SUM_BYTES, sizeof sum) != 0)
        return nmdl_why(why, NMDL_ERR_CHECKSUM, "frame checksum");
    return check_method(f, why);
}
