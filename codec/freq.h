/*
 * freq.h: probability vectors to range-coder frequencies, deterministically.
 *
 * The encoder and the decoder both call nmdl_freq_from_probs on the same
 * floats and must get the same integers on every machine, so it uses only
 * IEEE-754 double operations that are correctly rounded (+, *, /, floor)
 * in a fixed order: no libm, no reassociation.
 */
#ifndef NMDL_FREQ_H
#define NMDL_FREQ_H

#include <stdint.h>

#define NMDL_FREQ_MIN_BITS 15 /* smallest log2(total) accepted */

/* p: n >= 1 non-negative weights (need not sum to 1; NaN, infinities and
 * negative values count as 0; all-zero means uniform). Writes freq[0..n-1],
 * each >= 1, summing to 2^bits, NMDL_FREQ_MIN_BITS <= bits <=
 * NMDL_RC_MAX_BITS, and n <= 2^(bits-1). Each freq is p_i / sum(p) * 2^bits
 * rounded to nearest, at least 1; the rounding residue is settled on the
 * largest frequencies. */
int nmdl_freq_from_probs(const float *p, int n, int bits, uint32_t *freq);

/* cum[0] = 0, cum[i+1] = cum[i] + freq[i]: the table the coder uses. */
void nmdl_freq_cumulate(const uint32_t *freq, int n, uint32_t *cum);

#endif /* NMDL_FREQ_H */
