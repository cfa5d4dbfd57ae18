/*
 * bpe.c: see bpe.h.
 */
#include "bpe.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "nmdl.h"

/* The most frequent adjacent pair of s[0, n) as a * 256 + b (the lower on
 * a tie), its count in *count; c: 65,536 counters. */
static int top_pair(const uint8_t *s, size_t n, uint32_t *c, size_t *count)
{
    memset(c, 0, 65536 * sizeof *c);
    for (size_t i = 0; i + 1 < n; i++) /* counts above 2^32 saturate */
        c[s[i] << 8 | s[i + 1]] += c[s[i] << 8 | s[i + 1]] != UINT32_MAX;
    int best = 0;
    for (int k = 1; k < 65536; k++)
        best = c[k] > c[best] ? k : best;
    *count = c[best];
    return best;
}

/* Replaces a b by v in s[0, *n), left to right without overlap. */
static void replace(uint8_t *s, size_t *n, uint8_t v, uint8_t a, uint8_t b)
{
    size_t j = 0;
    for (size_t i = 0; i < *n; i++) {
        if (i + 1 < *n && s[i] == a && s[i + 1] == b)
            s[j++] = v, i++;
        else
            s[j++] = s[i];
    }
    *n = j;
}

int nmdl_bpe_learn(const uint8_t *src, size_t n, size_t min, nmdl_bpe *t, uint8_t *sym,
                   size_t *m)
{
    uint32_t *counts = malloc(65536 * sizeof *counts);
    if (!counts)
        return NMDL_ERR_NOMEM;
    int used[256] = {0};
    for (size_t i = 0; i < n; i++)
        used[src[i]] = 1;
    memcpy(sym, src, n);
    *m = n;
    t->count = 0;
    for (int v = 0; v < 256 && t->count < NMDL_BPE_MAX; v++) {
        if (used[v])
            continue;
        size_t count;
        const int pair = top_pair(sym, *m, counts, &count);
        if (count < min || count < 2)
            break;
        t->v[t->count] = (uint8_t)v;
        t->a[t->count] = (uint8_t)(pair >> 8);
        t->b[t->count] = (uint8_t)pair;
        replace(sym, m, (uint8_t)v, t->a[t->count], t->b[t->count]);
        t->count++;
    }
    free(counts);
    return NMDL_OK;
}

void nmdl_bpe_apply(const nmdl_bpe *t, const uint8_t *src, size_t n, uint8_t *sym, size_t *m)
{
    memcpy(sym, src, n);
    *m = n;
    for (int k = 0; k < t->count; k++)
        replace(sym, m, t->v[k], t->a[k], t->b[k]);
}

int nmdl_bpe_lengths(const nmdl_bpe *t, uint32_t *len, char *why)
{
    if (t->count < 0 || t->count > NMDL_BPE_MAX)
        return nmdl_why(why, NMDL_ERR_CORRUPT, "token table: %d merges (at most %d)", t->count,
                        NMDL_BPE_MAX);
    int merge_of[256]; /* the merge that defines a value, or -1: a byte */
    for (int v = 0; v < 256; v++)
        merge_of[v] = -1, len[v] = 1;
    for (int k = 0; k < t->count; k++) {
        if (merge_of[t->v[k]] >= 0)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "token table: value %d merged twice",
                            t->v[k]);
        merge_of[t->v[k]] = k;
    }
    for (int k = 0; k < t->count; k++) {
        if (merge_of[t->a[k]] >= k || merge_of[t->b[k]] >= k)
            return nmdl_why(why, NMDL_ERR_CORRUPT,
                            "token table: merge %d references a token not defined before it", k);
        const uint32_t l = len[t->a[k]] + len[t->b[k]];
        if (l > NMDL_BPE_MAX_LEN)
            return nmdl_why(why, NMDL_ERR_CORRUPT,
                            "token table: token %d stands for more than %d bytes", t->v[k],
                            NMDL_BPE_MAX_LEN);
        len[t->v[k]] = l;
    }
    return NMDL_OK;
}

int nmdl_bpe_check(const nmdl_bpe *t, char *why)
{
    uint32_t len[256];
    return nmdl_bpe_lengths(t, len, why);
}

int nmdl_bpe_fits(const uint32_t *len, const uint8_t *sym, size_t m, size_t n, char *why)
{
    size_t total = 0;
    for (size_t i = 0; i < m && total <= n; i++)
        total += len[sym[i]];
    if (total != n)
        return nmdl_why(why, NMDL_ERR_CORRUPT,
                        "token table: %zu tokens stand for %s bytes than the original %zu", m,
                        total > n ? "more" : "fewer", n);
    return NMDL_OK;
}

int nmdl_bpe_expand(const nmdl_bpe *t, const uint8_t *sym, size_t m, uint8_t *dst, size_t n,
                    char *why)
{
    uint32_t len[256];
    int rc = nmdl_bpe_lengths(t, len, why);
    if (rc || (rc = nmdl_bpe_fits(len, sym, m, n, why)))
        return rc;
    int merge_of[256];
    for (int v = 0; v < 256; v++)
        merge_of[v] = -1;
    for (int k = 0; k < t->count; k++)
        merge_of[t->v[k]] = k;
    uint8_t stack[NMDL_BPE_MAX + 1]; /* a symbol's parts still to write */
    size_t j = 0;
    for (size_t i = 0; i < m; i++) {
        int top = 0;
        stack[top++] = sym[i];
        while (top) {
            const uint8_t s = stack[--top];
            const int k = merge_of[s];
            if (k < 0) {
                dst[j++] = s;
            } else { /* b below a: a comes out first */
                stack[top++] = t->b[k];
                stack[top++] = t->a[k];
            }
        }
    }
    return NMDL_OK;
}
