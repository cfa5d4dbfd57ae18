/*
 * teacher.c: a source whose entropy is known (nmdl_teacher_sample, issue
 * 18): bytes sampled from a transformer's coding-path distribution, each
 * with its exact code length under it.
 *
 * S streams run in lockstep as the coder's segments do (independent
 * contexts, a sliding window of ctx bytes), written one after another:
 * with n = qS + r, the first r streams hold q + 1 bytes, the others q. A stream's first byte is
 * uniform (8 bits), as a segment's first byte is coded. Every later byte:
 *
 *   p        the deterministic forward pass (infer.c) on the stream so far
 *   p_T      at temperature T != 1, q_i = exp((log p_i - log p_max) / T)
 *            with model/dmath.c's exp and log, in float
 *   freq     nmdl_freq_from_probs(p_T, 256, 24 bits): the coder's table
 *   x        the byte whose cumulative range holds u, a uniform integer
 *            below 2^24 from the stream's generator (rng.c, integer output)
 *   length   24 - log2(freq[x]) bits, what the range coder pays for x
 *            under that table (before its few bytes of flush)
 *
 * Every step is integer or deterministic float, so the bytes are the same
 * on every machine; the lengths use libm's log2 (one machine's rounding).
 * The sum of the lengths is the exact ideal code length of these bytes
 * under the teacher, and its expectation the source's entropy.
 */
#include <math.h>
#include <stdlib.h>

#include "../model/dmath.h"
#include "../model/infer.h"
#include "../model/rng.h"
#include "../model/transformer.h"
#include "freq.h"
#include "neural.h"
#include "nmdl.h"

#define TEACHER_STREAM 0x74656163ull /* "teac": the generators' stream base */

/* probs (256) to the teacher's distribution at temperature t (in place). */
static void temper(float *probs, float t)
{
    float top = 0;
    for (int i = 0; i < 256; i++)
        top = probs[i] > top ? probs[i] : top;
    const float ltop = nmdl_dm_log(top);
    for (int i = 0; i < 256; i++)
        probs[i] = probs[i] > 0 ? nmdl_dm_exp((nmdl_dm_log(probs[i]) - ltop) / t) : 0.0f;
}

/* The byte of table cum (257) whose range holds u. */
static int pick(const uint32_t *cum, uint32_t u)
{
    int lo = 0, hi = 256; /* cum[lo] <= u < cum[hi] */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (cum[mid] <= u)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Where stream s of S (S <= n) starts and how long it is (at least 1). */
static void stream_span(size_t n, int S, int s, size_t *start, size_t *len)
{
    const size_t q = n / (size_t)S, r = n % (size_t)S, k = (size_t)s;
    *start = k * q + (k < r ? k : r);
    *len = q + (k < r);
}

typedef struct teacher {
    nmdl_inf *f;
    nmdl_rng *g;     /* (S) one generator per stream */
    float *probs;    /* (S, 256) */
    uint8_t *tok;    /* (S) each stream's last byte */
    uint32_t freq[256], cum[257]; /* the coder's table for one stream's
                                     next byte, totals 2^24 */
} teacher;

/* Byte t of every stream still running (t >= 1): its choice and length
 * (bits). An nmdl_error. */
static int teacher_step(teacher *th, float temp, size_t n, int S, size_t t,
                        uint8_t *out, float *bits, double *total)
{
    nmdl_inf_step(th->f, th->tok, th->probs);
    for (int s = 0; s < S; s++) {
        size_t start, len;
        stream_span(n, S, s, &start, &len);
        if (t >= len)
            continue;
        float *p = th->probs + (size_t)s * 256;
        if (temp != 1.0f)
            temper(p, temp);
        int rc = nmdl_freq_from_probs(p, 256, NMDL_NEURAL_FREQ_BITS, th->freq);
        if (rc)
            return rc;
        nmdl_freq_cumulate(th->freq, 256, th->cum);
        const uint32_t u = (uint32_t)nmdl_rng_below(&th->g[s], 1u << NMDL_NEURAL_FREQ_BITS);
        const int x = pick(th->cum, u);
        const double b = NMDL_NEURAL_FREQ_BITS - log2((double)th->freq[x]);
        out[start + t] = (uint8_t)x;
        th->tok[s] = (uint8_t)x;
        if (bits)
            bits[start + t] = (float)b;
        *total += b;
    }
    return NMDL_OK;
}

int nmdl_teacher_sample(const nmdl_model *m, double temperature, int streams,
                        uint64_t seed, size_t n, void *out, float *bits,
                        double *total_bits)
{
    if (!m || !out || !total_bits || !(temperature >= NMDL_TEACHER_MIN_T &&
                                       temperature <= NMDL_TEACHER_MAX_T) ||
        streams < 1 || streams > NMDL_TEACHER_MAX_STREAMS || n < 1)
        return NMDL_ERR_ARG;
    const int S = (size_t)streams < n ? streams : (int)n;
    const nmdl_model_config cfg = m->cfg;
    teacher th = {0};
    th.g = malloc((size_t)S * sizeof *th.g);
    th.probs = malloc((size_t)S * 256 * sizeof *th.probs);
    th.tok = malloc((size_t)S);
    int rc = th.g && th.probs && th.tok ? NMDL_OK : NMDL_ERR_NOMEM;
    if (!rc)
        rc = nmdl_inf_create(&cfg, m->params, S, &th.f);
    uint8_t *o = out;
    *total_bits = 0;
    size_t longest = 0;
    for (int s = 0; s < S && !rc; s++) {
        size_t start, len;
        stream_span(n, S, s, &start, &len);
        nmdl_rng_seed(&th.g[s], seed, TEACHER_STREAM + (uint64_t)s);
        o[start] = th.tok[s] = (uint8_t)nmdl_rng_below(&th.g[s], 256);
        if (bits)
            bits[start] = 8.0f;
        *total_bits += 8;
        longest = len > longest ? len : longest;
    }
    for (size_t t = 1; t < longest && !rc; t++)
        rc = teacher_step(&th, (float)temperature, n, S, t, o, bits, total_bits);
    nmdl_inf_free(th.f);
    free(th.g);
    free(th.probs);
    free(th.tok);
    return rc;
}
