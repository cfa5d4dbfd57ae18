/*
 * team.c: see team.h. Only MPI_COMM_WORLD's collectives: the library calls
 * gather (MPI_Allgatherv in place) and bcast (MPI_Bcast from rank 0); the
 * command adds an agreement check and the input's distribution.
 */
#include "team.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "nmdl_commit.h"

#ifdef NMDL_MPI
#include <mpi.h>

#define PIECE ((size_t)1 << 30) /* bytes per MPI call: counts are ints */

/* What this rank's gathers brought in (cli_team_traffic). */
static unsigned long long gathers, gathered_bytes;

/* Member k's bytes [off[k], off[k] + len[k]) from member k to all, by
 * broadcasts of at most PIECE bytes: for ranges beyond MPI's int counts. */
static int gather_by_bcasts(void *buf, const size_t *off, const size_t *len, int K)
{
    for (int k = 0; k < K; k++)
        for (size_t at = 0; at < len[k]; at += PIECE) {
            size_t m = len[k] - at < PIECE ? len[k] - at : PIECE;
            if (MPI_Bcast((char *)buf + off[k] + at, (int)m, MPI_BYTE, k, MPI_COMM_WORLD) !=
                MPI_SUCCESS)
                return 1;
        }
    return 0;
}

static int mpi_gather(void *user, void *buf, const size_t *off, const size_t *len)
{
    const nmdl_team *t = user;
    const int K = t->size;
    int *cnt, *dsp, rc = 1;
    gathers++;
    for (int k = 0; k < K; k++)
        gathered_bytes += k != t->rank ? len[k] : 0;
    if (!(cnt = malloc(2 * (size_t)K * sizeof *cnt))) {
        cli_team_abort(t); /* the others are already in the collective */
        return 1;
    }
    dsp = cnt + K;
    int fits = 1;
    for (int k = 0; k < K; k++) {
        fits &= off[k] <= INT_MAX && len[k] <= INT_MAX && off[k] + len[k] <= INT_MAX;
        cnt[k] = (int)len[k];
        dsp[k] = (int)off[k];
    }
    if (fits)
        rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, cnt, dsp, MPI_BYTE,
                            MPI_COMM_WORLD) != MPI_SUCCESS;
    else /* the same on every rank: all take this way */
        rc = gather_by_bcasts(buf, off, len, K);
    free(cnt);
    return rc;
}

static int mpi_bcast(void *user, void *buf, size_t bytes)
{
    (void)user;
    for (size_t at = 0; at < bytes; at += PIECE) {
        size_t k = bytes - at < PIECE ? bytes - at : PIECE;
        if (MPI_Bcast((char *)buf + at, (int)k, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            return 1;
    }
    return 0;
}

int cli_team_start(int *argc, char ***argv, nmdl_team *t)
{
    int level;
    memset(t, 0, sizeof *t);
    /* only the main thread calls MPI; OpenMP's threads never do */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &level) != MPI_SUCCESS) {
        cli_error("nmdl", "MPI could not start");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &t->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &t->size);
    t->gather = mpi_gather;
    t->bcast = mpi_bcast;
    t->user = t; /* the team outlives every call: it is main's */
    return 0;
}

int cli_team_end(const nmdl_team *t, int status)
{
    if (t->size > 1)
        mpi_bcast(NULL, &status, sizeof status);
    MPI_Finalize();
    return status;
}

void cli_team_abort(const nmdl_team *t)
{
    if (t && t->size > 1)
        MPI_Abort(MPI_COMM_WORLD, 1);
}

void cli_team_traffic(unsigned long long *calls, unsigned long long *bytes)
{
    *calls = gathers;
    *bytes = gathered_bytes;
}
#else
int cli_team_start(int *argc, char ***argv, nmdl_team *t)
{
    (void)argc, (void)argv;
    memset(t, 0, sizeof *t);
    t->size = 1;
    return 0;
}

int cli_team_end(const nmdl_team *t, int status)
{
    (void)t;
    return status;
}

void cli_team_abort(const nmdl_team *t)
{
    (void)t;
}

void cli_team_traffic(unsigned long long *calls, unsigned long long *bytes)
{
    *calls = *bytes = 0;
}
#endif

int cli_team_lead(const nmdl_team *t)
{
    return !t || t->rank == 0;
}

/* FNV-1a, 64 bits, of n bytes, continuing from h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

#define FNV0 0xcbf29ce484222325ull

int cli_team_gather_each(const nmdl_team *t, void *all, size_t unit)
{
    const size_t K = (size_t)t->size;
    size_t *off = malloc(2 * K * sizeof *off);
    if (!off) {
        cli_team_abort(t); /* the others would wait for this rank */
        return -1;
    }
    size_t *len = off + K;
    for (size_t k = 0; k < K; k++) {
        off[k] = k * unit;
        len[k] = unit;
    }
    int rc = t->gather(t->user, all, off, len) ? -1 : 0;
    free(off);
    return rc;
}

/* Every rank's h into all; the highest rank whose h differs from the
 * lead's, 0 when none does, -1 when the collective failed. */
static int differing_rank(const nmdl_team *t, uint64_t h)
{
    uint64_t *all = malloc((size_t)t->size * sizeof *all);
    int r = -1;
    if (!all) {
        cli_team_abort(t); /* the others would wait for this rank */
        return -1;
    }
    all[t->rank] = h;
    if (!cli_team_gather_each(t, all, sizeof h))
        for (r = t->size - 1; r > 0 && all[r] == all[0]; r--)
            ;
    free(all);
    return r;
}

int cli_team_agree(const nmdl_team *t, int argc, char **argv)
{
    if (t->size <= 1)
        return 0;
    uint64_t h = fnv(FNV0, NMDL_COMMIT, sizeof NMDL_COMMIT);
    h = fnv(h, nmdl_version(), strlen(nmdl_version()) + 1);
    for (int i = 1; i < argc; i++)
        h = fnv(h, argv[i], strlen(argv[i]) + 1);
    int r = differing_rank(t, h);
    if (r && cli_team_lead(t)) {
        char what[96];
        snprintf(what, sizeof what, "MPI rank %d runs another build of nmdl or other "
                 "arguments than rank 0", r);
        cli_error("nmdl", r < 0 ? "MPI failed while the ranks compared their arguments" : what);
    }
    return r ? -1 : 0;
}

int cli_team_input(const nmdl_team *t, const char *name, int *ok, int *effort,
                   uint8_t **src, size_t *n)
{
    if (t->size <= 1)
        return 0;
    const int lead = cli_team_lead(t);
    uint64_t head[3] = {(uint64_t)*ok, (uint64_t)*effort, (uint64_t)*n};
    if (t->bcast(t->user, head, sizeof head))
        goto fail;
    *ok = (int)head[0], *effort = (int)head[1], *n = (size_t)head[2];
    if (!*ok)
        return 0;
    if (!lead && !(*src = malloc(*n ? *n : 1))) {
        cli_team_abort(t); /* the lead would wait for this rank forever */
        return -1;
    }
    if (t->bcast(t->user, *src, *n))
        goto fail;
    int r = differing_rank(t, fnv(FNV0, *src, *n));
    if (r == 0)
        return 0;
    if (lead)
        cli_error(name, r < 0 ? "MPI failed while the ranks compared the input"
                              : "the input reached another MPI rank damaged");
    goto out;
fail:
    if (lead)
        cli_error(name, "MPI failed while sending the input to the other ranks");
out:
    if (!lead) {
        free(*src);
        *src = NULL;
    }
    *ok = 0;
    return -1;
}
