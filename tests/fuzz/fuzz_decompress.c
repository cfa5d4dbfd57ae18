/*
 * fuzz_decompress.c: arbitrary bytes through the container parser, info and
 * the decoders, twice: as given, and with the frame checksum recomputed so
 * that the fuzzer reaches the checks and decoders behind it. Anything may be
 * rejected; nothing may crash, overread or leak, and a success must account
 * for every byte and return exactly the length the header promised.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container/frame.h"
#include "nmdl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(const uint8_t *data, size_t size)
{
    nmdl_info info;
    if (nmdl_info_read(data, size, &info) != NMDL_OK)
        return;
    if (info.header_bytes + info.model_bytes + info.data_bytes +
            info.checksum_bytes != size)
        abort();
    /* keep runs fast: a neural frame may yield thousands of bytes per byte
     * at kilobytes per second, a mix frame at 200 kB/s (fuzz_neural decodes
     * small neural ones by the thousand) */
    if (info.original_bytes > (info.method >= NMDL_METHOD_NEURAL ? 1u << 12 : 1u << 24))
        return;
    nmdl_dctx *d = nmdl_dctx_create();
    uint8_t *out = malloc((size_t)info.original_bytes + 1);
    size_t n = 0;
    if (d && out &&
        nmdl_decompress(d, out, (size_t)info.original_bytes, &n, data, size) ==
            NMDL_OK &&
        n != info.original_bytes)
        abort();
    free(out);
    nmdl_dctx_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode(data, size);
    if (size < NMDL_FRAME_SUM_BYTES)
        return 0;
    uint8_t *forged = malloc(size);
    memcpy(forged, data, size);
    size_t body = size - NMDL_FRAME_SUM_BYTES;
    nmdl_frame_sum(forged, body, forged + body);
    decode(forged, size);
    free(forged);
    return 0;
}
