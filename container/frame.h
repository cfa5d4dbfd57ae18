/*
 * frame.h: the nmdl container (docs/FORMAT.md is the specification).
 *
 *   header | model part | data part | content checksum | frame checksum
 *
 * The header holds the magic, the format version, the method, a flags byte
 * and three LEB128 lengths (original, model part, data part). Both checksums
 * are unkeyed BLAKE2b with a 16-byte output: the content checksum over the
 * original data, the frame checksum over every byte before it.
 */
#ifndef NMDL_FRAME_H
#define NMDL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define NMDL_FRAME_VERSION 1
#define NMDL_FRAME_SUM_BYTES 16     /* one BLAKE2b-128 checksum */
#define NMDL_FRAME_FIXED_BYTES 7    /* magic (4), version, method, flags */
#define NMDL_FRAME_VARINT_MAX 9     /* LEB128 bytes of a 63-bit length */
#define NMDL_FRAME_ZSTD_WINDOW_LOG 27 /* the zstd method's largest window: 128 MiB */
#define NMDL_FRAME_FLAG_ALT 1u    /* flags bit 0: an alternative is recorded */
#define NMDL_FRAME_FLAG_REPORT 2u /* flags bit 1: a report follows */
#define NMDL_FRAME_REPORT_MAX 255 /* bytes of a report */
#define NMDL_FRAME_HEADER_MAX (NMDL_FRAME_FIXED_BYTES + 4 * NMDL_FRAME_VARINT_MAX + 1 + 2 + NMDL_FRAME_REPORT_MAX)
#define NMDL_FRAME_OVERHEAD_MAX (NMDL_FRAME_HEADER_MAX + 2 * NMDL_FRAME_SUM_BYTES)

extern const uint8_t nmdl_frame_magic[4];

/* A parsed frame: pointers into the buffer that was parsed. */
typedef struct nmdl_frame {
    unsigned version;      /* NMDL_FRAME_VERSION */
    unsigned method;       /* an nmdl_method value */
    uint64_t original_len; /* bytes after decoding */
    size_t header_len;     /* bytes before the model part */
    const uint8_t *model;  /* model part, model_len bytes */
    size_t model_len;
    const uint8_t *data;   /* data part, data_len bytes */
    size_t data_len;
    const uint8_t *content_sum; /* NMDL_FRAME_SUM_BYTES */
    size_t file_len;       /* the whole frame */
    int has_alt;           /* the encoder recorded the method it did not use */
    unsigned alt_method;   /* ... which one */
    uint64_t alt_size;     /* ... and the size of its frame in bytes */
    const uint8_t *report; /* what the encoder measured (NULL: none), */
    size_t report_len;     /* 1..NMDL_FRAME_REPORT_MAX bytes, opaque here */
} nmdl_frame;

/* A frame of method with the parts given, claiming n bytes whose content
 * checksum is sum; no alternative, no report (set them after). */
nmdl_frame nmdl_frame_of(unsigned method, uint64_t n, const uint8_t *sum,
                         const uint8_t *model, size_t model_len,
                         const uint8_t *data, size_t data_len);

/* BLAKE2b-128 of n bytes. */
void nmdl_frame_sum(const void *src, size_t n, uint8_t out[NMDL_FRAME_SUM_BYTES]);

/* Validates everything that can be checked without decoding: magic,
 * version, method, reserved flags, lengths against the buffer, frame
 * checksum, and the method's own constraints on the lengths (among them
 * the most bytes a data part can code, docs/FORMAT.md). why, NMDL_WHY_MAX
 * bytes or NULL, gets a line naming the field of a structural error. */
int nmdl_frame_parse(const uint8_t *src, size_t len, nmdl_frame *f, char *why);

/* Most bytes the header of a frame of original_len bytes takes when it
 * has no report and neither part is longer than original_len. */
size_t nmdl_frame_header_bound(uint64_t original_len);

/* Bytes the frame f describes takes (method, lengths and alternative
 * used; pointers ignored). */
size_t nmdl_frame_size(const nmdl_frame *f);

/* Writes the frame f describes: method, original_len, model, data and
 * their lengths, content_sum (nmdl_frame_sum of the original) and the
 * alternative; the other fields are ignored. */
int nmdl_frame_write(uint8_t *dst, size_t cap, size_t *written,
                     const nmdl_frame *f);

#endif /* NMDL_FRAME_H */
