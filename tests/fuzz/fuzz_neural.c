/*
 * fuzz_neural.c: neural frames of tiny models through the neural decoder,
 * thousands a second. An input is a frame (the seeds are real ones,
 * tests/fuzz/seeds/neural, from make_seeds.c); its frame checksum is
 * recomputed so that every input reaches the decoder. Each frame is decoded
 * streaming on three threads under a small memory limit: it may only fail
 * as a bad frame can (corrupt, truncated, checksum, an explained limit),
 * and a success must be exactly the length the header promised and the
 * bytes whole decoding on one thread gives. Frames of more
 * than 256 bytes, or whose decoding would take long (output bytes times
 * the work per byte), are only parsed, so that the fuzzer spends its time
 * on many small decodes (the seeds have 48 bytes).
 *
 * The custom mutator knows the structure: it rewrites one field of a
 * neural frame (a shape field or the flags of the model part, a base step
 * or offset, the levels stream, the segment count, a segment's length or
 * its stream, the original length) and reassembles the frame with
 * consistent lengths and a valid checksum; anything else it leaves to
 * libFuzzer's byte mutations, with the checksum fixed afterwards.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container/frame.h"
#include "model/transformer.h"
#include "nmdl.h"

#define MAX_BYTES 256         /* output bytes decoded */
#define MAX_WORK (1u << 21)   /* output bytes x (parameters + attention) */
#define MEMORY (8ull << 20)   /* the decoders' memory limit here */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* ---------------------------------------------------------------- decoding */

typedef struct collect {
    uint8_t *p;
    size_t len, cap;
} collect;

static int put(void *user, const void *data, size_t n)
{
    collect *c = user;
    if (n > c->cap - c->len)
        abort(); /* more than the header's length */
    memcpy(c->p + c->len, data, n);
    c->len += n;
    return 0;
}

/* What a frame can do to a decoder: nothing else (an invalid argument from
 * inside would be a check missing at the header, as in issue 14), and a
 * limit is always explained. */
static int expected(int rc, const nmdl_dctx *d)
{
    return rc == NMDL_OK || rc == NMDL_ERR_CORRUPT || rc == NMDL_ERR_TRUNCATED ||
           rc == NMDL_ERR_CHECKSUM ||
           (rc == NMDL_ERR_LIMIT && *nmdl_dctx_error_detail(d));
}

static int too_slow(const nmdl_info *info)
{
    if (info->method != NMDL_METHOD_NEURAL)
        return info->original_bytes > (1u << 20);
    const uint64_t n = info->original_bytes, w = (uint64_t)info->model.ctx;
    const uint64_t attention = (uint64_t)info->model.n_layer * (n < w ? n : w) *
                               (uint64_t)info->model.d_model;
    return n > MAX_BYTES || (info->n_params + attention) * n > MAX_WORK;
}

static void decode(const uint8_t *frame, size_t size)
{
    nmdl_info info;
    if (nmdl_info_read(frame, size, &info) != NMDL_OK || too_slow(&info))
        return;
    const size_t n = (size_t)info.original_bytes;
    static nmdl_dctx *one, *three; /* made once: contexts hold no frame's state */
    if (!one && (!(one = nmdl_dctx_create()) || !(three = nmdl_dctx_create()) ||
                 nmdl_dctx_set_threads(three, 3) || nmdl_dctx_set_memory(one, MEMORY) ||
                 nmdl_dctx_set_memory(three, MEMORY)))
        abort();
    uint8_t *a = malloc(n + 1);
    collect b = {malloc(n + 1), 0, n};
    size_t len = 0;
    int rb = nmdl_decompress_stream(three, frame, size, put, &b);
    if (!expected(rb, three))
        abort();
    /* what streaming decoded, decoded whole: the same bytes (decoding the
     * model twice for every frame would halve the speed) */
    if (rb == NMDL_OK && (b.len != n || nmdl_decompress(one, a, n, &len, frame, size) ||
                          len != n || memcmp(a, b.p, n)))
        abort();
    free(a), free(b.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < NMDL_FRAME_SUM_BYTES)
        return 0;
    uint8_t *frame = malloc(size);
    memcpy(frame, data, size);
    nmdl_frame_sum(frame, size - NMDL_FRAME_SUM_BYTES, frame + size - NMDL_FRAME_SUM_BYTES);
    decode(frame, size);
    free(frame);
    return 0;
}

