/*
 * freq.c: see freq.h. Only correctly rounded double arithmetic is used, and
 * always in index order, so every IEEE-754 machine computes the same table.
 */
#include "freq.h"

#include <float.h>

#include "nmdl.h"
#include "rc.h"

/* A weight as the quantizer sees it: NaN, infinities and negatives are 0. */
static double weight(float x)
{
    return (x > 0.0f && x <= FLT_MAX) ? (double)x : 0.0;
}

static int argmax(const uint32_t *f, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (f[i] > f[best])
            best = i;
    return best;
}

/* Adds d (which may be negative) to the table, taking from or giving to the
 * largest entries. Taking at most half of the largest entry keeps every entry
 * >= 1; the loop ends because the sum exceeds 2n whenever d < 0, so the
 * largest entry is at least 3. */
static void settle(uint32_t *f, int n, int64_t d)
{
    if (d > 0)
        f[argmax(f, n)] += (uint32_t)d;
    while (d < 0) {
        int i = argmax(f, n);
        uint32_t take = f[i] / 2;
        if ((int64_t)take > -d)
            take = (uint32_t)-d;
        f[i] -= take;
        d += take;
    }
}

int nmdl_freq_from_probs(const float *p, int n, int bits, uint32_t *freq)
{
    if (!p || !freq || n < 1 || bits < NMDL_FREQ_MIN_BITS ||
        bits > NMDL_RC_MAX_BITS || (uint64_t)n > (1ull << (bits - 1)))
        return NMDL_ERR_ARG;
    const uint32_t total = 1u << bits;
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += weight(p[i]);
    int64_t have = 0;
    if (!(sum > 0.0)) { /* nothing to go by: uniform */
        for (int i = 0; i < n; i++)
            freq[i] = total / (uint32_t)n + ((uint32_t)i < total % (uint32_t)n);
        return NMDL_OK;
    }
    const double scale = (double)total / sum;
    for (int i = 0; i < n; i++) {
        double x = weight(p[i]) * scale + 0.5; /* in [0.5, total + 1] */
        uint32_t f = (uint32_t)x;              /* floor: x is positive */
        freq[i] = f ? f : 1;
        have += freq[i];
    }
    settle(freq, n, (int64_t)total - have);
    return NMDL_OK;
}

void nmdl_freq_cumulate(const uint32_t *freq, int n, uint32_t *cum)
{
    cum[0] = 0;
    for (int i = 0; i < n; i++)
        cum[i + 1] = cum[i] + freq[i];
}
