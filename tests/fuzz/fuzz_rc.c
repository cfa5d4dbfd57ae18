/*
 * fuzz_rc.c: arbitrary bytes as a range-coder stream. The first byte picks
 * the total (2^15 .. 2^24) and a skewed table; the decoder must stop with an
 * error or run to the end, never read outside the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "codec/freq.h"
#include "codec/rc.h"
#include "nmdl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int bits = 15 + data[0] % 10;
    float p[256];
    uint32_t freq[256], cum[257];
    for (int i = 0; i < 256; i++) /* a few likely symbols, many rare ones */
        p[i] = (float)((i * 2654435761u >> (data[0] & 7)) % 1000 + 1) *
               (i % 17 == 0 ? 1000.0f : 1.0f);
    if (nmdl_freq_from_probs(p, 256, bits, freq))
        abort();
    nmdl_freq_cumulate(freq, 256, cum);
    nmdl_rc_dec d;
    int rc = nmdl_rc_dec_init(&d, data + 1, size - 1), sym;
    for (size_t k = 0; rc == NMDL_OK && k < 4 * size; k++)
        rc = nmdl_rc_decode_symbol(&d, cum, 256, bits, &sym);
    if (rc != NMDL_OK && rc != NMDL_ERR_TRUNCATED && rc != NMDL_ERR_CORRUPT)
        abort();
    return 0;
}
