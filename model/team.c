/*
 * team.c: see team.h.
 */
#include "team.h"

#include <stdlib.h>

int nmdl_team_size(const nmdl_team *t)
{
    return t ? t->size : 1;
}

static int share_lo(int G, int rank, int K)
{
    return (int)((long long)G * rank / K);
}

void nmdl_team_share(const nmdl_team *t, int G, int *lo, int *hi)
{
    const int K = nmdl_team_size(t), r = t ? t->rank : 0;
    *lo = share_lo(G, r, K);
    *hi = share_lo(G, r + 1, K);
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
    int rc = t->gather(t->user, buf, off, len) ? NMDL_ERR_TEAM : NMDL_OK;
    free(off);
    return rc;
}

int nmdl_team_bcast(const nmdl_team *t, void *buf, size_t bytes)
{
    if (nmdl_team_size(t) <= 1)
        return NMDL_OK;
    return t->bcast(t->user, buf, bytes) ? NMDL_ERR_TEAM : NMDL_OK;
}