/* ---------------------------------------------------------------- mutating */

static unsigned rnd(unsigned *s, unsigned n) /* uniform-ish in [0, n) */
{
    *s = *s * 1103515245u + 12345u;
    return n ? (*s >> 8) % n : 0;
}

static size_t leb_put(uint8_t *p, uint64_t v)
{
    size_t k = 0;
    for (; v >= 0x80; v >>= 7)
        p[k++] = (uint8_t)(v | 0x80);
    p[k++] = (uint8_t)v;
    return k;
}

/* A LEB128 value at p[*pos] (up to 9 bytes); 0 when malformed. */
static int leb_get(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 9 && *pos < len; i++) {
        uint8_t b = p[(*pos)++];
        *v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80))
            return 1;
    }
    return 0;
}

/* A value near v, or an edge case of the format. */
static uint64_t nearby(unsigned *s, uint64_t v)
{
    static const uint64_t edges[] = {0, 1, 2, 7, 8, 255, 256, 257, 4096, 4097,
                                     8192, 16384, 1u << 25, (1ull << 32) + 1};
    switch (rnd(s, 4)) {
    case 0: return v + 1;
    case 1: return v ? v - 1 : 0;
    case 2: return v * 2;
    default: return edges[rnd(s, sizeof edges / sizeof edges[0])];
    }
}

/* A frame's parts, rebuilt by reassemble(). */
typedef struct parts {
    uint64_t n;             /* original length */
    uint8_t model[1 << 16], data[1 << 16];
    size_t ml, dl;
    uint8_t sum[NMDL_FRAME_SUM_BYTES];
} parts;

/* Replaces p[at .. at+old) of a part of *len bytes with k bytes of src
 * (src may be NULL: LLVMFuzzerMutate's output of the region in place). */
static int splice(uint8_t *p, size_t *len, size_t at, size_t old, const uint8_t *src,
                  size_t k)
{
    if (at + old > *len || *len - old + k > (1 << 16))
        return 0;
    memmove(p + at + k, p + at + old, *len - at - old);
    if (src)
        memcpy(p + at, src, k);
    *len = *len - old + k;
    return 1;
}

/* Mutates region [at, at+old) of a part with libFuzzer's byte mutations. */
static int mutate_region(uint8_t *p, size_t *len, size_t at, size_t old)
{
    uint8_t tmp[1 << 12];
    if (old > sizeof tmp / 2)
        old = sizeof tmp / 2;
    memcpy(tmp, p + at, old);
    size_t k = LLVMFuzzerMutate(tmp, old, sizeof tmp);
    return splice(p, len, at, old, tmp, k);
}

/* The model part: a shape field or the flags, a step, or the levels. */
static int mutate_model(parts *f, unsigned *s)
{
    size_t pos = 0, field[6];
    uint64_t v[5];
    for (int i = 0; i < 5; i++) {
        field[i] = pos;
        if (!leb_get(f->model, f->ml, &pos, &v[i]))
            return 0;
    }
    field[5] = pos;
    if (pos >= f->ml)
        return 0;
    const uint8_t flags = f->model[pos++];
    nmdl_model_config c = {(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4], flags & 1, {0}};
    size_t steps = 0;
    if (!nmdl_model_config_check(&c)) {
        nmdl_tf_layout lay;
        nmdl_tf_layout_make(&c, &lay);
        for (int k = 0; k < lay.n_tensors; k++)
            steps += lay.tensor[k].rows == 1 ? 8 : 4;
    }
    const unsigned what = rnd(s, 8);
    if (what < 5) { /* a shape field */
        uint8_t b[10];
        size_t old = field[what + 1] - field[what];
        return splice(f->model, &f->ml, field[what], old, b, leb_put(b, nearby(s, v[what])));
    }
    if (what == 5) { /* the flags: tied, per row, a reserved bit */
        f->model[field[5]] ^= (uint8_t)(1u << rnd(s, 3));
        return 1;
    }
    if (what == 6 && steps && pos + steps <= f->ml) { /* one float of the steps */
        static const float special[] = {0.0f, 1.0f, -1.0f, 0x1p-100f, 0x1p100f,
                                        0x1p-101f, 0x1p101f, INFINITY, NAN, 1e-45f};
        float x = special[rnd(s, sizeof special / sizeof special[0])];
        memcpy(f->model + pos + 4 * rnd(s, (unsigned)(steps / 4)), &x, 4);
        return 1;
    }
    const size_t levels = steps && pos + steps <= f->ml ? pos + steps : pos;
    return mutate_region(f->model, &f->ml, levels, f->ml - levels);
}

