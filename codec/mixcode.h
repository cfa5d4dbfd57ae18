/*
 * mixcode.h: the mix method (NMDL_METHOD_MIX): the input coded by the
 * match model and the context mixer of the data part (codec/match.h,
 * codec/cm.h) with the uniform distribution in the transformer's place,
 * as one segment in one range-coded stream. No model part: the empty
 * model of the two-part code, nothing to train, 4.5 s per MB on one
 * core each way (payload revision 8). A fallback candidate beside stored and zstd, and the bar
 * the neural method's early stop must beat (codec/stop.h).
 *
 * Payload (the frame's data part, docs/FORMAT.md): one byte, the data
 * code's revision (NMDL_MX_REVISION, which the encoder writes, or an
 * earlier one from 6), then the stream: the first byte in 8 plain bits, every later one under the match
 * model's flag and the mixer's bits, exactly as codec/segcode.h codes a
 * segment.
 */
#ifndef NMDL_MIXCODE_H
#define NMDL_MIXCODE_H

#include <stddef.h>
#include <stdint.h>

#include "../model/progress.h"

#define NMDL_MX_REVISION 8 /* the payload's revision byte r: the data code
                              NMDL_SC_MIX8 = r + 1 (codec/segcode.h) */

/* Encodes src[0, n), 1 <= n <= NMDL_MM_MAX_INPUT, into a malloc'd
 * payload; progress in prog's current phase, byte_work units a byte (prog
 * may be NULL). */
int nmdl_mx_encode(const uint8_t *src, size_t n, nmdl_prog *prog, double byte_work,
                   uint8_t **out, size_t *out_len);

/* Bytes the decoder of n bytes of a payload of this revision (its first
 * byte; one it does not know: the newest's) holds besides its output:
 * for memory limits. */
uint64_t nmdl_mx_decode_bytes(size_t n, int revision);

/* Decodes a payload of len bytes into dst[0, n); a reason into why
 * (NMDL_WHY_MAX) for a payload that is not one. */
int nmdl_mx_decode(const uint8_t *data, size_t len, uint8_t *dst, size_t n, nmdl_prog *prog,
                   char *why);

#endif /* NMDL_MIXCODE_H */
