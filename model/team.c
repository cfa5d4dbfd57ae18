/*
 * team.c: see team.h.
 */
#include "team.h"

#include <stdlib.h>

int nmdl_team_valid(const nmdl_team *t)
{
    return !t || (t->size >= 1 && t->rank >= 0 && t->rank < t->size && t->gather &&
                  t->bcast);
}

int nmdl_team_size(const nmdl_team *t)
{
    return t ? t->size : 1;
}

static int share_lo(int G, int rank, int K)
{
    return (int)((long long)G * rank / K);
}

void nmdl_team_share_of(int K, int k, int G, int *lo, int *hi)
{
    *lo = share_lo(G, k, K);
    *hi = share_lo(G, k + 1, K);
}

void nmdl_team_share(const nmdl_team *t, int G, int *lo, int *hi)
{
    nmdl_team_share_of(nmdl_team_size(t), t ? t->rank : 0, G, lo, hi);
}

int nmdl_team_gather_ranges(const nmdl_team *t, void *buf, const size_t *off,
                            const size_t *len)
{
    if (nmdl_team_size(t) <= 1)
        return NMDL_OK;
    return t->gather(t->user, buf, off, len) ? NMDL_ERR_TEAM : NMDL_OK;
}

int nmdl_team_gather(const nmdl_team *t, void *buf, size_t unit, int G)
{
    const int K = nmdl_team_size(t);
    if (K <= 1)
        return NMDL_OK;
    size_t *off = malloc(2 * (size_t)K * sizeof *off);
    if (!off)
        return NMDL_ERR_NOMEM;
    size_t *len = off + K;
    for (int k = 0; k < K; k++) {
        off[k] = (size_t)share_lo(G, k, K) * unit;
        len[k] = (size_t)share_lo(G, k + 1, K) * unit - off[k];
    }
    int rc = nmdl_team_gather_ranges(t, buf, off, len);
    free(off);
    return rc;
}

int nmdl_team_first_error(const nmdl_team *t, int rc, int *all, size_t *range)
{
    const int K = nmdl_team_size(t);
    if (K <= 1)
        return rc;
    for (int k = 0; k < K; k++) {
        range[k] = (size_t)k * sizeof *all;
        range[K + k] = sizeof *all;
    }
    all[t->rank] = rc;
    int err = nmdl_team_gather_ranges(t, all, range, range + K);
    for (int k = 0; !err && k < K; k++)
        if (all[k] != NMDL_OK) {
            err = all[k];
            break;
        }
    return err;
}

int nmdl_team_bcast(const nmdl_team *t, void *buf, size_t bytes)
{
    if (nmdl_team_size(t) <= 1)
        return NMDL_OK;
    return t->bcast(t->user, buf, bytes) ? NMDL_ERR_TEAM : NMDL_OK;
}