/* The data part: the segment count, one length, or one stream. */
static int mutate_data(parts *f, unsigned *s)
{
    size_t pos = 0, at[257];
    uint64_t S, len[256];
    if (!leb_get(f->data, f->dl, &pos, &S) || S < 1 || S > 256)
        return 0;
    for (uint64_t i = 0; i < S; i++) {
        at[i] = pos;
        if (!leb_get(f->data, f->dl, &pos, &len[i]))
            return 0;
    }
    at[S] = pos;
    uint8_t b[10];
    const unsigned i = rnd(s, (unsigned)S);
    switch (rnd(s, 4)) {
    case 0: { /* the count, the lengths left as they are */
        size_t old = at[0];
        return splice(f->data, &f->dl, 0, old, b, leb_put(b, nearby(s, S)));
    }
    case 1: { /* one length moved to the next: the sum stays */
        const unsigned j = (i + 1) % (unsigned)S;
        uint64_t d = len[i] ? 1 + rnd(s, (unsigned)(len[i] < 64 ? len[i] : 64)) : 0;
        uint8_t t[20];
        if (j <= i)
            return 0;
        size_t k = leb_put(t, len[i] - d);
        k += leb_put(t + k, len[j] + d);
        return splice(f->data, &f->dl, at[i], at[j + 1] - at[i], t, k);
    }
    case 2: /* one length changed */
        return splice(f->data, &f->dl, at[i], at[i + 1] - at[i], b,
                      leb_put(b, nearby(s, len[i])));
    default: { /* one stream's bytes */
        size_t start = pos;
        for (unsigned k = 0; k < i; k++)
            start += (size_t)len[k];
        if (start + len[i] > f->dl)
            return 0;
        size_t old = f->dl;
        if (!mutate_region(f->data, &f->dl, start, (size_t)len[i]))
            return 0;
        len[i] = len[i] + f->dl - old; /* the stream's new length, in the table */
        return splice(f->data, &f->dl, at[i], at[i + 1] - at[i], b,
                      leb_put(b, len[i]));
    }
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed)
{
    static parts f;
    nmdl_frame fr;
    unsigned s = seed;
    if (size >= NMDL_FRAME_SUM_BYTES)
        nmdl_frame_sum(data, size - NMDL_FRAME_SUM_BYTES, data + size - NMDL_FRAME_SUM_BYTES);
    int ok = rnd(&s, 8) && size >= NMDL_FRAME_SUM_BYTES &&
             nmdl_frame_parse(data, size, &fr, NULL) == NMDL_OK &&
             fr.method == NMDL_METHOD_NEURAL && fr.model_len <= sizeof f.model &&
             fr.data_len <= sizeof f.data;
    if (ok) {
        f.n = fr.original_len;
        memcpy(f.model, fr.model, f.ml = fr.model_len);
        memcpy(f.data, fr.data, f.dl = fr.data_len);
        memcpy(f.sum, fr.content_sum, sizeof f.sum);
        const unsigned what = rnd(&s, 8);
        ok = what < 4 ? mutate_model(&f, &s)
             : what < 7 ? mutate_data(&f, &s)
                        : (f.n = nearby(&s, f.n), 1);
    }
    if (ok) {
        nmdl_frame out = nmdl_frame_of(NMDL_METHOD_NEURAL, f.n, f.sum, f.model, f.ml,
                                       f.data, f.dl);
        size_t len;
        if (nmdl_frame_size(&out) <= max_size &&
            nmdl_frame_write(data, max_size, &len, &out) == NMDL_OK)
            return len;
    }
    size = LLVMFuzzerMutate(data, size, max_size);
    if (size >= NMDL_FRAME_SUM_BYTES)
        nmdl_frame_sum(data, size - NMDL_FRAME_SUM_BYTES, data + size - NMDL_FRAME_SUM_BYTES);
    return size;
}
